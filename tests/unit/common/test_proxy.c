/*
 * proxy: the PROXY protocol v1/v2 parser, one row per case (__LINE__ names a
 * failing row), against HAProxy's doc/proxy-protocol.txt (§2.1 text header,
 * §2.2 binary header), plus every prefix of a valid header asking for more.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "triad/proxy.h"

#define SIG "\r\n\r\n\0\r\nQUIT\n"
#define V2(vc, fam, hi, lo) SIG vc fam hi lo

struct row {
	int line;
	const char *in;
	size_t len;        /* 0: strlen(in) */
	int rc;            /* header length, 0 more, -1 invalid */
	bool proxied;
	const char *src;   /* "ip port" when proxied */
	const char *dst;
};

static void show(const union proxy_addr *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "";
	unsigned port = 0;
	if (a->sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &a->sin.sin_addr, ip, sizeof(ip));
		port = ntohs(a->sin.sin_port);
	} else if (a->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &a->sin6.sin6_addr, ip, sizeof(ip));
		port = ntohs(a->sin6.sin6_port);
	}
	snprintf(buf, len, "%s %u", ip, port);
}

/* Ten bytes and a long tail of 'x' for the bound rows. */
static char long_v1[200];

static void test_rows(void **state)
{
	(void)state;
	memset(long_v1, 'x', sizeof(long_v1) - 1);
	memcpy(long_v1, "PROXY UNKNOWN ", 14);
	const struct row rows[] = {
	    /* v1, §2.1 */
	    {__LINE__, "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\nGET /", 0, 45, true,
	     "192.0.2.1 56324", "198.51.100.2 443"},
	    {__LINE__, "PROXY TCP6 2001:db8::1 2001:db8::2 1 65535\r\n", 0, 44, true,
	     "2001:db8::1 1", "2001:db8::2 65535"},
	    {__LINE__, "PROXY TCP4 0.0.0.0 255.255.255.255 0 0\r\n", 0, 40, true, "0.0.0.0 0",
	     "255.255.255.255 0"},
	    {__LINE__, "PROXY UNKNOWN\r\n", 0, 15, false, NULL, NULL},
	    {__LINE__, "PROXY UNKNOWN ffff::1 ffff::2 65535 65535\r\nEHLO", 0, 43, false, NULL,
	     NULL},
	    {__LINE__, "PROXY UNKNOWN whatever the sender put here\r\n", 0, 44, false, NULL, NULL},
	    {__LINE__, "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443", 0, 0, false, NULL, NULL},
	    {__LINE__, "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r", 0, 0, false, NULL, NULL},
	    {__LINE__, "PROX", 0, 0, false, NULL, NULL},
	    {__LINE__, "P", 0, 0, false, NULL, NULL},
	    {__LINE__, "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\n", 0, -1, false, NULL, NULL},
	    {__LINE__, "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\rX", 0, -1, false, NULL, NULL},
	    {__LINE__, "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443 \r\n", 0, -1, false, NULL, NULL},
	    {__LINE__, "PROXY TCP4 192.0.2.1  198.51.100.2 56324 443\r\n", 0, -1, false, NULL, NULL},
	    {__LINE__, "PROXY  TCP4 192.0.2.1 198.51.100.2 56324 443\r\n", 0, -1, false, NULL, NULL},
	    {__LINE__, "PROXY TCP4 192.0.2.01 198.51.100.2 56324 443\r\n", 0, -1, false, NULL, NULL},
	    {__LINE__, "PROXY TCP4 192.0.2.1 198.51.100.2 056324 443\r\n", 0, -1, false, NULL, NULL},
	    {__LINE__, "PROXY TCP4 192.0.2.1 198.51.100.2 65536 443\r\n", 0, -1, false, NULL, NULL},
	    {__LINE__, "PROXY TCP4 192.0.2.1 198.51.100.2 -1 443\r\n", 0, -1, false, NULL, NULL},
	    {__LINE__, "PROXY TCP4 192.0.2.256 198.51.100.2 1 443\r\n", 0, -1, false, NULL, NULL},
	    {__LINE__, "PROXY TCP4 2001:db8::1 198.51.100.2 1 443\r\n", 0, -1, false, NULL, NULL},
	    {__LINE__, "PROXY TCP6 192.0.2.1 2001:db8::2 1 443\r\n", 0, -1, false, NULL, NULL},
	    {__LINE__, "PROXY TCP4 192.0.2.1 198.51.100.2 1\r\n", 0, -1, false, NULL, NULL},
	    {__LINE__, "PROXY TCP4 192.0.2.1 198.51.100.2 1 2 3\r\n", 0, -1, false, NULL, NULL},
	    {__LINE__, "PROXY UDP4 192.0.2.1 198.51.100.2 1 2\r\n", 0, -1, false, NULL, NULL},
	    {__LINE__, "PROXY tcp4 192.0.2.1 198.51.100.2 1 2\r\n", 0, -1, false, NULL, NULL},
	    {__LINE__, "PROXY UNKNOWNX\r\n", 0, -1, false, NULL, NULL},
	    {__LINE__, "PROXY \r\n", 0, -1, false, NULL, NULL},
	    {__LINE__, "PROXY TCP4 192.0.2.1 198.51.100.2 1 2\t\r\n", 0, -1, false, NULL, NULL},
	    {__LINE__, "proxy TCP4 192.0.2.1 198.51.100.2 1 2\r\n", 0, -1, false, NULL, NULL},
	    {__LINE__, "PROXY-TCP4", 0, -1, false, NULL, NULL},
	    {__LINE__, "GET / HTTP/1.1\r\n", 0, -1, false, NULL, NULL},
	    {__LINE__, "EHLO x\r\n", 0, -1, false, NULL, NULL},
	    {__LINE__, "\x16\x03\x01", 3, -1, false, NULL, NULL}, /* a TLS ClientHello */
	    /* §2.1: no CRLF in the first 107 bytes */
	    {__LINE__, long_v1, 106, 0, false, NULL, NULL},
	    {__LINE__, long_v1, 107, -1, false, NULL, NULL},
	    /* v2, §2.2 */
	    {__LINE__, V2("\x21", "\x11", "\x00", "\x0c") "\xc0\x00\x02\x01\xc6\x33\x64\x02"
	                                                   "\xdc\x04\x01\xbb" "GET",
	     31, 28, true, "192.0.2.1 56324", "198.51.100.2 443"},
	    {__LINE__, V2("\x21", "\x21", "\x00", "\x24")
	               "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01"
	               "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x02" "\x00\x50\x01\xbb",
	     52, 52, true, "2001:db8::1 80", "2001:db8::2 443"},
	    /* TLVs after the addresses: ALPN "h2" and a NOOP, skipped */
	    {__LINE__, V2("\x21", "\x11", "\x00", "\x15") "\xc0\x00\x02\x01\xc6\x33\x64\x02"
	                                                   "\xdc\x04\x01\xbb"
	                                                   "\x01\x00\x02h2" "\x04\x00\x01\x00",
	     37, 37, true, "192.0.2.1 56324", "198.51.100.2 443"},
	    /* §2.2.5 PP2_TYPE_CRC32C: CRC32c of the whole header with the field
	     * zeroed, network byte order (HAProxy's proxy-v2-options crc32c) */
	    {__LINE__, V2("\x21", "\x11", "\x00", "\x13") "\xc0\x00\x02\x01\xc6\x33\x64\x02"
	                                                   "\xdc\x04\x01\xbb"
	                                                   "\x03\x00\x04\x20\xec\x95\x49",
	     35, 35, true, "192.0.2.1 56324", "198.51.100.2 443"},
	    {__LINE__, V2("\x21", "\x11", "\x00", "\x13") "\xc0\x00\x02\x01\xc6\x33\x64\x02"
	                                                   "\xdc\x04\x01\xbb"
	                                                   "\x03\x00\x04\x20\xec\x95\x48",
	     35, -1, false, NULL, NULL}, /* one bit off */
	    {__LINE__, V2("\x21", "\x11", "\x00", "\x13") "\xc0\x00\x02\x01\xc6\x33\x64\x03"
	                                                   "\xdc\x04\x01\xbb"
	                                                   "\x03\x00\x04\x20\xec\x95\x49",
	     35, -1, false, NULL, NULL}, /* an address changed after the sum */
	    {__LINE__, V2("\x21", "\x11", "\x00", "\x12") "\xc0\x00\x02\x01\xc6\x33\x64\x02"
	                                                   "\xdc\x04\x01\xbb"
	                                                   "\x03\x00\x03\x20\xec\x95",
	     34, -1, false, NULL, NULL}, /* a checksum of 3 bytes */
	    {__LINE__, V2("\x21", "\x11", "\x00", "\x1a") "\xc0\x00\x02\x01\xc6\x33\x64\x02"
	                                                   "\xdc\x04\x01\xbb"
	                                                   "\x03\x00\x04\x20\xec\x95\x49"
	                                                   "\x03\x00\x04\x20\xec\x95\x49",
	     42, -1, false, NULL, NULL}, /* two checksums */
	    /* LOCAL (health checks): real endpoints, whatever the block says */
	    {__LINE__, V2("\x20", "\x00", "\x00", "\x00"), 16, 16, false, NULL, NULL},
	    {__LINE__, V2("\x20", "\x11", "\x00", "\x0c") "\xc0\x00\x02\x01\xc6\x33\x64\x02"
	                                                   "\xdc\x04\x01\xbb",
	     28, 28, false, NULL, NULL},
	    /* PROXY with UNSPEC, UDP or AF_UNIX: skipped, real endpoints */
	    {__LINE__, V2("\x21", "\x00", "\x00", "\x00"), 16, 16, false, NULL, NULL},
	    {__LINE__, V2("\x21", "\x12", "\x00", "\x0c") "\xc0\x00\x02\x01\xc6\x33\x64\x02"
	                                                   "\xdc\x04\x01\xbb",
	     28, 28, false, NULL, NULL},
	    /* incomplete: signature, head, address block */
	    {__LINE__, SIG, 5, 0, false, NULL, NULL},
	    {__LINE__, SIG, 12, 0, false, NULL, NULL},
	    {__LINE__, V2("\x21", "\x11", "\x00", "\x0c"), 15, 0, false, NULL, NULL},
	    {__LINE__, V2("\x21", "\x11", "\x00", "\x0c") "\xc0\x00\x02\x01", 20, 0, false, NULL,
	     NULL},
	    /* invalid */
	    {__LINE__, "\r\n\r\n\x01", 5, -1, false, NULL, NULL},       /* not the signature */
	    {__LINE__, SIG "\x11", 13, -1, false, NULL, NULL},          /* version 1 */
	    {__LINE__, V2("\x22", "\x11", "\x00", "\x00"), 16, -1, false, NULL, NULL}, /* cmd 2 */
	    {__LINE__, V2("\x21", "\x41", "\x00", "\x00"), 16, -1, false, NULL, NULL}, /* fam 4 */
	    {__LINE__, V2("\x21", "\x13", "\x00", "\x00"), 16, -1, false, NULL, NULL}, /* proto 3 */
	    {__LINE__, V2("\x21", "\x11", "\x00", "\x08") "\xc0\x00\x02\x01\xc6\x33\x64\x02", 24,
	     -1, false, NULL, NULL}, /* shorter than IPv4's 12 */
	    {__LINE__, V2("\x21", "\x21", "\x00", "\x0c") "\xc0\x00\x02\x01\xc6\x33\x64\x02"
	                                                   "\xdc\x04\x01\xbb",
	     28, -1, false, NULL, NULL}, /* shorter than IPv6's 36 */
	    {__LINE__, V2("\x21", "\x11", "\x00", "\x0e") "\xc0\x00\x02\x01\xc6\x33\x64\x02"
	                                                   "\xdc\x04\x01\xbb" "\x01\x00",
	     30, -1, false, NULL, NULL}, /* a truncated TLV header */
	    {__LINE__, V2("\x21", "\x11", "\x00", "\x10") "\xc0\x00\x02\x01\xc6\x33\x64\x02"
	                                                   "\xdc\x04\x01\xbb" "\x01\x00\x05h",
	     32, -1, false, NULL, NULL}, /* a TLV longer than the rest */
	    {__LINE__, V2("\x21", "\x11", "\x03", "\xf1"), 16, -1, false, NULL, NULL}, /* > 1024 */
	    {__LINE__, V2("\x21", "\x11", "\x03", "\xf0"), 16, 0, false, NULL, NULL},  /* = 1024 */
	    {__LINE__, "", 0, 0, false, NULL, NULL},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		size_t len = r->len ? r->len : strlen(r->in);
		struct proxy_header h;
		memset(&h, 0x5a, sizeof(h));
		int rc = proxy_parse((const uint8_t *)r->in, len, &h);
		if (rc != r->rc)
			fail_msg("line %d: rc %d, want %d", r->line, rc, r->rc);
		if (rc <= 0)
			continue;
		/* Every proper prefix of a complete header asks for more, never decides. */
		for (size_t k = 0; k < (size_t)rc; k++) {
			struct proxy_header p;
			int pr = proxy_parse((const uint8_t *)r->in, k, &p);
			if (pr != 0)
				fail_msg("line %d: prefix of %zu bytes gave %d", r->line, k, pr);
		}
		if (h.proxied != r->proxied)
			fail_msg("line %d: proxied %d, want %d", r->line, h.proxied, r->proxied);
		if (!r->proxied)
			continue;
		char got[64];
		show(&h.src, got, sizeof(got));
		if (strcmp(got, r->src) != 0)
			fail_msg("line %d: src '%s', want '%s'", r->line, got, r->src);
		show(&h.dst, got, sizeof(got));
		if (strcmp(got, r->dst) != 0)
			fail_msg("line %d: dst '%s', want '%s'", r->line, got, r->dst);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
