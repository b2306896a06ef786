/*
 * Unit tests for smtpd/data.c. Every row runs whole, split at every point
 * into two chunks, into three chunks (short rows) and byte by byte; all
 * runs must agree. Then each SMTP smuggling variant inside a sample message
 * over every split point, long lines, sizes, and sink failures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../../smtpd/data.h"
#include "triad/limits.h"

#define ROW(...)                                                                                   \
	{                                                                                          \
		.line = __LINE__, __VA_ARGS__                                                      \
	}
#define IN(x) .in = x, .inlen = sizeof(x) - 1
#define OUT(x) .out = x, .outlen = sizeof(x) - 1

struct sinkbuf {
	char buf[16384];
	size_t len;
	int calls;
	int fail_at; /* the call that fails (1-based), 0: never */
};

static int sink(void *arg, const char *p, size_t n)
{
	struct sinkbuf *s = arg;
	if (++s->calls == s->fail_at)
		return -1;
	assert_true(s->fail_at == 0 || s->calls < s->fail_at);
	assert_true(n > 0 && s->len + n <= sizeof s->buf);
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	return 0;
}

struct data_row {
	int line;
	enum smtp_data_mode mode;
	unsigned opts;
	uint64_t max;
	const char *in;
	size_t inlen;
	/* The output; for a refused message, the longest output allowed (a prefix). */
	const char *out;
	size_t outlen;
	size_t rest;   /* octets left unconsumed (DATA: pipelined after the end) */
	bool open;     /* no end seen (DATA) / no BDAT LAST */
	uint64_t size; /* RFC 1870 size */
	unsigned flags;
	enum smtp_rid result;
};

struct outcome {
	struct sinkbuf sb;
	size_t consumed;
	bool done;
	struct smtp_data d;
};

/* Feeds r->in cut at CUTS (ascending offsets). */
static void run_cuts(const struct data_row *r, const size_t *cuts, size_t ncuts, struct outcome *o)
{
	size_t pos = 0;

	memset(o, 0, sizeof *o);
	smtp_data_init(&o->d, r->mode, r->opts, r->max, sink, &o->sb);
	for (size_t k = 0; k <= ncuts; k++) {
		size_t end = k < ncuts ? cuts[k] : r->inlen;
		if (!smtp_data_done(&o->d)) {
			size_t n = smtp_data_feed(&o->d, r->in + pos, end - pos);
			assert_true(n <= end - pos);
			o->consumed += n;
			/* DATA stops only at the end marker */
			if (n < end - pos)
				assert_true(smtp_data_done(&o->d));
		} else {
			assert_int_equal(smtp_data_feed(&o->d, r->in + pos, end - pos), 0);
		}
		pos = end;
	}
	if (r->mode == SMTP_DATA_BDAT && !r->open)
		smtp_data_finish(&o->d);
	o->done = smtp_data_done(&o->d);
}

static void check(const struct data_row *r, const struct outcome *o, const char *how)
{
	const struct smtp_data *d = &o->d;
	enum smtp_rid res = smtp_data_result(d);

	if (o->consumed != r->inlen - r->rest)
		fail_msg("row at line %d (%s): consumed %zu", r->line, how, o->consumed);
	if (o->done == r->open)
		fail_msg("row at line %d (%s): done %d", r->line, how, o->done);
	if (d->size != r->size)
		fail_msg("row at line %d (%s): size %llu", r->line, how,
		         (unsigned long long)d->size);
	if (d->flags != r->flags)
		fail_msg("row at line %d (%s): flags %#x", r->line, how, d->flags);
	if (res != r->result)
		fail_msg("row at line %d (%s): result %d", r->line, how, res);
	if (d->stored != o->sb.len)
		fail_msg("row at line %d (%s): stored %llu", r->line, how,
		         (unsigned long long)d->stored);
	bool exact = res == SMTP_R_NONE;
	if ((exact && o->sb.len != r->outlen) || o->sb.len > r->outlen ||
	    memcmp(o->sb.buf, r->out, o->sb.len) != 0)
		fail_msg("row at line %d (%s): output \"%.*s\"", r->line, how, (int)o->sb.len,
		         o->sb.buf);
}

static void run_row(const struct data_row *r)
{
	struct outcome o;
	size_t cuts[2];
	char how[64];

	run_cuts(r, NULL, 0, &o);
	check(r, &o, "whole");
	for (size_t i = 0; i <= r->inlen; i++) {
		cuts[0] = i;
		run_cuts(r, cuts, 1, &o);
		snprintf(how, sizeof how, "split at %zu", i);
		check(r, &o, how);
	}
	if (r->inlen <= 48) {
		for (size_t i = 0; i <= r->inlen; i++)
			for (size_t j = i; j <= r->inlen; j++) {
				cuts[0] = i;
				cuts[1] = j;
				run_cuts(r, cuts, 2, &o);
				snprintf(how, sizeof how, "split at %zu and %zu", i, j);
				check(r, &o, how);
			}
	}
	size_t *all = malloc((r->inlen + 1) * sizeof *all);
	assert_non_null(all);
	for (size_t i = 0; i < r->inlen; i++)
		all[i] = i + 1;
	run_cuts(r, all, r->inlen, &o);
	check(r, &o, "byte by byte");
	free(all);
}

#define DOT SMTP_DATA_DOT
#define BDAT SMTP_DATA_BDAT
#define NORM SMTP_DATA_NORMALISE
#define F_LF SMTP_DATA_F_BARE_LF
#define F_CR SMTP_DATA_F_BARE_CR
#define F_8 SMTP_DATA_F_8BIT
#define F_BIG SMTP_DATA_F_TOO_BIG
#define R_LF SMTP_R_DATA_BARE_LF
#define R_CR SMTP_R_DATA_BARE_CR
#define R_BIG SMTP_R_DATA_TOO_BIG

/* clang-format off */
static const struct data_row rows[] = {
	/* DATA: the end marker, pipelining after it */
	ROW(.mode = DOT, IN(".\r\n"), OUT(""), .size = 0),
	ROW(.mode = DOT, IN("\r\n.\r\n"), OUT("\n"), .size = 2),
	ROW(.mode = DOT, IN("Hello\r\n.\r\n"), OUT("Hello\n"), .size = 7),
	ROW(.mode = DOT, IN("a\r\nb\r\n.\r\n"), OUT("a\nb\n"), .size = 6),
	ROW(.mode = DOT, IN("a\r\n\r\nb\r\n.\r\n"), OUT("a\n\nb\n"), .size = 8),
	ROW(.mode = DOT, IN("Hello\r\n.\r\nQUIT\r\n"), OUT("Hello\n"), .rest = 6, .size = 7),
	ROW(.mode = DOT, IN("x\r\n.\r\nMAIL FROM:<a@b>\r\n"), OUT("x\n"), .rest = 17, .size = 3),
	ROW(.mode = DOT, IN(".\r\n.\r\n"), OUT(""), .rest = 3, .size = 0),
	/* not yet ended */
	ROW(.mode = DOT, IN("a\r\n.\r"), OUT("a\n"), .open = true, .size = 3),
	ROW(.mode = DOT, IN("a\r\n."), OUT("a\n"), .open = true, .size = 3),
	ROW(.mode = DOT, IN("a\r\n"), OUT("a\n"), .open = true, .size = 3),
	ROW(.mode = DOT, IN("a\r"), OUT("a"), .open = true, .size = 1),
	ROW(.mode = DOT, IN(""), OUT(""), .open = true, .size = 0),
	ROW(.mode = DOT, IN("a.\r\n"), OUT("a.\n"), .open = true, .size = 4),
	ROW(.mode = DOT, IN(" .\r\n"), OUT(" .\n"), .open = true, .size = 4),
	/* dot-stuffing */
	ROW(.mode = DOT, IN("..foo\r\n.\r\n"), OUT(".foo\n"), .size = 6),
	ROW(.mode = DOT, IN(".foo\r\n.\r\n"), OUT("foo\n"), .size = 5),
	ROW(.mode = DOT, IN("...\r\n.\r\n"), OUT("..\n"), .size = 4),
	ROW(.mode = DOT, IN("a\r\n..\r\n.\r\n"), OUT("a\n.\n"), .size = 6),
	ROW(.mode = DOT, IN(". \r\n.\r\n"), OUT(" \n"), .size = 3),
	ROW(.mode = DOT, IN("x.\r\n.\r\n"), OUT("x.\n"), .size = 4),
	ROW(.mode = DOT, IN("..\r\n..\r\n.\r\n"), OUT(".\n.\n"), .size = 6),
	/* 8-bit and NUL pass through */
	ROW(.mode = DOT, IN("caf\xc3\xa9\x00\xff\r\n.\r\n"), OUT("caf\xc3\xa9\x00\xff\n"),
	    .size = 9, .flags = F_8),
	ROW(.mode = DOT, IN(".\xff\r\n.\r\n"), OUT("\xff\n"), .size = 3, .flags = F_8),
	/* bare LF / bare CR: refused, reading goes on to the real end */
	ROW(.mode = DOT, IN("a\nb\r\n.\r\n"), OUT("a"), .size = 5, .flags = F_LF, .result = R_LF),
	ROW(.mode = DOT, IN("a\rb\r\n.\r\n"), OUT("a"), .size = 5, .flags = F_CR, .result = R_CR),
	ROW(.mode = DOT, IN("\n.\r\n.\r\n"), OUT(""), .size = 4, .flags = F_LF, .result = R_LF),
	ROW(.mode = DOT, IN("a\r\r\n.\r\n"), OUT("a"), .size = 4, .flags = F_CR, .result = R_CR),
	ROW(.mode = DOT, IN("a\n"), OUT("a"), .open = true, .size = 2, .flags = F_LF,
	    .result = R_LF),
	/* the same, normalised: LF kept as a line end, CR dropped */
	ROW(.mode = DOT, .opts = NORM, IN("a\nb\r\n.\r\n"), OUT("a\nb\n"), .size = 5,
	    .flags = F_LF),
	ROW(.mode = DOT, .opts = NORM, IN("a\rb\r\n.\r\n"), OUT("ab\n"), .size = 5, .flags = F_CR),
	ROW(.mode = DOT, .opts = NORM, IN("a\r\r\n.\r\n"), OUT("a\n"), .size = 4, .flags = F_CR),
	ROW(.mode = DOT, .opts = NORM, IN("a\r\r\r\n.\r\n"), OUT("a\n"), .size = 5,
	    .flags = F_CR),
	ROW(.mode = DOT, .opts = NORM, IN("\r\r\n.\r\n"), OUT("\n"), .size = 3, .flags = F_CR),
	/* smuggling: none of these ends the message */
	ROW(.mode = DOT, IN("a\n.\nb\r\n.\r\n"), OUT("a"), .size = 7, .flags = F_LF,
	    .result = R_LF),
	ROW(.mode = DOT, .opts = NORM, IN("a\n.\nb\r\n.\r\n"), OUT("a\n.\nb\n"), .size = 7,
	    .flags = F_LF),
	ROW(.mode = DOT, IN("a\r.\nb\r\n.\r\n"), OUT("a"), .size = 7, .flags = F_CR | F_LF,
	    .result = R_LF),
	ROW(.mode = DOT, .opts = NORM, IN("a\r.\nb\r\n.\r\n"), OUT("a.\nb\n"), .size = 7,
	    .flags = F_CR | F_LF),
	ROW(.mode = DOT, IN("a\n.\r\nb\r\n.\r\n"), OUT("a"), .size = 8, .flags = F_LF,
	    .result = R_LF),
	ROW(.mode = DOT, .opts = NORM, IN("a\n.\r\nb\r\n.\r\n"), OUT("a\n.\nb\n"), .size = 8,
	    .flags = F_LF),
	ROW(.mode = DOT, IN("a\r.\r\nb\r\n.\r\n"), OUT("a"), .size = 8, .flags = F_CR,
	    .result = R_CR),
	ROW(.mode = DOT, .opts = NORM, IN("a\r.\r\nb\r\n.\r\n"), OUT("a.\nb\n"), .size = 8,
	    .flags = F_CR),
	ROW(.mode = DOT, IN("a\r\n.\nb\r\n.\r\n"), OUT("a\n"), .size = 7, .flags = F_LF,
	    .result = R_LF),
	ROW(.mode = DOT, .opts = NORM, IN("a\r\n.\nb\r\n.\r\n"), OUT("a\n\nb\n"), .size = 7,
	    .flags = F_LF),
	ROW(.mode = DOT, IN("a\r\n.\rb\r\n.\r\n"), OUT("a\n"), .size = 7, .flags = F_CR,
	    .result = R_CR),
	ROW(.mode = DOT, .opts = NORM, IN("a\r\n.\rb\r\n.\r\n"), OUT("a\nb\n"), .size = 7,
	    .flags = F_CR),
	ROW(.mode = DOT, .opts = NORM, IN("a\r\n\n.\r\nb\r\n.\r\n"), OUT("a\n\n.\nb\n"),
	    .size = 10, .flags = F_LF),
	ROW(.mode = DOT, .opts = NORM, IN("a\n.\rb\r\n.\r\n"), OUT("a\n.b\n"), .size = 7,
	    .flags = F_LF | F_CR),
	ROW(.mode = DOT, .opts = NORM, IN("a\n..\nb\r\n.\r\n"), OUT("a\n..\nb\n"), .size = 8,
	    .flags = F_LF),
	/* size: counted as RFC 1870 says, refused past the limit, nothing more stored */
	ROW(.mode = DOT, .max = 7, IN("Hello\r\n.\r\n"), OUT("Hello\n"), .size = 7),
	ROW(.mode = DOT, .max = 6, IN("Hello\r\n.\r\n"), OUT("Hello"), .size = 7, .flags = F_BIG,
	    .result = R_BIG),
	ROW(.mode = DOT, .max = 6, IN("12345\r\n67890\r\n.\r\nQUIT\r\n"), OUT("12345"),
	    .rest = 6, .size = 14, .flags = F_BIG, .result = R_BIG),
	ROW(.mode = DOT, .max = 3, IN("..a\r\n.\r\n"), OUT(".a\n"), .size = 4, .flags = F_BIG,
	    .result = R_BIG),
	ROW(.mode = DOT, .max = 4, IN("..a\r\n.\r\n"), OUT(".a\n"), .size = 4),
	ROW(.mode = DOT, .max = 2, IN("abc\nd\r\n.\r\n"), OUT("ab"), .size = 7,
	    .flags = F_BIG | F_LF, .result = R_BIG),
	/* BDAT: raw octets, CRLF -> LF across chunks, no dot handling */
	ROW(.mode = BDAT, IN("Hello\r\nWorld\r\n"), OUT("Hello\nWorld\n"), .size = 14),
	ROW(.mode = BDAT, IN(".\r\n"), OUT(".\n"), .size = 3),
	ROW(.mode = BDAT, IN("..x\r\n.\r\n"), OUT("..x\n.\n"), .size = 8),
	ROW(.mode = BDAT, IN("a\r\nb"), OUT("a\nb"), .size = 4),
	ROW(.mode = BDAT, IN(""), OUT(""), .size = 0),
	ROW(.mode = BDAT, IN("\r\n\r\n"), OUT("\n\n"), .size = 4),
	ROW(.mode = BDAT, IN("caf\xc3\xa9\r\n"), OUT("caf\xc3\xa9\n"), .size = 7, .flags = F_8),
	ROW(.mode = BDAT, IN("a\r"), OUT("a"), .size = 2, .flags = F_CR, .result = R_CR),
	ROW(.mode = BDAT, IN("a\r"), OUT("a"), .open = true, .size = 1),
	ROW(.mode = BDAT, IN("a\rb"), OUT("a"), .size = 3, .flags = F_CR, .result = R_CR),
	ROW(.mode = BDAT, IN("a\nb"), OUT("a"), .size = 3, .flags = F_LF, .result = R_LF),
	ROW(.mode = BDAT, IN("a\n.\nb\r\n.\r\n"), OUT("a"), .size = 10, .flags = F_LF,
	    .result = R_LF),
	ROW(.mode = BDAT, .opts = NORM, IN("a\r"), OUT("a"), .size = 2, .flags = F_CR),
	ROW(.mode = BDAT, .opts = NORM, IN("a\rb\nc\r\n"), OUT("ab\nc\n"), .size = 7,
	    .flags = F_CR | F_LF),
	ROW(.mode = BDAT, .opts = NORM, IN("a\r\r\n"), OUT("a\n"), .size = 4, .flags = F_CR),
	ROW(.mode = BDAT, .max = 3, IN("abcd"), OUT("abc"), .size = 4, .flags = F_BIG,
	    .result = R_BIG),
	ROW(.mode = BDAT, .max = 4, IN("a\r\nb"), OUT("a\nb"), .size = 4),
};
/* clang-format on */

static void test_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		run_row(&rows[i]);
}

/* ---- SMTP smuggling inside a realistic message --------------------------- */

static void test_smuggling(void **state)
{
	(void)state;
	static const char head[] = "From: alice@example.org\r\nTo: bob@example.org\r\n"
	                           "Subject: hello\r\n\r\nbody";
	static const char head_lf[] = "From: alice@example.org\nTo: bob@example.org\n"
	                              "Subject: hello\n\nbody";
	static const char tail[] = "MAIL FROM:<ceo@example.org>\r\nRCPT TO:<bob@example.org>\r\n"
	                           "DATA\r\nFrom: ceo@example.org\r\n\r\nsmuggled\r\n";
	static const char tail_lf[] = "MAIL FROM:<ceo@example.org>\nRCPT TO:<bob@example.org>\n"
	                              "DATA\nFrom: ceo@example.org\n\nsmuggled\n";
	static const char end[] = ".\r\n";
	static const char after[] = "QUIT\r\n";
	/* clang-format off */
	static const struct {
		int line;
		const char *v, *norm; /* the variant and what normalising stores for it */
		enum smtp_rid refused;
	} variants[] = {
		{__LINE__, "\n.\n", "\n.\n", R_LF},
		{__LINE__, "\r.\n", ".\n", R_LF},
		{__LINE__, "\n.\r\n", "\n.\n", R_LF},
		{__LINE__, "\r.\r\n", ".\n", R_CR},
		{__LINE__, "\r\n.\n", "\n\n", R_LF},
		{__LINE__, "\r\n.\r", "\n", R_CR},
		{__LINE__, "\n.\r", "\n.", R_LF},
		{__LINE__, "\r.\r", ".", R_CR},
		{__LINE__, "\n\n.\n\n", "\n\n.\n\n", R_LF},
		{__LINE__, "\r\n\n.\n\r\n", "\n\n.\n\n", R_LF},
		{__LINE__, "\r\r\n.\n", "\n\n", R_LF},
	};
	/* clang-format on */

	for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
		char in[512], norm[512];
		int n =
		    snprintf(in, sizeof in, "%s%s%s%s%s", head, variants[v].v, tail, end, after);
		int m = snprintf(norm, sizeof norm, "%s%s%s", head_lf, variants[v].norm, tail_lf);
		for (int mode = 0; mode < 2; mode++) {
			struct data_row r = {
			    .line = variants[v].line,
			    .mode = DOT,
			    .opts = mode ? NORM : 0,
			    .in = in,
			    .inlen = (size_t)n,
			    .out = norm,
			    .outlen = (size_t)m,
			    .rest = sizeof after - 1,
			    .result = mode ? SMTP_R_NONE : variants[v].refused,
			};
			/* Run once to learn size and flags, then hold every split to them. */
			struct outcome o;
			run_cuts(&r, NULL, 0, &o);
			r.size = o.d.size;
			r.flags = o.d.flags;
			if (!(r.flags & (F_LF | F_CR)))
				fail_msg("variant at line %d: not detected", r.line);
			run_row(&r);
			/* Refused: nothing of the smuggled part reaches the mailbox. */
			if (!mode && memmem(o.sb.buf, o.sb.len, "MAIL FROM", 9) != NULL)
				fail_msg("variant at line %d: smuggled text stored", r.line);
		}
	}
}

/* ---- line lengths ------------------------------------------------------ */

static void long_line(enum smtp_data_mode mode, unsigned opts, bool stuffed, size_t n,
                      unsigned want_flags, enum smtp_rid want)
{
	char in[1200];
	size_t len = 0;
	struct sinkbuf sb = {0};
	struct smtp_data d;

	if (stuffed)
		in[len++] = '.';
	memset(in + len, 'x', n);
	len += n;
	memcpy(in + len, "\r\nshort\r\n.\r\n", 12);
	len += 12;
	smtp_data_init(&d, mode, opts, 0, sink, &sb);
	smtp_data_feed(&d, in, len);
	if (mode == SMTP_DATA_BDAT)
		smtp_data_finish(&d);
	assert_true(smtp_data_done(&d));
	if (d.flags != want_flags || smtp_data_result(&d) != want)
		fail_msg("line of %zu (mode %d, opts %u, stuffed %d): flags %#x result %d", n, mode,
		         opts, stuffed, d.flags, smtp_data_result(&d));
}

static void test_long_lines(void **state)
{
	(void)state;
	const unsigned L = SMTP_DATA_F_LONG, RL = SMTP_DATA_REFUSE_LONG;
	const enum smtp_rid R = SMTP_R_DATA_LONG_LINE;

	long_line(DOT, 0, false, 998, 0, SMTP_R_NONE);
	long_line(DOT, 0, false, 999, L, SMTP_R_NONE); /* flagged, accepted by default */
	long_line(DOT, RL, false, 998, 0, SMTP_R_NONE);
	long_line(DOT, RL, false, 999, L, R);
	long_line(DOT, RL, true, 998, 0, SMTP_R_NONE); /* the stuffing dot is not counted */
	long_line(DOT, RL, true, 999, L, R);
	long_line(BDAT, RL, false, 998, 0, SMTP_R_NONE);
	long_line(BDAT, RL, false, 999, L, R);
	long_line(BDAT, RL, true, 997, 0, SMTP_R_NONE); /* BDAT: the dot is data */
	long_line(BDAT, RL, true, 998, L, R);
}

/* ---- sink, counting, misc ---------------------------------------------- */

static void test_sink_failure(void **state)
{
	(void)state;
	struct sinkbuf sb = {.fail_at = 2};
	struct smtp_data d;
	static const char in[] = "line one\r\nline two\r\nline three\r\n.\r\n";

	smtp_data_init(&d, DOT, 0, 0, sink, &sb);
	/* fed line by line; the second sink call fails */
	size_t pos = 0;
	for (const char *p; !smtp_data_done(&d); pos = (size_t)(p - in) + 1) {
		p = strchr(in + pos, '\n');
		assert_int_equal(smtp_data_feed(&d, in + pos, (size_t)(p - in) + 1 - pos),
		                 (size_t)(p - in) + 1 - pos);
	}
	assert_int_equal(pos, sizeof in - 1);
	assert_int_equal(sb.calls, 2); /* never called again after failing */
	assert_true(d.flags & SMTP_DATA_F_SINK);
	assert_int_equal(smtp_data_result(&d), SMTP_R_LOCAL_ERROR);
	assert_int_equal(d.size, sizeof in - 1 - 3);

	/* a permanent reason wins over the sink's failure */
	sb = (struct sinkbuf){.fail_at = 1};
	smtp_data_init(&d, DOT, 0, 5, sink, &sb);
	smtp_data_feed(&d, in, sizeof in - 1);
	assert_int_equal(smtp_data_result(&d), SMTP_R_DATA_TOO_BIG);
}

static void test_null_sink_and_after_done(void **state)
{
	(void)state;
	struct smtp_data d;
	static const char in[] = "a\r\n..b\r\n.\r\nRSET\r\n";

	smtp_data_init(&d, DOT, 0, 0, NULL, NULL);
	assert_int_equal(smtp_data_feed(&d, in, sizeof in - 1), sizeof in - 1 - 6);
	assert_true(smtp_data_done(&d));
	assert_int_equal(d.size, 3 + 4);
	assert_int_equal(d.stored, 0);
	assert_int_equal(smtp_data_feed(&d, "more", 4), 0);
	assert_int_equal(smtp_data_result(&d), SMTP_R_NONE);

	/* huge sizes saturate instead of wrapping */
	smtp_data_init(&d, BDAT, 0, 0, NULL, NULL);
	d.size = UINT64_MAX - 1;
	smtp_data_feed(&d, "abc", 3);
	assert_true(d.size == UINT64_MAX);
	smtp_data_init(&d, BDAT, 0, UINT64_MAX - 1, NULL, NULL);
	d.size = UINT64_MAX - 2;
	smtp_data_feed(&d, "abc", 3);
	assert_int_equal(smtp_data_result(&d), SMTP_R_DATA_TOO_BIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rows),
	    cmocka_unit_test(test_smuggling),
	    cmocka_unit_test(test_long_lines),
	    cmocka_unit_test(test_sink_failure),
	    cmocka_unit_test(test_null_sink_and_after_done),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
