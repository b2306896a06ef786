/*
 * httpd/proxy_pool.c: upstream connections. Each worker keeps idle
 * connections (`keepalive` per pool) to reuse; a request takes one of its
 * pool's to a server that is not marked failed, else connects to the next
 * server round robin. An idle entry names its pool by the pool's unique id
 * and its server by index: no string compare on the way, and a pool of an
 * older configuration generation never matches a newer one.
 */
#include "proxy_exchange.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "triad/conn.h"
#include "triad/limits.h"
#include "triad/server.h"

struct http_idle {
	struct conn *c;
	struct http_worker *w;
	struct http_idle *next, *prev;
	uint64_t pool_id;
	size_t server;
};

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
	/* kept for the next idle_put: a keep-alive upstream goes idle once per request */
	e->next = w->idle_spare;
	w->idle_spare = e;
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
	c->proto = NULL;
}

static const struct conn_ops idle_ops = {
    .on_read = idle_on_read,
    .on_free = idle_on_free,
};

/* An idle conn to a server of this pool that is not being skipped. */
static struct conn *idle_take(struct http_proxy *px)
{
	struct http_worker *w = px->s->w;
	int64_t now = px_now_ms();
	for (struct http_idle *e = w->idle; e; e = e->next) {
		if (e->pool_id != px->pool->id || e->server >= px->pool->nservers ||
		    conn_is_closing(e->c) ||
		    atomic_load(&px->pool->servers[e->server].failed_until) > now)
			continue;
		struct conn *c = e->c;
		px->server = (int)e->server;
		idle_unlink(e);
		c->proto = NULL;
		return c;
	}
	return NULL;
}

static bool idle_put(struct http_proxy *px, struct conn *c)
{
	struct http_worker *w = px->s->w;
	unsigned n = 0;
	for (struct http_idle *e = w->idle; e; e = e->next)
		n += e->pool_id == px->pool->id;
	/* A draining worker (SIGTERM) keeps nothing: it exits once its conns are gone. */
	if (n >= px->pool->keepalive || px->server < 0 || conn_is_closing(c) ||
	    conn_in_len(c) > 0 || c->worker->draining)
		return false;
	struct http_idle *e = w->idle_spare;
	if (e)
		w->idle_spare = e->next;
	else if (!(e = malloc(sizeof(*e))))
		return false;
	e->c = c;
	e->w = w;
	e->pool_id = px->pool->id;
	e->server = (size_t)px->server;
	e->prev = NULL;
	e->next = w->idle;
	if (w->idle)
		w->idle->prev = e;
	w->idle = e;
	w->nidle++;
	c->ops = &idle_ops;
	c->proto = e;
	uint64_t idle =
	    px->pool->timeout < HTTP_PROXY_IDLE_MAX_MS ? px->pool->timeout : HTTP_PROXY_IDLE_MAX_MS;
	conn_set_timeouts(c, idle, 0);
	conn_resume_read(c);
	return true;
}

void http_proxy_worker_fini(struct http_worker *w)
{
	while (w->idle) {
		struct http_idle *e = w->idle;
		struct conn *c = e->c;
		c->proto = NULL;
		idle_unlink(e);
		conn_abort(c);
	}
	while (w->idle_spare) {
		struct http_idle *e = w->idle_spare;
		w->idle_spare = e->next;
		free(e);
	}
	px_spares_free(w);
	px_docroot_memo_free(w);
}

void px_up_release(struct http_proxy *px, bool keep)
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

void px_connect_failed(struct http_proxy *px, const char *why)
{
	px_log_fail(px, why);
	http_pool_mark_failed(px->pool, (size_t)px->server, px_now_ms());
	px_connect_next(px);
}

void px_connect_next(struct http_proxy *px)
{
	struct http_session *s = px->s;
	px->phase = PX_CONNECT;
	if (!px->no_idle && !px->tried) {
		struct conn *c = idle_take(px);
		if (c) {
			c->ops = &px_up_ops;
			c->proto = px;
			px->up = c;
			px->reused = true;
			px->tried |= px->server < 64 ? 1ull << px->server : 0;
			px_send_request(px);
			return;
		}
	}
	int i = http_pool_pick(px->pool, px->tried, px_now_ms());
	if (i < 0) {
		/* every server tried has failed, each logged once already */
		px_fail(px, 502);
		return;
	}
	px->server = i;
	px->tried |= i < 64 ? 1ull << i : 0;
	const struct http_server *sv = &px->pool->servers[i];
	struct conn *up = conn_connect(s->c->worker, (const struct sockaddr *)&sv->ss, sv->len,
	                               px->pool->connect_timeout, &px_up_ops, px);
	if (!up) {
		px_connect_failed(px, strerror(errno));
		return;
	}
	px->up = up;
	px->reused = false;
}
