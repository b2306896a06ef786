/*
 * httpd/chunked.c: the chunked-body decoder (contract in chunked.h).
 *
 * A byte-at-a-time state machine over the framing (size lines, extensions,
 * CRLFs, trailers) that skips chunk-data in bulk. Every state can stop at
 * any byte, so the input may arrive split anywhere.
 */
#include "chunked.h"

#include <stdbool.h>

#include "slice.h"

enum {
	S_SIZE_FIRST, /* the first hex digit of chunk-size */
	S_SIZE,       /* more hex digits, or what ends chunk-size */
	S_EXT_NEXT,   /* after chunk-size or an extension: CR, ';', BWS, '=' */
	S_EXT_WS,     /* BWS: then ';' (or '=' after a name) */
	S_EXT_PRE_NAME,
	S_EXT_NAME,
	S_EXT_PRE_VAL,
	S_EXT_VAL_TOKEN,
	S_EXT_QUOTED,
	S_EXT_QUOTED_ESC,
	S_SIZE_LF, /* CR seen at the end of the size line */
	S_DATA,
	S_DATA_CR,
	S_DATA_LF,
	S_TR_START, /* start of a trailer line, or the final CRLF */
	S_TR_NAME,
	S_TR_VALUE,
	S_TR_LF,
	S_END_LF,
	S_DONE,
	S_ERROR,
};

void http_chunked_init(struct http_chunked *d, uint64_t max_body)
{
	*d = (struct http_chunked){.max_body = max_body, .state = S_SIZE_FIRST};
}

static enum http_chunked_status fail(struct http_chunked *d, int status, const char *reason,
                                     size_t at, size_t *consumed)
{
	d->state = S_ERROR;
	d->error_status = status;
	d->error_reason = reason;
	*consumed = at;
	return HTTP_CHUNKED_ERROR;
}

static bool is_ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* HTAB / SP / VCHAR / obs-text: what a field value or a quoted-pair may hold */
static bool is_text(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static bool in_ext(unsigned s)
{
	return s >= S_EXT_NEXT && s <= S_EXT_QUOTED_ESC;
}

static bool in_trailer(unsigned s)
{
	return s >= S_TR_START && s <= S_END_LF;
}

enum http_chunked_status http_chunked_decode(struct http_chunked *d, const char *buf, size_t len,
                                             size_t *consumed)
{
	size_t i = 0;

	if (d->state == S_DONE) {
		*consumed = 0;
		return HTTP_CHUNKED_DONE;
	}
	if (d->state == S_ERROR) {
		*consumed = 0;
		return HTTP_CHUNKED_ERROR;
	}
	d->data_len = 0;
	while (i < len) {
		unsigned char c = (unsigned char)buf[i];
		int h;

		if (d->state == S_DATA) {
			size_t n = len - i;
			if (n > d->remaining)
				n = (size_t)d->remaining;
			d->remaining -= n;
			d->data_total += n;
			d->data_off = i;
			d->data_len = n;
			i += n;
			if (d->remaining == 0)
				d->state = S_DATA_CR;
			if (d->yield) {
				*consumed = i;
				return HTTP_CHUNKED_AGAIN;
			}
			continue;
		}
		if (in_ext(d->state) && ++d->ext_len > HTTP_CHUNK_EXT_MAX)
			return fail(d, 400, "chunk extension too long", i, consumed);
		if (in_trailer(d->state) && ++d->trailer_len > HTTP_CHUNK_TRAILER_MAX)
			return fail(d, 431, "trailer section too large", i, consumed);
		if (c == '\n' && d->state != S_SIZE_LF && d->state != S_DATA_LF &&
		    d->state != S_TR_LF && d->state != S_END_LF)
			return fail(d, 400, "bare LF in chunked body", i, consumed);

		switch (d->state) {
		case S_SIZE_FIRST:
		case S_SIZE:
			h = http_hexval(c);
			if (h < 0) {
				if (d->state == S_SIZE_FIRST)
					return fail(d, 400, "invalid chunk size", i, consumed);
				d->state = S_EXT_NEXT;
				d->after_name = 0;
				d->ext_len = 0;
				continue; /* the same byte, as the start of chunk-ext or CR */
			}
			if (++d->digits > HTTP_CHUNK_SIZE_DIGITS_MAX)
				return fail(d, 400, "chunk size too long", i, consumed);
			d->remaining = d->remaining * 16 + (unsigned)h;
			if (d->remaining > d->max_body - d->data_total)
				return fail(d, 413, "request body too large", i, consumed);
			d->state = S_SIZE;
			break;
		case S_EXT_NEXT:
			if (c == '\r')
				d->state = S_SIZE_LF;
			else if (c == ';')
				d->state = S_EXT_PRE_NAME;
			else if (is_ows(c))
				d->state = S_EXT_WS;
			else if (c == '=' && d->after_name)
				d->state = S_EXT_PRE_VAL;
			else
				return fail(d, 400, "invalid chunk extension", i, consumed);
			break;
		case S_EXT_WS:
			/* BWS belongs to a following ';' or '=': never ends the line */
			if (c == ';')
				d->state = S_EXT_PRE_NAME;
			else if (c == '=' && d->after_name)
				d->state = S_EXT_PRE_VAL;
			else if (!is_ows(c))
				return fail(d, 400, "invalid chunk extension", i, consumed);
			break;
		case S_EXT_PRE_NAME:
			if (http_is_tchar(c))
				d->state = S_EXT_NAME;
			else if (!is_ows(c))
				return fail(d, 400, "invalid chunk extension", i, consumed);
			break;
		case S_EXT_NAME:
			if (!http_is_tchar(c)) {
				d->state = S_EXT_NEXT;
				d->after_name = 1;
				d->ext_len--; /* counted again in S_EXT_NEXT */
				continue;
			}
			break;
		case S_EXT_PRE_VAL:
			if (c == '"')
				d->state = S_EXT_QUOTED;
			else if (http_is_tchar(c))
				d->state = S_EXT_VAL_TOKEN;
			else if (!is_ows(c))
				return fail(d, 400, "invalid chunk extension", i, consumed);
			break;
		case S_EXT_VAL_TOKEN:
			if (!http_is_tchar(c)) {
				d->state = S_EXT_NEXT;
				d->after_name = 0;
				d->ext_len--;
				continue;
			}
			break;
		case S_EXT_QUOTED:
			if (c == '"') {
				d->state = S_EXT_NEXT;
				d->after_name = 0;
			} else if (c == '\\') {
				d->state = S_EXT_QUOTED_ESC;
			} else if (!is_text(c)) {
				return fail(d, 400, "invalid chunk extension", i, consumed);
			}
			break;
		case S_EXT_QUOTED_ESC:
			if (!is_text(c))
				return fail(d, 400, "invalid chunk extension", i, consumed);
			d->state = S_EXT_QUOTED;
			break;
		case S_SIZE_LF:
			if (c != '\n')
				return fail(d, 400, "bare CR in chunked body", i, consumed);
			d->state = d->remaining == 0 ? S_TR_START : S_DATA;
			break;
		case S_DATA_CR:
			if (c != '\r')
				return fail(d, 400, "chunk data not followed by CRLF", i, consumed);
			d->state = S_DATA_LF;
			break;
		case S_DATA_LF:
			if (c != '\n')
				return fail(d, 400, "bare CR in chunked body", i, consumed);
			d->state = S_SIZE_FIRST;
			d->digits = 0;
			d->remaining = 0;
			break;
		case S_TR_START:
			if (c == '\r')
				d->state = S_END_LF;
			else if (http_is_tchar(c))
				d->state = S_TR_NAME;
			else if (is_ows(c))
				return fail(d, 400, "obs-fold in trailer", i, consumed);
			else
				return fail(d, 400, "invalid trailer field", i, consumed);
			break;
		case S_TR_NAME:
			if (c == ':')
				d->state = S_TR_VALUE;
			else if (is_ows(c))
				return fail(d, 400, "whitespace before colon in trailer", i,
				            consumed);
			else if (!http_is_tchar(c))
				return fail(d, 400, "invalid trailer field", i, consumed);
			break;
		case S_TR_VALUE:
			if (c == '\r')
				d->state = S_TR_LF;
			else if (!is_text(c))
				return fail(d, 400, "control character in trailer", i, consumed);
			break;
		case S_TR_LF:
			if (c != '\n')
				return fail(d, 400, "bare CR in chunked body", i, consumed);
			d->state = S_TR_START;
			break;
		case S_END_LF:
			if (c != '\n')
				return fail(d, 400, "bare CR in chunked body", i, consumed);
			d->state = S_DONE;
			*consumed = i + 1;
			return HTTP_CHUNKED_DONE;
		}
		i++;
	}
	*consumed = len;
	return HTTP_CHUNKED_AGAIN;
}
