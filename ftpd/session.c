/*
 * session: the FTP control connection (RFC 959 §5). Reads command lines
 * (LF or CRLF: some clients send a bare LF, and a client must never hang),
 * parses them, runs them through the policy gate and the handler table
 * (commands.c), and owns the session's lifetime: on_free releases the login,
 * the data setup and any transfer, which never outlive their conn.
 *
 * Holding: while a transfer runs only ABOR, STAT and QUIT are executed (RFC
 * 959 §4.1.3); another command is parsed, held, and run when the transfer
 * has been answered, so replies keep their order. Reading goes on behind a
 * held command so that an ABOR still gets through (it answers the held
 * command between its 426 and 226); any other line waits in a second slot
 * and reading pauses. While PAM is asked,
 * nothing is read; nor while the replies already queued exceed the
 * connection's high watermark (a client must read what it asked for).
 * QUIT during a transfer lets it finish: its reply, then 221 (RFC 959 §4.1.1).
 */
#include "session.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reply.h"
#include "triad/duration.h"
#include "triad/log.h"

int ftp_prepare(struct conf *c, struct server_runtime *rt, char *err, size_t errlen)
{
	const struct ftpd_conf *f = c->own;
	struct ftp_app *app = calloc(1, sizeof(*app));
	if (!app)
		return conf_error_at(c, "ftp_root", err, errlen, "out of memory");
	int rc = fsroot_open_sub(&app->ftp_root, &rt->root, f->ftp_root, strlen(f->ftp_root));
	if (rc < 0) {
		free(app);
		return conf_error_at(c, "ftp_root", err, errlen, "cannot open %s/%s: %s", c->g.root,
		                     f->ftp_root, strerror(-rc));
	}
	rt->app = app;
	return 0;
}

void ftp_release(struct server_runtime *rt)
{
	struct ftp_app *app = rt->app;
	if (!app)
		return;
	fsroot_close(&app->ftp_root);
	free(app);
}

static const char *const state_names[] = {"user", "pass", "auth", "ready", "closing"};

static void login_timer_start(struct ftp_session *s)
{
	struct timeval tv = duration_tv(s->cf->login_timeout);
	if (s->login_timer)
		evtimer_add(s->login_timer, &tv);
}

void ftp_set_state(struct ftp_session *s, enum ftp_state st)
{
	if (s->state == st)
		return;
	log_msg(LOG_LEVEL_DEBUG, s->c->id, "state %s -> %s", state_names[s->state],
	        state_names[st]);
	/* The login deadline runs while not logged in: from the greeting, and
	 * again from REIN. */
	if (st == FTP_STATE_READY || st == FTP_STATE_CLOSING) {
		if (s->login_timer)
			evtimer_del(s->login_timer);
	} else if (s->state == FTP_STATE_READY) {
		login_timer_start(s);
	}
	s->state = st;
}

/* login_timeout: USER/PASS must succeed within a fixed time, whatever the
 * client sends meanwhile (NOOP would reset idle_timeout for ever). */
static void login_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct ftp_session *s = arg;
	if (s->state == FTP_STATE_READY || s->state == FTP_STATE_CLOSING)
		return;
	log_msg(LOG_LEVEL_INFO, s->c->id, "login timeout peer=%s", conn_peer_ip(s->c).s);
	ftp_close(s, 421, "Login timed out, closing control connection");
}

/* ---- replies ---------------------------------------------------------- */

void ftp_reply(struct ftp_session *s, int code, const char *fmt, ...)
{
	char text[FTP_REPLY_LINE_MAX], line[FTP_REPLY_LINE_MAX + 8];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(text))
		n = sizeof(text) - 1;
	size_t len = ftp_reply_line(line, sizeof(line), code, FTP_REPLY_ONLY, text, (size_t)n);
	conn_write(s->c, line, len);
}

void ftp_reply_lines(struct ftp_session *s, int code, const char *text, size_t len)
{
	size_t cap = len + 64 + len / 8;
	char *out = malloc(cap);
	if (!out) {
		ftp_reply(s, 451, "Local error: out of memory");
		return;
	}
	ssize_t n = ftp_reply_multi(out, cap, code, text, len);
	if (n < 0)
		ftp_reply(s, 451, "Local error: reply too long");
	else
		conn_write(s->c, out, (size_t)n);
	free(out);
}

void ftp_reply_err(struct ftp_session *s, int err)
{
	const char *text;
	int code = ftp_reply_errno(err, &text);
	ftp_reply(s, code, "%s", text);
}

void ftp_close(struct ftp_session *s, int code, const char *text)
{
	if (s->state == FTP_STATE_CLOSING)
		return;
	ftp_reply(s, code, "%s", text);
	ftp_set_state(s, FTP_STATE_CLOSING);
	ftp_data_reset(s);
	conn_close(s->c);
}

/* ---- paths ------------------------------------------------------------- */

int ftp_resolve(struct ftp_session *s, const char *arg, size_t len, struct ftp_vpath *vp,
                const char **rel, size_t *rellen)
{
	int rc = ftp_path_resolve(s->cwd.path, s->cwd.len, arg, len, vp);
	if (rc < 0)
		return rc;
	/* Our temporary upload files are invisible: as if they did not exist. */
	const char *p = vp->path;
	while (*p) {
		while (*p == '/')
			p++;
		if (fsroot_is_temp_name(p))
			return -ENOENT;
		const char *slash = strchr(p, '/');
		if (!slash)
			break;
		p = slash;
	}
	*rel = ftp_vpath_rel(vp, rellen);
	return 0;
}

int ftp_resolve_target(struct ftp_session *s, const char *arg, size_t len, struct ftp_vpath *vp,
                       const char **rel, size_t *rellen)
{
	int rc = ftp_resolve(s, arg, len, vp, rel, rellen);
	if (rc == -ENOENT) {
		size_t bl, dl;
		if (fsroot_is_temp_name(ftp_vpath_base(vp, &bl, &dl)))
			rc = -EINVAL; /* not "missing": a name clients may not use */
	}
	return rc;
}

/* ---- reading commands --------------------------------------------------- */

bool ftp_in_transfer(const struct ftp_session *s)
{
	return s->xfer != NULL || s->commit != NULL;
}

static void wipe(struct ftp_session *s, struct ftp_command *cmd)
{
	if (cmd->verb == FTP_VERB_PASS) {
		explicit_bzero(cmd->arg, sizeof(cmd->arg));
		explicit_bzero(s->line, sizeof(s->line));
	}
}

/* Executes CMD, or answers the line it came from 500 (status PS). */
static void run(struct ftp_session *s, struct ftp_command *cmd, enum ftp_parse_status ps)
{
	static const char *const why[] = {
	    [FTP_PARSE_EMPTY] = "Empty command line",
	    [FTP_PARSE_TOO_LONG] = "Command line too long",
	    [FTP_PARSE_BAD_BYTE] = "Control characters are not allowed",
	    [FTP_PARSE_TELNET] = "Bad Telnet sequence",
	    [FTP_PARSE_VERB] = "Syntax error in command",
	};
	if (ps != FTP_PARSE_OK)
		ftp_reply(s, 500, "%s", why[ps]);
	else
		ftp_execute(s, cmd);
	wipe(s, cmd);
}

void ftp_run_held(struct ftp_session *s)
{
	if (!s->held)
		return;
	s->held = false;
	run(s, &s->cmd, FTP_PARSE_OK);
}

static void read_commands(struct ftp_session *s)
{
	struct conn *c = s->c;
	while (!s->have_next && !s->quit_pending && s->state != FTP_STATE_AUTH &&
	       s->state != FTP_STATE_CLOSING && !conn_is_closing(c)) {
		if (conn_output_full(c)) {
			/* Replies nobody reads: stop reading commands until they drain
			 * (on_drain), else a pipelining client makes us buffer without
			 * bound (HELP turns 6 bytes into 400, even before login). */
			s->output_wait = true;
			conn_pause_read(c);
			break;
		}
		/* Behind a held command the line goes to NEXT: only an ABOR runs now. */
		struct ftp_command *cmd = s->held ? &s->next : &s->cmd;
		size_t len;
		enum ftp_parse_status ps;
		enum conn_line r = conn_read_line(c, CONN_EOL_LF, s->line, sizeof(s->line), &len);
		if (r == CONN_LINE_AGAIN)
			break;
		if (r == CONN_LINE_TOO_LONG) {
			cmd->verb = FTP_VERB_UNKNOWN;
			ps = FTP_PARSE_TOO_LONG;
		} else {
			ps = ftp_parse_command(s->line, len, cmd);
		}
		bool inxfer =
		    ps == FTP_PARSE_OK && (ftp_cmd_info(cmd->verb)->flags & FTP_CMDF_INXFER);
		if (s->held && !(inxfer && cmd->verb == FTP_VERB_ABOR)) {
			/* RFC 959 §5.4: one reply per command, in order: both wait. */
			s->have_next = true;
			s->next_status = ps;
			conn_pause_read(c);
			break;
		}
		if (ps == FTP_PARSE_OK && ftp_in_transfer(s) && !inxfer) {
			/* This one waits for the transfer; reading goes on for an ABOR. */
			s->held = true;
			continue;
		}
		run(s, cmd, ps);
	}
}

void ftp_resume(struct ftp_session *s)
{
	if (s->state == FTP_STATE_CLOSING || conn_is_closing(s->c))
		return;
	if (s->quit_pending && !ftp_in_transfer(s)) {
		ftp_close(s, 221, "Goodbye");
		return;
	}
	if (s->shutting_down && !ftp_in_transfer(s)) {
		ftp_close(s, 421, "Service shutting down, closing control connection");
		return;
	}
	if (s->held && !ftp_in_transfer(s))
		ftp_run_held(s);
	if (s->have_next && !s->held && !ftp_in_transfer(s)) {
		s->have_next = false;
		run(s, &s->next, s->next_status);
	}
	if (!s->held && !s->have_next && !s->quit_pending && s->state != FTP_STATE_AUTH) {
		conn_resume_read(s->c);
		read_commands(s);
	}
}

/* ---- conn callbacks ------------------------------------------------------ */

static void on_read(struct conn *c)
{
	read_commands(c->proto);
}

static void on_drain(struct conn *c)
{
	struct ftp_session *s = c->proto;
	if (!s || !s->output_wait)
		return;
	s->output_wait = false;
	ftp_resume(s);
}

static void on_timeout(struct conn *c, bool writing)
{
	struct ftp_session *s = c->proto;
	if (!writing && ftp_in_transfer(s)) {
		/* The control connection is quiet during a transfer by design. */
		conn_resume_read(c);
		return;
	}
	log_msg(LOG_LEVEL_INFO, c->id, "control connection %s timeout", writing ? "send" : "idle");
	if (writing) {
		conn_abort(c);
		return;
	}
	ftp_close(s, 421, "Timeout: closing control connection");
}

static void on_eof(struct conn *c, bool error)
{
	(void)error;
	struct ftp_session *s = c->proto;
	ftp_set_state(s, FTP_STATE_CLOSING);
}

static void on_tls(struct conn *c, bool ok)
{
	struct ftp_session *s = c->proto;
	char desc[128];
	if (!ok) {
		log_msg(LOG_LEVEL_INFO, c->id, "TLS handshake failed peer=%s", conn_peer_ip(c).s);
		ftp_set_state(s, FTP_STATE_CLOSING);
		conn_abort(c);
		return;
	}
	log_msg(LOG_LEVEL_DEBUG, c->id, "TLS %s", conn_tls_describe(c, desc, sizeof(desc)));
}

static void on_shutdown(struct conn *c)
{
	struct ftp_session *s = c->proto;
	if (ftp_in_transfer(s)) {
		s->shutting_down = true; /* finish the transfer first */
		return;
	}
	ftp_close(s, 421, "Service shutting down, closing control connection");
}

static void on_free(struct conn *c)
{
	struct ftp_session *s = c->proto;
	if (!s)
		return;
	if (s->login_timer)
		event_free(s->login_timer);
	s->login_timer = NULL;
	ftp_login_reset(s);
	ftp_data_reset(s);
	ftp_data_free(s);
	ftp_site_leave(s);
	explicit_bzero(s->line, sizeof(s->line));
	explicit_bzero(s->cmd.arg, sizeof(s->cmd.arg));
	explicit_bzero(s->next.arg, sizeof(s->next.arg));
	free(s);
	c->proto = NULL;
}

static const struct conn_ops control_ops = {
    .on_read = on_read,
    .on_drain = on_drain,
    .on_timeout = on_timeout,
    .on_eof = on_eof,
    .on_tls = on_tls,
    .on_shutdown = on_shutdown,
    .on_free = on_free,
};

void ftp_accept(struct conn *c, int tag)
{
	(void)tag;
	struct ftp_session *s = calloc(1, sizeof(*s));
	if (!s) {
		conn_printf(c, "421 Service not available: out of memory\r\n");
		conn_close(c);
		return;
	}
	struct server_runtime *rt = server_rt(c->conf);
	s->c = c;
	s->cf = c->conf->own;
	s->root = &((struct ftp_app *)rt->app)->ftp_root;
	s->site_root.fd = -1;
	/* Implicit FTPS (listen_tls) protects data with PROT P whatever `tls` says. */
	s->tls_ctx = s->cf->tls == FTPD_TLS_OFF && !conn_is_tls(c) ? NULL : rt->tls;
	s->state = FTP_STATE_USER;
	s->type = FTP_TYPE_ASCII; /* RFC 959 §3.1.1.1: the default */
	s->facts = FTP_FACTS_DEFAULT;
	s->connect_fd = -1;
	ftp_vpath_root(&s->cwd);
	c->proto = s;
	c->ops = &control_ops;
	conn_keep_urgent_inline(c); /* ABOR's Telnet Synch */
	conn_set_timeouts(c, s->cf->idle_timeout, s->cf->idle_timeout);
	s->login_timer = evtimer_new(c->base, login_timeout, s);
	login_timer_start(s);
	conn_printf(c, "220 triad-ftpd ready\r\n");
}
