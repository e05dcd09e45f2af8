/* CommitSegment: verify the node-signed receipts against the signed SegmentID and store the
 * segment with the pieces that verified (reference §7.4, pointer verification). */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/log.h"
#include "satellite/metainfo/internal.h"
#include "satellite/metainfo/pieces.h"
#include "satellite/orders/orders.h"

struct nodes_ctx {
    uint32_t aliases[TS_EC_SHARES_MAX];
    size_t count;
    struct sat_node *nodes;
};

static ts_err nodes_fn(struct ts_db_conn *c, void *ctx)
{
    struct nodes_ctx *nc = ctx;
    return sat_db_nodes_by_alias(c, nc->aliases, nc->count, nc->nodes);
}

/* The SegmentID piece that result claims, or NULL when the satellite never gave that node that
 * piece number. */
static const Tessera__Metainfo__SegmentPiece *find_piece(const Tessera__Metainfo__SegmentID *seg,
                                                         const Tessera__Metainfo__UploadResult *res)
{
    for (size_t i = 0; i < seg->n_pieces; i++) {
        const Tessera__Metainfo__SegmentPiece *p = seg->pieces[i];
        if (p->piece_num == res->piece_num && p->node_id.len == TS_NODE_ID_SIZE &&
            res->node_id.len == TS_NODE_ID_SIZE &&
            memcmp(p->node_id.data, res->node_id.data, TS_NODE_ID_SIZE) == 0) {
            return p;
        }
    }
    return NULL;
}

/* One receipt: the piece ID derived for that node and number, the exact piece size of this
 * segment, a plausible timestamp, and the node's signature. */
static ts_err check_receipt(const Tessera__Metainfo__SegmentID *seg,
                            const Tessera__Metainfo__UploadResult *res, int64_t piece_size,
                            const struct sat_node *node)
{
    struct ts_piece_hash h;
    uint8_t want[TS_PIECE_ID_SIZE];
    ts_err err = ts_piece_hash_decode(res->hash.data, res->hash.len, &h);
    if (err == TS_OK) {
        err = ts_piece_id_derive(seg->root_piece_id.data,
                                 (const struct ts_node_id *)(const void *)res->node_id.data,
                                 res->piece_num, want);
    }
    /* The receipt's time: nodes stamp either the limit's creation or their own clock, so accept
     * anything from the limit's creation (minus clock skew) to now (plus skew). */
    int64_t now = ts_time_now_s();
    if (err == TS_OK &&
        (memcmp(want, h.piece_id, TS_PIECE_ID_SIZE) != 0 || h.piece_size != piece_size ||
         h.timestamp_s < seg->created_at - TS_ORDER_GRACE_S ||
         h.timestamp_s > now + TS_ORDER_GRACE_S)) {
        err = TS_ERR_HASH_MISMATCH;
    }
    if (err == TS_OK) {
        struct ts_peer_identity peer;
        memset(&peer, 0, sizeof peer);
        memcpy(peer.id.bytes, node->id, TS_NODE_ID_SIZE);
        memcpy(peer.leaf_public_key, node->public_key, node->public_key_len);
        peer.leaf_public_key_len = node->public_key_len;
        err = ts_piece_hash_verify_node(&h, &peer);
    }
    return err;
}

/* Collects the receipts that verify as sorted (piece_num, alias) pairs. */
static ts_err verify_results(struct sat_metainfo *m, const Tessera__Metainfo__SegmentID *seg,
                             const Tessera__Metainfo__CommitSegmentRequest *req, int64_t piece_size,
                             struct sat_alias_piece *kept, size_t *kept_n)
{
    struct nodes_ctx nc = {.count = 0};
    const Tessera__Metainfo__SegmentPiece *claimed[TS_EC_SHARES_MAX];
    const Tessera__Metainfo__UploadResult *results[TS_EC_SHARES_MAX];
    bool taken[TS_EC_SHARES_MAX] = {false};
    *kept_n = 0;
    for (size_t i = 0; i < req->n_results && nc.count < TS_EC_SHARES_MAX; i++) {
        const Tessera__Metainfo__SegmentPiece *p = find_piece(seg, req->results[i]);
        if (p == NULL || p->piece_num >= TS_EC_SHARES_MAX || taken[p->piece_num]) {
            continue; /* not ours to claim, or a duplicate */
        }
        taken[p->piece_num] = true;
        claimed[nc.count] = p;
        results[nc.count] = req->results[i];
        nc.aliases[nc.count++] = p->alias;
    }
    nc.nodes = calloc(nc.count + 1, sizeof *nc.nodes);
    if (nc.nodes == NULL) {
        return TS_ERR_NOMEM;
    }
    ts_err err = nc.count > 0 ? ts_db_tx_read(m->db, nodes_fn, &nc) : TS_OK;
    for (size_t i = 0; err == TS_OK && i < nc.count; i++) {
        if (nc.nodes[i].alias == 0 ||
            check_receipt(seg, results[i], piece_size, &nc.nodes[i]) != TS_OK) {
            continue;
        }
        kept[*kept_n].piece_num = claimed[i]->piece_num;
        kept[*kept_n].alias = claimed[i]->alias;
        (*kept_n)++;
    }
    free(nc.nodes);
    /* Sort by piece number (insertion sort: at most 255 entries). */
    for (size_t i = 1; i < *kept_n; i++) {
        struct sat_alias_piece x = kept[i];
        size_t j = i;
        for (; j > 0 && kept[j - 1].piece_num > x.piece_num; j--) {
            kept[j] = kept[j - 1];
        }
        kept[j] = x;
    }
    return err;
}

static ts_err check_sizes(struct sat_metainfo *m, const Tessera__Metainfo__SegmentID *seg,
                          const Tessera__Metainfo__CommitSegmentRequest *req,
                          const struct sat_redundancy *r, int64_t *piece_size)
{
    int64_t now = ts_time_now_s();
    if (now > seg->created_at + m->cfg->commit_interval_s) {
        return TS_ERR_EXPIRED;
    }
    if (req->encrypted_size <= 0 || req->plain_size < 0 ||
        req->plain_size > m->cfg->segment_size_max || req->plain_size > req->encrypted_size) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    *piece_size = sat_redundancy_piece_size(r, req->encrypted_size);
    if (*piece_size > seg->piece_size_max) {
        return TS_ERR_LIMIT_EXCEEDED;
    }
    return TS_OK;
}

ts_err sat_metainfo_commit_segment(struct sat_metainfo *m,
                                   const Tessera__Metainfo__CommitSegmentRequest *req,
                                   Tessera__Metainfo__CommitSegmentResponse *resp,
                                   struct sat_arena *a)
{
    struct sat_auth auth;
    ProtobufCMessage *msg = NULL;
    struct sat_verified_key *vk = NULL;
    struct sat_redundancy r;
    int64_t piece_size = 0;
    struct sat_alias_piece kept[TS_EC_SHARES_MAX];
    size_t kept_n = 0;
    struct sat_segment *row = NULL;
    struct ts_buf pieces;
    (void)a;
    ts_buf_init(&pieces, SAT_PIECES_ENCODED_MAX);
    if (req->header == NULL) {
        return TS_ERR_AUTH_FAILED;
    }
    ts_err err =
        sat_apikey_verify(m->db, req->header->api_key.data, req->header->api_key.len, &vk, &auth);
    if (err == TS_OK) {
        err =
            sat_mi_id_verify(m, req->segment_id, &tessera__metainfo__segment_id__descriptor, &msg);
    }
    Tessera__Metainfo__SegmentID *seg = (Tessera__Metainfo__SegmentID *)msg;
    const Tessera__Metainfo__StreamID *sid = seg != NULL ? seg->stream : NULL;
    if (err == TS_OK && (sid == NULL || sid->redundancy == NULL || seg->position == NULL ||
                         sid->project_id.len != SAT_ID_SIZE || sid->stream_id.len != SAT_ID_SIZE ||
                         seg->root_piece_id.len != TS_PIECE_ID_SIZE)) {
        err = TS_ERR_MALFORMED;
    }
    if (err == TS_OK) {
        struct sat_request_action act = {SAT_OP_WRITE, sid->bucket.data, sid->bucket.len,
                                         sid->encrypted_key.data, sid->encrypted_key.len};
        err = sat_apikey_allows(vk, &act, ts_time_now_s());
    }
    if (err == TS_OK && memcmp(auth.project_id, sid->project_id.data, SAT_ID_SIZE) != 0) {
        err = TS_ERR_PERMISSION_DENIED;
    }
    if (err == TS_OK) {
        err = sat_mi_limiter_take(m->limiter, auth.project_id, ts_monotonic_ms());
    }
    if (err == TS_OK && req->encrypted_etag.len > SAT_ETAG_ENCRYPTED_MAX) {
        err = TS_ERR_TOO_LARGE;
    }
    if (err == TS_OK) {
        r = (struct sat_redundancy){(int)sid->redundancy->required, (int)sid->redundancy->repair,
                                    (int)sid->redundancy->success, (int)sid->redundancy->total,
                                    (int)sid->redundancy->share_size};
        err = sat_redundancy_check(&r) == TS_OK ? TS_OK : TS_ERR_MALFORMED;
    }
    if (err == TS_OK) {
        err = check_sizes(m, seg, req, &r, &piece_size);
    }
    if (err == TS_OK && req->n_results > TS_EC_SHARES_MAX) {
        err = TS_ERR_TOO_LARGE;
    }
    if (err == TS_OK) {
        err = verify_results(m, seg, req, piece_size, kept, &kept_n);
    }
    if (err == TS_OK && kept_n < (size_t)r.success) {
        ts_log_info("satellite.metainfo", "commit segment refused: %zu of %d receipts valid",
                    kept_n, r.success);
        err = TS_ERR_NOT_ENOUGH_SHARES;
    }
    if (err == TS_OK) {
        row = calloc(1, sizeof *row);
        err = row == NULL ? TS_ERR_NOMEM : TS_OK;
    }
    if (err == TS_OK) {
        err = sat_mi_segment_common(sid, seg->position, req->encrypted_key_nonce,
                                    req->encrypted_key, row);
    }
    if (err == TS_OK) {
        err = sat_alias_pieces_encode(kept, kept_n, &pieces);
    }
    if (err == TS_OK) {
        memcpy(row->root_piece_id, seg->root_piece_id.data, TS_PIECE_ID_SIZE);
        memcpy(row->pieces, pieces.data, pieces.len);
        row->pieces_len = pieces.len;
        row->encrypted_size = req->encrypted_size;
        row->plain_size = req->plain_size;
        row->redundancy = sat_redundancy_pack(&r);
        sat_mi_copy(row->etag, req->encrypted_etag);
        row->etag_len = req->encrypted_etag.len;
        err = sat_mi_segment_store(m, sid, row);
    }
    if (err == TS_OK) {
        resp->pieces_kept = (uint32_t)kept_n;
    }
    free(row);
    ts_buf_release(&pieces);
    sat_apikey_verified_free(vk);
    if (msg != NULL) {
        protobuf_c_message_free_unpacked(msg, NULL);
    }
    return err;
}
