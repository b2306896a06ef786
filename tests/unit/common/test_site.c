/*
 * Unit tests for common/site.c: the [site NAME]
 * checks every daemon runs (interface.md, "Sites"), one file per row with
 * the exact "FILE:LINE: key: message" it gives; the error_pages parser;
 * host names (the host hash: test_hostmap.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "triad/config.h"
#include "triad/site.h"

/* A daemon section with no keys of its own that reads sites. */
static const struct conf_kind *const kinds[] = {&site_kind, NULL};
static const struct conf_section tsection = {
	.name = "test",
	.keys = NULL,
	.nkeys = 0,
	.size = 1,
	.kinds = kinds,
};

static char tdir[200], tpath[256];
#define MSG 2048

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	char tmpl[] = "/tmp/triad-test-site-XXXXXX", real[PATH_MAX];

	(void)state;
	if (!mkdtemp(tmpl) || !realpath(tmpl, real) || strlen(real) >= sizeof(tdir))
		return -1;
	strcpy(tdir, real);
	snprintf(tpath, sizeof(tpath), "%s/t.conf", tdir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return nftw(tdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static struct conf *load(const char *text, char *err, size_t errlen)
{
	FILE *f = fopen(tpath, "w");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	return conf_load(tpath, &tsection, err, errlen);
}

#define HEAD "[global]\nroot = /srv/triad\n"

static void test_site_errors(void **state)
{
	static const struct {
		int line;
		const char *text;
		const char *err; /* after the file name; NULL: loads */
	} rows[] = {
		{__LINE__, HEAD "[site a]\nhosts = a.example www.a.example\n[site b]\n", NULL},
		/* keys: unknown, typed */
		{__LINE__, HEAD "[site a]\nlisten = 0.0.0.0:80\n",
		 ":4: listen: unknown key in [site a]"},
		{__LINE__, HEAD "[site a]\ncanonical = maybe\n",
		 ":4: canonical: invalid boolean 'maybe' (expected on/off, yes/no, true/false or 1/0)"},
		/* hosts */
		{__LINE__, HEAD "[site a]\nhosts = a.example:80\n",
		 ":4: hosts: 'a.example:80' is not a host name (letters, digits, '-' and '.'; an IPv6 "
		 "address in brackets; no port)"},
		{__LINE__, HEAD "[site a]\nhosts = -a.example\n",
		 ":4: hosts: '-a.example' is not a host name (letters, digits, '-' and '.'; an IPv6 "
		 "address in brackets; no port)"},
		{__LINE__, HEAD "[site a]\nhosts = a..example\n",
		 ":4: hosts: 'a..example' is not a host name (letters, digits, '-' and '.'; an IPv6 "
		 "address in brackets; no port)"},
		{__LINE__, HEAD "[site a]\nhosts = [::1] 127.0.0.1 localhost\n", NULL},
		{__LINE__, HEAD "[site a]\nhosts = [::g]\n",
		 ":4: hosts: '[::g]' is not a host name (letters, digits, '-' and '.'; an IPv6 "
		 "address in brackets; no port)"},
		/* one host in two sites, whatever the case: the later line */
		{__LINE__, HEAD "[site a]\nhosts = A.example\n[site b]\n\nhosts = x a.EXAMPLE\n",
		 ":7: hosts: host 'a.example' is already in [site a] (line 4)"},
		{__LINE__, HEAD "[site a]\nhosts = a.example a.example\n",
		 ":4: hosts: host 'a.example' is listed twice"},
		/* docroots: default, relative, nesting, equality */
		{__LINE__, HEAD "[site a]\ndocroot = /var/www\n",
		 ":4: docroot: '/var/www' must be relative to root, not absolute"},
		{__LINE__, HEAD "[site a]\ndocroot = x/../../y\n",
		 ":4: docroot: 'x/../../y' must stay below root"},
		{__LINE__, HEAD "[site a]\ndocroot = w/a\n[site b]\ndocroot = w/a/b\n",
		 ":6: docroot: w/a/b is inside [site a]'s docroot w/a (line 4)"},
		{__LINE__, HEAD "[site b]\ndocroot = w/a/b\n[site a]\ndocroot = w/a\n",
		 ":6: docroot: w/a contains [site b]'s docroot w/a/b (line 4)"},
		{__LINE__, HEAD "[site a]\ndocroot = w//a/\n[site b]\ndocroot = w/./a\n",
		 ":6: docroot: w/./a is already [site a]'s docroot (line 4)"},
		/* w/a and w/a-b are siblings, not nested */
		{__LINE__, HEAD "[site a]\ndocroot = w/a\n[site b]\ndocroot = w/a-b\n[site c]\n"
		 "docroot = w/a.b\n", NULL},
		/* a default docroot is reported at the site's header */
		{__LINE__, HEAD "[site a]\ndocroot = sites/b\n[site b]\n",
		 ":5: docroot: sites/b/www is inside [site a]'s docroot sites/b (line 4)"},
		/* tls pair */
		{__LINE__, HEAD "[site a]\ntls_cert = a.pem\n", ":4: tls_cert: set without tls_key"},
		{__LINE__, HEAD "[site a]\n\ntls_key = a.key\n", ":5: tls_key: set without tls_cert"},
		{__LINE__, HEAD "[site a]\ncanonical = on\n",
		 ":4: canonical: needs hosts (the first is the canonical name)"},
		/* ftp_users and mail_domains */
		{__LINE__, HEAD "[site a]\nftp_users = alice bob\n[site b]\nftp_users = carol bob\n",
		 ":6: ftp_users: login 'bob' is already in [site a] (line 4)"},
		{__LINE__, HEAD "[site a]\nmail_domains = A.example\n[site b]\nmail_domains = a.example\n",
		 ":6: mail_domains: domain 'a.example' is already in [site a] (line 4)"},
		{__LINE__, HEAD "[site a]\nmail_domains = a/b\n",
		 ":4: mail_domains: 'a/b' is not a domain name"},
		{__LINE__, HEAD "[site a]\nmail_domains = [::1]\n",
		 ":4: mail_domains: '[::1]' is not a domain name"},
		/* per-request keys */
		{__LINE__, HEAD "[site a]\ncache_control = *.css\n",
		 ":4: cache_control: rule \"*.css\" is not PATTERN=VALUE"},
		{__LINE__, HEAD "[site a]\nerror_pages = 404=404.html\n",
		 ":4: error_pages: '404=404.html': the page must be a path below docroot, as /404.html, with "
		 "no dot segment"},
		{__LINE__, HEAD "[site a]\ntry_extensions = html\n",
		 ":4: try_extensions: 'html' is not a file extension (as .html)"},
		{__LINE__, HEAD "[site a]\ntry_extensions = .html .htm\nerror_pages = 4xx=/e.html\n"
		 "index = a.html\nautoindex = on\nhsts = 1h\nprecompressed = off\n",
		 NULL},
		/* proxy and fallback: the syntax, and pools that the file has (this loader
		 * does not read [upstream], as ftpd and smtpd do not: it still knows them) */
		{__LINE__, HEAD "[site a]\nproxy = /api/*=app\n",
		 ":4: proxy: rule \"/api/*=app\": no [upstream app] section"},
		{__LINE__, HEAD "[site a]\nproxy = /api/*\n",
		 ":4: proxy: rule \"/api/*\" is not PATTERN=VALUE"},
		{__LINE__, HEAD "[site a]\nfallback = app\n[upstream apps]\nservers = x\n",
		 ":4: fallback: no [upstream app] section"},
		{__LINE__, HEAD "[upstream app]\n[site a]\nproxy = /api/*=app *.php=php\n",
		 ":5: proxy: rule \"*.php=php\": no [upstream php] section"},
		/* a [site app] is not an [upstream app] */
		{__LINE__, HEAD "[site app]\n[site a]\nfallback = app\n",
		 ":5: fallback: no [upstream app] section"},
		{__LINE__, HEAD "[site a]\nproxy = /api/*=app\nfallback = php\n[upstream app]\n"
		 "[upstream php]\n", NULL},
		/* empty: set to none (a site switches an inherited fallback off) */
		{__LINE__, HEAD "[site a]\nfallback =\nproxy =\n", NULL},
		/* the [global] log inside a site's docroot */
		{__LINE__, "[global]\nroot = /srv\nlog = /srv/sites/a/www/log.txt\n[site a]\n",
		 ":3: log: /srv/sites/a/www/log.txt is inside [site a]'s docroot, which is served to "
		 "clients"},
		{__LINE__, "[global]\nroot = /srv\nlog = /srv/sites/a/log.txt\n[site a]\n", NULL},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char err[MSG] = "", want[MSG];
		struct conf *c = load(rows[i].text, err, sizeof(err));

		if (!rows[i].err) {
			if (!c)
				fail_msg("row at line %d: %s", rows[i].line, err);
			conf_unref(c);
			continue;
		}
		snprintf(want, sizeof(want), "%s%s", tpath, rows[i].err);
		if (c || strcmp(err, want) != 0)
			fail_msg("row at line %d: got '%s'\nwant '%s'", rows[i].line,
			         c ? "(loaded)" : err, want);
	}
}

static void test_site_values(void **state)
{
	char err[MSG];
	struct conf *c = load(HEAD "[site shop]\nhosts = Shop.Example www.shop.example\n"
	                           "tls_cert = tls/s.pem\ntls_key = /k.pem\nftp_users = alice\n"
	                           "mail_domains = Shop.Example\n[site blog]\ndocroot = b\n",
	                      err, sizeof(err));
	const struct conf_site *s;
	char want[MSG];

	(void)state;
	if (!c)
		fail_msg("%s", err);
	assert_int_equal(site_count(c), 2);
	s = site_at(c, 0);
	assert_string_equal(s->name, "shop");
	assert_string_equal(s->hosts.v[0], "shop.example");
	assert_string_equal(s->docroot, "sites/shop/www");
	snprintf(want, sizeof(want), "%s/tls/s.pem", tdir);
	assert_string_equal(s->tls_cert, want);
	assert_string_equal(s->tls_key, "/k.pem");
	assert_string_equal(s->mail_domains.v[0], "shop.example");
	assert_false(site_sets(c, 0, "index"));
	assert_false(site_sets(c, 0, "fallback"));
	assert_true(site_sets(c, 0, "hosts"));
	assert_string_equal(site_at(c, 1)->docroot, "b");
	assert_int_equal(site_of_ftp_user(c, "alice"), 0);
	assert_int_equal(site_of_ftp_user(c, "bob"), -1);
	assert_int_equal(site_of_mail_domain(c, "shop.example"), 0);
	assert_int_equal(site_of_mail_domain(c, "blog.example"), -1);
	conf_unref(c);
}

static void test_errpages(void **state)
{
	static const struct {
		int line;
		const char *in;
		const char *err; /* NULL: parses */
	} rows[] = {
		{__LINE__, NULL, NULL},
		{__LINE__, "", NULL},
		{__LINE__, "404=/404.html 4xx=/4.html 5xx=/errors/50x.html, 503=/busy.html", NULL},
		{__LINE__, "404", "'404' is not STATUS=PAGE (as in 404=/404.html)"},
		{__LINE__, "302=/x.html", "'302' is not an error status (400 to 599, or 4xx or 5xx)"},
		{__LINE__, "600=/x.html", "'600' is not an error status (400 to 599, or 4xx or 5xx)"},
		{__LINE__, "4XX=/x.html", "'4XX' is not an error status (400 to 599, or 4xx or 5xx)"},
		{__LINE__, "40=/x.html", "'40' is not an error status (400 to 599, or 4xx or 5xx)"},
		{__LINE__, "404=/a 404=/b", "status 404 is given twice"},
		{__LINE__, "5xx=/a 5xx=/b", "status 5xx is given twice"},
		{__LINE__, "404=/", "'404=/': the page must be a path below docroot, as /404.html, with "
		                    "no dot segment"},
		{__LINE__, "404=/../x", "'404=/../x': the page must be a path below docroot, as "
		                        "/404.html, with no dot segment"},
		{__LINE__, "404=/.hidden", "'404=/.hidden': the page must be a path below docroot, as "
		                           "/404.html, with no dot segment"},
		{__LINE__, "404=/dir/", "'404=/dir/': the page must be a path below docroot, as "
		                        "/404.html, with no dot segment"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct site_errpages ep;
		char err[256] = "";
		int r = site_errpages_parse(rows[i].in, &ep, err, sizeof(err));
		if (!rows[i].err && r != 0)
			fail_msg("row at line %d: %s", rows[i].line, err);
		if (rows[i].err && (r != -1 || strcmp(err, rows[i].err) != 0))
			fail_msg("row at line %d: got %d '%s'", rows[i].line, r, err);
		site_errpages_free(&ep);
	}
	/* a code beats its class; no page for other statuses */
	struct site_errpages ep;
	assert_int_equal(site_errpages_parse("404=/404.html 4xx=/4.html 5xx=/5.html", &ep, NULL, 0),
	                 0);
	assert_string_equal(site_errpages_find(&ep, 404), "/404.html");
	assert_string_equal(site_errpages_find(&ep, 403), "/4.html");
	assert_string_equal(site_errpages_find(&ep, 599), "/5.html");
	assert_null(site_errpages_find(&ep, 304));
	assert_null(site_errpages_find(&ep, 600));
	site_errpages_free(&ep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_site_errors),
		cmocka_unit_test(test_site_values),
		cmocka_unit_test(test_errpages),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
