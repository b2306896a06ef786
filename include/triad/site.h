/*
 * site: the [site NAME] sections every daemon reads (interface.md, "Sites").
 *
 * site_kind is the schema; its check, run by all three daemons so that any
 * daemon's -t catches any site error, fills the default docroot
 * (sites/NAME/www), lower-cases hosts and mail domains, and rejects: a bad
 * host or domain, one host in two sites, one site's docroot inside or equal
 * to another's, a login in two sites' ftp_users, a domain in two sites'
 * mail_domains, the [global] log inside a site's docroot, tls_cert without
 * tls_key (or the reverse), canonical without hosts, and bad values of the
 * per-request keys (cache_control, error_pages, try_extensions), and a
 * proxy rule or fallback naming no [upstream NAME] section of the file.
 *
 * Per-request keys a site does not set (conf_item_line() == 0) take the
 * [httpd] value: httpd resolves that when it builds the generation.
 */
#ifndef TRIAD_SITE_H
#define TRIAD_SITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "triad/config.h"

struct conf_site {
	char *name;
	struct conf_list hosts;          /* lower case; the first is canonical */
	char *docroot;                   /* below root; default sites/NAME/www */
	char *tls_cert, *tls_key;        /* resolved against the config's directory */
	bool canonical;
	struct conf_list ftp_users;
	struct conf_list mail_domains;   /* lower case */
	/* per-request keys, as in [httpd] */
	struct conf_list index;
	bool autoindex;
	char *cache_control;
	bool precompressed;
	uint64_t hsts;                   /* ms */
	bool redirect_https;
	char *error_pages;
	struct conf_list try_extensions;
	bool rules_files;
	char *proxy;                     /* "PATTERN=UPSTREAM ..." as [httpd]'s */
	char *fallback;                  /* an [upstream NAME]; empty: none */
};

extern const struct conf_kind site_kind;

/* The sites of a loaded configuration. */
static inline size_t site_count(const struct conf *c)
{
	return conf_count(c, &site_kind);
}
static inline const struct conf_site *site_at(const struct conf *c, size_t i)
{
	return conf_item(c, &site_kind, i);
}
/* Whether the I-th site sets KEY itself (else it takes the [httpd] value). */
static inline bool site_sets(const struct conf *c, size_t i, const char *key)
{
	return conf_item_line(c, &site_kind, i, key) != 0;
}
/* The site whose ftp_users lists LOGIN, or -1. */
long site_of_ftp_user(const struct conf *c, const char *login);
/* The site whose mail_domains lists DOMAIN (lower case), or -1. */
long site_of_mail_domain(const struct conf *c, const char *domain);

/*
 * error_pages = "404=/404.html 4xx=/errors/4xx.html 5xx=/50x.html": pages
 * for error statuses (400 to 599), a code beating its class. Pure.
 */
struct site_errpages {
	char *code[200];                 /* 400..599 */
	char *cls[2];                    /* 4xx, 5xx */
	char *store;
};
/* S may be NULL (none). 0, or -1 with a message in err. */
int site_errpages_parse(const char *s, struct site_errpages *ep, char *err, size_t errlen);
/* The page for STATUS ("/404.html"), or NULL. */
const char *site_errpages_find(const struct site_errpages *ep, int status);
void site_errpages_free(struct site_errpages *ep);

/* try_extensions: each ".ext" (a dot, then no "/", no ".." start). 0, or -1 and why. */
int site_try_extensions_check(const struct conf_list *l, char *err, size_t errlen);

/* An absolute PATH (a log, maildir_root) inside no site's docroot; else the error at KEY. */
int site_path_outside(struct conf *c, const char *path, const char *key, char *err,
                      size_t errlen);

/*
 * PROXY ("PATTERN=UPSTREAM ...") and FALLBACK (a name; NULL: none) as [httpd]
 * or a site writes them: the syntax, and each name an [upstream NAME] of C.
 * 0, or -1 with why in err and the key at fault in *bad_key.
 */
int site_proxy_check(const struct conf *c, const char *proxy, const char *fallback, char *err,
                     size_t errlen, const char **bad_key);

/* A host name as a site lists it: lower-cases H in place; 0, or -1 and why. */
int site_host_check(char *h, char *err, size_t errlen);

#endif
