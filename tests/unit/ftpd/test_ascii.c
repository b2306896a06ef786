/*
 * ftpd TYPE A unit tests (RFC 959 §3.1.1.1): both converters over every
 * split point of their input, random text, and the output bounds. Rows
 * carry __LINE__.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "../../../ftpd/ascii.h"

#define S(lit) lit, sizeof(lit) - 1

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
	    cmocka_unit_test(test_ascii_rows),
	    cmocka_unit_test(test_ascii_random),
	    cmocka_unit_test(test_ascii_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
