/*
 * park (common/park.c): parked connections as compact records in a worker's
 * own epoll set; and conn_park (common/conn.c) on top of it: a parked conn is
 * freed, input, a hang-up, the idle time or a shutdown rebuilds it. Over real
 * socketpairs (and a TCP pair for the reset) and a real event loop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <event2/event.h>

#include "triad/conn.h"
#include "triad/limits.h"
#include "triad/net.h"
#include "triad/server.h"

#include "conn_fixture.h"
#include "../../../common/park.h"

/* ---- park.c alone, with hooks that record what they are handed ----------- */

#define WAKES_MAX (2 * TRIAD_PARK_CHUNK + 8)

static struct {
	struct park_rec r[WAKES_MAX];
	struct park_class k[WAKES_MAX];
	enum park_why why[WAKES_MAX];
	int n;
	int holds, releases;
} seen;

static void rec_wake(void *arg, const struct park_rec *r, const struct park_class *k,
                     enum park_why why)
{
	(void)arg;
	assert_true(seen.n < WAKES_MAX);
	seen.r[seen.n] = *r;
	seen.k[seen.n] = *k;
	seen.why[seen.n] = why;
	seen.n++;
}

static void rec_hold(const struct park_class *k)
{
	(void)k;
	seen.holds++;
}

static void rec_release(const struct park_class *k)
{
	(void)k;
	seen.releases++;
}

static const struct park_hooks hooks = {rec_wake, rec_hold, rec_release};

struct pset {
	struct event_base *base;
	struct park_set *ps;
};

static int pset_setup(void **state)
{
	static struct pset p;
	memset(&seen, 0, sizeof(seen));
	p.base = event_base_new();
	assert_non_null(p.base);
	p.ps = park_set_new(p.base, &hooks, &p);
	assert_non_null(p.ps);
	*state = &p;
	return 0;
}

static int pset_teardown(void **state)
{
	struct pset *p = *state;
	park_set_free(p->ps);
	event_base_free(p->base);
	return 0;
}

static struct park_rec mkrec(uint64_t id, int fd)
{
	struct park_rec r = {.id = id, .fd = fd, .ssl = (void *)(uintptr_t)(id * 16), .flags = 3,
	                     .peer_len = sizeof(struct sockaddr_in)};
	r.peer.sin.sin_family = AF_INET;
	r.peer.sin.sin_port = htons((uint16_t)(1000 + id));
	r.peer.sin.sin_addr.s_addr = htonl(0xc0000200 + (uint32_t)id);
	return r;
}

static const struct park_class class_a = {.conf = (void *)0x1, .ops = (void *)0x2,
                                          .idle_ms = 0, .write_ms = 60000,
                                          .read_max = 65536, .listener_tag = 1};

static void run_until(struct event_base *base, int n)
{
	for (int i = 0; i < 200 && seen.n < n; i++)
		event_base_loop(base, EVLOOP_ONCE);
}

/* Input on a parked socket hands its record back, field for field, and the
 * class is released with its last record. */
static void test_set_wake_on_data(void **state)
{
	struct pset *p = *state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	struct park_rec r = mkrec(7, sv[0]);
	assert_int_equal(park_add(p->ps, &r, &class_a), 0);
	assert_int_equal(park_count(p->ps), 1);
	assert_int_equal(seen.holds, 1);
	event_base_loop(p->base, EVLOOP_NONBLOCK);
	assert_int_equal(seen.n, 0); /* nothing to read yet: still parked */
	assert_int_equal(write(sv[1], "GET", 3), 3);
	run_until(p->base, 1);
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.why[0], PARK_WAKE_INPUT);
	assert_int_equal(seen.r[0].id, 7);
	assert_int_equal(seen.r[0].fd, sv[0]);
	assert_ptr_equal(seen.r[0].ssl, (void *)(uintptr_t)(7 * 16));
	assert_int_equal(seen.r[0].flags, 3);
	assert_memory_equal(&seen.r[0].peer, &r.peer, sizeof(r.peer));
	assert_int_equal(seen.k[0].listener_tag, 1);
	assert_ptr_equal(seen.k[0].conf, class_a.conf);
	assert_int_equal(park_count(p->ps), 0);
	assert_int_equal(seen.releases, 1);
	/* The bytes are still the socket's: park never reads. */
	char buf[4];
	assert_int_equal(read(sv[0], buf, sizeof(buf)), 3);
	close(sv[0]);
	close(sv[1]);
}

/* A peer's FIN wakes the record (the conn then reads EOF). */
static void test_set_wake_on_fin(void **state)
{
	struct pset *p = *state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	struct park_rec r = mkrec(1, sv[0]);
	assert_int_equal(park_add(p->ps, &r, &class_a), 0);
	shutdown(sv[1], SHUT_WR);
	run_until(p->base, 1);
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.why[0], PARK_WAKE_INPUT);
	close(sv[0]);
	close(sv[1]);
}

/* A reset (RFC 9293 §3.10.7.4: SO_LINGER 0 then close sends RST) wakes it too. */
static void test_set_wake_on_reset(void **state)
{
	struct pset *p = *state;
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &len), 0);
	int cfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(cfd, (struct sockaddr *)&a, sizeof(a)), 0);
	int sfd = accept(lfd, NULL, NULL);
	assert_true(sfd >= 0);
	struct park_rec r = mkrec(2, sfd);
	assert_int_equal(park_add(p->ps, &r, &class_a), 0);
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	assert_int_equal(setsockopt(cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	close(cfd);
	run_until(p->base, 1);
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.why[0], PARK_WAKE_INPUT);
	char c;
	assert_int_equal(read(sfd, &c, 1), -1);
	assert_int_equal(errno, ECONNRESET);
	close(sfd);
	close(lfd);
}

/* Records of one class time out in park order; a class with a shorter idle
 * time parked later times out first (one timer: the earliest head). */
static void test_set_timeout_order(void **state)
{
	struct pset *p = *state;
	int sv[4][2];
	struct park_class slow = class_a, fast = class_a;
	slow.idle_ms = 120;
	fast.idle_ms = 30;
	for (int i = 0; i < 4; i++)
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv[i]), 0);
	struct park_rec r[4];
	for (int i = 0; i < 3; i++) {
		r[i] = mkrec((uint64_t)i + 1, sv[i][0]);
		assert_int_equal(park_add(p->ps, &r[i], &slow), 0);
		usleep(5000);
	}
	r[3] = mkrec(4, sv[3][0]);
	assert_int_equal(park_add(p->ps, &r[3], &fast), 0);
	assert_int_equal(seen.holds, 2);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	run_until(p->base, 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.r[0].id, 4);
	assert_int_equal(seen.why[0], PARK_WAKE_TIMEOUT);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms >= 25); /* not before its idle time */
	run_until(p->base, 4);
	assert_int_equal(seen.n, 4);
	for (int i = 1; i < 4; i++) {
		assert_int_equal(seen.why[i], PARK_WAKE_TIMEOUT);
		assert_int_equal(seen.r[i].id, (uint64_t)i); /* park order */
	}
	assert_int_equal(seen.releases, 2);
	assert_int_equal(park_count(p->ps), 0);
	for (int i = 0; i < 4; i++) {
		close(sv[i][0]);
		close(sv[i][1]);
	}
}

/* idle_ms 0: never times out; park_close_all hands every record back. */
static void test_set_close_all(void **state)
{
	struct pset *p = *state;
	int sv[3][2];
	struct park_class other = class_a;
	other.listener_tag = 2;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv[i]), 0);
		struct park_rec r = mkrec((uint64_t)i + 1, sv[i][0]);
		assert_int_equal(park_add(p->ps, &r, i == 1 ? &other : &class_a), 0);
	}
	struct timeval tv = {0, 50000};
	event_base_loopexit(p->base, &tv);
	event_base_dispatch(p->base);
	assert_int_equal(seen.n, 0);
	park_close_all(p->ps);
	assert_int_equal(seen.n, 3);
	bool got[4] = {false};
	for (int i = 0; i < 3; i++) {
		assert_int_equal(seen.why[i], PARK_WAKE_SHUTDOWN);
		got[seen.r[i].id] = true;
	}
	assert_true(got[1] && got[2] && got[3]);
	assert_int_equal(park_count(p->ps), 0);
	assert_int_equal(seen.releases, 2);
	for (int i = 0; i < 3; i++) {
		close(sv[i][0]);
		close(sv[i][1]);
	}
}

/* The slab grows by whole chunks and reuses freed slots before growing; a
 * readiness of one descriptor wakes only its own record. */
static void test_set_slab_growth_and_reuse(void **state)
{
	struct pset *p = *state;
	enum { N = TRIAD_PARK_CHUNK + 1 };
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	/* Both ends of socketpairs, nobody writing: distinct sockets (the kernel
	 * bounds how many descriptors of one file nested epoll sets may watch). */
	static int fds[N + 1];
	for (int i = 0; i < N; i += 2)
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, &fds[i]), 0);
	for (int round = 0; round < 2; round++) {
		memset(&seen, 0, sizeof(seen));
		for (int i = 0; i < N; i++) {
			struct park_rec r = mkrec((uint64_t)i + 1, fds[i]);
			if (park_add(p->ps, &r, &class_a) != 0)
				fail_msg("round %d record %d: %s", round, i, strerror(errno));
		}
		assert_int_equal(park_count(p->ps), N);
		assert_int_equal(park_capacity(p->ps), 2 * TRIAD_PARK_CHUNK); /* no third chunk */
		park_close_all(p->ps);
		assert_int_equal(seen.n, N);
		assert_int_equal(park_count(p->ps), 0);
	}
	/* One more, readable: only it wakes, with its own fd. */
	struct park_rec r = mkrec(99, sv[0]);
	struct park_rec q = mkrec(98, fds[0]);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(park_add(p->ps, &q, &class_a), 0);
	assert_int_equal(park_add(p->ps, &r, &class_a), 0);
	assert_int_equal(write(sv[1], "x", 1), 1);
	run_until(p->base, 1);
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.r[0].id, 99);
	assert_int_equal(park_count(p->ps), 1);
	park_close_all(p->ps);
	for (int i = 0; i < N + 1; i++)
		close(fds[i]);
	close(sv[0]);
	close(sv[1]);
}

/* A descriptor epoll refuses: -1, nothing parked, no class held. */
static void test_set_add_fails_cleanly(void **state)
{
	struct pset *p = *state;
	int fd = open("/dev/null", O_RDONLY); /* regular files cannot be polled */
	assert_true(fd >= 0);
	struct park_rec r = mkrec(5, fd);
	assert_int_equal(park_add(p->ps, &r, &class_a), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(park_count(p->ps), 0);
	assert_int_equal(seen.holds, 0);
	close(fd);
}

/* ---- conn_park over park.c ------------------------------------------------ */

static int reads;
static char got_bytes[64];
static size_t got_len;
static struct conn *woken;
static void *proto_at_read;

static void on_read_record(struct conn *c)
{
	reads++;
	woken = c;
	proto_at_read = c->proto;
	got_len += conn_in_read(c, got_bytes + got_len, sizeof(got_bytes) - got_len);
}

static const struct conn_ops record_ops = {.on_read = on_read_record, .on_free = on_free};

static int park_teardown(void **state)
{
	struct fixture *f = *state;
	conn_worker_fini(&f->w);
	/* The fixture's own check: every conn freed, each on_free counted. */
	if (f->c && f->w.nconns) {
		conn_abort(f->c);
		event_base_loop(f->w.base, EVLOOP_NONBLOCK);
	}
	assert_int_equal(f->w.nconns, 0);
	close(f->peer);
	event_base_free(f->w.base);
	return 0;
}

static void test_conn_park_refused_while_buffered(void **state)
{
	struct fixture *f = *state;
	feed(f, "x", 1);
	assert_int_equal(conn_park(f->c, 0), -1); /* input not consumed */
	conn_in_consume(f->c, 1);
	assert_int_equal(conn_write(f->c, "y", 1), 0);
	assert_int_equal(conn_park(f->c, 0), -1); /* output not sent yet */
	event_base_loop(f->w.base, EVLOOP_NONBLOCK);
	char c;
	assert_int_equal(read(f->peer, &c, 1), 1);
	f->c->proto = &reads;
	assert_int_equal(conn_park(f->c, 0), 0);
	f->c = NULL; /* gone */
	assert_int_equal(f->freed, 1); /* on_free released the protocol's state */
	assert_int_equal(f->w.nconns, 1); /* still the worker's, as a record */
	assert_null(f->w.conns);
	assert_int_equal(conn_parked_count(), 1);
	conn_shutdown_all(&f->w);
	event_base_loop(f->w.base, EVLOOP_NONBLOCK);
	assert_int_equal(f->w.nconns, 0);
	assert_int_equal(conn_parked_count(), 0);
	assert_int_equal(read(f->peer, &c, 1), 0); /* closed */
}

static void test_conn_park_wakes_on_input(void **state)
{
	struct fixture *f = *state;
	f->c->ops = &record_ops;
	conn_set_timeouts(f->c, 0, 12345);
	conn_set_read_max(f->c, 4096);
	uint64_t id = f->c->id;
	reads = 0;
	got_len = 0;
	woken = NULL;
	assert_int_equal(conn_park(f->c, 60000), 0);
	f->c = NULL;
	assert_int_equal(write(f->peer, "hello", 5), 5);
	for (int i = 0; i < 100 && got_len < 5; i++)
		event_base_loop(f->w.base, EVLOOP_ONCE);
	assert_int_equal(got_len, 5);
	assert_memory_equal(got_bytes, "hello", 5);
	assert_non_null(woken);
	f->c = woken;
	assert_null(proto_at_read); /* a fresh start for the protocol */
	assert_int_equal(f->c->id, id);
	assert_int_equal(f->c->write_ms, 12345);
	assert_int_equal(f->c->read_max, 4096);
	assert_ptr_equal(f->w.conns, f->c);
	assert_int_equal(f->w.nconns, 1);
	/* A working conn again: it writes, and parks again. */
	assert_int_equal(conn_write(f->c, "ok", 2), 0);
	event_base_loop(f->w.base, EVLOOP_NONBLOCK);
	char buf[2];
	assert_int_equal(read(f->peer, buf, 2), 2);
	assert_int_equal(conn_park(f->c, 0), 0);
	f->c = NULL;
	conn_shutdown_all(&f->w);
	event_base_loop(f->w.base, EVLOOP_NONBLOCK);
	assert_int_equal(f->freed, 3); /* two parks, one close */
	assert_int_equal(read(f->peer, buf, 1), 0); /* the socket was closed */
}

static void test_conn_park_idle_timeout_closes(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(conn_park(f->c, 20), 0);
	f->c = NULL;
	for (int i = 0; i < 100 && f->w.nconns; i++)
		event_base_loop(f->w.base, EVLOOP_ONCE);
	assert_int_equal(f->w.nconns, 0);
	assert_int_equal(f->freed, 2);
	char c;
	assert_int_equal(read(f->peer, &c, 1), 0);
}

static void test_conn_park_peer_close(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(conn_park(f->c, 0), 0);
	f->c = NULL;
	shutdown(f->peer, SHUT_WR);
	for (int i = 0; i < 100 && f->w.nconns; i++)
		event_base_loop(f->w.base, EVLOOP_ONCE);
	assert_int_equal(f->w.nconns, 0);
	assert_int_equal(f->freed, 2);
}

/* A parked conn keeps its connection-limit slots (interface.md: counted while
 * open) and gives them back when it closes; a draining worker's loop ends
 * once its parked conns are closed. */
static void test_conn_park_keeps_limits(void **state)
{
	(void)state;
	struct worker w = {0};
	w.base = event_base_new();
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0xc0000263)};
	int sv[2][2];
	struct conn *c[2];
	conn_limits_set(0, 1, NULL, 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv[i]), 0);
		c[i] = conn_new(&w, sv[i][0], (const struct sockaddr *)&a, sizeof(a), NULL, true);
		assert_non_null(c[i]);
	}
	assert_false(conn_is_refused(c[0]));
	assert_true(conn_is_refused(c[1]));
	conn_abort(c[1]);
	event_base_loop(w.base, EVLOOP_NONBLOCK);
	assert_int_equal(conn_park(c[0], 0), 0);
	assert_int_equal(conn_count(), 1);
	c[1] = conn_new(&w, dup(sv[1][0]), (const struct sockaddr *)&a, sizeof(a), NULL, true);
	assert_true(conn_is_refused(c[1])); /* the parked conn holds the per-IP slot */
	conn_abort(c[1]);
	event_base_loop(w.base, EVLOOP_NONBLOCK);
	w.draining = true;
	conn_shutdown_all(&w);
	event_base_dispatch(w.base); /* ends when the last conn is freed */
	assert_int_equal(w.nconns, 0);
	assert_int_equal(conn_count(), 0);
	conn_worker_fini(&w);
	for (int i = 0; i < 2; i++)
		close(sv[i][1]);
	event_base_free(w.base);
	conn_limits_set(0, 0, NULL, 0);
}

int main(void)
{
	(void)teardown; /* the fixture's: it expects one on_free, a parked conn has more */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_set_wake_on_data, pset_setup, pset_teardown),
		cmocka_unit_test_setup_teardown(test_set_wake_on_fin, pset_setup, pset_teardown),
		cmocka_unit_test_setup_teardown(test_set_wake_on_reset, pset_setup, pset_teardown),
		cmocka_unit_test_setup_teardown(test_set_timeout_order, pset_setup, pset_teardown),
		cmocka_unit_test_setup_teardown(test_set_close_all, pset_setup, pset_teardown),
		cmocka_unit_test_setup_teardown(test_set_slab_growth_and_reuse, pset_setup,
		                                pset_teardown),
		cmocka_unit_test_setup_teardown(test_set_add_fails_cleanly, pset_setup, pset_teardown),
		cmocka_unit_test_setup_teardown(test_conn_park_refused_while_buffered, setup,
		                                park_teardown),
		cmocka_unit_test_setup_teardown(test_conn_park_wakes_on_input, setup, park_teardown),
		cmocka_unit_test_setup_teardown(test_conn_park_idle_timeout_closes, setup,
		                                park_teardown),
		cmocka_unit_test_setup_teardown(test_conn_park_peer_close, setup, park_teardown),
		cmocka_unit_test(test_conn_park_keeps_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
