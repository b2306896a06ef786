/*
 * parse: FTP command lines (RFC 959 §5.3), the command policy table and the
 * argument parsers. Pure: no I/O, no allocation, no globals but constant
 * tables. See parse.h for the contract of each function.
 */
#include "parse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "triad/date.h"

/* Telnet (RFC 854) bytes that can appear on an FTP control connection. */
#define TELNET_IAC 255
#define TELNET_WILL 251 /* WILL WONT DO DONT: 251-254, each followed by an option byte */
#define TELNET_SE 240   /* SE NOP DM BRK IP AO AYT EC EL GA SB: 240-250, alone */

/* ---- the command table ---------------------------------------------- */

#define PRE (FTP_CMDF_PRELOGIN | FTP_CMDF_PRETLS)

/* clang-format off */
static const struct ftp_cmd_info cmd_table[FTP_VERB_COUNT] = {
	[FTP_VERB_UNKNOWN] = {"", 0},
	[FTP_VERB_USER] = {"USER", FTP_CMDF_ARG_REQ | FTP_CMDF_PRELOGIN},
	/* An empty password is a password (anonymous clients send one). */
	[FTP_VERB_PASS] = {"PASS", FTP_CMDF_ARG_OPT | FTP_CMDF_PRELOGIN},
	[FTP_VERB_ACCT] = {"ACCT", FTP_CMDF_ARG_OPT | FTP_CMDF_PRELOGIN | FTP_CMDF_UNIMPL},
	[FTP_VERB_CWD] = {"CWD", FTP_CMDF_ARG_REQ},
	[FTP_VERB_CDUP] = {"CDUP", 0},
	[FTP_VERB_PWD] = {"PWD", 0},
	[FTP_VERB_QUIT] = {"QUIT", PRE | FTP_CMDF_INXFER},
	[FTP_VERB_REIN] = {"REIN", PRE},
	[FTP_VERB_PORT] = {"PORT", FTP_CMDF_ARG_REQ},
	[FTP_VERB_PASV] = {"PASV", 0},
	[FTP_VERB_EPSV] = {"EPSV", FTP_CMDF_ARG_OPT},
	[FTP_VERB_EPRT] = {"EPRT", FTP_CMDF_ARG_REQ},
	/* RFC 1639 long addresses: EPRT/EPSV replace them. */
	[FTP_VERB_LPRT] = {"LPRT", FTP_CMDF_ARG_OPT | FTP_CMDF_UNIMPL},
	[FTP_VERB_LPSV] = {"LPSV", FTP_CMDF_ARG_OPT | FTP_CMDF_UNIMPL},
	[FTP_VERB_TYPE] = {"TYPE", FTP_CMDF_ARG_REQ},
	[FTP_VERB_STRU] = {"STRU", FTP_CMDF_ARG_REQ},
	[FTP_VERB_MODE] = {"MODE", FTP_CMDF_ARG_REQ},
	[FTP_VERB_RETR] = {"RETR", FTP_CMDF_ARG_REQ | FTP_CMDF_DATA},
	[FTP_VERB_STOR] = {"STOR", FTP_CMDF_ARG_REQ | FTP_CMDF_DATA | FTP_CMDF_WRITE},
	/* RFC 959 gives STOU no argument; some clients send a name hint. */
	[FTP_VERB_STOU] = {"STOU", FTP_CMDF_ARG_OPT | FTP_CMDF_DATA | FTP_CMDF_WRITE},
	[FTP_VERB_APPE] = {"APPE", FTP_CMDF_ARG_REQ | FTP_CMDF_DATA | FTP_CMDF_WRITE},
	[FTP_VERB_ALLO] = {"ALLO", FTP_CMDF_ARG_REQ},
	[FTP_VERB_REST] = {"REST", FTP_CMDF_ARG_REQ},
	[FTP_VERB_RNFR] = {"RNFR", FTP_CMDF_ARG_REQ | FTP_CMDF_WRITE},
	[FTP_VERB_RNTO] = {"RNTO", FTP_CMDF_ARG_REQ | FTP_CMDF_WRITE},
	[FTP_VERB_ABOR] = {"ABOR", FTP_CMDF_INXFER},
	[FTP_VERB_DELE] = {"DELE", FTP_CMDF_ARG_REQ | FTP_CMDF_WRITE},
	[FTP_VERB_RMD] = {"RMD", FTP_CMDF_ARG_REQ | FTP_CMDF_WRITE},
	[FTP_VERB_MKD] = {"MKD", FTP_CMDF_ARG_REQ | FTP_CMDF_WRITE},
	[FTP_VERB_LIST] = {"LIST", FTP_CMDF_ARG_OPT | FTP_CMDF_DATA},
	[FTP_VERB_NLST] = {"NLST", FTP_CMDF_ARG_OPT | FTP_CMDF_DATA},
	/* SITE HELP is harmless; SITE CHMOD checks read-only itself. */
	[FTP_VERB_SITE] = {"SITE", FTP_CMDF_ARG_REQ},
	[FTP_VERB_SYST] = {"SYST", PRE},
	[FTP_VERB_STAT] = {"STAT", FTP_CMDF_ARG_OPT | FTP_CMDF_INXFER},
	[FTP_VERB_HELP] = {"HELP", FTP_CMDF_ARG_OPT | PRE},
	/* Arguments to NOOP are ignored: refusing them helps nobody. */
	[FTP_VERB_NOOP] = {"NOOP", FTP_CMDF_ARG_OPT | PRE},
	[FTP_VERB_FEAT] = {"FEAT", PRE},
	[FTP_VERB_OPTS] = {"OPTS", FTP_CMDF_ARG_REQ | PRE},
	[FTP_VERB_SIZE] = {"SIZE", FTP_CMDF_ARG_REQ},
	[FTP_VERB_MDTM] = {"MDTM", FTP_CMDF_ARG_REQ},
	[FTP_VERB_MLST] = {"MLST", FTP_CMDF_ARG_OPT},
	[FTP_VERB_MLSD] = {"MLSD", FTP_CMDF_ARG_OPT | FTP_CMDF_DATA},
	[FTP_VERB_MFMT] = {"MFMT", FTP_CMDF_ARG_REQ | FTP_CMDF_WRITE},
	[FTP_VERB_AUTH] = {"AUTH", FTP_CMDF_ARG_REQ | PRE},
	[FTP_VERB_PBSZ] = {"PBSZ", FTP_CMDF_ARG_REQ | PRE},
	[FTP_VERB_PROT] = {"PROT", FTP_CMDF_ARG_REQ | PRE},
	/* Refused by the session (534): we never drop to a clear control channel. */
	[FTP_VERB_CCC] = {"CCC", PRE},
};
/* clang-format on */

/* Names that parse to another verb (RFC 1123 §4.1.3.1). */
static const struct {
	char name[FTP_VERB_MAX + 1];
	enum ftp_verb verb;
} aliases[] = {
    {"XCWD", FTP_VERB_CWD}, {"XCUP", FTP_VERB_CDUP}, {"XPWD", FTP_VERB_PWD},
    {"XMKD", FTP_VERB_MKD}, {"XRMD", FTP_VERB_RMD},
};

const struct ftp_cmd_info *ftp_cmd_info(enum ftp_verb verb)
{
	if ((unsigned)verb >= FTP_VERB_COUNT)
		verb = FTP_VERB_UNKNOWN;
	return &cmd_table[verb];
}

static enum ftp_verb verb_lookup(const char *name)
{
	for (int v = 1; v < FTP_VERB_COUNT; v++)
		if (strcmp(cmd_table[v].name, name) == 0)
			return (enum ftp_verb)v;
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (strcmp(aliases[i].name, name) == 0)
			return aliases[i].verb;
	return FTP_VERB_UNKNOWN;
}

/* ---- the command line ----------------------------------------------- */

static bool is_alpha(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static char upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/* Copies LINE into OUT without Telnet sequences; returns the length or a
 * negative parse status. OUT has room for LEN bytes plus a NUL. */
static long strip_telnet(const unsigned char *line, size_t len, char *out)
{
	/* Refused wherever they are, Telnet option bytes included. */
	if (memchr(line, '\0', len) || memchr(line, '\r', len) || memchr(line, '\n', len))
		return -FTP_PARSE_BAD_BYTE;
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = line[i];
		if (c != TELNET_IAC) {
			out[n++] = (char)c;
			continue;
		}
		if (i + 1 == len)
			return -FTP_PARSE_TELNET;
		unsigned char cmd = line[++i];
		if (cmd == TELNET_IAC) {
			out[n++] = (char)TELNET_IAC;
		} else if (cmd >= TELNET_WILL) {
			/* WILL/WONT/DO/DONT option: we negotiate nothing, the
			 * option byte goes too. */
			if (i + 1 == len)
				return -FTP_PARSE_TELNET;
			i++;
		} else if (cmd < TELNET_SE) {
			return -FTP_PARSE_TELNET;
		}
	}
	out[n] = '\0';
	return (long)n;
}

enum ftp_parse_status ftp_parse_command(const char *line, size_t len, struct ftp_command *cmd)
{
	cmd->verb = FTP_VERB_UNKNOWN;
	cmd->name[0] = '\0';
	cmd->has_arg = false;
	cmd->arglen = 0;
	cmd->arg[0] = '\0';
	if (len > FTP_COMMAND_LINE_MAX - 1)
		return FTP_PARSE_TOO_LONG;

	/* The stripped line goes into arg first, then the argument is moved
	 * to its start: stripping only ever shortens. */
	long n = strip_telnet((const unsigned char *)line, len, cmd->arg);
	if (n < 0)
		return (enum ftp_parse_status) - n;
	if (n == 0)
		return FTP_PARSE_EMPTY;

	size_t vlen = 0;
	while (vlen < (size_t)n && cmd->arg[vlen] != ' ') {
		if (!is_alpha((unsigned char)cmd->arg[vlen]))
			return FTP_PARSE_VERB;
		vlen++;
	}
	if (vlen == 0)
		return FTP_PARSE_VERB;
	if (vlen <= FTP_VERB_MAX) {
		for (size_t i = 0; i < vlen; i++)
			cmd->name[i] = upper(cmd->arg[i]);
		cmd->name[vlen] = '\0';
		cmd->verb = verb_lookup(cmd->name);
	}
	if (vlen < (size_t)n) {
		cmd->has_arg = true;
		cmd->arglen = (size_t)n - vlen - 1;
		memmove(cmd->arg, cmd->arg + vlen + 1, cmd->arglen);
	}
	cmd->arg[cmd->arglen] = '\0';
	return FTP_PARSE_OK;
}

int ftp_command_gate(const struct ftp_command *cmd, const struct ftp_gate *g, const char **text)
{
	const struct ftp_cmd_info *ci = ftp_cmd_info(cmd->verb);
	unsigned f = ci->flags;

	if (cmd->verb == FTP_VERB_UNKNOWN) {
		*text = "Unknown command";
		return 500;
	}
	if (f & FTP_CMDF_UNIMPL) {
		*text = "Command not implemented";
		return 502;
	}
	if (g->tls_required && !g->tls_active && !(f & FTP_CMDF_PRETLS)) {
		*text = "TLS required: send AUTH TLS first";
		return 530;
	}
	if (!g->logged_in && !(f & FTP_CMDF_PRELOGIN)) {
		*text = "Please log in with USER and PASS";
		return 530;
	}
	if ((f & FTP_CMDF_ARG_REQ) && cmd->arglen == 0) {
		*text = "Syntax error: argument required";
		return 501;
	}
	if (!(f & (FTP_CMDF_ARG_REQ | FTP_CMDF_ARG_OPT)) && cmd->arglen > 0) {
		*text = "Syntax error: no argument allowed";
		return 501;
	}
	if ((f & FTP_CMDF_WRITE) && g->read_only) {
		*text = "Permission denied: read-only session";
		return 550;
	}
	if ((f & FTP_CMDF_DATA) && g->tls_required && !g->prot_private) {
		*text = "Data connection cannot be opened with this PROT setting: send PBSZ 0 "
		        "and PROT P first";
		return 521;
	}
	*text = NULL;
	return 0;
}

/* ---- argument helpers ------------------------------------------------ */

/* Case-insensitive equality of (S, LEN) with the upper-case word W. */
static bool word_eq(const char *s, size_t len, const char *w)
{
	size_t wl = strlen(w);
	if (len != wl)
		return false;
	for (size_t i = 0; i < len; i++)
		if (upper(s[i]) != w[i])
			return false;
	return true;
}

static bool all_digits(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* 1..MAXDIGITS digits, value <= MAX. */
static bool parse_uint(const char *s, size_t len, size_t maxdigits, uint64_t max, uint64_t *out)
{
	if (len == 0 || len > maxdigits || !all_digits(s, len))
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++)
		v = v * 10 + (uint64_t)(s[i] - '0'); /* maxdigits <= 19 keeps this in range */
	if (v > max)
		return false;
	*out = v;
	return true;
}

/* ---- PORT, EPRT, EPSV ------------------------------------------------ */

int ftp_parse_port(const char *arg, size_t len, struct sockaddr_storage *ss, socklen_t *sslen)
{
	uint64_t v[6];
	size_t pos = 0;
	for (int i = 0; i < 6; i++) {
		size_t start = pos;
		while (pos < len && arg[pos] != ',')
			pos++;
		if (!parse_uint(arg + start, pos - start, 3, 255, &v[i]))
			return 501;
		if (i < 5) {
			if (pos == len)
				return 501;
			pos++; /* the ',' */
		}
	}
	if (pos != len)
		return 501;
	uint16_t port = (uint16_t)(v[4] << 8 | v[5]);
	if (port == 0)
		return 501;

	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	uint8_t *a = (uint8_t *)&sin->sin_addr;
	for (int i = 0; i < 4; i++)
		a[i] = (uint8_t)v[i];
	*sslen = sizeof(*sin);
	return 0;
}

int ftp_parse_eprt(const char *arg, size_t len, struct sockaddr_storage *ss, socklen_t *sslen)
{
	if (len < 1)
		return 501;
	char d = arg[0];
	if ((unsigned char)d < 33 || (unsigned char)d > 126)
		return 501;

	/* Three fields between four delimiters, the last one ending the argument. */
	const char *f[3];
	size_t fl[3];
	size_t pos = 1;
	for (int i = 0; i < 3; i++) {
		f[i] = arg + pos;
		while (pos < len && arg[pos] != d)
			pos++;
		if (pos == len)
			return 501;
		fl[i] = (size_t)(arg + pos - f[i]);
		pos++;
	}
	if (pos != len)
		return 501;

	int family;
	if (word_eq(f[0], fl[0], "1"))
		family = AF_INET;
	else if (word_eq(f[0], fl[0], "2"))
		family = AF_INET6;
	else if (all_digits(f[0], fl[0]))
		return 522; /* RFC 2428 §2: a protocol we do not support */
	else
		return 501;

	uint64_t port;
	if (!parse_uint(f[2], fl[2], 5, 65535, &port) || port == 0)
		return 501;

	char addr[INET6_ADDRSTRLEN];
	if (fl[1] == 0 || fl[1] >= sizeof(addr))
		return 501;
	memcpy(addr, f[1], fl[1]);
	addr[fl[1]] = '\0';

	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		if (inet_pton(AF_INET, addr, &sin->sin_addr) != 1)
			return 501;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*sslen = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) != 1)
			return 501;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*sslen = sizeof(*sin6);
	}
	return 0;
}

int ftp_parse_epsv(const char *arg, size_t len, enum ftp_epsv *out)
{
	if (len == 0)
		*out = FTP_EPSV_ANY;
	else if (word_eq(arg, len, "1"))
		*out = FTP_EPSV_V4;
	else if (word_eq(arg, len, "2"))
		*out = FTP_EPSV_V6;
	else if (word_eq(arg, len, "ALL"))
		*out = FTP_EPSV_ALL;
	else if (all_digits(arg, len))
		return 522;
	else
		return 501;
	return 0;
}

/* ---- TYPE, MODE, STRU, REST ------------------------------------------ */

int ftp_parse_type(const char *arg, size_t len, enum ftp_type *out)
{
	if (len == 0)
		return 501;
	char t = upper(arg[0]);
	if (t == 'I') {
		if (len != 1)
			return 501;
		*out = FTP_TYPE_IMAGE;
		return 0;
	}
	if (t == 'A' || t == 'E') {
		char form = 'N';
		if (len == 3 && arg[1] == ' ')
			form = upper(arg[2]);
		else if (len != 1)
			return 501;
		if (form != 'N' && form != 'T' && form != 'C')
			return 501;
		/* EBCDIC and the Telnet/ASA print forms are not implemented. */
		if (t == 'E' || form != 'N')
			return 504;
		*out = FTP_TYPE_ASCII;
		return 0;
	}
	if (t == 'L') {
		uint64_t bits;
		if (len < 3 || arg[1] != ' ' || !parse_uint(arg + 2, len - 2, 3, 255, &bits))
			return 501;
		if (bits != 8)
			return 504;
		*out = FTP_TYPE_IMAGE;
		return 0;
	}
	return 501;
}

/* One letter out of ALL (RFC 959 values) of which only OK is implemented. */
static int one_of(const char *arg, size_t len, const char *all, char ok)
{
	if (len != 1)
		return 501;
	char c = upper(arg[0]);
	if (c == ok)
		return 0;
	return strchr(all, c) ? 504 : 501;
}

int ftp_parse_mode(const char *arg, size_t len)
{
	/* Z: the MODE Z deflate extension, never advertised. */
	return one_of(arg, len, "SBCZ", 'S');
}

int ftp_parse_stru(const char *arg, size_t len)
{
	return one_of(arg, len, "FRP", 'F');
}

int ftp_parse_rest(const char *arg, size_t len, uint64_t *off)
{
	return parse_uint(arg, len, 19, INT64_MAX, off) ? 0 : 501;
}

/* ---- MFMT, OPTS, SITE ------------------------------------------------ */

int ftp_parse_mfmt(const char *arg, size_t len, struct ftp_mfmt *out)
{
	const char *sp = memchr(arg, ' ', len);
	if (!sp)
		return 501;
	size_t tlen = (size_t)(sp - arg);
	if (date_timeval_parse(arg, tlen, &out->time) < 0)
		return 501;
	out->path = sp + 1;
	out->pathlen = len - tlen - 1;
	return out->pathlen ? 0 : 501;
}

static const char *const fact_names[] = {"type", "size", "modify", "perm", "unique", "UNIX.mode"};

const char *ftp_fact_name(unsigned bit)
{
	for (unsigned i = 0; i < sizeof(fact_names) / sizeof(fact_names[0]); i++)
		if (bit == 1u << i)
			return fact_names[i];
	return NULL;
}

static unsigned fact_lookup(const char *s, size_t len)
{
	for (unsigned i = 0; i < sizeof(fact_names) / sizeof(fact_names[0]); i++) {
		const char *n = fact_names[i];
		size_t j = 0;
		while (j < len && n[j] != '\0' && upper(n[j]) == upper(s[j]))
			j++;
		if (j == len && n[j] == '\0')
			return 1u << i;
	}
	return 0;
}

int ftp_parse_opts(const char *arg, size_t len, struct ftp_opts *out)
{
	const char *sp = memchr(arg, ' ', len);
	size_t nlen = sp ? (size_t)(sp - arg) : len;
	const char *opt = sp ? sp + 1 : arg + len;
	size_t olen = sp ? len - nlen - 1 : 0;

	if (word_eq(arg, nlen, "UTF8")) {
		out->kind = FTP_OPTS_UTF8;
		if (word_eq(opt, olen, "ON"))
			out->utf8_on = true;
		else if (word_eq(opt, olen, "OFF"))
			out->utf8_on = false;
		else
			return 501;
		return 0;
	}
	if (word_eq(arg, nlen, "MLST")) {
		out->kind = FTP_OPTS_MLST;
		out->facts = 0;
		size_t pos = 0;
		while (pos < olen) {
			size_t start = pos;
			while (pos < olen && opt[pos] != ';')
				pos++;
			/* A space cannot be part of the fact list (RFC 3659 §7.9). */
			if (memchr(opt + start, ' ', pos - start))
				return 501;
			out->facts |= fact_lookup(opt + start, pos - start);
			pos++;
		}
		return 0;
	}
	return 501;
}

int ftp_parse_site(const char *arg, size_t len, struct ftp_site *out)
{
	const char *sp = memchr(arg, ' ', len);
	size_t nlen = sp ? (size_t)(sp - arg) : len;
	const char *rest = sp ? sp + 1 : arg + len;
	size_t rlen = sp ? len - nlen - 1 : 0;

	if (word_eq(arg, nlen, "HELP")) {
		out->cmd = FTP_SITE_HELP;
		out->path = rest;
		out->pathlen = rlen;
		return 0;
	}
	if (!word_eq(arg, nlen, "CHMOD"))
		return 500;

	const char *msp = memchr(rest, ' ', rlen);
	if (!msp)
		return 501;
	size_t mlen = (size_t)(msp - rest);
	if (mlen < 1 || mlen > 4)
		return 501;
	unsigned mode = 0;
	for (size_t i = 0; i < mlen; i++) {
		if (rest[i] < '0' || rest[i] > '7')
			return 501;
		mode = mode * 8 + (unsigned)(rest[i] - '0');
	}
	out->cmd = FTP_SITE_CHMOD;
	out->path = msp + 1;
	out->pathlen = rlen - mlen - 1;
	if (out->pathlen == 0)
		return 501;
	if (mode & ~0777u)
		return 504;
	out->mode = (mode_t)mode;
	return 0;
}

/* ---- PROT, PBSZ, AUTH ------------------------------------------------ */

int ftp_parse_prot(const char *arg, size_t len, enum ftp_prot *out)
{
	if (len != 1 || !is_alpha((unsigned char)arg[0]))
		return 501;
	switch (upper(arg[0])) {
	case 'C':
		*out = FTP_PROT_C;
		return 0;
	case 'P':
		*out = FTP_PROT_P;
		return 0;
	case 'S':
		*out = FTP_PROT_S;
		return 536;
	case 'E':
		*out = FTP_PROT_E;
		return 536;
	default:
		return 504;
	}
}

int ftp_parse_pbsz(const char *arg, size_t len, uint32_t *out)
{
	uint64_t v;
	if (!parse_uint(arg, len, 10, UINT32_MAX, &v))
		return 501;
	*out = (uint32_t)v;
	return 0;
}

int ftp_parse_auth(const char *arg, size_t len, enum ftp_auth *out)
{
	if (word_eq(arg, len, "TLS"))
		*out = FTP_AUTH_TLS;
	else if (word_eq(arg, len, "TLS-C"))
		*out = FTP_AUTH_TLS_C;
	else if (word_eq(arg, len, "SSL"))
		*out = FTP_AUTH_SSL;
	else if (word_eq(arg, len, "TLS-P"))
		*out = FTP_AUTH_TLS_P;
	else
		return 504;
	return 0;
}

/* ---- LIST arguments -------------------------------------------------- */

int ftp_parse_list_args(const char *arg, size_t len, struct ftp_list_args *out)
{
	memset(out, 0, sizeof(*out));
	size_t pos = 0;
	while (pos < len && arg[pos] == '-') {
		size_t end = pos + 1;
		while (end < len && arg[end] != ' ')
			end++;
		bool letters = end > pos + 1;
		for (size_t i = pos + 1; i < end; i++)
			letters = letters && is_alpha((unsigned char)arg[i]);
		if (!letters)
			break; /* "-" alone or "-x.txt": a path */
		for (size_t i = pos + 1; i < end; i++) {
			switch (arg[i]) {
			case 'a':
				out->opt_a = true;
				break;
			case 'l':
				out->opt_l = true;
				break;
			case 'd':
				out->opt_d = true;
				break;
			case 'R':
				out->opt_R = true;
				break;
			default:
				break;
			}
		}
		pos = end;
		while (pos < len && arg[pos] == ' ')
			pos++;
	}
	out->path = arg + pos;
	out->pathlen = len - pos;
	return 0;
}
