/* Authorisation, validation, conversions and signed IDs shared by the metainfo RPCs. */
#include <string.h>

#include "base/base.h"
#include "crypto/hash.h"
#include "satellite/metainfo/internal.h"

ts_err sat_mi_auth(struct sat_metainfo *m, const Tessera__Metainfo__RequestHeader *header,
                   enum sat_op op, ProtobufCBinaryData bucket, ProtobufCBinaryData path,
                   struct sat_auth *auth)
{
    memset(auth, 0, sizeof *auth);
    if (header == NULL) {
        return TS_ERR_AUTH_FAILED;
    }
    struct sat_request_action action = {
        .op = op,
        .bucket = bucket.data,
        .bucket_len = bucket.len,
        .path = path.data,
        .path_len = path.len,
    };
    ts_err err = sat_apikey_authorize(m->db, header->api_key.data, header->api_key.len, &action,
                                      ts_time_now_s(), auth);
    if (err == TS_OK) {
        err = sat_mi_limiter_take(m->limiter, auth->project_id, ts_monotonic_ms());
    }
    return err;
}

ts_err sat_mi_check_bucket_name(ProtobufCBinaryData name)
{
    if (name.len < TS_BUCKET_NAME_MIN || name.len > TS_BUCKET_NAME_MAX) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    for (size_t i = 0; i < name.len; i++) {
        uint8_t ch = name.data[i];
        bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
        bool edge = i == 0 || i + 1 == name.len;
        if (!alnum && (edge || (ch != '-' && ch != '.'))) {
            return TS_ERR_INVALID_ARGUMENT;
        }
    }
    return TS_OK;
}

ts_err sat_mi_check_key(ProtobufCBinaryData key)
{
    if (key.len == 0) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    return key.len > TS_ENCRYPTED_KEY_MAX ? TS_ERR_TOO_LARGE : TS_OK;
}

Tessera__Metainfo__RedundancyScheme *sat_mi_redundancy_pb(struct sat_arena *a,
                                                          const struct sat_redundancy *r)
{
    Tessera__Metainfo__RedundancyScheme *pb = sat_arena_alloc(a, sizeof *pb);
    if (pb != NULL) {
        tessera__metainfo__redundancy_scheme__init(pb);
        pb->required = (uint32_t)r->required;
        pb->repair = (uint32_t)r->repair;
        pb->success = (uint32_t)r->success;
        pb->total = (uint32_t)r->total;
        pb->share_size = (uint32_t)r->share_size;
    }
    return pb;
}

int64_t sat_mi_encryption_pack(const Tessera__Metainfo__EncryptionParameters *e)
{
    if (e == NULL) {
        return 0;
    }
    return ((int64_t)e->cipher_suite << 32) | (int64_t)e->block_size;
}

Tessera__Metainfo__EncryptionParameters *sat_mi_encryption_pb(struct sat_arena *a, int64_t packed)
{
    Tessera__Metainfo__EncryptionParameters *pb = sat_arena_alloc(a, sizeof *pb);
    if (pb != NULL) {
        tessera__metainfo__encryption_parameters__init(pb);
        pb->cipher_suite = (uint32_t)(packed >> 32);
        pb->block_size = (uint32_t)(packed & 0xffffffff);
    }
    return pb;
}

Tessera__Metainfo__Object *sat_mi_object_pb(struct sat_arena *a, const struct sat_object *o)
{
    Tessera__Metainfo__Object *pb = sat_arena_alloc(a, sizeof *pb);
    struct sat_redundancy r;
    if (pb == NULL) {
        return NULL;
    }
    tessera__metainfo__object__init(pb);
    pb->bucket = PB_BYTES(sat_arena_dup(a, o->bucket, o->bucket_len), o->bucket_len);
    pb->encrypted_key = PB_BYTES(sat_arena_dup(a, o->key, o->key_len), o->key_len);
    pb->version = o->version;
    pb->stream_id = PB_BYTES(sat_arena_dup(a, o->stream_id, SAT_ID_SIZE), SAT_ID_SIZE);
    pb->status = (uint32_t)o->status;
    pb->created_at = o->created_at;
    pb->expires_at = o->expires_at;
    pb->segment_count = (uint32_t)o->segment_count;
    pb->total_plain_size = o->total_plain_size;
    pb->total_encrypted_size = o->total_encrypted_size;
    pb->encrypted_metadata =
        PB_BYTES(sat_arena_dup(a, o->metadata, o->metadata_len), o->metadata_len);
    pb->encrypted_metadata_key =
        PB_BYTES(sat_arena_dup(a, o->metadata_key, o->metadata_key_len), o->metadata_key_len);
    pb->encrypted_metadata_nonce =
        PB_BYTES(sat_arena_dup(a, o->metadata_nonce, o->metadata_nonce_len), o->metadata_nonce_len);
    pb->encryption = sat_mi_encryption_pb(a, o->encryption);
    if (sat_redundancy_unpack(o->redundancy, &r) == TS_OK) {
        pb->redundancy = sat_mi_redundancy_pb(a, &r);
    }
    if (pb->bucket.data == NULL || pb->encrypted_key.data == NULL || pb->stream_id.data == NULL ||
        pb->encrypted_metadata.data == NULL || pb->encrypted_metadata_key.data == NULL ||
        pb->encrypted_metadata_nonce.data == NULL || pb->encryption == NULL) {
        return NULL;
    }
    return pb;
}

Tessera__Metainfo__Bucket *sat_mi_bucket_pb(struct sat_arena *a, const struct sat_bucket *b)
{
    Tessera__Metainfo__Bucket *pb = sat_arena_alloc(a, sizeof *pb);
    if (pb == NULL) {
        return NULL;
    }
    tessera__metainfo__bucket__init(pb);
    pb->name = PB_BYTES(sat_arena_dup(a, b->name, b->name_len), b->name_len);
    pb->created_at = b->created_at;
    pb->placement = (uint32_t)b->placement;
    return pb->name.data == NULL ? NULL : pb;
}

ts_err sat_mi_id_sign(struct sat_metainfo *m, const ProtobufCMessage *msg, struct sat_arena *a,
                      ProtobufCBinaryData *out)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t mac[TS_SHA256_SIZE];
    *out = PB_BYTES(NULL, 0);
    if (len > SAT_SIGNED_ID_MAX - 64) {
        return TS_ERR_TOO_LARGE;
    }
    uint8_t *data = sat_arena_alloc(a, len + 1);
    if (data == NULL) {
        return TS_ERR_NOMEM;
    }
    protobuf_c_message_pack(msg, data);
    ts_err err = ts_hmac_sha256(m->id_key, SAT_ID_KEY_SIZE, data, len, mac);
    if (err != TS_OK) {
        return err;
    }
    Tessera__Metainfo__SignedBlob blob = TESSERA__METAINFO__SIGNED_BLOB__INIT;
    blob.data = PB_BYTES(data, len);
    blob.mac = PB_BYTES(mac, sizeof mac);
    blob.key_version = 1;
    size_t blen = tessera__metainfo__signed_blob__get_packed_size(&blob);
    uint8_t *packed = sat_arena_alloc(a, blen + 1);
    if (packed == NULL) {
        return TS_ERR_NOMEM;
    }
    tessera__metainfo__signed_blob__pack(&blob, packed);
    *out = PB_BYTES(packed, blen);
    return TS_OK;
}

ts_err sat_mi_id_verify(struct sat_metainfo *m, ProtobufCBinaryData blob,
                        const ProtobufCMessageDescriptor *desc, ProtobufCMessage **out)
{
    *out = NULL;
    if (blob.len == 0 || blob.len > SAT_SIGNED_ID_MAX) {
        return blob.len == 0 ? TS_ERR_INVALID_ARGUMENT : TS_ERR_TOO_LARGE;
    }
    Tessera__Metainfo__SignedBlob *sb =
        tessera__metainfo__signed_blob__unpack(NULL, blob.len, blob.data);
    if (sb == NULL) {
        return TS_ERR_MALFORMED;
    }
    uint8_t mac[TS_SHA256_SIZE];
    ts_err err = ts_hmac_sha256(m->id_key, SAT_ID_KEY_SIZE, sb->data.data, sb->data.len, mac);
    if (err == TS_OK && (sb->key_version != 1 || sb->mac.len != sizeof mac ||
                         !ts_ct_equal(mac, sb->mac.data, sizeof mac))) {
        err = TS_ERR_AUTH_FAILED;
    }
    if (err == TS_OK) {
        *out = protobuf_c_message_unpack(desc, NULL, sb->data.len, sb->data.data);
        err = *out == NULL ? TS_ERR_MALFORMED : TS_OK;
    }
    tessera__metainfo__signed_blob__free_unpacked(sb, NULL);
    return err;
}

ts_err sat_mi_stream_open(struct sat_metainfo *m, const Tessera__Metainfo__RequestHeader *header,
                          ProtobufCBinaryData blob, Tessera__Metainfo__StreamID **out,
                          struct sat_auth *auth)
{
    ProtobufCMessage *msg = NULL;
    struct sat_verified_key *vk = NULL;
    *out = NULL;
    memset(auth, 0, sizeof *auth);
    if (header == NULL) {
        return TS_ERR_AUTH_FAILED;
    }
    /* The key is checked first: an unauthorised caller learns nothing about the blob. */
    ts_err err = sat_apikey_verify(m->db, header->api_key.data, header->api_key.len, &vk, auth);
    if (err == TS_OK) {
        err = sat_mi_id_verify(m, blob, &tessera__metainfo__stream_id__descriptor, &msg);
    }
    Tessera__Metainfo__StreamID *sid = (Tessera__Metainfo__StreamID *)msg;
    if (err == TS_OK && (sid->project_id.len != SAT_ID_SIZE || sid->stream_id.len != SAT_ID_SIZE)) {
        err = TS_ERR_MALFORMED;
    }
    if (err == TS_OK) {
        struct sat_request_action action = {
            .op = SAT_OP_WRITE,
            .bucket = sid->bucket.data,
            .bucket_len = sid->bucket.len,
            .path = sid->encrypted_key.data,
            .path_len = sid->encrypted_key.len,
        };
        err = sat_apikey_allows(vk, &action, ts_time_now_s());
    }
    if (err == TS_OK && memcmp(auth->project_id, sid->project_id.data, SAT_ID_SIZE) != 0) {
        err = TS_ERR_PERMISSION_DENIED;
    }
    if (err == TS_OK) {
        err = sat_mi_limiter_take(m->limiter, auth->project_id, ts_monotonic_ms());
    }
    sat_apikey_verified_free(vk);
    if (err != TS_OK) {
        if (msg != NULL) {
            protobuf_c_message_free_unpacked(msg, NULL);
        }
        memset(auth, 0, sizeof *auth);
        return err;
    }
    *out = sid;
    return TS_OK;
}
