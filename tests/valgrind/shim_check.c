/*
 * shim_check: proves openat2_shim.so answers like the kernel. `make valgrind`
 * runs it twice over the same scratch tree, once plain (the kernel's
 * openat2) and once with the shim preloaded, and compares the two outputs
 * line by line: for each case, the errno, or what the returned descriptor
 * names (relative to the tree). A shim that follows a link the kernel
 * refuses, or refuses one the kernel follows, changes a line.
 *
 * Usage: shim_check DIR (DIR: a scratch directory, empty for the first run).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int sys_openat2(int dirfd, const char *path, unsigned long long flags,
                       unsigned long long resolve)
{
	struct open_how how = {.flags = flags | O_CLOEXEC, .resolve = resolve};
	if (flags & O_CREAT)
		how.mode = 0600;
	return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

static void must(int rc, const char *what)
{
	if (rc < 0) {
		perror(what);
		exit(2);
	}
}

/* The scratch tree: root/ holds what the daemons' roots hold, and links of
 * every kind; outside/ is what they must never reach. */
static void build(const char *base)
{
	must(chdir(base), base);
	must(mkdir("outside", 0755), "outside");
	must(close(open("outside/secret", O_CREAT | O_WRONLY, 0644)), "secret");
	must(mkdir("root", 0755), "root");
	must(mkdir("root/d", 0755), "d");
	must(mkdir("root/d/e", 0755), "e");
	must(close(open("root/f", O_CREAT | O_WRONLY, 0644)), "f");
	must(close(open("root/d/g", O_CREAT | O_WRONLY, 0644)), "g");
	static const char *const links[][2] = {
	    {"f", "root/lf"},                 /* to a file beside it */
	    {"d", "root/ld"},                 /* to a directory */
	    {"d/e/../g", "root/lg"},          /* through ".." that stays inside */
	    {"../f", "root/d/up"},            /* up one level, still inside */
	    {"../outside/secret", "root/esc"},/* out by ".." */
	    {"/etc/passwd", "root/abs"},      /* absolute */
	    {"missing", "root/dangling"},     /* to nothing */
	    {"lf", "root/chain"},             /* a link to a link */
	    {"loop2", "root/loop1"},          /* a cycle */
	    {"loop1", "root/loop2"},
	    {"../ld", "root/d/lup"},          /* a directory link reached from below */
	    {"/proc/self/fd/0", "root/magic"},
	};
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		must(symlink(links[i][0], links[i][1]), links[i][1]);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s EMPTY-DIR\n", argv[0]);
		return 2;
	}
	char base[PATH_MAX];
	if (!realpath(argv[1], base)) {
		perror(argv[1]);
		return 2;
	}
	must(chdir(base), base);
	struct stat st;
	if (stat("root", &st) < 0)
		build(base); /* the first of the two runs */
	int root = open("root", O_PATH | O_DIRECTORY | O_CLOEXEC);
	must(root, "root");
	static const char *const paths[] = {
	    "f", "d", "d/", "d/g", "d/e", "d/e/..", "d/e/../g", "d/e/../../f", "..", "../outside",
	    "d/../..", ".", "./f", "d/./e/..", "/etc/passwd", "lf", "ld", "ld/", "ld/g", "lg",
	    "d/up", "esc", "abs", "dangling", "chain", "loop1", "d/lup/g", "magic", "f/", "lf/",
	    "nope", "nope/x", "f/x", "d//g", "ld/e/../../f", "ld/e/../../../outside/secret",
	};
	static const struct {
		const char *name;
		unsigned long long flags, resolve;
	} modes[] = {
	    {"read", O_RDONLY, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS},
	    {"nofollow", O_RDONLY | O_NOFOLLOW, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS},
	    {"path", O_PATH, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS},
	    {"path-nofollow", O_PATH | O_NOFOLLOW, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS},
	    {"dir", O_RDONLY | O_DIRECTORY, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS},
	    {"nolinks", O_RDONLY, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS},
	    {"beneath", O_RDONLY, RESOLVE_BENEATH},
	};
	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
			int fd = sys_openat2(root, paths[i], modes[m].flags, modes[m].resolve);
			int e = errno;
			printf("%-13s %-30s ", modes[m].name, paths[i]);
			if (fd < 0) {
				printf("errno %s\n", strerrorname_np(e));
				continue;
			}
			char proc[64], where[PATH_MAX];
			snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
			ssize_t n = readlink(proc, where, sizeof(where) - 1);
			where[n < 0 ? 0 : n] = '\0';
			size_t bl = strlen(base);
			printf("-> %s\n", strncmp(where, base, bl) == 0 ? where + bl : where);
			close(fd);
		}
	}
	/* Creation through a dangling link and beside it (O_CREAT follows it). */
	int fd = sys_openat2(root, "dangling", O_WRONLY | O_CREAT, RESOLVE_BENEATH);
	printf("create dangling: %s\n", fd < 0 ? strerrorname_np(errno) : "created");
	if (fd >= 0) {
		close(fd);
		must(unlinkat(root, "missing", 0), "missing");
	}
	fd = sys_openat2(root, "d/new", O_WRONLY | O_CREAT | O_EXCL, RESOLVE_BENEATH);
	printf("create d/new: %s\n", fd < 0 ? strerrorname_np(errno) : "created");
	if (fd >= 0) {
		close(fd);
		must(unlinkat(root, "d/new", 0), "d/new");
	}
	return 0;
}
