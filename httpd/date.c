/*
 * httpd/date.c: HTTP-date parsing and formatting (contract in date.h).
 *
 * Calendar arithmetic is done here (proleptic Gregorian, days from
 * 1970-01-01) rather than with timegm()/gmtime_r(), so it is pure, has no
 * locale or TZ dependency and handles any 64-bit input.
 */
#include "date.h"

#include <string.h>

static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const long_days[7] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                         "Thursday", "Friday", "Saturday"};

/* Days since 1970-01-01 of Y-M-D (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned month_days(int64_t y, unsigned m)
{
	static const unsigned char n[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && leap(y) ? 29 : n[m - 1];
}

/* N digits at S; -1 if any is not a digit. */
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

static int month(const char *s)
{
	for (int i = 0; i < 12; i++)
		if (memcmp(s, months[i], 3) == 0)
			return i + 1;
	return 0;
}

static bool day_name(const char *s)
{
	for (int i = 0; i < 7; i++)
		if (memcmp(s, days[i], 3) == 0)
			return true;
	return false;
}

/* "HH:MM:SS" */
static bool time_of_day(const char *s, int *h, int *mi, int *sec)
{
	if (s[2] != ':' || s[5] != ':')
		return false;
	*h = digits(s, 2);
	*mi = digits(s + 3, 2);
	*sec = digits(s + 6, 2);
	return *h >= 0 && *h <= 23 && *mi >= 0 && *mi <= 59 && *sec >= 0 && *sec <= 60;
}

static bool assemble(int64_t y, int mon, int d, int h, int mi, int sec, int64_t *out)
{
	if (mon < 1 || d < 1 || (unsigned)d > month_days(y, (unsigned)mon))
		return false;
	*out = days_from_civil(y, (unsigned)mon, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec;
	return true;
}

static int64_t year_of(int64_t t)
{
	int64_t y, z = t / 86400 - (t % 86400 < 0);
	unsigned m, d;

	civil_from_days(z, &y, &m, &d);
	return y;
}

bool http_date_parse(const char *s, size_t len, int64_t now, int64_t *out)
{
	int h, mi, sec, d, y, mon;

	/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
	if (len == 29 && s[3] == ',') {
		if (!day_name(s) || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
		    s[25] != ' ' || memcmp(s + 26, "GMT", 3) != 0)
			return false;
		d = digits(s + 5, 2);
		mon = month(s + 8);
		y = digits(s + 12, 4);
		if (d < 0 || y < 0 || !time_of_day(s + 17, &h, &mi, &sec))
			return false;
		return assemble(y, mon, d, h, mi, sec, out);
	}
	/* asctime: "Sun Nov  6 08:49:37 1994" */
	if (len == 24 && s[3] == ' ') {
		if (!day_name(s) || s[7] != ' ' || s[10] != ' ' || s[19] != ' ')
			return false;
		mon = month(s + 4);
		d = s[8] == ' ' ? digits(s + 9, 1) : digits(s + 8, 2);
		y = digits(s + 20, 4);
		if (d < 0 || y < 0 || !time_of_day(s + 11, &h, &mi, &sec))
			return false;
		return assemble(y, mon, d, h, mi, sec, out);
	}
	/* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" */
	for (int i = 0; i < 7; i++) {
		size_t n = strlen(long_days[i]);
		if (len != n + 24 || memcmp(s, long_days[i], n) != 0)
			continue;
		const char *p = s + n;
		if (p[0] != ',' || p[1] != ' ' || p[4] != '-' || p[8] != '-' || p[11] != ' ' ||
		    p[20] != ' ' || memcmp(p + 21, "GMT", 3) != 0)
			return false;
		d = digits(p + 2, 2);
		mon = month(p + 5);
		y = digits(p + 9, 2);
		if (d < 0 || y < 0 || !time_of_day(p + 12, &h, &mi, &sec))
			return false;
		int64_t cur = year_of(now), full = cur - cur % 100 + y;
		if (full > cur + 50)
			full -= 100;
		else if (full <= cur - 50)
			full += 100;
		return assemble(full, mon, d, h, mi, sec, out);
	}
	return false;
}

static void put2(char *p, unsigned v)
{
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
}

bool http_date_format(int64_t t, char out[HTTP_DATE_LEN + 1])
{
	int64_t z = t / 86400 - (t % 86400 < 0 ? 1 : 0);
	int64_t secs = t % 86400 + (t % 86400 < 0 ? 86400 : 0), y;
	unsigned m, d;

	civil_from_days(z, &y, &m, &d);
	if (y < 0 || y > 9999)
		return false;
	memcpy(out, days[((z % 7) + 11) % 7], 3); /* 1970-01-01 was a Thursday */
	memcpy(out + 3, ", ", 2);
	put2(out + 5, d);
	out[7] = ' ';
	memcpy(out + 8, months[m - 1], 3);
	out[11] = ' ';
	put2(out + 12, (unsigned)(y / 100));
	put2(out + 14, (unsigned)(y % 100));
	out[16] = ' ';
	put2(out + 17, (unsigned)(secs / 3600));
	out[19] = ':';
	put2(out + 20, (unsigned)(secs / 60 % 60));
	out[22] = ':';
	put2(out + 23, (unsigned)(secs % 60));
	memcpy(out + 25, " GMT", 5);
	return true;
}
