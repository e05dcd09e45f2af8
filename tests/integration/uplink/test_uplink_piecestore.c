/* Integration test of the uplink's piecestore client (uplink/piecestore.c) against a real
 * tessera-node process: a piece uploaded from a growing source (as the segment encoder fills it)
 * with stepped orders comes back byte-exact in ranges; the node's receipt matches; a canceled
 * upload is dropped by the node; an over-limit upload stops on our side. Uses the node harness
 * (tests/integration/node/node_client.h) for the test satellite and the node process. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "node_client.h"
#include "uplink/piecestore.h"

static const char *node_exe;

struct fixture {
    char root[256];
    struct nc_sat sat;
    struct nc_node node;
    struct ts_identity *me;
    struct ts_rpc_pool *pool;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    snprintf(f->root, sizeof(f->root), "/tmp/ul_ps_XXXXXX");
    if (f == NULL || mkdtemp(f->root) == NULL) {
        return -1;
    }
    char node_dir[300];
    snprintf(node_dir, sizeof(node_dir), "%s/node", f->root);
    if (nc_sat_start(&f->sat) != TS_OK ||
        nc_node_start(&f->node, node_exe, node_dir, &f->sat, NULL) != TS_OK ||
        ts_identity_create_ephemeral(&f->me) != TS_OK ||
        ts_rpc_pool_new(f->me, NULL, &f->pool) != TS_OK) {
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    ts_rpc_pool_free(f->pool);
    nc_node_stop(&f->node, SIGTERM);
    nc_sat_stop(&f->sat);
    ts_identity_free(f->me);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
    if (system(cmd) != 0) {
        fprintf(stderr, "cannot remove %s\n", f->root);
    }
    free(f);
    return 0;
}

/* A source that releases `step` more bytes per wait, like an encoder filling the piece. */
struct growing {
    size_t len, step, ready;
    int waits;
};

static ts_err growing_wait(void *ctx, size_t sent, size_t *avail, bool *complete)
{
    struct growing *g = ctx;
    g->waits++;
    if (g->ready <= sent) {
        g->ready = sent + g->step < g->len ? sent + g->step : g->len;
    }
    *avail = g->ready;
    *complete = g->ready == g->len;
    return TS_OK;
}

struct progress {
    size_t last;
    int calls;
};

static void on_progress(void *ctx, size_t received)
{
    struct progress *p = ctx;
    assert_true(received > p->last);
    p->last = received;
    p->calls++;
}

static struct ul_limit limit_for(struct fixture *f, enum ts_piece_action action,
                                 const uint8_t piece_id[32], int64_t bytes,
                                 const struct nc_piece_key *key)
{
    struct ul_limit lim;
    memset(&lim, 0, sizeof(lim));
    lim.limit = nc_limit(f->sat.identity, ts_identity_id(f->sat.identity), &f->node.url.id, action,
                         piece_id, bytes, key);
    lim.url = f->node.url;
    lim.piece_num = 3;
    return lim;
}

static void test_piece_round_trip_with_ranges(void **state)
{
    struct fixture *f = *state;
    size_t len = 3 * 1024 * 1024 + 777; /* several order steps and chunks */
    uint8_t *data = malloc(len);
    for (size_t i = 0; i < len; i++) {
        data[i] = (uint8_t)(i * 131 + (i >> 9));
    }
    struct nc_piece_key key;
    assert_int_equal(ts_ed25519_keypair(key.pub, key.priv), TS_OK);
    uint8_t piece_id[32];
    assert_int_equal(ts_random_bytes(piece_id, sizeof(piece_id)), TS_OK);
    struct ul_limit put = limit_for(f, TS_PIECE_ACTION_PUT, piece_id, (int64_t)len, &key);
    struct growing g = {.len = len, .step = 100000};
    struct ul_piece_source src = {.data = data, .wait = growing_wait, .ctx = &g};
    atomic_bool cancel;
    atomic_init(&cancel, false);
    struct ts_buf receipt;
    ts_buf_init(&receipt, TS_ORDER_LIMIT_ENCODED_MAX);
    ts_err err = ul_piece_upload(f->pool, &put, key.priv, &src, &cancel, NULL, &receipt);
    if (err != TS_OK) {
        nc_node_dump_log(&f->node);
    }
    assert_int_equal(err, TS_OK);
    assert_true(g.waits > 10);
    struct ts_piece_hash h;
    assert_int_equal(ts_piece_hash_decode(receipt.data, receipt.len, &h), TS_OK);
    uint8_t digest[32];
    assert_int_equal(ts_sha256(data, len, digest), TS_OK);
    assert_memory_equal(h.hash, digest, 32);
    assert_int_equal(h.piece_size, (int64_t)len);
    assert_true(h.signature_len > 0); /* node-signed */

    uint8_t *out = malloc(len);
    static const size_t ranges[][2] = {{0, 0}, {1, 1}, {256 * 1024 - 3, 700000}, {5, 1}};
    for (size_t r = 0; r < TS_ARRAY_LEN(ranges); r++) {
        size_t off = ranges[r][0], size = ranges[r][1] ? ranges[r][1] : len;
        struct nc_piece_key dkey;
        assert_int_equal(ts_ed25519_keypair(dkey.pub, dkey.priv), TS_OK);
        struct ul_limit get = limit_for(f, TS_PIECE_ACTION_GET, piece_id, (int64_t)len, &dkey);
        struct progress pr = {0};
        struct ul_piece_sink sink = {.buf = out, .progress = on_progress, .ctx = &pr};
        memset(out, 0, len);
        assert_int_equal(
            ul_piece_download(f->pool, &get, dkey.priv, off, size, &sink, &cancel, NULL), TS_OK);
        assert_int_equal(pr.last, size);
        assert_memory_equal(out, data + off, size);
    }
    ts_buf_release(&receipt);
    free(out);
    free(data);
}

static ts_err stuck_wait(void *ctx, size_t sent, size_t *avail, bool *complete)
{
    atomic_bool *cancel = ctx;
    *avail = sent + 4096;
    *complete = false;
    if (sent > 64 * 1024) {
        atomic_store(cancel, true); /* long-tail cancellation arrives mid-piece */
    }
    return TS_OK;
}

static void test_cancel_and_over_limit_upload_fail_cleanly(void **state)
{
    struct fixture *f = *state;
    uint8_t *data = calloc(1, 1 << 20);
    struct nc_piece_key key;
    assert_int_equal(ts_ed25519_keypair(key.pub, key.priv), TS_OK);
    uint8_t piece_id[32];
    assert_int_equal(ts_random_bytes(piece_id, sizeof(piece_id)), TS_OK);
    atomic_bool cancel;
    atomic_init(&cancel, false);
    struct ts_buf receipt;
    ts_buf_init(&receipt, TS_ORDER_LIMIT_ENCODED_MAX);
    struct ul_limit put = limit_for(f, TS_PIECE_ACTION_PUT, piece_id, 1 << 20, &key);
    struct ul_piece_source src = {.data = data, .wait = stuck_wait, .ctx = &cancel};
    assert_int_equal(ul_piece_upload(f->pool, &put, key.priv, &src, &cancel, NULL, &receipt),
                     TS_ERR_CANCELED);
    assert_int_equal(receipt.len, 0);
    /* The canceled piece was not stored: a GET finds nothing. */
    atomic_store(&cancel, false);
    struct ul_limit get = limit_for(f, TS_PIECE_ACTION_GET, piece_id, 1 << 20, &key);
    struct progress pr = {0};
    struct ul_piece_sink sink = {.buf = data, .progress = on_progress, .ctx = &pr};
    assert_int_not_equal(ul_piece_download(f->pool, &get, key.priv, 0, 100, &sink, &cancel, NULL),
                         TS_OK);
    /* A piece larger than its limit stops before the node has to refuse it. */
    uint8_t other[32];
    assert_int_equal(ts_random_bytes(other, sizeof(other)), TS_OK);
    struct ul_limit small = limit_for(f, TS_PIECE_ACTION_PUT, other, 1000, &key);
    struct growing g = {.len = 5000, .step = 5000};
    struct ul_piece_source src2 = {.data = data, .wait = growing_wait, .ctx = &g};
    assert_int_equal(ul_piece_upload(f->pool, &small, key.priv, &src2, &cancel, NULL, &receipt),
                     TS_ERR_LIMIT_EXCEEDED);
    ts_buf_release(&receipt);
    free(data);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    node_exe = argc > 1 ? argv[1] : getenv("TS_NODE_EXE");
    if (node_exe == NULL) {
        fprintf(stderr, "usage: test_uplink_piecestore <path to tessera-node>\n");
        return 2;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_piece_round_trip_with_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_and_over_limit_upload_fail_cleanly, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
