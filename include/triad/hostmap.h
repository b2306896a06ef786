/*
 * hostmap: host name -> small integer, for choosing a site by HTTP Host or
 * TLS SNI on every request at the cost of one hash probe whatever the number
 * of sites (interface.md, "Sites"). Keys are host names as a site lists
 * them: lower case, no port, no trailing dot. Lookups normalise what a client
 * sent (any case, ":port", one trailing dot) with hostmap_key(), which also
 * gives the hash, so a request hashes its Host once.
 * Built once per configuration generation, then read-only: safe to read from
 * every worker thread.
 *
 * Each slot is one cache line holding the name itself when it fits
 * (HOSTMAP_INLINE bytes, every realistic host name): a probe compares the
 * name in the line it already loaded, with no pointer to follow into the
 * configuration's strings (with 10,000 sites those are cold; issue 12).
 */
#ifndef TRIAD_HOSTMAP_H
#define TRIAD_HOSTMAP_H

#include <stddef.h>
#include <stdint.h>

#define HOSTMAP_INLINE 52 /* names up to this long live in their slot */

struct hostmap_slot {
	uint32_t hash;               /* the name's hash, low 32 bits */
	uint16_t len;                /* 0: free (names are never empty) */
	uint16_t spare;
	int32_t value;
	/* len <= HOSTMAP_INLINE: the name's bytes; longer: a pointer to the
	 * caller's string (not owned), stored in the first bytes. */
	char name[HOSTMAP_INLINE];
};

struct hostmap {
	struct hostmap_slot *v;      /* open addressing, power-of-two size, half full at most */
	size_t cap, n;
};

/* Room for N names. 0, or -1 when out of memory. */
int hostmap_init(struct hostmap *m, size_t n);
/* Adds NAME (lower case; a name longer than HOSTMAP_INLINE is kept by
 * pointer). 0; 1 when NAME is already in (its value kept); -1 when out of
 * memory or NAME is empty or longer than 65,535 bytes. */
int hostmap_add(struct hostmap *m, const char *name, int value);
/* The value of the normalised KEY (KEYLEN bytes), or -1. */
int hostmap_get(const struct hostmap *m, const char *key, size_t keylen);
/* The same with KEY's hash already known (hostmap_key's or hostmap_hash's). */
int hostmap_get_hashed(const struct hostmap *m, const char *key, size_t keylen, uint64_t hash);
void hostmap_free(struct hostmap *m);

/* The hash hostmap keys by (FNV-1a, 64 bits). */
uint64_t hostmap_hash(const char *s, size_t n);

/*
 * Normalises a Host field value or SNI name IN (LEN bytes) into OUT: lower
 * case, the port dropped ("a.example:8080", "[::1]:80" -> "a.example",
 * "[::1]"), one trailing dot dropped. Returns the key's length, or 0 when it
 * is empty or does not fit in CAP (no site can match it then). HASH, unless
 * NULL, gets hostmap_hash of the key (computed in the same pass).
 */
size_t hostmap_key(const char *in, size_t len, char *out, size_t cap, uint64_t *hash);

#endif
