/*
 * Object key ("path") encryption and the key hierarchy below a bucket (reference §3.4, §3.5).
 *
 * A path is split on '/' into components (empty components allowed: "a//b", "/a", "a/").
 * Keys walk down the components: k_0 is the bucket key (or a shared prefix's key),
 * k_i = DeriveKey(k_{i-1}, "path:" + p_i). With TS_PATH_CIPHER_AESGCM, component p_i is sealed
 * under k_{i-1} with nonce HMAC-SHA512(k_i, "nonce")[:12] (deterministic: equal paths encrypt
 * equally, so the satellite can look up and list encrypted keys), and nonce || ciphertext is
 * escaped so it never contains '/' (see docs/crypto.md). With TS_PATH_CIPHER_NULL the path is
 * stored as is, but keys are still derived the same way (content keys stay secret).
 * The empty path has no components: it encrypts to the empty string and its key is the start key.
 */
#ifndef TS_CRYPTO_PATH_H
#define TS_CRYPTO_PATH_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"

/* Values match Storj's CipherSuite numbers (and travel in access grants). */
enum ts_path_cipher { TS_PATH_CIPHER_NULL = 1, TS_PATH_CIPHER_AESGCM = 2 };

/* Starting key of a bucket under the root key: DeriveKey(root, "path:" + bucket).
 * bucket is a NUL-terminated name of at most TS_BUCKET_NAME_MAX bytes (TS_ERR_TOO_LARGE). */
TS_WARN_UNUSED ts_err ts_path_bucket_key(const uint8_t root_key[32], const char *bucket,
                                         uint8_t out[32]);

/* Encrypts path (path_len <= TS_OBJECT_KEY_MAX bytes, else TS_ERR_TOO_LARGE; any bytes) starting
 * from start_key and appends the encrypted path to out (the caller's ts_buf; its cap_max applies,
 * and the result is also bounded by TS_ENCRYPTED_KEY_MAX: TS_ERR_TOO_LARGE past either).
 * last_key (may be NULL) receives the key of the last component, from which the content key is
 * derived. TS_ERR_INVALID_ARGUMENT for an unknown cipher. On error out keeps its old length. */
TS_WARN_UNUSED ts_err ts_path_encrypt(enum ts_path_cipher cipher, const uint8_t start_key[32],
                                      const char *path, size_t path_len, struct ts_buf *out,
                                      uint8_t last_key[32]);

/* Decrypts an encrypted path (enc_len <= TS_ENCRYPTED_KEY_MAX, else TS_ERR_TOO_LARGE) and appends
 * the plaintext to out. TS_ERR_MALFORMED for a bad escape sequence or a component too short to
 * hold nonce and tag, TS_ERR_AUTH_FAILED when a component does not verify under the key derived so
 * far (wrong key, wrong bucket, or reordered/altered components). On error out is left at its
 * old length (no unverified plaintext) and last_key is zeroed. */
TS_WARN_UNUSED ts_err ts_path_decrypt(enum ts_path_cipher cipher, const uint8_t start_key[32],
                                      const uint8_t *enc, size_t enc_len, struct ts_buf *out,
                                      uint8_t last_key[32]);

/* Walks the components of path (<= TS_OBJECT_KEY_MAX) from start_key without encrypting: the key
 * of a prefix, handed out when sharing it. Deriving "a/b" and then "c" from that key equals
 * deriving "a/b/c". A trailing '/' adds an empty component, so share "a/b", not "a/b/". */
TS_WARN_UNUSED ts_err ts_path_derive_key(const uint8_t start_key[32], const char *path,
                                         size_t path_len, uint8_t out[32]);

/* The object's content key (wraps segment and metadata keys): DeriveKey(k_last, "content"). */
TS_WARN_UNUSED ts_err ts_content_key_derive(const uint8_t last_key[32], uint8_t out[32]);

/* Component escaping, exposed for tests and tools. Escape appends to out: empty input -> 0x01,
 * else 0x02 then the bytes with 2e->2e 01, 2f->2e 02, fe->fe 01, ff->fe 02, 00->01 01,
 * 01->01 02. The result never holds 0x2f, 0x00 or 0xff. Unescape appends the original bytes;
 * TS_ERR_MALFORMED for anything escape cannot produce. */
TS_WARN_UNUSED ts_err ts_path_component_escape(const uint8_t *in, size_t len, struct ts_buf *out);
TS_WARN_UNUSED ts_err ts_path_component_unescape(const uint8_t *in, size_t len, struct ts_buf *out);

#endif
