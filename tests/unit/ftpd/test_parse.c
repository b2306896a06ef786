/*
 * ftpd parse unit tests: the command line (every verb, case, Telnet
 * sequences, bad bytes), the command table and gate, and every argument
 * parser, malformed arguments included. Table rows carry __LINE__ so a
 * failure names its row.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "../../../ftpd/parse.h"

/* A string literal with its exact length, embedded NULs included. */
#define S(lit) lit, sizeof(lit) - 1

#define CHECK(row, cond)                                                                           \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fail_msg("row at line %d: %s", (row)->line, #cond);                        \
	} while (0)

/* ---- the command line ------------------------------------------------- */

struct cmd_row {
	int line;
	const char *in;
	size_t len;
	enum ftp_parse_status st;
	enum ftp_verb verb;
	const char *name;
	int has_arg;
	const char *arg; /* compared with arglen from strlen (no NULs survive parsing) */
};

/* clang-format off */
static const struct cmd_row cmd_rows[] = {
	/* every verb of RFC 959, 2389, 2428, 3659, 4217 and the drafts we speak */
	{__LINE__, S("USER alice"), FTP_PARSE_OK, FTP_VERB_USER, "USER", 1, "alice"},
	{__LINE__, S("PASS secret word"), FTP_PARSE_OK, FTP_VERB_PASS, "PASS", 1, "secret word"},
	{__LINE__, S("PASS"), FTP_PARSE_OK, FTP_VERB_PASS, "PASS", 0, ""},
	{__LINE__, S("ACCT x"), FTP_PARSE_OK, FTP_VERB_ACCT, "ACCT", 1, "x"},
	{__LINE__, S("CWD /a/b"), FTP_PARSE_OK, FTP_VERB_CWD, "CWD", 1, "/a/b"},
	{__LINE__, S("XCWD a"), FTP_PARSE_OK, FTP_VERB_CWD, "XCWD", 1, "a"},
	{__LINE__, S("CDUP"), FTP_PARSE_OK, FTP_VERB_CDUP, "CDUP", 0, ""},
	{__LINE__, S("XCUP"), FTP_PARSE_OK, FTP_VERB_CDUP, "XCUP", 0, ""},
	{__LINE__, S("PWD"), FTP_PARSE_OK, FTP_VERB_PWD, "PWD", 0, ""},
	{__LINE__, S("XPWD"), FTP_PARSE_OK, FTP_VERB_PWD, "XPWD", 0, ""},
	{__LINE__, S("QUIT"), FTP_PARSE_OK, FTP_VERB_QUIT, "QUIT", 0, ""},
	{__LINE__, S("REIN"), FTP_PARSE_OK, FTP_VERB_REIN, "REIN", 0, ""},
	{__LINE__, S("PORT 1,2,3,4,5,6"), FTP_PARSE_OK, FTP_VERB_PORT, "PORT", 1, "1,2,3,4,5,6"},
	{__LINE__, S("PASV"), FTP_PARSE_OK, FTP_VERB_PASV, "PASV", 0, ""},
	{__LINE__, S("EPSV ALL"), FTP_PARSE_OK, FTP_VERB_EPSV, "EPSV", 1, "ALL"},
	{__LINE__, S("EPRT |1|1.2.3.4|5|"), FTP_PARSE_OK, FTP_VERB_EPRT, "EPRT", 1, "|1|1.2.3.4|5|"},
	{__LINE__, S("LPRT 4,4,1,2,3,4,2,0,21"), FTP_PARSE_OK, FTP_VERB_LPRT, "LPRT", 1,
	 "4,4,1,2,3,4,2,0,21"},
	{__LINE__, S("LPSV"), FTP_PARSE_OK, FTP_VERB_LPSV, "LPSV", 0, ""},
	{__LINE__, S("TYPE I"), FTP_PARSE_OK, FTP_VERB_TYPE, "TYPE", 1, "I"},
	{__LINE__, S("STRU F"), FTP_PARSE_OK, FTP_VERB_STRU, "STRU", 1, "F"},
	{__LINE__, S("MODE S"), FTP_PARSE_OK, FTP_VERB_MODE, "MODE", 1, "S"},
	{__LINE__, S("RETR f.txt"), FTP_PARSE_OK, FTP_VERB_RETR, "RETR", 1, "f.txt"},
	{__LINE__, S("STOR f.txt"), FTP_PARSE_OK, FTP_VERB_STOR, "STOR", 1, "f.txt"},
	{__LINE__, S("STOU"), FTP_PARSE_OK, FTP_VERB_STOU, "STOU", 0, ""},
	{__LINE__, S("APPE log"), FTP_PARSE_OK, FTP_VERB_APPE, "APPE", 1, "log"},
	{__LINE__, S("ALLO 1024"), FTP_PARSE_OK, FTP_VERB_ALLO, "ALLO", 1, "1024"},
	{__LINE__, S("REST 100"), FTP_PARSE_OK, FTP_VERB_REST, "REST", 1, "100"},
	{__LINE__, S("RNFR a"), FTP_PARSE_OK, FTP_VERB_RNFR, "RNFR", 1, "a"},
	{__LINE__, S("RNTO b"), FTP_PARSE_OK, FTP_VERB_RNTO, "RNTO", 1, "b"},
	{__LINE__, S("ABOR"), FTP_PARSE_OK, FTP_VERB_ABOR, "ABOR", 0, ""},
	{__LINE__, S("DELE x"), FTP_PARSE_OK, FTP_VERB_DELE, "DELE", 1, "x"},
	{__LINE__, S("RMD d"), FTP_PARSE_OK, FTP_VERB_RMD, "RMD", 1, "d"},
	{__LINE__, S("XRMD d"), FTP_PARSE_OK, FTP_VERB_RMD, "XRMD", 1, "d"},
	{__LINE__, S("MKD d"), FTP_PARSE_OK, FTP_VERB_MKD, "MKD", 1, "d"},
	{__LINE__, S("XMKD d"), FTP_PARSE_OK, FTP_VERB_MKD, "XMKD", 1, "d"},
	{__LINE__, S("LIST -la"), FTP_PARSE_OK, FTP_VERB_LIST, "LIST", 1, "-la"},
	{__LINE__, S("NLST"), FTP_PARSE_OK, FTP_VERB_NLST, "NLST", 0, ""},
	{__LINE__, S("SITE CHMOD 644 f"), FTP_PARSE_OK, FTP_VERB_SITE, "SITE", 1, "CHMOD 644 f"},
	{__LINE__, S("SYST"), FTP_PARSE_OK, FTP_VERB_SYST, "SYST", 0, ""},
	{__LINE__, S("STAT"), FTP_PARSE_OK, FTP_VERB_STAT, "STAT", 0, ""},
	{__LINE__, S("HELP SITE"), FTP_PARSE_OK, FTP_VERB_HELP, "HELP", 1, "SITE"},
	{__LINE__, S("NOOP"), FTP_PARSE_OK, FTP_VERB_NOOP, "NOOP", 0, ""},
	{__LINE__, S("FEAT"), FTP_PARSE_OK, FTP_VERB_FEAT, "FEAT", 0, ""},
	{__LINE__, S("OPTS UTF8 ON"), FTP_PARSE_OK, FTP_VERB_OPTS, "OPTS", 1, "UTF8 ON"},
	{__LINE__, S("SIZE f"), FTP_PARSE_OK, FTP_VERB_SIZE, "SIZE", 1, "f"},
	{__LINE__, S("MDTM f"), FTP_PARSE_OK, FTP_VERB_MDTM, "MDTM", 1, "f"},
	{__LINE__, S("MLST f"), FTP_PARSE_OK, FTP_VERB_MLST, "MLST", 1, "f"},
	{__LINE__, S("MLSD"), FTP_PARSE_OK, FTP_VERB_MLSD, "MLSD", 0, ""},
	{__LINE__, S("MFMT 20240101000000 f"), FTP_PARSE_OK, FTP_VERB_MFMT, "MFMT", 1,
	 "20240101000000 f"},
	{__LINE__, S("AUTH TLS"), FTP_PARSE_OK, FTP_VERB_AUTH, "AUTH", 1, "TLS"},
	{__LINE__, S("PBSZ 0"), FTP_PARSE_OK, FTP_VERB_PBSZ, "PBSZ", 1, "0"},
	{__LINE__, S("PROT P"), FTP_PARSE_OK, FTP_VERB_PROT, "PROT", 1, "P"},
	{__LINE__, S("CCC"), FTP_PARSE_OK, FTP_VERB_CCC, "CCC", 0, ""},

	/* case-insensitive verbs; the argument is kept as sent */
	{__LINE__, S("user Alice"), FTP_PARSE_OK, FTP_VERB_USER, "USER", 1, "Alice"},
	{__LINE__, S("rEtR MiXeD.TxT"), FTP_PARSE_OK, FTP_VERB_RETR, "RETR", 1, "MiXeD.TxT"},
	{__LINE__, S("xmkd d"), FTP_PARSE_OK, FTP_VERB_MKD, "XMKD", 1, "d"},
	/* one SP separates: further spaces belong to the argument */
	{__LINE__, S("CWD  lead"), FTP_PARSE_OK, FTP_VERB_CWD, "CWD", 1, " lead"},
	{__LINE__, S("STOR trail "), FTP_PARSE_OK, FTP_VERB_STOR, "STOR", 1, "trail "},
	{__LINE__, S("PWD "), FTP_PARSE_OK, FTP_VERB_PWD, "PWD", 1, ""},
	{__LINE__, S("STOR a\tb"), FTP_PARSE_OK, FTP_VERB_STOR, "STOR", 1, "a\tb"},
	{__LINE__, S("STOR caf\xc3\xa9 \xe2\x82\xac.txt"), FTP_PARSE_OK, FTP_VERB_STOR, "STOR", 1,
	 "caf\xc3\xa9 \xe2\x82\xac.txt"},

	/* unknown verbs parse; the gate answers 500 */
	{__LINE__, S("XYZ"), FTP_PARSE_OK, FTP_VERB_UNKNOWN, "XYZ", 0, ""},
	{__LINE__, S("HOST example.org"), FTP_PARSE_OK, FTP_VERB_UNKNOWN, "HOST", 1, "example.org"},
	{__LINE__, S("HELLO"), FTP_PARSE_OK, FTP_VERB_UNKNOWN, "", 0, ""},
	{__LINE__, S("RETRIEVE f"), FTP_PARSE_OK, FTP_VERB_UNKNOWN, "", 1, "f"},
	{__LINE__, S("R"), FTP_PARSE_OK, FTP_VERB_UNKNOWN, "R", 0, ""},
	{__LINE__, S("CC"), FTP_PARSE_OK, FTP_VERB_UNKNOWN, "CC", 0, ""},

	/* malformed lines */
	{__LINE__, S(""), FTP_PARSE_EMPTY, FTP_VERB_UNKNOWN, "", 0, ""},
	{__LINE__, S(" USER a"), FTP_PARSE_VERB, FTP_VERB_UNKNOWN, "", 0, ""},
	{__LINE__, S(" "), FTP_PARSE_VERB, FTP_VERB_UNKNOWN, "", 0, ""},
	{__LINE__, S("US3R a"), FTP_PARSE_VERB, FTP_VERB_UNKNOWN, "", 0, ""},
	{__LINE__, S("USER\ta"), FTP_PARSE_VERB, FTP_VERB_UNKNOWN, "", 0, ""},
	{__LINE__, S("USER-a"), FTP_PARSE_VERB, FTP_VERB_UNKNOWN, "", 0, ""},
	{__LINE__, S("\x80USER"), FTP_PARSE_VERB, FTP_VERB_UNKNOWN, "", 0, ""},
	{__LINE__, S("USER a\0b"), FTP_PARSE_BAD_BYTE, FTP_VERB_UNKNOWN, "", 0, ""},
	{__LINE__, S("\0"), FTP_PARSE_BAD_BYTE, FTP_VERB_UNKNOWN, "", 0, ""},
	{__LINE__, S("NOOP\r"), FTP_PARSE_BAD_BYTE, FTP_VERB_UNKNOWN, "", 0, ""},
	{__LINE__, S("STOR a\rb"), FTP_PARSE_BAD_BYTE, FTP_VERB_UNKNOWN, "", 0, ""},
	{__LINE__, S("NOOP\nQUIT"), FTP_PARSE_BAD_BYTE, FTP_VERB_UNKNOWN, "", 0, ""},

	/* Telnet: ABOR as RFC 959 §4.1.3 sends it, options, escapes */
	{__LINE__, S("\xff\xf4\xff\xf2" "ABOR"), FTP_PARSE_OK, FTP_VERB_ABOR, "ABOR", 0, ""},
	{__LINE__, S("\xff\xf4" "ABOR"), FTP_PARSE_OK, FTP_VERB_ABOR, "ABOR", 0, ""},
	{__LINE__, S("\xff\xf2" "ABOR"), FTP_PARSE_OK, FTP_VERB_ABOR, "ABOR", 0, ""},
	{__LINE__, S("AB\xff\xf1OR"), FTP_PARSE_OK, FTP_VERB_ABOR, "ABOR", 0, ""},
	{__LINE__, S("\xff\xfd\x01NOOP"), FTP_PARSE_OK, FTP_VERB_NOOP, "NOOP", 0, ""},
	{__LINE__, S("\xff\xfb\x03\xff\xfe\x01\xff\xfc\x05NOOP"), FTP_PARSE_OK, FTP_VERB_NOOP, "NOOP",
	 0, ""},
	{__LINE__, S("\xff\xf0\xff\xfaNOOP"), FTP_PARSE_OK, FTP_VERB_NOOP, "NOOP", 0, ""},
	{__LINE__, S("RETR a\xff\xff" "b"), FTP_PARSE_OK, FTP_VERB_RETR, "RETR", 1, "a\xff" "b"},
	{__LINE__, S("RETR a\xff\xf4"), FTP_PARSE_OK, FTP_VERB_RETR, "RETR", 1, "a"},
	{__LINE__, S("\xff\xf4\xff\xf2"), FTP_PARSE_EMPTY, FTP_VERB_UNKNOWN, "", 0, ""},
	{__LINE__, S("ABOR\xff"), FTP_PARSE_TELNET, FTP_VERB_UNKNOWN, "", 0, ""},
	{__LINE__, S("\xff" "ABOR"), FTP_PARSE_TELNET, FTP_VERB_UNKNOWN, "", 0, ""},
	{__LINE__, S("\xff\xef" "ABOR"), FTP_PARSE_TELNET, FTP_VERB_UNKNOWN, "", 0, ""},
	{__LINE__, S("NOOP\xff\xfd"), FTP_PARSE_TELNET, FTP_VERB_UNKNOWN, "", 0, ""},
	{__LINE__, S("\xff\xfd\0NOOP"), FTP_PARSE_BAD_BYTE, FTP_VERB_UNKNOWN, "", 0, ""},
};
/* clang-format on */

static void test_command_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cmd_rows) / sizeof(cmd_rows[0]); i++) {
		const struct cmd_row *r = &cmd_rows[i];
		struct ftp_command c;
		memset(&c, 0x5a, sizeof(c));
		enum ftp_parse_status st = ftp_parse_command(r->in, r->len, &c);
		if (st != r->st)
			fail_msg("row at line %d: status %d, want %d", r->line, st, r->st);
		CHECK(r, c.verb == r->verb);
		CHECK(r, strcmp(c.name, r->name) == 0);
		if (st != FTP_PARSE_OK)
			continue;
		CHECK(r, c.has_arg == (r->has_arg != 0));
		CHECK(r, c.arglen == strlen(r->arg));
		CHECK(r, memcmp(c.arg, r->arg, c.arglen) == 0);
		CHECK(r, c.arg[c.arglen] == '\0');
	}
}

static void test_command_length(void **state)
{
	(void)state;
	static char line[FTP_COMMAND_LINE_MAX + 8];
	struct ftp_command c;

	/* The longest line conn_read_line returns with cap FTP_COMMAND_LINE_MAX. */
	memset(line, 'a', sizeof(line));
	memcpy(line, "STOR ", 5);
	assert_int_equal(ftp_parse_command(line, FTP_COMMAND_LINE_MAX - 1, &c), FTP_PARSE_OK);
	assert_int_equal(c.verb, FTP_VERB_STOR);
	assert_int_equal(c.arglen, FTP_COMMAND_LINE_MAX - 1 - 5);
	assert_int_equal(c.arg[c.arglen], '\0');
	assert_int_equal(ftp_parse_command(line, FTP_COMMAND_LINE_MAX, &c), FTP_PARSE_TOO_LONG);
	assert_int_equal(ftp_parse_command(line, sizeof(line), &c), FTP_PARSE_TOO_LONG);
}

/* Every verb of the table parses from its own name, in both cases. */
static void test_table_names(void **state)
{
	(void)state;
	for (int v = 1; v < FTP_VERB_COUNT; v++) {
		const struct ftp_cmd_info *ci = ftp_cmd_info((enum ftp_verb)v);
		char line[16];
		struct ftp_command c;
		assert_true(strlen(ci->name) >= 3 && strlen(ci->name) <= FTP_VERB_MAX);
		snprintf(line, sizeof(line), "%s", ci->name);
		assert_int_equal(ftp_parse_command(line, strlen(line), &c), FTP_PARSE_OK);
		assert_int_equal(c.verb, v);
		for (char *p = line; *p; p++)
			*p = (char)(*p - 'A' + 'a');
		assert_int_equal(ftp_parse_command(line, strlen(line), &c), FTP_PARSE_OK);
		assert_int_equal(c.verb, v);
	}
	assert_string_equal(ftp_cmd_info(FTP_VERB_UNKNOWN)->name, "");
	assert_string_equal(ftp_cmd_info(FTP_VERB_COUNT)->name, "");
	assert_string_equal(ftp_cmd_info((enum ftp_verb) - 1)->name, "");
}

/* ---- the command table and gate --------------------------------------- */

struct flag_row {
	int line;
	enum ftp_verb verb;
	unsigned flags;
};

#define REQ FTP_CMDF_ARG_REQ
#define OPT FTP_CMDF_ARG_OPT
#define LOG FTP_CMDF_PRELOGIN
#define TLS FTP_CMDF_PRETLS
#define DAT FTP_CMDF_DATA
#define WR FTP_CMDF_WRITE
#define XF FTP_CMDF_INXFER
#define NI FTP_CMDF_UNIMPL

/* clang-format off */
static const struct flag_row flag_rows[] = {
	{__LINE__, FTP_VERB_USER, REQ | LOG},
	{__LINE__, FTP_VERB_PASS, OPT | LOG},
	{__LINE__, FTP_VERB_ACCT, OPT | LOG | NI},
	{__LINE__, FTP_VERB_CWD, REQ},
	{__LINE__, FTP_VERB_CDUP, 0},
	{__LINE__, FTP_VERB_PWD, 0},
	{__LINE__, FTP_VERB_QUIT, LOG | TLS | XF},
	{__LINE__, FTP_VERB_REIN, LOG | TLS},
	{__LINE__, FTP_VERB_PORT, REQ},
	{__LINE__, FTP_VERB_PASV, 0},
	{__LINE__, FTP_VERB_EPSV, OPT},
	{__LINE__, FTP_VERB_EPRT, REQ},
	{__LINE__, FTP_VERB_LPRT, OPT | NI},
	{__LINE__, FTP_VERB_LPSV, OPT | NI},
	{__LINE__, FTP_VERB_TYPE, REQ},
	{__LINE__, FTP_VERB_STRU, REQ},
	{__LINE__, FTP_VERB_MODE, REQ},
	{__LINE__, FTP_VERB_RETR, REQ | DAT},
	{__LINE__, FTP_VERB_STOR, REQ | DAT | WR},
	{__LINE__, FTP_VERB_STOU, OPT | DAT | WR},
	{__LINE__, FTP_VERB_APPE, REQ | DAT | WR},
	{__LINE__, FTP_VERB_ALLO, REQ},
	{__LINE__, FTP_VERB_REST, REQ},
	{__LINE__, FTP_VERB_RNFR, REQ | WR},
	{__LINE__, FTP_VERB_RNTO, REQ | WR},
	{__LINE__, FTP_VERB_ABOR, XF},
	{__LINE__, FTP_VERB_DELE, REQ | WR},
	{__LINE__, FTP_VERB_RMD, REQ | WR},
	{__LINE__, FTP_VERB_MKD, REQ | WR},
	{__LINE__, FTP_VERB_LIST, OPT | DAT},
	{__LINE__, FTP_VERB_NLST, OPT | DAT},
	{__LINE__, FTP_VERB_SITE, REQ},
	{__LINE__, FTP_VERB_SYST, LOG | TLS},
	{__LINE__, FTP_VERB_STAT, OPT | XF},
	{__LINE__, FTP_VERB_HELP, OPT | LOG | TLS},
	{__LINE__, FTP_VERB_NOOP, OPT | LOG | TLS},
	{__LINE__, FTP_VERB_FEAT, LOG | TLS},
	{__LINE__, FTP_VERB_OPTS, REQ | LOG | TLS},
	{__LINE__, FTP_VERB_SIZE, REQ},
	{__LINE__, FTP_VERB_MDTM, REQ},
	{__LINE__, FTP_VERB_MLST, OPT},
	{__LINE__, FTP_VERB_MLSD, OPT | DAT},
	{__LINE__, FTP_VERB_MFMT, REQ | WR},
	{__LINE__, FTP_VERB_AUTH, REQ | LOG | TLS},
	{__LINE__, FTP_VERB_PBSZ, REQ | LOG | TLS},
	{__LINE__, FTP_VERB_PROT, REQ | LOG | TLS},
	{__LINE__, FTP_VERB_CCC, LOG | TLS},
};
/* clang-format on */

static void test_table_flags(void **state)
{
	(void)state;
	/* One row per verb, so a new verb cannot go without its policy. */
	assert_int_equal(sizeof(flag_rows) / sizeof(flag_rows[0]), FTP_VERB_COUNT - 1);
	for (size_t i = 0; i < sizeof(flag_rows) / sizeof(flag_rows[0]); i++) {
		const struct flag_row *r = &flag_rows[i];
		unsigned got = ftp_cmd_info(r->verb)->flags;
		if (got != r->flags)
			fail_msg("row at line %d: flags %#x, want %#x", r->line, got, r->flags);
	}
}

enum { G_LOGIN = 1, G_TLSREQ = 2, G_TLS = 4, G_PROTP = 8, G_RO = 16 };

struct gate_row {
	int line;
	const char *cmd;
	unsigned g;
	int code;
};

/* clang-format off */
static const struct gate_row gate_rows[] = {
	/* unknown and unimplemented first, whatever the state */
	{__LINE__, "XYZZ", 0, 500},
	{__LINE__, "XYZZ", G_LOGIN, 500},
	{__LINE__, "ACCT x", 0, 502},
	{__LINE__, "LPRT 4,4,1,2,3,4,2,0,21", G_LOGIN, 502},
	{__LINE__, "LPSV", G_TLSREQ, 502},
	/* before login: only the login and harmless commands */
	{__LINE__, "USER a", 0, 0},
	{__LINE__, "PASS", 0, 0},
	{__LINE__, "PASS x", 0, 0},
	{__LINE__, "QUIT", 0, 0},
	{__LINE__, "FEAT", 0, 0},
	{__LINE__, "SYST", 0, 0},
	{__LINE__, "HELP", 0, 0},
	{__LINE__, "NOOP", 0, 0},
	{__LINE__, "OPTS UTF8 ON", 0, 0},
	{__LINE__, "AUTH TLS", 0, 0},
	{__LINE__, "PBSZ 0", 0, 0},
	{__LINE__, "PROT P", 0, 0},
	{__LINE__, "CCC", 0, 0},
	{__LINE__, "REIN", 0, 0},
	{__LINE__, "PWD", 0, 530},
	{__LINE__, "CWD /", 0, 530},
	{__LINE__, "LIST", 0, 530},
	{__LINE__, "RETR f", 0, 530},
	{__LINE__, "STOR f", 0, 530},
	{__LINE__, "PASV", 0, 530},
	{__LINE__, "EPSV", 0, 530},
	{__LINE__, "PORT 1,2,3,4,5,6", 0, 530},
	{__LINE__, "TYPE I", 0, 530},
	{__LINE__, "SIZE f", 0, 530},
	{__LINE__, "STAT", 0, 530},
	{__LINE__, "ABOR", 0, 530},
	{__LINE__, "SITE HELP", 0, 530},
	{__LINE__, "MLST", 0, 530},
	/* login check comes before the argument check */
	{__LINE__, "CWD", 0, 530},
	/* tls = required: USER and everything but the TLS setup waits for AUTH */
	{__LINE__, "USER a", G_TLSREQ, 530},
	{__LINE__, "PASS a", G_TLSREQ, 530},
	{__LINE__, "AUTH TLS", G_TLSREQ, 0},
	{__LINE__, "FEAT", G_TLSREQ, 0},
	{__LINE__, "QUIT", G_TLSREQ, 0},
	{__LINE__, "NOOP", G_TLSREQ, 0},
	{__LINE__, "USER a", G_TLSREQ | G_TLS, 0},
	{__LINE__, "PWD", G_TLSREQ | G_TLS, 530},
	/* tls = required, logged in: data needs PROT P */
	{__LINE__, "LIST", G_TLSREQ | G_TLS | G_LOGIN, 521},
	{__LINE__, "NLST", G_TLSREQ | G_TLS | G_LOGIN, 521},
	{__LINE__, "MLSD", G_TLSREQ | G_TLS | G_LOGIN, 521},
	{__LINE__, "RETR f", G_TLSREQ | G_TLS | G_LOGIN, 521},
	{__LINE__, "STOR f", G_TLSREQ | G_TLS | G_LOGIN, 521},
	{__LINE__, "APPE f", G_TLSREQ | G_TLS | G_LOGIN, 521},
	{__LINE__, "STOU", G_TLSREQ | G_TLS | G_LOGIN, 521},
	{__LINE__, "LIST", G_TLSREQ | G_TLS | G_LOGIN | G_PROTP, 0},
	{__LINE__, "PASV", G_TLSREQ | G_TLS | G_LOGIN, 0},
	{__LINE__, "MLST f", G_TLSREQ | G_TLS | G_LOGIN, 0},
	/* tls = optional: PROT C data is fine */
	{__LINE__, "LIST", G_TLS | G_LOGIN, 0},
	{__LINE__, "RETR f", G_LOGIN, 0},
	/* arguments */
	{__LINE__, "CWD", G_LOGIN, 501},
	{__LINE__, "CWD ", G_LOGIN, 501},
	{__LINE__, "RETR", G_LOGIN, 501},
	{__LINE__, "USER", 0, 501},
	{__LINE__, "USER ", 0, 501},
	{__LINE__, "PWD x", G_LOGIN, 501},
	{__LINE__, "PWD ", G_LOGIN, 0},
	{__LINE__, "CDUP ..", G_LOGIN, 501},
	{__LINE__, "PASV 1", G_LOGIN, 501},
	{__LINE__, "QUIT now", G_LOGIN, 501},
	{__LINE__, "FEAT x", 0, 501},
	{__LINE__, "NOOP anything", 0, 0},
	{__LINE__, "LIST -la", G_LOGIN, 0},
	{__LINE__, "EPSV", G_LOGIN, 0},
	{__LINE__, "EPSV ALL", G_LOGIN, 0},
	/* read-only sessions */
	{__LINE__, "STOR f", G_LOGIN | G_RO, 550},
	{__LINE__, "STOU", G_LOGIN | G_RO, 550},
	{__LINE__, "APPE f", G_LOGIN | G_RO, 550},
	{__LINE__, "DELE f", G_LOGIN | G_RO, 550},
	{__LINE__, "RMD d", G_LOGIN | G_RO, 550},
	{__LINE__, "XRMD d", G_LOGIN | G_RO, 550},
	{__LINE__, "MKD d", G_LOGIN | G_RO, 550},
	{__LINE__, "XMKD d", G_LOGIN | G_RO, 550},
	{__LINE__, "RNFR a", G_LOGIN | G_RO, 550},
	{__LINE__, "RNTO b", G_LOGIN | G_RO, 550},
	{__LINE__, "MFMT 20240101000000 f", G_LOGIN | G_RO, 550},
	{__LINE__, "RETR f", G_LOGIN | G_RO, 0},
	{__LINE__, "LIST", G_LOGIN | G_RO, 0},
	{__LINE__, "SITE HELP", G_LOGIN | G_RO, 0},
	{__LINE__, "STOR f", G_LOGIN | G_RO | G_TLSREQ | G_TLS, 550},
	/* commands during a transfer are the session's business: the gate passes */
	{__LINE__, "ABOR", G_LOGIN, 0},
	{__LINE__, "STAT", G_LOGIN, 0},
	{__LINE__, "STAT f", G_LOGIN, 0},
};
/* clang-format on */

static void test_gate_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(gate_rows) / sizeof(gate_rows[0]); i++) {
		const struct gate_row *r = &gate_rows[i];
		struct ftp_command c;
		struct ftp_gate g = {
		    .logged_in = r->g & G_LOGIN,
		    .tls_required = r->g & G_TLSREQ,
		    .tls_active = r->g & G_TLS,
		    .prot_private = r->g & G_PROTP,
		    .read_only = r->g & G_RO,
		};
		const char *text = "unset";
		CHECK(r, ftp_parse_command(r->cmd, strlen(r->cmd), &c) == FTP_PARSE_OK);
		int code = ftp_command_gate(&c, &g, &text);
		if (code != r->code)
			fail_msg("row at line %d: %s -> %d, want %d", r->line, r->cmd, code,
			         r->code);
		CHECK(r, code ? (text && *text) : text == NULL);
	}
}

/* ---- PORT and EPRT ---------------------------------------------------- */

struct addr_row {
	int line;
	const char *arg;
	int code;
	int family;
	const char *addr;
	int port;
};

/* clang-format off */
static const struct addr_row port_rows[] = {
	{__LINE__, "192,168,1,2,4,1", 0, AF_INET, "192.168.1.2", 1025},
	{__LINE__, "127,0,0,1,0,21", 0, AF_INET, "127.0.0.1", 21},
	{__LINE__, "0,0,0,0,255,255", 0, AF_INET, "0.0.0.0", 65535},
	{__LINE__, "255,255,255,255,0,1", 0, AF_INET, "255.255.255.255", 1},
	{__LINE__, "010,001,002,003,004,005", 0, AF_INET, "10.1.2.3", 1029},
	{__LINE__, "1,2,3,4,0,0", 501, 0, NULL, 0},       /* port 0 */
	{__LINE__, "300,2,3,4,5,6", 501, 0, NULL, 0},     /* > 255 */
	{__LINE__, "1,2,3,4,256,6", 501, 0, NULL, 0},
	{__LINE__, "1,2,3,4,5,256", 501, 0, NULL, 0},
	{__LINE__, "-1,2,3,4,5,6", 501, 0, NULL, 0},      /* negative */
	{__LINE__, "1,2,3,4,5,-6", 501, 0, NULL, 0},
	{__LINE__, "+1,2,3,4,5,6", 501, 0, NULL, 0},
	{__LINE__, "1,2,3,4,5", 501, 0, NULL, 0},         /* missing field */
	{__LINE__, "1,2,3,4", 501, 0, NULL, 0},           /* four numbers */
	{__LINE__, "1,2,3,4,5,6,7", 501, 0, NULL, 0},
	{__LINE__, "1,2,3,,5,6", 501, 0, NULL, 0},
	{__LINE__, "1,2,3,4,5,", 501, 0, NULL, 0},
	{__LINE__, ",1,2,3,4,5", 501, 0, NULL, 0},
	{__LINE__, "1,2,3,4,5,6,", 501, 0, NULL, 0},
	{__LINE__, "1, 2,3,4,5,6", 501, 0, NULL, 0},
	{__LINE__, " 1,2,3,4,5,6", 501, 0, NULL, 0},
	{__LINE__, "1,2,3,4,5,6 ", 501, 0, NULL, 0},
	{__LINE__, "1.2.3.4,5,6", 501, 0, NULL, 0},
	{__LINE__, "0001,2,3,4,5,6", 501, 0, NULL, 0},    /* four digits */
	{__LINE__, "a,b,c,d,e,f", 501, 0, NULL, 0},
	{__LINE__, "0x1,2,3,4,5,6", 501, 0, NULL, 0},
	{__LINE__, "", 501, 0, NULL, 0},
	{__LINE__, ",,,,,", 501, 0, NULL, 0},
};
/* clang-format on */

/* clang-format off */
static const struct addr_row eprt_rows[] = {
	{__LINE__, "|1|132.235.1.2|6275|", 0, AF_INET, "132.235.1.2", 6275},
	{__LINE__, "|2|1080::8:800:200C:417A|5282|", 0, AF_INET6, "1080::8:800:200c:417a", 5282},
	{__LINE__, "|2|::1|65535|", 0, AF_INET6, "::1", 65535},
	{__LINE__, "|2|::ffff:1.2.3.4|1024|", 0, AF_INET6, "::ffff:1.2.3.4", 1024},
	/* any delimiter in 33-126 (RFC 2428 §2) */
	{__LINE__, "!1!10.0.0.1!2000!", 0, AF_INET, "10.0.0.1", 2000},
	{__LINE__, "~2~fe80::1~2000~", 0, AF_INET6, "fe80::1", 2000},
	{__LINE__, "#1#10.0.0.1#2000#", 0, AF_INET, "10.0.0.1", 2000},
	/* family numbers we do not speak: 522 */
	{__LINE__, "|3|1.2.3.4|5|", 522, 0, NULL, 0},
	{__LINE__, "|0|1.2.3.4|5|", 522, 0, NULL, 0},
	{__LINE__, "|12|1.2.3.4|5|", 522, 0, NULL, 0},
	/* everything else: 501 */
	{__LINE__, "|x|1.2.3.4|5|", 501, 0, NULL, 0},
	{__LINE__, "||1.2.3.4|5|", 501, 0, NULL, 0},
	{__LINE__, "|1|::1|5|", 501, 0, NULL, 0},              /* v6 in |1| */
	{__LINE__, "|2|1.2.3.4|5|", 501, 0, NULL, 0},          /* v4 in |2| */
	{__LINE__, "|1|1.2.3|5|", 501, 0, NULL, 0},
	{__LINE__, "|1|1.2.3.256|5|", 501, 0, NULL, 0},
	{__LINE__, "|1|01.2.3.4|5|", 501, 0, NULL, 0},
	{__LINE__, "|1|1.2.3.4 |5|", 501, 0, NULL, 0},
	{__LINE__, "|1|host.example|5|", 501, 0, NULL, 0},
	{__LINE__, "|2|fe80::1%eth0|5|", 501, 0, NULL, 0},     /* no zone ids */
	{__LINE__, "|1||5|", 501, 0, NULL, 0},
	{__LINE__, "|1|1.2.3.4|0|", 501, 0, NULL, 0},
	{__LINE__, "|1|1.2.3.4|65536|", 501, 0, NULL, 0},
	{__LINE__, "|1|1.2.3.4|123456|", 501, 0, NULL, 0},
	{__LINE__, "|1|1.2.3.4|-5|", 501, 0, NULL, 0},
	{__LINE__, "|1|1.2.3.4||", 501, 0, NULL, 0},
	{__LINE__, "|1|1.2.3.4|5", 501, 0, NULL, 0},           /* no closing delimiter */
	{__LINE__, "|1|1.2.3.4|5||", 501, 0, NULL, 0},         /* trailing */
	{__LINE__, "|1|1.2.3.4|5|x", 501, 0, NULL, 0},
	{__LINE__, "|1|1.2.3.4!5!", 501, 0, NULL, 0},          /* mixed delimiters */
	{__LINE__, " 1 1.2.3.4 5 ", 501, 0, NULL, 0},           /* space: not in 33-126 */
	{__LINE__, "\x7f" "1\x7f" "1.2.3.4\x7f" "5\x7f", 501, 0, NULL, 0},
	{__LINE__, "\x01" "1\x01" "1.2.3.4\x01" "5\x01", 501, 0, NULL, 0},
	{__LINE__, "11111.2.3.4151", 501, 0, NULL, 0},          /* digit delimiter: ambiguous */
	{__LINE__, "|2|1:2:3:4:5:6:7:8:9|5|", 501, 0, NULL, 0},
	{__LINE__, "|2|0000:0000:0000:0000:0000:0000:0000:0000:0|5|", 501, 0, NULL, 0},
	{__LINE__, "|", 501, 0, NULL, 0},
	{__LINE__, "", 501, 0, NULL, 0},
};
/* clang-format on */

static void check_addr(const struct addr_row *r, int code, const struct sockaddr_storage *ss,
                       socklen_t len)
{
	if (code != r->code)
		fail_msg("row at line %d: \"%s\" -> %d, want %d", r->line, r->arg, code, r->code);
	if (code)
		return;
	char buf[INET6_ADDRSTRLEN];
	CHECK(r, ss->ss_family == r->family);
	if (r->family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
		CHECK(r, len == sizeof(*sin));
		inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf));
		CHECK(r, ntohs(sin->sin_port) == r->port);
	} else {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
		CHECK(r, len == sizeof(*sin6));
		inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof(buf));
		CHECK(r, ntohs(sin6->sin6_port) == r->port);
	}
	if (strcmp(buf, r->addr) != 0)
		fail_msg("row at line %d: address %s, want %s", r->line, buf, r->addr);
}

static void test_port_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(port_rows) / sizeof(port_rows[0]); i++) {
		struct sockaddr_storage ss;
		socklen_t len = 0;
		int code = ftp_parse_port(port_rows[i].arg, strlen(port_rows[i].arg), &ss, &len);
		check_addr(&port_rows[i], code, &ss, len);
	}
}

static void test_eprt_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(eprt_rows) / sizeof(eprt_rows[0]); i++) {
		struct sockaddr_storage ss;
		socklen_t len = 0;
		int code = ftp_parse_eprt(eprt_rows[i].arg, strlen(eprt_rows[i].arg), &ss, &len);
		check_addr(&eprt_rows[i], code, &ss, len);
	}
}

/* ---- small enumerations ------------------------------------------------ */

struct enum_row {
	int line;
	int which; /* the parser */
	const char *arg;
	int code;
	int value;
};

enum { P_EPSV, P_TYPE, P_MODE, P_STRU, P_PROT, P_AUTH };

/* clang-format off */
static const struct enum_row enum_rows[] = {
	{__LINE__, P_EPSV, "", 0, FTP_EPSV_ANY},
	{__LINE__, P_EPSV, "1", 0, FTP_EPSV_V4},
	{__LINE__, P_EPSV, "2", 0, FTP_EPSV_V6},
	{__LINE__, P_EPSV, "ALL", 0, FTP_EPSV_ALL},
	{__LINE__, P_EPSV, "all", 0, FTP_EPSV_ALL},
	{__LINE__, P_EPSV, "aLl", 0, FTP_EPSV_ALL},
	{__LINE__, P_EPSV, "3", 522, 0},
	{__LINE__, P_EPSV, "0", 522, 0},
	{__LINE__, P_EPSV, "ALLL", 501, 0},
	{__LINE__, P_EPSV, "AL", 501, 0},
	{__LINE__, P_EPSV, " 1", 501, 0},
	{__LINE__, P_EPSV, "1 ", 501, 0},
	{__LINE__, P_EPSV, "-1", 501, 0},

	{__LINE__, P_TYPE, "A", 0, FTP_TYPE_ASCII},
	{__LINE__, P_TYPE, "a", 0, FTP_TYPE_ASCII},
	{__LINE__, P_TYPE, "A N", 0, FTP_TYPE_ASCII},
	{__LINE__, P_TYPE, "a n", 0, FTP_TYPE_ASCII},
	{__LINE__, P_TYPE, "I", 0, FTP_TYPE_IMAGE},
	{__LINE__, P_TYPE, "i", 0, FTP_TYPE_IMAGE},
	{__LINE__, P_TYPE, "L 8", 0, FTP_TYPE_IMAGE},
	{__LINE__, P_TYPE, "l 8", 0, FTP_TYPE_IMAGE},
	{__LINE__, P_TYPE, "A T", 504, 0},
	{__LINE__, P_TYPE, "A C", 504, 0},
	{__LINE__, P_TYPE, "E", 504, 0},
	{__LINE__, P_TYPE, "E N", 504, 0},
	{__LINE__, P_TYPE, "L 7", 504, 0},
	{__LINE__, P_TYPE, "L 16", 504, 0},
	{__LINE__, P_TYPE, "L 36", 504, 0},
	{__LINE__, P_TYPE, "", 501, 0},
	{__LINE__, P_TYPE, "X", 501, 0},
	{__LINE__, P_TYPE, "IMAGE", 501, 0},
	{__LINE__, P_TYPE, "I ", 501, 0},
	{__LINE__, P_TYPE, "A X", 501, 0},
	{__LINE__, P_TYPE, "AN", 501, 0},
	{__LINE__, P_TYPE, "A  N", 501, 0},
	{__LINE__, P_TYPE, "A N ", 501, 0},
	{__LINE__, P_TYPE, "L", 501, 0},
	{__LINE__, P_TYPE, "L8", 501, 0},
	{__LINE__, P_TYPE, "L x", 501, 0},
	{__LINE__, P_TYPE, "L 256", 501, 0},

	{__LINE__, P_MODE, "S", 0, 0},
	{__LINE__, P_MODE, "s", 0, 0},
	{__LINE__, P_MODE, "B", 504, 0},
	{__LINE__, P_MODE, "C", 504, 0},
	{__LINE__, P_MODE, "Z", 504, 0},
	{__LINE__, P_MODE, "X", 501, 0},
	{__LINE__, P_MODE, "", 501, 0},
	{__LINE__, P_MODE, "S ", 501, 0},
	{__LINE__, P_MODE, "SS", 501, 0},

	{__LINE__, P_STRU, "F", 0, 0},
	{__LINE__, P_STRU, "f", 0, 0},
	{__LINE__, P_STRU, "R", 504, 0},
	{__LINE__, P_STRU, "P", 504, 0},
	{__LINE__, P_STRU, "X", 501, 0},
	{__LINE__, P_STRU, "", 501, 0},
	{__LINE__, P_STRU, "FILE", 501, 0},

	{__LINE__, P_PROT, "C", 0, FTP_PROT_C},
	{__LINE__, P_PROT, "c", 0, FTP_PROT_C},
	{__LINE__, P_PROT, "P", 0, FTP_PROT_P},
	{__LINE__, P_PROT, "p", 0, FTP_PROT_P},
	{__LINE__, P_PROT, "S", 536, FTP_PROT_S},
	{__LINE__, P_PROT, "E", 536, FTP_PROT_E},
	{__LINE__, P_PROT, "X", 504, 0},
	{__LINE__, P_PROT, "1", 501, 0},
	{__LINE__, P_PROT, "", 501, 0},
	{__LINE__, P_PROT, "PP", 501, 0},
	{__LINE__, P_PROT, "P ", 501, 0},

	{__LINE__, P_AUTH, "TLS", 0, FTP_AUTH_TLS},
	{__LINE__, P_AUTH, "tls", 0, FTP_AUTH_TLS},
	{__LINE__, P_AUTH, "TLS-C", 0, FTP_AUTH_TLS_C},
	{__LINE__, P_AUTH, "SSL", 0, FTP_AUTH_SSL},
	{__LINE__, P_AUTH, "ssl", 0, FTP_AUTH_SSL},
	{__LINE__, P_AUTH, "TLS-P", 0, FTP_AUTH_TLS_P},
	{__LINE__, P_AUTH, "GSSAPI", 504, 0},
	{__LINE__, P_AUTH, "KERBEROS_V4", 504, 0},
	{__LINE__, P_AUTH, "TLS ", 504, 0},
	{__LINE__, P_AUTH, "TL", 504, 0},
	{__LINE__, P_AUTH, "", 504, 0},
};
/* clang-format on */

static void test_enum_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(enum_rows) / sizeof(enum_rows[0]); i++) {
		const struct enum_row *r = &enum_rows[i];
		size_t len = strlen(r->arg);
		int code, value = -1;
		switch (r->which) {
		case P_EPSV: {
			enum ftp_epsv v = -1;
			code = ftp_parse_epsv(r->arg, len, &v);
			value = (int)v;
			break;
		}
		case P_TYPE: {
			enum ftp_type v = -1;
			code = ftp_parse_type(r->arg, len, &v);
			value = (int)v;
			break;
		}
		case P_MODE:
			code = ftp_parse_mode(r->arg, len);
			value = 0;
			break;
		case P_STRU:
			code = ftp_parse_stru(r->arg, len);
			value = 0;
			break;
		case P_PROT: {
			enum ftp_prot v = -1;
			code = ftp_parse_prot(r->arg, len, &v);
			value = (int)v;
			break;
		}
		default: {
			enum ftp_auth v = -1;
			code = ftp_parse_auth(r->arg, len, &v);
			value = (int)v;
			break;
		}
		}
		if (code != r->code)
			fail_msg("row at line %d: \"%s\" -> %d, want %d", r->line, r->arg, code,
			         r->code);
		if (code == 0 || r->code == 536)
			CHECK(r, value == r->value);
	}
}

/* ---- numbers ----------------------------------------------------------- */

struct num_row {
	int line;
	int pbsz; /* 0: REST, 1: PBSZ */
	const char *arg;
	int code;
	uint64_t value;
};

/* clang-format off */
static const struct num_row num_rows[] = {
	{__LINE__, 0, "0", 0, 0},
	{__LINE__, 0, "1", 0, 1},
	{__LINE__, 0, "4294967296", 0, 4294967296ull},      /* > 4 GiB */
	{__LINE__, 0, "68719476736", 0, 68719476736ull},
	{__LINE__, 0, "9223372036854775807", 0, INT64_MAX},
	{__LINE__, 0, "0009223372036854775807", 501, 0},   /* 22 digits */
	{__LINE__, 0, "9223372036854775808", 501, 0},      /* INT64_MAX + 1 */
	{__LINE__, 0, "18446744073709551615", 501, 0},
	{__LINE__, 0, "99999999999999999999", 501, 0},
	{__LINE__, 0, "", 501, 0},
	{__LINE__, 0, "-1", 501, 0},
	{__LINE__, 0, "+1", 501, 0},
	{__LINE__, 0, "1 ", 501, 0},
	{__LINE__, 0, " 1", 501, 0},
	{__LINE__, 0, "1k", 501, 0},
	{__LINE__, 0, "0x10", 501, 0},
	{__LINE__, 0, "STREAM", 501, 0},
	{__LINE__, 1, "0", 0, 0},
	{__LINE__, 1, "16384", 0, 16384},
	{__LINE__, 1, "4294967295", 0, 4294967295ull},
	{__LINE__, 1, "4294967296", 501, 0},
	{__LINE__, 1, "00000000001", 501, 0},
	{__LINE__, 1, "", 501, 0},
	{__LINE__, 1, "-0", 501, 0},
	{__LINE__, 1, "x", 501, 0},
};
/* clang-format on */

static void test_num_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(num_rows) / sizeof(num_rows[0]); i++) {
		const struct num_row *r = &num_rows[i];
		uint64_t v = 12345;
		uint32_t v32 = 12345;
		int code;
		if (r->pbsz) {
			code = ftp_parse_pbsz(r->arg, strlen(r->arg), &v32);
			v = v32;
		} else {
			code = ftp_parse_rest(r->arg, strlen(r->arg), &v);
		}
		if (code != r->code)
			fail_msg("row at line %d: \"%s\" -> %d, want %d", r->line, r->arg, code,
			         r->code);
		if (code == 0)
			CHECK(r, v == r->value);
	}
}

/* ---- MFMT ---------------------------------------------------------------- */

struct mfmt_row {
	int line;
	const char *arg;
	int code;
	long long sec;
	long nsec;
	const char *path;
};

/* clang-format off */
static const struct mfmt_row mfmt_rows[] = {
	{__LINE__, "20240229123456 f.txt", 0, 1709210096, 0, "f.txt"},
	{__LINE__, "19700101000000 a b", 0, 0, 0, "a b"},
	{__LINE__, "20380119031408 y2038", 0, 2147483648ll, 0, "y2038"},
	{__LINE__, "19691231235959 old", 0, -1, 0, "old"},
	{__LINE__, "20240101000000.5 f", 0, 1704067200, 500000000, "f"},
	{__LINE__, "20240101000000.123456789 f", 0, 1704067200, 123456789, "f"},
	{__LINE__, "20240101000000 /dir/with space/f ", 0, 1704067200, 0, "/dir/with space/f "},
	{__LINE__, "20240101000000  f", 0, 1704067200, 0, " f"},
	{__LINE__, "20240101000000.1234567890 f", 501, 0, 0, NULL},
	{__LINE__, "20240101000000. f", 501, 0, 0, NULL},
	{__LINE__, "20240101000000", 501, 0, 0, NULL},
	{__LINE__, "20240101000000 ", 501, 0, 0, NULL},
	{__LINE__, "2024010100000 f", 501, 0, 0, NULL},
	{__LINE__, "202401010000000 f", 501, 0, 0, NULL},
	{__LINE__, "20230229000000 f", 501, 0, 0, NULL},  /* not a leap year */
	{__LINE__, "21000229000000 f", 501, 0, 0, NULL},  /* nor is 2100 */
	{__LINE__, "20240132000000 f", 501, 0, 0, NULL},
	{__LINE__, "20240431000000 f", 501, 0, 0, NULL},
	{__LINE__, "20241301000000 f", 501, 0, 0, NULL},
	{__LINE__, "20240001000000 f", 501, 0, 0, NULL},
	{__LINE__, "20240100000000 f", 501, 0, 0, NULL},
	{__LINE__, "20240101240000 f", 501, 0, 0, NULL},
	{__LINE__, "20240101006000 f", 501, 0, 0, NULL},
	{__LINE__, "20240101000061 f", 501, 0, 0, NULL},
	{__LINE__, "2024-01-01T00:00 f", 501, 0, 0, NULL},
	{__LINE__, "f 20240101000000", 501, 0, 0, NULL},
	{__LINE__, "", 501, 0, 0, NULL},
};
/* clang-format on */

static void test_mfmt_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(mfmt_rows) / sizeof(mfmt_rows[0]); i++) {
		const struct mfmt_row *r = &mfmt_rows[i];
		struct ftp_mfmt m;
		int code = ftp_parse_mfmt(r->arg, strlen(r->arg), &m);
		if (code != r->code)
			fail_msg("row at line %d: \"%s\" -> %d, want %d", r->line, r->arg, code,
			         r->code);
		if (code)
			continue;
		if ((long long)m.time.tv_sec != r->sec)
			fail_msg("row at line %d: %lld s, want %lld", r->line,
			         (long long)m.time.tv_sec, r->sec);
		CHECK(r, m.time.tv_nsec == r->nsec);
		CHECK(r, m.pathlen == strlen(r->path) && memcmp(m.path, r->path, m.pathlen) == 0);
	}
}

/* ---- OPTS ------------------------------------------------------------------ */

struct opts_row {
	int line;
	const char *arg;
	int code;
	enum ftp_opts_kind kind;
	int on;
	unsigned facts;
};

/* clang-format off */
static const struct opts_row opts_rows[] = {
	{__LINE__, "UTF8 ON", 0, FTP_OPTS_UTF8, 1, 0},
	{__LINE__, "utf8 on", 0, FTP_OPTS_UTF8, 1, 0},
	{__LINE__, "UTF8 OFF", 0, FTP_OPTS_UTF8, 0, 0},
	{__LINE__, "UTF8", 501, 0, 0, 0},
	{__LINE__, "UTF8 ", 501, 0, 0, 0},
	{__LINE__, "UTF8 YES", 501, 0, 0, 0},
	{__LINE__, "UTF8 ON ", 501, 0, 0, 0},
	{__LINE__, "UTF8  ON", 501, 0, 0, 0},
	{__LINE__, "UTF-8 ON", 501, 0, 0, 0},
	{__LINE__, "MLST type;size;", 0, FTP_OPTS_MLST, 0, FTP_FACT_TYPE | FTP_FACT_SIZE},
	{__LINE__, "MLST type;size", 0, FTP_OPTS_MLST, 0, FTP_FACT_TYPE | FTP_FACT_SIZE},
	{__LINE__, "mlst TYPE;Modify;unix.MODE;", 0, FTP_OPTS_MLST, 0,
	 FTP_FACT_TYPE | FTP_FACT_MODIFY | FTP_FACT_UNIX_MODE},
	{__LINE__, "MLST type;size;modify;perm;unique;UNIX.mode;", 0, FTP_OPTS_MLST, 0, FTP_FACT_ALL},
	{__LINE__, "MLST", 0, FTP_OPTS_MLST, 0, 0},
	{__LINE__, "MLST ", 0, FTP_OPTS_MLST, 0, 0},
	{__LINE__, "MLST lang;charset;media-type;", 0, FTP_OPTS_MLST, 0, 0},
	{__LINE__, "MLST ;;type;;", 0, FTP_OPTS_MLST, 0, FTP_FACT_TYPE},
	{__LINE__, "MLST types;siz;", 0, FTP_OPTS_MLST, 0, 0},
	{__LINE__, "MLST type; size;", 501, 0, 0, 0},
	{__LINE__, "MODE Z LEVEL 9", 501, 0, 0, 0},
	{__LINE__, "", 501, 0, 0, 0},
};
/* clang-format on */

static void test_opts_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(opts_rows) / sizeof(opts_rows[0]); i++) {
		const struct opts_row *r = &opts_rows[i];
		struct ftp_opts o;
		int code = ftp_parse_opts(r->arg, strlen(r->arg), &o);
		if (code != r->code)
			fail_msg("row at line %d: \"%s\" -> %d, want %d", r->line, r->arg, code,
			         r->code);
		if (code)
			continue;
		CHECK(r, o.kind == r->kind);
		if (o.kind == FTP_OPTS_UTF8)
			CHECK(r, o.utf8_on == (r->on != 0));
		else
			CHECK(r, o.facts == r->facts);
	}
	assert_string_equal(ftp_fact_name(FTP_FACT_TYPE), "type");
	assert_string_equal(ftp_fact_name(FTP_FACT_UNIX_MODE), "UNIX.mode");
	assert_null(ftp_fact_name(0));
	assert_null(ftp_fact_name(FTP_FACT_TYPE | FTP_FACT_SIZE));
	assert_null(ftp_fact_name(FTP_FACT_ALL + 1));
}

/* ---- SITE ------------------------------------------------------------------ */

struct site_row {
	int line;
	const char *arg;
	int code;
	enum ftp_site_cmd cmd;
	unsigned mode;
	const char *path;
};

/* clang-format off */
static const struct site_row site_rows[] = {
	{__LINE__, "CHMOD 644 index.html", 0, FTP_SITE_CHMOD, 0644, "index.html"},
	{__LINE__, "chmod 755 /dir/a b", 0, FTP_SITE_CHMOD, 0755, "/dir/a b"},
	{__LINE__, "CHMOD 0644 f", 0, FTP_SITE_CHMOD, 0644, "f"},
	{__LINE__, "CHMOD 0 f", 0, FTP_SITE_CHMOD, 0, "f"},
	{__LINE__, "CHMOD 7 f", 0, FTP_SITE_CHMOD, 07, "f"},
	{__LINE__, "CHMOD 4755 f", 504, 0, 0, NULL},   /* set-uid */
	{__LINE__, "CHMOD 1777 d", 504, 0, 0, NULL},   /* sticky */
	{__LINE__, "CHMOD 2755 d", 504, 0, 0, NULL},
	{__LINE__, "CHMOD 00644 f", 501, 0, 0, NULL},  /* five digits */
	{__LINE__, "CHMOD 648 f", 501, 0, 0, NULL},
	{__LINE__, "CHMOD -1 f", 501, 0, 0, NULL},
	{__LINE__, "CHMOD u+x f", 501, 0, 0, NULL},
	{__LINE__, "CHMOD 644", 501, 0, 0, NULL},
	{__LINE__, "CHMOD 644 ", 501, 0, 0, NULL},
	{__LINE__, "CHMOD  644 f", 501, 0, 0, NULL},
	{__LINE__, "CHMOD", 501, 0, 0, NULL},
	{__LINE__, "HELP", 0, FTP_SITE_HELP, 0, ""},
	{__LINE__, "help CHMOD", 0, FTP_SITE_HELP, 0, "CHMOD"},
	{__LINE__, "UMASK 022", 500, 0, 0, NULL},
	{__LINE__, "EXEC /bin/sh", 500, 0, 0, NULL},
	{__LINE__, "CHMODX 644 f", 500, 0, 0, NULL},
	{__LINE__, "", 500, 0, 0, NULL},
};
/* clang-format on */

static void test_site_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(site_rows) / sizeof(site_rows[0]); i++) {
		const struct site_row *r = &site_rows[i];
		struct ftp_site s;
		int code = ftp_parse_site(r->arg, strlen(r->arg), &s);
		if (code != r->code)
			fail_msg("row at line %d: \"%s\" -> %d, want %d", r->line, r->arg, code,
			         r->code);
		if (code)
			continue;
		CHECK(r, s.cmd == r->cmd);
		if (s.cmd == FTP_SITE_CHMOD)
			CHECK(r, s.mode == r->mode);
		CHECK(r, s.pathlen == strlen(r->path) && memcmp(s.path, r->path, s.pathlen) == 0);
	}
}

/* ---- LIST arguments ---------------------------------------------------------- */

struct list_row {
	int line;
	const char *arg;
	const char *opts; /* the flags set, as letters */
	const char *path;
};

/* clang-format off */
static const struct list_row list_rows[] = {
	{__LINE__, "", "", ""},
	{__LINE__, "dir", "", "dir"},
	{__LINE__, "-la", "al", ""},
	{__LINE__, "-al /www", "al", "/www"},
	{__LINE__, "-a -l sub dir", "al", "sub dir"},
	{__LINE__, "-R", "R", ""},
	{__LINE__, "-d x", "d", "x"},
	{__LINE__, "-laFt", "al", ""},
	{__LINE__, "-", "", "-"},
	{__LINE__, "-x.txt", "", "-x.txt"},
	{__LINE__, "-1", "", "-1"},
	{__LINE__, "-l -rf.txt", "l", "-rf.txt"},
	{__LINE__, "-l  x", "l", "x"},
	{__LINE__, "x -l", "", "x -l"},
};
/* clang-format on */

static void test_list_args(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(list_rows) / sizeof(list_rows[0]); i++) {
		const struct list_row *r = &list_rows[i];
		struct ftp_list_args a;
		assert_int_equal(ftp_parse_list_args(r->arg, strlen(r->arg), &a), 0);
		char got[8];
		size_t n = 0;
		if (a.opt_a)
			got[n++] = 'a';
		if (a.opt_d)
			got[n++] = 'd';
		if (a.opt_l)
			got[n++] = 'l';
		if (a.opt_R)
			got[n++] = 'R';
		got[n] = '\0';
		if (strcmp(got, r->opts) != 0)
			fail_msg("row at line %d: options \"%s\", want \"%s\"", r->line, got,
			         r->opts);
		CHECK(r, a.pathlen == strlen(r->path) && memcmp(a.path, r->path, a.pathlen) == 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_command_rows), cmocka_unit_test(test_command_length),
	    cmocka_unit_test(test_table_names),  cmocka_unit_test(test_table_flags),
	    cmocka_unit_test(test_gate_rows),    cmocka_unit_test(test_port_rows),
	    cmocka_unit_test(test_eprt_rows),    cmocka_unit_test(test_enum_rows),
	    cmocka_unit_test(test_num_rows),     cmocka_unit_test(test_mfmt_rows),
	    cmocka_unit_test(test_opts_rows),    cmocka_unit_test(test_site_rows),
	    cmocka_unit_test(test_list_args),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
