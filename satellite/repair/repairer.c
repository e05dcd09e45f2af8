/* The repair worker (see repairer.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/log.h"
#include "crypto/ed25519.h"
#include "ec/ec.h"
#include "satellite/audit/fanout.h"
#include "satellite/audit/piece_client.h"
#include "satellite/db/sql.h"
#include "satellite/metainfo/pieces.h"
#include "satellite/orders/orders.h"
#include "satellite/overlay/overlay.h"
#include "satellite/repair/repairer.h"

#define COMPONENT "satellite.repair"
#define SID(p) (p), (size_t)SAT_ID_SIZE

/* A piece holder we read from. */
struct source {
    size_t index; /* into seg->pieces */
    struct ts_node_url url;
    struct ts_order_limit limit;
    struct sat_piece_proof proof;
    uint8_t *data;
    ts_err err;
    bool dialed, good;
};

/* A new piece going to a new node. */
struct target {
    int piece_num;
    struct sat_node_candidate node;
    struct ts_node_url url;
    struct ts_order_limit limit;
    uint8_t *data;
    ts_err err;
};

struct run {
    struct sat_repairer *rp;
    struct sat_repair_result *res;
    struct sat_loop_segment *seg;
    struct sat_node *nodes;        /* by piece index */
    struct sat_loop_node *holders; /* the same, as the checker sees them */
    struct sat_piece_class pc;
    int64_t piece_size;
    struct source src[TS_EC_SHARES_MAX];
    size_t src_count, good;
    size_t batch[TS_EC_SHARES_MAX], batch_count;
    struct target tgt[TS_EC_SHARES_MAX];
    size_t tgt_count;
    uint32_t tried[SAT_REPAIR_UPLOAD_ROUNDS * TS_EC_SHARES_MAX]; /* aliases given a piece */
    size_t tried_count;
    uint8_t priv[64]; /* piece key of this repair's GET_REPAIR and PUT_REPAIR limits */
    uint8_t pub[32];
};

/* ---- Loading and classifying ---- */

struct holders_ctx {
    struct run *r;
};

static ts_err holders_fn(struct ts_db_conn *c, void *ctx)
{
    struct run *r = ctx;
    uint32_t aliases[TS_EC_SHARES_MAX];
    for (size_t i = 0; i < r->seg->piece_count; i++) {
        aliases[i] = r->seg->pieces[i].alias;
    }
    return sat_db_nodes_by_alias(c, aliases, r->seg->piece_count, r->nodes);
}

static ts_err load(struct run *r, const uint8_t *stream_id, int64_t position)
{
    r->seg = malloc(sizeof *r->seg);
    ts_err err = r->seg == NULL ? TS_ERR_NOMEM
                                : sat_loop_segment_get(r->rp->db, stream_id, position, r->seg);
    if (err == TS_OK) {
        r->nodes = calloc(r->seg->piece_count + 1, sizeof *r->nodes);
        r->holders = calloc(r->seg->piece_count + 1, sizeof *r->holders);
        err = r->nodes == NULL || r->holders == NULL ? TS_ERR_NOMEM : TS_OK;
    }
    if (err == TS_OK) {
        err = ts_db_tx_read(r->rp->db, holders_fn, r);
    }
    if (err != TS_OK) {
        return err;
    }
    const struct sat_loop_node *ptrs[TS_EC_SHARES_MAX];
    for (size_t i = 0; i < r->seg->piece_count; i++) {
        const struct sat_node *n = &r->nodes[i];
        struct sat_loop_node *h = &r->holders[i];
        h->alias = n->alias;
        memcpy(h->id, n->id, TS_NODE_ID_SIZE);
        memcpy(h->address, n->address, sizeof h->address);
        memcpy(h->last_net, n->last_net, sizeof h->last_net);
        h->last_contact_success = n->last_contact_success;
        h->last_contact_failure = n->last_contact_failure;
        h->disqualified_at = n->disqualified_at;
        h->exit_initiated_at = n->exit_initiated_at;
        ptrs[i] = n->alias != 0 ? h : NULL;
    }
    struct sat_checker_config cc = {.online_window_s = r->rp->sat->online_window_s,
                                    .distinct_nets = r->rp->sat->distinct_nets != 0};
    sat_checker_classify(&cc, r->seg, ptrs, ts_time_now_s(), &r->pc);
    r->piece_size = sat_redundancy_piece_size(&r->seg->redundancy, r->seg->encrypted_size);
    r->res->piece_size = r->piece_size;
    r->res->healthy_before = r->pc.healthy;
    r->res->healthy_after = r->pc.healthy;
    return TS_OK;
}

/* ---- Downloading k verified pieces ---- */

/* Signs one limit of this repair (GET_REPAIR for sources, PUT_REPAIR for targets). */
static ts_err sign_limit(struct run *r, enum ts_piece_action action, const uint8_t *node_id,
                         uint32_t piece_num, struct ts_order_limit *out)
{
    struct sat_limit_params p;
    struct ts_buf b;
    ts_buf_init(&b, TS_ORDER_LIMIT_ENCODED_MAX);
    ts_err err = sat_limit_params_init(&p, action, ts_time_now_s(), r->rp->cfg.order_expiration_s);
    if (err == TS_OK) {
        memcpy(p.root_piece_id, r->seg->root_piece_id, TS_PIECE_ID_SIZE);
        memcpy(p.piece_public_key, r->pub, 32);
        p.limit_bytes = r->piece_size;
        p.piece_expiration_s = action == TS_PIECE_ACTION_PUT_REPAIR ? r->seg->expires_at : 0;
        err = sat_limit_create(&p, r->rp->identity, node_id, piece_num, &b);
    }
    if (err == TS_OK) {
        err = ts_order_limit_decode(b.data, b.len, out);
    }
    ts_buf_release(&b);
    return err;
}

/* Sources in preference order: healthy pieces first, then clumped or exiting ones. */
static void plan_sources(struct run *r)
{
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < r->seg->piece_count; i++) {
            enum sat_piece_health h = r->pc.health[i];
            bool want = pass == 0 ? h == SAT_PIECE_HEALTHY
                                  : h == SAT_PIECE_CLUMPED || h == SAT_PIECE_EXITING;
            if (want) {
                r->src[r->src_count++].index = i;
            }
        }
    }
}

static void fetch_one(void *ctx, size_t b)
{
    struct run *r = ctx;
    struct source *s = &r->src[r->batch[b]];
    const struct sat_node *n = &r->nodes[s->index];
    uint32_t num = r->seg->pieces[s->index].piece_num;
    s->data = malloc((size_t)r->piece_size);
    s->err = s->data == NULL ? TS_ERR_NOMEM
                             : sign_limit(r, TS_PIECE_ACTION_GET_REPAIR, n->id, num, &s->limit);
    if (s->err == TS_OK) {
        s->err = sat_node_url_make(n->id, n->address, &s->url);
    }
    if (s->err == TS_OK) {
        s->err = sat_piece_download(r->rp->pool, &s->url, &s->limit, r->priv, 0, r->piece_size,
                                    s->data, &s->proof, &s->dialed);
    }
    if (s->err == TS_OK) {
        s->err = sat_piece_verify(ts_identity_peer(r->rp->identity), n->id, s->limit.piece_id,
                                  s->data, (size_t)r->piece_size, &s->proof);
    }
    s->good = s->err == TS_OK;
    if (!s->good) {
        free(s->data);
        s->data = NULL;
    }
}

/* A piece that does not verify, or is gone, is an audit failure for its node. */
static void punish(struct run *r, const struct source *s)
{
    bool lied = s->err == TS_ERR_AUTH_FAILED || s->err == TS_ERR_HASH_MISMATCH ||
                s->err == TS_ERR_PROTOCOL || (s->dialed && s->err == TS_ERR_NOT_FOUND);
    if (!lied) {
        return;
    }
    ts_log_warn(COMPONENT, "bad piece from a node during repair piece=%u err=%s",
                r->seg->pieces[s->index].piece_num, ts_errname(s->err));
    if (sat_reputation_record(r->rp->db, r->rp->rep, r->nodes[s->index].id, SAT_AUDIT_FAILURE,
                              ts_time_now_s(), NULL) != TS_OK) {
        ts_log_warn(COMPONENT, "cannot record an audit failure");
    }
}

static ts_err fetch(struct run *r)
{
    size_t k = (size_t)r->seg->redundancy.required, next = 0;
    while (r->good < k && next < r->src_count) {
        r->batch_count = 0;
        while (r->batch_count < k - r->good && next < r->src_count) {
            r->batch[r->batch_count++] = next++;
        }
        sat_fanout_run(r->batch_count, r->rp->cfg.concurrency, fetch_one, r);
        for (size_t b = 0; b < r->batch_count; b++) {
            struct source *s = &r->src[r->batch[b]];
            if (s->good) {
                r->good++;
                r->res->bytes_downloaded += r->piece_size;
            } else {
                punish(r, s);
            }
        }
    }
    return r->good >= k ? TS_OK : TS_ERR_NOT_ENOUGH_SHARES;
}

/* ---- New pieces ---- */

/* Picks the piece numbers to create: unused numbers first, then those of lost or unhealthy
 * pieces (disqualified, missing, exiting, clumped), up to o (+ extra) healthy pieces. */
static size_t plan_numbers(struct run *r, int *nums)
{
    const struct sat_redundancy *rd = &r->seg->redundancy;
    int extra = (int)ceil(rd->success * r->rp->cfg.extra_fraction);
    int target = rd->success + extra < rd->total ? rd->success + extra : rd->total;
    int need = target - r->pc.healthy;
    bool used[TS_EC_SHARES_MAX] = {false};
    size_t count = 0;
    for (size_t i = 0; i < r->seg->piece_count; i++) {
        used[r->seg->pieces[i].piece_num] = true;
    }
    for (int n = 0; n < rd->total && (int)count < need; n++) {
        if (!used[n]) {
            nums[count++] = n;
        }
    }
    static const enum sat_piece_health ORDER[] = {SAT_PIECE_DISQUALIFIED, SAT_PIECE_MISSING,
                                                  SAT_PIECE_EXITING, SAT_PIECE_CLUMPED};
    for (size_t o = 0; o < TS_ARRAY_LEN(ORDER); o++) {
        for (size_t i = 0; i < r->seg->piece_count && (int)count < need; i++) {
            if (r->pc.health[i] == ORDER[o]) {
                nums[count++] = (int)r->seg->pieces[i].piece_num;
                used[r->seg->pieces[i].piece_num] = false; /* marks "planned" below */
            }
        }
    }
    /* Graceful exit: every exiting piece is re-created on another node (its number is then
     * replaced in the list), even when the segment has enough healthy pieces. */
    for (size_t i = 0; i < r->seg->piece_count; i++) {
        uint32_t num = r->seg->pieces[i].piece_num;
        if (r->pc.health[i] == SAT_PIECE_EXITING && used[num]) {
            nums[count++] = (int)num;
            used[num] = false;
        }
    }
    return count;
}

struct select_ctx {
    struct run *r;
    struct sat_node_candidate *cands;
    size_t count;
};

static ts_err candidates_fn(struct ts_db_conn *c, void *ctx)
{
    struct select_ctx *s = ctx;
    free(s->cands);
    s->cands = NULL;
    return sat_db_nodes_selectable(c, ts_time_now_s() - s->r->rp->sat->online_window_s,
                                   s->r->rp->sat->free_disk_min, SAT_OVERLAY_CACHE_MAX, &s->cands,
                                   &s->count);
}

/* A node that holds a piece of the segment or was already given one by this repair. */
static bool taken(const struct run *r, uint32_t alias)
{
    for (size_t i = 0; i < r->seg->piece_count; i++) {
        if (r->seg->pieces[i].alias == alias) {
            return true;
        }
    }
    for (size_t i = 0; i < r->tried_count; i++) {
        if (r->tried[i] == alias) {
            return true;
        }
    }
    return false;
}

/* The /24s new nodes must avoid (with distinct_nets): those of healthy pieces and of pieces this
 * repair already placed. */
static size_t used_nets(const struct run *r, const char **nets)
{
    size_t n = 0;
    if (!r->rp->sat->distinct_nets) {
        return 0;
    }
    for (size_t i = 0; i < r->seg->piece_count; i++) {
        if (r->pc.health[i] == SAT_PIECE_HEALTHY) {
            nets[n++] = r->nodes[i].last_net;
        }
    }
    for (size_t t = 0; t < r->tgt_count; t++) {
        if (r->tgt[t].err == TS_OK) {
            nets[n++] = r->tgt[t].node.last_net;
        }
    }
    return n;
}

/* Gives the target slots slots[0..n) new nodes: selectable, holding no piece of the segment, not
 * tried by this repair before, and with distinct_nets outside used_nets. *placed gets how many
 * slots (the first ones) got a node. */
static ts_err select_targets(struct run *r, const size_t *slots, size_t n, size_t *placed)
{
    struct select_ctx s = {.r = r};
    *placed = 0;
    ts_err err = ts_db_tx_read(r->rp->db, candidates_fn, &s);
    size_t kept = 0;
    for (size_t c = 0; err == TS_OK && c < s.count; c++) {
        if (!taken(r, s.cands[c].alias)) {
            s.cands[kept++] = s.cands[c];
        }
    }
    const char *nets[2 * TS_EC_SHARES_MAX];
    size_t net_count = used_nets(r, nets);
    struct sat_select_config sel = {.count = (int)n,
                                    .new_fraction = r->rp->sat->new_node_fraction,
                                    .distinct_nets = r->rp->sat->distinct_nets,
                                    .fill_unvetted = r->rp->sat->fill_unvetted};
    size_t chosen[TS_EC_SHARES_MAX], chosen_count = 0;
    struct sat_rng rng;
    if (err == TS_OK && n > 0) {
        err = sat_rng_seed_random(&rng);
    }
    if (err == TS_OK && n > 0) {
        err = sat_select_nodes(&sel, s.cands, kept, nets, net_count, &rng, chosen, &chosen_count);
    }
    for (size_t i = 0; err == TS_OK && i < chosen_count; i++) {
        r->tgt[slots[i]].node = s.cands[chosen[i]];
        r->tried[r->tried_count++] = s.cands[chosen[i]].alias;
    }
    *placed = err == TS_OK ? chosen_count : 0;
    free(s.cands);
    return err;
}

/* Re-encodes only the target piece numbers from the k good pieces. */
static ts_err encode(struct run *r)
{
    const struct sat_redundancy *rd = &r->seg->redundancy;
    const uint8_t *in[TS_EC_SHARES_MAX];
    int in_nums[TS_EC_SHARES_MAX], want[TS_EC_SHARES_MAX];
    uint8_t *out[TS_EC_SHARES_MAX];
    size_t n_in = 0;
    for (size_t i = 0; i < r->src_count; i++) {
        if (r->src[i].good) {
            in[n_in] = r->src[i].data;
            in_nums[n_in++] = (int)r->seg->pieces[r->src[i].index].piece_num;
        }
    }
    ts_err err = TS_OK;
    for (size_t t = 0; err == TS_OK && t < r->tgt_count; t++) {
        want[t] = r->tgt[t].piece_num;
        out[t] = r->tgt[t].data = malloc((size_t)r->piece_size);
        err = out[t] == NULL ? TS_ERR_NOMEM : TS_OK;
    }
    struct ts_ec *ec = NULL;
    if (err == TS_OK) {
        err = ts_ec_new(rd->required, rd->total, (size_t)rd->share_size, &ec);
    }
    if (err == TS_OK) {
        err = ts_ec_rebuild(ec, in, in_nums, n_in, (size_t)(r->piece_size / rd->share_size), want,
                            r->tgt_count, out);
    }
    ts_ec_free(ec);
    return err;
}

static void upload_one(void *ctx, size_t t)
{
    struct run *r = ctx;
    struct target *g = &r->tgt[t];
    g->err =
        sign_limit(r, TS_PIECE_ACTION_PUT_REPAIR, g->node.id, (uint32_t)g->piece_num, &g->limit);
    if (g->err == TS_OK) {
        g->err = sat_node_url_make(g->node.id, g->node.address, &g->url);
    }
    if (g->err == TS_OK) {
        g->err = sat_piece_upload(r->rp->pool, &g->url, &g->limit, r->priv, g->data,
                                  (size_t)r->piece_size, NULL);
    }
    if (g->err != TS_OK) {
        ts_log_info(COMPONENT, "repair upload failed piece=%d err=%s", g->piece_num,
                    ts_errname(g->err));
    }
}

static void upload_batch_one(void *ctx, size_t b)
{
    struct run *r = ctx;
    upload_one(r, r->batch[b]);
}

/* Uploads every target. A piece a node refused (say it kept a long-tail upload of that very
 * piece number, so the derived piece ID exists there: EXISTS) or failed to take goes to another
 * new node, for up to SAT_REPAIR_UPLOAD_ROUNDS rounds, so a few refusals do not leave the segment
 * short of o: with healthy > m afterwards the checker would never queue it again. */
static void upload_all(struct run *r)
{
    r->batch_count = r->tgt_count;
    for (size_t t = 0; t < r->tgt_count; t++) {
        r->batch[t] = t;
    }
    for (int round = 1; r->batch_count > 0; round++) {
        sat_fanout_run(r->batch_count, r->rp->cfg.concurrency, upload_batch_one, r);
        size_t failed = 0;
        for (size_t b = 0; b < r->batch_count; b++) {
            if (r->tgt[r->batch[b]].err != TS_OK) {
                r->batch[failed++] = r->batch[b];
            }
        }
        size_t placed = 0;
        ts_err err = TS_OK;
        if (failed > 0 && round < SAT_REPAIR_UPLOAD_ROUNDS) {
            err = select_targets(r, r->batch, failed, &placed);
        }
        if (err != TS_OK) {
            ts_log_warn(COMPONENT, "cannot choose nodes for failed repair uploads: %s",
                        ts_strerror(err));
        }
        if (placed > 0) {
            ts_log_info(COMPONENT,
                        "repair retrying failed uploads on other nodes count=%zu round=%d", placed,
                        round + 1);
        }
        r->batch_count = placed;
    }
}

/* ---- Swapping the piece list ---- */

struct swap_ctx {
    const uint8_t *stream_id;
    int64_t position;
    const uint8_t *old_raw, *new_raw;
    size_t old_len, new_len;
    int64_t affected;
};

static ts_err swap_fn(struct ts_db_conn *c, void *ctx)
{
    struct swap_ctx *s = ctx;
    return sat_sql_exec(c, &s->affected,
                        "UPDATE segments SET remote_alias_pieces = $1 WHERE stream_id = $2 AND "
                        "position = $3 AND remote_alias_pieces = $4",
                        "bbib", s->new_raw, s->new_len, SID(s->stream_id), s->position, s->old_raw,
                        s->old_len);
}

ts_err sat_repair_pieces_swap(struct ts_db *db, const uint8_t *stream_id, int64_t position,
                              const uint8_t *old_raw, size_t old_len, const uint8_t *new_raw,
                              size_t new_len, bool *swapped)
{
    struct swap_ctx s = {stream_id, position, old_raw, new_raw, old_len, new_len, 0};
    ts_err err = ts_db_tx(db, swap_fn, &s);
    *swapped = err == TS_OK && s.affected == 1;
    return err;
}

static int alias_piece_cmp(const void *a, const void *b)
{
    const struct sat_alias_piece *x = a, *y = b;
    return (x->piece_num > y->piece_num) - (x->piece_num < y->piece_num);
}

/* The new list: old pieces minus disqualified ones and those whose number was re-created, plus
 * the uploaded pieces. Pieces of gracefully exiting nodes are left out too once the segment keeps
 * at least o healthy pieces without them (*dropped counts them). */
static ts_err build_list(const struct run *r, struct ts_buf *out, int *uploaded, int *dropped)
{
    struct sat_alias_piece list[TS_EC_SHARES_MAX];
    bool replaced[TS_EC_SHARES_MAX] = {false};
    size_t n = 0;
    *uploaded = 0;
    *dropped = 0;
    for (size_t t = 0; t < r->tgt_count; t++) {
        if (r->tgt[t].err == TS_OK) {
            replaced[r->tgt[t].piece_num] = true;
            list[n++] =
                (struct sat_alias_piece){(uint32_t)r->tgt[t].piece_num, r->tgt[t].node.alias};
            (*uploaded)++;
        }
    }
    bool drop_exiting = r->pc.healthy + *uploaded >= r->seg->redundancy.success;
    for (size_t i = 0; i < r->seg->piece_count; i++) {
        bool exiting = r->pc.health[i] == SAT_PIECE_EXITING;
        if (replaced[r->seg->pieces[i].piece_num] || r->pc.health[i] == SAT_PIECE_DISQUALIFIED) {
            continue;
        }
        if (exiting && drop_exiting) {
            (*dropped)++;
            continue;
        }
        list[n++] = r->seg->pieces[i];
    }
    qsort(list, n, sizeof list[0], alias_piece_cmp);
    return sat_alias_pieces_encode(list, n, out);
}

static ts_err store(struct run *r)
{
    struct ts_buf list;
    int uploaded = 0, dropped = 0;
    bool swapped = false;
    ts_buf_init(&list, SAT_PIECES_ENCODED_MAX);
    ts_err err = build_list(r, &list, &uploaded, &dropped);
    if (err == TS_OK && uploaded == 0 && dropped == 0) {
        err = TS_ERR_UNAVAILABLE;
    }
    if (err == TS_OK) {
        err = sat_repair_pieces_swap(r->rp->db, r->seg->stream_id, r->seg->position,
                                     r->seg->pieces_raw, r->seg->pieces_raw_len, list.data,
                                     list.len, &swapped);
    }
    if (err == TS_OK && !swapped) {
        r->res->conflict = true;
        err = TS_ERR_BUSY;
    }
    if (err == TS_OK) {
        r->res->pieces_uploaded = uploaded;
        r->res->bytes_uploaded = uploaded * r->piece_size;
        r->res->healthy_after = r->pc.healthy + uploaded;
        if (r->res->healthy_after < r->seg->redundancy.success) {
            ts_log_warn(COMPONENT,
                        "segment left below the success threshold healthy=%d o=%d: "
                        "too few new nodes took a piece",
                        r->res->healthy_after, r->seg->redundancy.success);
        }
    }
    ts_buf_release(&list);
    return err;
}

static ts_err record_lost(struct ts_db_conn *c, void *ctx)
{
    struct run *r = ctx;
    return sat_lost_segment_put(c, r->seg->stream_id, r->seg->position, r->pc.retrievable,
                                r->seg->redundancy.required, ts_time_now_s());
}

static ts_err repair_run(struct run *r)
{
    const struct sat_redundancy *rd = &r->seg->redundancy;
    if (sat_checker_is_lost(rd, &r->pc)) {
        r->res->lost = true;
        return ts_db_tx(r->rp->db, record_lost, r);
    }
    if (!sat_checker_needs_repair(rd, &r->pc) && !sat_checker_needs_exit_repair(rd, &r->pc)) {
        r->res->skipped = true;
        return TS_OK;
    }
    int nums[TS_EC_SHARES_MAX];
    size_t want = plan_numbers(r, nums);
    ts_err err = ts_ed25519_keypair(r->pub, r->priv);
    if (err == TS_OK) {
        plan_sources(r);
        err = fetch(r);
    }
    size_t slots[TS_EC_SHARES_MAX];
    for (size_t t = 0; t < want; t++) {
        slots[t] = t;
    }
    if (err == TS_OK) {
        err = select_targets(r, slots, want, &r->tgt_count);
    }
    for (size_t t = 0; err == TS_OK && t < r->tgt_count; t++) {
        r->tgt[t].piece_num = nums[t];
    }
    bool exit_only = r->pc.exiting > 0 && r->pc.healthy >= rd->success;
    if (err == TS_OK && r->tgt_count == 0 && !exit_only) {
        err = TS_ERR_UNAVAILABLE;
    }
    if (err == TS_OK && r->tgt_count > 0) {
        err = encode(r);
    }
    if (err == TS_OK) {
        /* No new node for an exiting piece but enough healthy ones: store() just drops it. */
        upload_all(r);
        err = store(r);
    }
    return err;
}

static void run_release(struct run *r)
{
    for (size_t i = 0; i < r->src_count; i++) {
        free(r->src[i].data);
    }
    for (size_t t = 0; t < r->tgt_count; t++) {
        free(r->tgt[t].data);
    }
    ts_wipe(r->priv, sizeof r->priv);
    free(r->seg);
    free(r->nodes);
    free(r->holders);
    free(r);
}

ts_err sat_repair_segment(struct sat_repairer *rp, const uint8_t *stream_id, int64_t position,
                          struct sat_repair_result *res)
{
    struct run *r = calloc(1, sizeof *r);
    memset(res, 0, sizeof *res);
    if (r == NULL) {
        return TS_ERR_NOMEM;
    }
    r->rp = rp;
    r->res = res;
    ts_err err = load(r, stream_id, position);
    if (err == TS_ERR_NOT_FOUND) {
        res->skipped = true;
        err = TS_OK;
    } else if (err == TS_OK) {
        err = repair_run(r);
    }
    run_release(r);
    return err;
}

static ts_err count_result(struct ts_db_conn *c, void *ctx)
{
    const struct sat_repair_result *res = ctx;
    ts_err err = sat_counter_add_conn(c, "repair.segments", 1);
    if (err == TS_OK) {
        err = sat_counter_add_conn(c, "repair.pieces_uploaded", res->pieces_uploaded);
    }
    if (err == TS_OK) {
        err = sat_counter_add_conn(c, "repair.bytes_downloaded", res->bytes_downloaded);
    }
    if (err == TS_OK) {
        err = sat_counter_add_conn(c, "repair.bytes_uploaded", res->bytes_uploaded);
    }
    return err;
}

ts_err sat_repair_next(struct sat_repairer *rp, bool *did, struct sat_repair_result *res)
{
    struct sat_repair_job job;
    bool found = false;
    memset(res, 0, sizeof *res);
    ts_err err = sat_repair_queue_pop(rp->db, ts_time_now_s(), rp->cfg.retry_s, &job, &found);
    *did = err == TS_OK && found;
    if (!*did) {
        return err;
    }
    err = sat_repair_segment(rp, job.stream_id, job.position, res);
    if (err == TS_OK) {
        ts_err qerr = sat_repair_queue_delete(rp->db, job.stream_id, job.position);
        if (qerr == TS_OK && !res->skipped && !res->lost) {
            qerr = ts_db_tx(rp->db, count_result, res);
        }
        if (qerr == TS_OK && res->lost) {
            qerr = sat_counter_add(rp->db, "repair.lost", 1);
        }
        err = qerr;
        ts_log_info(COMPONENT,
                    "segment repaired healthy_before=%d healthy_after=%d uploaded=%d skipped=%d "
                    "lost=%d",
                    res->healthy_before, res->healthy_after, res->pieces_uploaded, res->skipped,
                    res->lost);
    } else {
        ts_err cerr = sat_counter_add(rp->db, "repair.failed", 1);
        ts_log_warn(COMPONENT, "repair failed attempt=%lld err=%s (retried later)",
                    (long long)job.attempts, ts_strerror(err));
        err = cerr;
    }
    return err;
}
