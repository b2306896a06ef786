/*
 * ftpd reply unit tests: single and multi-line replies (RFC 959 §4.2),
 * sanitising and cutting, the errno mapping, and the TYPE A converters over
 * every split point of their input. Rows carry __LINE__.
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

/* ---- TYPE A ------------------------------------------------------------- */

struct ascii_row {
	int line;
	const char *in;
	size_t len;
	const char *crlf; /* to_crlf output */
	size_t crlflen;
	const char *lf; /* to_lf output, end included */
	size_t lflen;
};

/* clang-format off */
static const struct ascii_row ascii_rows[] = {
	{__LINE__, S(""), S(""), S("")},
	{__LINE__, S("abc"), S("abc"), S("abc")},
	{__LINE__, S("a\nb\n"), S("a\r\nb\r\n"), S("a\nb\n")},
	{__LINE__, S("\n\n"), S("\r\n\r\n"), S("\n\n")},
	{__LINE__, S("a\r\nb"), S("a\r\nb"), S("a\nb")},
	{__LINE__, S("\r\n\r\n"), S("\r\n\r\n"), S("\n\n")},
	{__LINE__, S("a\rb"), S("a\rb"), S("a\rb")},
	{__LINE__, S("a\r"), S("a\r"), S("a\r")},
	{__LINE__, S("\r"), S("\r"), S("\r")},
	{__LINE__, S("\r\r\n"), S("\r\r\n"), S("\r\n")},
	{__LINE__, S("\r\r\r"), S("\r\r\r"), S("\r\r\r")},
	{__LINE__, S("\n\r"), S("\r\n\r"), S("\n\r")},
	{__LINE__, S("\r\n\n"), S("\r\n\r\n"), S("\n\n")},
	{__LINE__, S("x\0\n\0"), S("x\0\r\n\0"), S("x\0\n\0")},
	{__LINE__, S("\xff\r\n\xfe"), S("\xff\r\n\xfe"), S("\xff\n\xfe")},
};
/* clang-format on */

/* Runs a converter over IN cut at the split points A <= B. */
static size_t run_crlf(const char *in, size_t len, size_t a, size_t b, char *out)
{
	struct ftp_ascii st = {false};
	size_t n = ftp_ascii_to_crlf(&st, in, a, out);
	n += ftp_ascii_to_crlf(&st, in + a, b - a, out + n);
	n += ftp_ascii_to_crlf(&st, in + b, len - b, out + n);
	return n;
}

static size_t run_lf(const char *in, size_t len, size_t a, size_t b, char *out)
{
	struct ftp_ascii st = {false};
	size_t n = ftp_ascii_to_lf(&st, in, a, out);
	n += ftp_ascii_to_lf(&st, in + a, b - a, out + n);
	n += ftp_ascii_to_lf(&st, in + b, len - b, out + n);
	n += ftp_ascii_to_lf_end(&st, out + n);
	assert_false(st.cr);
	return n;
}

static void test_ascii_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(ascii_rows) / sizeof(ascii_rows[0]); i++) {
		const struct ascii_row *r = &ascii_rows[i];
		for (size_t a = 0; a <= r->len; a++) {
			for (size_t b = a; b <= r->len; b++) {
				char out[64];
				size_t n = run_crlf(r->in, r->len, a, b, out);
				if (n != r->crlflen || memcmp(out, r->crlf, n) != 0)
					fail_msg("row at line %d: to_crlf split %zu,%zu", r->line,
					         a, b);
				n = run_lf(r->in, r->len, a, b, out);
				if (n != r->lflen || memcmp(out, r->lf, n) != 0)
					fail_msg("row at line %d: to_lf split %zu,%zu", r->line, a,
					         b);
			}
		}
	}
}

/* Random text over an alphabet heavy in CR and LF: every split point of
 * every piece gives the one-shot result, and the output bounds hold. */
static void test_ascii_random(void **state)
{
	(void)state;
	static const char alphabet[] = "\r\n\r\nab";
	uint32_t x = 123456789u;
	for (int iter = 0; iter < 2000; iter++) {
		char in[48], whole[96], out[96 + 1];
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		size_t len = x % sizeof(in);
		for (size_t i = 0; i < len; i++) {
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			in[i] = alphabet[x % 6];
		}
		struct ftp_ascii st = {false};
		size_t wn = ftp_ascii_to_crlf(&st, in, len, whole);
		assert_true(wn <= 2 * len);
		for (size_t a = 0; a <= len; a++) {
			size_t n = run_crlf(in, len, a, len, out);
			assert_int_equal(n, wn);
			assert_memory_equal(out, whole, n);
		}
		/* to_lf undoes to_crlf exactly when the input had no CR */
		st.cr = false;
		size_t ln = ftp_ascii_to_lf(&st, in, len, whole);
		ln += ftp_ascii_to_lf_end(&st, whole + ln);
		assert_true(ln <= len);
		for (size_t a = 0; a <= len; a++) {
			for (size_t b = a; b <= len; b++) {
				size_t n = run_lf(in, len, a, b, out);
				assert_int_equal(n, ln);
				assert_memory_equal(out, whole, n);
			}
		}
		if (!memchr(in, '\r', len)) {
			char net[96];
			st.cr = false;
			size_t nn = ftp_ascii_to_crlf(&st, in, len, net);
			st.cr = false;
			size_t back = ftp_ascii_to_lf(&st, net, nn, out);
			back += ftp_ascii_to_lf_end(&st, out + back);
			assert_int_equal(back, len);
			assert_memory_equal(out, in, len);
		}
	}
}

/* A chunk ending in CR writes nothing for it yet: LEN + 1 is the bound. */
static void test_ascii_bounds(void **state)
{
	(void)state;
	struct ftp_ascii st = {false};
	char out[8];
	assert_int_equal(ftp_ascii_to_lf(&st, "\r", 1, out), 0);
	assert_true(st.cr);
	assert_int_equal(ftp_ascii_to_lf(&st, "x", 1, out), 2);
	assert_memory_equal(out, "\rx", 2);
	assert_int_equal(ftp_ascii_to_lf(&st, "\r", 1, out), 0);
	assert_int_equal(ftp_ascii_to_lf(&st, "", 0, out), 0);
	assert_true(st.cr);
	assert_int_equal(ftp_ascii_to_lf(&st, "\n", 1, out), 1);
	assert_memory_equal(out, "\n", 1);
	assert_int_equal(ftp_ascii_to_lf_end(&st, out), 0);

	st.cr = false;
	assert_int_equal(ftp_ascii_to_crlf(&st, "\r", 1, out), 1);
	assert_int_equal(ftp_ascii_to_crlf(&st, "\n", 1, out), 1);
	assert_memory_equal(out, "\n", 1);
	assert_int_equal(ftp_ascii_to_crlf(&st, "\n", 1, out), 2);
	assert_memory_equal(out, "\r\n", 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_line_rows),    cmocka_unit_test(test_multi_rows),
	    cmocka_unit_test(test_errno_rows),   cmocka_unit_test(test_reply_text),
	    cmocka_unit_test(test_ascii_rows),   cmocka_unit_test(test_ascii_random),
	    cmocka_unit_test(test_ascii_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
