/*
 * auth: AUTH PLAIN (RFC 4616) and AUTH LOGIN over TLS (RFC 4954), checked by
 * PAM through the worker's auth client (common/auth.c, which also delays
 * failures and throttles addresses).
 *
 * The exchange: "334 <challenge>" lines and the client's base64 responses,
 * "*" cancels (501 5.7.0), undecodable input is 501 5.5.2. Success 235 2.7.0,
 * wrong credentials 535 5.7.8, PAM unavailable or throttled 454 4.7.0.
 * Only the user name is ever logged; every buffer holding the password or a
 * response is wiped.
 */
#include "session.h"
#include "conf.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "triad/auth.h"
#include "triad/log.h"
#include "triad/strlit.h"

enum { MECH_NONE, MECH_PLAIN, MECH_LOGIN };

int smtp_auth_b64_decode(const char *in, size_t len, char *out, size_t cap)
{
	static const char alpha[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	if (len % 4 != 0)
		return -1;
	size_t o = 0;
	for (size_t i = 0; i < len; i += 4) {
		unsigned v = 0;
		int pad = 0;
		for (size_t j = 0; j < 4; j++) {
			char ch = in[i + j];
			const char *p = ch ? strchr(alpha, ch) : NULL;
			if (ch == '=' && i + 4 == len && j >= 2) {
				pad++;
				v <<= 6;
				continue;
			}
			if (!p || pad)
				return -1;
			v = (v << 6) | (unsigned)(p - alpha);
		}
		size_t n = 3 - (size_t)pad;
		if (o + n > cap)
			return -1;
		out[o++] = (char)(v >> 16);
		if (n > 1)
			out[o++] = (char)(v >> 8);
		if (n > 2)
			out[o++] = (char)v;
	}
	return (int)o;
}

static void reset(struct smtp_session *s)
{
	s->auth_mech = MECH_NONE;
	explicit_bzero(s->auth_login, sizeof(s->auth_login));
	smtp_set_state(s, SMTP_S_READY);
}

int smtp_auth_plain_split(const char *resp, size_t len, const char **user, size_t *ulen,
                          char *pass, size_t passcap)
{
	/* RFC 4616 §2: [authzid] NUL authcid NUL passwd; no proxying. */
	const char *n1 = memchr(resp, '\0', len);
	const char *n2 = n1 ? memchr(n1 + 1, '\0', len - (size_t)(n1 + 1 - resp)) : NULL;
	if (!n2)
		return -2;
	*user = n1 + 1;
	*ulen = (size_t)(n2 - *user);
	size_t plen = len - (size_t)(n2 + 1 - resp), zlen = (size_t)(n1 - resp);
	if (plen > TRIAD_AUTH_PASSWORD_MAX || plen >= passcap ||
	    (zlen && (zlen != *ulen || memcmp(resp, *user, *ulen) != 0)))
		return -1;
	memcpy(pass, n2 + 1, plen);
	pass[plen] = '\0';
	return 0;
}

void smtp_auth_abort(struct smtp_session *s)
{
	if (s->auth_req) {
		auth_cancel(s->auth_req);
		s->auth_req = NULL;
	}
	s->auth_mech = MECH_NONE;
	explicit_bzero(s->auth_login, sizeof(s->auth_login));
}

static void challenge(struct smtp_session *s, const char *text)
{
	conn_printf(s->c, "334 %s\r\n", text);
	smtp_set_state(s, SMTP_S_AUTH);
}

static void answered(enum auth_result r, void *arg)
{
	struct smtp_session *s = arg;
	s->auth_req = NULL;
	char user[80];
	log_escape(user, sizeof(user), s->auth_login, strlen(s->auth_login));
	if (r == AUTH_OK) {
		snprintf(s->auth_user, sizeof(s->auth_user), "%s", s->auth_login);
		log_msg(LOG_LEVEL_INFO, s->c->id, "auth ok user=\"%s\" ip=%s", user, conn_peer_ip(s->c).s);
	} else {
		log_msg(LOG_LEVEL_INFO, s->c->id, "auth failed user=\"%s\" ip=%s result=%s", user,
		        conn_peer_ip(s->c).s,
		        r == AUTH_DENIED      ? "denied"
		        : r == AUTH_THROTTLED ? "throttled"
		                              : "error");
	}
	reset(s);
	smtp_send(s, r == AUTH_OK       ? SMTP_R_AUTH_OK
	             : r == AUTH_DENIED ? SMTP_R_AUTH_FAILED
	                                : SMTP_R_AUTH_TEMP);
	if (s->state != SMTP_S_CLOSING)
		smtp_process(s);
}

static void check(struct smtp_session *s, const char *user, size_t ulen, const char *pass)
{
	if (ulen == 0 || ulen >= sizeof(s->auth_login) || memchr(user, '\0', ulen)) {
		reset(s);
		smtp_send(s, SMTP_R_AUTH_FAILED);
		return;
	}
	memcpy(s->auth_login, user, ulen);
	s->auth_login[ulen] = '\0';
	struct auth_client *ac = s->c->worker->auth;
	s->auth_req = ac ? auth_request(ac, smtp_conf(s)->pam_service, s->auth_login, pass,
	                                conn_peer_ip(s->c).s, answered, s)
	                 : NULL;
	if (!s->auth_req) {
		reset(s);
		smtp_send(s, SMTP_R_AUTH_TEMP);
		return;
	}
	smtp_set_state(s, SMTP_S_AUTH_WAIT);
}

/* One decoded response; the mechanism's next step. */
static void step(struct smtp_session *s, const char *resp, size_t len)
{
	char pass[TRIAD_AUTH_PASSWORD_MAX + 1];
	if (s->auth_mech == MECH_PLAIN) {
		const char *user;
		size_t ulen;
		int rc = smtp_auth_plain_split(resp, len, &user, &ulen, pass, sizeof(pass));
		if (rc < 0) {
			reset(s);
			smtp_send(s, rc == -2 ? SMTP_R_AUTH_DECODE : SMTP_R_AUTH_FAILED);
			return;
		}
		check(s, user, ulen, pass);
		explicit_bzero(pass, sizeof(pass));
		return;
	}
	/* LOGIN: the user name first, then the password. */
	if (!s->auth_login[0]) {
		if (len == 0 || len >= sizeof(s->auth_login) || memchr(resp, '\0', len)) {
			reset(s);
			smtp_send(s, SMTP_R_AUTH_FAILED);
			return;
		}
		memcpy(s->auth_login, resp, len);
		s->auth_login[len] = '\0';
		challenge(s, "UGFzc3dvcmQ6"); /* "Password:" */
		return;
	}
	if (len > TRIAD_AUTH_PASSWORD_MAX || memchr(resp, '\0', len)) {
		reset(s);
		smtp_send(s, SMTP_R_AUTH_FAILED);
		return;
	}
	memcpy(pass, resp, len);
	pass[len] = '\0';
	char user[sizeof(s->auth_login)];
	size_t ulen = strlen(s->auth_login);
	memcpy(user, s->auth_login, ulen + 1);
	check(s, user, ulen, pass);
	explicit_bzero(pass, sizeof(pass));
	explicit_bzero(user, sizeof(user));
}

static void response(struct smtp_session *s, const char *line, size_t len)
{
	if (len == 1 && line[0] == '*') {
		reset(s);
		smtp_send(s, SMTP_R_AUTH_CANCELLED);
		return;
	}
	char dec[TRIAD_AUTH_PASSWORD_MAX + 2 * TRIAD_AUTH_FIELD_MAX + 8];
	int n =
	    (len == 1 && line[0] == '=') ? 0 : smtp_auth_b64_decode(line, len, dec, sizeof(dec));
	if (n < 0) {
		reset(s);
		smtp_send(s, SMTP_R_AUTH_DECODE);
		return;
	}
	step(s, dec, (size_t)n);
	explicit_bzero(dec, sizeof(dec));
}

void smtp_auth_start(struct smtp_session *s, const char *arg, size_t len)
{
	const char *sp = memchr(arg, ' ', len);
	size_t mlen = sp ? (size_t)(sp - arg) : len;
	s->auth_login[0] = '\0';
	if (mlen == 5 && strncasecmp(arg, STRLIT("PLAIN")) == 0)
		s->auth_mech = MECH_PLAIN;
	else if (mlen == 5 && strncasecmp(arg, STRLIT("LOGIN")) == 0)
		s->auth_mech = MECH_LOGIN;
	else {
		smtp_send(s, SMTP_R_AUTH_MECH);
		return;
	}
	if (sp) {
		/* RFC 4954 §4: the initial response; "=" is an empty one. */
		response(s, sp + 1, len - mlen - 1);
		return;
	}
	challenge(s, s->auth_mech == MECH_PLAIN ? "" : "VXNlcm5hbWU6"); /* "Username:" */
}

void smtp_auth_line(struct smtp_session *s, const char *line, size_t len)
{
	response(s, line, len);
}
