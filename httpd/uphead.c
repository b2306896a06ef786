/*
 * httpd/uphead.c: the upstream response head parser (contract in uphead.h).
 *
 * Two steps: find the end of the head (CRLF CRLF) within max_head bytes,
 * resuming the search where the last call stopped; then validate it line by
 * line in one pass and fill struct http_response.
 */
#include "uphead.h"
#include "triad/strlit.h"

#include <string.h>

void http_resp_init(struct http_resp_parser *p, size_t max_head, bool head_request)
{
	*p = (struct http_resp_parser){.max_head = max_head, .head_request = head_request};
}

static enum http_parse_status fail(struct http_resp_parser *p, const char *why)
{
	p->error_reason = why;
	return HTTP_PARSE_ERROR;
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool is_ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* field-vchar / obs-text / SP / HTAB */
static bool is_value_byte(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

bool http_field_is(const struct http_field *f, const char *lower)
{
	return http_eq_ci(f->name.p, f->name.len, lower);
}

/* Next element of a comma list within V[*I..N): trimmed; false at the end. */
static bool next_elem(const char *v, size_t n, size_t *i, const char **e, size_t *elen)
{
	while (*i < n && (is_ows((unsigned char)v[*i]) || v[*i] == ','))
		(*i)++;
	if (*i >= n)
		return false;
	size_t s = *i;
	while (*i < n && v[*i] != ',')
		(*i)++;
	size_t end = *i;
	while (end > s && is_ows((unsigned char)v[end - 1]))
		end--;
	*e = v + s;
	*elen = end - s;
	return true;
}

/* Whether A[0..N) and B[0..N) are equal ignoring ASCII case. */
static bool same_ci(const char *a, const char *b, size_t n)
{
	for (size_t j = 0; j < n; j++)
		if (http_lower((unsigned char)a[j]) != http_lower((unsigned char)b[j]))
			return false;
	return true;
}

/* Whether NAME is hop-by-hop by itself, whatever Connection says. */
static bool hop_name(const char *p, size_t n)
{
	if (n >= 6 && http_eq_ci(p, 6, "proxy-"))
		return true;
	switch (n) {
	case 2:
		return http_eq_ci(p, n, "te");
	case 7:
		return http_eq_ci(p, n, "trailer") || http_eq_ci(p, n, "upgrade");
	case 10:
		return http_eq_ci(p, n, "connection") || http_eq_ci(p, n, "keep-alive");
	case 17:
		return http_eq_ci(p, n, "transfer-encoding");
	default:
		return false;
	}
}

void http_hop_marks(const struct http_field *fields, unsigned n, bool *hop)
{
	bool named = false;
	for (unsigned i = 0; i < n; i++) {
		hop[i] = hop_name(fields[i].name.p, fields[i].name.len);
		named |= hop[i] && http_field_is(&fields[i], "connection");
	}
	if (!named)
		return;
	/* each element of each Connection line marks the fields of that name */
	for (unsigned k = 0; k < n; k++) {
		if (!http_field_is(&fields[k], "connection"))
			continue;
		size_t i = 0, elen;
		const char *e;
		while (next_elem(fields[k].value.p, fields[k].value.len, &i, &e, &elen))
			for (unsigned j = 0; j < n; j++)
				if (!hop[j] && fields[j].name.len == elen &&
				    same_ci(fields[j].name.p, e, elen))
					hop[j] = true;
	}
}

static enum http_parse_status content_length(struct http_resp_parser *p,
                                             struct http_response *r, const char *v, size_t n)
{
	size_t i = 0;
	bool any = false;
	/* Every element must be a number and all must agree; "5,,5" and "" are errors. */
	for (;;) {
		while (i < n && is_ows((unsigned char)v[i]))
			i++;
		if (i >= n || !is_digit((unsigned char)v[i]))
			return fail(p, "bad Content-Length");
		uint64_t x = 0;
		while (i < n && is_digit((unsigned char)v[i])) {
			uint64_t d = (uint64_t)(v[i] - '0');
			if (x > (UINT64_C(0x7fffffffffffffff) - d) / 10)
				return fail(p, "Content-Length too large");
			x = x * 10 + d;
			i++;
		}
		if (r->has_length && x != r->content_length)
			return fail(p, "conflicting Content-Length");
		r->has_length = true;
		r->content_length = x;
		any = true;
		while (i < n && is_ows((unsigned char)v[i]))
			i++;
		if (i == n)
			break;
		if (v[i] != ',')
			return fail(p, "bad Content-Length");
		i++;
	}
	return any ? HTTP_PARSE_OK : fail(p, "bad Content-Length");
}

static enum http_parse_status status_line(struct http_resp_parser *p, struct http_response *r,
                                          const char *s, size_t n)
{
	if (n < 12 || memcmp(s, STRLIT("HTTP/1.")) != 0 || !is_digit((unsigned char)s[7]) ||
	    s[8] != ' ')
		return fail(p, "bad status line");
	r->version = s[7] == '0' ? HTTP_VERSION_1_0 : HTTP_VERSION_1_1;
	if (!is_digit((unsigned char)s[9]) || !is_digit((unsigned char)s[10]) ||
	    !is_digit((unsigned char)s[11]))
		return fail(p, "bad status code");
	r->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	if (r->status < 100 || r->status > 599)
		return fail(p, "bad status code");
	if (n == 12) {
		r->reason = (struct http_slice){{.p = s + 12}, 0};
		return HTTP_PARSE_OK;
	}
	if (s[12] != ' ')
		return fail(p, "bad status line");
	for (size_t i = 13; i < n; i++)
		if (!is_value_byte((unsigned char)s[i]))
			return fail(p, "bad reason phrase");
	r->reason = (struct http_slice){{.p = s + 13}, n - 13};
	return HTTP_PARSE_OK;
}

const char *http_field_split(const char *s, size_t n, struct http_field *f)
{
	if (n > 0 && is_ows((unsigned char)s[0]))
		return "obs-fold";
	size_t i = 0;
	while (i < n && http_is_tchar((unsigned char)s[i]))
		i++;
	if (i == 0 || i >= n || s[i] != ':')
		return "bad field name";
	size_t nlen = i++;
	while (i < n && is_ows((unsigned char)s[i]))
		i++;
	size_t vs = i, ve = n;
	while (ve > vs && is_ows((unsigned char)s[ve - 1]))
		ve--;
	for (size_t k = vs; k < ve; k++)
		if (!is_value_byte((unsigned char)s[k]))
			return "bad field value";
	f->name = (struct http_slice){{.p = s}, nlen};
	f->value = (struct http_slice){{.p = s + vs}, ve - vs};
	return NULL;
}

static enum http_parse_status field_line(struct http_resp_parser *p, struct http_response *r,
                                         const char *s, size_t n, unsigned *te)
{
	struct http_field fl;
	const char *why = http_field_split(s, n, &fl);
	if (why)
		return fail(p, why);
	if (r->nfields >= HTTP_HEADER_FIELDS_MAX)
		return fail(p, "too many fields");
	struct http_field *f = &r->fields[r->nfields++];
	*f = fl;
	if (http_field_is(f, "content-length"))
		return content_length(p, r, f->value.p, f->value.len);
	if (http_field_is(f, "transfer-encoding")) {
		size_t j = 0, elen;
		const char *e;
		while (next_elem(f->value.p, f->value.len, &j, &e, &elen)) {
			if (!http_eq_ci(e, elen, "chunked"))
				return fail(p, "unsupported Transfer-Encoding");
			if (*te)
				return fail(p, "chunked twice");
			*te = 1;
		}
		if (!*te)
			return fail(p, "empty Transfer-Encoding");
	}
	return HTTP_PARSE_OK;
}

/* The end of the first CRLF CRLF that starts at FROM or later and ends at
 * LIMIT or before; 0: none. Each LF is found by memchr (a head is scanned
 * whole at least once: byte by byte this loop was a third of the parser's
 * time), then the three bytes before it are looked at. */
static size_t head_end(const char *buf, size_t from, size_t limit)
{
	for (size_t j = from + 3; j < limit;) {
		const char *nl = memchr(buf + j, '\n', limit - j);
		if (!nl)
			return 0;
		j = (size_t)(nl - buf);
		if (buf[j - 1] == '\r' && buf[j - 2] == '\n' && buf[j - 3] == '\r')
			return j + 1;
		j++;
	}
	return 0;
}

/* Connection's elements the parser acts on (RFC 9112 §9.3, §9.6; RFC 9110 §7.8). */
enum { CONN_CLOSE = 1, CONN_KEEP_ALIVE = 2, CONN_UPGRADE = 4 };

static unsigned connection_tokens(const struct http_field *fields, unsigned n)
{
	unsigned t = 0;
	for (unsigned k = 0; k < n; k++) {
		if (!http_field_is(&fields[k], "connection"))
			continue;
		size_t i = 0, elen;
		const char *e;
		while (next_elem(fields[k].value.p, fields[k].value.len, &i, &e, &elen)) {
			if (http_eq_ci(e, elen, "close"))
				t |= CONN_CLOSE;
			else if (http_eq_ci(e, elen, "keep-alive"))
				t |= CONN_KEEP_ALIVE;
			else if (http_eq_ci(e, elen, "upgrade"))
				t |= CONN_UPGRADE;
		}
	}
	return t;
}

enum http_parse_status http_resp_parse(struct http_resp_parser *p, const char *buf, size_t len,
                                       struct http_response *r)
{
	/* Find CRLF CRLF, limit first: it must end within max_head bytes. */
	size_t from = p->scan > 3 ? p->scan - 3 : 0;
	size_t end = head_end(buf, from, len < p->max_head ? len : p->max_head);
	if (!end) {
		p->scan = len;
		if (len >= p->max_head)
			return fail(p, "head too large");
		return HTTP_PARSE_AGAIN;
	}
	memset(r, 0, offsetof(struct http_response, fields));
	r->nfields = 0;
	r->has_length = false;
	r->conn_close = false;
	r->upgrade = false;
	r->content_length = 0;
	unsigned te = 0;
	size_t ls = 0;
	bool first = true;
	for (;;) {
		/* the line ends at its first LF (there is one before END), which
		 * must follow a CR, the line's only one */
		size_t le = (size_t)((const char *)memchr(buf + ls, '\n', end - ls) - buf);
		if (le == ls || buf[le - 1] != '\r' || memchr(buf + ls, '\r', le - 1 - ls))
			return fail(p, "bare LF or CR");
		le--;
		if (le == ls) {
			if (first)
				return fail(p, "empty status line");
			break;
		}
		enum http_parse_status st = first ? status_line(p, r, buf + ls, le - ls)
		                                  : field_line(p, r, buf + ls, le - ls, &te);
		if (st != HTTP_PARSE_OK)
			return st;
		first = false;
		ls = le + 2;
	}
	r->head_len = end;
	if (te && r->has_length)
		return fail(p, "both Content-Length and Transfer-Encoding");
	unsigned conn = connection_tokens(r->fields, r->nfields);
	bool ka = r->version == HTTP_VERSION_1_1;
	if (conn & CONN_CLOSE)
		ka = false;
	else if (conn & CONN_KEEP_ALIVE)
		ka = true;
	r->conn_close = !ka;
	if (conn & CONN_UPGRADE)
		for (unsigned k = 0; k < r->nfields; k++)
			if (http_field_is(&r->fields[k], "upgrade"))
				r->upgrade = true;
	if (r->status < 200 || r->status == 204 || r->status == 304 || p->head_request) {
		if (te && r->status < 200)
			return fail(p, "Transfer-Encoding on an interim response");
		r->framing = HTTP_RESP_BODY_NONE;
	} else if (te) {
		r->framing = HTTP_RESP_BODY_CHUNKED;
	} else if (r->has_length) {
		r->framing = HTTP_RESP_BODY_LENGTH;
	} else {
		r->framing = HTTP_RESP_BODY_CLOSE;
	}
	return HTTP_PARSE_OK;
}
