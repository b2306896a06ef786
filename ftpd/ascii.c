/*
 * ascii: TYPE A line-ending conversion for ftpd (RFC 959 §3.1.1.1), pure and
 * streaming. See ascii.h.
 */
#include "ascii.h"

size_t ftp_ascii_to_crlf(struct ftp_ascii *st, const char *in, size_t len, char *out)
{
	size_t n = 0;
	bool cr = st->cr;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];
		if (c == '\n' && !cr)
			out[n++] = '\r';
		out[n++] = c;
		cr = c == '\r';
	}
	st->cr = cr;
	return n;
}

size_t ftp_ascii_to_lf(struct ftp_ascii *st, const char *in, size_t len, char *out)
{
	size_t n = 0;
	bool cr = st->cr;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];
		if (cr && c != '\n')
			out[n++] = '\r'; /* a lone CR is data */
		cr = c == '\r';
		if (!cr)
			out[n++] = c;
	}
	st->cr = cr;
	return n;
}

size_t ftp_ascii_to_lf_end(struct ftp_ascii *st, char *out)
{
	if (!st->cr)
		return 0;
	st->cr = false;
	out[0] = '\r';
	return 1;
}
