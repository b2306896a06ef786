/*
 * httpd/range.c: Range header evaluation (contract and policy in range.h).
 *
 * Parse the whole range-set first (any syntax error ignores the field), keep
 * the satisfiable specs clipped to the representation, apply the
 * amplification rules, then sort and coalesce.
 */
#include "range.h"

#include <stdbool.h>

#include "slice.h"

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* 1*DIGIT at *I, saturating at UINT64_MAX. Returns false when there is none. */
static bool number(const char *s, size_t e, size_t *i, uint64_t *v)
{
	size_t start = *i;

	*v = 0;
	while (*i < e && s[*i] >= '0' && s[*i] <= '9') {
		unsigned d = (unsigned)(s[*i] - '0');
		*v = *v > (UINT64_MAX - d) / 10 ? UINT64_MAX : *v * 10 + d;
		(*i)++;
	}
	return *i > start;
}

static void sort_and_coalesce(struct http_range *r, unsigned *n)
{
	for (unsigned i = 1; i < *n; i++) {
		struct http_range x = r[i];
		unsigned j = i;
		while (j > 0 && r[j - 1].first > x.first) {
			r[j] = r[j - 1];
			j--;
		}
		r[j] = x;
	}
	unsigned k = 0;
	for (unsigned i = 1; i < *n; i++) {
		/* overlapping or adjacent: last + 1 cannot overflow, last < length */
		if (r[i].first <= r[k].last + 1) {
			if (r[i].last > r[k].last)
				r[k].last = r[i].last;
		} else {
			r[++k] = r[i];
		}
	}
	if (*n > 0)
		*n = k + 1;
}

enum http_range_status http_range_parse(const char *s, size_t len, uint64_t length,
                                        struct http_range out[HTTP_RANGES_MAX], unsigned *count)
{
	size_t i = 0, e = len;
	unsigned n = 0, specs = 0;
	uint64_t sum = 0;
	bool suffix_on_empty = false;

	*count = 0;
	while (i < e && is_ows(s[i]))
		i++;
	while (e > i && is_ows(s[e - 1]))
		e--;

	size_t u = i;
	while (i < e && http_is_tchar((unsigned char)s[i]))
		i++;
	if (i == u || i == e || s[i] != '=' || !http_eq_ci(s + u, i - u, "bytes"))
		return HTTP_RANGE_IGNORE;
	i++;

	/* 1#range-spec: *( "," OWS ) range-spec *( OWS "," [ OWS range-spec ] ) */
	for (;;) {
		uint64_t a, b;
		bool ha, hb;

		while (i < e && s[i] == ',') {
			i++;
			while (i < e && is_ows(s[i]))
				i++;
		}
		if (i == e)
			break;
		ha = number(s, e, &i, &a);
		if (i == e || s[i] != '-')
			return HTTP_RANGE_IGNORE;
		i++;
		hb = number(s, e, &i, &b);
		if (!ha && !hb)
			return HTTP_RANGE_IGNORE;
		if (ha && hb && b < a)
			return HTTP_RANGE_IGNORE; /* an invalid range-spec, §14.1.1 */
		if (++specs > HTTP_RANGES_MAX)
			return HTTP_RANGE_IGNORE;
		while (i < e && is_ows(s[i]))
			i++;
		if (i < e && s[i] != ',')
			return HTTP_RANGE_IGNORE;

		struct http_range r;
		if (ha) {
			if (a >= length)
				continue; /* unsatisfiable on its own */
			r.first = a;
			r.last = (!hb || b >= length) ? length - 1 : b;
		} else {
			if (b == 0)
				continue;
			if (length == 0) {
				suffix_on_empty = true;
				continue;
			}
			r.first = b >= length ? 0 : length - b;
			r.last = length - 1;
		}
		uint64_t size = r.last - r.first + 1;
		sum = sum > UINT64_MAX - size ? UINT64_MAX : sum + size;
		out[n++] = r;
	}
	if (specs == 0)
		return HTTP_RANGE_IGNORE;
	if (n == 0)
		return suffix_on_empty ? HTTP_RANGE_IGNORE : HTTP_RANGE_UNSATISFIABLE;
	if (sum > length)
		return HTTP_RANGE_IGNORE;
	sort_and_coalesce(out, &n);
	*count = n;
	return HTTP_RANGE_SATISFIABLE;
}
