/*
 * libFuzzer target for httpd/cachepolicy.c (Cache-Control, Expires, Vary
 * in a response head). Built by `make fuzz` (tests/fuzz/README.md).
 *
 * Input: byte 0 picks the status and whether the request may use the
 * cache; the rest is a response head. Invariants (abort when broken): a
 * STORE verdict has a positive lifetime, a non-negative stale-if-error, at
 * most HTTP_CACHE_VARY_MAX Vary names, each inside the input; a head with
 * Set-Cookie is never stored.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../httpd/cachepolicy.h"
#include "../../httpd/uphead.h"

static struct http_response r;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int statuses[] = {200, 203, 204, 301, 404, 410, 206, 500};
	if (size < 1)
		return 0;
	int status = statuses[data[0] & 7];
	bool ok = data[0] & 8;
	const char *in = (const char *)data + 1;
	struct http_resp_parser p;
	http_resp_init(&p, 4096, false);
	if (http_resp_parse(&p, in, size - 1, &r) != HTTP_PARSE_OK)
		return 0;
	struct http_cache_decision d;
	http_cache_decide(HTTP_METHOD_GET, ok, status, r.fields, r.nfields, 1800000000, &d);
	if (d.verdict != HTTP_CACHE_STORE)
		return 0;
	if (d.ttl <= 0 || d.stale_if_error < 0 || d.nvary > HTTP_CACHE_VARY_MAX || !ok)
		abort();
	for (unsigned i = 0; i < d.nvary; i++)
		if (d.vary[i].p < in || d.vary[i].p + d.vary[i].len > in + r.head_len ||
		    d.vary[i].len == 0)
			abort();
	for (unsigned i = 0; i < r.nfields; i++)
		if (http_field_is(&r.fields[i], "set-cookie"))
			abort();
	return 0;
}
