/*
 * Unit tests for httpd/cachectl.c: the cache_control rules of [httpd].
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "triad/cachectl.h"

struct row {
	int line;
	const char *rules;
	int ok;
	const char *path;
	const char *want; /* NULL: no header */
};

#define R(rules, ok, path, want) {__LINE__, rules, ok, path, want}

/* clang-format off */
static const struct row rows[] = {
	R(NULL, 1, "/a.html", NULL),
	R("", 1, "/a.html", NULL),
	R("*.html=no-cache", 1, "/a.html", "no-cache"),
	R("*.html=no-cache", 1, "/d/e/a.html", "no-cache"),
	R("*.html=no-cache", 1, "/a.htm", NULL),
	R("*.css=public,max-age=31536000,immutable", 1, "/s/x.css",
	  "public,max-age=31536000,immutable"),
	R("/assets/*=max-age=60 *=no-store", 1, "/assets/a/b.js", "max-age=60"),
	R("/assets/*=max-age=60 *=no-store", 1, "/index.html", "no-store"),
	R("/favicon.ico=max-age=86400\t*.ico=no-cache", 1, "/favicon.ico", "max-age=86400"),
	R("/favicon.ico=max-age=86400\t*.ico=no-cache", 1, "/x/favicon.ico", "no-cache"),
	R("  *.js=a=b  ", 1, "/x.js", "a=b"),
	R("*.html", 0, "/", NULL),
	R("=no-cache", 0, "/", NULL),
	R("*.html=", 0, "/", NULL),
	R("*.html=\"x\"", 0, "/", NULL),
	R("*.html=a\\b", 0, "/", NULL),
	R("*.html=caf\xc3\xa9", 0, "/", NULL),
};
/* clang-format on */

static void test_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct http_cachectl cc;
		char err[160] = "";
		int rc = http_cachectl_parse(r->rules, &cc, err, sizeof(err));
		if ((rc == 0) != (bool)r->ok)
			fail_msg("line %d: parse gave %d (%s)", r->line, rc, err);
		if (rc < 0) {
			if (!err[0])
				fail_msg("line %d: no message", r->line);
			continue;
		}
		const char *got = http_cachectl_match(&cc, r->path);
		if ((got == NULL) != (r->want == NULL) || (got && strcmp(got, r->want) != 0))
			fail_msg("line %d: %s -> %s", r->line, r->path, got ? got : "(none)");
		http_cachectl_free(&cc);
	}
}

static void test_too_many(void **state)
{
	(void)state;
	char buf[HTTP_CACHECTL_RULES_MAX * 8 + 16] = "";
	for (int i = 0; i <= HTTP_CACHECTL_RULES_MAX; i++)
		strcat(buf, "*.a=b ");
	struct http_cachectl cc;
	char err[160];
	assert_int_equal(http_cachectl_parse(buf, &cc, err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_too_many),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
