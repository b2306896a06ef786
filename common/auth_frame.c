/*
 * auth_frame: the byte format spoken over the PAM helper's socketpairs.
 *
 * Pure: (bytes, length) -> status + filled struct, no I/O, no allocation.
 * Request: u32 body length (big endian, excluding itself), u32 id, then
 * service, user, password, rhost as u16 length + bytes. Reply: u32 5, u32 id,
 * u8 enum auth_result. Strict: the body length is checked against
 * TRIAD_AUTH_FRAME_MAX before waiting for the body, every field against its
 * own limit, NUL bytes inside a field and bytes left over inside the declared
 * body are errors. The decoder never reads past LEN and reports "need more"
 * (0) for every proper prefix of a valid frame.
 */
#include <string.h>

#include "triad/auth.h"

#define AUTH_NFIELDS 4
#define AUTH_BODY_MIN (4 + AUTH_NFIELDS * 2) /* id + four empty fields */

_Static_assert(4 + 4 + 3 * (2 + TRIAD_AUTH_FIELD_MAX) + 2 + TRIAD_AUTH_PASSWORD_MAX <=
                   TRIAD_AUTH_FRAME_MAX,
               "a request with every field at its limit must fit in one frame");

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static const size_t field_max[AUTH_NFIELDS] = {
    TRIAD_AUTH_FIELD_MAX,
    TRIAD_AUTH_FIELD_MAX,
    TRIAD_AUTH_PASSWORD_MAX,
    TRIAD_AUTH_FIELD_MAX,
};

int auth_frame_encode(const struct auth_frame *f, uint8_t *buf, size_t cap)
{
	const char *field[AUTH_NFIELDS] = {f->service, f->user, f->password, f->rhost};
	size_t len[AUTH_NFIELDS];
	size_t total = 4 + 4;

	for (int i = 0; i < AUTH_NFIELDS; i++) {
		/* The arrays are one longer than the limit: no NUL there means oversize. */
		len[i] = strnlen(field[i], field_max[i] + 1);
		if (len[i] > field_max[i])
			return -1;
		total += 2 + len[i];
	}
	if (total > TRIAD_AUTH_FRAME_MAX || total > cap)
		return -1;

	uint8_t *p = buf;
	put32(p, (uint32_t)(total - 4));
	put32(p + 4, f->id);
	p += 8;
	for (int i = 0; i < AUTH_NFIELDS; i++) {
		put16(p, (uint16_t)len[i]);
		memcpy(p + 2, field[i], len[i]);
		p += 2 + len[i];
	}
	return (int)total;
}

int auth_frame_decode(const uint8_t *buf, size_t len, struct auth_frame *f)
{
	char *field[AUTH_NFIELDS] = {f->service, f->user, f->password, f->rhost};

	if (len < 4)
		return 0;
	uint32_t body = get32(buf);
	/* Judge the declared length before waiting for the body it announces. */
	if (body < AUTH_BODY_MIN || body > TRIAD_AUTH_FRAME_MAX - 4)
		return -1;
	if (len - 4 < body)
		return 0;

	const uint8_t *p = buf + 4;
	const uint8_t *end = p + body;
	f->id = get32(p);
	p += 4;
	for (int i = 0; i < AUTH_NFIELDS; i++) {
		if (end - p < 2)
			goto bad;
		size_t n = get16(p);
		p += 2;
		if (n > field_max[i] || n > (size_t)(end - p) || memchr(p, '\0', n) != NULL)
			goto bad;
		memcpy(field[i], p, n);
		field[i][n] = '\0';
		p += n;
	}
	if (p != end)
		goto bad;
	return (int)(body + 4);
bad:
	/* A half-filled frame may already hold the password. */
	auth_frame_wipe(f);
	return -1;
}

int auth_reply_encode(uint32_t id, enum auth_result r, uint8_t *buf, size_t cap)
{
	if (cap < AUTH_REPLY_LEN || (unsigned)r > AUTH_THROTTLED)
		return -1;
	put32(buf, AUTH_REPLY_BODY);
	put32(buf + 4, id);
	buf[8] = (uint8_t)r;
	return AUTH_REPLY_LEN;
}

int auth_reply_decode(const uint8_t *buf, size_t len, uint32_t *id, enum auth_result *r)
{
	if (len < 4)
		return 0;
	if (get32(buf) != AUTH_REPLY_BODY)
		return -1;
	if (len < AUTH_REPLY_LEN)
		return 0;
	if (buf[8] > AUTH_THROTTLED)
		return -1;
	*id = get32(buf + 4);
	*r = (enum auth_result)buf[8];
	return AUTH_REPLY_LEN;
}

void auth_frame_wipe(struct auth_frame *f)
{
	explicit_bzero(f, sizeof *f);
}
