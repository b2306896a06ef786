/*
 * tbuf: see triad/tbuf.h. The key is made on the first call from any
 * thread (under a lock: a struct tbuf is a static with no constructor); its
 * destructor frees each thread's buffer at that thread's exit.
 */
#include "triad/tbuf.h"

#include <stdlib.h>

static pthread_mutex_t key_lock = PTHREAD_MUTEX_INITIALIZER;

static bool make_key(struct tbuf *t)
{
	pthread_mutex_lock(&key_lock);
	if (!atomic_load_explicit(&t->keyed, memory_order_relaxed) &&
	    pthread_key_create(&t->key, free) == 0)
		atomic_store_explicit(&t->keyed, true, memory_order_release);
	pthread_mutex_unlock(&key_lock);
	return atomic_load_explicit(&t->keyed, memory_order_acquire);
}

void *tbuf_get(struct tbuf *t)
{
	if (!atomic_load_explicit(&t->keyed, memory_order_acquire) && !make_key(t))
		return NULL;
	void *p = pthread_getspecific(t->key);
	if (p)
		return p;
	p = malloc(t->size);
	if (p && pthread_setspecific(t->key, p) != 0) {
		free(p);
		p = NULL;
	}
	return p;
}
