/*
 * Unit tests for httpd/rcache.c: the shared response cache (interface.md,
 * Cache): hit / stale / Vary, the byte budget with least recently used
 * entries going first, one fill per key with the others waiting and woken
 * (collapsed misses), and a fill given up.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <event2/event.h>

#include "../../../httpd/rcache.h"

static struct http_request *request(const char *head)
{
	struct http_request *r = calloc(1, sizeof(*r));
	struct http_parser p;
	struct http_limits lim = HTTP_LIMITS_DEFAULT;
	http_parser_init(&p, r, &lim);
	assert_int_equal(http_parse(&p, head, strlen(head)), HTTP_PARSE_OK);
	return r;
}

/* Fills KEY with a BODY_LEN body expiring at EXPIRES; vary on NAME (or none). */
static void put(struct http_rcache *rc, const char *key, const struct http_request *r,
                size_t body_len, int64_t expires, const char *vary, const char *vary_value)
{
	struct http_rentry *e;
	struct http_rfill *f;
	http_rcache_lookup(rc, key, strlen(key), r, 0, true, NULL, &e, &f);
	if (e)
		http_rentry_unref(e);
	assert_non_null(f);
	struct http_rentry *n = http_rentry_new(key, strlen(key));
	n->status = 200;
	n->body = calloc(1, body_len + 1);
	n->body_len = body_len;
	n->expires = expires;
	if (vary) {
		n->vary_name[0] = strdup(vary);
		n->vary_value[0] = vary_value ? strdup(vary_value) : NULL;
		n->nvary = 1;
	}
	n->size = body_len;
	http_rcache_fill_end(f, n);
}

static enum http_rlookup look(struct http_rcache *rc, const char *key,
                              const struct http_request *r, int64_t now)
{
	struct http_rentry *e;
	struct http_rfill *f;
	enum http_rlookup res = http_rcache_lookup(rc, key, strlen(key), r, now, false, NULL, &e, &f);
	if (e)
		http_rentry_unref(e);
	return res;
}

static void test_hit_stale_vary(void **state)
{
	(void)state;
	struct http_rcache *rc = http_rcache_new(1 << 20);
	struct http_request *gz = request("GET /a HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\n\r\n");
	struct http_request *br = request("GET /a HTTP/1.1\r\nHost: h\r\nAccept-Encoding: br\r\n\r\n");
	struct http_request *none = request("GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_int_equal(look(rc, "http://h/a", gz, 10), HTTP_RLOOKUP_MISS);
	put(rc, "http://h/a", gz, 100, 20, "accept-encoding", "gzip");
	assert_int_equal(look(rc, "http://h/a", gz, 10), HTTP_RLOOKUP_HIT);
	assert_int_equal(look(rc, "http://h/a", gz, 20), HTTP_RLOOKUP_STALE);
	assert_int_equal(look(rc, "http://h/a", br, 10), HTTP_RLOOKUP_VARY_MISS);
	assert_int_equal(look(rc, "http://h/a", none, 10), HTTP_RLOOKUP_VARY_MISS);
	assert_int_equal(look(rc, "http://h/b", gz, 10), HTTP_RLOOKUP_MISS);
	/* a newer response for the key replaces the older one */
	put(rc, "http://h/a", none, 100, 30, "accept-encoding", NULL);
	assert_int_equal(look(rc, "http://h/a", none, 25), HTTP_RLOOKUP_HIT);
	assert_int_equal(look(rc, "http://h/a", gz, 25), HTTP_RLOOKUP_VARY_MISS);
	free(gz);
	free(br);
	free(none);
	http_rcache_free(rc);
}

/* The budget holds; the least recently used entry goes first, across shards too. */
static void test_budget_lru(void **state)
{
	(void)state;
	struct http_rcache *rc = http_rcache_new(1000);
	assert_int_equal(http_rcache_max_entry(rc), 250);
	struct http_request *r = request("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
	char key[32];
	for (int i = 0; i < 4; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		put(rc, key, r, 240, 100, NULL, NULL);
	}
	for (int i = 0; i < 4; i++) { /* all four fit: 960 bytes */
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(look(rc, key, r, 1), HTTP_RLOOKUP_HIT);
	}
	assert_int_equal(look(rc, "k0", r, 1), HTTP_RLOOKUP_HIT); /* k1 is now the oldest use */
	put(rc, "k4", r, 240, 100, NULL, NULL);
	assert_int_equal(look(rc, "k1", r, 1), HTTP_RLOOKUP_MISS);
	assert_int_equal(look(rc, "k0", r, 1), HTTP_RLOOKUP_HIT);
	assert_int_equal(look(rc, "k4", r, 1), HTTP_RLOOKUP_HIT);
	int present = 0;
	for (int i = 0; i < 5; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		present += look(rc, key, r, 1) == HTTP_RLOOKUP_HIT;
	}
	assert_int_equal(present, 4);
	free(r);
	http_rcache_free(rc);
}

static int woken;
static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	woken++;
}

/* Concurrent misses: one fill, the others wait and are woken when it ends. */
static void test_collapse(void **state)
{
	(void)state;
	struct event_base *base = event_base_new();
	struct http_rcache *rc = http_rcache_new(1 << 20);
	struct http_request *r = request("GET /c HTTP/1.1\r\nHost: h\r\n\r\n");
	struct http_rentry *e;
	struct http_rfill *f1, *f2;
	struct http_rwait w1 = {0}, w2 = {0}, w3 = {0};
	w1.ev = event_new(base, -1, 0, wake_cb, NULL);
	w2.ev = event_new(base, -1, 0, wake_cb, NULL);
	w3.ev = event_new(base, -1, 0, wake_cb, NULL);
	assert_int_equal(http_rcache_lookup(rc, "c", 1, r, 0, true, &w1, &e, &f1), HTTP_RLOOKUP_MISS);
	assert_non_null(f1);
	assert_int_equal(http_rcache_lookup(rc, "c", 1, r, 0, true, &w2, &e, &f2), HTTP_RLOOKUP_WAIT);
	assert_int_equal(http_rcache_lookup(rc, "c", 1, r, 0, true, &w3, &e, &f2), HTTP_RLOOKUP_WAIT);
	http_rcache_unwait(rc, &w3); /* w3's client went away */
	/* without a waiter to register, a second miss forwards without filling */
	assert_int_equal(http_rcache_lookup(rc, "c", 1, r, 0, true, NULL, &e, &f2), HTTP_RLOOKUP_MISS);
	assert_null(f2);
	struct http_rentry *n = http_rentry_new("c", 1);
	n->status = 200;
	n->expires = 50;
	http_rcache_fill_end(f1, n);
	woken = 0;
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(woken, 1); /* w2 only */
	assert_null(w2.fill);
	assert_int_equal(look(rc, "c", r, 1), HTTP_RLOOKUP_HIT);
	/* a fill given up wakes its waiters too, and stores nothing */
	assert_int_equal(http_rcache_lookup(rc, "d", 1, r, 0, true, &w1, &e, &f1), HTTP_RLOOKUP_MISS);
	assert_int_equal(http_rcache_lookup(rc, "d", 1, r, 0, true, &w2, &e, &f2), HTTP_RLOOKUP_WAIT);
	http_rcache_fill_end(f1, NULL);
	woken = 0;
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(woken, 1);
	assert_int_equal(look(rc, "d", r, 1), HTTP_RLOOKUP_MISS);
	event_free(w1.ev);
	event_free(w2.ev);
	event_free(w3.ev);
	free(r);
	http_rcache_free(rc);
	event_base_free(base);
}

static void test_key(void **state)
{
	(void)state;
	struct http_request *r = request("GET /p%20q?a=1&b HTTP/1.1\r\nHost: Shop.Example:8080\r\n\r\n");
	char buf[128];
	size_t n = http_rcache_key(r, true, "app", buf, sizeof(buf));
	assert_int_equal(n, strlen("app https://shop.example:8080/p%20q?a=1&b"));
	assert_string_equal(buf, "app https://shop.example:8080/p%20q?a=1&b");
	free(r);
	r = request("GET /x HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_int_equal(http_rcache_key(r, false, "p", buf, sizeof(buf)), strlen("p http://h/x"));
	assert_string_equal(buf, "p http://h/x");
	/* exactly full (the terminator needs a byte too) and one short */
	assert_int_equal(http_rcache_key(r, false, "p", buf, 13), 12);
	assert_int_equal(http_rcache_key(r, false, "p", buf, 12), 0);
	free(r);
}

/* A reload: the next generation's handle shares the entries; each generation
 * evicts to its own bound; the store goes with the last handle. */
static void test_generations_share(void **state)
{
	(void)state;
	struct http_request *r = request("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
	struct http_rcache *old = http_rcache_new(1000);
	put(old, "k0", r, 240, 100, NULL, NULL);
	put(old, "k1", r, 240, 100, NULL, NULL);
	struct http_rcache *next = http_rcache_new(600); /* SIGHUP, cache made smaller */
	assert_int_equal(http_rcache_max_entry(next), 150);
	assert_int_equal(look(next, "k0", r, 1), HTTP_RLOOKUP_HIT);
	assert_int_equal(look(next, "k1", r, 1), HTTP_RLOOKUP_HIT);
	http_rcache_free(old); /* the old generation's last request ended */
	assert_int_equal(look(next, "k0", r, 1), HTTP_RLOOKUP_HIT);
	put(next, "k2", r, 240, 100, NULL, NULL); /* 3 x 240 + overhead > 600: k1 goes */
	assert_int_equal(look(next, "k1", r, 1), HTTP_RLOOKUP_MISS);
	assert_int_equal(look(next, "k0", r, 1), HTTP_RLOOKUP_HIT);
	assert_int_equal(look(next, "k2", r, 1), HTTP_RLOOKUP_HIT);
	http_rcache_free(next); /* cache = 0 next, or exit: the entries go */
	struct http_rcache *fresh = http_rcache_new(1000);
	assert_int_equal(look(fresh, "k0", r, 1), HTTP_RLOOKUP_MISS);
	http_rcache_free(fresh);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hit_stale_vary),
	    cmocka_unit_test(test_budget_lru),
	    cmocka_unit_test(test_collapse),
	    cmocka_unit_test(test_key),
	    cmocka_unit_test(test_generations_share),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
