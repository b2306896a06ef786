/*
 * httpd/slice.h: the (pointer, length) view every httpd parser hands out.
 *
 * A slice points into the caller's input buffer (zero copy); it is valid
 * only as long as that buffer is. An absent value has p == NULL; a present
 * but empty one has p != NULL and len == 0.
 *
 * The request parser stores byte offsets in `off` while a head is still
 * incomplete (so the caller may move or grow its buffer between calls) and
 * turns them into `p` when it returns HTTP_PARSE_OK. Everyone else only
 * ever reads `p`.
 */
#ifndef TRIAD_HTTPD_SLICE_H
#define TRIAD_HTTPD_SLICE_H

#include <stdbool.h>
#include <stddef.h>

#include "triad/limits.h"

struct http_slice {
	union {
		const char *p; /* valid once the producer is done */
		size_t off;    /* private to the request parser while it works */
	};
	size_t len;
};

/*
 * The field lines of one list-based field (RFC 9110 §5.3: a recipient may
 * combine them with ", "; we keep them apart to stay zero-copy). More than
 * HTTP_LIST_LINES_MAX lines of one field is refused by the parser.
 */
struct http_list {
	struct http_slice v[HTTP_LIST_LINES_MAX];
	unsigned n;
};

/* A hex digit's value (chunk sizes, %XX escapes), or -1. */
static inline int http_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static inline bool http_slice_present(struct http_slice s)
{
	return s.p != NULL;
}

/* ASCII case folding, independent of the locale (tokens are ASCII). */
static inline unsigned char http_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* clang-format off */
/* tchar (RFC 9110 §5.6.2): the characters of a token. */
static inline bool http_is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	switch (c) {
	case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
	case '-': case '.': case '^': case '_': case '`': case '|': case '~':
		return true;
	default:
		return false;
	}
}
/* clang-format on */

/* Case-insensitive ASCII comparison of (s, n) with a lower-case literal. */
static inline bool http_eq_ci(const char *s, size_t n, const char *lower)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (lower[i] == '\0' || http_lower((unsigned char)s[i]) != (unsigned char)lower[i])
			return false;
	return lower[i] == '\0';
}

#endif
