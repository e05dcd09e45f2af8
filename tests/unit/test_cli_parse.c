/* Unit tests for the tessera CLI's pure parsers: the option table, ts:// URLs, times, byte
 * ranges, user metadata (JSON and k=v) and the JSON writer, the progress text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"
#include "cli/cli_args.h"
#include "cli/cli_parse.h"
#include "cli/cli_progress.h"

/* ---- ts:// URLs ---- */

static void test_url_remote_forms(void **state)
{
    (void)state;
    struct cli_loc l;
    assert_int_equal(cli_loc_parse("ts://photos", &l, NULL, 0), TS_OK);
    assert_int_equal(l.kind, CLI_LOC_REMOTE);
    assert_string_equal(l.bucket, "photos");
    assert_string_equal(l.key, "");
    assert_int_equal(cli_loc_parse("ts://photos/", &l, NULL, 0), TS_OK);
    assert_string_equal(l.key, "");
    assert_int_equal(cli_loc_parse("ts://my-bucket.1/2024/cat.jpg", &l, NULL, 0), TS_OK);
    assert_string_equal(l.bucket, "my-bucket.1");
    assert_string_equal(l.key, "2024/cat.jpg");
    /* the key is literal: double slashes, spaces and a trailing '/' survive */
    assert_int_equal(cli_loc_parse("ts://abc/a//b c/", &l, NULL, 0), TS_OK);
    assert_string_equal(l.key, "a//b c/");
}

static void test_url_local_and_stdio(void **state)
{
    (void)state;
    struct cli_loc l;
    assert_int_equal(cli_loc_parse("-", &l, NULL, 0), TS_OK);
    assert_int_equal(l.kind, CLI_LOC_STDIO);
    assert_int_equal(cli_loc_parse("./file.txt", &l, NULL, 0), TS_OK);
    assert_int_equal(l.kind, CLI_LOC_LOCAL);
    assert_string_equal(l.path, "./file.txt");
    assert_int_equal(cli_loc_parse("--", &l, NULL, 0), TS_OK); /* a file named "--" */
    assert_int_equal(l.kind, CLI_LOC_LOCAL);
}

static void test_url_bad_ones(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",                /* empty */
        "ts://",           /* no bucket */
        "ts:///key",       /* empty bucket */
        "ts://ab/key",     /* too short */
        "ts://Photos/x",   /* upper case */
        "ts://-abc/x",     /* starts with '-' */
        "ts://abc-/x",     /* ends with '-' */
        "ts://ab_c/x",     /* underscore */
        "ts://a b c/x",    /* space */
        "sj://bucket/key", /* another scheme */
        "http://host/x",   /* another scheme */
        "ts://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/x", /* 64 chars */
    };
    for (size_t i = 0; i < TS_ARRAY_LEN(bad); i++) {
        struct cli_loc l;
        char why[160] = "";
        assert_int_not_equal(cli_loc_parse(bad[i], &l, why, sizeof why), TS_OK);
        assert_true(strlen(why) > 5);
    }
    /* a 63-character bucket is fine; a 1025-byte key is not */
    char url[2200];
    snprintf(url, sizeof url, "ts://%.63s/k",
             "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
    struct cli_loc l;
    assert_int_equal(cli_loc_parse(url, &l, NULL, 0), TS_OK);
    memcpy(url, "ts://abc/", 9);
    memset(url + 9, 'k', 1025);
    url[9 + 1025] = 0;
    assert_int_equal(cli_loc_parse(url, &l, NULL, 0), TS_ERR_TOO_LARGE);
    url[9 + 1024] = 0;
    assert_int_equal(cli_loc_parse(url, &l, NULL, 0), TS_OK);
    assert_int_equal(strlen(l.key), 1024);
}

/* ---- Times ---- */

static void test_time_rfc3339(void **state)
{
    (void)state;
    const int64_t now = 1700000000;
    struct {
        const char *text;
        int64_t want;
    } ok[] = {
        {"1970-01-01T00:00:00Z", 0},
        {"2026-12-01T00:00:00Z", 1796083200},
        {"2026-12-01T00:00:00z", 1796083200},
        {"2026-12-01 00:00:00Z", 1796083200},
        {"2026-12-01", 1796083200},
        {"2026-12-01T01:00:00+01:00", 1796083200},
        {"2026-11-30T19:00:00.999-05:00", 1796083200},
        {"2000-02-29T12:00:00Z", 951825600},
        {"2016-12-31T23:59:60Z", 1483228799}, /* leap second folds onto :59 */
        {"1969-12-31T23:59:59Z", -1},
    };
    for (size_t i = 0; i < TS_ARRAY_LEN(ok); i++) {
        int64_t t = 0;
        assert_int_equal(cli_time_parse(ok[i].text, now, &t), TS_OK);
        assert_int_equal(t, ok[i].want);
    }
    char text[40];
    cli_time_format(1796083200, text, sizeof text);
    assert_string_equal(text, "2026-12-01T00:00:00Z");
    cli_time_format(951825600, text, sizeof text);
    assert_string_equal(text, "2000-02-29T12:00:00Z");
    cli_time_format(-1, text, sizeof text);
    assert_string_equal(text, "1969-12-31T23:59:59Z");
}

static void test_time_relative_and_now(void **state)
{
    (void)state;
    const int64_t now = 1700000000;
    struct {
        const char *text;
        int64_t want;
    } ok[] = {
        {"now", now},       {"+1h", now + 3600},    {"+7d", now + 7 * 86400},  {"+30s", now + 30},
        {"-5m", now - 300}, {"+1h30m", now + 5400}, {"+2w", now + 14 * 86400}, {"+0s", now},
    };
    for (size_t i = 0; i < TS_ARRAY_LEN(ok); i++) {
        int64_t t = 0;
        assert_int_equal(cli_time_parse(ok[i].text, now, &t), TS_OK);
        assert_int_equal(t, ok[i].want);
    }
}

static void test_time_bad_ones(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",
        "tomorrow",
        "+",
        "+h",
        "+1",
        "+1y",
        "+1h-",
        "1h",
        "++1h",
        "+99999999999999999999d",
        "2026-13-01T00:00:00Z",
        "2026-02-29T00:00:00Z",
        "2026-04-31",
        "2026-12-01T24:00:00Z",
        "2026-12-01T00:60:00Z",
        "2026-12-01T00:00:00",
        "2026-12-01T00:00:00+1:00",
        "2026-12-01T00:00:00.Z",
        "2026-12-01T00:00:00Zjunk",
        "26-12-01",
        "2026/12/01",
        "2026-12-01T00:00:00+24:00",
        "NOW",
    };
    for (size_t i = 0; i < TS_ARRAY_LEN(bad); i++) {
        int64_t t = 0;
        assert_int_equal(cli_time_parse(bad[i], 1700000000, &t), TS_ERR_INVALID_ARGUMENT);
    }
}

/* ---- Ranges ---- */

static void test_range_forms(void **state)
{
    (void)state;
    struct cli_range r;
    assert_int_equal(cli_range_parse("0-99", &r), TS_OK);
    assert_int_equal(r.offset, 0);
    assert_int_equal(r.length, 100);
    assert_false(r.suffix);
    assert_int_equal(cli_range_parse("bytes=10-10", &r), TS_OK);
    assert_int_equal(r.offset, 10);
    assert_int_equal(r.length, 1);
    assert_int_equal(cli_range_parse("4096-", &r), TS_OK);
    assert_int_equal(r.offset, 4096);
    assert_true(r.length < 0);
    assert_int_equal(cli_range_parse("-500", &r), TS_OK);
    assert_true(r.suffix);
    assert_int_equal(r.length, 500);
    assert_int_equal(cli_range_parse("bytes=-1", &r), TS_OK);
    assert_true(r.suffix);
    static const char *bad[] = {"",
                                "-",
                                "bytes=",
                                "5",
                                "10-5",
                                "-0",
                                "a-b",
                                " 1-2",
                                "1-2 ",
                                "1--2",
                                "+1-2",
                                "1-2-3",
                                "bytes=1-2,4-5",
                                "99999999999999999999-"};
    for (size_t i = 0; i < TS_ARRAY_LEN(bad); i++) {
        assert_int_equal(cli_range_parse(bad[i], &r), TS_ERR_INVALID_ARGUMENT);
    }
}

/* ---- Metadata ---- */

static void test_meta_json(void **state)
{
    (void)state;
    struct cli_meta m;
    cli_meta_init(&m);
    char why[160];
    assert_int_equal(cli_meta_add_json(&m, " { \"content-type\" : \"image/jpeg\" , \"a\":\"\" } ",
                                       why, sizeof why),
                     TS_OK);
    assert_int_equal(m.count, 2);
    assert_string_equal(m.key[0], "content-type");
    assert_string_equal(m.value[0], "image/jpeg");
    assert_string_equal(m.key[1], "a");
    assert_string_equal(m.value[1], "");
    assert_int_equal(cli_meta_add_json(&m, "{\"esc\":\"q\\\"b\\\\s\\/n\\n\\u00e9\\ud83d\\ude00\"}",
                                       why, sizeof why),
                     TS_OK);
    assert_string_equal(m.value[2], "q\"b\\s/n\n\xc3\xa9\xf0\x9f\x98\x80");
    assert_int_equal(cli_meta_add_json(&m, "{}", why, sizeof why), TS_OK);
    assert_int_equal(m.count, 3);
    cli_meta_release(&m);
    assert_int_equal(m.count, 0);
}

static void test_meta_json_bad_ones_leave_entries(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",
        "[]",
        "{",
        "{\"a\"}",
        "{\"a\":1}",
        "{\"a\":\"b\",}",
        "{\"a\":\"b\"} x",
        "{\"a\":{\"b\":\"c\"}}",
        "{'a':'b'}",
        "{\"a\":\"b\" \"c\":\"d\"}",
        "{\"\":\"v\"}",
        "{\"a\":\"\\u0000\"}",
        "{\"a\":\"\\ud800\"}",
        "{\"a\":\"\\x41\"}",
        "{\"a\":\"line\nbreak\"}",
        "{\"k\":\"1\",\"k\":\"2\"}",
    };
    for (size_t i = 0; i < TS_ARRAY_LEN(bad); i++) {
        struct cli_meta m;
        cli_meta_init(&m);
        char why[160] = "";
        assert_int_equal(cli_meta_add_pair(&m, "keep=me", why, sizeof why), TS_OK);
        assert_int_not_equal(cli_meta_add_json(&m, bad[i], why, sizeof why), TS_OK);
        assert_true(strlen(why) > 5);
        assert_int_equal(m.count, 1);
        assert_string_equal(m.value[0], "me");
        cli_meta_release(&m);
    }
}

static void test_meta_pairs_and_limits(void **state)
{
    (void)state;
    struct cli_meta m;
    cli_meta_init(&m);
    char why[160];
    assert_int_equal(cli_meta_add_pair(&m, "k=v=w", why, sizeof why), TS_OK);
    assert_string_equal(m.key[0], "k");
    assert_string_equal(m.value[0], "v=w");
    assert_int_equal(cli_meta_add_pair(&m, "empty=", why, sizeof why), TS_OK);
    assert_int_equal(cli_meta_add_pair(&m, "novalue", why, sizeof why), TS_ERR_INVALID_ARGUMENT);
    assert_int_equal(cli_meta_add_pair(&m, "=v", why, sizeof why), TS_ERR_INVALID_ARGUMENT);
    assert_int_equal(cli_meta_add_pair(&m, "k=again", why, sizeof why), TS_ERR_INVALID_ARGUMENT);
    assert_int_equal(cli_meta_add_json(&m, "{\"k\":\"dup\"}", why, sizeof why),
                     TS_ERR_INVALID_ARGUMENT);
    for (size_t i = m.count; i < CLI_META_ENTRIES_MAX; i++) {
        char pair[32];
        snprintf(pair, sizeof pair, "n%zu=x", i);
        assert_int_equal(cli_meta_add_pair(&m, pair, why, sizeof why), TS_OK);
    }
    assert_int_equal(cli_meta_add_pair(&m, "one=more", why, sizeof why), TS_ERR_TOO_LARGE);
    cli_meta_release(&m);
    /* total text bound */
    char *big = malloc(CLI_META_TEXT_MAX + 8);
    assert_non_null(big);
    memset(big, 'x', CLI_META_TEXT_MAX + 7);
    big[0] = 'k';
    big[1] = '=';
    big[CLI_META_TEXT_MAX + 7] = 0;
    assert_int_equal(cli_meta_add_pair(&m, big, why, sizeof why), TS_ERR_TOO_LARGE);
    free(big);
    cli_meta_release(&m);
}

static void test_json_string_writer(void **state)
{
    (void)state;
    struct ts_buf b;
    ts_buf_init(&b, 1000);
    assert_int_equal(cli_json_string(&b, "a\"b\\c\nd\te\x01\xc3\xa9"), TS_OK);
    assert_string_equal((char *)b.data, "\"a\\\"b\\\\c\\nd\\te\\u0001\xc3\xa9\"");
    /* what the writer emits, the reader reads back */
    struct cli_meta m;
    cli_meta_init(&m);
    struct ts_buf doc;
    ts_buf_init(&doc, 1000);
    assert_int_equal(ts_buf_printf(&doc, "{%s:%s}", (char *)b.data, (char *)b.data), TS_OK);
    assert_int_equal(cli_meta_add_json(&m, (char *)doc.data, NULL, 0), TS_OK);
    assert_string_equal(m.value[0], "a\"b\\c\nd\te\x01\xc3\xa9");
    cli_meta_release(&m);
    ts_buf_release(&doc);
    ts_buf_release(&b);
}

/* ---- Option tables ---- */

enum { T_REC, T_RANGE, T_META, T_COUNT };
static const struct cli_opt t_opts[T_COUNT] = {
    [T_REC] = {"recursive", 'r', CLI_FLAG, NULL, "r"},
    [T_RANGE] = {"range", 0, CLI_VALUE, "R", "range"},
    [T_META] = {"meta", 0, CLI_REPEAT, "K=V", "meta"},
};
static const struct cli_spec t_spec = {
    .usage = "t SRC DST",
    .summary = "test",
    .opts = t_opts,
    .opt_count = T_COUNT,
    .positional_min = 2,
    .positional_max = 2,
};

static int parse(struct cli_args *a, char *err, int argc, ...)
{
    char *argv[16];
    va_list ap;
    va_start(ap, argc);
    for (int i = 0; i < argc; i++) {
        argv[i] = va_arg(ap, char *);
    }
    va_end(ap);
    return cli_args_parse(&t_spec, argc, argv, 1, a, err, 160);
}

static void test_args_table(void **state)
{
    (void)state;
    static struct cli_args a;
    char err[160];
    /* "-" is positional (stdin), option values are taken verbatim even when they start with '-',
     * options may follow positionals, --x=v works, repeats accumulate */
    assert_int_equal(
        parse(&a, err, 8, "cp", "-", "ts://b/k", "--range", "-500", "-r", "--meta=a=1", "--meta"),
        -1);
    assert_string_equal(err, "--meta needs a value");
    assert_int_equal(parse(&a, err, 9, "cp", "-", "ts://b/k", "--range", "-500", "-r", "--meta=a=1",
                           "--meta", "b=2"),
                     0);
    assert_string_equal(a.positional[0], "-");
    assert_string_equal(a.positional[1], "ts://b/k");
    assert_string_equal(cli_args_get(&a, T_RANGE), "-500");
    assert_true(a.set[T_REC]);
    assert_int_equal(a.value_count[T_META], 2);
    assert_string_equal(a.value[T_META][1], "b=2");
    /* after "--" everything is positional */
    assert_int_equal(parse(&a, err, 4, "cp", "--", "-r", "--range"), 0);
    assert_string_equal(a.positional[0], "-r");
    assert_false(a.set[T_REC]);
    /* options are read in order: an error before --help is reported, --help alone wins */
    assert_int_equal(parse(&a, err, 3, "cp", "--bogus", "--help"), -1);
    assert_int_equal(parse(&a, err, 2, "cp", "-h"), 0);
    assert_true(a.help);
}

static void test_args_errors(void **state)
{
    (void)state;
    static struct cli_args a;
    char err[160];
    assert_int_equal(parse(&a, err, 4, "cp", "a", "b", "--bogus"), -1);
    assert_string_equal(err, "unknown option --bogus");
    assert_int_equal(parse(&a, err, 4, "cp", "a", "b", "-rf"), -1); /* no bundling */
    assert_int_equal(parse(&a, err, 4, "cp", "a", "b", "--recursive=yes"), -1);
    assert_string_equal(err, "--recursive takes no value");
    assert_int_equal(parse(&a, err, 7, "cp", "a", "b", "--range", "1-2", "--range", "3-4"), -1);
    assert_string_equal(err, "--range given too many times");
    assert_int_equal(parse(&a, err, 2, "cp", "a"), -1);
    assert_string_equal(err, "missing arguments (need 2)");
    assert_int_equal(parse(&a, err, 4, "cp", "a", "b", "c"), -1);
    assert_string_equal(err, "too many arguments (at most 2)");
    /* a repeated option is bounded */
    char *argv[2 + 2 * (CLI_OPT_VALUES_MAX + 1)];
    int n = 0;
    argv[n++] = "cp";
    argv[n++] = "a";
    for (int i = 0; i <= CLI_OPT_VALUES_MAX; i++) {
        argv[n++] = "--meta";
        argv[n++] = "k=v";
    }
    assert_int_equal(cli_args_parse(&t_spec, n, argv, 1, &a, err, sizeof err), -1);
    assert_string_equal(err, "--meta given too many times");
}

/* ---- Progress text ---- */

static void test_progress_text(void **state)
{
    (void)state;
    char line[160], b[32];
    cli_bytes_format(532, b, sizeof b);
    assert_string_equal(b, "532 B");
    cli_bytes_format(1536, b, sizeof b);
    assert_string_equal(b, "1.5 KiB");
    cli_bytes_format(3u * 1024 * 1024, b, sizeof b);
    assert_string_equal(b, "3.0 MiB");
    /* 1 MiB of 4 MiB in 1 s: 25 %, 1.0 MiB/s, 3 s left */
    cli_progress_format(line, sizeof line, 1u << 20, 4u << 20, true, 1000, false, NULL);
    assert_string_equal(line,
                        " 25% [######..................] 1.0 MiB / 4.0 MiB  1.0 MiB/s  ETA 0:03");
    cli_progress_format(line, sizeof line, 2048, 0, false, 2000, false, NULL);
    assert_string_equal(line, "2.0 KiB  1.0 KiB/s");
    /* every byte sent but the upload still commits: 99 % and the note, never 100 % */
    cli_progress_format(line, sizeof line, 4u << 20, 4u << 20, true, 1000, false, "committing");
    assert_string_equal(line, " 99% [#######################.] 4.0 MiB / 4.0 MiB  4.0 MiB/s  "
                              "committing");
    cli_progress_format(line, sizeof line, 4u << 20, 4u << 20, true, 1000, false, NULL);
    assert_null(strstr(line, "100%"));
    cli_progress_format(line, sizeof line, 2048, 0, false, 2000, false, "committing");
    assert_string_equal(line, "2.0 KiB  1.0 KiB/s  committing");
    /* finished: 100 % */
    cli_progress_format(line, sizeof line, 4u << 20, 4u << 20, true, 1000, true, NULL);
    assert_string_equal(line, "100% [########################] 4.0 MiB / 4.0 MiB  4.0 MiB/s  "
                              "ETA 0:00");
    cli_progress_format(line, sizeof line, 0, 0, true, 0, true, NULL); /* empty object */
    assert_non_null(strstr(line, "100%"));
    cli_progress_format(line, sizeof line, 0, 0, true, 0, false, "committing");
    assert_non_null(strstr(line, " 99%"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_remote_forms),
        cmocka_unit_test(test_url_local_and_stdio),
        cmocka_unit_test(test_url_bad_ones),
        cmocka_unit_test(test_time_rfc3339),
        cmocka_unit_test(test_time_relative_and_now),
        cmocka_unit_test(test_time_bad_ones),
        cmocka_unit_test(test_range_forms),
        cmocka_unit_test(test_meta_json),
        cmocka_unit_test(test_meta_json_bad_ones_leave_entries),
        cmocka_unit_test(test_meta_pairs_and_limits),
        cmocka_unit_test(test_json_string_writer),
        cmocka_unit_test(test_args_table),
        cmocka_unit_test(test_args_errors),
        cmocka_unit_test(test_progress_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
