/*
 * server: process lifecycle shared by the three daemons (see server.h).
 *
 * Threads: the main thread owns signals and configuration; each worker
 * owns one event_base, its own SO_REUSEPORT listening sockets (bound by
 * main before the privilege drop) and every connection it accepted.
 * Cross-thread traffic is limited to event_active() on a worker's wake
 * event (drain) and to the current configuration pointer below.
 */
#include "triad/server.h"
#include "triad/activation.h"
#include "triad/auth.h"
#include "triad/conn.h"
#include "triad/evmem.h"
#include "triad/groups.h"
#include "triad/limits.h"
#include "triad/log.h"
#include "triad/metrics.h"
#include "triad/net.h"
#include "triad/notify.h"
#include "triad/proxy_wait.h"
#include "triad/site.h"
#include "triad/tls.h"
#include "triad/workq.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <malloc.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>

#define DEFAULT_CONF "/etc/triad/triad.conf"

struct bound {
	int fd;
	int tag;
	bool tls;
	char addr[96];               /* text, for logs */
	struct sockaddr_storage ss;  /* the bound address */
	socklen_t len;
};

/* One listening socket of a worker. */
struct worker_listener {
	struct worker *w;
	struct evconnlistener *l;
	int fd;              /* its descriptor (closed by listener_stop, not by libevent) */
	int tag;
	bool tls;
	bool metrics;        /* a `metrics` listener (worker 0 only) */
	/* The bound address when it names one (not 0.0.0.0 or [::]): every
	 * connection's local address, so accept needs no getsockname(). */
	socklen_t local_len; /* 0: a wildcard, ask the socket */
	struct sockaddr_storage local;
	struct event *backoff; /* re-enables the listener after EMFILE/ENFILE */
};

static bool is_wildcard(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
	if (ss->ss_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
	return true;
}

static const struct server_ops *ops;
/* The `metrics` listeners: bound once (never passed by socket activation),
 * watched by worker 0. */
static struct bound metrics_bound[TRIAD_LISTENERS_MAX];
static size_t nmetrics;
static const char *conf_path = DEFAULT_CONF;
static pthread_mutex_t current_lock = PTHREAD_MUTEX_INITIALIZER;
static struct conf *current;
static struct worker *workers;
static unsigned nworkers;

const struct server_ops *server_ops(void)
{
	return ops;
}

struct conf *server_current_conf(void)
{
	pthread_mutex_lock(&current_lock);
	struct conf *c = current ? conf_ref(current) : NULL;
	pthread_mutex_unlock(&current_lock);
	return c;
}

const struct conf_operations *server_operations(const struct conf *c)
{
	return (const struct conf_operations *)((const char *)c->own + ops->operations);
}

static void set_current(struct conf *c)
{
	pthread_mutex_lock(&current_lock);
	struct conf *old = current;
	current = c;
	pthread_mutex_unlock(&current_lock);
	if (old)
		conf_unref(old);
}

/* ---- building a generation ---------------------------------------------- */

static void runtime_free(struct conf *c)
{
	struct server_runtime *rt = c->runtime;
	if (!rt)
		return;
	if (ops->release)
		ops->release(rt);
	if (rt->tls)
		tls_ctx_free(rt->tls);
	if (rt->root.fd >= 0)
		fsroot_close(&rt->root);
	free(rt);
	c->runtime = NULL;
}

/* Opens what C names (root, TLS) and lets the daemon build its part. */
static int runtime_build(struct conf *c, char *err, size_t errlen)
{
	struct server_runtime *rt = calloc(1, sizeof(*rt));
	if (!rt) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rt->root.fd = -1;
	c->runtime = rt;
	c->runtime_free = runtime_free;

	int rc = fsroot_open(&rt->root, c->g.root);
	if (rc < 0) {
		conf_error_at(c, "root", err, errlen, "cannot open %s: %s", c->g.root,
		              strerror(-rc));
		goto fail;
	}
	if (c->g.tls_cert && c->g.tls_key) {
		char why[512];
		rt->tls = tls_ctx_new(c->g.tls_cert, c->g.tls_key, why, sizeof(why));
		if (!rt->tls) {
			/* tls_ctx_new names the file at fault first: report its key. */
			bool key_at_fault = strncmp(why, c->g.tls_key, strlen(c->g.tls_key)) == 0;
			conf_error_at(c, key_at_fault ? "tls_key" : "tls_cert", err, errlen, "%s", why);
			goto fail;
		}
	} else if (c->g.tls_cert || c->g.tls_key) {
		conf_error_at(c, c->g.tls_cert ? "tls_cert" : "tls_key", err, errlen,
		              "tls_cert and tls_key must be set together");
		goto fail;
	}
	if (ops->prepare && ops->prepare(c, rt, err, errlen) < 0)
		goto fail;
	return 0;
fail:
	runtime_free(c);
	return -1;
}

/* ---- listeners ------------------------------------------------------------ */

/* What -t checks beyond the runtime: listeners exist, a log file opens. */
static int check_extra(struct conf *c, char *err, size_t errlen)
{
	struct server_listen want[TRIAD_LISTENERS_MAX];
	size_t nwant = ops->listeners(c, want, TRIAD_LISTENERS_MAX), total = 0;
	for (size_t i = 0; i < nwant; i++)
		total += want[i].addrs ? want[i].addrs->n : 0;
	if (total == 0)
		return conf_error_at(c, "listen", err, errlen, "[%s] has no listen address",
		                     ops->name);
	const char *log = c->g.log;
	if (log && strcmp(log, "stderr") != 0 && strcmp(log, "syslog") != 0) {
		FILE *f = fopen(log, "a");
		if (!f)
			return conf_error_at(c, "log", err, errlen, "cannot open %s: %s", log,
			                     strerror(errno));
		fclose(f);
	}
	return 0;
}

/* Options a listening socket gets whoever bound it (accepted sockets inherit them). */
static void listener_options(int fd, bool tls)
{
	int one = 1;
	/* Accepted sockets inherit TCP_NODELAY: one setsockopt() here instead of
	 * one per connection (every protocol here answers at once). */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (ops->client_speaks_first && !tls) {
		int secs = TRIAD_DEFER_ACCEPT_S;
		setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &secs, sizeof(secs));
	}
}

static int bind_one(const struct conf_addr *a, bool tls, char *err, size_t errlen)
{
	int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot create socket: %s", a->text, strerror(errno));
		return -1;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		goto fail;
	/* interface.md: a listener on [::] is IPv6-only, so 0.0.0.0 and [::] coexist. */
	if (a->ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		goto fail;
	listener_options(fd, tls);
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0)
		goto fail;
	if (listen(fd, TRIAD_BACKLOG) < 0)
		goto fail;
	return fd;
fail:
	snprintf(err, errlen, "cannot listen on %s: %s", a->text, strerror(errno));
	close(fd);
	return -1;
}

/* Every worker gets its own socket per address (SO_REUSEPORT spreads accepts). */
static int bind_all(struct conf *c, struct bound **out, size_t *nout, char *err, size_t errlen)
{
	struct server_listen want[TRIAD_LISTENERS_MAX];
	size_t nwant = ops->listeners(c, want, TRIAD_LISTENERS_MAX);
	size_t total = 0;
	for (size_t i = 0; i < nwant; i++)
		total += want[i].addrs ? want[i].addrs->n : 0;
	if (total == 0)
		return conf_error_at(c, "listen", err, errlen, "[%s] has no listen address",
		                     ops->name);
	struct bound *b = calloc(total * nworkers, sizeof(*b));
	if (!b) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	size_t n = 0;
	for (unsigned w = 0; w < nworkers; w++)
		for (size_t i = 0; i < nwant; i++)
			for (size_t j = 0; want[i].addrs && j < want[i].addrs->n; j++) {
				const struct conf_addr *a = &want[i].addrs->v[j];
				char why[512];
				int fd = bind_one(a, want[i].tls, why, sizeof(why));
				if (fd < 0) {
					conf_error_at(c, want[i].tls ? "listen_tls" : "listen", err,
					              errlen, "%s", why);
					while (n > 0)
						close(b[--n].fd);
					free(b);
					return -1;
				}
				b[n] = (struct bound){.fd = fd, .tag = want[i].tag, .tls = want[i].tls,
				                      .len = a->len};
				snprintf(b[n].addr, sizeof(b[n].addr), "%s", a->text);
				memcpy(&b[n].ss, &a->ss, a->len);
				n++;
			}
	*out = b;
	*nout = n;
	return 0;
}

/*
 * Socket activation: the passed sockets replace the listen addresses. One
 * named ops->tls_fdname ("https", "ftps") is an implicit-TLS listener, any
 * other a plain one. Every worker watches each passed socket through its own
 * dup(): the socket, and the connections queued on it, stay systemd's across
 * our restarts, which per-worker SO_REUSEPORT sockets of our own would not
 * (their queues die with the process, and systemd's socket would never be
 * accepted from). The price is that a connection wakes every worker and one
 * wins the accept (EAGAIN for the others), with workers = CPUs a few wakeups.
 */
static int bind_passed(struct conf *c, const struct activation_fd *act, size_t nact,
                       struct bound **out, size_t *nout, char *err, size_t errlen)
{
	struct server_listen want[TRIAD_LISTENERS_MAX];
	size_t nwant = ops->listeners(c, want, TRIAD_LISTENERS_MAX);
	const struct server_listen *plain = NULL, *tls = NULL;
	for (size_t i = 0; i < nwant; i++) {
		if (want[i].tls && !tls)
			tls = &want[i];
		if (!want[i].tls && !plain)
			plain = &want[i];
	}
	struct bound *b = calloc(nact * nworkers, sizeof(*b));
	if (!b) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	size_t n = 0;
	for (unsigned w = 0; w < nworkers; w++)
		for (size_t i = 0; i < nact; i++) {
			bool is_tls = ops->tls_fdname && strcmp(act[i].name, ops->tls_fdname) == 0;
			const struct server_listen *l = is_tls ? tls : plain;
			int fd = w == 0 ? act[i].fd : fcntl(act[i].fd, F_DUPFD_CLOEXEC, 0);
			if (!l || fd < 0) {
				snprintf(err, errlen, "socket activation: descriptor %d: %s", act[i].fd,
				         l ? strerror(errno) : "no listener of that kind");
				goto fail;
			}
			if (is_tls && !(c->g.tls_cert && c->g.tls_key)) {
				if (w > 0)
					close(fd);
				snprintf(err, errlen,
				         "socket activation passed a '%s' socket (fd %d), but tls_cert and "
				         "tls_key are unset",
				         ops->tls_fdname, act[i].fd);
				goto fail;
			}
			b[n] = (struct bound){.fd = fd, .tag = l->tag, .tls = is_tls};
			b[n].len = sizeof(b[n].ss);
			if (getsockname(fd, (struct sockaddr *)&b[n].ss, &b[n].len) < 0)
				b[n].len = 0;
			n++;
			int fl = fcntl(fd, F_GETFL);
			if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
				snprintf(err, errlen, "socket activation: descriptor %d: %s", act[i].fd,
				         strerror(errno));
				goto fail;
			}
			listener_options(fd, is_tls);
			char host[INET6_ADDRSTRLEN] = "?";
			unsigned port = 0;
			if (b[n - 1].ss.ss_family == AF_INET) {
				const struct sockaddr_in *s4 = (const struct sockaddr_in *)&b[n - 1].ss;
				inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
				port = ntohs(s4->sin_port);
			} else if (b[n - 1].ss.ss_family == AF_INET6) {
				const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&b[n - 1].ss;
				inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
				port = ntohs(s6->sin6_port);
			}
			snprintf(b[n - 1].addr, sizeof(b[n - 1].addr), "%s%s%s:%u(fd %d%s%s)",
			         strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "", port,
			         act[i].fd, act[i].name[0] ? " " : "", act[i].name);
		}
	*out = b;
	*nout = n;
	return 0;
fail:
	/* Worker 0's are the passed descriptors themselves: the process exits anyway. */
	while (n > 0)
		close(b[--n].fd);
	free(b);
	return -1;
}

/* interface.md: `metrics` listeners are never passed; the daemon binds them. */
static int bind_metrics(struct conf *c, char *err, size_t errlen)
{
	const struct conf_addrs *a = &server_operations(c)->metrics;
	nmetrics = 0;
	for (size_t i = 0; i < a->n && i < TRIAD_LISTENERS_MAX; i++) {
		char why[512];
		int fd = bind_one(&a->v[i], true, why, sizeof(why)); /* true: no TCP_DEFER_ACCEPT */
		if (fd < 0) {
			while (nmetrics > 0)
				close(metrics_bound[--nmetrics].fd);
			return conf_error_at(c, "metrics", err, errlen, "%s", why);
		}
		struct bound *b = &metrics_bound[nmetrics++];
		*b = (struct bound){.fd = fd, .tag = -1, .len = a->v[i].len};
		snprintf(b->addr, sizeof(b->addr), "%s", a->v[i].text);
		memcpy(&b->ss, &a->v[i].ss, a->v[i].len);
	}
	return 0;
}

/* ---- privileges ----------------------------------------------------------- */

static int drop_privileges(const struct conf *c, char *err, size_t errlen)
{
	if (geteuid() != 0) {
		return 0; /* nothing to drop; `user` was still checked to exist */
	}
	if (!c->g.user) {
		log_warn("running as root: set `user` in [global] to drop privileges");
		return 0;
	}
	struct passwd *pw = getpwnam(c->g.user);
	if (!pw) {
		conf_error_at(c, "user", err, errlen, "unknown user '%s'", c->g.user);
		return -1;
	}
	/* The user's supplementary groups too (ssl-cert for the key), as
	 * initgroups would set them, but looked up in a child: see groups.h. */
	gid_t *groups = NULL;
	size_t ngroups = 0;
	int rc = groups_lookup(pw->pw_name, pw->pw_gid, &groups, &ngroups);
	if (rc < 0) {
		snprintf(err, errlen, "cannot look up the groups of %s: %s", c->g.user, strerror(-rc));
		return -1;
	}
	rc = setgroups(ngroups, groups);
	free(groups);
	if (rc < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
		snprintf(err, errlen, "cannot drop privileges to %s: %s", c->g.user,
		         strerror(errno));
		return -1;
	}
	/* Verify: root must be out of reach now, whatever the kernel allowed. */
	if (pw->pw_uid != 0 && (setuid(0) == 0 || seteuid(0) == 0 || getuid() != pw->pw_uid ||
	                        geteuid() != pw->pw_uid || getgid() != pw->pw_gid)) {
		snprintf(err, errlen, "privilege drop to %s did not stick", c->g.user);
		return -1;
	}
	return 0;
}

/* ---- workers ---------------------------------------------------------------- */

/* A socket accepted on WL from PEER (the client: after a PROXY header, the
 * address it carried) becomes a conn, or is refused over the limits (NULL). */
static struct conn *accept_new(struct worker_listener *wl, int fd, const struct sockaddr *peer,
                               socklen_t peer_len)
{
	struct worker *w = wl->w;
	SSL_CTX *tls = NULL;
	if (wl->tls) {
		struct conf *c = server_current_conf();
		tls = server_rt(c)->tls;
		conf_unref(c);
	}
	struct conn *conn =
	    conn_new_accepted(w, fd, peer, peer_len,
	                      wl->local_len ? (const struct sockaddr *)&wl->local : NULL,
	                      wl->local_len, tls);
	if (!conn)
		return NULL;
	conn->listener_tag = wl->tag;
	metrics_add(w, METRIC_ACCEPTED, 0, 1);
	if (conn_is_refused(conn)) {
		metrics_add(w, METRIC_REFUSED, conn_refused_per_ip(conn) ? METRIC_REFUSED_PER_IP
		                                                          : METRIC_REFUSED_TOTAL, 1);
		log_info("c%06llu refused peer=%s: connection limit", (unsigned long long)conn->id,
		         conn_peer_ip(conn).s);
		/* A TLS client cannot read a plaintext refusal: just close. */
		if (!wl->tls && ops->refusal)
			conn_write(conn, ops->refusal, strlen(ops->refusal));
		conn_close(conn);
		return NULL;
	}
	ops->accept(conn, conn->listener_tag);
	/* Taken off the queue at the stop (drain_backlog): told at once, as
	 * conn_shutdown_all told those already open. */
	if (w->draining && !conn_is_closing(conn)) {
		if (conn->ops->on_shutdown)
			conn->ops->on_shutdown(conn);
		else
			conn_close(conn);
	}
	return conn;
}

/* proxy_wait's continuation: the header was read (epoll tells when more comes). */
static void accept_proxied(void *arg, int fd, const struct sockaddr *peer, socklen_t peer_len)
{
	accept_new(arg, fd, peer, peer_len);
}

static void accept_one(struct worker_listener *wl, int fd, struct sockaddr *addr,
                       socklen_t len);

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *addr,
                      int len, void *arg)
{
	(void)l;
	accept_one(arg, fd, addr, (socklen_t)len);
}

/* A socket accepted on WL, by its listener's event or at the stop. */
static void accept_one(struct worker_listener *wl, int fd, struct sockaddr *addr,
                       socklen_t len)
{
	struct worker *w = wl->w;
	if (wl->metrics) {
		metrics_accept(w, fd, addr, (socklen_t)len);
		return;
	}
	/* interface.md: a connection from a proxy_protocol source must begin with
	 * a PROXY header, read before the conn exists (before TLS, no greeting). */
	struct conf *c = server_current_conf();
	const struct conf_nets *trusted = &server_operations(c)->proxy_protocol;
	bool proxied = trusted->n && net_match(trusted->v, trusted->n, addr);
	conf_unref(c);
	if (proxied) {
		proxy_wait_start(w, fd, addr, (socklen_t)len, accept_proxied, wl);
		return;
	}
	struct conn *conn = accept_new(wl, fd, addr, (socklen_t)len);
	/* TCP_DEFER_ACCEPT: the request is already in; read it without a trip through epoll. */
	if (conn && ops->client_speaks_first && !wl->tls)
		conn_read_now(conn);
}

/*
 * Out of descriptors. The listener is level-triggered: left armed, it fires
 * again at once and accept fails again (a probe saw both cores at 100 %).
 * So, as nginx does, stop accepting for TRIAD_ACCEPT_BACKOFF_MS; first
 * spend this thread's reserve descriptor to take the waiting clients off
 * the backlog one at a time and refuse them (the daemon's refusal, a 503
 * for httpd, or just a close on TLS listeners), so they learn at once
 * instead of waiting for a slot.
 */
static _Thread_local int reserve_fd = -1;

static void reserve_take(void)
{
	if (reserve_fd < 0)
		reserve_fd = eventfd(0, EFD_CLOEXEC);
}

static void shed_backlog(struct worker_listener *wl)
{
	if (reserve_fd < 0)
		return;
	close(reserve_fd);
	reserve_fd = -1;
	int lfd = evconnlistener_get_fd(wl->l);
	for (int i = 0; i < TRIAD_ACCEPT_SHED_MAX; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			break;
		if (!wl->tls && ops->refusal) {
			/* Read what the client sent first: closing with unread input
			 * would reset the connection and lose the refusal. */
			char sink[4096];
			while (recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0)
				;
			(void)!send(fd, ops->refusal, strlen(ops->refusal), MSG_DONTWAIT | MSG_NOSIGNAL);
			shutdown(fd, SHUT_WR);
		}
		close(fd);
	}
	reserve_take();
}

static void backoff_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct worker_listener *wl = arg;
	reserve_take();
	if (wl->l && !wl->w->draining)
		evconnlistener_enable(wl->l);
}

static void accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct worker_listener *wl = arg;
	int e = EVUTIL_SOCKET_ERROR();
	bool out_of_fds = e == EMFILE || e == ENFILE;
	if (out_of_fds && wl->backoff) {
		shed_backlog(wl);
		evconnlistener_disable(l);
		struct timeval tv = {0, TRIAD_ACCEPT_BACKOFF_MS * 1000};
		event_add(wl->backoff, &tv);
	}
	/* Say so once a second, not once per refused client. */
	static _Thread_local time_t last;
	time_t now = time(NULL);
	if (now != last) {
		last = now;
		if (out_of_fds)
			log_warn("accept: %s: out of file descriptors; refusing new connections "
			         "for %d ms at a time until some close",
			         evutil_socket_error_to_string(e), TRIAD_ACCEPT_BACKOFF_MS);
		else
			log_warn("accept: %s", evutil_socket_error_to_string(e));
	}
}

/*
 * The stop (drain_cb): the clients already in the listener's accept queue
 * are taken and served like those that came a moment earlier (accept_new
 * tells each of the stop at once: httpd answers the request it sent, with
 * "Connection: close"; ftpd and smtpd greet, then say 421). Closing the
 * listener with them queued would reset every one (the kernel's RST to a
 * connection nobody accepted), as nginx's stop does. At most
 * TRIAD_STOP_ACCEPT_MAX, so that a flood cannot hold the stop. One that
 * completes its handshake between the last accept here and the close is
 * still reset: Linux has no way to stop a listener's handshakes and keep
 * its queue (shutdown(2) of a listener resets the queue too). Under socket
 * activation systemd's copy of the socket keeps what comes after the close
 * for the next start.
 */
static void drain_backlog(struct worker_listener *wl)
{
	for (int i = 0; wl->fd >= 0 && i < TRIAD_STOP_ACCEPT_MAX; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd = accept4(wl->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == ECONNABORTED || errno == EINTR)
				continue; /* that one gave up: the next may be there */
			break; /* EAGAIN: the queue is empty; or out of descriptors */
		}
		accept_one(wl, fd, (struct sockaddr *)&ss, len);
	}
}

static void listener_close_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct worker_listener *wl = arg;
	if (wl->fd >= 0) {
		drain_backlog(wl); /* those queued since drain_cb's pass */
		close(wl->fd);
		wl->fd = -1;
	}
	if (wl->w->draining && wl->w->nconns == 0)
		event_base_loopbreak(wl->w->base);
}

/*
 * Stops watching a listener and closes its descriptor. With socket
 * activation every worker holds its own dup() of the passed socket and
 * systemd keeps one more. The changelist applies evconnlistener_free()'s
 * event_del() only at the next epoll_wait(): closed before that, the
 * descriptor can no longer be removed (EBADF), the open socket stays in
 * this worker's epoll set, and a connection queued on it while we drain
 * makes every epoll_wait() return at once until the process exits
 * (libevent's dup() caveat; measured: 5,101 wakeups in 2 s). So while the
 * loop runs the close waits for the next loop iteration; worker_teardown
 * closes what a loop that stopped first left open.
 */
static void listener_stop(struct worker_listener *wl, bool loop_running)
{
	if (wl->l) {
		evconnlistener_free(wl->l);
		wl->l = NULL;
	}
	if (wl->backoff)
		event_del(wl->backoff);
	if (wl->fd < 0)
		return;
	/* 1 us, not 0: event_base_once() runs a zero timeout in this very pass. */
	struct timeval soon = {0, 1};
	if (loop_running &&
	    event_base_once(wl->w->base, -1, EV_TIMEOUT, listener_close_cb, wl, &soon) == 0)
		return;
	close(wl->fd);
	wl->fd = -1;
}

static void drain_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct worker *w = arg;
	w->draining = true;
	proxy_wait_close_all(w);
	conn_shutdown_all(w);
	for (size_t i = 0; i < w->nlisteners; i++) {
		drain_backlog(&w->listeners[i]); /* after conn_shutdown_all: told once */
		listener_stop(&w->listeners[i], true);
	}
	log_debug("draining: listeners closed, %zu connections open", (size_t)w->nconns);
	if (w->nconns == 0)
		event_base_loopbreak(w->base);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	log_set_worker((int)w->index);
	reserve_take();
	if (ops->worker_init)
		ops->worker_init(w);
	event_base_dispatch(w->base);
	return NULL;
}

static int worker_setup(struct worker *w, const struct bound *b, size_t nb, char *err,
                        size_t errlen)
{
	/* The changelist folds the epoll_ctl() calls of one loop iteration into
	 * the next epoll_wait(): a connection accepted, answered and closed in
	 * one iteration (Connection: close) never registers with epoll at all.
	 * Safe here: no descriptor in a loop is ever dup()ed (libevent's caveat).
	 * The precise clock (CLOCK_MONOTONIC, a vDSO call) rather than the coarse
	 * one gives each iteration its own cached time, which httpd's file cache
	 * uses to tell one iteration from the next. */
	struct event_config *cfg = event_config_new();
	if (cfg) {
		event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
		event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
	}
	w->base = cfg ? event_base_new_with_config(cfg) : NULL;
	if (cfg)
		event_config_free(cfg);
	/* Before any event exists: an event takes the default priority when made. */
	if (!w->base || event_base_priority_init(w->base, SERVER_PRIORITIES) < 0) {
		snprintf(err, errlen, "cannot create an event loop");
		return -1;
	}
	size_t nm = w->index == 0 ? nmetrics : 0; /* worker 0 also answers scrapes */
	/* calloc(0) may be NULL, which is not "out of memory" */
	w->listeners = calloc(nb + nm ? nb + nm : 1, sizeof(*w->listeners));
	w->wake = event_new(w->base, -1, 0, drain_cb, w);
	if (!w->listeners || !w->wake) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t j = 0; j < nb + nm; j++) {
		bool metrics = j >= nb;
		const struct bound *bi = metrics ? &metrics_bound[j - nb] : &b[j];
		struct worker_listener *wl = &w->listeners[w->nlisteners];
		*wl = (struct worker_listener){
		    .w = w, .fd = bi->fd, .tag = bi->tag, .tls = !metrics && bi->tls,
		    .metrics = metrics};
		if (!is_wildcard(&bi->ss) && bi->len <= sizeof(wl->local)) {
			memcpy(&wl->local, &bi->ss, bi->len);
			wl->local_len = bi->len;
		}
		w->nlisteners++; /* from here on the worker owns the descriptor */
		/* backlog 0: the socket is already listening. */
		wl->l = evconnlistener_new(w->base, accept_cb, wl, LEV_OPT_CLOSE_ON_EXEC, 0, bi->fd);
		if (!wl->l) {
			snprintf(err, errlen, "cannot watch %s", bi->addr);
			return -1;
		}
		evconnlistener_set_error_cb(wl->l, accept_error_cb);
		wl->backoff = evtimer_new(w->base, backoff_cb, wl);
	}
	if (ops->auth) {
		w->auth = ops->auth->client_new(w->base, w->index);
		if (!w->auth) {
			snprintf(err, errlen, "cannot connect worker %u to the auth helper",
			         w->index);
			return -1;
		}
	}
	return 0;
}

static void worker_teardown(struct worker *w)
{
	/* The loop and the pool have stopped: no done callback runs any more. */
	workq_jobs_release(w);
	if (ops->worker_fini)
		ops->worker_fini(w);
	proxy_wait_close_all(w);
	for (size_t i = 0; i < w->nlisteners; i++) {
		listener_stop(&w->listeners[i], false);
		if (w->listeners[i].backoff)
			event_free(w->listeners[i].backoff);
	}
	if (w->auth)
		ops->auth->client_free(w->auth);
	if (w->wake)
		event_free(w->wake);
	/* Connections still open after shutdown_timeout die with the process. */
	conn_worker_fini(w);
	free(w->listeners);
	if (w->base && w->nconns == 0)
		event_base_free(w->base);
}

/* ---- signals on the main thread -------------------------------------------- */

static struct event_base *main_base;
static bool stopping;

static void apply_limits(const struct conf *c)
{
	unsigned total = 0, per_ip = 0;
	if (ops->limits)
		ops->limits(c, &total, &per_ip);
	/* The limit must be reached before the descriptors are: a refusal is
	 * an answer, EMFILE is a backoff. Unless set, max_connections is what
	 * RLIMIT_NOFILE leaves after the headroom, shared by the descriptors one
	 * connection may hold at once (socket, file, FTP data). */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
		unsigned per = ops->fds_per_conn ? ops->fds_per_conn : 2;
		rlim_t headroom = TRIAD_FD_HEADROOM_BASE + (rlim_t)TRIAD_FD_HEADROOM_WORKER * nworkers;
		rlim_t fit = rl.rlim_cur > headroom ? (rl.rlim_cur - headroom) / per : 0;
		unsigned cap = fit < 1 ? 1 : fit > UINT_MAX ? UINT_MAX : (unsigned)fit;
		if (total == 0 || total > cap) {
			if (conf_line(c, "max_connections") == 0) {
				total = cap;
				log_info("max_connections=%u (derived from RLIMIT_NOFILE=%llu)", total,
				         (unsigned long long)rl.rlim_cur);
			} else {
				log_warn("max_connections=%u may need more descriptors than "
				         "RLIMIT_NOFILE=%llu allows (about %u connections)",
				         total, (unsigned long long)rl.rlim_cur, cap);
			}
		}
	}
	const struct conf_nets *exempt = &server_operations(c)->limits_exempt;
	conn_limits_set(total, per_ip, exempt->v, exempt->n);
}

static bool addrs_equal(const struct conf_addrs *a, const struct conf_addrs *b)
{
	size_t na = a ? a->n : 0, nb = b ? b->n : 0;
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a->v[i].text, b->v[i].text) != 0)
			return false;
	return true;
}

static void warn_restart_only(const struct conf *old, const struct conf *new)
{
	struct server_listen a[TRIAD_LISTENERS_MAX], b[TRIAD_LISTENERS_MAX];
	size_t na = ops->listeners(old, a, TRIAD_LISTENERS_MAX);
	size_t nb = ops->listeners(new, b, TRIAD_LISTENERS_MAX);
	bool same = na == nb;
	for (size_t i = 0; same && i < na; i++)
		same = a[i].tls == b[i].tls && addrs_equal(a[i].addrs, b[i].addrs);
	if (!same || !addrs_equal(&server_operations(old)->metrics, &server_operations(new)->metrics))
		log_warn("reload: listen addresses changed; they take effect after a restart");
	if ((old->g.user == NULL) != (new->g.user == NULL) ||
	    (old->g.user && strcmp(old->g.user, new->g.user) != 0))
		log_warn("reload: user changed; it takes effect after a restart");
	if (old->g.workers != new->g.workers)
		log_warn("reload: workers changed; it takes effect after a restart");
	if (old->g.sandbox != new->g.sandbox)
		log_warn("reload: sandbox changed; it takes effect after a restart");
}

static int confined_reload(const struct conf *c, char *err, size_t errlen);

static void reload(void)
{
	char err[1024];
	log_info("reload: reading %s", conf_path);
	struct conf *c = conf_load(conf_path, ops->section, err, sizeof(err));
	if (!c) {
		log_error("reload refused, keeping the running configuration: %s", err);
		return;
	}
	if (confined_reload(c, err, sizeof(err)) < 0 || runtime_build(c, err, sizeof(err)) < 0) {
		log_error("reload refused, keeping the running configuration: %s", err);
		conf_unref(c);
		return;
	}
	struct conf *old = server_current_conf();
	warn_restart_only(old, c);
	bool same_log = (old->g.log == NULL && c->g.log == NULL) ||
	                (old->g.log && c->g.log && strcmp(old->g.log, c->g.log) == 0);
	conf_unref(old);
	if (same_log) {
		if (log_reopen(err, sizeof(err)) < 0)
			log_error("reload: %s", err);
		log_set_level((enum log_level)c->g.log_level);
	} else if (log_open(c->g.log, (enum log_level)c->g.log_level, err, sizeof(err)) < 0) {
		log_error("reload: %s; logging stays where it was", err);
	}
	apply_limits(c);
	set_current(c);
	log_info("reload: done; new connections use the new configuration");
	sandbox_probe("reload");
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	if (sig == SIGHUP) {
		if (!stopping) {
			notify_send("RELOADING=1");
			reload();
			notify_send("READY=1"); /* also after a refused reload: the old one serves */
		}
		return;
	}
	if (stopping)
		return;
	stopping = true;
	log_info("shutting down (%s): no new connections, finishing those in flight",
	         sig == SIGTERM ? "SIGTERM" : "SIGINT");
	for (unsigned i = 0; i < nworkers; i++)
		event_active(workers[i].wake, 0, 0);
	event_base_loopbreak(main_base);
}

/* Joins every worker, forcing the stragglers out at the deadline. */
static void join_workers(uint64_t timeout_ms)
{
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += (time_t)(timeout_ms / 1000);
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	for (unsigned i = 0; i < nworkers; i++) {
		if (pthread_timedjoin_np(workers[i].thread, NULL, &deadline) != 0) {
			log_warn("shutdown_timeout reached: closing %zu connection(s) of worker %u",
			         workers[i].nconns, i);
			event_base_loopbreak(workers[i].base);
			pthread_join(workers[i].thread, NULL);
		}
	}
}

/* ---- main ------------------------------------------------------------------ */

static void usage(const char *argv0)
{
	fprintf(stderr,
	        "usage: %s [-c FILE] [-t] [-V]\n"
	        "  -c FILE  configuration file (default " DEFAULT_CONF ")\n"
	        "  -t       check the configuration and exit\n"
	        "  -V       print the version and exit\n",
	        argv0);
}

static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void listen_summary(const struct bound *b, size_t nb, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	/* Addresses repeat once per worker: list the first worker's. */
	size_t per = nb / (nworkers ? nworkers : 1);
	for (size_t i = 0; i < per && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s%s", i ? " " : "",
		                         b[i].tls ? "tls:" : "", b[i].addr);
	for (size_t i = 0; i < nmetrics && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, " metrics:%s", metrics_bound[i].addr);
}

/* glibc's heap tuned for a server's allocation pattern. */
static void tune_heap(void)
{
	/* Connection state is allocated and freed as load rises and falls; with
	 * glibc's default 128 KiB trim threshold each fall shrinks a worker's
	 * heap and the next rise grows it back (an mprotect per few connections). */
	mallopt(M_TRIM_THRESHOLD, TRIAD_HEAP_TRIM_THRESHOLD);
	/* Setting one threshold freezes glibc's adaptive mmap threshold at
	 * 128 KiB: every 256 KiB bulk-read chain (conn_set_read_max) would then
	 * be an mmap + munmap with its page faults (an FTP upload ran at a
	 * tenth of its speed). Buffers up to this size come from the heap. */
	mallopt(M_MMAP_THRESHOLD, TRIAD_HEAP_MMAP_THRESHOLD);
	/* libevent's per-descriptor records apart from the conns' churn, so that
	 * the heap a burst of connections used can go back (common/evmem.c). */
	evmem_install();
}

/* The command line: -1 to go on, else the exit status (-V, -h, bad usage). */
static int parse_options(int argc, char **argv, bool *check_only)
{
	int opt;
	while ((opt = getopt(argc, argv, "c:tVh")) != -1) {
		switch (opt) {
		case 'c':
			conf_path = optarg;
			break;
		case 't':
			*check_only = true;
			break;
		case 'V':
			printf("triad-%s %s\n", ops->name, TRIAD_VERSION);
			return 0;
		default:
			usage(argv[0]);
			return opt == 'h' ? 0 : 1;
		}
	}
	if (optind != argc) {
		usage(argv[0]);
		return 1;
	}
	return -1;
}

/*
 * A failed start, reported once, on stderr: whoever started the daemon (a
 * shell, systemd's journal, a test) reads it there, and the log may not be
 * open yet or be a file nobody watches for a start that never happened.
 * Returns the exit status.
 */
static int startup_failed(const char *err)
{
	fprintf(stderr, "triad-%s: %s\n", ops->name, err);
	return 1;
}

/* -t: checks C as the daemon will run and says so; the exit status. */
static int check_config(struct conf *c)
{
	char err[1024];
	/* Check as the daemon will run: files are opened (and a missing log is
	 * created) by `user`, so -t as root neither passes on files only root
	 * can read nor leaves root-owned logs the daemon cannot reopen. */
	int rc = drop_privileges(c, err, sizeof(err));
	if (rc == 0)
		rc = runtime_build(c, err, sizeof(err));
	if (rc == 0)
		rc = check_extra(c, err, sizeof(err));
	if (rc == 0)
		printf("triad-%s: %s: configuration is valid\n", ops->name, conf_path);
	conf_unref(c);
	return rc < 0 ? startup_failed(err) : 0;
}

/* A certificate or key: its directory, and the directory of the file it
 * resolves to, read-only: a renewal replaces the file (certbot points
 * live/NAME/cert.pem at a new archive/NAME/certN.pem) and a reload reads it. */
static void allow_cert(struct sandbox_paths *p, const char *key, const char *path)
{
	if (!path)
		return;
	sandbox_allow_dir_of(p, key, path, SANDBOX_READ);
	char *real = realpath(path, NULL);
	if (real) {
		sandbox_allow_dir_of(p, key, real, SANDBOX_READ);
		free(real);
	}
}

/* The read-only system trees (libraries, libmagic's database, zoneinfo, NSS,
 * OpenSSL's configuration), and the CPU count `workers = auto` reads on
 * reload, first, so that what lies beneath them adds no rule. */
static void allow_system(struct sandbox_paths *p)
{
	sandbox_allow_system(p);
	sandbox_allow(p, "system", "/sys/devices/system/cpu", SANDBOX_READ);
	sandbox_allow(p, "system", "/dev/null", SANDBOX_APPEND);
}

/* What C names: the file itself (reloads read it), the certificates, the
 * log's directory (rotation recreates the file) and what the daemon adds. */
static void sandbox_rules(const struct conf *c, struct sandbox_paths *p)
{
	sandbox_allow(p, "config", c->path, SANDBOX_READ);
	allow_cert(p, "tls_cert", c->g.tls_cert);
	allow_cert(p, "tls_key", c->g.tls_key);
	for (size_t i = 0; i < site_count(c); i++) { /* [site NAME] certificates (SNI) */
		allow_cert(p, "tls_cert", site_at(c, i)->tls_cert);
		allow_cert(p, "tls_key", site_at(c, i)->tls_key);
	}
	if (c->g.log && strcmp(c->g.log, "stderr") != 0 && strcmp(c->g.log, "syslog") != 0)
		sandbox_allow_dir_of(p, "log", c->g.log, SANDBOX_APPEND);
	if (ops->sandbox_paths)
		ops->sandbox_paths(c, p);
}

/* The rules Landlock applied at start (empty: no sandbox): what a reload
 * may name. */
static struct sandbox_paths confined;

/* The key an operator changes about RULE: its own, or `sandbox` for the
 * system trees every daemon reads (sandbox = off is the only knob there). */
static const char *rule_key(const struct sandbox_rule *rule)
{
	return rule && strcmp(rule->key, "system") != 0 ? rule->key : "sandbox";
}

static int confine_files(const struct conf *c, int *abi, char *err, size_t errlen)
{
	allow_system(&confined);
	sandbox_rules(c, &confined);
	const struct sandbox_rule *bad = NULL;
	char why[512];
	int rc = sandbox_landlock(&confined, abi, &bad, why, sizeof(why));
	if (rc < 0)
		conf_error_at(c, rule_key(bad), err, errlen, "%s", why);
	if (rc < 0 || *abi <= 0)
		sandbox_paths_free(&confined); /* nothing applied: nothing to hold reloads to */
	return rc;
}

/* A reload may only name files the start's Landlock rules allow: else it is
 * refused with the key and path at fault (rather than an EACCES later). */
static int confined_reload(const struct conf *c, char *err, size_t errlen)
{
	if (confined.n == 0)
		return 0;
	struct sandbox_paths want = {0};
	sandbox_rules(c, &want);
	const struct sandbox_rule *bad = sandbox_uncovered(&confined, &want);
	int rc = 0;
	if (bad)
		rc = conf_error_at(c, bad->key, err, errlen,
		                   "%s lies outside what the sandbox allowed at start; restart "
		                   "the daemon to use it",
		                   bad->path);
	else if (want.oom)
		rc = conf_error_at(c, "sandbox", err, errlen, "out of memory");
	sandbox_paths_free(&want);
	return rc;
}

/* The start's log lines for the Landlock outcome (the log is open now),
 * each as "FILE[:LINE]: KEY: ..." with the key an operator would change. */
static void log_landlock(const struct conf *c, int abi)
{
	char line[1024];
	if (!c->g.sandbox) {
		log_warn("sandbox: off (sandbox = off); no Landlock, no seccomp");
		return;
	}
	if (abi == 0)
		conf_error_at(c, "sandbox", line, sizeof(line),
		              "this kernel has no Landlock (Linux 5.13 or later, with landlock in "
		              "the lsm= boot list); file access is confined by fsroot and `user` only");
	else if (abi == -2)
		conf_error_at(c, "sandbox", line, sizeof(line),
		              "an outer seccomp filter forbids Landlock's system calls (systemd: add "
		              "them to SystemCallFilter=); file access is confined by fsroot and "
		              "`user` only");
	if (abi <= 0) {
		log_warn("sandbox: %s", line);
		return;
	}
	log_info("sandbox: Landlock ABI %d applied (%zu rules)", abi, confined.n);
	/* A path named in the configuration that did not exist got no rule: the
	 * daemon cannot use it (even once created) until a restart. */
	for (size_t i = 0; i < confined.n; i++) {
		const struct sandbox_rule *r = &confined.v[i];
		if (!r->missing || strcmp(r->key, "system") == 0)
			continue;
		conf_error_at(c, r->key, line, sizeof(line),
		              "%s does not exist, so the sandbox allows nothing there; create it "
		              "and restart the daemon",
		              r->path);
		log_warn("sandbox: %s", line);
	}
}

/*
 * The privileged part of the start, then the drop: binds the listeners
 * (into *BOUND), starts the auth helper, drops to `user`, opens the log and
 * what C names, and makes C the current configuration (which then owns it).
 */
static int process_setup(struct conf *c, struct bound **bound, size_t *nbound, char *err,
                         size_t errlen)
{
	evthread_use_pthreads();
	signal(SIGPIPE, SIG_IGN);
	notify_open();
	raise_fd_limit();
	nworkers = c->g.workers;
	struct activation_fd passed[TRIAD_LISTENERS_MAX * 4];
	int npassed = activation_listen_fds(passed, sizeof(passed) / sizeof(passed[0]), err, errlen);
	if (npassed < 0 ||
	    (npassed > 0 ? bind_passed(c, passed, (size_t)npassed, bound, nbound, err, errlen)
	                 : bind_all(c, bound, nbound, err, errlen)) < 0 ||
	    bind_metrics(c, err, errlen) < 0)
		goto fail;
	if (ops->auth && ops->auth->helper_start(nworkers, c->g.sandbox, err, errlen) < 0)
		goto fail;
	if (drop_privileges(c, err, errlen) < 0)
		goto fail;
	/* Before any thread exists: a Landlock domain binds the caller (and
	 * what it creates afterwards) only. */
	int landlock_abi = 0;
	if (c->g.sandbox && confine_files(c, &landlock_abi, err, errlen) < 0)
		goto fail;
	/* From here on everything is opened as `user`. */
	char why[512];
	if (log_open(c->g.log, (enum log_level)c->g.log_level, why, sizeof(why)) < 0) {
		conf_error_at(c, "log", err, errlen, "%s", why);
		goto fail;
	}
	log_landlock(c, landlock_abi);
	if (runtime_build(c, err, errlen) < 0)
		goto fail;
	apply_limits(c);
	set_current(c);
	return 0;
fail:
	conf_unref(c);
	return -1;
}

static struct event *sigs[3];

/* The main loop and its signal events (SIGTERM, SIGINT, SIGHUP). */
static int signals_start(char *err, size_t errlen)
{
	static const int which[3] = {SIGTERM, SIGINT, SIGHUP};
	main_base = event_base_new();
	if (!main_base) {
		snprintf(err, errlen, "cannot create the main event loop");
		return -1;
	}
	for (int i = 0; i < 3; i++) {
		sigs[i] = evsignal_new(main_base, which[i], signal_cb, NULL);
		if (!sigs[i] || event_add(sigs[i], NULL) < 0) {
			snprintf(err, errlen, "cannot watch %s", strsignal(which[i]));
			return -1;
		}
	}
	return 0;
}

/*
 * Sets up one worker per configured count, each on its share of BOUND, and
 * starts their threads. When a thread cannot start, those already running
 * are drained and joined before the failure is returned.
 */
static int workers_start(const struct bound *bound, size_t nbound, char *err, size_t errlen)
{
	workers = calloc(nworkers, sizeof(*workers));
	if (!workers || metrics_init(ops->name, ops->metrics, ops->nmetrics, nworkers) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	size_t per = nbound / nworkers;
	for (unsigned i = 0; i < nworkers; i++) {
		workers[i].index = i;
		if (worker_setup(&workers[i], bound + i * per, per, err, errlen) < 0)
			return -1;
	}
	/* Workers inherit a mask without our signals: only main handles them. */
	sigset_t mask, old;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, &old);
	unsigned started = 0;
	int rc = 0;
	while (started < nworkers &&
	       (rc = pthread_create(&workers[started].thread, NULL, worker_main,
	                            &workers[started])) == 0)
		started++;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc == 0)
		return 0;
	snprintf(err, errlen, "cannot start worker %u: %s", started, strerror(rc));
	for (unsigned i = 0; i < started; i++)
		event_active(workers[i].wake, 0, 0);
	for (unsigned i = 0; i < started; i++)
		pthread_join(workers[i].thread, NULL);
	return -1;
}

/* Says the daemon is ready and runs the main loop until SIGTERM/SIGINT. */
static void serve(const struct bound *bound, size_t nbound)
{
	char addrs[512];
	listen_summary(bound, nbound, addrs, sizeof(addrs));
	log_info("ready: triad-%s %s listening on %s workers=%u uid=%u", ops->name, TRIAD_VERSION,
	         addrs, nworkers, (unsigned)geteuid());
	notify_send("READY=1");
	event_base_dispatch(main_base);
	notify_send("STOPPING=1");
}

/* Lets the workers finish within shutdown_timeout and releases everything. */
static void shut_down(void)
{
	struct conf *last = server_current_conf();
	uint64_t grace = last->g.shutdown_timeout;
	conf_unref(last);
	join_workers(grace);
	if (ops->blocking_threads)
		workq_stop();
	bool clean = true;
	for (unsigned i = 0; i < nworkers; i++) {
		clean = clean && workers[i].nconns == 0;
		worker_teardown(&workers[i]);
	}
	for (int i = 0; i < 3; i++)
		event_free(sigs[i]);
	event_base_free(main_base);
	if (ops->auth)
		ops->auth->helper_stop();
	log_info("stopped%s", clean ? "" : " (connections were cut at shutdown_timeout)");
	set_current(NULL);
	free(workers);
	metrics_fini();
	sandbox_paths_free(&confined);
	notify_close();
	log_close();
}

int server_main(int argc, char **argv, const struct server_ops *daemon_ops)
{
	ops = daemon_ops;
	tune_heap();
	tls_init();
	log_init(ops->name);
	bool check_only = false;
	int rc = parse_options(argc, argv, &check_only);
	if (rc >= 0)
		return rc;

	char err[1024];
	struct conf *c = conf_load(conf_path, ops->section, err, sizeof(err));
	if (!c)
		return startup_failed(err);
	if (check_only)
		return check_config(c);

	struct bound *bound = NULL;
	size_t nbound = 0;
	rc = process_setup(c, &bound, &nbound, err, sizeof(err));
	if (rc == 0)
		rc = signals_start(err, sizeof(err));
	if (rc == 0 && ops->blocking_threads && workq_start(ops->blocking_threads) < 0) {
		snprintf(err, sizeof(err), "cannot start the blocking-work threads");
		rc = -1;
	}
	if (rc == 0)
		rc = workers_start(bound, nbound, err, sizeof(err));
	if (rc < 0) {
		free(bound);
		log_close();
		return startup_failed(err);
	}
	/* Every thread runs now: the system-call allowlist goes on all of them. */
	struct conf *cur = server_current_conf();
	bool sandboxed = cur && cur->g.sandbox;
	conf_unref(cur);
	int src = sandboxed ? sandbox_seccomp(ops->syscalls, err, sizeof(err)) : 0;
	if (src < 0) {
		free(bound);
		log_close();
		return startup_failed(err);
	}
	if (src > 0)
		log_warn("sandbox: %s; an outer seccomp filter is in place and forbids ours, "
		         "which is skipped", err);
	sandbox_probe("start");
	serve(bound, nbound);
	free(bound);
	shut_down();
	return 0;
}
