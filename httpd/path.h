/*
 * httpd/path.h: request path -> a safe path relative to the docroot, for
 * common/fsroot (which still confines symbolic links; this is the first of
 * two walls, not the only one).
 *
 * Input: the path part of the request-target (req->path: starts with '/',
 * still percent-encoded, no query). Output: the decoded, normalised path
 * without leading or trailing '/', NUL-terminated in the caller's buffer
 * ("" for the root).
 *
 * Policy (the status is what the server answers; 0 is success):
 * - Percent-decoding first, segment by segment, then dot-segment removal
 *   (RFC 3986 §5.2.4, so "%2e%2e" is ".."), after collapsing empty segments
 *   ("//" is "/", so "/a//../b" is "/b").
 * - ".." above the root: 400 (never clamped: a client asking for it is
 *   broken or hostile).
 * - Malformed: '%' not followed by two hex digits, %00 or any decoded
 *   control byte (0x01-0x1F, 0x7F), invalid UTF-8 after decoding
 *   (overlong forms such as %C0%AE, surrogates, > U+10FFFF, truncated
 *   sequences), a raw byte that may not appear in a URI (control, space,
 *   non-ASCII, '\' - RFC 3986 has no raw backslash): 400.
 * - Well-formed but naming what is never served: a decoded '/' (%2F) or
 *   '\' (%5C) inside a segment: 404. No file name on a POSIX file system
 *   holds a '/', and refusing '\' keeps us from agreeing with anything that
 *   treats it as a separator (nginx would decode %2F into a separator; we
 *   do not, so a proxy's idea of the segments and ours cannot differ).
 * - Result longer than the buffer: 414.
 * - Dot files: `hidden` is set when a segment of the result starts with '.',
 *   unless it is the first segment and is exactly ".well-known" (RFC 8615);
 *   the caller answers 404 for hidden paths.
 * - `trailing_slash` is set when the path names a directory form: it ends
 *   in '/' (after collapsing) or in a "." or ".." segment ("/a/b/.." is
 *   "a" with a trailing slash); "/" itself has it.
 */
#ifndef TRIAD_HTTPD_PATH_H
#define TRIAD_HTTPD_PATH_H

#include <stdbool.h>
#include <stddef.h>

struct http_path {
	size_t len; /* bytes in out, without the NUL */
	bool trailing_slash;
	bool hidden;        /* a dot file or dot directory (not /.well-known) */
	const char *reason; /* when the return value is not 0 */
};

/*
 * Normalises IN[0..INLEN) into OUT[0..OUTSIZE). Returns 0, or the HTTP
 * status to answer (400, 404, 414) with res->reason set.
 */
int http_path_normalize(const char *in, size_t inlen, char *out, size_t outsize,
                        struct http_path *res);

/* Whether a normalised path P[0..N) names a dot file or dot directory (a
 * segment starting with '.', except a leading .well-known): the rule applies
 * to the request path and to what a symbolic link in it resolves to. */
bool http_path_hidden(const char *p, size_t n);

#endif
