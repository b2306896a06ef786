/*
 * libFuzzer target for the line framing FTP and SMTP read commands through
 * (conn_read_line, common/conn.c) and the conn's byte API (conn_in_*,
 * common/conn_buf.c). One real conn (conn_new over a socketpair, as the
 * unit tests make it) whose input buffer is filled in memory: the event
 * loop never runs, so an execution costs no system call.
 *
 * Input: byte 0 picks the mode.
 *  - Line mode (even): byte 1 picks the terminator (CRLF as smtpd, LF with an
 *    optional CR as ftpd) and byte 2 the capacity (a small one, or ftpd's and
 *    smtpd's real ones). The rest is the peer's byte stream, cut into the
 *    pieces that arrive at each read by the byte 0xff (each piece its own
 *    read; the cut bytes are not part of the stream). After each piece the
 *    lines are read until CONN_LINE_AGAIN.
 *  - Byte mode (odd): the rest is a list of operations (append, peek, copy,
 *    find, consume, read, chunk) checked against a plain copy of the input.
 *
 * Checked beyond "no crash", for the line mode against the stream cut into
 * lines by its terminator (the contract in triad/conn.h, not the code):
 *  - each complete line of at most cap-1 bytes comes back whole, in order,
 *    NUL-terminated, whatever the pieces were; a longer one gives
 *    CONN_LINE_TOO_LONG exactly once and is skipped through its terminator;
 *  - an unfinished tail longer than cap gives one CONN_LINE_TOO_LONG;
 *  - between reads no more than cap bytes stay buffered (the limit holds
 *    before the terminator is found: no unbounded buffering).
 * For the byte mode: every answer equals the one computed on the copy.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <event2/buffer.h>
#include <event2/event.h>

#include "triad/conn.h"
#include "triad/limits.h"
#include "triad/server.h"
/* The input buffer is common/'s (conn_input), as in the unit tests' fixture. */
#include "../../common/conn_private.h"

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

/* conn.c asks the server for the current generation; there is none here. */
struct conf *server_current_conf(void)
{
	return NULL;
}

#define STREAM_MAX 65536
/* The capacities: small ones reach the limits quickly; ftpd's and smtpd's
 * (FTP_COMMAND_LINE_MAX, SMTP_COMMAND_LINE_MAX - 1) are what runs. */
static const size_t caps[] = {1, 2, 3, 4, 5, 8, 16, 64, FTP_COMMAND_LINE_MAX,
                              SMTP_COMMAND_LINE_MAX - 1};

static struct worker w;
static struct conn *c;

static void setup(void)
{
	if (c)
		return;
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	w.base = event_base_new();
	CHECK(w.base);
	struct sockaddr_storage ss = {.ss_family = AF_UNIX};
	c = conn_new(&w, sv[0], (struct sockaddr *)&ss, sizeof(sa_family_t), NULL, false);
	CHECK(c);
	/* sv[1] stays open for the life of the process: the conn never sees EOF. */
}

static void reset(void)
{
	struct evbuffer *in = conn_input(c);
	evbuffer_drain(in, evbuffer_get_length(in));
	c->discard_line = 0;
}

/* ---- line mode ----------------------------------------------------------- */

/* What the contract says the reader returns: OK lines and TOO_LONG marks. */
struct expect {
	const unsigned char *s; /* the stream without the cut bytes */
	size_t n, pos;          /* the next line starts at s[pos] */
	bool crlf;
	size_t cap;
};

/* The next complete line of the stream: start and length of its content
 * (without terminator; LF mode drops one CR before the LF). False when the
 * rest has no terminator. */
static bool next_line(struct expect *e, size_t *start, size_t *len)
{
	for (size_t i = e->pos; i < e->n; i++) {
		if (e->crlf) {
			if (e->s[i] == '\r' && i + 1 < e->n && e->s[i + 1] == '\n') {
				*start = e->pos;
				*len = i - e->pos;
				e->pos = i + 2;
				return true;
			}
		} else if (e->s[i] == '\n') {
			*start = e->pos;
			*len = i - e->pos;
			if (*len > 0 && e->s[i - 1] == '\r')
				(*len)--;
			e->pos = i + 1;
			return true;
		}
	}
	return false;
}

static void line_mode(const uint8_t *data, size_t size)
{
	if (size < 2)
		return;
	static unsigned char stream[STREAM_MAX];
	static char buf[SMTP_COMMAND_LINE_MAX + FTP_COMMAND_LINE_MAX];
	bool crlf = data[0] & 1;
	size_t cap = caps[data[1] % (sizeof(caps) / sizeof(caps[0]))];
	data += 2;
	size -= 2;
	enum conn_eol eol = crlf ? CONN_EOL_CRLF : CONN_EOL_LF;
	struct evbuffer *in = conn_input(c);

	/* The whole stream first, for the expectation. */
	size_t n = 0;
	for (size_t i = 0; i < size && n < sizeof(stream); i++)
		if (data[i] != 0xff)
			stream[n++] = data[i];
	struct expect e = {.s = stream, .n = n, .crlf = crlf, .cap = cap};
	size_t fed = 0;           /* stream bytes handed to the conn so far */
	bool tail_reported = false; /* the unfinished tail got its TOO_LONG */

	size_t i = 0;
	while (i <= size && fed < n) {
		size_t j = i;
		while (j < size && data[j] != 0xff)
			j++;
		size_t piece = j - i;
		if (fed + piece > n)
			piece = n - fed;
		CHECK(evbuffer_add(in, data + i, piece) == 0);
		fed += piece;
		i = j + 1;
		/* A refused tail is skipped through its terminator once that is in. */
		size_t start, want;
		if (tail_reported) {
			size_t save = e.pos;
			if (next_line(&e, &start, &want) && e.pos <= fed) {
				CHECK(want > cap - 1);
				tail_reported = false;
			} else {
				e.pos = save;
			}
		}
		for (;;) {
			size_t len = (size_t)-1;
			memset(buf, 0x5a, cap + 1);
			enum conn_line r = conn_read_line(c, eol, buf, cap, &len);
			if (r == CONN_LINE_AGAIN) {
				CHECK(len == 0);
				/* The bound: never more than cap bytes wait for their end. */
				CHECK(evbuffer_get_length(in) <= cap);
				break;
			}
			CHECK(!tail_reported); /* nothing until the refused line has ended */
			size_t save = e.pos;
			bool complete = next_line(&e, &start, &want) && e.pos <= fed;
			if (r == CONN_LINE_OK) {
				CHECK(complete);
				CHECK(want <= cap - 1);
				CHECK(len == want);
				CHECK(memcmp(buf, stream + start, len) == 0);
				CHECK(buf[len] == '\0');
				continue;
			}
			CHECK(r == CONN_LINE_TOO_LONG);
			CHECK(len == 0);
			if (complete) {
				CHECK(want > cap - 1); /* a whole overlong line, skipped */
				continue;
			}
			/* The unfinished tail (from the line start, no terminator yet)
			 * is already longer than the capacity: refused before its end. */
			e.pos = save;
			CHECK(fed - e.pos > cap);
			tail_reported = true;
		}
	}
	/* Every complete line the stream holds was returned (or refused). */
	size_t start, want;
	CHECK(!next_line(&e, &start, &want));
	/* What is left unread is the unfinished tail, or at most a CR once refused. */
	if (tail_reported)
		CHECK(evbuffer_get_length(in) <= 1);
	else
		CHECK(evbuffer_get_length(in) == fed - e.pos);
}

/* ---- byte mode ----------------------------------------------------------- */

static void byte_mode(const uint8_t *data, size_t size)
{
	static unsigned char copy[STREAM_MAX];
	static unsigned char out[STREAM_MAX];
	size_t have = 0;
	struct evbuffer *in = conn_input(c);
	size_t i = 0;
	while (i + 2 <= size) {
		unsigned op = data[i] % 8;
		size_t arg = data[i + 1];
		i += 2;
		switch (op) {
		case 0: /* append ARG bytes, as one read or as many one-byte chains */
		case 1: {
			size_t k = arg <= size - i ? arg : size - i;
			if (have + k > sizeof(copy))
				return;
			if (op == 0) {
				CHECK(evbuffer_add(in, data + i, k) == 0);
			} else {
				for (size_t m = 0; m < k; m++) {
					/* separate chains: searches and peeks must span them */
					struct evbuffer *one = evbuffer_new();
					CHECK(one && evbuffer_add(one, data + i + m, 1) == 0);
					CHECK(evbuffer_add_buffer(in, one) == 0);
					evbuffer_free(one);
				}
			}
			memcpy(copy + have, data + i, k);
			have += k;
			i += k;
			break;
		}
		case 2: { /* peek ARG bytes (0 asks for one) */
			const char *p = conn_in_peek(c, arg);
			if (arg > have) {
				CHECK(p == NULL);
			} else {
				CHECK(p != NULL);
				CHECK(memcmp(p, copy, arg) == 0);
			}
			break;
		}
		case 3: { /* copy ARG bytes out, leaving them */
			size_t got = conn_in_copy(c, out, arg);
			CHECK(got == (arg < have ? arg : have));
			CHECK(memcmp(out, copy, got) == 0);
			break;
		}
		case 4: { /* find a needle of the next (ARG % 4 + 1) bytes within MAX */
			size_t nlen = arg % 4 + 1;
			if (i + nlen + 1 > size)
				return;
			const unsigned char *needle = data + i;
			size_t max = data[i + nlen];
			i += nlen + 1;
			ssize_t got = conn_in_find(c, needle, nlen, max);
			size_t lim = max < have ? max : have;
			ssize_t want = -1;
			if (nlen <= lim) {
				const unsigned char *hit = memmem(copy, lim, needle, nlen);
				if (hit)
					want = hit - copy;
			}
			CHECK(got == want);
			break;
		}
		case 5: { /* consume ARG bytes */
			size_t got = conn_in_consume(c, arg);
			CHECK(got == (arg < have ? arg : have));
			memmove(copy, copy + got, have - got);
			have -= got;
			break;
		}
		case 6: { /* read ARG bytes */
			size_t got = conn_in_read(c, out, arg);
			CHECK(got == (arg < have ? arg : have));
			CHECK(memcmp(out, copy, got) == 0);
			memmove(copy, copy + got, have - got);
			have -= got;
			break;
		}
		default: { /* the first chunk: a non-empty prefix, or nothing when empty */
			size_t len = 99;
			const char *p = conn_in_chunk(c, &len);
			if (have == 0) {
				CHECK(p == NULL && len == 0);
			} else {
				CHECK(p != NULL && len > 0 && len <= have);
				CHECK(memcmp(p, copy, len) == 0);
			}
			break;
		}
		}
		CHECK(conn_in_len(c) == have);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	setup();
	reset();
	if (data[0] & 1)
		byte_mode(data + 1, size - 1);
	else
		line_mode(data + 1, size - 1);
	reset();
	return 0;
}
