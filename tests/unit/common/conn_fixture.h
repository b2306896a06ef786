/*
 * The unit tests' conn over a socketpair: a fixture (one conn, the test's end
 * of the pair, a count of on_free calls), its setup and teardown (which
 * checks the conn was freed exactly once), and feed() to send it bytes.
 * Included by one test file each (static functions).
 */
#ifndef TRIAD_TEST_CONN_FIXTURE_H
#define TRIAD_TEST_CONN_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <event2/event.h>

#include "triad/conn.h"
#include "triad/server.h"
/* common/'s own tests may look at a conn's buffers (conn_input/conn_output). */
#include "../../../common/conn_private.h"

/* conn.c asks the server for the current generation; tests run without one. */
struct conf *server_current_conf(void)
{
	return NULL;
}

struct fixture {
	struct worker w;
	int peer; /* the test's end of the socketpair */
	struct conn *c;
	int freed;
};

static struct fixture *current;

static void on_free(struct conn *c)
{
	(void)c;
	current->freed++;
}

static void on_read_nothing(struct conn *c)
{
	(void)c;
}

static const struct conn_ops ops = {.on_read = on_read_nothing, .on_free = on_free};

static int setup(void **state)
{
	static struct fixture f;
	memset(&f, 0, sizeof(f));
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	f.w.base = event_base_new();
	f.peer = sv[1];
	struct sockaddr_storage ss = {.ss_family = AF_UNIX};
	f.c = conn_new(&f.w, sv[0], (struct sockaddr *)&ss, sizeof(sa_family_t), NULL, false);
	assert_non_null(f.c);
	f.c->ops = &ops;
	current = &f;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	if (f->c && !f->freed) {
		conn_abort(f->c);
		event_base_loop(f->w.base, EVLOOP_NONBLOCK);
	}
	assert_int_equal(f->freed, 1);
	assert_int_equal(f->w.nconns, 0);
	close(f->peer);
	event_base_free(f->w.base);
	return 0;
}

/* Sends bytes from the peer and runs the loop until the conn has read them. */
static void feed(struct fixture *f, const char *s, size_t n)
{
	size_t before = conn_in_len(f->c);
	assert_int_equal(write(f->peer, s, n), (ssize_t)n);
	for (int i = 0; i < 100 && conn_in_len(f->c) < before + n; i++)
		event_base_loop(f->w.base, EVLOOP_ONCE);
}


#endif
