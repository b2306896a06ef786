/*
 * httpd/fcache.h: a per-worker cache of small hot files (content, type,
 * validators), so a repeated GET costs one fstatat instead of
 * open + fstat + pread + close. Larger files get an entry without their
 * bytes (has_body false): their type, validators and the precompressed-
 * sibling answer, so a repeated GET of a large file costs its confined open
 * and fstat only, not the three sibling lookups of a text file; the body
 * still leaves from the file opened for that request, and the entry is used
 * only when that file is the one it describes (http_fentry_same).
 *
 * Consistency: an entry is revalidated with fstatat() on the path, by its
 * first use in each event-loop iteration: the device, inode, size, mtime and
 * ctime must all be what they were when the content was read through the
 * confined open (fsroot). Every request answered in one iteration was sent
 * before that iteration's epoll_wait() returned (a client pipelining more
 * requests into a connection being read is the one exception), so a file
 * replaced by rename, deleted, rewritten, truncated or chmod-ed is never
 * served from the cache by a request that starts after the change; such a
 * request goes the normal way (fsroot open). Under load one fstatat then
 * serves every request for the file that one iteration answers. Files modified less than 2 s before they
 * would be cached are not cached (a write within the same timestamp tick
 * could otherwise leave mtime and size unchanged). The fstatat follows
 * symlinks without the kernel's RESOLVE_BENEATH, but it only ever confirms
 * an inode that was opened beneath docroot: it never yields new content.
 * Precompressed siblings (.br, .zst, .gz) of a cached file are looked for at
 * most once per HTTP_FCACHE_SIBLING_RECHECK seconds for clients that accept
 * identity only: a sibling added or removed shows in Vary within that time
 * (like nginx's open_file_cache_valid, lighttpd's stat cache).
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

struct http_site;
struct http_worker;


struct http_fentry {
	unsigned refs; /* the cache's own, plus one per response using the body */
	uint64_t used; /* http_worker.fcache_clock at the last use */
	size_t cost;   /* bytes it counts against HTTP_FCACHE_BYTES */
	uint64_t gen;  /* http_site generation id: docroot and settings */
	uint32_t hash;
	struct stat st;
	struct timeval checked; /* the loop iteration that last revalidated it */
	bool compressible; /* a precompressed sibling may apply */
	bool has_body;     /* body[] holds the file; false: a large file's metadata only */
	/* Whether a usable sibling existed (Vary: Accept-Encoding) when last
	 * looked for, at vary_checked (seconds): reused for a second, so a hot
	 * file costs no sibling lookups per request. */
	bool vary;
	int64_t vary_checked;
	char ctype[112];
	char etag[HTTP_ETAG_MAX];
	size_t etag_len;
	char lastmod[DATE_HTTP_LEN + 1];
	size_t path_len;
	char path[HTTP_FCACHE_PATH_MAX];
	unsigned char body[]; /* st.st_size bytes when has_body */
};

/* The valid entry for PATH (no leading '/') under SITE's docroot, with a reference, or NULL.
 * ITERATION: the loop's cached time (event_base_gettimeofday_cached), which
 * names the current iteration; NULL revalidates on every call. */
struct http_fentry *http_fcache_get(struct http_worker *w, const struct http_site *site,
                                    const char *path, size_t len,
                                    const struct timeval *iteration);
/* Caches the regular file FD (stat ST, just opened through fsroot) if it is
 * not freshly modified: small ones whole, larger ones as metadata only.
 * NOW: the current time (seconds). */
void http_fcache_put(struct http_worker *w, const struct http_site *site, const char *path,
                     size_t len, int fd, const struct stat *st, const char *ctype,
                     bool compressible, bool vary, int64_t now);
void http_fentry_unref(struct http_fentry *e);
/* Whether ST (an fstat of a file just opened) is the file entry E describes. */
bool http_fentry_same(const struct http_fentry *e, const struct stat *st);
void http_fcache_free(struct http_worker *w);

#endif
