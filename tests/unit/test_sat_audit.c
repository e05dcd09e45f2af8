/*
 * Audit sampling and its pieces that need no network: the weighted reservoir (A-Res) keeps at
 * most `slots` distinct picks and favours large segments in proportion to their size (seeded
 * generator, so the counts are reproducible); the audit queue hands out each pick once; the
 * collector keeps one entry per segment however many nodes picked it; the outcome mapping of
 * transfer errors; and whole-piece proof verification (limit signature, uplink hash, data).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"
#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "satellite/audit/audit.h"
#include "satellite/audit/piece_client.h"

static struct sat_audit_pick pick_of(uint8_t tag, int64_t position)
{
    struct sat_audit_pick p;
    memset(p.stream_id, tag, sizeof p.stream_id);
    p.position = position;
    return p;
}

static void test_reservoir_weighted(void **state)
{
    (void)state;
    struct sat_rng rng;
    sat_rng_seed(&rng, 42);
    int heavy = 0;
    const int trials = 4000;
    for (int t = 0; t < trials; t++) {
        struct sat_reservoir r;
        sat_reservoir_init(&r, 1);
        struct sat_audit_pick a = pick_of(1, 0), b = pick_of(2, 0);
        sat_reservoir_offer(&r, &rng, 1.0, &a);
        sat_reservoir_offer(&r, &rng, 9.0, &b);
        assert_int_equal(r.count, 1);
        heavy += r.picks[0].stream_id[0] == 2;
    }
    /* P(heavy wins) = 9 / 10 for A-Res with one slot; 4000 draws: sd ~0.5 %. */
    assert_true(heavy > trials * 0.87 && heavy < trials * 0.93);
}

static void test_reservoir_slots(void **state)
{
    (void)state;
    struct sat_rng rng;
    sat_rng_seed(&rng, 7);
    struct sat_reservoir r;
    sat_reservoir_init(&r, 3);
    for (int i = 0; i < 100; i++) {
        struct sat_audit_pick p = pick_of((uint8_t)i, i);
        sat_reservoir_offer(&r, &rng, 100.0, &p);
        assert_true(r.count <= 3);
    }
    assert_int_equal(r.count, 3);
    assert_true(r.picks[0].position != r.picks[1].position &&
                r.picks[1].position != r.picks[2].position &&
                r.picks[0].position != r.picks[2].position);
    /* Uniform weights: every segment is equally likely to stay (3 of 10 over many runs). */
    int kept[10] = {0};
    for (int t = 0; t < 3000; t++) {
        sat_reservoir_init(&r, 3);
        for (int i = 0; i < 10; i++) {
            struct sat_audit_pick p = pick_of(0, i);
            sat_reservoir_offer(&r, &rng, 5.0, &p);
        }
        for (int j = 0; j < r.count; j++) {
            kept[r.picks[j].position]++;
        }
    }
    for (int i = 0; i < 10; i++) {
        assert_true(kept[i] > 800 && kept[i] < 1000); /* expect 900 */
    }
}

static void test_collector_dedups(void **state)
{
    (void)state;
    struct sat_audit_queue q;
    struct sat_audit_collector c;
    struct sat_loop_observer obs;
    sat_audit_queue_init(&q);
    assert_int_equal(sat_audit_collector_init(&c, 2, &q), TS_OK);
    sat_audit_collector_observer(&c, &obs);
    struct sat_loop_node nodes[6];
    memset(nodes, 0, sizeof nodes);
    struct sat_loop_nodes snap = {nodes, 6};
    assert_int_equal(obs.begin(obs.ctx, &snap, 0), TS_OK);
    struct sat_loop_segment *s = calloc(1, sizeof *s);
    for (int seg = 0; seg < 2; seg++) { /* two segments, each on nodes 1..5 */
        memset(s->stream_id, seg + 1, SAT_ID_SIZE);
        s->encrypted_size = 1000;
        s->piece_count = 5;
        for (uint32_t i = 0; i < 5; i++) {
            s->pieces[i] = (struct sat_alias_piece){i, i + 1};
        }
        assert_int_equal(obs.segment(obs.ctx, s), TS_OK);
    }
    obs.end(obs.ctx, true, 1);
    /* Every node's 2 slots hold both segments: the queue still has each segment once. */
    assert_int_equal(sat_audit_queue_length(&q), 2);
    struct sat_audit_pick a, b, none;
    assert_true(sat_audit_queue_pop(&q, &a));
    assert_true(sat_audit_queue_pop(&q, &b));
    assert_false(sat_audit_queue_pop(&q, &none));
    assert_int_not_equal(a.stream_id[0], b.stream_id[0]);
    free(s);
    sat_audit_collector_release(&c);
    sat_audit_queue_release(&q);
}

static void test_outcome_mapping(void **state)
{
    (void)state;
    assert_int_equal(sat_piece_outcome(TS_OK, true), SAT_AUDIT_SUCCESS);
    assert_int_equal(sat_piece_outcome(TS_ERR_CONNECT, false), SAT_AUDIT_OFFLINE);
    assert_int_equal(sat_piece_outcome(TS_ERR_TIMEOUT, false), SAT_AUDIT_OFFLINE);
    assert_int_equal(sat_piece_outcome(TS_ERR_CLOSED, true), SAT_AUDIT_OFFLINE);
    assert_int_equal(sat_piece_outcome(TS_ERR_NOT_FOUND, true), SAT_AUDIT_FAILURE);
    assert_int_equal(sat_piece_outcome(TS_ERR_TIMEOUT, true), SAT_AUDIT_CONTAINED);
    assert_int_equal(sat_piece_outcome(TS_ERR_PROTOCOL, true), SAT_AUDIT_UNKNOWN);
    struct ts_node_url url;
    uint8_t id[TS_NODE_ID_SIZE] = {1};
    assert_int_equal(sat_node_url_make(id, "127.0.0.1:7777", &url), TS_OK);
    assert_string_equal(url.host, "127.0.0.1");
    assert_int_equal(url.port, 7777);
    assert_int_equal(sat_node_url_make(id, "127.0.0.1", &url), TS_ERR_MALFORMED);
    assert_int_equal(sat_node_url_make(id, "h:0", &url), TS_ERR_MALFORMED);
    assert_int_equal(sat_node_url_make(id, "h:99999", &url), TS_ERR_MALFORMED);
}

/* A proof as a node would return it for a piece the "uplink" stored. */
static void make_proof(struct ts_identity *sat, const uint8_t *node_id, const uint8_t *data,
                       size_t size, struct sat_piece_proof *proof, uint8_t priv[64])
{
    uint8_t pub[32];
    memset(proof, 0, sizeof *proof);
    assert_int_equal(ts_ed25519_keypair(pub, priv), TS_OK);
    struct ts_order_limit *l = &proof->limit;
    memcpy(l->satellite_id.bytes, ts_identity_id(sat)->bytes, TS_NODE_ID_SIZE);
    memcpy(l->storage_node_id.bytes, node_id, TS_NODE_ID_SIZE);
    memset(l->piece_id, 5, TS_PIECE_ID_SIZE);
    memcpy(l->uplink_public_key, pub, 32);
    l->limit_bytes = (int64_t)size;
    l->action = TS_PIECE_ACTION_PUT;
    l->order_creation_s = 100;
    l->order_expiration_s = 200;
    assert_int_equal(ts_serial_new(200, l->serial), TS_OK);
    assert_int_equal(ts_order_limit_sign(l, sat), TS_OK);
    struct ts_piece_hash *h = &proof->hash;
    memcpy(h->piece_id, l->piece_id, TS_PIECE_ID_SIZE);
    h->piece_size = (int64_t)size;
    h->timestamp_s = 100;
    assert_int_equal(ts_sha256(data, size, h->hash), TS_OK);
    assert_int_equal(ts_piece_hash_sign_uplink(h, priv), TS_OK);
    proof->present = true;
}

static void test_piece_verify(void **state)
{
    (void)state;
    struct ts_identity *sat = NULL, *other = NULL;
    assert_int_equal(ts_identity_create_ephemeral(&sat), TS_OK);
    assert_int_equal(ts_identity_create_ephemeral(&other), TS_OK);
    uint8_t node[TS_NODE_ID_SIZE], pid[TS_PIECE_ID_SIZE], data[1000], priv[64];
    memset(node, 8, sizeof node);
    memset(pid, 5, sizeof pid);
    for (size_t i = 0; i < sizeof data; i++) {
        data[i] = (uint8_t)(i * 7);
    }
    struct sat_piece_proof proof;
    make_proof(sat, node, data, sizeof data, &proof, priv);
    const struct ts_peer_identity *peer = ts_identity_peer(sat);
    assert_int_equal(sat_piece_verify(peer, node, pid, data, sizeof data, &proof), TS_OK);
    /* One flipped byte: the data no longer matches the signed hash. */
    data[500] ^= 1;
    assert_int_equal(sat_piece_verify(peer, node, pid, data, sizeof data, &proof),
                     TS_ERR_HASH_MISMATCH);
    data[500] ^= 1;
    /* A limit signed by someone else, a different node or piece, no proof at all. */
    assert_int_equal(
        sat_piece_verify(ts_identity_peer(other), node, pid, data, sizeof data, &proof),
        TS_ERR_AUTH_FAILED);
    uint8_t node2[TS_NODE_ID_SIZE];
    memset(node2, 9, sizeof node2);
    assert_int_equal(sat_piece_verify(peer, node2, pid, data, sizeof data, &proof),
                     TS_ERR_AUTH_FAILED);
    struct sat_piece_proof forged = proof;
    forged.hash.hash[0] ^= 1; /* the node rewrote the hash to match altered data */
    assert_int_equal(sat_piece_verify(peer, node, pid, data, sizeof data, &forged),
                     TS_ERR_AUTH_FAILED);
    forged = proof;
    forged.present = false;
    assert_int_equal(sat_piece_verify(peer, node, pid, data, sizeof data, &forged),
                     TS_ERR_PROTOCOL);
    ts_identity_free(sat);
    ts_identity_free(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reservoir_weighted), cmocka_unit_test(test_reservoir_slots),
        cmocka_unit_test(test_collector_dedups),   cmocka_unit_test(test_outcome_mapping),
        cmocka_unit_test(test_piece_verify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
