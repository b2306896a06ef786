/*
 * cachectl: the cache_control rules of [httpd] and [site NAME] (RFC 9111 §5.2);
 * in common/ because every daemon checks every site's keys.
 *
 * Syntax: whitespace-separated rules "PATTERN=VALUE". PATTERN is an
 * fnmatch(3) glob matched against the request path with its leading '/'
 * ("*" also matches '/': "*.css" is every CSS file, "/assets/" then "*" a tree,
 * "/favicon.ico" one file). VALUE is the Cache-Control field value, written
 * without spaces ("public,max-age=86400,immutable"): visible ASCII only, no
 * '"' and no '\' (so it can never break the header block). The first rule
 * whose pattern matches wins; no match: no Cache-Control header.
 * Parsing is pure; an error says which rule is wrong.
 */
#ifndef TRIAD_CACHECTL_H
#define TRIAD_CACHECTL_H

#include <stddef.h>

#include "triad/limits.h"

struct http_cachectl {
	size_t n;
	char *pattern[HTTP_CACHECTL_RULES_MAX];
	char *value[HTTP_CACHECTL_RULES_MAX];
	char *store; /* one allocation holding every string */
};

/* S may be NULL (no rules). 0, or -1 with a message in err. */
int http_cachectl_parse(const char *s, struct http_cachectl *cc, char *err, size_t errlen);
/* The value for PATH ("/a/b.css", NUL-terminated), or NULL. */
const char *http_cachectl_match(const struct http_cachectl *cc, const char *path);
void http_cachectl_free(struct http_cachectl *cc);

#endif
