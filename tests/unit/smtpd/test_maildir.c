/*
 * Unit tests for smtpd/maildir.c's group commit: one fsync per distinct
 * directory per batch, errors reported to every caller, and concurrent
 * callers all returning once their directories are synced.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../../smtpd/session.h"

static char base[64];
static int dir_a, dir_b;

static int setup(void **state)
{
	(void)state;
	snprintf(base, sizeof(base), "/tmp/triad-maildir-XXXXXX");
	if (!mkdtemp(base))
		return -1;
	char p[96];
	snprintf(p, sizeof(p), "%s/a", base);
	mkdir(p, 0700);
	dir_a = open(p, O_RDONLY | O_DIRECTORY);
	snprintf(p, sizeof(p), "%s/b", base);
	mkdir(p, 0700);
	dir_b = open(p, O_RDONLY | O_DIRECTORY);
	return dir_a >= 0 && dir_b >= 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char p[96];
	close(dir_a);
	close(dir_b);
	snprintf(p, sizeof(p), "%s/a", base);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/b", base);
	rmdir(p);
	rmdir(base);
	return 0;
}

static void test_same_directory_once(void **state)
{
	(void)state;
	uint64_t b0, s0, r0, b1, s1, r1;
	int again = dup(dir_a);
	int fds[] = {dir_a, dir_b, again, dir_a};
	smtp_maildir_commit_stats(&b0, &s0, &r0);
	assert_int_equal(smtp_maildir_commit_dirs(fds, 4), 0);
	smtp_maildir_commit_stats(&b1, &s1, &r1);
	/* alone, one call is one batch: four requests, two distinct directories */
	assert_int_equal(b1 - b0, 1);
	assert_int_equal(r1 - r0, 4);
	assert_int_equal(s1 - s0, 2);
	close(again);
}

static void test_error(void **state)
{
	(void)state;
	int fds[] = {dir_a, -1};
	assert_int_equal(smtp_maildir_commit_dirs(fds, 2), -EBADF);
}

#define THREADS 16
#define ROUNDS 50

static void *worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < ROUNDS; i++) {
		int fds[] = {i % 2 ? dir_a : dir_b};
		if (smtp_maildir_commit_dirs(fds, 1) != 0)
			return (void *)1;
	}
	return NULL;
}

static void test_concurrent(void **state)
{
	(void)state;
	uint64_t b0, s0, r0, b1, s1, r1;
	pthread_t t[THREADS];
	smtp_maildir_commit_stats(&b0, &s0, &r0);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, worker, NULL), 0);
	for (int i = 0; i < THREADS; i++) {
		void *rc;
		pthread_join(t[i], &rc);
		assert_null(rc);
	}
	smtp_maildir_commit_stats(&b1, &s1, &r1);
	assert_int_equal(r1 - r0, THREADS * ROUNDS);
	/* every request was served by a batch; never more fsyncs than requests */
	assert_true(s1 - s0 <= r1 - r0);
	assert_true(b1 - b0 <= s1 - s0);
	assert_true(b1 - b0 >= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_same_directory_once),
	    cmocka_unit_test(test_error),
	    cmocka_unit_test(test_concurrent),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
