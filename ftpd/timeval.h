/*
 * timeval: the RFC 3659 §2.3 time-val "YYYYMMDDHHMMSS[.sss]" (always UTC),
 * parsed for MFMT and formatted for MDTM, MLSD/MLST modify= and the LIST
 * date column. Pure arithmetic on the proleptic Gregorian calendar: no
 * gmtime/timegm, no TZ, no locale, so results never depend on the host.
 */
#ifndef FTPD_TIMEVAL_H
#define FTPD_TIMEVAL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define FTP_TIMEVAL_LEN 14 /* YYYYMMDDHHMMSS */

/* A broken-down UTC time. */
struct ftp_tm {
	int64_t year; /* may be < 1000 or > 9999 for odd mtimes */
	int mon;      /* 1-12 */
	int mday;     /* 1-31 */
	int hour, min, sec;
};

/* Splits T (seconds since the epoch, UTC) into calendar fields. */
void ftp_time_utc(time_t t, struct ftp_tm *tm);

/*
 * Parses a time-val of exactly LEN bytes: 14 digits, optionally "." and 1-9
 * digits of fraction. Fields are range-checked (month 1-12, day within the
 * month, hour 0-23, minute 0-59, second 0-60: a leap second rolls over).
 * Returns 0 and fills *TS, or -EINVAL.
 */
int ftp_timeval_parse(const char *s, size_t len, struct timespec *ts);

/*
 * Writes T as "YYYYMMDDHHMMSS" plus a NUL into OUT. Returns 0, or -ERANGE
 * when the year does not fit four digits (0000-9999): callers then leave
 * the fact out (MLSD) or refuse (MDTM 550) rather than send a malformed value.
 */
int ftp_timeval_format(time_t t, char out[FTP_TIMEVAL_LEN + 1]);

#endif
