/*
 * timeval: RFC 3659 §2.3 time-val parsing and formatting, UTC only, by
 * calendar arithmetic (days from/to civil, H. Hinnant's algorithms), so the
 * result does not depend on TZ, the locale or the C library's time range.
 */
#include "timeval.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>

#define SECS_PER_DAY 86400

/* Days since 1970-01-01 of the proleptic Gregorian date Y-M-D. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

void ftp_time_utc(time_t t, struct ftp_tm *tm)
{
	int64_t s = (int64_t)t;
	int64_t days = s / SECS_PER_DAY;
	int64_t rem = s % SECS_PER_DAY;
	if (rem < 0) {
		rem += SECS_PER_DAY;
		days--;
	}
	civil_from_days(days, &tm->year, &tm->mon, &tm->mday);
	tm->hour = (int)(rem / 3600);
	tm->min = (int)(rem / 60 % 60);
	tm->sec = (int)(rem % 60);
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* N decimal digits at S; -1 when any is not a digit. */
static int digits(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int ftp_timeval_parse(const char *s, size_t len, struct timespec *ts)
{
	if (len < FTP_TIMEVAL_LEN)
		return -EINVAL;
	int year = digits(s, 4), mon = digits(s + 4, 2), mday = digits(s + 6, 2);
	int hour = digits(s + 8, 2), min = digits(s + 10, 2), sec = digits(s + 12, 2);
	if (year < 0 || mon < 1 || mon > 12 || mday < 1 || mday > days_in_month(year, mon) ||
	    hour < 0 || hour > 23 || min < 0 || min > 59 || sec < 0 || sec > 60)
		return -EINVAL;

	long nsec = 0;
	if (len > FTP_TIMEVAL_LEN) {
		size_t nfrac = len - FTP_TIMEVAL_LEN - 1;
		if (s[FTP_TIMEVAL_LEN] != '.' || nfrac < 1 || nfrac > 9)
			return -EINVAL;
		int frac = digits(s + FTP_TIMEVAL_LEN + 1, (int)nfrac);
		if (frac < 0)
			return -EINVAL;
		nsec = frac;
		for (size_t i = nfrac; i < 9; i++)
			nsec *= 10;
	}
	int64_t days = days_from_civil(year, mon, mday);
	ts->tv_sec = (time_t)(days * SECS_PER_DAY + hour * 3600 + min * 60 + sec);
	ts->tv_nsec = nsec;
	return 0;
}

int ftp_timeval_format(time_t t, char out[FTP_TIMEVAL_LEN + 1])
{
	struct ftp_tm tm;
	ftp_time_utc(t, &tm);
	if (tm.year < 0 || tm.year > 9999)
		return -ERANGE;
	snprintf(out, FTP_TIMEVAL_LEN + 1, "%04d%02d%02d%02d%02d%02d", (int)tm.year, tm.mon,
	         tm.mday, tm.hour, tm.min, tm.sec);
	return 0;
}
