/* Segment content encryption in 7,424-byte AES-256-GCM blocks with reusable cipher contexts. */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "base/base.h"
#include "base/pad.h"
#include "crypto/aead.h"
#include "crypto/crypto_internal.h"
#include "crypto/segment.h"

#define PLAIN_BLOCK TS_ENCRYPTION_PLAIN_BLOCK_SIZE
#define CIPHER_BLOCK TS_ENCRYPTION_BLOCK_SIZE

_Static_assert(PLAIN_BLOCK > TS_PAD_COUNT_SIZE, "padding fits in one block");

/* One direction: an OpenSSL context keyed with key_cache (valid when keyed is set). */
struct keyed_ctx {
    EVP_CIPHER_CTX *ctx;
    uint8_t key_cache[TS_KEY_SIZE];
    int keyed;
};

struct ts_segment_cipher {
    struct keyed_ctx enc;
    struct keyed_ctx dec;
    /* The padded tail of a segment: the last partial block plus, when the 4-byte count does not
     * fit, one more block. Wiped after each use. */
    uint8_t tail[2 * PLAIN_BLOCK];
};

ts_err ts_segment_cipher_new(struct ts_segment_cipher **out)
{
    *out = NULL;
    if (ts_crypto_aes256gcm() == NULL) {
        return TS_ERR_CRYPTO;
    }
    struct ts_segment_cipher *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return TS_ERR_NOMEM;
    }
    c->enc.ctx = EVP_CIPHER_CTX_new();
    c->dec.ctx = EVP_CIPHER_CTX_new();
    if (c->enc.ctx == NULL || c->dec.ctx == NULL) {
        ts_segment_cipher_free(c);
        return TS_ERR_NOMEM;
    }
    *out = c;
    return TS_OK;
}

void ts_segment_cipher_free(struct ts_segment_cipher *c)
{
    if (c == NULL) {
        return;
    }
    EVP_CIPHER_CTX_free(c->enc.ctx); /* cleanses the expanded keys */
    EVP_CIPHER_CTX_free(c->dec.ctx);
    ts_wipe(c, sizeof(*c));
    free(c);
}

void ts_segment_start_nonce(int32_t part, int32_t index, uint8_t out[24])
{
    memset(out, 0, TS_NONCE_SIZE);
    /* Computed as Storj does: the int64 (part << 32 | (index + 1)) added to a zero nonce. */
    uint64_t position = ((uint64_t)(uint32_t)part << 32) + (uint64_t)((int64_t)index + 1);
    ts_nonce_add(out, position);
}

size_t ts_segment_block_count(size_t plain_len)
{
    return ts_pad_padded_size(plain_len, PLAIN_BLOCK) / PLAIN_BLOCK;
}

size_t ts_segment_encrypted_size(size_t plain_len)
{
    return ts_segment_block_count(plain_len) * CIPHER_BLOCK;
}

/* Sets the key (only when it changed: the AES key schedule and GHASH tables cost more than a
 * block) and the IV for one block. */
static ts_err block_setup(struct keyed_ctx *k, int encrypt, const uint8_t key[32],
                          const uint8_t start_nonce[24], uint64_t block_index)
{
    uint8_t nonce[TS_NONCE_SIZE];
    memcpy(nonce, start_nonce, sizeof(nonce));
    ts_nonce_add(nonce, block_index);
    const EVP_CIPHER *cipher = NULL;
    const uint8_t *new_key = NULL;
    if (!k->keyed || !ts_ct_equal(k->key_cache, key, TS_KEY_SIZE)) {
        cipher = ts_crypto_aes256gcm();
        new_key = key;
        k->keyed = 0;
    }
    if (EVP_CipherInit_ex(k->ctx, cipher, NULL, new_key, nonce, encrypt) != 1) {
        return ts_crypto_openssl_fail("AES-256-GCM block init");
    }
    if (new_key != NULL) {
        memcpy(k->key_cache, key, TS_KEY_SIZE);
        k->keyed = 1;
    }
    return TS_OK;
}

ts_err ts_segment_cipher_encrypt_block(struct ts_segment_cipher *c, const uint8_t key[32],
                                       const uint8_t start_nonce[24], uint64_t block_index,
                                       const uint8_t *plain, uint8_t *out)
{
    ts_err err = block_setup(&c->enc, 1, key, start_nonce, block_index);
    if (err != TS_OK) {
        return err;
    }
    int n = 0;
    uint8_t fin[TS_GCM_TAG_SIZE];
    if (EVP_EncryptUpdate(c->enc.ctx, out, &n, plain, PLAIN_BLOCK) != 1 ||
        EVP_EncryptFinal_ex(c->enc.ctx, fin, &n) != 1 ||
        EVP_CIPHER_CTX_ctrl(c->enc.ctx, EVP_CTRL_AEAD_GET_TAG, TS_GCM_TAG_SIZE,
                            out + PLAIN_BLOCK) != 1) {
        c->enc.keyed = 0;
        return ts_crypto_openssl_fail("AES-256-GCM block encrypt");
    }
    return TS_OK;
}

ts_err ts_segment_cipher_decrypt_block(struct ts_segment_cipher *c, const uint8_t key[32],
                                       const uint8_t start_nonce[24], uint64_t block_index,
                                       const uint8_t *cipher, uint8_t *out)
{
    ts_err err = block_setup(&c->dec, 0, key, start_nonce, block_index);
    if (err != TS_OK) {
        return err;
    }
    uint8_t tag[TS_GCM_TAG_SIZE];
    memcpy(tag, cipher + PLAIN_BLOCK, sizeof(tag));
    int n = 0;
    uint8_t fin[TS_GCM_TAG_SIZE];
    if (EVP_CIPHER_CTX_ctrl(c->dec.ctx, EVP_CTRL_AEAD_SET_TAG, sizeof(tag), tag) != 1 ||
        EVP_DecryptUpdate(c->dec.ctx, out, &n, cipher, PLAIN_BLOCK) != 1) {
        c->dec.keyed = 0;
        ts_wipe(out, PLAIN_BLOCK);
        return ts_crypto_openssl_fail("AES-256-GCM block decrypt");
    }
    if (EVP_DecryptFinal_ex(c->dec.ctx, fin, &n) != 1) {
        ts_wipe(out, PLAIN_BLOCK);
        return TS_ERR_AUTH_FAILED;
    }
    return TS_OK;
}

ts_err ts_segment_encrypt(struct ts_segment_cipher *c, const uint8_t key[32],
                          const uint8_t start_nonce[24], const uint8_t *plain, size_t plain_len,
                          uint8_t *out)
{
    if (plain_len > TS_SEGMENT_SIZE_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    size_t blocks = ts_segment_block_count(plain_len);
    size_t direct = plain_len / PLAIN_BLOCK; /* whole blocks encrypted straight from plain */
    ts_err err = TS_OK;
    for (size_t b = 0; b < direct && err == TS_OK; b++) {
        err = ts_segment_cipher_encrypt_block(c, key, start_nonce, b, plain + b * PLAIN_BLOCK,
                                              out + b * CIPHER_BLOCK);
    }
    size_t rest = plain_len - direct * PLAIN_BLOCK;
    size_t tail_len = (blocks - direct) * PLAIN_BLOCK;
    TS_ASSERT(tail_len >= PLAIN_BLOCK && tail_len <= sizeof(c->tail));
    if (rest > 0) {
        memcpy(c->tail, plain + direct * PLAIN_BLOCK, rest);
    }
    ts_pad_write(c->tail + rest, tail_len - rest);
    for (size_t b = direct; b < blocks && err == TS_OK; b++) {
        err = ts_segment_cipher_encrypt_block(
            c, key, start_nonce, b, c->tail + (b - direct) * PLAIN_BLOCK, out + b * CIPHER_BLOCK);
    }
    ts_wipe(c->tail, tail_len);
    return err;
}

ts_err ts_segment_decrypt(struct ts_segment_cipher *c, const uint8_t key[32],
                          const uint8_t start_nonce[24], const uint8_t *cipher, size_t cipher_len,
                          uint8_t *out, size_t *plain_len)
{
    *plain_len = 0;
    if (cipher_len == 0 || cipher_len % CIPHER_BLOCK != 0) {
        return TS_ERR_MALFORMED;
    }
    if (cipher_len > ts_segment_encrypted_size(TS_SEGMENT_SIZE_MAX)) {
        return TS_ERR_TOO_LARGE;
    }
    size_t blocks = cipher_len / CIPHER_BLOCK;
    ts_err err = TS_OK;
    for (size_t b = 0; b < blocks && err == TS_OK; b++) {
        err = ts_segment_cipher_decrypt_block(c, key, start_nonce, b, cipher + b * CIPHER_BLOCK,
                                              out + b * PLAIN_BLOCK);
    }
    size_t len = 0;
    if (err == TS_OK && ts_pad_strip(out, blocks * PLAIN_BLOCK, &len) != TS_OK) {
        err = TS_ERR_MALFORMED;
    }
    if (err != TS_OK) {
        ts_wipe(out, blocks * PLAIN_BLOCK);
        return err;
    }
    *plain_len = len;
    return TS_OK;
}

ts_err ts_inline_encrypt(const uint8_t key[32], const uint8_t nonce[24], const uint8_t *plain,
                         size_t len, uint8_t *out)
{
    if (len > TS_INLINE_SIZE_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    return ts_aesgcm_seal(key, nonce, plain, len, out);
}

ts_err ts_inline_decrypt(const uint8_t key[32], const uint8_t nonce[24], const uint8_t *in,
                         size_t in_len, uint8_t *out)
{
    if (in_len > TS_INLINE_SIZE_MAX + TS_GCM_TAG_SIZE) {
        return TS_ERR_TOO_LARGE;
    }
    return ts_aesgcm_open(key, nonce, in, in_len, out);
}
