/*
 * The node's TTL collector (node/node_ttl.h): pieces indexed by expiration hour are deleted once
 * the hour plus the grace period is over, and only then; pieces without an expiration, with a
 * later one, or whose header disagrees with the index stay; a piece GC already trashed is
 * skipped; used space follows; index files go away when done; a torn record is ignored; a
 * leftover ".collecting" file of an interrupted pass is finished.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"
#include "base/fs.h"
#include "node.h"
#include "node_ttl.h"

#define HOUR 3600
#define T0 (1700000000 - 1700000000 % HOUR) /* an hour boundary */
#define GRACE 600

static const uint8_t SAT[32] = {1, 2, 3};
static const uint8_t NODE_ID[32] = {9};

struct fixture {
    char dir[64];
    struct node n;
    struct node_ttl *ttl;
};

static void piece_id(int i, uint8_t id[32])
{
    memset(id, 0, 32);
    id[0] = (uint8_t)i;
    id[1] = 0x5a;
}

/* Writes piece i whose stored limit carries expiration_s (0 = none) and indexes it when index. */
static void put(struct fixture *fx, int i, int64_t expiration_s, int64_t indexed_s)
{
    uint8_t id[32];
    piece_id(i, id);
    struct node_blob_writer *w = NULL;
    assert_int_equal(node_blob_writer_new(fx->n.blobs, SAT, id, &w), TS_OK);
    assert_int_equal(node_blob_writer_write(w, "piece data", 10), TS_OK);
    struct node_piece_header h = {.format_version = NODE_PIECE_FORMAT_VERSION,
                                  .creation_time_s = T0 - HOUR};
    memset(&h.limit, 0xab, sizeof h.limit);
    h.limit.limit_bytes = 1 << 20;
    h.limit.action = TS_PIECE_ACTION_PUT;
    h.limit.satellite_signature_len = 64;
    h.limit.piece_expiration_s = expiration_s;
    assert_int_equal(node_blob_writer_hash(w, h.hash), TS_OK);
    assert_int_equal(node_blob_writer_commit(w, &h), TS_OK);
    node_space_commit(&fx->n.space, 0, node_blob_writer_size(w) + TS_PIECE_HEADER_SIZE);
    node_blob_writer_free(w);
    if (indexed_s > 0) {
        assert_int_equal(node_ttl_add(fx->ttl, SAT, id, indexed_s), TS_OK);
    }
}

static bool present(struct fixture *fx, int i)
{
    uint8_t id[32];
    piece_id(i, id);
    return node_blob_exists(fx->n.blobs, SAT, id) == TS_OK;
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/ts-node-ttl-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    assert_int_equal(node_blobstore_open(fx->dir, NODE_ID, &fx->n.blobs), TS_OK);
    node_space_init(&fx->n.space, 1ll << 30);
    assert_int_equal(node_ttl_open(fx->dir, &fx->ttl), TS_OK);
    fx->n.ttl = fx->ttl;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", fx->dir);
    assert_int_equal(system(cmd), 0);
    node_ttl_free(fx->ttl);
    node_ttl_free(NULL);
    node_blobstore_free(fx->n.blobs);
    node_space_release(&fx->n.space);
    free(fx);
    return 0;
}

static void test_deletes_after_hour_and_grace(void **state)
{
    struct fixture *fx = *state;
    put(fx, 1, T0 + 10, T0 + 10);             /* expires in hour T0 */
    put(fx, 2, T0 + HOUR - 1, T0 + HOUR - 1); /* same hour */
    put(fx, 3, T0 + 5 * HOUR, T0 + 5 * HOUR); /* five hours later */
    put(fx, 4, 0, 0);                         /* no expiration, not indexed */
    put(fx, 5, T0 + 30 * 86400, T0 + 20);     /* index disagrees with the header: kept */
    struct node_space_stats sp;
    node_space_stats(&fx->n.space, &sp);
    assert_int_equal(sp.pieces_count, 5);
    assert_int_equal(node_ttl_pending_files(fx->ttl), 2);
    struct node_ttl_stats st;
    memset(&st, 0, sizeof st);
    /* Within the hour and the grace: nothing happens. */
    assert_int_equal(node_ttl_collect(fx->ttl, &fx->n, T0 + HOUR + GRACE - 1, GRACE, &st), TS_OK);
    assert_int_equal(st.deleted, 0);
    assert_int_equal(st.files, 0);
    assert_true(present(fx, 1) && present(fx, 2));
    /* The hour and the grace are over: both pieces of hour T0 go, the mismatch stays. */
    assert_int_equal(node_ttl_collect(fx->ttl, &fx->n, T0 + HOUR + GRACE, GRACE, &st), TS_OK);
    assert_int_equal(st.deleted, 2);
    assert_int_equal(st.kept, 1);
    assert_int_equal(st.files, 1);
    assert_false(present(fx, 1) || present(fx, 2));
    assert_true(present(fx, 3) && present(fx, 4) && present(fx, 5));
    node_space_stats(&fx->n.space, &sp);
    assert_int_equal(sp.pieces_count, 3);
    assert_int_equal(sp.trash_bytes, 0); /* expired pieces skip the trash */
    assert_int_equal(node_ttl_pending_files(fx->ttl), 1);
    /* Much later: piece 3 too; the index is empty. */
    memset(&st, 0, sizeof st);
    assert_int_equal(node_ttl_collect(fx->ttl, &fx->n, T0 + 10 * HOUR, GRACE, &st), TS_OK);
    assert_int_equal(st.deleted, 1);
    assert_false(present(fx, 3));
    assert_true(present(fx, 4) && present(fx, 5));
    assert_int_equal(node_ttl_pending_files(fx->ttl), 0);
}

static void test_trashed_torn_and_leftover(void **state)
{
    struct fixture *fx = *state;
    uint8_t id[32];
    int64_t size = 0;
    put(fx, 1, T0 + 10, T0 + 10);
    put(fx, 2, T0 + 20, T0 + 20);
    piece_id(1, id);
    assert_int_equal(node_blob_trash(fx->n.blobs, SAT, id, T0, &size), TS_OK); /* GC was first */
    /* A crash mid-append left half a record. */
    char path[128];
    snprintf(path, sizeof path, "%s/ttl/%lld.v1", fx->dir, (long long)T0);
    FILE *f = fopen(path, "a");
    assert_non_null(f);
    fwrite("partial", 1, 7, f);
    fclose(f);
    /* An interrupted pass left a .collecting file for the same hour. */
    put(fx, 3, T0 + 30, 0);
    piece_id(3, id);
    uint8_t rec[72];
    memcpy(rec, SAT, 32);
    memcpy(rec + 32, id, 32);
    ts_be64_put(rec + 64, T0 + 30);
    snprintf(path, sizeof path, "%s/ttl/%lld.collecting", fx->dir, (long long)T0);
    assert_int_equal(ts_fs_write_atomic(path, rec, sizeof rec, 0600), TS_OK);
    struct node_ttl_stats st;
    memset(&st, 0, sizeof st);
    assert_int_equal(node_ttl_collect(fx->ttl, &fx->n, T0 + 2 * HOUR, GRACE, &st), TS_OK);
    assert_int_equal(st.deleted, 2); /* 2 and 3 */
    assert_int_equal(st.missing, 1); /* 1 was in trash */
    assert_int_equal(st.files, 2);
    assert_false(present(fx, 2) || present(fx, 3));
    assert_int_equal(node_ttl_pending_files(fx->ttl), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_deletes_after_hour_and_grace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trashed_torn_and_leftover, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
