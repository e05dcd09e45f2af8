/* One-shot AES-256-GCM (12-byte IV from a 24-byte nonce, no AAD, tag appended) and nonce math. */
#include <limits.h>
#include <string.h>

#include <openssl/evp.h>

#include "base/base.h"
#include "crypto/aead.h"
#include "crypto/crypto_internal.h"

_Static_assert(TS_AESGCM_TAG_SIZE == TS_GCM_TAG_SIZE, "one tag size");
_Static_assert(TS_AESGCM_NONCE_SIZE == TS_NONCE_SIZE, "one nonce size");

/* GCM's default IV length is 12 bytes, so the 24-byte nonce pointer is passed as is. */
ts_err ts_aesgcm_seal(const uint8_t key[32], const uint8_t nonce[24], const uint8_t *in, size_t len,
                      uint8_t *out)
{
    const EVP_CIPHER *cipher = ts_crypto_aes256gcm();
    if (cipher == NULL) {
        return TS_ERR_CRYPTO;
    }
    if (len > INT_MAX - TS_AESGCM_TAG_SIZE) {
        return TS_ERR_TOO_LARGE;
    }
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) {
        return TS_ERR_NOMEM;
    }
    ts_err err = TS_ERR_CRYPTO;
    int n = 0;
    uint8_t tail[TS_AESGCM_TAG_SIZE]; /* GCM's final step writes no bytes */
    if (EVP_EncryptInit_ex(ctx, cipher, NULL, key, nonce) != 1) {
        goto done;
    }
    if (len > 0 && EVP_EncryptUpdate(ctx, out, &n, in, (int)len) != 1) {
        goto done;
    }
    if (EVP_EncryptFinal_ex(ctx, tail, &n) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, TS_AESGCM_TAG_SIZE, out + len) != 1) {
        goto done;
    }
    err = TS_OK;
done:
    if (err != TS_OK) {
        err = ts_crypto_openssl_fail("AES-256-GCM seal");
    }
    EVP_CIPHER_CTX_free(ctx); /* also cleanses the key schedule */
    return err;
}

ts_err ts_aesgcm_open(const uint8_t key[32], const uint8_t nonce[24], const uint8_t *in,
                      size_t in_len, uint8_t *out)
{
    const EVP_CIPHER *cipher = ts_crypto_aes256gcm();
    if (cipher == NULL) {
        return TS_ERR_CRYPTO;
    }
    if (in_len < TS_AESGCM_TAG_SIZE) {
        return TS_ERR_MALFORMED;
    }
    if (in_len > INT_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    size_t len = in_len - TS_AESGCM_TAG_SIZE;
    uint8_t tag[TS_AESGCM_TAG_SIZE];
    memcpy(tag, in + len, sizeof(tag)); /* before out (which may alias in) is written */
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) {
        return TS_ERR_NOMEM;
    }
    ts_err err = TS_ERR_CRYPTO;
    int n = 0;
    uint8_t tail[TS_AESGCM_TAG_SIZE]; /* GCM's final step writes no bytes */
    if (EVP_DecryptInit_ex(ctx, cipher, NULL, key, nonce) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, sizeof(tag), tag) != 1) {
        err = ts_crypto_openssl_fail("AES-256-GCM open init");
        goto done;
    }
    if (len > 0 && EVP_DecryptUpdate(ctx, out, &n, in, (int)len) != 1) {
        err = ts_crypto_openssl_fail("AES-256-GCM open");
        goto done;
    }
    /* A tag mismatch is an operating error (forgery or corruption), not a library failure. */
    err = EVP_DecryptFinal_ex(ctx, tail, &n) == 1 ? TS_OK : TS_ERR_AUTH_FAILED;
done:
    if (err != TS_OK) {
        ts_wipe(out, len);
    }
    EVP_CIPHER_CTX_free(ctx);
    return err;
}

void ts_nonce_add(uint8_t nonce[24], uint64_t amount)
{
    unsigned carry = 0;
    for (size_t i = 0; i < TS_AESGCM_NONCE_SIZE; i++) {
        unsigned sum = nonce[i] + (unsigned)(amount & 0xff) + carry;
        nonce[i] = (uint8_t)sum;
        carry = sum >> 8;
        amount >>= 8;
        if (amount == 0 && carry == 0) {
            break;
        }
    }
}

ts_err ts_key_wrap(const uint8_t kek[32], const uint8_t nonce[24], const uint8_t key[32],
                   uint8_t out[TS_WRAPPED_KEY_SIZE])
{
    return ts_aesgcm_seal(kek, nonce, key, 32, out);
}

ts_err ts_key_unwrap(const uint8_t kek[32], const uint8_t nonce[24],
                     const uint8_t in[TS_WRAPPED_KEY_SIZE], uint8_t out[32])
{
    return ts_aesgcm_open(kek, nonce, in, TS_WRAPPED_KEY_SIZE, out);
}
