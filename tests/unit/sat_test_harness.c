/* Shared fixture and upload helpers for the in-process metainfo tests (see sat_test_harness.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "base/buf.h"
#include "crypto/hash.h"
#include "identity/identity.h"
#include "orders/orders.h"
#include "satellite/apikeys/apikeys.h"
#include "satellite/db/satdb.h"
#include "satellite/metainfo/internal.h"
#include "satellite/metainfo/metainfo.h"
#include "satellite/orders/orders.h"
#include "sat_test_harness.h"
#include "test_sat_keys.h"

static ts_err project_fn(struct ts_db_conn *c, void *ctx)
{
    return sat_db_project_insert(c, ctx);
}

struct checkin_ctx {
    struct sat_node n;
};

static ts_err checkin_fn(struct ts_db_conn *c, void *ctx)
{
    struct checkin_ctx *cc = ctx;
    return sat_db_node_checkin(c, &cc->n, true, ts_time_now_s());
}

static void add_node(struct sat_test_fx *f, int i)
{
    struct checkin_ctx cc;
    memset(&cc, 0, sizeof cc);
    const struct ts_peer_identity *peer = ts_identity_peer(f->nodes[i]);
    memcpy(cc.n.id, peer->id.bytes, TS_NODE_ID_SIZE);
    snprintf(cc.n.address, sizeof cc.n.address, "127.0.0.1:%d", 20000 + i);
    snprintf(cc.n.last_net, sizeof cc.n.last_net, "127.0.0");
    memcpy(cc.n.public_key, peer->leaf_public_key, peer->leaf_public_key_len);
    cc.n.public_key_len = peer->leaf_public_key_len;
    cc.n.free_disk = 1ll << 40;
    assert_int_equal(ts_db_tx(f->db, checkin_fn, &cc), TS_OK);
}

int sat_test_fx_setup(void **state, int n_nodes)
{
    assert_true(n_nodes > 0 && n_nodes <= SAT_TEST_NODES_MAX);
    struct sat_test_fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->n_nodes = n_nodes;
    snprintf(f->dir, sizeof f->dir, "/tmp/ts-test-satmi.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    sat_config_defaults(&f->cfg, f->dir);
    sat_config_local(&f->cfg);
    assert_int_equal(ts_db_open(f->cfg.db_url, &f->db), TS_OK);
    assert_int_equal(sat_db_migrate(f->db), TS_OK);
    struct ts_identity_create_opts opts = {.difficulty_min = 0, .threads = 1};
    assert_int_equal(ts_identity_create(&opts, &f->sat), TS_OK);
    for (int i = 0; i < f->n_nodes; i++) {
        assert_int_equal(ts_identity_create_ephemeral(&f->nodes[i]), TS_OK);
        add_node(f, i);
    }
    assert_int_equal(sat_overlay_new(f->db, &f->cfg, &f->ov), TS_OK);
    f->m = (struct sat_metainfo){.db = f->db, .cfg = &f->cfg, .identity = f->sat, .overlay = f->ov};
    memset(f->m.id_key, 0x42, sizeof f->m.id_key);
    struct sat_project p = {.created_at = 1};
    memset(p.id, 0x11, sizeof p.id);
    memset(p.salt, 0x22, sizeof p.salt);
    snprintf(p.name, sizeof p.name, "test");
    assert_int_equal(ts_db_tx(f->db, project_fn, &p), TS_OK);
    memcpy(f->project, p.id, SAT_ID_SIZE);
    struct ts_buf text;
    ts_buf_init(&text, 4096);
    assert_int_equal(sat_apikey_create(f->db, f->project, "root", &text), TS_OK);
    assert_int_equal(test_key_raw((const char *)text.data, &f->key, &f->key_len), 0);
    ts_buf_release(&text);
    tessera__metainfo__request_header__init(&f->header);
    f->header.api_key = PB_BYTES(f->key, f->key_len);
    sat_arena_init(&f->a, SAT_ARENA_MAX_DEFAULT);
    *state = f;
    return 0;
}

int sat_test_fx_teardown(void **state)
{
    struct sat_test_fx *f = *state;
    sat_arena_release(&f->a);
    sat_overlay_free(f->ov);
    ts_db_close(f->db);
    ts_identity_free(f->sat);
    for (int i = 0; i < f->n_nodes; i++) {
        ts_identity_free(f->nodes[i]);
    }
    free(f->key);
    char path[128];
    const char *files[] = {"satellite.db", "satellite.db-wal", "satellite.db-shm"};
    for (size_t i = 0; i < TS_ARRAY_LEN(files); i++) {
        snprintf(path, sizeof path, "%s/%s", f->dir, files[i]);
        unlink(path);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

ProtobufCBinaryData sat_test_bytes(const char *s)
{
    return PB_BYTES(s, strlen(s));
}

ts_err sat_test_create_bucket(struct sat_test_fx *f, Tessera__Metainfo__RequestHeader *h,
                              const char *name)
{
    Tessera__Metainfo__CreateBucketRequest req = TESSERA__METAINFO__CREATE_BUCKET_REQUEST__INIT;
    Tessera__Metainfo__CreateBucketResponse resp = TESSERA__METAINFO__CREATE_BUCKET_RESPONSE__INIT;
    req.header = h;
    req.name = sat_test_bytes(name);
    return sat_metainfo_create_bucket(&f->m, &req, &resp, &f->a);
}

/* ---- upload helpers ---- */

void sat_test_begin_batch_init(struct sat_test_begin_batch *b, Tessera__Metainfo__RequestHeader *h,
                               ProtobufCBinaryData bucket, ProtobufCBinaryData key)
{
    tessera__metainfo__encryption_parameters__init(&b->enc);
    b->enc.cipher_suite = 2;
    b->enc.block_size = 7424;
    tessera__metainfo__begin_object_request__init(&b->bo);
    b->bo.bucket = bucket;
    b->bo.encrypted_key = key;
    b->bo.encryption = &b->enc;
    tessera__metainfo__segment_position__init(&b->pos);
    tessera__metainfo__begin_segment_request__init(&b->bs);
    b->bs.position = &b->pos;
    tessera__metainfo__batch_request_item__init(&b->i1);
    tessera__metainfo__batch_request_item__init(&b->i2);
    b->i1.request_case = TESSERA__METAINFO__BATCH_REQUEST_ITEM__REQUEST_BEGIN_OBJECT;
    b->i1.begin_object = &b->bo;
    b->i2.request_case = TESSERA__METAINFO__BATCH_REQUEST_ITEM__REQUEST_BEGIN_SEGMENT;
    b->i2.begin_segment = &b->bs;
    b->items[0] = &b->i1;
    b->items[1] = &b->i2;
    tessera__metainfo__batch_request__init(&b->req);
    b->req.header = h;
    b->req.items = b->items;
    b->req.n_items = 2;
}

ts_err sat_test_begin_upload(struct sat_test_fx *f, Tessera__Metainfo__RequestHeader *h,
                             const char *bucket, const char *key, struct sat_test_upload *u)
{
    struct sat_test_begin_batch b;
    sat_test_begin_batch_init(&b, h, sat_test_bytes(bucket), sat_test_bytes(key));
    Tessera__Metainfo__BatchResponse resp = TESSERA__METAINFO__BATCH_RESPONSE__INIT;
    ts_err err = sat_metainfo_batch(&f->m, &b.req, &resp, &f->a);
    if (err == TS_OK) {
        assert_int_equal(resp.n_items, 2);
        u->bo = resp.items[0]->begin_object;
        u->bs = resp.items[1]->begin_segment;
    }
    return err;
}

int sat_test_node_index(struct sat_test_fx *f, const struct ts_order_limit *l)
{
    for (int i = 0; i < f->n_nodes; i++) {
        if (memcmp(ts_identity_id(f->nodes[i])->bytes, l->storage_node_id.bytes, 32) == 0) {
            return i;
        }
    }
    fail();
    return -1;
}

/* The receipt node of limit i would return for a piece of piece_size bytes. */
ProtobufCBinaryData sat_test_receipt(struct sat_test_fx *f,
                                     const Tessera__Metainfo__AddressedOrderLimit *al,
                                     int64_t piece_size, enum sat_test_forge forge)
{
    struct ts_order_limit l;
    assert_int_equal(ts_order_limit_decode(al->limit.data, al->limit.len, &l), TS_OK);
    struct ts_piece_hash h;
    memset(&h, 0, sizeof h);
    memcpy(h.piece_id, l.piece_id, sizeof h.piece_id);
    h.piece_id[0] ^= forge == SAT_TEST_FORGE_PIECE_ID;
    memset(h.hash, 0xab, sizeof h.hash);
    h.piece_size = piece_size + (forge == SAT_TEST_FORGE_SIZE);
    h.timestamp_s = l.order_creation_s;
    int signer = sat_test_node_index(f, &l);
    if (forge == SAT_TEST_FORGE_SIGNER) {
        signer = (signer + 1) % f->n_nodes;
    }
    assert_int_equal(ts_piece_hash_sign_node(&h, f->nodes[signer]), TS_OK);
    struct ts_buf b;
    ts_buf_init(&b, 1024);
    assert_int_equal(ts_piece_hash_encode(&h, &b), TS_OK);
    ProtobufCBinaryData out = PB_BYTES(sat_arena_dup(&f->a, b.data, b.len), b.len);
    ts_buf_release(&b);
    return out;
}

/* Commits the segment of u with receipts from the first `good` limits plus `bad` forged ones. */
ts_err sat_test_commit_segment(struct sat_test_fx *f, Tessera__Metainfo__RequestHeader *h,
                               struct sat_test_upload *u, int good, int bad,
                               enum sat_test_forge forge, int64_t enc_size)
{
    struct sat_redundancy r;
    assert_int_equal(sat_redundancy_parse(SAT_REDUNDANCY_LOCAL, &r), TS_OK);
    int64_t piece_size = sat_redundancy_piece_size(&r, enc_size);
    Tessera__Metainfo__UploadResult res[SAT_TEST_NODES_MAX], *resp_ptrs[SAT_TEST_NODES_MAX];
    int n = 0;
    for (int i = 0; i < good + bad && i < (int)u->bs->n_limits; i++) {
        const Tessera__Metainfo__AddressedOrderLimit *al = u->bs->limits[i];
        tessera__metainfo__upload_result__init(&res[n]);
        res[n].piece_num = al->piece_num;
        res[n].node_id = al->node_id;
        res[n].hash = sat_test_receipt(f, al, piece_size, i < good ? SAT_TEST_FORGE_NONE : forge);
        resp_ptrs[n] = &res[n];
        n++;
    }
    Tessera__Metainfo__CommitSegmentRequest req = TESSERA__METAINFO__COMMIT_SEGMENT_REQUEST__INIT;
    req.header = h;
    req.segment_id = u->bs->segment_id;
    uint8_t nonce[24] = {1}, key[48] = {2};
    req.encrypted_key_nonce = PB_BYTES(nonce, sizeof nonce);
    req.encrypted_key = PB_BYTES(key, sizeof key);
    req.encrypted_size = enc_size;
    req.plain_size = enc_size - 100;
    req.results = resp_ptrs;
    req.n_results = (size_t)n;
    Tessera__Metainfo__CommitSegmentResponse resp =
        TESSERA__METAINFO__COMMIT_SEGMENT_RESPONSE__INIT;
    ts_err err = sat_metainfo_commit_segment(&f->m, &req, &resp, &f->a);
    if (err == TS_OK) {
        assert_int_equal(resp.pieces_kept, good);
    }
    return err;
}

ts_err sat_test_commit_object(struct sat_test_fx *f, Tessera__Metainfo__RequestHeader *h,
                              struct sat_test_upload *u, Tessera__Metainfo__Object **out)
{
    Tessera__Metainfo__CommitObjectRequest req = TESSERA__METAINFO__COMMIT_OBJECT_REQUEST__INIT;
    Tessera__Metainfo__CommitObjectResponse resp = TESSERA__METAINFO__COMMIT_OBJECT_RESPONSE__INIT;
    req.header = h;
    req.stream_id = u->bo->stream_id;
    req.encrypted_metadata = sat_test_bytes("metadata");
    ts_err err = sat_metainfo_commit_object(&f->m, &req, &resp, &f->a);
    if (out != NULL) {
        *out = resp.object;
    }
    return err;
}

void sat_test_upload_object(struct sat_test_fx *f, const char *bucket, const char *key)
{
    struct sat_test_upload u;
    assert_int_equal(sat_test_begin_upload(f, &f->header, bucket, key, &u), TS_OK);
    assert_int_equal(sat_test_commit_segment(f, &f->header, &u, 8, 0, SAT_TEST_FORGE_NONE, 5000),
                     TS_OK);
    assert_int_equal(sat_test_commit_object(f, &f->header, &u, NULL), TS_OK);
}
