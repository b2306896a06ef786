/*
 * tbuf: one buffer per thread, made on first use, the same one on every
 * later call from that thread, another in another thread; all T->size bytes
 * writable (ASan checks the bound); freed at thread exit (LeakSanitizer
 * reports it under SANITIZE=1 if not).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>

#include "triad/tbuf.h"

static struct tbuf tb = TBUF_INIT(3000);
static struct tbuf other = TBUF_INIT(10);

static void *grab(void *arg)
{
	(void)arg;
	unsigned char *p = tbuf_get(&tb);
	if (p)
		memset(p, 0xab, 3000);
	return p;
}

static void test_same_in_thread(void **state)
{
	(void)state;
	unsigned char *a = tbuf_get(&tb);
	assert_non_null(a);
	memset(a, 0x5a, 3000);
	assert_ptr_equal(tbuf_get(&tb), a);
	/* Another tbuf is another buffer, in the same thread. */
	unsigned char *b = tbuf_get(&other);
	assert_non_null(b);
	assert_ptr_not_equal(b, a);
	assert_ptr_equal(tbuf_get(&tb), a);
	assert_int_equal(a[2999], 0x5a);
}

static void test_other_thread_other_buffer(void **state)
{
	(void)state;
	unsigned char *mine = tbuf_get(&tb);
	pthread_t t;
	void *theirs = NULL;
	assert_int_equal(pthread_create(&t, NULL, grab, NULL), 0);
	assert_int_equal(pthread_join(t, &theirs), 0);
	assert_non_null(theirs);
	assert_ptr_not_equal(theirs, mine);
	/* Theirs was written and freed at its thread's exit; ours is untouched. */
	mine[0] = 1;
	assert_ptr_equal(tbuf_get(&tb), mine);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_same_in_thread),
	    cmocka_unit_test(test_other_thread_other_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
