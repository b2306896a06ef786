/*
 * httpd/autoindex.c: the listing of a directory without an index file
 * (autoindex = on), as HTML or, with ?format=json, as JSON for scripts.
 *
 * - Hidden: dot files (they are 404 anyway), ftpd's temporary upload files
 *   (FSROOT_TEMP_PREFIX), anything that is neither a file nor a directory,
 *   and symbolic links that do not resolve inside docroot or resolve to a
 *   dot file or dot directory (they are resolved through fsroot, so a link
 *   out never shows a size or date).
 * - Sorting from the query: sort=name|size|date, order=asc|desc (default
 *   name, asc); directories always come first. Unknown values are ignored.
 * - Names are HTML-escaped in text and percent-encoded in links (every byte
 *   outside RFC 3986 unreserved), so no name can inject markup or a scheme;
 *   JSON strings escape '"', '\' and control bytes.
 * - At most HTTP_AUTOINDEX_ENTRIES_MAX entries are listed (a huge directory must not cost
 *   unbounded memory per request); the listing says when it was cut.
 */
#include "session.h"
#include "triad/date.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "triad/iobuf.h"
#include "triad/limits.h"
#include "triad/strlit.h"

/* The most a listing can take: per entry a name percent-encoded (3 bytes a
 * byte) and HTML-escaped (at most 6), plus the row's markup; the directory
 * escaped twice in the title and heading. Never reached by a real listing:
 * it makes the memory one request can cost a stated figure. */
#define AUTOINDEX_BODY_MAX \
	((size_t)HTTP_AUTOINDEX_ENTRIES_MAX * (9 * TRIAD_NAME_MAX + 256) + 12 * TRIAD_PATH_MAX + 1024)

struct entry {
	char *name;
	bool dir;
	uint64_t size;
	int64_t mtime;
};

enum sort_key { SORT_NAME, SORT_SIZE, SORT_DATE };

struct order {
	enum sort_key key;
	bool desc;
};

static int compare(const void *a, const void *b, void *arg)
{
	const struct entry *x = a, *y = b;
	const struct order *o = arg;
	if (x->dir != y->dir)
		return x->dir ? -1 : 1;
	int c = 0;
	if (o->key == SORT_SIZE && !x->dir)
		c = x->size < y->size ? -1 : x->size > y->size;
	else if (o->key == SORT_DATE)
		c = x->mtime < y->mtime ? -1 : x->mtime > y->mtime;
	if (c == 0)
		c = strcmp(x->name, y->name);
	return o->desc ? -c : c;
}

bool http_query_param(const struct http_slice *q, const char *key, const char **v, size_t *vlen)
{
	if (!q->p)
		return false;
	size_t klen = strlen(key);
	const char *p = q->p, *end = q->p + q->len;
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *e = amp ? amp : end;
		if ((size_t)(e - p) > klen && memcmp(p, key, klen) == 0 && p[klen] == '=') {
			*v = p + klen + 1;
			*vlen = (size_t)(e - *v);
			return true;
		}
		p = e + 1;
	}
	return false;
}

static bool param_is(const struct http_slice *q, const char *key, const char *want)
{
	const char *v;
	size_t n;
	return http_query_param(q, key, &v, &n) && n == strlen(want) && memcmp(v, want, n) == 0;
}

/* clang-format off */
static void html_text(struct iobuf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': iobuf_add(b, STRLIT("&amp;")); break;
		case '<': iobuf_add(b, STRLIT("&lt;")); break;
		case '>': iobuf_add(b, STRLIT("&gt;")); break;
		case '"': iobuf_add(b, STRLIT("&quot;")); break;
		case '\'': iobuf_add(b, STRLIT("&#39;")); break;
		default: iobuf_add(b, s, 1);
		}
	}
}
/* clang-format on */

static void url_path(struct iobuf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			iobuf_add(b, s, 1);
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};
			iobuf_add(b, e, 3);
		}
	}
}

static void json_string(struct iobuf *b, const char *s)
{
	iobuf_add(b, STRLIT("\""));
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			iobuf_printf(b, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			iobuf_printf(b, "\\u%04x", c);
		else
			iobuf_add(b, s, 1);
	}
	iobuf_add(b, STRLIT("\""));
}

/* T as "YYYY-MM-DD HH:MM" (ISO: "YYYY-MM-DDTHH:MM:SSZ"), "-" when the year
 * has no four digits. */
static void format_time(int64_t t, bool iso, char *out, size_t size)
{
	struct date_tm tm;
	date_utc(t, &tm);
	if (tm.year < 0 || tm.year > 9999)
		snprintf(out, size, "-");
	else if (iso)
		snprintf(out, size, "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long)tm.year, tm.mon,
		         tm.mday, tm.hour, tm.min, tm.sec);
	else
		snprintf(out, size, "%04lld-%02d-%02d %02d:%02d", (long long)tm.year, tm.mon, tm.mday,
		         tm.hour, tm.min);
}

static void sort_link(struct iobuf *b, const char *label, const char *key, const struct order *o,
                      enum sort_key k)
{
	bool desc = o->key == k && !o->desc;
	iobuf_printf(b, "<th><a href=\"?sort=%s&amp;order=%s\">%s</a></th>", key,
	                    desc ? "desc" : "asc", label);
}

static void html(struct iobuf *b, const char *dir, struct entry *v, size_t n, bool cut,
                 const struct order *o)
{
	iobuf_printf(b, "<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\">"
	                       "<title>Index of ");
	html_text(b, dir);
	iobuf_printf(b, "</title></head>\n<body>\n<h1>Index of ");
	html_text(b, dir);
	iobuf_printf(b, "</h1>\n<table>\n<tr>");
	sort_link(b, "Name", "name", o, SORT_NAME);
	sort_link(b, "Size", "size", o, SORT_SIZE);
	sort_link(b, "Modified", "date", o, SORT_DATE);
	iobuf_printf(b, "</tr>\n");
	if (strcmp(dir, "/") != 0)
		iobuf_printf(
		    b, "<tr><td><a href=\"../\">../</a></td><td>-</td><td></td></tr>\n");
	for (size_t i = 0; i < n; i++) {
		char date[32];
		format_time(v[i].mtime, false, date, sizeof(date));
		iobuf_add(b, STRLIT("<tr><td><a href=\""));
		url_path(b, v[i].name);
		iobuf_add(b, v[i].dir ? "/\">" : "\">", v[i].dir ? 3 : 2);
		html_text(b, v[i].name);
		if (v[i].dir)
			iobuf_printf(b, "/</a></td><td>-</td><td>%s</td></tr>\n", date);
		else
			iobuf_printf(b, "</a></td><td>%llu</td><td>%s</td></tr>\n",
			                    (unsigned long long)v[i].size, date);
	}
	iobuf_printf(b, "</table>\n%s</body>\n</html>\n",
	                    cut ? "<p>(listing truncated)</p>\n" : "");
}

static void json(struct iobuf *b, struct entry *v, size_t n)
{
	iobuf_add(b, STRLIT("["));
	for (size_t i = 0; i < n; i++) {
		char date[32];
		format_time(v[i].mtime, true, date, sizeof(date));
		const char *open = i ? ",\n{\"name\":" : "\n{\"name\":";
		iobuf_add(b, open, strlen(open));
		json_string(b, v[i].name);
		iobuf_printf(b, ",\"type\":\"%s\",\"size\":%llu,\"mtime\":\"%s\"}",
		                    v[i].dir ? "directory" : "file",
		                    (unsigned long long)(v[i].dir ? 0 : v[i].size), date);
	}
	iobuf_add(b, STRLIT("\n]\n"));
}

int http_autoindex(struct http_session *s, int dirfd, struct iobuf **out, const char **ctype)
{
	*out = NULL;
	DIR *d = fdopendir(dirfd);
	int dfd = dirfd;
	if (!d) {
		close(dirfd);
		return 500;
	}
	struct entry *v = NULL;
	size_t n = 0, cap = 0;
	bool cut = false;
	int status = 0;
	struct dirent *de;
	char sub[PATH_MAX];
	while ((de = readdir(d))) {
		const char *name = de->d_name;
		if (name[0] == '.' || fsroot_is_temp_name(name))
			continue;
		struct stat st;
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISLNK(st.st_mode)) {
			int len = snprintf(sub, sizeof(sub), "%s%s%s", s->path + 1,
			                   s->path_len ? "/" : "", name);
			if (len < 0 || (size_t)len >= sizeof(sub))
				continue;
			int lfd = http_open_visible(s, sub, (size_t)len, O_PATH | O_CLOEXEC);
			if (lfd < 0)
				continue;
			int rc = fstat(lfd, &st);
			close(lfd);
			if (rc < 0)
				continue;
		}
		if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
			continue;
		if (n == HTTP_AUTOINDEX_ENTRIES_MAX) {
			cut = true;
			break;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			struct entry *nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				status = 503;
				goto out;
			}
			v = nv;
		}
		if (!(v[n].name = strdup(name))) {
			status = 503;
			goto out;
		}
		v[n].dir = S_ISDIR(st.st_mode);
		v[n].size = (uint64_t)st.st_size;
		v[n].mtime = st.st_mtim.tv_sec;
		n++;
	}
	const struct http_slice *q = &s->t->req.query;
	struct order o = {SORT_NAME, param_is(q, "order", "desc")};
	if (param_is(q, "sort", "size"))
		o.key = SORT_SIZE;
	else if (param_is(q, "sort", "date"))
		o.key = SORT_DATE;
	if (n > 1)
		qsort_r(v, n, sizeof(*v), compare, &o);
	struct iobuf *body = iobuf_new(AUTOINDEX_BODY_MAX);
	if (!body) {
		status = 503;
		goto out;
	}
	if (param_is(q, "format", "json")) {
		json(body, v, n);
		*ctype = "application/json; charset=utf-8";
	} else {
		char dir[PATH_MAX + 1];
		snprintf(dir, sizeof(dir), "%s%s", s->path, s->path_len ? "/" : "");
		html(body, dir, v, n, cut, &o);
		*ctype = "text/html; charset=utf-8";
	}
	if (iobuf_overflowed(body)) {
		status = 503; /* memory failed: never send a cut document as whole */
		iobuf_free(body);
	} else {
		*out = body;
	}
out:
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
	closedir(d);
	return status;
}
