/* Unit tests for the satellite's pure logic: redundancy schemes, compact piece lists, node
 * selection (distinct /24 subnets, unvetted fraction, exclusions) and last_net. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"
#include "base/buf.h"
#include "satellite/metainfo/pieces.h"
#include "satellite/metainfo/redundancy.h"
#include "satellite/overlay/select.h"

static void test_redundancy_parse_format_pack(void **state)
{
    (void)state;
    struct sat_redundancy r;
    char text[SAT_REDUNDANCY_TEXT_MAX];
    assert_int_equal(sat_redundancy_parse("29/52/80/110-256B", &r), TS_OK);
    assert_int_equal(r.required, 29);
    assert_int_equal(r.repair, 52);
    assert_int_equal(r.success, 80);
    assert_int_equal(r.total, 110);
    assert_int_equal(r.share_size, 256);
    sat_redundancy_format(&r, text, sizeof text);
    assert_string_equal(text, "29/52/80/110-256B");
    struct sat_redundancy u;
    assert_int_equal(sat_redundancy_unpack(sat_redundancy_pack(&r), &u), TS_OK);
    assert_memory_equal(&u, &r, sizeof r);
    assert_int_equal(sat_redundancy_parse("4/6/8/10-256", &r), TS_OK);
    assert_int_equal(r.total, 10);

    const char *bad[] = {"",
                         "4/6/8",
                         "4/6/8/10",
                         "4/6/8/10-",
                         "4/6/8/10-256X",
                         "a/6/8/10-256",
                         "4/6/8/10-256B ",
                         "-4/6/8/10-256",
                         "4//8/10-256"};
    for (size_t i = 0; i < TS_ARRAY_LEN(bad); i++) {
        assert_int_equal(sat_redundancy_parse(bad[i], &r), TS_ERR_MALFORMED);
    }
    /* Well-formed but inconsistent: m < k, o > n, k == n, share size not a multiple of 4. */
    const char *inconsistent[] = {"6/4/8/10-256B", "4/6/11/10-256B", "4/4/4/4-256B",
                                  "4/6/8/10-255B", "4/6/8/256-256B"};
    for (size_t i = 0; i < TS_ARRAY_LEN(inconsistent); i++) {
        assert_int_equal(sat_redundancy_parse(inconsistent[i], &r), TS_ERR_INVALID_ARGUMENT);
    }
    assert_int_equal(sat_redundancy_unpack(-1, &u), TS_ERR_MALFORMED);
    assert_int_equal(sat_redundancy_unpack(0, &u), TS_ERR_MALFORMED);
}

static void test_redundancy_sizes_match_the_reference(void **state)
{
    (void)state;
    struct sat_redundancy r;
    assert_int_equal(sat_redundancy_parse(SAT_REDUNDANCY_PRODUCTION, &r), TS_OK);
    /* Reference §1: a full 64 MiB segment encrypts to 67,254,016 bytes -> 9,060 stripes. */
    assert_int_equal(sat_redundancy_stripe_size(&r), 7424);
    assert_int_equal(sat_redundancy_piece_size(&r, 67254016), 9060 * 256);
    /* Reference §2.1: 29/80/110 -> 39 download limits. */
    assert_int_equal(sat_redundancy_download_count(&r), 39);
    assert_int_equal(sat_redundancy_parse(SAT_REDUNDANCY_LOCAL, &r), TS_OK);
    /* 4 + floor(2 * 4 / 8) = 5. */
    assert_int_equal(sat_redundancy_download_count(&r), 5);
    /* One stripe of 1024 bytes: 1020 bytes fit with the 4-byte count, 1021 need two stripes. */
    assert_int_equal(sat_redundancy_piece_size(&r, 1020), 256);
    assert_int_equal(sat_redundancy_piece_size(&r, 1021), 512);
    /* n == o gives t = k but at least k + 1. */
    assert_int_equal(sat_redundancy_parse("2/3/4/4-256B", &r), TS_OK);
    assert_int_equal(sat_redundancy_download_count(&r), 3);
}

static void test_alias_pieces_round_trip_and_reject_garbage(void **state)
{
    (void)state;
    struct sat_alias_piece in[5] = {{0, 7}, {1, 300}, {5, 1}, {100, 70000}, {254, 2}};
    struct sat_alias_piece out[5];
    struct ts_buf b;
    size_t n = 0;
    ts_buf_init(&b, 1024);
    assert_int_equal(sat_alias_pieces_encode(in, 5, &b), TS_OK);
    assert_true(b.len <= SAT_ALIAS_PIECES_ENCODED_MAX(5));
    assert_int_equal(sat_alias_pieces_decode(b.data, b.len, out, 5, &n), TS_OK);
    assert_int_equal(n, 5);
    assert_memory_equal(in, out, sizeof in);
    /* Too small an output array. */
    assert_int_equal(sat_alias_pieces_decode(b.data, b.len, out, 4, &n), TS_ERR_TOO_LARGE);
    /* A truncated varint. */
    assert_int_equal(sat_alias_pieces_decode(b.data, b.len - 1, out, 5, &n), TS_ERR_MALFORMED);
    /* A wrong format byte. */
    b.data[0] = 9;
    assert_int_equal(sat_alias_pieces_decode(b.data, b.len, out, 5, &n), TS_ERR_MALFORMED);
    /* Unsorted, duplicate, zero alias and out-of-range pieces are refused on encode. */
    ts_buf_clear(&b);
    struct sat_alias_piece unsorted[2] = {{3, 1}, {2, 1}};
    struct sat_alias_piece dup[2] = {{3, 1}, {3, 2}};
    struct sat_alias_piece zero[1] = {{3, 0}};
    struct sat_alias_piece range[1] = {{255, 1}};
    assert_int_equal(sat_alias_pieces_encode(unsorted, 2, &b), TS_ERR_INVALID_ARGUMENT);
    assert_int_equal(sat_alias_pieces_encode(dup, 2, &b), TS_ERR_INVALID_ARGUMENT);
    assert_int_equal(sat_alias_pieces_encode(zero, 1, &b), TS_ERR_INVALID_ARGUMENT);
    assert_int_equal(sat_alias_pieces_encode(range, 1, &b), TS_ERR_INVALID_ARGUMENT);
    assert_int_equal(b.len, 0);
    /* A gap that walks past the last share number. */
    uint8_t far[] = {1, 0x80, 0x02, 1};
    assert_int_equal(sat_alias_pieces_decode(far, sizeof far, out, 5, &n), TS_ERR_MALFORMED);
    ts_buf_release(&b);
}

/* count candidates; candidate i lives in subnet 10.(i / per_net).0 and is vetted when
 * i % vetted_every == 0 (vetted_every 0: none vetted). */
static struct sat_node_candidate *make_cands(size_t count, size_t per_net, size_t vetted_every)
{
    struct sat_node_candidate *c = calloc(count, sizeof *c);
    assert_non_null(c);
    for (size_t i = 0; i < count; i++) {
        c[i].id[0] = (uint8_t)i;
        c[i].id[1] = (uint8_t)(i >> 8);
        snprintf(c[i].last_net, sizeof c[i].last_net, "10.%zu.0", i / per_net);
        snprintf(c[i].address, sizeof c[i].address, "10.%zu.0.%zu:7777", i / per_net, i % per_net);
        c[i].vetted = vetted_every != 0 && i % vetted_every == 0;
    }
    return c;
}

static void test_selection_uses_distinct_subnets(void **state)
{
    (void)state;
    /* 300 nodes in 100 subnets, all vetted. */
    struct sat_node_candidate *c = make_cands(300, 3, 1);
    struct sat_select_config cfg = {.count = 80, .new_fraction = 0, .distinct_nets = 1};
    struct sat_rng rng;
    size_t chosen[255], n = 0;
    sat_rng_seed(&rng, 42);
    for (int round = 0; round < 20; round++) {
        assert_int_equal(sat_select_nodes(&cfg, c, 300, NULL, 0, &rng, chosen, &n), TS_OK);
        assert_int_equal(n, 80);
        for (size_t i = 0; i < n; i++) {
            for (size_t j = 0; j < i; j++) {
                assert_string_not_equal(c[chosen[i]].last_net, c[chosen[j]].last_net);
            }
        }
    }
    /* Asking for more nodes than subnets returns one per subnet. */
    cfg.count = 150;
    assert_int_equal(sat_select_nodes(&cfg, c, 300, NULL, 0, &rng, chosen, &n), TS_OK);
    assert_int_equal(n, 100);
    /* Without the subnet rule (local networks on one address) every node can be used. */
    cfg.count = 200;
    cfg.distinct_nets = 0;
    assert_int_equal(sat_select_nodes(&cfg, c, 300, NULL, 0, &rng, chosen, &n), TS_OK);
    assert_int_equal(n, 200);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < i; j++) {
            assert_true(chosen[i] != chosen[j]);
        }
    }
    free(c);
}

static void test_selection_excludes_subnets(void **state)
{
    (void)state;
    struct sat_node_candidate *c = make_cands(20, 1, 1);
    struct sat_select_config cfg = {.count = 20, .distinct_nets = 1};
    const char *excluded[] = {"10.3.0", "10.7.0"};
    struct sat_rng rng;
    size_t chosen[255], n = 0;
    sat_rng_seed(&rng, 7);
    assert_int_equal(sat_select_nodes(&cfg, c, 20, excluded, 2, &rng, chosen, &n), TS_OK);
    assert_int_equal(n, 18);
    for (size_t i = 0; i < n; i++) {
        assert_true(chosen[i] != 3 && chosen[i] != 7);
    }
    free(c);
}

static void test_selection_unvetted_fraction(void **state)
{
    (void)state;
    /* 1000 nodes, one subnet each; every 2nd vetted -> 500 vetted, 500 new. */
    struct sat_node_candidate *c = make_cands(1000, 1, 2);
    struct sat_select_config cfg = {.count = 100, .new_fraction = 0.05, .distinct_nets = 1};
    struct sat_rng rng;
    size_t chosen[255], n = 0;
    sat_rng_seed(&rng, 1);
    for (int round = 0; round < 10; round++) {
        assert_int_equal(sat_select_nodes(&cfg, c, 1000, NULL, 0, &rng, chosen, &n), TS_OK);
        assert_int_equal(n, 100);
        size_t fresh = 0;
        for (size_t i = 0; i < n; i++) {
            fresh += !c[chosen[i]].vetted;
        }
        assert_int_equal(fresh, 5);
    }
    /* Fraction 0: no unvetted node at all while vetted ones suffice. */
    cfg.new_fraction = 0;
    assert_int_equal(sat_select_nodes(&cfg, c, 1000, NULL, 0, &rng, chosen, &n), TS_OK);
    for (size_t i = 0; i < n; i++) {
        assert_true(c[chosen[i]].vetted);
    }
    /* n * fraction < 1 is a probability: over many rounds the count averages ~0.5. */
    cfg.count = 10;
    cfg.new_fraction = 0.05;
    size_t total_fresh = 0;
    for (int round = 0; round < 400; round++) {
        assert_int_equal(sat_select_nodes(&cfg, c, 1000, NULL, 0, &rng, chosen, &n), TS_OK);
        for (size_t i = 0; i < n; i++) {
            total_fresh += !c[chosen[i]].vetted;
        }
    }
    assert_in_range(total_fresh, 120, 280);
    free(c);
}

static void test_selection_fills_with_unvetted_only_when_allowed(void **state)
{
    (void)state;
    /* 10 nodes, none vetted (a fresh local network). */
    struct sat_node_candidate *c = make_cands(10, 1, 0);
    struct sat_select_config cfg = {.count = 10, .new_fraction = 0.05, .distinct_nets = 1};
    struct sat_rng rng;
    size_t chosen[255], n = 0;
    sat_rng_seed(&rng, 3);
    assert_int_equal(sat_select_nodes(&cfg, c, 10, NULL, 0, &rng, chosen, &n), TS_OK);
    assert_true(n <= 1);
    cfg.fill_unvetted = 1;
    assert_int_equal(sat_select_nodes(&cfg, c, 10, NULL, 0, &rng, chosen, &n), TS_OK);
    assert_int_equal(n, 10);
    cfg.count = 0;
    assert_int_equal(sat_select_nodes(&cfg, c, 10, NULL, 0, &rng, chosen, &n),
                     TS_ERR_INVALID_ARGUMENT);
    cfg.count = 5;
    cfg.new_fraction = 1.5;
    assert_int_equal(sat_select_nodes(&cfg, c, 10, NULL, 0, &rng, chosen, &n),
                     TS_ERR_INVALID_ARGUMENT);
    free(c);
}

static void test_last_net(void **state)
{
    (void)state;
    char net[SAT_LAST_NET_MAX];
    assert_int_equal(sat_last_net("192.168.7.42", net, sizeof net), TS_OK);
    assert_string_equal(net, "192.168.7");
    assert_int_equal(sat_last_net("2001:db8:1:2:3::4", net, sizeof net), TS_OK);
    assert_string_equal(net, "2001:0db8:0001:0002::/64");
    assert_int_equal(sat_last_net("node.example", net, sizeof net), TS_OK);
    assert_string_equal(net, "node.example");
    char tiny[4];
    assert_int_equal(sat_last_net("10.0.0.1", tiny, sizeof tiny), TS_ERR_TOO_LARGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redundancy_parse_format_pack),
        cmocka_unit_test(test_redundancy_sizes_match_the_reference),
        cmocka_unit_test(test_alias_pieces_round_trip_and_reject_garbage),
        cmocka_unit_test(test_selection_uses_distinct_subnets),
        cmocka_unit_test(test_selection_excludes_subnets),
        cmocka_unit_test(test_selection_unvetted_fraction),
        cmocka_unit_test(test_selection_fills_with_unvetted_only_when_allowed),
        cmocka_unit_test(test_last_net),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
