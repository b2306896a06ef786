/*
 * libFuzzer target for httpd/fcgi.c, the FastCGI record codec.
 * Built by `make fuzz` (tests/fuzz/README.md).
 *
 * Input: byte 0 picks the piece size, the rest is what a responder sent.
 * Invariants (abort when broken): decoding in pieces yields the same
 * stdout and stderr bytes and the same outcome as decoding at once; data
 * slices lie within the piece; a name-value pair read from the input and
 * encoded again reads back the same.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../httpd/fcgi.h"

struct out {
	uint64_t hash[2];
	size_t n[2];
};

static void mix(struct out *o, int which, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		o->hash[which] = (o->hash[which] ^ p[i]) * 1099511628211ull;
	o->n[which] += n;
}

static enum fcgi_event run(const unsigned char *in, size_t len, size_t step, struct out *o,
                           size_t *total)
{
	struct fcgi_decoder d;
	fcgi_decoder_init(&d, 1);
	memset(o, 0, sizeof(*o));
	size_t off = 0;
	enum fcgi_event ev = FCGI_EV_AGAIN;
	while (off < len) {
		size_t n = len - off < step ? len - off : step;
		unsigned char *piece = malloc(n);
		memcpy(piece, in + off, n);
		size_t pos = 0;
		for (;;) {
			size_t used;
			const unsigned char *data;
			size_t dlen;
			ev = fcgi_decode(&d, piece + pos, n - pos, &used, &data, &dlen);
			if (used > n - pos)
				abort();
			pos += used;
			if (ev == FCGI_EV_STDOUT || ev == FCGI_EV_STDERR) {
				if (dlen == 0 || data < piece || data + dlen > piece + n)
					abort();
				mix(o, ev == FCGI_EV_STDERR, data, dlen);
				continue;
			}
			break;
		}
		free(piece);
		off += pos;
		if (ev != FCGI_EV_AGAIN)
			break;
	}
	*total = off;
	return ev;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t step = 1 + data[0];
	struct out oa, ob;
	size_t ta, tb;
	enum fcgi_event ea = run(data + 1, size - 1, size, &oa, &ta);
	enum fcgi_event eb = run(data + 1, size - 1, step, &ob, &tb);
	if (ea != eb || ta != tb || memcmp(&oa, &ob, sizeof(oa)) != 0)
		abort();

	size_t off = 0, nl, vl;
	const unsigned char *np, *vp;
	bool bad;
	while (fcgi_pair_next(data + 1, size - 1, &off, &np, &nl, &vp, &vl, &bad)) {
		size_t need = fcgi_pair_len(nl, vl);
		unsigned char *buf = malloc(need);
		if (fcgi_pair(buf, need, (const char *)np, nl, (const char *)vp, vl) != need)
			abort();
		size_t o2 = 0, nl2, vl2;
		const unsigned char *np2, *vp2;
		bool bad2;
		if (!fcgi_pair_next(buf, need, &o2, &np2, &nl2, &vp2, &vl2, &bad2) || nl2 != nl ||
		    vl2 != vl || memcmp(np2, np, nl) != 0 || memcmp(vp2, vp, vl) != 0 || o2 != need)
			abort();
		free(buf);
	}
	return 0;
}
