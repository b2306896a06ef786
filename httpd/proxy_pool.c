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

/* A worker's idle conns of one pool, most recently idle first. Per pool so
 * that taking and putting back (once per request on a keep-alive upstream)
 * cost the same whatever the worker holds for other pools. A list whose
 * pool is gone (an older configuration) is reused once it is empty. */
struct http_idle_list {
	struct http_idle_list *next;
	struct http_idle *head;
	uint64_t pool_id;
	unsigned n;
};

struct http_idle {
	struct conn *c;
	struct http_idle_list *list;
	struct http_worker *w;
	struct http_idle *next, *prev;
	size_t server;
};

/* The worker's list for POOL_ID; CREATE: made (or an empty one reused) if missing. */
static struct http_idle_list *idle_list(struct http_worker *w, uint64_t pool_id, bool create)
{
	struct http_idle_list *empty = NULL;
	for (struct http_idle_list *l = w->idle; l; l = l->next) {
		if (l->pool_id == pool_id)
			return l;
		if (!empty && l->n == 0)
			empty = l;
	}
	if (!create)
		return NULL;
	if (empty) {
		empty->pool_id = pool_id;
		return empty;
	}
	struct http_idle_list *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->pool_id = pool_id;
	l->next = w->idle;
	w->idle = l;
	return l;
}

static void idle_unlink(struct http_idle *e)
{
	struct http_worker *w = e->w;
	struct http_idle_list *l = e->list;
	if (e->prev)
		e->prev->next = e->next;
	else
		l->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	l->n--;
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
	struct http_idle_list *l = idle_list(px->s->w, px->pool->id, false);
	if (!l || !l->head)
		return NULL;
	int64_t now = px_now_ms();
	for (struct http_idle *e = l->head; e; e = e->next) {
		if (e->server >= px->pool->nservers || conn_is_closing(e->c) ||
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
	/* A draining worker (SIGTERM) keeps nothing: it exits once its conns are gone. */
	if (px->server < 0 || conn_is_closing(c) || conn_in_len(c) > 0 || c->worker->draining)
		return false;
	struct http_idle_list *l = idle_list(w, px->pool->id, true);
	if (!l || l->n >= px->pool->keepalive)
		return false;
	struct http_idle *e = w->idle_spare;
	if (e)
		w->idle_spare = e->next;
	else if (!(e = malloc(sizeof(*e))))
		return false;
	e->c = c;
	e->w = w;
	e->list = l;
	e->server = (size_t)px->server;
	e->prev = NULL;
	e->next = l->head;
	if (l->head)
		l->head->prev = e;
	l->head = e;
	l->n++;
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
		struct http_idle_list *l = w->idle;
		while (l->head) {
			struct http_idle *e = l->head;
			struct conn *c = e->c;
			c->proto = NULL;
			idle_unlink(e);
			conn_abort(c);
		}
		w->idle = l->next;
		free(l);
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
