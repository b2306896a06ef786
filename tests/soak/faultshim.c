/*
 * faultshim: an LD_PRELOAD library for `make soak` (tests/integration/soak_faults.py).
 * While the file named by TRIAD_FAULT_SWITCH exists, the calls TRIAD_FAULT names fail
 * with EIO: "fsync" (fsync, fdatasync) or "rename" (rename, renameat, renameat2).
 * Otherwise every call goes to libc unchanged.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int faulting(const char *what)
{
	const char *f = getenv("TRIAD_FAULT"), *sw = getenv("TRIAD_FAULT_SWITCH");
	struct stat st;
	return f && sw && strcmp(f, what) == 0 && stat(sw, &st) == 0;
}

#define NEXT(name, type) ((type)dlsym(RTLD_NEXT, name))

int fsync(int fd)
{
	if (faulting("fsync")) {
		errno = EIO;
		return -1;
	}
	return NEXT("fsync", int (*)(int))(fd);
}

int fdatasync(int fd)
{
	if (faulting("fsync")) {
		errno = EIO;
		return -1;
	}
	return NEXT("fdatasync", int (*)(int))(fd);
}

int rename(const char *a, const char *b)
{
	if (faulting("rename")) {
		errno = EIO;
		return -1;
	}
	return NEXT("rename", int (*)(const char *, const char *))(a, b);
}

int renameat(int da, const char *a, int db, const char *b)
{
	if (faulting("rename")) {
		errno = EIO;
		return -1;
	}
	return NEXT("renameat", int (*)(int, const char *, int, const char *))(da, a, db, b);
}

int renameat2(int da, const char *a, int db, const char *b, unsigned flags)
{
	if (faulting("rename")) {
		errno = EIO;
		return -1;
	}
	return NEXT("renameat2", int (*)(int, const char *, int, const char *, unsigned))(
	    da, a, db, b, flags);
}
