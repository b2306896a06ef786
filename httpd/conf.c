/*
 * The [httpd] schema: every key, its type and default. Adding a key is one
 * row here, one field in conf.h and one entry in docs/configuration.md and
 * man/triad.conf.5 (tests/integration/test_docs.py checks the man page).
 */
#include "conf.h"

#include <stddef.h>
#include <string.h>
#include "triad/confcheck.h"
#include "triad/limits.h"
#include "triad/site.h"
#include "triad/cachectl.h"
#include "upstream.h"

#define F(field) offsetof(struct httpd_conf, field)

static const char *const tokens[] = {"full", "minimal", "off", NULL};
static const char *const alog_formats[] = {"combined", "vhost", NULL};

static const struct conf_key keys[] = {
	{"listen", CONF_ADDRS, F(listen), "0.0.0.0:80 [::]:80", NULL, 0, 0},
	{"listen_tls", CONF_ADDRS, F(listen_tls), "", NULL, 0, 0},
	{"docroot", CONF_STR, F(docroot), "www", NULL, 0, 0},
	{"index", CONF_LIST, F(index), "index.html", NULL, 0, 0},
	{"autoindex", CONF_BOOL, F(autoindex), "off", NULL, 0, 0},
	{"access_log", CONF_PATH, F(access_log), "off", NULL, 0, 0},
	{"header_timeout", CONF_DURATION, F(header_timeout), CONF_DFLT(HTTP_HEADER_TIMEOUT_S) "s", NULL, 1, 0},
	{"keepalive_timeout", CONF_DURATION, F(keepalive_timeout), CONF_DFLT(HTTP_KEEPALIVE_TIMEOUT_S) "s", NULL, 0, 0},
	{"max_request_line", CONF_SIZE, F(max_request_line), CONF_DFLT(HTTP_REQUEST_LINE_KIB) "K", NULL, 64, 1024 * 1024},
	{"max_header_size", CONF_SIZE, F(max_header_size), CONF_DFLT(HTTP_HEADER_SIZE_KIB) "K", NULL, 256, 16 * 1024 * 1024},
	{"max_body_size", CONF_SIZE, F(max_body_size), CONF_DFLT(HTTP_BODY_MIB) "M", NULL, 0, 0},
	{"max_connections", CONF_UINT, F(max_connections), "20000", NULL, 0, 10000000},
	{"max_connections_per_ip", CONF_UINT, F(max_connections_per_ip), "0", NULL, 0, 10000000},
	CONF_OPERATIONS_KEYS(offsetof(struct httpd_conf, op)),
	{"send_timeout", CONF_DURATION, F(send_timeout), CONF_DFLT(HTTP_SEND_TIMEOUT_S) "s", NULL, 1, 0},
	{"server_tokens", CONF_ENUM, F(server_tokens), "full", tokens, 0, 0},
	{"hsts", CONF_DURATION, F(hsts), "0", NULL, 0, 0},
	{"redirect_https", CONF_BOOL, F(redirect_https), "off", NULL, 0, 0},
	{"cache_control", CONF_STR, F(cache_control), NULL, NULL, 0, 0},
	{"access_log_time", CONF_BOOL, F(access_log_time), "off", NULL, 0, 0},
	{"precompressed", CONF_BOOL, F(precompressed), "on", NULL, 0, 0},
	{"error_pages", CONF_STR, F(error_pages), NULL, NULL, 0, 0},
	{"try_extensions", CONF_LIST, F(try_extensions), "", NULL, 0, 0},
	{"rules_files", CONF_BOOL, F(rules_files), "off", NULL, 0, 0},
	{"access_log_format", CONF_ENUM, F(access_log_format), "combined", alog_formats, 0, 0},
	{"proxy", CONF_STR, F(proxy), NULL, NULL, 0, 0},
	{"fallback", CONF_STR, F(fallback), NULL, NULL, 0, 0},
	{"cache", CONF_SIZE, F(cache), "0", NULL, 0, 0},
};

/* ---- [upstream NAME] ---------------------------------------------------------- */

#define U(field) offsetof(struct httpd_upstream_conf, field)
static const char *const protocols[] = {"http", "fastcgi", NULL};
static const struct conf_key upstream_keys[] = {
	{"servers", CONF_LIST, U(servers), "", NULL, 0, 0},
	{"protocol", CONF_ENUM, U(protocol), "http", protocols, 0, 0},
	{"keepalive", CONF_UINT, U(keepalive), "16", NULL, 0, 100000},
	{"connect_timeout", CONF_DURATION, U(connect_timeout), "5s", NULL, 1, 0},
	{"timeout", CONF_DURATION, U(timeout), "60s", NULL, 1, 0},
	{"fail_timeout", CONF_DURATION, U(fail_timeout), "10s", NULL, 0, 0},
};
#undef U

static int upstream_check(struct conf *c, char *err, size_t errlen)
{
	for (size_t i = 0; i < conf_count(c, &httpd_upstream_kind); i++) {
		const struct httpd_upstream_conf *u = conf_item(c, &httpd_upstream_kind, i);
		if (u->servers.n == 0)
			return conf_item_error_at(c, &httpd_upstream_kind, i, "servers", err, errlen,
			                          "[upstream %s] needs at least one server", u->name);
		for (size_t k = 0; k < u->servers.n; k++) {
			struct http_server srv;
			char why[300];
			if (http_server_parse(u->servers.v[k], &srv, why, sizeof(why)) < 0)
				return conf_item_error_at(c, &httpd_upstream_kind, i, "servers", err,
				                          errlen, "%s", why);
		}
	}
	return 0;
}

const struct conf_kind httpd_upstream_kind = {
	.name = "upstream",
	.keys = upstream_keys,
	.nkeys = sizeof(upstream_keys) / sizeof(upstream_keys[0]),
	.size = sizeof(struct httpd_upstream_conf),
	.name_offset = offsetof(struct httpd_upstream_conf, name),
	.check = upstream_check,
};



static int check(struct conf *c, char *err, size_t errlen)
{
	const struct httpd_conf *h = c->own;
	if (confcheck_subdir(c, h->docroot, "docroot", err, errlen) < 0 ||
	    confcheck_tls_listener(c, &h->listen_tls, "listen_tls", err, errlen) < 0 ||
	    confcheck_log_outside(c, c->g.log, "log", h->docroot, "docroot", err, errlen) < 0)
		return -1;
	if (h->access_log && strcmp(h->access_log, "off") != 0 &&
	    (confcheck_log_outside(c, h->access_log, "access_log", h->docroot, "docroot", err,
	                           errlen) < 0 ||
	     site_path_outside(c, h->access_log, "access_log", err, errlen) < 0))
		return -1;
	if (h->redirect_https && h->listen_tls.n == 0)
		return conf_error_at(c, "redirect_https", err, errlen,
		                     "needs a listen_tls address to redirect to");
	for (size_t i = 0; i < site_count(c); i++)
		if (site_at(c, i)->redirect_https && h->listen_tls.n == 0)
			return conf_item_error_at(c, &site_kind, i, "redirect_https", err, errlen,
			                          "needs a listen_tls address in [httpd] to redirect to");
	char why[200];
	struct site_errpages ep;
	if (site_errpages_parse(h->error_pages, &ep, why, sizeof(why)) < 0)
		return conf_error_at(c, "error_pages", err, errlen, "%s", why);
	site_errpages_free(&ep);
	if (site_try_extensions_check(&h->try_extensions, why, sizeof(why)) < 0)
		return conf_error_at(c, "try_extensions", err, errlen, "%s", why);
	struct http_cachectl cc;
	if (http_cachectl_parse(h->cache_control, &cc, why, sizeof(why)) < 0)
		return conf_error_at(c, "cache_control", err, errlen, "%s", why);
	http_cachectl_free(&cc);
	/* proxy and fallback must name pools that exist */
	size_t npools;
	struct http_pool *pools = http_pools_build(c, &npools, why, sizeof(why));
	if (!pools)
		return conf_error_at(c, "proxy", err, errlen, "%s", why);
	struct http_proxy_conf pc;
	const char *key;
	int rc = http_proxy_conf_build(&pc, h->proxy, h->fallback, pools, npools, why, sizeof(why),
	                               &key);
	http_pools_free(pools, npools);
	if (rc < 0)
		return conf_error_at(c, key, err, errlen, "%s", why);
	http_proxy_conf_free(&pc);
	return 0;
}

/* httpd reads [site NAME] (as every daemon) and [upstream NAME] (its own). */
static const struct conf_kind *const kinds[] = {&site_kind, &httpd_upstream_kind, NULL};

const struct conf_section httpd_conf_section = {
	.name = "httpd",
	.keys = keys,
	.nkeys = sizeof(keys) / sizeof(keys[0]),
	.size = sizeof(struct httpd_conf),
	.kinds = kinds,
	.check = check,
};
