/*
 * parse: pure parsers for SMTP command lines (RFC 5321 §4.1) and their
 * arguments: the verb, EHLO/HELO domains, MAIL/RCPT paths with their ESMTP
 * parameters, BDAT sizes; plus the mailbox key used to find a Maildir.
 *
 * Input is one command line without its CRLF, as conn_read_line(CONN_EOL_CRLF)
 * returns it; it need not be NUL terminated. Nothing is allocated; results
 * are copied into the caller's struct. Every function returns SMTP_R_NONE on
 * success, otherwise the name of the reply to send (reply.h).
 *
 * Decisions (strict where two parsers could disagree, tolerant where not):
 * - A command line is at most SMTP_COMMAND_LINE_MAX octets with its CRLF. A CR,
 *   LF or NUL inside it is refused (500 5.5.2): only CRLF ends a line.
 * - The verb is case-insensitive and followed by exactly one SP and its
 *   argument, or by the end of the line. Trailing SP/HTAB at the end of the
 *   line is ignored. Commands that take no argument refuse one (501 5.5.4).
 * - "MAIL FROM:" and "RCPT TO:" are case-insensitive; SP between the colon and
 *   '<' is accepted (Postfix and OpenSMTPD accept "MAIL FROM: <a@b>", many
 *   clients send it, and it cannot be read two ways). The angle brackets are
 *   required. Parameters are separated by one or more SP.
 * - EHLO/HELO take a domain or an address literal (§4.1.1.1), except that '_'
 *   is also accepted in domain labels: Windows hosts announce names like
 *   DESKTOP-AB_12, Postfix and OpenSMTPD accept them, and the name is only
 *   recorded (Received:), never routed on. Paths stay strict.
 * - Paths follow §4.1.2: dot-string or quoted-string local parts, domains,
 *   address literals (IPv4, IPv6 per §4.1.3, general literals; an "IPv6:" tag
 *   must hold a valid IPv6 address). A source route (@a,@b:) is checked and
 *   dropped (§4.1.1.3, Appendix C). Domain labels are at most 63 octets.
 *   <> only in MAIL; RCPT TO:<Postmaster> (any case) without a domain is
 *   accepted (§4.1.1.3).
 * - UTF-8 (RFC 6531) is accepted in the local part and in domain labels only
 *   when the transaction uses SMTPUTF8, and must be well-formed UTF-8 (RFC 3629);
 *   U-labels are not checked against IDNA2008. Without SMTPUTF8, well-formed
 *   non-ASCII is 553 5.6.7.
 * - Lengths (§4.5.3.1): local part 64 and domain 255 octets as sent, the whole
 *   path 256 octets including '<', '>' and any source route.
 * - Parameters need EHLO (555 5.5.4 after HELO). Unknown keywords, or keywords
 *   of the other command: 555 5.5.4. A keyword given twice: 501 5.5.4.
 *   Keywords and the values of BODY, RET and NOTIFY are case-insensitive.
 *   SIZE=1*20DIGIT (RFC 1870), saturating at UINT64_MAX. BODY=7BIT|8BITMIME
 *   (RFC 6152); BODY=BINARYMIME is 555 5.5.4 (RFC 3030 BINARYMIME is not
 *   offered). SMTPUTF8 takes no value. RET=FULL|HDRS, ENVID=xtext of at most
 *   100 octets (RFC 3461 §4.3, §4.4). NOTIFY=NEVER or a comma list of
 *   SUCCESS, FAILURE, DELAY (NEVER alone: 501 5.5.4), ORCPT=addr-type;xtext of
 *   at most 500 octets (§4.2). AUTH=xtext or AUTH=<> (RFC 4954 §5), recorded.
 *   xtext is validated (hexchar needs upper-case hex, RFC 3461 §4) and decoded;
 *   decoded ENVID/ORCPT/AUTH must be printable ASCII (0x20..0x7e). RFC 6533
 *   utf-8 ORCPT is accepted in its xtext form only.
 */
#ifndef SMTPD_PARSE_H
#define SMTPD_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reply.h"
#include "triad/limits.h"

enum smtp_verb {
	SMTP_CMD_UNKNOWN = 0,
	SMTP_CMD_EHLO,
	SMTP_CMD_HELO,
	SMTP_CMD_MAIL,
	SMTP_CMD_RCPT,
	SMTP_CMD_DATA,
	SMTP_CMD_BDAT,
	SMTP_CMD_RSET,
	SMTP_CMD_NOOP,
	SMTP_CMD_QUIT,
	SMTP_CMD_VRFY,
	SMTP_CMD_EXPN,
	SMTP_CMD_HELP,
	SMTP_CMD_STARTTLS,
	SMTP_CMD_AUTH,
	SMTP_CMD__COUNT
};

/* "EHLO", ... ("?" for SMTP_CMD_UNKNOWN), for logs. */
const char *smtp_verb_name(enum smtp_verb v);

struct smtp_cmd {
	enum smtp_verb verb; /* set even when an error is returned, when recognised */
	const char *arg;     /* into the line, not NUL terminated; NULL when none */
	size_t arglen;
};

/*
 * Splits LINE into verb and argument and checks the argument's presence.
 * Errors: SMTP_R_LINE_TOO_LONG, SMTP_R_BAD_CHAR, SMTP_R_UNKNOWN_CMD,
 * SMTP_R_NO_ARGS, SMTP_R_NEED_ARG (verb and arg are filled for the last two so
 * the session may check the command order first).
 */
enum smtp_rid smtp_parse_command(const char *line, size_t len, struct smtp_cmd *cmd);

/* EHLO/HELO argument: Domain / address-literal (§4.1.1.1), ASCII. */
enum smtp_rid smtp_parse_helo(const char *arg, size_t len);

struct smtp_path {
	char addr[SMTP_PATH_MAX - 1]; /* "local@domain" as sent, no <> or route; "" for <> */
	uint16_t len;                 /* strlen(addr) */
	uint16_t local_len;           /* addr[0..local_len) is the local part as sent */
	bool quoted;                  /* the local part is a quoted-string */
	bool literal;                 /* the domain is an address literal */
	bool utf8;                    /* non-ASCII octets present */
	bool route;                   /* a source route was given (and dropped) */
	bool postmaster;              /* RCPT TO:<Postmaster>: addr "Postmaster", no domain */
};

struct smtp_parse_opts {
	bool esmtp;    /* the session began with EHLO: parameters allowed */
	bool smtputf8; /* RCPT: this transaction's MAIL carried SMTPUTF8 */
};

enum smtp_body { SMTP_BODY_UNSET = 0, SMTP_BODY_7BIT, SMTP_BODY_8BITMIME };
enum smtp_ret { SMTP_RET_UNSET = 0, SMTP_RET_FULL, SMTP_RET_HDRS };

struct smtp_mail {
	struct smtp_path path; /* path.len == 0: the null reverse-path <> */
	bool has_size;
	uint64_t size;
	enum smtp_body body;
	bool smtputf8;
	enum smtp_ret ret;
	bool has_envid;
	char envid[SMTP_ENVID_MAX + 1]; /* decoded */
	bool has_auth;
	char auth[SMTP_PATH_MAX + 1]; /* decoded; "<>" when unknown */
};

#define SMTP_NOTIFY_NEVER 0x1u
#define SMTP_NOTIFY_SUCCESS 0x2u
#define SMTP_NOTIFY_FAILURE 0x4u
#define SMTP_NOTIFY_DELAY 0x8u

struct smtp_rcpt {
	struct smtp_path path;
	unsigned notify; /* SMTP_NOTIFY_* bits; 0: not given */
	bool has_orcpt;
	char orcpt_type[33];            /* addr-type as sent, e.g. "rfc822" */
	char orcpt[SMTP_ORCPT_MAX + 1]; /* decoded address */
};

/*
 * The argument of MAIL ("FROM:<path> [params]"). Errors: SMTP_R_MAIL_SYNTAX,
 * SMTP_R_BAD_SENDER, SMTP_R_SENDER_TOO_LONG, SMTP_R_UTF8_ADDR,
 * SMTP_R_PARAM_NO_ESMTP, SMTP_R_PARAM_UNKNOWN, SMTP_R_PARAM_DUP,
 * SMTP_R_PARAM_BAD, SMTP_R_BODY_UNSUPPORTED. The declared SIZE is returned,
 * not compared: the session owns max_message_size (552 5.3.4).
 */
enum smtp_rid smtp_parse_mail(const char *arg, size_t len, const struct smtp_parse_opts *o,
                              struct smtp_mail *out);

/* The argument of RCPT ("TO:<path> [params]"). Errors as MAIL, with the RCPT
 * names, plus SMTP_R_NULL_RCPT and SMTP_R_NOTIFY_NEVER. */
enum smtp_rid smtp_parse_rcpt(const char *arg, size_t len, const struct smtp_parse_opts *o,
                              struct smtp_rcpt *out);

/* The argument of BDAT: chunk-size [SP "LAST"] (RFC 3030 §2), at most 20 digits. */
enum smtp_rid smtp_parse_bdat(const char *arg, size_t len, uint64_t *size, bool *last);

/*
 * The key under which a recipient's Maildir is looked up (interface.md):
 * LOCAL gets the local part unquoted and ASCII lower-cased, DOMAIN the domain
 * lower-cased ("" for <Postmaster>). *BASE_LEN is the length of LOCAL before
 * its first '+' (the "+tag" separator), or the whole length when there is no
 * '+' or it is the first octet: "local+tag" is delivered to "local".
 * Returns -1 when the local part cannot name a directory: empty, starting with
 * '.', containing '/', a control octet or DEL, or not fitting the buffers.
 */
int smtp_mailbox_key(const struct smtp_path *p, char *local, size_t lcap, char *domain, size_t dcap,
                     size_t *base_len);

#endif
