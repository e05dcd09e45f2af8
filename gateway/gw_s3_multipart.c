/*
 * Multipart uploads on libtessera's own multipart API (ul_multipart_*).
 *
 * The S3 upload ID is the uplink's (the satellite-signed stream ID in base32). UploadPart streams
 * the body straight into a part upload and stores the part's MD5 as its ETag; Complete checks the
 * ETags the client lists against the stored ones and commits with one satellite call, so the data
 * crosses the gateway once and grants restricted to a prefix can upload in parts. The object's
 * ETag is S3's md5(concatenated part MD5s)-N, stored in its metadata right after completion
 * (CreateMultipartUpload stores a placeholder of the same length, so metadata that could not
 * take it fails up front).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/base.h"
#include "base/log.h"
#include "gw_range.h"
#include "gw_s3.h"
#include "gw_xml.h"

#define LOG "gw.multipart"

/* NOT_FOUND from a call naming an upload: the upload, unless the bucket itself is missing. */
static void upload_error(struct gw_ctx *ctx, ul_err err)
{
    struct ul_bucket_info bi;
    if (err != UL_ERR_NOT_FOUND) {
        gw_s3_error_ul(ctx, err);
    } else if (ul_bucket_stat(ctx->cred->project, ctx->bucket, &bi) == UL_ERR_NOT_FOUND) {
        gw_s3_error(ctx, GW_S3_NO_SUCH_BUCKET, NULL);
    } else {
        gw_s3_error(ctx, GW_S3_NO_SUCH_UPLOAD,
                    "The specified upload does not exist. The upload ID may be invalid, or the "
                    "upload may have been aborted or completed.");
    }
}

static const char *upload_id(const struct gw_ctx *ctx)
{
    const char *id = gw_req_query(&ctx->req, "uploadId");
    return id != NULL ? id : "";
}

static void answer_xml(struct gw_ctx *ctx, struct gw_xml *x, struct ts_buf *xml)
{
    if (gw_xml_end(x) == TS_OK) {
        gw_s3_xml_answer(ctx, 200, xml);
    } else {
        gw_s3_error(ctx, GW_S3_INTERNAL, NULL);
    }
}

/* ---- CreateMultipartUpload -------------------------------------------------------------- */

static void create_upload(struct gw_ctx *ctx)
{
    struct gw_meta meta;
    char *id = NULL;
    gw_meta_init(&meta);
    ts_err terr = gw_meta_from_request(&meta, &ctx->req);
    if (terr == TS_OK) {
        terr = gw_meta_add(&meta, GW_META_ETAG, GW_ETAG_PLACEHOLDER "-00000");
    }
    if (terr != TS_OK) {
        gw_s3_error(ctx,
                    terr == TS_ERR_TOO_LARGE ? GW_S3_METADATA_TOO_LARGE : GW_S3_INVALID_ARGUMENT,
                    NULL);
        goto done;
    }
    struct ul_multipart_options opts = {0};
    opts.metadata = meta.entries;
    opts.metadata_count = meta.count;
    ul_err err = ul_multipart_begin(ctx->cred->project, ctx->bucket, ctx->key, &opts, &id);
    if (err != UL_OK) {
        gw_s3_error_ul(ctx, err);
        goto done;
    }
    struct ts_buf xml;
    struct gw_xml x;
    ts_buf_init(&xml, 16384);
    gw_xml_begin(&x, &xml);
    gw_xml_open(&x, "InitiateMultipartUploadResult", GW_S3_XMLNS);
    gw_xml_text(&x, "Bucket", ctx->bucket);
    gw_xml_text(&x, "Key", ctx->key);
    gw_xml_text(&x, "UploadId", id);
    gw_xml_close(&x);
    answer_xml(ctx, &x, &xml);
    ts_buf_release(&xml);
done:
    ul_free(id);
    gw_meta_release(&meta);
}

/* ---- UploadPart ------------------------------------------------------------------------- */

static void part_begin(struct gw_ctx *ctx)
{
    const char *pn = gw_req_query(&ctx->req, "partNumber");
    char *end = NULL;
    long n = pn ? strtol(pn, &end, 10) : 0;
    if (pn == NULL || *pn == 0 || *end != 0 || n < 1 || n > GW_PARTS_MAX) {
        gw_s3_error(ctx, GW_S3_INVALID_ARGUMENT,
                    "Part number must be an integer between 1 and 10000, inclusive");
        return;
    }
    if (!ctx->has_declared_size) {
        gw_s3_error(ctx, GW_S3_MISSING_CONTENT_LENGTH, NULL);
        return;
    }
    if (ctx->declared_size > GW_PUT_SIZE_MAX) {
        gw_s3_error(ctx, GW_S3_ENTITY_TOO_LARGE, NULL);
        return;
    }
    struct ul_part_upload *part = NULL;
    ul_err err = ul_multipart_part_upload(ctx->cred->project, ctx->bucket, ctx->key, upload_id(ctx),
                                          (uint32_t)n, &part);
    if (err != UL_OK) {
        upload_error(ctx, err);
        return;
    }
    ctx->op_state = part;
    ctx->want_md5 = true;
}

static void part_data(struct gw_ctx *ctx, const uint8_t *data, size_t len)
{
    gw_metrics_add(&gw_metrics.uplink_up_bytes, len);
    ul_err err = ul_part_upload_write(ctx->op_state, data, len);
    if (err != UL_OK) {
        upload_error(ctx, err);
    }
}

static void part_finish(struct gw_ctx *ctx)
{
    struct ul_part_upload *part = ctx->op_state;
    char hex[33], etag[40];
    gw_hex(ctx->body_md5, 16, hex);
    ul_err err = ul_part_upload_set_etag(part, hex);
    if (err == UL_OK) {
        err = ul_part_upload_commit(part, NULL);
        ctx->op_state = NULL; /* commit always frees */
    }
    if (err != UL_OK) {
        upload_error(ctx, err);
        return;
    }
    snprintf(etag, sizeof etag, "\"%s\"", hex);
    gw_resp_header(&ctx->resp, "ETag", etag);
    ctx->resp.status = 200;
}

static void part_cleanup(struct gw_ctx *ctx)
{
    ul_part_upload_abort(ctx->op_state);
    ctx->op_state = NULL;
}

/* ---- CompleteMultipartUpload ------------------------------------------------------------ */

struct part_ref {
    uint32_t number;
    char etag[UL_ETAG_MAX + 1]; /* as listed by the client, quotes removed */
};

/* One <Part>: its number and ETag. false = malformed. */
static bool parse_part(const char *in, size_t in_len, struct ts_buf *tmp, struct part_ref *out)
{
    const char *v;
    size_t vlen, p1 = 0, p2 = 0;
    char num[8], *end = NULL;
    if (gw_xml_find(in, in_len, "PartNumber", &p1, &v, &vlen) != TS_OK || vlen == 0 || vlen > 5) {
        return false;
    }
    memcpy(num, v, vlen);
    num[vlen] = 0;
    long n = strtol(num, &end, 10);
    ts_buf_clear(tmp);
    if (*end != 0 || n < 1 || n > GW_PARTS_MAX ||
        gw_xml_find(in, in_len, "ETag", &p2, &v, &vlen) != TS_OK ||
        gw_xml_unescape(v, vlen, tmp) != TS_OK) {
        return false;
    }
    const char *e = (const char *)tmp->data;
    size_t elen = tmp->len;
    if (elen >= 2 && e[0] == '"' && e[elen - 1] == '"') {
        e++;
        elen -= 2;
    }
    out->number = (uint32_t)n;
    out->etag[0] = 0;
    if (elen <= UL_ETAG_MAX) { /* longer: kept empty, matches no stored ETag */
        memcpy(out->etag, e, elen);
        out->etag[elen] = 0;
    }
    return true;
}

/* Parses <Part><PartNumber/><ETag/></Part>... (strictly ascending numbers). */
static bool parse_parts(struct gw_ctx *ctx, struct part_ref *parts, size_t *count)
{
    const char *doc = (const char *)ctx->body.data, *in;
    size_t len = ctx->body.len, pos = 0, in_len;
    struct ts_buf tmp;
    ts_err err = TS_ERR_MALFORMED;
    bool ok = doc != NULL;
    ts_buf_init(&tmp, 1024);
    *count = 0;
    while (ok && (err = gw_xml_find(doc, len, "Part", &pos, &in, &in_len)) == TS_OK) {
        ok = *count < GW_PARTS_MAX && parse_part(in, in_len, &tmp, &parts[*count]);
        if (ok && *count > 0 && parts[*count - 1].number >= parts[*count].number) {
            ts_buf_release(&tmp);
            gw_s3_error(ctx, GW_S3_INVALID_PART_ORDER,
                        "The list of parts was not in ascending order. Parts must be ordered by "
                        "part number.");
            return false;
        }
        *count += ok;
    }
    ts_buf_release(&tmp);
    if (!ok || err != TS_ERR_NOT_FOUND || *count == 0) {
        gw_s3_error(ctx, GW_S3_MALFORMED_XML, NULL);
        return false;
    }
    return true;
}

static void invalid_part(struct gw_ctx *ctx)
{
    gw_s3_error(ctx, GW_S3_INVALID_PART,
                "One or more of the specified parts could not be found. The part may not have "
                "been uploaded, or the specified entity tag may not match the part's entity tag.");
}

/* Adds one part's MD5 to the multipart ETag: its hex ETag decoded (parts stored by other tools
 * carry SHA-256 or their own ETags: those are hashed as text). */
static void etag_digest_add(struct gw_md5 *m, const char *etag)
{
    uint8_t d[16];
    bool hex = strlen(etag) == 32;
    for (size_t i = 0; hex && i < 16; i++) {
        unsigned v = 0;
        for (size_t j = 0; j < 2 && hex; j++) {
            char c = etag[2 * i + j];
            int x = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
            hex = x >= 0;
            v = v << 4 | (unsigned)(x & 15);
        }
        d[i] = (uint8_t)v;
    }
    if (hex) {
        gw_md5_update(m, d, sizeof d);
    } else {
        struct gw_md5 t;
        gw_md5_init(&t);
        gw_md5_update(&t, etag, strlen(etag));
        gw_md5_final(&t, d);
        gw_md5_update(m, d, sizeof d);
    }
}

/* Walks the stored parts alongside the listed ones: every listed part must exist with the listed
 * ETag. Computes S3's multipart ETag on the way. false with the answer set. */
static bool match_parts(struct gw_ctx *ctx, const struct part_ref *parts, size_t count,
                        char etag[48])
{
    struct ul_part_iter *it = NULL;
    struct gw_md5 m;
    size_t i = 0;
    gw_md5_init(&m);
    ul_err err =
        ul_multipart_part_list(ctx->cred->project, ctx->bucket, ctx->key, upload_id(ctx), 0, &it);
    while (err == UL_OK && i < count) {
        const struct ul_part_info *p = NULL;
        err = ul_part_iter_next(it, &p);
        if (err != UL_OK || p == NULL || p->part_number > parts[i].number) {
            break; /* a listed part is missing */
        }
        if (p->part_number < parts[i].number) {
            continue; /* uploaded but not listed: dropped by the completion */
        }
        if (strcasecmp(p->etag, parts[i].etag) != 0) {
            break;
        }
        etag_digest_add(&m, p->etag);
        i++;
    }
    ul_part_iter_free(it);
    if (err != UL_OK) {
        upload_error(ctx, err);
        return false;
    }
    if (i < count) {
        invalid_part(ctx);
        return false;
    }
    uint8_t d[16];
    char hex[33];
    gw_md5_final(&m, d);
    gw_hex(d, 16, hex);
    snprintf(etag, 48, "%s-%zu", hex, count);
    return true;
}

/* Stores the multipart ETag in place of the placeholder. On failure the object stays (it is
 * complete) with a derived ETag; the failure is logged. */
static void store_etag(struct gw_ctx *ctx, const struct ul_object_info *info, const char *etag)
{
    struct gw_meta meta;
    gw_meta_init(&meta);
    ts_err terr = gw_meta_from_info(&meta, info, true);
    terr = terr ? terr : gw_meta_add(&meta, GW_META_ETAG, etag);
    ul_err err = terr == TS_OK ? ul_object_update_metadata(ctx->cred->project, ctx->bucket,
                                                           ctx->key, meta.entries, meta.count)
                               : UL_ERR_NOMEM;
    if (err != UL_OK) {
        ts_log_warn(LOG, "ETag not stored req=%s err=%s detail=%s", ctx->request_id,
                    ul_errname(err), ul_error_detail());
    }
    gw_meta_release(&meta);
}

static void complete_answer(struct gw_ctx *ctx, const char *etag)
{
    struct ts_buf xml;
    struct gw_xml x;
    char loc[UL_OBJECT_KEY_MAX + 128], quoted[64];
    ts_buf_init(&xml, 16384);
    snprintf(loc, sizeof loc, "/%s/%s", ctx->bucket, ctx->key);
    snprintf(quoted, sizeof quoted, "\"%s\"", etag);
    gw_xml_begin(&x, &xml);
    gw_xml_open(&x, "CompleteMultipartUploadResult", GW_S3_XMLNS);
    gw_xml_text(&x, "Location", loc);
    gw_xml_text(&x, "Bucket", ctx->bucket);
    gw_xml_text(&x, "Key", ctx->key);
    gw_xml_text(&x, "ETag", quoted);
    gw_xml_close(&x);
    answer_xml(ctx, &x, &xml);
    ts_buf_release(&xml);
}

static void complete_finish(struct gw_ctx *ctx)
{
    struct ul_object_info info = {0};
    struct part_ref *parts = calloc(GW_PARTS_MAX, sizeof *parts);
    uint32_t *numbers = calloc(GW_PARTS_MAX, sizeof *numbers);
    size_t count = 0;
    char etag[48];
    if (parts == NULL || numbers == NULL) {
        gw_s3_error(ctx, GW_S3_INTERNAL, NULL);
        goto done;
    }
    if (!parse_parts(ctx, parts, &count) || !match_parts(ctx, parts, count, etag)) {
        goto done;
    }
    for (size_t i = 0; i < count; i++) {
        numbers[i] = parts[i].number;
    }
    ul_err err = ul_multipart_complete(ctx->cred->project, ctx->bucket, ctx->key, upload_id(ctx),
                                       numbers, count, NULL, &info);
    if (err == UL_ERR_TOO_SMALL) {
        gw_s3_error(ctx, GW_S3_ENTITY_TOO_SMALL,
                    "Your proposed upload is smaller than the minimum allowed object size.");
    } else if (err == UL_ERR_INVALID_ARGUMENT) {
        invalid_part(ctx); /* a part went away since it was matched */
    } else if (err != UL_OK) {
        upload_error(ctx, err);
    } else {
        store_etag(ctx, &info, etag);
        complete_answer(ctx, etag);
    }
done:
    free(parts);
    free(numbers);
    ul_object_info_release(&info);
}

static void nothing(struct gw_ctx *ctx)
{
    (void)ctx;
}

/* ---- AbortMultipartUpload --------------------------------------------------------------- */

static void abort_upload(struct gw_ctx *ctx)
{
    ul_err err = ul_multipart_abort(ctx->cred->project, ctx->bucket, ctx->key, upload_id(ctx));
    if (err != UL_OK) {
        upload_error(ctx, err);
        return;
    }
    ctx->resp.status = 204;
}

/* ---- ListParts -------------------------------------------------------------------------- */

static long query_long(const struct gw_ctx *ctx, const char *name, long dflt, long min, long max)
{
    const char *s = gw_req_query(&ctx->req, name);
    char *end = NULL;
    long v = s ? strtol(s, &end, 10) : dflt;
    if (s != NULL && (*s == 0 || *end != 0)) {
        v = dflt;
    }
    return v < min ? min : v > max ? max : v;
}

static void part_xml(struct gw_xml *x, const struct ul_part_info *p)
{
    char date[48], quoted[UL_ETAG_MAX + 3];
    gw_iso_date_format(p->modified_s, date);
    snprintf(quoted, sizeof quoted, "\"%s\"", p->etag);
    gw_xml_open(x, "Part", NULL);
    gw_xml_u64(x, "PartNumber", p->part_number);
    gw_xml_text(x, "LastModified", date);
    gw_xml_text(x, "ETag", quoted);
    gw_xml_u64(x, "Size", p->size);
    gw_xml_close(x);
}

static void list_parts(struct gw_ctx *ctx)
{
    long marker = query_long(ctx, "part-number-marker", 0, 0, GW_PARTS_MAX);
    long max = query_long(ctx, "max-parts", 1000, 0, 1000);
    struct ul_part_iter *it = NULL;
    ul_err err = ul_multipart_part_list(ctx->cred->project, ctx->bucket, ctx->key, upload_id(ctx),
                                        (uint32_t)marker, &it);
    const struct ul_part_info *p = NULL;
    if (err == UL_OK) {
        err = ul_part_iter_next(it, &p); /* the satellite checks the upload exists here */
    }
    if (err != UL_OK) {
        ul_part_iter_free(it);
        upload_error(ctx, err);
        return;
    }
    struct ts_buf xml;
    struct gw_xml x;
    ts_buf_init(&xml, 4u * 1024 * 1024);
    gw_xml_begin(&x, &xml);
    gw_xml_open(&x, "ListPartsResult", GW_S3_XMLNS);
    gw_xml_text(&x, "Bucket", ctx->bucket);
    gw_xml_text(&x, "Key", ctx->key);
    gw_xml_text(&x, "UploadId", upload_id(ctx));
    gw_xml_u64(&x, "PartNumberMarker", (uint64_t)marker);
    gw_xml_u64(&x, "MaxParts", (uint64_t)max);
    gw_xml_text(&x, "StorageClass", "STANDARD");
    uint32_t last = 0;
    long shown = 0;
    while (err == UL_OK && p != NULL && shown < max) {
        part_xml(&x, p);
        last = p->part_number;
        shown++;
        err = ul_part_iter_next(it, &p);
    }
    gw_xml_u64(&x, "NextPartNumberMarker", last);
    gw_xml_bool(&x, "IsTruncated", err == UL_OK && p != NULL);
    gw_xml_close(&x);
    ul_part_iter_free(it);
    if (err != UL_OK) {
        upload_error(ctx, err);
    } else {
        answer_xml(ctx, &x, &xml);
    }
    ts_buf_release(&xml);
}

/* ---- ListMultipartUploads --------------------------------------------------------------- */

struct pending {
    char *key;
    char *id;
    int64_t created_s;
    bool is_prefix; /* a common prefix (key holds it) */
};

struct pending_list {
    struct pending *items;
    size_t count, cap;
};

static void pending_list_release(struct pending_list *l)
{
    for (size_t i = 0; i < l->count; i++) {
        free(l->items[i].key);
        free(l->items[i].id);
    }
    free(l->items);
    memset(l, 0, sizeof *l);
}

static ts_err pending_add(struct pending_list *l, const char *key, size_t key_len, const char *id,
                          int64_t created_s)
{
    if (l->count == GW_LIST_SCAN_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        struct pending *n = realloc(l->items, cap * sizeof *n);
        if (n == NULL) {
            return TS_ERR_NOMEM;
        }
        l->items = n;
        l->cap = cap;
    }
    struct pending *p = &l->items[l->count];
    p->key = strndup(key, key_len);
    p->id = id ? strdup(id) : NULL;
    p->created_s = created_s;
    p->is_prefix = id == NULL;
    if (p->key == NULL || (id != NULL && p->id == NULL)) {
        free(p->key);
        free(p->id);
        return TS_ERR_NOMEM;
    }
    l->count++;
    return TS_OK;
}

static int pending_cmp(const void *a, const void *b)
{
    const struct pending *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c != 0 || x->is_prefix || y->is_prefix) {
        return c != 0 ? c : (int)y->is_prefix - (int)x->is_prefix;
    }
    return x->created_s != y->created_s ? (x->created_s < y->created_s ? -1 : 1)
                                        : strcmp(x->id, y->id);
}

struct uploads_query {
    const char *prefix, *delimiter, *key_marker, *id_marker;
    long max;
};

/* Collects the pending uploads under q->prefix, folded at the delimiter (each common prefix
 * once), sorted by key then age. The satellite lists by encrypted key, so the level holding the
 * prefix is read whole, as ListObjects does. */
static ul_err pending_collect(struct gw_ctx *ctx, const struct uploads_query *q,
                              struct pending_list *l)
{
    const char *slash = strrchr(q->prefix, '/');
    char dir[UL_OBJECT_KEY_MAX + 1];
    size_t plen = strlen(q->prefix), dlen = strlen(q->delimiter);
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - q->prefix + 1) : 0, q->prefix);
    struct ul_multipart_list_options opts = {dir, NULL, NULL};
    struct ul_multipart_iter *it = NULL;
    ul_err err = ul_multipart_list(ctx->cred->project, ctx->bucket, &opts, &it);
    while (err == UL_OK) {
        const struct ul_multipart_info *u = NULL;
        err = ul_multipart_iter_next(it, &u);
        if (err != UL_OK || u == NULL) {
            break;
        }
        if (strncmp(u->key, q->prefix, plen) != 0) {
            continue;
        }
        const char *d = dlen ? strstr(u->key + plen, q->delimiter) : NULL;
        if (d != NULL) {
            err = pending_add(l, u->key, (size_t)(d - u->key) + dlen, NULL, 0);
        } else {
            err = pending_add(l, u->key, strlen(u->key), u->upload_id, u->created_s);
        }
    }
    ul_multipart_iter_free(it);
    if (err == UL_OK && l->count > 0) {
        qsort(l->items, l->count, sizeof *l->items, pending_cmp);
    }
    return err;
}

/* True when item i comes after the key / upload ID markers. */
static bool after_markers(const struct pending_list *l, size_t i, const struct uploads_query *q)
{
    const struct pending *p = &l->items[i];
    int c = strcmp(p->key, q->key_marker);
    if (c != 0 || q->key_marker[0] == 0) {
        return c > 0 || q->key_marker[0] == 0;
    }
    if (p->is_prefix || q->id_marker[0] == 0) {
        return false; /* every upload of the marker key was shown */
    }
    for (size_t j = 0; j < i; j++) { /* after the marker upload of the same key */
        if (!l->items[j].is_prefix && strcmp(l->items[j].key, p->key) == 0 &&
            strcmp(l->items[j].id, q->id_marker) == 0) {
            return true;
        }
    }
    return false;
}

static void uploads_xml(struct gw_ctx *ctx, struct gw_xml *x, const struct pending_list *l,
                        const struct uploads_query *q)
{
    size_t shown = 0, i = 0;
    const struct pending *last = NULL;
    for (; i < l->count; i++) {
        const struct pending *p = &l->items[i];
        bool dup = last != NULL && last->is_prefix && p->is_prefix && !strcmp(last->key, p->key);
        if (dup || !after_markers(l, i, q)) {
            continue;
        }
        if ((long)shown == q->max) {
            break;
        }
        shown++;
        last = p;
        if (p->is_prefix) {
            gw_xml_open(x, "CommonPrefixes", NULL);
            gw_xml_text(x, "Prefix", p->key);
            gw_xml_close(x);
            continue;
        }
        char date[48];
        gw_iso_date_format(p->created_s, date);
        gw_xml_open(x, "Upload", NULL);
        gw_xml_text(x, "Key", p->key);
        gw_xml_text(x, "UploadId", p->id);
        for (int k = 0; k < 2; k++) {
            gw_xml_open(x, k == 0 ? "Initiator" : "Owner", NULL);
            gw_xml_text(x, "ID", ctx->cred->access_key_id);
            gw_xml_text(x, "DisplayName", "tessera");
            gw_xml_close(x);
        }
        gw_xml_text(x, "StorageClass", "STANDARD");
        gw_xml_text(x, "Initiated", date);
        gw_xml_close(x);
    }
    bool truncated = i < l->count;
    gw_xml_bool(x, "IsTruncated", truncated);
    if (truncated && last != NULL) {
        gw_xml_text(x, "NextKeyMarker", last->key);
        gw_xml_text(x, "NextUploadIdMarker", last->is_prefix ? "" : last->id);
    }
}

static void list_uploads(struct gw_ctx *ctx)
{
    const char *v;
    struct uploads_query q = {"", "", "", "", 0};
    q.prefix = (v = gw_req_query(&ctx->req, "prefix")) ? v : "";
    q.delimiter = (v = gw_req_query(&ctx->req, "delimiter")) ? v : "";
    q.key_marker = (v = gw_req_query(&ctx->req, "key-marker")) ? v : "";
    q.id_marker = (v = gw_req_query(&ctx->req, "upload-id-marker")) ? v : "";
    q.max = query_long(ctx, "max-uploads", GW_LIST_KEYS_MAX, 0, GW_LIST_KEYS_MAX);
    struct pending_list l = {0};
    struct ul_bucket_info bi;
    ul_err err = ul_bucket_stat(ctx->cred->project, ctx->bucket, &bi);
    err = err == UL_OK ? pending_collect(ctx, &q, &l) : err;
    if (err == TS_ERR_TOO_LARGE) {
        gw_s3_error(ctx, GW_S3_NOT_IMPLEMENTED,
                    "This prefix holds more uploads than the gateway sorts in one listing; list "
                    "with a longer prefix ending in '/'.");
    } else if (err != UL_OK) {
        gw_s3_error_ul(ctx, err);
    } else {
        struct ts_buf xml;
        struct gw_xml x;
        ts_buf_init(&xml, 8u * 1024 * 1024);
        gw_xml_begin(&x, &xml);
        gw_xml_open(&x, "ListMultipartUploadsResult", GW_S3_XMLNS);
        gw_xml_text(&x, "Bucket", ctx->bucket);
        gw_xml_text(&x, "KeyMarker", q.key_marker);
        gw_xml_text(&x, "UploadIdMarker", q.id_marker);
        gw_xml_text(&x, "Prefix", q.prefix);
        if (q.delimiter[0] != 0) {
            gw_xml_text(&x, "Delimiter", q.delimiter);
        }
        gw_xml_u64(&x, "MaxUploads", (uint64_t)q.max);
        uploads_xml(ctx, &x, &l, &q);
        gw_xml_close(&x);
        answer_xml(ctx, &x, &xml);
        ts_buf_release(&xml);
    }
    pending_list_release(&l);
}

const struct gw_op gw_op_create_multipart = {
    "CreateMultipartUpload", GW_BODY_NONE, create_upload, NULL, NULL, NULL};
const struct gw_op gw_op_upload_part = {"UploadPart", GW_BODY_STREAM, part_begin,
                                        part_data,    part_finish,    part_cleanup};
const struct gw_op gw_op_complete_multipart = {
    "CompleteMultipartUpload", GW_BODY_BUFFER, nothing, NULL, complete_finish, NULL};
const struct gw_op gw_op_abort_multipart = {
    "AbortMultipartUpload", GW_BODY_NONE, abort_upload, NULL, NULL, NULL};
const struct gw_op gw_op_list_parts = {"ListParts", GW_BODY_NONE, list_parts, NULL, NULL, NULL};
const struct gw_op gw_op_list_multipart = {
    "ListMultipartUploads", GW_BODY_NONE, list_uploads, NULL, NULL, NULL};
