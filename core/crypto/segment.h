/*
 * Segment content encryption (reference §3.2). A segment's plaintext is padded with the rule of
 * base/pad.h to a whole number of 7,408-byte blocks, and each block is sealed with AES-256-GCM
 * into one 7,424-byte ciphertext block (7,408 + 16-byte tag) = exactly one production stripe, so a
 * range read fetches and decrypts whole stripes. Block j of a segment uses nonce start + j, where
 * the start nonce is a zero nonce plus (part << 32 | (index + 1)).
 *
 * A ts_segment_cipher holds reusable OpenSSL contexts: the key schedule is computed once per key
 * (the cipher remembers the last key) and each block only sets a new IV, so per-block cost is
 * the raw AES-GCM cost. One cipher per thread; not thread-safe.
 */
#ifndef TS_CRYPTO_SEGMENT_H
#define TS_CRYPTO_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/limits.h"

/* Plaintext bytes per encryption block: TS_ENCRYPTION_BLOCK_SIZE (7,424) minus the GCM tag. */
#define TS_ENCRYPTION_PLAIN_BLOCK_SIZE (TS_ENCRYPTION_BLOCK_SIZE - TS_GCM_TAG_SIZE)

struct ts_segment_cipher;

/* Lifecycle. _free wipes the remembered key and any scratch plaintext; _free(NULL) is a no-op.
 * TS_ERR_NOMEM / TS_ERR_CRYPTO when the contexts cannot be created. */
TS_WARN_UNUSED ts_err ts_segment_cipher_new(struct ts_segment_cipher **out);
void ts_segment_cipher_free(struct ts_segment_cipher *c);

/* Sizes and nonces. */
/* The starting nonce of segment (part, index): zero nonce + ((uint64)part << 32 | (index + 1)). */
void ts_segment_start_nonce(int32_t part, int32_t index, uint8_t out[24]);
/* Ciphertext size of a segment of plain_len bytes: padded blocks x 7,424.
 * E.g. 64 MiB -> 9,059 blocks -> 67,254,016 bytes; 0 -> one block. */
size_t ts_segment_encrypted_size(size_t plain_len);
/* Number of encryption blocks (= stripes) for plain_len bytes: ceil((plain_len + 4) / 7,408). */
size_t ts_segment_block_count(size_t plain_len);

/* One block. Block block_index uses nonce start_nonce + block_index. plain is 7,408 bytes, cipher
 * 7,424 bytes (ciphertext then tag). Decrypt returns TS_ERR_AUTH_FAILED and wipes out (7,408
 * bytes) when the block was altered, moved to another index, or the key is wrong. Range reads
 * decrypt from block floor(offset / 7,408) with that block index. */
TS_WARN_UNUSED ts_err ts_segment_cipher_encrypt_block(struct ts_segment_cipher *c,
                                                      const uint8_t key[32],
                                                      const uint8_t start_nonce[24],
                                                      uint64_t block_index, const uint8_t *plain,
                                                      uint8_t *out);
TS_WARN_UNUSED ts_err ts_segment_cipher_decrypt_block(struct ts_segment_cipher *c,
                                                      const uint8_t key[32],
                                                      const uint8_t start_nonce[24],
                                                      uint64_t block_index, const uint8_t *cipher,
                                                      uint8_t *out);

/* Whole segments. Encrypt pads the tail and writes ts_segment_encrypted_size(plain_len) bytes to
 * out; plain may be NULL when plain_len is 0. TS_ERR_TOO_LARGE above TS_SEGMENT_SIZE_MAX.
 * Decrypt takes cipher_len (a non-zero multiple of 7,424, else TS_ERR_MALFORMED; at most
 * ts_segment_encrypted_size(TS_SEGMENT_SIZE_MAX), else TS_ERR_TOO_LARGE), writes up to
 * cipher_len / 7,424 * 7,408 bytes to out and stores the unpadded length in *plain_len.
 * TS_ERR_AUTH_FAILED when any block fails, TS_ERR_MALFORMED when the padding is invalid; in both
 * cases out is wiped and *plain_len is 0. */
TS_WARN_UNUSED ts_err ts_segment_encrypt(struct ts_segment_cipher *c, const uint8_t key[32],
                                         const uint8_t start_nonce[24], const uint8_t *plain,
                                         size_t plain_len, uint8_t *out);
TS_WARN_UNUSED ts_err ts_segment_decrypt(struct ts_segment_cipher *c, const uint8_t key[32],
                                         const uint8_t start_nonce[24], const uint8_t *cipher,
                                         size_t cipher_len, uint8_t *out, size_t *plain_len);

/* Inline segments (reference §3.2 item 5): the whole plaintext (at most TS_INLINE_SIZE_MAX bytes,
 * else TS_ERR_TOO_LARGE) in one AES-GCM call with the segment's start nonce, no padding.
 * out holds len + 16 bytes. Decrypt writes in_len - 16 bytes; TS_ERR_MALFORMED when in_len < 16,
 * TS_ERR_AUTH_FAILED (out wiped) on a bad tag. */
TS_WARN_UNUSED ts_err ts_inline_encrypt(const uint8_t key[32], const uint8_t nonce[24],
                                        const uint8_t *plain, size_t len, uint8_t *out);
TS_WARN_UNUSED ts_err ts_inline_decrypt(const uint8_t key[32], const uint8_t nonce[24],
                                        const uint8_t *in, size_t in_len, uint8_t *out);

#endif
