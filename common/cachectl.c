/*
 * cachectl: parse and match the cache_control rules (triad/cachectl.h).
 */
#include "triad/cachectl.h"

#include <fnmatch.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

int http_cachectl_parse(const char *s, struct http_cachectl *cc, char *err, size_t errlen)
{
	memset(cc, 0, sizeof(*cc));
	if (!s || !*s)
		return 0;
	if (!(cc->store = strdup(s))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	char *p = cc->store;
	for (;;) {
		while (is_space(*p))
			*p++ = '\0';
		if (!*p)
			return 0;
		char *rule = p;
		while (*p && !is_space(*p))
			p++;
		if (*p)
			*p++ = '\0';
		char *eq = strchr(rule, '=');
		if (!eq || eq == rule || !eq[1]) {
			snprintf(err, errlen, "rule \"%.64s\" is not PATTERN=VALUE", rule);
			goto fail;
		}
		*eq = '\0';
		for (const char *v = eq + 1; *v; v++) {
			unsigned char ch = (unsigned char)*v;
			if (ch <= ' ' || ch >= 0x7f || ch == '"' || ch == '\\') {
				snprintf(err, errlen,
				         "rule \"%.64s\": the value may hold only visible "
				         "ASCII without quotes or backslashes",
				         rule);
				goto fail;
			}
		}
		if (cc->n == HTTP_CACHECTL_RULES_MAX) {
			snprintf(err, errlen, "more than %d rules", HTTP_CACHECTL_RULES_MAX);
			goto fail;
		}
		cc->pattern[cc->n] = rule;
		cc->value[cc->n] = eq + 1;
		cc->n++;
	}
fail:
	http_cachectl_free(cc);
	return -1;
}

const char *http_cachectl_match(const struct http_cachectl *cc, const char *path)
{
	for (size_t i = 0; i < cc->n; i++)
		if (fnmatch(cc->pattern[i], path, 0) == 0)
			return cc->value[i];
	return NULL;
}

void http_cachectl_free(struct http_cachectl *cc)
{
	free(cc->store);
	memset(cc, 0, sizeof(*cc));
}
