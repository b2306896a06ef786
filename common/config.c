/*
 * config: loads the one INI file (../shared/interface.md) for one daemon.
 *
 * conf_load() reads [global], the daemon's own section and the named
 * sections ("[site shop]") of the kinds it lists, ignores every other
 * section, and refuses the whole file on the first error, reported as
 * "FILE:LINE: key: message" (or "FILE: key: message" for a key that was not
 * written). The result is immutable and reference counted.
 *
 * inih does the section/key bookkeeping; a reader of our own feeds it one
 * normalised line at a time ("[name]", "key=value" or blank) so that:
 *  - every error names its line (Debian's inih calls the handler without
 *    a line number, and the reader knows which line it handed over);
 *  - the syntax is strict and the same for all three daemons: "key = value",
 *    "[section]", blank, or a comment starting with '#' or ';'; a ';' after
 *    whitespace starts a trailing comment; no "key: value", no continuation
 *    lines, no control characters; a bad line anywhere fails the file;
 *  - a long line is an error rather than silently split by inih's buffer.
 *
 * Not thread-safe: call it from one thread at a time (startup, SIGHUP).
 */
#include "triad/config.h"
#include "triad/limits.h"
#include "triad/strlit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#if INI_HANDLER_LINENO
#error "config.c expects inih's handler without a line number (Debian's build)"
#endif

/* The longest line the reader hands to inih: "name=value\n" plus NUL. */
#define CONF_LINE_MAX (TRIAD_CONF_NAME_MAX + 1 + TRIAD_CONF_VALUE_MAX + 2)

/* ---- [global] ------------------------------------------------------------ */

static int global_check(struct conf *c, char *err, size_t errlen);

static const char *const log_targets[] = {"stderr", "syslog", NULL};
static const char *const log_levels[] = {"error", "warn", "info", "debug", NULL};

#define G(field) offsetof(struct conf_global, field)
static const struct conf_key global_keys[] = {
	{"root", CONF_PATH, G(root), NULL, NULL, 0, 0},
	{"user", CONF_STR, G(user), NULL, NULL, 0, 0},
	{"tls_cert", CONF_PATH, G(tls_cert), NULL, NULL, 0, 0},
	{"tls_key", CONF_PATH, G(tls_key), NULL, NULL, 0, 0},
	{"log", CONF_PATH, G(log), "stderr", log_targets, 0, 0},
	{"log_level", CONF_ENUM, G(log_level), "info", log_levels, 0, 0},
	{"workers", CONF_WORKERS, G(workers), "auto", NULL, 0, 0},
	/* A day bounds what a stuck transfer can hold up a stop or restart. */
	{"shutdown_timeout", CONF_DURATION, G(shutdown_timeout), CONF_DFLT(TRIAD_SHUTDOWN_TIMEOUT_S) "s",
	 NULL, 0, 86400000},
	{"sandbox", CONF_BOOL, G(sandbox), "on", NULL, 0, 0},
};
#undef G

const struct conf_section conf_global_section = {
	.name = "global",
	.keys = global_keys,
	.nkeys = sizeof(global_keys) / sizeof(global_keys[0]),
	.size = sizeof(struct conf_global),
	.check = global_check,
};

/* ---- value parsers ------------------------------------------------------- */

static int vformat_error(const struct conf *c, unsigned line, const char *key, char *err,
                         size_t errlen, const char *fmt, va_list ap)
	__attribute__((format(printf, 6, 0)));

/* "FILE:LINE: key: message", leaving out LINE or key when 0 or NULL. */
static int vformat_error(const struct conf *c, unsigned line, const char *key, char *err,
                         size_t errlen, const char *fmt, va_list ap)
{
	char msg[TRIAD_CONF_VALUE_MAX + 256];

	if (!err || !errlen)
		return -1;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (line && key)
		snprintf(err, errlen, "%s:%u: %s: %s", c->path, line, key, msg);
	else if (line)
		snprintf(err, errlen, "%s:%u: %s", c->path, line, msg);
	else if (key)
		snprintf(err, errlen, "%s: %s: %s", c->path, key, msg);
	else
		snprintf(err, errlen, "%s: %s", c->path, msg);
	return -1;
}


static int fail_msg(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail_msg(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/*
 * Decimal digits at *s (at least one), advancing *s past them. Returns 0,
 * -1 when there is no digit, 1 when the number does not fit (the digits are
 * still consumed, so the caller can tell "too large" from "malformed").
 */
static int parse_digits(const char **s, uint64_t *out)
{
	const char *p = *s;
	uint64_t v = 0;
	int over = 0;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			over = 1;
		else
			v = v * 10 + d;
	}
	*s = p;
	*out = v;
	return over;
}

int conf_parse_size(const char *s, uint64_t *out, char *err, size_t errlen)
{
	const char *p = s;
	uint64_t v;
	unsigned shift = 0;
	int r = parse_digits(&p, &v);

	if (r < 0)
		goto invalid;
	if (*p == 'k' || *p == 'K')
		shift = 10;
	else if (*p == 'm' || *p == 'M')
		shift = 20;
	else if (*p == 'g' || *p == 'G')
		shift = 30;
	if (shift)
		p++;
	if (*p != '\0')
		goto invalid;
	if (r > 0 || v > (UINT64_MAX >> shift))
		return fail_msg(err, errlen, "size '%s' is too large", s);
	*out = v << shift;
	return 0;
invalid:
	return fail_msg(err, errlen, "invalid size '%s' (expected a number with optional K, M or G)",
	                s);
}

int conf_parse_duration(const char *s, uint64_t *ms, char *err, size_t errlen)
{
	const char *p = s;
	uint64_t v, unit;
	int r = parse_digits(&p, &v);

	if (r < 0)
		goto invalid;
	if (strcmp(p, "") == 0 || strcmp(p, "s") == 0)
		unit = 1000;
	else if (strcmp(p, "ms") == 0)
		unit = 1;
	else if (strcmp(p, "m") == 0)
		unit = 60 * 1000;
	else if (strcmp(p, "h") == 0)
		unit = 3600 * 1000;
	else
		goto invalid;
	if (r > 0 || v > UINT64_MAX / unit)
		return fail_msg(err, errlen, "duration '%s' is too large", s);
	*ms = v * unit;
	return 0;
invalid:
	return fail_msg(err, errlen,
	                "invalid duration '%s' (expected a number with optional ms, s, m or h)", s);
}

int conf_parse_bool(const char *s, bool *out, char *err, size_t errlen)
{
	static const char *const yes[] = {"on", "yes", "true", "1"};
	static const char *const no[] = {"off", "no", "false", "0"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return fail_msg(err, errlen,
	                "invalid boolean '%s' (expected on/off, yes/no, true/false or 1/0)", s);
}

/* A port: 1 to 65535 in decimal, nothing else. */
static int parse_port(const char *s, size_t len, uint16_t *out)
{
	unsigned v = 0;

	if (len == 0 || len > 5)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

/*
 * "HOST:PORT", "[IPV6]:PORT" or "*:PORT". Hosts are numeric literals only:
 * a name would need DNS at load time and could bind something else on the
 * next reload. A bare "PORT" is refused because it is unclear whether it
 * means IPv4, IPv6 or both; the error suggests the two spellings.
 */
int conf_parse_addr(const char *s, struct conf_addr *out, char *err, size_t errlen)
{
	const char *host, *port, *colon;
	size_t hostlen;
	bool v6 = false;
	char hbuf[INET6_ADDRSTRLEN + 1], text[INET6_ADDRSTRLEN];
	uint16_t pn;

	memset(out, 0, sizeof(*out));
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':')
			return fail_msg(err, errlen,
			                "invalid address '%s' (expected [IPV6]:PORT)", s);
		host = s + 1;
		hostlen = (size_t)(close - host);
		port = close + 2;
		v6 = true;
	} else {
		colon = strrchr(s, ':');
		if (!colon) {
			if (s[0] && strspn(s, "0123456789") == strlen(s))
				return fail_msg(err, errlen,
				                "invalid address '%s': missing host "
				                "(write 0.0.0.0:%s or [::]:%s)", s, s, s);
			return fail_msg(err, errlen,
			                "invalid address '%s': missing port (expected HOST:PORT)", s);
		}
		if (memchr(s, ':', (size_t)(colon - s)))
			return fail_msg(err, errlen,
			                "invalid address '%s': IPv6 addresses go in brackets, "
			                "as in [::1]:80", s);
		host = s;
		hostlen = (size_t)(colon - s);
		port = colon + 1;
	}
	if (hostlen == 0)
		return fail_msg(err, errlen, "invalid address '%s': missing host", s);
	if (parse_port(port, strlen(port), &pn) < 0)
		return fail_msg(err, errlen, "invalid address '%s': port must be 1 to 65535", s);
	if (hostlen >= sizeof(hbuf))
		goto not_numeric;
	memcpy(hbuf, host, hostlen);
	hbuf[hostlen] = '\0';

	if (v6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;
		if (inet_pton(AF_INET6, hbuf, &sin6->sin6_addr) != 1)
			goto not_numeric;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(pn);
		out->len = sizeof(*sin6);
		inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof(text));
		snprintf(out->text, sizeof(out->text), "[%s]:%u", text, pn);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;
		if (strcmp(hbuf, "*") == 0)
			sin->sin_addr.s_addr = htonl(INADDR_ANY);
		else if (inet_pton(AF_INET, hbuf, &sin->sin_addr) != 1)
			goto not_numeric;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(pn);
		out->len = sizeof(*sin);
		inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text));
		snprintf(out->text, sizeof(out->text), "%s:%u", text, pn);
	}
	return 0;
not_numeric:
	memset(out, 0, sizeof(*out));
	return fail_msg(err, errlen,
	                "invalid address '%s': '%.*s' is not a numeric %s address "
	                "(host names are not resolved when the configuration is loaded)",
	                s, (int)hostlen, host, v6 ? "IPv6" : "IP");
}

static int parse_portrange(const char *s, struct conf_portrange *out, char *err, size_t errlen)
{
	const char *dash = strchr(s, '-');
	uint16_t lo, hi;

	if (!dash || parse_port(s, (size_t)(dash - s), &lo) < 0 ||
	    parse_port(dash + 1, strlen(dash + 1), &hi) < 0 || lo > hi)
		return fail_msg(err, errlen,
		                "invalid port range '%s' (expected LOW-HIGH, "
		                "1 <= LOW <= HIGH <= 65535)", s);
	out->low = lo;
	out->high = hi;
	return 0;
}

static int parse_workers(const char *s, unsigned *out, char *err, size_t errlen)
{
	const char *p = s;
	uint64_t v;

	if (strcmp(s, "auto") == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		if (n < 1)
			n = 1;
		if (n > TRIAD_MAX_WORKERS)
			n = TRIAD_MAX_WORKERS;
		*out = (unsigned)n;
		return 0;
	}
	if (parse_digits(&p, &v) != 0 || *p != '\0' || v < 1 || v > TRIAD_MAX_WORKERS)
		return fail_msg(err, errlen, "invalid workers '%s' (expected auto or 1 to %d)", s,
		                TRIAD_MAX_WORKERS);
	*out = (unsigned)v;
	return 0;
}

static int parse_enum(const char *s, const char *const *choices, int *out, char *err,
                      size_t errlen)
{
	size_t used;

	if (!choices)
		return fail_msg(err, errlen, "key has no choices (a bug in its table)");
	for (int i = 0; choices[i]; i++) {
		if (strcasecmp(s, choices[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	if (!err || !errlen)
		return -1;
	used = (size_t)snprintf(err, errlen, "invalid value '%s' (expected ", s);
	for (int i = 0; choices[i] && used < errlen; i++)
		used += (size_t)snprintf(err + used, errlen - used, "%s%s",
		                         i == 0 ? "" : choices[i + 1] ? ", " : " or ", choices[i]);
	if (used < errlen)
		snprintf(err + used, errlen - used, ")");
	return -1;
}

/* Bounds are printed in the unit the key is written in. */
static void fmt_bound(enum conf_type type, uint64_t v, char *buf, size_t len)
{
	struct unit {
		uint64_t mul;
		const char *suffix;
	};
	static const struct unit sizes[] = {{1u << 30, "G"}, {1u << 20, "M"}, {1u << 10, "K"}};
	static const struct unit times[] = {{3600000, "h"}, {60000, "m"}, {1000, "s"}};
	const struct unit *u = type == CONF_SIZE ? sizes : times;

	if (type == CONF_SIZE || type == CONF_DURATION) {
		for (size_t i = 0; i < 3; i++) {
			if (v && v % u[i].mul == 0) {
				snprintf(buf, len, "%" PRIu64 "%s", v / u[i].mul, u[i].suffix);
				return;
			}
		}
	}
	snprintf(buf, len, "%" PRIu64 "%s", v, type == CONF_DURATION ? "ms" : "");
}

static int check_bounds(const struct conf_key *k, const char *s, uint64_t v, char *err,
                        size_t errlen)
{
	char lo[32], hi[32];

	if (v >= k->min && (k->max == 0 || v <= k->max))
		return 0;
	fmt_bound(k->type, k->min, lo, sizeof(lo));
	fmt_bound(k->type, k->max, hi, sizeof(hi));
	if (k->max == 0)
		return fail_msg(err, errlen, "'%s' is too small (at least %s)", s, lo);
	if (k->min == 0)
		return fail_msg(err, errlen, "'%s' is too large (at most %s)", s, hi);
	return fail_msg(err, errlen, "'%s' is out of range (%s to %s)", s, lo, hi);
}

static bool is_list_sep(char ch)
{
	return ch == ' ' || ch == '\t' || ch == ',';
}

/* Splits S into malloc'd items (spaces and commas separate, empty items skipped). */
static int split_list(const char *s, struct conf_list *out, char *err, size_t errlen)
{
	struct conf_list l = {NULL, 0};

	for (const char *p = s; *p;) {
		size_t n;
		char **v;

		while (is_list_sep(*p))
			p++;
		for (n = 0; p[n] && !is_list_sep(p[n]); n++)
			;
		if (n == 0)
			break;
		if (l.n == TRIAD_CONF_LIST_MAX) {
			fail_msg(err, errlen, "more than %d items", TRIAD_CONF_LIST_MAX);
			goto fail;
		}
		v = realloc(l.v, (l.n + 1) * sizeof(*l.v));
		if (!v)
			goto oom;
		l.v = v;
		if (!(l.v[l.n] = strndup(p, n)))
			goto oom;
		l.n++;
		p += n;
	}
	*out = l;
	return 0;
oom:
	fail_msg(err, errlen, "out of memory");
fail:
	for (size_t i = 0; i < l.n; i++)
		free(l.v[i]);
	free(l.v);
	return -1;
}

static void free_list(struct conf_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Splits S and parses every item with ONE into a calloc'd array of SIZE-byte elements. */
static int parse_items(const char *s, size_t size,
                       int (*one)(const char *item, void *out, char *err, size_t errlen),
                       void **out, size_t *nout, char *err, size_t errlen)
{
	struct conf_list l;
	char *v = NULL;

	if (split_list(s, &l, err, errlen) < 0)
		return -1;
	if (l.n && !(v = calloc(l.n, size))) {
		fail_msg(err, errlen, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < l.n; i++)
		if (one(l.v[i], v + i * size, err, errlen) < 0)
			goto fail;
	*out = v;
	*nout = l.n;
	free_list(&l);
	return 0;
fail:
	free_list(&l);
	free(v);
	return -1;
}

static int parse_addr_item(const char *item, void *out, char *err, size_t errlen)
{
	return conf_parse_addr(item, out, err, errlen);
}

static int parse_net_item(const char *item, void *out, char *err, size_t errlen)
{
	if (net_parse_cidr(item, out) < 0)
		return fail_msg(err, errlen,
		                "'%s' is not an IP address or network (192.0.2.0/24, 2001:db8::/32)",
		                item);
	return 0;
}

static int parse_addrs(const char *s, struct conf_addrs *out, char *err, size_t errlen)
{
	struct conf_addrs a = {NULL, 0};
	void *v;

	if (parse_items(s, sizeof(*a.v), parse_addr_item, &v, &a.n, err, errlen) < 0)
		return -1;
	a.v = v;
	/* Binding the same address twice fails later with a vaguer EADDRINUSE. */
	for (size_t i = 0; i < a.n; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(a.v[j].text, a.v[i].text) == 0) {
				fail_msg(err, errlen, "address '%s' is listed twice", a.v[j].text);
				free(a.v);
				return -1;
			}
	*out = a;
	return 0;
}

static int parse_nets(const char *s, struct conf_nets *out, char *err, size_t errlen)
{
	void *v;

	if (parse_items(s, sizeof(*out->v), parse_net_item, &v, &out->n, err, errlen) < 0)
		return -1;
	out->v = v;
	return 0;
}

/* CONF_PATH words that are not file names; "off" unless the key lists its own. */
static bool is_literal(const char *s, const char *const *words)
{
	static const char *const off[] = {"off", NULL};

	for (words = words ? words : off; *words; words++)
		if (strcmp(s, *words) == 0)
			return true;
	return false;
}

static void free_value(const struct conf_key *k, void *base)
{
	void *slot = (char *)base + k->offset;

	switch (k->type) {
	case CONF_STR:
	case CONF_PATH:
		free(*(char **)slot);
		*(char **)slot = NULL;
		break;
	case CONF_LIST:
		free_list(slot);
		break;
	case CONF_ADDRS:
		free(((struct conf_addrs *)slot)->v);
		((struct conf_addrs *)slot)->v = NULL;
		((struct conf_addrs *)slot)->n = 0;
		break;
	case CONF_NETS:
		free(((struct conf_nets *)slot)->v);
		((struct conf_nets *)slot)->v = NULL;
		((struct conf_nets *)slot)->n = 0;
		break;
	default:
		break;
	}
}

/*
 * Parses S for key K into BASE (the section struct), replacing what was
 * there only on success. DIR resolves relative CONF_PATH values.
 */
static int set_value(const struct conf_key *k, void *base, const char *dir, const char *s,
                     char *err, size_t errlen)
{
	void *slot = (char *)base + k->offset;
	char *str = NULL;
	uint64_t u = 0;

	switch (k->type) {
	case CONF_STR:
	case CONF_PATH:
		/* An empty value means unset, so a default can be switched off. */
		if (*s != '\0') {
			if (k->type == CONF_STR || s[0] == '/' || is_literal(s, k->choices))
				str = strdup(s);
			else if (asprintf(&str, "%s/%s", dir, s) < 0)
				str = NULL;
			if (!str)
				return fail_msg(err, errlen, "out of memory");
		}
		free_value(k, base);
		*(char **)slot = str;
		return 0;
	case CONF_LIST: {
		struct conf_list l;
		if (split_list(s, &l, err, errlen) < 0)
			return -1;
		free_value(k, base);
		*(struct conf_list *)slot = l;
		return 0;
	}
	case CONF_ADDRS: {
		struct conf_addrs a;
		if (parse_addrs(s, &a, err, errlen) < 0)
			return -1;
		free_value(k, base);
		*(struct conf_addrs *)slot = a;
		return 0;
	}
	case CONF_NETS: {
		struct conf_nets n;
		if (parse_nets(s, &n, err, errlen) < 0)
			return -1;
		free_value(k, base);
		*(struct conf_nets *)slot = n;
		return 0;
	}
	case CONF_BOOL:
		return conf_parse_bool(s, slot, err, errlen);
	case CONF_UINT: {
		const char *p = s;
		int r = parse_digits(&p, &u);
		if (r < 0 || *p != '\0')
			return fail_msg(err, errlen, "invalid number '%s' (expected digits)", s);
		if (r > 0)
			return fail_msg(err, errlen, "number '%s' is too large", s);
		break;
	}
	case CONF_SIZE:
		if (conf_parse_size(s, &u, err, errlen) < 0)
			return -1;
		break;
	case CONF_DURATION:
		if (conf_parse_duration(s, &u, err, errlen) < 0)
			return -1;
		break;
	case CONF_ENUM:
		return parse_enum(s, k->choices, slot, err, errlen);
	case CONF_PORTRANGE:
		return parse_portrange(s, slot, err, errlen);
	case CONF_WORKERS:
		return parse_workers(s, slot, err, errlen);
	default:
		return fail_msg(err, errlen, "unsupported key type %d", (int)k->type);
	}
	if (check_bounds(k, s, u, err, errlen) < 0)
		return -1;
	*(uint64_t *)slot = u;
	return 0;
}

/* ---- loading --------------------------------------------------------------- */

/* Where the keys being read go: the reader decides at each header. */
enum load_target { LOAD_NONE, LOAD_GLOBAL, LOAD_OWN, LOAD_ITEM, LOAD_OTHER };

struct load {
	struct conf *c;
	FILE *f;
	char *buf;                   /* the physical line, from getline() */
	size_t cap;
	unsigned lineno;             /* of the line inih is working on */
	bool failed;
	char *err;
	size_t errlen;
	enum load_target target;
	struct conf_items *items;    /* LOAD_ITEM: the kind, its last item is current */
	char header[2 * TRIAD_CONF_NAME_MAX + 4]; /* "[site shop]", for messages */
};

static void load_fail(struct load *ld, unsigned line, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Keeps the first error only: later ones are usually consequences. */
static void load_fail(struct load *ld, unsigned line, const char *key, const char *fmt, ...)
{
	va_list ap;

	if (ld->failed)
		return;
	ld->failed = true;
	va_start(ap, fmt);
	vformat_error(ld->c, line, key, ld->err, ld->errlen, fmt, ap);
	va_end(ap);
}

static bool is_name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_' || ch == '-' || ch == '.';
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* NAME of "[kind NAME]": [a-z0-9_-]{1,32} (interface.md, "Extensions"). */
static bool valid_item_name(const char *s, size_t n)
{
	if (n == 0 || n > TRIAD_CONF_ITEM_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

static int apply_defaults(struct load *ld, const struct conf_key *keys, size_t nkeys,
                          void *base);

static struct conf_items *find_items(const struct conf *c, const struct conf_kind *k)
{
	for (size_t i = 0; i < c->nitems; i++)
		if (c->items[i].kind == k)
			return &c->items[i];
	return NULL;
}

/* Appends one section to IT, with its defaults and NAME. */
static int add_item(struct load *ld, struct conf_items *it, const char *name)
{
	const struct conf_kind *k = it->kind;
	size_t row = 1 + k->nkeys;
	void *base;

	if (it->n == TRIAD_CONF_ITEMS_MAX) {
		load_fail(ld, ld->lineno, NULL, "more than %d [%s] sections", TRIAD_CONF_ITEMS_MAX,
		          k->name);
		return -1;
	}
	if (it->n == it->cap) {
		size_t cap = it->cap ? it->cap * 2 : 8;
		void *v = realloc(it->v, cap * k->size);
		unsigned *lines = v ? realloc(it->lines, cap * row * sizeof(unsigned)) : NULL;
		if (v)
			it->v = v;
		if (!lines) {
			load_fail(ld, ld->lineno, NULL, "out of memory");
			return -1;
		}
		it->lines = lines;
		it->cap = cap;
	}
	base = (char *)it->v + it->n * k->size;
	memset(base, 0, k->size);
	memset(it->lines + it->n * row, 0, row * sizeof(unsigned));
	it->n++;
	if (!(*(char **)((char *)base + k->name_offset) = strdup(name))) {
		load_fail(ld, ld->lineno, NULL, "out of memory");
		return -1;
	}
	it->lines[(it->n - 1) * row] = ld->lineno;
	return apply_defaults(ld, k->keys, k->nkeys, base);
}

/*
 * Every "[kind NAME]" header of the file as "kind NAME", read or not, so a
 * key naming another daemon's section ([site]'s fallback naming an
 * [upstream]) can be checked by every daemon (conf_named()).
 */
static int add_named(struct load *ld, const char *kind, const char *item)
{
	struct conf *c = ld->c;
	char **v;

	if (c->nnamed == c->named_cap) {
		size_t cap = c->named_cap ? 2 * c->named_cap : 16;
		if (!(v = realloc(c->named, cap * sizeof(*v)))) {
			load_fail(ld, ld->lineno, NULL, "out of memory");
			return -1;
		}
		c->named = v;
		c->named_cap = cap;
	}
	if (asprintf(&c->named[c->nnamed], "%s %s", kind, item) < 0) {
		load_fail(ld, ld->lineno, NULL, "out of memory");
		return -1;
	}
	c->nnamed++;
	return 0;
}

static int named_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

bool conf_named(const struct conf *c, const char *kind, const char *name)
{
	char key[2 * TRIAD_CONF_NAME_MAX + 2];
	const char *k = key;

	if (snprintf(key, sizeof(key), "%s %s", kind, name) >= (int)sizeof(key))
		return false;
	return c->nnamed && bsearch(&k, c->named, c->nnamed, sizeof(*c->named), named_cmp);
}

/* A header was read: decide where the keys that follow go. */
static int begin_section(struct load *ld, const char *kind, const char *item)
{
	struct conf *c = ld->c;
	const struct conf_section *own = c->section;
	bool plain = strcmp(kind, conf_global_section.name) == 0 ||
	             (own && strcmp(kind, own->name) == 0);
	struct conf_items *it = NULL;

	if (item)
		snprintf(ld->header, sizeof(ld->header), "[%s %s]", kind, item);
	else
		snprintf(ld->header, sizeof(ld->header), "[%s]", kind);
	for (size_t i = 0; i < c->nitems && !it; i++)
		if (strcmp(c->items[i].kind->name, kind) == 0)
			it = &c->items[i];
	if (plain && item) {
		load_fail(ld, ld->lineno, NULL, "[%s] takes no name", kind);
		return -1;
	}
	if (it && !item) {
		load_fail(ld, ld->lineno, NULL, "[%s] needs a name, as in [%s NAME]", kind, kind);
		return -1;
	}
	if (item && add_named(ld, kind, item) < 0)
		return -1;
	ld->items = it;
	if (it) {
		ld->target = LOAD_ITEM;
		return add_item(ld, it, item);
	}
	if (!plain)
		ld->target = LOAD_OTHER;
	else if (strcmp(kind, conf_global_section.name) == 0)
		ld->target = LOAD_GLOBAL;
	else
		ld->target = LOAD_OWN;
	return 0;
}

/*
 * Normalises one physical line of the file into STR (NUM bytes) for inih,
 * or returns NULL (end of input) at EOF or after the first error.
 */
static char *read_line(char *str, int num, void *stream)
{
	struct load *ld = stream;
	char *p, *end, *name, *value;
	size_t namelen, valuelen;
	ssize_t n;

	if (ld->failed || num < 2)
		return NULL;
	errno = 0;
	n = getline(&ld->buf, &ld->cap, ld->f);
	if (n < 0) {
		if (ferror(ld->f))
			load_fail(ld, 0, NULL, "cannot read: %s", strerror(errno ? errno : EIO));
		return NULL;
	}
	ld->lineno++;
	p = ld->buf;
	end = p + n;
	if (ld->lineno == 1 && n >= 3 && memcmp(p, STRLIT("\xEF\xBB\xBF")) == 0)
		p += 3;
	while (end > p && (end[-1] == '\n' || end[-1] == '\r' || is_blank(end[-1])))
		end--;
	*end = '\0';
	for (char *q = p; q < end; q++) {
		if (((unsigned char)*q < 0x20 && *q != '\t') || *q == 0x7f) {
			load_fail(ld, ld->lineno, NULL, "control character (byte 0x%02x) in line",
			          (unsigned char)*q);
			return NULL;
		}
	}
	while (is_blank(*p))
		p++;

	if (*p == '\0' || *p == '#' || *p == ';') {
		strcpy(str, "\n");
		return str;
	}

	if (*p == '[') {
		char *item = NULL;
		size_t itemlen = 0;

		name = ++p;
		while (is_name_char(*p))
			p++;
		namelen = (size_t)(p - name);
		if (namelen && is_blank(*p)) {
			while (is_blank(*p))
				p++;
			item = p;
			while (is_name_char(*p))
				p++;
			itemlen = (size_t)(p - item);
			while (is_blank(*p))
				p++;
		}
		if (*p != ']' || namelen == 0 || (item && itemlen == 0)) {
			load_fail(ld, ld->lineno, NULL,
			          "invalid section header (expected [name] or [kind NAME] with "
			          "letters, digits, '_', '-' or '.')");
			return NULL;
		}
		for (p++; is_blank(*p); p++)
			;
		if (*p != '\0' && *p != ';' && *p != '#') {
			load_fail(ld, ld->lineno, NULL, "unexpected text after section header");
			return NULL;
		}
		if (namelen > TRIAD_CONF_NAME_MAX || namelen + 4 > (size_t)num) {
			load_fail(ld, ld->lineno, NULL, "section name longer than %d bytes",
			          TRIAD_CONF_NAME_MAX);
			return NULL;
		}
		if (item && !valid_item_name(item, itemlen)) {
			load_fail(ld, ld->lineno, NULL,
			          "invalid section name '%.*s' (expected 1 to %d of a-z, 0-9, "
			          "'_' and '-')",
			          (int)(itemlen > TRIAD_CONF_NAME_MAX ? TRIAD_CONF_NAME_MAX : itemlen),
			          item, TRIAD_CONF_ITEM_NAME_MAX);
			return NULL;
		}
		name[namelen] = '\0';
		if (item)
			item[itemlen] = '\0';
		if (begin_section(ld, name, item) < 0)
			return NULL;
		/* inih only needs to see a header; which section it is, the reader knows. */
		snprintf(str, (size_t)num, "[%s]\n", name);
		return str;
	}

	name = p;
	while (is_name_char(*p))
		p++;
	namelen = (size_t)(p - name);
	while (is_blank(*p))
		p++;
	if (namelen == 0 || *p != '=') {
		load_fail(ld, ld->lineno, NULL,
		          "syntax error (expected 'key = value', '[section]' or a comment)");
		return NULL;
	}
	name[namelen] = '\0';
	if (namelen > TRIAD_CONF_NAME_MAX) {
		load_fail(ld, ld->lineno, NULL, "key name longer than %d bytes",
		          TRIAD_CONF_NAME_MAX);
		return NULL;
	}
	for (value = p + 1; is_blank(*value); value++)
		;
	/*
	 * A ';' after whitespace starts a comment, as in inih and interface.md
	 * ("key = ; comment" is empty). p[-1] is at worst the '='.
	 */
	for (p = value; *p; p++) {
		if (*p == ';' && is_blank(p[-1])) {
			*p = '\0';
			break;
		}
	}
	valuelen = strlen(value);
	while (valuelen && is_blank(value[valuelen - 1]))
		value[--valuelen] = '\0';
	if (valuelen > TRIAD_CONF_VALUE_MAX) {
		load_fail(ld, ld->lineno, name, "value longer than %d bytes", TRIAD_CONF_VALUE_MAX);
		return NULL;
	}
	if (namelen + 1 + valuelen + 2 > (size_t)num) {
		load_fail(ld, ld->lineno, name, "line longer than the INI parser's %d bytes", num);
		return NULL;
	}
	snprintf(str, (size_t)num, "%s=%s\n", name, value);
	return str;
}

static const struct conf_key *find_key_in(const struct conf_key *keys, size_t nkeys,
                                          const char *name, size_t *index)
{
	for (size_t i = 0; i < nkeys; i++) {
		if (strcmp(keys[i].name, name) == 0) {
			*index = i;
			return &keys[i];
		}
	}
	return NULL;
}

static const struct conf_key *find_key(const struct conf_section *sec, const char *name,
                                       size_t *index)
{
	return sec ? find_key_in(sec->keys, sec->nkeys, name, index) : NULL;
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
	struct load *ld = user;
	struct conf *c = ld->c;
	const struct conf_key *keys, *k;
	size_t nkeys;
	void *base;
	unsigned *lines;
	size_t i;
	char msg[TRIAD_CONF_VALUE_MAX + 256];

	if (ld->failed)
		return 0;
	(void)section; /* the reader's target says where the key goes */
	switch (ld->target) {
	case LOAD_NONE:
		load_fail(ld, ld->lineno, name, "set before any [section]");
		return 0;
	case LOAD_GLOBAL:
		keys = conf_global_section.keys;
		nkeys = conf_global_section.nkeys;
		base = &c->g;
		lines = c->lines_g;
		break;
	case LOAD_OWN:
		keys = c->section->keys;
		nkeys = c->section->nkeys;
		base = c->own;
		lines = c->lines_own;
		break;
	case LOAD_ITEM: {
		struct conf_items *it = ld->items;
		keys = it->kind->keys;
		nkeys = it->kind->nkeys;
		base = (char *)it->v + (it->n - 1) * it->kind->size;
		lines = it->lines + (it->n - 1) * (1 + nkeys) + 1;
		break;
	}
	default:
		return 1; /* another daemon's section (or a stray one): not ours to judge */
	}
	if (!(k = find_key_in(keys, nkeys, name, &i))) {
		load_fail(ld, ld->lineno, name, "unknown key in %s", ld->header);
		return 0;
	}
	if (lines[i]) {
		load_fail(ld, ld->lineno, name, "set twice in %s (first at line %u)", ld->header,
		          lines[i]);
		return 0;
	}
	if (set_value(k, base, c->dir, value, msg, sizeof(msg)) < 0) {
		load_fail(ld, ld->lineno, name, "%s", msg);
		return 0;
	}
	lines[i] = ld->lineno;
	return 1;
}

static int apply_defaults(struct load *ld, const struct conf_key *keys, size_t nkeys,
                          void *base)
{
	char msg[TRIAD_CONF_VALUE_MAX + 256];

	for (size_t i = 0; i < nkeys; i++) {
		const struct conf_key *k = &keys[i];
		if (!k->dflt)
			continue;
		if (set_value(k, base, ld->c->dir, k->dflt, msg, sizeof(msg)) < 0) {
			load_fail(ld, 0, k->name, "bad built-in default: %s", msg);
			return -1;
		}
	}
	return 0;
}

/* Two sections of one kind with one NAME: the later header is the error. */
static int check_item_names(struct load *ld)
{
	for (size_t j = 0; j < ld->c->nitems; j++) {
		struct conf_items *it = &ld->c->items[j];
		struct conf_claim *v;
		const struct conf_claim *dup, *first;
		size_t row = 1 + it->kind->nkeys;

		if (it->n < 2)
			continue;
		if (!(v = calloc(it->n, sizeof(*v)))) {
			load_fail(ld, 0, NULL, "out of memory");
			return -1;
		}
		for (size_t i = 0; i < it->n; i++) {
			v[i].text = *(char **)((char *)it->v + i * it->kind->size +
			                       it->kind->name_offset);
			v[i].line = it->lines[i * row];
			v[i].owner = i;
		}
		dup = conf_claims_dup(v, it->n, &first);
		if (dup)
			load_fail(ld, dup->line, NULL, "[%s %s] is already defined at line %u",
			          it->kind->name, dup->text, first->line);
		free(v);
		if (dup)
			return -1;
	}
	return 0;
}

/* The directory of PATH, absolute, so reloads do not depend on the cwd. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *d, *abs;

	if (!slash)
		d = strdup(".");
	else if (slash == path)
		d = strdup("/");
	else
		d = strndup(path, (size_t)(slash - path));
	if (!d)
		return NULL;
	abs = realpath(d, NULL);
	free(d);
	return abs;
}

static void conf_free(struct conf *c)
{
	/* What the server built from this generation goes first: it may point into it. */
	if (c->runtime && c->runtime_free)
		c->runtime_free(c);
	for (size_t i = 0; i < conf_global_section.nkeys; i++)
		free_value(&conf_global_section.keys[i], &c->g);
	if (c->own) {
		for (size_t i = 0; i < c->section->nkeys; i++)
			free_value(&c->section->keys[i], c->own);
		free(c->own);
	}
	for (size_t j = 0; j < c->nitems; j++) {
		struct conf_items *it = &c->items[j];
		for (size_t n = 0; n < it->n; n++) {
			void *base = (char *)it->v + n * it->kind->size;
			for (size_t i = 0; i < it->kind->nkeys; i++)
				free_value(&it->kind->keys[i], base);
			free(*(char **)((char *)base + it->kind->name_offset));
		}
		free(it->v);
		free(it->lines);
	}
	free(c->items);
	for (size_t i = 0; i < c->nnamed; i++)
		free(c->named[i]);
	free(c->named);
	free(c->lines_g);
	free(c->lines_own);
	free(c->path);
	free(c->dir);
	free(c);
}

struct conf *conf_load(const char *path, const struct conf_section *section, char *err,
                       size_t errlen)
{
	struct load ld = {.err = err, .errlen = errlen};
	struct conf *c;
	int r;

	if (err && errlen)
		err[0] = '\0';
	if (!(c = calloc(1, sizeof(*c))) || !(c->path = strdup(path))) {
		free(c);
		fail_msg(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	ld.c = c;
	atomic_init(&c->refs, 1);
	if (section == &conf_global_section)
		section = NULL; /* [global] only */
	c->section = section;
	c->lines_g = calloc(conf_global_section.nkeys, sizeof(unsigned));
	c->lines_own = calloc(section && section->nkeys ? section->nkeys : 1, sizeof(unsigned));
	if (section)
		c->own = calloc(1, section->size ? section->size : 1);
	/* Items come only with a section that has kinds. */
	const struct conf_kind *const *kinds = section ? section->kinds : NULL;
	for (const struct conf_kind *const *k = kinds; k && *k; k++)
		c->nitems++;
	if (c->nitems)
		c->items = calloc(c->nitems, sizeof(*c->items));
	if (!c->lines_g || !c->lines_own || (section && !c->own) || (c->nitems && !c->items)) {
		load_fail(&ld, 0, NULL, "out of memory");
		goto fail;
	}
	for (size_t i = 0; kinds && i < c->nitems; i++)
		c->items[i].kind = kinds[i];
	if (!(ld.f = fopen(path, "re"))) {
		load_fail(&ld, 0, NULL, "cannot open: %s", strerror(errno));
		goto fail;
	}
	if (!(c->dir = dir_of(path))) {
		load_fail(&ld, 0, NULL, "cannot resolve its directory: %s", strerror(errno));
		goto fail;
	}
	if (apply_defaults(&ld, conf_global_section.keys, conf_global_section.nkeys, &c->g) < 0 ||
	    (section && apply_defaults(&ld, section->keys, section->nkeys, c->own) < 0))
		goto fail;

	/* Debian's inih reads into a 200-byte buffer by default; values may be longer. */
	if (ini_max_line < CONF_LINE_MAX)
		ini_max_line = CONF_LINE_MAX;
	r = ini_parse_stream(read_line, &ld, on_key, &ld);
	if (!ld.failed && r == -2)
		load_fail(&ld, 0, NULL, "out of memory");
	else if (!ld.failed && r != 0)
		load_fail(&ld, r > 0 ? (unsigned)r : 0, NULL, "syntax error");
	if (ld.failed || check_item_names(&ld) < 0)
		goto fail;
	if (c->nnamed)
		qsort(c->named, c->nnamed, sizeof(*c->named), named_cmp);

	if (conf_global_section.check(c, err, errlen) < 0)
		goto fail_checked;
	for (size_t i = 0; i < c->nitems; i++)
		if (c->items[i].kind->check && c->items[i].kind->check(c, err, errlen) < 0)
			goto fail_checked;
	if (section && section->check && section->check(c, err, errlen) < 0)
		goto fail_checked;
	fclose(ld.f);
	free(ld.buf);
	return c;
fail:
	/* load_fail() wrote err. */
fail_checked:
	if (ld.f)
		fclose(ld.f);
	free(ld.buf);
	conf_free(c);
	return NULL;
}

static int global_check(struct conf *c, char *err, size_t errlen)
{
	const struct conf_global *g = &c->g;

	if (!g->root)
		return conf_error_at(c, "root", err, errlen,
		                     "not set ([global] must name the shared document root)");
	if (g->user) {
		struct passwd pw, *res = NULL;
		char buf[16384];
		int r = getpwnam_r(g->user, &pw, buf, sizeof(buf), &res);
		if (r != 0)
			return conf_error_at(c, "user", err, errlen, "cannot look up user '%s': %s",
			                     g->user, strerror(r));
		if (!res)
			return conf_error_at(c, "user", err, errlen, "unknown user '%s'", g->user);
	}
	if (g->tls_cert && !g->tls_key)
		return conf_error_at(c, "tls_cert", err, errlen, "set without tls_key");
	if (g->tls_key && !g->tls_cert)
		return conf_error_at(c, "tls_key", err, errlen, "set without tls_cert");
	return 0;
}

/* ---- the loaded object ------------------------------------------------------- */

struct conf *conf_ref(struct conf *c)
{
	if (c)
		atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
	return c;
}

void conf_unref(struct conf *c)
{
	if (c && atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1)
		conf_free(c);
}

unsigned conf_line(const struct conf *c, const char *key)
{
	size_t i;

	if (find_key(c->section, key, &i))
		return c->lines_own[i];
	if (find_key(&conf_global_section, key, &i))
		return c->lines_g[i];
	return 0;
}

int conf_error_at(const struct conf *c, const char *key, char *err, size_t errlen,
                  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vformat_error(c, conf_line(c, key), key, err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- named sections ------------------------------------------------------------ */

size_t conf_count(const struct conf *c, const struct conf_kind *k)
{
	const struct conf_items *it = find_items(c, k);

	return it ? it->n : 0;
}

void *conf_item(const struct conf *c, const struct conf_kind *k, size_t i)
{
	const struct conf_items *it = find_items(c, k);

	return it && i < it->n ? (char *)it->v + i * k->size : NULL;
}

unsigned conf_item_line(const struct conf *c, const struct conf_kind *k, size_t i,
                        const char *key)
{
	const struct conf_items *it = find_items(c, k);
	size_t j;

	if (!it || i >= it->n)
		return 0;
	if (!key)
		return it->lines[i * (1 + k->nkeys)];
	if (!find_key_in(k->keys, k->nkeys, key, &j))
		return 0;
	return it->lines[i * (1 + k->nkeys) + 1 + j];
}

int conf_error_line(const struct conf *c, unsigned line, const char *key, char *err,
                    size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vformat_error(c, line, key, err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

int conf_item_error_at(const struct conf *c, const struct conf_kind *k, size_t i,
                       const char *key, char *err, size_t errlen, const char *fmt, ...)
{
	unsigned line = key ? conf_item_line(c, k, i, key) : 0;
	va_list ap;

	if (!line)
		line = conf_item_line(c, k, i, NULL);
	va_start(ap, fmt);
	vformat_error(c, line, key, err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int claim_cmp(const void *a, const void *b)
{
	const struct conf_claim *x = a, *y = b;
	int r = strcmp(x->text, y->text);

	if (r)
		return r;
	return x->line < y->line ? -1 : x->line > y->line;
}

const struct conf_claim *conf_claims_dup(struct conf_claim *v, size_t n,
                                         const struct conf_claim **first)
{
	const struct conf_claim *best = NULL;
	size_t start = 0;

	if (n < 2)
		return NULL;
	qsort(v, n, sizeof(*v), claim_cmp);
	for (size_t i = 1; i < n; i++) {
		if (strcmp(v[i].text, v[i - 1].text) != 0) {
			start = i;
			continue;
		}
		/* v[start] is the first claim of this text, v[i] a later one. */
		if (!best || v[i].line < best->line) {
			best = &v[i];
			if (first)
				*first = &v[start];
		}
	}
	return best;
}
