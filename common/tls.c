/*
 * tls: builds the server SSL_CTX every TLS listener and upgrade uses.
 *
 * Policy (Mozilla "intermediate"): TLS 1.2 and 1.3 only; for 1.2 only
 * ECDHE with AEAD ciphers, server order; no compression, no renegotiation.
 * Resumption: a server-side session cache with a fixed id context (FTP data
 * connections resume the control connection's session) and stateless
 * tickets (TLS 1.3 and 1.2).
 */
#include "triad/tls.h"
#include "triad/limits.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/tls1.h>

#define TLS12_CIPHERS                                                                          \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                           \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                           \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

static const unsigned char session_id_context[] = "triad";

const char *tls_last_error(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();
	tls_load_strings();
	if (e == 0)
		snprintf(buf, len, "unknown TLS error");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

SSL_CTX *tls_ctx_new(const char *cert_file, const char *key_file, char *err, size_t errlen)
{
	char why[256];
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		snprintf(err, errlen, "TLS: cannot create context: %s",
		         tls_last_error(why, sizeof(why)));
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
	                             SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* conn.c retries an SSL_write from a buffer that may have moved, and takes
	 * partial writes record by record. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
	                          SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1)
		goto fail_ssl;

	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
		snprintf(err, errlen, "%s: cannot load certificate chain: %s", cert_file,
		         tls_last_error(why, sizeof(why)));
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
		snprintf(err, errlen, "%s: cannot load private key: %s", key_file,
		         tls_last_error(why, sizeof(why)));
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "%s: private key does not match the certificate in %s",
		         key_file, cert_file);
		goto fail;
	}

	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_sess_set_cache_size(ctx, TRIAD_TLS_SESSION_CACHE);
	SSL_CTX_set_timeout(ctx, TRIAD_TLS_SESSION_TIMEOUT_S);
	SSL_CTX_set_session_id_context(ctx, session_id_context, sizeof(session_id_context) - 1);
	return ctx;

fail_ssl:
	snprintf(err, errlen, "TLS: %s", tls_last_error(why, sizeof(why)));
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

void tls_ctx_free(SSL_CTX *ctx)
{
	SSL_CTX_free(ctx);
}

/* PROTOS is a wire-format list ended by a zero length byte (a C string literal). */
static unsigned wire_len(const unsigned char *p)
{
	unsigned n = 0;
	while (p[n] != 0)
		n += 1u + p[n];
	return n;
}

int tls_alpn_choose(const unsigned char *protos, const unsigned char *in, unsigned inlen,
                    const unsigned char **out, unsigned char *outlen)
{
	/* RFC 7301 §3.1: non-empty names that fill the list exactly. OpenSSL
	 * checks the extension before this runs; SSL_select_next_proto() itself
	 * would still match a good prefix of a malformed list. */
	for (unsigned i = 0; i < inlen; i += 1u + in[i])
		if (in[i] == 0 || in[i] > inlen - i - 1)
			return -1;
	unsigned char *sel;
	if (inlen == 0 ||
	    SSL_select_next_proto(&sel, outlen, protos, wire_len(protos), in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return -1;
	*out = sel;
	return 0;
}

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
	(void)ssl;
	if (tls_alpn_choose(arg, in, inlen, out, outlen) < 0)
		return SSL_TLSEXT_ERR_NOACK; /* no overlap: continue without ALPN, as nginx */
	return SSL_TLSEXT_ERR_OK;
}

void tls_ctx_set_alpn(SSL_CTX *ctx, const unsigned char *protos)
{
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, (void *)protos);
}

/* ---- SNI ----------------------------------------------------------------- */

static int sni_index = -1;
static pthread_once_t sni_once = PTHREAD_ONCE_INIT;

static void sni_init(void)
{
	sni_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

/*
 * The client hello, before any certificate is chosen: the only point where
 * switching the SSL's context also switches the certificate, ALPN and
 * ticket callbacks for this handshake (HAProxy chooses certificates here too).
 * A malformed server_name extension is left to OpenSSL, which rejects it.
 */
static int client_hello(SSL *ssl, int *alert, void *arg)
{
	const struct tls_sni *sni = arg;
	const unsigned char *p;
	size_t len, list, n;
	int tag = -1;
	SSL_CTX *ctx;

	(void)alert;
	if (!SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p, &len) || len < 5)
		return SSL_CLIENT_HELLO_SUCCESS;
	/* ServerNameList: length(2), then NameType(1) HostName<1..2^16-1> */
	list = (size_t)p[0] << 8 | p[1];
	n = (size_t)p[3] << 8 | p[4];
	if (list + 2 != len || p[2] != TLSEXT_NAMETYPE_host_name || n == 0 || n + 5 > len ||
	    memchr(p + 5, '\0', n))
		return SSL_CLIENT_HELLO_SUCCESS;
	ctx = sni->pick(sni->arg, (const char *)p + 5, n, &tag);
	if (tag >= 0) /* NOLINTNEXTLINE(performance-no-int-to-ptr): a cookie, never dereferenced */
		SSL_set_ex_data(ssl, sni_index, (void *)(intptr_t)(tag + 1));
	if (ctx && ctx != SSL_get_SSL_CTX(ssl) && !SSL_set_SSL_CTX(ssl, ctx))
		return SSL_CLIENT_HELLO_ERROR;
	return SSL_CLIENT_HELLO_SUCCESS;
}

void tls_ctx_set_sni(SSL_CTX *ctx, const struct tls_sni *sni)
{
	pthread_once(&sni_once, sni_init);
	SSL_CTX_set_client_hello_cb(ctx, client_hello, (void *)sni);
}

int tls_sni_tag(const SSL *ssl)
{
	if (!ssl || sni_index < 0)
		return -1;
	return (int)(intptr_t)SSL_get_ex_data(ssl, sni_index) - 1;
}

const char *tls_describe(const SSL *ssl, char *buf, size_t len)
{
	if (!ssl) {
		if (len)
			buf[0] = '\0';
		return buf;
	}
	snprintf(buf, len, "%s %s", SSL_get_version(ssl), SSL_get_cipher_name(ssl));
	return buf;
}
