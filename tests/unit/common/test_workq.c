/*
 * workq: jobs run off the loop thread and their completions run on the
 * submitting loop, every one exactly once; a stopped pool refuses work.
 * Job lifetime (workq.h): a tracked job is untracked by its done callback,
 * and one whose done never ran (its loop stopped first) is released exactly
 * once by workq_jobs_release().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "triad/server.h"
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

struct tjob {
	struct workq_job job; /* first */
	int id;
};

static int tj_ran, tj_done, tj_released;

static void tj_run(void *arg)
{
	(void)arg;
	__atomic_add_fetch(&tj_ran, 1, __ATOMIC_RELAXED);
}

static void tj_finish(void *arg)
{
	struct tjob *j = arg;
	workq_job_untrack(&j->job);
	tj_done++;
	free(j);
}

static void tj_release(struct workq_job *j)
{
	assert_null(j->w); /* untracked before its release runs */
	tj_released++;
	free(j);
}

static void submit_tracked(struct worker *w, int n)
{
	for (int i = 0; i < n; i++) {
		struct tjob *j = calloc(1, sizeof(*j));
		assert_non_null(j);
		j->id = i;
		workq_job_track(w, &j->job, tj_release);
		assert_int_equal(workq_submit(w->base, tj_run, tj_finish, j), 0);
	}
}

static size_t tracked(const struct worker *w)
{
	size_t n = 0;
	for (const struct workq_job *j = w->jobs; j; j = j->next)
		n++;
	return n;
}

static void test_job_lifetime(void **state)
{
	(void)state;
	evthread_use_pthreads();
	struct worker w = {0};
	w.base = event_base_new();
	assert_int_equal(workq_start(2), 0);
	/* Done callbacks that run untrack their jobs: nothing left to release. */
	submit_tracked(&w, 10);
	assert_int_equal(tracked(&w), 10);
	struct timeval tick = {0, 10000};
	for (int spins = 0; tj_done < 10 && spins < 1000; spins++) {
		event_base_loopexit(w.base, &tick);
		event_base_dispatch(w.base);
	}
	assert_int_equal(tj_done, 10);
	assert_null(w.jobs);
	/* The loop never runs again: the jobs run (workq_stop drains the
	 * queue), their completions are dropped, the jobs stay tracked ... */
	submit_tracked(&w, 7);
	workq_stop();
	assert_int_equal(tj_ran, 17);
	assert_int_equal(tj_done, 10);
	assert_int_equal(tracked(&w), 7);
	/* ... until released, each once. */
	workq_jobs_release(&w);
	assert_int_equal(tj_released, 7);
	assert_null(w.jobs);
	workq_jobs_release(&w);
	assert_int_equal(tj_released, 7);
	event_base_free(w.base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jobs_complete_on_the_loop),
		cmocka_unit_test(test_job_lifetime),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
