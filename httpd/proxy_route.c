/*
 * httpd/proxy_route.c: which requests go to an application server pool
 * (interface.md, "Application servers (httpd)"): the `proxy` rules, the
 * `fallback` pool for what the static side has no file for, and for
 * FastCGI the script, which must exist below docroot (checked through
 * fsroot before the server is contacted). Then the exchange starts.
 */
#include "proxy_exchange.h"
#include "conf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <event2/event.h>

#include "fcache.h"
#include "path.h"
#include "triad/conn.h"
#include "triad/fsroot.h"
#include "triad/strlit.h"

/*
 * Whether REL (LEN bytes, no leading '/') names a regular file below the
 * site's docroot. A yes is kept in the worker's file cache (fcache.c) and
 * reused under its consistency rule: the entry is dropped, and the confined
 * open decides again, as soon as the file is replaced, removed or chmod-ed;
 * so a hot script costs no openat2 and fstat per request. A no is never kept
 * (the upload named photo.jpg is looked up each time it is asked for as a
 * script, and stays not one). A script we may not read (php-fpm's user may)
 * is checked with fsroot_stat each time, as before.
 */
static bool script_exists(struct http_session *s, const char *rel, size_t len)
{
	struct timeval iteration;
	bool named = event_base_gettimeofday_cached(s->c->base, &iteration) == 0;
	struct http_fentry *e =
	    http_fcache_get(s->w, s->site, rel, len, named ? &iteration : NULL);
	if (e) { /* only regular files are cached */
		http_fentry_unref(e);
		return true;
	}
	struct stat st;
	int fd = fsroot_openat(&s->site->docroot, rel, len, O_RDONLY | O_NONBLOCK | O_CLOEXEC, 0);
	if (fd < 0)
		return fd != -ENOENT && fd != -ENOTDIR &&
		       fsroot_stat(&s->site->docroot, rel, len, &st) == 0 && S_ISREG(st.st_mode);
	bool reg = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	if (reg) {
		int64_t now = s->w->date_sec >= 0 ? s->w->date_sec : (int64_t)time(NULL);
		http_fcache_put(s->w, s->site, rel, len, fd, &st, "", false, false, now);
	}
	close(fd);
	return reg;
}

/*
 * The FastCGI script for a request matched by RULE: the shortest leading
 * part of the path, ending at a '/' or at the end, that matches the rule and
 * names a regular file below docroot. 0 with px's script fields set, or 404.
 */
static int find_script(struct http_session *s, struct http_proxy *px, int rule)
{
	const struct http_proxy_conf *pc = s->site->proxy;
	const char *path = s->path;
	size_t len = s->path_len + 1;
	for (size_t k = 1; k <= len; k++) {
		if (k < len && path[k] != '/')
			continue;
		if (rule >= 0 && !http_proxy_rule_matches(pc, (size_t)rule, path, k))
			continue;
		if (k < 2 || !script_exists(s, path + 1, k - 1))
			continue;
		px->script_name = strndup(path, k);
		px->path_info = strdup(path + k);
		size_t dl = strlen(px->docroot_abs);
		px->script_file = malloc(dl + k + 1);
		if (!px->script_name || !px->path_info || !px->script_file)
			return 500;
		memcpy(px->script_file, px->docroot_abs, dl);
		memcpy(px->script_file + dl, path, k);
		px->script_file[dl + k] = '\0';
		return 0;
	}
	return 404;
}

/* Whether the normalised s->path names something the static side serves:
 * a regular file, or a directory with an index file (or autoindex on). */
static bool served_locally(struct http_session *s)
{
	const struct http_site *site = s->site;
	struct stat st;
	const char *rel = s->path_len ? s->path + 1 : ".";
	size_t rl = s->path_len ? s->path_len : 1;
	char name[PATH_MAX];
	if (fsroot_stat(&site->docroot, rel, rl, &st) < 0) {
		/* try_extensions: /about is served about.html when that exists */
		for (size_t i = 0; site->try_extensions && i < site->try_extensions->n; i++) {
			int n = snprintf(name, sizeof(name), "%.*s%s", (int)s->path_len, s->path + 1,
			                 site->try_extensions->v[i]);
			if (s->path_len && n > 0 && (size_t)n < sizeof(name) &&
			    fsroot_stat(&site->docroot, name, (size_t)n, &st) == 0 && S_ISREG(st.st_mode))
				return true;
		}
		return false;
	}
	if (S_ISREG(st.st_mode))
		return true;
	if (!S_ISDIR(st.st_mode))
		return false;
	if (site->autoindex)
		return true;
	for (size_t i = 0; site->index && i < site->index->n; i++) {
		int n = snprintf(name, sizeof(name), "%.*s%s%s", (int)s->path_len, s->path + 1,
		                 s->path_len ? "/" : "", site->index->v[i]);
		if (n > 0 && (size_t)n < sizeof(name) &&
		    fsroot_stat(&site->docroot, name, (size_t)n, &st) == 0 && S_ISREG(st.st_mode))
			return true;
	}
	return false;
}

/* The absolute path of the site's docroot, from its directory fd (FastCGI's
 * DOCUMENT_ROOT and SCRIPT_FILENAME name files as the server sees them).
 * Read once per site generation and worker, not per request: the descriptor
 * is the generation's. */
static int docroot_path(struct http_session *s, struct http_proxy *px)
{
	uint64_t gen = s->site->gen;
	struct http_worker *w = s->w;
	__typeof__(w->docroot_memo[0]) *m = &w->docroot_memo[gen % HTTP_PROXY_DOCROOT_MEMO];
	if (m->gen != gen || !m->path) {
		char link[64], path[PATH_MAX];
		snprintf(link, sizeof(link), "/proc/self/fd/%d", s->site->docroot.fd);
		ssize_t n = readlink(link, path, sizeof(path) - 1);
		if (n <= 0 || (size_t)n >= sizeof(path) - 1)
			return 500;
		path[n] = '\0';
		char *copy = strdup(path);
		if (!copy)
			return 500;
		free(m->path);
		m->path = copy;
		m->gen = gen;
	}
	return (px->docroot_abs = strdup(m->path)) ? 0 : 500;
}

void px_docroot_memo_free(struct http_worker *w)
{
	for (size_t i = 0; i < HTTP_PROXY_DOCROOT_MEMO; i++) {
		free(w->docroot_memo[i].path);
		w->docroot_memo[i].path = NULL;
	}
}

/* FastCGI: the script the request runs (and DOCUMENT_ROOT); 0 or a status. */
static int fcgi_script(struct http_session *s, struct http_proxy *px, int rule, bool fallback)
{
	int st = docroot_path(s, px);
	if (st || !fallback)
		return st ? st : find_script(s, px, rule);
	/* front controller: <docroot>/index.php, the original URI */
	size_t dl = strlen(px->docroot_abs);
	px->script_name = strdup("/index.php");
	px->path_info = strdup("");
	px->script_file = malloc(dl + sizeof("/index.php"));
	if (!px->script_name || !px->path_info || !px->script_file)
		return 500;
	memcpy(px->script_file, px->docroot_abs, dl);
	memcpy(px->script_file + dl, "/index.php", sizeof("/index.php"));
	return 0;
}

static int start(struct http_session *s, struct http_pool *pool, int rule, bool fallback)
{
	const struct http_request *r = &s->t->req;
	struct http_proxy *px = px_new(s->w);
	if (!px)
		return 503;
	px->s = s;
	px->pool = pool;
	px->server = -1;
	px->fcgi = pool->protocol == HTTP_UPSTREAM_FASTCGI;
	if (px->fcgi) {
		int st = fcgi_script(s, px, rule, fallback);
		if (st) {
			px_free(px);
			return st;
		}
	} else {
		px->websocket = px_wants_websocket(r);
	}
	px->req_left = r->framing == HTTP_BODY_LENGTH ? r->content_length : 0;
	px->req_done = r->framing == HTTP_BODY_NONE ||
	               (r->framing == HTTP_BODY_LENGTH && r->content_length == 0);
	http_chunked_init(&px->req_chunked, s->app->h->max_body_size);
	px->req_chunked.yield = true;
	s->px = px;
	s->t->x.head_only = r->method == HTTP_METHOD_HEAD;
	if (!r->keep_alive || s->app->h->keepalive_timeout == 0)
		s->t->x.close = true;
	http_session_enter_proxy(s, !px->req_done);
	/* RFC 9110 §10.1.1: we will read the body (and pass it on). */
	if (!px->req_done && r->expect_continue)
		conn_write(s->c, STRLIT("HTTP/1.1 100 Continue\r\n\r\n"));
	if (s->app->rcache && px->req_done && !px->websocket && http_cache_request_ok(r)) {
		/* the key: pool, scheme, host, path and query, so at most the pool's name,
		 * the request line and Host */
		size_t cap = sizeof(pool->name) + r->target.len + r->host.len + 16;
		if (cap > px->key_cap) {
			char *k = realloc(px->key, cap);
			if (k) {
				px->key = k;
				px->key_cap = cap;
			}
		}
		size_t kl = cap <= px->key_cap
		                ? http_rcache_key(r, conn_is_tls(s->c), pool->name, px->key, px->key_cap)
		                : 0;
		if (kl) {
			px->key_len = kl;
			px->cacheable = true;
		}
		if (px_cache_lookup(px, true))
			return -1;
	}
	px_forward(px);
	return -1;
}

int http_proxy_route(struct http_session *s)
{
	const struct http_app *app = s->app;
	const struct http_request *r = &s->t->req;
	if (!app->proxy_any)
		return 0;
	if (r->form == HTTP_TARGET_ASTERISK || r->form == HTTP_TARGET_AUTHORITY)
		return 0;
	if (r->form == HTTP_TARGET_ABSOLUTE && !http_eq_ci(r->scheme.p, r->scheme.len, "http") &&
	    !http_eq_ci(r->scheme.p, r->scheme.len, "https"))
		return 0;
	/* the site first: its docroot, and what the local side answers itself
	 * (421 for a mismatched SNI, redirect_https, canonical redirects) */
	if (http_site_choose(s) || (s->site->redirect_https && !conn_is_tls(s->c)) ||
	    http_site_noncanonical(s))
		return 0;
	struct http_path pr;
	if (http_path_normalize(r->path.p, r->path.len, s->path + 1, sizeof(s->w->path) - 1, &pr))
		return 0; /* the local side answers the error */
	s->path[0] = '/';
	s->path_len = pr.len;
	if (pr.hidden)
		return 404; /* never to a pool (interface.md) */
	const struct http_proxy_conf *pc = s->site->proxy; /* the site's, or [httpd]'s */
	int rule = http_proxy_match(pc, s->path);
	if (rule >= 0)
		return start(s, pc->rule_pool[rule], rule, false);
	if (!pc->fallback || served_locally(s))
		return 0;
	return start(s, pc->fallback, -1, true);
}
