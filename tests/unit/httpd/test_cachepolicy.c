/*
 * Unit tests for httpd/cachepolicy.c: what the response cache stores and for
 * how long (RFC 9111 §3 storing, §4.2.1 freshness lifetime, §5.2.2
 * directives; RFC 5861 §4 stale-if-error; interface.md's storage rules).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../../httpd/cachepolicy.h"
#include "../../../httpd/uphead.h"

#define NOW 1800000000 /* 2027-01-15T08:00:00Z */

struct row {
	int line;
	enum http_method method;
	bool req_ok;
	int status;
	const char *fields; /* "Name: value\r\n" lines */
	enum http_cache_verdict want;
	int64_t ttl, sie;
	unsigned nvary;
};

#define G HTTP_METHOD_GET
#define STORE(st, f, ttl, sie, nv) {__LINE__, G, true, st, f, HTTP_CACHE_STORE, ttl, sie, nv}
#define NO(m, ok, st, f, why) {__LINE__, m, ok, st, f, why, 0, 0, 0}

/* clang-format off */
static const struct row rows[] = {
	/* lifetime: s-maxage over max-age over Expires (§4.2.1) */
	STORE(200, "Cache-Control: max-age=60\r\n", 60, 0, 0),
	STORE(200, "Cache-Control: public, max-age=60, s-maxage=10\r\n", 10, 0, 0),
	STORE(200, "Cache-Control: max-age=\"30\"\r\n", 30, 0, 0),
	STORE(200, "cache-control: MAX-AGE=5\r\n", 5, 0, 0),
	STORE(200, "Cache-Control: max-age=60\r\nCache-Control: max-age=5\r\n", 60, 0, 0),
	STORE(200, "Date: Fri, 15 Jan 2027 08:00:00 GMT\r\nExpires: Fri, 15 Jan 2027 08:01:40 GMT\r\n", 100, 0, 0),
	STORE(200, "Expires: Fri, 15 Jan 2027 08:00:30 GMT\r\n", 30, 0, 0),
	STORE(200, "Cache-Control: max-age=60\r\nExpires: Thu, 01 Jan 1970 00:00:00 GMT\r\n", 60, 0, 0),
	STORE(203, "Cache-Control: max-age=1\r\n", 1, 0, 0),
	STORE(204, "Cache-Control: max-age=1\r\n", 1, 0, 0),
	STORE(301, "Cache-Control: max-age=1\r\n", 1, 0, 0),
	STORE(404, "Cache-Control: max-age=1\r\n", 1, 0, 0),
	STORE(410, "Cache-Control: max-age=1\r\n", 1, 0, 0),
	/* Age (RFC 9111 §4.2.3, §5.1): the lifetime less the age it arrived with */
	STORE(200, "Cache-Control: max-age=60\r\nAge: 50\r\n", 10, 0, 0),
	STORE(200, "Age: 20\r\nCache-Control: s-maxage=30, max-age=5\r\n", 10, 0, 0),
	STORE(200, "Date: Fri, 15 Jan 2027 08:00:00 GMT\r\nExpires: Fri, 15 Jan 2027 08:01:40 GMT\r\nAge: 40\r\n", 60, 0, 0),
	STORE(200, "Cache-Control: max-age=60\r\nAge: 5\r\nAge: 50\r\n", 55, 0, 0),
	STORE(200, "Cache-Control: max-age=60\r\nAge: 5x\r\n", 60, 0, 0),
	STORE(200, "Cache-Control: max-age=60\r\nAge: -5\r\n", 60, 0, 0),
	NO(G, true, 200, "Cache-Control: max-age=60\r\nAge: 60\r\n", HTTP_CACHE_NO_LIFETIME),
	NO(G, true, 200, "Cache-Control: max-age=60\r\nAge: 99999999999999999999999\r\n", HTTP_CACHE_NO_LIFETIME),
	/* RFC 5861 §4 */
	STORE(200, "Cache-Control: max-age=1, stale-if-error=300\r\n", 1, 300, 0),
	/* Vary (RFC 9111 §4.1) */
	STORE(200, "Cache-Control: max-age=9\r\nVary: Accept-Encoding, Accept-Language\r\n", 9, 0, 2),
	STORE(200, "Cache-Control: max-age=9\r\nVary: Accept\r\nVary: Origin\r\n", 9, 0, 2),
	NO(G, true, 200, "Cache-Control: max-age=9\r\nVary: *\r\n", HTTP_CACHE_NO_RESPONSE),
	NO(G, true, 200, "Cache-Control: max-age=9\r\nVary: a, *\r\n", HTTP_CACHE_NO_RESPONSE),
	NO(G, true, 200, "Cache-Control: max-age=9\r\nVary: a,b,c,d,e,f,g,h,i\r\n", HTTP_CACHE_NO_RESPONSE),
	/* never stored */
	NO(HTTP_METHOD_POST, true, 200, "Cache-Control: max-age=9\r\n", HTTP_CACHE_NO_METHOD),
	NO(HTTP_METHOD_HEAD, true, 200, "Cache-Control: max-age=9\r\n", HTTP_CACHE_NO_METHOD),
	NO(G, true, 206, "Cache-Control: max-age=9\r\n", HTTP_CACHE_NO_STATUS),
	NO(G, true, 302, "Cache-Control: max-age=9\r\n", HTTP_CACHE_NO_STATUS),
	NO(G, true, 500, "Cache-Control: max-age=9\r\n", HTTP_CACHE_NO_STATUS),
	NO(G, false, 200, "Cache-Control: max-age=9\r\n", HTTP_CACHE_NO_REQUEST),
	NO(G, true, 200, "Cache-Control: max-age=9\r\nSet-Cookie: a=1\r\n", HTTP_CACHE_NO_RESPONSE),
	NO(G, true, 200, "Cache-Control: private, max-age=9\r\n", HTTP_CACHE_NO_RESPONSE),
	NO(G, true, 200, "Cache-Control: max-age=9, private=\"Set-Cookie\"\r\n", HTTP_CACHE_NO_RESPONSE),
	NO(G, true, 200, "Cache-Control: no-store, max-age=9\r\n", HTTP_CACHE_NO_RESPONSE),
	NO(G, true, 200, "Cache-Control: no-cache\r\nCache-Control: max-age=9\r\n", HTTP_CACHE_NO_RESPONSE),
	NO(G, true, 200, "Cache-Control: public\r\n", HTTP_CACHE_NO_LIFETIME),
	NO(G, true, 200, "", HTTP_CACHE_NO_LIFETIME),
	NO(G, true, 200, "Cache-Control: max-age=0\r\n", HTTP_CACHE_NO_LIFETIME),
	NO(G, true, 200, "Cache-Control: max-age=abc\r\n", HTTP_CACHE_NO_LIFETIME),
	NO(G, true, 200, "Cache-Control: max-age\r\n", HTTP_CACHE_NO_LIFETIME),
	NO(G, true, 200, "Cache-Control: max-age=-5\r\n", HTTP_CACHE_NO_LIFETIME),
	NO(G, true, 200, "Expires: 0\r\n", HTTP_CACHE_NO_LIFETIME),
	NO(G, true, 200, "Expires: Thu, 01 Jan 1970 00:00:00 GMT\r\n", HTTP_CACHE_NO_LIFETIME),
	NO(G, true, 200, "Expires: Fri, 15 Jan 2027 08:00:30 GMT\r\nExpires: Fri, 15 Jan 2027 08:00:30 GMT\r\n", HTTP_CACHE_NO_LIFETIME),
};
/* clang-format on */

static void test_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *row = &rows[i];
		char head[1024];
		int n = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\n%s\r\n", row->fields);
		struct http_response *r = calloc(1, sizeof(*r));
		struct http_resp_parser p;
		http_resp_init(&p, sizeof(head), false);
		if (http_resp_parse(&p, head, (size_t)n, r) != HTTP_PARSE_OK)
			fail_msg("row at line %d: head does not parse: %s", row->line, p.error_reason);
		struct http_cache_decision d;
		http_cache_decide(row->method, row->req_ok, row->status, r->fields, r->nfields, NOW, &d);
		if (d.verdict != row->want ||
		    (d.verdict == HTTP_CACHE_STORE &&
		     (d.ttl != row->ttl || d.stale_if_error != row->sie || d.nvary != row->nvary)))
			fail_msg("row at line %d: verdict %d ttl %lld sie %lld vary %u", row->line,
			         d.verdict, (long long)d.ttl, (long long)d.stale_if_error, d.nvary);
		free(r);
	}
}

/* interface.md: a request with Authorization or Cookie never uses the cache;
 * only GET and HEAD do. */
static void test_request_ok(void **state)
{
	(void)state;
	static const struct {
		int line;
		const char *head;
		bool ok;
	} rq[] = {
	    {__LINE__, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", true},
	    {__LINE__, "HEAD / HTTP/1.1\r\nHost: h\r\n\r\n", true},
	    {__LINE__, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", false},
	    {__LINE__, "GET / HTTP/1.1\r\nHost: h\r\nAuthorization: Basic eA==\r\n\r\n", false},
	    {__LINE__, "GET / HTTP/1.1\r\nHost: h\r\ncookie: a=1\r\n\r\n", false},
	};
	for (size_t i = 0; i < sizeof(rq) / sizeof(rq[0]); i++) {
		struct http_request *r = calloc(1, sizeof(*r));
		struct http_parser p;
		struct http_limits lim = HTTP_LIMITS_DEFAULT;
		http_parser_init(&p, r, &lim);
		assert_int_equal(http_parse(&p, rq[i].head, strlen(rq[i].head)), HTTP_PARSE_OK);
		if (http_cache_request_ok(r) != rq[i].ok)
			fail_msg("row at line %d", rq[i].line);
		free(r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rows),
	    cmocka_unit_test(test_request_ok),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
