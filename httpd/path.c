/*
 * httpd/path.c: request path normalisation (contract and policy in path.h).
 *
 * One pass over the input: each segment is percent-decoded straight into
 * the output after the segments kept so far, validated (bytes, UTF-8), and
 * then kept, dropped (".") or used to pop the previous one ("..").
 */
#include "path.h"
#include "triad/strlit.h"

#include <string.h>

#include "slice.h"

static int fail(struct http_path *res, int status, const char *reason)
{
	res->len = 0;
	res->reason = reason;
	return status;
}

/* A strict UTF-8 checker (RFC 3629 §4): no overlongs, surrogates or > U+10FFFF. */
struct utf8 {
	unsigned need;
	unsigned char lo, hi;
};

static bool utf8_step(struct utf8 *u, unsigned char c)
{
	if (u->need) {
		if (c < u->lo || c > u->hi)
			return false;
		u->need--;
		u->lo = 0x80;
		u->hi = 0xbf;
		return true;
	}
	u->lo = 0x80;
	u->hi = 0xbf;
	if (c < 0x80)
		return true;
	if (c < 0xc2) /* continuation byte, or overlong C0/C1 */
		return false;
	if (c < 0xe0) {
		u->need = 1;
	} else if (c < 0xf0) {
		u->need = 2;
		if (c == 0xe0)
			u->lo = 0xa0; /* overlong */
		else if (c == 0xed)
			u->hi = 0x9f; /* surrogates */
	} else if (c < 0xf5) {
		u->need = 3;
		if (c == 0xf0)
			u->lo = 0x90; /* overlong */
		else if (c == 0xf4)
			u->hi = 0x8f; /* > U+10FFFF */
	} else {
		return false;
	}
	return true;
}

bool http_path_hidden(const char *p, size_t n)
{
	size_t i = 0;
	bool first = true;

	while (i < n) {
		size_t s = i;
		while (i < n && p[i] != '/')
			i++;
		if (p[s] == '.') {
			bool wk = first && i - s == 11 && memcmp(p + s, STRLIT(".well-known")) == 0;
			if (!wk)
				return true;
		}
		first = false;
		i++;
	}
	return false;
}

int http_path_normalize(const char *in, size_t inlen, char *out, size_t outsize,
                        struct http_path *res)
{
	size_t i = 0, olen = 0;
	bool trailing = true;

	*res = (struct http_path){0};
	if (outsize == 0)
		return fail(res, 414, "path too long");
	out[0] = '\0';
	if (inlen == 0 || in[0] != '/')
		return fail(res, 400, "path does not start with /");

	while (i < inlen) {
		if (in[i] == '/') {
			i++;
			trailing = true;
			continue;
		}
		size_t seg = olen ? olen + 1 : 0, w = seg, n = 0;
		struct utf8 u = {0, 0x80, 0xbf};
		unsigned char head[2] = {0, 0}; /* enough to tell "." and ".." */

		while (i < inlen && in[i] != '/') {
			unsigned char c = (unsigned char)in[i];
			if (c == '%') {
				int hi, lo;
				if (inlen - i < 3 || (hi = http_hexval((unsigned char)in[i + 1])) < 0 ||
				    (lo = http_hexval((unsigned char)in[i + 2])) < 0)
					return fail(res, 400, "invalid percent-encoding");
				c = (unsigned char)(hi * 16 + lo);
				i += 3;
				if (c == 0)
					return fail(res, 400, "encoded NUL in path");
				if (c < 0x20 || c == 0x7f)
					return fail(res, 400, "encoded control character in path");
				if (c == '/')
					return fail(res, 404, "encoded slash in path");
				if (c == '\\')
					return fail(res, 404, "encoded backslash in path");
			} else {
				if (c <= 0x20 || c >= 0x7f || c == '?' || c == '#')
					return fail(res, 400, "invalid character in path");
				if (c == '\\')
					return fail(res, 400, "backslash in path");
				i++;
			}
			if (!utf8_step(&u, c))
				return fail(res, 400, "invalid UTF-8 in path");
			if (n < 2)
				head[n] = c;
			n++;
			/* Room for the byte and the final NUL; a dot segment needs none. */
			if (w + 1 < outsize)
				out[w++] = (char)c;
		}
		if (u.need)
			return fail(res, 400, "invalid UTF-8 in path");

		trailing = false;
		if (n == 1 && head[0] == '.') {
			trailing = true;
			continue;
		}
		if (n == 2 && head[0] == '.' && head[1] == '.') {
			if (olen == 0)
				return fail(res, 400, "path above the root");
			while (olen > 0 && out[olen - 1] != '/')
				olen--;
			if (olen > 0)
				olen--; /* the '/' before the popped segment */
			trailing = true;
			continue;
		}
		if (w - seg != n)
			return fail(res, 414, "path too long");
		if (seg > 0)
			out[olen] = '/';
		olen = w;
	}
	out[olen] = '\0';
	res->len = olen;
	res->trailing_slash = trailing;
	res->hidden = http_path_hidden(out, olen);
	return 0;
}
