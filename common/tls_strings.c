/*
 * tls_strings: OpenSSL's error strings, loaded on the first error triad
 * formats instead of at start-up.
 *
 * Loaded by default (OPENSSL_init_ssl, run by the first SSL_CTX_new), the
 * tables cost every daemon process about 480 KiB resident (OpenSSL 3.0: 420
 * KiB of libcrypto's string tables mapped in, 64 KiB of hash), although a
 * healthy server formats an OpenSSL error rarely if ever: a configuration
 * error, or a failed handshake logged at debug level. tls_init declines the
 * default load; tls_load_strings loads them when the first error is
 * formatted (tls_last_error), so a log line reads "SSL routines::PEM lib" as
 * before, not "lib(20)::reason(9)".
 *
 * The per-library loaders are the only public way to load them once the
 * default load was declined (OPENSSL_init_* runs each step once per process);
 * OpenSSL 3.0 keeps them, deprecated, for exactly this use. Library names and
 * the common reasons come with ERR's own table.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "triad/tls.h"

#include <pthread.h>
#include <openssl/cryptoerr_legacy.h>
#include <openssl/err.h>
#include <openssl/sslerr_legacy.h>

void tls_init(void)
{
	OPENSSL_init_ssl(OPENSSL_INIT_NO_LOAD_SSL_STRINGS | OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS,
	                 NULL);
}

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void)
{
	/* Every library a TLS server's errors come from: the handshake, keys,
	 * certificates and their encodings, the providers' building blocks. */
	ERR_load_ERR_strings();
	ERR_load_SSL_strings();
	ERR_load_CRYPTO_strings();
	ERR_load_BIO_strings();
	ERR_load_BUF_strings();
	ERR_load_PEM_strings();
	ERR_load_X509_strings();
	ERR_load_X509V3_strings();
	ERR_load_ASN1_strings();
	ERR_load_EVP_strings();
	ERR_load_EC_strings();
	ERR_load_RSA_strings();
	ERR_load_DH_strings();
	ERR_load_DSA_strings();
	ERR_load_BN_strings();
	ERR_load_OBJ_strings();
	ERR_load_RAND_strings();
	ERR_load_CONF_strings();
	ERR_load_KDF_strings();
	ERR_load_ASYNC_strings();
	ERR_load_OSSL_STORE_strings();
	ERR_load_UI_strings();
}

void tls_load_strings(void)
{
	pthread_once(&once, load);
}
