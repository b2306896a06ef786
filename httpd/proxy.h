/*
 * httpd/proxy.h: forwarding a request to an application server pool
 * (interface.md, "Application servers (httpd)"): routing, the upstream
 * connection's life, HTTP/1.1 and FastCGI to the server, the response
 * streamed back with back-pressure both ways, WebSocket tunnels.
 */
#ifndef HTTPD_PROXY_H
#define HTTPD_PROXY_H

#include <stdbool.h>

struct http_session;
struct http_worker;

/*
 * Called once a request head is parsed (before its body is read): decides
 * whether the request goes to a pool. Returns -1 when the proxy took the
 * request over (the session is in HTTP_ST_PROXY and the proxy reads the
 * body), 0 when it is served locally, or a status (404: a FastCGI script
 * that does not exist, a path under a dot segment) for the local path to
 * answer after the body has been read and discarded.
 */
int http_proxy_route(struct http_session *s);

/* The client conn's events while the session is in HTTP_ST_PROXY. */
void http_proxy_client_read(struct http_session *s);
void http_proxy_client_drain(struct http_session *s);
/* The session goes away (client closed, timeout): drop the upstream side. */
void http_proxy_free(struct http_session *s);

/* The worker's idle upstream connections (keepalive). */
void http_proxy_worker_fini(struct http_worker *w);

#endif
