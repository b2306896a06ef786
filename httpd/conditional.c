/*
 * httpd/conditional.c: precondition evaluation and entity-tags (contract
 * and policy in conditional.h).
 */
#include "conditional.h"

#include <stdio.h>
#include <string.h>

#include "triad/date.h"

struct etag {
	const char *opaque; /* with its quotes */
	size_t len;
	bool weak;
};

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* entity-tag at S[*I..E): [ "W/" ] DQUOTE *etagc DQUOTE (RFC 9110 §8.8.3) */
static bool etag_at(const char *s, size_t e, size_t *i, struct etag *t)
{
	size_t j = *i;

	t->weak = false;
	if (e - j >= 2 && s[j] == 'W' && s[j + 1] == '/') {
		t->weak = true;
		j += 2;
	}
	if (j == e || s[j] != '"')
		return false;
	size_t start = j++;
	for (; j < e && s[j] != '"'; j++) {
		unsigned char c = (unsigned char)s[j];
		if (c < 0x21 || c == 0x7f) /* etagc = %x21 / %x23-7E / obs-text */
			return false;
	}
	if (j == e)
		return false;
	j++;
	t->opaque = s + start;
	t->len = j - start;
	*i = j;
	return true;
}

static bool same(const struct etag *a, const struct etag *b, bool strong)
{
	if (strong && (a->weak || b->weak))
		return false;
	return a->len == b->len && memcmp(a->opaque, b->opaque, a->len) == 0;
}

enum http_etag_match http_etag_match(const struct http_list *l, struct http_slice etag, bool strong)
{
	struct etag cur;
	size_t ci = 0;
	bool have_cur = etag.p && etag_at(etag.p, etag.len, &ci, &cur) && ci == etag.len;
	bool star = false, match = false;
	unsigned members = 0;

	for (unsigned k = 0; k < l->n; k++) {
		const char *s = l->v[k].p;
		size_t e = l->v[k].len, i = 0;

		/* #( "*" / entity-tag ), empty elements allowed (RFC 9110 §5.6.1) */
		for (;;) {
			while (i < e && (is_ows(s[i]) || s[i] == ','))
				i++;
			if (i == e)
				break;
			members++;
			if (s[i] == '*') {
				star = true;
				i++;
			} else {
				struct etag t;
				if (!etag_at(s, e, &i, &t))
					return HTTP_ETAG_INVALID;
				if (have_cur && same(&t, &cur, strong))
					match = true;
			}
			while (i < e && is_ows(s[i]))
				i++;
			if (i < e && s[i] != ',')
				return HTTP_ETAG_INVALID;
		}
	}
	/* "*" stands alone: If-Match = "*" / #entity-tag */
	if (members == 0 || (star && members > 1))
		return HTTP_ETAG_INVALID;
	return (star || match) ? HTTP_ETAG_MATCH : HTTP_ETAG_NO_MATCH;
}

static bool present(const struct http_list *l)
{
	return l != NULL && l->n > 0;
}

static bool date(struct http_slice s, int64_t now, int64_t *t)
{
	return s.p != NULL && date_http_parse(s.p, s.len, now, t);
}

static bool if_range_true(const struct http_cond_input *in)
{
	struct http_slice v = in->if_range;

	/* "Wed, ..." is a date; "W/" starts a (weak) entity-tag */
	if (v.len > 0 && (v.p[0] == '"' || (v.len > 1 && v.p[0] == 'W' && v.p[1] == '/'))) {
		/* a single entity-tag, compared strongly: a weak one never matches (§13.1.5) */
		struct etag t, cur;
		size_t i = 0, ci = 0;
		if (!etag_at(v.p, v.len, &i, &t) || i != v.len)
			return false;
		if (in->etag.p == NULL || !etag_at(in->etag.p, in->etag.len, &ci, &cur) ||
		    ci != in->etag.len)
			return false;
		return same(&t, &cur, true);
	}
	int64_t t;
	return date(v, in->now, &t) && t == in->mtime;
}

enum http_cond http_cond_evaluate(const struct http_cond_input *in, bool *range_applies)
{
	bool get_head = in->method == HTTP_METHOD_GET || in->method == HTTP_METHOD_HEAD;
	int64_t t;

	*range_applies = false;
	if (present(in->if_match)) {
		if (http_etag_match(in->if_match, in->etag, true) != HTTP_ETAG_MATCH)
			return HTTP_COND_PRECONDITION_FAILED;
	} else if (date(in->if_unmodified_since, in->now, &t) && in->mtime > t) {
		return HTTP_COND_PRECONDITION_FAILED;
	}

	/* An If-None-Match we cannot parse counts as absent, so IMS applies. */
	enum http_etag_match inm = HTTP_ETAG_INVALID;
	if (present(in->if_none_match))
		inm = http_etag_match(in->if_none_match, in->etag, false);
	if (inm == HTTP_ETAG_MATCH)
		return get_head ? HTTP_COND_NOT_MODIFIED : HTTP_COND_PRECONDITION_FAILED;
	if (inm == HTTP_ETAG_INVALID && get_head && date(in->if_modified_since, in->now, &t) &&
	    in->mtime <= t)
		return HTTP_COND_NOT_MODIFIED;

	if (in->method == HTTP_METHOD_GET && in->has_range)
		*range_applies = in->if_range.p == NULL || if_range_true(in);
	return HTTP_COND_PROCEED;
}

size_t http_etag_format(char out[HTTP_ETAG_MAX], uint64_t ino, uint64_t size, int64_t mtime_sec,
                        long mtime_nsec)
{
	/* unsigned arithmetic: wraps deterministically for absurd dates */
	uint64_t ns = (uint64_t)mtime_sec * 1000000000u + (uint64_t)mtime_nsec;
	int n = snprintf(out, HTTP_ETAG_MAX, "\"%llx-%llx-%llx\"", (unsigned long long)ns,
	                 (unsigned long long)size, (unsigned long long)ino);

	return n < 0 ? 0 : (size_t)n;
}
