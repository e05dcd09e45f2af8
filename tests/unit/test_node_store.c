/* Unit tests for the storage node's local state: piece header, blobstore (commit, no replace,
 * temp cleanup, verification file, trash, walk), used space, the used-serial table, settlement
 * files and config parsing. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "crypto/hash.h"
#include "node_blobstore.h"
#include "node_config.h"
#include "node_orders.h"
#include "node_space.h"

static char tmp_root[64];

static void make_tmp(void)
{
    snprintf(tmp_root, sizeof tmp_root, "/tmp/ts-node-store-XXXXXX");
    assert_non_null(mkdtemp(tmp_root));
}

static void rm_tmp(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp_root);
    assert_int_equal(system(cmd), 0);
}

static void full_limit(struct ts_order_limit *l)
{
    memset(l, 0xab, sizeof *l);
    l->limit_bytes = INT64_MAX;
    l->action = TS_PIECE_ACTION_PUT_REPAIR;
    l->piece_expiration_s = INT64_MAX;
    l->order_expiration_s = INT64_MAX;
    l->order_creation_s = INT64_MAX;
    l->satellite_signature_len = TS_ORDER_SIGNATURE_MAX;
}

static void test_header_fits_and_roundtrips(void **state)
{
    (void)state;
    /* The largest possible header: every field at its maximum size and value. */
    struct node_piece_header h;
    memset(&h, 0x5a, sizeof h);
    h.format_version = NODE_PIECE_FORMAT_VERSION;
    h.hash_algorithm = TS_HASH_SHA256;
    h.creation_time_s = INT64_MAX;
    h.uplink_signature_len = TS_ORDER_SIGNATURE_MAX;
    full_limit(&h.limit);
    uint8_t area[TS_PIECE_HEADER_SIZE];
    assert_int_equal(node_piece_header_encode(&h, area), TS_OK);
    size_t used = ((size_t)area[0] << 8) | area[1];
    assert_true(used + 2 <= TS_PIECE_HEADER_SIZE);
    struct node_piece_header d;
    assert_int_equal(node_piece_header_decode(area, sizeof area, &d), TS_OK);
    assert_memory_equal(d.hash, h.hash, sizeof h.hash);
    assert_int_equal(d.uplink_signature_len, TS_ORDER_SIGNATURE_MAX);
    assert_int_equal(d.limit.limit_bytes, INT64_MAX);
    assert_int_equal(d.limit.action, TS_PIECE_ACTION_PUT_REPAIR);
    /* Damaged headers. */
    assert_int_equal(node_piece_header_decode(area, 100, &d), TS_ERR_TRUNCATED);
    area[0] = 0xff;
    assert_int_equal(node_piece_header_decode(area, sizeof area, &d), TS_ERR_MALFORMED);
    h.format_version = 9;
    assert_int_equal(node_piece_header_encode(&h, area), TS_OK);
    assert_int_equal(node_piece_header_decode(area, sizeof area, &d), TS_ERR_UNSUPPORTED_VERSION);
}

static void write_piece(struct node_blobstore *bs, const uint8_t sat[32], const uint8_t pid[32],
                        const void *data, size_t len, ts_err expect_commit)
{
    struct node_blob_writer *w = NULL;
    assert_int_equal(node_blob_writer_new(bs, sat, pid, &w), TS_OK);
    assert_int_equal(node_blob_writer_write(w, data, len), TS_OK);
    struct node_piece_header h = {.format_version = NODE_PIECE_FORMAT_VERSION};
    full_limit(&h.limit);
    assert_int_equal(node_blob_writer_hash(w, h.hash), TS_OK);
    assert_int_equal(node_blob_writer_commit(w, &h), expect_commit);
    node_blob_writer_free(w);
}

static int count_files(const char *sub)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "find %s/%s -type f | wc -l > %s/count", tmp_root, sub, tmp_root);
    assert_int_equal(system(cmd), 0);
    char path[512];
    snprintf(path, sizeof path, "%s/count", tmp_root);
    FILE *f = fopen(path, "r");
    int n = -1;
    assert_int_equal(fscanf(f, "%d", &n), 1);
    fclose(f);
    return n;
}

static void test_blobstore_write_read_trash(void **state)
{
    (void)state;
    make_tmp();
    uint8_t node[32] = {1}, other[32] = {2}, sat[32] = {3}, pid[32] = {4}, pid2[32] = {5};
    struct node_blobstore *bs = NULL;
    assert_int_equal(node_blobstore_open(tmp_root, node, &bs), TS_OK);
    uint8_t data[1000];
    for (size_t i = 0; i < sizeof data; i++) {
        data[i] = (uint8_t)(i * 7);
    }
    write_piece(bs, sat, pid, data, sizeof data, TS_OK);
    write_piece(bs, sat, pid, "x", 1, TS_ERR_EXISTS); /* never replaces a piece */
    assert_int_equal(count_files("temp"), 0);
    assert_int_equal(node_blob_exists(bs, sat, pid), TS_OK);
    assert_int_equal(node_blob_exists(bs, sat, pid2), TS_ERR_NOT_FOUND);

    struct node_blob_reader *r = NULL;
    assert_int_equal(node_blob_reader_open(bs, sat, pid, &r), TS_OK);
    assert_int_equal(node_blob_reader_size(r), sizeof data);
    uint8_t back[100], sum[32];
    assert_int_equal(node_blob_reader_read(r, 900, back, 100), TS_OK);
    assert_memory_equal(back, data + 900, 100);
    assert_int_equal(node_blob_reader_read(r, 901, back, 100), TS_ERR_TRUNCATED);
    assert_int_equal(ts_sha256(data, sizeof data, sum), TS_OK);
    assert_memory_equal(node_blob_reader_header(r)->hash, sum, 32);
    node_blob_reader_free(r);
    assert_int_equal(node_blob_reader_open(bs, sat, pid2, &r), TS_ERR_NOT_FOUND);

    int64_t bytes, count, trash, size = 0;
    assert_int_equal(node_blobstore_walk(bs, &bytes, &count, &trash), TS_OK);
    assert_int_equal(bytes, sizeof data + TS_PIECE_HEADER_SIZE);
    assert_int_equal(count, 1);
    assert_int_equal(trash, 0);
    assert_int_equal(node_blob_trash(bs, sat, pid, 1700000000, &size), TS_OK);
    assert_int_equal(size, sizeof data + TS_PIECE_HEADER_SIZE);
    assert_int_equal(node_blob_exists(bs, sat, pid), TS_ERR_NOT_FOUND);
    assert_int_equal(node_blobstore_walk(bs, &bytes, &count, &trash), TS_OK);
    assert_int_equal(count, 0);
    assert_int_equal(trash, sizeof data + TS_PIECE_HEADER_SIZE);
    assert_int_equal(node_blob_trash(bs, sat, pid, 1700000000, &size), TS_ERR_NOT_FOUND);

    /* An abandoned writer leaves nothing; a leftover temp file is removed at the next open. */
    struct node_blob_writer *w = NULL;
    assert_int_equal(node_blob_writer_new(bs, sat, pid2, &w), TS_OK);
    assert_int_equal(node_blob_writer_write(w, data, 10), TS_OK);
    node_blob_writer_free(w);
    assert_int_equal(count_files("temp"), 0);
    char path[512];
    snprintf(path, sizeof path, "%s/temp/blob-crashed.partial", tmp_root);
    int fd = open(path, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    close(fd);
    node_blobstore_free(bs);
    assert_int_equal(node_blobstore_open(tmp_root, node, &bs), TS_OK);
    assert_int_equal(count_files("temp"), 0);
    node_blobstore_free(bs);
    /* Another node's identity may not use this dir. */
    assert_int_equal(node_blobstore_open(tmp_root, other, &bs), TS_ERR_CONFIG);
    assert_null(bs);
    rm_tmp();
}

static void test_space_reservations(void **state)
{
    (void)state;
    struct node_space sp;
    node_space_init(&sp, 1000);
    node_space_set(&sp, 300, 1, 100);
    assert_int_equal(node_space_reserve(&sp, 601), TS_ERR_NO_SPACE);
    assert_int_equal(node_space_reserve(&sp, 400), TS_OK);
    assert_int_equal(node_space_reserve(&sp, 201), TS_ERR_NO_SPACE);
    assert_int_equal(node_space_reserve(&sp, 200), TS_OK);
    assert_int_equal(node_space_reserve(&sp, 1), TS_ERR_NO_SPACE);
    node_space_commit(&sp, 400, 150); /* actual piece smaller than its limit */
    node_space_unreserve(&sp, 200);
    struct node_space_stats st;
    node_space_stats(&sp, &st);
    assert_int_equal(st.pieces_bytes, 450);
    assert_int_equal(st.pieces_count, 2);
    assert_int_equal(st.reserved_bytes, 0);
    assert_int_equal(st.free_bytes, 450);
    node_space_trash(&sp, 150);
    node_space_stats(&sp, &st);
    assert_int_equal(st.trash_bytes, 250);
    assert_int_equal(st.free_bytes, 450);
    node_space_release(&sp);
}

static void test_serials_refuse_replays_and_stay_bounded(void **state)
{
    (void)state;
    struct node_serials *s = NULL;
    assert_int_equal(node_serials_new(4096, &s), TS_OK);
    uint8_t serial[TS_SERIAL_SIZE] = {0};
    int64_t now = 1700000000;
    assert_int_equal(node_serials_add(s, serial, now + 100, now), TS_OK);
    assert_int_equal(node_serials_add(s, serial, now + 100, now), TS_ERR_REPLAYED);
    /* Far more serials than fit: the table stays bounded and the newest are remembered. */
    for (uint32_t i = 1; i <= 1000; i++) {
        ts_be32_put(serial + 8, i * 2654435761u);
        assert_int_equal(node_serials_add(s, serial, now + i, now), TS_OK);
    }
    assert_true(node_serials_count(s) * 24 <= 4096);
    assert_int_equal(node_serials_add(s, serial, now + 1000, now), TS_ERR_REPLAYED);
    /* Expired entries are dropped first. */
    node_serials_free(s);
}

struct collected {
    int count;
    int64_t amount_sum;
};

static ts_err collect(const struct ts_order_limit *l, const struct ts_order *o, void *ctx)
{
    struct collected *c = ctx;
    (void)l;
    c->count++;
    c->amount_sum += o->amount;
    return TS_OK;
}

static void test_orders_store_append_and_torn_tail(void **state)
{
    (void)state;
    make_tmp();
    struct node_orders_store *st = NULL;
    assert_int_equal(node_orders_store_open(tmp_root, &st), TS_OK);
    struct ts_order_limit l;
    memset(&l, 0, sizeof l);
    l.satellite_id.bytes[0] = 9;
    l.order_creation_s = 1700002800 + 42;
    l.action = TS_PIECE_ACTION_GET;
    l.limit_bytes = 100;
    struct ts_order o = {.amount = 10, .uplink_signature_len = 64};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(node_orders_store_add(st, &l, &o), TS_OK);
    }
    struct collected c = {0};
    assert_int_equal(node_orders_store_read(st, &l.satellite_id, 1700002800, collect, &c), TS_OK);
    assert_int_equal(c.count, 3);
    assert_int_equal(c.amount_sum, 30);
    assert_int_equal(node_orders_store_read(st, &l.satellite_id, 0, collect, &c),
                     TS_ERR_NOT_FOUND);
    /* A crash mid-append: the torn entry is detected, the intact ones still read. */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "f=$(ls %s/orders/unsent/*.v1) && truncate -s -5 $f", tmp_root);
    assert_int_equal(system(cmd), 0);
    c = (struct collected){0};
    assert_int_equal(node_orders_store_read(st, &l.satellite_id, 1700002800, collect, &c),
                     TS_ERR_CHECKSUM);
    assert_int_equal(c.count, 2);
    node_orders_store_free(st);
    rm_tmp();
}

static void test_config_file_and_flags(void **state)
{
    (void)state;
    make_tmp();
    char path[512], msg[256];
    snprintf(path, sizeof path, "%s/node.conf", tmp_root);
    FILE *f = fopen(path, "w");
    fprintf(f, "# comment\nidentity-dir = /id\nstorage-dir=/data\nallocated = 2 GiB\n"
               "max-concurrent = 7\nwallet = 0xabc # trailing\n");
    fclose(f);
    static struct node_config cfg;
    char conf_flag[600];
    snprintf(conf_flag, sizeof conf_flag, "--config=%s", path);
    char *argv[] = {"node", conf_flag, "--listen", "127.0.0.1:0", "--max-concurrent=9", NULL};
    /* No trusted satellite: refused with a clear message. */
    assert_int_equal(node_config_load(&cfg, 5, argv, msg, sizeof msg), TS_ERR_CONFIG);
    assert_non_null(strstr(msg, "trusted"));
    char *bad[] = {"node", "--nope=1", NULL};
    assert_int_equal(node_config_load(&cfg, 2, bad, msg, sizeof msg), TS_ERR_CONFIG);
    assert_non_null(strstr(msg, "nope"));
    int64_t v = 0;
    assert_int_equal(node_config_parse_size("1TB", &v), TS_OK);
    assert_int_equal(v, 1000000000000LL);
    assert_int_equal(node_config_parse_size("3 MiB", &v), TS_OK);
    assert_int_equal(v, 3 * 1024 * 1024);
    assert_int_equal(node_config_parse_size("12", &v), TS_OK);
    assert_int_equal(v, 12);
    assert_int_equal(node_config_parse_size("12 parsecs", &v), TS_ERR_CONFIG);
    assert_int_equal(node_config_parse_size("-1", &v), TS_ERR_CONFIG);
    rm_tmp();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_fits_and_roundtrips),
        cmocka_unit_test(test_blobstore_write_read_trash),
        cmocka_unit_test(test_space_reservations),
        cmocka_unit_test(test_serials_refuse_replays_and_stay_bounded),
        cmocka_unit_test(test_orders_store_append_and_torn_tail),
        cmocka_unit_test(test_config_file_and_flags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
