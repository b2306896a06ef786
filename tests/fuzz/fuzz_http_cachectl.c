/*
 * libFuzzer target for httpd/cachectl.c: the cache_control rules
 * ("PATTERN=VALUE ...") and matching a request path against them. Built by
 * `make fuzz`, run by `make fuzz-run` (see tests/fuzz/README.md).
 *
 * Input: the rule string, then optionally a NUL and a request path. Checked
 * beyond "no crash": an error leaves no rules and a NUL-terminated message;
 * accepted rules have a non-empty pattern without '=' and a non-empty value
 * of visible ASCII without '"' or '\' (it goes into a header line verbatim);
 * writing the rules back out and parsing again gives the same rules; a match
 * is one of the values.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "triad/cachectl.h"

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

static void check_value(const char *v)
{
	CHECK(*v != '\0');
	for (; *v; v++)
		CHECK(*v > ' ' && *v < 0x7f && *v != '"' && *v != '\\');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *rules = malloc(size + 1);
	if (!rules)
		return 0;
	memcpy(rules, data, size);
	rules[size] = '\0';
	size_t rlen = strlen(rules);
	const char *path = rlen < size ? rules + rlen + 1 : "/index.html";

	struct http_cachectl cc;
	char err[256];
	memset(err, 'x', sizeof(err));
	if (http_cachectl_parse(rules, &cc, err, sizeof(err)) != 0) {
		CHECK(memchr(err, '\0', sizeof(err)) != NULL);
		CHECK(cc.n == 0 && cc.store == NULL);
		free(rules);
		return 0;
	}
	CHECK(cc.n <= HTTP_CACHECTL_RULES_MAX);
	/* Longest rewrite: every rule plus a separator; never longer than the input. */
	char *again = malloc(rlen + 2);
	size_t at = 0;
	CHECK(again != NULL);
	for (size_t i = 0; i < cc.n; i++) {
		CHECK(cc.pattern[i][0] != '\0' && strchr(cc.pattern[i], '=') == NULL);
		CHECK(strchr(cc.pattern[i], ' ') == NULL && strchr(cc.pattern[i], '\t') == NULL);
		check_value(cc.value[i]);
		size_t pl = strlen(cc.pattern[i]), vl = strlen(cc.value[i]);
		CHECK(at + pl + 1 + vl + 1 <= rlen + 1);
		memcpy(again + at, cc.pattern[i], pl);
		again[at + pl] = '=';
		memcpy(again + at + pl + 1, cc.value[i], vl);
		at += pl + 1 + vl;
		again[at++] = ' ';
	}
	again[at] = '\0';
	struct http_cachectl cc2;
	CHECK(http_cachectl_parse(again, &cc2, err, sizeof(err)) == 0);
	CHECK(cc2.n == cc.n);
	for (size_t i = 0; i < cc.n; i++)
		CHECK(strcmp(cc.pattern[i], cc2.pattern[i]) == 0 &&
		      strcmp(cc.value[i], cc2.value[i]) == 0);

	const char *v = http_cachectl_match(&cc, path);
	if (v) {
		bool found = false;
		for (size_t i = 0; i < cc.n; i++)
			found |= v == cc.value[i];
		CHECK(found);
	}
	http_cachectl_free(&cc);
	http_cachectl_free(&cc2);
	CHECK(cc.n == 0 && cc.store == NULL);
	free(again);
	free(rules);
	return 0;
}
