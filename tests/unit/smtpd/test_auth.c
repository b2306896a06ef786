/*
 * Unit tests for smtpd/auth.c: the strict base64 decoder used for AUTH PLAIN
 * and AUTH LOGIN responses (RFC 4648 §4, RFC 4954 §4).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../../smtpd/session.h"

static void test_b64(void **state)
{
	(void)state;
	/* clang-format off */
	static const struct {
		int line;
		const char *in;
		int want;       /* decoded length, -1: refused */
		const char *out;
	} rows[] = {
		{__LINE__, "", 0, ""},
		{__LINE__, "YQ==", 1, "a"},
		{__LINE__, "YWI=", 2, "ab"},
		{__LINE__, "YWJj", 3, "abc"},
		{__LINE__, "AGFsaWNlAHNlY3JldA==", 13, "\0alice\0secret"},
		{__LINE__, "VXNlcm5hbWU6", 9, "Username:"},
		{__LINE__, "YQ", -1, NULL},          /* padding required */
		{__LINE__, "YQ=", -1, NULL},
		{__LINE__, "Y===", -1, NULL},        /* at most two pad characters */
		{__LINE__, "YQ==YQ==", -1, NULL},    /* padding only at the very end */
		{__LINE__, "YQ=a", -1, NULL},
		{__LINE__, "YW J", -1, NULL},        /* no spaces */
		{__LINE__, "YWJ\n", -1, NULL},
		{__LINE__, "YW-j", -1, NULL},        /* not the URL alphabet */
		{__LINE__, "*", -1, NULL},
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char out[64];
		int n = smtp_auth_b64_decode(rows[i].in, strlen(rows[i].in), out, sizeof(out));
		if (n != rows[i].want)
			fail_msg("row at line %d: got %d, want %d", rows[i].line, n, rows[i].want);
		if (n > 0 && memcmp(out, rows[i].out, (size_t)n) != 0)
			fail_msg("row at line %d: wrong bytes", rows[i].line);
	}
}

static void test_b64_capacity(void **state)
{
	(void)state;
	char out[3];
	assert_int_equal(smtp_auth_b64_decode("YWJj", 4, out, 3), 3);
	assert_int_equal(smtp_auth_b64_decode("YWJjZA==", 8, out, 3), -1);
	/* an embedded NUL in the input is not a base64 character */
	assert_int_equal(smtp_auth_b64_decode("YW\0j", 4, out, 3), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_b64),
	    cmocka_unit_test(test_b64_capacity),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
