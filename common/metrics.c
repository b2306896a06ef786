/*
 * metrics: per-worker counters summed on scrape, and the GET /metrics
 * endpoint (see metrics.h). Text format 0.0.4 as Prometheus documents it:
 * "# HELP", "# TYPE", one sample per line, histograms as cumulative
 * _bucket{le=...} samples ending with le="+Inf", then _sum and _count.
 */
#include "triad/metrics.h"
#include "triad/conn.h"
#include "triad/limits.h"
#include "triad/log.h"
#include "triad/server.h"
#include "triad/strlit.h"

#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const refused_values[] = {"max_connections", "max_connections_per_ip"};

static const struct metric_family common[METRIC_COMMON] = {
    [METRIC_ACCEPTED] = {"connections_accepted_total",
                         "Connections accepted on the protocol listeners (refused ones included).",
                         METRIC_COUNTER, NULL, NULL, 1, NULL, 0},
    [METRIC_ACTIVE] = {"connections_active",
                       "Connections open now that count toward the connection limits.",
                       METRIC_GAUGE, NULL, NULL, 1, NULL, 0},
    [METRIC_REFUSED] = {"connections_refused_total",
                        "Connections refused over a connection limit, by limit.",
                        METRIC_COUNTER, "limit", refused_values, 2, NULL, 0},
    [METRIC_TLS_HANDSHAKES] = {"tls_handshakes_total",
                               "TLS handshakes completed as a server, counted when the connection closes.",
                               METRIC_COUNTER, NULL, NULL, 1, NULL, 0},
    [METRIC_BYTES_IN] = {"bytes_received_total",
                         "TCP payload bytes read from every connection's socket (TLS records "
                         "included); a TLS connection's counted when it closes.",
                         METRIC_COUNTER, NULL, NULL, 1, NULL, 0},
    [METRIC_BYTES_OUT] = {"bytes_sent_total",
                          "TCP payload bytes written to every connection's socket (TLS records "
                          "included); a TLS connection's counted when it closes.",
                          METRIC_COUNTER, NULL, NULL, 1, NULL, 0},
    [METRIC_PARKED] = {"connections_parked",
                       "Idle keep-alive connections held now as compact parked records.",
                       METRIC_GAUGE, NULL, NULL, 1, NULL, 0},
};

static const char *daemon_name;
static const struct metric_family *families[METRIC_COMMON + TRIAD_METRICS_FAMILIES_MAX];
static size_t nfamilies;
static size_t offsets[METRIC_COMMON + TRIAD_METRICS_FAMILIES_MAX]; /* first slot of each family */
static size_t nslots;
static _Atomic uint64_t **slots;           /* [worker][slot] */
static unsigned nworkers;

/* Slots of one series: a counter or gauge 1; a histogram one per bucket,
 * one for +Inf and one for the sum in microseconds. */
static size_t series_slots(const struct metric_family *f)
{
	return f->type == METRIC_HISTOGRAM ? f->nbounds + 2 : 1;
}

int metrics_init(const char *name, const struct metric_family *own, size_t nown,
                 unsigned workers)
{
	if (nown > sizeof(families) / sizeof(families[0]) - METRIC_COMMON) /* no wrap */
		return -1;
	daemon_name = name;
	nfamilies = 0;
	nslots = 0;
	for (size_t i = 0; i < METRIC_COMMON + nown; i++) {
		const struct metric_family *f = i < METRIC_COMMON ? &common[i] : &own[i - METRIC_COMMON];
		families[nfamilies] = f;
		offsets[nfamilies++] = nslots;
		nslots += (size_t)f->nvalues * series_slots(f);
	}
	slots = calloc(workers, sizeof(*slots));
	if (!slots)
		return -1;
	nworkers = workers;
	for (unsigned w = 0; w < workers; w++)
		if (!(slots[w] = calloc(nslots, sizeof(**slots)))) {
			metrics_fini();
			return -1;
		}
	return 0;
}

void metrics_fini(void)
{
	for (unsigned w = 0; slots && w < nworkers; w++)
		free(slots[w]);
	free(slots);
	slots = NULL;
	nworkers = 0;
}

/* The owning thread is the only writer: a relaxed load and store is an
 * ordinary add, and a scrape on another thread never reads a torn value. */
static void bump(_Atomic uint64_t *s, uint64_t n)
{
	atomic_store_explicit(s, atomic_load_explicit(s, memory_order_relaxed) + n,
	                      memory_order_relaxed);
}

static _Atomic uint64_t *series(const struct worker *w, unsigned family, unsigned value)
{
	if (!slots || !w || w->index >= nworkers || family >= nfamilies ||
	    value >= families[family]->nvalues)
		return NULL;
	return &slots[w->index][offsets[family] + value * series_slots(families[family])];
}

void metrics_add(const struct worker *w, unsigned family, unsigned value, uint64_t n)
{
	_Atomic uint64_t *s = series(w, family, value);
	if (s)
		bump(s, n);
}

void metrics_observe(const struct worker *w, unsigned family, unsigned value, double seconds)
{
	_Atomic uint64_t *s = series(w, family, value);
	if (!s || families[family]->type != METRIC_HISTOGRAM)
		return;
	const struct metric_family *f = families[family];
	unsigned b = 0;
	while (b < f->nbounds && seconds > f->bounds[b])
		b++;
	bump(&s[b], 1); /* b == nbounds: only +Inf holds it */
	bump(&s[f->nbounds + 1], seconds > 0 ? (uint64_t)(seconds * 1e6 + 0.5) : 0);
}

static const struct conn_ops scrape_ops;

/* Scrapes are not the daemon's traffic, and a unix socket (a FastCGI
 * upstream) carries no TCP payload. */
static bool counts_bytes(const struct conn *c)
{
	return slots && c->worker && c->ops != &scrape_ops && c->peer.sa.sa_family != AF_UNIX;
}

void metrics_conn_io(const struct conn *c, uint64_t in, uint64_t out)
{
	if (!counts_bytes(c))
		return;
	if (in)
		metrics_add(c->worker, METRIC_BYTES_IN, 0, in);
	if (out)
		metrics_add(c->worker, METRIC_BYTES_OUT, 0, out);
}

void metrics_conn_closed(const struct conn *c, bool tls_done, uint64_t tls_in, uint64_t tls_out)
{
	if (!counts_bytes(c))
		return;
	if (tls_done)
		metrics_add(c->worker, METRIC_TLS_HANDSHAKES, 0, 1);
	metrics_conn_io(c, tls_in, tls_out);
}

/* ---- exposition ------------------------------------------------------------ */

struct text {
	char *p;
	size_t len, cap;
	bool failed;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct text *t, const char *fmt, ...)
{
	for (;;) {
		if (t->failed)
			return;
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->failed = true;
			return;
		}
		if ((size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		size_t cap = t->cap * 2 + (size_t)n;
		char *p = realloc(t->p, cap);
		if (!p) {
			t->failed = true;
			return;
		}
		t->p = p;
		t->cap = cap;
	}
}

static uint64_t sum_slot(size_t slot)
{
	uint64_t v = 0;
	for (unsigned w = 0; w < nworkers; w++)
		v += atomic_load_explicit(&slots[w][slot], memory_order_relaxed);
	return v;
}

/* `{label="value"` without the closing brace, or "" */
static void labels(char *buf, size_t len, const struct metric_family *f, unsigned v)
{
	if (!f->label)
		buf[0] = '\0';
	else if (f->values)
		snprintf(buf, len, "{%s=\"%s\"", f->label, f->values[v]);
	else
		snprintf(buf, len, "{%s=\"%u\"", f->label, v);
}

static void render_family(struct text *t, size_t i)
{
	const struct metric_family *f = families[i];
	static const char *const types[] = {"counter", "gauge", "histogram"};
	put(t, "# HELP triad_%s_%s %s\n# TYPE triad_%s_%s %s\n", daemon_name, f->name, f->help,
	    daemon_name, f->name, types[f->type]);
	if (i == METRIC_ACTIVE) {
		put(t, "triad_%s_%s %u\n", daemon_name, f->name, conn_count());
		return;
	}
	if (i == METRIC_PARKED) {
		put(t, "triad_%s_%s %llu\n", daemon_name, f->name,
		    (unsigned long long)conn_parked_count());
		return;
	}
	size_t per = series_slots(f);
	for (unsigned v = 0; v < f->nvalues; v++) {
		size_t base = offsets[i] + v * per;
		char lab[96];
		labels(lab, sizeof(lab), f, v);
		if (f->type != METRIC_HISTOGRAM) {
			uint64_t n = sum_slot(base);
			if (!f->values && f->label && n == 0)
				continue; /* numeric labels: only the values seen */
			put(t, "triad_%s_%s%s%s %llu\n", daemon_name, f->name, lab, lab[0] ? "}" : "",
			    (unsigned long long)n);
			continue;
		}
		uint64_t cum = 0;
		for (unsigned b = 0; b <= f->nbounds; b++) {
			cum += sum_slot(base + b);
			char le[32], blab[160];
			if (b < f->nbounds)
				snprintf(le, sizeof(le), "%g", f->bounds[b]);
			else
				snprintf(le, sizeof(le), "+Inf");
			if (lab[0])
				snprintf(blab, sizeof(blab), "%s,le=\"%s\"}", lab, le);
			else
				snprintf(blab, sizeof(blab), "{le=\"%s\"}", le);
			put(t, "triad_%s_%s_bucket%s %llu\n", daemon_name, f->name, blab,
			    (unsigned long long)cum);
		}
		uint64_t us = sum_slot(base + f->nbounds + 1);
		put(t, "triad_%s_%s_sum%s%s %llu.%06llu\n", daemon_name, f->name, lab,
		    lab[0] ? "}" : "", (unsigned long long)(us / 1000000),
		    (unsigned long long)(us % 1000000));
		put(t, "triad_%s_%s_count%s%s %llu\n", daemon_name, f->name, lab, lab[0] ? "}" : "",
		    (unsigned long long)cum);
	}
}

char *metrics_render(size_t *len)
{
	struct text t = {malloc(4096), 0, 4096, false};
	if (!t.p || !slots) {
		free(t.p);
		return NULL;
	}
	for (size_t i = 0; i < nfamilies; i++)
		render_family(&t, i);
	if (t.failed) {
		free(t.p);
		return NULL;
	}
	*len = t.len;
	return t.p;
}

/* ---- the endpoint ---------------------------------------------------------- */

/* One request per connection: the head is read line by line (CRLF), at most
 * TRIAD_METRICS_HEAD_LINES lines of TRIAD_METRICS_LINE_MAX bytes, then answered
 * and closed. */

struct scrape {
	char request[TRIAD_METRICS_LINE_MAX];
	unsigned lines;
};

static void respond(struct conn *c, int code, const char *reason, const char *extra,
                    const char *body, size_t len)
{
	conn_printf(c,
	            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
	            "Connection: close\r\n\r\n",
	            code, reason,
	            code == 200 ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain", len,
	            extra);
	conn_write(c, body, len);
	conn_close(c);
}

static void answer(struct conn *c, const char *req)
{
	const char *sp = strchr(req, ' ');
	const char *sp2 = sp ? strchr(sp + 1, ' ') : NULL;
	if (!sp || !sp2 || strncmp(sp2 + 1, STRLIT("HTTP/1.")) != 0 || sp2[8] == '\0' || sp2[9] != '\0') {
		respond(c, 400, "Bad Request", "", STRLIT("bad request\n"));
		return;
	}
	size_t plen = (size_t)(sp2 - sp - 1);
	const char *path = sp + 1;
	bool metrics = (plen == 8 && memcmp(path, STRLIT("/metrics")) == 0) ||
	               (plen > 8 && memcmp(path, STRLIT("/metrics?")) == 0);
	if (!metrics) {
		respond(c, 404, "Not Found", "", STRLIT("not found: GET /metrics\n"));
		return;
	}
	if ((size_t)(sp - req) != 3 || memcmp(req, STRLIT("GET")) != 0) {
		respond(c, 405, "Method Not Allowed", "Allow: GET\r\n", STRLIT("method not allowed\n"));
		return;
	}
	size_t len = 0;
	char *text = metrics_render(&len);
	if (!text) {
		respond(c, 500, "Internal Server Error", "", STRLIT("out of memory\n"));
		return;
	}
	respond(c, 200, "OK", "", text, len);
	free(text);
}

static void scrape_read(struct conn *c)
{
	struct scrape *s = c->proto;
	char line[TRIAD_METRICS_LINE_MAX];
	size_t len;
	for (;;) {
		enum conn_line r = conn_read_line(c, CONN_EOL_CRLF, line, sizeof(line), &len);
		if (r == CONN_LINE_AGAIN)
			return;
		if (r == CONN_LINE_TOO_LONG || strlen(line) != len ||
		    ++s->lines > TRIAD_METRICS_HEAD_LINES) {
			respond(c, 400, "Bad Request", "", STRLIT("bad request\n"));
			return;
		}
		if (s->lines == 1) {
			memcpy(s->request, line, len + 1);
			continue;
		}
		if (len == 0) {
			answer(c, s->request);
			return;
		}
	}
}

static void scrape_free(struct conn *c)
{
	free(c->proto);
	c->proto = NULL;
}

static const struct conn_ops scrape_ops = {.on_read = scrape_read, .on_free = scrape_free};

void metrics_accept(struct worker *w, int fd, const struct sockaddr *peer, socklen_t peer_len)
{
	struct conn *c = conn_new(w, fd, peer, peer_len, NULL, false);
	if (!c)
		return;
	c->proto = calloc(1, sizeof(struct scrape));
	if (!c->proto) {
		conn_abort(c);
		return;
	}
	c->ops = &scrape_ops;
	conn_set_timeouts(c, TRIAD_METRICS_TIMEOUT_MS, TRIAD_METRICS_TIMEOUT_MS);
}
