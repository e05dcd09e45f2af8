/*
 * Shared internals of core/crypto (not part of the API): algorithm handles fetched once from
 * OpenSSL's default provider, libsodium initialisation, and OpenSSL error reporting.
 */
#ifndef TS_CRYPTO_INTERNAL_H
#define TS_CRYPTO_INTERNAL_H

#include <openssl/evp.h>

#include "base/error.h"

/* Algorithms fetched once (pthread_once); NULL when the provider lacks them. Never freed: they
 * live as long as the process, which saves an implicit fetch per operation. */
const EVP_MD *ts_crypto_sha256_md(void);
const EVP_MD *ts_crypto_sha512_md(void);
const EVP_CIPHER *ts_crypto_aes256gcm(void);

/* Runs sodium_init() once. TS_ERR_CRYPTO when libsodium cannot initialise. */
ts_err ts_crypto_sodium_ready(void);

/* Logs what failed with the first queued OpenSSL error, clears the queue, returns TS_ERR_CRYPTO. */
ts_err ts_crypto_openssl_fail(const char *what);

#endif
