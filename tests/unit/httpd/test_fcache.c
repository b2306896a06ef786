/*
 * Unit tests for httpd/fcache.c: a cached small file is served again only
 * while fstatat still shows the same inode, size, mtime and ctime; replaced
 * (rename), rewritten, deleted, fresh and other-generation files are not
 * served from the cache; a large file is held as metadata only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../../httpd/session.h"

struct fx {
	char dir[64];
	struct http_site app;
	struct http_worker *w;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_fcache.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->app.gen = 7;
	f->app.docroot.fd = open(f->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->app.docroot.fd >= 0);
	f->w = calloc(1, sizeof(*f->w));
	assert_non_null(f->w);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	http_fcache_free(f->w);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	close(f->app.docroot.fd);
	free(f->w);
	free(f);
	return 0;
}

/* Writes NAME with BODY. Its ctime cannot be set back, so the tests make a file
 * old enough to cache by passing a NOW in the future (LATER). */
static void write_file(struct fx *f, const char *name, const char *body, size_t len)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(body, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

/* Opens NAME as serve_file would and offers it to the cache. */
static void put(struct fx *f, const char *name, int64_t now)
{
	int fd = openat(f->app.docroot.fd, name, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	http_fcache_put(f->w, &f->app, name, strlen(name), fd, &st, "text/plain", false, false, now);
	close(fd);
}

static struct http_fentry *get(struct fx *f, const char *name)
{
	return http_fcache_get(f->w, &f->app, name, strlen(name), NULL);
}

#define LATER ((int64_t)time(NULL) + 10) /* the file is old enough to cache */

static void test_hit_and_content(void **state)
{
	struct fx *f = *state;
	write_file(f, "a.txt", "hello", 5);
	assert_null(get(f, "a.txt")); /* not cached yet */
	put(f, "a.txt", LATER);
	struct http_fentry *e = get(f, "a.txt");
	assert_non_null(e);
	assert_int_equal(e->st.st_size, 5);
	assert_true(e->has_body);
	assert_memory_equal(e->body, "hello", 5);
	assert_string_equal(e->ctype, "text/plain");
	assert_true(e->etag_len > 0);
	http_fentry_unref(e);
	assert_null(get(f, "b.txt"));
	assert_null(get(f, "a.tx"));
}

static void test_fresh_not_cached(void **state)
{
	struct fx *f = *state;
	write_file(f, "a.txt", "hello", 5);
	put(f, "a.txt", (int64_t)time(NULL)); /* modified just now */
	assert_null(get(f, "a.txt"));
}

/* A large file: its metadata only (type, validators), and only for the file
 * it describes (http_fentry_same); its bytes are never held. */
static void test_large_metadata_only(void **state)
{
	struct fx *f = *state;
	size_t n = HTTP_FCACHE_MAX_BODY + 1;
	char *big = calloc(1, n);
	assert_non_null(big);
	write_file(f, "big.bin", big, n);
	write_file(f, "small.bin", big, 10);
	free(big);
	put(f, "big.bin", LATER);
	struct http_fentry *e = get(f, "big.bin");
	assert_non_null(e);
	assert_false(e->has_body);
	assert_int_equal(e->st.st_size, (off_t)n);
	assert_string_equal(e->ctype, "text/plain");
	assert_true(e->etag_len > 0);
	struct stat st;
	assert_int_equal(fstatat(f->app.docroot.fd, "big.bin", &st, 0), 0);
	assert_true(http_fentry_same(e, &st));
	assert_int_equal(fstatat(f->app.docroot.fd, "small.bin", &st, 0), 0);
	assert_false(http_fentry_same(e, &st)); /* another file */
	http_fentry_unref(e);
	/* rewritten to another size: the entry is gone */
	write_file(f, "big.bin", "x", 1);
	assert_null(get(f, "big.bin"));
}

static void test_replaced_by_rename(void **state)
{
	struct fx *f = *state;
	write_file(f, "a.txt", "hello", 5);
	put(f, "a.txt", LATER);
	struct http_fentry *held = get(f, "a.txt"); /* a response still sending it */
	assert_non_null(held);
	write_file(f, ".tmp", "world", 5); /* same size, new inode */
	char from[128], to[128];
	snprintf(from, sizeof(from), "%s/.tmp", f->dir);
	snprintf(to, sizeof(to), "%s/a.txt", f->dir);
	assert_int_equal(rename(from, to), 0);
	assert_null(get(f, "a.txt"));
	assert_memory_equal(held->body, "hello", 5); /* the old response stays whole */
	http_fentry_unref(held);
}

/* One revalidation per loop iteration: a second use with the same iteration
 * stamp trusts the first one's fstatat; the next iteration looks again. */
static void test_revalidated_once_per_iteration(void **state)
{
	struct fx *f = *state;
	write_file(f, "a.txt", "hello", 5);
	put(f, "a.txt", LATER);
	struct timeval it1 = {100, 1}, it2 = {100, 2};
	struct http_fentry *e = http_fcache_get(f->w, &f->app, "a.txt", 5, &it1);
	assert_non_null(e);
	http_fentry_unref(e);
	write_file(f, "a.txt", "hello!", 6); /* changed within iteration 1 */
	e = http_fcache_get(f->w, &f->app, "a.txt", 5, &it1);
	assert_non_null(e); /* requests of iteration 1 were all sent before the change */
	assert_true(e->has_body);
	assert_memory_equal(e->body, "hello", 5);
	http_fentry_unref(e);
	assert_null(http_fcache_get(f->w, &f->app, "a.txt", 5, &it2));
}

static void test_rewritten_or_deleted(void **state)
{
	struct fx *f = *state;
	write_file(f, "a.txt", "hello", 5);
	put(f, "a.txt", LATER);
	write_file(f, "a.txt", "hello!", 6); /* in place: size, mtime, ctime change */
	assert_null(get(f, "a.txt"));
	put(f, "a.txt", LATER);
	char path[128];
	snprintf(path, sizeof(path), "%s/a.txt", f->dir);
	assert_int_equal(chmod(path, 0600), 0); /* ctime changes */
	assert_null(get(f, "a.txt"));
	put(f, "a.txt", LATER);
	assert_int_equal(unlink(path), 0);
	assert_null(get(f, "a.txt"));
}

static void test_other_generation(void **state)
{
	struct fx *f = *state;
	write_file(f, "a.txt", "hello", 5);
	put(f, "a.txt", LATER);
	f->app.gen = 8; /* a reload: another docroot, other settings */
	assert_null(get(f, "a.txt"));
}

/* Issue 12: 1,000 sites with one hot file each (1,000 generations, one path)
 * all stay cached: the 128 direct-mapped slots of before kept about 110. */
static void test_thousand_sites_all_cached(void **state)
{
	struct fx *f = *state;
	write_file(f, "1k.txt", "x", 1);
	for (uint64_t g = 1000; g < 2000; g++) {
		f->app.gen = g;
		put(f, "1k.txt", LATER);
	}
	for (uint64_t g = 1000; g < 2000; g++) {
		f->app.gen = g;
		struct http_fentry *e = get(f, "1k.txt");
		if (!e)
			fail_msg("site generation %llu was evicted", (unsigned long long)g);
		http_fentry_unref(e);
	}
}

/* So are 1,000 files of one site. */
static void test_thousand_files_all_cached(void **state)
{
	struct fx *f = *state;
	char name[32];
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "f%d.txt", i);
		write_file(f, name, name, strlen(name));
		put(f, name, LATER);
	}
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "f%d.txt", i);
		struct http_fentry *e = get(f, name);
		if (!e)
			fail_msg("%s was evicted", name);
		assert_memory_equal(e->body, name, strlen(name));
		http_fentry_unref(e);
	}
}

/* A set that is full drops its least recently used entry: a hot file survives a
 * flood of files used once (three times the cache's slots). */
static void test_hot_entry_survives_a_flood(void **state)
{
	struct fx *f = *state;
	write_file(f, "hot.txt", "hot", 3);
	write_file(f, "cold.txt", "cold", 4);
	f->app.gen = 1;
	put(f, "hot.txt", LATER);
	for (uint64_t g = 2; g < 2 + 3 * HTTP_FCACHE_SLOTS; g++) {
		f->app.gen = g;
		put(f, "cold.txt", LATER);
		f->app.gen = 1;
		struct http_fentry *e = get(f, "hot.txt");
		if (!e)
			fail_msg("the hot entry was dropped after %llu others", (unsigned long long)g);
		http_fentry_unref(e);
	}
	assert_true(f->w->fcache_bytes <= HTTP_FCACHE_BYTES);
}

/* The bodies held stay within HTTP_FCACHE_BYTES, however many files are offered. */
static void test_bytes_bounded(void **state)
{
	struct fx *f = *state;
	size_t n = HTTP_FCACHE_MAX_BODY;
	char *body = calloc(1, n), name[32];
	assert_non_null(body);
	unsigned files = (unsigned)(2 * HTTP_FCACHE_BYTES / HTTP_FCACHE_MAX_BODY), cached = 0;
	for (unsigned i = 0; i < files; i++) {
		snprintf(name, sizeof(name), "b%u.bin", i);
		write_file(f, name, body, n);
		put(f, name, LATER);
		assert_true(f->w->fcache_bytes <= HTTP_FCACHE_BYTES);
	}
	free(body);
	for (unsigned i = 0; i < files; i++) {
		snprintf(name, sizeof(name), "b%u.bin", i);
		struct http_fentry *e = get(f, name);
		cached += e != NULL;
		http_fentry_unref(e);
	}
	assert_true(cached > 0 && cached < files);
	assert_true((size_t)cached * n <= HTTP_FCACHE_BYTES);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_hit_and_content, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fresh_not_cached, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_large_metadata_only, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_revalidated_once_per_iteration, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_replaced_by_rename, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rewritten_or_deleted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_other_generation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_thousand_sites_all_cached, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_thousand_files_all_cached, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hot_entry_survives_a_flood, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bytes_bounded, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
