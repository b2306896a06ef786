/*
 * httpd/fcgi.h: the FastCGI record codec (FastCGI Specification 1.0, as
 * php-fpm speaks it), for httpd's FastCGI pools.
 *
 * Contract
 * - Pure: encoders write into caller buffers and return the bytes written
 *   (0: it does not fit); the decoder takes whatever bytes arrived and keeps
 *   its state between calls (resumable over any split), copying nothing but
 *   the 8 bytes of a record header or an END_REQUEST body.
 * - Encoding: records are aligned to 8 bytes with padding (§3.3 SHOULD);
 *   name-value pairs use 1-byte lengths below 128 and 4-byte lengths (high
 *   bit set) from 128 (§3.4).
 * - Decoding (what a responder sends us): version 1; FCGI_STDOUT and
 *   FCGI_STDERR content is handed out as slices of the input; FCGI_END_REQUEST
 *   ends the request with its app and protocol status; management records
 *   (request id 0: FCGI_GET_VALUES_RESULT, FCGI_UNKNOWN_TYPE) are skipped;
 *   any other type, a record for another request id, or a bad END_REQUEST
 *   length is an error (the connection is then closed).
 */
#ifndef TRIAD_HTTPD_FCGI_H
#define TRIAD_HTTPD_FCGI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FCGI_VERSION_1 1
#define FCGI_HEADER_LEN 8
#define FCGI_CONTENT_MAX 65535 /* §3.3: contentLength is 16 bits */

enum fcgi_type {
	FCGI_BEGIN_REQUEST = 1,
	FCGI_ABORT_REQUEST = 2,
	FCGI_END_REQUEST = 3,
	FCGI_PARAMS = 4,
	FCGI_STDIN = 5,
	FCGI_STDOUT = 6,
	FCGI_STDERR = 7,
	FCGI_DATA = 8,
	FCGI_GET_VALUES = 9,
	FCGI_GET_VALUES_RESULT = 10,
	FCGI_UNKNOWN_TYPE = 11,
};

#define FCGI_RESPONDER 1
#define FCGI_KEEP_CONN 1
/* protocolStatus of FCGI_END_REQUEST (§5.5) */
#define FCGI_REQUEST_COMPLETE 0
#define FCGI_CANT_MPX_CONN 1
#define FCGI_OVERLOADED 2
#define FCGI_UNKNOWN_ROLE 3

/* The header of a record of TYPE for request ID with LEN content bytes;
 * returns the padding that must follow the content (0-7). */
unsigned fcgi_header(unsigned char out[FCGI_HEADER_LEN], enum fcgi_type type, uint16_t id,
                     uint16_t len);
/* A whole FCGI_BEGIN_REQUEST record (16 bytes): role RESPONDER, FLAGS. */
size_t fcgi_begin_request(unsigned char out[16], uint16_t id, unsigned char flags);
/* One name-value pair (§3.4) into OUT[0..CAP); 0 when it does not fit. */
size_t fcgi_pair(unsigned char *out, size_t cap, const char *name, size_t nlen,
                 const char *value, size_t vlen);
/* Bytes fcgi_pair() needs for a pair. */
size_t fcgi_pair_len(size_t nlen, size_t vlen);
/* Reads one pair from IN[*off..len): false at the end or when malformed
 * (*bad then set). Used by tests and the fuzz target. */
bool fcgi_pair_next(const unsigned char *in, size_t len, size_t *off, const unsigned char **name,
                    size_t *nlen, const unsigned char **value, size_t *vlen, bool *bad);

enum fcgi_event {
	FCGI_EV_AGAIN,  /* every byte consumed; more needed */
	FCGI_EV_STDOUT, /* data / data_len: content of an FCGI_STDOUT record */
	FCGI_EV_STDERR, /* ... of an FCGI_STDERR record */
	FCGI_EV_END,    /* FCGI_END_REQUEST: app_status, protocol_status */
	FCGI_EV_ERROR,  /* error_reason */
};

struct fcgi_decoder {
	uint16_t id;            /* the request id we expect */
	const char *error_reason;
	uint32_t app_status;    /* after FCGI_EV_END */
	unsigned char protocol_status;
	bool stdout_closed;     /* an empty FCGI_STDOUT record was seen */
	/* private */
	unsigned char hdr[FCGI_HEADER_LEN];
	unsigned char body[8];
	unsigned state, have;
	unsigned type;
	uint16_t rid;
	uint32_t content_left, pad_left;
};

void fcgi_decoder_init(struct fcgi_decoder *d, uint16_t id);
/*
 * Consumes from IN[0..LEN) up to the next event; *CONSUMED says how many
 * bytes were taken (all of them for AGAIN). For STDOUT/STDERR, *DATA and
 * *DATA_LEN are a slice of IN (non-empty). After END or ERROR the decoder
 * stays there.
 */
enum fcgi_event fcgi_decode(struct fcgi_decoder *d, const unsigned char *in, size_t len,
                            size_t *consumed, const unsigned char **data, size_t *data_len);

#endif
