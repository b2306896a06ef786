/*
 * Unit tests for httpd/path.c: request path -> safe relative path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../../httpd/path.h"

#define S(lit) lit, sizeof(lit) - 1

struct row {
	int line;
	const char *in;
	size_t len;
	int status;
	const char *out;    /* status 0; else the reason */
	int trailing, hidden;
};

#define OK(in, out, tr, hid) {__LINE__, S(in), 0, out, tr, hid}
#define BAD(in, st, why) {__LINE__, S(in), st, why, 0, 0}

/* clang-format off */
static const struct row rows[] = {
	/* plain paths */
	OK("/", "", 1, 0),
	OK("/index.html", "index.html", 0, 0),
	OK("/a/b/c.txt", "a/b/c.txt", 0, 0),
	OK("/a/b/", "a/b", 1, 0),
	OK("/a-b_c~d!$&'()*+,;=:@", "a-b_c~d!$&'()*+,;=:@", 0, 0),
	OK("/\"<>^`{|}", "\"<>^`{|}", 0, 0),
	/* duplicate slashes collapse */
	OK("//", "", 1, 0),
	OK("//a///b//", "a/b", 1, 0),
	OK("/a//../b", "b", 0, 0),
	/* dot segments (RFC 3986 §5.2.4) */
	OK("/.", "", 1, 0),
	OK("/./", "", 1, 0),
	OK("/a/.", "a", 1, 0),
	OK("/a/./b", "a/b", 0, 0),
	OK("/a/..", "", 1, 0),
	OK("/a/../", "", 1, 0),
	OK("/a/b/..", "a", 1, 0),
	OK("/a/b/../c", "a/c", 0, 0),
	OK("/a/b/c/./../../g", "a/g", 0, 0),
	OK("/a/b/../../c/", "c", 1, 0),
	OK("/a/%2e%2E/b", "b", 0, 0),
	OK("/a/.%2e/b", "b", 0, 0),
	OK("/a/%2e/b", "a/b", 0, 0),
	BAD("/..", 400, "path above the root"),
	BAD("/../a", 400, "path above the root"),
	BAD("/a/../..", 400, "path above the root"),
	BAD("/a/../../etc/passwd", 400, "path above the root"),
	BAD("/%2e%2e/etc/passwd", 400, "path above the root"),
	BAD("/%2E%2E", 400, "path above the root"),
	BAD("/./../a", 400, "path above the root"),
	/* percent-decoding */
	OK("/a%20b", "a b", 0, 0),
	OK("/%41%5a%7e", "AZ~", 0, 0),
	OK("/caf%C3%A9", "caf\xc3\xa9", 0, 0),
	OK("/%E2%82%AC", "\xe2\x82\xac", 0, 0),
	OK("/%F0%9F%98%80", "\xf0\x9f\x98\x80", 0, 0),
	OK("/%F4%8F%BF%BF", "\xf4\x8f\xbf\xbf", 0, 0),
	OK("/%ED%9F%BF", "\xed\x9f\xbf", 0, 0),
	OK("/%3F%23%25", "?#%", 0, 0),
	BAD("/a%", 400, "invalid percent-encoding"),
	BAD("/a%2", 400, "invalid percent-encoding"),
	BAD("/a%2g", 400, "invalid percent-encoding"),
	BAD("/a%g2", 400, "invalid percent-encoding"),
	BAD("/a%%32%30", 400, "invalid percent-encoding"),
	BAD("/a%00", 400, "encoded NUL in path"),
	BAD("/a%00.html", 400, "encoded NUL in path"),
	BAD("/a%0a", 400, "encoded control character in path"),
	BAD("/a%0D%0A", 400, "encoded control character in path"),
	BAD("/a%1f", 400, "encoded control character in path"),
	BAD("/a%7F", 400, "encoded control character in path"),
	BAD("/a%2Fb", 404, "encoded slash in path"),
	BAD("/a%2fb", 404, "encoded slash in path"),
	BAD("/..%2f..%2fetc", 404, "encoded slash in path"),
	BAD("/a%5Cb", 404, "encoded backslash in path"),
	BAD("/..%5c..%5cetc", 404, "encoded backslash in path"),
	/* raw bytes that are not in a URI */
	BAD("/a\\b", 400, "backslash in path"),
	BAD("/..\\..\\etc", 400, "backslash in path"),
	BAD("/a b", 400, "invalid character in path"),
	BAD("/a\x01", 400, "invalid character in path"),
	BAD("/a\x00", 400, "invalid character in path"),
	BAD("/a\x7f", 400, "invalid character in path"),
	BAD("/caf\xc3\xa9", 400, "invalid character in path"),
	BAD("/a?b", 400, "invalid character in path"),
	BAD("/a#b", 400, "invalid character in path"),
	/* UTF-8 after decoding */
	BAD("/%C0%AE%C0%AE/etc", 400, "invalid UTF-8 in path"),
	BAD("/%C0%AF", 400, "invalid UTF-8 in path"),
	BAD("/%C1%81", 400, "invalid UTF-8 in path"),
	BAD("/%E0%80%AE", 400, "invalid UTF-8 in path"),
	BAD("/%E0%9F%BF", 400, "invalid UTF-8 in path"),
	BAD("/%F0%80%80%AE", 400, "invalid UTF-8 in path"),
	BAD("/%F0%8F%BF%BF", 400, "invalid UTF-8 in path"),
	BAD("/%ED%A0%80", 400, "invalid UTF-8 in path"),
	BAD("/%F4%90%80%80", 400, "invalid UTF-8 in path"),
	BAD("/%F5%80%80%80", 400, "invalid UTF-8 in path"),
	BAD("/%FF", 400, "invalid UTF-8 in path"),
	BAD("/%80", 400, "invalid UTF-8 in path"),
	BAD("/%C3", 400, "invalid UTF-8 in path"),
	BAD("/%C3/%A9", 400, "invalid UTF-8 in path"),
	BAD("/%E2%82", 400, "invalid UTF-8 in path"),
	BAD("/%C3%C3", 400, "invalid UTF-8 in path"),
	/* dot files */
	OK("/.htaccess", ".htaccess", 0, 1),
	OK("/a/.git/config", "a/.git/config", 0, 1),
	OK("/.git/", ".git", 1, 1),
	OK("/%2egit", ".git", 0, 1),
	OK("/a/...", "a/...", 0, 1),
	OK("/a/.b/..", "a", 1, 0),
	OK("/.well-known/acme-challenge/tok", ".well-known/acme-challenge/tok", 0, 0),
	OK("/.well-known/", ".well-known", 1, 0),
	OK("/.well-known", ".well-known", 0, 0),
	OK("/%2Ewell-known/x", ".well-known/x", 0, 0),
	OK("/.well-known/.hidden", ".well-known/.hidden", 0, 1),
	OK("/a/.well-known/x", "a/.well-known/x", 0, 1),
	OK("/.Well-Known/x", ".Well-Known/x", 0, 1),
	OK("/.well-knownx", ".well-knownx", 0, 1),
	OK("/x/../.well-known/y", ".well-known/y", 0, 0),
	OK("/a.b/c.d", "a.b/c.d", 0, 0),
	/* not a path */
	BAD("", 400, "path does not start with /"),
	BAD("a/b", 400, "path does not start with /"),
	BAD("*", 400, "path does not start with /"),
};
/* clang-format on */

static void test_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *row = &rows[i];
		char out[256];
		struct http_path res;
		memset(out, 'Z', sizeof(out));
		int st = http_path_normalize(row->in, row->len, out, sizeof(out), &res);
		if (st != row->status)
			fail_msg("row at line %d: got %d (%s), want %d", row->line, st,
			         res.reason ? res.reason : "", row->status);
		if (st != 0) {
			if (strcmp(res.reason, row->out) != 0)
				fail_msg("row at line %d: reason \"%s\", want \"%s\"", row->line,
				         res.reason, row->out);
			continue;
		}
		if (res.len != strlen(row->out) || strcmp(out, row->out) != 0)
			fail_msg("row at line %d: got \"%s\" (%zu), want \"%s\"", row->line, out,
			         res.len, row->out);
		if (res.trailing_slash != row->trailing || res.hidden != row->hidden)
			fail_msg("row at line %d: trailing %d hidden %d, want %d %d", row->line,
			         res.trailing_slash, res.hidden, row->trailing, row->hidden);
	}
}

/* The output bound: exactly enough room (NUL included) works, one less is 414. */
static void test_bound(void **state)
{
	char out[8];
	struct http_path res;

	(void)state;
	assert_int_equal(http_path_normalize(S("/abc/def"), out, 8, &res), 0);
	assert_string_equal(out, "abc/def");
	assert_int_equal(http_path_normalize(S("/abc/defg"), out, 8, &res), 414);
	assert_string_equal(res.reason, "path too long");
	assert_int_equal(http_path_normalize(S("/abc/%41%42%43%44"), out, 8, &res), 414);
	/* popped segments free their room again */
	assert_int_equal(http_path_normalize(S("/abcdef/../ghijkl"), out, 8, &res), 0);
	assert_string_equal(out, "ghijkl");
	assert_int_equal(http_path_normalize(S("/"), out, 1, &res), 0);
	assert_string_equal(out, "");
	assert_int_equal(http_path_normalize(S("/a"), out, 1, &res), 414);
	assert_int_equal(http_path_normalize(S("/"), out, 0, &res), 414);
}

/* Invariants over many generated paths: no "." / ".." / empty segment survives. */
static void test_invariants(void **state)
{
	static const char *const parts[] = {"/", "a", ".", "..", "%2e", "%2E%2e", "b.c", "//",
	                                    ".x", "%41", "%C3%A9", ".well-known"};
	const size_t np = sizeof(parts) / sizeof(parts[0]);
	char in[128], out[128];
	struct http_path res;

	(void)state;
	for (unsigned seed = 0; seed < 200000; seed++) {
		unsigned x = seed;
		size_t n = (size_t)snprintf(in, sizeof(in), "/");
		for (int k = 0; k < 6; k++) {
			n += (size_t)snprintf(in + n, sizeof(in) - n, "%s%s", parts[x % np],
			                      (x / np) % 2 ? "/" : "");
			x = x / np / 2 + seed * 2654435761u % 7;
		}
		int st = http_path_normalize(in, n, out, sizeof(out), &res);
		if (st != 0) {
			assert_int_equal(st, 400);
			assert_string_equal(res.reason, "path above the root");
			continue;
		}
		assert_int_equal(strlen(out), res.len);
		if (res.len) {
			assert_true(out[0] != '/' && out[res.len - 1] != '/');
			assert_null(strstr(out, "//"));
		}
		for (char *s = out; *s;) {
			char *e = strchr(s, '/');
			size_t l = e ? (size_t)(e - s) : strlen(s);
			assert_false(l == 1 && s[0] == '.');
			assert_false(l == 2 && s[0] == '.' && s[1] == '.');
			s += l + (e != NULL);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_invariants),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
