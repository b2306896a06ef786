/*
 * ascii: TYPE A conversion (RFC 959 §3.1.1.1), streaming over chunks in any
 * split. Pure: output goes to caller buffers.
 * RETR: LF -> CRLF; an LF already preceded by CR (even across chunks) is
 * left alone, so a file that already has CRLF endings is not doubled.
 * STOR: CRLF -> LF; a CR not followed by LF is kept; a CR ending a chunk is
 * held until the next chunk, or until ftp_ascii_to_lf_end() at the end.
 * One state per direction per transfer; zero-initialise it.
 */
#ifndef FTPD_ASCII_H
#define FTPD_ASCII_H

#include <stdbool.h>
#include <stddef.h>

struct ftp_ascii {
	bool cr; /* to_crlf: the last byte out was CR; to_lf: a CR is held */
};
/* OUT needs room for 2 * LEN bytes. Returns the bytes written. */
size_t ftp_ascii_to_crlf(struct ftp_ascii *st, const char *in, size_t len, char *out);
/* OUT needs room for LEN + 1 bytes. Returns the bytes written. */
size_t ftp_ascii_to_lf(struct ftp_ascii *st, const char *in, size_t len, char *out);
/* End of the upload: writes a held CR (0 or 1 byte) into OUT. */
size_t ftp_ascii_to_lf_end(struct ftp_ascii *st, char *out);

#endif
