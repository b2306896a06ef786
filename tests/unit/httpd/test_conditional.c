/*
 * Unit tests for httpd/conditional.c: precondition evaluation in the order
 * of RFC 9110 §13.2.2, entity-tag lists and the ETag format.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../../httpd/conditional.h"

#define ETAG "\"abc\""
#define MTIME 784111777 /* Sun, 06 Nov 1994 08:49:37 GMT */
#define D0 "Sun, 06 Nov 1994 08:49:37 GMT"
#define DB "Sat, 05 Nov 1994 08:49:37 GMT" /* a day before MTIME */
#define DA "Mon, 07 Nov 1994 08:49:37 GMT" /* a day after */
#define NOW 1717200000

enum { GET = HTTP_METHOD_GET, HEAD = HTTP_METHOD_HEAD, POST = HTTP_METHOD_POST,
       DELETE = HTTP_METHOD_DELETE, PUT = HTTP_METHOD_PUT };
enum { GO = HTTP_COND_PROCEED, C304 = HTTP_COND_NOT_MODIFIED, C412 = HTTP_COND_PRECONDITION_FAILED };

struct row {
	int line;
	int method;
	const char *im, *inm, *ims, *ius, *ir; /* NULL: absent; '\n' separates field lines */
	int range;
	int want;
	int range_applies;
};

#define R(m, im, inm, ims, ius, ir, rg, want, ra) {__LINE__, m, im, inm, ims, ius, ir, rg, want, ra}

/* clang-format off */
static const struct row rows[] = {
	/* nothing conditional */
	R(GET, NULL, NULL, NULL, NULL, NULL, 0, GO, 0),
	R(GET, NULL, NULL, NULL, NULL, NULL, 1, GO, 1),
	R(HEAD, NULL, NULL, NULL, NULL, NULL, 1, GO, 0),
	R(POST, NULL, NULL, NULL, NULL, NULL, 1, GO, 0),
	/* If-Match: strong comparison */
	R(GET, ETAG, NULL, NULL, NULL, NULL, 0, GO, 0),
	R(PUT, ETAG, NULL, NULL, NULL, NULL, 0, GO, 0),
	R(GET, "\"xyz\"", NULL, NULL, NULL, NULL, 0, C412, 0),
	R(HEAD, "\"xyz\"", NULL, NULL, NULL, NULL, 0, C412, 0),
	R(GET, "W/" ETAG, NULL, NULL, NULL, NULL, 0, C412, 0),
	R(GET, "*", NULL, NULL, NULL, NULL, 0, GO, 0),
	R(GET, "\"x\", " ETAG, NULL, NULL, NULL, NULL, 0, GO, 0),
	R(GET, "\"x\"\n" ETAG, NULL, NULL, NULL, NULL, 0, GO, 0),
	R(GET, "\"x\",\"y\"\n\"z\"", NULL, NULL, NULL, NULL, 0, C412, 0),
	R(GET, "abc", NULL, NULL, NULL, NULL, 0, C412, 0),       /* unparsable: fails */
	R(GET, "*, " ETAG, NULL, NULL, NULL, NULL, 0, C412, 0),  /* "*" is not a member */
	R(GET, "*\n" ETAG, NULL, NULL, NULL, NULL, 0, C412, 0),
	R(GET, "", NULL, NULL, NULL, NULL, 0, C412, 0),
	R(GET, ETAG " x", NULL, NULL, NULL, NULL, 0, C412, 0),
	/* If-Unmodified-Since, only without If-Match */
	R(GET, NULL, NULL, NULL, DA, NULL, 0, GO, 0),
	R(GET, NULL, NULL, NULL, D0, NULL, 0, GO, 0),
	R(GET, NULL, NULL, NULL, DB, NULL, 0, C412, 0),
	R(POST, NULL, NULL, NULL, DB, NULL, 0, C412, 0),
	R(GET, NULL, NULL, NULL, "yesterday", NULL, 0, GO, 0),
	R(GET, NULL, NULL, NULL, DB ", " DA, NULL, 0, GO, 0),
	R(GET, ETAG, NULL, NULL, DB, NULL, 0, GO, 0),
	R(GET, "\"xyz\"", NULL, NULL, DA, NULL, 0, C412, 0),
	/* If-Match before If-None-Match */
	R(GET, "\"xyz\"", ETAG, NULL, NULL, NULL, 0, C412, 0),
	R(GET, NULL, ETAG, NULL, DB, NULL, 0, C412, 0),
	/* If-None-Match: weak comparison; 304 for GET/HEAD, 412 otherwise */
	R(GET, NULL, ETAG, NULL, NULL, NULL, 0, C304, 0),
	R(HEAD, NULL, ETAG, NULL, NULL, NULL, 0, C304, 0),
	R(POST, NULL, ETAG, NULL, NULL, NULL, 0, C412, 0),
	R(DELETE, NULL, ETAG, NULL, NULL, NULL, 0, C412, 0),
	R(GET, NULL, "W/" ETAG, NULL, NULL, NULL, 0, C304, 0),
	R(GET, NULL, "\"xyz\"", NULL, NULL, NULL, 0, GO, 0),
	R(GET, NULL, "\"ABC\"", NULL, NULL, NULL, 0, GO, 0),
	R(GET, NULL, "*", NULL, NULL, NULL, 0, C304, 0),
	R(PUT, NULL, "*", NULL, NULL, NULL, 0, C412, 0),
	R(GET, NULL, "\"x\", W/" ETAG, NULL, NULL, NULL, 0, C304, 0),
	R(GET, NULL, "\"x\"\n" ETAG, NULL, NULL, NULL, 0, C304, 0),
	R(GET, NULL, ",, " ETAG " ,,", NULL, NULL, NULL, 0, C304, 0),
	R(GET, NULL, "\"x\",\t\"y\"", NULL, NULL, NULL, 0, GO, 0),
	R(GET, NULL, "\"abc", NULL, NULL, NULL, 0, GO, 0),       /* unparsable: ignored */
	R(GET, NULL, "abc", NULL, NULL, NULL, 0, GO, 0),
	R(GET, NULL, "w/" ETAG, NULL, NULL, NULL, 0, GO, 0),
	R(GET, NULL, "W/ " ETAG, NULL, NULL, NULL, 0, GO, 0),
	R(GET, NULL, ETAG ETAG, NULL, NULL, NULL, 0, GO, 0),
	R(GET, NULL, "\"a\x01\"", NULL, NULL, NULL, 0, GO, 0),
	R(GET, NULL, ETAG, NULL, NULL, NULL, 1, C304, 0),
	/* If-Modified-Since: GET/HEAD only, only without If-None-Match */
	R(GET, NULL, NULL, D0, NULL, NULL, 0, C304, 0),
	R(HEAD, NULL, NULL, D0, NULL, NULL, 0, C304, 0),
	R(GET, NULL, NULL, DA, NULL, NULL, 0, C304, 0),
	R(GET, NULL, NULL, DB, NULL, NULL, 1, GO, 1),
	R(POST, NULL, NULL, D0, NULL, NULL, 0, GO, 0),
	R(GET, NULL, NULL, "Sunday, 06-Nov-94 08:49:37 GMT", NULL, NULL, 0, C304, 0),
	R(GET, NULL, NULL, "Sun Nov  6 08:49:37 1994", NULL, NULL, 0, C304, 0),
	R(GET, NULL, NULL, "not a date", NULL, NULL, 0, GO, 0),
	R(GET, NULL, NULL, D0 " ", NULL, NULL, 0, GO, 0),
	R(GET, NULL, "\"xyz\"", D0, NULL, NULL, 0, GO, 0),
	R(GET, NULL, "xyz", D0, NULL, NULL, 0, C304, 0), /* unparsable INM counts as absent */
	R(GET, NULL, NULL, D0, NULL, NULL, 1, C304, 0),
	/* If-Range: decides whether the Range applies (GET only) */
	R(GET, NULL, NULL, NULL, NULL, ETAG, 1, GO, 1),
	R(GET, NULL, NULL, NULL, NULL, "\"xyz\"", 1, GO, 0),
	R(GET, NULL, NULL, NULL, NULL, "W/" ETAG, 1, GO, 0),
	R(GET, NULL, NULL, NULL, NULL, ETAG ", " ETAG, 1, GO, 0),
	R(GET, NULL, NULL, NULL, NULL, "*", 1, GO, 0),
	R(GET, NULL, NULL, NULL, NULL, D0, 1, GO, 1),
	R(GET, NULL, NULL, NULL, NULL, DA, 1, GO, 0),
	R(GET, NULL, NULL, NULL, NULL, DB, 1, GO, 0),
	R(GET, NULL, NULL, NULL, NULL, "garbage", 1, GO, 0),
	R(GET, NULL, NULL, NULL, NULL, "", 1, GO, 0),
	R(GET, NULL, NULL, NULL, NULL, ETAG, 0, GO, 0),
	R(HEAD, NULL, NULL, NULL, NULL, ETAG, 1, GO, 0),
	R(GET, ETAG, "\"xyz\"", DB, DA, ETAG, 1, GO, 1),
};
/* clang-format on */

/* Splits S at '\n' into the lines of L (the strings outlive the call). */
static const struct http_list *list(const char *s, struct http_list *l)
{
	if (s == NULL)
		return NULL;
	l->n = 0;
	for (;;) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);
		l->v[l->n].p = s;
		l->v[l->n].len = n;
		l->n++;
		if (!nl)
			return l;
		s = nl + 1;
	}
}

static struct http_slice slice(const char *s)
{
	struct http_slice v;

	v.p = s;
	v.len = s ? strlen(s) : 0;
	return v;
}

static void test_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *row = &rows[i];
		struct http_list im, inm;
		struct http_cond_input in = {
			.method = (enum http_method)row->method,
			.if_match = list(row->im, &im),
			.if_none_match = list(row->inm, &inm),
			.if_modified_since = slice(row->ims),
			.if_unmodified_since = slice(row->ius),
			.if_range = slice(row->ir),
			.has_range = row->range,
			.etag = slice(ETAG),
			.mtime = MTIME,
			.now = NOW,
		};
		bool ra = true;
		enum http_cond c = http_cond_evaluate(&in, &ra);
		if ((int)c != row->want || ra != (bool)row->range_applies)
			fail_msg("row at line %d: got %d range %d, want %d range %d", row->line, c, ra,
			         row->want, row->range_applies);
	}
}

/* If-Range with a date that starts like a weak tag ("Wed, ..."). */
static void test_if_range_wednesday(void **state)
{
	struct http_cond_input in = {
		.method = HTTP_METHOD_GET,
		.if_range = slice("Wed, 21 Oct 2015 07:28:00 GMT"),
		.has_range = true,
		.etag = slice(ETAG),
		.mtime = 1445412480,
		.now = NOW,
	};
	bool ra = false;

	(void)state;
	assert_int_equal(http_cond_evaluate(&in, &ra), HTTP_COND_PROCEED);
	assert_true(ra);
	in.mtime++;
	assert_int_equal(http_cond_evaluate(&in, &ra), HTTP_COND_PROCEED);
	assert_false(ra);
}

static void test_etag_match(void **state)
{
	/* clang-format off */
	static const struct {
		int line;
		const char *list, *etag;
		int strong;
		int want;
	} m[] = {
		{__LINE__, "\"a,b\"", "\"a,b\"", 1, HTTP_ETAG_MATCH},
		{__LINE__, "\"a\", \"b\"", "\"a,b\"", 0, HTTP_ETAG_NO_MATCH},
		{__LINE__, "\"\"", "\"\"", 1, HTTP_ETAG_MATCH},
		{__LINE__, "\"caf\xc3\xa9\"", "\"caf\xc3\xa9\"", 1, HTTP_ETAG_MATCH},
		{__LINE__, "W/\"a\"", "W/\"a\"", 1, HTTP_ETAG_NO_MATCH},
		{__LINE__, "W/\"a\"", "W/\"a\"", 0, HTTP_ETAG_MATCH},
		{__LINE__, "\"a\"", "W/\"a\"", 0, HTTP_ETAG_MATCH},
		{__LINE__, "\"a\"", "W/\"a\"", 1, HTTP_ETAG_NO_MATCH},
		{__LINE__, "\"a\"", "a", 0, HTTP_ETAG_NO_MATCH},        /* bad current tag */
		{__LINE__, "*", "a", 0, HTTP_ETAG_MATCH},
		{__LINE__, "\"a b\"", "\"a b\"", 0, HTTP_ETAG_INVALID},
		{__LINE__, "\"a\"\"b\"", "\"a\"", 0, HTTP_ETAG_INVALID},
		{__LINE__, "\"a\" ;", "\"a\"", 0, HTTP_ETAG_INVALID},
		{__LINE__, " , ", "\"a\"", 0, HTTP_ETAG_INVALID},
		{__LINE__, "**", "\"a\"", 0, HTTP_ETAG_INVALID},
		{__LINE__, "*, *", "\"a\"", 0, HTTP_ETAG_INVALID},
	};
	/* clang-format on */
	(void)state;
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		struct http_list l;
		int got = http_etag_match(list(m[i].list, &l), slice(m[i].etag), m[i].strong);
		if (got != m[i].want)
			fail_msg("row at line %d: got %d, want %d", m[i].line, got, m[i].want);
	}
}

static void test_etag_format(void **state)
{
	char out[HTTP_ETAG_MAX];

	(void)state;
	assert_int_equal(http_etag_format(out, 0x1234, 0x10, 1, 5), 18);
	assert_string_equal(out, "\"3b9aca05-10-1234\"");
	assert_int_equal(http_etag_format(out, 0, 0, 0, 0), 7);
	assert_string_equal(out, "\"0-0-0\"");
	/* the longest form fits */
	size_t n = http_etag_format(out, UINT64_MAX, UINT64_MAX, -1, 999999999);
	assert_int_equal(n, strlen(out));
	assert_true(n < HTTP_ETAG_MAX);
	assert_int_equal(http_etag_format(out, UINT64_MAX, UINT64_MAX, 18446744073, 709551615), 52);
	/* it is a valid strong entity-tag that matches itself */
	struct http_list l = {.v = {slice(out)}, .n = 1};
	assert_int_equal(http_etag_match(&l, slice(out), true), HTTP_ETAG_MATCH);
	/* any change of inode, size or mtime (even in ns) changes it */
	char a[HTTP_ETAG_MAX], b[HTTP_ETAG_MAX];
	http_etag_format(a, 7, 100, 1700000000, 1);
	http_etag_format(b, 7, 100, 1700000000, 2);
	assert_string_not_equal(a, b);
	http_etag_format(b, 8, 100, 1700000000, 1);
	assert_string_not_equal(a, b);
	http_etag_format(b, 7, 101, 1700000000, 1);
	assert_string_not_equal(a, b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_if_range_wednesday),
		cmocka_unit_test(test_etag_match),
		cmocka_unit_test(test_etag_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
