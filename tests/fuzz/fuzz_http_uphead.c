/*
 * libFuzzer target for httpd/uphead.c, the upstream response head parser.
 * Built by `make fuzz` (tests/fuzz/README.md).
 *
 * Input: byte 0 picks HEAD or not and the piece size, the rest is what the
 * server sent. Invariants (abort when broken): parsing in growing pieces
 * ends like parsing at once, with the same head_len, status and framing;
 * OK implies head_len <= len, a status in 100..599, never both a length and
 * chunked framing; the hop-by-hop test never reads out of bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../httpd/uphead.h"

static struct http_response a, b;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	bool head = data[0] & 1;
	size_t step = 1 + (data[0] >> 1);
	const char *in = (const char *)data + 1;
	size_t len = size - 1;
	struct http_resp_parser pa, pb;

	http_resp_init(&pa, 2048, head);
	enum http_parse_status ra = http_resp_parse(&pa, in, len, &a);

	http_resp_init(&pb, 2048, head);
	enum http_parse_status rb = HTTP_PARSE_AGAIN;
	for (size_t n = 0; rb == HTTP_PARSE_AGAIN; n += step) {
		if (n > len)
			n = len;
		char *copy = malloc(n + 1);
		memcpy(copy, in, n);
		rb = http_resp_parse(&pb, copy, n, &b);
		free(copy);
		if (n == len)
			break;
	}
	if (ra != rb)
		abort();
	if (ra == HTTP_PARSE_ERROR && strcmp(pa.error_reason, pb.error_reason) != 0)
		abort();
	if (ra != HTTP_PARSE_OK)
		return 0;
	if (a.head_len != b.head_len || a.status != b.status || a.framing != b.framing ||
	    a.content_length != b.content_length || a.head_len > len)
		abort();
	if (a.status < 100 || a.status > 599)
		abort();
	if (a.framing == HTTP_RESP_BODY_CHUNKED && a.has_length)
		abort();
	bool hop[HTTP_HEADER_FIELDS_MAX];
	http_hop_marks(a.fields, a.nfields, hop);
	for (unsigned i = 0; i < a.nfields; i++) {
		const char *e = in + a.head_len;
		if (a.fields[i].name.p < in || a.fields[i].value.p + a.fields[i].value.len > e)
			abort();
		/* Connection and what it names are hop-by-hop, always */
		if (http_field_is(&a.fields[i], "connection") && !hop[i])
			abort();
	}
	return 0;
}
