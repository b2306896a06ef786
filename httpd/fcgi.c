/*
 * httpd/fcgi.c: FastCGI records (contract in fcgi.h).
 *
 * The decoder is a small state machine over record header, content and
 * padding; content of a stream record is handed out in place, as much of it
 * as the current input holds, so a large response is never copied here.
 */
#include "fcgi.h"

#include <string.h>

enum { D_HEADER, D_CONTENT, D_PADDING, D_END, D_ERROR };

unsigned fcgi_header(unsigned char out[FCGI_HEADER_LEN], enum fcgi_type type, uint16_t id,
                     uint16_t len)
{
	unsigned pad = (8u - (len & 7u)) & 7u;
	out[0] = FCGI_VERSION_1;
	out[1] = (unsigned char)type;
	out[2] = (unsigned char)(id >> 8);
	out[3] = (unsigned char)id;
	out[4] = (unsigned char)(len >> 8);
	out[5] = (unsigned char)len;
	out[6] = (unsigned char)pad;
	out[7] = 0;
	return pad;
}

size_t fcgi_begin_request(unsigned char out[16], uint16_t id, unsigned char flags)
{
	fcgi_header(out, FCGI_BEGIN_REQUEST, id, 8);
	memset(out + 8, 0, 8);
	out[9] = FCGI_RESPONDER;
	out[10] = flags;
	return 16;
}

static size_t len_bytes(size_t n)
{
	return n < 128 ? 1 : 4;
}

size_t fcgi_pair_len(size_t nlen, size_t vlen)
{
	return len_bytes(nlen) + len_bytes(vlen) + nlen + vlen;
}

static unsigned char *put_len(unsigned char *p, size_t n)
{
	if (n < 128) {
		*p++ = (unsigned char)n;
		return p;
	}
	*p++ = (unsigned char)(0x80 | ((n >> 24) & 0x7f));
	*p++ = (unsigned char)(n >> 16);
	*p++ = (unsigned char)(n >> 8);
	*p++ = (unsigned char)n;
	return p;
}

size_t fcgi_pair(unsigned char *out, size_t cap, const char *name, size_t nlen,
                 const char *value, size_t vlen)
{
	if (nlen > 0x7fffffff || vlen > 0x7fffffff || fcgi_pair_len(nlen, vlen) > cap)
		return 0;
	unsigned char *p = put_len(out, nlen);
	p = put_len(p, vlen);
	memcpy(p, name, nlen);
	p += nlen;
	if (vlen)
		memcpy(p, value, vlen);
	p += vlen;
	return (size_t)(p - out);
}

static bool get_len(const unsigned char *in, size_t len, size_t *off, size_t *n)
{
	if (*off >= len)
		return false;
	if (in[*off] < 128) {
		*n = in[(*off)++];
		return true;
	}
	if (len - *off < 4)
		return false;
	*n = ((size_t)(in[*off] & 0x7f) << 24) | ((size_t)in[*off + 1] << 16) |
	     ((size_t)in[*off + 2] << 8) | in[*off + 3];
	*off += 4;
	return true;
}

bool fcgi_pair_next(const unsigned char *in, size_t len, size_t *off, const unsigned char **name,
                    size_t *nlen, const unsigned char **value, size_t *vlen, bool *bad)
{
	*bad = false;
	if (*off >= len)
		return false;
	size_t o = *off;
	if (!get_len(in, len, &o, nlen) || !get_len(in, len, &o, vlen) || *nlen > len - o ||
	    *vlen > len - o - *nlen) {
		*bad = true;
		return false;
	}
	*name = in + o;
	*value = in + o + *nlen;
	*off = o + *nlen + *vlen;
	return true;
}

void fcgi_decoder_init(struct fcgi_decoder *d, uint16_t id)
{
	*d = (struct fcgi_decoder){.id = id, .state = D_HEADER};
}

static enum fcgi_event dfail(struct fcgi_decoder *d, const char *why)
{
	d->state = D_ERROR;
	d->error_reason = why;
	return FCGI_EV_ERROR;
}

/* A complete header in d->hdr: check it and choose what follows. */
static enum fcgi_event header_done(struct fcgi_decoder *d)
{
	if (d->hdr[0] != FCGI_VERSION_1)
		return dfail(d, "bad FastCGI version");
	d->type = d->hdr[1];
	d->rid = (uint16_t)((d->hdr[2] << 8) | d->hdr[3]);
	d->content_left = (uint32_t)((d->hdr[4] << 8) | d->hdr[5]);
	d->pad_left = d->hdr[6];
	d->have = 0;
	if (d->rid == 0) {
		if (d->type != FCGI_GET_VALUES_RESULT && d->type != FCGI_UNKNOWN_TYPE)
			return dfail(d, "unexpected management record");
	} else if (d->rid != d->id) {
		return dfail(d, "record for another request");
	} else if (d->type == FCGI_END_REQUEST) {
		if (d->content_left != 8)
			return dfail(d, "bad FCGI_END_REQUEST length");
	} else if (d->type == FCGI_STDOUT) {
		if (d->stdout_closed && d->content_left)
			return dfail(d, "FCGI_STDOUT after its end");
		if (d->content_left == 0)
			d->stdout_closed = true;
	} else if (d->type != FCGI_STDERR) {
		return dfail(d, "unexpected record type");
	}
	d->state = D_CONTENT;
	return FCGI_EV_AGAIN;
}

enum fcgi_event fcgi_decode(struct fcgi_decoder *d, const unsigned char *in, size_t len,
                            size_t *consumed, const unsigned char **data, size_t *data_len)
{
	size_t i = 0;
	*data = NULL;
	*data_len = 0;
	for (;;) {
		switch (d->state) {
		case D_END:
			*consumed = i;
			return FCGI_EV_END;
		case D_ERROR:
			*consumed = i;
			return FCGI_EV_ERROR;
		case D_HEADER:
			while (i < len && d->have < FCGI_HEADER_LEN)
				d->hdr[d->have++] = in[i++];
			if (d->have < FCGI_HEADER_LEN) {
				*consumed = i;
				return FCGI_EV_AGAIN;
			}
			if (header_done(d) == FCGI_EV_ERROR) {
				*consumed = i;
				return FCGI_EV_ERROR;
			}
			break;
		case D_CONTENT:
			if (d->content_left == 0) {
				if (d->rid == d->id && d->type == FCGI_END_REQUEST) {
					d->app_status = ((uint32_t)d->body[0] << 24) |
					                ((uint32_t)d->body[1] << 16) |
					                ((uint32_t)d->body[2] << 8) | d->body[3];
					d->protocol_status = d->body[4];
				}
				/* END_REQUEST's padding is consumed too: a kept
				 * connection must start at the next record. */
				d->state = D_PADDING;
				break;
			}
			if (i == len) {
				*consumed = i;
				return FCGI_EV_AGAIN;
			}
			{
				size_t n = len - i < d->content_left ? len - i : d->content_left;
				d->content_left -= (uint32_t)n;
				if (d->rid == 0) {
					i += n; /* management record: skipped */
					break;
				}
				if (d->type == FCGI_END_REQUEST) {
					memcpy(d->body + d->have, in + i, n);
					d->have += (unsigned)n;
					i += n;
					break;
				}
				*data = in + i;
				*data_len = n;
				*consumed = i + n;
				return d->type == FCGI_STDOUT ? FCGI_EV_STDOUT : FCGI_EV_STDERR;
			}
		case D_PADDING:
			while (i < len && d->pad_left > 0)
				i++, d->pad_left--;
			if (d->pad_left > 0) {
				*consumed = i;
				return FCGI_EV_AGAIN;
			}
			d->state = d->rid == d->id && d->type == FCGI_END_REQUEST ? D_END : D_HEADER;
			d->have = 0;
			break;
		}
	}
}
