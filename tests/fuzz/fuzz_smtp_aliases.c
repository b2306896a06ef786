/*
 * libFuzzer target for smtpd/aliases.c (`make fuzz` builds it with libsmtpd.a).
 *
 * Whatever the input, the parser either fails with a line number within the
 * input (or 0) and leaves nothing allocated, or gives entries whose keys
 * and targets are lower case addresses without whitespace or commas, each
 * key found again by smtp_aliases_find().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../smtpd/aliases.h"

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

static void check_word(const char *w, int catchall_ok)
{
	const char *at = strrchr(w, '@');
	CHECK(at && at[1]);
	CHECK(catchall_ok || at != w);
	for (const char *p = w; *p; p++)
		CHECK(!(*p >= 'A' && *p <= 'Z') && *p != ' ' && *p != '\t' && *p != ',' &&
		      *p != '\n' && *p != '\r');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_aliases a;
	unsigned line = 99;
	char err[256];
	size_t lines = 1;

	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	if (smtp_aliases_parse((const char *)data, size, &a, &line, err, sizeof(err)) < 0) {
		CHECK(line <= lines);
		CHECK(a.n == 0 && a.v == NULL);
		return 0;
	}
	for (size_t i = 0; i < a.n; i++) {
		check_word(a.v[i].addr, 1);
		CHECK(a.v[i].ntargets > 0);
		CHECK(smtp_aliases_find(&a, a.v[i].addr) == &a.v[i]);
		for (size_t j = 0; j < a.v[i].ntargets; j++)
			check_word(a.v[i].targets[j], 0);
	}
	smtp_aliases_free(&a);
	return 0;
}
