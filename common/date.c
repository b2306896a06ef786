/*
 * date: calendar arithmetic, HTTP-date and RFC 3659 time-val (contract in
 * triad/date.h). Days from/to civil are H. Hinnant's algorithms.
 */
#include "triad/date.h"
#include "triad/strlit.h"

#include <errno.h>
#include <string.h>

#define SECS_PER_DAY 86400

const char date_month_abbr[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
const char date_day_abbr[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const long_days[7] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                         "Thursday", "Friday", "Saturday"};

/* ---- the calendar ---------------------------------------------------------- */

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

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
	static const unsigned char n[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && is_leap(y) ? 29 : n[m - 1];
}

void date_utc(int64_t t, struct date_tm *tm)
{
	int64_t days = t / SECS_PER_DAY, rem = t % SECS_PER_DAY;
	if (rem < 0) {
		rem += SECS_PER_DAY;
		days--;
	}
	civil_from_days(days, &tm->year, &tm->mon, &tm->mday);
	tm->hour = (int)(rem / 3600);
	tm->min = (int)(rem / 60 % 60);
	tm->sec = (int)(rem % 60);
	tm->wday = (int)((days % 7 + 11) % 7); /* 1970-01-01 was a Thursday */
}

bool date_from_utc(const struct date_tm *tm, int64_t *out)
{
	if (tm->mon < 1 || tm->mon > 12 || tm->mday < 1 ||
	    tm->mday > days_in_month(tm->year, tm->mon) || tm->hour < 0 || tm->hour > 23 ||
	    tm->min < 0 || tm->min > 59 || tm->sec < 0 || tm->sec > 60)
		return false;
	*out = days_from_civil(tm->year, tm->mon, tm->mday) * SECS_PER_DAY + tm->hour * 3600 +
	       tm->min * 60 + tm->sec;
	return true;
}

/* N decimal digits at S; -1 when any is not a digit. */
static int digits(const char *s, unsigned n)
{
	int v = 0;
	for (unsigned i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static void put2(char *p, unsigned v)
{
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
}

/* ---- HTTP-date (RFC 9110 §5.6.7) -------------------------------------------- */

static int month(const char *s)
{
	for (int i = 0; i < 12; i++)
		if (memcmp(s, date_month_abbr[i], 3) == 0)
			return i + 1;
	return 0;
}

static bool day_name(const char *s)
{
	for (int i = 0; i < 7; i++)
		if (memcmp(s, date_day_abbr[i], 3) == 0)
			return true;
	return false;
}

/* "HH:MM:SS" into TM; the ranges are date_from_utc's to check. */
static bool time_of_day(const char *s, struct date_tm *tm)
{
	if (s[2] != ':' || s[5] != ':')
		return false;
	tm->hour = digits(s, 2);
	tm->min = digits(s + 3, 2);
	tm->sec = digits(s + 6, 2);
	return tm->hour >= 0 && tm->min >= 0 && tm->sec >= 0;
}

bool date_http_parse(const char *s, size_t len, int64_t now, int64_t *out)
{
	struct date_tm tm;
	int y;

	/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
	if (len == 29 && s[3] == ',') {
		if (!day_name(s) || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
		    s[25] != ' ' || memcmp(s + 26, STRLIT("GMT")) != 0)
			return false;
		tm.mday = digits(s + 5, 2);
		tm.mon = month(s + 8);
		tm.year = y = digits(s + 12, 4);
		if (y < 0 || !time_of_day(s + 17, &tm))
			return false;
		return date_from_utc(&tm, out);
	}
	/* asctime: "Sun Nov  6 08:49:37 1994" */
	if (len == 24 && s[3] == ' ') {
		if (!day_name(s) || s[7] != ' ' || s[10] != ' ' || s[19] != ' ')
			return false;
		tm.mon = month(s + 4);
		tm.mday = s[8] == ' ' ? digits(s + 9, 1) : digits(s + 8, 2);
		tm.year = y = digits(s + 20, 4);
		if (y < 0 || !time_of_day(s + 11, &tm))
			return false;
		return date_from_utc(&tm, out);
	}
	/* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" */
	for (int i = 0; i < 7; i++) {
		size_t n = strlen(long_days[i]);
		if (len != n + 24 || memcmp(s, long_days[i], n) != 0)
			continue;
		const char *p = s + n;
		if (p[0] != ',' || p[1] != ' ' || p[4] != '-' || p[8] != '-' || p[11] != ' ' ||
		    p[20] != ' ' || memcmp(p + 21, STRLIT("GMT")) != 0)
			return false;
		tm.mday = digits(p + 2, 2);
		tm.mon = month(p + 5);
		y = digits(p + 9, 2);
		if (y < 0 || !time_of_day(p + 12, &tm))
			return false;
		struct date_tm cur;
		date_utc(now, &cur);
		int64_t full = cur.year - cur.year % 100 + y;
		if (full > cur.year + 50)
			full -= 100;
		else if (full <= cur.year - 50)
			full += 100;
		tm.year = full;
		return date_from_utc(&tm, out);
	}
	return false;
}

bool date_http_format(int64_t t, char out[DATE_HTTP_LEN + 1])
{
	struct date_tm tm;
	date_utc(t, &tm);
	if (tm.year < 0 || tm.year > 9999)
		return false;
	memcpy(out, date_day_abbr[tm.wday], 3);
	memcpy(out + 3, STRLIT(", "));
	put2(out + 5, (unsigned)tm.mday);
	out[7] = ' ';
	memcpy(out + 8, date_month_abbr[tm.mon - 1], 3);
	out[11] = ' ';
	put2(out + 12, (unsigned)(tm.year / 100));
	put2(out + 14, (unsigned)(tm.year % 100));
	out[16] = ' ';
	put2(out + 17, (unsigned)tm.hour);
	out[19] = ':';
	put2(out + 20, (unsigned)tm.min);
	out[22] = ':';
	put2(out + 23, (unsigned)tm.sec);
	memcpy(out + 25, " GMT", sizeof(" GMT"));
	return true;
}

/* ---- time-val (RFC 3659 §2.3) -------------------------------------------------- */

int date_timeval_parse(const char *s, size_t len, struct timespec *ts)
{
	if (len < DATE_TIMEVAL_LEN)
		return -EINVAL;
	int year = digits(s, 4);
	struct date_tm tm = {
	    .year = year,
	    .mon = digits(s + 4, 2),
	    .mday = digits(s + 6, 2),
	    .hour = digits(s + 8, 2),
	    .min = digits(s + 10, 2),
	    .sec = digits(s + 12, 2),
	};
	int64_t t;
	if (year < 0 || !date_from_utc(&tm, &t))
		return -EINVAL;

	long nsec = 0;
	if (len > DATE_TIMEVAL_LEN) {
		size_t nfrac = len - DATE_TIMEVAL_LEN - 1;
		if (s[DATE_TIMEVAL_LEN] != '.' || nfrac < 1 || nfrac > 9)
			return -EINVAL;
		int frac = digits(s + DATE_TIMEVAL_LEN + 1, (unsigned)nfrac);
		if (frac < 0)
			return -EINVAL;
		nsec = frac;
		for (size_t i = nfrac; i < 9; i++)
			nsec *= 10;
	}
	ts->tv_sec = (time_t)t;
	ts->tv_nsec = nsec;
	return 0;
}

int date_timeval_format(time_t t, char out[DATE_TIMEVAL_LEN + 1])
{
	struct date_tm tm;
	date_utc((int64_t)t, &tm);
	if (tm.year < 0 || tm.year > 9999)
		return -ERANGE;
	put2(out, (unsigned)(tm.year / 100));
	put2(out + 2, (unsigned)(tm.year % 100));
	put2(out + 4, (unsigned)tm.mon);
	put2(out + 6, (unsigned)tm.mday);
	put2(out + 8, (unsigned)tm.hour);
	put2(out + 10, (unsigned)tm.min);
	put2(out + 12, (unsigned)tm.sec);
	out[DATE_TIMEVAL_LEN] = '\0';
	return 0;
}
