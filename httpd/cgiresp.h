/*
 * httpd/cgiresp.h: the CGI response head (RFC 3875 §6), as a FastCGI
 * responder's FCGI_STDOUT stream begins.
 *
 * Contract
 * - Pure and resumable like uphead.h: call with the whole stdout buffered so
 *   far; AGAIN until the blank line that ends the head, checked against
 *   max_head first. Slices point into the buffer of the OK call.
 * - Lines end in LF or CRLF (§6.3 says NL; php-fpm sends CRLF; both are
 *   local and the head is rebuilt by us, never forwarded as bytes). A bare
 *   CR inside a line, obs-fold, a field name that is not a token, control
 *   bytes in a value: error (502).
 * - Status: "3DIGIT [SP reason]" with 200 <= code <= 599, at most once
 *   (§6.3.3); it sets the status. Without it: 302 when Location is present
 *   (§6.2.3, §6.2.4), else 200.
 * - Location: at most once; a value starting with "/" is a local redirect
 *   (§6.2.2), anything else must be an absolute URI (scheme ":"): a client
 *   redirect (§6.2.3/§6.2.4). httpd sends both to the client as they are
 *   (as nginx does for FastCGI); the kind is reported.
 * - A head with none of Content-Type, Location, Status is an error (§6.2
 *   requires one of them).
 * - fields[] holds every field but Status, in order. Content-Length,
 *   Transfer-Encoding and the hop-by-hop fields are dropped by the caller:
 *   the body's framing is the FastCGI records'.
 */
#ifndef TRIAD_HTTPD_CGIRESP_H
#define TRIAD_HTTPD_CGIRESP_H

#include <stdbool.h>
#include <stddef.h>

#include "parse.h"

enum http_cgi_kind {
	HTTP_CGI_DOCUMENT,
	HTTP_CGI_LOCAL_REDIRECT,
	HTTP_CGI_CLIENT_REDIRECT,
};

struct http_cgi_response {
	int status;
	struct http_slice reason; /* from Status:, absent otherwise */
	enum http_cgi_kind kind;
	struct http_slice location, content_type;
	struct http_field fields[HTTP_HEADER_FIELDS_MAX];
	unsigned nfields;
	size_t head_len;
};

struct http_cgi_parser {
	const char *error_reason;
	/* private */
	size_t max_head, scan;
};

void http_cgi_init(struct http_cgi_parser *p, size_t max_head);
enum http_parse_status http_cgi_parse(struct http_cgi_parser *p, const char *buf, size_t len,
                                      struct http_cgi_response *r);

#endif
