/*
 * httpd/range.h: the Range request header (RFC 9110 §14.1.2, §14.2) for a
 * representation of a known length.
 *
 * Outcomes:
 * - HTTP_RANGE_IGNORE: serve the whole representation (200). For a unit
 *   other than "bytes" (MUST ignore, §14.2), a malformed ranges-specifier
 *   (MAY ignore, §14.2), more than HTTP_RANGES_MAX range-specs, or ranges
 *   that together ask for more bytes than the representation has (before
 *   coalescing: overlapping or repeated ranges are the amplification §14.2
 *   and its security considerations, §17.15, warn about). Ignoring never
 *   sends more than a plain GET would, and clients handle a 200; this is
 *   what nginx does for max_ranges and for oversized sums. Also for a
 *   zero-length representation when a suffix range makes the set satisfiable
 *   (§14.1.3): the whole (empty) representation is the answer.
 * - HTTP_RANGE_UNSATISFIABLE: 416 with an unsatisfied-range Content-Range
 *   (§14.4): no range-spec overlaps the representation (§14.1.3).
 * - HTTP_RANGE_SATISFIABLE: out[0..*count) are the ranges to send, clipped
 *   to the representation, sorted by first byte, with overlapping and
 *   adjacent ranges coalesced (§14.2 allows it; a list that was not
 *   ascending is thereby sent in ascending order). One range: 206 with
 *   Content-Range; several: multipart/byteranges.
 *
 * Grammar details: the unit is case-insensitive; OWS is allowed around the
 * commas of the range-set and empty list elements are skipped (RFC 9110
 * §5.6.1); no whitespace elsewhere. Positions are 64-bit; numbers too large
 * for 64 bits saturate (a huge last-pos just means "to the end").
 */
#ifndef TRIAD_HTTPD_RANGE_H
#define TRIAD_HTTPD_RANGE_H

#include <stddef.h>
#include <stdint.h>

#include "triad/limits.h"

struct http_range {
	uint64_t first, last; /* inclusive byte positions, first <= last < length */
};

enum http_range_status {
	HTTP_RANGE_IGNORE,
	HTTP_RANGE_SATISFIABLE,
	HTTP_RANGE_UNSATISFIABLE,
};

/*
 * Parses the Range field value S[0..LEN) against a representation of
 * LENGTH bytes. OUT has room for HTTP_RANGES_MAX ranges; *COUNT is set on
 * HTTP_RANGE_SATISFIABLE (and 0 otherwise).
 */
enum http_range_status http_range_parse(const char *s, size_t len, uint64_t length,
                                        struct http_range out[HTTP_RANGES_MAX], unsigned *count);

#endif
