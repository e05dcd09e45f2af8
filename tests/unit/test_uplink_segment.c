/* Unit tests for the uplink's in-process segment pipeline (uplink/segment.c): streaming
 * encrypt + erasure-code equals the one-shot reference path, any k pieces decode, ranged windows
 * decode, and a corrupted piece is detected by authentication and routed around. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"
#include "base/pad.h"
#include "crypto/segment.h"
#include "ec/ec.h"
#include "uplink/segment.h"

struct coded {
    struct ts_ec *ec;
    int k, n;
    uint8_t **pieces;
    size_t piece_cap;
    struct ul_seg_layout layout;
    uint8_t key[32];
    uint8_t nonce[24];
    uint8_t *plain;
};

static uint64_t rng_state = 12345;
static uint32_t rnd(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33);
}

static void coded_release(struct coded *c)
{
    for (int i = 0; i < c->n; i++) {
        free(c->pieces[i]);
    }
    free(c->pieces);
    free(c->plain);
    ts_ec_free(c->ec);
    memset(c, 0, sizeof(*c));
}

/* Encodes len pseudo-random bytes written in chunks of chunk bytes (0 = random chunk sizes). */
static void coded_make(struct coded *c, int k, int n, size_t len, size_t chunk)
{
    memset(c, 0, sizeof(*c));
    c->k = k;
    c->n = n;
    assert_int_equal(ts_ec_new(k, n, 256, &c->ec), TS_OK);
    struct ul_seg_layout full;
    ul_seg_layout_init(&full, c->ec, len);
    c->piece_cap = full.piece_size;
    c->pieces = calloc((size_t)n, sizeof(*c->pieces));
    for (int i = 0; i < n; i++) {
        c->pieces[i] = malloc(c->piece_cap);
        assert_non_null(c->pieces[i]);
    }
    c->plain = malloc(len + 1);
    for (size_t i = 0; i < len; i++) {
        c->plain[i] = (uint8_t)rnd();
    }
    for (size_t i = 0; i < 32; i++) {
        c->key[i] = (uint8_t)(i * 7 + 1);
    }
    ts_segment_start_nonce(0, 3, c->nonce);
    struct ul_seg_encoder *e = NULL;
    assert_int_equal(ul_seg_encoder_new(c->ec, &e), TS_OK);
    ul_seg_encoder_begin(e, c->pieces, c->piece_cap, c->key, c->nonce);
    size_t off = 0;
    while (off < len) {
        size_t take = chunk ? chunk : 1 + rnd() % 20000;
        take = take < len - off ? take : len - off;
        assert_int_equal(ul_seg_encoder_write(e, c->plain + off, take), TS_OK);
        off += take;
        assert_true(ul_seg_encoder_stripes(e) * 256 <= c->piece_cap);
    }
    assert_int_equal(ul_seg_encoder_finish(e, &c->layout), TS_OK);
    assert_int_equal(ul_seg_encoder_stripes(e), c->layout.stripes);
    assert_int_equal(ul_seg_encoder_plain_len(e), len);
    ul_seg_encoder_free(e);
}

/* The reference path: whole-segment encryption, erasure padding, whole-segment encode. */
static void check_against_reference(const struct coded *c)
{
    const struct ul_seg_layout *l = &c->layout;
    size_t padded = l->stripes * l->stripe_size;
    uint8_t *enc = malloc(padded);
    struct ts_segment_cipher *cipher = NULL;
    assert_int_equal(ts_segment_cipher_new(&cipher), TS_OK);
    assert_int_equal(ts_segment_encrypt(cipher, c->key, c->nonce, c->plain, l->plain_len, enc),
                     TS_OK);
    assert_int_equal(ts_segment_encrypted_size(l->plain_len), l->encrypted_size);
    ts_pad_write(enc + l->encrypted_size, padded - l->encrypted_size);
    uint8_t **ref = calloc((size_t)c->n, sizeof(*ref));
    for (int i = 0; i < c->n; i++) {
        ref[i] = malloc(l->piece_size);
    }
    assert_int_equal(ts_ec_encode(c->ec, enc, l->stripes, ref, (size_t)c->n), TS_OK);
    for (int i = 0; i < c->n; i++) {
        assert_memory_equal(ref[i], c->pieces[i], l->piece_size);
        free(ref[i]);
    }
    free(ref);
    free(enc);
    ts_segment_cipher_free(cipher);
}

/* Decodes blocks [b0, b0 + bc) from the given piece numbers (all present from stripe 0). */
static ts_err decode_with(const struct coded *c, struct ul_seg_decoder *d, const int *nums,
                          size_t count, bool *bad, size_t b0, size_t bc, uint8_t *out)
{
    const uint8_t *bufs[256];
    size_t avail[256];
    for (size_t j = 0; j < count; j++) {
        bufs[j] = c->pieces[nums[j]];
        avail[j] = c->layout.stripes;
    }
    struct ul_seg_pieces p = {.bufs = bufs, .piece_nums = nums, .avail = avail, .bad = bad,
                              .count = count, .base_stripe = 0};
    return ul_seg_decoder_blocks(d, &c->layout, c->key, c->nonce, &p, b0, bc, out);
}

/* Decodes the whole segment window by window and compares with the plaintext. */
static void check_full_decode(const struct coded *c, const int *nums, size_t count)
{
    struct ul_seg_decoder *d = NULL;
    assert_int_equal(ul_seg_decoder_new(c->ec, &d), TS_OK);
    uint8_t *out = malloc(UL_DECODE_WINDOW_BLOCKS * UL_PLAIN_BLOCK);
    bool bad[256] = {false};
    for (size_t b = 0; b < c->layout.blocks; b += UL_DECODE_WINDOW_BLOCKS) {
        size_t bc = c->layout.blocks - b;
        bc = bc < UL_DECODE_WINDOW_BLOCKS ? bc : UL_DECODE_WINDOW_BLOCKS;
        assert_int_equal(decode_with(c, d, nums, count, bad, b, bc, out), TS_OK);
        size_t from = b * UL_PLAIN_BLOCK;
        size_t have = bc * UL_PLAIN_BLOCK;
        size_t want = from < c->layout.plain_len ? c->layout.plain_len - from : 0;
        assert_memory_equal(out, c->plain + from, want < have ? want : have);
    }
    free(out);
    ul_seg_decoder_free(d);
}

static void random_subset(int n, int k, int *out)
{
    int perm[256];
    for (int i = 0; i < n; i++) {
        perm[i] = i;
    }
    for (int i = 0; i < k; i++) {
        int r = i + (int)(rnd() % (uint32_t)(n - i));
        int t = perm[i];
        perm[i] = perm[r];
        perm[r] = t;
        out[i] = perm[i];
    }
}

static void test_layout_matches_the_padding_rule(void **state)
{
    (void)state;
    struct ts_ec *ec = NULL;
    assert_int_equal(ts_ec_new(29, 80, 256, &ec), TS_OK);
    struct ul_seg_layout l;
    ul_seg_layout_init(&l, ec, TS_SEGMENT_SIZE_MAX); /* reference §1 table */
    assert_int_equal(l.blocks, 9059);
    assert_int_equal(l.encrypted_size, 67254016);
    assert_int_equal(l.stripes, 9060);
    assert_int_equal(l.piece_size, 2319360);
    ul_seg_layout_init(&l, ec, 0);
    assert_int_equal(l.blocks, 1);
    assert_int_equal(l.stripes, 2); /* one block is one stripe; erasure padding adds one */
    ul_seg_layout_init(&l, ec, 7404);
    assert_int_equal(l.blocks, 1);
    ul_seg_layout_init(&l, ec, 7405);
    assert_int_equal(l.blocks, 2);
    ts_ec_free(ec);
}

static void test_streaming_equals_reference_for_edge_sizes(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 4095, 4096, 7404, 7405, 7408, 7409, 1023, 1024,
                                   16 * 7408, 16 * 7408 + 1, 100000, 1 << 20};
    static const int codes[][2] = {{4, 10}, {29, 80}, {1, 3}, {3, 3}};
    for (size_t ci = 0; ci < TS_ARRAY_LEN(codes); ci++) {
        for (size_t si = 0; si < TS_ARRAY_LEN(sizes); si++) {
            struct coded c;
            coded_make(&c, codes[ci][0], codes[ci][1], sizes[si], si % 2 ? 0 : 4096);
            check_against_reference(&c);
            int nums[256];
            random_subset(c.n, c.k, nums);
            check_full_decode(&c, nums, (size_t)c.k);
            coded_release(&c);
        }
    }
}

static void test_any_k_pieces_decode(void **state)
{
    (void)state;
    struct coded c;
    coded_make(&c, 4, 10, 300000, 0);
    int parity_only[4] = {6, 7, 8, 9};
    check_full_decode(&c, parity_only, 4);
    int data_only[4] = {0, 1, 2, 3};
    check_full_decode(&c, data_only, 4);
    for (int trial = 0; trial < 10; trial++) {
        int nums[10];
        random_subset(10, 4 + trial % 3, nums);
        check_full_decode(&c, nums, (size_t)(4 + trial % 3));
    }
    coded_release(&c);
}

static void test_ranged_windows_decode_and_missing_pieces_are_reported(void **state)
{
    (void)state;
    struct coded c;
    coded_make(&c, 4, 10, 1 << 20, 0);
    struct ul_seg_decoder *d = NULL;
    assert_int_equal(ul_seg_decoder_new(c.ec, &d), TS_OK);
    uint8_t *out = malloc(UL_DECODE_WINDOW_BLOCKS * UL_PLAIN_BLOCK);
    bool bad[10] = {false};
    int nums[10];
    for (int trial = 0; trial < 40; trial++) {
        size_t b0 = rnd() % c.layout.blocks;
        size_t bc = 1 + rnd() % UL_DECODE_WINDOW_BLOCKS;
        bc = b0 + bc > c.layout.blocks ? c.layout.blocks - b0 : bc;
        random_subset(10, 4, nums);
        /* Give only the stripes the window needs, as a ranged piece download would. */
        size_t s0, sc;
        ul_seg_blocks_to_stripes(&c.layout, b0, bc, &s0, &sc);
        const uint8_t *bufs[4];
        size_t avail[4];
        for (int j = 0; j < 4; j++) {
            bufs[j] = c.pieces[nums[j]] + s0 * 256;
            avail[j] = sc;
        }
        struct ul_seg_pieces p = {.bufs = bufs, .piece_nums = nums, .avail = avail, .bad = bad,
                                  .count = 4, .base_stripe = s0};
        assert_int_equal(ul_seg_decoder_blocks(d, &c.layout, c.key, c.nonce, &p, b0, bc, out),
                         TS_OK);
        size_t from = b0 * UL_PLAIN_BLOCK;
        size_t want = c.layout.plain_len - from;
        want = want < bc * UL_PLAIN_BLOCK ? want : bc * UL_PLAIN_BLOCK;
        assert_memory_equal(out, c.plain + from, want);
        /* One piece short of the window's last stripe: not enough shares yet. */
        avail[2] = sc - 1;
        assert_int_equal(ul_seg_decoder_blocks(d, &c.layout, c.key, c.nonce, &p, b0, bc, out),
                         TS_ERR_NOT_ENOUGH_SHARES);
    }
    assert_int_equal(decode_with(&c, d, nums, 4, bad, c.layout.blocks - 1, 2, out),
                     TS_ERR_INVALID_ARGUMENT);
    free(out);
    ul_seg_decoder_free(d);
    coded_release(&c);
}

static void test_corrupted_piece_is_detected_and_avoided(void **state)
{
    (void)state;
    struct coded c;
    coded_make(&c, 4, 10, 200000, 0);
    struct ul_seg_decoder *d = NULL;
    assert_int_equal(ul_seg_decoder_new(c.ec, &d), TS_OK);
    uint8_t *out = malloc(UL_DECODE_WINDOW_BLOCKS * UL_PLAIN_BLOCK);
    c.pieces[1][300] ^= 0x40; /* stripe 1 of piece 1: block 0 */
    int nums[6] = {1, 5, 7, 9, 2, 3};
    bool bad[6] = {false};
    /* With exactly k pieces, one of them corrupt, nothing authenticates. */
    assert_int_equal(decode_with(&c, d, nums, 4, bad, 0, 8, out), TS_ERR_AUTH_FAILED);
    for (size_t i = 0; i < 8 * UL_PLAIN_BLOCK; i++) {
        assert_int_equal(out[i], 0); /* no unverified plaintext escapes */
    }
    /* One spare: the swap that authenticates proves piece 1 bad. */
    assert_int_equal(decode_with(&c, d, nums, 5, bad, 0, 8, out), TS_OK);
    assert_memory_equal(out, c.plain, 8 * UL_PLAIN_BLOCK);
    assert_true(bad[0]);
    for (int j = 1; j < 5; j++) {
        assert_false(bad[j]);
    }
    /* Later windows skip the flagged piece without retrying. */
    assert_int_equal(decode_with(&c, d, nums, 5, bad, 8, 8, out), TS_OK);
    assert_memory_equal(out, c.plain + 8 * UL_PLAIN_BLOCK, 8 * UL_PLAIN_BLOCK);
    /* Two corrupt pieces among six: random subsets find the honest four. */
    c.pieces[9][256 * 3 + 5] ^= 1;
    bool bad2[6] = {false};
    assert_int_equal(decode_with(&c, d, nums, 6, bad2, 0, 8, out), TS_OK);
    assert_memory_equal(out, c.plain, 8 * UL_PLAIN_BLOCK);
    free(out);
    ul_seg_decoder_free(d);
    coded_release(&c);
}

static void test_full_segment_and_overflow(void **state)
{
    (void)state;
    struct coded c;
    coded_make(&c, 29, 40, TS_SEGMENT_SIZE_MAX, 1 << 20);
    assert_int_equal(c.layout.piece_size, 2319360);
    int nums[29];
    random_subset(40, 29, nums);
    check_full_decode(&c, nums, 29);
    /* The encoder refuses a 64 MiB + 1 segment. */
    struct ul_seg_encoder *e = NULL;
    assert_int_equal(ul_seg_encoder_new(c.ec, &e), TS_OK);
    ul_seg_encoder_begin(e, c.pieces, c.piece_cap, c.key, c.nonce);
    assert_int_equal(ul_seg_encoder_write(e, c.plain, TS_SEGMENT_SIZE_MAX), TS_OK);
    assert_int_equal(ul_seg_encoder_write(e, c.plain, 1), TS_ERR_TOO_LARGE);
    ul_seg_encoder_free(e);
    coded_release(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_matches_the_padding_rule),
        cmocka_unit_test(test_streaming_equals_reference_for_edge_sizes),
        cmocka_unit_test(test_any_k_pieces_decode),
        cmocka_unit_test(test_ranged_windows_decode_and_missing_pieces_are_reported),
        cmocka_unit_test(test_corrupted_piece_is_detected_and_avoided),
        cmocka_unit_test(test_full_segment_and_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
