/*
 * conn's I/O layer driven over real sockets and in-process TLS pairs:
 * partial reads and writes with tiny socket buffers, a peer that never
 * reads, half-close both ways, TLS close_notify against truncation and
 * reset, renegotiation refused, the handshake deadline, STARTTLS with
 * pipelined plaintext, outbound connects, bounded reads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "triad/conn.h"
#include "triad/limits.h"
#include "triad/metrics.h"
#include "triad/server.h"
/* common/'s own tests may look at a conn's buffers (conn_input/conn_output). */
#include "../../../common/conn_private.h"

struct conf *server_current_conf(void)
{
	return NULL;
}

/* ---- what the conn reports ------------------------------------------------- */

static struct rec {
	int freed, reads, drains, eofs, eof_error, tls_ok, tls_fail, timeouts, timeout_writing;
	int connects, connect_ok, connect_err;
	enum conn_eof eof_kind; /* conn_eof_kind() as on_eof saw it */
	unsigned char got[1 << 20];
	size_t got_len;
	bool echo;      /* on_read writes back what it read */
	bool hold;      /* on_eof: conn_hold, answer "bye", close */
	bool starttls;  /* on_read: a "STARTTLS" line upgrades */
	bool refuse;    /* on_read: answer "413" and close, leaving the input unread */
	bool stale_err; /* on_read: leave an OpenSSL error on the thread's queue */
	int discarded;
	SSL_CTX *ctx;
	struct conn *last; /* on_read's conn (one woken from parking is a new conn) */
} r;

static void on_free(struct conn *c)
{
	(void)c;
	r.freed++;
}

static void on_read(struct conn *c)
{
	r.reads++;
	r.last = c;
	if (r.refuse) {
		r.refuse = false;
		conn_write(c, "413\r\n", 5);
		conn_close(c);
		return;
	}
	if (r.starttls) {
		char line[64];
		size_t len;
		if (conn_read_line(c, CONN_EOL_CRLF, line, sizeof(line), &len) != CONN_LINE_OK)
			return;
		if (strcmp(line, "STARTTLS") == 0) {
			r.starttls = false;
			conn_write(c, "220 go ahead\r\n", 14);
			r.discarded = conn_start_tls(c, r.ctx);
		}
		return;
	}
	unsigned char buf[4096];
	size_t n;
	while ((n = conn_in_read(c, buf, sizeof(buf))) > 0) {
		assert_true(r.got_len + n <= sizeof(r.got));
		memcpy(r.got + r.got_len, buf, n);
		r.got_len += n;
		if (r.echo)
			assert_int_equal(conn_write(c, buf, n), 0);
	}
	if (r.stale_err) /* as other code on the thread may (a failed upstream handshake) */
		ERR_raise(ERR_LIB_SSL, SSL_R_BAD_LENGTH);
}

static void on_drain(struct conn *c)
{
	(void)c;
	r.drains++;
}

static void on_eof(struct conn *c, bool error)
{
	r.eofs++;
	r.eof_error = error;
	r.eof_kind = conn_eof_kind(c);
	if (r.hold && !error) {
		conn_hold(c);
		conn_write(c, "bye\r\n", 5);
		conn_close(c);
	}
}

static void on_tls(struct conn *c, bool ok)
{
	(void)c;
	if (ok)
		r.tls_ok++;
	else
		r.tls_fail++;
}

static void on_timeout(struct conn *c, bool writing)
{
	r.timeouts++;
	r.timeout_writing = writing;
	conn_abort(c);
}

static void on_connect(struct conn *c, bool ok, int err)
{
	r.connects++;
	r.connect_ok = ok;
	r.connect_err = err;
	if (ok)
		conn_write(c, "hi", 2);
}

static const struct conn_ops ops = {
	.on_read = on_read,
	.on_drain = on_drain,
	.on_eof = on_eof,
	.on_tls = on_tls,
	.on_free = on_free,
	.on_connect = on_connect,
};
static const struct conn_ops ops_timeout = {
	.on_read = on_read,
	.on_timeout = on_timeout,
	.on_free = on_free,
};

/* ---- plumbing ----------------------------------------------------------------- */

static struct worker w;

static int setup(void **state)
{
	(void)state;
	memset(&r, 0, sizeof(r));
	memset(&w, 0, sizeof(w));
	w.base = event_base_new();
	assert_non_null(w.base);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < 50 && w.nconns; i++)
		event_base_loop(w.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	assert_int_equal(w.nconns, 0);
	conn_worker_fini(&w);
	event_base_free(w.base);
	if (r.ctx)
		SSL_CTX_free(r.ctx);
	return 0;
}

static void spin(void)
{
	event_base_loop(w.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
}

/* Runs the loop (blocking up to its next event) until COND or about 3 s. */
#define RUN_UNTIL(cond)                                                                        \
	do {                                                                                   \
		for (int i_ = 0; i_ < 3000 && !(cond); i_++) {                                 \
			struct timeval tv_ = {0, 1000};                                        \
			event_base_loopexit(w.base, &tv_);                                     \
			event_base_loop(w.base, EVLOOP_ONCE);                                  \
		}                                                                              \
		assert_true(cond);                                                             \
	} while (0)

static void nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* A TCP listener on a free loopback port; *A gets its address. */
static int listener(struct sockaddr_in *a, int backlog)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	*a = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(*a);
	assert_int_equal(bind(l, (struct sockaddr *)a, sizeof(*a)), 0);
	assert_int_equal(listen(l, backlog), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)a, &len), 0);
	return l;
}

/* A connected TCP pair over loopback: [0] for the conn, [1] for the test. */
static void tcp_pair(int sv[2])
{
	struct sockaddr_in a;
	int l = listener(&a, 1);
	sv[1] = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(sv[1], (struct sockaddr *)&a, sizeof(a)), 0);
	sv[0] = accept(l, NULL, NULL);
	assert_true(sv[0] >= 0);
	close(l);
}

static struct conn *wrap(int fd, SSL_CTX *ctx, const struct conn_ops *o)
{
	struct sockaddr_in peer = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct conn *c = conn_new(&w, fd, (struct sockaddr *)&peer, sizeof(peer), ctx, false);
	assert_non_null(c);
	c->ops = o;
	return c;
}

static void tiny_buffers(int fd)
{
	int small = 4096;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
}

/* A self-signed P-256 certificate made in memory. */
static SSL_CTX *server_ctx(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	assert_non_null(k);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, k);
	X509_NAME *n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"test", -1, -1, 0);
	X509_set_issuer_name(x, n);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	assert_int_equal(SSL_CTX_use_certificate(ctx, x), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(ctx, k), 1);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	X509_free(x);
	EVP_PKEY_free(k);
	return ctx;
}

/* The test's TLS client on FD (non-blocking), handshaking against the loop. */
static SSL *client_handshake(int fd, int max_version)
{
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	if (max_version)
		SSL_CTX_set_max_proto_version(cctx, max_version);
	SSL *s = SSL_new(cctx);
	SSL_CTX_free(cctx); /* the SSL keeps a reference */
	nonblock(fd);
	SSL_set_fd(s, fd);
	SSL_set_connect_state(s);
	int rc = 0;
	for (int i = 0; i < 2000 && (rc = SSL_do_handshake(s)) != 1; i++) {
		int e = SSL_get_error(s, rc);
		assert_true(e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE);
		spin();
		usleep(200);
	}
	assert_int_equal(rc, 1);
	return s;
}

/* Client side: writes all of BUF, pumping the loop while the socket is full. */
static void client_write(SSL *s, const void *buf, size_t len)
{
	size_t off = 0;
	for (int i = 0; off < len && i < 200000; i++) {
		size_t n = 0;
		if (SSL_write_ex(s, (const char *)buf + off, len - off, &n) == 1) {
			off += n;
			continue;
		}
		int e = SSL_get_error(s, 0);
		assert_true(e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE);
		spin();
		if (i % 64 == 63)
			usleep(500); /* tiny windows can wait for TCP's persist timer */
	}
	assert_int_equal(off, len);
}

/* Client side: reads until WANT bytes are in OUT, pumping the loop. */
static size_t client_read(SSL *s, unsigned char *out, size_t want)
{
	size_t got = 0;
	for (int i = 0; got < want && i < 200000; i++) {
		size_t n = 0;
		if (SSL_read_ex(s, out + got, want - got, &n) == 1) {
			got += n;
			continue;
		}
		int e = SSL_get_error(s, 0);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			break;
		spin();
		if (i % 64 == 63)
			usleep(500);
	}
	return got;
}

static void fill_pattern(unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 7 + (i >> 8));
}

/* ---- plain -------------------------------------------------------------------- */

/* A plain conn on sv[0] of a TCP pair, both ends with 4 KiB socket buffers. */
static struct conn *tiny_tcp_conn(int sv[2])
{
	tcp_pair(sv);
	tiny_buffers(sv[0]);
	tiny_buffers(sv[1]);
	return wrap(sv[0], NULL, &ops);
}

/* A peer that reads a few bytes at a time through 4 KiB socket buffers: every
 * write is partial, every byte arrives once and in order, on_drain follows. */
static void test_partial_writes_slow_reader(void **state)
{
	(void)state;
	int sv[2];
	struct conn *c = tiny_tcp_conn(sv);
	static unsigned char data[256 * 1024], back[256 * 1024];
	fill_pattern(data, sizeof(data));
	assert_int_equal(conn_write(c, data, sizeof(data)), 0);
	nonblock(sv[1]);
	size_t got = 0, step = 1;
	for (int i = 0; i < 1000000 && got < sizeof(data); i++) {
		spin();
		ssize_t n = read(sv[1], back + got, step);
		if (n > 0)
			got += (size_t)n;
		else if (i % 64 == 63)
			usleep(500); /* a window this small can stall until TCP's persist timer */
		step = step % 97 + 1; /* 1, 2, ... 97 bytes a read */
		if (got > 8192)
			step = 4096;
	}
	assert_int_equal(got, sizeof(data));
	assert_memory_equal(back, data, sizeof(data));
	RUN_UNTIL(conn_output_pending(c) == 0 && r.drains > 0);
	conn_close(c);
	RUN_UNTIL(r.freed == 1);
	close(sv[1]);
}

/* The test's end: reads WANT bytes into OUT while the loop runs. */
static void peer_read_all(int fd, unsigned char *out, size_t want)
{
	nonblock(fd);
	size_t got = 0;
	for (int i = 0; i < 1000000 && got < want; i++) {
		spin();
		ssize_t n = read(fd, out + got, want - got);
		if (n > 0)
			got += (size_t)n;
		else if (i % 64 == 63)
			usleep(500);
	}
	assert_int_equal(got, want);
}

/* Plain, a head in front of a sendfile body: the head leaves with MSG_MORE
 * (conn.c's send_head_more), also when the socket takes only part of it
 * (4 KiB buffers, a 20 KiB head); a response queued behind a body still
 * unsent (pipelined), and one queued after the output drained, arrive
 * whole and in order, byte for byte. */
static void test_file_body_behind_head(void **state)
{
	(void)state;
	int sv[2];
	struct conn *c = tiny_tcp_conn(sv);
	static unsigned char data[300 * 1024], head[20 * 1024], want[600 * 1024], back[600 * 1024];
	fill_pattern(data, sizeof(data));
	for (size_t i = 0; i < sizeof(head); i++)
		head[i] = (unsigned char)('A' + i % 26);
	char path[] = "/tmp/triad-conn-io-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, data, sizeof(data)), (ssize_t)sizeof(data));
	struct conn_file *f = conn_file_new(fd, sizeof(data));
	assert_non_null(f);

	/* The second response is queued once the first's head has left and
	 * its file segment is partly sent: its head sits behind that segment. */
	size_t n = 0;
	assert_int_equal(conn_write(c, head, sizeof(head)), 0);
	assert_int_equal(conn_write_file(c, f, 0, 200 * 1024), 200 * 1024);
	size_t first = sizeof(head) + 1000;
	peer_read_all(sv[1], back, first);
	assert_true(conn_output_pending(c) > 0);
	assert_int_equal(conn_write(c, "second\r\n", 8), 0);
	assert_int_equal(conn_write_file(c, f, 1000, 100 * 1024), 100 * 1024);
	memcpy(want + n, head, sizeof(head));
	n += sizeof(head);
	memcpy(want + n, data, 200 * 1024);
	n += 200 * 1024;
	memcpy(want + n, "second\r\n", 8);
	n += 8;
	memcpy(want + n, data + 1000, 100 * 1024);
	n += 100 * 1024;
	peer_read_all(sv[1], back + first, n - first);
	assert_memory_equal(back, want, n);
	RUN_UNTIL(conn_output_pending(c) == 0);

	/* A third after the output drained: corked again, from an offset. */
	size_t len = TRIAD_CONN_FILE_COPY_MAX + 1;
	assert_int_equal(conn_write(c, "third\r\n", 7), 0);
	assert_int_equal(conn_write_file(c, f, 5, len), (int64_t)len);
	peer_read_all(sv[1], back, 7 + len);
	assert_memory_equal(back, "third\r\n", 7);
	assert_memory_equal(back + 7, data + 5, len);
	conn_file_free(f);
	conn_close(c);
	RUN_UNTIL(r.freed == 1);
	close(sv[1]);
}

/* Input stops at read_max until the protocol consumes it; then reading resumes. */
static void test_read_max_bounds_input(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	static const struct conn_ops keep = {.on_read = on_drain /* reads nothing */, .on_free = on_free};
	struct conn *c = wrap(sv[0], NULL, &keep);
	conn_set_read_max(c, 1000);
	static unsigned char data[10000];
	fill_pattern(data, sizeof(data));
	assert_int_equal(write(sv[1], data, sizeof(data)), (ssize_t)sizeof(data));
	for (int i = 0; i < 20; i++)
		spin();
	assert_int_equal(evbuffer_get_length(conn_input(c)), 1000);
	unsigned char buf[10000];
	size_t got = 0;
	for (int i = 0; i < 200 && got < sizeof(data); i++) {
		got += conn_in_read(c, buf + got, 333); /* a bounded block read */
		spin();
		assert_true(evbuffer_get_length(conn_input(c)) <= 1000);
	}
	assert_int_equal(got, sizeof(data));
	assert_memory_equal(buf, data, sizeof(data));
	assert_int_equal(conn_in_read(c, buf, sizeof(buf)), 0);
	conn_abort(c);
	RUN_UNTIL(r.freed == 1);
	close(sv[1]);
}

/* A peer that never reads: the send timeout fires (on_timeout writing=true);
 * without on_timeout, and when closing, the conn is freed all the same; a
 * closing conn without a send timeout lingers at most TRIAD_CONN_LINGER_MS. */
static void test_peer_never_reads(void **state)
{
	(void)state;
	static unsigned char data[4 << 20];
	for (int variant = 0; variant < 4; variant++) {
		memset(&r, 0, offsetof(struct rec, got));
		int sv[2];
		tcp_pair(sv);
		tiny_buffers(sv[1]);
		struct conn *c = wrap(sv[0], NULL, variant == 0 ? &ops_timeout : &ops);
		conn_set_timeouts(c, 0, 100);
		assert_int_equal(conn_write(c, data, sizeof(data)), 0);
		if (variant == 2) {
			conn_set_timeouts(c, 0, 0); /* no send timeout: closing still lingers boundedly */
			conn_close(c);
		}
		if (variant == 3)
			conn_close(c); /* closing: the send timeout (100 ms) still bounds the wait */
		if (variant != 2) {
			RUN_UNTIL(r.freed == 1);
			if (variant == 0) {
				assert_int_equal(r.timeouts, 1);
				assert_true(r.timeout_writing);
			}
		} else {
			/* TRIAD_CONN_LINGER_MS is 10 s: check it is pending, then abort. */
			for (int i = 0; i < 20; i++)
				spin();
			assert_int_equal(r.freed, 0);
			assert_true(conn_is_closing(c));
			conn_abort(c);
			RUN_UNTIL(r.freed == 1);
		}
		close(sv[1]);
	}
}

/* The peer half-closes (RFC 9293 §3.6): on_eof is clean (FIN) and the conn,
 * held, still answers before it closes. */
static void test_peer_half_close(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	wrap(sv[0], NULL, &ops);
	r.hold = true;
	assert_int_equal(write(sv[1], "QUIT\r\n", 6), 6);
	shutdown(sv[1], SHUT_WR);
	RUN_UNTIL(r.eofs == 1);
	assert_false(r.eof_error);
	assert_int_equal(r.eof_kind, CONN_EOF_FIN);
	assert_int_equal(r.got_len, 6);
	RUN_UNTIL(r.freed == 1);
	char buf[16];
	assert_int_equal(read(sv[1], buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "bye\r\n", 5);
	assert_int_equal(read(sv[1], buf, sizeof(buf)), 0);
	close(sv[1]);
}

/* conn_shutdown_write: queued output, then FIN; reading goes on; no more output. */
static void test_shutdown_write(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	struct conn *c = wrap(sv[0], NULL, &ops);
	conn_write(c, "abc", 3);
	assert_int_equal(conn_shutdown_write(c), 0);
	assert_int_equal(conn_write(c, "x", 1), -1);
	for (int i = 0; i < 10; i++)
		spin();
	char buf[8];
	assert_int_equal(read(sv[1], buf, sizeof(buf)), 3);
	assert_int_equal(read(sv[1], buf, sizeof(buf)), 0); /* FIN */
	assert_int_equal(write(sv[1], "more", 4), 4);
	RUN_UNTIL(r.got_len == 4);
	assert_memory_equal(r.got, "more", 4);
	close(sv[1]);
	RUN_UNTIL(r.freed == 1);
	assert_int_equal(r.eofs, 1);
}

/* RFC 9112 §9.6: an answer sent while the peer is still sending (a 413 during
 * an upload) survives the close: the conn sends FIN and drops input until the
 * peer's EOF instead of closing with data unread (which resets the
 * connection and can destroy the answer in flight). */
static void test_close_with_unread_input_lingers(void **state)
{
	(void)state;
	int sv[2];
	tcp_pair(sv);
	wrap(sv[0], NULL, &ops);
	r.refuse = true;
	static unsigned char body[1 << 20];
	nonblock(sv[1]);
	size_t sent = 0;
	char buf[16];
	ssize_t got = -1;
	for (int i = 0; i < 20000 && got <= 0; i++) {
		if (sent < sizeof(body)) {
			ssize_t n = write(sv[1], body + sent, sizeof(body) - sent);
			if (n > 0)
				sent += (size_t)n;
		}
		spin();
		if (i > 20 && sent == sizeof(body))
			got = read(sv[1], buf, sizeof(buf));
		else if (i % 64 == 63)
			usleep(500);
	}
	assert_int_equal(sent, sizeof(body)); /* all of it was read and dropped */
	assert_int_equal(got, 5);
	assert_memory_equal(buf, "413\r\n", 5);
	assert_int_equal(read(sv[1], buf, sizeof(buf)), 0); /* FIN, not a reset */
	assert_int_equal(r.freed, 0);                       /* still draining our input */
	shutdown(sv[1], SHUT_WR);
	RUN_UNTIL(r.freed == 1);
	close(sv[1]);
}

/* ---- TLS ---------------------------------------------------------------------- */

struct tls_pair {
	int sv[2];
	struct conn *c;
	SSL *cl;
};

static void tls_pair_open(struct tls_pair *p, bool tcp, int max_version)
{
	if (!r.ctx)
		r.ctx = server_ctx();
	if (tcp)
		tcp_pair(p->sv);
	else
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, p->sv), 0);
	p->c = wrap(p->sv[0], r.ctx, &ops);
	assert_true(conn_is_tls(p->c));
	p->cl = client_handshake(p->sv[1], max_version);
	RUN_UNTIL(r.tls_ok == 1);
}

/* The next thing the client reads is our close_notify (RFC 8446 §6.1). */
static void expect_close_notify(SSL *cl)
{
	unsigned char buf[16];
	size_t n;
	assert_int_equal(SSL_read_ex(cl, buf, sizeof(buf), &n), 0);
	assert_int_equal(SSL_get_error(cl, 0), SSL_ERROR_ZERO_RETURN);
}

/* 64 KiB echoed in CHUNK pieces through 4 KiB socket buffers both ways;
 * every byte must come back once and in order, the conn still open. The
 * client clears its thread's error queue around its own calls (r.stale_err
 * leaves errors there for the conn). */
static void tls_echo_tiny(size_t chunk)
{
	struct tls_pair p;
	tls_pair_open(&p, true, 0);
	tiny_buffers(p.sv[0]);
	tiny_buffers(p.sv[1]);
	r.echo = true;
	static unsigned char data[64 * 1024], back[64 * 1024];
	fill_pattern(data, sizeof(data));
	size_t got = 0;
	for (size_t off = 0; off < sizeof(data); off += chunk) {
		client_write(p.cl, data + off, chunk);
		ERR_clear_error();
		got += client_read(p.cl, back + got, off + chunk - got);
		ERR_clear_error();
	}
	assert_int_equal(got, sizeof(data));
	assert_memory_equal(back, data, sizeof(data));
	assert_int_equal(r.got_len, sizeof(data));
	assert_int_equal(r.eofs, 0);
	assert_int_equal(r.freed, 0);
	SSL_free(p.cl);
	close(p.sv[1]);
	RUN_UNTIL(r.freed == 1);
	ERR_clear_error();
}

/* Both ways through 4 KiB socket buffers: every SSL_read and SSL_write on
 * the conn's side meets EAGAIN somewhere; nothing is lost or reordered. */
static void test_tls_echo_tiny_buffers(void **state)
{
	(void)state;
	tls_echo_tiny(8192);
}

/* OpenSSL's rule (SSL_get_error(3)): the thread's error queue must be empty
 * before an SSL call. An error some other code left there must not turn the
 * conn's next EAGAIN (SSL_ERROR_WANT_WRITE: 16 KiB answers through 4 KiB
 * socket buffers) into a failure. */
static void test_tls_stale_error_queue(void **state)
{
	(void)state;
	r.stale_err = true;
	tls_echo_tiny(16384);
}

/* RFC 8446 §6.1: close_notify ends a stream cleanly; a FIN without it is a
 * truncation and a reset an error, and the protocol can tell them apart. */
static void test_tls_close_notify_truncation_reset(void **state)
{
	(void)state;
	for (int variant = 0; variant < 3; variant++) {
		memset(&r, 0, offsetof(struct rec, got));
		r.got_len = 0;
		struct tls_pair p;
		tls_pair_open(&p, true, 0);
		client_write(p.cl, "data", 4);
		RUN_UNTIL(r.got_len == 4);
		if (variant == 0) {
			SSL_shutdown(p.cl);
		} else if (variant == 1) {
			shutdown(p.sv[1], SHUT_WR);
		} else {
			struct linger lg = {1, 0};
			setsockopt(p.sv[1], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			close(p.sv[1]);
			p.sv[1] = -1;
		}
		RUN_UNTIL(r.eofs == 1);
		static const enum conn_eof want[] = {CONN_EOF_CLOSE_NOTIFY, CONN_EOF_TRUNCATED,
		                                     CONN_EOF_RESET};
		assert_int_equal(r.eof_kind, want[variant]);
		assert_int_equal(r.eof_error, variant != 0);
		RUN_UNTIL(r.freed == 1);
		SSL_free(p.cl);
		if (p.sv[1] >= 0)
			close(p.sv[1]);
	}
}

/* Our close ends with close_notify after the queued answer (RFC 8446 §6.1). */
static void test_tls_close_sends_close_notify(void **state)
{
	(void)state;
	struct tls_pair p;
	tls_pair_open(&p, false, 0);
	conn_write(p.c, "answer", 6);
	conn_close(p.c);
	RUN_UNTIL(r.freed == 1);
	unsigned char buf[16];
	assert_int_equal(client_read(p.cl, buf, 6), 6);
	assert_memory_equal(buf, "answer", 6);
	expect_close_notify(p.cl);
	SSL_free(p.cl);
	close(p.sv[1]);
}

/* A TLS 1.2 client asking to renegotiate is refused (SSL_OP_NO_RENEGOTIATION,
 * RFC 5746 §4.2 leaves it to the server): no second handshake starts. */
/* conn_write_file under TLS (common/conn_buf.c): a range larger than the
 * output's high watermark is read in only while the output has room; the
 * caller queues the rest from on_drain, and the bytes arrive whole and in
 * order. */
static void test_tls_write_file_in_pieces(void **state)
{
	(void)state;
	struct tls_pair p;
	tls_pair_open(&p, true, 0);
	static unsigned char data[1 << 20], back[1 << 20];
	size_t size = sizeof(data);
	fill_pattern(data, size);
	char path[] = "/tmp/triad-conn-io-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, data, size), (ssize_t)size);
	struct conn_file *f = conn_file_new(fd, size);
	assert_non_null(f);
	int64_t n = conn_write_file(p.c, f, 0, size);
	assert_true(n >= TRIAD_CONN_HIGH_WATER && (uint64_t)n < size); /* stopped when full */
	assert_true(conn_output_full(p.c));
	assert_int_equal(conn_write_file(p.c, f, (uint64_t)n, size - (uint64_t)n), 0);
	size_t off = (size_t)n, got = 0;
	while (off < size) {
		int drains = r.drains;
		got += client_read(p.cl, back + got, off - got);
		RUN_UNTIL(r.drains > drains);
		n = conn_write_file(p.c, f, off, size - off);
		assert_true(n > 0);
		off += (size_t)n;
	}
	conn_file_free(f);
	got += client_read(p.cl, back + got, size - got);
	assert_int_equal(got, size);
	assert_memory_equal(back, data, size);
	SSL_free(p.cl);
	close(p.sv[1]);
	RUN_UNTIL(r.freed == 1);
}

static void test_tls_renegotiation_refused(void **state)
{
	(void)state;
	r.ctx = server_ctx();
	SSL_CTX_set_options(r.ctx, SSL_OP_ALLOW_CLIENT_RENEGOTIATION); /* the conn must refuse */
	struct tls_pair p;
	tls_pair_open(&p, false, TLS1_2_VERSION);
	assert_int_equal(SSL_renegotiate(p.cl), 1);
	int rc = 0;
	for (int i = 0; i < 200; i++) {
		rc = SSL_do_handshake(p.cl);
		if (rc == 1 && !SSL_renegotiate_pending(p.cl))
			break;
		int e = SSL_get_error(p.cl, rc);
		if (rc <= 0 && e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			break;
		unsigned char b;
		size_t n;
		SSL_read_ex(p.cl, &b, 1, &n); /* reads the server's answer (an alert) */
		spin();
	}
	/* The client hears the server's no_renegotiation alert (RFC 5246 §7.2.2):
	 * its renegotiation fails; a server that renegotiated would let it end. */
	assert_int_not_equal(rc, 1);
	assert_int_equal(SSL_get_error(p.cl, rc), SSL_ERROR_SSL);
	assert_int_equal(ERR_GET_REASON(ERR_peek_error()), SSL_R_NO_RENEGOTIATION);
	ERR_clear_error();
	SSL_free(p.cl);
	close(p.sv[1]);
	RUN_UNTIL(r.freed == 1);
}

/* Issue 14 fix 1: a peer that connects and never finishes the handshake,
 * silent or trickling bytes, is closed at the deadline: on_tls(false), and
 * the socket is closed (no CLOSE-WAIT left on our side). */
static void test_tls_handshake_deadline(void **state)
{
	(void)state;
	r.ctx = server_ctx();
	for (int variant = 0; variant < 2; variant++) {
		memset(&r, 0, offsetof(struct rec, got));
		int sv[2];
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		struct conn *c = wrap(sv[0], r.ctx, &ops);
		conn_set_handshake_timeout(c, 150);
		conn_set_timeouts(c, 60000, 60000); /* the idle timeout would be far later */
		static const unsigned char hello[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00};
		struct timeval t0, t1;
		gettimeofday(&t0, NULL);
		for (int i = 0; i < 4000 && !r.freed; i++) {
			if (variant == 1 && i % 20 == 0 && (size_t)(i / 20) < sizeof(hello))
				assert_int_equal(write(sv[1], hello + i / 20, 1), 1); /* slowloris */
			struct timeval tv = {0, 1000};
			event_base_loopexit(w.base, &tv);
			event_base_loop(w.base, EVLOOP_ONCE);
		}
		gettimeofday(&t1, NULL);
		assert_int_equal(r.freed, 1);
		assert_int_equal(r.tls_fail, 1);
		assert_int_equal(r.tls_ok, 0);
		long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_usec - t0.tv_usec) / 1000;
		assert_true(ms >= 140 && ms < 2000);
		char b;
		nonblock(sv[1]);
		assert_int_equal(read(sv[1], &b, 1), 0); /* closed by us */
		close(sv[1]);
	}
}

/* Closing during a handshake does not wait for it (issue 14: the login
 * timeout's 421 waited behind an unfinished handshake). */
static void test_close_during_handshake_is_immediate(void **state)
{
	(void)state;
	r.ctx = server_ctx();
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	struct conn *c = wrap(sv[0], r.ctx, &ops);
	conn_write(c, "220 greeting\r\n", 14); /* queued behind the handshake */
	conn_close(c);
	for (int i = 0; i < 5; i++)
		spin();
	assert_int_equal(r.freed, 1);
	char b;
	assert_int_equal(read(sv[1], &b, 1), 0); /* closed, nothing sent in clear */
	close(sv[1]);
}

/* STARTTLS (RFC 3207 §4.2, RFC 4217 §4): the reply queued before the upgrade
 * leaves in plaintext; plaintext pipelined after the command is discarded,
 * never read as if it had come over TLS. */
static void test_starttls_pipelined_plaintext_discarded(void **state)
{
	(void)state;
	r.ctx = server_ctx();
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	struct conn *c = wrap(sv[0], NULL, &ops);
	r.starttls = true;
	const char *cmd = "STARTTLS\r\nRCPT TO:<evil@example>\r\n";
	assert_int_equal(write(sv[1], cmd, strlen(cmd)), (ssize_t)strlen(cmd));
	RUN_UNTIL(!r.starttls);
	assert_int_equal(r.discarded, (int)strlen("RCPT TO:<evil@example>\r\n"));
	assert_true(conn_is_tls(c));
	char buf[32] = {0};
	for (int i = 0; i < 10; i++)
		spin();
	assert_int_equal(read(sv[1], buf, sizeof(buf)), 14);
	assert_string_equal(buf, "220 go ahead\r\n");
	SSL *cl = client_handshake(sv[1], 0);
	RUN_UNTIL(r.tls_ok == 1);
	client_write(cl, "EHLO x\r\n", 8);
	RUN_UNTIL(r.got_len == 8);
	assert_memory_equal(r.got, "EHLO x\r\n", 8);
	SSL_free(cl);
	close(sv[1]);
	RUN_UNTIL(r.freed == 1);
}

/* STARTTLS when the plaintext queued before it does not fit the socket: it
 * still leaves whole and first, and the handshake waits for it (the client's
 * hello comes only after it read the reply). It refuses to park meanwhile. */
static void test_starttls_big_plaintext_reply_first(void **state)
{
	(void)state;
	r.ctx = server_ctx();
	int sv[2];
	tcp_pair(sv);
	tiny_buffers(sv[0]);
	tiny_buffers(sv[1]);
	struct conn *c = wrap(sv[0], NULL, &ops);
	static unsigned char reply[48 * 1024];
	fill_pattern(reply, sizeof(reply));
	assert_int_equal(conn_write(c, reply, sizeof(reply)), 0);
	assert_true(conn_start_tls(c, r.ctx) >= 0);
	assert_int_equal(conn_write(c, "after", 5), 0); /* queued for TLS */
	assert_int_equal(conn_park(c, 0), -1);
	static unsigned char got[sizeof(reply)];
	size_t n = 0;
	nonblock(sv[1]);
	/* Up to 5 s: a receive window this small can stall until TCP's persist timer. */
	for (int i = 0; i < 50000 && n < sizeof(got); i++) {
		spin();
		size_t want = i % 3 ? 1000 : 1;
		if (want > sizeof(got) - n)
			want = sizeof(got) - n;
		ssize_t k = read(sv[1], got + n, want);
		if (k > 0)
			n += (size_t)k;
		else if (i % 16 == 15)
			usleep(1000);
	}
	if (n != sizeof(reply))
		fail_msg("plaintext reply: %zu of %zu bytes, output pending %zu", n, sizeof(reply),
		         conn_output_pending(c));
	assert_memory_equal(got, reply, sizeof(reply));
	SSL *cl = client_handshake(sv[1], 0);
	RUN_UNTIL(r.tls_ok == 1);
	unsigned char buf[8];
	assert_int_equal(client_read(cl, buf, 5), 5);
	assert_memory_equal(buf, "after", 5);
	SSL_free(cl);
	close(sv[1]);
	RUN_UNTIL(r.freed == 1);
}

/* A TLS conn whose input is at read_max keeps the rest inside OpenSSL; once
 * the protocol consumes, it is read without any new socket event. */
static void test_tls_read_max_resumes_from_ssl_buffer(void **state)
{
	(void)state;
	struct tls_pair p;
	tls_pair_open(&p, false, 0);
	static const struct conn_ops keep = {.on_read = on_drain, .on_free = on_free};
	p.c->ops = &keep;
	conn_set_read_max(p.c, 100);
	static unsigned char data[5000], buf[5000];
	fill_pattern(data, sizeof(data));
	client_write(p.cl, data, sizeof(data)); /* one record */
	RUN_UNTIL(evbuffer_get_length(conn_input(p.c)) == 100);
	size_t got = 0;
	for (int i = 0; i < 500 && got < sizeof(data); i++) {
		got += conn_in_read(p.c, buf + got, sizeof(buf) - got);
		spin();
	}
	assert_int_equal(got, sizeof(data));
	assert_memory_equal(buf, data, sizeof(data));
	SSL_free(p.cl);
	close(p.sv[1]);
	RUN_UNTIL(r.freed == 1);
}

/* An idle TLS conn parks like a plain one (the conn goes, a park record
 * keeps the socket and the SSL object with its keys); the next record wakes it, is
 * decrypted and answered over the same session (RFC 9112 §9.3 persistence
 * over TLS). */
static void test_tls_park_and_wake(void **state)
{
	(void)state;
	struct tls_pair p;
	tls_pair_open(&p, true, 0);
	r.echo = true;
	unsigned char buf[16];
	client_write(p.cl, "one", 3);
	assert_int_equal(client_read(p.cl, buf, 3), 3);
	assert_memory_equal(buf, "one", 3);
	RUN_UNTIL(conn_output_pending(p.c) == 0);
	assert_int_equal(conn_park(p.c, 60000), 0);
	assert_int_equal(r.freed, 1); /* the conn is gone */
	r.last = NULL;
	client_write(p.cl, "two", 3);
	RUN_UNTIL(r.last && r.got_len == 6);
	p.c = r.last;
	assert_memory_equal(r.got, "onetwo", 6);
	assert_int_equal(client_read(p.cl, buf, 3), 3);
	assert_memory_equal(buf, "two", 3);
	/* Parked again, closing it (SIGTERM's conn_shutdown_all) still ends with
	 * close_notify (RFC 8446 §6.1). */
	RUN_UNTIL(conn_output_pending(p.c) == 0);
	assert_int_equal(conn_park(p.c, 60000), 0);
	conn_shutdown_all(&w);
	RUN_UNTIL(r.freed == 3);
	expect_close_notify(p.cl);
	SSL_free(p.cl);
	close(p.sv[1]);
}

/* ---- the byte counters of the metrics listener ------------------------------- */

/* triad_test_NAME's value in the exposition. */
static uint64_t metric(const char *name)
{
	size_t len;
	char *t = metrics_render(&len);
	assert_non_null(t);
	char key[96];
	snprintf(key, sizeof(key), "\ntriad_test_%s ", name);
	const char *p = strstr(t, key);
	assert_non_null(p);
	uint64_t v = strtoull(p + strlen(key), NULL, 10);
	free(t);
	return v;
}

/* docs/metrics.md: bytes_received_total and bytes_sent_total count what the
 * socket carried, counted as conn.c reads and writes it (no TCP_INFO at the
 * close): plain, every byte both ways, the lingering close's dropped input
 * too; TLS, the records, exactly what the client's own socket BIO wrote and
 * read, handshake included; a unix socket's bytes are no TCP payload. */
static void test_metrics_bytes(void **state)
{
	(void)state;
	assert_int_equal(metrics_init("test", NULL, 0, 1), 0);
	/* Plain: 3,000 bytes echoed, then a refusal closing with 500 bytes unread
	 * (lingering: they are read and dropped, and still counted). */
	int sv[2];
	tcp_pair(sv);
	wrap(sv[0], NULL, &ops);
	r.echo = true;
	static unsigned char data[3000], back[3000];
	fill_pattern(data, sizeof(data));
	assert_int_equal(write(sv[1], data, sizeof(data)), (ssize_t)sizeof(data));
	size_t got = 0;
	for (int i = 0; i < 3000 && got < sizeof(back); i++) {
		spin();
		ssize_t n = recv(sv[1], back + got, sizeof(back) - got, MSG_DONTWAIT);
		if (n > 0)
			got += (size_t)n;
	}
	assert_int_equal(got, sizeof(back));
	assert_int_equal(metric("bytes_received_total"), 3000);
	assert_int_equal(metric("bytes_sent_total"), 3000);
	r.echo = false;
	r.refuse = true;
	memset(data, 'x', 500);
	assert_int_equal(write(sv[1], data, 500), 500);
	RUN_UNTIL(r.reads == 2);
	assert_int_equal(write(sv[1], data, 100), 100); /* while it lingers */
	shutdown(sv[1], SHUT_WR);
	RUN_UNTIL(r.freed == 1);
	assert_int_equal(metric("bytes_received_total"), 3600);
	assert_int_equal(metric("bytes_sent_total"), 3005); /* "413\r\n" */
	close(sv[1]);

	/* TLS: the wire bytes, counted at the close. */
	memset(&r, 0, sizeof(r));
	struct tls_pair p;
	tls_pair_open(&p, true, 0);
	r.echo = true;
	unsigned char buf[5];
	client_write(p.cl, "hello", 5);
	assert_int_equal(client_read(p.cl, buf, 5), 5);
	RUN_UNTIL(conn_output_pending(p.c) == 0);
	conn_close(p.c);
	RUN_UNTIL(r.freed == 1);
	expect_close_notify(p.cl);
	uint64_t cl_out = BIO_number_written(SSL_get_wbio(p.cl));
	uint64_t cl_in = BIO_number_read(SSL_get_rbio(p.cl));
	assert_true(cl_out > 5 && cl_in > 5);
	assert_int_equal(metric("bytes_received_total"), 3600 + cl_out);
	assert_int_equal(metric("bytes_sent_total"), 3005 + cl_in);
	assert_int_equal(metric("tls_handshakes_total"), 1);
	SSL_free(p.cl);
	close(p.sv[1]);

	/* A unix-socket peer (a FastCGI upstream): not counted. */
	SSL_CTX_free(r.ctx);
	memset(&r, 0, sizeof(r));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	struct sockaddr_un un = {.sun_family = AF_UNIX, .sun_path = "/run/php.sock"};
	struct conn *c = conn_new(&w, sv[0], (struct sockaddr *)&un, sizeof(un), NULL, false);
	assert_non_null(c);
	c->ops = &ops;
	r.echo = true;
	assert_int_equal(write(sv[1], "ping", 4), 4);
	RUN_UNTIL(r.got_len == 4);
	RUN_UNTIL(conn_output_pending(c) == 0);
	conn_close(c);
	RUN_UNTIL(r.freed == 1);
	close(sv[1]);
	assert_int_equal(metric("bytes_received_total"), 3600 + cl_out);
	assert_int_equal(metric("bytes_sent_total"), 3005 + cl_in);
	metrics_fini();
}

/* ---- OpenSSL's allocations, counted (CRYPTO_set_mem_functions, from main) ------ */

/* Record buffers are the only allocations of 16 KiB and more a TLS 1.3
 * exchange of small records makes: counting those counts the buffers. */
enum { BIG_ALLOC = 16 * 1024 };
static size_t big_allocs, big_live;

static void *count_malloc(size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	max_align_t *h = malloc(sizeof(*h) + n);
	if (!h)
		return NULL;
	*(size_t *)h = n;
	if (n >= BIG_ALLOC) {
		big_allocs++;
		big_live += n;
	}
	return h + 1;
}

static void count_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	if (!p)
		return;
	max_align_t *h = (max_align_t *)p - 1;
	if (*(size_t *)h >= BIG_ALLOC)
		big_live -= *(size_t *)h;
	free(h);
}

static void *count_realloc(void *p, size_t n, const char *file, int line)
{
	if (!p)
		return count_malloc(n, file, line);
	max_align_t *h = (max_align_t *)p - 1;
	size_t old = *(size_t *)h;
	void *q = count_malloc(n, file, line);
	if (q) {
		memcpy(q, p, old < n ? old : n);
		count_free(p, file, line);
	}
	return q;
}

/* Echoes 1 + ROUNDS small requests over a conn whose SSL_CTX releases its
 * buffers after each record (as tls_ctx_new sets it); returns the record
 * buffers allocated during the last ROUNDS. KEEP: conn_tls_keep_buffers first. */
static size_t echo_big_allocs(struct tls_pair *p, bool keep, int rounds)
{
	r.ctx = server_ctx();
	SSL_CTX_set_mode(r.ctx, SSL_MODE_RELEASE_BUFFERS);
	tls_pair_open(p, true, 0);
	if (keep)
		conn_tls_keep_buffers(p->c);
	r.echo = true;
	unsigned char buf[32];
	size_t before = big_allocs;
	for (int i = 0; i <= rounds; i++) {
		if (i == 1)
			before = big_allocs; /* the first round sets up both sides' buffers */
		client_write(p->cl, "GET / HTTP/1.1\r\n\r\n", 18);
		assert_int_equal(client_read(p->cl, buf, 18), 18);
		assert_memory_equal(buf, "GET / HTTP/1.1\r\n\r\n", 18);
		RUN_UNTIL(conn_output_pending(p->c) == 0);
	}
	return big_allocs - before;
}

/* By default (SSL_MODE_RELEASE_BUFFERS) each request and each answer costs
 * a record buffer allocation; with conn_tls_keep_buffers none does, and
 * conn_park still gives both buffers back. */
static void test_tls_keep_buffers(void **state)
{
	(void)state;
	struct tls_pair p;
	assert_true(echo_big_allocs(&p, false, 20) >= 20); /* the unchanged default */
	conn_close(p.c);
	RUN_UNTIL(r.freed == 1);
	SSL_free(p.cl);
	close(p.sv[1]);
	SSL_CTX_free(r.ctx);
	memset(&r, 0, sizeof(r));

	assert_int_equal(echo_big_allocs(&p, true, 20), 0);
	size_t live = big_live;
	assert_int_equal(conn_park(p.c, 60000), 0);
	assert_true(big_live + 2 * BIG_ALLOC <= live); /* both buffers freed */
	/* Woken, it reads and answers as before, and keeps its buffers again. */
	size_t before = big_allocs;
	unsigned char buf[8];
	for (int i = 0; i < 10; i++) {
		client_write(p.cl, "again", 5);
		assert_int_equal(client_read(p.cl, buf, 5), 5);
		assert_memory_equal(buf, "again", 5);
		p.c = r.last; /* the conn rebuilt from the park record */
		RUN_UNTIL(conn_output_pending(p.c) == 0);
	}
	assert_true(big_allocs - before <= 2); /* the two buffers, once */
	conn_close(p.c);
	RUN_UNTIL(r.freed == 2); /* at the park, at the close */
	expect_close_notify(p.cl);
	SSL_free(p.cl);
	close(p.sv[1]);
}

/* A parked TLS conn's idle time ends it with close_notify, as an unparked
 * conn's close does (RFC 8446 §6.1: a clean end, not a truncation). */
static void test_tls_parked_idle_timeout_sends_close_notify(void **state)
{
	(void)state;
	struct tls_pair p;
	tls_pair_open(&p, false, 0);
	assert_int_equal(conn_park(p.c, 20), 0);
	RUN_UNTIL(r.freed == 2); /* at the park, at the idle time */
	expect_close_notify(p.cl);
	SSL_free(p.cl);
	close(p.sv[1]);
}

/* Plaintext already read ahead into the SSL object never makes the socket
 * readable again: a conn holding some must not park, or the request would
 * wait there until the idle timeout. Refused while the handshake runs too. */
static void test_tls_park_refused_with_bytes_in_ssl(void **state)
{
	(void)state;
	r.ctx = server_ctx();
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	struct conn *c = wrap(sv[0], r.ctx, &ops);
	assert_int_equal(conn_park(c, 0), -1); /* handshake not finished */
	SSL *cl = client_handshake(sv[1], 0);
	RUN_UNTIL(r.tls_ok == 1);
	static const struct conn_ops keep = {.on_read = on_drain, .on_free = on_free};
	c->ops = &keep;
	conn_set_read_max(c, 100);
	static unsigned char data[5000], buf[5000];
	fill_pattern(data, sizeof(data));
	client_write(cl, data, sizeof(data)); /* one record: 4,900 bytes stay in SSL */
	RUN_UNTIL(evbuffer_get_length(conn_input(c)) == 100);
	assert_int_equal(conn_in_read(c, buf, sizeof(buf)), 100);
	assert_int_equal(conn_park(c, 0), -1);
	size_t got = 100;
	for (int i = 0; i < 500 && got < sizeof(data); i++) {
		got += conn_in_read(c, buf + got, sizeof(buf) - got);
		spin();
	}
	assert_int_equal(got, sizeof(data));
	assert_memory_equal(buf, data, sizeof(data));
	assert_int_equal(conn_park(c, 0), 0); /* all consumed: now it may */
	SSL_free(cl);
	close(sv[1]); /* wakes the record: EOF, freed */
	RUN_UNTIL(r.freed == 2);
}

/* ---- outbound ------------------------------------------------------------------ */

static void test_connect_tcp_ok_and_refused(void **state)
{
	(void)state;
	struct sockaddr_in a;
	int l = listener(&a, 4);
	unsigned before = conn_count();
	struct conn *c = conn_connect(&w, (struct sockaddr *)&a, sizeof(a), 2000, &ops, NULL);
	assert_non_null(c);
	assert_int_equal(r.connects, 0); /* never from inside conn_connect */
	assert_int_equal(conn_count(), before); /* outbound: not counted */
	RUN_UNTIL(r.connects == 1);
	assert_true(r.connect_ok);
	assert_string_equal(conn_peer_ip(c).s, "127.0.0.1");
	int s = accept(l, NULL, NULL);
	char buf[4];
	assert_int_equal(read(s, buf, 2), 2);
	assert_memory_equal(buf, "hi", 2);
	assert_int_equal(write(s, "yo", 2), 2);
	RUN_UNTIL(r.got_len == 2);
	close(s);
	RUN_UNTIL(r.freed == 1);
	close(l);

	/* Nobody listens there any more: ECONNREFUSED, then freed. */
	memset(&r, 0, offsetof(struct rec, got));
	c = conn_connect(&w, (struct sockaddr *)&a, sizeof(a), 2000, &ops, NULL);
	assert_non_null(c);
	RUN_UNTIL(r.freed == 1);
	assert_int_equal(r.connects, 1);
	assert_false(r.connect_ok);
	assert_int_equal(r.connect_err, ECONNREFUSED);
}

static void test_connect_unix(void **state)
{
	(void)state;
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	snprintf(un.sun_path, sizeof(un.sun_path), "/tmp/triad-test-conn-%d.sock", (int)getpid());
	unlink(un.sun_path);
	/* No such socket: ENOENT, reported from the loop. */
	struct conn *c = conn_connect(&w, (struct sockaddr *)&un, sizeof(un), 1000, &ops, NULL);
	assert_non_null(c);
	assert_int_equal(r.connects, 0);
	RUN_UNTIL(r.freed == 1);
	assert_false(r.connect_ok);
	assert_int_equal(r.connect_err, ENOENT);

	memset(&r, 0, offsetof(struct rec, got));
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(l, (struct sockaddr *)&un, sizeof(un)), 0);
	assert_int_equal(listen(l, 4), 0);
	c = conn_connect(&w, (struct sockaddr *)&un, sizeof(un), 1000, &ops, NULL);
	assert_non_null(c);
	RUN_UNTIL(r.connects == 1);
	assert_true(r.connect_ok);
	assert_true(strncmp(conn_peer_ip(c).s, "unix:", 5) == 0);
	int s = accept(l, NULL, NULL);
	char buf[2];
	assert_int_equal(read(s, buf, 2), 2);
	conn_close(c);
	RUN_UNTIL(r.freed == 1);
	close(s);
	close(l);
	unlink(un.sun_path);
}

/* Both ends conns: an outbound conn over a unix socket speaks TLS as the
 * client (conn_start_tls_client, queued before the connect ends) to an
 * accepted TLS conn; its half-close sends close_notify, which the server end
 * reports as a complete stream (RFC 8446 §6.1). */
static void test_connect_tls_client_and_half_close(void **state)
{
	(void)state;
	r.ctx = server_ctx();
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	snprintf(un.sun_path, sizeof(un.sun_path), "/tmp/triad-test-conn-tls-%d.sock",
	         (int)getpid());
	unlink(un.sun_path);
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(l, (struct sockaddr *)&un, sizeof(un)), 0);
	assert_int_equal(listen(l, 4), 0);
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	struct conn *cl = conn_connect(&w, (struct sockaddr *)&un, sizeof(un), 1000, &ops, NULL);
	assert_non_null(cl);
	assert_int_equal(conn_start_tls_client(cl, cctx, "localhost"), 0);
	SSL_CTX_free(cctx); /* the SSL keeps a reference */
	int s = accept(l, NULL, NULL);
	assert_true(s >= 0);
	struct conn *sv = wrap(s, r.ctx, &ops);
	RUN_UNTIL(r.connects == 1 && r.tls_ok == 2);
	assert_true(r.connect_ok);
	/* on_connect queued "hi" before the handshake: it leaves encrypted after it. */
	RUN_UNTIL(r.got_len == 2);
	assert_memory_equal(r.got, "hi", 2);
	assert_int_equal(conn_write(sv, "answer", 6), 0);
	RUN_UNTIL(r.got_len == 8);
	assert_memory_equal(r.got + 2, "answer", 6);
	assert_int_equal(conn_shutdown_write(cl), 0);
	RUN_UNTIL(r.eofs == 1);
	assert_int_equal(r.eof_kind, CONN_EOF_CLOSE_NOTIFY);
	assert_false(r.eof_error);
	RUN_UNTIL(r.freed == 1); /* the server end, after its clean EOF */
	RUN_UNTIL(r.eofs == 2);  /* the client end hears the server's own close_notify */
	assert_int_equal(r.eof_kind, CONN_EOF_CLOSE_NOTIFY);
	RUN_UNTIL(r.freed == 2);
	close(l);
	unlink(un.sun_path);
}

/* A listener whose accept queue is full drops SYNs: the connect times out. */
static void test_connect_timeout(void **state)
{
	(void)state;
	struct sockaddr_in a;
	int l = listener(&a, 0);
	int fill[4];
	for (int i = 0; i < 4; i++) {
		fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		connect(fill[i], (struct sockaddr *)&a, sizeof(a));
	}
	usleep(50000);
	struct conn *c = conn_connect(&w, (struct sockaddr *)&a, sizeof(a), 100, &ops, NULL);
	assert_non_null(c);
	RUN_UNTIL(r.freed == 1);
	assert_int_equal(r.connects, 1);
	assert_false(r.connect_ok);
	assert_int_equal(r.connect_err, ETIMEDOUT);
	for (int i = 0; i < 4; i++)
		close(fill[i]);
	close(l);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN); /* as the daemons: a write to a gone peer is EPIPE */
	/* Before OpenSSL allocates anything (it refuses later). */
	if (!CRYPTO_set_mem_functions(count_malloc, count_realloc, count_free))
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_partial_writes_slow_reader, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_body_behind_head, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_max_bounds_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peer_never_reads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peer_half_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shutdown_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_with_unread_input_lingers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls_echo_tiny_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls_stale_error_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls_close_notify_truncation_reset, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_tls_close_sends_close_notify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls_renegotiation_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls_write_file_in_pieces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls_handshake_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_during_handshake_is_immediate, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_starttls_pipelined_plaintext_discarded, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_starttls_big_plaintext_reply_first, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_tls_read_max_resumes_from_ssl_buffer, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_tls_park_and_wake, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls_keep_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls_parked_idle_timeout_sends_close_notify, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_tls_park_refused_with_bytes_in_ssl, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_connect_tcp_ok_and_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connect_unix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connect_tls_client_and_half_close, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_connect_timeout, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
