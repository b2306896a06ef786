/*
 * httpd/accesslog.c: one Combined Log Format line per request:
 *
 *   ADDR - - [26/Nov/2026:11:06:58 +0000] "GET / HTTP/1.1" 200 1234 "REFERER" "AGENT"[ 0.003]
 *
 * Everything taken from the request (request line, Referer, User-Agent) is
 * escaped with log_escape(): '"', '\' and every byte outside printable
 * ASCII become \xHH, so no request can end a field or forge a line. The
 * size is the body bytes queued for the response. The time (access_log_time
 * = on) is seconds from the first byte of the request to the response being
 * queued. Times are UTC. Lines go through the log writer thread: the loop
 * only formats and queues.
 *
 * Files are process-wide, one per distinct path: a reload (SIGHUP) builds a
 * new generation whose prepare() finds the path already open and reopens
 * it (log rotation), while connections of older generations keep writing to
 * the same object, never to a closed one. They are released at exit.
 */
#include "session.h"
#include "conf.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct open_log {
	struct open_log *next;
	char *path;
	struct log_file *f;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct open_log *logs;

struct log_file *http_accesslog_open(const char *path, char *err, size_t errlen)
{
	struct log_file *f = NULL;
	pthread_mutex_lock(&lock);
	for (struct open_log *l = logs; l; l = l->next)
		if (strcmp(l->path, path) == 0) {
			f = log_file_reopen(l->f, err, errlen) == 0 ? l->f : NULL;
			goto out;
		}
	struct open_log *l = calloc(1, sizeof(*l));
	if (!l || !(l->path = strdup(path))) {
		free(l);
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	if (!(l->f = log_file_open(path, err, errlen))) {
		free(l->path);
		free(l);
		goto out;
	}
	l->next = logs;
	logs = l;
	f = l->f;
out:
	pthread_mutex_unlock(&lock);
	return f;
}

void http_accesslog_request(struct http_session *s, const char *line, size_t len)
{
	if (!s->app->alog)
		return; /* access_log = off: nothing reads it (write_line) */
	log_escape(s->t->x.logreq, sizeof(s->t->x.logreq), line, len);
}

static const char *field(char *buf, size_t size, struct http_slice v, bool ok)
{
	if (!ok || !v.p)
		return "-";
	return log_escape(buf, size, v.p, v.len);
}

/* Buckets of triad_httpd_request_duration_seconds (Prometheus' defaults). */
static const double duration_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

const struct metric_family http_metrics[HTTP_METRICS] = {
    [HTTP_METRIC_REQUESTS] = {"requests_total", "HTTP responses, by status code.",
                              METRIC_COUNTER, "code", NULL, 600, NULL, 0},
    [HTTP_METRIC_DURATION] = {"request_duration_seconds",
                              "From the first byte of a request to its response wholly queued.",
                              METRIC_HISTOGRAM, NULL, NULL, 1, duration_bounds,
                              sizeof(duration_bounds) / sizeof(duration_bounds[0])},
};

static double request_seconds(const struct http_session *s)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double t = (double)(now.tv_sec - s->t->x.start.tv_sec) +
	           (double)(now.tv_nsec - s->t->x.start.tv_nsec) / 1e9;
	return t < 0 ? 0.0 : t;
}

static void write_line(struct http_session *s, double seconds);

void http_request_done(struct http_session *s)
{
	double t = request_seconds(s);
	int code = s->t->x.status;
	metrics_add(s->c->worker, METRIC_COMMON + HTTP_METRIC_REQUESTS,
	            code >= 100 && code < 600 ? (unsigned)code : 0, 1);
	metrics_observe(s->c->worker, METRIC_COMMON + HTTP_METRIC_DURATION, 0, t);
	write_line(s, t);
}

static void write_line(struct http_session *s, double seconds)
{
	struct log_file *f = s->app->alog;
	if (!f)
		return;
	http_worker_date(s->w, s->c);
	char ref[512], ua[512], took[32] = "";
	bool ok = s->t->x.parsed;
	if (s->app->h->access_log_time)
		snprintf(took, sizeof(took), " %.3f", seconds);
	char line[TRIAD_LOG_LINE_MAX], vhost[300] = "";
	/* access_log_format = vhost: Apache's vhost_combined, "HOST:PORT " first. */
	if (s->app->h->access_log_format == HTTPD_ALOG_VHOST)
		snprintf(vhost, sizeof(vhost), "%s:%u ",
		         s->site->name && s->site->hosts->n ? s->site->hosts->v[0] : "-",
		         (unsigned)s->c->local_port);
	int n = snprintf(line, sizeof(line), "%s%s - - [%s] \"%s\" %d %llu \"%s\" \"%s\"%s\n",
	                 vhost, conn_peer_ip(s->c).s, s->w->clf, s->t->x.logreq, s->t->x.status,
	                 (unsigned long long)s->t->x.sent,
	                 field(ref, sizeof(ref), s->t->req.referer, ok),
	                 field(ua, sizeof(ua), s->t->req.user_agent, ok), took);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	log_file_write(f, line, (size_t)n);
}
