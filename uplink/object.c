/* Objects: stat, delete and listing (keys are encrypted per component; listing decrypts them). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access/access.h"
#include "base/base.h"
#include "internal.h"

const struct ts_access *ul_access_core(const struct ul_access *a);

static ts_err object_args(struct ul_project *p, const char *bucket, const char *key)
{
    if (p == NULL || bucket == NULL || key == NULL) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    size_t len = strlen(key);
    if (len == 0 || len > TS_OBJECT_KEY_MAX || strlen(bucket) > TS_BUCKET_NAME_MAX) {
        return ul_fail(TS_ERR_INVALID_ARGUMENT, "object keys are 1..%d bytes", TS_OBJECT_KEY_MAX);
    }
    return TS_OK;
}

/* Fills info from a satellite Object (metadata decrypted with the object's content key). */
static ts_err info_from_object(struct ul_object_info *info, const char *key,
                               const uint8_t kek[32], const Tessera__Metainfo__Object *o)
{
    ts_err err = ul_info_fill(info, key, strlen(key), kek, o->encrypted_metadata.data,
                              o->encrypted_metadata.len, o->encrypted_metadata_key.data,
                              o->encrypted_metadata_key.len, o->encrypted_metadata_nonce.data,
                              o->encrypted_metadata_nonce.len);
    if (err == TS_OK) {
        info->size = o->total_plain_size > 0 ? (uint64_t)o->total_plain_size : 0;
        info->created_s = o->created_at;
        info->expires_s = o->expires_at;
    }
    return err;
}

ul_err ul_object_stat(struct ul_project *p, const char *bucket, const char *key,
                      struct ul_object_info *info)
{
    ul_detail_clear();
    if (info == NULL) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    memset(info, 0, sizeof(*info));
    ts_err err = object_args(p, bucket, key);
    if (err != TS_OK) {
        return err;
    }
    struct ts_buf enc;
    ts_buf_init(&enc, TS_ENCRYPTED_KEY_MAX);
    uint8_t kek[32];
    err = ul_key_encrypt(p, bucket, key, strlen(key), &enc, kek);
    Tessera__Metainfo__GetObjectResponse *resp = NULL;
    if (err == TS_OK) {
        Tessera__Metainfo__RequestHeader h;
        ul_meta_header(p, &h);
        Tessera__Metainfo__GetObjectRequest req = TESSERA__METAINFO__GET_OBJECT_REQUEST__INIT;
        req.header = &h;
        req.bucket.data = (uint8_t *)bucket;
        req.bucket.len = strlen(bucket);
        req.encrypted_key.data = enc.data;
        req.encrypted_key.len = enc.len;
        err = ul_meta_call(p, "GetObject", &req.base,
                           &tessera__metainfo__get_object_response__descriptor,
                           (ProtobufCMessage **)&resp);
    }
    if (err == TS_OK) {
        err = resp->object ? info_from_object(info, key, kek, resp->object) : TS_ERR_PROTOCOL;
    } else if (err == TS_ERR_NOT_FOUND) {
        (void)ul_fail(err, "object %s/%s does not exist", bucket, key);
    }
    if (resp != NULL) {
        protobuf_c_message_free_unpacked(&resp->base, NULL);
    }
    ts_wipe(kek, sizeof(kek));
    ts_buf_release(&enc);
    return err;
}

ul_err ul_object_delete(struct ul_project *p, const char *bucket, const char *key)
{
    ul_detail_clear();
    ts_err err = object_args(p, bucket, key);
    if (err != TS_OK) {
        return err;
    }
    struct ts_buf enc;
    ts_buf_init(&enc, TS_ENCRYPTED_KEY_MAX);
    err = ul_key_encrypt(p, bucket, key, strlen(key), &enc, NULL);
    ProtobufCMessage *resp = NULL;
    if (err == TS_OK) {
        Tessera__Metainfo__RequestHeader h;
        ul_meta_header(p, &h);
        Tessera__Metainfo__DeleteObjectRequest req = TESSERA__METAINFO__DELETE_OBJECT_REQUEST__INIT;
        req.header = &h;
        req.bucket.data = (uint8_t *)bucket;
        req.bucket.len = strlen(bucket);
        req.encrypted_key.data = enc.data;
        req.encrypted_key.len = enc.len;
        err = ul_meta_call(p, "DeleteObject", &req.base,
                           &tessera__metainfo__delete_object_response__descriptor, &resp);
    }
    if (err == TS_ERR_NOT_FOUND) {
        (void)ul_fail(err, "object %s/%s does not exist", bucket, key);
    }
    if (resp != NULL) {
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    ts_buf_release(&enc);
    return err;
}

/* ------------------------------------------------------------------------------------------ */
/* Listing                                                                                     */

struct ul_object_iter {
    struct ul_project *p;
    char bucket[TS_BUCKET_NAME_MAX + 1];
    bool recursive;
    bool metadata;
    struct ts_buf enc_prefix; /* encrypted prefix sent to the satellite ("" or ends in '/') */
    struct ts_buf cursor;     /* encrypted, relative to enc_prefix */
    Tessera__Metainfo__ListObjectsResponse *page;
    size_t at;
    bool more;
    struct ts_buf full;  /* scratch: full encrypted key */
    struct ts_buf plain; /* scratch: plaintext key */
    struct ul_object_info item;
};

/* Encrypts a plaintext prefix ("" or ending in '/') or key, keeping a trailing '/'. */
static ts_err encrypt_path(struct ul_project *p, const char *bucket, const char *path,
                           struct ts_buf *out)
{
    size_t len = strlen(path);
    if (len == 0) {
        return TS_OK;
    }
    bool slash = path[len - 1] == '/';
    ts_err err = ts_access_resolve(ul_access_core(p->access), bucket, path, len - (slash ? 1 : 0),
                                   out, NULL, NULL);
    if (err == TS_OK && slash) {
        err = ts_buf_append_byte(out, '/');
    }
    return err;
}

ul_err ul_object_list(struct ul_project *p, const char *bucket, const struct ul_list_options *opts,
                      struct ul_object_iter **out)
{
    ul_detail_clear();
    if (p == NULL || bucket == NULL || out == NULL || strlen(bucket) > TS_BUCKET_NAME_MAX) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    *out = NULL;
    const char *prefix = opts && opts->prefix ? opts->prefix : "";
    size_t plen = strlen(prefix);
    if (plen > 0 && prefix[plen - 1] != '/') {
        return ul_fail(TS_ERR_INVALID_ARGUMENT, "a listing prefix must end with '/'");
    }
    struct ul_object_iter *it = calloc(1, sizeof(*it));
    if (it == NULL) {
        return TS_ERR_NOMEM;
    }
    it->p = p;
    snprintf(it->bucket, sizeof(it->bucket), "%s", bucket);
    it->recursive = opts ? opts->recursive : false;
    it->metadata = opts ? opts->metadata : false;
    it->more = true;
    ts_buf_init(&it->enc_prefix, TS_ENCRYPTED_KEY_MAX + 1);
    ts_buf_init(&it->cursor, TS_ENCRYPTED_KEY_MAX + 1);
    ts_buf_init(&it->full, 2 * TS_ENCRYPTED_KEY_MAX + 2);
    ts_buf_init(&it->plain, TS_ENCRYPTED_KEY_MAX + 2);
    ts_err err = encrypt_path(p, bucket, prefix, &it->enc_prefix);
    if (err == TS_OK && opts && opts->cursor && opts->cursor[0] != '\0') {
        struct ts_buf full;
        ts_buf_init(&full, TS_ENCRYPTED_KEY_MAX + 1);
        err = encrypt_path(p, bucket, opts->cursor, &full);
        if (err == TS_OK && (full.len < it->enc_prefix.len ||
                             memcmp(full.data, it->enc_prefix.data, it->enc_prefix.len) != 0)) {
            err = ul_fail(TS_ERR_INVALID_ARGUMENT, "the cursor is not under the prefix");
        }
        if (err == TS_OK) {
            err = ts_buf_append(&it->cursor, full.data + it->enc_prefix.len,
                                full.len - it->enc_prefix.len);
        }
        ts_buf_release(&full);
    }
    if (err != TS_OK) {
        ul_object_iter_free(it);
        return err == TS_ERR_PERMISSION_DENIED
                   ? ul_fail(err, "this access holds no key for %s/%s", bucket, prefix)
                   : err;
    }
    *out = it;
    return TS_OK;
}

static ts_err list_fetch(struct ul_object_iter *it)
{
    Tessera__Metainfo__RequestHeader h;
    ul_meta_header(it->p, &h);
    Tessera__Metainfo__ListObjectsRequest req = TESSERA__METAINFO__LIST_OBJECTS_REQUEST__INIT;
    req.header = &h;
    req.bucket.data = (uint8_t *)it->bucket;
    req.bucket.len = strlen(it->bucket);
    req.prefix.data = it->enc_prefix.data;
    req.prefix.len = it->enc_prefix.len;
    req.cursor.data = it->cursor.data;
    req.cursor.len = it->cursor.len;
    req.limit = UL_LIST_PAGE;
    req.recursive = it->recursive;
    req.include_metadata = it->metadata;
    if (it->page != NULL) {
        protobuf_c_message_free_unpacked(&it->page->base, NULL);
        it->page = NULL;
    }
    it->at = 0;
    ts_err err = ul_meta_call(it->p, "ListObjects", &req.base,
                              &tessera__metainfo__list_objects_response__descriptor,
                              (ProtobufCMessage **)&it->page);
    if (err == TS_OK) {
        it->more = it->page->more && it->page->n_items > 0;
    }
    return err;
}

/* Decrypts one listed item into it->item. TS_ERR_AUTH_FAILED / MALFORMED / PERMISSION_DENIED
 * for a key this grant cannot read (the caller skips it). */
static ts_err list_decode(struct ul_object_iter *it, const Tessera__Metainfo__ObjectListItem *x)
{
    ts_buf_clear(&it->full);
    ts_buf_clear(&it->plain);
    size_t rel = x->encrypted_key.len;
    bool slash = x->is_prefix && rel > 0 && x->encrypted_key.data[rel - 1] == '/';
    ts_err err = ts_buf_append(&it->full, it->enc_prefix.data, it->enc_prefix.len);
    if (err == TS_OK) {
        err = ts_buf_append(&it->full, x->encrypted_key.data, rel - (slash ? 1 : 0));
    }
    if (err == TS_OK) {
        err = ts_access_decrypt_key(ul_access_core(it->p->access), it->bucket, it->full.data,
                                    it->full.len, &it->plain);
    }
    if (err == TS_OK && slash) {
        err = ts_buf_append_byte(&it->plain, '/');
    }
    uint8_t kek[32];
    bool have_kek = false;
    if (err == TS_OK && it->metadata && !x->is_prefix && x->encrypted_metadata.len > 0) {
        struct ts_buf enc;
        ts_buf_init(&enc, TS_ENCRYPTED_KEY_MAX);
        err = ul_key_encrypt(it->p, it->bucket, (const char *)it->plain.data, it->plain.len, &enc,
                             kek);
        have_kek = err == TS_OK;
        ts_buf_release(&enc);
    }
    if (err != TS_OK) {
        return err;
    }
    ul_object_info_release(&it->item);
    err = ul_info_fill(&it->item, (const char *)it->plain.data, it->plain.len,
                       have_kek ? kek : NULL, x->encrypted_metadata.data,
                       x->encrypted_metadata.len, x->encrypted_metadata_key.data,
                       x->encrypted_metadata_key.len, x->encrypted_metadata_nonce.data,
                       x->encrypted_metadata_nonce.len);
    ts_wipe(kek, sizeof(kek));
    it->item.is_prefix = x->is_prefix;
    it->item.size = x->total_plain_size > 0 ? (uint64_t)x->total_plain_size : 0;
    it->item.created_s = x->created_at;
    it->item.expires_s = x->expires_at;
    return err;
}

ul_err ul_object_iter_next(struct ul_object_iter *it, const struct ul_object_info **item)
{
    ul_detail_clear();
    if (it == NULL || item == NULL) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    *item = NULL;
    for (;;) {
        while (it->page == NULL || it->at >= it->page->n_items) {
            if (!it->more) {
                return TS_OK;
            }
            ts_err err = list_fetch(it);
            if (err != TS_OK) {
                return err;
            }
        }
        const Tessera__Metainfo__ObjectListItem *x = it->page->items[it->at++];
        ts_buf_clear(&it->cursor);
        ts_err err = ts_buf_append(&it->cursor, x->encrypted_key.data, x->encrypted_key.len);
        if (err != TS_OK) {
            return err;
        }
        err = list_decode(it, x);
        if (err == TS_OK) {
            *item = &it->item;
            return TS_OK;
        }
        if (err != TS_ERR_AUTH_FAILED && err != TS_ERR_MALFORMED &&
            err != TS_ERR_PERMISSION_DENIED) {
            return err;
        }
        /* A key this grant cannot decrypt (another passphrase): skip it. */
    }
}

void ul_object_iter_free(struct ul_object_iter *it)
{
    if (it == NULL) {
        return;
    }
    if (it->page != NULL) {
        protobuf_c_message_free_unpacked(&it->page->base, NULL);
    }
    ul_object_info_release(&it->item);
    ts_buf_release(&it->enc_prefix);
    ts_buf_release(&it->cursor);
    ts_buf_release(&it->full);
    ts_buf_release(&it->plain);
    free(it);
}
