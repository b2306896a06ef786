/*
 * fsroot: the only way triad touches files. Every path is resolved beneath
 * a directory fd with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS), so
 * "..", absolute paths and symbolic links can never lead outside it, even
 * when the tree changes under us (ftpd uploads, users' symlinks).
 *
 * Paths are (pointer, length) so an embedded NUL is refused instead of
 * silently truncating. They are relative to the root ("" or "." is the root
 * itself). Every function returns >= 0 on success and -errno on failure:
 *   -EXDEV   the path escapes the root (absolute, "..", symlink out)
 *   -EINVAL  embedded NUL, empty final component, "." or ".." as a target
 *   -ENAMETOOLONG, -ENOENT, -ENOTDIR, -ELOOP, -EACCES ... as the kernel says
 * Protocols map these to replies in one function each (http_status_for_errno...).
 */
#ifndef TRIAD_FSROOT_H
#define TRIAD_FSROOT_H

#include <dirent.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

struct fsroot {
	int fd; /* O_PATH | O_DIRECTORY */
};

/* Opens DIR (an ordinary absolute or cwd-relative path) as a root. */
int fsroot_open(struct fsroot *r, const char *dir);
/* A sub-root beneath PARENT (e.g. docroot beneath root): also confined. */
int fsroot_open_sub(struct fsroot *r, const struct fsroot *parent, const char *path, size_t len);
void fsroot_close(struct fsroot *r);

/* open(2) beneath the root; O_CREAT honours mode. Returns the fd. */
int fsroot_openat(const struct fsroot *r, const char *path, size_t len, int flags, mode_t mode);
/* open(2) beneath the root only when no component is a symbolic link
 * (RESOLVE_NO_SYMLINKS): -ELOOP says one is, then fsroot_openat() and
 * fsroot_relpath() tell where it leads. */
int fsroot_open_nolinks(const struct fsroot *r, const char *path, size_t len, int flags);
/* Where FD (opened beneath R) really is, as a path relative to R ("" for R
 * itself), NUL-terminated in OUT; its length or -errno (-EXDEV: not beneath
 * R any more). Reads /proc/self/fd. */
int fsroot_relpath(const struct fsroot *r, int fd, char *out, size_t outlen);
/* stat; follows symlinks only while they stay beneath the root. */
int fsroot_stat(const struct fsroot *r, const char *path, size_t len, struct stat *st);
/* lstat: the final component itself (a symlink is reported as one). */
int fsroot_lstat(const struct fsroot *r, const char *path, size_t len, struct stat *st);
/* Opens a directory for listing; the caller closedir()s. NULL and errno on failure. */
DIR *fsroot_opendir(const struct fsroot *r, const char *path, size_t len);

int fsroot_mkdir(const struct fsroot *r, const char *path, size_t len, mode_t mode);
int fsroot_rmdir(const struct fsroot *r, const char *path, size_t len);
int fsroot_unlink(const struct fsroot *r, const char *path, size_t len);
int fsroot_rename(const struct fsroot *r, const char *from, size_t fromlen, const char *to,
                  size_t tolen);
/* Sets atime and mtime (ftpd MFMT). */
int fsroot_utimens(const struct fsroot *r, const char *path, size_t len,
                   const struct timespec times[2]);

/* Sets the mode bits of PATH (ftpd SITE CHMOD, modes after MKD); a final
 * symlink is refused (-EOPNOTSUPP), never followed. */
int fsroot_chmod(const struct fsroot *r, const char *path, size_t len, mode_t mode);

/*
 * Create-temp-then-rename, for uploads that must appear whole or not at all.
 * fsroot_temp_create() makes a hidden file FSROOT_TEMP_PREFIX... in the
 * directory of PATH and returns its fd; fsroot_temp_commit() renames it over
 * PATH; fsroot_temp_abort() unlinks it. The temp name is kept in t.
 * Commit flags: FSROOT_COMMIT_DURABLE fsyncs the file before and the
 * directory after the rename; FSROOT_COMMIT_NOREPLACE renames only if the
 * target does not exist (renameat2 RENAME_NOREPLACE, atomic): -EEXIST then
 * leaves t as it was, so the caller may set another t->target and retry.
 * Any other failure unlinks the temp file.
 */
#define FSROOT_TEMP_PREFIX ".triad-tmp."
struct fsroot_temp {
	int dirfd;         /* the target's directory */
	int fd;            /* the temp file, open O_RDWR */
	char name[64];     /* temp name within dirfd */
	char target[256];  /* final name within dirfd */
};
int fsroot_temp_create(const struct fsroot *r, const char *path, size_t len, mode_t mode,
                       struct fsroot_temp *t);
#define FSROOT_COMMIT_DURABLE   1u
#define FSROOT_COMMIT_NOREPLACE 2u
int fsroot_temp_commit(struct fsroot_temp *t, unsigned flags);
void fsroot_temp_abort(struct fsroot_temp *t);
/* Whether a directory entry name is one of our temp files (listings hide them). */
int fsroot_is_temp_name(const char *name);

#endif
