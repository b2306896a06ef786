/*
 * libFuzzer target for tls_alpn_choose() (common/tls.c): the server's
 * choice among the protocol names a client offers in its ClientHello
 * (RFC 7301 §3.1), attacker-controlled wire format handed to OpenSSL's
 * SSL_select_next_proto() (CVE-2024-5535 was a bug in exactly this call).
 *
 * Input: byte 0 picks the server list (httpd's, or a longer one), the rest
 * is the client's ProtocolNameList as it arrives.
 * Checked beyond "no crash": a choice is a name of the server's list, is
 * offered by a well-formed client list, and is the server's most preferred
 * name the client offers; a well-formed client list sharing a name with the
 * server's always gets a choice.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "triad/tls.h"

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

static const unsigned char *const servers[] = {
    (const unsigned char *)"\x08http/1.1",
    (const unsigned char *)"\x02h2\x08http/1.1",
    (const unsigned char *)"\x03" "ftp\x04smtp\x08http/1.0",
};

/* Whether wire list L[0..N) is well formed and, if so, whether it has NAME. */
static bool well_formed(const unsigned char *l, size_t n)
{
	size_t i = 0;
	while (i < n) {
		if (l[i] == 0 || i + 1 + l[i] > n)
			return false;
		i += 1u + l[i];
	}
	return n > 0;
}

static bool has(const unsigned char *l, size_t n, const unsigned char *name, size_t len)
{
	for (size_t i = 0; i < n && i + 1 + l[i] <= n; i += 1u + l[i])
		if (l[i] == len && memcmp(l + i + 1, name, len) == 0)
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 65536)
		return 0;
	const unsigned char *srv = servers[data[0] % 3];
	size_t slen = strlen((const char *)srv);
	const unsigned char *in = data + 1;
	unsigned inlen = (unsigned)(size - 1);
	const unsigned char *out = NULL;
	unsigned char outlen = 0;
	int rc = tls_alpn_choose(srv, in, inlen, &out, &outlen);
	bool ok = well_formed(in, inlen);
	/* the server's first name the client offers */
	const unsigned char *want = NULL;
	unsigned char wantlen = 0;
	for (size_t i = 0; ok && i < slen && !want; i += 1u + srv[i])
		if (has(in, inlen, srv + i + 1, srv[i])) {
			want = srv + i + 1;
			wantlen = srv[i];
		}
	if (rc == 0) {
		CHECK(ok && want);
		CHECK(outlen == wantlen && memcmp(out, want, wantlen) == 0);
		CHECK(has(srv, slen, out, outlen) && has(in, inlen, out, outlen));
	} else {
		CHECK(!want);
	}
	return 0;
}
