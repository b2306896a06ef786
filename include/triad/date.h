/*
 * date: the one calendar of triad. UTC only, proleptic Gregorian, no leap
 * seconds, by calendar arithmetic (H. Hinnant's days from/to civil) rather
 * than gmtime/timegm: pure, no TZ, no locale, any 64-bit time, so results
 * never depend on the host. Times are seconds since the epoch.
 *
 * On top of it the wire formats the daemons read and write:
 * - HTTP-date (RFC 9110 §5.6.7). Parsing accepts the three formats a
 *   recipient must (IMF-fixdate, obsolete RFC 850, asctime), exactly:
 *   case-sensitive names, single spaces, zero-padded fields (asctime's day
 *   may be space-padded), "GMT", a day that exists in its month, hour <= 23,
 *   minute <= 59, second <= 60 (a leap second counts as the next second).
 *   The day name must be a real one but need not match the date (as most
 *   servers do). No surrounding whitespace. RFC 850 two-digit years are
 *   read within [now - 49, now + 50] years (the §5.6.7 rule). Formatting
 *   writes IMF-fixdate, the only form a sender generates.
 * - time-val (RFC 3659 §2.3) "YYYYMMDDHHMMSS[.sss]", parsed for MFMT and
 *   formatted for MDTM, MLSD/MLST modify= and the LIST date column.
 * Only years 0000-9999 are written; a time outside fails to format.
 */
#ifndef TRIAD_DATE_H
#define TRIAD_DATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* A broken-down UTC time. */
struct date_tm {
	int64_t year; /* may be < 0 or > 9999 for odd times */
	int mon;      /* 1-12 */
	int mday;     /* 1-31 */
	int hour, min, sec;
	int wday; /* 0: Sunday */
};

/* "Jan".."Dec" for MON 1-12, "Sun".."Sat" for WDAY 0-6 (English, as every
 * wire format here wants whatever the locale). */
extern const char date_month_abbr[12][4];
extern const char date_day_abbr[7][4];

/* Splits T into calendar fields. */
void date_utc(int64_t t, struct date_tm *tm);

/* Seconds since the epoch of TM (wday ignored), when every field is in
 * range: month 1-12, a day that exists in its month, hour 0-23, minute
 * 0-59, second 0-60 (a leap second rolls over). */
bool date_from_utc(const struct date_tm *tm, int64_t *out);

#define DATE_HTTP_LEN 29 /* "Sun, 06 Nov 1994 08:49:37 GMT" */

/* Parses S[0..LEN); NOW is used only for RFC 850 two-digit years. */
bool date_http_parse(const char *s, size_t len, int64_t now, int64_t *out);

/* Writes DATE_HTTP_LEN characters and a NUL. False when the year is outside 0-9999. */
bool date_http_format(int64_t t, char out[DATE_HTTP_LEN + 1]);

#define DATE_TIMEVAL_LEN 14 /* YYYYMMDDHHMMSS */

/*
 * Parses a time-val of exactly LEN bytes: 14 digits, optionally "." and 1-9
 * digits of fraction, fields range-checked as date_from_utc does.
 * Returns 0 and fills *TS, or -EINVAL.
 */
int date_timeval_parse(const char *s, size_t len, struct timespec *ts);

/*
 * Writes T as "YYYYMMDDHHMMSS" plus a NUL into OUT. Returns 0, or -ERANGE
 * when the year does not fit four digits (0000-9999): callers then leave
 * the fact out (MLSD) or refuse (MDTM 550) rather than send a malformed value.
 */
int date_timeval_format(time_t t, char out[DATE_TIMEVAL_LEN + 1]);

#endif
