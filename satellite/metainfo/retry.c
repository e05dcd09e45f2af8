/* RetryBeginSegmentPieces (reference §2.1): new nodes and PUT limits for pieces whose upload
 * failed, so a segment still reaches the success threshold when nodes die mid-upload. The
 * replacement limits keep the segment's root piece ID and piece public key (the uplink signs with
 * the key it already holds); the returned SegmentID names the new nodes for those piece numbers
 * and remembers the replaced ones, which are never offered again for this segment. */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/log.h"
#include "satellite/metainfo/internal.h"
#include "satellite/orders/orders.h"

struct retry_state {
    Tessera__Metainfo__SegmentID *seg; /* verified, unpacked */
    const uint8_t *excluded[TS_EC_SHARES_MAX + SAT_SEGMENT_EXCLUDED_MAX];
    size_t excluded_count;
    int piece_index[TS_EC_SHARES_MAX]; /* per retried piece: its index in seg->pieces */
    size_t retry_count;
};

/* Checks the piece numbers asked for and gathers every node the segment used or excluded. */
static ts_err retry_plan(const Tessera__Metainfo__RetryBeginSegmentPiecesRequest *req,
                         struct retry_state *rs)
{
    const Tessera__Metainfo__SegmentID *seg = rs->seg;
    if (req->n_retry_piece_numbers == 0 || req->n_retry_piece_numbers > seg->n_pieces) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    if (seg->retries >= SAT_SEGMENT_RETRIES_MAX ||
        seg->n_excluded_node_ids + req->n_retry_piece_numbers > SAT_SEGMENT_EXCLUDED_MAX) {
        return TS_ERR_LIMIT_EXCEEDED;
    }
    for (size_t i = 0; i < req->n_retry_piece_numbers; i++) {
        int found = -1;
        for (size_t j = 0; j < seg->n_pieces; j++) {
            if (seg->pieces[j]->piece_num == req->retry_piece_numbers[i]) {
                found = (int)j;
            }
        }
        for (size_t j = 0; j < i && found >= 0; j++) {
            found = rs->piece_index[j] == found ? -1 : found; /* asked twice */
        }
        if (found < 0) {
            return TS_ERR_INVALID_ARGUMENT;
        }
        rs->piece_index[i] = found;
    }
    rs->retry_count = req->n_retry_piece_numbers;
    for (size_t j = 0; j < seg->n_pieces; j++) {
        if (seg->pieces[j]->node_id.len != TS_NODE_ID_SIZE) {
            return TS_ERR_MALFORMED;
        }
        rs->excluded[rs->excluded_count++] = seg->pieces[j]->node_id.data;
    }
    for (size_t j = 0; j < seg->n_excluded_node_ids; j++) {
        if (seg->excluded_node_ids[j].len != TS_NODE_ID_SIZE) {
            return TS_ERR_MALFORMED;
        }
        rs->excluded[rs->excluded_count++] = seg->excluded_node_ids[j].data;
    }
    return TS_OK;
}

static bool is_excluded(const struct retry_state *rs, const uint8_t id[TS_NODE_ID_SIZE])
{
    for (size_t i = 0; i < rs->excluded_count; i++) {
        if (memcmp(rs->excluded[i], id, TS_NODE_ID_SIZE) == 0) {
            return true;
        }
    }
    return false;
}

/* Picks retry_count nodes the segment never used (the overlay has no exclusion list: ask for
 * enough to drop the excluded ones). */
static ts_err retry_select(struct sat_metainfo *m, const struct retry_state *rs,
                           struct sat_node_candidate *chosen)
{
    size_t want = rs->retry_count + rs->excluded_count;
    want = want > TS_EC_SHARES_MAX ? TS_EC_SHARES_MAX : want;
    struct sat_node_candidate *cands = calloc(want, sizeof *cands);
    size_t n = 0, got = 0;
    ts_err err =
        cands == NULL ? TS_ERR_NOMEM : sat_overlay_select(m->overlay, (int)want, cands, &n);
    for (size_t i = 0; err == TS_OK && i < n && got < rs->retry_count; i++) {
        if (!is_excluded(rs, cands[i].id)) {
            chosen[got++] = cands[i];
        }
    }
    if (err == TS_OK && got < rs->retry_count) {
        ts_log_info("satellite.metainfo", "retry pieces: %zu new nodes wanted, %zu available",
                    rs->retry_count, got);
        err = TS_ERR_UNAVAILABLE;
    }
    free(cands);
    return err;
}

/* Signs the replacement limits and the new SegmentID. */
static ts_err retry_sign(struct sat_metainfo *m, struct retry_state *rs,
                         const struct sat_node_candidate *chosen, struct sat_limit_params *p,
                         Tessera__Metainfo__RetryBeginSegmentPiecesResponse *resp,
                         struct sat_arena *a)
{
    Tessera__Metainfo__SegmentID next = *rs->seg;
    size_t np = rs->seg->n_pieces, ne = rs->seg->n_excluded_node_ids;
    next.pieces = sat_arena_alloc(a, np * sizeof *next.pieces);
    next.excluded_node_ids =
        sat_arena_alloc(a, (ne + rs->retry_count) * sizeof(ProtobufCBinaryData));
    resp->limits = sat_arena_alloc(a, rs->retry_count * sizeof *resp->limits);
    struct ts_buf b;
    ts_buf_init(&b, TS_ORDER_LIMIT_ENCODED_MAX);
    ts_err err = next.pieces && next.excluded_node_ids && resp->limits ? TS_OK : TS_ERR_NOMEM;
    if (err == TS_OK) {
        memcpy(next.pieces, rs->seg->pieces, np * sizeof *next.pieces);
        if (ne > 0) {
            memcpy(next.excluded_node_ids, rs->seg->excluded_node_ids,
                   ne * sizeof(ProtobufCBinaryData));
        }
    }
    for (size_t i = 0; err == TS_OK && i < rs->retry_count; i++) {
        const Tessera__Metainfo__SegmentPiece *old = rs->seg->pieces[rs->piece_index[i]];
        Tessera__Metainfo__SegmentPiece *sp = sat_arena_alloc(a, sizeof *sp);
        Tessera__Metainfo__AddressedOrderLimit *l = sat_arena_alloc(a, sizeof *l);
        ts_buf_clear(&b);
        err = sp == NULL || l == NULL
                  ? TS_ERR_NOMEM
                  : sat_limit_create(p, m->identity, chosen[i].id, old->piece_num, &b);
        if (err != TS_OK) {
            break;
        }
        tessera__metainfo__segment_piece__init(sp);
        sp->piece_num = old->piece_num;
        sp->node_id = PB_BYTES(sat_arena_dup(a, chosen[i].id, TS_NODE_ID_SIZE), TS_NODE_ID_SIZE);
        sp->alias = chosen[i].alias;
        next.pieces[rs->piece_index[i]] = sp;
        next.excluded_node_ids[next.n_excluded_node_ids++] = old->node_id;
        tessera__metainfo__addressed_order_limit__init(l);
        l->limit = PB_BYTES(sat_arena_dup(a, b.data, b.len), b.len);
        l->node_id = sp->node_id;
        l->address = sat_arena_dup(a, chosen[i].address, strlen(chosen[i].address) + 1);
        l->piece_num = old->piece_num;
        resp->limits[resp->n_limits++] = l;
        err = l->limit.data == NULL || sp->node_id.data == NULL || l->address == NULL ? TS_ERR_NOMEM
                                                                                      : TS_OK;
    }
    ts_buf_release(&b);
    if (err == TS_OK) {
        next.retries = rs->seg->retries + 1;
        err = sat_mi_id_sign(m, &next.base, a, &resp->segment_id);
    }
    return err;
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

/* Verifies the key, the SegmentID and the key's WRITE permission on its object. */
static ts_err retry_open(struct sat_metainfo *m, const Tessera__Metainfo__RequestHeader *h,
                         ProtobufCBinaryData blob, Tessera__Metainfo__SegmentID **out)
{
    struct sat_auth auth;
    struct sat_verified_key *vk = NULL;
    ProtobufCMessage *msg = NULL;
    *out = NULL;
    if (h == NULL) {
        return TS_ERR_AUTH_FAILED;
    }
    ts_err err = sat_apikey_verify(m->db, h->api_key.data, h->api_key.len, &vk, &auth);
    if (err == TS_OK) {
        err = sat_mi_id_verify(m, blob, &tessera__metainfo__segment_id__descriptor, &msg);
    }
    Tessera__Metainfo__SegmentID *seg = (Tessera__Metainfo__SegmentID *)msg;
    const Tessera__Metainfo__StreamID *sid = seg != NULL ? seg->stream : NULL;
    if (err == TS_OK &&
        (sid == NULL || sid->project_id.len != SAT_ID_SIZE ||
         seg->root_piece_id.len != TS_PIECE_ID_SIZE || seg->piece_public_key.len != 32)) {
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
    if (err == TS_OK && ts_time_now_s() > seg->created_at + m->cfg->commit_interval_s) {
        err = TS_ERR_EXPIRED;
    }
    sat_apikey_verified_free(vk);
    if (err != TS_OK && msg != NULL) {
        protobuf_c_message_free_unpacked(msg, NULL);
        seg = NULL;
    }
    *out = seg;
    return err;
}

ts_err sat_metainfo_retry_begin_segment_pieces(
    struct sat_metainfo *m, const Tessera__Metainfo__RetryBeginSegmentPiecesRequest *req,
    Tessera__Metainfo__RetryBeginSegmentPiecesResponse *resp, struct sat_arena *a)
{
    struct retry_state *rs = calloc(1, sizeof *rs);
    struct sat_node_candidate *chosen = calloc(TS_EC_SHARES_MAX, sizeof *chosen);
    struct sat_limit_params p;
    memset(&p, 0, sizeof p);
    ts_err err = rs == NULL || chosen == NULL ? TS_ERR_NOMEM : TS_OK;
    if (err == TS_OK) {
        err = retry_open(m, req->header, req->segment_id, &rs->seg);
    }
    if (err == TS_OK) {
        err = retry_plan(req, rs);
    }
    if (err == TS_OK) {
        err = retry_select(m, rs, chosen);
    }
    if (err == TS_OK) {
        err = sat_limit_params_init(&p, TS_PIECE_ACTION_PUT, ts_time_now_s(),
                                    m->cfg->order_expiration_s);
    }
    if (err == TS_OK) {
        memcpy(p.root_piece_id, rs->seg->root_piece_id.data, TS_PIECE_ID_SIZE);
        memcpy(p.piece_public_key, rs->seg->piece_public_key.data, 32);
        p.limit_bytes = rs->seg->piece_size_max;
        p.piece_expiration_s = rs->seg->stream->expires_at;
        err = retry_sign(m, rs, chosen, &p, resp, a);
    }
    if (err == TS_OK) {
        struct serial_ctx sc = {p.serial, rs->seg->stream, p.order_expiration_s};
        err = ts_db_tx(m->db, serial_fn, &sc);
    }
    ts_wipe(&p, sizeof p);
    if (rs != NULL && rs->seg != NULL) {
        protobuf_c_message_free_unpacked(&rs->seg->base, NULL);
    }
    free(rs);
    free(chosen);
    return err;
}
