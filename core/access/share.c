/*
 * Offline sharing (reference §4 "Share / restrict"): one caveat on the API key and a store cut
 * down to the derived keys of the shared prefixes. No satellite is involved; the satellite learns
 * of the restriction only when the new key is presented.
 */
#include <stdlib.h>
#include <string.h>

#include "access/access.h"
#include "access/access_internal.h"
#include "base/base.h"
#include "crypto/hash.h"

#define SHARE_NONCE_SIZE 16
_Static_assert(SHARE_NONCE_SIZE <= TS_CAVEAT_NONCE_MAX, "the nonce fits a caveat");

/* Refuses "." and ".." components. They carry no meaning to Tessera (each is an ordinary,
 * encrypted component, so "a/../b" is a subtree of "a", not "b"), but a user who shares "a/../b"
 * almost certainly means something else than what would be shared, and gateways or tools that
 * normalise paths would disagree with the grant. */
static bool prefix_components_ok(const char *p, size_t len)
{
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || p[i] == '/') {
            size_t n = i - start;
            if ((n == 1 && p[start] == '.') || (n == 2 && p[start] == '.' && p[start + 1] == '.')) {
                return false;
            }
            start = i + 1;
        }
    }
    return true;
}

/* Checks one requested prefix and returns its length without the optional trailing '/'. */
static ts_err prefix_normalize(const struct ts_access_prefix *p, size_t *len)
{
    if (p->bucket == NULL ||
        !ts_access_bucket_valid(p->bucket, strnlen(p->bucket, TS_BUCKET_NAME_MAX + 1)) ||
        (p->prefix == NULL && p->prefix_len > 0)) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    if (p->prefix_len > TS_OBJECT_KEY_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    size_t n = p->prefix_len;
    if (n > 0 && p->prefix[n - 1] == '/') {
        n--;
        /* "/" is the subtree under one empty component; trimmed it would be the whole bucket. */
        if (n == 0) {
            return TS_ERR_INVALID_ARGUMENT;
        }
    }
    if (!prefix_components_ok(p->prefix, n)) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    *len = n;
    return TS_OK;
}

static ts_err caveat_from_permission(const struct ts_access_permission *perm, struct ts_caveat *c)
{
    if (perm->max_object_ttl_s < 0 || (perm->not_before_s != 0 && perm->not_after_s != 0 &&
                                       perm->not_after_s < perm->not_before_s)) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    c->disallow_reads = !perm->allow_read;
    c->disallow_writes = !perm->allow_write;
    c->disallow_lists = !perm->allow_list;
    c->disallow_deletes = !perm->allow_delete;
    c->not_before_s = perm->not_before_s;
    c->not_after_s = perm->not_after_s;
    c->max_object_ttl_s = perm->max_object_ttl_s;
    c->nonce_len = SHARE_NONCE_SIZE;
    return ts_random_bytes(c->nonce, SHARE_NONCE_SIZE);
}

/* Adds one shared prefix: its entry in the new store and its (bucket, encrypted prefix) in the
 * caveat. */
static ts_err share_prefix(const struct ts_access *src, const struct ts_access_prefix *p,
                           struct ts_access *dst, struct ts_caveat *c)
{
    size_t len = 0;
    ts_err err = prefix_normalize(p, &len);
    if (err != TS_OK) {
        return err;
    }
    struct ts_buf enc;
    ts_buf_init(&enc, TS_ENCRYPTED_KEY_MAX);
    uint8_t key[32];
    enum ts_path_cipher cipher = TS_PATH_CIPHER_AESGCM;
    err = ts_access_resolve(src, p->bucket, p->prefix, len, &enc, key, &cipher);
    if (err == TS_OK) {
        err = ts_access_add_entry(dst, p->bucket, p->prefix, len, enc.data, enc.len, key, cipher);
    }
    if (err == TS_OK) {
        err =
            ts_caveat_add_path(c, (const uint8_t *)p->bucket, strlen(p->bucket), enc.data, enc.len);
    }
    ts_wipe(key, sizeof key);
    ts_buf_release(&enc);
    return err;
}

/* Copies the source's entries that lie inside a shared prefix (keys that cannot be derived from
 * the prefix's key, e.g. merged in from another grant). */
static ts_err keep_inner_entries(const struct ts_access *src,
                                 const struct ts_access_prefix *prefixes, size_t count,
                                 struct ts_access *dst)
{
    for (size_t i = 0; i < src->count; i++) {
        const struct access_entry *e = &src->entries[i];
        for (size_t j = 0; j < count; j++) {
            size_t len = 0;
            ts_err err = prefix_normalize(&prefixes[j], &len);
            if (err != TS_OK) {
                return err;
            }
            if (strcmp(e->bucket, prefixes[j].bucket) != 0 || e->plain_len <= len ||
                !ts_access_prefix_covers((const uint8_t *)prefixes[j].prefix, len,
                                         (const uint8_t *)e->plain, e->plain_len)) {
                continue;
            }
            err = ts_access_add_entry(dst, e->bucket, e->plain, e->plain_len, e->enc, e->enc_len,
                                      e->key, e->cipher);
            if (err != TS_OK) {
                return err;
            }
            break;
        }
    }
    return TS_OK;
}

static ts_err copy_store(const struct ts_access *src, struct ts_access *dst)
{
    if (src->has_default_key) {
        ts_access_set_default_key(dst, src->default_key);
    }
    for (size_t i = 0; i < src->count; i++) {
        const struct access_entry *e = &src->entries[i];
        ts_err err = ts_access_add_entry(dst, e->bucket, e->plain, e->plain_len, e->enc, e->enc_len,
                                         e->key, e->cipher);
        if (err != TS_OK) {
            return err;
        }
    }
    return TS_OK;
}

ts_err ts_access_share(const struct ts_access *a, const struct ts_access_permission *perm,
                       const struct ts_access_prefix *prefixes, size_t count,
                       struct ts_access **out)
{
    TS_ASSERT(prefixes != NULL || count == 0);
    *out = NULL;
    if (count > TS_CAVEAT_PATHS_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    struct ts_access *dst = NULL;
    struct ts_caveat c;
    ts_caveat_init(&c);
    ts_err err = caveat_from_permission(perm, &c);
    if (err == TS_OK) {
        err = ts_access_new(a->satellite_url, a->api_key, &dst);
    }
    if (err == TS_OK) {
        dst->default_cipher = a->default_cipher;
        err = count == 0 ? copy_store(a, dst) : keep_inner_entries(a, prefixes, count, dst);
    }
    for (size_t i = 0; i < count && err == TS_OK; i++) {
        err = share_prefix(a, &prefixes[i], dst, &c);
    }
    if (err == TS_OK) {
        err = ts_macaroon_restrict(dst->api_key, &c);
    }
    ts_caveat_release(&c);
    if (err != TS_OK) {
        ts_access_free(dst);
        return err;
    }
    *out = dst;
    return TS_OK;
}
