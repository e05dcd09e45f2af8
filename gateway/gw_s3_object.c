/* Object operations: PutObject, GetObject, HeadObject, DeleteObject, DeleteObjects, CopyObject. */
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

#define LOG "gw.object"

/* ---- PutObject -------------------------------------------------------------------------- */

struct put_state {
    struct ul_upload *upload;
    struct gw_meta meta;
};

/* Starts an upload of ctx->bucket/ctx->key with the request's metadata and a placeholder ETag of
 * the final length, so metadata that will not fit fails before any data moves. */
static bool upload_start(struct gw_ctx *ctx, struct put_state *st)
{
    ts_err terr = gw_meta_from_request(&st->meta, &ctx->req);
    if (terr == TS_OK) {
        terr = gw_meta_add(&st->meta, GW_META_ETAG, GW_ETAG_PLACEHOLDER);
    }
    if (terr != TS_OK) {
        gw_s3_error(ctx,
                    terr == TS_ERR_TOO_LARGE ? GW_S3_METADATA_TOO_LARGE : GW_S3_INVALID_ARGUMENT,
                    NULL);
        return false;
    }
    struct ul_upload_options opts = {0};
    opts.metadata = st->meta.entries;
    opts.metadata_count = st->meta.count;
    ul_err err = ul_upload_begin(ctx->cred->project, ctx->bucket, ctx->key, &opts, &st->upload);
    if (err != UL_OK) {
        gw_s3_error_ul(ctx, err);
        return false;
    }
    return true;
}

static void put_begin(struct gw_ctx *ctx)
{
    if (!ctx->has_declared_size) {
        gw_s3_error(ctx, GW_S3_MISSING_CONTENT_LENGTH, NULL);
        return;
    }
    if (ctx->declared_size > GW_PUT_SIZE_MAX) {
        gw_s3_error(ctx, GW_S3_ENTITY_TOO_LARGE, NULL);
        return;
    }
    struct put_state *st = calloc(1, sizeof *st);
    if (st == NULL) {
        gw_s3_error(ctx, GW_S3_INTERNAL, NULL);
        return;
    }
    gw_meta_init(&st->meta);
    ctx->op_state = st;
    ctx->want_md5 = true;
    upload_start(ctx, st);
}

static void put_data(struct gw_ctx *ctx, const uint8_t *data, size_t len)
{
    struct put_state *st = ctx->op_state;
    gw_metrics_add(&gw_metrics.uplink_up_bytes, len);
    ul_err err = ul_upload_write(st->upload, data, len);
    if (err != UL_OK) {
        gw_s3_error_ul(ctx, err);
    }
}

static void put_finish(struct gw_ctx *ctx)
{
    struct put_state *st = ctx->op_state;
    char hex[33], etag[40];
    gw_hex(ctx->body_md5, 16, hex);
    /* The real MD5 replaces the placeholder (same length, so it fits) and is sealed into the
     * metadata CommitObject carries: the object never appears without its ETag. */
    ul_err err = gw_meta_set(&st->meta, GW_META_ETAG, hex) == TS_OK
                     ? ul_upload_set_metadata(st->upload, st->meta.entries, st->meta.count)
                     : UL_ERR_NOMEM;
    if (err == UL_OK) {
        err = ul_upload_commit(st->upload, NULL);
        st->upload = NULL; /* commit always frees */
    }
    if (err != UL_OK) {
        gw_s3_error_ul(ctx, err);
        return;
    }
    snprintf(etag, sizeof etag, "\"%s\"", hex);
    gw_resp_header(&ctx->resp, "ETag", etag);
    ctx->resp.status = 200;
}

static void put_cleanup(struct gw_ctx *ctx)
{
    struct put_state *st = ctx->op_state;
    if (st != NULL) {
        ul_upload_abort(st->upload);
        gw_meta_release(&st->meta);
        free(st);
        ctx->op_state = NULL;
    }
}

/* ---- GetObject / HeadObject ------------------------------------------------------------- */

static long download_read(void *cls, uint8_t *buf, size_t cap)
{
    size_t got = 0;
    ul_err err = ul_download_read(cls, buf, cap, &got);
    if (err != UL_OK) {
        ts_log_warn(LOG, "download failed mid-response err=%s detail=%s", ul_errname(err),
                    ul_error_detail());
        return -1;
    }
    gw_metrics_add(&gw_metrics.uplink_down_bytes, got);
    return (long)got;
}

static void download_free(void *cls)
{
    ul_download_close(cls);
}

/* response-content-type & co. (presigned downloads) override the stored headers. */
static void response_overrides(struct gw_ctx *ctx)
{
    static const char *const params[][2] = {{"response-content-type", "Content-Type"},
                                            {"response-content-language", "Content-Language"},
                                            {"response-expires", "Expires"},
                                            {"response-cache-control", "Cache-Control"},
                                            {"response-content-disposition", "Content-Disposition"},
                                            {"response-content-encoding", "Content-Encoding"}};
    for (size_t i = 0; i < TS_ARRAY_LEN(params); i++) {
        const char *v = gw_req_query(&ctx->req, params[i][0]);
        if (v != NULL) {
            gw_resp_header(&ctx->resp, params[i][1], v);
        }
    }
}

/* Conditionals and range; false when the answer is already decided (304, 412, 416). */
static bool conditions(struct gw_ctx *ctx, const struct ul_object_info *info,
                       struct gw_range *range)
{
    const struct gw_req *r = &ctx->req;
    char etag[80];
    gw_object_etag(info, etag);
    enum gw_cond_result c =
        gw_cond_eval(gw_req_header(r, "if-match"), gw_req_header(r, "if-none-match"),
                     gw_req_header(r, "if-modified-since"), gw_req_header(r, "if-unmodified-since"),
                     etag, info->created_s);
    if (c == GW_COND_PRECONDITION_FAILED) {
        gw_s3_error(ctx, GW_S3_PRECONDITION_FAILED,
                    "At least one of the pre-conditions you specified did not hold");
        return false;
    }
    if (c == GW_COND_NOT_MODIFIED) {
        char date[48];
        gw_http_date_format(info->created_s, date);
        gw_resp_header(&ctx->resp, "ETag", etag);
        gw_resp_header(&ctx->resp, "Last-Modified", date);
        ctx->resp.status = 304;
        return false;
    }
    if (gw_range_parse(gw_req_header(r, "range"), info->size, range) != TS_OK) {
        char cr[64];
        gw_s3_error(ctx, GW_S3_INVALID_RANGE, "The requested range is not satisfiable");
        snprintf(cr, sizeof cr, "bytes */%" PRIu64, info->size);
        gw_resp_header(&ctx->resp, "Content-Range", cr);
        return false;
    }
    return true;
}

void gw_object_serve(struct gw_ctx *ctx, struct ul_project *project, const char *bucket,
                     const char *key, bool head)
{
    struct ul_object_info info = {0};
    struct gw_range range;
    ul_err err = ul_object_stat(project, bucket, key, &info);
    if (err != UL_OK) {
        gw_s3_error_ul(ctx, err);
        return;
    }
    if (!conditions(ctx, &info, &range)) {
        goto done;
    }
    gw_object_headers(ctx, &info);
    response_overrides(ctx);
    ctx->resp.status = range.partial ? 206 : 200;
    if (range.partial) {
        char cr[96];
        snprintf(cr, sizeof cr, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, range.offset,
                 range.offset + range.length - 1, info.size);
        gw_resp_header(&ctx->resp, "Content-Range", cr);
    }
    if (head) {
        ctx->resp.has_head_length = true;
        ctx->resp.head_length = range.length;
        goto done;
    }
    if (range.length == 0) {
        goto done;
    }
    struct ul_download_options opts = {range.offset, (int64_t)range.length};
    struct ul_download *d = NULL;
    err = ul_download_open(project, bucket, key, &opts, &d);
    if (err != UL_OK) {
        gw_s3_error_ul(ctx, err);
        goto done;
    }
    ctx->resp.stream.size = range.length;
    ctx->resp.stream.read = download_read;
    ctx->resp.stream.free = download_free;
    ctx->resp.stream.cls = d;
done:
    ul_object_info_release(&info);
}

static void get_object(struct gw_ctx *ctx)
{
    if (gw_req_has_query(&ctx->req, "partNumber")) {
        gw_s3_error(ctx, GW_S3_NOT_IMPLEMENTED, "GetObject by part number is not supported.");
        return;
    }
    gw_object_serve(ctx, ctx->cred->project, ctx->bucket, ctx->key, false);
}

static void head_object(struct gw_ctx *ctx)
{
    gw_object_serve(ctx, ctx->cred->project, ctx->bucket, ctx->key, true);
}

/* ---- DeleteObject(s) -------------------------------------------------------------------- */

/* Deletes one key; a missing key is success (S3), a missing bucket is not. */
static ul_err delete_one(struct ul_project *p, const char *bucket, const char *key)
{
    ul_err err = ul_object_delete(p, bucket, key);
    if (err == UL_ERR_NOT_FOUND) {
        struct ul_bucket_info bi;
        err = ul_bucket_stat(p, bucket, &bi);
    }
    return err;
}

static void delete_object(struct gw_ctx *ctx)
{
    ul_err err = delete_one(ctx->cred->project, ctx->bucket, ctx->key);
    if (err != UL_OK) {
        gw_s3_error_ul(ctx, err);
        return;
    }
    ctx->resp.status = 204;
}

static void delete_result(struct gw_xml *x, const char *key, ul_err err, bool quiet)
{
    if (err == UL_OK) {
        if (!quiet) {
            gw_xml_open(x, "Deleted", NULL);
            gw_xml_text(x, "Key", key);
            gw_xml_close(x);
        }
        return;
    }
    gw_xml_open(x, "Error", NULL);
    gw_xml_text(x, "Key", key);
    gw_xml_text(x, "Code", err == UL_ERR_PERMISSION_DENIED ? "AccessDenied" : "InternalError");
    gw_xml_text(x, "Message", ul_strerror(err));
    gw_xml_close(x);
}

static void delete_objects_finish(struct gw_ctx *ctx)
{
    const char *doc = (const char *)ctx->body.data;
    size_t len = ctx->body.len, pos = 0, count = 0;
    const char *in;
    size_t in_len;
    struct ts_buf xml, key;
    struct gw_xml x;
    ts_buf_init(&xml, 4u * 1024 * 1024);
    ts_buf_init(&key, UL_OBJECT_KEY_MAX + 1);
    struct ul_bucket_info bi;
    ul_err err = ul_bucket_stat(ctx->cred->project, ctx->bucket, &bi);
    if (err != UL_OK) {
        gw_s3_error_ul(ctx, err);
        goto done;
    }
    bool quiet = false;
    size_t qpos = 0;
    if (doc != NULL && gw_xml_find(doc, len, "Quiet", &qpos, &in, &in_len) == TS_OK) {
        quiet = in_len == 4 && strncasecmp(in, "true", 4) == 0;
    }
    gw_xml_begin(&x, &xml);
    gw_xml_open(&x, "DeleteResult", GW_S3_XMLNS);
    ts_err terr = TS_OK;
    while (doc != NULL && (terr = gw_xml_find(doc, len, "Object", &pos, &in, &in_len)) == TS_OK) {
        size_t kpos = 0;
        const char *kin;
        size_t klen;
        ts_buf_clear(&key);
        if (++count > GW_DELETE_OBJECTS_MAX ||
            gw_xml_find(in, in_len, "Key", &kpos, &kin, &klen) != TS_OK ||
            gw_xml_unescape(kin, klen, &key) != TS_OK || key.len == 0) {
            terr = TS_ERR_MALFORMED;
            break;
        }
        err = delete_one(ctx->cred->project, ctx->bucket, (const char *)key.data);
        delete_result(&x, (const char *)key.data, err, quiet);
    }
    gw_xml_close(&x);
    if (terr != TS_ERR_NOT_FOUND || count == 0) {
        gw_s3_error(ctx, GW_S3_MALFORMED_XML, NULL);
    } else if (gw_xml_end(&x) != TS_OK) {
        gw_s3_error(ctx, GW_S3_INTERNAL, NULL);
    } else {
        gw_s3_xml_answer(ctx, 200, &xml);
    }
done:
    ts_buf_release(&xml);
    ts_buf_release(&key);
}

static void nothing(struct gw_ctx *ctx)
{
    (void)ctx;
}

/* ---- CopyObject ------------------------------------------------------------------------- */
/*
 * Server-side: ul_object_copy hands the source's segments to the destination (keys re-wrapped,
 * pieces shared), so no object data crosses the gateway whatever the size. The source is stat'ed
 * first for the x-amz-copy-source-if-* conditions and its ETag, which the copy keeps.
 */

/* "/bucket/key" or "bucket/key", percent-encoded, into src_bucket / src_key. */
static bool copy_source(struct gw_ctx *ctx, struct ts_buf *src)
{
    const char *h = gw_req_header(&ctx->req, "x-amz-copy-source");
    const char *q = strchr(h, '?');
    if (q != NULL) {
        gw_s3_error(ctx, GW_S3_NOT_IMPLEMENTED, "Object versions are not supported.");
        return false;
    }
    if (gw_uri_decode(h, strlen(h), false, src) != TS_OK) {
        gw_s3_error(ctx, GW_S3_INVALID_ARGUMENT, "Bad x-amz-copy-source.");
        return false;
    }
    char *s = (char *)src->data;
    char *start = s[0] == '/' ? s + 1 : s;
    char *slash = strchr(start, '/');
    if (slash == NULL || slash[1] == 0 || slash == start) {
        gw_s3_error(ctx, GW_S3_INVALID_ARGUMENT, "Bad x-amz-copy-source.");
        return false;
    }
    *slash = 0;
    memmove(s, start, strlen(start) + 1 + strlen(slash + 1) + 1);
    return true;
}

static void copy_answer(struct gw_ctx *ctx, const char *etag_quoted, int64_t created_s)
{
    struct ts_buf xml;
    struct gw_xml x;
    char date[48];
    ts_buf_init(&xml, 4096);
    gw_iso_date_format(created_s, date);
    gw_xml_begin(&x, &xml);
    gw_xml_open(&x, "CopyObjectResult", GW_S3_XMLNS);
    gw_xml_text(&x, "LastModified", date);
    gw_xml_text(&x, "ETag", etag_quoted);
    gw_xml_close(&x);
    if (gw_xml_end(&x) == TS_OK) {
        gw_s3_xml_answer(ctx, 200, &xml);
    } else {
        gw_s3_error(ctx, GW_S3_INTERNAL, NULL);
    }
    ts_buf_release(&xml);
}

static bool copy_conditions(struct gw_ctx *ctx, const struct ul_object_info *info)
{
    const struct gw_req *r = &ctx->req;
    char etag[80];
    gw_object_etag(info, etag);
    enum gw_cond_result c = gw_cond_eval(gw_req_header(r, "x-amz-copy-source-if-match"),
                                         gw_req_header(r, "x-amz-copy-source-if-none-match"),
                                         gw_req_header(r, "x-amz-copy-source-if-modified-since"),
                                         gw_req_header(r, "x-amz-copy-source-if-unmodified-since"),
                                         etag, info->created_s);
    if (c != GW_COND_OK) {
        gw_s3_error(ctx, GW_S3_PRECONDITION_FAILED, NULL);
        return false;
    }
    return true;
}

/* Answers the stat failure of the copy source (NoSuchKey / NoSuchBucket name the source). */
static void copy_source_error(struct gw_ctx *ctx, const char *sb, ul_err err)
{
    struct ul_bucket_info bi;
    if (err != UL_ERR_NOT_FOUND) {
        gw_s3_error_ul(ctx, err);
    } else if (ul_bucket_stat(ctx->cred->project, sb, &bi) == UL_OK) {
        gw_s3_error(ctx, GW_S3_NO_SUCH_KEY, "The source key does not exist.");
    } else {
        gw_s3_error(ctx, GW_S3_NO_SUCH_BUCKET, "The source bucket does not exist.");
    }
}

/* REPLACE: the request's metadata plus the source's ETag (the data, hence its MD5, is the same). */
static ts_err replaced_meta(struct gw_ctx *ctx, const struct ul_object_info *src,
                            struct gw_meta *meta)
{
    ts_err err = gw_meta_from_request(meta, &ctx->req);
    const char *etag = gw_meta_get(src, GW_META_ETAG);
    if (err == TS_OK && etag != NULL) {
        err = gw_meta_add(meta, GW_META_ETAG, etag);
    }
    return err;
}

static void copy_run(struct gw_ctx *ctx, const char *sb, const char *sk, bool replace)
{
    struct ul_project *p = ctx->cred->project;
    struct ul_object_info src = {0}, dst = {0};
    struct gw_meta meta;
    gw_meta_init(&meta);
    ul_err err = ul_object_stat(p, sb, sk, &src);
    if (err != UL_OK) {
        copy_source_error(ctx, sb, err);
        goto done;
    }
    if (!copy_conditions(ctx, &src)) {
        goto done;
    }
    struct ul_copy_options opts = {0};
    if (replace) {
        ts_err terr = replaced_meta(ctx, &src, &meta);
        if (terr != TS_OK) {
            gw_s3_error(
                ctx, terr == TS_ERR_TOO_LARGE ? GW_S3_METADATA_TOO_LARGE : GW_S3_INVALID_ARGUMENT,
                NULL);
            goto done;
        }
        opts.replace_metadata = true;
        opts.metadata = meta.entries;
        opts.metadata_count = meta.count;
    }
    bool in_place = strcmp(sb, ctx->bucket) == 0 && strcmp(sk, ctx->key) == 0;
    if (in_place) { /* only with REPLACE (checked by the caller): a metadata update */
        err = ul_object_update_metadata(p, sb, sk, meta.entries, meta.count);
        err = err == UL_OK ? ul_object_stat(p, sb, sk, &dst) : err;
    } else {
        err = ul_object_copy(p, sb, sk, ctx->bucket, ctx->key, &opts, &dst);
    }
    if (err != UL_OK) {
        /* the source was just found: NOT_FOUND now means the destination bucket */
        gw_s3_error_ul(ctx, err);
        goto done;
    }
    char quoted[80];
    gw_object_etag(&dst, quoted);
    copy_answer(ctx, quoted, dst.created_s);
done:
    ul_object_info_release(&src);
    ul_object_info_release(&dst);
    gw_meta_release(&meta);
}

static void copy_object(struct gw_ctx *ctx)
{
    struct ts_buf src;
    ts_buf_init(&src, GW_URI_MAX);
    const char *directive = gw_req_header(&ctx->req, "x-amz-metadata-directive");
    bool replace = directive != NULL && strcasecmp(directive, "REPLACE") == 0;
    if (directive != NULL && !replace && strcasecmp(directive, "COPY") != 0) {
        gw_s3_error(ctx, GW_S3_INVALID_ARGUMENT, "Unknown x-amz-metadata-directive.");
    } else if (copy_source(ctx, &src)) {
        const char *sb = (const char *)src.data;
        const char *sk = sb + strlen(sb) + 1;
        if (!replace && strcmp(sb, ctx->bucket) == 0 && strcmp(sk, ctx->key) == 0) {
            gw_s3_error(ctx, GW_S3_INVALID_REQUEST,
                        "This copy request is illegal because it is trying to copy an object "
                        "to itself without changing the object's metadata.");
        } else {
            copy_run(ctx, sb, sk, replace);
        }
    }
    ts_buf_release(&src);
}

const struct gw_op gw_op_put_object = {"PutObject", GW_BODY_STREAM, put_begin,
                                       put_data,    put_finish,     put_cleanup};
const struct gw_op gw_op_get_object = {"GetObject", GW_BODY_NONE, get_object, NULL, NULL, NULL};
const struct gw_op gw_op_head_object = {"HeadObject", GW_BODY_NONE, head_object, NULL, NULL, NULL};
const struct gw_op gw_op_delete_object = {"DeleteObject", GW_BODY_NONE, delete_object,
                                          NULL,           NULL,         NULL};
const struct gw_op gw_op_delete_objects = {
    "DeleteObjects", GW_BODY_BUFFER, nothing, NULL, delete_objects_finish, NULL};
const struct gw_op gw_op_copy_object = {"CopyObject", GW_BODY_NONE, copy_object, NULL, NULL, NULL};
