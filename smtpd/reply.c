/*
 * reply: builds SMTP reply lines (see reply.h for the contract) and holds
 * the table of the server's standard replies. Pure: no I/O, no globals but
 * the constant table.
 */
#include "reply.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "triad/limits.h"

/* clang-format off */
static const struct smtp_reply_def table[SMTP_R__COUNT] = {
	[SMTP_R_NONE] = {250, "2.0.0", "Ok"},
	[SMTP_R_OK] = {250, "2.0.0", "Ok"},
	[SMTP_R_MAIL_OK] = {250, "2.1.0", "Sender ok"},
	[SMTP_R_RCPT_OK] = {250, "2.1.5", "Recipient ok"},
	[SMTP_R_QUEUED] = {250, "2.0.0", "Message accepted for delivery"},
	[SMTP_R_BDAT_OK] = {250, "2.0.0", "Chunk received"},
	[SMTP_R_BYE] = {221, "2.0.0", "Bye"},
	[SMTP_R_HELP] = {214, "2.0.0",
	                 "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS "
	                 "AUTH"},
	[SMTP_R_VRFY] = {252, "2.0.0",
	                 "Cannot VRFY user, but will accept message and attempt delivery"},
	[SMTP_R_STARTTLS_GO] = {220, "2.0.0", "Ready to start TLS"},
	[SMTP_R_AUTH_OK] = {235, "2.7.0", "Authentication successful"},
	[SMTP_R_DATA_GO] = {354, NULL, "End data with <CR><LF>.<CR><LF>"},

	[SMTP_R_SHUTDOWN] = {421, "4.3.2", "Service shutting down, closing transmission channel"},
	[SMTP_R_TIMEOUT] = {421, "4.4.2", "Timeout, closing transmission channel"},
	[SMTP_R_TOO_MANY_ERRORS] = {421, "4.7.0", "Too many errors, closing transmission channel"},
	[SMTP_R_TOO_MANY_CONN] = {421, "4.7.0", "Too many connections from your address"},
	[SMTP_R_LOCAL_ERROR] = {451, "4.3.0", "Local error in processing, try again later"},
	[SMTP_R_NO_SPACE] = {452, "4.3.1", "Insufficient system storage"},
	[SMTP_R_TOO_MANY_RCPTS] = {452, "4.5.3", "Too many recipients"},
	[SMTP_R_TLS_TEMP] = {454, "4.7.0", "TLS not available due to temporary reason"},
	[SMTP_R_AUTH_TEMP] = {454, "4.7.0", "Temporary authentication failure"},

	[SMTP_R_UNKNOWN_CMD] = {500, "5.5.2", "Command unrecognized"},
	[SMTP_R_LINE_TOO_LONG] = {500, "5.5.2", "Line too long"},
	[SMTP_R_BAD_CHAR] = {500, "5.5.2", "Bare <CR>, <LF> or NUL in command line"},
	[SMTP_R_AUTH_TOO_LONG] = {500, "5.5.6", "Authentication exchange line is too long"},
	[SMTP_R_NO_ARGS] = {501, "5.5.4", "No parameters allowed"},
	[SMTP_R_NEED_ARG] = {501, "5.5.4", "Argument required"},
	[SMTP_R_HELO_SYNTAX] = {501, "5.5.2", "Syntax: EHLO domain or address literal"},
	[SMTP_R_MAIL_SYNTAX] = {501, "5.5.4", "Syntax: MAIL FROM:<address> [parameters]"},
	[SMTP_R_RCPT_SYNTAX] = {501, "5.5.4", "Syntax: RCPT TO:<address> [parameters]"},
	[SMTP_R_BDAT_SYNTAX] = {501, "5.5.4", "Syntax: BDAT chunk-size [LAST]"},
	[SMTP_R_BAD_SENDER] = {501, "5.1.7", "Bad sender address syntax"},
	[SMTP_R_BAD_RCPT] = {501, "5.1.3", "Bad recipient address syntax"},
	[SMTP_R_SENDER_TOO_LONG] = {501, "5.1.7", "Path too long"},
	[SMTP_R_RCPT_TOO_LONG] = {501, "5.1.3", "Path too long"},
	[SMTP_R_NULL_RCPT] = {501, "5.1.3", "Null recipient not allowed"},
	[SMTP_R_PARAM_DUP] = {501, "5.5.4", "Duplicate parameter"},
	[SMTP_R_PARAM_BAD] = {501, "5.5.4", "Invalid parameter value"},
	[SMTP_R_NOTIFY_NEVER] = {501, "5.5.4", "NOTIFY=NEVER cannot be combined with other values"},
	[SMTP_R_AUTH_CANCELLED] = {501, "5.7.0", "Authentication cancelled"},
	[SMTP_R_AUTH_DECODE] = {501, "5.5.2", "Cannot decode response"},
	[SMTP_R_NOT_IMPL] = {502, "5.5.1", "Command not implemented"},
	[SMTP_R_BAD_SEQUENCE] = {503, "5.5.1", "Bad sequence of commands"},
	[SMTP_R_NEED_HELO] = {503, "5.5.1", "Send EHLO or HELO first"},
	[SMTP_R_NEED_MAIL] = {503, "5.5.1", "Need MAIL command"},
	[SMTP_R_NEED_RCPT] = {503, "5.5.1", "Need RCPT command"},
	[SMTP_R_NESTED_MAIL] = {503, "5.5.1", "Nested MAIL command"},
	[SMTP_R_TLS_ACTIVE] = {503, "5.5.1", "TLS already active"},
	[SMTP_R_AUTH_ALREADY] = {503, "5.5.1", "Already authenticated"},
	[SMTP_R_PIPELINING] = {503, "5.5.0", "Improper use of SMTP command pipelining"},
	[SMTP_R_AUTH_MECH] = {504, "5.5.4", "Unrecognized authentication type"},
	[SMTP_R_TLS_REQUIRED] = {530, "5.7.0", "Must issue a STARTTLS command first"},
	[SMTP_R_AUTH_FAILED] = {535, "5.7.8", "Authentication credentials invalid"},
	[SMTP_R_AUTH_NEED_TLS] = {538, "5.7.11",
	                          "Encryption required for requested authentication mechanism"},
	[SMTP_R_NO_MAILBOX] = {550, "5.1.1", "Mailbox unavailable"},
	[SMTP_R_RELAY_DENIED] = {550, "5.7.1", "Relaying denied"},
	[SMTP_R_SIZE_EXCEEDED] = {552, "5.3.4", "Message size exceeds fixed maximum message size"},
	[SMTP_R_UTF8_ADDR] = {553, "5.6.7", "Non-ASCII address requires SMTPUTF8"},
	[SMTP_R_NO_VALID_RCPTS] = {554, "5.5.1", "No valid recipients"},
	[SMTP_R_EARLY_TALKER] = {554, "5.5.0", "Protocol error: input before the greeting"},
	[SMTP_R_PARAM_UNKNOWN] = {555, "5.5.4", "Unsupported parameter"},
	[SMTP_R_PARAM_NO_ESMTP] = {555, "5.5.4", "Parameters require EHLO"},
	[SMTP_R_BODY_UNSUPPORTED] = {555, "5.5.4", "BODY=BINARYMIME not supported"},

	[SMTP_R_DATA_BARE_LF] = {550, "5.5.2", "Message refused: bare <LF> received"},
	[SMTP_R_DATA_BARE_CR] = {550, "5.5.2", "Message refused: bare <CR> received"},
	[SMTP_R_DATA_LONG_LINE] = {550, "5.6.0", "Message refused: line longer than 1000 octets"},
	[SMTP_R_DATA_TOO_BIG] = {552, "5.3.4", "Message size exceeds fixed maximum message size"},
};
/* clang-format on */

enum smtp_rid smtp_reply_for_errno(int err)
{
	if (err < 0)
		err = -err;
	return err == ENOSPC || err == EDQUOT ? SMTP_R_NO_SPACE : SMTP_R_LOCAL_ERROR;
}

const struct smtp_reply_def *smtp_reply_def(enum smtp_rid id)
{
	if ((unsigned)id >= SMTP_R__COUNT)
		return NULL;
	return &table[id];
}

/* "0" or 1..3 digits without a leading zero (RFC 3463 §2: subject, detail). */
static const char *status_number(const char *p)
{
	if (*p == '0')
		return p + 1;
	if (*p < '1' || *p > '9')
		return NULL;
	for (int i = 0; i < 3 && *p >= '0' && *p <= '9'; i++)
		p++;
	return p;
}

bool smtp_reply_valid(int code, const char *status)
{
	if (code < 200 || code > 559 || (code / 10) % 10 > 5)
		return false;
	if (code / 100 == 3)
		return status == NULL;
	if (status == NULL || status[0] != '0' + code / 100 || status[1] != '.')
		return false;
	const char *p = status_number(status + 2);
	if (p == NULL || *p != '.')
		return false;
	p = status_number(p + 1);
	return p != NULL && *p == '\0';
}

/* Appends "CODE[-| ][STATUS ]TEXT\r\n" at *pos, TEXT sanitised and cut to the line limit. */
static int put_line(char *buf, size_t cap, size_t *pos, bool esc, int code, const char *status,
                    bool more, const char *text)
{
	char line[SMTP_REPLY_LINE_MAX + 1];
	int n = snprintf(line, sizeof line, "%03d%c", code, more ? '-' : ' ');
	size_t len = (size_t)n;

	if (esc && status != NULL)
		len += (size_t)snprintf(line + len, sizeof line - len, "%s ", status);
	/* Room for CRLF inside SMTP_REPLY_LINE_MAX. */
	for (const unsigned char *t = (const unsigned char *)text;
	     *t != '\0' && len < SMTP_REPLY_LINE_MAX - 2; t++) {
		if (*t == '\r' || *t == '\n')
			continue;
		line[len++] = (*t == '\t' || (*t >= 0x20 && *t < 0x7f)) ? (char)*t : '?';
	}
	line[len++] = '\r';
	line[len++] = '\n';
	if (*pos + len + 1 > cap)
		return -1;
	memcpy(buf + *pos, line, len);
	*pos += len;
	buf[*pos] = '\0';
	return 0;
}

static bool check(int code, const char *status)
{
	bool ok = smtp_reply_valid(code, status);
	assert(ok && "reply code and enhanced status code disagree");
	return ok;
}

static int vreply(char *buf, size_t cap, bool esc, int code, const char *status, const char *fmt,
                  va_list ap)
{
	char text[SMTP_REPLY_LINE_MAX];
	size_t pos = 0;

	if (!check(code, status) || cap == 0)
		return -1;
	vsnprintf(text, sizeof text, fmt, ap);
	if (put_line(buf, cap, &pos, esc, code, status, false, text) < 0)
		return -1;
	return (int)pos;
}

int smtp_reply(char *buf, size_t cap, bool esc, int code, const char *status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vreply(buf, cap, esc, code, status, fmt, ap);
	va_end(ap);
	return r;
}

int smtp_reply_lines(char *buf, size_t cap, bool esc, int code, const char *status,
                     const char *const *lines, size_t n)
{
	size_t pos = 0;

	if (!check(code, status) || n == 0 || cap == 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (put_line(buf, cap, &pos, esc, code, status, i + 1 < n, lines[i]) < 0)
			return -1;
	return (int)pos;
}

int smtp_reply_named(char *buf, size_t cap, bool esc, enum smtp_rid id)
{
	const struct smtp_reply_def *d = smtp_reply_def(id);

	if (d == NULL)
		return -1;
	return smtp_reply(buf, cap, esc, d->code, d->status, "%s", d->text);
}

int smtp_reply_namedf(char *buf, size_t cap, bool esc, enum smtp_rid id, const char *fmt, ...)
{
	const struct smtp_reply_def *d = smtp_reply_def(id);
	va_list ap;

	if (d == NULL)
		return -1;
	va_start(ap, fmt);
	int r = vreply(buf, cap, esc, d->code, d->status, fmt, ap);
	va_end(ap);
	return r;
}
