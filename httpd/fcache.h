/*
 * httpd/fcache.h: a per-worker cache of small hot files (content, type,
 * validators), so a repeated GET costs no file system call (at most one
 * fstatat) instead of open + fstat + pread + close. Larger files get an entry without their
 * bytes (has_body false): their type, validators and the precompressed-
 * sibling answer, so a repeated GET of a large file costs its confined open
 * and fstat only, not the three sibling lookups of a text file; the body
 * still leaves from the file opened for that request, and the entry is used
 * only when that file is the one it describes (http_fentry_same).
 *
 * Consistency: a request is answered from an entry only if the file at the
 * path is still the one whose content was read through the confined open
 * (fsroot): the same device, inode, size, mtime and ctime. Two ways to know:
 *
 * - Watched entries (the common case). Each worker has one inotify fd whose
 *   event runs at the loop's first priority (SERVER_PRIO_FIRST): in a loop
 *   iteration where it is ready, it runs before any connection event, and
 *   connection events wait for the next iteration. When an entry is cached,
 *   the docroot, each directory down to the file and the file itself are
 *   watched (by /proc/self/fd of descriptors opened beneath docroot, never
 *   by a path string that could be swapped), then the chain is checked
 *   again with fstatat, so a change made while the watches were being added
 *   is caught by that check and a later one by an event. Every event (a
 *   write, truncate, chmod, chown, link count change, create, delete or
 *   rename in one of those directories or on the file, a watch the kernel
 *   dropped) bumps the worker's change epoch and marks its watch with it;
 *   an entry is revalidated with fstatat before use when one of its own
 *   watches was marked since it was last found current, or after a queue
 *   overflow (events lost: every entry). So an upload to one site, or to
 *   another directory, costs the other entries a few table probes, not an
 *   fstatat each. Without events a hot file costs no system call at all.
 * - Unwatched entries (no inotify: EMFILE, ENOSPC, a symbolic link or more
 *   than HTTP_FCACHE_WATCH_DEPTH components on the path, over
 *   HTTP_FCACHE_WATCHES, /proc missing, a read error on the inotify fd) are
 *   revalidated with fstatat on the path by their first use in each
 *   event-loop iteration, as before the watches existed.
 *
 * Either way the rule holds: every request answered in one iteration was
 * sent before that iteration's epoll_wait() returned (a client pipelining
 * more requests into a connection being read is the one exception), and an
 * inotify event is queued by the system call that made the change, before
 * it returns; so a file replaced by rename, deleted, rewritten, truncated or
 * chmod-ed, or a parent directory renamed, is never served from the cache to
 * a request sent after the change: that request goes the normal way (fsroot
 * open). Not seen by the watches (nor by nginx's or lighttpd's caches): a
 * file system mounted over a directory of the path afterwards. Files
 * modified less than 2 s before they would be cached are not cached (a
 * write within the same timestamp tick could otherwise leave mtime and size
 * unchanged). The fstatat follows symlinks without the kernel's
 * RESOLVE_BENEATH, but it only ever confirms an inode that was opened
 * beneath docroot: it never yields new content.
 *
 * Precompressed siblings (.br, .zst, .gz) of a cached file are looked for,
 * for clients that accept identity only, at most once per
 * HTTP_FCACHE_SIBLING_RECHECK seconds, and for a watched entry whose
 * directory had no event since the last lookup at most once per
 * HTTP_FCACHE_SIBLING_RECHECK_WATCHED seconds: a sibling added, removed,
 * renamed or changed in that directory shows in Vary at once (after the
 * entry's first second), one changed through a hard link in another
 * directory within that time.
 */
#ifndef HTTPD_FCACHE_H
#define HTTPD_FCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/time.h>

#include "conditional.h"
#include "triad/date.h"
#include "triad/limits.h"

struct event_base;
struct http_site;
struct http_worker;

/* A worker's inotify watches (fcache.c): the fd, its event, the change
 * epoch and the watch descriptors' reference counts. */
struct http_fwatch;
/* One set of the cache: its entries' hashes and pointers in one cache line
 * (fcache.c). */
struct http_fset;


/*
 * One cached file, laid out for a hit (issue 12: with 1,000 hot files the
 * entries no longer stay in the CPU's caches, so the lines a hit touches
 * are what it costs): the first cache line holds what the lookup, the
 * revalidation and the sibling answer read and write; the second what the
 * response head is built from; then what only a revalidation that must
 * compare the file, or a removal, reads; then the path, the type and the
 * validators as strings packed together (the lookup's path compare loads
 * the line the head's strings start in); then the body. One allocation of
 * about the file's size plus 300 bytes (it was 700 bytes of fixed-size
 * arrays before the body).
 */
#define HTTP_FENTRY_CTYPE_MAX 111

struct http_fentry {
	/* line 0 */
	uint64_t gen;          /* http_site generation id: docroot and settings */
	uint64_t epoch;        /* the worker's change epoch when last found current */
	uint64_t checked;      /* the loop iteration that last revalidated it (0: none) */
	uint64_t used;         /* http_worker.fcache_clock at the last use */
	/* Whether a usable sibling existed (Vary: Accept-Encoding) when last
	 * looked for, at vary_checked (seconds): reused for a second, so a hot
	 * file costs no sibling lookups per request. */
	int64_t vary_checked;
	uint64_t vary_epoch;   /* looked for while watched, at this change epoch */
	uint32_t hash;
	unsigned refs;         /* the cache's own, plus one per response using the body */
	uint16_t path_len;
	uint8_t nwd;           /* 0: unwatched, revalidated per iteration */
	bool compressible;     /* a precompressed sibling may apply */
	bool has_body;         /* body holds the file; false: a large file's metadata only */
	bool vary;
	bool vary_watched;
	/* line 1 */
	uint64_t size;
	struct timespec mtim;
	const char *ctype, *etag; /* into path[] */
	const char *lastmod;      /* DATE_HTTP_LEN characters and a NUL, into path[] */
	const unsigned char *body; /* size bytes when has_body */
	uint8_t ctype_len, etag_len;
	/* what same_file compares besides size and mtim */
	dev_t dev;
	ino_t ino;
	struct timespec ctim;
	size_t cost; /* bytes it counts against HTTP_FCACHE_BYTES */
	int wd[HTTP_FCACHE_WATCH_DEPTH]; /* its watches (references in http_fwatch) */
	/* path NUL ctype NUL etag NUL lastmod NUL, then the body */
	char path[];
};

/* The valid entry for PATH (no leading '/') under SITE's docroot, with a reference, or NULL.
 * ITERATION: the loop's cached time (event_base_gettimeofday_cached), which
 * names the current iteration; NULL revalidates on every call. */
struct http_fentry *http_fcache_get(struct http_worker *w, const struct http_site *site,
                                    const char *path, size_t len,
                                    const struct timeval *iteration);
/* Caches the regular file FD (stat ST, just opened through fsroot) if it is
 * not freshly modified: small ones whole, larger ones as metadata only.
 * CTYPE is kept to HTTP_FENTRY_CTYPE_MAX bytes, as http_exchange.ctype holds.
 * NOW: the current time (seconds). */
void http_fcache_put(struct http_worker *w, const struct http_site *site, const char *path,
                     size_t len, int fd, const struct stat *st, const char *ctype,
                     bool compressible, bool vary, int64_t now);
void http_fentry_unref(struct http_fentry *e);
/* Whether E's precompressed-sibling answer (e->vary) may be reused at NOW
 * (seconds); else the caller looks again and records it with
 * http_fentry_vary_set. */
bool http_fentry_vary_current(const struct http_worker *w, const struct http_fentry *e,
                              int64_t now);
void http_fentry_vary_set(const struct http_worker *w, struct http_fentry *e, bool vary,
                          int64_t now);
/* Starts W's file-change watches: an inotify fd, read by an event of BASE at
 * SERVER_PRIO_FIRST (BASE NULL: no event, the caller runs
 * http_fcache_watch_read). On failure every entry is revalidated per
 * iteration; returns 0 or -errno. */
int http_fcache_watch_start(struct http_worker *w, struct event_base *base);
/* Reads the pending inotify events: any one bumps the change epoch and
 * marks its watch; an overflow concerns every entry. */
void http_fcache_watch_read(struct http_worker *w);
/* Whether ST (an fstat of a file just opened) is the file entry E describes. */
bool http_fentry_same(const struct http_fentry *e, const struct stat *st);
/* The set (0 .. HTTP_FCACHE_SETS - 1) the entry for PATH under a site of
 * generation GEN falls in: tests build collisions with it. */
unsigned http_fcache_set_index(uint64_t gen, const char *path, size_t len);
/* The watch descriptors W holds (each shared by the entries on its inode). */
unsigned http_fcache_watches(const struct http_worker *w);
/* Drops every entry, then the watches. */
void http_fcache_free(struct http_worker *w);

#endif
