/*
 * httpd/cachepolicy.c: the storage decision for the response cache
 * (contract in cachepolicy.h).
 */
#include "cachepolicy.h"
#include "triad/date.h"
#include "uphead.h"

#include <string.h>

bool http_cache_request_ok(const struct http_request *r)
{
	if (r->method != HTTP_METHOD_GET && r->method != HTTP_METHOD_HEAD)
		return false;
	for (unsigned i = 0; i < r->nfields; i++)
		if (http_field_is(&r->fields[i], "authorization") ||
		    http_field_is(&r->fields[i], "cookie"))
			return false;
	return true;
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* delta-seconds (RFC 9111 §1.2.2): 1*DIGIT, capped; -1 when malformed. */
static int64_t delta(const char *v, size_t n)
{
	if (n >= 2 && v[0] == '"' && v[n - 1] == '"')
		v++, n -= 2; /* §5.2: senders should not quote, recipients accept it */
	if (n == 0)
		return -1;
	int64_t x = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		if (x < 2147483648)
			x = x * 10 + (v[i] - '0');
	}
	return x > 2147483648 ? 2147483648 : x;
}

struct cc {
	int64_t s_maxage, max_age, sie; /* -1 absent, -2 malformed */
	bool deny;
};

static void directive(struct cc *cc, const char *name, size_t nlen, const char *val,
                      size_t vlen, bool has_val)
{
	if (http_eq_ci(name, nlen, "private") || http_eq_ci(name, nlen, "no-store") ||
	    http_eq_ci(name, nlen, "no-cache")) {
		cc->deny = true;
		return;
	}
	int64_t *slot = http_eq_ci(name, nlen, "s-maxage")         ? &cc->s_maxage
	                : http_eq_ci(name, nlen, "max-age")        ? &cc->max_age
	                : http_eq_ci(name, nlen, "stale-if-error") ? &cc->sie
	                                                           : NULL;
	if (!slot || *slot != -1)
		return; /* unknown, or a duplicate: the first one counts */
	int64_t d = has_val ? delta(val, vlen) : -1;
	*slot = d < 0 ? -2 : d;
}

/* Cache-Control: #( token [ "=" ( token / quoted-string ) ] ) */
static void cache_control(struct cc *cc, const char *v, size_t n)
{
	size_t i = 0;
	while (i < n) {
		while (i < n && (is_ows(v[i]) || v[i] == ','))
			i++;
		size_t ns = i;
		while (i < n && http_is_tchar((unsigned char)v[i]))
			i++;
		size_t nlen = i - ns;
		while (i < n && is_ows(v[i]))
			i++;
		const char *val = NULL;
		size_t vlen = 0;
		bool has = false;
		if (i < n && v[i] == '=') {
			i++;
			while (i < n && is_ows(v[i]))
				i++;
			has = true;
			val = v + i;
			if (i < n && v[i] == '"') {
				size_t s = i++;
				while (i < n && v[i] != '"')
					i += v[i] == '\\' ? 2 : 1;
				if (i < n)
					i++;
				if (i > n)
					i = n;
				vlen = i - s;
			} else {
				size_t s = i;
				while (i < n && v[i] != ',' && !is_ows(v[i]))
					i++;
				vlen = i - s;
			}
		}
		if (nlen)
			directive(cc, v + ns, nlen, val, vlen, has);
		while (i < n && v[i] != ',')
			i++;
	}
}

void http_cache_decide(enum http_method method, bool request_ok, int status,
                       const struct http_field *fields, unsigned nfields, int64_t now,
                       struct http_cache_decision *d)
{
	memset(d, 0, sizeof(*d));
	if (method != HTTP_METHOD_GET) {
		d->verdict = HTTP_CACHE_NO_METHOD;
		return;
	}
	if (status != 200 && status != 203 && status != 204 && status != 301 && status != 404 &&
	    status != 410) {
		d->verdict = HTTP_CACHE_NO_STATUS;
		return;
	}
	if (!request_ok) {
		d->verdict = HTTP_CACHE_NO_REQUEST;
		return;
	}
	struct cc cc = {-1, -1, -1, false};
	struct http_slice expires = {{NULL}, 0}, date = {{NULL}, 0};
	bool multiple_expires = false, age_seen = false;
	for (unsigned i = 0; i < nfields; i++) {
		const struct http_field *f = &fields[i];
		if (http_field_is(f, "set-cookie")) {
			cc.deny = true;
		} else if (http_field_is(f, "cache-control")) {
			cache_control(&cc, f->value.p, f->value.len);
		} else if (http_field_is(f, "expires")) {
			multiple_expires = expires.p != NULL;
			expires = f->value;
		} else if (http_field_is(f, "date")) {
			date = f->value;
		} else if (http_field_is(f, "age") && !age_seen) {
			/* RFC 9111 §5.1: delta-seconds; the first one counts, an invalid
			 * one is ignored, a huge one is 2^31 (§1.2.2) */
			age_seen = true;
			int64_t a = 0;
			size_t k = 0;
			while (k < f->value.len && f->value.p[k] >= '0' && f->value.p[k] <= '9') {
				a = a * 10 + (f->value.p[k++] - '0');
				if (a > HTTP_CACHE_AGE_MAX)
					a = HTTP_CACHE_AGE_MAX;
			}
			if (k > 0 && k == f->value.len)
				d->age = a;
		} else if (http_field_is(f, "vary")) {
			size_t k = 0, n = f->value.len;
			const char *v = f->value.p;
			while (k < n) {
				while (k < n && (is_ows(v[k]) || v[k] == ','))
					k++;
				size_t s = k;
				while (k < n && v[k] != ',' && !is_ows(v[k]))
					k++;
				if (k == s)
					continue;
				if ((k - s == 1 && v[s] == '*') || d->nvary == HTTP_CACHE_VARY_MAX) {
					cc.deny = true;
					break;
				}
				d->vary[d->nvary++] = (struct http_slice){{.p = v + s}, k - s};
			}
		}
	}
	if (cc.deny) {
		d->verdict = HTTP_CACHE_NO_RESPONSE;
		return;
	}
	int64_t ttl = -1;
	if (cc.s_maxage != -1)
		ttl = cc.s_maxage;
	else if (cc.max_age != -1)
		ttl = cc.max_age;
	else if (expires.p && !multiple_expires) {
		int64_t e, base = now;
		/* RFC 9111 §4.2.1: Expires - Date; an invalid Expires is already stale */
		if (!date_http_parse(expires.p, expires.len, now, &e))
			e = 0;
		if (date.p && !date_http_parse(date.p, date.len, now, &base))
			base = now;
		ttl = e > base ? e - base : 0;
	}
	/* RFC 9111 §4.2: fresh while the lifetime exceeds the current age, which
	 * starts at the Age it came with (a cache in front of the server) */
	if (ttl <= d->age) {
		d->verdict = HTTP_CACHE_NO_LIFETIME;
		return;
	}
	d->ttl = ttl - d->age;
	d->stale_if_error = cc.sie > 0 ? cc.sie : 0;
	d->verdict = HTTP_CACHE_STORE;
}
