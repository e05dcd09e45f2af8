/*
 * Reputation: the beta-model math against hand-computed values (41 failures from a perfect
 * record disqualify at lambda 0.999, alpha0 1000; 10 unknown errors suspend at lambda 0.95),
 * recovery from suspension, vetting, and the database side on SQLite and PostgreSQL: outcomes
 * recorded in one transaction, disqualification mirrored into nodes (and so out of selection),
 * suspended and contained nodes excluded from selection, the online score and the absence sweep.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
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
#include "satellite/reputation/reputation.h"

static void test_dq_after_41_failures(void **state)
{
    (void)state;
    struct sat_reputation_config c;
    struct sat_reputation r;
    sat_reputation_config_defaults(&c);
    sat_reputation_init(&r, &c);
    assert_true(sat_reputation_audit_score(&r) == 1.0);
    for (int i = 1; i <= 41; i++) {
        sat_reputation_apply(&r, &c, SAT_AUDIT_FAILURE, 1000 + i, 0);
        /* alpha + beta stays 1000, so the score is exactly 0.999^i. */
        assert_true(fabs(sat_reputation_audit_score(&r) - pow(0.999, i)) < 1e-12);
        if (i < 41) {
            assert_int_equal(r.disqualified_at, 0); /* 0.999^40 = 0.96077 > 0.96 */
        }
    }
    assert_int_equal(r.disqualified_at, 1041); /* 0.999^41 = 0.95981 <= 0.96 */
    assert_int_equal(r.audits_failed, 41);
    /* Disqualification is final: successes do not undo it. */
    for (int i = 0; i < 100; i++) {
        sat_reputation_apply(&r, &c, SAT_AUDIT_SUCCESS, 5000, 0);
    }
    assert_int_equal(r.disqualified_at, 1041);
}

static void test_success_keeps_score(void **state)
{
    (void)state;
    struct sat_reputation_config c;
    struct sat_reputation r;
    sat_reputation_config_defaults(&c);
    sat_reputation_init(&r, &c);
    sat_reputation_apply(&r, &c, SAT_AUDIT_FAILURE, 1, 0);
    sat_reputation_apply(&r, &c, SAT_AUDIT_SUCCESS, 2, 0);
    /* alpha = 0.999 * 999 + 1 = 999.001, beta = 0.999 * 1 = 0.999. */
    assert_true(fabs(r.audit_alpha - 999.001) < 1e-9);
    assert_true(fabs(r.audit_beta - 0.999) < 1e-9);
    assert_true(fabs(sat_reputation_audit_score(&r) - 999.001 / 1000.0) < 1e-12);
    /* Offline and contained outcomes leave the audit score alone. */
    sat_reputation_apply(&r, &c, SAT_AUDIT_OFFLINE, 3, 0);
    sat_reputation_apply(&r, &c, SAT_AUDIT_CONTAINED, 4, 0);
    assert_true(fabs(r.audit_alpha - 999.001) < 1e-9);
    assert_int_equal(r.audits_offline, 1);
    assert_int_equal(r.audits_contained, 1);
    assert_int_equal(r.audits_total, 4);
}

static void test_unknown_suspension_and_recovery(void **state)
{
    (void)state;
    struct sat_reputation_config c;
    struct sat_reputation r;
    sat_reputation_config_defaults(&c);
    sat_reputation_init(&r, &c);
    assert_true(fabs(r.unknown_alpha - 20.0) < 1e-9); /* w / (1 - 0.95) */
    for (int i = 1; i <= 10; i++) {
        sat_reputation_apply(&r, &c, SAT_AUDIT_UNKNOWN, 100 + i, 0);
        assert_true(fabs(sat_reputation_unknown_score(&r) - pow(0.95, i)) < 1e-12);
        if (i < 10) {
            assert_int_equal(r.suspended_at, 0); /* 0.95^9 = 0.630 */
        }
    }
    assert_int_equal(r.suspended_at, 110); /* 0.95^10 = 0.599 */
    assert_int_equal(r.disqualified_at, 0);
    assert_true(sat_reputation_audit_score(&r) == 1.0); /* unknowns are not failures */
    int successes = 0;
    while (r.suspended_at != 0 && successes < 100) {
        sat_reputation_apply(&r, &c, SAT_AUDIT_SUCCESS, 200, 0);
        successes++;
    }
    assert_int_equal(r.suspended_at, 0);
    assert_true(successes >= 1 && successes < 10);
}

static void test_vetting_needs_audits_and_age(void **state)
{
    (void)state;
    struct sat_reputation_config c;
    struct sat_reputation r;
    sat_reputation_config_defaults(&c);
    c.vetting_audits = 3;
    c.vetting_age_s = 100;
    sat_reputation_init(&r, &c);
    for (int i = 0; i < 5; i++) {
        sat_reputation_apply(&r, &c, SAT_AUDIT_SUCCESS, 50, 0); /* old enough? no: age 50 */
    }
    assert_int_equal(r.vetted_at, 0);
    sat_reputation_apply(&r, &c, SAT_AUDIT_SUCCESS, 150, 0);
    assert_int_equal(r.vetted_at, 150);
}

/* ---- Database ---- */

/* Every case runs on a freshly migrated satellite schema. */
static void migrate(struct test_db_fixture *f)
{
    assert_int_equal(sat_db_migrate(f->db), TS_OK);
}

static int setup_sqlite(void **state)
{
    return test_db_fixture_setup_sqlite(state, "/tmp/ts-test-rep.XXXXXX", "s.db", migrate);
}

static int setup_postgres(void **state)
{
    return test_db_fixture_setup_postgres(state, "test_sat_reputation", migrate);
}

static int teardown(void **state)
{
    return test_db_fixture_teardown(state);
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

static void add_node(struct ts_db *db, uint8_t tag, int64_t now)
{
    struct checkin ci = {.now = now};
    memset(ci.n.id, tag, TS_NODE_ID_SIZE);
    snprintf(ci.n.address, sizeof ci.n.address, "127.0.%u.1:7000", tag);
    snprintf(ci.n.last_net, sizeof ci.n.last_net, "127.0.%u", tag);
    ci.n.public_key_len = 1;
    ci.n.free_disk = 1000;
    assert_int_equal(ts_db_tx(db, checkin_fn, &ci), TS_OK);
}

struct select_ctx {
    int64_t since;
    struct sat_node_candidate *cands;
    size_t count;
};

static ts_err select_fn(struct ts_db_conn *c, void *ctx)
{
    struct select_ctx *s = ctx;
    free(s->cands);
    s->cands = NULL;
    return sat_db_nodes_selectable(c, s->since, 0, 100, &s->cands, &s->count);
}

static bool selectable(struct ts_db *db, uint8_t tag, int64_t since)
{
    struct select_ctx s = {.since = since};
    assert_int_equal(ts_db_tx_read(db, select_fn, &s), TS_OK);
    bool found = false;
    for (size_t i = 0; i < s.count; i++) {
        found = found || s.cands[i].id[0] == tag;
    }
    free(s.cands);
    return found;
}

static void test_db_dq_and_selection(void **state)
{
    struct test_db_fixture *f = *state;
    if (f == NULL) {
        skip();
    }
    struct sat_reputation_config c;
    sat_reputation_config_defaults(&c);
    c.alpha0 = 50; /* small prior: 50 / (50 + n) <= 0.96 at the 3rd failure */
    int64_t now = ts_time_now_s();
    add_node(f->db, 1, now);
    add_node(f->db, 2, now);
    uint8_t id1[TS_NODE_ID_SIZE];
    memset(id1, 1, sizeof id1);
    struct sat_reputation r;
    bool found = true;
    assert_int_equal(sat_reputation_get(f->db, &c, id1, &r, &found), TS_OK);
    assert_false(found);
    assert_true(r.audit_alpha == 50.0);
    assert_int_equal(sat_reputation_record(f->db, &c, id1, SAT_AUDIT_FAILURE, now, &r), TS_OK);
    assert_int_equal(sat_reputation_record(f->db, &c, id1, SAT_AUDIT_FAILURE, now, &r), TS_OK);
    assert_int_equal(r.disqualified_at, 0);
    assert_true(selectable(f->db, 1, now - 10));
    assert_int_equal(sat_reputation_record(f->db, &c, id1, SAT_AUDIT_FAILURE, now + 1, &r), TS_OK);
    assert_int_equal(r.disqualified_at, now + 1);
    struct sat_reputation again;
    assert_int_equal(sat_reputation_get(f->db, &c, id1, &again, &found), TS_OK);
    assert_true(found);
    assert_int_equal(again.audits_failed, 3);
    assert_int_equal(again.disqualified_at, now + 1);
    assert_false(selectable(f->db, 1, now - 10));
    assert_true(selectable(f->db, 2, now - 10));
    uint8_t bad[TS_NODE_ID_SIZE];
    memset(bad, 9, sizeof bad);
    assert_int_equal(sat_reputation_record(f->db, &c, bad, SAT_AUDIT_SUCCESS, now, NULL),
                     TS_ERR_NOT_FOUND);
}

static ts_err contain_fn(struct ts_db_conn *c, void *ctx)
{
    (void)ctx;
    uint8_t id[TS_NODE_ID_SIZE], sid[SAT_ID_SIZE];
    memset(id, 2, sizeof id);
    memset(sid, 7, sizeof sid);
    struct ts_db_stmt *st = NULL;
    ts_err err = ts_db_stmt_prepare(c,
                                    "INSERT INTO reverify_queue (node_id, stream_id, position, "
                                    "piece_num, attempts, inserted_at, last_attempt_at) VALUES "
                                    "($1, $2, 0, 1, 0, 0, 0)",
                                    &st);
    if (err == TS_OK) {
        err = ts_db_stmt_bind_blob(st, 1, id, sizeof id);
    }
    if (err == TS_OK) {
        err = ts_db_stmt_bind_blob(st, 2, sid, sizeof sid);
    }
    bool row = false;
    if (err == TS_OK) {
        err = ts_db_stmt_step(st, &row);
    }
    ts_db_stmt_free(st);
    return err;
}

static void test_db_suspension_containment_online(void **state)
{
    struct test_db_fixture *f = *state;
    if (f == NULL) {
        skip();
    }
    struct sat_reputation_config c;
    sat_reputation_config_defaults(&c);
    c.online_window_s = 10;
    c.online_windows_min = 1;
    int64_t now = ts_time_now_s();
    now -= now % 10;
    add_node(f->db, 1, now);
    add_node(f->db, 2, now);
    uint8_t id1[TS_NODE_ID_SIZE];
    memset(id1, 1, sizeof id1);
    struct sat_reputation r;
    /* Unknown errors suspend: no new pieces. */
    for (int i = 0; i < 10; i++) {
        assert_int_equal(sat_reputation_record(f->db, &c, id1, SAT_AUDIT_UNKNOWN, now, &r), TS_OK);
    }
    assert_int_equal(r.suspended_at, now);
    assert_false(selectable(f->db, 1, now - 10));
    /* Containment (a pending reverification) also keeps a node out. */
    assert_true(selectable(f->db, 2, now - 10));
    assert_int_equal(ts_db_tx(f->db, contain_fn, NULL), TS_OK);
    assert_false(selectable(f->db, 2, now - 10));
    /* Online score: mean over windows of online/total; offline marks contact failure. */
    uint8_t id2[TS_NODE_ID_SIZE];
    memset(id2, 2, sizeof id2);
    assert_int_equal(sat_reputation_record(f->db, &c, id2, SAT_AUDIT_SUCCESS, now, &r), TS_OK);
    assert_int_equal(sat_reputation_record(f->db, &c, id2, SAT_AUDIT_OFFLINE, now + 1, &r), TS_OK);
    assert_true(fabs(r.online_score - 0.5) < 1e-9);
    assert_int_equal(sat_reputation_record(f->db, &c, id2, SAT_AUDIT_OFFLINE, now + 10, &r), TS_OK);
    assert_true(fabs(r.online_score - 0.25) < 1e-9); /* windows: 1/2 and 0/1 */
    assert_int_not_equal(r.suspended_at, 0);         /* below 0.6 */
}

static void test_db_absence_sweep(void **state)
{
    struct test_db_fixture *f = *state;
    if (f == NULL) {
        skip();
    }
    struct sat_reputation_config c;
    sat_reputation_config_defaults(&c);
    c.absence_dq_s = 100;
    int64_t now = ts_time_now_s();
    add_node(f->db, 1, now - 500); /* created and last seen 500 s ago */
    add_node(f->db, 2, now - 50);
    int64_t count = 0;
    assert_int_equal(sat_reputation_absence_sweep(f->db, &c, now, &count), TS_OK);
    assert_int_equal(count, 1);
    assert_false(selectable(f->db, 1, 0));
    assert_true(selectable(f->db, 2, 0));
    assert_int_equal(sat_reputation_absence_sweep(f->db, &c, now, &count), TS_OK);
    assert_int_equal(count, 0); /* already disqualified */
    c.absence_dq_s = 0;
    assert_int_equal(sat_reputation_absence_sweep(f->db, &c, now + 100000, &count), TS_OK);
    assert_int_equal(count, 0); /* disabled */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dq_after_41_failures),
        cmocka_unit_test(test_success_keeps_score),
        cmocka_unit_test(test_unknown_suspension_and_recovery),
        cmocka_unit_test(test_vetting_needs_audits_and_age),
        TEST_DB_BOTH(test_db_dq_and_selection),
        TEST_DB_BOTH(test_db_suspension_containment_online),
        TEST_DB_BOTH(test_db_absence_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
