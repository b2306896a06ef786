/*
 * Unit tests for httpd/parse.c: the request head parser.
 *
 * Every row runs three ways and must give the same answer each time:
 *   whole   - the input in one exactly-sized heap buffer (ASan sees overreads);
 *   bytes   - one byte more per call, each call in a fresh buffer whose
 *             predecessor is scribbled over and freed (stale slices show);
 *   chunks  - uneven pieces in a growing buffer.
 * OK rows are checked with a small "key=value|key=value" spec (see check()).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../../httpd/parse.h"

#define S(lit) lit, sizeof(lit) - 1

enum mode { WHOLE, BYTES, CHUNKS, NMODES };
static const char *const mode_name[] = {"whole", "bytes", "chunks"};

struct result {
	enum http_parse_status st;
	int status;
	const char *reason;
	char *buf; /* the buffer the request points into; caller frees */
};

static const struct http_limits deflim = HTTP_LIMITS_DEFAULT;

static char *copy(const char *in, size_t n)
{
	char *b = malloc(n ? n : 1);

	assert_non_null(b);
	memcpy(b, in, n);
	return b;
}

static void run(const char *in, size_t len, const struct http_limits *lim, enum mode mode,
                struct http_request *req, struct result *r)
{
	struct http_parser p;
	char *buf = NULL;
	size_t have = 0, step = 1;

	http_parser_init(&p, req, lim);
	memset(r, 0, sizeof(*r));
	if (mode == WHOLE) {
		buf = copy(in, len);
		r->st = http_parse(&p, buf, len);
	} else {
		r->st = HTTP_PARSE_AGAIN;
		if (len == 0) {
			buf = copy(in, 0);
			r->st = http_parse(&p, buf, 0);
		}
		while (have < len && r->st == HTTP_PARSE_AGAIN) {
			size_t n = mode == BYTES ? 1 : step++;
			if (n > len - have)
				n = len - have;
			char *nb = copy(in, have + n);
			if (buf) {
				memset(buf, 'X', have);
				free(buf);
			}
			buf = nb;
			have += n;
			r->st = http_parse(&p, buf, have);
		}
	}
	r->buf = buf;
	if (r->st == HTTP_PARSE_ERROR) {
		r->status = p.error_status;
		r->reason = p.error_reason;
		assert_non_null(r->reason);
	}
}

/* ---- errors and AGAIN ---------------------------------------------------- */

struct err_row {
	int line;
	const char *in;
	size_t len;
	int status; /* 0: expect HTTP_PARSE_AGAIN */
	const char *reason;
	struct http_limits lim; /* zeroes: the defaults */
};

#define E(input, st, why) {__LINE__, S(input), st, why, {0, 0, 0}}
#define EL(input, st, why, rl, hs, nf) {__LINE__, S(input), st, why, {rl, hs, nf}}
#define H11 " HTTP/1.1\r\nHost: a\r\n"

/* clang-format off */
static const struct err_row err_rows[] = {
	/* line endings */
	E("GET / HTTP/1.1\nHost: a\r\n\r\n", 400, "bare LF"),
	E("GET / HTTP/1.1\r\nHost: a\n\r\n", 400, "bare LF"),
	E("GET / HTTP/1.1\r\nHost: a\r\n\n", 400, "bare LF"),
	E("\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bare LF"),
	E("GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", 400, "bare CR"),
	E("GET /\r HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bare CR"),
	E("GET / HTTP/1.1\r\r\n", 400, "bare CR"),
	E("GET / HTTP/1.1\r\nHost: a\r\n\r\r\n", 400, "bare CR"),
	E("\r\r\nGET / HTTP/1.1\r\n", 400, "bare CR"),
	/* obs-fold and whitespace */
	E("GET /" H11 "X: b\r\n  c\r\n\r\n", 400, "obs-fold or whitespace before field name"),
	E("GET /" H11 "X: b\r\n\tc\r\n\r\n", 400, "obs-fold or whitespace before field name"),
	E("GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400, "obs-fold or whitespace before field name"),
	E("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, "whitespace before colon"),
	E("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400, "whitespace before colon"),
	E("GET /" H11 "X Y: a\r\n\r\n", 400, "whitespace before colon"),
	/* field names and values */
	E("GET /" H11 "Ho(st: a\r\n\r\n", 400, "invalid character in field name"),
	E("GET /" H11 "Ho\"st: a\r\n\r\n", 400, "invalid character in field name"),
	E("GET /" H11 "H\xc3\xb6st: a\r\n\r\n", 400, "invalid character in field name"),
	E("GET /" H11 "Ho\x01st: a\r\n\r\n", 400, "control character in field line"),
	E("GET /" H11 ": a\r\n\r\n", 400, "empty field name"),
	E("GET /" H11 "NoColon\r\n\r\n", 400, "field line without colon"),
	E("GET /" H11 "X: a\x01" "b\r\n\r\n", 400, "control character in field line"),
	E("GET /" H11 "X: a\x00" "b\r\n\r\n", 400, "control character in field line"),
	E("GET /" H11 "X: a\x7f\r\n\r\n", 400, "control character in field line"),
	E("GET /" H11 "X: a\x1b[0m\r\n\r\n", 400, "control character in field line"),
	/* the request line */
	E("GET /a\x01" "b HTTP/1.1\r\n", 400, "invalid character in request line"),
	E("GET /a\x00" "b HTTP/1.1\r\n", 400, "invalid character in request line"),
	E("GET /a\x7f HTTP/1.1\r\n", 400, "invalid character in request line"),
	E("GET /\xc3\xa9 HTTP/1.1\r\n", 400, "invalid character in request line"),
	E("GET /\x80", 400, "invalid character in request line"),
	E("GET\t/ HTTP/1.1\r\n", 400, "invalid character in request line"),
	E("GET /a\tb HTTP/1.1\r\n", 400, "invalid character in request line"),
	E("GET /a#frag" H11 "\r\n", 400, "fragment in request target"),
	E("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400, "malformed HTTP version"),
	E("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "malformed request line"),
	E(" GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "malformed request line"),
	E("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400, "malformed HTTP version"),
	E("GET / \r\nHost: a\r\n\r\n", 400, "malformed HTTP version"),
	E("GET /\r\n\r\n", 400, "malformed request line"),
	E("GET\r\n\r\n", 400, "malformed request line"),
	E("G(ET / HTTP/1.1\r\n", 400, "invalid method"),
	E("GET / HTTP/2.0\r\n", 505, "HTTP version not supported"),
	E("GET / HTTP/0.9\r\n", 505, "HTTP version not supported"),
	E("GET / HTTP/3.0\r\n", 505, "HTTP version not supported"),
	E("GET / HTTP/1.10\r\n", 400, "malformed HTTP version"),
	E("GET / http/1.1\r\n", 400, "malformed HTTP version"),
	E("GET / HTTP/1\r\n", 400, "malformed HTTP version"),
	E("GET / HTTP/1.x\r\n", 400, "malformed HTTP version"),
	E("GET / HTTP/11\r\n", 400, "malformed HTTP version"),
	/* targets */
	E("GET a HTTP/1.1\r\n", 400, "invalid request target"),
	E("GET 1http://a/ HTTP/1.1\r\n", 400, "invalid request target"),
	E("GET http:/a HTTP/1.1\r\n", 400, "invalid request target"),
	E("GET http: HTTP/1.1\r\n", 400, "invalid request target"),
	E("GET urn:isbn:1 HTTP/1.1\r\n", 400, "invalid request target"),
	E("GET http://user@a/ HTTP/1.1\r\n", 400, "userinfo in request target"),
	E("GET http:///x HTTP/1.1\r\n", 400, "invalid authority in request target"),
	E("GET http://a:b/ HTTP/1.1\r\n", 400, "invalid authority in request target"),
	E("GET http://a\"b/ HTTP/1.1\r\n", 400, "invalid authority in request target"),
	E("GET * HTTP/1.1\r\n", 400, "asterisk-form target outside OPTIONS"),
	E("M-SEARCH * HTTP/1.1\r\n", 400, "asterisk-form target outside OPTIONS"),
	E("OPTIONS ** HTTP/1.1\r\n", 400, "invalid request target"),
	E("CONNECT a HTTP/1.1\r\n", 400, "invalid CONNECT target"),
	E("CONNECT /a HTTP/1.1\r\n", 400, "invalid CONNECT target"),
	/* Host */
	E("GET / HTTP/1.1\r\n\r\n", 400, "missing Host"),
	E("GET / HTTP/1.2\r\n\r\n", 400, "missing Host"),
	E("GET / HTTP/1.1\r\nX: a\r\n\r\n", 400, "missing Host"),
	E("GET http://a/ HTTP/1.1\r\n\r\n", 400, "missing Host"),
	E("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400, "multiple Host fields"),
	E("GET / HTTP/1.1\r\nHost: a\r\nhOST: b\r\n\r\n", 400, "multiple Host fields"),
	E("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400, "multiple Host fields"),
	E("GET / HTTP/1.1\r\nHost:\r\n\r\n", 400, "invalid Host"),
	E("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, "invalid Host"),
	E("GET / HTTP/1.1\r\nHost: a@b\r\n\r\n", 400, "invalid Host"),
	E("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400, "invalid Host"),
	E("GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 400, "invalid Host"),
	E("GET / HTTP/1.1\r\nHost: []\r\n\r\n", 400, "invalid Host"),
	E("GET / HTTP/1.1\r\nHost: a:65536\r\n\r\n", 400, "invalid Host"),
	E("GET / HTTP/1.1\r\nHost: a:123456\r\n\r\n", 400, "invalid Host"),
	E("GET / HTTP/1.1\r\nHost: a:1x\r\n\r\n", 400, "invalid Host"),
	E("GET / HTTP/1.1\r\nHost: a%2\r\n\r\n", 400, "invalid Host"),
	E("GET / HTTP/1.1\r\nHost: :80\r\n\r\n", 400, "invalid Host"),
	E("GET / HTTP/1.1\r\nHost: caf\xc3\xa9\r\n\r\n", 400, "invalid Host"),
	/* Content-Length */
	E("POST /" H11 "Content-Length: abc\r\n\r\n", 400, "invalid Content-Length"),
	E("POST /" H11 "Content-Length:\r\n\r\n", 400, "invalid Content-Length"),
	E("POST /" H11 "Content-Length: -1\r\n\r\n", 400, "invalid Content-Length"),
	E("POST /" H11 "Content-Length: +5\r\n\r\n", 400, "invalid Content-Length"),
	E("POST /" H11 "Content-Length: 5 5\r\n\r\n", 400, "invalid Content-Length"),
	E("POST /" H11 "Content-Length: 5,\r\n\r\n", 400, "invalid Content-Length"),
	E("POST /" H11 "Content-Length: ,5\r\n\r\n", 400, "invalid Content-Length"),
	E("POST /" H11 "Content-Length: 5,,5\r\n\r\n", 400, "invalid Content-Length"),
	E("POST /" H11 "Content-Length: 0x5\r\n\r\n", 400, "invalid Content-Length"),
	E("POST /" H11 "Content-Length: 5, 6\r\n\r\n", 400, "differing Content-Length values"),
	E("POST /" H11 "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", 400,
	  "differing Content-Length values"),
	E("POST /" H11 "Content-Length: 5\r\nContent-Length: 5, 50\r\n\r\n", 400,
	  "differing Content-Length values"),
	E("POST /" H11 "Content-Length: 9223372036854775808\r\n\r\n", 400,
	  "Content-Length too large"),
	E("POST /" H11 "Content-Length: 99999999999999999999999\r\n\r\n", 400,
	  "Content-Length too large"),
	/* Transfer-Encoding */
	E("POST /" H11 "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
	  "both Content-Length and Transfer-Encoding"),
	E("POST /" H11 "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400,
	  "both Content-Length and Transfer-Encoding"),
	E("POST /" H11 "Transfer-Encoding: gzip\r\n\r\n", 400,
	  "chunked is not the final transfer coding"),
	E("POST /" H11 "Transfer-Encoding: gzip, chunked\r\n\r\n", 501,
	  "unsupported transfer coding"),
	E("POST /" H11 "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", 501,
	  "unsupported transfer coding"),
	E("POST /" H11 "Transfer-Encoding: chunked, gzip\r\n\r\n", 400,
	  "chunked is not the final transfer coding"),
	E("POST /" H11 "Transfer-Encoding: chunked, chunked\r\n\r\n", 400,
	  "chunked applied twice"),
	E("POST /" H11 "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
	  "chunked applied twice"),
	E("POST /" H11 "Transfer-Encoding:\r\n\r\n", 400, "chunked is not the final transfer coding"),
	E("POST /" H11 "Transfer-Encoding: chunked;x=1\r\n\r\n", 400, "invalid Transfer-Encoding"),
	E("POST /" H11 "Transfer-Encoding: \"chunked\"\r\n\r\n", 400, "invalid Transfer-Encoding"),
	E("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
	  "Transfer-Encoding in HTTP/1.0"),
	/* Expect */
	E("POST /" H11 "Expect: foo\r\n\r\n", 417, "unsupported expectation"),
	E("POST /" H11 "Expect: 100-continue, foo\r\n\r\n", 417, "unsupported expectation"),
	E("POST /" H11 "Expect: 100-continue=1\r\n\r\n", 417, "unsupported expectation"),
	E("POST /" H11 "Expect: 200-ok\r\n", 417, "unsupported expectation"),
	/* Connection */
	E("GET /" H11 "Connection: a b\r\n\r\n", 400, "invalid Connection"),
	E("GET /" H11 "Connection: close;\r\n\r\n", 400, "invalid Connection"),
	/* list fields beyond HTTP_LIST_LINES_MAX lines */
	E("GET /" H11 "If-None-Match: \"1\"\r\nIf-None-Match: \"2\"\r\nIf-None-Match: \"3\"\r\n"
	  "If-None-Match: \"4\"\r\nIf-None-Match: \"5\"\r\nIf-None-Match: \"6\"\r\n"
	  "If-None-Match: \"7\"\r\nIf-None-Match: \"8\"\r\nIf-None-Match: \"9\"\r\n\r\n",
	  400, "too many If-None-Match lines"),
	/* limits, also while the head is still incomplete */
	EL("GET /0123456789", 414, "request line too long", 10, 100, 10),
	EL("GET /01 HTTP/1.1\r\nHost: a\r\n\r\n", 414, "request line too long", 15, 100, 10),
	EL("GET /012 HTTP/1.1\r\nHost: a\r\n\r\n", 414, "request line too long", 15, 100, 10),
	EL("GET /0 HTTP/1.1\r\nHost: a\r\n", 0, NULL, 15, 100, 10),
	EL("\r\n\r\nGET /0 HTTP/1.1\r\n", 0, NULL, 15, 100, 10),
	EL("GET / HTTP/1.1\r\nHost: a\r\nX: 0123456789", 431, "request head too large", 100, 32,
	   10),
	EL("GET / HTTP/1.1\r\nHost: a\r\nX: 012\r\n\r\n", 431, "request head too large", 100, 34,
	   10),
	EL("GET / HTTP/1.1\r\nHost: a\r\nX: 012\r\n\r", 0, NULL, 100, 35, 10),
	EL("\r\n\r\n\r\n\r\n\r\n\r\n", 431, "request head too large", 100, 11, 10),
	EL("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\nY", 431, "too many header fields", 100, 100, 2),
	EL("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\r", 0, NULL, 100, 100, 2),
	EL("GET / HTTP/1.1\r\nHost: a\r\n\r\n", 431, "too many header fields", 100, 100, 0),
	/* incomplete but fine so far */
	E("", 0, NULL),
	E("\r", 0, NULL),
	E("\r\n\r\n", 0, NULL),
	E("GET", 0, NULL),
	E("GET / HTTP/1.1\r", 0, NULL),
	E("GET / HTTP/1.1\r\nHost: a\r\n", 0, NULL),
	E("GET / HTTP/1.1\r\nHost: a\r\n\r", 0, NULL),
};
/* clang-format on */

static void test_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(err_rows) / sizeof(err_rows[0]); i++) {
		const struct err_row *row = &err_rows[i];
		struct http_limits lim = row->lim.header_size_max ? row->lim : deflim;
		for (int m = 0; m < NMODES; m++) {
			static struct http_request req;
			struct result r;
			run(row->in, row->len, &lim, (enum mode)m, &req, &r);
			enum http_parse_status want = row->status ? HTTP_PARSE_ERROR : HTTP_PARSE_AGAIN;
			if (r.st != want || r.status != row->status ||
			    (row->reason && strcmp(r.reason, row->reason) != 0))
				fail_msg("row at line %d (%s): got %d %d \"%s\", want %d %d \"%s\"",
				         row->line, mode_name[m], r.st, r.status,
				         r.reason ? r.reason : "", want, row->status,
				         row->reason ? row->reason : "");
			free(r.buf);
		}
	}
}

/* ---- successful parses --------------------------------------------------- */

struct ok_row {
	int line;
	const char *in;
	size_t len;
	const char *spec;
};

#define O(input, spec) {__LINE__, S(input), spec}

/* clang-format off */
static const struct ok_row ok_rows[] = {
	O("GET / HTTP/1.1\r\nHost: example.org\r\n\r\n",
	  "m=GET|me=GET|t=/|form=origin|path=/|query!|sch!|auth!|v=11|nf=1|f0=Host:example.org|"
	  "host=example.org|ka=1|close=0|body=none|cl=0|ec=0|head=all|ims!|range!|ua!"),
	O("HEAD /a/b.html?x=1&y=%20 HTTP/1.1\r\nHost: a:8080\r\n\r\n",
	  "me=HEAD|t=/a/b.html?x=1&y=%20|path=/a/b.html|query=x=1&y=%20|host=a:8080"),
	O("GET /a? HTTP/1.1\r\nHost: a\r\n\r\n", "path=/a|query="),
	O("GET /?? HTTP/1.1\r\nHost: a\r\n\r\n", "path=/|query=?"),
	O("GET /%2e%2E/\"{}^`\\ HTTP/1.1\r\nHost: a\r\n\r\n", "path=/%2e%2E/\"{}^`\\"),
	O("get / HTTP/1.1\r\nHost: a\r\n\r\n", "m=get|me=?"),
	O("BREW /pot HTTP/1.1\r\nHost: a\r\n\r\n", "m=BREW|me=?"),
	O("POST / HTTP/1.1\r\nHost: a\r\n\r\n", "me=POST"),
	O("PUT / HTTP/1.1\r\nHost: a\r\n\r\n", "me=PUT"),
	O("DELETE / HTTP/1.1\r\nHost: a\r\n\r\n", "me=DELETE"),
	O("TRACE / HTTP/1.1\r\nHost: a\r\n\r\n", "me=TRACE"),
	O("PATCH / HTTP/1.1\r\nHost: a\r\n\r\n", "me=PATCH"),
	O("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", "me=OPTIONS|form=*|t=*|path!|query!"),
	O("OPTIONS / HTTP/1.1\r\nHost: a\r\n\r\n", "me=OPTIONS|form=origin|path=/"),
	O("CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n",
	  "me=CONNECT|form=authority|auth=example.org:443|path!"),
	/* versions */
	O("GET / HTTP/1.0\r\n\r\n", "v=10|ka=0|host!|nf=0"),
	O("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", "v=10|ka=1|kah=1"),
	O("GET / HTTP/1.0\r\nConnection: Keep-Alive, close\r\n\r\n", "v=10|ka=0|kah=1|close=1"),
	O("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", "ka=0|close=1"),
	O("GET / HTTP/1.1\r\nHost: a\r\nConnection: CLOSE\r\n\r\n", "ka=0|close=1"),
	O("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, , HTTP2-Settings\r\n\r\n",
	  "ka=1|close=0"),
	O("GET / HTTP/1.1\r\nHost: a\r\nConnection:\r\n\r\n", "ka=1"),
	O("GET / HTTP/1.2\r\nHost: a\r\n\r\n", "v=11|ka=1"),
	O("GET / HTTP/1.9\r\nHost: a\r\n\r\n", "v=11|ka=1"),
	/* leading empty lines and pipelining */
	O("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", "m=GET|head=all|nf=1"),
	O("GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n",
	  "path=/a|head=28"),
	O("POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc", "body=len|cl=3|head=48"),
	/* absolute-form */
	O("GET http://Example.com:8080/p/q?r=s HTTP/1.1\r\nHost: other\r\n\r\n",
	  "form=absolute|sch=http|auth=Example.com:8080|path=/p/q|query=r=s|host=other"),
	O("GET HTTPS://a HTTP/1.1\r\nHost: a\r\n\r\n", "form=absolute|sch=HTTPS|auth=a|path=/|query!"),
	O("GET http://a?x HTTP/1.1\r\nHost: a\r\n\r\n", "form=absolute|auth=a|path=/|query=x"),
	O("GET http://[::1]:80/ HTTP/1.0\r\n\r\n", "form=absolute|auth=[::1]:80|path=/"),
	O("GET http://a:/ HTTP/1.0\r\n\r\n", "auth=a:|path=/"),
	O("GET coap+tcp://a/b HTTP/1.0\r\n\r\n", "sch=coap+tcp|auth=a|path=/b"),
	/* Host values */
	O("GET / HTTP/1.1\r\nHost: [2001:db8::1]:8443\r\n\r\n", "host=[2001:db8::1]:8443"),
	O("GET / HTTP/1.1\r\nHost: a%20b.example\r\n\r\n", "host=a%20b.example"),
	O("GET / HTTP/1.1\r\nHost: a:\r\n\r\n", "host=a:"),
	O("GET / HTTP/1.1\r\nHost: a:65535\r\n\r\n", "host=a:65535"),
	O("GET / HTTP/1.1\r\nHOST:a\r\n\r\n", "host=a|f0=HOST:a"),
	/* field values */
	O("GET / HTTP/1.1\r\nHost: a\r\nX-A:  a b \t\r\nX-B:\r\nX-C:\t\tx\ty\r\n\r\n",
	  "nf=4|f1=X-A:a b|f2=X-B:|f3=X-C:x\ty"),
	O("GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9 \xff\r\n\r\n", "f1=X:caf\xc3\xa9 \xff"),
	O("GET / HTTP/1.1\r\nHost: a\r\n!#$%&'*+-.^_`~09az: v\r\nA|B: w\r\n\r\n",
	  "f1=!#$%&'*+-.^_`~09az:v|nf=3"), /* a '|' cannot be written in a spec */
	O("GET / HTTP/1.1\r\nHost: a\r\nX: a:b: c\r\n\r\n", "f1=X:a:b: c"),
	/* body framing */
	O("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n", "body=len|cl=5"),
	O("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", "body=len|cl=0"),
	O("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n", "body=len|cl=5"),
	O("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5,5 ,\t5\r\n\r\n", "body=len|cl=5"),
	O("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\ncontent-length: 005\r\n\r\n",
	  "body=len|cl=5|nf=3"),
	O("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775807\r\n\r\n",
	  "body=len|cl=9223372036854775807"),
	O("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", "body=chunked|cl=0"),
	O("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked \r\n\r\n", "body=chunked"),
	O("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,chunked,\r\n\r\n", "body=chunked"),
	O("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\nTransfer-Encoding: chunked\r\n\r\n",
	  "body=chunked"),
	/* Expect */
	O("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n", "ec=1"),
	O("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\n\r\n", "ec=1"),
	O("POST / HTTP/1.1\r\nHost: a\r\nExpect:\r\n\r\n", "ec=0"),
	O("POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", "ec=0"),
	/* conditional and range fields */
	O("GET / HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"a\", W/\"b\"\r\nif-none-match: \"c\"\r\n"
	  "If-Match: *\r\nIf-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
	  "If-Unmodified-Since: x\r\nRange: bytes=0-1\r\nIf-Range: \"a\"\r\n"
	  "Accept-Encoding: br, gzip;q=0.5\r\n\r\n",
	  "inm#=2|inm0=\"a\", W/\"b\"|inm1=\"c\"|im#=1|im0=*|ims=Sun, 06 Nov 1994 08:49:37 GMT|"
	  "ius=x|range=bytes=0-1|ir=\"a\"|ae#=1|ae0=br, gzip;q=0.5"),
	O("GET / HTTP/1.1\r\nHost: a\r\nIf-Modified-Since: a\r\nIf-Modified-Since: b\r\n\r\n",
	  "ims!|nf=3"),
	O("GET / HTTP/1.1\r\nHost: a\r\nIf-Unmodified-Since: a\r\nIf-Unmodified-Since: a\r\n\r\n",
	  "ius!"),
	O("GET / HTTP/1.1\r\nHost: a\r\nRange: bytes=0-1\r\nRange: bytes=2-3\r\n\r\n",
	  "range!|ir!"),
	O("GET / HTTP/1.1\r\nHost: a\r\nRange: bytes=0-1\r\nIf-Range: \"a\"\r\nIf-Range: \"a\"\r\n\r\n",
	  "range!|ir!"),
	O("GET / HTTP/1.1\r\nHost: a\r\nRange: bytes=0-1\r\n\r\n", "range=bytes=0-1|ir!|im#=0"),
	O("GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: curl/8\r\nReferer: http://r/\r\n"
	  "User-Agent: other\r\nReferer: x\r\n\r\n",
	  "ua=curl/8|ref=http://r/|nf=5"),
	O("GET / HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"1\"\r\nIf-None-Match: \"2\"\r\n"
	  "If-None-Match: \"3\"\r\nIf-None-Match: \"4\"\r\nIf-None-Match: \"5\"\r\n"
	  "If-None-Match: \"6\"\r\nIf-None-Match: \"7\"\r\nIf-None-Match: \"8\"\r\n\r\n",
	  "inm#=8|inm7=\"8\""),
};
/* clang-format on */

static struct http_slice get_slice(const struct http_request *req, const char *key, bool *found)
{
	static const struct http_slice nil;
	*found = true;
	if (!strcmp(key, "m"))
		return req->method_text;
	if (!strcmp(key, "t"))
		return req->target;
	if (!strcmp(key, "sch"))
		return req->scheme;
	if (!strcmp(key, "auth"))
		return req->authority;
	if (!strcmp(key, "path"))
		return req->path;
	if (!strcmp(key, "query"))
		return req->query;
	if (!strcmp(key, "host"))
		return req->host;
	if (!strcmp(key, "ims"))
		return req->if_modified_since;
	if (!strcmp(key, "ius"))
		return req->if_unmodified_since;
	if (!strcmp(key, "ir"))
		return req->if_range;
	if (!strcmp(key, "range"))
		return req->range;
	if (!strcmp(key, "ua"))
		return req->user_agent;
	if (!strcmp(key, "ref"))
		return req->referer;
	const struct http_list *l = NULL;
	const char *rest = NULL;
	if (!strncmp(key, "inm", 3))
		l = &req->if_none_match, rest = key + 3;
	else if (!strncmp(key, "im", 2))
		l = &req->if_match, rest = key + 2;
	else if (!strncmp(key, "ae", 2))
		l = &req->accept_encoding, rest = key + 2;
	if (l && rest[0] >= '0' && rest[0] <= '9') {
		unsigned i = (unsigned)atoi(rest);
		if (i < l->n)
			return l->v[i];
		return nil;
	}
	*found = false;
	return nil;
}

static void slice_str(struct http_slice s, char *out, size_t size)
{
	if (s.p == NULL)
		snprintf(out, size, "(absent)");
	else
		snprintf(out, size, "%.*s", (int)s.len, s.p);
}

/*
 * SPEC: "key=value|key=value|key!" ("key!": the slice is absent). Keys:
 * slices m t sch auth path query host ims ius ir range ua ref inmN imN aeN;
 * me (method name or ?), form, v, nf, fN (name:value), ka close kah ec (0/1),
 * body (none/len/chunked), cl, head (number or "all"), inm# im# ae# (counts).
 */
static void check(const struct ok_row *row, const char *mode, const struct http_request *req)
{
	char spec[1024], got[1024], num[32];

	snprintf(spec, sizeof(spec), "%s", row->spec);
	for (char *item = strtok(spec, "|"); item; item = strtok(NULL, "|")) {
		char *eq = strchr(item, '=');
		const char *want = eq ? eq + 1 : NULL;
		char key[32];
		size_t kl = eq ? (size_t)(eq - item) : strlen(item);
		bool absent = !eq && kl > 0 && item[kl - 1] == '!';
		if (absent)
			kl--;
		snprintf(key, sizeof(key), "%.*s", (int)kl, item);

		bool found;
		struct http_slice s = get_slice(req, key, &found);
		if (found) {
			slice_str(s, got, sizeof(got));
			if (absent ? s.p != NULL : (s.p == NULL || strcmp(got, want) != 0))
				fail_msg("row at line %d (%s): %s is \"%s\", want %s", row->line,
				         mode, key, got, absent ? "absent" : want);
			continue;
		}
		assert_non_null(want);
		if (!strcmp(key, "me")) {
			const char *n = http_method_name(req->method);
			snprintf(got, sizeof(got), "%s", n ? n : "?");
		} else if (!strcmp(key, "form")) {
			static const char *const f[] = {"origin", "absolute", "authority", "*"};
			snprintf(got, sizeof(got), "%s", f[req->form]);
		} else if (!strcmp(key, "v")) {
			snprintf(got, sizeof(got), "%d", (int)req->version);
		} else if (!strcmp(key, "nf")) {
			snprintf(got, sizeof(got), "%u", req->nfields);
		} else if (key[0] == 'f' && key[1] >= '0' && key[1] <= '9') {
			unsigned i = (unsigned)atoi(key + 1);
			if (i >= req->nfields)
				snprintf(got, sizeof(got), "(no field %u)", i);
			else
				snprintf(got, sizeof(got), "%.*s:%.*s", (int)req->fields[i].name.len,
				         req->fields[i].name.p, (int)req->fields[i].value.len,
				         req->fields[i].value.p);
		} else if (!strcmp(key, "ka")) {
			snprintf(got, sizeof(got), "%d", req->keep_alive);
		} else if (!strcmp(key, "close")) {
			snprintf(got, sizeof(got), "%d", req->conn_close);
		} else if (!strcmp(key, "kah")) {
			snprintf(got, sizeof(got), "%d", req->conn_keep_alive);
		} else if (!strcmp(key, "ec")) {
			snprintf(got, sizeof(got), "%d", req->expect_continue);
		} else if (!strcmp(key, "body")) {
			static const char *const b[] = {"none", "len", "chunked"};
			snprintf(got, sizeof(got), "%s", b[req->framing]);
		} else if (!strcmp(key, "cl")) {
			snprintf(got, sizeof(got), "%llu", (unsigned long long)req->content_length);
		} else if (!strcmp(key, "head")) {
			if (!strcmp(want, "all"))
				want = (snprintf(num, sizeof(num), "%zu", row->len), num);
			snprintf(got, sizeof(got), "%zu", req->head_len);
		} else if (!strcmp(key, "inm#")) {
			snprintf(got, sizeof(got), "%u", req->if_none_match.n);
		} else if (!strcmp(key, "im#")) {
			snprintf(got, sizeof(got), "%u", req->if_match.n);
		} else if (!strcmp(key, "ae#")) {
			snprintf(got, sizeof(got), "%u", req->accept_encoding.n);
		} else {
			fail_msg("row at line %d: unknown key %s", row->line, key);
		}
		if (strcmp(got, want) != 0)
			fail_msg("row at line %d (%s): %s is \"%s\", want \"%s\"", row->line, mode, key,
			         got, want);
	}
}

/* Every slice of an OK request lies inside the head it came from. */
static void check_bounds(const struct ok_row *row, const struct http_request *req, const char *buf)
{
	const struct http_slice *all[] = {&req->method_text, &req->target, &req->scheme,
	                                  &req->authority,   &req->query,  &req->host,
	                                  &req->range,       &req->if_range};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		const struct http_slice *s = all[i];
		if (s->p && (s->p < buf || s->p + s->len > buf + req->head_len))
			fail_msg("row at line %d: slice %zu outside the head", row->line, i);
	}
	for (unsigned i = 0; i < req->nfields; i++)
		if (req->fields[i].value.p + req->fields[i].value.len > buf + req->head_len)
			fail_msg("row at line %d: field %u outside the head", row->line, i);
}

static void test_ok(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(ok_rows) / sizeof(ok_rows[0]); i++) {
		const struct ok_row *row = &ok_rows[i];
		for (int m = 0; m < NMODES; m++) {
			static struct http_request req;
			struct result r;
			run(row->in, row->len, &deflim, (enum mode)m, &req, &r);
			if (r.st != HTTP_PARSE_OK)
				fail_msg("row at line %d (%s): got %d %d \"%s\"", row->line, mode_name[m],
				         r.st, r.status, r.reason ? r.reason : "");
			check(row, mode_name[m], &req);
			check_bounds(row, &req, r.buf);
			free(r.buf);
		}
	}
}

/* ---- limits at their exact edges, with the default limits ------------------ */

static size_t build(char *buf, size_t size, size_t target_len, unsigned fields)
{
	size_t n = 0;

	n += (size_t)snprintf(buf + n, size - n, "GET /");
	while (n < target_len + 4)
		buf[n++] = 'a';
	n += (size_t)snprintf(buf + n, size - n, " HTTP/1.1\r\nHost: a\r\n");
	for (unsigned i = 1; i < fields; i++)
		n += (size_t)snprintf(buf + n, size - n, "X-%u: v\r\n", i);
	n += (size_t)snprintf(buf + n, size - n, "\r\n");
	return n;
}

static void test_default_limits(void **state)
{
	static char buf[64 * 1024];
	static struct http_request req;
	struct http_parser p;
	size_t n;

	(void)state;
	/* request line of exactly HTTP_REQUEST_LINE_MAX bytes: "GET " + target + " HTTP/1.1" */
	n = build(buf, sizeof(buf), HTTP_REQUEST_LINE_MAX - 13, 1);
	http_parser_init(&p, &req, &deflim);
	assert_int_equal(http_parse(&p, buf, n), HTTP_PARSE_OK);
	assert_int_equal(req.target.len, HTTP_REQUEST_LINE_MAX - 13);

	n = build(buf, sizeof(buf), HTTP_REQUEST_LINE_MAX - 12, 1);
	http_parser_init(&p, &req, &deflim);
	assert_int_equal(http_parse(&p, buf, n), HTTP_PARSE_ERROR);
	assert_int_equal(p.error_status, 414);

	/* 414 before the line is complete: only the first limit+1 bytes are needed */
	http_parser_init(&p, &req, &deflim);
	assert_int_equal(http_parse(&p, buf, HTTP_REQUEST_LINE_MAX), HTTP_PARSE_AGAIN);
	assert_int_equal(http_parse(&p, buf, HTTP_REQUEST_LINE_MAX + 1), HTTP_PARSE_ERROR);
	assert_int_equal(p.error_status, 414);

	/* HTTP_HEADER_FIELDS_MAX fields, then one more */
	n = build(buf, sizeof(buf), 1, HTTP_HEADER_FIELDS_MAX);
	http_parser_init(&p, &req, &deflim);
	assert_int_equal(http_parse(&p, buf, n), HTTP_PARSE_OK);
	assert_int_equal(req.nfields, HTTP_HEADER_FIELDS_MAX);
	n = build(buf, sizeof(buf), 1, HTTP_HEADER_FIELDS_MAX + 1);
	http_parser_init(&p, &req, &deflim);
	assert_int_equal(http_parse(&p, buf, n), HTTP_PARSE_ERROR);
	assert_int_equal(p.error_status, 431);

	/* a configured fields_max above the array size is clamped */
	struct http_limits big = deflim;
	big.fields_max = 100000;
	http_parser_init(&p, &req, &big);
	assert_int_equal(http_parse(&p, buf, n), HTTP_PARSE_ERROR);
	assert_int_equal(p.error_status, 431);

	/* a head of exactly HTTP_HEADER_SIZE_MAX bytes, then one more */
	n = 0;
	n += (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\nX: ");
	size_t fill = HTTP_HEADER_SIZE_MAX - n - 4;
	memset(buf + n, 'v', fill);
	n += fill;
	memcpy(buf + n, "\r\n\r\n", 4);
	n += 4;
	assert_int_equal(n, HTTP_HEADER_SIZE_MAX);
	http_parser_init(&p, &req, &deflim);
	assert_int_equal(http_parse(&p, buf, n), HTTP_PARSE_OK);
	assert_int_equal(req.head_len, HTTP_HEADER_SIZE_MAX);
	memcpy(buf + n - 4, "v\r\n\r\n", 5);
	http_parser_init(&p, &req, &deflim);
	assert_int_equal(http_parse(&p, buf, n + 1), HTTP_PARSE_ERROR);
	assert_int_equal(p.error_status, 431);
	/* ... also when the terminator has not arrived */
	http_parser_init(&p, &req, &deflim);
	assert_int_equal(http_parse(&p, buf, HTTP_HEADER_SIZE_MAX), HTTP_PARSE_AGAIN);
	assert_int_equal(http_parse(&p, buf, HTTP_HEADER_SIZE_MAX + 1), HTTP_PARSE_ERROR);
	assert_int_equal(p.error_status, 431);
}

/* Resuming examines each byte once: a partial call leaves scan at the end. */
static void test_resume_and_sticky(void **state)
{
	static struct http_request req;
	struct http_parser p;
	const char *in = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
	size_t len = strlen(in);

	(void)state;
	http_parser_init(&p, &req, &deflim);
	assert_int_equal(http_parse(&p, in, 10), HTTP_PARSE_AGAIN);
	assert_int_equal(p.scan, 10);
	assert_int_equal(http_parse(&p, in, 10), HTTP_PARSE_AGAIN);
	assert_int_equal(http_parse(&p, in, len), HTTP_PARSE_OK);
	assert_int_equal(req.head_len, len);
	/* OK and ERROR are sticky until the parser is initialised again */
	assert_int_equal(http_parse(&p, in, len), HTTP_PARSE_OK);
	http_parser_init(&p, &req, &deflim);
	assert_int_equal(http_parse(&p, "\n", 1), HTTP_PARSE_ERROR);
	assert_int_equal(http_parse(&p, in, len), HTTP_PARSE_ERROR);
	assert_int_equal(p.error_status, 400);

	assert_string_equal(http_method_name(HTTP_METHOD_OPTIONS), "OPTIONS");
	assert_null(http_method_name(HTTP_METHOD_UNKNOWN));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_ok),
		cmocka_unit_test(test_default_limits),
		cmocka_unit_test(test_resume_and_sticky),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
