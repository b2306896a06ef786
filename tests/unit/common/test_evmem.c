/*
 * evmem (common/evmem.c): libevent's small allocations (its per-descriptor
 * records) come from evmem's own region and go back to it; libevent keeps
 * working on top of it (events fire, buffers hold their bytes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/event.h>

#include "triad/evmem.h"

static int fired;

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	(void)arg;
	char c;
	if (read(fd, &c, 1) == 1)
		fired++;
}

/* One record per watched descriptor, from evmem; all back when the loop goes. */
static void test_per_descriptor_records_are_evmem_slots(void **state)
{
	(void)state;
	enum { N = 64 };
	size_t before = evmem_slots_in_use();
	struct event_base *base = event_base_new();
	assert_non_null(base);
	int sv[N][2];
	struct event *ev[N];
	for (int i = 0; i < N; i++) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv[i]), 0);
		ev[i] = event_new(base, sv[i][0], EV_READ | EV_PERSIST, on_read, NULL);
		assert_non_null(ev[i]);
		assert_int_equal(event_add(ev[i], NULL), 0);
	}
	assert_true(evmem_slots_in_use() >= before + N);
	for (int i = 0; i < N; i++)
		assert_int_equal(write(sv[i][1], "x", 1), 1);
	fired = 0;
	for (int i = 0; i < 10 && fired < N; i++)
		event_base_loop(base, EVLOOP_ONCE);
	assert_int_equal(fired, N);
	for (int i = 0; i < N; i++) {
		event_free(ev[i]);
		close(sv[i][0]);
		close(sv[i][1]);
	}
	event_base_free(base);
	assert_int_equal(evmem_slots_in_use(), before);
}

/* Larger allocations (buffer chains) go to malloc and keep their bytes. */
static void test_buffers_keep_their_bytes(void **state)
{
	(void)state;
	struct evbuffer *b = evbuffer_new();
	assert_non_null(b);
	char big[10000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7);
	for (int i = 0; i < 20; i++)
		assert_int_equal(evbuffer_add(b, big, sizeof(big)), 0);
	assert_int_equal(evbuffer_get_length(b), 20 * sizeof(big));
	char out[10000];
	for (int i = 0; i < 20; i++) {
		assert_int_equal(evbuffer_remove(b, out, sizeof(out)), (int)sizeof(out));
		assert_memory_equal(out, big, sizeof(big));
	}
	evbuffer_free(b);
}

int main(void)
{
	/* Before any other libevent call, as the daemons do (server.c). */
	assert_int_equal(evmem_install(), 0);
	assert_int_equal(evmem_install(), 0); /* idempotent */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_per_descriptor_records_are_evmem_slots),
		cmocka_unit_test(test_buffers_keep_their_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
