/*
 * httpd/rcache.h: the response cache of proxied responses (interface.md,
 * "Application servers (httpd)", Cache), shared by every worker thread.
 *
 * - One store of entries per process, kept across reloads (SIGHUP): each
 *   configuration generation with a cache gets a handle (http_rcache_new)
 *   on the same store, with its own bound; the store goes when the last
 *   generation using it does (the cache switched off, or the process ends).
 *   Keys name the pool (http_rcache_key), so a path routed to another pool
 *   after a reload is a miss, never the old pool's answer; entries of a pool
 *   that no longer exists are never hit again and leave by LRU.
 * - Sharded: HTTP_RCACHE_SHARDS hash tables, each with its own mutex and its
 *   own LRU list; a lookup locks one shard only, for a hash probe and a list
 *   move, so workers never queue on one global lock. The byte budget is
 *   global (an atomic count). Every use stamps the entry from one global
 *   counter; an insert over the budget evicts the entry with the oldest
 *   stamp among the shards' LRU tails, which is the least recently used
 *   entry of the whole cache.
 * - Entries are immutable once inserted and reference counted: a hit takes a
 *   reference and serves the body straight from the entry's memory (zero
 *   copy, like the small-file cache); replacing or evicting an entry only
 *   drops the cache's reference.
 * - Collapsing: the first miss on a key becomes its filler; later misses on
 *   the same key wait (each on an event of its own worker's loop, woken from
 *   the filler's thread) until the filler inserts or gives up, at most
 *   HTTP_RCACHE_LOCK_MS; then they look again and forward if still missing.
 */
#ifndef TRIAD_HTTPD_RCACHE_H
#define TRIAD_HTTPD_RCACHE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cachepolicy.h"
#include "parse.h"
#include "triad/limits.h"


struct event;
struct http_rcache;

struct http_rentry {
	atomic_int refs;
	uint64_t hash;
	char *key;
	size_t key_len;
	int status;
	/* The stored response but its first lines, prebuilt when the entry is
	 * completed, so a hit queues its own few lines and then this one piece:
	 * the end-to-end fields ("Name: value\r\n" each), Content-Length (not
	 * for 204), the blank line, the body. fields and body point into it;
	 * head_len is where the body starts. */
	char *resp;
	size_t head_len;
	char *fields;
	size_t fields_len;
	char *body;
	size_t body_len;
	int64_t stored, expires, stale_if_error; /* seconds since the epoch / seconds */
	char *etag;      /* NULL: none (quotes included) */
	size_t etag_len;
	int64_t last_modified; /* -1: none */
	unsigned nvary;
	char *vary_name[HTTP_CACHE_VARY_MAX];  /* lower case */
	char *vary_value[HTTP_CACHE_VARY_MAX]; /* the request's, joined; NULL: absent */
	size_t size;     /* what it counts against the budget */
	/* private to rcache.c: hash chain, LRU and last use, under the shard lock */
	struct http_rentry *hnext, *lprev, *lnext;
	uint64_t used_seq;
};

/* A waiter for a key being filled (one per collapsed request). */
struct http_rwait {
	struct event *ev; /* of the waiter's loop; activated when the fill ends */
	struct http_rwait *next;
	struct http_rfill *fill; /* NULL once woken; read and written under the shard's lock */
	unsigned shard;
};

/* A fill in progress: the first miss on a key. */
struct http_rfill {
	struct http_rcache *cache;
	uint64_t hash;
	char *key;
	size_t key_len;
	struct http_rwait *waiters;
	struct http_rfill *next; /* the shard's fills */
};

struct http_rcache *http_rcache_new(uint64_t bytes);
void http_rcache_free(struct http_rcache *rc);
uint64_t http_rcache_max_entry(const struct http_rcache *rc);

/* The cache key of a request forwarded to POOL into BUF: "POOL scheme://host/path?query"
 * (the host in lower case); 0 when it does not fit in CAP. */
size_t http_rcache_key(const struct http_request *r, bool tls, const char *pool, char *buf,
                       size_t cap);

enum http_rlookup {
	HTTP_RLOOKUP_MISS,      /* no entry: *fill set when this request should fill it */
	HTTP_RLOOKUP_HIT,       /* *e fresh (a reference) */
	HTTP_RLOOKUP_STALE,     /* *e stale (a reference, for stale-if-error) */
	HTTP_RLOOKUP_VARY_MISS, /* an entry for other Vary values: forward (*fill may be set) */
	HTTP_RLOOKUP_WAIT,      /* another request fills this key: wait on W (registered) */
};

/*
 * Looks KEY up for request R at NOW. On MISS / VARY_MISS / STALE with
 * WANT_FILL, *fill is this request's fill (or NULL when another request
 * fills the key: then WAIT, and W is registered with it). W->ev must be set.
 */
enum http_rlookup http_rcache_lookup(struct http_rcache *rc, const char *key, size_t key_len,
                                     const struct http_request *r, int64_t now, bool want_fill,
                                     struct http_rwait *w, struct http_rentry **e,
                                     struct http_rfill **fill);
/* Stops waiting (the waiter goes away first). */
void http_rcache_unwait(struct http_rcache *rc, struct http_rwait *w);
/* Ends a fill: E (NULL: nothing to store) is inserted, waiters are woken. */
void http_rcache_fill_end(struct http_rfill *f, struct http_rentry *e);

/* A new entry for KEY (one reference, the caller's); NULL on memory shortage. */
struct http_rentry *http_rentry_new(const char *key, size_t key_len);
void http_rentry_ref(struct http_rentry *e);
void http_rentry_unref(struct http_rentry *e);
/* Whether E was stored for the same Vary values as R carries. */
bool http_rentry_vary_ok(const struct http_rentry *e, const struct http_request *r);

#endif
