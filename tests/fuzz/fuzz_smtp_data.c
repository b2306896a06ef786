/*
 * libFuzzer target for smtpd/data.c. Not built by make.
 *
 * Build and run from the repository root (clang with libFuzzer):
 *   mkdir -p build/fuzz
 *   clang -std=c17 -g -O1 -D_GNU_SOURCE -Iinclude \
 *         -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
 *         tests/fuzz/fuzz_smtp_data.c smtpd/data.c smtpd/reply.c \
 *         -o build/fuzz/fuzz_smtp_data
 *   build/fuzz/fuzz_smtp_data -max_len=4096 -max_total_time=60
 *
 * The first two input octets pick the mode, options, size limit and a split
 * point. Checks: feeding whole, split in two, and byte by byte give the same
 * consumed count, size, flags, result and output (all of it when accepted);
 * no CR ever reaches the output; in DATA mode a message ends only right
 * after CRLF "." CRLF; without normalising, an accepted message had neither
 * a bare CR nor a bare LF.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../smtpd/data.h"

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

struct out {
	char *buf;
	size_t len, cap;
};

static int sink(void *arg, const char *p, size_t n)
{
	struct out *o = arg;
	CHECK(o->len + n <= o->cap);
	memcpy(o->buf + o->len, p, n);
	o->len += n;
	return 0;
}

struct run {
	struct smtp_data d;
	struct out o;
	size_t consumed;
};

static void run(struct run *r, enum smtp_data_mode mode, unsigned opts, uint64_t max,
                const char *in, size_t len, size_t step, size_t first)
{
	smtp_data_init(&r->d, mode, opts, max, sink, &r->o);
	r->consumed = 0;
	size_t pos = 0;
	while (pos < len && !smtp_data_done(&r->d)) {
		size_t n = pos == 0 ? first : step;
		if (n > len - pos || n == 0)
			n = len - pos;
		size_t c = smtp_data_feed(&r->d, in + pos, n);
		r->consumed += c;
		if (c < n)
			break;
		pos += n;
	}
	if (mode == SMTP_DATA_BDAT)
		smtp_data_finish(&r->d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	enum smtp_data_mode mode = (data[0] & 1) ? SMTP_DATA_BDAT : SMTP_DATA_DOT;
	unsigned opts = (data[0] >> 1) & 3;
	uint64_t max = (data[0] & 8) ? (uint64_t)(data[0] >> 4) * 16 : 0;
	const char *in = (const char *)data + 2;
	size_t len = size - 2;
	size_t split = len ? data[1] % (len + 1) : 0;

	static char bufs[3][8192];
	if (len > sizeof bufs[0])
		return 0;
	struct run r[3];
	for (int i = 0; i < 3; i++)
		r[i].o = (struct out){bufs[i], 0, sizeof bufs[i]};
	run(&r[0], mode, opts, max, in, len, len, len);
	run(&r[1], mode, opts, max, in, len, len, split);
	run(&r[2], mode, opts, max, in, len, 1, 1);

	enum smtp_rid res = smtp_data_result(&r[0].d);
	for (int i = 1; i < 3; i++) {
		CHECK(r[i].consumed == r[0].consumed);
		CHECK(r[i].d.size == r[0].d.size && r[i].d.flags == r[0].d.flags);
		CHECK(smtp_data_result(&r[i].d) == res);
		CHECK(smtp_data_done(&r[i].d) == smtp_data_done(&r[0].d));
		if (res == SMTP_R_NONE)
			CHECK(r[i].o.len == r[0].o.len &&
			      !memcmp(r[i].o.buf, r[0].o.buf, r[0].o.len));
	}
	CHECK(memchr(r[0].o.buf, '\r', r[0].o.len) == NULL);
	if (mode == SMTP_DATA_DOT && smtp_data_done(&r[0].d)) {
		size_t c = r[0].consumed;
		CHECK(c >= 3 && !memcmp(in + c - 3, ".\r\n", 3));
		CHECK(c == 3 || (c >= 5 && in[c - 5] == '\r' && in[c - 4] == '\n'));
	}
	if (mode == SMTP_DATA_DOT && !smtp_data_done(&r[0].d))
		CHECK(r[0].consumed == len);
	if (res == SMTP_R_NONE && !(opts & SMTP_DATA_NORMALISE) && smtp_data_done(&r[0].d)) {
		/* Everything consumed is made of proper CRLF lines (bar a BDAT tail). */
		for (size_t i = 0; i < r[0].consumed; i++) {
			if (in[i] == '\n')
				CHECK(i > 0 && in[i - 1] == '\r');
			if (in[i] == '\r')
				CHECK(i + 1 < r[0].consumed && in[i + 1] == '\n');
		}
	}
	return 0;
}
