/*
 * listing: LIST, NLST and MLSD transfers (RFC 959 §4.1.3, RFC 3659 §7):
 * what is listed (a directory's entries, one entry, or a pattern's matches,
 * glob.c), produced line by line as the data connection drains (xfer.c), in
 * the formats of list.c. NLST names entries as `ls ARG` would print them.
 * See xfer.h.
 */
#include "xfer.h"
#include "triad/strlit.h"

#include <errno.h>
#include <string.h>

/* An NLST line: the prefix the client's argument gave, then NAME. */
static ssize_t nlst_line(struct ftp_transfer *x, char *out, size_t size, const char *name,
                         size_t nl)
{
	char full[sizeof(x->prefix) + TRIAD_NAME_MAX + 1];
	if (x->prefixlen + nl >= sizeof(full))
		return 0;
	memcpy(full, x->prefix, x->prefixlen);
	memcpy(full + x->prefixlen, name, nl);
	return ftp_nlst_line(out, size, full, x->prefixlen + nl);
}

/* The next listing line into OUT: its length, 0 at the end. */
ssize_t ftp_listing_next(struct ftp_session *s, struct ftp_transfer *x, char *out, size_t size)
{
	if (x->single) {
		if (x->single_done)
			return 0;
		x->single_done = true;
		size_t nl = strlen(x->name);
		switch (x->verb) {
		case FTP_VERB_NLST:
			/* The argument as given, as `ls path` prints it. */
			return x->prefixlen ? nlst_line(x, out, size, STRLIT(""))
			                    : ftp_nlst_line(out, size, x->name, nl);
		case FTP_VERB_MLSD:
			return ftp_mlsd_line(out, size, x->name, nl, &x->st, FTP_ENTRY_PLAIN,
			                     &x->lo);
		default:
			return ftp_list_line(out, size, x->name, nl, &x->st, &x->lo);
		}
	}
	struct dirent *e;
	while (x->dir && (e = readdir(x->dir))) {
		const char *name = e->d_name;
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || fsroot_is_temp_name(name))
			continue;
		if (!ftp_glob_match(x->pattern, name))
			continue;
		size_t nl = strlen(name);
		char rel[TRIAD_PATH_MAX];
		if (x->dirlen + 1 + nl >= sizeof(rel))
			continue;
		size_t rl = 0;
		if (x->dirlen) {
			memcpy(rel, x->dirrel, x->dirlen);
			rel[x->dirlen] = '/';
			rl = x->dirlen + 1;
		}
		memcpy(rel + rl, name, nl + 1);
		rl += nl;
		struct stat st;
		/* A link is listed as what it leads to beneath the root; one leading
		 * nowhere there is listed as itself (list.h). */
		if (fsroot_stat(s->root, rel, rl, &st) < 0 &&
		    fsroot_lstat(s->root, rel, rl, &st) < 0)
			continue;
		ssize_t n;
		switch (x->verb) {
		case FTP_VERB_NLST:
			n = nlst_line(x, out, size, name, nl);
			break;
		case FTP_VERB_MLSD:
			n = ftp_mlsd_line(out, size, name, nl, &st, FTP_ENTRY_PLAIN, &x->lo);
			break;
		default:
			n = ftp_list_line(out, size, name, nl, &st, &x->lo);
			break;
		}
		if (n > 0)
			return n;
	}
	return 0;
}

/*
 * NLST names what it lists the way `ls ARG` prints it, so each name can be
 * given back to RETR (RFC 959 §4.1.3): a directory's entries bare, a file as
 * the argument was written, a pattern's matches after the argument's
 * directory part ("sub/a?.txt" -> "sub/ab.txt").
 */
static void nlst_prefix(struct ftp_transfer *x, const struct ftp_list_args *la, bool dir,
                        bool pattern)
{
	size_t n = la->pathlen;
	if (dir)
		return;
	if (pattern) {
		while (n > 0 && la->path[n - 1] != '/')
			n--;
	} else {
		while (n > 1 && la->path[n - 1] == '/')
			n--;
	}
	if (n >= sizeof(x->prefix))
		return;
	memcpy(x->prefix, la->path, n);
	x->prefixlen = n;
}

void ftp_cmd_list(struct ftp_session *s, struct ftp_command *cmd)
{
	struct ftp_list_args la = {0};
	if (cmd->verb == FTP_VERB_MLSD) {
		la.path = cmd->arg;
		la.pathlen = cmd->arglen;
	} else {
		ftp_parse_list_args(cmd->arg, cmd->arglen, &la);
	}
	struct ftp_vpath vp;
	const char *rel;
	size_t rl;
	struct stat st;
	bool is_link = false;
	char pattern[TRIAD_NAME_MAX + 1] = "";
	int rc = ftp_resolve(s, la.path, la.pathlen, &vp, &rel, &rl);
	if (rc == 0 && fsroot_stat(s->root, rel, rl, &st) < 0) {
		rc = fsroot_lstat(s->root, rel, rl, &st);
		is_link = rc == 0;
		if (rc == -ENOENT && cmd->verb != FTP_VERB_MLSD)
			rc = ftp_glob_parent(s, &vp, pattern, &rel, &rl, &st);
	}
	if (rc != 0) { /* 0 or -errno: only 0 filled ST */
		ftp_reply_err(s, rc);
		return;
	}
	bool dir = (S_ISDIR(st.st_mode) && !is_link && !la.opt_d) || pattern[0];
	if (cmd->verb == FTP_VERB_MLSD && !dir) {
		ftp_reply(s, 501,
		          "MLSD needs a directory: use MLST for a file"); /* RFC 3659 §7.2.1 */
		return;
	}
	struct ftp_transfer *x = ftp_xfer_new(s, FTP_XFER_LIST, cmd);
	if (!x)
		return;
	x->path = vp;
	if (cmd->verb == FTP_VERB_NLST && la.pathlen > 0)
		nlst_prefix(x, &la, dir && !pattern[0], pattern[0] != '\0');
	memcpy(x->pattern, pattern, sizeof(pattern));
	if (dir) {
		x->dir = fsroot_opendir(s->root, rel, rl);
		if (!x->dir) {
			int e = errno;
			ftp_xfer_free(s, x);
			ftp_reply_err(s, e);
			return;
		}
		memcpy(x->dirrel, rel, rl);
		x->dirlen = rl;
		ftp_list_opts_for(s, &st, &x->lo);
	} else {
		size_t bl, dl;
		const char *base = ftp_vpath_base(&vp, &bl, &dl);
		if (bl == 0 || bl > TRIAD_NAME_MAX)
			base = ".", bl = 1;
		memcpy(x->name, base, bl);
		x->name[bl] = '\0';
		x->st = st;
		x->single = true;
		ftp_list_opts_for(s, NULL, &x->lo);
	}
	ftp_xfer_go(s, x);
}
