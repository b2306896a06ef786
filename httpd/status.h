/*
 * httpd/status.h: status codes -> reason phrases (RFC 9110 §15), the small
 * HTML body sent with errors, and errno -> status for file access.
 */
#ifndef TRIAD_HTTPD_STATUS_H
#define TRIAD_HTTPD_STATUS_H

#include <stddef.h>

/* The RFC 9110 reason phrase; "" for a code we do not know (still a valid status line). */
const char *http_status_reason(int status);

/*
 * Writes the HTML error page for STATUS into BUF (NUL-terminated when SIZE
 * > 0) and returns its length, like snprintf: a return >= SIZE means it did
 * not fit. The page names only the status, never anything from the request.
 */
size_t http_error_page(int status, char *buf, size_t size);

/*
 * The status for a failed file access (a negative or positive errno from
 * common/fsroot): ENOENT, ENOTDIR, EXDEV (escapes the root: not revealed),
 * ELOOP -> 404; EACCES, EPERM -> 403; ENAMETOOLONG -> 414; EINVAL -> 400;
 * EMFILE, ENFILE, ENOMEM, EAGAIN -> 503; anything else -> 500.
 */
int http_status_for_errno(int err);

#endif
