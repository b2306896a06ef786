/*
 * libFuzzer target for httpd/path.c (not built by `make`). Build and run:
 *
 *   mkdir -p build/fuzz
 *   clang -std=c17 -g -O1 -D_GNU_SOURCE -Iinclude \
 *         -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
 *         tests/fuzz/fuzz_http_path.c httpd/path.c -o build/fuzz/fuzz_http_path
 *   build/fuzz/fuzz_http_path -max_total_time=60
 *
 * Checks: a successful result has no empty, "." or ".." segment, no leading
 * or trailing '/', no NUL, control byte or backslash; and it is a fixed
 * point: percent-encoding it and normalising again gives it back.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../httpd/path.h"

static void check(const char *out, size_t len)
{
	if (strlen(out) != len)
		abort();
	if (len && (out[0] == '/' || out[len - 1] == '/'))
		abort();
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)out[i];
		if (c < 0x20 || c == 0x7f || c == '\\')
			abort();
	}
	for (size_t i = 0; i < len;) {
		size_t s = i;
		while (i < len && out[i] != '/')
			i++;
		size_t n = i - s;
		if (n == 0 || (n == 1 && out[s] == '.') || (n == 2 && out[s] == '.' && out[s + 1] == '.'))
			abort();
		i++;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[512], again[512], enc[3 * 512 + 2];
	struct http_path res, res2;

	if (http_path_normalize((const char *)data, size, out, sizeof(out), &res) != 0)
		return 0;
	check(out, res.len);

	size_t n = 0;
	enc[n++] = '/';
	for (size_t i = 0; i < res.len; i++) {
		unsigned char c = (unsigned char)out[i];
		if (c == '/' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			enc[n++] = (char)c;
		else
			n += (size_t)snprintf(enc + n, 4, "%%%02X", c);
	}
	if (res.trailing_slash)
		enc[n++] = '/';
	if (http_path_normalize(enc, n, again, sizeof(again), &res2) != 0)
		abort();
	if (res2.len != res.len || memcmp(again, out, res.len) != 0 ||
	    res2.hidden != res.hidden || res2.trailing_slash != (res.trailing_slash || res.len == 0))
		abort();
	return 0;
}
