/*
 * LD_PRELOAD shim for `make valgrind` only: Debian 12's valgrind (3.19) does
 * not know the openat2 system call and answers ENOSYS, and fsroot opens
 * every path with openat2(RESOLVE_BENEATH), so a daemon under memcheck could
 * not open its own document root. The shim takes libc's syscall() for
 * SYS_openat2 and does the lookup with openat(), one component at a time:
 * every component with O_NOFOLLOW (a symbolic link anywhere fails, ELOOP),
 * ".." and absolute paths refused (EXDEV). That is stricter than
 * RESOLVE_BENEATH (which follows a link that stays inside), never looser;
 * the memcheck run checks memory, the confinement has its own tests.
 * Every other system call goes to libc's syscall() untouched.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static long fail(int e)
{
	errno = e;
	return -1;
}

static long walk(int dirfd, const char *path, const struct open_how *how, size_t size)
{
	char buf[4097];
	size_t len = strlen(path);
	if (size < sizeof(*how))
		return fail(EINVAL);
	if (len >= sizeof(buf))
		return fail(ENAMETOOLONG);
	if (path[0] == '/')
		return fail(EXDEV);
	memcpy(buf, path, len + 1);
	int flags = (int)how->flags | O_NOFOLLOW;
	int cur = dirfd; /* not ours until a component was opened */
	char *s = buf;
	for (;;) {
		char *slash = strchr(s, '/');
		char *rest = slash;
		while (rest && *rest == '/')
			rest++;
		bool last = !slash || *rest == '\0';
		if (slash) {
			*slash = '\0';
			if (last)
				flags |= O_DIRECTORY; /* "dir/": a directory, as the kernel demands */
		}
		if (strcmp(s, "..") == 0) {
			if (cur != dirfd)
				close(cur);
			return fail(EXDEV);
		}
		const char *name = *s ? s : ".";
		int fd = last ? openat(cur, name, flags, (mode_t)how->mode)
		              : openat(cur, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int e = errno;
		if (cur != dirfd)
			close(cur);
		if (fd < 0)
			return fail(e); /* a link on the way: ENOTDIR (O_DIRECTORY | O_NOFOLLOW) */
		if (last) {
			/* O_PATH | O_NOFOLLOW opens a link itself: refuse it like the rest. */
			struct stat st;
			if ((flags & O_PATH) && fstat(fd, &st) == 0 && S_ISLNK(st.st_mode)) {
				close(fd);
				return fail(ELOOP);
			}
			return fd;
		}
		cur = fd;
		s = rest;
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
