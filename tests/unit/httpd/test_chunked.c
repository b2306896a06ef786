/*
 * Unit tests for httpd/chunked.c: the chunked-body decoder.
 *
 * Each row is decoded whole, one byte per call, and in uneven pieces; the
 * outcome, the offset where it happened and data_total must agree.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../../httpd/chunked.h"

#define S(lit) lit, sizeof(lit) - 1

struct row {
	int line;
	const char *in;
	size_t len;
	enum http_chunked_status want;
	size_t at;       /* DONE/ERROR: the offset reported; AGAIN: ignored (len) */
	uint64_t data;   /* data_total at the end */
	int status;      /* ERROR only */
	const char *reason;
	uint64_t max;    /* 0: UINT64_MAX */
};

#define AGAIN(in, data) {__LINE__, S(in), HTTP_CHUNKED_AGAIN, 0, data, 0, NULL, 0}
#define DONE(in, at, data) {__LINE__, S(in), HTTP_CHUNKED_DONE, at, data, 0, NULL, 0}
#define ERR(in, at, data, st, why) {__LINE__, S(in), HTTP_CHUNKED_ERROR, at, data, st, why, 0}
#define ERRM(in, at, data, st, why, max) {__LINE__, S(in), HTTP_CHUNKED_ERROR, at, data, st, why, max}
#define DONEM(in, at, data, max) {__LINE__, S(in), HTTP_CHUNKED_DONE, at, data, 0, NULL, max}

/* clang-format off */
static const struct row rows[] = {
	/* well-formed */
	DONE("0\r\n\r\n", 5, 0),
	DONE("000\r\n\r\n", 7, 0),
	DONE("5\r\nhello\r\n0\r\n\r\n", 15, 5),
	DONE("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nGET / HTTP/1.1\r\n", 26, 11),
	DONE("a\r\n0123456789\r\nA\r\n0123456789\r\n0\r\n\r\n", 35, 20),
	DONE("1F\r\n0123456789012345678901234567890\r\n0\r\n\r\n", 42, 31),
	DONE("00000000000000a\r\n0123456789\r\n0\r\n\r\n", 34, 10),
	DONE("4\r\nab\r\n\r\n0\r\n\r\n", 14, 4), /* data may hold CRLF */
	/* extensions */
	DONE("5;a\r\nhello\r\n0\r\n\r\n", 17, 5),
	DONE("5;a=b\r\nhello\r\n0\r\n\r\n", 19, 5),
	DONE("5 ;a = b ; c\r\nhello\r\n0\r\n\r\n", 26, 5),
	DONE("5\t;\ta\t=\tb\r\nhello\r\n0\r\n\r\n", 23, 5),
	DONE("5;a=\"q u;o=t\\\"e\"\r\nhello\r\n0\r\n\r\n", 30, 5),
	DONE("5;a=\"\"\r\nhello\r\n0;last\r\n\r\n", 25, 5),
	DONE("5;!#$%&'*+-.^_`|~=!#$%&'*+-.^_`|~\r\nhello\r\n0\r\n\r\n", 47, 5),
	/* trailers */
	DONE("0\r\nX-T: v\r\n\r\n", 13, 0),
	DONE("0\r\nX-T:v\r\nY:\r\n\r\n", 16, 0),
	DONE("0\r\nX: caf\xc3\xa9\t \r\n\r\n", 17, 0),
	/* incomplete */
	AGAIN("", 0),
	AGAIN("5", 0),
	AGAIN("5\r", 0),
	AGAIN("5\r\nhel", 3),
	AGAIN("5\r\nhello", 5),
	AGAIN("5\r\nhello\r", 5),
	AGAIN("5\r\nhello\r\n0\r\n", 5),
	AGAIN("5\r\nhello\r\n0\r\nX: y\r\n", 5),
	AGAIN("5\r\nhello\r\n0\r\n\r", 5),
	AGAIN("5;a=\"x", 0),
	/* chunk-size */
	ERR("\r\n", 0, 0, 400, "invalid chunk size"),
	ERR("g\r\n", 0, 0, 400, "invalid chunk size"),
	ERR(" 5\r\n", 0, 0, 400, "invalid chunk size"),
	ERR("-5\r\n", 0, 0, 400, "invalid chunk size"),
	ERR("+5\r\n", 0, 0, 400, "invalid chunk size"),
	ERR("0x5\r\n", 1, 0, 400, "invalid chunk extension"),
	ERR("5 \r\nhello\r\n", 2, 0, 400, "invalid chunk extension"),
	ERR("5\t\r\nhello\r\n", 2, 0, 400, "invalid chunk extension"),
	AGAIN("ffffffffffffffff\r\n", 0),
	ERR("00000000000000001\r\n", 16, 0, 400, "chunk size too long"),
	ERR("10000000000000000\r\n", 16, 0, 400, "chunk size too long"),
	ERRM("5\r\nhello\r\n6\r\n", 10, 5, 413, "request body too large", 10),
	ERRM("b\r\n", 0, 0, 413, "request body too large", 10),
	DONEM("5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n", 25, 10, 10),
	/* CRLF discipline */
	ERR("5\nhello\r\n0\r\n\r\n", 1, 0, 400, "bare LF in chunked body"),
	ERR("5\rhello\r\n0\r\n\r\n", 2, 0, 400, "bare CR in chunked body"),
	ERR("5\r\nhello\n0\r\n\r\n", 8, 5, 400, "bare LF in chunked body"),
	ERR("5\r\nhello\r0\r\n\r\n", 9, 5, 400, "bare CR in chunked body"),
	ERR("5\r\nhelloX\r\n0\r\n\r\n", 8, 5, 400, "chunk data not followed by CRLF"),
	ERR("3\r\nhello\r\n0\r\n\r\n", 6, 3, 400, "chunk data not followed by CRLF"),
	ERR("5\r\nhello\r\n\r\n", 10, 5, 400, "invalid chunk size"),
	ERR("0\r\n\n", 3, 0, 400, "bare LF in chunked body"),
	ERR("0\r\n\rX", 4, 0, 400, "bare CR in chunked body"),
	/* extensions */
	ERR("5;\r\nhello\r\n", 2, 0, 400, "invalid chunk extension"),
	ERR("5;=b\r\nhello\r\n", 2, 0, 400, "invalid chunk extension"),
	ERR("5;a=\r\nhello\r\n", 4, 0, 400, "invalid chunk extension"),
	ERR("5;a b\r\nhello\r\n", 4, 0, 400, "invalid chunk extension"),
	ERR("5;a=b c\r\nhello\r\n", 6, 0, 400, "invalid chunk extension"),
	ERR("5;a=b=c\r\nhello\r\n", 5, 0, 400, "invalid chunk extension"),
	ERR("5;a=\"b\r\n", 6, 0, 400, "invalid chunk extension"),
	ERR("5;a=\"b\nc\"\r\n", 6, 0, 400, "bare LF in chunked body"),
	ERR("5;a=\"\x01\"\r\n", 5, 0, 400, "invalid chunk extension"),
	ERR("5;a=\"\\\x7f\"\r\n", 6, 0, 400, "invalid chunk extension"),
	ERR("5;a\x01\r\n", 3, 0, 400, "invalid chunk extension"),
	ERR("5;a\n", 3, 0, 400, "bare LF in chunked body"),
	ERR("5 a\r\n", 2, 0, 400, "invalid chunk extension"),
	ERR("5=a\r\n", 1, 0, 400, "invalid chunk extension"),
	ERR("5;a;;b\r\n", 4, 0, 400, "invalid chunk extension"),
	/* trailers */
	ERR("0\r\n X: y\r\n\r\n", 3, 0, 400, "obs-fold in trailer"),
	ERR("0\r\nX: y\r\n\tz\r\n\r\n", 9, 0, 400, "obs-fold in trailer"),
	ERR("0\r\nX : y\r\n\r\n", 4, 0, 400, "whitespace before colon in trailer"),
	ERR("0\r\n: y\r\n\r\n", 3, 0, 400, "invalid trailer field"),
	ERR("0\r\nX\r\n\r\n", 4, 0, 400, "invalid trailer field"),
	ERR("0\r\nX(: y\r\n\r\n", 4, 0, 400, "invalid trailer field"),
	ERR("0\r\nX: a\x00\r\n\r\n", 7, 0, 400, "control character in trailer"),
	ERR("0\r\nX: a\x7f\r\n\r\n", 7, 0, 400, "control character in trailer"),
	ERR("0\r\nX: a\nY: b\r\n\r\n", 7, 0, 400, "bare LF in chunked body"),
	ERR("0\r\nX: a\rY: b\r\n\r\n", 8, 0, 400, "bare CR in chunked body"),
};
/* clang-format on */

static void decode(const struct row *row, int mode, enum http_chunked_status *st, size_t *at,
                   struct http_chunked *d)
{
	size_t off = 0, step = 1, used = 0;

	http_chunked_init(d, row->max ? row->max : UINT64_MAX);
	*st = HTTP_CHUNKED_AGAIN;
	if (row->len == 0)
		*st = http_chunked_decode(d, row->in, 0, &used);
	while (off < row->len && *st == HTTP_CHUNKED_AGAIN) {
		size_t n = mode == 0 ? row->len : mode == 1 ? 1 : step++;
		if (n > row->len - off)
			n = row->len - off;
		char *piece = malloc(n);
		assert_non_null(piece);
		memcpy(piece, row->in + off, n);
		*st = http_chunked_decode(d, piece, n, &used);
		free(piece);
		if (*st == HTTP_CHUNKED_AGAIN && used != n)
			fail_msg("row at line %d: AGAIN consumed %zu of %zu", row->line, used, n);
		off += used;
	}
	*at = off;
}

static void test_rows(void **state)
{
	static const char *const mode[] = {"whole", "bytes", "chunks"};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *row = &rows[i];
		for (int m = 0; m < 3; m++) {
			struct http_chunked d;
			enum http_chunked_status st;
			size_t at;
			size_t want_at = row->want == HTTP_CHUNKED_AGAIN ? row->len : row->at;

			decode(row, m, &st, &at, &d);
			if (st != row->want || at != want_at || d.data_total != row->data)
				fail_msg("row at line %d (%s): got %d at %zu data %llu (%d %s), want %d "
				         "at %zu data %llu",
				         row->line, mode[m], st, at, (unsigned long long)d.data_total,
				         d.error_status, d.error_reason ? d.error_reason : "", row->want,
				         want_at, (unsigned long long)row->data);
			if (st == HTTP_CHUNKED_ERROR &&
			    (d.error_status != row->status || strcmp(d.error_reason, row->reason) != 0))
				fail_msg("row at line %d (%s): got %d \"%s\", want %d \"%s\"", row->line,
				         mode[m], d.error_status, d.error_reason, row->status, row->reason);
		}
	}
}

/* The bounds on extensions and trailers, at their edges. */
static void test_bounds(void **state)
{
	static char buf[3 * HTTP_CHUNK_TRAILER_MAX];
	struct http_chunked d;
	size_t n, used;

	(void)state;
	/* HTTP_CHUNK_EXT_MAX bytes after the size digit, CR included */
	n = 0;
	buf[n++] = '0';
	buf[n++] = ';';
	while (n < 1 + HTTP_CHUNK_EXT_MAX - 1)
		buf[n++] = 'e';
	memcpy(buf + n, "\r\n\r\n", 4);
	http_chunked_init(&d, UINT64_MAX);
	assert_int_equal(http_chunked_decode(&d, buf, n + 4, &used), HTTP_CHUNKED_DONE);
	assert_int_equal(used, n + 4);
	memcpy(buf + n, "e\r\n\r\n", 5);
	http_chunked_init(&d, UINT64_MAX);
	assert_int_equal(http_chunked_decode(&d, buf, n + 5, &used), HTTP_CHUNKED_ERROR);
	assert_int_equal(d.error_status, 400);
	assert_string_equal(d.error_reason, "chunk extension too long");

	/* a trailer section of HTTP_CHUNK_TRAILER_MAX bytes, final CRLF included */
	n = (size_t)snprintf(buf, sizeof(buf), "0\r\nX: ");
	while (n < 3 + HTTP_CHUNK_TRAILER_MAX - 4)
		buf[n++] = 'v';
	memcpy(buf + n, "\r\n\r\n", 4);
	http_chunked_init(&d, UINT64_MAX);
	assert_int_equal(http_chunked_decode(&d, buf, n + 4, &used), HTTP_CHUNKED_DONE);
	assert_int_equal(used, 3 + HTTP_CHUNK_TRAILER_MAX);
	memcpy(buf + n, "v\r\n\r\n", 5);
	http_chunked_init(&d, UINT64_MAX);
	assert_int_equal(http_chunked_decode(&d, buf, n + 5, &used), HTTP_CHUNKED_ERROR);
	assert_int_equal(d.error_status, 431);

	/* sixteen hex digits are fine when the budget allows */
	http_chunked_init(&d, UINT64_MAX);
	assert_int_equal(http_chunked_decode(&d, S("7fffffffffffffff\r\nabc"), &used),
	                 HTTP_CHUNKED_AGAIN);
	assert_int_equal(d.data_total, 3);

	/* DONE and ERROR are sticky */
	http_chunked_init(&d, UINT64_MAX);
	assert_int_equal(http_chunked_decode(&d, S("0\r\n\r\n"), &used), HTTP_CHUNKED_DONE);
	assert_int_equal(http_chunked_decode(&d, S("5\r\n"), &used), HTTP_CHUNKED_DONE);
	assert_int_equal(used, 0);
	http_chunked_init(&d, UINT64_MAX);
	assert_int_equal(http_chunked_decode(&d, S("x"), &used), HTTP_CHUNKED_ERROR);
	assert_int_equal(http_chunked_decode(&d, S("0\r\n\r\n"), &used), HTTP_CHUNKED_ERROR);
}

/* yield: every row decodes to the same outcome and its chunk-data, in order, is
 * exactly the data runs handed out (what a proxy forwards), in any split. */
static void test_yield(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *row = &rows[i];
		for (size_t step = 1; step <= row->len + 1; step += (step < 4 ? 1 : 7)) {
			struct http_chunked plain, y;
			size_t used, off = 0;
			http_chunked_init(&plain, row->max ? row->max : UINT64_MAX);
			enum http_chunked_status want = http_chunked_decode(&plain, row->in, row->len, &used);
			http_chunked_init(&y, row->max ? row->max : UINT64_MAX);
			y.yield = true;
			enum http_chunked_status st = HTTP_CHUNKED_AGAIN;
			uint64_t got = 0;
			while (off < row->len && st == HTTP_CHUNKED_AGAIN) {
				size_t n = row->len - off < step ? row->len - off : step;
				size_t pos = 0;
				while (pos < n && st == HTTP_CHUNKED_AGAIN) {
					st = http_chunked_decode(&y, row->in + off + pos, n - pos, &used);
					if (y.data_len) {
						if (y.data_off + y.data_len > used)
							fail_msg("row at line %d: data past consumed", row->line);
						got += y.data_len;
					}
					pos += used;
					if (st == HTTP_CHUNKED_AGAIN && used == 0 && pos < n)
						fail_msg("row at line %d: no progress", row->line);
				}
				off += pos;
			}
			if (row->len == 0)
				st = http_chunked_decode(&y, row->in, 0, &used);
			if (st != want || y.data_total != plain.data_total || got != y.data_total)
				fail_msg("row at line %d step %zu: yield got %d data %llu/%llu, want %d",
				         row->line, step, st, (unsigned long long)got,
				         (unsigned long long)y.data_total, want);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_yield),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
