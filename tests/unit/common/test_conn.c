/*
 * conn: the bounded line reader, connection limits, graceful close, the
 * TLS-upgrade input discard, over a real socketpair and event loop (parking:
 * test_park.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>
#include <event2/event.h>

#include "triad/conn.h"
#include "triad/net.h"
#include "triad/server.h"

#include "conn_fixture.h"

static void test_read_line_rows(void **state)
{
	struct fixture *f = *state;
	static const struct {
		int line;
		enum conn_eol eol;
		size_t cap;
		const char *in;
		enum conn_line want;
		const char *out; /* expected line when OK */
		size_t left;     /* bytes left in the input afterwards */
	} rows[] = {
		{__LINE__, CONN_EOL_CRLF, 16, "HELO x\r\n", CONN_LINE_OK, "HELO x", 0},
		{__LINE__, CONN_EOL_CRLF, 16, "HELO x\r\nNOOP\r\n", CONN_LINE_OK, "HELO x", 6},
		{__LINE__, CONN_EOL_CRLF, 16, "HELO x", CONN_LINE_AGAIN, NULL, 6},
		{__LINE__, CONN_EOL_CRLF, 16, "HELO x\r", CONN_LINE_AGAIN, NULL, 7},
		/* A bare LF does not end a CRLF line: it stays for the caller to refuse. */
		{__LINE__, CONN_EOL_CRLF, 16, "A\nB\r\n", CONN_LINE_OK, "A\nB", 0},
		{__LINE__, CONN_EOL_LF, 16, "USER a\n", CONN_LINE_OK, "USER a", 0},
		{__LINE__, CONN_EOL_LF, 16, "USER a\r\n", CONN_LINE_OK, "USER a", 0},
		{__LINE__, CONN_EOL_LF, 16, "\r\n", CONN_LINE_OK, "", 0},
		/* cap 8: lines of up to 7 bytes. */
		{__LINE__, CONN_EOL_CRLF, 8, "1234567\r\n", CONN_LINE_OK, "1234567", 0},
		{__LINE__, CONN_EOL_CRLF, 8, "12345678\r\n", CONN_LINE_TOO_LONG, NULL, 0},
		{__LINE__, CONN_EOL_LF, 8, "12345678\n", CONN_LINE_TOO_LONG, NULL, 0},
		/* Over the limit without a terminator: refused before it arrives. */
		{__LINE__, CONN_EOL_CRLF, 8, "123456789", CONN_LINE_TOO_LONG, NULL, 0},
		/* ...keeping a trailing CR, whose LF may come next. */
		{__LINE__, CONN_EOL_CRLF, 8, "123456789\r", CONN_LINE_TOO_LONG, NULL, 1},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char buf[64];
		size_t len = 99;
		struct evbuffer *in = conn_input(f->c);
		evbuffer_drain(in, evbuffer_get_length(in));
		f->c->discard_line = 0;
		feed(f, rows[i].in, strlen(rows[i].in));
		enum conn_line got = conn_read_line(f->c, rows[i].eol, buf, rows[i].cap, &len);
		if (got != rows[i].want)
			fail_msg("row at line %d: got %d want %d", rows[i].line, got, rows[i].want);
		if (got == CONN_LINE_OK &&
		    (len != strlen(rows[i].out) || memcmp(buf, rows[i].out, len) != 0))
			fail_msg("row at line %d: line '%.*s'", rows[i].line, (int)len, buf);
		if (evbuffer_get_length(in) != rows[i].left)
			fail_msg("row at line %d: %zu bytes left, want %zu", rows[i].line,
			         evbuffer_get_length(in), rows[i].left);
	}
}

/* An overlong line is reported once, then skipped through its end, even in pieces. */
static void test_overlong_line_skipped_across_reads(void **state)
{
	struct fixture *f = *state;
	char buf[8];
	size_t len;
	feed(f, "AAAAAAAAAAAA", 12);
	assert_int_equal(conn_read_line(f->c, CONN_EOL_CRLF, buf, sizeof(buf), &len),
	                 CONN_LINE_TOO_LONG);
	feed(f, "BBBB\r", 5);
	assert_int_equal(conn_read_line(f->c, CONN_EOL_CRLF, buf, sizeof(buf), &len),
	                 CONN_LINE_AGAIN);
	feed(f, "\nQUIT\r\n", 7);
	assert_int_equal(conn_read_line(f->c, CONN_EOL_CRLF, buf, sizeof(buf), &len),
	                 CONN_LINE_OK);
	assert_string_equal(buf, "QUIT");
}

/* conn_close flushes what was queued, then frees (deferred, never inline). */
static void test_close_flushes_then_frees(void **state)
{
	struct fixture *f = *state;
	conn_printf(f->c, "421 bye\r\n");
	conn_close(f->c);
	assert_int_equal(f->freed, 0);
	assert_true(conn_is_closing(f->c));
	assert_int_equal(conn_write(f->c, "x", 1), -1); /* nothing more after close */
	for (int i = 0; i < 10 && !f->freed; i++)
		event_base_loop(f->w.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	assert_int_equal(f->freed, 1);
	char got[32] = {0};
	assert_int_equal(read(f->peer, got, sizeof(got)), 9);
	assert_string_equal(got, "421 bye\r\n");
	assert_int_equal(read(f->peer, got, sizeof(got)), 0); /* closed */
}

/* STARTTLS: plaintext already buffered is dropped, never read as TLS. */
static void test_start_tls_discards_buffered_plaintext(void **state)
{
	struct fixture *f = *state;
	feed(f, "MAIL FROM:<evil@x>\r\n", 20);
	assert_int_equal(conn_start_tls(f->c, NULL), -1); /* no context: refused */
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	assert_int_equal(conn_start_tls(f->c, ctx), 20);
	assert_true(conn_is_tls(f->c));
	assert_int_equal(evbuffer_get_length(conn_input(f->c)), 0);
	SSL_CTX_free(ctx);
}

static void test_limits_per_ip(void **state)
{
	(void)state;
	struct worker w = {0};
	w.base = event_base_new();
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	struct sockaddr_in b = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000002)};
	struct conn *c[4];
	int fds[4][2];
	conn_limits_set(3, 2, NULL, 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds[i]), 0);
		const struct sockaddr_in *peer = i == 3 ? &b : &a;
		c[i] = conn_new(&w, fds[i][0], (const struct sockaddr *)peer, sizeof(*peer), NULL,
		                true);
		assert_non_null(c[i]);
	}
	assert_false(conn_is_refused(c[0]));
	assert_false(conn_is_refused(c[1]));
	assert_true(conn_is_refused(c[2]));  /* third from the same IP */
	assert_false(conn_is_refused(c[3])); /* another IP still fits the total of 3 */
	assert_int_equal(conn_count(), 3);
	for (int i = 0; i < 4; i++)
		conn_abort(c[i]);
	event_base_loop(w.base, EVLOOP_NONBLOCK);
	assert_int_equal(conn_count(), 0);
	assert_int_equal(w.nconns, 0);
	for (int i = 0; i < 4; i++)
		close(fds[i][1]);
	event_base_free(w.base);
	conn_limits_set(0, 0, NULL, 0);
}

/* conn_peer_ip's text: IPv4 dotted-quad without leading zeros (RFC 4001 §3,
 * the form inet_ntop gives, which it now is formatted without), a v4-mapped
 * IPv6 peer shown as IPv4, other IPv6 as RFC 5952 text. */
static void test_peer_ip_text(void **state)
{
	(void)state;
	static const struct {
		int line;
		const char *in;   /* an IPv4 or IPv6 address */
		const char *want; /* conn_peer_ip(c).s */
	} rows[] = {
	    {__LINE__, "0.0.0.0", "0.0.0.0"},
	    {__LINE__, "127.0.0.1", "127.0.0.1"},
	    {__LINE__, "255.255.255.255", "255.255.255.255"},
	    {__LINE__, "10.9.99.100", "10.9.99.100"},
	    {__LINE__, "192.0.2.200", "192.0.2.200"},
	    {__LINE__, "1.20.109.250", "1.20.109.250"},
	    {__LINE__, "::ffff:198.51.100.7", "198.51.100.7"},
	    {__LINE__, "::ffff:0.0.0.10", "0.0.0.10"},
	    {__LINE__, "2001:db8::1", "2001:db8::1"},
	    {__LINE__, "::1", "::1"},
	};
	struct worker w = {0};
	w.base = event_base_new();
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct sockaddr_storage ss = {0};
		socklen_t len;
		struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
		struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
		if (inet_pton(AF_INET, rows[i].in, &v4->sin_addr) == 1) {
			v4->sin_family = AF_INET;
			len = sizeof(*v4);
		} else {
			assert_int_equal(inet_pton(AF_INET6, rows[i].in, &v6->sin6_addr), 1);
			v6->sin6_family = AF_INET6;
			len = sizeof(*v6);
		}
		int fds[2];
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
		struct conn *c = conn_new(&w, fds[0], (const struct sockaddr *)&ss, len, NULL, true);
		assert_non_null(c);
		if (strcmp(conn_peer_ip(c).s, rows[i].want) != 0)
			fail_msg("row at line %d: got \"%s\", want \"%s\"", rows[i].line,
			         conn_peer_ip(c).s, rows[i].want);
		conn_abort(c);
		event_base_loop(w.base, EVLOOP_NONBLOCK);
		close(fds[1]);
	}
	event_base_free(w.base);
}

/* IPv6 peers count per /64; a v4-mapped address counts as its IPv4 address. */
static void test_limits_ipv6_prefix(void **state)
{
	(void)state;
	struct worker w = {0};
	w.base = event_base_new();
	struct sockaddr_in6 p[4] = {{.sin6_family = AF_INET6}, {.sin6_family = AF_INET6},
	                            {.sin6_family = AF_INET6}, {.sin6_family = AF_INET6}};
	inet_pton(AF_INET6, "2001:db8:1:2::1", &p[0].sin6_addr);
	inet_pton(AF_INET6, "2001:db8:1:2:ffff::9", &p[1].sin6_addr); /* same /64 */
	inet_pton(AF_INET6, "2001:db8:1:3::1", &p[2].sin6_addr);      /* another /64 */
	inet_pton(AF_INET6, "::ffff:192.0.2.7", &p[3].sin6_addr);     /* mapped IPv4 */
	struct conn *c[4];
	int fds[4][2];
	conn_limits_set(0, 1, NULL, 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds[i]), 0);
		c[i] = conn_new(&w, fds[i][0], (const struct sockaddr *)&p[i], sizeof(p[i]), NULL,
		                true);
		assert_non_null(c[i]);
	}
	assert_false(conn_is_refused(c[0]));
	assert_true(conn_is_refused(c[1]));
	assert_false(conn_is_refused(c[2]));
	assert_false(conn_is_refused(c[3]));
	for (int i = 0; i < 4; i++) {
		conn_abort(c[i]);
		close(fds[i][1]);
	}
	event_base_loop(w.base, EVLOOP_NONBLOCK);
	assert_int_equal(conn_count(), 0);
	event_base_free(w.base);
	conn_limits_set(0, 0, NULL, 0);
}

/* interface.md: "A connection counts toward its address's limit only while it
 * is open": the slot comes back when the conn starts closing (its last reply
 * may still be on the way), not when the deferred free runs. */
static void test_limits_slot_free_at_close(void **state)
{
	(void)state;
	struct worker w = {0};
	w.base = event_base_new();
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0xc0000201)};
	int fds[3][2];
	struct conn *c[3];
	conn_limits_set(0, 1, NULL, 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds[i]), 0);
	c[0] = conn_new(&w, fds[0][0], (const struct sockaddr *)&a, sizeof(a), NULL, true);
	assert_false(conn_is_refused(c[0]));
	conn_printf(c[0], "221 bye\r\n");
	conn_close(c[0]); /* closing, not yet freed (no loop has run) */
	assert_int_equal(conn_count(), 0);
	c[1] = conn_new(&w, fds[1][0], (const struct sockaddr *)&a, sizeof(a), NULL, true);
	assert_false(conn_is_refused(c[1])); /* the slot came back at conn_close */
	conn_abort(c[1]);
	c[2] = conn_new(&w, fds[2][0], (const struct sockaddr *)&a, sizeof(a), NULL, true);
	assert_false(conn_is_refused(c[2])); /* ... and at conn_abort */
	conn_abort(c[2]);
	for (int i = 0; i < 5; i++)
		event_base_loop(w.base, EVLOOP_NONBLOCK);
	assert_int_equal(conn_count(), 0);
	assert_int_equal(w.nconns, 0);
	for (int i = 0; i < 3; i++)
		close(fds[i][1]);
	event_base_free(w.base);
	conn_limits_set(0, 0, NULL, 0);
}

/* The per-IP refusal and "closed with input unread" are separate states: a
 * refused conn closes at once (no lingering, RFC 9112 §9.6 applies only to
 * unread input), and a conn closed with input unread is not "refused". */
static void keep_input(struct conn *c)
{
	(void)c; /* leaves what arrived in the input */
}

static void test_refused_per_ip_is_not_unread(void **state)
{
	static const struct conn_ops keep_ops = {.on_read = keep_input};
	(void)state;
	struct worker w = {0};
	w.base = event_base_new();
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0xc0000202)};
	int fds[2][2];
	struct conn *c[2];
	conn_limits_set(0, 1, NULL, 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds[i]), 0);
		c[i] = conn_new(&w, fds[i][0], (const struct sockaddr *)&a, sizeof(a), NULL, true);
		assert_non_null(c[i]);
	}
	assert_false(conn_refused_per_ip(c[0]));
	assert_true(conn_refused_per_ip(c[1]));
	c[0]->ops = &keep_ops;
	/* c[0]: input arrives and is left unread, then the conn closes. */
	assert_int_equal(write(fds[0][1], "GET / HTTP/1.1\r\n", 16), 16);
	for (int i = 0; i < 5 && conn_in_len(c[0]) == 0; i++)
		event_base_loop(w.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	assert_int_equal(conn_in_len(c[0]), 16);
	conn_close(c[0]);
	assert_false(conn_refused_per_ip(c[0]));
	/* c[1]: the refusal goes out and the conn is freed without waiting for the
	 * peer's EOF (its peer never closes here). */
	conn_printf(c[1], "421 too many\r\n");
	conn_close(c[1]);
	for (int i = 0; i < 10 && w.nconns > 1; i++)
		event_base_loop(w.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	assert_int_equal(w.nconns, 1); /* c[1] gone; c[0] lingers for its peer's EOF */
	char got[32] = {0};
	assert_int_equal(read(fds[1][1], got, sizeof(got)), 14);
	assert_int_equal(read(fds[1][1], got, sizeof(got)), 0);
	conn_abort(c[0]);
	for (int i = 0; i < 5; i++)
		event_base_loop(w.base, EVLOOP_NONBLOCK);
	assert_int_equal(w.nconns, 0);
	for (int i = 0; i < 2; i++)
		close(fds[i][1]);
	event_base_free(w.base);
	conn_limits_set(0, 0, NULL, 0);
}

/* limits_exempt: no per-IP limit for listed networks (IPv4 given as a v4
 * network matches a v4-mapped peer too); they still count in the total. */
static void test_limits_exempt(void **state)
{
	(void)state;
	struct worker w = {0};
	w.base = event_base_new();
	struct net_cidr nets[2];
	assert_int_equal(net_parse_cidr("127.0.0.0/8", &nets[0]), 0);
	assert_int_equal(net_parse_cidr("2001:db8::/32", &nets[1]), 0);
	struct sockaddr_in lo = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000002)};
	struct sockaddr_in6 mapped = {.sin6_family = AF_INET6}, v6 = {.sin6_family = AF_INET6},
	                    other = {.sin6_family = AF_INET6};
	inet_pton(AF_INET6, "::ffff:127.0.0.9", &mapped.sin6_addr);
	inet_pton(AF_INET6, "2001:db8:5::1", &v6.sin6_addr);
	inet_pton(AF_INET6, "2001:db9::1", &other.sin6_addr);
	const struct sockaddr *peers[7] = {
	    (const struct sockaddr *)&lo,     (const struct sockaddr *)&lo,
	    (const struct sockaddr *)&mapped, (const struct sockaddr *)&v6,
	    (const struct sockaddr *)&v6,     (const struct sockaddr *)&other,
	    (const struct sockaddr *)&other};
	const bool refused[7] = {false, false, false, false, false, false, true};
	struct conn *c[7];
	int fds[7][2];
	conn_limits_set(7, 1, nets, 2);
	for (int i = 0; i < 7; i++) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds[i]), 0);
		socklen_t len = peers[i]->sa_family == AF_INET ? sizeof(lo) : sizeof(v6);
		c[i] = conn_new(&w, fds[i][0], peers[i], len, NULL, true);
		assert_non_null(c[i]);
		if (conn_is_refused(c[i]) != refused[i])
			fail_msg("peer %d: refused=%d, want %d", i, conn_is_refused(c[i]), refused[i]);
	}
	assert_int_equal(conn_count(), 6);
	/* The total still applies to exempt peers. */
	int fd2[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fd2), 0);
	conn_limits_set(6, 1, nets, 2);
	struct conn *extra = conn_new(&w, fd2[0], peers[0], sizeof(lo), NULL, true);
	assert_true(conn_is_refused(extra));
	conn_abort(extra);
	close(fd2[1]);
	for (int i = 0; i < 7; i++) {
		conn_abort(c[i]);
		close(fds[i][1]);
	}
	event_base_loop(w.base, EVLOOP_NONBLOCK);
	assert_int_equal(conn_count(), 0);
	event_base_free(w.base);
	conn_limits_set(0, 0, NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read_line_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlong_line_skipped_across_reads, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_close_flushes_then_frees, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_tls_discards_buffered_plaintext, setup,
		                                teardown),
		cmocka_unit_test(test_limits_per_ip),
		cmocka_unit_test(test_limits_ipv6_prefix),
		cmocka_unit_test(test_limits_slot_free_at_close),
		cmocka_unit_test(test_limits_exempt),
		cmocka_unit_test(test_peer_ip_text),
		cmocka_unit_test(test_refused_per_ip_is_not_unread),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
