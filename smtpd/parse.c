/*
 * parse: SMTP command line, path and ESMTP parameter parsers (contract and
 * decisions in parse.h). Pure: no I/O, no allocation, no globals but
 * constant tables. Grammar references are to RFC 5321 §4.1.2 unless noted.
 */
#include "parse.h"
#include "triad/strlit.h"

#include <string.h>
#include <strings.h>

enum argp { ARG_NONE, ARG_OPT, ARG_REQ };

/* clang-format off */
static const struct {
	const char *name;
	enum argp arg;
} verbs[SMTP_CMD__COUNT] = {
	[SMTP_CMD_UNKNOWN] = {"?", ARG_OPT},
	[SMTP_CMD_EHLO] = {"EHLO", ARG_REQ},
	[SMTP_CMD_HELO] = {"HELO", ARG_REQ},
	[SMTP_CMD_MAIL] = {"MAIL", ARG_REQ},
	[SMTP_CMD_RCPT] = {"RCPT", ARG_REQ},
	[SMTP_CMD_DATA] = {"DATA", ARG_NONE},
	[SMTP_CMD_BDAT] = {"BDAT", ARG_REQ},
	[SMTP_CMD_RSET] = {"RSET", ARG_NONE},
	[SMTP_CMD_NOOP] = {"NOOP", ARG_OPT},
	[SMTP_CMD_QUIT] = {"QUIT", ARG_NONE},
	[SMTP_CMD_VRFY] = {"VRFY", ARG_REQ},
	[SMTP_CMD_EXPN] = {"EXPN", ARG_REQ},
	[SMTP_CMD_HELP] = {"HELP", ARG_OPT},
	[SMTP_CMD_STARTTLS] = {"STARTTLS", ARG_NONE},
	[SMTP_CMD_AUTH] = {"AUTH", ARG_REQ},
};
/* clang-format on */

const char *smtp_verb_name(enum smtp_verb v)
{
	if ((unsigned)v >= SMTP_CMD__COUNT)
		return "?";
	return verbs[v].name;
}

/* ---- character classes (ASCII only: no locale) ------------------------- */

static bool is_alpha(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(unsigned char c)
{
	return is_alpha(c) || is_digit(c);
}

/* RFC 5322 §3.2.3 atext. */
static bool is_atext(unsigned char c)
{
	return is_alnum(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static unsigned char lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* Whether [p, p+n) equals the ASCII word W, ignoring case. */
static bool word_eq(const char *p, size_t n, const char *w)
{
	return strlen(w) == n && strncasecmp(p, w, n) == 0;
}

/*
 * Length of the well-formed UTF-8 sequence of a non-ASCII character at p
 * (RFC 3629 §4: no overlongs, no surrogates, at most U+10FFFF), 0 if none.
 */
static size_t utf8_seq(const char *s, const char *end)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t avail = (size_t)(end - s);
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (avail == 0)
		return 0;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;
		else if (p[0] == 0xed)
			hi = 0x9f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		if (p[0] == 0xf0)
			lo = 0x90;
		else if (p[0] == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (avail < n || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

/* ---- command line ------------------------------------------------------ */

enum smtp_rid smtp_parse_command(const char *line, size_t len, struct smtp_cmd *cmd)
{
	bool bad = false;

	memset(cmd, 0, sizeof *cmd);
	/* The limit counts the CRLF the reader already removed. */
	if (len > SMTP_COMMAND_LINE_MAX - 2)
		return SMTP_R_LINE_TOO_LONG;
	for (size_t i = 0; i < len; i++)
		if (line[i] == '\r' || line[i] == '\n' || line[i] == '\0')
			bad = true;
	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;

	size_t vlen = 0;
	while (vlen < len && line[vlen] != ' ')
		vlen++;
	for (int v = 1; v < SMTP_CMD__COUNT; v++) {
		if (word_eq(line, vlen, verbs[v].name)) {
			cmd->verb = (enum smtp_verb)v;
			break;
		}
	}
	if (vlen < len) {
		cmd->arg = line + vlen + 1;
		cmd->arglen = len - vlen - 1;
	}
	if (bad)
		return SMTP_R_BAD_CHAR;
	if (cmd->verb == SMTP_CMD_UNKNOWN)
		return SMTP_R_UNKNOWN_CMD;
	if (verbs[cmd->verb].arg == ARG_NONE && cmd->arg != NULL)
		return SMTP_R_NO_ARGS;
	if (verbs[cmd->verb].arg == ARG_REQ && cmd->arg == NULL)
		return SMTP_R_NEED_ARG;
	return SMTP_R_NONE;
}

/* ---- domains and address literals -------------------------------------- */

/*
 * Domain = sub-domain *("." sub-domain); sub-domain = Let-dig [Ldh-str],
 * plus U-label characters when UTF8 (RFC 6531 §3.3), plus '_' anywhere in a
 * label when UNDERSCORE (EHLO names only, see parse.h). Labels are at most
 * SMTP_LABEL_MAX octets. Returns the end, or NULL. The total length is the
 * caller's to check.
 */
static const char *parse_domain(const char *p, const char *end, bool utf8, bool underscore,
                                bool *nonascii)
{
	for (;;) {
		const char *label = p;
		bool last_ok = false;

		while (p < end) {
			unsigned char c = (unsigned char)*p;
			size_t n;
			if (is_alnum(c) || (underscore && c == '_')) {
				p++;
				last_ok = true;
			} else if (c == '-' && p != label) {
				p++;
				last_ok = false;
			} else if (c >= 0x80 && utf8 && (n = utf8_seq(p, end)) > 0) {
				p += n;
				last_ok = true;
				*nonascii = true;
			} else {
				break;
			}
		}
		if (p == label || !last_ok || p - label > SMTP_LABEL_MAX)
			return NULL;
		if (p < end && *p == '.') {
			p++;
			continue;
		}
		return p;
	}
}

/* Snum 3("." Snum), Snum = 1*3DIGIT within 0..255. */
static bool ipv4_ok(const char *p, size_t n)
{
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		unsigned v = 0;
		size_t start = i;
		if (part > 0) {
			if (i >= n || p[i] != '.')
				return false;
			start = ++i;
		}
		while (i < n && is_digit((unsigned char)p[i]) && i - start < 3)
			v = v * 10 + (unsigned)(p[i++] - '0');
		if (i == start || v > 255)
			return false;
	}
	return i == n;
}

static bool is_xdigit(unsigned char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/*
 * IPv6-addr (§4.1.3): IPv6-full (8 groups), IPv6-comp ("::" and at most 6
 * groups), IPv6v4-full (6 groups and an IPv4 address), IPv6v4-comp ("::", at
 * most 4 groups and an IPv4 address). Groups are 1..4 hex digits.
 */
static bool ipv6_ok(const char *p, size_t n)
{
	size_t i = 0;
	int groups = 0;
	bool dbl = false, v4 = false;

	if (n >= 2 && p[0] == ':' && p[1] == ':') {
		dbl = true;
		i = 2;
		if (i == n)
			return true;
	}
	for (;;) {
		size_t j = i;
		while (j < n && is_xdigit((unsigned char)p[j]) && j - i < 5)
			j++;
		if (j < n && p[j] == '.') {
			/* The IPv4 tail ends the address. */
			if (!ipv4_ok(p + i, n - i))
				return false;
			v4 = true;
			break;
		}
		if (j == i || j - i > 4)
			return false;
		groups++;
		i = j;
		if (i == n)
			break;
		if (p[i] != ':')
			return false;
		i++;
		if (i < n && p[i] == ':') {
			if (dbl)
				return false;
			dbl = true;
			i++;
			if (i == n)
				break;
		} else if (i == n) {
			return false;
		}
	}
	if (v4)
		return dbl ? groups <= 4 : groups == 6;
	return dbl ? groups <= 6 : groups == 8;
}

/*
 * address-literal = "[" ( IPv4 / "IPv6:" IPv6 / Standardized-tag ":"
 * 1*dcontent ) "]". An "IPv6" tag always means IPv6. p is at '['.
 */
static const char *parse_literal(const char *p, const char *end)
{
	const char *close = memchr(p, ']', (size_t)(end - p));
	if (close == NULL)
		return NULL;
	const char *c = p + 1;
	size_t n = (size_t)(close - c);

	if (ipv4_ok(c, n))
		return close + 1;
	if (n >= 5 && strncasecmp(c, STRLIT("IPv6:")) == 0)
		return ipv6_ok(c + 5, n - 5) ? close + 1 : NULL;

	/* Standardized-tag = Ldh-str = *(ALPHA / DIGIT / "-") Let-dig */
	size_t t = 0;
	while (t < n && (is_alnum((unsigned char)c[t]) || c[t] == '-'))
		t++;
	if (t == 0 || c[t - 1] == '-' || t >= n || c[t] != ':' || t + 1 == n)
		return NULL;
	for (size_t i = t + 1; i < n; i++) {
		unsigned char d = (unsigned char)c[i];
		if (!((d >= 33 && d <= 90) || (d >= 94 && d <= 126)))
			return NULL;
	}
	return close + 1;
}

enum smtp_rid smtp_parse_helo(const char *arg, size_t len)
{
	const char *end = arg + len, *p;
	bool nonascii = false;

	if (len == 0 || len > SMTP_DOMAIN_MAX)
		return SMTP_R_HELO_SYNTAX;
	if (arg[0] == '[')
		p = parse_literal(arg, end);
	else
		p = parse_domain(arg, end, false, true, &nonascii);
	return p == end ? SMTP_R_NONE : SMTP_R_HELO_SYNTAX;
}

/* ---- paths ------------------------------------------------------------- */

/* Local-part = Dot-string / Quoted-string, UTF-8 allowed (checked by the caller). */
static const char *parse_local(const char *p, const char *end, bool *quoted, bool *nonascii)
{
	size_t n;

	if (p < end && *p == '"') {
		for (p++; p < end && *p != '"';) {
			unsigned char c = (unsigned char)*p;
			if (c == '\\') {
				/* quoted-pairSMTP = %d92 %d32-126 */
				if (end - p < 2 || (unsigned char)p[1] < 32 ||
				    (unsigned char)p[1] > 126)
					return NULL;
				p += 2;
			} else if (c >= 32 && c <= 126) {
				p++; /* qtextSMTP: '"' and '\' handled above */
			} else if ((n = utf8_seq(p, end)) > 0) {
				p += n;
				*nonascii = true;
			} else {
				return NULL;
			}
		}
		if (p == end)
			return NULL;
		*quoted = true;
		return p + 1;
	}
	for (;;) {
		const char *atom = p;
		while (p < end) {
			if (is_atext((unsigned char)*p)) {
				p++;
			} else if ((unsigned char)*p >= 0x80 && (n = utf8_seq(p, end)) > 0) {
				p += n;
				*nonascii = true;
			} else {
				break;
			}
		}
		if (p == atom)
			return NULL;
		if (p < end && *p == '.') {
			p++;
			continue;
		}
		return p;
	}
}

enum path_status { PATH_OK, PATH_SYNTAX, PATH_TOO_LONG };

/*
 * Path = "<" [ A-d-l ":" ] Mailbox ">", or "<>" (out->len 0), or
 * "<Postmaster>" when RCPT. *next is set past '>'.
 */
static enum path_status parse_path(const char *p, const char *end, bool rcpt, struct smtp_path *out,
                                   const char **next)
{
	const char *start = p;
	bool nonascii = false;

	if (p == end || *p != '<')
		return PATH_SYNTAX;
	p++;
	if (p < end && *p == '>') {
		*next = p + 1;
		return PATH_OK;
	}
	if (p < end && *p == '@') {
		/* A-d-l = At-domain *( "," At-domain ); checked, then dropped. */
		for (;;) {
			if (p == end || *p != '@')
				return PATH_SYNTAX;
			if ((p = parse_domain(p + 1, end, true, false, &nonascii)) == NULL)
				return PATH_SYNTAX;
			if (p < end && *p == ',') {
				p++;
				continue;
			}
			if (p == end || *p != ':')
				return PATH_SYNTAX;
			p++;
			break;
		}
		out->route = true;
	}

	const char *local = p;
	if ((p = parse_local(p, end, &out->quoted, &nonascii)) == NULL)
		return PATH_SYNTAX;
	const char *local_end = p;
	const char *dom_end;

	if (rcpt && !out->route && !out->quoted && p < end && *p == '>' &&
	    word_eq(local, (size_t)(p - local), "Postmaster")) {
		out->postmaster = true;
		dom_end = p;
	} else {
		if (p == end || *p != '@')
			return PATH_SYNTAX;
		p++;
		if (p < end && *p == '[') {
			p = parse_literal(p, end);
			out->literal = true;
		} else {
			p = parse_domain(p, end, true, false, &nonascii);
		}
		if (p == NULL)
			return PATH_SYNTAX;
		dom_end = p;
		if ((size_t)(dom_end - local_end - 1) > SMTP_DOMAIN_MAX)
			return PATH_TOO_LONG;
	}
	if (p == end || *p != '>')
		return PATH_SYNTAX;
	p++;
	if ((size_t)(p - start) > SMTP_PATH_MAX || local_end - local > SMTP_LOCAL_PART_MAX)
		return PATH_TOO_LONG;

	size_t n = (size_t)(dom_end - local);
	memcpy(out->addr, local, n);
	out->addr[n] = '\0';
	out->len = (uint16_t)n;
	out->local_len = (uint16_t)(local_end - local);
	out->utf8 = nonascii;
	*next = p;
	return PATH_OK;
}

/* ---- ESMTP parameters --------------------------------------------------- */

static int hexval(unsigned char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1; /* RFC 3461 §4: hexchar uses upper case only */
}

/*
 * xtext (RFC 3461 §4) decoded into out (NUL terminated); the decoded text
 * must be non-empty printable ASCII and fit cap.
 */
static bool xtext_decode(const char *v, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)v[i];
		if (c == '+') {
			int h, l;
			if (n - i < 3 || (h = hexval((unsigned char)v[i + 1])) < 0 ||
			    (l = hexval((unsigned char)v[i + 2])) < 0)
				return false;
			c = (unsigned char)(h * 16 + l);
			i += 3;
		} else if (c >= 33 && c <= 126 && c != '=') {
			i++;
		} else {
			return false;
		}
		if (c < 0x20 || c > 0x7e || o + 1 >= cap)
			return false;
		out[o++] = (char)c;
	}
	if (o == 0)
		return false;
	out[o] = '\0';
	return true;
}

enum param {
	P_SIZE,
	P_BODY,
	P_SMTPUTF8,
	P_RET,
	P_ENVID,
	P_AUTH,
	P_NOTIFY,
	P_ORCPT,
};

/* clang-format off */
static const struct {
	const char *kw;
	bool rcpt; /* a RCPT parameter; else MAIL */
} params[] = {
	[P_SIZE] = {"SIZE", false},   [P_BODY] = {"BODY", false},   [P_SMTPUTF8] = {"SMTPUTF8", false},
	[P_RET] = {"RET", false},     [P_ENVID] = {"ENVID", false}, [P_AUTH] = {"AUTH", false},
	[P_NOTIFY] = {"NOTIFY", true}, [P_ORCPT] = {"ORCPT", true},
};
/* clang-format on */

static enum smtp_rid param_size(const char *v, size_t n, struct smtp_mail *m)
{
	uint64_t x = 0;

	/* size-value = 1*20DIGIT (RFC 1870 §5); beyond UINT64_MAX it is simply too big. */
	if (n == 0 || n > 20)
		return SMTP_R_PARAM_BAD;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(v[i] - '0');
		if (!is_digit((unsigned char)v[i]))
			return SMTP_R_PARAM_BAD;
		x = (x > (UINT64_MAX - d) / 10) ? UINT64_MAX : x * 10 + d;
	}
	m->has_size = true;
	m->size = x;
	return SMTP_R_NONE;
}

static enum smtp_rid param_notify(const char *v, size_t n, struct smtp_rcpt *r)
{
	unsigned bits = 0;
	size_t i = 0;

	for (;;) {
		size_t s = i;
		while (i < n && v[i] != ',')
			i++;
		if (word_eq(v + s, i - s, "NEVER"))
			bits |= SMTP_NOTIFY_NEVER;
		else if (word_eq(v + s, i - s, "SUCCESS"))
			bits |= SMTP_NOTIFY_SUCCESS;
		else if (word_eq(v + s, i - s, "FAILURE"))
			bits |= SMTP_NOTIFY_FAILURE;
		else if (word_eq(v + s, i - s, "DELAY"))
			bits |= SMTP_NOTIFY_DELAY;
		else
			return SMTP_R_PARAM_BAD;
		if (i == n)
			break;
		i++; /* ',' then another element (an empty one fails above) */
	}
	if ((bits & SMTP_NOTIFY_NEVER) && bits != SMTP_NOTIFY_NEVER)
		return SMTP_R_NOTIFY_NEVER;
	r->notify = bits;
	return SMTP_R_NONE;
}

static enum smtp_rid param_orcpt(const char *v, size_t n, struct smtp_rcpt *r)
{
	const char *semi = memchr(v, ';', n);

	/* original-recipient-address = addr-type ";" xtext; addr-type = atom */
	if (n > SMTP_ORCPT_MAX || semi == NULL || semi == v ||
	    (size_t)(semi - v) >= sizeof r->orcpt_type)
		return SMTP_R_PARAM_BAD;
	for (const char *t = v; t < semi; t++)
		if (!is_atext((unsigned char)*t))
			return SMTP_R_PARAM_BAD;
	size_t tl = (size_t)(semi - v);
	if (!xtext_decode(semi + 1, n - tl - 1, r->orcpt, sizeof r->orcpt))
		return SMTP_R_PARAM_BAD;
	memcpy(r->orcpt_type, v, tl);
	r->orcpt_type[tl] = '\0';
	r->has_orcpt = true;
	return SMTP_R_NONE;
}

static enum smtp_rid param_value(enum param k, const char *v, size_t n, bool has_v,
                                 struct smtp_mail *m, struct smtp_rcpt *r)
{
	if (k == P_SMTPUTF8) {
		if (has_v)
			return SMTP_R_PARAM_BAD;
		m->smtputf8 = true;
		return SMTP_R_NONE;
	}
	if (!has_v)
		return SMTP_R_PARAM_BAD;
	switch (k) {
	case P_SIZE:
		return param_size(v, n, m);
	case P_BODY:
		if (word_eq(v, n, "7BIT"))
			m->body = SMTP_BODY_7BIT;
		else if (word_eq(v, n, "8BITMIME"))
			m->body = SMTP_BODY_8BITMIME;
		else if (word_eq(v, n, "BINARYMIME"))
			return SMTP_R_BODY_UNSUPPORTED;
		else
			return SMTP_R_PARAM_BAD;
		return SMTP_R_NONE;
	case P_RET:
		if (word_eq(v, n, "FULL"))
			m->ret = SMTP_RET_FULL;
		else if (word_eq(v, n, "HDRS"))
			m->ret = SMTP_RET_HDRS;
		else
			return SMTP_R_PARAM_BAD;
		return SMTP_R_NONE;
	case P_ENVID:
		if (n > SMTP_ENVID_MAX || !xtext_decode(v, n, m->envid, sizeof m->envid))
			return SMTP_R_PARAM_BAD;
		m->has_envid = true;
		return SMTP_R_NONE;
	case P_AUTH:
		/* "<>" is valid xtext and means "unknown" (RFC 4954 §5). */
		if (!xtext_decode(v, n, m->auth, sizeof m->auth))
			return SMTP_R_PARAM_BAD;
		m->has_auth = true;
		return SMTP_R_NONE;
	case P_NOTIFY:
		return param_notify(v, n, r);
	case P_ORCPT:
		return param_orcpt(v, n, r);
	default:
		return SMTP_R_PARAM_BAD;
	}
}

/*
 * *(SP esmtp-param), esmtp-param = esmtp-keyword ["=" esmtp-value]
 * (§4.1.2). M is set for MAIL, R for RCPT.
 */
static enum smtp_rid parse_params(const char *p, const char *end, const struct smtp_parse_opts *o,
                                  struct smtp_mail *m, struct smtp_rcpt *r)
{
	unsigned seen = 0;

	for (;;) {
		while (p < end && *p == ' ')
			p++;
		if (p == end)
			return SMTP_R_NONE;
		if (!o->esmtp)
			return SMTP_R_PARAM_NO_ESMTP;

		const char *kw = p;
		while (p < end && *p != ' ' && *p != '=')
			p++;
		size_t kwlen = (size_t)(p - kw);
		const char *v = NULL;
		size_t vlen = 0;
		bool has_v = false;
		if (p < end && *p == '=') {
			v = ++p;
			while (p < end && *p != ' ')
				p++;
			vlen = (size_t)(p - v);
			has_v = true;
		}

		/* esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-") */
		if (kwlen == 0 || !is_alnum((unsigned char)kw[0]))
			return SMTP_R_PARAM_BAD;
		for (size_t i = 1; i < kwlen; i++)
			if (!is_alnum((unsigned char)kw[i]) && kw[i] != '-')
				return SMTP_R_PARAM_BAD;

		int k = -1;
		for (size_t i = 0; i < sizeof params / sizeof params[0]; i++)
			if (params[i].rcpt == (r != NULL) && word_eq(kw, kwlen, params[i].kw))
				k = (int)i;
		if (k < 0)
			return SMTP_R_PARAM_UNKNOWN;
		if (seen & (1u << k))
			return SMTP_R_PARAM_DUP;
		seen |= 1u << k;

		/* esmtp-value = 1*(%d33-60 / %d62-126); none of ours takes UTF-8. */
		if (has_v && vlen == 0)
			return SMTP_R_PARAM_BAD;
		for (size_t i = 0; i < vlen; i++) {
			unsigned char c = (unsigned char)v[i];
			if (c < 33 || c > 126 || c == '=')
				return SMTP_R_PARAM_BAD;
		}
		enum smtp_rid e = param_value((enum param)k, v, vlen, has_v, m, r);
		if (e != SMTP_R_NONE)
			return e;
	}
}

/* "FROM:" / "TO:" then optional SP; returns the path's start or NULL. */
static const char *after_prefix(const char *arg, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);
	if (len < n || strncasecmp(arg, prefix, n) != 0)
		return NULL;
	const char *p = arg + n, *end = arg + len;
	while (p < end && *p == ' ')
		p++;
	return p;
}

enum smtp_rid smtp_parse_mail(const char *arg, size_t len, const struct smtp_parse_opts *o,
                              struct smtp_mail *out)
{
	const char *end, *p;

	memset(out, 0, sizeof *out);
	/* No arithmetic on a NULL ARG (undefined even with LEN 0). */
	if (arg == NULL || (p = after_prefix(arg, len, "FROM:")) == NULL)
		return SMTP_R_MAIL_SYNTAX;
	end = arg + len;
	switch (parse_path(p, end, false, &out->path, &p)) {
	case PATH_OK:
		break;
	case PATH_TOO_LONG:
		return SMTP_R_SENDER_TOO_LONG;
	default:
		return SMTP_R_BAD_SENDER;
	}
	if (p < end && *p != ' ')
		return SMTP_R_BAD_SENDER;
	enum smtp_rid e = parse_params(p, end, o, out, NULL);
	if (e != SMTP_R_NONE)
		return e;
	/* SMTPUTF8 is a parameter of this same command (RFC 6531 §3.4). */
	if (out->path.utf8 && !out->smtputf8)
		return SMTP_R_UTF8_ADDR;
	return SMTP_R_NONE;
}

enum smtp_rid smtp_parse_rcpt(const char *arg, size_t len, const struct smtp_parse_opts *o,
                              struct smtp_rcpt *out)
{
	const char *end, *p;

	memset(out, 0, sizeof *out);
	/* No arithmetic on a NULL ARG (undefined even with LEN 0). */
	if (arg == NULL || (p = after_prefix(arg, len, "TO:")) == NULL)
		return SMTP_R_RCPT_SYNTAX;
	end = arg + len;
	switch (parse_path(p, end, true, &out->path, &p)) {
	case PATH_OK:
		break;
	case PATH_TOO_LONG:
		return SMTP_R_RCPT_TOO_LONG;
	default:
		return SMTP_R_BAD_RCPT;
	}
	if (out->path.len == 0)
		return SMTP_R_NULL_RCPT;
	if (p < end && *p != ' ')
		return SMTP_R_BAD_RCPT;
	if (out->path.utf8 && !o->smtputf8)
		return SMTP_R_UTF8_ADDR;
	return parse_params(p, end, o, NULL, out);
}

enum smtp_rid smtp_parse_bdat(const char *arg, size_t len, uint64_t *size, bool *last)
{
	size_t i = 0;
	uint64_t x = 0;

	*size = 0;
	*last = false;
	if (arg == NULL)
		return SMTP_R_BDAT_SYNTAX;
	/* The session must read exactly this many octets: no saturation here. */
	while (i < len && is_digit((unsigned char)arg[i])) {
		unsigned d = (unsigned)(arg[i] - '0');
		if (i == 20 || x > (UINT64_MAX - d) / 10)
			return SMTP_R_BDAT_SYNTAX;
		x = x * 10 + d;
		i++;
	}
	if (i == 0)
		return SMTP_R_BDAT_SYNTAX;
	if (i < len) {
		if (arg[i] != ' ' || !word_eq(arg + i + 1, len - i - 1, "LAST"))
			return SMTP_R_BDAT_SYNTAX;
		*last = true;
	}
	*size = x;
	return SMTP_R_NONE;
}

/* ---- mailbox key ------------------------------------------------------- */

int smtp_mailbox_key(const struct smtp_path *p, char *local, size_t lcap, char *domain, size_t dcap,
                     size_t *base_len)
{
	const char *a = p->addr;
	size_t end = p->local_len, o = 0, i = 0;

	if (p->len == 0 || lcap == 0 || dcap == 0)
		return -1;
	if (p->quoted) {
		i = 1; /* drop the quotes, undo quoted-pairs */
		end--;
	}
	while (i < end) {
		unsigned char c = (unsigned char)a[i++];
		if (p->quoted && c == '\\')
			c = (unsigned char)a[i++];
		if (c < 0x20 || c == 0x7f || c == '/' || o + 1 >= lcap)
			return -1;
		local[o++] = (char)lower(c);
	}
	if (o == 0 || local[0] == '.')
		return -1;
	local[o] = '\0';

	size_t d = 0;
	if (!p->postmaster) {
		for (i = p->local_len + 1u; i < p->len; i++) {
			if (d + 1 >= dcap)
				return -1;
			domain[d++] = (char)lower((unsigned char)a[i]);
		}
	}
	domain[d] = '\0';

	const char *plus = memchr(local, '+', o);
	*base_len = (plus != NULL && plus != local) ? (size_t)(plus - local) : o;
	return 0;
}
