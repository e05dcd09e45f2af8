/* Server-side copy and move (reference §3.3): the satellite returns the source's wrapped keys;
 * we unwrap them with the source path's content key and wrap them again under the destination
 * path's, so the object's data never passes through this machine. Also metadata updates. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "crypto/aead.h"
#include "crypto/hash.h"
#include "internal.h"

static ts_err object_args(struct ul_project *p, const char *bucket, const char *key)
{
    if (p == NULL || bucket == NULL || key == NULL || strlen(bucket) > TS_BUCKET_NAME_MAX) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    size_t len = strlen(key);
    return len == 0 || len > TS_OBJECT_KEY_MAX
               ? ul_fail(TS_ERR_INVALID_ARGUMENT, "object keys are 1..%d bytes", TS_OBJECT_KEY_MAX)
               : TS_OK;
}

/* Both paths' encrypted keys and content keys. */
struct copy_keys {
    struct ts_buf src, dst;
    uint8_t src_kek[32], dst_kek[32];
};

static void copy_keys_release(struct copy_keys *k)
{
    ts_buf_release(&k->src);
    ts_buf_release(&k->dst);
    ts_wipe(k->src_kek, sizeof(k->src_kek));
    ts_wipe(k->dst_kek, sizeof(k->dst_kek));
}

static ts_err copy_keys_init(struct ul_project *p, const char *sb, const char *sk, const char *db,
                             const char *dk, struct copy_keys *k)
{
    ts_buf_init(&k->src, TS_ENCRYPTED_KEY_MAX);
    ts_buf_init(&k->dst, TS_ENCRYPTED_KEY_MAX);
    ts_err err = object_args(p, sb, sk);
    err = err ? err : object_args(p, db, dk);
    err = err ? err : ul_key_encrypt(p, sb, sk, strlen(sk), &k->src, k->src_kek);
    return err ? err : ul_key_encrypt(p, db, dk, strlen(dk), &k->dst, k->dst_kek);
}

/* Unwraps a 32-byte key under from and wraps it under to with a fresh nonce. */
static ts_err rewrap(const struct copy_keys *k, ProtobufCBinaryData nonce,
                     ProtobufCBinaryData wrapped, uint8_t new_nonce[24],
                     uint8_t out[TS_WRAPPED_KEY_SIZE])
{
    uint8_t key[32];
    if (nonce.len != 24 || wrapped.len != TS_WRAPPED_KEY_SIZE) {
        return ul_fail(TS_ERR_PROTOCOL, "the satellite sent a wrapped key of a wrong size");
    }
    ts_err err = ts_key_unwrap(k->src_kek, nonce.data, wrapped.data, key);
    if (err != TS_OK) {
        return ul_fail(err, "a key of the source does not decrypt with this access");
    }
    err = ts_random_bytes(new_nonce, 24);
    err = err ? err : ts_key_wrap(k->dst_kek, new_nonce, key, out);
    ts_wipe(key, sizeof(key));
    return err;
}

/* Re-wrapped segment keys: arrays of n entries in one allocation (caller frees *out). */
struct rewrapped {
    Tessera__Metainfo__SegmentKey *keys;
    Tessera__Metainfo__SegmentKey **ptrs;
    uint8_t (*nonces)[24];
    uint8_t (*wrapped)[TS_WRAPPED_KEY_SIZE];
    size_t n;
};

static void rewrapped_free(struct rewrapped *r)
{
    free(r->keys);
    free(r->ptrs);
    free(r->nonces);
    free(r->wrapped);
}

static ts_err rewrap_segments(const struct copy_keys *k, Tessera__Metainfo__SegmentKey **in,
                              size_t n, struct rewrapped *r)
{
    r->n = n;
    r->keys = calloc(n + 1, sizeof(*r->keys));
    r->ptrs = calloc(n + 1, sizeof(*r->ptrs));
    r->nonces = calloc(n + 1, sizeof(*r->nonces));
    r->wrapped = calloc(n + 1, sizeof(*r->wrapped));
    ts_err err = r->keys && r->ptrs && r->nonces && r->wrapped ? TS_OK : TS_ERR_NOMEM;
    for (size_t i = 0; err == TS_OK && i < n; i++) {
        if (in[i]->position == NULL) {
            err = ul_fail(TS_ERR_PROTOCOL, "the satellite sent a segment key without position");
            break;
        }
        err = rewrap(k, in[i]->encrypted_key_nonce, in[i]->encrypted_key, r->nonces[i],
                     r->wrapped[i]);
        tessera__metainfo__segment_key__init(&r->keys[i]);
        r->keys[i].position = in[i]->position;
        r->keys[i].encrypted_key_nonce = (ProtobufCBinaryData){24, r->nonces[i]};
        r->keys[i].encrypted_key = (ProtobufCBinaryData){TS_WRAPPED_KEY_SIZE, r->wrapped[i]};
        r->ptrs[i] = &r->keys[i];
    }
    return err;
}

/* Begin* of copy and move share their message layout (checked by the satellite). */
static ts_err begin_call(struct ul_project *p, const char *sb, const char *db,
                         const struct copy_keys *k, bool move,
                         Tessera__Metainfo__BeginCopyObjectResponse **resp)
{
    Tessera__Metainfo__RequestHeader h;
    ul_meta_header(p, &h);
    Tessera__Metainfo__BeginCopyObjectRequest req =
        TESSERA__METAINFO__BEGIN_COPY_OBJECT_REQUEST__INIT;
    req.header = &h;
    req.bucket = (ProtobufCBinaryData){strlen(sb), (uint8_t *)sb};
    req.encrypted_key = (ProtobufCBinaryData){k->src.len, k->src.data};
    req.new_bucket = (ProtobufCBinaryData){strlen(db), (uint8_t *)db};
    req.new_encrypted_key = (ProtobufCBinaryData){k->dst.len, k->dst.data};
    if (!move) {
        return ul_meta_call(p, "BeginCopyObject", &req.base,
                            &tessera__metainfo__begin_copy_object_response__descriptor,
                            (ProtobufCMessage **)resp);
    }
    /* Same fields and numbers: the move request is packed from the copy one. */
    return ul_meta_call(p, "BeginMoveObject", &req.base,
                        &tessera__metainfo__begin_copy_object_response__descriptor,
                        (ProtobufCMessage **)resp);
}

static ts_err fill_info(struct ul_object_info *info, const char *key, const uint8_t kek[32],
                        const Tessera__Metainfo__Object *o)
{
    if (info == NULL || o == NULL) {
        return TS_OK;
    }
    ts_err err = ul_info_fill(info, key, strlen(key), kek, o->encrypted_metadata.data,
                              o->encrypted_metadata.len, o->encrypted_metadata_key.data,
                              o->encrypted_metadata_key.len, o->encrypted_metadata_nonce.data,
                              o->encrypted_metadata_nonce.len);
    info->size = o->total_plain_size > 0 ? (uint64_t)o->total_plain_size : 0;
    info->created_s = o->created_at;
    info->expires_s = o->expires_at;
    return err;
}

struct finish_in {
    const struct copy_keys *k;
    const Tessera__Metainfo__BeginCopyObjectResponse *begin;
    const struct ul_copy_options *opts;
    bool move;
};

static ts_err finish_call(struct ul_project *p, const struct finish_in *in,
                          Tessera__Metainfo__FinishCopyObjectResponse **resp)
{
    const Tessera__Metainfo__BeginCopyObjectResponse *b = in->begin;
    struct rewrapped rw = {0};
    uint8_t meta_nonce[24], meta_key[TS_WRAPPED_KEY_SIZE];
    struct ts_buf meta;
    ts_buf_init(&meta, TS_METADATA_ENCRYPTED_MAX);
    bool replace = in->opts != NULL && in->opts->replace_metadata;
    ts_err err = rewrap_segments(in->k, b->segment_keys, b->n_segment_keys, &rw);
    if (err == TS_OK && replace) {
        err = ul_meta_seal(in->k->dst_kek, in->opts->metadata, in->opts->metadata_count, &meta,
                           meta_key, meta_nonce);
    } else if (err == TS_OK) {
        err = rewrap(in->k, b->encrypted_metadata_nonce, b->encrypted_metadata_key, meta_nonce,
                     meta_key);
    }
    Tessera__Metainfo__RequestHeader h;
    ul_meta_header(p, &h);
    if (err == TS_OK && in->move) {
        Tessera__Metainfo__FinishMoveObjectRequest req =
            TESSERA__METAINFO__FINISH_MOVE_OBJECT_REQUEST__INIT;
        req.header = &h;
        req.stream_id = b->stream_id;
        req.new_encrypted_metadata_key = (ProtobufCBinaryData){sizeof(meta_key), meta_key};
        req.new_encrypted_metadata_nonce = (ProtobufCBinaryData){sizeof(meta_nonce), meta_nonce};
        req.new_segment_keys = rw.ptrs;
        req.n_new_segment_keys = rw.n;
        /* FinishMoveObjectResponse has FinishCopyObjectResponse's single field. */
        err = ul_meta_call(p, "FinishMoveObject", &req.base,
                           &tessera__metainfo__finish_copy_object_response__descriptor,
                           (ProtobufCMessage **)resp);
    } else if (err == TS_OK) {
        Tessera__Metainfo__FinishCopyObjectRequest req =
            TESSERA__METAINFO__FINISH_COPY_OBJECT_REQUEST__INIT;
        req.header = &h;
        req.stream_id = b->stream_id;
        req.new_encrypted_metadata_key = (ProtobufCBinaryData){sizeof(meta_key), meta_key};
        req.new_encrypted_metadata_nonce = (ProtobufCBinaryData){sizeof(meta_nonce), meta_nonce};
        req.new_segment_keys = rw.ptrs;
        req.n_new_segment_keys = rw.n;
        req.replace_metadata = replace;
        req.new_encrypted_metadata = (ProtobufCBinaryData){meta.len, meta.data};
        err = ul_meta_call(p, "FinishCopyObject", &req.base,
                           &tessera__metainfo__finish_copy_object_response__descriptor,
                           (ProtobufCMessage **)resp);
    }
    rewrapped_free(&rw);
    ts_buf_release(&meta);
    return err;
}

static ts_err copy_or_move(struct ul_project *p, const char *sb, const char *sk, const char *db,
                           const char *dk, const struct ul_copy_options *opts, bool move,
                           struct ul_object_info *info)
{
    struct copy_keys k;
    Tessera__Metainfo__BeginCopyObjectResponse *begin = NULL;
    Tessera__Metainfo__FinishCopyObjectResponse *fin = NULL;
    ts_err err = copy_keys_init(p, sb, sk, db, dk, &k);
    if (err == TS_OK) {
        err = begin_call(p, sb, db, &k, move, &begin);
        if (err == TS_ERR_NOT_FOUND) {
            err = ul_fail(err, "object %s/%s or bucket %s does not exist", sb, sk, db);
        }
    }
    if (err == TS_OK) {
        struct finish_in in = {&k, begin, opts, move};
        err = finish_call(p, &in, &fin);
    }
    if (err == TS_OK) {
        err = fill_info(info, dk, k.dst_kek, fin->object);
    }
    if (begin != NULL) {
        protobuf_c_message_free_unpacked(&begin->base, NULL);
    }
    if (fin != NULL) {
        protobuf_c_message_free_unpacked(&fin->base, NULL);
    }
    copy_keys_release(&k);
    return err;
}

ul_err ul_object_copy(struct ul_project *p, const char *src_bucket, const char *src_key,
                      const char *dst_bucket, const char *dst_key,
                      const struct ul_copy_options *opts, struct ul_object_info *info)
{
    ul_detail_clear();
    if (info != NULL) {
        memset(info, 0, sizeof(*info));
    }
    ts_err err = copy_or_move(p, src_bucket, src_key, dst_bucket, dst_key, opts, false, info);
    if (err != TS_OK && info != NULL) {
        ul_object_info_release(info);
    }
    return err;
}

ul_err ul_object_move(struct ul_project *p, const char *src_bucket, const char *src_key,
                      const char *dst_bucket, const char *dst_key)
{
    ul_detail_clear();
    return copy_or_move(p, src_bucket, src_key, dst_bucket, dst_key, NULL, true, NULL);
}

ul_err ul_object_update_metadata(struct ul_project *p, const char *bucket, const char *key,
                                 const struct ul_metadata_entry *metadata, size_t metadata_count)
{
    ul_detail_clear();
    ts_err err = object_args(p, bucket, key);
    if (err != TS_OK) {
        return err;
    }
    struct ts_buf enc, meta;
    uint8_t kek[32], meta_key[TS_WRAPPED_KEY_SIZE], meta_nonce[24];
    ts_buf_init(&enc, TS_ENCRYPTED_KEY_MAX);
    ts_buf_init(&meta, TS_METADATA_ENCRYPTED_MAX);
    err = ul_key_encrypt(p, bucket, key, strlen(key), &enc, kek);
    if (err == TS_OK) {
        err = ul_meta_seal(kek, metadata, metadata_count, &meta, meta_key, meta_nonce);
        if (err == TS_ERR_TOO_LARGE) {
            err = ul_fail(err, "user metadata exceeds %d bytes once encrypted",
                          TS_METADATA_ENCRYPTED_MAX);
        }
    }
    ProtobufCMessage *resp = NULL;
    if (err == TS_OK) {
        Tessera__Metainfo__RequestHeader h;
        ul_meta_header(p, &h);
        Tessera__Metainfo__UpdateObjectMetadataRequest req =
            TESSERA__METAINFO__UPDATE_OBJECT_METADATA_REQUEST__INIT;
        req.header = &h;
        req.bucket = (ProtobufCBinaryData){strlen(bucket), (uint8_t *)bucket};
        req.encrypted_key = (ProtobufCBinaryData){enc.len, enc.data};
        req.encrypted_metadata = (ProtobufCBinaryData){meta.len, meta.data};
        req.encrypted_metadata_key = (ProtobufCBinaryData){sizeof(meta_key), meta_key};
        req.encrypted_metadata_nonce = (ProtobufCBinaryData){sizeof(meta_nonce), meta_nonce};
        err = ul_meta_call(p, "UpdateObjectMetadata", &req.base,
                           &tessera__metainfo__update_object_metadata_response__descriptor, &resp);
    }
    if (resp != NULL) {
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    ts_wipe(kek, sizeof(kek));
    ts_buf_release(&enc);
    ts_buf_release(&meta);
    return err;
}
