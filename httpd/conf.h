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
};

extern const struct conf_section httpd_conf_section;

#endif
