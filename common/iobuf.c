/*
 * iobuf: a bounded, opaque byte buffer (see triad/iobuf.h), an evbuffer
 * inside so that conn_write_iobuf() hands its chains to a conn's output
 * without copying them.
 */
#include "iobuf_private.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct iobuf *iobuf_new(size_t max)
{
	struct iobuf *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	if (!(b->buf = evbuffer_new())) {
		free(b);
		return NULL;
	}
	b->max = max;
	return b;
}

void iobuf_free(struct iobuf *b)
{
	if (!b)
		return;
	evbuffer_free(b->buf);
	free(b);
}

int iobuf_add(struct iobuf *b, const void *data, size_t len)
{
	size_t have = evbuffer_get_length(b->buf);
	if (len > b->max - have || evbuffer_add(b->buf, data, len) < 0) {
		b->overflowed = true;
		return -1;
	}
	return 0;
}

int iobuf_add_str(struct iobuf *b, const char *s)
{
	return iobuf_add(b, s, strlen(s));
}

int iobuf_printf(struct iobuf *b, const char *fmt, ...)
{
	/* Formatted once into the stack in the common case; the bound is checked
	 * before anything reaches the buffer, so a refused add leaves no tail. */
	char small[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->overflowed = true;
		return -1;
	}
	if ((size_t)n < sizeof(small))
		return iobuf_add(b, small, (size_t)n);
	if ((size_t)n > b->max - evbuffer_get_length(b->buf)) {
		b->overflowed = true;
		return -1;
	}
	char *big = malloc((size_t)n + 1);
	if (!big) {
		b->overflowed = true;
		return -1;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	int rc = iobuf_add(b, big, (size_t)n);
	free(big);
	return rc;
}

size_t iobuf_len(const struct iobuf *b)
{
	return evbuffer_get_length(b->buf);
}

bool iobuf_overflowed(const struct iobuf *b)
{
	return b->overflowed;
}

size_t iobuf_copy(const struct iobuf *b, void *dst, size_t n)
{
	ev_ssize_t got = evbuffer_copyout(b->buf, dst, n);
	return got < 0 ? 0 : (size_t)got;
}

size_t iobuf_consume(struct iobuf *b, size_t n)
{
	size_t have = evbuffer_get_length(b->buf);
	if (n > have)
		n = have;
	evbuffer_drain(b->buf, n);
	return n;
}

int iobuf_write_fd(struct iobuf *b, int fd)
{
	while (evbuffer_get_length(b->buf) > 0) {
		int w = evbuffer_write(b->buf, fd);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (w == 0)
			return -EIO;
	}
	return 0;
}
