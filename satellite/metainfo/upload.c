/* Upload RPCs: BeginObject, BeginSegment, MakeInlineSegment, CommitObject. CommitSegment and its
 * receipt checks are in commit_segment.c. */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "crypto/segment.h"
#include "satellite/metainfo/internal.h"
#include "satellite/orders/orders.h"

struct begin_ctx {
    struct sat_object *o;
    int64_t placement;
};

static ts_err begin_object_fn(struct ts_db_conn *c, void *ctx)
{
    struct begin_ctx *bc = ctx;
    struct sat_bucket b;
    ts_err err = sat_db_bucket_get(c, bc->o->project_id, bc->o->bucket, bc->o->bucket_len, &b);
    if (err == TS_OK) {
        bc->placement = b.placement;
        err = sat_db_object_insert_pending(c, bc->o);
    }
    return err;
}

/* The object's expiration: the request's, capped by the key's max_object_ttl. */
static ts_err expiration(int64_t requested, int64_t ttl_s, int64_t now, int64_t *out)
{
    if (requested != 0 && requested <= now) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    *out = requested;
    if (ttl_s > 0 && (requested == 0 || requested > now + ttl_s)) {
        *out = now + ttl_s;
    }
    return TS_OK;
}

ts_err sat_mi_stream_id_sign(struct sat_metainfo *m, const struct sat_object *o, int64_t placement,
                             struct sat_arena *a, ProtobufCBinaryData *out)
{
    Tessera__Metainfo__StreamID sid = TESSERA__METAINFO__STREAM_ID__INIT;
    Tessera__Metainfo__EncryptionParameters *enc = sat_mi_encryption_pb(a, o->encryption);
    if (enc == NULL) {
        return TS_ERR_NOMEM;
    }
    sid.project_id = PB_BYTES(o->project_id, SAT_ID_SIZE);
    sid.bucket = PB_BYTES(o->bucket, o->bucket_len);
    sid.encrypted_key = PB_BYTES(o->key, o->key_len);
    sid.version = o->version;
    sid.stream_id = PB_BYTES(o->stream_id, SAT_ID_SIZE);
    sid.created_at = o->created_at;
    sid.expires_at = o->expires_at;
    sid.encryption = enc;
    sid.redundancy = sat_mi_redundancy_pb(a, &m->cfg->redundancy);
    sid.placement = (uint32_t)placement;
    sid.multipart = o->multipart != 0;
    if (sid.redundancy == NULL) {
        return TS_ERR_NOMEM;
    }
    return sat_mi_id_sign(m, &sid.base, a, out);
}

ts_err sat_metainfo_begin_object(struct sat_metainfo *m,
                                 const Tessera__Metainfo__BeginObjectRequest *req,
                                 Tessera__Metainfo__BeginObjectResponse *resp, struct sat_arena *a)
{
    struct sat_auth auth;
    int64_t now = ts_time_now_s();
    ts_err err = sat_mi_auth(m, req->header, SAT_OP_WRITE, req->bucket, req->encrypted_key, &auth);
    if (err == TS_OK) {
        err = sat_mi_check_bucket_name(req->bucket);
    }
    if (err == TS_OK) {
        err = sat_mi_check_key(req->encrypted_key);
    }
    if (err == TS_OK && (req->encryption == NULL || req->encryption->cipher_suite > 3 ||
                         req->encryption->block_size == 0)) {
        err = TS_ERR_INVALID_ARGUMENT;
    }
    if (err == TS_OK && (req->encrypted_metadata.len > TS_METADATA_ENCRYPTED_MAX ||
                         req->encrypted_metadata_key.len > SAT_WRAPPED_KEY_MAX ||
                         req->encrypted_metadata_nonce.len > TS_NONCE_SIZE)) {
        err = TS_ERR_TOO_LARGE;
    }
    struct sat_object *o = calloc(1, sizeof *o);
    if (err == TS_OK && o == NULL) {
        err = TS_ERR_NOMEM;
    }
    if (err == TS_OK) {
        err = expiration(req->expires_at, auth.max_object_ttl_s, now, &o->expires_at);
    }
    if (err == TS_OK) {
        err = ts_random_bytes(o->stream_id, SAT_ID_SIZE);
    }
    struct begin_ctx bc = {.o = o};
    if (err == TS_OK) {
        memcpy(o->project_id, auth.project_id, SAT_ID_SIZE);
        sat_mi_copy(o->bucket, req->bucket);
        o->bucket_len = req->bucket.len;
        sat_mi_copy(o->key, req->encrypted_key);
        o->key_len = req->encrypted_key.len;
        o->created_at = now;
        o->multipart = req->multipart ? 1 : 0;
        o->zombie_deadline =
            now + (req->multipart ? m->cfg->multipart_deadline_s : m->cfg->zombie_deadline_s);
        o->encryption = sat_mi_encryption_pack(req->encryption);
        o->redundancy = sat_redundancy_pack(&m->cfg->redundancy);
        sat_mi_copy(o->metadata, req->encrypted_metadata);
        o->metadata_len = req->encrypted_metadata.len;
        sat_mi_copy(o->metadata_key, req->encrypted_metadata_key);
        o->metadata_key_len = req->encrypted_metadata_key.len;
        sat_mi_copy(o->metadata_nonce, req->encrypted_metadata_nonce);
        o->metadata_nonce_len = req->encrypted_metadata_nonce.len;
        err = ts_db_tx(m->db, begin_object_fn, &bc);
    }
    if (err == TS_OK) {
        err = sat_mi_stream_id_sign(m, o, bc.placement, a, &resp->stream_id);
    }
    if (err == TS_OK) {
        resp->redundancy = sat_mi_redundancy_pb(a, &m->cfg->redundancy);
        resp->version = o->version;
        err = resp->redundancy == NULL ? TS_ERR_NOMEM : TS_OK;
    }
    free(o);
    return err;
}

/* Bytes one piece may hold: the piece size of the largest encrypted segment, or less if asked. */
static int64_t piece_size_max(const struct sat_metainfo *m, int64_t requested)
{
    int64_t enc_max = (int64_t)ts_segment_encrypted_size((size_t)m->cfg->segment_size_max);
    int64_t max = sat_redundancy_piece_size(&m->cfg->redundancy, enc_max);
    return requested > 0 && requested < max ? requested : max;
}

struct serial_ctx {
    const uint8_t *serial;
    const Tessera__Metainfo__StreamID *sid;
    int64_t expires_at;
};

static ts_err serial_fn(struct ts_db_conn *c, void *ctx)
{
    struct serial_ctx *sc = ctx;
    return sat_db_serial_insert(c, sc->serial, sc->sid->project_id.data, sc->sid->bucket.data,
                                sc->sid->bucket.len, sc->expires_at);
}

/* Signs the PUT limits for the chosen nodes into the response and the SegmentID pieces. */
static ts_err make_put_limits(struct sat_metainfo *m, const struct sat_limit_params *p,
                              const struct sat_node_candidate *nodes, size_t n,
                              Tessera__Metainfo__BeginSegmentResponse *resp,
                              Tessera__Metainfo__SegmentPiece **pieces, struct sat_arena *a)
{
    struct ts_buf b;
    ts_err err = TS_OK;
    ts_buf_init(&b, TS_ORDER_LIMIT_ENCODED_MAX);
    resp->limits = sat_arena_alloc(a, n * sizeof *resp->limits);
    if (resp->limits == NULL) {
        return TS_ERR_NOMEM;
    }
    for (size_t i = 0; err == TS_OK && i < n; i++) {
        ts_buf_clear(&b);
        err = sat_limit_create(p, m->identity, nodes[i].id, (uint32_t)i, &b);
        Tessera__Metainfo__AddressedOrderLimit *l = sat_arena_alloc(a, sizeof *l);
        Tessera__Metainfo__SegmentPiece *sp = sat_arena_alloc(a, sizeof *sp);
        if (err == TS_OK && (l == NULL || sp == NULL)) {
            err = TS_ERR_NOMEM;
        }
        if (err == TS_OK) {
            tessera__metainfo__addressed_order_limit__init(l);
            l->limit = PB_BYTES(sat_arena_dup(a, b.data, b.len), b.len);
            l->node_id = PB_BYTES(sat_arena_dup(a, nodes[i].id, TS_NODE_ID_SIZE), TS_NODE_ID_SIZE);
            l->address = sat_arena_dup(a, nodes[i].address, strlen(nodes[i].address) + 1);
            l->piece_num = (uint32_t)i;
            tessera__metainfo__segment_piece__init(sp);
            sp->piece_num = (uint32_t)i;
            sp->node_id = l->node_id;
            sp->alias = nodes[i].alias;
            resp->limits[i] = l;
            pieces[i] = sp;
            resp->n_limits = i + 1;
            err = l->limit.data == NULL || l->node_id.data == NULL || l->address == NULL
                      ? TS_ERR_NOMEM
                      : TS_OK;
        }
    }
    ts_buf_release(&b);
    return err;
}

static ts_err begin_segment_sign(struct sat_metainfo *m, Tessera__Metainfo__StreamID *sid,
                                 const Tessera__Metainfo__BeginSegmentRequest *req,
                                 struct sat_limit_params *p,
                                 Tessera__Metainfo__BeginSegmentResponse *resp, struct sat_arena *a)
{
    const struct sat_redundancy *r = &m->cfg->redundancy;
    struct sat_node_candidate *nodes = calloc((size_t)r->total, sizeof *nodes);
    Tessera__Metainfo__SegmentPiece **pieces =
        sat_arena_alloc(a, (size_t)r->total * sizeof *pieces);
    uint8_t *priv = sat_arena_alloc(a, TS_ED25519_PRIVATE_SIZE);
    size_t n = 0;
    ts_err err = nodes == NULL || pieces == NULL || priv == NULL ? TS_ERR_NOMEM : TS_OK;
    if (err == TS_OK) {
        err = sat_overlay_select(m->overlay, r->total, nodes, &n);
    }
    if (err == TS_OK && n < (size_t)r->success) {
        err = TS_ERR_UNAVAILABLE; /* not enough eligible nodes in distinct subnets */
    }
    if (err == TS_OK) {
        err = ts_ed25519_keypair(p->piece_public_key, priv);
    }
    if (err == TS_OK) {
        err = ts_random_bytes(p->root_piece_id, sizeof p->root_piece_id);
    }
    if (err == TS_OK) {
        err = make_put_limits(m, p, nodes, n, resp, pieces, a);
    }
    if (err == TS_OK) {
        Tessera__Metainfo__SegmentID seg = TESSERA__METAINFO__SEGMENT_ID__INIT;
        seg.stream = sid;
        seg.position = req->position;
        seg.root_piece_id = PB_BYTES(p->root_piece_id, sizeof p->root_piece_id);
        seg.piece_public_key = PB_BYTES(p->piece_public_key, 32);
        seg.piece_size_max = p->limit_bytes;
        seg.pieces = pieces;
        seg.n_pieces = n;
        seg.created_at = p->order_creation_s;
        seg.serial_number = PB_BYTES(p->serial, TS_SERIAL_SIZE);
        err = sat_mi_id_sign(m, &seg.base, a, &resp->segment_id);
    }
    if (err == TS_OK) {
        resp->piece_private_key = PB_BYTES(priv, TS_ED25519_PRIVATE_SIZE);
        resp->redundancy = sat_mi_redundancy_pb(a, r);
        err = resp->redundancy == NULL ? TS_ERR_NOMEM : TS_OK;
    }
    free(nodes);
    return err;
}

ts_err sat_metainfo_begin_segment(struct sat_metainfo *m,
                                  const Tessera__Metainfo__BeginSegmentRequest *req,
                                  Tessera__Metainfo__BeginSegmentResponse *resp,
                                  struct sat_arena *a)
{
    struct sat_auth auth;
    Tessera__Metainfo__StreamID *sid = NULL;
    ts_err err = sat_mi_stream_open(m, req->header, req->stream_id, &sid, &auth);
    if (err != TS_OK) {
        return err;
    }
    int64_t now = ts_time_now_s();
    struct sat_limit_params p;
    if (req->position == NULL || req->max_order_limit < 0 || req->position->index > INT32_MAX ||
        req->position->part > INT32_MAX) {
        err = TS_ERR_INVALID_ARGUMENT;
    }
    if (err == TS_OK) {
        err = sat_limit_params_init(&p, TS_PIECE_ACTION_PUT, now, m->cfg->order_expiration_s);
    }
    if (err == TS_OK) {
        p.limit_bytes = piece_size_max(m, req->max_order_limit);
        p.piece_expiration_s = sid->expires_at;
        err = begin_segment_sign(m, sid, req, &p, resp, a);
    }
    if (err == TS_OK) {
        struct serial_ctx sc = {p.serial, sid, p.order_expiration_s};
        err = ts_db_tx(m->db, serial_fn, &sc);
    }
    ts_wipe(&p, sizeof p);
    protobuf_c_message_free_unpacked(&sid->base, NULL);
    return err;
}

struct inline_ctx {
    const Tessera__Metainfo__StreamID *sid;
    struct sat_segment *seg;
};

/* The stream must still be a pending object of this project. */
static ts_err check_pending(struct ts_db_conn *c, const Tessera__Metainfo__StreamID *sid)
{
    struct sat_object *o = malloc(sizeof *o);
    if (o == NULL) {
        return TS_ERR_NOMEM;
    }
    ts_err err = sat_db_object_get_by_stream(c, sid->stream_id.data, o);
    if (err == TS_OK && (o->status != SAT_OBJECT_PENDING ||
                         memcmp(o->project_id, sid->project_id.data, SAT_ID_SIZE) != 0 ||
                         o->version != sid->version)) {
        err = TS_ERR_NOT_FOUND;
    }
    free(o);
    return err;
}

static ts_err put_segment_fn(struct ts_db_conn *c, void *ctx)
{
    struct inline_ctx *ic = ctx;
    ts_err err = check_pending(c, ic->sid);
    /* A part uploaded again: its first segment drops every segment of the older upload, so a
     * shorter new part leaves nothing stale behind (segments of a part commit in order). */
    int64_t pos = ic->seg->position;
    if (err == TS_OK && ic->sid->multipart && (pos & 0xffffffff) == 0) {
        err = sat_db_segments_delete_range(c, ic->seg->stream_id, pos + 1, pos | 0x7fffffff, NULL);
    }
    if (err == TS_OK) {
        err = sat_db_segment_put(c, ic->seg);
    }
    return err;
}

ts_err sat_mi_segment_store(struct sat_metainfo *m, const Tessera__Metainfo__StreamID *sid,
                            struct sat_segment *seg)
{
    struct inline_ctx ic = {sid, seg};
    return ts_db_tx(m->db, put_segment_fn, &ic);
}

/* Copies the fields every segment shares. */
ts_err sat_mi_segment_common(const Tessera__Metainfo__StreamID *sid,
                             const Tessera__Metainfo__SegmentPosition *pos,
                             ProtobufCBinaryData key_nonce, ProtobufCBinaryData key,
                             struct sat_segment *seg)
{
    if (pos == NULL || pos->part > INT32_MAX || pos->index > INT32_MAX) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    /* Plain uploads use part 0; multipart uploads parts 1..SAT_PARTS_MAX. */
    if (sid->multipart ? pos->part < 1 || pos->part > SAT_PARTS_MAX : pos->part != 0) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    if (key_nonce.len > TS_NONCE_SIZE || key.len > SAT_WRAPPED_KEY_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    memcpy(seg->stream_id, sid->stream_id.data, SAT_ID_SIZE);
    seg->position = ((int64_t)pos->part << 32) | (int64_t)pos->index;
    sat_mi_copy(seg->key_nonce, key_nonce);
    seg->key_nonce_len = key_nonce.len;
    sat_mi_copy(seg->encrypted_key, key);
    seg->encrypted_key_len = key.len;
    seg->created_at = ts_time_now_s();
    seg->expires_at = sid->expires_at;
    return TS_OK;
}

ts_err sat_metainfo_make_inline_segment(struct sat_metainfo *m,
                                        const Tessera__Metainfo__MakeInlineSegmentRequest *req,
                                        Tessera__Metainfo__MakeInlineSegmentResponse *resp,
                                        struct sat_arena *a)
{
    struct sat_auth auth;
    Tessera__Metainfo__StreamID *sid = NULL;
    (void)resp;
    (void)a;
    ts_err err = sat_mi_stream_open(m, req->header, req->stream_id, &sid, &auth);
    if (err != TS_OK) {
        return err;
    }
    struct sat_segment *seg = calloc(1, sizeof *seg);
    struct sat_redundancy r;
    if (seg == NULL) {
        err = TS_ERR_NOMEM;
    } else if (req->encrypted_inline_data.len > SAT_INLINE_ENCRYPTED_MAX ||
               req->plain_size > TS_INLINE_SIZE_MAX ||
               req->encrypted_etag.len > SAT_ETAG_ENCRYPTED_MAX) {
        err = TS_ERR_TOO_LARGE;
    } else if (req->plain_size < 0) {
        err = TS_ERR_INVALID_ARGUMENT;
    } else {
        err = sat_mi_segment_common(sid, req->position, req->encrypted_key_nonce,
                                    req->encrypted_key, seg);
    }
    if (err == TS_OK) {
        seg->is_inline = true;
        sat_mi_copy(seg->inline_data, req->encrypted_inline_data);
        seg->inline_len = req->encrypted_inline_data.len;
        seg->plain_size = req->plain_size;
        seg->encrypted_size = (int64_t)req->encrypted_inline_data.len;
        r = m->cfg->redundancy;
        seg->redundancy = sat_redundancy_pack(&r);
        sat_mi_copy(seg->etag, req->encrypted_etag);
        seg->etag_len = req->encrypted_etag.len;
        err = sat_mi_segment_store(m, sid, seg);
    }
    free(seg);
    protobuf_c_message_free_unpacked(&sid->base, NULL);
    return err;
}

struct commit_ctx {
    struct sat_metainfo *m;
    struct sat_object *o;
    const Tessera__Metainfo__StreamID *sid;
    const Tessera__Metainfo__CommitObjectRequest *req;
};

static ts_err commit_object_fn(struct ts_db_conn *c, void *ctx)
{
    struct commit_ctx *cc = ctx;
    ts_err err = check_pending(c, cc->sid);
    if (err == TS_OK && cc->sid->multipart) {
        err = sat_mi_parts_assemble(c, cc->sid->stream_id.data, cc->req->parts, cc->req->n_parts,
                                    cc->m->cfg->part_size_min);
    }
    if (err == TS_OK && cc->sid->multipart && cc->req->encrypted_metadata_key.len == 0) {
        /* Keep the metadata given at BeginObject. */
        struct sat_object *cur = malloc(sizeof *cur);
        err = cur == NULL ? TS_ERR_NOMEM : sat_db_object_get_by_stream(c, cc->o->stream_id, cur);
        if (err == TS_OK) {
            memcpy(cc->o->metadata, cur->metadata, cur->metadata_len);
            cc->o->metadata_len = cur->metadata_len;
            memcpy(cc->o->metadata_key, cur->metadata_key, cur->metadata_key_len);
            cc->o->metadata_key_len = cur->metadata_key_len;
            memcpy(cc->o->metadata_nonce, cur->metadata_nonce, cur->metadata_nonce_len);
            cc->o->metadata_nonce_len = cur->metadata_nonce_len;
        }
        free(cur);
    }
    if (err == TS_OK) {
        err = sat_db_object_commit(c, cc->o);
    }
    return err;
}

ts_err sat_metainfo_commit_object(struct sat_metainfo *m,
                                  const Tessera__Metainfo__CommitObjectRequest *req,
                                  Tessera__Metainfo__CommitObjectResponse *resp,
                                  struct sat_arena *a)
{
    struct sat_auth auth;
    Tessera__Metainfo__StreamID *sid = NULL;
    ts_err err = sat_mi_stream_open(m, req->header, req->stream_id, &sid, &auth);
    if (err != TS_OK) {
        return err;
    }
    struct sat_object *o = calloc(1, sizeof *o);
    if (o == NULL) {
        err = TS_ERR_NOMEM;
    } else if (req->encrypted_metadata.len > TS_METADATA_ENCRYPTED_MAX ||
               req->encrypted_metadata_key.len > SAT_WRAPPED_KEY_MAX ||
               req->encrypted_metadata_nonce.len > TS_NONCE_SIZE) {
        err = TS_ERR_TOO_LARGE;
    } else if (sid->multipart ? req->n_parts == 0 || req->n_parts > SAT_PARTS_MAX
                              : req->n_parts != 0) {
        err = TS_ERR_INVALID_ARGUMENT;
    }
    if (err == TS_OK) {
        memcpy(o->stream_id, sid->stream_id.data, SAT_ID_SIZE);
        sat_mi_copy(o->metadata, req->encrypted_metadata);
        o->metadata_len = req->encrypted_metadata.len;
        sat_mi_copy(o->metadata_key, req->encrypted_metadata_key);
        o->metadata_key_len = req->encrypted_metadata_key.len;
        sat_mi_copy(o->metadata_nonce, req->encrypted_metadata_nonce);
        o->metadata_nonce_len = req->encrypted_metadata_nonce.len;
        struct commit_ctx cc = {m, o, sid, req};
        err = ts_db_tx(m->db, commit_object_fn, &cc);
    }
    if (err == TS_OK) {
        resp->object = sat_mi_object_pb(a, o);
        err = resp->object == NULL ? TS_ERR_NOMEM : TS_OK;
    }
    free(o);
    protobuf_c_message_free_unpacked(&sid->base, NULL);
    return err;
}
