/*
 * workq: FIFO of jobs, a fixed set of pool threads, results posted back to
 * the submitting loop with event_base_once (thread-safe: server.c turns on
 * libevent's pthread locking before any base exists).
 */
#include "triad/workq.h"
#include "triad/limits.h"
#include "triad/server.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <event2/event.h>

struct job {
	struct job *next;
	struct job *posted_prev, *posted_next; /* on the posted list while its done waits */
	struct event_base *base;
	workq_fn run, done;
	void *arg;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready = PTHREAD_COND_INITIALIZER;
static struct job *head, *tail;
/* Jobs whose done callback is posted to a loop but has not run: a loop that
 * stopped first (shutdown) never runs it, and workq_stop() frees them. */
static struct job *posted;
static unsigned queued;
static bool running;
static pthread_t *threads;
static unsigned nthreads_started;

static void done_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct job *j = arg;
	pthread_mutex_lock(&lock);
	if (j->posted_prev)
		j->posted_prev->posted_next = j->posted_next;
	else if (posted == j)
		posted = j->posted_next;
	if (j->posted_next)
		j->posted_next->posted_prev = j->posted_prev;
	pthread_mutex_unlock(&lock);
	if (j->done)
		j->done(j->arg);
	free(j);
}

static void *pool_main(void *unused)
{
	(void)unused;
	pthread_mutex_lock(&lock);
	for (;;) {
		while (!head && running)
			pthread_cond_wait(&ready, &lock);
		if (!head)
			break;
		struct job *j = head;
		head = j->next;
		if (!head)
			tail = NULL;
		queued--;
		pthread_mutex_unlock(&lock);

		j->run(j->arg);
		pthread_mutex_lock(&lock);
		j->posted_prev = NULL;
		j->posted_next = posted;
		if (posted)
			posted->posted_prev = j;
		posted = j;
		pthread_mutex_unlock(&lock);
		static const struct timeval now = {0, 0};
		if (event_base_once(j->base, -1, EV_TIMEOUT, done_cb, j, &now) < 0) {
			/* The loop is gone (shutdown): finish here rather than leak. */
			done_cb(-1, 0, j);
		}
		pthread_mutex_lock(&lock);
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

int workq_start(unsigned n)
{
	threads = calloc(n, sizeof(*threads));
	if (!threads)
		return -1;
	running = true;
	for (unsigned i = 0; i < n; i++) {
		if (pthread_create(&threads[i], NULL, pool_main, NULL) != 0)
			break;
		nthreads_started++;
	}
	return nthreads_started ? 0 : -1;
}

int workq_submit(struct event_base *base, workq_fn run, workq_fn done, void *arg)
{
	struct job *j = malloc(sizeof(*j));
	if (!j)
		return -1;
	*j = (struct job){.base = base, .run = run, .done = done, .arg = arg};
	pthread_mutex_lock(&lock);
	if (!running || queued >= TRIAD_WORKQ_QUEUE_MAX) {
		pthread_mutex_unlock(&lock);
		free(j);
		return -1;
	}
	if (tail)
		tail->next = j;
	else
		head = j;
	tail = j;
	queued++;
	pthread_cond_signal(&ready);
	pthread_mutex_unlock(&lock);
	return 0;
}

void workq_stop(void)
{
	pthread_mutex_lock(&lock);
	running = false;
	pthread_cond_broadcast(&ready);
	pthread_mutex_unlock(&lock);
	for (unsigned i = 0; i < nthreads_started; i++)
		pthread_join(threads[i], NULL);
	free(threads);
	threads = NULL;
	nthreads_started = 0;
	/* Called after the loops stopped: completions never delivered are dropped. */
	pthread_mutex_lock(&lock);
	while (posted) {
		struct job *j = posted;
		posted = j->posted_next;
		free(j);
	}
	pthread_mutex_unlock(&lock);
}

/* ---- job lifetime ----------------------------------------------------------- */

void workq_job_track(struct worker *w, struct workq_job *j, void (*release)(struct workq_job *j))
{
	j->w = w;
	j->release = release;
	j->prev = NULL;
	j->next = w->jobs;
	if (j->next)
		j->next->prev = j;
	w->jobs = j;
}

void workq_job_untrack(struct workq_job *j)
{
	if (!j->w)
		return;
	if (j->prev)
		j->prev->next = j->next;
	else
		j->w->jobs = j->next;
	if (j->next)
		j->next->prev = j->prev;
	j->w = NULL;
}

void workq_job_free(struct workq_job *j)
{
	free(j);
}

int workq_submit_job(struct worker *w, struct workq_job *j, void (*release)(struct workq_job *j),
                     workq_fn run, workq_fn done)
{
	workq_job_track(w, j, release);
	if (workq_submit(w->base, run, done, j) == 0)
		return 0;
	workq_job_untrack(j);
	return -1;
}

void workq_jobs_release(struct worker *w)
{
	while (w->jobs) {
		struct workq_job *j = w->jobs;
		workq_job_untrack(j);
		j->release(j);
	}
}

static void periodic_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct workq_periodic *p = arg;
	struct workq_job *j = p->prepare();
	if (j && workq_submit_job(p->w, j, workq_job_free, p->run, p->done) < 0)
		p->discard(j);
}

void workq_periodic_start(struct workq_periodic *p, struct worker *w)
{
	if (w->index != 0 || p->ev)
		return;
	p->w = w;
	p->ev = event_new(w->base, -1, EV_PERSIST, periodic_tick, p);
	if (!p->ev)
		return;
	struct timeval first = {(time_t)p->first_s, 0}, every = {(time_t)p->every_s, 0};
	event_add(p->ev, &every);
	event_base_once(w->base, -1, EV_TIMEOUT, periodic_tick, p, &first);
}

void workq_periodic_stop(struct workq_periodic *p, struct worker *w)
{
	if (w->index != 0 || !p->ev)
		return;
	event_free(p->ev);
	p->ev = NULL;
}
