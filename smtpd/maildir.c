/*
 * maildir: durable delivery of one message into every recipient's Maildir
 * (interface.md; the Maildir convention: tmp/, then new/).
 *
 * Spool: no file work runs on the loop thread. When DATA (or the first BDAT
 * chunk) starts, Return-Path: and Received: are built in memory and the
 * message follows through smtp_maildir_write() (the assembler's sink) into a
 * buffer. A full batch (SMTP_SPOOL_BATCH) goes to a workq thread, which
 * creates the spool file in tmp/ of the first recipient's Maildir on its
 * first write; the loop fills the next batch meanwhile. When that one is
 * full too and the write is still in flight, smtp_maildir_full() tells the
 * session to stop feeding (and reading) until the write is done: at most
 * two batches per connection. A message smaller than a batch never needs a
 * write of its own: the delivery creates and writes the file. Nothing is
 * visible in new/ yet.
 *
 * Delivery runs on a workq thread, after any write in flight: write the
 * last batch and fsync the spool; for every further
 * Maildir copy it into that Maildir's tmp/ and fsync the copy; rename each
 * tmp/ file to new/<unique>,S=<size>; then fsync every new/ directory
 * (group commit, below). Only then does the session answer 250. Any failure
 * removes the copies already renamed into new/ and every tmp/ file: 451
 * (452 for ENOSPC/EDQUOT) and no copy is left in new/.
 *
 * Group commit: deliveries queue their new/ directories; whichever thread
 * finds no commit running takes the whole queue and fsyncs each distinct
 * directory once, then wakes everyone in that batch. Deliveries arriving
 * meanwhile form the next batch, so concurrent sessions share directory
 * fsyncs instead of paying one each.
 *
 * The delivery holds a reference to its configuration generation (which
 * owns the maildir fsroot), so a session that goes away while a write or the
 * delivery is in flight only detaches from it; the done callback then frees
 * it, unlinking the tmp/ file. Every delivery is a tracked job (session.h):
 * when the process stops with a session cut at shutdown_timeout, or a done
 * callback never ran, workq_jobs_release() frees it, and its tmp/ file goes.
 */
#include "session.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "triad/fdio.h"
#include "triad/log.h"
#include "triad/workq.h"

#include "headers.h"

#define DIR_MAX (SMTP_DOMAIN_MAX + 2 * SMTP_LOCAL_PART_MAX + 4)

struct box {
	char dir[DIR_MAX];   /* "<domain>/<local>" beneath maildir_root */
	bool in_tmp, in_new; /* where our file is, for the rollback */
};

struct smtp_delivery {
	struct workq_job job; /* first: the worker's list (workq.h) */
	struct conf *conf;   /* a reference: keeps the maildir fsroot open */
	const struct fsroot *root;
	struct smtp_session *s; /* NULL once the session went away */
	void (*done)(struct smtp_session *, enum smtp_rid);
	uint64_t conn_id;
	int fd;         /* the spool: tmp/<name> of boxes[0] */
	char name[256]; /* unique name; new/ gets name + ",S=<size>" */
	char final[288];
	struct box *boxes;
	size_t nboxes;
	char *buf; /* the batch being filled (the loop's; the delivery job's at the end) */
	size_t buflen, bufcap;
	char *wbuf; /* the batch being written (the write job's) */
	size_t wlen, wcap;
	uint64_t size;      /* octets of the message file (headers + body) */
	int werr;           /* errno of a failed spool write (loop thread) */
	int jerr;           /* ... as the write job saw it (handed over by its done) */
	bool running;       /* a workq thread owns it (a write, or the delivery) */
	bool commit_wanted; /* the message ended while a write was in flight */
	enum smtp_rid result;
};

static _Atomic uint64_t seq;

/* The P<pid> of every Maildir name: asked once (glibc no longer caches
 * getpid, and a system call per message shows in its count). Set in the
 * daemon after its last fork (the PAM helper's, at start): no process that
 * read it forks a child that delivers. */
static long own_pid(void)
{
	static _Atomic long pid;
	long p = atomic_load_explicit(&pid, memory_order_relaxed);
	if (p == 0) {
		p = (long)getpid();
		atomic_store_explicit(&pid, p, memory_order_relaxed);
	}
	return p;
}

static int path_of(char *out, size_t cap, const char *dir, const char *sub, const char *name)
{
	int n = snprintf(out, cap, "%s/%s/%s", dir, sub, name);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : n;
}

/* Blocking: a workq thread, or the main thread once the loops have stopped. */
static void unlink_tmp(struct smtp_delivery *d)
{
	if (d->fd >= 0) {
		close(d->fd);
		d->fd = -1;
	}
	for (size_t i = 0; i < d->nboxes; i++) {
		char p[DIR_MAX + sizeof(d->name) + 8];
		if (d->boxes[i].in_tmp &&
		    path_of(p, sizeof(p), d->boxes[i].dir, "tmp", d->name) > 0)
			fsroot_unlink(d->root, p, strlen(p));
		d->boxes[i].in_tmp = false;
	}
}

static bool has_tmp(const struct smtp_delivery *d)
{
	for (size_t i = 0; i < d->nboxes; i++)
		if (d->boxes[i].in_tmp)
			return true;
	return false;
}

static void free_delivery(struct smtp_delivery *d)
{
	workq_job_untrack(&d->job);
	unlink_tmp(d); /* mostly nothing left: see drop_delivery() */
	conf_unref(d->conf);
	free(d->boxes);
	free(d->buf);
	free(d->wbuf);
	free(d);
}

/* The process stops: the session (if any) is never run again. */
static void release(struct workq_job *j)
{
	struct smtp_delivery *d = (struct smtp_delivery *)j;
	if (d->s && d->s->tx && d->s->tx->dlv == d)
		d->s->tx->dlv = NULL;
	free_delivery(d);
}

static void cleanup_run(void *arg)
{
	unlink_tmp(arg);
}

static void cleanup_done(void *arg)
{
	free_delivery(arg);
}

/* Loop thread: an abandoned message's tmp/ file is unlinked on the workq
 * (file work never runs on a loop thread), then the delivery is freed. Only
 * when the queue refuses the job is it unlinked here; at exit (after the
 * loops and the workq stopped) workq_jobs_release() does it on the main thread. */
static void drop_delivery(struct smtp_delivery *d)
{
	if (has_tmp(d) && workq_submit(d->job.w->base, cleanup_run, cleanup_done, d) == 0)
		return; /* still tracked: released at exit if its done never runs */
	free_delivery(d);
}

/* Workq thread: the spool file, tmp/<name> of the first Maildir. */
static int open_spool(struct smtp_delivery *d)
{
	char p[DIR_MAX + sizeof(d->name) + 8];
	int rc = path_of(p, sizeof(p), d->boxes[0].dir, "tmp", d->name);
	if (rc >= 0)
		rc = fsroot_openat(d->root, p, strlen(p),
		                   O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (rc < 0)
		return rc;
	d->fd = rc;
	d->boxes[0].in_tmp = true;
	return 0;
}

struct smtp_delivery *smtp_maildir_open(struct smtp_session *s, char *err, size_t errlen)
{
	const struct smtp_tx *tx = s->tx;
	struct smtp_delivery *d = calloc(1, sizeof(*d));
	if (!d || !(d->buf = malloc(SMTP_SPOOL_FIRST)) ||
	    !(d->boxes = calloc(tx->nrcpts ? tx->nrcpts : 1, sizeof(*d->boxes)))) {
		if (d)
			free(d->buf);
		free(d);
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	d->fd = -1;
	d->bufcap = SMTP_SPOOL_FIRST;
	d->conf = conf_ref(s->c->conf);
	d->root = &s->app->maildirs;
	d->conn_id = s->c->id;
	d->s = s;
	workq_job_track(s->c->worker, &d->job, release);
	for (size_t i = 0; i < tx->nrcpts; i++) {
		if (tx->rcpts[i].dup)
			continue;
		snprintf(d->boxes[d->nboxes++].dir, DIR_MAX, "%s/%s", tx->rcpts[i].domain,
		         tx->rcpts[i].local);
	}

	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int n = smtp_maildir_name(d->name, sizeof(d->name), ts.tv_sec, ts.tv_nsec / 1000,
	                          own_pid(), atomic_fetch_add(&seq, 1), s->app->hostname, 0);
	char *comma = n > 0 ? strrchr(d->name, ',') : NULL;
	if (!comma) {
		snprintf(err, errlen, "cannot build a Maildir name");
		errno = EINVAL;
		free_delivery(d);
		return NULL;
	}
	*comma = '\0'; /* the size goes on when the message moves to new/ */

	/* RFC 5321 §4.4: Return-Path: and Received: lead the stored message. */
	char desc[128] = "";
	if (conn_is_tls(s->c))
		conn_tls_describe(s->c, desc, sizeof(desc));
	struct conn_ip ip = conn_peer_ip(s->c);
	struct smtp_trace t = {
	    .helo = s->helo,
	    .peer_ip = ip.s,
	    .hostname = s->app->hostname,
	    .esmtp = s->esmtp,
	    .smtputf8 = tx->mail.smtputf8,
	    .tls = conn_is_tls(s->c),
	    .auth = s->auth_user[0] != '\0',
	    .tls_desc = desc,
	    .id = tx->id,
	    .rcpt = smtp_rcpt_count(tx) == 1 ? tx->rcpts[0].r.path.addr : NULL,
	    .when = ts.tv_sec,
	};
	int h1 = smtp_return_path(d->buf, d->bufcap, tx->mail.path.addr);
	int h2 = h1 < 0 ? -1 : smtp_received(d->buf + h1, d->bufcap - (size_t)h1, &t);
	if (h2 < 0) {
		snprintf(err, errlen, "cannot build the trace headers");
		free_delivery(d);
		errno = EINVAL;
		return NULL;
	}
	d->buflen = (size_t)h1 + (size_t)h2;
	d->size = d->buflen;
	return d;
}

static void write_run(void *arg);
static void write_done(void *arg);

/* Hands the full batch to a write job; the loop goes on with an empty one. */
static void start_write(struct smtp_delivery *d)
{
	char *b = d->wbuf;
	size_t cap = d->wcap;
	d->wbuf = d->buf;
	d->wcap = d->bufcap;
	d->wlen = d->buflen;
	d->buf = b;
	d->bufcap = cap;
	d->buflen = 0;
	d->running = true;
	if (workq_submit(d->job.w->base, write_run, write_done, d) < 0) {
		/* The queue is full: the message fails (451), as a failed write would. */
		d->running = false;
		d->werr = EAGAIN;
		d->wlen = 0;
	}
}

int smtp_maildir_write(void *arg, const char *buf, size_t len)
{
	struct smtp_delivery *d = arg;
	if (d->werr)
		return -1;
	d->size += len;
	if (d->buflen + len > d->bufcap) {
		/* Grows to a batch (or a little past it: the session stops feeding once
		 * a batch is full, and one feed adds at most what it was offered). */
		size_t cap = d->bufcap ? d->bufcap : SMTP_SPOOL_FIRST;
		while (cap < d->buflen + len)
			cap = cap < SMTP_SPOOL_BATCH ? cap * 2 : d->buflen + len;
		char *nb = d->buf ? realloc(d->buf, cap) : malloc(cap);
		if (!nb) {
			d->werr = ENOMEM;
			return -1;
		}
		d->buf = nb;
		d->bufcap = cap;
	}
	memcpy(d->buf + d->buflen, buf, len);
	d->buflen += len;
	if (d->buflen >= SMTP_SPOOL_BATCH && !d->running)
		start_write(d);
	return d->werr ? -1 : 0;
}

bool smtp_maildir_full(const struct smtp_delivery *d)
{
	return d && !d->werr && d->buflen >= SMTP_SPOOL_BATCH;
}

int smtp_maildir_errno(const struct smtp_delivery *d)
{
	return d ? d->werr : 0;
}

/* ---- group commit ------------------------------------------------------------ */

struct commit_req {
	int fd;
	dev_t dev;
	ino_t ino;
	int err;
	bool done;
	struct commit_req *next;
};

static pthread_mutex_t cm_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cm_cv = PTHREAD_COND_INITIALIZER;
static struct commit_req *cm_pending;
static bool cm_busy;
static _Atomic uint64_t cm_batches, cm_syncs, cm_requests;

/* fsyncs the directories of REQS[0..n), sharing fsyncs with concurrent callers. */
static int commit_reqs(struct commit_req *reqs, size_t n)
{
	pthread_mutex_lock(&cm_mu);
	for (size_t i = 0; i < n; i++) {
		reqs[i].done = false;
		reqs[i].next = cm_pending;
		cm_pending = &reqs[i];
	}
	for (;;) {
		bool all = true;
		for (size_t i = 0; i < n; i++)
			all = all && reqs[i].done;
		if (all)
			break;
		if (cm_busy) {
			pthread_cond_wait(&cm_cv, &cm_mu);
			continue;
		}
		cm_busy = true;
		struct commit_req *batch = cm_pending;
		cm_pending = NULL;
		pthread_mutex_unlock(&cm_mu);
		uint64_t nreq = 0, nsync = 0;
		for (struct commit_req *r = batch; r; r = r->next) {
			struct commit_req *same = NULL;
			for (struct commit_req *q = batch; q != r; q = q->next)
				if (q->dev == r->dev && q->ino == r->ino) {
					same = q;
					break;
				}
			nreq++;
			if (same) {
				r->err = same->err;
			} else {
				r->err = fsync(r->fd) < 0 ? errno : 0;
				nsync++;
			}
		}
		atomic_fetch_add(&cm_batches, 1);
		atomic_fetch_add(&cm_syncs, nsync);
		atomic_fetch_add(&cm_requests, nreq);
		pthread_mutex_lock(&cm_mu);
		for (struct commit_req *r = batch; r; r = r->next)
			r->done = true;
		cm_busy = false;
		pthread_cond_broadcast(&cm_cv);
	}
	pthread_mutex_unlock(&cm_mu);
	for (size_t i = 0; i < n; i++)
		if (reqs[i].err)
			return -reqs[i].err;
	return 0;
}

int smtp_maildir_commit_dirs(const int *fds, size_t n)
{
	struct commit_req one[8] = {0};
	if (n == 0)
		return 0;
	struct commit_req *reqs = n <= 8 ? one : calloc(n, sizeof(*reqs));
	if (!reqs)
		return -ENOMEM;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct stat st;
		if (fstat(fds[i], &st) < 0)
			rc = -errno;
		else
			reqs[i] =
			    (struct commit_req){.fd = fds[i], .dev = st.st_dev, .ino = st.st_ino};
	}
	if (rc == 0)
		rc = commit_reqs(reqs, n);
	if (reqs != one)
		free(reqs);
	return rc;
}

void smtp_maildir_commit_stats(uint64_t *batches, uint64_t *fsyncs, uint64_t *requests)
{
	*batches = atomic_load(&cm_batches);
	*fsyncs = atomic_load(&cm_syncs);
	*requests = atomic_load(&cm_requests);
}

/* ---- the delivery (workq thread) ------------------------------------------------ */

static int copy_to(struct smtp_delivery *d, struct box *b)
{
	char p[DIR_MAX + sizeof(d->name) + 8];
	int rc = path_of(p, sizeof(p), b->dir, "tmp", d->name);
	if (rc < 0)
		return rc;
	int out = fsroot_openat(d->root, p, strlen(p),
	                        O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (out < 0)
		return out;
	b->in_tmp = true;
	/* Both batches are free once written: the larger serves as the copy buffer. */
	char *buf = d->bufcap >= d->wcap ? d->buf : d->wbuf;
	size_t cap = d->bufcap >= d->wcap ? d->bufcap : d->wcap;
	off_t off = 0;
	rc = 0;
	for (;;) {
		ssize_t n = pread(d->fd, buf, cap, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		if (n == 0)
			break;
		if ((rc = fdio_write_all(out, buf, (size_t)n)) < 0)
			break;
		off += n;
	}
	if (rc == 0 && fsync(out) < 0)
		rc = -errno;
	if (close(out) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

static int deliver(struct smtp_delivery *d)
{
	int rc = d->fd < 0 ? open_spool(d) : 0;
	if (rc < 0)
		return rc;
	rc = fdio_write_all(d->fd, d->buf, d->buflen);
	d->buflen = 0;
	if (rc < 0)
		return rc;
	if (fsync(d->fd) < 0)
		return -errno;
	/* Reopen read-only access for copies: the spool was opened write-only. */
	if (d->nboxes > 1) {
		char p[DIR_MAX + sizeof(d->name) + 8];
		path_of(p, sizeof(p), d->boxes[0].dir, "tmp", d->name);
		int rfd =
		    fsroot_openat(d->root, p, strlen(p), O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0);
		if (rfd < 0)
			return rfd;
		close(d->fd);
		d->fd = rfd;
	}
	snprintf(d->final, sizeof(d->final), "%s,S=%llu", d->name, (unsigned long long)d->size);
	for (size_t i = 1; i < d->nboxes; i++)
		if ((rc = copy_to(d, &d->boxes[i])) < 0)
			return rc;
	for (size_t i = 0; i < d->nboxes; i++) {
		char from[DIR_MAX + sizeof(d->name) + 8], to[DIR_MAX + sizeof(d->final) + 8];
		if ((rc = path_of(from, sizeof(from), d->boxes[i].dir, "tmp", d->name)) < 0 ||
		    (rc = path_of(to, sizeof(to), d->boxes[i].dir, "new", d->final)) < 0)
			return rc;
		rc = fsroot_rename(d->root, from, strlen(from), to, strlen(to));
		if (rc < 0)
			return rc;
		d->boxes[i].in_tmp = false;
		d->boxes[i].in_new = true;
	}
	int *fds = calloc(d->nboxes ? d->nboxes : 1, sizeof(*fds));
	if (!fds)
		return -ENOMEM;
	size_t n = 0;
	rc = 0;
	for (size_t i = 0; i < d->nboxes; i++) {
		char p[DIR_MAX + 8];
		snprintf(p, sizeof(p), "%s/new", d->boxes[i].dir);
		int fd =
		    fsroot_openat(d->root, p, strlen(p), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
		if (fd < 0) {
			rc = fd;
			break;
		}
		fds[n++] = fd;
	}
	if (rc == 0)
		rc = smtp_maildir_commit_dirs(fds, n);
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
	return rc;
}

static void rollback(struct smtp_delivery *d)
{
	for (size_t i = 0; i < d->nboxes; i++) {
		char p[DIR_MAX + sizeof(d->final) + 8];
		if (d->boxes[i].in_new &&
		    path_of(p, sizeof(p), d->boxes[i].dir, "new", d->final) > 0) {
			fsroot_unlink(d->root, p, strlen(p));
			d->boxes[i].in_new = false;
		}
	}
	unlink_tmp(d);
}

static void run(void *arg)
{
	struct smtp_delivery *d = arg;
	int rc = deliver(d);
	if (rc < 0) {
		log_msg(LOG_LEVEL_ERROR, d->conn_id, "delivery of %s failed: %s", d->name,
		        strerror(-rc));
		rollback(d);
		d->result = smtp_reply_for_errno(rc);
	} else {
		d->result = SMTP_R_QUEUED;
		unlink_tmp(d); /* only closes the spool: every copy is in new/ */
		log_msg(LOG_LEVEL_DEBUG, d->conn_id,
		        "delivered %s to %zu Maildir(s); group commit batches=%llu "
		        "dir-fsyncs=%llu requests=%llu",
		        d->final, d->nboxes, (unsigned long long)atomic_load(&cm_batches),
		        (unsigned long long)atomic_load(&cm_syncs),
		        (unsigned long long)atomic_load(&cm_requests));
	}
}

/* Workq thread: one batch. */
static void write_run(void *arg)
{
	struct smtp_delivery *d = arg;
	int rc = d->fd < 0 ? open_spool(d) : 0;
	if (rc == 0)
		rc = fdio_write_all(d->fd, d->wbuf, d->wlen);
	if (rc < 0) {
		log_msg(LOG_LEVEL_ERROR, d->conn_id, "spool write of %s failed: %s", d->name,
		        strerror(-rc));
		d->jerr = -rc;
	}
	d->wlen = 0;
}

static int start_delivery(struct smtp_delivery *d);

static void write_done(void *arg)
{
	struct smtp_delivery *d = arg;
	d->running = false;
	if (d->jerr && !d->werr)
		d->werr = d->jerr;
	if (!d->s) {
		drop_delivery(d); /* the session went away meanwhile: tmp/ is cleaned */
		return;
	}
	if (d->commit_wanted) {
		if (d->werr) {
			d->done(d->s, smtp_reply_for_errno(-d->werr));
			return;
		}
		if (start_delivery(d) < 0)
			d->done(d->s, SMTP_R_LOCAL_ERROR);
		return;
	}
	if (d->werr)
		d->buflen = 0; /* the message fails at its end; its data goes nowhere */
	else if (d->buflen >= SMTP_SPOOL_BATCH)
		start_write(d);
	smtp_receive_resume(d->s);
}

static void done_cb(void *arg)
{
	struct smtp_delivery *d = arg;
	d->running = false;
	if (!d->s) {
		drop_delivery(d); /* the session went away meanwhile */
		return;
	}
	d->done(d->s, d->result);
}

static int start_delivery(struct smtp_delivery *d)
{
	d->running = true;
	if (workq_submit(d->job.w->base, run, done_cb, d) < 0) {
		d->running = false;
		return -1;
	}
	return 0;
}

int smtp_maildir_commit(struct smtp_session *s, void (*done)(struct smtp_session *, enum smtp_rid))
{
	struct smtp_delivery *d = s->tx->dlv;
	d->s = s;
	d->done = done;
	if (d->running) {
		d->commit_wanted = true; /* after the write in flight (write_done) */
		return 0;
	}
	return start_delivery(d);
}

void smtp_maildir_discard(struct smtp_delivery *d)
{
	if (d->running) {
		d->s = NULL; /* the job's done callback frees it */
		return;
	}
	drop_delivery(d);
}
