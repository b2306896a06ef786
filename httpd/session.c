/*
 * httpd/session.c: the HTTP connection's state machine and I/O glue.
 *
 *   IDLE --first byte--> HEAD --head parsed--> [BODY: discard] --> respond
 *   respond --body queued--> (finish) --keep-alive--> IDLE / DRAIN
 *           --output full--> SEND --on_drain--> ... --> (finish)
 *
 * One request at a time: the next pipelined head is parsed only once the
 * current response is wholly queued (a file handed to sendfile counts as
 * queued), and not while the output is above the high watermark (DRAIN), so
 * a client that pipelines without reading costs at most that much memory
 * and a bounded number of open files. Answers therefore go out in order.
 * Timers: header_timeout for a whole head (from its first byte; from the
 * accept for the first request), keepalive_timeout between requests,
 * send_timeout (the conn's write timeout) for a client that stops reading.
 * The generation's app (docroot, limits, access log) and the worker's state
 * (date cache, libmagic) are reached through the session.
 */
#include "session.h"
#include "conf.h"
#include "proxy.h"
#include "rcache.h"
#include "status.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <event2/event.h>
#include <magic.h>

#include "triad/duration.h"
#include "triad/limits.h"
#include "triad/tls.h"
#include "triad/strlit.h"

/* ---- generation and worker state ----------------------------------------- */

int http_prepare(struct conf *c, struct server_runtime *rt, char *err, size_t errlen)
{
	const struct httpd_conf *h = c->own;
	struct http_app *app = calloc(1, sizeof(*app));
	if (!app)
		return conf_error_at(c, "docroot", err, errlen, "out of memory");
	app->h = h;
	app->lim = (struct http_limits){(size_t)h->max_request_line, (size_t)h->max_header_size,
	                                HTTP_HEADER_FIELDS_MAX};
	char why[200];
	/* The pools first: every site's proxy rules and fallback point into them. */
	app->pools = http_pools_build(c, &app->npools, why, sizeof(why));
	if (!app->pools) {
		free(app);
		return conf_error_at(c, "proxy", err, errlen, "%s", why);
	}
	if (http_sites_build(c, rt, app, err, errlen) < 0) {
		http_sites_free(app);
		http_pools_free(app->pools, app->npools);
		free(app);
		return -1;
	}
	if (h->access_log && strcmp(h->access_log, "off") != 0) {
		app->alog = http_accesslog_open(h->access_log, why, sizeof(why));
		if (!app->alog) {
			http_sites_free(app);
			http_pools_free(app->pools, app->npools);
			free(app);
			return conf_error_at(c, "access_log", err, errlen, "%s", why);
		}
	}
	if (h->server_tokens == HTTPD_TOKENS_FULL)
		snprintf(app->server, sizeof(app->server), "Server: triad/%s\r\n", TRIAD_VERSION);
	else if (h->server_tokens == HTTPD_TOKENS_MINIMAL)
		snprintf(app->server, sizeof(app->server), "Server: triad\r\n");
	if (h->listen_tls.n > 0) {
		const struct sockaddr_storage *ss = &h->listen_tls.v[0].ss;
		unsigned port = ss->ss_family == AF_INET6
		                    ? ntohs(((const struct sockaddr_in6 *)ss)->sin6_port)
		                    : ntohs(((const struct sockaddr_in *)ss)->sin_port);
		if (port != 443)
			snprintf(app->https_port, sizeof(app->https_port), ":%u", port);
	}
	if (h->cache && !(app->rcache = http_rcache_new(h->cache))) {
		http_sites_free(app);
		http_pools_free(app->pools, app->npools);
		free(app);
		return conf_error_at(c, "cache", err, errlen, "out of memory");
	}
	if (rt->tls)
		tls_ctx_set_alpn(rt->tls, (const unsigned char *)"\x08http/1.1");
	rt->app = app;
	return 0;
}

void http_release(struct server_runtime *rt)
{
	struct http_app *app = rt->app;
	if (!app)
		return;
	/* app->alog is process-wide (accesslog.c): other generations may share it. */
	http_sites_free(app);
	http_pools_free(app->pools, app->npools);
	http_rcache_free(app->rcache);
	free(app);
}

void http_worker_init(struct worker *w)
{
	struct http_worker *hw = calloc(1, sizeof(*hw));
	if (hw) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		hw->rng = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^
		          ((uint64_t)getpid() << 40) ^ ((uint64_t)w->index << 56) ^
		          0x9e3779b97f4a7c15ull;
		hw->date_sec = -1;
		/* Failure is logged there; the cache then revalidates per iteration. */
		(void)http_fcache_watch_start(hw, w->base);
	}
	w->app = hw;
}

void http_worker_fini(struct worker *w)
{
	struct http_worker *hw = w->app;
	if (hw && hw->magic)
		magic_close(hw->magic);
	if (hw) {
		http_proxy_worker_fini(hw);
		http_fcache_free(hw);
		http_rules_cache_free(hw);
	}
	while (hw && hw->free_txn) {
		struct http_txn *t = hw->free_txn;
		hw->free_txn = t->next;
		free(t->head);
		free(t);
	}
	free(hw);
	w->app = NULL;
}

/* ---- the state machine ----------------------------------------------------- */

/* Input a connection buffers: a whole head of max_header_size must fit, or a
 * large setting could never be reached (431 at the conn's default 64 KiB). */
static size_t head_read_max(const struct http_app *app)
{
	size_t line = (size_t)app->h->max_request_line, head = (size_t)app->h->max_header_size;
	size_t want = (line > head ? line : head) + 4;
	return want > TRIAD_CONN_READ_MAX ? want : TRIAD_CONN_READ_MAX;
}

static const char *const state_names[] = {"idle", "head", "body", "send", "drain", "proxy",
                                          "closed"};

static void process(struct http_session *s);

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Arms the timer for AT (monotonic ms). */
static void arm_at(struct http_session *s, uint64_t at, uint64_t now)
{
	struct timeval tv = duration_tv(at > now ? at - now : 1);
	if (event_add(s->timer, &tv) == 0)
		s->armed_at = at;
}

/*
 * The session's deadline is MS from now (0: none). Lazily, as nginx keeps
 * its timers: the timer moves only when the new deadline is earlier than
 * where it is armed, and a timer that fires before the deadline re-arms for
 * the rest (timer_cb). A keep-alive request (IDLE -> HEAD -> IDLE) then only
 * pushes the deadline later and costs no timer operation; the timer fires
 * about once per HTTP_PARK_AFTER_MS of a busy connection instead.
 */
static void session_deadline(struct http_session *s, uint64_t ms)
{
	if (ms == 0) {
		s->deadline = 0; /* an armed timer finds none when it fires */
		return;
	}
	uint64_t now = now_ms();
	s->deadline = now + ms;
	if (s->armed_at == 0 || s->armed_at > s->deadline)
		arm_at(s, s->deadline, now);
}

/* The one place the state changes; it also sets the session's deadline. */
static void set_state(struct http_session *s, enum http_state st)
{
	const struct httpd_conf *h = s->app->h;
	if (log_enabled(LOG_LEVEL_DEBUG) && s->st != st)
		log_msg(LOG_LEVEL_DEBUG, s->c->id, "http %s -> %s", state_names[s->st],
		        state_names[st]);
	s->st = st;
	uint64_t ms = 0;
	s->park_due = false;
	switch (st) {
	case HTTP_ST_IDLE:
		ms = h->keepalive_timeout;
		/* A conn idle for a while is parked: it then costs its struct conn
		 * only, until the next request or the rest of the keep-alive time. */
		if (ms == 0 || ms > HTTP_PARK_AFTER_MS) {
			ms = HTTP_PARK_AFTER_MS;
			s->park_due = true;
		}
		break;
	case HTTP_ST_HEAD:
		ms = h->header_timeout;
		break;
	case HTTP_ST_BODY:
		ms = h->header_timeout;
		break;
	case HTTP_ST_PROXY:
		ms = s->proxy_body ? h->header_timeout : 0;
		break;
	default:
		break;
	}
	session_deadline(s, ms);
}


/* The first byte of a request arrived: give the session its per-request state. */
static bool txn_get(struct http_session *s)
{
	if (s->t)
		return true;
	struct http_worker *w = s->w;
	struct http_txn *t = w->free_txn;
	if (t) {
		w->free_txn = t->next;
		w->nfree--;
	} else if (!(t = calloc(1, sizeof(*t)))) {
		return false;
	}
	s->t = t;
	s->site = &s->app->base;
	memset(&t->x, 0, offsetof(struct http_exchange, logreq));
	t->x.logreq[0] = '\0';
	t->x.rule_headers[0] = '\0';
	t->x.fd = -1;
	clock_gettime(CLOCK_MONOTONIC, &t->x.start);
	http_parser_init(&s->parser, &t->req, &s->app->lim);
	return true;
}

static void txn_put(struct http_session *s)
{
	struct http_txn *t = s->t;
	if (!t)
		return;
	http_exchange_reset(s);
	s->t = NULL;
	struct http_worker *w = s->w;
	if (t->head_cap > HTTP_TXN_HEAD_KEEP) {
		/* A rare huge head: do not let the pool keep its buffer. */
		free(t->head);
		t->head = NULL;
		t->head_cap = 0;
	}
	if (w->nfree < HTTP_TXN_FREE_MAX) {
		t->next = w->free_txn;
		w->free_txn = t;
		w->nfree++;
	} else {
		free(t->head);
		free(t);
	}
}

/* The response is wholly queued: log it, then close or wait for the next request. */
static void finish(struct http_session *s)
{
	s->c->bytes_out += s->t->x.sent;
	http_request_done(s);
	bool close = s->t->x.close || s->shutdown;
	txn_put(s);
	if (close) {
		set_state(s, HTTP_ST_CLOSED);
		conn_close(s->c);
		return;
	}
	set_state(s, conn_output_full(s->c) ? HTTP_ST_DRAIN : HTTP_ST_IDLE);
}

/* After http_respond*: push the body, then finish or wait for on_drain. */
static void responded(struct http_session *s)
{
	if (conn_is_closing(s->c)) {
		set_state(s, HTTP_ST_CLOSED);
		return;
	}
	if (http_body_pump(s))
		finish(s);
	else if (!conn_is_closing(s->c))
		set_state(s, HTTP_ST_SEND);
	else
		set_state(s, HTTP_ST_CLOSED);
}

static void error_close(struct http_session *s, int status)
{
	http_respond_error(s, status, true);
	responded(s);
}

static void rebase(struct http_slice *sl, const char *from, const char *to)
{
	if (sl->p)
		sl->p = to + (sl->p - from);
}

static void rebase_list(struct http_list *l, const char *from, const char *to)
{
	for (unsigned i = 0; i < l->n; i++)
		rebase(&l->v[i], from, to);
}

/* Moves the parsed head out of the input buffer so the slices outlive it. */
static bool keep_head(struct http_session *s, const char *buf)
{
	struct http_request *r = &s->t->req;
	if (r->head_len > s->t->head_cap) {
		size_t cap = s->t->head_cap ? s->t->head_cap : 2048;
		while (cap < r->head_len)
			cap *= 2;
		char *p = realloc(s->t->head, cap);
		if (!p)
			return false;
		s->t->head = p, s->t->head_cap = cap;
	}
	memcpy(s->t->head, buf, r->head_len);
	const char *to = s->t->head;
	/* clang-format off */
	struct http_slice *one[] = {&r->method_text, &r->target,  &r->scheme,
	                            &r->authority,   &r->path,    &r->query,
	                            &r->host,        &r->if_modified_since,
	                            &r->if_unmodified_since,      &r->if_range,
	                            &r->range,       &r->user_agent, &r->referer};
	/* clang-format on */
	for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++)
		rebase(one[i], buf, to);
	for (unsigned i = 0; i < r->nfields; i++) {
		rebase(&r->fields[i].name, buf, to);
		rebase(&r->fields[i].value, buf, to);
	}
	rebase_list(&r->if_match, buf, to);
	rebase_list(&r->if_none_match, buf, to);
	rebase_list(&r->accept_encoding, buf, to);
	return true;
}

/* The first line of what is buffered, for the access log of a bad request. */
static void log_raw_line(struct http_session *s, const char *buf, size_t len)
{
	size_t n = 0;
	while (n < len && n < 512 && buf[n] != '\r' && buf[n] != '\n')
		n++;
	http_accesslog_request(s, buf, n);
}

static void on_head(struct http_session *s)
{
	struct http_request *r = &s->t->req;
	const struct httpd_conf *h = s->app->h;
	s->t->x.parsed = true;
	/* The request line, for the log: from the method to its CRLF. */
	const char *line = r->method_text.p;
	const char *eol = memchr(line, '\r', s->t->head + r->head_len - line);
	http_accesslog_request(s, line, eol ? (size_t)(eol - line) : 0);

	if (r->framing == HTTP_BODY_LENGTH && r->content_length > h->max_body_size) {
		error_close(s, 413); /* RFC 9110 §15.5.14: the body is never read */
		return;
	}
	int routed = http_proxy_route(s);
	if (routed < 0)
		return; /* proxy.c has the request (and reads its body) */
	s->t->x.route_status = routed;
	if (r->framing == HTTP_BODY_NONE ||
	    (r->framing == HTTP_BODY_LENGTH && r->content_length == 0)) {
		http_respond(s);
		responded(s);
		return;
	}
	/* RFC 9110 §10.1.1: we will read the body, so say so before the client waits. */
	if (r->expect_continue)
		conn_write(s->c, STRLIT("HTTP/1.1 100 Continue\r\n\r\n"));
	s->body_left = r->content_length;
	http_chunked_init(&s->chunked, h->max_body_size);
	set_state(s, HTTP_ST_BODY);
}

/* Reads and drops the request body (RFC 9112 §6.3): true once it has ended. */
static bool discard_body(struct http_session *s)
{
	size_t len = conn_in_len(s->c);
	if (len > 0)
		set_state(s, HTTP_ST_BODY); /* progress: the body timer starts again */
	if (s->t->req.framing == HTTP_BODY_LENGTH) {
		size_t n = conn_in_consume(s->c, s->body_left < len ? (size_t)s->body_left : len);
		s->c->bytes_in += n;
		s->body_left -= n;
		return s->body_left == 0;
	}
	for (;;) {
		size_t avail;
		const char *p = conn_in_chunk(s->c, &avail);
		if (!p)
			return false;
		size_t used = 0; /* AGAIN: every byte consumed (chunked.h) */
		enum http_chunked_status r = http_chunked_decode(&s->chunked, p, avail, &used);
		if (r == HTTP_CHUNKED_ERROR) {
			error_close(s, s->chunked.error_status);
			return false;
		}
		conn_in_consume(s->c, used);
		s->c->bytes_in += used;
		if (r == HTTP_CHUNKED_DONE)
			return true;
	}
}

static void process_loop(struct http_session *s);

static void process(struct http_session *s)
{
	bool outer = !s->in_process;
	s->in_process = true;
	process_loop(s);
	if (outer)
		s->in_process = false;
}

static void process_loop(struct http_session *s)
{
	struct conn *c = s->c;
	for (;;) {
		if (conn_is_closing(c))
			return;
		switch (s->st) {
		case HTTP_ST_IDLE:
			if (conn_in_len(c) == 0)
				return;
			set_state(s, HTTP_ST_HEAD);
			/* fallthrough */
		case HTTP_ST_HEAD: {
			size_t len = conn_in_len(c);
			if (len == 0)
				return;
			if (!txn_get(s)) {
				conn_abort(c);
				return;
			}
			const char *buf = conn_in_peek(c, len);
			if (!buf) {
				conn_abort(c);
				return;
			}
			enum http_parse_status r = http_parse(&s->parser, buf, len);
			if (r == HTTP_PARSE_AGAIN) {
				/* The input buffer is full and still no head: the conn reads no
				 * more. */
				if (len >= head_read_max(s->app)) {
					log_raw_line(s, buf, len);
					error_close(s, 431);
				}
				return;
			}
			if (r == HTTP_PARSE_ERROR) {
				log_raw_line(s, buf, len);
				error_close(s, s->parser.error_status);
				return;
			}
			if (!keep_head(s, buf)) {
				conn_abort(c);
				return;
			}
			conn_in_consume(c, s->t->req.head_len);
			c->bytes_in += s->t->req.head_len;
			on_head(s);
			break;
		}
		case HTTP_ST_BODY:
			if (!discard_body(s))
				return;
			http_respond(s);
			responded(s);
			break;
		case HTTP_ST_PROXY:
			http_proxy_client_read(s);
			return;
		default:
			return;
		}
	}
}

void http_session_enter_proxy(struct http_session *s, bool body)
{
	s->proxy_body = body;
	set_state(s, HTTP_ST_PROXY);
}

void http_session_proxy_timer(struct http_session *s, bool body)
{
	if (s->st != HTTP_ST_PROXY)
		return;
	s->proxy_body = body;
	set_state(s, HTTP_ST_PROXY);
}

void http_session_proxied(struct http_session *s)
{
	s->proxy_body = false;
	if (conn_is_closing(s->c)) {
		set_state(s, HTTP_ST_CLOSED);
		return;
	}
	finish(s);
	/* A pipelined request may be waiting; inside process() the loop takes it. */
	if (s->st == HTTP_ST_IDLE && !s->in_process)
		process(s);
}

/* ---- conn callbacks -------------------------------------------------------- */

static bool session_new(struct conn *c);

static void on_read(struct conn *c)
{
	/* A parked conn has no session: the request that woke it gets a new one. */
	if (!c->proto && !session_new(c))
		return;
	process(c->proto);
}

static void on_drain(struct conn *c)
{
	struct http_session *s = c->proto;
	if (s->st == HTTP_ST_PROXY) {
		http_proxy_client_drain(s);
		return;
	}
	if (s->st == HTTP_ST_SEND) {
		if (!http_body_pump(s))
			return;
		finish(s);
	} else if (s->st == HTTP_ST_DRAIN) {
		set_state(s, HTTP_ST_IDLE);
	} else {
		return;
	}
	if (s->st == HTTP_ST_IDLE && s->shutdown) {
		set_state(s, HTTP_ST_CLOSED);
		conn_close(c);
		return;
	}
	process(s);
}

static void on_timeout(struct conn *c, bool writing)
{
	(void)writing;
	/* Only the send timeout is the conn's: a client that stopped reading. */
	log_msg(LOG_LEVEL_DEBUG, c->id, "http send timeout");
	conn_abort(c);
}

static void session_free(struct http_session *s);

/* Idle for HTTP_PARK_AFTER_MS: the conn and session give their memory back
 * for the rest of the keep-alive time (conn_park). */
static void park(struct http_session *s)
{
	uint64_t keep = s->app->h->keepalive_timeout;
	uint64_t left = keep ? keep - HTTP_PARK_AFTER_MS : 0;
	/* On success the conn is gone and on_free has freed S. */
	if (conn_park(s->c, left) < 0) {
		/* Something is buffered after all: keep waiting the usual way. */
		set_state(s, HTTP_ST_IDLE);
		s->park_due = false;
		session_deadline(s, left);
	}
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct http_session *s = arg;
	struct conn *c = s->c;
	s->armed_at = 0;
	if (conn_is_closing(c) || s->deadline == 0)
		return;
	uint64_t now = now_ms();
	if (now < s->deadline) { /* the deadline moved on since the timer was armed */
		arm_at(s, s->deadline, now);
		return;
	}
	s->deadline = 0;
	if (s->st == HTTP_ST_IDLE && s->park_due) {
		park(s);
		return;
	}
	switch (s->st) {
	case HTTP_ST_HEAD: {
		size_t len = conn_in_len(c);
		if (len > 0 && txn_get(s)) {
			log_msg(LOG_LEVEL_DEBUG, c->id, "http header timeout");
			const char *buf = conn_in_peek(c, len);
			if (buf)
				log_raw_line(s, buf, len);
			error_close(s, 408); /* RFC 9110 §15.5.9 */
			return;
		}
		break;
	}
	case HTTP_ST_BODY:
		log_msg(LOG_LEVEL_DEBUG, c->id, "http body timeout");
		break;
	default:
		break;
	}
	set_state(s, HTTP_ST_CLOSED);
	conn_close(c);
}

static void on_shutdown(struct conn *c)
{
	struct http_session *s = c->proto;
	s->shutdown = true;
	/* A new connection with no byte of its first request read yet (one the
	 * stop took off the accept queue, or in its TLS handshake): its request
	 * is usually on the way or already in the socket, and closing now would
	 * reset it. It gets HTTP_STOP_FIRST_MS for that request, answered with
	 * "Connection: close"; then the header timeout's close. */
	if (s->st == HTTP_ST_HEAD && conn_in_len(c) == 0) {
		uint64_t now = now_ms();
		if (s->deadline == 0 || s->deadline > now + HTTP_STOP_FIRST_MS)
			session_deadline(s, HTTP_STOP_FIRST_MS);
		return;
	}
	/* Nothing in flight: close now (queued output is still flushed). */
	if (s->st == HTTP_ST_IDLE || s->st == HTTP_ST_DRAIN) {
		set_state(s, HTTP_ST_CLOSED);
		conn_close(c);
	}
}

static void session_free(struct http_session *s)
{
	http_proxy_free(s);
	txn_put(s);
	if (s->timer)
		event_free(s->timer);
	free(s);
}

static void on_free(struct conn *c)
{
	struct http_session *s = c->proto;
	if (!s)
		return; /* woken from parking and closed before a session began */
	/* A response cut short (client gone, send timeout) is still logged, with
	 * the bytes queued so far. */
	if (s->t && s->t->x.status)
		http_request_done(s);
	session_free(s);
	c->proto = NULL;
}

static const struct conn_ops ops = {
    .on_read = on_read,
    .on_drain = on_drain,
    .on_timeout = on_timeout,
    .on_shutdown = on_shutdown,
    .on_free = on_free,
};

/* The session of a new conn, or of a parked one that input woke up: waits
 * for a head within header_timeout. False: the conn is aborted. */
static bool session_new(struct conn *c)
{
	struct http_session *s = calloc(1, sizeof(*s));
	if (!s) {
		conn_abort(c);
		return false;
	}
	s->c = c;
	s->app = server_rt(c->conf)->app;
	s->site = &s->app->base;
	s->w = c->worker->app;
	s->timer = event_new(c->base, -1, 0, timer_cb, s);
	c->proto = s;
	if (!s->timer || !s->w) {
		conn_abort(c);
		return false;
	}
	s->path = s->w->path;
	s->st = HTTP_ST_IDLE;
	if (head_read_max(s->app) > TRIAD_CONN_READ_MAX)
		conn_set_read_max(c, head_read_max(s->app));
	set_state(s, HTTP_ST_HEAD);
	return true;
}

void http_accept(struct conn *c, int tag)
{
	(void)tag;
	c->ops = &ops;
	/* Idle keep-alive conns park, which frees the TLS record buffers: until
	 * then they stay rather than being reallocated per request. */
	conn_tls_keep_buffers(c);
	if (session_new(c)) {
		struct http_session *s = c->proto;
		conn_set_timeouts(c, 0, s->app->h->send_timeout);
	}
}
