/*
 * libFuzzer target for httpd/encoding.c: Accept-Encoding q-values and the
 * order precompressed siblings are tried in. Built by `make fuzz`, run by
 * `make fuzz-run` (see tests/fuzz/README.md).
 *
 * Input: field lines separated by '\n' (at most HTTP_LIST_LINES_MAX; the
 * request parser never hands out a line holding CR or LF). Checked beyond
 * "no crash": every q is 0..1000; an unreadable field means identity only;
 * the rank is a permutation of the codings, the acceptable ones first, by q
 * descending, each with q > 0 and not below a weighed identity; and the lines
 * mean what one line joined with "," means (RFC 9110 §5.3) when no quote is
 * involved.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../httpd/encoding.h"

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

static void check(const struct http_ae *ae, bool ok)
{
	for (int c = 0; c < HTTP_CODING_N; c++)
		CHECK(ae->q[c] >= 0 && ae->q[c] <= 1000);
	CHECK(ae->identity >= 0 && ae->identity <= 1000);
	if (!ok) {
		for (int c = 0; c < HTTP_CODING_N; c++)
			CHECK(ae->q[c] == 0);
		CHECK(ae->identity == 1000 && !ae->identity_weighed);
	}
	enum http_coding order[HTTP_CODING_N];
	unsigned n = http_encoding_rank(ae, order);
	CHECK(n <= HTTP_CODING_N);
	unsigned seen = 0;
	for (unsigned i = 0; i < HTTP_CODING_N; i++) {
		CHECK(order[i] >= 0 && order[i] < HTTP_CODING_N);
		CHECK(!(seen & (1u << order[i])));
		seen |= 1u << order[i];
		int q = ae->q[order[i]];
		bool acceptable = q > 0 && (!ae->identity_weighed || q >= ae->identity);
		CHECK(acceptable == (i < n));
		if (i > 0 && i < n)
			CHECK(ae->q[order[i - 1]] >= q);
		CHECK(http_coding_name(order[i])[0] != '\0');
		CHECK(http_coding_suffix(order[i])[0] == '.');
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	struct http_list l = {0};
	size_t start = 0;
	for (size_t i = 0; i <= size; i++) {
		if (i < size && in[i] != '\n')
			continue;
		if (l.n == HTTP_LIST_LINES_MAX)
			return 0;
		l.v[l.n].p = in + start;
		l.v[l.n].len = i - start;
		l.n++;
		start = i + 1;
	}
	struct http_ae ae;
	bool ok = http_accept_encoding(&l, &ae);
	check(&ae, ok);

	if (memchr(in, '"', size) || memchr(in, '\r', size))
		return 0;
	char *joined = malloc(size + 1);
	if (!joined)
		return 0;
	for (size_t i = 0; i < size; i++)
		joined[i] = in[i] == '\n' ? ',' : in[i];
	struct http_list one = {.v = {{{joined}, size}}, .n = 1};
	struct http_ae ae1;
	bool ok1 = http_accept_encoding(&one, &ae1);
	CHECK(ok1 == ok && ae1.identity == ae.identity &&
	      ae1.identity_weighed == ae.identity_weighed &&
	      memcmp(ae1.q, ae.q, sizeof(ae.q)) == 0);
	free(joined);
	return 0;
}
