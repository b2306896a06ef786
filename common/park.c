/*
 * park: one worker's parked connections as compact records (see park.h).
 *
 * Layout: records live in chunks of TRIAD_PARK_CHUNK, each chunk one
 * anonymous mmap; a record is named by its slot number (chunk * CHUNK +
 * index), which is also what its epoll registration carries, with the fd,
 * so a readiness for a slot since reused is recognised. Free slots form a
 * list through `next`. Classes sit in a small array; each has its FIFO
 * (head, tail) of records in park order and a count of records.
 */
#include "park.h"
#include "triad/limits.h"

#include <errno.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define NIL UINT32_MAX

struct park_cls {
	struct park_class k;
	uint32_t head, tail; /* FIFO: head parked first, times out first */
	uint32_t n;          /* records of this class; 0: the slot is free */
	bool used;
};

struct park_set {
	struct event_base *base;
	const struct park_hooks *hooks;
	void *arg;
	int epfd;
	struct event *ev;    /* the epoll set is readable */
	struct event *timer; /* the earliest head's idle time */
	struct event *trim;  /* malloc_trim once a burst of conns has parked */
	uint32_t parked_since_trim, parked_since_check;
	struct park_rec **chunks;
	uint32_t nchunks, capchunks;
	uint32_t free_head;
	size_t count;
	struct park_cls *cls;
	uint32_t ncls;       /* slots in use or free, in cls[] */
	struct timespec epoch;
};

static atomic_ullong parked_total;

uint64_t park_total(void)
{
	return atomic_load_explicit(&parked_total, memory_order_relaxed);
}

/* Milliseconds since the set was made, modulo 2^32: ages are differences. */
static uint32_t now_ms(const struct park_set *ps)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t ms = (int64_t)(ts.tv_sec - ps->epoch.tv_sec) * 1000 +
	             (ts.tv_nsec - ps->epoch.tv_nsec) / 1000000;
	return (uint32_t)ms;
}

static struct park_rec *rec(const struct park_set *ps, uint32_t slot)
{
	return &ps->chunks[slot / TRIAD_PARK_CHUNK][slot % TRIAD_PARK_CHUNK];
}

static int grow(struct park_set *ps)
{
	if (ps->nchunks == ps->capchunks) {
		uint32_t cap = ps->capchunks ? ps->capchunks * 2 : 8;
		if ((uint64_t)cap * TRIAD_PARK_CHUNK >= NIL) {
			errno = ENOMEM;
			return -1;
		}
		struct park_rec **c = realloc(ps->chunks, cap * sizeof(struct park_rec *));
		if (!c)
			return -1;
		ps->chunks = c;
		ps->capchunks = cap;
	}
	struct park_rec *chunk = mmap(NULL, TRIAD_PARK_CHUNK * sizeof(*chunk),
	                              PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (chunk == MAP_FAILED)
		return -1;
	uint32_t base = ps->nchunks * TRIAD_PARK_CHUNK;
	ps->chunks[ps->nchunks++] = chunk;
	/* Lowest slots first, so the records in use stay packed in the first chunks. */
	for (uint32_t i = TRIAD_PARK_CHUNK; i-- > 0;) {
		chunk[i].fd = -1;
		chunk[i].next = ps->free_head;
		ps->free_head = base + i;
	}
	return 0;
}

static void arm_timer(struct park_set *ps)
{
	uint32_t now = now_ms(ps), wait = UINT32_MAX;
	bool any = false;
	for (uint32_t i = 0; i < ps->ncls; i++) {
		const struct park_cls *c = &ps->cls[i];
		if (!c->used || c->head == NIL || c->k.idle_ms == 0)
			continue;
		uint32_t age = now - rec(ps, c->head)->parked_at;
		uint32_t left = age >= c->k.idle_ms ? 0 : c->k.idle_ms - age;
		if (!any || left < wait)
			wait = left;
		any = true;
	}
	if (!any) {
		event_del(ps->timer);
		return;
	}
	struct timeval tv = {.tv_sec = wait / 1000, .tv_usec = (suseconds_t)(wait % 1000) * 1000};
	event_add(ps->timer, &tv);
}

/* Takes slot S out of its class FIFO, the epoll set and the slab, and hands
 * it to the owner. The class is released after the hook (which may take its
 * own references first), unless the hook parked a record of it again. */
static void wake(struct park_set *ps, uint32_t s, enum park_why why)
{
	struct park_rec *r = rec(ps, s);
	uint32_t ci = r->cls;
	struct park_cls *c = &ps->cls[ci];
	epoll_ctl(ps->epfd, EPOLL_CTL_DEL, r->fd, NULL);
	if (r->prev != NIL)
		rec(ps, r->prev)->next = r->next;
	else
		c->head = r->next;
	if (r->next != NIL)
		rec(ps, r->next)->prev = r->prev;
	else
		c->tail = r->prev;
	struct park_rec copy = *r;
	struct park_class k = c->k;
	r->fd = -1;
	r->next = ps->free_head;
	ps->free_head = s;
	ps->count--;
	c->n--;
	atomic_fetch_sub_explicit(&parked_total, 1, memory_order_relaxed);
	ps->hooks->wake(ps->arg, &copy, &k, why);
	c = &ps->cls[ci]; /* the hook may have grown the array */
	if (c->used && c->n == 0) {
		c->used = false;
		if (ps->hooks->class_release)
			ps->hooks->class_release(&c->k);
	}
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct park_set *ps = arg;
	uint32_t now = now_ms(ps);
	for (uint32_t i = 0; i < ps->ncls; i++) {
		/* wake() may add classes (a woken conn parking again): re-read ps->cls. */
		while (ps->cls[i].used && ps->cls[i].head != NIL && ps->cls[i].k.idle_ms &&
		       now - rec(ps, ps->cls[i].head)->parked_at >= ps->cls[i].k.idle_ms)
			wake(ps, ps->cls[i].head, PARK_WAKE_TIMEOUT);
	}
	arm_timer(ps);
}

static void epoll_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct park_set *ps = arg;
	struct epoll_event evs[TRIAD_PARK_BATCH];
	int n = epoll_wait(ps->epfd, evs, TRIAD_PARK_BATCH, 0);
	for (int i = 0; i < n; i++) {
		uint32_t s = (uint32_t)evs[i].data.u64;
		int sfd = (int)(evs[i].data.u64 >> 32);
		/* An earlier wake of this batch may have freed (and reused) the slot. */
		if (s / TRIAD_PARK_CHUNK >= ps->nchunks || rec(ps, s)->fd != sfd)
			continue;
		/* The timer stays as it is: fired early, it finds nothing due and re-arms. */
		wake(ps, s, PARK_WAKE_INPUT);
	}
}

/*
 * A conn that parks frees about 1 KiB of malloc heap (struct conn, events,
 * buffers, the protocol's session), in holes between what still lives: glibc
 * gives such memory back to the system only from the top of a heap, or in a
 * trim. After a burst of parking (thousands of keep-alive clients going idle)
 * the worker's heap would keep its high-water mark for good. So once parking
 * has been quiet for TRIAD_PARK_TRIM_DELAY_MS and at least
 * TRIAD_PARK_TRIM_AFTER conns parked since the last trim, one malloc_trim
 * returns the whole free pages; while parking goes on, one every
 * TRIAD_PARK_TRIM_DELAY_MS at most, once TRIAD_PARK_TRIM_BURST have parked.
 * A trickle of parking costs a trim per TRIAD_PARK_TRIM_AFTER conns at most.
 */
static void trim_arm(struct park_set *ps)
{
	struct timeval tv = {.tv_sec = TRIAD_PARK_TRIM_DELAY_MS / 1000,
	                     .tv_usec = TRIAD_PARK_TRIM_DELAY_MS % 1000 * 1000};
	event_add(ps->trim, &tv);
}

static void trim_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct park_set *ps = arg;
	bool quiet = ps->parked_since_check == 0;
	ps->parked_since_check = 0;
	if (ps->parked_since_trim >= (quiet ? TRIAD_PARK_TRIM_AFTER : TRIAD_PARK_TRIM_BURST)) {
		malloc_trim(0);
		ps->parked_since_trim = 0;
	}
	if (!quiet)
		trim_arm(ps); /* the next park re-arms a quiet set */
}

struct park_set *park_set_new(struct event_base *base, const struct park_hooks *hooks, void *arg)
{
	struct park_set *ps = calloc(1, sizeof(*ps));
	if (!ps)
		return NULL;
	ps->base = base;
	ps->hooks = hooks;
	ps->arg = arg;
	ps->free_head = NIL;
	clock_gettime(CLOCK_MONOTONIC, &ps->epoch);
	ps->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (ps->epfd < 0) {
		free(ps);
		return NULL;
	}
	ps->ev = event_new(base, ps->epfd, EV_READ | EV_PERSIST, epoll_cb, ps);
	ps->timer = event_new(base, -1, 0, timer_cb, ps);
	ps->trim = event_new(base, -1, 0, trim_cb, ps);
	if (!ps->ev || !ps->timer || !ps->trim || event_add(ps->ev, NULL) < 0) {
		int err = errno ? errno : ENOMEM;
		park_set_free(ps);
		errno = err;
		return NULL;
	}
	return ps;
}

void park_set_free(struct park_set *ps)
{
	if (!ps)
		return;
	for (uint32_t i = 0; i < ps->ncls; i++)
		if (ps->cls[i].used && ps->hooks->class_release)
			ps->hooks->class_release(&ps->cls[i].k);
	atomic_fetch_sub_explicit(&parked_total, ps->count, memory_order_relaxed);
	if (ps->ev)
		event_free(ps->ev);
	if (ps->timer)
		event_free(ps->timer);
	if (ps->trim)
		event_free(ps->trim);
	close(ps->epfd);
	for (uint32_t i = 0; i < ps->nchunks; i++)
		munmap(ps->chunks[i], TRIAD_PARK_CHUNK * sizeof(struct park_rec));
	free(ps->chunks);
	free(ps->cls);
	free(ps);
}

static bool same_class(const struct park_class *a, const struct park_class *b)
{
	return a->conf == b->conf && a->ops == b->ops && a->idle_ms == b->idle_ms &&
	       a->read_ms == b->read_ms && a->write_ms == b->write_ms &&
	       a->read_max == b->read_max && a->write_low == b->write_low &&
	       a->listener_tag == b->listener_tag;
}

/* The class equal to K, or a new one; NIL (errno) when none can be made. */
static uint32_t class_for(struct park_set *ps, const struct park_class *k)
{
	uint32_t free_slot = NIL;
	for (uint32_t i = 0; i < ps->ncls; i++) {
		if (!ps->cls[i].used) {
			if (free_slot == NIL)
				free_slot = i;
		} else if (same_class(&ps->cls[i].k, k)) {
			return i;
		}
	}
	if (free_slot == NIL) {
		if (ps->ncls >= TRIAD_PARK_CLASSES_MAX) {
			errno = ENOSPC;
			return NIL;
		}
		struct park_cls *c = realloc(ps->cls, (ps->ncls + 1) * sizeof(*c));
		if (!c)
			return NIL;
		ps->cls = c;
		free_slot = ps->ncls++;
	}
	struct park_cls *c = &ps->cls[free_slot];
	memset(c, 0, sizeof(*c));
	c->k = *k;
	c->head = c->tail = NIL;
	return free_slot;
}

int park_add(struct park_set *ps, const struct park_rec *r, const struct park_class *k)
{
	if (ps->free_head == NIL && grow(ps) < 0)
		return -1;
	uint32_t ci = class_for(ps, k);
	if (ci == NIL)
		return -1;
	struct park_cls *c = &ps->cls[ci];
	uint32_t s = ps->free_head;
	/* Level-triggered: input that arrived before this call is reported too. */
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP,
	                         .data.u64 = (uint64_t)(uint32_t)r->fd << 32 | s};
	if (epoll_ctl(ps->epfd, EPOLL_CTL_ADD, r->fd, &ev) < 0)
		return -1; /* a new class stays unused: the next add reuses it */
	if (!c->used) {
		c->used = true;
		if (ps->hooks->class_hold)
			ps->hooks->class_hold(&c->k);
	}
	struct park_rec *slot = rec(ps, s);
	ps->free_head = slot->next;
	*slot = *r;
	slot->cls = (uint16_t)ci;
	slot->parked_at = now_ms(ps);
	slot->next = NIL;
	slot->prev = c->tail;
	if (c->tail != NIL)
		rec(ps, c->tail)->next = s;
	else
		c->head = s;
	c->tail = s;
	bool first = c->n++ == 0;
	ps->count++;
	atomic_fetch_add_explicit(&parked_total, 1, memory_order_relaxed);
	ps->parked_since_trim++;
	if (ps->parked_since_check++ == 0 && !event_pending(ps->trim, EV_TIMEOUT, NULL))
		trim_arm(ps);
	/* Only a new head can move the earliest deadline. */
	if (first && k->idle_ms)
		arm_timer(ps);
	return 0;
}

void park_close_all(struct park_set *ps)
{
	for (uint32_t i = 0; i < ps->ncls; i++)
		while (ps->cls[i].used && ps->cls[i].head != NIL)
			wake(ps, ps->cls[i].head, PARK_WAKE_SHUTDOWN);
	arm_timer(ps);
}

size_t park_count(const struct park_set *ps)
{
	return ps->count;
}

size_t park_capacity(const struct park_set *ps)
{
	return (size_t)ps->nchunks * TRIAD_PARK_CHUNK;
}
