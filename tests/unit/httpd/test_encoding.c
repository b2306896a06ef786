/*
 * Unit tests for httpd/encoding.c: Accept-Encoding q-values (RFC 9110
 * §12.5.3) and the order in which precompressed siblings are tried.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../../httpd/encoding.h"

struct row {
	int line;
	const char *in; /* one field line; "|" separates several lines */
	int valid;
	int br, zstd, gzip, identity;
	const char *order; /* acceptable codings, '/', the others: "br,gzip/zstd" */
};

#define R(in, valid, br, zstd, gzip, id, order) {__LINE__, in, valid, br, zstd, gzip, id, order}

/* clang-format off */
static const struct row rows[] = {
	R("", 1, 0, 0, 0, 1000, "/br,zstd,gzip"),
	R("gzip", 1, 0, 0, 1000, 1000, "gzip/br,zstd"),
	R("x-gzip", 1, 0, 0, 1000, 1000, "gzip/br,zstd"),
	R("GZIP", 1, 0, 0, 1000, 1000, "gzip/br,zstd"),
	R("gzip, deflate, br, zstd", 1, 1000, 1000, 1000, 1000, "br,zstd,gzip/"),
	R("gzip, br;q=0.5", 1, 500, 0, 1000, 1000, "gzip,br/zstd"),
	R("gzip;q=0.8, br;q=0.9, zstd;q=0.95", 1, 900, 950, 800, 1000, "zstd,br,gzip/"),
	R("br;q=0.1, gzip;q=0.9", 1, 100, 0, 900, 1000, "gzip,br/zstd"),
	R("gzip;q=0.5, identity", 1, 0, 0, 500, 1000, "/br,zstd,gzip"),
	R("gzip;q=0.5, *;q=0.6", 1, 600, 600, 500, 600, "br,zstd/gzip"),
	R("gzip;q=0.8, br;q=0.9, zstd;q=0.95, identity;q=0.5", 1, 900, 950, 800, 500,
	  "zstd,br,gzip/"),
	R("*", 1, 1000, 1000, 1000, 1000, "br,zstd,gzip/"),
	R("*;q=0.5, gzip", 1, 500, 500, 1000, 500, "gzip,br,zstd/"),
	R("br;q=0", 1, 0, 0, 0, 1000, "/br,zstd,gzip"),
	R("gzip;q=0, *", 1, 1000, 1000, 0, 1000, "br,zstd/gzip"),
	R("identity;q=0, gzip;q=0.001", 1, 0, 0, 1, 0, "gzip/br,zstd"),
	R("gzip ; q=1.000", 1, 0, 0, 1000, 1000, "gzip/br,zstd"),
	R("gzip;Q=0.5,identity;q=0.4", 1, 0, 0, 500, 400, "gzip/br,zstd"),
	R("gzip;q=0.3,identity;q=0.4", 1, 0, 0, 300, 400, "/br,zstd,gzip"),
	R("gzip;q=1, gzip;q=0", 1, 0, 0, 0, 1000, "/br,zstd,gzip"),
	R(" , gzip ,, ", 1, 0, 0, 1000, 1000, "gzip/br,zstd"),
	R("gzip|br", 1, 1000, 0, 1000, 1000, "br,gzip/zstd"),
	/* invalid: identity only */
	R("gzip;q=1.5", 0, 0, 0, 0, 1000, "/br,zstd,gzip"),
	R("gzip;q=1.01", 0, 0, 0, 0, 1000, "/br,zstd,gzip"),
	R("gzip;q=0.0001", 0, 0, 0, 0, 1000, "/br,zstd,gzip"),
	R("gzip;q=", 0, 0, 0, 0, 1000, "/br,zstd,gzip"),
	R("gzip;level=9", 0, 0, 0, 0, 1000, "/br,zstd,gzip"),
	R("gzip q=1", 0, 0, 0, 0, 1000, "/br,zstd,gzip"),
	R("gz(ip)", 0, 0, 0, 0, 1000, "/br,zstd,gzip"),
	R(";q=1", 0, 0, 0, 0, 1000, "/br,zstd,gzip"),
};
/* clang-format on */

static void test_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct http_list l = {0};
		const char *p = r->in;
		for (;;) {
			const char *bar = strchr(p, '|');
			size_t n = bar ? (size_t)(bar - p) : strlen(p);
			l.v[l.n].p = p;
			l.v[l.n].len = n;
			l.n++;
			if (!bar)
				break;
			p = bar + 1;
		}
		struct http_ae ae;
		bool ok = http_accept_encoding(&l, &ae);
		enum http_coding order[HTTP_CODING_N];
		unsigned n = http_encoding_rank(&ae, order);
		char got[32] = "";
		for (unsigned k = 0; k < HTTP_CODING_N; k++) {
			if (k && k != n)
				strcat(got, ",");
			if (k == n)
				strcat(got, "/");
			strcat(got, http_coding_name(order[k]));
		}
		if (n == HTTP_CODING_N)
			strcat(got, "/");
		if (ok != (bool)r->valid || ae.q[HTTP_CODING_BR] != r->br ||
		    ae.q[HTTP_CODING_ZSTD] != r->zstd || ae.q[HTTP_CODING_GZIP] != r->gzip ||
		    ae.identity != r->identity || strcmp(got, r->order) != 0)
			fail_msg("line %d: \"%s\": valid=%d br=%d zstd=%d gzip=%d identity=%d order=%s",
			         r->line, r->in, ok, ae.q[HTTP_CODING_BR], ae.q[HTTP_CODING_ZSTD],
			         ae.q[HTTP_CODING_GZIP], ae.identity, got);
	}
}

static void test_absent(void **state)
{
	(void)state;
	struct http_ae ae;
	assert_true(http_accept_encoding(NULL, &ae));
	enum http_coding order[HTTP_CODING_N];
	assert_int_equal(http_encoding_rank(&ae, order), 0);
	/* No field: nothing is acceptable, but every sibling is still listed (Vary). */
	assert_int_equal(order[0], HTTP_CODING_BR);
	assert_int_equal(order[1], HTTP_CODING_ZSTD);
	assert_int_equal(order[2], HTTP_CODING_GZIP);
	assert_string_equal(http_coding_suffix(HTTP_CODING_ZSTD), ".zst");
	assert_string_equal(http_coding_name(HTTP_CODING_ZSTD), "zstd");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_absent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
