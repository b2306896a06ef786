/*
 * Unit tests for smtpd/headers.c: Received: layouts and folding, protocol
 * types, refusal of fields that would break the header, Return-Path: and
 * Maildir file names with the host escaped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "../../../smtpd/headers.h"
#include "triad/limits.h"

#define ROW(...)                                                                                   \
	{                                                                                          \
		.line = __LINE__, __VA_ARGS__                                                      \
	}

static const struct smtp_trace base = {
    .helo = "client.example",
    .peer_ip = "192.0.2.1",
    .hostname = "mx.example.org",
    .esmtp = true,
    .id = "4F2A9C",
    .when = 1700000000,
};

/* LF endings only, continuation lines start with HT, lines fit unless one word doesn't. */
static void check_shape(int line, const char *h, size_t longest_word)
{
	size_t col = 0;
	size_t len = strlen(h);

	if (len == 0 || h[len - 1] != '\n' || strchr(h, '\r') != NULL)
		fail_msg("row at line %d: line ends", line);
	for (const char *p = h; *p; p++) {
		if (*p == '\n') {
			if (p[1] != '\0' && p[1] != '\t')
				fail_msg("row at line %d: continuation without HT", line);
			if (col > SMTP_HEADER_FOLD && col > longest_word + 1)
				fail_msg("row at line %d: line of %zu", line, col);
			col = 0;
		} else {
			col++;
		}
	}
}

static void test_received(void **state)
{
	(void)state;
	/* clang-format off */
	struct {
		int line;
		struct smtp_trace t;
		const char *want;
	} rows[] = {
		ROW(.t = {.helo = "client.example", .peer_ip = "192.0.2.1",
		          .hostname = "mx.example.org", .esmtp = true, .tls = true,
		          .tls_desc = "TLSv1.3 TLS_AES_256_GCM_SHA384", .id = "4F2A9C",
		          .rcpt = "user@example.org", .when = 1700000000},
		    .want = "Received: from client.example ([192.0.2.1])\n"
		            "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)\n"
		            "\tby mx.example.org (triad) with ESMTPS id 4F2A9C\n"
		            "\tfor <user@example.org>; Tue, 14 Nov 2023 22:13:20 +0000\n"),
		ROW(.t = {.helo = "client.example", .peer_ip = "192.0.2.1",
		          .hostname = "mx.example.org", .id = "4F2A9C", .when = 1700000000},
		    .want = "Received: from client.example ([192.0.2.1])\n"
		            "\tby mx.example.org (triad) with SMTP id 4F2A9C;\n"
		            "\tTue, 14 Nov 2023 22:13:20 +0000\n"),
		ROW(.t = {.helo = "h", .peer_ip = "2001:db8::1", .hostname = "mx", .esmtp = true,
		          .id = "X", .when = 0},
		    .want = "Received: from h ([IPv6:2001:db8::1])\n"
		            "\tby mx (triad) with ESMTP id X; Thu, 1 Jan 1970 00:00:00 +0000\n"),
		ROW(.t = {.helo = "[192.0.2.1]", .peer_ip = "192.0.2.1", .hostname = "mx",
		          .esmtp = true, .auth = true, .id = "X", .rcpt = "Postmaster",
		          .when = 951782400},
		    .want = "Received: from [192.0.2.1] ([192.0.2.1])\n"
		            "\tby mx (triad) with ESMTPA id X\n"
		            "\tfor <Postmaster>; Tue, 29 Feb 2000 00:00:00 +0000\n"),
		ROW(.t = {.helo = "c.example", .peer_ip = "192.0.2.1", .hostname = "mx",
		          .esmtp = true, .smtputf8 = true, .tls = true, .auth = true,
		          .tls_desc = "TLSv1.2", .id = "X",
		          .rcpt = "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b.example", .when = 0},
		    .want = "Received: from c.example ([192.0.2.1])\n"
		            "\t(using TLSv1.2)\n"
		            "\tby mx (triad) with UTF8SMTPSA id X\n"
		            "\tfor <\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b.example>; "
		            "Thu, 1 Jan 1970 00:00:00 +0000\n"),
		/* TLS without a description: no comment, the protocol still says S */
		ROW(.t = {.helo = "c", .peer_ip = "192.0.2.1", .hostname = "mx", .esmtp = true,
		          .tls = true, .id = "X", .when = 0},
		    .want = "Received: from c ([192.0.2.1])\n"
		            "\tby mx (triad) with ESMTPS id X; Thu, 1 Jan 1970 00:00:00 +0000\n"),
		/* a description but no TLS: ignored */
		ROW(.t = {.helo = "c", .peer_ip = "192.0.2.1", .hostname = "mx", .esmtp = true,
		          .tls_desc = "TLSv1.3 X", .id = "X", .when = 0},
		    .want = "Received: from c ([192.0.2.1])\n"
		            "\tby mx (triad) with ESMTP id X; Thu, 1 Jan 1970 00:00:00 +0000\n"),
		ROW(.t = {.helo = "c", .peer_ip = "192.0.2.1", .hostname = "mx", .esmtp = true,
		          .id = "X", .when = 253402300799},
		    .want = "Received: from c ([192.0.2.1])\n"
		            "\tby mx (triad) with ESMTP id X; Fri, 31 Dec 9999 23:59:59 +0000\n"),
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char buf[2048];
		int n = smtp_received(buf, sizeof buf, &rows[i].t);
		if (n < 0 || (size_t)n != strlen(rows[i].want) || strcmp(buf, rows[i].want) != 0)
			fail_msg("row at line %d: got %d\n%s", rows[i].line, n, n < 0 ? "" : buf);
		check_shape(rows[i].line, buf, 0);
		/* exactly the needed room is enough, one octet less is not */
		char exact[2048];
		assert_int_equal(smtp_received(exact, (size_t)n + 1, &rows[i].t), n);
		assert_int_equal(smtp_received(exact, (size_t)n, &rows[i].t), -1);
	}
}

static void test_received_folding(void **state)
{
	(void)state;
	char helo[256], rcpt[255], buf[2048];
	struct smtp_trace t = base;

	/* a 250-octet EHLO name and a 254-octet recipient: folded around, never split */
	memset(helo, 'h', 250);
	helo[250] = '\0';
	memset(rcpt, 'r', 254);
	rcpt[1] = '@';
	rcpt[254] = '\0';
	t.helo = helo;
	t.rcpt = rcpt;
	t.tls = true;
	t.tls_desc = "TLSv1.3 TLS_CHACHA20_POLY1305_SHA256";
	int n = smtp_received(buf, sizeof buf, &t);
	assert_true(n > 0);
	check_shape(__LINE__, buf, 256 + 3);
	assert_non_null(strstr(buf, "Received: from\n\t"));
	assert_non_null(strstr(buf, helo));
	assert_non_null(strstr(buf, "\n\tfor\n\t<"));
	assert_non_null(strstr(buf, ">;\n\tTue, 14 Nov 2023 22:13:20 +0000\n"));

	/* a long hostname folds the "by" clause */
	t = base;
	t.hostname = "a-rather-long-host-name.in.a.deep.subdomain.of.example.org";
	n = smtp_received(buf, sizeof buf, &t);
	assert_true(n > 0);
	check_shape(__LINE__, buf, 0);
}

static void test_received_refused(void **state)
{
	(void)state;
	/* clang-format off */
	static const struct {
		int line;
		const char *helo, *ip, *host, *id, *rcpt, *tls;
		int64_t when;
	} rows[] = {
		ROW(.helo = "a b"),
		ROW(.helo = "a\r\nX-Injected: 1"),
		ROW(.helo = ""),
		ROW(.helo = "caf\xc3\xa9"),
		ROW(.ip = "192.0.2.1])\n"),
		ROW(.ip = "192.0.2.1 x"),
		ROW(.ip = ""),
		ROW(.host = "mx example"),
		ROW(.host = ""),
		ROW(.id = "a b"),
		ROW(.id = "a;b"),
		ROW(.id = ""),
		ROW(.id = "0123456789012345678901234567890123456789012345678901234567890123456789"),
		ROW(.rcpt = "a@b\nX-Injected: 1"),
		ROW(.rcpt = "a@b\r"),
		ROW(.tls = "TLSv1.3 (evil)"),
		ROW(.tls = "TLSv1.3 a\\b"),
		ROW(.tls = "TLSv1.3\n"),
		ROW(.when = -99999999999999),
		ROW(.when = INT64_MAX),
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct smtp_trace t = base;
		char buf[2048];
		if (rows[i].helo)
			t.helo = rows[i].helo;
		if (rows[i].ip)
			t.peer_ip = rows[i].ip;
		if (rows[i].host)
			t.hostname = rows[i].host;
		if (rows[i].id)
			t.id = rows[i].id;
		if (rows[i].rcpt)
			t.rcpt = rows[i].rcpt;
		if (rows[i].tls) {
			t.tls = true;
			t.tls_desc = rows[i].tls;
		}
		if (rows[i].when)
			t.when = rows[i].when;
		int n = smtp_received(buf, sizeof buf, &t);
		if (n != -1)
			fail_msg("row at line %d: accepted\n%s", rows[i].line, buf);
	}
	struct smtp_trace t = base;
	t.helo = NULL;
	char buf[64];
	assert_int_equal(smtp_received(buf, sizeof buf, &t), -1);
	assert_int_equal(smtp_received(buf, 0, &base), -1);
}

static void test_protocol(void **state)
{
	(void)state;
	/* clang-format off */
	static const struct {
		int line;
		bool esmtp, utf8, tls, auth;
		const char *want;
	} rows[] = {
		ROW(.want = "SMTP"),
		ROW(.tls = true, .want = "SMTP"),
		ROW(.esmtp = true, .want = "ESMTP"),
		ROW(.esmtp = true, .auth = true, .want = "ESMTPA"),
		ROW(.esmtp = true, .tls = true, .want = "ESMTPS"),
		ROW(.esmtp = true, .tls = true, .auth = true, .want = "ESMTPSA"),
		ROW(.esmtp = true, .utf8 = true, .want = "UTF8SMTP"),
		ROW(.esmtp = true, .utf8 = true, .auth = true, .want = "UTF8SMTPA"),
		ROW(.esmtp = true, .utf8 = true, .tls = true, .want = "UTF8SMTPS"),
		ROW(.esmtp = true, .utf8 = true, .tls = true, .auth = true, .want = "UTF8SMTPSA"),
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct smtp_trace t = {.esmtp = rows[i].esmtp,
		                       .smtputf8 = rows[i].utf8,
		                       .tls = rows[i].tls,
		                       .auth = rows[i].auth};
		if (strcmp(smtp_trace_protocol(&t), rows[i].want) != 0)
			fail_msg("row at line %d: %s", rows[i].line, smtp_trace_protocol(&t));
	}
}

static void test_return_path(void **state)
{
	(void)state;
	/* clang-format off */
	static const struct {
		int line;
		const char *sender, *want;
	} rows[] = {
		ROW(.sender = "", .want = "Return-Path: <>\n"),
		ROW(.sender = "a@example.org", .want = "Return-Path: <a@example.org>\n"),
		ROW(.sender = "\"x y\"@example.org", .want = "Return-Path: <\"x y\"@example.org>\n"),
		ROW(.sender = "\xce\xb4@example.org", .want = "Return-Path: <\xce\xb4@example.org>\n"),
		ROW(.sender = "a@b\r\nX-Injected: 1", .want = NULL),
		ROW(.sender = "a@b\x7f", .want = NULL),
		ROW(.sender = NULL, .want = NULL),
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char buf[512];
		int n = smtp_return_path(buf, sizeof buf, rows[i].sender);
		if (rows[i].want == NULL
		        ? n != -1
		        : (n != (int)strlen(rows[i].want) || strcmp(buf, rows[i].want)))
			fail_msg("row at line %d: got %d", rows[i].line, n);
	}
	char small[32];
	assert_int_equal(smtp_return_path(small, 19, "a@b"), -1);
	assert_int_equal(smtp_return_path(small, 20, "a@b"), 19);
}

static void test_maildir_name(void **state)
{
	(void)state;
	/* clang-format off */
	static const struct {
		int line;
		int64_t sec;
		long usec, pid;
		uint64_t seq;
		const char *host;
		uint64_t size;
		const char *want;
	} rows[] = {
		ROW(.sec = 1700000000, .usec = 123456, .pid = 4242, .seq = 7, .host = "mx.example.org",
		    .size = 1234, .want = "1700000000.M123456P4242Q7.mx.example.org,S=1234"),
		ROW(.sec = 0, .usec = 0, .pid = 1, .seq = 0, .host = "h", .size = 0,
		    .want = "0.M0P1Q0.h,S=0"),
		ROW(.sec = 1, .usec = 999999, .pid = 2, .seq = UINT64_MAX, .host = "my_host-1",
		    .size = UINT64_MAX,
		    .want = "1.M999999P2Q18446744073709551615.my_host-1,S=18446744073709551615"),
		ROW(.sec = 1, .usec = 5, .pid = 2, .seq = 3, .host = "a/b:c,d", .size = 9,
		    .want = "1.M5P2Q3.a\\057b\\072c\\054d,S=9"),
		ROW(.sec = 1, .usec = 5, .pid = 2, .seq = 3, .host = "h\\x y\xc3", .size = 9,
		    .want = "1.M5P2Q3.h\\134x\\040y\\303,S=9"),
		ROW(.sec = 1, .usec = 1000000, .pid = 2, .seq = 3, .host = "h", .want = NULL),
		ROW(.sec = 1, .usec = -1, .pid = 2, .seq = 3, .host = "h", .want = NULL),
		ROW(.sec = -1, .usec = 0, .pid = 2, .seq = 3, .host = "h", .want = NULL),
		ROW(.sec = 1, .usec = 0, .pid = 0, .seq = 3, .host = "h", .want = NULL),
		ROW(.sec = 1, .usec = 0, .pid = 2, .seq = 3, .host = "", .want = NULL),
		ROW(.sec = 1, .usec = 0, .pid = 2, .seq = 3, .host = NULL, .want = NULL),
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char buf[512];
		int n = smtp_maildir_name(buf, sizeof buf, rows[i].sec, rows[i].usec, rows[i].pid,
		                          rows[i].seq, rows[i].host, rows[i].size);
		if (rows[i].want == NULL
		        ? n != -1
		        : (n != (int)strlen(rows[i].want) || strcmp(buf, rows[i].want)))
			fail_msg("row at line %d: got %d \"%s\"", rows[i].line, n,
			         n > 0 ? buf : "");
	}

	/* the name must stay one path component: NAME_MAX */
	char host[300], buf[1024];
	memset(host, 'a', 240);
	host[240] = '\0';
	assert_int_equal(smtp_maildir_name(buf, sizeof buf, 1, 0, 1, 1, host, 1), 9 + 240 + 4);
	host[236] = '\0';
	memcpy(host + 232, "////", 4); /* each escape is four octets */
	assert_int_equal(smtp_maildir_name(buf, sizeof buf, 1, 0, 1, 1, host, 1), -1);
	assert_int_equal(smtp_maildir_name(buf, 10, 1, 0, 1, 1, "h", 1), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_received),         cmocka_unit_test(test_received_folding),
	    cmocka_unit_test(test_received_refused), cmocka_unit_test(test_protocol),
	    cmocka_unit_test(test_return_path),      cmocka_unit_test(test_maildir_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
