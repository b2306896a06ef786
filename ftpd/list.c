/*
 * list: LIST, NLST, MLSD and MLST lines, the FEAT/OPTS MLST texts, STAT
 * file-form framing and MDTM text. No I/O; see list.h for the formats and
 * the symbolic-link and CR/LF policy.
 */
#include "list.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "reply.h"
#include "triad/date.h"

#define ACC_R 4u
#define ACC_W 2u
#define ACC_X 1u

/* A bounded output buffer; overflow is remembered and reported at the end. */
struct sbuf {
	char *p;
	size_t size, len;
	bool over;
};

static void sb_mem(struct sbuf *b, const char *s, size_t n)
{
	if (b->over || b->size - b->len <= n) {
		b->over = true;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_mem(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	if (b->over)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b->p + b->len, b->size - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->size - b->len) {
		b->over = true;
		return;
	}
	b->len += (size_t)n;
}

static ssize_t sb_end(struct sbuf *b)
{
	if (b->over || b->size == 0) {
		if (b->size)
			b->p[0] = '\0';
		return -ENOBUFS;
	}
	b->p[b->len] = '\0';
	return (ssize_t)b->len;
}

/* A name that would break the line it sits in. */
static bool name_ok(const char *name, size_t len)
{
	return len > 0 && !memchr(name, '\r', len) && !memchr(name, '\n', len) &&
	       !memchr(name, '\0', len);
}

unsigned ftp_list_access(const struct stat *st, uid_t uid, gid_t gid)
{
	mode_t m = st->st_mode;
	if (uid == 0) /* root: everything, but exec only where some x bit is set */
		return ACC_R | ACC_W | ((S_ISDIR(m) || (m & 0111)) ? ACC_X : 0);
	if (uid == st->st_uid)
		return (m >> 6) & 7;
	if (gid == st->st_gid)
		return (m >> 3) & 7;
	return m & 7;
}

/* ---- LIST ------------------------------------------------------------ */

static char type_char(mode_t m)
{
	if (S_ISDIR(m))
		return 'd';
	if (S_ISLNK(m))
		return 'l';
	if (S_ISFIFO(m))
		return 'p';
	if (S_ISSOCK(m))
		return 's';
	if (S_ISCHR(m))
		return 'c';
	if (S_ISBLK(m))
		return 'b';
	return '-';
}

static void perm_string(mode_t m, char out[11])
{
	out[0] = type_char(m);
	static const char rwx[] = "rwxrwxrwx";
	for (int i = 0; i < 9; i++)
		out[1 + i] = (m & (0400u >> i)) ? rwx[i] : '-';
	if (m & S_ISUID)
		out[3] = (m & S_IXUSR) ? 's' : 'S';
	if (m & S_ISGID)
		out[6] = (m & S_IXGRP) ? 's' : 'S';
	if (m & S_ISVTX)
		out[9] = (m & S_IXOTH) ? 't' : 'T';
	out[10] = '\0';
}

static void list_body(struct sbuf *b, const char *name, size_t namelen, const struct stat *st,
                      const struct ftp_list_opts *o)
{
	char perms[11];
	perm_string(st->st_mode, perms);
	sb_printf(b, "%s %4lu %-8s %-8s %8lld ", perms, (unsigned long)st->st_nlink, "ftp", "ftp",
	          (long long)st->st_size);

	struct date_tm tm;
	date_utc(st->st_mtime, &tm);
	int64_t mt = (int64_t)st->st_mtime, now = (int64_t)o->now;
	if (mt <= now && now - mt < FTP_LIST_RECENT_S)
		sb_printf(b, "%s %2d %02d:%02d ", date_month_abbr[tm.mon - 1], tm.mday, tm.hour, tm.min);
	else
		sb_printf(b, "%s %2d %5lld ", date_month_abbr[tm.mon - 1], tm.mday, (long long)tm.year);

	sb_mem(b, name, namelen);
	if (S_ISLNK(st->st_mode))
		sb_str(b, " -> ?");
}

ssize_t ftp_list_line(char *out, size_t size, const char *name, size_t namelen,
                      const struct stat *st, const struct ftp_list_opts *o)
{
	if (!name_ok(name, namelen))
		return 0;
	struct sbuf b = {out, size, 0, false};
	list_body(&b, name, namelen, st, o);
	sb_str(&b, "\r\n");
	return sb_end(&b);
}

ssize_t ftp_nlst_line(char *out, size_t size, const char *name, size_t namelen)
{
	if (!name_ok(name, namelen))
		return 0;
	struct sbuf b = {out, size, 0, false};
	sb_mem(&b, name, namelen);
	sb_str(&b, "\r\n");
	return sb_end(&b);
}

/* ---- MLSD / MLST ----------------------------------------------------- */

static const char *fact_type(mode_t m, enum ftp_entry_kind kind)
{
	if (S_ISDIR(m))
		return kind == FTP_ENTRY_CDIR ? "cdir" : kind == FTP_ENTRY_PDIR ? "pdir" : "dir";
	if (S_ISREG(m))
		return "file";
	if (S_ISLNK(m))
		return "OS.unix=symlink";
	if (S_ISFIFO(m))
		return "OS.unix=fifo";
	if (S_ISSOCK(m))
		return "OS.unix=socket";
	if (S_ISCHR(m))
		return "OS.unix=chr";
	return "OS.unix=blk";
}

/* RFC 3659 §7.5.5, letters in alphabetical order. */
static void fact_perm(struct sbuf *b, const struct stat *st, enum ftp_entry_kind kind,
                      const struct ftp_list_opts *o)
{
	unsigned acc = ftp_list_access(st, o->uid, o->gid);
	bool wr = !o->read_only;
	/* Deleting or renaming an entry is up to its directory; cdir and
	 * pdir are not entries of the listed directory. */
	bool df = wr && o->dir_writable && kind == FTP_ENTRY_PLAIN;
	char p[8];
	size_t n = 0;

	if (S_ISREG(st->st_mode)) {
		bool w = wr && (acc & ACC_W);
		if (w)
			p[n++] = 'a';
		if (df) {
			p[n++] = 'd';
			p[n++] = 'f';
		}
		if (acc & ACC_R)
			p[n++] = 'r';
		if (w)
			p[n++] = 'w';
	} else if (S_ISDIR(st->st_mode)) {
		bool make = wr && (acc & ACC_W) && (acc & ACC_X);
		if (make)
			p[n++] = 'c';
		if (df)
			p[n++] = 'd';
		if (acc & ACC_X)
			p[n++] = 'e';
		if (df)
			p[n++] = 'f';
		if ((acc & ACC_R) && (acc & ACC_X))
			p[n++] = 'l';
		if (make) {
			p[n++] = 'm';
			p[n++] = 'p';
		}
	} else if (df) {
		p[n++] = 'd';
		p[n++] = 'f';
	}
	sb_str(b, "perm=");
	sb_mem(b, p, n);
	sb_str(b, ";");
}

static void mlsx_facts(struct sbuf *b, const struct stat *st, enum ftp_entry_kind kind,
                       const struct ftp_list_opts *o)
{
	unsigned f = o->facts;
	if (f & FTP_FACT_TYPE)
		sb_printf(b, "type=%s;", fact_type(st->st_mode, kind));
	if ((f & FTP_FACT_SIZE) && S_ISREG(st->st_mode))
		sb_printf(b, "size=%lld;", (long long)st->st_size);
	char tv[DATE_TIMEVAL_LEN + 1];
	if ((f & FTP_FACT_MODIFY) && date_timeval_format(st->st_mtime, tv) == 0)
		sb_printf(b, "modify=%s;", tv);
	if (f & FTP_FACT_PERM)
		fact_perm(b, st, kind, o);
	if (f & FTP_FACT_UNIQUE)
		sb_printf(b, "unique=%llxx%llx;", (unsigned long long)st->st_dev,
		          (unsigned long long)st->st_ino);
	if (f & FTP_FACT_UNIX_MODE)
		sb_printf(b, "UNIX.mode=%04o;", (unsigned)(st->st_mode & 07777));
}

ssize_t ftp_mlsd_line(char *out, size_t size, const char *name, size_t namelen,
                      const struct stat *st, enum ftp_entry_kind kind,
                      const struct ftp_list_opts *o)
{
	if (!name_ok(name, namelen))
		return 0;
	struct sbuf b = {out, size, 0, false};
	mlsx_facts(&b, st, kind, o);
	sb_str(&b, " ");
	sb_mem(&b, name, namelen);
	sb_str(&b, "\r\n");
	return sb_end(&b);
}

ssize_t ftp_mlst_line(char *out, size_t size, const char *path, size_t pathlen,
                      const struct stat *st, const struct ftp_list_opts *o)
{
	if (!name_ok(path, pathlen))
		return 0;
	struct sbuf b = {out, size, 0, false};
	sb_str(&b, " ");
	mlsx_facts(&b, st, FTP_ENTRY_PLAIN, o);
	sb_str(&b, " ");
	sb_mem(&b, path, pathlen);
	sb_str(&b, "\r\n");
	return sb_end(&b);
}

ssize_t ftp_mlst_feat(char *out, size_t size, unsigned facts)
{
	struct sbuf b = {out, size, 0, false};
	sb_str(&b, "MLST ");
	for (unsigned bit = 1; bit & FTP_FACT_ALL; bit <<= 1)
		sb_printf(&b, "%s%s;", ftp_fact_name(bit), (facts & bit) ? "*" : "");
	return sb_end(&b);
}

ssize_t ftp_mlst_opts_reply(char *out, size_t size, unsigned facts)
{
	struct sbuf b = {out, size, 0, false};
	sb_str(&b, "MLST OPTS");
	const char *sep = " ";
	for (unsigned bit = 1; bit & FTP_FACT_ALL; bit <<= 1) {
		if (!(facts & bit))
			continue;
		sb_printf(&b, "%s%s;", sep, ftp_fact_name(bit));
		sep = "";
	}
	return sb_end(&b);
}

/* ---- STAT, MDTM ------------------------------------------------------ */

ssize_t ftp_stat_begin(char *out, size_t size, int code, const char *path, size_t pathlen)
{
	static const char pre[] = "Status of ";
	char text[FTP_REPLY_LINE_MAX];
	if (pathlen + sizeof(pre) + 1 > sizeof(text) || size < pathlen + sizeof(pre) + 8)
		return -ENOBUFS;
	memcpy(text, pre, sizeof(pre) - 1);
	memcpy(text + sizeof(pre) - 1, path, pathlen);
	text[sizeof(pre) - 1 + pathlen] = ':';
	return (ssize_t)ftp_reply_line(out, size, code, FTP_REPLY_FIRST, text,
	                               sizeof(pre) + pathlen);
}

ssize_t ftp_stat_line(char *out, size_t size, const char *name, size_t namelen,
                      const struct stat *st, const struct ftp_list_opts *o)
{
	/* A LIST line begins with its type letter or '-', never a digit, so
	 * it needs no padding inside a multi-line reply (RFC 959 §4.2). */
	return ftp_list_line(out, size, name, namelen, st, o);
}

ssize_t ftp_stat_end(char *out, size_t size, int code)
{
	static const char text[] = "End of status";
	if (size < sizeof(text) + 6)
		return -ENOBUFS;
	return (ssize_t)ftp_reply_line(out, size, code, FTP_REPLY_LAST, text, sizeof(text) - 1);
}

ssize_t ftp_mdtm_text(char *out, size_t size, time_t mtime)
{
	char tv[DATE_TIMEVAL_LEN + 1];
	if (date_timeval_format(mtime, tv) < 0)
		return -ERANGE;
	if (size < sizeof(tv))
		return -ENOBUFS;
	memcpy(out, tv, sizeof(tv));
	return DATE_TIMEVAL_LEN;
}
