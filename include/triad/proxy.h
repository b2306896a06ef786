/*
 * proxy: the PROXY protocol header, versions 1 (text) and 2 (binary), as
 * HAProxy's doc/proxy-protocol.txt specifies it. A pure parser: bytes in,
 * a verdict and the carried addresses out; no I/O, no logging.
 *
 * It is fed the first bytes of a connection from a trusted source (the
 * `proxy_protocol` key) and says how long the header is, so the caller can
 * read exactly that much and leave the rest (an HTTP request, a TLS
 * ClientHello) in the socket for the protocol.
 */
#ifndef TRIAD_PROXY_H
#define TRIAD_PROXY_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "triad/limits.h"

#define PROXY_V1_MAX 107 /* §2.1: the longest line, CRLF included */
#define PROXY_V2_HEAD 16 /* §2.2: signature, ver_cmd, fam, len */
/* The longest v2 header taken: TRIAD_PROXY_V2_MAX (triad/limits.h). */
#define PROXY_V2_MAX TRIAD_PROXY_V2_MAX
#define PROXY_HEADER_MAX PROXY_V2_MAX

union proxy_addr {
	struct sockaddr sa;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
};

struct proxy_header {
	int version;            /* 1 or 2 */
	bool proxied;           /* false: v2 LOCAL, v1 UNKNOWN, or an address family
	                           not carried (UNSPEC, AF_UNIX, DGRAM): keep the real endpoints */
	union proxy_addr src;   /* the client, when proxied */
	union proxy_addr dst;   /* the address it connected to, when proxied */
	socklen_t addr_len;     /* of src and dst */
};

/*
 * Parses the LEN bytes at BUF, the start of a connection. Returns the
 * header's length (> 0) when a complete and valid header is there (OUT
 * filled), 0 when more bytes are needed, -1 when it is not a valid header
 * (or would pass PROXY_V1_MAX / PROXY_V2_MAX).
 */
int proxy_parse(const uint8_t *buf, size_t len, struct proxy_header *out);

#endif
