/*
 * common/date.c unit tests, part two: RFC 3659 §2.3 time-val parsing and
 * formatting, and the calendar arithmetic (date_utc with its weekday,
 * date_from_utc back) checked against the C library's gmtime_r over a
 * spread of times (pre-1970, leap days, 2038, far future). Rows carry
 * __LINE__.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <time.h>

#include "triad/date.h"

struct fmt_row {
	int line;
	long long t;
	const char *want; /* NULL: -ERANGE */
};

/* clang-format off */
static const struct fmt_row fmt_rows[] = {
	{__LINE__, 0, "19700101000000"},
	{__LINE__, -1, "19691231235959"},
	{__LINE__, 951782400, "20000229000000"},
	{__LINE__, 1709210096, "20240229123456"},
	{__LINE__, 2147483647, "20380119031407"},
	{__LINE__, 2147483648ll, "20380119031408"},
	{__LINE__, 253402300799ll, "99991231235959"},
	{__LINE__, 253402300800ll, NULL},           /* year 10000 */
	{__LINE__, -62167219200ll, "00000101000000"}, /* year 0 */
	{__LINE__, -62167219201ll, NULL},           /* year -1 */
	{__LINE__, -2208988800ll, "19000101000000"},
};
/* clang-format on */

static void test_format_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(fmt_rows) / sizeof(fmt_rows[0]); i++) {
		const struct fmt_row *r = &fmt_rows[i];
		char out[DATE_TIMEVAL_LEN + 1];
		int rc = date_timeval_format((time_t)r->t, out);
		if (!r->want) {
			if (rc != -ERANGE)
				fail_msg("row at line %d: rc %d, want -ERANGE", r->line, rc);
			continue;
		}
		if (rc != 0 || strcmp(out, r->want) != 0)
			fail_msg("row at line %d: rc %d \"%s\", want \"%s\"", r->line, rc, out,
			         r->want);
		/* and back */
		struct timespec ts;
		if (date_timeval_parse(out, strlen(out), &ts) != 0 || (long long)ts.tv_sec != r->t)
			fail_msg("row at line %d: does not parse back", r->line);
	}
}

struct parse_row {
	int line;
	const char *in;
	int rc;
	long long sec;
	long nsec;
};

/* clang-format off */
static const struct parse_row parse_rows[] = {
	{__LINE__, "20240229123456", 0, 1709210096, 0},
	{__LINE__, "20240229123456.1", 0, 1709210096, 100000000},
	{__LINE__, "20240229123456.000000001", 0, 1709210096, 1},
	{__LINE__, "20240229123456.999999999", 0, 1709210096, 999999999},
	{__LINE__, "20161231235960", 0, 1483228800, 0},  /* a leap second rolls over */
	{__LINE__, "20000229000000", 0, 951782400, 0},   /* 2000 is a leap year */
	{__LINE__, "19000228000000", 0, -2203977600ll, 0},
	{__LINE__, "19000229000000", -EINVAL, 0, 0},     /* 1900 is not */
	{__LINE__, "20240229123456.", -EINVAL, 0, 0},
	{__LINE__, "20240229123456.1234567890", -EINVAL, 0, 0},
	{__LINE__, "20240229123456,5", -EINVAL, 0, 0},
	{__LINE__, "20240229123456.5x", -EINVAL, 0, 0},
	{__LINE__, "2024022912345", -EINVAL, 0, 0},
	{__LINE__, "2024022912345x", -EINVAL, 0, 0},
	{__LINE__, "20240229 23456", -EINVAL, 0, 0},
	{__LINE__, "-2024022912345", -EINVAL, 0, 0},
	{__LINE__, "20241231240000", -EINVAL, 0, 0},
	{__LINE__, "20241231236000", -EINVAL, 0, 0},
	{__LINE__, "20241231235961", -EINVAL, 0, 0},
	{__LINE__, "20240631000000", -EINVAL, 0, 0},
	{__LINE__, "20240900000000", -EINVAL, 0, 0},
	{__LINE__, "", -EINVAL, 0, 0},
};
/* clang-format on */

static void test_parse_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(parse_rows) / sizeof(parse_rows[0]); i++) {
		const struct parse_row *r = &parse_rows[i];
		struct timespec ts = {0, 0};
		int rc = date_timeval_parse(r->in, strlen(r->in), &ts);
		if (rc != r->rc)
			fail_msg("row at line %d: rc %d, want %d", r->line, rc, r->rc);
		if (rc == 0 && ((long long)ts.tv_sec != r->sec || ts.tv_nsec != r->nsec))
			fail_msg("row at line %d: %lld.%09ld, want %lld.%09ld", r->line,
			         (long long)ts.tv_sec, ts.tv_nsec, r->sec, r->nsec);
	}
}

/* The arithmetic agrees with gmtime_r everywhere we can ask it. */
static void test_against_gmtime(void **state)
{
	(void)state;
	uint64_t x = 88172645463325252ull; /* xorshift64 */
	for (int i = 0; i < 200000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* about +-3000 years around 1970, and a dense band near now */
		long long t = (long long)(x % 190000000000ull) - 95000000000ll;
		if (i % 2)
			t = (long long)(x % 4000000000ull);
		struct tm g;
		time_t tt = (time_t)t;
		assert_non_null(gmtime_r(&tt, &g));
		struct date_tm m;
		date_utc(tt, &m);
		if (m.year != g.tm_year + 1900LL || m.mon != g.tm_mon + 1 || m.mday != g.tm_mday ||
		    m.hour != g.tm_hour || m.min != g.tm_min || m.sec != g.tm_sec ||
		    m.wday != g.tm_wday)
			fail_msg("t=%lld: %lld-%d-%d %d:%d:%d wday %d", t, (long long)m.year, m.mon,
			         m.mday, m.hour, m.min, m.sec, m.wday);
		int64_t back;
		assert_true(date_from_utc(&m, &back));
		assert_true(back == t);
		char out[DATE_TIMEVAL_LEN + 1];
		struct timespec ts;
		if (date_timeval_format(tt, out) == 0) {
			assert_int_equal(date_timeval_parse(out, DATE_TIMEVAL_LEN, &ts), 0);
			assert_true((long long)ts.tv_sec == t);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_format_rows),
	    cmocka_unit_test(test_parse_rows),
	    cmocka_unit_test(test_against_gmtime),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
