/* Bucket RPCs: create, get, list, delete. */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "satellite/metainfo/internal.h"

struct bucket_ctx {
    struct sat_metainfo *m;
    struct sat_bucket b;
    bool force;
    int64_t deleted;
};

static ts_err create_fn(struct ts_db_conn *c, void *ctx)
{
    struct bucket_ctx *bc = ctx;
    int64_t count = 0;
    ts_err err = sat_db_bucket_count(c, bc->b.project_id, &count);
    if (err == TS_OK && count >= bc->m->cfg->buckets_max) {
        err = TS_ERR_LIMIT_EXCEEDED;
    }
    if (err == TS_OK) {
        err = sat_db_bucket_insert(c, &bc->b);
    }
    return err;
}

ts_err sat_metainfo_create_bucket(struct sat_metainfo *m,
                                  const Tessera__Metainfo__CreateBucketRequest *req,
                                  Tessera__Metainfo__CreateBucketResponse *resp,
                                  struct sat_arena *a)
{
    struct sat_auth auth;
    ts_err err = sat_mi_auth(m, req->header, SAT_OP_WRITE, req->name, PB_BYTES(NULL, 0), &auth);
    if (err == TS_OK) {
        err = sat_mi_check_bucket_name(req->name);
    }
    if (err != TS_OK) {
        return err;
    }
    struct bucket_ctx bc = {.m = m};
    memcpy(bc.b.project_id, auth.project_id, SAT_ID_SIZE);
    sat_mi_copy(bc.b.name, req->name);
    bc.b.name_len = req->name.len;
    bc.b.created_at = ts_time_now_s();
    bc.b.placement = req->placement;
    err = ts_db_tx(m->db, create_fn, &bc);
    if (err == TS_OK) {
        resp->bucket = sat_mi_bucket_pb(a, &bc.b);
        err = resp->bucket == NULL ? TS_ERR_NOMEM : TS_OK;
    }
    return err;
}

static ts_err get_fn(struct ts_db_conn *c, void *ctx)
{
    struct bucket_ctx *bc = ctx;
    /* The query's arguments live in the output struct, which the lookup clears first. */
    struct sat_bucket key = bc->b;
    return sat_db_bucket_get(c, key.project_id, key.name, key.name_len, &bc->b);
}

ts_err sat_metainfo_get_bucket(struct sat_metainfo *m,
                               const Tessera__Metainfo__GetBucketRequest *req,
                               Tessera__Metainfo__GetBucketResponse *resp, struct sat_arena *a)
{
    struct sat_auth auth;
    ts_err err = sat_mi_auth(m, req->header, SAT_OP_READ, req->name, PB_BYTES(NULL, 0), &auth);
    if (err == TS_OK) {
        err = sat_mi_check_bucket_name(req->name);
    }
    if (err != TS_OK) {
        return err;
    }
    struct bucket_ctx bc = {.m = m};
    memcpy(bc.b.project_id, auth.project_id, SAT_ID_SIZE);
    sat_mi_copy(bc.b.name, req->name);
    bc.b.name_len = req->name.len;
    err = ts_db_tx_read(m->db, get_fn, &bc);
    if (err == TS_OK) {
        resp->bucket = sat_mi_bucket_pb(a, &bc.b);
        err = resp->bucket == NULL ? TS_ERR_NOMEM : TS_OK;
    }
    return err;
}

struct list_ctx {
    const uint8_t *project;
    ProtobufCBinaryData cursor;
    size_t limit;
    struct sat_bucket *out;
    size_t count;
    bool more;
};

static ts_err list_fn(struct ts_db_conn *c, void *ctx)
{
    struct list_ctx *lc = ctx;
    return sat_db_bucket_list(c, lc->project, lc->cursor.data, lc->cursor.len, lc->limit, lc->out,
                              &lc->count, &lc->more);
}

ts_err sat_metainfo_list_buckets(struct sat_metainfo *m,
                                 const Tessera__Metainfo__ListBucketsRequest *req,
                                 Tessera__Metainfo__ListBucketsResponse *resp, struct sat_arena *a)
{
    struct sat_auth auth;
    struct sat_verified_key *vk = NULL;
    if (req->header == NULL) {
        return TS_ERR_AUTH_FAILED;
    }
    ts_err err =
        sat_apikey_verify(m->db, req->header->api_key.data, req->header->api_key.len, &vk, &auth);
    if (err != TS_OK) {
        return err;
    }
    int64_t now = ts_time_now_s();
    struct sat_request_action all = {.op = SAT_OP_LIST};
    /* A key restricted to some buckets may list those: each bucket is checked below. */
    bool every = sat_apikey_allows(vk, &all, now) == TS_OK;
    struct list_ctx lc = {.project = auth.project_id, .cursor = req->cursor};
    lc.limit =
        req->limit == 0 || req->limit > SAT_LIST_BUCKETS_MAX ? SAT_LIST_BUCKETS_MAX : req->limit;
    if (req->cursor.len > TS_BUCKET_NAME_MAX) {
        err = TS_ERR_INVALID_ARGUMENT;
    }
    lc.out = calloc(lc.limit, sizeof *lc.out);
    if (err == TS_OK && lc.out == NULL) {
        err = TS_ERR_NOMEM;
    }
    if (err == TS_OK) {
        err = ts_db_tx_read(m->db, list_fn, &lc);
    }
    if (err == TS_OK) {
        resp->items = sat_arena_alloc(a, (lc.count + 1) * sizeof *resp->items);
        err = resp->items == NULL ? TS_ERR_NOMEM : TS_OK;
    }
    for (size_t i = 0; err == TS_OK && i < lc.count; i++) {
        /* A bucket-level read (empty path) is what a key restricted to paths inside the bucket
         * allows; it is how Storj decides bucket visibility too. */
        struct sat_request_action one = {
            .op = SAT_OP_READ, .bucket = lc.out[i].name, .bucket_len = lc.out[i].name_len};
        if (!every && sat_apikey_allows(vk, &one, now) != TS_OK) {
            continue;
        }
        resp->items[resp->n_items] = sat_mi_bucket_pb(a, &lc.out[i]);
        err = resp->items[resp->n_items] == NULL ? TS_ERR_NOMEM : TS_OK;
        resp->n_items++;
    }
    resp->more = lc.more;
    free(lc.out);
    sat_apikey_verified_free(vk);
    return err;
}

static ts_err delete_fn(struct ts_db_conn *c, void *ctx)
{
    struct bucket_ctx *bc = ctx;
    struct sat_bucket b;
    bool empty = false;
    bc->deleted = 0;
    ts_err err = sat_db_bucket_get(c, bc->b.project_id, bc->b.name, bc->b.name_len, &b);
    if (err == TS_OK) {
        err = sat_db_bucket_is_empty(c, bc->b.project_id, bc->b.name, bc->b.name_len, &empty);
    }
    if (err == TS_OK && !empty) {
        err = bc->force ? sat_db_bucket_delete_objects(c, bc->b.project_id, bc->b.name,
                                                       bc->b.name_len, &bc->deleted)
                        : TS_ERR_NOT_EMPTY;
    }
    if (err == TS_OK) {
        err = sat_db_bucket_delete(c, bc->b.project_id, bc->b.name, bc->b.name_len);
    }
    return err;
}

ts_err sat_metainfo_delete_bucket(struct sat_metainfo *m,
                                  const Tessera__Metainfo__DeleteBucketRequest *req,
                                  Tessera__Metainfo__DeleteBucketResponse *resp,
                                  struct sat_arena *a)
{
    struct sat_auth auth;
    (void)a;
    ts_err err = sat_mi_auth(m, req->header, SAT_OP_DELETE, req->name, PB_BYTES(NULL, 0), &auth);
    if (err == TS_OK) {
        err = sat_mi_check_bucket_name(req->name);
    }
    if (err != TS_OK) {
        return err;
    }
    struct bucket_ctx bc = {.m = m, .force = req->force};
    memcpy(bc.b.project_id, auth.project_id, SAT_ID_SIZE);
    sat_mi_copy(bc.b.name, req->name);
    bc.b.name_len = req->name.len;
    err = ts_db_tx(m->db, delete_fn, &bc);
    if (err == TS_OK) {
        resp->deleted_objects = (uint64_t)bc.deleted;
    }
    return err;
}
