/*
 * The S3 layer: one gw_ctx per HTTP request, the operation table, the router and the helpers
 * every handler uses (errors as S3 error XML, uplink error mapping, metadata headers).
 *
 * Flow (driven by gw_http): gw_router_begin once the headers are in (addressing, SigV4, choice
 * of operation, op->begin); gw_router_body for each piece of the body (decoded from aws-chunked
 * and checked against the signed payload hash on the way); gw_router_finish at the end of the
 * body (payload checks, then op->finish); gw_router_done when the connection is finished with
 * the request (op->cleanup, the log line). A handler answers by filling ctx->resp; once
 * resp.status is set the rest of the body is drained and ignored.
 *
 * Operations live one file per group: gw_s3_bucket.c, gw_s3_object.c, gw_s3_list.c,
 * gw_s3_multipart.c; public share links in gw_linkshare.c.
 */
#ifndef GW_S3_H
#define GW_S3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tessera/uplink.h>

#include "base/buf.h"
#include "gw_chunked.h"
#include "gw_creds.h"
#include "gw_md5.h"
#include "gw_side.h"
#include "gw_req.h"
#include "gw_sigv4.h"

/* Server-wide settings (read-only while serving). */
struct gw_server {
    struct gw_creds *creds;
    const char *domain;     /* virtual-host base ("s3.local"): bucket.s3.local; NULL = path only */
    const char *public_url; /* base URL printed for share links; NULL = derived from Host */
    const char *region;     /* answered by GetBucketLocation; "us-east-1" */
    bool allow_register;    /* POST /-/register turns a grant into credentials */
};

/* S3 error codes with their HTTP status. */
#define GW_S3_ERRORS(X)                                                                            \
    X(ACCESS_DENIED, "AccessDenied", 403)                                                          \
    X(AUTH_HEADER_MALFORMED, "AuthorizationHeaderMalformed", 400)                                  \
    X(BAD_DIGEST, "BadDigest", 400)                                                                \
    X(BUCKET_EXISTS, "BucketAlreadyOwnedByYou", 409)                                               \
    X(BUCKET_NOT_EMPTY, "BucketNotEmpty", 409)                                                     \
    X(ENTITY_TOO_LARGE, "EntityTooLarge", 400)                                                     \
    X(ENTITY_TOO_SMALL, "EntityTooSmall", 400)                                                     \
    X(INCOMPLETE_BODY, "IncompleteBody", 400)                                                      \
    X(INTERNAL, "InternalError", 500)                                                              \
    X(INVALID_ACCESS_KEY_ID, "InvalidAccessKeyId", 403)                                            \
    X(INVALID_ARGUMENT, "InvalidArgument", 400)                                                    \
    X(INVALID_BUCKET_NAME, "InvalidBucketName", 400)                                               \
    X(INVALID_DIGEST, "InvalidDigest", 400)                                                        \
    X(INVALID_PART, "InvalidPart", 400)                                                            \
    X(INVALID_PART_ORDER, "InvalidPartOrder", 400)                                                 \
    X(INVALID_RANGE, "InvalidRange", 416)                                                          \
    X(INVALID_REQUEST, "InvalidRequest", 400)                                                      \
    X(KEY_TOO_LONG, "KeyTooLongError", 400)                                                        \
    X(MALFORMED_XML, "MalformedXML", 400)                                                          \
    X(METADATA_TOO_LARGE, "MetadataTooLarge", 400)                                                 \
    X(METHOD_NOT_ALLOWED, "MethodNotAllowed", 405)                                                 \
    X(MISSING_CONTENT_LENGTH, "MissingContentLength", 411)                                         \
    X(NO_SUCH_BUCKET, "NoSuchBucket", 404)                                                         \
    X(NO_SUCH_KEY, "NoSuchKey", 404)                                                               \
    X(NO_SUCH_UPLOAD, "NoSuchUpload", 404)                                                         \
    X(NOT_IMPLEMENTED, "NotImplemented", 501)                                                      \
    X(PRECONDITION_FAILED, "PreconditionFailed", 412)                                              \
    X(TIME_SKEWED, "RequestTimeTooSkewed", 403)                                                    \
    X(SIGNATURE_MISMATCH, "SignatureDoesNotMatch", 403)                                            \
    X(SERVICE_UNAVAILABLE, "ServiceUnavailable", 503)                                              \
    X(SHA256_MISMATCH, "XAmzContentSHA256Mismatch", 400)                                           \
    X(SLOW_DOWN, "SlowDown", 503)

enum gw_s3_error {
#define GW_S3_ERROR_ENUM(id, code, status) GW_S3_##id,
    GW_S3_ERRORS(GW_S3_ERROR_ENUM)
#undef GW_S3_ERROR_ENUM
};

enum gw_body_kind {
    GW_BODY_NONE,   /* no body expected (a body is read and ignored) */
    GW_BODY_BUFFER, /* small body collected into ctx->body (GW_XML_BODY_MAX) */
    GW_BODY_STREAM, /* op->data receives the decoded body as it arrives */
};

struct gw_ctx;

struct gw_op {
    const char *name; /* S3 operation name for the log */
    enum gw_body_kind body;
    void (*begin)(struct gw_ctx *ctx); /* may answer at once */
    void (*data)(struct gw_ctx *ctx, const uint8_t *data, size_t len);
    void (*finish)(struct gw_ctx *ctx);  /* the body is complete and verified */
    void (*cleanup)(struct gw_ctx *ctx); /* always called once; frees op_state */
};

struct gw_ctx {
    struct gw_server *srv;
    struct gw_req req;
    struct gw_resp resp;
    char *raw_uri;
    char remote[64];
    char request_id[17];
    int64_t start_ms;

    const struct gw_op *op;
    const struct gw_cred *cred; /* authenticated tenant (NULL: anonymous endpoints) */
    char *bucket;               /* decoded; NULL when the request names none */
    char *key;                  /* decoded; NULL when the request names none */
    bool vhost;                 /* the bucket came from the Host header */
    struct gw_sigv4_auth auth;  /* SigV2 requests fill access_key_id, presigned, payload */
    bool authenticated;

    /* body */
    bool body_chunked;
    struct gw_chunked chunked;
    struct ts_sha256_ctx *body_sha; /* signed payload: hash to compare at the end */
    bool want_md5;
    struct gw_md5 md5;
    struct gw_side *md5_side;      /* hashes md5 beside the request thread (large bodies) */
    bool md5_side_failed;          /* no thread could start: hash in line */
    uint8_t body_md5[GW_MD5_SIZE]; /* set before op->finish when want_md5 */
    const char *content_md5;       /* the Content-MD5 header, checked at the end */
    uint64_t body_size;            /* decoded body bytes so far */
    uint64_t declared_size;        /* Content-Length or x-amz-decoded-content-length */
    bool has_declared_size;
    uint64_t wire_bytes; /* raw body bytes received */
    uint64_t out_bytes;  /* response body size (set when handed to HTTP) */
    struct ts_buf body;  /* GW_BODY_BUFFER */
    bool cleaned_up;

    void *op_state;
};

/* ---- router (gw_router.c) ---- */
void gw_ctx_init(struct gw_ctx *ctx, struct gw_server *srv);
void gw_ctx_release(struct gw_ctx *ctx);
void gw_router_begin(struct gw_ctx *ctx);
void gw_router_body(struct gw_ctx *ctx, const uint8_t *data, size_t len);
void gw_router_finish(struct gw_ctx *ctx);
/* completed: the response was fully sent. Writes the log line and cleans up. */
void gw_router_done(struct gw_ctx *ctx, bool completed);

/* ---- helpers (gw_s3_util.c) ---- */
/* Answers with S3 error XML (message may be NULL: a default sentence). Replaces any answer
 * being built. */
void gw_s3_error(struct gw_ctx *ctx, enum gw_s3_error e, const char *message);
/* Maps an uplink failure to the S3 error a client expects, using ctx->bucket / ctx->key to
 * tell NoSuchBucket from NoSuchKey. */
void gw_s3_error_ul(struct gw_ctx *ctx, ul_err err);
/* Sets status, Content-Type application/xml and moves xml into the body. */
void gw_s3_xml_answer(struct gw_ctx *ctx, int status, struct ts_buf *xml);
const char *gw_s3_error_code(enum gw_s3_error e);

/* Object metadata as the gateway stores it in the object's encrypted user metadata:
 * user x-amz-meta-<name> -> "<name>", content headers under their lower-case names, the ETag
 * under "tessera-gw:etag". */
#define GW_META_ETAG "tessera-gw:etag"
#define GW_META_MAX 64
/* Stored in place of the ETag until the real one is known (same length, so the final metadata
 * fits whenever the first did); read back as "no ETag stored". */
#define GW_ETAG_PLACEHOLDER "00000000000000000000000000000000"
struct gw_meta {
    struct ul_metadata_entry entries[GW_META_MAX];
    size_t count;
    char *owned[GW_META_MAX * 2 + 8]; /* strings to free (+ values replaced by gw_meta_set) */
    size_t owned_count;
};
void gw_meta_init(struct gw_meta *m);
void gw_meta_release(struct gw_meta *m);
/* Copies key/value. TS_ERR_TOO_LARGE past GW_META_MAX. */
TS_WARN_UNUSED ts_err gw_meta_add(struct gw_meta *m, const char *key, const char *value);
/* Replaces the value of key (added when absent). */
TS_WARN_UNUSED ts_err gw_meta_set(struct gw_meta *m, const char *key, const char *value);
/* Collects x-amz-meta-* and the content headers of a request. TS_ERR_INVALID_ARGUMENT for a
 * user name colliding with a reserved one. */
TS_WARN_UNUSED ts_err gw_meta_from_request(struct gw_meta *m, const struct gw_req *req);
/* Copies the stored entries of info (all of them, the ETag included unless skip_etag). */
TS_WARN_UNUSED ts_err gw_meta_from_info(struct gw_meta *m, const struct ul_object_info *info,
                                        bool skip_etag);
/* Finds a stored value; NULL when absent. */
const char *gw_meta_get(const struct ul_object_info *info, const char *key);
/* The object's quoted ETag (stored, else derived from size and time) into out[80]. */
void gw_object_etag(const struct ul_object_info *info, char out[80]);
/* Adds ETag, Last-Modified, Content-Type and the other content headers, x-amz-meta-*. */
void gw_object_headers(struct gw_ctx *ctx, const struct ul_object_info *info);
/* Decodes a Content-MD5 header (base64 of 16 bytes). false when malformed. */
bool gw_base64_md5_decode(const char *s, uint8_t out[16]);

/* Process-wide counters, served as text by GET /-/metrics (no names, only totals). The uplink
 * byte counters are plaintext bytes the gateway itself wrote into uploads and read from
 * downloads: a server-side copy adds nothing to them. */
struct gw_metrics {
    _Atomic uint64_t requests;
    _Atomic uint64_t http_in_bytes;     /* request bodies as received */
    _Atomic uint64_t http_out_bytes;    /* response bodies */
    _Atomic uint64_t uplink_up_bytes;   /* into ul_upload_write / ul_part_upload_write */
    _Atomic uint64_t uplink_down_bytes; /* out of ul_download_read */
};
extern struct gw_metrics gw_metrics;
void gw_metrics_add(_Atomic uint64_t *counter, uint64_t n);

/* ---- operations ---- */
extern const struct gw_op gw_op_list_buckets, gw_op_create_bucket, gw_op_head_bucket,
    gw_op_delete_bucket, gw_op_bucket_location, gw_op_bucket_versioning;
extern const struct gw_op gw_op_put_object, gw_op_get_object, gw_op_head_object,
    gw_op_delete_object, gw_op_delete_objects, gw_op_copy_object;
extern const struct gw_op gw_op_list_objects, gw_op_list_objects_v2;
extern const struct gw_op gw_op_create_multipart, gw_op_upload_part, gw_op_complete_multipart,
    gw_op_abort_multipart, gw_op_list_parts, gw_op_list_multipart;
extern const struct gw_op gw_op_linkshare, gw_op_register, gw_op_health, gw_op_metrics;

/* ---- shared pieces of GetObject used by link sharing (gw_s3_object.c) ---- */
/* Answers GET/HEAD of bucket/key from project with ranges and conditionals. */
void gw_object_serve(struct gw_ctx *ctx, struct ul_project *project, const char *bucket,
                     const char *key, bool head);

#endif
