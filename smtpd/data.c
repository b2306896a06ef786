/*
 * data: the DATA / BDAT assembler (rules in data.h). A byte-level state
 * machine; output is emitted as runs of the input between the bytes it
 * drops (the CR of CRLF, stuffing dots, the end marker, bare CRs when
 * normalising), so the common case copies nothing.
 */
#include "data.h"

#include "triad/limits.h"

enum state {
	S_BOL,    /* DATA: at the start of a line */
	S_TEXT,   /* inside a line */
	S_CR,     /* a CR seen, its LF not yet */
	S_DOT,    /* DATA: a line began with '.' */
	S_DOT_CR, /* DATA: "." CR at the start of a line */
	S_DONE,
};

void smtp_data_init(struct smtp_data *d, enum smtp_data_mode mode, unsigned opts, uint64_t max_size,
                    smtp_data_sink sink, void *arg)
{
	*d = (struct smtp_data){
	    .sink = sink,
	    .arg = arg,
	    .max_size = max_size,
	    .opts = opts,
	    .mode = mode,
	    .state = mode == SMTP_DATA_DOT ? S_BOL : S_TEXT,
	};
}

static bool refused(const struct smtp_data *d)
{
	unsigned f = d->flags & (SMTP_DATA_F_TOO_BIG | SMTP_DATA_F_SINK);

	if (!(d->opts & SMTP_DATA_NORMALISE))
		f |= d->flags & (SMTP_DATA_F_BARE_LF | SMTP_DATA_F_BARE_CR);
	if (d->opts & SMTP_DATA_REFUSE_LONG)
		f |= d->flags & SMTP_DATA_F_LONG;
	return f != 0;
}

static void emit(struct smtp_data *d, const char *p, size_t n)
{
	if (n == 0 || refused(d) || d->sink == NULL)
		return;
	if (d->sink(d->arg, p, n) < 0) {
		d->flags |= SMTP_DATA_F_SINK;
		return;
	}
	d->stored += n;
}

/* Adds N octets to the RFC 1870 size. */
static void count(struct smtp_data *d, uint64_t n)
{
	d->size = d->size > UINT64_MAX - n ? UINT64_MAX : d->size + n;
	if (d->max_size != 0 && d->size > d->max_size)
		d->flags |= SMTP_DATA_F_TOO_BIG;
}

/* N more octets on the current line (the CRLF not counted). */
static void extend_line(struct smtp_data *d, uint64_t n)
{
	d->line += n;
	if (d->line > SMTP_TEXT_LINE_MAX - 2)
		d->flags |= SMTP_DATA_F_LONG;
}

static void bare_cr(struct smtp_data *d)
{
	/* Dropped from the output either way: normalised away or refused. */
	count(d, 1);
	d->flags |= SMTP_DATA_F_BARE_CR;
}

size_t smtp_data_feed(struct smtp_data *d, const char *buf, size_t len)
{
	size_t i = 0, run = 0; /* buf[run..i) is output not yet emitted */
	const enum state bol = d->mode == SMTP_DATA_DOT ? S_BOL : S_TEXT;

	while (i < len && d->state != S_DONE) {
		unsigned char c = (unsigned char)buf[i];

		switch (d->state) {
		case S_BOL:
			if (c == '.') {
				emit(d, buf + run, i - run);
				run = ++i;
				d->state = S_DOT;
			} else {
				d->state = S_TEXT;
			}
			break;

		case S_TEXT: {
			size_t j = i;
			unsigned char high = 0;
			while (j < len && buf[j] != '\r' && buf[j] != '\n')
				high |= (unsigned char)buf[j++];
			if (high & 0x80)
				d->flags |= SMTP_DATA_F_8BIT;
			count(d, j - i);
			extend_line(d, j - i);
			i = j;
			if (i == len)
				break;
			if (buf[i] == '\r') {
				emit(d, buf + run, i - run);
				run = ++i;
				d->state = S_CR;
			} else {
				/* A bare LF: kept as a line break when normalising, never a new
				 * SMTP line. */
				count(d, 1);
				d->flags |= SMTP_DATA_F_BARE_LF;
				d->line = 0;
				i++;
			}
			break;
		}

		case S_CR:
			if (c == '\n') {
				/* CRLF: the LF (already in the run) is the Maildir line end. */
				count(d, 2);
				d->line = 0;
				i++;
				d->state = bol;
			} else {
				bare_cr(d);
				d->state = S_TEXT;
			}
			break;

		case S_DOT:
			if (c == '\r') {
				run = ++i;
				d->state = S_DOT_CR;
			} else {
				d->state = S_TEXT; /* the stuffing dot stays dropped */
			}
			break;

		case S_DOT_CR:
			if (c == '\n') {
				run = ++i;
				d->state = S_DONE;
			} else {
				bare_cr(d);
				d->state = S_TEXT;
			}
			break;
		}
	}
	emit(d, buf + run, i - run);
	return i;
}

void smtp_data_finish(struct smtp_data *d)
{
	if (d->state == S_CR || d->state == S_DOT_CR)
		bare_cr(d);
	d->state = S_DONE;
}

bool smtp_data_done(const struct smtp_data *d)
{
	return d->state == S_DONE;
}

enum smtp_rid smtp_data_result(const struct smtp_data *d)
{
	if (d->flags & SMTP_DATA_F_TOO_BIG)
		return SMTP_R_DATA_TOO_BIG;
	if (!(d->opts & SMTP_DATA_NORMALISE)) {
		if (d->flags & SMTP_DATA_F_BARE_LF)
			return SMTP_R_DATA_BARE_LF;
		if (d->flags & SMTP_DATA_F_BARE_CR)
			return SMTP_R_DATA_BARE_CR;
	}
	if ((d->opts & SMTP_DATA_REFUSE_LONG) && (d->flags & SMTP_DATA_F_LONG))
		return SMTP_R_DATA_LONG_LINE;
	if (d->flags & SMTP_DATA_F_SINK)
		return SMTP_R_LOCAL_ERROR;
	return SMTP_R_NONE;
}
