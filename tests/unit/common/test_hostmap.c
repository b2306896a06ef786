/*
 * Unit tests for common/hostmap.c: the hash that picks a site by Host or
 * SNI (interface.md, "Sites"). Row tables for the key normalisation (case,
 * ports, IPv6 literals, the trailing dot: RFC 9110 §7.2 says the Host's
 * port is optional and RFC 4343 that host names compare case-insensitively),
 * then the table: names sharing a home slot and one pair sharing the whole
 * stored 32-bit hash, growth from the smallest size, names at and past the
 * inline bound (kept in the slot vs by pointer), duplicates and empty names.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "triad/hostmap.h"

/* What a client sends -> the key hostmap_key makes ("": none). */
static void test_key_rows(void **state)
{
	static const struct {
		int line;
		const char *in, *key;
	} rows[] = {
	    {__LINE__, "a.example", "a.example"},
	    {__LINE__, "A.EXAMPLE", "a.example"},
	    {__LINE__, "A.Example:8080", "a.example"},
	    {__LINE__, "a.example:", "a.example"},
	    {__LINE__, "a.example.", "a.example"},
	    {__LINE__, "a.example.:80", "a.example"},
	    {__LINE__, "a.example..", "a.example."}, /* one dot only */
	    {__LINE__, "[::1]", "[::1]"},
	    {__LINE__, "[::1]:8443", "[::1]"},
	    {__LINE__, "[FE80::1]:80", "[fe80::1]"},
	    {__LINE__, "127.0.0.1:8080", "127.0.0.1"},
	    {__LINE__, "[::1", ""},
	    {__LINE__, ":80", ""},
	    {__LINE__, ".", ""},
	    {__LINE__, "", ""},
	    {__LINE__, "\xC3\x89.example", "\xC3\x89.example"}, /* bytes >= 0x80 left alone */
	};
	char buf[64];
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint64_t h = 0;
		size_t n = hostmap_key(rows[i].in, strlen(rows[i].in), buf, sizeof(buf), &h);
		if (strlen(rows[i].key) != n || (n && strcmp(buf, rows[i].key) != 0))
			fail_msg("row at line %d: got %zu '%s'", rows[i].line, n, n ? buf : "");
		/* the hash of the same pass is the key's own */
		if (n && h != hostmap_hash(buf, n))
			fail_msg("row at line %d: hash %llx, not the key's", rows[i].line,
			         (unsigned long long)h);
	}
	/* a key must fit with its NUL */
	assert_int_equal(hostmap_key("abcdef", 6, buf, 6, NULL), 0);
	assert_int_equal(hostmap_key("abcdef", 6, buf, 7, NULL), 6);
}

/* Requests (any case, with ports) find the sites their lower-case names were added as. */
static void test_lookup_rows(void **state)
{
	static const char *const names[] = {"a.example", "www.a.example", "b.example", "[::1]",
	                                    "127.0.0.1", "localhost"};
	static const struct {
		int line;
		const char *host;
		int want; /* index into names, -1: none */
	} rows[] = {
	    {__LINE__, "a.example", 0},       {__LINE__, "A.EXAMPLE:80", 0},
	    {__LINE__, "WWW.a.Example.", 1},  {__LINE__, "b.example:8443", 2},
	    {__LINE__, "[::1]:8080", 3},      {__LINE__, "127.0.0.1:80", 4},
	    {__LINE__, "LocalHost", 5},       {__LINE__, "c.example", -1},
	    {__LINE__, "a.exampl", -1},       {__LINE__, "a.examplee", -1},
	    {__LINE__, "example", -1},        {__LINE__, "[::2]", -1},
	    {__LINE__, "", -1},
	};
	struct hostmap m;
	(void)state;
	assert_int_equal(hostmap_init(&m, sizeof(names) / sizeof(names[0])), 0);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_int_equal(hostmap_add(&m, names[i], (int)i), 0);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char key[256];
		uint64_t h;
		size_t n = hostmap_key(rows[i].host, strlen(rows[i].host), key, sizeof(key), &h);
		int got = n ? hostmap_get_hashed(&m, key, n, h) : -1;
		int plain = n ? hostmap_get(&m, key, n) : -1;
		if (got != rows[i].want || plain != rows[i].want)
			fail_msg("row at line %d: got %d (unhashed %d), want %d", rows[i].line, got,
			         plain, rows[i].want);
	}
	hostmap_free(&m);
}

/* Names that collide: in their home slot (a table of 8 slots holding 3
 * names, all 20 candidates hashed there), and one pair of equal length with
 * the same stored 32-bit hash, which only the bytes tell apart. */
static void test_collisions(void **state)
{
	/* found by search: FNV-1a's low 32 bits of both are b45a056b */
	static const char *const twin_a = "c198878.example", *const twin_b = "c255542.example";
	struct hostmap m;
	char names[20][16];
	(void)state;
	assert_int_equal((uint32_t)hostmap_hash(twin_a, 15), (uint32_t)hostmap_hash(twin_b, 15));
	assert_int_equal(hostmap_init(&m, 1), 0);
	assert_int_equal(m.cap, 8);
	assert_int_equal(hostmap_add(&m, twin_a, 1), 0);
	assert_int_equal(hostmap_get(&m, twin_b, 15), -1); /* same hash, other name */
	assert_int_equal(hostmap_add(&m, twin_b, 2), 0);
	assert_int_equal(hostmap_get(&m, twin_a, 15), 1);
	assert_int_equal(hostmap_get(&m, twin_b, 15), 2);
	assert_int_equal(m.n, 2);

	/* 8 slots, 3 names with the same home slot H, for every H: the run
	 * from slot 6 or 7 wraps around the end */
	hostmap_free(&m);
	for (uint64_t home = 0; home < 8; home++) {
		assert_int_equal(hostmap_init(&m, 3), 0);
		assert_int_equal(m.cap, 8);
		int added = 0;
		for (int i = 0; added < 3 && i < 10000; i++) {
			snprintf(names[added], sizeof(names[added]), "n%d.example", i);
			if ((hostmap_hash(names[added], strlen(names[added])) & 7) != home)
				continue;
			assert_int_equal(hostmap_add(&m, names[added], added), 0);
			added++;
		}
		assert_int_equal(added, 3);
		for (int i = 0; i < 3; i++)
			assert_int_equal(hostmap_get(&m, names[i], strlen(names[i])), i);
		assert_int_equal(hostmap_get(&m, "zz.example", 10), -1);
		hostmap_free(&m);
	}
}

/* From the smallest table to 20,000 names: every name keeps its value,
 * the table stays at most half full, and a duplicate keeps the first value. */
static void test_growth(void **state)
{
	enum { N = 20000 };
	static char names[N][24];
	struct hostmap m;
	(void)state;
	assert_int_equal(hostmap_init(&m, 0), 0);
	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "s%d.example", i);
		assert_int_equal(hostmap_add(&m, names[i], i), 0);
		assert_true(2 * m.n <= m.cap);
	}
	assert_int_equal(m.n, N);
	assert_int_equal(hostmap_add(&m, "s7.example", 99), 1);
	for (int i = 0; i < N; i++)
		assert_int_equal(hostmap_get(&m, names[i], strlen(names[i])), i);
	assert_int_equal(hostmap_get(&m, "s20000.example", 14), -1);
	assert_int_equal(hostmap_get(&m, "s1.exampl", 9), -1);
	assert_int_equal(hostmap_get(&m, "", 0), -1);
	hostmap_free(&m);
	assert_int_equal(hostmap_get(&m, "s1.example", 10), -1);
}

/* Names up to HOSTMAP_INLINE bytes live in the slot (the caller's copy may
 * go away); longer ones (up to 253, RFC 1035 §2.3.4) are kept by pointer;
 * an empty name is refused. */
static void test_inline_bound(void **state)
{
	char at[HOSTMAP_INLINE + 1], past[HOSTMAP_INLINE + 2], longest[254], probe[254];
	struct hostmap m;
	(void)state;
	memset(at, 'a', HOSTMAP_INLINE);
	at[HOSTMAP_INLINE] = '\0';
	memset(past, 'a', HOSTMAP_INLINE + 1);
	past[HOSTMAP_INLINE + 1] = '\0';
	memset(longest, 'b', 253);
	longest[253] = '\0';
	assert_int_equal(hostmap_init(&m, 4), 0);
	assert_int_equal(hostmap_add(&m, at, 1), 0);
	assert_int_equal(hostmap_add(&m, past, 2), 0);
	assert_int_equal(hostmap_add(&m, longest, 3), 0);
	assert_int_equal(hostmap_add(&m, "", 4), -1);
	at[0] = 'z'; /* the inline copy is the table's own */
	memcpy(probe, at, sizeof(at));
	probe[0] = 'a';
	assert_int_equal(hostmap_get(&m, probe, HOSTMAP_INLINE), 1);
	assert_int_equal(hostmap_get(&m, at, HOSTMAP_INLINE), -1);
	memcpy(probe, past, sizeof(past));
	assert_int_equal(hostmap_get(&m, probe, HOSTMAP_INLINE + 1), 2);
	probe[HOSTMAP_INLINE] = 'c';
	assert_int_equal(hostmap_get(&m, probe, HOSTMAP_INLINE + 1), -1);
	memcpy(probe, longest, sizeof(longest));
	assert_int_equal(hostmap_get(&m, probe, 253), 3);
	assert_int_equal(hostmap_get(&m, probe, 252), -1);
	/* growth moves inline names and pointers alike */
	char more[40][16];
	for (int i = 0; i < 40; i++) {
		snprintf(more[i], sizeof(more[i]), "m%d.example", i);
		assert_int_equal(hostmap_add(&m, more[i], 10 + i), 0);
	}
	assert_int_equal(hostmap_get(&m, probe, 253), 3);
	memcpy(probe, past, sizeof(past));
	assert_int_equal(hostmap_get(&m, probe, HOSTMAP_INLINE + 1), 2);
	memset(probe, 'a', HOSTMAP_INLINE);
	assert_int_equal(hostmap_get(&m, probe, HOSTMAP_INLINE), 1);
	for (int i = 0; i < 40; i++)
		assert_int_equal(hostmap_get(&m, more[i], strlen(more[i])), 10 + i);
	hostmap_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_key_rows),    cmocka_unit_test(test_lookup_rows),
	    cmocka_unit_test(test_collisions),  cmocka_unit_test(test_growth),
	    cmocka_unit_test(test_inline_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
