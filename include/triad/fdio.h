/*
 * fdio: the one write loop and its read counterpart. Blocking writes (reads)
 * of a whole buffer to (from) a file descriptor (files, pipes, stderr),
 * retried on EINTR and on short transfers; for files on the workq, the log
 * writer thread and startup. Never for a connection's socket: those go
 * through conn.
 */
#ifndef TRIAD_FDIO_H
#define TRIAD_FDIO_H

#include <stddef.h>

/* Writes all N bytes of P to FD. Returns 0, or -errno of the write that
 * failed (-EIO when one wrote nothing), with part of P perhaps written. */
int fdio_write_all(int fd, const void *p, size_t n);

/* Reads exactly N bytes from FD into P. Returns 0, or -errno of the read
 * that failed (-EIO at end of file before N bytes). */
int fdio_read_all(int fd, void *p, size_t n);

#endif
