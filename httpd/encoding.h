/*
 * httpd/encoding.h: Accept-Encoding (RFC 9110 §12.5.3) for choosing a
 * precompressed sibling (file.br, file.zst, file.gz).
 *
 * Pure. http_accept_encoding() reads the field's lines into q-values
 * (0..1000) for the codings triad can serve; a coding not listed takes the
 * q of "*" when present, else 0 (identity: else 1000, §12.5.3 "identity is
 * always acceptable unless refused"). "x-gzip" is "gzip" (§8.4.1.3). A
 * coding listed twice keeps its lowest q (a client that said q=0 once meant
 * it). Strict grammar: #( coding [ OWS ";" OWS "q=" qvalue ] ); anything else
 * (another parameter, a malformed qvalue, a bad token) makes the whole field
 * invalid, and the caller serves identity: a field we cannot read gets the
 * answer every client can decode.
 *
 * http_encoding_rank() orders the codings to try: acceptable ones (q > 0) by
 * q, ties broken by br > zstd > gzip (smallest first). Identity competes only
 * when the client weighed it ("identity;q=..." or "*;q=..."): then a coding
 * needs q >= identity's q. A client that lists only "gzip;q=0.9" asks for
 * gzip; an implicit identity does not outrank it. The codings that are not
 * acceptable follow in order[n..HTTP_CODING_N-1] (br, zstd, gzip order), so a
 * caller can still ask whether their siblings exist: a resource with any
 * usable sibling varies on Accept-Encoding (§12.5.5) whichever variant one
 * client gets, identity included.
 */
#ifndef TRIAD_HTTPD_ENCODING_H
#define TRIAD_HTTPD_ENCODING_H

#include <stdbool.h>

#include "slice.h"

enum http_coding { HTTP_CODING_BR, HTTP_CODING_ZSTD, HTTP_CODING_GZIP, HTTP_CODING_N };

struct http_ae {
	int q[HTTP_CODING_N];
	int identity;
	bool identity_weighed; /* identity or "*" was listed */
};

/* False when the field does not parse (out then says "identity only"). */
bool http_accept_encoding(const struct http_list *l, struct http_ae *out);

/* Fills order[] with every coding, the acceptable ones first and best first;
 * returns how many are acceptable. */
unsigned http_encoding_rank(const struct http_ae *ae, enum http_coding order[HTTP_CODING_N]);

/* "br", "zstd", "gzip" (Content-Encoding) and ".br", ".zst", ".gz" (file suffix). */
const char *http_coding_name(enum http_coding c);
const char *http_coding_suffix(enum http_coding c);

#endif
