/*
 * httpd/encoding.c: Accept-Encoding q-values and the precompressed choice
 * (encoding.h).
 */
#include "encoding.h"

#include <stddef.h>

enum { Q_UNSET = -1, K_OTHER = -1, K_IDENTITY = HTTP_CODING_N, K_STAR, K_N };

static int keyword(const char *s, size_t n)
{
	if (http_eq_ci(s, n, "br"))
		return HTTP_CODING_BR;
	if (http_eq_ci(s, n, "zstd"))
		return HTTP_CODING_ZSTD;
	if (http_eq_ci(s, n, "gzip") || http_eq_ci(s, n, "x-gzip"))
		return HTTP_CODING_GZIP;
	if (http_eq_ci(s, n, "identity"))
		return K_IDENTITY;
	if (n == 1 && s[0] == '*')
		return K_STAR;
	return K_OTHER;
}

static bool ows(char c)
{
	return c == ' ' || c == '\t';
}

/* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), as 0..1000. */
static bool qvalue(const char *s, size_t n, int *q)
{
	if (n == 0 || (s[0] != '0' && s[0] != '1'))
		return false;
	int v = (s[0] - '0') * 1000;
	if (n == 1)
		return *q = v, true;
	if (s[1] != '.' || n > 5)
		return false;
	int scale = 100;
	for (size_t i = 2; i < n; i++, scale /= 10) {
		if (s[i] < '0' || s[i] > '9' || (v == 1000 && s[i] != '0'))
			return false;
		v += (s[i] - '0') * scale;
	}
	return *q = v, true;
}

/* One list element "coding [ ; q=x ]" (trimmed, non-empty). */
static bool element(const char *s, size_t n, int qs[K_N])
{
	size_t i = 0;
	while (i < n && http_is_tchar((unsigned char)s[i]))
		i++;
	if (i == 0)
		return false;
	int k = keyword(s, i);
	int q = 1000;
	size_t j = i;
	while (j < n && ows(s[j]))
		j++;
	if (j < n) {
		if (s[j] != ';')
			return false;
		j++;
		while (j < n && ows(s[j]))
			j++;
		if (n - j < 2 || (s[j] != 'q' && s[j] != 'Q') || s[j + 1] != '=')
			return false;
		if (!qvalue(s + j + 2, n - j - 2, &q))
			return false;
	}
	if (k != K_OTHER && (qs[k] == Q_UNSET || q < qs[k]))
		qs[k] = q;
	return true;
}

bool http_accept_encoding(const struct http_list *l, struct http_ae *out)
{
	int qs[K_N];
	for (int k = 0; k < K_N; k++)
		qs[k] = Q_UNSET;
	for (unsigned li = 0; l && li < l->n; li++) {
		const char *s = l->v[li].p;
		size_t n = l->v[li].len, i = 0;
		while (i <= n) {
			size_t start = i;
			bool quoted = false;
			while (i < n && (s[i] != ',' || quoted)) {
				if (s[i] == '"')
					quoted = !quoted;
				i++;
			}
			size_t a = start, b = i;
			while (a < b && ows(s[a]))
				a++;
			while (b > a && ows(s[b - 1]))
				b--;
			if (b > a && !element(s + a, b - a, qs))
				goto invalid;
			i++;
		}
	}
	for (int c = 0; c < HTTP_CODING_N; c++)
		out->q[c] = qs[c] != Q_UNSET ? qs[c] : qs[K_STAR] != Q_UNSET ? qs[K_STAR] : 0;
	out->identity = qs[K_IDENTITY] != Q_UNSET ? qs[K_IDENTITY]
	                : qs[K_STAR] != Q_UNSET   ? qs[K_STAR]
	                                          : 1000;
	out->identity_weighed = qs[K_IDENTITY] != Q_UNSET || qs[K_STAR] != Q_UNSET;
	return true;
invalid:
	for (int c = 0; c < HTTP_CODING_N; c++)
		out->q[c] = 0;
	out->identity = 1000;
	out->identity_weighed = false;
	return false;
}

unsigned http_encoding_rank(const struct http_ae *ae, enum http_coding order[HTTP_CODING_N])
{
	bool ok[HTTP_CODING_N];
	unsigned n = 0;
	for (int c = 0; c < HTTP_CODING_N; c++) {
		ok[c] = ae->q[c] > 0 && (!ae->identity_weighed || ae->q[c] >= ae->identity);
		if (ok[c])
			order[n++] = (enum http_coding)c;
	}
	unsigned rest = n;
	for (int c = 0; c < HTTP_CODING_N; c++)
		if (!ok[c])
			order[rest++] = (enum http_coding)c;
	/* Stable insertion sort by q, descending: equal q keeps br > zstd > gzip. */
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j > 0 && ae->q[order[j]] > ae->q[order[j - 1]]; j--) {
			enum http_coding t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	return n;
}

const char *http_coding_name(enum http_coding c)
{
	static const char *const names[] = {"br", "zstd", "gzip"};
	return names[c];
}

const char *http_coding_suffix(enum http_coding c)
{
	static const char *const suffixes[] = {".br", ".zst", ".gz"};
	return suffixes[c];
}
