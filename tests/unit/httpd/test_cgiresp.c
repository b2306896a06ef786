/*
 * Unit tests for httpd/cgiresp.c: the CGI response head of a FastCGI
 * responder's stdout (RFC 3875 §6.2 response types, §6.3 fields).
 * Each row is parsed whole and growing one byte at a time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../../httpd/cgiresp.h"

#define S(lit) lit, sizeof(lit) - 1

struct row {
	int line;
	const char *in;
	size_t len;
	enum http_parse_status want;
	int status;
	enum http_cgi_kind kind;
	unsigned nfields;
	size_t head_len;
	const char *reason;
};

#define OK(in, st, kind, nf, hl) {__LINE__, S(in), HTTP_PARSE_OK, st, kind, nf, hl, NULL}
#define ERR(in, why) {__LINE__, S(in), HTTP_PARSE_ERROR, 0, 0, 0, 0, why}
#define AGAIN(in) {__LINE__, S(in), HTTP_PARSE_AGAIN, 0, 0, 0, 0, NULL}
#define DOC HTTP_CGI_DOCUMENT
#define LOC HTTP_CGI_LOCAL_REDIRECT
#define CLI HTTP_CGI_CLIENT_REDIRECT

/* clang-format off */
static const struct row rows[] = {
	/* §6.2.1 document response */
	OK("Content-type: text/html; charset=UTF-8\r\n\r\n<html>", 200, DOC, 1, 42),
	OK("Content-Type: text/plain\n\nbody", 200, DOC, 1, 26),
	OK("X-Powered-By: PHP/8.2\r\nContent-Type: text/html\r\n\r\n", 200, DOC, 2, 50),
	OK("Status: 404 Not Found\r\nContent-Type: text/html\r\n\r\n", 404, DOC, 1, 50),
	OK("Status: 201\r\nContent-Type: a/b\r\n\r\n", 201, DOC, 1, 34),
	OK("Status: 204 No Content\r\n\r\n", 204, DOC, 0, 26),
	/* §6.2.2 local redirect, §6.2.3/§6.2.4 client redirects */
	OK("Location: /other\r\n\r\n", 302, LOC, 1, 20),
	OK("Location: https://example.org/x\r\n\r\n", 302, CLI, 1, 35),
	OK("Status: 301 Moved Permanently\r\nLocation: http://e.org/\r\nContent-Type: text/html\r\n\r\n", 301, CLI, 2, 83),
	OK("Status: 303 See Other\nLocation: /x\n\n", 303, LOC, 1, 36),
	ERR("Location: other\r\n\r\n", "Location neither a path nor an absolute URI"),
	ERR("Location: \r\n\r\n", "empty Location"),
	ERR("Location: /a\r\nLocation: /b\r\n\r\n", "Location twice"),
	/* §6.3.3 Status */
	ERR("Status: 20\r\n\r\n", "bad Status"),
	ERR("Status: 2000 x\r\n\r\n", "bad Status"),
	ERR("Status: 199 x\r\n\r\n", "bad Status"),
	ERR("Status: 600 x\r\n\r\n", "bad Status"),
	ERR("Status: abc\r\n\r\n", "bad Status"),
	ERR("Status: 200 OK\r\nStatus: 404 No\r\n\r\n", "Status twice"),
	/* fields */
	ERR("\r\n", "no CGI field"),
	ERR("X-Only: 1\r\n\r\nbody", "no CGI field"),
	ERR("Content-Type: a/b\r\n x\r\n\r\n", "obs-fold"),
	ERR("Content-Type : a/b\r\n\r\n", "bad field name"),
	ERR("Content-Type a/b\r\n\r\n", "bad field name"),
	ERR("Content-Type: a/\rb\r\n\r\n", "bad field value"),
	ERR("Content-Type: a/b\x01\r\n\r\n", "bad field value"),
	ERR("Content-Type: a\r\nContent-Type: b\r\n\r\n", "Content-Type twice"),
	AGAIN(""),
	AGAIN("Content-Type: text/html\r\n"),
	AGAIN("Content-Type: text/html\r\n\r"),
};
/* clang-format on */

static void test_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *row = &rows[i];
		for (int grow = 0; grow < 2; grow++) {
			struct http_cgi_parser p;
			struct http_cgi_response *r = calloc(1, sizeof(*r));
			http_cgi_init(&p, 4096);
			enum http_parse_status st = HTTP_PARSE_AGAIN;
			for (size_t n = grow ? 0 : row->len; n <= row->len && st == HTTP_PARSE_AGAIN; n++) {
				char *copy = malloc(n + 1);
				memcpy(copy, row->in, n);
				st = http_cgi_parse(&p, copy, n, r);
				free(copy);
			}
			if (st != row->want)
				fail_msg("row at line %d: got %d (%s), want %d", row->line, st,
				         p.error_reason ? p.error_reason : "", row->want);
			if (st == HTTP_PARSE_ERROR && strcmp(p.error_reason, row->reason) != 0)
				fail_msg("row at line %d: reason \"%s\", want \"%s\"", row->line,
				         p.error_reason, row->reason);
			if (st == HTTP_PARSE_OK &&
			    (r->status != row->status || r->kind != row->kind ||
			     r->nfields != row->nfields || r->head_len != row->head_len))
				fail_msg("row at line %d: status %d kind %d fields %u head %zu", row->line,
				         r->status, r->kind, r->nfields, r->head_len);
			free(r);
		}
	}
}

static void test_limit(void **state)
{
	(void)state;
	char buf[64];
	memset(buf, 'a', sizeof(buf));
	memcpy(buf, "Content-Type: ", 14);
	struct http_cgi_parser p;
	struct http_cgi_response r;
	http_cgi_init(&p, 32);
	assert_int_equal(http_cgi_parse(&p, buf, 31, &r), HTTP_PARSE_AGAIN);
	assert_int_equal(http_cgi_parse(&p, buf, 32, &r), HTTP_PARSE_ERROR);
	memcpy(buf + 28, "\r\n\r\n", 4); /* 32 bytes: fits exactly */
	http_cgi_init(&p, 32);
	assert_int_equal(http_cgi_parse(&p, buf, 40, &r), HTTP_PARSE_OK);
	assert_int_equal(r.head_len, 32);
	assert_int_equal(r.content_type.len, 14);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rows),
	    cmocka_unit_test(test_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
