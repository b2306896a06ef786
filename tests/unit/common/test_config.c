/*
 * Unit tests for common/config.c: every value type (good and bad), every
 * error message with its FILE:LINE and key, section handling, defaults,
 * path resolution and reference counting. Config files are written to a
 * private mkdtemp() directory that is removed at the end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "triad/config.h"
#include "triad/limits.h"

/* ---- a test section with one key of every type ---------------------------- */

struct tsec {
	char *str;
	char *path;
	char *out;
	struct conf_list list;
	struct conf_addrs addrs;
	bool flag;
	uint64_t num;
	uint64_t big;
	uint64_t size;
	uint64_t minsize;
	uint64_t dur;
	int mode;
	struct conf_portrange ports;
	unsigned workers;
	struct conf_nets nets;
};

static const char *const modes[] = {"off", "optional", "required", NULL};
static const char *const out_words[] = {"none", NULL};

#define T(f) offsetof(struct tsec, f)
static const struct conf_key tkeys[] = {
	{"str", CONF_STR, T(str), NULL, NULL, 0, 0},
	{"path", CONF_PATH, T(path), NULL, NULL, 0, 0},
	{"out", CONF_PATH, T(out), "none", out_words, 0, 0},
	{"list", CONF_LIST, T(list), "index.html index.htm", NULL, 0, 0},
	{"addrs", CONF_ADDRS, T(addrs), "0.0.0.0:8080 [::]:8080", NULL, 0, 0},
	{"flag", CONF_BOOL, T(flag), "off", NULL, 0, 0},
	{"num", CONF_UINT, T(num), "10", NULL, 1, 100},
	{"big", CONF_UINT, T(big), NULL, NULL, 0, 0},
	{"size", CONF_SIZE, T(size), "1M", NULL, 0, 1u << 30},
	{"minsize", CONF_SIZE, T(minsize), NULL, NULL, 1024, 0},
	{"dur", CONF_DURATION, T(dur), "5m", NULL, 1000, 3600000},
	{"mode", CONF_ENUM, T(mode), "optional", modes, 0, 0},
	{"ports", CONF_PORTRANGE, T(ports), "50000-50100", NULL, 0, 0},
	{"workers", CONF_WORKERS, T(workers), "2", NULL, 0, 0},
	{"nets", CONF_NETS, T(nets), "127.0.0.0/8 ::1", NULL, 0, 0},
};
#undef T

/* Cross-key rules: one on a key set in the file, one on a key left at its default. */
static int tcheck(struct conf *c, char *err, size_t errlen)
{
	const struct tsec *t = CONF_OWN(c, struct tsec);

	if (t->str && strcmp(t->str, "reject") == 0)
		return conf_error_at(c, "str", err, errlen, "rejected by the check (%s)", t->str);
	if (t->num == 42 && !t->path)
		return conf_error_at(c, "path", err, errlen, "required when num is 42");
	return 0;
}

static const struct conf_section tsection = {
	.name = "test",
	.keys = tkeys,
	.nkeys = sizeof(tkeys) / sizeof(tkeys[0]),
	.size = sizeof(struct tsec),
	.check = tcheck,
};

/* ---- a kind of named section, [item NAME], read by a second test section ---- */

struct titem {
	char *name;
	char *host;
	char *path;
	uint64_t num;
	bool flag;
};

#define I(f) offsetof(struct titem, f)
static const struct conf_key ikeys[] = {
	{"host", CONF_STR, I(host), NULL, NULL, 0, 0},
	{"path", CONF_PATH, I(path), NULL, NULL, 0, 0},
	{"num", CONF_UINT, I(num), "7", NULL, 1, 100},
	{"flag", CONF_BOOL, I(flag), "off", NULL, 0, 0},
};
#undef I

static const struct conf_kind item_kind;

/* Fills the NAME-derived default and rejects one host in two items. */
static int icheck(struct conf *c, char *err, size_t errlen)
{
	size_t n = conf_count(c, &item_kind);
	struct conf_claim *v = calloc(n ? n : 1, sizeof(*v));
	const struct conf_claim *dup, *first;
	size_t m = 0;

	assert_non_null(v);
	for (size_t i = 0; i < n; i++) {
		struct titem *t = conf_item(c, &item_kind, i);
		if (!t->path && asprintf(&t->path, "items/%s", t->name) < 0)
			t->path = NULL;
		if (t->num == 99) {
			free(v);
			return conf_item_error_at(c, &item_kind, i, "num", err, errlen,
			                          "99 is refused");
		}
		if (t->flag && !t->host) {
			free(v);
			return conf_item_error_at(c, &item_kind, i, "host", err, errlen,
			                          "required with flag");
		}
		if (t->host)
			v[m++] = (struct conf_claim){t->host, conf_item_line(c, &item_kind, i, "host"), i};
	}
	dup = conf_claims_dup(v, m, &first);
	if (dup) {
		int r = conf_error_line(c, dup->line, "host", err, errlen,
		                        "'%s' is already the host of [item %s] (line %u)", dup->text,
		                        ((struct titem *)conf_item(c, &item_kind, first->owner))->name,
		                        first->line);
		free(v);
		return r;
	}
	free(v);
	return 0;
}

static const struct conf_kind item_kind = {
	.name = "item",
	.keys = ikeys,
	.nkeys = sizeof(ikeys) / sizeof(ikeys[0]),
	.size = sizeof(struct titem),
	.name_offset = offsetof(struct titem, name),
	.check = icheck,
};

/* A kind this daemon does not read: its sections are ignored like [other]. */
static const struct conf_kind *const tkinds[] = {&item_kind, NULL};

static const struct conf_section tsection_items = {
	.name = "test",
	.keys = tkeys,
	.nkeys = sizeof(tkeys) / sizeof(tkeys[0]),
	.size = sizeof(struct tsec),
	.check = tcheck,
	.kinds = tkinds,
};

/* ---- helpers --------------------------------------------------------------- */

static char tdir[200];          /* realpath of the mkdtemp() directory */
static char tpath[256];         /* tdir/t.conf */
#define MSG 2048                /* error and expectation buffers */

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	char tmpl[] = "/tmp/triad-test-config-XXXXXX", real[PATH_MAX];

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

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static struct conf *load_text(const char *text, char *err, size_t errlen)
{
	write_file(tpath, text);
	return conf_load(tpath, &tsection, err, errlen);
}

/* The minimal valid head: the [test] body starts on line 4. */
#define HEAD "[global]\nroot = /srv/triad\n[test]\n"

/* Renders a parsed value of the test section, for comparing with a table. */
static void render(const struct tsec *t, const char *key, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	if (strcmp(key, "str") == 0)
		snprintf(buf, len, "%s", t->str ? t->str : "(null)");
	else if (strcmp(key, "path") == 0)
		snprintf(buf, len, "%s", t->path ? t->path : "(null)");
	else if (strcmp(key, "out") == 0)
		snprintf(buf, len, "%s", t->out ? t->out : "(null)");
	else if (strcmp(key, "list") == 0)
		for (size_t i = 0; i < t->list.n && used < len; i++)
			used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? "|" : "",
			                         t->list.v[i]);
	else if (strcmp(key, "addrs") == 0)
		for (size_t i = 0; i < t->addrs.n && used < len; i++)
			used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? "|" : "",
			                         t->addrs.v[i].text);
	else if (strcmp(key, "flag") == 0)
		snprintf(buf, len, "%s", t->flag ? "true" : "false");
	else if (strcmp(key, "num") == 0)
		snprintf(buf, len, "%" PRIu64, t->num);
	else if (strcmp(key, "big") == 0)
		snprintf(buf, len, "%" PRIu64, t->big);
	else if (strcmp(key, "size") == 0)
		snprintf(buf, len, "%" PRIu64, t->size);
	else if (strcmp(key, "minsize") == 0)
		snprintf(buf, len, "%" PRIu64, t->minsize);
	else if (strcmp(key, "dur") == 0)
		snprintf(buf, len, "%" PRIu64, t->dur);
	else if (strcmp(key, "mode") == 0)
		snprintf(buf, len, "%s", modes[t->mode]);
	else if (strcmp(key, "ports") == 0)
		snprintf(buf, len, "%u-%u", t->ports.low, t->ports.high);
	else if (strcmp(key, "workers") == 0)
		snprintf(buf, len, "%u", t->workers);
	else if (strcmp(key, "nets") == 0)
		for (size_t i = 0; i < t->nets.n && used < len; i++)
			used += (size_t)snprintf(buf + used, len - used, "%s/%u", i ? "|" : "",
			                         t->nets.v[i].bits);
	else
		fail_msg("render: unknown key %s", key);
}

static unsigned auto_workers(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > TRIAD_MAX_WORKERS ? TRIAD_MAX_WORKERS : (unsigned)n;
}

/* ---- the exported value parsers -------------------------------------------- */

static void test_parse_size(void **state)
{
	static const struct {
		int line;
		const char *in;
		int ok;
		uint64_t out;
		const char *err;
	} rows[] = {
		{__LINE__, "0", 1, 0, NULL},
		{__LINE__, "1", 1, 1, NULL},
		{__LINE__, "8192", 1, 8192, NULL},
		{__LINE__, "8K", 1, 8192, NULL},
		{__LINE__, "8k", 1, 8192, NULL},
		{__LINE__, "1M", 1, 1048576, NULL},
		{__LINE__, "25m", 1, 25 * 1048576, NULL},
		{__LINE__, "2G", 1, 2ull << 30, NULL},
		{__LINE__, "3g", 1, 3ull << 30, NULL},
		{__LINE__, "007K", 1, 7168, NULL},
		{__LINE__, "18446744073709551615", 1, UINT64_MAX, NULL},
		{__LINE__, "17179869183G", 1, 17179869183ull << 30, NULL},
		{__LINE__, "18446744073709551616", 0, 0, "size '18446744073709551616' is too large"},
		{__LINE__, "17179869184G", 0, 0, "size '17179869184G' is too large"},
		{__LINE__, "99999999999999999999999K", 0, 0,
		 "size '99999999999999999999999K' is too large"},
		{__LINE__, "abc", 0, 0,
		 "invalid size 'abc' (expected a number with optional K, M or G)"},
		{__LINE__, "", 0, 0, "invalid size '' (expected a number with optional K, M or G)"},
		{__LINE__, "-1", 0, 0, "invalid size '-1' (expected a number with optional K, M or G)"},
		{__LINE__, "+1", 0, 0, "invalid size '+1' (expected a number with optional K, M or G)"},
		{__LINE__, "K", 0, 0, "invalid size 'K' (expected a number with optional K, M or G)"},
		{__LINE__, "1KB", 0, 0, "invalid size '1KB' (expected a number with optional K, M or G)"},
		{__LINE__, "1T", 0, 0, "invalid size '1T' (expected a number with optional K, M or G)"},
		{__LINE__, "1 K", 0, 0, "invalid size '1 K' (expected a number with optional K, M or G)"},
		{__LINE__, " 1", 0, 0, "invalid size ' 1' (expected a number with optional K, M or G)"},
		{__LINE__, "1.5M", 0, 0,
		 "invalid size '1.5M' (expected a number with optional K, M or G)"},
		{__LINE__, "0x10", 0, 0,
		 "invalid size '0x10' (expected a number with optional K, M or G)"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint64_t out = 12345;
		char err[MSG] = "";
		int r = conf_parse_size(rows[i].in, &out, err, sizeof(err));
		if ((r == 0) != rows[i].ok || (r == 0 && out != rows[i].out) ||
		    (r != 0 && strcmp(err, rows[i].err) != 0))
			fail_msg("row at line %d: '%s' -> %d %" PRIu64 " '%s'", rows[i].line,
			         rows[i].in, r, out, err);
		if (r != 0 && out != 12345)
			fail_msg("row at line %d: output written on error", rows[i].line);
	}
}

static void test_parse_duration(void **state)
{
	static const struct {
		int line;
		const char *in;
		int ok;
		uint64_t ms;
		const char *err;
	} rows[] = {
		{__LINE__, "0", 1, 0, NULL},
		{__LINE__, "10", 1, 10000, NULL},
		{__LINE__, "10s", 1, 10000, NULL},
		{__LINE__, "250ms", 1, 250, NULL},
		{__LINE__, "5m", 1, 300000, NULL},
		{__LINE__, "2h", 1, 7200000, NULL},
		{__LINE__, "0ms", 1, 0, NULL},
		{__LINE__, "18446744073709551615ms", 1, UINT64_MAX, NULL},
		{__LINE__, "18446744073709551s", 1, 18446744073709551000ull, NULL},
		{__LINE__, "18446744073709552s", 0, 0, "duration '18446744073709552s' is too large"},
		{__LINE__, "5124095576030432h", 0, 0, "duration '5124095576030432h' is too large"},
		{__LINE__, "99999999999999999999ms", 0, 0,
		 "duration '99999999999999999999ms' is too large"},
		{__LINE__, "", 0, 0,
		 "invalid duration '' (expected a number with optional ms, s, m or h)"},
		{__LINE__, "s", 0, 0,
		 "invalid duration 's' (expected a number with optional ms, s, m or h)"},
		{__LINE__, "-5s", 0, 0,
		 "invalid duration '-5s' (expected a number with optional ms, s, m or h)"},
		{__LINE__, "5d", 0, 0,
		 "invalid duration '5d' (expected a number with optional ms, s, m or h)"},
		{__LINE__, "5S", 0, 0,
		 "invalid duration '5S' (expected a number with optional ms, s, m or h)"},
		{__LINE__, "5 s", 0, 0,
		 "invalid duration '5 s' (expected a number with optional ms, s, m or h)"},
		{__LINE__, "1m30s", 0, 0,
		 "invalid duration '1m30s' (expected a number with optional ms, s, m or h)"},
		{__LINE__, "5sec", 0, 0,
		 "invalid duration '5sec' (expected a number with optional ms, s, m or h)"},
		{__LINE__, "1.5s", 0, 0,
		 "invalid duration '1.5s' (expected a number with optional ms, s, m or h)"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint64_t ms = 12345;
		char err[MSG] = "";
		int r = conf_parse_duration(rows[i].in, &ms, err, sizeof(err));
		if ((r == 0) != rows[i].ok || (r == 0 && ms != rows[i].ms) ||
		    (r != 0 && (strcmp(err, rows[i].err) != 0 || ms != 12345)))
			fail_msg("row at line %d: '%s' -> %d %" PRIu64 " '%s'", rows[i].line,
			         rows[i].in, r, ms, err);
	}
}

static void test_parse_bool(void **state)
{
	static const struct {
		int line;
		const char *in;
		int ok;
		bool out;
	} rows[] = {
		{__LINE__, "on", 1, true},    {__LINE__, "off", 1, false},
		{__LINE__, "yes", 1, true},   {__LINE__, "no", 1, false},
		{__LINE__, "true", 1, true},  {__LINE__, "false", 1, false},
		{__LINE__, "1", 1, true},     {__LINE__, "0", 1, false},
		{__LINE__, "ON", 1, true},    {__LINE__, "Off", 1, false},
		{__LINE__, "TRUE", 1, true},  {__LINE__, "", 0, false},
		{__LINE__, "2", 0, false},    {__LINE__, "y", 0, false},
		{__LINE__, "enabled", 0, false}, {__LINE__, "on ", 0, false},
		{__LINE__, "01", 0, false},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		bool out = !rows[i].out;
		char err[MSG] = "", want[MSG];
		int r = conf_parse_bool(rows[i].in, &out, err, sizeof(err));
		snprintf(want, sizeof(want),
		         "invalid boolean '%s' (expected on/off, yes/no, true/false or 1/0)",
		         rows[i].in);
		if ((r == 0) != rows[i].ok || (r == 0 && out != rows[i].out) ||
		    (r != 0 && strcmp(err, want) != 0))
			fail_msg("row at line %d: '%s' -> %d '%s'", rows[i].line, rows[i].in, r, err);
	}
}

static void test_parse_addr(void **state)
{
	static const struct {
		int line;
		const char *in;
		int family; /* 0: error */
		uint16_t port;
		const char *text_or_err;
	} rows[] = {
		{__LINE__, "0.0.0.0:80", AF_INET, 80, "0.0.0.0:80"},
		{__LINE__, "127.0.0.1:8080", AF_INET, 8080, "127.0.0.1:8080"},
		{__LINE__, "*:21", AF_INET, 21, "0.0.0.0:21"},
		{__LINE__, "192.0.2.1:65535", AF_INET, 65535, "192.0.2.1:65535"},
		{__LINE__, "10.0.0.1:1", AF_INET, 1, "10.0.0.1:1"},
		{__LINE__, "[::]:80", AF_INET6, 80, "[::]:80"},
		{__LINE__, "[::1]:443", AF_INET6, 443, "[::1]:443"},
		{__LINE__, "[2001:DB8:0:0::1]:25", AF_INET6, 25, "[2001:db8::1]:25"},
		{__LINE__, "[::ffff:192.0.2.1]:80", AF_INET6, 80, "[::ffff:192.0.2.1]:80"},
		{__LINE__, "127.0.0.1:080", AF_INET, 80, "127.0.0.1:80"},
		{__LINE__, "80", 0, 0, "invalid address '80': missing host (write 0.0.0.0:80 or [::]:80)"},
		{__LINE__, "127.0.0.1", 0, 0,
		 "invalid address '127.0.0.1': missing port (expected HOST:PORT)"},
		{__LINE__, "", 0, 0, "invalid address '': missing port (expected HOST:PORT)"},
		{__LINE__, ":80", 0, 0, "invalid address ':80': missing host"},
		{__LINE__, "[]:80", 0, 0, "invalid address '[]:80': missing host"},
		{__LINE__, "127.0.0.1:", 0, 0, "invalid address '127.0.0.1:': port must be 1 to 65535"},
		{__LINE__, "127.0.0.1:0", 0, 0, "invalid address '127.0.0.1:0': port must be 1 to 65535"},
		{__LINE__, "127.0.0.1:65536", 0, 0,
		 "invalid address '127.0.0.1:65536': port must be 1 to 65535"},
		{__LINE__, "127.0.0.1:123456", 0, 0,
		 "invalid address '127.0.0.1:123456': port must be 1 to 65535"},
		{__LINE__, "127.0.0.1:http", 0, 0,
		 "invalid address '127.0.0.1:http': port must be 1 to 65535"},
		{__LINE__, "127.0.0.1:-1", 0, 0, "invalid address '127.0.0.1:-1': port must be 1 to 65535"},
		{__LINE__, "127.0.0.1:+80", 0, 0,
		 "invalid address '127.0.0.1:+80': port must be 1 to 65535"},
		{__LINE__, "[::1]:0", 0, 0, "invalid address '[::1]:0': port must be 1 to 65535"},
		{__LINE__, "localhost:80", 0, 0,
		 "invalid address 'localhost:80': 'localhost' is not a numeric IP address "
		 "(host names are not resolved when the configuration is loaded)"},
		{__LINE__, "mx.example.org:25", 0, 0,
		 "invalid address 'mx.example.org:25': 'mx.example.org' is not a numeric IP address "
		 "(host names are not resolved when the configuration is loaded)"},
		{__LINE__, "256.0.0.1:80", 0, 0,
		 "invalid address '256.0.0.1:80': '256.0.0.1' is not a numeric IP address "
		 "(host names are not resolved when the configuration is loaded)"},
		{__LINE__, "127.1:80", 0, 0,
		 "invalid address '127.1:80': '127.1' is not a numeric IP address "
		 "(host names are not resolved when the configuration is loaded)"},
		{__LINE__, "[localhost]:80", 0, 0,
		 "invalid address '[localhost]:80': 'localhost' is not a numeric IPv6 address "
		 "(host names are not resolved when the configuration is loaded)"},
		{__LINE__, "[127.0.0.1]:80", 0, 0,
		 "invalid address '[127.0.0.1]:80': '127.0.0.1' is not a numeric IPv6 address "
		 "(host names are not resolved when the configuration is loaded)"},
		{__LINE__, "[fe80::1%eth0]:80", 0, 0,
		 "invalid address '[fe80::1%eth0]:80': 'fe80::1%eth0' is not a numeric IPv6 address "
		 "(host names are not resolved when the configuration is loaded)"},
		{__LINE__, "::1:80", 0, 0,
		 "invalid address '::1:80': IPv6 addresses go in brackets, as in [::1]:80"},
		{__LINE__, "[::1]80", 0, 0, "invalid address '[::1]80' (expected [IPV6]:PORT)"},
		{__LINE__, "[::1:80", 0, 0, "invalid address '[::1:80' (expected [IPV6]:PORT)"},
		{__LINE__, "[::1]", 0, 0, "invalid address '[::1]' (expected [IPV6]:PORT)"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct conf_addr a;
		char err[MSG] = "";
		int r = conf_parse_addr(rows[i].in, &a, err, sizeof(err));
		if (rows[i].family == 0) {
			if (r == 0 || strcmp(err, rows[i].text_or_err) != 0)
				fail_msg("row at line %d: '%s' -> %d '%s'", rows[i].line, rows[i].in,
				         r, err);
			continue;
		}
		if (r != 0 || a.ss.ss_family != rows[i].family ||
		    strcmp(a.text, rows[i].text_or_err) != 0)
			fail_msg("row at line %d: '%s' -> %d '%s' '%s'", rows[i].line, rows[i].in, r,
			         a.text, err);
		if (rows[i].family == AF_INET) {
			const struct sockaddr_in *sin = (const struct sockaddr_in *)&a.ss;
			assert_int_equal(a.len, sizeof(*sin));
			assert_int_equal(ntohs(sin->sin_port), rows[i].port);
		} else {
			const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a.ss;
			assert_int_equal(a.len, sizeof(*sin6));
			assert_int_equal(ntohs(sin6->sin6_port), rows[i].port);
		}
	}
}

/* ---- every type through conf_load ------------------------------------------ */

static void test_values(void **state)
{
	static const struct {
		int line;
		const char *kv;    /* written on line 4, in [test] */
		const char *want;  /* render() of the key ('@' = the config dir), NULL: error */
		const char *err;   /* after "FILE:4: " */
	} rows[] = {
		/* CONF_STR: empty is unset */
		{__LINE__, "str = hello world", "hello world", NULL},
		{__LINE__, "str = a;b", "a;b", NULL},
		{__LINE__, "str = a ;b", "a", NULL},
		{__LINE__, "str = a\t; b", "a", NULL},
		{__LINE__, "str = #notacomment", "#notacomment", NULL},
		{__LINE__, "str = x = y", "x = y", NULL},
		{__LINE__, "str = [::1]:80", "[::1]:80", NULL},
		{__LINE__, "str =", "(null)", NULL},
		{__LINE__, "str = ; only a comment", "(null)", NULL},
		{__LINE__, "str =;x", ";x", NULL},
		{__LINE__, "str=tight", "tight", NULL},
		/* CONF_PATH (see also test_paths) */
		{__LINE__, "path = /abs/x", "/abs/x", NULL},
		{__LINE__, "path = off", "off", NULL}, /* the default literal word */
		{__LINE__, "path = none", "@/none", NULL},
		{__LINE__, "out = none", "none", NULL},
		{__LINE__, "out = off", "@/off", NULL}, /* a list of its own replaces "off" */
		{__LINE__, "out = /var/log/x.log", "/var/log/x.log", NULL},
		{__LINE__, "out =", "(null)", NULL},
		/* CONF_LIST */
		{__LINE__, "list = a b c", "a|b|c", NULL},
		{__LINE__, "list = a,b,c", "a|b|c", NULL},
		{__LINE__, "list = a, b ,c", "a|b|c", NULL},
		{__LINE__, "list = ,a,,b,\t, c,", "a|b|c", NULL},
		{__LINE__, "list = one", "one", NULL},
		{__LINE__, "list =", "", NULL},
		{__LINE__, "list = , ,", "", NULL},
		/* CONF_ADDRS */
		{__LINE__, "addrs = 0.0.0.0:80 [::]:80", "0.0.0.0:80|[::]:80", NULL},
		{__LINE__, "addrs = 127.0.0.1:80,[::1]:80", "127.0.0.1:80|[::1]:80", NULL},
		{__LINE__, "addrs = *:21", "0.0.0.0:21", NULL},
		{__LINE__, "addrs =", "", NULL},
		{__LINE__, "addrs = 0.0.0.0:80 localhost:81", NULL,
		 "addrs: invalid address 'localhost:81': 'localhost' is not a numeric IP address "
		 "(host names are not resolved when the configuration is loaded)"},
		{__LINE__, "addrs = 0.0.0.0:80 *:80", NULL,
		 "addrs: address '0.0.0.0:80' is listed twice"},
		{__LINE__, "addrs = 80", NULL,
		 "addrs: invalid address '80': missing host (write 0.0.0.0:80 or [::]:80)"},
		{__LINE__, "addrs = 1.2.3.4:70000", NULL,
		 "addrs: invalid address '1.2.3.4:70000': port must be 1 to 65535"},
		/* CONF_NETS: prefix lengths over 16 bytes (IPv4 is v4-mapped: 96 + n) */
		{__LINE__, "nets = 10.0.0.0/8, 2001:db8::/32 192.0.2.1", "/104|/32|/128", NULL},
		{__LINE__, "nets =", "", NULL},
		{__LINE__, "nets = 10.0.0.1/8", NULL,
		 "nets: '10.0.0.1/8' is not an IP address or network (192.0.2.0/24, 2001:db8::/32)"},
		{__LINE__, "nets = 127.0.0.1 localhost", NULL,
		 "nets: 'localhost' is not an IP address or network (192.0.2.0/24, 2001:db8::/32)"},
		/* CONF_BOOL */
		{__LINE__, "flag = off", "false", NULL},
		{__LINE__, "flag = yes ; with a path", "true", NULL},
		{__LINE__, "flag = maybe", NULL,
		 "flag: invalid boolean 'maybe' (expected on/off, yes/no, true/false or 1/0)"},
		{__LINE__, "flag =", NULL,
		 "flag: invalid boolean '' (expected on/off, yes/no, true/false or 1/0)"},
		/* CONF_UINT within [1, 100]; big has no bounds */
		{__LINE__, "num = 1", "1", NULL},
		{__LINE__, "num = 100", "100", NULL},
		{__LINE__, "num = 0", NULL, "num: '0' is out of range (1 to 100)"},
		{__LINE__, "num = 101", NULL, "num: '101' is out of range (1 to 100)"},
		{__LINE__, "num = -1", NULL, "num: invalid number '-1' (expected digits)"},
		{__LINE__, "num = 1K", NULL, "num: invalid number '1K' (expected digits)"},
		{__LINE__, "num =", NULL, "num: invalid number '' (expected digits)"},
		{__LINE__, "big = 0", "0", NULL},
		{__LINE__, "big = 18446744073709551615", "18446744073709551615", NULL},
		{__LINE__, "big = 18446744073709551616", NULL,
		 "big: number '18446744073709551616' is too large"},
		/* CONF_SIZE: size at most 1G, minsize at least 1K */
		{__LINE__, "size = 8K", "8192", NULL},
		{__LINE__, "size = 1G", "1073741824", NULL},
		{__LINE__, "size = 0", "0", NULL},
		{__LINE__, "size = 1073741825", NULL, "size: '1073741825' is too large (at most 1G)"},
		{__LINE__, "size = 2G", NULL, "size: '2G' is too large (at most 1G)"},
		{__LINE__, "size = abc", NULL,
		 "size: invalid size 'abc' (expected a number with optional K, M or G)"},
		{__LINE__, "size = 99999999999G", NULL, "size: size '99999999999G' is too large"},
		{__LINE__, "minsize = 1K", "1024", NULL},
		{__LINE__, "minsize = 1023", NULL, "minsize: '1023' is too small (at least 1K)"},
		/* CONF_DURATION within [1s, 1h] */
		{__LINE__, "dur = 1", "1000", NULL},
		{__LINE__, "dur = 1500ms", "1500", NULL},
		{__LINE__, "dur = 60m", "3600000", NULL},
		{__LINE__, "dur = 1h", "3600000", NULL},
		{__LINE__, "dur = 999ms", NULL, "dur: '999ms' is out of range (1s to 1h)"},
		{__LINE__, "dur = 61m", NULL, "dur: '61m' is out of range (1s to 1h)"},
		{__LINE__, "dur = 5x", NULL,
		 "dur: invalid duration '5x' (expected a number with optional ms, s, m or h)"},
		/* CONF_ENUM */
		{__LINE__, "mode = off", "off", NULL},
		{__LINE__, "mode = required", "required", NULL},
		{__LINE__, "mode = Optional", "optional", NULL},
		{__LINE__, "mode = on", NULL,
		 "mode: invalid value 'on' (expected off, optional or required)"},
		{__LINE__, "mode =", NULL, "mode: invalid value '' (expected off, optional or required)"},
		{__LINE__, "mode = opt", NULL,
		 "mode: invalid value 'opt' (expected off, optional or required)"},
		/* CONF_PORTRANGE */
		{__LINE__, "ports = 50000-50100", "50000-50100", NULL},
		{__LINE__, "ports = 1-65535", "1-65535", NULL},
		{__LINE__, "ports = 2000-2000", "2000-2000", NULL},
		{__LINE__, "ports = 2001-2000", NULL,
		 "ports: invalid port range '2001-2000' (expected LOW-HIGH, 1 <= LOW <= HIGH <= 65535)"},
		{__LINE__, "ports = 0-100", NULL,
		 "ports: invalid port range '0-100' (expected LOW-HIGH, 1 <= LOW <= HIGH <= 65535)"},
		{__LINE__, "ports = 100-65536", NULL,
		 "ports: invalid port range '100-65536' (expected LOW-HIGH, 1 <= LOW <= HIGH <= 65535)"},
		{__LINE__, "ports = 50000", NULL,
		 "ports: invalid port range '50000' (expected LOW-HIGH, 1 <= LOW <= HIGH <= 65535)"},
		{__LINE__, "ports = 50000-", NULL,
		 "ports: invalid port range '50000-' (expected LOW-HIGH, 1 <= LOW <= HIGH <= 65535)"},
		{__LINE__, "ports = 1-2-3", NULL,
		 "ports: invalid port range '1-2-3' (expected LOW-HIGH, 1 <= LOW <= HIGH <= 65535)"},
		{__LINE__, "ports = 1 - 2", NULL,
		 "ports: invalid port range '1 - 2' (expected LOW-HIGH, 1 <= LOW <= HIGH <= 65535)"},
		{__LINE__, "ports =", NULL,
		 "ports: invalid port range '' (expected LOW-HIGH, 1 <= LOW <= HIGH <= 65535)"},
		/* CONF_WORKERS */
		{__LINE__, "workers = 1", "1", NULL},
		{__LINE__, "workers = 256", "256", NULL},
		{__LINE__, "workers = 0", NULL, "workers: invalid workers '0' (expected auto or 1 to 256)"},
		{__LINE__, "workers = 257", NULL,
		 "workers: invalid workers '257' (expected auto or 1 to 256)"},
		{__LINE__, "workers = -1", NULL,
		 "workers: invalid workers '-1' (expected auto or 1 to 256)"},
		{__LINE__, "workers = many", NULL,
		 "workers: invalid workers 'many' (expected auto or 1 to 256)"},
		{__LINE__, "workers = 99999999999999999999999", NULL,
		 "workers: invalid workers '99999999999999999999999' (expected auto or 1 to 256)"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char text[1024], err[1024] = "", want_err[MSG], key[32], got[1024];
		struct conf *c;

		snprintf(text, sizeof(text), HEAD "%s\n", rows[i].kv);
		c = load_text(text, err, sizeof(err));
		if (!rows[i].want) {
			snprintf(want_err, sizeof(want_err), "%s:4: %s", tpath, rows[i].err);
			if (c || strcmp(err, want_err) != 0)
				fail_msg("row at line %d: '%s': got '%s'\nwant '%s'", rows[i].line,
				         rows[i].kv, c ? "(loaded)" : err, want_err);
			continue;
		}
		if (!c)
			fail_msg("row at line %d: '%s': %s", rows[i].line, rows[i].kv, err);
		sscanf(rows[i].kv, "%31[a-z_]", key);
		render(CONF_OWN(c, struct tsec), key, got, sizeof(got));
		if (rows[i].want[0] == '@')
			snprintf(want_err, sizeof(want_err), "%s%s", tdir, rows[i].want + 1);
		else
			snprintf(want_err, sizeof(want_err), "%s", rows[i].want);
		if (strcmp(got, want_err) != 0)
			fail_msg("row at line %d: '%s': got '%s', want '%s'", rows[i].line, rows[i].kv,
			         got, want_err);
		if (conf_line(c, key) != 4)
			fail_msg("row at line %d: conf_line(%s) = %u", rows[i].line, key,
			         conf_line(c, key));
		conf_unref(c);
	}
}

static void test_workers_auto(void **state)
{
	char err[MSG];
	struct conf *c = load_text(HEAD "workers = auto\n", err, sizeof(err));

	(void)state;
	if (!c)
		fail_msg("%s", err);
	assert_int_equal(CONF_OWN(c, struct tsec)->workers, auto_workers());
	assert_int_equal(c->g.workers, auto_workers());
	conf_unref(c);
}

static void test_list_limits(void **state)
{
	static char text[TRIAD_CONF_VALUE_MAX + 256];
	char err[MSG], want[MSG];
	struct conf *c;
	size_t n;

	(void)state;
	/* TRIAD_CONF_LIST_MAX items pass; one more does not. */
	n = (size_t)snprintf(text, sizeof(text), HEAD "list =");
	for (int i = 0; i < TRIAD_CONF_LIST_MAX; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, " i%d", i);
	snprintf(text + n, sizeof(text) - n, "\n");
	c = load_text(text, err, sizeof(err));
	if (!c)
		fail_msg("%s", err);
	assert_int_equal(CONF_OWN(c, struct tsec)->list.n, TRIAD_CONF_LIST_MAX);
	assert_string_equal(CONF_OWN(c, struct tsec)->list.v[255], "i255");
	conf_unref(c);

	snprintf(text + n, sizeof(text) - n, ",x\n");
	assert_null(load_text(text, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s:4: list: more than %d items", tpath, TRIAD_CONF_LIST_MAX);
	assert_string_equal(err, want);
}

static void test_long_values(void **state)
{
	static char text[2 * TRIAD_CONF_VALUE_MAX];
	char err[MSG], want[MSG];
	struct conf *c;
	int n;

	(void)state;
	/* Longer than inih's default 200-byte line, up to the limit: kept whole. */
	n = snprintf(text, sizeof(text), HEAD "str = ");
	memset(text + n, 'x', TRIAD_CONF_VALUE_MAX);
	strcpy(text + n + TRIAD_CONF_VALUE_MAX, "   ; trailing comment\nnum = 5\n");
	c = load_text(text, err, sizeof(err));
	if (!c)
		fail_msg("%s", err);
	assert_int_equal(strlen(CONF_OWN(c, struct tsec)->str), TRIAD_CONF_VALUE_MAX);
	assert_int_equal(CONF_OWN(c, struct tsec)->num, 5);
	assert_int_equal(conf_line(c, "num"), 5);
	conf_unref(c);

	/* One byte more is refused, with its line. */
	memset(text + n, 'x', TRIAD_CONF_VALUE_MAX + 1);
	strcpy(text + n + TRIAD_CONF_VALUE_MAX + 1, "\n");
	assert_null(load_text(text, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s:4: str: value longer than %d bytes", tpath,
	         TRIAD_CONF_VALUE_MAX);
	assert_string_equal(err, want);

	/* A key name beyond TRIAD_CONF_NAME_MAX. */
	n = snprintf(text, sizeof(text), HEAD);
	memset(text + n, 'k', TRIAD_CONF_NAME_MAX + 1);
	strcpy(text + n + TRIAD_CONF_NAME_MAX + 1, " = 1\n");
	assert_null(load_text(text, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s:4: key name longer than %d bytes", tpath,
	         TRIAD_CONF_NAME_MAX);
	assert_string_equal(err, want);

	/* ... and a section name. */
	n = snprintf(text, sizeof(text), HEAD "[");
	memset(text + n, 's', TRIAD_CONF_NAME_MAX + 1);
	strcpy(text + n + TRIAD_CONF_NAME_MAX + 1, "]\n");
	assert_null(load_text(text, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s:4: section name longer than %d bytes", tpath,
	         TRIAD_CONF_NAME_MAX);
	assert_string_equal(err, want);
}

/* ---- file structure and its error messages ---------------------------------- */

/* One whole file and the error it gives. */
struct file_row {
	int line;
	const char *text;
	const char *err; /* after the file name; NULL: loads */
};

static void check_file_rows(const struct file_row *rows, size_t n,
                            const struct conf_section *sec)
{
	for (size_t i = 0; i < n; i++) {
		char err[MSG] = "", want[MSG];
		struct conf *c;

		write_file(tpath, rows[i].text);
		c = conf_load(tpath, sec, err, sizeof(err));
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

static void test_file_errors(void **state)
{
	static const struct file_row rows[] = {
		/* sections that are not ours are ignored, whatever they contain */
		{__LINE__,
		 "[global]\nroot = /srv\n[httpd]\nlisten = garbage\nfrobnicate = 1\n"
		 "[ftpd]\nwhatever = x\n[smtpd]\nmax_message_size = lots\n[other]\nx=y\n",
		 NULL},
		/* our own section may be absent */
		{__LINE__, "[global]\nroot = /srv\n", NULL},
		/* comments, blank lines, indentation, CRLF, a BOM */
		{__LINE__,
		 "\xEF\xBB\xBF# comment\n; comment\n\n  [global]  ; trailing\r\n"
		 "\troot = /srv ; the root\r\n   \n[test] # hash\nnum = 7 ; seven\n",
		 NULL},
		/* sections may come in any order and repeat */
		{__LINE__, "[test]\nnum = 3\n[global]\nroot = /srv\n[test]\nsize = 1K\n", NULL},
		/* unknown keys */
		{__LINE__, "[global]\nroot = /srv\n[test]\nnum = 1\nfoo = 2\n",
		 ":5: foo: unknown key in [test]"},
		{__LINE__, "[global]\nroot = /srv\nlisten = 0.0.0.0:80\n",
		 ":3: listen: unknown key in [global]"},
		{__LINE__, "[global]\nRoot = /srv\n", ":2: Root: unknown key in [global]"},
		/* a key before any section */
		{__LINE__, "# hello\nroot = /srv\n[global]\n", ":2: root: set before any [section]"},
		/* duplicates */
		{__LINE__, "[global]\nroot = /srv\n[test]\nnum = 1\n\nnum = 2\n",
		 ":6: num: set twice in [test] (first at line 4)"},
		{__LINE__, "[global]\nroot = /srv\n[test]\nnum = 1\n[global]\nroot = /x\n",
		 ":6: root: set twice in [global] (first at line 2)"},
		/* syntax */
		{__LINE__, "[global]\nroot = /srv\njust words\n",
		 ":3: syntax error (expected 'key = value', '[section]' or a comment)"},
		{__LINE__, "[global]\nroot: /srv\n",
		 ":2: syntax error (expected 'key = value', '[section]' or a comment)"},
		{__LINE__, "[global]\n= /srv\n",
		 ":2: syntax error (expected 'key = value', '[section]' or a comment)"},
		{__LINE__, "[global]\nroot dir = /srv\n",
		 ":2: syntax error (expected 'key = value', '[section]' or a comment)"},
		{__LINE__, "[global\nroot = /srv\n",
		 ":1: invalid section header (expected [name] or [kind NAME] with "
		 "letters, digits, '_', '-' or '.')"},
		{__LINE__, "[]\nroot = /srv\n",
		 ":1: invalid section header (expected [name] or [kind NAME] with "
		 "letters, digits, '_', '-' or '.')"},
		{__LINE__, "[ global ]\nroot = /srv\n",
		 ":1: invalid section header (expected [name] or [kind NAME] with "
		 "letters, digits, '_', '-' or '.')"},
		{__LINE__, "[global] x\nroot = /srv\n", ":1: unexpected text after section header"},
		{__LINE__, "[global]\nroot = /s\x01rv\n", ":2: control character (byte 0x01) in line"},
		{__LINE__, "[global]\nroot = /srv\n[httpd]\nx = a\rb\n",
		 ":4: control character (byte 0x0d) in line"},
		/* a syntax error counts even in a section we ignore */
		{__LINE__, "[global]\nroot = /srv\n[smtpd]\nbroken line\n",
		 ":4: syntax error (expected 'key = value', '[section]' or a comment)"},
		/* the first error wins */
		{__LINE__, "[global]\nroot = /srv\nbad = 1\nworse\n", ":3: bad: unknown key in [global]"},
		/* [global] rules */
		{__LINE__, "[test]\nnum = 1\n",
		 ": root: not set ([global] must name the shared document root)"},
		{__LINE__, "[global]\nroot =\n",
		 ":2: root: not set ([global] must name the shared document root)"},
		{__LINE__, "", ": root: not set ([global] must name the shared document root)"},
		{__LINE__, "[global]\nroot = /srv\nuser = root\n", NULL},
		{__LINE__, "[global]\nroot = /srv\n\nuser = no-such-user-triad\n",
		 ":4: user: unknown user 'no-such-user-triad'"},
		{__LINE__, "[global]\nroot = /srv\ntls_cert = c.pem\n", ":3: tls_cert: set without tls_key"},
		{__LINE__, "[global]\nroot = /srv\ntls_key = k.pem\n", ":3: tls_key: set without tls_cert"},
		{__LINE__, "[global]\nroot = /srv\ntls_key = k.pem\ntls_cert = c.pem\n", NULL},
		{__LINE__, "[global]\nroot = /srv\nlog_level = verbose\n",
		 ":3: log_level: invalid value 'verbose' (expected error, warn, info or debug)"},
		{__LINE__, "[global]\nroot = /srv\nshutdown_timeout = 2d\n",
		 ":3: shutdown_timeout: invalid duration '2d' (expected a number with optional ms, s, "
		 "m or h)"},
		{__LINE__, "[global]\nroot = /srv\nshutdown_timeout = 25h\n",
		 ":3: shutdown_timeout: '25h' is too large (at most 24h)"},
		{__LINE__, "[global]\nroot = /srv\nworkers = 0\n",
		 ":3: workers: invalid workers '0' (expected auto or 1 to 256)"},
		/* the section's check callback, on a key from the file and on a default */
		{__LINE__, "[global]\nroot = /srv\n[test]\n\nstr = reject\n",
		 ":5: str: rejected by the check (reject)"},
		{__LINE__, "[global]\nroot = /srv\n[test]\nnum = 42\n", ": path: required when num is 42"},
		{__LINE__, "[global]\nroot = /srv\n[test]\nnum = 42\npath = p\n", NULL},
	};
	(void)state;
	check_file_rows(rows, sizeof(rows) / sizeof(rows[0]), &tsection);
}

static void test_missing_file(void **state)
{
	char err[MSG] = "", path[300], want[MSG];

	(void)state;
	snprintf(path, sizeof(path), "%s/does-not-exist.conf", tdir);
	assert_null(conf_load(path, &tsection, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", path);
	assert_string_equal(err, want);

	/* A directory opens but does not read. */
	assert_null(conf_load(tdir, &tsection, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: cannot read: Is a directory", tdir);
	assert_string_equal(err, want);

	/* err may be omitted */
	assert_null(conf_load(path, &tsection, NULL, 0));
}

static void test_defaults(void **state)
{
	char err[MSG];
	struct conf *c = load_text("[global]\nroot = /srv/triad\n", err, sizeof(err));
	const struct tsec *t;

	(void)state;
	if (!c)
		fail_msg("%s", err);
	assert_string_equal(c->g.root, "/srv/triad");
	assert_null(c->g.user);
	assert_null(c->g.tls_cert);
	assert_null(c->g.tls_key);
	assert_string_equal(c->g.log, "stderr");
	assert_int_equal(c->g.log_level, LOG_LEVEL_INFO);
	assert_int_equal(c->g.workers, auto_workers());
	assert_int_equal(c->g.shutdown_timeout, 10000);
	assert_int_equal(conf_line(c, "root"), 2);
	assert_int_equal(conf_line(c, "log"), 0);

	t = CONF_OWN(c, struct tsec);
	assert_null(t->str);
	assert_null(t->path);
	assert_string_equal(t->out, "none");
	assert_int_equal(t->list.n, 2);
	assert_string_equal(t->list.v[0], "index.html");
	assert_string_equal(t->list.v[1], "index.htm");
	assert_int_equal(t->addrs.n, 2);
	assert_string_equal(t->addrs.v[0].text, "0.0.0.0:8080");
	assert_string_equal(t->addrs.v[1].text, "[::]:8080");
	assert_false(t->flag);
	assert_int_equal(t->num, 10);
	assert_int_equal(t->big, 0);
	assert_int_equal(t->size, 1048576);
	assert_int_equal(t->dur, 300000);
	assert_int_equal(t->mode, 1);
	assert_int_equal(t->ports.low, 50000);
	assert_int_equal(t->ports.high, 50100);
	assert_int_equal(t->workers, 2);
	for (size_t i = 0; i < tsection.nkeys; i++)
		assert_int_equal(conf_line(c, tkeys[i].name), 0);
	assert_ptr_equal(c->section, &tsection);
	assert_null(c->runtime);
	conf_unref(c);
}

static void test_global_values(void **state)
{
	char err[MSG];
	struct conf *c = load_text("[global]\nroot = /srv\nuser = root\nlog = syslog\n"
	                           "log_level = DEBUG\nworkers = 3\nshutdown_timeout = 1m\n",
	                           err, sizeof(err));

	(void)state;
	if (!c)
		fail_msg("%s", err);
	assert_string_equal(c->g.user, "root");
	assert_string_equal(c->g.log, "syslog");
	assert_int_equal(c->g.log_level, LOG_LEVEL_DEBUG);
	assert_int_equal(c->g.workers, 3);
	assert_int_equal(c->g.shutdown_timeout, 60000);
	assert_int_equal(conf_line(c, "shutdown_timeout"), 7);
	conf_unref(c);
}

/* A file loaded with the NULL section reads only [global]. */
static void test_global_only(void **state)
{
	char err[MSG];
	struct conf *c;

	(void)state;
	write_file(tpath, "[global]\nroot = /srv\n[test]\nanything = goes\n");
	c = conf_load(tpath, NULL, err, sizeof(err));
	if (!c)
		fail_msg("%s", err);
	assert_null(c->own);
	assert_int_equal(conf_line(c, "root"), 2);
	assert_int_equal(conf_line(c, "anything"), 0);
	conf_unref(c);
}

static void test_paths(void **state)
{
	char err[MSG], want[MSG], sub[256], cwd[PATH_MAX], subconf[300];
	struct conf *c;
	const struct tsec *t;

	(void)state;
	c = load_text("[global]\nroot = srv\ntls_cert = tls/cert.pem\ntls_key = /etc/k.pem\n"
	              "log = logs/triad.log\n[test]\npath = ./p\nout = x.log\nstr = rel\n",
	              err, sizeof(err));
	if (!c)
		fail_msg("%s", err);
	assert_string_equal(c->dir, tdir);
	assert_string_equal(c->path, tpath);
	snprintf(want, sizeof(want), "%s/srv", tdir);
	assert_string_equal(c->g.root, want);
	snprintf(want, sizeof(want), "%s/tls/cert.pem", tdir);
	assert_string_equal(c->g.tls_cert, want);
	assert_string_equal(c->g.tls_key, "/etc/k.pem");
	snprintf(want, sizeof(want), "%s/logs/triad.log", tdir);
	assert_string_equal(c->g.log, want);
	t = CONF_OWN(c, struct tsec);
	snprintf(want, sizeof(want), "%s/./p", tdir);
	assert_string_equal(t->path, want);
	snprintf(want, sizeof(want), "%s/x.log", tdir);
	assert_string_equal(t->out, want);
	assert_string_equal(t->str, "rel"); /* CONF_STR is never resolved */
	conf_unref(c);

	/* "stderr" is a word for log, not a file */
	c = load_text("[global]\nroot = /srv\nlog = stderr\n", err, sizeof(err));
	if (!c)
		fail_msg("%s", err);
	assert_string_equal(c->g.log, "stderr");
	conf_unref(c);

	/* A config named by a relative path resolves against its own directory. */
	snprintf(sub, sizeof(sub), "%s/etc", tdir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(subconf, sizeof(subconf), "%s/t.conf", sub);
	write_file(subconf, "[global]\nroot = www\n");
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(tdir), 0);
	c = conf_load("etc/t.conf", &tsection, err, sizeof(err));
	assert_int_equal(chdir(cwd), 0);
	if (!c)
		fail_msg("%s", err);
	assert_string_equal(c->path, "etc/t.conf");
	assert_string_equal(c->dir, sub);
	snprintf(want, sizeof(want), "%s/www", sub);
	assert_string_equal(c->g.root, want);
	conf_unref(c);
}

static void test_line_and_error_at(void **state)
{
	char err[MSG], want[MSG];
	struct conf *c = load_text(HEAD "\nsize = 2K\nmode = off\n", err, sizeof(err));

	(void)state;
	if (!c)
		fail_msg("%s", err);
	assert_int_equal(conf_line(c, "size"), 5);
	assert_int_equal(conf_line(c, "mode"), 6);
	assert_int_equal(conf_line(c, "root"), 2);
	assert_int_equal(conf_line(c, "num"), 0);
	assert_int_equal(conf_line(c, "no_such_key"), 0);

	assert_int_equal(conf_error_at(c, "size", err, sizeof(err), "too big for %s", "x"), -1);
	snprintf(want, sizeof(want), "%s:5: size: too big for x", tpath);
	assert_string_equal(err, want);
	assert_int_equal(conf_error_at(c, "root", err, sizeof(err), "gone"), -1);
	snprintf(want, sizeof(want), "%s:2: root: gone", tpath);
	assert_string_equal(err, want);
	assert_int_equal(conf_error_at(c, "num", err, sizeof(err), "default bad"), -1);
	snprintf(want, sizeof(want), "%s: num: default bad", tpath);
	assert_string_equal(err, want);
	/* truncation is safe */
	assert_int_equal(conf_error_at(c, "size", err, 8, "long message"), -1);
	assert_int_equal(strlen(err), 7);
	conf_unref(c);
}

static struct conf *load_items(const char *text, char *err, size_t errlen)
{
	write_file(tpath, text);
	return conf_load(tpath, &tsection_items, err, errlen);
}

/* [kind NAME] sections: headers, names, keys, duplicates, checks (interface.md "Extensions"). */
static void test_named_errors(void **state)
{
	static const struct file_row rows[] = {
		{__LINE__, "[global]\nroot = /srv\n[item a]\nhost = x\n[item b-2_c]\n", NULL},
		/* blanks around NAME, a trailing comment */
		{__LINE__, "[global]\nroot = /srv\n[item\t a ] ; one\n", NULL},
		/* no sections of the kind at all */
		{__LINE__, "[global]\nroot = /srv\n", NULL},
		/* kinds the daemon does not read are ignored, whatever they hold */
		{__LINE__, "[global]\nroot = /srv\n[upstream app]\nbogus = 1\n", NULL},
		/* NAME is [a-z0-9_-]{1,32} */
		{__LINE__, "[global]\nroot = /srv\n[item Shop]\n",
		 ":3: invalid section name 'Shop' (expected 1 to 32 of a-z, 0-9, '_' and '-')"},
		{__LINE__, "[global]\nroot = /srv\n[item a.b]\n",
		 ":3: invalid section name 'a.b' (expected 1 to 32 of a-z, 0-9, '_' and '-')"},
		{__LINE__, "[global]\nroot = /srv\n[item abcdefghijklmnopqrstuvwxyz0123456]\n",
		 ":3: invalid section name 'abcdefghijklmnopqrstuvwxyz0123456' (expected 1 to 32 of "
		 "a-z, 0-9, '_' and '-')"},
		{__LINE__, "[global]\nroot = /srv\n[item abcdefghijklmnopqrstuvwxyz012345]\n", NULL},
		/* also for kinds not read: the rule is the file's, not a daemon's */
		{__LINE__, "[global]\nroot = /srv\n[upstream App]\n",
		 ":3: invalid section name 'App' (expected 1 to 32 of a-z, 0-9, '_' and '-')"},
		{__LINE__, "[global]\nroot = /srv\n[item a b]\n",
		 ":3: invalid section header (expected [name] or [kind NAME] with letters, digits, "
		 "'_', '-' or '.')"},
		{__LINE__, "[global]\nroot = /srv\n[item ]\n",
		 ":3: invalid section header (expected [name] or [kind NAME] with letters, digits, "
		 "'_', '-' or '.')"},
		{__LINE__, "[global]\nroot = /srv\n[item]\nhost = x\n",
		 ":3: [item] needs a name, as in [item NAME]"},
		{__LINE__, "[global x]\nroot = /srv\n", ":1: [global] takes no name"},
		{__LINE__, "[global]\nroot = /srv\n[test x]\n", ":3: [test] takes no name"},
		/* the same NAME twice: the later header is named */
		{__LINE__, "[global]\nroot = /srv\n[item a]\n[item b]\n[item a]\nnum = 2\n",
		 ":5: [item a] is already defined at line 3"},
		{__LINE__,
		 "[global]\nroot = /srv\n[item z]\n[item a]\n[item z]\n[item a]\n[item z]\n",
		 ":5: [item z] is already defined at line 3"},
		/* keys of one section */
		{__LINE__, "[global]\nroot = /srv\n[item a]\nfoo = 1\n",
		 ":4: foo: unknown key in [item a]"},
		{__LINE__, "[global]\nroot = /srv\n[item a]\nnum = 1\n[item b]\nnum = 2\nnum = 3\n",
		 ":7: num: set twice in [item b] (first at line 6)"},
		{__LINE__, "[global]\nroot = /srv\n[item a]\nnum = 0\n",
		 ":4: num: '0' is out of range (1 to 100)"},
		/* [global] after a named section is [global] again */
		{__LINE__, "[item a]\nnum = 3\n[global]\nroot = /srv\nnum = 4\n",
		 ":5: num: unknown key in [global]"},
		/* the kind's check: a key from the file, a key left at its default (header line) */
		{__LINE__, "[global]\nroot = /srv\n[item a]\n[item b]\n\nnum = 99\n",
		 ":6: num: 99 is refused"},
		{__LINE__, "[global]\nroot = /srv\n[item a]\n[item b]\nflag = on\n",
		 ":4: host: required with flag"},
		{__LINE__,
		 "[global]\nroot = /srv\n[item a]\nhost = h\n[item b]\nhost = i\n[item c]\nhost = h\n",
		 ":8: host: 'h' is already the host of [item a] (line 4)"},
		/* the section check still runs after the kinds' */
		{__LINE__, "[global]\nroot = /srv\n[item a]\n[test]\nstr = reject\n",
		 ":5: str: rejected by the check (reject)"},
	};
	(void)state;
	check_file_rows(rows, sizeof(rows) / sizeof(rows[0]), &tsection_items);
}

static void test_named_values(void **state)
{
	char err[MSG];
	struct conf *c = load_items("[global]\nroot = /srv\n"
	                            "[item one]\nhost = a.example\npath = p/q\n"
	                            "[test]\nnum = 5\n"
	                            "[item two]\nnum = 3\nflag = on\nhost = b\n"
	                            "[item three]\n",
	                            err, sizeof(err));
	const struct titem *t;
	char want[MSG];

	(void)state;
	if (!c)
		fail_msg("%s", err);
	assert_int_equal(conf_count(c, &item_kind), 3);
	t = conf_item(c, &item_kind, 0);
	assert_string_equal(t->name, "one");
	assert_string_equal(t->host, "a.example");
	snprintf(want, sizeof(want), "%s/p/q", tdir);
	assert_string_equal(t->path, want);
	assert_int_equal(t->num, 7);
	assert_false(t->flag);
	assert_int_equal(conf_item_line(c, &item_kind, 0, NULL), 3);
	assert_int_equal(conf_item_line(c, &item_kind, 0, "path"), 5);
	assert_int_equal(conf_item_line(c, &item_kind, 0, "num"), 0);
	t = conf_item(c, &item_kind, 1);
	assert_string_equal(t->name, "two");
	assert_int_equal(t->num, 3);
	assert_true(t->flag);
	assert_string_equal(t->path, "items/two");
	assert_int_equal(conf_item_line(c, &item_kind, 1, "flag"), 10);
	assert_int_equal(conf_item_line(c, &item_kind, 1, "nope"), 0);
	t = conf_item(c, &item_kind, 2);
	assert_string_equal(t->name, "three");
	assert_null(t->host);
	assert_null(conf_item(c, &item_kind, 3));
	assert_int_equal(conf_item_line(c, &item_kind, 3, NULL), 0);
	assert_int_equal(CONF_OWN(c, struct tsec)->num, 5);
	/* errors at an item key, at a default (the header line), with no key */
	conf_item_error_at(c, &item_kind, 1, "num", err, sizeof(err), "m%d", 1);
	snprintf(want, sizeof(want), "%s:9: num: m1", tpath);
	assert_string_equal(err, want);
	conf_item_error_at(c, &item_kind, 2, "host", err, sizeof(err), "m2");
	snprintf(want, sizeof(want), "%s:12: host: m2", tpath);
	assert_string_equal(err, want);
	conf_item_error_at(c, &item_kind, 2, NULL, err, sizeof(err), "m3");
	snprintf(want, sizeof(want), "%s:12: m3", tpath);
	assert_string_equal(err, want);
	conf_unref(c);

	/* a daemon that reads no kinds does not see them */
	c = load_text("[global]\nroot = /srv\n[item a]\nbogus = 1\n", err, sizeof(err));
	if (!c)
		fail_msg("%s", err);
	assert_int_equal(conf_count(c, &item_kind), 0);
	assert_null(conf_item(c, &item_kind, 0));
	conf_unref(c);
}

/* Many sections load in near-linear time: names are checked by sorting, not pairwise. */
static void test_named_many(void **state)
{
	size_t n = 20000, cap = n * 48 + 64, used = 0;
	char *text = malloc(cap), err[MSG], want[MSG];
	struct conf *c;

	(void)state;
	assert_non_null(text);
	used += (size_t)snprintf(text, cap, "[global]\nroot = /srv\n");
	for (size_t i = 0; i < n; i++)
		used += (size_t)snprintf(text + used, cap - used, "[item s%zu]\nhost = h%zu\n", i, i);
	c = load_items(text, err, sizeof(err));
	if (!c)
		fail_msg("%s", err);
	assert_int_equal(conf_count(c, &item_kind), n);
	assert_string_equal(((struct titem *)conf_item(c, &item_kind, n - 1))->host, "h19999");
	assert_int_equal(conf_item_line(c, &item_kind, n - 1, "host"), 2 + 2 * n);
	conf_unref(c);
	/* one duplicate host at the very end */
	snprintf(text + used, cap - used, "[item last]\nhost = h5\n");
	c = load_items(text, err, sizeof(err));
	assert_null(c);
	snprintf(want, sizeof(want), "%s:%zu: host: 'h5' is already the host of [item s5] (line 14)",
	         tpath, 4 + 2 * n);
	assert_string_equal(err, want);
	free(text);
}

static void test_claims_dup(void **state)
{
	struct conf_claim v[] = {
		{"b", 9, 0}, {"a", 3, 1}, {"c", 4, 2}, {"a", 7, 3}, {"b", 5, 4}, {"a", 1, 5},
	};
	const struct conf_claim *first = NULL, *dup;

	(void)state;
	/* "a" at 1, 3, 7 and "b" at 5, 9: the earliest second claim is "a" at 3 */
	dup = conf_claims_dup(v, 6, &first);
	assert_non_null(dup);
	assert_string_equal(dup->text, "a");
	assert_int_equal(dup->line, 3);
	assert_int_equal(first->line, 1);
	assert_int_equal(first->owner, 5);
	assert_null(conf_claims_dup(v, 1, &first));
	struct conf_claim w[] = {{"x", 2, 0}, {"xy", 1, 1}, {"w", 3, 2}};
	assert_null(conf_claims_dup(w, 3, &first));
}

/* Under `make unit SANITIZE=1`, LeakSanitizer proves the last unref frees everything. */
static void test_refcount(void **state)
{
	char err[MSG];
	struct conf *c = load_text(HEAD "str = s\npath = p\nlist = a b\naddrs = *:1 [::1]:2\n",
	                           err, sizeof(err));

	(void)state;
	if (!c)
		fail_msg("%s", err);
	assert_int_equal(atomic_load(&c->refs), 1);
	assert_ptr_equal(conf_ref(c), c);
	assert_int_equal(atomic_load(&c->refs), 2);
	conf_unref(c);
	assert_int_equal(atomic_load(&c->refs), 1);
	assert_string_equal(CONF_OWN(c, struct tsec)->str, "s");
	conf_unref(c);
	conf_unref(NULL);
	assert_null(conf_ref(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_parse_duration),
		cmocka_unit_test(test_parse_bool),
		cmocka_unit_test(test_parse_addr),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_workers_auto),
		cmocka_unit_test(test_list_limits),
		cmocka_unit_test(test_long_values),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_global_values),
		cmocka_unit_test(test_global_only),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_line_and_error_at),
		cmocka_unit_test(test_refcount),
		cmocka_unit_test(test_named_errors),
		cmocka_unit_test(test_named_values),
		cmocka_unit_test(test_named_many),
		cmocka_unit_test(test_claims_dup),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
