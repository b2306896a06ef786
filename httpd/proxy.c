/*
 * httpd/proxy.c: a request forwarded to an application server pool
 * (interface.md, "Application servers (httpd)").
 *
 * Two conns, one struct http_proxy between them: the client's session (in
 * HTTP_ST_PROXY) and an upstream conn from the same conn layer, whose proto
 * is the proxy. Either side may go first; each detaches the other.
 *
 *   route -> [BUFFER: chunked body for FastCGI] -> CONNECT -> WAIT (request
 *   head and body streamed) -> BODY (response streamed) -> done
 *                                            \-> TUNNEL (101, WebSocket)
 *
 * Back-pressure: bytes move only while the receiving conn's output is below
 * its high watermark; what is left stays in the sending conn's input, whose
 * read watermark then stops reading from that socket. Memory per request is
 * therefore bounded by the two conns' buffers whatever the sizes and speeds.
 * The upstream read timeout (`timeout`) runs only while we are reading from
 * it: not while the request body is still coming from the client, nor while
 * reading is paused because the client is slow.
 * Retries (RFC 9112 §9.3.1): on the next server when connecting failed (no
 * byte sent), and once on a fresh connection when a reused idle connection
 * closed before any response byte and the request is idempotent and no byte
 * of its body was taken from the client yet.
 */
#include "proxy.h"
#include "session.h"
#include "cgiresp.h"
#include "conditional.h"
#include "conf.h"
#include "triad/duration.h"
#include "triad/date.h"
#include "fcgi.h"
#include "path.h"
#include "rcache.h"
#include "uphead.h"
#include "upstream.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <event2/buffer.h>
#include <event2/event.h>

#include "triad/conn.h"
#include "triad/log.h"
#include "triad/server.h"
#include "triad/strlit.h"

#define FCGI_ID 1
#define FCGI_STDIN_PIECE (32 * 1024) /* content of one STDIN record we send */
#define IDLE_MAX_MS (60 * 1000)      /* an idle upstream conn kept at most this long */

enum px_phase { PX_CACHEWAIT, PX_BUFFER, PX_CONNECT, PX_WAIT, PX_BODY, PX_TUNNEL };

struct http_idle {
	struct conn *c;
	struct http_worker *w;
	struct http_idle *next, *prev;
	char pool[40];
	char server[120];
};

struct http_proxy {
	struct http_session *s;
	struct http_pool *pool;
	enum px_phase phase;
	int server;
	uint64_t tried;       /* servers tried, a bit each */
	struct conn *up;
	bool reused, no_idle; /* up came from the idle pool; retry: never */
	bool fcgi, websocket;
	/* FastCGI script */
	char *script_name;    /* "/x.php" */
	char *path_info;      /* "/a/b" or "" */
	char *script_file;    /* absolute */
	char docroot_abs[PATH_MAX]; /* the site's docroot (FastCGI's DOCUMENT_ROOT) */
	/* request body, client -> upstream */
	uint64_t req_left;
	struct http_chunked req_chunked;
	bool req_done;        /* the client's body is wholly read */
	bool req_sent;        /* ... and queued to the upstream with its end */
	bool body_started;    /* a body byte was taken from the client */
	struct evbuffer *body_buf; /* FastCGI + chunked: the whole body first */
	/* response, upstream -> client */
	bool got_any;
	struct http_resp_parser rp;
	struct http_response *resp;
	struct http_cgi_parser cp;
	struct http_cgi_response *cgi;
	struct evbuffer *cgi_head;
	struct fcgi_decoder fdec;
	bool head_sent, chunked_out, discard;
	enum http_resp_framing framing;
	uint64_t resp_left;
	struct http_chunked resp_chunked;
	bool fcgi_ended, up_close;
	/* response cache (app->rcache) */
	bool cacheable;             /* the request may use the cache */
	char *key;
	size_t key_len;
	const char *fwd;            /* Cache-Status fwd= of a forwarded response */
	bool collapsed;             /* it waited for another request's fill */
	struct http_rwait wait;     /* PX_CACHEWAIT */
	struct http_rfill *fill;    /* this request fills the key */
	struct http_rentry *store;  /* the entry being built from the response */
	struct evbuffer *store_body;
	struct http_rentry *stale;  /* a stale entry, for stale-if-error */
};

static void connect_next(struct http_proxy *px);
static void pump_body(struct http_proxy *px);
static void relay(struct http_proxy *px);
static void up_read(struct conn *up);

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *server_text(const struct http_proxy *px)
{
	return px->server >= 0 ? px->pool->servers[px->server].text : "-";
}

/* One error log line per upstream failure: pool, server, why. */
static void log_fail(struct http_proxy *px, const char *why)
{
	log_msg(LOG_LEVEL_ERROR, px->s->c->id, "upstream pool=%s server=%s error=%s",
	        px->pool->name, server_text(px), why);
}

/* ---- idle upstream connections (per worker) ----------------------------------- */

static void idle_unlink(struct http_idle *e)
{
	struct http_worker *w = e->w;
	if (e->prev)
		e->prev->next = e->next;
	else
		w->idle = e->next;
	if (e->next)
		e->next->prev = e->prev;
	w->nidle--;
}

static void idle_on_read(struct conn *c)
{
	/* An idle server does not speak: whatever it sent, the conn is spoilt. */
	conn_close(c);
}

static void idle_on_free(struct conn *c)
{
	struct http_idle *e = c->proto;
	if (!e)
		return;
	idle_unlink(e);
	free(e);
	c->proto = NULL;
}

static const struct conn_ops idle_ops = {
    .on_read = idle_on_read,
    .on_free = idle_on_free,
};

static void up_release(struct http_proxy *px, bool keep);

/* An idle conn to a server of this pool that is not being skipped. */
static struct conn *idle_take(struct http_proxy *px)
{
	struct http_worker *w = px->s->w;
	int64_t now = now_ms();
	for (struct http_idle *e = w->idle; e; e = e->next) {
		if (strcmp(e->pool, px->pool->name) != 0 || conn_is_closing(e->c))
			continue;
		for (size_t i = 0; i < px->pool->nservers; i++) {
			struct http_server *sv = &px->pool->servers[i];
			if (strcmp(sv->text, e->server) != 0 || atomic_load(&sv->failed_until) > now)
				continue;
			struct conn *c = e->c;
			idle_unlink(e);
			free(e);
			c->proto = NULL;
			px->server = (int)i;
			return c;
		}
	}
	return NULL;
}

static bool idle_put(struct http_proxy *px, struct conn *c)
{
	struct http_worker *w = px->s->w;
	unsigned n = 0;
	for (struct http_idle *e = w->idle; e; e = e->next)
		if (strcmp(e->pool, px->pool->name) == 0)
			n++;
	/* A draining worker (SIGTERM) keeps nothing: it exits once its conns are gone. */
	if (n >= px->pool->keepalive || px->server < 0 || conn_is_closing(c) ||
	    evbuffer_get_length(conn_input(c)) > 0 || c->worker->draining)
		return false;
	struct http_idle *e = calloc(1, sizeof(*e));
	if (!e)
		return false;
	e->c = c;
	e->w = w;
	snprintf(e->pool, sizeof(e->pool), "%s", px->pool->name);
	snprintf(e->server, sizeof(e->server), "%s", server_text(px));
	e->next = w->idle;
	if (w->idle)
		w->idle->prev = e;
	w->idle = e;
	w->nidle++;
	c->ops = &idle_ops;
	c->proto = e;
	uint64_t idle = px->pool->timeout < IDLE_MAX_MS ? px->pool->timeout : IDLE_MAX_MS;
	conn_set_timeouts(c, idle, 0);
	conn_resume_read(c);
	return true;
}

void http_proxy_worker_fini(struct http_worker *w)
{
	while (w->idle) {
		struct http_idle *e = w->idle;
		e->c->proto = NULL;
		idle_unlink(e);
		conn_abort(e->c);
		free(e);
	}
}

static bool skip_response_field(const struct http_field *fields, unsigned n, unsigned i);

/* ---- response cache --------------------------------------------------------------- */

static int64_t wall_now(struct http_session *s)
{
	struct timeval tv;
	if (event_base_gettimeofday_cached(s->c->base, &tv) < 0)
		gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec;
}

static void entry_unref_cb(const void *data, size_t len, void *arg)
{
	(void)data;
	(void)len;
	http_rentry_unref(arg);
}

/* Answers the request from entry E (a hit, or stale-if-error) with CACHE_STATUS. */
static void serve_entry(struct http_proxy *px, struct http_rentry *e, const char *cache_status)
{
	struct http_session *s = px->s;
	const struct http_request *r = &s->t->req;
	struct http_exchange *x = &s->t->x;
	int64_t now = wall_now(s);
	int status = e->status;
	struct http_cond_input in = {
	    .method = r->method,
	    .if_match = &r->if_match,
	    .if_none_match = &r->if_none_match,
	    .if_modified_since = e->last_modified >= 0 ? r->if_modified_since
	                                               : (struct http_slice){{NULL}, 0},
	    .if_unmodified_since = e->last_modified >= 0 ? r->if_unmodified_since
	                                                 : (struct http_slice){{NULL}, 0},
	    .etag = {{.p = e->etag}, e->etag_len},
	    .mtime = e->last_modified,
	    .now = now,
	};
	bool range_applies;
	if (status == 200) {
		enum http_cond c = http_cond_evaluate(&in, &range_applies);
		if (c == HTTP_COND_NOT_MODIFIED)
			status = 304;
		else if (c == HTTP_COND_PRECONDITION_FAILED)
			status = 412;
	}
	size_t cap = e->fields_len + 512;
	char *buf = malloc(cap);
	if (!buf) {
		http_respond_status(s, 503, NULL);
		return;
	}
	struct http_head h = {buf, 0, cap, false};
	bool body = status != 304 && status != 412 && status != 204;
	if (!body)
		x->head_only = true;
	http_head_start(s, &h, status);
	if (status != 412)
		http_head_add(&h, e->fields, e->fields_len);
	int64_t age = now > e->stored ? now - e->stored : 0;
	char line[160];
	int n = snprintf(line, sizeof(line), "Age: %lld\r\nCache-Status: %s\r\n", (long long)age,
	                 cache_status);
	http_head_add(&h, line, (size_t)n);
	if (body) {
		http_head_str(&h, "Content-Length: ");
		http_head_u64(&h, e->body_len);
		http_head_add(&h, STRLIT("\r\n"));
	}
	http_head_finish(s, &h);
	free(buf);
	if (body && !x->head_only && e->body_len) {
		http_rentry_ref(e);
		if (evbuffer_add_reference(conn_output(s->c), e->body, e->body_len, entry_unref_cb,
		                           e) < 0) {
			http_rentry_unref(e);
			x->close = true;
		} else {
			x->sent = e->body_len;
		}
	}
	px->head_sent = true;
}

/* The response head is known: decide whether to store it, and say so. */
static void cache_head(struct http_proxy *px, int status, const struct http_field *fields,
                       unsigned n, bool has_length, uint64_t length, char *cs, size_t cslen)
{
	struct http_session *s = px->s;
	const struct http_request *r = &s->t->req;
	bool stored = false;
	if (px->fill && status >= 200) {
		struct http_cache_decision d;
		int64_t now = wall_now(s);
		http_cache_decide(r->method, px->cacheable, status, fields, n, now, &d);
		struct http_rcache *rc = s->app->rcache;
		if (d.verdict == HTTP_CACHE_STORE &&
		    (!has_length || length <= http_rcache_max_entry(rc)) &&
		    (px->store = http_rentry_new(px->key, px->key_len)) &&
		    (px->store_body = evbuffer_new())) {
			struct http_rentry *e = px->store;
			struct evbuffer *f = evbuffer_new();
			for (unsigned i = 0; f && i < n; i++) {
				const struct http_field *fl = &fields[i];
				if (skip_response_field(fields, n, i) || http_field_is(fl, "age"))
					continue;
				evbuffer_add(f, fl->name.p, fl->name.len);
				evbuffer_add(f, STRLIT(": "));
				evbuffer_add(f, fl->value.p, fl->value.len);
				evbuffer_add(f, STRLIT("\r\n"));
				if (http_field_is(fl, "etag") && !e->etag) {
					e->etag = strndup(fl->value.p, fl->value.len);
					e->etag_len = e->etag ? fl->value.len : 0;
				}
				if (http_field_is(fl, "last-modified") &&
				    !date_http_parse(fl->value.p, fl->value.len, now, &e->last_modified))
					e->last_modified = -1;
			}
			for (unsigned i = 0; i < d.nvary; i++) {
				struct evbuffer *v = evbuffer_new();
				/* lower case: matched with http_eq_ci, which wants a lower-case name */
				e->vary_name[i] = strndup(d.vary[i].p, d.vary[i].len);
				for (char *c = e->vary_name[i]; c && *c; c++)
					*c = (char)http_lower((unsigned char)*c);
				bool any = false;
				for (unsigned k = 0; v && k < r->nfields; k++) {
					if (!http_eq_ci(r->fields[k].name.p, r->fields[k].name.len,
					                e->vary_name[i] ? e->vary_name[i] : ""))
						continue;
					if (any)
						evbuffer_add(v, STRLIT(", "));
					evbuffer_add(v, r->fields[k].value.p, r->fields[k].value.len);
					any = true;
				}
				if (any) {
					size_t vl = evbuffer_get_length(v);
					e->vary_value[i] = strndup((const char *)evbuffer_pullup(v, -1), vl);
				}
				if (v)
					evbuffer_free(v);
				e->nvary = i + 1;
			}
			if (f) {
				e->fields_len = evbuffer_get_length(f);
				e->fields = malloc(e->fields_len + 1);
				if (e->fields)
					evbuffer_remove(f, e->fields, e->fields_len);
				evbuffer_free(f);
			}
			e->status = status;
			e->stored = now;
			e->expires = now + d.ttl;
			e->stale_if_error = d.stale_if_error;
			stored = e->fields != NULL;
		}
		if (!stored) {
			if (px->store)
				http_rentry_unref(px->store);
			px->store = NULL;
			http_rcache_fill_end(px->fill, NULL); /* waiters need not wait */
			px->fill = NULL;
		}
	}
	snprintf(cs, cslen, "Cache-Status: triad; fwd=%s; fwd-status=%d%s%s\r\n",
	         px->fwd ? px->fwd : "request", status, stored ? "; stored" : "",
	         px->collapsed ? "; collapsed" : "");
}

/* Body bytes of a response being stored: abandoned past the entry limit. */
static void cache_body(struct http_proxy *px, const void *p, size_t n)
{
	if (!px->store)
		return;
	struct http_rcache *rc = px->s->app->rcache;
	if (evbuffer_get_length(px->store_body) + n > http_rcache_max_entry(rc) ||
	    evbuffer_add(px->store_body, p, n) < 0) {
		http_rentry_unref(px->store);
		px->store = NULL;
		http_rcache_fill_end(px->fill, NULL);
		px->fill = NULL;
	}
}

/* The response ended well: the entry goes in, the waiters wake. */
static void cache_complete(struct http_proxy *px)
{
	struct http_rentry *e = px->store;
	if (!e)
		return;
	px->store = NULL;
	e->body_len = evbuffer_get_length(px->store_body);
	e->body = malloc(e->body_len ? e->body_len : 1);
	if (!e->body) {
		http_rentry_unref(e);
		http_rcache_fill_end(px->fill, NULL);
		px->fill = NULL;
		return;
	}
	evbuffer_remove(px->store_body, e->body, e->body_len);
	e->size = e->body_len + e->fields_len + e->key_len + e->etag_len + sizeof(*e);
	http_rcache_fill_end(px->fill, e); /* the cache takes our reference */
	px->fill = NULL;
}

/* stale-if-error (RFC 5861 §4): a stale entry stands in for a failure. */
static bool serve_stale(struct http_proxy *px)
{
	struct http_rentry *e = px->stale;
	if (!e || px->head_sent)
		return false;
	int64_t now = wall_now(px->s);
	if (now - e->expires >= e->stale_if_error)
		return false;
	serve_entry(px, e, "triad; fwd=stale; detail=stale-if-error");
	return true;
}

/* ---- the end of a proxied exchange -------------------------------------------- */

static void px_free(struct http_proxy *px)
{
	if (px->up) {
		px->up->proto = NULL;
		conn_abort(px->up);
	}
	if (px->body_buf)
		evbuffer_free(px->body_buf);
	if (px->cgi_head)
		evbuffer_free(px->cgi_head);
	if (px->wait.ev) {
		http_rcache_unwait(px->s->app->rcache, &px->wait);
		event_free(px->wait.ev);
	}
	if (px->fill)
		http_rcache_fill_end(px->fill, NULL); /* waiters forward themselves */
	if (px->store)
		http_rentry_unref(px->store);
	if (px->store_body)
		evbuffer_free(px->store_body);
	if (px->stale)
		http_rentry_unref(px->stale);
	free(px->key);
	free(px->resp);
	free(px->cgi);
	free(px->script_name);
	free(px->path_info);
	free(px->script_file);
	free(px);
}

/* The response is queued (or the client must be closed): back to the session. */
static void px_done(struct http_proxy *px)
{
	struct http_session *s = px->s;
	if (!px->req_done)
		s->t->x.close = true; /* the rest of the request body was never read */
	s->px = NULL;
	px_free(px);
	http_session_proxied(s);
}

/* Before any response head reached the client: answer STATUS ourselves. */
static void px_fail(struct http_proxy *px, int status)
{
	struct http_session *s = px->s;
	if (px->up)
		up_release(px, false);
	if (px->head_sent) {
		/* A response cut after its head: the client must see it cut. */
		s->t->x.close = true;
		px_done(px);
		return;
	}
	if (!px->req_done)
		s->t->x.close = true;
	if (!serve_stale(px)) {
		char cs[96];
		snprintf(cs, sizeof(cs), "Cache-Status: triad; fwd=%s; detail=%s\r\n",
		         px->fwd ? px->fwd : "request", status == 504 ? "timeout" : "error");
		http_respond_status(s, status, s->app->rcache ? cs : NULL);
	}
	px_done(px);
}

static void up_release(struct http_proxy *px, bool keep)
{
	struct conn *up = px->up;
	if (!up)
		return;
	px->up = NULL;
	up->proto = NULL;
	if (keep && idle_put(px, up))
		return;
	conn_close(up);
}

/* ---- connecting ----------------------------------------------------------------- */

static const struct conn_ops up_ops;
static void send_request(struct http_proxy *px);

static void connect_failed(struct http_proxy *px, const char *why)
{
	log_fail(px, why);
	http_pool_mark_failed(px->pool, (size_t)px->server, now_ms());
	connect_next(px);
}

/* conn_connect() finished (from the loop): send, or try the next server. */
static void up_connect(struct conn *up, bool ok, int err)
{
	struct http_proxy *px = up->proto;
	if (!px)
		return;
	if (ok) {
		send_request(px);
		return;
	}
	px->up = NULL;
	up->proto = NULL; /* freed right after this callback */
	connect_failed(px, err == ECONNREFUSED || err == ENOENT ? "refused"
	                   : err == ETIMEDOUT                   ? "connect timeout"
	                                                        : strerror(err));
}

/* An idle connection of the pool's, else a new one (conn_connect) to the
 * next server round robin that is not being skipped; none left: 502. */
static void connect_next(struct http_proxy *px)
{
	struct http_session *s = px->s;
	px->phase = PX_CONNECT;
	if (!px->no_idle && !px->tried) {
		struct conn *c = idle_take(px);
		if (c) {
			c->ops = &up_ops;
			c->proto = px;
			px->up = c;
			px->reused = true;
			px->tried |= px->server < 64 ? 1ull << px->server : 0;
			send_request(px);
			return;
		}
	}
	int i = http_pool_pick(px->pool, px->tried, now_ms());
	if (i < 0) {
		/* every server tried has failed, each logged once already */
		px_fail(px, 502);
		return;
	}
	px->server = i;
	px->tried |= i < 64 ? 1ull << i : 0;
	const struct http_server *sv = &px->pool->servers[i];
	struct conn *up = conn_connect(s->c->worker, (const struct sockaddr *)&sv->ss, sv->len,
	                               px->pool->connect_timeout, &up_ops, px);
	if (!up) {
		connect_failed(px, strerror(errno));
		return;
	}
	px->up = up;
	px->reused = false;
}

/* ---- the request: HTTP/1.1 ------------------------------------------------------ */

static bool is_idempotent(enum http_method m)
{
	return m == HTTP_METHOD_GET || m == HTTP_METHOD_HEAD || m == HTTP_METHOD_PUT ||
	       m == HTTP_METHOD_DELETE || m == HTTP_METHOD_OPTIONS || m == HTTP_METHOD_TRACE;
}

static void put(struct evbuffer *b, const char *s, size_t n)
{
	evbuffer_add(b, s, n);
}

#define PUTS(b, lit) put(b, lit, sizeof(lit) - 1)

static void put_slice(struct evbuffer *b, struct http_slice sl)
{
	if (sl.p && sl.len)
		evbuffer_add(b, sl.p, sl.len);
}

/* Joined values of every field named NAME, ", " between lines; false: none. */
static bool joined(const struct http_request *r, const char *name, struct evbuffer *b)
{
	bool any = false;
	for (unsigned i = 0; i < r->nfields; i++) {
		if (!http_field_is(&r->fields[i], name))
			continue;
		if (any)
			PUTS(b, ", ");
		put_slice(b, r->fields[i].value);
		any = true;
	}
	return any;
}

/* RFC 7239 §4: a value that is not a token is a quoted-string. */
static void fwd_value(struct evbuffer *b, const char *v, size_t n, bool brackets)
{
	bool token = !brackets;
	for (size_t i = 0; i < n && token; i++)
		token = http_is_tchar((unsigned char)v[i]);
	if (token) {
		put(b, v, n);
		return;
	}
	PUTS(b, "\"");
	if (brackets)
		PUTS(b, "[");
	for (size_t i = 0; i < n; i++) {
		if (v[i] == '"' || v[i] == '\\')
			PUTS(b, "\\");
		put(b, v + i, 1);
	}
	if (brackets)
		PUTS(b, "]");
	PUTS(b, "\"");
}

/* The client's Host, or our address when it sent none (HTTP/1.0). */
static struct http_slice host_of(struct http_session *s, char *buf, size_t len)
{
	if (s->t->req.host.p)
		return s->t->req.host;
	bool v6 = strchr(s->c->local_ip, ':') != NULL;
	int n = snprintf(buf, len, "%s%s%s:%u", v6 ? "[" : "", s->c->local_ip, v6 ? "]" : "",
	                 s->c->local_port);
	return (struct http_slice){{.p = buf}, n > 0 ? (size_t)n : 0};
}

static bool wants_websocket(const struct http_request *r)
{
	bool up = false, conn = false;
	for (unsigned i = 0; i < r->nfields; i++) {
		const struct http_field *f = &r->fields[i];
		if (http_field_is(f, "upgrade") && f->value.len >= 9) {
			for (size_t k = 0; k + 9 <= f->value.len; k++)
				if (http_eq_ci(f->value.p + k, 9, "websocket"))
					up = true;
		}
		if (http_field_is(f, "connection")) {
			for (size_t k = 0; k + 7 <= f->value.len; k++)
				if (http_eq_ci(f->value.p + k, 7, "upgrade"))
					conn = true;
		}
	}
	return up && conn;
}

static void http_request_head(struct http_proxy *px, struct evbuffer *b)
{
	struct http_session *s = px->s;
	const struct http_request *r = &s->t->req;
	put_slice(b, r->method_text);
	PUTS(b, " ");
	if (r->form == HTTP_TARGET_ABSOLUTE) {
		if (r->path.len)
			put_slice(b, r->path);
		else
			PUTS(b, "/");
		if (r->query.p) {
			PUTS(b, "?");
			put_slice(b, r->query);
		}
	} else {
		put_slice(b, r->target);
	}
	PUTS(b, " HTTP/1.1\r\nHost: ");
	char hbuf[80];
	struct http_slice host = host_of(s, hbuf, sizeof(hbuf));
	put_slice(b, host);
	PUTS(b, "\r\n");
	for (unsigned i = 0; i < r->nfields; i++) {
		const struct http_field *f = &r->fields[i];
		if (http_hop_by_hop(r->fields, r->nfields, i) || http_field_is(f, "host") ||
		    http_field_is(f, "content-length") || http_field_is(f, "x-forwarded-for") ||
		    http_field_is(f, "x-forwarded-proto") || http_field_is(f, "x-forwarded-host") ||
		    http_field_is(f, "forwarded"))
			continue;
		put_slice(b, f->name);
		PUTS(b, ": ");
		put_slice(b, f->value);
		PUTS(b, "\r\n");
	}
	if (r->framing == HTTP_BODY_LENGTH)
		evbuffer_add_printf(b, "Content-Length: %llu\r\n",
		                    (unsigned long long)r->content_length);
	else if (r->framing == HTTP_BODY_CHUNKED)
		PUTS(b, "Transfer-Encoding: chunked\r\n");
	if (px->websocket) {
		PUTS(b, "Connection: upgrade\r\nUpgrade: ");
		for (unsigned i = 0; i < r->nfields; i++)
			if (http_field_is(&r->fields[i], "upgrade")) {
				put_slice(b, r->fields[i].value);
				break;
			}
		PUTS(b, "\r\n");
	} else if (px->pool->keepalive == 0) {
		PUTS(b, "Connection: close\r\n");
	}
	const char *proto = conn_is_tls(s->c) ? "https" : "http";
	bool v6 = strchr(s->c->peer_ip, ':') != NULL;
	PUTS(b, "X-Forwarded-For: ");
	if (joined(r, "x-forwarded-for", b))
		PUTS(b, ", ");
	evbuffer_add_printf(b, "%s\r\nX-Forwarded-Proto: %s\r\nX-Forwarded-Host: ", s->c->peer_ip,
	                    proto);
	put_slice(b, host);
	PUTS(b, "\r\nForwarded: ");
	if (joined(r, "forwarded", b))
		PUTS(b, ", ");
	PUTS(b, "for=");
	fwd_value(b, s->c->peer_ip, strlen(s->c->peer_ip), v6);
	evbuffer_add_printf(b, ";proto=%s;host=", proto);
	fwd_value(b, host.p, host.len, false);
	PUTS(b, "\r\n\r\n");
}

/* ---- the request: FastCGI ----------------------------------------------------------- */

static void fcgi_record(struct evbuffer *out, enum fcgi_type t, const void *data, size_t len)
{
	static const unsigned char zeros[8];
	unsigned char h[FCGI_HEADER_LEN];
	unsigned pad = fcgi_header(h, t, FCGI_ID, (uint16_t)len);
	evbuffer_add(out, h, sizeof(h));
	if (len)
		evbuffer_add(out, data, len);
	if (pad)
		evbuffer_add(out, zeros, pad);
}

/* Writes BUF as records of type T (a stream), never the empty end record. */
static void fcgi_stream(struct evbuffer *out, enum fcgi_type t, struct evbuffer *buf)
{
	while (evbuffer_get_length(buf) > 0) {
		size_t n = evbuffer_get_length(buf);
		if (n > FCGI_STDIN_PIECE)
			n = FCGI_STDIN_PIECE;
		unsigned char *p = evbuffer_pullup(buf, (ev_ssize_t)n);
		fcgi_record(out, t, p, n);
		evbuffer_drain(buf, n);
	}
}

static void param(struct evbuffer *b, const char *name, const char *v, size_t vlen)
{
	size_t nlen = strlen(name);
	size_t need = fcgi_pair_len(nlen, vlen);
	struct evbuffer_iovec io;
	if (evbuffer_reserve_space(b, (ev_ssize_t)need, &io, 1) < 1)
		return;
	io.iov_len = fcgi_pair(io.iov_base, need, name, nlen, v, vlen);
	evbuffer_commit_space(b, &io, 1);
}

static void param_s(struct evbuffer *b, const char *name, const char *v)
{
	param(b, name, v, strlen(v));
}

static void param_sl(struct evbuffer *b, const char *name, struct http_slice sl)
{
	param(b, name, sl.p ? sl.p : "", sl.p ? sl.len : 0);
}

static bool same_name(const struct http_field *a, const struct http_field *b)
{
	if (a->name.len != b->name.len)
		return false;
	for (size_t i = 0; i < a->name.len; i++)
		if (http_lower((unsigned char)a->name.p[i]) != http_lower((unsigned char)b->name.p[i]))
			return false;
	return true;
}

/* HTTP_* for every request field but the hop-by-hop ones, Content-Type and
 * -Length (CGI's own variables) and Proxy (httpoxy); lines of one field
 * joined by ", " (Cookie: "; "), as RFC 3875 §4.1.18 asks. */
static void http_params(struct evbuffer *b, const struct http_request *r)
{
	bool done[HTTP_HEADER_FIELDS_MAX] = {false};
	for (unsigned i = 0; i < r->nfields; i++) {
		const struct http_field *f = &r->fields[i];
		if (done[i] || http_hop_by_hop(r->fields, r->nfields, i) ||
		    http_field_is(f, "content-type") || http_field_is(f, "content-length") ||
		    http_field_is(f, "proxy") || f->name.len > 200)
			continue;
		char name[5 + 201];
		memcpy(name, STRLIT("HTTP_"));
		for (size_t k = 0; k < f->name.len; k++) {
			unsigned char ch = (unsigned char)f->name.p[k];
			name[5 + k] = ch == '-' ? '_' : (char)(ch >= 'a' && ch <= 'z' ? ch - 32 : ch);
		}
		name[5 + f->name.len] = '\0';
		bool cookie = http_field_is(f, "cookie");
		struct evbuffer *v = evbuffer_new();
		if (!v)
			return;
		for (unsigned k = i; k < r->nfields; k++) {
			const struct http_field *g = &r->fields[k];
			if (k != i && (done[k] || !same_name(f, g)))
				continue;
			if (evbuffer_get_length(v))
				evbuffer_add(v, cookie ? "; " : STRLIT(", "));
			put_slice(v, r->fields[k].value);
			done[k] = true;
		}
		size_t n = evbuffer_get_length(v);
		param(b, name, (const char *)evbuffer_pullup(v, -1), n);
		evbuffer_free(v);
	}
}

static void fcgi_request_head(struct http_proxy *px, struct evbuffer *out)
{
	struct http_session *s = px->s;
	const struct http_request *r = &s->t->req;
	unsigned char begin[16];
	fcgi_begin_request(begin, FCGI_ID, px->pool->keepalive ? FCGI_KEEP_CONN : 0);
	evbuffer_add(out, begin, sizeof(begin));

	struct evbuffer *p = evbuffer_new();
	if (!p)
		return;
	char num[32], hbuf[80];
	param_s(p, "GATEWAY_INTERFACE", "CGI/1.1");
	param_s(p, "SERVER_SOFTWARE", "triad/" TRIAD_VERSION);
	param_s(p, "SERVER_PROTOCOL", r->version == HTTP_VERSION_1_0 ? "HTTP/1.0" : "HTTP/1.1");
	param_sl(p, "REQUEST_METHOD", r->method_text);
	param_s(p, "SCRIPT_FILENAME", px->script_file);
	param_s(p, "SCRIPT_NAME", px->script_name);
	param_s(p, "PATH_INFO", px->path_info);
	param_s(p, "DOCUMENT_ROOT", px->docroot_abs);
	if (r->form == HTTP_TARGET_ABSOLUTE) {
		struct evbuffer *u = evbuffer_new();
		if (u) {
			put_slice(u, r->path.len ? r->path : (struct http_slice){{.p = "/"}, 1});
			if (r->query.p) {
				PUTS(u, "?");
				put_slice(u, r->query);
			}
			size_t n = evbuffer_get_length(u);
			param(p, "REQUEST_URI", (const char *)evbuffer_pullup(u, -1), n);
			evbuffer_free(u);
		}
	} else {
		param_sl(p, "REQUEST_URI", r->target);
	}
	param_sl(p, "QUERY_STRING", r->query);
	struct http_slice ctype = {{NULL}, 0};
	for (unsigned i = 0; i < r->nfields; i++)
		if (http_field_is(&r->fields[i], "content-type"))
			ctype = r->fields[i].value;
	param_sl(p, "CONTENT_TYPE", ctype);
	uint64_t clen = px->body_buf ? evbuffer_get_length(px->body_buf)
	                : r->framing == HTTP_BODY_LENGTH ? r->content_length : 0;
	if (px->body_buf || r->framing == HTTP_BODY_LENGTH) {
		snprintf(num, sizeof(num), "%llu", (unsigned long long)clen);
		param_s(p, "CONTENT_LENGTH", num);
	} else {
		param_s(p, "CONTENT_LENGTH", "");
	}
	struct http_slice host = host_of(s, hbuf, sizeof(hbuf));
	size_t hl = host.len;
	/* SERVER_NAME: the host without its port ("[v6]" keeps its brackets) */
	for (size_t k = host.len; k > 0; k--) {
		if (host.p[k - 1] == ']')
			break;
		if (host.p[k - 1] == ':') {
			hl = k - 1;
			break;
		}
	}
	param(p, "SERVER_NAME", host.p, hl);
	snprintf(num, sizeof(num), "%u", s->c->local_port);
	param_s(p, "SERVER_PORT", num);
	param_s(p, "SERVER_ADDR", s->c->local_ip);
	param_s(p, "REMOTE_ADDR", s->c->peer_ip);
	snprintf(num, sizeof(num), "%u", s->c->peer_port);
	param_s(p, "REMOTE_PORT", num);
	if (conn_is_tls(s->c))
		param_s(p, "HTTPS", "on");
	param_s(p, "REDIRECT_STATUS", "200"); /* php-cgi's force-cgi-redirect check */
	http_params(p, r);
	fcgi_stream(out, FCGI_PARAMS, p);
	fcgi_record(out, FCGI_PARAMS, NULL, 0);
	evbuffer_free(p);
}

static void send_request(struct http_proxy *px)
{
	struct http_session *s = px->s;
	px->phase = PX_WAIT;
	px->got_any = false;
	/* Waiting for the client's body is not the server's time: no read
	 * timeout until the request is wholly sent. */
	conn_set_timeouts(px->up, 0, px->pool->timeout);
	struct evbuffer *b = evbuffer_new();
	if (!b) {
		px_fail(px, 502);
		return;
	}
	if (px->fcgi)
		fcgi_request_head(px, b);
	else
		http_request_head(px, b);
	size_t n = evbuffer_get_length(b);
	conn_write(px->up, evbuffer_pullup(b, -1), n);
	evbuffer_free(b);
	if (px->fcgi)
		http_resp_init(&px->rp, 0, false);
	else
		http_resp_init(&px->rp, (size_t)s->app->h->max_header_size,
		               s->t->req.method == HTTP_METHOD_HEAD);
	http_cgi_init(&px->cp, (size_t)s->app->h->max_header_size);
	fcgi_decoder_init(&px->fdec, FCGI_ID);
	pump_body(px);
}

/* ---- request body: client -> upstream ---------------------------------------- */

static void body_out(struct http_proxy *px, const char *p, size_t n)
{
	struct evbuffer *out = conn_output(px->up);
	if (px->fcgi) {
		while (n > 0) {
			size_t k = n > FCGI_STDIN_PIECE ? FCGI_STDIN_PIECE : n;
			fcgi_record(out, FCGI_STDIN, p, k);
			p += k;
			n -= k;
		}
	} else if (px->s->t->req.framing == HTTP_BODY_CHUNKED) {
		evbuffer_add_printf(out, "%zx\r\n", n);
		evbuffer_add(out, p, n);
		PUTS(out, "\r\n");
	} else {
		evbuffer_add(out, p, n);
	}
}

static void body_end(struct http_proxy *px)
{
	px->req_done = true;
	if (!px->req_sent && px->up) {
		if (px->fcgi)
			fcgi_record(conn_output(px->up), FCGI_STDIN, NULL, 0);
		else if (px->s->t->req.framing == HTTP_BODY_CHUNKED)
			PUTS(conn_output(px->up), "0\r\n\r\n");
		px->req_sent = true;
		conn_set_timeouts(px->up, px->pool->timeout, px->pool->timeout);
	}
	http_session_proxy_timer(px->s, false);
}

/* Reads body bytes from the client input. With TO_BUF: into body_buf,
 * else to the upstream while its output has room. False: failed (answered). */
static bool take_body(struct http_proxy *px, bool to_buf)
{
	struct http_session *s = px->s;
	struct evbuffer *in = conn_input(s->c);
	const struct http_request *r = &s->t->req;
	while (!px->req_done && evbuffer_get_length(in) > 0) {
		if (!to_buf && conn_output_full(px->up))
			return true;
		http_session_proxy_timer(s, true); /* progress: the body timer starts again */
		struct evbuffer_iovec v;
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			return true;
		px->body_started = true;
		if (r->framing == HTTP_BODY_LENGTH) {
			size_t n = v.iov_len < px->req_left ? v.iov_len : (size_t)px->req_left;
			if (to_buf)
				evbuffer_add(px->body_buf, v.iov_base, n);
			else
				body_out(px, v.iov_base, n);
			evbuffer_drain(in, n);
			s->c->bytes_in += n;
			px->req_left -= n;
			if (px->req_left == 0)
				body_end(px);
			continue;
		}
		size_t used = 0;
		enum http_chunked_status st =
		    http_chunked_decode(&px->req_chunked, v.iov_base, v.iov_len, &used);
		if (st == HTTP_CHUNKED_ERROR) {
			int status = px->req_chunked.error_status;
			px->req_done = false; /* never trust the framing again: close */
			if (px->head_sent) {
				s->t->x.close = true;
				px_done(px);
			} else {
				px_fail(px, status);
			}
			return false;
		}
		if (px->req_chunked.data_len) {
			const char *d = (const char *)v.iov_base + px->req_chunked.data_off;
			if (to_buf)
				evbuffer_add(px->body_buf, d, px->req_chunked.data_len);
			else
				body_out(px, d, px->req_chunked.data_len);
		}
		evbuffer_drain(in, used);
		s->c->bytes_in += used;
		if (st == HTTP_CHUNKED_DONE)
			body_end(px);
	}
	return true;
}

static void pump_body(struct http_proxy *px)
{
	if (!px->up || px->req_sent || px->phase < PX_WAIT)
		return;
	if (px->body_buf) {
		fcgi_stream(conn_output(px->up), FCGI_STDIN, px->body_buf);
		body_end(px);
		return;
	}
	if (px->req_done) {
		body_end(px);
		return;
	}
	take_body(px, false);
}

/* ---- response: upstream -> client ------------------------------------------------ */

static bool skip_response_field(const struct http_field *fields, unsigned n, unsigned i)
{
	const struct http_field *f = &fields[i];
	return http_hop_by_hop(fields, n, i) || http_field_is(f, "content-length") ||
	       http_field_is(f, "date") || http_field_is(f, "server") ||
	       http_field_is(f, "x-content-type-options");
}

/* The client's head: STATUS, the end-to-end FIELDS, our framing. */
static void client_head(struct http_proxy *px, int status, const struct http_field *fields,
                        unsigned n, bool body, bool has_length, uint64_t length,
                        const char *extra)
{
	struct http_session *s = px->s;
	struct http_exchange *x = &s->t->x;
	size_t cap = 1024;
	for (unsigned i = 0; i < n; i++)
		cap += fields[i].name.len + fields[i].value.len + 4;
	char *buf = malloc(cap);
	if (!buf) {
		px_fail(px, 502);
		return;
	}
	struct http_head h = {buf, 0, cap, false};
	char cs[160] = "";
	if (s->app->rcache && status >= 200)
		cache_head(px, status, fields, n, has_length, length, cs, sizeof(cs));
	if (status == 304 || status == 204 || status < 200)
		x->head_only = true;
	px->discard = x->head_only;
	http_head_start(s, &h, status);
	for (unsigned i = 0; i < n; i++) {
		if (skip_response_field(fields, n, i))
			continue;
		http_head_add(&h, fields[i].name.p, fields[i].name.len);
		http_head_add(&h, STRLIT(": "));
		http_head_add(&h, fields[i].value.p, fields[i].value.len);
		http_head_add(&h, STRLIT("\r\n"));
	}
	if (extra)
		http_head_str(&h, extra);
	http_head_str(&h, cs);
	px->chunked_out = false;
	if (has_length && status != 204 && status >= 200) {
		http_head_str(&h, "Content-Length: ");
		http_head_u64(&h, length);
		http_head_add(&h, STRLIT("\r\n"));
	} else if (body && !x->head_only) {
		if (s->t->req.version == HTTP_VERSION_1_1) {
			http_head_str(&h, "Transfer-Encoding: chunked\r\n");
			px->chunked_out = true;
		} else {
			x->close = true; /* HTTP/1.0: the body ends with the connection */
		}
	}
	http_head_finish(s, &h);
	free(buf);
	px->head_sent = true;
}

/* Body bytes to the client, framed as its head said. */
static void client_body(struct http_proxy *px, const void *p, size_t n)
{
	struct http_session *s = px->s;
	if (n == 0)
		return;
	cache_body(px, p, n);
	if (px->discard)
		return;
	struct evbuffer *out = conn_output(s->c);
	if (px->chunked_out)
		evbuffer_add_printf(out, "%zx\r\n", n);
	evbuffer_add(out, p, n);
	if (px->chunked_out)
		PUTS(out, "\r\n");
	s->t->x.sent += n;
}

/* The response ended well: close the body, keep or close the upstream conn. */
static void complete(struct http_proxy *px)
{
	struct http_session *s = px->s;
	if (px->chunked_out)
		conn_write(s->c, STRLIT("0\r\n\r\n"));
	bool keep = !px->up_close && px->req_sent && px->up &&
	            evbuffer_get_length(conn_input(px->up)) == 0;
	if (px->fcgi)
		keep = keep && px->pool->keepalive && px->fdec.protocol_status == FCGI_REQUEST_COMPLETE;
	up_release(px, keep);
	cache_complete(px);
	px_done(px);
}

static void tunnel_start(struct http_proxy *px)
{
	px->phase = PX_TUNNEL;
	px->req_done = true; /* nothing of HTTP is left on this client conn */
	conn_set_timeouts(px->up, px->pool->timeout, px->pool->timeout);
	relay(px);
}

/* A response head from an HTTP server: false when it was not complete yet. */
static bool http_head_in(struct http_proxy *px)
{
	struct http_session *s = px->s;
	struct evbuffer *in = conn_input(px->up);
	for (;;) {
		size_t len = evbuffer_get_length(in);
		if (len == 0)
			return false;
		const char *buf = (const char *)evbuffer_pullup(in, -1);
		if (!px->resp && !(px->resp = malloc(sizeof(*px->resp)))) {
			px_fail(px, 502);
			return false;
		}
		enum http_parse_status st = http_resp_parse(&px->rp, buf, len, px->resp);
		if (st == HTTP_PARSE_AGAIN)
			return false;
		if (st == HTTP_PARSE_ERROR) {
			char why[160];
			snprintf(why, sizeof(why), "bad head (%s)", px->rp.error_reason);
			log_fail(px, why);
			px_fail(px, 502);
			return false;
		}
		struct http_response *r = px->resp;
		if (r->status == 101) {
			if (!px->websocket || !r->upgrade) {
				log_fail(px, "bad head (unrequested 101)");
				px_fail(px, 502);
				return false;
			}
			s->t->x.close = false;
			/* Upgrade is hop-by-hop: the server's value is passed on by hand */
			char extra[256] = "Connection: upgrade\r\n";
			for (unsigned i = 0; i < r->nfields; i++)
				if (http_field_is(&r->fields[i], "upgrade") && r->fields[i].value.len < 200) {
					snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra),
					         "Upgrade: %.*s\r\n", (int)r->fields[i].value.len,
					         r->fields[i].value.p);
					break;
				}
			client_head(px, 101, r->fields, r->nfields, false, false, 0, extra);
			evbuffer_drain(in, r->head_len);
			tunnel_start(px);
			return false;
		}
		if (r->status < 200) {
			/* 100, 102, 103: interim, dropped (the final head follows) */
			evbuffer_drain(in, r->head_len);
			http_resp_init(&px->rp, (size_t)s->app->h->max_header_size,
			               s->t->req.method == HTTP_METHOD_HEAD);
			continue;
		}
		px->framing = r->framing;
		px->resp_left = r->content_length;
		px->up_close = r->conn_close || r->framing == HTTP_RESP_BODY_CLOSE;
		http_chunked_init(&px->resp_chunked, UINT64_MAX);
		px->resp_chunked.yield = true;
		bool body = r->framing != HTTP_RESP_BODY_NONE;
		bool has_len = r->framing == HTTP_RESP_BODY_LENGTH ||
		               (r->framing == HTTP_RESP_BODY_NONE && r->has_length);
		client_head(px, r->status, r->fields, r->nfields, body, has_len, r->content_length,
		            NULL);
		evbuffer_drain(in, r->head_len);
		px->phase = PX_BODY;
		return true;
	}
}

/* Moves HTTP body bytes while the client has room; 1 when the body ended, 0 not
 * yet, -1 when the exchange was ended inside (px is gone). */
static int http_body_in(struct http_proxy *px, bool eof)
{
	struct evbuffer *in = conn_input(px->up);
	struct conn *cc = px->s->c;
	if (px->framing == HTTP_RESP_BODY_NONE)
		return 1;
	while (evbuffer_get_length(in) > 0 && (eof || !conn_output_full(cc))) {
		struct evbuffer_iovec v;
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		size_t n = v.iov_len;
		if (px->framing == HTTP_RESP_BODY_LENGTH) {
			if (n > px->resp_left)
				n = (size_t)px->resp_left;
			client_body(px, v.iov_base, n);
			evbuffer_drain(in, n);
			px->resp_left -= n;
			if (px->resp_left == 0)
				return 1;
			continue;
		}
		if (px->framing == HTTP_RESP_BODY_CLOSE) {
			client_body(px, v.iov_base, n);
			evbuffer_drain(in, n);
			continue;
		}
		size_t used = 0;
		enum http_chunked_status st =
		    http_chunked_decode(&px->resp_chunked, v.iov_base, n, &used);
		if (st == HTTP_CHUNKED_ERROR) {
			log_fail(px, "bad chunked body");
			px->up_close = true;
			px->s->t->x.close = true;
			up_release(px, false);
			px_done(px);
			return -1;
		}
		if (px->resp_chunked.data_len)
			client_body(px, (const char *)v.iov_base + px->resp_chunked.data_off,
			            px->resp_chunked.data_len);
		evbuffer_drain(in, used);
		if (st == HTTP_CHUNKED_DONE)
			return 1;
	}
	if (px->framing == HTTP_RESP_BODY_LENGTH && px->resp_left == 0)
		return 1;
	return 0;
}

/* FastCGI records while the client has room; 1 when END_REQUEST came,
 * 0 not yet, -1 when the exchange was ended inside (px is gone). */
static int fcgi_in(struct http_proxy *px, bool eof)
{
	struct http_session *s = px->s;
	struct evbuffer *in = conn_input(px->up);
	while (evbuffer_get_length(in) > 0 && (eof || !px->head_sent || !conn_output_full(s->c))) {
		struct evbuffer_iovec v;
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		size_t used;
		const unsigned char *data;
		size_t dlen;
		enum fcgi_event ev = fcgi_decode(&px->fdec, v.iov_base, v.iov_len, &used, &data, &dlen);
		if (ev == FCGI_EV_ERROR) {
			char why[160];
			snprintf(why, sizeof(why), "bad FastCGI record (%s)", px->fdec.error_reason);
			log_fail(px, why);
			px->up_close = true;
			px_fail(px, 502);
			return -1;
		}
		if (ev == FCGI_EV_STDERR) {
			char esc[600];
			size_t n = dlen > 256 ? 256 : dlen;
			while (n > 0 && (data[n - 1] == '\n' || data[n - 1] == '\r'))
				n--;
			log_escape(esc, sizeof(esc), data, n);
			log_msg(LOG_LEVEL_WARN, s->c->id, "upstream pool=%s server=%s stderr: %s",
			        px->pool->name, server_text(px), esc);
		} else if (ev == FCGI_EV_STDOUT && px->head_sent) {
			client_body(px, data, dlen);
		} else if (ev == FCGI_EV_STDOUT) {
			if (!px->cgi_head && !(px->cgi_head = evbuffer_new())) {
				px_fail(px, 502);
				return -1;
			}
			evbuffer_add(px->cgi_head, data, dlen);
			size_t len = evbuffer_get_length(px->cgi_head);
			const char *buf = (const char *)evbuffer_pullup(px->cgi_head, -1);
			if (!px->cgi && !(px->cgi = malloc(sizeof(*px->cgi)))) {
				px_fail(px, 502);
				return -1;
			}
			enum http_parse_status st = http_cgi_parse(&px->cp, buf, len, px->cgi);
			if (st == HTTP_PARSE_ERROR) {
				char why[160];
				snprintf(why, sizeof(why), "bad head (%s)", px->cp.error_reason);
				log_fail(px, why);
				evbuffer_drain(in, used);
				px->up_close = true;
				px_fail(px, 502);
				return -1;
			}
			if (st == HTTP_PARSE_OK) {
				const struct http_cgi_response *r = px->cgi;
				bool body = r->status != 204 && r->status != 304;
				client_head(px, r->status, r->fields, r->nfields, body, false, 0, NULL);
				px->phase = PX_BODY;
				client_body(px, buf + r->head_len, len - r->head_len);
				evbuffer_free(px->cgi_head);
				px->cgi_head = NULL;
			}
		}
		evbuffer_drain(in, used);
		if (ev == FCGI_EV_END) {
			px->fcgi_ended = true;
			if (!px->head_sent) {
				log_fail(px, "bad head (stdout ended without a CGI head)");
				px_fail(px, 502);
				return -1;
			}
			return 1;
		}
	}
	return 0;
}

/* Moves what can move now, both ways in a tunnel, upstream -> client otherwise. */
static void relay(struct http_proxy *px)
{
	struct http_session *s = px->s;
	if (!px->up)
		return;
	if (px->phase == PX_TUNNEL) {
		struct evbuffer *uin = conn_input(px->up), *cin = conn_input(s->c);
		if (!conn_output_full(s->c) && evbuffer_get_length(uin)) {
			s->t->x.sent += evbuffer_get_length(uin);
			evbuffer_add_buffer(conn_output(s->c), uin);
		}
		if (!conn_output_full(px->up) && evbuffer_get_length(cin)) {
			s->c->bytes_in += evbuffer_get_length(cin);
			evbuffer_add_buffer(conn_output(px->up), cin);
		}
		return;
	}
	if (px->phase == PX_WAIT || px->phase == PX_BODY)
		up_read(px->up);
}

/* ---- upstream conn callbacks ---------------------------------------------------------- */

static void up_read(struct conn *up)
{
	struct http_proxy *px = up->proto;
	if (!px)
		return;
	if (evbuffer_get_length(conn_input(up)) > 0)
		px->got_any = true;
	if (px->phase == PX_TUNNEL) {
		relay(px);
		return;
	}
	if (px->fcgi) {
		if (fcgi_in(px, false) == 1)
			complete(px);
		return;
	}
	if (!px->head_sent && !http_head_in(px))
		return;
	if (http_body_in(px, false) == 1)
		complete(px);
}

static void up_drain(struct conn *up)
{
	struct http_proxy *px = up->proto;
	if (!px)
		return;
	if (px->phase == PX_TUNNEL)
		relay(px);
	else
		pump_body(px);
}

static void up_eof(struct conn *up, bool error)
{
	struct http_proxy *px = up->proto;
	if (!px)
		return;
	struct http_session *s = px->s;
	if (px->phase == PX_TUNNEL) {
		relay(px);
		/* whatever is left from the server still goes out */
		struct evbuffer *uin = conn_input(up);
		if (evbuffer_get_length(uin))
			evbuffer_add_buffer(conn_output(s->c), uin);
		px->up = NULL;
		up->proto = NULL;
		s->t->x.close = true;
		px_done(px);
		return;
	}
	/* RFC 9112 §9.3.1: a reused connection the server closed before answering;
	 * safe to send again on a fresh one when nothing can be lost. */
	if (px->reused && !px->got_any && is_idempotent(s->t->req.method) && !px->body_started &&
	    !px->head_sent) {
		px->up = NULL;
		up->proto = NULL;
		px->no_idle = true;
		px->tried = 0;
		px->req_sent = false;
		connect_next(px);
		return;
	}
	if (px->head_sent) {
		/* whatever arrived before the end is passed on, then: ended or cut */
		int got = px->fcgi ? fcgi_in(px, true) : http_body_in(px, true);
		if (got < 0)
			return; /* answered inside */
		bool ended = got == 1;
		if (!ended && !px->fcgi && px->framing == HTTP_RESP_BODY_CLOSE && !error)
			ended = true;
		px->up = NULL;
		up->proto = NULL;
		if (ended) {
			px->up_close = true;
			complete(px);
			return;
		}
		log_fail(px, error ? "reset during the body" : "closed during the body");
		s->t->x.close = true;
		px_done(px);
		return;
	}
	if (px->fcgi && evbuffer_get_length(conn_input(up)) > 0) {
		int got = fcgi_in(px, true);
		if (got < 0)
			return;
		if (got == 1) {
			px->up = NULL;
			up->proto = NULL;
			complete(px);
			return;
		}
	}
	px->up = NULL;
	up->proto = NULL;
	if (error)
		http_pool_mark_failed(px->pool, (size_t)px->server, now_ms());
	log_fail(px, error ? "reset" : px->got_any ? "bad head (cut)" : "closed without a response");
	px_fail(px, 502);
}

static void up_timeout(struct conn *up, bool writing)
{
	struct http_proxy *px = up->proto;
	if (!px) {
		conn_abort(up);
		return;
	}
	struct http_session *s = px->s;
	http_pool_mark_failed(px->pool, (size_t)px->server, now_ms());
	log_fail(px, writing ? "timeout (sending)" : "timeout");
	px->up = NULL;
	up->proto = NULL;
	conn_abort(up);
	if (px->head_sent) {
		s->t->x.close = true;
		px_done(px);
		return;
	}
	px_fail(px, 504);
}

static void up_free(struct conn *up)
{
	struct http_proxy *px = up->proto;
	if (px && px->up == up)
		px->up = NULL;
	up->proto = NULL;
}

static void up_shutdown(struct conn *up)
{
	(void)up; /* the exchange in flight finishes; the client side closes after */
}

static const struct conn_ops up_ops = {
    .on_read = up_read,
    .on_drain = up_drain,
    .on_timeout = up_timeout,
    .on_eof = up_eof,
    .on_shutdown = up_shutdown,
    .on_free = up_free,
    .on_connect = up_connect,
};

/* ---- the client side while proxying --------------------------------------------- */

void http_proxy_client_read(struct http_session *s)
{
	struct http_proxy *px = s->px;
	if (!px)
		return;
	if (px->phase == PX_TUNNEL) {
		relay(px);
		return;
	}
	if (px->phase == PX_BUFFER) {
		if (!take_body(px, true))
			return;
		if (px->req_done)
			connect_next(px);
		return;
	}
	/* not before the request head went out (the conn may still be connecting) */
	if (px->up && px->phase >= PX_WAIT && !px->req_done)
		take_body(px, false);
}

void http_proxy_client_drain(struct http_session *s)
{
	struct http_proxy *px = s->px;
	if (px)
		relay(px);
}

void http_proxy_free(struct http_session *s)
{
	struct http_proxy *px = s->px;
	if (!px)
		return;
	s->px = NULL;
	if (px->up && px->phase == PX_BODY && !px->fcgi && px->framing == HTTP_RESP_BODY_LENGTH)
		px->up_close = true;
	px_free(px);
}

/* ---- routing -------------------------------------------------------------------------- */

/*
 * The FastCGI script for a request matched by RULE: the shortest leading
 * part of the path, ending at a '/' or at the end, that matches the rule and
 * names a regular file below docroot. 0 with px's script fields set, or 404.
 */
static int find_script(struct http_session *s, struct http_proxy *px, int rule)
{
	const struct http_proxy_conf *pc = &s->site->proxy;
	const char *path = s->path;
	size_t len = s->path_len + 1;
	for (size_t k = 1; k <= len; k++) {
		if (k < len && path[k] != '/')
			continue;
		if (rule >= 0 && !http_proxy_rule_matches(pc, (size_t)rule, path, k))
			continue;
		struct stat st;
		if (k < 2 || fsroot_stat(&s->site->docroot, path + 1, k - 1, &st) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		px->script_name = strndup(path, k);
		px->path_info = strdup(path + k);
		size_t dl = strlen(px->docroot_abs);
		px->script_file = malloc(dl + k + 1);
		if (!px->script_name || !px->path_info || !px->script_file)
			return 500;
		memcpy(px->script_file, px->docroot_abs, dl);
		memcpy(px->script_file + dl, path, k);
		px->script_file[dl + k] = '\0';
		return 0;
	}
	return 404;
}

/* Whether the normalised s->path names something the static side serves:
 * a regular file, or a directory with an index file (or autoindex on). */
static bool served_locally(struct http_session *s)
{
	const struct http_site *site = s->site;
	struct stat st;
	const char *rel = s->path_len ? s->path + 1 : ".";
	size_t rl = s->path_len ? s->path_len : 1;
	char name[PATH_MAX];
	if (fsroot_stat(&site->docroot, rel, rl, &st) < 0) {
		/* try_extensions: /about is served about.html when that exists */
		for (size_t i = 0; site->try_extensions && i < site->try_extensions->n; i++) {
			int n = snprintf(name, sizeof(name), "%.*s%s", (int)s->path_len, s->path + 1,
			                 site->try_extensions->v[i]);
			if (s->path_len && n > 0 && (size_t)n < sizeof(name) &&
			    fsroot_stat(&site->docroot, name, (size_t)n, &st) == 0 && S_ISREG(st.st_mode))
				return true;
		}
		return false;
	}
	if (S_ISREG(st.st_mode))
		return true;
	if (!S_ISDIR(st.st_mode))
		return false;
	if (site->autoindex)
		return true;
	for (size_t i = 0; site->index && i < site->index->n; i++) {
		int n = snprintf(name, sizeof(name), "%.*s%s%s", (int)s->path_len, s->path + 1,
		                 s->path_len ? "/" : "", site->index->v[i]);
		if (n > 0 && (size_t)n < sizeof(name) &&
		    fsroot_stat(&site->docroot, name, (size_t)n, &st) == 0 && S_ISREG(st.st_mode))
			return true;
	}
	return false;
}

/* The absolute path of the site's docroot, from its directory fd (FastCGI's
 * DOCUMENT_ROOT and SCRIPT_FILENAME name files as the server sees them). */
static int docroot_path(struct http_session *s, struct http_proxy *px)
{
	char link[64];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", s->site->docroot.fd);
	ssize_t n = readlink(link, px->docroot_abs, sizeof(px->docroot_abs) - 1);
	if (n <= 0 || (size_t)n >= sizeof(px->docroot_abs) - 1)
		return 500;
	px->docroot_abs[n] = '\0';
	return 0;
}

static void wait_cb(evutil_socket_t fd, short what, void *arg);

/* Sends the request on: the body first when FastCGI needs its length. */
static void forward(struct http_proxy *px)
{
	struct http_session *s = px->s;
	if (px->fcgi && s->t->req.framing == HTTP_BODY_CHUNKED) {
		/* CONTENT_LENGTH must be known first: the whole body, then connect */
		px->phase = PX_BUFFER;
		if (!(px->body_buf = evbuffer_new())) {
			px_fail(px, 503);
			return;
		}
		http_proxy_client_read(s);
		return;
	}
	connect_next(px);
}

/* True when the request was answered from the cache or now waits for another
 * request's fill of its key; false: forward it (px->fill when it fills). */
static bool cache_lookup(struct http_proxy *px, bool may_wait)
{
	struct http_session *s = px->s;
	struct http_rcache *rc = s->app->rcache;
	if (!px->cacheable)
		return false;
	const struct http_request *r = &s->t->req;
	bool want_fill = r->method == HTTP_METHOD_GET;
	if (may_wait && want_fill && !px->wait.ev)
		px->wait.ev = event_new(s->c->base, -1, 0, wait_cb, px);
	struct http_rentry *e;
	struct http_rfill *fill;
	int64_t now = wall_now(s);
	enum http_rlookup res =
	    http_rcache_lookup(rc, px->key, px->key_len, r, now, want_fill,
	                       may_wait && px->wait.ev ? &px->wait : NULL, &e, &fill);
	switch (res) {
	case HTTP_RLOOKUP_HIT: {
		char cs[96];
		snprintf(cs, sizeof(cs), "triad; hit; ttl=%lld", (long long)(e->expires - now));
		serve_entry(px, e, cs);
		http_rentry_unref(e);
		px_done(px);
		return true;
	}
	case HTTP_RLOOKUP_WAIT: {
		struct timeval tv = duration_tv(HTTP_RCACHE_LOCK_MS);
		event_add(px->wait.ev, &tv);
		px->phase = PX_CACHEWAIT;
		return true;
	}
	case HTTP_RLOOKUP_STALE:
		px->stale = e;
		px->fwd = "stale";
		break;
	case HTTP_RLOOKUP_VARY_MISS:
		px->fwd = "vary-miss";
		break;
	default:
		px->fwd = "uri-miss";
		break;
	}
	px->fill = fill;
	return false;
}

/* A collapsed request: the fill it waited for ended (or HTTP_RCACHE_LOCK_MS passed). */
static void wait_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct http_proxy *px = arg;
	http_rcache_unwait(px->s->app->rcache, &px->wait);
	px->collapsed = true;
	if (!cache_lookup(px, false))
		forward(px);
}

static int start(struct http_session *s, struct http_pool *pool, int rule, bool fallback)
{
	const struct http_request *r = &s->t->req;
	struct http_proxy *px = calloc(1, sizeof(*px));
	if (!px)
		return 503;
	px->s = s;
	px->pool = pool;
	px->server = -1;
	px->fcgi = pool->protocol == HTTP_UPSTREAM_FASTCGI;
	if (px->fcgi) {
		int st = docroot_path(s, px);
		if (st) {
			px_free(px);
			return st;
		}
		if (fallback) {
			/* front controller: <docroot>/index.php, the original URI */
			size_t dl = strlen(px->docroot_abs);
			px->script_name = strdup("/index.php");
			px->path_info = strdup("");
			px->script_file = malloc(dl + sizeof("/index.php"));
			st = px->script_name && px->path_info && px->script_file ? 0 : 500;
			if (!st)
				memcpy(px->script_file, px->docroot_abs, dl),
				    memcpy(px->script_file + dl, "/index.php", sizeof("/index.php"));
		} else {
			st = find_script(s, px, rule);
		}
		if (st) {
			px_free(px);
			return st;
		}
	} else {
		px->websocket = wants_websocket(r);
	}
	px->req_left = r->framing == HTTP_BODY_LENGTH ? r->content_length : 0;
	px->req_done = r->framing == HTTP_BODY_NONE ||
	               (r->framing == HTTP_BODY_LENGTH && r->content_length == 0);
	http_chunked_init(&px->req_chunked, s->app->h->max_body_size);
	px->req_chunked.yield = true;
	s->px = px;
	s->t->x.head_only = r->method == HTTP_METHOD_HEAD;
	if (!r->keep_alive || s->app->h->keepalive_timeout == 0)
		s->t->x.close = true;
	http_session_enter_proxy(s, !px->req_done);
	/* RFC 9110 §10.1.1: we will read the body (and pass it on). */
	if (!px->req_done && r->expect_continue)
		conn_write(s->c, STRLIT("HTTP/1.1 100 Continue\r\n\r\n"));
	if (s->app->rcache && px->req_done && !px->websocket && http_cache_request_ok(r)) {
		char key[HTTP_REQUEST_LINE_MAX + 512];
		size_t kl = http_rcache_key(r, conn_is_tls(s->c), key, sizeof(key));
		if (kl && (px->key = strndup(key, kl))) {
			px->key_len = kl;
			px->cacheable = true;
		}
		if (cache_lookup(px, true))
			return -1;
	}
	forward(px);
	return -1;
}

int http_proxy_route(struct http_session *s)
{
	const struct http_app *app = s->app;
	const struct http_request *r = &s->t->req;
	if (!app->proxy_any)
		return 0;
	if (r->form == HTTP_TARGET_ASTERISK || r->form == HTTP_TARGET_AUTHORITY)
		return 0;
	if (r->form == HTTP_TARGET_ABSOLUTE && !http_eq_ci(r->scheme.p, r->scheme.len, "http") &&
	    !http_eq_ci(r->scheme.p, r->scheme.len, "https"))
		return 0;
	/* the site first: its docroot, and what the local side answers itself
	 * (421 for a mismatched SNI, redirect_https, canonical redirects) */
	if (http_site_choose(s) || (s->site->redirect_https && !conn_is_tls(s->c)) ||
	    http_site_noncanonical(s))
		return 0;
	struct http_path pr;
	if (http_path_normalize(r->path.p, r->path.len, s->path + 1, sizeof(s->w->path) - 1, &pr))
		return 0; /* the local side answers the error */
	s->path[0] = '/';
	s->path_len = pr.len;
	if (pr.hidden)
		return 404; /* never to a pool (interface.md) */
	const struct http_proxy_conf *pc = &s->site->proxy; /* the site's, or [httpd]'s */
	int rule = http_proxy_match(pc, s->path);
	if (rule >= 0)
		return start(s, pc->rule_pool[rule], rule, false);
	if (!pc->fallback || served_locally(s))
		return 0;
	return start(s, pc->fallback, -1, true);
}
