/* Node reputation: beta-model math and its table (see reputation.h). */
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "base/log.h"
#include "satellite/db/sql.h"
#include "satellite/reputation/reputation.h"

#define COMPONENT "satellite.reputation"
#define NID(p) (p), (size_t)TS_NODE_ID_SIZE

void sat_reputation_config_defaults(struct sat_reputation_config *c)
{
    *c = (struct sat_reputation_config){
        .lambda = 0.999,
        .weight = 1.0,
        .alpha0 = 1000.0,
        .beta0 = 0.0,
        .dq_threshold = 0.96,
        .unknown_lambda = 0.95,
        .suspend_threshold = 0.6,
        .vetting_audits = 100,
        .vetting_age_s = 21 * 86400,
        .online_window_s = 12 * 3600,
        .online_tracking_s = 30 * 86400,
        .online_threshold = 0.6,
        .online_windows_min = 2,
        .absence_dq_s = 30 * 86400,
    };
}

void sat_reputation_init(struct sat_reputation *r, const struct sat_reputation_config *c)
{
    memset(r, 0, sizeof *r);
    r->audit_alpha = c->alpha0;
    r->audit_beta = c->beta0;
    /* The steady state of a perfect record: alpha = w / (1 - lambda). */
    r->unknown_alpha = c->unknown_lambda < 1.0 ? c->weight / (1.0 - c->unknown_lambda) : 1.0;
    r->unknown_beta = 0.0;
    r->online_score = 1.0;
}

static double ratio(double a, double b)
{
    return a + b > 0.0 ? a / (a + b) : 1.0;
}

double sat_reputation_audit_score(const struct sat_reputation *r)
{
    return ratio(r->audit_alpha, r->audit_beta);
}

double sat_reputation_unknown_score(const struct sat_reputation *r)
{
    return ratio(r->unknown_alpha, r->unknown_beta);
}

static void beta_step(double *alpha, double *beta, double lambda, double w, bool good)
{
    *alpha = lambda * *alpha + (good ? w : 0.0);
    *beta = lambda * *beta + (good ? 0.0 : w);
}

void sat_reputation_apply(struct sat_reputation *r, const struct sat_reputation_config *c,
                          enum sat_audit_outcome outcome, int64_t now_s, int64_t created_s)
{
    r->audits_total++;
    r->last_audit_at = now_s;
    switch (outcome) {
    case SAT_AUDIT_SUCCESS:
        r->audits_success++;
        beta_step(&r->audit_alpha, &r->audit_beta, c->lambda, c->weight, true);
        beta_step(&r->unknown_alpha, &r->unknown_beta, c->unknown_lambda, c->weight, true);
        break;
    case SAT_AUDIT_FAILURE:
        r->audits_failed++;
        beta_step(&r->audit_alpha, &r->audit_beta, c->lambda, c->weight, false);
        break;
    case SAT_AUDIT_UNKNOWN:
        r->audits_unknown++;
        beta_step(&r->unknown_alpha, &r->unknown_beta, c->unknown_lambda, c->weight, false);
        break;
    case SAT_AUDIT_OFFLINE:
        r->audits_offline++;
        break;
    case SAT_AUDIT_CONTAINED:
    case SAT_AUDIT_OUTCOMES:
        r->audits_contained++;
        break;
    }
    if (r->disqualified_at == 0 && sat_reputation_audit_score(r) <= c->dq_threshold) {
        r->disqualified_at = now_s;
    }
    bool bad_unknown = sat_reputation_unknown_score(r) <= c->suspend_threshold;
    bool bad_online = r->online_score < c->online_threshold;
    if (r->suspended_at == 0 && (bad_unknown || bad_online)) {
        r->suspended_at = now_s;
    } else if (r->suspended_at != 0 && !bad_unknown && !bad_online) {
        r->suspended_at = 0;
    }
    if (r->vetted_at == 0 && r->audits_success >= c->vetting_audits &&
        now_s - created_s >= c->vetting_age_s) {
        r->vetted_at = now_s;
    }
}

const char *sat_audit_outcome_name(enum sat_audit_outcome outcome)
{
    static const char *const NAMES[] = {"success", "failure", "offline", "unknown", "contained"};
    return (unsigned)outcome < TS_ARRAY_LEN(NAMES) ? NAMES[outcome] : "invalid";
}

/* ---- Database ---- */

#define REP_COLS                                                                                   \
    "audit_alpha, audit_beta, unknown_alpha, unknown_beta, audits_total, audits_success, "         \
    "audits_failed, audits_offline, audits_unknown, audits_contained, online_score, "              \
    "suspended_at, last_audit_at"

static ts_err rep_read(struct ts_db_conn *c, const struct sat_reputation_config *cfg,
                       const uint8_t *id, struct sat_reputation *r, bool *found)
{
    struct ts_db_stmt *st = NULL;
    bool row = false;
    sat_reputation_init(r, cfg);
    ts_err err = sat_sql_prepare(c, "SELECT " REP_COLS " FROM reputation WHERE node_id = $1", &st,
                                 "b", NID(id));
    if (err == TS_OK) {
        err = ts_db_stmt_step(st, &row);
    }
    if (err == TS_OK && row) {
        r->audit_alpha = ts_db_stmt_column_double(st, 0);
        r->audit_beta = ts_db_stmt_column_double(st, 1);
        r->unknown_alpha = ts_db_stmt_column_double(st, 2);
        r->unknown_beta = ts_db_stmt_column_double(st, 3);
        int64_t *counts[] = {&r->audits_total,   &r->audits_success, &r->audits_failed,
                             &r->audits_offline, &r->audits_unknown, &r->audits_contained};
        for (int i = 0; i < 6; i++) {
            *counts[i] = ts_db_stmt_column_int64(st, 4 + i);
        }
        r->online_score = ts_db_stmt_column_double(st, 10);
        r->suspended_at = ts_db_stmt_column_int64(st, 11);
        r->last_audit_at = ts_db_stmt_column_int64(st, 12);
    }
    ts_db_stmt_free(st);
    if (err == TS_OK && found != NULL) {
        *found = row;
    }
    if (err != TS_OK) {
        return err;
    }
    /* Verdicts live in nodes (selection reads them there). */
    err = sat_sql_prepare(c, "SELECT disqualified_at, vetted_at FROM nodes WHERE id = $1", &st, "b",
                          NID(id));
    if (err == TS_OK) {
        err = ts_db_stmt_step(st, &row);
    }
    if (err == TS_OK && row) {
        r->disqualified_at = ts_db_stmt_column_int64(st, 0);
        r->vetted_at = ts_db_stmt_column_int64(st, 1);
    }
    ts_db_stmt_free(st);
    return err;
}

static ts_err rep_write(struct ts_db_conn *c, const uint8_t *id, const struct sat_reputation *r)
{
    return sat_sql_exec(
        c, NULL,
        "INSERT INTO reputation (node_id, " REP_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
        "$9, $10, $11, $12, $13, $14) ON CONFLICT (node_id) DO UPDATE SET "
        "audit_alpha = excluded.audit_alpha, audit_beta = excluded.audit_beta, "
        "unknown_alpha = excluded.unknown_alpha, unknown_beta = excluded.unknown_beta, "
        "audits_total = excluded.audits_total, audits_success = excluded.audits_success, "
        "audits_failed = excluded.audits_failed, audits_offline = excluded.audits_offline, "
        "audits_unknown = excluded.audits_unknown, "
        "audits_contained = excluded.audits_contained, online_score = excluded.online_score, "
        "suspended_at = excluded.suspended_at, last_audit_at = excluded.last_audit_at",
        "bddddiiiiiidii", NID(id), r->audit_alpha, r->audit_beta, r->unknown_alpha, r->unknown_beta,
        r->audits_total, r->audits_success, r->audits_failed, r->audits_offline, r->audits_unknown,
        r->audits_contained, r->online_score, r->suspended_at, r->last_audit_at);
}

/* Adds the outcome to its online window and recomputes the online score over the tracking
 * period (1.0 until online_windows_min windows exist). */
static ts_err online_update(struct ts_db_conn *c, const struct sat_reputation_config *cfg,
                            const uint8_t *id, bool online, int64_t now, double *score)
{
    int64_t w = cfg->online_window_s > 0 ? now - now % cfg->online_window_s : now;
    ts_err err = sat_sql_exec(c, NULL,
                              "INSERT INTO online_windows (node_id, window_start, total, online) "
                              "VALUES ($1, $2, 1, $3) ON CONFLICT (node_id, window_start) DO "
                              "UPDATE SET total = online_windows.total + 1, "
                              "online = online_windows.online + excluded.online",
                              "bii", NID(id), w, (int64_t)(online ? 1 : 0));
    struct ts_db_stmt *st = NULL;
    bool row = false;
    if (err == TS_OK) {
        err = sat_sql_prepare(c,
                              "SELECT COUNT(*), SUM(online * 1.0 / total) FROM online_windows "
                              "WHERE node_id = $1 AND window_start >= $2",
                              &st, "bi", NID(id), now - cfg->online_tracking_s);
    }
    if (err == TS_OK) {
        err = ts_db_stmt_step(st, &row);
    }
    *score = 1.0;
    if (err == TS_OK && row) {
        int64_t windows = ts_db_stmt_column_int64(st, 0);
        if (windows > 0 && windows >= cfg->online_windows_min) {
            *score = ts_db_stmt_column_double(st, 1) / (double)windows;
        }
    }
    ts_db_stmt_free(st);
    return err;
}

struct record_ctx {
    const struct sat_reputation_config *cfg;
    const uint8_t *id;
    enum sat_audit_outcome outcome;
    int64_t now;
    struct sat_reputation r;
};

static ts_err mirror_nodes(struct ts_db_conn *c, struct record_ctx *rc, int64_t dq_before)
{
    const struct sat_reputation *r = &rc->r;
    if (dq_before == 0 && r->disqualified_at != 0) {
        ts_log_warn(COMPONENT, "node disqualified score=%.4f failed=%lld",
                    sat_reputation_audit_score(r), (long long)r->audits_failed);
    }
    const char *column = NULL;
    if (rc->outcome == SAT_AUDIT_OFFLINE) {
        column = "last_contact_failure";
    } else if (rc->outcome == SAT_AUDIT_SUCCESS || rc->outcome == SAT_AUDIT_FAILURE) {
        column = "last_contact_success"; /* it answered: it is online */
    }
    if (column == NULL) {
        return sat_sql_exec(c, NULL,
                            "UPDATE nodes SET audit_alpha = $1, audit_beta = $2, "
                            "disqualified_at = $3, vetted_at = $4 WHERE id = $5",
                            "ddiib", r->audit_alpha, r->audit_beta, r->disqualified_at,
                            r->vetted_at, NID(rc->id));
    }
    char sql[256];
    snprintf(sql, sizeof sql,
             "UPDATE nodes SET audit_alpha = $1, audit_beta = $2, disqualified_at = $3, "
             "vetted_at = $4, %s = $6 WHERE id = $5",
             column);
    return sat_sql_exec(c, NULL, sql, "ddiibi", r->audit_alpha, r->audit_beta, r->disqualified_at,
                        r->vetted_at, NID(rc->id), rc->now);
}

static ts_err record_fn(struct ts_db_conn *c, void *ctx)
{
    struct record_ctx *rc = ctx;
    struct ts_db_stmt *st = NULL;
    bool row = false;
    int64_t created = 0;
    ts_err err =
        sat_sql_prepare(c, "SELECT created_at FROM nodes WHERE id = $1", &st, "b", NID(rc->id));
    if (err == TS_OK) {
        err = ts_db_stmt_step(st, &row);
    }
    if (err == TS_OK && !row) {
        err = TS_ERR_NOT_FOUND;
    }
    if (err == TS_OK) {
        created = ts_db_stmt_column_int64(st, 0);
    }
    ts_db_stmt_free(st);
    if (err == TS_OK) {
        err = rep_read(c, rc->cfg, rc->id, &rc->r, NULL);
    }
    int64_t dq_before = rc->r.disqualified_at;
    if (err == TS_OK && rc->outcome != SAT_AUDIT_CONTAINED) {
        err = online_update(c, rc->cfg, rc->id, rc->outcome != SAT_AUDIT_OFFLINE, rc->now,
                            &rc->r.online_score);
    }
    if (err == TS_OK) {
        sat_reputation_apply(&rc->r, rc->cfg, rc->outcome, rc->now, created);
        err = rep_write(c, rc->id, &rc->r);
    }
    if (err == TS_OK) {
        err = mirror_nodes(c, rc, dq_before);
    }
    return err;
}

ts_err sat_reputation_record(struct ts_db *db, const struct sat_reputation_config *c,
                             const uint8_t node_id[TS_NODE_ID_SIZE], enum sat_audit_outcome outcome,
                             int64_t now_s, struct sat_reputation *out)
{
    struct record_ctx rc = {.cfg = c, .id = node_id, .outcome = outcome, .now = now_s};
    ts_err err = ts_db_tx(db, record_fn, &rc);
    if (err == TS_OK && out != NULL) {
        *out = rc.r;
    }
    return err;
}

struct get_ctx {
    const struct sat_reputation_config *cfg;
    const uint8_t *id;
    struct sat_reputation *r;
    bool found;
};

static ts_err get_fn(struct ts_db_conn *c, void *ctx)
{
    struct get_ctx *g = ctx;
    return rep_read(c, g->cfg, g->id, g->r, &g->found);
}

ts_err sat_reputation_get(struct ts_db *db, const struct sat_reputation_config *c,
                          const uint8_t node_id[TS_NODE_ID_SIZE], struct sat_reputation *r,
                          bool *found)
{
    struct get_ctx g = {.cfg = c, .id = node_id, .r = r};
    ts_err err = ts_db_tx_read(db, get_fn, &g);
    *found = err == TS_OK && g.found;
    return err;
}

struct sweep_ctx {
    int64_t cutoff, now, count;
};

static ts_err sweep_fn(struct ts_db_conn *c, void *ctx)
{
    struct sweep_ctx *s = ctx;
    return sat_sql_exec(c, &s->count,
                        "UPDATE nodes SET disqualified_at = $1 WHERE disqualified_at = 0 AND "
                        "last_contact_success < $2 AND created_at < $2",
                        "ii", s->now, s->cutoff);
}

ts_err sat_reputation_absence_sweep(struct ts_db *db, const struct sat_reputation_config *c,
                                    int64_t now_s, int64_t *count)
{
    struct sweep_ctx s = {.cutoff = now_s - c->absence_dq_s, .now = now_s};
    *count = 0;
    if (c->absence_dq_s <= 0) {
        return TS_OK;
    }
    ts_err err = ts_db_tx(db, sweep_fn, &s);
    if (err == TS_OK && s.count > 0) {
        ts_log_warn(COMPONENT, "disqualified absent nodes count=%lld absent_s=%lld",
                    (long long)s.count, (long long)c->absence_dq_s);
    }
    *count = s.count;
    return err;
}
