/*
 * Repair side of durability: checker classification (healthy, missing, disqualified, exiting,
 * clumped), the repair/lost decision, the queue's health ordering and retry stamping, the
 * compare-and-swap of piece lists (a stale swap never overwrites), the ranged segment loop
 * (paging, observers, interruption and resume from the persisted cursor), on SQLite and
 * PostgreSQL; and the churn loss model against hand-computed values.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "db/db.h"
#include "test_db_fixture.h"
#include "satellite/db/satdb.h"
#include "satellite/durability/model.h"
#include "satellite/repair/checker.h"
#include "satellite/repair/queue.h"
#include "satellite/repair/repairer.h"
#include "satellite/segmentloop/segmentloop.h"

/* ---- Classification (pure) ---- */

static struct sat_loop_node node_at(uint32_t alias, const char *net, int64_t now)
{
    struct sat_loop_node n;
    memset(&n, 0, sizeof n);
    n.alias = alias;
    snprintf(n.last_net, sizeof n.last_net, "%s", net);
    n.last_contact_success = now - 10;
    return n;
}

static void test_classify(void **state)
{
    (void)state;
    int64_t now = 1000000;
    struct sat_loop_segment *s = calloc(1, sizeof *s);
    assert_int_equal(sat_redundancy_parse("4/6/8/10-256B", &s->redundancy), TS_OK);
    struct sat_loop_node nodes[10];
    const struct sat_loop_node *holders[10];
    for (uint32_t i = 0; i < 10; i++) {
        char net[16];
        snprintf(net, sizeof net, "10.0.%u", i);
        nodes[i] = node_at(i + 1, net, now);
        holders[i] = &nodes[i];
        s->pieces[i] = (struct sat_alias_piece){i, i + 1};
    }
    s->piece_count = 10;
    nodes[1].last_contact_success = now - 5000; /* offline: outside the window */
    nodes[2].last_contact_failure = now - 1;    /* failed since the last success */
    nodes[3].disqualified_at = now - 100;       /* lost for good */
    nodes[4].exit_initiated_at = now - 100;     /* leaving */
    snprintf(nodes[6].last_net, sizeof nodes[6].last_net, "10.0.5"); /* same /24 as piece 5 */
    holders[7] = NULL;                                               /* unknown alias */
    struct sat_checker_config cfg = {.online_window_s = 3600, .distinct_nets = true};
    struct sat_piece_class pc;
    sat_checker_classify(&cfg, s, holders, now, &pc);
    assert_int_equal(pc.health[0], SAT_PIECE_HEALTHY);
    assert_int_equal(pc.health[1], SAT_PIECE_MISSING);
    assert_int_equal(pc.health[2], SAT_PIECE_MISSING);
    assert_int_equal(pc.health[3], SAT_PIECE_DISQUALIFIED);
    assert_int_equal(pc.health[4], SAT_PIECE_EXITING);
    assert_int_equal(pc.health[5], SAT_PIECE_HEALTHY);
    assert_int_equal(pc.health[6], SAT_PIECE_CLUMPED);
    assert_int_equal(pc.health[7], SAT_PIECE_MISSING);
    assert_int_equal(pc.healthy, 4);     /* 0, 5, 8, 9 */
    assert_int_equal(pc.retrievable, 6); /* + exiting and clumped */
    assert_int_equal(pc.missing, 3);
    assert_true(sat_checker_needs_repair(&s->redundancy, &pc)); /* 4 <= 6 */
    assert_false(sat_checker_is_lost(&s->redundancy, &pc));
    /* Without the subnet rule (local networks share 127.0.0.1) clumping does not apply. */
    cfg.distinct_nets = false;
    sat_checker_classify(&cfg, s, holders, now, &pc);
    assert_int_equal(pc.health[6], SAT_PIECE_HEALTHY);
    assert_int_equal(pc.healthy, 5);
    /* 7 healthy of 4/6/8/10: above the repair threshold, no repair. */
    nodes[1].last_contact_success = now;
    nodes[2].last_contact_failure = 0;
    sat_checker_classify(&cfg, s, holders, now, &pc);
    assert_int_equal(pc.healthy, 7);
    assert_false(sat_checker_needs_repair(&s->redundancy, &pc));
    /* Only 3 retrievable: lost (and not queued). */
    for (int i = 0; i < 7; i++) {
        nodes[i].disqualified_at = 1;
    }
    sat_checker_classify(&cfg, s, holders, now, &pc);
    assert_int_equal(pc.retrievable, 2);
    assert_true(sat_checker_is_lost(&s->redundancy, &pc));
    assert_false(sat_checker_needs_repair(&s->redundancy, &pc));
    free(s);
}

/* ---- Loss model ---- */

static void test_model_hand_values(void **state)
{
    (void)state;
    /* p = 1 - (1 - R)^(T / year). */
    assert_true(fabs(sat_durability_piece_failure(0.3, 24) - 9.760461328105263e-4) < 1e-15);
    /* P(Bin(3, 0.1) >= 2) = 3 * 0.01 * 0.9 + 0.001 = 0.028. */
    assert_true(fabs(sat_durability_interval_loss(3, 2, 0.1) - 0.028) < 1e-12);
    /* Poisson(1) > 1: 1 - 2/e. */
    assert_true(fabs(sat_durability_poisson_loss(1, 2, 0.5) - (1.0 - 2.0 / M_E)) < 1e-12);
    /* The whitepaper's table (10% monthly churn): 99.9999998% and 99.99999999999%. */
    double wp1 = sat_durability_poisson_loss(20, 40, 0.1);
    double wp2 = sat_durability_poisson_loss(32, 64, 0.1);
    assert_true(fabs(wp1 - 1.9230584594146973e-09) < 1e-18);
    assert_true(fabs(wp2 - 9.455623296727374e-14) < 1e-22);
    assert_true(wp1 < 2.5e-9 && wp2 < 1e-13);
    /* A two-step chain by hand: k=1 m=1 o=2, p=0.5 per interval (R=0.75, T=half a year).
     * Step 1 from 2: lose both 1/4 (lost), one 1/2 (-> 1, queued), none 1/4 (-> 2).
     * Step 2: from 1 lose it 1/4 (lost), else repaired to 2 (1/4); from 2 lose both 1/16.
     * Loss = 1/4 + 1/4 + 1/16; repairs = 1/4. */
    struct sat_durability_params p = {1, 1, 2, 2, 0.75, SAT_DURABILITY_HOURS_PER_YEAR / 2};
    double loss = 0, repairs = 0;
    assert_int_equal(sat_durability_annual_loss(&p, &loss), TS_OK);
    assert_int_equal(sat_durability_annual_repairs(&p, &repairs), TS_OK);
    assert_true(fabs(loss - 0.5625) < 1e-12);
    assert_true(fabs(repairs - 0.25) < 1e-12);
    /* A higher repair threshold only makes loss rarer. */
    struct sat_durability_params a = {29, 35, 80, 110, 0.3, 24}, b = {29, 52, 80, 110, 0.3, 24};
    double la = 0, lb = 0;
    assert_int_equal(sat_durability_annual_loss(&a, &la), TS_OK);
    assert_int_equal(sat_durability_annual_loss(&b, &lb), TS_OK);
    assert_true(lb < la && la < 1e-10);
    assert_true(sat_durability_nines(1e-11) > 10.99 && sat_durability_nines(1e-11) < 11.01);
    struct sat_durability_params bad = {5, 4, 8, 10, 0.3, 24};
    assert_int_equal(sat_durability_annual_loss(&bad, &loss), TS_ERR_INVALID_ARGUMENT);
}

/* ---- Database fixture ---- */

/* Every case runs on a freshly migrated satellite schema. */
static void migrate(struct test_db_fixture *f)
{
    assert_int_equal(sat_db_migrate(f->db), TS_OK);
}

static int setup_sqlite(void **state)
{
    return test_db_fixture_setup_sqlite(state, "/tmp/ts-test-repair.XXXXXX", "s.db", migrate);
}

static int setup_postgres(void **state)
{
    return test_db_fixture_setup_postgres(state, "test_sat_repair", migrate);
}

static int teardown(void **state)
{
    return test_db_fixture_teardown(state);
}

/* Stores a remote 4/6/8/10 segment whose pieces 0..count-1 sit on aliases base+0.. */
static ts_err put_fn(struct ts_db_conn *c, void *ctx)
{
    return sat_db_segment_put(c, ctx);
}

static void put_segment(struct ts_db *db, uint8_t stream_tag, int64_t position, uint32_t base,
                        size_t count)
{
    struct sat_segment *s = calloc(1, sizeof *s);
    struct sat_redundancy r;
    struct sat_alias_piece pieces[16];
    struct ts_buf b;
    assert_int_equal(sat_redundancy_parse("4/6/8/10-256B", &r), TS_OK);
    memset(s->stream_id, stream_tag, SAT_ID_SIZE);
    s->position = position;
    memset(s->root_piece_id, 3, sizeof s->root_piece_id);
    s->encrypted_size = 1000;
    s->plain_size = 900;
    s->redundancy = sat_redundancy_pack(&r);
    s->created_at = 1;
    for (size_t i = 0; i < count; i++) {
        pieces[i] = (struct sat_alias_piece){(uint32_t)i, base + (uint32_t)i};
    }
    ts_buf_init(&b, SAT_PIECES_ENCODED_MAX);
    assert_int_equal(sat_alias_pieces_encode(pieces, count, &b), TS_OK);
    memcpy(s->pieces, b.data, b.len);
    s->pieces_len = b.len;
    ts_buf_release(&b);
    assert_int_equal(ts_db_tx(db, put_fn, s), TS_OK);
    free(s);
}

struct queue_ctx {
    uint8_t tag;
    int64_t healthy, now;
};

static ts_err queue_fn(struct ts_db_conn *c, void *ctx)
{
    struct queue_ctx *q = ctx;
    uint8_t sid[SAT_ID_SIZE];
    memset(sid, q->tag, sizeof sid);
    return sat_repair_queue_put(c, sid, 0, q->healthy, q->now);
}

static void test_queue_health_order(void **state)
{
    struct test_db_fixture *f = *state;
    if (f == NULL) {
        skip();
    }
    int64_t now = 5000;
    struct queue_ctx q[] = {{1, 7, now}, {2, 5, now}, {3, 6, now}, {4, 5, now + 1}};
    for (size_t i = 0; i < TS_ARRAY_LEN(q); i++) {
        assert_int_equal(ts_db_tx(f->db, queue_fn, &q[i]), TS_OK);
    }
    int64_t len = 0;
    assert_int_equal(sat_repair_queue_length(f->db, &len), TS_OK);
    assert_int_equal(len, 4);
    /* Fewest healthy first; ties by insertion time. */
    const uint8_t want[] = {2, 4, 3, 1};
    struct sat_repair_job job;
    bool found = false;
    for (size_t i = 0; i < TS_ARRAY_LEN(want); i++) {
        assert_int_equal(sat_repair_queue_pop(f->db, now + 10, 100, &job, &found), TS_OK);
        assert_true(found);
        assert_int_equal(job.stream_id[0], want[i]);
        assert_int_equal(job.attempts, 1);
    }
    /* All were just attempted: nothing is due until retry_s passes. */
    assert_int_equal(sat_repair_queue_pop(f->db, now + 10, 100, &job, &found), TS_OK);
    assert_false(found);
    assert_int_equal(sat_repair_queue_pop(f->db, now + 200, 100, &job, &found), TS_OK);
    assert_true(found);
    assert_int_equal(job.stream_id[0], 2);
    assert_int_equal(job.attempts, 2);
    /* A refresh keeps the entry; a clean after a pass drops what the pass did not refresh. */
    struct queue_ctx fresh = {3, 4, now + 300};
    assert_int_equal(ts_db_tx(f->db, queue_fn, &fresh), TS_OK);
    int64_t removed = 0;
    assert_int_equal(sat_repair_queue_clean(f->db, now + 300, &removed), TS_OK);
    assert_int_equal(removed, 3);
    assert_int_equal(sat_repair_queue_length(f->db, &len), TS_OK);
    assert_int_equal(len, 1);
    uint8_t sid[SAT_ID_SIZE];
    memset(sid, 3, sizeof sid);
    assert_int_equal(sat_repair_queue_delete(f->db, sid, 0), TS_OK);
    assert_int_equal(sat_repair_queue_length(f->db, &len), TS_OK);
    assert_int_equal(len, 0);
}

static void test_cas_conflict(void **state)
{
    struct test_db_fixture *f = *state;
    if (f == NULL) {
        skip();
    }
    put_segment(f->db, 9, 0, 1, 8);
    uint8_t sid[SAT_ID_SIZE];
    memset(sid, 9, sizeof sid);
    struct sat_loop_segment *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    assert_int_equal(sat_loop_segment_get(f->db, sid, 0, a), TS_OK);
    assert_int_equal(a->piece_count, 8);
    /* Repairer 1 swaps piece 7 to alias 50. */
    struct sat_alias_piece p[8];
    memcpy(p, a->pieces, sizeof p);
    p[7].alias = 50;
    struct ts_buf one, two;
    ts_buf_init(&one, SAT_PIECES_ENCODED_MAX);
    ts_buf_init(&two, SAT_PIECES_ENCODED_MAX);
    assert_int_equal(sat_alias_pieces_encode(p, 8, &one), TS_OK);
    p[7].alias = 60;
    assert_int_equal(sat_alias_pieces_encode(p, 8, &two), TS_OK);
    bool swapped = false;
    assert_int_equal(sat_repair_pieces_swap(f->db, sid, 0, a->pieces_raw, a->pieces_raw_len,
                                            one.data, one.len, &swapped),
                     TS_OK);
    assert_true(swapped);
    /* Repairer 2 read the same old list: its swap must not overwrite repairer 1's. */
    assert_int_equal(sat_repair_pieces_swap(f->db, sid, 0, a->pieces_raw, a->pieces_raw_len,
                                            two.data, two.len, &swapped),
                     TS_OK);
    assert_false(swapped);
    assert_int_equal(sat_loop_segment_get(f->db, sid, 0, b), TS_OK);
    assert_int_equal(b->pieces[7].alias, 50);
    /* A missing segment never swaps. */
    assert_int_equal(
        sat_repair_pieces_swap(f->db, sid, 1, one.data, one.len, two.data, two.len, &swapped),
        TS_OK);
    assert_false(swapped);
    ts_buf_release(&one);
    ts_buf_release(&two);
    free(a);
    free(b);
}

/* ---- Segment loop ---- */

struct counter {
    int begins, ends, ends_complete;
    int64_t seen;
    int64_t stop_after;
    atomic_bool *stop;
    int64_t last_position;
    uint8_t last_tag;
    bool ordered;
};

static ts_err c_begin(void *ctx, const struct sat_loop_nodes *nodes, int64_t now)
{
    struct counter *c = ctx;
    (void)nodes;
    (void)now;
    c->begins++;
    c->last_tag = 0;
    c->last_position = -1;
    return TS_OK;
}

static ts_err c_segment(void *ctx, const struct sat_loop_segment *s)
{
    struct counter *c = ctx;
    bool after = s->stream_id[0] > c->last_tag ||
                 (s->stream_id[0] == c->last_tag && s->position > c->last_position);
    c->ordered = c->ordered && after;
    c->last_tag = s->stream_id[0];
    c->last_position = s->position;
    c->seen++;
    if (c->stop != NULL && c->seen == c->stop_after) {
        atomic_store(c->stop, true);
    }
    return TS_OK;
}

static void c_end(void *ctx, bool complete, int64_t pass)
{
    struct counter *c = ctx;
    (void)pass;
    c->ends++;
    c->ends_complete += complete;
}

static void test_loop_pages_and_resumes(void **state)
{
    struct test_db_fixture *f = *state;
    if (f == NULL) {
        skip();
    }
    for (uint8_t t = 1; t <= 5; t++) {
        for (int64_t pos = 0; pos < 5; pos++) {
            put_segment(f->db, t, pos, 1, 8);
        }
    }
    struct sat_segment_loop *loop = NULL;
    assert_int_equal(sat_segment_loop_new(f->db, "test", 4, &loop), TS_OK);
    atomic_bool stop;
    atomic_init(&stop, false);
    struct counter c = {.stop_after = 10, .stop = &stop, .ordered = true};
    struct sat_loop_observer obs = {"count", c_begin, c_segment, c_end, &c};
    assert_int_equal(sat_segment_loop_register(loop, &obs), TS_OK);
    int64_t fed = 0, passes = -1;
    /* Stopped after 10 segments: the cursor holds the last full page (8). */
    assert_int_equal(sat_segment_loop_run_pass(loop, &stop, &fed), TS_ERR_CANCELED);
    assert_int_equal(fed, 8);
    assert_int_equal(c.ends_complete, 0);
    assert_int_equal(sat_segment_loop_passes(loop, &passes), TS_OK);
    assert_int_equal(passes, 0);
    /* Resume (a new loop object: as after a restart) finishes the remaining 17. */
    sat_segment_loop_free(loop);
    assert_int_equal(sat_segment_loop_new(f->db, "test", 4, &loop), TS_OK);
    atomic_store(&stop, false);
    c.stop = NULL;
    assert_int_equal(sat_segment_loop_register(loop, &obs), TS_OK);
    c.seen = 0;
    assert_int_equal(sat_segment_loop_run_pass(loop, &stop, &fed), TS_OK);
    assert_int_equal(fed, 17);
    assert_true(c.ordered);
    assert_int_equal(c.ends_complete, 1);
    assert_int_equal(sat_segment_loop_passes(loop, &passes), TS_OK);
    assert_int_equal(passes, 1);
    /* The next pass starts over and sees all 25. */
    c.seen = 0;
    assert_int_equal(sat_segment_loop_run_pass(loop, NULL, &fed), TS_OK);
    assert_int_equal(fed, 25);
    assert_int_equal(c.seen, 25);
    sat_segment_loop_free(loop);
    assert_int_equal(sat_segment_loop_new(f->db, "x", 0, &loop), TS_ERR_INVALID_ARGUMENT);
}

struct checkin {
    struct sat_node n;
    int64_t now;
};

static ts_err checkin_fn(struct ts_db_conn *c, void *ctx)
{
    struct checkin *ci = ctx;
    return sat_db_node_checkin(c, &ci->n, true, ci->now);
}

static void test_checker_observer_queues_and_loses(void **state)
{
    struct test_db_fixture *f = *state;
    if (f == NULL) {
        skip();
    }
    int64_t now = ts_time_now_s();
    for (uint8_t i = 1; i <= 10; i++) { /* aliases 1..10, in checkin order */
        struct checkin ci = {.now = now};
        memset(ci.n.id, i, TS_NODE_ID_SIZE);
        snprintf(ci.n.address, sizeof ci.n.address, "127.0.0.1:%u", 7000 + i);
        snprintf(ci.n.last_net, sizeof ci.n.last_net, "127.0.0");
        ci.n.public_key_len = 1;
        assert_int_equal(ts_db_tx(f->db, checkin_fn, &ci), TS_OK);
    }
    put_segment(f->db, 1, 0, 1, 10); /* 10 healthy */
    put_segment(f->db, 2, 0, 1, 6);  /* 6 healthy: at the repair threshold */
    put_segment(f->db, 3, 0, 1, 5);  /* 5 healthy */
    put_segment(f->db, 4, 0, 20, 8); /* aliases 20..27 never existed: lost */
    struct sat_segment_loop *loop = NULL;
    struct sat_checker ch;
    struct sat_checker_config cfg = {.online_window_s = 3600, .distinct_nets = false};
    struct sat_loop_observer obs;
    sat_checker_init(&ch, f->db, &cfg);
    sat_checker_observer(&ch, &obs);
    assert_int_equal(sat_segment_loop_new(f->db, "main", 100, &loop), TS_OK);
    assert_int_equal(sat_segment_loop_register(loop, &obs), TS_OK);
    assert_int_equal(sat_segment_loop_run_pass(loop, NULL, NULL), TS_OK);
    assert_int_equal(ch.queued, 2);
    assert_int_equal(ch.lost, 1);
    assert_int_equal(ch.histogram[10], 1);
    assert_int_equal(ch.histogram[6], 1);
    assert_int_equal(ch.histogram[5], 1);
    assert_int_equal(ch.histogram[0], 1);
    struct sat_repair_job job;
    bool found = false;
    assert_int_equal(sat_repair_queue_pop(f->db, now + 1, 0, &job, &found), TS_OK);
    assert_true(found);
    assert_int_equal(job.stream_id[0], 3); /* 5 healthy before 6 */
    assert_int_equal(job.healthy, 5);
    sat_segment_loop_free(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify),   cmocka_unit_test(test_model_hand_values),
        TEST_DB_BOTH(test_queue_health_order),     TEST_DB_BOTH(test_cas_conflict),
        TEST_DB_BOTH(test_loop_pages_and_resumes), TEST_DB_BOTH(test_checker_observer_queues_and_loses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
