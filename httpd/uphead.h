/*
 * httpd/uphead.h: the upstream HTTP/1.1 response head parser (RFC 9112 §4,
 * §6; fields from RFC 9110), for what an application server answers a
 * proxied request. It is httpd's own parser for the other direction of
 * parse.h, equally strict, because what it accepts decides the framing of
 * the body we forward: a lenient reading here is response smuggling.
 *
 * Contract
 * - Pure: (bytes buffered so far) -> AGAIN | OK | ERROR; no I/O, no
 *   allocation. Slices in struct http_response point into the caller's
 *   buffer as passed to the call that returned OK.
 * - Resumable: call again with the whole head buffered so far from its first
 *   byte whenever more arrives; the search for the end of the head resumes
 *   where it stopped, so a slow server costs O(head length). The buffer may
 *   move between calls. The size limit is checked before the search: a head
 *   not complete within max_head bytes is an error even while it arrives.
 * - After OK, resp->head_len bytes are the head; the body follows. A 1xx
 *   head (status 100-199) is a complete interim response: the caller drops
 *   it (or, for 101, switches protocols) and parses the next head.
 * - ERROR: error_reason says why; the proxy answers 502 and closes the
 *   upstream connection.
 *
 * Strictness
 * - Lines end in CRLF; a bare CR or LF, obs-fold, whitespace before a
 *   colon, a field name that is not a token, control bytes other than HTAB
 *   in a value: error.
 * - Status line: "HTTP/1." DIGIT SP 3DIGIT [SP reason]; the reason is
 *   HTAB / SP / VCHAR / obs-text. Only HTTP/1.x; status 100-599.
 * - Content-Length: 1*DIGIT or the same value repeated as a list, also
 *   across lines (RFC 9110 §8.6); differing values, empty elements or a
 *   value over 2^63-1: error.
 * - Transfer-Encoding: only "chunked" (any other coding cannot be undone by
 *   us and would reach the client unlabelled): error otherwise; twice or
 *   with Content-Length: error (RFC 9112 §6.3 rule 3: a potential
 *   smuggling attempt).
 * - Body framing (RFC 9112 §6.3): none for 1xx, 204, 304 and a response to
 *   HEAD (Content-Length then only describes the representation); chunked;
 *   Content-Length; else close-delimited (HTTP_RESP_BODY_CLOSE).
 */
#ifndef TRIAD_HTTPD_UPHEAD_H
#define TRIAD_HTTPD_UPHEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parse.h"

enum http_resp_framing {
	HTTP_RESP_BODY_NONE,
	HTTP_RESP_BODY_LENGTH,  /* content_length bytes */
	HTTP_RESP_BODY_CHUNKED, /* chunked.h decodes it */
	HTTP_RESP_BODY_CLOSE,   /* until the server closes */
};

struct http_response {
	enum http_version version;
	int status;
	struct http_slice reason;
	struct http_field fields[HTTP_HEADER_FIELDS_MAX];
	unsigned nfields;
	enum http_resp_framing framing;
	uint64_t content_length; /* present when has_length (also for HEAD, 304) */
	bool has_length;
	bool conn_close;    /* Connection: close, or HTTP/1.0 without keep-alive */
	bool upgrade;       /* Connection: upgrade and an Upgrade field (101) */
	size_t head_len;
};

struct http_resp_parser {
	const char *error_reason; /* after ERROR */
	/* private */
	size_t max_head;
	size_t scan;
	bool head_request;
};


/* MAX_HEAD: the longest head accepted; HEAD_REQUEST: the request was HEAD. */
void http_resp_init(struct http_resp_parser *p, size_t max_head, bool head_request);
enum http_parse_status http_resp_parse(struct http_resp_parser *p, const char *buf, size_t len,
                                       struct http_response *resp);

/*
 * Hop-by-hop fields (RFC 9110 §7.6.1): Connection, the fields it names,
 * Keep-Alive, TE, Trailer, Transfer-Encoding, Upgrade, Proxy-*. HOP[i] is
 * set to whether FIELDS[i] is one of them, for each of the N fields: one
 * pass over the names, and one over the others per Connection element
 * (asking field by field rescanned every Connection line for each field).
 */
void http_hop_marks(const struct http_field *fields, unsigned n, bool *hop);

/* Splits one field line S[0..N) (no CRLF) into name and trimmed value
 * (RFC 9110 §5.1, §5.5): NULL, or why it is not a valid field line
 * (obs-fold, a name that is not a token, space before the colon, control
 * bytes other than HTAB in the value). */
const char *http_field_split(const char *s, size_t n, struct http_field *f);

/* Whether a field name (case-insensitive) equals a lower-case literal. */
bool http_field_is(const struct http_field *f, const char *lower);

#endif
