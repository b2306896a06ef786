/*
 * reply: FTP reply lines (RFC 959 §4.2) and the errno -> reply mapping.
 * Pure: output goes to caller buffers.
 *
 * A reply is "123 text" or, multi-line, "123-first" ... "123 last"; lines in
 * between are free text, padded with a space when they begin with a digit
 * so no client takes them for the end. Text is sanitised: CR, LF and NUL
 * become spaces, since they would split or end the reply.
 */
#ifndef FTPD_REPLY_H
#define FTPD_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "triad/limits.h"

#define FTP_REPLY_MIN 7 /* "123 " CRLF NUL: the smallest buffer a line needs */

enum ftp_reply_part {
	FTP_REPLY_ONLY,  /* "123 text" */
	FTP_REPLY_FIRST, /* "123-text" */
	FTP_REPLY_MORE,  /* "text" (" 4text" when it begins with a digit) */
	FTP_REPLY_LAST,  /* "123 text" */
};

/*
 * Writes one line, CRLF and a NUL into OUT. Text that does not fit is cut
 * (at a UTF-8 character boundary): a reply must go out whole, and
 * FTP_REPLY_LINE_MAX fits every text the daemon builds. Returns the length,
 * or 0 when SIZE < FTP_REPLY_MIN or CODE is not 100-599.
 */
size_t ftp_reply_line(char *out, size_t size, int code, enum ftp_reply_part part, const char *text,
                      size_t len);

/*
 * A whole reply from TEXT whose lines are separated by '\n' (a CR before it
 * is dropped): one line gives "123 text", more give "123-first", the middle
 * lines, "123 last". Returns the length, or -ENOBUFS when it does not fit
 * (nothing is cut: a cut multi-line reply would never end).
 */
ssize_t ftp_reply_multi(char *out, size_t size, int code, const char *text, size_t len);

/* The RFC 959 §4.2.2 / RFC 2228 / RFC 2428 / RFC 4217 text for CODE ("" if none). */
const char *ftp_reply_text(int code);

/*
 * The reply for a failed file operation. ERR is an errno, positive or
 * negative (fsroot returns -errno). Returns the code and sets *TEXT:
 *   ENOENT                      550 No such file or directory
 *   EACCES EPERM EXDEV EROFS    550 Permission denied (EXDEV: escape from the root)
 *   ELOOP                       550 Too many levels of symbolic links
 *   EISDIR / ENOTDIR            550 Is a directory / Not a directory
 *   EEXIST                      550 File exists
 *   ENOTEMPTY                   550 Directory not empty
 *   ENAMETOOLONG EINVAL         553 File name not allowed
 *   ENOSPC                      452 Insufficient storage space
 *   EDQUOT EFBIG                552 Exceeded storage allocation
 *   EBUSY ETXTBSY EAGAIN        450 File busy
 *   anything else               451 Local error in processing
 */
int ftp_reply_errno(int err, const char **text);

#endif
