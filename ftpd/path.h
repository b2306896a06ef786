/*
 * path: the session's virtual paths. A virtual path is absolute and
 * normalised ("/" or "/a/b": no "." or ".." components, no repeated or
 * trailing slash); "/" is ftp_root. Resolution is lexical, like a URL:
 * ".." removes the previous component and stays at "/" at the root (as
 * vsftpd and Unix do), so fsroot only ever receives a path without ".."
 * and symbolic links are left for fsroot to confine.
 *
 * Names are byte strings, as on Linux: UTF-8 (RFC 2640) passes through, and
 * so does anything else but NUL. Invalid UTF-8 is not refused even after
 * OPTS UTF8 ON, since a file with such a name could then be neither
 * downloaded, renamed nor deleted; we never convert encodings either.
 */
#ifndef FTPD_PATH_H
#define FTPD_PATH_H

#include <stddef.h>
#include <sys/types.h>

#include "triad/limits.h"

struct ftp_vpath {
	size_t len;                /* >= 1 */
	char path[TRIAD_PATH_MAX]; /* NUL-terminated */
};

/* Sets P to "/". */
void ftp_vpath_root(struct ftp_vpath *p);

/*
 * Resolves ARG (absolute, or relative to CWD, a normalised virtual path)
 * into OUT, which may be the very struct CWD lives in. An empty ARG
 * resolves to CWD. Returns 0, or
 *   -EINVAL        NUL, CR or LF in ARG, or CWD not absolute
 *   -ENAMETOOLONG  the result would exceed TRIAD_PATH_MAX - 1 bytes or has a
 *                  component longer than TRIAD_NAME_MAX
 * (fsroot's codes, so ftp_reply_errno maps them too).
 */
int ftp_path_resolve(const char *cwd, size_t cwdlen, const char *arg, size_t arglen,
                     struct ftp_vpath *out);

/* The path to hand fsroot: P without its leading '/', "" for the root. */
const char *ftp_vpath_rel(const struct ftp_vpath *p, size_t *len);

/* The last component of P ("" for the root) and the length of its parent
 * directory's virtual path ("/a/b" -> "b", 2 for "/a"; "/x" -> "x", 1). */
const char *ftp_vpath_base(const struct ftp_vpath *p, size_t *baselen, size_t *dirlen);

/*
 * The text of a 257 reply (RFC 959 Appendix II): PATH in double quotes with
 * every '"' in it doubled, then a space and COMMENT (may be NULL), e.g.
 * "/a ""b""" is the current directory. Writes a NUL-terminated string into
 * OUT and returns its length, or -ENOBUFS when it does not fit (an
 * FTP_REPLY_LINE_MAX buffer always fits a virtual path and a short comment),
 * or -EINVAL when PATH holds CR, LF or NUL (it cannot be quoted).
 */
ssize_t ftp_path_quote(const char *path, size_t len, const char *comment, char *out, size_t size);

#endif
