/*
 * fsroot unit tests: every operation against a tree made in a mkdtemp
 * directory, with things outside the root to reach for (a sibling directory,
 * /etc, /proc magic links). Table rows carry __LINE__ so a failure names its
 * row. Rows within a table may depend on earlier rows (they run in order on
 * a fresh tree per test).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "triad/fsroot.h"
#include "triad/limits.h"

struct tree {
	char base[64];  /* mkdtemp directory */
	char root[128]; /* base/root: the fsroot */
	char out[128];  /* base/outside: must never be touched */
	mode_t mask;    /* the process umask, for created modes */
	struct fsroot r;
};

static void put_file(const char *dir, const char *rel, const char *content)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(content, f);
	assert_int_equal(fclose(f), 0);
}

static void put_dir(const char *dir, const char *rel)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	assert_int_equal(mkdir(p, 0755), 0);
}

static void put_link(const char *dir, const char *rel, const char *target)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	assert_int_equal(symlink(target, p), 0);
}

/* Reads a file by its ordinary path; "" when it does not exist. */
static const char *slurp(const char *dir, const char *rel)
{
	static char buf[256];
	char p[512];
	ssize_t n;
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	buf[0] = '\0';
	fd = open(p, O_RDONLY);
	if (fd < 0)
		return buf;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static int exists(const char *dir, const char *rel)
{
	char p[512];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	return lstat(p, &st) == 0;
}

/*
 * root/
 *   file                 "top"
 *   a/b/file             "deep"
 *   a/up -> ../file      relative link staying inside
 *   empty/  full/x
 *   to_a -> a            link inside
 *   to_etc -> /etc       absolute link out
 *   to_outside -> ../outside, to_outside_file -> ../outside/secret
 *   out_new -> ../outside/new   dangling, pointing out
 *   abs_inside -> <root>/file   absolute, although it names a file inside
 *   loop1 -> loop2 -> loop1, dangling -> nope
 *   to_proc -> /proc/self/root
 * outside/secret         "secret"
 */
static int setup(void **state)
{
	struct tree *t = calloc(1, sizeof(*t));
	char abs[256];

	assert_non_null(t);
	t->mask = umask(022);
	umask(t->mask);
	strcpy(t->base, "/tmp/test_fsroot.XXXXXX");
	assert_non_null(mkdtemp(t->base));
	snprintf(t->root, sizeof(t->root), "%s/root", t->base);
	snprintf(t->out, sizeof(t->out), "%s/outside", t->base);
	put_dir(t->base, "root");
	put_dir(t->base, "outside");
	put_file(t->out, "secret", "secret");

	put_file(t->root, "file", "top");
	put_dir(t->root, "a");
	put_dir(t->root, "a/b");
	put_file(t->root, "a/b/file", "deep");
	put_link(t->root, "a/up", "../file");
	put_dir(t->root, "empty");
	put_dir(t->root, "full");
	put_file(t->root, "full/x", "x");
	put_link(t->root, "to_a", "a");
	put_link(t->root, "to_etc", "/etc");
	put_link(t->root, "to_outside", "../outside");
	put_link(t->root, "to_outside_file", "../outside/secret");
	put_link(t->root, "out_new", "../outside/new");
	snprintf(abs, sizeof(abs), "%s/file", t->root);
	put_link(t->root, "abs_inside", abs);
	put_link(t->root, "loop1", "loop2");
	put_link(t->root, "loop2", "loop1");
	put_link(t->root, "dangling", "nope");
	put_link(t->root, "to_proc", "/proc/self/root");

	assert_int_equal(fsroot_open(&t->r, t->root), 0);
	*state = t;
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

static int teardown(void **state)
{
	struct tree *t = *state;

	fsroot_close(&t->r);
	assert_int_equal(t->r.fd, -1);
	nftw(t->base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(t);
	return 0;
}

static void check_rc(int line, const char *what, int got, int want)
{
	if (got == want)
		return;
	fail_msg("row at line %d (%s): got %d (%s), want %d (%s)", line, what, got,
	         got < 0 ? strerror(-got) : "ok", want, want < 0 ? strerror(-want) : "ok");
}

/* ---- stat / lstat ------------------------------------------------------ */

struct stat_row {
	int line;
	const char *path;
	size_t len;  /* 0: strlen(path) */
	int stat_rc; /* 0 or -errno */
	mode_t stat_type;
	int lstat_rc;
	mode_t lstat_type;
};

/* clang-format off */
#define S_ROW(p, src, st, lrc, lt) { __LINE__, p, 0, src, st, lrc, lt }

static const struct stat_row stat_rows[] = {
	S_ROW("", 0, S_IFDIR, 0, S_IFDIR),
	S_ROW(".", 0, S_IFDIR, 0, S_IFDIR),
	S_ROW("./", 0, S_IFDIR, 0, S_IFDIR),
	S_ROW("file", 0, S_IFREG, 0, S_IFREG),
	S_ROW("a/b/file", 0, S_IFREG, 0, S_IFREG),
	S_ROW("a/b/", 0, S_IFDIR, 0, S_IFDIR),
	S_ROW("a//b///file", 0, S_IFREG, 0, S_IFREG),
	/* ".." that stays inside is fine */
	S_ROW("a/../file", 0, S_IFREG, 0, S_IFREG),
	S_ROW("a/b/../../file", 0, S_IFREG, 0, S_IFREG),
	S_ROW("a/b/..", 0, S_IFDIR, 0, S_IFDIR),
	/* ".." that escapes, even for a moment */
	S_ROW("..", -EXDEV, 0, -EXDEV, 0),
	S_ROW("../", -EXDEV, 0, -EXDEV, 0),
	S_ROW("../outside/secret", -EXDEV, 0, -EXDEV, 0),
	S_ROW("../root/file", -EXDEV, 0, -EXDEV, 0),
	S_ROW("a/../..", -EXDEV, 0, -EXDEV, 0),
	S_ROW("a/../../etc/passwd", -EXDEV, 0, -EXDEV, 0),
	S_ROW("a/b/../../../outside/secret", -EXDEV, 0, -EXDEV, 0),
	S_ROW("./../file", -EXDEV, 0, -EXDEV, 0),
	/* absolute paths */
	S_ROW("/", -EXDEV, 0, -EXDEV, 0),
	S_ROW("/etc/passwd", -EXDEV, 0, -EXDEV, 0),
	S_ROW("//etc", -EXDEV, 0, -EXDEV, 0),
	/* symlinks: inside ok, out refused, the link itself visible to lstat */
	S_ROW("to_a", 0, S_IFDIR, 0, S_IFLNK),
	S_ROW("to_a/b/file", 0, S_IFREG, 0, S_IFREG),
	S_ROW("a/up", 0, S_IFREG, 0, S_IFLNK),
	S_ROW("to_etc", -EXDEV, 0, 0, S_IFLNK),
	S_ROW("to_etc/", -EXDEV, 0, -EXDEV, 0),
	S_ROW("to_etc/passwd", -EXDEV, 0, -EXDEV, 0),
	S_ROW("to_outside", -EXDEV, 0, 0, S_IFLNK),
	S_ROW("to_outside/secret", -EXDEV, 0, -EXDEV, 0),
	S_ROW("to_outside_file", -EXDEV, 0, 0, S_IFLNK),
	S_ROW("abs_inside", -EXDEV, 0, 0, S_IFLNK),
	S_ROW("to_proc", -EXDEV, 0, 0, S_IFLNK),
	S_ROW("to_proc/etc/passwd", -EXDEV, 0, -EXDEV, 0),
	S_ROW("loop1", -ELOOP, 0, 0, S_IFLNK),
	S_ROW("loop1/x", -ELOOP, 0, -ELOOP, 0),
	S_ROW("dangling", -ENOENT, 0, 0, S_IFLNK),
	S_ROW("nope", -ENOENT, 0, -ENOENT, 0),
	S_ROW("file/", -ENOTDIR, 0, -ENOTDIR, 0),
	S_ROW("file/x", -ENOTDIR, 0, -ENOTDIR, 0),
	/* (pointer, length): an embedded NUL is refused, bytes past len ignored */
	{ __LINE__, "fi\0le", 5, -EINVAL, 0, -EINVAL, 0 },
	{ __LINE__, "\0", 1, -EINVAL, 0, -EINVAL, 0 },
	{ __LINE__, "file\0", 5, -EINVAL, 0, -EINVAL, 0 },
	{ __LINE__, "fileXYZ", 4, 0, S_IFREG, 0, S_IFREG },
	{ __LINE__, "a/b/file/../../../..", 8, 0, S_IFREG, 0, S_IFREG },
};
/* clang-format on */

static void test_stat(void **state)
{
	struct tree *t = *state;

	for (size_t i = 0; i < sizeof(stat_rows) / sizeof(stat_rows[0]); i++) {
		const struct stat_row *row = &stat_rows[i];
		size_t len = row->len ? row->len : strlen(row->path);
		struct stat st;
		int rc;

		rc = fsroot_stat(&t->r, row->path, len, &st);
		check_rc(row->line, "stat", rc, row->stat_rc);
		if (rc == 0 && (st.st_mode & S_IFMT) != row->stat_type)
			fail_msg("row at line %d: stat type %o", row->line, st.st_mode & S_IFMT);
		rc = fsroot_lstat(&t->r, row->path, len, &st);
		check_rc(row->line, "lstat", rc, row->lstat_rc);
		if (rc == 0 && (st.st_mode & S_IFMT) != row->lstat_type)
			fail_msg("row at line %d: lstat type %o", row->line, st.st_mode & S_IFMT);
	}
}

/* ---- lengths ------------------------------------------------------------ */

static void test_lengths(void **state)
{
	struct tree *t = *state;
	char name[TRIAD_NAME_MAX + 2];
	static char path[TRIAD_PATH_MAX + 2];
	struct stat st;
	size_t n;

	/* one component: 255 bytes are looked up, 256 refused before the kernel */
	memset(name, 'n', sizeof(name) - 1);
	name[TRIAD_NAME_MAX] = '\0';
	assert_int_equal(fsroot_stat(&t->r, name, TRIAD_NAME_MAX, &st), -ENOENT);
	assert_int_equal(fsroot_mkdir(&t->r, name, TRIAD_NAME_MAX, 0755), 0);
	assert_int_equal(fsroot_rmdir(&t->r, name, TRIAD_NAME_MAX), 0);
	name[TRIAD_NAME_MAX] = 'n';
	name[TRIAD_NAME_MAX + 1] = '\0';
	assert_int_equal(fsroot_stat(&t->r, name, TRIAD_NAME_MAX + 1, &st), -ENAMETOOLONG);
	assert_int_equal(fsroot_mkdir(&t->r, name, TRIAD_NAME_MAX + 1, 0755), -ENAMETOOLONG);
	assert_int_equal(fsroot_openat(&t->r, name, TRIAD_NAME_MAX + 1, O_RDWR | O_CREAT, 0644),
	                 -ENAMETOOLONG);
	struct fsroot_temp tmp;
	assert_int_equal(fsroot_temp_create(&t->r, name, TRIAD_NAME_MAX + 1, 0644, &tmp),
	                 -ENAMETOOLONG);
	assert_int_equal(tmp.fd, -1);
	assert_int_equal(tmp.dirfd, -1);
	/* checked before the kernel looks anything up (it would say ENOENT for "nope" first) */
	memcpy(path, "nope/", 5);
	memcpy(path + 5, name, TRIAD_NAME_MAX + 1);
	assert_int_equal(fsroot_stat(&t->r, path, 5 + TRIAD_NAME_MAX + 1, &st), -ENAMETOOLONG);
	assert_int_equal(fsroot_stat(&t->r, path, 5 + TRIAD_NAME_MAX, &st), -ENOENT);
	/* a slash resets the count */
	memcpy(name + TRIAD_NAME_MAX + 1 - 2, "/x", 2);
	assert_int_equal(fsroot_stat(&t->r, name, TRIAD_NAME_MAX + 1, &st), -ENOENT);

	/* whole path: 4095 bytes resolve, 4096 reach the kernel (no room for its NUL), 4097 not */
	n = 0;
	while (n + 2 + strlen("/file") <= TRIAD_PATH_MAX - 1) {
		memcpy(path + n, "./", 2);
		n += 2;
	}
	while (n + strlen("/file") < TRIAD_PATH_MAX - 1)
		path[n++] = '/';
	memcpy(path + n, "/file", 5);
	n += 5;
	assert_int_equal(n, TRIAD_PATH_MAX - 1);
	assert_int_equal(fsroot_stat(&t->r, path, n, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	memmove(path + 1, path, n++);
	assert_int_equal(n, TRIAD_PATH_MAX);
	assert_int_equal(fsroot_stat(&t->r, path, n, &st), -ENAMETOOLONG);
	memmove(path + 1, path, n++);
	assert_int_equal(fsroot_stat(&t->r, path, n, &st), -ENAMETOOLONG);
	assert_int_equal(fsroot_unlink(&t->r, path, n), -ENAMETOOLONG);
	assert_int_equal(fsroot_rename(&t->r, "file", 4, path, n), -ENAMETOOLONG);
	assert_int_equal(fsroot_rename(&t->r, path, n, "file", 4), -ENAMETOOLONG);
	assert_null(fsroot_opendir(&t->r, path, n));
	assert_int_equal(errno, ENAMETOOLONG);
	assert_string_equal(slurp(t->root, "file"), "top");
}

/* ---- opendir ------------------------------------------------------------ */

struct dir_row {
	int line;
	const char *path;
	int rc;            /* 0 or -errno */
	const char *entry; /* an entry the listing must hold */
};

/* clang-format off */
static const struct dir_row dir_rows[] = {
	{ __LINE__, "", 0, "file" },
	{ __LINE__, ".", 0, "to_etc" },
	{ __LINE__, "a", 0, "b" },
	{ __LINE__, "a/", 0, "up" },
	{ __LINE__, "to_a", 0, "b" },
	{ __LINE__, "to_a/b", 0, "file" },
	{ __LINE__, "a/b/../..", 0, "file" },
	{ __LINE__, "to_etc", -EXDEV, NULL },
	{ __LINE__, "to_outside", -EXDEV, NULL },
	{ __LINE__, "to_proc", -EXDEV, NULL },
	{ __LINE__, "..", -EXDEV, NULL },
	{ __LINE__, "a/../..", -EXDEV, NULL },
	{ __LINE__, "/etc", -EXDEV, NULL },
	{ __LINE__, "/", -EXDEV, NULL },
	{ __LINE__, "file", -ENOTDIR, NULL },
	{ __LINE__, "a/up", -ENOTDIR, NULL },
	{ __LINE__, "loop1", -ELOOP, NULL },
	{ __LINE__, "dangling", -ENOENT, NULL },
	{ __LINE__, "nope", -ENOENT, NULL },
};
/* clang-format on */

static void test_opendir(void **state)
{
	struct tree *t = *state;

	for (size_t i = 0; i < sizeof(dir_rows) / sizeof(dir_rows[0]); i++) {
		const struct dir_row *row = &dir_rows[i];
		struct dirent *de;
		int found = 0;
		DIR *d;

		errno = 0;
		d = fsroot_opendir(&t->r, row->path, strlen(row->path));
		check_rc(row->line, "opendir", d ? 0 : -errno, row->rc);
		if (d == NULL)
			continue;
		assert_true(fcntl(dirfd(d), F_GETFD) & FD_CLOEXEC);
		while ((de = readdir(d)) != NULL)
			found |= strcmp(de->d_name, row->entry) == 0;
		closedir(d);
		if (!found)
			fail_msg("row at line %d: no entry %s", row->line, row->entry);
	}
	errno = 0;
	assert_null(fsroot_opendir(&t->r, "a\0b", 3));
	assert_int_equal(errno, EINVAL);
}

/* ---- openat --------------------------------------------------------------- */

struct open_row {
	int line;
	const char *path;
	int flags;
	int rc;              /* 0 (an fd) or -errno */
	const char *content; /* what a read finds, NULL to skip */
};

/* clang-format off */
static const struct open_row open_rows[] = {
	{ __LINE__, "file", O_RDONLY, 0, "top" },
	{ __LINE__, "a/b/file", O_RDONLY, 0, "deep" },
	{ __LINE__, "a/up", O_RDONLY, 0, "top" },
	{ __LINE__, "to_a/b/file", O_RDONLY, 0, "deep" },
	{ __LINE__, "a/b/../../file", O_RDONLY, 0, "top" },
	{ __LINE__, "a/../../outside/secret", O_RDONLY, -EXDEV, NULL },
	{ __LINE__, "../outside/secret", O_RDONLY, -EXDEV, NULL },
	{ __LINE__, "/etc/passwd", O_RDONLY, -EXDEV, NULL },
	{ __LINE__, "to_etc/passwd", O_RDONLY, -EXDEV, NULL },
	{ __LINE__, "to_outside_file", O_RDONLY, -EXDEV, NULL },
	{ __LINE__, "to_outside_file", O_WRONLY | O_TRUNC, -EXDEV, NULL },
	{ __LINE__, "to_outside_file", O_WRONLY | O_CREAT | O_TRUNC, -EXDEV, NULL },
	{ __LINE__, "abs_inside", O_RDONLY, -EXDEV, NULL },
	{ __LINE__, "to_proc/etc/passwd", O_RDONLY, -EXDEV, NULL },
	{ __LINE__, "loop1", O_RDONLY, -ELOOP, NULL },
	{ __LINE__, "dangling", O_RDONLY, -ENOENT, NULL },
	{ __LINE__, "a", O_RDONLY | O_DIRECTORY, 0, NULL },
	{ __LINE__, "a", O_WRONLY, -EISDIR, NULL },
	{ __LINE__, "file", O_RDONLY | O_DIRECTORY, -ENOTDIR, NULL },
	/* creating */
	{ __LINE__, "new", O_WRONLY | O_CREAT | O_EXCL, 0, NULL },
	{ __LINE__, "new", O_WRONLY | O_CREAT | O_EXCL, -EEXIST, NULL },
	{ __LINE__, "a/../new2", O_WRONLY | O_CREAT, 0, NULL },
	{ __LINE__, "to_a/new3", O_WRONLY | O_CREAT, 0, NULL },
	{ __LINE__, "../new", O_WRONLY | O_CREAT, -EXDEV, NULL },
	{ __LINE__, "/tmp/new", O_WRONLY | O_CREAT, -EXDEV, NULL },
	{ __LINE__, "to_outside/new", O_WRONLY | O_CREAT, -EXDEV, NULL },
	{ __LINE__, "to_etc/new", O_WRONLY | O_CREAT, -EXDEV, NULL },
	/* a dangling final symlink pointing out: O_CREAT would follow it out */
	{ __LINE__, "out_new", O_WRONLY | O_CREAT, -EXDEV, NULL },
	{ __LINE__, "out_new", O_WRONLY | O_CREAT | O_EXCL, -EEXIST, NULL },
	{ __LINE__, "nope/new", O_WRONLY | O_CREAT, -ENOENT, NULL },
	/* "dangling" points to "nope", inside: creating through it is legitimate */
	{ __LINE__, "dangling", O_WRONLY | O_CREAT, 0, NULL },
};
/* clang-format on */

static void test_openat(void **state)
{
	struct tree *t = *state;

	for (size_t i = 0; i < sizeof(open_rows) / sizeof(open_rows[0]); i++) {
		const struct open_row *row = &open_rows[i];
		int fd = fsroot_openat(&t->r, row->path, strlen(row->path), row->flags, 0644);

		check_rc(row->line, "openat", fd < 0 ? fd : 0, row->rc);
		if (fd < 0)
			continue;
		if (!(fcntl(fd, F_GETFD) & FD_CLOEXEC))
			fail_msg("row at line %d: no O_CLOEXEC", row->line);
		if (row->content) {
			char buf[64];
			ssize_t n = read(fd, buf, sizeof(buf) - 1);

			assert_true(n >= 0);
			buf[n] = '\0';
			if (strcmp(buf, row->content) != 0)
				fail_msg("row at line %d: read \"%s\"", row->line, buf);
		}
		close(fd);
	}
	/* nothing was created or changed outside */
	assert_false(exists(t->out, "new"));
	assert_false(exists(t->base, "new"));
	assert_string_equal(slurp(t->out, "secret"), "secret");
	assert_true(exists(t->root, "new"));
	assert_true(exists(t->root, "new2"));
	assert_true(exists(t->root, "a/new3"));
	assert_true(exists(t->root, "nope"));
}

/* ---- mkdir / rmdir / unlink --------------------------------------------- */

enum op { MKDIR, RMDIR, UNLINK };
static const char *const op_names[] = {"mkdir", "rmdir", "unlink"};

struct name_row {
	int line;
	enum op op;
	const char *path;
	int rc;
	size_t len; /* 0: strlen(path) */
};

/* clang-format off */
#define N_ROW(op, p, rc) { __LINE__, op, p, rc, 0 }

static const struct name_row name_rows[] = {
	N_ROW(MKDIR, "d1", 0),
	N_ROW(MKDIR, "d1", -EEXIST),
	N_ROW(MKDIR, "d2/", 0),
	N_ROW(MKDIR, "d3//", 0),
	N_ROW(MKDIR, "a/b/c", 0),
	N_ROW(MKDIR, "a/../d4", 0),
	N_ROW(MKDIR, "to_a/d5", 0),
	N_ROW(MKDIR, "x/y", -ENOENT),
	N_ROW(MKDIR, "file/y", -ENOTDIR),
	N_ROW(MKDIR, "file", -EEXIST),
	N_ROW(MKDIR, "dangling", -EEXIST),
	N_ROW(MKDIR, "out_new", -EEXIST),
	N_ROW(MKDIR, "", -EINVAL),
	N_ROW(MKDIR, ".", -EINVAL),
	N_ROW(MKDIR, "./", -EINVAL),
	N_ROW(MKDIR, "a/.", -EINVAL),
	N_ROW(MKDIR, "a/..", -EINVAL),
	N_ROW(MKDIR, "..", -EINVAL),
	N_ROW(MKDIR, "../x", -EXDEV),
	N_ROW(MKDIR, "a/../../x", -EXDEV),
	N_ROW(MKDIR, "/tmp/x", -EXDEV),
	N_ROW(MKDIR, "/", -EXDEV),
	N_ROW(MKDIR, "to_etc/x", -EXDEV),
	N_ROW(MKDIR, "to_outside/x", -EXDEV),
	N_ROW(MKDIR, "to_proc/x", -EXDEV),
	N_ROW(MKDIR, "loop1/x", -ELOOP),
	N_ROW(RMDIR, "d1", 0),
	N_ROW(RMDIR, "d1", -ENOENT),
	N_ROW(RMDIR, "d2/", 0),
	N_ROW(RMDIR, "d3///", 0),
	N_ROW(RMDIR, "a/b/c", 0),
	N_ROW(RMDIR, "to_a/d5", 0),
	N_ROW(RMDIR, "full", -ENOTEMPTY),
	N_ROW(RMDIR, "file", -ENOTDIR),
	N_ROW(RMDIR, "to_a", -ENOTDIR),  /* the link is not followed */
	N_ROW(RMDIR, "to_a/", -ENOTDIR),
	N_ROW(RMDIR, "", -EINVAL),
	N_ROW(RMDIR, ".", -EINVAL),
	N_ROW(RMDIR, "a/b/..", -EINVAL),
	N_ROW(RMDIR, "..", -EINVAL),
	N_ROW(RMDIR, "../outside", -EXDEV),
	N_ROW(RMDIR, "to_outside/x", -EXDEV),
	N_ROW(UNLINK, "a/b/file", 0),
	N_ROW(UNLINK, "a/b/file", -ENOENT),
	N_ROW(UNLINK, "empty", -EISDIR),
	N_ROW(UNLINK, "empty/", -EISDIR),
	N_ROW(UNLINK, "file/", -ENOTDIR),
	N_ROW(UNLINK, "nope/", -ENOENT),
	N_ROW(UNLINK, "", -EINVAL),
	N_ROW(UNLINK, "a/..", -EINVAL),
	N_ROW(UNLINK, "../outside/secret", -EXDEV),
	N_ROW(UNLINK, "to_outside/secret", -EXDEV),
	N_ROW(UNLINK, "to_etc/passwd", -EXDEV),
	N_ROW(UNLINK, "/etc/passwd", -EXDEV),
	{ __LINE__, UNLINK, "fi\0le", -EINVAL, 5 },
	{ __LINE__, MKDIR, "d\0", -EINVAL, 2 },
	{ __LINE__, RMDIR, "a\0", -EINVAL, 2 },
	/* links are removed themselves, never what they point at */
	N_ROW(UNLINK, "to_outside_file", 0),
	N_ROW(UNLINK, "to_etc", 0),
	N_ROW(UNLINK, "loop1", 0),
	N_ROW(UNLINK, "to_a", 0),
};
/* clang-format on */

static void test_names(void **state)
{
	struct tree *t = *state;

	for (size_t i = 0; i < sizeof(name_rows) / sizeof(name_rows[0]); i++) {
		const struct name_row *row = &name_rows[i];
		size_t len = row->len ? row->len : strlen(row->path);
		int rc;

		switch (row->op) {
		case MKDIR:
			rc = fsroot_mkdir(&t->r, row->path, len, 0755);
			break;
		case RMDIR:
			rc = fsroot_rmdir(&t->r, row->path, len);
			break;
		default:
			rc = fsroot_unlink(&t->r, row->path, len);
			break;
		}
		check_rc(row->line, op_names[row->op], rc, row->rc);
	}
	assert_true(exists(t->root, "d4"));
	assert_false(exists(t->root, "a/d5"));
	assert_true(exists(t->root, "file"));
	assert_true(exists(t->root, "full/x"));
	assert_true(exists(t->root, "empty"));
	assert_true(exists(t->root, "a"));
	assert_false(exists(t->root, "to_a"));
	assert_string_equal(slurp(t->out, "secret"), "secret");
	assert_false(exists(t->out, "x"));
	assert_false(exists(t->base, "x"));
	assert_int_equal(access("/etc/passwd", F_OK), 0);
}

/* ---- rename --------------------------------------------------------------- */

struct rename_row {
	int line;
	const char *from, *to;
	int rc;
};

/* clang-format off */
static const struct rename_row rename_rows[] = {
	{ __LINE__, "file", "a/b/file2", 0 },
	{ __LINE__, "a/b/file2", "file", 0 },
	{ __LINE__, "a/b/file", "to_a/moved", 0 },
	{ __LINE__, "a/moved", "a/b/file", 0 },
	{ __LINE__, "file", "a/b/file", 0 },    /* replaces */
	{ __LINE__, "a/b/file", "file", 0 },
	{ __LINE__, "empty/", "empty2/", 0 },
	{ __LINE__, "empty2", "empty/", 0 },
	{ __LINE__, "file/", "file3", -ENOTDIR },
	{ __LINE__, "file", "file3/", -ENOTDIR },
	{ __LINE__, "nope", "x", -ENOENT },
	{ __LINE__, "file", "nope/x", -ENOENT },
	{ __LINE__, "full", "empty", 0 },        /* onto an empty directory */
	{ __LINE__, "empty", "full", 0 },
	{ __LINE__, "a", "full", -ENOTEMPTY },
	{ __LINE__, "a", "a/b/a", -EINVAL },      /* into itself */
	{ __LINE__, "file", "a", -EISDIR },
	{ __LINE__, ".", "x", -EINVAL },
	{ __LINE__, "", "x", -EINVAL },
	{ __LINE__, "file", "", -EINVAL },
	{ __LINE__, "file", "..", -EINVAL },
	{ __LINE__, "a/..", "x", -EINVAL },
	/* escaping on either side */
	{ __LINE__, "file", "../stolen", -EXDEV },
	{ __LINE__, "file", "a/../../stolen", -EXDEV },
	{ __LINE__, "file", "/tmp/stolen", -EXDEV },
	{ __LINE__, "file", "to_outside/stolen", -EXDEV },
	{ __LINE__, "file", "to_etc/stolen", -EXDEV },
	{ __LINE__, "../outside/secret", "stolen", -EXDEV },
	{ __LINE__, "to_outside/secret", "stolen", -EXDEV },
	{ __LINE__, "/etc/passwd", "stolen", -EXDEV },
	/* a link moves as a link: still pointing out, still refused when used */
	{ __LINE__, "to_outside_file", "link", 0 },
	{ __LINE__, "file", "to_outside_file", 0 }, /* the name is free again */
	{ __LINE__, "to_outside_file", "file", 0 },
	{ __LINE__, "file", "to_etc", 0 },           /* replaces the link, not /etc */
	{ __LINE__, "to_etc", "file", 0 },
};
/* clang-format on */

static void test_rename(void **state)
{
	struct tree *t = *state;
	struct stat st;

	for (size_t i = 0; i < sizeof(rename_rows) / sizeof(rename_rows[0]); i++) {
		const struct rename_row *row = &rename_rows[i];

		int rc =
		    fsroot_rename(&t->r, row->from, strlen(row->from), row->to, strlen(row->to));

		check_rc(row->line, "rename", rc, row->rc);
	}
	assert_string_equal(slurp(t->root, "file"), "top");
	assert_string_equal(slurp(t->out, "secret"), "secret");
	assert_false(exists(t->out, "stolen"));
	assert_false(exists(t->base, "stolen"));
	assert_false(exists(t->root, "stolen"));
	assert_int_equal(fsroot_lstat(&t->r, "link", 4, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(fsroot_stat(&t->r, "link", 4, &st), -EXDEV);
	assert_int_equal(fsroot_rename(&t->r, "fi\0le", 5, "x", 1), -EINVAL);
	assert_int_equal(fsroot_rename(&t->r, "file", 4, "x\0", 2), -EINVAL);
}

/* ---- utimens -------------------------------------------------------------- */

struct utime_row {
	int line;
	const char *path;
	int rc;
	int nofollow; /* the times land on the link, checked with lstat */
};

/* clang-format off */
static const struct utime_row utime_rows[] = {
	{ __LINE__, "file", 0, 0 },
	{ __LINE__, "a/b/file", 0, 0 },
	{ __LINE__, "a/", 0, 0 },
	{ __LINE__, "to_a/b/file", 0, 0 },
	{ __LINE__, "to_a", 0, 1 },
	{ __LINE__, "to_etc", 0, 1 },
	{ __LINE__, "file/", -ENOTDIR, 0 },
	{ __LINE__, "nope", -ENOENT, 0 },
	{ __LINE__, "", -EINVAL, 0 },
	{ __LINE__, "to_etc/passwd", -EXDEV, 0 },
	{ __LINE__, "../outside/secret", -EXDEV, 0 },
	{ __LINE__, "/etc/passwd", -EXDEV, 0 },
};
/* clang-format on */

static void test_utimens(void **state)
{
	struct tree *t = *state;
	const struct timespec times[2] = {{1000000000, 0}, {1234567890, 500}};
	struct stat st, etc_before, etc_after;

	assert_int_equal(stat("/etc", &etc_before), 0);
	for (size_t i = 0; i < sizeof(utime_rows) / sizeof(utime_rows[0]); i++) {
		const struct utime_row *row = &utime_rows[i];
		size_t len = strlen(row->path);
		int rc = fsroot_utimens(&t->r, row->path, len, times);

		check_rc(row->line, "utimens", rc, row->rc);
		if (rc < 0)
			continue;
		assert_int_equal(fsroot_lstat(&t->r, row->path, len, &st), 0);
		if (st.st_mtim.tv_sec != times[1].tv_sec ||
		    st.st_mtim.tv_nsec != times[1].tv_nsec || st.st_atim.tv_sec != times[0].tv_sec)
			fail_msg("row at line %d: times not set", row->line);
		if (row->nofollow && !S_ISLNK(st.st_mode))
			fail_msg("row at line %d: not the link", row->line);
	}
	/* "to_etc" changed the link, not /etc */
	assert_int_equal(stat("/etc", &etc_after), 0);
	assert_int_equal(etc_after.st_mtim.tv_sec, etc_before.st_mtim.tv_sec);
	assert_int_equal(etc_after.st_mtim.tv_nsec, etc_before.st_mtim.tv_nsec);
}

/* chmod (ftpd SITE CHMOD, MKD modes): never through a final symlink, never out. */
/* clang-format off */
static const struct utime_row chmod_rows[] = {
	{ __LINE__, "file", 0, 0 },
	{ __LINE__, "a/b/file", 0, 0 },
	{ __LINE__, "a/", 0, 0 },
	{ __LINE__, "to_a/b/file", 0, 0 },
	{ __LINE__, "to_etc", -EOPNOTSUPP, 0 },   /* a link's own mode cannot be set */
	{ __LINE__, "file/", -ENOTDIR, 0 },
	{ __LINE__, "nope", -ENOENT, 0 },
	{ __LINE__, "", -EINVAL, 0 },
	{ __LINE__, "to_etc/passwd", -EXDEV, 0 },
	{ __LINE__, "../outside/secret", -EXDEV, 0 },
	{ __LINE__, "/etc/passwd", -EXDEV, 0 },
};
/* clang-format on */

static void test_chmod(void **state)
{
	struct tree *t = *state;
	struct stat st, passwd_before, passwd_after;

	assert_int_equal(stat("/etc/passwd", &passwd_before), 0);
	for (size_t i = 0; i < sizeof(chmod_rows) / sizeof(chmod_rows[0]); i++) {
		const struct utime_row *row = &chmod_rows[i];
		size_t len = strlen(row->path);
		int rc = fsroot_chmod(&t->r, row->path, len, 0750);

		check_rc(row->line, "chmod", rc, row->rc);
		if (rc < 0)
			continue;
		assert_int_equal(fsroot_stat(&t->r, row->path, len, &st), 0);
		if ((st.st_mode & 07777) != 0750)
			fail_msg("row at line %d: mode %o", row->line, st.st_mode & 07777);
	}
	assert_int_equal(stat("/etc/passwd", &passwd_after), 0);
	assert_int_equal(passwd_after.st_mode, passwd_before.st_mode);
	/* An embedded NUL never reaches the kernel. */
	assert_int_equal(fsroot_chmod(&t->r, "file\0x", 6, 0600), -EINVAL);
}

/* ---- temp files ----------------------------------------------------------- */

static int count_temps(const char *dir)
{
	struct dirent *de;
	int n = 0;
	DIR *d = opendir(dir);

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += fsroot_is_temp_name(de->d_name);
	closedir(d);
	return n;
}

static void test_temp_commit(void **state)
{
	struct tree *t = *state;
	char adir[256];
	struct fsroot_temp tmp;
	struct stat st;
	int fd;

	snprintf(adir, sizeof(adir), "%s/a", t->root);
	fd = fsroot_temp_create(&t->r, "a/upload.txt", 12, 0640, &tmp);
	assert_true(fd >= 0);
	assert_int_equal(fd, tmp.fd);
	assert_true(fcntl(tmp.fd, F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(tmp.dirfd, F_GETFD) & FD_CLOEXEC);
	assert_true(fsroot_is_temp_name(tmp.name));
	assert_string_equal(tmp.target, "upload.txt");
	assert_int_equal(strlen(tmp.name), strlen(FSROOT_TEMP_PREFIX) + 32);
	assert_int_equal(count_temps(adir), 1);
	assert_false(exists(adir, "upload.txt"));
	assert_int_equal(write(fd, "payload", 7), 7);
	assert_false(exists(adir, "upload.txt"));
	assert_int_equal(fsroot_temp_commit(&tmp, FSROOT_COMMIT_DURABLE), 0);
	assert_int_equal(tmp.fd, -1);
	assert_int_equal(tmp.dirfd, -1);
	assert_string_equal(slurp(adir, "upload.txt"), "payload");
	assert_int_equal(count_temps(adir), 0);
	assert_int_equal(fsroot_stat(&t->r, "a/upload.txt", 12, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640 & ~t->mask);

	/* overwriting: the old content stays visible until the commit */
	fd = fsroot_temp_create(&t->r, "file", 4, 0644, &tmp);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "new content", 11), 11);
	assert_string_equal(slurp(t->root, "file"), "top");
	assert_int_equal(fsroot_temp_commit(&tmp, 0), 0);
	assert_string_equal(slurp(t->root, "file"), "new content");
	assert_int_equal(count_temps(t->root), 0);

	/* two uploads of the same name at once get distinct temp files */
	struct fsroot_temp t2;
	assert_true(fsroot_temp_create(&t->r, "file", 4, 0644, &tmp) >= 0);
	assert_true(fsroot_temp_create(&t->r, "to_a/../file", 12, 0644, &t2) >= 0);
	assert_string_not_equal(tmp.name, t2.name);
	assert_int_equal(count_temps(t->root), 2);
	assert_int_equal(write(tmp.fd, "one", 3), 3);
	assert_int_equal(write(t2.fd, "two", 3), 3);
	assert_int_equal(fsroot_temp_commit(&tmp, FSROOT_COMMIT_DURABLE), 0);
	assert_int_equal(fsroot_temp_commit(&t2, FSROOT_COMMIT_DURABLE), 0);
	assert_string_equal(slurp(t->root, "file"), "two");
	assert_int_equal(count_temps(t->root), 0);

	/* commit onto a directory fails and leaves no temp file behind */
	assert_true(fsroot_temp_create(&t->r, "empty", 5, 0644, &tmp) >= 0);
	assert_int_equal(fsroot_temp_commit(&tmp, FSROOT_COMMIT_DURABLE), -EISDIR);
	assert_int_equal(tmp.fd, -1);
	assert_int_equal(count_temps(t->root), 0);
	assert_int_equal(fsroot_temp_commit(&tmp, FSROOT_COMMIT_DURABLE), -EBADF);
	fsroot_temp_abort(&tmp); /* harmless after the fact */

	/* NOREPLACE: an existing target stays, the temp file stays for another name */
	assert_true(fsroot_temp_create(&t->r, "file", 4, 0644, &tmp) >= 0);
	assert_int_equal(write(tmp.fd, "unique", 6), 6);
	assert_int_equal(fsroot_temp_commit(&tmp, FSROOT_COMMIT_NOREPLACE), -EEXIST);
	assert_string_equal(slurp(t->root, "file"), "two");
	assert_true(tmp.fd >= 0);
	assert_int_equal(count_temps(t->root), 1);
	strcpy(tmp.target, "file.1");
	assert_int_equal(
	    fsroot_temp_commit(&tmp, FSROOT_COMMIT_NOREPLACE | FSROOT_COMMIT_DURABLE), 0);
	assert_string_equal(slurp(t->root, "file.1"), "unique");
	assert_string_equal(slurp(t->root, "file"), "two");
	assert_int_equal(count_temps(t->root), 0);
	assert_int_equal(tmp.fd, -1);
}

static void test_temp_abort(void **state)
{
	struct tree *t = *state;
	struct fsroot_temp tmp;
	int fd;

	fd = fsroot_temp_create(&t->r, "file", 4, 0644, &tmp);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "partial", 7), 7);
	assert_int_equal(count_temps(t->root), 1);
	fsroot_temp_abort(&tmp);
	assert_int_equal(tmp.fd, -1);
	assert_int_equal(tmp.dirfd, -1);
	assert_int_equal(count_temps(t->root), 0);
	assert_string_equal(slurp(t->root, "file"), "top");
	fsroot_temp_abort(&tmp); /* twice is harmless */

	fd = fsroot_temp_create(&t->r, "a/b/never", 9, 0644, &tmp);
	assert_true(fd >= 0);
	fsroot_temp_abort(&tmp);
	assert_false(exists(t->root, "a/b/never"));
	assert_int_equal(count_temps(t->root), 0);
}

struct temp_row {
	int line;
	const char *path;
	size_t len; /* 0: strlen */
	int rc;
};

/* clang-format off */
static const struct temp_row temp_rows[] = {
	{ __LINE__, "", 0, -EINVAL },
	{ __LINE__, ".", 0, -EINVAL },
	{ __LINE__, "a/", 0, -EINVAL },
	{ __LINE__, "a/..", 0, -EINVAL },
	{ __LINE__, "nope/x", 0, -ENOENT },
	{ __LINE__, "file/x", 0, -ENOTDIR },
	{ __LINE__, "../x", 0, -EXDEV },
	{ __LINE__, "/tmp/x", 0, -EXDEV },
	{ __LINE__, "to_outside/x", 0, -EXDEV },
	{ __LINE__, "to_etc/x", 0, -EXDEV },
	{ __LINE__, "to_proc/x", 0, -EXDEV },
	{ __LINE__, "a/../../x", 0, -EXDEV },
	{ __LINE__, "x\0y", 3, -EINVAL },
};
/* clang-format on */

static void test_temp_refused(void **state)
{
	struct tree *t = *state;

	for (size_t i = 0; i < sizeof(temp_rows) / sizeof(temp_rows[0]); i++) {
		const struct temp_row *row = &temp_rows[i];
		struct fsroot_temp tmp;
		int rc = fsroot_temp_create(&t->r, row->path,
		                            row->len ? row->len : strlen(row->path), 0644, &tmp);

		check_rc(row->line, "temp_create", rc < 0 ? rc : 0, row->rc);
		if (rc >= 0) {
			fsroot_temp_abort(&tmp);
			continue;
		}
		if (tmp.fd != -1 || tmp.dirfd != -1)
			fail_msg("row at line %d: fds left open", row->line);
		fsroot_temp_abort(&tmp); /* safe on a failed create */
	}
	assert_false(exists(t->out, "x"));
	assert_int_equal(count_temps(t->out), 0);
	assert_int_equal(count_temps(t->root), 0);
}

struct tempname_row {
	int line;
	const char *name;
	int is_temp;
};

/* clang-format off */
static const struct tempname_row tempname_rows[] = {
	{ __LINE__, ".triad-tmp.0123abcd", 1 },
	{ __LINE__, ".triad-tmp.", 1 },
	{ __LINE__, ".triad-tmp", 0 },
	{ __LINE__, ".triad", 0 },
	{ __LINE__, "triad-tmp.x", 0 },
	{ __LINE__, "x.triad-tmp.x", 0 },
	{ __LINE__, ".well-known", 0 },
	{ __LINE__, "", 0 },
};
/* clang-format on */

static void test_is_temp_name(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(tempname_rows) / sizeof(tempname_rows[0]); i++) {
		const struct tempname_row *row = &tempname_rows[i];

		if (!fsroot_is_temp_name(row->name) != !row->is_temp)
			fail_msg("row at line %d: %s", row->line, row->name);
	}
}

/* ---- sub-roots ------------------------------------------------------------ */

struct sub_row {
	int line;
	const char *sub; /* beneath the tree's root */
	int open_rc;
	const char *path; /* then stat this beneath the sub-root */
	int stat_rc;
};

/* clang-format off */
static const struct sub_row sub_rows[] = {
	{ __LINE__, "a", 0, "b/file", 0 },
	{ __LINE__, "a", 0, "", 0 },
	{ __LINE__, "a/", 0, "b", 0 },
	{ __LINE__, "a", 0, "..", -EXDEV },
	{ __LINE__, "a", 0, "../file", -EXDEV },
	{ __LINE__, "a", 0, "b/../../file", -EXDEV },
	{ __LINE__, "a", 0, "up", -EXDEV },  /* ../file is inside root but not inside a/ */
	{ __LINE__, "a/b", 0, "file", 0 },
	{ __LINE__, "a/b", 0, "../up", -EXDEV },
	{ __LINE__, "to_a", 0, "b/file", 0 },
	{ __LINE__, "to_a", 0, "up", -EXDEV },
	{ __LINE__, "", 0, "file", 0 },
	{ __LINE__, "to_etc", -EXDEV, NULL, 0 },
	{ __LINE__, "to_outside", -EXDEV, NULL, 0 },
	{ __LINE__, "..", -EXDEV, NULL, 0 },
	{ __LINE__, "/etc", -EXDEV, NULL, 0 },
	{ __LINE__, "file", -ENOTDIR, NULL, 0 },
	{ __LINE__, "nope", -ENOENT, NULL, 0 },
	{ __LINE__, "loop1", -ELOOP, NULL, 0 },
};
/* clang-format on */

static void test_open_sub(void **state)
{
	struct tree *t = *state;

	for (size_t i = 0; i < sizeof(sub_rows) / sizeof(sub_rows[0]); i++) {
		const struct sub_row *row = &sub_rows[i];
		struct fsroot sub;
		struct stat st;
		int rc = fsroot_open_sub(&sub, &t->r, row->sub, strlen(row->sub));

		check_rc(row->line, "open_sub", rc, row->open_rc);
		if (rc < 0) {
			assert_int_equal(sub.fd, -1);
			continue;
		}
		assert_true(fcntl(sub.fd, F_GETFD) & FD_CLOEXEC);
		check_rc(row->line, "stat in sub",
		         fsroot_stat(&sub, row->path, strlen(row->path), &st), row->stat_rc);
		fsroot_close(&sub);
	}

	/* a sub-root of a sub-root stays inside both */
	struct fsroot a, b;
	struct stat st;
	assert_int_equal(fsroot_open_sub(&a, &t->r, "a", 1), 0);
	assert_int_equal(fsroot_open_sub(&b, &a, "b", 1), 0);
	assert_int_equal(fsroot_stat(&b, "file", 4, &st), 0);
	assert_int_equal(fsroot_stat(&b, "../up", 5, &st), -EXDEV);
	assert_int_equal(fsroot_open_sub(&b, &a, "../a", 4), -EXDEV);
	fsroot_close(&a);
	fsroot_close(&a); /* twice is harmless */
}

/* ---- roots -------------------------------------------------------------- */

static void test_open_root(void **state)
{
	struct tree *t = *state;
	struct fsroot r;
	char p[256];

	snprintf(p, sizeof(p), "%s/nope", t->base);
	assert_int_equal(fsroot_open(&r, p), -ENOENT);
	snprintf(p, sizeof(p), "%s/file", t->root);
	assert_int_equal(fsroot_open(&r, p), -ENOTDIR);
	/* a root reached through a symlink is fine: only what is beneath it is confined */
	snprintf(p, sizeof(p), "%s/to_a", t->root);
	assert_int_equal(fsroot_open(&r, p), 0);
	assert_true(fcntl(r.fd, F_GETFL) & O_PATH);
	assert_true(fcntl(r.fd, F_GETFD) & FD_CLOEXEC);
	struct stat st;
	assert_int_equal(fsroot_stat(&r, "b/file", 6, &st), 0);
	fsroot_close(&r);
}

/* ---- magic links ------------------------------------------------------- */

struct magic_row {
	int line;
	const char *path;
	int rc;
};

/* Beneath /proc/self every entry below is a magic link (or leads through one). */
/* clang-format off */
static const struct magic_row magic_rows[] = {
	{ __LINE__, "root", -ELOOP },
	{ __LINE__, "root/etc/passwd", -ELOOP },
	{ __LINE__, "cwd", -ELOOP },
	{ __LINE__, "exe", -ELOOP },
	{ __LINE__, "fd/0", -ELOOP },
	{ __LINE__, "status", 0 },  /* an ordinary file there is fine */
};
/* clang-format on */

static void test_magic_links(void **state)
{
	struct tree *t = *state;
	struct fsroot proc;
	struct stat st;
	DIR *d;

	assert_int_equal(fsroot_open(&proc, "/proc/self"), 0);
	for (size_t i = 0; i < sizeof(magic_rows) / sizeof(magic_rows[0]); i++) {
		const struct magic_row *row = &magic_rows[i];
		size_t len = strlen(row->path);
		int fd;

		check_rc(row->line, "stat", fsroot_stat(&proc, row->path, len, &st), row->rc);
		fd = fsroot_openat(&proc, row->path, len, O_RDONLY, 0);
		check_rc(row->line, "openat", fd < 0 ? fd : 0, row->rc);
		if (fd >= 0)
			close(fd);
	}
	errno = 0;
	d = fsroot_opendir(&proc, "root", 4);
	assert_null(d);
	assert_int_equal(errno, ELOOP);
	fsroot_close(&proc);

	/* a link in the tree to a magic link is absolute, hence refused before /proc */
	assert_int_equal(fsroot_stat(&t->r, "to_proc", 7, &st), -EXDEV);
	assert_int_equal(fsroot_open_sub(&proc, &t->r, "to_proc", 7), -EXDEV);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_stat, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lengths, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_opendir, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_openat, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_names, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rename, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_utimens, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_chmod, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_temp_commit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_temp_abort, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_temp_refused, setup, teardown),
	    cmocka_unit_test(test_is_temp_name),
	    cmocka_unit_test_setup_teardown(test_open_sub, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_root, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_magic_links, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
