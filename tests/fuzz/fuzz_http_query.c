/*
 * libFuzzer target for http_query_param() (httpd/autoindex.c), which reads
 * autoindex's ?sort=, ?order= and ?format= from the raw query.
 *
 * Input: byte 0 picks the key asked for, the rest is the query.
 * Checked beyond "no crash": a value found lies inside the query, right
 * after "KEY=" at the start of a '&'-separated field, contains no '&', and
 * is the first such field's value; when nothing is found no field starts
 * with "KEY=".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../httpd/session.h"

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

static const char *const keys[] = {"sort", "order", "format", "s", "a=b", ""};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *key = keys[data[0] % (sizeof(keys) / sizeof(keys[0]))];
	size_t klen = strlen(key);
	struct http_slice q = {.p = (const char *)data + 1, .len = size - 1};
	if (data[0] >= 128)
		q.p = size > 1 ? q.p : NULL; /* an absent query */
	const char *v = NULL;
	size_t vlen = 0;
	bool found = http_query_param(&q, key, &v, &vlen);
	/* The first field "KEY=...", found apart. */
	const char *want = NULL;
	size_t wantlen = 0;
	const char *p = q.p, *end = q.p ? q.p + q.len : NULL;
	while (p && p < end && !want) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *e = amp ? amp : end;
		if ((size_t)(e - p) > klen && memcmp(p, key, klen) == 0 && p[klen] == '=') {
			want = p + klen + 1;
			wantlen = (size_t)(e - want);
		}
		p = e + 1;
	}
	CHECK(found == (want != NULL));
	if (found) {
		CHECK(v == want && vlen == wantlen);
		CHECK(v >= q.p && v + vlen <= q.p + q.len && !memchr(v, '&', vlen));
	}
	return 0;
}
