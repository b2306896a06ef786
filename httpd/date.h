/*
 * httpd/date.h: HTTP-date (RFC 9110 §5.6.7) parsing and formatting.
 *
 * Parsing accepts the three formats a recipient must (IMF-fixdate,
 * obsolete RFC 850, asctime), exactly: case-sensitive names, single spaces,
 * zero-padded fields (asctime's day may be space-padded), "GMT", a day that
 * exists in its month, hour <= 23, minute <= 59, second <= 60 (a leap
 * second counts as the next second). The day name must be a real one but
 * need not match the date (as most servers do). No surrounding whitespace.
 * RFC 850 two-digit years are read within [now - 49, now + 50] years,
 * which is the §5.6.7 rule ("more than 50 years in the future" means the
 * previous century).
 *
 * Formatting writes IMF-fixdate, the only form a sender generates.
 * Times are seconds since the epoch (int64_t, UTC, no leap seconds);
 * years 0000-9999 are representable.
 */
#ifndef TRIAD_HTTPD_DATE_H
#define TRIAD_HTTPD_DATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_DATE_LEN 29 /* "Sun, 06 Nov 1994 08:49:37 GMT" */

/* Parses S[0..LEN); NOW is used only for RFC 850 two-digit years. */
bool http_date_parse(const char *s, size_t len, int64_t now, int64_t *out);

/* Writes HTTP_DATE_LEN characters and a NUL. False when the year is outside 0-9999. */
bool http_date_format(int64_t t, char out[HTTP_DATE_LEN + 1]);

#endif
