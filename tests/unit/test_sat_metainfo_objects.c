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
#include "sat_test_harness.h"
#include "test_sat_keys.h"

#define NODES 14 /* 10 per segment + 4 spares for piece retries */

static int setup(void **state)
{
    return sat_test_fx_setup(state, NODES);
}

static int teardown(void **state)
{
    return sat_test_fx_teardown(state);
}

/* ---- multipart helpers ---- */

static ProtobufCBinaryData begin_multipart(struct sat_test_fx *f, const char *bucket,
                                           const char *key)
{
    Tessera__Metainfo__EncryptionParameters enc = TESSERA__METAINFO__ENCRYPTION_PARAMETERS__INIT;
    enc.cipher_suite = 2;
    enc.block_size = 7424;
    Tessera__Metainfo__BeginObjectRequest bo = TESSERA__METAINFO__BEGIN_OBJECT_REQUEST__INIT;
    Tessera__Metainfo__BeginObjectResponse resp = TESSERA__METAINFO__BEGIN_OBJECT_RESPONSE__INIT;
    bo.header = &f->header;
    bo.bucket = sat_test_bytes(bucket);
    bo.encrypted_key = sat_test_bytes(key);
    bo.encryption = &enc;
    bo.multipart = true;
    bo.encrypted_metadata = sat_test_bytes("begin-metadata");
    bo.encrypted_metadata_key = sat_test_bytes("mkey");
    bo.encrypted_metadata_nonce = sat_test_bytes("mnonce");
    assert_int_equal(sat_metainfo_begin_object(&f->m, &bo, &resp, &f->a), TS_OK);
    return resp.stream_id;
}

/* An inline segment of plain_size bytes at (part, index); etag marks the part's last one. */
static ts_err inline_segment(struct sat_test_fx *f, ProtobufCBinaryData stream, uint32_t part,
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
        req.encrypted_etag = sat_test_bytes(etag);
    }
    return sat_metainfo_make_inline_segment(&f->m, &req, &resp, &f->a);
}

static ts_err complete(struct sat_test_fx *f, ProtobufCBinaryData stream, const uint32_t *parts,
                       size_t n, Tessera__Metainfo__Object **out)
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

static Tessera__Metainfo__ListPartsResponse *
list_parts(struct sat_test_fx *f, ProtobufCBinaryData stream, uint32_t cursor, uint32_t limit)
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

static size_t pending_count(struct sat_test_fx *f, const char *bucket)
{
    Tessera__Metainfo__ListPendingObjectsRequest req =
        TESSERA__METAINFO__LIST_PENDING_OBJECTS_REQUEST__INIT;
    Tessera__Metainfo__ListPendingObjectsResponse resp =
        TESSERA__METAINFO__LIST_PENDING_OBJECTS_RESPONSE__INIT;
    req.header = &f->header;
    req.bucket = sat_test_bytes(bucket);
    assert_int_equal(sat_metainfo_list_pending_objects(&f->m, &req, &resp, &f->a), TS_OK);
    return resp.n_items;
}

static Tessera__Metainfo__DownloadObjectResponse *download(struct sat_test_fx *f,
                                                           const char *bucket, const char *key,
                                                           int64_t plain_offset, ts_err want)
{
    Tessera__Metainfo__DownloadObjectRequest req = TESSERA__METAINFO__DOWNLOAD_OBJECT_REQUEST__INIT;
    Tessera__Metainfo__DownloadObjectResponse *resp = sat_arena_alloc(&f->a, sizeof *resp);
    tessera__metainfo__download_object_response__init(resp);
    req.header = &f->header;
    req.bucket = sat_test_bytes(bucket);
    req.encrypted_key = sat_test_bytes(key);
    req.plain_offset = plain_offset;
    assert_int_equal(sat_metainfo_download_object(&f->m, &req, resp, &f->a), want);
    return resp;
}

#define POS(part, index) (((uint64_t)(part) << 32) | (index))

/* ---- tests ---- */

static void test_multipart_lifecycle(void **state)
{
    struct sat_test_fx *f = *state;
    f->cfg.part_size_min = 5000;
    assert_int_equal(sat_test_create_bucket(f, &f->header, "mpu"), TS_OK);
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
    struct sat_test_fx *f = *state;
    assert_int_equal(sat_test_create_bucket(f, &f->header, "mpu"), TS_OK);
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
    lr.bucket = sat_test_bytes("mpu");
    lr.prefix = sat_test_bytes("b/");
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
    struct sat_test_upload u;
    assert_int_equal(sat_test_begin_upload(f, &f->header, "mpu", "plain", &u), TS_OK);
    assert_int_equal(pending_count(f, "mpu"), 1);
}

/* Begin + Finish of a copy (move = false) or move with keys "re-wrapped" to fill. */
static ts_err copy_or_move(struct sat_test_fx *f, const char *sb, const char *sk, const char *db,
                           const char *dk, bool move, uint8_t fill, int drop_keys,
                           Tessera__Metainfo__Object **out)
{
    Tessera__Metainfo__BeginCopyObjectRequest br =
        TESSERA__METAINFO__BEGIN_COPY_OBJECT_REQUEST__INIT;
    Tessera__Metainfo__BeginCopyObjectResponse bresp =
        TESSERA__METAINFO__BEGIN_COPY_OBJECT_RESPONSE__INIT;
    br.header = &f->header;
    br.bucket = sat_test_bytes(sb);
    br.encrypted_key = sat_test_bytes(sk);
    br.new_bucket = sat_test_bytes(db);
    br.new_encrypted_key = sat_test_bytes(dk);
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
        fr.new_encrypted_metadata_nonce = sat_test_bytes("nonce");
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
    fr.new_encrypted_metadata_nonce = sat_test_bytes("nonce");
    fr.new_segment_keys = ptrs;
    fr.n_new_segment_keys = n;
    err = sat_metainfo_finish_copy_object(&f->m, &fr, &fresp, &f->a);
    *out = fresp.object;
    return err;
}

static void test_copy_shares_pieces(void **state)
{
    struct sat_test_fx *f = *state;
    assert_int_equal(sat_test_create_bucket(f, &f->header, "src"), TS_OK);
    assert_int_equal(sat_test_create_bucket(f, &f->header, "dst"), TS_OK);
    sat_test_upload_object(f, "src", "a");
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
    del.bucket = sat_test_bytes("src");
    del.encrypted_key = sat_test_bytes("a");
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
    struct sat_test_fx *f = *state;
    assert_int_equal(sat_test_create_bucket(f, &f->header, "bkt"), TS_OK);
    sat_test_upload_object(f, "bkt", "from");
    sat_test_upload_object(f, "bkt", "to"); /* replaced by the move */
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
    ur.bucket = sat_test_bytes("bkt");
    ur.encrypted_key = sat_test_bytes("to");
    ur.encrypted_metadata = sat_test_bytes("new-meta");
    assert_int_equal(sat_metainfo_update_object_metadata(&f->m, &ur, &uresp, &f->a), TS_OK);
    d = download(f, "bkt", "to", 0, TS_OK);
    assert_memory_equal(d->object->encrypted_metadata.data, "new-meta", 8);
    uint8_t other[SAT_ID_SIZE] = {9};
    ur.stream_id = PB_BYTES(other, sizeof other); /* not the current object */
    assert_int_equal(sat_metainfo_update_object_metadata(&f->m, &ur, &uresp, &f->a),
                     TS_ERR_NOT_FOUND);
    ur.stream_id = PB_BYTES(NULL, 0);
    ur.encrypted_key = sat_test_bytes("absent");
    assert_int_equal(sat_metainfo_update_object_metadata(&f->m, &ur, &uresp, &f->a),
                     TS_ERR_NOT_FOUND);
}

static ts_err retry(struct sat_test_fx *f, ProtobufCBinaryData segment_id, const uint32_t *nums,
                    size_t n, Tessera__Metainfo__RetryBeginSegmentPiecesResponse *resp)
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
    struct sat_test_fx *f = *state;
    assert_int_equal(sat_test_create_bucket(f, &f->header, "bkt"), TS_OK);
    struct sat_test_upload u;
    assert_int_equal(sat_test_begin_upload(f, &f->header, "bkt", "obj", &u), TS_OK);
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
    struct sat_test_upload u2 = {u.bo, &bs};
    assert_int_equal(sat_test_commit_segment(f, &f->header, &u2, 8, 1, SAT_TEST_FORGE_NONE, 5000),
                     TS_OK);
    /* With the old SegmentID the replacements' receipts do not count. */
    assert_int_equal(sat_test_commit_segment(f, &f->header, &(struct sat_test_upload){u.bo, u.bs},
                                             0, 0, SAT_TEST_FORGE_NONE,
                                             5000) == TS_ERR_NOT_ENOUGH_SHARES,
                     true);
    /* 4 spare nodes: 2 used, 2 left; asking for 3 more fails. */
    uint32_t more[] = {1, 2, 4};
    assert_int_equal(retry(f, r.segment_id, more, 3, &r), TS_ERR_UNAVAILABLE);
}

static void test_rate_limit(void **state)
{
    struct sat_test_fx *f = *state;
    assert_int_equal(sat_test_create_bucket(f, &f->header, "bkt"), TS_OK);
    assert_int_equal(sat_mi_limiter_new(5, &f->m.limiter), TS_OK);
    Tessera__Metainfo__GetBucketRequest req = TESSERA__METAINFO__GET_BUCKET_REQUEST__INIT;
    Tessera__Metainfo__GetBucketResponse resp = TESSERA__METAINFO__GET_BUCKET_RESPONSE__INIT;
    req.header = &f->header;
    req.name = sat_test_bytes("bkt");
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
    struct sat_test_fx *f = *state;
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
