/*
 * ListObjects (v1) and ListObjectsV2. Keys are encrypted per path component and the satellite
 * lists ciphertext order, so S3's sorted listing with arbitrary prefixes and delimiters is built
 * here: list the directory level holding the prefix (recursively unless the delimiter is "/"),
 * keep the keys under the prefix, fold them at the delimiter, sort, then cut the page after the
 * marker / start-after / continuation token. Each page costs one scan of that level, bounded by
 * GW_LIST_SCAN_MAX entries (past it: an error, never a silently short listing).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "gw_range.h"
#include "gw_s3.h"
#include "gw_xml.h"

struct entry {
    char *key;
    bool is_prefix;
    uint64_t size;
    int64_t created_s;
    char etag[80];
};

struct listing {
    struct entry *items;
    size_t count, cap;
};

struct list_params {
    const char *prefix, *delimiter, *marker;
    size_t max_keys;
    bool url_encoding, v2, fetch_owner;
    const char *continuation, *start_after;
};

static void listing_free(struct listing *l)
{
    for (size_t i = 0; i < l->count; i++) {
        free(l->items[i].key);
    }
    free(l->items);
    memset(l, 0, sizeof *l);
}

static ts_err listing_add(struct listing *l, const char *key, size_t key_len, bool is_prefix,
                          const struct ul_object_info *info)
{
    if (l->count == GW_LIST_SCAN_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        struct entry *n = realloc(l->items, cap * sizeof *n);
        if (n == NULL) {
            return TS_ERR_NOMEM;
        }
        l->items = n;
        l->cap = cap;
    }
    struct entry *e = &l->items[l->count];
    memset(e, 0, sizeof *e);
    e->key = strndup(key, key_len);
    if (e->key == NULL) {
        return TS_ERR_NOMEM;
    }
    e->is_prefix = is_prefix;
    if (!is_prefix) {
        e->size = info->size;
        e->created_s = info->created_s;
        gw_object_etag(info, e->etag);
    }
    l->count++;
    return TS_OK;
}

static int entry_cmp(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    return strcmp(x->key, y->key);
}

/* Adds one listed item under the S3 prefix/delimiter rules. */
static ts_err take(struct listing *l, const struct list_params *lp, const struct ul_object_info *it)
{
    const char *key = it->key;
    size_t plen = strlen(lp->prefix);
    if (strncmp(key, lp->prefix, plen) != 0) {
        return TS_OK;
    }
    if (it->is_prefix) { /* only when the delimiter is "/" */
        return listing_add(l, key, strlen(key), true, it);
    }
    size_t dlen = strlen(lp->delimiter);
    if (dlen > 0) {
        const char *d = strstr(key + plen, lp->delimiter);
        if (d != NULL) {
            return listing_add(l, key, (size_t)(d - key) + dlen, true, it);
        }
    }
    return listing_add(l, key, strlen(key), false, it);
}

static ul_err gather(struct gw_ctx *ctx, const struct list_params *lp, struct listing *l,
                     ts_err *limit)
{
    char parent[UL_OBJECT_KEY_MAX + 1];
    const char *slash = strrchr(lp->prefix, '/');
    size_t parent_len = slash ? (size_t)(slash - lp->prefix) + 1 : 0;
    memcpy(parent, lp->prefix, parent_len);
    parent[parent_len] = 0;
    struct ul_list_options opts = {0};
    opts.prefix = parent;
    opts.recursive = strcmp(lp->delimiter, "/") != 0;
    opts.metadata = true;
    struct ul_object_iter *it = NULL;
    ul_err err = ul_object_list(ctx->cred->project, ctx->bucket, &opts, &it);
    *limit = TS_OK;
    while (err == UL_OK && *limit == TS_OK) {
        const struct ul_object_info *item = NULL;
        err = ul_object_iter_next(it, &item);
        if (err != UL_OK || item == NULL) {
            break;
        }
        *limit = take(l, lp, item);
    }
    ul_object_iter_free(it);
    if (err != UL_OK || *limit != TS_OK) {
        return err;
    }
    if (l->count > 1) {
        qsort(l->items, l->count, sizeof l->items[0], entry_cmp);
    }
    /* fold duplicate common prefixes */
    size_t w = 0;
    for (size_t r = 0; r < l->count; r++) {
        if (w > 0 && l->items[r].is_prefix && l->items[w - 1].is_prefix &&
            strcmp(l->items[w - 1].key, l->items[r].key) == 0) {
            free(l->items[r].key);
            continue;
        }
        l->items[w++] = l->items[r];
    }
    l->count = w;
    return UL_OK;
}

/* Writes text, URL-encoded when the client asked for encoding-type=url. */
static void text(struct gw_xml *x, const struct list_params *lp, const char *name,
                 const char *value)
{
    if (!lp->url_encoding || x->err != TS_OK) {
        gw_xml_text(x, name, value);
        return;
    }
    struct ts_buf enc;
    ts_buf_init(&enc, GW_URI_MAX);
    x->err = gw_uri_encode(value, strlen(value), true, &enc);
    if (x->err == TS_OK) {
        x->err = ts_buf_reserve(&enc, 0);
    }
    if (x->err == TS_OK) {
        gw_xml_text(x, name, (const char *)enc.data);
    }
    ts_buf_release(&enc);
}

static void write_entries(struct gw_xml *x, const struct gw_ctx *ctx, const struct list_params *lp,
                          const struct listing *l, size_t first, size_t end)
{
    for (size_t i = first; i < end; i++) {
        const struct entry *e = &l->items[i];
        if (e->is_prefix) {
            continue;
        }
        char date[48];
        gw_iso_date_format(e->created_s, date);
        gw_xml_open(x, "Contents", NULL);
        text(x, lp, "Key", e->key);
        gw_xml_text(x, "LastModified", date);
        gw_xml_text(x, "ETag", e->etag);
        gw_xml_u64(x, "Size", e->size);
        gw_xml_text(x, "StorageClass", "STANDARD");
        if (!lp->v2 || lp->fetch_owner) {
            gw_xml_open(x, "Owner", NULL);
            gw_xml_text(x, "ID", ctx->cred->access_key_id);
            gw_xml_text(x, "DisplayName", "tessera");
            gw_xml_close(x);
        }
        gw_xml_close(x);
    }
    for (size_t i = first; i < end; i++) {
        if (l->items[i].is_prefix) {
            gw_xml_open(x, "CommonPrefixes", NULL);
            text(x, lp, "Prefix", l->items[i].key);
            gw_xml_close(x);
        }
    }
}

static bool parse_params(struct gw_ctx *ctx, bool v2, struct list_params *lp, struct ts_buf *tok)
{
    const struct gw_req *r = &ctx->req;
    memset(lp, 0, sizeof *lp);
    lp->v2 = v2;
    lp->prefix = gw_req_query(r, "prefix") ? gw_req_query(r, "prefix") : "";
    lp->delimiter = gw_req_query(r, "delimiter") ? gw_req_query(r, "delimiter") : "";
    const char *enc = gw_req_query(r, "encoding-type");
    lp->url_encoding = enc != NULL && strcmp(enc, "url") == 0;
    const char *fo = gw_req_query(r, "fetch-owner");
    lp->fetch_owner = fo != NULL && strcmp(fo, "true") == 0;
    lp->max_keys = GW_LIST_KEYS_MAX;
    const char *mk = gw_req_query(r, "max-keys");
    if (mk != NULL) {
        char *end = NULL;
        long long v = strtoll(mk, &end, 10);
        if (end == mk || *end != 0 || v < 0) {
            gw_s3_error(ctx, GW_S3_INVALID_ARGUMENT, "max-keys must be a non-negative integer");
            return false;
        }
        lp->max_keys = v < GW_LIST_KEYS_MAX ? (size_t)v : GW_LIST_KEYS_MAX;
    }
    if (enc != NULL && !lp->url_encoding) {
        gw_s3_error(ctx, GW_S3_INVALID_ARGUMENT, "Invalid Encoding Method specified");
        return false;
    }
    if (strlen(lp->prefix) > UL_OBJECT_KEY_MAX) {
        gw_s3_error(ctx, GW_S3_KEY_TOO_LONG, NULL);
        return false;
    }
    if (!v2) {
        lp->marker = gw_req_query(r, "marker");
        return true;
    }
    lp->start_after = gw_req_query(r, "start-after");
    lp->continuation = gw_req_query(r, "continuation-token");
    lp->marker = lp->start_after;
    if (lp->continuation != NULL) {
        /* the token is the hex of the last key returned */
        size_t n = strlen(lp->continuation);
        for (size_t i = 0; i + 1 < n + 1 && i < n; i += 2) {
            char h[3] = {lp->continuation[i], i + 1 < n ? lp->continuation[i + 1] : 'x', 0};
            char *end = NULL;
            long v = strtol(h, &end, 16);
            if (*end != 0 || v == 0 || ts_buf_append_byte(tok, (uint8_t)v) != TS_OK) {
                gw_s3_error(ctx, GW_S3_INVALID_ARGUMENT, "The continuation token is not valid.");
                return false;
            }
        }
        if (ts_buf_reserve(tok, 0) != TS_OK) {
            gw_s3_error(ctx, GW_S3_INTERNAL, NULL);
            return false;
        }
        lp->marker = (const char *)tok->data;
    }
    return true;
}

static void header_fields(struct gw_xml *x, const struct gw_ctx *ctx, const struct list_params *lp,
                          size_t key_count, bool truncated, const char *next)
{
    gw_xml_text(x, "Name", ctx->bucket);
    text(x, lp, "Prefix", lp->prefix);
    if (!lp->v2) {
        text(x, lp, "Marker", lp->marker ? lp->marker : "");
    }
    gw_xml_u64(x, "MaxKeys", lp->max_keys);
    if (lp->delimiter[0]) {
        text(x, lp, "Delimiter", lp->delimiter);
    }
    if (lp->url_encoding) {
        gw_xml_text(x, "EncodingType", "url");
    }
    gw_xml_bool(x, "IsTruncated", truncated);
    if (lp->v2) {
        gw_xml_u64(x, "KeyCount", key_count);
        if (lp->continuation) {
            gw_xml_text(x, "ContinuationToken", lp->continuation);
        }
        if (lp->start_after) {
            text(x, lp, "StartAfter", lp->start_after);
        }
        if (truncated) {
            char *hex = malloc(2 * strlen(next) + 1);
            if (hex == NULL) {
                x->err = TS_ERR_NOMEM;
                return;
            }
            gw_hex((const uint8_t *)next, strlen(next), hex);
            gw_xml_text(x, "NextContinuationToken", hex);
            free(hex);
        }
    } else if (truncated && lp->delimiter[0]) {
        text(x, lp, "NextMarker", next);
    }
}

static void list_objects(struct gw_ctx *ctx, bool v2)
{
    struct list_params lp;
    struct listing l = {0};
    struct ts_buf tok, xml;
    struct gw_xml x;
    ts_buf_init(&tok, UL_OBJECT_KEY_MAX + 1);
    ts_buf_init(&xml, 64u * 1024 * 1024);
    if (!parse_params(ctx, v2, &lp, &tok)) {
        goto done;
    }
    ts_err limit;
    ul_err err = gather(ctx, &lp, &l, &limit);
    if (err == UL_OK && l.count == 0) {
        /* the satellite lists a missing bucket as empty; S3 says NoSuchBucket */
        struct ul_bucket_info bi;
        err = ul_bucket_stat(ctx->cred->project, ctx->bucket, &bi);
    }
    if (err != UL_OK) {
        gw_s3_error_ul(ctx, err);
        goto done;
    }
    if (limit != TS_OK) {
        gw_s3_error(ctx, limit == TS_ERR_TOO_LARGE ? GW_S3_NOT_IMPLEMENTED : GW_S3_INTERNAL,
                    "This prefix holds more entries than the gateway sorts in one listing; "
                    "list with delimiter '/' or a longer prefix ending in '/'.");
        goto done;
    }
    size_t first = 0;
    while (lp.marker && first < l.count && strcmp(l.items[first].key, lp.marker) <= 0) {
        first++;
    }
    size_t end = first + lp.max_keys < l.count ? first + lp.max_keys : l.count;
    bool truncated = end < l.count;
    const char *next = end > first ? l.items[end - 1].key : "";
    gw_xml_begin(&x, &xml);
    gw_xml_open(&x, "ListBucketResult", GW_S3_XMLNS);
    header_fields(&x, ctx, &lp, end - first, truncated, next);
    write_entries(&x, ctx, &lp, &l, first, end);
    gw_xml_close(&x);
    if (gw_xml_end(&x) != TS_OK) {
        gw_s3_error(ctx, GW_S3_INTERNAL, NULL);
    } else {
        gw_s3_xml_answer(ctx, 200, &xml);
    }
done:
    listing_free(&l);
    ts_buf_release(&tok);
    ts_buf_release(&xml);
}

static void list_v1(struct gw_ctx *ctx)
{
    list_objects(ctx, false);
}

static void list_v2(struct gw_ctx *ctx)
{
    list_objects(ctx, true);
}

const struct gw_op gw_op_list_objects = {"ListObjects", GW_BODY_NONE, list_v1, NULL, NULL, NULL};
const struct gw_op gw_op_list_objects_v2 = {
    "ListObjectsV2", GW_BODY_NONE, list_v2, NULL, NULL, NULL};
