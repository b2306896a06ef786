/*
 * Unit tests for httpd/rules.c: `_redirects` and `_headers` as Netlify and
 * Cloudflare Pages read them (interface.md, "Sites"): one row per file with
 * the rules kept and the lines skipped (with their reasons), then matching.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "../../../httpd/rules.h"

struct warnings {
	char text[2048];
	size_t len;
};

static void collect(void *arg, unsigned line, const char *reason)
{
	struct warnings *w = arg;
	w->len += (size_t)snprintf(w->text + w->len, sizeof(w->text) - w->len, "%u: %s|", line,
	                           reason);
}

static void render(const struct http_rules *r, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < r->nredirects; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s>%s %d%s@%u;", r->redirects[i].from,
		                      r->redirects[i].to, r->redirects[i].status,
		                      r->redirects[i].force ? "!" : "", r->redirects[i].line);
	for (size_t i = 0; i < r->nheaders; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s[%s=%s]@%u;", r->headers[i].pattern,
		                      r->headers[i].name, r->headers[i].value, r->headers[i].line);
}

static void test_redirects_parse(void **state)
{
	static const struct {
		int line;
		const char *in, *rules, *warnings;
	} rows[] = {
		{__LINE__, "", "", ""},
		{__LINE__, "# comment\n\n/old /new\n", "/old>/new 301@3;", ""},
		{__LINE__, "/a /b 302\r\n/c https://x.example/d 308!\n/e /f 200\n/g /404.html 404\n"
		 "/h /gone.html 410!\n",
		 "/a>/b 302@1;/c>https://x.example/d 308!@2;/e>/f 200@3;/g>/404.html 404@4;"
		 "/h>/gone.html 410!@5;", ""},
		{__LINE__, "/news/* /blog/:splat\n/u/:id/p/:n /users/:id?page=:n 301 # trailing\n",
		 "/news/*>/blog/:splat 301@1;/u/:id/p/:n>/users/:id?page=:n 301@2;", ""},
		/* bad lines are skipped with their reasons; the good ones stay */
		{__LINE__, "/only-one\n/a /b 299\n/a /b 301x\nnoslash /b\n/a/*/b /c\n/ok /fine\n"
		 "/a /b 302 extra\n/p https://x.example 200\n/q ftp://x.example\n/r /s\x01\n",
		 "/ok>/fine 301@6;",
		 "1: expected FROM TO [STATUS]|"
		 "2: STATUS must be 200, 301, 302, 303, 307, 308, 404 or 410, with an optional '!'|"
		 "3: STATUS must be 200, 301, 302, 303, 307, 308, 404 or 410, with an optional '!'|"
		 "4: FROM must be a path starting with '/', with '*' only at its end|"
		 "5: FROM must be a path starting with '/', with '*' only at its end|"
		 "7: expected FROM TO [STATUS]|"
		 "8: TO must be a path of this site|"
		 "9: TO must be a path or an http(s) URL|"
		 "10: control character or NUL in line, or line too long|"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct http_rules r = {0};
		struct warnings w = {"", 0};
		char got[2048];
		assert_int_equal(http_redirects_parse(rows[i].in, strlen(rows[i].in), &r, collect, &w),
		                 0);
		render(&r, got, sizeof(got));
		if (strcmp(got, rows[i].rules) != 0 || strcmp(w.text, rows[i].warnings) != 0)
			fail_msg("row at line %d: got '%s' warnings '%s'", rows[i].line, got, w.text);
		http_rules_free(&r);
	}
}

static void test_headers_parse(void **state)
{
	static const struct {
		int line;
		const char *in, *rules, *warnings;
	} rows[] = {
		{__LINE__, "/*\n  X-Frame-Options: DENY\n  Cache-Control:  max-age=60 \n",
		 "/*[X-Frame-Options=DENY]@2;/*[Cache-Control=max-age=60]@3;", ""},
		{__LINE__, "# c\n/assets/*\n\tX-A: 1\n/page.html\n  X-B: two words\n",
		 "/assets/*[X-A=1]@3;/page.html[X-B=two words]@5;", ""},
		{__LINE__, "  X-Orphan: 1\n/a\n  no colon\n  Bad Name: x\n  X-Ok: y\nnoslash\n  X-C: z\n"
		 "/b/*/c\n",
		 "/a[X-Ok=y]@5;",
		 "1: a header line before any path pattern|3: expected 'Name: value'|"
		 "4: the header name is not a token (RFC 9110 §5.1)|"
		 "6: expected a path pattern ('/' first, '*' only at its end)|"
		 "8: expected a path pattern ('/' first, '*' only at its end)|"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct http_rules r = {0};
		struct warnings w = {"", 0};
		char got[2048];
		assert_int_equal(http_headers_parse(rows[i].in, strlen(rows[i].in), &r, collect, &w), 0);
		render(&r, got, sizeof(got));
		if (strcmp(got, rows[i].rules) != 0 || strcmp(w.text, rows[i].warnings) != 0)
			fail_msg("row at line %d: got '%s' warnings '%s'", rows[i].line, got, w.text);
		http_rules_free(&r);
	}
}

static void test_match(void **state)
{
	static const struct {
		int line;
		const char *from, *to, *path, *want; /* want NULL: no match */
	} rows[] = {
		{__LINE__, "/old", "/new", "/old", "/new"},
		{__LINE__, "/old", "/new", "/old/", NULL},
		{__LINE__, "/old", "/new", "/olden", NULL},
		{__LINE__, "/news/*", "/blog/:splat", "/news/2026/x.html", "/blog/2026/x.html"},
		{__LINE__, "/news/*", "/blog/:splat", "/news/", "/blog/"},
		{__LINE__, "/news/*", "/blog/:splat", "/news", NULL},
		{__LINE__, "/*", "/index.html", "/any/thing", "/index.html"},
		{__LINE__, "/u/:id/p/:n", "/users/:id?page=:n", "/u/42/p/7", "/users/42?page=7"},
		{__LINE__, "/u/:id", "/users/:id", "/u/", NULL},
		{__LINE__, "/u/:id", "/users/:id", "/u/1/2", NULL},
		{__LINE__, "/a", "https://x.example/:unknown", "/a", "https://x.example/:unknown"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct http_redirect r = {(char *)rows[i].from, (char *)rows[i].to, 301, false, 1};
		char out[256];
		bool m = http_redirect_match(&r, rows[i].path, out, sizeof(out));
		if (m != (rows[i].want != NULL) || (m && strcmp(out, rows[i].want) != 0))
			fail_msg("row at line %d: %d '%s'", rows[i].line, m, m ? out : "");
	}
	/* a target that does not fit is no match, not a cut one */
	struct http_redirect r = {"/*", "/x/:splat", 301, false, 1};
	char small[8];
	assert_false(http_redirect_match(&r, "/abcdefgh", small, sizeof(small)));
	assert_true(http_header_pattern_match("/assets/*", "/assets/a.css"));
	assert_false(http_header_pattern_match("/assets/*", "/asset"));
	assert_true(http_header_pattern_match("/x.html", "/x.html"));
	assert_false(http_header_pattern_match("/x.html", "/x.htm"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redirects_parse),
		cmocka_unit_test(test_headers_parse),
		cmocka_unit_test(test_match),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
