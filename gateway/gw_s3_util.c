/* S3 errors, uplink error mapping, object metadata and headers. */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/base.h"
#include "base/log.h"
#include "crypto/hash.h"
#include "gw_range.h"
#include "gw_s3.h"
#include "gw_xml.h"

static const struct {
    const char *code;
    int status;
} errors[] = {
#define GW_S3_ERROR_ROW(id, code, status) {code, status},
    GW_S3_ERRORS(GW_S3_ERROR_ROW)
#undef GW_S3_ERROR_ROW
};

const char *gw_s3_error_code(enum gw_s3_error e)
{
    return errors[e].code;
}

static const char *default_message(enum gw_s3_error e)
{
    switch (e) {
    case GW_S3_NO_SUCH_BUCKET:
        return "The specified bucket does not exist";
    case GW_S3_NO_SUCH_KEY:
        return "The specified key does not exist.";
    case GW_S3_SIGNATURE_MISMATCH:
        return "The request signature we calculated does not match the signature you provided. "
               "Check your key and signing method.";
    case GW_S3_INVALID_ACCESS_KEY_ID:
        return "The AWS Access Key Id you provided does not exist in our records.";
    case GW_S3_ACCESS_DENIED:
        return "Access Denied";
    case GW_S3_NOT_IMPLEMENTED:
        return "A header or query you provided implies functionality that is not implemented";
    default:
        return errors[e].code;
    }
}

void gw_s3_xml_answer(struct gw_ctx *ctx, int status, struct ts_buf *xml)
{
    ts_buf_clear(&ctx->resp.body);
    if (ts_buf_append(&ctx->resp.body, xml->data, xml->len) != TS_OK) {
        ctx->resp.status = 500;
        return;
    }
    ctx->resp.status = status;
    gw_resp_header(&ctx->resp, "Content-Type", "application/xml");
}

void gw_s3_error(struct gw_ctx *ctx, enum gw_s3_error e, const char *message)
{
    gw_resp_reset(&ctx->resp);
    struct ts_buf xml;
    struct gw_xml x;
    ts_buf_init(&xml, 64 * 1024);
    gw_xml_begin(&x, &xml);
    gw_xml_open(&x, "Error", NULL);
    gw_xml_text(&x, "Code", errors[e].code);
    gw_xml_text(&x, "Message", message ? message : default_message(e));
    if (ctx->bucket != NULL) {
        gw_xml_text(&x, "BucketName", ctx->bucket);
    }
    if (ctx->key != NULL) {
        gw_xml_text(&x, "Key", ctx->key);
    }
    gw_xml_text(&x, "Resource", ctx->req.path ? ctx->req.path : "/");
    gw_xml_text(&x, "RequestId", ctx->request_id);
    gw_xml_close(&x);
    if (gw_xml_end(&x) == TS_OK) {
        gw_s3_xml_answer(ctx, errors[e].status, &xml);
    } else {
        ctx->resp.status = errors[e].status;
    }
    ctx->resp.error_code = errors[e].code;
    ts_buf_release(&xml);
}

void gw_s3_error_ul(struct gw_ctx *ctx, ul_err err)
{
    const char *detail = ul_error_detail();
    switch (err) {
    case UL_ERR_NOT_FOUND: {
        if (ctx->key != NULL && ctx->bucket != NULL && ctx->cred != NULL) {
            struct ul_bucket_info bi;
            ul_err berr = ul_bucket_stat(ctx->cred->project, ctx->bucket, &bi);
            gw_s3_error(ctx, berr == UL_ERR_NOT_FOUND ? GW_S3_NO_SUCH_BUCKET : GW_S3_NO_SUCH_KEY,
                        NULL);
        } else {
            gw_s3_error(ctx, ctx->bucket ? GW_S3_NO_SUCH_BUCKET : GW_S3_NO_SUCH_KEY, NULL);
        }
        return;
    }
    case UL_ERR_PERMISSION_DENIED:
    case TS_ERR_EXPIRED:
    case TS_ERR_REVOKED:
    case TS_ERR_NOT_YET_VALID:
        gw_s3_error(ctx, GW_S3_ACCESS_DENIED, NULL);
        return;
    case UL_ERR_EXISTS:
        gw_s3_error(ctx, GW_S3_BUCKET_EXISTS, NULL);
        return;
    case UL_ERR_NOT_EMPTY:
        gw_s3_error(ctx, GW_S3_BUCKET_NOT_EMPTY, NULL);
        return;
    case UL_ERR_INVALID_ARGUMENT:
    case UL_ERR_MALFORMED:
        gw_s3_error(ctx, ctx->key ? GW_S3_INVALID_ARGUMENT : GW_S3_INVALID_BUCKET_NAME, detail);
        return;
    case UL_ERR_TOO_LARGE:
        gw_s3_error(ctx, GW_S3_METADATA_TOO_LARGE, detail);
        return;
    case TS_ERR_BUSY: /* the satellite's per-project rate limit: clients back off and retry */
        gw_s3_error(ctx, GW_S3_SLOW_DOWN, detail);
        return;
    case UL_ERR_TIMEOUT:
    case UL_ERR_CONNECT:
    case UL_ERR_NOT_ENOUGH_SHARES:
    case TS_ERR_UNAVAILABLE:
        ts_log_warn("gw", "storage unavailable req=%s err=%s detail=%s", ctx->request_id,
                    ul_errname(err), detail);
        gw_s3_error(ctx, GW_S3_SERVICE_UNAVAILABLE, detail);
        return;
    default:
        ts_log_error("gw", "uplink failure req=%s err=%s detail=%s", ctx->request_id,
                     ul_errname(err), detail);
        gw_s3_error(ctx, GW_S3_INTERNAL, NULL);
    }
}

/* ---- metadata ------------------------------------------------------------------------- */

/* Content headers kept with the object, stored under these (lower-case) names. */
static const char *const content_headers[] = {"content-type",        "cache-control",
                                              "content-disposition", "content-encoding",
                                              "content-language",    "expires"};
static const char *const content_header_names[] = {"Content-Type",        "Cache-Control",
                                                   "Content-Disposition", "Content-Encoding",
                                                   "Content-Language",    "Expires"};

void gw_meta_init(struct gw_meta *m)
{
    memset(m, 0, sizeof *m);
}

void gw_meta_release(struct gw_meta *m)
{
    for (size_t i = 0; i < m->owned_count; i++) {
        free(m->owned[i]);
    }
    gw_meta_init(m);
}

ts_err gw_meta_add(struct gw_meta *m, const char *key, const char *value)
{
    if (m->count == GW_META_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    char *k = strdup(key), *v = strdup(value);
    if (k == NULL || v == NULL) {
        free(k);
        free(v);
        return TS_ERR_NOMEM;
    }
    m->owned[m->owned_count++] = k;
    m->owned[m->owned_count++] = v;
    m->entries[m->count].key = k;
    m->entries[m->count].value = v;
    m->count++;
    return TS_OK;
}

ts_err gw_meta_set(struct gw_meta *m, const char *key, const char *value)
{
    for (size_t i = 0; i < m->count; i++) {
        if (strcmp(m->entries[i].key, key) == 0) {
            char *v = strdup(value);
            if (v == NULL || m->owned_count == TS_ARRAY_LEN(m->owned)) {
                free(v);
                return v == NULL ? TS_ERR_NOMEM : TS_ERR_TOO_LARGE;
            }
            m->owned[m->owned_count++] = v; /* the old value stays owned until release */
            m->entries[i].value = v;
            return TS_OK;
        }
    }
    return gw_meta_add(m, key, value);
}

static bool reserved_name(const char *name)
{
    for (size_t i = 0; i < TS_ARRAY_LEN(content_headers); i++) {
        if (strcasecmp(name, content_headers[i]) == 0) {
            return true;
        }
    }
    return strncmp(name, "tessera-gw:", 11) == 0;
}

ts_err gw_meta_from_request(struct gw_meta *m, const struct gw_req *req)
{
    ts_err err = TS_OK;
    for (size_t i = 0; i < req->header_count && err == TS_OK; i++) {
        const char *k = req->headers[i].key;
        if (strncmp(k, "x-amz-meta-", 11) == 0) {
            if (k[11] == 0 || reserved_name(k + 11)) {
                return TS_ERR_INVALID_ARGUMENT;
            }
            err = gw_meta_add(m, k + 11, req->headers[i].value);
        }
    }
    for (size_t i = 0; i < TS_ARRAY_LEN(content_headers) && err == TS_OK; i++) {
        const char *v = gw_req_header(req, content_headers[i]);
        if (v != NULL) {
            err = gw_meta_add(m, content_headers[i], v);
        }
    }
    return err;
}

ts_err gw_meta_from_info(struct gw_meta *m, const struct ul_object_info *info, bool skip_etag)
{
    ts_err err = TS_OK;
    for (size_t i = 0; i < info->metadata_count && err == TS_OK; i++) {
        if (skip_etag && strcmp(info->metadata[i].key, GW_META_ETAG) == 0) {
            continue;
        }
        err = gw_meta_add(m, info->metadata[i].key, info->metadata[i].value);
    }
    return err;
}

const char *gw_meta_get(const struct ul_object_info *info, const char *key)
{
    for (size_t i = 0; i < info->metadata_count; i++) {
        if (strcmp(info->metadata[i].key, key) == 0) {
            return info->metadata[i].value;
        }
    }
    return NULL;
}

void gw_object_etag(const struct ul_object_info *info, char out[80])
{
    const char *e = gw_meta_get(info, GW_META_ETAG);
    bool placeholder = e != NULL && strncmp(e, GW_ETAG_PLACEHOLDER, 32) == 0;
    if (e != NULL && strlen(e) < 76 && !placeholder) {
        snprintf(out, 80, "\"%s\"", e);
        return;
    }
    /* Objects written by other tools: a stable tag from what identifies this version. */
    char seed[64];
    uint8_t h[32];
    char hex[65];
    int n = snprintf(seed, sizeof seed, "%" PRId64 "/%" PRIu64, info->created_s, info->size);
    if (ts_sha256(seed, (size_t)n, h) != TS_OK) {
        memset(h, 0, sizeof h);
    }
    gw_hex(h, 16, hex);
    snprintf(out, 80, "\"%s-1\"", hex);
}

struct gw_metrics gw_metrics;

void gw_metrics_add(_Atomic uint64_t *counter, uint64_t n)
{
    atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

void gw_object_headers(struct gw_ctx *ctx, const struct ul_object_info *info)
{
    char etag[80], date[48];
    gw_object_etag(info, etag);
    gw_http_date_format(info->created_s, date);
    gw_resp_header(&ctx->resp, "ETag", etag);
    gw_resp_header(&ctx->resp, "Last-Modified", date);
    gw_resp_header(&ctx->resp, "Accept-Ranges", "bytes");
    bool have_type = false;
    for (size_t i = 0; i < info->metadata_count; i++) {
        const char *k = info->metadata[i].key, *v = info->metadata[i].value;
        bool content = false;
        for (size_t j = 0; j < TS_ARRAY_LEN(content_headers); j++) {
            if (strcmp(k, content_headers[j]) == 0) {
                gw_resp_header(&ctx->resp, content_header_names[j], v);
                have_type = have_type || j == 0;
                content = true;
            }
        }
        if (!content && strncmp(k, "tessera-gw:", 11) != 0) {
            char name[300];
            snprintf(name, sizeof name, "x-amz-meta-%s", k);
            gw_resp_header(&ctx->resp, name, v);
        }
    }
    if (!have_type) {
        gw_resp_header(&ctx->resp, "Content-Type", "binary/octet-stream");
    }
}

bool gw_base64_md5_decode(const char *s, uint8_t out[16])
{
    if (strlen(s) != 24 || s[22] != '=' || s[23] != '=') {
        return false;
    }
    uint8_t raw[18];
    size_t o = 0;
    for (int i = 0; i < 24; i += 4) {
        uint32_t v = 0;
        for (int j = 0; j < 4; j++) {
            char c = s[i + j];
            int d = (c >= 'A' && c <= 'Z')   ? c - 'A'
                    : (c >= 'a' && c <= 'z') ? c - 'a' + 26
                    : (c >= '0' && c <= '9') ? c - '0' + 52
                    : c == '+'               ? 62
                    : c == '/'               ? 63
                    : c == '='               ? 0
                                             : -1;
            if (d < 0) {
                return false;
            }
            v = v << 6 | (uint32_t)d;
        }
        raw[o++] = (uint8_t)(v >> 16);
        raw[o++] = (uint8_t)(v >> 8);
        raw[o++] = (uint8_t)v;
    }
    memcpy(out, raw, 16);
    return true;
}
