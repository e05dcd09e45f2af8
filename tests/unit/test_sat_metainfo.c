/* Unit tests for the metainfo service, called in-process (no TLS): buckets, the full upload flow
 * with satellite-signed PUT limits and node-signed receipts from real test identities, receipt
 * forgery, download limits (k + tail, GET), listing with pagination, API key checks per request
 * type, zombie cleanup, and settlement idempotency. */
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

#define NODES 10

static int setup(void **state)
{
    return sat_test_fx_setup(state, NODES);
}

static int teardown(void **state)
{
    return sat_test_fx_teardown(state);
}

/* ---- tests ---- */

static void test_buckets(void **state)
{
    struct sat_test_fx *f = *state;
    assert_int_equal(sat_test_create_bucket(f, &f->header, "photos"), TS_OK);
    assert_int_equal(sat_test_create_bucket(f, &f->header, "photos"), TS_ERR_EXISTS);
    assert_int_equal(sat_test_create_bucket(f, &f->header, "Bad_Name"), TS_ERR_INVALID_ARGUMENT);
    assert_int_equal(sat_test_create_bucket(f, &f->header, "ab"), TS_ERR_INVALID_ARGUMENT);
    assert_int_equal(sat_test_create_bucket(f, &f->header, "docs"), TS_OK);

    Tessera__Metainfo__ListBucketsRequest lr = TESSERA__METAINFO__LIST_BUCKETS_REQUEST__INIT;
    Tessera__Metainfo__ListBucketsResponse lresp = TESSERA__METAINFO__LIST_BUCKETS_RESPONSE__INIT;
    lr.header = &f->header;
    lr.limit = 1;
    assert_int_equal(sat_metainfo_list_buckets(&f->m, &lr, &lresp, &f->a), TS_OK);
    assert_int_equal(lresp.n_items, 1);
    assert_true(lresp.more);
    assert_memory_equal(lresp.items[0]->name.data, "docs", 4);
    lr.cursor = lresp.items[0]->name;
    memset(&lresp, 0, sizeof lresp);
    tessera__metainfo__list_buckets_response__init(&lresp);
    assert_int_equal(sat_metainfo_list_buckets(&f->m, &lr, &lresp, &f->a), TS_OK);
    assert_int_equal(lresp.n_items, 1);
    assert_false(lresp.more);
    assert_memory_equal(lresp.items[0]->name.data, "photos", 6);

    sat_test_upload_object(f, "photos", "a/b");
    Tessera__Metainfo__DeleteBucketRequest dr = TESSERA__METAINFO__DELETE_BUCKET_REQUEST__INIT;
    Tessera__Metainfo__DeleteBucketResponse dresp = TESSERA__METAINFO__DELETE_BUCKET_RESPONSE__INIT;
    dr.header = &f->header;
    dr.name = sat_test_bytes("photos");
    assert_int_equal(sat_metainfo_delete_bucket(&f->m, &dr, &dresp, &f->a), TS_ERR_NOT_EMPTY);
    dr.force = true;
    assert_int_equal(sat_metainfo_delete_bucket(&f->m, &dr, &dresp, &f->a), TS_OK);
    assert_int_equal(dresp.deleted_objects, 1);
    assert_int_equal(sat_metainfo_delete_bucket(&f->m, &dr, &dresp, &f->a), TS_ERR_NOT_FOUND);
}

static void test_upload_download_flow(void **state)
{
    struct sat_test_fx *f = *state;
    assert_int_equal(sat_test_create_bucket(f, &f->header, "bkt"), TS_OK);
    struct sat_test_upload u;
    assert_int_equal(sat_test_begin_upload(f, &f->header, "nope", "k", &u), TS_ERR_NOT_FOUND);
    assert_int_equal(sat_test_begin_upload(f, &f->header, "bkt", "dir/obj", &u), TS_OK);
    assert_int_equal(u.bs->n_limits, 10);
    assert_int_equal(u.bs->piece_private_key.len, 64);
    assert_int_equal(u.bs->redundancy->required, 4);
    /* Every limit: signed by the satellite, PUT, one per distinct node, piece ID derived. */
    bool seen[NODES] = {false};
    for (size_t i = 0; i < u.bs->n_limits; i++) {
        struct ts_order_limit l;
        const Tessera__Metainfo__AddressedOrderLimit *al = u.bs->limits[i];
        assert_int_equal(ts_order_limit_decode(al->limit.data, al->limit.len, &l), TS_OK);
        assert_int_equal(ts_order_limit_verify(&l, ts_identity_peer(f->sat)), TS_OK);
        assert_int_equal(l.action, TS_PIECE_ACTION_PUT);
        assert_memory_equal(l.storage_node_id.bytes, al->node_id.data, 32);
        assert_memory_equal(l.uplink_public_key, u.bs->piece_private_key.data + 32, 32);
        int idx = sat_test_node_index(f, &l);
        assert_false(seen[idx]);
        seen[idx] = true;
        assert_int_equal(al->piece_num, i);
        assert_true(strncmp(al->address, "127.0.0.1:", 10) == 0);
    }
    /* Not visible before commit. */
    Tessera__Metainfo__GetObjectRequest gr = TESSERA__METAINFO__GET_OBJECT_REQUEST__INIT;
    Tessera__Metainfo__GetObjectResponse gresp = TESSERA__METAINFO__GET_OBJECT_RESPONSE__INIT;
    gr.header = &f->header;
    gr.bucket = sat_test_bytes("bkt");
    gr.encrypted_key = sat_test_bytes("dir/obj");
    assert_int_equal(sat_metainfo_get_object(&f->m, &gr, &gresp, &f->a), TS_ERR_NOT_FOUND);

    assert_int_equal(sat_test_commit_segment(f, &f->header, &u, 8, 0, SAT_TEST_FORGE_NONE, 10000),
                     TS_OK);
    Tessera__Metainfo__Object *obj = NULL;
    assert_int_equal(sat_test_commit_object(f, &f->header, &u, &obj), TS_OK);
    assert_int_equal(obj->status, SAT_OBJECT_COMMITTED);
    assert_int_equal(obj->segment_count, 1);
    assert_int_equal(obj->total_plain_size, 9900);
    assert_int_equal(sat_metainfo_get_object(&f->m, &gr, &gresp, &f->a), TS_OK);
    assert_memory_equal(gresp.object->encrypted_metadata.data, "metadata", 8);
    /* Committing again fails: the stream is no longer pending. */
    assert_int_equal(sat_test_commit_object(f, &f->header, &u, NULL), TS_ERR_NOT_FOUND);

    Tessera__Metainfo__DownloadObjectRequest dr = TESSERA__METAINFO__DOWNLOAD_OBJECT_REQUEST__INIT;
    Tessera__Metainfo__DownloadObjectResponse dresp =
        TESSERA__METAINFO__DOWNLOAD_OBJECT_RESPONSE__INIT;
    dr.header = &f->header;
    dr.bucket = gr.bucket;
    dr.encrypted_key = gr.encrypted_key;
    assert_int_equal(sat_metainfo_download_object(&f->m, &dr, &dresp, &f->a), TS_OK);
    assert_int_equal(dresp.n_segments, 1);
    const Tessera__Metainfo__SegmentDownload *sd = dresp.segments[0];
    assert_int_equal(sd->n_limits, 5); /* k + floor((n - o) * k / o) = 4 + 1 */
    assert_int_equal(sd->plain_size, 9900);
    assert_int_equal(sd->encrypted_key.len, 48);
    for (size_t i = 0; i < sd->n_limits; i++) {
        struct ts_order_limit l;
        assert_int_equal(
            ts_order_limit_decode(sd->limits[i]->limit.data, sd->limits[i]->limit.len, &l), TS_OK);
        assert_int_equal(l.action, TS_PIECE_ACTION_GET);
        assert_int_equal(ts_order_limit_verify(&l, ts_identity_peer(f->sat)), TS_OK);
        assert_true(sd->limits[i]->piece_num < 8); /* only pieces with valid receipts */
        uint8_t want[32];
        assert_int_equal(ts_piece_id_derive(sd->root_piece_id.data, &l.storage_node_id,
                                            sd->limits[i]->piece_num, want),
                         TS_OK);
        assert_memory_equal(want, l.piece_id, 32);
    }
}

static void test_forged_receipts_are_dropped(void **state)
{
    struct sat_test_fx *f = *state;
    assert_int_equal(sat_test_create_bucket(f, &f->header, "bkt"), TS_OK);
    enum sat_test_forge forges[] = {SAT_TEST_FORGE_SIGNER, SAT_TEST_FORGE_PIECE_ID,
                                    SAT_TEST_FORGE_SIZE};
    for (size_t i = 0; i < TS_ARRAY_LEN(forges); i++) {
        struct sat_test_upload u;
        assert_int_equal(sat_test_begin_upload(f, &f->header, "bkt", "k", &u), TS_OK);
        /* 7 good + 3 forged < success threshold 8. */
        assert_int_equal(sat_test_commit_segment(f, &f->header, &u, 7, 3, forges[i], 3000),
                         TS_ERR_NOT_ENOUGH_SHARES);
        /* 8 good + 2 forged: the forged are dropped and the segment commits with 8. */
        assert_int_equal(sat_test_commit_segment(f, &f->header, &u, 8, 2, forges[i], 3000), TS_OK);
    }
    /* A tampered segment ID is refused. */
    struct sat_test_upload u;
    assert_int_equal(sat_test_begin_upload(f, &f->header, "bkt", "k2", &u), TS_OK);
    uint8_t *copy = sat_arena_dup(&f->a, u.bs->segment_id.data, u.bs->segment_id.len);
    copy[u.bs->segment_id.len / 2] ^= 1;
    u.bs->segment_id.data = copy;
    ts_err err = sat_test_commit_segment(f, &f->header, &u, 8, 0, SAT_TEST_FORGE_NONE, 3000);
    assert_true(err == TS_ERR_AUTH_FAILED || err == TS_ERR_MALFORMED);
}

static ts_err list(struct sat_test_fx *f, const char *prefix, const char *cursor, bool recursive,
                   uint32_t limit, Tessera__Metainfo__ListObjectsResponse *resp)
{
    Tessera__Metainfo__ListObjectsRequest req = TESSERA__METAINFO__LIST_OBJECTS_REQUEST__INIT;
    tessera__metainfo__list_objects_response__init(resp);
    req.header = &f->header;
    req.bucket = sat_test_bytes("bkt");
    req.prefix = sat_test_bytes(prefix);
    req.cursor = sat_test_bytes(cursor);
    req.recursive = recursive;
    req.limit = limit;
    return sat_metainfo_list_objects(&f->m, &req, resp, &f->a);
}

static void expect_items(const Tessera__Metainfo__ListObjectsResponse *r, const char *const *want,
                         size_t n)
{
    assert_int_equal(r->n_items, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(r->items[i]->encrypted_key.len, strlen(want[i]));
        assert_memory_equal(r->items[i]->encrypted_key.data, want[i], strlen(want[i]));
        size_t l = strlen(want[i]);
        assert_int_equal(r->items[i]->is_prefix, want[i][l - 1] == '/');
    }
}

static void test_listing_and_pagination(void **state)
{
    struct sat_test_fx *f = *state;
    assert_int_equal(sat_test_create_bucket(f, &f->header, "bkt"), TS_OK);
    const char *keys[] = {"a/1", "a/2", "a/x/deep", "b", "c/1", "d"};
    for (size_t i = 0; i < TS_ARRAY_LEN(keys); i++) {
        sat_test_upload_object(f, "bkt", keys[i]);
    }
    Tessera__Metainfo__ListObjectsResponse r;
    assert_int_equal(list(f, "", "", false, 0, &r), TS_OK);
    const char *top[] = {"a/", "b", "c/", "d"};
    expect_items(&r, top, 4);
    assert_false(r.more);
    /* Pages of 1, non-recursive: a/ then (cursor a/) b ... */
    const char *cursor = "";
    char cur[64];
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(list(f, "", cursor, false, 1, &r), TS_OK);
        expect_items(&r, &top[i], 1);
        assert_int_equal(r.more, i < 3);
        snprintf(cur, sizeof cur, "%.*s", (int)r.items[0]->encrypted_key.len,
                 (const char *)r.items[0]->encrypted_key.data);
        cursor = cur;
    }
    assert_int_equal(list(f, "a/", "", false, 0, &r), TS_OK);
    const char *under_a[] = {"1", "2", "x/"};
    expect_items(&r, under_a, 3);
    assert_int_equal(list(f, "", "", true, 0, &r), TS_OK);
    expect_items(&r, keys, 6);
    assert_int_equal(list(f, "a/", "1", true, 1, &r), TS_OK);
    const char *after[] = {"2"};
    expect_items(&r, after, 1);
    assert_true(r.more);
    assert_int_equal(list(f, "a", "", false, 0, &r), TS_ERR_INVALID_ARGUMENT);
}

static void test_inline_object(void **state)
{
    struct sat_test_fx *f = *state;
    assert_int_equal(sat_test_create_bucket(f, &f->header, "bkt"), TS_OK);
    struct sat_test_upload u;
    assert_int_equal(sat_test_begin_upload(f, &f->header, "bkt", "small", &u), TS_OK);
    Tessera__Metainfo__SegmentPosition pos = TESSERA__METAINFO__SEGMENT_POSITION__INIT;
    Tessera__Metainfo__MakeInlineSegmentRequest req =
        TESSERA__METAINFO__MAKE_INLINE_SEGMENT_REQUEST__INIT;
    Tessera__Metainfo__MakeInlineSegmentResponse resp =
        TESSERA__METAINFO__MAKE_INLINE_SEGMENT_RESPONSE__INIT;
    req.header = &f->header;
    req.stream_id = u.bo->stream_id;
    req.position = &pos;
    req.encrypted_inline_data = sat_test_bytes("ciphertext-of-hello");
    req.plain_size = 3;
    assert_int_equal(sat_metainfo_make_inline_segment(&f->m, &req, &resp, &f->a), TS_OK);
    uint8_t big[SAT_INLINE_ENCRYPTED_MAX + 1] = {0};
    req.encrypted_inline_data = PB_BYTES(big, sizeof big);
    assert_int_equal(sat_metainfo_make_inline_segment(&f->m, &req, &resp, &f->a), TS_ERR_TOO_LARGE);
    assert_int_equal(sat_test_commit_object(f, &f->header, &u, NULL), TS_OK);
    Tessera__Metainfo__DownloadObjectRequest dr = TESSERA__METAINFO__DOWNLOAD_OBJECT_REQUEST__INIT;
    Tessera__Metainfo__DownloadObjectResponse dresp =
        TESSERA__METAINFO__DOWNLOAD_OBJECT_RESPONSE__INIT;
    dr.header = &f->header;
    dr.bucket = sat_test_bytes("bkt");
    dr.encrypted_key = sat_test_bytes("small");
    assert_int_equal(sat_metainfo_download_object(&f->m, &dr, &dresp, &f->a), TS_OK);
    assert_int_equal(dresp.n_segments, 1);
    assert_int_equal(dresp.segments[0]->n_limits, 0);
    assert_memory_equal(dresp.segments[0]->inline_data.data, "ciphertext-of-hello", 19);
}

/* One key restriction against one request type. */
static void test_api_key_checks_per_request(void **state)
{
    struct sat_test_fx *f = *state;
    assert_int_equal(sat_test_create_bucket(f, &f->header, "allowed"), TS_OK);
    assert_int_equal(sat_test_create_bucket(f, &f->header, "other"), TS_OK);
    sat_test_upload_object(f, "allowed", "p/x");
    sat_test_upload_object(f, "other", "p/x");

    Tessera__Metainfo__RequestHeader h = TESSERA__METAINFO__REQUEST_HEADER__INIT;
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    /* Garbage and empty keys. */
    uint8_t junk[40] = {2, 1, 2, 3};
    h.api_key = PB_BYTES(junk, sizeof junk);
    assert_int_equal(sat_test_create_bucket(f, &h, "newbkt"), TS_ERR_AUTH_FAILED);
    h.api_key = PB_BYTES(NULL, 0);
    assert_int_equal(sat_test_create_bucket(f, &h, "newbkt"), TS_ERR_AUTH_FAILED);
    assert_int_equal(sat_test_create_bucket(f, NULL, "newbkt"), TS_ERR_AUTH_FAILED);

    /* Read-only key: reads pass, writes and deletes are denied. */
    struct test_restriction ro = {.disallow_writes = true, .disallow_deletes = true};
    assert_int_equal(test_key_restrict(f->key, f->key_len, &ro, &raw, &raw_len), 0);
    h.api_key = PB_BYTES(raw, raw_len);
    assert_int_equal(sat_test_create_bucket(f, &h, "newbkt"), TS_ERR_PERMISSION_DENIED);
    struct sat_test_upload u;
    assert_int_equal(sat_test_begin_upload(f, &h, "allowed", "p/y", &u), TS_ERR_PERMISSION_DENIED);
    Tessera__Metainfo__GetObjectRequest gr = TESSERA__METAINFO__GET_OBJECT_REQUEST__INIT;
    Tessera__Metainfo__GetObjectResponse gresp = TESSERA__METAINFO__GET_OBJECT_RESPONSE__INIT;
    gr.header = &h;
    gr.bucket = sat_test_bytes("allowed");
    gr.encrypted_key = sat_test_bytes("p/x");
    assert_int_equal(sat_metainfo_get_object(&f->m, &gr, &gresp, &f->a), TS_OK);
    Tessera__Metainfo__DeleteObjectRequest del = TESSERA__METAINFO__DELETE_OBJECT_REQUEST__INIT;
    Tessera__Metainfo__DeleteObjectResponse dresp = TESSERA__METAINFO__DELETE_OBJECT_RESPONSE__INIT;
    del.header = &h;
    del.bucket = gr.bucket;
    del.encrypted_key = gr.encrypted_key;
    assert_int_equal(sat_metainfo_delete_object(&f->m, &del, &dresp, &f->a),
                     TS_ERR_PERMISSION_DENIED);
    /* A write-capable key derived from the read-only one is still read-only. */
    struct test_restriction none = {0};
    uint8_t *raw2 = NULL;
    size_t raw2_len = 0;
    assert_int_equal(test_key_restrict(raw, raw_len, &none, &raw2, &raw2_len), 0);
    h.api_key = PB_BYTES(raw2, raw2_len);
    assert_int_equal(sat_test_create_bucket(f, &h, "newbkt"), TS_ERR_PERMISSION_DENIED);
    free(raw2);
    free(raw);

    /* Path-restricted key: only bucket "allowed", prefix "p/". */
    struct test_restriction pr = {.bucket = "allowed", .prefix = "p/"};
    assert_int_equal(test_key_restrict(f->key, f->key_len, &pr, &raw, &raw_len), 0);
    h.api_key = PB_BYTES(raw, raw_len);
    assert_int_equal(sat_metainfo_get_object(&f->m, &gr, &gresp, &f->a), TS_OK);
    gr.bucket = sat_test_bytes("other");
    assert_int_equal(sat_metainfo_get_object(&f->m, &gr, &gresp, &f->a), TS_ERR_PERMISSION_DENIED);
    assert_int_equal(sat_test_begin_upload(f, &h, "allowed", "q/z", &u), TS_ERR_PERMISSION_DENIED);
    assert_int_equal(sat_test_begin_upload(f, &h, "allowed", "p/z", &u), TS_OK);
    /* The stream of "p/z" cannot be committed with a key for another prefix. */
    struct test_restriction pr2 = {.bucket = "allowed", .prefix = "q/"};
    uint8_t *raw3 = NULL;
    size_t raw3_len = 0;
    assert_int_equal(test_key_restrict(f->key, f->key_len, &pr2, &raw3, &raw3_len), 0);
    Tessera__Metainfo__RequestHeader h3 = TESSERA__METAINFO__REQUEST_HEADER__INIT;
    h3.api_key = PB_BYTES(raw3, raw3_len);
    assert_int_equal(sat_test_commit_object(f, &h3, &u, NULL), TS_ERR_PERMISSION_DENIED);
    free(raw3);
    /* ListBuckets with a path-restricted key shows only its bucket. */
    Tessera__Metainfo__ListBucketsRequest lr = TESSERA__METAINFO__LIST_BUCKETS_REQUEST__INIT;
    Tessera__Metainfo__ListBucketsResponse lresp = TESSERA__METAINFO__LIST_BUCKETS_RESPONSE__INIT;
    lr.header = &h;
    assert_int_equal(sat_metainfo_list_buckets(&f->m, &lr, &lresp, &f->a), TS_OK);
    assert_int_equal(lresp.n_items, 1);
    assert_memory_equal(lresp.items[0]->name.data, "allowed", 7);
    /* ProjectInfo is allowed to every valid key. */
    Tessera__Metainfo__ProjectInfoRequest pi = TESSERA__METAINFO__PROJECT_INFO_REQUEST__INIT;
    Tessera__Metainfo__ProjectInfoResponse piresp = TESSERA__METAINFO__PROJECT_INFO_RESPONSE__INIT;
    pi.header = &h;
    assert_int_equal(sat_metainfo_project_info(&f->m, &pi, &piresp, &f->a), TS_OK);
    assert_int_equal(piresp.project_salt.len, 16);
    assert_int_equal(piresp.project_salt.data[0], 0x22);

    /* Expired key. */
    struct test_restriction old = {.not_after_s = ts_time_now_s() - 10};
    uint8_t *raw4 = NULL;
    size_t raw4_len = 0;
    assert_int_equal(test_key_restrict(f->key, f->key_len, &old, &raw4, &raw4_len), 0);
    pi.header = &h3;
    h3.api_key = PB_BYTES(raw4, raw4_len);
    assert_int_equal(sat_metainfo_project_info(&f->m, &pi, &piresp, &f->a), TS_ERR_EXPIRED);
    free(raw4);

    /* Revocation: the restricted key revokes itself through the RPC; the root key keeps
     * working; revoking the root (via its ancestor rule) kills derived keys too. */
    Tessera__Metainfo__RevokeAPIKeyRequest rv = TESSERA__METAINFO__REVOKE_APIKEY_REQUEST__INIT;
    Tessera__Metainfo__RevokeAPIKeyResponse rvresp =
        TESSERA__METAINFO__REVOKE_APIKEY_RESPONSE__INIT;
    rv.header = &h;
    rv.api_key = PB_BYTES(f->key, f->key_len);
    assert_int_equal(sat_metainfo_revoke_api_key(&f->m, &rv, &rvresp, &f->a),
                     TS_ERR_PERMISSION_DENIED); /* a child cannot revoke its parent */
    rv.api_key = PB_BYTES(raw, raw_len);
    assert_int_equal(sat_metainfo_revoke_api_key(&f->m, &rv, &rvresp, &f->a), TS_OK);
    pi.header = &h;
    assert_int_equal(sat_metainfo_project_info(&f->m, &pi, &piresp, &f->a), TS_ERR_REVOKED);
    pi.header = &f->header;
    assert_int_equal(sat_metainfo_project_info(&f->m, &pi, &piresp, &f->a), TS_OK);
    rv.header = &f->header;
    rv.api_key = PB_BYTES(f->key, f->key_len);
    assert_int_equal(sat_metainfo_revoke_api_key(&f->m, &rv, &rvresp, &f->a), TS_OK);
    assert_int_equal(sat_metainfo_project_info(&f->m, &pi, &piresp, &f->a), TS_ERR_REVOKED);
    free(raw);
}

static void test_zombie_cleanup(void **state)
{
    struct sat_test_fx *f = *state;
    assert_int_equal(sat_test_create_bucket(f, &f->header, "bkt"), TS_OK);
    struct sat_test_upload u;
    assert_int_equal(sat_test_begin_upload(f, &f->header, "bkt", "pending", &u), TS_OK);
    assert_int_equal(sat_test_commit_segment(f, &f->header, &u, 8, 0, SAT_TEST_FORGE_NONE, 3000),
                     TS_OK);
    sat_test_upload_object(f, "bkt", "done");
    int64_t deleted = 0;
    assert_int_equal(sat_metainfo_cleanup(&f->m, ts_time_now_s(), 100, &deleted), TS_OK);
    assert_int_equal(deleted, 0);
    /* Past the zombie deadline (1 day) the pending upload and its segment go. */
    assert_int_equal(
        sat_metainfo_cleanup(&f->m, ts_time_now_s() + f->cfg.zombie_deadline_s + 10, 100, &deleted),
        TS_OK);
    assert_true(deleted >= 1);
    assert_int_equal(sat_test_commit_object(f, &f->header, &u, NULL), TS_ERR_NOT_FOUND);
    Tessera__Metainfo__ListObjectsResponse r;
    assert_int_equal(list(f, "", "", true, 0, &r), TS_OK);
    const char *left[] = {"done"};
    expect_items(&r, left, 1);
}

/* Builds a settlement item: the limit as the node received it, and the uplink's order. */
static void make_item(struct sat_test_fx *f, const Tessera__Metainfo__AddressedOrderLimit *al,
                      const uint8_t *piece_priv, int64_t amount,
                      Tessera__Settlement__SettlementItem *it)
{
    struct ts_order_limit l;
    assert_int_equal(ts_order_limit_decode(al->limit.data, al->limit.len, &l), TS_OK);
    struct ts_order o;
    memset(&o, 0, sizeof o);
    memcpy(o.serial, l.serial, TS_SERIAL_SIZE);
    o.amount = amount;
    assert_int_equal(ts_order_sign(&o, piece_priv), TS_OK);
    struct ts_buf b;
    ts_buf_init(&b, 1024);
    assert_int_equal(ts_order_encode(&o, &b), TS_OK);
    tessera__settlement__settlement_item__init(it);
    it->limit = al->limit;
    it->order = PB_BYTES(sat_arena_dup(&f->a, b.data, b.len), b.len);
    ts_buf_release(&b);
}

static void test_settlement_is_idempotent(void **state)
{
    struct sat_test_fx *f = *state;
    assert_int_equal(sat_test_create_bucket(f, &f->header, "bkt"), TS_OK);
    sat_test_upload_object(f, "bkt", "obj");
    sat_test_upload_object(f, "bkt", "obj2");
    Tessera__Metainfo__DownloadObjectRequest dr = TESSERA__METAINFO__DOWNLOAD_OBJECT_REQUEST__INIT;
    Tessera__Metainfo__DownloadObjectResponse d1 =
        TESSERA__METAINFO__DOWNLOAD_OBJECT_RESPONSE__INIT;
    Tessera__Metainfo__DownloadObjectResponse d2 =
        TESSERA__METAINFO__DOWNLOAD_OBJECT_RESPONSE__INIT;
    dr.header = &f->header;
    dr.bucket = sat_test_bytes("bkt");
    dr.encrypted_key = sat_test_bytes("obj");
    assert_int_equal(sat_metainfo_download_object(&f->m, &dr, &d1, &f->a), TS_OK);
    dr.encrypted_key = sat_test_bytes("obj2");
    assert_int_equal(sat_metainfo_download_object(&f->m, &dr, &d2, &f->a), TS_OK);
    const Tessera__Metainfo__SegmentDownload *s1 = d1.segments[0], *s2 = d2.segments[0];
    /* A node holding a piece of both objects (5 of 8 limits each: some node is in both). */
    const Tessera__Metainfo__AddressedOrderLimit *a1 = NULL, *a2 = NULL;
    for (size_t i = 0; i < s1->n_limits && a2 == NULL; i++) {
        for (size_t j = 0; j < s2->n_limits; j++) {
            if (memcmp(s1->limits[i]->node_id.data, s2->limits[j]->node_id.data, 32) == 0) {
                a1 = s1->limits[i];
                a2 = s2->limits[j];
                break;
            }
        }
    }
    assert_non_null(a2);
    struct ts_order_limit l;
    assert_int_equal(ts_order_limit_decode(a1->limit.data, a1->limit.len, &l), TS_OK);
    struct ts_peer_identity node = *ts_identity_peer(f->nodes[sat_test_node_index(f, &l)]);
    int64_t window = l.order_creation_s - l.order_creation_s % 3600;

    Tessera__Settlement__SettlementItem items[3], *ptrs[3] = {&items[0], &items[1], &items[2]};
    make_item(f, a1, s1->piece_private_key.data, 1000, &items[0]);
    make_item(f, a2, s2->piece_private_key.data, 500, &items[1]);
    make_item(f, a1, s1->piece_private_key.data, 1000, &items[2]); /* duplicate serial */
    Tessera__Settlement__SettlementRequest req = TESSERA__SETTLEMENT__SETTLEMENT_REQUEST__INIT;
    req.window_start = window;
    req.items = ptrs;
    req.n_items = 3;
    Tessera__Settlement__SettlementResponse resp = TESSERA__SETTLEMENT__SETTLEMENT_RESPONSE__INIT;
    int64_t now = ts_time_now_s();
    assert_int_equal(sat_orders_settle(f->db, f->sat, &node, &req, now, &resp), TS_OK);
    assert_int_equal(resp.status, TESSERA__SETTLEMENT__SETTLEMENT_STATUS__SETTLEMENT_ACCEPTED);
    assert_int_equal(resp.items_counted, 2);
    assert_int_equal(resp.items_dropped, 1);
    /* The same window again: accepted, nothing counted twice. */
    assert_int_equal(sat_orders_settle(f->db, f->sat, &node, &req, now, &resp), TS_OK);
    assert_int_equal(resp.status, TESSERA__SETTLEMENT__SETTLEMENT_STATUS__SETTLEMENT_ACCEPTED);
    assert_int_equal(resp.items_counted, 0);
    /* A different total for the settled window is rejected. */
    make_item(f, a2, s2->piece_private_key.data, 600, &items[1]);
    assert_int_equal(sat_orders_settle(f->db, f->sat, &node, &req, now, &resp), TS_OK);
    assert_int_equal(resp.status, TESSERA__SETTLEMENT__SETTLEMENT_STATUS__SETTLEMENT_REJECTED);

    struct totals {
        const uint8_t *node;
        int64_t node_total, alloc, settled;
        const uint8_t *project;
    } t = {node.id.bytes, 0, 0, 0, f->project};
    struct ts_db_conn *c = NULL;
    assert_int_equal(ts_db_conn_acquire(f->db, &c), TS_OK);
    assert_int_equal(sat_db_node_bandwidth_total(c, t.node, 0, INT64_MAX, -1, &t.node_total),
                     TS_OK);
    assert_int_equal(sat_db_bucket_bandwidth_total(c, f->project, (const uint8_t *)"bkt", 3, 0,
                                                   INT64_MAX, TS_PIECE_ACTION_GET, &t.alloc,
                                                   &t.settled),
                     TS_OK);
    ts_db_conn_release(f->db, c);
    assert_int_equal(t.node_total, 1500);
    assert_int_equal(t.settled, 1500);
    assert_true(t.alloc > 1500); /* every GET limit's bytes were allocated */

    /* Another node cannot settle this node's orders. */
    struct ts_peer_identity other =
        *ts_identity_peer(f->nodes[(sat_test_node_index(f, &l) + 1) % NODES]);
    req.window_start = window;
    assert_int_equal(sat_orders_settle(f->db, f->sat, &other, &req, now, &resp), TS_OK);
    assert_int_equal(resp.items_counted, 0);
    assert_int_equal(resp.items_dropped, 3);
    /* Windows must be whole hours in the past. */
    req.window_start = window + 1;
    assert_int_equal(sat_orders_settle(f->db, f->sat, &node, &req, now, &resp),
                     TS_ERR_INVALID_ARGUMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_buckets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upload_download_flow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forged_receipts_are_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listing_and_pagination, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inline_object, setup, teardown),
        cmocka_unit_test_setup_teardown(test_api_key_checks_per_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zombie_cleanup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_settlement_is_idempotent, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
