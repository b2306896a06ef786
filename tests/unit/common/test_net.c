/*
 * net: CIDR parsing (one row per case, __LINE__ names a failing row) and
 * matching of IPv4, IPv6 and v4-mapped peers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "triad/net.h"

struct parse_row {
	int line;
	const char *in;
	int rc;
	unsigned bits; /* over 16 bytes when rc == 0 */
};

static void test_parse_rows(void **state)
{
	(void)state;
	static const struct parse_row rows[] = {
	    {__LINE__, "127.0.0.1", 0, 128},
	    {__LINE__, "127.0.0.0/8", 0, 104},
	    {__LINE__, "0.0.0.0/0", 0, 96},
	    {__LINE__, "10.0.0.0/32", 0, 128},
	    {__LINE__, "::1", 0, 128},
	    {__LINE__, "::/0", 0, 0},
	    {__LINE__, "2001:db8::/32", 0, 32},
	    {__LINE__, "::ffff:192.0.2.0/120", 0, 120},
	    {__LINE__, "10.0.0.1/8", -1, 0},        /* host bits set */
	    {__LINE__, "2001:db8::1/32", -1, 0},    /* host bits set */
	    {__LINE__, "10.0.0.0/33", -1, 0},
	    {__LINE__, "::/129", -1, 0},
	    {__LINE__, "10.0.0.0/", -1, 0},
	    {__LINE__, "10.0.0.0/+8", -1, 0},
	    {__LINE__, "10.0.0.0/ 8", -1, 0},
	    {__LINE__, "10.0.0.0/0008", -1, 0},
	    {__LINE__, "10.0.0.0/8x", -1, 0},
	    {__LINE__, "/8", -1, 0},
	    {__LINE__, "", -1, 0},
	    {__LINE__, "[::1]", -1, 0},              /* no brackets */
	    {__LINE__, "127.0.0.1:80", -1, 0},       /* no port */
	    {__LINE__, "localhost", -1, 0},          /* no names */
	    {__LINE__, "256.0.0.0/8", -1, 0},
	    {__LINE__, "1.2.3", -1, 0},
	    {__LINE__, "fe80::1%eth0", -1, 0},
	    {__LINE__, "1111:2222:3333:4444:5555:6666:7777:8888:9999", -1, 0},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct net_cidr n;
		memset(&n, 0xaa, sizeof(n));
		int rc = net_parse_cidr(rows[i].in, &n);
		if (rc != rows[i].rc)
			fail_msg("line %d: \"%s\": rc %d, want %d", rows[i].line, rows[i].in, rc,
			         rows[i].rc);
		if (rc == 0 && n.bits != rows[i].bits)
			fail_msg("line %d: \"%s\": bits %u, want %u", rows[i].line, rows[i].in, n.bits,
			         rows[i].bits);
	}
}

struct match_row {
	int line;
	const char *nets; /* space separated */
	const char *peer;
	bool match;
};

static const struct sockaddr *peer_of(const char *s, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, s, &s4->sin_addr) == 1)
		s4->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, s, &s6->sin6_addr) == 1)
		s6->sin6_family = AF_INET6;
	else
		ss->ss_family = AF_UNIX;
	return (const struct sockaddr *)ss;
}

static void test_match_rows(void **state)
{
	(void)state;
	static const struct match_row rows[] = {
	    {__LINE__, "127.0.0.0/8 ::1", "127.0.0.1", true},
	    {__LINE__, "127.0.0.0/8 ::1", "127.255.0.9", true},
	    {__LINE__, "127.0.0.0/8 ::1", "128.0.0.1", false},
	    {__LINE__, "127.0.0.0/8 ::1", "::1", true},
	    {__LINE__, "127.0.0.0/8 ::1", "::2", false},
	    {__LINE__, "127.0.0.0/8 ::1", "::ffff:127.0.0.1", true}, /* dual-stack socket */
	    {__LINE__, "10.1.2.0/23", "10.1.3.255", true},
	    {__LINE__, "10.1.2.0/23", "10.1.4.0", false},
	    {__LINE__, "2001:db8:a::/48", "2001:db8:a:ffff::1", true},
	    {__LINE__, "2001:db8:a::/48", "2001:db8:b::1", false},
	    {__LINE__, "2001:db8::7", "2001:db8::7", true},
	    {__LINE__, "0.0.0.0/0", "198.51.100.1", true},
	    {__LINE__, "0.0.0.0/0", "2001:db8::1", false},  /* IPv4 "any" is not IPv6 */
	    {__LINE__, "::/0", "2001:db8::1", true},
	    {__LINE__, "", "127.0.0.1", false},
	    {__LINE__, "127.0.0.0/8", "unix", false},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct net_cidr nets[4];
		size_t n = 0;
		char buf[128];
		snprintf(buf, sizeof(buf), "%s", rows[i].nets);
		for (char *save = NULL, *t = strtok_r(buf, " ", &save); t;
		     t = strtok_r(NULL, " ", &save))
			assert_int_equal(net_parse_cidr(t, &nets[n++]), 0);
		struct sockaddr_storage ss;
		bool got = net_match(nets, n, peer_of(rows[i].peer, &ss));
		if (got != rows[i].match)
			fail_msg("line %d: %s in {%s}: %d, want %d", rows[i].line, rows[i].peer,
			         rows[i].nets, got, rows[i].match);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_rows),
		cmocka_unit_test(test_match_rows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
