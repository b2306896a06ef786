/*
 * common/date.c unit tests, part one: HTTP-date (RFC 9110 §5.6.7) parsing
 * (three formats) and IMF-fixdate formatting. Part two (time-val and the
 * calendar against gmtime_r) is test_date_timeval.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "triad/date.h"

#define NOW2024 1717200000 /* 2024-06-01 */
#define NOW2090 3800000000 /* 2090-06-01 */

struct row {
	int line;
	const char *in;
	int64_t now;
	int valid;
	int64_t t;
};

#define OK(in, t) {__LINE__, in, NOW2024, 1, t}
#define OKN(in, now, t) {__LINE__, in, now, 1, t}
#define BAD(in) {__LINE__, in, NOW2024, 0, 0}

/* clang-format off */
static const struct row rows[] = {
	/* the three formats of RFC 9110 §5.6.7 */
	OK("Sun, 06 Nov 1994 08:49:37 GMT", 784111777),
	OK("Sunday, 06-Nov-94 08:49:37 GMT", 784111777),
	OK("Sun Nov  6 08:49:37 1994", 784111777),
	OK("Sun Nov 06 08:49:37 1994", 784111777),
	/* the day name is checked for existence, not against the date */
	OK("Mon, 06 Nov 1994 08:49:37 GMT", 784111777),
	OK("Wednesday, 06-Nov-94 08:49:37 GMT", 784111777),
	/* edges of the calendar */
	OK("Thu, 01 Jan 1970 00:00:00 GMT", 0),
	OK("Wed, 31 Dec 1969 23:59:59 GMT", -1),
	OK("Tue, 29 Feb 2000 12:00:00 GMT", 951825600),
	OK("Thu, 29 Feb 2024 00:00:00 GMT", 1709164800),
	OK("Fri, 31 Dec 9999 23:59:59 GMT", 253402300799),
	OK("Mon, 01 Jan 0001 00:00:00 GMT", -62135596800),
	OK("Sat, 31 Dec 2016 23:59:60 GMT", 1483228800),
	OK("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480),
	OK("Wed Oct 21 07:28:00 2015", 1445412480),
	BAD("Thu, 29 Feb 1900 00:00:00 GMT"),
	BAD("Wed, 29 Feb 2023 00:00:00 GMT"),
	BAD("Wed, 31 Apr 2023 00:00:00 GMT"),
	BAD("Wed, 00 Jan 2023 00:00:00 GMT"),
	BAD("Wed, 32 Jan 2023 00:00:00 GMT"),
	BAD("Sun, 06 Nov 1994 24:00:00 GMT"),
	BAD("Sun, 06 Nov 1994 08:60:00 GMT"),
	BAD("Sun, 06 Nov 1994 08:49:61 GMT"),
	/* two-digit years: within 50 years of now */
	OK("Sunday, 06-Nov-74 08:49:37 GMT", 3308719777),
	OK("Thursday, 06-Nov-75 08:49:37 GMT", 184495777),
	OK("Saturday, 01-Jan-00 00:00:00 GMT", 946684800),
	OKN("Sunday, 01-Jan-30 00:00:00 GMT", NOW2090, 5049129600),
	OKN("Tuesday, 01-Jan-41 00:00:00 GMT", NOW2090, 2240611200),
	/* strictness */
	BAD(""),
	BAD("Sun, 06 Nov 1994 08:49:37 GMT "),
	BAD(" Sun, 06 Nov 1994 08:49:37 GMT"),
	BAD("sun, 06 Nov 1994 08:49:37 GMT"),
	BAD("SUN, 06 Nov 1994 08:49:37 GMT"),
	BAD("Sun, 06 nov 1994 08:49:37 GMT"),
	BAD("Sun, 06 Nov 1994 08:49:37 gmt"),
	BAD("Sun, 06 Nov 1994 08:49:37 UTC"),
	BAD("Sun, 06 Nov 1994 08:49:37 +0000"),
	BAD("Sun, 6 Nov 1994 08:49:37 GMT"),
	BAD("Sun,  6 Nov 1994 08:49:37 GMT"),
	BAD("Sun, 06 Nov 94 08:49:37 GMT"),
	BAD("Sun, 06-Nov-1994 08:49:37 GMT"),
	BAD("Sun 06 Nov 1994 08:49:37 GMT"),
	BAD("Sun, 06 Nov 1994 08.49.37 GMT"),
	BAD("Sun, 06 Nov 1994 8:49:37 GMT"),
	BAD("Sun, 06 Nov 1994 08:49:3x GMT"),
	BAD("Xyz, 06 Nov 1994 08:49:37 GMT"),
	BAD("Sun, 06 Nox 1994 08:49:37 GMT"),
	BAD("Sun, -6 Nov 1994 08:49:37 GMT"),
	BAD("Sunday, 06-Nov-1994 08:49:37 GMT"),
	BAD("Sunday, 06 Nov 94 08:49:37 GMT"),
	BAD("Sundae, 06-Nov-94 08:49:37 GMT"),
	BAD("Sunday, 06-Nov-94 08:49:37 UTC"),
	BAD("sunday, 06-Nov-94 08:49:37 GMT"),
	BAD("Sun Nov  6 08:49:37 94"),
	BAD("Sun Nov 6 08:49:37 1994"),
	BAD("Sun Nov  6 08:49:37 1994 GMT"),
	BAD("Sun  Nov 6 08:49:37 1994"),
	BAD("1994-11-06T08:49:37Z"),
	BAD("784111777"),
};
/* clang-format on */

static void test_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *row = &rows[i];
		int64_t t = 12345;
		bool ok = date_http_parse(row->in, strlen(row->in), row->now, &t);
		if (ok != (bool)row->valid || (ok && t != row->t))
			fail_msg("row at line %d: got %d %lld, want %d %lld", row->line, ok,
			         (long long)t, row->valid, (long long)row->t);
	}
}

static void test_format(void **state)
{
	/* clang-format off */
	static const struct {
		int line;
		int64_t t;
		const char *out;
	} f[] = {
		{__LINE__, 0, "Thu, 01 Jan 1970 00:00:00 GMT"},
		{__LINE__, 784111777, "Sun, 06 Nov 1994 08:49:37 GMT"},
		{__LINE__, -1, "Wed, 31 Dec 1969 23:59:59 GMT"},
		{__LINE__, 951825600, "Tue, 29 Feb 2000 12:00:00 GMT"},
		{__LINE__, 253402300799, "Fri, 31 Dec 9999 23:59:59 GMT"},
		{__LINE__, -62167219200, "Sat, 01 Jan 0000 00:00:00 GMT"},
		{__LINE__, 253402300800, NULL},
		{__LINE__, -62167219201, NULL},
		{__LINE__, INT64_MAX, NULL},
		{__LINE__, INT64_MIN, NULL},
	};
	/* clang-format on */
	(void)state;
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		char out[DATE_HTTP_LEN + 1] = "";
		bool ok = date_http_format(f[i].t, out);
		if (ok != (f[i].out != NULL) || (ok && strcmp(out, f[i].out) != 0))
			fail_msg("row at line %d: got %d \"%s\"", f[i].line, ok, out);
		if (ok)
			assert_int_equal(strlen(out), DATE_HTTP_LEN);
	}
}

/* format agrees with gmtime_r + strftime, and parse inverts format. */
static void test_round_trip(void **state)
{
	(void)state;
	for (int64_t t = -2208988800; t < 4102444800; t += 7777777 + (t & 0xffff)) {
		char out[DATE_HTTP_LEN + 1], ref[64];
		time_t tt = (time_t)t;
		struct tm tm;
		int64_t back;

		assert_true(date_http_format(t, out));
		gmtime_r(&tt, &tm);
		strftime(ref, sizeof(ref), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		assert_string_equal(out, ref);
		assert_true(date_http_parse(out, DATE_HTTP_LEN, NOW2024, &back));
		assert_int_equal(back, t);
		strftime(ref, sizeof(ref), "%a %b %e %H:%M:%S %Y", &tm);
		assert_true(date_http_parse(ref, strlen(ref), NOW2024, &back));
		assert_int_equal(back, t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
