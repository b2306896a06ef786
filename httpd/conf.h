/*
 * The [httpd] section: its struct and schema (interface.md, docs/configuration.md).
 */
#ifndef HTTPD_CONF_H
#define HTTPD_CONF_H

#include <stdbool.h>
#include <stdint.h>
#include "triad/config.h"

struct httpd_conf {
	struct conf_addrs listen;
	struct conf_addrs listen_tls;
	char *docroot;
	struct conf_list index;
	bool autoindex;
	char *access_log;                /* NULL or "off": none */
	uint64_t header_timeout;         /* ms */
	uint64_t keepalive_timeout;      /* ms */
	uint64_t max_request_line;
	uint64_t max_header_size;
	uint64_t max_body_size;
	uint64_t max_connections;
	uint64_t max_connections_per_ip;
	struct conf_operations op;         /* proxy_protocol, limits_exempt, metrics */
	uint64_t send_timeout;           /* ms: no write progress for this long: drop */
	int server_tokens;               /* enum httpd_tokens */
	uint64_t hsts;                   /* ms; 0: no Strict-Transport-Security */
	bool redirect_https;             /* plain listeners answer 301 to https:// */
	char *cache_control;             /* "PATTERN=VALUE ..." rules (httpd/cachectl.h) */
	bool access_log_time;            /* append the request time to access log lines */
	bool precompressed;              /* serve file.br / file.zst / file.gz siblings */
	char *error_pages;               /* "404=/404.html 5xx=/50x.html" (triad/site.h) */
	struct conf_list try_extensions; /* ".html": /about serves about.html (clean URLs) */
	bool rules_files;                /* honour _redirects and _headers at the top of docroot */
	int access_log_format;           /* enum httpd_alog_format */
	char *proxy;                     /* "PATTERN=UPSTREAM ..." rules (httpd/upstream.h) */
	char *fallback;                  /* the [upstream NAME] for paths with no file */
	uint64_t cache;                  /* response cache bytes; 0: none */
};

enum httpd_alog_format { HTTPD_ALOG_COMBINED, HTTPD_ALOG_VHOST };

enum httpd_tokens { HTTPD_TOKENS_FULL, HTTPD_TOKENS_MINIMAL, HTTPD_TOKENS_OFF };

extern const struct conf_section httpd_conf_section;

#endif
