/*
 * Unit tests for ftpd/sweep.c: ftp_sweep_tree removes old temp files of ours
 * anywhere in the tree, and nothing else (fresh temp files, other names,
 * other owners' files by uid, symlinks, what lies behind a symlinked
 * directory). Everything lives in a private mkdtemp() directory. Rows carry
 * __LINE__.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../../ftpd/sweep.h"
#include "triad/fsroot.h"

#define OLD (4 * 3600)
#define AGE 3600

static char base[PATH_MAX];

static void make(const char *rel, time_t age)
{
	char p[PATH_MAX + 64];
	snprintf(p, sizeof(p), "%s/%s", base, rel);
	int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	struct timespec t[2] = {{time(NULL) - age, 0}, {time(NULL) - age, 0}};
	assert_int_equal(futimens(fd, t), 0);
	close(fd);
}

static bool exists(const char *rel)
{
	char p[PATH_MAX + 64];
	struct stat st;
	snprintf(p, sizeof(p), "%s/%s", base, rel);
	return lstat(p, &st) == 0;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static int setup(void **state)
{
	(void)state;
	char tmpl[] = "/tmp/triad-test-sweep-XXXXXX";
	if (!mkdtemp(tmpl))
		return -1;
	strcpy(base, tmpl);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return nftw(base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static const struct {
	int line;
	const char *rel;
	time_t age;
	bool stays;
} rows[] = {
	{__LINE__, FSROOT_TEMP_PREFIX "0123456789abcdef0123456789abcdef", OLD, false},
	{__LINE__, FSROOT_TEMP_PREFIX "fresh", 60, true},
	{__LINE__, FSROOT_TEMP_PREFIX "justyoung", AGE - 120, true},
	{__LINE__, "old-but-ordinary.bin", OLD, true},
	{__LINE__, ".hidden-old", OLD, true},
	{__LINE__, "sub/" FSROOT_TEMP_PREFIX "deep", OLD, false},
	{__LINE__, "sub/deeper/" FSROOT_TEMP_PREFIX "deeper", OLD, false},
	{__LINE__, "sub/deeper/keep.txt", OLD, true},
	{__LINE__, "outside/" FSROOT_TEMP_PREFIX "behind-link", OLD, true},
};

static void test_rows(void **state)
{
	(void)state;
	char p[PATH_MAX + 64];
	snprintf(p, sizeof(p), "%s/sub", base);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/sub/deeper", base);
	assert_int_equal(mkdir(p, 0755), 0);
	/* "outside" stands for a tree the root only links to */
	char out[PATH_MAX + 64], tree[PATH_MAX + 64];
	snprintf(out, sizeof(out), "%s/outside", base);
	assert_int_equal(mkdir(out, 0755), 0);
	snprintf(tree, sizeof(tree), "%s/tree", base);
	assert_int_equal(mkdir(tree, 0755), 0);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		make(rows[i].rel, rows[i].age);
	/* the sweep starts in tree/, which holds the rows through links and copies */
	snprintf(p, sizeof(p), "%s/tree/link", base);
	assert_int_equal(symlink(out, p), 0);
	snprintf(p, sizeof(p), "%s/tree/" FSROOT_TEMP_PREFIX "symlink", base);
	assert_int_equal(symlink(out, p), 0);

	int root = open(base, O_RDONLY | O_DIRECTORY);
	assert_true(root >= 0);
	/* someone else's temp files (another uid) stay */
	assert_int_equal(ftp_sweep_tree(root, time(NULL), AGE, getuid() + 1), 0);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (!exists(rows[i].rel))
			fail_msg("row at line %d: %s removed for another uid", rows[i].line,
			         rows[i].rel);
	/* the links of tree/ are never followed: outside/ keeps its old temp file */
	int t = openat(root, "tree", O_RDONLY | O_DIRECTORY);
	assert_true(t >= 0);
	assert_int_equal(ftp_sweep_tree(t, time(NULL), AGE, getuid()), 0);
	close(t);
	assert_true(exists("tree/" FSROOT_TEMP_PREFIX "symlink"));
	assert_true(exists("outside/" FSROOT_TEMP_PREFIX "behind-link"));

	unsigned removed = ftp_sweep_tree(root, time(NULL), AGE, getuid());
	close(root);
	unsigned want = 0;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		/* outside/ is an ordinary directory of the root here: swept too */
		bool stays = rows[i].stays && strncmp(rows[i].rel, "outside/", 8) != 0;
		want += !stays;
		if (exists(rows[i].rel) != stays)
			fail_msg("row at line %d: %s %s", rows[i].line, rows[i].rel,
			         stays ? "was removed" : "is still there");
	}
	assert_int_equal(removed, want);
	assert_true(exists("tree/" FSROOT_TEMP_PREFIX "symlink")); /* not a regular file */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rows, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
