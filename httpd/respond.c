/*
 * httpd/respond.c: what a parsed request gets (RFC 9110 §9, §15).
 *
 * - GET and HEAD serve files (file.c); HEAD sends the same head without the
 *   body (§9.3.2). OPTIONS (§9.3.7) answers 200 with Allow, for "*" too.
 * - A method we know but a static file does not allow (POST, PUT, DELETE,
 *   PATCH, TRACE, CONNECT): 405 with Allow (§15.5.6); an unknown one: 501
 *   (§15.6.2).
 * - absolute-form targets (RFC 9112 §3.2.2) only for http and https.
 * - redirect_https: GET and HEAD over a plain listener get 301 to https://.
 * - Error pages are small fixed HTML (status.c), never echoing the request.
 * The body itself is pushed by http_body_pump() through conn_write_file()
 * (plain: sendfile for large ranges; TLS: 64 KiB pread()s while the output
 * has room).
 */
#include "session.h"
#include "conf.h"
#include "mime.h"
#include "path.h"
#include "status.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "triad/iobuf.h"
#include "triad/limits.h"
#include "triad/strlit.h"

#define ALLOW "Allow: GET, HEAD, OPTIONS\r\n"

void http_respond_body(struct http_session *s, int status, const char *ctype, struct iobuf *body,
                       const char *extra)
{
	char buf[HTTP_RESPONSE_HEAD_MAX];
	struct http_head h = {buf, 0, sizeof(buf), false};
	size_t len = body ? iobuf_len(body) : 0;
	http_head_start(s, &h, status);
	if (ctype) {
		http_head_str(&h, "Content-Type: ");
		http_head_str(&h, ctype);
		http_head_add(&h, STRLIT("\r\n"));
	}
	http_head_str(&h, "Content-Length: ");
	http_head_u64(&h, len);
	http_head_add(&h, STRLIT("\r\n"));
	if (extra)
		http_head_str(&h, extra);
	if (h.overflow) {
		/* Only a configured or request-derived header can be this long. */
		iobuf_free(body);
		http_respond_status(s, 500, NULL);
		return;
	}
	http_head_finish(s, &h);
	if (body) {
		if (!s->t->x.head_only) {
			s->t->x.sent = len;
			conn_write_iobuf(s->c, body);
		}
		iobuf_free(body);
	}
}

/*
 * error_pages: the site's page for STATUS as the body, the status kept, no
 * validators or ranges. False (the built-in page follows) when none is
 * configured or it cannot be used; the latter is logged with the page.
 */
static bool custom_error_page(struct http_session *s, int status, const char *extra)
{
	const char *page = site_errpages_find(s->site->errpages, status);

	return page && http_respond_page(s, status, page, extra);
}

bool http_respond_page(struct http_session *s, int status, const char *page, const char *extra)
{
	/* Copied, not sent with sendfile: the page is small and TLS needs the bytes. */
	size_t size;
	int err;
	char *bytes = http_read_small(&s->site->docroot, page + 1, HTTP_ERROR_PAGE_MAX, &size, &err);
	struct iobuf *body = bytes ? iobuf_new(size) : NULL;
	if (body && iobuf_add(body, bytes, size) < 0) {
		iobuf_free(body);
		body = NULL;
	}
	free(bytes);
	if (!body) {
		log_msg(LOG_LEVEL_WARN, s->c->id, "http error page %s for %d: %s; built-in page sent",
		        page, status, err ? strerror(err) : "out of memory");
		return false;
	}
	const char *slash = strrchr(page, '/');
	const char *ctype = http_mime_by_name(slash + 1, strlen(slash + 1));
	http_respond_body(s, status, ctype ? ctype : "text/html; charset=utf-8", body, extra);
	return true;
}

void http_respond_status(struct http_session *s, int status, const char *extra)
{
	if (status >= 400 && custom_error_page(s, status, extra))
		return;
	char page[512];
	size_t n = http_error_page(status, page, sizeof(page));
	char buf[HTTP_RESPONSE_HEAD_MAX];
	struct http_head h = {buf, 0, sizeof(buf), false};
	http_head_start(s, &h, status);
	http_head_str(&h, "Content-Type: text/html; charset=utf-8\r\nContent-Length: ");
	http_head_u64(&h, n);
	http_head_add(&h, STRLIT("\r\n"));
	if (extra)
		http_head_str(&h, extra);
	if (h.overflow) {
		s->t->x.close = true;
		h.len = 0, h.overflow = false;
		http_head_start(s, &h, 500);
		http_head_str(&h, "Content-Length: 0\r\n");
		http_head_finish(s, &h);
		return;
	}
	http_head_finish(s, &h);
	if (!s->t->x.head_only) {
		s->t->x.sent = n;
		conn_write(s->c, page, n);
	}
}

void http_respond_error(struct http_session *s, int status, bool close)
{
	if (close)
		s->t->x.close = true;
	http_respond_status(s, status, NULL);
}

/* Appends P[0..N) percent-encoded except unreserved bytes and '/' (RFC 3986 §2.3). */
static size_t encode_path(char *out, size_t size, const char *p, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
		            c == '~' || c == '/';
		if (o + 3 >= size)
			return size;
		if (keep) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	return o;
}

void http_redirect(struct http_session *s, const char *scheme_host, bool normalized)
{
	const struct http_request *r = &s->t->req;
	char loc[HTTP_RESPONSE_HEAD_MAX - 512];
	size_t n = (size_t)snprintf(loc, sizeof(loc), "Location: %s", scheme_host);
	if (normalized) {
		/* A directory: its normalised path plus "/". Built from what we resolved,
		 * never from the raw target, so "//evil.example" cannot become a
		 * scheme-relative Location pointing elsewhere. */
		n += encode_path(loc + n, sizeof(loc) - n, s->path, s->path_len + 1);
		if (n + 1 < sizeof(loc) && s->path_len > 0)
			loc[n++] = '/';
	} else if (n + r->path.len < sizeof(loc)) {
		memcpy(loc + n, r->path.p, r->path.len);
		n += r->path.len;
	} else {
		n = sizeof(loc);
	}
	if (n < sizeof(loc)) {
		int m = snprintf(loc + n, sizeof(loc) - n, "%s%.*s\r\n", r->query.p ? "?" : "",
		                 (int)r->query.len, r->query.p ? r->query.p : "");
		n = m < 0 ? sizeof(loc) : n + (size_t)m;
	}
	if (n >= sizeof(loc)) {
		http_respond_status(s, 414, NULL);
		return;
	}
	http_respond_status(s, 301, loc);
}

/* redirect_https: https://HOST[:port] from Host (or our address) and listen_tls. */
static void redirect_https(struct http_session *s)
{
	const struct http_request *r = &s->t->req;
	char host[300];
	if (r->host.p && r->host.len < 256) {
		size_t n = r->host.len;
		/* Drop the port; "[v6]:port" keeps its brackets. */
		const char *end = r->host.p + n;
		const char *colon = NULL;
		for (const char *q = r->host.p; q < end; q++)
			if (*q == ':')
				colon = q;
		if (colon &&
		    (r->host.p[0] != '[' || colon > (const char *)memchr(r->host.p, ']', n)))
			n = (size_t)(colon - r->host.p);
		snprintf(host, sizeof(host), "https://%.*s%s", (int)n, r->host.p,
		         s->app->https_port);
	} else {
		struct conn_ip ip = conn_local_ip(s->c);
		bool v6 = strchr(ip.s, ':') != NULL;
		snprintf(host, sizeof(host), "https://%s%s%s%s", v6 ? "[" : "", ip.s,
		         v6 ? "]" : "", s->app->https_port);
	}
	http_redirect(s, host, false);
}

void http_respond(struct http_session *s)
{
	const struct http_request *r = &s->t->req;
	const struct httpd_conf *h = s->app->h;
	if (!r->keep_alive || h->keepalive_timeout == 0)
		s->t->x.close = true;
	s->t->x.head_only = r->method == HTTP_METHOD_HEAD;
	int misdirected = http_site_choose(s);
	if (misdirected) {
		http_respond_status(s, misdirected, NULL);
		return;
	}
	if (s->t->x.route_status) {
		http_respond_status(s, s->t->x.route_status, NULL);
		return;
	}

	if (r->form == HTTP_TARGET_ABSOLUTE && !http_eq_ci(r->scheme.p, r->scheme.len, "http") &&
	    !http_eq_ci(r->scheme.p, r->scheme.len, "https")) {
		http_respond_status(s, 400, NULL);
		return;
	}
	switch (r->method) {
	case HTTP_METHOD_GET:
	case HTTP_METHOD_HEAD:
		break;
	case HTTP_METHOD_OPTIONS:
		http_respond_body(s, 200, NULL, NULL, ALLOW);
		return;
	case HTTP_METHOD_UNKNOWN:
		http_respond_status(s, 501, NULL);
		return;
	default:
		http_respond_status(s, 405, ALLOW);
		return;
	}
	if (s->site->redirect_https && !s->c->ssl) {
		redirect_https(s);
		return;
	}
	if (http_site_canonical(s))
		return;
	bool rules = s->site->rules_files;
	struct http_path pr;
	int st =
	    http_path_normalize(r->path.p, r->path.len, s->path + 1, sizeof(s->w->path) - 1, &pr);
	if (st != 0) {
		http_respond_status(s, st, NULL);
		return;
	}
	s->path[0] = '/';
	s->path_len = pr.len;
	s->path[1 + pr.len] = '\0';
	if (pr.hidden) {
		http_respond_status(s, 404, NULL);
		return;
	}
	if (rules && http_rules_answer(s, pr.trailing_slash))
		return;
	http_serve_path(s, pr.trailing_slash);
}

/* ---- the body ---------------------------------------------------------------- */

void http_exchange_reset(struct http_session *s)
{
	if (s->t->x.mem) {
		http_fentry_unref(s->t->x.mem);
		s->t->x.mem = NULL;
	}
	if (s->t->x.file) {
		conn_file_free(s->t->x.file); /* closes the fd once its queued ranges are out */
		s->t->x.file = NULL;
	}
	if (s->t->x.fd >= 0) {
		close(s->t->x.fd);
		s->t->x.fd = -1;
	}
	s->t->x.body = HTTP_BODY_OUT_NONE;
}

/* "\r\n--B\r\nContent-Type: T\r\nContent-Range: bytes a-b/N\r\n\r\n" for range I. */
static size_t part_header(const struct http_exchange *x, unsigned i, char *buf, size_t size)
{
	int n =
	    snprintf(buf, size,
	             "\r\n--%s\r\nContent-Type: %s\r\nContent-Range: bytes %llu-%llu/%llu\r\n\r\n",
	             x->boundary, x->ctype, (unsigned long long)x->ranges[i].first,
	             (unsigned long long)x->ranges[i].last, (unsigned long long)x->size);
	return n < 0 ? 0 : (size_t)n;
}

uint64_t http_multipart_length(struct http_exchange *x)
{
	char buf[256];
	uint64_t total = 0;
	for (unsigned i = 0; i < x->nranges; i++)
		total += part_header(x, i, buf, sizeof(buf)) + x->ranges[i].last -
		         x->ranges[i].first + 1;
	return total + 2 + 2 + strlen(x->boundary) + 4; /* "\r\n--B--\r\n" */
}

static void fentry_ref_done(const void *data, size_t len, void *arg)
{
	(void)data;
	(void)len;
	http_fentry_unref(arg);
}

/* Queues the rest of the current range: false when the output is full
 * (TLS: on_drain pumps again) or the conn was aborted. */
static bool queue_range(struct http_session *s)
{
	struct http_exchange *x = &s->t->x;
	bool plain = !conn_is_tls(s->c);
	if (x->mem) { /* within the cached body: ranges were checked against its size */
		while (x->left > 0) {
			if (!plain && conn_output_full(s->c))
				return false;
			size_t n = x->left < TRIAD_CONN_FILE_CHUNK ? (size_t)x->left
			                                           : TRIAD_CONN_FILE_CHUNK;
			/* By reference, not copied: the kernel's copy into the socket
			 * is the only one (with 1,000 hot files the body is cold, and a
			 * copy here read it once more; issue 12). Each queued piece
			 * holds a reference until it has left. */
			x->mem->refs++;
			if (conn_write_ref(s->c, x->mem->body + x->off, n, fentry_ref_done, x->mem) < 0)
				x->mem->refs--; /* the conn takes no more output: as conn_write */
			x->off += n;
			x->left -= n;
			x->sent += n;
		}
		return true;
	}
	if (!x->file) {
		if (!(x->file = conn_file_new(x->fd, x->size))) {
			conn_abort(s->c);
			return false;
		}
		x->fd = -1; /* the conn_file's now */
	}
	while (x->left > 0) {
		int64_t n = conn_write_file(s->c, x->file, x->off, x->left);
		if (n < 0) {
			log_msg(LOG_LEVEL_WARN, s->c->id, "http file read failed");
			conn_abort(s->c);
			return false;
		}
		if (n == 0)
			return false;
		x->off += (uint64_t)n;
		x->left -= (uint64_t)n;
		x->sent += (uint64_t)n;
	}
	return true;
}

bool http_body_pump(struct http_session *s)
{
	struct http_exchange *x = &s->t->x;
	if (x->body != HTTP_BODY_OUT_FILE || x->head_only)
		return true;
	while (x->ri < x->nranges) {
		if (!x->part_started) {
			if (x->multipart) {
				char buf[256];
				size_t n = part_header(x, x->ri, buf, sizeof(buf));
				conn_write(s->c, buf, n);
			}
			x->off = x->ranges[x->ri].first;
			x->left = x->ranges[x->ri].last - x->ranges[x->ri].first + 1;
			x->part_started = true;
		}
		if (!queue_range(s))
			return false;
		x->ri++;
		x->part_started = false;
	}
	if (x->multipart && !x->trailer_done) {
		char buf[48];
		int n = snprintf(buf, sizeof(buf), "\r\n--%s--\r\n", x->boundary);
		conn_write(s->c, buf, (size_t)n);
		x->trailer_done = true;
	}
	x->sent = x->body_len;
	return true;
}
