/* Request flow: addressing, authentication, operation choice, body decoding and checks, log. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/base.h"
#include "base/log.h"
#include "crypto/hash.h"
#include "gw_s3.h"
#include "gw_sigv2.h"

#define LOG "gw"
/* Bodies from this size on have their MD5 computed on a side thread (gw_side.h): below it a
 * thread costs more than it saves. */
#define GW_MD5_SIDE_MIN (1u << 20)
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

void gw_ctx_init(struct gw_ctx *ctx, struct gw_server *srv)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->srv = srv;
    gw_resp_init(&ctx->resp);
    ts_buf_init(&ctx->body, GW_XML_BODY_MAX);
    ctx->start_ms = ts_monotonic_ms();
    uint8_t id[8];
    if (ts_random_bytes(id, sizeof id) != TS_OK) {
        memset(id, 0, sizeof id);
    }
    gw_hex(id, sizeof id, ctx->request_id);
}

void gw_ctx_release(struct gw_ctx *ctx)
{
    if (!ctx->cleaned_up && ctx->op != NULL && ctx->op->cleanup != NULL) {
        ctx->op->cleanup(ctx);
    }
    ctx->cleaned_up = true;
    if (ctx->body_chunked) {
        gw_chunked_release(&ctx->chunked);
    }
    gw_side_free(ctx->md5_side);
    ts_sha256_ctx_free(ctx->body_sha);
    gw_req_release(&ctx->req);
    gw_resp_release(&ctx->resp);
    ts_buf_release(&ctx->body);
    free(ctx->raw_uri);
    free(ctx->bucket);
    free(ctx->key);
    memset(ctx, 0, sizeof *ctx);
}

/* ---- addressing ------------------------------------------------------------------------ */

/* Sets ctx->bucket / ctx->key from the Host header (virtual host) or the path. */
static ts_err address(struct gw_ctx *ctx)
{
    const char *path = ctx->req.path + 1; /* after the leading '/' */
    const char *host = gw_req_header(&ctx->req, "host");
    const char *domain = ctx->srv->domain;
    if (host != NULL && domain != NULL) {
        size_t hlen = strcspn(host, ":"), dlen = strlen(domain);
        if (hlen > dlen + 1 && host[hlen - dlen - 1] == '.' &&
            strncasecmp(host + hlen - dlen, domain, dlen) == 0) {
            ctx->bucket = strndup(host, hlen - dlen - 1);
            ctx->vhost = true;
            if (ctx->bucket == NULL || (*path && (ctx->key = strdup(path)) == NULL)) {
                return TS_ERR_NOMEM;
            }
            return TS_OK;
        }
    }
    if (*path == 0) {
        return TS_OK;
    }
    const char *slash = strchr(path, '/');
    ctx->bucket = slash ? strndup(path, (size_t)(slash - path)) : strdup(path);
    if (ctx->bucket == NULL) {
        return TS_ERR_NOMEM;
    }
    if (slash != NULL && slash[1] != 0 && (ctx->key = strdup(slash + 1)) == NULL) {
        return TS_ERR_NOMEM;
    }
    return TS_OK;
}

/* Subresources S3 defines that this gateway does not implement: answered NotImplemented. */
static const char *const unsupported_subresources[] = {"acl",
                                                       "policy",
                                                       "cors",
                                                       "lifecycle",
                                                       "tagging",
                                                       "versioning",
                                                       "website",
                                                       "replication",
                                                       "encryption",
                                                       "logging",
                                                       "notification",
                                                       "object-lock",
                                                       "retention",
                                                       "legal-hold",
                                                       "torrent",
                                                       "restore",
                                                       "select",
                                                       "accelerate",
                                                       "requestPayment",
                                                       "analytics",
                                                       "inventory",
                                                       "metrics",
                                                       "ownershipControls",
                                                       "publicAccessBlock",
                                                       "intelligent-tiering",
                                                       "versions",
                                                       "attributes",
                                                       "policyStatus",
                                                       "versionId"};

static const struct gw_op *select_bucket_op(struct gw_ctx *ctx, const char *m)
{
    const struct gw_req *r = &ctx->req;
    if (strcmp(m, "GET") == 0) {
        if (gw_req_has_query(r, "location")) {
            return &gw_op_bucket_location;
        }
        if (gw_req_has_query(r, "uploads")) {
            return &gw_op_list_multipart;
        }
        const char *lt = gw_req_query(r, "list-type");
        if (lt != NULL) {
            return strcmp(lt, "2") == 0 ? &gw_op_list_objects_v2 : NULL;
        }
        return &gw_op_list_objects;
    }
    if (strcmp(m, "PUT") == 0) {
        return &gw_op_create_bucket;
    }
    if (strcmp(m, "HEAD") == 0) {
        return &gw_op_head_bucket;
    }
    if (strcmp(m, "DELETE") == 0) {
        return &gw_op_delete_bucket;
    }
    if (strcmp(m, "POST") == 0 && gw_req_has_query(r, "delete")) {
        return &gw_op_delete_objects;
    }
    return NULL;
}

static const struct gw_op *select_object_op(struct gw_ctx *ctx, const char *m)
{
    const struct gw_req *r = &ctx->req;
    bool upload_id = gw_req_has_query(r, "uploadId");
    if (strcmp(m, "GET") == 0) {
        return upload_id ? &gw_op_list_parts : &gw_op_get_object;
    }
    if (strcmp(m, "HEAD") == 0) {
        return upload_id ? NULL : &gw_op_head_object;
    }
    if (strcmp(m, "PUT") == 0) {
        bool copy = gw_req_header(r, "x-amz-copy-source") != NULL;
        if (upload_id || gw_req_has_query(r, "partNumber")) {
            return copy ? NULL /* UploadPartCopy */ : &gw_op_upload_part;
        }
        return copy ? &gw_op_copy_object : &gw_op_put_object;
    }
    if (strcmp(m, "DELETE") == 0) {
        return upload_id ? &gw_op_abort_multipart : &gw_op_delete_object;
    }
    if (strcmp(m, "POST") == 0) {
        if (gw_req_has_query(r, "uploads")) {
            return &gw_op_create_multipart;
        }
        return upload_id ? &gw_op_complete_multipart : NULL;
    }
    return NULL;
}

static const struct gw_op *select_op(struct gw_ctx *ctx)
{
    const char *m = ctx->req.method;
    if (ctx->bucket != NULL && ctx->key == NULL && strcmp(m, "GET") == 0 &&
        gw_req_has_query(&ctx->req, "versioning")) {
        return &gw_op_bucket_versioning; /* truthful: buckets are never versioned */
    }
    for (size_t i = 0; i < TS_ARRAY_LEN(unsupported_subresources); i++) {
        if (gw_req_has_query(&ctx->req, unsupported_subresources[i])) {
            return NULL;
        }
    }
    if (ctx->bucket == NULL) {
        return strcmp(m, "GET") == 0 ? &gw_op_list_buckets : NULL;
    }
    return ctx->key == NULL ? select_bucket_op(ctx, m) : select_object_op(ctx, m);
}

/* ---- authentication -------------------------------------------------------------------- */

/* Parses SigV4, or SigV2 (whose key ID, presigned flag and unsigned payload go into ctx->auth
 * so the body stage treats both alike). TS_ERR_NOT_FOUND: no credentials. */
static ts_err auth_parse(struct gw_ctx *ctx, struct gw_sigv2_auth *v2, bool *is_v2)
{
    *is_v2 = false;
    ts_err err = gw_sigv4_parse(&ctx->req, &ctx->auth);
    if (err != TS_ERR_UNSUPPORTED_VERSION) {
        return err;
    }
    err = gw_sigv2_parse(&ctx->req, v2);
    if (err == TS_ERR_NOT_FOUND) {
        return TS_ERR_UNSUPPORTED_VERSION; /* neither: some other scheme */
    }
    if (err == TS_OK) {
        *is_v2 = true;
        memset(&ctx->auth, 0, sizeof ctx->auth);
        snprintf(ctx->auth.access_key_id, sizeof ctx->auth.access_key_id, "%s",
                 v2->access_key_id);
        ctx->auth.presigned = v2->presigned;
        ctx->auth.payload = GW_PAYLOAD_UNSIGNED;
    }
    return err;
}

/* Answers an authentication failure with the S3 error clients branch on. */
static void auth_refuse(struct gw_ctx *ctx, ts_err err)
{
    ctx->cred = NULL;
    if (err == TS_ERR_AUTH_FAILED) {
        gw_s3_error(ctx, GW_S3_SIGNATURE_MISMATCH, NULL);
    } else if (err == TS_ERR_EXPIRED && ctx->auth.presigned) {
        gw_s3_error(ctx, GW_S3_ACCESS_DENIED, "Request has expired");
    } else if (err == TS_ERR_EXPIRED || err == TS_ERR_NOT_YET_VALID) {
        gw_s3_error(ctx, GW_S3_TIME_SKEWED, NULL);
    } else {
        gw_s3_error(ctx, GW_S3_AUTH_HEADER_MALFORMED, NULL);
    }
}

/* What was signed, for a client author comparing with their own (debug log level only). */
static void log_signed_text(const struct gw_ctx *ctx, const struct gw_sigv2_auth *v2)
{
    struct ts_buf text;
    ts_buf_init(&text, GW_URI_MAX * 8);
    ts_err err = v2 != NULL ? gw_sigv2_string_to_sign(&ctx->req, v2,
                                                      ctx->vhost ? ctx->bucket : NULL, &text)
                            : gw_sigv4_canonical_request(&ctx->req, &ctx->auth, &text);
    if (err == TS_OK && ts_buf_reserve(&text, 0) == TS_OK) {
        ts_log_debug(LOG, "signature mismatch req=%s signed=\"%s\"", ctx->request_id,
                     (const char *)text.data);
    }
    ts_buf_release(&text);
}

static bool authenticate(struct gw_ctx *ctx)
{
    struct gw_sigv2_auth v2;
    bool is_v2 = false;
    ts_err err = auth_parse(ctx, &v2, &is_v2);
    if (err == TS_ERR_NOT_FOUND) {
        gw_s3_error(ctx, GW_S3_ACCESS_DENIED,
                    "Anonymous access is not supported; sign the "
                    "request with AWS Signature Version 4.");
        return false;
    }
    if (err == TS_ERR_UNSUPPORTED_VERSION) {
        gw_s3_error(ctx, GW_S3_NOT_IMPLEMENTED,
                    "Only AWS Signature Versions 4 and 2 are supported.");
        return false;
    }
    if (err != TS_OK) {
        gw_s3_error(ctx, GW_S3_AUTH_HEADER_MALFORMED, "The authorization is malformed.");
        return false;
    }
    err = gw_creds_get(ctx->srv->creds, ctx->auth.access_key_id, &ctx->cred);
    if (err == TS_ERR_NOT_FOUND) {
        gw_s3_error(ctx, GW_S3_INVALID_ACCESS_KEY_ID, NULL);
        return false;
    }
    if (err != TS_OK) {
        ts_log_warn(LOG, "credential lookup failed req=%s err=%s", ctx->request_id,
                    ts_errname(err));
        gw_s3_error(ctx, err == TS_ERR_BUSY ? GW_S3_SERVICE_UNAVAILABLE : GW_S3_INTERNAL, NULL);
        return false;
    }
    int64_t now = ts_time_now_s();
    err = is_v2 ? gw_sigv2_verify(&ctx->req, &v2, ctx->vhost ? ctx->bucket : NULL,
                                  ctx->cred->secret, now)
                : gw_sigv4_verify(&ctx->req, &ctx->auth, ctx->cred->secret, now);
    if (err == TS_OK) {
        ctx->authenticated = true;
        return true;
    }
    if (err == TS_ERR_AUTH_FAILED && ts_log_get_level() == TS_LOG_DEBUG) {
        log_signed_text(ctx, is_v2 ? &v2 : NULL);
    }
    auth_refuse(ctx, err);
    return false;
}

/* ---- body ------------------------------------------------------------------------------ */

static void md5_job(void *arg, const uint8_t *data, size_t len)
{
    gw_md5_update(arg, data, len);
}

/* Starts the body's MD5 over data on the side thread when the body is large enough to be worth
 * one (the request thread then only waits for it in md5_side_end); false: hash in line. */
static bool md5_side_begin(struct gw_ctx *ctx, const uint8_t *data, size_t len)
{
    if (!ctx->want_md5 || !ctx->has_declared_size || ctx->declared_size < GW_MD5_SIDE_MIN) {
        return false;
    }
    if (ctx->md5_side == NULL && !ctx->md5_side_failed && gw_side_new(&ctx->md5_side) != TS_OK) {
        ctx->md5_side_failed = true; /* hashed in line: slower, same result */
    }
    if (ctx->md5_side == NULL) {
        return false;
    }
    gw_side_post(ctx->md5_side, md5_job, &ctx->md5, data, len);
    return true;
}

static void md5_side_end(struct gw_ctx *ctx, bool started)
{
    if (started) {
        gw_side_wait(ctx->md5_side);
    }
}

/* Counts, hashes (MD5 unless the side thread does) and hands decoded body bytes to the op. */
static ts_err deliver_body(struct gw_ctx *ctx, const uint8_t *data, size_t len, bool md5)
{
    ctx->body_size += len;
    if (ctx->has_declared_size && ctx->body_size > ctx->declared_size) {
        gw_s3_error(ctx, GW_S3_INVALID_REQUEST, "The body is longer than declared.");
        return TS_ERR_TOO_LARGE;
    }
    if (md5 && ctx->want_md5) {
        gw_md5_update(&ctx->md5, data, len);
    }
    if (ctx->op->body == GW_BODY_BUFFER) {
        if (ts_buf_append(&ctx->body, data, len) != TS_OK) {
            gw_s3_error(ctx, GW_S3_MALFORMED_XML, "The request body is too large.");
            return TS_ERR_TOO_LARGE;
        }
    } else if (ctx->op->body == GW_BODY_STREAM) {
        ctx->op->data(ctx, data, len);
        if (ctx->resp.status != 0) {
            return TS_ERR_CANCELED;
        }
    }
    return TS_OK;
}

/* The aws-chunked decoder's sink: the MD5 runs beside the op's work. */
static ts_err deliver(void *cls, const uint8_t *data, size_t len)
{
    struct gw_ctx *ctx = cls;
    bool side = md5_side_begin(ctx, data, len);
    ts_err err = deliver_body(ctx, data, len, !side);
    md5_side_end(ctx, side);
    return err;
}

static bool parse_size(const char *s, uint64_t *out)
{
    char *end = NULL;
    if (s == NULL || *s < '0' || *s > '9') {
        return false;
    }
    unsigned long long v = strtoull(s, &end, 10);
    *out = v;
    return *end == 0 && v <= GW_PUT_SIZE_MAX * 2;
}

static bool decode_content_md5(struct gw_ctx *ctx)
{
    const char *h = gw_req_header(&ctx->req, "content-md5");
    if (h == NULL) {
        return true;
    }
    /* 16 bytes are 24 base64 characters ending "==" */
    size_t n = strlen(h);
    if (n != 24 || h[22] != '=' || h[23] != '=') {
        gw_s3_error(ctx, GW_S3_INVALID_DIGEST, NULL);
        return false;
    }
    ctx->content_md5 = h;
    ctx->want_md5 = true;
    return true;
}

/* Sets up payload checks: aws-chunked decoding, or the signed payload hash. */
static bool setup_body(struct gw_ctx *ctx)
{
    const char *cl = gw_req_header(&ctx->req, "content-length");
    ctx->has_declared_size = parse_size(cl, &ctx->declared_size);
    if (cl != NULL && !ctx->has_declared_size) {
        gw_s3_error(ctx, GW_S3_INVALID_ARGUMENT, "Bad Content-Length.");
        return false;
    }
    if (!decode_content_md5(ctx)) {
        return false;
    }
    gw_md5_init(&ctx->md5);
    if (!ctx->authenticated) {
        return true;
    }
    switch (ctx->auth.payload) {
    case GW_PAYLOAD_UNSUPPORTED:
        gw_s3_error(ctx, GW_S3_NOT_IMPLEMENTED,
                    "This x-amz-content-sha256 value is not "
                    "supported (trailing checksums).");
        return false;
    case GW_PAYLOAD_STREAMING: {
        const char *d = gw_req_header(&ctx->req, "x-amz-decoded-content-length");
        if (!parse_size(d, &ctx->declared_size)) {
            gw_s3_error(ctx, GW_S3_MISSING_CONTENT_LENGTH, NULL);
            return false;
        }
        ctx->has_declared_size = true;
        uint8_t key[32];
        ts_err err = gw_sigv4_signing_key(ctx->cred->secret, ctx->auth.date, ctx->auth.region,
                                          ctx->auth.service, key);
        if (err == TS_OK) {
            err = gw_chunked_init(&ctx->chunked, key, ctx->auth.amz_date, ctx->auth.scope,
                                  ctx->auth.signature, deliver, ctx);
            ctx->body_chunked = true;
        }
        ts_wipe(key, sizeof key);
        if (err != TS_OK) {
            gw_s3_error(ctx, GW_S3_INTERNAL, NULL);
        }
        return err == TS_OK;
    }
    case GW_PAYLOAD_SIGNED:
        if (strcmp(ctx->auth.payload_hash, EMPTY_SHA256) != 0 || ctx->declared_size > 0) {
            if (ts_sha256_ctx_new(&ctx->body_sha) != TS_OK) {
                gw_s3_error(ctx, GW_S3_INTERNAL, NULL);
                return false;
            }
        }
        return true;
    default:
        return true;
    }
}

/* ---- flow ------------------------------------------------------------------------------ */

static const struct gw_op *special_op(const struct gw_ctx *ctx)
{
    const char *p = ctx->req.path;
    if (strcmp(p, "/-/health") == 0) {
        return &gw_op_health;
    }
    if (strcmp(p, "/-/metrics") == 0) {
        return &gw_op_metrics;
    }
    if (strcmp(p, "/-/register") == 0) {
        return &gw_op_register;
    }
    if (strncmp(p, "/s/", 3) == 0 && gw_req_header(&ctx->req, "authorization") == NULL) {
        return &gw_op_linkshare;
    }
    return NULL;
}

void gw_router_begin(struct gw_ctx *ctx)
{
    ts_err err = gw_req_parse_uri(&ctx->req, ctx->raw_uri ? ctx->raw_uri : "");
    if (err != TS_OK) {
        gw_s3_error(ctx, err == TS_ERR_TOO_LARGE ? GW_S3_KEY_TOO_LONG : GW_S3_INVALID_REQUEST,
                    "The request URI is malformed.");
        return;
    }
    gw_resp_header(&ctx->resp, "x-amz-request-id", ctx->request_id);
    gw_resp_header(&ctx->resp, "Server", "tessera-gateway");
    ctx->op = special_op(ctx);
    if (ctx->op == NULL) {
        if (address(ctx) != TS_OK) {
            gw_s3_error(ctx, GW_S3_INTERNAL, NULL);
            return;
        }
        if (ctx->key != NULL && strlen(ctx->key) > UL_OBJECT_KEY_MAX) {
            gw_s3_error(ctx, GW_S3_KEY_TOO_LONG, NULL);
            return;
        }
        ctx->op = select_op(ctx);
        if (ctx->op == NULL) {
            gw_s3_error(ctx, GW_S3_NOT_IMPLEMENTED, NULL);
            return;
        }
        if (!authenticate(ctx)) {
            return;
        }
    }
    if (!setup_body(ctx)) {
        return;
    }
    ctx->op->begin(ctx);
}

void gw_router_body(struct gw_ctx *ctx, const uint8_t *data, size_t len)
{
    ctx->wire_bytes += len;
    if (ctx->resp.status != 0 || ctx->op == NULL) {
        return; /* answered already: drain */
    }
    ts_err err;
    if (ctx->body_chunked) {
        err = gw_chunked_feed(&ctx->chunked, data, len);
    } else {
        /* The MD5 runs beside both the SHA-256 and the op's work. */
        bool side = md5_side_begin(ctx, data, len);
        err = ctx->body_sha ? ts_sha256_ctx_update(ctx->body_sha, data, len) : TS_OK;
        if (err == TS_OK) {
            err = deliver_body(ctx, data, len, !side);
        }
        md5_side_end(ctx, side);
    }
    if (err != TS_OK && ctx->resp.status == 0) {
        if (err == TS_ERR_AUTH_FAILED) {
            gw_s3_error(ctx, GW_S3_SIGNATURE_MISMATCH, "A chunk signature does not match.");
        } else if (err == TS_ERR_TOO_LARGE) {
            gw_s3_error(ctx, GW_S3_ENTITY_TOO_LARGE, NULL);
        } else {
            gw_s3_error(ctx, GW_S3_INCOMPLETE_BODY, "The aws-chunked body is malformed.");
        }
    }
}

static bool body_checks(struct gw_ctx *ctx)
{
    if (ctx->body_chunked && gw_chunked_finish(&ctx->chunked) != TS_OK) {
        gw_s3_error(ctx, GW_S3_INCOMPLETE_BODY, NULL);
        return false;
    }
    if (ctx->body_sha != NULL) {
        uint8_t h[32];
        char hex[65];
        if (ts_sha256_ctx_final(ctx->body_sha, h) != TS_OK) {
            gw_s3_error(ctx, GW_S3_INTERNAL, NULL);
            return false;
        }
        gw_hex(h, 32, hex);
        if (strcmp(hex, ctx->auth.payload_hash) != 0) {
            gw_s3_error(ctx, GW_S3_SHA256_MISMATCH, NULL);
            return false;
        }
    }
    if (ctx->has_declared_size && ctx->body_size != ctx->declared_size) {
        gw_s3_error(ctx, GW_S3_INCOMPLETE_BODY, NULL);
        return false;
    }
    if (ctx->want_md5) {
        gw_md5_final(&ctx->md5, ctx->body_md5);
    }
    if (ctx->content_md5 != NULL) {
        static const char b64[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        char enc[25];
        const uint8_t *d = ctx->body_md5;
        for (int i = 0, o = 0; i < 16; i += 3) {
            uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < 16 ? (uint32_t)d[i + 1] << 8 : 0) |
                         (i + 2 < 16 ? d[i + 2] : 0);
            enc[o++] = b64[(v >> 18) & 63];
            enc[o++] = b64[(v >> 12) & 63];
            enc[o++] = i + 1 < 16 ? b64[(v >> 6) & 63] : '=';
            enc[o++] = i + 2 < 16 ? b64[v & 63] : '=';
        }
        enc[24] = 0;
        if (strcmp(enc, ctx->content_md5) != 0) {
            gw_s3_error(ctx, GW_S3_BAD_DIGEST, NULL);
            return false;
        }
    }
    return true;
}

void gw_router_finish(struct gw_ctx *ctx)
{
    if (ctx->resp.status != 0 || ctx->op == NULL) {
        return;
    }
    if (!body_checks(ctx)) {
        return;
    }
    if (ctx->op->finish != NULL) {
        ctx->op->finish(ctx);
    }
    if (ctx->resp.status == 0) {
        ctx->resp.status = 200;
    }
}

void gw_router_done(struct gw_ctx *ctx, bool completed)
{
    if (!ctx->cleaned_up && ctx->op != NULL && ctx->op->cleanup != NULL) {
        ctx->op->cleanup(ctx);
    }
    ctx->cleaned_up = true;
    gw_metrics_add(&gw_metrics.requests, 1);
    gw_metrics_add(&gw_metrics.http_in_bytes, ctx->wire_bytes);
    gw_metrics_add(&gw_metrics.http_out_bytes, ctx->out_bytes);
    ts_log_info(LOG,
                "request id=%s remote=%s method=%s path=%s op=%s status=%d code=%s key_id=%s "
                "in=%" PRIu64 " out=%" PRIu64 " ms=%" PRId64 " complete=%s",
                ctx->request_id, ctx->remote, ctx->req.method, ctx->req.path ? ctx->req.path : "-",
                ctx->op ? ctx->op->name : "-", ctx->resp.status,
                ctx->resp.error_code ? ctx->resp.error_code : "-",
                ctx->cred ? ctx->cred->access_key_id : "-", ctx->wire_bytes, ctx->out_bytes,
                ts_monotonic_ms() - ctx->start_ms, completed ? "yes" : "no");
}
