/*
 * hostmap: host name -> small integer, for choosing a site by HTTP Host or
 * TLS SNI on every request at the cost of one hash probe whatever the number
 * of sites (interface.md, "Sites"). Keys are host names as a site lists
 * them: lower case, no port, no trailing dot. Lookups normalise what a client
 * sent (any case, ":port", one trailing dot) with hostmap_key().
 * Built once per configuration generation, then read-only: safe to read from
 * every worker thread.
 */
#ifndef TRIAD_HOSTMAP_H
#define TRIAD_HOSTMAP_H

#include <stddef.h>
#include <stdint.h>

struct hostmap_slot {
	const char *name;            /* not owned: the configuration's string */
	size_t len;
	uint64_t hash;
	int value;
};

struct hostmap {
	struct hostmap_slot *v;      /* open addressing, power-of-two size, half full at most */
	size_t cap, n;
};

/* Room for N names. 0, or -1 when out of memory. */
int hostmap_init(struct hostmap *m, size_t n);
/* Adds NAME (lower case, kept by pointer). 0; 1 when NAME is already in (its value kept). */
int hostmap_add(struct hostmap *m, const char *name, int value);
/* The value of the normalised KEY (KEYLEN bytes), or -1. */
int hostmap_get(const struct hostmap *m, const char *key, size_t keylen);
void hostmap_free(struct hostmap *m);

/*
 * Normalises a Host field value or SNI name IN (LEN bytes) into OUT: lower
 * case, the port dropped ("a.example:8080", "[::1]:80" -> "a.example",
 * "[::1]"), one trailing dot dropped. Returns the key's length, or 0 when it
 * is empty or does not fit in CAP (no site can match it then).
 */
size_t hostmap_key(const char *in, size_t len, char *out, size_t cap);

#endif
