/*
 * The SMTP connection, skeleton stage: until the protocol lands, every
 * connection gets "421 <hostname> Service not available" (RFC 5321 §3.1)
 * and is closed, after maildir_root has been opened through fsroot.
 */
#include "session.h"
#include "conf.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "triad/limits.h"
#include "triad/log.h"

struct smtp_app {
	struct fsroot maildirs;
	char hostname[SMTP_DOMAIN_MAX + 1];
};

int smtp_prepare(struct conf *c, struct server_runtime *rt, char *err, size_t errlen)
{
	const struct smtpd_conf *s = c->own;
	struct smtp_app *app = calloc(1, sizeof(*app));
	if (!app)
		return conf_error_at(c, "maildir_root", err, errlen, "out of memory");
	int rc = fsroot_open_sub(&app->maildirs, &rt->root, s->maildir_root,
	                         strlen(s->maildir_root));
	if (rc < 0) {
		free(app);
		return conf_error_at(c, "maildir_root", err, errlen, "cannot open %s/%s: %s",
		                     c->g.root, s->maildir_root, strerror(-rc));
	}
	if (s->hostname)
		snprintf(app->hostname, sizeof(app->hostname), "%s", s->hostname);
	else if (gethostname(app->hostname, sizeof(app->hostname) - 1) < 0)
		snprintf(app->hostname, sizeof(app->hostname), "localhost");
	rt->app = app;
	return 0;
}

void smtp_release(struct server_runtime *rt)
{
	struct smtp_app *app = rt->app;
	if (!app)
		return;
	fsroot_close(&app->maildirs);
	free(app);
}

static void on_read(struct conn *c)
{
	evbuffer_drain(conn_input(c), evbuffer_get_length(conn_input(c)));
}

static const struct conn_ops ops = {.on_read = on_read};

void smtp_accept(struct conn *c, int tag)
{
	(void)tag;
	c->ops = &ops;
	const struct smtp_app *app = server_rt(c->conf)->app;
	conn_printf(c, "421 %s Service not available, closing transmission channel\r\n",
	            app->hostname);
	conn_close(c);
}
