/*
 * login: USER and PASS (RFC 959 §4.1.1). Anonymous logins ("anonymous",
 * "ftp", any password) are read-only and exist only with anonymous = read;
 * every other name is checked by PAM through the worker's auth client,
 * without blocking: nothing more is read until the answer arrives. The auth
 * library holds failures back (TRIAD_AUTH_FAIL_DELAY_MS) and throttles an
 * address; after max_login_failures failures (FTP_LOGIN_FAILURES_MAX by
 * default) the session gets 421 and is closed. One log line per login attempt: user, peer, TLS,
 * result; the password is never logged and is wiped by the session after PASS.
 */
#include "session.h"

#include <string.h>
#include <strings.h>

#include "triad/auth.h"
#include "triad/log.h"
#include "triad/server.h"
#include "triad/site.h"
#include "triad/strlit.h"

static bool anonymous_name(const char *u)
{
	return strcasecmp(u, "anonymous") == 0 || strcasecmp(u, "ftp") == 0;
}

static const char *const login_results[] = {"ok", "failed"};
static const char *const directions[] = {"upload", "download"};

const struct metric_family ftp_metrics[FTP_METRICS] = {
    [FTP_METRIC_LOGINS] = {"logins_total", "USER/PASS logins (anonymous ones included), by result.",
                           METRIC_COUNTER, "result", login_results, 2, NULL, 0},
    [FTP_METRIC_TRANSFERS] = {"transfers_total",
                              "File transfers that completed (RETR; STOR, APPE, STOU), by "
                              "direction.",
                              METRIC_COUNTER, "direction", directions, 2, NULL, 0},
};

/* Every login outcome passes here once: its log line and its count. */
static void log_login(struct ftp_session *s, const char *result)
{
	metrics_add(s->c->worker, METRIC_COMMON + FTP_METRIC_LOGINS,
	            strncmp(result, STRLIT("ok")) == 0 ? FTP_METRIC_LOGIN_OK : FTP_METRIC_LOGIN_FAILED, 1);
	char user[TRIAD_AUTH_FIELD_MAX * 4 + 8];
	log_escape(user, sizeof(user), s->user, strlen(s->user));
	log_msg(LOG_LEVEL_INFO, s->c->id, "login user=\"%s\" ip=%s tls=%s result=%s site=%s",
	        user, conn_peer_ip(s->c).s, conn_is_tls(s->c) ? "yes" : "no", result,
	        s->site ? s->site : "-");
}

/*
 * A login listed in a site's ftp_users gets that site's docroot as "/"
 * (fsroot confinement, as ftp_root). Opened per session, so a site costs
 * ftpd no descriptor until one of its users logs in. 0, or -errno.
 */
static int site_enter(struct ftp_session *s)
{
	long i = site_of_ftp_user(s->c->conf, s->user);
	const struct conf_site *site;
	int rc;

	if (i < 0)
		return 0;
	site = site_at(s->c->conf, (size_t)i);
	rc = fsroot_open_sub(&s->site_root, &server_rt(s->c->conf)->root, site->docroot,
	                     strlen(site->docroot));
	if (rc < 0) {
		log_msg(LOG_LEVEL_ERROR, s->c->id, "login user site=%s: cannot open %s: %s",
		        site->name, site->docroot, strerror(-rc));
		return rc;
	}
	s->root = &s->site_root;
	s->site = site->name;
	return 0;
}

void ftp_site_leave(struct ftp_session *s)
{
	if (s->site_root.fd >= 0) {
		s->root = &((struct ftp_app *)server_rt(s->c->conf)->app)->ftp_root;
		fsroot_close(&s->site_root);
	}
	s->site = NULL;
}

void ftp_login_reset(struct ftp_session *s)
{
	if (s->auth) {
		auth_cancel(s->auth);
		s->auth = NULL;
	}
	s->user[0] = '\0';
	s->anonymous = false;
	if (s->state != FTP_STATE_CLOSING)
		ftp_set_state(s, FTP_STATE_USER);
}

void ftp_cmd_user(struct ftp_session *s, struct ftp_command *cmd)
{
	if (s->state == FTP_STATE_READY) {
		/* vsftpd's answer: a session is one user; REIN starts over. */
		ftp_reply(s, 530, "Already logged in: use REIN to change user");
		return;
	}
	if (cmd->arglen >= sizeof(s->user) || memchr(cmd->arg, '\0', cmd->arglen)) {
		ftp_reply(s, 501, "User name too long");
		return;
	}
	memcpy(s->user, cmd->arg, cmd->arglen + 1);
	ftp_set_state(s, FTP_STATE_PASS);
	if (anonymous_name(s->user) && s->cf->anonymous == FTPD_ANON_READ)
		ftp_reply(s, 331, "Anonymous login: send any password (your e-mail address)");
	else
		ftp_reply(s, 331, "Password required for %s", s->user);
}

static void login_failed(struct ftp_session *s, const char *result, const char *text)
{
	log_login(s, result);
	s->user[0] = '\0';
	ftp_set_state(s, FTP_STATE_USER);
	if (++s->failures >= s->cf->max_login_failures) {
		ftp_reply(s, 530, "%s", text);
		ftp_close(s, 421, "Too many failed logins, closing control connection");
		return;
	}
	ftp_reply(s, 530, "%s", text);
}

static void auth_done(enum auth_result r, void *arg)
{
	struct ftp_session *s = arg;
	s->auth = NULL;
	switch (r) {
	case AUTH_OK:
		if (site_enter(s) < 0) {
			log_login(s, "error");
			s->user[0] = '\0';
			ftp_set_state(s, FTP_STATE_USER);
			ftp_reply(s, 530, "Login failed: temporary error, try again later");
			break;
		}
		log_login(s, "ok");
		s->failures = 0;
		ftp_vpath_root(&s->cwd);
		ftp_set_state(s, FTP_STATE_READY);
		ftp_reply(s, 230, "Login successful");
		break;
	case AUTH_DENIED:
		login_failed(s, "denied", "Login incorrect");
		break;
	case AUTH_THROTTLED:
		login_failed(s, "throttled", "Login incorrect");
		break;
	default:
		log_login(s, "error");
		s->user[0] = '\0';
		ftp_set_state(s, FTP_STATE_USER);
		ftp_reply(s, 530, "Login failed: temporary error, try again later");
		break;
	}
	ftp_resume(s);
}

void ftp_cmd_pass(struct ftp_session *s, struct ftp_command *cmd)
{
	if (s->state == FTP_STATE_READY) {
		ftp_reply(s, 503, "Already logged in");
		return;
	}
	if (s->state != FTP_STATE_PASS) {
		ftp_reply(s, 503, "Login with USER first");
		return;
	}
	if (anonymous_name(s->user) && s->cf->anonymous == FTPD_ANON_READ) {
		s->anonymous = true;
		log_login(s, "ok anonymous");
		ftp_vpath_root(&s->cwd);
		ftp_set_state(s, FTP_STATE_READY);
		ftp_reply(s, 230, "Anonymous login successful: read-only access");
		return;
	}
	struct auth_client *ac = s->c->worker->auth;
	if (!ac || cmd->arglen > TRIAD_AUTH_PASSWORD_MAX) {
		login_failed(s, ac ? "denied" : "error", "Login incorrect");
		return;
	}
	s->auth =
	    auth_request(ac, s->cf->pam_service, s->user, cmd->arg, conn_peer_ip(s->c).s, auth_done, s);
	if (!s->auth) {
		login_failed(s, "error", "Login incorrect");
		return;
	}
	ftp_set_state(s, FTP_STATE_AUTH);
	conn_pause_read(s->c);
}
