/*
 * config: the one INI file of ../shared/interface.md, read with inih.
 *
 * A daemon describes its own section with a table of struct conf_key
 * (name, type, offset into its section struct, default). conf_load() fills
 * [global] and that section, ignores the other daemons' sections, rejects
 * unknown keys, and reports every error as "FILE:LINE: key: message".
 * A loaded struct conf is immutable and reference counted: connections keep
 * the generation they started with while SIGHUP installs a new one.
 *
 * Named sections ("[site shop]", "[upstream app]"): a daemon lists the kinds
 * it reads in its conf_section; every "[KIND NAME]" of such a kind becomes
 * one struct of the kind's schema in an array (in file order), with its own
 * defaults, lines and "set twice" checks. NAME is [a-z0-9_-]{1,32}; a NAME
 * used twice for one kind is an error naming the later header.
 */
#ifndef TRIAD_CONFIG_H
#define TRIAD_CONFIG_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <sys/socket.h>
#include "triad/net.h"

struct conf;

enum conf_type {
	CONF_STR,       /* char *: any string (NULL when unset or empty) */
	CONF_PATH,      /* char *: relative paths resolved against the config file's directory;
	                   the words in choices (NULL: just "off") are kept as written */
	CONF_LIST,      /* struct conf_list: items separated by spaces or commas */
	CONF_ADDRS,     /* struct conf_addrs: host:port list, [v6]:port, '*' = 0.0.0.0 */
	CONF_BOOL,      /* bool: on/off yes/no true/false 1/0 */
	CONF_UINT,      /* uint64_t: decimal, within [min, max] */
	CONF_SIZE,      /* uint64_t bytes: optional K/M/G suffix (powers of 1024) */
	CONF_DURATION,  /* uint64_t milliseconds: optional ms/s/m/h suffix (bare = seconds) */
	CONF_ENUM,      /* int: index into choices */
	CONF_PORTRANGE, /* struct conf_portrange: "LOW-HIGH" */
	CONF_WORKERS,   /* unsigned: "auto" (= online CPUs) or 1..TRIAD_MAX_WORKERS */
	CONF_NETS,      /* struct conf_nets: IPv4/IPv6 addresses and CIDR networks */
};

struct conf_list {
	char **v;
	size_t n;
};

struct conf_addr {
	struct sockaddr_storage ss;
	socklen_t len;
	char text[64]; /* as written by the user, normalised: "127.0.0.1:80", "[::1]:80" */
};

struct conf_addrs {
	struct conf_addr *v;
	size_t n;
};

struct conf_nets {
	struct net_cidr *v;
	size_t n;
};

/*
 * The operations keys every daemon section has (interface.md "Operations"):
 * one struct embedded in each section struct, its rows from one macro.
 */
struct conf_operations {
	struct conf_nets proxy_protocol; /* sources that must send a PROXY header */
	struct conf_nets limits_exempt;  /* sources max_connections_per_ip skips */
	struct conf_addrs metrics;       /* Prometheus listeners (GET /metrics) */
};
/* BASE: the offset of the struct conf_operations in the section struct. */
#define CONF_OPERATIONS_KEYS(base)                                                            \
	{"proxy_protocol", CONF_NETS, (base) + offsetof(struct conf_operations, proxy_protocol),  \
	 "", NULL, 0, 0},                                                                        \
	{"limits_exempt", CONF_NETS, (base) + offsetof(struct conf_operations, limits_exempt),    \
	 TRIAD_LIMITS_EXEMPT_DEFAULT, NULL, 0, 0},                                               \
	{"metrics", CONF_ADDRS, (base) + offsetof(struct conf_operations, metrics), "", NULL, 0, 0}

struct conf_portrange {
	uint16_t low, high;
};

struct conf_key {
	const char *name;
	enum conf_type type;
	size_t offset;               /* of the value inside the section struct */
	const char *dflt;            /* parsed as if written in the file; NULL: unset */
	const char *const *choices;  /* NULL-terminated: CONF_ENUM names; CONF_PATH literal words */
	uint64_t min, max;           /* CONF_UINT/SIZE/DURATION bounds; max 0: none */
};

/*
 * A schema default from limits.h: CONF_DFLT(N) is the text of the integer
 * literal N, followed where needed by the unit the constant is named for:
 * CONF_DFLT(HTTP_REQUEST_LINE_KIB) "K", CONF_DFLT(FTP_IDLE_TIMEOUT_MIN) "m".
 * The default and the bound are then one number, and the table still reads
 * (and docs still state) "8K" and "5m".
 */
#define CONF_DFLT(n) CONF_DFLT_(n)
#define CONF_DFLT_(n) #n

/* A kind of named section, "[KIND NAME]", parsed through its own schema. */
struct conf_kind {
	const char *name;            /* "site" */
	const struct conf_key *keys;
	size_t nkeys;
	size_t size;                 /* sizeof the per-section struct */
	size_t name_offset;          /* of the char * that receives NAME */
	/*
	 * After every section is read (and [global] checked), before the
	 * daemon's section check: may fill values derived from NAME, reports
	 * one error with conf_item_error_at() and returns -1.
	 */
	int (*check)(struct conf *c, char *err, size_t errlen);
};

/* The sections of one kind in one loaded file, in file order. */
struct conf_items {
	const struct conf_kind *kind;
	void *v;                     /* n structs of kind->size */
	size_t n, cap;
	unsigned *lines;             /* n rows of 1 + nkeys: the header's line, then each key's */
};

struct conf_section {
	const char *name;            /* "httpd" */
	const struct conf_key *keys;
	size_t nkeys;
	size_t size;                 /* sizeof the section struct */
	const struct conf_kind *const *kinds; /* NULL-terminated named kinds read, or NULL */
	/*
	 * Cross-key checks after loading. Report one error with conf_error_at()
	 * and return -1.
	 */
	int (*check)(struct conf *c, char *err, size_t errlen);
};

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

struct conf_global {
	char *root;
	char *user;
	char *tls_cert;
	char *tls_key;
	char *log;
	int log_level;               /* enum log_level */
	unsigned workers;
	uint64_t shutdown_timeout;   /* ms */
	bool sandbox;                /* Landlock + seccomp after the privilege drop (sandbox.h) */
};

struct conf {
	atomic_int refs;
	char *path;                  /* the file, as given */
	char *dir;                   /* its directory, for relative paths */
	struct conf_global g;
	void *own;                   /* the daemon's section struct */
	const struct conf_section *section;
	unsigned *lines_g;           /* line of each [global] key, 0: default */
	unsigned *lines_own;         /* line of each own key, 0: default */
	struct conf_items *items;    /* one per kind in section->kinds */
	size_t nitems;
	char **named;                /* every "[kind NAME]" header as "kind NAME", sorted */
	size_t nnamed, named_cap;
	void *runtime;               /* what the daemon built from it (see server.h) */
	/* Frees runtime when the last reference goes (set by server.c). */
	void (*runtime_free)(struct conf *c);
};

extern const struct conf_section conf_global_section;

/*
 * Loads PATH for the daemon owning SECTION. On success returns a conf with
 * one reference; on failure NULL and "FILE:LINE: key: message" in err.
 */
struct conf *conf_load(const char *path, const struct conf_section *section, char *err,
                       size_t errlen);
struct conf *conf_ref(struct conf *c);
void conf_unref(struct conf *c);

/* The line where a key was set (0 when it has its default). */
unsigned conf_line(const struct conf *c, const char *key);
/* Formats "FILE:LINE: key: message" (LINE from conf_line) into err; returns -1. */
int conf_error_at(const struct conf *c, const char *key, char *err, size_t errlen,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Named sections of kind K (one of the daemon's kinds): how many, the I-th. */
size_t conf_count(const struct conf *c, const struct conf_kind *k);
void *conf_item(const struct conf *c, const struct conf_kind *k, size_t i);
/* Whether the file has a [KIND NAME] section, of a kind this daemon reads or not. */
bool conf_named(const struct conf *c, const char *kind, const char *name);
/* The line of KEY in the I-th section of K (0: default), or of its header when KEY is NULL. */
unsigned conf_item_line(const struct conf *c, const struct conf_kind *k, size_t i,
                        const char *key);
/*
 * "FILE:LINE: key: message" for KEY of the I-th section of K; a key left at
 * its default is reported at the section's header line. KEY NULL gives
 * "FILE:LINE: message" at the header. Returns -1.
 */
int conf_item_error_at(const struct conf *c, const struct conf_kind *k, size_t i,
                       const char *key, char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));
/* "FILE:LINE: key: message" (LINE 0: "FILE: key: message"); KEY NULL drops "key: ". */
int conf_error_line(const struct conf *c, unsigned line, const char *key, char *err,
                    size_t errlen, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/*
 * Finding a value claimed twice among many (a host in two sites) without
 * comparing every pair: fill one claim per value, and conf_claims_dup()
 * sorts them and returns the claim that came second for its text and is
 * earliest in the file (the line to report), or NULL when all differ.
 */
struct conf_claim {
	const char *text;
	unsigned line;
	size_t owner;                /* caller's index, e.g. the site */
};
const struct conf_claim *conf_claims_dup(struct conf_claim *v, size_t n,
                                         const struct conf_claim **first);

/* Value parsers, exposed for unit tests: 0 or -1 with a message in err. */
int conf_parse_size(const char *s, uint64_t *out, char *err, size_t errlen);
int conf_parse_duration(const char *s, uint64_t *ms, char *err, size_t errlen);
int conf_parse_bool(const char *s, bool *out, char *err, size_t errlen);
int conf_parse_addr(const char *s, struct conf_addr *out, char *err, size_t errlen);

/* Helper: the config's own section struct, typed. */
#define CONF_OWN(c, type) ((const type *)(c)->own)

#endif
