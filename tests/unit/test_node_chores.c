/* Unit tests for the storage node's background chores against an in-process stand-in satellite
 * (tests/integration/node/node_client.c) over real mutual-TLS RPC on 127.0.0.1: check-in with
 * ping-back, backoff after failures, a check-in triggered by low free space, a ping-back that
 * cannot reach the node; settlement of finished windows only, archive on ACCEPTED / REJECTED,
 * re-send after a failed attempt, idempotent re-send of a settled window, archive cleanup. */
#include <dirent.h>
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
#include "node_client.h"
#include "node_config.h"
#include "node_contact.h"
#include "node_orders.h"
#include "node_settle.h"
#include "node_space.h"
#include "node_trust.h"
#include "rpc/rpc.h"

#define DEADLINE_MS 30000

struct fixture {
    char root[64];
    struct nc_sat sat;
    struct ts_identity *node_id;
    struct ts_rpc_server *node_srv; /* serves PingNode */
    struct ts_rpc_pool *pool;       /* the node's client side */
    struct node_space space;
    char address[64];
    struct node_contact *contact; /* stopped by teardown if a test failed before stopping it */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->root, sizeof f->root, "/tmp/ts-node-chores-XXXXXX");
    assert_non_null(mkdtemp(f->root));
    assert_int_equal(nc_sat_start(&f->sat), TS_OK);
    struct ts_identity_create_opts opts = {.difficulty_min = 0, .threads = 1};
    assert_int_equal(ts_identity_create(&opts, &f->node_id), TS_OK);
    struct ts_rpc_server_config cfg = {.identity = f->node_id, .host = "127.0.0.1"};
    assert_int_equal(ts_rpc_server_new(&cfg, &f->node_srv), TS_OK);
    assert_int_equal(node_contact_register(f->node_srv), TS_OK);
    assert_int_equal(ts_rpc_server_start(f->node_srv), TS_OK);
    assert_int_equal(ts_rpc_pool_new(f->node_id, NULL, &f->pool), TS_OK);
    node_space_init(&f->space, 1000000);
    snprintf(f->address, sizeof f->address, "127.0.0.1:%u", ts_rpc_server_port(f->node_srv));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    node_contact_stop(f->contact);
    ts_rpc_pool_free(f->pool);
    ts_rpc_server_free(f->node_srv);
    nc_sat_stop(&f->sat);
    ts_identity_free(f->node_id);
    node_space_release(&f->space);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->root);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static struct node_contact_config contact_config(struct fixture *f, int64_t interval_ms)
{
    return (struct node_contact_config){.pool = f->pool,
                                        .satellites = &f->sat.url,
                                        .satellite_count = 1,
                                        .address = f->address,
                                        .version = "1.2.3",
                                        .wallet = "0x0123456789abcdef0123456789abcdef01234567",
                                        .email = "op@example.org",
                                        .space = &f->space,
                                        .interval_ms = interval_ms,
                                        .free_space_min_bytes = 1000};
}

/* Polls the satellite's record until it answered at least `checkins` check-ins. */
static struct nc_sat_record wait_checkins(struct fixture *f, int checkins)
{
    struct nc_sat_record r;
    int64_t deadline = ts_monotonic_ms() + DEADLINE_MS;
    do {
        usleep(10000);
        nc_sat_record_get(&f->sat, &r);
    } while (r.checkins_done < checkins && ts_monotonic_ms() < deadline);
    return r;
}

static struct node_contact *start_contact(struct fixture *f, const struct node_contact_config *cc)
{
    assert_int_equal(node_contact_start(cc, &f->contact), TS_OK);
    return f->contact;
}

static void stop_contact(struct fixture *f)
{
    node_contact_stop(f->contact);
    f->contact = NULL;
}

static void test_checkin_at_start_with_ping_back(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(node_space_reserve(&f->space, 250000), TS_OK);
    struct node_contact_config cc = contact_config(f, 3600 * 1000);
    struct node_contact *c = start_contact(f, &cc);
    struct nc_sat_record r = wait_checkins(f, 1);
    assert_int_equal(r.checkins, 1);
    assert_int_equal(r.pings_ok, 1);
    assert_string_equal(r.address, f->address);
    assert_string_equal(r.version, "1.2.3");
    assert_string_equal(r.wallet, "0x0123456789abcdef0123456789abcdef01234567");
    assert_string_equal(r.email, "op@example.org");
    assert_int_equal(r.free_disk_bytes, 750000);
    /* A direct check-in succeeds too; the status counts both. */
    char msg[256];
    assert_int_equal(node_contact_checkin(c, 0, msg, sizeof msg), TS_OK);
    assert_string_equal(msg, "");
    struct node_contact_status st;
    node_contact_status(c, 0, &st);
    assert_int_equal(st.successes, 2);
    assert_int_equal(st.failures, 0);
    assert_true(st.last_ping_ok);
    stop_contact(f);
}

static void test_checkin_backs_off_and_recovers(void **state)
{
    struct fixture *f = *state;
    pthread_mutex_lock(&f->sat.rec.mu);
    f->sat.rec.checkin_fail_next = 2;
    pthread_mutex_unlock(&f->sat.rec.mu);
    struct node_contact_config cc = contact_config(f, 600 * 1000);
    struct node_contact *c = start_contact(f, &cc);
    /* The chore retries (after 1 s, then 2 s) until the third attempt succeeds. */
    struct nc_sat_record r = wait_checkins(f, 3);
    int64_t deadline = ts_monotonic_ms() + DEADLINE_MS;
    struct node_contact_status st;
    do {
        usleep(10000);
        node_contact_status(c, 0, &st);
    } while (st.successes < 1 && ts_monotonic_ms() < deadline);
    assert_int_equal(r.checkins, 3);
    assert_int_equal(st.failures, 2);
    assert_int_equal(st.successes, 1);
    assert_int_equal(st.consecutive_failures, 0);
    /* The delays double per consecutive failure: 1 s, 2 s, 4 s. */
    pthread_mutex_lock(&f->sat.rec.mu);
    f->sat.rec.checkin_fail_next = 3;
    pthread_mutex_unlock(&f->sat.rec.mu);
    char msg[256];
    const int64_t expect_ms[] = {1000, 2000, 4000};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(node_contact_checkin(c, 0, msg, sizeof msg), TS_ERR_UNAVAILABLE);
        node_contact_status(c, 0, &st);
        assert_int_equal(st.last_backoff_ms, expect_ms[i]);
        assert_false(st.last_ping_ok);
    }
    assert_int_equal(node_contact_checkin(c, 0, msg, sizeof msg), TS_OK);
    node_contact_status(c, 0, &st);
    assert_int_equal(st.last_backoff_ms, 0);
    stop_contact(f);
}

static void test_low_space_checks_in_at_once(void **state)
{
    struct fixture *f = *state;
    struct node_contact_config cc = contact_config(f, 3600 * 1000);
    cc.free_space_min_bytes = 500000;
    start_contact(f, &cc);
    assert_int_equal(wait_checkins(f, 1).checkins, 1);
    /* Free space drops from 1,000,000 to 400,000 (< 500,000): a check-in long before the hour. */
    assert_int_equal(node_space_reserve(&f->space, 600000), TS_OK);
    struct nc_sat_record r = wait_checkins(f, 2);
    assert_int_equal(r.checkins, 2);
    assert_int_equal(r.free_disk_bytes, 400000);
    stop_contact(f);
}

static void test_unreachable_address_fails_the_checkin(void **state)
{
    struct fixture *f = *state;
    struct node_contact_config cc = contact_config(f, 3600 * 1000);
    cc.address = "127.0.0.1:1"; /* nothing listens there: the ping-back fails */
    struct node_contact *c = start_contact(f, &cc);
    assert_int_equal(wait_checkins(f, 1).checkins, 1);
    char msg[256];
    assert_int_equal(node_contact_checkin(c, 0, msg, sizeof msg), TS_ERR_UNAVAILABLE);
    assert_non_null(strstr(msg, "could not reach this node at 127.0.0.1:1"));
    struct nc_sat_record r;
    nc_sat_record_get(&f->sat, &r);
    assert_int_equal(r.pings_ok, 0);
    assert_true(r.pings_failed >= 2);
    stop_contact(f);
}

/* ---- Settlement ---- */

struct settle_fixture {
    struct node_orders_store *orders;
    struct node_trust *trust;
    struct node_settle_config cfg;
    struct nc_piece_key key;
};

static void settle_open(struct fixture *f, struct settle_fixture *s)
{
    memset(s, 0, sizeof *s);
    assert_int_equal(node_orders_store_open(f->root, &s->orders), TS_OK);
    assert_int_equal(node_trust_new(&f->sat.url, 1, f->node_id, f->root, &s->trust), TS_OK);
    s->cfg = (struct node_settle_config){.pool = f->pool,
                                         .orders = s->orders,
                                         .trust = s->trust,
                                         .interval_ms = 1000,
                                         .delay_s = 0,
                                         .archive_keep_s = TS_NODE_ORDERS_ARCHIVE_KEEP_S};
    memset(s->key.pub, 7, sizeof s->key.pub);
}

static void settle_close(struct settle_fixture *s)
{
    node_trust_free(s->trust);
    node_orders_store_free(s->orders);
}

/* Appends count entries for limits created at created_s. */
static void add_entries(struct fixture *f, struct settle_fixture *s, int64_t created_s, int count)
{
    for (int i = 0; i < count; i++) {
        uint8_t pid[32] = {0};
        ts_be64_put(pid, (uint64_t)created_s);
        pid[31] = (uint8_t)i;
        struct ts_order_limit l;
        memset(&l, 0, sizeof l);
        l.order_creation_s = created_s;
        l.order_expiration_s = created_s + 48 * 3600;
        assert_int_equal(ts_serial_new(l.order_expiration_s, l.serial), TS_OK);
        l.satellite_id = f->sat.url.id;
        l.storage_node_id = *ts_identity_id(f->node_id);
        memcpy(l.piece_id, pid, 32);
        memcpy(l.uplink_public_key, s->key.pub, 32);
        l.limit_bytes = 1 << 20;
        l.action = TS_PIECE_ACTION_PUT;
        assert_int_equal(ts_order_limit_sign(&l, f->sat.identity), TS_OK);
        struct ts_order o;
        memset(&o, 0, sizeof o);
        memcpy(o.serial, l.serial, TS_SERIAL_SIZE);
        o.amount = 1000 + i;
        assert_int_equal(node_orders_store_add(s->orders, &l, &o), TS_OK);
    }
}

static int count_dir(const char *root, const char *sub, const char *needle)
{
    char path[256];
    snprintf(path, sizeof path, "%s/orders/%s", root, sub);
    DIR *d = opendir(path);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        n += e->d_name[0] != '.' && (needle == NULL || strstr(e->d_name, needle) != NULL);
    }
    closedir(d);
    return n;
}

static void test_settlement_sends_finished_windows_and_archives(void **state)
{
    struct fixture *f = *state;
    struct settle_fixture s;
    settle_open(f, &s);
    int64_t now = ts_time_now_s();
    int64_t hour = now - now % 3600;
    add_entries(f, &s, hour - 3 * 3600 + 5, 3);
    add_entries(f, &s, hour - 2 * 3600 + 7, 2);
    add_entries(f, &s, now, 1); /* the current hour: not finished, not sent */
    struct node_settle_stats st;
    assert_int_equal(node_settle_run(&s.cfg, now, &st), TS_OK);
    assert_int_equal(st.windows_sent, 2);
    assert_int_equal(st.accepted, 2);
    assert_int_equal(st.failed, 0);
    assert_int_equal(st.items_sent, 5);
    struct nc_sat_record r;
    nc_sat_record_get(&f->sat, &r);
    assert_int_equal(r.windows_count, 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(r.window_items[i], r.windows[i] == hour - 3 * 3600 ? 3 : 2);
    }
    assert_int_equal(count_dir(f->root, "unsent", NULL), 1);
    assert_int_equal(count_dir(f->root, "archive", ".accepted."), 2);
    /* A delay keeps a finished window back until delay_s after its hour ends. */
    s.cfg.delay_s = 3600;
    assert_int_equal(node_settle_run(&s.cfg, hour + 3600 + 10, &st), TS_OK);
    assert_int_equal(st.windows_sent, 0);
    assert_int_equal(node_settle_run(&s.cfg, hour + 7200, &st), TS_OK);
    assert_int_equal(st.windows_sent, 1);
    assert_int_equal(count_dir(f->root, "unsent", NULL), 0);
    settle_close(&s);
}

static void test_settlement_retries_and_is_idempotent(void **state)
{
    struct fixture *f = *state;
    struct settle_fixture s;
    settle_open(f, &s);
    int64_t now = ts_time_now_s();
    int64_t window = now - now % 3600 - 4 * 3600;
    add_entries(f, &s, window + 1, 4);
    /* The satellite fails the first attempt: the file stays and goes again next pass. */
    pthread_mutex_lock(&f->sat.rec.mu);
    f->sat.rec.settle_fail_next = 1;
    pthread_mutex_unlock(&f->sat.rec.mu);
    struct node_settle_stats st;
    assert_int_equal(node_settle_run(&s.cfg, now, &st), TS_OK);
    assert_int_equal(st.failed, 1);
    assert_int_equal(st.accepted, 0);
    assert_int_equal(count_dir(f->root, "unsent", NULL), 1);
    assert_int_equal(node_settle_run(&s.cfg, now + 1, &st), TS_OK);
    assert_int_equal(st.accepted, 1);
    assert_int_equal(count_dir(f->root, "unsent", NULL), 0);
    struct nc_sat_record r;
    nc_sat_record_get(&f->sat, &r);
    assert_int_equal(r.windows_count, 1);
    assert_int_equal(r.window_items[0], 4);
    assert_int_equal(r.items_received, 8); /* both attempts carried the 4 entries */
    /* The same window again (e.g. the answer was lost before archiving): accepted, counted once. */
    add_entries(f, &s, window + 1, 4);
    assert_int_equal(node_settle_run(&s.cfg, now + 2, &st), TS_OK);
    assert_int_equal(st.accepted, 1);
    nc_sat_record_get(&f->sat, &r);
    assert_int_equal(r.windows_count, 1);
    assert_int_equal(count_dir(f->root, "archive", ".accepted."), 2);
    /* REJECTED: logged and archived as such, not retried. */
    pthread_mutex_lock(&f->sat.rec.mu);
    f->sat.rec.settle_status = 2;
    pthread_mutex_unlock(&f->sat.rec.mu);
    add_entries(f, &s, window - 3600 + 1, 2);
    assert_int_equal(node_settle_run(&s.cfg, now + 3, &st), TS_OK);
    assert_int_equal(st.rejected, 1);
    assert_int_equal(count_dir(f->root, "archive", ".rejected."), 1);
    assert_int_equal(count_dir(f->root, "unsent", NULL), 0);
    /* Archives are deleted after the keep time; newer ones stay. */
    assert_int_equal(node_settle_run(&s.cfg, now + 3 + TS_NODE_ORDERS_ARCHIVE_KEEP_S, &st),
                     TS_OK);
    assert_int_equal(st.archive_removed, 2);
    assert_int_equal(count_dir(f->root, "archive", NULL), 1);
    settle_close(&s);
}

static void test_settlement_chore_and_untrusted_window(void **state)
{
    struct fixture *f = *state;
    struct settle_fixture s;
    settle_open(f, &s);
    int64_t now = ts_time_now_s();
    add_entries(f, &s, now - now % 3600 - 3600, 2);
    /* A window of a satellite not on the trust list stays unsent. */
    struct ts_order_limit l;
    memset(&l, 0, sizeof l);
    l.order_creation_s = now - 7200;
    l.order_expiration_s = now + 3600;
    l.satellite_id.bytes[0] = 1;
    struct ts_order o;
    memset(&o, 0, sizeof o);
    assert_int_equal(node_orders_store_add(s.orders, &l, &o), TS_OK);
    struct node_settle *chore = NULL;
    assert_int_equal(node_settle_start(&s.cfg, &chore), TS_OK);
    int64_t deadline = ts_monotonic_ms() + DEADLINE_MS;
    while (count_dir(f->root, "archive", NULL) < 1 && ts_monotonic_ms() < deadline) {
        usleep(10000);
    }
    node_settle_stop(chore);
    assert_int_equal(count_dir(f->root, "archive", ".accepted."), 1);
    assert_int_equal(count_dir(f->root, "unsent", NULL), 1);
    settle_close(&s);
}

static void test_config_chore_keys(void **state)
{
    (void)state;
    struct node_config cfg;
    char msg[256], id[TS_NODE_ID_TEXT_MAX], trust[128];
    struct ts_node_id sat;
    memset(&sat, 0x42, sizeof sat);
    sat.bytes[31] = 0;
    assert_int_equal(ts_node_id_to_string(&sat, id, sizeof id), TS_OK);
    snprintf(trust, sizeof trust, "--trust=%s@127.0.0.1:7777", id);
    char *argv[] = {"node",
                    "--identity-dir=/x",
                    "--storage-dir=/y",
                    trust,
                    "--checkin-interval=5",
                    "--settlement-interval=2",
                    "--settlement-delay=0",
                    "--external-address=node.example.org:28967",
                    "--checkin-free-space-min=1GB",
                    NULL};
    assert_int_equal(node_config_load(&cfg, 9, argv, msg, sizeof msg), TS_OK);
    assert_int_equal(cfg.checkin_interval_s, 5);
    assert_int_equal(cfg.settlement_interval_s, 2);
    assert_int_equal(cfg.settlement_delay_s, 0);
    assert_string_equal(cfg.external_address, "node.example.org:28967");
    assert_int_equal(cfg.checkin_free_space_min_bytes, 1000000000);
    /* Defaults: hourly check-in and settlement, sent two hours after the window. */
    char *plain[] = {"node", "--identity-dir=/x", "--storage-dir=/y", trust, NULL};
    assert_int_equal(node_config_load(&cfg, 4, plain, msg, sizeof msg), TS_OK);
    assert_int_equal(cfg.checkin_interval_s, 3600);
    assert_int_equal(cfg.settlement_interval_s, 3600);
    assert_int_equal(cfg.settlement_delay_s, 7200);
    assert_string_equal(cfg.external_address, "");
    char *bad[][2] = {{"--checkin-interval=0", "checkin-interval"},
                      {"--settlement-interval=x", "settlement-interval"},
                      {"--external-address=nohost", "external-address"},
                      {"--external-address=h:0", "external-address"}};
    for (size_t i = 0; i < TS_ARRAY_LEN(bad); i++) {
        char *a[] = {"node", bad[i][0], NULL};
        assert_int_equal(node_config_load(&cfg, 2, a, msg, sizeof msg), TS_ERR_CONFIG);
        assert_non_null(strstr(msg, bad[i][1]));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_checkin_at_start_with_ping_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkin_backs_off_and_recovers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_low_space_checks_in_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreachable_address_fails_the_checkin, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_settlement_sends_finished_windows_and_archives,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_settlement_retries_and_is_idempotent, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_settlement_chore_and_untrusted_window, setup,
                                        teardown),
        cmocka_unit_test(test_config_chore_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
