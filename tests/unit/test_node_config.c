/*
 * tessera-node's config table (node/node_config.h): every duration key takes units, sizes take
 * units, a flag overrides the file, an unknown key is refused naming it, bad values are refused
 * naming the key, and --local changes defaults only (explicit keys still win).
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
#include "node_config.h"

static char trust[128];
static struct node_config cfg;
static char msg[512];

static int load(int argc, char **argv)
{
    return node_config_load(&cfg, argc, argv, msg, sizeof msg);
}

static int setup(void **state)
{
    (void)state;
    char id[TS_NODE_ID_TEXT_MAX];
    struct ts_node_id sat;
    memset(&sat, 0x33, sizeof sat);
    sat.bytes[31] = 0;
    assert_int_equal(ts_node_id_to_string(&sat, id, sizeof id), TS_OK);
    snprintf(trust, sizeof trust, "--trust=%s@127.0.0.1:7777", id);
    return 0;
}

static void test_durations_and_sizes(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int64_t seconds; /* -1: refused */
    } cases[] = {{"30s", 30},    {"5m", 300},     {"2h", 7200}, {"7d", 604800},
                 {"1w", 604800}, {"1h30m", 5400}, {"45", 45},   {"0", 0},
                 {"", -1},       {"5x", -1},      {"-5s", -1},  {"1.5h", -1},
                 {"500ms", -1},  {"1h30", -1},    {"h", -1},    {"99999999999d", -1}};
    for (size_t i = 0; i < TS_ARRAY_LEN(cases); i++) {
        int64_t v = -7;
        ts_err err = node_config_parse_duration(cases[i].text, &v);
        if (cases[i].seconds < 0) {
            assert_int_equal(err, TS_ERR_CONFIG);
        } else {
            assert_int_equal(err, TS_OK);
            assert_int_equal(v, cases[i].seconds);
        }
    }
    int64_t v = 0;
    assert_int_equal(node_config_parse_size("5GB", &v), TS_OK);
    assert_int_equal(v, 5000000000LL);
    assert_int_equal(node_config_parse_size("1GiB", &v), TS_OK);
    assert_int_equal(v, 1LL << 30);
    assert_int_equal(node_config_parse_size("1 parsec", &v), TS_ERR_CONFIG);
}

static void test_every_duration_key(void **state)
{
    (void)state;
    static const char *keys[] = {"checkin-interval", "settlement-interval", "settlement-delay",
                                 "ttl-interval",     "ttl-grace",           "retain-skew",
                                 "trash-keep",       "trash-interval"};
    for (size_t i = 0; i < TS_ARRAY_LEN(keys); i++) {
        char flag[96], bad[96];
        snprintf(flag, sizeof flag, "--%s=2h", keys[i]);
        snprintf(bad, sizeof bad, "--%s=2 fortnights", keys[i]);
        char *ok_argv[] = {"node", "--identity-dir=/x", "--storage-dir=/y", trust, flag, NULL};
        assert_int_equal(load(5, ok_argv), TS_OK);
        int64_t got[] = {cfg.checkin_interval_s, cfg.settlement_interval_s, cfg.settlement_delay_s,
                         cfg.ttl_interval_s,     cfg.ttl_grace_s,           cfg.retain_skew_s,
                         cfg.trash_keep_s,       cfg.trash_interval_s};
        assert_int_equal(got[i], 7200);
        char *bad_argv[] = {"node", "--identity-dir=/x", "--storage-dir=/y", trust, bad, NULL};
        assert_int_equal(load(5, bad_argv), TS_ERR_CONFIG);
        assert_non_null(strstr(msg, keys[i]));
    }
    char *sizes[] = {"node", "--identity-dir=/x", "--storage-dir=/y",
                     trust,  "--allocated=1GiB",  "--checkin-free-space-min=5GB",
                     NULL};
    assert_int_equal(load(6, sizes), TS_OK);
    assert_int_equal(cfg.allocated_bytes, 1LL << 30);
    assert_int_equal(cfg.checkin_free_space_min_bytes, 5000000000LL);
}

static void test_file_flags_unknown_and_local(void **state)
{
    (void)state;
    char dir[] = "/tmp/ts-node-config-XXXXXX", path[64], conf[96];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/config", dir);
    const char text[] = "identity-dir = /id\nstorage-dir = /data\n"
                        "trash-keep = 3d # three days\nttl-interval = 10m\n";
    assert_int_equal(ts_fs_write_atomic(path, text, strlen(text), 0600), TS_OK);
    snprintf(conf, sizeof conf, "--config=%s", path);
    /* The file's values, and a flag overriding one of them (flags win, wherever they stand). */
    char *a1[] = {"node", "--trash-keep", "1d", conf, trust, NULL};
    assert_int_equal(load(5, a1), TS_OK);
    assert_int_equal(cfg.trash_keep_s, 86400);
    assert_int_equal(cfg.ttl_interval_s, 600);
    assert_int_equal(cfg.retain_skew_s, 72 * 3600); /* production default */
    assert_int_equal(cfg.local, 0);
    /* --local: short defaults, but the file's and the flags' keys still win. */
    char *a2[] = {"node", conf, trust, "--local", "--trash-interval=2m", NULL};
    assert_int_equal(load(5, a2), TS_OK);
    assert_int_equal(cfg.local, 1);
    assert_int_equal(cfg.retain_skew_s, 600);      /* local default */
    assert_int_equal(cfg.ttl_grace_s, 60);         /* local default */
    assert_int_equal(cfg.trash_keep_s, 3 * 86400); /* file */
    assert_int_equal(cfg.ttl_interval_s, 600);     /* file */
    assert_int_equal(cfg.trash_interval_s, 120);   /* flag */
    /* Unknown keys are refused by name, in the file and as flags. */
    char *a3[] = {"node", conf, trust, "--trash-kep=1d", NULL};
    assert_int_equal(load(4, a3), TS_ERR_CONFIG);
    assert_non_null(strstr(msg, "unknown setting 'trash-kep'"));
    const char bad[] = "identity-dir = /id\nretain_skew = 5m\n";
    assert_int_equal(ts_fs_write_atomic(path, bad, strlen(bad), 0600), TS_OK);
    char *a4[] = {"node", conf, trust, "--storage-dir=/y", NULL};
    assert_int_equal(load(4, a4), TS_ERR_CONFIG);
    assert_non_null(strstr(msg, "retain_skew"));
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_durations_and_sizes),
        cmocka_unit_test(test_every_duration_key),
        cmocka_unit_test(test_file_flags_unknown_and_local),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
