/*
 * conn: the connection object every protocol reads and writes through.
 *
 * A conn lives on one worker's event_base. Its bufferevent is a socket
 * bufferevent, an OpenSSL one (implicit TLS), or an OpenSSL filter stacked
 * on the socket one (after STARTTLS / AUTH TLS). Protocol callbacks run
 * from the bufferevent callbacks below; a conn is freed only from its own
 * deferred event, so no protocol callback ever sees its conn vanish.
 */
#include "triad/conn.h"
#include "triad/limits.h"
#include "triad/log.h"
#include "triad/server.h"
#include "triad/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include <event2/bufferevent_ssl.h>
#include <event2/bufferevent_struct.h>
#include <event2/event_struct.h>
#include <openssl/err.h>

enum {
	CONN_F_CLOSING = 1u << 0, /* conn_close: flushing, then free */
	CONN_F_FREEING = 1u << 1, /* the deferred free is scheduled */
	CONN_F_REFUSED = 1u << 2, /* over a connection limit */
	CONN_F_QUEUED = 1u << 3,  /* in this thread's flush queue */
	CONN_F_DIRECT = 1u << 4,  /* plain socket: output written directly (see flush_one) */
	CONN_F_HOLD = 1u << 5,    /* on_eof asked to keep the conn: a reply is still owed */
	CONN_F_CORK = 1u << 6,    /* conn_cork: the next direct write sends head and body together */
};

#define CONN_CLOSE_LINGER_MS 10000 /* flushing a closing conn never takes longer */

static atomic_ullong next_id = 1;
static atomic_uint total;
static unsigned max_total, max_per_ip;

/* ---- per-IP accounting --------------------------------------------------- */

struct ip_count {
	struct ip_count *next;
	unsigned char addr[16];
	unsigned n;
};

static pthread_mutex_t ip_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ip_count *ip_table[TRIAD_PERIP_BUCKETS];

/*
 * IPv4 as v4-mapped IPv6, so both families share one key space. Native IPv6
 * counts per /64: one host owns a whole /64 and could otherwise take every
 * slot by rotating its interface identifier.
 */
static void ip_key(const union conn_addr *ca, unsigned char key[16])
{
	memset(key, 0, 16);
	if (ca->sa.sa_family == AF_INET) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &ca->sin.sin_addr, 4);
	} else if (ca->sa.sa_family == AF_INET6) {
		const struct in6_addr *a = &ca->sin6.sin6_addr;
		memcpy(key, a, IN6_IS_ADDR_V4MAPPED(a) ? 16 : 8);
	}
}

static unsigned ip_bucket(const unsigned char key[16])
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (int i = 0; i < 16; i++)
		h = (h ^ key[i]) * 16777619u;
	return h % TRIAD_PERIP_BUCKETS;
}

/* Counts one more connection from KEY unless that would pass the limit. */
static bool ip_acquire(const unsigned char key[16], unsigned limit)
{
	unsigned b = ip_bucket(key);
	bool ok = true;
	pthread_mutex_lock(&ip_lock);
	struct ip_count *e = ip_table[b];
	while (e && memcmp(e->addr, key, 16) != 0)
		e = e->next;
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e) {
			pthread_mutex_unlock(&ip_lock);
			return false;
		}
		memcpy(e->addr, key, 16);
		e->next = ip_table[b];
		ip_table[b] = e;
	}
	if (limit && e->n >= limit)
		ok = false;
	else
		e->n++;
	pthread_mutex_unlock(&ip_lock);
	return ok;
}

static void ip_release(const unsigned char key[16])
{
	unsigned b = ip_bucket(key);
	pthread_mutex_lock(&ip_lock);
	for (struct ip_count **pp = &ip_table[b]; *pp; pp = &(*pp)->next) {
		struct ip_count *e = *pp;
		if (memcmp(e->addr, key, 16) != 0)
			continue;
		if (--e->n == 0) {
			*pp = e->next;
			free(e);
		}
		break;
	}
	pthread_mutex_unlock(&ip_lock);
}

void conn_limits_set(unsigned total_limit, unsigned per_ip_limit)
{
	max_total = total_limit;
	max_per_ip = per_ip_limit;
}

unsigned conn_count(void)
{
	return atomic_load(&total);
}

/* ---- lifetime ------------------------------------------------------------- */

static void addr_text(const union conn_addr *ca, char *ip, size_t iplen, uint16_t *port)
{
	ip[0] = '\0';
	*port = 0;
	if (ca->sa.sa_family == AF_INET) {
		const struct sockaddr_in *s4 = &ca->sin;
		inet_ntop(AF_INET, &s4->sin_addr, ip, (socklen_t)iplen);
		*port = ntohs(s4->sin_port);
	} else if (ca->sa.sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = &ca->sin6;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], ip, (socklen_t)iplen);
		else
			inet_ntop(AF_INET6, &s6->sin6_addr, ip, (socklen_t)iplen);
		*port = ntohs(s6->sin6_port);
	}
}

/* Bytes still to leave: the top buffer and, under a TLS filter, the socket's. */
static size_t output_total(struct conn *c);

/*
 * A graceful close ends TLS with close_notify, so that the peer can tell a
 * complete stream (an FTP download, RFC 4217 §10) from a cut one; libevent
 * frees the SSL without it. Only once everything queued has left (else the
 * alert would pass the unsent data) and only on a socket TLS bufferevent,
 * whose SSL writes to the socket itself (a filter's bev below is freed with it).
 */
static void tls_close_notify(struct conn *c)
{
	if (!c->ssl || !c->bev || !(c->flags & CONN_F_CLOSING) || !SSL_is_init_finished(c->ssl) ||
	    bufferevent_get_underlying(c->bev) || output_total(c) > 0)
		return;
	SSL_shutdown(c->ssl);
	ERR_clear_error();
}

static void flushq_remove(struct conn *c);
static void flushq_idle(struct worker *w);

static void conn_free(struct conn *c)
{
	struct worker *w = c->worker;
	if (c->ops && c->ops->on_free)
		c->ops->on_free(c);
	flushq_remove(c);
	tls_close_notify(c);
	if (c->bev)
		bufferevent_free(c->bev); /* frees the SSL and the underlying bev too */
	if (c->parked) {
		int fd = event_get_fd(c->parked);
		event_free(c->parked);
		close(fd);
	}
	if (c->deferred)
		event_free(c->deferred);
	if (c->counted) {
		unsigned char key[16];
		ip_key(&c->peer, key);
		ip_release(key);
		atomic_fetch_sub(&total, 1);
	}
	if (c->prev)
		c->prev->next = c->next;
	else if (w->conns == c)
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	w->nconns--;
	flushq_idle(w);
	log_debug("c%06llu closed in=%llu out=%llu", (unsigned long long)c->id,
	          (unsigned long long)c->bytes_in, (unsigned long long)c->bytes_out);
	if (c->conf)
		conf_unref(c->conf);
	free(c);
	/* loopexit, not loopbreak: bufferevent_free() closes the socket from a finalizer
	 * that runs later in this loop iteration; a break would skip it and leave the
	 * peer connected until the process exits. */
	if (w->draining && w->nconns == 0)
		event_base_loopexit(w->base, NULL);
}

#define CONN_FLUSH_POLL_MS 20

/*
 * One event per conn does both jobs: the deferred free, and while closing
 * under a TLS filter, polling until the socket bufferevent below has sent
 * what the filter handed it (libevent calls us back for the top layer only).
 */
static void deferred_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct conn *c = arg;
	if (!(c->flags & CONN_F_FREEING) && output_total(c) > 0 &&
	    c->flush_polls++ < CONN_CLOSE_LINGER_MS / CONN_FLUSH_POLL_MS) {
		struct timeval tv = {0, CONN_FLUSH_POLL_MS * 1000};
		event_add(c->deferred, &tv);
		return;
	}
	conn_free(c);
}

static bool ensure_deferred(struct conn *c)
{
	if (!c->deferred)
		c->deferred = event_new(c->base, -1, 0, deferred_cb, c);
	return c->deferred != NULL;
}

static void schedule_free(struct conn *c)
{
	if (c->flags & CONN_F_FREEING)
		return;
	c->flags |= CONN_F_FREEING;
	if (c->bev)
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	if (ensure_deferred(c)) {
		event_del(c->deferred);
		event_active(c->deferred, 0, 0);
	} else {
		conn_free(c); /* out of memory: no safer moment will come */
	}
}

/* Bytes still to leave: the top buffer and, under a TLS filter, the socket's. */
static size_t output_total(struct conn *c)
{
	if (!c->bev)
		return 0; /* parked */
	size_t n = evbuffer_get_length(bufferevent_get_output(c->bev));
	struct bufferevent *under = bufferevent_get_underlying(c->bev);
	if (under)
		n += evbuffer_get_length(bufferevent_get_output(under));
	return n;
}

/* ---- direct writes --------------------------------------------------------- */

/*
 * A plain socket bufferevent would add its write event to epoll whenever
 * output is queued and remove it once the output is empty: two epoll_ctl
 * calls per response, and the write itself one loop iteration later. So a
 * plain conn keeps EV_WRITE disabled while its output is empty. Output
 * queued from any callback puts the conn on its thread's flush queue; the
 * queue runs once the current callbacks are done (an active event, no
 * syscall), so a response queued in several pieces leaves in one writev.
 * Whatever the socket does not take is left to the bufferevent (EV_WRITE
 * enabled, with the send timeout) until the output is empty again.
 */
struct flushq {
	struct event ev;
	struct event_base *base;
	struct conn *head, *tail;
	bool running;
};
static _Thread_local struct flushq fq;

static void write_cb(struct bufferevent *bev, void *arg);
static void event_cb(struct bufferevent *bev, short what, void *arg);

/* Writes what a plain conn queued straight to its socket: the bytes sent,
 * or -1 with errno. The output stays frozen for libevent's own writer. */
static int direct_write(struct conn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	int fd = bufferevent_getfd(c->bev);
	evbuffer_unfreeze(out, 1);
	int n;
	if (c->flags & CONN_F_CORK) {
		/* A head, then a file body: one write stops where they meet. Corked,
		 * the head leaves in the body's first full segments, not alone. */
		c->flags &= ~CONN_F_CORK;
		int on = 1, off = 0;
		setsockopt(fd, IPPROTO_TCP, TCP_CORK, &on, sizeof(on));
		n = evbuffer_write_atmost(out, fd, TRIAD_CONN_WRITE_MAX);
		if (n > 0 && evbuffer_get_length(out) > 0) {
			int m = evbuffer_write_atmost(out, fd, TRIAD_CONN_WRITE_MAX);
			if (m > 0)
				n += m;
		}
		int err = errno;
		setsockopt(fd, IPPROTO_TCP, TCP_CORK, &off, sizeof(off));
		errno = err;
	} else {
		n = evbuffer_write_atmost(out, fd, TRIAD_CONN_WRITE_MAX);
	}
	evbuffer_freeze(out, 1);
	return n;
}

static bool write_failed(int n)
{
	return n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

static void flush_one(struct conn *c)
{
	struct bufferevent *bev = c->bev;
	if ((c->flags & (CONN_F_CLOSING | CONN_F_FREEING)) || !(c->flags & CONN_F_DIRECT) ||
	    (bufferevent_get_enabled(bev) & EV_WRITE))
		return; /* the bufferevent writes (closing, TLS, or output left over) */
	struct evbuffer *out = bufferevent_get_output(bev);
	if (evbuffer_get_length(out) == 0)
		return;
	int n = direct_write(c);
	if (write_failed(n)) {
		event_cb(bev, BEV_EVENT_WRITING | BEV_EVENT_ERROR, c);
		return;
	}
	size_t left = evbuffer_get_length(out);
	if (left > 0)
		bufferevent_enable(bev, EV_WRITE); /* the socket is full: wait for it */
	size_t low = 0;
	bufferevent_getwatermark(bev, EV_WRITE, &low, NULL);
	if (n > 0 && left <= low)
		write_cb(bev, c); /* what the bufferevent would have called */
}

static void flushq_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	struct conn *c = fq.head;
	fq.head = fq.tail = NULL;
	fq.running = true;
	while (c) {
		struct conn *next = c->flush_next;
		c->flush_next = NULL;
		c->flags &= ~CONN_F_QUEUED;
		flush_one(c);
		c = next;
	}
	fq.running = false;
}

static void flushq_add(struct conn *c)
{
	if (c->flags & CONN_F_QUEUED)
		return;
	if (fq.running && fq.base == c->base) {
		/* Output produced by on_drain during a flush: a reader as fast as we
		 * write would keep this loop from ever polling, so the bufferevent
		 * sends it from the next iteration on. */
		bufferevent_enable(c->bev, EV_WRITE);
		return;
	}
	if (fq.base != c->base) {
		/* first use on this thread, or a new loop (unit tests) */
		event_assign(&fq.ev, c->base, -1, 0, flushq_cb, NULL);
		fq.base = c->base;
		fq.head = fq.tail = NULL;
		fq.running = false;
	}
	c->flags |= CONN_F_QUEUED;
	c->flush_next = NULL;
	bool idle = fq.head == NULL;
	if (fq.tail)
		fq.tail->flush_next = c;
	else
		fq.head = c;
	fq.tail = c;
	if (idle)
		event_active(&fq.ev, 0, 0);
}

static void flushq_remove(struct conn *c)
{
	if (!(c->flags & CONN_F_QUEUED))
		return;
	struct conn *prev = NULL;
	for (struct conn *q = fq.head; q; prev = q, q = q->flush_next) {
		if (q != c)
			continue;
		if (prev)
			prev->flush_next = c->flush_next;
		else
			fq.head = c->flush_next;
		if (fq.tail == c)
			fq.tail = prev;
		break;
	}
	c->flags &= ~CONN_F_QUEUED;
}

/*
 * Reading a plain socket: libevent's own read callback asks FIONREAD before
 * every read and reads at most 4 KiB. This one, installed as the callback
 * of the bufferevent's own read event (so enable/disable, the read timeout
 * and the watermarks all still apply), reads once into the input's free
 * space plus a per-thread spill buffer, then does what libevent does: run
 * the bufferevent's read callback, or its event callback on EOF, error or
 * timeout. After STARTTLS those are the TLS filter's, which reads from here.
 */
#define CONN_READ_RESERVE 2048
#define CONN_READ_SPILL (64 * 1024)
static _Thread_local unsigned char spill[CONN_READ_SPILL];

/* Reads into the input's free space plus the spill buffer: one readv,
 * however little the input has reserved. */
static ssize_t read_small(int fd, struct evbuffer *in, size_t room)
{
	struct evbuffer_iovec v;
	size_t want = room < CONN_READ_RESERVE ? room : CONN_READ_RESERVE;
	if (evbuffer_reserve_space(in, (ev_ssize_t)want, &v, 1) < 1) {
		errno = ENOMEM;
		return -1;
	}
	if (v.iov_len > room)
		v.iov_len = room;
	struct iovec iov[2] = {{v.iov_base, v.iov_len}, {spill, room - v.iov_len}};
	ssize_t n;
	do
		n = readv(fd, iov, iov[1].iov_len ? 2 : 1);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		size_t first = (size_t)n < v.iov_len ? (size_t)n : v.iov_len;
		v.iov_len = first;
		evbuffer_commit_space(in, &v, 1);
		if ((size_t)n > first)
			evbuffer_add(in, spill, (size_t)n - first);
	}
	return n;
}

/* A bulk receiver's read: straight into the input's own chains, no copy. */
static ssize_t read_bulk(int fd, struct evbuffer *in, size_t room)
{
	struct evbuffer_iovec v[2];
	int nv = evbuffer_reserve_space(in, (ev_ssize_t)room, v, 2);
	if (nv < 1) {
		errno = ENOMEM;
		return -1;
	}
	struct iovec iov[2];
	for (int i = 0; i < nv; i++)
		iov[i] = (struct iovec){v[i].iov_base, v[i].iov_len};
	ssize_t n;
	do
		n = readv(fd, iov, nv);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		size_t left = (size_t)n;
		int used = 0;
		while (used < nv && left > 0) {
			if (v[used].iov_len > left)
				v[used].iov_len = left;
			left -= v[used].iov_len;
			used++;
		}
		evbuffer_commit_space(in, v, used);
	}
	return n;
}

static void direct_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bufferevent *bev = arg;
	bufferevent_incref(bev);
	if (what == EV_TIMEOUT) {
		bufferevent_disable(bev, EV_READ);
		bufferevent_trigger_event(bev, BEV_EVENT_READING | BEV_EVENT_TIMEOUT, 0);
		goto done;
	}
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t high = 0;
	bufferevent_getwatermark(bev, EV_READ, NULL, &high);
	size_t have = evbuffer_get_length(in);
	if (high && have >= high)
		goto done; /* the watermark callback suspends reading */
	bool bulk = high > TRIAD_CONN_READ_BULK;
	size_t room = bulk ? TRIAD_CONN_READ_BULK : CONN_READ_RESERVE + CONN_READ_SPILL;
	if (high && high - have < room)
		room = high - have;
	evbuffer_unfreeze(in, 0);
	ssize_t n = bulk ? read_bulk(fd, in, room) : read_small(fd, in, room);
	int err = errno;
	evbuffer_freeze(in, 0);
	if (n < 0 && (err == EAGAIN || err == EWOULDBLOCK))
		goto done;
	if (n <= 0) {
		bufferevent_disable(bev, EV_READ);
		short why = n == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR;
		bufferevent_trigger_event(bev, BEV_EVENT_READING | why, 0);
		goto done;
	}
	bufferevent_trigger(bev, EV_READ, 0);
done:
	bufferevent_decref(bev);
}

/* The worker's last conn is gone: its loop may end and be freed by another
 * thread, so the flush event (in this thread's storage) must not stay in it. */
static void flushq_idle(struct worker *w)
{
	if (w->nconns != 0 || fq.base != w->base)
		return;
	event_del(&fq.ev);
	fq.base = NULL;
	fq.head = fq.tail = NULL;
}

static void outbuf_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	(void)buf;
	struct conn *c = arg;
	if (info->n_added && !(bufferevent_get_enabled(c->bev) & EV_WRITE))
		flushq_add(c);
}

/* ---- bufferevent callbacks ----------------------------------------------- */

/*
 * TLS on a socket: OpenSSL's bufferevent writes each chain the moment it is
 * added, one record and one write() per chain (a response head, then its
 * body). Writing is held while the protocol answers; what it queued then
 * leaves as one record (up to TRIAD_TLS_RECORD_MAX) in one write().
 */
static bool tls_hold_writes(struct conn *c)
{
	if (!c->ssl || bufferevent_get_underlying(c->bev) || !SSL_is_init_finished(c->ssl) ||
	    !(bufferevent_get_enabled(c->bev) & EV_WRITE))
		return false;
	bufferevent_disable(c->bev, EV_WRITE);
	return true;
}

static void tls_release_writes(struct conn *c)
{
	if (c->flags & CONN_F_FREEING)
		return;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	size_t len = evbuffer_get_length(out);
	if (len > 1)
		evbuffer_pullup(out, (ev_ssize_t)(len < TRIAD_TLS_RECORD_MAX ? len
		                                                          : TRIAD_TLS_RECORD_MAX));
	bufferevent_enable(c->bev, EV_WRITE);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	struct conn *c = arg;
	if (c->flags & (CONN_F_CLOSING | CONN_F_FREEING)) {
		evbuffer_drain(conn_input(c), evbuffer_get_length(conn_input(c)));
		return;
	}
	if (tls_hold_writes(c)) {
		c->ops->on_read(c);
		tls_release_writes(c);
		return;
	}
	c->ops->on_read(c);
	/* The answer leaves now, not after every other conn this loop iteration
	 * woke up: the client can start on it while we serve the others. */
	if (c->flags & CONN_F_QUEUED) {
		flushq_remove(c);
		flush_one(c);
	}
}

static void write_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	struct conn *c = arg;
	if (c->flags & CONN_F_FREEING)
		return;
	if ((c->flags & CONN_F_DIRECT) && !(c->flags & CONN_F_CLOSING) &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		bufferevent_disable(c->bev, EV_WRITE); /* back to direct writes (no syscall) */
	if (c->flags & CONN_F_CLOSING) {
		if (output_total(c) == 0)
			schedule_free(c);
		else if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0 &&
		         ensure_deferred(c) && !event_pending(c->deferred, EV_TIMEOUT, NULL))
			deferred_cb(-1, 0, c); /* only the layer below is left: poll it */
		return;
	}
	if (c->ops->on_drain)
		c->ops->on_drain(c);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	struct conn *c = arg;
	if (c->flags & CONN_F_FREEING)
		return;
	if (what & BEV_EVENT_CONNECTED) {
		/* Only TLS bufferevents report this here: the handshake finished. */
		if (c->ops->on_tls)
			c->ops->on_tls(c, true);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		bool writing = (what & BEV_EVENT_WRITING) != 0;
		if (!(c->flags & CONN_F_CLOSING) && c->ops->on_timeout) {
			/* libevent disabled the direction that timed out; the protocol decides. */
			c->ops->on_timeout(c, writing);
		} else {
			log_debug("c%06llu %s timeout", (unsigned long long)c->id,
			          writing ? "send" : "idle");
			schedule_free(c);
		}
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		bool error = (what & BEV_EVENT_ERROR) != 0;
		if (error && c->ssl && log_enabled(LOG_LEVEL_DEBUG)) {
			char why[256];
			log_debug("c%06llu TLS: %s", (unsigned long long)c->id,
			          tls_last_error(why, sizeof(why)));
		}
		bool handshaking = c->ssl && !SSL_is_init_finished(c->ssl);
		if (!(c->flags & CONN_F_CLOSING)) {
			if (handshaking && c->ops->on_tls)
				c->ops->on_tls(c, false);
			else if (c->ops->on_eof)
				c->ops->on_eof(c, error);
		}
		/* A peer that only half-closed (RFC 9112 §9.6, RFC 9293 §3.6) still reads:
		 * what was queued before its EOF is sent, then the conn is freed; or,
		 * when on_eof held it (conn_hold), once the protocol closes it. */
		if (!error && (c->flags & CONN_F_HOLD) && !(c->flags & (CONN_F_CLOSING | CONN_F_FREEING)))
			return;
		if (!error && !(c->flags & (CONN_F_CLOSING | CONN_F_FREEING)) && output_total(c) > 0) {
			conn_close(c);
			return;
		}
		schedule_free(c);
	}
}

static void setup_bev(struct conn *c)
{
	bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, TRIAD_CONN_READ_MAX);
	bufferevent_setwatermark(c->bev, EV_WRITE, TRIAD_CONN_LOW_WATER, 0);
	if (!c->ssl && evbuffer_add_cb(bufferevent_get_output(c->bev), outbuf_cb, c)) {
		c->flags |= CONN_F_DIRECT;
		/* libevent writes at most 16 KiB per call once the socket was full:
		 * 64 sendfile() calls per MiB of a file body. */
		bufferevent_set_max_single_write(c->bev, TRIAD_CONN_WRITE_MAX);
		/* Not yet enabled, so not pending: the read event can take our callback. */
		event_assign(&c->bev->ev_read, c->base, bufferevent_getfd(c->bev),
		             EV_READ | EV_PERSIST | EV_FINALIZE, direct_read_cb, c->bev);
		bufferevent_disable(c->bev, EV_WRITE); /* a new bufferevent starts write-enabled */
		bufferevent_enable(c->bev, EV_READ);
	} else {
		bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	}
}

/* The bufferevent writes from now on (closing, or a TLS layer goes on top). */
static void direct_off(struct conn *c)
{
	if (!(c->flags & CONN_F_DIRECT))
		return;
	c->flags &= ~CONN_F_DIRECT;
	flushq_remove(c);
	evbuffer_remove_cb(bufferevent_get_output(c->bev), outbuf_cb, c);
	bufferevent_enable(c->bev, EV_WRITE);
}

/* The default until the protocol installs its own: close on anything. */
static void noop_read(struct conn *c)
{
	evbuffer_drain(conn_input(c), evbuffer_get_length(conn_input(c)));
}
static const struct conn_ops default_ops = {.on_read = noop_read};

static struct conn *conn_create(struct worker *w, int fd, const struct sockaddr *peer,
                                socklen_t peer_len, const struct sockaddr *local,
                                socklen_t local_len, SSL_CTX *tls_ctx, bool counted);

struct conn *conn_new(struct worker *w, int fd, const struct sockaddr *peer, socklen_t peer_len,
                      SSL_CTX *tls_ctx, bool counted)
{
	return conn_create(w, fd, peer, peer_len, NULL, 0, tls_ctx, counted);
}

struct conn *conn_new_accepted(struct worker *w, int fd, const struct sockaddr *peer,
                               socklen_t peer_len, const struct sockaddr *local,
                               socklen_t local_len, SSL_CTX *tls_ctx)
{
	return conn_create(w, fd, peer, peer_len, local, local_len, tls_ctx, true);
}

static struct conn *conn_create(struct worker *w, int fd, const struct sockaddr *peer,
                                socklen_t peer_len, const struct sockaddr *local,
                                socklen_t local_len, SSL_CTX *tls_ctx, bool counted)
{
	struct conn *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return NULL;
	}
	c->id = atomic_fetch_add(&next_id, 1);
	c->worker = w;
	c->base = w->base;
	c->ops = &default_ops;
	c->listener_tag = -1;
	if (peer_len > sizeof(c->peer))
		peer_len = sizeof(c->peer);
	memcpy(&c->peer, peer, peer_len);
	c->peer_len = peer_len;
	if (local && local_len <= sizeof(c->local)) {
		memcpy(&c->local, local, local_len);
		c->local_len = local_len;
	} else {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
			len = 0;
		if (len > sizeof(c->local))
			len = sizeof(c->local); /* not IP (unit tests' socketpairs) */
		memcpy(&c->local, &ss, len);
		c->local_len = len;
	}
	addr_text(&c->peer, c->peer_ip, sizeof(c->peer_ip), &c->peer_port);
	addr_text(&c->local, c->local_ip, sizeof(c->local_ip), &c->local_port);
	c->conf = server_current_conf();

	if (counted) {
		unsigned char key[16];
		ip_key(&c->peer, key);
		unsigned now = atomic_fetch_add(&total, 1) + 1;
		if (max_total && now > max_total) {
			atomic_fetch_sub(&total, 1);
			c->flags |= CONN_F_REFUSED;
		} else if (!ip_acquire(key, max_per_ip)) {
			atomic_fetch_sub(&total, 1);
			c->flags |= CONN_F_REFUSED;
		} else {
			c->counted = true;
		}
	}

	/* Counted conns come from server.c's listeners, which accept with
	 * SOCK_NONBLOCK and set TCP_NODELAY on the listening socket (inherited):
	 * a fcntl and a setsockopt per connection saved. */
	if (!counted) {
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		evutil_make_socket_nonblocking(fd);
	}

	if (tls_ctx && !(c->flags & CONN_F_REFUSED)) {
		SSL *ssl = SSL_new(tls_ctx);
		if (ssl)
			c->bev = bufferevent_openssl_socket_new(w->base, fd, ssl,
			                                        BUFFEREVENT_SSL_ACCEPTING,
			                                        BEV_OPT_CLOSE_ON_FREE);
		if (!c->bev)
			SSL_free(ssl);
		else
			c->ssl = ssl;
	} else {
		c->bev = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
	}

	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;

	if (!c->bev) {
		close(fd);
		log_error("c%06llu cannot set up the connection: out of memory",
		          (unsigned long long)c->id);
		conn_free(c);
		return NULL;
	}
	setup_bev(c);
	log_debug("c%06llu open peer=%s port=%u local=%s:%u%s", (unsigned long long)c->id,
	          c->peer_ip, c->peer_port, c->local_ip, c->local_port, c->ssl ? " tls" : "");
	return c;
}

bool conn_is_refused(const struct conn *c)
{
	return (c->flags & CONN_F_REFUSED) != 0;
}

/* ---- I/O ----------------------------------------------------------------- */

struct evbuffer *conn_input(struct conn *c)
{
	return bufferevent_get_input(c->bev);
}

struct evbuffer *conn_output(struct conn *c)
{
	return bufferevent_get_output(c->bev);
}

size_t conn_output_pending(struct conn *c)
{
	return output_total(c);
}

bool conn_output_full(struct conn *c)
{
	return output_total(c) >= TRIAD_CONN_HIGH_WATER;
}

int conn_write(struct conn *c, const void *data, size_t len)
{
	if ((c->flags & (CONN_F_CLOSING | CONN_F_FREEING)) || !c->bev)
		return -1;
	return bufferevent_write(c->bev, data, len);
}

int conn_printf(struct conn *c, const char *fmt, ...)
{
	if ((c->flags & (CONN_F_CLOSING | CONN_F_FREEING)) || !c->bev)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	int n = evbuffer_add_vprintf(conn_output(c), fmt, ap);
	va_end(ap);
	return n < 0 ? -1 : 0;
}

/* Skips input through the end of an overlong line; true when it ended. */
static bool skip_overlong(struct evbuffer *in, enum conn_eol eol)
{
	size_t len = evbuffer_get_length(in);
	struct evbuffer_ptr p = evbuffer_search(in, eol == CONN_EOL_CRLF ? "\r\n" : "\n",
	                                        eol == CONN_EOL_CRLF ? 2 : 1, NULL);
	if (p.pos >= 0) {
		evbuffer_drain(in, (size_t)p.pos + (eol == CONN_EOL_CRLF ? 2 : 1));
		return true;
	}
	/* Keep a trailing CR: its LF may be in the next read. */
	size_t keep = 0;
	if (len > 0 && eol == CONN_EOL_CRLF) {
		unsigned char last;
		struct evbuffer_ptr end;
		evbuffer_ptr_set(in, &end, len - 1, EVBUFFER_PTR_SET);
		if (evbuffer_copyout_from(in, &end, &last, 1) == 1 && last == '\r')
			keep = 1;
	}
	evbuffer_drain(in, len - keep);
	return false;
}

enum conn_line conn_read_line(struct conn *c, enum conn_eol eol, char *buf, size_t cap,
                              size_t *len)
{
	struct evbuffer *in = conn_input(c);
	*len = 0;
	if (c->discard_line) {
		if (!skip_overlong(in, eol))
			return CONN_LINE_AGAIN;
		c->discard_line = 0;
	}
	size_t have = evbuffer_get_length(in);
	if (have == 0)
		return CONN_LINE_AGAIN;
	/* A line of cap-1 bytes plus CRLF fits in cap+1: look no further than that. */
	size_t window = have < cap + 1 ? have : cap + 1;
	const char *p = (const char *)evbuffer_pullup(in, (ssize_t)window);
	if (!p)
		return CONN_LINE_AGAIN;

	size_t end, term;
	const char *hit;
	if (eol == CONN_EOL_CRLF) {
		hit = memmem(p, window, "\r\n", 2);
		end = hit ? (size_t)(hit - p) : 0;
		term = 2;
	} else {
		hit = memchr(p, '\n', window);
		end = hit ? (size_t)(hit - p) : 0;
		term = 1;
		if (hit && end > 0 && p[end - 1] == '\r') {
			end--;
			term = 2;
		}
	}
	if (!hit) {
		if (window == cap + 1) {
			c->discard_line = 1;
			if (skip_overlong(in, eol))
				c->discard_line = 0;
			return CONN_LINE_TOO_LONG;
		}
		return CONN_LINE_AGAIN;
	}
	if (end > cap - 1) {
		evbuffer_drain(in, end + term);
		return CONN_LINE_TOO_LONG;
	}
	memcpy(buf, p, end);
	buf[end] = '\0';
	*len = end;
	evbuffer_drain(in, end + term);
	c->bytes_in += end + term;
	return CONN_LINE_OK;
}

void conn_set_timeouts(struct conn *c, uint64_t read_ms, uint64_t write_ms)
{
	struct timeval r = {(time_t)(read_ms / 1000), (suseconds_t)(read_ms % 1000) * 1000};
	struct timeval w = {(time_t)(write_ms / 1000), (suseconds_t)(write_ms % 1000) * 1000};
	c->read_ms = read_ms;
	c->write_ms = write_ms;
	if (c->bev) /* parked: applied when the bufferevent is rebuilt */
		bufferevent_set_timeouts(c->bev, read_ms ? &r : NULL, write_ms ? &w : NULL);
}

void conn_set_read_max(struct conn *c, size_t bytes)
{
	if (c->bev)
		bufferevent_setwatermark(c->bev, EV_READ, 0, bytes);
}

void conn_pause_read(struct conn *c)
{
	if (c->bev)
		bufferevent_disable(c->bev, EV_READ);
}

void conn_resume_read(struct conn *c)
{
	if (c->bev && !(c->flags & (CONN_F_CLOSING | CONN_F_FREEING)))
		bufferevent_enable(c->bev, EV_READ);
}

/* ---- parking ---------------------------------------------------------------- */

static void parked_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	event_free(c->parked);
	c->parked = NULL;
	if (what & EV_TIMEOUT) {
		log_debug("c%06llu idle timeout (parked)", (unsigned long long)c->id);
		close(fd);
		schedule_free(c);
		return;
	}
	c->bev = bufferevent_socket_new(c->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!c->bev) {
		log_error("c%06llu cannot resume the connection: out of memory",
		          (unsigned long long)c->id);
		close(fd);
		schedule_free(c);
		return;
	}
	setup_bev(c);
	conn_set_timeouts(c, c->read_ms, c->write_ms);
	direct_read_cb(fd, EV_READ, c->bev); /* what woke us is waiting: read it now */
}

int conn_park(struct conn *c, uint64_t idle_ms)
{
	if (c->parked)
		return 0;
	if (!c->bev || c->ssl || !(c->flags & CONN_F_DIRECT) || c->discard_line ||
	    (c->flags & (CONN_F_CLOSING | CONN_F_FREEING | CONN_F_HOLD | CONN_F_QUEUED)) ||
	    output_total(c) > 0 || evbuffer_get_length(bufferevent_get_input(c->bev)) > 0 ||
	    !(bufferevent_get_enabled(c->bev) & EV_READ))
		return -1;
	int fd = bufferevent_getfd(c->bev);
	struct event *ev = event_new(c->base, fd, EV_READ, parked_cb, c);
	if (!ev)
		return -1;
	struct timeval tv = {(time_t)(idle_ms / 1000), (suseconds_t)(idle_ms % 1000) * 1000};
	/* The bufferevent lets go of the socket first (it would close it), then
	 * the bare event takes it over. */
	bufferevent_setfd(c->bev, -1);
	bufferevent_free(c->bev);
	c->bev = NULL;
	c->flags &= ~CONN_F_DIRECT;
	if (event_add(ev, idle_ms ? &tv : NULL) < 0) {
		event_free(ev);
		close(fd);
		schedule_free(c);
		return 0; /* the conn is gone either way: the caller must not use it for I/O */
	}
	c->parked = ev;
	log_debug("c%06llu parked", (unsigned long long)c->id);
	return 0;
}

void conn_cork(struct conn *c)
{
	if (c->flags & CONN_F_DIRECT)
		c->flags |= CONN_F_CORK;
}

void conn_read_now(struct conn *c)
{
	if (c->bev && (c->flags & CONN_F_DIRECT) && !conn_is_closing(c) &&
	    (bufferevent_get_enabled(c->bev) & EV_READ))
		direct_read_cb(bufferevent_getfd(c->bev), EV_READ, c->bev);
}

bool conn_is_parked(const struct conn *c)
{
	return c->parked != NULL;
}

/* ---- TLS ----------------------------------------------------------------- */

int conn_start_tls(struct conn *c, SSL_CTX *ctx)
{
	if (c->ssl || !ctx || !c->bev || (c->flags & (CONN_F_CLOSING | CONN_F_FREEING)))
		return -1;
	struct evbuffer *in = conn_input(c);
	size_t discarded = evbuffer_get_length(in);
	evbuffer_drain(in, discarded); /* plaintext sent after the command is never trusted */

	SSL *ssl = SSL_new(ctx);
	if (!ssl)
		return -1;
	direct_off(c); /* the plaintext still queued leaves through the socket bufferevent */
	struct bufferevent *filter = bufferevent_openssl_filter_new(
		c->base, c->bev, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (!filter) {
		SSL_free(ssl);
		return -1;
	}
	c->bev = filter;
	c->ssl = ssl;
	setup_bev(c);
	conn_set_timeouts(c, c->read_ms, c->write_ms);
	return (int)(discarded > INT32_MAX ? INT32_MAX : discarded);
}

bool conn_is_tls(const struct conn *c)
{
	return c->ssl != NULL;
}

const char *conn_tls_describe(const struct conn *c, char *buf, size_t len)
{
	return tls_describe(c->ssl, buf, len);
}

bool conn_tls_resumed(const struct conn *c)
{
	return c->ssl && SSL_session_reused(c->ssl);
}

void conn_tls_set_tickets(struct conn *c, unsigned n)
{
	if (c->ssl)
		SSL_set_num_tickets(c->ssl, n);
}

SSL_SESSION *conn_tls_session(const struct conn *c)
{
	return c->ssl ? SSL_get_session(c->ssl) : NULL;
}

/* ---- close --------------------------------------------------------------- */

void conn_close(struct conn *c)
{
	if (c->flags & (CONN_F_CLOSING | CONN_F_FREEING))
		return;
	c->flags |= CONN_F_CLOSING;
	if (!c->bev) {
		schedule_free(c); /* parked: nothing to flush */
		return;
	}
	bufferevent_disable(c->bev, EV_READ);
	if ((c->flags & CONN_F_DIRECT) && !(bufferevent_get_enabled(c->bev) & EV_WRITE) &&
	    output_total(c) > 0) {
		/* Most closes follow a response that the socket takes at once. */
		if (write_failed(direct_write(c))) {
			schedule_free(c); /* the peer is gone: nothing more can leave */
			return;
		}
	}
	if (output_total(c) == 0) {
		schedule_free(c);
		return;
	}
	/* Wake up once everything is out (write_cb), or give up after the linger. */
	struct timeval linger = {CONN_CLOSE_LINGER_MS / 1000, 0};
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	bufferevent_set_timeouts(c->bev, NULL, &linger);
	direct_off(c);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0 && ensure_deferred(c))
		deferred_cb(-1, 0, c); /* only the layer below is left: poll it */
}

void conn_keep_urgent_inline(struct conn *c)
{
	int one = 1;
	if (c->bev)
		setsockopt(bufferevent_getfd(c->bev), SOL_SOCKET, SO_OOBINLINE, &one,
		           sizeof(one));
}

void conn_hold(struct conn *c)
{
	c->flags |= CONN_F_HOLD;
}

void conn_abort(struct conn *c)
{
	schedule_free(c);
}

bool conn_is_closing(const struct conn *c)
{
	return (c->flags & (CONN_F_CLOSING | CONN_F_FREEING)) != 0;
}

void conn_shutdown_all(struct worker *w)
{
	struct conn *next;
	for (struct conn *c = w->conns; c; c = next) {
		next = c->next;
		if (conn_is_closing(c))
			continue;
		if (c->parked)
			conn_close(c); /* idle: the protocol has nothing in flight */
		else if (c->ops->on_shutdown)
			c->ops->on_shutdown(c);
		else
			conn_close(c);
	}
}
