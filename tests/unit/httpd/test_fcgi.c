/*
 * Unit tests for httpd/fcgi.c: the FastCGI record codec (FastCGI
 * Specification 1.0: §3.3 records and padding, §3.4 name-value pairs,
 * §5.1 FCGI_BEGIN_REQUEST, §5.3 FCGI_STDOUT/FCGI_STDERR, §5.5
 * FCGI_END_REQUEST, §4 management records).
 *
 * Decoder rows are fed whole, one byte per call and in growing pieces;
 * the stdout and stderr bytes collected and the outcome must agree.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../../httpd/fcgi.h"

#define S(lit) lit, sizeof(lit) - 1
/* a record header: type, request id 1, content length, padding */
#define H(t, len, pad) "\x01" t "\x00\x01\x00" len pad "\x00"
#define OUT "\x06"
#define ERRT "\x07"
#define END "\x03"
#define ENDREC(app) H(END, "\x08", "\x00") "\x00\x00\x00" app "\x00\x00\x00\x00"

struct row {
	int line;
	const char *in;
	size_t len;
	enum fcgi_event want; /* END, ERROR or AGAIN (input ran out) */
	const char *out, *err;
	unsigned app_status;
	const char *reason;
	size_t at; /* END: bytes consumed in total */
};

#define ROW_END(in, out, err, app) {__LINE__, S(in), FCGI_EV_END, out, err, app, NULL, sizeof(in) - 1}
#define ROW_ENDAT(in, out, err, app, at) {__LINE__, S(in), FCGI_EV_END, out, err, app, NULL, at}
#define ROW_ERR(in, out, why) {__LINE__, S(in), FCGI_EV_ERROR, out, "", 0, why, 0}
#define ROW_AGAIN(in, out) {__LINE__, S(in), FCGI_EV_AGAIN, out, "", 0, NULL, 0}

/* clang-format off */
static const struct row rows[] = {
	ROW_END(H(OUT, "\x05", "\x03") "hello\0\0\0" H(OUT, "\x00", "\x00") ENDREC("\x00"), "hello", "", 0),
	ROW_END(H(OUT, "\x02", "\x00") "ab" H(ERRT, "\x03", "\x05") "oops\0\0\0\0" H(OUT, "\x01", "\x00") "c" ENDREC("\x07"), "abc", "oop", 7),
	/* management records (request id 0) are skipped */
	ROW_END("\x01\x0a\x00\x00\x00\x02\x00\x00" "xy" H(OUT, "\x01", "\x00") "z" ENDREC("\x00"), "z", "", 0),
	/* END_REQUEST with padding: the padding is consumed too */
	ROW_END(H(END, "\x08", "\x02") "\x00\x00\x01\x00\x00\x00\x00\x00" "pp", "", "", 256),
	/* bytes after END_REQUEST are the next request's: not consumed */
	ROW_ENDAT(ENDREC("\x00") "\x01\x06", "", "", 0, 16),
	ROW_ERR("\x02\x06\x00\x01\x00\x00\x00\x00", "", "bad FastCGI version"),
	ROW_ERR("\x01\x06\x00\x02\x00\x00\x00\x00", "", "record for another request"),
	ROW_ERR(H("\x05", "\x00", "\x00"), "", "unexpected record type"),
	ROW_ERR(H("\x09", "\x00", "\x00"), "", "unexpected record type"),
	ROW_ERR("\x01\x01\x00\x00\x00\x00\x00\x00", "", "unexpected management record"),
	ROW_ERR(H(END, "\x04", "\x00") "\0\0\0\0", "", "bad FCGI_END_REQUEST length"),
	ROW_ERR(H(OUT, "\x01", "\x00") "a" H(OUT, "\x00", "\x00") H(OUT, "\x01", "\x00") "b", "a", "FCGI_STDOUT after its end"),
	ROW_AGAIN(H(OUT, "\x05", "\x03") "hel", "hel"),
	ROW_AGAIN(H(OUT, "\x01", "\x03") "h\0", "h"),
	ROW_AGAIN("\x01\x06\x00", ""),
	ROW_AGAIN(H(END, "\x08", "\x00") "\0\0\0\0\0\0\0", ""),
};
/* clang-format on */

struct sink {
	char out[256], err[256];
	size_t no, ne;
};

static enum fcgi_event run(const struct row *row, int mode, struct sink *k, size_t *total,
                           struct fcgi_decoder *d)
{
	fcgi_decoder_init(d, 1);
	memset(k, 0, sizeof(*k));
	size_t off = 0, step = 1;
	*total = 0;
	enum fcgi_event ev = FCGI_EV_AGAIN;
	while (off < row->len) {
		size_t n = mode == 0 ? row->len : mode == 1 ? 1 : step++;
		if (n > row->len - off)
			n = row->len - off;
		unsigned char *piece = malloc(n);
		assert_non_null(piece);
		memcpy(piece, row->in + off, n);
		size_t pos = 0;
		for (;;) {
			size_t used;
			const unsigned char *data;
			size_t dlen;
			ev = fcgi_decode(d, piece + pos, n - pos, &used, &data, &dlen);
			pos += used;
			if (ev == FCGI_EV_STDOUT) {
				memcpy(k->out + k->no, data, dlen);
				k->no += dlen;
				continue;
			}
			if (ev == FCGI_EV_STDERR) {
				memcpy(k->err + k->ne, data, dlen);
				k->ne += dlen;
				continue;
			}
			break;
		}
		free(piece);
		off += pos;
		if (ev != FCGI_EV_AGAIN)
			break;
		if (pos != n)
			fail_msg("row at line %d: AGAIN consumed %zu of %zu", row->line, pos, n);
	}
	*total = off;
	return ev;
}

static void test_decode_rows(void **state)
{
	(void)state;
	static const char *const mode[] = {"whole", "bytes", "pieces"};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *row = &rows[i];
		for (int m = 0; m < 3; m++) {
			struct sink k;
			struct fcgi_decoder d;
			size_t total;
			enum fcgi_event ev = run(row, m, &k, &total, &d);
			if (ev != row->want)
				fail_msg("row at line %d (%s): event %d (%s), want %d", row->line, mode[m],
				         ev, d.error_reason ? d.error_reason : "", row->want);
			if (k.no != strlen(row->out) || memcmp(k.out, row->out, k.no) != 0 ||
			    k.ne != strlen(row->err) || memcmp(k.err, row->err, k.ne) != 0)
				fail_msg("row at line %d (%s): stdout \"%.*s\" stderr \"%.*s\"", row->line,
				         mode[m], (int)k.no, k.out, (int)k.ne, k.err);
			if (ev == FCGI_EV_ERROR && strcmp(d.error_reason, row->reason) != 0)
				fail_msg("row at line %d: reason \"%s\", want \"%s\"", row->line,
				         d.error_reason, row->reason);
			if (ev == FCGI_EV_END && (d.app_status != row->app_status || total != row->at ||
			                          d.protocol_status != FCGI_REQUEST_COMPLETE))
				fail_msg("row at line %d (%s): app %u at %zu", row->line, mode[m],
				         d.app_status, total);
		}
	}
}

struct pair_row {
	int line;
	size_t nlen, vlen; /* filled with 'n' and 'v' */
	size_t want;       /* encoded bytes */
	const char *prefix; /* the length bytes */
	size_t plen;
};

/* clang-format off */
static const struct pair_row pairs[] = {
	{__LINE__, 0, 0, 2, S("\x00\x00")},
	{__LINE__, 11, 2, 15, S("\x0b\x02")},
	{__LINE__, 127, 127, 256, S("\x7f\x7f")},
	{__LINE__, 128, 1, 134, S("\x80\x00\x00\x80\x01")},
	{__LINE__, 1, 300, 306, S("\x01\x80\x00\x01\x2c")},
	{__LINE__, 70000, 66000, 136008, S("\x80\x01\x11\x70\x80\x01\x01\xd0")},
};
/* clang-format on */

static void test_pairs(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		const struct pair_row *row = &pairs[i];
		char *name = malloc(row->nlen + 1), *value = malloc(row->vlen + 1);
		memset(name, 'n', row->nlen);
		memset(value, 'v', row->vlen);
		size_t cap = row->want + 8;
		unsigned char *buf = malloc(cap);
		size_t n = fcgi_pair(buf, cap, name, row->nlen, value, row->vlen);
		if (n != row->want || fcgi_pair_len(row->nlen, row->vlen) != row->want ||
		    memcmp(buf, row->prefix, row->plen) != 0)
			fail_msg("pair row at line %d: %zu bytes", row->line, n);
		/* it does not fit one byte short */
		if (fcgi_pair(buf, row->want - 1, name, row->nlen, value, row->vlen) != 0)
			fail_msg("pair row at line %d: fitted one byte short", row->line);
		size_t off = 0, nl, vl;
		const unsigned char *np, *vp;
		bool bad;
		if (!fcgi_pair_next(buf, n, &off, &np, &nl, &vp, &vl, &bad) || nl != row->nlen ||
		    vl != row->vlen || off != n || memcmp(np, name, nl) != 0 ||
		    memcmp(vp, value, vl) != 0)
			fail_msg("pair row at line %d: no round trip", row->line);
		assert_false(fcgi_pair_next(buf, n, &off, &np, &nl, &vp, &vl, &bad));
		assert_false(bad);
		/* truncated anywhere: malformed, never read past the end */
		for (size_t cut = 1; cut < n && cut < 16; cut++) {
			off = 0;
			if (fcgi_pair_next(buf, cut, &off, &np, &nl, &vp, &vl, &bad) || !bad)
				fail_msg("pair row at line %d: cut at %zu accepted", row->line, cut);
		}
		free(buf);
		free(name);
		free(value);
	}
}

static void test_records(void **state)
{
	(void)state;
	unsigned char b[16];
	assert_int_equal(fcgi_begin_request(b, 0x1234, FCGI_KEEP_CONN), 16);
	assert_memory_equal(b, "\x01\x01\x12\x34\x00\x08\x00\x00\x00\x01\x01\x00\x00\x00\x00\x00", 16);
	/* §3.3: padding to a multiple of 8 */
	assert_int_equal(fcgi_header(b, FCGI_STDIN, 1, 0), 0);
	assert_memory_equal(b, "\x01\x05\x00\x01\x00\x00\x00\x00", 8);
	assert_int_equal(fcgi_header(b, FCGI_PARAMS, 1, 1), 7);
	assert_memory_equal(b, "\x01\x04\x00\x01\x00\x01\x07\x00", 8);
	assert_int_equal(fcgi_header(b, FCGI_STDIN, 1, 65535), 1);
	assert_memory_equal(b, "\x01\x05\x00\x01\xff\xff\x01\x00", 8);
	assert_int_equal(fcgi_header(b, FCGI_STDIN, 1, 16), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_decode_rows),
	    cmocka_unit_test(test_pairs),
	    cmocka_unit_test(test_records),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
