/* Bucket operations: ListBuckets, CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation. */
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "gw_range.h"
#include "gw_s3.h"
#include "gw_xml.h"

/* Owner fields of listings: the gateway has no account names, the key ID stands in. */
static void owner(struct gw_xml *x, const struct gw_ctx *ctx)
{
    gw_xml_open(x, "Owner", NULL);
    gw_xml_text(x, "ID", ctx->cred ? ctx->cred->access_key_id : "anonymous");
    gw_xml_text(x, "DisplayName", "tessera");
    gw_xml_close(x);
}

static void list_buckets(struct gw_ctx *ctx)
{
    struct ul_bucket_iter *it = NULL;
    struct ts_buf xml;
    struct gw_xml x;
    ts_buf_init(&xml, 16u * 1024 * 1024);
    ul_err err = ul_bucket_list(ctx->cred->project, NULL, &it);
    if (err != UL_OK) {
        gw_s3_error_ul(ctx, err);
        goto done;
    }
    gw_xml_begin(&x, &xml);
    gw_xml_open(&x, "ListAllMyBucketsResult", GW_S3_XMLNS);
    owner(&x, ctx);
    gw_xml_open(&x, "Buckets", NULL);
    for (;;) {
        const struct ul_bucket_info *b = NULL;
        err = ul_bucket_iter_next(it, &b);
        if (err != UL_OK || b == NULL) {
            break;
        }
        char date[48];
        gw_iso_date_format(b->created_s, date);
        gw_xml_open(&x, "Bucket", NULL);
        gw_xml_text(&x, "Name", b->name);
        gw_xml_text(&x, "CreationDate", date);
        gw_xml_close(&x);
    }
    gw_xml_close(&x);
    gw_xml_close(&x);
    if (err != UL_OK) {
        gw_s3_error_ul(ctx, err);
    } else if (gw_xml_end(&x) != TS_OK) {
        gw_s3_error(ctx, GW_S3_INTERNAL, NULL);
    } else {
        gw_s3_xml_answer(ctx, 200, &xml);
    }
done:
    ul_bucket_iter_free(it);
    ts_buf_release(&xml);
}

static void create_bucket_finish(struct gw_ctx *ctx)
{
    /* A CreateBucketConfiguration (LocationConstraint) may come in the body; there is one
     * location, so it is accepted and ignored. */
    ul_err err = ul_bucket_create(ctx->cred->project, ctx->bucket, NULL);
    if (err != UL_OK) {
        gw_s3_error_ul(ctx, err);
        return;
    }
    char loc[96];
    snprintf(loc, sizeof loc, "/%s", ctx->bucket);
    gw_resp_header(&ctx->resp, "Location", loc);
    ctx->resp.status = 200;
}

static void nothing(struct gw_ctx *ctx)
{
    (void)ctx;
}

static void head_bucket(struct gw_ctx *ctx)
{
    struct ul_bucket_info bi;
    ul_err err = ul_bucket_stat(ctx->cred->project, ctx->bucket, &bi);
    if (err != UL_OK) {
        gw_s3_error_ul(ctx, err);
        return;
    }
    gw_resp_header(&ctx->resp, "x-amz-bucket-region", ctx->srv->region);
    ctx->resp.status = 200;
}

/* True when the bucket holds no committed object an S3 client could list: what the satellite
 * still counts is then pending multipart uploads (in progress or abandoned), which S3 deletes
 * with the bucket. */
static bool only_hidden_objects(struct gw_ctx *ctx)
{
    struct ul_list_options opts = {"", NULL, true, false};
    struct ul_object_iter *it = NULL;
    const struct ul_object_info *o = NULL;
    bool hidden_only = ul_object_list(ctx->cred->project, ctx->bucket, &opts, &it) == UL_OK &&
                       ul_object_iter_next(it, &o) == UL_OK && o == NULL;
    ul_object_iter_free(it);
    return hidden_only;
}

static void delete_bucket(struct gw_ctx *ctx)
{
    ul_err err = ul_bucket_delete(ctx->cred->project, ctx->bucket, false);
    if (err == UL_ERR_NOT_EMPTY && only_hidden_objects(ctx)) {
        err = ul_bucket_delete(ctx->cred->project, ctx->bucket, true);
    }
    if (err != UL_OK) {
        gw_s3_error_ul(ctx, err);
        return;
    }
    ctx->resp.status = 204;
}

static void bucket_location(struct gw_ctx *ctx)
{
    struct ul_bucket_info bi;
    ul_err err = ul_bucket_stat(ctx->cred->project, ctx->bucket, &bi);
    if (err != UL_OK) {
        gw_s3_error_ul(ctx, err);
        return;
    }
    struct ts_buf xml;
    struct gw_xml x;
    ts_buf_init(&xml, 4096);
    gw_xml_begin(&x, &xml);
    /* us-east-1 is written as an empty constraint, as S3 does */
    gw_xml_open(&x, "LocationConstraint", GW_S3_XMLNS);
    if (strcmp(ctx->srv->region, "us-east-1") != 0 && x.err == TS_OK) {
        x.err = gw_xml_escape(&xml, ctx->srv->region);
    }
    gw_xml_close(&x);
    if (gw_xml_end(&x) == TS_OK) {
        gw_s3_xml_answer(ctx, 200, &xml);
    } else {
        gw_s3_error(ctx, GW_S3_INTERNAL, NULL);
    }
    ts_buf_release(&xml);
}

/* GetBucketVersioning: Tessera buckets are never versioned, which S3 expresses as a
 * configuration without a Status. */
static void bucket_versioning(struct gw_ctx *ctx)
{
    struct ul_bucket_info bi;
    ul_err err = ul_bucket_stat(ctx->cred->project, ctx->bucket, &bi);
    if (err != UL_OK) {
        gw_s3_error_ul(ctx, err);
        return;
    }
    struct ts_buf xml;
    struct gw_xml x;
    ts_buf_init(&xml, 1024);
    gw_xml_begin(&x, &xml);
    gw_xml_open(&x, "VersioningConfiguration", GW_S3_XMLNS);
    gw_xml_close(&x);
    if (gw_xml_end(&x) == TS_OK) {
        gw_s3_xml_answer(ctx, 200, &xml);
    } else {
        gw_s3_error(ctx, GW_S3_INTERNAL, NULL);
    }
    ts_buf_release(&xml);
}

const struct gw_op gw_op_list_buckets = {"ListBuckets", GW_BODY_NONE, list_buckets,
                                         NULL,          NULL,         NULL};
const struct gw_op gw_op_create_bucket = {"CreateBucket", GW_BODY_BUFFER,       nothing,
                                          NULL,           create_bucket_finish, NULL};
const struct gw_op gw_op_head_bucket = {"HeadBucket", GW_BODY_NONE, head_bucket, NULL, NULL, NULL};
const struct gw_op gw_op_delete_bucket = {"DeleteBucket", GW_BODY_NONE, delete_bucket,
                                          NULL,           NULL,         NULL};
const struct gw_op gw_op_bucket_location = {
    "GetBucketLocation", GW_BODY_NONE, bucket_location, NULL, NULL, NULL};
const struct gw_op gw_op_bucket_versioning = {
    "GetBucketVersioning", GW_BODY_NONE, bucket_versioning, NULL, NULL, NULL};
