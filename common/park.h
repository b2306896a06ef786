/*
 * park: one worker's parked connections as compact records, outside libevent.
 *
 * An idle keep-alive connection needs nothing but its socket, who it is
 * (id, peer, counters, the SSL object under TLS) and when it times out.
 * park keeps exactly that, 64 bytes per connection in a slab of
 * mmap()ed chunks (never interleaved with the malloc heap, so what the
 * conns gave back can go back to the system), with the sockets in one
 * epoll set of the worker's own, registered with the worker's libevent loop
 * as a single event. What parked conns share (configuration generation,
 * protocol, timeouts, listener) is kept once per "class". Every class's
 * records are a FIFO in park order: they share one idle time, so the
 * oldest is always the next to time out, and one timer per set, armed for
 * the earliest head, expires them in O(1) each.
 *
 * The owner (conn.c) gets each record back through hooks->wake, after the
 * record has left the set: on input or a hang-up (PARK_WAKE_INPUT), at its
 * idle time (PARK_WAKE_TIMEOUT), or from park_close_all (PARK_WAKE_SHUTDOWN).
 * The set never closes a socket itself.
 */
#ifndef TRIAD_PARK_H
#define TRIAD_PARK_H

#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>

#include "triad/conn.h"

/* What the records of one class share (compared field by field). */
struct park_class {
	void *conf;          /* opaque to park: conn.c's configuration generation */
	const void *ops;     /* opaque to park: the protocol's conn_ops */
	uint32_t idle_ms;    /* parked this long: PARK_WAKE_TIMEOUT (0: never) */
	uint32_t read_ms, write_ms, read_max, write_low;
	int listener_tag;
};

/* One parked connection. The owner fills the first fields; park.c the rest. */
struct park_rec {
	uint64_t id;
	void *ssl;            /* opaque to park */
	union conn_addr peer; /* the client (after a PROXY header: the one it named) */
	int fd;               /* -1: a free slot */
	uint8_t peer_len;
	uint8_t flags;        /* the owner's */
	/* park.c's */
	uint16_t cls;
	uint32_t next, prev;  /* the class's FIFO, or the free list (next) */
	uint32_t parked_at;   /* ms on the set's clock */
};

enum park_why { PARK_WAKE_INPUT, PARK_WAKE_TIMEOUT, PARK_WAKE_SHUTDOWN };

struct park_hooks {
	/* R (a copy) has left the set; K is a copy of its class. */
	void (*wake)(void *arg, const struct park_rec *r, const struct park_class *k,
	             enum park_why why);
	/* A class is created (take references) / its last record left (drop them). */
	void (*class_hold)(const struct park_class *k);
	void (*class_release)(const struct park_class *k);
};

struct park_set;

/* NULL (errno set): no memory or no descriptor for the epoll set. */
struct park_set *park_set_new(struct event_base *base, const struct park_hooks *hooks, void *arg);
/* Frees the set; records still in it are dropped without a wake (their
 * sockets are the owner's to forget): call park_close_all first to close them. */
void park_set_free(struct park_set *ps);
/* Parks R->fd with the class K. 0, or -1 (errno: ENOMEM, ENOSPC when
 * TRIAD_PARK_CLASSES_MAX classes exist, epoll_ctl's) and nothing changed. */
int park_add(struct park_set *ps, const struct park_rec *r, const struct park_class *k);
/* Every record leaves with PARK_WAKE_SHUTDOWN, in park order per class. */
void park_close_all(struct park_set *ps);
/* Records parked now. */
size_t park_count(const struct park_set *ps);
/* Slots the slab holds (parked or free): its high-water mark. */
size_t park_capacity(const struct park_set *ps);
/* Parked connections of every worker in the process (the metrics gauge). */
uint64_t park_total(void);

#endif
