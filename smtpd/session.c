/*
 * session: the SMTP connection's state and I/O glue (RFC 5321).
 *
 * Input is processed in order, one command at a time: smtp_process() reads
 * a line, dispatches it (commands.c) and goes on until the input runs out or
 * the session waits for something (a mailbox check, a spool write or the
 * delivery on the workq, PAM, the TLS handshake). Replies are written as each command finishes, so pipelined
 * commands (RFC 2920) are answered in order; work that completes later calls
 * smtp_process() again for what is still buffered.
 *
 * The state changes only through smtp_set_state() (logged at debug). The
 * session is freed only from conn's on_free, never inside its own callback.
 * One log line per session at the end (ip, helo, tls, user, result).
 */
#include "session.h"
#include "conf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <event2/event.h>
#include "triad/site.h"
#include "triad/auth.h"
#include "triad/duration.h"
#include "triad/log.h"

static const char *const state_names[SMTP_S__COUNT] = {
    [SMTP_S_GREETING] = "greeting",
    [SMTP_S_CONNECTED] = "connected",
    [SMTP_S_READY] = "ready",
    [SMTP_S_MAIL] = "mail",
    [SMTP_S_RCPT] = "rcpt",
    [SMTP_S_RCPT_WAIT] = "rcpt-wait",
    [SMTP_S_DATA] = "data",
    [SMTP_S_BDAT] = "bdat",
    [SMTP_S_DELIVERING] = "delivering",
    [SMTP_S_TLS] = "tls",
    [SMTP_S_AUTH] = "auth",
    [SMTP_S_AUTH_WAIT] = "auth-wait",
    [SMTP_S_CLOSING] = "closing",
};

/* A domain mail is accepted for: [smtpd] domains or a site's mail_domains. */
bool smtp_domain_accepted(const struct conf *c, const char *domain)
{
	const struct smtpd_conf *conf = c->own;
	for (size_t i = 0; i < conf->domains.n; i++)
		if (strcasecmp(conf->domains.v[i], domain) == 0)
			return true;
	return site_of_mail_domain(c, domain) >= 0;
}

/*
 * Reads and parses the aliases file (every generation: SIGHUP re-reads it,
 * and -t checks it). Errors name the aliases file and its line; an address
 * or target outside the accepted domains is one too, since mail for it
 * could never be accepted or delivered.
 */
static int load_aliases(struct conf *c, struct smtp_aliases *a, char *err, size_t errlen)
{
	const char *path = CONF_OWN(c, struct smtpd_conf)->aliases;
	char why[512];
	unsigned line = 0;
	size_t len = 0;
	char *text = NULL;
	FILE *f = fopen(path, "re");

	if (f) {
		size_t cap = 0;
		for (;;) {
			if (len == cap) {
				char *t = cap < SMTP_ALIASES_FILE_MAX ? realloc(text, cap ? cap * 2 : 4096)
				                                      : NULL;
				if (!t)
					break;
				text = t;
				cap = cap ? cap * 2 : 4096;
			}
			size_t n = fread(text + len, 1, cap - len, f);
			len += n;
			if (n == 0)
				break;
		}
		bool bad = ferror(f) || !feof(f);
		fclose(f);
		if (bad) {
			free(text);
			return conf_error_at(c, "aliases", err, errlen, "cannot read %s (larger than "
			                     "64 MiB, or a read error)", path);
		}
	} else {
		return conf_error_at(c, "aliases", err, errlen, "cannot open %s: %s", path,
		                     strerror(errno));
	}
	int rc = smtp_aliases_parse(text ? text : "", len, a, &line, why, sizeof(why));
	free(text);
	if (rc < 0 && line) {
		snprintf(err, errlen, "%s:%u: %s", path, line, why);
		return -1;
	}
	if (rc < 0)
		return conf_error_at(c, "aliases", err, errlen, "%s: %s", path, why);
	for (size_t i = 0; i < a->n; i++) {
		const struct smtp_alias *al = &a->v[i];
		const char *d = strrchr(al->addr, '@') + 1;
		if (!smtp_domain_accepted(c, d)) {
			snprintf(err, errlen, "%s:%u: '%s' is not in an accepted domain (domains or a "
			         "site's mail_domains)", path, al->line, al->addr);
			smtp_aliases_free(a);
			return -1;
		}
		for (size_t j = 0; j < al->ntargets; j++) {
			d = strrchr(al->targets[j], '@') + 1;
			if (!smtp_domain_accepted(c, d)) {
				snprintf(err, errlen, "%s:%u: target '%s' is not in an accepted domain "
				         "(domains or a site's mail_domains)", path, al->line,
				         al->targets[j]);
				smtp_aliases_free(a);
				return -1;
			}
		}
	}
	return 0;
}

int smtp_prepare(struct conf *c, struct server_runtime *rt, char *err, size_t errlen)
{
	const struct smtpd_conf *s = c->own;
	struct smtp_app *app = calloc(1, sizeof(*app));
	if (!app)
		return conf_error_at(c, "maildir_root", err, errlen, "out of memory");
	int rc =
	    fsroot_open_sub(&app->maildirs, &rt->root, s->maildir_root, strlen(s->maildir_root));
	if (rc < 0) {
		free(app);
		return conf_error_at(c, "maildir_root", err, errlen, "cannot open %s/%s: %s",
		                     c->g.root, s->maildir_root, strerror(-rc));
	}
	if (s->hostname)
		snprintf(app->hostname, sizeof(app->hostname), "%s", s->hostname);
	else if (gethostname(app->hostname, sizeof(app->hostname) - 1) < 0)
		snprintf(app->hostname, sizeof(app->hostname), "localhost");
	if (s->aliases && load_aliases(c, &app->aliases, err, errlen) < 0) {
		fsroot_close(&app->maildirs);
		free(app);
		return -1;
	}
	rt->app = app;
	return 0;
}

void smtp_release(struct server_runtime *rt)
{
	struct smtp_app *app = rt->app;
	if (!app)
		return;
	fsroot_close(&app->maildirs);
	smtp_aliases_free(&app->aliases);
	free(app);
}

const struct smtpd_conf *smtp_conf(const struct smtp_session *s)
{
	return s->c->conf->own;
}

void smtp_set_state(struct smtp_session *s, enum smtp_state st)
{
	if (s->state == st || s->state == SMTP_S_CLOSING)
		return; /* closing is final: a handler that just hit the error cap stays closed */
	log_msg(LOG_LEVEL_DEBUG, s->c->id, "state %s -> %s", state_names[s->state],
	        state_names[st]);
	s->state = st;
}

/* Errors that count against max_errors: every 4xx/5xx except "too many
 * recipients", which RFC 5321 §4.5.3.1.10 tells clients to expect and
 * work around. The cap is on errors made without delivering mail (as
 * Postfix's smtpd_hard_error_limit): a delivered message starts the count
 * again, so a client reusing one connection for many messages, each with a
 * stale recipient or two, is not cut off.
 * A refused recipient (550 5.1.1 unknown mailbox, 550 5.7.1 relaying) counts
 * at once while the transaction's refused recipients outnumber its accepted
 * ones: RFC 5321 §7.8 lets a server close a session whose RCPTs are "most or
 * all" invalid (address harvesting, relay probing). The others wait for the
 * transaction's end: a delivered message forgives them with the rest, a
 * transaction that ends without delivering (RSET, a refused message...)
 * counts them then. So a sender whose list has a few stale addresses among
 * good ones is never cut off before its message (Postfix would count each
 * one toward smtpd_hard_error_limit), and a harvester cannot hide behind one
 * good recipient per transaction. */
static void count_error(struct smtp_session *s, enum smtp_rid id)
{
	const struct smtp_reply_def *d = smtp_reply_def(id);
	if (!d || d->code < 400 || id == SMTP_R_TOO_MANY_RCPTS)
		return;
	if (id == SMTP_R_SHUTDOWN || id == SMTP_R_TIMEOUT || id == SMTP_R_TOO_MANY_ERRORS ||
	    id == SMTP_R_EARLY_TALKER)
		return;
	s->errors++;
	if ((id == SMTP_R_NO_MAILBOX || id == SMTP_R_RELAY_DENIED) && s->tx &&
	    s->tx->nrefused <= s->tx->nrcpts) {
		s->tx->nexcused++;
		return;
	}
	s->error_run++;
}

static void send_text(struct smtp_session *s, enum smtp_rid id, const char *text)
{
	char buf[SMTP_REPLY_LINE_MAX + 1];
	int n = text ? smtp_reply_namedf(buf, sizeof(buf), s->esmtp, id, "%s", text)
	             : smtp_reply_named(buf, sizeof(buf), s->esmtp, id);
	if (n > 0)
		conn_write(s->c, buf, (size_t)n);
	count_error(s, id);
	if (s->error_run >= smtp_conf(s)->max_errors && s->state != SMTP_S_CLOSING) {
		log_msg(LOG_LEVEL_INFO, s->c->id, "too many errors (%u)", s->errors);
		smtp_close(s, SMTP_R_TOO_MANY_ERRORS, "too-many-errors");
	}
}

void smtp_send(struct smtp_session *s, enum smtp_rid id)
{
	send_text(s, id, NULL);
}

void smtp_sendf(struct smtp_session *s, enum smtp_rid id, const char *fmt, ...)
{
	char text[SMTP_REPLY_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	send_text(s, id, text);
}

void smtp_close(struct smtp_session *s, enum smtp_rid reply, const char *result)
{
	if (s->state == SMTP_S_CLOSING)
		return;
	smtp_set_state(s, SMTP_S_CLOSING);
	if (result && (!s->result || strcmp(s->result, "ok") == 0))
		s->result = result;
	if (reply != SMTP_R_NONE) {
		char buf[SMTP_REPLY_LINE_MAX + 1];
		/* Replies in place of the greeting carry their enhanced code as the
		 * connection-limit refusal does (Postfix alike); a client that knows
		 * none ignores it (RFC 3463 §1: the text after the code). */
		bool esc = s->esmtp || reply == SMTP_R_EARLY_TALKER;
		int n = smtp_reply_named(buf, sizeof(buf), esc, reply);
		if (n > 0)
			conn_write(s->c, buf, (size_t)n);
	}
	smtp_auth_abort(s);
	conn_close(s->c);
}

void smtp_tx_free(struct smtp_session *s)
{
	struct smtp_tx *tx = s->tx;
	if (!tx)
		return;
	if (tx->dlv)
		smtp_maildir_discard(tx->dlv);
	s->error_run += tx->nexcused; /* ended without delivering: see count_error() */
	free(tx->rcpts);
	free(tx);
	s->tx = NULL;
}

/* ---- input ----------------------------------------------------------------- */

static void process_once(struct smtp_session *s)
{
	struct conn *c = s->c;
	for (;;) {
		if (conn_is_closing(c))
			return;
		switch (s->state) {
		case SMTP_S_GREETING:
			if (conn_in_len(c) > 0) {
				log_msg(LOG_LEVEL_INFO, c->id, "early talker ip=%s", conn_peer_ip(c).s);
				conn_in_consume(c, SIZE_MAX);
				smtp_close(s, SMTP_R_EARLY_TALKER, "early-talker");
			}
			return;
		case SMTP_S_DATA:
		case SMTP_S_BDAT:
			if (!smtp_receive_input(s))
				return;
			continue;
		case SMTP_S_DELIVERING:
		case SMTP_S_RCPT_WAIT:
		case SMTP_S_TLS:
		case SMTP_S_AUTH_WAIT:
		case SMTP_S_CLOSING:
		case SMTP_S__COUNT:
			return;
		case SMTP_S_AUTH:
		case SMTP_S_CONNECTED:
		case SMTP_S_READY:
		case SMTP_S_MAIL:
		case SMTP_S_RCPT:
			break;
		}
		/* Commands are limited to 512 octets with CRLF (RFC 5321 §4.5.3.1.4).
		 * AUTH responses are not (RFC 4954 §4); ours are bounded by the base64
		 * of the longest credentials the PAM helper accepts (s->line). */
		size_t cap = s->state == SMTP_S_AUTH ? sizeof(s->line) : SMTP_COMMAND_LINE_MAX - 1;
		size_t len;
		enum conn_line r = conn_read_line(c, CONN_EOL_CRLF, s->line, cap, &len);
		if (r == CONN_LINE_AGAIN)
			return;
		if (r == CONN_LINE_TOO_LONG) {
			if (s->state == SMTP_S_AUTH) {
				smtp_auth_abort(s);
				smtp_set_state(s, SMTP_S_READY);
				smtp_send(s, SMTP_R_AUTH_TOO_LONG);
			} else {
				smtp_send(s, SMTP_R_LINE_TOO_LONG);
			}
			continue;
		}
		if (s->state == SMTP_S_AUTH)
			smtp_auth_line(s, s->line, len);
		else
			smtp_command(s, s->line, len);
		explicit_bzero(s->line, len);
	}
}

void smtp_process(struct smtp_session *s)
{
	if (s->in_process) {
		s->again = true;
		return;
	}
	s->in_process = true;
	do {
		s->again = false;
		process_once(s);
	} while (s->again && !conn_is_closing(s->c));
	s->in_process = false;
}

/* ---- conn callbacks ---------------------------------------------------------- */

static void on_read(struct conn *c)
{
	smtp_process(c->proto);
}

static void on_timeout(struct conn *c, bool writing)
{
	struct smtp_session *s = c->proto;
	if (!writing && (s->state == SMTP_S_DELIVERING || s->state == SMTP_S_AUTH_WAIT ||
	                 s->state == SMTP_S_RCPT_WAIT || s->spool_wait)) {
		/* We owe the client a reply: its silence is no timeout. */
		conn_resume_read(c);
		return;
	}
	log_msg(LOG_LEVEL_INFO, c->id, "%s timeout ip=%s state=%s", writing ? "send" : "read",
	        conn_peer_ip(c).s, state_names[s->state]);
	if (writing || s->state == SMTP_S_TLS) {
		/* Nothing can be said: the peer does not read, or is mid-handshake. */
		s->result = writing ? "send-timeout" : "timeout";
		smtp_set_state(s, SMTP_S_CLOSING);
		conn_abort(c);
		return;
	}
	smtp_close(s, SMTP_R_TIMEOUT, "timeout");
}

static void on_eof(struct conn *c, bool error)
{
	struct smtp_session *s = c->proto;
	if (!error && (s->state == SMTP_S_DELIVERING || s->spool_wait)) {
		/* The client half-closed after its final dot: it still reads, and it
		 * must learn whether its message was taken, else it retries and the
		 * message is stored twice. receive.c closes once the reply is out.
		 * (spool_wait: its input is still buffered behind a spool write; if
		 * the message turns out incomplete, receive.c closes then.) */
		s->peer_eof = true;
		conn_hold(c);
		return;
	}
	if (s->state != SMTP_S_CLOSING && (!s->result || strcmp(s->result, "ok") == 0))
		s->result = error ? "error"
		            : (s->state == SMTP_S_DATA || s->state == SMTP_S_BDAT)
		                ? "disconnect-in-data"
		                : "disconnect";
}

static void greet(struct smtp_session *s)
{
	char buf[SMTP_REPLY_LINE_MAX + 1];
	/* RFC 2034 §4: the greeting carries no enhanced status code. */
	int n =
	    smtp_reply(buf, sizeof(buf), false, 220, "2.0.0", "%s ESMTP triad", s->app->hostname);
	if (n > 0)
		conn_write(s->c, buf, (size_t)n);
	smtp_set_state(s, SMTP_S_CONNECTED);
}

static void greet_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct smtp_session *s = arg;
	if (s->state != SMTP_S_GREETING)
		return;
	if (conn_in_len(s->c) > 0) {
		smtp_process(s); /* the early talker's input arrived with the timer */
		return;
	}
	greet(s);
}

static void on_tls(struct conn *c, bool ok)
{
	struct smtp_session *s = c->proto;
	if (!ok) {
		log_msg(LOG_LEVEL_INFO, c->id, "STARTTLS handshake failed ip=%s", conn_peer_ip(c).s);
		s->result = "tls-failed";
		smtp_set_state(s, SMTP_S_CLOSING);
		conn_abort(c);
		return;
	}
	char desc[128];
	log_msg(LOG_LEVEL_DEBUG, c->id, "TLS %s", conn_tls_describe(c, desc, sizeof(desc)));
	/* RFC 3207 §4.2: forget everything learnt before; the client starts over
	 * with EHLO and sees the post-TLS capabilities. */
	smtp_tx_free(s);
	s->helo[0] = '\0';
	s->esmtp = false;
	s->tls_started = true;
	smtp_set_state(s, SMTP_S_CONNECTED);
	smtp_process(s);
}

static void on_shutdown(struct conn *c)
{
	struct smtp_session *s = c->proto;
	s->shutting_down = true;
	switch (s->state) {
	case SMTP_S_DATA:
	case SMTP_S_BDAT:
	case SMTP_S_DELIVERING:
		/* A message in flight finishes (bounded by shutdown_timeout). */
		return;
	case SMTP_S_TLS:
		s->result = "shutdown";
		smtp_set_state(s, SMTP_S_CLOSING);
		conn_abort(c); /* a plaintext 421 would break the handshake */
		return;
	default:
		smtp_close(s, SMTP_R_SHUTDOWN, "shutdown");
	}
}

static void on_free(struct conn *c)
{
	struct smtp_session *s = c->proto;
	if (!s)
		return;
	smtp_auth_abort(s);
	smtp_rcpt_abort(s);
	smtp_tx_free(s);
	if (s->greet_timer)
		event_free(s->greet_timer);
	char helo[96];
	char desc[128] = "";
	if (conn_is_tls(c))
		conn_tls_describe(c, desc, sizeof(desc));
	log_escape(helo, sizeof(helo), s->helo, strlen(s->helo));
	log_msg(LOG_LEVEL_INFO, c->id,
	        "session ip=%s helo=\"%s\" tls=\"%s\" user=\"%s\" messages=%u errors=%u "
	        "result=%s",
	        conn_peer_ip(c).s, helo, desc, s->auth_user, s->messages, s->errors,
	        s->result ? s->result : "ok");
	explicit_bzero(s, sizeof(*s));
	free(s);
	c->proto = NULL;
}

static const struct conn_ops ops = {
    .on_read = on_read,
    .on_timeout = on_timeout,
    .on_eof = on_eof,
    .on_tls = on_tls,
    .on_shutdown = on_shutdown,
    .on_free = on_free,
};

void smtp_accept(struct conn *c, int tag)
{
	(void)tag;
	const struct smtpd_conf *conf = c->conf->own;
	struct smtp_session *s = calloc(1, sizeof(*s));
	if (!s) {
		conn_abort(c);
		return;
	}
	s->c = c;
	s->app = server_rt(c->conf)->app;
	s->state = SMTP_S_GREETING;
	c->proto = s;
	c->ops = &ops;
	conn_set_timeouts(c, conf->timeout, conf->timeout);
	log_msg(LOG_LEVEL_DEBUG, c->id, "connect ip=%s", conn_peer_ip(c).s);
	if (conf->greeting_delay > 0) {
		/* Clients must wait for the greeting (RFC 5321 §3.1); spam engines
		 * that talk first give themselves away. */
		s->greet_timer = evtimer_new(c->base, greet_cb, s);
		struct timeval tv = duration_tv(conf->greeting_delay);
		if (s->greet_timer && evtimer_add(s->greet_timer, &tv) == 0)
			return;
	}
	greet(s);
}
