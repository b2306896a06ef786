/*
 * workq: a small pool of threads for the blocking work a loop thread must
 * never do itself (fsync, rename+fsync of a directory, large unlinks...).
 *
 * workq_submit() queues RUN(arg) for a pool thread; when it returns, DONE(arg)
 * runs on BASE (the submitting worker's loop). The queue is bounded
 * (TRIAD_WORKQ_QUEUE_MAX): a full queue refuses the job so the caller can answer
 * "try again later" instead of piling up memory.
 *
 * Job lifetime (the one rule for every daemon). An object whose work spans
 * workq jobs and may outlive the session that started it (an FTP upload's
 * prefix copy or commit, an SMTP spool and delivery, a mailbox lookup)
 * embeds a struct workq_job and is tracked by its worker from creation to
 * free (workq_job_track / workq_job_untrack, loop thread only):
 *   - a session that goes away first clears its own pointer in the object,
 *     so the object's done callback finds no session and only frees it;
 *   - the done callback untracks and frees it;
 *   - a done callback that never runs (workq_stop() drops the completions of
 *     loops that stopped first; shutdown_timeout cuts sessions) leaves it
 *     tracked: server.c calls workq_jobs_release() for each worker once the
 *     loops and the pool have stopped, and RELEASE detaches it from its
 *     session, finishes what must not be left (a spool in tmp/) and frees it.
 */
#ifndef TRIAD_WORKQ_H
#define TRIAD_WORKQ_H

struct event;
struct event_base;
struct worker;

typedef void (*workq_fn)(void *arg);

int workq_start(unsigned nthreads);
/* 0, or -1 when the queue is full or the pool is not running. */
int workq_submit(struct event_base *base, workq_fn run, workq_fn done, void *arg);
/* Runs what is queued, then joins the threads. Call it once the loops have
 * stopped: completions still posted to them are dropped (freed, never run). */
void workq_stop(void);

struct workq_job {
	struct workq_job *next, *prev;
	struct worker *w; /* NULL: not tracked */
	void (*release)(struct workq_job *j);
};

/* Tracks J on W's list until workq_job_untrack(); RELEASE frees it should
 * its done callback never run. */
void workq_job_track(struct worker *w, struct workq_job *j, void (*release)(struct workq_job *j));
/* Takes J off its worker's list (nothing when it is not on one). */
void workq_job_untrack(struct workq_job *j);
/* After the loops and the pool stopped: releases every job still on W's list. */
void workq_jobs_release(struct worker *w);
/* The release of a job that owns nothing but its own heap block (J first in it). */
void workq_job_free(struct workq_job *j);
/* workq_job_track() then workq_submit() on W's loop; a full queue untracks J
 * again and returns -1 (J is the caller's to free). */
int workq_submit_job(struct worker *w, struct workq_job *j, void (*release)(struct workq_job *j),
                     workq_fn run, workq_fn done);

/*
 * A periodic job on worker 0 (ftpd's sweep of upload temp files, smtpd's of
 * Maildir tmp/): FIRST_S seconds after start, then every EVERY_S seconds,
 * PREPARE (loop thread) returns the job, a heap block with struct workq_job
 * first, or NULL to skip this tick; it is tracked and submitted with RUN (a
 * pool thread) and DONE (the loop again; it untracks and frees the job).
 * Should DONE never run (a stop right after a tick), RUN did (workq_stop
 * runs what is queued): the block alone is freed. A job the full queue
 * refuses goes to DISCARD, which frees it and what PREPARE took with it; the
 * next tick tries again. Zero-initialise EV and W.
 */
struct workq_periodic {
	unsigned first_s, every_s;
	struct workq_job *(*prepare)(void);
	workq_fn run, done;
	void (*discard)(struct workq_job *j);
	struct event *ev; /* the timer, on worker 0's loop */
	struct worker *w;
};

/* server_ops worker_init / worker_fini: start and stop P's timer when W is
 * worker 0; nothing on the other workers. */
void workq_periodic_start(struct workq_periodic *p, struct worker *w);
void workq_periodic_stop(struct workq_periodic *p, struct worker *w);

#endif
