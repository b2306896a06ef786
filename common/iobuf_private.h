/*
 * iobuf's inside, for common/ only (conn_buf.c moves an iobuf's memory to
 * and from a conn without a copy). Protocol code sees only triad/iobuf.h.
 */
#ifndef TRIAD_IOBUF_PRIVATE_H
#define TRIAD_IOBUF_PRIVATE_H

#include <event2/buffer.h>

#include "triad/iobuf.h"

struct iobuf {
	struct evbuffer *buf;
	size_t max;
	bool overflowed;
};

#endif
