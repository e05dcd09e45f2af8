/*
 * AWS Signature Version 2 as S3 defined it (HMAC-SHA1, base64), for the clients that still use
 * it: the header form "Authorization: AWS <key id>:<signature>" and presigned URLs
 * (AWSAccessKeyId, Expires, Signature: what awscli 1.x's `aws s3 presign` writes). Pure
 * functions over a gw_req like gw_sigv4.h; the payload is not signed (treat it as unsigned).
 *
 * String to sign: method, Content-MD5, Content-Type, Date (or Expires for a presigned URL; empty
 * when x-amz-date is sent), the x-amz-* headers (lower-case, sorted, one per line), then the
 * resource: "/bucket" for a virtual-host request, the path as sent ("/bucket/" for a path-style
 * "/bucket", as clients sign it), and the subresources S3 signs ("?acl", "?uploadId=...", ...)
 * sorted, with decoded values.
 */
#ifndef GW_SIGV2_H
#define GW_SIGV2_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"
#include "gw_req.h"
#include "gw_sigv4.h"

#define GW_SIGV2_SIG_MAX 64 /* base64 of a 20-byte HMAC-SHA1 is 28 characters */

struct gw_sigv2_auth {
    bool presigned;
    char access_key_id[GW_ACCESS_KEY_ID_MAX + 1];
    char signature[GW_SIGV2_SIG_MAX + 1]; /* base64 as sent */
    int64_t time_s; /* Date / x-amz-date (header form) or Expires (presigned), Unix seconds */
};

/* TS_ERR_NOT_FOUND when the request carries no SigV2 credentials, TS_ERR_MALFORMED for a broken
 * header, parameter set or date. */
TS_WARN_UNUSED ts_err gw_sigv2_parse(const struct gw_req *req, struct gw_sigv2_auth *out);

/* The string to sign (appended to out). vhost_bucket: the bucket named by the Host header, NULL
 * for a path-style request. */
TS_WARN_UNUSED ts_err gw_sigv2_string_to_sign(const struct gw_req *req,
                                              const struct gw_sigv2_auth *auth,
                                              const char *vhost_bucket, struct ts_buf *out);

/* base64(HMAC-SHA1(secret, string to sign)) into sig_out. */
TS_WARN_UNUSED ts_err gw_sigv2_sign(const struct gw_req *req, const struct gw_sigv2_auth *auth,
                                    const char *vhost_bucket, const char *secret,
                                    char sig_out[GW_SIGV2_SIG_MAX + 1]);

/* Checks the time (header form: within GW_CLOCK_SKEW_S of now_s, else TS_ERR_NOT_YET_VALID /
 * TS_ERR_EXPIRED; presigned: TS_ERR_EXPIRED past Expires), then the signature
 * (TS_ERR_AUTH_FAILED). */
TS_WARN_UNUSED ts_err gw_sigv2_verify(const struct gw_req *req, const struct gw_sigv2_auth *auth,
                                      const char *vhost_bucket, const char *secret,
                                      int64_t now_s);

#endif
