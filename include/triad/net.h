/*
 * net: IP networks (CIDR) for the keys that name sources, `limits_exempt`
 * and `proxy_protocol`. Pure: parsing and matching, no I/O.
 *
 * An address is compared as 16 bytes: IPv4 in its v4-mapped IPv6 form
 * (::ffff:a.b.c.d), so "127.0.0.0/8" also matches a v4-mapped peer on a
 * dual-stack socket, and one network type covers both families.
 */
#ifndef TRIAD_NET_H
#define TRIAD_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct net_cidr {
	uint8_t addr[16]; /* host bits cleared */
	uint8_t bits;     /* prefix length over the 16 bytes: IPv4 /n is 96 + n */
};

/*
 * "192.0.2.1", "10.0.0.0/8", "::1", "2001:db8::/32" (no brackets, no port).
 * A bare address is a host (/32, /128). Host bits set below the prefix are
 * an error ("10.0.0.1/8" is a typo more often than not). 0 or -1.
 */
int net_parse_cidr(const char *s, struct net_cidr *out);

/* SA's address as 16 bytes (IPv4 v4-mapped); false when SA is not IP. */
bool net_addr16(const struct sockaddr *sa, uint8_t out[16]);

/* Whether SA is inside one of the N networks. */
bool net_match(const struct net_cidr *nets, size_t n, const struct sockaddr *sa);

#endif
