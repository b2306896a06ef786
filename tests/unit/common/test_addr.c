/*
 * common/addr.c unit tests: the one client key (triad/addr.h). IPv4 by its
 * address, IPv4-mapped IPv6 as that IPv4 (RFC 4291 §2.5.5.2), native IPv6 by
 * its /64 (RFC 4291 §2.5.1 interface identifiers, RFC 4941 temporary
 * addresses). Rows carry __LINE__.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "triad/addr.h"

struct same_row {
	int line;
	const char *a, *b;
	bool same;
};

/* clang-format off */
static const struct same_row same_rows[] = {
	{__LINE__, "192.0.2.1", "192.0.2.1", true},
	{__LINE__, "192.0.2.1", "192.0.2.2", false},
	{__LINE__, "192.0.2.1", "::ffff:192.0.2.1", true},
	{__LINE__, "::ffff:192.0.2.1", "::ffff:192.0.2.2", false},
	/* one /64, any interface identifier */
	{__LINE__, "2001:db8:1:2::1", "2001:db8:1:2::1", true},
	{__LINE__, "2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff", true},
	{__LINE__, "2001:db8:1:2:a:b:c:d", "2001:db8:1:2::", true},
	/* the next /64, and the bit just above it */
	{__LINE__, "2001:db8:1:2::1", "2001:db8:1:3::1", false},
	{__LINE__, "2001:db8:1:2::1", "2001:db8:1:8002::1", false},
	{__LINE__, "2001:db8::1", "2001:db9::1", false},
	/* IPv4 is never an IPv6 /64, nor a v4-compatible or NAT64 address */
	{__LINE__, "192.0.2.1", "::192.0.2.1", false},
	{__LINE__, "192.0.2.1", "64:ff9b::192.0.2.1", false},
	{__LINE__, "::ffff:192.0.2.1", "::ffff:192.0.3.1", false},
	{__LINE__, "::1", "::2", true},
	{__LINE__, "0.0.0.0", "::", false},
};
/* clang-format on */

static void to_sockaddr(const char *text, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, text, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(1234);
	} else {
		assert_int_equal(inet_pton(AF_INET6, text, &s6->sin6_addr), 1);
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(4321);
	}
}

static void test_same_client_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(same_rows) / sizeof(same_rows[0]); i++) {
		const struct same_row *r = &same_rows[i];
		struct sockaddr_storage a, b;
		to_sockaddr(r->a, &a);
		to_sockaddr(r->b, &b);
		if (addr_same_client((struct sockaddr *)&a, (struct sockaddr *)&b) != r->same ||
		    addr_same_client((struct sockaddr *)&b, (struct sockaddr *)&a) != r->same)
			fail_msg("row at line %d: %s ~ %s", r->line, r->a, r->b);
		/* the text form keys the same way as the socket address */
		unsigned char ka[ADDR_KEY_LEN], kt[ADDR_KEY_LEN];
		addr_key((struct sockaddr *)&a, ka);
		assert_true(addr_key_text(r->a, kt));
		if (memcmp(ka, kt, ADDR_KEY_LEN) != 0)
			fail_msg("row at line %d: text key of %s", r->line, r->a);
	}
}

static void test_key_layout(void **state)
{
	(void)state;
	unsigned char k[ADDR_KEY_LEN];
	static const unsigned char v4[ADDR_KEY_LEN] = {0, 0, 0, 0, 0, 0, 0, 0,
	                                               0, 0, 0xff, 0xff, 192, 0, 2, 1};
	static const unsigned char v6[ADDR_KEY_LEN] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2};
	assert_true(addr_key_text("192.0.2.1", k));
	assert_memory_equal(k, v4, ADDR_KEY_LEN);
	assert_true(addr_key_text("2001:db8:1:2:dead:beef:1:2", k));
	assert_memory_equal(k, v6, ADDR_KEY_LEN);
}

static void test_not_addresses(void **state)
{
	(void)state;
	unsigned char k[ADDR_KEY_LEN];
	memset(k, 0x5a, sizeof(k));
	static const char *const bad[] = {"", "host.example", "192.0.2", "192.0.2.1 ",
	                                  "2001:db8::1%eth0", "[::1]", "::ffff:192.0.2.256"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (addr_key_text(bad[i], k))
			fail_msg("\"%s\" keyed", bad[i]);
		assert_int_equal(k[0], 0x5a); /* untouched */
	}
	struct sockaddr_storage a, u;
	to_sockaddr("192.0.2.1", &a);
	memset(&u, 0, sizeof(u));
	u.ss_family = AF_UNIX;
	assert_false(addr_same_client((struct sockaddr *)&u, (struct sockaddr *)&u));
	assert_false(addr_same_client((struct sockaddr *)&a, (struct sockaddr *)&u));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_same_client_rows),
	    cmocka_unit_test(test_key_layout),
	    cmocka_unit_test(test_not_addresses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
