/*
 * A conn's buffers, for common/ only: conn.c owns them and conn_buf.c builds
 * the protocol-facing byte API (triad/conn.h) on them. Protocol code never
 * sees them, so the transport can change under httpd, ftpd and smtpd;
 * tests/unit/check_io_boundary.sh (run by `make unit`) fails the build when
 * one of them reaches for these or for the buffer library.
 */
#ifndef TRIAD_CONN_PRIVATE_H
#define TRIAD_CONN_PRIVATE_H

#include <event2/buffer.h>

#include "triad/conn.h"

/* conn_input() / conn_output(): declared in triad/conn.h while httpd/proxy.c
 * still uses them (see there). */
/* Whether output may still be queued (conn_write's rule): not closing, not
 * half-closed (conn_shutdown_write), not parked. */
bool conn_output_open(const struct conn *c);

#endif
