/*
 * Unit tests for smtpd/aliases.c: the aliases file in Postfix virtual(5)
 * syntax (interface.md, "Sites"), one row per file with the entries it
 * gives or the line and message of its error.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "../../../smtpd/aliases.h"

/* Renders the parsed entries as "addr=t1,t2@line;..." for comparison. */
static void render(const struct smtp_aliases *a, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < a->n && o < len; i++) {
		o += (size_t)snprintf(buf + o, len - o, "%s%s=", i ? ";" : "", a->v[i].addr);
		for (size_t j = 0; j < a->v[i].ntargets && o < len; j++)
			o += (size_t)snprintf(buf + o, len - o, "%s%s", j ? "," : "", a->v[i].targets[j]);
		if (o < len)
			o += (size_t)snprintf(buf + o, len - o, "@%u", a->v[i].line);
	}
}

static void test_parse(void **state)
{
	static const struct {
		int line;
		const char *in;
		const char *want; /* rendered entries, or NULL */
		unsigned eline;   /* the error's line */
		const char *err;
	} rows[] = {
		{__LINE__, "", "", 0, NULL},
		{__LINE__, "# only a comment\n\n   \n", "", 0, NULL},
		{__LINE__, "info@shop.example alice@shop.example\n",
		 "info@shop.example=alice@shop.example@1", 0, NULL},
		/* several targets, commas and blanks, CRLF, case */
		{__LINE__, "Sales@Shop.Example  a@shop.example, B@shop.example,c@x.example\r\n",
		 "sales@shop.example=a@shop.example,b@shop.example,c@x.example@1", 0, NULL},
		/* a catch-all; a comment line between; no final newline */
		{__LINE__, "@shop.example alice@shop.example\n# x\ninfo@shop.example bob@shop.example",
		 "@shop.example=alice@shop.example@1;info@shop.example=bob@shop.example@3", 0, NULL},
		/* continuation lines (whitespace first) add targets */
		{__LINE__, "team@a.example x@a.example\n  y@a.example,\n\tz@a.example\n",
		 "team@a.example=x@a.example,y@a.example,z@a.example@1", 0, NULL},
		/* errors: the line and the reason */
		{__LINE__, "info@shop.example\n", NULL, 1, "'info@shop.example' has no target"},
		{__LINE__, "a@x.example b@x.example\nnot-an-address c@x.example\n", NULL, 2,
		 "'not-an-address' is not an address (local@domain, or @domain for a catch-all)"},
		{__LINE__, "a@x.example @x.example\n", NULL, 1,
		 "target '@x.example' is not a mailbox address (local@domain)"},
		{__LINE__, "a@x.example b@x..example\n", NULL, 1,
		 "target 'b@x..example' is not a mailbox address (local@domain)"},
		{__LINE__, "a@x.example ../b@x.example\n", NULL, 1,
		 "target '../b@x.example' is not a mailbox address (local@domain)"},
		{__LINE__, "a/b@x.example c@x.example\n", NULL, 1,
		 "'a/b@x.example' is not an address (local@domain, or @domain for a catch-all)"},
		{__LINE__, "a@-x.example c@x.example\n", NULL, 1,
		 "'a@-x.example' is not an address (local@domain, or @domain for a catch-all)"},
		{__LINE__, " a@x.example c@x.example\n", NULL, 1,
		 "a continuation line (it starts with whitespace) with no address before it"},
		{__LINE__, "a@x.example b@x.example\n\nA@X.example c@x.example\n", NULL, 3,
		 "'a@x.example' is already on line 1"},
		{__LINE__, "a@x.example b@x.example\x01\n", NULL, 1, "control character in line"},
		{__LINE__, ",\n", NULL, 1, "a line of commas without an address"},
		{__LINE__, "a@x.example b@x.example\n\nc@x.example", NULL, 3,
		 "'c@x.example' has no target"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct smtp_aliases a;
		unsigned line = 77;
		char err[256] = "", got[1024];
		int r = smtp_aliases_parse(rows[i].in, strlen(rows[i].in), &a, &line, err, sizeof(err));
		if (rows[i].want) {
			if (r != 0)
				fail_msg("row at line %d: %u: %s", rows[i].line, line, err);
			render(&a, got, sizeof(got));
			if (strcmp(got, rows[i].want) != 0)
				fail_msg("row at line %d: got '%s'", rows[i].line, got);
			smtp_aliases_free(&a);
		} else if (r != -1 || line != rows[i].eline || strcmp(err, rows[i].err) != 0) {
			fail_msg("row at line %d: got %d %u '%s'", rows[i].line, r, line, err);
		}
	}
}

static void test_find_and_nul(void **state)
{
	static const char text[] = "a@x.example b@x.example\n@x.example c@x.example\n";
	struct smtp_aliases a;
	unsigned line;
	char err[256];

	(void)state;
	assert_int_equal(smtp_aliases_parse(text, sizeof(text) - 1, &a, &line, err, sizeof(err)),
	                 0);
	assert_non_null(smtp_aliases_find(&a, "a@x.example"));
	assert_string_equal(smtp_aliases_find(&a, "@x.example")->targets[0], "c@x.example");
	assert_null(smtp_aliases_find(&a, "b@x.example"));
	smtp_aliases_free(&a);
	/* a NUL octet is an error on its line, not the end of the file */
	assert_int_equal(smtp_aliases_parse("a@x.example b@x.example\nc@x\0.example d@x.example\n",
	                                    48, &a, &line, err, sizeof(err)),
	                 -1);
	assert_int_equal(line, 2);
	assert_string_equal(err, "NUL byte in line");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_find_and_nul),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
