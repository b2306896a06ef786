/*
 * receive: the session's DATA and BDAT glue. Feeds buffered input to the pure
 * assembler (data.c), whose sink is the spool (maildir.c); at the end of the
 * message either refuses it (nothing stored is kept) or starts the durable
 * delivery and answers when it is done. One log line per message.
 *
 * DATA (RFC 5321 §4.1.1.4): bytes after the final CRLF.CRLF stay buffered for
 * the command reader (pipelined commands). BDAT (RFC 3030 §2): exactly the
 * announced octets are consumed, also when the chunk is refused, so chunk
 * contents are never read as commands. A failed chunk fails the transaction:
 * later chunks get the same reply until BDAT LAST or RSET ends it.
 *
 * Backpressure: the spool takes the data in batches written on the workq
 * (maildir.c). While one batch is being written and the next is full, the
 * session feeds nothing more (spool_wait) and stops reading the connection;
 * the write's completion resumes it (smtp_receive_resume). So a connection
 * holds at most two batches and TRIAD_CONN_READ_MAX of input.
 */
#include "session.h"
#include "conf.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "triad/log.h"

int smtp_receive_begin(struct smtp_session *s, enum smtp_data_mode mode)
{
	struct smtp_tx *tx = s->tx;
	char err[128];
	tx->dlv = smtp_maildir_open(s, err, sizeof(err));
	if (!tx->dlv) {
		int e = errno;
		log_msg(LOG_LEVEL_WARN, s->c->id, "id=%s cannot open the spool: %s", tx->id, err);
		return -(e ? e : EIO);
	}
	const struct smtpd_conf *conf = smtp_conf(s);
	unsigned opts = (conf->bare_lf == SMTPD_BARE_NORMALISE ? SMTP_DATA_NORMALISE : 0) |
	                (conf->long_lines == SMTPD_LONG_REFUSE ? SMTP_DATA_REFUSE_LONG : 0);
	smtp_data_init(&tx->data, mode, opts, conf->max_message_size, smtp_maildir_write, tx->dlv);
	return 0;
}


/* Buckets of triad_smtpd_delivery_seconds: a Maildir delivery is two fsyncs
 * and a rename per recipient, milliseconds on local disks, more on NFS. */
static const double delivery_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                         0.1,   0.25,   0.5,   1,    2.5,   5, 10};
static const char *const message_results[] = {"accepted", "refused"};

const struct metric_family smtp_metrics[SMTP_METRICS] = {
    [SMTP_METRIC_MESSAGES] = {"messages_total",
                              "Messages whose data was received, by the final reply (2xx: "
                              "accepted).",
                              METRIC_COUNTER, "result", message_results, 2, NULL, 0},
    [SMTP_METRIC_DELIVERY] = {"delivery_seconds",
                              "From the final dot (or BDAT LAST) to the 250 reply: the "
                              "Maildir delivery.",
                              METRIC_HISTOGRAM, NULL, NULL, 1, delivery_bounds,
                              sizeof(delivery_bounds) / sizeof(delivery_bounds[0])},
};

static void log_message(struct smtp_session *s, enum smtp_rid r)
{
	const struct smtp_tx *tx = s->tx;
	char from[96], to[400], dsn[200];
	log_escape(from, sizeof(from), tx->mail.path.addr, tx->mail.path.len);
	size_t o = 0;
	to[0] = '\0';
	for (size_t i = 0; i < tx->nrcpts && o + 8 < sizeof(to); i++) {
		if (tx->rcpts[i].extra)
			continue;
		char one[96];
		log_escape(one, sizeof(one), tx->rcpts[i].r.path.addr, tx->rcpts[i].r.path.len);
		int n = snprintf(to + o, sizeof(to) - o, "%s<%s>", i ? "," : "", one);
		if (n < 0 || (size_t)n >= sizeof(to) - o)
			break;
		o += (size_t)n;
	}
	/* DSN parameters (RFC 3461) are recorded here: triad delivers locally
	 * and sends no reports, so the log is where they are kept. */
	char envid[120] = "";
	if (tx->mail.has_envid)
		log_escape(envid, sizeof(envid), tx->mail.envid, strlen(tx->mail.envid));
	unsigned notify = 0;
	size_t norcpt = 0;
	for (size_t i = 0; i < tx->nrcpts; i++) {
		if (tx->rcpts[i].extra)
			continue;
		notify |= tx->rcpts[i].r.notify;
		norcpt += tx->rcpts[i].r.has_orcpt;
	}
	snprintf(dsn, sizeof(dsn), "ret=%s envid=\"%s\" notify=%s%s%s%s orcpt=%zu",
	         tx->mail.ret == SMTP_RET_FULL   ? "full"
	         : tx->mail.ret == SMTP_RET_HDRS ? "hdrs"
	                                         : "-",
	         envid, notify ? "" : "-", notify & SMTP_NOTIFY_NEVER ? "never" : "",
	         notify & SMTP_NOTIFY_SUCCESS ? "s" : "",
	         notify & (SMTP_NOTIFY_FAILURE | SMTP_NOTIFY_DELAY) ? "fd" : "", norcpt);
	const struct smtp_reply_def *d = smtp_reply_def(r == SMTP_R_NONE ? SMTP_R_QUEUED : r);
	metrics_add(s->c->worker, METRIC_COMMON + SMTP_METRIC_MESSAGES,
	            d->code / 100 == 2 ? SMTP_METRIC_ACCEPTED : SMTP_METRIC_REFUSED, 1);
	log_msg(LOG_LEVEL_INFO, s->c->id,
	        "message id=%s from=<%s> to=%s nrcpt=%zu size=%llu body=%s%s %s "
	        "result=%u %s",
	        tx->id, from, to, smtp_rcpt_count(tx), (unsigned long long)tx->data.size,
	        tx->mail.body == SMTP_BODY_8BITMIME ? "8bit" : "7bit",
	        tx->mail.smtputf8 ? " smtputf8" : "", dsn, d->code, d->status);
}

static void finish_tx(struct smtp_session *s)
{
	smtp_tx_free(s);
	smtp_set_state(s, SMTP_S_READY);
}

static void delivered(struct smtp_session *s, enum smtp_rid r)
{
	log_message(s, r);
	if (r == SMTP_R_QUEUED) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		metrics_observe(s->c->worker, METRIC_COMMON + SMTP_METRIC_DELIVERY, 0,
		                (double)(now.tv_sec - s->tx->dot.tv_sec) +
		                    (double)(now.tv_nsec - s->tx->dot.tv_nsec) / 1e9);
		s->messages++;
		s->error_run = 0; /* max_errors counts errors without delivering mail */
		s->tx->nexcused = 0;
		smtp_sendf(s, SMTP_R_QUEUED, "Message accepted for delivery: queued as %s",
		           s->tx->id);
	} else {
		smtp_send(s, r);
	}
	if (s->state == SMTP_S_CLOSING)
		return;
	finish_tx(s);
	if (s->shutting_down) {
		smtp_close(s, SMTP_R_SHUTDOWN, "shutdown");
		return;
	}
	smtp_process(s);
	if (s->peer_eof && !conn_is_closing(s->c)) {
		/* Half-closed during delivery: what it had pipelined (QUIT) is answered;
		 * nothing more can come. */
		s->result = "disconnect";
		smtp_set_state(s, SMTP_S_CLOSING);
		conn_close(s->c);
	}
}

/* The whole message is in: refuse it or deliver it. */
static void end_of_message(struct smtp_session *s)
{
	struct smtp_tx *tx = s->tx;
	enum smtp_rid r = smtp_data_result(&tx->data);
	/* A spool write may have failed after the sink last ran. */
	if ((r == SMTP_R_LOCAL_ERROR || r == SMTP_R_NONE) && smtp_maildir_errno(tx->dlv) != 0)
		r = smtp_reply_for_errno(smtp_maildir_errno(tx->dlv));
	if (r != SMTP_R_NONE) {
		log_message(s, r);
		smtp_send(s, r);
		if (s->state != SMTP_S_CLOSING)
			finish_tx(s);
		if (s->shutting_down)
			smtp_close(s, SMTP_R_SHUTDOWN, "shutdown");
		return;
	}
	smtp_set_state(s, SMTP_S_DELIVERING);
	clock_gettime(CLOCK_MONOTONIC, &tx->dot);
	if (smtp_maildir_commit(s, delivered) < 0) {
		/* The workq is full: try again later, nothing was delivered. */
		log_message(s, SMTP_R_LOCAL_ERROR);
		smtp_send(s, SMTP_R_LOCAL_ERROR);
		if (s->state != SMTP_S_CLOSING)
			finish_tx(s);
	}
}

/* One BDAT chunk has been read completely. */
static void chunk_end(struct smtp_session *s)
{
	struct smtp_tx *tx = s->tx;
	if (s->bdat_refuse != SMTP_R_NONE) {
		bool ends_tx = s->bdat_last && tx && tx->bdat;
		smtp_set_state(s, s->bdat_return);
		if (ends_tx && tx->failed != SMTP_R_NONE)
			log_message(s, tx->failed);
		smtp_send(s, s->bdat_refuse);
		if (ends_tx && s->state != SMTP_S_CLOSING)
			finish_tx(s);
		return;
	}
	/* Failures that need not wait for LAST (RFC 3030 §2: 552 for the chunk). */
	enum smtp_rid r = SMTP_R_NONE;
	if (tx->data.flags & SMTP_DATA_F_TOO_BIG)
		r = SMTP_R_DATA_TOO_BIG;
	else if ((tx->data.flags & SMTP_DATA_F_SINK) || smtp_maildir_errno(tx->dlv) != 0)
		r = smtp_reply_for_errno(smtp_maildir_errno(tx->dlv)); /* EDQUOT too */
	if (r == SMTP_R_NONE && s->bdat_last) {
		smtp_data_finish(&tx->data);
		end_of_message(s);
		return;
	}
	smtp_set_state(s, SMTP_S_RCPT);
	if (r != SMTP_R_NONE) {
		tx->failed = r;
		if (s->bdat_last) {
			log_message(s, r);
			smtp_send(s, r);
			if (s->state != SMTP_S_CLOSING)
				finish_tx(s);
			return;
		}
		smtp_send(s, r);
		return;
	}
	smtp_sendf(s, SMTP_R_BDAT_OK, "%llu octets received", (unsigned long long)tx->data.size);
}

void smtp_bdat_start(struct smtp_session *s, uint64_t size, bool last, enum smtp_rid refuse)
{
	s->bdat_left = size;
	s->bdat_last = last;
	s->bdat_return = s->state;
	if (refuse == SMTP_R_NONE && !s->tx->bdat) {
		int rc = smtp_receive_begin(s, SMTP_DATA_BDAT);
		if (rc < 0)
			refuse = s->tx->failed = smtp_reply_for_errno(rc);
	}
	if (s->tx && s->bdat_return == SMTP_S_RCPT)
		s->tx->bdat = true;
	s->bdat_refuse = refuse;
	smtp_set_state(s, SMTP_S_BDAT);
}

/* Whether the spool cannot take more now: then wait for its write, unread. */
static bool spool_full(struct smtp_session *s)
{
	if (!smtp_maildir_full(s->tx->dlv))
		return false;
	if (!s->spool_wait) {
		s->spool_wait = true;
		conn_pause_read(s->c);
	}
	return true;
}

void smtp_receive_resume(struct smtp_session *s)
{
	if (!s->spool_wait || smtp_maildir_full(s->tx->dlv))
		return;
	s->spool_wait = false;
	if (!s->peer_eof)
		conn_resume_read(s->c);
	smtp_process(s);
	if (s->peer_eof && !conn_is_closing(s->c) && !s->spool_wait &&
	    s->state != SMTP_S_DELIVERING) {
		/* It half-closed while its input waited for the spool: what it sent
		 * has been answered, and nothing more can come. */
		s->result = s->state == SMTP_S_DATA || s->state == SMTP_S_BDAT
		                ? "disconnect-in-data"
		                : "disconnect";
		smtp_set_state(s, SMTP_S_CLOSING);
		conn_close(s->c);
	}
}

bool smtp_receive_input(struct smtp_session *s)
{
	struct smtp_tx *tx = s->tx;
	if (s->state == SMTP_S_BDAT) {
		while (s->bdat_left > 0 && conn_in_len(s->c) > 0) {
			if (s->bdat_refuse == SMTP_R_NONE && spool_full(s))
				return false;
			size_t avail;
			const char *p = conn_in_chunk(s->c, &avail);
			if (!p)
				break;
			size_t n = avail < s->bdat_left ? avail : (size_t)s->bdat_left;
			if (n > SMTP_FEED_MAX)
				n = SMTP_FEED_MAX;
			if (s->bdat_refuse == SMTP_R_NONE)
				smtp_data_feed(&tx->data, p, n);
			conn_in_consume(s->c, n);
			s->c->bytes_in += n;
			s->bdat_left -= n;
		}
		if (s->bdat_left > 0)
			return false;
		chunk_end(s);
		return true;
	}
	while (conn_in_len(s->c) > 0) {
		if (spool_full(s))
			return false;
		size_t avail;
		const char *p = conn_in_chunk(s->c, &avail);
		if (!p)
			break;
		size_t n = smtp_data_feed(&tx->data, p, avail < SMTP_FEED_MAX ? avail : SMTP_FEED_MAX);
		conn_in_consume(s->c, n);
		s->c->bytes_in += n;
		if (smtp_data_done(&tx->data)) {
			end_of_message(s);
			return true;
		}
	}
	return false;
}
