/*
 * libFuzzer target for smtpd/parse.c and smtpd/reply.c. Not built by make.
 *
 * Build and run from the repository root (clang with libFuzzer):
 *   mkdir -p build/fuzz
 *   clang -std=c17 -g -O1 -D_GNU_SOURCE -Iinclude \
 *         -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
 *         tests/fuzz/fuzz_smtp_parse.c smtpd/parse.c smtpd/reply.c \
 *         -o build/fuzz/fuzz_smtp_parse
 *   build/fuzz/fuzz_smtp_parse -max_len=600 -max_total_time=60
 *
 * Besides memory safety it checks invariants: an accepted path re-parses to
 * itself, an accepted EHLO name without '_' is a valid path domain, a mailbox key never
 * holds '/' nor starts with '.', a reply is one line of at most 512 octets.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../smtpd/parse.h"

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

static void check_path(const struct smtp_path *p, bool rcpt, bool utf8)
{
	CHECK(p->len == strlen(p->addr));
	CHECK(p->local_len <= p->len && p->local_len <= SMTP_LOCAL_PART_MAX);
	CHECK(p->len <= SMTP_PATH_MAX - 2);
	CHECK(memchr(p->addr, '\r', p->len) == NULL && memchr(p->addr, '\n', p->len) == NULL);
	if (p->len == 0)
		return;

	/* What we keep (route dropped) is itself a valid path. */
	char again[SMTP_PATH_MAX + 8];
	int n = snprintf(again, sizeof again, "%s<%s>", rcpt ? "TO:" : "FROM:", p->addr);
	struct smtp_parse_opts o = {.esmtp = true, .smtputf8 = utf8};
	if (rcpt) {
		struct smtp_rcpt r;
		CHECK(smtp_parse_rcpt(again, (size_t)n, &o, &r) == SMTP_R_NONE);
		CHECK(strcmp(r.path.addr, p->addr) == 0 && r.path.local_len == p->local_len);
	} else {
		struct smtp_mail m;
		if (utf8)
			n += snprintf(again + n, sizeof again - (size_t)n, " SMTPUTF8");
		CHECK(smtp_parse_mail(again, (size_t)n, &o, &m) == SMTP_R_NONE);
		CHECK(strcmp(m.path.addr, p->addr) == 0 && m.path.local_len == p->local_len);
	}

	char local[SMTP_LOCAL_PART_MAX + 1], domain[SMTP_DOMAIN_MAX + 1];
	size_t base;
	if (smtp_mailbox_key(p, local, sizeof local, domain, sizeof domain, &base) == 0) {
		CHECK(local[0] != '\0' && local[0] != '.' && strchr(local, '/') == NULL);
		CHECK(base >= 1 && base <= strlen(local));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t sel = data[0];
	const char *in = (const char *)data + 1;
	size_t len = size - 1;
	struct smtp_parse_opts o = {.esmtp = sel & 1, .smtputf8 = sel & 2};

	struct smtp_cmd c;
	enum smtp_rid r = smtp_parse_command(in, len, &c);
	if (c.arg != NULL)
		CHECK(c.arg > in && c.arg + c.arglen <= in + len);
	if (r == SMTP_R_NONE)
		CHECK(c.verb != SMTP_CMD_UNKNOWN);

	struct smtp_mail m;
	if (smtp_parse_mail(in, len, &o, &m) == SMTP_R_NONE) {
		check_path(&m.path, false, m.smtputf8);
		CHECK(!m.has_envid || strlen(m.envid) <= SMTP_ENVID_MAX);
	}
	struct smtp_rcpt rc;
	if (smtp_parse_rcpt(in, len, &o, &rc) == SMTP_R_NONE) {
		CHECK(rc.path.len > 0);
		check_path(&rc.path, true, o.smtputf8);
		CHECK(!(rc.notify & SMTP_NOTIFY_NEVER) || rc.notify == SMTP_NOTIFY_NEVER);
	}
	/* EHLO names may hold '_' (common on real hosts), which a path domain may not. */
	if (smtp_parse_helo(in, len) == SMTP_R_NONE && len < 200 && !memchr(in, '_', len)) {
		char p[300];
		int n = snprintf(p, sizeof p, "FROM:<a@%.*s>", (int)len, in);
		CHECK(smtp_parse_mail(p, (size_t)n, &o, &m) == SMTP_R_NONE);
	}
	uint64_t bsize;
	bool last;
	smtp_parse_bdat(in, len, &bsize, &last);

	/* Replies: any text gives one well-formed line. */
	char text[700], out[1024];
	size_t tl = len < sizeof text - 1 ? len : sizeof text - 1;
	memcpy(text, in, tl);
	text[tl] = '\0';
	int n = smtp_reply(out, sizeof out, sel & 4, 550, "5.1.1", "%s", text);
	CHECK(n >= 6 && n <= SMTP_REPLY_LINE_MAX);
	CHECK(out[n - 2] == '\r' && out[n - 1] == '\n');
	CHECK(memchr(out, '\r', (size_t)n - 2) == NULL && memchr(out, '\n', (size_t)n - 2) == NULL);
	return 0;
}
