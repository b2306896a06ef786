/*
 * libFuzzer target for the pure parts of ftpd: parse.c (command line, gate,
 * every argument parser), path.c, reply.c (lines), ascii.c (TYPE A
 * converters), list.c and common/date.c. Not built by `make`. Build and run:
 *
 *   mkdir -p build/fuzz
 *   clang -std=c17 -g -O1 -D_GNU_SOURCE -Iinclude \
 *         -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
 *         tests/fuzz/fuzz_ftp_parse.c ftpd/parse.c ftpd/path.c ftpd/reply.c \
 *         ftpd/ascii.c ftpd/list.c common/date.c -o build/fuzz/fuzz_ftp_parse
 *   build/fuzz/fuzz_ftp_parse -max_total_time=60
 *
 * Input: byte 0 picks the gate state and a split point, the rest is one
 * command line. Checked beyond "no crash": a parsed argument holds no NUL,
 * CR or LF; resolved paths are absolute and normalised, and resolving them
 * again changes nothing; a reply line is one line ending in CRLF; the TYPE A
 * converters give the same output whatever the split.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../ftpd/ascii.h"
#include "../../ftpd/list.h"
#include "../../ftpd/parse.h"
#include "../../ftpd/path.h"
#include "../../ftpd/reply.h"
#include "triad/date.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			abort();                                                                   \
	} while (0)

static void check_vpath(const struct ftp_vpath *p)
{
	CHECK(p->len >= 1 && p->len <= TRIAD_PATH_MAX - 1);
	CHECK(p->path[0] == '/' && p->path[p->len] == '\0');
	CHECK(strlen(p->path) == p->len);
	CHECK(p->len == 1 || p->path[p->len - 1] != '/');
	CHECK(!strstr(p->path, "//"));
	CHECK(!strstr(p->path, "/./") && !strstr(p->path, "/../"));
	CHECK(strcmp(p->path + p->len - (p->len >= 2 ? 2 : p->len), "/.") != 0);
	CHECK(p->len < 3 || strcmp(p->path + p->len - 3, "/..") != 0);

	static struct ftp_vpath again;
	CHECK(ftp_path_resolve("/", 1, p->path, p->len, &again) == 0);
	CHECK(again.len == p->len && memcmp(again.path, p->path, p->len) == 0);
}

static void check_paths(const char *arg, size_t len)
{
	static struct ftp_vpath p;
	static const char *const cwds[] = {"/", "/a/b", "/\xc3\xa9/x y"};
	for (size_t i = 0; i < sizeof(cwds) / sizeof(cwds[0]); i++) {
		if (ftp_path_resolve(cwds[i], strlen(cwds[i]), arg, len, &p) == 0)
			check_vpath(&p);
	}
	static char quoted[FTP_REPLY_LINE_MAX];
	ssize_t q = ftp_path_quote(arg, len, "x", quoted, sizeof(quoted));
	CHECK(q == -EINVAL || (q >= 2 && quoted[0] == '"' && (size_t)q == strlen(quoted)));
}

static void check_reply(const char *text, size_t len, unsigned part)
{
	static char out[FTP_REPLY_LINE_MAX];
	size_t n =
	    ftp_reply_line(out, sizeof(out), 550, (enum ftp_reply_part)(part % 4), text, len);
	CHECK(n >= 2 && out[n - 2] == '\r' && out[n - 1] == '\n' && out[n] == '\0');
	CHECK(!memchr(out, '\r', n - 2) && !memchr(out, '\n', n - 2));
	if (part % 4 == FTP_REPLY_MORE)
		CHECK(n == 2 || out[0] < '0' || out[0] > '9');
	ssize_t m = ftp_reply_multi(out, sizeof(out), 214, text, len);
	if (m > 0) {
		/* the last line, and only it, is "214 " */
		const char *last = out;
		for (const char *p = out; p < out + m - 2; p++)
			if (p[0] == '\r' && p[1] == '\n')
				last = p + 2;
		CHECK(memcmp(last, "214 ", 4) == 0);
	}
}

static void check_ascii(const char *in, size_t len, size_t split)
{
	static char a[2 * FTP_COMMAND_LINE_MAX + 2], b[2 * FTP_COMMAND_LINE_MAX + 2];
	struct ftp_ascii s1 = {false}, s2 = {false};
	if (split > len)
		split = len;
	size_t n1 = ftp_ascii_to_crlf(&s1, in, len, a);
	size_t n2 = ftp_ascii_to_crlf(&s2, in, split, b);
	n2 += ftp_ascii_to_crlf(&s2, in + split, len - split, b + n2);
	CHECK(n1 == n2 && memcmp(a, b, n1) == 0 && n1 <= 2 * len);

	s1.cr = s2.cr = false;
	n1 = ftp_ascii_to_lf(&s1, in, len, a);
	n1 += ftp_ascii_to_lf_end(&s1, a + n1);
	n2 = ftp_ascii_to_lf(&s2, in, split, b);
	n2 += ftp_ascii_to_lf(&s2, in + split, len - split, b + n2);
	n2 += ftp_ascii_to_lf_end(&s2, b + n2);
	CHECK(n1 == n2 && memcmp(a, b, n1) == 0 && n1 <= len);
}

static void check_args(const char *arg, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	enum ftp_epsv epsv;
	enum ftp_type type;
	enum ftp_prot prot;
	enum ftp_auth auth;
	uint64_t off;
	uint32_t pbsz;
	struct ftp_mfmt mf;
	struct ftp_opts opts;
	struct ftp_site site;
	struct ftp_list_args la;

	int rc = ftp_parse_port(arg, len, &ss, &sl);
	CHECK(rc == 0 || rc == 501);
	rc = ftp_parse_eprt(arg, len, &ss, &sl);
	CHECK(rc == 0 || rc == 501 || rc == 522);
	if (rc == 0)
		CHECK(ss.ss_family == AF_INET || ss.ss_family == AF_INET6);
	rc = ftp_parse_epsv(arg, len, &epsv);
	CHECK(rc == 0 || rc == 501 || rc == 522);
	rc = ftp_parse_type(arg, len, &type);
	CHECK(rc == 0 || rc == 501 || rc == 504);
	rc = ftp_parse_mode(arg, len);
	CHECK(rc == 0 || rc == 501 || rc == 504);
	rc = ftp_parse_stru(arg, len);
	CHECK(rc == 0 || rc == 501 || rc == 504);
	if (ftp_parse_rest(arg, len, &off) == 0)
		CHECK(off <= INT64_MAX);
	rc = ftp_parse_pbsz(arg, len, &pbsz);
	CHECK(rc == 0 || rc == 501);
	rc = ftp_parse_prot(arg, len, &prot);
	CHECK(rc == 0 || rc == 501 || rc == 504 || rc == 536);
	rc = ftp_parse_auth(arg, len, &auth);
	CHECK(rc == 0 || rc == 504);
	if (ftp_parse_mfmt(arg, len, &mf) == 0) {
		CHECK(mf.pathlen > 0 && mf.path + mf.pathlen == arg + len);
		CHECK(mf.time.tv_nsec >= 0 && mf.time.tv_nsec < 1000000000);
	}
	if (ftp_parse_opts(arg, len, &opts) == 0 && opts.kind == FTP_OPTS_MLST)
		CHECK((opts.facts & ~(unsigned)FTP_FACT_ALL) == 0);
	rc = ftp_parse_site(arg, len, &site);
	CHECK(rc == 0 || rc == 500 || rc == 501 || rc == 504);
	if (rc == 0) {
		CHECK(site.path >= arg && site.path + site.pathlen == arg + len);
		if (site.cmd == FTP_SITE_CHMOD)
			CHECK(site.mode <= 0777 && site.pathlen > 0);
	}
	CHECK(ftp_parse_list_args(arg, len, &la) == 0);
	CHECK(la.path >= arg && la.path + la.pathlen == arg + len);
}

static void check_list(const char *name, size_t len, unsigned seed)
{
	static char out[FTP_LIST_LINE_MAX];
	struct stat st;
	memset(&st, 0, sizeof(st));
	st.st_mode = (mode_t)((seed * 2654435761u) & 0177777);
	st.st_size = (off_t)(seed * 0x9e3779b97f4a7c15ull >> 1);
	st.st_mtime = (time_t)(int64_t)(seed * 0x9e3779b97f4a7c15ull);
	struct ftp_list_opts o = {.now = 1709210096, .uid = seed & 1, .facts = seed & FTP_FACT_ALL};
	ssize_t n = ftp_list_line(out, sizeof(out), name, len, &st, &o);
	CHECK(n == 0 || n == -ENOBUFS || (n >= 2 && out[n - 2] == '\r' && out[n - 1] == '\n'));
	if (n > 0)
		CHECK(!memchr(out, '\n', (size_t)n - 1));
	n = ftp_mlsd_line(out, sizeof(out), name, len, &st, FTP_ENTRY_PLAIN, &o);
	if (n > 0)
		CHECK(!memchr(out, '\n', (size_t)n - 1) && out[n - 1] == '\n');
	n = ftp_mlst_line(out, sizeof(out), name, len, &st, &o);
	if (n > 0)
		CHECK(out[0] == ' ' && !memchr(out, '\n', (size_t)n - 1));
	struct timespec ts;
	char tv[DATE_TIMEVAL_LEN + 1];
	if (date_timeval_parse(name, len, &ts) == 0 && len == DATE_TIMEVAL_LEN &&
	    date_timeval_format(ts.tv_sec, tv) == 0)
		CHECK(memcmp(tv, name, DATE_TIMEVAL_LEN) == 0 || memcmp(name + 12, "60", 2) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ftp_command cmd;
	if (size < 1)
		return 0;
	unsigned sel = data[0];
	const char *line = (const char *)data + 1;
	size_t len = size - 1;

	enum ftp_parse_status st = ftp_parse_command(line, len, &cmd);
	check_ascii(line, len < FTP_COMMAND_LINE_MAX ? len : FTP_COMMAND_LINE_MAX, sel * 7);
	check_reply(line, len < FTP_COMMAND_LINE_MAX ? len : FTP_COMMAND_LINE_MAX, sel);
	if (st != FTP_PARSE_OK)
		return 0;

	CHECK(cmd.arglen < FTP_COMMAND_LINE_MAX && cmd.arg[cmd.arglen] == '\0');
	CHECK(!memchr(cmd.arg, '\0', cmd.arglen) && !memchr(cmd.arg, '\r', cmd.arglen) &&
	      !memchr(cmd.arg, '\n', cmd.arglen));
	CHECK(cmd.has_arg || cmd.arglen == 0);
	CHECK(strlen(cmd.name) <= FTP_VERB_MAX);

	struct ftp_gate g = {
	    .logged_in = sel & 1,
	    .tls_required = sel & 2,
	    .tls_active = sel & 4,
	    .prot_private = sel & 8,
	    .read_only = sel & 16,
	};
	const char *text;
	int code = ftp_command_gate(&cmd, &g, &text);
	CHECK(code == 0 || (code >= 500 && code <= 553 && text && *text));
	if (code == 0) {
		unsigned f = ftp_cmd_info(cmd.verb)->flags;
		CHECK(cmd.verb != FTP_VERB_UNKNOWN && !(f & FTP_CMDF_UNIMPL));
		CHECK(g.logged_in || (f & FTP_CMDF_PRELOGIN));
		CHECK(!g.read_only || !(f & FTP_CMDF_WRITE));
	}

	check_args(cmd.arg, cmd.arglen);
	check_paths(cmd.arg, cmd.arglen);
	check_list(cmd.arg, cmd.arglen, sel);
	return 0;
}
