/*
 * commands: the handler table, indexed by verb, and the handlers that
 * need no data connection. ftp_execute() first asks ftp_command_gate()
 * (parse.c), which applies the table's policy flags (login, TLS, argument,
 * read-only, PROT P) in one place, so a handler runs only when its command
 * may run. File operations go through fsroot beneath ftp_root; errno
 * becomes a reply in reply.c.
 */
#include "session.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "list.h"
#include "reply.h"
#include "triad/date.h"
#include "triad/log.h"
#include "triad/strlit.h"

typedef void (*ftp_handler)(struct ftp_session *s, struct ftp_command *cmd);

static unsigned file_mode(const struct ftp_session *s, bool dir)
{
	return (dir ? 0777u : 0666u) & ~ftpd_conf_umask(s->cf);
}

/* ---- directories ---------------------------------------------------------- */

static void cmd_pwd(struct ftp_session *s, struct ftp_command *cmd)
{
	(void)cmd;
	char out[FTP_REPLY_LINE_MAX];
	ssize_t n =
	    ftp_path_quote(s->cwd.path, s->cwd.len, "is the current directory", out, sizeof(out));
	if (n < 0)
		ftp_reply_err(s, (int)n);
	else
		ftp_reply(s, 257, "%s", out);
}

static void change_dir(struct ftp_session *s, const char *arg, size_t len)
{
	struct ftp_vpath vp;
	const char *rel;
	size_t rl;
	struct stat st = {0}; /* filled by fsroot on success (clang-tidy sees no further) */
	int rc = ftp_resolve(s, arg, len, &vp, &rel, &rl);
	if (rc == 0)
		rc = fsroot_stat(s->root, rel, rl, &st);
	if (rc == 0 && !S_ISDIR(st.st_mode))
		rc = -ENOTDIR;
	if (rc < 0) {
		ftp_reply_err(s, rc);
		return;
	}
	s->cwd = vp;
	ftp_reply(s, 250, "Directory successfully changed");
}

static void cmd_cwd(struct ftp_session *s, struct ftp_command *cmd)
{
	change_dir(s, cmd->arg, cmd->arglen);
}

static void cmd_cdup(struct ftp_session *s, struct ftp_command *cmd)
{
	(void)cmd;
	change_dir(s, STRLIT(".."));
}

static void cmd_mkd(struct ftp_session *s, struct ftp_command *cmd)
{
	struct ftp_vpath vp;
	const char *rel;
	size_t rl;
	int rc = ftp_resolve_target(s, cmd->arg, cmd->arglen, &vp, &rel, &rl);
	if (rc == 0 && rl == 0)
		rc = -EEXIST;
	if (rc == 0)
		rc = fsroot_mkdir(s->root, rel, rl, file_mode(s, true));
	if (rc < 0) {
		ftp_reply_err(s, rc);
		return;
	}
	/* The process umask may differ from ours: set the mode we promise. */
	fsroot_chmod(s->root, rel, rl, file_mode(s, true));
	char out[FTP_REPLY_LINE_MAX];
	if (ftp_path_quote(vp.path, vp.len, "created", out, sizeof(out)) < 0)
		ftp_reply(s, 257, "Directory created");
	else
		ftp_reply(s, 257, "%s", out);
}

static void cmd_rmd(struct ftp_session *s, struct ftp_command *cmd)
{
	struct ftp_vpath vp;
	const char *rel;
	size_t rl;
	int rc = ftp_resolve(s, cmd->arg, cmd->arglen, &vp, &rel, &rl);
	if (rc == 0 && rl == 0)
		rc = -EACCES; /* the root itself */
	if (rc == 0)
		rc = fsroot_rmdir(s->root, rel, rl);
	if (rc < 0)
		ftp_reply_err(s, rc);
	else
		ftp_reply(s, 250, "Directory removed");
}

static void cmd_dele(struct ftp_session *s, struct ftp_command *cmd)
{
	struct ftp_vpath vp;
	const char *rel;
	size_t rl;
	int rc = ftp_resolve(s, cmd->arg, cmd->arglen, &vp, &rel, &rl);
	if (rc == 0 && rl == 0)
		rc = -EISDIR;
	/* Held open across the unlink, the file loses only its name here; its
	 * blocks are freed when this last reference is closed, on the workq. */
	int fd = rc == 0 ? fsroot_openat(s->root, rel, rl, O_PATH | O_NOFOLLOW, 0) : -1;
	if (rc == 0)
		rc = fsroot_unlink(s->root, rel, rl);
	ftp_close_later(s, fd);
	if (rc < 0)
		ftp_reply_err(s, rc);
	else
		ftp_reply(s, 250, "File deleted");
}

static void cmd_rnfr(struct ftp_session *s, struct ftp_command *cmd)
{
	struct ftp_vpath vp;
	const char *rel;
	size_t rl;
	struct stat st = {0}; /* filled by fsroot on success (clang-tidy sees no further) */
	int rc = ftp_resolve(s, cmd->arg, cmd->arglen, &vp, &rel, &rl);
	if (rc == 0 && rl == 0)
		rc = -EACCES;
	if (rc == 0)
		rc = fsroot_lstat(s->root, rel, rl, &st);
	if (rc < 0) {
		ftp_reply_err(s, rc);
		return;
	}
	s->rnfr = vp;
	s->have_rnfr = true;
	ftp_reply(s, 350, "Ready for RNTO");
}

static void cmd_rnto(struct ftp_session *s, struct ftp_command *cmd)
{
	if (!s->have_rnfr) {
		ftp_reply(s, 503, "RNFR required first");
		return;
	}
	s->have_rnfr = false;
	struct ftp_vpath vp;
	const char *rel, *from;
	size_t rl, fl;
	int rc = ftp_resolve_target(s, cmd->arg, cmd->arglen, &vp, &rel, &rl);
	if (rc == 0 && rl == 0)
		rc = -EACCES;
	from = ftp_vpath_rel(&s->rnfr, &fl);
	if (rc == 0)
		rc = fsroot_rename(s->root, from, fl, rel, rl);
	if (rc < 0)
		ftp_reply_err(s, rc);
	else
		ftp_reply(s, 250, "Rename successful");
}

/* ---- file facts (RFC 3659) ------------------------------------------------- */

static int stat_arg(struct ftp_session *s, const char *arg, size_t len, struct ftp_vpath *vp,
                    struct stat *st)
{
	const char *rel;
	size_t rl;
	int rc = ftp_resolve(s, arg, len, vp, &rel, &rl);
	if (rc == 0)
		rc = fsroot_stat(s->root, rel, rl, st);
	return rc;
}

static void cmd_size(struct ftp_session *s, struct ftp_command *cmd)
{
	struct ftp_vpath vp;
	struct stat st = {0}; /* filled by fsroot on success (clang-tidy sees no further) */
	int rc = stat_arg(s, cmd->arg, cmd->arglen, &vp, &st);
	if (rc < 0) {
		ftp_reply_err(s, rc);
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		ftp_reply(s, 550, "Not a regular file");
		return;
	}
	/* In TYPE A too the stored size, as vsftpd answers: counting the
	 * CRLF form would mean reading the whole file. */
	ftp_reply(s, 213, "%llu", (unsigned long long)st.st_size);
}

static void cmd_mdtm(struct ftp_session *s, struct ftp_command *cmd)
{
	struct ftp_vpath vp;
	struct stat st = {0}; /* filled by fsroot on success (clang-tidy sees no further) */
	char t[32];
	int rc = stat_arg(s, cmd->arg, cmd->arglen, &vp, &st);
	if (rc < 0) {
		ftp_reply_err(s, rc);
		return;
	}
	if (ftp_mdtm_text(t, sizeof(t), st.st_mtime) < 0) {
		ftp_reply(s, 550, "Modification time out of range");
		return;
	}
	ftp_reply(s, 213, "%s", t);
}

static void cmd_mfmt(struct ftp_session *s, struct ftp_command *cmd)
{
	struct ftp_mfmt m;
	if (ftp_parse_mfmt(cmd->arg, cmd->arglen, &m) != 0) {
		ftp_reply(s, 501, "Syntax: MFMT YYYYMMDDHHMMSS path");
		return;
	}
	struct ftp_vpath vp;
	const char *rel;
	size_t rl;
	struct stat st = {0}; /* filled by fsroot on success (clang-tidy sees no further) */
	int rc = ftp_resolve(s, m.path, m.pathlen, &vp, &rel, &rl);
	if (rc == 0)
		rc = fsroot_stat(s->root, rel, rl, &st);
	if (rc == 0 && !S_ISREG(st.st_mode))
		rc = -EISDIR;
	struct timespec times[2] = {{0, UTIME_OMIT}, m.time};
	if (rc == 0)
		rc = fsroot_utimens(s->root, rel, rl, times);
	if (rc < 0) {
		ftp_reply_err(s, rc);
		return;
	}
	char t[DATE_TIMEVAL_LEN + 1];
	if (date_timeval_format(m.time.tv_sec, t) < 0)
		snprintf(t, sizeof(t), "0");
	ftp_reply(s, 213, "Modify=%s; %s", t, vp.path);
}

void ftp_list_opts_for(struct ftp_session *s, const struct stat *dirst, struct ftp_list_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->now = time(NULL);
	o->uid = geteuid();
	o->gid = getegid();
	o->read_only = s->anonymous;
	o->dir_writable = dirst && (ftp_list_access(dirst, o->uid, o->gid) & 3) == 3;
	o->facts = s->facts;
}

static void cmd_mlst(struct ftp_session *s, struct ftp_command *cmd)
{
	struct ftp_vpath vp, parent;
	struct stat st, pst;
	const char *rel;
	size_t rl;
	int rc = ftp_resolve(s, cmd->arg, cmd->arglen, &vp, &rel, &rl);
	if (rc == 0)
		rc = fsroot_stat(s->root, rel, rl, &st);
	if (rc == 0 && (rc = ftp_path_resolve(vp.path, vp.len, "..", 2, &parent)) == 0) {
		size_t pl;
		const char *pr = ftp_vpath_rel(&parent, &pl);
		if (fsroot_stat(s->root, pr, pl, &pst) < 0)
			pst = st;
	}
	if (rc < 0) {
		ftp_reply_err(s, rc);
		return;
	}
	struct ftp_list_opts o;
	ftp_list_opts_for(s, &pst, &o);
	char line[FTP_LIST_LINE_MAX];
	ssize_t n = ftp_mlst_line(line, sizeof(line), vp.path, vp.len, &st, &o);
	if (n <= 0) {
		ftp_reply(s, 550, "Cannot list this name");
		return;
	}
	char first[FTP_REPLY_LINE_MAX];
	char what[TRIAD_PATH_MAX + 16];
	int wl = snprintf(what, sizeof(what), "Listing %s", vp.path);
	size_t fl = ftp_reply_line(first, sizeof(first), 250, FTP_REPLY_FIRST, what,
	                           wl > 0 ? (size_t)wl : 0);
	conn_write(s->c, first, fl);
	conn_write(s->c, line, (size_t)n);
	ftp_reply(s, 250, "End");
}

/* ---- STAT (RFC 959 §4.1.3) -------------------------------------------------- */

static void stat_server(struct ftp_session *s)
{
	char xfer[256], text[1024];
	ftp_data_status(s, xfer, sizeof(xfer));
	int n = snprintf(text, sizeof(text),
	                 "FTP server status:\n"
	                 "Connected to %s\n"
	                 "Logged in as %s\n"
	                 "TYPE: %s, STRU: File, MODE: Stream\n"
	                 "Control connection: %s; data protection: %s\n"
	                 "%s%s"
	                 "End of status",
	                 conn_peer_ip(s->c).s, s->state == FTP_STATE_READY ? s->user : "(nobody)",
	                 s->type == FTP_TYPE_ASCII ? "ASCII" : "BINARY",
	                 conn_is_tls(s->c) ? "TLS" : "plain", s->prot_p ? "private" : "clear", xfer,
	                 xfer[0] ? "\n" : "");
	ftp_reply_lines(s, 211, text, n > 0 ? (size_t)n : 0);
}

static void stat_path(struct ftp_session *s, struct ftp_command *cmd)
{
	struct ftp_list_args la;
	ftp_parse_list_args(cmd->arg, cmd->arglen, &la);
	struct ftp_vpath vp;
	const char *rel;
	size_t rl;
	struct stat st = {0}; /* filled by fsroot on success (clang-tidy sees no further) */
	int rc = ftp_resolve(s, la.path, la.pathlen, &vp, &rel, &rl);
	if (rc == 0)
		rc = fsroot_stat(s->root, rel, rl, &st);
	if (rc < 0) {
		ftp_reply_err(s, rc);
		return;
	}
	struct ftp_list_opts o;
	ftp_list_opts_for(s, &st, &o);
	char line[FTP_LIST_LINE_MAX];
	bool dir = S_ISDIR(st.st_mode) && !la.opt_d;
	int code = dir ? 212 : 213;
	ssize_t n = ftp_stat_begin(line, sizeof(line), code, vp.path, vp.len);
	if (n > 0)
		conn_write(s->c, line, (size_t)n);
	if (!dir) {
		size_t bl, dl;
		const char *base = ftp_vpath_base(&vp, &bl, &dl);
		if (bl == 0)
			base = ".", bl = 1;
		n = ftp_stat_line(line, sizeof(line), base, bl, &st, &o);
		if (n > 0)
			conn_write(s->c, line, (size_t)n);
	} else {
		DIR *d = fsroot_opendir(s->root, rel, rl);
		struct dirent *e;
		unsigned shown = 0;
		while (d && (e = readdir(d))) {
			struct stat est;
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
			    fsroot_is_temp_name(e->d_name))
				continue;
			char p[TRIAD_PATH_MAX];
			int pl = snprintf(p, sizeof(p), "%.*s%s%s", (int)rl, rel, rl ? "/" : "",
			                  e->d_name);
			if (pl < 0 || (size_t)pl >= sizeof(p))
				continue;
			if (fsroot_stat(s->root, p, (size_t)pl, &est) < 0 &&
			    fsroot_lstat(s->root, p, (size_t)pl, &est) < 0)
				continue;
			if (shown == FTP_STAT_ENTRIES_MAX) {
				/* The control connection has no flow control of its own. */
				static const char more[] = "More entries: use LIST";
				n = (ssize_t)ftp_reply_line(line, sizeof(line), code,
				                            FTP_REPLY_MORE, more, sizeof(more) - 1);
				conn_write(s->c, line, (size_t)n);
				break;
			}
			n = ftp_stat_line(line, sizeof(line), e->d_name, strlen(e->d_name), &est,
			                  &o);
			if (n > 0) {
				conn_write(s->c, line, (size_t)n);
				shown++;
			}
		}
		if (d)
			closedir(d);
	}
	n = ftp_stat_end(line, sizeof(line), code);
	if (n > 0)
		conn_write(s->c, line, (size_t)n);
}

static void cmd_stat(struct ftp_session *s, struct ftp_command *cmd)
{
	if (cmd->arglen == 0) {
		stat_server(s);
		return;
	}
	if (s->state != FTP_STATE_READY) {
		ftp_reply(s, 530, "Please log in with USER and PASS");
		return;
	}
	if (s->xfer) {
		ftp_reply(s, 450, "Transfer in progress: STAT with a path must wait");
		return;
	}
	stat_path(s, cmd);
}

/* ---- settings ------------------------------------------------------------- */

static void cmd_type(struct ftp_session *s, struct ftp_command *cmd)
{
	enum ftp_type t;
	int rc = ftp_parse_type(cmd->arg, cmd->arglen, &t);
	if (rc) {
		ftp_reply(s, rc, "%s", ftp_reply_text(rc));
		return;
	}
	s->type = t;
	ftp_reply(s, 200, "Switching to %s mode", t == FTP_TYPE_ASCII ? "ASCII" : "Binary");
}

static void cmd_mode(struct ftp_session *s, struct ftp_command *cmd)
{
	int rc = ftp_parse_mode(cmd->arg, cmd->arglen);
	if (rc)
		ftp_reply(s, rc, "Only MODE S is supported");
	else
		ftp_reply(s, 200, "MODE set to S");
}

static void cmd_stru(struct ftp_session *s, struct ftp_command *cmd)
{
	int rc = ftp_parse_stru(cmd->arg, cmd->arglen);
	if (rc)
		ftp_reply(s, rc, "Only STRU F is supported");
	else
		ftp_reply(s, 200, "STRU set to F");
}

static void cmd_rest(struct ftp_session *s, struct ftp_command *cmd)
{
	uint64_t off;
	int rc = ftp_parse_rest(cmd->arg, cmd->arglen, &off);
	if (rc) {
		ftp_reply(s, rc, "REST needs a byte offset");
		return;
	}
	s->rest = off;
	ftp_reply(s, 350, "Restarting at %llu. Send STOR or RETR", (unsigned long long)off);
}

static void cmd_allo(struct ftp_session *s, struct ftp_command *cmd)
{
	(void)cmd;
	ftp_reply(s, 202, "ALLO not needed");
}

static void cmd_noop(struct ftp_session *s, struct ftp_command *cmd)
{
	(void)cmd;
	ftp_reply(s, 200, "NOOP ok");
}

static void cmd_syst(struct ftp_session *s, struct ftp_command *cmd)
{
	(void)cmd;
	ftp_reply(s, 215, "UNIX Type: L8");
}

static void cmd_opts(struct ftp_session *s, struct ftp_command *cmd)
{
	struct ftp_opts o;
	int rc = ftp_parse_opts(cmd->arg, cmd->arglen, &o);
	if (rc) {
		ftp_reply(s, rc, "Option not understood");
		return;
	}
	if (o.kind == FTP_OPTS_UTF8) {
		/* RFC 2640: names are bytes and UTF-8 passes through unchanged. */
		ftp_reply(s, 200, "Always in UTF8 mode");
		return;
	}
	s->facts = o.facts;
	char text[256];
	if (ftp_mlst_opts_reply(text, sizeof(text), o.facts) < 0)
		ftp_reply(s, 200, "MLST OPTS");
	else
		ftp_reply(s, 200, "%s", text);
}

static void cmd_feat(struct ftp_session *s, struct ftp_command *cmd)
{
	(void)cmd;
	char mlst[256], text[1024];
	if (ftp_mlst_feat(mlst, sizeof(mlst), s->facts) < 0)
		mlst[0] = '\0';
	int n = snprintf(text, sizeof(text),
	                 "Features:\n%s"
	                 " EPRT\n EPSV\n MDTM\n MFMT\n %s\n REST STREAM\n SIZE\n TVFS\n UTF8\n"
	                 "End",
	                 s->tls_ctx ? " AUTH TLS\n PBSZ\n PROT\n" : "", mlst);
	ftp_reply_lines(s, 211, text, n > 0 ? (size_t)n : 0);
}

static void cmd_help(struct ftp_session *s, struct ftp_command *cmd)
{
	if (cmd->arglen > 0) {
		struct ftp_command q;
		if (ftp_parse_command(cmd->arg, cmd->arglen, &q) != FTP_PARSE_OK ||
		    q.verb == FTP_VERB_UNKNOWN || (ftp_cmd_info(q.verb)->flags & FTP_CMDF_UNIMPL)) {
			ftp_reply(s, 502, "Unknown command %s", q.name);
			return;
		}
		ftp_reply(s, 214, "%s is supported", ftp_cmd_info(q.verb)->name);
		return;
	}
	char text[1024];
	size_t n = (size_t)snprintf(text, sizeof(text), "The following commands are recognized:\n");
	unsigned col = 0;
	for (int v = 1; v < FTP_VERB_COUNT && n < sizeof(text) - 16; v++) {
		const struct ftp_cmd_info *ci = ftp_cmd_info((enum ftp_verb)v);
		if (ci->flags & FTP_CMDF_UNIMPL)
			continue;
		n += (size_t)snprintf(text + n, sizeof(text) - n, " %-4s", ci->name);
		if (++col % 8 == 0)
			text[n++] = '\n';
	}
	if (col % 8 != 0)
		text[n++] = '\n';
	n += (size_t)snprintf(text + n, sizeof(text) - n, "Help OK");
	ftp_reply_lines(s, 214, text, n);
}

static void cmd_site(struct ftp_session *s, struct ftp_command *cmd)
{
	struct ftp_site site;
	int rc = ftp_parse_site(cmd->arg, cmd->arglen, &site);
	if (rc) {
		ftp_reply(s, rc, "%s",
		          rc == 500   ? "Unknown SITE command"
		          : rc == 504 ? "SITE CHMOD takes permission bits only (0000-0777)"
		                      : "Syntax: SITE CHMOD mode path");
		return;
	}
	if (site.cmd == FTP_SITE_HELP) {
		ftp_reply(s, 214, "SITE commands: CHMOD HELP");
		return;
	}
	if (s->anonymous) {
		ftp_reply(s, 550, "Permission denied: read-only session");
		return;
	}
	struct ftp_vpath vp;
	const char *rel;
	size_t rl;
	rc = ftp_resolve(s, site.path, site.pathlen, &vp, &rel, &rl);
	if (rc == 0 && rl == 0)
		rc = -EACCES;
	if (rc == 0)
		rc = fsroot_chmod(s->root, rel, rl, site.mode);
	if (rc == -EOPNOTSUPP)
		rc = -EACCES; /* a symbolic link: its mode means nothing */
	if (rc < 0)
		ftp_reply_err(s, rc);
	else
		ftp_reply(s, 200, "SITE CHMOD command ok");
}

/* ---- session ---------------------------------------------------------------- */

static void cmd_quit(struct ftp_session *s, struct ftp_command *cmd)
{
	(void)cmd;
	ftp_data_drop_unstarted(s); /* nothing in progress there to wait for */
	if (ftp_in_transfer(s)) {
		/* RFC 959 §4.1.1: the transfer completes and is answered first;
		 * ftp_resume() then says 221 and closes. Nothing more is read. */
		s->quit_pending = true;
		conn_pause_read(s->c);
		return;
	}
	ftp_close(s, 221, "Goodbye");
}

static void cmd_rein(struct ftp_session *s, struct ftp_command *cmd)
{
	(void)cmd;
	ftp_data_reset(s);
	ftp_login_reset(s);
	ftp_site_leave(s);
	ftp_vpath_root(&s->cwd);
	s->type = FTP_TYPE_ASCII;
	s->rest = 0;
	s->have_rnfr = false;
	s->facts = FTP_FACTS_DEFAULT;
	s->epsv_all = false;
	ftp_reply(s, 220, "Service ready for new user");
}

/* ---- TLS (RFC 4217) --------------------------------------------------------- */

static void cmd_auth(struct ftp_session *s, struct ftp_command *cmd)
{
	enum ftp_auth a;
	int rc = ftp_parse_auth(cmd->arg, cmd->arglen, &a);
	if (rc) {
		ftp_reply(s, rc, "AUTH TLS is the mechanism supported");
		return;
	}
	if (!s->tls_ctx) {
		ftp_reply(s, 534, "TLS is not available on this server");
		return;
	}
	if (conn_is_tls(s->c)) {
		ftp_reply(s, 503, "Already using TLS");
		return;
	}
	if (s->state == FTP_STATE_READY) {
		ftp_reply(s, 503, "AUTH must come before login");
		return;
	}
	ftp_reply(s, 234, "Proceed with negotiation");
	/* §4: AUTH resets the login; the old names also meant PROT P. */
	ftp_login_reset(s);
	int discarded = conn_start_tls(s->c, s->tls_ctx);
	if (discarded != 0) {
		/* Pipelined plaintext after AUTH would be an injection. */
		log_msg(LOG_LEVEL_INFO, s->c->id, "AUTH TLS: %s",
		        discarded < 0 ? "cannot start TLS" : "plaintext after AUTH discarded");
		ftp_set_state(s, FTP_STATE_CLOSING);
		conn_abort(s->c);
		return;
	}
	if (a == FTP_AUTH_SSL || a == FTP_AUTH_TLS_P) {
		s->pbsz = true;
		s->prot_p = true;
	}
}

static void cmd_pbsz(struct ftp_session *s, struct ftp_command *cmd)
{
	uint32_t v;
	int rc = ftp_parse_pbsz(cmd->arg, cmd->arglen, &v);
	if (rc) {
		ftp_reply(s, rc, "PBSZ needs a number");
		return;
	}
	if (!conn_is_tls(s->c)) {
		ftp_reply(s, 503, "PBSZ requires a TLS session: send AUTH TLS first");
		return;
	}
	s->pbsz = true;
	ftp_reply(s, 200, "PBSZ=0");
}

static void cmd_prot(struct ftp_session *s, struct ftp_command *cmd)
{
	enum ftp_prot p;
	int rc = ftp_parse_prot(cmd->arg, cmd->arglen, &p);
	if (rc) {
		ftp_reply(s, rc, "%s",
		          rc == 536 ? "Only PROT C and PROT P are supported" : "PROT C or PROT P");
		return;
	}
	if (!conn_is_tls(s->c) || !s->pbsz) {
		ftp_reply(s, 503, "PROT requires AUTH TLS and PBSZ first");
		return;
	}
	s->prot_p = p == FTP_PROT_P;
	ftp_reply(s, 200, "PROT now %s", s->prot_p ? "Private" : "Clear");
}

static void cmd_ccc(struct ftp_session *s, struct ftp_command *cmd)
{
	(void)cmd;
	ftp_reply(s, 534, "CCC refused: the control connection stays protected");
}

/* ---- the table -------------------------------------------------------------- */

static const ftp_handler handlers[FTP_VERB_COUNT] = {
    [FTP_VERB_USER] = ftp_cmd_user, [FTP_VERB_PASS] = ftp_cmd_pass, [FTP_VERB_CWD] = cmd_cwd,
    [FTP_VERB_CDUP] = cmd_cdup,     [FTP_VERB_PWD] = cmd_pwd,       [FTP_VERB_QUIT] = cmd_quit,
    [FTP_VERB_REIN] = cmd_rein,     [FTP_VERB_PORT] = ftp_cmd_port, [FTP_VERB_PASV] = ftp_cmd_pasv,
    [FTP_VERB_EPSV] = ftp_cmd_epsv, [FTP_VERB_EPRT] = ftp_cmd_eprt, [FTP_VERB_TYPE] = cmd_type,
    [FTP_VERB_STRU] = cmd_stru,     [FTP_VERB_MODE] = cmd_mode,     [FTP_VERB_RETR] = ftp_cmd_retr,
    [FTP_VERB_STOR] = ftp_cmd_stor, [FTP_VERB_STOU] = ftp_cmd_stor, [FTP_VERB_APPE] = ftp_cmd_stor,
    [FTP_VERB_ALLO] = cmd_allo,     [FTP_VERB_REST] = cmd_rest,     [FTP_VERB_RNFR] = cmd_rnfr,
    [FTP_VERB_RNTO] = cmd_rnto,     [FTP_VERB_ABOR] = ftp_cmd_abor, [FTP_VERB_DELE] = cmd_dele,
    [FTP_VERB_RMD] = cmd_rmd,       [FTP_VERB_MKD] = cmd_mkd,       [FTP_VERB_LIST] = ftp_cmd_list,
    [FTP_VERB_NLST] = ftp_cmd_list, [FTP_VERB_SITE] = cmd_site,     [FTP_VERB_SYST] = cmd_syst,
    [FTP_VERB_STAT] = cmd_stat,     [FTP_VERB_HELP] = cmd_help,     [FTP_VERB_NOOP] = cmd_noop,
    [FTP_VERB_FEAT] = cmd_feat,     [FTP_VERB_OPTS] = cmd_opts,     [FTP_VERB_SIZE] = cmd_size,
    [FTP_VERB_MDTM] = cmd_mdtm,     [FTP_VERB_MLST] = cmd_mlst,     [FTP_VERB_MLSD] = ftp_cmd_list,
    [FTP_VERB_MFMT] = cmd_mfmt,     [FTP_VERB_AUTH] = cmd_auth,     [FTP_VERB_PBSZ] = cmd_pbsz,
    [FTP_VERB_PROT] = cmd_prot,     [FTP_VERB_CCC] = cmd_ccc,
};

void ftp_execute(struct ftp_session *s, struct ftp_command *cmd)
{
	struct ftp_gate g = {
	    .logged_in = s->state == FTP_STATE_READY,
	    .tls_required = s->cf->tls == FTPD_TLS_REQUIRED,
	    .tls_active = conn_is_tls(s->c),
	    .prot_private = s->prot_p,
	    .read_only = s->anonymous,
	};
	const char *text;
	enum ftp_verb v = cmd->verb;
	/* A new RNFR replaces the pending one even when it fails: a refused
	 * RNFR followed by RNTO is 503, never a rename of the earlier file
	 * (vsftpd alike). cmd_rnfr sets it again on success. */
	if (v == FTP_VERB_RNFR)
		s->have_rnfr = false;
	int code = ftp_command_gate(cmd, &g, &text);
	if (code == 0 && !handlers[v]) {
		code = 502;
		text = "Command not implemented";
	}
	if (code) {
		/* A 3-4 letter verb we do not know: "not implemented". A longer word is
		 * no FTP command at all (§5.3.1), 500 "command unrecognized": a PROXY
		 * line from a source not in proxy_protocol (interface.md) gets that. */
		if (code == 500 && v == FTP_VERB_UNKNOWN && cmd->name[0])
			code = 502;
		ftp_reply(s, code, "%s", text);
	} else {
		handlers[v](s, cmd);
	}
	/* RFC 959 §4.1.3: RNTO must come right after RNFR. */
	if (v != FTP_VERB_RNFR)
		s->have_rnfr = false;
}
