/* The overlay's node table and node aliases (small integers standing for node IDs in segments). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/buf.h"
#include "satellite/db/satdb.h"
#include "satellite/db/sql.h"

#define NID_ARG(p) (p), (size_t)TS_NODE_ID_SIZE
#define NODE_COLS                                                                                  \
    "n.id, n.address, n.last_net, n.public_key, n.free_disk, n.version, n.wallet, n.email, "       \
    "n.last_contact_success, n.last_contact_failure, n.vetted_at, n.disqualified_at, "             \
    "n.exit_initiated_at, n.exit_finished_at, n.audit_alpha, n.audit_beta, n.created_at, a.alias"

static ts_err read_node(struct ts_db_stmt *st, struct sat_node *n)
{
    memset(n, 0, sizeof *n);
    ts_err err = sat_sql_col_fixed(st, 0, n->id, TS_NODE_ID_SIZE);
    if (err == TS_OK) {
        err = sat_sql_col_text(st, 1, n->address, sizeof n->address);
    }
    if (err == TS_OK) {
        err = sat_sql_col_text(st, 2, n->last_net, sizeof n->last_net);
    }
    if (err == TS_OK) {
        err = sat_sql_col_var(st, 3, n->public_key, sizeof n->public_key, &n->public_key_len);
    }
    n->free_disk = ts_db_stmt_column_int64(st, 4);
    if (err == TS_OK) {
        err = sat_sql_col_text(st, 5, n->version, sizeof n->version);
    }
    if (err == TS_OK) {
        err = sat_sql_col_text(st, 6, n->wallet, sizeof n->wallet);
    }
    if (err == TS_OK) {
        err = sat_sql_col_text(st, 7, n->email, sizeof n->email);
    }
    n->last_contact_success = ts_db_stmt_column_int64(st, 8);
    n->last_contact_failure = ts_db_stmt_column_int64(st, 9);
    n->vetted_at = ts_db_stmt_column_int64(st, 10);
    n->disqualified_at = ts_db_stmt_column_int64(st, 11);
    n->exit_initiated_at = ts_db_stmt_column_int64(st, 12);
    n->exit_finished_at = ts_db_stmt_column_int64(st, 13);
    n->audit_alpha = ts_db_stmt_column_double(st, 14);
    n->audit_beta = ts_db_stmt_column_double(st, 15);
    n->created_at = ts_db_stmt_column_int64(st, 16);
    n->alias = (uint32_t)ts_db_stmt_column_int64(st, 17);
    return err;
}

static ts_err ensure_alias(struct ts_db_conn *c, const uint8_t id[TS_NODE_ID_SIZE])
{
    return sat_sql_exec(c, NULL,
                        "INSERT INTO node_aliases (node_id, alias) "
                        "SELECT $1, (SELECT COALESCE(MAX(alias), 0) + 1 FROM node_aliases) "
                        "WHERE NOT EXISTS (SELECT 1 FROM node_aliases WHERE node_id = $1)",
                        "b", NID_ARG(id));
}

ts_err sat_db_node_checkin(struct ts_db_conn *c, const struct sat_node *n, bool ping_ok,
                           int64_t now)
{
    const char *sql_ok =
        "INSERT INTO nodes (id, address, last_net, public_key, free_disk, version, wallet, email, "
        "last_contact_success, last_contact_failure, vetted_at, disqualified_at, "
        "exit_initiated_at, exit_finished_at, audit_alpha, audit_beta, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, 0, 0, 0, 0, 1.0, 0.0, $9) "
        "ON CONFLICT (id) DO UPDATE SET address = excluded.address, last_net = excluded.last_net, "
        "public_key = excluded.public_key, free_disk = excluded.free_disk, "
        "version = excluded.version, wallet = excluded.wallet, email = excluded.email, "
        "last_contact_success = excluded.last_contact_success";
    const char *sql_fail =
        "INSERT INTO nodes (id, address, last_net, public_key, free_disk, version, wallet, email, "
        "last_contact_success, last_contact_failure, vetted_at, disqualified_at, "
        "exit_initiated_at, exit_finished_at, audit_alpha, audit_beta, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, 0, 0, 0, 0, 1.0, 0.0, $9) "
        "ON CONFLICT (id) DO UPDATE SET address = excluded.address, last_net = excluded.last_net, "
        "public_key = excluded.public_key, free_disk = excluded.free_disk, "
        "version = excluded.version, wallet = excluded.wallet, email = excluded.email, "
        "last_contact_failure = excluded.last_contact_failure";
    ts_err err = sat_sql_exec(c, NULL, ping_ok ? sql_ok : sql_fail, "bttbittti", NID_ARG(n->id),
                              n->address, n->last_net, n->public_key, n->public_key_len,
                              n->free_disk, n->version, n->wallet, n->email, now);
    if (err == TS_OK) {
        err = ensure_alias(c, n->id);
    }
    return err;
}

ts_err sat_db_node_get(struct ts_db_conn *c, const uint8_t id[TS_NODE_ID_SIZE],
                       struct sat_node *out)
{
    struct ts_db_stmt *st = NULL;
    bool row = false;
    memset(out, 0, sizeof *out);
    ts_err err = sat_sql_prepare(c,
                                 "SELECT " NODE_COLS " FROM nodes n JOIN node_aliases a ON "
                                 "a.node_id = n.id WHERE n.id = $1",
                                 &st, "b", NID_ARG(id));
    if (err == TS_OK) {
        err = ts_db_stmt_step(st, &row);
    }
    if (err == TS_OK && !row) {
        err = TS_ERR_NOT_FOUND;
    }
    if (err == TS_OK) {
        err = read_node(st, out);
    }
    ts_db_stmt_free(st);
    return err;
}

static ts_err set_time(struct ts_db_conn *c, const char *sql, const uint8_t *id, int64_t at)
{
    int64_t n = 0;
    ts_err err = sat_sql_exec(c, &n, sql, "ib", at, NID_ARG(id));
    if (err == TS_OK && n == 0) {
        err = TS_ERR_NOT_FOUND;
    }
    return err;
}

ts_err sat_db_node_set_vetted(struct ts_db_conn *c, const uint8_t id[TS_NODE_ID_SIZE], int64_t at)
{
    return set_time(c, "UPDATE nodes SET vetted_at = $1 WHERE id = $2", id, at);
}

ts_err sat_db_node_set_disqualified(struct ts_db_conn *c, const uint8_t id[TS_NODE_ID_SIZE],
                                    int64_t at)
{
    return set_time(c, "UPDATE nodes SET disqualified_at = $1 WHERE id = $2", id, at);
}

ts_err sat_db_node_set_exit_initiated(struct ts_db_conn *c, const uint8_t id[TS_NODE_ID_SIZE],
                                      int64_t at)
{
    return set_time(c, "UPDATE nodes SET exit_initiated_at = $1 WHERE id = $2", id, at);
}

ts_err sat_db_nodes_selectable(struct ts_db_conn *c, int64_t online_since, int64_t free_min,
                               size_t max, struct sat_node_candidate **out, size_t *count)
{
    struct ts_db_stmt *st = NULL;
    size_t n = 0, cap = 64;
    struct sat_node_candidate *arr = calloc(cap, sizeof *arr);
    *out = NULL;
    *count = 0;
    if (arr == NULL) {
        return TS_ERR_NOMEM;
    }
    ts_err err = sat_sql_prepare(c,
                                 "SELECT n.id, n.address, n.last_net, n.vetted_at, a.alias FROM "
                                 "nodes n JOIN node_aliases a ON a.node_id = n.id WHERE "
                                 "n.last_contact_success >= $1 AND n.last_contact_success >= "
                                 "n.last_contact_failure AND n.disqualified_at = 0 AND "
                                 "n.exit_initiated_at = 0 AND n.free_disk >= $2 "
                                 /* suspended or contained nodes (satellite/reputation, audit) */
                                 "AND NOT EXISTS (SELECT 1 FROM reputation r WHERE r.node_id = "
                                 "n.id AND r.suspended_at > 0) AND NOT EXISTS (SELECT 1 FROM "
                                 "reverify_queue q WHERE q.node_id = n.id) LIMIT $3",
                                 &st, "iii", online_since, free_min, (int64_t)max);
    while (err == TS_OK) {
        bool row = false;
        err = ts_db_stmt_step(st, &row);
        if (err != TS_OK || !row) {
            break;
        }
        if (n == cap) {
            struct sat_node_candidate *grown = realloc(arr, 2 * cap * sizeof *arr);
            if (grown == NULL) {
                err = TS_ERR_NOMEM;
                break;
            }
            arr = grown;
            cap *= 2;
        }
        struct sat_node_candidate *cand = &arr[n];
        memset(cand, 0, sizeof *cand);
        err = sat_sql_col_fixed(st, 0, cand->id, TS_NODE_ID_SIZE);
        if (err == TS_OK) {
            err = sat_sql_col_text(st, 1, cand->address, sizeof cand->address);
        }
        if (err == TS_OK) {
            err = sat_sql_col_text(st, 2, cand->last_net, sizeof cand->last_net);
        }
        cand->vetted = ts_db_stmt_column_int64(st, 3) != 0;
        cand->alias = (uint32_t)ts_db_stmt_column_int64(st, 4);
        n++;
    }
    ts_db_stmt_free(st);
    if (err != TS_OK) {
        free(arr);
        return err;
    }
    *out = arr;
    *count = n;
    return TS_OK;
}

ts_err sat_db_node_alias_get(struct ts_db_conn *c, const uint8_t id[TS_NODE_ID_SIZE],
                             uint32_t *alias)
{
    struct ts_db_stmt *st = NULL;
    bool row = false;
    *alias = 0;
    ts_err err = sat_sql_prepare(c, "SELECT alias FROM node_aliases WHERE node_id = $1", &st, "b",
                                 NID_ARG(id));
    if (err == TS_OK) {
        err = ts_db_stmt_step(st, &row);
    }
    if (err == TS_OK && !row) {
        err = TS_ERR_NOT_FOUND;
    }
    if (err == TS_OK) {
        *alias = (uint32_t)ts_db_stmt_column_int64(st, 0);
    }
    ts_db_stmt_free(st);
    return err;
}

ts_err sat_db_nodes_by_alias(struct ts_db_conn *c, const uint32_t *aliases, size_t count,
                             struct sat_node *out)
{
    TS_ASSERT(count <= TS_EC_SHARES_MAX);
    struct ts_buf sql;
    struct ts_db_stmt *st = NULL;
    struct sat_node *tmp = malloc(sizeof *tmp);
    ts_buf_init(&sql, 8192);
    for (size_t i = 0; i < count; i++) {
        out[i].alias = 0;
    }
    ts_err err = tmp == NULL ? TS_ERR_NOMEM : TS_OK;
    if (err == TS_OK) {
        err = ts_buf_append_str(&sql, "SELECT " NODE_COLS " FROM node_aliases a JOIN nodes n ON "
                                      "n.id = a.node_id WHERE a.alias IN (0");
    }
    for (size_t i = 0; err == TS_OK && i < count; i++) {
        err = ts_buf_printf(&sql, ", $%zu", i + 1);
    }
    if (err == TS_OK) {
        err = ts_buf_append_str(&sql, ")");
    }
    if (err == TS_OK) {
        err = ts_db_stmt_prepare(c, (const char *)sql.data, &st);
    }
    for (size_t i = 0; err == TS_OK && i < count; i++) {
        err = ts_db_stmt_bind_int64(st, (int)i + 1, aliases[i]);
    }
    while (err == TS_OK) {
        bool row = false;
        err = ts_db_stmt_step(st, &row);
        if (err != TS_OK || !row) {
            break;
        }
        err = read_node(st, tmp);
        for (size_t i = 0; err == TS_OK && i < count; i++) {
            if (aliases[i] == tmp->alias) {
                out[i] = *tmp;
            }
        }
    }
    ts_db_stmt_free(st);
    ts_buf_release(&sql);
    free(tmp);
    return err;
}
