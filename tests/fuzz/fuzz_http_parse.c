/*
 * libFuzzer target for httpd/parse.c (not built by `make`). Build and run:
 *
 *   mkdir -p build/fuzz
 *   clang -std=c17 -g -O1 -D_GNU_SOURCE -Iinclude \
 *         -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
 *         tests/fuzz/fuzz_http_parse.c httpd/parse.c -o build/fuzz/fuzz_http_parse
 *   build/fuzz/fuzz_http_parse -max_total_time=60 -max_len=4096
 *
 * Input: byte 0 picks the limits and the split step, the rest is the head.
 * Checks beyond memory safety: parsing in pieces (in a buffer that moves
 * every call) gives the same outcome as parsing at once, and every slice of
 * an OK request lies within its head.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../httpd/parse.h"

static void check_slice(struct http_slice s, const char *buf, size_t head)
{
	if (s.p && (s.p < buf || s.p + s.len > buf + head))
		abort();
}

static void check_req(const struct http_request *r, const char *buf, size_t len)
{
	if (r->head_len == 0 || r->head_len > len)
		abort();
	check_slice(r->method_text, buf, r->head_len);
	check_slice(r->target, buf, r->head_len);
	check_slice(r->host, buf, r->head_len);
	check_slice(r->query, buf, r->head_len);
	check_slice(r->range, buf, r->head_len);
	for (unsigned i = 0; i < r->nfields; i++) {
		check_slice(r->fields[i].name, buf, r->head_len);
		check_slice(r->fields[i].value, buf, r->head_len);
	}
	for (unsigned i = 0; i < r->if_none_match.n; i++)
		check_slice(r->if_none_match.v[i], buf, r->head_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct http_request a, b;
	struct http_parser pa, pb;
	struct http_limits lim = HTTP_LIMITS_DEFAULT;

	if (size < 1)
		return 0;
	uint8_t ctl = data[0];
	const char *in = (const char *)data + 1;
	size_t len = size - 1;
	if (ctl & 0x80) {
		lim.request_line_max = 16 + (ctl & 0x0f) * 8;
		lim.header_size_max = 64 + (ctl & 0x30) * 8;
		lim.fields_max = (ctl >> 4) & 0x07;
	}
	size_t step = 1 + (ctl & 0x07);

	char *whole = malloc(len ? len : 1);
	memcpy(whole, in, len);
	http_parser_init(&pa, &a, &lim);
	enum http_parse_status ra = http_parse(&pa, whole, len);
	if (ra == HTTP_PARSE_OK)
		check_req(&a, whole, len);

	http_parser_init(&pb, &b, &lim);
	enum http_parse_status rb = HTTP_PARSE_AGAIN;
	char *buf = NULL;
	size_t have = 0;
	if (len == 0)
		rb = http_parse(&pb, whole, 0);
	while (have < len && rb == HTTP_PARSE_AGAIN) {
		have = have + step < len ? have + step : len;
		free(buf);
		buf = malloc(have);
		memcpy(buf, in, have);
		rb = http_parse(&pb, buf, have);
	}
	if (ra != rb)
		abort();
	if (ra == HTTP_PARSE_ERROR &&
	    (pa.error_status != pb.error_status || strcmp(pa.error_reason, pb.error_reason) != 0))
		abort();
	if (ra == HTTP_PARSE_OK) {
		check_req(&b, buf, have);
		if (a.head_len != b.head_len || a.nfields != b.nfields || a.method != b.method ||
		    a.framing != b.framing || a.content_length != b.content_length ||
		    a.keep_alive != b.keep_alive || a.target.len != b.target.len ||
		    memcmp(a.target.p, b.target.p, a.target.len) != 0)
			abort();
	}
	free(buf);
	free(whole);
	return 0;
}
