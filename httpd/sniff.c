/*
 * httpd/sniff.c: Content-Type by content (libmagic) for files whose name
 * the built-in table does not know.
 *
 * libmagic handles are not thread-safe, so each worker opens its own, on
 * first use (loading the database costs milliseconds and memory that a
 * site without such files never needs). Results are cached per worker in a
 * small LRU keyed by (device, inode, mtime, size): any change of the file,
 * including replacement by rename, misses. libmagic reads at most
 * HTTP_SNIFF_BYTES from the start of the file. A failure, or libmagic's
 * "charset=binary", gives application/octet-stream; text gets its charset
 * as libmagic reports it.
 */
#include "session.h"

#include <stdio.h>
#include <string.h>
#include <magic.h>

#define FALLBACK "application/octet-stream"

static const char *classify(struct http_worker *w, int fd, char *out, size_t size)
{
	if (!w->magic && !w->magic_failed) {
		magic_t m = magic_open(MAGIC_MIME_TYPE | MAGIC_MIME_ENCODING |
		                       MAGIC_NO_CHECK_COMPRESS | MAGIC_ERROR);
		size_t bytes = HTTP_SNIFF_BYTES;
		if (m && magic_load(m, NULL) == 0) {
			magic_setparam(m, MAGIC_PARAM_BYTES_MAX, &bytes);
			w->magic = m;
		} else {
			if (m)
				magic_close(m);
			w->magic_failed = true;
			log_warn("libmagic unavailable: unknown types are served as " FALLBACK);
		}
	}
	if (!w->magic)
		return FALLBACK;
	const char *r = magic_descriptor(w->magic, fd);
	if (!r)
		return FALLBACK;
	/* "image/png; charset=binary" -> "image/png" */
	const char *semi = strstr(r, "; charset=binary");
	size_t n = semi ? (size_t)(semi - r) : strlen(r);
	if (n == 0 || n >= size || strchr(r, '\r') || strchr(r, '\n'))
		return FALLBACK;
	memcpy(out, r, n);
	out[n] = '\0';
	/* "application/octet-stream" is what libmagic says for anything it cannot name. */
	return out;
}

const char *http_sniff(struct http_worker *w, int fd, const struct stat *st)
{
	struct http_sniff_entry *victim = &w->sniff[0];
	for (size_t i = 0; i < HTTP_SNIFF_CACHE; i++) {
		struct http_sniff_entry *e = &w->sniff[i];
		if (e->used && e->ino == st->st_ino && e->dev == st->st_dev &&
		    e->size == st->st_size && e->mtime.tv_sec == st->st_mtim.tv_sec &&
		    e->mtime.tv_nsec == st->st_mtim.tv_nsec) {
			e->used = ++w->sniff_clock;
			return e->type;
		}
		if (e->used < victim->used)
			victim = e;
	}
	char type[sizeof(victim->type)];
	const char *t = classify(w, fd, type, sizeof(type));
	snprintf(victim->type, sizeof(victim->type), "%s", t);
	victim->dev = st->st_dev;
	victim->ino = st->st_ino;
	victim->size = st->st_size;
	victim->mtime = st->st_mtim;
	victim->used = ++w->sniff_clock;
	return victim->type;
}
