/*
 * fdio: whole-buffer writes and reads over a pipe, the short transfers a
 * pipe makes when the other side works in pieces, end of file before the
 * count, and a bad descriptor.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "triad/fdio.h"

/* A child writes LEN bytes of a pattern in pieces of PIECE bytes. */
static pid_t writer(int fd, size_t len, size_t piece)
{
	pid_t pid = fork();
	if (pid == 0) {
		char b[256];
		for (size_t i = 0; i < len; i += piece) {
			size_t n = len - i < piece ? len - i : piece;
			for (size_t k = 0; k < n; k++)
				b[k] = (char)('a' + (i + k) % 26);
			if (fdio_write_all(fd, b, n) < 0)
				_exit(1);
			usleep(1000);
		}
		_exit(0);
	}
	return pid;
}

static void test_read_all_across_pieces(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = writer(p[1], 1000, 7);
	close(p[1]);
	char got[1000];
	assert_int_equal(fdio_read_all(p[0], got, sizeof(got)), 0);
	for (size_t i = 0; i < sizeof(got); i++)
		assert_int_equal(got[i], 'a' + i % 26);
	close(p[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_read_all_eof_before_count(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(fdio_write_all(p[1], "abc", 3), 0);
	close(p[1]);
	char got[8];
	assert_int_equal(fdio_read_all(p[0], got, sizeof(got)), -EIO);
	assert_memory_equal(got, "abc", 3); /* what came is kept */
	close(p[0]);
}

static void test_bad_descriptor(void **state)
{
	(void)state;
	char b[4] = "xyz";
	assert_int_equal(fdio_read_all(-1, b, sizeof(b)), -EBADF);
	assert_int_equal(fdio_write_all(-1, b, sizeof(b)), -EBADF);
	assert_int_equal(fdio_read_all(-1, b, 0), 0); /* nothing asked, nothing done */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_read_all_across_pieces),
	    cmocka_unit_test(test_read_all_eof_before_count),
	    cmocka_unit_test(test_bad_descriptor),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
