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
 * The body itself is pushed by http_body_pump() (plain: sendfile through
 * evbuffer file segments; TLS: 64 KiB pread()s while the output has room).
 */
#include "session.h"
#include "conf.h"
#include "path.h"
#include "status.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <event2/buffer.h>

#define ALLOW "Allow: GET, HEAD, OPTIONS\r\n"
#define HEAD_MAX 8192
/* Pieces up to this size are copied (pread) rather than sent with sendfile:
 * cheaper for small files, and it bounds the fds a pipelining client can
 * make us hold while its output is queued. */
#define COPY_MAX (32 * 1024)
#define CHUNK (64 * 1024)

void http_respond_body(struct http_session *s, int status, const char *ctype, struct evbuffer *body,
                       const char *extra)
{
	char buf[HEAD_MAX];
	struct http_head h = {buf, 0, sizeof(buf), false};
	size_t len = body ? evbuffer_get_length(body) : 0;
	http_head_start(s, &h, status);
	if (ctype) {
		http_head_str(&h, "Content-Type: ");
		http_head_str(&h, ctype);
		http_head_add(&h, "\r\n", 2);
	}
	http_head_str(&h, "Content-Length: ");
	http_head_u64(&h, len);
	http_head_add(&h, "\r\n", 2);
	if (extra)
		http_head_str(&h, extra);
	if (h.overflow) {
		/* Only a configured or request-derived header can be this long. */
		if (body)
			evbuffer_free(body);
		http_respond_status(s, 500, NULL);
		return;
	}
	http_head_finish(s, &h);
	if (body) {
		if (!s->t->x.head_only) {
			s->t->x.sent = len;
			evbuffer_add_buffer(conn_output(s->c), body);
		}
		evbuffer_free(body);
	}
}

void http_respond_status(struct http_session *s, int status, const char *extra)
{
	char page[512];
	size_t n = http_error_page(status, page, sizeof(page));
	char buf[HEAD_MAX];
	struct http_head h = {buf, 0, sizeof(buf), false};
	http_head_start(s, &h, status);
	http_head_str(&h, "Content-Type: text/html; charset=utf-8\r\nContent-Length: ");
	http_head_u64(&h, n);
	http_head_add(&h, "\r\n", 2);
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
	char loc[HEAD_MAX - 512];
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
		bool v6 = strchr(s->c->local_ip, ':') != NULL;
		snprintf(host, sizeof(host), "https://%s%s%s%s", v6 ? "[" : "", s->c->local_ip,
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
	if (h->redirect_https && !s->c->ssl) {
		redirect_https(s);
		return;
	}
	struct http_path pr;
	int st =
	    http_path_normalize(r->path.p, r->path.len, s->path + 1, sizeof(s->w->path) - 1, &pr);
	if (st != 0) {
		http_respond_status(s, st, NULL);
		return;
	}
	s->path[0] = '/';
	s->path_len = pr.len;
	if (pr.hidden) {
		http_respond_status(s, 404, NULL);
		return;
	}
	http_serve_path(s, pr.trailing_slash);
}

/* ---- the body ---------------------------------------------------------------- */

void http_exchange_reset(struct http_session *s)
{
	if (s->t->x.mem) {
		http_fentry_unref(s->t->x.mem);
		s->t->x.mem = NULL;
	}
	if (s->t->x.seg) {
		evbuffer_file_segment_free(s->t->x.seg); /* closes the fd with its last reference */
		s->t->x.seg = NULL;
		s->t->x.fd = -1;
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

/* Copies LEN bytes at OFF of the file into the output. */
static bool copy_piece(struct http_session *s, uint64_t off, size_t len)
{
	struct evbuffer *out = conn_output(s->c);
	if (s->t->x.mem) /* within the cached body: ranges were checked against its size */
		return evbuffer_add(out, s->t->x.mem->body + off, len) == 0;
	struct evbuffer_iovec v;
	if (evbuffer_reserve_space(out, (ev_ssize_t)len, &v, 1) < 1)
		return false;
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(s->t->x.fd >= 0 ? s->t->x.fd : -1, (char *)v.iov_base + got,
		                  len - got, (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false; /* truncated under us: Content-Length can no longer hold */
		got += (size_t)n;
	}
	v.iov_len = len;
	return evbuffer_commit_space(out, &v, 1) == 0;
}

bool http_body_pump(struct http_session *s)
{
	struct http_exchange *x = &s->t->x;
	if (x->body != HTTP_BODY_OUT_FILE || x->head_only)
		return true;
	bool plain = s->c->ssl == NULL;
	struct evbuffer *out = conn_output(s->c);
	while (x->ri < x->nranges) {
		if (!x->part_started) {
			if (x->multipart) {
				char buf[256];
				size_t n = part_header(x, x->ri, buf, sizeof(buf));
				evbuffer_add(out, buf, n);
			}
			x->off = x->ranges[x->ri].first;
			x->left = x->ranges[x->ri].last - x->ranges[x->ri].first + 1;
			x->part_started = true;
		}
		if (plain && x->left > COPY_MAX && !x->mem) {
			if (!x->seg) {
				x->seg = evbuffer_file_segment_new(x->fd, 0, (ev_off_t)x->size,
				                                   EVBUF_FS_CLOSE_ON_FREE);
				if (!x->seg) {
					conn_abort(s->c);
					return false;
				}
			}
			if (evbuffer_add_file_segment(out, x->seg, (ev_off_t)x->off,
			                              (ev_off_t)x->left) < 0) {
				conn_abort(s->c);
				return false;
			}
			conn_cork(s->c);
			x->sent += x->left;
			x->left = 0;
		}
		while (x->left > 0) {
			if (!plain && conn_output_full(s->c))
				return false;
			size_t n = x->left < CHUNK ? (size_t)x->left : CHUNK;
			if (!copy_piece(s, x->off, n)) {
				log_msg(LOG_LEVEL_WARN, s->c->id, "http file read failed");
				conn_abort(s->c);
				return false;
			}
			x->off += n;
			x->left -= n;
			x->sent += n;
		}
		x->ri++;
		x->part_started = false;
	}
	if (x->multipart && !x->trailer_done) {
		char buf[48];
		int n = snprintf(buf, sizeof(buf), "\r\n--%s--\r\n", x->boundary);
		evbuffer_add(out, buf, (size_t)n);
		x->trailer_done = true;
	}
	x->sent = x->body_len;
	return true;
}
