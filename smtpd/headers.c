/*
 * headers: Return-Path:, Received: and Maildir file names (contract in
 * headers.h). Pure: no clock, no environment; the date is
 * common/date.c arithmetic, no timezone.
 */
#include "headers.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "triad/date.h"
#include "triad/limits.h"
#include "triad/strlit.h"

/* A name or token: visible ASCII, no spaces or controls. */
static bool visible(const char *s)
{
	if (s == NULL || *s == '\0')
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return false;
	return true;
}

/* An address as sent: no controls (UTF-8 is fine, RFC 6532). */
static bool address(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

static bool atom(const char *s)
{
	if (s == NULL || *s == '\0')
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || strchr("!#$%&'*+-/=?^_`{|}~", *p) != NULL))
			return false;
	return true;
}

const char *smtp_trace_protocol(const struct smtp_trace *t)
{
	static const char *const names[2][2][2] = {
	    {{"ESMTP", "ESMTPA"}, {"ESMTPS", "ESMTPSA"}},
	    {{"UTF8SMTP", "UTF8SMTPA"}, {"UTF8SMTPS", "UTF8SMTPSA"}},
	};
	if (!t->esmtp)
		return "SMTP";
	return names[t->smtputf8][t->tls][t->auth];
}

/* Text folded at SMTP_HEADER_FOLD: words are placed whole, joined by SP or LF HT. */
struct fold {
	char *buf;
	size_t cap, len, col;
	bool err;
};

static void put(struct fold *f, const char *s, size_t n)
{
	if (f->err || f->len + n + 1 > f->cap) {
		f->err = true;
		return;
	}
	memcpy(f->buf + f->len, s, n);
	f->len += n;
	f->buf[f->len] = '\0';
}

static void word(struct fold *f, const char *w, bool newline)
{
	size_t n = strlen(w);

	if (newline || f->col + 1 + n > SMTP_HEADER_FOLD) {
		put(f, STRLIT("\n\t"));
		f->col = 1;
	} else {
		put(f, STRLIT(" "));
		f->col++;
	}
	put(f, w, n);
	f->col += n;
}

/* RFC 5322 §3.3 date-time in UTC: "Thu, 26 Nov 2026 10:44:20 +0000". */
static bool format_date(char *buf, size_t cap, int64_t when)
{
	struct date_tm tm;
	date_utc(when, &tm);
	if (tm.year < 1900 || tm.year > 9999)
		return false;
	int n = snprintf(buf, cap, "%s, %d %s %lld %02d:%02d:%02d +0000", date_day_abbr[tm.wday],
	                 tm.mday, date_month_abbr[tm.mon - 1], (long long)tm.year, tm.hour, tm.min,
	                 tm.sec);
	return n > 0 && (size_t)n < cap;
}

static bool ip_chars(const char *s)
{
	if (s == NULL || *s == '\0')
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= 'A' && *p <= 'Z') || *p == '.' || *p == ':' || *p == '%'))
			return false;
	return true;
}

int smtp_received(char *buf, size_t cap, const struct smtp_trace *t)
{
	char tmp[SMTP_PATH_MAX + 64], date[64];
	const char *tls = t->tls_desc;
	struct fold f = {.buf = buf, .cap = cap};

	if (!visible(t->helo) || !ip_chars(t->peer_ip) || !visible(t->hostname) || !atom(t->id) ||
	    (t->rcpt != NULL && !address(t->rcpt)) || !format_date(date, sizeof date, t->when))
		return -1;
	/* Bounds that keep every word within tmp. */
	if (strlen(t->helo) > SMTP_DOMAIN_MAX || strlen(t->hostname) > SMTP_DOMAIN_MAX ||
	    (t->rcpt && strlen(t->rcpt) > SMTP_PATH_MAX) || strlen(t->id) > 64 ||
	    strlen(t->peer_ip) > 48 || (tls && strlen(tls) > 128))
		return -1;
	if (t->tls && tls != NULL && *tls != '\0') {
		/* Comment text: no parentheses or backslashes (RFC 5322 ctext). */
		for (const unsigned char *p = (const unsigned char *)tls; *p; p++)
			if (*p < 0x20 || *p >= 0x7f || *p == '(' || *p == ')' || *p == '\\')
				return -1;
	} else {
		tls = NULL;
	}
	if (cap == 0)
		return -1;
	buf[0] = '\0';

	put(&f, STRLIT("Received:"));
	f.col = 9;
	word(&f, "from", false);
	word(&f, t->helo, false);
	snprintf(tmp, sizeof tmp, "([%s%s])", strchr(t->peer_ip, ':') ? "IPv6:" : "", t->peer_ip);
	word(&f, tmp, false);

	if (tls != NULL) {
		/* "TLSv1.3 TLS_AES_128_GCM_SHA256" -> "(using TLSv1.3 with cipher ...)" */
		const char *sp = strchr(tls, ' ');
		word(&f, "(using", true);
		if (sp == NULL) {
			snprintf(tmp, sizeof tmp, "%s)", tls);
			word(&f, tmp, false);
		} else {
			snprintf(tmp, sizeof tmp, "%.*s", (int)(sp - tls), tls);
			word(&f, tmp, false);
			word(&f, "with", false);
			word(&f, "cipher", false);
			while (*sp == ' ')
				sp++;
			snprintf(tmp, sizeof tmp, "%s)", sp);
			word(&f, tmp, false);
		}
	}

	word(&f, "by", true);
	word(&f, t->hostname, false);
	word(&f, "(triad)", false);
	word(&f, "with", false);
	word(&f, smtp_trace_protocol(t), false);
	word(&f, "id", false);
	if (t->rcpt != NULL) {
		word(&f, t->id, false);
		word(&f, "for", true);
		snprintf(tmp, sizeof tmp, "<%s>;", t->rcpt);
		word(&f, tmp, false);
	} else {
		snprintf(tmp, sizeof tmp, "%s;", t->id);
		word(&f, tmp, false);
	}
	word(&f, date, false);
	put(&f, STRLIT("\n"));
	return f.err ? -1 : (int)f.len;
}

int smtp_return_path(char *buf, size_t cap, const char *sender)
{
	if (sender == NULL || !address(sender) || strlen(sender) > SMTP_PATH_MAX)
		return -1;
	int n = snprintf(buf, cap, "Return-Path: <%s>\n", sender);
	return (n < 0 || (size_t)n >= cap) ? -1 : n;
}

int smtp_maildir_name(char *buf, size_t cap, int64_t sec, long usec, long pid, uint64_t seq,
                      const char *host, uint64_t size)
{
	char h[4 * TRIAD_NAME_MAX + 1];
	size_t n = 0;

	if (sec < 0 || usec < 0 || usec > 999999 || pid <= 0 || host == NULL || *host == '\0')
		return -1;
	for (const unsigned char *p = (const unsigned char *)host; *p; p++) {
		if (n + 5 > sizeof h)
			return -1;
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.')
			h[n++] = (char)*p;
		else
			n += (size_t)snprintf(h + n, sizeof h - n, "\\%03o", *p);
	}
	h[n] = '\0';
	int r = snprintf(buf, cap, "%" PRId64 ".M%ldP%ldQ%" PRIu64 ".%s,S=%" PRIu64, sec, usec, pid,
	                 seq, h, size);
	if (r < 0 || (size_t)r >= cap || r > TRIAD_NAME_MAX)
		return -1;
	return r;
}
