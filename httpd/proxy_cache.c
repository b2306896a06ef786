/*
 * httpd/proxy_cache.c: the response cache on the proxy's path (rcache.c
 * holds the entries): the lookup before a request is forwarded (a hit, a
 * wait for another request's fill of the same key, or a miss that fills),
 * hits answered from the entry with the conditional rules of RFC 9110 §13,
 * a response stored while it streams to the client, and stale-if-error
 * (RFC 5861 §4). Every proxied response says what happened in Cache-Status
 * (RFC 9211).
 */
#include "proxy_exchange.h"
#include "conf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <event2/event.h>

#include "conditional.h"
#include "triad/conn.h"
#include "triad/date.h"
#include "triad/duration.h"
#include "triad/iobuf.h"
#include "triad/strlit.h"

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

/*
 * Answers the request from entry E (a hit, or stale-if-error) with
 * CACHE_STATUS (CS_LEN bytes, "triad; ..."). Two pieces, like a static file
 * from the file cache: the lines of this response (status, Date, Server,
 * Age, Cache-Status, Connection, nosniff, HSTS, the rules' fields) copied,
 * then the entry's prebuilt fields, Content-Length, blank line and body by
 * reference (no copy, no formatting). A 304 or 412 from the entry's
 * validators sends its own shorter tail.
 */
static void serve_entry(struct http_proxy *px, struct http_rentry *e, const char *cache_status,
                        size_t cs_len)
{
	struct http_session *s = px->s;
	const struct http_request *r = &s->t->req;
	struct http_exchange *x = &s->t->x;
	int64_t now = wall_now(s);
	int status = e->status;
	if (status == 200 && (r->if_match.n || r->if_none_match.n ||
	                      (e->last_modified >= 0 && (r->if_modified_since.len ||
	                                                 r->if_unmodified_since.len)))) {
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
		enum http_cond c = http_cond_evaluate(&in, &range_applies);
		if (c == HTTP_COND_NOT_MODIFIED)
			status = 304;
		else if (c == HTTP_COND_PRECONDITION_FAILED)
			status = 412;
	}
	char buf[HTTP_RESPONSE_HEAD_MAX];
	struct http_head h = {buf, 0, sizeof(buf), false};
	bool whole = status == e->status; /* the prebuilt piece applies */
	if (!whole || status == 204)
		x->head_only = true;
	http_head_start(s, &h, status);
	int64_t age = now > e->stored ? now - e->stored : 0;
	http_head_str(&h, "Age: ");
	http_head_u64(&h, (uint64_t)age);
	http_head_add(&h, STRLIT("\r\nCache-Status: "));
	http_head_add(&h, cache_status, cs_len);
	http_head_add(&h, STRLIT("\r\n"));
	http_head_session_fields(s, &h);
	if (!whole) {
		/* 304 keeps the fields a 200 would have (RFC 9110 §15.4.5); 412 none */
		if (status == 304)
			http_head_add(&h, e->fields, e->fields_len);
		http_head_add(&h, STRLIT("\r\n"));
	}
	http_head_send(s, &h);
	if (whole) {
		/* the entry's own memory, held by a reference until sent */
		size_t len = e->head_len + (x->head_only ? 0 : e->body_len);
		http_rentry_ref(e);
		if (conn_write_ref(s->c, e->resp, len, entry_unref_cb, e) < 0) {
			http_rentry_unref(e);
			x->close = true;
		} else {
			s->c->bytes_out += e->head_len;
			if (!x->head_only)
				x->sent = e->body_len;
		}
	}
	px->head_sent = true;
}

/* The stored fields of a response: the end-to-end ones but Age, as
 * "Name: value\r\n" lines; the entry's ETag and Last-Modified on the way. */
static bool store_fields(struct http_rentry *e, const struct http_field *fields, unsigned n,
                         int64_t now)
{
	size_t len = 0;
	bool hop[HTTP_HEADER_FIELDS_MAX];
	http_hop_marks(fields, n, hop);
	for (unsigned i = 0; i < n; i++)
		if (!px_skip_response_field(&fields[i], hop[i]) && !http_field_is(&fields[i], "age"))
			len += fields[i].name.len + fields[i].value.len + 4;
	if (!(e->fields = malloc(len + 1)))
		return false;
	char *p = e->fields;
	for (unsigned i = 0; i < n; i++) {
		const struct http_field *fl = &fields[i];
		if (px_skip_response_field(fl, hop[i]) || http_field_is(fl, "age"))
			continue;
		memcpy(p, fl->name.p, fl->name.len);
		p += fl->name.len;
		*p++ = ':';
		*p++ = ' ';
		memcpy(p, fl->value.p, fl->value.len);
		p += fl->value.len;
		*p++ = '\r';
		*p++ = '\n';
		if (http_field_is(fl, "etag") && !e->etag) {
			e->etag = strndup(fl->value.p, fl->value.len);
			e->etag_len = e->etag ? fl->value.len : 0;
		}
		if (http_field_is(fl, "last-modified") &&
		    !date_http_parse(fl->value.p, fl->value.len, now, &e->last_modified))
			e->last_modified = -1;
	}
	e->fields_len = len;
	return true;
}

/* The request's values of the fields the response varies on (RFC 9111 §4.1):
 * every line of a field joined by ", "; NULL when the request had none. */
static void store_vary(struct http_rentry *e, const struct http_cache_decision *d,
                       const struct http_request *r)
{
	for (unsigned i = 0; i < d->nvary; i++) {
		/* lower case: matched with http_eq_ci, which wants a lower-case name */
		e->vary_name[i] = strndup(d->vary[i].p, d->vary[i].len);
		for (char *c = e->vary_name[i]; c && *c; c++)
			*c = (char)http_lower((unsigned char)*c);
		const char *name = e->vary_name[i] ? e->vary_name[i] : "";
		size_t len = 0;
		unsigned lines = 0;
		for (unsigned k = 0; k < r->nfields; k++)
			if (http_eq_ci(r->fields[k].name.p, r->fields[k].name.len, name)) {
				len += r->fields[k].value.len + (lines ? 2 : 0);
				lines++;
			}
		if (lines && (e->vary_value[i] = malloc(len + 1))) {
			char *p = e->vary_value[i];
			for (unsigned k = 0, got = 0; k < r->nfields; k++) {
				if (!http_eq_ci(r->fields[k].name.p, r->fields[k].name.len, name))
					continue;
				if (got++) {
					memcpy(p, ", ", 2);
					p += 2;
				}
				memcpy(p, r->fields[k].value.p, r->fields[k].value.len);
				p += r->fields[k].value.len;
			}
			*p = '\0';
		}
		e->nvary = i + 1;
	}
}

void px_cache_head(struct http_proxy *px, int status, const struct http_field *fields,
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
		    (px->store_body = iobuf_new(http_rcache_max_entry(rc)))) {
			struct http_rentry *e = px->store;
			stored = store_fields(e, fields, n, now);
			store_vary(e, &d, r);
			e->status = status;
			e->stored = now - d.age; /* so a hit's Age counts the age it came with */
			e->expires = now + d.ttl;
			e->stale_if_error = d.stale_if_error;
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

void px_cache_body(struct http_proxy *px, const void *p, size_t n)
{
	if (!px->store)
		return;
	/* past the entry limit (the iobuf's bound): not stored after all */
	if (iobuf_add(px->store_body, p, n) < 0) {
		http_rentry_unref(px->store);
		px->store = NULL;
		http_rcache_fill_end(px->fill, NULL);
		px->fill = NULL;
	}
}

void px_cache_complete(struct http_proxy *px)
{
	struct http_rentry *e = px->store;
	if (!e)
		return;
	px->store = NULL;
	/* the prebuilt piece serve_entry sends: fields, framing, blank line, body */
	char cl[48] = "";
	size_t cl_len = 0;
	e->body_len = iobuf_len(px->store_body);
	if (e->status != 204)
		cl_len = (size_t)snprintf(cl, sizeof(cl), "Content-Length: %zu\r\n", e->body_len);
	e->head_len = e->fields_len + cl_len + 2;
	char *resp = malloc(e->head_len + e->body_len);
	if (!resp) {
		http_rentry_unref(e);
		http_rcache_fill_end(px->fill, NULL);
		px->fill = NULL;
		return;
	}
	memcpy(resp, e->fields, e->fields_len);
	memcpy(resp + e->fields_len, cl, cl_len);
	resp[e->fields_len + cl_len] = '\r'; /* the head's end: not a string */
	resp[e->fields_len + cl_len + 1] = '\n';
	iobuf_copy(px->store_body, resp + e->head_len, e->body_len);
	iobuf_consume(px->store_body, e->body_len);
	free(e->fields);
	e->resp = resp;
	e->fields = resp;
	e->body = resp + e->head_len;
	e->size = e->head_len + e->body_len + e->key_len + e->etag_len + sizeof(*e);
	http_rcache_fill_end(px->fill, e); /* the cache takes our reference */
	px->fill = NULL;
}

bool px_serve_stale(struct http_proxy *px)
{
	struct http_rentry *e = px->stale;
	if (!e || px->head_sent)
		return false;
	int64_t now = wall_now(px->s);
	if (now - e->expires >= e->stale_if_error)
		return false;
	serve_entry(px, e, STRLIT("triad; fwd=stale; detail=stale-if-error"));
	return true;
}

static void wait_cb(evutil_socket_t fd, short what, void *arg);

bool px_cache_lookup(struct http_proxy *px, bool may_wait)
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
	                       may_wait && want_fill && px->wait.ev ? &px->wait : NULL, &e, &fill);
	switch (res) {
	case HTTP_RLOOKUP_HIT: {
		char cs[64];
		struct http_head c = {cs, 0, sizeof(cs), false};
		http_head_str(&c, "triad; hit; ttl=");
		http_head_u64(&c, (uint64_t)(e->expires - now)); /* fresh: positive */
		serve_entry(px, e, cs, c.len);
		http_rentry_unref(e);
		px_done(px);
		return true;
	}
	case HTTP_RLOOKUP_WAIT: {
		struct timeval tv = duration_tv(HTTP_RCACHE_LOCK_MS);
		event_add(px->wait.ev, &tv);
		px->phase = PX_CACHEWAIT;
		px->waiting = true;
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
	px->waiting = false;
	px->collapsed = true;
	if (!px_cache_lookup(px, false))
		px_forward(px);
}
