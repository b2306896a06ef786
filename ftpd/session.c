/*
 * The FTP control connection, skeleton stage: until the protocol lands,
 * every connection is answered "421 Service not available" (RFC 959 §4.2)
 * and closed, after ftp_root has been opened through fsroot.
 */
#include "session.h"
#include "conf.h"

#include <stdlib.h>
#include <string.h>
#include "triad/log.h"

struct ftp_app {
	struct fsroot ftp_root;
};

int ftp_prepare(struct conf *c, struct server_runtime *rt, char *err, size_t errlen)
{
	const struct ftpd_conf *f = c->own;
	struct ftp_app *app = calloc(1, sizeof(*app));
	if (!app)
		return conf_error_at(c, "ftp_root", err, errlen, "out of memory");
	int rc = fsroot_open_sub(&app->ftp_root, &rt->root, f->ftp_root, strlen(f->ftp_root));
	if (rc < 0) {
		free(app);
		return conf_error_at(c, "ftp_root", err, errlen, "cannot open %s/%s: %s",
		                     c->g.root, f->ftp_root, strerror(-rc));
	}
	rt->app = app;
	return 0;
}

void ftp_release(struct server_runtime *rt)
{
	struct ftp_app *app = rt->app;
	if (!app)
		return;
	fsroot_close(&app->ftp_root);
	free(app);
}

static void on_read(struct conn *c)
{
	evbuffer_drain(conn_input(c), evbuffer_get_length(conn_input(c)));
}

static const struct conn_ops ops = {.on_read = on_read};

void ftp_accept(struct conn *c, int tag)
{
	(void)tag;
	c->ops = &ops;
	conn_printf(c, "421 Service not available, closing control connection.\r\n");
	conn_close(c);
}
