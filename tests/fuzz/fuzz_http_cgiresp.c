/*
 * libFuzzer target for httpd/cgiresp.c, the CGI response head parser.
 * Built by `make fuzz` (tests/fuzz/README.md).
 *
 * Invariants (abort when broken): parsing the input growing one byte at a
 * time ends like parsing it at once (same outcome, head_len, status, kind);
 * OK implies head_len <= len, a status in 200..599, and every field inside
 * the head.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../httpd/cgiresp.h"

static struct http_cgi_response a, b;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	struct http_cgi_parser pa, pb;
	http_cgi_init(&pa, 1024);
	enum http_parse_status ra = http_cgi_parse(&pa, in, size, &a);
	http_cgi_init(&pb, 1024);
	enum http_parse_status rb = HTTP_PARSE_AGAIN;
	for (size_t n = 0; n <= size && rb == HTTP_PARSE_AGAIN; n++) {
		char *copy = malloc(n + 1);
		memcpy(copy, in, n);
		rb = http_cgi_parse(&pb, copy, n, &b);
		free(copy);
	}
	if (ra != rb)
		abort();
	if (ra == HTTP_PARSE_ERROR && strcmp(pa.error_reason, pb.error_reason) != 0)
		abort();
	if (ra != HTTP_PARSE_OK)
		return 0;
	if (a.head_len != b.head_len || a.status != b.status || a.kind != b.kind ||
	    a.head_len > size || a.status < 200 || a.status > 599)
		abort();
	for (unsigned i = 0; i < a.nfields; i++)
		if (a.fields[i].name.p < in ||
		    a.fields[i].value.p + a.fields[i].value.len > in + a.head_len)
			abort();
	return 0;
}
