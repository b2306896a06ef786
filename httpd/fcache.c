/*
 * httpd/fcache.c: the per-worker file cache, small files whole and large
 * ones as metadata (see fcache.h for the consistency rules). Direct-mapped: a colliding path replaces the slot.
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
	http_fentry_unref(w->fcache[slot]);
	w->fcache[slot] = NULL;
}

struct http_fentry *http_fcache_get(struct http_worker *w, const struct http_site *site,
                                    const char *path, size_t len,
                                    const struct timeval *iteration)
{
	if (len >= HTTP_FCACHE_PATH_MAX)
		return NULL;
	uint32_t h = path_hash(site->gen, path, len);
	unsigned slot = h % HTTP_FCACHE_SLOTS;
	struct http_fentry *e = w->fcache[slot];
	if (!e || e->hash != h || e->gen != site->gen || e->path_len != len ||
	    memcmp(e->path, path, len) != 0)
		return NULL;
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
	unsigned slot = e->hash % HTTP_FCACHE_SLOTS;
	drop(w, slot);
	w->fcache[slot] = e;
}

void http_fcache_free(struct http_worker *w)
{
	for (unsigned i = 0; i < HTTP_FCACHE_SLOTS; i++)
		drop(w, i);
}
