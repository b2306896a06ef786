/*
 * conn: one connection, plain or TLS, accepted or outbound, with the same
 * API either way. It owns the socket, its input and output buffers
 * (evbuffers), its SSL (driven directly: SSL_do_handshake / SSL_read_ex /
 * SSL_write_ex on the socket, no bufferevent), its read and write events,
 * its timers (idle, send, TLS handshake deadline, connect), the peer/local
 * addresses, an id for logs, backpressure both ways, a bounded line reader
 * for the line protocols, the connection limits (global and per IP),
 * in-place TLS upgrade (STARTTLS, AUTH TLS), half-close, parking and
 * graceful close.
 *
 * Lifetime: protocol code never frees a conn. conn_close() flushes the
 * output and then frees; conn_abort() frees at once. Either way the free
 * happens from a deferred callback, never inside the protocol's own
 * callback, and ops->on_free runs exactly once.
 *
 * Outbound (reverse proxy upstreams, anything that dials): conn_connect()
 * starts a non-blocking connect to a TCP (v4/v6) or unix socket address and
 * reports the result through ops->on_connect(c, ok, err) from the event
 * loop, never from inside conn_connect(). Outbound conns are not counted in
 * the connection limits.
 */
#ifndef TRIAD_CONN_H
#define TRIAD_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <event2/event.h>
#include <openssl/ssl.h>

struct conn;
struct conf;
struct evbuffer;
struct net_cidr;
struct worker;

/* A peer or local address: IPv4 or IPv6 (28 bytes, not sockaddr_storage's 128:
 * every idle connection carries two). */
union conn_addr {
	struct sockaddr sa;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
};

/* A copy as sockaddr_storage, for code that wants one. */
static inline struct sockaddr_storage conn_addr_storage(const union conn_addr *a)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, a, sizeof(*a));
	return ss;
}

/* An address as text: "192.0.2.1", "2001:db8::1" (v4-mapped shown as v4),
 * "unix:PATH" (an outbound unix socket; PATH cut to what the conn keeps). */
struct conn_ip {
	char s[48];
};
/* Formatted on demand (an idle conn does not carry the text): use the value
 * within the expression, conn_peer_ip(c).s, or keep a copy. */
struct conn_ip conn_peer_ip(const struct conn *c);
struct conn_ip conn_local_ip(const struct conn *c);

struct conn_ops {
	void (*on_read)(struct conn *c);            /* input arrived */
	void (*on_drain)(struct conn *c);           /* output fell to the low watermark (optional) */
	/* A timeout fired (writing: the send timeout). NULL: close. */
	void (*on_timeout)(struct conn *c, bool writing);
	/* Peer closed (EOF) or the socket failed; the conn is freed right after. */
	void (*on_eof)(struct conn *c, bool error);
	/* TLS handshake finished after conn_start_tls() or at accept (optional). */
	void (*on_tls)(struct conn *c, bool ok);
	/* The server is draining (SIGTERM): finish or close when idle (optional: close). */
	void (*on_shutdown)(struct conn *c);
	void (*on_free)(struct conn *c);            /* release c->proto */
	/* conn_connect() finished: OK, or ERR (an errno: ECONNREFUSED, ETIMEDOUT...);
	 * after a failure the conn is freed right after this callback. */
	void (*on_connect)(struct conn *c, bool ok, int err);
};

/* How the peer's sending side ended (conn_eof_kind), for protocols that must
 * tell a complete stream from a cut one (uploads, RFC 4217 §10, RFC 8446 §6.1). */
enum conn_eof {
	CONN_EOF_NONE,         /* still open */
	CONN_EOF_FIN,          /* plain TCP: orderly FIN */
	CONN_EOF_CLOSE_NOTIFY, /* TLS: close_notify received, the stream is complete */
	CONN_EOF_TRUNCATED,    /* TLS: FIN without close_notify, maybe cut (on_eof error=true) */
	CONN_EOF_RESET,        /* reset, socket or TLS protocol error (on_eof error=true) */
};

struct conn {
	uint64_t id;                      /* unique per process, in every log line */
	struct worker *worker;
	struct event_base *base;
	struct conf *conf;                /* the configuration generation at accept (a ref) */
	union conn_addr peer, local;      /* as text: conn_peer_ip(), conn_local_ip() */
	socklen_t peer_len, local_len;
	uint16_t peer_port, local_port;
	int listener_tag;                 /* which listener accepted it */
	SSL *ssl;                         /* NULL while plain */
	const struct conn_ops *ops;
	void *proto;                      /* the protocol's session */
	uint64_t bytes_in, bytes_out;     /* payload counters since accept or the last wake from
	                                     parking (protocol may update; the close log line) */

	/* private to conn.c (ordered to pack: 8-byte fields, then 4, then 1) */
	struct evbuffer *in, *out;        /* NULL while parked */
	struct evbuffer *plain_out;       /* STARTTLS: output queued before it, sent in plaintext */
	struct event *rev, *wev;          /* the socket's read / write events (wev NULL parked) */
	struct event *timer;              /* deferred free, handshake deadline (lazy) */
	struct conn *next, *prev;
	struct conn *flush_next;          /* the thread's queue of writes to try */
	int fd;
	uint32_t flags;
	uint32_t read_max, write_low;     /* input bound; on_drain's output level */
	uint32_t tls_wpend;               /* an SSL_write to retry with the same length */
	uint32_t cork_head;               /* plain: head bytes still to go MSG_MORE before a file */
	uint32_t read_ms, write_ms;       /* idle and send timeouts */
	uint32_t rev_ms;                  /* the timeout the read event is armed with */
	uint32_t handshake_ms;            /* TLS handshake deadline */
	int connect_err;                  /* conn_connect: failed at once, reported from the loop */
	uint8_t eof;                      /* enum conn_eof */
	uint8_t busy;                     /* inside a protocol callback */
	uint8_t discard_line;             /* an overlong line is being skipped */
};

/*
 * Wraps an accepted or connected socket FD. TLS_CTX non-NULL: implicit TLS,
 * handshake as server. COUNTED: subject to and counted in the connection
 * limits (control connections yes, FTP data connections no); a counted FD
 * must already be non-blocking (server.c's listeners accept with SOCK_NONBLOCK).
 * Returns NULL (fd closed) on failure.
 */
struct conn *conn_new(struct worker *w, int fd, const struct sockaddr *peer, socklen_t peer_len,
                      SSL_CTX *tls_ctx, bool counted);

/* An accepted socket from server.c's listeners (counted, non-blocking,
 * TCP_NODELAY inherited from the listener). LOCAL: the listener's own
 * address when it names one, else NULL (getsockname() tells). */
struct conn *conn_new_accepted(struct worker *w, int fd, const struct sockaddr *peer,
                               socklen_t peer_len, const struct sockaddr *local,
                               socklen_t local_len, SSL_CTX *tls_ctx);

/* Reads what a plain conn's socket already holds, as if epoll had said so
 * (accept on a TCP_DEFER_ACCEPT listener: the request is there). */
void conn_read_now(struct conn *c);

/*
 * Outbound: a non-blocking connect to SA (AF_INET, AF_INET6 or AF_UNIX) of
 * at most TIMEOUT_MS (0: the kernel's). OPS and PROTO are installed before
 * anything can happen; ops->on_connect(c, ok, err) reports the outcome from
 * the event loop (never from inside this call). Output queued before then
 * waits and leaves once connected; reading starts once connected. Not
 * counted in the connection limits. NULL (errno set) if no socket could be
 * made; every later failure goes through on_connect, then the conn is freed.
 * TLS to the peer: conn_start_tls_client() right after (the handshake runs
 * once connected; on_tls reports it).
 */
struct conn *conn_connect(struct worker *w, const struct sockaddr *sa, socklen_t len,
                          uint64_t timeout_ms, const struct conn_ops *ops, void *proto);

/* Output: queued in the conn's output buffer and written when the current
 * callback returns; 0, or -1 when the conn is closing or half-closed. */
int conn_write(struct conn *c, const void *data, size_t len);
int conn_printf(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
size_t conn_output_pending(struct conn *c);
/* Whether output is above TRIAD_CONN_HIGH_WATER: producers wait for on_drain. */
bool conn_output_full(struct conn *c);

/* How the peer ended its side (CONN_EOF_NONE while it has not). With TLS,
 * on_eof's error=true covers both a truncation (FIN without close_notify)
 * and a reset; this tells them apart. */
enum conn_eof conn_eof_kind(const struct conn *c);

enum conn_eol {
	CONN_EOL_CRLF, /* only CRLF ends a line; a bare LF or CR stays in it for the caller to refuse */
	CONN_EOL_LF,   /* LF ends a line; one CR before it is dropped */
};
enum conn_line {
	CONN_LINE_OK,       /* buf holds the line without its terminator, NUL-terminated */
	CONN_LINE_AGAIN,    /* no complete line yet */
	CONN_LINE_TOO_LONG, /* line longer than cap-1: reported once, then skipped through its EOL */
};
/* Reads one line of at most cap-1 bytes; *len excludes the terminator. The
 * limit is checked before searching for the terminator. Lines with a NUL
 * byte are returned as is: *len tells, the caller refuses. */
enum conn_line conn_read_line(struct conn *c, enum conn_eol eol, char *buf, size_t cap,
                              size_t *len);

/* Read / send timeouts in ms (0: none). The read timeout is the idle timeout. */
void conn_set_timeouts(struct conn *c, uint64_t read_ms, uint64_t write_ms);
/* Input buffered before reading pauses (default TRIAD_CONN_READ_MAX). Above
 * TRIAD_CONN_READ_BULK a plain socket is read straight into the input's own
 * chains, up to 256 KiB per readv (bulk receivers: FTP uploads). */
void conn_set_read_max(struct conn *c, size_t bytes);
/* on_drain fires once output falls to BYTES after a write (default
 * TRIAD_CONN_LOW_WATER; 0: only once everything queued has left). */
void conn_set_write_low(struct conn *c, size_t bytes);
/* The TLS handshake deadline (default TRIAD_TLS_HANDSHAKE_MS; 0: none).
 * Past it the handshake fails: on_tls(c, false), then the conn is freed. */
void conn_set_handshake_timeout(struct conn *c, uint64_t ms);
void conn_pause_read(struct conn *c);
void conn_resume_read(struct conn *c);

/*
 * Upgrades a plaintext connection in place (STARTTLS, AUTH TLS). Output
 * already queued (the "220 go ahead") is still sent in plaintext first.
 * Input already buffered is discarded, never read as if it had been
 * encrypted; the number of bytes discarded is returned (>= 0), -1 on failure.
 * ops->on_tls reports the handshake, which must end within the handshake
 * deadline (as must the one of an implicit-TLS conn_new()).
 */
int conn_start_tls(struct conn *c, SSL_CTX *ctx);
/* TLS as the client (outbound conns): SERVER_NAME for SNI (or NULL). 0 or -1. */
int conn_start_tls_client(struct conn *c, SSL_CTX *ctx, const char *server_name);
bool conn_is_tls(const struct conn *c);
/* "TLSv1.3 TLS_AES_128_GCM_SHA256", or "" when plain. */
const char *conn_tls_describe(const struct conn *c, char *buf, size_t len);
/* Whether the TLS session was resumed (FTP data connections must be). */
bool conn_tls_resumed(const struct conn *c);
/*
 * TLS 1.3 session tickets this connection's server sends after the
 * handshake (OpenSSL's default is 2). FTP data connections set 0: they
 * resume the control connection's session and never need one, and a ticket
 * the client never reads turns its close into a reset that can cut the tail
 * of an upload. Call right after conn_new(), before the handshake ends.
 */
void conn_tls_set_tickets(struct conn *c, unsigned n);
/*
 * Under TLS, OpenSSL keeps this conn's record buffers (about 34 KiB: the
 * read buffer with read-ahead and the write buffer) from one record to the
 * next, instead of freeing both after every record and allocating them
 * again for the next (SSL_MODE_RELEASE_BUFFERS, which tls_ctx_new sets for
 * every conn). For protocols that park their idle conns: conn_park frees the
 * buffers, so only conns in use hold them. No effect on a plain conn.
 */
void conn_tls_keep_buffers(struct conn *c);
/* The SSL_SESSION the control connection negotiated, for data connections. */
SSL_SESSION *conn_tls_session(const struct conn *c);

/* Flushes pending output (no progress for the send timeout, at most
 * TRIAD_CONN_LINGER_MS: given up), ends TLS with close_notify, then frees.
 * A conn whose TLS handshake or connect has not finished is freed at once.
 * Idempotent. */
void conn_close(struct conn *c);
/* Half-close: once the output queued so far has left, send close_notify
 * (TLS) and FIN (shutdown(SHUT_WR)); reading goes on until the peer's EOF.
 * No more output can be queued. 0, or -1 when closing or not connected. */
int conn_shutdown_write(struct conn *c);
/*
 * From on_eof (a clean EOF only): keep the conn although the peer stopped
 * sending, because a reply is still owed (smtpd: the 250 of a message whose
 * delivery is in flight; a half-closed peer still reads, RFC 9293 §3.6).
 * The protocol must conn_close() it later; reading stays off.
 */
void conn_hold(struct conn *c);
/* FTP control connections: clients (ftplib, RFC 959 §4.1.3) send ABOR's Telnet
 * Synch as TCP urgent data; keep that byte in the stream (SO_OOBINLINE) or the
 * command line never completes. Call from accept, before anything is read. */
void conn_keep_urgent_inline(struct conn *c);
/*
 * Parking: an idle connection becomes a compact record (common/park.h, 64
 * bytes: socket, id, peer, the SSL object under TLS) in its
 * worker's park set, outside libevent; its struct conn, events, buffers and
 * timer are freed. Allowed only with nothing buffered either way (for TLS:
 * handshake done, no record read ahead or half written), reading enabled,
 * not corked and not closing: otherwise -1 and nothing changes (also when
 * memory fails).
 * On 0 the conn is gone: ops->on_free has released c->proto, as at a close,
 * and C must not be used again. When input (or a hang-up) arrives, a conn is
 * rebuilt with the same id, peer, ops, settings, configuration generation
 * and limits slots (bytes_in/out count from 0 again), with c->proto NULL, and ops->on_read runs
 * as usual; after IDLE_MS (0: never; at most TRIAD_PARK_IDLE_MAX_MS) without
 * input it is closed; conn_shutdown_all closes it. A parked conn still counts
 * in w->nconns and the connection limits. httpd parks keep-alive
 * connections that stay idle (nginx frees its buffers the same way).
 */
int conn_park(struct conn *c, uint64_t idle_ms);
/* Connections parked now in the whole process (the metrics gauge). */
uint64_t conn_parked_count(void);
/* At a worker's teardown, after its loop ended: frees its park set (records
 * still in it, past shutdown_timeout, are left to the process's exit). */
void conn_worker_fini(struct worker *w);
/* Frees without flushing (the peer misbehaved). Idempotent. */
void conn_abort(struct conn *c);
bool conn_is_closing(const struct conn *c);

/* Whether conn_new() found the connection over a limit (server.c refuses it). */
bool conn_is_refused(const struct conn *c);
/* ... and whether it was max_connections_per_ip (else max_connections). */
bool conn_refused_per_ip(const struct conn *c);
/* SIGTERM: ops->on_shutdown (or conn_close) for every conn of the worker. */
void conn_shutdown_all(struct worker *w);

/* Connection limits (also used by server.c at accept). A counted conn holds
 * its slots until it starts closing (conn_close, conn_abort, EOF), not until
 * it is freed: a client that got its last reply and reconnects at once
 * finds its slot free. Peers inside EXEMPT (copied) have no per-IP limit. */
void conn_limits_set(unsigned max_total, unsigned max_per_ip, const struct net_cidr *exempt,
                     size_t nexempt);
/* Active counted connections (for tests and the ready line). */
unsigned conn_count(void);

/* ==== The protocol-facing byte API (common/conn_buf.c) =======================
 * Everything httpd, ftpd and smtpd do with a conn's bytes goes through these
 * functions (and conn_write, conn_printf, conn_read_line above),
 * never through the buffer library or the socket: the transport under them
 * can change without touching a daemon. (The buffers themselves are
 * common/'s: common/conn_private.h.)
 * None of them may be called on a parked conn. "Input" is what the conn has
 * read and the protocol has not consumed yet; nothing here reads from the
 * socket itself.
 */
struct iobuf;

/* Input bytes buffered. */
size_t conn_in_len(struct conn *c);
/* The first N input bytes as one contiguous run (gathered if the buffer
 * holds them in pieces), not consumed; NULL when fewer than N are buffered
 * (or memory fails). Valid until the input next changes. */
const char *conn_in_peek(struct conn *c, size_t n);
/* The first contiguous run of input as it lies, without gathering or
 * copying: *len bytes (0 and NULL when nothing is buffered). For parsers that
 * take input in pieces (chunked bodies, SMTP DATA). */
const char *conn_in_chunk(struct conn *c, size_t *len);
/* Copies up to N bytes from the start of the input without consuming them;
 * the count copied. */
size_t conn_in_copy(struct conn *c, void *dst, size_t n);
/* Drops up to N bytes from the start of the input; the count dropped
 * (conn_in_consume(c, SIZE_MAX) empties it). */
size_t conn_in_consume(struct conn *c, size_t n);
/* Where the first occurrence of NEEDLE (NLEN > 0 bytes) lying wholly within
 * the first MAX input bytes starts, or -1. Bounded: a peer cannot make the
 * search walk more than MAX bytes. */
ssize_t conn_in_find(struct conn *c, const void *needle, size_t nlen, size_t max);
/* Moves up to MAX bytes from the start of the input into DST; the count. */
size_t conn_in_read(struct conn *c, void *dst, size_t max);
/* Writes up to MAX input bytes to FD (a file: FTP uploads) straight from the
 * input's own memory (writev, no copy through a buffer of ours), consuming
 * what was written. The bytes written, or -errno (what was written before
 * the error is consumed; 0 written with input left: -EIO). */
ssize_t conn_in_to_fd(struct conn *c, int fd, size_t max);

/* Moves up to MAX bytes from the start of FROM's input to the end of TO's
 * output without copying them: whole pieces of the buffer change hands, only
 * a piece cut by MAX is copied. FROM's reading resumes as its input drains,
 * as with conn_in_consume. The count moved, or -1 (nothing moved) when TO
 * takes no more output (closing or half-closed, as conn_write). For relays:
 * the reverse proxy's bodies, WebSocket tunnels. */
ssize_t conn_in_move(struct conn *from, struct conn *to, size_t max);

/* Building output in place (a head whose size has a known bound): reserve
 * gives N writable contiguous bytes at the end of the output, or NULL (no
 * memory, or the conn takes no more output); commit queues the first USED
 * of them (USED <= N; 0 queues nothing), P being what reserve returned.
 * Nothing else may touch the conn's output in between. Commit: 0 or -1. */
char *conn_out_reserve(struct conn *c, size_t n);
int conn_out_commit(struct conn *c, char *p, size_t used);

/* Queues LEN bytes at DATA without copying them (a cached response body):
 * DATA must stay valid until DONE(DATA, LEN, ARG) runs, exactly once, when
 * the bytes have left or the conn dropped them. 0, or -1 when the conn takes
 * no more output or memory failed (DONE is then not called). */
typedef void conn_ref_done(const void *data, size_t len, void *arg);
int conn_write_ref(struct conn *c, const void *data, size_t len, conn_ref_done *done, void *arg);

/* Moves all of B to the output without copying its bytes; B is left empty
 * and reusable. 0, or -1 (B unchanged) when the conn takes no more output
 * (closing or half-closed, as conn_write). */
int conn_write_iobuf(struct conn *c, struct iobuf *b);

/*
 * A file whose ranges a conn sends. conn_file_new takes FD (open for
 * reading, SIZE bytes long); conn_file_free gives it up, and the descriptor
 * is closed once no queued range of it is left unsent. NULL: memory failed
 * (FD is still the caller's).
 */
struct conn_file;
struct conn_file *conn_file_new(int fd, uint64_t size);
void conn_file_free(struct conn_file *f); /* NULL is fine */
/*
 * Queues LEN bytes of F from OFF. Plain sockets: a range above
 * TRIAD_CONN_FILE_COPY_MAX goes as sendfile(2) from the page cache, a head
 * queued in front of it sent with MSG_MORE so both leave in full segments
 * (not a lone small head first); smaller ones are copied, which
 * is cheaper and holds no descriptor while queued. TLS: copied (pread) in
 * TRIAD_CONN_FILE_CHUNK pieces while the output has room. Returns the bytes
 * queued: it may be fewer than LEN (0 when the output is full), and the
 * caller queues the rest from on_drain. -1: the file could not be read
 * (shorter than promised, an I/O error) or the conn takes no more output.
 */
int64_t conn_write_file(struct conn *c, struct conn_file *f, uint64_t off, uint64_t len);
/* ==== end of the protocol-facing byte API ===================================== */

#endif
