/*
 * smtpd/aliases.c: the pure parser of the aliases file (aliases.h).
 */
#include "aliases.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "triad/limits.h"

void smtp_aliases_free(struct smtp_aliases *a)
{
	for (size_t i = 0; i < a->n; i++) {
		free(a->v[i].addr);
		for (size_t j = 0; j < a->v[i].ntargets; j++)
			free(a->v[i].targets[j]);
		free(a->v[i].targets);
	}
	free(a->v);
	hostmap_free(&a->map);
	memset(a, 0, sizeof(*a));
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * A domain as a mailbox directory can hold it: labels of letters, digits,
 * '-' (not at their ends) and '_', dot-separated, at most 255 octets.
 */
static bool domain_ok(const char *d, size_t n)
{
	size_t label = 0;

	if (n == 0 || n > SMTP_DOMAIN_MAX)
		return false;
	for (size_t i = 0; i <= n; i++) {
		char c = i < n ? d[i] : '.';
		if (c == '.') {
			if (label == 0 || label > SMTP_LABEL_MAX || d[i - 1] == '-' ||
			    d[i - label] == '-')
				return false;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
			label++;
		} else {
			return false;
		}
	}
	return true;
}

/* A local part that names a mailbox directory: printable, no '/', not starting with '.'. */
static bool local_ok(const char *l, size_t n)
{
	if (n == 0 || n > SMTP_LOCAL_PART_MAX || l[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)l[i];
		if (c <= 0x20 || c == 0x7f || c == '/' || c == '@' || c == ',' || c == '"' ||
		    c == '\\')
			return false;
	}
	return true;
}

/* WORD (lower-cased in place) is local@domain, or @domain when CATCHALL may be. */
static bool address_ok(char *w, bool catchall)
{
	char *at = strrchr(w, '@');

	for (char *p = w; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + ('a' - 'A'));
	if (!at)
		return false;
	if (at == w && !catchall)
		return false;
	if (at != w && !local_ok(w, (size_t)(at - w)))
		return false;
	return domain_ok(at + 1, strlen(at + 1));
}

struct parse {
	struct smtp_aliases *a;
	size_t cap;
	unsigned *line;
	char *err;
	size_t errlen;
};

static int fail(struct parse *p, unsigned line, const char *fmt, const char *word)
	__attribute__((format(printf, 3, 0)));

static int fail(struct parse *p, unsigned line, const char *fmt, const char *word)
{
	*p->line = line;
	snprintf(p->err, p->errlen, fmt, word);
	smtp_aliases_free(p->a);
	return -1;
}

static int add_target(struct parse *p, struct smtp_alias *al, char *w, unsigned line)
{
	char **v;

	if (!address_ok(w, false))
		return fail(p, line, "target '%s' is not a mailbox address (local@domain)", w);
	if (al->ntargets == SMTP_ALIAS_TARGETS_MAX)
		return fail(p, line, "more than %s targets for one address", "1000");
	v = realloc(al->targets, (al->ntargets + 1) * sizeof(*v));
	if (!v || !(v[al->ntargets] = strdup(w))) {
		if (v)
			al->targets = v;
		return fail(p, 0, "out of memory%s", "");
	}
	al->targets = v;
	al->ntargets++;
	return 0;
}

/* One physical line (NUL-terminated, no newline) numbered LINE. */
static int parse_line(struct parse *p, char *s, unsigned line)
{
	struct smtp_aliases *a = p->a;
	bool cont = is_ws(*s);
	char *save = NULL, *w;

	while (is_ws(*s))
		s++;
	if (*s == '\0' || *s == '#')
		return 0;
	for (char *q = s; *q; q++)
		if ((unsigned char)*q < 0x20 && *q != '\t')
			return fail(p, line, "control character in line%s", "");
	if (cont && a->n == 0)
		return fail(p, line, "a continuation line (it starts with whitespace) with no "
		                     "address before it%s", "");
	if (!cont) {
		if (a->n == p->cap) {
			size_t cap = p->cap ? p->cap * 2 : 16;
			struct smtp_alias *v = realloc(a->v, cap * sizeof(*v));
			if (!v)
				return fail(p, 0, "out of memory%s", "");
			a->v = v;
			p->cap = cap;
		}
		w = strtok_r(s, " \t,", &save);
		if (!w)
			return fail(p, line, "a line of commas without an address%s", "");
		struct smtp_alias *al = &a->v[a->n];
		memset(al, 0, sizeof(*al));
		al->line = line;
		if (!address_ok(w, true))
			return fail(p, line, "'%s' is not an address (local@domain, or @domain for a "
			                     "catch-all)", w);
		if (!(al->addr = strdup(w)))
			return fail(p, 0, "out of memory%s", "");
		a->n++;
		s = NULL;
	}
	struct smtp_alias *al = &a->v[a->n - 1];
	for (w = strtok_r(s, " \t,", &save); w; w = strtok_r(NULL, " \t,", &save))
		if (add_target(p, al, w, line) < 0)
			return -1;
	return 0;
}

int smtp_aliases_parse(const char *text, size_t len, struct smtp_aliases *out, unsigned *line,
                       char *err, size_t errlen)
{
	struct parse p = {out, 0, line, err, errlen};
	unsigned n = 0;
	size_t off = 0;
	char *buf = NULL;

	memset(out, 0, sizeof(*out));
	*line = 0;
	while (off < len) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t ll = nl ? (size_t)(nl - (text + off)) : len - off;
		n++;
		if (ll && text[off + ll - 1] == '\r')
			ll--;
		if (memchr(text + off, '\0', ll)) {
			free(buf);
			return fail(&p, n, "NUL byte in line%s", "");
		}
		char *b = realloc(buf, ll + 1);
		if (!b) {
			free(buf);
			return fail(&p, 0, "out of memory%s", "");
		}
		buf = b;
		memcpy(buf, text + off, ll);
		buf[ll] = '\0';
		if (parse_line(&p, buf, n) < 0) {
			free(buf);
			return -1;
		}
		off += (nl ? (size_t)(nl - (text + off)) + 1 : len - off);
	}
	free(buf);
	/* Every address has targets; none is listed twice (the later line is named). */
	if (hostmap_init(&out->map, out->n) < 0)
		return fail(&p, 0, "out of memory%s", "");
	for (size_t i = 0; i < out->n; i++) {
		struct smtp_alias *al = &out->v[i];
		if (al->ntargets == 0)
			return fail(&p, al->line, "'%s' has no target", al->addr);
		int r = hostmap_add(&out->map, al->addr, (int)i);
		if (r < 0)
			return fail(&p, 0, "out of memory%s", "");
		if (r > 0) {
			char msg[160];
			const struct smtp_alias *first = smtp_aliases_find(out, al->addr);
			snprintf(msg, sizeof(msg), "'%%s' is already on line %u", first->line);
			return fail(&p, al->line, msg, al->addr);
		}
	}
	return 0;
}

const struct smtp_alias *smtp_aliases_find(const struct smtp_aliases *a, const char *addr)
{
	int i = hostmap_get(&a->map, addr, strlen(addr));

	return i < 0 ? NULL : &a->v[i];
}
