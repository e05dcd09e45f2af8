/*
 * Hashes, MACs, key derivation and randomness for Tessera (reference §3.4, §5, §7).
 *
 * Everything here runs on OpenSSL 3 (SHA-NI accelerated SHA-256); libsodium's SHA-256 is about 4x
 * slower on this machine, so never hash bulk data with it. DeriveKey is HMAC-SHA512 truncated to
 * 32 bytes, as in Storj (not the whitepaper's HMAC-SHA256). All functions are thread-safe; a
 * ts_sha256_ctx belongs to one thread at a time.
 */
#ifndef TS_CRYPTO_HASH_H
#define TS_CRYPTO_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define TS_SHA256_SIZE 32
#define TS_SHA512_SIZE 64

/* One-shot digests. data may be NULL when len is 0. TS_ERR_CRYPTO on a library failure. */
TS_WARN_UNUSED ts_err ts_sha256(const void *data, size_t len, uint8_t out[TS_SHA256_SIZE]);
TS_WARN_UNUSED ts_err ts_sha512(const void *data, size_t len, uint8_t out[TS_SHA512_SIZE]);

/* Streaming SHA-256 (piece hashes are computed while bytes arrive). An opaque heap object that
 * wraps one EVP_MD_CTX. _final writes the digest and resets the context, so the same context
 * hashes the next message without a new allocation. _free(NULL) is a no-op. */
struct ts_sha256_ctx;
TS_WARN_UNUSED ts_err ts_sha256_ctx_new(struct ts_sha256_ctx **out);
TS_WARN_UNUSED ts_err ts_sha256_ctx_update(struct ts_sha256_ctx *ctx, const void *data, size_t len);
TS_WARN_UNUSED ts_err ts_sha256_ctx_final(struct ts_sha256_ctx *ctx, uint8_t out[TS_SHA256_SIZE]);
void ts_sha256_ctx_free(struct ts_sha256_ctx *ctx);

/* HMACs. key may be NULL when key_len is 0, msg may be NULL when msg_len is 0. */
TS_WARN_UNUSED ts_err ts_hmac_sha256(const uint8_t *key, size_t key_len, const void *msg,
                                     size_t msg_len, uint8_t out[TS_SHA256_SIZE]);
TS_WARN_UNUSED ts_err ts_hmac_sha512(const uint8_t *key, size_t key_len, const void *msg,
                                     size_t msg_len, uint8_t out[TS_SHA512_SIZE]);

/* DeriveKey (reference §3.4): out = HMAC-SHA512(key, msg)[:32]. out may alias key. */
TS_WARN_UNUSED ts_err ts_key_derive(const uint8_t key[32], const void *msg, size_t msg_len,
                                    uint8_t out[32]);

/* Fills out with len bytes from the OpenSSL CSPRNG. TS_ERR_CRYPTO if it cannot (never returns
 * predictable bytes: on failure out is zeroed and the caller must not use it). */
TS_WARN_UNUSED ts_err ts_random_bytes(void *out, size_t len);

#endif
