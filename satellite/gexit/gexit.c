/* Graceful exit on the satellite (see gexit.h). */
#include <errno.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "base/log.h"
#include "contact.pb-c.h"
#include "gexit.pb-c.h"
#include "identity/identity.h"
#include "satellite/db/satdb.h"
#include "satellite/gexit/gexit.h"
#include "satellite/overlay/overlay.h"

#define LOG "satellite.gexit"
#define PING_METHOD "/tessera.contact.Contact/PingNode"
/* Running exits one check pass handles (the rest wait for the next pass). */
#define CHECK_BATCH 1000

static const char SCHEMA_V1[] =
    "CREATE TABLE graceful_exits ("
    "  node_id BYTEA PRIMARY KEY,"
    "  state BIGINT NOT NULL,"
    "  initiated_at BIGINT NOT NULL,"
    "  completes_at BIGINT NOT NULL,"
    "  finished_at BIGINT NOT NULL,"
    "  checks_total BIGINT NOT NULL,"
    "  checks_online BIGINT NOT NULL,"
    "  reason TEXT NOT NULL);"
    "CREATE INDEX graceful_exits_state ON graceful_exits (state, completes_at);";

static const struct ts_db_migration MIGRATIONS[] = {
    {1, "graceful exits", SCHEMA_V1, NULL},
};

ts_err sat_gexit_migrate(struct ts_db *db)
{
    return ts_db_migrate(db, MIGRATIONS, TS_ARRAY_LEN(MIGRATIONS), "gexit");
}

/* ---- Configuration ---- */

void sat_gexit_config_defaults(struct sat_gexit_config *c)
{
    c->duration_s = 30 * 86400;
    c->node_age_min_s = 180 * 86400;
    c->interval_s = 3600;
    c->online_min = 0.8;
}

/* ---- Rows ---- */

struct sat_gexit {
    struct ts_db *db;
    struct ts_rpc_pool *pool;
    const struct sat_gexit_config *cfg;
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_bool stop;
    int64_t passes;
    struct sat_overlay *overlay; /* borrowed; NULL when unset */
};

static void status_score(struct sat_gexit_status *s)
{
    s->online_score =
        s->checks_total == 0 ? 1.0 : (double)s->checks_online / (double)s->checks_total;
}

/* Reads node_id's row; state NONE when there is none. */
static ts_err row_get(struct ts_db_conn *c, const uint8_t node_id[32], struct sat_gexit_status *out)
{
    struct ts_db_stmt *st = NULL;
    bool row = false;
    memset(out, 0, sizeof *out);
    ts_err err = ts_db_stmt_prepare(c,
                                    "SELECT state, initiated_at, completes_at, finished_at, "
                                    "checks_total, checks_online, reason FROM graceful_exits "
                                    "WHERE node_id = $1",
                                    &st);
    if (err == TS_OK) {
        err = ts_db_stmt_bind_blob(st, 1, node_id, 32);
    }
    if (err == TS_OK) {
        err = ts_db_stmt_step(st, &row);
    }
    if (err == TS_OK && row) {
        int64_t state = ts_db_stmt_column_int64(st, 0);
        out->state = state >= SAT_GEXIT_RUNNING && state <= SAT_GEXIT_FAILED
                         ? (enum sat_gexit_state)state
                         : SAT_GEXIT_FAILED;
        out->initiated_at_s = ts_db_stmt_column_int64(st, 1);
        out->completes_at_s = ts_db_stmt_column_int64(st, 2);
        out->finished_at_s = ts_db_stmt_column_int64(st, 3);
        out->checks_total = ts_db_stmt_column_int64(st, 4);
        out->checks_online = ts_db_stmt_column_int64(st, 5);
        const char *reason = ts_db_stmt_column_text(st, 6);
        snprintf(out->reason, sizeof out->reason, "%s", reason ? reason : "");
    }
    ts_db_stmt_free(st);
    status_score(out);
    return err;
}

static ts_err exec(struct ts_db_conn *c, const char *sql, const uint8_t node_id[32],
                   const int64_t *ints, int n_ints, const char *text)
{
    struct ts_db_stmt *st = NULL;
    bool row = false;
    ts_err err = ts_db_stmt_prepare(c, sql, &st);
    if (err == TS_OK) {
        err = ts_db_stmt_bind_blob(st, 1, node_id, 32);
    }
    for (int i = 0; err == TS_OK && i < n_ints; i++) {
        err = ts_db_stmt_bind_int64(st, i + 2, ints[i]);
    }
    if (err == TS_OK && text != NULL) {
        err = ts_db_stmt_bind_text(st, n_ints + 2, text);
    }
    if (err == TS_OK) {
        err = ts_db_stmt_step(st, &row);
    }
    ts_db_stmt_free(st);
    return err;
}

/* ---- Initiate and status ---- */

struct initiate_ctx {
    struct sat_gexit *g;
    const uint8_t *node_id;
    int64_t now_s;
    struct sat_gexit_status *out;
};

static ts_err initiate_fn(struct ts_db_conn *c, void *ctx)
{
    struct initiate_ctx *ic = ctx;
    struct sat_node *n = calloc(1, sizeof *n);
    ts_err err = n == NULL ? TS_ERR_NOMEM : row_get(c, ic->node_id, ic->out);
    if (err != TS_OK || ic->out->state != SAT_GEXIT_NONE) {
        free(n);
        return err; /* already exiting or exited: idempotent */
    }
    err = sat_db_node_get(c, ic->node_id, n);
    if (err == TS_OK && n->disqualified_at != 0) {
        snprintf(ic->out->reason, sizeof ic->out->reason, "the node is disqualified");
        err = TS_ERR_PERMISSION_DENIED;
    } else if (err == TS_OK && ic->now_s - n->created_at < ic->g->cfg->node_age_min_s) {
        snprintf(ic->out->reason, sizeof ic->out->reason,
                 "the node is too young to exit: %lld s old, %lld s required",
                 (long long)(ic->now_s - n->created_at), (long long)ic->g->cfg->node_age_min_s);
        err = TS_ERR_PERMISSION_DENIED;
    }
    free(n);
    int64_t ints[2] = {ic->now_s, ic->now_s + ic->g->cfg->duration_s};
    if (err == TS_OK) {
        err = exec(c,
                   "INSERT INTO graceful_exits (node_id, state, initiated_at, completes_at, "
                   "finished_at, checks_total, checks_online, reason) "
                   "VALUES ($1, 1, $2, $3, 0, 0, 0, '')",
                   ic->node_id, ints, 2, NULL);
    }
    if (err == TS_OK) {
        err = sat_db_node_set_exit_initiated(c, ic->node_id, ic->now_s);
    }
    if (err == TS_OK) {
        err = row_get(c, ic->node_id, ic->out);
    }
    return err;
}

ts_err sat_gexit_initiate(struct sat_gexit *g, const uint8_t node_id[32], int64_t now_s,
                          struct sat_gexit_status *out)
{
    struct initiate_ctx ic = {g, node_id, now_s, out};
    char reason[SAT_GEXIT_REASON_MAX + 1] = "";
    ts_err err = ts_db_tx(g->db, initiate_fn, &ic);
    if (err == TS_ERR_PERMISSION_DENIED) {
        memcpy(reason, out->reason, sizeof reason); /* the rollback keeps our text */
        memset(out, 0, sizeof *out);
        memcpy(out->reason, reason, sizeof reason);
    }
    return err;
}

struct status_ctx {
    const uint8_t *node_id;
    struct sat_gexit_status *out;
};

static ts_err status_fn(struct ts_db_conn *c, void *ctx)
{
    struct status_ctx *sc = ctx;
    return row_get(c, sc->node_id, sc->out);
}

ts_err sat_gexit_status_get(struct sat_gexit *g, const uint8_t node_id[32],
                            struct sat_gexit_status *out)
{
    struct status_ctx sc = {node_id, out};
    return ts_db_tx_read(g->db, status_fn, &sc);
}

/* ---- Checks ---- */

struct running_exit {
    uint8_t node_id[32];
    int64_t completes_at_s;
    char address[SAT_ADDRESS_MAX];
};

struct list_ctx {
    struct running_exit *out;
    size_t count;
};

static ts_err list_fn(struct ts_db_conn *c, void *ctx)
{
    struct list_ctx *lc = ctx;
    struct ts_db_stmt *st = NULL;
    bool row = false;
    lc->count = 0;
    ts_err err = ts_db_stmt_prepare(c,
                                    "SELECT g.node_id, g.completes_at, n.address FROM "
                                    "graceful_exits g JOIN nodes n ON n.id = g.node_id "
                                    "WHERE g.state = 1 ORDER BY g.completes_at LIMIT $1",
                                    &st);
    if (err == TS_OK) {
        err = ts_db_stmt_bind_int64(st, 1, CHECK_BATCH);
    }
    while (err == TS_OK && (err = ts_db_stmt_step(st, &row)) == TS_OK && row) {
        struct running_exit *e = &lc->out[lc->count];
        size_t len = 0;
        const uint8_t *id = ts_db_stmt_column_blob(st, 0, &len);
        const char *address = ts_db_stmt_column_text(st, 2);
        if (len != 32 || lc->count >= CHECK_BATCH) {
            err = TS_ERR_MALFORMED;
            break;
        }
        memcpy(e->node_id, id, 32);
        e->completes_at_s = ts_db_stmt_column_int64(st, 1);
        snprintf(e->address, sizeof e->address, "%s", address ? address : "");
        lc->count++;
    }
    ts_db_stmt_free(st);
    return err;
}

static bool ping(struct sat_gexit *g, const struct running_exit *e)
{
    char id[TS_NODE_ID_TEXT_MAX], text[TS_NODE_URL_MAX + TS_NODE_ID_TEXT_MAX];
    char msg[TS_RPC_ERROR_MESSAGE_MAX];
    struct ts_node_id nid;
    struct ts_node_url url;
    memcpy(nid.bytes, e->node_id, 32);
    if (ts_node_id_to_string(&nid, id, sizeof id) != TS_OK) {
        return false;
    }
    snprintf(text, sizeof text, "%s@%s", id, e->address);
    if (ts_node_url_parse(text, &url) != TS_OK) {
        return false;
    }
    Tessera__Contact__PingNodeRequest req = TESSERA__CONTACT__PING_NODE_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    ts_err err = ts_rpc_call(g->pool, &url, PING_METHOD, &req.base,
                             &tessera__contact__ping_node_response__descriptor, &resp, msg,
                             sizeof msg);
    if (resp != NULL) {
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    return err == TS_OK;
}

struct judge_ctx {
    struct sat_gexit *g;
    const struct running_exit *e;
    bool online;
    int64_t now_s;
    bool finished;
};

static ts_err judge_fn(struct ts_db_conn *c, void *ctx)
{
    struct judge_ctx *jc = ctx;
    int64_t online = jc->online ? 1 : 0;
    jc->finished = false;
    ts_err err = exec(c,
                      "UPDATE graceful_exits SET checks_total = checks_total + 1, "
                      "checks_online = checks_online + $2 WHERE node_id = $1 AND state = 1",
                      jc->e->node_id, &online, 1, NULL);
    struct sat_gexit_status st;
    if (err == TS_OK) {
        err = row_get(c, jc->e->node_id, &st);
    }
    if (err != TS_OK || st.state != SAT_GEXIT_RUNNING || jc->now_s < st.completes_at_s) {
        return err;
    }
    bool ok = st.online_score >= jc->g->cfg->online_min;
    char reason[SAT_GEXIT_REASON_MAX + 1] = "";
    if (!ok) {
        snprintf(reason, sizeof reason, "online score %.3f below the required %.3f",
                 st.online_score, jc->g->cfg->online_min);
    }
    int64_t ints[2] = {ok ? SAT_GEXIT_SUCCEEDED : SAT_GEXIT_FAILED, jc->now_s};
    err = exec(c, "UPDATE graceful_exits SET state = $2, finished_at = $3, reason = $4 "
                  "WHERE node_id = $1", jc->e->node_id, ints, 2, reason);
    if (err == TS_OK) {
        err = exec(c, "UPDATE nodes SET exit_finished_at = $2 WHERE id = $1", jc->e->node_id,
                   &jc->now_s, 1, NULL);
    }
    jc->finished = err == TS_OK;
    if (jc->finished) {
        ts_log_info(LOG, "graceful exit %s online_score=%.3f checks=%lld",
                    ok ? "succeeded" : "failed", st.online_score, (long long)st.checks_total);
    }
    return err;
}

ts_err sat_gexit_check(struct sat_gexit *g, int64_t now_s, int64_t *finished)
{
    struct list_ctx lc = {calloc(CHECK_BATCH, sizeof(struct running_exit)), 0};
    int64_t done = 0;
    ts_err err = lc.out == NULL ? TS_ERR_NOMEM : ts_db_tx_read(g->db, list_fn, &lc);
    for (size_t i = 0; err == TS_OK && i < lc.count && !atomic_load(&g->stop); i++) {
        struct judge_ctx jc = {g, &lc.out[i], ping(g, &lc.out[i]), now_s, false};
        err = ts_db_tx(g->db, judge_fn, &jc);
        done += jc.finished;
    }
    free(lc.out);
    if (finished != NULL) {
        *finished = done;
    }
    return err;
}

/* ---- Thread ---- */

static void *check_thread(void *arg)
{
    struct sat_gexit *g = arg;
    while (!atomic_load(&g->stop)) {
        ts_err err = sat_gexit_check(g, ts_time_now_s(), NULL);
        if (err != TS_OK) {
            ts_log_warn(LOG, "exit check failed err=%s", ts_errname(err));
        }
        pthread_mutex_lock(&g->mu);
        g->passes++;
        struct timespec deadline;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += g->cfg->interval_s;
        while (!atomic_load(&g->stop) &&
               pthread_cond_timedwait(&g->cv, &g->mu, &deadline) != ETIMEDOUT) {
        }
        pthread_mutex_unlock(&g->mu);
    }
    return NULL;
}

ts_err sat_gexit_new(struct ts_db *db, struct ts_rpc_pool *pool, const struct sat_gexit_config *cfg,
                     struct sat_gexit **out)
{
    *out = NULL;
    ts_err err = sat_gexit_migrate(db);
    if (err != TS_OK) {
        return err;
    }
    struct sat_gexit *g = calloc(1, sizeof *g);
    if (g == NULL) {
        return TS_ERR_NOMEM;
    }
    g->db = db;
    g->pool = pool;
    g->cfg = cfg;
    atomic_init(&g->stop, false);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&g->mu, NULL);
    *out = g;
    return TS_OK;
}

ts_err sat_gexit_start_loop(struct sat_gexit *g)
{
    if (pthread_create(&g->thread, NULL, check_thread, g) != 0) {
        return TS_ERR_NOMEM;
    }
    g->thread_started = true;
    return TS_OK;
}

void sat_gexit_free(struct sat_gexit *g)
{
    if (g == NULL) {
        return;
    }
    pthread_mutex_lock(&g->mu);
    atomic_store(&g->stop, true);
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    if (g->thread_started) {
        pthread_join(g->thread, NULL);
    }
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

int64_t sat_gexit_passes(struct sat_gexit *g)
{
    pthread_mutex_lock(&g->mu);
    int64_t p = g->passes;
    pthread_mutex_unlock(&g->mu);
    return p;
}

void sat_gexit_set_overlay(struct sat_gexit *g, struct sat_overlay *ov)
{
    g->overlay = ov;
}

/* ---- RPC ---- */

static ts_err reply(struct ts_rpc_stream *s, const struct sat_gexit_status *st)
{
    Tessera__Gexit__ExitStatus resp = TESSERA__GEXIT__EXIT_STATUS__INIT;
    resp.state = (Tessera__Gexit__ExitState)st->state;
    resp.initiated_at_s = st->initiated_at_s;
    resp.completes_at_s = st->completes_at_s;
    resp.finished_at_s = st->finished_at_s;
    resp.online_score = st->online_score;
    resp.reason = (char *)st->reason;
    return ts_rpc_stream_send(s, &resp.base);
}

static ts_err handle(struct ts_rpc_stream *s, struct sat_gexit *g, bool initiate)
{
    ProtobufCMessage *in = NULL;
    const ProtobufCMessageDescriptor *desc =
        initiate ? &tessera__gexit__initiate_exit_request__descriptor
                 : &tessera__gexit__exit_status_request__descriptor;
    ts_err err = ts_rpc_stream_recv(s, desc, &in);
    if (err != TS_OK) {
        return err == TS_ERR_END_OF_STREAM ? TS_ERR_PROTOCOL : err;
    }
    protobuf_c_message_free_unpacked(in, NULL);
    const uint8_t *node = ts_rpc_stream_peer(s)->id.bytes;
    struct sat_gexit_status st;
    err = initiate ? sat_gexit_initiate(g, node, ts_time_now_s(), &st)
                   : sat_gexit_status_get(g, node, &st);
    if (initiate && err == TS_OK && g->overlay != NULL) {
        sat_overlay_invalidate(g->overlay);
    }
    if (initiate) {
        ts_log_info(LOG, "exit requested err=%s state=%d%s%s", ts_errname(err), (int)st.state,
                    st.reason[0] ? " reason=" : "", st.reason);
    }
    if (err != TS_OK) {
        if (st.reason[0] != 0 && ts_rpc_stream_send_error(s, err, st.reason) != TS_OK) {
            ts_log_debug(LOG, "could not send the refusal");
        }
        return err;
    }
    return reply(s, &st);
}

static ts_err h_initiate(struct ts_rpc_stream *s, void *ctx)
{
    return handle(s, ctx, true);
}

static ts_err h_status(struct ts_rpc_stream *s, void *ctx)
{
    return handle(s, ctx, false);
}

ts_err sat_gexit_register(struct ts_rpc_server *srv, struct sat_gexit *g)
{
    ts_err err = ts_rpc_server_register(srv, SAT_GEXIT_METHOD_INITIATE, h_initiate, g);
    if (err == TS_OK) {
        err = ts_rpc_server_register(srv, SAT_GEXIT_METHOD_STATUS, h_status, g);
    }
    return err;
}
