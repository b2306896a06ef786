/*
 * tbuf: a per-thread scratch buffer allocated on the thread's first use and
 * freed when the thread exits. Instead of a static _Thread_local array:
 * glibc zeroes a thread's whole static TLS block when the thread starts, so
 * such an array is resident in every thread of the process (main, log
 * writer, workers, job threads) whether the thread ever uses it or not.
 * Malloc'd, its pages become resident only as they are written.
 */
#ifndef TRIAD_TBUF_H
#define TRIAD_TBUF_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

struct tbuf {
	size_t size;
	atomic_bool keyed;
	pthread_key_t key;
};

#define TBUF_INIT(bytes) {.size = (bytes)}

/* This thread's buffer of T->size bytes; NULL when out of memory. */
void *tbuf_get(struct tbuf *t);

#endif
