/* Unit tests for core/orders: encoding round trips, signatures (forged and altered), piece ID
 * derivation, serials, time rules and order stepping checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"
#include "base/buf.h"
#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "identity/identity.h"
#include "orders/orders.h"

struct fixture {
    struct ts_identity *satellite;
    struct ts_identity *other;
    uint8_t piece_pub[32];
    uint8_t piece_priv[64];
    struct ts_order_limit limit;
};

static int setup(void **state)
{
    struct fixture *f = test_calloc(1, sizeof *f);
    assert_int_equal(ts_identity_create_ephemeral(&f->satellite), TS_OK);
    assert_int_equal(ts_identity_create_ephemeral(&f->other), TS_OK);
    assert_int_equal(ts_ed25519_keypair(f->piece_pub, f->piece_priv), TS_OK);
    struct ts_order_limit *l = &f->limit;
    int64_t now = ts_time_now_s();
    l->order_creation_s = now;
    l->order_expiration_s = now + 24 * 3600;
    assert_int_equal(ts_serial_new(l->order_expiration_s, l->serial), TS_OK);
    l->satellite_id = *ts_identity_id(f->satellite);
    memset(l->storage_node_id.bytes, 0x42, 32);
    memset(l->piece_id, 0x17, 32);
    memcpy(l->uplink_public_key, f->piece_pub, 32);
    l->limit_bytes = 1 << 20;
    l->action = TS_PIECE_ACTION_PUT;
    assert_int_equal(ts_order_limit_sign(l, f->satellite), TS_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    ts_identity_free(f->satellite);
    ts_identity_free(f->other);
    test_free(f);
    return 0;
}

static void test_serial_carries_expiration(void **state)
{
    (void)state;
    uint8_t a[TS_SERIAL_SIZE], b[TS_SERIAL_SIZE];
    assert_int_equal(ts_serial_new(1700000000, a), TS_OK);
    assert_int_equal(ts_serial_new(1700000000, b), TS_OK);
    assert_int_equal(ts_serial_expiration_s(a), 1700000000);
    assert_memory_equal(a, b, 8);
    assert_memory_not_equal(a + 8, b + 8, 8);
}

static void test_piece_id_derivation_matches_hmac(void **state)
{
    (void)state;
    uint8_t root[32], out[32], again[32], other[32], mac[64], msg[36];
    struct ts_node_id node;
    for (int i = 0; i < 32; i++) {
        root[i] = (uint8_t)i;
        node.bytes[i] = (uint8_t)(0xa0 + i);
    }
    assert_int_equal(ts_piece_id_derive(root, &node, 7, out), TS_OK);
    memcpy(msg, node.bytes, 32);
    msg[32] = 0, msg[33] = 0, msg[34] = 0, msg[35] = 7;
    assert_int_equal(ts_hmac_sha512(root, 32, msg, sizeof msg, mac), TS_OK);
    assert_memory_equal(out, mac, 32);
    assert_int_equal(ts_piece_id_derive(root, &node, 7, again), TS_OK);
    assert_memory_equal(out, again, 32);
    assert_int_equal(ts_piece_id_derive(root, &node, 8, other), TS_OK);
    assert_memory_not_equal(out, other, 32);
    node.bytes[0] ^= 1;
    assert_int_equal(ts_piece_id_derive(root, &node, 7, other), TS_OK);
    assert_memory_not_equal(out, other, 32);
}

static void test_limit_roundtrip_and_verify(void **state)
{
    struct fixture *f = *state;
    struct ts_buf b;
    ts_buf_init(&b, TS_ORDER_LIMIT_ENCODED_MAX);
    assert_int_equal(ts_order_limit_encode(&f->limit, &b), TS_OK);
    struct ts_order_limit d;
    assert_int_equal(ts_order_limit_decode(b.data, b.len, &d), TS_OK);
    assert_memory_equal(&d.serial, f->limit.serial, TS_SERIAL_SIZE);
    assert_int_equal(d.limit_bytes, f->limit.limit_bytes);
    assert_int_equal(d.action, TS_PIECE_ACTION_PUT);
    assert_int_equal(d.satellite_signature_len, f->limit.satellite_signature_len);
    const struct ts_peer_identity *sat = ts_identity_peer(f->satellite);
    assert_int_equal(ts_order_limit_verify(&d, sat), TS_OK);
    ts_buf_release(&b);
}

static void test_limit_forged_or_altered_fails(void **state)
{
    struct fixture *f = *state;
    const struct ts_peer_identity *sat = ts_identity_peer(f->satellite);
    struct ts_order_limit l = f->limit;
    l.limit_bytes += 1;
    assert_int_equal(ts_order_limit_verify(&l, sat), TS_ERR_AUTH_FAILED);
    l = f->limit;
    l.action = TS_PIECE_ACTION_GET;
    assert_int_equal(ts_order_limit_verify(&l, sat), TS_ERR_AUTH_FAILED);
    l = f->limit;
    l.storage_node_id.bytes[3] ^= 1;
    assert_int_equal(ts_order_limit_verify(&l, sat), TS_ERR_AUTH_FAILED);
    l = f->limit;
    l.satellite_signature[l.satellite_signature_len - 1] ^= 1;
    assert_int_equal(ts_order_limit_verify(&l, sat), TS_ERR_AUTH_FAILED);
    l = f->limit;
    l.satellite_signature_len = 0;
    assert_int_equal(ts_order_limit_verify(&l, sat), TS_ERR_AUTH_FAILED);
    /* Signed by another identity (a forger): does not verify against the satellite's key. */
    l = f->limit;
    assert_int_equal(ts_order_limit_sign(&l, f->other), TS_OK);
    assert_int_equal(ts_order_limit_verify(&l, sat), TS_ERR_AUTH_FAILED);
    assert_int_equal(ts_order_limit_verify(&l, ts_identity_peer(f->other)), TS_OK);
}

static void test_decode_rejects_bad_sizes(void **state)
{
    struct fixture *f = *state;
    Tessera__Orders__OrderLimit pb;
    ts_order_limit_to_proto(&f->limit, &pb);
    struct ts_order_limit d;
    pb.serial_number.len = 15;
    assert_int_equal(ts_order_limit_from_proto(&pb, &d), TS_ERR_MALFORMED);
    ts_order_limit_to_proto(&f->limit, &pb);
    pb.limit = -1;
    assert_int_equal(ts_order_limit_from_proto(&pb, &d), TS_ERR_MALFORMED);
    ts_order_limit_to_proto(&f->limit, &pb);
    pb.action = 99;
    assert_int_equal(ts_order_limit_from_proto(&pb, &d), TS_ERR_MALFORMED);
    ts_order_limit_to_proto(&f->limit, &pb);
    pb.satellite_signature.len = TS_ORDER_SIGNATURE_MAX + 1;
    assert_int_equal(ts_order_limit_from_proto(&pb, &d), TS_ERR_MALFORMED);
    uint8_t junk[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(ts_order_limit_decode(junk, sizeof junk, &d), TS_ERR_MALFORMED);
    static uint8_t big[TS_ORDER_LIMIT_ENCODED_MAX + 1];
    assert_int_equal(ts_order_limit_decode(big, sizeof big, &d), TS_ERR_TOO_LARGE);
}

static void test_orders_sign_verify_and_check(void **state)
{
    struct fixture *f = *state;
    struct ts_order o = {0};
    memcpy(o.serial, f->limit.serial, TS_SERIAL_SIZE);
    o.amount = 256 * 1024;
    assert_int_equal(ts_order_sign(&o, f->piece_priv), TS_OK);
    assert_int_equal(ts_order_check(&f->limit, &o, 0), TS_OK);
    struct ts_buf b;
    ts_buf_init(&b, TS_ORDER_LIMIT_ENCODED_MAX);
    assert_int_equal(ts_order_encode(&o, &b), TS_OK);
    struct ts_order d;
    assert_int_equal(ts_order_decode(b.data, b.len, &d), TS_OK);
    assert_int_equal(ts_order_check(&f->limit, &d, 0), TS_OK);
    ts_buf_release(&b);
    /* Decreasing, over the limit, other serial, altered amount, forged by another key. */
    assert_int_equal(ts_order_check(&f->limit, &o, o.amount + 1), TS_ERR_PROTOCOL);
    struct ts_order over = o;
    over.amount = f->limit.limit_bytes + 1;
    assert_int_equal(ts_order_sign(&over, f->piece_priv), TS_OK);
    assert_int_equal(ts_order_check(&f->limit, &over, 0), TS_ERR_LIMIT_EXCEEDED);
    struct ts_order alt = o;
    alt.serial[15] ^= 1;
    assert_int_equal(ts_order_check(&f->limit, &alt, 0), TS_ERR_MALFORMED);
    alt = o;
    alt.amount += 1;
    assert_int_equal(ts_order_check(&f->limit, &alt, 0), TS_ERR_AUTH_FAILED);
    uint8_t pub2[32], priv2[64];
    assert_int_equal(ts_ed25519_keypair(pub2, priv2), TS_OK);
    alt = o;
    assert_int_equal(ts_order_sign(&alt, priv2), TS_OK);
    assert_int_equal(ts_order_check(&f->limit, &alt, 0), TS_ERR_AUTH_FAILED);
    alt.uplink_signature_len = 0;
    assert_int_equal(ts_order_verify(&alt, f->piece_pub), TS_ERR_AUTH_FAILED);
}

static void test_piece_hash_uplink_and_node_signatures(void **state)
{
    struct fixture *f = *state;
    struct ts_piece_hash h = {0};
    memcpy(h.piece_id, f->limit.piece_id, 32);
    assert_int_equal(ts_sha256("abc", 3, h.hash), TS_OK);
    h.piece_size = 3;
    h.timestamp_s = f->limit.order_creation_s;
    assert_int_equal(ts_piece_hash_sign_uplink(&h, f->piece_priv), TS_OK);
    assert_int_equal(ts_piece_hash_verify_uplink(&h, f->piece_pub), TS_OK);
    struct ts_piece_hash alt = h;
    alt.piece_size = 4;
    assert_int_equal(ts_piece_hash_verify_uplink(&alt, f->piece_pub), TS_ERR_AUTH_FAILED);
    alt = h;
    alt.hash[0] ^= 1;
    assert_int_equal(ts_piece_hash_verify_uplink(&alt, f->piece_pub), TS_ERR_AUTH_FAILED);

    /* The node's receipt: ECDSA with the node identity (here "other"). */
    struct ts_piece_hash r = h;
    assert_int_equal(ts_piece_hash_sign_node(&r, f->other), TS_OK);
    assert_int_equal(ts_piece_hash_verify_node(&r, ts_identity_peer(f->other)), TS_OK);
    assert_int_equal(ts_piece_hash_verify_node(&r, ts_identity_peer(f->satellite)),
                     TS_ERR_AUTH_FAILED);
    struct ts_buf b;
    ts_buf_init(&b, TS_ORDER_LIMIT_ENCODED_MAX);
    assert_int_equal(ts_piece_hash_encode(&r, &b), TS_OK);
    struct ts_piece_hash d;
    assert_int_equal(ts_piece_hash_decode(b.data, b.len, &d), TS_OK);
    assert_int_equal(ts_piece_hash_verify_node(&d, ts_identity_peer(f->other)), TS_OK);
    d.timestamp_s += 1;
    assert_int_equal(ts_piece_hash_verify_node(&d, ts_identity_peer(f->other)),
                     TS_ERR_AUTH_FAILED);
    ts_buf_release(&b);
}

static void test_time_rules(void **state)
{
    struct fixture *f = *state;
    struct ts_order_limit l = f->limit;
    int64_t now = l.order_creation_s;
    assert_int_equal(ts_order_limit_check_time(&l, now, 3600), TS_OK);
    assert_int_equal(ts_order_limit_check_time(&l, now + 3601, 3600), TS_ERR_EXPIRED);
    assert_int_equal(ts_order_limit_check_time(&l, now - 3601, 3600), TS_ERR_NOT_YET_VALID);
    assert_int_equal(ts_order_limit_check_time(&l, l.order_expiration_s, 1 << 30),
                     TS_ERR_EXPIRED);
    l.order_expiration_s += 1; /* serial no longer carries the expiration */
    assert_int_equal(ts_order_limit_check_time(&l, now, 3600), TS_ERR_MALFORMED);
    l = f->limit;
    l.piece_expiration_s = now - 1;
    assert_int_equal(ts_order_limit_check_time(&l, now, 3600), TS_ERR_EXPIRED);
    assert_string_equal(ts_piece_action_name(TS_PIECE_ACTION_GET_REPAIR), "GET_REPAIR");
    assert_string_equal(ts_piece_action_name((enum ts_piece_action)77), "INVALID");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_serial_carries_expiration),
        cmocka_unit_test(test_piece_id_derivation_matches_hmac),
        cmocka_unit_test_setup_teardown(test_limit_roundtrip_and_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit_forged_or_altered_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decode_rejects_bad_sizes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_orders_sign_verify_and_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_piece_hash_uplink_and_node_signatures, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_time_rules, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
