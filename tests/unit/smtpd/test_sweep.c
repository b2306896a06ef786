/*
 * Unit tests for smtpd/sweep.c: which Maildir tmp/ names are smtpd's own
 * (smtp_maildir_name()'s "<sec>.M<usec>P<pid>Q<seq>.<host>", issue 14 fix 5),
 * and the walk over <root>/<domain>/<mailbox>/tmp.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../../smtpd/sweep.h"

static void test_ours(void **state)
{
	(void)state;
	/* clang-format off */
	static const struct {
		int line;
		const char *name, *host;
		bool ours;
		long pid;
	} rows[] = {
		{__LINE__, "1733000000.M123456P4242Q7.mx.example.org", "mx.example.org", true, 4242},
		{__LINE__, "0.M0P1Q0.h", "h", true, 1},
		{__LINE__, "1.M1P4242Q7.mx.example.org", "mx.example.net", false, 0},  /* another host */
		{__LINE__, "1.M1P4242Q7.mx.example.org.x", "mx.example.org", false, 0},
		{__LINE__, "1.M1P4242Q7.mx.example.or", "mx.example.org", false, 0},
		{__LINE__, "1.M1P4242Q7.mx.example.org,S=5", "mx.example.org", false, 0}, /* new/ form */
		{__LINE__, "1.M1P0Q7.h", "h", false, 0},        /* no pid 0 */
		{__LINE__, "1.M1PQ7.h", "h", false, 0},
		{__LINE__, "1.MP1Q7.h", "h", false, 0},
		{__LINE__, ".M1P1Q7.h", "h", false, 0},
		{__LINE__, "1.M1P-1Q7.h", "h", false, 0},
		{__LINE__, "1.M1P99999999999999999999999Q7.h", "h", false, 0}, /* overflow */
		{__LINE__, "1733000000.12345_1.otherhost", "otherhost", false, 0}, /* another MDA */
		{__LINE__, "1.M1P5Q7.a\\057b", "a/b", true, 5},  /* the escaped '/' of the name */
		{__LINE__, "1.M1P5Q7.a/b", "a/b", false, 0},
		{__LINE__, "", "h", false, 0},
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		long pid = 0;
		bool got = smtp_sweep_ours(rows[i].name, rows[i].host, &pid);
		if (got != rows[i].ours || (got && pid != rows[i].pid))
			fail_msg("row at line %d: %s -> %d pid %ld", rows[i].line, rows[i].name, got,
			         pid);
	}
}

static bool gone_if_odd(long pid)
{
	return pid % 2 == 1;
}

static void put(int dirfd, const char *path, time_t mtime)
{
	int fd = openat(dirfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	struct timespec ts[2] = {{mtime, 0}, {mtime, 0}};
	assert_int_equal(utimensat(dirfd, path, ts, 0), 0);
}

static bool exists(int dirfd, const char *path)
{
	struct stat st;
	return fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static void test_walk(void **state)
{
	(void)state;
	char tmpl[] = "/tmp/triad-sweep-XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	int root = open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(root >= 0);
	time_t now = 1800000000;
	const char *dirs[] = {"d", "d/a", "d/a/tmp", "d/b", "d/b/tmp", "e", "e/c", "e/c/tmp", "x"};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		assert_int_equal(mkdirat(root, dirs[i], 0700), 0);
	put(root, "d/a/tmp/1.M1P3Q1.h", now);          /* writer gone: removed */
	put(root, "d/a/tmp/1.M1P4Q1.h", now - 90000);  /* writer alive, 25 h: kept */
	put(root, "d/b/tmp/1.M1P5Q1.other", now);      /* another host's name, fresh: kept */
	put(root, "d/b/tmp/old.foreign", now - 36 * 3600); /* maildir(5): 36 h, removed */
	put(root, "e/c/tmp/young.foreign", now - 3600);
	put(root, "x/1.M1P3Q1.h", now);                /* not in a tmp/: never touched */
	assert_int_equal(symlinkat("../d/a", root, "e/link"), 0); /* not followed */
	assert_int_equal(smtp_sweep_maildirs(root, "h", now, gone_if_odd), 2);
	assert_false(exists(root, "d/a/tmp/1.M1P3Q1.h"));
	assert_true(exists(root, "d/a/tmp/1.M1P4Q1.h"));
	assert_true(exists(root, "d/b/tmp/1.M1P5Q1.other"));
	assert_false(exists(root, "d/b/tmp/old.foreign"));
	assert_true(exists(root, "e/c/tmp/young.foreign"));
	assert_true(exists(root, "x/1.M1P3Q1.h"));
	close(root);
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpl);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ours),
	    cmocka_unit_test(test_walk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
