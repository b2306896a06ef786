/*
 * libFuzzer target for the PROXY protocol parser (common/proxy.c): the first
 * bytes of every connection from a `proxy_protocol` source go through it.
 *
 * Checked beyond "no crash": a complete header is never longer than the input
 * nor than PROXY_HEADER_MAX (v1 never longer than 107 bytes); it parses the
 * same from a copy cut right after it (the caller reads exactly that much);
 * every proper prefix asks for more (0), never decides; a proxied header
 * carries AF_INET or AF_INET6 addresses of the matching length; input that is
 * invalid stays invalid with more bytes after it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "triad/proxy.h"

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_header h;
	int n = proxy_parse(data, size, &h);
	CHECK(n >= -1);
	if (n > 0) {
		CHECK((size_t)n <= size && n <= PROXY_HEADER_MAX);
		CHECK(h.version == 1 || h.version == 2);
		if (h.version == 1)
			CHECK(n <= PROXY_V1_MAX);
		if (h.proxied) {
			CHECK(h.src.sa.sa_family == h.dst.sa.sa_family);
			CHECK((h.src.sa.sa_family == AF_INET && h.addr_len == sizeof(struct sockaddr_in)) ||
			      (h.src.sa.sa_family == AF_INET6 &&
			       h.addr_len == sizeof(struct sockaddr_in6)));
		}
		uint8_t *cut = malloc((size_t)n);
		CHECK(cut);
		memcpy(cut, data, (size_t)n);
		struct proxy_header again;
		CHECK(proxy_parse(cut, (size_t)n, &again) == n);
		CHECK(again.proxied == h.proxied);
		if (h.proxied)
			CHECK(memcmp(&again.src, &h.src, h.addr_len) == 0 &&
			      memcmp(&again.dst, &h.dst, h.addr_len) == 0);
		for (size_t k = 0; k < (size_t)n; k++)
			CHECK(proxy_parse(cut, k, &again) == 0);
		free(cut);
	} else if (n < 0 && size > 0) {
		/* Bytes after an invalid prefix never make it valid. */
		uint8_t *more = malloc(size + 8);
		CHECK(more);
		memcpy(more, data, size);
		memset(more + size, '\n', 8);
		CHECK(proxy_parse(more, size + 8, &h) == -1);
		free(more);
	}
	return 0;
}
