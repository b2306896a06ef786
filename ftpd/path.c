/*
 * path: lexical resolution of FTP path arguments against the session's
 * current directory, and 257 quoting. See path.h.
 *
 * Resolution walks the argument from its end: a ".." cancels the next
 * component to its left, and any left over remove components of the base
 * (clamped at "/"). That is the same result as the usual left-to-right walk
 * with ".." at the root staying at the root, but it only ever writes the
 * components that survive, so a path is refused only when the result is
 * too long, never because of a detour ("a/../b") on the way.
 */
#include "path.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

void ftp_vpath_root(struct ftp_vpath *p)
{
	p->path[0] = '/';
	p->path[1] = '\0';
	p->len = 1;
}

int ftp_path_resolve(const char *cwd, size_t cwdlen, const char *arg, size_t arglen,
                     struct ftp_vpath *out)
{
	if (memchr(arg, '\0', arglen) || memchr(arg, '\r', arglen) || memchr(arg, '\n', arglen))
		return -EINVAL;

	const char *base = "/";
	size_t baselen = 1;
	if (arglen == 0 || arg[0] != '/') {
		if (cwdlen == 0 || cwd[0] != '/' || cwdlen > TRIAD_PATH_MAX - 1)
			return -EINVAL;
		base = cwd;
		baselen = cwdlen;
	}

	/* Surviving components of ARG, each with its leading '/', written
	 * right-aligned into TAIL. */
	char tail[TRIAD_PATH_MAX];
	size_t tpos = sizeof(tail);
	size_t up = 0; /* pending ".." */
	size_t end = arglen;
	while (end > 0) {
		if (arg[end - 1] == '/') {
			end--;
			continue;
		}
		size_t start = end;
		while (start > 0 && arg[start - 1] != '/')
			start--;
		size_t clen = end - start;
		const char *comp = arg + start;
		end = start;

		if (clen == 1 && comp[0] == '.')
			continue;
		if (clen == 2 && comp[0] == '.' && comp[1] == '.') {
			up++;
			continue;
		}
		if (up > 0) {
			up--;
			continue;
		}
		if (clen > TRIAD_NAME_MAX || clen + 1 > tpos)
			return -ENAMETOOLONG;
		tpos -= clen;
		memcpy(tail + tpos, comp, clen);
		tail[--tpos] = '/';
	}

	/* Leftover ".." climb out of the base; at "/" they stop. */
	while (up > 0 && baselen > 1) {
		while (baselen > 1 && base[baselen - 1] != '/')
			baselen--;
		if (baselen > 1)
			baselen--; /* the '/' before the removed component */
		up--;
	}

	size_t taillen = sizeof(tail) - tpos;
	/* "/" + "/x" would double the slash: the root contributes nothing. */
	size_t prefix = (baselen == 1 && taillen > 0) ? 0 : baselen;
	if (prefix + taillen > TRIAD_PATH_MAX - 1)
		return -ENAMETOOLONG;
	memmove(out->path, base, prefix); /* BASE may be OUT's own cwd */
	memcpy(out->path + prefix, tail + tpos, taillen);
	out->len = prefix + taillen;
	out->path[out->len] = '\0';
	return 0;
}

const char *ftp_vpath_rel(const struct ftp_vpath *p, size_t *len)
{
	*len = p->len - 1;
	return p->path + 1;
}

const char *ftp_vpath_base(const struct ftp_vpath *p, size_t *baselen, size_t *dirlen)
{
	size_t i = p->len;
	while (i > 0 && p->path[i - 1] != '/')
		i--;
	*baselen = p->len - i;
	/* "/x": the parent is "/" (1); "/a/x": "/a" (i - 1). */
	*dirlen = i > 1 ? i - 1 : 1;
	return p->path + i;
}

ssize_t ftp_path_quote(const char *path, size_t len, const char *comment, char *out, size_t size)
{
	size_t clen = comment ? strlen(comment) : 0;
	size_t need = 2 + len + (clen ? 1 + clen : 0);
	for (size_t i = 0; i < len; i++) {
		if (path[i] == '\0' || path[i] == '\r' || path[i] == '\n')
			return -EINVAL;
		need += path[i] == '"';
	}
	if (need + 1 > size)
		return -ENOBUFS;

	size_t n = 0;
	out[n++] = '"';
	for (size_t i = 0; i < len; i++) {
		if (path[i] == '"')
			out[n++] = '"';
		out[n++] = path[i];
	}
	out[n++] = '"';
	if (clen) {
		out[n++] = ' ';
		memcpy(out + n, comment, clen);
		n += clen;
	}
	out[n] = '\0';
	return (ssize_t)n;
}
