/*
 * libFuzzer target for the SMTP AUTH exchange's decoding steps (smtpd/auth.c):
 * a client's base64 response line (smtp_auth_b64_decode) and, for PLAIN, the
 * split of the decoded bytes into authzid, authcid and password
 * (smtp_auth_plain_split, RFC 4616 §2) before anything reaches PAM.
 *
 * Input: byte 0 picks whether the rest is a base64 line (decoded first, as
 * the session does) or already-decoded bytes; byte 1 the password room.
 * Checked beyond "no crash": an accepted split has exactly three NUL-
 * separated fields, the user points inside the response and holds no NUL,
 * the authzid is empty or equal to the user, the password is the third
 * field, NUL-terminated and within its room; -2 exactly when there are
 * fewer than two NULs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../smtpd/session.h"

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2 || size > 8192)
		return 0;
	bool encoded = data[0] & 1;
	size_t passcap = 1 + (size_t)data[1] * 8; /* 1..2041 */
	const char *in = (const char *)data + 2;
	size_t len = size - 2;
	char dec[TRIAD_AUTH_PASSWORD_MAX + 2 * TRIAD_AUTH_FIELD_MAX + 8];
	const char *resp = in;
	if (encoded) {
		int n = smtp_auth_b64_decode(in, len, dec, sizeof(dec));
		if (n < 0)
			return 0;
		CHECK((size_t)n <= sizeof(dec));
		resp = dec;
		len = (size_t)n;
	}
	char *pass = malloc(passcap);
	if (!pass)
		return 0;
	const char *user = NULL;
	size_t ulen = 0;
	int rc = smtp_auth_plain_split(resp, len, &user, &ulen, pass, passcap);
	const char *n1 = memchr(resp, '\0', len);
	const char *n2 = n1 ? memchr(n1 + 1, '\0', len - (size_t)(n1 + 1 - resp)) : NULL;
	CHECK((rc == -2) == (n2 == NULL));
	if (rc == 0) {
		CHECK(user == n1 + 1 && user + ulen == n2 && !memchr(user, '\0', ulen));
		size_t zlen = (size_t)(n1 - resp);
		CHECK(zlen == 0 || (zlen == ulen && memcmp(resp, user, ulen) == 0));
		size_t plen = len - (size_t)(n2 + 1 - resp);
		CHECK(plen < passcap && plen <= TRIAD_AUTH_PASSWORD_MAX);
		CHECK(memcmp(pass, n2 + 1, plen) == 0 && pass[plen] == '\0');
	}
	free(pass);
	return 0;
}
