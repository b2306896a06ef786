/*
 * httpd/chunked.h: a resumable decoder for the chunked transfer coding
 * (RFC 9112 §7.1), used to read request bodies so that they can be
 * discarded without desynchronising the connection.
 *
 * Contract
 * - Pure: feed whatever bytes arrived; the decoder keeps its state between
 *   calls, so nothing is buffered or re-read, and no byte is copied.
 * - http_chunked_decode() consumes from BUF and says how many bytes it took:
 *   AGAIN: all of them, more are needed (with yield: up to the end of a
 *   run of chunk-data, which may leave bytes for the next call); DONE: the body ended after
 *   *consumed bytes (the next request starts there); ERROR: the body is
 *   malformed (or too large) at byte *consumed; answer error_status and close.
 * - data_total counts the chunk-data bytes seen so far (the decoded body
 *   length). A chunk whose declared size would take it past max_body is
 *   refused with 413 as soon as its size line says so, before its data.
 *
 * Strictness: CRLF everywhere (bare LF, bare CR, anything but CRLF after
 * chunk-data: 400); chunk-size is 1*HEXDIG of at most
 * HTTP_CHUNK_SIZE_DIGITS_MAX digits (leading zeros count); chunk extensions
 * follow the grammar exactly (BWS ";" BWS token [BWS "=" BWS (token /
 * quoted-string)]) and take at most HTTP_CHUNK_EXT_MAX bytes per chunk;
 * whitespace after chunk-size without an extension is 400; trailer fields
 * must be valid field lines (no obs-fold, no whitespace before the colon,
 * no control bytes but HTAB) and all of them at most HTTP_CHUNK_TRAILER_MAX
 * bytes (431). Extensions and trailers are checked and dropped.
 */
#ifndef TRIAD_HTTPD_CHUNKED_H
#define TRIAD_HTTPD_CHUNKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "triad/limits.h"

struct http_chunked {
	uint64_t data_total; /* chunk-data bytes so far */
	uint64_t max_body;   /* refuse (413) more than this */
	int error_status;    /* after HTTP_CHUNKED_ERROR: 400, 413 or 431 */
	/* yield: decoding stops after each run of chunk-data, which is then
	 * buf[data_off .. data_off + data_len) (data_len 0: no data this call),
	 * so a proxy can forward the decoded body without copying it. */
	bool yield;
	size_t data_off, data_len;
	const char *error_reason;

	/* private */
	uint64_t remaining; /* chunk-size, then data bytes still to come */
	unsigned state;
	unsigned digits; /* of the current chunk-size */
	size_t ext_len;  /* bytes of chunk-ext on this size line */
	size_t trailer_len;
	unsigned char after_name; /* an extension name just ended: '=' may follow */
};

enum http_chunked_status {
	HTTP_CHUNKED_AGAIN, /* every byte consumed; the body continues */
	HTTP_CHUNKED_DONE,  /* the body ended; *consumed bytes were part of it */
	HTTP_CHUNKED_ERROR, /* error_status, error_reason; *consumed: the offending byte */
};

void http_chunked_init(struct http_chunked *d, uint64_t max_body);

enum http_chunked_status http_chunked_decode(struct http_chunked *d, const char *buf, size_t len,
                                             size_t *consumed);

#endif
