/*
 * evmem: the allocator libevent uses (event_set_mem_functions), so that its
 * small long-lived records do not pin the heap.
 *
 * libevent keeps one small record (its evmap entry, about 20 bytes) per
 * descriptor number a loop has ever watched, and frees them only with the
 * loop. Allocated from malloc in the middle of a connection burst, they land
 * one or two per page among the conns' own allocations; once the conns are
 * parked or closed, every such page stays resident for a 20-byte record
 * (issue 10: 10,000 parked conns left 1.3 MB of free heap that no trim could
 * give back). Here every libevent allocation of at most TRIAD_EVMEM_SLOT
 * bytes takes a slot in a region of its own (8-byte aligned: what any
 * object that small holds, pointers and integers, needs): reserved once (PROT_NONE, no
 * commit charge), made usable TRIAD_EVMEM_STEP bytes at a time, with a free
 * list; larger allocations, and small ones once the region is full, go to
 * malloc. A pointer is the region's by its address.
 */
#include "triad/evmem.h"
#include "triad/limits.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <event2/event.h>

static char *region;      /* TRIAD_EVMEM_RESERVE bytes, NULL: not installed */
static size_t committed;  /* bytes made readable and writable */
static size_t used;       /* bytes ever handed out (the bump pointer) */
static void *free_slots;  /* freed slots, linked through their first word */
static size_t in_use;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static bool ours(const void *p)
{
	return region && (const char *)p >= region && (const char *)p < region + TRIAD_EVMEM_RESERVE;
}

static void *slot_get(void)
{
	void *p = NULL;
	pthread_mutex_lock(&lock);
	if (free_slots) {
		p = free_slots;
		memcpy(&free_slots, p, sizeof(void *));
	} else if (used + TRIAD_EVMEM_SLOT <= committed ||
	           (committed + TRIAD_EVMEM_STEP <= TRIAD_EVMEM_RESERVE &&
	            mprotect(region + committed, TRIAD_EVMEM_STEP, PROT_READ | PROT_WRITE) == 0 &&
	            (committed += TRIAD_EVMEM_STEP))) {
		p = region + used;
		used += TRIAD_EVMEM_SLOT;
	}
	if (p)
		in_use++;
	pthread_mutex_unlock(&lock);
	return p;
}

static void slot_put(void *p)
{
	pthread_mutex_lock(&lock);
	memcpy(p, &free_slots, sizeof(void *));
	free_slots = p;
	in_use--;
	pthread_mutex_unlock(&lock);
}

static void *ev_malloc(size_t n)
{
	if (n <= TRIAD_EVMEM_SLOT) {
		void *p = slot_get();
		if (p)
			return p;
	}
	return malloc(n);
}

static void *ev_realloc(void *p, size_t n)
{
	if (!ours(p))
		return realloc(p, n);
	if (n <= TRIAD_EVMEM_SLOT)
		return p;
	void *q = malloc(n);
	if (!q)
		return NULL;
	memcpy(q, p, TRIAD_EVMEM_SLOT);
	slot_put(p);
	return q;
}

static void ev_free(void *p)
{
	if (ours(p))
		slot_put(p);
	else
		free(p);
}

int evmem_install(void)
{
	if (region)
		return 0;
	void *r = mmap(NULL, TRIAD_EVMEM_RESERVE, PROT_NONE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (r == MAP_FAILED)
		return -1;
	region = r;
	event_set_mem_functions(ev_malloc, ev_realloc, ev_free);
	return 0;
}

size_t evmem_slots_in_use(void)
{
	pthread_mutex_lock(&lock);
	size_t n = in_use;
	pthread_mutex_unlock(&lock);
	return n;
}
