/*
 * httpd/file.c: a normalised path -> a file response (RFC 9110 §8, §13, §14).
 *
 * Every access goes through common/fsroot beneath docroot, so symbolic
 * links inside the tree work and none leads out. The fd opened here is what
 * is sent: a file replaced by rename (ftpd uploads) mid-response is still
 * sent whole from the old inode, and a new request opens the new one.
 * Directories: without the trailing slash 301 to it (query kept); else the
 * first `index` that is a regular file, else autoindex, else 403. Anything
 * that is neither a regular file nor a directory: 404. Then: precompressed
 * sibling, Content-Type (table, else libmagic), validators, preconditions
 * (conditional.c, §13.2.2 order), Range (range.c), Cache-Control rules.
 * Small regular files are also kept in the worker's cache (fcache.h), which
 * a later request uses only after fstatat shows the same inode, size, mtime
 * and ctime; a precompressed-eligible file requested with Accept-Encoding
 * always takes the path above.
 * Every response for a file that has a usable precompressed sibling (200,
 * 206, 304, 412, 416, whichever variant it carries) says
 * "Vary: Accept-Encoding"; a file without one never does.
 */
#include "session.h"
#include "conf.h"
#include "encoding.h"
#include "mime.h"
#include "status.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <event2/buffer.h>

#define OPEN_FLAGS (O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
#define VARY "Vary: Accept-Encoding\r\n"

static int open_stat(struct http_session *s, const char *path, size_t len, struct stat *st)
{
	int fd = fsroot_openat(&s->app->docroot, path, len, OPEN_FLAGS, 0);
	if (fd < 0)
		return fd;
	if (fstat(fd, st) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

/*
 * Whether a type is worth looking for precompressed siblings: text and the
 * text-like formats. Images, audio, video, archives and woff/woff2 are
 * compressed already, so their requests cost no extra lookups.
 */
static bool compressible(const char *type)
{
	static const char *const like[] = {"json",     "xml",      "javascript",    "wasm",
	                                   "font/ttf", "font/otf", "ms-fontobject", "x-font-ttf"};
	if (strncmp(type, "text/", 5) == 0)
		return true;
	for (size_t i = 0; i < sizeof(like) / sizeof(like[0]); i++)
		if (strstr(type, like[i]))
			return true;
	return false;
}

/* A sibling counts when it is a regular file not older than the original. */
static bool usable_sibling(const struct stat *st, const struct stat *orig)
{
	return S_ISREG(st->st_mode) && (st->st_mtim.tv_sec > orig->st_mtim.tv_sec ||
	                                (st->st_mtim.tv_sec == orig->st_mtim.tv_sec &&
	                                 st->st_mtim.tv_nsec >= orig->st_mtim.tv_nsec));
}

/*
 * Content negotiation over the precompressed siblings (RFC 9110 §12.5.3):
 * the best usable sibling the client accepts, as its fd (and *ST, *CODING),
 * or -1 for identity. *VARY says whether any usable sibling exists: then
 * what this URI answers depends on Accept-Encoding whichever variant this
 * client gets, and every response for it says so (§12.5.5), or a shared
 * cache would hand one client's variant to the next. The acceptable
 * siblings are opened in order; once identity is the answer the others are
 * only stat-ed, stopping at the first.
 */
static int precompressed(struct http_session *s, const struct stat *orig, struct stat *st,
                         enum http_coding *coding, bool *vary)
{
	const struct http_request *r = &s->t->req;
	*vary = false;
	if (!s->app->h->precompressed)
		return -1;
	struct http_ae ae;
	/* An unreadable field leaves every q at 0: identity, still with Vary. */
	(void)http_accept_encoding(r->accept_encoding.n ? &r->accept_encoding : NULL, &ae);
	enum http_coding order[HTTP_CODING_N];
	unsigned n = http_encoding_rank(&ae, order);
	char name[PATH_MAX];
	for (unsigned i = 0; i < HTTP_CODING_N; i++) {
		int len =
		    snprintf(name, sizeof(name), "%s%s", s->path + 1, http_coding_suffix(order[i]));
		if (len < 0 || (size_t)len >= sizeof(name))
			return -1; /* no sibling can have this name */
		if (i >= n) {
			if (fsroot_stat(&s->app->docroot, name, (size_t)len, st) == 0 &&
			    usable_sibling(st, orig)) {
				*vary = true;
				return -1;
			}
			continue;
		}
		int fd = open_stat(s, name, (size_t)len, st);
		if (fd < 0)
			continue;
		if (usable_sibling(st, orig)) {
			*coding = order[i];
			*vary = true;
			return fd;
		}
		close(fd);
	}
	return -1;
}

static void add_line(struct http_head *h, const char *name, const char *value)
{
	http_head_str(h, name);
	http_head_str(h, value);
	http_head_add(h, "\r\n", 2);
}

/*
 * Serves the open regular file FD (stat ORIG) named by s->path, or with
 * FD < 0 the cached entry E (a reference the exchange takes over).
 */
static void serve_file(struct http_session *s, int fd, const struct stat *orig,
                       struct http_fentry *e)
{
	const struct http_request *r = &s->t->req;
	struct http_exchange *x = &s->t->x;
	int64_t now = s->w->date_sec >= 0 ? s->w->date_sec : (int64_t)time(NULL);

	enum http_coding coding = HTTP_CODING_N;
	const struct stat *st = orig;
	struct stat vst; /* a precompressed sibling's: st may point here */
	char etag_buf[HTTP_ETAG_MAX], lastmod_buf[HTTP_DATE_LEN + 1];
	const char *etag = etag_buf, *lastmod = lastmod_buf;
	size_t etag_len;
	bool vary = false; /* Vary: Accept-Encoding */
	if (e) {
		x->mem = e;
		st = orig = &e->st;
		memcpy(x->ctype, e->ctype, sizeof(x->ctype));
		etag = e->etag, etag_len = e->etag_len, lastmod = e->lastmod;
		/* Only a request without Accept-Encoding gets here for a compressible
		 * entry (http_serve_path): identity, but siblings may still exist. */
		if (e->compressible && now - e->vary_checked < HTTP_FCACHE_SIBLING_RECHECK &&
		    now >= e->vary_checked) {
			vary = e->vary;
		} else if (e->compressible) {
			int cfd = precompressed(s, orig, &vst, &coding, &vary);
			if (cfd >= 0) { /* unreachable without Accept-Encoding */
				close(cfd);
				coding = HTTP_CODING_N;
			}
			e->vary = vary;
			e->vary_checked = now;
		}
	} else {
		const char *type = http_mime_by_name(s->path, s->path_len + 1);
		if (!type)
			type = http_sniff(s->w, fd, orig);
		snprintf(x->ctype, sizeof(x->ctype), "%s", type);

		bool comp = compressible(x->ctype);
		int cfd = comp ? precompressed(s, orig, &vst, &coding, &vary) : -1;
		if (cfd >= 0) {
			close(fd);
			fd = cfd;
			st = &vst;
		} else {
			http_fcache_put(s->w, s->app, s->path + 1, s->path_len, fd, orig, x->ctype,
			                comp && s->app->h->precompressed, vary, now);
		}
		etag_len = http_etag_format(etag_buf, (uint64_t)st->st_ino, (uint64_t)st->st_size,
		                            st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
		http_date_format(orig->st_mtim.tv_sec, lastmod_buf);
	}
	x->fd = fd;
	x->size = (uint64_t)st->st_size;

	bool range_applies = false;
	struct http_cond_input in = {
	    .method = r->method,
	    .if_match = &r->if_match,
	    .if_none_match = &r->if_none_match,
	    .if_modified_since = r->if_modified_since,
	    .if_unmodified_since = r->if_unmodified_since,
	    .if_range = r->if_range,
	    .has_range = r->range.p != NULL,
	    .etag = {{etag}, etag_len},
	    .mtime = orig->st_mtim.tv_sec,
	    .now = now,
	};
	enum http_cond cond = http_cond_evaluate(&in, &range_applies);
	if (cond == HTTP_COND_PRECONDITION_FAILED) {
		/* If-Match compared the chosen variant's ETag: the answer varies too. */
		http_respond_status(s, 412, vary ? VARY : NULL);
		return;
	}

	int status = 200;
	x->nranges = 1;
	x->ranges[0] = (struct http_range){0, x->size ? x->size - 1 : 0};
	if (cond == HTTP_COND_PROCEED && r->method == HTTP_METHOD_GET && r->range.p &&
	    range_applies) {
		unsigned n = 0;
		struct http_range rs[HTTP_RANGES_MAX];
		enum http_range_status rst =
		    http_range_parse(r->range.p, r->range.len, x->size, rs, &n);
		if (rst == HTTP_RANGE_SATISFIABLE)
			memcpy(x->ranges, rs, n * sizeof(rs[0]));
		switch (rst) {
		case HTTP_RANGE_UNSATISFIABLE: {
			char cr[64 + sizeof(VARY)];
			snprintf(cr, sizeof(cr), "Content-Range: bytes */%llu\r\n%s",
			         (unsigned long long)x->size, vary ? VARY : "");
			http_respond_status(s, 416, cr);
			return;
		}
		case HTTP_RANGE_SATISFIABLE:
			status = 206;
			x->nranges = n;
			break;
		case HTTP_RANGE_IGNORE:
			x->ranges[0] = (struct http_range){0, x->size ? x->size - 1 : 0};
			break;
		}
	}

	char buf[8192];
	struct http_head h = {buf, 0, sizeof(buf), false};
	http_head_start(s, &h, cond == HTTP_COND_NOT_MODIFIED ? 304 : status);
	if (cond != HTTP_COND_NOT_MODIFIED) {
		if (status == 206 && x->nranges > 1) {
			x->multipart = true;
			uint64_t a = s->w->rng, b;
			for (int i = 0; i < 2; i++) { /* xorshift64* */
				a ^= a >> 12, a ^= a << 25, a ^= a >> 27;
			}
			b = a * 0x2545F4914F6CDD1Dull;
			s->w->rng = a;
			snprintf(x->boundary, sizeof(x->boundary), "%016llx",
			         (unsigned long long)b);
			http_head_str(&h, "Content-Type: multipart/byteranges; boundary=");
			http_head_str(&h, x->boundary);
			http_head_add(&h, "\r\n", 2);
			x->body_len = http_multipart_length(x);
		} else {
			add_line(&h, "Content-Type: ", x->ctype);
			x->body_len = x->size ? x->ranges[0].last - x->ranges[0].first + 1 : 0;
			if (status == 206) {
				char cr[80];
				snprintf(cr, sizeof(cr), "Content-Range: bytes %llu-%llu/%llu\r\n",
				         (unsigned long long)x->ranges[0].first,
				         (unsigned long long)x->ranges[0].last,
				         (unsigned long long)x->size);
				http_head_str(&h, cr);
			}
		}
		http_head_str(&h, "Content-Length: ");
		http_head_u64(&h, x->body_len);
		http_head_add(&h, "\r\nAccept-Ranges: bytes\r\n", 24);
	}
	http_head_str(&h, "Last-Modified: ");
	http_head_add(&h, lastmod, HTTP_DATE_LEN);
	http_head_str(&h, "\r\nETag: ");
	http_head_add(&h, etag, etag_len);
	http_head_add(&h, "\r\n", 2);
	if (coding != HTTP_CODING_N && cond != HTTP_COND_NOT_MODIFIED)
		add_line(&h, "Content-Encoding: ", http_coding_name(coding));
	if (vary) /* 304 too: RFC 9110 §15.4.5, RFC 9111 §4.1 */
		http_head_str(&h, VARY);
	const char *cc = http_cachectl_match(&s->app->cache, s->path);
	if (cc)
		add_line(&h, "Cache-Control: ", cc);
	http_head_finish(s, &h);
	if (cond == HTTP_COND_NOT_MODIFIED || x->size == 0 || x->head_only)
		return; /* exchange_reset closes the fd */
	x->body = HTTP_BODY_OUT_FILE;
}

static void serve_dir(struct http_session *s, int dirfd, bool trailing_slash)
{
	const struct httpd_conf *h = s->app->h;
	if (!trailing_slash) {
		close(dirfd);
		http_redirect(s, "", true); /* RFC 9110 §15.4.2 */
		return;
	}
	size_t base = s->path_len;
	for (size_t i = 0; i < h->index.n; i++) {
		const char *name = h->index.v[i];
		size_t nl = strlen(name);
		if (base + 1 + nl + 1 >= sizeof(s->w->path) - 1)
			continue;
		size_t at = base ? base + 1 : 0;
		if (base)
			s->path[1 + base] = '/';
		memcpy(s->path + 1 + at, name, nl + 1);
		struct stat st;
		int fd = open_stat(s, s->path + 1, at + nl, &st);
		if (fd >= 0 && S_ISREG(st.st_mode)) {
			close(dirfd);
			s->path_len = at + nl;
			serve_file(s, fd, &st, NULL);
			return;
		}
		if (fd >= 0)
			close(fd);
	}
	s->path[1 + base] = '\0';
	if (!h->autoindex) {
		close(dirfd);
		http_respond_status(s, 403, NULL);
		return;
	}
	struct evbuffer *body = evbuffer_new();
	if (!body) {
		close(dirfd);
		http_respond_status(s, 503, NULL);
		return;
	}
	const char *ctype = NULL;
	int st = http_autoindex(s, dirfd, body, &ctype);
	if (st != 0) {
		evbuffer_free(body);
		http_respond_status(s, st, NULL);
		return;
	}
	http_respond_body(s, 200, ctype, body, NULL);
}

void http_serve_path(struct http_session *s, bool trailing_slash)
{
	const struct http_request *r = &s->t->req;
	if (!trailing_slash && s->path_len > 0) {
		struct timeval iteration;
		bool named = event_base_gettimeofday_cached(s->c->base, &iteration) == 0;
		struct http_fentry *e = http_fcache_get(s->w, s->app, s->path + 1, s->path_len,
		                                        named ? &iteration : NULL);
		/* A precompressed sibling may answer this client: take the long way. */
		if (e && e->compressible && r->accept_encoding.n > 0) {
			http_fentry_unref(e);
			e = NULL;
		}
		if (e) {
			serve_file(s, -1, NULL, e);
			return;
		}
	}
	struct stat st;
	int fd = open_stat(s, s->path + 1, s->path_len, &st);
	if (fd < 0) {
		http_respond_status(s, http_status_for_errno(fd), NULL);
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		serve_dir(s, fd, trailing_slash);
		return;
	}
	if (!S_ISREG(st.st_mode) || trailing_slash) {
		close(fd);
		http_respond_status(s, 404, NULL);
		return;
	}
	serve_file(s, fd, &st, NULL);
}
