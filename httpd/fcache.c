/*
 * httpd/fcache.c: the per-worker file cache, small files whole and large
 * ones as metadata (see fcache.h for the consistency rules). Set
 * associative: a path hashes to one set of HTTP_FCACHE_WAYS slots; a new
 * entry takes a free slot of its set, else the set's least recently used
 * one. The entries held are bounded by HTTP_FCACHE_BYTES per worker: an
 * entry that would pass the bound is not cached. Why not direct-mapped with
 * 128 slots as before: 1,000 sites with one hot file each thrashed it
 * (every request an open, a read and a close; issue 12's 10,000-site
 * benchmark ran at 0.35-0.58x of one site).
 * Entries are reference counted so a response still being sent keeps its
 * body when the slot is reused or invalidated.
 */
#include "fcache.h"
#include "session.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint32_t path_hash(uint64_t gen, const char *p, size_t n)
{
	uint32_t h = 2166136261u ^ (uint32_t)gen; /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 16777619u;
	return h;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec &&
	       S_ISREG(b->st_mode);
}

bool http_fentry_same(const struct http_fentry *e, const struct stat *st)
{
	return same_file(&e->st, st);
}

void http_fentry_unref(struct http_fentry *e)
{
	if (e && --e->refs == 0)
		free(e);
}

static void drop(struct http_worker *w, unsigned slot)
{
	struct http_fentry *e = w->fcache[slot];
	if (!e)
		return;
	w->fcache_bytes -= e->cost;
	w->fcache[slot] = NULL;
	http_fentry_unref(e);
}

/* The first slot of the set of hash H. */
static unsigned set_of(uint32_t h)
{
	return h % (HTTP_FCACHE_SLOTS / HTTP_FCACHE_WAYS) * HTTP_FCACHE_WAYS;
}

/* The slot of the entry for (GEN, PATH) in its set, or -1. The hashes are
 * compared in the worker's own array, so only a likely match is touched. */
static int find(const struct http_worker *w, uint32_t h, uint64_t gen, const char *path,
                size_t len)
{
	unsigned set = set_of(h);
	for (unsigned i = set; i < set + HTTP_FCACHE_WAYS; i++) {
		const struct http_fentry *e = w->fcache[i];
		if (w->fcache_hash[i] == h && e && e->gen == gen && e->path_len == len &&
		    memcmp(e->path, path, len) == 0)
			return (int)i;
	}
	return -1;
}

struct http_fentry *http_fcache_get(struct http_worker *w, const struct http_site *site,
                                    const char *path, size_t len,
                                    const struct timeval *iteration)
{
	if (len >= HTTP_FCACHE_PATH_MAX)
		return NULL;
	uint32_t h = path_hash(site->gen, path, len);
	int found = find(w, h, site->gen, path, len);
	if (found < 0)
		return NULL;
	unsigned slot = (unsigned)found;
	struct http_fentry *e = w->fcache[slot];
	bool checked = iteration && e->checked.tv_sec == iteration->tv_sec &&
	               e->checked.tv_usec == iteration->tv_usec;
	struct stat st;
	if (!checked &&
	    (fstatat(site->docroot.fd, e->path, &st, 0) < 0 || !same_file(&e->st, &st))) {
		drop(w, slot); /* changed or gone: the confined open decides */
		return NULL;
	}
	if (iteration)
		e->checked = *iteration;
	e->used = ++w->fcache_clock;
	e->refs++;
	return e;
}

void http_fcache_put(struct http_worker *w, const struct http_site *site, const char *path,
                     size_t len, int fd, const struct stat *st, const char *ctype,
                     bool compressible, bool vary, int64_t now)
{
	if (len >= HTTP_FCACHE_PATH_MAX || !S_ISREG(st->st_mode) || st->st_size < 0 ||
	    st->st_mtim.tv_sec > now - HTTP_FCACHE_FRESH_S ||
	    st->st_ctim.tv_sec > now - HTTP_FCACHE_FRESH_S)
		return;
	bool has_body = st->st_size <= HTTP_FCACHE_MAX_BODY;
	size_t size = has_body ? (size_t)st->st_size : 0;
	struct http_fentry *e = malloc(sizeof(*e) + size);
	if (!e)
		return;
	size_t got = 0;
	while (got < size) {
		ssize_t n = pread(fd, e->body + got, size - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(e);
			return;
		}
		got += (size_t)n;
	}
	/* The content must belong to these validators: re-check after reading. */
	struct stat after;
	if (has_body && (fstat(fd, &after) < 0 || !same_file(st, &after))) {
		free(e);
		return;
	}
	e->refs = 1;
	e->has_body = has_body;
	e->gen = site->gen;
	e->hash = path_hash(site->gen, path, len);
	e->st = *st;
	e->checked = (struct timeval){0, 0}; /* read this iteration, checked by the next use */
	e->compressible = compressible;
	e->vary = vary;
	e->vary_checked = now;
	snprintf(e->ctype, sizeof(e->ctype), "%s", ctype);
	e->etag_len = http_etag_format(e->etag, (uint64_t)st->st_ino, (uint64_t)st->st_size,
	                               st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
	if (!date_http_format(st->st_mtim.tv_sec, e->lastmod)) {
		free(e);
		return;
	}
	e->path_len = len;
	memcpy(e->path, path, len);
	e->path[len] = '\0';
	e->cost = sizeof(*e) + size;
	e->used = ++w->fcache_clock;
	/* The slot: this key's own (a stale copy), else a free one, else the LRU. */
	int found = find(w, e->hash, e->gen, path, len);
	unsigned set = set_of(e->hash), slot = found >= 0 ? (unsigned)found : set;
	for (unsigned i = set; found < 0 && i < set + HTTP_FCACHE_WAYS; i++) {
		if (!w->fcache[i]) {
			slot = i;
			break;
		}
		if (w->fcache[i]->used < w->fcache[slot]->used)
			slot = i;
	}
	drop(w, slot);
	if (w->fcache_bytes + e->cost > HTTP_FCACHE_BYTES) {
		free(e); /* full: the entries there stay until their sets need the room */
		return;
	}
	w->fcache[slot] = e;
	w->fcache_hash[slot] = e->hash;
	w->fcache_bytes += e->cost;
}

void http_fcache_free(struct http_worker *w)
{
	for (unsigned i = 0; i < HTTP_FCACHE_SLOTS; i++)
		drop(w, i);
}
