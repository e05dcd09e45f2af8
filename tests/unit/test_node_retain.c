/* Unit tests for the node's garbage collection: the bloom filter walk (kept pieces are never
 * trashed, old garbage is, recent pieces are left alone), resuming a stopped walk, RestoreTrash,
 * trash expiry, and the service (stored filters survive a restart, hostile filters refused). */
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
#include "base/buf.h"
#include "base/fs.h"
#include "bloom/bloom.h"
#include "encoding/encoding.h"
#include "node.h"
#include "node_retain.h"
#include "node_trash.h"

#define KEEP 120
#define GARBAGE 120
#define RECENT 20
#define TOTAL (KEEP + GARBAGE + RECENT)
#define OLD_S 1000000     /* creation time of old pieces */
#define CUTOFF_S 2000000  /* pieces created before this may be trashed */

static const uint8_t SAT[32] = {1, 2, 3, 4, 5};
static const uint8_t OTHER_SAT[32] = {9, 9, 9};
static const uint8_t NODE_ID[32] = {7};

struct fixture {
    char dir[64];
    struct node n;
    uint8_t ids[TOTAL][32]; /* [0, KEEP) kept, then garbage, then recent garbage */
    struct ts_bloom *filter;
};

static uint64_t rng = 42;

static void random_id(uint8_t id[32])
{
    for (int i = 0; i < 32; i++) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        id[i] = (uint8_t)(rng >> 56);
    }
}

static void write_piece(struct node *n, const uint8_t sat[32], const uint8_t id[32],
                        int64_t created_s)
{
    struct node_blob_writer *w = NULL;
    assert_int_equal(node_blob_writer_new(n->blobs, sat, id, &w), TS_OK);
    assert_int_equal(node_blob_writer_write(w, id, 32), TS_OK);
    struct node_piece_header h = {.format_version = NODE_PIECE_FORMAT_VERSION,
                                  .creation_time_s = created_s};
    /* A header needs a well-formed limit (sizes checked on decode), not a valid signature. */
    memset(&h.limit, 0xab, sizeof h.limit);
    h.limit.limit_bytes = 1 << 20;
    h.limit.action = TS_PIECE_ACTION_PUT;
    h.limit.satellite_signature_len = 64;
    assert_int_equal(node_blob_writer_hash(w, h.hash), TS_OK);
    assert_int_equal(node_blob_writer_commit(w, &h), TS_OK);
    node_blob_writer_free(w);
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/ts-node-retain-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    assert_int_equal(node_blobstore_open(fx->dir, NODE_ID, &fx->n.blobs), TS_OK);
    node_space_init(&fx->n.space, 1ll << 30);
    assert_int_equal(ts_bloom_new_optimal(KEEP, 0.1, TS_BLOOM_TABLE_SIZE_DEFAULT, 17, &fx->filter),
                     TS_OK);
    for (int i = 0; i < TOTAL; i++) {
        random_id(fx->ids[i]);
        write_piece(&fx->n, SAT, fx->ids[i], i < KEEP + GARBAGE ? OLD_S : CUTOFF_S + 5);
        if (i < KEEP) {
            ts_bloom_add(fx->filter, fx->ids[i]);
        }
    }
    /* Another satellite's old pieces: a filter of SAT never touches them. */
    for (int i = 0; i < 10; i++) {
        write_piece(&fx->n, OTHER_SAT, fx->ids[i + KEEP], OLD_S);
    }
    int64_t bytes = 0, count = 0, trash = 0;
    assert_int_equal(node_blobstore_walk(fx->n.blobs, &bytes, &count, &trash), TS_OK);
    node_space_set(&fx->n.space, bytes, count, trash);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", fx->dir);
    assert_int_equal(system(cmd), 0);
    ts_bloom_free(fx->filter);
    node_blobstore_free(fx->n.blobs);
    node_space_release(&fx->n.space);
    free(fx);
    return 0;
}

/* Kept and recent pieces all exist; returns how many old garbage pieces are still in blobs/. */
static int check_blobs(struct fixture *fx)
{
    int garbage_left = 0;
    for (int i = 0; i < TOTAL; i++) {
        ts_err err = node_blob_exists(fx->n.blobs, SAT, fx->ids[i]);
        if (i < KEEP || i >= KEEP + GARBAGE) {
            assert_int_equal(err, TS_OK); /* never trash a piece the satellite still wants */
        } else {
            garbage_left += err == TS_OK;
        }
    }
    for (int i = 0; i < 10; i++) {
        assert_int_equal(node_blob_exists(fx->n.blobs, OTHER_SAT, fx->ids[i + KEEP]), TS_OK);
    }
    return garbage_left;
}

static int false_positives(struct fixture *fx)
{
    int fp = 0;
    for (int i = KEEP; i < KEEP + GARBAGE; i++) {
        fp += ts_bloom_contains(fx->filter, fx->ids[i]);
    }
    return fp;
}

static void test_walk_trashes_old_garbage_only(void **state)
{
    struct fixture *fx = *state;
    struct node_retain_stats st;
    assert_int_equal(node_retain_walk(&fx->n, SAT, fx->filter, CUTOFF_S, "", NULL, NULL, NULL,
                                      &st),
                     TS_OK);
    int fp = false_positives(fx);
    assert_true(fp < GARBAGE / 4);
    assert_int_equal(st.checked, TOTAL);
    assert_int_equal(st.trashed, GARBAGE - fp);
    assert_int_equal(st.kept_in_filter, KEEP + fp);
    assert_int_equal(st.kept_recent, RECENT);
    assert_int_equal(st.damaged, 0);
    assert_int_equal(check_blobs(fx), fp);
    struct node_trash_stats ts;
    assert_int_equal(node_trash_count(&fx->n, SAT, &ts), TS_OK);
    assert_int_equal(ts.pieces, GARBAGE - fp);
    struct node_space_stats sp;
    node_space_stats(&fx->n.space, &sp);
    assert_int_equal(sp.pieces_count, TOTAL + 10 - (GARBAGE - fp));
    assert_int_equal(sp.trash_bytes, ts.bytes);
    /* A second walk with the same filter finds nothing more. */
    assert_int_equal(node_retain_walk(&fx->n, SAT, fx->filter, CUTOFF_S, "", NULL, NULL, NULL,
                                      &st),
                     TS_OK);
    assert_int_equal(st.trashed, 0);

    /* RestoreTrash brings every piece back. */
    assert_int_equal(node_trash_restore(&fx->n, SAT, &ts), TS_OK);
    assert_int_equal(ts.pieces, GARBAGE - fp);
    assert_int_equal(check_blobs(fx), GARBAGE);
    assert_int_equal(node_trash_count(&fx->n, SAT, &ts), TS_OK);
    assert_int_equal(ts.pieces, 0);
    node_space_stats(&fx->n.space, &sp);
    assert_int_equal(sp.pieces_count, TOTAL + 10);
    assert_int_equal(sp.trash_bytes, 0);
}

static void test_trash_expires_after_the_keep_period(void **state)
{
    struct fixture *fx = *state;
    struct node_retain_stats st;
    assert_int_equal(node_retain_walk(&fx->n, SAT, fx->filter, CUTOFF_S, "", NULL, NULL, NULL,
                                      &st),
                     TS_OK);
    assert_true(st.trashed > 0);
    int64_t now = ts_time_now_s();
    struct node_trash_stats ts;
    /* Trashed today: still there after 6 days with a 7-day keep period. */
    assert_int_equal(node_trash_expire(&fx->n, now + 6 * 86400, NODE_TRASH_KEEP_S_DEFAULT, &ts),
                     TS_OK);
    assert_int_equal(ts.pieces, 0);
    assert_int_equal(node_trash_count(&fx->n, SAT, &ts), TS_OK);
    assert_int_equal(ts.pieces, st.trashed);
    /* Gone after 8 days (a day directory is deleted once its whole day is past the period). */
    assert_int_equal(node_trash_expire(&fx->n, now + 8 * 86400 + 1, NODE_TRASH_KEEP_S_DEFAULT, &ts),
                     TS_OK);
    assert_int_equal(ts.pieces, st.trashed);
    assert_int_equal(node_trash_count(&fx->n, SAT, &ts), TS_OK);
    assert_int_equal(ts.pieces, 0);
    struct node_space_stats sp;
    node_space_stats(&fx->n.space, &sp);
    assert_int_equal(sp.trash_bytes, 0);
    /* Nothing to restore any more; kept pieces are untouched. */
    assert_int_equal(node_trash_restore(&fx->n, SAT, &ts), TS_OK);
    assert_int_equal(ts.pieces, 0);
    assert_int_equal(check_blobs(fx), false_positives(fx));
}

struct stopper {
    int prefixes_left;
    char last[3];
};

static ts_err stop_after(void *ctx, const char *prefix)
{
    struct stopper *s = ctx;
    snprintf(s->last, sizeof s->last, "%s", prefix);
    return --s->prefixes_left > 0 ? TS_OK : TS_ERR_CANCELED;
}

static void test_stopped_walk_resumes_after_its_last_prefix(void **state)
{
    struct fixture *fx = *state;
    struct stopper s = {.prefixes_left = 20};
    struct node_retain_stats first, second;
    assert_int_equal(node_retain_walk(&fx->n, SAT, fx->filter, CUTOFF_S, "", stop_after, &s, NULL,
                                      &first),
                     TS_ERR_CANCELED);
    assert_true(first.checked > 0 && first.checked < TOTAL);
    assert_int_equal(node_retain_walk(&fx->n, SAT, fx->filter, CUTOFF_S, s.last, NULL, NULL, NULL,
                                      &second),
                     TS_OK);
    /* Together the two walks looked at every piece exactly once. */
    assert_int_equal(first.checked + second.checked, TOTAL);
    assert_int_equal(first.trashed + second.trashed, GARBAGE - false_positives(fx));
    assert_int_equal(check_blobs(fx), false_positives(fx));
    /* A stop flag set before the walk stops it before the first directory. */
    atomic_bool stop = true;
    assert_int_equal(node_retain_walk(&fx->n, SAT, fx->filter, CUTOFF_S, "", NULL, NULL, &stop,
                                      &first),
                     TS_ERR_CANCELED);
    assert_int_equal(first.checked, 0);
}

/* Polls (with a deadline, no fixed sleep) until the service finished its pending filters. */
static void wait_idle(struct node_retain *r, int64_t passes_before)
{
    int64_t deadline = ts_monotonic_ms() + 20000;
    while (ts_monotonic_ms() < deadline &&
           (node_retain_pending(r) > 0 || node_retain_passes(r) <= passes_before)) {
        usleep(2000);
    }
    assert_int_equal(node_retain_pending(r), 0);
}

static void write_filter_file(struct fixture *fx, int64_t created_s, const char *progress)
{
    char sat[53], path[256];
    assert_int_equal(ts_base32_encode_to(TS_BASE32_LOWER, SAT, 32, sat, sizeof sat), TS_OK);
    snprintf(path, sizeof path, "%s/retain", fx->dir);
    assert_int_equal(ts_fs_mkdir_p(path, 0700), TS_OK);
    struct ts_buf b;
    ts_buf_init(&b, TS_BLOOM_TABLE_SIZE_MAX + 64);
    uint8_t head[13] = {'T', 'S', 'R', 'F', 1};
    ts_be64_put(head + 5, (uint64_t)created_s);
    assert_int_equal(ts_buf_append(&b, head, sizeof head), TS_OK);
    assert_int_equal(ts_bloom_encode(fx->filter, &b), TS_OK);
    snprintf(path, sizeof path, "%s/retain/%s.filter", fx->dir, sat);
    assert_int_equal(ts_fs_write_atomic(path, b.data, b.len, 0600), TS_OK);
    ts_buf_release(&b);
    if (progress != NULL) {
        char line[64];
        int len = snprintf(line, sizeof line, "%lld %s\n", (long long)created_s, progress);
        snprintf(path, sizeof path, "%s/retain/%s.progress", fx->dir, sat);
        assert_int_equal(ts_fs_write_atomic(path, line, (size_t)len, 0600), TS_OK);
    }
}

static void test_service_resumes_a_stored_filter_at_start(void **state)
{
    struct fixture *fx = *state;
    struct node_retain_config cfg = {.skew_margin_s = CUTOFF_S, .trash_keep_s = 86400,
                                     .trash_interval_s = 3600};
    /* A filter stored by a previous run that had finished the prefixes up to "mm" (in byte order
     * the digits 2-7 sort before the letters): only "mn".."zz" remain. */
    write_filter_file(fx, 2 * CUTOFF_S, "mm");
    struct node_retain *r = NULL;
    assert_int_equal(node_retain_start(&fx->n, &cfg, &r), TS_OK);
    wait_idle(r, 0);
    struct node_retain_stats st;
    node_retain_totals(r, &st);
    /* Only pieces under prefixes after "mm" were looked at. */
    int expect_checked = 0;
    for (int i = 0; i < TOTAL; i++) {
        char text[53];
        assert_int_equal(ts_base32_encode_to(TS_BASE32_LOWER, fx->ids[i], 32, text, sizeof text),
                         TS_OK);
        expect_checked += strncmp(text, "mm", 2) > 0;
    }
    assert_int_equal(st.checked, expect_checked);
    assert_true(st.checked < TOTAL);
    node_retain_stop(r);

    /* A fresh filter through the queue runs everything. */
    assert_int_equal(node_retain_start(&fx->n, &cfg, &r), TS_OK);
    struct ts_buf b;
    ts_buf_init(&b, TS_BLOOM_TABLE_SIZE_MAX + 64);
    assert_int_equal(ts_bloom_encode(fx->filter, &b), TS_OK);
    char msg[NODE_RETAIN_MSG_SIZE];
    int64_t passes = node_retain_passes(r);
    assert_int_equal(node_retain_queue(r, SAT, 2 * CUTOFF_S + 1, b.data, b.len, msg), TS_OK);
    wait_idle(r, passes);
    assert_int_equal(check_blobs(fx), false_positives(fx));
    /* Refusals: from the future, hostile bytes. Nothing is stored. */
    assert_int_equal(node_retain_queue(r, SAT, ts_time_now_s() + 2 * TS_ORDER_GRACE_S, b.data,
                                       b.len, msg),
                     TS_ERR_NOT_YET_VALID);
    b.data[0] = 9;
    assert_int_equal(node_retain_queue(r, SAT, 5, b.data, b.len, msg), TS_ERR_UNSUPPORTED_VERSION);
    assert_true(strlen(msg) > 0);
    assert_int_equal(node_retain_queue(r, SAT, 5, b.data, 2, msg), TS_ERR_TRUNCATED);
    assert_int_equal(node_retain_pending(r), 0);
    /* RestoreTrash through the service. */
    int64_t restored = 0;
    assert_int_equal(node_retain_restore_trash(r, SAT, &restored), TS_OK);
    assert_int_equal(restored, GARBAGE - false_positives(fx));
    assert_int_equal(check_blobs(fx), GARBAGE);
    ts_buf_release(&b);
    node_retain_stop(r);
    node_retain_stop(NULL);
}

static void test_config_from_node_keys(void **state)
{
    (void)state;
    static struct node_config nc;
    char msg[256], id[TS_NODE_ID_TEXT_MAX], trust[TS_NODE_ID_TEXT_MAX + 32];
    struct node_retain_config cfg;
    struct ts_node_id sat;
    memset(&sat, 7, sizeof sat);
    sat.bytes[31] = 0;
    assert_int_equal(ts_node_id_to_string(&sat, id, sizeof id), TS_OK);
    snprintf(trust, sizeof trust, "--trust=%s@127.0.0.1:7777", id);
    char *argv[] = {"node", "--identity-dir=/x", "--storage-dir=/y", trust,
                    "--retain-skew=1m", "--trash-keep=2d", "--trash-interval=90s", NULL};
    assert_int_equal(node_config_load(&nc, 4, argv, msg, sizeof msg), TS_OK);
    node_retain_config_from(&cfg, &nc);
    assert_int_equal(cfg.skew_margin_s, 72 * 3600);
    assert_int_equal(cfg.trash_keep_s, 7 * 86400);
    assert_int_equal(cfg.trash_interval_s, 3600);
    assert_int_equal(node_config_load(&nc, 7, argv, msg, sizeof msg), TS_OK);
    node_retain_config_from(&cfg, &nc);
    assert_int_equal(cfg.skew_margin_s, 60);
    assert_int_equal(cfg.trash_keep_s, 2 * 86400);
    assert_int_equal(cfg.trash_interval_s, 90);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_walk_trashes_old_garbage_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trash_expires_after_the_keep_period, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stopped_walk_resumes_after_its_last_prefix, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_service_resumes_a_stored_filter_at_start, setup,
                                        teardown),
        cmocka_unit_test(test_config_from_node_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
