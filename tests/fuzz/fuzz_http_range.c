/*
 * libFuzzer target for httpd/range.c (not built by `make`). Build and run:
 *
 *   mkdir -p build/fuzz
 *   clang -std=c17 -g -O1 -D_GNU_SOURCE -Iinclude \
 *         -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
 *         tests/fuzz/fuzz_http_range.c httpd/range.c -o build/fuzz/fuzz_http_range
 *   build/fuzz/fuzz_http_range -max_total_time=60
 *
 * Input: 8 bytes of representation length, then the field value. A
 * satisfiable answer must be sorted, disjoint, non-adjacent, inside the
 * length, at most HTTP_RANGES_MAX ranges and at most LENGTH bytes in all.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../httpd/range.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_range r[HTTP_RANGES_MAX];
	uint64_t length;
	unsigned n;

	if (size < 8)
		return 0;
	memcpy(&length, data, 8);
	if (data[0] & 1)
		length %= 1000; /* small lengths too, where ranges often overlap */
	enum http_range_status st = http_range_parse((const char *)data + 8, size - 8, length, r, &n);
	if (st != HTTP_RANGE_SATISFIABLE) {
		if (n != 0)
			abort();
		return 0;
	}
	if (n < 1 || n > HTTP_RANGES_MAX)
		abort();
	uint64_t total = 0;
	for (unsigned k = 0; k < n; k++) {
		if (r[k].first > r[k].last || r[k].last >= length)
			abort();
		if (k && r[k].first <= r[k - 1].last + 1)
			abort();
		total += r[k].last - r[k].first + 1;
	}
	if (total > length)
		abort();
	return 0;
}
