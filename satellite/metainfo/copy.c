/* Server-side copy and move (reference §3.3) and metadata updates. Begin returns the source's
 * wrapped keys (per segment, and the metadata key) with a signed CopyTicket; the uplink unwraps
 * them with the source path's content key and wraps them under the destination's; Finish stores
 * the new object (copy: new rows sharing the source's pieces) or re-keys it (move) in one
 * transaction. Object data never travels. */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "crypto/hash.h"
#include "satellite/metainfo/internal.h"

/* Authorises the source (READ, and DELETE for a move) and the destination (WRITE). One token. */
static ts_err auth_pair(struct sat_metainfo *m, const Tessera__Metainfo__RequestHeader *h,
                        ProtobufCBinaryData bucket, ProtobufCBinaryData key,
                        ProtobufCBinaryData new_bucket, ProtobufCBinaryData new_key, bool move,
                        struct sat_auth *auth)
{
    ts_err err = sat_mi_auth_object(m, h, SAT_OP_READ, bucket, key, auth);
    struct sat_auth other;
    int64_t now = ts_time_now_s();
    if (err == TS_OK && move) {
        struct sat_request_action act = {SAT_OP_DELETE, bucket.data, bucket.len, key.data, key.len};
        err = sat_apikey_authorize(m->db, h->api_key.data, h->api_key.len, &act, now, &other);
    }
    if (err == TS_OK) {
        err = sat_mi_check_bucket_name(new_bucket);
    }
    if (err == TS_OK) {
        err = sat_mi_check_key(new_key);
    }
    if (err == TS_OK) {
        struct sat_request_action act = {SAT_OP_WRITE, new_bucket.data, new_bucket.len,
                                         new_key.data, new_key.len};
        err = sat_apikey_authorize(m->db, h->api_key.data, h->api_key.len, &act, now, &other);
    }
    return err;
}

/* ---- Begin ---- */

struct begin_ctx {
    const uint8_t *project;
    ProtobufCBinaryData bucket, key, new_bucket;
    struct sat_object *o;
    Tessera__Metainfo__SegmentKey **keys;
    size_t count;
    struct sat_arena *a;
};

static ts_err key_fn(const struct sat_segment_brief *s, void *ctx, bool *stop)
{
    struct begin_ctx *bc = ctx;
    (void)stop;
    if (bc->count == SAT_COPY_SEGMENTS_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    Tessera__Metainfo__SegmentKey *k = sat_arena_alloc(bc->a, sizeof *k);
    Tessera__Metainfo__SegmentPosition *pos = sat_arena_alloc(bc->a, sizeof *pos);
    if (k == NULL || pos == NULL) {
        return TS_ERR_NOMEM;
    }
    tessera__metainfo__segment_key__init(k);
    tessera__metainfo__segment_position__init(pos);
    pos->part = (uint32_t)((uint64_t)s->position >> 32);
    pos->index = (uint32_t)(s->position & 0xffffffff);
    k->position = pos;
    k->encrypted_key_nonce =
        PB_BYTES(sat_arena_dup(bc->a, s->key_nonce, s->key_nonce_len), s->key_nonce_len);
    k->encrypted_key = PB_BYTES(sat_arena_dup(bc->a, s->encrypted_key, s->encrypted_key_len),
                                s->encrypted_key_len);
    if (k->encrypted_key_nonce.data == NULL || k->encrypted_key.data == NULL) {
        return TS_ERR_NOMEM;
    }
    bc->keys[bc->count++] = k;
    return TS_OK;
}

static ts_err begin_fn(struct ts_db_conn *c, void *ctx)
{
    struct begin_ctx *bc = ctx;
    struct sat_bucket b;
    ts_err err = sat_db_bucket_get(c, bc->project, bc->new_bucket.data, bc->new_bucket.len, &b);
    if (err == TS_OK) {
        err = sat_db_object_get_committed(c, bc->project, bc->bucket.data, bc->bucket.len,
                                          bc->key.data, bc->key.len, bc->o);
    }
    if (err == TS_OK) {
        err = sat_db_segments_scan_brief(c, bc->o->stream_id, 0, INT64_MAX, key_fn, bc);
    }
    return err;
}

/* The shared body of BeginCopyObject and BeginMoveObject (same request and response shapes). */
static ts_err begin_common(struct sat_metainfo *m,
                           const Tessera__Metainfo__BeginCopyObjectRequest *req, bool move,
                           Tessera__Metainfo__BeginCopyObjectResponse *resp, struct sat_arena *a)
{
    struct sat_auth auth;
    ts_err err = auth_pair(m, req->header, req->bucket, req->encrypted_key, req->new_bucket,
                           req->new_encrypted_key, move, &auth);
    if (err != TS_OK) {
        return err;
    }
    struct begin_ctx bc = {.project = auth.project_id,
                           .bucket = req->bucket,
                           .key = req->encrypted_key,
                           .new_bucket = req->new_bucket,
                           .o = malloc(sizeof *bc.o),
                           .keys = sat_arena_alloc(a, SAT_COPY_SEGMENTS_MAX * sizeof *bc.keys),
                           .a = a};
    err = bc.o == NULL || bc.keys == NULL ? TS_ERR_NOMEM : ts_db_tx_read(m->db, begin_fn, &bc);
    if (err == TS_OK) {
        Tessera__Metainfo__CopyTicket t = TESSERA__METAINFO__COPY_TICKET__INIT;
        t.project_id = PB_BYTES(auth.project_id, SAT_ID_SIZE);
        t.bucket = req->bucket;
        t.encrypted_key = req->encrypted_key;
        t.version = bc.o->version;
        t.stream_id = PB_BYTES(bc.o->stream_id, SAT_ID_SIZE);
        t.new_bucket = req->new_bucket;
        t.new_encrypted_key = req->new_encrypted_key;
        t.created_at = ts_time_now_s();
        t.move = move;
        err = sat_mi_id_sign(m, &t.base, a, &resp->stream_id);
    }
    if (err == TS_OK) {
        const struct sat_object *o = bc.o;
        resp->encrypted_metadata_key =
            PB_BYTES(sat_arena_dup(a, o->metadata_key, o->metadata_key_len), o->metadata_key_len);
        resp->encrypted_metadata_nonce = PB_BYTES(
            sat_arena_dup(a, o->metadata_nonce, o->metadata_nonce_len), o->metadata_nonce_len);
        resp->segment_keys = bc.keys;
        resp->n_segment_keys = bc.count;
        resp->object = sat_mi_object_pb(a, o);
        err = resp->object == NULL || resp->encrypted_metadata_key.data == NULL ||
                      resp->encrypted_metadata_nonce.data == NULL
                  ? TS_ERR_NOMEM
                  : TS_OK;
    }
    free(bc.o);
    return err;
}

ts_err sat_metainfo_begin_copy_object(struct sat_metainfo *m,
                                      const Tessera__Metainfo__BeginCopyObjectRequest *req,
                                      Tessera__Metainfo__BeginCopyObjectResponse *resp,
                                      struct sat_arena *a)
{
    return begin_common(m, req, false, resp, a);
}

/* The move messages have the copy messages' fields and numbers: one body serves both. */
_Static_assert(sizeof(Tessera__Metainfo__BeginMoveObjectRequest) ==
                   sizeof(Tessera__Metainfo__BeginCopyObjectRequest),
               "move and copy begin requests share a layout");
_Static_assert(sizeof(Tessera__Metainfo__BeginMoveObjectResponse) ==
                   sizeof(Tessera__Metainfo__BeginCopyObjectResponse),
               "move and copy begin responses share a layout");

ts_err sat_metainfo_begin_move_object(struct sat_metainfo *m,
                                      const Tessera__Metainfo__BeginMoveObjectRequest *req,
                                      Tessera__Metainfo__BeginMoveObjectResponse *resp,
                                      struct sat_arena *a)
{
    Tessera__Metainfo__BeginCopyObjectRequest creq =
        TESSERA__METAINFO__BEGIN_COPY_OBJECT_REQUEST__INIT;
    Tessera__Metainfo__BeginCopyObjectResponse cresp =
        TESSERA__METAINFO__BEGIN_COPY_OBJECT_RESPONSE__INIT;
    creq.header = req->header;
    creq.bucket = req->bucket;
    creq.encrypted_key = req->encrypted_key;
    creq.new_bucket = req->new_bucket;
    creq.new_encrypted_key = req->new_encrypted_key;
    ts_err err = begin_common(m, &creq, true, &cresp, a);
    if (err == TS_OK) {
        resp->stream_id = cresp.stream_id;
        resp->encrypted_metadata_key = cresp.encrypted_metadata_key;
        resp->encrypted_metadata_nonce = cresp.encrypted_metadata_nonce;
        resp->segment_keys = cresp.segment_keys;
        resp->n_segment_keys = cresp.n_segment_keys;
        resp->object = cresp.object;
    }
    return err;
}

/* ---- Finish ---- */

struct finish_args {
    ProtobufCBinaryData ticket;
    ProtobufCBinaryData metadata_key, metadata_nonce;
    Tessera__Metainfo__SegmentKey **keys;
    size_t n_keys;
    bool replace_metadata;
    ProtobufCBinaryData metadata;
};

struct finish_ctx {
    const Tessera__Metainfo__CopyTicket *t;
    struct sat_object *dst;
    struct sat_segment_key *keys;
    size_t n;
    bool move, replace_metadata;
};

static ts_err finish_fn(struct ts_db_conn *c, void *ctx)
{
    struct finish_ctx *fc = ctx;
    struct sat_bucket b;
    ts_err err =
        sat_db_bucket_get(c, fc->dst->project_id, fc->dst->bucket, fc->dst->bucket_len, &b);
    if (err == TS_OK && fc->move) {
        return sat_db_object_move(c, fc->t->stream_id.data, fc->dst, fc->keys, fc->n);
    }
    if (err == TS_OK && !fc->replace_metadata) {
        struct sat_object *src = malloc(sizeof *src);
        err =
            src == NULL ? TS_ERR_NOMEM : sat_db_object_get_by_stream(c, fc->t->stream_id.data, src);
        if (err == TS_OK) {
            memcpy(fc->dst->metadata, src->metadata, src->metadata_len);
            fc->dst->metadata_len = src->metadata_len;
        }
        free(src);
    }
    if (err == TS_OK) {
        err = sat_db_object_copy(c, fc->t->stream_id.data, fc->dst, fc->keys, fc->n);
    }
    return err;
}

/* Converts and bounds the re-wrapped keys. */
static ts_err keys_from_pb(const struct finish_args *fa, struct sat_segment_key *out)
{
    for (size_t i = 0; i < fa->n_keys; i++) {
        const Tessera__Metainfo__SegmentKey *k = fa->keys[i];
        if (k == NULL || k->position == NULL || k->position->part > INT32_MAX ||
            k->position->index > INT32_MAX) {
            return TS_ERR_INVALID_ARGUMENT;
        }
        if (k->encrypted_key_nonce.len > TS_NONCE_SIZE ||
            k->encrypted_key.len > SAT_WRAPPED_KEY_MAX) {
            return TS_ERR_TOO_LARGE;
        }
        out[i].position = (int64_t)k->position->part << 32 | (int64_t)k->position->index;
        sat_mi_copy(out[i].key_nonce, k->encrypted_key_nonce);
        out[i].key_nonce_len = k->encrypted_key_nonce.len;
        sat_mi_copy(out[i].encrypted_key, k->encrypted_key);
        out[i].encrypted_key_len = k->encrypted_key.len;
    }
    return TS_OK;
}

static ts_err check_ticket(const Tessera__Metainfo__CopyTicket *t, const struct sat_auth *auth,
                           bool move)
{
    int64_t now = ts_time_now_s();
    if (t->project_id.len != SAT_ID_SIZE || t->stream_id.len != SAT_ID_SIZE) {
        return TS_ERR_MALFORMED;
    }
    if (memcmp(t->project_id.data, auth->project_id, SAT_ID_SIZE) != 0 || t->move != move) {
        return TS_ERR_PERMISSION_DENIED;
    }
    return now > t->created_at + SAT_COPY_TICKET_TTL_S ? TS_ERR_EXPIRED : TS_OK;
}

static ts_err finish_common(struct sat_metainfo *m, const Tessera__Metainfo__RequestHeader *h,
                            const struct finish_args *fa, bool move, struct sat_arena *a,
                            Tessera__Metainfo__Object **object)
{
    ProtobufCMessage *msg = NULL;
    struct sat_auth auth;
    if (h == NULL) {
        return TS_ERR_AUTH_FAILED;
    }
    if (fa->n_keys > SAT_COPY_SEGMENTS_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    ts_err err = sat_mi_id_verify(m, fa->ticket, &tessera__metainfo__copy_ticket__descriptor, &msg);
    const Tessera__Metainfo__CopyTicket *t = (const Tessera__Metainfo__CopyTicket *)msg;
    if (err == TS_OK) {
        err = auth_pair(m, h, t->bucket, t->encrypted_key, t->new_bucket, t->new_encrypted_key,
                        move, &auth);
    }
    if (err == TS_OK) {
        err = check_ticket(t, &auth, move);
    }
    if (err == TS_OK &&
        (fa->metadata_key.len > SAT_WRAPPED_KEY_MAX || fa->metadata_nonce.len > TS_NONCE_SIZE ||
         fa->metadata.len > TS_METADATA_ENCRYPTED_MAX)) {
        err = TS_ERR_TOO_LARGE;
    }
    struct finish_ctx fc = {.t = t,
                            .dst = calloc(1, sizeof *fc.dst),
                            .keys = calloc(fa->n_keys + 1, sizeof *fc.keys),
                            .n = fa->n_keys,
                            .move = move,
                            .replace_metadata = fa->replace_metadata};
    if (err == TS_OK && (fc.dst == NULL || fc.keys == NULL)) {
        err = TS_ERR_NOMEM;
    }
    if (err == TS_OK) {
        err = keys_from_pb(fa, fc.keys);
    }
    if (err == TS_OK) {
        struct sat_object *d = fc.dst;
        memcpy(d->project_id, auth.project_id, SAT_ID_SIZE);
        sat_mi_copy(d->bucket, t->new_bucket);
        d->bucket_len = t->new_bucket.len;
        sat_mi_copy(d->key, t->new_encrypted_key);
        d->key_len = t->new_encrypted_key.len;
        d->created_at = ts_time_now_s();
        sat_mi_copy(d->metadata_key, fa->metadata_key);
        d->metadata_key_len = fa->metadata_key.len;
        sat_mi_copy(d->metadata_nonce, fa->metadata_nonce);
        d->metadata_nonce_len = fa->metadata_nonce.len;
        sat_mi_copy(d->metadata, fa->metadata);
        d->metadata_len = fa->metadata.len;
        err = ts_random_bytes(d->stream_id, SAT_ID_SIZE);
    }
    if (err == TS_OK) {
        err = ts_db_tx(m->db, finish_fn, &fc);
    }
    if (err == TS_OK) {
        *object = sat_mi_object_pb(a, fc.dst);
        err = *object == NULL ? TS_ERR_NOMEM : TS_OK;
    }
    free(fc.dst);
    free(fc.keys);
    if (msg != NULL) {
        protobuf_c_message_free_unpacked(msg, NULL);
    }
    return err;
}

ts_err sat_metainfo_finish_copy_object(struct sat_metainfo *m,
                                       const Tessera__Metainfo__FinishCopyObjectRequest *req,
                                       Tessera__Metainfo__FinishCopyObjectResponse *resp,
                                       struct sat_arena *a)
{
    struct finish_args fa = {req->stream_id,
                             req->new_encrypted_metadata_key,
                             req->new_encrypted_metadata_nonce,
                             req->new_segment_keys,
                             req->n_new_segment_keys,
                             req->replace_metadata,
                             req->new_encrypted_metadata};
    return finish_common(m, req->header, &fa, false, a, &resp->object);
}

ts_err sat_metainfo_finish_move_object(struct sat_metainfo *m,
                                       const Tessera__Metainfo__FinishMoveObjectRequest *req,
                                       Tessera__Metainfo__FinishMoveObjectResponse *resp,
                                       struct sat_arena *a)
{
    struct finish_args fa = {
        req->stream_id,        req->new_encrypted_metadata_key, req->new_encrypted_metadata_nonce,
        req->new_segment_keys, req->n_new_segment_keys,         false,
        PB_BYTES(NULL, 0)};
    return finish_common(m, req->header, &fa, true, a, &resp->object);
}

/* ---- UpdateObjectMetadata ---- */

struct meta_ctx {
    const uint8_t *project;
    const Tessera__Metainfo__UpdateObjectMetadataRequest *req;
    struct sat_object *meta;
};

static ts_err meta_fn(struct ts_db_conn *c, void *ctx)
{
    struct meta_ctx *mc = ctx;
    const Tessera__Metainfo__UpdateObjectMetadataRequest *r = mc->req;
    return sat_db_object_update_metadata(c, mc->project, r->bucket.data, r->bucket.len,
                                         r->encrypted_key.data, r->encrypted_key.len,
                                         r->stream_id.len > 0 ? r->stream_id.data : NULL, mc->meta);
}

ts_err sat_metainfo_update_object_metadata(
    struct sat_metainfo *m, const Tessera__Metainfo__UpdateObjectMetadataRequest *req,
    Tessera__Metainfo__UpdateObjectMetadataResponse *resp, struct sat_arena *a)
{
    struct sat_auth auth;
    (void)resp;
    (void)a;
    ts_err err =
        sat_mi_auth_object(m, req->header, SAT_OP_WRITE, req->bucket, req->encrypted_key, &auth);
    if (err != TS_OK) {
        return err;
    }
    if (req->encrypted_metadata.len > TS_METADATA_ENCRYPTED_MAX ||
        req->encrypted_metadata_key.len > SAT_WRAPPED_KEY_MAX ||
        req->encrypted_metadata_nonce.len > TS_NONCE_SIZE) {
        return TS_ERR_TOO_LARGE;
    }
    if (req->stream_id.len != 0 && req->stream_id.len != SAT_ID_SIZE) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    struct meta_ctx mc = {auth.project_id, req, calloc(1, sizeof *mc.meta)};
    if (mc.meta == NULL) {
        return TS_ERR_NOMEM;
    }
    sat_mi_copy(mc.meta->metadata, req->encrypted_metadata);
    mc.meta->metadata_len = req->encrypted_metadata.len;
    sat_mi_copy(mc.meta->metadata_key, req->encrypted_metadata_key);
    mc.meta->metadata_key_len = req->encrypted_metadata_key.len;
    sat_mi_copy(mc.meta->metadata_nonce, req->encrypted_metadata_nonce);
    mc.meta->metadata_nonce_len = req->encrypted_metadata_nonce.len;
    err = ts_db_tx(m->db, meta_fn, &mc);
    free(mc.meta);
    return err;
}
