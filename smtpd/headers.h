/*
 * headers: the text triad adds to a stored message and the Maildir file
 * name. Pure: the caller passes the time, pid and counters.
 *
 * Stored messages use LF line ends (the Maildir convention), so these
 * builders end lines with LF and fold with LF HT.
 *
 * - Return-Path: <reverse-path> (RFC 5321 §4.4; "<>" for the null sender).
 * - Received: (RFC 5321 §4.4 Time-stamp-line), as Postfix lays it out:
 *     Received: from client.example ([192.0.2.1])
 *     	(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)
 *     	by mx.example.org (triad) with ESMTPS id 4F2A9C
 *     	for <user@example.org>; Thu, 26 Nov 2026 10:44:20 +0000
 *   "from" carries the EHLO/HELO name and the peer address as an address
 *   literal (no reverse DNS is done: TCP-info is just the literal, IPv6 as
 *   [IPv6:...]). The TLS line appears only over TLS. "with" is the RFC 3848
 *   / RFC 6531 §3.7.3 protocol type: SMTP after HELO, else ESMTP or UTF8SMTP
 *   (when the transaction used SMTPUTF8) plus S for TLS and A for AUTH.
 *   "for" names the recipient only when there is exactly one (the caller
 *   passes NULL otherwise: listing several would disclose Bcc recipients).
 *   The date is RFC 5322 §3.3 date-time in UTC. Lines fold before "(using",
 *   "by" and "for", and elsewhere at SMTP_HEADER_FOLD octets when a
 *   clause is longer; a single address or name is never split.
 * - Maildir names: <seconds>.M<usec>P<pid>Q<n>.<host>,S=<size> (the Maildir
 *   convention with the Courier/Dovecot size field). In <host>, every octet
 *   other than letters, digits, '-', '_' and '.' is written as a backslash
 *   and three octal digits: '/' is \057 and ':' is \072 as the Maildir
 *   specification asks; ',' (\054) too, so ",S=" stays unambiguous.
 *
 * Each builder returns the length written (NUL terminated), or -1 when a
 * field holds an octet that cannot appear there (CR, LF, controls; spaces
 * in names; '(' ')' '\' in the TLS comment) or the result does not fit CAP.
 */
#ifndef SMTPD_HEADERS_H
#define SMTPD_HEADERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct smtp_trace {
	const char *helo;     /* the EHLO/HELO argument, as validated by smtp_parse_helo() */
	const char *peer_ip;  /* conn_peer_ip(): "192.0.2.1", "2001:db8::1" */
	const char *hostname; /* ours ([smtpd] hostname) */
	bool esmtp;           /* EHLO (not HELO) */
	bool smtputf8;        /* the MAIL carried SMTPUTF8 */
	bool tls;
	bool auth;
	const char *tls_desc; /* conn_tls_describe(): "TLSv1.3 TLS_AES_128_GCM_SHA256" */
	const char *id;       /* the message id: an RFC 5322 atom */
	const char *rcpt;     /* the one recipient (path.addr), or NULL */
	int64_t when;         /* seconds since the epoch */
};

/* "SMTP", "ESMTP", "ESMTPSA", "UTF8SMTPS", ... for the trace and for logs. */
const char *smtp_trace_protocol(const struct smtp_trace *t);

int smtp_received(char *buf, size_t cap, const struct smtp_trace *t);

/* SENDER is smtp_mail.path.addr ("" for the null reverse-path). */
int smtp_return_path(char *buf, size_t cap, const char *sender);

int smtp_maildir_name(char *buf, size_t cap, int64_t sec, long usec, long pid, uint64_t seq,
                      const char *host, uint64_t size);

#endif
