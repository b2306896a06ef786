/*
 * net: CIDR parsing and matching (see net.h).
 */
#include "triad/net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool net_addr16(const struct sockaddr *sa, uint8_t out[16])
{
	if (sa->sa_family == AF_INET) {
		memcpy(out, v4mapped, 12);
		memcpy(out + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		return true;
	}
	return false;
}

/* Whether the bits of A past the first BITS are all zero. */
static bool host_bits_clear(const uint8_t a[16], unsigned bits)
{
	for (unsigned i = bits; i < 128; i++)
		if (a[i / 8] & (0x80u >> (i % 8)))
			return false;
	return true;
}

static bool prefix_equal(const uint8_t a[16], const uint8_t b[16], unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;
	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff00u >> rest);
	return (a[whole] & mask) == (b[whole] & mask);
}

int net_parse_cidr(const char *s, struct net_cidr *out)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t hlen = slash ? (size_t)(slash - s) : strlen(s);
	if (hlen == 0 || hlen >= sizeof(host))
		return -1;
	memcpy(host, s, hlen);
	host[hlen] = '\0';

	struct net_cidr n;
	unsigned max, offset;
	struct in_addr a4;
	if (inet_pton(AF_INET, host, &a4) == 1) {
		memcpy(n.addr, v4mapped, 12);
		memcpy(n.addr + 12, &a4, 4);
		max = 32;
		offset = 96;
	} else if (inet_pton(AF_INET6, host, n.addr) == 1) {
		max = 128;
		offset = 0;
	} else {
		return -1;
	}
	unsigned len = max;
	if (slash) {
		const char *p = slash + 1;
		/* One to three digits, no sign, no spaces: strtoul would take "+8" and " 8". */
		size_t nd = strspn(p, "0123456789");
		if (nd == 0 || nd > 3 || p[nd] != '\0')
			return -1;
		len = (unsigned)strtoul(p, NULL, 10);
		if (len > max)
			return -1;
	}
	n.bits = (uint8_t)(offset + len);
	if (!host_bits_clear(n.addr, n.bits))
		return -1;
	*out = n;
	return 0;
}

bool net_match(const struct net_cidr *nets, size_t n, const struct sockaddr *sa)
{
	uint8_t a[16];
	if (n == 0 || !net_addr16(sa, a))
		return false;
	for (size_t i = 0; i < n; i++)
		if (prefix_equal(a, nets[i].addr, nets[i].bits))
			return true;
	return false;
}
