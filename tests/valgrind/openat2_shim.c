/*
 * LD_PRELOAD shim for `make valgrind` only: Debian 12's valgrind (3.19) does
 * not know the openat2 system call and answers ENOSYS, and fsroot opens
 * every path with openat2(RESOLVE_BENEATH), so a daemon under memcheck could
 * not open its own document root. The shim takes libc's syscall() for
 * SYS_openat2 and walks the path itself from the given directory, the way
 * the kernel's RESOLVE_BENEATH lookup does:
 * - one component at a time, each opened with O_PATH | O_NOFOLLOW beneath
 *   the directory reached so far, so a component that is a symbolic link is
 *   seen as one and never followed by the kernel behind the shim's back;
 * - a link's target (readlinkat) replaces the link in the rest of the path:
 *   a relative target is followed, an absolute one fails with EXDEV, as does
 *   any ".." that would climb above the starting directory (the walk keeps
 *   the stack of directories it entered, so ".." returns to the one it came
 *   from, which is the kernel's answer for a path that never left the root);
 * - RESOLVE_NO_SYMLINKS: any link fails with ELOOP; RESOLVE_NO_MAGICLINKS:
 *   a link in procfs fails with ELOOP; more than 40 links: ELOOP;
 * - the last component follows a link unless the caller passed O_NOFOLLOW
 *   (then ELOOP, or the link itself with O_PATH), and is opened with the
 *   caller's flags plus O_NOFOLLOW, so a link swapped in meanwhile fails.
 * Other RESOLVE_ flags (and a call without RESOLVE_BENEATH) get EINVAL:
 * fsroot uses none of them, and a silent approximation would hide that.
 * Every other system call goes to libc's syscall() untouched.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PATH_CAP 4096
#define DEPTH_MAX 256
#define LINKS_MAX 40 /* the kernel's MAXSYMLINKS */

struct walk {
	int dirs[DEPTH_MAX]; /* dirs[0] is the caller's; the rest are ours */
	int depth;
};

static long fail(struct walk *w, int e)
{
	while (w->depth > 0)
		close(w->dirs[w->depth--]);
	errno = e;
	return -1;
}

/* Whether the O_PATH FD of a link lives in procfs (a magic link). */
static bool magic(int fd)
{
	struct statfs sfs;
	return fstatfs(fd, &sfs) == 0 && sfs.f_type == PROC_SUPER_MAGIC;
}

static long walk(int dirfd, const char *path, const struct open_how *how, size_t size)
{
	static const unsigned long long known =
	    RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
	struct walk w = {.dirs = {dirfd}, .depth = 0};
	char buf[PATH_CAP];
	int links = 0;

	if (size < sizeof(*how) || (how->resolve & ~known) || !(how->resolve & RESOLVE_BENEATH))
		return fail(&w, EINVAL);
	size_t len = strlen(path);
	if (len == 0)
		return fail(&w, ENOENT);
	if (len >= sizeof(buf))
		return fail(&w, ENAMETOOLONG);
	memcpy(buf, path, len + 1);
	char *s = buf;
	bool nofollow = how->flags & O_NOFOLLOW;
	for (;;) {
		if (*s == '/')
			return fail(&w, EXDEV); /* an absolute path or link target */
		char *slash = strchr(s, '/');
		char *rest = slash ? slash : s + strlen(s);
		while (*rest == '/')
			rest++;
		bool last = *rest == '\0';
		bool dir_only = last && slash; /* "name/": a directory, links followed */
		if (slash)
			*slash = '\0';
		if (strcmp(s, "..") == 0) {
			if (w.depth == 0)
				return fail(&w, EXDEV); /* above the starting directory */
			close(w.dirs[w.depth--]);
			s = (char *)"."; /* the directory now reached */
		}
		if (!last && strcmp(s, ".") == 0) {
			s = rest;
			continue;
		}
		int cur = w.dirs[w.depth];
		/* What the component is, without following it. */
		int fd = openat(cur, s, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		struct stat st;
		if (fd >= 0 && fstat(fd, &st) < 0) {
			int e = errno;
			close(fd);
			return fail(&w, e);
		}
		if (fd >= 0 && S_ISLNK(st.st_mode) && (!last || !nofollow || dir_only)) {
			if ((how->resolve & RESOLVE_NO_SYMLINKS) ||
			    ((how->resolve & RESOLVE_NO_MAGICLINKS) && magic(fd)) || ++links > LINKS_MAX) {
				close(fd);
				return fail(&w, ELOOP);
			}
			char target[PATH_CAP];
			ssize_t n = readlinkat(fd, "", target, sizeof(target));
			int e = errno;
			close(fd);
			if (n < 0)
				return fail(&w, e);
			/* The rest of the path now follows the link's target ("target/rest",
			 * or "target/" when the link was named with a trailing slash). */
			char tail[PATH_CAP];
			size_t tl = strlen(rest);
			if ((size_t)n + 1 + tl + 1 > sizeof(buf))
				return fail(&w, ENAMETOOLONG);
			memcpy(tail, rest, tl + 1);
			memcpy(buf, target, (size_t)n);
			size_t o = (size_t)n;
			if (tl || dir_only)
				buf[o++] = '/';
			memcpy(buf + o, tail, tl + 1);
			s = buf;
			continue;
		}
		if (!last) {
			if (fd < 0)
				return fail(&w, errno);
			if (!S_ISDIR(st.st_mode)) {
				close(fd);
				return fail(&w, ENOTDIR);
			}
			if (w.depth + 1 >= DEPTH_MAX) {
				close(fd);
				return fail(&w, ENAMETOOLONG);
			}
			w.dirs[++w.depth] = fd;
			s = rest;
			continue;
		}
		/* The last component: a file to create, or no link (or one not followed). */
		int flags = (int)how->flags | O_NOFOLLOW | (dir_only ? O_DIRECTORY : 0);
		int out;
		if (fd >= 0 && (flags & O_PATH) && (!dir_only || S_ISDIR(st.st_mode))) {
			out = fd; /* already what the caller asked for */
			fd = -1;
		} else {
			out = openat(cur, s, flags, (mode_t)how->mode);
		}
		int e = errno;
		if (fd >= 0)
			close(fd);
		if (out < 0)
			return fail(&w, e);
		(void)fail(&w, 0);
		return out;
	}
}

long syscall(long number, ...)
{
	static long (*real)(long, ...);
	va_list ap;
	long a[6];
	va_start(ap, number);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (number == SYS_openat2)
		return walk((int)a[0], (const char *)a[1], (const struct open_how *)a[2],
		            (size_t)a[3]);
	if (!real)
		real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	return real(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}
