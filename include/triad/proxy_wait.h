/*
 * proxy_wait: reading a PROXY protocol header in the accept path, before the
 * connection object exists (so before TLS and before any greeting).
 *
 * A socket accepted from a `proxy_protocol` source waits here on its own read
 * event: its first bytes are peeked (MSG_PEEK) and given to proxy_parse(); the
 * bytes of an incomplete header are read out, and once the header is complete
 * exactly its remaining bytes are read, so what follows (a TLS ClientHello, an
 * HTTP request) stays in the socket for the conn. HAProxy's own receiver does
 * the same (doc/proxy-protocol.txt §9). Then DONE runs with the carried client
 * address (or the real one for LOCAL / UNKNOWN). A header that is invalid, or
 * not complete within TRIAD_PROXY_TIMEOUT_MS, closes the socket.
 */
#ifndef TRIAD_PROXY_WAIT_H
#define TRIAD_PROXY_WAIT_H

#include <sys/socket.h>

struct worker;

typedef void (*proxy_wait_done)(void *arg, int fd, const struct sockaddr *peer,
                                socklen_t peer_len);

/* Takes FD (accepted, non-blocking) from PEER; DONE(ARG, ...) owns it afterwards. */
void proxy_wait_start(struct worker *w, int fd, const struct sockaddr *peer, socklen_t peer_len,
                      proxy_wait_done done, void *arg);
/* Closes every socket still waiting on W (drain, teardown). */
void proxy_wait_close_all(struct worker *w);

#endif
