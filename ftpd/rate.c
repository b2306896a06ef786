/*
 * rate: data_min_rate. data_timeout is reset by every byte, so a client
 * trickling one byte per period would hold a transfer for ever; each period
 * must also move data_min_rate bytes per second (RFC 959 sets no rate; this
 * bounds what a stalled or hostile client holds). See xfer.h.
 */
#include "xfer.h"

#include "triad/duration.h"
#include "triad/log.h"

/* Bytes a transfer really moved: a download's queued bytes count once sent. */
static uint64_t xfer_moved(struct ftp_session *s, struct ftp_transfer *x)
{
	if (x->kind == FTP_XFER_STOR || !s->data)
		return x->bytes;
	size_t pending = conn_output_pending(s->data);
	return pending < x->bytes ? x->bytes - pending : 0;
}

/* data_min_rate: data_timeout is reset by every byte, so a client trickling
 * one byte per period would hold a transfer for ever; each period must also
 * move data_min_rate bytes per second (RFC 959 sets no rate; this bounds
 * what a stalled or hostile client holds). */
static void rate_check(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct ftp_session *s = arg;
	struct ftp_transfer *x = s->xfer;
	if (!x || x->committing)
		return;
	uint64_t moved = xfer_moved(s, x), need = s->cf->data_min_rate * s->cf->data_timeout / 1000;
	if (moved - x->rate_mark < need) {
		log_msg(LOG_LEVEL_INFO, s->c->id,
		        "transfer too slow: %llu bytes in %llu ms, data_min_rate %llu/s",
		        (unsigned long long)(moved - x->rate_mark),
		        (unsigned long long)s->cf->data_timeout,
		        (unsigned long long)s->cf->data_min_rate);
		ftp_xfer_fail(s, 426, "Transfer too slow (data_min_rate); transfer aborted");
		return;
	}
	x->rate_mark = moved;
}

void ftp_rate_start(struct ftp_session *s, struct ftp_transfer *x)
{
	if (!s->cf->data_min_rate)
		return;
	struct timeval tv = duration_tv(s->cf->data_timeout);
	x->rate_ev = event_new(s->c->base, -1, EV_PERSIST, rate_check, s);
	if (x->rate_ev)
		event_add(x->rate_ev, &tv);
}
