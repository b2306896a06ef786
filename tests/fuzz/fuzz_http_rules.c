/*
 * libFuzzer target for httpd/rules.c (`make fuzz` builds it with libhttpd.a).
 *
 * The input is read both as a _redirects and as a _headers file. Whatever
 * it holds, every warning names a line of the input, every kept rule has a
 * FROM/pattern starting with '/', a header name without ':' or blanks and a
 * value without CR or LF (nothing can break the response head), and
 * matching a rule against its own FROM never overflows the output.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../httpd/rules.h"

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

static unsigned lines;

static void warn(void *arg, unsigned line, const char *reason)
{
	(void)arg;
	CHECK(line >= 1 && line <= lines && reason && *reason);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_rules r = {0};
	char out[64];

	lines = 1;
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	if (http_redirects_parse((const char *)data, size, &r, warn, NULL) < 0 ||
	    http_headers_parse((const char *)data, size, &r, warn, NULL) < 0) {
		http_rules_free(&r);
		return 0;
	}
	for (size_t i = 0; i < r.nredirects; i++) {
		CHECK(r.redirects[i].from[0] == '/');
		CHECK(!strpbrk(r.redirects[i].to, "\r\n \t"));
		if (http_redirect_match(&r.redirects[i], r.redirects[i].from, out, sizeof(out)))
			CHECK(strlen(out) < sizeof(out));
	}
	for (size_t i = 0; i < r.nheaders; i++) {
		CHECK(r.headers[i].pattern[0] == '/');
		CHECK(*r.headers[i].name && !strpbrk(r.headers[i].name, ": \t\r\n"));
		CHECK(!strpbrk(r.headers[i].value, "\r\n"));
	}
	http_rules_free(&r);
	return 0;
}
