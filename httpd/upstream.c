/*
 * httpd/upstream.c: [upstream NAME] pools, proxy rules and server choice
 * (upstream.h). Failure marks are atomics in the generation's pools, so a
 * server one worker found down is skipped by all of them for fail_timeout.
 */
#include "upstream.h"
#include "triad/strlit.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

int http_server_parse(const char *s, struct http_server *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (strncmp(s, STRLIT("unix:")) == 0) {
		const char *path = s + 5;
		struct sockaddr_un *sun = (struct sockaddr_un *)&out->ss;
		size_t n = strlen(path);
		if (path[0] != '/') {
			snprintf(err, errlen, "invalid server '%s': unix: needs an absolute path", s);
			return -1;
		}
		if (n >= sizeof(sun->sun_path) || n + 6 > sizeof(out->text)) {
			snprintf(err, errlen, "invalid server '%s': socket path too long", s);
			return -1;
		}
		sun->sun_family = AF_UNIX;
		memcpy(sun->sun_path, path, n + 1);
		out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
		snprintf(out->text, sizeof(out->text), "unix:%s", path);
		return 0;
	}
	struct conf_addr a;
	char why[200];
	if (conf_parse_addr(s, &a, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s (or unix:PATH)", why);
		return -1;
	}
	const struct sockaddr *sa = (const struct sockaddr *)&a.ss;
	if ((sa->sa_family == AF_INET &&
	     ((const struct sockaddr_in *)sa)->sin_addr.s_addr == htonl(INADDR_ANY)) ||
	    (sa->sa_family == AF_INET6 &&
	     IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)sa)->sin6_addr))) {
		snprintf(err, errlen, "invalid server '%s': not an address to connect to", s);
		return -1;
	}
	out->ss = a.ss;
	out->len = a.len;
	snprintf(out->text, sizeof(out->text), "%s", a.text);
	return 0;
}

static atomic_uint_fast64_t next_pool_id = 1;

struct http_pool *http_pools_build(const struct conf *c, size_t *n, char *err, size_t errlen)
{
	size_t count = conf_count(c, &httpd_upstream_kind);
	*n = count;
	struct http_pool *pools = calloc(count ? count : 1, sizeof(*pools));
	if (!pools) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < count; i++) {
		const struct httpd_upstream_conf *u = conf_item(c, &httpd_upstream_kind, i);
		struct http_pool *p = &pools[i];
		snprintf(p->name, sizeof(p->name), "%s", u->name);
		p->id = atomic_fetch_add(&next_pool_id, 1);
		p->protocol = (enum http_upstream_proto)u->protocol;
		p->keepalive = (unsigned)u->keepalive;
		p->connect_timeout = u->connect_timeout;
		p->timeout = u->timeout;
		p->fail_timeout = u->fail_timeout;
		p->servers = calloc(u->servers.n ? u->servers.n : 1, sizeof(*p->servers));
		if (!p->servers) {
			http_pools_free(pools, i);
			snprintf(err, errlen, "out of memory");
			return NULL;
		}
		p->nservers = u->servers.n;
		for (size_t k = 0; k < u->servers.n; k++)
			if (http_server_parse(u->servers.v[k], &p->servers[k], err, errlen) < 0) {
				http_pools_free(pools, i + 1);
				return NULL;
			}
	}
	return pools;
}

void http_pools_free(struct http_pool *p, size_t n)
{
	for (size_t i = 0; p && i < n; i++)
		free(p[i].servers);
	free(p);
}

struct http_pool *http_pool_find(struct http_pool *p, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(p[i].name, name) == 0)
			return &p[i];
	return NULL;
}

int http_proxy_conf_build(struct http_proxy_conf *pc, const char *proxy, const char *fallback,
                          struct http_pool *pools, size_t npools, char *err, size_t errlen,
                          const char **bad_key)
{
	memset(pc, 0, sizeof(*pc));
	*bad_key = "proxy";
	if (http_cachectl_parse(proxy, &pc->rules, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < pc->rules.n; i++) {
		pc->rule_pool[i] = http_pool_find(pools, npools, pc->rules.value[i]);
		if (!pc->rule_pool[i]) {
			snprintf(err, errlen, "rule \"%.64s=%.40s\": no [upstream %.40s] section",
			         pc->rules.pattern[i], pc->rules.value[i], pc->rules.value[i]);
			http_cachectl_free(&pc->rules);
			return -1;
		}
	}
	if (fallback) {
		*bad_key = "fallback";
		pc->fallback = http_pool_find(pools, npools, fallback);
		if (!pc->fallback) {
			snprintf(err, errlen, "no [upstream %.40s] section", fallback);
			http_cachectl_free(&pc->rules);
			return -1;
		}
	}
	return 0;
}

void http_proxy_conf_free(struct http_proxy_conf *pc)
{
	http_cachectl_free(&pc->rules);
	pc->fallback = NULL;
}

bool http_proxy_rule_matches(const struct http_proxy_conf *pc, size_t i, const char *path,
                             size_t len)
{
	char buf[4096];
	if (path[len] == '\0')
		return fnmatch(pc->rules.pattern[i], path, 0) == 0;
	if (len >= sizeof(buf))
		return false;
	memcpy(buf, path, len);
	buf[len] = '\0';
	return fnmatch(pc->rules.pattern[i], buf, 0) == 0;
}

int http_proxy_match(const struct http_proxy_conf *pc, const char *path)
{
	for (size_t i = 0; i < pc->rules.n; i++) {
		if (fnmatch(pc->rules.pattern[i], path, 0) == 0)
			return (int)i;
		if (pc->rule_pool[i]->protocol != HTTP_UPSTREAM_FASTCGI)
			continue;
		for (const char *q = strchr(path + 1, '/'); q; q = strchr(q + 1, '/'))
			if (http_proxy_rule_matches(pc, i, path, (size_t)(q - path)))
				return (int)i;
	}
	return -1;
}

int http_pool_pick(struct http_pool *p, uint64_t tried, int64_t now_ms)
{
	size_t n = p->nservers;
	unsigned start = atomic_fetch_add(&p->rr, 1);
	int any = -1;
	for (size_t k = 0; k < n; k++) {
		size_t i = (start + k) % n;
		if (i < 64 && (tried >> i) & 1)
			continue;
		if (atomic_load(&p->servers[i].failed_until) <= now_ms)
			return (int)i;
		if (any < 0)
			any = (int)i;
	}
	/* Every server left is being skipped: try them anyway (interface.md). */
	bool all_failed = true;
	for (size_t i = 0; i < n; i++)
		if (atomic_load(&p->servers[i].failed_until) <= now_ms)
			all_failed = false;
	return all_failed ? any : -1;
}

void http_pool_mark_failed(struct http_pool *p, size_t server, int64_t now_ms)
{
	atomic_store(&p->servers[server].failed_until, now_ms + (int64_t)p->fail_timeout);
}
