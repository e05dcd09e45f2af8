/* Operator commands over the satellite database (see admin.h). */
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "identity/identity.h"
#include "satellite/admin/admin.h"
#include "satellite/db/satdb.h"
#include "satellite/db/sql.h"
#include "satellite/gexit/gexit.h"

static const char *exit_state_name(int64_t state)
{
    switch (state) {
    case SAT_GEXIT_RUNNING:
        return "running";
    case SAT_GEXIT_SUCCEEDED:
        return "succeeded";
    case SAT_GEXIT_FAILED:
        return "failed";
    default:
        return "none";
    }
}

static double ratio(double a, double b)
{
    return a + b > 0 ? a / (a + b) : 1.0;
}

struct list_ctx {
    const struct sat_config *cfg;
    int64_t now_s;
    FILE *out;
};

static void id_text(struct ts_db_stmt *st, int col, char *out, size_t size)
{
    struct ts_node_id id;
    snprintf(out, size, "?");
    if (sat_sql_col_fixed(st, col, id.bytes, sizeof id.bytes) == TS_OK &&
        ts_node_id_to_string(&id, out, size) != TS_OK) {
        snprintf(out, size, "?");
    }
}

static const char *node_state(struct ts_db_stmt *st, const struct list_ctx *lc)
{
    int64_t success = ts_db_stmt_column_int64(st, 2), failure = ts_db_stmt_column_int64(st, 3);
    bool online = success >= lc->now_s - lc->cfg->online_window_s && failure <= success;
    if (ts_db_stmt_column_int64(st, 4) != 0) {
        return "disqualified";
    }
    if (ts_db_stmt_column_int64(st, 6) != 0) {
        return "exited";
    }
    if (ts_db_stmt_column_int64(st, 5) != 0) {
        return "exiting";
    }
    if (ts_db_stmt_column_int64(st, 12) != 0) {
        return "suspended";
    }
    return online ? "online" : "offline";
}

static ts_err node_list_fn(struct ts_db_conn *c, void *ctx)
{
    const struct list_ctx *lc = ctx;
    struct ts_db_stmt *st = NULL;
    bool row = false;
    ts_err err = sat_sql_prepare(
        c,
        "SELECT n.id, n.address, n.last_contact_success, n.last_contact_failure, "
        "n.disqualified_at, n.exit_initiated_at, n.exit_finished_at, n.audit_alpha, "
        "n.audit_beta, n.vetted_at, COALESCE(r.unknown_alpha, 1), COALESCE(r.unknown_beta, 0), "
        "COALESCE(r.suspended_at, 0), COALESCE(r.online_score, 1), COALESCE(g.state, 0) "
        "FROM nodes n LEFT JOIN reputation r ON r.node_id = n.id "
        "LEFT JOIN graceful_exits g ON g.node_id = n.id ORDER BY n.id",
        &st, "");
    while (err == TS_OK && (err = ts_db_stmt_step(st, &row)) == TS_OK && row) {
        char id[TS_NODE_ID_TEXT_MAX], address[SAT_ADDRESS_MAX];
        id_text(st, 0, id, sizeof id);
        if (sat_sql_col_text(st, 1, address, sizeof address) != TS_OK) {
            snprintf(address, sizeof address, "?");
        }
        fprintf(lc->out, "%s %s state=%s audit=%.3f unknown=%.3f online=%.3f vetted=%d exit=%s\n",
                id, address, node_state(st, lc),
                ratio(ts_db_stmt_column_double(st, 7), ts_db_stmt_column_double(st, 8)),
                ratio(ts_db_stmt_column_double(st, 10), ts_db_stmt_column_double(st, 11)),
                ts_db_stmt_column_double(st, 13), ts_db_stmt_column_int64(st, 9) != 0,
                exit_state_name(ts_db_stmt_column_int64(st, 14)));
    }
    ts_db_stmt_free(st);
    return err;
}

ts_err sat_admin_node_list(struct ts_db *db, const struct sat_config *cfg, int64_t now_s, FILE *out)
{
    struct list_ctx lc = {cfg, now_s, out};
    ts_err err = sat_gexit_migrate(db); /* graceful_exits may not exist before the first run */
    return err != TS_OK ? err : ts_db_tx_read(db, node_list_fn, &lc);
}

struct dq_ctx {
    const uint8_t *id;
    int64_t now_s;
};

static ts_err dq_fn(struct ts_db_conn *c, void *ctx)
{
    struct dq_ctx *dc = ctx;
    struct sat_node n;
    ts_err err = sat_db_node_get(c, dc->id, &n);
    if (err == TS_OK && n.disqualified_at == 0) {
        err = sat_db_node_set_disqualified(c, dc->id, dc->now_s);
    }
    return err;
}

ts_err sat_admin_node_disqualify(struct ts_db *db, const uint8_t id[32], int64_t now_s)
{
    struct dq_ctx dc = {id, now_s};
    return ts_db_tx(db, dq_fn, &dc);
}

static ts_err exit_list_fn(struct ts_db_conn *c, void *ctx)
{
    FILE *out = ctx;
    struct ts_db_stmt *st = NULL;
    bool row = false;
    ts_err err = sat_sql_prepare(c,
                                 "SELECT node_id, state, initiated_at, completes_at, finished_at, "
                                 "checks_online, checks_total, reason FROM graceful_exits "
                                 "ORDER BY initiated_at, node_id",
                                 &st, "");
    while (err == TS_OK && (err = ts_db_stmt_step(st, &row)) == TS_OK && row) {
        char id[TS_NODE_ID_TEXT_MAX], reason[SAT_GEXIT_REASON_MAX + 1];
        id_text(st, 0, id, sizeof id);
        if (sat_sql_col_text(st, 7, reason, sizeof reason) != TS_OK) {
            reason[0] = 0;
        }
        fprintf(
            out,
            "%s state=%s initiated_at=%lld completes_at=%lld finished_at=%lld "
            "checks=%lld/%lld%s%s\n",
            id, exit_state_name(ts_db_stmt_column_int64(st, 1)),
            (long long)ts_db_stmt_column_int64(st, 2), (long long)ts_db_stmt_column_int64(st, 3),
            (long long)ts_db_stmt_column_int64(st, 4), (long long)ts_db_stmt_column_int64(st, 5),
            (long long)ts_db_stmt_column_int64(st, 6), reason[0] ? " reason=" : "", reason);
    }
    ts_db_stmt_free(st);
    return err;
}

ts_err sat_admin_exit_list(struct ts_db *db, FILE *out)
{
    ts_err err = sat_gexit_migrate(db);
    return err != TS_OK ? err : ts_db_tx_read(db, exit_list_fn, out);
}
