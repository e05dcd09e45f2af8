/* Unit tests for the object features of metainfo, called in-process (no TLS) with real signed
 * limits and node-signed receipts: multipart lifecycle (parts of several segments, re-uploaded
 * parts, incomplete parts, part order and size rules, listings, assembly offsets in part order,
 * metadata kept from begin, abort), server-side copy (shared pieces, source deleted) and move,
 * metadata updates, RetryBeginSegmentPieces (new nodes only, receipts of replacements accepted,
 * exhaustion), the per-project rate limit and the revocation cache. The fixture and upload
 * helpers follow test_sat_metainfo.c. */
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
#include "test_sat_keys.h"

#define NODES 14 /* 10 per segment + 4 spares for piece retries */

struct fx {
    char dir[64];
    struct sat_config cfg;
    struct ts_db *db;
    struct ts_identity *sat;
    struct ts_identity *nodes[NODES];
    struct sat_overlay *ov;
    struct sat_metainfo m;
    uint8_t project[SAT_ID_SIZE];
    uint8_t *key; /* raw root API key */
    size_t key_len;
    Tessera__Metainfo__RequestHeader header;
    struct sat_arena a;
};

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

static void add_node(struct fx *f, int i)
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

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/ts-test-satmi.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    sat_config_defaults(&f->cfg, f->dir);
    sat_config_local(&f->cfg);
    assert_int_equal(ts_db_open(f->cfg.db_url, &f->db), TS_OK);
    assert_int_equal(sat_db_migrate(f->db), TS_OK);
    struct ts_identity_create_opts opts = {.difficulty_min = 0, .threads = 1};
    assert_int_equal(ts_identity_create(&opts, &f->sat), TS_OK);
    for (int i = 0; i < NODES; i++) {
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

static int teardown(void **state)
{
    struct fx *f = *state;
    sat_arena_release(&f->a);
    sat_overlay_free(f->ov);
    ts_db_close(f->db);
    ts_identity_free(f->sat);
    for (int i = 0; i < NODES; i++) {
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

static ProtobufCBinaryData bytes_of(const char *s)
{
    return PB_BYTES(s, strlen(s));
}

static ts_err create_bucket(struct fx *f, Tessera__Metainfo__RequestHeader *h, const char *name)
{
    Tessera__Metainfo__CreateBucketRequest req = TESSERA__METAINFO__CREATE_BUCKET_REQUEST__INIT;
    Tessera__Metainfo__CreateBucketResponse resp = TESSERA__METAINFO__CREATE_BUCKET_RESPONSE__INIT;
    req.header = h;
    req.name = bytes_of(name);
    return sat_metainfo_create_bucket(&f->m, &req, &resp, &f->a);
}

/* ---- upload helpers ---- */

struct upload {
    Tessera__Metainfo__BeginObjectResponse *bo;
    Tessera__Metainfo__BeginSegmentResponse *bs;
};

static ts_err begin_upload(struct fx *f, Tessera__Metainfo__RequestHeader *h, const char *bucket,
                           const char *key, struct upload *u)
{
    Tessera__Metainfo__EncryptionParameters enc = TESSERA__METAINFO__ENCRYPTION_PARAMETERS__INIT;
    enc.cipher_suite = 2;
    enc.block_size = 7424;
    Tessera__Metainfo__BeginObjectRequest bo = TESSERA__METAINFO__BEGIN_OBJECT_REQUEST__INIT;
    bo.bucket = bytes_of(bucket);
    bo.encrypted_key = bytes_of(key);
    bo.encryption = &enc;
    Tessera__Metainfo__SegmentPosition pos = TESSERA__METAINFO__SEGMENT_POSITION__INIT;
    Tessera__Metainfo__BeginSegmentRequest bs = TESSERA__METAINFO__BEGIN_SEGMENT_REQUEST__INIT;
    bs.position = &pos;
    Tessera__Metainfo__BatchRequestItem i1 = TESSERA__METAINFO__BATCH_REQUEST_ITEM__INIT;
    Tessera__Metainfo__BatchRequestItem i2 = TESSERA__METAINFO__BATCH_REQUEST_ITEM__INIT;
    i1.request_case = TESSERA__METAINFO__BATCH_REQUEST_ITEM__REQUEST_BEGIN_OBJECT;
    i1.begin_object = &bo;
    i2.request_case = TESSERA__METAINFO__BATCH_REQUEST_ITEM__REQUEST_BEGIN_SEGMENT;
    i2.begin_segment = &bs;
    Tessera__Metainfo__BatchRequestItem *items[2] = {&i1, &i2};
    Tessera__Metainfo__BatchRequest req = TESSERA__METAINFO__BATCH_REQUEST__INIT;
    req.header = h;
    req.items = items;
    req.n_items = 2;
    Tessera__Metainfo__BatchResponse resp = TESSERA__METAINFO__BATCH_RESPONSE__INIT;
    ts_err err = sat_metainfo_batch(&f->m, &req, &resp, &f->a);
    if (err == TS_OK) {
        assert_int_equal(resp.n_items, 2);
        u->bo = resp.items[0]->begin_object;
        u->bs = resp.items[1]->begin_segment;
    }
    return err;
}

static int node_index(struct fx *f, const struct ts_order_limit *l)
{
    for (int i = 0; i < NODES; i++) {
        if (memcmp(ts_identity_id(f->nodes[i])->bytes, l->storage_node_id.bytes, 32) == 0) {
            return i;
        }
    }
    fail();
    return -1;
}

enum forge { FORGE_NONE, FORGE_SIGNER, FORGE_PIECE_ID, FORGE_SIZE };

/* The receipt node of limit i would return for a piece of piece_size bytes. */
static ProtobufCBinaryData receipt(struct fx *f, const Tessera__Metainfo__AddressedOrderLimit *al,
                                   int64_t piece_size, enum forge forge)
{
    struct ts_order_limit l;
    assert_int_equal(ts_order_limit_decode(al->limit.data, al->limit.len, &l), TS_OK);
    struct ts_piece_hash h;
    memset(&h, 0, sizeof h);
    memcpy(h.piece_id, l.piece_id, sizeof h.piece_id);
    h.piece_id[0] ^= forge == FORGE_PIECE_ID;
    memset(h.hash, 0xab, sizeof h.hash);
    h.piece_size = piece_size + (forge == FORGE_SIZE);
    h.timestamp_s = l.order_creation_s;
    int signer = node_index(f, &l);
    if (forge == FORGE_SIGNER) {
        signer = (signer + 1) % NODES;
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
static ts_err commit_segment(struct fx *f, Tessera__Metainfo__RequestHeader *h, struct upload *u,
                             int good, int bad, enum forge forge, int64_t enc_size)
{
    struct sat_redundancy r;
    assert_int_equal(sat_redundancy_parse(SAT_REDUNDANCY_LOCAL, &r), TS_OK);
    int64_t piece_size = sat_redundancy_piece_size(&r, enc_size);
    Tessera__Metainfo__UploadResult res[NODES], *resp_ptrs[NODES];
    int n = 0;
    for (int i = 0; i < good + bad && i < (int)u->bs->n_limits; i++) {
        const Tessera__Metainfo__AddressedOrderLimit *al = u->bs->limits[i];
        tessera__metainfo__upload_result__init(&res[n]);
        res[n].piece_num = al->piece_num;
        res[n].node_id = al->node_id;
        res[n].hash = receipt(f, al, piece_size, i < good ? FORGE_NONE : forge);
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

static ts_err commit_object(struct fx *f, Tessera__Metainfo__RequestHeader *h, struct upload *u,
                            Tessera__Metainfo__Object **out)
{
    Tessera__Metainfo__CommitObjectRequest req = TESSERA__METAINFO__COMMIT_OBJECT_REQUEST__INIT;
    Tessera__Metainfo__CommitObjectResponse resp = TESSERA__METAINFO__COMMIT_OBJECT_RESPONSE__INIT;
    req.header = h;
    req.stream_id = u->bo->stream_id;
    req.encrypted_metadata = bytes_of("metadata");
    ts_err err = sat_metainfo_commit_object(&f->m, &req, &resp, &f->a);
    if (out != NULL) {
        *out = resp.object;
    }
    return err;
}

static void upload_object(struct fx *f, const char *bucket, const char *key)
{
    struct upload u;
    assert_int_equal(begin_upload(f, &f->header, bucket, key, &u), TS_OK);
    assert_int_equal(commit_segment(f, &f->header, &u, 8, 0, FORGE_NONE, 5000), TS_OK);
    assert_int_equal(commit_object(f, &f->header, &u, NULL), TS_OK);
}

/* ---- multipart helpers ---- */

static ProtobufCBinaryData begin_multipart(struct fx *f, const char *bucket, const char *key)
{
    Tessera__Metainfo__EncryptionParameters enc = TESSERA__METAINFO__ENCRYPTION_PARAMETERS__INIT;
    enc.cipher_suite = 2;
    enc.block_size = 7424;
    Tessera__Metainfo__BeginObjectRequest bo = TESSERA__METAINFO__BEGIN_OBJECT_REQUEST__INIT;
    Tessera__Metainfo__BeginObjectResponse resp = TESSERA__METAINFO__BEGIN_OBJECT_RESPONSE__INIT;
    bo.header = &f->header;
    bo.bucket = bytes_of(bucket);
    bo.encrypted_key = bytes_of(key);
    bo.encryption = &enc;
    bo.multipart = true;
    bo.encrypted_metadata = bytes_of("begin-metadata");
    bo.encrypted_metadata_key = bytes_of("mkey");
    bo.encrypted_metadata_nonce = bytes_of("mnonce");
    assert_int_equal(sat_metainfo_begin_object(&f->m, &bo, &resp, &f->a), TS_OK);
    return resp.stream_id;
}

/* An inline segment of plain_size bytes at (part, index); etag marks the part's last one. */
static ts_err inline_segment(struct fx *f, ProtobufCBinaryData stream, uint32_t part,
                             uint32_t index, int64_t plain_size, const char *etag)
{
    static uint8_t data[TS_INLINE_SIZE_MAX + 16];
    uint8_t nonce[24] = {3}, key[48] = {4};
    Tessera__Metainfo__SegmentPosition pos = TESSERA__METAINFO__SEGMENT_POSITION__INIT;
    pos.part = part;
    pos.index = index;
    Tessera__Metainfo__MakeInlineSegmentRequest req =
        TESSERA__METAINFO__MAKE_INLINE_SEGMENT_REQUEST__INIT;
    Tessera__Metainfo__MakeInlineSegmentResponse resp =
        TESSERA__METAINFO__MAKE_INLINE_SEGMENT_RESPONSE__INIT;
    req.header = &f->header;
    req.stream_id = stream;
    req.position = &pos;
    req.encrypted_key_nonce = PB_BYTES(nonce, sizeof nonce);
    req.encrypted_key = PB_BYTES(key, sizeof key);
    req.encrypted_inline_data = PB_BYTES(data, (size_t)plain_size + 16);
    req.plain_size = plain_size;
    if (etag != NULL) {
        req.encrypted_etag = bytes_of(etag);
    }
    return sat_metainfo_make_inline_segment(&f->m, &req, &resp, &f->a);
}

static ts_err complete(struct fx *f, ProtobufCBinaryData stream, const uint32_t *parts, size_t n,
                       Tessera__Metainfo__Object **out)
{
    Tessera__Metainfo__CommitObjectRequest req = TESSERA__METAINFO__COMMIT_OBJECT_REQUEST__INIT;
    Tessera__Metainfo__CommitObjectResponse resp = TESSERA__METAINFO__COMMIT_OBJECT_RESPONSE__INIT;
    req.header = &f->header;
    req.stream_id = stream;
    req.parts = (uint32_t *)parts;
    req.n_parts = n;
    ts_err err = sat_metainfo_commit_object(&f->m, &req, &resp, &f->a);
    if (out != NULL) {
        *out = resp.object;
    }
    return err;
}

static Tessera__Metainfo__ListPartsResponse *list_parts(struct fx *f, ProtobufCBinaryData stream,
                                                        uint32_t cursor, uint32_t limit)
{
    Tessera__Metainfo__ListPartsRequest req = TESSERA__METAINFO__LIST_PARTS_REQUEST__INIT;
    Tessera__Metainfo__ListPartsResponse *resp = sat_arena_alloc(&f->a, sizeof *resp);
    tessera__metainfo__list_parts_response__init(resp);
    req.header = &f->header;
    req.stream_id = stream;
    req.cursor = cursor;
    req.limit = limit;
    assert_int_equal(sat_metainfo_list_parts(&f->m, &req, resp, &f->a), TS_OK);
    return resp;
}

static size_t pending_count(struct fx *f, const char *bucket)
{
    Tessera__Metainfo__ListPendingObjectsRequest req =
        TESSERA__METAINFO__LIST_PENDING_OBJECTS_REQUEST__INIT;
    Tessera__Metainfo__ListPendingObjectsResponse resp =
        TESSERA__METAINFO__LIST_PENDING_OBJECTS_RESPONSE__INIT;
    req.header = &f->header;
    req.bucket = bytes_of(bucket);
    assert_int_equal(sat_metainfo_list_pending_objects(&f->m, &req, &resp, &f->a), TS_OK);
    return resp.n_items;
}

static Tessera__Metainfo__DownloadObjectResponse *
download(struct fx *f, const char *bucket, const char *key, int64_t plain_offset, ts_err want)
{
    Tessera__Metainfo__DownloadObjectRequest req = TESSERA__METAINFO__DOWNLOAD_OBJECT_REQUEST__INIT;
    Tessera__Metainfo__DownloadObjectResponse *resp = sat_arena_alloc(&f->a, sizeof *resp);
    tessera__metainfo__download_object_response__init(resp);
    req.header = &f->header;
    req.bucket = bytes_of(bucket);
    req.encrypted_key = bytes_of(key);
    req.plain_offset = plain_offset;
    assert_int_equal(sat_metainfo_download_object(&f->m, &req, resp, &f->a), want);
    return resp;
}

#define POS(part, index) (((uint64_t)(part) << 32) | (index))

/* ---- tests ---- */

static void test_multipart_lifecycle(void **state)
{
    struct fx *f = *state;
    f->cfg.part_size_min = 5000;
    assert_int_equal(create_bucket(f, &f->header, "mpu"), TS_OK);
    ProtobufCBinaryData s = begin_multipart(f, "mpu", "big/obj");
    /* Part numbers: 1..10000 only on a multipart stream. */
    assert_int_equal(inline_segment(f, s, 0, 0, 10, "e"), TS_ERR_INVALID_ARGUMENT);
    assert_int_equal(inline_segment(f, s, 10001, 0, 10, "e"), TS_ERR_INVALID_ARGUMENT);
    /* Part 1 first uploaded as three segments, then again as two: the third goes away. */
    assert_int_equal(inline_segment(f, s, 1, 0, 4000, NULL), TS_OK);
    assert_int_equal(inline_segment(f, s, 1, 1, 4000, NULL), TS_OK);
    assert_int_equal(inline_segment(f, s, 1, 2, 4000, "old"), TS_OK);
    assert_int_equal(inline_segment(f, s, 1, 0, 4000, NULL), TS_OK);
    assert_int_equal(inline_segment(f, s, 1, 1, 3000, "etag-1"), TS_OK);
    assert_int_equal(inline_segment(f, s, 2, 0, 3000, "etag-2"), TS_OK); /* small */
    assert_int_equal(inline_segment(f, s, 3, 0, 100, NULL), TS_OK);
    assert_int_equal(inline_segment(f, s, 3, 1, 200, "etag-3"), TS_OK);
    assert_int_equal(inline_segment(f, s, 5, 0, 4000, NULL), TS_OK); /* never finished */

    Tessera__Metainfo__ListPartsResponse *lp = list_parts(f, s, 0, 0);
    assert_int_equal(lp->n_items, 3);
    assert_false(lp->more);
    uint32_t want_num[] = {1, 2, 3};
    int64_t want_size[] = {7000, 3000, 300};
    uint32_t want_segs[] = {2, 1, 2};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(lp->items[i]->part_number, want_num[i]);
        assert_int_equal(lp->items[i]->plain_size, want_size[i]);
        assert_int_equal(lp->items[i]->segment_count, want_segs[i]);
        assert_int_equal(lp->items[i]->encrypted_etag.len, 6);
    }
    assert_memory_equal(lp->items[0]->encrypted_etag.data, "etag-1", 6);
    lp = list_parts(f, s, 1, 1); /* pagination */
    assert_int_equal(lp->n_items, 1);
    assert_int_equal(lp->items[0]->part_number, 2);
    assert_true(lp->more);
    assert_int_equal(pending_count(f, "mpu"), 1);

    uint32_t small[] = {1, 2, 3}, order[] = {3, 1}, missing[] = {1, 5}, dup[] = {1, 1};
    assert_int_equal(complete(f, s, small, 3, NULL), TS_ERR_TOO_SMALL);
    assert_int_equal(complete(f, s, order, 2, NULL), TS_ERR_INVALID_ARGUMENT);
    assert_int_equal(complete(f, s, missing, 2, NULL), TS_ERR_INVALID_ARGUMENT);
    assert_int_equal(complete(f, s, dup, 2, NULL), TS_ERR_INVALID_ARGUMENT);
    assert_int_equal(complete(f, s, NULL, 0, NULL), TS_ERR_INVALID_ARGUMENT);
    uint32_t good[] = {1, 3};
    Tessera__Metainfo__Object *o = NULL;
    assert_int_equal(complete(f, s, good, 2, &o), TS_OK);
    assert_int_equal(o->total_plain_size, 7300);
    assert_int_equal(o->segment_count, 4);
    assert_memory_equal(o->encrypted_metadata.data, "begin-metadata", 14);
    assert_int_equal(pending_count(f, "mpu"), 0);

    /* Offsets follow part order; the unlisted parts' segments are gone. */
    Tessera__Metainfo__DownloadObjectResponse *d = download(f, "mpu", "big/obj", 0, TS_OK);
    assert_int_equal(d->n_segments, 4);
    uint64_t want_pos[] = {POS(1, 0), POS(1, 1), POS(3, 0), POS(3, 1)};
    int64_t want_off[] = {0, 4000, 7000, 7100};
    for (size_t i = 0; i < 4; i++) {
        const Tessera__Metainfo__SegmentPosition *p = d->segments[i]->position;
        assert_int_equal(POS(p->part, p->index), want_pos[i]);
        assert_int_equal(d->segments[i]->plain_offset, want_off[i]);
    }
    /* A ranged start finds the segment holding the byte. */
    d = download(f, "mpu", "big/obj", 7050, TS_OK);
    assert_int_equal(d->segments[0]->position->part, 3);
    assert_int_equal(d->segments[0]->position->index, 0);
    assert_int_equal(complete(f, s, good, 2, NULL), TS_ERR_NOT_FOUND); /* no longer pending */
}

static void test_multipart_abort(void **state)
{
    struct fx *f = *state;
    assert_int_equal(create_bucket(f, &f->header, "mpu"), TS_OK);
    ProtobufCBinaryData s = begin_multipart(f, "mpu", "a/x");
    ProtobufCBinaryData s2 = begin_multipart(f, "mpu", "b/y");
    assert_int_equal(inline_segment(f, s, 1, 0, 100, "e"), TS_OK);
    assert_int_equal(pending_count(f, "mpu"), 2);
    /* Prefix filter. */
    Tessera__Metainfo__ListPendingObjectsRequest lr =
        TESSERA__METAINFO__LIST_PENDING_OBJECTS_REQUEST__INIT;
    Tessera__Metainfo__ListPendingObjectsResponse lresp =
        TESSERA__METAINFO__LIST_PENDING_OBJECTS_RESPONSE__INIT;
    lr.header = &f->header;
    lr.bucket = bytes_of("mpu");
    lr.prefix = bytes_of("b/");
    assert_int_equal(sat_metainfo_list_pending_objects(&f->m, &lr, &lresp, &f->a), TS_OK);
    assert_int_equal(lresp.n_items, 1);
    assert_memory_equal(lresp.items[0]->encrypted_key.data, "b/y", 3);
    assert_int_equal(lresp.items[0]->stream_id.len, s2.len);
    assert_memory_equal(lresp.items[0]->stream_id.data, s2.data, s2.len);

    Tessera__Metainfo__DeletePendingObjectRequest dr =
        TESSERA__METAINFO__DELETE_PENDING_OBJECT_REQUEST__INIT;
    Tessera__Metainfo__DeletePendingObjectResponse dresp =
        TESSERA__METAINFO__DELETE_PENDING_OBJECT_RESPONSE__INIT;
    dr.header = &f->header;
    dr.stream_id = s;
    assert_int_equal(sat_metainfo_delete_pending_object(&f->m, &dr, &dresp, &f->a), TS_OK);
    assert_int_equal(dresp.deleted_segments, 1);
    assert_int_equal(sat_metainfo_delete_pending_object(&f->m, &dr, &dresp, &f->a),
                     TS_ERR_NOT_FOUND);
    assert_int_equal(inline_segment(f, s, 1, 0, 100, "e"), TS_ERR_NOT_FOUND);
    assert_int_equal(pending_count(f, "mpu"), 1);
    /* A plain (not multipart) upload is not listed. */
    struct upload u;
    assert_int_equal(begin_upload(f, &f->header, "mpu", "plain", &u), TS_OK);
    assert_int_equal(pending_count(f, "mpu"), 1);
}

/* Begin + Finish of a copy (move = false) or move with keys "re-wrapped" to fill. */
static ts_err copy_or_move(struct fx *f, const char *sb, const char *sk, const char *db,
                           const char *dk, bool move, uint8_t fill, int drop_keys,
                           Tessera__Metainfo__Object **out)
{
    Tessera__Metainfo__BeginCopyObjectRequest br =
        TESSERA__METAINFO__BEGIN_COPY_OBJECT_REQUEST__INIT;
    Tessera__Metainfo__BeginCopyObjectResponse bresp =
        TESSERA__METAINFO__BEGIN_COPY_OBJECT_RESPONSE__INIT;
    br.header = &f->header;
    br.bucket = bytes_of(sb);
    br.encrypted_key = bytes_of(sk);
    br.new_bucket = bytes_of(db);
    br.new_encrypted_key = bytes_of(dk);
    ts_err err = move ? sat_metainfo_begin_move_object(
                            &f->m, (Tessera__Metainfo__BeginMoveObjectRequest *)&br,
                            (Tessera__Metainfo__BeginMoveObjectResponse *)&bresp, &f->a)
                      : sat_metainfo_begin_copy_object(&f->m, &br, &bresp, &f->a);
    if (err != TS_OK) {
        return err;
    }
    assert_non_null(bresp.object);
    size_t n = bresp.n_segment_keys - (size_t)drop_keys;
    Tessera__Metainfo__SegmentKey *keys = sat_arena_alloc(&f->a, (n + 1) * sizeof *keys);
    Tessera__Metainfo__SegmentKey **ptrs = sat_arena_alloc(&f->a, (n + 1) * sizeof *ptrs);
    uint8_t *wrapped = sat_arena_alloc(&f->a, 48);
    memset(wrapped, fill, 48);
    for (size_t i = 0; i < n; i++) {
        keys[i] = *bresp.segment_keys[i];
        keys[i].encrypted_key = PB_BYTES(wrapped, 48);
        ptrs[i] = &keys[i];
    }
    if (move) {
        Tessera__Metainfo__FinishMoveObjectRequest fr =
            TESSERA__METAINFO__FINISH_MOVE_OBJECT_REQUEST__INIT;
        Tessera__Metainfo__FinishMoveObjectResponse fresp =
            TESSERA__METAINFO__FINISH_MOVE_OBJECT_RESPONSE__INIT;
        fr.header = &f->header;
        fr.stream_id = bresp.stream_id;
        fr.new_encrypted_metadata_key = PB_BYTES(wrapped, 48);
        fr.new_encrypted_metadata_nonce = bytes_of("nonce");
        fr.new_segment_keys = ptrs;
        fr.n_new_segment_keys = n;
        err = sat_metainfo_finish_move_object(&f->m, &fr, &fresp, &f->a);
        *out = fresp.object;
        return err;
    }
    Tessera__Metainfo__FinishCopyObjectRequest fr =
        TESSERA__METAINFO__FINISH_COPY_OBJECT_REQUEST__INIT;
    Tessera__Metainfo__FinishCopyObjectResponse fresp =
        TESSERA__METAINFO__FINISH_COPY_OBJECT_RESPONSE__INIT;
    fr.header = &f->header;
    fr.stream_id = bresp.stream_id;
    fr.new_encrypted_metadata_key = PB_BYTES(wrapped, 48);
    fr.new_encrypted_metadata_nonce = bytes_of("nonce");
    fr.new_segment_keys = ptrs;
    fr.n_new_segment_keys = n;
    err = sat_metainfo_finish_copy_object(&f->m, &fr, &fresp, &f->a);
    *out = fresp.object;
    return err;
}

static void test_copy_shares_pieces(void **state)
{
    struct fx *f = *state;
    assert_int_equal(create_bucket(f, &f->header, "src"), TS_OK);
    assert_int_equal(create_bucket(f, &f->header, "dst"), TS_OK);
    upload_object(f, "src", "a");
    Tessera__Metainfo__Object *o = NULL;
    assert_int_equal(copy_or_move(f, "src", "a", "dst", "b", false, 0x77, 1, &o),
                     TS_ERR_INVALID_ARGUMENT); /* a key missing */
    assert_int_equal(copy_or_move(f, "src", "a", "nobucket", "b", false, 0x77, 0, &o),
                     TS_ERR_NOT_FOUND);
    assert_int_equal(copy_or_move(f, "src", "a", "dst", "b", false, 0x77, 0, &o), TS_OK);
    assert_int_equal(o->total_plain_size, 4900);
    assert_memory_equal(o->encrypted_metadata.data, "metadata", 8); /* the source's */
    Tessera__Metainfo__DownloadObjectResponse *ds = download(f, "src", "a", 0, TS_OK);
    Tessera__Metainfo__DownloadObjectResponse *dd = download(f, "dst", "b", 0, TS_OK);
    assert_int_equal(dd->n_segments, 1);
    const Tessera__Metainfo__SegmentDownload *a = ds->segments[0], *b = dd->segments[0];
    assert_memory_equal(a->root_piece_id.data, b->root_piece_id.data, 32); /* same pieces */
    assert_int_equal(b->encrypted_key.len, 48);
    assert_int_equal(b->encrypted_key.data[0], 0x77); /* re-wrapped key */
    assert_int_not_equal(a->encrypted_key.data[0], 0x77);
    /* Deleting the source leaves the copy readable. */
    Tessera__Metainfo__DeleteObjectRequest del = TESSERA__METAINFO__DELETE_OBJECT_REQUEST__INIT;
    Tessera__Metainfo__DeleteObjectResponse dresp = TESSERA__METAINFO__DELETE_OBJECT_RESPONSE__INIT;
    del.header = &f->header;
    del.bucket = bytes_of("src");
    del.encrypted_key = bytes_of("a");
    assert_int_equal(sat_metainfo_delete_object(&f->m, &del, &dresp, &f->a), TS_OK);
    dd = download(f, "dst", "b", 0, TS_OK);
    assert_int_equal(dd->segments[0]->n_limits, 5);
    download(f, "src", "a", 0, TS_ERR_NOT_FOUND);
    /* Copy onto itself (S3 metadata REPLACE) keeps one object. */
    assert_int_equal(copy_or_move(f, "dst", "b", "dst", "b", false, 0x55, 0, &o), TS_OK);
    dd = download(f, "dst", "b", 0, TS_OK);
    assert_int_equal(dd->segments[0]->encrypted_key.data[0], 0x55);
}

static void test_move_and_metadata(void **state)
{
    struct fx *f = *state;
    assert_int_equal(create_bucket(f, &f->header, "bkt"), TS_OK);
    upload_object(f, "bkt", "from");
    upload_object(f, "bkt", "to"); /* replaced by the move */
    Tessera__Metainfo__Object *o = NULL;
    assert_int_equal(copy_or_move(f, "bkt", "from", "bkt", "to", true, 0x66, 0, &o), TS_OK);
    assert_memory_equal(o->encrypted_key.data, "to", 2);
    download(f, "bkt", "from", 0, TS_ERR_NOT_FOUND);
    Tessera__Metainfo__DownloadObjectResponse *d = download(f, "bkt", "to", 0, TS_OK);
    assert_int_equal(d->segments[0]->encrypted_key.data[0], 0x66);
    assert_int_equal(copy_or_move(f, "bkt", "from", "bkt", "x", true, 0x66, 0, &o),
                     TS_ERR_NOT_FOUND);

    Tessera__Metainfo__UpdateObjectMetadataRequest ur =
        TESSERA__METAINFO__UPDATE_OBJECT_METADATA_REQUEST__INIT;
    Tessera__Metainfo__UpdateObjectMetadataResponse uresp =
        TESSERA__METAINFO__UPDATE_OBJECT_METADATA_RESPONSE__INIT;
    ur.header = &f->header;
    ur.bucket = bytes_of("bkt");
    ur.encrypted_key = bytes_of("to");
    ur.encrypted_metadata = bytes_of("new-meta");
    assert_int_equal(sat_metainfo_update_object_metadata(&f->m, &ur, &uresp, &f->a), TS_OK);
    d = download(f, "bkt", "to", 0, TS_OK);
    assert_memory_equal(d->object->encrypted_metadata.data, "new-meta", 8);
    uint8_t other[SAT_ID_SIZE] = {9};
    ur.stream_id = PB_BYTES(other, sizeof other); /* not the current object */
    assert_int_equal(sat_metainfo_update_object_metadata(&f->m, &ur, &uresp, &f->a),
                     TS_ERR_NOT_FOUND);
    ur.stream_id = PB_BYTES(NULL, 0);
    ur.encrypted_key = bytes_of("absent");
    assert_int_equal(sat_metainfo_update_object_metadata(&f->m, &ur, &uresp, &f->a),
                     TS_ERR_NOT_FOUND);
}

static ts_err retry(struct fx *f, ProtobufCBinaryData segment_id, const uint32_t *nums, size_t n,
                    Tessera__Metainfo__RetryBeginSegmentPiecesResponse *resp)
{
    Tessera__Metainfo__RetryBeginSegmentPiecesRequest req =
        TESSERA__METAINFO__RETRY_BEGIN_SEGMENT_PIECES_REQUEST__INIT;
    tessera__metainfo__retry_begin_segment_pieces_response__init(resp);
    req.header = &f->header;
    req.segment_id = segment_id;
    req.retry_piece_numbers = (uint32_t *)nums;
    req.n_retry_piece_numbers = n;
    return sat_metainfo_retry_begin_segment_pieces(&f->m, &req, resp, &f->a);
}

static void test_retry_pieces(void **state)
{
    struct fx *f = *state;
    assert_int_equal(create_bucket(f, &f->header, "bkt"), TS_OK);
    struct upload u;
    assert_int_equal(begin_upload(f, &f->header, "bkt", "obj", &u), TS_OK);
    assert_int_equal(u.bs->n_limits, 10);
    uint32_t bad[] = {42};
    Tessera__Metainfo__RetryBeginSegmentPiecesResponse r;
    assert_int_equal(retry(f, u.bs->segment_id, bad, 1, &r), TS_ERR_INVALID_ARGUMENT);
    uint32_t twice[] = {1, 1};
    assert_int_equal(retry(f, u.bs->segment_id, twice, 2, &r), TS_ERR_INVALID_ARGUMENT);
    uint32_t nums[] = {0, 3};
    assert_int_equal(retry(f, u.bs->segment_id, nums, 2, &r), TS_OK);
    assert_int_equal(r.n_limits, 2);
    for (size_t i = 0; i < 2; i++) {
        struct ts_order_limit l;
        assert_int_equal(ts_order_limit_decode(r.limits[i]->limit.data, r.limits[i]->limit.len, &l),
                         TS_OK);
        assert_int_equal(ts_order_limit_verify(&l, ts_identity_peer(f->sat)), TS_OK);
        assert_int_equal(r.limits[i]->piece_num, nums[i]);
        assert_memory_equal(l.uplink_public_key, u.bs->piece_private_key.data + 32, 32);
        for (size_t j = 0; j < u.bs->n_limits; j++) { /* a node the segment never used */
            assert_memory_not_equal(r.limits[i]->node_id.data, u.bs->limits[j]->node_id.data, 32);
        }
    }
    /* Commit with the new SegmentID: 6 original pieces + the 2 replacements = 8 (o). The
     * original holders of pieces 0 and 3 are no longer accepted. */
    Tessera__Metainfo__AddressedOrderLimit **limits = sat_arena_alloc(&f->a, 10 * sizeof *limits);
    size_t n = 0;
    limits[n++] = r.limits[0];
    limits[n++] = r.limits[1];
    for (size_t j = 0; j < 10 && n < 8; j++) {
        if (j != 0 && j != 3) {
            limits[n++] = u.bs->limits[j];
        }
    }
    limits[n++] = u.bs->limits[0]; /* replaced: dropped */
    Tessera__Metainfo__BeginSegmentResponse bs = *u.bs;
    bs.segment_id = r.segment_id;
    bs.limits = limits;
    bs.n_limits = n;
    struct upload u2 = {u.bo, &bs};
    assert_int_equal(commit_segment(f, &f->header, &u2, 8, 1, FORGE_NONE, 5000), TS_OK);
    /* With the old SegmentID the replacements' receipts do not count. */
    assert_int_equal(commit_segment(f, &f->header, &(struct upload){u.bo, u.bs}, 0, 0, FORGE_NONE,
                                    5000) == TS_ERR_NOT_ENOUGH_SHARES,
                     true);
    /* 4 spare nodes: 2 used, 2 left; asking for 3 more fails. */
    uint32_t more[] = {1, 2, 4};
    assert_int_equal(retry(f, r.segment_id, more, 3, &r), TS_ERR_UNAVAILABLE);
}

static void test_rate_limit(void **state)
{
    struct fx *f = *state;
    assert_int_equal(create_bucket(f, &f->header, "bkt"), TS_OK);
    assert_int_equal(sat_mi_limiter_new(5, &f->m.limiter), TS_OK);
    Tessera__Metainfo__GetBucketRequest req = TESSERA__METAINFO__GET_BUCKET_REQUEST__INIT;
    Tessera__Metainfo__GetBucketResponse resp = TESSERA__METAINFO__GET_BUCKET_RESPONSE__INIT;
    req.header = &f->header;
    req.name = bytes_of("bkt");
    int ok = 0;
    ts_err err = TS_OK;
    for (int i = 0; i < 50 && err == TS_OK; i++) { /* no timing: count until refused */
        err = sat_metainfo_get_bucket(&f->m, &req, &resp, &f->a);
        ok += err == TS_OK;
    }
    assert_int_equal(err, TS_ERR_BUSY);
    assert_true(sat_mi_rate_limited_take());
    assert_false(sat_mi_rate_limited_take());
    assert_true(ok >= 5 && ok < 50);
    /* The token bucket itself, with explicit times. */
    struct sat_mi_limiter *l = NULL;
    assert_int_equal(sat_mi_limiter_new(2, &l), TS_OK);
    uint8_t p1[SAT_ID_SIZE] = {1}, p2[SAT_ID_SIZE] = {2};
    assert_int_equal(sat_mi_limiter_take(l, p1, 1000), TS_OK);
    assert_int_equal(sat_mi_limiter_take(l, p1, 1000), TS_OK);
    assert_int_equal(sat_mi_limiter_take(l, p1, 1000), TS_ERR_BUSY);
    assert_int_equal(sat_mi_limiter_take(l, p2, 1000), TS_OK); /* per project */
    assert_int_equal(sat_mi_limiter_take(l, p1, 1499), TS_ERR_BUSY);
    assert_int_equal(sat_mi_limiter_take(l, p1, 1500), TS_OK);  /* 2/s: one token per 500 ms */
    assert_int_equal(sat_mi_limiter_take(l, p1, 99000), TS_OK); /* refilled, capped at 2 */
    assert_int_equal(sat_mi_limiter_take(l, p1, 99000), TS_OK);
    assert_int_equal(sat_mi_limiter_take(l, p1, 99000), TS_ERR_BUSY);
    (void)sat_mi_rate_limited_take();
    sat_mi_limiter_free(l);
    sat_mi_limiter_free(f->m.limiter);
    f->m.limiter = NULL;
    assert_int_equal(sat_mi_limiter_new(0, &l), TS_OK); /* 0 = unlimited */
    assert_null(l);
}

static ts_err revoked_fn(struct ts_db_conn *c, void *ctx)
{
    bool *revoked = ctx;
    uint8_t tails[2][SAT_TAIL_SIZE];
    memset(tails, 0x31, sizeof tails);
    tails[1][0] = 0x32;
    return sat_db_revocation_any(c, &tails[0][0], 2, revoked);
}

static ts_err revoke_fn(struct ts_db_conn *c, void *ctx)
{
    (void)ctx;
    uint8_t tail[SAT_TAIL_SIZE], id[SAT_ID_SIZE] = {0};
    memset(tail, 0x31, sizeof tail);
    return sat_db_revocation_insert(c, tail, id);
}

static void test_revocation_cache(void **state)
{
    struct fx *f = *state;
    bool revoked = true;
    assert_int_equal(ts_db_tx_read(f->db, revoked_fn, &revoked), TS_OK);
    assert_false(revoked);
    uint8_t final_tail[SAT_TAIL_SIZE];
    memset(final_tail, 0x31, sizeof final_tail);
    final_tail[0] = 0x32;
    assert_true(sat_db_revocation_cache_hit(final_tail, ts_time_now_s()));
    assert_false(sat_db_revocation_cache_hit(final_tail, ts_time_now_s() + 60)); /* TTL */
    /* Revoking the parent tail through this process is seen at once. */
    assert_int_equal(ts_db_tx(f->db, revoke_fn, NULL), TS_OK);
    assert_false(sat_db_revocation_cache_hit(final_tail, ts_time_now_s()));
    assert_int_equal(ts_db_tx_read(f->db, revoked_fn, &revoked), TS_OK);
    assert_true(revoked);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_multipart_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multipart_abort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_shares_pieces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_move_and_metadata, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_pieces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revocation_cache, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
