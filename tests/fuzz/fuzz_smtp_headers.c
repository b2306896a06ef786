/*
 * libFuzzer target for smtpd/headers.c. Not built by make.
 *
 * Build and run from the repository root (clang with libFuzzer):
 *   mkdir -p build/fuzz
 *   clang -std=c17 -g -O1 -D_GNU_SOURCE -Iinclude \
 *         -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
 *         tests/fuzz/fuzz_smtp_headers.c smtpd/headers.c -o build/fuzz/fuzz_smtp_headers
 *   build/fuzz/fuzz_smtp_headers -max_len=1200 -max_total_time=60
 *
 * The input is split at NUL octets into the trace fields. Whatever they
 * hold, an accepted header has no CR, every LF but the last is followed by
 * HT (no header injection), and a Maildir name has no '/', ':' or ','.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../smtpd/headers.h"

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

static void check_header(const char *h, int n)
{
	if (n < 0)
		return;
	CHECK((size_t)n == strlen(h) && n > 0 && h[n - 1] == '\n');
	CHECK(strchr(h, '\r') == NULL);
	for (const char *p = strchr(h, '\n'); p && p[1]; p = strchr(p + 1, '\n'))
		CHECK(p[1] == '\t');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[1300];
	const char *f[6];

	if (size < 9 || size >= sizeof in)
		return 0;
	memcpy(in, data + 9, size - 9);
	in[size - 9] = '\0';
	/* Fields are NUL-separated; missing ones are empty. */
	const char *p = in, *end = in + (size - 9);
	for (int i = 0; i < 6; i++) {
		f[i] = p < end ? p : "";
		p += strlen(p) + 1;
	}
	int64_t when;
	memcpy(&when, data, sizeof when);
	uint8_t bits = data[8];
	struct smtp_trace t = {
	    .helo = f[0],
	    .peer_ip = f[1],
	    .hostname = f[2],
	    .id = f[3],
	    .rcpt = (bits & 16) ? f[4] : NULL,
	    .tls_desc = f[5],
	    .esmtp = bits & 1,
	    .smtputf8 = bits & 2,
	    .tls = bits & 4,
	    .auth = bits & 8,
	    .when = (bits & 32) ? when : (int64_t)(when & 0xffffffff),
	};
	char out[4096];
	check_header(out, smtp_received(out, sizeof out, &t));
	check_header(out, smtp_return_path(out, sizeof out, f[4]));
	int n = smtp_maildir_name(out, sizeof out, when & 0xffffffff, (long)(bits * 3),
	                          1 + (long)(bits & 7), (uint64_t)when, f[2], (uint64_t)size);
	if (n >= 0) {
		CHECK(strlen(out) == (size_t)n && n <= 255);
		CHECK(strpbrk(out, "/:") == NULL);
		CHECK(strchr(strstr(out, ".M"), ',') == strrchr(out, ','));
	}
	return 0;
}
