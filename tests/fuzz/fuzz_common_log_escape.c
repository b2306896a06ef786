/*
 * libFuzzer target for log_escape() (common/log.c), which every log line and
 * httpd's access log (request line, Referer, User-Agent) pass client bytes
 * through.
 *
 * Input: byte 0 picks the output capacity (0..255), the rest is the bytes.
 * Checked beyond "no crash": nothing is written past the capacity; the
 * output is NUL-terminated, holds only printable ASCII other than '"' (a
 * Combined Log Format field stays one field) and '\' except as the start of
 * a \xHH escape; it decodes back to a prefix of the input, the whole input
 * unless it ends in "..." (cut to fit; below 4 bytes of room a cut output
 * is just shorter).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "triad/log.h"

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t cap = data[0];
	const uint8_t *in = data + 1;
	size_t n = size - 1;
	char buf[256 + 16];
	memset(buf, 0x5a, sizeof(buf));
	char *out = log_escape(buf, cap, in, n);
	CHECK(out == buf);
	for (size_t i = cap; i < sizeof(buf); i++)
		CHECK(buf[i] == 0x5a);
	if (cap == 0)
		return 0;
	size_t len = strnlen(buf, cap);
	CHECK(len < cap);
	/* Decode; the "..." of a cut output is not part of the input. */
	bool cut = len >= 3 && memcmp(buf + len - 3, "...", 3) == 0;
	size_t j = 0, end = len;
	uint8_t dec[256];
	size_t dn = 0;
	while (j < end) {
		unsigned char ch = (unsigned char)buf[j];
		CHECK(ch >= 0x20 && ch < 0x7f && ch != '"');
		if (ch == '\\') {
			CHECK(j + 3 < end && buf[j + 1] == 'x');
			int hi = hexval(buf[j + 2]), lo = hexval(buf[j + 3]);
			CHECK(hi >= 0 && lo >= 0);
			dec[dn++] = (uint8_t)(hi * 16 + lo);
			j += 4;
		} else {
			dec[dn++] = ch;
			j++;
		}
	}
	if (cap < 4) {
		/* no room for "...": cut silently, to a prefix */
		CHECK(dn <= n && memcmp(dec, in, dn) == 0);
	} else if (cut) {
		/* the decoded text ends with "..." that the input may lack */
		CHECK(dn >= 3);
		dn -= 3;
		CHECK(dn <= n && memcmp(dec, in, dn) == 0);
	} else {
		CHECK(dn == n && memcmp(dec, in, n) == 0);
	}
	return 0;
}
