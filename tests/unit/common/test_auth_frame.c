/*
 * Unit tests for the PAM helper framing (common/auth_frame.c): round trips,
 * every short prefix is "need more", oversize and malformed frames are -1,
 * trailing bytes are left for the next frame, replies likewise.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "triad/auth.h"

#define FMAX TRIAD_AUTH_FIELD_MAX
#define PMAX TRIAD_AUTH_PASSWORD_MAX

/* Sentinel lengths in table rows: fill the field with 'a' up to its limit. */
#define AT_MAX ((size_t)-1)

struct rt_row {
	int line;
	uint32_t id;
	const char *service, *user, *password, *rhost;
	size_t user_len, password_len; /* AT_MAX: filled to the limit, else 0 */
};

static const struct rt_row rt_rows[] = {
    {__LINE__, 1, "triad", "alice", "secret", "192.0.2.1", 0, 0},
    {__LINE__, 0, "ftp", "bob", "p@ss w:rd", "2001:db8::1", 0, 0},
    {__LINE__, UINT32_MAX, "smtp", "carol", "\xc3\xa9t\xc3\xa9", "::1", 0, 0},
    {__LINE__, 7, "", "", "", "", 0, 0}, /* zero-length fields */
    {__LINE__, 8, "triad", "dave", "", "198.51.100.7", 0, 0},
    {__LINE__, 9, "triad", "", "pw", "", 0, 0},
    {__LINE__, 10, "triad", NULL, "x", "10.0.0.1", AT_MAX, 0},
    {__LINE__, 11, "triad", "erin", NULL, "10.0.0.1", 0, AT_MAX},
    {__LINE__, 12, NULL, NULL, NULL, NULL, AT_MAX, AT_MAX}, /* every field at its limit */
};

static void fill(char *dst, const char *src, size_t max)
{
	if (src != NULL) {
		strcpy(dst, src);
		return;
	}
	memset(dst, 'a', max);
	dst[max] = '\0';
}

static void row_frame(const struct rt_row *row, struct auth_frame *f)
{
	memset(f, 0x5a, sizeof *f);
	f->id = row->id;
	fill(f->service, row->service, FMAX);
	fill(f->user, row->user, FMAX);
	fill(f->password, row->password, PMAX);
	fill(f->rhost, row->rhost, FMAX);
}

static void test_round_trip(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof rt_rows / sizeof rt_rows[0]; i++) {
		const struct rt_row *row = &rt_rows[i];
		static struct auth_frame in, out;
		uint8_t buf[TRIAD_AUTH_FRAME_MAX];

		print_message("row at line %d\n", row->line);
		row_frame(row, &in);
		int n = auth_frame_encode(&in, buf, sizeof buf);
		size_t want = 8 + 8 + strlen(in.service) + strlen(in.user) + strlen(in.password) +
		              strlen(in.rhost);
		assert_int_equal(n, (int)want);
		/* The length prefix counts everything after itself. */
		assert_int_equal(buf[0] << 24 | buf[1] << 16 | buf[2] << 8 | buf[3], n - 4);

		memset(&out, 0x33, sizeof out);
		assert_int_equal(auth_frame_decode(buf, (size_t)n, &out), n);
		assert_int_equal(out.id, in.id);
		assert_string_equal(out.service, in.service);
		assert_string_equal(out.user, in.user);
		assert_string_equal(out.password, in.password);
		assert_string_equal(out.rhost, in.rhost);

		/* Exactly the frame's size is enough room to encode it, one byte less is not. */
		assert_int_equal(auth_frame_encode(&in, buf, (size_t)n), n);
		assert_int_equal(auth_frame_encode(&in, buf, (size_t)n - 1), -1);
	}
}

static void test_short_reads(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof rt_rows / sizeof rt_rows[0]; i++) {
		const struct rt_row *row = &rt_rows[i];
		static struct auth_frame in, out;
		uint8_t buf[TRIAD_AUTH_FRAME_MAX];

		print_message("row at line %d\n", row->line);
		row_frame(row, &in);
		int n = auth_frame_encode(&in, buf, sizeof buf);
		assert_true(n > 0);
		for (int len = 0; len < n; len++) {
			if (auth_frame_decode(buf, (size_t)len, &out) != 0)
				fail_msg("row at line %d: prefix of %d bytes is not \"need more\"",
				         row->line, len);
		}
		assert_int_equal(auth_frame_decode(buf, (size_t)n, &out), n);
	}
}

static void test_encode_oversize(void **state)
{
	static struct auth_frame f;
	uint8_t buf[TRIAD_AUTH_FRAME_MAX];

	(void)state;
	struct {
		int line;
		char *field;
		size_t size;
	} rows[] = {
	    {__LINE__, f.service, sizeof f.service},
	    {__LINE__, f.user, sizeof f.user},
	    {__LINE__, f.password, sizeof f.password},
	    {__LINE__, f.rhost, sizeof f.rhost},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		print_message("row at line %d\n", rows[i].line);
		row_frame(&rt_rows[0], &f);
		/* No terminator inside the array: one byte over the limit. */
		memset(rows[i].field, 'x', rows[i].size);
		assert_int_equal(auth_frame_encode(&f, buf, sizeof buf), -1);
		rows[i].field[rows[i].size - 1] = '\0';
		assert_true(auth_frame_encode(&f, buf, sizeof buf) > 0);
	}
	row_frame(&rt_rows[0], &f);
	assert_int_equal(auth_frame_encode(&f, buf, 0), -1);
	assert_int_equal(auth_frame_encode(&f, buf, 15), -1);
}

/* Raw frames, spelled out byte by byte. */
#define RAW(s) (const uint8_t *)(s), sizeof(s) - 1

struct bad_row {
	int line;
	const uint8_t *bytes;
	size_t len;
};

static const struct bad_row bad_rows[] = {
    /* body length below id + four length fields */
    {__LINE__, RAW("\0\0\0\0")},
    {__LINE__, RAW("\0\0\0\x0b")},
    /* body length over the frame limit: refused before the body arrives */
    {__LINE__, RAW("\0\0\x07\xfd")},
    {__LINE__, RAW("\xff\xff\xff\xff")},
    {__LINE__, RAW("\x80\0\0\x10")},
    /* a field runs past the declared body */
    {__LINE__, RAW("\0\0\0\x0c"
                   "\0\0\0\1"
                   "\0\0\0\0\0\0\0\5"
                   "abcde")},
    {__LINE__, RAW("\0\0\0\x0d"
                   "\0\0\0\1"
                   "\0\0\0\0\0\0\0\2"
                   "x")},
    /* bytes left over inside the declared body */
    {__LINE__, RAW("\0\0\0\x0d"
                   "\0\0\0\1"
                   "\0\0\0\0\0\0\0\0"
                   "x")},
    {__LINE__, RAW("\0\0\0\x12"
                   "\0\0\0\1"
                   "\0\1s\0\1u\0\1p\0\1r"
                   "zz")},
    /* NUL inside a field */
    {__LINE__, RAW("\0\0\0\x0e"
                   "\0\0\0\1"
                   "\0\0\0\2u\0\0\0\0\0")},
    {__LINE__, RAW("\0\0\0\x0e"
                   "\0\0\0\1"
                   "\0\0\0\0\0\2\0p\0\0")},
    /* body too short for the fourth length */
    {__LINE__, RAW("\0\0\0\x0c"
                   "\0\0\0\1"
                   "\0\0\0\0\0\1x\0")},
};

static void test_decode_malformed(void **state)
{
	static struct auth_frame f;

	(void)state;
	for (size_t i = 0; i < sizeof bad_rows / sizeof bad_rows[0]; i++) {
		print_message("row at line %d\n", bad_rows[i].line);
		assert_int_equal(auth_frame_decode(bad_rows[i].bytes, bad_rows[i].len, &f), -1);
	}
}

/* Builds a frame whose field I declares length DECL and carries that many 'a's. */
static size_t build_oversize(uint8_t *buf, int field, size_t decl)
{
	size_t p = 8;
	for (int i = 0; i < 4; i++) {
		size_t n = i == field ? decl : 1;
		buf[p] = (uint8_t)(n >> 8);
		buf[p + 1] = (uint8_t)n;
		memset(buf + p + 2, 'a', n);
		p += 2 + n;
	}
	size_t body = p - 4;
	buf[0] = (uint8_t)(body >> 24);
	buf[1] = (uint8_t)(body >> 16);
	buf[2] = (uint8_t)(body >> 8);
	buf[3] = (uint8_t)body;
	memset(buf + 4, 0, 4);
	return p;
}

static void test_decode_oversize_field(void **state)
{
	static struct auth_frame f;
	uint8_t buf[TRIAD_AUTH_FRAME_MAX * 2];

	(void)state;
	struct {
		int line;
		int field;
		size_t len;
		int ok;
	} rows[] = {
	    {__LINE__, 0, FMAX, 1},     {__LINE__, 0, FMAX + 1, 0}, {__LINE__, 1, FMAX, 1},
	    {__LINE__, 1, FMAX + 1, 0}, {__LINE__, 2, PMAX, 1},     {__LINE__, 2, PMAX + 1, 0},
	    {__LINE__, 3, FMAX, 1},     {__LINE__, 3, FMAX + 1, 0},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		print_message("row at line %d\n", rows[i].line);
		size_t n = build_oversize(buf, rows[i].field, rows[i].len);
		int r = auth_frame_decode(buf, n, &f);
		assert_int_equal(r, rows[i].ok ? (int)n : -1);
	}

	/* A body one byte over the frame limit, fully present, is still refused. */
	size_t body = TRIAD_AUTH_FRAME_MAX - 3;
	memset(buf, 0, sizeof buf);
	buf[2] = (uint8_t)(body >> 8);
	buf[3] = (uint8_t)body;
	assert_int_equal(auth_frame_decode(buf, 4 + body, &f), -1);
	/* ...while a body exactly at the limit gets past the length check. */
	body = TRIAD_AUTH_FRAME_MAX - 4;
	buf[2] = (uint8_t)(body >> 8);
	buf[3] = (uint8_t)body;
	assert_int_equal(auth_frame_decode(buf, 4 + body - 1, &f), 0);
}

static void test_decode_wipes_on_error(void **state)
{
	static struct auth_frame f;
	static const uint8_t frame[] = "\0\0\0\x13"
	                               "\0\0\0\1"
	                               "\0\1s\0\1u\0\3pwd\0\1r"
	                               "z";

	(void)state;
	memset(&f, 0, sizeof f);
	assert_int_equal(auth_frame_decode(frame, sizeof frame - 1, &f), -1);
	assert_string_equal(f.password, "");
}

static void test_trailing_bytes(void **state)
{
	static struct auth_frame a, b, out;
	uint8_t buf[2 * TRIAD_AUTH_FRAME_MAX];

	(void)state;
	row_frame(&rt_rows[0], &a);
	row_frame(&rt_rows[1], &b);
	int n1 = auth_frame_encode(&a, buf, sizeof buf);
	int n2 = auth_frame_encode(&b, buf + n1, sizeof buf - (size_t)n1);
	assert_true(n1 > 0 && n2 > 0);

	/* Two frames back to back: the first consumes only itself. */
	assert_int_equal(auth_frame_decode(buf, (size_t)(n1 + n2), &out), n1);
	assert_int_equal(out.id, a.id);
	assert_int_equal(auth_frame_decode(buf + n1, (size_t)n2, &out), n2);
	assert_int_equal(out.id, b.id);
	assert_string_equal(out.user, "bob");
	/* A partial second frame behind a full one. */
	assert_int_equal(auth_frame_decode(buf, (size_t)n1 + 3, &out), n1);
	assert_int_equal(auth_frame_decode(buf + n1, 3, &out), 0);
}

static void test_wipe(void **state)
{
	static struct auth_frame f;
	static const struct auth_frame zero;

	(void)state;
	row_frame(&rt_rows[0], &f);
	auth_frame_wipe(&f);
	assert_memory_equal(&f, &zero, sizeof f);
}

static void test_reply(void **state)
{
	uint8_t buf[16];
	uint32_t id;
	enum auth_result r;

	(void)state;
	struct {
		int line;
		uint32_t id;
		enum auth_result r;
	} rows[] = {
	    {__LINE__, 1, AUTH_OK},
	    {__LINE__, 0, AUTH_DENIED},
	    {__LINE__, UINT32_MAX, AUTH_ERROR},
	    {__LINE__, 0x01020304, AUTH_THROTTLED},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		print_message("row at line %d\n", rows[i].line);
		memset(buf, 0xee, sizeof buf);
		assert_int_equal(auth_reply_encode(rows[i].id, rows[i].r, buf, sizeof buf), 9);
		for (size_t len = 0; len < 9; len++)
			assert_int_equal(auth_reply_decode(buf, len, &id, &r), 0);
		/* Trailing bytes are the next reply's. */
		assert_int_equal(auth_reply_decode(buf, sizeof buf, &id, &r), 9);
		assert_int_equal(id, rows[i].id);
		assert_int_equal(r, rows[i].r);
	}
	assert_int_equal(auth_reply_encode(1, AUTH_OK, buf, 8), -1);
	assert_int_equal(auth_reply_encode(1, (enum auth_result)4, buf, sizeof buf), -1);
}

static void test_reply_malformed(void **state)
{
	uint32_t id;
	enum auth_result r;

	(void)state;
	struct {
		int line;
		const uint8_t *bytes;
		size_t len;
	} rows[] = {
	    {__LINE__, RAW("\0\0\0\4")},             /* wrong length, refused early */
	    {__LINE__, RAW("\0\0\0\6\0\0\0\1\0\0")}, /* longer body */
	    {__LINE__, RAW("\xff\xff\xff\xff")},
	    {__LINE__, RAW("\0\0\0\5\0\0\0\1\4")}, /* unknown result */
	    {__LINE__, RAW("\0\0\0\5\0\0\0\1\xff")},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		print_message("row at line %d\n", rows[i].line);
		assert_int_equal(auth_reply_decode(rows[i].bytes, rows[i].len, &id, &r), -1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_short_reads),
	    cmocka_unit_test(test_encode_oversize),
	    cmocka_unit_test(test_decode_malformed),
	    cmocka_unit_test(test_decode_oversize_field),
	    cmocka_unit_test(test_decode_wipes_on_error),
	    cmocka_unit_test(test_trailing_bytes),
	    cmocka_unit_test(test_wipe),
	    cmocka_unit_test(test_reply),
	    cmocka_unit_test(test_reply_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
