/*
 * What only common/ may ask of a conn: its buffers (conn.c owns them,
 * conn_buf.c builds the protocol-facing byte API of triad/conn.h on them)
 * and whether its output is still open. tests/unit/check_io_boundary.sh
 * (run by `make unit`) fails when protocol code reaches for the buffers or
 * the buffer library.
 */
#ifndef TRIAD_CONN_PRIVATE_H
#define TRIAD_CONN_PRIVATE_H

#include <event2/buffer.h>

#include "triad/conn.h"

/* The conn's input and output buffers (NULL while parked). */
struct evbuffer *conn_input(struct conn *c);
struct evbuffer *conn_output(struct conn *c);
/* Whether output may still be queued (conn_write's rule): not closing, not
 * half-closed (conn_shutdown_write), not parked. */
bool conn_output_open(const struct conn *c);
/* conn_buf.c queued a file segment (sendfile) behind HEAD bytes of output:
 * a head of memory alone leaves with MSG_MORE, joined to the body's first
 * segments. Plain sockets only. */
void conn_file_queued(struct conn *c, size_t head);

#endif
