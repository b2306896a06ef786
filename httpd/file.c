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
 * a later request uses only while the file is the same inode, size, mtime
 * and ctime (inotify says nothing changed, else fstatat shows it); a
 * precompressed-eligible file requested with Accept-Encoding
 * always takes the path above.
 * Every response for a file that has a usable precompressed sibling (200,
 * 206, 304, 412, 416, whichever variant it carries) says
 * "Vary: Accept-Encoding"; a file without one never does.
 */
#include "session.h"
#include "triad/strlit.h"
#include "conf.h"
#include "encoding.h"
#include "mime.h"
#include "path.h"
#include "triad/limits.h"
#include "status.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define OPEN_FLAGS (O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
#define VARY "Vary: Accept-Encoding\r\n"

int http_open_visible(struct http_session *s, const char *path, size_t len, int flags)
{
	const struct fsroot *root = &s->site->docroot;
	/* The common case costs one openat2: no link on the way. */
	int fd = fsroot_open_nolinks(root, path, len, flags);
	if (fd != -ELOOP)
		return fd;
	/* A link (or a loop): follow it beneath docroot, then hold the dot-file
	 * rule against where it led (link.txt -> .secret, dir -> .git), as
	 * the request path was held to it. Unknown is refused too. */
	fd = fsroot_openat(root, path, len, flags, 0);
	if (fd < 0)
		return fd;
	char real[TRIAD_PATH_MAX + 1];
	int n = fsroot_relpath(root, fd, real, sizeof(real));
	if (n < 0 || http_path_hidden(real, (size_t)n)) {
		close(fd);
		return -ENOENT;
	}
	return fd;
}

static int open_stat(struct http_session *s, const char *path, size_t len, struct stat *st)
{
	int fd = http_open_visible(s, path, len, OPEN_FLAGS);
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
	if (strncmp(type, STRLIT("text/")) == 0)
		return true;
	for (size_t i = 0; i < sizeof(like) / sizeof(like[0]); i++)
		if (strstr(type, like[i]))
			return true;
	return false;
}

/* A sibling counts when it is a regular file not older than the original (mtime ORIG). */
static bool usable_sibling(const struct stat *st, const struct timespec *orig)
{
	return S_ISREG(st->st_mode) &&
	       (st->st_mtim.tv_sec > orig->tv_sec ||
	        (st->st_mtim.tv_sec == orig->tv_sec && st->st_mtim.tv_nsec >= orig->tv_nsec));
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
static int precompressed(struct http_session *s, const struct timespec *orig, struct stat *st,
                         enum http_coding *coding, bool *vary)
{
	const struct http_request *r = &s->t->req;
	*vary = false;
	if (!s->site->precompressed)
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
			if (fsroot_stat(&s->site->docroot, name, (size_t)len, st) == 0 &&
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
	http_head_add(h, STRLIT("\r\n"));
}

/* The representation a file response carries, and its validators. */
struct file_rep {
	struct timespec mtim;    /* the file's: Last-Modified, preconditions */
	uint64_t size;           /* of what is sent: the file or VST */
	struct stat vst;         /* a precompressed sibling's */
	enum http_coding coding; /* HTTP_CODING_N: identity */
	bool vary;               /* Vary: Accept-Encoding */
	const char *etag, *lastmod; /* lastmod NULL: no Last-Modified (year past 9999) */
	size_t etag_len;
	char etag_buf[HTTP_ETAG_MAX], lastmod_buf[DATE_HTTP_LEN + 1];
};

/* The cached entry E (a reference) as REP. A whole file's entry is the body
 * too (the exchange takes the reference over); a large file's entry gives its
 * metadata for ORIG, the file this request opened (http_fentry_same), and is
 * released here. */
static void rep_from_cache(struct http_session *s, struct http_fentry *e,
                           const struct stat *orig, int64_t now, struct file_rep *rep)
{
	struct http_exchange *x = &s->t->x;
	memcpy(x->ctype, e->ctype, (size_t)e->ctype_len + 1);
	if (e->has_body) {
		x->mem = e;
		rep->mtim = e->mtim;
		rep->size = e->size;
		rep->etag = e->etag, rep->etag_len = e->etag_len, rep->lastmod = e->lastmod;
	} else {
		rep->mtim = orig->st_mtim;
		rep->size = (uint64_t)orig->st_size;
		memcpy(rep->etag_buf, e->etag, e->etag_len);
		memcpy(rep->lastmod_buf, e->lastmod, sizeof(rep->lastmod_buf));
		rep->etag = rep->etag_buf, rep->etag_len = e->etag_len, rep->lastmod = rep->lastmod_buf;
	}
	/* Only a request without Accept-Encoding gets here for a compressible
	 * entry (http_serve_path): identity, but siblings may still exist. */
	if (e->compressible && http_fentry_vary_current(s->w, e, now)) {
		rep->vary = e->vary;
	} else if (e->compressible) {
		int cfd = precompressed(s, &rep->mtim, &rep->vst, &rep->coding, &rep->vary);
		if (cfd >= 0) { /* unreachable without Accept-Encoding */
			close(cfd);
			rep->coding = HTTP_CODING_N;
		}
		http_fentry_vary_set(s->w, e, rep->vary, now);
	}
	if (!e->has_body)
		http_fentry_unref(e);
}

/* The open file FD (stat ORIG) as REP: its type, a precompressed sibling
 * the client takes instead (else the file goes into the cache), and the
 * validators. Returns the fd to send, FD's or the sibling's. */
static int rep_from_file(struct http_session *s, int fd, const struct stat *orig, int64_t now,
                         struct file_rep *rep)
{
	struct http_exchange *x = &s->t->x;
	rep->mtim = orig->st_mtim;
	const char *type = http_mime_by_name(s->path, s->path_len + 1);
	if (!type)
		type = http_sniff(s->w, fd, orig);
	snprintf(x->ctype, sizeof(x->ctype), "%s", type);

	bool comp = compressible(x->ctype);
	int cfd = comp ? precompressed(s, &orig->st_mtim, &rep->vst, &rep->coding, &rep->vary) : -1;
	const struct stat *st = orig;
	if (cfd >= 0) {
		close(fd);
		fd = cfd;
		st = &rep->vst;
	} else {
		http_fcache_put(s->w, s->site, s->path + 1, s->path_len, fd, orig, x->ctype,
		                comp && s->site->precompressed, rep->vary, now);
	}
	rep->size = (uint64_t)st->st_size;
	rep->etag = rep->etag_buf;
	/* RFC 9110 §8.8.2 wants an IMF-fixdate, which has four year digits: an
	 * mtime outside 0000-9999 gets no Last-Modified (validation by ETag). */
	rep->lastmod = rep->lastmod_buf;
	rep->etag_len = http_etag_format(rep->etag_buf, (uint64_t)st->st_ino, (uint64_t)st->st_size,
	                                 st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
	if (!date_http_format(orig->st_mtim.tv_sec, rep->lastmod_buf))
		rep->lastmod = NULL;
	return fd;
}

/* The preconditions of the request against REP (RFC 9110 §13.2.2);
 * *RANGE_APPLIES says whether a Range may then be honoured. */
static enum http_cond preconditions(struct http_session *s, const struct file_rep *rep, int64_t now,
                                    bool *range_applies)
{
	const struct http_request *r = &s->t->req;
	struct http_cond_input in = {
	    .method = r->method,
	    .if_match = &r->if_match,
	    .if_none_match = &r->if_none_match,
	    .if_modified_since = r->if_modified_since,
	    .if_unmodified_since = r->if_unmodified_since,
	    .if_range = r->if_range,
	    .has_range = r->range.p != NULL,
	    .etag = {{rep->etag}, rep->etag_len},
	    .mtime = rep->mtim.tv_sec,
	    .now = now,
	};
	return http_cond_evaluate(&in, range_applies);
}

/* The ranges to send into the exchange (RFC 9110 §14.2): the status, 200
 * or 206, or 0 when answered here (416). */
static int choose_ranges(struct http_session *s, const struct file_rep *rep, enum http_cond cond,
                         bool range_applies)
{
	const struct http_request *r = &s->t->req;
	struct http_exchange *x = &s->t->x;
	x->nranges = 1;
	x->ranges[0] = (struct http_range){0, x->size ? x->size - 1 : 0};
	if (cond != HTTP_COND_PROCEED || r->method != HTTP_METHOD_GET || !r->range.p ||
	    !range_applies)
		return 200;
	unsigned n = 0;
	struct http_range rs[HTTP_RANGES_MAX];
	switch (http_range_parse(r->range.p, r->range.len, x->size, rs, &n)) {
	case HTTP_RANGE_UNSATISFIABLE: {
		char cr[64 + sizeof(VARY)];
		snprintf(cr, sizeof(cr), "Content-Range: bytes */%llu\r\n%s",
		         (unsigned long long)x->size, rep->vary ? VARY : "");
		http_respond_status(s, 416, cr);
		return 0;
	}
	case HTTP_RANGE_SATISFIABLE:
		memcpy(x->ranges, rs, n * sizeof(rs[0]));
		x->nranges = n;
		return 206;
	case HTTP_RANGE_IGNORE:
		break;
	}
	return 200;
}

/* Content-Type (multipart for several ranges), Content-Range, and the
 * body's length: the head lines of a 200 or 206. */
static void content_lines(struct http_session *s, struct http_head *h, int status)
{
	struct http_exchange *x = &s->t->x;
	if (status == 206 && x->nranges > 1) {
		x->multipart = true;
		uint64_t a = s->w->rng, b;
		for (int i = 0; i < 2; i++) { /* xorshift64* */
			a ^= a >> 12, a ^= a << 25, a ^= a >> 27;
		}
		b = a * 0x2545F4914F6CDD1Dull;
		s->w->rng = a;
		snprintf(x->boundary, sizeof(x->boundary), "%016llx", (unsigned long long)b);
		http_head_str(h, "Content-Type: multipart/byteranges; boundary=");
		http_head_str(h, x->boundary);
		http_head_add(h, STRLIT("\r\n"));
		x->body_len = http_multipart_length(x);
	} else {
		add_line(h, "Content-Type: ", x->ctype);
		x->body_len = x->size ? x->ranges[0].last - x->ranges[0].first + 1 : 0;
		if (status == 206) {
			char cr[80];
			snprintf(cr, sizeof(cr), "Content-Range: bytes %llu-%llu/%llu\r\n",
			         (unsigned long long)x->ranges[0].first,
			         (unsigned long long)x->ranges[0].last,
			         (unsigned long long)x->size);
			http_head_str(h, cr);
		}
	}
	http_head_str(h, "Content-Length: ");
	http_head_u64(h, x->body_len);
	http_head_add(h, STRLIT("\r\nAccept-Ranges: bytes\r\n"));
}

/* The response head for REP: STATUS, or 304 when COND says so. */
static void file_head(struct http_session *s, const struct file_rep *rep, enum http_cond cond,
                      int status)
{
	bool not_modified = cond == HTTP_COND_NOT_MODIFIED;
	char buf[HTTP_RESPONSE_HEAD_MAX];
	struct http_head h = {buf, 0, sizeof(buf), false};
	http_head_start(s, &h, not_modified ? 304 : status);
	if (!not_modified)
		content_lines(s, &h, status);
	if (rep->lastmod) {
		http_head_str(&h, "Last-Modified: ");
		http_head_add(&h, rep->lastmod, DATE_HTTP_LEN);
		http_head_add(&h, STRLIT("\r\n"));
	}
	http_head_str(&h, "ETag: ");
	http_head_add(&h, rep->etag, rep->etag_len);
	http_head_add(&h, STRLIT("\r\n"));
	if (rep->coding != HTTP_CODING_N && !not_modified)
		add_line(&h, "Content-Encoding: ", http_coding_name(rep->coding));
	if (rep->vary) /* 304 too: RFC 9110 §15.4.5, RFC 9111 §4.1 */
		http_head_str(&h, VARY);
	const char *cc = http_cachectl_match(s->site->cache, s->path);
	if (cc)
		add_line(&h, "Cache-Control: ", cc);
	http_head_finish(s, &h);
}

/*
 * Serves the open regular file FD (stat ORIG) named by s->path; with E (a
 * reference) its cached metadata, or with FD < 0 the cached body E.
 */
static void serve_file(struct http_session *s, int fd, const struct stat *orig,
                       struct http_fentry *e)
{
	struct http_exchange *x = &s->t->x;
	int64_t now = s->w->date_sec >= 0 ? s->w->date_sec : (int64_t)time(NULL);
	struct file_rep rep = {.coding = HTTP_CODING_N};
	if (e)
		rep_from_cache(s, e, orig, now, &rep);
	else
		fd = rep_from_file(s, fd, orig, now, &rep);
	x->fd = fd;
	x->size = rep.size;

	bool range_applies = false;
	enum http_cond cond = preconditions(s, &rep, now, &range_applies);
	if (cond == HTTP_COND_PRECONDITION_FAILED) {
		/* If-Match compared the chosen variant's ETag: the answer varies too. */
		http_respond_status(s, 412, rep.vary ? VARY : NULL);
		return;
	}
	int status = choose_ranges(s, &rep, cond, range_applies);
	if (status == 0)
		return;
	file_head(s, &rep, cond, status);
	if (cond == HTTP_COND_NOT_MODIFIED || x->size == 0 || x->head_only)
		return; /* exchange_reset closes the fd */
	x->body = HTTP_BODY_OUT_FILE;
}

static void serve_dir(struct http_session *s, int dirfd, bool trailing_slash)
{
	const struct http_site *site = s->site;
	if (!trailing_slash) {
		close(dirfd);
		http_redirect(s, "", true); /* RFC 9110 §15.4.2 */
		return;
	}
	size_t base = s->path_len;
	for (size_t i = 0; i < site->index->n; i++) {
		const char *name = site->index->v[i];
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
		if (fd < 0 && http_status_for_errno(fd) == 503) {
			/* Out of descriptors or memory: not a missing index (403). */
			close(dirfd);
			http_respond_status(s, 503, NULL);
			return;
		}
	}
	s->path[1 + base] = '\0';
	if (!site->autoindex) {
		close(dirfd);
		http_respond_status(s, 403, NULL);
		return;
	}
	struct iobuf *body = NULL;
	const char *ctype = NULL;
	int st = http_autoindex(s, dirfd, &body, &ctype);
	if (st != 0) {
		http_respond_status(s, st, NULL);
		return;
	}
	http_respond_body(s, 200, ctype, body, NULL);
}

char *http_read_small(const struct fsroot *root, const char *path, size_t max, size_t *size,
                      int *err)
{
	struct stat st;
	int fd = fsroot_openat(root, path, strlen(path), OPEN_FLAGS, 0);
	char *buf = NULL;
	size_t got = 0;

	*err = 0;
	if (fd < 0) {
		*err = -fd;
		return NULL;
	}
	if (fstat(fd, &st) < 0)
		*err = errno;
	else if (!S_ISREG(st.st_mode))
		*err = EINVAL;
	else if ((uint64_t)st.st_size > max)
		*err = EFBIG;
	if (*err) {
		close(fd);
		return NULL;
	}
	size_t want = (size_t)st.st_size;
	buf = malloc(want ? want : 1);
	while (buf && got < want) {
		ssize_t n = pread(fd, buf + got, want - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* shrunk under us: what was there */
		got += (size_t)n;
	}
	close(fd);
	*size = got;
	return buf;
}

/*
 * try_extensions (clean URLs): no file at the path, so the first PATH.EXT
 * that is a regular file, with s->path extended to it; else -ENOENT. A
 * directory at the path never gets here: it wins.
 */
static int try_extensions(struct http_session *s, struct stat *st)
{
	const struct conf_list *exts = s->site->try_extensions;
	size_t base = s->path_len;

	for (size_t i = 0; i < exts->n; i++) {
		size_t n = strlen(exts->v[i]);
		if (1 + base + n + 1 > sizeof(s->w->path))
			continue;
		memcpy(s->path + 1 + base, exts->v[i], n + 1);
		int fd = open_stat(s, s->path + 1, base + n, st);
		if (fd >= 0 && S_ISREG(st->st_mode)) {
			s->path_len = base + n;
			return fd;
		}
		if (fd >= 0)
			close(fd);
	}
	s->path[1 + base] = '\0';
	return -ENOENT;
}

void http_serve_path(struct http_session *s, bool trailing_slash)
{
	const struct http_request *r = &s->t->req;
	struct stat st;
	int fd = -1;
	bool opened = false;
	if (!trailing_slash && s->path_len > 0) {
		struct timeval iteration;
		bool named = event_base_gettimeofday_cached(s->c->base, &iteration) == 0;
		struct http_fentry *e = http_fcache_get(s->w, s->site, s->path + 1, s->path_len,
		                                        named ? &iteration : NULL);
		/* A precompressed sibling may answer this client: take the long way. */
		if (e && e->compressible && r->accept_encoding.n > 0) {
			http_fentry_unref(e);
			e = NULL;
		}
		if (e && e->has_body) {
			serve_file(s, -1, NULL, e);
			return;
		}
		if (e) {
			/* A large file's metadata: it answers for the file this request
			 * opens only if that is the file it describes. */
			fd = open_stat(s, s->path + 1, s->path_len, &st);
			opened = true;
			if (fd >= 0 && http_fentry_same(e, &st)) {
				serve_file(s, fd, &st, e);
				return;
			}
			http_fentry_unref(e);
		}
	}
	if (!opened)
		fd = open_stat(s, s->path + 1, s->path_len, &st);
	if (fd == -ENOENT && !trailing_slash && s->path_len > 0)
		fd = try_extensions(s, &st);
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
