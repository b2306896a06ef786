/*
 * evmem: libevent's allocations of at most TRIAD_EVMEM_SLOT bytes (its
 * per-descriptor records, kept for the loop's lifetime) come from a region
 * of their own instead of the malloc heap, where they would pin pages that
 * connections gave back (common/evmem.c says why).
 */
#ifndef TRIAD_EVMEM_H
#define TRIAD_EVMEM_H

#include <stddef.h>

/* Before any other libevent call (libevent's rule for
 * event_set_mem_functions). 0, or -1: libevent keeps malloc. Idempotent. */
int evmem_install(void);
/* Slots handed out and not freed (tests). */
size_t evmem_slots_in_use(void);

#endif
