/*
 * httpd/proxy_exchange.h: one proxied exchange (struct http_proxy) and what
 * the proxy_*.c files ask of each other. Not for the rest of httpd, which
 * sees only proxy.h.
 *
 *   proxy.c          the exchange's life: start, end, failure, the upstream
 *                    conn's callbacks, the client's while proxying, tunnels
 *   proxy_route.c    which requests go to a pool (rules, fallback, the
 *                    FastCGI script below docroot)
 *   proxy_pool.c     upstream connections: idle per worker, connect, retry
 *   proxy_http.c     HTTP/1.1 to the server: request head, response head
 *                    and body framing
 *   proxy_fcgi.c     FastCGI to the server: params, records, the CGI head
 *   proxy_stream.c   bodies both ways with back-pressure; the client's head
 *   proxy_cache.c    the response cache: lookup, hits, storing a response
 */
#ifndef HTTPD_PROXY_EXCHANGE_H
#define HTTPD_PROXY_EXCHANGE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "cgiresp.h"
#include "chunked.h"
#include "fcgi.h"
#include "proxy.h"
#include "rcache.h"
#include "session.h"
#include "uphead.h"
#include "upstream.h"

struct conn;
struct iobuf;

enum px_phase { PX_CACHEWAIT, PX_BUFFER, PX_CONNECT, PX_WAIT, PX_BODY, PX_TUNNEL };

struct http_proxy {
	struct http_session *s;
	struct http_pool *pool;
	enum px_phase phase;
	int server;
	uint64_t tried;       /* servers tried, a bit each */
	struct conn *up;
	bool reused, no_idle; /* up came from the idle pool; retry: never */
	bool fcgi, websocket;
	/* FastCGI script */
	char *script_name;    /* "/x.php" */
	char *path_info;      /* "/a/b" or "" */
	char *script_file;    /* absolute */
	char *docroot_abs;    /* the site's docroot (FastCGI's DOCUMENT_ROOT) */
	/* request body, client -> upstream */
	uint64_t req_left;
	struct http_chunked req_chunked;
	bool req_done;        /* the client's body is wholly read */
	bool req_sent;        /* ... and queued to the upstream with its end */
	bool body_started;    /* a body byte was taken from the client */
	struct iobuf *body_buf; /* FastCGI + chunked: the whole body first */
	/* response, upstream -> client */
	bool got_any;
	struct http_resp_parser rp;
	struct http_response *resp;
	struct http_cgi_parser cp;
	struct http_cgi_response *cgi;
	char *cgi_head;       /* FastCGI: STDOUT gathered until the CGI head is whole */
	size_t cgi_len, cgi_cap;
	struct fcgi_decoder fdec;
	bool head_sent, chunked_out, discard;
	enum http_resp_framing framing;
	uint64_t resp_left;
	struct http_chunked resp_chunked;
	bool fcgi_ended, up_close;
	/* response cache (app->rcache) */
	bool cacheable;             /* the request may use the cache */
	char *key;                  /* kept with a spare exchange: key_cap bytes */
	size_t key_len, key_cap;
	const char *fwd;            /* Cache-Status fwd= of a forwarded response */
	bool collapsed;             /* it waited for another request's fill */
	struct http_rwait wait;     /* PX_CACHEWAIT */
	bool waiting;               /* wait is registered with the cache, not woken yet */
	struct http_rfill *fill;    /* this request fills the key */
	struct http_rentry *store;  /* the entry being built from the response */
	struct iobuf *store_body;
	struct http_rentry *stale;  /* a stale entry, for stale-if-error */
	struct http_proxy *spare_next; /* in the worker's px_spare list */
};

/* proxy.c */
/* A zeroed exchange, from the worker's spares when it has one (their
 * response-head and CGI-head buffers are kept: no allocation per request). */
struct http_proxy *px_new(struct http_worker *w);
/* The worker's spares, at its end. */
void px_spares_free(struct http_worker *w);
int64_t px_now_ms(void);
/* One error log line per upstream failure: pool, server, why. */
void px_log_fail(struct http_proxy *px, const char *why);
const char *px_server_text(const struct http_proxy *px);
void px_free(struct http_proxy *px);
/* The response is queued (or the client must be closed): back to the session. */
void px_done(struct http_proxy *px);
/* Before any response head reached the client: answer STATUS ourselves. */
void px_fail(struct http_proxy *px, int status);
/* The server sent something malformed (WHAT, REASON): logged, 502, not reused. */
void px_fail_bad(struct http_proxy *px, const char *what, const char *reason);
/* Sends the request on: the body first when FastCGI needs its length. */
void px_forward(struct http_proxy *px);
/* The upstream conn is connected (or taken idle): the request goes out. */
void px_send_request(struct http_proxy *px);
extern const struct conn_ops px_up_ops;
/* A 101 went to the client: bytes flow both ways as they are. */
void px_tunnel_start(struct http_proxy *px);

/* proxy_route.c: the worker's remembered docroot paths, at its end. */
void px_docroot_memo_free(struct http_worker *w);

/* proxy_pool.c */
/* An idle connection of the pool's, else a new one to the next server round
 * robin that is not being skipped; none left: 502. */
void px_connect_next(struct http_proxy *px);
/* The upstream conn is done with: to the idle pool (KEEP) or closed. */
void px_up_release(struct http_proxy *px, bool keep);
/* conn_connect() failed at once or through on_connect. */
void px_connect_failed(struct http_proxy *px, const char *why);

/* proxy_http.c */
/* Builds the request head straight into the upstream conn's output. */
bool px_http_request_head(struct http_proxy *px);
/* A response head: false when it was not complete yet (or px is gone). */
bool px_http_head_in(struct http_proxy *px);
/* Body bytes while the client has room; 1 ended, 0 not yet, -1 px is gone. */
int px_http_body_in(struct http_proxy *px, bool eof);
bool px_is_idempotent(enum http_method m);
bool px_wants_websocket(const struct http_request *r);
/* The client's Host, or our address in BUF when it sent none (HTTP/1.0). */
struct http_slice px_host_of(struct http_session *s, char *buf, size_t len);

/* proxy_fcgi.c */
bool px_fcgi_request_head(struct http_proxy *px);
/* One record of type T (STDIN, PARAMS) with LEN bytes of DATA. */
void px_fcgi_record(struct conn *up, enum fcgi_type t, const void *data, size_t len);
/* The buffered body B as STDIN records (B is emptied). */
void px_fcgi_stdin_iobuf(struct conn *up, struct iobuf *b);
/* Records while the client has room; 1 END_REQUEST came, 0 not yet, -1 px is gone. */
int px_fcgi_in(struct http_proxy *px, bool eof);

/* proxy_stream.c */
/* Reads body bytes from the client input: into body_buf (TO_BUF), else to
 * the upstream while its output has room. False: failed (answered). */
bool px_take_body(struct http_proxy *px, bool to_buf);
void px_pump_body(struct http_proxy *px);
/* The client's head: STATUS, the end-to-end FIELDS, our framing. */
void px_client_head(struct http_proxy *px, int status, const struct http_field *fields,
                    unsigned n, bool body, bool has_length, uint64_t length, const char *extra);
/* Body bytes to the client, framed as its head said. */
void px_client_body(struct http_proxy *px, const void *p, size_t n);
/* Up to N body bytes straight from the upstream's input to the client
 * (moved, not copied, when nothing else needs to see them); the count. */
size_t px_client_body_move(struct http_proxy *px, size_t n);
/* The response ended well: close the body, keep or close the upstream conn. */
void px_complete(struct http_proxy *px);
bool px_skip_response_field(const struct http_field *f, bool hop);

/* proxy_cache.c */
/* True when answered from the cache or waiting for another request's fill. */
bool px_cache_lookup(struct http_proxy *px, bool may_wait);
/* The response head is known: whether to store it; its Cache-Status line into CS. */
void px_cache_head(struct http_proxy *px, int status, const struct http_field *fields,
                   unsigned n, bool has_length, uint64_t length, char *cs, size_t cslen);
void px_cache_body(struct http_proxy *px, const void *p, size_t n);
void px_cache_complete(struct http_proxy *px);
/* stale-if-error (RFC 5861 §4): false when no stale entry may stand in. */
bool px_serve_stale(struct http_proxy *px);

#endif
