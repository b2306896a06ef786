/*
 * triad-smtpd entry point: the server_ops that tie the [smtpd] section and
 * the protocol to the shared lifecycle in common/server.c.
 */
#include "conf.h"
#include "session.h"
#include "sweep.h"

#include "triad/auth.h"
#include "triad/limits.h"
#include "triad/server.h"

#include <stddef.h>
#include <stdio.h>

enum { LISTEN_PLAIN, LISTEN_TLS };

static size_t listeners(const struct conf *c, struct server_listen *out, size_t max)
{
	const struct smtpd_conf *p = c->own;
	size_t n = 0;
	if (n < max)
		out[n++] = (struct server_listen){&p->listen, false, LISTEN_PLAIN};

	return n;
}

static void limits(const struct conf *c, unsigned *total, unsigned *per_ip)
{
	const struct smtpd_conf *p = c->own;
	*total = (unsigned)p->max_connections;
	*per_ip = (unsigned)p->max_connections_per_ip;
}

/* Landlock: read-write beneath <root>/maildir_root; read-only in the
 * directory of the aliases file (re-read on SIGHUP; an editor may replace it). */
static void sandbox_paths(const struct conf *c, struct sandbox_paths *p)
{
	const struct smtpd_conf *own = c->own;
	char path[TRIAD_PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/%s", c->g.root, own->maildir_root) < (int)sizeof(path))
		sandbox_allow(p, "maildir_root", path, SANDBOX_WRITE);
	if (own->aliases)
		sandbox_allow_dir_of(p, "aliases", own->aliases, SANDBOX_READ);
}

static const struct server_ops smtpd_ops = {
	.name = "smtpd",
	.section = &smtpd_conf_section,
	.listeners = listeners,
	.limits = limits,
	.metrics = smtp_metrics,
	.nmetrics = SMTP_METRICS,
	.operations = offsetof(struct smtpd_conf, op),
	.auth = &auth_pam,
	.blocking_threads = 8, /* file work: RCPT checks (rcpt.c), spool writes, delivery (maildir.c) */
	.prepare = smtp_prepare,
	.release = smtp_release,
	.worker_init = smtp_sweep_worker_init,
	.worker_fini = smtp_sweep_worker_fini,
	.accept = smtp_accept,
	.sandbox_paths = sandbox_paths,
	.refusal = "421 4.7.0 Too many connections, try again later\r\n",
};

int main(int argc, char **argv)
{
	return server_main(argc, argv, &smtpd_ops);
}
