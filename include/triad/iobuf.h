/*
 * iobuf: a bounded byte buffer owned by protocol code (an autoindex page, an
 * FTP listing, a reply built in pieces), queued on a conn whole with
 * conn_write_iobuf() without a copy. The type is opaque: protocol code never
 * sees the buffer library under it (common/iobuf.c), so the transport can
 * change without touching a daemon.
 *
 * Every iobuf has a bound set at creation. An add that would pass it adds
 * nothing, returns -1 and marks the buffer overflowed: the producer checks
 * iobuf_overflowed() once at the end instead of after every add, and never
 * sends a cut document as if it were whole.
 */
#ifndef TRIAD_IOBUF_H
#define TRIAD_IOBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct iobuf;

/* An empty buffer that holds at most MAX bytes; NULL when memory fails. */
struct iobuf *iobuf_new(size_t max);
void iobuf_free(struct iobuf *b); /* NULL is fine */

/* Appends; 0, or -1 (nothing added, overflowed set) past the bound or on ENOMEM. */
int iobuf_add(struct iobuf *b, const void *data, size_t len);
int iobuf_add_str(struct iobuf *b, const char *s);
int iobuf_printf(struct iobuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

size_t iobuf_len(const struct iobuf *b);
/* Whether an add was refused since creation: the content is incomplete. */
bool iobuf_overflowed(const struct iobuf *b);

/* Copies up to N bytes from the start without consuming them; the count. */
size_t iobuf_copy(const struct iobuf *b, void *dst, size_t n);
/* Drops up to N bytes from the start; the count dropped. */
size_t iobuf_consume(struct iobuf *b, size_t n);
/* Writes the whole content to FD (a file or pipe: blocking, retried on a
 * short write) and empties the buffer; 0, or -errno with the unwritten
 * bytes still buffered. */
int iobuf_write_fd(struct iobuf *b, int fd);

#endif
