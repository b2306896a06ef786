/*
 * httpd/cgiresp.c: the CGI response head parser (contract in cgiresp.h).
 */
#include "cgiresp.h"
#include "uphead.h"

#include <string.h>

void http_cgi_init(struct http_cgi_parser *p, size_t max_head)
{
	*p = (struct http_cgi_parser){.max_head = max_head};
}

static enum http_parse_status fail(struct http_cgi_parser *p, const char *why)
{
	p->error_reason = why;
	return HTTP_PARSE_ERROR;
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* The end of the head: after "\n\n" or "\n\r\n" (the first line may be empty
 * too: "\r\n" or "\n" at offset 0). 0: not yet. */
static size_t head_end(const char *buf, size_t len, size_t from)
{
	for (size_t i = from; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		/* an empty line ends at i when the line began at 0 or after a '\n' */
		size_t s = i;
		if (s > 0 && buf[s - 1] == '\r')
			s--;
		if (s == 0 || buf[s - 1] == '\n')
			return i + 1;
	}
	return 0;
}

static enum http_parse_status status_field(struct http_cgi_parser *p, struct http_cgi_response *r,
                                           const char *v, size_t n)
{
	if (n < 3 || !is_digit((unsigned char)v[0]) || !is_digit((unsigned char)v[1]) ||
	    !is_digit((unsigned char)v[2]) || (n > 3 && v[3] != ' '))
		return fail(p, "bad Status");
	r->status = (v[0] - '0') * 100 + (v[1] - '0') * 10 + (v[2] - '0');
	if (r->status < 200 || r->status > 599)
		return fail(p, "bad Status");
	size_t rs = n > 3 ? 4 : 3;
	r->reason = (struct http_slice){{.p = v + rs}, n - rs};
	return HTTP_PARSE_OK;
}

/* RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" */
static bool absolute_uri(const char *v, size_t n)
{
	size_t i = 0;
	if (n == 0 || !((v[0] | 0x20) >= 'a' && (v[0] | 0x20) <= 'z'))
		return false;
	while (i < n && (((v[i] | 0x20) >= 'a' && (v[i] | 0x20) <= 'z') ||
	                 is_digit((unsigned char)v[i]) || v[i] == '+' || v[i] == '-' ||
	                 v[i] == '.'))
		i++;
	return i < n && v[i] == ':';
}

enum http_parse_status http_cgi_parse(struct http_cgi_parser *p, const char *buf, size_t len,
                                      struct http_cgi_response *r)
{
	size_t from = p->scan > 2 ? p->scan - 2 : 0;
	size_t end = head_end(buf, len < p->max_head ? len : p->max_head, from);
	if (!end) {
		p->scan = len;
		if (len >= p->max_head)
			return fail(p, "head too large");
		return HTTP_PARSE_AGAIN;
	}
	memset(r, 0, offsetof(struct http_cgi_response, fields));
	r->nfields = 0;
	bool have_status = false;
	size_t ls = 0;
	for (;;) {
		size_t le = ls;
		while (buf[le] != '\n')
			le++;
		size_t next = le + 1;
		if (le > ls && buf[le - 1] == '\r')
			le--;
		if (le == ls)
			break;
		const char *s = buf + ls;
		size_t n = le - ls;
		struct http_field f;
		const char *why = http_field_split(s, n, &f);
		if (why)
			return fail(p, why);
		if (http_field_is(&f, "status")) {
			if (have_status)
				return fail(p, "Status twice");
			have_status = true;
			enum http_parse_status st = status_field(p, r, f.value.p, f.value.len);
			if (st != HTTP_PARSE_OK)
				return st;
		} else {
			if (http_field_is(&f, "location")) {
				if (r->location.p)
					return fail(p, "Location twice");
				if (f.value.len == 0)
					return fail(p, "empty Location");
				r->location = f.value;
			} else if (http_field_is(&f, "content-type")) {
				if (r->content_type.p)
					return fail(p, "Content-Type twice");
				r->content_type = f.value;
			}
			if (r->nfields >= HTTP_HEADER_FIELDS_MAX)
				return fail(p, "too many fields");
			r->fields[r->nfields++] = f;
		}
		ls = next;
	}
	if (!have_status && !r->location.p && !r->content_type.p)
		return fail(p, "no CGI field");
	r->kind = HTTP_CGI_DOCUMENT;
	if (r->location.p) {
		if (r->location.p[0] == '/')
			r->kind = HTTP_CGI_LOCAL_REDIRECT;
		else if (absolute_uri(r->location.p, r->location.len))
			r->kind = HTTP_CGI_CLIENT_REDIRECT;
		else
			return fail(p, "Location neither a path nor an absolute URI");
		if (!have_status)
			r->status = 302;
	}
	if (!have_status && !r->location.p)
		r->status = 200;
	r->head_len = end;
	return HTTP_PARSE_OK;
}
