/*
 * triad-httpd entry point: the server_ops that tie the [httpd] section and
 * the HTTP protocol to the shared lifecycle in common/server.c.
 */
#include "conf.h"
#include "session.h"

#include "triad/server.h"

#include <stddef.h>
#include <string.h>

enum { LISTEN_PLAIN, LISTEN_TLS };

static size_t listeners(const struct conf *c, struct server_listen *out, size_t max)
{
	const struct httpd_conf *h = c->own;
	size_t n = 0;
	if (n < max)
		out[n++] = (struct server_listen){&h->listen, false, LISTEN_PLAIN};
	if (n < max)
		out[n++] = (struct server_listen){&h->listen_tls, true, LISTEN_TLS};
	return n;
}

static void limits(const struct conf *c, unsigned *total, unsigned *per_ip)
{
	const struct httpd_conf *h = c->own;
	*total = (unsigned)h->max_connections;
	*per_ip = (unsigned)h->max_connections_per_ip;
}

/* Landlock: read-only beneath root, where docroot, every [site NAME]
 * docroot with its error pages and rules files lie (interface.md),
 * including the sites a reload adds; append in the access log's directory.
 * fsroot keeps each request in its docroot. */
static void sandbox_paths(const struct conf *c, struct sandbox_paths *p)
{
	const struct httpd_conf *own = c->own;
	sandbox_allow(p, "root", c->g.root, SANDBOX_READ);
	if (own->access_log && strcmp(own->access_log, "off") != 0)
		sandbox_allow_dir_of(p, "access_log", own->access_log, SANDBOX_APPEND);
}

static const struct server_ops httpd_ops = {
	.name = "httpd",
	.section = &httpd_conf_section,
	.listeners = listeners,
	.limits = limits,
	.metrics = http_metrics,
	.nmetrics = HTTP_METRICS,
	.tls_fdname = "https",
	.operations = offsetof(struct httpd_conf, op),
	.prepare = http_prepare,
	.release = http_release,
	.accept = http_accept,
	.worker_init = http_worker_init,
	.worker_fini = http_worker_fini,
	.sandbox_paths = sandbox_paths,
	.refusal = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
	           "Connection: close\r\nRetry-After: 5\r\n\r\n",
	.client_speaks_first = true,
};

int main(int argc, char **argv)
{
	return server_main(argc, argv, &httpd_ops);
}
