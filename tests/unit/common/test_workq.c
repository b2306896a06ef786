/*
 * workq: jobs run off the loop thread and their completions run on the
 * submitting loop, every one exactly once; a stopped pool refuses work.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "triad/workq.h"

#define JOBS 500

static pthread_t loop_thread;
static int ran[JOBS], done[JOBS];
static int off_loop, on_loop, completed;

static void run(void *arg)
{
	int i = (int)(intptr_t)arg;
	ran[i]++;
	if (!pthread_equal(pthread_self(), loop_thread))
		__atomic_add_fetch(&off_loop, 1, __ATOMIC_RELAXED);
}

static void finish(void *arg)
{
	int i = (int)(intptr_t)arg;
	done[i]++;
	completed++;
	if (pthread_equal(pthread_self(), loop_thread))
		on_loop++;
}

static void test_jobs_complete_on_the_loop(void **state)
{
	(void)state;
	evthread_use_pthreads();
	struct event_base *base = event_base_new();
	loop_thread = pthread_self();
	assert_int_equal(workq_start(4), 0);
	for (int i = 0; i < JOBS; i++)
		assert_int_equal(workq_submit(base, run, finish, (void *)(intptr_t)i), 0);
	struct timeval tick = {0, 10000};
	for (int spins = 0; completed < JOBS && spins < 1000; spins++) {
		event_base_loopexit(base, &tick);
		event_base_dispatch(base);
	}
	workq_stop();
	assert_int_equal(completed, JOBS);
	assert_int_equal(off_loop, JOBS);
	assert_int_equal(on_loop, JOBS);
	for (int i = 0; i < JOBS; i++) {
		assert_int_equal(ran[i], 1);
		assert_int_equal(done[i], 1);
	}
	/* Stopped: refused, so the caller can answer "try again later". */
	assert_int_equal(workq_submit(base, run, finish, NULL), -1);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jobs_complete_on_the_loop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
