/*
 * addr: who "one client" is, in one function with one meaning, for the
 * per-IP connection limits (conn.c), login throttling (auth.c) and the FTP
 * data connection's peer check (ftpd/dataconn.c):
 *   - IPv4: the address;
 *   - IPv4-mapped IPv6 (::ffff:a.b.c.d, a dual-stack socket): the IPv4
 *     address it carries, the same key as plain IPv4;
 *   - native IPv6: its /64. One host (or one site) is given a whole /64
 *     and picks interface identifiers at will (RFC 4941 temporary
 *     addresses, or on purpose), so keying the full address would let it
 *     take every connection slot, dodge the login throttle, or fail the FTP
 *     data check when its address rotates.
 * Keys are ADDR_KEY_LEN bytes (IPv4 as ::ffff:a.b.c.d, a /64 followed by
 * zeros) and compare with memcmp. Pure: no I/O.
 */
#ifndef TRIAD_ADDR_H
#define TRIAD_ADDR_H

#include <stdbool.h>
#include <sys/socket.h>

#define ADDR_KEY_LEN 16

/* The key of SA (AF_INET or AF_INET6; any other family keys as all zeros). */
void addr_key(const struct sockaddr *sa, unsigned char key[ADDR_KEY_LEN]);

/* The key of the numeric address TEXT ("192.0.2.1", "2001:db8::1",
 * "::ffff:192.0.2.1"). False, KEY untouched, when TEXT is not one. */
bool addr_key_text(const char *text, unsigned char key[ADDR_KEY_LEN]);

/* Whether A and B are the same client (false unless both are IP addresses). */
bool addr_same_client(const struct sockaddr *a, const struct sockaddr *b);

#endif
