/*
 * The HTTP connection, skeleton stage: until the protocol lands, every
 * connection is answered "503 Service Unavailable" and closed, after the
 * docroot has been opened through fsroot so the configuration is proven.
 */
#include "session.h"
#include "conf.h"

#include <stdlib.h>
#include <string.h>
#include "triad/log.h"

struct http_app {
	struct fsroot docroot;
};

int http_prepare(struct conf *c, struct server_runtime *rt, char *err, size_t errlen)
{
	const struct httpd_conf *h = c->own;
	struct http_app *app = calloc(1, sizeof(*app));
	if (!app)
		return conf_error_at(c, "docroot", err, errlen, "out of memory");
	int rc = fsroot_open_sub(&app->docroot, &rt->root, h->docroot, strlen(h->docroot));
	if (rc < 0) {
		free(app);
		return conf_error_at(c, "docroot", err, errlen, "cannot open %s/%s: %s",
		                     c->g.root, h->docroot, strerror(-rc));
	}
	rt->app = app;
	return 0;
}

void http_release(struct server_runtime *rt)
{
	struct http_app *app = rt->app;
	if (!app)
		return;
	fsroot_close(&app->docroot);
	free(app);
}

static const char unavailable[] = "HTTP/1.1 503 Service Unavailable\r\n"
                                  "Content-Type: text/plain; charset=utf-8\r\n"
                                  "Content-Length: 20\r\n"
                                  "Connection: close\r\n"
                                  "\r\n"
                                  "Service Unavailable\n";

static void on_read(struct conn *c)
{
	evbuffer_drain(conn_input(c), evbuffer_get_length(conn_input(c)));
}

static const struct conn_ops ops = {.on_read = on_read};

void http_accept(struct conn *c, int tag)
{
	(void)tag;
	c->ops = &ops;
	log_debug("c%06llu http skeleton: 503", (unsigned long long)c->id);
	conn_write(c, unavailable, sizeof(unavailable) - 1);
	conn_close(c);
}
