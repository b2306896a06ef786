/*
 * httpd/rcache.c: the shared response cache (contract in rcache.h).
 */
#include "rcache.h"
#include "triad/strlit.h"
#include "uphead.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>


struct shard {
	pthread_mutex_t lock;
	struct http_rentry *bucket[HTTP_RCACHE_BUCKETS];
	struct http_rentry *lru_head, *lru_tail; /* head: most recently used */
	struct http_rfill *fills;
};

/* The entries, shared by every generation of the configuration that has a
 * cache: a reload (SIGHUP) keeps them. */
struct store {
	unsigned handles; /* generations using it, under stores_lock */
	atomic_uint_least64_t used;
	atomic_uint_least64_t clock; /* stamps each use (LRU across shards) */
	struct shard shards[HTTP_RCACHE_SHARDS];
};

/* One generation's view: the shared store with this generation's bounds. */
struct http_rcache {
	struct store *st;
	uint64_t max, max_entry;
};

static pthread_mutex_t stores_lock = PTHREAD_MUTEX_INITIALIZER;
static struct store *live; /* the store a new generation joins */

static uint64_t hash_key(const char *k, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)k[i]) * 1099511628211ull;
	return h ^ (h >> 29);
}

static struct shard *shard_of(struct http_rcache *rc, uint64_t h)
{
	return &rc->st->shards[h % HTTP_RCACHE_SHARDS];
}

static void store_free(struct store *st)
{
	for (size_t i = 0; i < HTTP_RCACHE_SHARDS; i++) {
		struct shard *s = &st->shards[i];
		for (struct http_rentry *e = s->lru_head, *n; e; e = n) {
			n = e->lnext;
			http_rentry_unref(e);
		}
		/* fills and waiters belong to requests, all gone with the generations */
		pthread_mutex_destroy(&s->lock);
	}
	free(st);
}

struct http_rcache *http_rcache_new(uint64_t bytes)
{
	struct http_rcache *rc = calloc(1, sizeof(*rc));
	if (!rc)
		return NULL;
	pthread_mutex_lock(&stores_lock);
	if (!live && (live = calloc(1, sizeof(*live))))
		for (size_t i = 0; i < HTTP_RCACHE_SHARDS; i++)
			pthread_mutex_init(&live->shards[i].lock, NULL);
	if (live)
		live->handles++;
	rc->st = live;
	pthread_mutex_unlock(&stores_lock);
	if (!rc->st) {
		free(rc);
		return NULL;
	}
	/* A smaller bound than the last generation's: its first insert evicts
	 * down to it (the older generation, still finishing, keeps its own). */
	rc->max = bytes;
	rc->max_entry = bytes / 4;
	return rc;
}

uint64_t http_rcache_max_entry(const struct http_rcache *rc)
{
	return rc->max_entry;
}

void http_rcache_free(struct http_rcache *rc)
{
	if (!rc)
		return;
	pthread_mutex_lock(&stores_lock);
	struct store *st = --rc->st->handles == 0 ? rc->st : NULL;
	if (st && live == st)
		live = NULL; /* the cache was switched off (cache = 0), or the process ends */
	pthread_mutex_unlock(&stores_lock);
	if (st)
		store_free(st);
	free(rc);
}

size_t http_rcache_key(const struct http_request *r, bool tls, const char *pool, char *buf,
                       size_t cap)
{
	/* no printf: this runs for every request that may be a hit */
	const char *scheme = tls ? " https://" : " http://";
	size_t sl = tls ? sizeof(" https://") - 1 : sizeof(" http://") - 1;
	size_t nl = strlen(pool), hl = r->host.p ? r->host.len : 0;
	size_t pl = r->path.p ? r->path.len : 0, ql = r->query.p ? r->query.len + 1 : 0;
	if (nl + sl + hl + pl + ql >= cap)
		return 0;
	memcpy(buf, pool, nl);
	memcpy(buf + nl, scheme, sl);
	size_t o = nl + sl;
	for (size_t i = 0; i < hl; i++)
		buf[o++] = (char)http_lower((unsigned char)r->host.p[i]);
	if (pl)
		memcpy(buf + o, r->path.p, pl);
	o += pl;
	if (ql) {
		buf[o] = '?';
		memcpy(buf + o + 1, r->query.p, ql - 1);
		o += ql;
	}
	buf[o] = '\0';
	return o;
}

struct http_rentry *http_rentry_new(const char *key, size_t key_len)
{
	struct http_rentry *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->key = malloc(key_len + 1);
	if (!e->key) {
		free(e);
		return NULL;
	}
	memcpy(e->key, key, key_len);
	e->key[key_len] = '\0';
	e->key_len = key_len;
	e->hash = hash_key(key, key_len);
	e->last_modified = -1;
	atomic_init(&e->refs, 1);
	return e;
}

void http_rentry_ref(struct http_rentry *e)
{
	atomic_fetch_add(&e->refs, 1);
}

void http_rentry_unref(struct http_rentry *e)
{
	if (atomic_fetch_sub(&e->refs, 1) != 1)
		return;
	for (unsigned i = 0; i < e->nvary; i++) {
		free(e->vary_name[i]);
		free(e->vary_value[i]);
	}
	free(e->key);
	if (e->resp) {
		free(e->resp);
	} else { /* still being filled */
		free(e->fields);
		free(e->body);
	}
	free(e->etag);
	free(e);
}

/* The request's value of NAME, its lines joined with ", ", compared with V. */
static bool same_value(const struct http_request *r, const char *name, const char *v)
{
	size_t nl = strlen(name), vo = 0;
	bool any = false;
	for (unsigned i = 0; i < r->nfields; i++) {
		const struct http_field *f = &r->fields[i];
		if (f->name.len != nl || !http_eq_ci(f->name.p, f->name.len, name))
			continue;
		if (!v)
			return false;
		if (any) {
			if (strncmp(v + vo, STRLIT(", ")) != 0)
				return false;
			vo += 2;
		}
		if (strncmp(v + vo, f->value.p, f->value.len) != 0)
			return false;
		vo += f->value.len;
		any = true;
	}
	return any ? v[vo] == '\0' : v == NULL;
}

bool http_rentry_vary_ok(const struct http_rentry *e, const struct http_request *r)
{
	for (unsigned i = 0; i < e->nvary; i++)
		if (!same_value(r, e->vary_name[i], e->vary_value[i]))
			return false;
	return true;
}

static struct http_rentry **find(struct shard *s, uint64_t h, const char *key, size_t len)
{
	struct http_rentry **pp = &s->bucket[(h / HTTP_RCACHE_SHARDS) % HTTP_RCACHE_BUCKETS];
	for (; *pp; pp = &(*pp)->hnext)
		if ((*pp)->hash == h && (*pp)->key_len == len && memcmp((*pp)->key, key, len) == 0)
			return pp;
	return pp;
}

static void lru_unlink(struct shard *s, struct http_rentry *e)
{
	if (e->lprev)
		e->lprev->lnext = e->lnext;
	else
		s->lru_head = e->lnext;
	if (e->lnext)
		e->lnext->lprev = e->lprev;
	else
		s->lru_tail = e->lprev;
	e->lprev = e->lnext = NULL;
}

static void lru_front(struct shard *s, struct http_rentry *e)
{
	e->lnext = s->lru_head;
	e->lprev = NULL;
	if (s->lru_head)
		s->lru_head->lprev = e;
	s->lru_head = e;
	if (!s->lru_tail)
		s->lru_tail = e;
}

/* Unlinks E from hash and LRU and drops the cache's reference (lock held). */
static void drop(struct http_rcache *rc, struct shard *s, struct http_rentry *e)
{
	struct http_rentry **pp = find(s, e->hash, e->key, e->key_len);
	if (*pp == e)
		*pp = e->hnext;
	lru_unlink(s, e);
	atomic_fetch_sub(&rc->st->used, e->size);
	http_rentry_unref(e);
}

static struct http_rfill *find_fill(struct shard *s, uint64_t h, const char *key, size_t len)
{
	for (struct http_rfill *f = s->fills; f; f = f->next)
		if (f->hash == h && f->key_len == len && memcmp(f->key, key, len) == 0)
			return f;
	return NULL;
}

static struct http_rfill *new_fill(struct http_rcache *rc, struct shard *s, uint64_t h,
                                   const char *key, size_t len)
{
	struct http_rfill *f = calloc(1, sizeof(*f));
	if (!f || !(f->key = malloc(len))) {
		free(f);
		return NULL;
	}
	memcpy(f->key, key, len);
	f->key_len = len;
	f->hash = h;
	f->cache = rc;
	f->next = s->fills;
	s->fills = f;
	return f;
}

enum http_rlookup http_rcache_lookup(struct http_rcache *rc, const char *key, size_t key_len,
                                     const struct http_request *r, int64_t now, bool want_fill,
                                     struct http_rwait *w, struct http_rentry **e,
                                     struct http_rfill **fill)
{
	uint64_t h = hash_key(key, key_len);
	struct shard *s = shard_of(rc, h);
	enum http_rlookup res = HTTP_RLOOKUP_MISS;
	*e = NULL;
	*fill = NULL;
	pthread_mutex_lock(&s->lock);
	struct http_rentry *found = *find(s, h, key, key_len);
	if (found) {
		if (!http_rentry_vary_ok(found, r)) {
			res = HTTP_RLOOKUP_VARY_MISS;
		} else {
			http_rentry_ref(found);
			*e = found;
			lru_unlink(s, found);
			lru_front(s, found);
			found->used_seq = atomic_fetch_add(&rc->st->clock, 1) + 1;
			if (now < found->expires) {
				pthread_mutex_unlock(&s->lock);
				return HTTP_RLOOKUP_HIT;
			}
			res = HTTP_RLOOKUP_STALE;
		}
	}
	if (want_fill) {
		struct http_rfill *f = find_fill(s, h, key, key_len);
		if (f && res != HTTP_RLOOKUP_VARY_MISS && w) {
			w->fill = f;
			w->shard = (unsigned)(h % HTTP_RCACHE_SHARDS);
			w->next = f->waiters;
			f->waiters = w;
			pthread_mutex_unlock(&s->lock);
			if (*e) {
				http_rentry_unref(*e);
				*e = NULL;
			}
			return HTTP_RLOOKUP_WAIT;
		}
		if (!f)
			*fill = new_fill(rc, s, h, key, key_len);
	}
	pthread_mutex_unlock(&s->lock);
	return res;
}

void http_rcache_unwait(struct http_rcache *rc, struct http_rwait *w)
{
	struct shard *s = &rc->st->shards[w->shard];
	pthread_mutex_lock(&s->lock);
	struct http_rfill *f = w->fill;
	if (f) {
		for (struct http_rwait **pp = &f->waiters; *pp; pp = &(*pp)->next)
			if (*pp == w) {
				*pp = w->next;
				break;
			}
		w->fill = NULL;
	}
	pthread_mutex_unlock(&s->lock);
}

/* Evicts until USED fits: each time the shard tail with the oldest stamp (the
 * least recently used entry of the cache), never KEEP. No lock held on entry. */
static void evict(struct http_rcache *rc, const struct http_rentry *keep)
{
	while (atomic_load(&rc->st->used) > rc->max) {
		struct shard *best = NULL;
		uint64_t oldest = UINT64_MAX;
		for (size_t i = 0; i < HTTP_RCACHE_SHARDS; i++) {
			struct shard *s = &rc->st->shards[i];
			pthread_mutex_lock(&s->lock);
			struct http_rentry *t = s->lru_tail;
			if (t == keep && t)
				t = t->lprev;
			if (t && t->used_seq < oldest) {
				oldest = t->used_seq;
				best = s;
			}
			pthread_mutex_unlock(&s->lock);
		}
		if (!best)
			return;
		pthread_mutex_lock(&best->lock);
		struct http_rentry *t = best->lru_tail;
		if (t == keep && t)
			t = t->lprev;
		if (t && t->used_seq == oldest)
			drop(rc, best, t);
		pthread_mutex_unlock(&best->lock); /* used since: look again */
	}
}

void http_rcache_fill_end(struct http_rfill *f, struct http_rentry *e)
{
	struct http_rcache *rc = f->cache;
	struct shard *s = shard_of(rc, f->hash);
	pthread_mutex_lock(&s->lock);
	for (struct http_rfill **pp = &s->fills; *pp; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	if (e) {
		struct http_rentry **pp = find(s, e->hash, e->key, e->key_len);
		if (*pp)
			drop(rc, s, *pp);
		pp = find(s, e->hash, e->key, e->key_len);
		e->hnext = NULL;
		*pp = e;
		lru_front(s, e);
		e->used_seq = atomic_fetch_add(&rc->st->clock, 1) + 1;
		atomic_fetch_add(&rc->st->used, e->size);
		http_rentry_ref(e); /* ours until the eviction below is done */
	}
	for (struct http_rwait *w = f->waiters, *n; w; w = n) {
		n = w->next;
		w->fill = NULL;
		event_active(w->ev, EV_TIMEOUT, 1); /* thread-safe: evthread_use_pthreads */
	}
	pthread_mutex_unlock(&s->lock);
	free(f->key);
	free(f);
	if (e) {
		evict(rc, e);
		http_rentry_unref(e);
	}
}
