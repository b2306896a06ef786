/*
 * fsroot: confined file access (contract in include/triad/fsroot.h).
 *
 * Every lookup goes through openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)
 * from the root's directory fd, so the kernel, not string inspection, decides
 * whether a path stays inside; the checks made here in user space (NUL,
 * lengths, absolute paths, "."/".." as a target) only refuse early and give
 * stable errnos. Operations on a name (mkdir, rmdir, unlink, rename, utimens,
 * temp files) resolve the parent directory with openat2 and then act on the
 * final component relative to that fd with the *at() call, which never
 * follows a symlink in the final component.
 */
#include "triad/fsroot.h"
#include "triad/limits.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

#define RESOLVE_FLAGS (RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)

/* Strip trailing slashes of the final component ("dir/" is common in FTP). */
#define SPLIT_STRIP 1

/* A NUL-terminated copy of a checked path. */
struct cpath {
	char s[TRIAD_PATH_MAX + 1];
	size_t len;
};

static int sys_openat2_how(int dirfd, const char *path, int flags, mode_t mode,
                           uint64_t resolve)
{
	struct open_how how;
	long fd;

	memset(&how, 0, sizeof(how));
	how.flags = (uint64_t)(unsigned int)(flags | O_CLOEXEC);
	/* openat2 refuses a non-zero mode unless a file may be created. */
	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
		how.mode = mode;
	how.resolve = RESOLVE_FLAGS | resolve;
	for (int i = 0; i < TRIAD_FSROOT_OPENAT2_RETRIES; i++) {
		fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
		if (fd >= 0)
			return (int)fd;
		if (errno != EAGAIN && errno != EINTR)
			break;
	}
	return -errno;
}

static int sys_openat2(int dirfd, const char *path, int flags, mode_t mode)
{
	return sys_openat2_how(dirfd, path, flags, mode, 0);
}

/*
 * Checks PATH and copies it NUL-terminated into P; "" becomes ".".
 * An absolute path gets the errno RESOLVE_BENEATH would give it.
 */
static int path_copy(const char *path, size_t len, struct cpath *p)
{
	size_t comp = 0;

	if (len > TRIAD_PATH_MAX)
		return -ENAMETOOLONG;
	if (len > 0 && path == NULL)
		return -EFAULT;
	if (len > 0 && memchr(path, '\0', len) != NULL)
		return -EINVAL;
	if (len > 0 && path[0] == '/')
		return -EXDEV;
	for (size_t i = 0; i < len; i++) {
		if (path[i] == '/') {
			comp = 0;
		} else if (++comp > TRIAD_NAME_MAX) {
			return -ENAMETOOLONG;
		}
	}
	if (len == 0) {
		p->s[0] = '.';
		p->len = 1;
	} else {
		memcpy(p->s, path, len);
		p->len = len;
	}
	p->s[p->len] = '\0';
	return 0;
}

static int open_path(const struct fsroot *r, const char *path, size_t len, int flags, mode_t mode)
{
	struct cpath p;
	int rc;

	if ((rc = path_copy(path, len, &p)) < 0)
		return rc;
	return sys_openat2(r->fd, p.s, flags, mode);
}

/*
 * Splits P in place into its parent directory, opened (DIRFLAGS) beneath
 * the root into *PARENT, and its final component *NAME. With SPLIT_STRIP,
 * trailing slashes are dropped and *DIRONLY tells that there were some (the
 * target must then be a directory, as the kernel would demand).
 */
static int split_open(const struct fsroot *r, struct cpath *p, int dirflags, int opts, int *parent,
                      const char **name, int *dironly)
{
	char *slash;
	int fd;

	*parent = -1;
	*dironly = 0;
	if ((opts & SPLIT_STRIP) && p->len > 1 && p->s[p->len - 1] == '/') {
		while (p->len > 1 && p->s[p->len - 1] == '/')
			p->s[--p->len] = '\0';
		*dironly = 1;
	}
	slash = strrchr(p->s, '/');
	if (slash == NULL) {
		*name = p->s;
		fd = sys_openat2(r->fd, ".", dirflags, 0);
	} else {
		*slash = '\0';
		*name = slash + 1;
		fd = sys_openat2(r->fd, p->s[0] != '\0' ? p->s : ".", dirflags, 0);
	}
	/* The name is checked after the parent so a path escaping still says EXDEV. */
	if (fd >= 0 &&
	    ((*name)[0] == '\0' || strcmp(*name, ".") == 0 || strcmp(*name, "..") == 0)) {
		close(fd);
		return -EINVAL;
	}
	if (fd < 0)
		return fd;
	*parent = fd;
	return 0;
}

/* With a trailing slash the target must be an existing directory. */
static int check_dironly(int parent, const char *name)
{
	struct stat st;

	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int fsroot_open(struct fsroot *r, const char *dir)
{
	r->fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return r->fd < 0 ? -errno : 0;
}

int fsroot_open_sub(struct fsroot *r, const struct fsroot *parent, const char *path, size_t len)
{
	int fd = open_path(parent, path, len, O_PATH | O_DIRECTORY, 0);

	r->fd = fd < 0 ? -1 : fd;
	return fd < 0 ? fd : 0;
}

void fsroot_close(struct fsroot *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

int fsroot_openat(const struct fsroot *r, const char *path, size_t len, int flags, mode_t mode)
{
	return open_path(r, path, len, flags, mode);
}

int fsroot_open_nolinks(const struct fsroot *r, const char *path, size_t len, int flags)
{
	struct cpath p;
	int rc;

	if ((rc = path_copy(path, len, &p)) < 0)
		return rc;
	return sys_openat2_how(r->fd, p.s, flags, 0, RESOLVE_NO_SYMLINKS);
}

/* The kernel's name for FD: its absolute path, or -errno. */
static int fd_path(int fd, char *out, size_t outlen)
{
	char proc[32];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(proc, out, outlen);
	if (n < 0)
		return -errno;
	if ((size_t)n >= outlen)
		return -ENAMETOOLONG;
	out[n] = '\0';
	return (int)n;
}

int fsroot_relpath(const struct fsroot *r, int fd, char *out, size_t outlen)
{
	char root[TRIAD_PATH_MAX + 1], path[TRIAD_PATH_MAX + 1];
	int rl = fd_path(r->fd, root, sizeof(root));
	if (rl < 0)
		return rl;
	int pl = fd_path(fd, path, sizeof(path));
	if (pl < 0)
		return pl;
	/* "/" as the root: every path is beneath it, minus its slash. */
	if (rl == 1)
		rl = 0;
	if (memcmp(path, root, (size_t)rl) != 0 || (path[rl] != '/' && path[rl] != '\0'))
		return -EXDEV; /* renamed out from under us, or " (deleted)" */
	const char *rel = path + rl + (path[rl] == '/');
	size_t n = strlen(rel);
	if (n >= outlen)
		return -ENAMETOOLONG;
	memcpy(out, rel, n + 1);
	return (int)n;
}

static int stat_flags(const struct fsroot *r, const char *path, size_t len, int flags,
                      struct stat *st)
{
	int fd = open_path(r, path, len, O_PATH | flags, 0);
	int rc = 0;

	if (fd < 0)
		return fd;
	if (fstat(fd, st) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

int fsroot_stat(const struct fsroot *r, const char *path, size_t len, struct stat *st)
{
	return stat_flags(r, path, len, 0, st);
}

int fsroot_lstat(const struct fsroot *r, const char *path, size_t len, struct stat *st)
{
	return stat_flags(r, path, len, O_NOFOLLOW, st);
}

DIR *fsroot_opendir(const struct fsroot *r, const char *path, size_t len)
{
	int fd = open_path(r, path, len, O_RDONLY | O_DIRECTORY, 0);
	DIR *d;

	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	d = fdopendir(fd);
	if (d == NULL) {
		int e = errno;

		close(fd);
		errno = e;
	}
	return d;
}

/* path_copy + split_open for the name operations (mkdir, rmdir, unlink...). */
static int open_parent(const struct fsroot *r, const char *path, size_t len, struct cpath *p,
                       int *parent, const char **name, int *dironly)
{
	int rc = path_copy(path, len, p);
	if (rc < 0)
		return rc;
	return split_open(r, p, O_PATH | O_DIRECTORY, SPLIT_STRIP, parent, name, dironly);
}

int fsroot_mkdir(const struct fsroot *r, const char *path, size_t len, mode_t mode)
{
	struct cpath p;
	const char *name;
	int parent, dironly, rc;

	if ((rc = open_parent(r, path, len, &p, &parent, &name, &dironly)) < 0)
		return rc;
	rc = mkdirat(parent, name, mode) < 0 ? -errno : 0;
	close(parent);
	return rc;
}

int fsroot_rmdir(const struct fsroot *r, const char *path, size_t len)
{
	struct cpath p;
	const char *name;
	int parent, dironly, rc;

	if ((rc = open_parent(r, path, len, &p, &parent, &name, &dironly)) < 0)
		return rc;
	rc = unlinkat(parent, name, AT_REMOVEDIR) < 0 ? -errno : 0;
	close(parent);
	return rc;
}

int fsroot_unlink(const struct fsroot *r, const char *path, size_t len)
{
	struct cpath p;
	const char *name;
	int parent, dironly, rc;

	if ((rc = open_parent(r, path, len, &p, &parent, &name, &dironly)) < 0)
		return rc;
	/* unlink("x/") never removes anything: EISDIR for a directory, else ENOTDIR. */
	if (dironly) {
		rc = check_dironly(parent, name);
		if (rc == 0)
			rc = -EISDIR;
	} else {
		rc = unlinkat(parent, name, 0) < 0 ? -errno : 0;
	}
	close(parent);
	return rc;
}

int fsroot_rename(const struct fsroot *r, const char *from, size_t fromlen, const char *to,
                  size_t tolen)
{
	struct cpath pf, pt;
	const char *nf, *nt;
	int df, dt, dirf, dirt, rc;

	if ((rc = path_copy(from, fromlen, &pf)) < 0 || (rc = path_copy(to, tolen, &pt)) < 0)
		return rc;
	if ((rc = split_open(r, &pf, O_PATH | O_DIRECTORY, SPLIT_STRIP, &df, &nf, &dirf)) < 0)
		return rc;
	if ((rc = split_open(r, &pt, O_PATH | O_DIRECTORY, SPLIT_STRIP, &dt, &nt, &dirt)) < 0) {
		close(df);
		return rc;
	}
	/* A trailing slash on either side means "this is a directory" (rename(2)). */
	if ((dirf || dirt) && (rc = check_dironly(df, nf)) < 0)
		goto out;
	rc = renameat(df, nf, dt, nt) < 0 ? -errno : 0;
out:
	close(df);
	close(dt);
	return rc;
}

int fsroot_utimens(const struct fsroot *r, const char *path, size_t len,
                   const struct timespec times[2])
{
	struct cpath p;
	const char *name;
	int parent, dironly, rc;

	if ((rc = open_parent(r, path, len, &p, &parent, &name, &dironly)) < 0)
		return rc;
	if (!dironly || (rc = check_dironly(parent, name)) == 0)
		rc = utimensat(parent, name, times, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
	close(parent);
	return rc;
}

/* fchmodat with AT_SYMLINK_NOFOLLOW: a final symlink is never followed (it
 * fails with EOPNOTSUPP), so a link cannot carry a chmod out of the root. */
int fsroot_chmod(const struct fsroot *r, const char *path, size_t len, mode_t mode)
{
	struct cpath p;
	const char *name;
	int parent, dironly, rc;

	if ((rc = open_parent(r, path, len, &p, &parent, &name, &dironly)) < 0)
		return rc;
	if (!dironly || (rc = check_dironly(parent, name)) == 0)
		rc = fchmodat(parent, name, mode, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
	close(parent);
	return rc;
}

/* FSROOT_TEMP_PREFIX + 32 hex digits. */
static int temp_name(char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char rnd[16];
	size_t off = sizeof(FSROOT_TEMP_PREFIX) - 1;
	ssize_t n;

	if (off + 2 * sizeof(rnd) + 1 > size)
		return -ENAMETOOLONG;
	do {
		n = getrandom(rnd, sizeof(rnd), 0);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n != sizeof(rnd))
		return -EIO;
	memcpy(buf, FSROOT_TEMP_PREFIX, off);
	for (size_t i = 0; i < sizeof(rnd); i++) {
		buf[off++] = hex[rnd[i] >> 4];
		buf[off++] = hex[rnd[i] & 0xf];
	}
	buf[off] = '\0';
	return 0;
}

int fsroot_temp_create(const struct fsroot *r, const char *path, size_t len, mode_t mode,
                       struct fsroot_temp *t)
{
	struct cpath p;
	const char *name;
	int dironly, rc;
	size_t n;

	t->dirfd = -1;
	t->fd = -1;
	t->name[0] = '\0';
	t->target[0] = '\0';
	if ((rc = path_copy(path, len, &p)) < 0)
		return rc;
	/* O_RDONLY, not O_PATH: commit fsyncs the directory through this fd. */
	if ((rc = split_open(r, &p, O_RDONLY | O_DIRECTORY, 0, &t->dirfd, &name, &dironly)) < 0)
		return rc;
	n = strlen(name);
	if (n >= sizeof(t->target)) {
		rc = -ENAMETOOLONG;
		goto fail;
	}
	memcpy(t->target, name, n + 1);
	for (int i = 0; i < TRIAD_FSROOT_TEMP_ATTEMPTS; i++) {
		if ((rc = temp_name(t->name, sizeof(t->name))) < 0)
			goto fail;
		/* A single component relative to dirfd: nothing to resolve, nothing to escape. */
		t->fd = openat(t->dirfd, t->name,
		               O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW | O_CLOEXEC, mode);
		if (t->fd >= 0)
			return t->fd;
		rc = -errno;
		if (rc != -EEXIST)
			break;
	}
fail:
	close(t->dirfd);
	t->dirfd = -1;
	t->name[0] = '\0';
	return rc;
}

int fsroot_temp_commit(struct fsroot_temp *t, unsigned flags)
{
	int rc = 0;

	if (t->fd < 0 || t->dirfd < 0)
		return -EBADF;
	/* The data must be on disk before the name points at it, else a crash shows a hole. */
	if ((flags & FSROOT_COMMIT_DURABLE) && fsync(t->fd) < 0) {
		rc = -errno;
		fsroot_temp_abort(t);
		return rc;
	}
	if (flags & FSROOT_COMMIT_NOREPLACE) {
		/* The kernel checks and renames at once: nothing created meanwhile is replaced. */
		if (renameat2(t->dirfd, t->name, t->dirfd, t->target, RENAME_NOREPLACE) < 0) {
			rc = -errno;
			if (rc != -EEXIST)
				fsroot_temp_abort(t);
			return rc; /* -EEXIST: t is intact, for another target */
		}
	} else if (renameat(t->dirfd, t->name, t->dirfd, t->target) < 0) {
		rc = -errno;
		fsroot_temp_abort(t);
		return rc;
	}
	if ((flags & FSROOT_COMMIT_DURABLE) && fsync(t->dirfd) < 0)
		rc = -errno;
	close(t->fd);
	close(t->dirfd);
	t->fd = -1;
	t->dirfd = -1;
	t->name[0] = '\0';
	return rc;
}

void fsroot_temp_abort(struct fsroot_temp *t)
{
	if (t->dirfd >= 0 && t->name[0] != '\0')
		unlinkat(t->dirfd, t->name, 0);
	if (t->fd >= 0)
		close(t->fd);
	if (t->dirfd >= 0)
		close(t->dirfd);
	t->fd = -1;
	t->dirfd = -1;
	t->name[0] = '\0';
}

int fsroot_is_temp_name(const char *name)
{
	return strncmp(name, FSROOT_TEMP_PREFIX, sizeof(FSROOT_TEMP_PREFIX) - 1) == 0;
}
