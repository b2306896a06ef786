/*
 * workq: a small pool of threads for the blocking work a loop thread must
 * never do itself (fsync, rename+fsync of a directory, large unlinks...).
 *
 * workq_submit() queues RUN(arg) for a pool thread; when it returns, DONE(arg)
 * runs on BASE (the submitting worker's loop). The queue is bounded
 * (WORKQ_QUEUE_MAX): a full queue refuses the job so the caller can answer
 * "try again later" instead of piling up memory.
 */
#ifndef TRIAD_WORKQ_H
#define TRIAD_WORKQ_H

struct event_base;

#define WORKQ_QUEUE_MAX 4096

typedef void (*workq_fn)(void *arg);

int workq_start(unsigned nthreads);
/* 0, or -1 when the queue is full or the pool is not running. */
int workq_submit(struct event_base *base, workq_fn run, workq_fn done, void *arg);
/* Runs what is queued, then joins the threads. Call it once the loops have
 * stopped: completions still posted to them are dropped (freed, never run). */
void workq_stop(void);

#endif
