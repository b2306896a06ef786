/*
 * reply: the one place SMTP replies are built (RFC 5321 §4.2, RFC 2034, RFC 3463).
 *
 * Every reply takes its enhanced status code as a required argument, checked
 * against the reply code: class 2/4/5 codes need "c.s.d" with c equal to the
 * code's first digit, 3xx codes (354, 334) have none and take NULL (RFC 3463
 * defines no class 3). A mismatch is a programming error: assert() fires, and
 * with NDEBUG the builder returns -1 instead of sending a wrong reply.
 *
 * ESC says whether the status is written: true once the client issued EHLO
 * and so saw ENHANCEDSTATUSCODES. RFC 2034 §4 exempts "the initial greeting
 * and any response to HELO or EHLO"; the session passes false for those
 * (errors included) and for every reply of a session without EHLO.
 *
 * Text is sanitised: CR and LF are removed, other bytes outside RFC 5321
 * textstring (HT, SP..~) become '?', and a line is cut to fit
 * SMTP_REPLY_LINE_MAX octets including CRLF (§4.5.3.1.5). Output is CRLF
 * terminated and NUL terminated; the return value is its length without the
 * NUL, or -1 when it does not fit in CAP or the code/status are invalid.
 *
 * The session refers to replies by name (enum smtp_rid) through the table
 * below; smtp_reply_named*() build them.
 */
#ifndef SMTPD_REPLY_H
#define SMTPD_REPLY_H

#include <stdbool.h>
#include <stddef.h>

/* Names of every reply the server sends. SMTP_R_NONE means "no error". */
/* clang-format off */
enum smtp_rid {
	SMTP_R_NONE = 0,
	/* success */
	SMTP_R_OK,             /* 250 2.0.0 */
	SMTP_R_MAIL_OK,        /* 250 2.1.0 */
	SMTP_R_RCPT_OK,        /* 250 2.1.5 */
	SMTP_R_QUEUED,         /* 250 2.0.0 message stored */
	SMTP_R_BDAT_OK,        /* 250 2.0.0 chunk received */
	SMTP_R_BYE,            /* 221 2.0.0 */
	SMTP_R_HELP,           /* 214 2.0.0 */
	SMTP_R_VRFY,           /* 252 2.0.0 (interface.md: no verification) */
	SMTP_R_STARTTLS_GO,    /* 220 2.0.0 */
	SMTP_R_AUTH_OK,        /* 235 2.7.0 (RFC 4954) */
	SMTP_R_DATA_GO,        /* 354 */
	/* transient */
	SMTP_R_SHUTDOWN,       /* 421 4.3.2 */
	SMTP_R_TIMEOUT,        /* 421 4.4.2 */
	SMTP_R_TOO_MANY_ERRORS, /* 421 4.7.0 */
	SMTP_R_TOO_MANY_CONN,  /* 421 4.7.0 per-IP limit */
	SMTP_R_LOCAL_ERROR,    /* 451 4.3.0 delivery failed */
	SMTP_R_NO_SPACE,       /* 452 4.3.1 ENOSPC */
	SMTP_R_TOO_MANY_RCPTS, /* 452 4.5.3 */
	SMTP_R_TLS_TEMP,       /* 454 4.7.0 (RFC 3207) */
	SMTP_R_AUTH_TEMP,      /* 454 4.7.0 (RFC 4954) */
	/* permanent: the command */
	SMTP_R_UNKNOWN_CMD,    /* 500 5.5.2 */
	SMTP_R_LINE_TOO_LONG,  /* 500 5.5.2 (§4.5.3.1.10) */
	SMTP_R_BAD_CHAR,       /* 500 5.5.2 bare CR/LF or NUL in a command line */
	SMTP_R_AUTH_TOO_LONG,  /* 500 5.5.6 (RFC 4954 §4) */
	SMTP_R_NO_ARGS,        /* 501 5.5.4 */
	SMTP_R_NEED_ARG,       /* 501 5.5.4 */
	SMTP_R_HELO_SYNTAX,    /* 501 5.5.2 */
	SMTP_R_MAIL_SYNTAX,    /* 501 5.5.4 */
	SMTP_R_RCPT_SYNTAX,    /* 501 5.5.4 */
	SMTP_R_BDAT_SYNTAX,    /* 501 5.5.4 */
	SMTP_R_BAD_SENDER,     /* 501 5.1.7 */
	SMTP_R_BAD_RCPT,       /* 501 5.1.3 */
	SMTP_R_SENDER_TOO_LONG, /* 501 5.1.7 (§4.5.3.1.10 "Path too long") */
	SMTP_R_RCPT_TOO_LONG,  /* 501 5.1.3 */
	SMTP_R_NULL_RCPT,      /* 501 5.1.3 */
	SMTP_R_PARAM_DUP,      /* 501 5.5.4 */
	SMTP_R_PARAM_BAD,      /* 501 5.5.4 */
	SMTP_R_NOTIFY_NEVER,   /* 501 5.5.4 (RFC 3461 §4.1) */
	SMTP_R_AUTH_CANCELLED, /* 501 5.7.0 (RFC 4954 §4) */
	SMTP_R_AUTH_DECODE,    /* 501 5.5.2 (RFC 4954 §4) */
	SMTP_R_NOT_IMPL,       /* 502 5.5.1 */
	SMTP_R_BAD_SEQUENCE,   /* 503 5.5.1 */
	SMTP_R_NEED_HELO,      /* 503 5.5.1 */
	SMTP_R_NEED_MAIL,      /* 503 5.5.1 */
	SMTP_R_NEED_RCPT,      /* 503 5.5.1 */
	SMTP_R_NESTED_MAIL,    /* 503 5.5.1 */
	SMTP_R_TLS_ACTIVE,     /* 503 5.5.1 */
	SMTP_R_AUTH_ALREADY,   /* 503 5.5.1 */
	SMTP_R_PIPELINING,     /* 503 5.5.0 input after a group-ending command */
	SMTP_R_AUTH_MECH,      /* 504 5.5.4 (RFC 4954 §4) */
	SMTP_R_TLS_REQUIRED,   /* 530 5.7.0 (RFC 3207 §4) */
	SMTP_R_AUTH_FAILED,    /* 535 5.7.8 (RFC 4954 §6) */
	SMTP_R_AUTH_NEED_TLS,  /* 538 5.7.11 (RFC 4954 §6) */
	SMTP_R_NO_MAILBOX,     /* 550 5.1.1 */
	SMTP_R_RELAY_DENIED,   /* 550 5.7.1 */
	SMTP_R_SIZE_EXCEEDED,  /* 552 5.3.4 (RFC 1870 §6.1) */
	SMTP_R_UTF8_ADDR,      /* 553 5.6.7 (RFC 6531 §3.5) */
	SMTP_R_NO_VALID_RCPTS, /* 554 5.5.1 (§3.3) */
	SMTP_R_EARLY_TALKER,   /* 554 5.5.0 input before the greeting */
	SMTP_R_PARAM_UNKNOWN,  /* 555 5.5.4 (§4.1.1.11) */
	SMTP_R_PARAM_NO_ESMTP, /* 555 5.5.4 parameters after HELO */
	SMTP_R_BODY_UNSUPPORTED, /* 555 5.5.4 BODY=BINARYMIME (not offered) */
	/* permanent: the message, at the end of DATA / BDAT LAST */
	SMTP_R_DATA_BARE_LF,   /* 550 5.5.2 */
	SMTP_R_DATA_BARE_CR,   /* 550 5.5.2 */
	SMTP_R_DATA_LONG_LINE, /* 550 5.6.0 */
	SMTP_R_DATA_TOO_BIG,   /* 552 5.3.4 */
	SMTP_R__COUNT
};
/* clang-format on */

struct smtp_reply_def {
	unsigned short code;
	const char *status; /* NULL for 3xx */
	const char *text;
};

/* The reply for a failed delivery step (spool, copy, rename, fsync) with
 * errno ERR (either sign): 452 4.3.1 for a full disk or quota (ENOSPC,
 * EDQUOT), 451 4.3.0 otherwise. The one errno-to-reply map of smtpd. */
enum smtp_rid smtp_reply_for_errno(int err);

/* The definition of ID (a reply of the table), never NULL for a valid ID. */
const struct smtp_reply_def *smtp_reply_def(enum smtp_rid id);

/*
 * Whether CODE and STATUS may be sent together: code 200..559 with a
 * second digit 0..5; for class 2, 4 and 5 STATUS is "c.s.d" (subject and
 * detail 1..3 digits without leading zeros, RFC 3463 §2) with c the code's
 * first digit; for 3xx STATUS is NULL.
 */
bool smtp_reply_valid(int code, const char *status);

/* One reply line. FMT is printf-style text. */
int smtp_reply(char *buf, size_t cap, bool esc, int code, const char *status, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* A multi-line reply (§4.2.1): "code-text" for all but the last of LINES, "code text" last. */
int smtp_reply_lines(char *buf, size_t cap, bool esc, int code, const char *status,
                     const char *const *lines, size_t n);

/* A reply of the table with its own text, or with FMT replacing the text. */
int smtp_reply_named(char *buf, size_t cap, bool esc, enum smtp_rid id);
int smtp_reply_namedf(char *buf, size_t cap, bool esc, enum smtp_rid id, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif
