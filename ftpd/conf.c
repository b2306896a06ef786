/*
 * The [ftpd] schema: every key, its type and default. Adding a key is one
 * row here, one field in conf.h and one entry in docs/configuration.md and
 * man/triad.conf.5 (tests/integration/test_docs.py checks the man page).
 */
#include "conf.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <string.h>
#include "triad/confcheck.h"
#include "triad/site.h"
#include "triad/limits.h"

#define F(field) offsetof(struct ftpd_conf, field)

static const char *const anonymous_choices[] = {"off", "read", NULL};
static const char *const tls_choices[] = {"off", "optional", "required", NULL};

static const struct conf_key keys[] = {
	{"listen", CONF_ADDRS, F(listen), "0.0.0.0:21", NULL, 0, 0},
	{"listen_tls", CONF_ADDRS, F(listen_tls), "", NULL, 0, 0},
	{"ftp_root", CONF_STR, F(ftp_root), "www", NULL, 0, 0},
	{"anonymous", CONF_ENUM, F(anonymous), "off", anonymous_choices, 0, 0},
	{"pam_service", CONF_STR, F(pam_service), "triad", NULL, 0, 0},
	{"passive_ports", CONF_PORTRANGE, F(passive_ports), "50000-50100", NULL, 0, 0},
	{"passive_address", CONF_STR, F(passive_address), NULL, NULL, 0, 0},
	{"tls", CONF_ENUM, F(tls), "optional", tls_choices, 0, 0},
	{"idle_timeout", CONF_DURATION, F(idle_timeout), CONF_DFLT(FTP_IDLE_TIMEOUT_MIN) "m", NULL, 1000, 0},
	{"max_connections", CONF_UINT, F(max_connections), "500", NULL, 0, 1000000},
	{"max_connections_per_ip", CONF_UINT, F(max_connections_per_ip), CONF_DFLT(TRIAD_PERIP_DEFAULT), NULL, 0, 1000000},
	CONF_OPERATIONS_KEYS(offsetof(struct ftpd_conf, op)),
	{"umask", CONF_STR, F(umask), "022", NULL, 0, 0},
	{"data_timeout", CONF_DURATION, F(data_timeout), CONF_DFLT(FTP_DATA_TIMEOUT_MIN) "m", NULL, 1000, 0},
	{"data_connect_timeout", CONF_DURATION, F(data_connect_timeout), CONF_DFLT(FTP_DATA_CONNECT_TIMEOUT_S) "s", NULL, 1000, 0},
	{"max_upload_size", CONF_SIZE, F(max_upload_size), "0", NULL, 0, 0},
	{"tls_session_reuse", CONF_BOOL, F(tls_session_reuse), "on", NULL, 0, 0},
	{"max_login_failures", CONF_UINT, F(max_login_failures), CONF_DFLT(FTP_LOGIN_FAILURES_MAX), NULL, 1, 100},
	{"sync_uploads", CONF_BOOL, F(sync_uploads), "on", NULL, 0, 0},
	{"login_timeout", CONF_DURATION, F(login_timeout), CONF_DFLT(FTP_LOGIN_TIMEOUT_S) "s", NULL, 1000, 0},
	{"data_min_rate", CONF_SIZE, F(data_min_rate), CONF_DFLT(FTP_DATA_MIN_RATE_KIB) "K", NULL, 0, 0},
};

/* 1-4 octal digits, at most 0777; -1 otherwise. */
static int parse_umask(const char *s)
{
	unsigned v = 0;
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > 4)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '7')
			return -1;
		v = v * 8 + (unsigned)(s[i] - '0');
	}
	return v > 0777 ? -1 : (int)v;
}

unsigned ftpd_conf_umask(const struct ftpd_conf *f)
{
	int v = parse_umask(f->umask);
	return v < 0 ? 022 : (unsigned)v;
}

static int check(struct conf *c, char *err, size_t errlen)
{
	const struct ftpd_conf *f = c->own;
	if (confcheck_subdir(c, f->ftp_root, "ftp_root", err, errlen) < 0 ||
	    confcheck_tls_listener(c, &f->listen_tls, "listen_tls", err, errlen) < 0 ||
	    confcheck_log_outside(c, c->g.log, "log", f->ftp_root, "ftp_root", err, errlen) < 0)
		return -1;
	if (parse_umask(f->umask) < 0)
		return conf_error_at(c, "umask", err, errlen,
		                     "'%s' is not an octal umask (e.g. 022)", f->umask ? f->umask : "");
	if (f->tls == FTPD_TLS_REQUIRED && (!c->g.tls_cert || !c->g.tls_key))
		return conf_error_at(c, "tls", err, errlen,
		                     "'required' needs tls_cert and tls_key in [global]");
	if (f->passive_address && *f->passive_address) {
		struct in_addr a;
		if (inet_pton(AF_INET, f->passive_address, &a) != 1)
			return conf_error_at(c, "passive_address", err, errlen,
			                     "'%s' is not an IPv4 address (PASV announces IPv4)",
			                     f->passive_address);
	}
	return 0;
}

static const struct conf_kind *const site_kinds[] = {&site_kind, NULL};

const struct conf_section ftpd_conf_section = {
	.name = "ftpd",
	.keys = keys,
	.nkeys = sizeof(keys) / sizeof(keys[0]),
	.size = sizeof(struct ftpd_conf),
	.check = check,
	.kinds = site_kinds,
};
