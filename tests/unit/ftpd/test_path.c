/*
 * ftpd path unit tests: resolution of path arguments against the current
 * directory (.., ../.., //, trailing /, ./., spaces, UTF-8, length bounds),
 * cross-checked against a plain left-to-right reference on random paths;
 * the fsroot-relative form, base names, and 257 quoting. Rows carry
 * __LINE__.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../ftpd/path.h"

#define S(lit) lit, sizeof(lit) - 1

struct res_row {
	int line;
	const char *cwd;
	const char *arg;
	size_t arglen;
	int rc;
	const char *want;
};

/* clang-format off */
static const struct res_row res_rows[] = {
	{__LINE__, "/", S(""), 0, "/"},
	{__LINE__, "/a/b", S(""), 0, "/a/b"},
	{__LINE__, "/", S("a"), 0, "/a"},
	{__LINE__, "/a", S("b"), 0, "/a/b"},
	{__LINE__, "/a/b", S("c/d"), 0, "/a/b/c/d"},
	{__LINE__, "/a/b", S("/x"), 0, "/x"},
	{__LINE__, "/a/b", S("/"), 0, "/"},
	{__LINE__, "/a/b", S("//"), 0, "/"},
	/* .. and . */
	{__LINE__, "/a/b", S(".."), 0, "/a"},
	{__LINE__, "/a/b", S("../.."), 0, "/"},
	{__LINE__, "/a/b", S("../../.."), 0, "/"},
	{__LINE__, "/a/b", S("../../../../../etc/passwd"), 0, "/etc/passwd"},
	{__LINE__, "/", S(".."), 0, "/"},
	{__LINE__, "/", S("../"), 0, "/"},
	{__LINE__, "/", S("/.."), 0, "/"},
	{__LINE__, "/", S("/../a"), 0, "/a"},
	{__LINE__, "/", S("../a/.."), 0, "/"},
	{__LINE__, "/", S("a/../../b"), 0, "/b"},
	{__LINE__, "/x", S("../../a/.."), 0, "/"},
	{__LINE__, "/a/b", S("../c"), 0, "/a/c"},
	{__LINE__, "/a/b", S("c/../d"), 0, "/a/b/d"},
	{__LINE__, "/a/b", S("c/d/../../e"), 0, "/a/b/e"},
	{__LINE__, "/a/b", S("."), 0, "/a/b"},
	{__LINE__, "/a/b", S("./."), 0, "/a/b"},
	{__LINE__, "/a/b", S("./c/./d/."), 0, "/a/b/c/d"},
	{__LINE__, "/a/b", S("/./a/./"), 0, "/a"},
	{__LINE__, "/a/b", S("c/./../d"), 0, "/a/b/d"},
	/* slashes */
	{__LINE__, "/a", S("b//c"), 0, "/a/b/c"},
	{__LINE__, "/a", S("b///c///"), 0, "/a/b/c"},
	{__LINE__, "/a", S("b/"), 0, "/a/b"},
	{__LINE__, "/a", S("///b"), 0, "/b"},
	{__LINE__, "/a", S("..//..//"), 0, "/"},
	/* names that only look special */
	{__LINE__, "/", S("..."), 0, "/..."},
	{__LINE__, "/", S(".hidden"), 0, "/.hidden"},
	{__LINE__, "/", S("..a/a.."), 0, "/..a/a.."},
	{__LINE__, "/", S(".well-known/acme-challenge/x"), 0, "/.well-known/acme-challenge/x"},
	{__LINE__, "/a", S(". /.. "), 0, "/a/. /.. "},
	/* spaces and UTF-8 are plain bytes */
	{__LINE__, "/", S("my file.txt"), 0, "/my file.txt"},
	{__LINE__, "/", S(" lead/trail "), 0, "/ lead/trail "},
	{__LINE__, "/d\xc3\xa9j\xc3\xa0", S("\xe2\x82\xac/\xf0\x9f\x98\x80.txt"), 0,
	 "/d\xc3\xa9j\xc3\xa0/\xe2\x82\xac/\xf0\x9f\x98\x80.txt"},
	{__LINE__, "/", S("latin1-\xe9t\xe9"), 0, "/latin1-\xe9t\xe9"},  /* not UTF-8: kept */
	{__LINE__, "/", S("a\"b"), 0, "/a\"b"},
	{__LINE__, "/", S("a\\b"), 0, "/a\\b"},
	{__LINE__, "/", S("a\tb"), 0, "/a\tb"},
	/* refused */
	{__LINE__, "/", S("a\0b"), -EINVAL, NULL},
	{__LINE__, "/", S("\0"), -EINVAL, NULL},
	{__LINE__, "/", S("a\rb"), -EINVAL, NULL},
	{__LINE__, "/", S("a\nb"), -EINVAL, NULL},
	{__LINE__, "", S("a"), -EINVAL, NULL},
	{__LINE__, "a", S("b"), -EINVAL, NULL},
	/* an absolute argument needs no cwd */
	{__LINE__, "", S("/a"), 0, "/a"},
};
/* clang-format on */

static void test_resolve_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(res_rows) / sizeof(res_rows[0]); i++) {
		const struct res_row *r = &res_rows[i];
		struct ftp_vpath p;
		int rc = ftp_path_resolve(r->cwd, strlen(r->cwd), r->arg, r->arglen, &p);
		if (rc != r->rc)
			fail_msg("row at line %d: rc %d, want %d", r->line, rc, r->rc);
		if (rc)
			continue;
		if (strcmp(p.path, r->want) != 0 || p.len != strlen(r->want))
			fail_msg("row at line %d: \"%s\", want \"%s\"", r->line, p.path, r->want);
	}
}

/* OUT may be the struct the cwd lives in (CWD updates the session in place). */
static void test_resolve_in_place(void **state)
{
	(void)state;
	struct ftp_vpath p;
	ftp_vpath_root(&p);
	assert_string_equal(p.path, "/");
	assert_int_equal(ftp_path_resolve(p.path, p.len, S("a/b/c"), &p), 0);
	assert_string_equal(p.path, "/a/b/c");
	assert_int_equal(ftp_path_resolve(p.path, p.len, S("../d"), &p), 0);
	assert_string_equal(p.path, "/a/b/d");
	assert_int_equal(ftp_path_resolve(p.path, p.len, S("../../../.."), &p), 0);
	assert_string_equal(p.path, "/");
	assert_int_equal(p.len, 1);
	/* a failure leaves it alone */
	assert_int_equal(ftp_path_resolve(p.path, p.len, S("x"), &p), 0);
	assert_int_equal(ftp_path_resolve(p.path, p.len, S("y\0"), &p), -EINVAL);
	assert_string_equal(p.path, "/x");
}

static void test_resolve_bounds(void **state)
{
	(void)state;
	static char arg[3 * TRIAD_PATH_MAX];
	static struct ftp_vpath p, cwd;

	/* One component of TRIAD_NAME_MAX is fine, one byte more is not. */
	memset(arg, 'n', TRIAD_NAME_MAX + 1);
	assert_int_equal(ftp_path_resolve(S("/"), arg, TRIAD_NAME_MAX, &p), 0);
	assert_int_equal(p.len, TRIAD_NAME_MAX + 1);
	assert_int_equal(ftp_path_resolve(S("/"), arg, TRIAD_NAME_MAX + 1, &p), -ENAMETOOLONG);
	/* ... unless it is climbed out of again */
	memcpy(arg + TRIAD_NAME_MAX + 1, "/..", 3);
	assert_int_equal(ftp_path_resolve(S("/"), arg, TRIAD_NAME_MAX + 4, &p), 0);
	assert_string_equal(p.path, "/");

	/* The longest path: 2000 "/a" and one "/bbb..." to make exactly
	 * TRIAD_PATH_MAX - 1 bytes. */
	size_t n = 0;
	for (int i = 0; i < 2000; i++) {
		arg[n++] = '/';
		arg[n++] = 'a';
	}
	arg[n++] = '/';
	while (n < TRIAD_PATH_MAX - 1)
		arg[n++] = 'b';
	assert_int_equal(ftp_path_resolve(S("/"), arg, n, &p), 0);
	assert_int_equal(p.len, TRIAD_PATH_MAX - 1);
	assert_int_equal(p.path[p.len], '\0');
	/* one more byte through a relative argument */
	cwd = p;
	assert_int_equal(ftp_path_resolve(cwd.path, cwd.len, S("x"), &p), -ENAMETOOLONG);
	assert_int_equal(ftp_path_resolve(cwd.path, cwd.len, S("x/.."), &p), 0);
	assert_int_equal(p.len, TRIAD_PATH_MAX - 1);
	/* replacing the last component "/b...b" (95 bytes) by one as long fits, longer not */
	char up[128] = "../";
	memset(up + 3, 'c', 94);
	assert_int_equal(ftp_path_resolve(cwd.path, cwd.len, up, 3 + 94, &p), 0);
	assert_int_equal(p.len, TRIAD_PATH_MAX - 1);
	memset(up + 3, 'c', 95);
	assert_int_equal(ftp_path_resolve(cwd.path, cwd.len, up, 3 + 95, &p), -ENAMETOOLONG);
	/* a long detour that ends short is fine: only the result counts */
	size_t m = 0;
	for (int i = 0; i < 1000; i++) {
		memcpy(arg + m, "dd/../", 6);
		m += 6;
	}
	memcpy(arg + m, "end", 3);
	m += 3;
	assert_int_equal(ftp_path_resolve(cwd.path, cwd.len, arg, m, &p), -ENAMETOOLONG);
	assert_int_equal(ftp_path_resolve(S("/q"), arg, m, &p), 0);
	assert_string_equal(p.path, "/q/end");
	/* a cwd that is too long to be one of ours */
	memset(arg, 'a', sizeof(arg));
	arg[0] = '/';
	assert_int_equal(ftp_path_resolve(arg, TRIAD_PATH_MAX, S("x"), &p), -EINVAL);
}

/* The obvious left-to-right walk, as a reference. */
static int reference(const char *cwd, const char *arg, size_t arglen, char *out)
{
	char buf[4 * TRIAD_PATH_MAX];
	size_t n = 0;
	if (arglen == 0 || arg[0] != '/') {
		n = strlen(cwd);
		memcpy(buf, cwd, n);
		if (n == 1)
			n = 0; /* "/" is the empty stack */
	}
	size_t i = 0;
	while (i < arglen) {
		while (i < arglen && arg[i] == '/')
			i++;
		size_t s = i;
		while (i < arglen && arg[i] != '/')
			i++;
		size_t l = i - s;
		if (l == 0 || (l == 1 && arg[s] == '.'))
			continue;
		if (l == 2 && arg[s] == '.' && arg[s + 1] == '.') {
			while (n > 0 && buf[n - 1] != '/')
				n--;
			if (n > 0)
				n--;
			continue;
		}
		buf[n++] = '/';
		memcpy(buf + n, arg + s, l);
		n += l;
	}
	if (n == 0)
		buf[n++] = '/';
	buf[n] = '\0';
	strcpy(out, buf);
	return (int)n;
}

static void test_resolve_random(void **state)
{
	(void)state;
	static const char *const parts[] = {"a", "b", "..", ".", "", "...", "c d", "\xc3\xa9"};
	uint32_t x = 2463534242u;
	for (int iter = 0; iter < 100000; iter++) {
		char cwd[256], arg[256], want[1024];
		struct ftp_vpath p;
		size_t n = 0;
		/* a normalised cwd */
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		int depth = (int)(x % 4);
		cwd[n++] = '/';
		for (int i = 0; i < depth; i++)
			n += (size_t)sprintf(cwd + n, "%s%c", i ? "/" : "", 'p' + i);
		cwd[n] = '\0';
		/* an argument of random parts */
		n = 0;
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		if (x & 1)
			arg[n++] = '/';
		int nparts = (int)(x >> 1) % 8;
		for (int i = 0; i < nparts; i++) {
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			const char *s = parts[x % 8];
			n += (size_t)sprintf(arg + n, "%s%s", i ? "/" : "", s);
			if ((x >> 8) % 5 == 0)
				arg[n++] = '/';
		}
		arg[n] = '\0';
		reference(cwd, arg, n, want);
		assert_int_equal(ftp_path_resolve(cwd, strlen(cwd), arg, n, &p), 0);
		if (strcmp(p.path, want) != 0)
			fail_msg("cwd \"%s\" arg \"%s\": \"%s\", want \"%s\"", cwd, arg, p.path,
			         want);
	}
}

static void test_rel_base(void **state)
{
	(void)state;
	struct ftp_vpath p;
	size_t len, blen, dlen;
	const char *s;

	ftp_vpath_root(&p);
	s = ftp_vpath_rel(&p, &len);
	assert_int_equal(len, 0);
	assert_string_equal(s, "");
	s = ftp_vpath_base(&p, &blen, &dlen);
	assert_int_equal(blen, 0);
	assert_int_equal(dlen, 1);

	assert_int_equal(ftp_path_resolve(S("/"), S("x"), &p), 0);
	s = ftp_vpath_rel(&p, &len);
	assert_int_equal(len, 1);
	assert_memory_equal(s, "x", 1);
	s = ftp_vpath_base(&p, &blen, &dlen);
	assert_int_equal(blen, 1);
	assert_memory_equal(s, "x", 1);
	assert_int_equal(dlen, 1);

	assert_int_equal(ftp_path_resolve(S("/"), S("/www/a b/f.txt"), &p), 0);
	s = ftp_vpath_rel(&p, &len);
	assert_int_equal(len, strlen("www/a b/f.txt"));
	assert_string_equal(s, "www/a b/f.txt");
	s = ftp_vpath_base(&p, &blen, &dlen);
	assert_int_equal(blen, 5);
	assert_memory_equal(s, "f.txt", 5);
	assert_int_equal(dlen, strlen("/www/a b"));
}

struct quote_row {
	int line;
	const char *path;
	size_t len;
	const char *comment;
	ssize_t rc;
	const char *want;
};

/* clang-format off */
static const struct quote_row quote_rows[] = {
	{__LINE__, S("/"), "is the current directory", 0, "\"/\" is the current directory"},
	{__LINE__, S("/a b"), "created", 0, "\"/a b\" created"},
	{__LINE__, S("/a\"b"), NULL, 0, "\"/a\"\"b\""},
	{__LINE__, S("/\"\"/\""), NULL, 0, "\"/\"\"\"\"/\"\"\""},
	{__LINE__, S("/d\xc3\xa9j\xc3\xa0"), "", 0, "\"/d\xc3\xa9j\xc3\xa0\""},
	{__LINE__, S("/a\rb"), NULL, -EINVAL, NULL},
	{__LINE__, S("/a\nb"), NULL, -EINVAL, NULL},
	{__LINE__, S("/a\0b"), NULL, -EINVAL, NULL},
};
/* clang-format on */

static void test_quote_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(quote_rows) / sizeof(quote_rows[0]); i++) {
		const struct quote_row *r = &quote_rows[i];
		char out[64];
		ssize_t rc = ftp_path_quote(r->path, r->len, r->comment, out, sizeof(out));
		if (r->rc) {
			if (rc != r->rc)
				fail_msg("row at line %d: rc %zd, want %zd", r->line, rc, r->rc);
			continue;
		}
		if (rc != (ssize_t)strlen(r->want) || strcmp(out, r->want) != 0)
			fail_msg("row at line %d: %zd \"%s\", want \"%s\"", r->line, rc, out,
			         r->want);
		/* exactly enough room, and one byte less */
		char exact[64];
		assert_int_equal(ftp_path_quote(r->path, r->len, r->comment, exact, (size_t)rc + 1),
		                 rc);
		assert_int_equal(ftp_path_quote(r->path, r->len, r->comment, exact, (size_t)rc),
		                 -ENOBUFS);
	}
}

/* The worst case, a longest path of quotes, fits FTP_REPLY_LINE_MAX. */
static void test_quote_worst(void **state)
{
	(void)state;
	static char path[TRIAD_PATH_MAX], out[FTP_REPLY_LINE_MAX];
	memset(path, '"', sizeof(path));
	path[0] = '/';
	ssize_t rc =
	    ftp_path_quote(path, TRIAD_PATH_MAX - 1, "is the current directory", out, sizeof(out));
	assert_int_equal(rc, 2 * (TRIAD_PATH_MAX - 1) - 1 + 2 + 1 + 24);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_resolve_rows),   cmocka_unit_test(test_resolve_in_place),
	    cmocka_unit_test(test_resolve_bounds), cmocka_unit_test(test_resolve_random),
	    cmocka_unit_test(test_rel_base),       cmocka_unit_test(test_quote_rows),
	    cmocka_unit_test(test_quote_worst),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
