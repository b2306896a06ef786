/*
 * hostmap: an open-addressing hash of host names (triad/hostmap.h).
 * FNV-1a over the normalised name; linear probing in a table kept at most
 * half full, so a miss costs a probe or two. A slot is one 64-byte line:
 * hash, length, value and (up to HOSTMAP_INLINE bytes) the name, so a hit
 * touches one line of the table and nothing else. Names are compared by
 * hash, length and bytes, never by a scan over all sites.
 */
#include "triad/hostmap.h"

#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(struct hostmap_slot) == 64, "a hostmap slot is one cache line");

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

uint64_t hostmap_hash(const char *s, size_t n)
{
	uint64_t h = FNV_OFFSET;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= FNV_PRIME;
	}
	return h;
}

int hostmap_init(struct hostmap *m, size_t n)
{
	size_t cap = 8;

	while (cap < 2 * n + 2)
		cap *= 2;
	m->v = aligned_alloc(64, cap * sizeof(*m->v));
	if (m->v)
		memset(m->v, 0, cap * sizeof(*m->v));
	m->cap = m->v ? cap : 0;
	m->n = 0;
	return m->v ? 0 : -1;
}

static const char *slot_name(const struct hostmap_slot *e)
{
	const char *p;

	if (e->len <= HOSTMAP_INLINE)
		return e->name;
	memcpy(&p, e->name, sizeof(p));
	return p;
}

/* The slot holding S (N bytes, hash H), or the free one where it would go. */
static size_t probe(const struct hostmap *m, const char *s, size_t n, uint64_t h)
{
	size_t i = (size_t)h & (m->cap - 1);

	for (;; i = (i + 1) & (m->cap - 1)) {
		const struct hostmap_slot *e = &m->v[i];
		if (!e->len ||
		    (e->hash == (uint32_t)h && e->len == n && memcmp(slot_name(e), s, n) == 0))
			return i;
	}
}

/* Places E (a used slot of another table) into M, which has room. */
static void place(struct hostmap *m, const struct hostmap_slot *e)
{
	size_t i = e->hash & (m->cap - 1);

	while (m->v[i].len)
		i = (i + 1) & (m->cap - 1);
	m->v[i] = *e;
}

int hostmap_add(struct hostmap *m, const char *name, int value)
{
	size_t n = strlen(name), i;
	uint64_t h = hostmap_hash(name, n);

	if (n == 0 || n > UINT16_MAX)
		return -1;
	if (2 * (m->n + 1) > m->cap) {
		struct hostmap bigger;
		if (hostmap_init(&bigger, m->cap) < 0)
			return -1;
		/* the home index uses the hash's low bits, which the slot keeps */
		for (size_t j = 0; j < m->cap; j++)
			if (m->v[j].len)
				place(&bigger, &m->v[j]);
		bigger.n = m->n;
		free(m->v);
		*m = bigger;
	}
	i = probe(m, name, n, h);
	if (m->v[i].len)
		return 1;
	struct hostmap_slot *e = &m->v[i];
	e->hash = (uint32_t)h;
	e->len = (uint16_t)n;
	e->value = value;
	if (n <= HOSTMAP_INLINE)
		memcpy(e->name, name, n);
	else
		memcpy(e->name, &name, sizeof(name));
	m->n++;
	return 0;
}

int hostmap_get_hashed(const struct hostmap *m, const char *key, size_t keylen, uint64_t hash)
{
	if (!m->cap || keylen == 0 || keylen > UINT16_MAX)
		return -1;
	const struct hostmap_slot *e = &m->v[probe(m, key, keylen, hash)];
	return e->len ? e->value : -1;
}

int hostmap_get(const struct hostmap *m, const char *key, size_t keylen)
{
	return hostmap_get_hashed(m, key, keylen, hostmap_hash(key, keylen));
}

void hostmap_free(struct hostmap *m)
{
	free(m->v);
	m->v = NULL;
	m->cap = m->n = 0;
}

size_t hostmap_key(const char *in, size_t len, char *out, size_t cap, uint64_t *hash)
{
	size_t n = len;
	uint64_t h = FNV_OFFSET;

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
		unsigned char ch = (unsigned char)in[i];
		ch = (ch >= 'A' && ch <= 'Z') ? (unsigned char)(ch + ('a' - 'A')) : ch;
		out[i] = (char)ch;
		h = (h ^ ch) * FNV_PRIME;
	}
	out[n] = '\0';
	if (hash)
		*hash = h;
	return n;
}
