/*
 * xfer: the transfer engine (RFC 959 §3.2-3.3). A transfer is created by
 * its command (retr.c, upload.c, listing.c), waits for its data connection
 * (dataconn.c), answers 150 when it has one (and its TLS handshake resumed
 * the control session, as vsftpd requires, so that a stranger cannot take
 * the data connection with a fresh handshake), streams, and ends with one
 * final reply and one log line. Downloads and listings are filled in here as
 * the output drains; uploads are received by upload.c. See xfer.h.
 */
#include "xfer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reply.h"
#include "triad/log.h"
#include "triad/tbuf.h"
#include "triad/workq.h"

static const char *user_name(const struct ftp_session *s)
{
	return s->user[0] ? s->user : "-";
}

/* ---- the end of a transfer ------------------------------------------------ */

static void log_transfer(struct ftp_session *s, struct ftp_transfer *x, bool ok)
{
	if (x->kind == FTP_XFER_LIST || !x->started)
		return;
	if (ok)
		metrics_add(s->c->worker, METRIC_COMMON + FTP_METRIC_TRANSFERS,
		            x->kind == FTP_XFER_RETR ? FTP_METRIC_DOWNLOAD : FTP_METRIC_UPLOAD, 1);
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double secs = x->streaming ? (double)(now.tv_sec - x->t0.tv_sec) +
	                                 (double)(now.tv_nsec - x->t0.tv_nsec) / 1e9
	                           : 0.0;
	uint64_t bytes = x->bytes;
	if (x->kind == FTP_XFER_RETR && s->data && !ok) {
		size_t pending = conn_output_pending(s->data);
		bytes = pending < bytes ? bytes - pending : 0;
	}
	char user[TRIAD_AUTH_FIELD_MAX * 4 + 8], path[TRIAD_PATH_MAX * 4 + 8];
	log_escape(user, sizeof(user), user_name(s), strlen(user_name(s)));
	log_escape(path, sizeof(path), x->path.path, x->path.len);
	log_msg(LOG_LEVEL_INFO, s->c->id,
	        "transfer user=\"%s\" ip=%s dir=%s cmd=%s bytes=%llu secs=%.3f "
	        "type=%s tls=%s path=\"%s\" result=%s site=%s",
	        user, conn_peer_ip(s->c).s, x->kind == FTP_XFER_RETR ? "out" : "in",
	        ftp_cmd_info(x->verb)->name, (unsigned long long)bytes, secs, x->ascii ? "A" : "I",
	        x->tls ? "yes" : "no", path, ok ? "complete" : "aborted", s->site ? s->site : "-");
}

static void close_run(void *arg)
{
	close((int)(intptr_t)arg);
}

void ftp_close_later(struct ftp_session *s, int fd)
{
	if (fd < 0)
		return;
	// NOLINTNEXTLINE(performance-no-int-to-ptr): the fd rides as a cookie, never dereferenced
	if (workq_submit(s->c->base, close_run, NULL, (void *)(intptr_t)fd) < 0)
		close(fd);
}

void ftp_xfer_free(struct ftp_session *s, struct ftp_transfer *x)
{
	if (x->rate_ev)
		event_free(x->rate_ev);
	if (x->fd >= 0)
		close(x->fd);
	if (x->have_tmp) {
		/* Unlinked here while our fd keeps the inode: only the name goes;
		 * the blocks are freed by the last close, on the workq. */
		int fd = x->tmp.fd;
		x->tmp.fd = -1;
		fsroot_temp_abort(&x->tmp);
		ftp_close_later(s, fd);
	}
	if (x->dir)
		closedir(x->dir);
	free(x);
}

/* Ends the transfer: logs it, releases it, closes the data connection and
 * sends the final reply. The caller resumes the session. */
void ftp_xfer_end(struct ftp_session *s, bool ok, int code, const char *text)
{
	struct ftp_transfer *x = s->xfer;
	if (x) {
		log_transfer(s, x, ok);
		s->xfer = NULL;
		ftp_xfer_free(s, x);
	}
	ftp_dataconn_close(s, ok);
	ftp_reply(s, code, "%s", text);
}

void ftp_xfer_fail(struct ftp_session *s, int code, const char *text)
{
	ftp_xfer_end(s, false, code, text);
	ftp_resume(s);
}

void ftp_xfer_fail_errno(struct ftp_session *s, int err)
{
	const char *text;
	int code = ftp_reply_errno(err, &text);
	/* A transfer that began is answered with a 4xx/5xx after its 150 either way. */
	ftp_xfer_fail(s, code, text);
}

void ftp_data_reset(struct ftp_session *s)
{
	bool received = false;
	if (s->commit) {
		/* Runs on: a commit still renames the complete upload, a prefix copy
		 * only writes into the temp file that ftp_xfer_free unlinks. */
		received = !s->commit->prefix;
		s->commit->s = NULL;
		s->commit = NULL;
	}
	if (s->xfer) {
		/* A received upload whose rename is under way counts as complete
		 * (commit_done logs it should the rename fail). */
		log_transfer(s, s->xfer, received);
		ftp_xfer_free(s, s->xfer);
		s->xfer = NULL;
	}
	ftp_dataconn_close(s, false);
}

bool ftp_data_drop_unstarted(struct ftp_session *s)
{
	if (!s->xfer || s->xfer->started || s->commit)
		return false;
	ftp_xfer_end(s, false, 425, "Cannot open data connection: none arrived");
	return true;
}

void ftp_data_free(struct ftp_session *s)
{
	if (s->commit)
		s->commit->s = NULL; /* the upload completed: the job still renames it */
	s->commit = NULL;
	if (s->accept_timer)
		event_free(s->accept_timer);
	s->accept_timer = NULL;
}

void ftp_data_status(struct ftp_session *s, char *buf, size_t len)
{
	struct ftp_transfer *x = s->xfer;
	buf[0] = '\0';
	if (!x)
		return;
	uint64_t bytes = x->bytes;
	if (x->kind == FTP_XFER_RETR && s->data) {
		size_t pending = conn_output_pending(s->data);
		bytes = pending < bytes ? bytes - pending : 0;
	}
	snprintf(buf, len, "Transfer in progress: %s %s, %llu bytes", ftp_cmd_info(x->verb)->name,
	         x->path.path, (unsigned long long)bytes);
}

/* ---- downloads and listings ----------------------------------------------- */

static void check_flushed(struct ftp_session *s)
{
	if (s->data && conn_output_pending(s->data) == 0) {
		ftp_xfer_end(s, true, 226, "Transfer complete");
		ftp_resume(s);
	}
}

/* Per-thread scratch for fill() (tbuf.h: static _Thread_local arrays would
 * make 192 KiB resident in every thread of ftpd, used or not). */
static struct tbuf fill_buf = TBUF_INIT(FTP_DATA_CHUNK);
static struct tbuf fill_conv = TBUF_INIT(2 * FTP_DATA_CHUNK);

/* Queues output until the connection is full or the source ends. */
static void fill(struct ftp_session *s)
{
	struct ftp_transfer *x = s->xfer;
	struct conn *d = s->data;
	char *buf = tbuf_get(&fill_buf);
	char *conv = x->ascii ? tbuf_get(&fill_conv) : NULL;
	if (!buf || (x->ascii && !conv)) {
		ftp_xfer_fail(s, 451, "Local error: out of memory");
		return;
	}
	while (!x->flushing && !conn_output_full(d)) {
		if (x->kind == FTP_XFER_LIST) {
			ssize_t n = ftp_listing_next(s, x, buf, FTP_LIST_LINE_MAX);
			if (n <= 0) {
				x->flushing = true;
				break;
			}
			conn_write(d, buf, (size_t)n);
			x->bytes += (uint64_t)n;
			continue;
		}
		size_t want = FTP_DATA_CHUNK;
		if (x->end - x->offset < want)
			want = (size_t)(x->end - x->offset);
		if (want == 0) {
			x->flushing = true;
			break;
		}
		ssize_t n = pread(x->fd, buf, want, (off_t)x->offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ftp_xfer_fail_errno(s, errno);
			return;
		}
		if (n == 0) { /* the file shrank under us: send what there is */
			x->flushing = true;
			break;
		}
		x->offset += (uint64_t)n;
		if (x->ascii) {
			size_t out = ftp_ascii_to_crlf(&x->conv, buf, (size_t)n, conv);
			conn_write(d, conv, out);
			x->bytes += out;
		} else {
			conn_write(d, buf, (size_t)n);
			x->bytes += (uint64_t)n;
		}
	}
	if (x->flushing) {
		/* on_drain only at an empty output from now on: that is "sent". */
		conn_set_write_low(d, 0);
		check_flushed(s);
	}
}

static void stream_start(struct ftp_session *s)
{
	struct ftp_transfer *x = s->xfer;
	struct conn *d = s->data;
	x->streaming = true;
	x->tls = conn_is_tls(d);
	clock_gettime(CLOCK_MONOTONIC, &x->t0);
	ftp_rate_start(s, x);
	uint64_t t = s->cf->data_timeout;
	if (x->kind == FTP_XFER_STOR) {
		conn_set_timeouts(d, t, t);
		conn_set_read_max(d, FTP_UPLOAD_READ_MAX);
		conn_resume_read(d);
		ftp_upload_read(s, d);
		return;
	}
	conn_set_timeouts(d, 0, t); /* the client sends nothing while it receives */
	if (x->kind == FTP_XFER_RETR && !x->ascii && !conn_is_tls(d) && x->end > x->offset) {
		/* Plain binary: the whole range queued at once (sendfile, or one copy
		 * when small); the rest of the way is the conn's. */
		struct conn_file *f = conn_file_new(x->fd, x->end);
		if (f) {
			x->fd = -1; /* f's now: closed once the range has been sent */
			int64_t rc = conn_write_file(d, f, x->offset, x->end - x->offset);
			conn_file_free(f);
			if (rc < 0) {
				ftp_xfer_fail(s, 451, "Local error: cannot queue the file");
				return;
			}
			d->bytes_out += x->end - x->offset;
			x->bytes = x->end - x->offset;
			x->offset = x->end;
			x->flushing = true;
		}
	}
	fill(s);
}

/* The data connection is there (and its TLS handshake done, if any). */
static void data_ready(struct ftp_session *s)
{
	struct ftp_transfer *x = s->xfer;
	struct conn *d = s->data;
	ftp_dataconn_accept_stop(s);
	if (!x->started) {
		x->started = true;
		switch (x->kind) {
		case FTP_XFER_RETR:
			ftp_reply(s, 150, "Opening %s mode data connection for %s (%llu bytes)",
			          x->ascii ? "ASCII" : "BINARY", x->path.path,
			          (unsigned long long)(x->end - x->offset));
			break;
		case FTP_XFER_STOR:
			if (x->verb == FTP_VERB_STOU)
				ftp_reply(s, 150, "FILE: %s", x->path.path); /* RFC 1123 §4.1.2.9 */
			else
				ftp_reply(s, 150, "Ok to send data");
			break;
		case FTP_XFER_LIST:
			ftp_reply(s, 150, "Here comes the directory listing");
			break;
		}
	}
	if (conn_is_tls(d)) {
		if (!s->data_tls_done)
			return; /* data_tls continues */
		if (!s->data_tls_ok) {
			ftp_xfer_fail(s, 522,
			              "Data connections must resume the TLS session of the control "
			              "connection");
			return;
		}
	}
	stream_start(s);
}

/* ---- the data conn's callbacks --------------------------------------------- */

static void data_read(struct conn *d)
{
	struct ftp_session *s = d->proto;
	if (!s)
		return;
	struct ftp_transfer *x = s->xfer;
	if (x && x->streaming && x->kind == FTP_XFER_STOR) {
		ftp_upload_read(s, d);
		return;
	}
	if (x && x->streaming) /* a client talking while it receives: ignored */
		conn_in_consume(d, SIZE_MAX);
	/* otherwise: kept until a STOR streams it (backpressure holds the rest) */
}

static void data_drain(struct conn *d)
{
	struct ftp_session *s = d->proto;
	if (!s || !s->xfer || !s->xfer->streaming || s->xfer->kind == FTP_XFER_STOR)
		return;
	if (s->xfer->flushing)
		check_flushed(s);
	else
		fill(s);
}

static void data_timeout(struct conn *d, bool writing)
{
	(void)writing;
	struct ftp_session *s = d->proto;
	if (!s) {
		conn_abort(d);
		return;
	}
	if (s->xfer && !s->xfer->committing) {
		ftp_xfer_fail(s, 426, "Data connection timed out; transfer aborted");
		return;
	}
	/* an unused data connection went idle */
	d->proto = NULL;
	if (s->data == d)
		s->data = NULL;
	conn_abort(d);
}

static void data_eof(struct conn *d, bool error)
{
	struct ftp_session *s = d->proto;
	if (!s)
		return;
	struct ftp_transfer *x = s->xfer;
	if (x && x->streaming && x->kind == FTP_XFER_STOR && !x->committing) {
		ftp_upload_read(s, d);
		if (s->xfer != x)
			return; /* failed while writing */
		d->proto = NULL;
		s->data = NULL;
		if (error) {
			/* A reset, or TLS without close_notify: maybe truncated. */
			ftp_xfer_fail(s, 426, "Connection closed; transfer aborted");
			return;
		}
		ftp_upload_complete(s);
		return;
	}
	d->proto = NULL;
	s->data = NULL;
	if (x && x->started && !x->committing)
		ftp_xfer_fail(s, 426, "Connection closed; transfer aborted");
}

static void data_tls(struct conn *d, bool ok)
{
	struct ftp_session *s = d->proto;
	if (!s)
		return;
	bool resumed = conn_tls_resumed(d);
	s->data_tls_done = true;
	s->data_tls_ok = ok && (resumed || !s->cf->tls_session_reuse);
	if (!ok)
		log_msg(LOG_LEVEL_INFO, s->c->id, "data connection TLS handshake failed");
	else if (!s->data_tls_ok)
		log_msg(LOG_LEVEL_INFO, s->c->id,
		        "data connection refused: TLS session not resumed");
	if (!ok) {
		/* The conn is freed right after this callback. */
		d->proto = NULL;
		s->data = NULL;
		if (s->xfer && s->xfer->started)
			ftp_xfer_fail(s, 425, "TLS handshake on the data connection failed");
		return;
	}
	if (s->xfer && s->xfer->started)
		data_ready(s);
}

static void data_shutdown(struct conn *d)
{
	(void)d; /* the control connection decides (it finishes the transfer) */
}

static void data_free(struct conn *d)
{
	struct ftp_session *s = d->proto;
	if (s && s->data == d)
		s->data = NULL;
	d->proto = NULL;
}

static const struct conn_ops data_ops = {
    .on_read = data_read,
    .on_drain = data_drain,
    .on_timeout = data_timeout,
    .on_eof = data_eof,
    .on_tls = data_tls,
    .on_shutdown = data_shutdown,
    .on_free = data_free,
};

void ftp_xfer_attach(struct ftp_session *s, int fd, const struct sockaddr *peer, socklen_t len)
{
	SSL_CTX *ctx = s->prot_p ? s->tls_ctx : NULL;
	struct conn *d = conn_new(s->c->worker, fd, peer, len, ctx, false);
	if (!d) {
		if (s->xfer)
			ftp_xfer_fail(s, 425, "Cannot open data connection");
		return;
	}
	/* It resumes the control session: a ticket here is never used, and one the
	 * client leaves unread makes its close a reset that can cut an upload. */
	conn_tls_set_tickets(d, 0);
	if (s->data) { /* a second one replaces the first */
		s->data->proto = NULL;
		conn_abort(s->data);
	}
	d->proto = s;
	d->ops = &data_ops;
	s->data = d;
	s->data_tls_done = s->data_tls_ok = false;
	conn_set_timeouts(d, s->cf->data_timeout, s->cf->data_timeout);
	if (s->xfer && !s->commit) /* not while the old content is still being copied */
		data_ready(s);
}

/* ---- a transfer's start ------------------------------------------------------ */

struct ftp_transfer *ftp_xfer_new(struct ftp_session *s, enum ftp_xfer_kind kind,
                                  struct ftp_command *cmd)
{
	if (s->dmode == FTP_DATA_NONE && !s->data) {
		ftp_reply(s, 425, "Use PORT, PASV, EPRT or EPSV first");
		return NULL;
	}
	struct ftp_transfer *x = calloc(1, sizeof(*x));
	if (!x) {
		ftp_reply(s, 451, "Local error: out of memory");
		return NULL;
	}
	x->kind = kind;
	x->verb = cmd->verb;
	x->fd = -1;
	x->ascii = s->type == FTP_TYPE_ASCII && kind != FTP_XFER_LIST;
	return x;
}

/* Starts X: waits for, or makes, the data connection. */
void ftp_xfer_go(struct ftp_session *s, struct ftp_transfer *x)
{
	s->xfer = x;
	s->rest = 0;
	if (s->data) {
		data_ready(s);
		return;
	}
	ftp_dataconn_open(s);
}
