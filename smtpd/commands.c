/*
 * commands: the SMTP command table and its handlers (RFC 5321 §4.1).
 *
 * Each command has the states it is allowed in and policy flags; the order
 * of commands (503), tls = required (530), and the RFC 2920 pipelining rule
 * are enforced here in one place, before any handler runs:
 * - F_LAST: the command must end a pipelined group (RFC 2920 §3.1: EHLO,
 *   DATA, VRFY, EXPN, NOOP, QUIT; RFC 3207 §4 STARTTLS; RFC 4954 §4 AUTH,
 *   except AUTH PLAIN with an initial response, which §4 lets clients
 *   pipeline after).
 *   Input already buffered after it is a protocol error: 503 5.5.0 and the
 *   connection is closed, so nothing the client sent ahead (a message body
 *   before 354, commands meant for after TLS) is ever read as commands.
 *   STARTTLS handles its own case: conn_start_tls() drops that input.
 * - F_PRE_TLS: allowed before STARTTLS when tls = required (RFC 3207 §4).
 * BDAT bypasses the table checks: its chunk must be consumed even when the
 * command is refused (RFC 3030 §2), so it checks for itself.
 */
#include "session.h"
#include "conf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "triad/log.h"
#include "triad/strlit.h"

#define F_LAST 0x1u
#define F_PRE_TLS 0x2u

#define CMD_STATES                                                                                 \
	(SMTP_ST(SMTP_S_CONNECTED) | SMTP_ST(SMTP_S_READY) | SMTP_ST(SMTP_S_MAIL) |                \
	 SMTP_ST(SMTP_S_RCPT))

typedef void (*cmd_fn)(struct smtp_session *s, const char *arg, size_t len);

struct cmd_def {
	cmd_fn fn;
	unsigned states;
	unsigned flags;
};

static void cmd_helo(struct smtp_session *s, const char *arg, size_t len);
static void cmd_ehlo(struct smtp_session *s, const char *arg, size_t len);
static void cmd_mail(struct smtp_session *s, const char *arg, size_t len);
static void cmd_data(struct smtp_session *s, const char *arg, size_t len);
static void cmd_rset(struct smtp_session *s, const char *arg, size_t len);
static void cmd_noop(struct smtp_session *s, const char *arg, size_t len);
static void cmd_quit(struct smtp_session *s, const char *arg, size_t len);
static void cmd_vrfy(struct smtp_session *s, const char *arg, size_t len);
static void cmd_expn(struct smtp_session *s, const char *arg, size_t len);
static void cmd_help(struct smtp_session *s, const char *arg, size_t len);
static void cmd_starttls(struct smtp_session *s, const char *arg, size_t len);
static void cmd_auth(struct smtp_session *s, const char *arg, size_t len);

/* clang-format off */
static const struct cmd_def table[SMTP_CMD__COUNT] = {
	[SMTP_CMD_EHLO]     = {cmd_ehlo, CMD_STATES, F_LAST | F_PRE_TLS},
	[SMTP_CMD_HELO]     = {cmd_helo, CMD_STATES, F_LAST | F_PRE_TLS},
	[SMTP_CMD_MAIL]     = {cmd_mail, SMTP_ST(SMTP_S_READY), 0},
	[SMTP_CMD_RCPT]     = {smtp_cmd_rcpt, SMTP_ST(SMTP_S_MAIL) | SMTP_ST(SMTP_S_RCPT), 0},
	[SMTP_CMD_DATA]     = {cmd_data, SMTP_ST(SMTP_S_RCPT), F_LAST},
	[SMTP_CMD_RSET]     = {cmd_rset, CMD_STATES, F_PRE_TLS},
	[SMTP_CMD_NOOP]     = {cmd_noop, CMD_STATES, F_LAST | F_PRE_TLS},
	[SMTP_CMD_QUIT]     = {cmd_quit, CMD_STATES, F_LAST | F_PRE_TLS},
	[SMTP_CMD_VRFY]     = {cmd_vrfy, CMD_STATES, F_LAST},
	[SMTP_CMD_EXPN]     = {cmd_expn, CMD_STATES, F_LAST},
	[SMTP_CMD_HELP]     = {cmd_help, CMD_STATES, F_PRE_TLS},
	[SMTP_CMD_STARTTLS] = {cmd_starttls, SMTP_ST(SMTP_S_READY), F_LAST | F_PRE_TLS},
	[SMTP_CMD_AUTH]     = {cmd_auth, SMTP_ST(SMTP_S_READY), F_LAST},
};
/* clang-format on */

/* The 503 (or 554) a command gets in the wrong state. */
static enum smtp_rid wrong_state(const struct smtp_session *s, enum smtp_verb v)
{
	if (s->state == SMTP_S_CONNECTED)
		return SMTP_R_NEED_HELO;
	switch (v) {
	case SMTP_CMD_MAIL:
		return SMTP_R_NESTED_MAIL;
	case SMTP_CMD_RCPT:
		return s->state == SMTP_S_READY ? SMTP_R_NEED_MAIL : SMTP_R_BAD_SEQUENCE;
	case SMTP_CMD_DATA:
		/* RFC 5321 §3.3: DATA without an accepted recipient is 554 (or 503). */
		return s->state == SMTP_S_READY  ? SMTP_R_NEED_MAIL
		       : s->state == SMTP_S_MAIL ? SMTP_R_NO_VALID_RCPTS
		                                 : SMTP_R_BAD_SEQUENCE;
	default:
		return SMTP_R_BAD_SEQUENCE;
	}
}

static bool tls_missing(const struct smtp_session *s)
{
	return smtp_conf(s)->tls == SMTPD_TLS_REQUIRED && !conn_is_tls(s->c);
}

static void cmd_bdat(struct smtp_session *s, const char *arg, size_t len);

/* RFC 4954 §4: AUTH ends a pipelined group, except when it carries an initial
 * response for a mechanism that completes after one server reply (PLAIN):
 * commands after it wait for its answer and are then read as usual. */
static bool auth_one_step(const char *arg, size_t len)
{
	return arg && len > 6 && strncasecmp(arg, STRLIT("PLAIN ")) == 0;
}

void smtp_command(struct smtp_session *s, const char *line, size_t len)
{
	struct smtp_cmd cmd;
	enum smtp_rid r = smtp_parse_command(line, len, &cmd);
	if (cmd.verb == SMTP_CMD_BDAT && (r == SMTP_R_NONE || r == SMTP_R_NEED_ARG)) {
		cmd_bdat(s, cmd.arg, cmd.arglen);
		return;
	}
	if (r != SMTP_R_NONE && r != SMTP_R_NO_ARGS && r != SMTP_R_NEED_ARG) {
		if (cmd.verb == SMTP_CMD_BDAT) {
			/* The chunk cannot be delimited: never read it as commands. */
			smtp_close(s, r, "bdat-syntax");
			return;
		}
		smtp_send(s, r);
		return;
	}
	const struct cmd_def *d = &table[cmd.verb];
	if (!d->fn) {
		smtp_send(s, SMTP_R_UNKNOWN_CMD);
		return;
	}
	if ((d->flags & F_LAST) && cmd.verb != SMTP_CMD_STARTTLS &&
	    !(cmd.verb == SMTP_CMD_AUTH && auth_one_step(cmd.arg, cmd.arglen)) &&
	    conn_in_len(s->c) > 0) {
		log_msg(LOG_LEVEL_INFO, s->c->id, "improper pipelining after %s ip=%s (%zu bytes)",
		        smtp_verb_name(cmd.verb), conn_peer_ip(s->c).s, conn_in_consume(s->c, SIZE_MAX));
		smtp_close(s, SMTP_R_PIPELINING, "pipelining");
		return;
	}
	if (!(d->flags & F_PRE_TLS) && tls_missing(s)) {
		smtp_send(s, SMTP_R_TLS_REQUIRED);
		return;
	}
	if (!(d->states & SMTP_ST(s->state))) {
		smtp_send(s, wrong_state(s, cmd.verb));
		return;
	}
	if (r != SMTP_R_NONE) {
		smtp_send(s, r);
		return;
	}
	d->fn(s, cmd.arg, cmd.arglen);
}

/* ---- EHLO / HELO (RFC 5321 §4.1.1.1) --------------------------------------- */

static bool helo_common(struct smtp_session *s, const char *arg, size_t len)
{
	/* §4.1.4: a refused EHLO leaves the session as it was ("MUST stay in the
	 * same state"); its error carries an enhanced code only when an earlier
	 * EHLO offered them. An accepted one resets the session like RSET; its
	 * reply carries no enhanced status code (RFC 2034 §4). */
	enum smtp_rid r = smtp_parse_helo(arg, len);
	if (r != SMTP_R_NONE) {
		smtp_send(s, r);
		return false;
	}
	smtp_tx_free(s);
	s->esmtp = false;
	memcpy(s->helo, arg, len);
	s->helo[len] = '\0';
	smtp_set_state(s, SMTP_S_READY);
	return true;
}

static void cmd_helo(struct smtp_session *s, const char *arg, size_t len)
{
	if (!helo_common(s, arg, len))
		return;
	char buf[SMTP_REPLY_LINE_MAX + 1];
	int n = smtp_reply(buf, sizeof(buf), false, 250, "2.0.0", "%s", s->app->hostname);
	if (n > 0)
		conn_write(s->c, buf, (size_t)n);
}

static void cmd_ehlo(struct smtp_session *s, const char *arg, size_t len)
{
	if (!helo_common(s, arg, len))
		return;
	const struct smtpd_conf *conf = smtp_conf(s);
	char first[SMTP_REPLY_LINE_MAX], size[40];
	const char *lines[16];
	size_t n = 0;
	snprintf(first, sizeof(first), "%s", s->app->hostname);
	snprintf(size, sizeof(size), "SIZE %llu", (unsigned long long)conf->max_message_size);
	lines[n++] = first;
	lines[n++] = "PIPELINING";
	lines[n++] = size;
	lines[n++] = "8BITMIME";
	lines[n++] = "SMTPUTF8";
	lines[n++] = "CHUNKING";
	lines[n++] = "DSN";
	lines[n++] = "ENHANCEDSTATUSCODES";
	/* RFC 3207 §4.2: STARTTLS is no longer offered once TLS is on; RFC 4954 §4:
	 * AUTH only over TLS, so no password ever crosses in the clear. */
	if (!conn_is_tls(s->c) && conf->tls != SMTPD_TLS_OFF && server_rt(s->c->conf)->tls)
		lines[n++] = "STARTTLS";
	if (conn_is_tls(s->c) && s->c->worker->auth)
		lines[n++] = "AUTH PLAIN LOGIN";
	lines[n++] = "HELP";
	char buf[16 * SMTP_REPLY_LINE_MAX];
	int w = smtp_reply_lines(buf, sizeof(buf), false, 250, "2.0.0", lines, n);
	if (w > 0)
		conn_write(s->c, buf, (size_t)w);
	s->esmtp = true;
}

/* ---- the transaction ---------------------------------------------------------- */

static void make_id(char *buf, size_t cap, uint64_t conn_id, unsigned n)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(buf, cap, "%llX%06llX%02X", (unsigned long long)ts.tv_sec & 0xFFFFFFull,
	         (unsigned long long)conn_id & 0xFFFFFFull, n & 0xFFu);
}

static void cmd_mail(struct smtp_session *s, const char *arg, size_t len)
{
	struct smtp_parse_opts o = {.esmtp = s->esmtp, .smtputf8 = false};
	struct smtp_tx *tx = calloc(1, sizeof(*tx));
	if (!tx) {
		smtp_send(s, SMTP_R_LOCAL_ERROR);
		return;
	}
	enum smtp_rid r = smtp_parse_mail(arg, len, &o, &tx->mail);
	/* RFC 1870 §6.1: a declared size over the limit is refused at MAIL. */
	if (r == SMTP_R_NONE && tx->mail.has_size && tx->mail.size > smtp_conf(s)->max_message_size)
		r = SMTP_R_SIZE_EXCEEDED;
	if (r != SMTP_R_NONE) {
		free(tx);
		smtp_send(s, r);
		return;
	}
	static _Atomic unsigned seq;
	make_id(tx->id, sizeof(tx->id), s->c->id, seq++);
	s->tx = tx;
	smtp_set_state(s, SMTP_S_MAIL);
	smtp_send(s, SMTP_R_MAIL_OK);
}

static void cmd_data(struct smtp_session *s, const char *arg, size_t len)
{
	(void)arg;
	(void)len;
	if (s->tx->bdat) {
		smtp_send(s, SMTP_R_BAD_SEQUENCE); /* RFC 3030 §2: no DATA after BDAT */
		return;
	}
	int rc = smtp_receive_begin(s, SMTP_DATA_DOT);
	if (rc < 0) {
		smtp_send(s, smtp_reply_for_errno(rc));
		return;
	}
	smtp_set_state(s, SMTP_S_DATA);
	smtp_send(s, SMTP_R_DATA_GO);
}

static void cmd_bdat(struct smtp_session *s, const char *arg, size_t len)
{
	uint64_t size = 0;
	bool last = false;
	enum smtp_rid r = arg ? smtp_parse_bdat(arg, len, &size, &last) : SMTP_R_BDAT_SYNTAX;
	if (r != SMTP_R_NONE) {
		smtp_close(s, r, "bdat-syntax"); /* the chunk cannot be delimited */
		return;
	}
	enum smtp_rid refuse = SMTP_R_NONE;
	if (!(CMD_STATES & SMTP_ST(s->state)))
		refuse = SMTP_R_BAD_SEQUENCE;
	else if (tls_missing(s))
		refuse = SMTP_R_TLS_REQUIRED;
	else if (s->state == SMTP_S_CONNECTED)
		refuse = SMTP_R_NEED_HELO;
	else if (!s->esmtp)
		refuse = SMTP_R_BAD_SEQUENCE; /* CHUNKING was not offered after HELO */
	else if (s->state == SMTP_S_READY)
		refuse = SMTP_R_NEED_MAIL;
	else if (s->state == SMTP_S_MAIL)
		refuse = SMTP_R_NO_VALID_RCPTS;
	else if (s->tx->failed != SMTP_R_NONE)
		refuse = s->tx->failed; /* RFC 3030 §4.2: a failed transaction stays failed */
	smtp_bdat_start(s, size, last, refuse);
}

static void cmd_rset(struct smtp_session *s, const char *arg, size_t len)
{
	(void)arg;
	(void)len;
	smtp_tx_free(s);
	smtp_set_state(s, s->helo[0] ? SMTP_S_READY : SMTP_S_CONNECTED);
	smtp_send(s, SMTP_R_OK);
}

/* ---- the rest ---------------------------------------------------------------- */

static void cmd_noop(struct smtp_session *s, const char *arg, size_t len)
{
	(void)arg;
	(void)len;
	smtp_send(s, SMTP_R_OK);
}

static void cmd_quit(struct smtp_session *s, const char *arg, size_t len)
{
	(void)arg;
	(void)len;
	smtp_close(s, SMTP_R_BYE, "ok");
}

static void cmd_vrfy(struct smtp_session *s, const char *arg, size_t len)
{
	(void)arg;
	(void)len;
	smtp_send(s, SMTP_R_VRFY); /* interface.md: 252, no verification (§3.5.3) */
}

static void cmd_expn(struct smtp_session *s, const char *arg, size_t len)
{
	(void)arg;
	(void)len;
	smtp_send(s, SMTP_R_NOT_IMPL);
}

static void cmd_help(struct smtp_session *s, const char *arg, size_t len)
{
	(void)arg;
	(void)len;
	smtp_send(s, SMTP_R_HELP);
}

static void cmd_starttls(struct smtp_session *s, const char *arg, size_t len)
{
	(void)arg;
	(void)len;
	SSL_CTX *ctx = server_rt(s->c->conf)->tls;
	if (smtp_conf(s)->tls == SMTPD_TLS_OFF || !ctx) {
		smtp_send(s, SMTP_R_NOT_IMPL);
		return;
	}
	if (conn_is_tls(s->c)) {
		smtp_send(s, SMTP_R_TLS_ACTIVE);
		return;
	}
	smtp_send(s, SMTP_R_STARTTLS_GO);
	if (conn_is_closing(s->c))
		return;
	smtp_set_state(s, SMTP_S_TLS);
	int dropped = conn_start_tls(s->c, ctx);
	if (dropped < 0) {
		log_msg(LOG_LEVEL_WARN, s->c->id, "STARTTLS: cannot start TLS");
		s->result = "tls-failed";
		smtp_set_state(s, SMTP_S_CLOSING);
		conn_abort(s->c);
		return;
	}
	if (dropped > 0) {
		/* RFC 3207 §6 (CVE-2011-0411 class): plaintext sent after STARTTLS
		 * would otherwise be taken as if it came over TLS. It is gone; the
		 * attempt counts as an error. */
		log_msg(LOG_LEVEL_WARN, s->c->id,
		        "STARTTLS: discarded %d bytes of plaintext pipelined after the "
		        "command ip=%s",
		        dropped, conn_peer_ip(s->c).s);
		s->errors++;
		s->error_run++;
	}
}

static void cmd_auth(struct smtp_session *s, const char *arg, size_t len)
{
	if (!s->esmtp) {
		smtp_send(s, SMTP_R_BAD_SEQUENCE);
		return;
	}
	if (s->auth_user[0]) {
		smtp_send(s, SMTP_R_AUTH_ALREADY);
		return;
	}
	if (!conn_is_tls(s->c)) {
		smtp_send(s, SMTP_R_AUTH_NEED_TLS);
		return;
	}
	smtp_auth_start(s, arg, len);
}
