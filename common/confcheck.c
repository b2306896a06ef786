/*
 * confcheck: checks that span keys, shared by the daemons' section checks.
 * Paths are compared lexically after normalising "//", "/./" and "x/.."
 * away; that is what an admin reads in the file, and fsroot does the real
 * confinement at run time.
 */
#include "triad/confcheck.h"
#include "triad/limits.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

int confcheck_tls_listener(struct conf *c, const struct conf_addrs *tls_addrs, const char *key,
                           char *err, size_t errlen)
{
	if (!tls_addrs || tls_addrs->n == 0)
		return 0;
	if (!c->g.tls_cert || !c->g.tls_key)
		return conf_error_at(c, key, err, errlen,
		                     "needs tls_cert and tls_key in [global]");
	return 0;
}

void confcheck_normalise(const char *in, char *out, size_t cap)
{
	size_t o = 0;
	out[0] = '\0';
	const char *p = in;
	while (*p) {
		while (*p == '/')
			p++;
		const char *s = p;
		while (*p && *p != '/')
			p++;
		size_t n = (size_t)(p - s);
		if (n == 0 || (n == 1 && s[0] == '.'))
			continue;
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			out[o] = '\0';
			continue;
		}
		if (o + 1 + n + 1 > cap)
			break;
		out[o++] = '/';
		memcpy(out + o, s, n);
		o += n;
		out[o] = '\0';
	}
	if (o == 0 && cap > 1) {
		out[0] = '/';
		out[1] = '\0';
	}
}

static bool inside(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	if (strcmp(dir, "/") == 0)
		return true;
	return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

int confcheck_log_outside(struct conf *c, const char *log_path, const char *log_key,
                          const char *subdir, const char *subdir_key, char *err, size_t errlen)
{
	(void)subdir_key;
	if (!log_path || log_path[0] != '/' || !c->g.root || !subdir)
		return 0; /* stderr, syslog, off */
	char tree[TRIAD_PATH_MAX], joined[TRIAD_PATH_MAX], logn[TRIAD_PATH_MAX];
	snprintf(joined, sizeof(joined), "%s/%s", c->g.root, subdir);
	confcheck_normalise(joined, tree, sizeof(tree));
	confcheck_normalise(log_path, logn, sizeof(logn));
	if (inside(logn, tree))
		return conf_error_at(c, log_key, err, errlen,
		                     "%s is inside %s, which is served to clients", log_path,
		                     tree);
	return 0;
}

int confcheck_subdir(struct conf *c, const char *value, const char *key, char *err,
                     size_t errlen)
{
	if (!value || !*value)
		return conf_error_at(c, key, err, errlen, "must name a directory below root");
	if (value[0] == '/')
		return conf_error_at(c, key, err, errlen,
		                     "'%s' must be relative to root, not absolute", value);
	for (const char *p = value; *p;) {
		const char *s = p;
		while (*p && *p != '/')
			p++;
		if (p - s == 2 && s[0] == '.' && s[1] == '.')
			return conf_error_at(c, key, err, errlen, "'%s' must stay below root",
			                     value);
		while (*p == '/')
			p++;
	}
	return 0;
}
