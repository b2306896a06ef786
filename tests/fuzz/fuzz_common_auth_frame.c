/*
 * libFuzzer target for the PAM helper's framing (common/auth_frame.c): the
 * root helper decodes every request a worker sends with auth_frame_decode(),
 * so these bytes cross the privilege boundary. Links only libtriad.a.
 *
 * Input: any bytes, decoded as a stream of requests and as a reply.
 * Checked beyond "no crash": a decoded request consumes at least its header
 * and no more than the input; every field is NUL-terminated within its limit
 * and holds no NUL; re-encoding it gives exactly the bytes consumed; every
 * proper prefix of those bytes asks for more (0), never a frame or an error;
 * a decoded reply re-encodes to the same 9 bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "triad/auth.h"
#include "triad/limits.h"

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

static void check_field(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap + 1);
	CHECK(n <= cap);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t again[TRIAD_AUTH_FRAME_MAX + 64];
	size_t off = 0;
	while (off < size) {
		struct auth_frame f;
		int n = auth_frame_decode(data + off, size - off, &f);
		if (n <= 0)
			break;
		CHECK((size_t)n >= 8 && (size_t)n <= size - off);
		check_field(f.service, TRIAD_AUTH_FIELD_MAX);
		check_field(f.user, TRIAD_AUTH_FIELD_MAX);
		check_field(f.password, TRIAD_AUTH_PASSWORD_MAX);
		check_field(f.rhost, TRIAD_AUTH_FIELD_MAX);
		int m = auth_frame_encode(&f, again, sizeof(again));
		CHECK(m == n && memcmp(again, data + off, (size_t)n) == 0);
		for (int cut = 0; cut < n; cut += 1 + cut / 8) {
			struct auth_frame g;
			CHECK(auth_frame_decode(data + off, (size_t)cut, &g) == 0);
		}
		auth_frame_wipe(&f);
		off += (size_t)n;
	}
	uint32_t id;
	enum auth_result r;
	int n = auth_reply_decode(data, size, &id, &r);
	if (n > 0) {
		uint8_t reply[16];
		CHECK(n == 9 && auth_reply_encode(id, r, reply, sizeof(reply)) == 9);
		CHECK(memcmp(reply, data, 9) == 0);
	}
	return 0;
}
