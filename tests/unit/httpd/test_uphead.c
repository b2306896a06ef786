/*
 * Unit tests for httpd/uphead.c: the upstream response head parser
 * (RFC 9112 §4 status line, §5 fields, §6.3 framing; RFC 9110 §7.6.1
 * hop-by-hop fields).
 *
 * Each row is parsed whole and fed one byte at a time (the parser must say
 * AGAIN until the head is complete and then agree with the whole parse).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../../httpd/uphead.h"

#define S(lit) lit, sizeof(lit) - 1

struct row {
	int line;
	const char *in;
	size_t len;
	bool head_req;
	enum http_parse_status want;
	int status;
	enum http_resp_framing framing;
	uint64_t length;
	bool close;
	const char *reason; /* ERROR: error_reason */
};

#define OK(in, st, fr, len, cl) {__LINE__, S(in), false, HTTP_PARSE_OK, st, fr, len, cl, NULL}
#define OKH(in, st, fr, len, cl) {__LINE__, S(in), true, HTTP_PARSE_OK, st, fr, len, cl, NULL}
#define ERR(in, why) {__LINE__, S(in), false, HTTP_PARSE_ERROR, 0, 0, 0, false, why}
#define AGAIN(in) {__LINE__, S(in), false, HTTP_PARSE_AGAIN, 0, 0, 0, false, NULL}

#define N HTTP_RESP_BODY_NONE
#define L HTTP_RESP_BODY_LENGTH
#define C HTTP_RESP_BODY_CHUNKED
#define X HTTP_RESP_BODY_CLOSE

/* clang-format off */
static const struct row rows[] = {
	/* §4 status line */
	OK("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", 200, L, 5, false),
	OK("HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n", 200, L, 0, false),
	OK("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", 200, L, 0, false),
	OK("HTTP/1.1 404 Not  Found\t!\r\n\r\n", 404, X, 0, false),
	OK("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", 200, L, 1, true),
	OK("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n", 200, L, 1, false),
	OK("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n", 200, L, 1, true),
	OK("HTTP/1.1 200 OK\r\nConnection: foo, Close\r\n\r\n", 200, X, 0, true),
	/* close wins over keep-alive, in one line or across lines (RFC 9112 §9.6) */
	OK("HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\n\r\n", 200, X, 0, true),
	OK("HTTP/1.0 200 OK\r\nConnection: close\r\nConnection: Keep-Alive\r\n\r\n", 200, X, 0, true),
	OK("HTTP/1.0 200 OK\r\nConnection: upgrade\r\nconnection: KEEP-ALIVE\r\n\r\n", 200, X, 0, false),
	OK("HTTP/1.0 200 OK\r\nConnection: keep-alives\r\n\r\n", 200, X, 0, true),
	OK("HTTP/1.9 200 OK\r\n\r\n", 200, X, 0, false),
	ERR("HTTP/2.0 200 OK\r\n\r\n", "bad status line"),
	ERR("HTTP/1.1  200 OK\r\n\r\n", "bad status code"),
	ERR("HTTP/1.1 20 OK\r\n\r\n", "bad status code"),
	ERR("HTTP/1.1 2000 OK\r\n\r\n", "bad status line"),
	ERR("HTTP/1.1 099 OK\r\n\r\n", "bad status code"),
	ERR("HTTP/1.1 600 OK\r\n\r\n", "bad status code"),
	ERR("http/1.1 200 OK\r\n\r\n", "bad status line"),
	ERR("HTTP/1.1 200 O\x01K\r\n\r\n", "bad reason phrase"),
	ERR("\r\nHTTP/1.1 200 OK\r\n\r\n", "empty status line"),
	ERR("HTTP/1.1 200 OK\n\r\n\r\n", "bare LF or CR"),
	ERR("HTTP/1.1 200 OK\r\nA: b\nC: d\r\n\r\n", "bare LF or CR"),
	ERR("HTTP/1.1 200 OK\r\nA: b\rC: d\r\n\r\n", "bare LF or CR"),
	/* a CR that is not the one right before the line's LF (RFC 9112 §2.2) */
	ERR("HTTP/1.1 200 OK\r\nA: b\r\r\n\r\n", "bare LF or CR"),
	ERR("HTTP/1.1 200 O\rK\r\n\r\n", "bare LF or CR"),
	ERR("HTTP/1.1 200 OK\r\n\rA: b\r\n\r\n", "bare LF or CR"),
	ERR("HTTP/1.1 200 OK\r\n\nA: b\r\n\r\n", "bare LF or CR"),
	/* LF CR LF and CR CR LF LF are no end of head: the real one follows */
	ERR("HTTP/1.1 200 OK\r\nA: b\n\r\nC: d\r\n\r\n", "bare LF or CR"),
	OK("HTTP/1.1 200 OK\r\nA: \r\nB: c\r\n\r\n", 200, X, 0, false),
	/* §5 fields */
	OK("HTTP/1.1 200 OK\r\nX-A:\r\nX-B:  v  \r\nContent-Length: 2\r\n\r\n", 200, L, 2, false),
	OK("HTTP/1.1 200 OK\r\nX: caf\xc3\xa9\r\n\r\n", 200, X, 0, false),
	ERR("HTTP/1.1 200 OK\r\nX : v\r\n\r\n", "bad field name"),
	ERR("HTTP/1.1 200 OK\r\n: v\r\n\r\n", "bad field name"),
	ERR("HTTP/1.1 200 OK\r\nX-A v\r\n\r\n", "bad field name"),
	ERR("HTTP/1.1 200 OK\r\nX(: v\r\n\r\n", "bad field name"),
	ERR("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", "obs-fold"),
	ERR("HTTP/1.1 200 OK\r\nX: a\x7f\r\n\r\n", "bad field value"),
	ERR("HTTP/1.1 200 OK\r\nX: a\x00" "b\r\n\r\n", "bad field value"),
	/* §6.3 framing; RFC 9110 §8.6 Content-Length lists */
	OK("HTTP/1.1 200 OK\r\nContent-Length: 7, 7\r\n\r\n", 200, L, 7, false),
	OK("HTTP/1.1 200 OK\r\nContent-Length: 7\r\nContent-Length: 7\r\n\r\n", 200, L, 7, false),
	OK("HTTP/1.1 200 OK\r\nContent-Length: 007\r\n\r\n", 200, L, 7, false),
	OK("HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775807\r\n\r\n", 200, L, 9223372036854775807ull, false),
	ERR("HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775808\r\n\r\n", "Content-Length too large"),
	ERR("HTTP/1.1 200 OK\r\nContent-Length: 7, 8\r\n\r\n", "conflicting Content-Length"),
	ERR("HTTP/1.1 200 OK\r\nContent-Length: 7\r\nContent-Length: 8\r\n\r\n", "conflicting Content-Length"),
	ERR("HTTP/1.1 200 OK\r\nContent-Length: 7,,7\r\n\r\n", "bad Content-Length"),
	ERR("HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n", "bad Content-Length"),
	ERR("HTTP/1.1 200 OK\r\nContent-Length: +7\r\n\r\n", "bad Content-Length"),
	ERR("HTTP/1.1 200 OK\r\nContent-Length: 7x\r\n\r\n", "bad Content-Length"),
	ERR("HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n", "bad Content-Length"),
	OK("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 200, C, 0, false),
	OK("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked \r\n\r\n", 200, C, 0, false),
	ERR("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", "both Content-Length and Transfer-Encoding"),
	ERR("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", "both Content-Length and Transfer-Encoding"),
	ERR("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "unsupported Transfer-Encoding"),
	ERR("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", "chunked twice"),
	ERR("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", "chunked twice"),
	ERR("HTTP/1.1 200 OK\r\nTransfer-Encoding: \r\n\r\n", "empty Transfer-Encoding"),
	OK("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", 204, N, 5, false),
	OK("HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", 304, N, 5, false),
	OKH("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", 200, N, 5, false),
	OKH("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 200, N, 0, false),
	/* 1xx interim responses (RFC 9110 §15.2) */
	OK("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n", 100, N, 0, false),
	OK("HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n", 103, N, 0, false),
	OK("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", 101, N, 0, false),
	ERR("HTTP/1.1 100 Continue\r\nTransfer-Encoding: chunked\r\n\r\n", "Transfer-Encoding on an interim response"),
	/* incomplete */
	AGAIN(""),
	AGAIN("HTTP/1.1 200 OK\r\n"),
	AGAIN("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r"),
};
/* clang-format on */

static enum http_parse_status parse(const struct row *row, bool bytes, struct http_response *r,
                                    struct http_resp_parser *p)
{
	http_resp_init(p, 4096, row->head_req);
	if (!bytes)
		return http_resp_parse(p, row->in, row->len, r);
	enum http_parse_status st = HTTP_PARSE_AGAIN;
	for (size_t n = 0; n <= row->len && st == HTTP_PARSE_AGAIN; n++) {
		char *copy = malloc(n + 1); /* a fresh buffer each time: it may move */
		assert_non_null(copy);
		memcpy(copy, row->in, n);
		st = http_resp_parse(p, copy, n, r);
		free(copy);
	}
	return st;
}

static void test_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *row = &rows[i];
		for (int bytes = 0; bytes < 2; bytes++) {
			struct http_response *r = calloc(1, sizeof(*r));
			struct http_resp_parser p;
			enum http_parse_status st = parse(row, bytes, r, &p);
			if (st != row->want)
				fail_msg("row at line %d (%s): got %d (%s), want %d", row->line,
				         bytes ? "bytes" : "whole", st,
				         p.error_reason ? p.error_reason : "", row->want);
			if (st == HTTP_PARSE_ERROR && strcmp(p.error_reason, row->reason) != 0)
				fail_msg("row at line %d: reason \"%s\", want \"%s\"", row->line,
				         p.error_reason, row->reason);
			if (st == HTTP_PARSE_OK &&
			    (r->status != row->status || r->framing != row->framing ||
			     r->content_length != row->length || r->conn_close != row->close))
				fail_msg("row at line %d: status %d framing %d length %llu close %d",
				         row->line, r->status, r->framing,
				         (unsigned long long)r->content_length, r->conn_close);
			free(r);
		}
	}
}

/* The head_len of an interim response leaves the final one after it. */
static void test_head_len_and_fields(void **state)
{
	(void)state;
	static const char in[] = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nA: 1\r\nB:2\r\n\r\nbody";
	struct http_response r;
	struct http_resp_parser p;
	http_resp_init(&p, 4096, false);
	assert_int_equal(http_resp_parse(&p, in, sizeof(in) - 1, &r), HTTP_PARSE_OK);
	assert_int_equal(r.head_len, 25);
	http_resp_init(&p, 4096, false);
	assert_int_equal(http_resp_parse(&p, in + 25, sizeof(in) - 1 - 25, &r), HTTP_PARSE_OK);
	assert_int_equal(r.nfields, 2);
	assert_memory_equal(r.fields[1].name.p, "B", 1);
	assert_memory_equal(r.fields[1].value.p, "2", 1);
	assert_int_equal(r.head_len, sizeof(in) - 1 - 25 - 4);
}

/* The size limit holds while the head is still arriving and at its edge. */
static void test_limit(void **state)
{
	(void)state;
	char buf[200];
	memset(buf, 'a', sizeof(buf));
	memcpy(buf, "HTTP/1.1 200 OK\r\nX: ", 20);
	struct http_response r;
	struct http_resp_parser p;
	http_resp_init(&p, 100, false);
	assert_int_equal(http_resp_parse(&p, buf, 99, &r), HTTP_PARSE_AGAIN);
	assert_int_equal(http_resp_parse(&p, buf, 100, &r), HTTP_PARSE_ERROR);
	/* exactly 100 bytes with the final CRLF CRLF: accepted */
	memcpy(buf + 96, "\r\n\r\n", 4);
	http_resp_init(&p, 100, false);
	assert_int_equal(http_resp_parse(&p, buf, 100, &r), HTTP_PARSE_OK);
	http_resp_init(&p, 99, false);
	assert_int_equal(http_resp_parse(&p, buf, 100, &r), HTTP_PARSE_ERROR);
	/* more fields than HTTP_HEADER_FIELDS_MAX */
	static char many[8192];
	size_t n = (size_t)snprintf(many, sizeof(many), "HTTP/1.1 200 OK\r\n");
	for (int i = 0; i <= HTTP_HEADER_FIELDS_MAX; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n, "X%d: v\r\n", i);
	n += (size_t)snprintf(many + n, sizeof(many) - n, "\r\n");
	http_resp_init(&p, sizeof(many), false);
	assert_int_equal(http_resp_parse(&p, many, n, &r), HTTP_PARSE_ERROR);
	assert_string_equal(p.error_reason, "too many fields");
}

struct hop {
	int line;
	const char *head; /* request-ish field lines */
	const char *hop;  /* the names that are hop-by-hop, space separated, in order */
};

/* clang-format off */
static const struct hop hops[] = {
	{__LINE__, "A: 1\r\nConnection: close\r\nKeep-Alive: 5\r\nTE: trailers\r\n", "Connection Keep-Alive TE"},
	{__LINE__, "Trailer: x\r\nTransfer-Encoding: chunked\r\nUpgrade: h2c\r\n", "Trailer Transfer-Encoding Upgrade"},
	{__LINE__, "Proxy-Authorization: x\r\nProxy-Connection: y\r\nProxyish: z\r\n", "Proxy-Authorization Proxy-Connection"},
	{__LINE__, "Connection: X-Foo, x-bar\r\nX-Foo: 1\r\nX-Bar: 2\r\nX-Baz: 3\r\n", "Connection X-Foo X-Bar"},
	{__LINE__, "X-Foo: 1\r\nConnection: a\r\nConnection: x-foo\r\n", "X-Foo Connection Connection"},
	{__LINE__, "Host: h\r\nCookie: c\r\nX-Forwarded-For: 1\r\n", ""},
	/* Proxy-* of every length, not only the lengths of the fixed names */
	{__LINE__, "Proxy-A: 1\r\nProxy-: 2\r\nProxy: 3\r\nProxy-Authenticate-Info-X: 4\r\n", "Proxy-A Proxy- Proxy-Authenticate-Info-X"},
	/* names compared ignoring case, both in Connection and in the field */
	{__LINE__, "x-a: 1\r\nconnection: X-A, Keep-Alive\r\nX-A: 2\r\nKEEP-ALIVE: 3\r\n", "x-a connection X-A KEEP-ALIVE"},
	/* empty list elements and whitespace around them (RFC 9110 §5.6.1) */
	{__LINE__, "Connection: ,, x-a ,\t,\r\nX-A: 1\r\nX-AB: 2\r\nX: 3\r\n", "Connection X-A"},
	/* a name only as long as a fixed one is not hop-by-hop (length alone decides nothing) */
	{__LINE__, "Trailers: 1\r\nTE2: 2\r\nUpgrades: 3\r\nConnectio: 4\r\n", ""},
	/* Connection naming an element that is no field: nothing else marked */
	{__LINE__, "Connection: close\r\nClose-Me: 1\r\n", "Connection"},
};
/* clang-format on */

static void test_hop_by_hop(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(hops) / sizeof(hops[0]); i++) {
		char in[512];
		int n = snprintf(in, sizeof(in), "HTTP/1.1 200 OK\r\n%s\r\n", hops[i].head);
		struct http_response r;
		struct http_resp_parser p;
		http_resp_init(&p, sizeof(in), false);
		if (http_resp_parse(&p, in, (size_t)n, &r) != HTTP_PARSE_OK)
			fail_msg("hop row at line %d: %s", hops[i].line, p.error_reason);
		char got[256] = "";
		bool hop[HTTP_HEADER_FIELDS_MAX];
		http_hop_marks(r.fields, r.nfields, hop);
		for (unsigned k = 0; k < r.nfields; k++)
			if (hop[k])
				snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%.*s",
				         got[0] ? " " : "", (int)r.fields[k].name.len, r.fields[k].name.p);
		if (strcmp(got, hops[i].hop) != 0)
			fail_msg("hop row at line %d: got \"%s\", want \"%s\"", hops[i].line, got,
			         hops[i].hop);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rows),
	    cmocka_unit_test(test_head_len_and_fields),
	    cmocka_unit_test(test_limit),
	    cmocka_unit_test(test_hop_by_hop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
