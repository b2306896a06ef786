/*
 * conn_buf: the protocol-facing byte API of struct conn over a real
 * socketpair and event loop: reading (peek, chunk, copy, consume, the
 * bounded search, read, straight to a file), and writing an iobuf and file
 * ranges (sendfile and copied), including a file given up while its range
 * is still queued and a file shorter than promised; building output in
 * place (reserve/commit), bytes queued by reference, and input moved from
 * one conn to another's output (relays) with reading resumed behind it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/event.h>

#include "triad/conn.h"
#include "triad/iobuf.h"
#include "triad/limits.h"

#include "conn_fixture.h"

/* The fixture with the test's end non-blocking: receive() polls it. */
static int setup_nb(void **state)
{
	setup(state);
	struct fixture *f = *state;
	fcntl(f->peer, F_SETFL, O_NONBLOCK);
	return 0;
}

/* Runs the loop and reads from FD (a non-blocking peer end) until WANT bytes arrived. */
static void receive_on(struct fixture *f, int fd, char *buf, size_t want)
{
	size_t got = 0;
	for (int i = 0; i < 100000 && got < want; i++) {
		event_base_loop(f->w.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		ssize_t n = read(fd, buf + got, want - got);
		if (n > 0)
			got += (size_t)n;
		else
			assert_true(n < 0 && errno == EAGAIN);
	}
	assert_int_equal(got, want);
}

/* Runs the loop and reads what the conn sends until WANT bytes arrived. */
static void receive(struct fixture *f, char *buf, size_t want)
{
	receive_on(f, f->peer, buf, want);
	/* Nothing more than promised. */
	event_base_loop(f->w.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	char extra;
	assert_int_equal(read(f->peer, &extra, 1), -1);
}

/* Input in several pieces of the buffer (one chain each), as reads leave it.
 * Put in at the front: conn.c keeps the input's end for its own reads. */
static void add_pieces(struct fixture *f, const char *const *pieces, size_t n)
{
	assert_int_equal(conn_in_len(f->c), 0);
	struct evbuffer *tmp = evbuffer_new();
	for (size_t i = 0; i < n; i++)
		evbuffer_add_reference(tmp, pieces[i], strlen(pieces[i]), NULL, NULL);
	assert_int_equal(evbuffer_prepend_buffer(conn_input(f->c), tmp), 0);
	evbuffer_free(tmp);
}

static void test_peek_chunk_copy_consume(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(conn_in_len(f->c), 0);
	size_t len = 99;
	assert_null(conn_in_chunk(f->c, &len));
	assert_int_equal(len, 0);
	assert_null(conn_in_peek(f->c, 1));
	/* Zero bytes are buffered even when nothing is (found by fuzz_common_line). */
	assert_non_null(conn_in_peek(f->c, 0));

	static const char *const pieces[] = {"GET / HT", "TP/1.1\r\n", "Host: x\r\n\r\n"};
	add_pieces(f, pieces, 3);
	assert_int_equal(conn_in_len(f->c), 27);
	/* chunk: the first piece as it lies, nothing gathered. */
	const char *p = conn_in_chunk(f->c, &len);
	assert_int_equal(len, 8);
	assert_memory_equal(p, "GET / HT", 8);
	/* peek: gathered into one run across the pieces, not consumed. */
	p = conn_in_peek(f->c, 16);
	assert_non_null(p);
	assert_memory_equal(p, "GET / HTTP/1.1\r\n", 16);
	assert_null(conn_in_peek(f->c, 28)); /* more than is buffered */
	char got[32] = {0};
	assert_int_equal(conn_in_copy(f->c, got, 14), 14);
	assert_string_equal(got, "GET / HTTP/1.1");
	assert_int_equal(conn_in_len(f->c), 27);
	assert_int_equal(conn_in_consume(f->c, 16), 16);
	p = conn_in_peek(f->c, conn_in_len(f->c));
	assert_memory_equal(p, "Host: x\r\n\r\n", 11);
	assert_int_equal(conn_in_consume(f->c, SIZE_MAX), 11); /* clipped: empties it */
	assert_int_equal(conn_in_len(f->c), 0);
	assert_int_equal(conn_in_consume(f->c, 5), 0);
}

static void test_find_is_bounded(void **state)
{
	struct fixture *f = *state;
	static const char *const pieces[] = {"MAIL FROM:<a@b>\r", "\nRCPT TO:<c@d>\r\n"};
	add_pieces(f, pieces, 2);
	/* Across the boundary between two pieces. */
	assert_int_equal(conn_in_find(f->c, "\r\n", 2, SIZE_MAX), 15);
	/* The match must lie wholly within MAX: ending at 17 needs MAX >= 17. */
	assert_int_equal(conn_in_find(f->c, "\r\n", 2, 17), 15);
	assert_int_equal(conn_in_find(f->c, "\r\n", 2, 16), -1);
	assert_int_equal(conn_in_find(f->c, "RCPT", 4, 100), 17);
	assert_int_equal(conn_in_find(f->c, "DATA", 4, 100), -1);
	assert_int_equal(conn_in_find(f->c, "", 0, 100), -1);
	assert_int_equal(conn_in_find(f->c, "MAIL", 4, 3), -1); /* longer than MAX */
	assert_int_equal(conn_in_len(f->c), 32); /* nothing consumed */
}

static void test_read_block_bounded(void **state)
{
	struct fixture *f = *state;
	feed(f, "0123456789abcdef", 16);
	char got[32] = {0};
	assert_int_equal(conn_in_read(f->c, got, 10), 10);
	assert_string_equal(got, "0123456789");
	assert_int_equal(conn_in_len(f->c), 6);
	memset(got, 0, sizeof(got));
	assert_int_equal(conn_in_read(f->c, got, sizeof(got)), 6);
	assert_string_equal(got, "abcdef");
	assert_int_equal(conn_in_read(f->c, got, sizeof(got)), 0);
}

static void test_input_to_file(void **state)
{
	struct fixture *f = *state;
	char path[] = "/tmp/triad-conn-buf-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	static const char *const pieces[] = {"first ", "second ", "third"};
	add_pieces(f, pieces, 3);
	/* At most MAX: the rest stays buffered. */
	assert_int_equal(conn_in_to_fd(f->c, fd, 9), 9);
	assert_int_equal(conn_in_len(f->c), 9);
	assert_int_equal(conn_in_to_fd(f->c, fd, SIZE_MAX), 9);
	assert_int_equal(conn_in_len(f->c), 0);
	assert_int_equal(conn_in_to_fd(f->c, fd, SIZE_MAX), 0);
	char got[32] = {0};
	assert_int_equal(pread(fd, got, sizeof(got), 0), 18);
	assert_string_equal(got, "first second third");
	close(fd);
	/* A descriptor that cannot be written: -errno, the input kept. */
	feed(f, "kept", 4);
	assert_int_equal(conn_in_to_fd(f->c, -1, SIZE_MAX), -EBADF);
	assert_int_equal(conn_in_len(f->c), 4);
}

static void test_write_iobuf_moves(void **state)
{
	struct fixture *f = *state;
	struct iobuf *b = iobuf_new(1024);
	iobuf_printf(b, "%d %s\r\n", 200, "listing follows");
	conn_write(f->c, "head:", 5);
	assert_int_equal(conn_write_iobuf(f->c, b), 0);
	assert_int_equal(iobuf_len(b), 0); /* moved, and the iobuf is reusable */
	iobuf_add_str(b, "tail\n");
	assert_int_equal(conn_write_iobuf(f->c, b), 0);
	char got[64] = {0};
	receive(f, got, 5 + 21 + 5);
	assert_string_equal(got, "head:200 listing follows\r\ntail\n");
	/* A closing conn takes nothing: the iobuf keeps its bytes. */
	iobuf_add_str(b, "late");
	conn_close(f->c);
	assert_int_equal(conn_write_iobuf(f->c, b), -1);
	assert_int_equal(iobuf_len(b), 4);
	iobuf_free(b);
	for (int i = 0; i < 10 && !f->freed; i++)
		event_base_loop(f->w.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
}

/* After a half-close the conn takes no more output, as conn_write: an iobuf
 * keeps its bytes and a file range is refused. */
static void test_no_output_after_half_close(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(conn_shutdown_write(f->c), 0);
	assert_int_equal(conn_write(f->c, "x", 1), -1);
	struct iobuf *b = iobuf_new(64);
	iobuf_add_str(b, "kept");
	assert_int_equal(conn_write_iobuf(f->c, b), -1);
	assert_int_equal(iobuf_len(b), 4);
	iobuf_free(b);
	char path[] = "/tmp/triad-conn-buf-XXXXXX";
	int fd = mkstemp(path);
	unlink(path);
	assert_int_equal(write(fd, "0123456789", 10), 10);
	struct conn_file *file = conn_file_new(fd, 10);
	assert_int_equal(conn_write_file(f->c, file, 0, 10), -1);
	conn_file_free(file);
	/* The peer sees the FIN and nothing before it. */
	char got;
	for (int i = 0; i < 100; i++) {
		event_base_loop(f->w.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		ssize_t n = read(f->peer, &got, 1);
		if (n == 0)
			return;
		assert_true(n < 0 && errno == EAGAIN);
		usleep(1000);
	}
	fail_msg("no FIN after conn_shutdown_write");
}

/* A temporary file of SIZE bytes of a known pattern. */
static int pattern_file(size_t size)
{
	char path[] = "/tmp/triad-conn-buf-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	char block[4096];
	for (size_t off = 0; off < size; off += sizeof(block)) {
		for (size_t i = 0; i < sizeof(block); i++)
			block[i] = (char)((off + i) * 7 % 251);
		size_t n = size - off < sizeof(block) ? size - off : sizeof(block);
		assert_int_equal(write(fd, block, n), (ssize_t)n);
	}
	return fd;
}

static void check_pattern(const char *buf, size_t off, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] != (char)((off + i) * 7 % 251))
			fail_msg("byte %zu of the range differs", i);
}

/* Plain: a large range goes as sendfile, a small one is copied; both arrive
 * behind the head, and the file can be given up while its range is queued. */
static void test_write_file_ranges(void **state)
{
	struct fixture *f = *state;
	size_t size = 3 * TRIAD_CONN_FILE_COPY_MAX + 123;
	int fd = pattern_file(size);
	struct conn_file *file = conn_file_new(fd, size);
	assert_non_null(file);
	conn_write(f->c, "HEAD", 4);
	uint64_t big_off = 1000, big_len = 2 * TRIAD_CONN_FILE_COPY_MAX + 7;
	assert_int_equal(conn_write_file(f->c, file, big_off, big_len), (int64_t)big_len);
	uint64_t small_off = 17, small_len = 100;
	assert_int_equal(conn_write_file(f->c, file, small_off, small_len), (int64_t)small_len);
	/* Past the end of the file: refused, nothing queued. */
	assert_int_equal(conn_write_file(f->c, file, size - 10, 11), -1);
	assert_int_equal(conn_write_file(f->c, file, size + 1, 0), -1);
	conn_file_free(file); /* the queued sendfile range keeps the descriptor */
	size_t want = 4 + big_len + small_len;
	char *got = malloc(want);
	receive(f, got, want);
	assert_memory_equal(got, "HEAD", 4);
	check_pattern(got + 4, big_off, big_len);
	check_pattern(got + 4 + big_len, small_off, small_len);
	free(got);
	/* ... and closes it once that range has been sent. */
	assert_int_equal(fcntl(fd, F_GETFD), -1);
	assert_int_equal(errno, EBADF);
}

/* A file shorter than the caller was told: a copied range fails, never
 * queues bytes that are not there. */
static void test_write_file_truncated(void **state)
{
	struct fixture *f = *state;
	int fd = pattern_file(100);
	struct conn_file *file = conn_file_new(fd, 5000);
	assert_int_equal(conn_write_file(f->c, file, 50, 200), -1);
	assert_int_equal(conn_write_file(f->c, file, 0, 100), 100);
	conn_file_free(file);
	assert_int_equal(fcntl(fd, F_GETFD), -1); /* never sent with sendfile: closed now */
	char got[100];
	receive(f, got, 100);
	check_pattern(got, 0, 100);
}

/* ---- building output in place, bytes by reference, moving between conns ---- */

/* A head written straight into the output: only the committed part leaves,
 * a reservation committed empty sends nothing, and a closing conn gives no
 * space. A reservation is one contiguous run whatever its size. */
static void test_reserve_commit(void **state)
{
	struct fixture *f = *state;
	conn_write(f->c, "a:", 2);
	char *p = conn_out_reserve(f->c, 4096);
	assert_non_null(p);
	memcpy(p, "GET / HTTP/1.1\r\n\r\n", 18);
	assert_int_equal(conn_out_commit(f->c, p, 18), 0);
	assert_int_equal(conn_output_pending(f->c), 20);
	p = conn_out_reserve(f->c, 100);
	assert_non_null(p);
	memcpy(p, "never", 5);
	assert_int_equal(conn_out_commit(f->c, p, 0), 0);
	assert_int_equal(conn_output_pending(f->c), 20);
	char got[32] = {0};
	receive(f, got, 20);
	assert_string_equal(got, "a:GET / HTTP/1.1\r\n\r\n");
	/* larger than any one piece of the buffer: still contiguous */
	size_t big = 300 * 1024;
	p = conn_out_reserve(f->c, big);
	assert_non_null(p);
	for (size_t i = 0; i < big; i++)
		p[i] = (char)('a' + i % 26);
	assert_int_equal(conn_out_commit(f->c, p, big), 0);
	char *all = malloc(big);
	receive(f, all, big);
	for (size_t i = 0; i < big; i++)
		if (all[i] != (char)('a' + i % 26))
			fail_msg("byte %zu of the reservation differs", i);
	free(all);
	conn_close(f->c);
	assert_null(conn_out_reserve(f->c, 10));
	for (int i = 0; i < 10 && !f->freed; i++)
		event_base_loop(f->w.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
}

static int ref_done_calls;
static void ref_done(const void *data, size_t len, void *arg)
{
	assert_ptr_equal(arg, &ref_done_calls);
	assert_int_equal(len, strlen(data));
	ref_done_calls++;
}

/* Bytes queued by reference arrive in order with copied ones; DONE runs
 * once after they left; a refused write never calls it, and bytes the conn
 * drops (abort) call it when the conn is freed. */
static void test_write_ref(void **state)
{
	struct fixture *f = *state;
	static const char body[] = "cached body";
	ref_done_calls = 0;
	conn_write(f->c, "head|", 5);
	assert_int_equal(conn_write_ref(f->c, body, strlen(body), ref_done, &ref_done_calls), 0);
	conn_write(f->c, "|tail", 5);
	assert_int_equal(ref_done_calls, 0); /* still queued */
	char got[32] = {0};
	receive(f, got, 21);
	assert_string_equal(got, "head|cached body|tail");
	assert_int_equal(ref_done_calls, 1);
	/* dropped unsent: released with the conn */
	assert_int_equal(conn_shutdown_write(f->c), 0);
	assert_int_equal(conn_write_ref(f->c, body, strlen(body), ref_done, &ref_done_calls), -1);
	assert_int_equal(ref_done_calls, 1);
}

static void test_write_ref_dropped_on_abort(void **state)
{
	struct fixture *f = *state;
	static const char body[] = "never read";
	ref_done_calls = 0;
	/* a peer that never reads: more than the socket buffer stays queued */
	char *fill = calloc(1, 4 << 20);
	conn_write(f->c, fill, 4 << 20);
	free(fill);
	assert_int_equal(conn_write_ref(f->c, body, strlen(body), ref_done, &ref_done_calls), 0);
	event_base_loop(f->w.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	assert_int_equal(ref_done_calls, 0);
	conn_abort(f->c);
	for (int i = 0; i < 10 && !f->freed; i++)
		event_base_loop(f->w.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	assert_int_equal(f->freed, 1);
	assert_int_equal(ref_done_calls, 1);
}

/* A second conn over its own socketpair, for moves between two conns. */
struct other {
	struct conn *c;
	int peer;
	int freed;
};
static struct other *other_current;
static void other_free(struct conn *c)
{
	(void)c;
	other_current->freed++;
}
static const struct conn_ops other_ops = {.on_read = on_read_nothing, .on_free = other_free};

static void other_open(struct fixture *f, struct other *o)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	struct sockaddr_storage ss = {.ss_family = AF_UNIX};
	memset(o, 0, sizeof(*o));
	o->c = conn_new(&f->w, sv[0], (struct sockaddr *)&ss, sizeof(sa_family_t), NULL, false);
	assert_non_null(o->c);
	o->c->ops = &other_ops;
	o->peer = sv[1];
	fcntl(o->peer, F_SETFL, O_NONBLOCK);
	other_current = o;
}

static void other_close(struct fixture *f, struct other *o)
{
	if (!o->freed)
		conn_abort(o->c);
	for (int i = 0; i < 10 && !o->freed; i++)
		event_base_loop(f->w.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	assert_int_equal(o->freed, 1);
	close(o->peer);
}

/* Input of one conn to the output of another: up to MAX, in order, pieces
 * cut where MAX says; nothing moves to a conn that takes no more output. */
static void test_in_move(void **state)
{
	struct fixture *f = *state;
	struct other o;
	other_open(f, &o);
	static const char *const pieces[] = {"HTTP/1.1 200 OK\r\n", "\r\n", "body bytes"};
	add_pieces(f, pieces, 3);
	conn_write(o.c, "<", 1);
	assert_int_equal(conn_in_move(f->c, o.c, 4), 4); /* cuts the first piece */
	assert_int_equal(conn_in_len(f->c), 25);
	assert_int_equal(conn_in_move(f->c, o.c, 15), 15); /* through the second */
	assert_int_equal(conn_in_move(f->c, o.c, SIZE_MAX), 10);
	assert_int_equal(conn_in_len(f->c), 0);
	assert_int_equal(conn_in_move(f->c, o.c, SIZE_MAX), 0);
	conn_write(o.c, ">", 1);
	char got[64] = {0};
	receive_on(f, o.peer, got, 31);
	assert_string_equal(got, "<HTTP/1.1 200 OK\r\n\r\nbody bytes>");
	/* a half-closed destination takes nothing; the input stays */
	feed(f, "more", 4);
	assert_int_equal(conn_shutdown_write(o.c), 0);
	assert_int_equal(conn_in_move(f->c, o.c, SIZE_MAX), -1);
	assert_int_equal(conn_in_len(f->c), 4);
	other_close(f, &o);
}

/* Back-pressure through a move: input stopped at the read bound starts
 * again once moved away, so a relay loses nothing and holds at most the bound. */
static void test_in_move_resumes_reading(void **state)
{
	struct fixture *f = *state;
	struct other o;
	other_open(f, &o);
	conn_set_read_max(f->c, 1000);
	size_t total = 64 * 1024;
	char *src = malloc(total), *dst = malloc(total);
	for (size_t i = 0; i < total; i++)
		src[i] = (char)(i * 13 % 251);
	size_t sent = 0, got = 0;
	fcntl(f->peer, F_SETFL, O_NONBLOCK);
	for (int i = 0; i < 200000 && got < total; i++) {
		if (sent < total) {
			ssize_t n = write(f->peer, src + sent, total - sent);
			if (n > 0)
				sent += (size_t)n;
		}
		event_base_loop(f->w.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		assert_true(conn_in_len(f->c) <= 1000 + TRIAD_CONN_READ_RESERVE);
		conn_in_move(f->c, o.c, SIZE_MAX);
		event_base_loop(f->w.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		ssize_t n = read(o.peer, dst + got, total - got);
		if (n > 0)
			got += (size_t)n;
	}
	assert_int_equal(got, total);
	assert_memory_equal(src, dst, total);
	free(src);
	free(dst);
	other_close(f, &o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_peek_chunk_copy_consume, setup_nb, teardown),
		cmocka_unit_test_setup_teardown(test_find_is_bounded, setup_nb, teardown),
		cmocka_unit_test_setup_teardown(test_read_block_bounded, setup_nb, teardown),
		cmocka_unit_test_setup_teardown(test_input_to_file, setup_nb, teardown),
		cmocka_unit_test_setup_teardown(test_write_iobuf_moves, setup_nb, teardown),
		cmocka_unit_test_setup_teardown(test_no_output_after_half_close, setup_nb, teardown),
		cmocka_unit_test_setup_teardown(test_write_file_ranges, setup_nb, teardown),
		cmocka_unit_test_setup_teardown(test_write_file_truncated, setup_nb, teardown),
		cmocka_unit_test_setup_teardown(test_reserve_commit, setup_nb, teardown),
		cmocka_unit_test_setup_teardown(test_write_ref, setup_nb, teardown),
		cmocka_unit_test_setup_teardown(test_write_ref_dropped_on_abort, setup_nb, teardown),
		cmocka_unit_test_setup_teardown(test_in_move, setup_nb, teardown),
		cmocka_unit_test_setup_teardown(test_in_move_resumes_reading, setup_nb, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
