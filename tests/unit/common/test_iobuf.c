/*
 * iobuf: the bound (an add past it adds nothing and marks the buffer),
 * printf on both of its paths (stack and heap), copy/consume, and writing
 * the content out to a socket the test reads back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "triad/iobuf.h"

static void test_bound_refuses_whole_add(void **state)
{
	(void)state;
	struct iobuf *b = iobuf_new(8);
	assert_non_null(b);
	assert_int_equal(iobuf_add(b, "12345", 5), 0);
	assert_false(iobuf_overflowed(b));
	/* 5 + 4 > 8: nothing of it goes in, not even the 3 bytes that would fit. */
	assert_int_equal(iobuf_add(b, "6789", 4), -1);
	assert_true(iobuf_overflowed(b));
	assert_int_equal(iobuf_len(b), 5);
	/* Exactly up to the bound is fine; the mark stays once set. */
	assert_int_equal(iobuf_add_str(b, "678"), 0);
	assert_int_equal(iobuf_len(b), 8);
	assert_true(iobuf_overflowed(b));
	assert_int_equal(iobuf_add(b, "", 0), 0);
	assert_int_equal(iobuf_add(b, "x", 1), -1);
	char got[9] = {0};
	assert_int_equal(iobuf_copy(b, got, sizeof(got)), 8);
	assert_string_equal(got, "12345678");
	iobuf_free(b);
	iobuf_free(NULL);
}

static void test_printf_small_and_large(void **state)
{
	(void)state;
	struct iobuf *b = iobuf_new(4096);
	assert_int_equal(iobuf_printf(b, "<%s:%d>", "a", 42), 0);
	char big[1500];
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	/* Longer than the stack buffer: formatted on the heap, same result. */
	assert_int_equal(iobuf_printf(b, "[%s]", big), 0);
	assert_int_equal(iobuf_len(b), 6 + 1 + 1499 + 1);
	char got[1600];
	size_t n = iobuf_copy(b, got, sizeof(got));
	assert_int_equal(n, 1507);
	assert_memory_equal(got, "<a:42>[", 7);
	assert_int_equal(got[7 + 1498], 'z');
	assert_int_equal(got[1506], ']');
	assert_false(iobuf_overflowed(b));
	iobuf_free(b);
}

static void test_printf_past_bound_adds_nothing(void **state)
{
	(void)state;
	char big[800];
	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	/* Short output (formatted on the stack): one byte too many adds nothing. */
	struct iobuf *b = iobuf_new(300);
	assert_int_equal(iobuf_printf(b, "%s", "head "), 0);
	assert_int_equal(iobuf_printf(b, "%.*s", 296, big), -1);
	assert_int_equal(iobuf_len(b), 5);
	assert_true(iobuf_overflowed(b));
	assert_int_equal(iobuf_printf(b, "%.*s", 295, big), 0);
	assert_int_equal(iobuf_len(b), 300);
	iobuf_free(b);
	/* Long output (formatted on the heap): the same rule. */
	b = iobuf_new(700);
	assert_int_equal(iobuf_printf(b, "%.*s", 701, big), -1);
	assert_int_equal(iobuf_len(b), 0);
	assert_true(iobuf_overflowed(b));
	assert_int_equal(iobuf_printf(b, "%.*s", 700, big), 0);
	assert_int_equal(iobuf_len(b), 700);
	iobuf_free(b);
}

static void test_copy_consume(void **state)
{
	(void)state;
	struct iobuf *b = iobuf_new(64);
	iobuf_add_str(b, "hello world");
	char got[16] = {0};
	assert_int_equal(iobuf_copy(b, got, 5), 5);
	assert_string_equal(got, "hello");
	assert_int_equal(iobuf_len(b), 11); /* copy does not consume */
	assert_int_equal(iobuf_consume(b, 6), 6);
	memset(got, 0, sizeof(got));
	assert_int_equal(iobuf_copy(b, got, sizeof(got)), 5);
	assert_string_equal(got, "world");
	assert_int_equal(iobuf_consume(b, 100), 5); /* clipped to what is there */
	assert_int_equal(iobuf_len(b), 0);
	/* Consumed bytes free room under the bound again. */
	char fill[64];
	memset(fill, 'f', sizeof(fill));
	assert_int_equal(iobuf_add(b, fill, sizeof(fill)), 0);
	iobuf_free(b);
}

static void test_write_fd(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	struct iobuf *b = iobuf_new(1 << 20);
	char block[4096];
	for (size_t i = 0; i < sizeof(block); i++)
		block[i] = (char)('a' + i % 26);
	for (int i = 0; i < 16; i++) /* 64 KiB in several chains */
		assert_int_equal(iobuf_add(b, block, sizeof(block)), 0);
	/* The peer has room for it all (the test reads only afterwards). */
	int big = 1 << 20;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	assert_int_equal(iobuf_write_fd(b, sv[0]), 0);
	assert_int_equal(iobuf_len(b), 0);
	size_t total = 0;
	char got[4096];
	while (total < 16 * sizeof(block)) {
		ssize_t n = read(sv[1], got, sizeof(got) < 16 * sizeof(block) - total
		                                 ? sizeof(got)
		                                 : 16 * sizeof(block) - total);
		assert_true(n > 0);
		for (ssize_t i = 0; i < n; i++)
			assert_int_equal(got[i], block[(total + (size_t)i) % sizeof(block)]);
		total += (size_t)n;
	}
	/* A closed peer: the error comes back as -errno, the bytes stay. */
	close(sv[1]);
	signal(SIGPIPE, SIG_IGN);
	iobuf_add_str(b, "lost?");
	assert_int_equal(iobuf_write_fd(b, sv[0]), -EPIPE);
	assert_int_equal(iobuf_len(b), 5);
	close(sv[0]);
	iobuf_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bound_refuses_whole_add),
		cmocka_unit_test(test_printf_small_and_large),
		cmocka_unit_test(test_printf_past_bound_adds_nothing),
		cmocka_unit_test(test_copy_consume),
		cmocka_unit_test(test_write_fd),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
