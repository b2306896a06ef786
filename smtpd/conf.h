/*
 * The [smtpd] section: its struct and schema (interface.md, docs/configuration.md).
 */
#ifndef SMTPD_CONF_H
#define SMTPD_CONF_H

#include <stdbool.h>
#include <stdint.h>
#include "triad/config.h"

enum smtpd_tls { SMTPD_TLS_OFF, SMTPD_TLS_OPTIONAL, SMTPD_TLS_REQUIRED };
enum smtpd_bare_lf { SMTPD_BARE_REFUSE, SMTPD_BARE_NORMALISE };
enum smtpd_long_lines { SMTPD_LONG_ACCEPT, SMTPD_LONG_REFUSE };

struct smtpd_conf {
	struct conf_addrs listen;
	char *hostname;                  /* NULL: the machine's name */
	struct conf_list domains;
	char *maildir_root;
	char *aliases;                   /* the aliases file (aliases.h), NULL: none */
	uint64_t max_message_size;
	int tls;                         /* enum smtpd_tls */
	char *pam_service;
	uint64_t max_recipients;
	uint64_t timeout;                /* ms */
	uint64_t max_connections;
	uint64_t max_connections_per_ip;
	struct conf_operations op;         /* proxy_protocol, limits_exempt, metrics */
	uint64_t greeting_delay;         /* ms; 0: greet at once */
	uint64_t max_errors;             /* error replies before 421 4.7.0 and close */
	int bare_lf;                     /* enum smtpd_bare_lf */
	int long_lines;                  /* enum smtpd_long_lines */
};

extern const struct conf_section smtpd_conf_section;

#endif
