/*
 * Unit tests for httpd/range.c: the Range header against a length.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../../httpd/range.h"

#define S(lit) lit, sizeof(lit) - 1

enum { IGN = HTTP_RANGE_IGNORE, SAT = HTTP_RANGE_SATISFIABLE, UNS = HTTP_RANGE_UNSATISFIABLE };

struct row {
	int line;
	const char *in;
	size_t len;
	uint64_t length;
	int want;
	const char *ranges; /* SAT: "first-last,first-last" after coalescing */
};

#define R(in, length, want, ranges) {__LINE__, S(in), length, want, ranges}
#define G4 (4ull << 30)

/* clang-format off */
static const struct row rows[] = {
	/* single ranges */
	R("bytes=0-0", 100, SAT, "0-0"),
	R("bytes=0-99", 100, SAT, "0-99"),
	R("bytes=0-", 100, SAT, "0-99"),
	R("bytes=10-", 100, SAT, "10-99"),
	R("bytes=99-", 100, SAT, "99-99"),
	R("bytes=10-20", 100, SAT, "10-20"),
	R("bytes=90-200", 100, SAT, "90-99"),
	R("bytes=0-18446744073709551615", 100, SAT, "0-99"),
	R("bytes=0-99999999999999999999999999", 100, SAT, "0-99"),
	R("bytes=-1", 100, SAT, "99-99"),
	R("bytes=-10", 100, SAT, "90-99"),
	R("bytes=-100", 100, SAT, "0-99"),
	R("bytes=-500", 100, SAT, "0-99"),
	R("bytes=-99999999999999999999999999", 100, SAT, "0-99"),
	R("BYTES=0-1", 100, SAT, "0-1"),
	R("Bytes=0-1", 100, SAT, "0-1"),
	R(" bytes=0-1\t", 100, SAT, "0-1"),
	R("bytes=00-01", 100, SAT, "0-1"),
	/* beyond 4 GiB */
	R("bytes=4294967296-", G4 + 10, SAT, "4294967296-4294967305"),
	R("bytes=-5", G4 + 10, SAT, "4294967301-4294967305"),
	R("bytes=4294967290-4294967299", G4 + 10, SAT, "4294967290-4294967299"),
	/* several ranges: sorted, coalesced when overlapping or adjacent */
	R("bytes=0-1,5-6", 100, SAT, "0-1,5-6"),
	R("bytes=5-6,0-1", 100, SAT, "0-1,5-6"),
	R("bytes=0-1, 5-6 ,\t8-9", 100, SAT, "0-1,5-6,8-9"),
	R("bytes=0-1,2-3", 100, SAT, "0-3"),
	R("bytes=0-10,5-15", 100, SAT, "0-15"),
	R("bytes=5-15,0-10", 100, SAT, "0-15"),
	R("bytes=0-10,2-3", 100, SAT, "0-10"),
	R("bytes=0-1,-2", 100, SAT, "0-1,98-99"),
	R("bytes=0-9,200-300", 100, SAT, "0-9"),
	R("bytes=200-300,-5", 100, SAT, "95-99"),
	R("bytes=-0,0-0", 100, SAT, "0-0"),
	/* empty list elements are skipped (RFC 9110 §5.6.1) */
	R("bytes=,0-1", 100, SAT, "0-1"),
	R("bytes=0-1,,2-3,", 100, SAT, "0-3"),
	R("bytes=0-1, ,5-6", 100, SAT, "0-1,5-6"),
	/* unsatisfiable: 416 */
	R("bytes=100-", 100, UNS, NULL),
	R("bytes=100-200", 100, UNS, NULL),
	R("bytes=-0", 100, UNS, NULL),
	R("bytes=100-,200-300,-0", 100, UNS, NULL),
	R("bytes=0-", 0, UNS, NULL),
	R("bytes=0-0", 0, UNS, NULL),
	R("bytes=18446744073709551615-", 100, UNS, NULL),
	/* a zero-length representation with a suffix range: send the whole (empty) one */
	R("bytes=-5", 0, IGN, NULL),
	R("bytes=0-0,-1", 0, IGN, NULL),
	/* other units and malformed specifiers: ignored (200) */
	R("items=0-1", 100, IGN, NULL),
	R("bytes", 100, IGN, NULL),
	R("bytes=", 100, IGN, NULL),
	R("bytes=,", 100, IGN, NULL),
	R("=0-1", 100, IGN, NULL),
	R("", 100, IGN, NULL),
	R("bytes =0-1", 100, IGN, NULL),
	R("bytes= 0-1", 100, IGN, NULL),
	R("bytes=0 -1", 100, IGN, NULL),
	R("bytes=0- 1", 100, IGN, NULL),
	R("bytes=-", 100, IGN, NULL),
	R("bytes=1", 100, IGN, NULL),
	R("bytes=a-b", 100, IGN, NULL),
	R("bytes=0x1-2", 100, IGN, NULL),
	R("bytes=+1-2", 100, IGN, NULL),
	R("bytes=-1-2", 100, IGN, NULL),
	R("bytes=1-2-3", 100, IGN, NULL),
	R("bytes=5-4", 100, IGN, NULL),
	R("bytes=0-1;2-3", 100, IGN, NULL),
	R("bytes=0-1 2-3", 100, IGN, NULL),
	R("bytes=0-1,5-4", 100, IGN, NULL),
	R("bytes=1-0,200-", 100, IGN, NULL),
	/* amplification: more bytes asked than there are, or too many specs */
	R("bytes=0-,0-", 100, IGN, NULL),
	R("bytes=0-99,-1", 100, IGN, NULL),
	R("bytes=0-60,40-99", 100, IGN, NULL),
	R("bytes=-60,-60", 100, IGN, NULL),
	R("bytes=0-0,0-0,0-0", 2, IGN, NULL),
	R("bytes=0-0,0-0", 2, SAT, "0-0"),
	R("bytes=0-0,1-1,2-2,3-3,4-4,5-5,6-6,7-7,8-8,9-9,10-10,11-11,12-12,13-13,14-14,15-15",
	  100, SAT, "0-15"),
	R("bytes=0-0,2-2,4-4,6-6,8-8,10-10,12-12,14-14,16-16,18-18,20-20,22-22,24-24,26-26,"
	  "28-28,30-30",
	  100, SAT, "0-0,2-2,4-4,6-6,8-8,10-10,12-12,14-14,16-16,18-18,20-20,22-22,24-24,26-26,"
	  "28-28,30-30"),
	R("bytes=0-0,2-2,4-4,6-6,8-8,10-10,12-12,14-14,16-16,18-18,20-20,22-22,24-24,26-26,"
	  "28-28,30-30,32-32",
	  100, IGN, NULL),
	R("bytes=200-,201-,202-,203-,204-,205-,206-,207-,208-,209-,210-,211-,212-,213-,214-,"
	  "215-,216-",
	  100, IGN, NULL),
};
/* clang-format on */

static void test_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *row = &rows[i];
		struct http_range r[HTTP_RANGES_MAX];
		unsigned n = 99;
		char got[1024] = "";
		size_t g = 0;

		enum http_range_status st = http_range_parse(row->in, row->len, row->length, r, &n);
		if ((int)st != row->want)
			fail_msg("row at line %d: got %d, want %d", row->line, st, row->want);
		if (st != HTTP_RANGE_SATISFIABLE) {
			if (n != 0)
				fail_msg("row at line %d: count %u", row->line, n);
			continue;
		}
		for (unsigned k = 0; k < n; k++)
			g += (size_t)snprintf(got + g, sizeof(got) - g, "%s%llu-%llu", k ? "," : "",
			                      (unsigned long long)r[k].first,
			                      (unsigned long long)r[k].last);
		if (strcmp(got, row->ranges) != 0)
			fail_msg("row at line %d: got %s, want %s", row->line, got, row->ranges);
	}
}

/* Any satisfiable answer is sorted, disjoint, non-adjacent and inside the length. */
static void test_invariants(void **state)
{
	char in[256];

	(void)state;
	for (unsigned seed = 1; seed < 100000; seed++) {
		unsigned x = seed * 2654435761u;
		uint64_t length = x % 50;
		size_t n = (size_t)snprintf(in, sizeof(in), "bytes=");
		unsigned specs = 1 + (x >> 8) % 5;
		for (unsigned k = 0; k < specs; k++) {
			x = x * 1103515245u + 12345u;
			unsigned a = (x >> 4) % 60, b = a + (x >> 12) % 30;
			switch ((x >> 20) % 3) {
			case 0:
				n += (size_t)snprintf(in + n, sizeof(in) - n, "%s%u-%u", k ? "," : "", a, b);
				break;
			case 1:
				n += (size_t)snprintf(in + n, sizeof(in) - n, "%s%u-", k ? "," : "", a);
				break;
			default:
				n += (size_t)snprintf(in + n, sizeof(in) - n, "%s-%u", k ? "," : "", a);
				break;
			}
		}
		struct http_range r[HTTP_RANGES_MAX];
		unsigned cnt;
		if (http_range_parse(in, n, length, r, &cnt) != HTTP_RANGE_SATISFIABLE)
			continue;
		uint64_t total = 0;
		assert_true(cnt >= 1 && cnt <= HTTP_RANGES_MAX);
		for (unsigned k = 0; k < cnt; k++) {
			assert_true(r[k].first <= r[k].last && r[k].last < length);
			if (k)
				assert_true(r[k].first > r[k - 1].last + 1);
			total += r[k].last - r[k].first + 1;
		}
		assert_true(total <= length);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_invariants),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
