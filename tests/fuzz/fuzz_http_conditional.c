/*
 * libFuzzer target for httpd/conditional.c and common/date.c (not built by
 * `make`). Build and run:
 *
 *   mkdir -p build/fuzz
 *   clang -std=c17 -g -O1 -D_GNU_SOURCE -Iinclude \
 *         -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
 *         tests/fuzz/fuzz_http_conditional.c httpd/conditional.c common/date.c \
 *         -o build/fuzz/fuzz_http_conditional
 *   build/fuzz/fuzz_http_conditional -max_total_time=60
 *
 * Input: a flags byte, then NUL-separated If-Match, If-None-Match,
 * If-Modified-Since, If-Unmodified-Since, If-Range and the current ETag
 * (each field's '\n' splits it into lines). Checks: every date that parses
 * formats and parses back to itself; a 304 only for GET/HEAD; the Range only
 * applies to a GET that had one.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../httpd/conditional.h"
#include "triad/date.h"

static void to_list(struct http_slice s, struct http_list *l)
{
	l->n = 0;
	size_t i = 0;
	while (l->n < HTTP_LIST_LINES_MAX) {
		const char *nl = memchr(s.p + i, '\n', s.len - i);
		size_t e = nl ? (size_t)(nl - s.p) : s.len;
		l->v[l->n].p = s.p + i;
		l->v[l->n].len = e - i;
		l->n++;
		if (!nl)
			break;
		i = e + 1;
	}
}

static void check_date(struct http_slice s)
{
	int64_t t, back;
	char out[DATE_HTTP_LEN + 1];

	if (!s.p || !date_http_parse(s.p, s.len, 1717200000, &t))
		return;
	if (!date_http_format(t, out) || !date_http_parse(out, DATE_HTTP_LEN, 0, &back) || back != t)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_slice f[6] = {{{NULL}, 0}};
	struct http_list im, inm;

	if (size < 1)
		return 0;
	uint8_t flags = data[0];
	const char *p = (const char *)data + 1, *end = (const char *)data + size;
	for (int k = 0; k < 6 && p <= end; k++) {
		const char *z = memchr(p, '\0', (size_t)(end - p));
		size_t n = z ? (size_t)(z - p) : (size_t)(end - p);
		if (!(flags & (1u << (k % 6))) || k == 5) {
			f[k].p = p;
			f[k].len = n;
		}
		p += n + 1;
	}
	for (int k = 2; k < 5; k++)
		check_date(f[k]);
	if (f[0].p)
		to_list(f[0], &im);
	if (f[1].p)
		to_list(f[1], &inm);

	static const enum http_method methods[] = {HTTP_METHOD_GET, HTTP_METHOD_HEAD,
	                                           HTTP_METHOD_POST, HTTP_METHOD_PUT};
	struct http_cond_input in = {
		.method = methods[(flags >> 6) & 3],
		.if_match = f[0].p ? &im : NULL,
		.if_none_match = f[1].p ? &inm : NULL,
		.if_modified_since = f[2],
		.if_unmodified_since = f[3],
		.if_range = f[4],
		.has_range = (flags >> 5) & 1,
		.etag = f[5],
		.mtime = 784111777,
		.now = 1717200000,
	};
	bool ra;
	enum http_cond c = http_cond_evaluate(&in, &ra);
	bool get_head = in.method == HTTP_METHOD_GET || in.method == HTTP_METHOD_HEAD;
	if (c == HTTP_COND_NOT_MODIFIED && !get_head)
		abort();
	if (ra && (in.method != HTTP_METHOD_GET || !in.has_range || c != HTTP_COND_PROCEED))
		abort();
	return 0;
}
