/*
 * Unit tests for tls_alpn_choose() (common/tls.c): the server's ALPN choice
 * among the names a client offers (RFC 7301 §3.1, §3.2). The malformed rows
 * are the inputs fuzz_common_alpn found: OpenSSL's SSL_select_next_proto()
 * matched a good prefix of a list that was broken further on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "triad/tls.h"

#define H2_H11 ((const unsigned char *)"\x02h2\x08http/1.1")

static void test_choose(void **state)
{
	(void)state;
	/* clang-format off */
	static const struct {
		int line;
		const char *in;
		unsigned inlen;
		const char *want; /* NULL: no ALPN */
	} rows[] = {
		{__LINE__, "\x08http/1.1", 9, "http/1.1"},
		{__LINE__, "\x08http/1.1\x02h2", 12, "h2"},          /* the server's order wins */
		{__LINE__, "\x06spdy/3\x08http/1.1", 16, "http/1.1"},
		{__LINE__, "\x06spdy/3", 7, NULL},                  /* no overlap */
		{__LINE__, "", 0, NULL},                            /* empty list */
		{__LINE__, "\x00\x02h2", 4, NULL},                  /* an empty name */
		{__LINE__, "\x02h2\x85\xff", 5, NULL},              /* the last name overruns */
		{__LINE__, "\x01\x00\x00\x02h2\x85\xff", 8, NULL},  /* fuzz_common_alpn's find */
		{__LINE__, "\x08http/1.", 8, NULL},                 /* truncated */
		{__LINE__, "\x02h3", 3, NULL},
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const unsigned char *out = NULL;
		unsigned char outlen = 0;
		int rc = tls_alpn_choose(H2_H11, (const unsigned char *)rows[i].in, rows[i].inlen,
		                         &out, &outlen);
		if (!rows[i].want) {
			if (rc != -1)
				fail_msg("row at line %d: a choice where none was due", rows[i].line);
			continue;
		}
		if (rc != 0 || outlen != strlen(rows[i].want) || memcmp(out, rows[i].want, outlen))
			fail_msg("row at line %d: rc %d", rows[i].line, rc);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_choose),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
