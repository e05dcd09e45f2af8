/* Repair queue, lost segments, counters and the health histogram (see queue.h). */
#include <string.h>

#include "base/base.h"
#include "satellite/db/sql.h"
#include "satellite/repair/queue.h"

#define ID_ARG(p) (p), (size_t)SAT_ID_SIZE

ts_err sat_repair_queue_put(struct ts_db_conn *c, const uint8_t *stream_id, int64_t position,
                            int64_t healthy, int64_t now_s)
{
    return sat_sql_exec(c, NULL,
                        "INSERT INTO repair_queue (stream_id, position, healthy, inserted_at, "
                        "updated_at, attempted_at, attempts) VALUES ($1, $2, $3, $4, $4, 0, 0) "
                        "ON CONFLICT (stream_id, position) DO UPDATE SET healthy = "
                        "excluded.healthy, updated_at = excluded.updated_at",
                        "biii", ID_ARG(stream_id), position, healthy, now_s);
}

struct pop_ctx {
    int64_t now, retry;
    struct sat_repair_job *job;
    bool found;
};

static ts_err pop_fn(struct ts_db_conn *c, void *ctx)
{
    struct pop_ctx *p = ctx;
    struct ts_db_stmt *st = NULL;
    bool row = false;
    p->found = false;
    ts_err err = sat_sql_prepare(c,
                                 "SELECT stream_id, position, healthy, attempts FROM repair_queue "
                                 "WHERE attempted_at <= $1 ORDER BY healthy, inserted_at, "
                                 "stream_id, position LIMIT 1",
                                 &st, "i", p->now - p->retry);
    if (err == TS_OK) {
        err = ts_db_stmt_step(st, &row);
    }
    if (err == TS_OK && row) {
        err = sat_sql_col_fixed(st, 0, p->job->stream_id, SAT_ID_SIZE);
        p->job->position = ts_db_stmt_column_int64(st, 1);
        p->job->healthy = ts_db_stmt_column_int64(st, 2);
        p->job->attempts = ts_db_stmt_column_int64(st, 3) + 1;
        p->found = err == TS_OK;
    }
    ts_db_stmt_free(st);
    if (err == TS_OK && p->found) {
        err = sat_sql_exec(c, NULL,
                           "UPDATE repair_queue SET attempted_at = $1, attempts = attempts + 1 "
                           "WHERE stream_id = $2 AND position = $3",
                           "ibi", p->now, ID_ARG(p->job->stream_id), p->job->position);
    }
    return err;
}

ts_err sat_repair_queue_pop(struct ts_db *db, int64_t now_s, int64_t retry_s,
                            struct sat_repair_job *job, bool *found)
{
    struct pop_ctx p = {.now = now_s, .retry = retry_s, .job = job};
    ts_err err = ts_db_tx(db, pop_fn, &p);
    *found = err == TS_OK && p.found;
    return err;
}

struct key_ctx {
    const uint8_t *stream_id;
    int64_t position;
    int64_t before;
    int64_t affected;
};

static ts_err delete_fn(struct ts_db_conn *c, void *ctx)
{
    struct key_ctx *k = ctx;
    return sat_sql_exec(c, NULL, "DELETE FROM repair_queue WHERE stream_id = $1 AND position = $2",
                        "bi", ID_ARG(k->stream_id), k->position);
}

ts_err sat_repair_queue_delete(struct ts_db *db, const uint8_t *stream_id, int64_t position)
{
    struct key_ctx k = {.stream_id = stream_id, .position = position};
    return ts_db_tx(db, delete_fn, &k);
}

static ts_err clean_fn(struct ts_db_conn *c, void *ctx)
{
    struct key_ctx *k = ctx;
    return sat_sql_exec(c, &k->affected, "DELETE FROM repair_queue WHERE updated_at < $1", "i",
                        k->before);
}

ts_err sat_repair_queue_clean(struct ts_db *db, int64_t before, int64_t *removed)
{
    struct key_ctx k = {.before = before};
    ts_err err = ts_db_tx(db, clean_fn, &k);
    *removed = k.affected;
    return err;
}

static ts_err scalar_fn(struct ts_db_conn *c, const char *sql, const char *name, int64_t *out)
{
    struct ts_db_stmt *st = NULL;
    bool row = false;
    *out = 0;
    ts_err err =
        name != NULL ? sat_sql_prepare(c, sql, &st, "t", name) : sat_sql_prepare(c, sql, &st, "");
    if (err == TS_OK) {
        err = ts_db_stmt_step(st, &row);
    }
    if (err == TS_OK && row) {
        *out = ts_db_stmt_column_int64(st, 0);
    }
    ts_db_stmt_free(st);
    return err;
}

struct scalar_ctx {
    const char *sql, *name;
    int64_t value;
};

static ts_err scalar_tx(struct ts_db_conn *c, void *ctx)
{
    struct scalar_ctx *s = ctx;
    return scalar_fn(c, s->sql, s->name, &s->value);
}

ts_err sat_repair_queue_length(struct ts_db *db, int64_t *length)
{
    struct scalar_ctx s = {.sql = "SELECT COUNT(*) FROM repair_queue"};
    ts_err err = ts_db_tx_read(db, scalar_tx, &s);
    *length = s.value;
    return err;
}

ts_err sat_lost_segment_put(struct ts_db_conn *c, const uint8_t *stream_id, int64_t position,
                            int64_t retrievable, int64_t required, int64_t now_s)
{
    return sat_sql_exec(c, NULL,
                        "INSERT INTO lost_segments (stream_id, position, retrievable, required, "
                        "detected_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (stream_id, "
                        "position) DO UPDATE SET retrievable = excluded.retrievable",
                        "biiii", ID_ARG(stream_id), position, retrievable, required, now_s);
}

ts_err sat_counter_add_conn(struct ts_db_conn *c, const char *name, int64_t delta)
{
    return sat_sql_exec(c, NULL,
                        "INSERT INTO durability_counters (name, value) VALUES ($1, $2) ON "
                        "CONFLICT (name) DO UPDATE SET value = durability_counters.value + "
                        "excluded.value",
                        "ti", name, delta);
}

struct counter_ctx {
    const char *name;
    int64_t delta;
};

static ts_err counter_fn(struct ts_db_conn *c, void *ctx)
{
    struct counter_ctx *cc = ctx;
    return sat_counter_add_conn(c, cc->name, cc->delta);
}

ts_err sat_counter_add(struct ts_db *db, const char *name, int64_t delta)
{
    struct counter_ctx cc = {name, delta};
    return ts_db_tx(db, counter_fn, &cc);
}

ts_err sat_counter_get(struct ts_db *db, const char *name, int64_t *value)
{
    struct scalar_ctx s = {.sql = "SELECT value FROM durability_counters WHERE name = $1",
                           .name = name};
    ts_err err = ts_db_tx_read(db, scalar_tx, &s);
    *value = s.value;
    return err;
}

struct hist_ctx {
    const int64_t *counts;
    size_t len;
    int64_t pass;
};

static ts_err hist_fn(struct ts_db_conn *c, void *ctx)
{
    struct hist_ctx *h = ctx;
    ts_err err = sat_sql_exec(c, NULL, "DELETE FROM segment_health", "");
    for (size_t i = 0; err == TS_OK && i < h->len; i++) {
        if (h->counts[i] > 0) {
            err = sat_sql_exec(c, NULL,
                               "INSERT INTO segment_health (healthy, segments, pass) VALUES ($1, "
                               "$2, $3)",
                               "iii", (int64_t)i, h->counts[i], h->pass);
        }
    }
    return err;
}

ts_err sat_health_histogram_store(struct ts_db *db, const int64_t *counts, size_t len, int64_t pass)
{
    struct hist_ctx h = {counts, len, pass};
    return ts_db_tx(db, hist_fn, &h);
}
