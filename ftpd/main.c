/*
 * triad-ftpd entry point: the server_ops that tie the [ftpd] section and
 * the protocol to the shared lifecycle in common/server.c.
 */
#include "conf.h"
#include "session.h"
#include "sweep.h"

#include "triad/auth.h"
#include "triad/server.h"

#include <stddef.h>

enum { LISTEN_PLAIN, LISTEN_TLS };

static size_t listeners(const struct conf *c, struct server_listen *out, size_t max)
{
	const struct ftpd_conf *p = c->own;
	size_t n = 0;
	if (n < max)
		out[n++] = (struct server_listen){&p->listen, false, LISTEN_PLAIN};
	if (n < max)
		out[n++] = (struct server_listen){&p->listen_tls, true, LISTEN_TLS};
	return n;
}

static void limits(const struct conf *c, unsigned *total, unsigned *per_ip)
{
	const struct ftpd_conf *p = c->own;
	*total = (unsigned)p->max_connections;
	*per_ip = (unsigned)p->max_connections_per_ip;
}

/* Landlock: read-write beneath root. ftp_root and every [site NAME] docroot
 * lie there, and a reload may add a site with a docroot anywhere beneath
 * it; fsroot keeps each login in its own tree. */
static void sandbox_paths(const struct conf *c, struct sandbox_paths *p)
{
	sandbox_allow(p, "root", c->g.root, SANDBOX_WRITE);
}

static const struct server_ops ftpd_ops = {
	.name = "ftpd",
	.section = &ftpd_conf_section,
	.listeners = listeners,
	.limits = limits,
	.metrics = ftp_metrics,
	.nmetrics = FTP_METRICS,
	.tls_fdname = "ftps",
	.operations = offsetof(struct ftpd_conf, op),
	.auth = &auth_pam,
	.blocking_threads = 2, /* fsync + rename of uploads, closes of deleted files, sweeps */
	.prepare = ftp_prepare,
	.release = ftp_release,
	.worker_init = ftp_sweep_worker_init,
	.worker_fini = ftp_sweep_worker_fini,
	.accept = ftp_accept,
	.sandbox_paths = sandbox_paths,
	.refusal = "421 Service not available, closing control connection.\r\n",
	.fds_per_conn = 4, /* control, data, passive listener, file */
};

int main(int argc, char **argv)
{
	return server_main(argc, argv, &ftpd_ops);
}
