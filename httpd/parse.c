/*
 * httpd/parse.c: the request head parser (contract and policy in parse.h).
 *
 * One pass: http_parse() examines each byte once as it arrives (character
 * class, CR/LF pairing, the three limits) and hands every complete line to
 * request_line() or field_line(). Those validate the structure and fill the
 * request with offsets; done() runs the checks that need the whole head and
 * turns the offsets into pointers into the final buffer.
 */
#include "parse.h"
#include "triad/strlit.h"

#include <stdint.h>
#include <string.h>

enum { STAGE_START, STAGE_FIELDS, STAGE_DONE, STAGE_ERROR };

#define OFF_NONE SIZE_MAX

/* Fields the parser extracts; the index is also a bit in p->seen. */
enum hdr {
	H_OTHER,
	H_HOST,
	H_CONNECTION,
	H_CONTENT_LENGTH,
	H_TRANSFER_ENCODING,
	H_EXPECT,
	H_IF_MATCH,
	H_IF_NONE_MATCH,
	H_ACCEPT_ENCODING,
	H_IF_MODIFIED_SINCE,
	H_IF_UNMODIFIED_SINCE,
	H_IF_RANGE,
	H_RANGE,
	H_USER_AGENT,
	H_REFERER,
};
#define SEEN(h) (1u << (h))
#define DUP(h) (1u << ((h) + 16))

/* clang-format off */
static const struct {
	const char *name; /* lower case */
	unsigned char len;
	unsigned char id;
} known[] = {
	{"host", 4, H_HOST},
	{"range", 5, H_RANGE},
	{"expect", 6, H_EXPECT},
	{"referer", 7, H_REFERER},
	{"if-match", 8, H_IF_MATCH},
	{"if-range", 8, H_IF_RANGE},
	{"connection", 10, H_CONNECTION},
	{"user-agent", 10, H_USER_AGENT},
	{"if-none-match", 13, H_IF_NONE_MATCH},
	{"content-length", 14, H_CONTENT_LENGTH},
	{"accept-encoding", 15, H_ACCEPT_ENCODING},
	{"if-modified-since", 17, H_IF_MODIFIED_SINCE},
	{"transfer-encoding", 17, H_TRANSFER_ENCODING},
	{"if-unmodified-since", 19, H_IF_UNMODIFIED_SINCE},
};
/* clang-format on */

/* Transfer-Encoding state (p->te). */
enum {
	TE_SEEN = 1,
	TE_CHUNKED = 2,      /* chunked appeared */
	TE_TWICE = 4,        /* ... more than once */
	TE_LAST_CHUNKED = 8, /* the last coding so far is chunked */
	TE_OTHER = 16,       /* some other coding appeared */
};

/* clang-format off */
static const struct {
	const char *name;
	unsigned char len;
	enum http_method m;
} methods[] = {
	{"GET", 3, HTTP_METHOD_GET},         {"HEAD", 4, HTTP_METHOD_HEAD},
	{"POST", 4, HTTP_METHOD_POST},       {"PUT", 3, HTTP_METHOD_PUT},
	{"DELETE", 6, HTTP_METHOD_DELETE},   {"CONNECT", 7, HTTP_METHOD_CONNECT},
	{"OPTIONS", 7, HTTP_METHOD_OPTIONS}, {"TRACE", 5, HTTP_METHOD_TRACE},
	{"PATCH", 5, HTTP_METHOD_PATCH},
};
/* clang-format on */

const char *http_method_name(enum http_method m)
{
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (methods[i].m == m)
			return methods[i].name;
	return NULL;
}

static struct http_slice at(size_t off, size_t len)
{
	struct http_slice s;

	s.off = off;
	s.len = len;
	return s;
}

static const struct http_slice none = {.off = OFF_NONE, .len = 0};

static enum http_parse_status fail(struct http_parser *p, int status, const char *reason)
{
	p->stage = STAGE_ERROR;
	p->error_status = status;
	p->error_reason = reason;
	return HTTP_PARSE_ERROR;
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_hex(unsigned char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* unreserved / sub-delims (RFC 3986 §2.2, §2.3) as two 64-bit sets (bit c
 * for byte c below 0x40, bit c - 0x40 above): one shift per host byte. */
#define BIT(c) (UINT64_C(1) << ((unsigned)(c) & 63))
static const uint64_t uchar_lo = (UINT64_C(0x3ff) << 0x30) /* 0-9 */ | BIT('-') | BIT('.') |
                                 BIT('!') | BIT('$') | BIT('&') | BIT('\'') | BIT('(') |
                                 BIT(')') | BIT('*') | BIT('+') | BIT(',') | BIT(';') | BIT('=');
static const uint64_t uchar_hi = (UINT64_C(0x3ffffff) << 1) /* A-Z */ |
                                 (UINT64_C(0x3ffffff) << 0x21) /* a-z */ | BIT('_') | BIT('~');
#undef BIT

static bool is_uchar(unsigned char c)
{
	if (c < 0x40)
		return (uchar_lo >> c) & 1;
	return c < 0x80 && ((uchar_hi >> (c - 0x40)) & 1);
}

/*
 * uri-host [ ":" port ] (RFC 9110 §7.2, RFC 3986 §3.2.2). The host must not
 * be empty (RFC 9110 §4.2.1: an http URI with an empty host is invalid); the
 * port is at most 65535 and, unless NEED_PORT, may be absent or empty.
 */
static bool host_valid(const char *s, size_t n, bool need_port)
{
	size_t i = 0;

	if (n == 0)
		return false;
	if (s[0] == '[') {
		/* IP-literal: IPv6address / IPvFuture, checked loosely by alphabet */
		for (i = 1; i < n && s[i] != ']'; i++)
			if (!is_uchar((unsigned char)s[i]) && s[i] != ':')
				return false;
		if (i == n || i == 1)
			return false;
		i++;
	} else {
		while (i < n && s[i] != ':') {
			if (s[i] == '%') {
				if (i + 2 >= n || !is_hex((unsigned char)s[i + 1]) ||
				    !is_hex((unsigned char)s[i + 2]))
					return false;
				i += 3;
				continue;
			}
			if (!is_uchar((unsigned char)s[i]))
				return false;
			i++;
		}
		if (i == 0)
			return false;
	}
	if (i == n)
		return !need_port;
	if (s[i] != ':')
		return false;
	i++;
	if (i == n)
		return !need_port;
	if (n - i > 5)
		return false;
	unsigned port = 0;
	for (; i < n; i++) {
		if (!is_digit((unsigned char)s[i]))
			return false;
		port = port * 10 + (unsigned)(s[i] - '0');
	}
	return port <= 65535;
}

/* path [ "?" query ] starting at OFF: sets req->path and req->query. */
static void split_path(struct http_parser *p, const char *buf, size_t off, size_t n)
{
	const char *q = memchr(buf + off, '?', n);
	size_t plen = q ? (size_t)(q - (buf + off)) : n;

	p->req->path = at(off, plen);
	p->req->query = q ? at(off + plen + 1, n - plen - 1) : none;
	if (plen == 0)
		p->abs_empty_path = true;
}

static enum http_parse_status target(struct http_parser *p, const char *buf, size_t off, size_t n)
{
	struct http_request *req = p->req;
	const char *t = buf + off;

	req->target = at(off, n);
	/* A fragment is never part of a request-target (RFC 9112 §3.2). */
	if (memchr(t, '#', n))
		return fail(p, 400, "fragment in request target");
	if (req->method == HTTP_METHOD_CONNECT) {
		if (!host_valid(t, n, true))
			return fail(p, 400, "invalid CONNECT target");
		req->form = HTTP_TARGET_AUTHORITY;
		req->authority = at(off, n);
		return HTTP_PARSE_AGAIN;
	}
	if (t[0] == '/') {
		req->form = HTTP_TARGET_ORIGIN;
		split_path(p, buf, off, n);
		return HTTP_PARSE_AGAIN;
	}
	if (n == 1 && t[0] == '*') {
		if (req->method != HTTP_METHOD_OPTIONS)
			return fail(p, 400, "asterisk-form target outside OPTIONS");
		req->form = HTTP_TARGET_ASTERISK;
		return HTTP_PARSE_AGAIN;
	}

	/* absolute-form: scheme "://" authority path-abempty [ "?" query ] */
	size_t i = 0;
	if (!is_alpha((unsigned char)t[0]))
		return fail(p, 400, "invalid request target");
	while (i < n && (is_alpha((unsigned char)t[i]) || is_digit((unsigned char)t[i]) ||
	                 t[i] == '+' || t[i] == '-' || t[i] == '.'))
		i++;
	if (n - i < 3 || memcmp(t + i, STRLIT("://")) != 0)
		return fail(p, 400, "invalid request target");
	size_t a = i + 3, e = a;
	while (e < n && t[e] != '/' && t[e] != '?')
		e++;
	/* RFC 9110 §4.2.4: userinfo in an http(s) URI is to be treated as an error. */
	if (memchr(t + a, '@', e - a))
		return fail(p, 400, "userinfo in request target");
	if (!host_valid(t + a, e - a, false))
		return fail(p, 400, "invalid authority in request target");
	req->form = HTTP_TARGET_ABSOLUTE;
	req->scheme = at(off, i);
	req->authority = at(off + a, e - a);
	split_path(p, buf, off + e, n - e);
	return HTTP_PARSE_AGAIN;
}

static enum http_parse_status request_line(struct http_parser *p, const char *buf, size_t start,
                                           size_t n)
{
	struct http_request *req = p->req;
	const char *s = buf + start;
	const char *sp1 = memchr(s, ' ', n);

	if (sp1 == NULL || sp1 == s)
		return fail(p, 400, "malformed request line");
	size_t mlen = (size_t)(sp1 - s);
	for (size_t i = 0; i < mlen; i++)
		if (!http_is_tchar((unsigned char)s[i]))
			return fail(p, 400, "invalid method");
	const char *t = sp1 + 1;
	size_t rest = n - mlen - 1;
	const char *sp2 = memchr(t, ' ', rest);
	if (sp2 == NULL || sp2 == t)
		return fail(p, 400, "malformed request line");
	size_t tlen = (size_t)(sp2 - t);
	const char *v = sp2 + 1;
	size_t vlen = rest - tlen - 1;

	if (vlen != 8 || memcmp(v, STRLIT("HTTP/")) != 0 || !is_digit((unsigned char)v[5]) ||
	    v[6] != '.' || !is_digit((unsigned char)v[7]))
		return fail(p, 400, "malformed HTTP version");
	if (v[5] != '1')
		return fail(p, 505, "HTTP version not supported");
	req->version = v[7] == '0' ? HTTP_VERSION_1_0 : HTTP_VERSION_1_1;

	req->method_text = at(start, mlen);
	req->method = HTTP_METHOD_UNKNOWN;
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (methods[i].len == mlen && memcmp(methods[i].name, s, mlen) == 0)
			req->method = methods[i].m;

	if (target(p, buf, start + mlen + 1, tlen) == HTTP_PARSE_ERROR)
		return HTTP_PARSE_ERROR;
	p->stage = STAGE_FIELDS;
	return HTTP_PARSE_AGAIN;
}

/*
 * Next element of a comma-separated token list (RFC 9110 §5.6.1): skips OWS
 * and empty elements. Returns 1 with the token in *TS and *TL, 0 at the end, -1
 * when an element is not a lone token.
 */
static int next_token(const char *v, size_t n, size_t *i, size_t *ts, size_t *tl)
{
	while (*i < n && (is_ows((unsigned char)v[*i]) || v[*i] == ','))
		(*i)++;
	if (*i == n)
		return 0;
	*ts = *i;
	while (*i < n && http_is_tchar((unsigned char)v[*i]))
		(*i)++;
	*tl = *i - *ts;
	if (*tl == 0)
		return -1;
	while (*i < n && is_ows((unsigned char)v[*i]))
		(*i)++;
	if (*i < n && v[*i] != ',')
		return -1;
	return 1;
}

static enum http_parse_status content_length(struct http_parser *p, const char *v, size_t n)
{
	struct http_request *req = p->req;
	size_t i = 0;

	if (p->te & TE_SEEN)
		return fail(p, 400, "both Content-Length and Transfer-Encoding");
	for (;;) {
		size_t d0 = i;
		uint64_t x = 0;

		while (i < n && is_digit((unsigned char)v[i])) {
			unsigned d = (unsigned)(v[i] - '0');
			if (x > ((uint64_t)INT64_MAX - d) / 10)
				return fail(p, 400, "Content-Length too large");
			x = x * 10 + d;
			i++;
		}
		if (i == d0)
			return fail(p, 400, "invalid Content-Length");
		if ((p->seen & SEEN(H_CONTENT_LENGTH)) && x != req->content_length)
			return fail(p, 400, "differing Content-Length values");
		req->content_length = x;
		p->seen |= SEEN(H_CONTENT_LENGTH);
		while (i < n && is_ows((unsigned char)v[i]))
			i++;
		if (i == n)
			return HTTP_PARSE_AGAIN;
		if (v[i] != ',')
			return fail(p, 400, "invalid Content-Length");
		i++;
		while (i < n && is_ows((unsigned char)v[i]))
			i++;
	}
}

static enum http_parse_status transfer_encoding(struct http_parser *p, const char *v, size_t n)
{
	size_t i = 0, ts, tl;
	int r;

	if (p->seen & SEEN(H_CONTENT_LENGTH))
		return fail(p, 400, "both Content-Length and Transfer-Encoding");
	p->te |= TE_SEEN;
	while ((r = next_token(v, n, &i, &ts, &tl)) == 1) {
		if (http_eq_ci(v + ts, tl, "chunked")) {
			if (p->te & TE_CHUNKED)
				p->te |= TE_TWICE;
			p->te |= TE_CHUNKED | TE_LAST_CHUNKED;
		} else {
			p->te |= TE_OTHER;
			p->te &= ~(unsigned)TE_LAST_CHUNKED;
		}
	}
	if (r < 0)
		return fail(p, 400, "invalid Transfer-Encoding");
	return HTTP_PARSE_AGAIN;
}

static enum http_parse_status connection(struct http_parser *p, const char *v, size_t n)
{
	size_t i = 0, ts, tl;
	int r;

	while ((r = next_token(v, n, &i, &ts, &tl)) == 1) {
		if (http_eq_ci(v + ts, tl, "close"))
			p->req->conn_close = true;
		else if (http_eq_ci(v + ts, tl, "keep-alive"))
			p->req->conn_keep_alive = true;
	}
	if (r < 0)
		return fail(p, 400, "invalid Connection");
	return HTTP_PARSE_AGAIN;
}

static enum http_parse_status expect(struct http_parser *p, const char *v, size_t n)
{
	size_t i = 0, ts, tl;
	int r;

	while ((r = next_token(v, n, &i, &ts, &tl)) == 1) {
		if (!http_eq_ci(v + ts, tl, "100-continue"))
			return fail(p, 417, "unsupported expectation");
		p->req->expect_continue = true;
	}
	/* An expectation with a value ("foo=bar") is one we do not know either. */
	if (r < 0)
		return fail(p, 417, "unsupported expectation");
	return HTTP_PARSE_AGAIN;
}

static enum http_parse_status list_add(struct http_parser *p, struct http_list *l,
                                       struct http_slice v, const char *toomany)
{
	if (l->n == HTTP_LIST_LINES_MAX)
		return fail(p, 400, toomany);
	l->v[l->n++] = v;
	return HTTP_PARSE_AGAIN;
}

/* A single-valued field: the first is kept; a repeat is remembered and dropped in done(). */
static void single(struct http_parser *p, struct http_slice *dst, unsigned h, struct http_slice v)
{
	if (p->seen & SEEN(h)) {
		p->seen |= DUP(h);
		return;
	}
	p->seen |= SEEN(h);
	*dst = v;
}

static enum http_parse_status field_line(struct http_parser *p, const char *buf, size_t start,
                                         size_t n)
{
	struct http_request *req = p->req;
	const char *s = buf + start;
	size_t i = 0;

	while (i < n && http_is_tchar((unsigned char)s[i]))
		i++;
	if (i == n)
		return fail(p, 400, "field line without colon");
	if (s[i] != ':') {
		if (is_ows((unsigned char)s[i]))
			return fail(p, 400, "whitespace before colon");
		return fail(p, 400, "invalid character in field name");
	}
	if (i == 0)
		return fail(p, 400, "empty field name");
	size_t nlen = i, vs = i + 1, ve = n;
	while (vs < n && is_ows((unsigned char)s[vs]))
		vs++;
	while (ve > vs && is_ows((unsigned char)s[ve - 1]))
		ve--;
	struct http_slice value = at(start + vs, ve - vs);
	const char *v = s + vs;
	size_t vlen = ve - vs;

	req->fields[req->nfields].name = at(start, nlen);
	req->fields[req->nfields].value = value;
	req->nfields++;

	unsigned h = H_OTHER;
	for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++) {
		if (known[k].len == nlen && http_eq_ci(s, nlen, known[k].name)) {
			h = known[k].id;
			break;
		}
	}
	switch (h) {
	case H_HOST:
		if (p->seen & SEEN(H_HOST))
			return fail(p, 400, "multiple Host fields");
		if (!host_valid(v, vlen, false))
			return fail(p, 400, "invalid Host");
		p->seen |= SEEN(H_HOST);
		req->host = value;
		return HTTP_PARSE_AGAIN;
	case H_CONNECTION:
		return connection(p, v, vlen);
	case H_CONTENT_LENGTH:
		return content_length(p, v, vlen);
	case H_TRANSFER_ENCODING:
		return transfer_encoding(p, v, vlen);
	case H_EXPECT:
		return expect(p, v, vlen);
	case H_IF_MATCH:
		return list_add(p, &req->if_match, value, "too many If-Match lines");
	case H_IF_NONE_MATCH:
		return list_add(p, &req->if_none_match, value, "too many If-None-Match lines");
	case H_ACCEPT_ENCODING:
		return list_add(p, &req->accept_encoding, value, "too many Accept-Encoding lines");
	case H_IF_MODIFIED_SINCE:
		single(p, &req->if_modified_since, h, value);
		return HTTP_PARSE_AGAIN;
	case H_IF_UNMODIFIED_SINCE:
		single(p, &req->if_unmodified_since, h, value);
		return HTTP_PARSE_AGAIN;
	case H_IF_RANGE:
		single(p, &req->if_range, h, value);
		return HTTP_PARSE_AGAIN;
	case H_RANGE:
		single(p, &req->range, h, value);
		return HTTP_PARSE_AGAIN;
	case H_USER_AGENT:
		single(p, &req->user_agent, h, value);
		return HTTP_PARSE_AGAIN;
	case H_REFERER:
		single(p, &req->referer, h, value);
		return HTTP_PARSE_AGAIN;
	default:
		return HTTP_PARSE_AGAIN;
	}
}

static void fix(struct http_slice *s, const char *buf)
{
	size_t off = s->off;

	s->p = off == OFF_NONE ? NULL : buf + off;
}

static void fix_list(struct http_list *l, const char *buf)
{
	for (unsigned i = 0; i < l->n; i++)
		fix(&l->v[i], buf);
}

/* The blank line at END - 1 closes the head: checks that need all of it. */
static enum http_parse_status done(struct http_parser *p, const char *buf, size_t end)
{
	struct http_request *req = p->req;
	bool http11 = req->version == HTTP_VERSION_1_1;

	if (http11 && !(p->seen & SEEN(H_HOST)))
		return fail(p, 400, "missing Host");
	if (p->te & TE_SEEN) {
		if (!http11)
			return fail(p, 400, "Transfer-Encoding in HTTP/1.0");
		if (p->te & TE_TWICE)
			return fail(p, 400, "chunked applied twice");
		if (!(p->te & TE_LAST_CHUNKED))
			return fail(p, 400, "chunked is not the final transfer coding");
		if (p->te & TE_OTHER)
			return fail(p, 501, "unsupported transfer coding");
		req->framing = HTTP_BODY_CHUNKED;
	} else if (p->seen & SEEN(H_CONTENT_LENGTH)) {
		req->framing = HTTP_BODY_LENGTH;
	}
	if (!http11)
		req->expect_continue = false;
	req->keep_alive = !req->conn_close && (http11 || req->conn_keep_alive);

	if (p->seen & DUP(H_IF_MODIFIED_SINCE))
		req->if_modified_since = none;
	if (p->seen & DUP(H_IF_UNMODIFIED_SINCE))
		req->if_unmodified_since = none;
	if (p->seen & (DUP(H_RANGE) | DUP(H_IF_RANGE))) {
		req->range = none;
		req->if_range = none;
	}

	fix(&req->method_text, buf);
	fix(&req->target, buf);
	fix(&req->scheme, buf);
	fix(&req->authority, buf);
	fix(&req->path, buf);
	fix(&req->query, buf);
	if (req->form == HTTP_TARGET_ABSOLUTE && p->abs_empty_path) {
		req->path.p = "/";
		req->path.len = 1;
	}
	for (unsigned i = 0; i < req->nfields; i++) {
		fix(&req->fields[i].name, buf);
		fix(&req->fields[i].value, buf);
	}
	fix(&req->host, buf);
	fix_list(&req->if_match, buf);
	fix_list(&req->if_none_match, buf);
	fix_list(&req->accept_encoding, buf);
	fix(&req->if_modified_since, buf);
	fix(&req->if_unmodified_since, buf);
	fix(&req->if_range, buf);
	fix(&req->range, buf);
	fix(&req->user_agent, buf);
	fix(&req->referer, buf);
	req->head_len = end;
	p->stage = STAGE_DONE;
	return HTTP_PARSE_OK;
}

/* A complete line of N bytes at START (CRLF excluded). */
static enum http_parse_status line(struct http_parser *p, const char *buf, size_t start, size_t n)
{
	if (p->stage == STAGE_START)
		return n == 0 ? HTTP_PARSE_AGAIN : request_line(p, buf, start, n);
	if (n == 0)
		return done(p, buf, start + 2);
	return field_line(p, buf, start, n);
}

void http_parser_init(struct http_parser *p, struct http_request *req,
                      const struct http_limits *lim)
{
	memset(p, 0, sizeof(*p));
	p->req = req;
	p->lim = *lim;
	if (p->lim.fields_max > HTTP_HEADER_FIELDS_MAX)
		p->lim.fields_max = HTTP_HEADER_FIELDS_MAX;
	p->stage = STAGE_START;

	/* Only the named slices: fields[] entries are written before they count. */
	req->method = HTTP_METHOD_UNKNOWN;
	req->method_text = req->target = req->scheme = req->authority = none;
	req->path = req->query = none;
	req->form = HTTP_TARGET_ORIGIN;
	req->version = HTTP_VERSION_1_1;
	req->nfields = 0;
	req->host = none;
	req->conn_close = req->conn_keep_alive = req->keep_alive = false;
	req->framing = HTTP_BODY_NONE;
	req->content_length = 0;
	req->expect_continue = false;
	req->if_match.n = req->if_none_match.n = req->accept_encoding.n = 0;
	req->if_modified_since = req->if_unmodified_since = req->if_range = req->range = none;
	req->user_agent = req->referer = none;
	req->head_len = 0;
}

/* Bytes http_parse's ladder passes without acting, inside a line: in the
 * request line 0x20-0x7e (no CR, LF, other controls, DEL or 8-bit); in a
 * field line also HTAB and 0x80-0xff (obs-text), still no CR or LF. */
#define R16(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
static const unsigned char line_plain[256] = {
	R16(0), R16(0), R16(1), R16(1), R16(1), R16(1), R16(1),
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, /* 0x70-0x7f: DEL */
	R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0),
};
static const unsigned char field_plain[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, /* 0x09: HTAB */
	R16(0), R16(1), R16(1), R16(1), R16(1), R16(1),
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, /* 0x70-0x7f: DEL */
	R16(1), R16(1), R16(1), R16(1), R16(1), R16(1), R16(1), R16(1),
};
#undef R16

enum http_parse_status http_parse(struct http_parser *p, const char *buf, size_t len)
{
	if (p->stage == STAGE_DONE)
		return HTTP_PARSE_OK;
	if (p->stage == STAGE_ERROR)
		return HTTP_PARSE_ERROR;

	for (size_t i = p->scan; i < len; i++) {
		/* Inside a line and not after a CR: skip the bytes the checks below
		 * would pass without acting (per byte a table lookup instead of the
		 * whole ladder: under callgrind http_parse took 2,383 instructions
		 * for wrk's 47-byte request head, now 1,438). It stops before CR, LF, a byte the stage
		 * forbids and the byte that reaches a limit, which the ladder then
		 * handles exactly as it would have. */
		if (i > p->line && buf[i - 1] != '\r') {
			size_t end = len < p->lim.header_size_max ? len : p->lim.header_size_max;
			const unsigned char *plain = field_plain;
			if (p->stage == STAGE_START) {
				if (p->lim.request_line_max < end - p->line)
					end = p->line + p->lim.request_line_max;
				plain = line_plain;
			}
			while (i < end && plain[(unsigned char)buf[i]])
				i++;
			if (i == len)
				break;
		}
		unsigned char c = (unsigned char)buf[i];
		size_t k = i - p->line; /* offset within the line */
		enum http_parse_status r;

		/* This byte would make the head longer than the limit. */
		if (i >= p->lim.header_size_max)
			return fail(p, 431, "request head too large");
		if (c == '\n') {
			if (k == 0 || buf[i - 1] != '\r')
				return fail(p, 400, "bare LF");
			r = line(p, buf, p->line, k - 1);
			p->line = i + 1;
			p->scan = i + 1;
			if (r != HTTP_PARSE_AGAIN)
				return r;
			continue;
		}
		if (k > 0 && buf[i - 1] == '\r')
			return fail(p, 400, "bare CR");
		if (c == '\r')
			continue;
		if (p->stage == STAGE_START) {
			if (k >= p->lim.request_line_max)
				return fail(p, 414, "request line too long");
			if (c < 0x20 || c == 0x7f || c >= 0x80)
				return fail(p, 400, "invalid character in request line");
		} else {
			if (k == 0) {
				if (c == ' ' || c == '\t')
					return fail(p, 400,
					            "obs-fold or whitespace before field name");
				if (p->req->nfields >= p->lim.fields_max)
					return fail(p, 431, "too many header fields");
			}
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return fail(p, 400, "control character in field line");
		}
	}
	p->scan = len;
	return HTTP_PARSE_AGAIN;
}
