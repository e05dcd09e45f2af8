/* Unit tests for core/base: the error table, bounded buffers, constant-time compare, atomic files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/fs.h"
#include "base/pad.h"
#include "base/parse.h"

static void test_every_error_has_a_distinct_message(void **state)
{
    (void)state;
    for (int i = 0; i < TS_ERR__COUNT; i++) {
        const char *m = ts_strerror((ts_err)i);
        assert_non_null(m);
        assert_true(strlen(m) > 3);
        for (int j = 0; j < i; j++) {
            assert_string_not_equal(m, ts_strerror((ts_err)j));
            assert_string_not_equal(ts_errname((ts_err)i), ts_errname((ts_err)j));
        }
    }
    assert_string_equal(ts_strerror((ts_err)9999), "unknown error code");
    assert_string_equal(ts_errname(TS_ERR_NOT_FOUND), "NOT_FOUND");
}

static void test_buf_refuses_growth_past_its_maximum(void **state)
{
    (void)state;
    struct ts_buf b;
    ts_buf_init(&b, 10);
    assert_int_equal(ts_buf_append(&b, "hello", 5), TS_OK);
    assert_int_equal(ts_buf_append(&b, "world", 5), TS_OK);
    assert_int_equal(b.len, 10);
    assert_int_equal(ts_buf_append_byte(&b, '!'), TS_ERR_TOO_LARGE);
    assert_int_equal(b.len, 10);
    assert_memory_equal(b.data, "helloworld", 11);
    assert_int_equal(ts_buf_reserve(&b, SIZE_MAX), TS_ERR_TOO_LARGE);
    ts_buf_release(&b);
    ts_buf_release(&b); /* a released buffer releases again as a no-op */
}

static void test_buf_printf_and_detach(void **state)
{
    (void)state;
    struct ts_buf b;
    ts_buf_init(&b, 1000);
    assert_int_equal(ts_buf_printf(&b, "%s=%d", "k", 42), TS_OK);
    assert_int_equal(ts_buf_append_str(&b, " x"), TS_OK);
    assert_string_equal((char *)b.data, "k=42 x");
    ts_buf_truncate(&b, 4);
    assert_string_equal((char *)b.data, "k=42");
    size_t len = 0;
    uint8_t *p = ts_buf_detach(&b, &len);
    assert_int_equal(len, 4);
    assert_null(b.data);
    free(p);
    ts_buf_init(&b, 3);
    assert_int_equal(ts_buf_printf(&b, "%s", "toolong"), TS_ERR_TOO_LARGE);
    ts_buf_release(&b);
}

static void test_ct_equal_and_wipe(void **state)
{
    (void)state;
    uint8_t a[32], b[32];
    memset(a, 7, sizeof a);
    memcpy(b, a, sizeof b);
    assert_int_equal(ts_ct_equal(a, b, sizeof a), 1);
    b[31] ^= 1;
    assert_int_equal(ts_ct_equal(a, b, sizeof a), 0);
    ts_wipe(a, sizeof a);
    for (size_t i = 0; i < sizeof a; i++) {
        assert_int_equal(a[i], 0);
    }
    ts_wipe(NULL, 10);
}

static void test_big_endian_round_trip(void **state)
{
    (void)state;
    uint8_t p[8];
    ts_be64_put(p, 0x0102030405060708ull);
    assert_int_equal(p[0], 1);
    assert_int_equal(p[7], 8);
    assert_true(ts_be64_get(p) == 0x0102030405060708ull);
}

static void test_atomic_write_replaces_whole_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/ts-test-base-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char sub[512], path[600];
    snprintf(sub, sizeof sub, "%s/a/b/c", dir);
    assert_int_equal(ts_fs_mkdir_p(sub, 0700), TS_OK);
    assert_int_equal(ts_fs_mkdir_p(sub, 0700), TS_OK);
    snprintf(path, sizeof path, "%s/file", sub);
    assert_int_equal(ts_fs_write_atomic(path, "first", 5, 0600), TS_OK);
    assert_int_equal(ts_fs_write_atomic(path, "second", 6, 0600), TS_OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    struct ts_buf b;
    ts_buf_init(&b, 100);
    assert_int_equal(ts_fs_read_all(path, 100, &b), TS_OK);
    assert_int_equal(b.len, 6);
    assert_memory_equal(b.data, "second", 6);
    ts_buf_clear(&b);
    assert_int_equal(ts_fs_read_all(path, 3, &b), TS_ERR_TOO_LARGE);
    ts_buf_clear(&b);
    char missing[600];
    snprintf(missing, sizeof missing, "%s/nope", dir);
    assert_int_equal(ts_fs_read_all(missing, 100, &b), TS_ERR_NOT_FOUND);
    ts_buf_release(&b);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_padding_rule(void **state)
{
    (void)state;
    /* Table: data length, block size, padded size (aligned input gains a whole block). */
    static const struct {
        size_t len, block, padded;
    } cases[] = {{0, 16, 16},  {12, 16, 16},        {13, 16, 32},
                 {16, 16, 32}, {7424, 7424, 14848}, {67254016, 7424, 67261440}};
    for (size_t i = 0; i < TS_ARRAY_LEN(cases); i++) {
        assert_int_equal(ts_pad_padded_size(cases[i].len, cases[i].block), cases[i].padded);
    }
    uint8_t buf[32];
    memset(buf, 0xAA, sizeof buf);
    ts_pad_write(buf + 13, 19);
    assert_int_equal(buf[31], 19);
    assert_int_equal(buf[13], 0);
    size_t len = 0;
    assert_int_equal(ts_pad_strip(buf, 32, &len), TS_OK);
    assert_int_equal(len, 13);
    buf[20] = 1; /* non-zero padding */
    assert_int_equal(ts_pad_strip(buf, 32, &len), TS_ERR_MALFORMED);
    buf[20] = 0;
    buf[31] = 3; /* count below 4 */
    assert_int_equal(ts_pad_strip(buf, 32, &len), TS_ERR_MALFORMED);
    buf[31] = 33; /* count above the data */
    assert_int_equal(ts_pad_strip(buf, 32, &len), TS_ERR_MALFORMED);
    assert_int_equal(ts_pad_strip(buf, 3, &len), TS_ERR_MALFORMED);
}

/* Durations: terms, bare numbers in the caller's unit, whole-unit results, TS_PARSE_WHOLE, and
 * the error that says why a value is refused. */
static void test_parse_duration(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int64_t unit_ms;
        unsigned flags;
        ts_err err;
        int64_t want;
    } cases[] = {
        {"30s", 1000, 0, TS_OK, 30},
        {"1h30m", 1000, 0, TS_OK, 5400},
        {"1W", 1000, 0, TS_OK, 604800},
        {" 90 ", 1000, 0, TS_OK, 90},
        {"1.5h", 1000, 0, TS_OK, 5400},
        {"500ms", 1, 0, TS_OK, 500},
        {"2000ms", 1000, TS_PARSE_WHOLE, TS_OK, 2},
        {"45", 1000, TS_PARSE_WHOLE, TS_OK, 45},
        {"0", 1, 0, TS_OK, 0},
        {"1.5h", 1000, TS_PARSE_WHOLE, TS_ERR_INVALID_ARGUMENT, 0},
        {"1500ms", 1000, 0, TS_ERR_INVALID_ARGUMENT, 0},
        {"", 1000, 0, TS_ERR_INVALID_ARGUMENT, 0},
        {"   ", 1000, 0, TS_ERR_INVALID_ARGUMENT, 0},
        {"-1s", 1000, 0, TS_ERR_INVALID_ARGUMENT, 0},
        {"+1s", 1000, 0, TS_ERR_INVALID_ARGUMENT, 0},
        {"1h30", 1000, 0, TS_ERR_INVALID_ARGUMENT, 0},
        {"30s ", 1000, 0, TS_ERR_INVALID_ARGUMENT, 0},
        {"5s 3", 1000, 0, TS_ERR_INVALID_ARGUMENT, 0},
        {"10y", 1000, 0, TS_ERR_INVALID_ARGUMENT, 0},
        {"h", 1000, 0, TS_ERR_INVALID_ARGUMENT, 0},
        {"nan", 1000, 0, TS_ERR_INVALID_ARGUMENT, 0},
        {"1e30d", 1000, 0, TS_ERR_TOO_LARGE, 0},
        {"99999999999d", 1000, TS_PARSE_WHOLE, TS_ERR_TOO_LARGE, 0},
        {"99999999999999999999s", 1000, TS_PARSE_WHOLE, TS_ERR_TOO_LARGE, 0},
    };
    for (size_t i = 0; i < TS_ARRAY_LEN(cases); i++) {
        int64_t v = -7;
        ts_err err = ts_parse_duration(cases[i].text, cases[i].unit_ms, cases[i].flags, &v);
        if (err != cases[i].err) {
            fail_msg("'%s': %s, want %s", cases[i].text, ts_strerror(err),
                     ts_strerror(cases[i].err));
        }
        assert_int_equal(v, cases[i].err == TS_OK ? cases[i].want : -7);
    }
    /* The bound itself is accepted, one millisecond more is not. */
    int64_t v = 0;
    char text[64];
    snprintf(text, sizeof text, "%lldms", (long long)TS_PARSE_DURATION_MS_MAX);
    assert_int_equal(ts_parse_duration(text, 1, 0, &v), TS_OK);
    assert_int_equal(v, TS_PARSE_DURATION_MS_MAX);
    snprintf(text, sizeof text, "%lldms", (long long)TS_PARSE_DURATION_MS_MAX + 1);
    assert_int_equal(ts_parse_duration(text, 1, 0, &v), TS_ERR_TOO_LARGE);
}

/* Sizes: decimal and binary units in any case, spaces before the unit, whole bytes only. */
static void test_parse_size(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        ts_err err;
        int64_t want;
    } cases[] = {
        {"1234", TS_OK, 1234},
        {"5GB", TS_OK, 5000000000LL},
        {"1GiB", TS_OK, 1LL << 30},
        {"3 mib", TS_OK, 3LL << 20},
        {"1.5KB", TS_OK, 1500},
        {"2TiB", TS_OK, 2LL << 40},
        {"0B", TS_OK, 0},
        {"1.5B", TS_ERR_INVALID_ARGUMENT, 0},
        {"-1GB", TS_ERR_INVALID_ARGUMENT, 0},
        {"+1GB", TS_ERR_INVALID_ARGUMENT, 0},
        {"12 parsecs", TS_ERR_INVALID_ARGUMENT, 0},
        {"GB", TS_ERR_INVALID_ARGUMENT, 0},
        {"", TS_ERR_INVALID_ARGUMENT, 0},
        {"nan", TS_ERR_INVALID_ARGUMENT, 0},
        {"9000000TB", TS_OK, TS_PARSE_SIZE_MAX},
        {"9000001TB", TS_ERR_TOO_LARGE, 0},
        {"1e300", TS_ERR_TOO_LARGE, 0},
    };
    for (size_t i = 0; i < TS_ARRAY_LEN(cases); i++) {
        int64_t v = -7;
        ts_err err = ts_parse_size(cases[i].text, &v);
        if (err != cases[i].err) {
            fail_msg("'%s': %s, want %s", cases[i].text, ts_strerror(err),
                     ts_strerror(cases[i].err));
        }
        assert_int_equal(v, cases[i].err == TS_OK ? cases[i].want : -7);
    }
}

static void test_buf_append_utf8_boundaries(void **state)
{
    (void)state;
    struct ts_buf b;
    ts_buf_init(&b, 64);
    static const uint32_t cps[] = {0x41, 0x7F, 0x80, 0x7FF, 0x800, 0xFFFF, 0x10000, 0x10FFFF};
    for (size_t i = 0; i < TS_ARRAY_LEN(cps); i++) {
        assert_int_equal(ts_buf_append_utf8(&b, cps[i]), TS_OK);
    }
    static const uint8_t want[] = {0x41, 0x7F, 0xC2, 0x80, 0xDF, 0xBF, 0xE0, 0xA0, 0x80,
                                   0xEF, 0xBF, 0xBF, 0xF0, 0x90, 0x80, 0x80, 0xF4, 0x8F,
                                   0xBF, 0xBF};
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.data, want, sizeof want);
    assert_int_equal(ts_buf_append_utf8(&b, 0x110000), TS_ERR_INVALID_ARGUMENT);
    assert_int_equal(b.len, sizeof want);
    ts_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_error_has_a_distinct_message),
        cmocka_unit_test(test_buf_refuses_growth_past_its_maximum),
        cmocka_unit_test(test_buf_printf_and_detach),
        cmocka_unit_test(test_ct_equal_and_wipe),
        cmocka_unit_test(test_big_endian_round_trip),
        cmocka_unit_test(test_atomic_write_replaces_whole_file),
        cmocka_unit_test(test_padding_rule),
        cmocka_unit_test(test_buf_append_utf8_boundaries),
        cmocka_unit_test(test_parse_duration),
        cmocka_unit_test(test_parse_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
