/*
 * The HTTP connection: what triad-httpd does with each accepted conn, and
 * the types the httpd files share.
 *
 *   struct http_app      one per configuration generation (prepare/release):
 *                        docroot, limits, header snippets, cache rules, access log
 *   struct http_worker   one per worker thread: the cached Date, libmagic and
 *                        its cache (libmagic handles are not thread-safe), the
 *                        small-file cache (fcache.h), the request pool
 *   struct http_session  one per connection, reused for every request on it;
 *                        the per-request part (struct http_exchange) is reset
 *                        between requests, never freed.
 */
#ifndef HTTPD_SESSION_H
#define HTTPD_SESSION_H

#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "triad/cachectl.h"
#include "triad/fsroot.h"
#include "triad/hostmap.h"
#include "triad/log.h"
#include "triad/metrics.h"
#include "triad/server.h"
#include "triad/site.h"
#include "triad/tls.h"

#include "chunked.h"
#include "conditional.h"
#include "triad/date.h"
#include "fcache.h"
#include "parse.h"
#include "range.h"
#include "upstream.h"

struct httpd_conf;
struct event;
struct conn_file;
struct iobuf;

/* The rule sets a site parsed itself (those it inherits point at [httpd]'s). */
struct http_site_rules {
	char hsts[64]; /* "Strict-Transport-Security: ...\r\n" or "" */
	struct http_cachectl cache;
	struct site_errpages errpages;
	struct http_proxy_conf proxy;
};

/*
 * The per-request settings: [httpd]'s, or a site's with [httpd]'s for what it
 * leaves unset. Kept small (the rule sets by pointer, shared with [httpd]'s
 * when inherited): 10,000 sites are 10,000 of these. What every request
 * reads comes first and fits in one cache line (struct http_site_line), so
 * choosing one of many sites costs one line of it; issue 12.
 */
struct http_site {
	/* read by every request */
	uint64_t gen;                    /* unique per site and generation: keys the file cache */
	const struct http_cachectl *cache;
	struct fsroot docroot;
	bool autoindex, precompressed, redirect_https, canonical, rules_files;
	const char *hsts;                /* "Strict-Transport-Security: ...\r\n" or "" */
	/* the rest */
	const char *name;                /* NULL: no site matched ([httpd]) */
	const struct conf_list *hosts;   /* the site's hosts; hosts->v[0] is canonical */
	const struct conf_list *index;
	const struct conf_list *try_extensions;
	const struct site_errpages *errpages;
	const struct http_proxy_conf *proxy; /* proxy rules and fallback (into http_app.pools) */
	struct http_site_rules *own;     /* what the site set itself (NULL: all inherited) */
	SSL_CTX *tls;                    /* the site's own certificate (shared, not owned), or NULL */
	_Atomic uint64_t rules_read[2];  /* _redirects, _headers: the version logged (rulesfile.c) */
};

/* A site starting on a cache line (http_app.sites is allocated line-aligned). */
struct http_site_line {
	_Alignas(64) struct http_site site;
};

struct http_app {
	struct http_site base;           /* [httpd] */
	struct http_site_line *sites;    /* one per [site NAME], in file order */
	size_t nsites;
	struct hostmap hosts;            /* host -> index into sites */
	SSL_CTX **ctxs;                  /* one per distinct site certificate (owned) */
	size_t nctxs;
	struct tls_sni sni;
	const struct httpd_conf *h;
	struct http_limits lim;
	struct log_file *alog; /* NULL: access_log = off (process-wide, see accesslog.c) */
	char server[40];       /* "Server: triad/0.1.0\r\n" or "" */
	char https_port[8];    /* ":8443" or "" (443) for redirect_https */
	struct http_pool *pools; /* [upstream NAME] sections, resolved */
	size_t npools;
	bool proxy_any;               /* some site (or [httpd]) has proxy rules or a fallback */
	struct http_rcache *rcache;   /* cache > 0: the response cache (rcache.h) */
};

struct http_sniff_entry {
	dev_t dev;
	ino_t ino;
	struct timespec mtime;
	off_t size;
	uint64_t used;
	char type[96];
};

struct http_worker {
	int64_t date_sec;
	char date[DATE_HTTP_LEN + 1]; /* IMF-fixdate of date_sec */
	char clf[32];                 /* "26/Nov/2026:11:06:58 +0000" of date_sec */
	void *magic;                  /* magic_t, opened on first use */
	bool magic_failed;
	uint64_t sniff_clock;
	struct http_sniff_entry sniff[HTTP_SNIFF_CACHE];
	uint64_t rng; /* multipart boundaries */
	struct http_txn *free_txn;
	unsigned nfree;
	struct http_fset *fcache;     /* HTTP_FCACHE_SETS lines, made by the first put (fcache.c) */
	uint64_t fcache_clock;        /* bumped per use: least recently used goes first */
	size_t fcache_bytes;          /* held by fcache, at most HTTP_FCACHE_BYTES */
	struct http_fwatch *fwatch;   /* inotify for cached files; NULL: fstatat per iteration */
	uint64_t fcache_revalidations; /* fstatat of a cached entry's path (tests count them) */
	struct http_idle_list *idle; /* idle upstream connections per pool (proxy_pool.c) */
	unsigned nidle;
	struct http_idle *idle_spare;  /* entries of conns no longer idle, for reuse */
	struct http_proxy *px_spare;   /* ended exchanges' state, for reuse (proxy.c) */
	unsigned npx_spare;
	struct {                       /* FastCGI's DOCUMENT_ROOT per site generation */
		uint64_t gen;
		char *path;
	} docroot_memo[HTTP_PROXY_DOCROOT_MEMO]; /* (proxy_route.c) */
	struct http_rules_cache *rules; /* _redirects/_headers per site (rulesfile.c) */
	/* Scratch for the path of the request being answered: responses are built
	 * synchronously on the worker's thread, so one buffer serves them all. */
	char path[PATH_MAX];
};

enum http_state {
	HTTP_ST_IDLE,  /* keep-alive: no byte of the next request yet */
	HTTP_ST_HEAD,  /* reading a request head (header_timeout runs) */
	HTTP_ST_BODY,  /* reading and discarding a request body */
	HTTP_ST_SEND,  /* producing a response body (TLS, or output full) */
	HTTP_ST_DRAIN, /* response queued; output above the high watermark */
	HTTP_ST_PROXY, /* proxy.c forwards this request and its response */
	HTTP_ST_CLOSED,
};

enum http_body_kind { HTTP_BODY_OUT_NONE, HTTP_BODY_OUT_FILE };

/* What is being answered: reset for every request. */
struct http_exchange {
	int status;
	bool close;        /* Connection: close after this response */
	bool head_only;    /* HEAD (or 304): headers only */
	uint64_t body_len; /* Content-Length */
	uint64_t sent;     /* body bytes queued so far (access log) */
	struct timespec start;
	/* file body */
	int fd;                  /* until the body starts: then file owns it */
	struct http_fentry *mem; /* the body from the file cache (a reference), else fd */
	struct conn_file *file;
	uint64_t size; /* of the file */
	struct http_range ranges[HTTP_RANGES_MAX];
	unsigned nranges, ri; /* ranges to send, the one in progress */
	bool part_started;
	uint64_t off, left; /* within ranges[ri] */
	bool multipart, trailer_done;
	char boundary[24];
	char ctype[112]; /* Content-Type of the file (multipart parts) */
	int route_status; /* proxy routing decided this status (404): answered locally */
	enum http_body_kind body;
	bool parsed; /* the head parsed: req's slices are valid */
	/* access log: "request line" already escaped */
	char logreq[1024];
	/* _headers lines for this request's path ("Name: value\r\n"...), reset per request */
	char rule_headers[HTTP_RULE_HEADERS_MAX];
};

/* One request's state, from its first byte to its response being queued. Pooled
 * per worker, so an idle keep-alive connection holds only its struct http_session. */
struct http_txn {
	struct http_request req;
	struct http_exchange x;
	char *head; /* the parsed head, copied out of the input */
	size_t head_cap;
	struct http_txn *next; /* the worker's free list */
};

struct http_session {
	struct conn *c;
	struct http_app *app;
	const struct http_site *site; /* of the current request; app->base between requests */
	struct http_worker *w;
	enum http_state st;
	bool park_due;       /* IDLE: the timer first fires to park the conn */
	bool shutdown;       /* SIGTERM: close once this response is queued */
	struct event *timer; /* header / keep-alive / body deadline */
	uint64_t deadline;   /* when the current state times out (monotonic ms), 0: never */
	uint64_t armed_at;   /* when the timer fires (monotonic ms), 0: not armed */
	struct http_parser parser;
	struct http_txn *t; /* NULL while idle */
	uint64_t body_left; /* HTTP_BODY_LENGTH: bytes still to discard */
	struct http_chunked chunked;
	char *path; /* "/" + the normalised path: the worker's scratch (w->path) */
	size_t path_len;
	struct http_proxy *px; /* HTTP_ST_PROXY: the exchange with the upstream */
	bool proxy_body;       /* HTTP_ST_PROXY: the request body is still coming */
	bool in_process;       /* process() is on the stack */
};

/* ---- session.c, for proxy.c ----------------------------------------------- */
/* The request goes to a pool: HTTP_ST_PROXY; BODY: a request body follows. */
void http_session_enter_proxy(struct http_session *s, bool body);
/* (Re)arms the body timer while the request body comes, or stops it. */
void http_session_proxy_timer(struct http_session *s, bool body);
/* The proxied response is queued (or the client conn must close). */
void http_session_proxied(struct http_session *s);

int http_prepare(struct conf *c, struct server_runtime *rt, char *err, size_t errlen);
void http_release(struct server_runtime *rt);
void http_accept(struct conn *c, int tag);
void http_worker_init(struct worker *w);
void http_worker_fini(struct worker *w);

/* ---- respond.c: one request -> one response head (+ body plan) ---------- */
void http_respond(struct http_session *s);
/* An error page (STATUS) for the current request; CLOSE: then close. */
void http_respond_error(struct http_session *s, int status, bool close);
/* Queues body bytes until done (true) or the output is full (false). */
bool http_body_pump(struct http_session *s);
/* Bytes of the multipart/byteranges body for x->ranges. */
uint64_t http_multipart_length(struct http_exchange *x);
/* Releases the file of the current exchange. */
void http_exchange_reset(struct http_session *s);

/* ---- head.c: response head builder -------------------------------------- */
struct http_head {
	char *p;
	size_t len, cap;
	bool overflow;
};
void http_head_add(struct http_head *h, const char *s, size_t n);
void http_head_str(struct http_head *h, const char *s);
void http_head_u64(struct http_head *h, uint64_t v);
/* Status line plus Date, Server, and Connection per the exchange. */
void http_head_start(struct http_session *s, struct http_head *h, int status);
/* Connection, nosniff, HSTS, the blank line; then queues it on the conn. */
void http_head_finish(struct http_session *s, struct http_head *h);
/* http_head_finish in two steps, for a head whose last fields and blank line
 * follow as a separate piece (a cache hit's prebuilt fields and body):
 * Connection, nosniff, HSTS and the rules' fields; then queues H as it is. */
void http_head_session_fields(struct http_session *s, struct http_head *h);
void http_head_send(struct http_session *s, struct http_head *h);
const char *http_worker_date(struct http_worker *w, struct conn *c);

/* ---- file.c, autoindex.c, sniff.c, precompressed.c ----------------------- */
/* Opens PATH beneath docroot like fsroot_openat(), but -ENOENT when a
 * symbolic link on the way resolves to a dot file or dot directory. */
int http_open_visible(struct http_session *s, const char *path, size_t len, int flags);
/* Serves the normalised s->path (GET/HEAD). */
void http_serve_path(struct http_session *s, bool trailing_slash);
/* The listing of directory DIRFD (s->path; DIRFD is consumed) into a new
 * *BODY (the caller's); 0, or a status and no body. *CTYPE: text/html or
 * application/json (?format=json). */
int http_autoindex(struct http_session *s, int dirfd, struct iobuf **body, const char **ctype);
/* The value of KEY in the query Q ("a=1&key=v&..."; the first one, raw, not
 * percent-decoded): *V, *VLEN. false when Q has no KEY=. */
bool http_query_param(const struct http_slice *q, const char *key, const char **v, size_t *vlen);
/* Sends a complete response with BODY (moved) or a page for an error status. */
void http_respond_body(struct http_session *s, int status, const char *ctype, struct iobuf *body,
                       const char *extra);
void http_respond_status(struct http_session *s, int status, const char *extra);
/* 301 to SCHEME_HOST + the path + the request's query. NORMALIZED: the path is
 * s->path (percent-encoded) plus "/" (a directory); else the raw request path. */
void http_redirect(struct http_session *s, const char *scheme_host, bool normalized);
/* libmagic type of FD (cached by dev, inode, mtime, size); a fallback on failure. */
const char *http_sniff(struct http_worker *w, int fd, const struct stat *st);

/* ---- site.c: sites of a generation, the choice per request ----------------- */
/* Builds app->base from [httpd] and one http_site per [site NAME]; -1 and err. */
int http_sites_build(struct conf *c, struct server_runtime *rt, struct http_app *app, char *err,
                     size_t errlen);
void http_sites_free(struct http_app *app);
/*
 * Chooses s->site by the request's Host (and the SNI of a TLS connection).
 * Returns 0, or 421 when SNI chose a site that Host does not name.
 */
int http_site_choose(struct http_session *s);
/* canonical = on and Host is another of the site's names: 301 sent, true. */
bool http_site_canonical(struct http_session *s);
/* Whether the chosen site is canonical and the request's Host is not its first
 * host (http_site_canonical() would redirect): proxy.c leaves such requests to it. */
bool http_site_noncanonical(const struct http_session *s);

/* ---- rulesfile.c: _redirects and _headers of a site (rules_files = on) -------- */
/* Answers the request from the site's rules (true), or leaves it to the files (false).
 * Also fills x.rule_headers. TRAILING_SLASH: the request path ended in '/'. */
bool http_rules_answer(struct http_session *s, bool trailing_slash);
void http_rules_cache_free(struct http_worker *w);
/*
 * The whole regular file PATH (below ROOT, no leading '/') of at most MAX
 * bytes, in a malloc'd buffer of *SIZE bytes; NULL with *ERR an errno
 * (EFBIG: larger than MAX; EINVAL: not a regular file; 0: out of memory).
 */
char *http_read_small(const struct fsroot *root, const char *path, size_t max, size_t *size,
                      int *err);
/* Sends PAGE (below the site's docroot) as the body of STATUS; false: not usable (logged). */
bool http_respond_page(struct http_session *s, int status, const char *page, const char *extra);

/* ---- accesslog.c --------------------------------------------------------- */
/* Opens (or reopens, on reload) the process-wide access log PATH; NULL for off. */
struct log_file *http_accesslog_open(const char *path, char *err, size_t errlen);
/* Remembers the request line of the current exchange (escaped). */
void http_accesslog_request(struct http_session *s, const char *line, size_t len);
/* A response is done (sent, or cut short): the metrics, then one Combined
 * Log Format line for the exchange. */
void http_request_done(struct http_session *s);
/* httpd's metric families (server_ops.metrics), METRIC_COMMON + these. */
enum { HTTP_METRIC_REQUESTS, HTTP_METRIC_DURATION, HTTP_METRICS };
extern const struct metric_family http_metrics[HTTP_METRICS];

#endif
