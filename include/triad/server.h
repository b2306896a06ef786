/*
 * server: the lifecycle shared by the three daemons.
 *
 *   parse -c/-t/-V -> load config -> bind every listener once per worker
 *   (SO_REUSEPORT, IPv6-only on [::]) as root -> fork the PAM helper ->
 *   drop to `user` (setgroups, setgid, setuid, verify) -> open what the
 *   config names as that user (logs, TLS, the root) -> start `workers`
 *   threads, one event_base each -> "ready" -> wait for signals.
 *
 * SIGTERM/SIGINT: close listeners, tell every conn (ops->on_shutdown), wait
 * up to shutdown_timeout for them to finish, exit 0. SIGHUP: load and open
 * the file again; when valid it becomes the generation new connections get
 * (old ones keep theirs), else it is refused with a log line.
 */
#ifndef TRIAD_SERVER_H
#define TRIAD_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <openssl/ssl.h>
#include "triad/config.h"
#include "triad/conn.h"
#include "triad/fsroot.h"
#include "triad/sandbox.h"

struct event_base;
struct auth_client;
struct server_auth;
struct proxy_wait;
struct metric_family;
struct workq_job;

/* One listener a config asks for. */
struct server_listen {
	const struct conf_addrs *addrs;
	bool tls;                    /* implicit TLS at accept */
	int tag;                     /* handed to ops->accept */
};

/* What the server builds from one config generation (conf->runtime). */
struct server_runtime {
	struct fsroot root;          /* <root>, opened as `user` */
	SSL_CTX *tls;                /* NULL when tls_cert/tls_key are unset */
	void *app;                   /* the daemon's own (ops->prepare) */
};

/* Worker loops have two event priorities. In an iteration where events of
 * both are ready, libevent runs the first's callbacks only and leaves the
 * rest for the next iteration: so an event at SERVER_PRIO_FIRST is handled
 * before any connection event that became ready with or after it (httpd's
 * file-change watch, fcache.h). Every other event has the default,
 * SERVER_PRIO_FIRST + 1. */
#define SERVER_PRIO_FIRST 0
#define SERVER_PRIORITIES 2

struct park_set;
struct worker {
	unsigned index;
	struct event_base *base;
	pthread_t thread;
	struct auth_client *auth;    /* NULL unless ops->auth */
	struct conn *conns;          /* live conns of this worker (conn.c) */
	size_t nconns;               /* ... and the parked ones, which are not in the list */
	struct park_set *park;       /* its parked conns (conn.c, common/park.h), or NULL */
	bool draining;
	void *app;                   /* the daemon's per-thread state */
	struct workq_job *jobs;      /* workq jobs that may outlive their session (workq.h) */
	/* private to server.c */
	struct worker_listener *listeners;
	size_t nlisteners;
	struct event *wake;
	struct proxy_wait *proxy_waits; /* sockets reading their PROXY header (proxy_wait.c) */
};

struct server_ops {
	const char *name;                      /* "httpd": section name and log prefix */
	const struct conf_section *section;
	/* The listeners a config wants (at most max). */
	size_t (*listeners)(const struct conf *c, struct server_listen *out, size_t max);
	/* Connection limits a config sets (0: none). */
	void (*limits)(const struct conf *c, unsigned *max_total, unsigned *max_per_ip);
	/* offsetof the struct conf_operations in the daemon's section struct. */
	size_t operations;
	/* The PAM helper and its per-worker clients (auth.h: &auth_pam), or NULL. */
	const struct server_auth *auth;
	unsigned blocking_threads;             /* workq pool size (0: no pool) */
	/* Builds rt->app for a new generation, as `user`; -1 + err refuses it. */
	int (*prepare)(struct conf *c, struct server_runtime *rt, char *err, size_t errlen);
	void (*release)(struct server_runtime *rt);
	/* Per-thread state (optional). */
	void (*worker_init)(struct worker *w);
	void (*worker_fini)(struct worker *w);
	/* A connection arrived on listener TAG: set c->ops and c->proto, greet. */
	void (*accept)(struct conn *c, int tag);
	/* Sent, then closed, to a connection over the connection limits. */
	const char *refusal;
	/* The client speaks first (HTTP): plain listeners accept a connection only
	 * once its first bytes are in (TCP_DEFER_ACCEPT), and accept reads them at
	 * once, with no trip through epoll. */
	bool client_speaks_first;
	/* The daemon's own metric families (metrics.h: METRIC_COMMON + i). */
	const struct metric_family *metrics;
	size_t nmetrics;
	/* Socket activation: passed sockets with this FileDescriptorName are
	 * implicit-TLS listeners ("https", "ftps"; NULL: none). */
	const char *tls_fdname;
	/* Descriptors one connection may hold at once (0: 2, a socket and a
	 * file): divides RLIMIT_NOFILE into the max_connections default. */
	unsigned fds_per_conn;
	/* The paths the daemon's configuration C needs, for Landlock (beyond the
	 * config file, certificates, logs and read-only system paths). */
	void (*sandbox_paths)(const struct conf *c, struct sandbox_paths *p);
	/* System calls beyond sandbox.c's shared allowlist (NULL: none). */
	const struct sandbox_syscalls *syscalls;
};

/* Runs a daemon; returns the process exit status. */
int server_main(int argc, char **argv, const struct server_ops *ops);

/* The generation a conn (or anything) uses. */
static inline struct server_runtime *server_rt(const struct conf *c)
{
	return (struct server_runtime *)c->runtime;
}
/* The generation new connections get (a new reference: conf_unref it). */
struct conf *server_current_conf(void);
/* C's operations keys (proxy_protocol, limits_exempt, metrics). */
const struct conf_operations *server_operations(const struct conf *c);
const struct server_ops *server_ops(void);

#endif
