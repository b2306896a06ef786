/*
 * proxy: PROXY protocol v1/v2 parser (see proxy.h). Section numbers refer
 * to HAProxy's doc/proxy-protocol.txt.
 */
#include "triad/proxy.h"
#include "triad/strlit.h"

#include <arpa/inet.h>
#include <string.h>

static const uint8_t v2_sig[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
                                   0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};
static const char v1_sig[] = "PROXY ";

/* ---- version 1 (§2.1) ------------------------------------------------------ */

/* The next space-terminated token of [*p, end) into tok (at most cap-1 bytes). */
static bool token(const char **p, const char *end, char *tok, size_t cap, bool last)
{
	const char *s = *p, *e = s;
	while (e < end && *e != ' ')
		e++;
	if (e == s || (size_t)(e - s) >= cap || (last ? e != end : e == end))
		return false;
	memcpy(tok, s, (size_t)(e - s));
	tok[e - s] = '\0';
	*p = last ? e : e + 1;
	return true;
}

/* §2.1: decimal 0..65535, no leading zeros. */
static bool v1_port(const char *s, uint16_t *out)
{
	size_t n = strlen(s);
	if (n == 0 || n > 5 || strspn(s, "0123456789") != n || (s[0] == '0' && n > 1))
		return false;
	unsigned long v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (unsigned long)(s[i] - '0');
	if (v > 65535)
		return false;
	*out = (uint16_t)v;
	return true;
}

/* §2.1: four decimal numbers 0..255 without leading zeros (inet_pton agrees
 * on the range, the check below on the zeros: "010" must not read as 8 or 10). */
static bool v1_ipv4(const char *s, struct in_addr *a)
{
	for (const char *p = s; *p; p++)
		if ((p == s || p[-1] == '.') && p[0] == '0' && p[1] >= '0' && p[1] <= '9')
			return false;
	return strspn(s, "0123456789.") == strlen(s) && inet_pton(AF_INET, s, a) == 1;
}

static bool v1_ipv6(const char *s, struct in6_addr *a)
{
	return strspn(s, "0123456789abcdefABCDEF:.") == strlen(s) && inet_pton(AF_INET6, s, a) == 1;
}

static int parse_v1(const uint8_t *buf, size_t len, struct proxy_header *out)
{
	size_t n = len < PROXY_V1_MAX ? len : PROXY_V1_MAX;
	size_t sig = n < sizeof(v1_sig) - 1 ? n : sizeof(v1_sig) - 1;
	if (memcmp(buf, v1_sig, sig) != 0)
		return -1;
	/* §2.1: only CRLF ends the line, a lone CR or LF is an error. */
	size_t eol = 0;
	for (size_t i = 0; i < n && !eol; i++) {
		if (buf[i] == '\n')
			return -1;
		if (buf[i] == '\r') {
			if (i + 1 == n)
				return len > n ? -1 : 0;
			if (buf[i + 1] != '\n')
				return -1;
			eol = i;
		} else if (buf[i] < 0x20 || buf[i] > 0x7e) {
			return -1; /* US-ASCII text only */
		}
	}
	if (!eol)
		return n == PROXY_V1_MAX ? -1 : 0;

	const char *p = (const char *)buf + sizeof(v1_sig) - 1, *end = (const char *)buf + eol;
	char proto[8], src[46], dst[46], sport[6], dport[6];
	if (end - p >= 7 && memcmp(p, STRLIT("UNKNOWN")) == 0 && (end - p == 7 || p[7] == ' ')) {
		/* §2.1: the rest of the line is ignored; the real endpoints stand. */
		memset(out, 0, sizeof(*out));
		out->version = 1;
		return (int)eol + 2;
	}
	if (!token(&p, end, proto, sizeof(proto), false) || !token(&p, end, src, sizeof(src), false) ||
	    !token(&p, end, dst, sizeof(dst), false) ||
	    !token(&p, end, sport, sizeof(sport), false) ||
	    !token(&p, end, dport, sizeof(dport), true))
		return -1;
	struct proxy_header h;
	memset(&h, 0, sizeof(h));
	h.version = 1;
	h.proxied = true;
	uint16_t sp, dp;
	if (!v1_port(sport, &sp) || !v1_port(dport, &dp))
		return -1;
	if (strcmp(proto, "TCP4") == 0) {
		if (!v1_ipv4(src, &h.src.sin.sin_addr) || !v1_ipv4(dst, &h.dst.sin.sin_addr))
			return -1;
		h.src.sin.sin_family = h.dst.sin.sin_family = AF_INET;
		h.src.sin.sin_port = htons(sp);
		h.dst.sin.sin_port = htons(dp);
		h.addr_len = sizeof(struct sockaddr_in);
	} else if (strcmp(proto, "TCP6") == 0) {
		if (!v1_ipv6(src, &h.src.sin6.sin6_addr) || !v1_ipv6(dst, &h.dst.sin6.sin6_addr))
			return -1;
		h.src.sin6.sin6_family = h.dst.sin6.sin6_family = AF_INET6;
		h.src.sin6.sin6_port = htons(sp);
		h.dst.sin6.sin6_port = htons(dp);
		h.addr_len = sizeof(struct sockaddr_in6);
	} else {
		return -1;
	}
	*out = h;
	return (int)eol + 2;
}

/* ---- version 2 (§2.2) ------------------------------------------------------ */

/* CRC32c (Castagnoli, RFC 4960 Appendix B), bit by bit: a header is checked
 * once per connection and is at most PROXY_V2_MAX bytes, so a table or the
 * SSE4.2 instruction would buy nothing measurable. ZERO_AT, when not NULL, is
 * the 4-byte checksum field, hashed as zeros (§2.2.5). */
static uint32_t crc32c(const uint8_t *p, size_t n, const uint8_t *zero_at)
{
	uint32_t crc = 0xffffffffu;
	for (size_t i = 0; i < n; i++) {
		bool zeroed = zero_at != NULL && p + i >= zero_at && p + i < zero_at + 4;
		crc ^= zeroed ? 0 : p[i];
		for (int bit = 0; bit < 8; bit++)
			crc = crc >> 1 ^ (0x82f63b78u & (0u - (crc & 1u)));
	}
	return ~crc;
}

#define PP2_TYPE_CRC32C 0x03

/* The TLVs after the address block must tile it exactly (§2.2: type, 16-bit
 * length, value); a truncated one means a corrupt or forged header. A
 * PP2_TYPE_CRC32C TLV is 4 bytes and is returned in *CRC (at most one). */
static bool tlvs_ok(const uint8_t *p, size_t n, const uint8_t **crc)
{
	*crc = NULL;
	while (n > 0) {
		if (n < 3)
			return false;
		size_t vlen = (size_t)p[1] << 8 | p[2];
		if (vlen > n - 3)
			return false;
		if (p[0] == PP2_TYPE_CRC32C) {
			if (vlen != 4 || *crc != NULL)
				return false;
			*crc = p + 3;
		}
		p += 3 + vlen;
		n -= 3 + vlen;
	}
	return true;
}

/* §2.2.5: a receiver that supports the checksum "MUST treat the TCP
 * connection providing the header as invalid" when it does not match. The
 * sender stores it in network byte order (HAProxy's proxy-v2-options crc32c). */
static bool crc_ok(const uint8_t *header, size_t len, const uint8_t *crc)
{
	if (crc == NULL)
		return true;
	uint32_t want = (uint32_t)crc[0] << 24 | (uint32_t)crc[1] << 16 |
	                (uint32_t)crc[2] << 8 | crc[3];
	return crc32c(header, len, crc) == want;
}

static int parse_v2(const uint8_t *buf, size_t len, struct proxy_header *out)
{
	size_t sig = len < sizeof(v2_sig) ? len : sizeof(v2_sig);
	if (memcmp(buf, v2_sig, sig) != 0)
		return -1;
	if (len < PROXY_V2_HEAD)
		return len > sizeof(v2_sig) && (buf[12] & 0xf0) != 0x20 ? -1 : 0;
	unsigned version = buf[12] >> 4, cmd = buf[12] & 0x0f;
	unsigned family = buf[13] >> 4, transport = buf[13] & 0x0f;
	size_t body = (size_t)buf[14] << 8 | buf[15];
	/* §2.2: version 2 only; commands LOCAL and PROXY; families 0-3, transports 0-2. */
	if (version != 2 || cmd > 1 || family > 3 || transport > 2)
		return -1;
	if (PROXY_V2_HEAD + body > PROXY_V2_MAX)
		return -1;
	if (len < PROXY_V2_HEAD + body)
		return 0;
	const uint8_t *a = buf + PROXY_V2_HEAD;
	struct proxy_header h;
	memset(&h, 0, sizeof(h));
	h.version = 2;
	size_t used = 0;
	if (family == 1) { /* AF_INET: 4 + 4 + 2 + 2 */
		used = 12;
	} else if (family == 2) { /* AF_INET6: 16 + 16 + 2 + 2 */
		used = 36;
	} else if (family == 3) { /* AF_UNIX: 108 + 108 */
		used = 216;
	}
	if (body < used)
		return -1;
	const uint8_t *crc;
	if (!tlvs_ok(a + used, body - used, &crc) || !crc_ok(buf, PROXY_V2_HEAD + body, crc))
		return -1;
	/* LOCAL (health checks), UNSPEC, AF_UNIX and datagrams keep the real
	 * endpoints (§2.2: the receiver "must use the real connection endpoints"
	 * for LOCAL, and may for what it does not support). */
	if (cmd == 1 && transport == 1 && family == 1) {
		h.proxied = true;
		h.src.sin.sin_family = h.dst.sin.sin_family = AF_INET;
		memcpy(&h.src.sin.sin_addr, a, 4);
		memcpy(&h.dst.sin.sin_addr, a + 4, 4);
		memcpy(&h.src.sin.sin_port, a + 8, 2);
		memcpy(&h.dst.sin.sin_port, a + 10, 2);
		h.addr_len = sizeof(struct sockaddr_in);
	} else if (cmd == 1 && transport == 1 && family == 2) {
		h.proxied = true;
		h.src.sin6.sin6_family = h.dst.sin6.sin6_family = AF_INET6;
		memcpy(&h.src.sin6.sin6_addr, a, 16);
		memcpy(&h.dst.sin6.sin6_addr, a + 16, 16);
		memcpy(&h.src.sin6.sin6_port, a + 32, 2);
		memcpy(&h.dst.sin6.sin6_port, a + 34, 2);
		h.addr_len = sizeof(struct sockaddr_in6);
	}
	*out = h;
	return (int)(PROXY_V2_HEAD + body);
}

int proxy_parse(const uint8_t *buf, size_t len, struct proxy_header *out)
{
	if (len == 0)
		return 0;
	/* The first byte tells the versions apart: 'P' or CR (§2.2 "Identifying"). */
	if (buf[0] == 'P')
		return parse_v1(buf, len, out);
	if (buf[0] == 0x0d)
		return parse_v2(buf, len, out);
	return -1;
}
