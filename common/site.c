/*
 * site: the [site NAME] schema and the checks every daemon runs on it
 * (triad/site.h). Cross-site conflicts are found by sorting claims
 * (conf_claims_dup), so 10,000 sites check in near-linear time, and each
 * is reported at the later of the two lines.
 */
#include "triad/site.h"
#include "triad/cachectl.h"
#include "triad/confcheck.h"
#include "triad/limits.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S(field) offsetof(struct conf_site, field)
static const struct conf_key site_keys[] = {
	{"hosts", CONF_LIST, S(hosts), "", NULL, 0, 0},
	{"docroot", CONF_STR, S(docroot), NULL, NULL, 0, 0},
	{"tls_cert", CONF_PATH, S(tls_cert), NULL, NULL, 0, 0},
	{"tls_key", CONF_PATH, S(tls_key), NULL, NULL, 0, 0},
	{"canonical", CONF_BOOL, S(canonical), "off", NULL, 0, 0},
	{"ftp_users", CONF_LIST, S(ftp_users), "", NULL, 0, 0},
	{"mail_domains", CONF_LIST, S(mail_domains), "", NULL, 0, 0},
	/* Per-request keys: no default here, an unset one takes [httpd]'s. */
	{"index", CONF_LIST, S(index), NULL, NULL, 0, 0},
	{"autoindex", CONF_BOOL, S(autoindex), NULL, NULL, 0, 0},
	{"cache_control", CONF_STR, S(cache_control), NULL, NULL, 0, 0},
	{"precompressed", CONF_BOOL, S(precompressed), NULL, NULL, 0, 0},
	{"hsts", CONF_DURATION, S(hsts), NULL, NULL, 0, 0},
	{"redirect_https", CONF_BOOL, S(redirect_https), NULL, NULL, 0, 0},
	{"error_pages", CONF_STR, S(error_pages), NULL, NULL, 0, 0},
	{"try_extensions", CONF_LIST, S(try_extensions), NULL, NULL, 0, 0},
	{"rules_files", CONF_BOOL, S(rules_files), NULL, NULL, 0, 0},
	{"proxy", CONF_STR, S(proxy), NULL, NULL, 0, 0},
	{"fallback", CONF_STR, S(fallback), NULL, NULL, 0, 0},
};
#undef S

static int site_check(struct conf *c, char *err, size_t errlen);

const struct conf_kind site_kind = {
	.name = "site",
	.keys = site_keys,
	.nkeys = sizeof(site_keys) / sizeof(site_keys[0]),
	.size = sizeof(struct conf_site),
	.name_offset = offsetof(struct conf_site, name),
	.check = site_check,
};

/* ---- error_pages ------------------------------------------------------------ */

void site_errpages_free(struct site_errpages *ep)
{
	free(ep->store);
	memset(ep, 0, sizeof(*ep));
}

static int ep_fail(struct site_errpages *ep, char *err, size_t errlen, const char *fmt,
                   const char *item) __attribute__((format(printf, 4, 0)));

static int ep_fail(struct site_errpages *ep, char *err, size_t errlen, const char *fmt,
                   const char *item)
{
	snprintf(err, errlen, fmt, item);
	site_errpages_free(ep);
	return -1;
}

/* A page: a path below docroot, "/" first, no "..", no dot segment, printable. */
static bool page_path_ok(const char *p)
{
	if (p[0] != '/' || p[1] == '\0')
		return false;
	for (const char *q = p; *q; q++)
		if ((unsigned char)*q <= 0x20 || *q == 0x7f || *q == '\\')
			return false;
	return !strstr(p, "/.") && p[strlen(p) - 1] != '/';
}

int site_errpages_parse(const char *s, struct site_errpages *ep, char *err, size_t errlen)
{
	char *save = NULL;

	memset(ep, 0, sizeof(*ep));
	if (!s)
		return 0;
	if (!(ep->store = strdup(s)))
		return ep_fail(ep, err, errlen, "out of memory%s", "");
	for (char *item = strtok_r(ep->store, " \t,", &save); item;
	     item = strtok_r(NULL, " \t,", &save)) {
		char *eq = strchr(item, '='), *page;
		size_t n;

		if (!eq)
			return ep_fail(ep, err, errlen,
			               "'%s' is not STATUS=PAGE (as in 404=/404.html)", item);
		*eq = '\0';
		page = eq + 1;
		n = strlen(item);
		if (!page_path_ok(page)) {
			*eq = '=';
			return ep_fail(ep, err, errlen,
			               "'%s': the page must be a path below docroot, as /404.html, "
			               "with no dot segment", item);
		}
		if (n == 3 && (item[0] == '4' || item[0] == '5') && item[1] == 'x' && item[2] == 'x') {
			char **slot = &ep->cls[item[0] - '4'];
			if (*slot)
				goto twice;
			*slot = page;
			continue;
		}
		if (n == 3 && (item[0] == '4' || item[0] == '5') && item[1] >= '0' &&
		    item[1] <= '9' && item[2] >= '0' && item[2] <= '9') {
			int code = (item[0] - '0') * 100 + (item[1] - '0') * 10 + (item[2] - '0');
			char **slot = &ep->code[code - 400];
			if (*slot)
				goto twice;
			*slot = page;
			continue;
		}
		return ep_fail(ep, err, errlen,
		               "'%s' is not an error status (400 to 599, or 4xx or 5xx)", item);
twice:
		return ep_fail(ep, err, errlen, "status %s is given twice", item);
	}
	return 0;
}

const char *site_errpages_find(const struct site_errpages *ep, int status)
{
	if (status < 400 || status > 599)
		return NULL;
	if (ep->code[status - 400])
		return ep->code[status - 400];
	return ep->cls[status / 100 - 4];
}

/* ---- host names --------------------------------------------------------------- */

int site_host_check(char *h, char *err, size_t errlen)
{
	size_t n = strlen(h), label = 0;

	for (char *p = h; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + ('a' - 'A'));
	if (h[0] == '[') {
		unsigned char a[16];
		char v6[64];
		if (n < 3 || h[n - 1] != ']' || n - 2 >= sizeof(v6))
			goto bad;
		memcpy(v6, h + 1, n - 2);
		v6[n - 2] = '\0';
		if (inet_pton(AF_INET6, v6, a) != 1)
			goto bad;
		return 0;
	}
	if (n == 0 || n > 253)
		goto bad;
	for (const char *p = h;; p++) {
		if (*p == '.' || *p == '\0') {
			if (label == 0 || label > 63 || p[-1] == '-' || p[-label] == '-')
				goto bad;
			if (*p == '\0')
				return 0;
			label = 0;
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
			goto bad;
		label++;
	}
bad:
	snprintf(err, errlen,
	         "'%s' is not a host name (letters, digits, '-' and '.'; an IPv6 address in "
	         "brackets; no port)", h);
	return -1;
}

int site_try_extensions_check(const struct conf_list *l, char *err, size_t errlen)
{
	for (size_t j = 0; j < l->n; j++) {
		const char *e = l->v[j];
		size_t n = strlen(e);
		if (e[0] != '.' || n < 2 || n > TRIAD_EXTENSION_MAX || strchr(e, '/') ||
		    strchr(e + 1, '.') == e + 1) {
			snprintf(err, errlen, "'%s' is not a file extension (as .html)", e);
			return -1;
		}
	}
	return 0;
}

int site_proxy_check(const struct conf *c, const char *proxy, const char *fallback, char *err,
                     size_t errlen, const char **bad_key)
{
	struct http_cachectl rules;
	int rc = 0;

	*bad_key = "proxy";
	if (http_cachectl_parse(proxy, &rules, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < rules.n && rc == 0; i++)
		if (!conf_named(c, "upstream", rules.value[i])) {
			snprintf(err, errlen, "rule \"%.64s=%.40s\": no [upstream %.40s] section",
			         rules.pattern[i], rules.value[i], rules.value[i]);
			rc = -1;
		}
	http_cachectl_free(&rules);
	if (rc == 0 && fallback && !conf_named(c, "upstream", fallback)) {
		*bad_key = "fallback";
		snprintf(err, errlen, "no [upstream %.40s] section", fallback);
		rc = -1;
	}
	return rc;
}

int site_path_outside(struct conf *c, const char *path, const char *key, char *err,
                      size_t errlen)
{
	char why[512];

	for (size_t i = 0; path && i < site_count(c); i++) {
		const struct conf_site *s = site_at(c, i);
		if (confcheck_log_outside(c, path, key, s->docroot, "docroot", why, sizeof(why)) < 0)
			return conf_error_at(c, key, err, errlen,
			                     "%s is inside [site %s]'s docroot, which is served to "
			                     "clients", path, s->name);
	}
	return 0;
}

/* ---- lookups ------------------------------------------------------------------ */

static long find_in_lists(const struct conf *c, size_t list_offset, const char *s)
{
	for (size_t i = 0; i < site_count(c); i++) {
		const struct conf_list *l =
			(const struct conf_list *)((const char *)site_at(c, i) + list_offset);
		for (size_t j = 0; j < l->n; j++)
			if (strcmp(l->v[j], s) == 0)
				return (long)i;
	}
	return -1;
}

long site_of_ftp_user(const struct conf *c, const char *login)
{
	return find_in_lists(c, offsetof(struct conf_site, ftp_users), login);
}

long site_of_mail_domain(const struct conf *c, const char *domain)
{
	return find_in_lists(c, offsetof(struct conf_site, mail_domains), domain);
}

/* ---- the check ----------------------------------------------------------------- */

/*
 * One item of a list key claimed by a site: one claim per item of every
 * site, then the first repeat (an item in two sites, or twice in one).
 */
static int check_claims(struct conf *c, size_t list_offset, const char *key, const char *what,
                        char *err, size_t errlen)
{
	size_t n = site_count(c), total = 0, m = 0;
	struct conf_claim *v;
	const struct conf_claim *dup, *first = NULL;
	int rc = 0;

	for (size_t i = 0; i < n; i++)
		total += ((const struct conf_list *)((const char *)site_at(c, i) + list_offset))->n;
	if (total < 2)
		return 0;
	if (!(v = calloc(total, sizeof(*v))))
		return conf_error_line(c, 0, key, err, errlen, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const struct conf_list *l =
			(const struct conf_list *)((const char *)site_at(c, i) + list_offset);
		unsigned line = conf_item_line(c, &site_kind, i, key);
		for (size_t j = 0; j < l->n; j++)
			v[m++] = (struct conf_claim){l->v[j], line, i};
	}
	dup = conf_claims_dup(v, m, &first);
	if (dup && dup->owner == first->owner)
		rc = conf_error_line(c, dup->line, key, err, errlen, "%s '%s' is listed twice", what,
		                     dup->text);
	else if (dup)
		rc = conf_error_line(c, dup->line, key, err, errlen,
		                     "%s '%s' is already in [site %s] (line %u)", what, dup->text,
		                     site_at(c, first->owner)->name, first->line);
	free(v);
	return rc;
}

/* Docroots, as "/a/b/" after lexical normalisation: none inside or equal to another. */
static int check_docroots(struct conf *c, char *err, size_t errlen)
{
	size_t n = site_count(c);
	struct conf_claim *v;
	const struct conf_claim *dup, *first = NULL;
	char (*paths)[TRIAD_PATH_MAX];
	int rc = 0;

	if (n < 2)
		return 0;
	v = calloc(n, sizeof(*v));
	paths = calloc(n, sizeof(*paths));
	if (!v || !paths) {
		free(v);
		free(paths);
		return conf_error_line(c, 0, "docroot", err, errlen, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		char joined[TRIAD_PATH_MAX];
		snprintf(joined, sizeof(joined), "/%s", site_at(c, i)->docroot);
		confcheck_normalise(joined, paths[i], sizeof(paths[i]) - 1);
		strcat(paths[i], "/");
		v[i] = (struct conf_claim){paths[i], conf_item_line(c, &site_kind, i, "docroot"), i};
		if (!v[i].line)
			v[i].line = conf_item_line(c, &site_kind, i, NULL);
	}
	dup = conf_claims_dup(v, n, &first);
	/* Sorted, a tree and what is inside it are neighbours ("/a/" < "/a/b/"). */
	for (size_t i = 1; !dup && i < n; i++) {
		if (strncmp(v[i].text, v[i - 1].text, strlen(v[i - 1].text)) == 0) {
			const struct conf_claim *later = v[i].line > v[i - 1].line ? &v[i] : &v[i - 1];
			const struct conf_claim *earlier = later == &v[i] ? &v[i - 1] : &v[i];
			rc = conf_item_error_at(c, &site_kind, later->owner, "docroot", err, errlen,
			                        "%s %s [site %s]'s docroot %s (line %u)",
			                        site_at(c, later->owner)->docroot,
			                        later == &v[i] ? "is inside" : "contains",
			                        site_at(c, earlier->owner)->name,
			                        site_at(c, earlier->owner)->docroot, earlier->line);
			break;
		}
	}
	if (dup)
		rc = conf_item_error_at(c, &site_kind, dup->owner, "docroot", err, errlen,
		                        "%s is already [site %s]'s docroot (line %u)",
		                        site_at(c, dup->owner)->docroot,
		                        site_at(c, first->owner)->name, first->line);
	free(v);
	free(paths);
	return rc;
}

/* The checks of one site on its own. */
static int check_one(struct conf *c, size_t i, char *err, size_t errlen)
{
	struct conf_site *s = conf_item(c, &site_kind, i);
	char why[512];
	struct http_cachectl cc;
	struct site_errpages ep;

	if (!s->docroot && asprintf(&s->docroot, "sites/%s/www", s->name) < 0) {
		s->docroot = NULL;
		return conf_item_error_at(c, &site_kind, i, NULL, err, errlen, "out of memory");
	}
	if (confcheck_subdir(c, s->docroot, "docroot", why, sizeof(why)) < 0) {
		/* confcheck names [httpd]'s line: keep its message, name the site's. */
		const char *msg = strstr(why, "docroot: ");
		return conf_item_error_at(c, &site_kind, i, "docroot", err, errlen, "%s",
		                          msg ? msg + sizeof("docroot: ") - 1 : why);
	}
	if (s->tls_cert && !s->tls_key)
		return conf_item_error_at(c, &site_kind, i, "tls_cert", err, errlen,
		                          "set without tls_key");
	if (s->tls_key && !s->tls_cert)
		return conf_item_error_at(c, &site_kind, i, "tls_key", err, errlen,
		                          "set without tls_cert");
	for (size_t j = 0; j < s->hosts.n; j++)
		if (site_host_check(s->hosts.v[j], why, sizeof(why)) < 0)
			return conf_item_error_at(c, &site_kind, i, "hosts", err, errlen, "%s", why);
	if (s->canonical && s->hosts.n == 0)
		return conf_item_error_at(c, &site_kind, i, "canonical", err, errlen,
		                          "needs hosts (the first is the canonical name)");
	for (size_t j = 0; j < s->mail_domains.n; j++) {
		char *d = s->mail_domains.v[j];
		if (d[0] == '[' || strlen(d) > SMTP_DOMAIN_MAX ||
		    site_host_check(d, why, sizeof(why)) < 0)
			return conf_item_error_at(c, &site_kind, i, "mail_domains", err, errlen,
			                          "'%s' is not a domain name", d);
	}
	for (size_t j = 0; j < s->ftp_users.n; j++)
		if (strlen(s->ftp_users.v[j]) > TRIAD_AUTH_FIELD_MAX)
			return conf_item_error_at(c, &site_kind, i, "ftp_users", err, errlen,
			                          "login '%.32s...' is too long", s->ftp_users.v[j]);
	if (site_try_extensions_check(&s->try_extensions, why, sizeof(why)) < 0)
		return conf_item_error_at(c, &site_kind, i, "try_extensions", err, errlen, "%s", why);
	if (http_cachectl_parse(s->cache_control, &cc, why, sizeof(why)) < 0)
		return conf_item_error_at(c, &site_kind, i, "cache_control", err, errlen, "%s", why);
	http_cachectl_free(&cc);
	if (site_errpages_parse(s->error_pages, &ep, why, sizeof(why)) < 0)
		return conf_item_error_at(c, &site_kind, i, "error_pages", err, errlen, "%s", why);
	site_errpages_free(&ep);
	const char *key;
	if (site_proxy_check(c, s->proxy, s->fallback, why, sizeof(why), &key) < 0)
		return conf_item_error_at(c, &site_kind, i, key, err, errlen, "%s", why);
	return 0;
}

static int site_check(struct conf *c, char *err, size_t errlen)
{
	for (size_t i = 0; i < site_count(c); i++)
		if (check_one(c, i, err, errlen) < 0)
			return -1;
	if (site_path_outside(c, c->g.log, "log", err, errlen) < 0)
		return -1;
	if (check_claims(c, offsetof(struct conf_site, hosts), "hosts", "host", err, errlen) < 0 ||
	    check_docroots(c, err, errlen) < 0 ||
	    check_claims(c, offsetof(struct conf_site, ftp_users), "ftp_users", "login", err,
	                 errlen) < 0 ||
	    check_claims(c, offsetof(struct conf_site, mail_domains), "mail_domains", "domain",
	                 err, errlen) < 0)
		return -1;
	return 0;
}
