/*
 * Dead holders (ctest download.dead_holders): a real network (tessera-sim via planet, 10 nodes,
 * 4/6/8/10, durability threads off so the satellite cannot learn of the deaths). Right before
 * downloading, every holder of the object's segment but k is SIGKILLed: the satellite still
 * thinks they are online. The k live holders are made to look stale in the satellite's DB (last
 * contact 2 h ago: usable, but offered after fresh holders), so every first round of t = 5 limits
 * gets the dead holders and at most one live one. Every download must succeed through the retry
 * path (DownloadObject with exclude_node_ids / exclude_piece_nums), which the satellite's log
 * proves ran. With one more holder killed (k - 1 alive) it fails with NOT_ENOUGH_SHARES and a
 * detail naming how many holders failed. Usage: test_dead_holders sqlite|postgres <ip-base>
 */
#define _XOPEN_SOURCE 700
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "e2e.h"
#include "identity/identity.h"
#include "satellite/config.h"
#include "satellite/db/sql.h"
#include "satellite/metainfo/pieces.h"

#define NODES 10
#define K 4
#define DOWNLOADS 5

struct holders_query {
    uint32_t alias[NODES + 1]; /* planet index -> alias */
    struct sat_alias_piece pieces[TS_EC_SHARES_MAX];
    size_t count;
};

static ts_err holders_fn(struct ts_db_conn *c, void *ctx)
{
    struct holders_query *q = ctx;
    struct ts_db_stmt *st = NULL;
    bool row = false;
    ts_err err = sat_sql_prepare(
        c, "SELECT remote_alias_pieces FROM segments WHERE remote_alias_pieces IS NOT NULL", &st,
        "");
    if (err == TS_OK) {
        err = ts_db_stmt_step(st, &row);
    }
    if (err == TS_OK && !row) {
        err = TS_ERR_NOT_FOUND;
    }
    if (err == TS_OK) {
        size_t len = 0;
        const uint8_t *data = ts_db_stmt_column_blob(st, 0, &len);
        err = sat_alias_pieces_decode(data, len, q->pieces, TS_EC_SHARES_MAX, &q->count);
    }
    ts_db_stmt_free(st);
    for (int i = 1; err == TS_OK && i <= NODES; i++) {
        char path[PLANET_PATH_MAX + 64];
        struct ts_identity *id = NULL;
        snprintf(path, sizeof path, "%s/nodes/%d/identity", e2e_planet.dir, i);
        err = ts_identity_load(path, &id);
        if (err == TS_OK) {
            err = sat_sql_prepare(c, "SELECT alias FROM node_aliases WHERE node_id = $1", &st, "b",
                                  ts_identity_id(id)->bytes, (size_t)TS_NODE_ID_SIZE);
        }
        ts_identity_free(id);
        row = false;
        if (err == TS_OK) {
            err = ts_db_stmt_step(st, &row);
        }
        q->alias[i] = row ? (uint32_t)ts_db_stmt_column_int64(st, 0) : 0;
        ts_db_stmt_free(st);
        st = NULL;
    }
    return err;
}

/* Fills holders[] with the planet indexes of the segment's piece holders; returns their count. */
static int segment_holders(int holders[NODES])
{
    struct sat_config *cfg = calloc(1, sizeof *cfg);
    struct ts_db *db = NULL;
    struct holders_query q = {.count = 0};
    CHECK(cfg != NULL && sat_config_load(cfg, e2e_planet.sat_dir) == TS_OK, "satellite config");
    CHECK(ts_db_open(cfg->db_url, &db) == TS_OK, "open %s", cfg->db_url);
    CHECK(ts_db_tx_read(db, holders_fn, &q) == TS_OK, "piece holders query");
    ts_db_close(db);
    free(cfg);
    int count = 0;
    for (size_t p = 0; p < q.count; p++) {
        for (int i = 1; i <= NODES; i++) {
            if (q.alias[i] == q.pieces[p].alias && count < NODES) {
                holders[count++] = i;
            }
        }
    }
    CHECK(count == (int)q.count, "%zu pieces but %d known holders", q.count, count);
    return count;
}

struct stale_update {
    int64_t when;
    struct ts_node_id ids[NODES];
    int count;
};

static ts_err stale_fn(struct ts_db_conn *c, void *ctx)
{
    struct stale_update *u = ctx;
    ts_err err = TS_OK;
    for (int i = 0; err == TS_OK && i < u->count; i++) {
        int64_t n = 0;
        err = sat_sql_exec(c, &n, "UPDATE nodes SET last_contact_success = $1 WHERE id = $2", "ib",
                           u->when, u->ids[i].bytes, (size_t)TS_NODE_ID_SIZE);
        err = err == TS_OK && n != 1 ? TS_ERR_NOT_FOUND : err;
    }
    return err;
}

/* Makes the given planet nodes look stale to the satellite: last contact 2 h ago, still inside
 * the 4 h online window (usable), but no longer among the holders it offers first. */
static void make_stale(const int *nodes, int count)
{
    struct sat_config *cfg = calloc(1, sizeof *cfg);
    struct ts_db *db = NULL;
    struct stale_update u = {.when = e2e_now_s() - 7200, .count = count};
    for (int i = 0; i < count; i++) {
        char path[PLANET_PATH_MAX + 64];
        struct ts_identity *id = NULL;
        snprintf(path, sizeof path, "%s/nodes/%d/identity", e2e_planet.dir, nodes[i]);
        CHECK(ts_identity_load(path, &id) == TS_OK, "identity %s", path);
        u.ids[i] = *ts_identity_id(id);
        ts_identity_free(id);
    }
    CHECK(cfg != NULL && sat_config_load(cfg, e2e_planet.sat_dir) == TS_OK, "satellite config");
    CHECK(ts_db_open(cfg->db_url, &db) == TS_OK, "open %s", cfg->db_url);
    CHECK(ts_db_tx(db, stale_fn, &u) == TS_OK, "age the live holders");
    ts_db_close(db);
    free(cfg);
}

/* Retry rounds the satellite served (DownloadObject with exclusions, satellite/metainfo/read.c). */
static int retry_rounds_logged(void)
{
    return planet_log_count(&e2e_planet, "satellite.log", "download retry");
}

static void get_ok(struct ul_project *pr, const char *key, uint64_t offset, int64_t length,
                   uint64_t seed, uint64_t want)
{
    uint64_t got = 0;
    bool equal = false;
    ul_err err = e2e_get_verify(pr, "dead", key, offset, length, seed, &got, &equal);
    CHECK(err == UL_OK, "download %s [%llu +%lld]: %s (%s)", key, (unsigned long long)offset,
          (long long)length, ul_errname(err), ul_error_detail());
    CHECK(got == want && equal, "download %s: %llu bytes (want %llu), equal %d", key,
          (unsigned long long)got, (unsigned long long)want, equal);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test_dead_holders sqlite|postgres <ip-base>\n");
        return 2;
    }
    char name[64];
    snprintf(name, sizeof name, "download.dead_holders.%s", argv[1]);
    struct planet_opts o = {.test_name = name,
                            .nodes = NODES,
                            .postgres = strcmp(argv[1], "postgres") == 0,
                            .ip_base = (int)strtol(argv[2], NULL, 10),
                            .settings = {"durability.enabled=0", NULL}};
    CHECK(planet_start(&e2e_planet, &o) == 0, "the network did not start");
    struct ul_project *pr = e2e_open(e2e_planet.grant);
    CHECK_OK(ul_bucket_create(pr, "dead", NULL));
    const uint64_t size = 5 * MiB + 11;
    ul_err err = e2e_put(pr, "dead", "obj", size, 21, NULL, NULL);
    CHECK(err == UL_OK, "upload: %s (%s)", ul_errname(err), ul_error_detail());

    int holders[NODES];
    int count = segment_holders(holders);
    CHECK(count > K + 1, "only %d holders", count);
    for (int i = K; i < count; i++) {
        CHECK(planet_kill_node(&e2e_planet, holders[i], SIGKILL) == 0, "kill node %d", holders[i]);
    }
    /* The satellite offers fresh holders first: with the live ones looking stale, every first
     * round gets the dead ones (and at most one live one), so every download takes the retry
     * path, deterministically. */
    make_stale(holders, K);
    printf("segment on %d holders; killed %d, %d alive (k = %d) and stale\n", count, count - K, K,
           K);
    int rounds_before = retry_rounds_logged();
    for (int i = 0; i < DOWNLOADS; i++) {
        get_ok(pr, "obj", 0, -1, 21, size);
    }
    get_ok(pr, "obj", 2 * MiB + 5, 100000, 21, 100000);
    int rounds = retry_rounds_logged() - rounds_before;
    /* The first round of every download held at most one live holder: all retried. */
    CHECK(rounds >= DOWNLOADS + 1, "%d retry rounds logged for %d downloads", rounds,
          DOWNLOADS + 1);
    printf("%d downloads with %d dead holders: identical, %d retry rounds\n", DOWNLOADS + 1,
           count - K, rounds);

    CHECK(planet_kill_node(&e2e_planet, holders[0], SIGKILL) == 0, "kill node %d", holders[0]);
    uint64_t got = 0;
    bool equal = false;
    err = e2e_get_verify(pr, "dead", "obj", 0, -1, 21, &got, &equal);
    char want[96];
    snprintf(want, sizeof want, "%d piece holders failed", count - (K - 1));
    CHECK(err == UL_ERR_NOT_ENOUGH_SHARES && strstr(ul_error_detail(), want) != NULL,
          "k-1 alive: %s (%s), want NOT_ENOUGH_SHARES naming '%s'", ul_errname(err),
          ul_error_detail(), want);
    printf("k-1 alive: %s (%s)\n", ul_errname(err), ul_error_detail());
    ul_project_close(pr);
    return planet_stop(&e2e_planet) == 0 ? 0 : 1;
}
