/*
 * tessera-satellite's config table (satellite/config.h): duration and size units for every
 * key kind, ranges, unknown keys refused by name, a flag (sat_config_set) over the file, the
 * legacy <dir>/durability file read after the config (its values win), save/load round trip of
 * every key, and the local profile's short intervals next to the production defaults.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "base/fs.h"
#include "satellite/config.h"

static void test_duration_and_size_parsers(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int64_t unit_ms, want; /* want -1: refused */
    } cases[] = {{"30s", 1000, 30},    {"5m", 1000, 300},       {"2h", 1000, 7200},
                 {"7d", 1000, 604800}, {"1h30m", 1000, 5400},   {"90", 1000, 90},
                 {"1.5h", 1000, 5400}, {"500ms", 1, 500},       {"15s", 1, 15000},
                 {"250", 1, 250},      {"1500ms", 1000, -1},    {"", 1000, -1},
                 {"-1s", 1000, -1},    {"5 parsecs", 1000, -1}, {"10y", 1000, -1},
                 {"5s 3", 1000, -1},   {"1e30d", 1000, -1},     {"nan", 1000, -1}};
    for (size_t i = 0; i < TS_ARRAY_LEN(cases); i++) {
        int64_t v = -7;
        ts_err err = sat_config_parse_duration(cases[i].text, cases[i].unit_ms, &v);
        if (cases[i].want < 0) {
            assert_int_equal(err, TS_ERR_CONFIG);
        } else {
            assert_int_equal(err, TS_OK);
            assert_int_equal(v, cases[i].want);
        }
    }
    int64_t v = 0;
    assert_int_equal(sat_config_parse_size("5GB", &v), TS_OK);
    assert_int_equal(v, 5000000000LL);
    assert_int_equal(sat_config_parse_size("1GiB", &v), TS_OK);
    assert_int_equal(v, 1LL << 30);
    assert_int_equal(sat_config_parse_size("2 MiB", &v), TS_OK);
    assert_int_equal(v, 2 << 20);
    assert_int_equal(sat_config_parse_size("1234", &v), TS_OK);
    assert_int_equal(v, 1234);
    assert_int_equal(sat_config_parse_size("1.5B", &v), TS_ERR_CONFIG);
    assert_int_equal(sat_config_parse_size("-1GB", &v), TS_ERR_CONFIG);
}

static void test_keys_units_ranges_unknown(void **state)
{
    (void)state;
    struct sat_config *c = calloc(1, sizeof *c);
    sat_config_defaults(c, "/tmp/none");
    const char text[] = "# every kind of key\n"
                        "online_window_s = 2h\n"
                        "ping_timeout_ms = 3s\n"
                        "free_disk_min = 1GiB\n"
                        "distinct_nets = false\n"
                        "gexit.duration_s = 7d\n"
                        "gexit.online_min = 0.5\n"
                        "durability.loop_interval_s = 30s\n"
                        "durability.audit_pause_ms = 250\n"
                        "durability.repair_workers = 3\n"
                        "gc.enabled = off\n";
    assert_int_equal(sat_config_parse(c, text, strlen(text)), TS_OK);
    assert_int_equal(c->online_window_s, 7200);
    assert_int_equal(c->ping_timeout_ms, 3000);
    assert_int_equal(c->free_disk_min, 1LL << 30);
    assert_int_equal(c->distinct_nets, 0);
    assert_int_equal(c->gexit.duration_s, 7 * 86400);
    assert_true(c->gexit.online_min == 0.5);
    assert_int_equal(c->durability.loop_interval_s, 30);
    assert_int_equal(c->durability.audit_pause_ms, 250);
    assert_int_equal(c->durability.repair_workers, 3);
    assert_false(c->gc.enabled);
    /* Refusals leave the value alone. */
    static const char *bad[][2] = {
        {"gc.intervl_s", "5m"},      {"no_such_key", "1"},
        {"gexit.online_min", "1.5"}, {"durability.repair_workers", "99"},
        {"gc.page_size", "0"},       {"durability.loop_interval_s", "soon"},
        {"free_disk_min", "lots"},   {"distinct_nets", "maybe"},
        {"redundancy", "1/2/3"}};
    for (size_t i = 0; i < TS_ARRAY_LEN(bad); i++) {
        assert_int_equal(sat_config_set(c, bad[i][0], bad[i][1]), TS_ERR_CONFIG);
    }
    assert_int_equal(c->durability.repair_workers, 3);
    const char unknown[] = "listen = 127.0.0.1:1\ngc.intervl_s = 5m\n";
    assert_int_equal(sat_config_parse(c, unknown, strlen(unknown)), TS_ERR_CONFIG);
    free(c);
}

static void test_files_flags_legacy_roundtrip(void **state)
{
    (void)state;
    char dir[] = "/tmp/ts-sat-config-XXXXXX", path[96];
    assert_non_null(mkdtemp(dir));
    struct sat_config *c = calloc(1, sizeof *c), *d = calloc(1, sizeof *d);
    sat_config_defaults(c, dir);
    sat_config_local(c);
    assert_int_equal(sat_config_set(c, "gc.interval_s", "90s"), TS_OK);
    assert_int_equal(sat_config_set(c, "durability.reputation_lambda", "0.995"), TS_OK);
    assert_int_equal(sat_config_save(c), TS_OK);
    assert_int_equal(sat_config_load(d, dir), TS_OK);
    assert_int_equal(d->gc.interval_s, 90);
    assert_true(d->durability.reputation.lambda == 0.995);
    assert_int_equal(d->gexit.duration_s, c->gexit.duration_s);
    assert_int_equal(d->redundancy.total, c->redundancy.total);
    assert_int_equal(d->gc.filter_size_max, c->gc.filter_size_max);
    /* A flag wins over the file. */
    assert_int_equal(sat_config_set(d, "gc.interval_s", "2m"), TS_OK);
    assert_int_equal(d->gc.interval_s, 120);
    /* The legacy durability file is read after the config; its keys lack the prefix. */
    snprintf(path, sizeof path, "%s/durability", dir);
    const char legacy[] = "loop_interval_s = 1\nrepair_retry_s = 1\n";
    assert_int_equal(ts_fs_write_atomic(path, legacy, strlen(legacy), 0600), TS_OK);
    assert_int_equal(sat_config_load(d, dir), TS_OK);
    assert_int_equal(d->durability.loop_interval_s, 1);
    assert_int_equal(d->durability.repair.retry_s, 1);
    const char legacy_bad[] = "loop_interval = 1\n";
    assert_int_equal(ts_fs_write_atomic(path, legacy_bad, strlen(legacy_bad), 0600), TS_OK);
    assert_int_equal(sat_config_load(d, dir), TS_ERR_CONFIG);
    unlink(path);
    snprintf(path, sizeof path, "%s/config", dir);
    unlink(path);
    assert_int_equal(sat_config_load(d, dir), TS_ERR_NOT_FOUND);
    rmdir(dir);
    free(c);
    free(d);
}

static void test_profiles(void **state)
{
    (void)state;
    struct sat_config *c = calloc(1, sizeof *c);
    sat_config_defaults(c, "/tmp/none");
    /* Production: the reference's values. */
    assert_int_equal(c->gc.interval_s, 24 * 3600);
    assert_int_equal(c->gexit.duration_s, 30 * 86400);
    assert_int_equal(c->gexit.node_age_min_s, 180 * 86400);
    assert_int_equal(c->durability.loop_interval_s, 2 * 3600);
    assert_int_equal(c->redundancy.total, 110);
    /* Local: minutes. */
    sat_config_local(c);
    assert_true(c->gc.interval_s <= 600);
    assert_true(c->gexit.duration_s <= 3600);
    assert_int_equal(c->gexit.node_age_min_s, 0);
    assert_true(c->durability.loop_interval_s <= 120);
    assert_int_equal(c->redundancy.total, 10);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration_and_size_parsers),
        cmocka_unit_test(test_keys_units_ranges_unknown),
        cmocka_unit_test(test_files_flags_legacy_roundtrip),
        cmocka_unit_test(test_profiles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
