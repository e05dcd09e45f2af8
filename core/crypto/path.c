/* Path (object key) encryption: per-component key derivation, deterministic AES-GCM, escaping. */
#include <string.h>

#include "base/base.h"
#include "base/buf.h"
#include "crypto/aead.h"
#include "crypto/hash.h"
#include "crypto/path.h"

#define PATH_PREFIX "path:"
#define PATH_PREFIX_LEN 5
/* A sealed component: the 12 GCM nonce bytes, the ciphertext and the tag. */
#define COMPONENT_NONCE_SIZE TS_GCM_NONCE_SIZE
#define COMPONENT_OVERHEAD (COMPONENT_NONCE_SIZE + TS_GCM_TAG_SIZE)
/* Longest component either direction handles: a whole encrypted key (decrypting EncNull). */
#define COMPONENT_MAX TS_ENCRYPTED_KEY_MAX

/* Escape bytes (reference §3.4). */
#define ESC_EMPTY 0x01
#define ESC_NOT_EMPTY 0x02

/* k_next = DeriveKey(k, "path:" + component). k_next may alias k. */
static ts_err derive_component_key(const uint8_t k[32], const uint8_t *comp, size_t len,
                                   uint8_t k_next[32])
{
    uint8_t msg[PATH_PREFIX_LEN + COMPONENT_MAX];
    TS_ASSERT(len <= COMPONENT_MAX);
    memcpy(msg, PATH_PREFIX, PATH_PREFIX_LEN);
    if (len > 0) {
        memcpy(msg + PATH_PREFIX_LEN, comp, len);
    }
    ts_err err = ts_key_derive(k, msg, PATH_PREFIX_LEN + len, k_next);
    ts_wipe(msg, PATH_PREFIX_LEN + len);
    return err;
}

/* The deterministic nonce of a component whose own key is k_child: HMAC-SHA512(k_child, "nonce")
 * truncated to the nonce size (only the first 12 bytes reach GCM). */
static ts_err component_nonce(const uint8_t k_child[32], uint8_t nonce[TS_NONCE_SIZE])
{
    uint8_t mac[TS_SHA512_SIZE];
    ts_err err = ts_hmac_sha512(k_child, 32, "nonce", 5, mac);
    memcpy(nonce, mac, TS_NONCE_SIZE);
    ts_wipe(mac, sizeof(mac));
    return err;
}

static int needs_escape(uint8_t b)
{
    return b == 0x2e || b == 0x2f || b == 0xfe || b == 0xff || b == 0x00 || b == 0x01;
}

ts_err ts_path_component_escape(const uint8_t *in, size_t len, struct ts_buf *out)
{
    if (len == 0) {
        return ts_buf_append_byte(out, ESC_EMPTY);
    }
    size_t escaped_len = 1 + len;
    for (size_t i = 0; i < len; i++) {
        escaped_len += (size_t)needs_escape(in[i]);
    }
    ts_err err = ts_buf_reserve(out, escaped_len);
    if (err != TS_OK) {
        return err;
    }
    uint8_t *p = out->data + out->len;
    *p++ = ESC_NOT_EMPTY;
    for (size_t i = 0; i < len; i++) {
        uint8_t b = in[i];
        if (!needs_escape(b)) {
            *p++ = b;
            continue;
        }
        /* 2e,2f -> 2e 01|02; fe,ff -> fe 01|02; 00,01 -> 01 01|02 */
        uint8_t base = (uint8_t)(b & 0xfe);
        *p++ = base == 0x00 ? 0x01 : base;
        *p++ = (uint8_t)((b & 1) + 1);
    }
    out->len += escaped_len;
    out->data[out->len] = 0; /* ts_buf keeps its contents NUL-terminated */
    return TS_OK;
}

/* Validates an escaped component and returns its unescaped length, or SIZE_MAX when escape could
 * not have produced it (so every component has exactly one encoding). */
static size_t unescaped_length(const uint8_t *in, size_t len)
{
    if (len == 1 && in[0] == ESC_EMPTY) {
        return 0;
    }
    if (len < 2 || in[0] != ESC_NOT_EMPTY) {
        return SIZE_MAX;
    }
    size_t n = 0;
    for (size_t i = 1; i < len; i++, n++) {
        uint8_t b = in[i];
        if (b == 0x00 || b == 0x2f || b == 0xff) {
            return SIZE_MAX;
        }
        if (b == 0x2e || b == 0xfe || b == 0x01) {
            if (i + 1 >= len || (in[i + 1] != 1 && in[i + 1] != 2)) {
                return SIZE_MAX;
            }
            i++;
        }
    }
    return n;
}

ts_err ts_path_component_unescape(const uint8_t *in, size_t len, struct ts_buf *out)
{
    size_t n = unescaped_length(in, len);
    if (n == SIZE_MAX) {
        return TS_ERR_MALFORMED;
    }
    if (n == 0) {
        return TS_OK;
    }
    ts_err err = ts_buf_reserve(out, n);
    if (err != TS_OK) {
        return err;
    }
    uint8_t *p = out->data + out->len;
    for (size_t i = 1; i < len; i++) {
        uint8_t b = in[i];
        if (b == 0x2e || b == 0xfe || b == 0x01) {
            uint8_t base = b == 0x01 ? 0x00 : b;
            b = (uint8_t)(base + in[++i] - 1);
        }
        *p++ = b;
    }
    out->len += n;
    out->data[out->len] = 0;
    return TS_OK;
}

/* Length of the component starting at p (up to the next '/' or the end). */
static size_t component_length(const uint8_t *p, size_t left)
{
    const uint8_t *slash = memchr(p, '/', left);
    return slash ? (size_t)(slash - p) : left;
}

/* Appends escape(nonce[:12] || AES-GCM_{k_parent}(nonce, comp)) to out. */
static ts_err encrypt_component(const uint8_t k_parent[32], const uint8_t k_child[32],
                                const uint8_t *comp, size_t len, struct ts_buf *out)
{
    uint8_t nonce[TS_NONCE_SIZE];
    uint8_t sealed[COMPONENT_OVERHEAD + TS_OBJECT_KEY_MAX];
    TS_ASSERT(len <= TS_OBJECT_KEY_MAX);
    ts_err err = component_nonce(k_child, nonce);
    if (err == TS_OK) {
        memcpy(sealed, nonce, COMPONENT_NONCE_SIZE);
        err = ts_aesgcm_seal(k_parent, nonce, comp, len, sealed + COMPONENT_NONCE_SIZE);
    }
    if (err == TS_OK) {
        err = ts_path_component_escape(sealed, COMPONENT_OVERHEAD + len, out);
    }
    return err;
}

/* Opens one unescaped component under k_parent into plain (returns its length in *len), derives
 * the child key, and checks that the nonce is the one the child key dictates. */
static ts_err decrypt_component(const uint8_t k_parent[32], const uint8_t *sealed,
                                size_t sealed_len, uint8_t *plain, size_t *len, uint8_t k_child[32])
{
    if (sealed_len < COMPONENT_OVERHEAD) {
        return TS_ERR_MALFORMED;
    }
    uint8_t nonce[TS_NONCE_SIZE] = {0};
    memcpy(nonce, sealed, COMPONENT_NONCE_SIZE);
    size_t plain_len = sealed_len - COMPONENT_OVERHEAD;
    ts_err err = ts_aesgcm_open(k_parent, nonce, sealed + COMPONENT_NONCE_SIZE,
                                sealed_len - COMPONENT_NONCE_SIZE, plain);
    if (err == TS_OK) {
        err = derive_component_key(k_parent, plain, plain_len, k_child);
    }
    uint8_t expected[TS_NONCE_SIZE];
    if (err == TS_OK) {
        err = component_nonce(k_child, expected);
    }
    if (err == TS_OK && !ts_ct_equal(expected, nonce, COMPONENT_NONCE_SIZE)) {
        err = TS_ERR_AUTH_FAILED; /* sealed under the right key but not by ts_path_encrypt */
    }
    if (err != TS_OK) {
        ts_wipe(plain, plain_len);
        return err;
    }
    *len = plain_len;
    return TS_OK;
}

static int cipher_known(enum ts_path_cipher cipher)
{
    return cipher == TS_PATH_CIPHER_NULL || cipher == TS_PATH_CIPHER_AESGCM;
}

/* Undoes a failed append: wipes and drops everything after old_len. */
static void out_rollback(struct ts_buf *out, size_t old_len)
{
    if (out->len > old_len) {
        ts_wipe(out->data + old_len, out->len - old_len);
        ts_buf_truncate(out, old_len);
    }
}

ts_err ts_path_encrypt(enum ts_path_cipher cipher, const uint8_t start_key[32], const char *path,
                       size_t path_len, struct ts_buf *out, uint8_t last_key[32])
{
    if (!cipher_known(cipher)) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    if (path_len > TS_OBJECT_KEY_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    const uint8_t *p = (const uint8_t *)path;
    size_t old_len = out->len;
    uint8_t k[32], k_child[32];
    memcpy(k, start_key, sizeof(k));
    ts_err err = TS_OK;
    for (size_t pos = 0; path_len > 0 && pos <= path_len && err == TS_OK;) {
        size_t len = component_length(p + pos, path_len - pos);
        if (pos > 0) {
            err = ts_buf_append_byte(out, '/');
        }
        if (err == TS_OK) {
            err = derive_component_key(k, p + pos, len, k_child);
        }
        if (err == TS_OK) {
            err = cipher == TS_PATH_CIPHER_AESGCM ? encrypt_component(k, k_child, p + pos, len, out)
                                                  : ts_buf_append(out, p + pos, len);
        }
        memcpy(k, k_child, sizeof(k));
        pos += len + 1;
    }
    if (err == TS_OK && out->len - old_len > TS_ENCRYPTED_KEY_MAX) {
        err = TS_ERR_TOO_LARGE;
    }
    if (err != TS_OK) {
        out_rollback(out, old_len);
    } else if (last_key != NULL) {
        memcpy(last_key, k, sizeof(k));
    }
    ts_wipe(k, sizeof(k));
    ts_wipe(k_child, sizeof(k_child));
    return err;
}

/* Decrypts (or, for EncNull, passes through) one escaped component and appends it to out.
 * k advances to the component's key. */
static ts_err decrypt_one(enum ts_path_cipher cipher, uint8_t k[32], const uint8_t *enc, size_t len,
                          struct ts_buf *scratch, struct ts_buf *out)
{
    uint8_t plain[TS_ENCRYPTED_KEY_MAX];
    size_t plain_len = 0;
    ts_err err = TS_OK;
    if (cipher == TS_PATH_CIPHER_NULL) {
        err = derive_component_key(k, enc, len, k);
        return err == TS_OK ? ts_buf_append(out, enc, len) : err;
    }
    ts_buf_clear(scratch);
    err = ts_path_component_unescape(enc, len, scratch);
    if (err == TS_OK) {
        err = decrypt_component(k, scratch->data, scratch->len, plain, &plain_len, k);
    }
    if (err == TS_OK) {
        err = ts_buf_append(out, plain, plain_len);
    }
    ts_wipe(plain, plain_len);
    return err;
}

ts_err ts_path_decrypt(enum ts_path_cipher cipher, const uint8_t start_key[32], const uint8_t *enc,
                       size_t enc_len, struct ts_buf *out, uint8_t last_key[32])
{
    if (last_key != NULL) {
        memset(last_key, 0, 32);
    }
    if (!cipher_known(cipher)) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    if (enc_len > TS_ENCRYPTED_KEY_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    size_t old_len = out->len;
    struct ts_buf scratch;
    ts_buf_init(&scratch, TS_ENCRYPTED_KEY_MAX);
    uint8_t k[32];
    memcpy(k, start_key, sizeof(k));
    ts_err err = TS_OK;
    for (size_t pos = 0; enc_len > 0 && pos <= enc_len && err == TS_OK;) {
        size_t len = component_length(enc + pos, enc_len - pos);
        if (pos > 0) {
            err = ts_buf_append_byte(out, '/');
        }
        if (err == TS_OK) {
            err = decrypt_one(cipher, k, enc + pos, len, &scratch, out);
        }
        pos += len + 1;
    }
    if (err != TS_OK) {
        out_rollback(out, old_len);
    } else if (last_key != NULL) {
        memcpy(last_key, k, sizeof(k));
    }
    ts_wipe(k, sizeof(k));
    ts_buf_release(&scratch); /* holds only ciphertext */
    return err;
}

ts_err ts_path_derive_key(const uint8_t start_key[32], const char *path, size_t path_len,
                          uint8_t out[32])
{
    if (path_len > TS_OBJECT_KEY_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    const uint8_t *p = (const uint8_t *)path;
    uint8_t k[32];
    memcpy(k, start_key, sizeof(k));
    ts_err err = TS_OK;
    for (size_t pos = 0; path_len > 0 && pos <= path_len && err == TS_OK;) {
        size_t len = component_length(p + pos, path_len - pos);
        err = derive_component_key(k, p + pos, len, k);
        pos += len + 1;
    }
    if (err == TS_OK) {
        memcpy(out, k, sizeof(k));
    }
    ts_wipe(k, sizeof(k));
    return err;
}

ts_err ts_path_bucket_key(const uint8_t root_key[32], const char *bucket, uint8_t out[32])
{
    size_t len = strnlen(bucket, TS_BUCKET_NAME_MAX + 1);
    if (len > TS_BUCKET_NAME_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    return derive_component_key(root_key, (const uint8_t *)bucket, len, out);
}

ts_err ts_content_key_derive(const uint8_t last_key[32], uint8_t out[32])
{
    return ts_key_derive(last_key, "content", 7, out);
}
