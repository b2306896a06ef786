/*
 * session: the SMTP connection (RFC 5321) as triad-smtpd runs it.
 *
 * One struct smtp_session per conn (c->proto), holding the per-connection
 * state (EHLO name, TLS, AUTH user, error count) and at most one
 * struct smtp_tx, the mail transaction (envelope, DATA/BDAT assembler,
 * spool). RSET, EHLO and STARTTLS only free the transaction.
 *
 * Files: session.c (state, I/O glue, prepare/accept), commands.c (the command
 * table and handlers), receive.c (DATA/BDAT glue), auth.c (AUTH PLAIN/LOGIN),
 * rcpt.c (the RCPT mailbox check), maildir.c (spool and durable delivery
 * with group commit). Everything runs on the conn's worker loop except the
 * file work (the mailbox stat()s, spool writes, fsyncs and renames), which
 * runs on workq threads: a session waits for it (SMTP_S_RCPT_WAIT,
 * SMTP_S_DELIVERING, spool_wait) and processes no further input meanwhile,
 * so pipelined commands (RFC 2920) are still answered in order.
 */
#ifndef SMTPD_SESSION_H
#define SMTPD_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#include "triad/limits.h"
#include "triad/metrics.h"
#include "triad/server.h"

#include "aliases.h"
#include "data.h"
#include "parse.h"
#include "reply.h"

int smtp_prepare(struct conf *c, struct server_runtime *rt, char *err, size_t errlen);
struct smtp_tx;
/* RCPT commands accepted in TX (an alias's extra targets are not counted). */
size_t smtp_rcpt_count(const struct smtp_tx *tx);
/* DOMAIN (lower case) is in [smtpd] domains or in a site's mail_domains. */
bool smtp_domain_accepted(const struct conf *c, const char *domain);
void smtp_release(struct server_runtime *rt);
void smtp_accept(struct conn *c, int tag);

/* What prepare builds per configuration generation (rt->app). */
struct smtp_app {
	struct fsroot maildirs;
	char hostname[SMTP_DOMAIN_MAX + 1];
	struct smtp_aliases aliases; /* the aliases file (empty without one) */
};

enum smtp_state {
	SMTP_S_GREETING,   /* greeting delay running: any input is an early talker */
	SMTP_S_CONNECTED,  /* greeted (or TLS just started): EHLO/HELO expected */
	SMTP_S_READY,      /* after EHLO/HELO, no transaction */
	SMTP_S_MAIL,       /* MAIL accepted */
	SMTP_S_RCPT,       /* at least one RCPT accepted (BDAT chunks may have come) */
	SMTP_S_RCPT_WAIT,  /* a RCPT's mailbox check is on the workq */
	SMTP_S_DATA,       /* reading DATA up to CRLF.CRLF */
	SMTP_S_BDAT,       /* reading the octets of one BDAT chunk */
	SMTP_S_DELIVERING, /* the message is being written and fsynced (workq) */
	SMTP_S_TLS,        /* STARTTLS handshake in progress */
	SMTP_S_AUTH,       /* AUTH: waiting for the client's next response line */
	SMTP_S_AUTH_WAIT,  /* AUTH: PAM answer pending */
	SMTP_S_CLOSING,    /* reply sent, conn closing */
	SMTP_S__COUNT
};
#define SMTP_ST(s) (1u << (s))

struct smtp_rcpt_entry {
	struct smtp_rcpt r;
	char local[SMTP_LOCAL_PART_MAX * 2 + 1]; /* mailbox key: lower-cased, +tag removed */
	char domain[SMTP_DOMAIN_MAX + 1];
	dev_t dev; /* the Maildir directory: recipients that resolve to the same one */
	ino_t ino; /* (symbolic links, e.g. a domain alias) get one copy */
	bool dup;  /* same Maildir as an earlier recipient */
	bool extra; /* another target of the alias RCPT before it (one reply, one log entry) */
};

struct smtp_delivery;
struct smtp_lookup;

/* One mail transaction: MAIL .. end of DATA / BDAT LAST. */
struct smtp_tx {
	struct smtp_mail mail;
	struct smtp_rcpt_entry *rcpts;
	size_t nrcpts, cap;
	unsigned nrefused;         /* RCPTs refused 550 5.1.1 / 5.7.1 (max_errors rule) */
	unsigned nexcused;         /* ... not counted yet: they count unless mail is delivered */
	char id[24];               /* message id for Received: and logs */
	bool bdat;                 /* BDAT chunks have been received */
	enum smtp_rid failed;      /* a BDAT chunk failed: later chunks get this too */
	struct smtp_data data;     /* the assembler */
	struct smtp_delivery *dlv; /* the spool and delivery, NULL before DATA/BDAT */
	struct timespec dot;       /* the final dot (BDAT LAST) arrived: delivery_seconds */
};

struct smtp_session {
	struct conn *c;
	const struct smtp_app *app;
	enum smtp_state state;
	char helo[SMTP_DOMAIN_MAX + 1];
	bool esmtp; /* EHLO (enhanced status codes, parameters) */
	bool tls_started;
	char auth_user[TRIAD_AUTH_FIELD_MAX + 1]; /* "" until AUTH succeeded */
	unsigned errors;                          /* error replies in the session (logged) */
	unsigned error_run;     /* ... since the last delivered message: max_errors */
	unsigned messages;      /* delivered in this session */
	bool shutting_down;     /* SIGTERM: close after what is in flight */
	bool peer_eof;          /* the client half-closed while its message was delivered */
	bool in_process, again; /* re-entrancy guard of smtp_process() */
	bool spool_wait;        /* DATA/BDAT: the spool buffer is full, a write is in flight */
	struct smtp_lookup *lookup; /* the RCPT check in flight (SMTP_S_RCPT_WAIT) */
	const char *result;     /* for the session log line */
	struct event *greet_timer;
	struct smtp_tx *tx;
	/* the BDAT chunk being read (RFC 3030): its octets are consumed even when refused */
	uint64_t bdat_left;
	bool bdat_last;
	enum smtp_rid bdat_refuse;   /* SMTP_R_NONE: the chunk is part of the message */
	enum smtp_state bdat_return; /* state to go back to after a refused chunk */
	/* AUTH exchange */
	int auth_mech; /* 0 none, 1 PLAIN, 2 LOGIN */
	char auth_login[TRIAD_AUTH_FIELD_MAX + 1];
	struct auth_req *auth_req;
	char line[TRIAD_AUTH_PASSWORD_MAX * 2 + 64]; /* one command / AUTH response line */
};

/* session.c */
void smtp_set_state(struct smtp_session *s, enum smtp_state st);
/* Sends reply ID (enhanced status code when the session used EHLO); counts errors. */
void smtp_send(struct smtp_session *s, enum smtp_rid id);
void smtp_sendf(struct smtp_session *s, enum smtp_rid id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Closes after REPLY (SMTP_R_NONE: nothing). */
void smtp_close(struct smtp_session *s, enum smtp_rid reply, const char *result);
/* Frees the transaction (RSET, EHLO, STARTTLS, end of message). */
void smtp_tx_free(struct smtp_session *s);
/* Processes buffered input until it runs out or the session waits. */
void smtp_process(struct smtp_session *s);
const struct smtpd_conf *smtp_conf(const struct smtp_session *s);

/* commands.c: one complete command line. */
void smtp_command(struct smtp_session *s, const char *line, size_t len);

/* rcpt.c: the RCPT command: checks the domain at once and the mailbox on the
 * workq, then answers (the session waits in SMTP_S_RCPT_WAIT meanwhile). */
void smtp_cmd_rcpt(struct smtp_session *s, const char *arg, size_t len);
/* The session goes away or the transaction ends: the check's answer is dropped. */
void smtp_rcpt_abort(struct smtp_session *s);

/* receive.c */
int smtp_receive_begin(struct smtp_session *s, enum smtp_data_mode mode);
/* Feeds buffered input to DATA / a BDAT chunk; false when more input is needed. */
bool smtp_receive_input(struct smtp_session *s);
/* A BDAT command with a valid size: reads (or skips) its chunk. */
void smtp_bdat_start(struct smtp_session *s, uint64_t size, bool last, enum smtp_rid refuse);
/* maildir.c: a spool write finished; the session may read on (spool_wait). */
void smtp_receive_resume(struct smtp_session *s);

/* auth.c */
void smtp_auth_start(struct smtp_session *s, const char *arg, size_t len);
void smtp_auth_line(struct smtp_session *s, const char *line, size_t len);
void smtp_auth_abort(struct smtp_session *s);

/* maildir.c: durable delivery (see maildir.c for the protocol). */
struct smtp_delivery *smtp_maildir_open(struct smtp_session *s, char *errbuf, size_t errlen);
int smtp_maildir_write(void *dlv, const char *buf, size_t len); /* a smtp_data_sink */
/* Whether the sink must not be fed now: a batch is full and the previous one is
 * still being written (smtp_receive_resume() follows when it is done). */
bool smtp_maildir_full(const struct smtp_delivery *d);
/* Starts the delivery on the workq; DONE(s, rid) runs later on the loop. */
int smtp_maildir_commit(struct smtp_session *s, void (*done)(struct smtp_session *, enum smtp_rid));
/* Drops the spool (no delivery) or detaches a job in flight from its session;
 * either way the tmp/ file goes once no job uses it. */
void smtp_maildir_discard(struct smtp_delivery *d);
/* errno of the last spool write failure (0: none). */
int smtp_maildir_errno(const struct smtp_delivery *d);
/* Group commit: fsyncs the directories FDS[0..n) (blocking: workq threads only), sharing
 * the fsyncs with concurrent callers; 0 or -errno. Counters since start, for tests/logs. */
int smtp_maildir_commit_dirs(const int *fds, size_t n);
void smtp_maildir_commit_stats(uint64_t *batches, uint64_t *fsyncs, uint64_t *requests);

/* auth.c: strict base64 (RFC 4648 §4, padding required): decoded length or -1. */
int smtp_auth_b64_decode(const char *in, size_t len, char *out, size_t cap);
/* auth.c: a decoded AUTH PLAIN response (RFC 4616 §2: [authzid] NUL authcid NUL
 * passwd) split: *USER and *ULEN point into RESP, the password is copied NUL-terminated
 * into PASS. 0; -2 not three fields (501); -1 a password too long or an authzid other
 * than the authcid (535: no proxy authorization). */
int smtp_auth_plain_split(const char *resp, size_t len, const char **user, size_t *ulen,
                          char *pass, size_t passcap);

/* smtpd's metric families (server_ops.metrics), METRIC_COMMON + these (receive.c). */
enum { SMTP_METRIC_MESSAGES, SMTP_METRIC_DELIVERY, SMTP_METRICS };
enum { SMTP_METRIC_ACCEPTED, SMTP_METRIC_REFUSED };
extern const struct metric_family smtp_metrics[SMTP_METRICS];

#endif
