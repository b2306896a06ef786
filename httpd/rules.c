/*
 * httpd/rules.c: the pure parsers and matchers of `_redirects` and
 * `_headers` (rules.h).
 */
#include "rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "triad/limits.h"
#include "triad/strlit.h"

void http_rules_free(struct http_rules *r)
{
	for (size_t i = 0; i < r->nredirects; i++) {
		free(r->redirects[i].from);
		free(r->redirects[i].to);
	}
	for (size_t i = 0; i < r->nheaders; i++) {
		free(r->headers[i].pattern);
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->redirects);
	free(r->headers);
	memset(r, 0, sizeof(*r));
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t';
}

/* Visible ASCII and no quote or backslash: nothing that could break a header or a log. */
static bool token_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f || *s == '"' || *s == '\\')
			return false;
	return true;
}

/* A FROM path: "/" first, "*" only at the very end, ":name" segments whole. */
static bool from_ok(const char *s)
{
	size_t n = strlen(s);

	if (s[0] != '/' || !token_ok(s))
		return false;
	const char *star = strchr(s, '*');
	return !star || star == s + n - 1;
}

static bool url_ok(const char *s)
{
	return strncmp(s, STRLIT("http://")) == 0 || strncmp(s, STRLIT("https://")) == 0;
}

/* Splits LINE (modified) at blanks into at most MAX words; returns how many (MAX + 1: more). */
static size_t words(char *line, char **w, size_t max)
{
	size_t n = 0;
	char *p = line;

	for (;;) {
		while (is_ws(*p))
			p++;
		if (*p == '\0' || *p == '#')
			return n;
		if (n == max)
			return max + 1;
		w[n++] = p;
		while (*p && !is_ws(*p))
			p++;
		if (*p)
			*p++ = '\0';
	}
}

/* Calls FN on each line (no newline, CR dropped, NUL-terminated copy) with its number. */
static int each_line(const char *text, size_t len, int (*fn)(void *ctx, char *line, unsigned n),
                     void *ctx)
{
	char buf[TRIAD_PATH_MAX + 512];
	unsigned n = 0;
	size_t off = 0;

	while (off < len) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t ll = nl ? (size_t)(nl - (text + off)) : len - off;
		n++;
		if (ll && text[off + ll - 1] == '\r')
			ll--;
		if (ll >= sizeof(buf) || memchr(text + off, '\0', ll)) {
			buf[0] = '\x01'; /* reported by FN as a bad line */
			buf[1] = '\0';
		} else {
			memcpy(buf, text + off, ll);
			buf[ll] = '\0';
		}
		int r = fn(ctx, buf, n);
		if (r < 0)
			return r;
		off += nl ? ll + (text[off + ll] == '\r' ? 2 : 1) : len - off;
	}
	return 0;
}

struct ctx {
	struct http_rules *r;
	http_rules_warn warn;
	void *arg;
	char *pattern; /* _headers: the current path pattern (owned by ctx) */
	bool bad_pattern;
};

static bool bad_bytes(const char *line)
{
	for (const char *p = line; *p; p++)
		if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
			return true;
	return false;
}

static int redirect_line(void *arg, char *line, unsigned n)
{
	struct ctx *c = arg;
	struct http_rules *r = c->r;
	char *w[4];
	size_t nw;
	int status = 301;
	bool force = false;

	if (bad_bytes(line)) {
		c->warn(c->arg, n, "control character or NUL in line, or line too long");
		return 0;
	}
	nw = words(line, w, 3);
	if (nw == 0)
		return 0;
	if (nw == 1 || nw > 3) {
		c->warn(c->arg, n, "expected FROM TO [STATUS]");
		return 0;
	}
	if (!from_ok(w[0])) {
		c->warn(c->arg, n, "FROM must be a path starting with '/', with '*' only at its end");
		return 0;
	}
	if (nw == 3) {
		char *s = w[2];
		size_t sl = strlen(s);
		if (sl && s[sl - 1] == '!') {
			force = true;
			s[--sl] = '\0';
		}
		static const int ok[] = {200, 301, 302, 303, 307, 308, 404, 410};
		status = 0;
		int num = sl == 3 && s[0] >= '1' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9' &&
		                  s[2] >= '0' && s[2] <= '9'
		              ? (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0')
		              : 0;
		for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
			if (num == ok[i])
				status = ok[i];
		if (!status) {
			c->warn(c->arg, n, "STATUS must be 200, 301, 302, 303, 307, 308, 404 or 410, "
			                   "with an optional '!'");
			return 0;
		}
	}
	bool redirect = status >= 300 && status < 400;
	if (!token_ok(w[1]) || !(w[1][0] == '/' || (redirect && url_ok(w[1])))) {
		c->warn(c->arg, n, redirect ? "TO must be a path or an http(s) URL"
		                            : "TO must be a path of this site");
		return 0;
	}
	if (r->nredirects == HTTP_RULES_MAX) {
		c->warn(c->arg, n, "more than 1000 rules; the rest are ignored");
		return 0;
	}
	struct http_redirect *v = realloc(r->redirects, (r->nredirects + 1) * sizeof(*v));
	if (!v)
		return -1;
	r->redirects = v;
	struct http_redirect *rule = &v[r->nredirects];
	*rule = (struct http_redirect){strdup(w[0]), strdup(w[1]), status, force, n};
	if (!rule->from || !rule->to) {
		free(rule->from);
		free(rule->to);
		return -1;
	}
	r->nredirects++;
	return 0;
}

int http_redirects_parse(const char *text, size_t len, struct http_rules *r, http_rules_warn warn,
                         void *arg)
{
	struct ctx c = {r, warn, arg, NULL, false};

	return each_line(text, len, redirect_line, &c);
}

static int header_line(void *arg, char *line, unsigned n)
{
	struct ctx *c = arg;
	struct http_rules *r = c->r;

	if (bad_bytes(line)) {
		c->warn(c->arg, n, "control character or NUL in line, or line too long");
		return 0;
	}
	const char *p = line;
	while (is_ws(*p))
		p++;
	if (*p == '\0' || *p == '#')
		return 0;
	if (!is_ws(line[0])) {
		/* a path pattern on a line of its own */
		char *w[2];
		free(c->pattern);
		c->pattern = NULL;
		c->bad_pattern = true;
		if (words(line, w, 1) != 1 || !from_ok(w[0]) || strchr(w[0], ':')) {
			c->warn(c->arg, n, "expected a path pattern ('/' first, '*' only at its end)");
			return 0;
		}
		if (!(c->pattern = strdup(w[0])))
			return -1;
		c->bad_pattern = false;
		return 0;
	}
	if (!c->pattern) {
		if (!c->bad_pattern)
			c->warn(c->arg, n, "a header line before any path pattern");
		return 0;
	}
	const char *colon = strchr(p, ':');
	size_t nl = colon ? (size_t)(colon - p) : 0;
	if (!colon || nl == 0) {
		c->warn(c->arg, n, "expected 'Name: value'");
		return 0;
	}
	for (size_t i = 0; i < nl; i++) {
		/* RFC 9110 §5.1: a field name is a token */
		char ch = p[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      strchr("!#$%&'*+-.^_`|~", ch))) {
			c->warn(c->arg, n, "the header name is not a token (RFC 9110 §5.1)");
			return 0;
		}
	}
	const char *val = colon + 1;
	while (is_ws(*val))
		val++;
	size_t vl = strlen(val);
	while (vl && is_ws(val[vl - 1]))
		vl--;
	if (r->nheaders == HTTP_RULES_MAX) {
		c->warn(c->arg, n, "more than 1000 header lines; the rest are ignored");
		return 0;
	}
	struct http_header_rule *v = realloc(r->headers, (r->nheaders + 1) * sizeof(*v));
	if (!v)
		return -1;
	r->headers = v;
	struct http_header_rule *h = &v[r->nheaders];
	*h = (struct http_header_rule){strdup(c->pattern), strndup(p, nl), strndup(val, vl), n};
	if (!h->pattern || !h->name || !h->value) {
		free(h->pattern);
		free(h->name);
		free(h->value);
		return -1;
	}
	r->nheaders++;
	return 0;
}

int http_headers_parse(const char *text, size_t len, struct http_rules *r, http_rules_warn warn,
                       void *arg)
{
	struct ctx c = {r, warn, arg, NULL, false};
	int rc = each_line(text, len, header_line, &c);

	free(c.pattern);
	return rc;
}

/* ---- matching ------------------------------------------------------------------ */

static bool put(char **o, char *end, const char *s, size_t n)
{
	if ((size_t)(end - *o) <= n)
		return false;
	memcpy(*o, s, n);
	*o += n;
	**o = '\0';
	return true;
}

#define PLACEHOLDERS_MAX 8

/* A ":name" (or the splat) of FROM and the part of the path it matched. */
struct placeholder {
	const char *name, *val;
	size_t nlen, vlen;
};

bool http_redirect_match(const struct http_redirect *rule, const char *path, char *out,
                         size_t outcap)
{
	const char *f = rule->from, *p = path;
	struct placeholder ph[PLACEHOLDERS_MAX + 1];
	size_t nph = 0;

	while (*f) {
		if (*f == '*' && f[1] == '\0') {
			ph[nph++] = (struct placeholder){"splat", p, 5, strlen(p)};
			p += strlen(p);
			f++;
			break;
		}
		if (*f == ':' && f[-1] == '/') {
			const char *ne = f + 1;
			while (*ne && *ne != '/')
				ne++;
			const char *ve = p;
			while (*ve && *ve != '/')
				ve++;
			if (ve == p || nph == PLACEHOLDERS_MAX)
				return false;
			ph[nph++] = (struct placeholder){f + 1, p, (size_t)(ne - f - 1), (size_t)(ve - p)};
			f = ne;
			p = ve;
			continue;
		}
		if (*f != *p)
			return false;
		f++;
		p++;
	}
	if (*p != '\0' || !outcap)
		return false;
	/* TO with :name and :splat replaced by what they matched */
	char *o = out, *end = out + outcap;
	*o = '\0';
	for (const char *t = rule->to; *t;) {
		if (*t == ':') {
			const char *ne = t + 1;
			while ((*ne >= 'a' && *ne <= 'z') || (*ne >= 'A' && *ne <= 'Z') ||
			       (*ne >= '0' && *ne <= '9') || *ne == '_')
				ne++;
			size_t i;
			for (i = 0; i < nph; i++)
				if (ph[i].nlen == (size_t)(ne - t - 1) &&
				    memcmp(ph[i].name, t + 1, ph[i].nlen) == 0)
					break;
			if (ne > t + 1 && i < nph) {
				if (!put(&o, end, ph[i].val, ph[i].vlen))
					return false;
				t = ne;
				continue;
			}
		}
		if (!put(&o, end, t, 1))
			return false;
		t++;
	}
	return true;
}

bool http_header_pattern_match(const char *pattern, const char *path)
{
	size_t n = strlen(pattern);

	if (n && pattern[n - 1] == '*')
		return strncmp(pattern, path, n - 1) == 0;
	return strcmp(pattern, path) == 0;
}
