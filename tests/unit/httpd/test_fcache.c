/*
 * Unit tests for httpd/fcache.c: a cached small file is served again only
 * while fstatat still shows the same inode, size, mtime and ctime; replaced
 * (rename), rewritten, deleted, fresh and other-generation files are not
 * served from the cache; a large file is held as metadata only. With the
 * inotify watches: a watched entry is trusted until an event on one of its
 * watches is read, then revalidated (an event elsewhere costs it nothing); paths that cannot be watched are revalidated per iteration;
 * watch descriptors are shared, released with their last entry and bounded.
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

static int setup_watched(void **state)
{
	setup(state);
	struct fx *f = *state;
	assert_int_equal(http_fcache_watch_start(f->w, NULL), 0);
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
	assert_int_equal(e->size, 5);
	assert_true(e->has_body);
	assert_memory_equal(e->body, "hello", 5);
	assert_string_equal(e->ctype, "text/plain");
	assert_true(e->etag_len > 0);
	http_fentry_unref(e);
	assert_null(get(f, "b.txt"));
	assert_null(get(f, "a.tx"));
}

/* The packed entry (fcache.h): line-aligned, its strings in one run after
 * the fixed part (path, type, ETag, Last-Modified), each whole; a type
 * longer than http_exchange.ctype holds is cut to HTTP_FENTRY_CTYPE_MAX. */
static void test_packed_strings(void **state)
{
	struct fx *f = *state;
	char ctype[200];
	memset(ctype, 'x', sizeof(ctype) - 1);
	ctype[sizeof(ctype) - 1] = '\0';
	static const struct {
		int line;
		const char *name, *ctype;
		size_t ctype_len;
	} rows[] = {
	    {__LINE__, "a.txt", "text/plain; charset=utf-8", 25},
	    {__LINE__, "d/e/long-name-of-a-file.html", "", 0},
	    {__LINE__, "t.bin", NULL, HTTP_FENTRY_CTYPE_MAX}, /* NULL: the 199-byte type */
	};
	mkdirat(f->app.docroot.fd, "d", 0700);
	mkdirat(f->app.docroot.fd, "d/e", 0700);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *name = rows[i].name, *type = rows[i].ctype ? rows[i].ctype : ctype;
		write_file(f, name, "hello", 5);
		int fd = openat(f->app.docroot.fd, name, O_RDONLY | O_CLOEXEC);
		assert_true(fd >= 0);
		struct stat st;
		assert_int_equal(fstat(fd, &st), 0);
		http_fcache_put(f->w, &f->app, name, strlen(name), fd, &st, type, false, false, LATER);
		close(fd);
		struct http_fentry *e = get(f, name);
		if (!e)
			fail_msg("row at line %d: not cached", rows[i].line);
		assert_int_equal((uintptr_t)e % 64, 0);
		assert_int_equal(e->path_len, strlen(name));
		assert_string_equal(e->path, name);
		assert_int_equal(e->ctype_len, rows[i].ctype_len);
		assert_int_equal(strlen(e->ctype), rows[i].ctype_len);
		assert_memory_equal(e->ctype, type, rows[i].ctype_len);
		char etag[HTTP_ETAG_MAX], lastmod[DATE_HTTP_LEN + 1];
		size_t n = http_etag_format(etag, (uint64_t)st.st_ino, (uint64_t)st.st_size,
		                            st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
		assert_int_equal(e->etag_len, n);
		assert_string_equal(e->etag, etag);
		assert_true(date_http_format(st.st_mtim.tv_sec, lastmod));
		assert_string_equal(e->lastmod, lastmod);
		assert_int_equal(e->size, 5);
		assert_memory_equal(e->body, "hello", 5);
		http_fentry_unref(e);
	}
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
	assert_int_equal(e->size, n);
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

/* Names "cN.txt" of the site generation in F whose entries fall in one set:
 * writes HTTP_FCACHE_WAYS + 1 of them into NAMES (each 16 bytes). */
static void colliding_names(struct fx *f, char names[][16])
{
	unsigned found = 0, want = 0;
	char name[16];
	for (unsigned i = 0; found < HTTP_FCACHE_WAYS + 1; i++) {
		assert_true(i < 100u * HTTP_FCACHE_SETS); /* the hash spreads over the sets */
		snprintf(name, sizeof(name), "c%u.txt", i);
		unsigned set = http_fcache_set_index(f->app.gen, name, strlen(name));
		if (found == 0)
			want = set;
		if (set == want)
			memcpy(names[found++], name, sizeof(name));
	}
}

/* A set holds HTTP_FCACHE_WAYS entries whose paths collide in it, each found
 * by its own path (a collision in the set is no false hit); one more evicts
 * the least recently used of them, not the oldest put, and the others and
 * the entries of other sets stay. */
static void test_set_collisions_evict_least_recent(void **state)
{
	struct fx *f = *state;
	char names[HTTP_FCACHE_WAYS + 1][16];
	colliding_names(f, names);
	write_file(f, "other.txt", "o", 1);
	put(f, "other.txt", LATER);
	assert_int_not_equal(http_fcache_set_index(f->app.gen, "other.txt", 9),
	                     http_fcache_set_index(f->app.gen, names[0], strlen(names[0])));
	for (unsigned i = 0; i < HTTP_FCACHE_WAYS; i++) {
		write_file(f, names[i], names[i], strlen(names[i]));
		put(f, names[i], LATER);
	}
	/* Used in reverse order after the puts: names[WAYS - 1] is now the least recent. */
	for (unsigned i = 0; i < HTTP_FCACHE_WAYS; i++) {
		struct http_fentry *e = get(f, names[i]);
		if (!e)
			fail_msg("%s was not cached beside the others of its set", names[i]);
		assert_memory_equal(e->body, names[i], strlen(names[i]));
		http_fentry_unref(e);
	}
	for (unsigned i = 0; i < HTTP_FCACHE_WAYS - 1; i++)
		http_fentry_unref(get(f, names[i]));
	const char *extra = names[HTTP_FCACHE_WAYS];
	write_file(f, extra, extra, strlen(extra));
	put(f, extra, LATER);
	assert_null(get(f, names[HTTP_FCACHE_WAYS - 1])); /* the least recently used went */
	for (unsigned i = 0; i <= HTTP_FCACHE_WAYS; i++) {
		if (i == HTTP_FCACHE_WAYS - 1)
			continue;
		struct http_fentry *e = get(f, names[i]);
		if (!e)
			fail_msg("%s was evicted instead of the least recently used", names[i]);
		assert_memory_equal(e->body, names[i], strlen(names[i]));
		http_fentry_unref(e);
	}
	struct http_fentry *o = get(f, "other.txt");
	assert_non_null(o);
	http_fentry_unref(o);
}

/* A response holding an entry's body (its reference, as a body queued on a
 * connection by reference holds it) keeps the bytes when the entry is
 * evicted from its set meanwhile; the entry is freed by the last unref
 * (ASan and valgrind see a use after free otherwise). */
static void test_evicted_body_outlives_its_slot(void **state)
{
	struct fx *f = *state;
	char names[HTTP_FCACHE_WAYS + 1][16];
	colliding_names(f, names);
	for (unsigned i = 0; i < HTTP_FCACHE_WAYS; i++) {
		write_file(f, names[i], names[i], strlen(names[i]));
		put(f, names[i], LATER);
	}
	struct http_fentry *held = get(f, names[0]);
	assert_non_null(held);
	for (unsigned i = 1; i < HTTP_FCACHE_WAYS; i++)
		http_fentry_unref(get(f, names[i])); /* names[0] is the least recent */
	write_file(f, names[HTTP_FCACHE_WAYS], "new", 3);
	put(f, names[HTTP_FCACHE_WAYS], LATER);
	assert_null(get(f, names[0]));
	assert_memory_equal(held->body, names[0], strlen(names[0]));
	http_fentry_unref(held);
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

static struct http_fentry *get_at(struct fx *f, const char *name, long iteration)
{
	struct timeval it = {1000, iteration};
	return http_fcache_get(f->w, &f->app, name, strlen(name), &it);
}

static void mkdir_in(struct fx *f, const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	assert_int_equal(mkdir(path, 0755), 0);
}

/* Watched: no fstatat while no event, so a change is trusted away until the
 * event is read (the loop reads it before any request sent after it); then
 * the entry is revalidated and dropped. */
static void test_watched_until_event(void **state)
{
	struct fx *f = *state;
	write_file(f, "a.txt", "hello", 5);
	put(f, "a.txt", LATER);
	struct http_fentry *e = get_at(f, "a.txt", 1);
	assert_non_null(e);
	http_fentry_unref(e);
	write_file(f, "a.txt", "HELLO", 5); /* in place, same size */
	e = get_at(f, "a.txt", 2);          /* a new iteration, event not read yet */
	assert_non_null(e);
	assert_memory_equal(e->body, "hello", 5);
	http_fentry_unref(e);
	http_fcache_watch_read(f->w);
	assert_null(get_at(f, "a.txt", 2));
	/* cached again: an event elsewhere in the tree makes it check, and it stays */
	put(f, "a.txt", LATER);
	write_file(f, "other.txt", "x", 1);
	http_fcache_watch_read(f->w);
	e = get_at(f, "a.txt", 3);
	assert_non_null(e);
	assert_memory_equal(e->body, "HELLO", 5);
	http_fentry_unref(e);
}

/* Each event marks its own watch: an event in one directory (as in another
 * site's docroot) makes only the entries watching that directory check;
 * the others stay trusted without an fstatat, and so does their sibling
 * answer. An event in a directory every entry watches (the docroot) makes
 * each check once. */
static void test_event_elsewhere_costs_no_fstatat(void **state)
{
	struct fx *f = *state;
	mkdir_in(f, "a");
	mkdir_in(f, "b");
	write_file(f, "a/x.txt", "x", 1);
	write_file(f, "b/y.txt", "y", 1);
	put(f, "a/x.txt", LATER);
	put(f, "b/y.txt", LATER);
	struct http_fentry *x = get_at(f, "a/x.txt", 1), *y;
	assert_non_null(x);
	http_fentry_vary_set(f->w, x, false, 100);
	uint64_t n = f->w->fcache_revalidations;

	write_file(f, "b/new.txt", "n", 1); /* an event in b only */
	http_fcache_watch_read(f->w);
	http_fentry_unref(x);
	x = get_at(f, "a/x.txt", 2);
	assert_non_null(x);
	assert_int_equal(f->w->fcache_revalidations, n); /* trusted: no fstatat */
	assert_true(http_fentry_vary_current(f->w, x, 100));
	y = get_at(f, "b/y.txt", 2);
	assert_non_null(y); /* checked, unchanged */
	assert_int_equal(f->w->fcache_revalidations, n + 1);
	http_fentry_unref(y);
	y = get_at(f, "b/y.txt", 3);
	assert_non_null(y); /* found current after its check: trusted again */
	assert_int_equal(f->w->fcache_revalidations, n + 1);
	http_fentry_unref(y);

	write_file(f, "a/x.txt.gz", "g", 1); /* a sibling in a: x's answer is stale */
	http_fcache_watch_read(f->w);
	assert_false(http_fentry_vary_current(f->w, x, 100));
	http_fentry_unref(x);
	write_file(f, "a/x.txt", "X", 1); /* x itself: checked and gone */
	http_fcache_watch_read(f->w);
	assert_null(get_at(f, "a/x.txt", 4));
	assert_int_equal(f->w->fcache_revalidations, n + 2);
	y = get_at(f, "b/y.txt", 4);
	assert_non_null(y);
	assert_int_equal(f->w->fcache_revalidations, n + 2);
	http_fentry_unref(y);

	write_file(f, "top.txt", "t", 1); /* the docroot: watched by every entry */
	http_fcache_watch_read(f->w);
	y = get_at(f, "b/y.txt", 5);
	assert_non_null(y);
	assert_int_equal(f->w->fcache_revalidations, n + 3);
	http_fentry_unref(y);
}

/* Two sites (their own docroots and generations) with the same path: a
 * change in one site's docroot drops that site's entry and costs the other
 * site's entry no fstatat (interface.md "Sites": an upload to one site is
 * live at once, and the others are not slowed by it). */
static void test_change_in_one_site_spares_the_others(void **state)
{
	struct fx *f = *state;
	mkdir_in(f, "a");
	mkdir_in(f, "b");
	write_file(f, "a/index.html", "A", 1);
	write_file(f, "b/index.html", "B", 1);
	struct http_site a = f->app, b = f->app;
	a.gen = 100;
	b.gen = 200;
	a.docroot.fd = openat(f->app.docroot.fd, "a", O_PATH | O_DIRECTORY | O_CLOEXEC);
	b.docroot.fd = openat(f->app.docroot.fd, "b", O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(a.docroot.fd >= 0 && b.docroot.fd >= 0);
	const struct http_site *sites[2] = {&a, &b};
	for (int i = 0; i < 2; i++) {
		int fd = openat(sites[i]->docroot.fd, "index.html", O_RDONLY | O_CLOEXEC);
		assert_true(fd >= 0);
		struct stat st;
		assert_int_equal(fstat(fd, &st), 0);
		http_fcache_put(f->w, sites[i], "index.html", 10, fd, &st, "text/html", false, false,
		                LATER);
		close(fd);
	}
	struct timeval it = {1000, 1};
	for (int i = 0; i < 2; i++) {
		struct http_fentry *e = http_fcache_get(f->w, sites[i], "index.html", 10, &it);
		assert_non_null(e);
		assert_memory_equal(e->body, i ? "B" : "A", 1);
		http_fentry_unref(e);
	}
	uint64_t n = f->w->fcache_revalidations;
	write_file(f, "a/index.html", "a2", 2); /* an upload to site a */
	http_fcache_watch_read(f->w);
	it.tv_usec = 2;
	assert_null(http_fcache_get(f->w, &a, "index.html", 10, &it));
	assert_int_equal(f->w->fcache_revalidations, n + 1);
	struct http_fentry *e = http_fcache_get(f->w, &b, "index.html", 10, &it);
	assert_non_null(e);
	assert_memory_equal(e->body, "B", 1);
	assert_int_equal(f->w->fcache_revalidations, n + 1); /* b: trusted, no fstatat */
	http_fentry_unref(e);
	http_fcache_free(f->w); /* before the docroots close: the watches go with it */
	close(a.docroot.fd);
	close(b.docroot.fd);
}

/* A watched file in a subdirectory: renaming the directory, or changing an
 * entry of it, is an event. */
static void test_watched_directory_renamed(void **state)
{
	struct fx *f = *state;
	mkdir_in(f, "d");
	write_file(f, "d/c.txt", "c", 1);
	put(f, "d/c.txt", LATER);
	assert_int_equal(http_fcache_watches(f->w), 3); /* docroot, d, c.txt */
	char from[256], to[256];
	snprintf(from, sizeof(from), "%s/d", f->dir);
	snprintf(to, sizeof(to), "%s/e", f->dir);
	assert_int_equal(rename(from, to), 0);
	http_fcache_watch_read(f->w);
	assert_null(get_at(f, "d/c.txt", 1));
	assert_int_equal(http_fcache_watches(f->w), 0);
}

/* One watch per inode, shared; the last entry using it removes it. */
static void test_watches_shared_and_released(void **state)
{
	struct fx *f = *state;
	mkdir_in(f, "sub");
	write_file(f, "a.txt", "a", 1);
	write_file(f, "b.txt", "b", 1);
	write_file(f, "sub/c.txt", "c", 1);
	char b[256], d[256];
	snprintf(b, sizeof(b), "%s/b.txt", f->dir);
	snprintf(d, sizeof(d), "%s/d.txt", f->dir);
	assert_int_equal(link(b, d), 0); /* d.txt is b.txt's inode */
	put(f, "a.txt", LATER);
	put(f, "b.txt", LATER);
	put(f, "sub/c.txt", LATER);
	assert_int_equal(http_fcache_watches(f->w), 5); /* docroot, a, b, sub, c */
	put(f, "d.txt", LATER);
	assert_int_equal(http_fcache_watches(f->w), 5);
	write_file(f, "a.txt", "A", 1);
	http_fcache_watch_read(f->w);
	assert_null(get_at(f, "a.txt", 1));
	assert_int_equal(http_fcache_watches(f->w), 4);
	struct http_fentry *e = get_at(f, "d.txt", 1);
	assert_non_null(e);
	http_fentry_unref(e);
	http_fcache_free(f->w);
	assert_int_equal(http_fcache_watches(f->w), 0);
}

/* A link on the path, or more components than HTTP_FCACHE_WATCH_DEPTH: not
 * watched, so revalidated by fstatat in every new iteration, as without
 * inotify. */
static void test_unwatchable_paths_checked_per_iteration(void **state)
{
	struct fx *f = *state;
	mkdir_in(f, "real");
	write_file(f, "real/x.txt", "x", 1);
	char target[256];
	snprintf(target, sizeof(target), "%s/link", f->dir);
	assert_int_equal(symlink("real", target), 0);
	char deep[256] = "";
	for (int i = 0; i < HTTP_FCACHE_WATCH_DEPTH; i++) {
		strcat(deep, i ? "/d" : "d");
		mkdir_in(f, deep);
	}
	strcat(deep, "/y.txt");
	write_file(f, deep, "y", 1);
	put(f, "link/x.txt", LATER);
	put(f, deep, LATER);
	assert_int_equal(http_fcache_watches(f->w), 0);
	struct http_fentry *e = get_at(f, deep, 1);
	assert_non_null(e);
	http_fentry_unref(e);
	write_file(f, "real/x.txt", "X", 1);
	write_file(f, deep, "Y", 1);
	assert_null(get_at(f, "link/x.txt", 2)); /* no event read: fstatat saw it */
	assert_null(get_at(f, deep, 2));
}

/* Past HTTP_FCACHE_WATCHES inodes the entries go unwatched (revalidated per
 * iteration), and every entry is right once the events are read. */
static void test_watches_bounded(void **state)
{
	struct fx *f = *state;
	char name[32];
	unsigned n = HTTP_FCACHE_WATCHES + 64;
	for (unsigned i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "w%u.txt", i);
		write_file(f, name, "old", 3);
		put(f, name, LATER);
	}
	assert_true(http_fcache_watches(f->w) <= HTTP_FCACHE_WATCHES);
	unsigned stale = 0;
	char path[256];
	for (unsigned i = 0; i < n; i++) { /* chmod: a new ctime (rewriting is slow on ext4) */
		snprintf(path, sizeof(path), "%s/w%u.txt", f->dir, i);
		assert_int_equal(chmod(path, 0640), 0);
	}
	for (unsigned i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "w%u.txt", i);
		struct http_fentry *e = get_at(f, name, 1); /* events not read yet */
		stale += e != NULL;
		http_fentry_unref(e);
	}
	assert_true(stale > 0 && stale < HTTP_FCACHE_WATCHES); /* the watched ones */
	http_fcache_watch_read(f->w);
	for (unsigned i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "w%u.txt", i);
		assert_null(get_at(f, name, 1));
	}
}

/* The sibling answer: unwatched, reused for HTTP_FCACHE_SIBLING_RECHECK;
 * watched, reused until an event (any second), for at most
 * HTTP_FCACHE_SIBLING_RECHECK_WATCHED. */
static void test_vary_reuse(void **state)
{
	struct fx *f = *state;
	write_file(f, "v.txt", "v", 1);
	put(f, "v.txt", LATER);
	struct http_fentry *e = get_at(f, "v.txt", 1);
	assert_non_null(e);
	int64_t t = 5000;
	e->vary_checked = t; /* as put at T: looked for before the watches */
	assert_true(http_fentry_vary_current(f->w, e, t));
	assert_false(http_fentry_vary_current(f->w, e, t + HTTP_FCACHE_SIBLING_RECHECK));
	http_fentry_vary_set(f->w, e, true, t + 1);
	assert_true(http_fentry_vary_current(f->w, e, t + 1 + HTTP_FCACHE_SIBLING_RECHECK_WATCHED - 1));
	assert_false(http_fentry_vary_current(f->w, e, t + 1 + HTTP_FCACHE_SIBLING_RECHECK_WATCHED));
	write_file(f, "v.txt.gz", "g", 1); /* an event in its directory */
	http_fcache_watch_read(f->w);
	assert_false(http_fentry_vary_current(f->w, e, t + 1));
	assert_false(http_fentry_vary_current(f->w, e, t)); /* the clock went back */
	http_fentry_unref(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_hit_and_content, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_packed_strings, setup, teardown),
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
	    cmocka_unit_test_setup_teardown(test_set_collisions_evict_least_recent, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_evicted_body_outlives_its_slot, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_set_collisions_evict_least_recent,
	                                    setup_watched, teardown),
	    cmocka_unit_test_setup_teardown(test_change_in_one_site_spares_the_others,
	                                    setup_watched, teardown),
	    cmocka_unit_test_setup_teardown(test_watched_until_event, setup_watched, teardown),
	    cmocka_unit_test_setup_teardown(test_event_elsewhere_costs_no_fstatat, setup_watched,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_watched_directory_renamed, setup_watched, teardown),
	    cmocka_unit_test_setup_teardown(test_watches_shared_and_released, setup_watched,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_unwatchable_paths_checked_per_iteration,
	                                    setup_watched, teardown),
	    cmocka_unit_test_setup_teardown(test_watches_bounded, setup_watched, teardown),
	    cmocka_unit_test_setup_teardown(test_vary_reuse, setup_watched, teardown),
	    /* the cache's own tests again, with the watches on */
	    cmocka_unit_test_setup_teardown(test_hit_and_content, setup_watched, teardown),
	    cmocka_unit_test_setup_teardown(test_thousand_files_all_cached, setup_watched, teardown),
	    cmocka_unit_test_setup_teardown(test_hot_entry_survives_a_flood, setup_watched,
	                                    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
