/*
 * httpd/proxy_fcgi.c: FastCGI to an upstream server (the FastCGI 1.0
 * specification, as php-fpm speaks it): BEGIN_REQUEST, the CGI/1.1
 * variables as PARAMS (RFC 3875 §4.1), the body as STDIN records, and the
 * server's STDOUT parsed as a CGI response (cgiresp.c), STDERR to the error
 * log. Records are written straight into the upstream conn's output.
 */
#include "proxy_exchange.h"
#include "conf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "triad/conn.h"
#include "triad/iobuf.h"
#include "triad/limits.h"
#include "triad/log.h"
#include "triad/strlit.h"

#define FCGI_ID 1 /* one request per connection at a time: always id 1 */

/* Reserves one record of type T with LEN content bytes in UP's output, its
 * header and padding written: the content goes at the pointer returned,
 * then record_close(). NULL: the conn takes no more output (the exchange
 * then fails on its own). */
static char *record_open(struct conn *up, enum fcgi_type t, size_t len, char **start,
                         size_t *total)
{
	unsigned char h[FCGI_HEADER_LEN];
	unsigned pad = fcgi_header(h, t, FCGI_ID, (uint16_t)len);
	*total = sizeof(h) + len + pad;
	char *p = conn_out_reserve(up, *total);
	if (!p)
		return NULL;
	memcpy(p, h, sizeof(h));
	memset(p + sizeof(h) + len, 0, pad);
	*start = p;
	return p + sizeof(h);
}

void px_fcgi_record(struct conn *up, enum fcgi_type t, const void *data, size_t len)
{
	char *start;
	size_t total;
	char *p = record_open(up, t, len, &start, &total);
	if (!p)
		return;
	if (len)
		memcpy(p, data, len);
	conn_out_commit(up, start, total);
}

/* DATA as records of type T (a stream), never the empty end record. */
static void record_stream(struct conn *up, enum fcgi_type t, const unsigned char *data, size_t n)
{
	while (n > 0) {
		size_t k = n > HTTP_PROXY_FCGI_STDIN_PIECE ? HTTP_PROXY_FCGI_STDIN_PIECE : n;
		px_fcgi_record(up, t, data, k);
		data += k;
		n -= k;
	}
}

void px_fcgi_stdin_iobuf(struct conn *up, struct iobuf *b)
{
	while (iobuf_len(b) > 0) {
		size_t n = iobuf_len(b);
		if (n > HTTP_PROXY_FCGI_STDIN_PIECE)
			n = HTTP_PROXY_FCGI_STDIN_PIECE;
		char *start;
		size_t total;
		char *p = record_open(up, FCGI_STDIN, n, &start, &total);
		if (!p)
			return;
		iobuf_copy(b, p, n);
		conn_out_commit(up, start, total);
		iobuf_consume(b, n);
	}
}

/* The PARAMS stream being built: a flat buffer sized by params_bound(). */
struct params {
	unsigned char *p;
	size_t len, cap;
	bool overflow;
};

static void param(struct params *b, const char *name, const char *v, size_t vlen)
{
	size_t n = fcgi_pair(b->p + b->len, b->cap - b->len, name, strlen(name), v, vlen);
	if (n == 0)
		b->overflow = true;
	b->len += n;
}

static void param_s(struct params *b, const char *name, const char *v)
{
	param(b, name, v, strlen(v));
}

static void param_sl(struct params *b, const char *name, struct http_slice sl)
{
	param(b, name, sl.p ? sl.p : "", sl.p ? sl.len : 0);
}

static bool same_name(const struct http_field *a, const struct http_field *b)
{
	if (a->name.len != b->name.len)
		return false;
	for (size_t i = 0; i < a->name.len; i++)
		if (http_lower((unsigned char)a->name.p[i]) != http_lower((unsigned char)b->name.p[i]))
			return false;
	return true;
}

/* HTTP_* for every request field but the hop-by-hop ones, Content-Type and
 * -Length (CGI's own variables) and Proxy (httpoxy); lines of one field
 * joined by ", " (Cookie: "; "), as RFC 3875 §4.1.18 asks. The value is
 * joined in VAL (as large as the whole request head). */
static void http_params(struct params *b, const struct http_request *r, char *val)
{
	bool done[HTTP_HEADER_FIELDS_MAX] = {false};
	bool hop[HTTP_HEADER_FIELDS_MAX];
	http_hop_marks(r->fields, r->nfields, hop);
	for (unsigned i = 0; i < r->nfields; i++) {
		const struct http_field *f = &r->fields[i];
		if (done[i] || hop[i] ||
		    http_field_is(f, "content-type") || http_field_is(f, "content-length") ||
		    http_field_is(f, "proxy") || f->name.len > 200)
			continue;
		char name[5 + 201];
		memcpy(name, STRLIT("HTTP_"));
		for (size_t k = 0; k < f->name.len; k++) {
			unsigned char ch = (unsigned char)f->name.p[k];
			name[5 + k] = ch == '-' ? '_' : (char)(ch >= 'a' && ch <= 'z' ? ch - 32 : ch);
		}
		name[5 + f->name.len] = '\0';
		bool cookie = http_field_is(f, "cookie");
		size_t vl = 0;
		for (unsigned k = i; k < r->nfields; k++) {
			const struct http_field *g = &r->fields[k];
			if (k != i && (done[k] || !same_name(f, g)))
				continue;
			if (vl) {
				val[vl++] = cookie ? ';' : ','; /* RFC 6265 §5.4 joins cookies with "; " */
				val[vl++] = ' ';
			}
			if (g->value.len)
				memcpy(val + vl, g->value.p, g->value.len);
			vl += g->value.len;
			done[k] = true;
		}
		param(b, name, val, vl);
	}
}

/* The most bytes the PARAMS stream of this request takes: every pair's name
 * and value plus 8 bytes of lengths; the client's fields once each (as
 * HTTP_*, "HTTP_" and a separator more), the target twice (REQUEST_URI,
 * QUERY_STRING), and HTTP_PROXY_HEAD_EXTRA for our own variables. */
static size_t params_bound(const struct http_proxy *px, const struct http_request *r,
                           size_t host_len, size_t *fields_out)
{
	size_t fields = 0;
	for (unsigned i = 0; i < r->nfields; i++)
		fields += r->fields[i].name.len + r->fields[i].value.len + 5 + 2 + 8;
	*fields_out = fields;
	return fields + 2 * (r->target.len + r->path.len + r->query.len + 2) + r->method_text.len +
	       host_len + strlen(px->script_file) + strlen(px->script_name) +
	       strlen(px->path_info) + strlen(px->docroot_abs) + HTTP_PROXY_HEAD_EXTRA;
}

bool px_fcgi_request_head(struct http_proxy *px)
{
	struct http_session *s = px->s;
	const struct http_request *r = &s->t->req;
	unsigned char begin[16];
	fcgi_begin_request(begin, FCGI_ID, px->pool->keepalive ? FCGI_KEEP_CONN : 0);
	if (conn_write(px->up, begin, sizeof(begin)) < 0)
		return false;

	char num[32], hbuf[80];
	struct http_slice host = px_host_of(s, hbuf, sizeof(hbuf));
	size_t fields;
	size_t cap = params_bound(px, r, host.len, &fields);
	/* after the params: http_params' scratch for one joined value, or an
	 * absolute-form target's path and query */
	size_t scratch = fields + r->path.len + r->query.len + 2;
	struct params b = {malloc(cap + scratch), 0, cap, false};
	if (!b.p)
		return false;
	char *val = (char *)b.p + cap;
	param_s(&b, "GATEWAY_INTERFACE", "CGI/1.1");
	param_s(&b, "SERVER_SOFTWARE", "triad/" TRIAD_VERSION);
	param_s(&b, "SERVER_PROTOCOL", r->version == HTTP_VERSION_1_0 ? "HTTP/1.0" : "HTTP/1.1");
	param_sl(&b, "REQUEST_METHOD", r->method_text);
	param_s(&b, "SCRIPT_FILENAME", px->script_file);
	param_s(&b, "SCRIPT_NAME", px->script_name);
	param_s(&b, "PATH_INFO", px->path_info);
	param_s(&b, "DOCUMENT_ROOT", px->docroot_abs);
	if (r->form == HTTP_TARGET_ABSOLUTE) {
		/* the path and query of an absolute-form target, joined in the scratch */
		size_t ul = 0;
		struct http_slice path = r->path.len ? r->path : (struct http_slice){{.p = "/"}, 1};
		memcpy(val, path.p, path.len);
		ul = path.len;
		if (r->query.p) {
			val[ul++] = '?';
			memcpy(val + ul, r->query.p, r->query.len);
			ul += r->query.len;
		}
		param(&b, "REQUEST_URI", val, ul);
	} else {
		param_sl(&b, "REQUEST_URI", r->target);
	}
	param_sl(&b, "QUERY_STRING", r->query);
	struct http_slice ctype = {{NULL}, 0};
	for (unsigned i = 0; i < r->nfields; i++)
		if (http_field_is(&r->fields[i], "content-type"))
			ctype = r->fields[i].value;
	param_sl(&b, "CONTENT_TYPE", ctype);
	uint64_t clen = px->body_buf ? iobuf_len(px->body_buf)
	                : r->framing == HTTP_BODY_LENGTH ? r->content_length : 0;
	if (px->body_buf || r->framing == HTTP_BODY_LENGTH) {
		snprintf(num, sizeof(num), "%llu", (unsigned long long)clen);
		param_s(&b, "CONTENT_LENGTH", num);
	} else {
		param_s(&b, "CONTENT_LENGTH", "");
	}
	size_t hl = host.len;
	/* SERVER_NAME: the host without its port ("[v6]" keeps its brackets) */
	for (size_t k = host.len; k > 0; k--) {
		if (host.p[k - 1] == ']')
			break;
		if (host.p[k - 1] == ':') {
			hl = k - 1;
			break;
		}
	}
	param(&b, "SERVER_NAME", host.p, hl);
	snprintf(num, sizeof(num), "%u", s->c->local_port);
	param_s(&b, "SERVER_PORT", num);
	param_s(&b, "SERVER_ADDR", conn_local_ip(s->c).s);
	param_s(&b, "REMOTE_ADDR", conn_peer_ip(s->c).s);
	snprintf(num, sizeof(num), "%u", s->c->peer_port);
	param_s(&b, "REMOTE_PORT", num);
	if (conn_is_tls(s->c))
		param_s(&b, "HTTPS", "on");
	param_s(&b, "REDIRECT_STATUS", "200"); /* php-cgi's force-cgi-redirect check */
	http_params(&b, r, val);
	if (b.overflow) {
		log_msg(LOG_LEVEL_ERROR, s->c->id, "upstream pool=%s: FastCGI params over their bound %zu",
		        px->pool->name, cap);
		free(b.p);
		return false;
	}
	record_stream(px->up, FCGI_PARAMS, b.p, b.len);
	px_fcgi_record(px->up, FCGI_PARAMS, NULL, 0);
	free(b.p);
	return true;
}

/* STDOUT before the CGI head is whole: gathered, then parsed. False: px is gone. */
static bool cgi_head_in(struct http_proxy *px, const unsigned char *data, size_t dlen)
{
	if (px->cgi_len + dlen > px->cgi_cap) {
		size_t cap = px->cgi_cap ? px->cgi_cap : 1024;
		while (cap < px->cgi_len + dlen)
			cap *= 2;
		char *p = realloc(px->cgi_head, cap);
		if (!p) {
			px_fail(px, 502);
			return false;
		}
		px->cgi_head = p;
		px->cgi_cap = cap;
	}
	memcpy(px->cgi_head + px->cgi_len, data, dlen);
	px->cgi_len += dlen;
	if (!px->cgi && !(px->cgi = malloc(sizeof(*px->cgi)))) {
		px_fail(px, 502);
		return false;
	}
	enum http_parse_status st = http_cgi_parse(&px->cp, px->cgi_head, px->cgi_len, px->cgi);
	if (st == HTTP_PARSE_ERROR) {
		px_fail_bad(px, "bad head", px->cp.error_reason);
		return false;
	}
	if (st == HTTP_PARSE_OK) {
		const struct http_cgi_response *r = px->cgi;
		bool body = r->status != 204 && r->status != 304;
		px_client_head(px, r->status, r->fields, r->nfields, body, false, 0, NULL);
		px->phase = PX_BODY;
		px_client_body(px, px->cgi_head + r->head_len, px->cgi_len - r->head_len);
		px->cgi_len = 0;
	}
	return true;
}

int px_fcgi_in(struct http_proxy *px, bool eof)
{
	struct http_session *s = px->s;
	struct conn *up = px->up;
	while (conn_in_len(up) > 0 && (eof || !px->head_sent || !conn_output_full(s->c))) {
		size_t n;
		const char *p = conn_in_chunk(up, &n);
		if (!p)
			break;
		size_t used;
		const unsigned char *data;
		size_t dlen;
		enum fcgi_event ev =
		    fcgi_decode(&px->fdec, (const unsigned char *)p, n, &used, &data, &dlen);
		if (ev == FCGI_EV_ERROR) {
			px_fail_bad(px, "bad FastCGI record", px->fdec.error_reason);
			return -1;
		}
		if (ev == FCGI_EV_STDERR) {
			char esc[600];
			size_t k = dlen > 256 ? 256 : dlen;
			while (k > 0 && (data[k - 1] == '\n' || data[k - 1] == '\r'))
				k--;
			log_escape(esc, sizeof(esc), data, k);
			log_msg(LOG_LEVEL_WARN, s->c->id, "upstream pool=%s server=%s stderr: %s",
			        px->pool->name, px_server_text(px), esc);
		} else if (ev == FCGI_EV_STDOUT && px->head_sent) {
			px_client_body(px, data, dlen);
		} else if (ev == FCGI_EV_STDOUT && !cgi_head_in(px, data, dlen)) {
			return -1;
		}
		conn_in_consume(up, used);
		if (ev == FCGI_EV_END) {
			px->fcgi_ended = true;
			if (!px->head_sent) {
				px_log_fail(px, "bad head (stdout ended without a CGI head)");
				px_fail(px, 502);
				return -1;
			}
			return 1;
		}
	}
	return 0;
}
