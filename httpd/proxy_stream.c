/*
 * httpd/proxy_stream.c: the bodies of a proxied exchange, both ways, and
 * the response head the client gets.
 *
 * Back-pressure: bytes move only while the receiving conn's output is below
 * its high watermark; what is left stays in the sending conn's input, whose
 * read bound then stops reading from that socket. Memory per request is
 * therefore bounded by the two conns' buffers whatever the sizes and
 * speeds. Body bytes that need no reframing and no copy for the cache are
 * moved from one conn's buffer to the other's, not copied.
 */
#include "proxy_exchange.h"
#include "conf.h"

#include <stdlib.h>
#include <string.h>

#include "triad/conn.h"
#include "triad/iobuf.h"
#include "triad/limits.h"
#include "triad/strlit.h"

/* ---- request body: client -> upstream ----------------------------------------- */

static void body_out(struct http_proxy *px, const char *p, size_t n)
{
	if (px->fcgi) {
		while (n > 0) {
			size_t k = n > HTTP_PROXY_FCGI_STDIN_PIECE ? HTTP_PROXY_FCGI_STDIN_PIECE : n;
			px_fcgi_record(px->up, FCGI_STDIN, p, k);
			p += k;
			n -= k;
		}
	} else if (px->s->t->req.framing == HTTP_BODY_CHUNKED) {
		conn_printf(px->up, "%zx\r\n", n);
		conn_write(px->up, p, n);
		conn_write(px->up, STRLIT("\r\n"));
	} else {
		conn_write(px->up, p, n);
	}
}

static void body_end(struct http_proxy *px)
{
	px->req_done = true;
	if (!px->req_sent && px->up) {
		if (px->fcgi)
			px_fcgi_record(px->up, FCGI_STDIN, NULL, 0);
		else if (px->s->t->req.framing == HTTP_BODY_CHUNKED)
			conn_write(px->up, STRLIT("0\r\n\r\n"));
		px->req_sent = true;
		conn_set_timeouts(px->up, px->pool->timeout, px->pool->timeout);
	}
	http_session_proxy_timer(px->s, false);
}

bool px_take_body(struct http_proxy *px, bool to_buf)
{
	struct http_session *s = px->s;
	struct conn *c = s->c;
	const struct http_request *r = &s->t->req;
	while (!px->req_done && conn_in_len(c) > 0) {
		if (!to_buf && conn_output_full(px->up))
			return true;
		http_session_proxy_timer(s, true); /* progress: the body timer starts again */
		px->body_started = true;
		if (r->framing == HTTP_BODY_LENGTH && !to_buf && !px->fcgi) {
			/* as it came: moved, not copied */
			ssize_t n = conn_in_move(c, px->up, px->req_left);
			if (n <= 0)
				return true;
			c->bytes_in += (size_t)n;
			px->req_left -= (size_t)n;
			if (px->req_left == 0)
				body_end(px);
			continue;
		}
		size_t len;
		const char *p = conn_in_chunk(c, &len);
		if (!p)
			return true;
		if (r->framing == HTTP_BODY_LENGTH) {
			size_t n = len < px->req_left ? len : (size_t)px->req_left;
			if (to_buf)
				iobuf_add(px->body_buf, p, n);
			else
				body_out(px, p, n);
			conn_in_consume(c, n);
			c->bytes_in += n;
			px->req_left -= n;
			if (px->req_left == 0)
				body_end(px);
			continue;
		}
		size_t used = 0;
		enum http_chunked_status st = http_chunked_decode(&px->req_chunked, p, len, &used);
		if (st == HTTP_CHUNKED_ERROR) {
			int status = px->req_chunked.error_status;
			px->req_done = false; /* never trust the framing again: close */
			if (px->head_sent) {
				s->t->x.close = true;
				px_done(px);
			} else {
				px_fail(px, status);
			}
			return false;
		}
		if (px->req_chunked.data_len) {
			const char *d = p + px->req_chunked.data_off;
			if (to_buf)
				iobuf_add(px->body_buf, d, px->req_chunked.data_len);
			else
				body_out(px, d, px->req_chunked.data_len);
		}
		conn_in_consume(c, used);
		c->bytes_in += used;
		if (st == HTTP_CHUNKED_DONE)
			body_end(px);
	}
	return true;
}

void px_pump_body(struct http_proxy *px)
{
	if (!px->up || px->req_sent || px->phase < PX_WAIT)
		return;
	if (px->body_buf) {
		px_fcgi_stdin_iobuf(px->up, px->body_buf);
		body_end(px);
		return;
	}
	if (px->req_done) {
		body_end(px);
		return;
	}
	px_take_body(px, false);
}

/* ---- response: upstream -> client ----------------------------------------------- */

bool px_skip_response_field(const struct http_field *f, bool hop)
{
	return hop || http_field_is(f, "content-length") ||
	       http_field_is(f, "date") || http_field_is(f, "server") ||
	       http_field_is(f, "x-content-type-options");
}

void px_client_head(struct http_proxy *px, int status, const struct http_field *fields,
                    unsigned n, bool body, bool has_length, uint64_t length, const char *extra)
{
	struct http_session *s = px->s;
	struct http_exchange *x = &s->t->x;
	size_t cap = 1024; /* status line, Date, Server, our framing and Cache-Status */
	for (unsigned i = 0; i < n; i++)
		cap += fields[i].name.len + fields[i].value.len + 4;
	char stack[HTTP_RESPONSE_HEAD_MAX];
	char *buf = cap <= sizeof(stack) ? stack : malloc(cap);
	if (!buf) {
		px_fail(px, 502);
		return;
	}
	struct http_head h = {buf, 0, cap, false};
	char cs[160] = "";
	if (s->app->rcache && status >= 200)
		px_cache_head(px, status, fields, n, has_length, length, cs, sizeof(cs));
	if (status == 304 || status == 204 || status < 200)
		x->head_only = true;
	px->discard = x->head_only;
	/* The same order as a cache hit's head (proxy_cache.c): ours first, then
	 * the server's fields and the framing, so a hit's bytes are a miss's
	 * but for Date, Age and Cache-Status. */
	px->chunked_out = false;
	bool framed = has_length && status != 204 && status >= 200;
	if (!framed && body && !x->head_only) {
		if (s->t->req.version == HTTP_VERSION_1_1)
			px->chunked_out = true;
		else
			x->close = true; /* HTTP/1.0: the body ends with the connection */
	}
	http_head_start(s, &h, status);
	http_head_str(&h, cs);
	http_head_session_fields(s, &h);
	bool hop[HTTP_HEADER_FIELDS_MAX];
	http_hop_marks(fields, n, hop);
	for (unsigned i = 0; i < n; i++) {
		if (px_skip_response_field(&fields[i], hop[i]))
			continue;
		http_head_add(&h, fields[i].name.p, fields[i].name.len);
		http_head_add(&h, STRLIT(": "));
		http_head_add(&h, fields[i].value.p, fields[i].value.len);
		http_head_add(&h, STRLIT("\r\n"));
	}
	if (extra)
		http_head_str(&h, extra);
	if (framed) {
		http_head_str(&h, "Content-Length: ");
		http_head_u64(&h, length);
		http_head_add(&h, STRLIT("\r\n"));
	} else if (px->chunked_out) {
		http_head_str(&h, "Transfer-Encoding: chunked\r\n");
	}
	http_head_add(&h, STRLIT("\r\n"));
	http_head_send(s, &h);
	if (buf != stack)
		free(buf);
	px->head_sent = true;
}

void px_client_body(struct http_proxy *px, const void *p, size_t n)
{
	struct http_session *s = px->s;
	if (n == 0)
		return;
	px_cache_body(px, p, n);
	if (px->discard)
		return;
	if (px->chunked_out)
		conn_printf(s->c, "%zx\r\n", n);
	conn_write(s->c, p, n);
	if (px->chunked_out)
		conn_write(s->c, STRLIT("\r\n"));
	s->t->x.sent += n;
}

size_t px_client_body_move(struct http_proxy *px, size_t n)
{
	struct conn *up = px->up, *cc = px->s->c;
	size_t have = conn_in_len(up);
	if (n > have)
		n = have;
	if (n == 0)
		return 0;
	if (px->store || px->discard) {
		/* the cache keeps a copy, or nothing goes to the client: piece by piece */
		size_t len;
		const char *p = conn_in_chunk(up, &len);
		if (len > n)
			len = n;
		px_client_body(px, p, len);
		conn_in_consume(up, len);
		return len;
	}
	if (px->chunked_out)
		conn_printf(cc, "%zx\r\n", n);
	ssize_t moved = conn_in_move(up, cc, n);
	if (moved < 0) {
		/* the client takes no more output: the bytes are dropped as conn_write would */
		conn_in_consume(up, n);
		moved = (ssize_t)n;
	}
	if (px->chunked_out)
		conn_write(cc, STRLIT("\r\n"));
	px->s->t->x.sent += (size_t)moved;
	return (size_t)moved;
}

void px_complete(struct http_proxy *px)
{
	struct http_session *s = px->s;
	if (px->chunked_out)
		conn_write(s->c, STRLIT("0\r\n\r\n"));
	bool keep = !px->up_close && px->req_sent && px->up && conn_in_len(px->up) == 0;
	if (px->fcgi)
		keep = keep && px->pool->keepalive && px->fdec.protocol_status == FCGI_REQUEST_COMPLETE;
	px_up_release(px, keep);
	px_cache_complete(px);
	px_done(px);
}
