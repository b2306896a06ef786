/*
 * conn: the connection object every protocol reads and writes through.
 *
 * A conn lives on one worker's event_base and owns everything below the
 * protocol: the socket, two evbuffers (input, output), the SSL driven
 * straight on the socket (SSL_set_fd), a persistent read event, a write
 * event armed only while the socket is full (or a handshake or connect
 * waits on it), and one timer for the deferred free and the TLS handshake
 * deadline. No bufferevent: the read and write paths below are the whole
 * I/O layer, so the syscalls per request are ours to count (an HTTPS
 * keep-alive request: one read, one write, no epoll_ctl).
 *
 * Protocol callbacks run from the event callbacks below with c->busy set;
 * output they queue is written when they return. A conn is freed only from
 * its timer event, so no protocol callback ever sees its conn vanish.
 */
#include "conn_private.h"
#include "park.h"
#include "triad/addr.h"
#include "triad/duration.h"
#include "triad/limits.h"
#include "triad/log.h"
#include "triad/metrics.h"
#include "triad/net.h"
#include "triad/server.h"
#include "triad/tls.h"
#include "triad/strlit.h"
#include "triad/tbuf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>
#include <openssl/err.h>

enum {
	CONN_F_CLOSING = 1u << 0,    /* conn_close: flushing, then free */
	CONN_F_FREEING = 1u << 1,    /* the deferred free is scheduled */
	CONN_F_REFUSED = 1u << 2,    /* over a connection limit */
	CONN_F_QUEUED = 1u << 3,     /* in this thread's flush queue */
	CONN_F_HOLD = 1u << 4,       /* on_eof asked to keep the conn: a reply is still owed */
	CONN_F_CORK = 1u << 5,       /* cork_head bytes of head precede a file body: sent MSG_MORE */
	CONN_F_READING = 1u << 6,    /* the protocol wants input (not paused) */
	CONN_F_RFULL = 1u << 7,      /* input at read_max: reading waits for the protocol */
	CONN_F_RARMED = 1u << 8,     /* rev is added */
	CONN_F_WARMED = 1u << 9,     /* wev is added */
	CONN_F_HANDSHAKE = 1u << 10, /* TLS handshake not finished */
	CONN_F_R_WANTS_W = 1u << 11, /* SSL_read needs the socket writable */
	CONN_F_W_WANTS_R = 1u << 12, /* SSL_write needs the socket readable */
	CONN_F_PARKED = 1u << 13,    /* rebuilt from a park record only to be closed: no buffers */
	CONN_F_CONNECTING = 1u << 14, /* conn_connect in progress */
	CONN_F_SHUT_WR = 1u << 15,   /* conn_shutdown_write: once the output is out */
	CONN_F_SHUT_DONE = 1u << 16, /* ... done: FIN or close_notify sent */
	CONN_F_CLIENT = 1u << 17,    /* TLS client side */
	CONN_F_DEADLINE = 1u << 18,  /* the timer holds the handshake deadline */
	CONN_F_HS_WANTS_W = 1u << 19, /* the handshake waits for the socket to be writable */
	CONN_F_COUNTED = 1u << 20,   /* counted in the connection limits */
	CONN_F_PERIP = 1u << 21,     /* counted in the per-IP table (not limits_exempt) */
	CONN_F_UNREAD = 1u << 22,    /* closed with input unread: linger before the close */
	CONN_F_LINGER = 1u << 23,    /* lingering: FIN sent, input read and dropped until EOF */
	CONN_F_REFUSED_IP = 1u << 24, /* refused by max_connections_per_ip */
	CONN_F_FILEQ = 1u << 25,     /* the output may hold a file segment (cleared once empty) */
};

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
/* limits_exempt of the current generation, under ip_lock (reloads replace it). */
static struct net_cidr exempt[TRIAD_CONF_LIST_MAX];
static size_t nexempt;

/* Keys are triad/addr.h's: per IPv4 address, per native IPv6 /64. */
static unsigned ip_bucket(const unsigned char key[16])
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (int i = 0; i < 16; i++)
		h = (h ^ key[i]) * 16777619u;
	return h % TRIAD_PERIP_BUCKETS;
}

enum ip_verdict { IP_COUNTED, IP_EXEMPT, IP_OVER };

/* Counts one more connection from PEER (KEY) unless that would pass the limit. */
static enum ip_verdict ip_acquire(const union conn_addr *peer, const unsigned char key[16],
                                  unsigned limit)
{
	unsigned b = ip_bucket(key);
	enum ip_verdict v = IP_COUNTED;
	pthread_mutex_lock(&ip_lock);
	if (net_match(exempt, nexempt, &peer->sa)) {
		pthread_mutex_unlock(&ip_lock);
		return IP_EXEMPT;
	}
	struct ip_count *e = ip_table[b];
	while (e && memcmp(e->addr, key, 16) != 0)
		e = e->next;
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e) {
			pthread_mutex_unlock(&ip_lock);
			return IP_OVER;
		}
		memcpy(e->addr, key, 16);
		e->next = ip_table[b];
		ip_table[b] = e;
	}
	if (limit && e->n >= limit)
		v = IP_OVER;
	else
		e->n++;
	pthread_mutex_unlock(&ip_lock);
	return v;
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

void conn_limits_set(unsigned total_limit, unsigned per_ip_limit, const struct net_cidr *nets,
                     size_t nnets)
{
	max_total = total_limit;
	max_per_ip = per_ip_limit;
	if (nnets > TRIAD_CONF_LIST_MAX)
		nnets = TRIAD_CONF_LIST_MAX; /* config lists are bounded the same */
	pthread_mutex_lock(&ip_lock);
	if (nnets)
		memcpy(exempt, nets, nnets * sizeof(*nets));
	nexempt = nnets;
	pthread_mutex_unlock(&ip_lock);
}

/* Gives back the slots of a counted conn: once it starts closing it is no
 * longer the client's connection (interface.md: counted only while open). */
static void uncount(const union conn_addr *peer, bool per_ip)
{
	if (per_ip) {
		unsigned char key[16];
		addr_key(&peer->sa, key);
		ip_release(key);
	}
	atomic_fetch_sub(&total, 1);
}

static void conn_uncount(struct conn *c)
{
	if (!(c->flags & CONN_F_COUNTED))
		return;
	c->flags &= ~CONN_F_COUNTED;
	uncount(&c->peer, c->flags & CONN_F_PERIP);
}

unsigned conn_count(void)
{
	return atomic_load(&total);
}

/* ---- lifetime ------------------------------------------------------------- */

static void timer_cb(evutil_socket_t fd, short what, void *arg);
static void flushq_remove(struct conn *c);
static void flushq_idle(struct worker *w);
static void worker_conn_gone(struct worker *w);

static size_t output_total(const struct conn *c)
{
	size_t n = 0;
	if (c->out)
		n += evbuffer_get_length(c->out);
	if (c->plain_out)
		n += evbuffer_get_length(c->plain_out);
	return n;
}

static void conn_free(struct conn *c)
{
	struct worker *w = c->worker;
	/* TLS reads and writes go through OpenSSL's socket BIO, which counts them. */
	metrics_conn_closed(c, c->ssl && !(c->flags & (CONN_F_HANDSHAKE | CONN_F_CLIENT)),
	                    c->ssl ? BIO_number_read(SSL_get_rbio(c->ssl)) : 0,
	                    c->ssl ? BIO_number_written(SSL_get_wbio(c->ssl)) : 0);
	if (c->ops && c->ops->on_free)
		c->ops->on_free(c);
	flushq_remove(c);
	if (c->rev)
		event_free(c->rev);
	if (c->wev)
		event_free(c->wev);
	if (c->timer)
		event_free(c->timer);
	if (c->in)
		evbuffer_free(c->in);
	if (c->out)
		evbuffer_free(c->out);
	if (c->plain_out)
		evbuffer_free(c->plain_out);
	if (c->ssl) {
		SSL_free(c->ssl);
		ERR_clear_error();
	}
	if (c->fd >= 0)
		close(c->fd);
	conn_uncount(c);
	if (c->prev)
		c->prev->next = c->next;
	else if (w->conns == c)
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	log_debug("c%06llu closed in=%llu out=%llu", (unsigned long long)c->id,
	          (unsigned long long)c->bytes_in, (unsigned long long)c->bytes_out);
	if (c->conf)
		conf_unref(c->conf);
	free(c);
	worker_conn_gone(w);
}

static bool ensure_timer(struct conn *c)
{
	if (!c->timer)
		c->timer = event_new(c->base, -1, 0, timer_cb, c);
	return c->timer != NULL;
}

static void rev_off(struct conn *c)
{
	if (c->flags & CONN_F_RARMED) {
		event_del(c->rev);
		c->flags &= ~CONN_F_RARMED;
	}
}

static void wev_off(struct conn *c)
{
	if (c->flags & CONN_F_WARMED) {
		event_del(c->wev);
		c->flags &= ~CONN_F_WARMED;
	}
}

/* The free happens from the timer's callback: after whatever protocol
 * callback is running now has returned. */
static void schedule_free(struct conn *c)
{
	if (c->flags & CONN_F_FREEING)
		return;
	c->flags |= CONN_F_FREEING;
	conn_uncount(c);
	rev_off(c);
	if (c->wev)
		wev_off(c);
	flushq_remove(c);
	if (ensure_timer(c)) {
		event_del(c->timer);
		event_active(c->timer, 0, 0);
	} else {
		conn_free(c); /* out of memory: no safer moment will come */
	}
}

/* ---- events ------------------------------------------------------------------ */

static uint32_t clamp_ms(uint64_t ms)
{
	return ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
}

/* Arms or disarms the read event for what the conn wants now: input for the
 * protocol, a handshake's next flight, or SSL_write's need to read. Re-adding
 * an armed event only moves its timer (no epoll_ctl). */
static void update_read(struct conn *c)
{
	if (!c->rev)
		return;
	uint32_t f = c->flags;
	bool want;
	if (f & (CONN_F_FREEING | CONN_F_CONNECTING | CONN_F_PARKED) || c->eof != CONN_EOF_NONE)
		want = false;
	else if (f & CONN_F_LINGER)
		want = true;
	else if (f & CONN_F_CLOSING)
		want = false;
	else if ((f & CONN_F_HANDSHAKE) && c->plain_out)
		want = false; /* STARTTLS: the client's hello waits for our plaintext reply */
	else
		want = (f & (CONN_F_HANDSHAKE | CONN_F_W_WANTS_R)) ||
		       ((f & CONN_F_READING) && !(f & CONN_F_RFULL));
	if (!want) {
		rev_off(c);
		return;
	}
	uint32_t ms = c->read_ms;
	if (f & CONN_F_LINGER)
		ms = 0; /* the timer holds the linger deadline */
	if ((f & CONN_F_RARMED) && ms == c->rev_ms)
		return;
	struct timeval tv = duration_tv(ms);
	if (event_add(c->rev, ms ? &tv : NULL) == 0) {
		c->flags |= CONN_F_RARMED;
		c->rev_ms = ms;
	}
}

/* The send timeout: no progress this long (a closing conn never waits longer
 * than TRIAD_CONN_LINGER_MS, whatever the protocol set). */
static uint32_t write_timeout(const struct conn *c)
{
	uint32_t ms = c->write_ms;
	if ((c->flags & CONN_F_CLOSING) && (ms == 0 || ms > TRIAD_CONN_LINGER_MS))
		ms = TRIAD_CONN_LINGER_MS;
	return ms;
}

static void wev_on(struct conn *c)
{
	if (!c->wev || (c->flags & (CONN_F_WARMED | CONN_F_FREEING)))
		return;
	uint32_t ms = write_timeout(c);
	struct timeval tv = duration_tv(ms);
	if (event_add(c->wev, ms ? &tv : NULL) == 0)
		c->flags |= CONN_F_WARMED;
}

static uint16_t addr_port(const union conn_addr *ca)
{
	if (ca->sa.sa_family == AF_INET)
		return ntohs(ca->sin.sin_port);
	if (ca->sa.sa_family == AF_INET6)
		return ntohs(ca->sin6.sin6_port);
	return 0;
}

/* Dotted-quad text of A[4] into OUT (at least 16 bytes). By hand: glibc's
 * inet_ntop formats IPv4 through sprintf, and the proxy asks for the
 * client's address on every request (X-Forwarded-For, Forwarded). */
static void ipv4_text(const unsigned char *a, char *out)
{
	for (int i = 0; i < 4; i++) {
		unsigned v = a[i];
		if (v >= 100)
			*out++ = (char)('0' + v / 100);
		if (v >= 10)
			*out++ = (char)('0' + v / 10 % 10);
		*out++ = (char)('0' + v % 10);
		*out++ = i < 3 ? '.' : '\0';
	}
}

/* Formatted on demand rather than stored: two 48-byte texts in every conn
 * were a quarter of what an idle keep-alive connection costs (issue 10). */
static struct conn_ip addr_text(const union conn_addr *ca, socklen_t len)
{
	struct conn_ip ip = {""};
	if (ca->sa.sa_family == AF_INET) {
		ipv4_text((const unsigned char *)&ca->sin.sin_addr, ip.s);
	} else if (ca->sa.sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = &ca->sin6;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			ipv4_text(&s6->sin6_addr.s6_addr[12], ip.s);
		else
			inet_ntop(AF_INET6, &s6->sin6_addr, ip.s, sizeof(ip.s));
	} else if (ca->sa.sa_family == AF_UNIX && len > offsetof(struct sockaddr_un, sun_path)) {
		/* An outbound unix socket: as much of the path as the conn keeps. */
		const char *path = (const char *)ca + offsetof(struct sockaddr_un, sun_path);
		size_t max = len - offsetof(struct sockaddr_un, sun_path);
		snprintf(ip.s, sizeof(ip.s), "unix:%.*s", (int)strnlen(path, max), path);
	}
	return ip;
}

struct conn_ip conn_peer_ip(const struct conn *c)
{
	return addr_text(&c->peer, c->peer_len);
}

struct conn_ip conn_local_ip(const struct conn *c)
{
	return addr_text(&c->local, c->local_len);
}

/* ---- the flush queue ---------------------------------------------------------- */

/*
 * Output a protocol queues from its own callbacks is written when the
 * callback returns. Output queued from anywhere else (a workq completion, a
 * timer) puts the conn on its thread's flush queue: one active event, no
 * syscall, run once the current callbacks are done, so a response queued in
 * several pieces still leaves in one write.
 */
struct flushq {
	struct event *ev;
	struct event_base *base;
	struct conn *head, *tail;
};
static _Thread_local struct flushq fq;

static void flush(struct conn *c);

static void flushq_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	struct conn *c = fq.head;
	fq.head = fq.tail = NULL;
	while (c) {
		struct conn *next = c->flush_next;
		c->flush_next = NULL;
		c->flags &= ~CONN_F_QUEUED;
		flush(c);
		c = next;
	}
}

static void flushq_add(struct conn *c)
{
	if (c->flags & CONN_F_QUEUED)
		return;
	if (fq.base != c->base) {
		/* first use on this thread, or a new loop (unit tests) */
		if (fq.ev)
			event_free(fq.ev);
		fq.ev = event_new(c->base, -1, 0, flushq_cb, NULL);
		fq.base = fq.ev ? c->base : NULL;
		fq.head = fq.tail = NULL;
		if (!fq.ev) {
			wev_on(c); /* out of memory: the write event does it */
			return;
		}
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
		event_active(fq.ev, 0, 0);
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

/* The worker's last conn is gone: its loop may end and be freed by another
 * thread, so the flush event must not stay in it. */
static void flushq_idle(struct worker *w)
{
	if (w->nconns != 0 || fq.base != w->base)
		return;
	event_free(fq.ev);
	fq.ev = NULL;
	fq.base = NULL;
	fq.head = fq.tail = NULL;
}

/* Output added from outside a callback of this conn: try it from the queue. */
static void outbuf_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	(void)buf;
	struct conn *c = arg;
	if (info->n_added && !c->busy &&
	    !(c->flags & (CONN_F_WARMED | CONN_F_FREEING | CONN_F_CONNECTING)))
		flushq_add(c);
}

/* Input consumed below read_max: reading resumes. Data already decrypted
 * inside the SSL object raises no epoll event, so it is read at once. */
static void read_again(struct conn *c);

static void inbuf_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;
	if (!info->n_deleted || !(c->flags & CONN_F_RFULL) ||
	    evbuffer_get_length(buf) >= c->read_max)
		return;
	c->flags &= ~CONN_F_RFULL;
	update_read(c);
	read_again(c);
}

/* ---- writing ------------------------------------------------------------------ */

static bool io_again(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

/*
 * The head in front of a file body (conn_file_queued), with MSG_MORE: the
 * kernel holds it until the body's first pages join it, and sendfile's
 * last piece pushes the stream. Two system calls per response where
 * TCP_CORK on and off around the writev took four. Bytes sent, or -1.
 */
static ssize_t send_head_more(struct conn *c, struct evbuffer *out)
{
	struct evbuffer_iovec v[8];
	int nv = evbuffer_peek(out, (ev_ssize_t)c->cork_head, NULL, v, 8);
	if (nv < 0)
		return -1;
	struct iovec iov[8];
	size_t left = c->cork_head;
	int k = 0;
	for (; k < nv && k < 8 && left > 0; k++) {
		iov[k].iov_base = v[k].iov_base;
		iov[k].iov_len = v[k].iov_len < left ? v[k].iov_len : left;
		left -= iov[k].iov_len;
	}
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)k};
	ssize_t n = sendmsg(c->fd, &mh, MSG_MORE | MSG_NOSIGNAL);
	if (n > 0) {
		evbuffer_drain(out, (size_t)n);
		c->cork_head -= (uint32_t)n;
	}
	return n;
}

/* A plain write of what OUT holds: writev, or sendfile for a file segment
 * (libevent picks per chain). Bytes sent, or -1 with errno. */
static int plain_write(struct conn *c, struct evbuffer *out)
{
	if (!(c->flags & CONN_F_CORK))
		return evbuffer_write_atmost(out, c->fd, TRIAD_CONN_WRITE_MAX);
	ssize_t n = send_head_more(c, out);
	if (n < 0)
		return -1;
	if (c->cork_head > 0)
		return (int)n; /* the socket is full within the head: the rest when writable */
	c->flags &= ~CONN_F_CORK;
	int m = evbuffer_write_atmost(out, c->fd, TRIAD_CONN_WRITE_MAX);
	if (m < 0)
		return n > 0 ? (int)n : -1; /* an error shows again on the next write */
	return (int)n + m;
}

enum io_res { IO_DONE, IO_BLOCKED, IO_FAILED };

static void tls_log_error(struct conn *c, const char *what)
{
	if (log_enabled(LOG_LEVEL_DEBUG)) {
		char why[256];
		log_debug("c%06llu TLS %s: %s", (unsigned long long)c->id, what,
		          tls_last_error(why, sizeof(why)));
	}
	ERR_clear_error();
}

static unsigned char *spill_buf(void);

/*
 * OpenSSL's rule: the thread's error queue is empty before an SSL call whose
 * SSL_get_error we read. It nearly always is already (every failure path
 * here clears it), and peeking is cheap where ERR_clear_error resets all 16
 * slots every time: 837 instructions, once for the read and once for the
 * write of each HTTPS request, 5% of the request's user-space instructions
 * (callgrind).
 */
static void tls_err_reset(void)
{
	if (ERR_peek_error())
		ERR_clear_error();
}

/*
 * TLS: one SSL_write per record. What is queued is pulled up to
 * TRIAD_TLS_RECORD_MAX first, so an answer queued in pieces (a head, then
 * a body) still leaves as one record in one write(). An SSL_write that
 * could not finish is retried with the same length (OpenSSL's rule; the
 * buffer may move, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER).
 */
static enum io_res tls_write(struct conn *c, size_t *sent)
{
	while (*sent < TRIAD_CONN_WRITE_MAX) {
		size_t len = evbuffer_get_length(c->out);
		if (len == 0)
			return IO_DONE;
		size_t n = c->tls_wpend;
		if (n == 0)
			n = len < TRIAD_TLS_RECORD_MAX ? len : TRIAD_TLS_RECORD_MAX;
		/* A head and a body in two chains: copied once into the thread's
		 * spill buffer (free between reads) rather than pulled up, which
		 * allocates a chain, copies into it and frees the old ones. */
		unsigned char *stage = NULL;
		if (evbuffer_get_contiguous_space(c->out) < n)
			stage = spill_buf();
		const unsigned char *p = stage && evbuffer_copyout(c->out, stage, n) == (ev_ssize_t)n
		                             ? stage
		                             : evbuffer_pullup(c->out, (ev_ssize_t)n);
		if (!p)
			return IO_FAILED;
		size_t wrote = 0;
		tls_err_reset();
		if (SSL_write_ex(c->ssl, p, n, &wrote) == 1) {
			c->tls_wpend = 0;
			evbuffer_drain(c->out, wrote);
			*sent += wrote;
			continue;
		}
		switch (SSL_get_error(c->ssl, 0)) {
		case SSL_ERROR_WANT_WRITE:
			c->tls_wpend = (uint32_t)n;
			return IO_BLOCKED;
		case SSL_ERROR_WANT_READ:
			c->tls_wpend = (uint32_t)n;
			c->flags |= CONN_F_W_WANTS_R;
			update_read(c);
			return IO_BLOCKED;
		default:
			tls_log_error(c, "write");
			return IO_FAILED;
		}
	}
	return evbuffer_get_length(c->out) ? IO_BLOCKED : IO_DONE;
}

/* Sends what it can now. IO_BLOCKED: the socket is full (or TLS waits). */
static enum io_res send_some(struct conn *c, size_t *sent)
{
	*sent = 0;
	if (c->plain_out && evbuffer_get_length(c->plain_out) > 0) {
		/* STARTTLS: the "go ahead" queued before the upgrade leaves in plaintext. */
		int n = evbuffer_write_atmost(c->plain_out, c->fd, -1);
		if (n < 0)
			return io_again(errno) ? IO_BLOCKED : IO_FAILED;
		metrics_conn_io(c, 0, (uint64_t)n);
		if (evbuffer_get_length(c->plain_out) > 0)
			return IO_BLOCKED;
	}
	if (c->flags & (CONN_F_HANDSHAKE | CONN_F_CONNECTING))
		return IO_DONE; /* the output waits for the handshake / the connect */
	if (c->ssl)
		return tls_write(c, sent);
	size_t len = evbuffer_get_length(c->out);
	if (len == 0)
		return IO_DONE;
	int n = plain_write(c, c->out);
	if (n < 0)
		return io_again(errno) ? IO_BLOCKED : IO_FAILED;
	*sent = (size_t)n;
	metrics_conn_io(c, 0, (uint64_t)n);
	return evbuffer_get_length(c->out) ? IO_BLOCKED : IO_DONE;
}

static void fail(struct conn *c, bool writing);
static void output_empty(struct conn *c);
static bool tls_handshake(struct conn *c);

/*
 * Writes what is queued, as far as the socket takes it. What is left waits
 * on the write event (with the send timeout). Once output fell to the low
 * water mark after progress, on_drain asks the protocol for more; what that
 * queues is written from the next loop iteration on (a reader as fast as we
 * write would otherwise keep this loop from ever polling).
 */
static void flush(struct conn *c)
{
	if ((c->flags & (CONN_F_FREEING | CONN_F_PARKED)) || !c->out)
		return;
	size_t sent;
	enum io_res r = send_some(c, &sent);
	if (r == IO_FAILED) {
		fail(c, true);
		return;
	}
	if (c->plain_out && evbuffer_get_length(c->plain_out) == 0) {
		evbuffer_free(c->plain_out); /* STARTTLS: the plaintext reply is out */
		c->plain_out = NULL;
		update_read(c);
	}
	if (r == IO_BLOCKED)
		wev_on(c);
	else if (!(c->flags & (CONN_F_R_WANTS_W | CONN_F_CONNECTING | CONN_F_HS_WANTS_W)))
		wev_off(c);
	if (r == IO_DONE && output_total(c) == 0) {
		c->flags &= ~CONN_F_FILEQ;
		output_empty(c);
		if (c->flags & CONN_F_FREEING)
			return;
	}
	if (sent > 0 && !(c->flags & CONN_F_CLOSING) && c->ops->on_drain &&
	    output_total(c) <= c->write_low) {
		c->busy++;
		c->ops->on_drain(c);
		c->busy--;
		if ((c->flags & CONN_F_FREEING) || !c->out)
			return;
		if (output_total(c) > 0)
			wev_on(c);
	}
}

/* Everything queued has left: a closing conn goes (after close_notify), a
 * half-closing one sends its FIN. */
static void output_empty(struct conn *c)
{
	if (c->flags & CONN_F_HANDSHAKE)
		return;
	if ((c->flags & (CONN_F_CLOSING | CONN_F_SHUT_WR)) && !(c->flags & CONN_F_SHUT_DONE)) {
		c->flags |= CONN_F_SHUT_DONE;
		if (c->ssl) {
			/* close_notify: the peer can tell a complete stream (an FTP
			 * download, RFC 4217 §10) from a cut one. Best effort: a peer
			 * that does not read it loses nothing it was owed. */
			ERR_clear_error();
			SSL_shutdown(c->ssl);
			ERR_clear_error();
		}
		if (!(c->flags & CONN_F_CLOSING))
			shutdown(c->fd, SHUT_WR); /* under TLS too: the alert was the last byte */
	}
	if ((c->flags & (CONN_F_CLOSING | CONN_F_UNREAD | CONN_F_LINGER)) ==
	    (CONN_F_CLOSING | CONN_F_UNREAD)) {
		/* RFC 9112 §9.6: a close with the peer's data unread makes the kernel
		 * send a reset, which can destroy the answer still in flight (a 413
		 * while the body streams in). So: FIN, then read and drop until the
		 * peer's EOF, for at most TRIAD_CONN_LINGER_READ_MS (nginx's
		 * lingering close). */
		if (shutdown(c->fd, SHUT_WR) == 0 && ensure_timer(c)) {
			struct timeval tv = duration_tv(TRIAD_CONN_LINGER_READ_MS);
			c->flags |= CONN_F_LINGER;
			event_add(c->timer, &tv);
			update_read(c);
			return;
		}
	}
	if (c->flags & CONN_F_CLOSING)
		schedule_free(c);
}

/* ---- reading ------------------------------------------------------------------ */

/*
 * A plain socket is read once per readiness into a per-thread spill buffer
 * (one read(2) of up to 64 KiB, however little the input has reserved),
 * then copied into the input; bulk receivers (read_max above TRIAD_CONN_READ_BULK: FTP
 * uploads) read straight into the input's own chains, up to 256 KiB.
 */
static struct tbuf spill_tb = TBUF_INIT(TRIAD_CONN_READ_SPILL);
static _Thread_local unsigned char *spill; /* tbuf_get's answer, kept at hand */

/* The thread's spill buffer (tbuf.h: not a static _Thread_local array, which
 * would cost every thread 64 KiB from its start); NULL when out of memory:
 * callers read without it. */
static unsigned char *spill_buf(void)
{
	if (!spill)
		spill = tbuf_get(&spill_tb);
	return spill;
}

/* Lingering: what arrives is dropped; EOF, an error or the deadline ends it. */
static void linger_read(struct conn *c)
{
	unsigned char sink[512]; /* without a spill buffer: smaller reads */
	unsigned char *sp = spill_buf();
	ssize_t n = sp ? read(c->fd, sp, TRIAD_CONN_READ_SPILL) : read(c->fd, sink, sizeof(sink));
	if (n > 0)
		metrics_conn_io(c, (uint64_t)n, 0);
	if (n > 0 || (n < 0 && io_again(errno)))
		return;
	schedule_free(c);
}

static ssize_t read_small(int fd, struct evbuffer *in, size_t room)
{
	/* One read(2) into the spill buffer, then a copy into the input: readv's
	 * iovec import (copy_iovec_from_user, ~2% of a keep-alive request's
	 * server CPU in perf) costs more than copying a request head. */
	unsigned char *sp = spill_buf();
	if (sp && room > TRIAD_CONN_READ_SPILL)
		room = TRIAD_CONN_READ_SPILL;
	if (!sp) { /* out of memory: what the input can reserve, in place */
		struct evbuffer_iovec v;
		size_t want = room < TRIAD_CONN_READ_RESERVE ? room : TRIAD_CONN_READ_RESERVE;
		if (evbuffer_reserve_space(in, (ev_ssize_t)want, &v, 1) < 1) {
			errno = ENOMEM;
			return -1;
		}
		if (v.iov_len > room)
			v.iov_len = room;
		ssize_t n;
		do
			n = read(fd, v.iov_base, v.iov_len);
		while (n < 0 && errno == EINTR);
		if (n > 0) {
			v.iov_len = (size_t)n;
			evbuffer_commit_space(in, &v, 1);
		}
		return n;
	}
	ssize_t n;
	do
		n = read(fd, sp, room);
	while (n < 0 && errno == EINTR);
	if (n > 0 && evbuffer_add(in, sp, (size_t)n) < 0) {
		errno = ENOMEM;
		return -1;
	}
	return n;
}

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

/* Why SSL_read stopped short: the peer's close_notify, a FIN without it
 * (truncation, RFC 8446 §6.1), or a reset / protocol error. */
static enum conn_eof tls_read_end(struct conn *c, int rc)
{
	int e = SSL_get_error(c->ssl, rc);
	if (e == SSL_ERROR_ZERO_RETURN)
		return CONN_EOF_CLOSE_NOTIFY;
	unsigned long err = ERR_peek_error();
	if (e == SSL_ERROR_SYSCALL && err == 0 && (errno == 0 || errno == EPIPE))
		return CONN_EOF_TRUNCATED; /* OpenSSL 1.1: EOF with nothing queued */
#ifdef SSL_R_UNEXPECTED_EOF_WHILE_READING
	if (e == SSL_ERROR_SSL && ERR_GET_REASON(err) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
		ERR_clear_error();
		return CONN_EOF_TRUNCATED;
	}
#endif
	tls_log_error(c, "read");
	return CONN_EOF_RESET;
}

/*
 * TLS: SSL_read_ex until the SSL object holds nothing more. Read-ahead is
 * on, so one read() brings in whatever the socket has (a whole request, or
 * several records) and the loop stops when nothing is left inside OpenSSL:
 * no second read() just to hear EAGAIN. Level-triggered epoll tells us
 * about the rest. Returns the bytes added; *EOF says why it stopped.
 */
static size_t tls_read(struct conn *c, size_t room, enum conn_eof *eof)
{
	size_t total = 0;
	unsigned char *sp = spill_buf();
	/* Without a spill buffer (out of memory) every read goes to the input's chains. */
	bool bulk = c->read_max > TRIAD_CONN_READ_BULK || !sp;
	*eof = CONN_EOF_NONE;
	while (total < room) {
		size_t want = room - total;
		struct evbuffer_iovec v;
		unsigned char *dst = sp;
		if (bulk) {
			if (want > TRIAD_TLS_RECORD_MAX)
				want = TRIAD_TLS_RECORD_MAX;
			if (evbuffer_reserve_space(c->in, (ev_ssize_t)want, &v, 1) < 1) {
				*eof = CONN_EOF_RESET;
				break;
			}
			dst = v.iov_base;
		} else if (want > TRIAD_CONN_READ_SPILL) {
			want = TRIAD_CONN_READ_SPILL;
		}
		size_t got = 0;
		tls_err_reset();
		errno = 0;
		int rc = SSL_read_ex(c->ssl, dst, want, &got);
		if (rc == 1) {
			if (bulk) {
				v.iov_len = got;
				evbuffer_commit_space(c->in, &v, 1);
			} else {
				evbuffer_add(c->in, sp, got);
			}
			total += got;
			if (!SSL_has_pending(c->ssl))
				break;
			continue;
		}
		int e = SSL_get_error(c->ssl, rc);
		if (e == SSL_ERROR_WANT_READ)
			break;
		if (e == SSL_ERROR_WANT_WRITE) {
			c->flags |= CONN_F_R_WANTS_W;
			wev_on(c);
			break;
		}
		*eof = tls_read_end(c, rc);
		break;
	}
	return total;
}

static void got_eof(struct conn *c, enum conn_eof kind);
static void after_cb(struct conn *c);

static void deliver(struct conn *c)
{
	if (c->flags & CONN_F_CLOSING) {
		evbuffer_drain(c->in, evbuffer_get_length(c->in));
		return;
	}
	c->busy++;
	c->ops->on_read(c);
	c->busy--;
	after_cb(c);
}

/* One read of what the socket (or the SSL object) holds, then on_read. */
static void do_read(struct conn *c)
{
	if ((c->flags & CONN_F_HANDSHAKE) && !tls_handshake(c))
		return;
	if ((c->flags & (CONN_F_FREEING | CONN_F_CLOSING | CONN_F_RFULL | CONN_F_PARKED)) ||
	    !(c->flags & CONN_F_READING) || c->eof != CONN_EOF_NONE)
		return;
	size_t have = evbuffer_get_length(c->in);
	if (have >= c->read_max) {
		c->flags |= CONN_F_RFULL;
		update_read(c);
		return;
	}
	size_t room = c->read_max - have;
	enum conn_eof eof = CONN_EOF_NONE;
	size_t got;
	if (c->ssl) {
		got = tls_read(c, room, &eof);
	} else {
		bool bulk = c->read_max > TRIAD_CONN_READ_BULK;
		size_t cap = bulk ? TRIAD_CONN_READ_BULK : TRIAD_CONN_READ_SPILL;
		if (room > cap)
			room = cap;
		ssize_t n = bulk ? read_bulk(c->fd, c->in, room) : read_small(c->fd, c->in, room);
		if (n < 0 && io_again(errno))
			return;
		got = n > 0 ? (size_t)n : 0;
		metrics_conn_io(c, got, 0);
		if (n == 0)
			eof = CONN_EOF_FIN;
		else if (n < 0)
			eof = CONN_EOF_RESET;
	}
	if (got > 0) {
		deliver(c);
		if (c->flags & CONN_F_FREEING)
			return;
	}
	if (eof != CONN_EOF_NONE) {
		got_eof(c, eof);
		return;
	}
	if (c->in && evbuffer_get_length(c->in) >= c->read_max) {
		c->flags |= CONN_F_RFULL;
		update_read(c);
	}
}

static void read_again(struct conn *c)
{
	if (c->ssl && c->rev && (c->flags & CONN_F_RARMED) && SSL_has_pending(c->ssl))
		event_active(c->rev, EV_READ, 0);
}

/* Output a protocol callback queued leaves as it returns. */
static void after_cb(struct conn *c)
{
	if ((c->flags & (CONN_F_FREEING | CONN_F_WARMED | CONN_F_PARKED)) || !c->out ||
	    c->busy)
		return;
	if (output_total(c) > 0 || ((c->flags & CONN_F_SHUT_WR) && !(c->flags & CONN_F_SHUT_DONE))) {
		flushq_remove(c);
		flush(c);
	}
}

/* The socket failed (or TLS broke): the protocol hears it once, then the conn goes. */
static void fail(struct conn *c, bool writing)
{
	(void)writing;
	if (c->flags & CONN_F_FREEING)
		return;
	if (c->eof == CONN_EOF_NONE)
		c->eof = CONN_EOF_RESET;
	if (!(c->flags & CONN_F_CLOSING)) {
		c->busy++;
		if ((c->flags & CONN_F_HANDSHAKE) && c->ops->on_tls)
			c->ops->on_tls(c, false);
		else if (c->ops->on_eof)
			c->ops->on_eof(c, true);
		c->busy--;
	}
	schedule_free(c);
}

static void got_eof(struct conn *c, enum conn_eof kind)
{
	c->eof = (uint8_t)kind;
	update_read(c);
	bool error = kind == CONN_EOF_TRUNCATED || kind == CONN_EOF_RESET;
	bool handshaking = (c->flags & CONN_F_HANDSHAKE) != 0;
	if (!(c->flags & CONN_F_CLOSING)) {
		c->busy++;
		if (handshaking && c->ops->on_tls)
			c->ops->on_tls(c, false);
		else if (c->ops->on_eof)
			c->ops->on_eof(c, error);
		c->busy--;
	}
	if (c->flags & CONN_F_FREEING)
		return;
	/* A peer that only half-closed (RFC 9112 §9.6, RFC 9293 §3.6) still reads:
	 * what was queued before its EOF is sent, then the conn is freed; or,
	 * when on_eof held it (conn_hold), once the protocol closes it. */
	if (!error && !handshaking && !(c->flags & CONN_F_CLOSING)) {
		if (c->flags & CONN_F_HOLD) {
			after_cb(c);
			return;
		}
		/* Flushes, and under TLS answers the peer's close_notify with ours
		 * (RFC 8446 §6.1: each side closes its write side with one). */
		conn_close(c);
		return;
	}
	schedule_free(c);
}

/* ---- TLS driving --------------------------------------------------------------- */

static void handshake_failed(struct conn *c)
{
	if (c->eof == CONN_EOF_NONE)
		c->eof = CONN_EOF_RESET;
	if (!(c->flags & CONN_F_CLOSING) && c->ops->on_tls) {
		c->busy++;
		c->ops->on_tls(c, false);
		c->busy--;
	}
	schedule_free(c);
}

/* One step of the handshake; true once it is done and on_tls said so. */
static bool tls_handshake(struct conn *c)
{
	if (c->plain_out && evbuffer_get_length(c->plain_out) > 0)
		return false; /* STARTTLS: the plaintext reply goes first */
	ERR_clear_error();
	errno = 0;
	int rc = SSL_do_handshake(c->ssl);
	if (rc == 1) {
		c->flags &= ~(CONN_F_HANDSHAKE | CONN_F_HS_WANTS_W);
		if (c->flags & CONN_F_DEADLINE) {
			event_del(c->timer);
			c->flags &= ~CONN_F_DEADLINE;
		}
		update_read(c);
		if (!(c->flags & CONN_F_CLOSING) && c->ops->on_tls) {
			c->busy++;
			c->ops->on_tls(c, true);
			c->busy--;
		}
		if (c->flags & CONN_F_FREEING)
			return false;
		flush(c); /* what was queued during the handshake (a greeting) */
		return !(c->flags & CONN_F_FREEING);
	}
	switch (SSL_get_error(c->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		c->flags &= ~CONN_F_HS_WANTS_W;
		if (!(c->flags & (CONN_F_R_WANTS_W | CONN_F_CONNECTING)) && output_total(c) == 0)
			wev_off(c);
		update_read(c);
		return false;
	case SSL_ERROR_WANT_WRITE:
		c->flags |= CONN_F_HS_WANTS_W;
		wev_on(c);
		return false;
	default:
		if (log_enabled(LOG_LEVEL_DEBUG)) {
			char why[256];
			log_debug("c%06llu TLS handshake failed: %s", (unsigned long long)c->id,
			          ERR_peek_error() ? tls_last_error(why, sizeof(why))
			                           : "connection closed");
		}
		ERR_clear_error();
		handshake_failed(c);
		return false;
	}
}

/* ---- event callbacks ------------------------------------------------------------ */

static int setup_io(struct conn *c);
static void connect_done(struct conn *c, int err);

static void timed_out(struct conn *c, bool writing)
{
	if (writing)
		wev_off(c);
	else
		c->flags &= ~CONN_F_READING; /* the direction that timed out stops */
	update_read(c);
	if (!(c->flags & CONN_F_CLOSING) && c->ops->on_timeout) {
		c->busy++;
		c->ops->on_timeout(c, writing);
		c->busy--;
		after_cb(c);
	} else {
		log_debug("c%06llu %s timeout", (unsigned long long)c->id, writing ? "send" : "idle");
		schedule_free(c);
	}
}

/* A parked conn closes at once: nothing is queued. Under TLS the peer still
 * gets its close_notify first, as an unparked conn's close gives it
 * (best effort: the alert is one small write on an idle socket). */
static void parked_free(struct conn *c)
{
	if (c->ssl && !(c->flags & CONN_F_SHUT_DONE)) {
		c->flags |= CONN_F_SHUT_DONE;
		ERR_clear_error();
		SSL_shutdown(c->ssl);
		ERR_clear_error();
	}
	schedule_free(c);
}

static void read_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	struct conn *c = arg;
	if (c->flags & CONN_F_FREEING)
		return;
	if (c->flags & CONN_F_LINGER) {
		linger_read(c);
		return;
	}
	if (what & EV_TIMEOUT) {
		timed_out(c, false);
		return;
	}
	if (c->flags & CONN_F_W_WANTS_R) {
		c->flags &= ~CONN_F_W_WANTS_R;
		update_read(c);
		flush(c);
		if (c->flags & CONN_F_FREEING)
			return;
	}
	do_read(c);
}

static void write_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	struct conn *c = arg;
	if (c->flags & CONN_F_FREEING)
		return;
	if (c->flags & CONN_F_CONNECTING) {
		int err = c->connect_err;
		if (what & EV_TIMEOUT) {
			err = ETIMEDOUT;
		} else if (!err) {
			socklen_t len = sizeof(err);
			if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
				err = errno;
		}
		connect_done(c, err);
		return;
	}
	if (what & EV_TIMEOUT) {
		timed_out(c, true);
		return;
	}
	if (c->flags & CONN_F_HS_WANTS_W) {
		c->flags &= ~CONN_F_HS_WANTS_W;
		if (!tls_handshake(c)) {
			if (!(c->flags & CONN_F_FREEING) && c->plain_out)
				flush(c);
			return;
		}
	}
	if (c->flags & CONN_F_R_WANTS_W) {
		c->flags &= ~CONN_F_R_WANTS_W;
		do_read(c);
		if (c->flags & CONN_F_FREEING)
			return;
	}
	flush(c);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct conn *c = arg;
	if (c->flags & CONN_F_FREEING) {
		conn_free(c);
		return;
	}
	if (c->flags & CONN_F_LINGER) {
		schedule_free(c); /* the peer never ended its stream: enough */
		return;
	}
	if ((c->flags & CONN_F_DEADLINE) && (c->flags & CONN_F_HANDSHAKE)) {
		c->flags &= ~CONN_F_DEADLINE;
		log_debug("c%06llu TLS handshake not finished in %u ms", (unsigned long long)c->id,
		          c->handshake_ms);
		handshake_failed(c);
	}
}

/* ---- creation ------------------------------------------------------------------ */

/* The buffers and the write event: at creation, and when a parked conn wakes. */
static int setup_io(struct conn *c)
{
	c->in = evbuffer_new();
	c->out = evbuffer_new();
	c->wev = event_new(c->base, c->fd, EV_WRITE | EV_PERSIST, write_cb, c);
	if (!c->in || !c->out || !c->wev || !evbuffer_add_cb(c->in, inbuf_cb, c) ||
	    !evbuffer_add_cb(c->out, outbuf_cb, c)) {
		if (c->in)
			evbuffer_free(c->in);
		if (c->out)
			evbuffer_free(c->out);
		if (c->wev)
			event_free(c->wev);
		c->in = c->out = NULL;
		c->wev = NULL;
		return -1;
	}
	/* Plain: file segments leave by sendfile(); under TLS they are read in. */
	if (!c->ssl)
		evbuffer_set_flags(c->out, EVBUFFER_FLAG_DRAINS_TO_FD);
	return 0;
}

/* The default until the protocol installs its own: drop input. */
static void noop_read(struct conn *c)
{
	evbuffer_drain(c->in, evbuffer_get_length(c->in));
}
static const struct conn_ops default_ops = {.on_read = noop_read};

static struct conn *conn_create(struct worker *w, int fd, const struct sockaddr *peer,
                                socklen_t peer_len, const struct sockaddr *local,
                                socklen_t local_len, bool counted)
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
	c->fd = fd;
	c->read_max = TRIAD_CONN_READ_MAX;
	c->write_low = TRIAD_CONN_LOW_WATER;
	c->handshake_ms = TRIAD_TLS_HANDSHAKE_MS;
	c->flags = CONN_F_READING;
	if (peer_len > sizeof(c->peer))
		peer_len = sizeof(c->peer); /* a unix socket path is not kept */
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
	c->peer_port = addr_port(&c->peer);
	c->local_port = addr_port(&c->local);
	c->conf = server_current_conf();

	if (counted) {
		unsigned char key[16];
		addr_key(&c->peer.sa, key);
		unsigned now = atomic_fetch_add(&total, 1) + 1;
		if (max_total && now > max_total) {
			atomic_fetch_sub(&total, 1);
			c->flags |= CONN_F_REFUSED;
		} else {
			enum ip_verdict v = ip_acquire(&c->peer, key, max_per_ip);
			if (v == IP_OVER) {
				atomic_fetch_sub(&total, 1);
				c->flags |= CONN_F_REFUSED | CONN_F_REFUSED_IP;
			} else {
				c->flags |= CONN_F_COUNTED;
				if (v == IP_COUNTED)
					c->flags |= CONN_F_PERIP;
			}
		}
	}

	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;

	c->rev = event_new(c->base, fd, EV_READ | EV_PERSIST, read_cb, c);
	if (!c->rev || setup_io(c) < 0) {
		log_error("c%06llu cannot set up the connection: out of memory",
		          (unsigned long long)c->id);
		conn_free(c);
		return NULL;
	}
	return c;
}

/* Takes over SSL for the conn's socket and starts the handshake clock. */
static int tls_attach(struct conn *c, SSL *ssl, bool client)
{
	if (SSL_set_fd(ssl, c->fd) != 1)
		return -1;
	/* One read() takes in all the socket holds: see tls_read(). */
	SSL_set_read_ahead(ssl, 1);
	SSL_set_options(ssl, SSL_OP_NO_RENEGOTIATION);
	if (client)
		SSL_set_connect_state(ssl);
	else
		SSL_set_accept_state(ssl);
	if (c->handshake_ms && !ensure_timer(c))
		return -1;
	c->ssl = ssl;
	c->flags |= CONN_F_HANDSHAKE | (client ? CONN_F_CLIENT : 0);
	if (c->out)
		evbuffer_clear_flags(c->out, EVBUFFER_FLAG_DRAINS_TO_FD);
	if (c->handshake_ms) {
		struct timeval tv = duration_tv(c->handshake_ms);
		event_add(c->timer, &tv);
		c->flags |= CONN_F_DEADLINE;
	}
	if (client) { /* the client speaks first: send the hello once writable */
		c->flags |= CONN_F_HS_WANTS_W;
		wev_on(c);
	}
	update_read(c);
	return 0;
}

static struct conn *conn_open(struct worker *w, int fd, const struct sockaddr *peer,
                              socklen_t peer_len, const struct sockaddr *local,
                              socklen_t local_len, SSL_CTX *tls_ctx, bool counted)
{
	/* Counted conns come from server.c's listeners, which accept with
	 * SOCK_NONBLOCK and set TCP_NODELAY on the listening socket (inherited):
	 * a fcntl and a setsockopt per connection saved. */
	if (!counted) {
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		evutil_make_socket_nonblocking(fd);
	}
	struct conn *c = conn_create(w, fd, peer, peer_len, local, local_len, counted);
	if (!c)
		return NULL;
	if (tls_ctx && !(c->flags & CONN_F_REFUSED)) {
		SSL *ssl = SSL_new(tls_ctx);
		if (!ssl || tls_attach(c, ssl, false) < 0) {
			SSL_free(ssl);
			log_error("c%06llu cannot set up TLS: out of memory", (unsigned long long)c->id);
			conn_free(c);
			return NULL;
		}
	}
	update_read(c);
	log_debug("c%06llu open peer=%s port=%u local=%s:%u%s", (unsigned long long)c->id,
	          conn_peer_ip(c).s, c->peer_port, conn_local_ip(c).s, c->local_port,
	          c->ssl ? " tls" : "");
	return c;
}

struct conn *conn_new(struct worker *w, int fd, const struct sockaddr *peer, socklen_t peer_len,
                      SSL_CTX *tls_ctx, bool counted)
{
	return conn_open(w, fd, peer, peer_len, NULL, 0, tls_ctx, counted);
}

struct conn *conn_new_accepted(struct worker *w, int fd, const struct sockaddr *peer,
                               socklen_t peer_len, const struct sockaddr *local,
                               socklen_t local_len, SSL_CTX *tls_ctx)
{
	return conn_open(w, fd, peer, peer_len, local, local_len, tls_ctx, true);
}

bool conn_is_refused(const struct conn *c)
{
	return (c->flags & CONN_F_REFUSED) != 0;
}

bool conn_refused_per_ip(const struct conn *c)
{
	return (c->flags & CONN_F_REFUSED_IP) != 0;
}

/* ---- outbound ------------------------------------------------------------------ */

struct conn *conn_connect(struct worker *w, const struct sockaddr *sa, socklen_t len,
                          uint64_t timeout_ms, const struct conn_ops *ops, void *proto)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	if (sa->sa_family != AF_UNIX) {
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	int err = 0;
	if (connect(fd, sa, len) < 0 && errno != EINPROGRESS && errno != EINTR)
		err = errno;
	struct conn *c = conn_create(w, fd, sa, len, NULL, 0, false);
	if (!c)
		return NULL;
	c->ops = ops;
	c->proto = proto;
	c->flags |= CONN_F_CONNECTING;
	c->connect_err = err;
	if (err) {
		event_active(c->wev, EV_WRITE, 0); /* reported from the loop, never from here */
	} else {
		struct timeval tv = duration_tv(timeout_ms);
		if (event_add(c->wev, timeout_ms ? &tv : NULL) == 0)
			c->flags |= CONN_F_WARMED;
	}
	if (log_enabled(LOG_LEVEL_DEBUG)) {
		char to[120];
		const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
		if (sa->sa_family == AF_UNIX)
			snprintf(to, sizeof(to), "unix:%.*s", (int)strnlen(un->sun_path, sizeof(un->sun_path)),
			         un->sun_path);
		else
			snprintf(to, sizeof(to), "%s port %u", conn_peer_ip(c).s, c->peer_port);
		log_debug("c%06llu connecting to %s", (unsigned long long)c->id, to);
	}
	return c;
}

static void connect_done(struct conn *c, int err)
{
	c->flags &= ~CONN_F_CONNECTING;
	wev_off(c);
	if (!err) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		if (getsockname(c->fd, (struct sockaddr *)&ss, &len) == 0 && len <= sizeof(c->local)) {
			memcpy(&c->local, &ss, len);
			c->local_len = len;
			c->local_port = addr_port(&c->local);
		}
	}
	log_debug("c%06llu connect %s%s", (unsigned long long)c->id, err ? "failed: " : "done",
	          err ? strerror(err) : "");
	if (c->ops->on_connect) {
		c->busy++;
		c->ops->on_connect(c, err == 0, err);
		c->busy--;
	}
	if (c->flags & CONN_F_FREEING)
		return;
	if (err) {
		c->eof = CONN_EOF_RESET;
		schedule_free(c);
		return;
	}
	update_read(c);
	if (c->ssl && (c->flags & CONN_F_HS_WANTS_W))
		wev_on(c);
	after_cb(c);
}

/* ---- I/O ----------------------------------------------------------------- */

struct evbuffer *conn_input(struct conn *c)
{
	return c->in;
}

struct evbuffer *conn_output(struct conn *c)
{
	return c->out;
}

size_t conn_output_pending(struct conn *c)
{
	return output_total(c);
}

bool conn_output_full(struct conn *c)
{
	return output_total(c) >= TRIAD_CONN_HIGH_WATER;
}

static bool can_write(const struct conn *c)
{
	return c->out && !(c->flags & (CONN_F_CLOSING | CONN_F_FREEING | CONN_F_SHUT_WR));
}

bool conn_output_open(const struct conn *c)
{
	return can_write(c);
}

int conn_write(struct conn *c, const void *data, size_t len)
{
	if (!can_write(c))
		return -1;
	return evbuffer_add(c->out, data, len);
}

int conn_printf(struct conn *c, const char *fmt, ...)
{
	if (!can_write(c))
		return -1;
	va_list ap;
	va_start(ap, fmt);
	int n = evbuffer_add_vprintf(c->out, fmt, ap);
	va_end(ap);
	return n < 0 ? -1 : 0;
}

enum conn_eof conn_eof_kind(const struct conn *c)
{
	return (enum conn_eof)c->eof;
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
		hit = memmem(p, window, STRLIT("\r\n"));
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
	c->read_ms = clamp_ms(read_ms);
	c->write_ms = clamp_ms(write_ms);
	if (c->flags & CONN_F_PARKED)
		return; /* applied when it wakes */
	update_read(c);
	if ((c->flags & CONN_F_WARMED) && !(c->flags & CONN_F_CONNECTING)) {
		uint32_t ms = write_timeout(c);
		struct timeval tv = duration_tv(ms);
		event_add(c->wev, ms ? &tv : NULL); /* armed already: only the timer moves */
	}
}

void conn_set_read_max(struct conn *c, size_t bytes)
{
	c->read_max = bytes && bytes < UINT32_MAX ? (uint32_t)bytes : UINT32_MAX;
	if ((c->flags & CONN_F_RFULL) && c->in && evbuffer_get_length(c->in) < c->read_max) {
		c->flags &= ~CONN_F_RFULL;
		update_read(c);
		read_again(c);
	}
}

void conn_set_write_low(struct conn *c, size_t bytes)
{
	c->write_low = bytes < UINT32_MAX ? (uint32_t)bytes : UINT32_MAX;
}

void conn_set_handshake_timeout(struct conn *c, uint64_t ms)
{
	c->handshake_ms = clamp_ms(ms);
	if (!(c->flags & CONN_F_HANDSHAKE))
		return;
	if (ms == 0) {
		if (c->flags & CONN_F_DEADLINE)
			event_del(c->timer);
		c->flags &= ~CONN_F_DEADLINE;
	} else if (ensure_timer(c)) {
		struct timeval tv = duration_tv(ms);
		event_add(c->timer, &tv);
		c->flags |= CONN_F_DEADLINE;
	}
}

void conn_pause_read(struct conn *c)
{
	c->flags &= ~CONN_F_READING;
	if (!(c->flags & CONN_F_PARKED))
		update_read(c);
}

void conn_resume_read(struct conn *c)
{
	if (c->flags & (CONN_F_CLOSING | CONN_F_FREEING))
		return;
	c->flags |= CONN_F_READING;
	if (c->flags & CONN_F_PARKED)
		return;
	update_read(c);
	read_again(c);
}

/* ---- parking ---------------------------------------------------------------- */

/*
 * A parked conn is a park record (common/park.h): its struct conn, read
 * event, buffers and timer are freed, and its socket waits in the worker's
 * park set. Input, a hang-up, the idle time or a shutdown rebuilds a conn
 * from the record: the same id, peer, counters, SSL object, limits slots,
 * configuration generation and settings (the "class" the record shares
 * with the conns parked alike). The parked conn stays in w->nconns, so a
 * draining worker waits for it, and in the connection limits.
 */
enum { PARK_F_COUNTED = 1, PARK_F_PERIP = 2, PARK_F_CLIENT = 4 };

static void park_wake(void *arg, const struct park_rec *r, const struct park_class *k,
                      enum park_why why);

static void park_class_hold(const struct park_class *k)
{
	conf_ref(k->conf);
}

static void park_class_release(const struct park_class *k)
{
	if (k->conf)
		conf_unref(k->conf);
}

static const struct park_hooks park_hooks = {
    .wake = park_wake,
    .class_hold = park_class_hold,
    .class_release = park_class_release,
};

static void worker_conn_gone(struct worker *w)
{
	w->nconns--;
	flushq_idle(w);
	if (w->draining && w->nconns == 0)
		event_base_loopexit(w->base, NULL);
}

/* A conn back from a record, not yet reading (CONN_F_PARKED): NULL when
 * memory fails. */
static struct conn *conn_rebuild(struct worker *w, const struct park_rec *r,
                                 const struct park_class *k)
{
	struct conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->rev = event_new(w->base, r->fd, EV_READ | EV_PERSIST, read_cb, c);
	if (!c->rev) {
		free(c);
		return NULL;
	}
	c->id = r->id;
	c->worker = w;
	c->base = w->base;
	c->conf = conf_ref(k->conf);
	memcpy(&c->peer, &r->peer, sizeof(c->peer));
	c->peer_len = r->peer_len;
	c->peer_port = addr_port(&c->peer);
	/* The local address was the listener's or getsockname()'s: ask again. */
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getsockname(r->fd, (struct sockaddr *)&ss, &len) < 0)
		len = 0;
	if (len > sizeof(c->local))
		len = sizeof(c->local);
	memcpy(&c->local, &ss, len);
	c->local_len = len;
	c->local_port = addr_port(&c->local);
	c->listener_tag = k->listener_tag;
	c->ssl = r->ssl;
	c->ops = k->ops;
	c->fd = r->fd;
	c->flags = CONN_F_READING | CONN_F_PARKED | (r->flags & PARK_F_COUNTED ? CONN_F_COUNTED : 0) |
	           (r->flags & PARK_F_PERIP ? CONN_F_PERIP : 0) |
	           (r->flags & PARK_F_CLIENT ? CONN_F_CLIENT : 0);
	c->read_max = k->read_max;
	c->write_low = k->write_low;
	c->read_ms = k->read_ms;
	c->write_ms = k->write_ms;
	c->handshake_ms = TRIAD_TLS_HANDSHAKE_MS;
	c->next = w->conns; /* w->nconns already counts it */
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	return c;
}

/* Out of memory while rebuilding: the connection ends without a conn. */
static void park_drop(struct worker *w, const struct park_rec *r)
{
	log_error("c%06llu cannot resume the connection: out of memory",
	          (unsigned long long)r->id);
	if (r->ssl) {
		SSL_free(r->ssl);
		ERR_clear_error();
	}
	close(r->fd);
	if (r->flags & PARK_F_COUNTED)
		uncount(&r->peer, r->flags & PARK_F_PERIP);
	worker_conn_gone(w);
}

static void park_wake(void *arg, const struct park_rec *r, const struct park_class *k,
                      enum park_why why)
{
	struct worker *w = arg;
	struct conn *c = conn_rebuild(w, r, k);
	if (!c) {
		park_drop(w, r);
		return;
	}
	if (why != PARK_WAKE_INPUT) {
		if (why == PARK_WAKE_TIMEOUT)
			log_debug("c%06llu idle timeout (parked)", (unsigned long long)c->id);
		parked_free(c);
		return;
	}
	if (setup_io(c) < 0) {
		log_error("c%06llu cannot resume the connection: out of memory",
		          (unsigned long long)c->id);
		schedule_free(c);
		return;
	}
	c->flags &= ~CONN_F_PARKED;
	update_read(c); /* back to the idle timeout */
	do_read(c);     /* what woke us is waiting: read it now */
}

int conn_park(struct conn *c, uint64_t idle_ms)
{
	if (c->discard_line || c->busy || !c->out || c->eof != CONN_EOF_NONE ||
	    (c->flags & (CONN_F_CLOSING | CONN_F_FREEING | CONN_F_HOLD | CONN_F_QUEUED |
	                 CONN_F_WARMED | CONN_F_CONNECTING | CONN_F_SHUT_WR | CONN_F_RFULL |
	                 CONN_F_HANDSHAKE | CONN_F_R_WANTS_W | CONN_F_W_WANTS_R |
	                 CONN_F_HS_WANTS_W | CONN_F_PARKED | CONN_F_LINGER | CONN_F_CORK)) ||
	    !(c->flags & CONN_F_READING) || output_total(c) > 0 || evbuffer_get_length(c->in) > 0 ||
	    c->peer_len > sizeof(c->peer))
		return -1;
	/* TLS: bytes read ahead into the SSL object would never make the socket
	 * readable again, so only a conn whose record layer is empty parks. The
	 * SSL object goes with the record (it holds the keys); its record
	 * buffers go now (SSL_free_buffers). */
	if (c->ssl && (SSL_has_pending(c->ssl) || !SSL_free_buffers(c->ssl)))
		return -1;
	struct worker *w = c->worker;
	if (w->draining)
		return -1; /* conn_shutdown_all has closed the parked ones already */
	if (!w->park) {
		w->park = park_set_new(w->base, &park_hooks, w);
		if (!w->park)
			return -1;
	}
	struct park_class k = {
	    .conf = c->conf,
	    .ops = c->ops,
	    .idle_ms = idle_ms > TRIAD_PARK_IDLE_MAX_MS ? TRIAD_PARK_IDLE_MAX_MS : (uint32_t)idle_ms,
	    .read_ms = c->read_ms,
	    .write_ms = c->write_ms,
	    .read_max = c->read_max,
	    .write_low = c->write_low,
	    .listener_tag = c->listener_tag,
	};
	struct park_rec r = {
	    .id = c->id,
	    .ssl = c->ssl,
	    .fd = c->fd,
	    .peer_len = (uint8_t)c->peer_len,
	    .flags = (uint8_t)((c->flags & CONN_F_COUNTED ? PARK_F_COUNTED : 0) |
	                       (c->flags & CONN_F_PERIP ? PARK_F_PERIP : 0) |
	                       (c->flags & CONN_F_CLIENT ? PARK_F_CLIENT : 0)),
	};
	memcpy(&r.peer, &c->peer, sizeof(r.peer));
	if (park_add(w->park, &r, &k) < 0)
		return -1;
	log_debug("c%06llu parked", (unsigned long long)c->id);
	/* The record owns the socket, the SSL object and the limits slots now;
	 * everything else goes. */
	if (c->ops->on_free)
		c->ops->on_free(c);
	c->proto = NULL;
	event_free(c->rev);
	event_free(c->wev);
	if (c->timer)
		event_free(c->timer);
	evbuffer_free(c->in);
	evbuffer_free(c->out);
	if (c->plain_out)
		evbuffer_free(c->plain_out);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->conf)
		conf_unref(c->conf);
	free(c);
	return 0;
}

void conn_worker_fini(struct worker *w)
{
	park_set_free(w->park);
	w->park = NULL;
}

void conn_file_queued(struct conn *c, size_t head)
{
	if (c->ssl)
		return;
	/* The head is corked only when it is all memory: no earlier file
	 * segment left in front of it (a pipelined response still sending). */
	if (head > 0 && head <= UINT32_MAX && !(c->flags & (CONN_F_FILEQ | CONN_F_CORK))) {
		c->flags |= CONN_F_CORK;
		c->cork_head = (uint32_t)head;
	}
	c->flags |= CONN_F_FILEQ;
}

void conn_read_now(struct conn *c)
{
	if (!(c->flags & (CONN_F_PARKED | CONN_F_CLOSING | CONN_F_FREEING | CONN_F_CONNECTING)) &&
	    (c->flags & CONN_F_READING))
		do_read(c);
}

/* ---- TLS ----------------------------------------------------------------- */

int conn_start_tls(struct conn *c, SSL_CTX *ctx)
{
	if (c->ssl || !ctx || !c->out ||
	    (c->flags & (CONN_F_CLOSING | CONN_F_FREEING | CONN_F_CONNECTING | CONN_F_SHUT_WR)))
		return -1;
	size_t discarded = evbuffer_get_length(c->in);
	evbuffer_drain(c->in, discarded); /* plaintext sent after the command is never trusted */
	SSL *ssl = SSL_new(ctx);
	if (!ssl)
		return -1;
	if (evbuffer_get_length(c->out) > 0) {
		/* The "220 go ahead" already queued still leaves in plaintext. */
		c->plain_out = evbuffer_new();
		if (!c->plain_out || evbuffer_add_buffer(c->plain_out, c->out) < 0) {
			SSL_free(ssl);
			return -1;
		}
	}
	if (tls_attach(c, ssl, false) < 0) {
		SSL_free(ssl);
		return -1;
	}
	if (!c->busy && c->plain_out)
		flush(c);
	return (int)(discarded > INT32_MAX ? INT32_MAX : discarded);
}

int conn_start_tls_client(struct conn *c, SSL_CTX *ctx, const char *server_name)
{
	if (c->ssl || !ctx || !c->out || (c->flags & (CONN_F_CLOSING | CONN_F_FREEING)))
		return -1;
	SSL *ssl = SSL_new(ctx);
	if (!ssl)
		return -1;
	if ((server_name && SSL_set_tlsext_host_name(ssl, server_name) != 1) ||
	    tls_attach(c, ssl, true) < 0) {
		SSL_free(ssl);
		return -1;
	}
	return 0;
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

/* An HTTPS keep-alive request with the buffers released freed and allocated
 * 17 KiB twice per request (malloc, free and their chunk merging were 3% of
 * the worker's CPU in perf). */
void conn_tls_keep_buffers(struct conn *c)
{
	if (c->ssl)
		SSL_clear_mode(c->ssl, SSL_MODE_RELEASE_BUFFERS);
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
	conn_uncount(c);
	if (c->eof == CONN_EOF_NONE && c->in &&
	    (evbuffer_get_length(c->in) > 0 || (c->flags & CONN_F_RFULL)))
		c->flags |= CONN_F_UNREAD;
	c->flags &= ~CONN_F_READING;
	update_read(c);
	/* Nothing can leave before a handshake or a connect ends: closing never
	 * waits on one (a peer that stalls it would hold the conn forever). */
	if (c->flags & CONN_F_PARKED) {
		parked_free(c);
		return;
	}
	if ((c->flags & (CONN_F_HANDSHAKE | CONN_F_CONNECTING)) || !c->out ||
	    c->eof == CONN_EOF_RESET) {
		schedule_free(c);
		return;
	}
	if (c->flags & CONN_F_WARMED) {
		/* The socket is full: wait for it, but never longer than the linger
		 * without progress. Only the timer moves. */
		uint32_t ms = write_timeout(c);
		struct timeval tv = duration_tv(ms);
		event_add(c->wev, &tv);
		return;
	}
	flush(c); /* most closes follow a response the socket takes at once */
}

int conn_shutdown_write(struct conn *c)
{
	if (!can_write(c) || (c->flags & (CONN_F_PARKED | CONN_F_CONNECTING)))
		return -1;
	c->flags |= CONN_F_SHUT_WR;
	if (!c->busy)
		flush(c);
	return 0;
}

void conn_keep_urgent_inline(struct conn *c)
{
	int one = 1;
	setsockopt(c->fd, SOL_SOCKET, SO_OOBINLINE, &one, sizeof(one));
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
		if (c->flags & CONN_F_PARKED)
			conn_close(c); /* idle: the protocol has nothing in flight */
		else if (c->ops->on_shutdown)
			c->ops->on_shutdown(c);
		else
			conn_close(c);
	}
	/* Parked conns are idle: each is rebuilt and closed (close_notify under TLS). */
	if (w->park)
		park_close_all(w->park);
}

uint64_t conn_parked_count(void)
{
	return park_total();
}
