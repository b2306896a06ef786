/*
 * httpd/cachepolicy.h: whether a proxied response may be stored in the
 * response cache, and for how long (RFC 9111 §3, §4.2, §5.2; RFC 5861 §4;
 * the storage rules of interface.md, "Application servers (httpd)").
 *
 * Contract
 * - Pure: request facts and the response's fields in, a decision out; no
 *   I/O, no clock (NOW is passed in), no allocation.
 * - Stored only: GET; status 200, 203, 204, 301, 404 or 410; a lifetime
 *   given by Cache-Control s-maxage, else max-age, else Expires (relative to
 *   Date when present, else to NOW); a request without Authorization and
 *   Cookie; a response without Set-Cookie, without Cache-Control private,
 *   no-store or no-cache (qualified forms included), and without Vary: *.
 *   "public" alone gives no lifetime. A lifetime of 0 is not stored.
 * - Age (RFC 9111 §4.2.3, §5.1): the response is as old as its Age field
 *   says on arrival (a cache between us and the server held it): ttl is what
 *   is left of the lifetime, and a response already that old is not stored.
 *   The Date-based apparent age is not used (a server's clock may be off),
 *   nor is a response_delay added (the upstream is near).
 * - Duplicate or malformed directives: RFC 9111 §4.2.1 says a cache should
 *   use the first of duplicates and treat an invalid value as stale; here
 *   a malformed s-maxage / max-age value means "not stored".
 * - vary: the field names the response's Vary lists (lower case is not
 *   required: compared case-insensitively), at most HTTP_CACHE_VARY_MAX;
 *   more is treated like Vary: * (not stored).
 */
#ifndef TRIAD_HTTPD_CACHEPOLICY_H
#define TRIAD_HTTPD_CACHEPOLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "parse.h"
#include "triad/limits.h"

enum http_cache_verdict {
	HTTP_CACHE_STORE,
	HTTP_CACHE_NO_METHOD,    /* not GET */
	HTTP_CACHE_NO_STATUS,    /* a status never stored */
	HTTP_CACHE_NO_REQUEST,   /* Authorization or Cookie in the request */
	HTTP_CACHE_NO_RESPONSE,  /* Set-Cookie, private, no-store, no-cache, Vary: * */
	HTTP_CACHE_NO_LIFETIME,  /* no (positive) lifetime given */
};

struct http_cache_decision {
	enum http_cache_verdict verdict;
	int64_t ttl;            /* seconds of freshness from NOW: the lifetime less age */
	int64_t age;            /* the response's Age (RFC 9111 §5.1) on arrival, seconds */
	int64_t stale_if_error; /* seconds a stale copy may stand in for an error */
	struct http_slice vary[HTTP_CACHE_VARY_MAX];
	unsigned nvary;
};

/* Whether the request itself may use or fill the cache: GET or HEAD,
 * without Authorization and Cookie (interface.md). */
bool http_cache_request_ok(const struct http_request *r);

void http_cache_decide(enum http_method method, bool request_ok, int status,
                       const struct http_field *fields, unsigned nfields, int64_t now,
                       struct http_cache_decision *d);

#endif
