/* Containment: whole-piece reverification of nodes that timed out during an audit (audit.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/log.h"
#include "crypto/ed25519.h"
#include "satellite/audit/audit.h"
#include "satellite/audit/piece_client.h"
#include "satellite/db/sql.h"
#include "satellite/orders/orders.h"
#include "satellite/repair/queue.h"

#define COMPONENT "satellite.reverify"
#define NID(p) (p), (size_t)TS_NODE_ID_SIZE
#define SID(p) (p), (size_t)SAT_ID_SIZE

struct pending {
    uint8_t node_id[TS_NODE_ID_SIZE];
    uint8_t stream_id[SAT_ID_SIZE];
    int64_t position;
    uint32_t piece_num;
    int64_t attempts; /* including this one */
};

struct take_ctx {
    int64_t now, retry;
    struct pending *p;
    bool found;
};

static ts_err take_fn(struct ts_db_conn *c, void *ctx)
{
    struct take_ctx *t = ctx;
    struct ts_db_stmt *st = NULL;
    bool row = false;
    t->found = false;
    ts_err err = sat_sql_prepare(c,
                                 "SELECT node_id, stream_id, position, piece_num, attempts FROM "
                                 "reverify_queue WHERE last_attempt_at <= $1 ORDER BY "
                                 "last_attempt_at, inserted_at LIMIT 1",
                                 &st, "i", t->now - t->retry);
    if (err == TS_OK) {
        err = ts_db_stmt_step(st, &row);
    }
    if (err == TS_OK && row) {
        err = sat_sql_col_fixed(st, 0, t->p->node_id, TS_NODE_ID_SIZE);
        if (err == TS_OK) {
            err = sat_sql_col_fixed(st, 1, t->p->stream_id, SAT_ID_SIZE);
        }
        t->p->position = ts_db_stmt_column_int64(st, 2);
        t->p->piece_num = (uint32_t)ts_db_stmt_column_int64(st, 3);
        t->p->attempts = ts_db_stmt_column_int64(st, 4) + 1;
        t->found = err == TS_OK;
    }
    ts_db_stmt_free(st);
    if (err == TS_OK && t->found) {
        err = sat_sql_exec(c, NULL,
                           "UPDATE reverify_queue SET attempts = $1, last_attempt_at = $2 WHERE "
                           "node_id = $3 AND stream_id = $4 AND position = $5",
                           "iibbi", t->p->attempts, t->now, NID(t->p->node_id),
                           SID(t->p->stream_id), t->p->position);
    }
    return err;
}

static ts_err drop_fn(struct ts_db_conn *c, void *ctx)
{
    const struct pending *p = ctx;
    return sat_sql_exec(c, NULL,
                        "DELETE FROM reverify_queue WHERE node_id = $1 AND stream_id = $2 AND "
                        "position = $3",
                        "bbi", NID(p->node_id), SID(p->stream_id), p->position);
}

struct node_ctx {
    const uint8_t *id;
    struct sat_node *node;
};

static ts_err node_fn(struct ts_db_conn *c, void *ctx)
{
    struct node_ctx *n = ctx;
    return sat_db_node_get(c, n->id, n->node);
}

/* Downloads and checks the whole piece; returns the outcome. */
static enum sat_audit_outcome check_piece(struct sat_auditor *a, const struct pending *p,
                                          const struct sat_loop_segment *seg,
                                          const struct sat_node *node)
{
    int64_t size = sat_redundancy_piece_size(&seg->redundancy, seg->encrypted_size);
    struct sat_limit_params prm;
    struct ts_order_limit limit;
    struct ts_node_url url;
    struct sat_piece_proof proof;
    uint8_t pub[32], priv[64];
    struct ts_buf b;
    bool dialed = false;
    uint8_t *data = malloc((size_t)size);
    ts_buf_init(&b, TS_ORDER_LIMIT_ENCODED_MAX);
    ts_err err = data == NULL ? TS_ERR_NOMEM : ts_ed25519_keypair(pub, priv);
    if (err == TS_OK) {
        err = sat_limit_params_init(&prm, TS_PIECE_ACTION_GET_AUDIT, ts_time_now_s(),
                                    a->cfg.order_expiration_s);
    }
    if (err == TS_OK) {
        memcpy(prm.root_piece_id, seg->root_piece_id, TS_PIECE_ID_SIZE);
        memcpy(prm.piece_public_key, pub, 32);
        prm.limit_bytes = size;
        err = sat_limit_create(&prm, a->identity, node->id, p->piece_num, &b);
    }
    if (err == TS_OK) {
        err = ts_order_limit_decode(b.data, b.len, &limit);
    }
    if (err == TS_OK) {
        err = sat_node_url_make(node->id, node->address, &url);
    }
    enum sat_audit_outcome out = SAT_AUDIT_UNKNOWN;
    if (err == TS_OK) {
        err = sat_piece_download(a->pool, &url, &limit, priv, 0, size, data, &proof, &dialed);
        out = (enum sat_audit_outcome)sat_piece_outcome(err, dialed);
    }
    if (err == TS_OK) {
        err = sat_piece_verify(ts_identity_peer(a->identity), node->id, limit.piece_id, data,
                               (size_t)size, &proof);
        out = err == TS_OK ? SAT_AUDIT_SUCCESS : SAT_AUDIT_FAILURE;
    }
    ts_wipe(priv, sizeof priv);
    ts_buf_release(&b);
    free(data);
    return out;
}

/* The piece is still this node's in the current segment row. */
static bool still_held(const struct sat_loop_segment *seg, const struct sat_node *node,
                       uint32_t piece_num)
{
    for (size_t i = 0; i < seg->piece_count; i++) {
        if (seg->pieces[i].piece_num == piece_num && seg->pieces[i].alias == node->alias) {
            return true;
        }
    }
    return false;
}

static ts_err conclude(struct sat_auditor *a, struct pending *p, enum sat_audit_outcome out,
                       enum sat_audit_outcome *outcome)
{
    if (out == SAT_AUDIT_CONTAINED || out == SAT_AUDIT_UNKNOWN) {
        out = p->attempts >= a->cfg.reverify_max ? SAT_AUDIT_FAILURE : SAT_AUDIT_CONTAINED;
    }
    ts_err err = TS_OK;
    if (out == SAT_AUDIT_SUCCESS || out == SAT_AUDIT_FAILURE) {
        err = ts_db_tx(a->db, drop_fn, p);
    }
    if (err == TS_OK && out != SAT_AUDIT_CONTAINED) {
        err = sat_reputation_record(a->db, a->rep, p->node_id, out, ts_time_now_s(), NULL);
    }
    if (err == TS_OK) {
        char name[40];
        snprintf(name, sizeof name, "reverify.%s", sat_audit_outcome_name(out));
        err = sat_counter_add(a->db, name, 1);
    }
    ts_log_info(COMPONENT, "reverification outcome=%s attempt=%lld piece=%u",
                sat_audit_outcome_name(out), (long long)p->attempts, p->piece_num);
    *outcome = out;
    return err;
}

ts_err sat_reverify_next(struct sat_auditor *a, bool *did, enum sat_audit_outcome *outcome)
{
    struct pending p;
    enum sat_audit_outcome out = SAT_AUDIT_OUTCOMES;
    struct take_ctx t = {.now = ts_time_now_s(), .retry = a->cfg.reverify_retry_s, .p = &p};
    *did = false;
    ts_err err = ts_db_tx(a->db, take_fn, &t);
    if (err != TS_OK || !t.found) {
        return err;
    }
    *did = true;
    struct sat_loop_segment *seg = malloc(sizeof *seg);
    struct sat_node *node = malloc(sizeof *node);
    struct node_ctx nc = {p.node_id, node};
    err = seg == NULL || node == NULL ? TS_ERR_NOMEM
                                      : sat_loop_segment_get(a->db, p.stream_id, p.position, seg);
    if (err == TS_OK) {
        err = ts_db_tx_read(a->db, node_fn, &nc);
    }
    if (err == TS_ERR_NOT_FOUND || (err == TS_OK && !still_held(seg, node, p.piece_num))) {
        err = ts_db_tx(a->db, drop_fn, &p); /* the piece moved on: nothing to verify */
    } else if (err == TS_OK) {
        err = conclude(a, &p, check_piece(a, &p, seg, node), &out);
    }
    free(seg);
    free(node);
    if (outcome != NULL) {
        *outcome = out;
    }
    return err;
}

static ts_err pending_fn(struct ts_db_conn *c, void *ctx)
{
    int64_t *count = ctx;
    struct ts_db_stmt *st = NULL;
    bool row = false;
    ts_err err = sat_sql_prepare(c, "SELECT COUNT(*) FROM reverify_queue", &st, "");
    if (err == TS_OK) {
        err = ts_db_stmt_step(st, &row);
    }
    *count = err == TS_OK && row ? ts_db_stmt_column_int64(st, 0) : 0;
    ts_db_stmt_free(st);
    return err;
}

ts_err sat_reverify_pending(struct ts_db *db, int64_t *count)
{
    return ts_db_tx_read(db, pending_fn, count);
}
