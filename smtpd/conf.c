/*
 * The [smtpd] schema: every key, its type and default. Adding a key is one
 * row here, one field in conf.h and one entry in docs/configuration.md and
 * man/triad.conf.5 (tests/integration/test_docs.py checks the man page).
 */
#include "conf.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "triad/confcheck.h"
#include "triad/site.h"
#include "triad/limits.h"

#include "parse.h"

#define F(field) offsetof(struct smtpd_conf, field)

static const char *const tls_choices[] = {"off", "optional", "required", NULL};
static const char *const bare_choices[] = {"refuse", "normalise", NULL};
static const char *const long_choices[] = {"accept", "refuse", NULL};

static const struct conf_key keys[] = {
	{"listen", CONF_ADDRS, F(listen), "0.0.0.0:25", NULL, 0, 0},
	{"hostname", CONF_STR, F(hostname), NULL, NULL, 0, 0},
	{"domains", CONF_LIST, F(domains), "", NULL, 0, 0},
	{"maildir_root", CONF_STR, F(maildir_root), "mail", NULL, 0, 0},
	{"aliases", CONF_PATH, F(aliases), NULL, NULL, 0, 0},
	{"max_message_size", CONF_SIZE, F(max_message_size), CONF_DFLT(SMTP_MESSAGE_SIZE_MIB) "M", NULL, 1024, 0},
	{"tls", CONF_ENUM, F(tls), "optional", tls_choices, 0, 0},
	{"pam_service", CONF_STR, F(pam_service), "triad", NULL, 0, 0},
	{"max_recipients", CONF_UINT, F(max_recipients), CONF_DFLT(SMTP_RECIPIENTS_MAX), NULL, 1, 100000},
	/* RFC 5321 §4.5.3.2: server timeouts of at least 5 minutes; shorter is allowed
	 * here for tests and abuse control, but the default follows the RFC. */
	{"timeout", CONF_DURATION, F(timeout), CONF_DFLT(SMTP_TIMEOUT_MIN) "m", NULL, 1000, 0},
	{"max_connections", CONF_UINT, F(max_connections), "1000", NULL, 0, 1000000},
	{"max_connections_per_ip", CONF_UINT, F(max_connections_per_ip), CONF_DFLT(TRIAD_PERIP_DEFAULT), NULL, 0, 1000000},
	CONF_OPERATIONS_KEYS(offsetof(struct smtpd_conf, op)),
	{"greeting_delay", CONF_DURATION, F(greeting_delay), "0", NULL, 0, 300000},
	{"max_errors", CONF_UINT, F(max_errors), CONF_DFLT(SMTP_ERRORS_MAX), NULL, 1, 1000},
	{"bare_lf", CONF_ENUM, F(bare_lf), "refuse", bare_choices, 0, 0},
	/* RFC 5321 §4.5.3.1.6: text lines of 1000 octets with CRLF; Postfix and
	 * OpenSMTPD accept longer ones, so the default does too. */
	{"long_lines", CONF_ENUM, F(long_lines), "accept", long_choices, 0, 0},
};

static int check(struct conf *c, char *err, size_t errlen)
{
	const struct smtpd_conf *s = c->own;
	if (confcheck_subdir(c, s->maildir_root, "maildir_root", err, errlen) < 0 ||
	    confcheck_log_outside(c, c->g.log, "log", s->maildir_root, "maildir_root", err,
	                          errlen) < 0)
		return -1;
	char mail[TRIAD_PATH_MAX];
	snprintf(mail, sizeof(mail), "%s/%s", c->g.root, s->maildir_root);
	if (site_path_outside(c, mail, "maildir_root", err, errlen) < 0)
		return -1;
	if (s->tls == SMTPD_TLS_REQUIRED && (!c->g.tls_cert || !c->g.tls_key))
		return conf_error_at(c, "tls", err, errlen,
		                     "'required' needs tls_cert and tls_key in [global]");
	/* The greeting, Received: and the Maildir file names carry the hostname:
	 * one that is not a domain name (a space, a '/') would fail every delivery. */
	if (s->hostname && (strlen(s->hostname) > SMTP_HOSTNAME_MAX || s->hostname[0] == '[' ||
	                    strchr(s->hostname, '_') ||
	                    smtp_parse_helo(s->hostname, strlen(s->hostname)) != SMTP_R_NONE))
		return conf_error_at(c, "hostname", err, errlen,
		                     "'%s' is not a domain name of at most %d octets", s->hostname,
		                     SMTP_HOSTNAME_MAX);
	/* The greeting delay runs while the read timeout does: a delay as long
	 * as the timeout would cut every client off before it was greeted. */
	if (s->greeting_delay > 0 && s->greeting_delay >= s->timeout)
		return conf_error_at(c, "greeting_delay", err, errlen,
		                     "must be shorter than timeout");
	for (size_t i = 0; i < s->domains.n; i++)
		if (strlen(s->domains.v[i]) > SMTP_DOMAIN_MAX || strchr(s->domains.v[i], '/') ||
		    s->domains.v[i][0] == '.')
			return conf_error_at(c, "domains", err, errlen, "'%s' is not a domain name",
			                     s->domains.v[i]);
	return 0;
}

static const struct conf_kind *const site_kinds[] = {&site_kind, NULL};

const struct conf_section smtpd_conf_section = {
	.name = "smtpd",
	.keys = keys,
	.nkeys = sizeof(keys) / sizeof(keys[0]),
	.size = sizeof(struct smtpd_conf),
	.check = check,
	.kinds = site_kinds,
};
