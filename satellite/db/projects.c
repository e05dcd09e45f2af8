/* Projects, API key records and revoked tails. */
#include <string.h>

#include "base/base.h"
#include "satellite/db/satdb.h"
#include "satellite/db/sql.h"

ts_err sat_db_project_insert(struct ts_db_conn *c, const struct sat_project *p)
{
    return sat_sql_exec(
        c, NULL, "INSERT INTO projects (id, name, salt, created_at) VALUES ($1, $2, $3, $4)",
        "btbi", p->id, (size_t)SAT_ID_SIZE, p->name, p->salt, (size_t)SAT_SALT_SIZE, p->created_at);
}

ts_err sat_db_project_get(struct ts_db_conn *c, const uint8_t id[SAT_ID_SIZE],
                          struct sat_project *out)
{
    struct ts_db_stmt *st = NULL;
    bool row = false;
    memset(out, 0, sizeof *out);
    ts_err err = sat_sql_prepare(c, "SELECT id, name, salt, created_at FROM projects WHERE id = $1",
                                 &st, "b", id, (size_t)SAT_ID_SIZE);
    if (err == TS_OK) {
        err = ts_db_stmt_step(st, &row);
    }
    if (err == TS_OK && !row) {
        err = TS_ERR_NOT_FOUND;
    }
    if (err == TS_OK) {
        err = sat_sql_col_fixed(st, 0, out->id, SAT_ID_SIZE);
    }
    if (err == TS_OK) {
        err = sat_sql_col_text(st, 1, out->name, sizeof out->name);
    }
    if (err == TS_OK) {
        err = sat_sql_col_fixed(st, 2, out->salt, SAT_SALT_SIZE);
        out->created_at = ts_db_stmt_column_int64(st, 3);
    }
    ts_db_stmt_free(st);
    return err;
}

ts_err sat_db_api_key_insert(struct ts_db_conn *c, const struct sat_api_key *k)
{
    return sat_sql_exec(c, NULL,
                        "INSERT INTO api_keys (id, head, secret, project_id, name, created_at) "
                        "VALUES ($1, $2, $3, $4, $5, $6)",
                        "bbbbti", k->id, (size_t)SAT_ID_SIZE, k->head, (size_t)SAT_HEAD_SIZE,
                        k->secret, (size_t)SAT_SECRET_SIZE, k->project_id, (size_t)SAT_ID_SIZE,
                        k->name, k->created_at);
}

/* Columns: id, head, secret (or empty), project_id, name, created_at. */
static ts_err read_api_key(struct ts_db_stmt *st, bool with_secret, struct sat_api_key *out)
{
    ts_err err = sat_sql_col_fixed(st, 0, out->id, SAT_ID_SIZE);
    if (err == TS_OK) {
        err = sat_sql_col_fixed(st, 1, out->head, SAT_HEAD_SIZE);
    }
    if (err == TS_OK && with_secret) {
        err = sat_sql_col_fixed(st, 2, out->secret, SAT_SECRET_SIZE);
    }
    if (err == TS_OK) {
        err = sat_sql_col_fixed(st, 3, out->project_id, SAT_ID_SIZE);
    }
    if (err == TS_OK) {
        err = sat_sql_col_text(st, 4, out->name, sizeof out->name);
    }
    out->created_at = ts_db_stmt_column_int64(st, 5);
    return err;
}

ts_err sat_db_api_key_get_by_head(struct ts_db_conn *c, const uint8_t head[SAT_HEAD_SIZE],
                                  struct sat_api_key *out)
{
    struct ts_db_stmt *st = NULL;
    bool row = false;
    memset(out, 0, sizeof *out);
    ts_err err = sat_sql_prepare(c,
                                 "SELECT id, head, secret, project_id, name, created_at "
                                 "FROM api_keys WHERE head = $1",
                                 &st, "b", head, (size_t)SAT_HEAD_SIZE);
    if (err == TS_OK) {
        err = ts_db_stmt_step(st, &row);
    }
    if (err == TS_OK && !row) {
        err = TS_ERR_NOT_FOUND;
    }
    if (err == TS_OK) {
        err = read_api_key(st, true, out);
    }
    ts_db_stmt_free(st);
    if (err != TS_OK) {
        ts_wipe(out, sizeof *out);
    }
    return err;
}

ts_err sat_db_api_key_list(struct ts_db_conn *c, const uint8_t *project_id, sat_api_key_fn fn,
                           void *ctx)
{
    struct ts_db_stmt *st = NULL;
    ts_err err;
    if (project_id != NULL) {
        err = sat_sql_prepare(c,
                              "SELECT id, head, head, project_id, name, created_at FROM api_keys "
                              "WHERE project_id = $1 ORDER BY created_at, id",
                              &st, "b", project_id, (size_t)SAT_ID_SIZE);
    } else {
        err = sat_sql_prepare(c,
                              "SELECT id, head, head, project_id, name, created_at FROM api_keys "
                              "ORDER BY created_at, id",
                              &st, "");
    }
    bool row = true;
    while (err == TS_OK) {
        err = ts_db_stmt_step(st, &row);
        if (err != TS_OK || !row) {
            break;
        }
        struct sat_api_key k = {0};
        err = read_api_key(st, false, &k);
        if (err == TS_OK) {
            err = fn(&k, ctx);
        }
    }
    ts_db_stmt_free(st);
    return err;
}

ts_err sat_db_revocation_insert(struct ts_db_conn *c, const uint8_t tail[SAT_TAIL_SIZE],
                                const uint8_t api_key_id[SAT_ID_SIZE])
{
    ts_err err = sat_sql_exec(
        c, NULL,
        "INSERT INTO revocations (tail, api_key_id, created_at) VALUES ($1, $2, $3) "
        "ON CONFLICT (tail) DO NOTHING",
        "bbi", tail, (size_t)SAT_TAIL_SIZE, api_key_id, (size_t)SAT_ID_SIZE, ts_time_now_s());
    /* Cleared before the transaction commits too: a concurrent check may cache "not revoked"
     * until then, for at most the TTL. */
    sat_db_revocation_cache_clear();
    return err;
}

ts_err sat_db_revocation_any(struct ts_db_conn *c, const uint8_t *tails, size_t count,
                             bool *revoked)
{
    *revoked = false;
    const uint8_t *final_tail = count > 0 ? tails + (count - 1) * SAT_TAIL_SIZE : NULL;
    int64_t now = ts_time_now_s();
    if (final_tail != NULL && sat_db_revocation_cache_hit(final_tail, now)) {
        return TS_OK;
    }
    /* One indexed lookup per tail: keys carry a handful of caveats, and this keeps the SQL
     * static (no IN list built at run time). */
    for (size_t i = 0; i < count; i++) {
        struct ts_db_stmt *st = NULL;
        bool row = false;
        ts_err err = sat_sql_prepare(c, "SELECT 1 FROM revocations WHERE tail = $1", &st, "b",
                                     tails + i * SAT_TAIL_SIZE, (size_t)SAT_TAIL_SIZE);
        if (err == TS_OK) {
            err = ts_db_stmt_step(st, &row);
        }
        ts_db_stmt_free(st);
        if (err != TS_OK) {
            return err;
        }
        if (row) {
            *revoked = true;
            return TS_OK;
        }
    }
    if (final_tail != NULL) {
        sat_db_revocation_cache_store(final_tail, now);
    }
    return TS_OK;
}
