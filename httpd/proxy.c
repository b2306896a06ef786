/*
 * httpd/proxy.c: a request forwarded to an application server pool
 * (interface.md, "Application servers (httpd)"): the life of one exchange.
 * The other parts are listed in proxy_exchange.h.
 *
 * Two conns, one struct http_proxy between them: the client's session (in
 * HTTP_ST_PROXY) and an upstream conn from the same conn layer, whose proto
 * is the proxy. Either side may go first; each detaches the other.
 *
 *   route -> [BUFFER: chunked body for FastCGI] -> CONNECT -> WAIT (request
 *   head and body streamed) -> BODY (response streamed) -> done
 *                                            \-> TUNNEL (101, WebSocket)
 *
 * The upstream read timeout (`timeout`) runs only while we are reading from
 * it: not while the request body is still coming from the client, nor while
 * reading is paused because the client is slow.
 * Retries (RFC 9112 §9.3.1): on the next server when connecting failed (no
 * byte sent), and once on a fresh connection when a reused idle connection
 * closed before any response byte and the request is idempotent and no byte
 * of its body was taken from the client yet.
 */
#include "proxy_exchange.h"
#include "conf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <event2/event.h>

#include "triad/conn.h"
#include "triad/iobuf.h"
#include "triad/limits.h"
#include "triad/log.h"
#include "triad/strlit.h"

int64_t px_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *px_server_text(const struct http_proxy *px)
{
	return px->server >= 0 ? px->pool->servers[px->server].text : "-";
}

void px_log_fail(struct http_proxy *px, const char *why)
{
	log_msg(LOG_LEVEL_ERROR, px->s->c->id, "upstream pool=%s server=%s error=%s",
	        px->pool->name, px_server_text(px), why);
}

/* ---- the exchange's state ----------------------------------------------------- */

struct http_proxy *px_new(struct http_worker *w)
{
	struct http_proxy *px = w->px_spare;
	if (!px)
		return calloc(1, sizeof(*px));
	w->px_spare = px->spare_next;
	w->npx_spare--;
	struct http_response *resp = px->resp;
	struct http_cgi_response *cgi = px->cgi;
	char *cgi_head = px->cgi_head, *key = px->key;
	size_t cgi_cap = px->cgi_cap, key_cap = px->key_cap;
	struct event *wait_ev = px->wait.ev;
	memset(px, 0, sizeof(*px));
	px->resp = resp;
	px->cgi = cgi;
	px->cgi_head = cgi_head;
	px->cgi_cap = cgi_cap;
	px->key = key;
	px->key_cap = key_cap;
	px->wait.ev = wait_ev; /* made for this worker's loop with PX as its argument */
	return px;
}

/* The buffers a spare keeps, and the spare itself. */
static void px_release(struct http_proxy *px)
{
	free(px->resp);
	free(px->cgi);
	free(px->cgi_head);
	free(px->key);
	if (px->wait.ev)
		event_free(px->wait.ev);
	free(px);
}

void px_spares_free(struct http_worker *w)
{
	while (w->px_spare) {
		struct http_proxy *px = w->px_spare;
		w->px_spare = px->spare_next;
		px_release(px);
	}
	w->npx_spare = 0;
}

void px_free(struct http_proxy *px)
{
	if (px->up) {
		px->up->proto = NULL;
		conn_abort(px->up);
	}
	iobuf_free(px->body_buf);
	if (px->waiting)
		http_rcache_unwait(px->s->app->rcache, &px->wait);
	if (px->wait.ev)
		event_del(px->wait.ev); /* the event stays with PX, for its next exchange */
	if (px->fill)
		http_rcache_fill_end(px->fill, NULL); /* waiters forward themselves */
	if (px->store)
		http_rentry_unref(px->store);
	iobuf_free(px->store_body);
	if (px->stale)
		http_rentry_unref(px->stale);
	free(px->script_name);
	free(px->path_info);
	free(px->script_file);
	free(px->docroot_abs);
	struct http_worker *w = px->s ? px->s->w : NULL;
	if (w && w->npx_spare < HTTP_PROXY_SPARE_MAX) {
		px->spare_next = w->px_spare;
		w->px_spare = px;
		w->npx_spare++;
		return;
	}
	px_release(px);
}

void px_done(struct http_proxy *px)
{
	struct http_session *s = px->s;
	if (!px->req_done)
		s->t->x.close = true; /* the rest of the request body was never read */
	s->px = NULL;
	px_free(px);
	http_session_proxied(s);
}

void px_fail(struct http_proxy *px, int status)
{
	struct http_session *s = px->s;
	if (px->up)
		px_up_release(px, false);
	if (px->head_sent) {
		/* A response cut after its head: the client must see it cut. */
		s->t->x.close = true;
		px_done(px);
		return;
	}
	if (!px->req_done)
		s->t->x.close = true;
	if (!px_serve_stale(px)) {
		char cs[96];
		snprintf(cs, sizeof(cs), "Cache-Status: triad; fwd=%s; detail=%s\r\n",
		         px->fwd ? px->fwd : "request", status == 504 ? "timeout" : "error");
		http_respond_status(s, status, s->app->rcache ? cs : NULL);
	}
	px_done(px);
}

void px_fail_bad(struct http_proxy *px, const char *what, const char *reason)
{
	char why[160];
	snprintf(why, sizeof(why), "%s (%s)", what, reason);
	px_log_fail(px, why);
	px->up_close = true;
	px_fail(px, 502);
}

void px_forward(struct http_proxy *px)
{
	struct http_session *s = px->s;
	if (px->fcgi && s->t->req.framing == HTTP_BODY_CHUNKED) {
		/* CONTENT_LENGTH must be known first: the whole body, then connect */
		px->phase = PX_BUFFER;
		if (!(px->body_buf = iobuf_new(s->app->h->max_body_size))) {
			px_fail(px, 503);
			return;
		}
		http_proxy_client_read(s);
		return;
	}
	px_connect_next(px);
}

void px_send_request(struct http_proxy *px)
{
	struct http_session *s = px->s;
	px->phase = PX_WAIT;
	px->got_any = false;
	/* Waiting for the client's body is not the server's time: no read
	 * timeout until the request is wholly sent. */
	conn_set_timeouts(px->up, 0, px->pool->timeout);
	if (!(px->fcgi ? px_fcgi_request_head(px) : px_http_request_head(px))) {
		px_fail(px, 502);
		return;
	}
	if (px->fcgi)
		http_resp_init(&px->rp, 0, false);
	else
		http_resp_init(&px->rp, (size_t)s->app->h->max_header_size,
		               s->t->req.method == HTTP_METHOD_HEAD);
	http_cgi_init(&px->cp, (size_t)s->app->h->max_header_size);
	fcgi_decoder_init(&px->fdec, 1);
	px_pump_body(px);
}

/* ---- tunnels (101 Switching Protocols) ------------------------------------------ */

/* Moves what can move now, both ways in a tunnel, upstream -> client otherwise. */
static void relay(struct http_proxy *px)
{
	struct http_session *s = px->s;
	if (!px->up)
		return;
	if (px->phase == PX_TUNNEL) {
		size_t n;
		if (!conn_output_full(s->c) && (n = conn_in_len(px->up)) > 0 &&
		    conn_in_move(px->up, s->c, n) > 0)
			s->t->x.sent += n;
		if (!conn_output_full(px->up) && (n = conn_in_len(s->c)) > 0 &&
		    conn_in_move(s->c, px->up, n) > 0)
			s->c->bytes_in += n;
		return;
	}
	if (px->phase == PX_WAIT || px->phase == PX_BODY)
		px_up_ops.on_read(px->up);
}

void px_tunnel_start(struct http_proxy *px)
{
	px->phase = PX_TUNNEL;
	px->req_done = true; /* nothing of HTTP is left on this client conn */
	conn_set_timeouts(px->up, px->pool->timeout, px->pool->timeout);
	relay(px);
}

/* ---- upstream conn callbacks ------------------------------------------------------ */

/* conn_connect() finished (from the loop): send, or try the next server. */
static void up_connect(struct conn *up, bool ok, int err)
{
	struct http_proxy *px = up->proto;
	if (!px)
		return;
	if (ok) {
		px_send_request(px);
		return;
	}
	px->up = NULL;
	up->proto = NULL; /* freed right after this callback */
	px_connect_failed(px, err == ECONNREFUSED || err == ENOENT ? "refused"
	                      : err == ETIMEDOUT                   ? "connect timeout"
	                                                           : strerror(err));
}

static void up_read(struct conn *up)
{
	struct http_proxy *px = up->proto;
	if (!px)
		return;
	if (conn_in_len(up) > 0)
		px->got_any = true;
	if (px->phase == PX_TUNNEL) {
		relay(px);
		return;
	}
	if (px->fcgi) {
		if (px_fcgi_in(px, false) == 1)
			px_complete(px);
		return;
	}
	if (!px->head_sent && !px_http_head_in(px))
		return;
	if (px_http_body_in(px, false) == 1)
		px_complete(px);
}

static void up_drain(struct conn *up)
{
	struct http_proxy *px = up->proto;
	if (!px)
		return;
	if (px->phase == PX_TUNNEL)
		relay(px);
	else
		px_pump_body(px);
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
		conn_in_move(up, s->c, SIZE_MAX);
		px->up = NULL;
		up->proto = NULL;
		s->t->x.close = true;
		px_done(px);
		return;
	}
	/* RFC 9112 §9.3.1: a reused connection the server closed before answering;
	 * safe to send again on a fresh one when nothing can be lost. */
	if (px->reused && !px->got_any && px_is_idempotent(s->t->req.method) &&
	    !px->body_started && !px->head_sent) {
		px->up = NULL;
		up->proto = NULL;
		px->no_idle = true;
		px->tried = 0;
		px->req_sent = false;
		px_connect_next(px);
		return;
	}
	if (px->head_sent) {
		/* whatever arrived before the end is passed on, then: ended or cut */
		int got = px->fcgi ? px_fcgi_in(px, true) : px_http_body_in(px, true);
		if (got < 0)
			return; /* answered inside */
		bool ended = got == 1;
		if (!ended && !px->fcgi && px->framing == HTTP_RESP_BODY_CLOSE && !error)
			ended = true;
		px->up = NULL;
		up->proto = NULL;
		if (ended) {
			px->up_close = true;
			px_complete(px);
			return;
		}
		px_log_fail(px, error ? "reset during the body" : "closed during the body");
		s->t->x.close = true;
		px_done(px);
		return;
	}
	if (px->fcgi && conn_in_len(up) > 0) {
		int got = px_fcgi_in(px, true);
		if (got < 0)
			return;
		if (got == 1) {
			px->up = NULL;
			up->proto = NULL;
			px_complete(px);
			return;
		}
	}
	px->up = NULL;
	up->proto = NULL;
	if (error)
		http_pool_mark_failed(px->pool, (size_t)px->server, px_now_ms());
	px_log_fail(px, error         ? "reset"
	                : px->got_any ? "bad head (cut)"
	                              : "closed without a response");
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
	http_pool_mark_failed(px->pool, (size_t)px->server, px_now_ms());
	px_log_fail(px, writing ? "timeout (sending)" : "timeout");
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

const struct conn_ops px_up_ops = {
    .on_read = up_read,
    .on_drain = up_drain,
    .on_timeout = up_timeout,
    .on_eof = up_eof,
    .on_shutdown = up_shutdown,
    .on_free = up_free,
    .on_connect = up_connect,
};

/* ---- the client side while proxying ------------------------------------------------ */

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
		if (!px_take_body(px, true))
			return;
		if (iobuf_overflowed(px->body_buf)) {
			px->req_done = false; /* the rest is never read: close after the answer */
			px_fail(px, 413);
			return;
		}
		if (px->req_done)
			px_connect_next(px);
		return;
	}
	/* not before the request head went out (the conn may still be connecting) */
	if (px->up && px->phase >= PX_WAIT && !px->req_done)
		px_take_body(px, false);
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
