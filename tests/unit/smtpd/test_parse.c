/*
 * Unit tests for smtpd/parse.c, one row per case (the row's __LINE__ is
 * reported on failure): command lines, EHLO/HELO arguments, MAIL and RCPT
 * paths and every ESMTP parameter good and bad, BDAT arguments and the
 * mailbox key used to find a Maildir.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "../../../smtpd/parse.h"

#define ROW(...)                                                                                   \
	{                                                                                          \
		.line = __LINE__, __VA_ARGS__                                                      \
	}

static const char *rid_name(enum smtp_rid r)
{
	static char buf[16];
	const struct smtp_reply_def *d = smtp_reply_def(r);
	if (r == SMTP_R_NONE)
		return "NONE";
	snprintf(buf, sizeof buf, "%d %s", r, d ? d->status : "?");
	return buf;
}

/* ---- command lines ----------------------------------------------------- */

struct cmd_row {
	int line;
	const char *in;
	size_t len; /* 0: strlen(in) */
	enum smtp_rid want;
	enum smtp_verb verb;
	const char *arg; /* NULL: no argument */
};

static void test_command(void **state)
{
	(void)state;
	/* clang-format off */
	static const struct cmd_row rows[] = {
		ROW(.in = "EHLO example.org", .verb = SMTP_CMD_EHLO, .arg = "example.org"),
		ROW(.in = "ehlo example.org", .verb = SMTP_CMD_EHLO, .arg = "example.org"),
		ROW(.in = "HeLo x", .verb = SMTP_CMD_HELO, .arg = "x"),
		ROW(.in = "MAIL FROM:<a@b>", .verb = SMTP_CMD_MAIL, .arg = "FROM:<a@b>"),
		ROW(.in = "MAIL FROM:<a@b> ", .verb = SMTP_CMD_MAIL, .arg = "FROM:<a@b>"),
		ROW(.in = "RCPT TO:<a@b>", .verb = SMTP_CMD_RCPT, .arg = "TO:<a@b>"),
		ROW(.in = "DATA", .verb = SMTP_CMD_DATA),
		ROW(.in = "data", .verb = SMTP_CMD_DATA),
		ROW(.in = "DATA ", .verb = SMTP_CMD_DATA),
		ROW(.in = "RSET\t", .verb = SMTP_CMD_RSET),
		ROW(.in = "QUIT  ", .verb = SMTP_CMD_QUIT),
		ROW(.in = "STARTTLS", .verb = SMTP_CMD_STARTTLS),
		ROW(.in = "StartTLS", .verb = SMTP_CMD_STARTTLS),
		ROW(.in = "NOOP", .verb = SMTP_CMD_NOOP),
		ROW(.in = "NOOP hello there", .verb = SMTP_CMD_NOOP, .arg = "hello there"),
		ROW(.in = "HELP", .verb = SMTP_CMD_HELP),
		ROW(.in = "HELP MAIL", .verb = SMTP_CMD_HELP, .arg = "MAIL"),
		ROW(.in = "VRFY user", .verb = SMTP_CMD_VRFY, .arg = "user"),
		ROW(.in = "EXPN list", .verb = SMTP_CMD_EXPN, .arg = "list"),
		ROW(.in = "AUTH PLAIN dGVzdA==", .verb = SMTP_CMD_AUTH, .arg = "PLAIN dGVzdA=="),
		ROW(.in = "BDAT 10 LAST", .verb = SMTP_CMD_BDAT, .arg = "10 LAST"),
		ROW(.in = "EHLO  two", .verb = SMTP_CMD_EHLO, .arg = " two"),
		/* argument policy: verb and arg are still reported */
		ROW(.in = "DATA x", .want = SMTP_R_NO_ARGS, .verb = SMTP_CMD_DATA, .arg = "x"),
		ROW(.in = "QUIT now", .want = SMTP_R_NO_ARGS, .verb = SMTP_CMD_QUIT, .arg = "now"),
		ROW(.in = "RSET x", .want = SMTP_R_NO_ARGS, .verb = SMTP_CMD_RSET, .arg = "x"),
		ROW(.in = "STARTTLS x", .want = SMTP_R_NO_ARGS, .verb = SMTP_CMD_STARTTLS, .arg = "x"),
		ROW(.in = "EHLO", .want = SMTP_R_NEED_ARG, .verb = SMTP_CMD_EHLO),
		ROW(.in = "EHLO ", .want = SMTP_R_NEED_ARG, .verb = SMTP_CMD_EHLO),
		ROW(.in = "MAIL", .want = SMTP_R_NEED_ARG, .verb = SMTP_CMD_MAIL),
		ROW(.in = "RCPT", .want = SMTP_R_NEED_ARG, .verb = SMTP_CMD_RCPT),
		ROW(.in = "VRFY", .want = SMTP_R_NEED_ARG, .verb = SMTP_CMD_VRFY),
		ROW(.in = "BDAT", .want = SMTP_R_NEED_ARG, .verb = SMTP_CMD_BDAT),
		ROW(.in = "AUTH", .want = SMTP_R_NEED_ARG, .verb = SMTP_CMD_AUTH),
		/* unknown */
		ROW(.in = "FOO", .want = SMTP_R_UNKNOWN_CMD),
		ROW(.in = "", .want = SMTP_R_UNKNOWN_CMD),
		ROW(.in = " EHLO x", .want = SMTP_R_UNKNOWN_CMD, .arg = "EHLO x"),
		ROW(.in = "EHLOX x", .want = SMTP_R_UNKNOWN_CMD, .arg = "x"),
		ROW(.in = "MAI", .want = SMTP_R_UNKNOWN_CMD),
		ROW(.in = "NOOP\tx", .want = SMTP_R_UNKNOWN_CMD),
		ROW(.in = "MAIL:FROM:<a@b>", .want = SMTP_R_UNKNOWN_CMD),
		ROW(.in = "D\xc3\x81TA", .want = SMTP_R_UNKNOWN_CMD),
		/* bare CR/LF and NUL: only CRLF ends a line */
		ROW(.in = "RSET\nMAIL FROM:<x@y>", .want = SMTP_R_BAD_CHAR, .arg = "FROM:<x@y>"),
		ROW(.in = "NOOP \r", .want = SMTP_R_BAD_CHAR, .verb = SMTP_CMD_NOOP, .arg = "\r"),
		ROW(.in = "MAIL FROM:<a@b>\rRCPT TO:<c@d>", .want = SMTP_R_BAD_CHAR,
		    .verb = SMTP_CMD_MAIL, .arg = "FROM:<a@b>\rRCPT TO:<c@d>"),
		ROW(.in = "DATA\n", .want = SMTP_R_BAD_CHAR),
		ROW(.in = "NOOP a\0b", .len = 8, .want = SMTP_R_BAD_CHAR, .verb = SMTP_CMD_NOOP),
		ROW(.in = "DATA\0", .len = 5, .want = SMTP_R_BAD_CHAR),
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const struct cmd_row *r = &rows[i];
		struct smtp_cmd c;
		size_t len = r->len ? r->len : strlen(r->in);
		enum smtp_rid got = smtp_parse_command(r->in, len, &c);
		if (got != r->want)
			fail_msg("row at line %d: got %s", r->line, rid_name(got));
		if (c.verb != r->verb)
			fail_msg("row at line %d: verb %s", r->line, smtp_verb_name(c.verb));
		if (r->len)
			continue;
		if ((r->arg == NULL) != (c.arg == NULL) ||
		    (r->arg && (c.arglen != strlen(r->arg) || memcmp(c.arg, r->arg, c.arglen))))
			fail_msg("row at line %d: arg \"%.*s\"", r->line, (int)c.arglen,
			         c.arg ? c.arg : "");
	}
}

static void test_command_length(void **state)
{
	(void)state;
	char line[600];
	struct smtp_cmd c;

	memset(line, 'x', sizeof line);
	memcpy(line, "NOOP ", 5);
	/* 510 octets + CRLF = 512: the limit */
	assert_int_equal(smtp_parse_command(line, 510, &c), SMTP_R_NONE);
	assert_int_equal(c.arglen, 505);
	assert_int_equal(smtp_parse_command(line, 511, &c), SMTP_R_LINE_TOO_LONG);
	assert_int_equal(smtp_parse_command(line, 600, &c), SMTP_R_LINE_TOO_LONG);
	assert_string_equal(smtp_verb_name(SMTP_CMD_STARTTLS), "STARTTLS");
	assert_string_equal(smtp_verb_name(SMTP_CMD_UNKNOWN), "?");
	assert_string_equal(smtp_verb_name((enum smtp_verb)99), "?");
}

/* ---- EHLO / HELO -------------------------------------------------------- */

struct helo_row {
	int line;
	const char *in;
	bool ok;
};

static void test_helo(void **state)
{
	(void)state;
	/* clang-format off */
	static const struct helo_row rows[] = {
		ROW(.in = "example.org", .ok = true),
		ROW(.in = "localhost", .ok = true),
		ROW(.in = "a", .ok = true),
		ROW(.in = "1.2.3.4", .ok = true), /* a Domain by syntax */
		ROW(.in = "a-b.c-d.example", .ok = true),
		ROW(.in = "xn--bcher-kva.example", .ok = true),
		ROW(.in = "MX1.Example.ORG", .ok = true),
		ROW(.in = "[192.0.2.1]", .ok = true),
		ROW(.in = "[0.0.0.0]", .ok = true),
		ROW(.in = "[255.255.255.255]", .ok = true),
		ROW(.in = "[01.2.3.4]", .ok = true), /* Snum = 1*3DIGIT */
		ROW(.in = "[IPv6:2001:db8::1]", .ok = true),
		ROW(.in = "[ipv6:::1]", .ok = true),
		ROW(.in = "[IPV6:::]", .ok = true),
		ROW(.in = "[IPv6:1::]", .ok = true),
		ROW(.in = "[IPv6:1:2:3:4:5:6:7:8]", .ok = true),
		ROW(.in = "[IPv6:fe80::1:2:3:4:5]", .ok = true),  /* 6 groups and :: */
		ROW(.in = "[IPv6:1:2:3::4:5:6]", .ok = true),
		ROW(.in = "[IPv6:::ffff:192.0.2.1]", .ok = true),
		ROW(.in = "[IPv6:::192.0.2.1]", .ok = true),
		ROW(.in = "[IPv6:1:2:3:4:5:6:1.2.3.4]", .ok = true),
		ROW(.in = "[IPv6:1::2:3:4:1.2.3.4]", .ok = true),
		ROW(.in = "[IPv6:ABCD:ef01::]", .ok = true),
		ROW(.in = "[x-tag:some-content]", .ok = true),
		ROW(.in = "[-tag:x]", .ok = true), /* Ldh-str may start with '-' */
		ROW(.in = "[tag:!#$%&'()*+,-./0-9:;<=>?@A-Z^_`a-z{|}~]", .ok = true),
		ROW(.in = "[IPv6:1:2:3:4:5:6:7::]", .ok = false), /* :: and 7 groups */
		ROW(.in = "[IPv6:1:2:3:4:5:6:7]", .ok = false),
		ROW(.in = "[IPv6:1:2:3:4:5:6:7:8:9]", .ok = false),
		ROW(.in = "[IPv6:1:2:3:4:5:1.2.3.4]", .ok = false),
		ROW(.in = "[IPv6:1:2::3:4:5:1.2.3.4]", .ok = false),
		ROW(.in = "[IPv6:1:2:3:4:5:6:7:1.2.3.4]", .ok = false),
		ROW(.in = "[IPv6:1.2.3.4::]", .ok = false),
		ROW(.in = "[IPv6:12345::]", .ok = false),
		ROW(.in = "[IPv6:1:::2]", .ok = false),
		ROW(.in = "[IPv6::1]", .ok = false),
		ROW(.in = "[IPv6:1:]", .ok = false),
		ROW(.in = "[IPv6:1::2::3]", .ok = false),
		ROW(.in = "[IPv6:g::1]", .ok = false),
		ROW(.in = "[IPv6:]", .ok = false),
		ROW(.in = "[IPv6:::1.2.3.256]", .ok = false),
		ROW(.in = "[IPv6:::1.2.3]", .ok = false),
		ROW(.in = "[IPv6:junk]", .ok = false), /* the IPv6 tag is never general */
		ROW(.in = "[tag:]", .ok = false),
		ROW(.in = "[tag-:x]", .ok = false),
		ROW(.in = "[:x]", .ok = false),
		ROW(.in = "[tag:a\\b]", .ok = false),
		ROW(.in = "[tag:a b]", .ok = false),
		ROW(.in = "[tag:a[b]", .ok = false),
		ROW(.in = "[1.2.3]", .ok = false),
		ROW(.in = "[256.1.1.1]", .ok = false),
		ROW(.in = "[1.2.3.4.5]", .ok = false),
		ROW(.in = "[1.2.3.4", .ok = false),
		ROW(.in = "[1.2.3.4]x", .ok = false),
		ROW(.in = "[1.2.3.4]]", .ok = false),
		ROW(.in = "[1..2.3]", .ok = false),
		ROW(.in = "[1234.1.1.1]", .ok = false),
		ROW(.in = "[]", .ok = false),
		ROW(.in = "", .ok = false),
		ROW(.in = "-a.example", .ok = false),
		ROW(.in = "a-.example", .ok = false),
		ROW(.in = "a..b", .ok = false),
		ROW(.in = "a.", .ok = false),
		ROW(.in = ".a", .ok = false),
		/* '_' in EHLO names (Windows hosts; Postfix accepts them) */
		ROW(.in = "a_b.example", .ok = true),
		ROW(.in = "DESKTOP-AB_12", .ok = true),
		ROW(.in = "_a", .ok = true),
		ROW(.in = "a_", .ok = true),
		ROW(.in = "_.example", .ok = true),
		ROW(.in = "a_b..example", .ok = false),
		ROW(.in = "[tag_x:y]", .ok = false), /* literals stay strict */
		ROW(.in = "exa mple", .ok = false),
		ROW(.in = "example.org.", .ok = false),
		ROW(.in = "example.org extra", .ok = false),
		ROW(.in = "b\xc3\xbc" "cher.example", .ok = false), /* no UTF-8 before SMTPUTF8 */
		ROW(.in = "user@example.org", .ok = false),
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		enum smtp_rid got = smtp_parse_helo(rows[i].in, strlen(rows[i].in));
		if ((got == SMTP_R_NONE) != rows[i].ok)
			fail_msg("row at line %d: got %s", rows[i].line, rid_name(got));
		if (got != SMTP_R_NONE && got != SMTP_R_HELO_SYNTAX)
			fail_msg("row at line %d: wrong error %s", rows[i].line, rid_name(got));
	}
}

/* 50-octet "aaa...a" labels joined by dots, of total length N. */
static void make_domain(char *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (i % 51 == 50) ? '.' : 'a';
	out[n] = '\0';
	if (n > 0 && out[n - 1] == '.')
		out[n - 1] = 'b';
}

static void test_helo_lengths(void **state)
{
	(void)state;
	char d[300];

	make_domain(d, 255);
	assert_int_equal(smtp_parse_helo(d, 255), SMTP_R_NONE);
	make_domain(d, 256);
	assert_int_equal(smtp_parse_helo(d, 256), SMTP_R_HELO_SYNTAX);
	/* a 63-octet label is fine, 64 is not */
	memset(d, 'a', 64);
	assert_int_equal(smtp_parse_helo(d, 63), SMTP_R_NONE);
	assert_int_equal(smtp_parse_helo(d, 64), SMTP_R_HELO_SYNTAX);
}

/* ---- MAIL -------------------------------------------------------------- */

struct mail_row {
	int line;
	const char *in;
	bool helo; /* session used HELO: no parameters */
	enum smtp_rid want;
	const char *addr; /* checked when want is NONE */
	uint16_t local_len;
	bool quoted, literal, utf8, route;
	bool has_size;
	uint64_t size;
	enum smtp_body body;
	bool smtputf8;
	enum smtp_ret ret;
	const char *envid;
	const char *auth;
};

static void check_mail(const struct mail_row *r, const char *in, size_t len)
{
	struct smtp_parse_opts o = {.esmtp = !r->helo};
	struct smtp_mail m;
	enum smtp_rid got = smtp_parse_mail(in, len, &o, &m);

	if (got != r->want)
		fail_msg("row at line %d: got %s", r->line, rid_name(got));
	if (got != SMTP_R_NONE)
		return;
	if (r->addr && (strcmp(m.path.addr, r->addr) != 0 || m.path.len != strlen(r->addr)))
		fail_msg("row at line %d: addr \"%s\"", r->line, m.path.addr);
	if (r->local_len && m.path.local_len != r->local_len)
		fail_msg("row at line %d: local_len %u", r->line, m.path.local_len);
	if (m.path.quoted != r->quoted || m.path.literal != r->literal || m.path.utf8 != r->utf8 ||
	    m.path.route != r->route || m.path.postmaster)
		fail_msg("row at line %d: path flags", r->line);
	if (m.has_size != r->has_size || m.size != r->size)
		fail_msg("row at line %d: size %d %llu", r->line, m.has_size,
		         (unsigned long long)m.size);
	if (m.body != r->body || m.smtputf8 != r->smtputf8 || m.ret != r->ret)
		fail_msg("row at line %d: body/smtputf8/ret %d %d %d", r->line, m.body, m.smtputf8,
		         m.ret);
	if ((r->envid != NULL) != m.has_envid || (r->envid && strcmp(r->envid, m.envid)))
		fail_msg("row at line %d: envid \"%s\"", r->line, m.envid);
	if ((r->auth != NULL) != m.has_auth || (r->auth && strcmp(r->auth, m.auth)))
		fail_msg("row at line %d: auth \"%s\"", r->line, m.auth);
}

static void test_mail(void **state)
{
	(void)state;
	/* clang-format off */
	static const struct mail_row rows[] = {
		ROW(.in = "FROM:<a@example.org>", .addr = "a@example.org", .local_len = 1),
		ROW(.in = "from:<a@example.org>", .addr = "a@example.org"),
		ROW(.in = "FROM: <a@example.org>", .addr = "a@example.org"),
		ROW(.in = "FROM:  <a@example.org>", .addr = "a@example.org"),
		ROW(.in = "FROM:<>", .addr = ""),
		ROW(.in = "FROM: <>", .addr = ""),
		ROW(.in = "FROM:<> SIZE=10", .addr = "", .has_size = true, .size = 10),
		ROW(.in = "FROM:<first.last@sub.example.org>", .addr = "first.last@sub.example.org"),
		ROW(.in = "FROM:<!#$%&'*+-/=?^_`{|}~@example.org>",
		    .addr = "!#$%&'*+-/=?^_`{|}~@example.org"),
		ROW(.in = "FROM:<a@example.org>", .helo = true, .addr = "a@example.org"),
		/* source routes: checked, dropped */
		ROW(.in = "FROM:<@a.example,@b.example:user@d.example>", .addr = "user@d.example",
		    .route = true),
		ROW(.in = "FROM:<@a.example:user@d.example>", .addr = "user@d.example",
		    .route = true),
		ROW(.in = "FROM:<@a.example,user@d.example>", .want = SMTP_R_BAD_SENDER),
		ROW(.in = "FROM:<@:user@d.example>", .want = SMTP_R_BAD_SENDER),
		ROW(.in = "FROM:<@a..b:user@d.example>", .want = SMTP_R_BAD_SENDER),
		ROW(.in = "FROM:<@a.example,:user@d.example>", .want = SMTP_R_BAD_SENDER),
		ROW(.in = "FROM:<@a.example:>", .want = SMTP_R_BAD_SENDER),
		/* quoted local parts */
		ROW(.in = "FROM:<\"john doe\"@example.org>", .addr = "\"john doe\"@example.org",
		    .local_len = 10, .quoted = true),
		ROW(.in = "FROM:<\"a\\\"b\"@example.org>", .addr = "\"a\\\"b\"@example.org",
		    .quoted = true),
		ROW(.in = "FROM:<\"a\\\\b\"@example.org>", .addr = "\"a\\\\b\"@example.org",
		    .quoted = true),
		ROW(.in = "FROM:<\"a\\ b\"@example.org>", .addr = "\"a\\ b\"@example.org",
		    .quoted = true),
		ROW(.in = "FROM:<\"a@b\"@example.org>", .addr = "\"a@b\"@example.org", .quoted = true),
		ROW(.in = "FROM:<\"a>b\"@example.org>", .addr = "\"a>b\"@example.org", .quoted = true),
		ROW(.in = "FROM:<\"\"@example.org>", .addr = "\"\"@example.org", .quoted = true),
		ROW(.in = "FROM:<\"unterminated@example.org>", .want = SMTP_R_BAD_SENDER),
		ROW(.in = "FROM:<\"a\tb\"@example.org>", .want = SMTP_R_BAD_SENDER),
		ROW(.in = "FROM:<\"a\\\tb\"@example.org>", .want = SMTP_R_BAD_SENDER),
		ROW(.in = "FROM:<\"a\"b@example.org>", .want = SMTP_R_BAD_SENDER),
		ROW(.in = "FROM:<a\"b\"@example.org>", .want = SMTP_R_BAD_SENDER),
		ROW(.in = "FROM:<\"a\\\">", .want = SMTP_R_BAD_SENDER),
		/* invalid paths */
		ROW(.in = "FROM:a@example.org", .want = SMTP_R_BAD_SENDER),
		ROW(.in = "FROM:<a@example.org", .want = SMTP_R_BAD_SENDER),
		ROW(.in = "FROM:<a@example.org>x", .want = SMTP_R_BAD_SENDER),
		ROW(.in = "FROM:<a@example.org>>", .want = SMTP_R_BAD_SENDER),
		ROW(.in = "FROM:<<a@example.org>>", .want = SMTP_R_BAD_SENDER),
		ROW(.in = "FROM:", .want = SMTP_R_BAD_SENDER),
		ROW(.in = "FROM:<.a@example.org>", .want = SMTP_R_BAD_SENDER),
		ROW(.in = "FROM:<a.@example.org>", .want = SMTP_R_BAD_SENDER),
		ROW(.in = "FROM:<a..b@example.org>", .want = SMTP_R_BAD_SENDER),
		ROW(.in = "FROM:<a b@example.org>", .want = SMTP_R_BAD_SENDER),
		ROW(.in = "FROM:<a@>", .want = SMTP_R_BAD_SENDER),
		ROW(.in = "FROM:<@example.org>", .want = SMTP_R_BAD_SENDER),
		ROW(.in = "FROM:<a>", .want = SMTP_R_BAD_SENDER),
		ROW(.in = "FROM:<Postmaster>", .want = SMTP_R_BAD_SENDER), /* only for RCPT */
		ROW(.in = "FROM:<a@-example.org>", .want = SMTP_R_BAD_SENDER),
		ROW(.in = "FROM:<a@example-.org>", .want = SMTP_R_BAD_SENDER),
		ROW(.in = "FROM:<a@example.org.>", .want = SMTP_R_BAD_SENDER),
		ROW(.in = "FROM:<a@b@example.org>", .want = SMTP_R_BAD_SENDER),
		ROW(.in = "FROM:<a(comment)@example.org>", .want = SMTP_R_BAD_SENDER),
		ROW(.in = "FROM:<a@exa_mple.org>", .want = SMTP_R_BAD_SENDER),
		ROW(.in = "FROM:< a@example.org>", .want = SMTP_R_BAD_SENDER),
		ROW(.in = "FROM:<a@example.org >", .want = SMTP_R_BAD_SENDER),
		ROW(.in = "FROM:<a\\b@example.org>", .want = SMTP_R_BAD_SENDER),
		ROW(.in = "FROM <a@example.org>", .want = SMTP_R_MAIL_SYNTAX),
		ROW(.in = "FROM<a@example.org>", .want = SMTP_R_MAIL_SYNTAX),
		ROW(.in = "TO:<a@example.org>", .want = SMTP_R_MAIL_SYNTAX),
		ROW(.in = "FRO", .want = SMTP_R_MAIL_SYNTAX),
		/* address literals */
		ROW(.in = "FROM:<a@[192.0.2.1]>", .addr = "a@[192.0.2.1]", .literal = true),
		ROW(.in = "FROM:<a@[IPv6:2001:db8::1]>", .addr = "a@[IPv6:2001:db8::1]",
		    .literal = true),
		ROW(.in = "FROM:<a@[x-tag:stuff]>", .addr = "a@[x-tag:stuff]", .literal = true),
		ROW(.in = "FROM:<a@[IPv6:bad]>", .want = SMTP_R_BAD_SENDER),
		ROW(.in = "FROM:<a@[192.0.2.256]>", .want = SMTP_R_BAD_SENDER),
		ROW(.in = "FROM:<a@[192.0.2.1>", .want = SMTP_R_BAD_SENDER),
		/* SMTPUTF8 (RFC 6531) */
		ROW(.in = "FROM:<\xce\xb4\xce\xbf\xce\xba@\xcf\x80\xce\xb1\xcf\x81.example> SMTPUTF8",
		    .addr = "\xce\xb4\xce\xbf\xce\xba@\xcf\x80\xce\xb1\xcf\x81.example", .utf8 = true,
		    .smtputf8 = true),
		ROW(.in = "FROM:<\"\xe7\x94\xa8 x\"@example.org> SMTPUTF8",
		    .addr = "\"\xe7\x94\xa8 x\"@example.org", .quoted = true, .utf8 = true,
		    .smtputf8 = true),
		ROW(.in = "FROM:<\xf0\x9f\x93\xa7@example.org> SMTPUTF8",
		    .addr = "\xf0\x9f\x93\xa7@example.org", .utf8 = true, .smtputf8 = true),
		ROW(.in = "FROM:<\xce\xb4@example.org>", .want = SMTP_R_UTF8_ADDR),
		ROW(.in = "FROM:<a@b\xc3\xbc" "cher.example>", .want = SMTP_R_UTF8_ADDR),
		ROW(.in = "FROM:<\xff@example.org> SMTPUTF8", .want = SMTP_R_BAD_SENDER),
		ROW(.in = "FROM:<\xc0\xaf@example.org> SMTPUTF8", .want = SMTP_R_BAD_SENDER),
		ROW(.in = "FROM:<\xed\xa0\x80@example.org> SMTPUTF8", .want = SMTP_R_BAD_SENDER),
		ROW(.in = "FROM:<\xf4\x90\x80\x80@example.org> SMTPUTF8", .want = SMTP_R_BAD_SENDER),
		ROW(.in = "FROM:<\xe0\x80\xaf@example.org> SMTPUTF8", .want = SMTP_R_BAD_SENDER),
		ROW(.in = "FROM:<a\xc3@example.org> SMTPUTF8", .want = SMTP_R_BAD_SENDER),
		ROW(.in = "FROM:<a@\xc3\xbc-.example> SMTPUTF8", .want = SMTP_R_BAD_SENDER),
		ROW(.in = "FROM:<a@[\xc3\xbc]> SMTPUTF8", .want = SMTP_R_BAD_SENDER),
		/* SIZE (RFC 1870) */
		ROW(.in = "FROM:<a@b> SIZE=1000", .addr = "a@b", .has_size = true, .size = 1000),
		ROW(.in = "FROM:<a@b> size=0", .addr = "a@b", .has_size = true, .size = 0),
		ROW(.in = "FROM:<a@b> SIZE=00012", .addr = "a@b", .has_size = true, .size = 12),
		ROW(.in = "FROM:<a@b> SIZE=18446744073709551615", .has_size = true,
		    .size = UINT64_MAX),
		ROW(.in = "FROM:<a@b> SIZE=99999999999999999999", .has_size = true,
		    .size = UINT64_MAX),
		ROW(.in = "FROM:<a@b> SIZE=123456789012345678901", .want = SMTP_R_PARAM_BAD),
		ROW(.in = "FROM:<a@b> SIZE=", .want = SMTP_R_PARAM_BAD),
		ROW(.in = "FROM:<a@b> SIZE", .want = SMTP_R_PARAM_BAD),
		ROW(.in = "FROM:<a@b> SIZE=-1", .want = SMTP_R_PARAM_BAD),
		ROW(.in = "FROM:<a@b> SIZE=+1", .want = SMTP_R_PARAM_BAD),
		ROW(.in = "FROM:<a@b> SIZE=1k", .want = SMTP_R_PARAM_BAD),
		ROW(.in = "FROM:<a@b> SIZE=1 SIZE=2", .want = SMTP_R_PARAM_DUP),
		ROW(.in = "FROM:<a@b> SIZE=1 size=1", .want = SMTP_R_PARAM_DUP),
		/* BODY (RFC 6152, RFC 3030) */
		ROW(.in = "FROM:<a@b> BODY=7BIT", .body = SMTP_BODY_7BIT),
		ROW(.in = "FROM:<a@b> body=8bitmime", .body = SMTP_BODY_8BITMIME),
		ROW(.in = "FROM:<a@b> BODY=BINARYMIME", .want = SMTP_R_BODY_UNSUPPORTED),
		ROW(.in = "FROM:<a@b> BODY=8BIT", .want = SMTP_R_PARAM_BAD),
		ROW(.in = "FROM:<a@b> BODY", .want = SMTP_R_PARAM_BAD),
		ROW(.in = "FROM:<a@b> BODY=", .want = SMTP_R_PARAM_BAD),
		ROW(.in = "FROM:<a@b> BODY=7BIT BODY=7BIT", .want = SMTP_R_PARAM_DUP),
		/* SMTPUTF8 */
		ROW(.in = "FROM:<a@b> SMTPUTF8", .smtputf8 = true),
		ROW(.in = "FROM:<a@b> smtputf8", .smtputf8 = true),
		ROW(.in = "FROM:<a@b> SMTPUTF8=yes", .want = SMTP_R_PARAM_BAD),
		ROW(.in = "FROM:<a@b> SMTPUTF8 SMTPUTF8", .want = SMTP_R_PARAM_DUP),
		/* RET (RFC 3461 §4.3) */
		ROW(.in = "FROM:<a@b> RET=FULL", .ret = SMTP_RET_FULL),
		ROW(.in = "FROM:<a@b> ret=hdrs", .ret = SMTP_RET_HDRS),
		ROW(.in = "FROM:<a@b> RET=NONE", .want = SMTP_R_PARAM_BAD),
		ROW(.in = "FROM:<a@b> RET=", .want = SMTP_R_PARAM_BAD),
		ROW(.in = "FROM:<a@b> RET", .want = SMTP_R_PARAM_BAD),
		/* ENVID (RFC 3461 §4.4, xtext) */
		ROW(.in = "FROM:<a@b> ENVID=QQ314159", .envid = "QQ314159"),
		ROW(.in = "FROM:<a@b> ENVID=a+2Bb+3D", .envid = "a+b="),
		ROW(.in = "FROM:<a@b> ENVID=+20x", .envid = " x"),
		ROW(.in = "FROM:<a@b> ENVID=<x@y>", .envid = "<x@y>"),
		ROW(.in = "FROM:<a@b> ENVID=a+2bb", .want = SMTP_R_PARAM_BAD), /* lower-case hex */
		ROW(.in = "FROM:<a@b> ENVID=a+2", .want = SMTP_R_PARAM_BAD),
		ROW(.in = "FROM:<a@b> ENVID=a+", .want = SMTP_R_PARAM_BAD),
		ROW(.in = "FROM:<a@b> ENVID=+00", .want = SMTP_R_PARAM_BAD),
		ROW(.in = "FROM:<a@b> ENVID=+0A", .want = SMTP_R_PARAM_BAD),
		ROW(.in = "FROM:<a@b> ENVID=+7F", .want = SMTP_R_PARAM_BAD),
		ROW(.in = "FROM:<a@b> ENVID=+C3+A9", .want = SMTP_R_PARAM_BAD),
		ROW(.in = "FROM:<a@b> ENVID=a=b", .want = SMTP_R_PARAM_BAD),
		ROW(.in = "FROM:<a@b> ENVID=\xc3\xa9", .want = SMTP_R_PARAM_BAD),
		ROW(.in = "FROM:<a@b> ENVID=", .want = SMTP_R_PARAM_BAD),
		ROW(.in = "FROM:<a@b> ENVID", .want = SMTP_R_PARAM_BAD),
		ROW(.in = "FROM:<a@b> ENVID=x ENVID=y", .want = SMTP_R_PARAM_DUP),
		/* AUTH (RFC 4954 §5) */
		ROW(.in = "FROM:<a@b> AUTH=<>", .auth = "<>"),
		ROW(.in = "FROM:<a@b> AUTH=e+3Dmc2@example.com", .auth = "e=mc2@example.com"),
		ROW(.in = "FROM:<a@b> AUTH=", .want = SMTP_R_PARAM_BAD),
		ROW(.in = "FROM:<a@b> AUTH", .want = SMTP_R_PARAM_BAD),
		ROW(.in = "FROM:<a@b> AUTH=+0D", .want = SMTP_R_PARAM_BAD),
		/* combinations, separators, unknown and misplaced parameters */
		ROW(.in = "FROM:<a@b> SIZE=5 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=id AUTH=<>",
		    .addr = "a@b", .has_size = true, .size = 5, .body = SMTP_BODY_8BITMIME,
		    .smtputf8 = true, .ret = SMTP_RET_HDRS, .envid = "id", .auth = "<>"),
		ROW(.in = "FROM:<a@b>  SIZE=1   BODY=7BIT", .has_size = true, .size = 1,
		    .body = SMTP_BODY_7BIT),
		ROW(.in = "FROM:<a@b> NOTIFY=SUCCESS", .want = SMTP_R_PARAM_UNKNOWN),
		ROW(.in = "FROM:<a@b> ORCPT=rfc822;a@b", .want = SMTP_R_PARAM_UNKNOWN),
		ROW(.in = "FROM:<a@b> FOO=bar", .want = SMTP_R_PARAM_UNKNOWN),
		ROW(.in = "FROM:<a@b> X-FOO", .want = SMTP_R_PARAM_UNKNOWN),
		ROW(.in = "FROM:<a@b> SIZE=1 FOO", .want = SMTP_R_PARAM_UNKNOWN),
		ROW(.in = "FROM:<a@b> FOO SIZE=x", .want = SMTP_R_PARAM_UNKNOWN),
		ROW(.in = "FROM:<a@b> FOO=\xc3\xa9", .want = SMTP_R_PARAM_UNKNOWN),
		ROW(.in = "FROM:<a@b> -X=1", .want = SMTP_R_PARAM_BAD),
		ROW(.in = "FROM:<a@b> =1", .want = SMTP_R_PARAM_BAD),
		ROW(.in = "FROM:<a@b> S_ZE=1", .want = SMTP_R_PARAM_BAD),
		ROW(.in = "FROM:<a@b>\tSIZE=1", .want = SMTP_R_BAD_SENDER),
		ROW(.in = "FROM:<a@b> SIZE=1", .helo = true, .want = SMTP_R_PARAM_NO_ESMTP),
		ROW(.in = "FROM:<a@b> SMTPUTF8", .helo = true, .want = SMTP_R_PARAM_NO_ESMTP),
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		check_mail(&rows[i], rows[i].in, strlen(rows[i].in));
}

static void test_mail_lengths(void **state)
{
	(void)state;
	char in[600], dom[300];
	struct mail_row ok = {.line = __LINE__};
	struct mail_row too_long = {.line = __LINE__, .want = SMTP_R_SENDER_TOO_LONG};

	/* local part: 64 octets fine, 65 too long */
	memset(dom, 'l', 65);
	snprintf(in, sizeof in, "FROM:<%.64s@example.org>", dom);
	check_mail(&ok, in, strlen(in));
	snprintf(in, sizeof in, "FROM:<%.65s@example.org>", dom);
	check_mail(&too_long, in, strlen(in));
	/* a quoted local part counts its quotes: "+62+" = 64 */
	snprintf(in, sizeof in, "FROM:<\"%.62s\"@example.org>", dom);
	ok.quoted = true;
	check_mail(&ok, in, strlen(in));
	snprintf(in, sizeof in, "FROM:<\"%.63s\"@example.org>", dom);
	check_mail(&too_long, in, strlen(in));
	ok.quoted = false;

	/* path: 1 + 64 + 1 + 189 + 1 = 256 fine, one more is too long */
	make_domain(dom, 189);
	snprintf(in, sizeof in, "FROM:<%.64s@%s>",
	         "llllllllllllllllllllllllllllllllllllllll"
	         "llllllllllllllllllllllll",
	         dom);
	check_mail(&ok, in, strlen(in));
	make_domain(dom, 190);
	snprintf(in, sizeof in, "FROM:<%.64s@%s>",
	         "llllllllllllllllllllllllllllllllllllllll"
	         "llllllllllllllllllllllll",
	         dom);
	check_mail(&too_long, in, strlen(in));
	/* the source route counts too */
	make_domain(dom, 189);
	snprintf(in, sizeof in, "FROM:<@r.example:%.60s@%s>",
	         "llllllllllllllllllllllllllllll"
	         "llllllllllllllllllllllllllllll",
	         dom);
	check_mail(&too_long, in, strlen(in));
	/* a domain over 255 octets */
	make_domain(dom, 256);
	snprintf(in, sizeof in, "FROM:<a@%s>", dom);
	check_mail(&too_long, in, strlen(in));

	/* ENVID: 100 octets as sent fine, 101 not */
	struct mail_row envid_ok = {.line = __LINE__, .envid = dom};
	struct mail_row envid_bad = {.line = __LINE__, .want = SMTP_R_PARAM_BAD};
	memset(dom, 'e', 101);
	dom[100] = '\0';
	snprintf(in, sizeof in, "FROM:<a@b> ENVID=%s", dom);
	check_mail(&envid_ok, in, strlen(in));
	snprintf(in, sizeof in, "FROM:<a@b> ENVID=%se", dom);
	check_mail(&envid_bad, in, strlen(in));
}

/* ---- RCPT -------------------------------------------------------------- */

struct rcpt_row {
	int line;
	const char *in;
	bool helo;
	bool smtputf8; /* the transaction's MAIL carried SMTPUTF8 */
	enum smtp_rid want;
	const char *addr;
	bool postmaster, utf8;
	unsigned notify;
	const char *orcpt_type, *orcpt;
};

static void check_rcpt(const struct rcpt_row *r, const char *in, size_t len)
{
	struct smtp_parse_opts o = {.esmtp = !r->helo, .smtputf8 = r->smtputf8};
	struct smtp_rcpt rc;
	enum smtp_rid got = smtp_parse_rcpt(in, len, &o, &rc);

	if (got != r->want)
		fail_msg("row at line %d: got %s", r->line, rid_name(got));
	if (got != SMTP_R_NONE)
		return;
	if (r->addr && strcmp(rc.path.addr, r->addr) != 0)
		fail_msg("row at line %d: addr \"%s\"", r->line, rc.path.addr);
	if (rc.path.postmaster != r->postmaster || rc.path.utf8 != r->utf8)
		fail_msg("row at line %d: postmaster/utf8", r->line);
	if (rc.notify != r->notify)
		fail_msg("row at line %d: notify %#x", r->line, rc.notify);
	if ((r->orcpt != NULL) != rc.has_orcpt ||
	    (r->orcpt && (strcmp(r->orcpt, rc.orcpt) || strcmp(r->orcpt_type, rc.orcpt_type))))
		fail_msg("row at line %d: orcpt \"%s\";\"%s\"", r->line, rc.orcpt_type, rc.orcpt);
}

static void test_rcpt(void **state)
{
	(void)state;
	/* clang-format off */
	static const struct rcpt_row rows[] = {
		ROW(.in = "TO:<user@example.org>", .addr = "user@example.org"),
		ROW(.in = "to:<user@example.org>", .addr = "user@example.org"),
		ROW(.in = "To: <user@example.org>", .addr = "user@example.org"),
		ROW(.in = "TO:<user@example.org>", .helo = true, .addr = "user@example.org"),
		ROW(.in = "TO:<@relay.example:user@example.org>", .addr = "user@example.org"),
		ROW(.in = "TO:<\"quoted user\"@example.org>", .addr = "\"quoted user\"@example.org"),
		ROW(.in = "TO:<user@[192.0.2.1]>", .addr = "user@[192.0.2.1]"),
		ROW(.in = "TO:<>", .want = SMTP_R_NULL_RCPT),
		ROW(.in = "TO: <>", .want = SMTP_R_NULL_RCPT),
		/* <Postmaster> without a domain (§4.1.1.3) */
		ROW(.in = "TO:<Postmaster>", .addr = "Postmaster", .postmaster = true),
		ROW(.in = "TO:<postmaster>", .addr = "postmaster", .postmaster = true),
		ROW(.in = "TO:<POSTMASTER>", .addr = "POSTMASTER", .postmaster = true),
		ROW(.in = "TO:<Postmaster@example.org>", .addr = "Postmaster@example.org"),
		ROW(.in = "TO:<\"Postmaster\">", .want = SMTP_R_BAD_RCPT),
		ROW(.in = "TO:<@a.example:Postmaster>", .want = SMTP_R_BAD_RCPT),
		ROW(.in = "TO:<Postmaste>", .want = SMTP_R_BAD_RCPT),
		ROW(.in = "TO:<u@a_b.example>", .want = SMTP_R_BAD_RCPT), /* '_': EHLO only */
		ROW(.in = "TO:<user>", .want = SMTP_R_BAD_RCPT),
		ROW(.in = "TO:<user@example.org>x", .want = SMTP_R_BAD_RCPT),
		ROW(.in = "TO:user@example.org", .want = SMTP_R_BAD_RCPT),
		ROW(.in = "TO:<user@example..org>", .want = SMTP_R_BAD_RCPT),
		ROW(.in = "TO user@example.org", .want = SMTP_R_RCPT_SYNTAX),
		ROW(.in = "FROM:<user@example.org>", .want = SMTP_R_RCPT_SYNTAX),
		ROW(.in = "T", .want = SMTP_R_RCPT_SYNTAX),
		/* SMTPUTF8 comes from the MAIL */
		ROW(.in = "TO:<\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.example>",
		    .smtputf8 = true, .addr = "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.example",
		    .utf8 = true),
		ROW(.in = "TO:<\xe7\x94\xa8\xe6\x88\xb7@example.org>", .want = SMTP_R_UTF8_ADDR),
		ROW(.in = "TO:<\xe7\x94@example.org>", .smtputf8 = true, .want = SMTP_R_BAD_RCPT),
		ROW(.in = "TO:<u@example.org> SMTPUTF8", .want = SMTP_R_PARAM_UNKNOWN),
		/* NOTIFY (RFC 3461 §4.1) */
		ROW(.in = "TO:<u@x.org> NOTIFY=NEVER", .notify = SMTP_NOTIFY_NEVER),
		ROW(.in = "TO:<u@x.org> NOTIFY=SUCCESS,FAILURE,DELAY",
		    .notify = SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_FAILURE | SMTP_NOTIFY_DELAY),
		ROW(.in = "TO:<u@x.org> notify=success,delay",
		    .notify = SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_DELAY),
		ROW(.in = "TO:<u@x.org> NOTIFY=FAILURE", .notify = SMTP_NOTIFY_FAILURE),
		ROW(.in = "TO:<u@x.org> NOTIFY=SUCCESS,SUCCESS", .notify = SMTP_NOTIFY_SUCCESS),
		ROW(.in = "TO:<u@x.org> NOTIFY=NEVER,SUCCESS", .want = SMTP_R_NOTIFY_NEVER),
		ROW(.in = "TO:<u@x.org> NOTIFY=DELAY,NEVER", .want = SMTP_R_NOTIFY_NEVER),
		ROW(.in = "TO:<u@x.org> NOTIFY=SUCCESS,,DELAY", .want = SMTP_R_PARAM_BAD),
		ROW(.in = "TO:<u@x.org> NOTIFY=SUCCESS,", .want = SMTP_R_PARAM_BAD),
		ROW(.in = "TO:<u@x.org> NOTIFY=,SUCCESS", .want = SMTP_R_PARAM_BAD),
		ROW(.in = "TO:<u@x.org> NOTIFY=ALWAYS", .want = SMTP_R_PARAM_BAD),
		ROW(.in = "TO:<u@x.org> NOTIFY=", .want = SMTP_R_PARAM_BAD),
		ROW(.in = "TO:<u@x.org> NOTIFY", .want = SMTP_R_PARAM_BAD),
		ROW(.in = "TO:<u@x.org> NOTIFY=NEVER NOTIFY=NEVER", .want = SMTP_R_PARAM_DUP),
		/* ORCPT (RFC 3461 §4.2) */
		ROW(.in = "TO:<u@x.org> ORCPT=rfc822;user+40example.org", .orcpt_type = "rfc822",
		    .orcpt = "user@example.org"),
		ROW(.in = "TO:<u@x.org> ORCPT=RFC822;u@x.org", .orcpt_type = "RFC822",
		    .orcpt = "u@x.org"),
		ROW(.in = "TO:<u@x.org> ORCPT=utf-8;user\\x{E9}@example.org", .orcpt_type = "utf-8",
		    .orcpt = "user\\x{E9}@example.org"),
		ROW(.in = "TO:<u@x.org> ORCPT=rfc822;a;b", .orcpt_type = "rfc822", .orcpt = "a;b"),
		ROW(.in = "TO:<u@x.org> ORCPT=rfc822", .want = SMTP_R_PARAM_BAD),
		ROW(.in = "TO:<u@x.org> ORCPT=;u@x.org", .want = SMTP_R_PARAM_BAD),
		ROW(.in = "TO:<u@x.org> ORCPT=rfc822;", .want = SMTP_R_PARAM_BAD),
		ROW(.in = "TO:<u@x.org> ORCPT=rfc822;a+2", .want = SMTP_R_PARAM_BAD),
		ROW(.in = "TO:<u@x.org> ORCPT=rfc822;a+0D+0A", .want = SMTP_R_PARAM_BAD),
		ROW(.in = "TO:<u@x.org> ORCPT=rfc(822);a", .want = SMTP_R_PARAM_BAD),
		ROW(.in = "TO:<u@x.org> ORCPT=a2345678901234567890123456789012;a",
		    .orcpt_type = "a2345678901234567890123456789012", .orcpt = "a"),
		ROW(.in = "TO:<u@x.org> ORCPT=a23456789012345678901234567890123;a",
		    .want = SMTP_R_PARAM_BAD),
		ROW(.in = "TO:<u@x.org> ORCPT=", .want = SMTP_R_PARAM_BAD),
		ROW(.in = "TO:<u@x.org> ORCPT=rfc822;a ORCPT=rfc822;b", .want = SMTP_R_PARAM_DUP),
		ROW(.in = "TO:<u@x.org> NOTIFY=DELAY ORCPT=rfc822;u@x.org", .addr = "u@x.org",
		    .notify = SMTP_NOTIFY_DELAY, .orcpt_type = "rfc822", .orcpt = "u@x.org"),
		/* MAIL parameters, unknown ones, HELO sessions */
		ROW(.in = "TO:<u@x.org> SIZE=10", .want = SMTP_R_PARAM_UNKNOWN),
		ROW(.in = "TO:<u@x.org> BODY=8BITMIME", .want = SMTP_R_PARAM_UNKNOWN),
		ROW(.in = "TO:<u@x.org> FOO", .want = SMTP_R_PARAM_UNKNOWN),
		ROW(.in = "TO:<u@x.org> NOTIFY=NEVER", .helo = true, .want = SMTP_R_PARAM_NO_ESMTP),
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		check_rcpt(&rows[i], rows[i].in, strlen(rows[i].in));
}

static void test_rcpt_lengths(void **state)
{
	(void)state;
	char in[700], dom[300], v[600];
	struct rcpt_row too_long = {.line = __LINE__, .want = SMTP_R_RCPT_TOO_LONG};
	struct rcpt_row ok = {.line = __LINE__};

	make_domain(dom, 190);
	snprintf(in, sizeof in, "TO:<%.64s@%s>",
	         "llllllllllllllllllllllllllllllllllllllll"
	         "llllllllllllllllllllllll",
	         dom);
	check_rcpt(&too_long, in, strlen(in));
	memset(dom, 'l', 70);
	snprintf(in, sizeof in, "TO:<%.65s@x.org>", dom);
	check_rcpt(&too_long, in, strlen(in));

	/* ORCPT: 500 octets as sent fine, 501 not */
	memset(v, 'o', sizeof v);
	memcpy(v, "rfc822;", 7);
	snprintf(in, sizeof in, "TO:<u@x.org> ORCPT=%.500s", v);
	ok.orcpt_type = "rfc822";
	ok.orcpt = in + strlen("TO:<u@x.org> ORCPT=rfc822;");
	check_rcpt(&ok, in, strlen(in));
	struct rcpt_row bad = {.line = __LINE__, .want = SMTP_R_PARAM_BAD};
	snprintf(in, sizeof in, "TO:<u@x.org> ORCPT=%.501s", v);
	check_rcpt(&bad, in, strlen(in));
}

/* ---- BDAT -------------------------------------------------------------- */

static void test_bdat(void **state)
{
	(void)state;
	/* clang-format off */
	static const struct {
		int line;
		const char *in;
		enum smtp_rid want;
		uint64_t size;
		bool last;
	} rows[] = {
		ROW(.in = "0", .size = 0),
		ROW(.in = "1000", .size = 1000),
		ROW(.in = "1000 LAST", .size = 1000, .last = true),
		ROW(.in = "0 last", .size = 0, .last = true),
		ROW(.in = "007", .size = 7),
		ROW(.in = "18446744073709551615", .size = UINT64_MAX),
		ROW(.in = "18446744073709551616", .want = SMTP_R_BDAT_SYNTAX),
		ROW(.in = "000000000000000000001", .want = SMTP_R_BDAT_SYNTAX),
		ROW(.in = "1000  LAST", .want = SMTP_R_BDAT_SYNTAX),
		ROW(.in = "1000 LAST ", .want = SMTP_R_BDAT_SYNTAX),
		ROW(.in = "1000 LASTX", .want = SMTP_R_BDAT_SYNTAX),
		ROW(.in = "1000 FIRST", .want = SMTP_R_BDAT_SYNTAX),
		ROW(.in = "LAST", .want = SMTP_R_BDAT_SYNTAX),
		ROW(.in = "-1", .want = SMTP_R_BDAT_SYNTAX),
		ROW(.in = "+1", .want = SMTP_R_BDAT_SYNTAX),
		ROW(.in = "12a", .want = SMTP_R_BDAT_SYNTAX),
		ROW(.in = " 12", .want = SMTP_R_BDAT_SYNTAX),
		ROW(.in = "", .want = SMTP_R_BDAT_SYNTAX),
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		uint64_t size = 99;
		bool last = true;
		enum smtp_rid got = smtp_parse_bdat(rows[i].in, strlen(rows[i].in), &size, &last);
		if (got != rows[i].want)
			fail_msg("row at line %d: got %s", rows[i].line, rid_name(got));
		if (got == SMTP_R_NONE && (size != rows[i].size || last != rows[i].last))
			fail_msg("row at line %d: size %llu last %d", rows[i].line,
			         (unsigned long long)size, last);
	}
	uint64_t size;
	bool last;
	assert_int_equal(smtp_parse_bdat(NULL, 0, &size, &last), SMTP_R_BDAT_SYNTAX);
}

/* ---- mailbox key ------------------------------------------------------- */

static void test_mailbox_key(void **state)
{
	(void)state;
	/* clang-format off */
	static const struct {
		int line;
		const char *in;
		int rc;
		const char *local, *domain;
		size_t base;
	} rows[] = {
		ROW(.in = "TO:<User@Example.ORG>", .local = "user", .domain = "example.org", .base = 4),
		ROW(.in = "TO:<user+tag@example.org>", .local = "user+tag", .domain = "example.org",
		    .base = 4),
		ROW(.in = "TO:<a+b+c@x.org>", .local = "a+b+c", .domain = "x.org", .base = 1),
		ROW(.in = "TO:<+tag@x.org>", .local = "+tag", .domain = "x.org", .base = 4),
		ROW(.in = "TO:<user+@x.org>", .local = "user+", .domain = "x.org", .base = 4),
		ROW(.in = "TO:<first.last@x.org>", .local = "first.last", .domain = "x.org",
		    .base = 10),
		ROW(.in = "TO:<\"John.Doe\"@Example.org>", .local = "john.doe",
		    .domain = "example.org", .base = 8),
		ROW(.in = "TO:<\"a\\\"b\"@x.org>", .local = "a\"b", .domain = "x.org", .base = 3),
		ROW(.in = "TO:<\"a\\\\b\"@x.org>", .local = "a\\b", .domain = "x.org", .base = 3),
		ROW(.in = "TO:<\"a b\"@x.org>", .local = "a b", .domain = "x.org", .base = 3),
		ROW(.in = "TO:<Postmaster>", .local = "postmaster", .domain = "", .base = 10),
		ROW(.in = "TO:<a@[192.0.2.1]>", .local = "a", .domain = "[192.0.2.1]", .base = 1),
		ROW(.in = "TO:<a@[IPv6:2001:DB8::1]>", .local = "a", .domain = "[ipv6:2001:db8::1]",
		    .base = 1),
		ROW(.in = "TO:<\xc3\x9cNI@Example.org>", .local = "\xc3\x9cni", .domain = "example.org",
		    .base = 4),
		ROW(.in = "TO:<\"a/b\"@x.org>", .rc = -1),
		ROW(.in = "TO:<a/b@x.org>", .rc = -1),
		ROW(.in = "TO:<\".hidden\"@x.org>", .rc = -1),
		ROW(.in = "TO:<\"..\"@x.org>", .rc = -1),
		ROW(.in = "TO:<\".\"@x.org>", .rc = -1),
		ROW(.in = "TO:<\"\"@x.org>", .rc = -1),
		ROW(.in = "TO:<\"a\\\x7f\"@x.org>", .rc = -1),
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct smtp_parse_opts o = {.esmtp = true, .smtputf8 = true};
		struct smtp_rcpt r;
		char local[SMTP_LOCAL_PART_MAX + 1], domain[SMTP_DOMAIN_MAX + 1];
		size_t base = 0;

		if (smtp_parse_rcpt(rows[i].in, strlen(rows[i].in), &o, &r) != SMTP_R_NONE) {
			/* DEL is no qtextSMTP: such a key can't even be parsed */
			if (rows[i].rc == -1)
				continue;
			fail_msg("row at line %d: does not parse", rows[i].line);
		}
		int rc =
		    smtp_mailbox_key(&r.path, local, sizeof local, domain, sizeof domain, &base);
		if (rc != rows[i].rc)
			fail_msg("row at line %d: rc %d", rows[i].line, rc);
		if (rc == 0 && (strcmp(local, rows[i].local) || strcmp(domain, rows[i].domain) ||
		                base != rows[i].base))
			fail_msg("row at line %d: \"%s\" \"%s\" %zu", rows[i].line, local, domain,
			         base);
	}
}

static void test_mailbox_key_buffers(void **state)
{
	(void)state;
	struct smtp_parse_opts o = {.esmtp = true};
	struct smtp_rcpt r;
	char local[8], domain[8];
	size_t base;

	assert_int_equal(smtp_parse_rcpt("TO:<abcdefg@x.org>", 18, &o, &r), SMTP_R_NONE);
	assert_int_equal(smtp_mailbox_key(&r.path, local, 8, domain, 8, &base), 0);
	assert_string_equal(local, "abcdefg");
	assert_int_equal(smtp_mailbox_key(&r.path, local, 7, domain, 8, &base), -1);
	assert_int_equal(smtp_parse_rcpt("TO:<a@example.org>", 18, &o, &r), SMTP_R_NONE);
	assert_int_equal(smtp_mailbox_key(&r.path, local, 8, domain, 8, &base), -1);

	struct smtp_path null = {0};
	assert_int_equal(smtp_mailbox_key(&null, local, 8, domain, 8, &base), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_command),
	    cmocka_unit_test(test_command_length),
	    cmocka_unit_test(test_helo),
	    cmocka_unit_test(test_helo_lengths),
	    cmocka_unit_test(test_mail),
	    cmocka_unit_test(test_mail_lengths),
	    cmocka_unit_test(test_rcpt),
	    cmocka_unit_test(test_rcpt_lengths),
	    cmocka_unit_test(test_bdat),
	    cmocka_unit_test(test_mailbox_key),
	    cmocka_unit_test(test_mailbox_key_buffers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
