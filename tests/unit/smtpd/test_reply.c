/*
 * Unit tests for smtpd/reply.c: status validation, line building, text
 * sanitising, multi-line replies, the reply table, and the assertion that
 * refuses a reply whose status class disagrees with its code.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../../smtpd/reply.h"
#include "triad/limits.h"

static void test_valid(void **state)
{
	(void)state;
	/* clang-format off */
	static const struct {
		int line;
		int code;
		const char *status;
		bool ok;
	} rows[] = {
		{__LINE__, 250, "2.0.0", true},
		{__LINE__, 250, "2.1.5", true},
		{__LINE__, 451, "4.3.0", true},
		{__LINE__, 550, "5.1.1", true},
		{__LINE__, 538, "5.7.11", true},
		{__LINE__, 550, "5.999.999", true},
		{__LINE__, 354, NULL, true},
		{__LINE__, 334, NULL, true},
		{__LINE__, 250, NULL, false},        /* status is required */
		{__LINE__, 550, "4.1.1", false},     /* class mismatch */
		{__LINE__, 250, "5.0.0", false},
		{__LINE__, 451, "2.0.0", false},
		{__LINE__, 354, "3.0.0", false},     /* no class 3 */
		{__LINE__, 354, "2.0.0", false},
		{__LINE__, 150, "1.0.0", false},
		{__LINE__, 600, "6.0.0", false},
		{__LINE__, 199, "1.0.0", false},
		{__LINE__, 560, "5.0.0", false},     /* second digit 0..5 */
		{__LINE__, 250, "", false},
		{__LINE__, 250, "2", false},
		{__LINE__, 250, "2.", false},
		{__LINE__, 250, "2.0", false},
		{__LINE__, 250, "2.0.", false},
		{__LINE__, 250, "2.00.0", false},    /* leading zero */
		{__LINE__, 250, "2.0.01", false},
		{__LINE__, 250, "2.1000.0", false},  /* 1..3 digits */
		{__LINE__, 250, "2.0.0 ", false},
		{__LINE__, 250, "2.a.0", false},
		{__LINE__, 250, "2-0-0", false},
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		bool got = smtp_reply_valid(rows[i].code, rows[i].status);
		if (got != rows[i].ok)
			fail_msg("row at line %d: got %d", rows[i].line, got);
	}
}

static void test_build(void **state)
{
	(void)state;
	/* clang-format off */
	static const struct {
		int line;
		bool esc;
		int code;
		const char *status;
		const char *text;
		const char *want;
	} rows[] = {
		{__LINE__, true, 250, "2.0.0", "Ok", "250 2.0.0 Ok\r\n"},
		{__LINE__, false, 250, "2.0.0", "Ok", "250 Ok\r\n"},
		{__LINE__, true, 354, NULL, "Go ahead", "354 Go ahead\r\n"},
		{__LINE__, true, 550, "5.1.1", "a\r\nb", "550 5.1.1 ab\r\n"},     /* CR/LF stripped */
		{__LINE__, true, 550, "5.1.1", "\r\n250 ok", "550 5.1.1 250 ok\r\n"},
		{__LINE__, true, 550, "5.1.1", "x\ty\001\x7f\xc3\xa9", "550 5.1.1 x\ty????\r\n"},
		{__LINE__, true, 250, "2.0.0", "", "250 2.0.0 \r\n"},
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char buf[600];
		int n = smtp_reply(buf, sizeof buf, rows[i].esc, rows[i].code, rows[i].status, "%s",
		                   rows[i].text);
		if (n < 0 || (size_t)n != strlen(rows[i].want) || strcmp(buf, rows[i].want) != 0)
			fail_msg("row at line %d: got %d \"%s\"", rows[i].line, n,
			         n < 0 ? "" : buf);
	}
}

static void test_format_and_cap(void **state)
{
	(void)state;
	char buf[64];

	assert_int_equal(smtp_reply(buf, sizeof buf, true, 250, "2.0.0", "Ok: %d octets", 42), 25);
	assert_string_equal(buf, "250 2.0.0 Ok: 42 octets\r\n");
	/* exactly fits: 14 bytes + NUL */
	assert_int_equal(smtp_reply(buf, 15, true, 250, "2.0.0", "Ok"), 14);
	assert_int_equal(smtp_reply(buf, 14, true, 250, "2.0.0", "Ok"), -1);
	assert_int_equal(smtp_reply(buf, 0, true, 250, "2.0.0", "Ok"), -1);
}

static void test_long_text_cut(void **state)
{
	(void)state;
	char text[2000], buf[2000];

	memset(text, 'x', sizeof text - 1);
	text[sizeof text - 1] = '\0';
	int n = smtp_reply(buf, sizeof buf, true, 550, "5.0.0", "%s", text);
	assert_int_equal(n, SMTP_REPLY_LINE_MAX);
	assert_memory_equal(buf + n - 2, "\r\n", 2);
	assert_memory_equal(buf, "550 5.0.0 xxx", 13);
}

static void test_lines(void **state)
{
	(void)state;
	/* clang-format off */
	static const char *const ehlo[] = {"mx.example.org", "PIPELINING", "SIZE 26214400",
	                                   "ENHANCEDSTATUSCODES"};
	char buf[256];

	int n = smtp_reply_lines(buf, sizeof buf, false, 250, "2.0.0", ehlo, 4);
	assert_int_equal(n, (int)strlen(buf));
	assert_string_equal(buf, "250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 26214400\r\n"
	                         "250 ENHANCEDSTATUSCODES\r\n");

	/* clang-format off */
	static const char *const two[] = {"first\r\n", "second"};
	n = smtp_reply_lines(buf, sizeof buf, true, 451, "4.3.0", two, 2);
	assert_string_equal(buf, "451-4.3.0 first\r\n451 4.3.0 second\r\n");

	n = smtp_reply_lines(buf, sizeof buf, true, 250, "2.0.0", two, 1);
	assert_string_equal(buf, "250 2.0.0 first\r\n");
	assert_int_equal(smtp_reply_lines(buf, sizeof buf, true, 250, "2.0.0", two, 0), -1);
	assert_int_equal(smtp_reply_lines(buf, 20, true, 451, "4.3.0", two, 2), -1);
}

static void test_table(void **state)
{
	(void)state;
	char buf[SMTP_REPLY_LINE_MAX + 1];

	for (int id = 0; id < SMTP_R__COUNT; id++) {
		const struct smtp_reply_def *d = smtp_reply_def(id);
		if (d == NULL || d->text == NULL || d->code == 0)
			fail_msg("reply id %d has no entry", id);
		if (!smtp_reply_valid(d->code, d->status))
			fail_msg("reply id %d: %d %s invalid", id, d->code, d->status);
		int n = smtp_reply_named(buf, sizeof buf, true, id);
		if (n <= 0 || buf[0] != (char)('0' + d->code / 100) || buf[n - 1] != '\n')
			fail_msg("reply id %d does not build", id);
	}
	assert_null(smtp_reply_def(SMTP_R__COUNT));
	assert_int_equal(smtp_reply_named(buf, sizeof buf, true, SMTP_R__COUNT), -1);

	smtp_reply_named(buf, sizeof buf, true, SMTP_R_NO_MAILBOX);
	assert_string_equal(buf, "550 5.1.1 Mailbox unavailable\r\n");
	smtp_reply_named(buf, sizeof buf, true, SMTP_R_DATA_GO);
	assert_string_equal(buf, "354 End data with <CR><LF>.<CR><LF>\r\n");
	smtp_reply_namedf(buf, sizeof buf, true, SMTP_R_QUEUED, "Ok: queued as %s", "ABC");
	assert_string_equal(buf, "250 2.0.0 Ok: queued as ABC\r\n");
	smtp_reply_namedf(buf, sizeof buf, false, SMTP_R_BDAT_OK, "%u octets received", 12u);
	assert_string_equal(buf, "250 12 octets received\r\n");
}

/* The builder refuses (asserts) a mismatched pair: run it in a child. */
static int child_status(int code, const char *status)
{
	pid_t pid = fork();
	if (pid == 0) {
		char buf[128];
		/* Keep the expected abort quiet. */
		if (freopen("/dev/null", "w", stderr) == NULL)
			_exit(3);
		int r = smtp_reply(buf, sizeof buf, true, code, status, "x");
		_exit(r < 0 ? 2 : 0);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	return st;
}

static void test_mismatch_asserts(void **state)
{
	(void)state;
	int st = child_status(550, "4.1.1");
#ifdef NDEBUG
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 2);
#else
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
#endif
	st = child_status(250, NULL);
	assert_true((WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT) ||
	            (WIFEXITED(st) && WEXITSTATUS(st) == 2));
	st = child_status(250, "2.0.0");
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void test_errno_map(void **state)
{
	(void)state;
	static const struct {
		int line, err;
		enum smtp_rid want;
	} rows[] = {
	    {__LINE__, ENOSPC, SMTP_R_NO_SPACE},   {__LINE__, -ENOSPC, SMTP_R_NO_SPACE},
	    {__LINE__, EDQUOT, SMTP_R_NO_SPACE},   {__LINE__, -EDQUOT, SMTP_R_NO_SPACE},
	    {__LINE__, EIO, SMTP_R_LOCAL_ERROR},   {__LINE__, -EACCES, SMTP_R_LOCAL_ERROR},
	    {__LINE__, EEXIST, SMTP_R_LOCAL_ERROR}, {__LINE__, 0, SMTP_R_LOCAL_ERROR},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		if (smtp_reply_for_errno(rows[i].err) != rows[i].want)
			fail_msg("row at line %d", rows[i].line);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),       cmocka_unit_test(test_build),
		cmocka_unit_test(test_format_and_cap), cmocka_unit_test(test_long_text_cut),
		cmocka_unit_test(test_lines),       cmocka_unit_test(test_table),
		cmocka_unit_test(test_mismatch_asserts), cmocka_unit_test(test_errno_map),
	    /* clang-format on */
	};
	/* clang-format on */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
