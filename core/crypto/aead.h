/*
 * AES-256-GCM as Tessera uses it (reference §3.1): a 32-byte key, the first 12 bytes of a 24-byte
 * nonce, no associated data, and the 16-byte tag appended to the ciphertext. Used for small items
 * (wrapped keys, metadata, inline segments, path components); bulk segment data goes through
 * segment.h, which reuses one cipher context per segment.
 *
 * Opening never releases unverified plaintext: on a bad tag the output is wiped and
 * TS_ERR_AUTH_FAILED is returned. Thread-safe (no shared state).
 */
#ifndef TS_CRYPTO_AEAD_H
#define TS_CRYPTO_AEAD_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define TS_AESGCM_KEY_SIZE 32
#define TS_AESGCM_TAG_SIZE 16
/* Nonces are 24 bytes (Storj's storj.Nonce); AES-GCM reads the first 12. */
#define TS_AESGCM_NONCE_SIZE 24
/* A wrapped 32-byte key: ciphertext plus tag. */
#define TS_WRAPPED_KEY_SIZE 48

/* Encrypts len bytes of in (NULL allowed when len is 0) into out, which must hold len + 16
 * bytes (ciphertext then tag). in and out may be the same buffer. TS_ERR_TOO_LARGE when len
 * exceeds INT_MAX - 16; TS_ERR_CRYPTO on a library failure. */
TS_WARN_UNUSED ts_err ts_aesgcm_seal(const uint8_t key[32], const uint8_t nonce[24],
                                     const uint8_t *in, size_t len, uint8_t *out);

/* Decrypts and verifies in_len bytes (ciphertext then tag) into out, which must hold
 * in_len - 16 bytes. in and out may be the same buffer. TS_ERR_MALFORMED when in_len < 16,
 * TS_ERR_AUTH_FAILED (out wiped) when the tag does not verify. */
TS_WARN_UNUSED ts_err ts_aesgcm_open(const uint8_t key[32], const uint8_t nonce[24],
                                     const uint8_t *in, size_t in_len, uint8_t *out);

/* Adds amount to the 24-byte nonce read as a little-endian integer (reference §3.2), with carry
 * across all 24 bytes (wrapping at 2^192). */
void ts_nonce_add(uint8_t nonce[24], uint64_t amount);

/* Key wrapping (reference §3.2 item 4, §3.3): a content or metadata key sealed under a key
 * encryption key derived from the object path. out / in are 48 bytes (32 + tag).
 * Unwrap returns TS_ERR_AUTH_FAILED (out wiped) when the wrapped key was altered or the kek is
 * wrong. */
TS_WARN_UNUSED ts_err ts_key_wrap(const uint8_t kek[32], const uint8_t nonce[24],
                                  const uint8_t key[32], uint8_t out[TS_WRAPPED_KEY_SIZE]);
TS_WARN_UNUSED ts_err ts_key_unwrap(const uint8_t kek[32], const uint8_t nonce[24],
                                    const uint8_t in[TS_WRAPPED_KEY_SIZE], uint8_t out[32]);

#endif
