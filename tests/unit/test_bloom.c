/* Unit tests for core/bloom: sizing, measured false-positive rate, no false negatives ever, the
 * wire format, and refusal of hostile filter bytes. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"
#include "base/buf.h"
#include "bloom/bloom.h"

/* splitmix64: a deterministic stream of uniform IDs (piece IDs are HMAC outputs, also uniform). */
static uint64_t rng_state;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void random_id(uint8_t id[TS_BLOOM_ID_SIZE])
{
    for (int i = 0; i < TS_BLOOM_ID_SIZE; i += 8) {
        uint64_t v = rng_next();
        memcpy(id + i, &v, 8);
    }
}

static void test_optimal_sizing_matches_the_reference(void **state)
{
    (void)state;
    size_t size = 0;
    int k = 0;
    /* 10% FPR: 4.79 bits per element, 4 hashes (reference §8.8). */
    assert_int_equal(ts_bloom_optimal(1000, 0.1, TS_BLOOM_TABLE_SIZE_DEFAULT, &size, &k), TS_OK);
    assert_int_equal(k, 4);
    assert_int_equal(size, 600); /* ceil(1000 * 4.79 / 8) */
    assert_int_equal(ts_bloom_optimal(0, 0.1, TS_BLOOM_TABLE_SIZE_DEFAULT, &size, &k), TS_OK);
    assert_int_equal(size, TS_BLOOM_TABLE_SIZE_MIN);
    /* A cap bounds the table. */
    assert_int_equal(ts_bloom_optimal(100000000, 0.1, 4096, &size, &k), TS_OK);
    assert_int_equal(size, 4096);
    assert_int_equal(ts_bloom_optimal(10, 0.0, 4096, &size, &k), TS_ERR_INVALID_ARGUMENT);
    assert_int_equal(ts_bloom_optimal(10, 1.0, 4096, &size, &k), TS_ERR_INVALID_ARGUMENT);
    assert_int_equal(ts_bloom_optimal(10, 0.1, TS_BLOOM_TABLE_SIZE_MAX + 1, &size, &k),
                     TS_ERR_INVALID_ARGUMENT);
    assert_int_equal(ts_bloom_optimal(10, 0.1, 1, &size, &k), TS_ERR_INVALID_ARGUMENT);
    /* 1% FPR: 9.6 bits, 7 hashes. */
    assert_int_equal(ts_bloom_optimal(1000, 0.01, TS_BLOOM_TABLE_SIZE_DEFAULT, &size, &k), TS_OK);
    assert_int_equal(k, 7);
}

/* Inserts n random IDs, checks every one is found, then measures the FPR on m fresh IDs. */
static double measure_fpr(struct ts_bloom *f, size_t n, size_t m)
{
    uint8_t(*ids)[TS_BLOOM_ID_SIZE] = malloc(n * TS_BLOOM_ID_SIZE);
    assert_non_null(ids);
    for (size_t i = 0; i < n; i++) {
        random_id(ids[i]);
        ts_bloom_add(f, ids[i]);
    }
    for (size_t i = 0; i < n; i++) {
        assert_true(ts_bloom_contains(f, ids[i])); /* never a false negative */
    }
    free(ids);
    size_t hits = 0;
    for (size_t i = 0; i < m; i++) {
        uint8_t id[TS_BLOOM_ID_SIZE];
        random_id(id);
        hits += ts_bloom_contains(f, id);
    }
    return (double)hits / (double)m;
}

static void test_measured_fpr_is_close_to_the_target(void **state)
{
    (void)state;
    static const double targets[] = {0.1, 0.05, 0.01};
    for (size_t t = 0; t < TS_ARRAY_LEN(targets); t++) {
        for (int seed = 0; seed < 256; seed += 85) {
            rng_state = 1000u * t + (uint64_t)seed;
            struct ts_bloom *f = NULL;
            assert_int_equal(ts_bloom_new_optimal(50000, targets[t], TS_BLOOM_TABLE_SIZE_DEFAULT,
                                                  (uint8_t)seed, &f),
                             TS_OK);
            double fpr = measure_fpr(f, 50000, 200000);
            print_message("target %.2f seed %d: measured fpr %.4f (table %zu B, %d hashes)\n",
                          targets[t], seed, fpr, ts_bloom_table_size(f), ts_bloom_hash_count(f));
            /* 200k trials: the standard error is < 0.001; allow 25% relative slack either way. */
            assert_true(fpr > targets[t] * 0.75);
            assert_true(fpr < targets[t] * 1.25);
            ts_bloom_free(f);
        }
    }
}

static void test_capped_filter_keeps_every_element(void **state)
{
    (void)state;
    rng_state = 77;
    struct ts_bloom *f = NULL;
    assert_int_equal(ts_bloom_new_optimal(100000, 0.1, 4096, 3, &f), TS_OK);
    assert_int_equal(ts_bloom_table_size(f), 4096);
    double fpr = measure_fpr(f, 100000, 10000);
    double est = ts_bloom_fpr_estimate(4096, ts_bloom_hash_count(f), 100000);
    assert_true(fpr > 0.9); /* overfull: nearly everything is a positive, nothing is lost */
    assert_true(est > 0.9);
    ts_bloom_free(f);
}

static void test_encode_decode_round_trip(void **state)
{
    (void)state;
    rng_state = 5;
    struct ts_bloom *f = NULL, *g = NULL;
    assert_int_equal(ts_bloom_new_optimal(2000, 0.1, TS_BLOOM_TABLE_SIZE_DEFAULT, 201, &f), TS_OK);
    uint8_t ids[2000][TS_BLOOM_ID_SIZE];
    for (int i = 0; i < 2000; i++) {
        random_id(ids[i]);
        ts_bloom_add(f, ids[i]);
    }
    struct ts_buf b, b2;
    ts_buf_init(&b, TS_BLOOM_HEADER_SIZE + TS_BLOOM_TABLE_SIZE_MAX);
    ts_buf_init(&b2, TS_BLOOM_HEADER_SIZE + TS_BLOOM_TABLE_SIZE_MAX);
    assert_int_equal(ts_bloom_encode(f, &b), TS_OK);
    assert_int_equal(b.len, ts_bloom_encoded_size(f));
    assert_int_equal(b.data[0], TS_BLOOM_VERSION);
    assert_int_equal(b.data[1], 201);
    assert_int_equal(b.data[2], 4);
    assert_int_equal(ts_bloom_decode(b.data, b.len, &g), TS_OK);
    assert_int_equal(ts_bloom_seed(g), 201);
    for (int i = 0; i < 2000; i++) {
        assert_true(ts_bloom_contains(g, ids[i]));
    }
    for (int i = 0; i < 2000; i++) {
        uint8_t id[TS_BLOOM_ID_SIZE];
        random_id(id);
        assert_int_equal(ts_bloom_contains(f, id), ts_bloom_contains(g, id));
    }
    assert_int_equal(ts_bloom_encode(g, &b2), TS_OK);
    assert_int_equal(b.len, b2.len);
    assert_memory_equal(b.data, b2.data, b.len);
    /* An output buffer too small is refused and left as it was. */
    struct ts_buf small;
    ts_buf_init(&small, 10);
    assert_int_equal(ts_buf_append(&small, "ab", 2), TS_OK);
    assert_int_equal(ts_bloom_encode(f, &small), TS_ERR_TOO_LARGE);
    assert_int_equal(small.len, 2);
    ts_buf_release(&small);
    ts_buf_release(&b);
    ts_buf_release(&b2);
    ts_bloom_free(f);
    ts_bloom_free(g);
}

static void test_seeds_change_the_table(void **state)
{
    (void)state;
    uint8_t id[TS_BLOOM_ID_SIZE];
    rng_state = 9;
    random_id(id);
    struct ts_bloom *a = NULL, *b = NULL;
    assert_int_equal(ts_bloom_new(1024, 4, 0, &a), TS_OK);
    assert_int_equal(ts_bloom_new(1024, 4, 100, &b), TS_OK);
    ts_bloom_add(a, id);
    ts_bloom_add(b, id);
    struct ts_buf ea, eb;
    ts_buf_init(&ea, 2048);
    ts_buf_init(&eb, 2048);
    assert_int_equal(ts_bloom_encode(a, &ea), TS_OK);
    assert_int_equal(ts_bloom_encode(b, &eb), TS_OK);
    assert_memory_not_equal(ea.data + 3, eb.data + 3, 1024);
    ts_buf_release(&ea);
    ts_buf_release(&eb);
    ts_bloom_free(a);
    ts_bloom_free(b);
}

static void test_hostile_bytes_are_refused(void **state)
{
    (void)state;
    struct ts_bloom *f = (struct ts_bloom *)(uintptr_t)1;
    uint8_t ok[TS_BLOOM_HEADER_SIZE + 16] = {TS_BLOOM_VERSION, 7, 4};
    assert_int_equal(ts_bloom_decode(ok, sizeof ok, &f), TS_OK);
    ts_bloom_free(f);
    assert_int_equal(ts_bloom_decode(ok, 0, &f), TS_ERR_TRUNCATED);
    assert_null(f);
    assert_int_equal(ts_bloom_decode(ok, TS_BLOOM_HEADER_SIZE + TS_BLOOM_TABLE_SIZE_MIN - 1, &f),
                     TS_ERR_TRUNCATED);
    uint8_t bad[sizeof ok];
    memcpy(bad, ok, sizeof ok);
    bad[0] = 2;
    assert_int_equal(ts_bloom_decode(bad, sizeof bad, &f), TS_ERR_UNSUPPORTED_VERSION);
    bad[0] = 0;
    assert_int_equal(ts_bloom_decode(bad, sizeof bad, &f), TS_ERR_UNSUPPORTED_VERSION);
    memcpy(bad, ok, sizeof ok);
    bad[2] = 0;
    assert_int_equal(ts_bloom_decode(bad, sizeof bad, &f), TS_ERR_MALFORMED);
    bad[2] = TS_BLOOM_HASHES_MAX + 1;
    assert_int_equal(ts_bloom_decode(bad, sizeof bad, &f), TS_ERR_MALFORMED);
    bad[2] = 255;
    assert_int_equal(ts_bloom_decode(bad, sizeof bad, &f), TS_ERR_MALFORMED);
    size_t huge_len = TS_BLOOM_HEADER_SIZE + TS_BLOOM_TABLE_SIZE_MAX + 1;
    uint8_t *huge = calloc(1, huge_len);
    assert_non_null(huge);
    memcpy(huge, ok, TS_BLOOM_HEADER_SIZE);
    assert_int_equal(ts_bloom_decode(huge, huge_len, &f), TS_ERR_TOO_LARGE);
    assert_null(f);
    assert_int_equal(ts_bloom_decode(huge, huge_len - 1, &f), TS_OK); /* exactly the maximum */
    ts_bloom_free(f);
    free(huge);
    assert_int_equal(ts_bloom_new(TS_BLOOM_TABLE_SIZE_MIN - 1, 4, 0, &f), TS_ERR_INVALID_ARGUMENT);
    assert_int_equal(ts_bloom_new(64, 0, 0, &f), TS_ERR_INVALID_ARGUMENT);
    assert_int_equal(ts_bloom_new(64, TS_BLOOM_HASHES_MAX + 1, 0, &f), TS_ERR_INVALID_ARGUMENT);
    ts_bloom_free(NULL);
}

static void test_empty_filter_contains_nothing(void **state)
{
    (void)state;
    struct ts_bloom *f = NULL;
    assert_int_equal(ts_bloom_new_optimal(0, 0.1, TS_BLOOM_TABLE_SIZE_DEFAULT, 0, &f), TS_OK);
    rng_state = 11;
    for (int i = 0; i < 1000; i++) {
        uint8_t id[TS_BLOOM_ID_SIZE];
        random_id(id);
        assert_false(ts_bloom_contains(f, id));
    }
    ts_bloom_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_optimal_sizing_matches_the_reference),
        cmocka_unit_test(test_measured_fpr_is_close_to_the_target),
        cmocka_unit_test(test_capped_filter_keeps_every_element),
        cmocka_unit_test(test_encode_decode_round_trip),
        cmocka_unit_test(test_seeds_change_the_table),
        cmocka_unit_test(test_hostile_bytes_are_refused),
        cmocka_unit_test(test_empty_filter_contains_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
