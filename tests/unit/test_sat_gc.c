/* Unit tests for the satellite's garbage collection builder (every piece a node should hold is in
 * its filter; unusable passes build nothing; ineligible nodes get no filter) and for graceful
 * exit (refusals, idempotence, online checks, success and failure after the duration). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "satellite/config.h"
#include "bloom/bloom.h"
#include "db/db.h"
#include "identity/identity.h"
#include "orders/orders.h"
#include "rpc/rpc.h"
#include "satellite/db/satdb.h"
#include "satellite/gc/gc.h"
#include "satellite/gexit/gexit.h"

#define NODES 6
#define SEGMENTS 300
#define NOW 1700000000

static struct sat_loop_node snapshot[NODES + 1];

static void make_snapshot(struct sat_loop_nodes *nodes)
{
    memset(snapshot, 0, sizeof snapshot);
    for (uint32_t a = 1; a <= NODES; a++) {
        snapshot[a].alias = a;
        memset(snapshot[a].id, (int)a, TS_NODE_ID_SIZE);
        snprintf(snapshot[a].address, sizeof snapshot[a].address, "127.0.0.%u:1000", a);
        snapshot[a].last_contact_success = NOW - 60;
    }
    snapshot[5].disqualified_at = NOW - 10;        /* disqualified: no filter */
    snapshot[6].last_contact_success = NOW - 86400; /* offline: no filter */
    nodes->nodes = snapshot;
    nodes->count = NODES + 1;
}

static void make_segment(struct sat_loop_segment *s, int i)
{
    memset(s, 0, sizeof *s);
    memset(s->root_piece_id, 0, 32);
    memcpy(s->root_piece_id, &i, sizeof i);
    s->position = i;
    /* Pieces 0..3 on aliases (i % 4) + 1 ..; alias 4 holds nothing in odd segments. */
    s->piece_count = 0;
    for (uint32_t k = 0; k < 4; k++) {
        uint32_t alias = (uint32_t)((i + (int)k) % 6) + 1;
        if (alias == 4 && i % 2 == 1) {
            continue;
        }
        s->pieces[s->piece_count].piece_num = k;
        s->pieces[s->piece_count].alias = alias;
        s->piece_count++;
    }
}

static void run_pass(struct sat_loop_observer *obs, struct sat_loop_nodes *nodes, int segments,
                     bool complete)
{
    assert_int_equal(obs->begin(obs->ctx, nodes, NOW), TS_OK);
    for (int i = 0; i < segments; i++) {
        struct sat_loop_segment s;
        make_segment(&s, i);
        assert_int_equal(obs->segment(obs->ctx, &s), TS_OK);
    }
    obs->end(obs->ctx, complete, 1);
}

static const struct sat_gc_filter *find(const struct sat_gc_filter *fs, size_t count, uint32_t a)
{
    for (size_t i = 0; i < count; i++) {
        if (fs[i].node_id[0] == a) {
            return &fs[i];
        }
    }
    return NULL;
}

static void test_builder_filters_hold_every_piece(void **state)
{
    (void)state;
    struct sat_gc_config cfg;
    sat_gc_config_defaults(&cfg);
    struct sat_gc_builder *b = NULL;
    assert_int_equal(sat_gc_builder_new(&cfg, &b), TS_OK);
    struct sat_loop_observer obs;
    sat_gc_builder_observer(b, &obs);
    struct sat_loop_nodes nodes;
    make_snapshot(&nodes);
    struct sat_gc_filter *fs = NULL;
    size_t count = 0;
    int64_t created = 0;

    /* The first pass after start may have resumed a cursor: it builds nothing. */
    run_pass(&obs, &nodes, SEGMENTS, true);
    assert_int_equal(sat_gc_builder_take(b, &fs, &count, &created), TS_ERR_NOT_FOUND);
    /* The next pass starts fresh: filters for the 4 eligible nodes. */
    run_pass(&obs, &nodes, SEGMENTS, true);
    assert_int_equal(sat_gc_builder_take(b, &fs, &count, &created), TS_OK);
    assert_int_equal(created, NOW);
    assert_int_equal(count, 4);
    assert_null(find(fs, count, 5));
    assert_null(find(fs, count, 6));
    int64_t expected[NODES + 1] = {0};
    for (int i = 0; i < SEGMENTS; i++) {
        struct sat_loop_segment s;
        make_segment(&s, i);
        for (size_t k = 0; k < s.piece_count; k++) {
            uint32_t a = s.pieces[k].alias;
            const struct sat_gc_filter *f = find(fs, count, a);
            if (a >= 5) {
                continue;
            }
            struct ts_node_id nid;
            memcpy(nid.bytes, snapshot[a].id, 32);
            uint8_t id[32];
            assert_int_equal(ts_piece_id_derive(s.root_piece_id, &nid, s.pieces[k].piece_num, id),
                             TS_OK);
            assert_true(ts_bloom_contains(f->filter, id)); /* never a false negative */
            expected[a]++;
        }
    }
    for (uint32_t a = 1; a <= 4; a++) {
        const struct sat_gc_filter *f = find(fs, count, a);
        assert_int_equal(f->pieces, expected[a]);
        assert_string_equal(f->address, snapshot[a].address);
        assert_int_equal(ts_bloom_hash_count(f->filter), 4);
    }
    sat_gc_filters_free(fs, count);
    /* Taken once only. */
    assert_int_equal(sat_gc_builder_take(b, &fs, &count, &created), TS_ERR_NOT_FOUND);
    /* A pass that stopped early builds nothing, and the one after it is a resumed pass. */
    run_pass(&obs, &nodes, SEGMENTS / 2, false);
    assert_int_equal(sat_gc_builder_take(b, &fs, &count, &created), TS_ERR_NOT_FOUND);
    run_pass(&obs, &nodes, SEGMENTS, true);
    assert_int_equal(sat_gc_builder_take(b, &fs, &count, &created), TS_ERR_NOT_FOUND);
    /* Over pieces_max: abandoned. */
    cfg.pieces_max = 10;
    run_pass(&obs, &nodes, SEGMENTS, true);
    assert_int_equal(sat_gc_builder_take(b, &fs, &count, &created), TS_ERR_NOT_FOUND);
    cfg.pieces_max = 1000000;
    run_pass(&obs, &nodes, SEGMENTS, true);
    run_pass(&obs, &nodes, SEGMENTS, true);
    assert_int_equal(sat_gc_builder_take(b, &fs, &count, &created), TS_OK);
    sat_gc_filters_free(fs, count);
    sat_gc_builder_free(b);
    sat_gc_builder_free(NULL);
}

static void test_gc_config_keys(void **state)
{
    (void)state;
    struct sat_config *cfg = calloc(1, sizeof *cfg);
    sat_config_defaults(cfg, "/tmp/x");
    assert_true(cfg->gc.fpr == 0.1);
    assert_int_equal(cfg->gc.interval_s, 86400);
    const char text[] = "gc.fpr = 0.05\ngc.interval_s = 7m\ngc.filter_size_max = 1MiB\n";
    assert_int_equal(sat_config_parse(cfg, text, strlen(text)), TS_OK);
    assert_true(cfg->gc.fpr == 0.05);
    assert_int_equal(cfg->gc.interval_s, 420);
    assert_int_equal(cfg->gc.filter_size_max, 1 << 20);
    assert_int_equal(sat_config_set(cfg, "gc.fpr", "1.5"), TS_ERR_CONFIG);
    assert_int_equal(sat_config_set(cfg, "gc.interval_s", "0"), TS_ERR_CONFIG);
    assert_int_equal(sat_config_set(cfg, "gc.filter_size_max", "4MiB"), TS_ERR_CONFIG);
    assert_true(cfg->gc.fpr == 0.05);
    free(cfg);
}

/* ---- Graceful exit ---- */

struct gx {
    char dir[64];
    struct ts_db *db;
    struct ts_identity *id;
    struct ts_rpc_pool *pool;
    struct sat_gexit_config cfg;
    struct sat_gexit *g;
};

static ts_err checkin_fn(struct ts_db_conn *c, void *ctx)
{
    const struct sat_node *n = ctx;
    return sat_db_node_checkin(c, n, true, ts_time_now_s());
}

static void add_node(struct gx *x, uint8_t tag, const char *address)
{
    struct sat_node n;
    memset(&n, 0, sizeof n);
    memset(n.id, tag, sizeof n.id);
    snprintf(n.address, sizeof n.address, "%s", address);
    snprintf(n.last_net, sizeof n.last_net, "127.0.0");
    n.public_key_len = 1;
    assert_int_equal(ts_db_tx(x->db, checkin_fn, &n), TS_OK);
}

static int gx_setup(void **state)
{
    struct gx *x = calloc(1, sizeof *x);
    char url[128];
    snprintf(x->dir, sizeof x->dir, "/tmp/ts-sat-gexit-XXXXXX");
    assert_non_null(mkdtemp(x->dir));
    snprintf(url, sizeof url, "sqlite://%s/sat.db", x->dir);
    assert_int_equal(ts_db_open(url, &x->db), TS_OK);
    assert_int_equal(sat_db_migrate(x->db), TS_OK);
    assert_int_equal(ts_identity_create_ephemeral(&x->id), TS_OK);
    struct ts_rpc_pool_opts po = {.dial_timeout_ms = 2000, .io_timeout_ms = 2000};
    assert_int_equal(ts_rpc_pool_new(x->id, &po, &x->pool), TS_OK);
    sat_gexit_config_defaults(&x->cfg);
    x->cfg.node_age_min_s = 0;
    x->cfg.duration_s = 100;
    assert_int_equal(sat_gexit_new(x->db, x->pool, &x->cfg, &x->g), TS_OK);
    *state = x;
    return 0;
}

static int gx_teardown(void **state)
{
    struct gx *x = *state;
    char cmd[128];
    sat_gexit_free(x->g);
    ts_rpc_pool_free(x->pool);
    ts_identity_free(x->id);
    ts_db_close(x->db);
    snprintf(cmd, sizeof cmd, "rm -rf %s", x->dir);
    assert_int_equal(system(cmd), 0);
    free(x);
    return 0;
}

static ts_err get_node_fn(struct ts_db_conn *c, void *ctx)
{
    struct sat_node *n = ctx;
    uint8_t id[TS_NODE_ID_SIZE];
    memcpy(id, n->id, sizeof id); /* the lookup clears its output first */
    return sat_db_node_get(c, id, n);
}

static void test_gexit_lifecycle(void **state)
{
    struct gx *x = *state;
    uint8_t a[32], b[32], unknown[32];
    memset(a, 0xa1, 32);
    memset(b, 0xb2, 32);
    memset(unknown, 0x77, 32);
    add_node(x, 0xa1, "127.0.0.1:1"); /* nothing listens: every online check fails */
    add_node(x, 0xb2, "127.0.0.1:1");
    int64_t now = ts_time_now_s();
    struct sat_gexit_status st;
    assert_int_equal(sat_gexit_status_get(x->g, a, &st), TS_OK);
    assert_int_equal(st.state, SAT_GEXIT_NONE);
    assert_int_equal(sat_gexit_initiate(x->g, unknown, now, &st), TS_ERR_NOT_FOUND);
    /* Too young. */
    x->cfg.node_age_min_s = 3600;
    assert_int_equal(sat_gexit_initiate(x->g, a, now, &st), TS_ERR_PERMISSION_DENIED);
    assert_non_null(strstr(st.reason, "too young"));
    assert_int_equal(sat_gexit_status_get(x->g, a, &st), TS_OK);
    assert_int_equal(st.state, SAT_GEXIT_NONE);
    x->cfg.node_age_min_s = 0;
    /* Started: recorded in both tables; a second call changes nothing. */
    assert_int_equal(sat_gexit_initiate(x->g, a, now, &st), TS_OK);
    assert_int_equal(st.state, SAT_GEXIT_RUNNING);
    assert_int_equal(st.initiated_at_s, now);
    assert_int_equal(st.completes_at_s, now + 100);
    assert_int_equal(sat_gexit_initiate(x->g, a, now + 50, &st), TS_OK);
    assert_int_equal(st.initiated_at_s, now);
    struct sat_node n;
    memcpy(n.id, a, 32);
    assert_int_equal(ts_db_tx_read(x->db, get_node_fn, &n), TS_OK);
    assert_int_equal(n.exit_initiated_at, now);
    assert_int_equal(n.exit_finished_at, 0);
    /* Node b exits too, with a lenient online minimum checked below. */
    assert_int_equal(sat_gexit_initiate(x->g, b, now, &st), TS_OK);
    /* Checks before the duration: counted, not judged. */
    int64_t finished = -1;
    assert_int_equal(sat_gexit_check(x->g, now + 10, &finished), TS_OK);
    assert_int_equal(finished, 0);
    assert_int_equal(sat_gexit_status_get(x->g, a, &st), TS_OK);
    assert_int_equal(st.checks_total, 1);
    assert_int_equal(st.checks_online, 0);
    assert_true(st.online_score == 0.0);
    /* After the duration: a never answered -> failed. */
    assert_int_equal(sat_gexit_check(x->g, now + 100, &finished), TS_OK);
    assert_int_equal(finished, 2);
    assert_int_equal(sat_gexit_status_get(x->g, a, &st), TS_OK);
    assert_int_equal(st.state, SAT_GEXIT_FAILED);
    assert_int_equal(st.finished_at_s, now + 100);
    assert_non_null(strstr(st.reason, "online score"));
    assert_int_equal(ts_db_tx_read(x->db, get_node_fn, &n), TS_OK);
    assert_int_equal(n.exit_finished_at, now + 100);
    /* Finished exits are no longer checked. */
    assert_int_equal(sat_gexit_check(x->g, now + 200, &finished), TS_OK);
    assert_int_equal(finished, 0);
}

static void test_gexit_succeeds_when_online_enough(void **state)
{
    struct gx *x = *state;
    uint8_t a[32];
    memset(a, 0xc3, 32);
    add_node(x, 0xc3, "127.0.0.1:1");
    x->cfg.online_min = 0.0; /* never reachable here, so only a zero minimum passes */
    int64_t now = ts_time_now_s();
    struct sat_gexit_status st;
    assert_int_equal(sat_gexit_initiate(x->g, a, now, &st), TS_OK);
    int64_t finished = 0;
    assert_int_equal(sat_gexit_check(x->g, now + 100, &finished), TS_OK);
    assert_int_equal(finished, 1);
    assert_int_equal(sat_gexit_status_get(x->g, a, &st), TS_OK);
    assert_int_equal(st.state, SAT_GEXIT_SUCCEEDED);
    assert_string_equal(st.reason, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builder_filters_hold_every_piece),
        cmocka_unit_test(test_gc_config_keys),
        cmocka_unit_test_setup_teardown(test_gexit_lifecycle, gx_setup, gx_teardown),
        cmocka_unit_test_setup_teardown(test_gexit_succeeds_when_online_enough, gx_setup,
                                        gx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
