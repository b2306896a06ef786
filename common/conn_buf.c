/*
 * conn_buf: the protocol-facing byte API of struct conn (the block in
 * triad/conn.h). It works only through conn_input() / conn_output(), the
 * conn's own buffers, so conn.c can drive the socket and TLS however it
 * likes underneath; protocol code calls these and never the buffer library.
 *
 * Files: a conn_file wraps the descriptor and, from the first range sent
 * with sendfile, a file segment of the buffer library that holds it. The
 * segment is reference-counted by the ranges queued from it, so the
 * descriptor lives until the last of them has left (EVBUF_FS_CLOSE_ON_FREE).
 */
#include "conn_private.h"
#include "triad/iobuf.h"
#include "triad/limits.h"
#include "iobuf_private.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>
#include <event2/buffer.h>

size_t conn_in_len(struct conn *c)
{
	return evbuffer_get_length(conn_input(c));
}

const char *conn_in_peek(struct conn *c, size_t n)
{
	struct evbuffer *in = conn_input(c);
	if (n > evbuffer_get_length(in) || n > (size_t)EV_SSIZE_MAX)
		return NULL;
	if (n == 0) {
		/* Zero bytes are always there, even in an empty buffer; otherwise
		 * evbuffer_pullup(0) answers NULL, so pull one byte up. */
		if (evbuffer_get_length(in) == 0)
			return "";
		n = 1;
	}
	return (const char *)evbuffer_pullup(in, (ev_ssize_t)n);
}

const char *conn_in_chunk(struct conn *c, size_t *len)
{
	struct evbuffer_iovec v;
	if (evbuffer_peek(conn_input(c), -1, NULL, &v, 1) < 1 || v.iov_len == 0) {
		*len = 0;
		return NULL;
	}
	*len = v.iov_len;
	return v.iov_base;
}

size_t conn_in_copy(struct conn *c, void *dst, size_t n)
{
	ev_ssize_t got = evbuffer_copyout(conn_input(c), dst, n);
	return got < 0 ? 0 : (size_t)got;
}

size_t conn_in_consume(struct conn *c, size_t n)
{
	struct evbuffer *in = conn_input(c);
	size_t have = evbuffer_get_length(in);
	if (n > have)
		n = have;
	evbuffer_drain(in, n);
	return n;
}

ssize_t conn_in_find(struct conn *c, const void *needle, size_t nlen, size_t max)
{
	struct evbuffer *in = conn_input(c);
	size_t have = evbuffer_get_length(in);
	if (max > have)
		max = have;
	if (nlen == 0 || nlen > max)
		return -1;
	/* evbuffer_search_range: a match must end at or before END. */
	struct evbuffer_ptr end;
	if (evbuffer_ptr_set(in, &end, max, EVBUFFER_PTR_SET) < 0)
		return -1;
	struct evbuffer_ptr p = evbuffer_search_range(in, needle, nlen, NULL, &end);
	return p.pos < 0 ? -1 : (ssize_t)p.pos;
}

size_t conn_in_read(struct conn *c, void *dst, size_t max)
{
	int n = evbuffer_remove(conn_input(c), dst, max);
	return n < 0 ? 0 : (size_t)n;
}

ssize_t conn_in_to_fd(struct conn *c, int fd, size_t max)
{
	struct evbuffer *in = conn_input(c);
	size_t done = 0;
	while (done < max && evbuffer_get_length(in) > 0) {
		size_t want = max - done;
		if (want > (size_t)EV_SSIZE_MAX)
			want = (size_t)EV_SSIZE_MAX;
		int w = evbuffer_write_atmost(in, fd, (ev_ssize_t)want);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (w == 0)
			return -EIO;
		done += (size_t)w;
	}
	return (ssize_t)done;
}

ssize_t conn_in_move(struct conn *from, struct conn *to, size_t max)
{
	if (!conn_output_open(to))
		return -1;
	if (max > INT_MAX)
		max = INT_MAX; /* evbuffer_remove_buffer counts in an int */
	int n = evbuffer_remove_buffer(conn_input(from), conn_output(to), max);
	return n < 0 ? -1 : n;
}

char *conn_out_reserve(struct conn *c, size_t n)
{
	struct evbuffer_iovec v;
	if (!conn_output_open(c) || n > (size_t)EV_SSIZE_MAX ||
	    evbuffer_reserve_space(conn_output(c), (ev_ssize_t)(n ? n : 1), &v, 1) < 1)
		return NULL;
	return v.iov_base;
}

int conn_out_commit(struct conn *c, char *p, size_t used)
{
	if (!conn_output_open(c))
		return -1;
	/* evbuffer_commit_space finds the reserved chain from its start address. */
	struct evbuffer_iovec v = {.iov_base = p, .iov_len = used};
	return evbuffer_commit_space(conn_output(c), &v, 1) == 0 ? 0 : -1;
}

int conn_write_ref(struct conn *c, const void *data, size_t len, conn_ref_done *done, void *arg)
{
	if (!conn_output_open(c))
		return -1;
	return evbuffer_add_reference(conn_output(c), data, len, done, arg) == 0 ? 0 : -1;
}

int conn_write_iobuf(struct conn *c, struct iobuf *b)
{
	if (!conn_output_open(c))
		return -1;
	return evbuffer_add_buffer(conn_output(c), b->buf) < 0 ? -1 : 0;
}

/* ---- files ------------------------------------------------------------------ */

struct conn_file {
	int fd;
	uint64_t size;
	struct evbuffer_file_segment *seg; /* owns fd once made */
};

struct conn_file *conn_file_new(int fd, uint64_t size)
{
	struct conn_file *f = malloc(sizeof(*f));
	if (!f)
		return NULL;
	f->fd = fd;
	f->size = size;
	f->seg = NULL;
	return f;
}

void conn_file_free(struct conn_file *f)
{
	if (!f)
		return;
	if (f->seg)
		evbuffer_file_segment_free(f->seg); /* closes fd with its last queued range */
	else
		close(f->fd);
	free(f);
}

/* Copies LEN bytes at OFF of F into OUT, read straight into the output's
 * own memory (reserve, pread, commit): one copy, from the page cache. */
static bool copy_range(struct evbuffer *out, struct conn_file *f, uint64_t off, size_t len)
{
	struct evbuffer_iovec v;
	if (evbuffer_reserve_space(out, (ev_ssize_t)len, &v, 1) < 1)
		return false;
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(f->fd, (char *)v.iov_base + got, len - got, (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false; /* truncated under us: the promised length cannot hold */
		got += (size_t)n;
	}
	v.iov_len = len;
	return evbuffer_commit_space(out, &v, 1) == 0;
}

int64_t conn_write_file(struct conn *c, struct conn_file *f, uint64_t off, uint64_t len)
{
	if (!conn_output_open(c) || off > f->size || len > f->size - off)
		return -1;
	struct evbuffer *out = conn_output(c);
	bool plain = !conn_is_tls(c);
	if (plain && len > TRIAD_CONN_FILE_COPY_MAX) {
		if (!f->seg) {
			f->seg = evbuffer_file_segment_new(f->fd, 0, (ev_off_t)f->size,
			                                   EVBUF_FS_CLOSE_ON_FREE);
			if (!f->seg)
				return -1;
		}
		size_t head = evbuffer_get_length(out);
		if (evbuffer_add_file_segment(out, f->seg, (ev_off_t)off, (ev_off_t)len) < 0)
			return -1;
		conn_file_queued(c, head);
		return (int64_t)len;
	}
	uint64_t done = 0;
	while (done < len) {
		/* Plain: a small range goes whole; TLS: as much as the output takes. */
		if (!plain && conn_output_full(c))
			break;
		size_t n = len - done < TRIAD_CONN_FILE_CHUNK ? (size_t)(len - done)
		                                               : TRIAD_CONN_FILE_CHUNK;
		if (!copy_range(out, f, off + done, n))
			return -1;
		done += n;
	}
	return (int64_t)done;
}
