/* Buckets: create, stat, delete, list (names are plaintext: the satellite sees them). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "internal.h"

static ts_err name_check(const char *name)
{
    size_t len = name ? strlen(name) : 0;
    if (len < TS_BUCKET_NAME_MIN || len > TS_BUCKET_NAME_MAX) {
        return ul_fail(TS_ERR_INVALID_ARGUMENT, "bucket names are %d..%d characters",
                       TS_BUCKET_NAME_MIN, TS_BUCKET_NAME_MAX);
    }
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) {
            return ul_fail(TS_ERR_INVALID_ARGUMENT,
                           "bucket \"%s\": only lower-case letters, digits, '-' and '.' are allowed",
                           name);
        }
    }
    return TS_OK;
}

static void info_from(const Tessera__Metainfo__Bucket *b, struct ul_bucket_info *info)
{
    if (info == NULL || b == NULL) {
        return;
    }
    memset(info, 0, sizeof(*info));
    size_t len = b->name.len < TS_BUCKET_NAME_MAX ? b->name.len : TS_BUCKET_NAME_MAX;
    memcpy(info->name, b->name.data, len);
    info->created_s = b->created_at;
}

ul_err ul_bucket_create(struct ul_project *p, const char *name, struct ul_bucket_info *info)
{
    ul_detail_clear();
    if (p == NULL) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    ts_err err = name_check(name);
    if (err != TS_OK) {
        return err;
    }
    Tessera__Metainfo__RequestHeader h;
    ul_meta_header(p, &h);
    Tessera__Metainfo__CreateBucketRequest req = TESSERA__METAINFO__CREATE_BUCKET_REQUEST__INIT;
    req.header = &h;
    req.name.data = (uint8_t *)name;
    req.name.len = strlen(name);
    Tessera__Metainfo__CreateBucketResponse *resp = NULL;
    err = ul_meta_call(p, "CreateBucket", &req.base,
                       &tessera__metainfo__create_bucket_response__descriptor,
                       (ProtobufCMessage **)&resp);
    if (err == TS_OK) {
        info_from(resp->bucket, info);
        protobuf_c_message_free_unpacked(&resp->base, NULL);
    } else if (err == TS_ERR_EXISTS && info != NULL) {
        if (ul_bucket_stat(p, name, info) != TS_OK) {
            memset(info, 0, sizeof(*info)); /* best effort: the error stays EXISTS */
        }
        (void)ul_fail(err, "bucket \"%s\" already exists", name);
    }
    return err;
}

ul_err ul_bucket_stat(struct ul_project *p, const char *name, struct ul_bucket_info *info)
{
    ul_detail_clear();
    if (p == NULL || info == NULL) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    ts_err err = name_check(name);
    if (err != TS_OK) {
        return err;
    }
    Tessera__Metainfo__RequestHeader h;
    ul_meta_header(p, &h);
    Tessera__Metainfo__GetBucketRequest req = TESSERA__METAINFO__GET_BUCKET_REQUEST__INIT;
    req.header = &h;
    req.name.data = (uint8_t *)name;
    req.name.len = strlen(name);
    Tessera__Metainfo__GetBucketResponse *resp = NULL;
    err = ul_meta_call(p, "GetBucket", &req.base,
                       &tessera__metainfo__get_bucket_response__descriptor,
                       (ProtobufCMessage **)&resp);
    if (err == TS_OK) {
        info_from(resp->bucket, info);
        protobuf_c_message_free_unpacked(&resp->base, NULL);
    } else if (err == TS_ERR_NOT_FOUND) {
        (void)ul_fail(err, "bucket \"%s\" does not exist", name);
    }
    return err;
}

ul_err ul_bucket_delete(struct ul_project *p, const char *name, bool force)
{
    ul_detail_clear();
    if (p == NULL) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    ts_err err = name_check(name);
    if (err != TS_OK) {
        return err;
    }
    Tessera__Metainfo__RequestHeader h;
    ul_meta_header(p, &h);
    Tessera__Metainfo__DeleteBucketRequest req = TESSERA__METAINFO__DELETE_BUCKET_REQUEST__INIT;
    req.header = &h;
    req.name.data = (uint8_t *)name;
    req.name.len = strlen(name);
    req.force = force;
    ProtobufCMessage *resp = NULL;
    err = ul_meta_call(p, "DeleteBucket", &req.base,
                       &tessera__metainfo__delete_bucket_response__descriptor, &resp);
    if (resp != NULL) {
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    if (err == TS_ERR_NOT_EMPTY) {
        (void)ul_fail(err, "bucket \"%s\" is not empty: delete its objects or use force", name);
    }
    return err;
}

struct ul_bucket_iter {
    struct ul_project *p;
    char cursor[TS_BUCKET_NAME_MAX + 1];
    Tessera__Metainfo__ListBucketsResponse *page;
    size_t at;
    bool more; /* the satellite has more pages */
    struct ul_bucket_info item;
};

ul_err ul_bucket_list(struct ul_project *p, const char *cursor, struct ul_bucket_iter **out)
{
    ul_detail_clear();
    if (p == NULL || out == NULL) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    struct ul_bucket_iter *it = calloc(1, sizeof(*it));
    if (it == NULL) {
        return TS_ERR_NOMEM;
    }
    it->p = p;
    it->more = true;
    snprintf(it->cursor, sizeof(it->cursor), "%s", cursor ? cursor : "");
    *out = it;
    return TS_OK;
}

static ts_err fetch_page(struct ul_bucket_iter *it)
{
    Tessera__Metainfo__RequestHeader h;
    ul_meta_header(it->p, &h);
    Tessera__Metainfo__ListBucketsRequest req = TESSERA__METAINFO__LIST_BUCKETS_REQUEST__INIT;
    req.header = &h;
    req.cursor.data = (uint8_t *)it->cursor;
    req.cursor.len = strlen(it->cursor);
    req.limit = UL_LIST_PAGE;
    if (it->page != NULL) {
        protobuf_c_message_free_unpacked(&it->page->base, NULL);
        it->page = NULL;
    }
    it->at = 0;
    ts_err err = ul_meta_call(it->p, "ListBuckets", &req.base,
                              &tessera__metainfo__list_buckets_response__descriptor,
                              (ProtobufCMessage **)&it->page);
    if (err == TS_OK) {
        it->more = it->page->more && it->page->n_items > 0;
    }
    return err;
}

ul_err ul_bucket_iter_next(struct ul_bucket_iter *it, const struct ul_bucket_info **item)
{
    ul_detail_clear();
    if (it == NULL || item == NULL) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    *item = NULL;
    while (it->page == NULL || it->at >= it->page->n_items) {
        if (!it->more) {
            return TS_OK;
        }
        ts_err err = fetch_page(it);
        if (err != TS_OK) {
            return err;
        }
    }
    info_from(it->page->items[it->at++], &it->item);
    snprintf(it->cursor, sizeof(it->cursor), "%s", it->item.name);
    *item = &it->item;
    return TS_OK;
}

void ul_bucket_iter_free(struct ul_bucket_iter *it)
{
    if (it == NULL) {
        return;
    }
    if (it->page != NULL) {
        protobuf_c_message_free_unpacked(&it->page->base, NULL);
    }
    free(it);
}
