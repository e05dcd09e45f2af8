/* GetObject, DownloadObject (GET order limits for k + tail nodes), DeleteObject, ProjectInfo,
 * RevokeAPIKey, and the background cleanup. */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/log.h"
#include "crypto/ed25519.h"
#include "satellite/metainfo/internal.h"
#include "satellite/metainfo/pieces.h"
#include "satellite/orders/orders.h"
#include "satellite/overlay/select.h"

struct get_ctx {
    const uint8_t *project;
    ProtobufCBinaryData bucket, key;
    struct sat_object *o;
    int64_t plain_offset; /* > 0: the cursor is the segment holding this byte */
    int64_t cursor;
    size_t limit;
    struct sat_segment *segs;
    size_t seg_count;
    bool more;
};

static ts_err get_fn(struct ts_db_conn *c, void *ctx)
{
    struct get_ctx *g = ctx;
    ts_err err = sat_db_object_get_committed(c, g->project, g->bucket.data, g->bucket.len,
                                             g->key.data, g->key.len, g->o);
    if (err == TS_OK && g->segs != NULL && g->plain_offset > 0) {
        err = sat_db_segment_at_offset(c, g->o->stream_id, g->plain_offset, &g->cursor);
    }
    if (err == TS_OK && g->segs != NULL) {
        err = sat_db_segments_list(c, g->o->stream_id, g->cursor, g->limit, g->segs, &g->seg_count,
                                   &g->more);
    }
    return err;
}

/* Authorises op on (bucket, key) and validates both. */
ts_err sat_mi_auth_object(struct sat_metainfo *m, const Tessera__Metainfo__RequestHeader *h,
                          enum sat_op op, ProtobufCBinaryData bucket, ProtobufCBinaryData key,
                          struct sat_auth *auth)
{
    ts_err err = sat_mi_auth(m, h, op, bucket, key, auth);
    if (err == TS_OK) {
        err = sat_mi_check_bucket_name(bucket);
    }
    if (err == TS_OK) {
        err = sat_mi_check_key(key);
    }
    return err;
}

/* Authorises op on (bucket, key), runs fn over a get_ctx for them in a transaction of kind tx
 * and sets *out to the object fn filled, as a protobuf in a. */
static ts_err object_op(struct sat_metainfo *m, const Tessera__Metainfo__RequestHeader *h,
                        enum sat_op op, ProtobufCBinaryData bucket, ProtobufCBinaryData key,
                        ts_err (*tx)(struct ts_db *, ts_db_tx_fn, void *), ts_db_tx_fn fn,
                        struct sat_arena *a, Tessera__Metainfo__Object **out)
{
    struct sat_auth auth;
    ts_err err = sat_mi_auth_object(m, h, op, bucket, key, &auth);
    if (err != TS_OK) {
        return err;
    }
    struct get_ctx g = {
        .project = auth.project_id, .bucket = bucket, .key = key, .o = malloc(sizeof *g.o)};
    err = g.o == NULL ? TS_ERR_NOMEM : tx(m->db, fn, &g);
    if (err == TS_OK) {
        *out = sat_mi_object_pb(a, g.o);
        err = *out == NULL ? TS_ERR_NOMEM : TS_OK;
    }
    free(g.o);
    return err;
}

ts_err sat_metainfo_get_object(struct sat_metainfo *m,
                               const Tessera__Metainfo__GetObjectRequest *req,
                               Tessera__Metainfo__GetObjectResponse *resp, struct sat_arena *a)
{
    return object_op(m, req->header, SAT_OP_READ, req->bucket, req->encrypted_key, ts_db_tx_read,
                     get_fn, a, &resp->object);
}

/* ---- DownloadObject ---- */

struct alloc_ctx {
    const uint8_t *project;
    ProtobufCBinaryData bucket;
    uint8_t (*serials)[TS_SERIAL_SIZE];
    int64_t *bytes;
    size_t count;
    int64_t expires_at;
};

/* Records each segment's serial (for settlement) and the allocated egress of the bucket. */
static ts_err alloc_fn(struct ts_db_conn *c, void *ctx)
{
    struct alloc_ctx *ac = ctx;
    int64_t total = 0;
    ts_err err = TS_OK;
    for (size_t i = 0; err == TS_OK && i < ac->count; i++) {
        err = sat_db_serial_insert(c, ac->serials[i], ac->project, ac->bucket.data, ac->bucket.len,
                                   ac->expires_at);
        total += ac->bytes[i];
    }
    if (err == TS_OK && total > 0) {
        int64_t now = ts_time_now_s();
        err = sat_db_bucket_bandwidth_add(c, ac->project, ac->bucket.data, ac->bucket.len,
                                          now - now % 3600, TS_PIECE_ACTION_GET, total, 0);
    }
    return err;
}

struct holders_ctx {
    uint32_t aliases[TS_EC_SHARES_MAX];
    size_t count;
    struct sat_node *nodes;
};

static ts_err holders_fn(struct ts_db_conn *c, void *ctx)
{
    struct holders_ctx *hc = ctx;
    return sat_db_nodes_by_alias(c, hc->aliases, hc->count, hc->nodes);
}

/* A holder counts as fresh when it checked in (or passed an audit) within the hourly check-in
 * period plus slack: a node that died more than that long ago, though still inside the online
 * window, is offered only when fresh holders do not suffice. */
#define DOWNLOAD_FRESH_S 3900
/* Audit score (alpha / (alpha + beta)) below which a holder is "failing audits" and offered
 * last: halfway between a perfect record and the default disqualification threshold (0.96),
 * about 20 consecutive failures from a perfect record. */
#define DOWNLOAD_AUDIT_GOOD 0.98

/* What the uplink asks to skip when it retries a segment (DownloadObjectRequest fields 7, 8). */
struct exclusion {
    const ProtobufCBinaryData *node_ids;
    size_t node_count;
    const uint32_t *piece_nums;
    size_t piece_count;
};

static bool exclusion_active(const struct exclusion *x)
{
    return x->node_count > 0 || x->piece_count > 0;
}

static bool excluded_piece(const struct exclusion *x, uint32_t piece_num)
{
    for (size_t i = 0; i < x->piece_count; i++) {
        if (x->piece_nums[i] == piece_num) {
            return true;
        }
    }
    return false;
}

static bool excluded_node(const struct exclusion *x, const uint8_t id[TS_NODE_ID_SIZE])
{
    for (size_t i = 0; i < x->node_count; i++) {
        if (memcmp(x->node_ids[i].data, id, TS_NODE_ID_SIZE) == 0) {
            return true;
        }
    }
    return false;
}

/* Both lists are bounded by the most pieces a segment can have; node IDs are 32 bytes. */
static ts_err exclusion_check(const struct exclusion *x)
{
    if (x->node_count > TS_EC_SHARES_MAX || x->piece_count > TS_EC_SHARES_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    for (size_t i = 0; i < x->node_count; i++) {
        if (x->node_ids[i].len != TS_NODE_ID_SIZE) {
            return TS_ERR_INVALID_ARGUMENT;
        }
    }
    return TS_OK;
}

static bool node_usable(const struct sat_metainfo *m, const struct sat_node *n, int64_t now)
{
    return n->alias != 0 && n->disqualified_at == 0 &&
           n->last_contact_success >= now - m->cfg->online_window_s &&
           n->last_contact_success >= n->last_contact_failure;
}

/* Recently heard from and not failing audits: offered before the other usable holders. */
static bool node_preferred(const struct sat_node *n, int64_t now)
{
    double total = n->audit_alpha + n->audit_beta;
    bool audits_ok = total <= 0 || n->audit_alpha / total >= DOWNLOAD_AUDIT_GOOD;
    return audits_ok && n->last_contact_success >= now - DOWNLOAD_FRESH_S;
}

static void shuffle(struct sat_rng *rng, size_t *v, size_t count)
{
    for (size_t i = count; i > 1; i--) {
        size_t j = (size_t)sat_rng_below(rng, i);
        size_t t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

/* The candidate holders in offer order: preferred ones first, each group shuffled. Pieces the
 * uplink holds are counted in *held, holders it reported failed are skipped. */
static size_t holders_order(const struct sat_metainfo *m, const struct holders_ctx *hc,
                            const struct sat_alias_piece *pieces, const struct exclusion *x,
                            struct sat_rng *rng, size_t order[TS_EC_SHARES_MAX], size_t *held)
{
    size_t later[TS_EC_SHARES_MAX], first = 0, rest = 0;
    int64_t now = ts_time_now_s();
    *held = 0;
    for (size_t i = 0; i < hc->count; i++) {
        const struct sat_node *n = &hc->nodes[i];
        if (excluded_piece(x, pieces[i].piece_num)) {
            (*held)++;
        } else if (excluded_node(x, n->id) || !node_usable(m, n, now)) {
            continue;
        } else if (node_preferred(n, now)) {
            order[first++] = i;
        } else {
            later[rest++] = i;
        }
    }
    shuffle(rng, order, first);
    shuffle(rng, later, rest);
    memcpy(order + first, later, rest * sizeof *later);
    return first + rest;
}

/* How many holders to offer: t normally; on a retry at least as many as have failed so far
 * (rounds shrink quickly when many holders are dead) and t minus the pieces held. */
static size_t offer_count(const struct sat_redundancy *r, const struct exclusion *x, size_t held,
                          size_t usable)
{
    size_t want = (size_t)sat_redundancy_download_count(r);
    if (exclusion_active(x)) {
        want = want > held ? want - held : 1;
        want = want > x->node_count ? want : x->node_count;
    }
    return want < usable ? want : usable;
}

static ts_err limit_add(struct sat_metainfo *m, struct sat_limit_params *p,
                        const struct sat_node *n, uint32_t piece_num, struct ts_buf *b,
                        Tessera__Metainfo__SegmentDownload *d, struct sat_arena *a)
{
    ts_buf_clear(b);
    ts_err err = sat_limit_create(p, m->identity, n->id, piece_num, b);
    Tessera__Metainfo__AddressedOrderLimit *l = sat_arena_alloc(a, sizeof *l);
    if (err == TS_OK && l == NULL) {
        err = TS_ERR_NOMEM;
    }
    if (err != TS_OK) {
        return err;
    }
    tessera__metainfo__addressed_order_limit__init(l);
    l->limit = PB_BYTES(sat_arena_dup(a, b->data, b->len), b->len);
    l->node_id = PB_BYTES(sat_arena_dup(a, n->id, TS_NODE_ID_SIZE), TS_NODE_ID_SIZE);
    l->address = sat_arena_dup(a, n->address, strlen(n->address) + 1);
    l->piece_num = piece_num;
    d->limits[d->n_limits++] = l;
    return l->limit.data == NULL || l->node_id.data == NULL || l->address == NULL ? TS_ERR_NOMEM
                                                                                  : TS_OK;
}

/* Fills the GET limits of one remote segment: usable holders, fresh and audit-clean ones first,
 * in random order within each group; on a retry without the excluded nodes and pieces. */
static ts_err segment_limits(struct sat_metainfo *m, const struct sat_segment *s,
                             const struct sat_redundancy *r, struct sat_limit_params *p,
                             const struct exclusion *x, Tessera__Metainfo__SegmentDownload *d,
                             struct sat_arena *a)
{
    struct sat_alias_piece pieces[TS_EC_SHARES_MAX];
    struct holders_ctx hc = {.count = 0};
    ts_err err =
        sat_alias_pieces_decode(s->pieces, s->pieces_len, pieces, TS_EC_SHARES_MAX, &hc.count);
    if (err != TS_OK) {
        return err;
    }
    for (size_t i = 0; i < hc.count; i++) {
        hc.aliases[i] = pieces[i].alias;
    }
    hc.nodes = calloc(hc.count + 1, sizeof *hc.nodes);
    size_t order[TS_EC_SHARES_MAX], usable = 0, held = 0;
    struct sat_rng rng;
    err = hc.nodes == NULL ? TS_ERR_NOMEM : sat_rng_seed_random(&rng);
    if (err == TS_OK) {
        err = ts_db_tx_read(m->db, holders_fn, &hc);
    }
    if (err == TS_OK) {
        usable = holders_order(m, &hc, pieces, x, &rng, order, &held);
    }
    /* A retry needs at least one new piece (a held set that did not authenticate needs a
     * spare), and k in total. */
    size_t need = held < (size_t)r->required ? (size_t)r->required - held : 1;
    if (err == TS_OK && usable < need) {
        err = TS_ERR_NOT_ENOUGH_SHARES;
    }
    size_t want = offer_count(r, x, held, usable);
    if (exclusion_active(x)) {
        ts_log_info("satellite.metainfo",
                    "download retry segment=%llu failed_nodes=%zu held=%zu usable=%zu offered=%zu",
                    (unsigned long long)s->position, x->node_count, held, usable,
                    err == TS_OK ? want : 0);
    }
    d->limits = err == TS_OK ? sat_arena_alloc(a, (want + 1) * sizeof *d->limits) : NULL;
    if (err == TS_OK && d->limits == NULL) {
        err = TS_ERR_NOMEM;
    }
    struct ts_buf b;
    ts_buf_init(&b, TS_ORDER_LIMIT_ENCODED_MAX);
    for (size_t k = 0; err == TS_OK && k < want; k++) {
        err = limit_add(m, p, &hc.nodes[order[k]], pieces[order[k]].piece_num, &b, d, a);
    }
    ts_buf_release(&b);
    free(hc.nodes);
    return err;
}

static ts_err segment_download(struct sat_metainfo *m, const struct sat_segment *s,
                               const struct exclusion *x, struct sat_arena *a,
                               Tessera__Metainfo__SegmentDownload **out,
                               uint8_t serial[TS_SERIAL_SIZE], int64_t *bytes)
{
    struct sat_redundancy r;
    Tessera__Metainfo__SegmentDownload *d = sat_arena_alloc(a, sizeof *d);
    Tessera__Metainfo__SegmentPosition *pos = sat_arena_alloc(a, sizeof *pos);
    *bytes = 0;
    if (d == NULL || pos == NULL) {
        return TS_ERR_NOMEM;
    }
    tessera__metainfo__segment_download__init(d);
    tessera__metainfo__segment_position__init(pos);
    pos->part = (uint32_t)(s->position >> 32);
    pos->index = (uint32_t)(s->position & 0xffffffff);
    d->position = pos;
    d->encrypted_key_nonce =
        PB_BYTES(sat_arena_dup(a, s->key_nonce, s->key_nonce_len), s->key_nonce_len);
    d->encrypted_key =
        PB_BYTES(sat_arena_dup(a, s->encrypted_key, s->encrypted_key_len), s->encrypted_key_len);
    d->plain_offset = s->plain_offset;
    d->plain_size = s->plain_size;
    d->encrypted_size = s->encrypted_size;
    ts_err err = sat_redundancy_unpack(s->redundancy, &r);
    if (err == TS_OK) {
        d->redundancy = sat_mi_redundancy_pb(a, &r);
    }
    *out = d;
    if (err != TS_OK || s->is_inline) {
        d->inline_data = PB_BYTES(sat_arena_dup(a, s->inline_data, s->inline_len), s->inline_len);
        return err;
    }
    struct sat_limit_params p;
    uint8_t *priv = sat_arena_alloc(a, TS_ED25519_PRIVATE_SIZE);
    err = priv == NULL ? TS_ERR_NOMEM
                       : sat_limit_params_init(&p, TS_PIECE_ACTION_GET, ts_time_now_s(),
                                               m->cfg->order_expiration_s);
    if (err == TS_OK) {
        err = ts_ed25519_keypair(p.piece_public_key, priv);
    }
    if (err == TS_OK) {
        memcpy(p.root_piece_id, s->root_piece_id, TS_PIECE_ID_SIZE);
        p.limit_bytes = sat_redundancy_piece_size(&r, s->encrypted_size);
        err = segment_limits(m, s, &r, &p, x, d, a);
    }
    if (err == TS_OK) {
        d->piece_private_key = PB_BYTES(priv, TS_ED25519_PRIVATE_SIZE);
        d->root_piece_id = PB_BYTES(sat_arena_dup(a, s->root_piece_id, 32), 32);
        memcpy(serial, p.serial, TS_SERIAL_SIZE);
        *bytes = p.limit_bytes * (int64_t)d->n_limits;
    }
    ts_wipe(&p, sizeof p);
    return err;
}

ts_err sat_metainfo_download_object(struct sat_metainfo *m,
                                    const Tessera__Metainfo__DownloadObjectRequest *req,
                                    Tessera__Metainfo__DownloadObjectResponse *resp,
                                    struct sat_arena *a)
{
    struct sat_auth auth;
    ts_err err =
        sat_mi_auth_object(m, req->header, SAT_OP_READ, req->bucket, req->encrypted_key, &auth);
    if (err != TS_OK) {
        return err;
    }
    if (req->segment_cursor > INT64_MAX) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    struct exclusion x = {req->exclude_node_ids, req->n_exclude_node_ids, req->exclude_piece_nums,
                          req->n_exclude_piece_nums};
    err = exclusion_check(&x);
    if (err != TS_OK) {
        return err;
    }
    struct get_ctx g = {.project = auth.project_id,
                        .bucket = req->bucket,
                        .key = req->encrypted_key,
                        .o = malloc(sizeof *g.o)};
    g.cursor = (int64_t)req->segment_cursor;
    g.plain_offset = req->plain_offset;
    g.limit = req->segment_limit == 0 ? SAT_DOWNLOAD_SEGMENTS_DEFAULT : req->segment_limit;
    g.limit = g.limit > SAT_DOWNLOAD_SEGMENTS_MAX ? SAT_DOWNLOAD_SEGMENTS_MAX : g.limit;
    if (exclusion_active(&x)) { /* a retry names pieces of the cursor's segment only */
        g.plain_offset = 0;
        g.limit = 1;
    }
    g.segs = calloc(g.limit, sizeof *g.segs);
    struct alloc_ctx ac = {auth.project_id,
                           req->bucket,
                           calloc(g.limit, TS_SERIAL_SIZE),
                           calloc(g.limit, sizeof(int64_t)),
                           0,
                           ts_time_now_s() + m->cfg->order_expiration_s};
    if (g.o == NULL || g.segs == NULL || ac.serials == NULL || ac.bytes == NULL) {
        err = TS_ERR_NOMEM;
    }
    if (err == TS_OK) {
        err = ts_db_tx_read(m->db, get_fn, &g);
    }
    if (err == TS_OK) {
        resp->object = sat_mi_object_pb(a, g.o);
        resp->segments = sat_arena_alloc(a, (g.seg_count + 1) * sizeof *resp->segments);
        err = resp->object == NULL || resp->segments == NULL ? TS_ERR_NOMEM : TS_OK;
    }
    for (size_t i = 0; err == TS_OK && i < g.seg_count; i++) {
        int64_t bytes = 0;
        err = segment_download(m, &g.segs[i], &x, a, &resp->segments[i], ac.serials[ac.count],
                               &bytes);
        resp->n_segments = i + 1;
        if (err == TS_OK && bytes > 0) {
            ac.bytes[ac.count++] = bytes;
        }
    }
    resp->more = g.more;
    if (err == TS_OK && ac.count > 0) {
        err = ts_db_tx(m->db, alloc_fn, &ac);
    }
    free(ac.serials);
    free(ac.bytes);
    free(g.segs);
    free(g.o);
    return err;
}

/* ---- DeleteObject, ProjectInfo, RevokeAPIKey ---- */

static ts_err delete_fn(struct ts_db_conn *c, void *ctx)
{
    struct get_ctx *g = ctx;
    return sat_db_object_delete_committed(c, g->project, g->bucket.data, g->bucket.len, g->key.data,
                                          g->key.len, g->o);
}

ts_err sat_metainfo_delete_object(struct sat_metainfo *m,
                                  const Tessera__Metainfo__DeleteObjectRequest *req,
                                  Tessera__Metainfo__DeleteObjectResponse *resp,
                                  struct sat_arena *a)
{
    return object_op(m, req->header, SAT_OP_DELETE, req->bucket, req->encrypted_key, ts_db_tx,
                     delete_fn, a, &resp->object);
}

struct project_ctx {
    const uint8_t *id;
    struct sat_project p;
};

static ts_err project_fn(struct ts_db_conn *c, void *ctx)
{
    struct project_ctx *pc = ctx;
    return sat_db_project_get(c, pc->id, &pc->p);
}

ts_err sat_metainfo_project_info(struct sat_metainfo *m,
                                 const Tessera__Metainfo__ProjectInfoRequest *req,
                                 Tessera__Metainfo__ProjectInfoResponse *resp, struct sat_arena *a)
{
    struct sat_auth auth;
    ts_err err = sat_mi_auth(m, req->header, SAT_OP_PROJECT_INFO, PB_BYTES(NULL, 0),
                             PB_BYTES(NULL, 0), &auth);
    if (err != TS_OK) {
        return err;
    }
    struct project_ctx pc = {.id = auth.project_id};
    err = ts_db_tx_read(m->db, project_fn, &pc);
    if (err == TS_OK) {
        resp->project_salt = PB_BYTES(sat_arena_dup(a, pc.p.salt, SAT_SALT_SIZE), SAT_SALT_SIZE);
        resp->project_id = PB_BYTES(sat_arena_dup(a, pc.p.id, SAT_ID_SIZE), SAT_ID_SIZE);
        err =
            resp->project_salt.data == NULL || resp->project_id.data == NULL ? TS_ERR_NOMEM : TS_OK;
    }
    return err;
}

ts_err sat_metainfo_revoke_api_key(struct sat_metainfo *m,
                                   const Tessera__Metainfo__RevokeAPIKeyRequest *req,
                                   Tessera__Metainfo__RevokeAPIKeyResponse *resp,
                                   struct sat_arena *a)
{
    (void)resp;
    (void)a;
    if (req->header == NULL) {
        return TS_ERR_AUTH_FAILED;
    }
    return sat_apikey_revoke_by_ancestor(m->db, req->header->api_key.data, req->header->api_key.len,
                                         req->api_key.data, req->api_key.len);
}

/* ---- Cleanup ---- */

struct cleanup_ctx {
    int64_t now;
    size_t batch;
    int64_t deleted;
};

static ts_err cleanup_fn(struct ts_db_conn *c, void *ctx)
{
    struct cleanup_ctx *cc = ctx;
    int64_t a = 0, b = 0, s = 0;
    ts_err err = sat_db_objects_delete_zombies(c, cc->now, cc->batch, &a);
    if (err == TS_OK) {
        err = sat_db_objects_delete_expired(c, cc->now, cc->batch, &b);
    }
    if (err == TS_OK) {
        err = sat_db_serials_delete_expired(c, cc->now, &s);
    }
    cc->deleted = a + b + s;
    return err;
}

ts_err sat_metainfo_cleanup(struct sat_metainfo *m, int64_t now_s, size_t batch, int64_t *deleted)
{
    struct cleanup_ctx cc = {now_s, batch, 0};
    ts_err err = ts_db_tx(m->db, cleanup_fn, &cc);
    *deleted = err == TS_OK ? cc.deleted : 0;
    return err;
}
