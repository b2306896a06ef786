/*
 * data: the message-data assembler for DATA (RFC 5321 §4.5.2, §2.3.8) and
 * BDAT (RFC 3030). Pure and resumable: bytes go in in chunks of any size,
 * split anywhere; the message comes out through a sink callback as Maildir
 * bytes (every CRLF turned into LF), mostly as slices of the input.
 *
 * Rules (DATA mode):
 * - A line starts only after CRLF (or at the start of the data). Only
 *   CRLF "." CRLF ends the message: "\n.\n", "\r.\n", "\n.\r\n", "\r.\r\n" and
 *   the like never do. smtp_data_feed() stops right after the final LF and
 *   returns how much it consumed: pipelined commands after it stay for the
 *   command reader.
 * - Dot-stuffing: a '.' that starts a line and is not followed by CRLF is
 *   removed (§4.5.2: "the first character is deleted").
 * - A bare LF (no CR before it) or a bare CR (no LF after it) anywhere in the
 *   data is a protocol violation (SMTP smuggling). By default it refuses the
 *   whole message: reading goes on to the end marker, nothing more is
 *   stored, and the reply is 550 5.5.2 (as Postfix: smtpd_forbid_bare_newline,
 *   "bare <LF> received"; X.5.2 because the SMTP framing itself is broken).
 *   With SMTP_DATA_NORMALISE a bare LF is stored as a line break (LF) and a
 *   bare CR is dropped, but neither ever starts a line: the end marker and
 *   dot-stuffing are still recognised only after a real CRLF, so normalising
 *   cannot make two parsers disagree on where the message ends.
 * - Lines longer than SMTP_TEXT_LINE_MAX octets including CRLF (§4.5.3.1.6;
 *   counted on the unstuffed line, so a 998-octet line that needed stuffing
 *   still fits) are flagged. Postfix and OpenSMTPD both accept them, and so
 *   does triad by default; SMTP_DATA_REFUSE_LONG makes them refuse the
 *   message with 550 5.6.0.
 * - Size: the RFC 1870 message size (octets sent for the message, CRLF
 *   counting 2, stuffing dots and the end marker not counted; bare CR/LF count
 *   1). Past max_size the message is refused with 552 5.3.4: reading goes on,
 *   nothing more is stored.
 * - Octets 0x80-0xff and NUL pass through untouched (8BITMIME); F_8BIT tells.
 *
 * BDAT mode: the chunk octets are the message (no dot handling, no end
 * marker); CRLF becomes LF also when a chunk ends with CR and the next
 * starts with LF; bare CR/LF are handled as in DATA mode. The size is every
 * octet of every chunk. smtp_data_finish() at BDAT LAST settles a final CR.
 *
 * Once a refusing condition is seen the sink is not called again; the
 * session discards what was stored. A failing sink (returns < 0) sets
 * F_SINK and gives 451 4.3.0; the sink's owner keeps errno if it wants a
 * finer reply (ENOSPC: 452 4.3.1).
 */
#ifndef SMTPD_DATA_H
#define SMTPD_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reply.h"

enum smtp_data_mode { SMTP_DATA_DOT, SMTP_DATA_BDAT };

/* options */
#define SMTP_DATA_NORMALISE 0x1u   /* bare LF -> line break, bare CR dropped */
#define SMTP_DATA_REFUSE_LONG 0x2u /* lines over SMTP_TEXT_LINE_MAX refuse the message */

/* what was seen (smtp_data.flags) */
#define SMTP_DATA_F_BARE_LF 0x01u
#define SMTP_DATA_F_BARE_CR 0x02u
#define SMTP_DATA_F_LONG 0x04u
#define SMTP_DATA_F_TOO_BIG 0x08u
#define SMTP_DATA_F_SINK 0x10u
#define SMTP_DATA_F_8BIT 0x20u

/* Receives output bytes; < 0 on failure. May be NULL in init: count only. */
typedef int (*smtp_data_sink)(void *arg, const char *buf, size_t len);

struct smtp_data {
	smtp_data_sink sink;
	void *arg;
	uint64_t max_size; /* 0: no limit */
	unsigned opts;
	enum smtp_data_mode mode;
	uint64_t size;   /* RFC 1870 size so far (saturating) */
	uint64_t stored; /* octets handed to the sink */
	uint64_t line;   /* octets of the current line so far */
	unsigned flags;  /* SMTP_DATA_F_* */
	int state;       /* private */
};

void smtp_data_init(struct smtp_data *d, enum smtp_data_mode mode, unsigned opts, uint64_t max_size,
                    smtp_data_sink sink, void *arg);

/*
 * Consumes BUF. DATA mode: returns the number of octets up to and including
 * the end marker's LF once it is seen (then smtp_data_done() is true), else
 * LEN. BDAT mode: always LEN. Returns 0 once done.
 */
size_t smtp_data_feed(struct smtp_data *d, const char *buf, size_t len);

/* BDAT LAST: a CR still pending is bare; the message is complete. */
void smtp_data_finish(struct smtp_data *d);

bool smtp_data_done(const struct smtp_data *d);

/*
 * The reply the complete message deserves: SMTP_R_NONE (deliver it),
 * SMTP_R_DATA_TOO_BIG, SMTP_R_DATA_BARE_LF, SMTP_R_DATA_BARE_CR,
 * SMTP_R_DATA_LONG_LINE, or SMTP_R_LOCAL_ERROR (the sink failed);
 * permanent reasons first, as a retry would fail again.
 */
enum smtp_rid smtp_data_result(const struct smtp_data *d);

#endif
