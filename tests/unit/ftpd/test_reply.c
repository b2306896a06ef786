/*
 * ftpd reply unit tests: single and multi-line replies (RFC 959 §4.2),
 * sanitising and cutting, and the errno mapping. Rows carry __LINE__.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "../../../ftpd/reply.h"

#define S(lit) lit, sizeof(lit) - 1

struct line_row {
	int line;
	int code;
	enum ftp_reply_part part;
	const char *text;
	size_t len;
	size_t size;
	const char *want; /* "" : returns 0 */
};

/* clang-format off */
static const struct line_row line_rows[] = {
	{__LINE__, 200, FTP_REPLY_ONLY, S("Command okay"), 64, "200 Command okay\r\n"},
	{__LINE__, 211, FTP_REPLY_FIRST, S("Features:"), 64, "211-Features:\r\n"},
	{__LINE__, 211, FTP_REPLY_MORE, S(" UTF8"), 64, " UTF8\r\n"},
	{__LINE__, 211, FTP_REPLY_MORE, S("plain"), 64, "plain\r\n"},
	{__LINE__, 211, FTP_REPLY_MORE, S("211 looks like the end"), 64, " 211 looks like the end\r\n"},
	{__LINE__, 211, FTP_REPLY_MORE, S("5 files"), 64, " 5 files\r\n"},
	{__LINE__, 211, FTP_REPLY_MORE, S(""), 64, "\r\n"},
	{__LINE__, 211, FTP_REPLY_LAST, S("End"), 64, "211 End\r\n"},
	{__LINE__, 220, FTP_REPLY_ONLY, S(""), 64, "220 \r\n"},
	{__LINE__, 599, FTP_REPLY_ONLY, S("x"), 64, "599 x\r\n"},
	{__LINE__, 100, FTP_REPLY_ONLY, S("x"), 64, "100 x\r\n"},
	/* CR, LF and NUL cannot split a reply */
	{__LINE__, 550, FTP_REPLY_ONLY, S("a\r\n230 fake\nb\0c"), 64, "550 a  230 fake b c\r\n"},
	{__LINE__, 550, FTP_REPLY_MORE, S("\n1"), 64, " 1\r\n"},
	/* cut to fit: "550 " + text + CRLF + NUL in SIZE bytes */
	{__LINE__, 550, FTP_REPLY_ONLY, S("abcdef"), 10, "550 abc\r\n"},
	{__LINE__, 550, FTP_REPLY_ONLY, S("abcdef"), 7, "550 \r\n"},
	{__LINE__, 550, FTP_REPLY_MORE, S("9abcdef"), 7, " 9ab\r\n"},
	/* ... never inside a UTF-8 character */
	{__LINE__, 550, FTP_REPLY_ONLY, S("ab\xc3\xa9"), 10, "550 ab\r\n"},
	{__LINE__, 550, FTP_REPLY_ONLY, S("a\xe2\x82\xac"), 10, "550 a\r\n"},
	{__LINE__, 550, FTP_REPLY_ONLY, S("a\xe2\x82\xac"), 11, "550 a\xe2\x82\xac\r\n"},
	{__LINE__, 550, FTP_REPLY_ONLY, S("a\xe2\x82\xac" "b"), 11, "550 a\xe2\x82\xac\r\n"},
	{__LINE__, 550, FTP_REPLY_ONLY, S("ab\xe2\x82\xac"), 11, "550 ab\r\n"},
	{__LINE__, 550, FTP_REPLY_ONLY, S("\xf0\x9f\x98\x80z"), 10, "550 \r\n"},
	{__LINE__, 550, FTP_REPLY_ONLY, S("\xf0\x9f\x98\x80z"), 11, "550 \xf0\x9f\x98\x80\r\n"},
	/* not a reply */
	{__LINE__, 550, FTP_REPLY_ONLY, S("x"), 6, ""},
	{__LINE__, 99, FTP_REPLY_ONLY, S("x"), 64, ""},
	{__LINE__, 600, FTP_REPLY_ONLY, S("x"), 64, ""},
	{__LINE__, -200, FTP_REPLY_ONLY, S("x"), 64, ""},
};
/* clang-format on */

static void test_line_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(line_rows) / sizeof(line_rows[0]); i++) {
		const struct line_row *r = &line_rows[i];
		char buf[80];
		memset(buf, '#', sizeof(buf));
		size_t n = ftp_reply_line(buf, r->size, r->code, r->part, r->text, r->len);
		if (n != strlen(r->want) || (n && memcmp(buf, r->want, n + 1) != 0))
			fail_msg("row at line %d: %zu \"%.*s\", want \"%s\"", r->line, n, (int)n,
			         buf, r->want);
		if (buf[r->size] != '#')
			fail_msg("row at line %d: wrote past SIZE", r->line);
	}
}

struct multi_row {
	int line;
	int code;
	const char *text;
	size_t size;
	ssize_t rc;
	const char *want;
};

/* clang-format off */
static const struct multi_row multi_rows[] = {
	{__LINE__, 221, "Goodbye", 128, 0, "221 Goodbye\r\n"},
	{__LINE__, 211, "Features:\n UTF8\n MDTM\nEnd", 128, 0,
	 "211-Features:\r\n UTF8\r\n MDTM\r\n211 End\r\n"},
	{__LINE__, 214, "Help:\r\n1 2 3\r\n214 x\r\nOK", 128, 0,
	 "214-Help:\r\n 1 2 3\r\n 214 x\r\n214 OK\r\n"},
	{__LINE__, 230, "a\nb", 128, 0, "230-a\r\n230 b\r\n"},
	{__LINE__, 230, "a\n", 128, 0, "230-a\r\n230 \r\n"},
	{__LINE__, 230, "\n\n", 128, 0, "230-\r\n\r\n230 \r\n"},
	{__LINE__, 230, "", 128, 0, "230 \r\n"},
	/* a multi-line reply is never cut */
	{__LINE__, 211, "Features:\n UTF8\nEnd", 26, -ENOBUFS, NULL},
	{__LINE__, 211, "Features:\n UTF8\nEnd", 32, 0, "211-Features:\r\n UTF8\r\n211 End\r\n"},
	{__LINE__, 211, "Features:\n UTF8\nEnd", 31, -ENOBUFS, NULL},
	{__LINE__, 1000, "x", 128, -EINVAL, NULL},
};
/* clang-format on */

static void test_multi_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(multi_rows) / sizeof(multi_rows[0]); i++) {
		const struct multi_row *r = &multi_rows[i];
		char buf[160];
		memset(buf, '#', sizeof(buf));
		ssize_t rc = ftp_reply_multi(buf, r->size, r->code, r->text, strlen(r->text));
		if (r->rc) {
			if (rc != r->rc)
				fail_msg("row at line %d: rc %zd, want %zd", r->line, rc, r->rc);
		} else if (rc != (ssize_t)strlen(r->want) || memcmp(buf, r->want, (size_t)rc + 1)) {
			fail_msg("row at line %d: %zd \"%s\", want \"%s\"", r->line, rc,
			         rc > 0 ? buf : "", r->want);
		}
		if (buf[r->size] != '#')
			fail_msg("row at line %d: wrote past SIZE", r->line);
	}
}

struct errno_row {
	int line;
	int err;
	int code;
	const char *text;
};

/* clang-format off */
static const struct errno_row errno_rows[] = {
	{__LINE__, ENOENT, 550, "No such file or directory"},
	{__LINE__, -ENOENT, 550, "No such file or directory"},
	{__LINE__, EACCES, 550, "Permission denied"},
	{__LINE__, -EPERM, 550, "Permission denied"},
	{__LINE__, -EXDEV, 550, "Permission denied"},
	{__LINE__, EROFS, 550, "Permission denied"},
	{__LINE__, -ELOOP, 550, "Too many levels of symbolic links"},
	{__LINE__, EISDIR, 550, "Is a directory"},
	{__LINE__, -ENOTDIR, 550, "Not a directory"},
	{__LINE__, EEXIST, 550, "File exists"},
	{__LINE__, -ENOTEMPTY, 550, "Directory not empty"},
	{__LINE__, ENAMETOOLONG, 553, "File name not allowed"},
	{__LINE__, -EINVAL, 553, "File name not allowed"},
	{__LINE__, ENOSPC, 452, "Insufficient storage space"},
	{__LINE__, -EDQUOT, 552, "Exceeded storage allocation"},
	{__LINE__, EFBIG, 552, "Exceeded storage allocation"},
	{__LINE__, EBUSY, 450, "File busy"},
	{__LINE__, -ETXTBSY, 450, "File busy"},
	{__LINE__, EAGAIN, 450, "File busy"},
	{__LINE__, EIO, 451, "Local error in processing"},
	{__LINE__, -ENOMEM, 451, "Local error in processing"},
	{__LINE__, 0, 451, "Local error in processing"},
	{__LINE__, 99999, 451, "Local error in processing"},
};
/* clang-format on */

static void test_errno_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(errno_rows) / sizeof(errno_rows[0]); i++) {
		const struct errno_row *r = &errno_rows[i];
		const char *text = NULL;
		int code = ftp_reply_errno(r->err, &text);
		if (code != r->code || !text || strcmp(text, r->text) != 0)
			fail_msg("row at line %d: %d \"%s\", want %d \"%s\"", r->line, code,
			         text ? text : "(null)", r->code, r->text);
	}
}

static void test_reply_text(void **state)
{
	(void)state;
	assert_string_equal(ftp_reply_text(501), "Syntax error in parameters or arguments");
	assert_string_equal(ftp_reply_text(504), "Command not implemented for that parameter");
	assert_string_equal(ftp_reply_text(522), "Network protocol not supported, use (1,2)");
	assert_string_equal(ftp_reply_text(536), "Requested PROT level not supported by mechanism");
	assert_string_equal(ftp_reply_text(521),
	                    "Data connection cannot be opened with this PROT setting");
	assert_string_equal(ftp_reply_text(299), "");
	/* every text fits a reply line whole */
	for (int c = 100; c < 600; c++) {
		char buf[FTP_REPLY_LINE_MAX];
		const char *t = ftp_reply_text(c);
		assert_int_equal(ftp_reply_line(buf, sizeof(buf), c, FTP_REPLY_ONLY, t, strlen(t)),
		                 strlen(t) + 6);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_line_rows),
	    cmocka_unit_test(test_multi_rows),
	    cmocka_unit_test(test_errno_rows),
	    cmocka_unit_test(test_reply_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
