/*
 * Unit tests for ftpd/conf.c: the [ftpd] section through conf_load, with the
 * keys the protocol added (umask, data_timeout, data_connect_timeout,
 * max_upload_size, tls_session_reuse, max_login_failures, sync_uploads, login_timeout,
 * data_min_rate) and their defaults. Config files go to
 * a private mkdtemp() directory. Rows carry __LINE__.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../../ftpd/conf.h"
#include "triad/config.h"

static char tdir[PATH_MAX], tpath[PATH_MAX + 16];

static int setup(void **state)
{
	char tmpl[] = "/tmp/triad-test-ftpdconf-XXXXXX";
	(void)state;
	if (!mkdtemp(tmpl))
		return -1;
	strcpy(tdir, tmpl);
	snprintf(tpath, sizeof(tpath), "%s/t.conf", tdir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(tpath);
	return rmdir(tdir);
}

static struct conf *load(const char *body, char *err, size_t errlen)
{
	FILE *f = fopen(tpath, "w");
	assert_non_null(f);
	fprintf(f, "[global]\nroot = /srv/triad\n[ftpd]\n%s", body);
	assert_int_equal(fclose(f), 0);
	return conf_load(tpath, &ftpd_conf_section, err, errlen);
}

static void test_defaults(void **state)
{
	(void)state;
	char err[512] = "";
	struct conf *c = load("", err, sizeof(err));
	assert_non_null(c);
	const struct ftpd_conf *f = c->own;
	assert_int_equal(ftpd_conf_umask(f), 022);
	assert_int_equal(f->data_timeout, 5 * 60 * 1000);
	assert_int_equal(f->data_connect_timeout, 30 * 1000);
	assert_int_equal(f->max_upload_size, 0);
	assert_true(f->tls_session_reuse);
	assert_int_equal(f->max_login_failures, 3);
	assert_true(f->sync_uploads);
	assert_int_equal(f->login_timeout, 60 * 1000);
	assert_int_equal(f->data_min_rate, 1024);
	conf_unref(c);
}

static const struct {
	int line;
	const char *body;
	bool ok;
	unsigned umask;   /* when ok */
	const char *err;  /* substring of the error when not */
} rows[] = {
	{__LINE__, "umask = 022\n", true, 022, NULL},
	{__LINE__, "umask = 0\n", true, 0, NULL},
	{__LINE__, "umask = 0777\n", true, 0777, NULL},
	{__LINE__, "umask = 77\n", true, 077, NULL},
	{__LINE__, "umask = 027\n", true, 027, NULL},
	{__LINE__, "umask = 1000\n", false, 0, "t.conf:4: umask: '1000' is not an octal umask"},
	{__LINE__, "umask = 08\n", false, 0, "umask"},
	{__LINE__, "umask = 0x1\n", false, 0, "umask"},
	{__LINE__, "umask = 00022\n", false, 0, "umask"},
	{__LINE__, "umask = -1\n", false, 0, "umask"},
	{__LINE__, "data_timeout = 0\n", false, 0, "data_timeout"},
	{__LINE__, "data_timeout = 90s\n", true, 022, NULL},
	{__LINE__, "data_connect_timeout = 500ms\n", false, 0, "data_connect_timeout"},
	{__LINE__, "max_upload_size = 2G\n", true, 022, NULL},
	{__LINE__, "max_upload_size = lots\n", false, 0, "max_upload_size"},
	{__LINE__, "tls_session_reuse = off\n", true, 022, NULL},
	{__LINE__, "tls_session_reuse = maybe\n", false, 0, "tls_session_reuse"},
	{__LINE__, "max_login_failures = 1\n", true, 022, NULL},
	{__LINE__, "max_login_failures = 100\n", true, 022, NULL},
	{__LINE__, "max_login_failures = 0\n", false, 0, "max_login_failures"},
	{__LINE__, "max_login_failures = 101\n", false, 0, "max_login_failures"},
	{__LINE__, "max_login_failures = many\n", false, 0, "max_login_failures"},
	{__LINE__, "sync_uploads = off\n", true, 022, NULL},
	{__LINE__, "sync_uploads = on\n", true, 022, NULL},
	{__LINE__, "sync_uploads = later\n", false, 0, "t.conf:4: sync_uploads"},
	{__LINE__, "login_timeout = 30s\n", true, 022, NULL},
	{__LINE__, "login_timeout = 0\n", false, 0, "t.conf:4: login_timeout"},
	{__LINE__, "login_timeout = soon\n", false, 0, "login_timeout"},
	{__LINE__, "data_min_rate = 0\n", true, 022, NULL},
	{__LINE__, "data_min_rate = 10K\n", true, 022, NULL},
	{__LINE__, "data_min_rate = fast\n", false, 0, "t.conf:4: data_min_rate"},
};

static void test_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char err[512] = "";
		struct conf *c = load(rows[i].body, err, sizeof(err));
		if (rows[i].ok != (c != NULL) ||
		    (c && ftpd_conf_umask(c->own) != rows[i].umask) ||
		    (!c && !strstr(err, rows[i].err)))
			fail_msg("row at line %d: %s -> %s", rows[i].line, rows[i].body,
			         c ? "loaded" : err);
		if (c)
			conf_unref(c);
	}
}

static void test_sizes_and_bools(void **state)
{
	(void)state;
	char err[512] = "";
	struct conf *c = load("max_upload_size = 2G\ntls_session_reuse = off\n"
	                      "data_timeout = 90s\nsync_uploads = off\n",
	                      err, sizeof(err));
	assert_non_null(c);
	const struct ftpd_conf *f = c->own;
	assert_int_equal(f->max_upload_size, 2ull << 30);
	assert_false(f->tls_session_reuse);
	assert_int_equal(f->data_timeout, 90 * 1000);
	assert_false(f->sync_uploads);
	conf_unref(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_sizes_and_bools),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
