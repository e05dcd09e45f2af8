/* Unit tests for the piecestore rules without sockets: uploads and downloads through the session
 * API against a real blobstore in a temp dir, with every refusal checked to store nothing. The
 * satellite's key is pre-seeded in the trust cache, as a previous fetch would have left it. */
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
#include "base/fs.h"
#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "encoding/encoding.h"
#include "node.h"
#include "node_piecestore.h"

struct env {
    char dir[128];
    struct node_config cfg;
    struct ts_identity *node_id, *sat, *forger;
    uint8_t piece_pub[32], piece_priv[64];
    struct node n;
};

static struct env *E;

static void seed_trust_cache(struct env *e)
{
    char path[512], b32[64];
    snprintf(path, sizeof path, "%s/satellites", e->dir);
    assert_int_equal(ts_fs_mkdir_p(path, 0700), TS_OK);
    const struct ts_peer_identity *p = ts_identity_peer(e->sat);
    assert_int_equal(ts_base32_encode_to(TS_BASE32_LOWER, p->id.bytes, 32, b32, sizeof b32), TS_OK);
    snprintf(path, sizeof path, "%s/satellites/%s.key", e->dir, b32);
    uint8_t data[32 + TS_PUBLIC_KEY_DER_MAX];
    memcpy(data, p->id.bytes, 32);
    memcpy(data + 32, p->leaf_public_key, p->leaf_public_key_len);
    assert_int_equal(ts_fs_write_atomic(path, data, 32 + p->leaf_public_key_len, 0600), TS_OK);
}

static int setup(void **state)
{
    struct env *e = test_calloc(1, sizeof *e);
    snprintf(e->dir, sizeof e->dir, "/tmp/ts-node-ps-XXXXXX");
    assert_non_null(mkdtemp(e->dir));
    assert_int_equal(ts_identity_create_ephemeral(&e->node_id), TS_OK);
    assert_int_equal(ts_identity_create_ephemeral(&e->sat), TS_OK);
    assert_int_equal(ts_identity_create_ephemeral(&e->forger), TS_OK);
    assert_int_equal(ts_ed25519_keypair(e->piece_pub, e->piece_priv), TS_OK);
    seed_trust_cache(e);
    struct ts_node_url url = {.id = *ts_identity_id(e->sat), .port = 1};
    snprintf(url.host, sizeof url.host, "127.0.0.1"); /* nothing listens: no dial may succeed */
    struct node *n = &e->n;
    n->cfg = &e->cfg;
    n->identity = e->node_id;
    node_space_init(&n->space, 4 * 1024 * 1024);
    assert_int_equal(node_blobstore_open(e->dir, ts_identity_id(e->node_id)->bytes, &n->blobs),
                     TS_OK);
    assert_int_equal(node_serials_new(TS_USED_SERIALS_BYTES_MAX, &n->serials), TS_OK);
    assert_int_equal(node_orders_store_open(e->dir, &n->orders), TS_OK);
    assert_int_equal(node_trust_new(&url, 1, e->node_id, e->dir, &n->trust), TS_OK);
    E = e;
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    node_trust_free(e->n.trust);
    node_orders_store_free(e->n.orders);
    node_serials_free(e->n.serials);
    node_blobstore_free(e->n.blobs);
    node_space_release(&e->n.space);
    ts_identity_free(e->node_id);
    ts_identity_free(e->sat);
    ts_identity_free(e->forger);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", e->dir);
    assert_int_equal(system(cmd), 0);
    test_free(e);
    return 0;
}

static struct ts_order_limit make_limit(enum ts_piece_action action, uint8_t piece_byte,
                                        int64_t limit_bytes)
{
    struct ts_order_limit l = {0};
    int64_t now = ts_time_now_s();
    l.order_creation_s = now;
    l.order_expiration_s = now + 3600;
    assert_int_equal(ts_serial_new(l.order_expiration_s, l.serial), TS_OK);
    l.satellite_id = *ts_identity_id(E->sat);
    l.storage_node_id = *ts_identity_id(E->node_id);
    memset(l.piece_id, piece_byte, 32);
    memcpy(l.uplink_public_key, E->piece_pub, 32);
    l.limit_bytes = limit_bytes;
    l.action = action;
    assert_int_equal(ts_order_limit_sign(&l, E->sat), TS_OK);
    return l;
}

static struct ts_order make_order(const struct ts_order_limit *l, int64_t amount)
{
    struct ts_order o = {.amount = amount};
    memcpy(o.serial, l->serial, TS_SERIAL_SIZE);
    assert_int_equal(ts_order_sign(&o, E->piece_priv), TS_OK);
    return o;
}

static struct ts_piece_hash make_hash(const struct ts_order_limit *l, const uint8_t *data,
                                      size_t len)
{
    struct ts_piece_hash h = {.piece_size = (int64_t)len, .timestamp_s = l->order_creation_s};
    memcpy(h.piece_id, l->piece_id, 32);
    assert_int_equal(ts_sha256(data, len, h.hash), TS_OK);
    assert_int_equal(ts_piece_hash_sign_uplink(&h, E->piece_priv), TS_OK);
    return h;
}

static uint8_t *pattern(size_t len, uint8_t seed)
{
    uint8_t *p = malloc(len + 1);
    for (size_t i = 0; i < len; i++) {
        p[i] = (uint8_t)(i * 31 + seed + (i >> 9));
    }
    return p;
}

/* Uploads data with orders covering it in 64 KiB steps; returns the first error. */
static ts_err upload(const struct ts_order_limit *l, const uint8_t *data, size_t len,
                     struct ts_piece_hash *receipt)
{
    char msg[NODE_MSG_SIZE] = "";
    struct node_upload *u = NULL;
    ts_err err = node_upload_begin(&E->n, l, &u, msg);
    for (size_t off = 0; err == TS_OK && off < len; off += 65536) {
        size_t n = len - off < 65536 ? len - off : 65536;
        struct ts_order o = make_order(l, (int64_t)(off + n));
        err = node_upload_order(u, &o, msg);
        if (err == TS_OK) {
            err = node_upload_chunk(u, (int64_t)off, data + off, n, msg);
        }
    }
    if (err == TS_OK) {
        struct ts_piece_hash h = make_hash(l, data, len);
        err = node_upload_finish(u, &h, receipt, msg);
    }
    if (err != TS_OK) {
        assert_true(strlen(msg) > 5); /* every refusal explains itself */
    }
    node_upload_free(u);
    return err;
}

static void download_check(uint8_t piece_byte, const uint8_t *data, int64_t offset, int64_t size,
                           int64_t piece_size)
{
    char msg[NODE_MSG_SIZE] = "";
    struct ts_order_limit l = make_limit(TS_PIECE_ACTION_GET, piece_byte, size);
    struct node_download *d = NULL;
    assert_int_equal(node_download_begin(&E->n, &l, offset, size, &d, msg), TS_OK);
    struct ts_piece_hash h;
    struct ts_order_limit orig;
    assert_int_equal(node_download_whole_piece(d, &h, &orig), offset == 0 && size == piece_size);
    uint8_t *buf = malloc((size_t)size + 1);
    int64_t got = 0;
    while (node_download_remaining(d) > 0) {
        assert_int_equal(node_download_allowed(d), 0); /* nothing sent before it is ordered */
        struct ts_order o = make_order(&l, got + 1000 < size ? got + 1000 : size);
        assert_int_equal(node_download_order(d, &o, msg), TS_OK);
        int64_t n = node_download_allowed(d), at = 0;
        assert_int_equal(node_download_read(d, buf + got, (size_t)n, &at), TS_OK);
        assert_int_equal(at, offset + got);
        got += n;
    }
    assert_memory_equal(buf, data + offset, (size_t)size);
    free(buf);
    node_download_free(d);
}

static void test_roundtrip_sizes(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 255, 256, 100000};
    for (size_t i = 0; i < TS_ARRAY_LEN(sizes); i++) {
        uint8_t *data = pattern(sizes[i], (uint8_t)i);
        struct ts_order_limit l = make_limit(TS_PIECE_ACTION_PUT, (uint8_t)(i + 1), 1 << 20);
        struct ts_piece_hash receipt;
        assert_int_equal(upload(&l, data, sizes[i], &receipt), TS_OK);
        assert_int_equal(receipt.piece_size, sizes[i]);
        assert_int_equal(ts_piece_hash_verify_node(&receipt, ts_identity_peer(E->node_id)), TS_OK);
        download_check((uint8_t)(i + 1), data, 0, (int64_t)sizes[i], (int64_t)sizes[i]);
        if (sizes[i] > 10) {
            download_check((uint8_t)(i + 1), data, 3, (int64_t)sizes[i] - 10, (int64_t)sizes[i]);
        }
        free(data);
    }
    /* The whole-piece read returns the stored uplink hash and original limit, verifiable. */
    char msg[NODE_MSG_SIZE];
    struct ts_order_limit l = make_limit(TS_PIECE_ACTION_GET_AUDIT, 5, 1 << 20);
    struct node_download *d = NULL;
    assert_int_equal(node_download_begin(&E->n, &l, 0, 100000, &d, msg), TS_OK);
    struct ts_piece_hash h;
    struct ts_order_limit orig;
    assert_int_equal(node_download_whole_piece(d, &h, &orig), 1);
    assert_int_equal(ts_piece_hash_verify_uplink(&h, orig.uplink_public_key), TS_OK);
    assert_int_equal(ts_order_limit_verify(&orig, ts_identity_peer(E->sat)), TS_OK);
    assert_int_equal(orig.action, TS_PIECE_ACTION_PUT);
    node_download_free(d);
}

static void assert_nothing_stored(uint8_t piece_byte)
{
    uint8_t pid[32];
    memset(pid, piece_byte, 32);
    assert_int_equal(node_blob_exists(E->n.blobs, ts_identity_id(E->sat)->bytes, pid),
                     TS_ERR_NOT_FOUND);
    struct node_space_stats st;
    node_space_stats(&E->n.space, &st);
    assert_int_equal(st.reserved_bytes, 0);
}

static void test_refusals_store_nothing(void **state)
{
    (void)state;
    uint8_t *data = pattern(5000, 9);
    struct ts_piece_hash r;
    struct ts_order_limit l;

    l = make_limit(TS_PIECE_ACTION_PUT, 0x61, 1 << 20); /* forged: signed by someone else */
    assert_int_equal(ts_order_limit_sign(&l, E->forger), TS_OK);
    assert_int_equal(upload(&l, data, 5000, &r), TS_ERR_AUTH_FAILED);
    l = make_limit(TS_PIECE_ACTION_PUT, 0x61, 1 << 20); /* altered after signing */
    l.limit_bytes *= 2;
    assert_int_equal(upload(&l, data, 5000, &r), TS_ERR_AUTH_FAILED);

    l = make_limit(TS_PIECE_ACTION_PUT, 0x61, 1 << 20); /* expired */
    l.order_creation_s -= 7200;
    l.order_expiration_s = ts_time_now_s() - 10;
    ts_be64_put(l.serial, (uint64_t)l.order_expiration_s);
    assert_int_equal(ts_order_limit_sign(&l, E->sat), TS_OK);
    assert_int_equal(upload(&l, data, 5000, &r), TS_ERR_EXPIRED);
    l = make_limit(TS_PIECE_ACTION_PUT, 0x61, 1 << 20); /* created too long ago */
    l.order_creation_s -= TS_ORDER_GRACE_S + 60;
    assert_int_equal(ts_order_limit_sign(&l, E->sat), TS_OK);
    assert_int_equal(upload(&l, data, 5000, &r), TS_ERR_EXPIRED);
    l = make_limit(TS_PIECE_ACTION_PUT, 0x61, 1 << 20); /* future-dated */
    l.order_creation_s += TS_ORDER_GRACE_S + 60;
    assert_int_equal(ts_order_limit_sign(&l, E->sat), TS_OK);
    assert_int_equal(upload(&l, data, 5000, &r), TS_ERR_NOT_YET_VALID);

    l = make_limit(TS_PIECE_ACTION_PUT, 0x61, 1 << 20); /* mis-addressed */
    l.storage_node_id = *ts_identity_id(E->forger);
    assert_int_equal(ts_order_limit_sign(&l, E->sat), TS_OK);
    assert_int_equal(upload(&l, data, 5000, &r), TS_ERR_WRONG_NODE);
    l = make_limit(TS_PIECE_ACTION_PUT, 0x61, 1 << 20); /* untrusted satellite */
    l.satellite_id = *ts_identity_id(E->forger);
    assert_int_equal(ts_order_limit_sign(&l, E->forger), TS_OK);
    assert_int_equal(upload(&l, data, 5000, &r), TS_ERR_UNTRUSTED);
    l = make_limit(TS_PIECE_ACTION_GET, 0x61, 1 << 20); /* wrong action */
    assert_int_equal(upload(&l, data, 5000, &r), TS_ERR_PERMISSION_DENIED);

    /* Bytes past the ordered amount. */
    char msg[NODE_MSG_SIZE];
    l = make_limit(TS_PIECE_ACTION_PUT, 0x61, 1 << 20);
    struct node_upload *u = NULL;
    assert_int_equal(node_upload_begin(&E->n, &l, &u, msg), TS_OK);
    struct ts_order o = make_order(&l, 100);
    assert_int_equal(node_upload_order(u, &o, msg), TS_OK);
    assert_int_equal(node_upload_chunk(u, 0, data, 101, msg), TS_ERR_LIMIT_EXCEEDED);
    assert_int_equal(node_upload_chunk(u, 0, data, 100, msg), TS_OK);
    assert_int_equal(node_upload_chunk(u, 50, data, 0, msg), TS_ERR_PROTOCOL); /* gap/overlap */
    struct ts_order lower = make_order(&l, 99);
    assert_int_equal(node_upload_order(u, &lower, msg), TS_ERR_PROTOCOL);
    struct ts_order over = make_order(&l, (1 << 20) + 1);
    assert_int_equal(node_upload_order(u, &over, msg), TS_ERR_LIMIT_EXCEEDED);
    /* Wrong final hash (signed correctly, but of other bytes). */
    struct ts_piece_hash h = make_hash(&l, data + 1, 100);
    assert_int_equal(node_upload_finish(u, &h, &r, msg), TS_ERR_HASH_MISMATCH);
    node_upload_free(u);
    /* Replay: the serial of a limit that was already used. */
    l = make_limit(TS_PIECE_ACTION_PUT, 0x62, 1 << 20);
    assert_int_equal(upload(&l, data, 10, &r), TS_OK);
    assert_int_equal(upload(&l, data, 10, &r), TS_ERR_REPLAYED);
    assert_nothing_stored(0x61);
    free(data);
}

static void test_allocation_full_and_delete(void **state)
{
    (void)state;
    uint8_t *data = pattern(3 << 20, 1);
    struct ts_piece_hash r;
    struct ts_order_limit l = make_limit(TS_PIECE_ACTION_PUT, 0x71, 3 << 20);
    assert_int_equal(upload(&l, data, 3 << 20, &r), TS_OK);
    l = make_limit(TS_PIECE_ACTION_PUT, 0x72, 3 << 20);
    assert_int_equal(upload(&l, data, 3 << 20, &r), TS_ERR_NO_SPACE);
    assert_nothing_stored(0x72);
    /* Delete moves the piece to trash (still counted as used), Exists reports it missing. */
    char msg[NODE_MSG_SIZE];
    l = make_limit(TS_PIECE_ACTION_DELETE, 0x71, 0);
    assert_int_equal(node_piece_delete(&E->n, &l, msg), TS_OK);
    uint8_t ids[2][32];
    memset(ids[0], 0x71, 32);
    memset(ids[1], 0x73, 32);
    uint32_t missing[2];
    size_t missing_count = 0;
    assert_int_equal(node_pieces_exist(&E->n, ts_identity_id(E->sat),
                                       (const uint8_t(*)[32])ids, 2, missing, &missing_count, msg),
                     TS_OK);
    assert_int_equal(missing_count, 2);
    assert_int_equal(node_pieces_exist(&E->n, ts_identity_id(E->forger),
                                       (const uint8_t(*)[32])ids, 2, missing, &missing_count, msg),
                     TS_ERR_UNTRUSTED);
    struct node_space_stats st;
    node_space_stats(&E->n.space, &st);
    assert_int_equal(st.trash_bytes, (3 << 20) + TS_PIECE_HEADER_SIZE);
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_roundtrip_sizes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals_store_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_allocation_full_and_delete, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
