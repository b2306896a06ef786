/*
 * The [ftpd] section: its struct and schema (interface.md, docs/configuration.md).
 */
#ifndef FTPD_CONF_H
#define FTPD_CONF_H

#include <stdbool.h>
#include <stdint.h>
#include "triad/config.h"

enum ftpd_anonymous { FTPD_ANON_OFF, FTPD_ANON_READ };
enum ftpd_tls { FTPD_TLS_OFF, FTPD_TLS_OPTIONAL, FTPD_TLS_REQUIRED };

struct ftpd_conf {
	struct conf_addrs listen;
	struct conf_addrs listen_tls;    /* implicit FTPS (extension) */
	char *ftp_root;
	int anonymous;                   /* enum ftpd_anonymous */
	char *pam_service;
	struct conf_portrange passive_ports;
	char *passive_address;           /* NULL: the control connection's local address */
	int tls;                         /* enum ftpd_tls */
	uint64_t idle_timeout;           /* ms */
	uint64_t max_connections;
	uint64_t max_connections_per_ip;
	struct conf_operations op;         /* proxy_protocol, limits_exempt, metrics */
	char *umask;                     /* octal text; umask_bits holds its value */
	uint64_t data_timeout;           /* ms: a data connection idle (either way) */
	uint64_t data_connect_timeout;   /* ms: PASV accept / PORT connect */
	uint64_t max_upload_size;        /* bytes, 0: none */
	bool tls_session_reuse;          /* PROT P data connections must resume the control's */
	uint64_t max_login_failures;     /* failed PASS per session before 421 */
	bool sync_uploads;               /* fsync an upload and its directory before 226 */
	uint64_t login_timeout;          /* ms from the greeting (or REIN) to a login */
	uint64_t data_min_rate;          /* bytes/s a transfer keeps up over each data_timeout */
};

/* The umask key's value (validated by the section check). */
unsigned ftpd_conf_umask(const struct ftpd_conf *f);

extern const struct conf_section ftpd_conf_section;

#endif
