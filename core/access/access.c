/*
 * The access object and its encryption store: entries, the default key, longest-prefix lookup,
 * and encryption and decryption of object keys from the best entry (reference §3.4, §3.5).
 */
#include <stdlib.h>
#include <string.h>

#include "access/access.h"
#include "access/access_internal.h"
#include "base/base.h"
#include "crypto/hash.h"

bool ts_access_bucket_valid(const char *name, size_t len)
{
    return name != NULL && len >= 1 && len <= TS_BUCKET_NAME_MAX && memchr(name, 0, len) == NULL;
}

bool ts_access_cipher_valid(enum ts_path_cipher cipher)
{
    return cipher == TS_PATH_CIPHER_NULL || cipher == TS_PATH_CIPHER_AESGCM;
}

bool ts_access_prefix_covers(const uint8_t *prefix, size_t prefix_len, const uint8_t *path,
                             size_t path_len)
{
    if (prefix_len == 0) {
        return true;
    }
    return path_len >= prefix_len && memcmp(prefix, path, prefix_len) == 0 &&
           (path_len == prefix_len || path[prefix_len] == '/');
}

ts_err ts_access_new(const char *satellite_url, const struct ts_macaroon *api_key,
                     struct ts_access **out)
{
    *out = NULL;
    size_t url_len = satellite_url ? strnlen(satellite_url, TS_NODE_URL_MAX + 1) : 0;
    if (url_len == 0) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    if (url_len > TS_NODE_URL_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    struct ts_access *a = calloc(1, sizeof *a);
    if (a == NULL) {
        return TS_ERR_NOMEM;
    }
    a->default_cipher = TS_PATH_CIPHER_AESGCM;
    a->satellite_url = strndup(satellite_url, url_len);
    ts_err err = a->satellite_url == NULL ? TS_ERR_NOMEM : TS_OK;
    if (err == TS_OK) {
        err = ts_macaroon_clone(api_key, &a->api_key);
    }
    if (err != TS_OK) {
        ts_access_free(a);
        return err;
    }
    *out = a;
    return TS_OK;
}

static void entry_release(struct access_entry *e)
{
    if (e->plain != NULL) {
        ts_wipe(e->plain, e->plain_len);
    }
    free(e->plain);
    free(e->enc);
    ts_wipe(e, sizeof *e);
}

void ts_access_free(struct ts_access *a)
{
    if (a == NULL) {
        return;
    }
    for (size_t i = 0; i < a->count; i++) {
        entry_release(&a->entries[i]);
    }
    free(a->entries);
    free(a->satellite_url);
    ts_macaroon_free(a->api_key);
    ts_wipe(a, sizeof *a);
    free(a);
}

const char *ts_access_satellite_url(const struct ts_access *a)
{
    return a->satellite_url;
}

const struct ts_macaroon *ts_access_api_key(const struct ts_access *a)
{
    return a->api_key;
}

bool ts_access_has_default_key(const struct ts_access *a)
{
    return a->has_default_key;
}

enum ts_path_cipher ts_access_default_cipher(const struct ts_access *a)
{
    return a->default_cipher;
}

size_t ts_access_entry_count(const struct ts_access *a)
{
    return a->count;
}

void ts_access_entry_get(const struct ts_access *a, size_t i, struct ts_access_entry *view)
{
    TS_ASSERT(i < a->count);
    const struct access_entry *e = &a->entries[i];
    view->bucket = e->bucket;
    view->unencrypted_prefix = e->plain;
    view->unencrypted_prefix_len = e->plain_len;
    view->encrypted_prefix = e->enc;
    view->encrypted_prefix_len = e->enc_len;
    view->key = e->key;
    view->cipher = e->cipher;
}

void ts_access_set_default_key(struct ts_access *a, const uint8_t key[32])
{
    memcpy(a->default_key, key, 32);
    a->has_default_key = true;
}

ts_err ts_access_set_default_cipher(struct ts_access *a, enum ts_path_cipher cipher)
{
    if (!ts_access_cipher_valid(cipher)) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    a->default_cipher = cipher;
    return TS_OK;
}

static ts_err entry_fill(struct access_entry *e, const char *bucket, const char *plain,
                         size_t plain_len, const uint8_t *enc, size_t enc_len,
                         const uint8_t key[32], enum ts_path_cipher cipher)
{
    memset(e, 0, sizeof *e);
    memcpy(e->bucket, bucket, strlen(bucket));
    e->plain = malloc(plain_len + 1);
    e->enc = enc_len > 0 ? malloc(enc_len) : NULL;
    if (e->plain == NULL || (enc_len > 0 && e->enc == NULL)) {
        entry_release(e);
        return TS_ERR_NOMEM;
    }
    if (plain_len > 0) {
        memcpy(e->plain, plain, plain_len);
    }
    e->plain[plain_len] = 0;
    e->plain_len = plain_len;
    if (enc_len > 0) {
        memcpy(e->enc, enc, enc_len);
    }
    e->enc_len = enc_len;
    memcpy(e->key, key, 32);
    e->cipher = cipher;
    return TS_OK;
}

ts_err ts_access_add_entry(struct ts_access *a, const char *bucket, const char *unencrypted_prefix,
                           size_t unencrypted_len, const uint8_t *encrypted_prefix,
                           size_t encrypted_len, const uint8_t key[32], enum ts_path_cipher cipher)
{
    if (bucket == NULL ||
        !ts_access_bucket_valid(bucket, strnlen(bucket, TS_BUCKET_NAME_MAX + 1)) ||
        !ts_access_cipher_valid(cipher)) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    if (unencrypted_len > TS_OBJECT_KEY_MAX || encrypted_len > TS_ENCRYPTED_KEY_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    /* "" (the whole bucket) is the only prefix whose encrypted form is "". */
    if ((unencrypted_len == 0) != (encrypted_len == 0)) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    struct access_entry e;
    ts_err err = entry_fill(&e, bucket, unencrypted_prefix, unencrypted_len, encrypted_prefix,
                            encrypted_len, key, cipher);
    if (err != TS_OK) {
        return err;
    }
    for (size_t i = 0; i < a->count; i++) {
        struct access_entry *old = &a->entries[i];
        if (strcmp(old->bucket, e.bucket) == 0 && old->plain_len == e.plain_len &&
            memcmp(old->plain, e.plain, e.plain_len) == 0) {
            entry_release(old);
            *old = e;
            return TS_OK;
        }
    }
    if (a->count >= TS_ACCESS_STORE_ENTRIES_MAX) {
        entry_release(&e);
        return TS_ERR_TOO_LARGE;
    }
    struct access_entry *grown = realloc(a->entries, (a->count + 1) * sizeof *grown);
    if (grown == NULL) {
        entry_release(&e);
        return TS_ERR_NOMEM;
    }
    a->entries = grown;
    a->entries[a->count++] = e;
    return TS_OK;
}

/* The entry of bucket whose unencrypted (or, when by_encrypted, encrypted) prefix covers path
 * with the most bytes, or NULL. */
static const struct access_entry *best_entry(const struct ts_access *a, const char *bucket,
                                             const uint8_t *path, size_t path_len,
                                             bool by_encrypted)
{
    const struct access_entry *best = NULL;
    for (size_t i = 0; i < a->count; i++) {
        const struct access_entry *e = &a->entries[i];
        const uint8_t *p = by_encrypted ? e->enc : (const uint8_t *)e->plain;
        size_t n = by_encrypted ? e->enc_len : e->plain_len;
        if (strcmp(e->bucket, bucket) != 0 || !ts_access_prefix_covers(p, n, path, path_len)) {
            continue;
        }
        size_t best_n = best == NULL ? 0 : (by_encrypted ? best->enc_len : best->plain_len);
        if (best == NULL || n > best_n) {
            best = e;
        }
    }
    return best;
}

/* Encrypts the components of rest (the path below an entry's prefix, which has at least one
 * component, possibly empty) starting from key. ts_path_encrypt reads "" as no components, so a
 * single empty component is done by hand: its key is DeriveKey(key, "path:") and its encrypted
 * form is the first component of the encryption of "/" (two empty components). */
static ts_err encrypt_rest(enum ts_path_cipher cipher, const uint8_t key[32], const char *rest,
                           size_t rest_len, struct ts_buf *out, uint8_t last_key[32])
{
    if (rest_len > 0) {
        return ts_path_encrypt(cipher, key, rest, rest_len, out, last_key);
    }
    struct ts_buf two;
    ts_buf_init(&two, TS_ENCRYPTED_KEY_MAX);
    ts_err err = ts_path_encrypt(cipher, key, "/", 1, &two, NULL);
    if (err == TS_OK) {
        const uint8_t *slash = memchr(two.data, '/', two.len);
        TS_ASSERT(slash != NULL);
        err = ts_buf_append(out, two.data, (size_t)(slash - two.data));
    }
    if (err == TS_OK) {
        err = ts_key_derive(key, "path:", 5, last_key);
    }
    ts_buf_release(&two);
    return err;
}

ts_err ts_access_resolve(const struct ts_access *a, const char *bucket, const char *path,
                         size_t path_len, struct ts_buf *enc_out, uint8_t path_key[32],
                         enum ts_path_cipher *cipher)
{
    TS_ASSERT(path != NULL || path_len == 0);
    if (bucket == NULL ||
        !ts_access_bucket_valid(bucket, strnlen(bucket, TS_BUCKET_NAME_MAX + 1))) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    if (path_len > TS_OBJECT_KEY_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    const struct access_entry *e = best_entry(a, bucket, (const uint8_t *)path, path_len, false);
    if (e == NULL && !a->has_default_key) {
        return TS_ERR_PERMISSION_DENIED;
    }
    uint8_t start[32], last[32];
    enum ts_path_cipher c = e != NULL ? e->cipher : a->default_cipher;
    size_t old_len = enc_out->len;
    ts_err err = TS_OK;
    if (e == NULL) {
        err = ts_path_bucket_key(a->default_key, bucket, start);
        if (err == TS_OK) {
            err = ts_path_encrypt(c, start, path, path_len, enc_out, last);
        }
    } else if (path_len == e->plain_len) {
        memcpy(last, e->key, sizeof last);
        err = ts_buf_append(enc_out, e->enc, e->enc_len);
    } else {
        size_t skip = e->plain_len == 0 ? 0 : e->plain_len + 1; /* the prefix and its '/' */
        err = ts_buf_append(enc_out, e->enc, e->enc_len);
        if (err == TS_OK && e->plain_len > 0) {
            err = ts_buf_append_byte(enc_out, '/');
        }
        if (err == TS_OK) {
            err = encrypt_rest(c, e->key, path + skip, path_len - skip, enc_out, last);
        }
    }
    if (err == TS_OK && enc_out->len - old_len > TS_ENCRYPTED_KEY_MAX) {
        err = TS_ERR_TOO_LARGE;
    }
    if (err != TS_OK) {
        ts_buf_truncate(enc_out, old_len);
    } else {
        if (path_key != NULL) {
            memcpy(path_key, last, sizeof last);
        }
        if (cipher != NULL) {
            *cipher = c;
        }
    }
    ts_wipe(start, sizeof start);
    ts_wipe(last, sizeof last);
    return err;
}

ts_err ts_access_encrypt_key(const struct ts_access *a, const char *bucket, const char *key,
                             size_t key_len, struct ts_buf *enc_out, uint8_t content_key[32])
{
    uint8_t last[32];
    size_t old_len = enc_out->len;
    ts_err err = ts_access_resolve(a, bucket, key, key_len, enc_out, last, NULL);
    if (err == TS_OK && content_key != NULL) {
        err = ts_content_key_derive(last, content_key);
        if (err != TS_OK) {
            ts_buf_truncate(enc_out, old_len);
        }
    }
    ts_wipe(last, sizeof last);
    return err;
}

ts_err ts_access_decrypt_key(const struct ts_access *a, const char *bucket, const uint8_t *enc,
                             size_t enc_len, struct ts_buf *plain_out)
{
    TS_ASSERT(enc != NULL || enc_len == 0);
    if (bucket == NULL ||
        !ts_access_bucket_valid(bucket, strnlen(bucket, TS_BUCKET_NAME_MAX + 1))) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    if (enc_len > TS_ENCRYPTED_KEY_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    const struct access_entry *e = best_entry(a, bucket, enc, enc_len, true);
    if (e == NULL && !a->has_default_key) {
        return TS_ERR_PERMISSION_DENIED;
    }
    size_t old_len = plain_out->len;
    uint8_t start[32];
    ts_err err = TS_OK;
    if (e == NULL) {
        err = ts_path_bucket_key(a->default_key, bucket, start);
        if (err == TS_OK) {
            err = ts_path_decrypt(a->default_cipher, start, enc, enc_len, plain_out, NULL);
        }
    } else {
        err = ts_buf_append(plain_out, e->plain, e->plain_len);
        if (err == TS_OK && enc_len > e->enc_len) {
            size_t skip = e->enc_len == 0 ? 0 : e->enc_len + 1;
            if (e->enc_len > 0) {
                err = ts_buf_append_byte(plain_out, '/');
            }
            /* "EP/" would be one empty component, which AES-GCM never encrypts to nothing. */
            if (err == TS_OK && enc_len == skip && e->cipher != TS_PATH_CIPHER_NULL) {
                err = TS_ERR_MALFORMED;
            }
            if (err == TS_OK) {
                err =
                    ts_path_decrypt(e->cipher, e->key, enc + skip, enc_len - skip, plain_out, NULL);
            }
        }
    }
    if (err != TS_OK) {
        ts_buf_truncate(plain_out, old_len);
    }
    ts_wipe(start, sizeof start);
    return err;
}
