/*
 * The HTTP connection: what triad-httpd does with each accepted conn.
 */
#ifndef HTTPD_SESSION_H
#define HTTPD_SESSION_H

#include <stddef.h>
#include "triad/server.h"

int http_prepare(struct conf *c, struct server_runtime *rt, char *err, size_t errlen);
void http_release(struct server_runtime *rt);
void http_accept(struct conn *c, int tag);

#endif
