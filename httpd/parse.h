/*
 * httpd/parse.h: the HTTP/1.1 request head parser (RFC 9112 §2-§3, §5-§6;
 * fields from RFC 9110).
 *
 * Contract
 * - Pure: (bytes buffered so far) -> AGAIN | OK | ERROR; no I/O, no
 *   allocation, no globals. The result is a struct http_request whose
 *   slices point into the caller's buffer (zero copy).
 * - Resumable: call http_parse() again whenever more bytes arrive, with the
 *   same parser and the whole head buffered so far starting at its first
 *   byte. The buffer may move or grow between calls (the parser keeps
 *   offsets until it is done); bytes already seen must not change. Each byte
 *   is examined once over all calls, so a slow client costs O(head length).
 * - Errors are reported as soon as the offending byte is seen, also before
 *   the head is complete: a request line longer than the limit is 414 while
 *   it is still arriving, a head larger than the limit or with too many
 *   fields is 431. Which error a head gets depends only on its bytes, never
 *   on how they were split across calls.
 * - After OK, req->head_len bytes are the head (leading empty lines
 *   included); the body or the next pipelined request follows. Re-initialise
 *   the parser (and a request) for the next head. After ERROR the
 *   connection must be closed once the error is answered: the framing can no
 *   longer be trusted.
 *
 * Strictness (never liberal where two parsers could disagree)
 * - Lines end in CRLF. A bare LF (§2.2 MAY accept it) is 400 too: a proxy in
 *   front that does not split on it would see different fields. Bare CR: 400.
 * - Empty lines (CRLF) before the request line are skipped (§2.2); they count
 *   towards head_len and the head size limit.
 * - Request line: method SP request-target SP HTTP-version, single spaces;
 *   the line is SP and VCHAR only (control bytes, HTAB, DEL, non-ASCII: 400);
 *   '#' in the target: 400 (a fragment is never sent).
 * - HTTP/1.0 and HTTP/1.1; HTTP/1.x with x > 1 is handled as 1.1 (RFC 9110
 *   §2.5 SHOULD); any other major version: 505; anything not "HTTP/D.D": 400.
 * - Targets: origin-form; absolute-form (scheme "://" authority, split; no
 *   userinfo, non-empty host; an empty path reads as "/"); asterisk-form
 *   only for OPTIONS; authority-form (host:port) only for CONNECT.
 * - Field lines: token name, ':' right after it (whitespace before the
 *   colon: 400), value without control bytes other than HTAB (obs-text is
 *   allowed); a line starting with SP/HTAB (obs-fold, §5.2): 400.
 * - Host: required in HTTP/1.1, at most one, valid uri-host[:port]; else 400.
 * - Content-Length: 1*DIGIT, or the same value repeated as a list ("5, 5",
 *   RFC 9110 §8.6) also across lines; differing values, empty list elements,
 *   anything else or a value over 2^63-1: 400.
 * - Transfer-Encoding: only "chunked", exactly once and last. chunked not
 *   last or twice, an empty value, or any Transfer-Encoding in HTTP/1.0
 *   (§6.1 faulty framing): 400; another coding (gzip...): 501 (§6.1).
 *   Both Content-Length and Transfer-Encoding: 400 (§6.1 allows rejecting).
 * - Expect: "100-continue" (case-insensitive); any other expectation: 417.
 *   100-continue from an HTTP/1.0 client is ignored (RFC 9110 §10.1.1).
 * - Connection: a token list; "close" and "keep-alive" are recognised.
 * - If-Match, If-None-Match, Accept-Encoding: list fields, up to
 *   HTTP_LIST_LINES_MAX lines each (more: 400).
 * - If-Modified-Since, If-Unmodified-Since, Range, If-Range are single
 *   values: a repeated one is dropped (RFC 9110 §13.1.3/§13.1.4 say ignore;
 *   a repeated Range or If-Range also drops the Range, so the full
 *   representation is sent). User-Agent and Referer: the first one is kept.
 */
#ifndef TRIAD_HTTPD_PARSE_H
#define TRIAD_HTTPD_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "triad/limits.h"
#include "slice.h"

/* Configurable bounds; HTTP_LIMITS_DEFAULT from triad/limits.h. */
struct http_limits {
	size_t request_line_max; /* bytes of the request line without CRLF; over: 414 */
	size_t header_size_max;  /* bytes of the whole head with CRLFs; over: 431 */
	unsigned fields_max;     /* field lines; over: 431 (clamped to HTTP_HEADER_FIELDS_MAX) */
};
/* clang-format off */
#define HTTP_LIMITS_DEFAULT {HTTP_REQUEST_LINE_MAX, HTTP_HEADER_SIZE_MAX, HTTP_HEADER_FIELDS_MAX}
/* clang-format on */

enum http_method {
	HTTP_METHOD_UNKNOWN, /* a valid token we do not know: 501 */
	HTTP_METHOD_GET,
	HTTP_METHOD_HEAD,
	HTTP_METHOD_POST,
	HTTP_METHOD_PUT,
	HTTP_METHOD_DELETE,
	HTTP_METHOD_CONNECT,
	HTTP_METHOD_OPTIONS,
	HTTP_METHOD_TRACE,
	HTTP_METHOD_PATCH,
};

enum http_target_form {
	HTTP_TARGET_ORIGIN,    /* /path?query */
	HTTP_TARGET_ABSOLUTE,  /* scheme://authority/path?query */
	HTTP_TARGET_AUTHORITY, /* host:port (CONNECT) */
	HTTP_TARGET_ASTERISK,  /* * (OPTIONS) */
};

enum http_version {
	HTTP_VERSION_1_0 = 10,
	HTTP_VERSION_1_1 = 11,
};

enum http_framing {
	HTTP_BODY_NONE,
	HTTP_BODY_LENGTH,  /* content_length bytes (may be 0) */
	HTTP_BODY_CHUNKED, /* Transfer-Encoding: chunked (httpd/chunked.h) */
};

struct http_field {
	struct http_slice name, value; /* value without leading/trailing OWS */
};

struct http_request {
	enum http_method method;
	struct http_slice method_text;
	struct http_slice target; /* the request-target as received */
	enum http_target_form form;
	struct http_slice scheme;    /* absolute-form only */
	struct http_slice authority; /* absolute-form and authority-form only */
	struct http_slice path;      /* origin- and absolute-form; still percent-encoded */
	struct http_slice query;     /* after '?'; absent when the target has no '?' */
	enum http_version version;

	struct http_field fields[HTTP_HEADER_FIELDS_MAX]; /* every field line, in order */
	unsigned nfields;

	/* Pre-extracted (absent: p == NULL). */
	struct http_slice host; /* the Host field (absolute-form: authority wins, §3.2.2) */
	bool conn_close;        /* Connection: close */
	bool conn_keep_alive;   /* Connection: keep-alive */
	bool keep_alive;        /* the connection persists after this exchange (§9.3) */
	enum http_framing framing;
	uint64_t content_length; /* framing == HTTP_BODY_LENGTH */
	bool expect_continue;    /* Expect: 100-continue (HTTP/1.1 only) */
	struct http_list if_match, if_none_match, accept_encoding;
	struct http_slice if_modified_since, if_unmodified_since, if_range, range;
	struct http_slice user_agent, referer; /* for the access log */

	size_t head_len; /* bytes of the head, final CRLF included */
};

struct http_parser {
	/* After HTTP_PARSE_ERROR: the status to answer and a short reason. */
	int error_status;
	const char *error_reason;

	/* private */
	struct http_request *req;
	struct http_limits lim;
	size_t line; /* offset of the current line */
	size_t scan; /* next byte to examine */
	unsigned char stage;
	unsigned seen; /* singleton fields seen (and seen twice) */
	unsigned te;   /* Transfer-Encoding state */
	bool abs_empty_path;
};

enum http_parse_status {
	HTTP_PARSE_AGAIN, /* need more bytes; nothing wrong so far */
	HTTP_PARSE_OK,    /* *req is complete */
	HTTP_PARSE_ERROR, /* error_status / error_reason say why */
};

/* Prepares P to parse one head into REQ (both caller-owned; REQ is reset). */
void http_parser_init(struct http_parser *p, struct http_request *req,
                      const struct http_limits *lim);

/* Parses BUF[0..LEN), the head buffered so far. See the contract above. */
enum http_parse_status http_parse(struct http_parser *p, const char *buf, size_t len);

/* "GET", ... for a known method; NULL for HTTP_METHOD_UNKNOWN. */
const char *http_method_name(enum http_method m);

#endif
