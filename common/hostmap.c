/*
 * hostmap: an open-addressing hash of host names (triad/hostmap.h).
 * FNV-1a over the normalised name; linear probing in a table kept at most
 * half full, so a miss costs a probe or two. Names are compared by length
 * and bytes after the hash, never by a scan over all sites.
 */
#include "triad/hostmap.h"

#include <stdlib.h>
#include <string.h>

static uint64_t hash_name(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

int hostmap_init(struct hostmap *m, size_t n)
{
	size_t cap = 8;

	while (cap < 2 * n + 2)
		cap *= 2;
	m->v = calloc(cap, sizeof(*m->v));
	m->cap = m->v ? cap : 0;
	m->n = 0;
	return m->v ? 0 : -1;
}

static size_t probe(const struct hostmap *m, const char *s, size_t n, uint64_t h)
{
	size_t i = (size_t)h & (m->cap - 1);

	while (m->v[i].name &&
	       !(m->v[i].hash == h && m->v[i].len == n && memcmp(m->v[i].name, s, n) == 0))
		i = (i + 1) & (m->cap - 1);
	return i;
}

int hostmap_add(struct hostmap *m, const char *name, int value)
{
	size_t n = strlen(name), i;
	uint64_t h = hash_name(name, n);

	if (2 * (m->n + 1) > m->cap) {
		struct hostmap bigger;
		if (hostmap_init(&bigger, m->cap) < 0)
			return -1;
		for (size_t j = 0; j < m->cap; j++) {
			if (m->v[j].name) {
				size_t k = probe(&bigger, m->v[j].name, m->v[j].len, m->v[j].hash);
				bigger.v[k] = m->v[j];
			}
		}
		bigger.n = m->n;
		free(m->v);
		*m = bigger;
	}
	i = probe(m, name, n, h);
	if (m->v[i].name)
		return 1;
	m->v[i] = (struct hostmap_slot){name, n, h, value};
	m->n++;
	return 0;
}

int hostmap_get(const struct hostmap *m, const char *key, size_t keylen)
{
	size_t i;

	if (!m->cap || keylen == 0)
		return -1;
	i = probe(m, key, keylen, hash_name(key, keylen));
	return m->v[i].name ? m->v[i].value : -1;
}

void hostmap_free(struct hostmap *m)
{
	free(m->v);
	m->v = NULL;
	m->cap = m->n = 0;
}

size_t hostmap_key(const char *in, size_t len, char *out, size_t cap)
{
	size_t n = len;

	if (len && in[0] == '[') {
		const char *close = memchr(in, ']', len);
		if (!close)
			return 0;
		n = (size_t)(close - in) + 1;
	} else {
		const char *colon = memchr(in, ':', len);
		if (colon)
			n = (size_t)(colon - in);
		if (n && in[n - 1] == '.')
			n--;
	}
	if (n == 0 || n >= cap)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = in[i];
		out[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + ('a' - 'A')) : ch;
	}
	out[n] = '\0';
	return n;
}
