/*
 * auth: the worker side of privilege-separated PAM (see triad/auth.h).
 *
 * One auth_client per worker thread owns that worker's channel to the helper
 * and never blocks: requests are framed into a bounded output buffer that is
 * wiped as it drains (it holds passwords), replies are read by a libevent
 * event and matched by id. Callbacks always run from the loop, never inside
 * auth_request(). AUTH_OK is delivered at once, every other answer from the
 * helper (and AUTH_THROTTLED) after the fail delay, so timing tells a client
 * nothing about why it failed; a callback must not free its auth_client. Only
 * AUTH_DENIED counts towards the per-client throttle (a client is an IPv4
 * address or an IPv6 /64, triad/addr.h), a process-wide table shared by all
 * workers under a mutex. When the helper goes away every pending and
 * later request gets AUTH_ERROR (logged once per process).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "triad/addr.h"
#include "triad/auth.h"
#include "triad/duration.h"
#include "triad/log.h"

_Static_assert((TRIAD_AUTH_FAIL_TABLE & (TRIAD_AUTH_FAIL_TABLE - 1)) == 0,
               "TRIAD_AUTH_FAIL_TABLE must be a power of two");

enum req_state {
	REQ_PENDING,    /* sent, waiting for the helper's reply */
	REQ_DELIVERING, /* answer known, waiting on its timer */
};

struct auth_req {
	struct auth_client *c;
	struct auth_req *prev, *next;
	struct event *timer;
	uint32_t id;
	enum req_state state;
	enum auth_result result;
	int cancelled;
	auth_cb cb;
	void *arg;
	char rhost[TRIAD_AUTH_FIELD_MAX + 1];
};

struct auth_client {
	struct event_base *base;
	int fd; /* -1 once the helper is gone */
	struct event *rev, *wev;
	uint32_t next_id;
	struct auth_req *reqs;
	size_t inlen, outlen;
	uint8_t in[AUTH_REPLY_LEN * 64];
	uint8_t out[TRIAD_AUTH_CHANNEL_BUF];
};

static atomic_uint fail_delay_ms = TRIAD_AUTH_FAIL_DELAY_MS;
static atomic_int helper_loss_logged;

void auth_set_fail_delay_ms(unsigned ms)
{
	atomic_store(&fail_delay_ms, ms);
}

/* ---- per-IP failure accounting ------------------------------------------ */

struct fail_slot {
	uint64_t key;   /* fail_key() of rhost */
	uint64_t start; /* monotonic second of the window's first failure */
	uint32_t count; /* 0: free */
};

static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fail_slot fail_tab[TRIAD_AUTH_FAIL_TABLE];
static uint64_t fail_seed;
static pthread_once_t fail_once = PTHREAD_ONCE_INIT;

static void fail_init(void)
{
	/* A seed keeps remote peers from aiming at one bucket; a weak one only costs spread. */
	if (getrandom(&fail_seed, sizeof fail_seed, GRND_NONBLOCK) != sizeof fail_seed)
		fail_seed = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
}

/*
 * The seeded hash of RHOST's client key (triad/addr.h: an IPv4 address, an
 * IPv6 /64), so that rotating through the addresses of one /64 does not
 * dodge the throttle. An RHOST that is no numeric address is hashed as text.
 */
static uint64_t fail_key(const char *rhost)
{
	unsigned char key[ADDR_KEY_LEN];
	const unsigned char *p = (const unsigned char *)rhost;
	size_t n = strlen(rhost);
	if (addr_key_text(rhost, key)) {
		p = key;
		n = sizeof(key);
	}
	uint64_t h = 0xcbf29ce484222325ULL ^ fail_seed;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	h ^= h >> 33; /* murmur3 finalizer: FNV alone spreads the low bits poorly */
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

static uint64_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

static int slot_live(const struct fail_slot *s, uint64_t now)
{
	return s->count > 0 && now - s->start < TRIAD_AUTH_FAIL_WINDOW_S;
}

/* The live slot for KEY, or NULL; called with fail_lock held. */
static struct fail_slot *fail_find(uint64_t key, uint64_t now)
{
	for (unsigned i = 0; i < TRIAD_AUTH_FAIL_PROBES; i++) {
		struct fail_slot *s = &fail_tab[(key + i) & (TRIAD_AUTH_FAIL_TABLE - 1)];
		if (s->key == key && slot_live(s, now))
			return s;
	}
	return NULL;
}

static int fail_throttled(const char *rhost)
{
	pthread_once(&fail_once, fail_init);
	uint64_t key = fail_key(rhost), now = now_s();

	pthread_mutex_lock(&fail_lock);
	struct fail_slot *s = fail_find(key, now);
	int r = s != NULL && s->count >= TRIAD_AUTH_FAIL_MAX;
	pthread_mutex_unlock(&fail_lock);
	return r;
}

static void fail_record(const char *rhost)
{
	pthread_once(&fail_once, fail_init);
	uint64_t key = fail_key(rhost), now = now_s();
	uint32_t count;

	pthread_mutex_lock(&fail_lock);
	struct fail_slot *s = fail_find(key, now);
	if (s == NULL) {
		/* A free or expired slot in reach, else the oldest window gives way. */
		for (unsigned i = 0; i < TRIAD_AUTH_FAIL_PROBES; i++) {
			struct fail_slot *t = &fail_tab[(key + i) & (TRIAD_AUTH_FAIL_TABLE - 1)];
			if (!slot_live(t, now)) {
				s = t;
				break;
			}
			if (s == NULL || t->start < s->start)
				s = t;
		}
		*s = (struct fail_slot){.key = key, .start = now, .count = 0};
	}
	if (s->count < UINT32_MAX)
		s->count++;
	count = s->count;
	pthread_mutex_unlock(&fail_lock);
	if (count == TRIAD_AUTH_FAIL_MAX)
		log_info("auth: rhost=%s throttled (with its /64 if IPv6) after %u failed logins "
		         "within %us",
		         rhost, (unsigned)TRIAD_AUTH_FAIL_MAX, (unsigned)TRIAD_AUTH_FAIL_WINDOW_S);
}

/* ---- requests ----------------------------------------------------------- */

static void req_unlink(struct auth_req *r)
{
	struct auth_client *c = r->c;

	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		c->reqs = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
}

static void req_free(struct auth_req *r)
{
	req_unlink(r);
	event_free(r->timer);
	free(r);
}

static void deliver_cb(evutil_socket_t fd, short what, void *arg)
{
	struct auth_req *r = arg;
	auth_cb cb = r->cb;
	void *cbarg = r->arg;
	enum auth_result result = r->result;

	(void)fd;
	(void)what;
	/* Freed first: the callback may well tear down its connection. */
	req_free(r);
	cb(result, cbarg);
}

/* Delivers RESULT from the loop after DELAY_MS. */
static void req_deliver(struct auth_req *r, enum auth_result result, unsigned delay_ms)
{
	struct timeval tv = duration_tv(delay_ms);

	r->state = REQ_DELIVERING;
	r->result = result;
	if (evtimer_add(r->timer, &tv) < 0)
		log_error("auth: cannot schedule a login result");
}

static struct auth_req *req_find(struct auth_client *c, uint32_t id)
{
	for (struct auth_req *r = c->reqs; r != NULL; r = r->next) {
		// NOLINTNEXTLINE(clang-analyzer-unix.Malloc): a freed request was unlinked (req_free)
		if (r->id == id && r->state == REQ_PENDING)
			return r;
	}
	return NULL;
}

/* ---- the channel -------------------------------------------------------- */

/* The helper is gone: everything pending fails now, everything later at once. */
static void client_die(struct auth_client *c)
{
	if (c->fd < 0)
		return;
	if (atomic_exchange(&helper_loss_logged, 1) == 0)
		log_error("auth: the PAM helper went away; logins fail until a restart");
	event_del(c->rev);
	event_del(c->wev);
	close(c->fd);
	c->fd = -1;
	explicit_bzero(c->out, c->outlen);
	c->outlen = 0;
	c->inlen = 0;
	struct auth_req *next;
	for (struct auth_req *r = c->reqs; r != NULL; r = next) {
		next = r->next;
		if (r->state != REQ_PENDING)
			continue;
		if (r->cancelled)
			req_free(r);
		else
			req_deliver(r, AUTH_ERROR, 0);
	}
}

static void client_flush(struct auth_client *c)
{
	while (c->outlen > 0) {
		ssize_t n = send(c->fd, c->out, c->outlen, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			event_add(c->wev, NULL);
			return;
		}
		if (n < 0) {
			client_die(c);
			return;
		}
		memmove(c->out, c->out + n, c->outlen - (size_t)n);
		c->outlen -= (size_t)n;
		explicit_bzero(c->out + c->outlen, (size_t)n);
	}
}

static void write_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	client_flush(arg);
}

static void reply(struct auth_client *c, uint32_t id, enum auth_result result)
{
	struct auth_req *r = req_find(c, id);

	if (r == NULL)
		return; /* cannot happen: ids come from us and are answered once */
	if (r->cancelled) {
		req_free(r);
		return;
	}
	if (result == AUTH_OK) {
		r->result = AUTH_OK;
		deliver_cb(-1, 0, r);
		return;
	}
	if (result == AUTH_DENIED)
		fail_record(r->rhost);
	req_deliver(r, result, atomic_load(&fail_delay_ms));
}

static void read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct auth_client *c = arg;
	ssize_t n;

	(void)what;
	n = recv(fd, c->in + c->inlen, sizeof c->in - c->inlen, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		client_die(c);
		return;
	}
	c->inlen += (size_t)n;

	size_t off = 0;
	for (;;) {
		uint32_t id;
		enum auth_result result;
		int m = auth_reply_decode(c->in + off, c->inlen - off, &id, &result);
		if (m == 0)
			break;
		if (m < 0) {
			log_error("auth: malformed reply from the PAM helper");
			client_die(c);
			return;
		}
		off += (size_t)m;
		/* A callback may queue requests or cancel others, never free C. */
		reply(c, id, result);
		if (c->fd < 0)
			return;
	}
	memmove(c->in, c->in + off, c->inlen - off);
	c->inlen -= off;
}

struct auth_client *auth_client_new(struct event_base *base, unsigned worker)
{
	int fd = auth_helper_take_channel(worker);
	if (fd < 0)
		return NULL;

	struct auth_client *c = calloc(1, sizeof *c);
	if (c == NULL)
		goto fail;
	c->base = base;
	c->fd = fd;
	c->next_id = 1;
	if (evutil_make_socket_nonblocking(fd) < 0)
		goto fail;
	c->rev = event_new(base, fd, EV_READ | EV_PERSIST, read_cb, c);
	c->wev = event_new(base, fd, EV_WRITE, write_cb, c);
	if (c->rev == NULL || c->wev == NULL || event_add(c->rev, NULL) < 0)
		goto fail;
	return c;
fail:
	if (c != NULL) {
		if (c->rev != NULL)
			event_free(c->rev);
		if (c->wev != NULL)
			event_free(c->wev);
		free(c);
	}
	close(fd);
	return NULL;
}

void auth_client_free(struct auth_client *c)
{
	if (c == NULL)
		return;
	while (c->reqs != NULL)
		req_free(c->reqs); // NOLINT(clang-analyzer-unix.Malloc): req_free() unlinks it from c->reqs first
	event_free(c->rev);
	event_free(c->wev);
	if (c->fd >= 0)
		close(c->fd);
	explicit_bzero(c->out, c->outlen);
	free(c);
}

const struct server_auth auth_pam = {
    .helper_start = auth_helper_start,
    .helper_stop = auth_helper_stop,
    .client_new = auth_client_new,
    .client_free = auth_client_free,
};

struct auth_req *auth_request(struct auth_client *c, const char *service, const char *user,
                              const char *password, const char *rhost, auth_cb cb, void *arg)
{
	struct auth_frame f;
	uint8_t buf[TRIAD_AUTH_FRAME_MAX];

	if (c == NULL || cb == NULL || strlen(service) > TRIAD_AUTH_FIELD_MAX ||
	    strlen(user) > TRIAD_AUTH_FIELD_MAX || strlen(rhost) > TRIAD_AUTH_FIELD_MAX ||
	    strlen(password) > TRIAD_AUTH_PASSWORD_MAX)
		return NULL;
	struct auth_req *r = calloc(1, sizeof *r);
	if (r == NULL)
		return NULL;
	/* Made now so that every later path can deliver without failing. */
	r->timer = evtimer_new(c->base, deliver_cb, r);
	if (r->timer == NULL) {
		free(r);
		return NULL;
	}
	r->c = c;
	r->cb = cb;
	r->arg = arg;
	r->id = c->next_id++;
	strcpy(r->rhost, rhost);
	r->next = c->reqs;
	if (c->reqs != NULL)
		c->reqs->prev = r;
	c->reqs = r;

	if (c->fd < 0) {
		req_deliver(r, AUTH_ERROR, 0);
		return r;
	}
	if (fail_throttled(rhost)) {
		req_deliver(r, AUTH_THROTTLED, atomic_load(&fail_delay_ms));
		return r;
	}

	f.id = r->id;
	strcpy(f.service, service);
	strcpy(f.user, user);
	strcpy(f.password, password);
	strcpy(f.rhost, rhost);
	int n = auth_frame_encode(&f, buf, sizeof buf);
	auth_frame_wipe(&f);
	if (n < 0 || (size_t)n > sizeof c->out - c->outlen) {
		/* The helper is this far behind: a temporary error, not a queue without end. */
		explicit_bzero(buf, sizeof buf);
		req_deliver(r, AUTH_ERROR, 0);
		return r;
	}
	memcpy(c->out + c->outlen, buf, (size_t)n);
	c->outlen += (size_t)n;
	explicit_bzero(buf, (size_t)n);
	r->state = REQ_PENDING;
	/* Waiting for the write event would only add latency when the socket has room. */
	if (!event_pending(c->wev, EV_WRITE, NULL))
		client_flush(c);
	// NOLINTNEXTLINE(clang-analyzer-unix.Malloc): R is new, never cancelled: client_die() delivers to it, frees only cancelled ones
	return r;
}

void auth_cancel(struct auth_req *r)
{
	if (r == NULL)
		return;
	if (r->state == REQ_DELIVERING) {
		req_free(r);
		return;
	}
	/* The helper will still answer this id; the reply frees it. */
	r->cancelled = 1;
}
