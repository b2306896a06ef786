/*
 * httpd/conditional.h: conditional requests (RFC 9110 §13) and the
 * validators they compare against (§8.8).
 *
 * http_cond_evaluate() applies §13.2.2 in order:
 *   1. If-Match: false -> 412 (strong comparison; "*" is true, since the
 *      caller only evaluates an existing representation);
 *   2. otherwise If-Unmodified-Since: mtime later than the date -> 412;
 *   3. If-None-Match: true match (weak comparison, or "*") -> 304 for GET
 *      and HEAD, 412 for other methods;
 *   4. otherwise, for GET and HEAD, If-Modified-Since: mtime not later than
 *      the date -> 304;
 *   5. for GET with a Range: If-Range (an entity-tag compared strongly, a
 *      weak one never matches; or an HTTP-date equal to mtime) decides
 *      whether the Range applies (*range_applies).
 * Invalid values: an invalid date makes its field ignored (§13.1.3,
 * §13.1.4); an invalid If-None-Match list is ignored too (the full response
 * is the safe answer to a question we cannot read); an invalid If-Match list
 * fails (412: a precondition we cannot verify must not pass); an invalid
 * If-Range is false (the full representation is sent). Dates compare at
 * one-second resolution, the resolution of Last-Modified.
 *
 * ETags (http_etag_format): strong, "\"<mtime ns>-<size>-<inode>\"" in lower
 * hex, from the file's stat. Any change of content through a rename (how
 * ftpd replaces files) changes the inode; a rewrite in place changes mtime
 * and usually size; the inode also separates files that were given the
 * same mtime and size on purpose (ftpd MFMT). The value is opaque to
 * clients; it changes when a file is restored from a backup, which only
 * costs a cache miss.
 */
#ifndef TRIAD_HTTPD_CONDITIONAL_H
#define TRIAD_HTTPD_CONDITIONAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parse.h"
#include "slice.h"

#define HTTP_ETAG_MAX 56 /* 3 x 16 hex digits, 2 dashes, 2 quotes, NUL */

enum http_cond {
	HTTP_COND_PROCEED,
	HTTP_COND_NOT_MODIFIED,       /* 304 */
	HTTP_COND_PRECONDITION_FAILED /* 412 */
};

struct http_cond_input {
	enum http_method method;
	const struct http_list *if_match;      /* NULL or n == 0: absent */
	const struct http_list *if_none_match; /* NULL or n == 0: absent */
	struct http_slice if_modified_since;   /* p == NULL: absent */
	struct http_slice if_unmodified_since;
	struct http_slice if_range;
	bool has_range;         /* the request carries a Range field */
	struct http_slice etag; /* the representation's ETag, quotes included */
	int64_t mtime;          /* its Last-Modified, seconds since the epoch */
	int64_t now;            /* for RFC 850 dates */
};

/* Evaluates the preconditions; *RANGE_APPLIES: serve the Range (GET only). */
enum http_cond http_cond_evaluate(const struct http_cond_input *in, bool *range_applies);

enum http_etag_match {
	HTTP_ETAG_INVALID = -1, /* the list does not parse */
	HTTP_ETAG_NO_MATCH = 0,
	HTTP_ETAG_MATCH = 1, /* a member matches, or the list is "*" */
};

/* Compares ETAG with every member of the field's lines (RFC 9110 §8.8.3.2). */
enum http_etag_match http_etag_match(const struct http_list *l, struct http_slice etag,
                                     bool strong);

/* Formats the strong ETag described above into OUT; returns its length. */
size_t http_etag_format(char out[HTTP_ETAG_MAX], uint64_t ino, uint64_t size, int64_t mtime_sec,
                        long mtime_nsec);

#endif
