/*
 * metrics: counters and histograms for the `metrics` listener (Prometheus
 * text format 0.0.4, interface.md "Operations").
 *
 * Every worker owns one array of slots and is its only writer (relaxed
 * atomic load + store: no locks, no locked instructions); a scrape sums the
 * workers' slots. Nothing is ever reset, SIGHUP included. Families are the
 * common ones below (indices 0 .. METRIC_COMMON-1) followed by the daemon's
 * own table (server_ops.metrics), addressed as METRIC_COMMON + i.
 */
#ifndef TRIAD_METRICS_H
#define TRIAD_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct worker;
struct conn;

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

struct metric_family {
	const char *name;              /* after "triad_<daemon>_": "requests_total" */
	const char *help;
	enum metric_type type;
	const char *label;             /* NULL: one series */
	const char *const *values;     /* the label's values; NULL with nvalues: the index is
	                                  the value ("200"), series at 0 are left out */
	unsigned nvalues;              /* series (1 when no label) */
	const double *bounds;          /* histograms: bucket upper bounds (seconds), ascending */
	unsigned nbounds;
};

/* The common families, kept by server.c and conn.c. */
enum metric_common {
	METRIC_ACCEPTED,       /* connections_accepted_total */
	METRIC_ACTIVE,         /* connections_active (read from conn_count() at scrape) */
	METRIC_REFUSED,        /* connections_refused_total{limit} */
	METRIC_TLS_HANDSHAKES, /* tls_handshakes_total */
	METRIC_BYTES_IN,       /* bytes_received_total */
	METRIC_BYTES_OUT,      /* bytes_sent_total */
	METRIC_PARKED,         /* connections_parked (read from conn_parked_count() at scrape) */
	METRIC_COMMON
};
enum { METRIC_REFUSED_TOTAL, METRIC_REFUSED_PER_IP }; /* values of METRIC_REFUSED */

/* Sets up the slots of NWORKERS workers for the common families and the
 * daemon's (NAME: "httpd"). 0 or -1 (out of memory). */
int metrics_init(const char *name, const struct metric_family *own, size_t nown,
                 unsigned nworkers);
void metrics_fini(void);

/* Adds N to series VALUE of FAMILY, from W's own thread (no-op before init). */
void metrics_add(const struct worker *w, unsigned family, unsigned value, uint64_t n);
/* One observation of SECONDS (a histogram family), from W's own thread. */
void metrics_observe(const struct worker *w, unsigned family, unsigned value, double seconds);

/* Connection C (on its worker's thread) read IN and wrote OUT bytes on its
 * socket (conn.c counts each read and write: no syscall asks the kernel at
 * the close). Scrapes and unix sockets are not counted. */
void metrics_conn_io(const struct conn *c, uint64_t in, uint64_t out);
/* C is being freed: when TLS_DONE, one finished TLS handshake; TLS_IN and
 * TLS_OUT, the bytes its SSL object's socket BIO read and wrote (TLS goes
 * around conn.c's own reads and writes). */
void metrics_conn_closed(const struct conn *c, bool tls_done, uint64_t tls_in, uint64_t tls_out);

/* The exposition: a malloc'd text (*LEN bytes), NULL when out of memory. */
char *metrics_render(size_t *len);

/* A connection accepted on a metrics listener: answers GET /metrics once. */
void metrics_accept(struct worker *w, int fd, const struct sockaddr *peer, socklen_t peer_len);

#endif
