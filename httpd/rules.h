/*
 * httpd/rules.h: `_redirects` and `_headers` (rules_files = on), in the
 * format Netlify and Cloudflare Pages use (interface.md, "Sites").
 *
 *   _redirects:  FROM TO [STATUS[!]]      # comments, blank lines
 *     FROM is a path; ":name" segments are placeholders and a final "*"
 *     matches the rest (":splat" in TO). STATUS: 200, 301 (default), 302,
 *     303, 307, 308, 404, 410; "!" forces the rule even when a file exists.
 *     TO is a path, or an absolute http(s) URL for a redirect.
 *   _headers:    a path pattern ("*" at the end matches the rest) on a line of
 *     its own, then indented "Name: value" lines for responses on matching paths.
 *
 * The parsers are pure: a bad line is skipped and reported through WARN with
 * its number and reason, so a site owner's typo never takes the site down.
 */
#ifndef HTTPD_RULES_H
#define HTTPD_RULES_H

#include <stdbool.h>
#include <stddef.h>

struct http_redirect {
	char *from, *to;
	int status;
	bool force;
	unsigned line;
};

struct http_header_rule {
	char *pattern, *name, *value;
	unsigned line;
};

struct http_rules {
	struct http_redirect *redirects;
	size_t nredirects;
	struct http_header_rule *headers;
	size_t nheaders;
};

typedef void (*http_rules_warn)(void *arg, unsigned line, const char *reason);

/* Parse TEXT into R (adding to what is there); bad lines go to WARN. -1: out of memory. */
int http_redirects_parse(const char *text, size_t len, struct http_rules *r, http_rules_warn warn,
                         void *arg);
int http_headers_parse(const char *text, size_t len, struct http_rules *r, http_rules_warn warn,
                       void *arg);
void http_rules_free(struct http_rules *r);

/*
 * Whether PATH matches RULE's FROM; if so the target with placeholders and
 * :splat filled in goes to OUT (false when it does not fit).
 */
bool http_redirect_match(const struct http_redirect *rule, const char *path, char *out,
                         size_t outcap);
/* Whether PATH matches a _headers PATTERN. */
bool http_header_pattern_match(const char *pattern, const char *path);

#endif
