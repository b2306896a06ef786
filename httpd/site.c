/*
 * httpd/site.c: the sites of one generation and the choice of a site for
 * each request (interface.md, "Sites").
 *
 * app->base holds [httpd]'s per-request settings; each [site NAME] gets an
 * http_site with its own docroot (opened once per generation) and the
 * [httpd] value for every per-request key it leaves unset (proxy rules and
 * fallback too: the gateway routes by s->site->proxy). Host names go
 * into one hash (common/hostmap), so choosing among 10,000 sites costs one
 * probe. Over TLS the client-hello callback looks the SNI name up in the
 * same hash: a site with its own certificate answers with it (one SSL_CTX
 * per distinct certificate file), any other name gets the [global] pair,
 * and the chosen site is remembered on the connection so a request for
 * another site's Host gets 421 (RFC 9110 §15.5.20).
 */
#include "session.h"
#include "conf.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(offsetof(struct http_site, hsts) + sizeof(const char *) <= 64,
               "what every request reads of a site is in its first cache line");
_Static_assert(sizeof(struct http_site_line) == 128, "a site is two cache lines");

static uint64_t next_gen(void)
{
	static atomic_ullong gen = 1;

	return atomic_fetch_add(&gen, 1);
}

static void hsts_field(char *buf, size_t len, uint64_t ms)
{
	if (ms)
		snprintf(buf, len, "Strict-Transport-Security: max-age=%llu\r\n",
		         (unsigned long long)(ms / 1000));
	else
		buf[0] = '\0';
}

static void site_free(struct http_site *s)
{
	fsroot_close(&s->docroot);
	if (s->own) {
		http_cachectl_free(&s->own->cache);
		site_errpages_free(&s->own->errpages);
		http_proxy_conf_free(&s->own->proxy);
		free(s->own);
	}
}

/* The [httpd] settings: what a request for no site is served with. */
static int build_base(struct conf *c, struct server_runtime *rt, struct http_app *app,
                      char *err, size_t errlen)
{
	const struct httpd_conf *h = c->own;
	struct http_site *b = &app->base;
	char why[200];
	int rc;

	b->gen = next_gen();
	b->docroot.fd = -1;
	b->index = &h->index;
	b->autoindex = h->autoindex;
	b->precompressed = h->precompressed;
	b->redirect_https = h->redirect_https;
	b->try_extensions = &h->try_extensions;
	b->rules_files = h->rules_files;
	if (!(b->own = calloc(1, sizeof(*b->own))))
		return conf_error_at(c, "docroot", err, errlen, "out of memory");
	hsts_field(b->own->hsts, sizeof(b->own->hsts), h->hsts);
	b->hsts = b->own->hsts;
	b->cache = &b->own->cache;
	b->errpages = &b->own->errpages;
	b->proxy = &b->own->proxy;
	if (http_cachectl_parse(h->cache_control, &b->own->cache, why, sizeof(why)) < 0)
		return conf_error_at(c, "cache_control", err, errlen, "%s", why);
	if (site_errpages_parse(h->error_pages, &b->own->errpages, why, sizeof(why)) < 0)
		return conf_error_at(c, "error_pages", err, errlen, "%s", why);
	const char *key;
	if (http_proxy_conf_build(&b->own->proxy, h->proxy, h->fallback, app->pools, app->npools,
	                          why, sizeof(why), &key) < 0)
		return conf_error_at(c, key, err, errlen, "%s", why);
	app->proxy_any = b->proxy->rules.n || b->proxy->fallback;
	rc = fsroot_open_sub(&b->docroot, &rt->root, h->docroot, strlen(h->docroot));
	if (rc < 0)
		return conf_error_at(c, "docroot", err, errlen, "cannot open %s/%s: %s", c->g.root,
		                     h->docroot, strerror(-rc));
	return 0;
}

/* The context for a site's certificate: shared by every site naming the same pair. */
static SSL_CTX *site_ctx(struct conf *c, size_t i, struct http_app *app, struct hostmap *files,
                         char *err, size_t errlen)
{
	const struct conf_site *cs = site_at(c, i);
	char why[512];
	int j = hostmap_get(files, cs->tls_cert, strlen(cs->tls_cert));
	SSL_CTX *ctx;

	if (j >= 0 && strcmp(site_at(c, (size_t)j)->tls_key, cs->tls_key) == 0)
		return app->sites[j].site.tls;
	ctx = tls_ctx_new(cs->tls_cert, cs->tls_key, why, sizeof(why));
	if (!ctx) {
		bool key_at_fault = strncmp(why, cs->tls_key, strlen(cs->tls_key)) == 0;
		conf_item_error_at(c, &site_kind, i, key_at_fault ? "tls_key" : "tls_cert", err,
		                   errlen, "%s", why);
		return NULL;
	}
	tls_ctx_set_alpn(ctx, (const unsigned char *)"\x08http/1.1");
	app->ctxs[app->nctxs++] = ctx;
	if (j < 0 && hostmap_add(files, cs->tls_cert, (int)i) < 0) {
		conf_item_error_at(c, &site_kind, i, "tls_cert", err, errlen, "out of memory");
		return NULL;
	}
	return ctx;
}

/*
 * The rule sets (and the HSTS field) of site I: [httpd]'s, shared, for the
 * keys it does not set; its own, parsed into s->own, for those it does
 * (10,000 sites that inherit cost no copies).
 */
static int build_rules(struct conf *c, size_t i, struct http_app *app, struct http_site *s,
                       char *err, size_t errlen)
{
	const struct conf_site *cs = site_at(c, i);
	const struct httpd_conf *h = c->own;
	const struct http_site *b = &app->base;
	bool cc = site_sets(c, i, "cache_control"), ep = site_sets(c, i, "error_pages");
	bool px = site_sets(c, i, "proxy") || site_sets(c, i, "fallback");
	bool hs = site_sets(c, i, "hsts");
	char why[200];
	const char *key;

	s->cache = b->cache;
	s->errpages = b->errpages;
	s->proxy = b->proxy;
	s->hsts = b->hsts;
	if (!cc && !ep && !px && !hs)
		return 0;
	if (!(s->own = calloc(1, sizeof(*s->own))))
		return conf_item_error_at(c, &site_kind, i, NULL, err, errlen, "out of memory");
	if (hs) {
		hsts_field(s->own->hsts, sizeof(s->own->hsts), cs->hsts);
		s->hsts = s->own->hsts;
	}
	if (cc && http_cachectl_parse(cs->cache_control, &s->own->cache, why, sizeof(why)) < 0)
		return conf_item_error_at(c, &site_kind, i, "cache_control", err, errlen, "%s", why);
	if (cc)
		s->cache = &s->own->cache;
	if (ep && site_errpages_parse(cs->error_pages, &s->own->errpages, why, sizeof(why)) < 0)
		return conf_item_error_at(c, &site_kind, i, "error_pages", err, errlen, "%s", why);
	if (ep)
		s->errpages = &s->own->errpages;
	if (!px)
		return 0;
	if (http_proxy_conf_build(&s->own->proxy,
	                          site_sets(c, i, "proxy") ? cs->proxy : h->proxy,
	                          site_sets(c, i, "fallback") ? cs->fallback : h->fallback,
	                          app->pools, app->npools, why, sizeof(why), &key) < 0)
		return conf_item_error_at(c, &site_kind, i, key, err, errlen, "%s", why);
	s->proxy = &s->own->proxy;
	if (s->proxy->rules.n || s->proxy->fallback)
		app->proxy_any = true;
	return 0;
}

static int build_site(struct conf *c, struct server_runtime *rt, struct http_app *app, size_t i,
                      struct hostmap *files, char *err, size_t errlen)
{
	const struct conf_site *cs = site_at(c, i);
	const struct http_site *b = &app->base;
	struct http_site *s = &app->sites[i].site;
	int rc;

	s->gen = next_gen();
	s->name = cs->name;
	s->hosts = &cs->hosts;
	s->canonical = cs->canonical;
	s->docroot.fd = -1;
	s->index = site_sets(c, i, "index") ? &cs->index : b->index;
	s->autoindex = site_sets(c, i, "autoindex") ? cs->autoindex : b->autoindex;
	s->precompressed = site_sets(c, i, "precompressed") ? cs->precompressed : b->precompressed;
	s->redirect_https =
	    site_sets(c, i, "redirect_https") ? cs->redirect_https : b->redirect_https;
	s->try_extensions =
	    site_sets(c, i, "try_extensions") ? &cs->try_extensions : b->try_extensions;
	s->rules_files = site_sets(c, i, "rules_files") ? cs->rules_files : b->rules_files;
	if (build_rules(c, i, app, s, err, errlen) < 0)
		return -1;
	rc = fsroot_open_sub(&s->docroot, &rt->root, cs->docroot, strlen(cs->docroot));
	if (rc < 0)
		return conf_item_error_at(c, &site_kind, i, "docroot", err, errlen,
		                          "cannot open %s/%s: %s", c->g.root, cs->docroot,
		                          strerror(-rc));
	if (cs->tls_cert && !(s->tls = site_ctx(c, i, app, files, err, errlen)))
		return -1;
	for (size_t j = 0; j < cs->hosts.n; j++)
		if (hostmap_add(&app->hosts, cs->hosts.v[j], (int)i) < 0)
			return conf_item_error_at(c, &site_kind, i, "hosts", err, errlen,
			                          "out of memory");
	return 0;
}

/* SNI: the site of NAME and its certificate (NULL: the listener's [global] pair). */
static SSL_CTX *sni_pick(void *arg, const char *name, size_t len, int *tag)
{
	const struct http_app *app = arg;
	char key[256];
	uint64_t h;
	size_t n = hostmap_key(name, len, key, sizeof(key), &h);
	int i = n ? hostmap_get_hashed(&app->hosts, key, n, h) : -1;

	*tag = i;
	return i >= 0 ? app->sites[i].site.tls : NULL;
}

int http_sites_build(struct conf *c, struct server_runtime *rt, struct http_app *app, char *err,
                     size_t errlen)
{
	size_t n = site_count(c), hosts = 0;
	struct hostmap files = {0};
	int rc = -1;

	if (build_base(c, rt, app, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		hosts += site_at(c, i)->hosts.n;
	if (n && (!(app->sites = aligned_alloc(_Alignof(struct http_site_line),
	                                       n * sizeof(*app->sites))) ||
	          !(app->ctxs = calloc(n, sizeof(SSL_CTX *)))))
		return conf_error_line(c, 0, NULL, err, errlen, "out of memory");
	if (n)
		memset(app->sites, 0, n * sizeof(*app->sites));
	if (hostmap_init(&app->hosts, hosts) < 0 || hostmap_init(&files, n) < 0)
		goto oom;
	for (size_t i = 0; i < n; i++) {
		app->sites[i].site.docroot.fd = -1;
		app->nsites = i + 1;
		if (build_site(c, rt, app, i, &files, err, errlen) < 0)
			goto out;
	}
	if (rt->tls && n) {
		app->sni = (struct tls_sni){sni_pick, app};
		tls_ctx_set_sni(rt->tls, &app->sni);
	}
	rc = 0;
	goto out;
oom:
	conf_error_line(c, 0, NULL, err, errlen, "out of memory");
out:
	hostmap_free(&files);
	return rc;
}

void http_sites_free(struct http_app *app)
{
	site_free(&app->base);
	for (size_t i = 0; i < app->nsites; i++)
		site_free(&app->sites[i].site);
	for (size_t i = 0; i < app->nctxs; i++)
		tls_ctx_free(app->ctxs[i]);
	free(app->sites);
	free(app->ctxs);
	hostmap_free(&app->hosts);
}

/* The request's host: the absolute-form target's authority first (RFC 9112 §3.2.2). */
static struct http_slice request_host(const struct http_request *r)
{
	return r->form == HTTP_TARGET_ABSOLUTE && r->authority.p ? r->authority : r->host;
}

int http_site_choose(struct http_session *s)
{
	struct http_slice host = request_host(&s->t->req);
	const struct http_app *app = s->app;
	char key[256];
	uint64_t h;
	size_t n;
	int i = -1, sni;

	s->site = &app->base;
	if (!app->nsites)
		return 0;
	n = host.p ? hostmap_key(host.p, host.len, key, sizeof(key), &h) : 0;
	if (n)
		i = hostmap_get_hashed(&app->hosts, key, n, h);
	sni = s->c->ssl ? tls_sni_tag(s->c->ssl) : -1;
	if (sni >= 0 && i != sni)
		return 421;
	if (i >= 0)
		s->site = &app->sites[i].site;
	return 0;
}

bool http_site_noncanonical(const struct http_session *s)
{
	struct http_slice host = request_host(&s->t->req);
	const struct http_site *site = s->site;
	char key[256];

	if (!site->canonical || !host.p)
		return false;
	const char *first = site->hosts->v[0];
	size_t n = hostmap_key(host.p, host.len, key, sizeof(key), NULL);
	return !(n == strlen(first) && memcmp(key, first, n) == 0);
}

bool http_site_canonical(struct http_session *s)
{
	struct http_slice host = request_host(&s->t->req);
	const struct http_site *site = s->site;
	const char *first, *colon = NULL;
	char loc[400];

	if (!http_site_noncanonical(s))
		return false;
	first = site->hosts->v[0];
	/* The port only when the request's Host had one ("[v6]:port" keeps its brackets). */
	const char *end = host.p + host.len;
	const char *from = host.p[0] == '[' ? memchr(host.p, ']', host.len) : host.p;
	if (from)
		colon = memchr(from, ':', (size_t)(end - from));
	snprintf(loc, sizeof(loc), "%s://%s%.*s", s->c->ssl ? "https" : "http", first,
	         colon ? (int)(end - colon) : 0, colon ? colon : "");
	http_redirect(s, loc, false);
	return true;
}
