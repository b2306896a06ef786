/*
 * parse: the FTP command line and its arguments, as pure functions.
 *
 * ftp_parse_command() takes one line as conn_read_line() returns it (without
 * its CRLF) and yields a verb and an argument (RFC 959 §5.3): a verb of
 * letters (case-insensitive), then nothing or exactly one SP and the
 * argument, kept byte for byte (leading and trailing spaces are part of a
 * file name). Telnet IAC sequences (RFC 959 §4.1.3: ABOR often arrives as
 * IAC IP IAC DM "ABOR") are stripped; IAC IAC is a literal 0xFF. NUL, CR and
 * LF anywhere in the line are refused: they cannot be part of a command
 * (RFC 959 §3.1.1.1 sends CR in a path name as CR NUL; we accept no such name).
 *
 * The command table gives each verb its policy: argument needed, allowed,
 * or refused, allowed before login, before AUTH TLS when tls = required,
 * data-transfer, writing; ftp_command_gate() applies it in one place and
 * names the reply, so the session only runs commands that may run.
 *
 * Argument parsers return 0 or the reply code to send: 501 syntax, 504
 * parameter not implemented, 522 network protocol not supported (RFC 2428),
 * 536 PROT level not supported (RFC 4217 §9), 500 unknown SITE command.
 * None of them allocates, logs or keeps state; strings in results point
 * into the argument they were given.
 */
#ifndef FTPD_PARSE_H
#define FTPD_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include "triad/limits.h"

/* Verbs; the RFC 1123 §4.1.3.1 X-forms (XCWD XCUP XPWD XMKD XRMD) parse to
 * the verb they alias, with ftp_command.name keeping what was sent. */
enum ftp_verb {
	FTP_VERB_UNKNOWN = 0,
	FTP_VERB_USER,
	FTP_VERB_PASS,
	FTP_VERB_ACCT,
	FTP_VERB_CWD,
	FTP_VERB_CDUP,
	FTP_VERB_PWD,
	FTP_VERB_QUIT,
	FTP_VERB_REIN,
	FTP_VERB_PORT,
	FTP_VERB_PASV,
	FTP_VERB_EPSV,
	FTP_VERB_EPRT,
	FTP_VERB_LPRT,
	FTP_VERB_LPSV,
	FTP_VERB_TYPE,
	FTP_VERB_STRU,
	FTP_VERB_MODE,
	FTP_VERB_RETR,
	FTP_VERB_STOR,
	FTP_VERB_STOU,
	FTP_VERB_APPE,
	FTP_VERB_ALLO,
	FTP_VERB_REST,
	FTP_VERB_RNFR,
	FTP_VERB_RNTO,
	FTP_VERB_ABOR,
	FTP_VERB_DELE,
	FTP_VERB_RMD,
	FTP_VERB_MKD,
	FTP_VERB_LIST,
	FTP_VERB_NLST,
	FTP_VERB_SITE,
	FTP_VERB_SYST,
	FTP_VERB_STAT,
	FTP_VERB_HELP,
	FTP_VERB_NOOP,
	FTP_VERB_FEAT,
	FTP_VERB_OPTS,
	FTP_VERB_SIZE,
	FTP_VERB_MDTM,
	FTP_VERB_MLST,
	FTP_VERB_MLSD,
	FTP_VERB_MFMT,
	FTP_VERB_AUTH,
	FTP_VERB_PBSZ,
	FTP_VERB_PROT,
	FTP_VERB_CCC,
	FTP_VERB_COUNT
};

/* Command policy flags. Neither ARG flag: an argument is refused (501). */
enum {
	FTP_CMDF_ARG_REQ = 1u << 0,  /* 501 without a non-empty argument */
	FTP_CMDF_ARG_OPT = 1u << 1,  /* may carry one */
	FTP_CMDF_PRELOGIN = 1u << 2, /* allowed before login; others 530 */
	FTP_CMDF_PRETLS = 1u << 3,   /* allowed before AUTH TLS when tls = required */
	FTP_CMDF_DATA = 1u << 4,     /* opens a data connection: needs PROT P when tls = required */
	FTP_CMDF_WRITE = 1u << 5,    /* changes the tree: refused to read-only sessions */
	FTP_CMDF_INXFER = 1u << 6,   /* handled during a transfer (RFC 959 §4.1.3) */
	FTP_CMDF_UNIMPL = 1u << 7,   /* recognised, answered 502 */
};

struct ftp_cmd_info {
	const char *name; /* canonical verb */
	unsigned flags;
};

/* The table row of VERB (FTP_VERB_UNKNOWN has name "" and no flags). */
const struct ftp_cmd_info *ftp_cmd_info(enum ftp_verb verb);

struct ftp_command {
	enum ftp_verb verb;
	char name[FTP_VERB_MAX + 1]; /* the verb as sent, upper case; "" when longer */
	bool has_arg;                /* an SP followed the verb (the argument may be empty) */
	size_t arglen;
	char arg[FTP_COMMAND_LINE_MAX]; /* NUL-terminated; contains no NUL, CR or LF */
};

enum ftp_parse_status {
	FTP_PARSE_OK = 0,   /* verb may still be FTP_VERB_UNKNOWN: 500 */
	FTP_PARSE_EMPTY,    /* nothing but Telnet sequences: 500 */
	FTP_PARSE_TOO_LONG, /* longer than FTP_COMMAND_LINE_MAX - 1: 500 */
	FTP_PARSE_BAD_BYTE, /* NUL, CR or LF in the line: 500 */
	FTP_PARSE_TELNET,   /* IAC followed by a byte that is no Telnet command: 500 */
	FTP_PARSE_VERB,     /* the verb has a non-letter, or no SP follows it: 500 */
};

enum ftp_parse_status ftp_parse_command(const char *line, size_t len, struct ftp_command *cmd);

/* Session facts the gate needs. */
struct ftp_gate {
	bool logged_in;
	bool tls_required; /* tls = required */
	bool tls_active;   /* the control connection is under TLS */
	bool prot_private; /* PROT P is in effect */
	bool read_only;    /* anonymous session */
};

/*
 * Checks CMD against its table row and the session, in this order: unknown
 * 500, unimplemented 502, before AUTH TLS 530, before login 530, argument
 * 501, read-only 550, data without PROT P 521 (RFC 4217 §9). Returns 0 when
 * the command may run, else the reply code with *TEXT set to its reply text.
 */
int ftp_command_gate(const struct ftp_command *cmd, const struct ftp_gate *g, const char **text);

/* ---- arguments ------------------------------------------------------- */

/* PORT h1,h2,h3,h4,p1,p2 (RFC 959 §4.1.2): six 0-255 numbers of 1-3 digits,
 * no spaces; port 0 is refused. Fills an AF_INET address. */
int ftp_parse_port(const char *arg, size_t len, struct sockaddr_storage *ss, socklen_t *sslen);

/* EPRT |1|a.b.c.d|port| or |2|v6|port| (RFC 2428 §2); the delimiter is the
 * first byte, any of ASCII 33-126. Another family number: 522. */
int ftp_parse_eprt(const char *arg, size_t len, struct sockaddr_storage *ss, socklen_t *sslen);

enum ftp_epsv { FTP_EPSV_ANY, FTP_EPSV_V4, FTP_EPSV_V6, FTP_EPSV_ALL };
/* EPSV [1|2|ALL] (RFC 2428 §3); an empty argument is FTP_EPSV_ANY. */
int ftp_parse_epsv(const char *arg, size_t len, enum ftp_epsv *out);

enum ftp_type { FTP_TYPE_ASCII, FTP_TYPE_IMAGE };
/* TYPE A [N] | I | L 8 (RFC 959 §4.1.2); A T, A C, E, L n (n != 8): 504. */
int ftp_parse_type(const char *arg, size_t len, enum ftp_type *out);
/* MODE S and STRU F only (others RFC 959 defines: 504). */
int ftp_parse_mode(const char *arg, size_t len);
int ftp_parse_stru(const char *arg, size_t len);

/* REST n (RFC 3659 §5, stream mode): a byte offset, 0 to INT64_MAX. */
int ftp_parse_rest(const char *arg, size_t len, uint64_t *off);

/* MFMT time-val SP path (draft-somers-ftp-mfxx; time-val of RFC 3659 §2.3, UTC). */
struct ftp_mfmt {
	struct timespec time;
	const char *path;
	size_t pathlen;
};
int ftp_parse_mfmt(const char *arg, size_t len, struct ftp_mfmt *out);

/* MLST facts (RFC 3659 §7.5), as bits for OPTS MLST and the listings. */
enum {
	FTP_FACT_TYPE = 1u << 0,
	FTP_FACT_SIZE = 1u << 1,
	FTP_FACT_MODIFY = 1u << 2,
	FTP_FACT_PERM = 1u << 3,
	FTP_FACT_UNIQUE = 1u << 4,
	FTP_FACT_UNIX_MODE = 1u << 5,
	FTP_FACT_ALL = (1u << 6) - 1,
};
#define FTP_FACTS_DEFAULT FTP_FACT_ALL
/* The fact name of one FTP_FACT_ bit ("type", ..., "UNIX.mode"), or NULL. */
const char *ftp_fact_name(unsigned bit);

/* OPTS UTF8 ON|OFF, OPTS MLST [fact;...] (RFC 2389 §4, RFC 3659 §7.9:
 * unknown facts are ignored, an empty list selects none). Another command
 * name or option: 501. */
enum ftp_opts_kind { FTP_OPTS_UTF8, FTP_OPTS_MLST };
struct ftp_opts {
	enum ftp_opts_kind kind;
	bool utf8_on;   /* FTP_OPTS_UTF8 */
	unsigned facts; /* FTP_OPTS_MLST: FTP_FACT_ bits */
};
int ftp_parse_opts(const char *arg, size_t len, struct ftp_opts *out);

/* SITE CHMOD mode path | SITE HELP [topic]. The mode is 1-4 octal digits;
 * bits beyond 0777 (set-id, sticky) are refused with 504. Other SITE
 * commands: 500. */
enum ftp_site_cmd { FTP_SITE_HELP, FTP_SITE_CHMOD };
struct ftp_site {
	enum ftp_site_cmd cmd;
	mode_t mode;
	const char *path; /* CHMOD: the path; HELP: the topic (may be empty) */
	size_t pathlen;
};
int ftp_parse_site(const char *arg, size_t len, struct ftp_site *out);

/* PROT C|S|E|P (RFC 4217 §9): S and E get 536, another letter 504. */
enum ftp_prot { FTP_PROT_C, FTP_PROT_S, FTP_PROT_E, FTP_PROT_P };
int ftp_parse_prot(const char *arg, size_t len, enum ftp_prot *out);
/* PBSZ n (RFC 4217 §8): a decimal 0 to 2^32-1 (the reply is PBSZ=0 anyway). */
int ftp_parse_pbsz(const char *arg, size_t len, uint32_t *out);
/* AUTH TLS | TLS-C | SSL | TLS-P (RFC 4217 §6; the last two are the old
 * names that also implied PROT P). Another mechanism: 504. */
enum ftp_auth { FTP_AUTH_TLS, FTP_AUTH_TLS_C, FTP_AUTH_SSL, FTP_AUTH_TLS_P };
int ftp_parse_auth(const char *arg, size_t len, enum ftp_auth *out);

/*
 * LIST/NLST/MLSD arguments: leading ls-style option words ("-la", "-a -l")
 * then a path. A word starting with '-' is an option word only if the rest
 * of it is letters; otherwise it starts the path. Only -a -l -d -R are
 * recorded (dot files are always shown, so -a changes nothing); the others
 * are ignored as vsftpd does. Always returns 0.
 */
struct ftp_list_args {
	bool opt_a, opt_l, opt_d, opt_R;
	const char *path;
	size_t pathlen;
};
int ftp_parse_list_args(const char *arg, size_t len, struct ftp_list_args *out);

#endif
