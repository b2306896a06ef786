/*
 * libFuzzer target for httpd/chunked.c (not built by `make`). Build and run:
 *
 *   mkdir -p build/fuzz
 *   clang -std=c17 -g -O1 -D_GNU_SOURCE -Iinclude \
 *         -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
 *         tests/fuzz/fuzz_http_chunked.c httpd/chunked.c -o build/fuzz/fuzz_http_chunked
 *   build/fuzz/fuzz_http_chunked -max_total_time=60
 *
 * Input: byte 0 picks the piece size and a small max_body, the rest is the
 * body. Decoding in pieces must end the same way, at the same offset, with
 * the same data_total as decoding at once; data_total never exceeds max_body.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../httpd/chunked.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_chunked a, b;
	size_t ua = 0, off = 0, used;

	if (size < 1)
		return 0;
	uint64_t max = (data[0] & 0x80) ? (uint64_t)(data[0] & 0x3f) * 16 : UINT64_MAX;
	size_t step = 1 + (data[0] & 0x07);
	const char *in = (const char *)data + 1;
	size_t len = size - 1;

	http_chunked_init(&a, max);
	enum http_chunked_status ra = http_chunked_decode(&a, in, len, &ua);

	http_chunked_init(&b, max);
	enum http_chunked_status rb = HTTP_CHUNKED_AGAIN;
	while (off < len && rb == HTTP_CHUNKED_AGAIN) {
		size_t n = len - off < step ? len - off : step;
		char *piece = malloc(n);
		memcpy(piece, in + off, n);
		rb = http_chunked_decode(&b, piece, n, &used);
		free(piece);
		if (used > n || (rb == HTTP_CHUNKED_AGAIN && used != n))
			abort();
		off += used;
	}
	if (len == 0)
		rb = http_chunked_decode(&b, in, 0, &off);
	if (ra != rb || ua != off || a.data_total != b.data_total || a.data_total > max)
		abort();
	if (ra == HTTP_CHUNKED_ERROR && (a.error_status != b.error_status ||
	                                 strcmp(a.error_reason, b.error_reason) != 0))
		abort();
	return 0;
}
