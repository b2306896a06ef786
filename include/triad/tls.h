/*
 * tls: server SSL_CTX from tls_cert / tls_key (full chains), TLS 1.2 and 1.3
 * only, forward-secret AEAD ciphers, session resumption (server cache and
 * tickets), an ALPN hook. A new context is built on every (re)load; live
 * connections keep the SSL_CTX they were created from (OpenSSL refcounts it).
 * Protocol code never calls OpenSSL: conn.h wraps and upgrades connections.
 */
#ifndef TRIAD_TLS_H
#define TRIAD_TLS_H

#include <stddef.h>
#include <openssl/ssl.h>

/* Once per process, before any other OpenSSL call (server_main): OpenSSL's
 * error strings are not loaded at start-up but on the first error formatted
 * (tls_last_error calls tls_load_strings; common/tls_strings.c says why). */
void tls_init(void);
void tls_load_strings(void);

/* NULL and a message naming the file on failure (unreadable, mismatched key...). */
SSL_CTX *tls_ctx_new(const char *cert_file, const char *key_file, char *err, size_t errlen);
void tls_ctx_free(SSL_CTX *ctx);

/*
 * ALPN: PROTOS is the server's preference in wire format, as a string
 * literal so a zero length byte ends it: (const unsigned char *)"\x08http/1.1".
 * A client offering none of them gets no ALPN (not an alert), as nginx does.
 */
void tls_ctx_set_alpn(SSL_CTX *ctx, const unsigned char *protos);
/* The selection itself, over the client's list IN[0..INLEN) (wire format, as
 * received): 0 with *OUT pointing at the chosen name (inside PROTOS or IN),
 * -1 when nothing matches or IN is malformed. */
int tls_alpn_choose(const unsigned char *protos, const unsigned char *in, unsigned inlen,
                    const unsigned char **out, unsigned char *outlen);

/*
 * SNI (RFC 6066 §3): the client-hello callback of the listener's context
 * hands the server name to PICK, which returns the context whose
 * certificate answers it (NULL: keep the listener's) and a tag for the
 * connection (-1: none), read back with tls_sni_tag(). The struct is the
 * caller's and must outlive every connection made from CTX.
 */
struct tls_sni {
	SSL_CTX *(*pick)(void *arg, const char *name, size_t len, int *tag);
	void *arg;
};
void tls_ctx_set_sni(SSL_CTX *ctx, const struct tls_sni *sni);
/* The tag PICK gave this connection, or -1 (no SNI, no match, not TLS). */
int tls_sni_tag(const SSL *ssl);

/* "TLSv1.3 TLS_AES_256_GCM_SHA384" for logs and Received: headers. */
const char *tls_describe(const SSL *ssl, char *buf, size_t len);

/* The last OpenSSL error as text (and clears the queue). */
const char *tls_last_error(char *buf, size_t len);

#endif
