/*
 * httpd/proxy_http.c: HTTP/1.1 to an upstream server. The request head is
 * built straight into the upstream conn's output (one reservation sized by
 * a bound computed from the client's head, no copy); the response head goes
 * through the strict parser of uphead.c and its body is framed by
 * Content-Length, chunked or the connection's close (RFC 9112 §6.3).
 */
#include "proxy_exchange.h"
#include "conf.h"

#include <stdio.h>
#include <string.h>

#include "triad/conn.h"
#include "triad/limits.h"
#include "triad/log.h"
#include "triad/strlit.h"

bool px_is_idempotent(enum http_method m)
{
	return m == HTTP_METHOD_GET || m == HTTP_METHOD_HEAD || m == HTTP_METHOD_PUT ||
	       m == HTTP_METHOD_DELETE || m == HTTP_METHOD_OPTIONS || m == HTTP_METHOD_TRACE;
}

static void put_slice(struct http_head *h, struct http_slice sl)
{
	if (sl.p && sl.len)
		http_head_add(h, sl.p, sl.len);
}

/* Joined values of every field named NAME, ", " between lines; false: none. */
static bool joined(const struct http_request *r, const char *name, struct http_head *h)
{
	bool any = false;
	for (unsigned i = 0; i < r->nfields; i++) {
		if (!http_field_is(&r->fields[i], name))
			continue;
		if (any)
			http_head_add(h, STRLIT(", "));
		put_slice(h, r->fields[i].value);
		any = true;
	}
	return any;
}

/* RFC 7239 §4: a value that is not a token is a quoted-string. */
static void fwd_value(struct http_head *h, const char *v, size_t n, bool brackets)
{
	bool token = !brackets;
	for (size_t i = 0; i < n && token; i++)
		token = http_is_tchar((unsigned char)v[i]);
	if (token) {
		http_head_add(h, v, n);
		return;
	}
	http_head_add(h, brackets ? "\"[" : "\"", brackets ? 2 : 1);
	for (size_t i = 0; i < n; i++) {
		if (v[i] == '"' || v[i] == '\\')
			http_head_add(h, STRLIT("\\"));
		http_head_add(h, v + i, 1);
	}
	http_head_add(h, brackets ? "]\"" : "\"", brackets ? 2 : 1);
}

struct http_slice px_host_of(struct http_session *s, char *buf, size_t len)
{
	if (s->t->req.host.p)
		return s->t->req.host;
	struct conn_ip ip = conn_local_ip(s->c);
	bool v6 = strchr(ip.s, ':') != NULL;
	int n = snprintf(buf, len, "%s%s%s:%u", v6 ? "[" : "", ip.s, v6 ? "]" : "",
	                 s->c->local_port);
	return (struct http_slice){{.p = buf}, n > 0 ? (size_t)n : 0};
}

bool px_wants_websocket(const struct http_request *r)
{
	bool up = false, conn = false;
	for (unsigned i = 0; i < r->nfields; i++) {
		const struct http_field *f = &r->fields[i];
		if (http_field_is(f, "upgrade") && f->value.len >= 9) {
			for (size_t k = 0; k + 9 <= f->value.len; k++)
				if (http_eq_ci(f->value.p + k, 9, "websocket"))
					up = true;
		}
		if (http_field_is(f, "connection")) {
			for (size_t k = 0; k + 7 <= f->value.len; k++)
				if (http_eq_ci(f->value.p + k, 7, "upgrade"))
					conn = true;
		}
	}
	return up && conn;
}

/* The most bytes px_http_request_head() writes for request R with HOST:
 * the client's fields at most twice (passed on, or joined into
 * X-Forwarded-For / Forwarded / Upgrade), the request line, Host three
 * times (Host, X-Forwarded-Host, Forwarded's host= quoted: at most 2n+2)
 * and HTTP_PROXY_HEAD_EXTRA for our own names, addresses and numbers. */
static size_t head_bound(const struct http_request *r, size_t host_len)
{
	size_t fields = 0;
	for (unsigned i = 0; i < r->nfields; i++)
		fields += r->fields[i].name.len + r->fields[i].value.len + 4;
	return r->method_text.len + r->target.len + r->path.len + r->query.len + 2 * fields +
	       4 * host_len + HTTP_PROXY_HEAD_EXTRA;
}

bool px_http_request_head(struct http_proxy *px)
{
	struct http_session *s = px->s;
	const struct http_request *r = &s->t->req;
	char hbuf[80];
	struct http_slice host = px_host_of(s, hbuf, sizeof(hbuf));
	size_t cap = head_bound(r, host.len);
	char *p = conn_out_reserve(px->up, cap);
	if (!p)
		return false;
	struct http_head b = {p, 0, cap, false};
	struct http_head *h = &b;
	put_slice(h, r->method_text);
	http_head_add(h, STRLIT(" "));
	if (r->form == HTTP_TARGET_ABSOLUTE) {
		if (r->path.len)
			put_slice(h, r->path);
		else
			http_head_add(h, STRLIT("/"));
		if (r->query.p) {
			http_head_add(h, STRLIT("?"));
			put_slice(h, r->query);
		}
	} else {
		put_slice(h, r->target);
	}
	http_head_add(h, STRLIT(" HTTP/1.1\r\nHost: "));
	put_slice(h, host);
	http_head_add(h, STRLIT("\r\n"));
	bool hop[HTTP_HEADER_FIELDS_MAX];
	http_hop_marks(r->fields, r->nfields, hop);
	for (unsigned i = 0; i < r->nfields; i++) {
		const struct http_field *f = &r->fields[i];
		if (hop[i] || http_field_is(f, "host") ||
		    http_field_is(f, "content-length") || http_field_is(f, "x-forwarded-for") ||
		    http_field_is(f, "x-forwarded-proto") || http_field_is(f, "x-forwarded-host") ||
		    http_field_is(f, "forwarded"))
			continue;
		put_slice(h, f->name);
		http_head_add(h, STRLIT(": "));
		put_slice(h, f->value);
		http_head_add(h, STRLIT("\r\n"));
	}
	if (r->framing == HTTP_BODY_LENGTH) {
		http_head_add(h, STRLIT("Content-Length: "));
		http_head_u64(h, r->content_length);
		http_head_add(h, STRLIT("\r\n"));
	} else if (r->framing == HTTP_BODY_CHUNKED) {
		http_head_add(h, STRLIT("Transfer-Encoding: chunked\r\n"));
	}
	if (px->websocket) {
		http_head_add(h, STRLIT("Connection: upgrade\r\nUpgrade: "));
		for (unsigned i = 0; i < r->nfields; i++)
			if (http_field_is(&r->fields[i], "upgrade")) {
				put_slice(h, r->fields[i].value);
				break;
			}
		http_head_add(h, STRLIT("\r\n"));
	} else if (px->pool->keepalive == 0) {
		http_head_add(h, STRLIT("Connection: close\r\n"));
	}
	bool tls = conn_is_tls(s->c);
	struct conn_ip ip = conn_peer_ip(s->c);
	size_t iplen = strlen(ip.s);
	http_head_add(h, STRLIT("X-Forwarded-For: "));
	if (joined(r, "x-forwarded-for", h))
		http_head_add(h, STRLIT(", "));
	http_head_add(h, ip.s, iplen);
	if (tls)
		http_head_add(h, STRLIT("\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: "));
	else
		http_head_add(h, STRLIT("\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: "));
	put_slice(h, host);
	http_head_add(h, STRLIT("\r\nForwarded: "));
	if (joined(r, "forwarded", h))
		http_head_add(h, STRLIT(", "));
	http_head_add(h, STRLIT("for="));
	fwd_value(h, ip.s, iplen, strchr(ip.s, ':') != NULL);
	if (tls)
		http_head_add(h, STRLIT(";proto=https;host="));
	else
		http_head_add(h, STRLIT(";proto=http;host="));
	fwd_value(h, host.p, host.len, false);
	http_head_add(h, STRLIT("\r\n\r\n"));
	if (h->overflow) {
		/* head_bound() is wrong: say so rather than send a cut head */
		log_msg(LOG_LEVEL_ERROR, s->c->id, "upstream pool=%s: request head over its bound %zu",
		        px->pool->name, cap);
		conn_out_commit(px->up, p, 0);
		return false;
	}
	return conn_out_commit(px->up, p, h->len) == 0;
}

bool px_http_head_in(struct http_proxy *px)
{
	struct http_session *s = px->s;
	struct conn *up = px->up;
	for (;;) {
		size_t len = conn_in_len(up);
		if (len == 0)
			return false;
		/* The parser fails a head longer than max_head: it never needs more. */
		size_t max = px->rp.max_head + 1;
		if (px->rp.max_head && len > max)
			len = max;
		const char *buf = conn_in_peek(up, len);
		if (!buf || (!px->resp && !(px->resp = malloc(sizeof(*px->resp))))) {
			px_fail(px, 502);
			return false;
		}
		enum http_parse_status st = http_resp_parse(&px->rp, buf, len, px->resp);
		if (st == HTTP_PARSE_AGAIN)
			return false;
		if (st == HTTP_PARSE_ERROR) {
			px_fail_bad(px, "bad head", px->rp.error_reason);
			return false;
		}
		struct http_response *r = px->resp;
		if (r->status == 101) {
			if (!px->websocket || !r->upgrade) {
				px_log_fail(px, "bad head (unrequested 101)");
				px_fail(px, 502);
				return false;
			}
			s->t->x.close = false;
			/* Upgrade is hop-by-hop: the server's value is passed on by hand */
			char extra[256] = "Connection: upgrade\r\n";
			for (unsigned i = 0; i < r->nfields; i++)
				if (http_field_is(&r->fields[i], "upgrade") && r->fields[i].value.len < 200) {
					snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra),
					         "Upgrade: %.*s\r\n", (int)r->fields[i].value.len,
					         r->fields[i].value.p);
					break;
				}
			px_client_head(px, 101, r->fields, r->nfields, false, false, 0, extra);
			conn_in_consume(up, r->head_len);
			px_tunnel_start(px);
			return false;
		}
		if (r->status < 200) {
			/* 100, 102, 103: interim, dropped (the final head follows) */
			conn_in_consume(up, r->head_len);
			http_resp_init(&px->rp, (size_t)s->app->h->max_header_size,
			               s->t->req.method == HTTP_METHOD_HEAD);
			continue;
		}
		px->framing = r->framing;
		px->resp_left = r->content_length;
		px->up_close = r->conn_close || r->framing == HTTP_RESP_BODY_CLOSE;
		http_chunked_init(&px->resp_chunked, UINT64_MAX);
		px->resp_chunked.yield = true;
		bool body = r->framing != HTTP_RESP_BODY_NONE;
		bool has_len = r->framing == HTTP_RESP_BODY_LENGTH ||
		               (r->framing == HTTP_RESP_BODY_NONE && r->has_length);
		px_client_head(px, r->status, r->fields, r->nfields, body, has_len, r->content_length,
		               NULL);
		conn_in_consume(up, r->head_len);
		px->phase = PX_BODY;
		return true;
	}
}

int px_http_body_in(struct http_proxy *px, bool eof)
{
	struct conn *up = px->up;
	struct conn *cc = px->s->c;
	if (px->framing == HTTP_RESP_BODY_NONE)
		return 1;
	while (conn_in_len(up) > 0 && (eof || !conn_output_full(cc))) {
		if (px->framing == HTTP_RESP_BODY_LENGTH) {
			px->resp_left -= px_client_body_move(px, px->resp_left);
			if (px->resp_left == 0)
				return 1;
			continue;
		}
		if (px->framing == HTTP_RESP_BODY_CLOSE) {
			px_client_body_move(px, SIZE_MAX);
			continue;
		}
		size_t n, used = 0;
		const char *p = conn_in_chunk(up, &n);
		if (!p)
			break;
		enum http_chunked_status st = http_chunked_decode(&px->resp_chunked, p, n, &used);
		if (st == HTTP_CHUNKED_ERROR) {
			px_log_fail(px, "bad chunked body");
			px->up_close = true;
			px->s->t->x.close = true;
			px_up_release(px, false);
			px_done(px);
			return -1;
		}
		if (px->resp_chunked.data_len)
			px_client_body(px, p + px->resp_chunked.data_off, px->resp_chunked.data_len);
		conn_in_consume(up, used);
		if (st == HTTP_CHUNKED_DONE)
			return 1;
	}
	if (px->framing == HTTP_RESP_BODY_LENGTH && px->resp_left == 0)
		return 1;
	return 0;
}
