/*
 * libFuzzer target for smtp_auth_b64_decode() (smtpd/auth.c), the strict
 * base64 (RFC 4648 §4, padding required) that reads AUTH PLAIN and AUTH
 * LOGIN responses before anything else looks at them. auth.c also holds the
 * session glue, so the target links build/fuzz/libsmtpd.a and libtriad.a
 * (`make fuzz`; see tests/fuzz/README.md).
 *
 * Input: byte 0 picks the output capacity, the rest is the client's line.
 * Checked beyond "no crash": a decoded length fits the capacity and is
 * exactly 3 per 4 input characters less the padding; nothing is written past
 * the capacity; and any bytes encode to a string that decodes back to them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../smtpd/session.h"

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

static size_t encode(const unsigned char *in, size_t len, char *out)
{
	static const char alpha[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		if (i + 1 < len)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		out[o++] = alpha[(v >> 18) & 63];
		out[o++] = alpha[(v >> 12) & 63];
		out[o++] = i + 1 < len ? alpha[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? alpha[v & 63] : '=';
	}
	return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 8192)
		return 0;
	size_t cap = data[0] == 255 ? 0 : data[0] * 4u;
	const char *in = (const char *)data + 1;
	size_t len = size - 1;

	/* The decoder gets exactly CAP bytes: ASan sees any write past them. */
	char *out = malloc(cap ? cap : 1);
	CHECK(out != NULL);
	int n = smtp_auth_b64_decode(in, len, out, cap);
	if (n >= 0) {
		size_t pad =
		    len >= 1 && in[len - 1] == '=' ? (len >= 2 && in[len - 2] == '=' ? 2 : 1) : 0;
		CHECK(len % 4 == 0 && (size_t)n <= cap && (size_t)n == len / 4 * 3 - pad);
	}
	free(out);

	/* Round trip of arbitrary bytes. */
	char *enc = malloc(len / 3 * 4 + 8);
	char *dec = malloc(len + 1);
	CHECK(enc != NULL && dec != NULL);
	size_t el = encode((const unsigned char *)in, len, enc);
	n = smtp_auth_b64_decode(enc, el, dec, len);
	CHECK(n >= 0 && (size_t)n == len && memcmp(dec, in, len) == 0);
	free(enc);
	free(dec);
	return 0;
}
