/* Multipart uploads: begin, parts (upload.c's part mode), part and upload listings, complete,
 * abort. The upload ID is the satellite-signed StreamID of the pending object in lower-case
 * base32; before using one we check that it names the bucket and key the caller gave, since the
 * segments' keys are wrapped under that key's content key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access/access.h"
#include "base/base.h"
#include "crypto/aead.h"
#include "crypto/hash.h"
#include "encoding/encoding.h"
#include "internal.h"

const struct ts_access *ul_access_core(const struct ul_access *a);

ts_err ul_part_etag_key(const uint8_t content_key[32], uint8_t out[64])
{
    static const char label[] = "tessera part etag";
    return ts_hmac_sha512(content_key, 32, label, sizeof(label) - 1, out);
}

/* ---- Upload IDs ---- */

static ts_err upload_id_encode(const ProtobufCBinaryData *blob, char **out)
{
    struct ts_buf b;
    ts_buf_init(&b, 2 * UL_SIGNED_ID_MAX);
    ts_err err = ts_base32_encode(TS_BASE32_LOWER, blob->data, blob->len, &b);
    err = err ? err : ts_buf_append_byte(&b, '\0');
    *out = err == TS_OK ? (char *)ts_buf_detach(&b, NULL) : NULL;
    ts_buf_release(&b);
    return err;
}

/* Decodes upload_id into blob and checks that its stream is a multipart upload of enc_key in
 * bucket. *version gets the pending object's version. */
static ts_err upload_id_open(const char *upload_id, const char *bucket,
                             const struct ts_buf *enc_key, struct ts_buf *blob, int64_t *version)
{
    size_t len = upload_id == NULL ? 0 : strlen(upload_id);
    if (len == 0 || len > 2 * UL_SIGNED_ID_MAX ||
        ts_base32_decode(TS_BASE32_LOWER, upload_id, len, blob) != TS_OK) {
        return ul_fail(TS_ERR_NOT_FOUND, "the upload ID is not one this library issued");
    }
    Tessera__Metainfo__SignedBlob *sb =
        tessera__metainfo__signed_blob__unpack(NULL, blob->len, blob->data);
    Tessera__Metainfo__StreamID *sid =
        sb == NULL ? NULL : tessera__metainfo__stream_id__unpack(NULL, sb->data.len, sb->data.data);
    ts_err err = TS_OK;
    if (sid == NULL || !sid->multipart || sid->bucket.len != strlen(bucket) ||
        memcmp(sid->bucket.data, bucket, sid->bucket.len) != 0 ||
        sid->encrypted_key.len != enc_key->len ||
        memcmp(sid->encrypted_key.data, enc_key->data, enc_key->len) != 0) {
        err = ul_fail(TS_ERR_NOT_FOUND, "the upload ID does not belong to %s", bucket);
    }
    if (sid != NULL) {
        *version = sid->version;
        tessera__metainfo__stream_id__free_unpacked(sid, NULL);
    }
    if (sb != NULL) {
        tessera__metainfo__signed_blob__free_unpacked(sb, NULL);
    }
    return err;
}

/* Encrypts the key and opens the upload ID against it. */
static ts_err upload_open(struct ul_project *p, const char *bucket, const char *key,
                          const char *upload_id, struct ts_buf *enc, uint8_t kek[32],
                          struct ts_buf *blob)
{
    if (p == NULL || bucket == NULL || key == NULL || strlen(key) == 0 ||
        strlen(key) > TS_OBJECT_KEY_MAX || strlen(bucket) > TS_BUCKET_NAME_MAX) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    int64_t version = 0;
    ts_err err = ul_key_encrypt(p, bucket, key, strlen(key), enc, kek);
    return err ? err : upload_id_open(upload_id, bucket, enc, blob, &version);
}

/* ---- Begin ---- */

ul_err ul_multipart_begin(struct ul_project *p, const char *bucket, const char *key,
                          const struct ul_multipart_options *opts, char **upload_id)
{
    ul_detail_clear();
    if (p == NULL || bucket == NULL || key == NULL || upload_id == NULL || strlen(key) == 0 ||
        strlen(key) > TS_OBJECT_KEY_MAX || strlen(bucket) > TS_BUCKET_NAME_MAX) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    *upload_id = NULL;
    struct ts_buf enc, meta;
    uint8_t kek[32], meta_key[TS_WRAPPED_KEY_SIZE], meta_nonce[24];
    ts_buf_init(&enc, TS_ENCRYPTED_KEY_MAX);
    ts_buf_init(&meta, TS_METADATA_ENCRYPTED_MAX);
    ts_err err = ul_key_encrypt(p, bucket, key, strlen(key), &enc, kek);
    if (err == TS_OK) {
        err = ul_meta_seal(kek, opts ? opts->metadata : NULL, opts ? opts->metadata_count : 0,
                           &meta, meta_key, meta_nonce);
    }
    Tessera__Metainfo__BeginObjectResponse *resp = NULL;
    if (err == TS_OK) {
        Tessera__Metainfo__RequestHeader h;
        ul_meta_header(p, &h);
        Tessera__Metainfo__EncryptionParameters ep = TESSERA__METAINFO__ENCRYPTION_PARAMETERS__INIT;
        ep.cipher_suite = 2; /* AES-256-GCM */
        ep.block_size = TS_ENCRYPTION_BLOCK_SIZE;
        Tessera__Metainfo__BeginObjectRequest req = TESSERA__METAINFO__BEGIN_OBJECT_REQUEST__INIT;
        req.header = &h;
        req.bucket = (ProtobufCBinaryData){strlen(bucket), (uint8_t *)bucket};
        req.encrypted_key = (ProtobufCBinaryData){enc.len, enc.data};
        req.expires_at = opts ? opts->expires_s : 0;
        req.encryption = &ep;
        req.multipart = true;
        req.encrypted_metadata = (ProtobufCBinaryData){meta.len, meta.data};
        req.encrypted_metadata_key = (ProtobufCBinaryData){sizeof(meta_key), meta_key};
        req.encrypted_metadata_nonce = (ProtobufCBinaryData){sizeof(meta_nonce), meta_nonce};
        err = ul_meta_call(p, "BeginObject", &req.base,
                           &tessera__metainfo__begin_object_response__descriptor,
                           (ProtobufCMessage **)&resp);
    }
    if (err == TS_OK) {
        err = upload_id_encode(&resp->stream_id, upload_id);
    }
    if (resp != NULL) {
        protobuf_c_message_free_unpacked(&resp->base, NULL);
    }
    ts_wipe(kek, sizeof(kek));
    ts_buf_release(&enc);
    ts_buf_release(&meta);
    return err;
}

/* ---- Parts ---- */

struct ul_part_upload {
    struct ul_upload *u;
    uint32_t number;
};

ul_err ul_multipart_part_upload(struct ul_project *p, const char *bucket, const char *key,
                                const char *upload_id, uint32_t part_number,
                                struct ul_part_upload **out)
{
    ul_detail_clear();
    if (out == NULL || part_number < 1 || part_number > UL_PART_NUMBER_MAX) {
        return out == NULL
                   ? TS_ERR_INVALID_ARGUMENT
                   : ul_fail(TS_ERR_INVALID_ARGUMENT, "part numbers are 1..%d", UL_PART_NUMBER_MAX);
    }
    *out = NULL;
    struct ts_buf enc, blob;
    uint8_t kek[32];
    ts_buf_init(&enc, TS_ENCRYPTED_KEY_MAX);
    ts_buf_init(&blob, UL_SIGNED_ID_MAX);
    struct ul_part_upload *pu = calloc(1, sizeof(*pu));
    ts_err err =
        pu == NULL ? TS_ERR_NOMEM : upload_open(p, bucket, key, upload_id, &enc, kek, &blob);
    if (err == TS_OK) {
        err = ul_upload_part_begin(p, bucket, key, blob.data, blob.len, part_number, &pu->u);
    }
    ts_wipe(kek, sizeof(kek));
    ts_buf_release(&enc);
    ts_buf_release(&blob);
    if (err != TS_OK) {
        free(pu);
        return err;
    }
    pu->number = part_number;
    *out = pu;
    return TS_OK;
}

ul_err ul_part_upload_write(struct ul_part_upload *part, const void *data, size_t len)
{
    if (part == NULL) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    return ul_upload_write(part->u, data, len);
}

ul_err ul_part_upload_set_etag(struct ul_part_upload *part, const char *etag)
{
    ul_detail_clear();
    if (part == NULL || etag == NULL) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    return ul_upload_part_set_etag(part->u, etag);
}

ul_err ul_part_upload_commit(struct ul_part_upload *part, struct ul_part_info *info)
{
    ul_detail_clear();
    if (part == NULL) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    struct ul_part_info pi = {.part_number = part->number};
    ts_err err = ul_upload_part_commit(part->u, &pi.size, pi.etag);
    pi.modified_s = ts_time_now_s();
    if (err == TS_OK && info != NULL) {
        *info = pi;
    }
    free(part);
    return err;
}

void ul_part_upload_abort(struct ul_part_upload *part)
{
    if (part == NULL) {
        return;
    }
    ul_upload_abort(part->u);
    free(part);
}

/* ---- Part listing ---- */

struct ul_part_iter {
    struct ul_project *p;
    struct ts_buf blob;
    uint8_t etag_key[64];
    uint32_t cursor;
    Tessera__Metainfo__ListPartsResponse *page;
    size_t at;
    bool more;
    struct ul_part_info item;
};

ul_err ul_multipart_part_list(struct ul_project *p, const char *bucket, const char *key,
                              const char *upload_id, uint32_t cursor, struct ul_part_iter **out)
{
    ul_detail_clear();
    if (out == NULL) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    *out = NULL;
    struct ul_part_iter *it = calloc(1, sizeof(*it));
    if (it == NULL) {
        return TS_ERR_NOMEM;
    }
    struct ts_buf enc;
    uint8_t kek[32];
    ts_buf_init(&enc, TS_ENCRYPTED_KEY_MAX);
    ts_buf_init(&it->blob, UL_SIGNED_ID_MAX);
    ts_err err = upload_open(p, bucket, key, upload_id, &enc, kek, &it->blob);
    if (err == TS_OK) {
        err = ul_part_etag_key(kek, it->etag_key);
    }
    ts_wipe(kek, sizeof(kek));
    ts_buf_release(&enc);
    it->p = p;
    it->cursor = cursor;
    it->more = true;
    if (err != TS_OK) {
        ul_part_iter_free(it);
        return err;
    }
    *out = it;
    return TS_OK;
}

static ts_err parts_fetch(struct ul_part_iter *it)
{
    Tessera__Metainfo__RequestHeader h;
    ul_meta_header(it->p, &h);
    Tessera__Metainfo__ListPartsRequest req = TESSERA__METAINFO__LIST_PARTS_REQUEST__INIT;
    req.header = &h;
    req.stream_id = (ProtobufCBinaryData){it->blob.len, it->blob.data};
    req.cursor = it->cursor;
    if (it->page != NULL) {
        protobuf_c_message_free_unpacked(&it->page->base, NULL);
        it->page = NULL;
    }
    it->at = 0;
    ts_err err = ul_meta_call(it->p, "ListParts", &req.base,
                              &tessera__metainfo__list_parts_response__descriptor,
                              (ProtobufCMessage **)&it->page);
    it->more = err == TS_OK && it->page->more && it->page->n_items > 0;
    return err;
}

/* Decrypts a part's sealed ETag (nonce || AES-GCM(text)). */
static ts_err etag_open(const uint8_t key[64], ProtobufCBinaryData sealed, char *out)
{
    if (sealed.len < 24 + TS_GCM_TAG_SIZE || sealed.len > UL_ETAG_SEALED_MAX) {
        return TS_ERR_MALFORMED;
    }
    size_t len = sealed.len - 24 - TS_GCM_TAG_SIZE;
    ts_err err =
        ts_aesgcm_open(key, sealed.data, sealed.data + 24, sealed.len - 24, (uint8_t *)out);
    out[err == TS_OK ? len : 0] = '\0';
    return err;
}

ul_err ul_part_iter_next(struct ul_part_iter *it, const struct ul_part_info **item)
{
    ul_detail_clear();
    if (it == NULL || item == NULL) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    *item = NULL;
    if (it->page == NULL || (it->at == it->page->n_items && it->more)) {
        ts_err err = parts_fetch(it);
        if (err != TS_OK) {
            return err;
        }
    }
    if (it->at == it->page->n_items) {
        return TS_OK;
    }
    const Tessera__Metainfo__PartInfo *x = it->page->items[it->at++];
    memset(&it->item, 0, sizeof(it->item));
    it->item.part_number = x->part_number;
    it->item.size = x->plain_size > 0 ? (uint64_t)x->plain_size : 0;
    it->item.modified_s = x->created_at;
    it->cursor = x->part_number;
    if (etag_open(it->etag_key, x->encrypted_etag, it->item.etag) != TS_OK) {
        return ul_fail(TS_ERR_AUTH_FAILED, "part %u: its ETag does not decrypt", x->part_number);
    }
    *item = &it->item;
    return TS_OK;
}

void ul_part_iter_free(struct ul_part_iter *it)
{
    if (it == NULL) {
        return;
    }
    if (it->page != NULL) {
        protobuf_c_message_free_unpacked(&it->page->base, NULL);
    }
    ts_buf_release(&it->blob);
    ts_wipe(it->etag_key, sizeof(it->etag_key));
    free(it);
}

/* ---- Pending upload listing ---- */

struct ul_multipart_iter {
    struct ul_project *p;
    char bucket[TS_BUCKET_NAME_MAX + 1];
    struct ts_buf enc_prefix;
    struct ts_buf cursor_key; /* encrypted */
    int64_t cursor_version;
    Tessera__Metainfo__ListPendingObjectsResponse *page;
    size_t at;
    bool more;
    struct ts_buf plain;
    char *upload_id;
    struct ul_multipart_info item;
};

/* Encrypts "" or a prefix ending in '/' (keeping the slash). */
static ts_err prefix_encrypt(struct ul_project *p, const char *bucket, const char *prefix,
                             struct ts_buf *out)
{
    size_t len = strlen(prefix);
    if (len == 0) {
        return TS_OK;
    }
    if (prefix[len - 1] != '/') {
        return ul_fail(TS_ERR_INVALID_ARGUMENT, "a listing prefix must be empty or end with '/'");
    }
    ts_err err =
        ts_access_resolve(ul_access_core(p->access), bucket, prefix, len - 1, out, NULL, NULL);
    return err ? err : ts_buf_append_byte(out, '/');
}

static ts_err multipart_cursor(struct ul_multipart_iter *it,
                               const struct ul_multipart_list_options *o)
{
    if (o == NULL || o->cursor_key == NULL || o->cursor_key[0] == '\0') {
        return TS_OK;
    }
    uint8_t kek[32];
    ts_err err = ul_key_encrypt(it->p, it->bucket, o->cursor_key, strlen(o->cursor_key),
                                &it->cursor_key, kek);
    ts_wipe(kek, sizeof(kek));
    it->cursor_version = INT64_MAX; /* after every upload of that key */
    if (err == TS_OK && o->cursor_upload_id != NULL && o->cursor_upload_id[0] != '\0') {
        struct ts_buf blob;
        ts_buf_init(&blob, UL_SIGNED_ID_MAX);
        err = upload_id_open(o->cursor_upload_id, it->bucket, &it->cursor_key, &blob,
                             &it->cursor_version);
        ts_buf_release(&blob);
    }
    return err;
}

ul_err ul_multipart_list(struct ul_project *p, const char *bucket,
                         const struct ul_multipart_list_options *opts,
                         struct ul_multipart_iter **out)
{
    ul_detail_clear();
    if (p == NULL || bucket == NULL || out == NULL || strlen(bucket) > TS_BUCKET_NAME_MAX) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    *out = NULL;
    struct ul_multipart_iter *it = calloc(1, sizeof(*it));
    if (it == NULL) {
        return TS_ERR_NOMEM;
    }
    it->p = p;
    snprintf(it->bucket, sizeof(it->bucket), "%s", bucket);
    ts_buf_init(&it->enc_prefix, TS_ENCRYPTED_KEY_MAX);
    ts_buf_init(&it->cursor_key, TS_ENCRYPTED_KEY_MAX);
    ts_buf_init(&it->plain, TS_OBJECT_KEY_MAX + 1);
    it->more = true;
    ts_err err =
        prefix_encrypt(p, bucket, opts && opts->prefix ? opts->prefix : "", &it->enc_prefix);
    if (err == TS_OK) {
        err = multipart_cursor(it, opts);
    }
    if (err != TS_OK) {
        ul_multipart_iter_free(it);
        return err;
    }
    *out = it;
    return TS_OK;
}

static ts_err pending_fetch(struct ul_multipart_iter *it)
{
    Tessera__Metainfo__RequestHeader h;
    ul_meta_header(it->p, &h);
    Tessera__Metainfo__ListPendingObjectsRequest req =
        TESSERA__METAINFO__LIST_PENDING_OBJECTS_REQUEST__INIT;
    req.header = &h;
    req.bucket = (ProtobufCBinaryData){strlen(it->bucket), (uint8_t *)it->bucket};
    req.prefix = (ProtobufCBinaryData){it->enc_prefix.len, it->enc_prefix.data};
    req.cursor_key = (ProtobufCBinaryData){it->cursor_key.len, it->cursor_key.data};
    req.cursor_version = it->cursor_version;
    req.limit = UL_LIST_PAGE;
    if (it->page != NULL) {
        protobuf_c_message_free_unpacked(&it->page->base, NULL);
        it->page = NULL;
    }
    it->at = 0;
    ts_err err = ul_meta_call(it->p, "ListPendingObjects", &req.base,
                              &tessera__metainfo__list_pending_objects_response__descriptor,
                              (ProtobufCMessage **)&it->page);
    it->more = err == TS_OK && it->page->more && it->page->n_items > 0;
    return err;
}

ul_err ul_multipart_iter_next(struct ul_multipart_iter *it, const struct ul_multipart_info **item)
{
    ul_detail_clear();
    if (it == NULL || item == NULL) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    *item = NULL;
    for (;;) {
        if (it->page == NULL || (it->at == it->page->n_items && it->more)) {
            ts_err err = pending_fetch(it);
            if (err != TS_OK) {
                return err;
            }
        }
        if (it->at == it->page->n_items) {
            return TS_OK;
        }
        const Tessera__Metainfo__PendingObject *x = it->page->items[it->at++];
        ts_buf_clear(&it->cursor_key);
        ts_err err = ts_buf_append(&it->cursor_key, x->encrypted_key.data, x->encrypted_key.len);
        it->cursor_version = x->version;
        ts_buf_clear(&it->plain);
        if (err == TS_OK) {
            err = ts_access_decrypt_key(ul_access_core(it->p->access), it->bucket,
                                        x->encrypted_key.data, x->encrypted_key.len, &it->plain);
            if (err != TS_OK && err != TS_ERR_NOMEM) {
                continue; /* a key this grant cannot read: skipped, as in ul_object_list */
            }
        }
        err = err ? err : ts_buf_append_byte(&it->plain, '\0');
        free(it->upload_id);
        it->upload_id = NULL;
        err = err ? err : upload_id_encode(&x->stream_id, &it->upload_id);
        if (err != TS_OK) {
            return err;
        }
        it->item.key = (const char *)it->plain.data;
        it->item.upload_id = it->upload_id;
        it->item.created_s = x->created_at;
        it->item.expires_s = x->expires_at;
        *item = &it->item;
        return TS_OK;
    }
}

void ul_multipart_iter_free(struct ul_multipart_iter *it)
{
    if (it == NULL) {
        return;
    }
    if (it->page != NULL) {
        protobuf_c_message_free_unpacked(&it->page->base, NULL);
    }
    ts_buf_release(&it->enc_prefix);
    ts_buf_release(&it->cursor_key);
    ts_buf_release(&it->plain);
    free(it->upload_id);
    free(it);
}

/* ---- Complete, abort ---- */

ul_err ul_multipart_complete(struct ul_project *p, const char *bucket, const char *key,
                             const char *upload_id, const uint32_t *parts, size_t count,
                             const struct ul_multipart_complete_options *opts,
                             struct ul_object_info *info)
{
    ul_detail_clear();
    if (info != NULL) {
        memset(info, 0, sizeof(*info));
    }
    if (parts == NULL || count == 0 || count > UL_PART_NUMBER_MAX) {
        return ul_fail(TS_ERR_INVALID_ARGUMENT, "complete needs 1..%d parts", UL_PART_NUMBER_MAX);
    }
    struct ts_buf enc, blob, meta;
    uint8_t kek[32], meta_key[TS_WRAPPED_KEY_SIZE], meta_nonce[24];
    ts_buf_init(&enc, TS_ENCRYPTED_KEY_MAX);
    ts_buf_init(&blob, UL_SIGNED_ID_MAX);
    ts_buf_init(&meta, TS_METADATA_ENCRYPTED_MAX);
    bool replace = opts != NULL && opts->replace_metadata;
    ts_err err = upload_open(p, bucket, key, upload_id, &enc, kek, &blob);
    if (err == TS_OK && replace) {
        err = ul_meta_seal(kek, opts->metadata, opts->metadata_count, &meta, meta_key, meta_nonce);
    }
    Tessera__Metainfo__CommitObjectResponse *resp = NULL;
    if (err == TS_OK) {
        Tessera__Metainfo__RequestHeader h;
        ul_meta_header(p, &h);
        Tessera__Metainfo__CommitObjectRequest req = TESSERA__METAINFO__COMMIT_OBJECT_REQUEST__INIT;
        req.header = &h;
        req.stream_id = (ProtobufCBinaryData){blob.len, blob.data};
        req.parts = (uint32_t *)parts;
        req.n_parts = count;
        if (replace) {
            req.encrypted_metadata = (ProtobufCBinaryData){meta.len, meta.data};
            req.encrypted_metadata_key = (ProtobufCBinaryData){sizeof(meta_key), meta_key};
            req.encrypted_metadata_nonce = (ProtobufCBinaryData){sizeof(meta_nonce), meta_nonce};
        }
        err = ul_meta_call(p, "CommitObject", &req.base,
                           &tessera__metainfo__commit_object_response__descriptor,
                           (ProtobufCMessage **)&resp);
    }
    const Tessera__Metainfo__Object *o = resp != NULL ? resp->object : NULL;
    if (err == TS_OK && info != NULL && o != NULL) {
        err = ul_info_fill(info, key, strlen(key), kek, o->encrypted_metadata.data,
                           o->encrypted_metadata.len, o->encrypted_metadata_key.data,
                           o->encrypted_metadata_key.len, o->encrypted_metadata_nonce.data,
                           o->encrypted_metadata_nonce.len);
        info->size = o->total_plain_size > 0 ? (uint64_t)o->total_plain_size : 0;
        info->created_s = o->created_at;
        info->expires_s = o->expires_at;
    }
    if (resp != NULL) {
        protobuf_c_message_free_unpacked(&resp->base, NULL);
    }
    ts_wipe(kek, sizeof(kek));
    ts_buf_release(&enc);
    ts_buf_release(&blob);
    ts_buf_release(&meta);
    return err;
}

ul_err ul_multipart_abort(struct ul_project *p, const char *bucket, const char *key,
                          const char *upload_id)
{
    ul_detail_clear();
    struct ts_buf enc, blob;
    uint8_t kek[32];
    ts_buf_init(&enc, TS_ENCRYPTED_KEY_MAX);
    ts_buf_init(&blob, UL_SIGNED_ID_MAX);
    ts_err err = upload_open(p, bucket, key, upload_id, &enc, kek, &blob);
    ts_wipe(kek, sizeof(kek));
    ProtobufCMessage *resp = NULL;
    if (err == TS_OK) {
        Tessera__Metainfo__RequestHeader h;
        ul_meta_header(p, &h);
        Tessera__Metainfo__DeletePendingObjectRequest req =
            TESSERA__METAINFO__DELETE_PENDING_OBJECT_REQUEST__INIT;
        req.header = &h;
        req.stream_id = (ProtobufCBinaryData){blob.len, blob.data};
        err = ul_meta_call(p, "DeletePendingObject", &req.base,
                           &tessera__metainfo__delete_pending_object_response__descriptor, &resp);
    }
    if (resp != NULL) {
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    ts_buf_release(&enc);
    ts_buf_release(&blob);
    return err;
}
