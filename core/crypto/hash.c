/* SHA-256/512, HMAC, DeriveKey and randomness on OpenSSL 3. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "base/base.h"
#include "crypto/crypto_internal.h"
#include "crypto/hash.h"

struct ts_sha256_ctx {
    EVP_MD_CTX *md; /* initialised for SHA-256 and ready for updates */
};

/* OpenSSL wants a real pointer even for empty input. */
static const uint8_t empty_input[1];

static ts_err digest(const EVP_MD *md, const void *data, size_t len, uint8_t *out)
{
    if (md == NULL) {
        return TS_ERR_CRYPTO;
    }
    if (EVP_Digest(len ? data : empty_input, len, out, NULL, md, NULL) != 1) {
        return ts_crypto_openssl_fail("EVP_Digest");
    }
    return TS_OK;
}

ts_err ts_sha256(const void *data, size_t len, uint8_t out[TS_SHA256_SIZE])
{
    return digest(ts_crypto_sha256_md(), data, len, out);
}

ts_err ts_sha512(const void *data, size_t len, uint8_t out[TS_SHA512_SIZE])
{
    return digest(ts_crypto_sha512_md(), data, len, out);
}

ts_err ts_sha256_ctx_new(struct ts_sha256_ctx **out)
{
    *out = NULL;
    const EVP_MD *md = ts_crypto_sha256_md();
    if (md == NULL) {
        return TS_ERR_CRYPTO;
    }
    struct ts_sha256_ctx *ctx = calloc(1, sizeof(*ctx));
    if (ctx == NULL) {
        return TS_ERR_NOMEM;
    }
    ctx->md = EVP_MD_CTX_new();
    if (ctx->md == NULL) {
        free(ctx);
        return TS_ERR_NOMEM;
    }
    if (EVP_DigestInit_ex(ctx->md, md, NULL) != 1) {
        ts_sha256_ctx_free(ctx);
        return ts_crypto_openssl_fail("EVP_DigestInit_ex(SHA256)");
    }
    *out = ctx;
    return TS_OK;
}

ts_err ts_sha256_ctx_update(struct ts_sha256_ctx *ctx, const void *data, size_t len)
{
    if (len == 0) {
        return TS_OK;
    }
    if (EVP_DigestUpdate(ctx->md, data, len) != 1) {
        return ts_crypto_openssl_fail("EVP_DigestUpdate");
    }
    return TS_OK;
}

ts_err ts_sha256_ctx_final(struct ts_sha256_ctx *ctx, uint8_t out[TS_SHA256_SIZE])
{
    if (EVP_DigestFinal_ex(ctx->md, out, NULL) != 1) {
        return ts_crypto_openssl_fail("EVP_DigestFinal_ex");
    }
    /* Re-arm for the next message; the fetched MD stays attached to the context. */
    if (EVP_DigestInit_ex(ctx->md, NULL, NULL) != 1) {
        return ts_crypto_openssl_fail("EVP_DigestInit_ex(reset)");
    }
    return TS_OK;
}

void ts_sha256_ctx_free(struct ts_sha256_ctx *ctx)
{
    if (ctx == NULL) {
        return;
    }
    EVP_MD_CTX_free(ctx->md);
    free(ctx);
}

static ts_err hmac(const EVP_MD *md, const uint8_t *key, size_t key_len, const void *msg,
                   size_t msg_len, uint8_t *out)
{
    if (md == NULL) {
        return TS_ERR_CRYPTO;
    }
    if (key_len > INT_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    unsigned int out_len = 0;
    if (HMAC(md, key_len ? (const void *)key : empty_input, (int)key_len,
             msg_len ? msg : empty_input, msg_len, out, &out_len) == NULL) {
        return ts_crypto_openssl_fail("HMAC");
    }
    return TS_OK;
}

ts_err ts_hmac_sha256(const uint8_t *key, size_t key_len, const void *msg, size_t msg_len,
                      uint8_t out[TS_SHA256_SIZE])
{
    return hmac(ts_crypto_sha256_md(), key, key_len, msg, msg_len, out);
}

ts_err ts_hmac_sha512(const uint8_t *key, size_t key_len, const void *msg, size_t msg_len,
                      uint8_t out[TS_SHA512_SIZE])
{
    return hmac(ts_crypto_sha512_md(), key, key_len, msg, msg_len, out);
}

ts_err ts_key_derive(const uint8_t key[32], const void *msg, size_t msg_len, uint8_t out[32])
{
    uint8_t full[TS_SHA512_SIZE];
    ts_err err = ts_hmac_sha512(key, 32, msg, msg_len, full);
    if (err == TS_OK) {
        memcpy(out, full, 32);
    }
    ts_wipe(full, sizeof(full));
    return err;
}

ts_err ts_random_bytes(void *out, size_t len)
{
    uint8_t *p = out;
    size_t left = len;
    while (left > 0) {
        int n = left > (1u << 30) ? (1 << 30) : (int)left;
        if (RAND_bytes(p, n) != 1) {
            ts_wipe(out, len);
            return ts_crypto_openssl_fail("RAND_bytes");
        }
        p += n;
        left -= (size_t)n;
    }
    return TS_OK;
}
