/*
 * httpd/upstream.h: application server pools ("[upstream NAME]" sections)
 * and the proxy routing of [httpd] (proxy, fallback), as configured and as
 * built for one configuration generation.
 *
 *   struct httpd_upstream_conf   one [upstream NAME] as read (conf.c's schema)
 *   struct http_pool             the same, resolved: server addresses, and the
 *                                failure marks every worker shares
 *   struct http_proxy_conf       proxy rules and fallback: what a request is
 *                                routed by (a site may carry its own)
 */
#ifndef HTTPD_UPSTREAM_H
#define HTTPD_UPSTREAM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "triad/config.h"
#include "triad/cachectl.h"

enum http_upstream_proto { HTTP_UPSTREAM_HTTP, HTTP_UPSTREAM_FASTCGI };

struct httpd_upstream_conf {
	char *name;
	struct conf_list servers; /* host:port or unix:PATH */
	int protocol;             /* enum http_upstream_proto */
	uint64_t keepalive;       /* idle connections kept per worker */
	uint64_t connect_timeout; /* ms */
	uint64_t timeout;         /* ms */
	uint64_t fail_timeout;    /* ms */
};

extern const struct conf_kind httpd_upstream_kind;

struct http_server {
	struct sockaddr_storage ss;
	socklen_t len;
	char text[120];              /* "127.0.0.1:8000", "[::1]:8001", "unix:/run/app.sock" */
	_Atomic int64_t failed_until; /* CLOCK_MONOTONIC ms; skipped before this */
};

struct http_pool {
	char name[40];
	uint64_t id;    /* unique in the process (pools of every generation): idle
	                   upstream conns find their pool by it, no name compare */
	enum http_upstream_proto protocol;
	struct http_server *servers;
	size_t nservers;
	unsigned keepalive;
	uint64_t connect_timeout, timeout, fail_timeout;
	atomic_uint rr; /* round robin position */
};

struct http_proxy_conf {
	struct http_cachectl rules;             /* PATTERN=POOLNAME */
	struct http_pool *rule_pool[HTTP_CACHECTL_RULES_MAX];
	struct http_pool *fallback;             /* NULL: 404 as before */
};

/* Parses one server ("unix:/path" or an address conf_parse_addr takes). */
int http_server_parse(const char *s, struct http_server *out, char *err, size_t errlen);

/* The pools of a configuration: an array of conf_count(upstream) pools. */
struct http_pool *http_pools_build(const struct conf *c, size_t *n, char *err, size_t errlen);
void http_pools_free(struct http_pool *p, size_t n);
struct http_pool *http_pool_find(struct http_pool *p, size_t n, const char *name);

/* PROXY and FALLBACK values (as in [httpd]) resolved against the pools;
 * on error a message naming the rule or pool, and -1. */
int http_proxy_conf_build(struct http_proxy_conf *pc, const char *proxy, const char *fallback,
                          struct http_pool *pools, size_t npools, char *err, size_t errlen,
                          const char **bad_key);
void http_proxy_conf_free(struct http_proxy_conf *pc);

/* The first rule matching PATH (decoded, with its leading '/', NUL-terminated),
 * or -1. A rule for a FastCGI pool also matches when a leading part of PATH
 * ending before a '/' matches it (interface.md: "*.php" matches /x.php/a). */
int http_proxy_match(const struct http_proxy_conf *pc, const char *path);
/* Whether rule I matches the leading LEN bytes of PATH. */
bool http_proxy_rule_matches(const struct http_proxy_conf *pc, size_t i, const char *path,
                             size_t len);

/* A server to try, round robin over those not failed (all failed: over all),
 * skipping those in TRIED (a bit per server, for retries); -1: none left. */
int http_pool_pick(struct http_pool *p, uint64_t tried, int64_t now_ms);
void http_pool_mark_failed(struct http_pool *p, size_t server, int64_t now_ms);

#endif
