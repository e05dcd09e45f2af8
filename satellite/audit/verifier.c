/* Stripe audits with Berlekamp-Welch (see audit.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/log.h"
#include "crypto/ed25519.h"
#include "ec/ec.h"
#include "satellite/audit/audit.h"
#include "satellite/audit/fanout.h"
#include "satellite/audit/piece_client.h"
#include "satellite/db/sql.h"
#include "satellite/orders/orders.h"
#include "satellite/repair/queue.h"

#define COMPONENT "satellite.audit"

/* One piece holder being asked for one share. */
struct share_job {
    uint32_t piece_num;
    uint8_t node_id[TS_NODE_ID_SIZE];
    struct ts_node_url url;
    struct ts_order_limit limit;
    uint8_t *share; /* share_size bytes */
    ts_err err;
    bool dialed;
    enum sat_audit_outcome outcome;
    bool skip; /* a share that arrived but could not be judged (too few others): no verdict */
};

struct audit_run {
    struct sat_auditor *a;
    struct sat_loop_segment *seg;
    struct share_job jobs[TS_EC_SHARES_MAX];
    size_t count;
    uint8_t priv[64];
    int64_t offset, share_size;
    uint8_t *shares; /* count * share_size */
};

struct holders_ctx {
    const struct sat_loop_segment *seg;
    struct sat_node *nodes;
    bool contained[TS_EC_SHARES_MAX];
};

static ts_err holders_fn(struct ts_db_conn *c, void *ctx)
{
    struct holders_ctx *h = ctx;
    uint32_t aliases[TS_EC_SHARES_MAX];
    for (size_t i = 0; i < h->seg->piece_count; i++) {
        aliases[i] = h->seg->pieces[i].alias;
    }
    ts_err err = sat_db_nodes_by_alias(c, aliases, h->seg->piece_count, h->nodes);
    for (size_t i = 0; err == TS_OK && i < h->seg->piece_count; i++) {
        struct ts_db_stmt *st = NULL;
        bool row = false;
        err = sat_sql_prepare(c, "SELECT 1 FROM reverify_queue WHERE node_id = $1 LIMIT 1", &st,
                              "b", h->nodes[i].id, (size_t)TS_NODE_ID_SIZE);
        if (err == TS_OK) {
            err = ts_db_stmt_step(st, &row);
        }
        h->contained[i] = row;
        ts_db_stmt_free(st);
    }
    return err;
}

/* Signs a GET_AUDIT limit for every usable holder. */
static ts_err plan(struct audit_run *r)
{
    struct sat_limit_params p;
    uint8_t pub[32];
    struct holders_ctx h = {.seg = r->seg};
    h.nodes = calloc(r->seg->piece_count + 1, sizeof *h.nodes);
    ts_err err = h.nodes == NULL ? TS_ERR_NOMEM : ts_db_tx_read(r->a->db, holders_fn, &h);
    if (err == TS_OK) {
        err = ts_ed25519_keypair(pub, r->priv);
    }
    if (err == TS_OK) {
        err = sat_limit_params_init(&p, TS_PIECE_ACTION_GET_AUDIT, ts_time_now_s(),
                                    r->a->cfg.order_expiration_s);
    }
    struct ts_buf b;
    ts_buf_init(&b, TS_ORDER_LIMIT_ENCODED_MAX);
    if (err == TS_OK) {
        memcpy(p.root_piece_id, r->seg->root_piece_id, TS_PIECE_ID_SIZE);
        memcpy(p.piece_public_key, pub, 32);
        p.limit_bytes = r->share_size;
        p.piece_expiration_s = 0;
    }
    for (size_t i = 0; err == TS_OK && i < r->seg->piece_count; i++) {
        const struct sat_node *n = &h.nodes[i];
        if (n->alias == 0 || n->disqualified_at != 0 || h.contained[i]) {
            continue; /* contained nodes answer through their reverification */
        }
        struct share_job *j = &r->jobs[r->count];
        j->piece_num = r->seg->pieces[i].piece_num;
        memcpy(j->node_id, n->id, TS_NODE_ID_SIZE);
        ts_buf_clear(&b);
        err = sat_limit_create(&p, r->a->identity, n->id, j->piece_num, &b);
        if (err == TS_OK) {
            err = ts_order_limit_decode(b.data, b.len, &j->limit);
        }
        if (err == TS_OK && sat_node_url_make(n->id, n->address, &j->url) == TS_OK) {
            r->count++;
        }
    }
    ts_buf_release(&b);
    free(h.nodes);
    return err;
}

static void fetch_one(void *ctx, size_t i)
{
    struct audit_run *r = ctx;
    struct share_job *j = &r->jobs[i];
    j->err = sat_piece_download(r->a->pool, &j->url, &j->limit, r->priv, r->offset, r->share_size,
                                j->share, NULL, &j->dialed);
    j->outcome = (enum sat_audit_outcome)sat_piece_outcome(j->err, j->dialed);
}

/* Runs Berlekamp-Welch over the shares that arrived; nodes whose share changed failed. */
static ts_err judge(struct audit_run *r)
{
    const struct sat_redundancy *rd = &r->seg->redundancy;
    uint8_t *shares[TS_EC_SHARES_MAX];
    int nums[TS_EC_SHARES_MAX], bad[TS_EC_SHARES_MAX];
    size_t got = 0, bad_count = 0;
    size_t job_of[TS_EC_SHARES_MAX];
    for (size_t i = 0; i < r->count; i++) {
        if (r->jobs[i].outcome == SAT_AUDIT_SUCCESS) {
            shares[got] = r->jobs[i].share;
            nums[got] = (int)r->jobs[i].piece_num;
            job_of[got++] = i;
        }
    }
    if (got < (size_t)rd->required) {
        return TS_ERR_NOT_ENOUGH_SHARES; /* answered outcomes (failures, offline) still count */
    }
    struct ts_ec *ec = NULL;
    ts_err err = ts_ec_new(rd->required, rd->total, (size_t)rd->share_size, &ec);
    if (err == TS_OK) {
        err = ts_ec_correct(ec, shares, nums, got, bad, &bad_count);
    }
    ts_ec_free(ec);
    for (size_t b = 0; err == TS_OK && b < bad_count; b++) {
        for (size_t g = 0; g < got; g++) {
            if (nums[g] == bad[b]) {
                r->jobs[job_of[g]].outcome = SAT_AUDIT_FAILURE;
            }
        }
    }
    return err;
}

static ts_err contain(struct ts_db_conn *c, void *ctx)
{
    void **args = ctx;
    const struct audit_run *r = args[0];
    const struct share_job *j = args[1];
    return sat_sql_exec(c, NULL,
                        "INSERT INTO reverify_queue (node_id, stream_id, position, piece_num, "
                        "attempts, inserted_at, last_attempt_at) VALUES ($1, $2, $3, $4, 0, $5, "
                        "0) ON CONFLICT (node_id, stream_id, position) DO NOTHING",
                        "bbiii", j->node_id, (size_t)TS_NODE_ID_SIZE, r->seg->stream_id,
                        (size_t)SAT_ID_SIZE, r->seg->position, (int64_t)j->piece_num,
                        ts_time_now_s());
}

/* Records every outcome (reputation, counters, containment). */
static ts_err record(struct audit_run *r)
{
    ts_err err = TS_OK;
    int64_t now = ts_time_now_s();
    for (size_t i = 0; err == TS_OK && i < r->count; i++) {
        struct share_job *j = &r->jobs[i];
        if (j->skip) {
            continue;
        }
        if (j->outcome == SAT_AUDIT_CONTAINED) {
            void *args[2] = {r, j};
            err = ts_db_tx(r->a->db, contain, args);
        }
        if (err == TS_OK) {
            err = sat_reputation_record(r->a->db, r->a->rep, j->node_id, j->outcome, now, NULL);
        }
        char name[32];
        snprintf(name, sizeof name, "audit.%s", sat_audit_outcome_name(j->outcome));
        if (err == TS_OK) {
            err = sat_counter_add(r->a->db, name, 1);
        }
        if (j->outcome != SAT_AUDIT_SUCCESS) {
            ts_log_info(COMPONENT, "audit outcome=%s piece=%u err=%s", name + 6, j->piece_num,
                        ts_errname(j->err));
        }
    }
    return err;
}

static void report_fill(const struct audit_run *r, struct sat_audit_report *rep, bool skipped,
                        int64_t stripe)
{
    memset(rep, 0, sizeof *rep);
    rep->skipped = skipped;
    rep->stripe = stripe;
    for (size_t i = 0; !skipped && i < r->count; i++) {
        memcpy(rep->node_ids[i], r->jobs[i].node_id, TS_NODE_ID_SIZE);
        rep->piece_nums[i] = r->jobs[i].piece_num;
        rep->outcomes[i] = r->jobs[i].skip ? SAT_AUDIT_OUTCOMES : r->jobs[i].outcome;
        rep->bytes += r->jobs[i].outcome == SAT_AUDIT_SUCCESS ? r->share_size : 0;
    }
    rep->count = skipped ? 0 : r->count;
}

/* Fetches, judges and records; the segment row is read again before recording. */
static ts_err audit_run(struct audit_run *r, const struct sat_audit_pick *pick, bool *skipped)
{
    const struct sat_redundancy *rd = &r->seg->redundancy;
    int64_t piece_size = sat_redundancy_piece_size(rd, r->seg->encrypted_size);
    int64_t stripes = piece_size / rd->share_size;
    struct sat_rng rng;
    ts_err err = sat_rng_seed_random(&rng);
    int64_t stripe =
        err == TS_OK && stripes > 0 ? (int64_t)sat_rng_below(&rng, (uint64_t)stripes) : 0;
    r->share_size = rd->share_size;
    r->offset = stripe * rd->share_size;
    if (err == TS_OK) {
        err = plan(r);
    }
    r->shares = err == TS_OK ? calloc(r->count + 1, (size_t)r->share_size) : NULL;
    if (err == TS_OK && r->shares == NULL) {
        err = TS_ERR_NOMEM;
    }
    for (size_t i = 0; err == TS_OK && i < r->count; i++) {
        r->jobs[i].share = r->shares + i * (size_t)r->share_size;
    }
    if (err == TS_OK) {
        sat_fanout_run(r->count, r->a->cfg.concurrency, fetch_one, r);
        err = judge(r);
        if (err == TS_ERR_NOT_ENOUGH_SHARES || err == TS_ERR_TOO_MANY_ERRORS) {
            ts_log_warn(COMPONENT, "audit inconclusive: %s", ts_strerror(err));
            for (size_t i = 0; i < r->count; i++) { /* keep only what needs no decoding */
                r->jobs[i].skip = r->jobs[i].outcome == SAT_AUDIT_SUCCESS;
            }
            err = TS_OK;
        }
    }
    struct sat_loop_segment *again = err == TS_OK ? malloc(sizeof *again) : NULL;
    if (err == TS_OK) {
        err = again == NULL
                  ? TS_ERR_NOMEM
                  : sat_loop_segment_get(r->a->db, pick->stream_id, pick->position, again);
    }
    *skipped = err == TS_ERR_NOT_FOUND ||
               (err == TS_OK &&
                (again->pieces_raw_len != r->seg->pieces_raw_len ||
                 memcmp(again->pieces_raw, r->seg->pieces_raw, r->seg->pieces_raw_len) != 0));
    free(again);
    if (err == TS_ERR_NOT_FOUND) {
        err = TS_OK;
    }
    if (err == TS_OK && !*skipped) {
        err = record(r);
    }
    return err;
}

ts_err sat_audit_segment(struct sat_auditor *a, const struct sat_audit_pick *pick,
                         struct sat_audit_report *report)
{
    struct audit_run *r = calloc(1, sizeof *r);
    if (r == NULL) {
        return TS_ERR_NOMEM;
    }
    r->a = a;
    r->seg = malloc(sizeof *r->seg);
    bool skipped = false;
    ts_err err = r->seg == NULL
                     ? TS_ERR_NOMEM
                     : sat_loop_segment_get(a->db, pick->stream_id, pick->position, r->seg);
    if (err == TS_ERR_NOT_FOUND) {
        skipped = true;
        err = TS_OK;
    } else if (err == TS_OK) {
        err = audit_run(r, pick, &skipped);
    }
    if (report != NULL) {
        int64_t stripe = r->share_size > 0 ? r->offset / r->share_size : 0;
        report_fill(r, report, skipped || err != TS_OK, stripe);
    }
    ts_wipe(r->priv, sizeof r->priv);
    free(r->shares);
    free(r->seg);
    free(r);
    return err;
}
