/*
 * httpd/rulesfile.c: a site's `_redirects` and `_headers` (rules_files = on)
 * at work on each request (rules.h has the format).
 *
 * Each worker keeps the parsed files per site (keyed by the site's
 * generation id) and looks at them at most once a second: a stat of each
 * file, and a re-read when its inode, size or mtime changed. So a file
 * uploaded over FTP takes effect within two seconds, without SIGHUP, and
 * a hot site costs no file system work per request. A bad line is skipped
 * and logged as "_redirects:LINE: reason", once per change of the file
 * (whichever worker reads the new version first logs it); the files
 * themselves are never served (404).
 */
#include "session.h"
#include "path.h"
#include "rules.h"

#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/time.h>
#include <unistd.h>
#include <event2/event.h>

#include "triad/limits.h"

static const char *const names[2] = {"_redirects", "_headers"};

struct rules_entry {
	uint64_t gen;        /* the site's */
	int64_t checked;     /* second of the last look at the files */
	struct stat id[2];   /* of _redirects and _headers when read (st_ino 0: absent) */
	struct http_rules rules;
};

struct http_rules_cache {
	struct rules_entry **v; /* open addressing by gen, at most half full */
	size_t cap, n;
};

void http_rules_cache_free(struct http_worker *w)
{
	struct http_rules_cache *c = w->rules;
	for (size_t i = 0; c && i < c->cap; i++) {
		if (c->v[i]) {
			http_rules_free(&c->v[i]->rules);
			free(c->v[i]);
		}
	}
	if (c)
		free(c->v);
	free(c);
	w->rules = NULL;
}

static size_t slot(const struct http_rules_cache *c, uint64_t gen)
{
	size_t i = (size_t)(gen * 0x9e3779b97f4a7c15ull) & (c->cap - 1);
	while (c->v[i] && c->v[i]->gen != gen)
		i = (i + 1) & (c->cap - 1);
	return i;
}

/*
 * Grows the table; entries of generations older than KEEP_FROM (the oldest
 * site of the asking generation) go, since sites of a replaced configuration
 * only finish what they started.
 */
static int grow(struct http_rules_cache *c, uint64_t keep_from)
{
	struct http_rules_cache bigger = {NULL, c->cap ? c->cap * 2 : 16, 0};
	if (!(bigger.v = calloc(bigger.cap, sizeof(struct rules_entry *))))
		return -1;
	for (size_t i = 0; i < c->cap; i++) {
		struct rules_entry *e = c->v[i];
		if (!e)
			continue;
		if (e->gen < keep_from) {
			http_rules_free(&e->rules);
			free(e);
			continue;
		}
		bigger.v[slot(&bigger, e->gen)] = e;
		bigger.n++;
	}
	free(c->v);
	*c = bigger;
	return 0;
}

struct warn_ctx {
	struct http_session *s;
	const char *file;
	bool quiet; /* another worker already logged this version of the file */
};

static void warn(void *arg, unsigned line, const char *reason)
{
	struct warn_ctx *w = arg;
	if (w->quiet)
		return;
	log_msg(LOG_LEVEL_WARN, w->s->c->id, "%s:%u: %s (site=%s, line skipped)", w->file, line,
	        reason, w->s->site->name ? w->s->site->name : "-");
}

static bool same(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/*
 * Whether this worker is the first to read this version of the site's file
 * K: every worker parses it (each keeps its own rules), but a bad line is
 * logged once per change of the file, not once per worker. The version is
 * the stat identity; the mark lives in the site (one per generation, so a
 * SIGHUP logs the lines of a still-bad file once more).
 */
static bool first_to_read(const struct http_site *site, int k, const struct stat *st)
{
	uint64_t id = (uint64_t)st->st_ino * 0x9e3779b97f4a7c15ull ^ (uint64_t)st->st_dev ^
	              ((uint64_t)st->st_size << 20) ^ (uint64_t)st->st_mtim.tv_sec * 1000000007ull ^
	              (uint64_t)st->st_mtim.tv_nsec;
	/* the only field of a shared site a worker writes: an atomic mark */
	_Atomic uint64_t *mark = (_Atomic uint64_t *)&site->rules_read[k];
	return atomic_exchange(mark, id) != id;
}

/* Reads both files again into E->rules. */
static void reload(struct http_session *s, struct rules_entry *e, const struct stat now[2])
{
	http_rules_free(&e->rules);
	for (int k = 0; k < 2; k++) {
		e->id[k] = now[k];
		if (now[k].st_ino == 0)
			continue;
		size_t got;
		int err;
		char *text = http_read_small(&s->site->docroot, names[k], HTTP_RULES_FILE_MAX, &got,
		                             &err);
		if (!text) {
			log_msg(LOG_LEVEL_WARN, s->c->id, "%s: not read: %s (site=%s)", names[k],
			        err ? strerror(err) : "out of memory", s->site->name ? s->site->name : "-");
			continue;
		}
		struct warn_ctx w = {s, names[k], !first_to_read(s->site, k, &now[k])};
		int rc = k == 0 ? http_redirects_parse(text, got, &e->rules, warn, &w)
		                : http_headers_parse(text, got, &e->rules, warn, &w);
		if (rc < 0)
			log_msg(LOG_LEVEL_ERROR, s->c->id, "%s: out of memory while reading it",
			        names[k]);
		free(text);
	}
}

static const struct http_rules *rules_of(struct http_session *s)
{
	struct http_worker *w = s->w;
	const struct http_site *site = s->site;
	if (!w->rules && !(w->rules = calloc(1, sizeof(*w->rules))))
		return NULL;
	struct http_rules_cache *c = w->rules;
	if (2 * (c->n + 1) > c->cap && grow(c, s->app->base.gen) < 0)
		return NULL;
	size_t i = slot(c, site->gen);
	struct rules_entry *e = c->v[i];
	if (!e) {
		if (!(e = calloc(1, sizeof(*e))))
			return NULL;
		e->gen = site->gen;
		e->checked = INT64_MIN;
		c->v[i] = e;
		c->n++;
	}
	/* The loop's time of this iteration (w->date_sec is the last response's, which
	 * on an idle worker may be long past). */
	struct timeval tv;
	if (event_base_gettimeofday_cached(s->c->base, &tv) < 0)
		gettimeofday(&tv, NULL);
	int64_t now = (int64_t)tv.tv_sec;
	if (now != e->checked) {
		struct stat st[2];
		e->checked = now;
		for (int k = 0; k < 2; k++)
			if (fsroot_stat(&site->docroot, names[k], strlen(names[k]), &st[k]) < 0 ||
			    !S_ISREG(st[k].st_mode))
				memset(&st[k], 0, sizeof(st[k]));
		if (!same(&st[0], &e->id[0]) || !same(&st[1], &e->id[1]))
			reload(s, e, st);
	}
	return &e->rules;
}

/* "Name: value\r\n" of every _headers rule matching the path, into x.rule_headers. */
static void add_headers(struct http_session *s, const struct http_rules *r)
{
	char *out = s->t->x.rule_headers;
	size_t o = 0, cap = sizeof(s->t->x.rule_headers);
	for (size_t i = 0; i < r->nheaders; i++) {
		const struct http_header_rule *h = &r->headers[i];
		if (!http_header_pattern_match(h->pattern, s->path))
			continue;
		int n = snprintf(out + o, cap - o, "%s: %s\r\n", h->name, h->value);
		if (n < 0 || (size_t)n >= cap - o) {
			out[o] = '\0'; /* what does not fit is left out, never cut */
			break;
		}
		o += (size_t)n;
	}
}

/* The rules files themselves: never served, whatever path leads to them. */
static bool is_rules_file(const char *path)
{
	return strcmp(path, "/_redirects") == 0 || strcmp(path, "/_headers") == 0;
}

/* A redirect: Location TO with the request's query kept (joined by '&' when TO has one). */
static void redirect(struct http_session *s, int status, const char *to)
{
	const struct http_request *r = &s->t->req;
	char loc[TRIAD_PATH_MAX + 64];
	int n = snprintf(loc, sizeof(loc), "Location: %s%s%.*s\r\n", to,
	                 r->query.p ? (strchr(to, '?') ? "&" : "?") : "",
	                 r->query.p ? (int)r->query.len : 0, r->query.p ? r->query.p : "");
	if (n < 0 || (size_t)n >= sizeof(loc)) {
		http_respond_status(s, 414, NULL);
		return;
	}
	http_respond_status(s, status, loc);
}

/* 200: the request is served TO (a path of this site) instead. */
static void rewrite(struct http_session *s, const char *to)
{
	struct http_path pr;
	size_t len = strcspn(to, "?");
	int st = http_path_normalize(to, len, s->path + 1, sizeof(s->w->path) - 1, &pr);
	if (st != 0) {
		http_respond_status(s, st, NULL);
		return;
	}
	s->path_len = pr.len;
	s->path[1 + pr.len] = '\0';
	if (pr.hidden || is_rules_file(s->path)) {
		http_respond_status(s, 404, NULL);
		return;
	}
	http_serve_path(s, pr.trailing_slash);
}

bool http_rules_answer(struct http_session *s, bool trailing_slash)
{
	(void)trailing_slash;
	if (is_rules_file(s->path)) {
		http_respond_status(s, 404, NULL); /* never served */
		return true;
	}
	const struct http_rules *r = rules_of(s);
	if (!r)
		return false;
	add_headers(s, r);
	int exists = -1; /* whether a file matches the path: only rules with '!' shadow it */
	char to[TRIAD_PATH_MAX];
	for (size_t i = 0; i < r->nredirects; i++) {
		const struct http_redirect *rule = &r->redirects[i];
		if (!http_redirect_match(rule, s->path, to, sizeof(to)))
			continue;
		if (!rule->force) {
			if (exists < 0) {
				struct stat st;
				exists = fsroot_stat(&s->site->docroot, s->path + 1, s->path_len, &st) == 0;
			}
			if (exists)
				continue;
		}
		if (rule->status == 200)
			rewrite(s, to);
		else if (rule->status == 404 || rule->status == 410) {
			if (is_rules_file(to) || !http_respond_page(s, rule->status, to, NULL))
				http_respond_status(s, rule->status, NULL);
		} else
			redirect(s, rule->status, to);
		return true;
	}
	return false;
}
