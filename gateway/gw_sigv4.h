/*
 * AWS Signature Version 4 as S3 uses it: the Authorization header form, presigned URLs
 * (X-Amz-* query parameters), and the per-chunk signatures of aws-chunked uploads
 * (STREAMING-AWS4-HMAC-SHA256-PAYLOAD). Pure functions over a gw_req: no I/O, no clock except the
 * now_s argument, so the AWS documented examples are unit tests and the parser is fuzzed.
 *
 * Verification rebuilds the canonical request from what was received (path and query decoded and
 * re-encoded canonically, signed headers trimmed), signs it with the secret and compares in
 * constant time. The payload hash named in the request (hex SHA-256, UNSIGNED-PAYLOAD or a
 * STREAMING-* marker) is signed as given; checking the body against it is the caller's job.
 */
#ifndef GW_SIGV4_H
#define GW_SIGV4_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"
#include "gw_req.h"

#define GW_ACCESS_KEY_ID_MAX 128
#define GW_SECRET_KEY_MAX 128
#define GW_SIG_HEX_SIZE 65 /* 64 hex digits + NUL */

enum gw_payload_kind {
    GW_PAYLOAD_SIGNED,      /* payload_hash is the hex SHA-256 of the body */
    GW_PAYLOAD_UNSIGNED,    /* UNSIGNED-PAYLOAD */
    GW_PAYLOAD_STREAMING,   /* STREAMING-AWS4-HMAC-SHA256-PAYLOAD: aws-chunked, signed chunks */
    GW_PAYLOAD_UNSUPPORTED, /* other STREAMING-* variants (trailers): answered NotImplemented */
};

/* What a request claims about its signature, parsed from the header or the query. */
struct gw_sigv4_auth {
    bool presigned;
    char access_key_id[GW_ACCESS_KEY_ID_MAX + 1];
    char date[9]; /* YYYYMMDD of the credential scope */
    char region[64];
    char service[32];
    char amz_date[17];         /* YYYYMMDDTHHMMSSZ */
    char scope[128];           /* date/region/service/aws4_request */
    char signed_headers[1024]; /* "host;x-amz-date", lower-case, sorted as sent */
    char signature[GW_SIG_HEX_SIZE];
    int64_t expires_s; /* presigned lifetime, seconds */
    char payload_hash[72];
    enum gw_payload_kind payload;
};

/* Parsing. Returns TS_ERR_NOT_FOUND when the request carries no SigV4 credentials at all
 * (anonymous), TS_ERR_UNSUPPORTED_VERSION for another scheme (SigV2), TS_ERR_MALFORMED for a
 * broken header or parameter set. */
TS_WARN_UNUSED ts_err gw_sigv4_parse(const struct gw_req *req, struct gw_sigv4_auth *out);

/* The canonical request (appended to out) and the string to sign built over it. */
TS_WARN_UNUSED ts_err gw_sigv4_canonical_request(const struct gw_req *req,
                                                 const struct gw_sigv4_auth *auth,
                                                 struct ts_buf *out);
TS_WARN_UNUSED ts_err gw_sigv4_string_to_sign(const struct gw_sigv4_auth *auth,
                                              const char *canonical, struct ts_buf *out);

/* kSigning = HMAC chain over "AWS4"+secret, date, region, service, "aws4_request". */
TS_WARN_UNUSED ts_err gw_sigv4_signing_key(const char *secret, const char *date, const char *region,
                                           const char *service, uint8_t key[32]);

/* Computes the request's signature with secret (hex into sig_out). */
TS_WARN_UNUSED ts_err gw_sigv4_sign(const struct gw_req *req, const struct gw_sigv4_auth *auth,
                                    const char *secret, char sig_out[GW_SIG_HEX_SIZE]);

/* Checks the time window, then the signature. TS_ERR_NOT_YET_VALID / TS_ERR_EXPIRED for a
 * request outside GW_CLOCK_SKEW_S of now_s or a presigned URL past its lifetime,
 * TS_ERR_AUTH_FAILED for a wrong signature. */
TS_WARN_UNUSED ts_err gw_sigv4_verify(const struct gw_req *req, const struct gw_sigv4_auth *auth,
                                      const char *secret, int64_t now_s);

/* One aws-chunked chunk signature: HMAC(key, "AWS4-HMAC-SHA256-PAYLOAD\n" amz_date "\n" scope
 * "\n" prev_sig "\n" SHA256("") "\n" hex(chunk_sha256)). */
TS_WARN_UNUSED ts_err gw_sigv4_chunk_signature(const uint8_t key[32], const char *amz_date,
                                               const char *scope, const char *prev_sig,
                                               const uint8_t chunk_sha256[32],
                                               char sig_out[GW_SIG_HEX_SIZE]);

/* Parses "YYYYMMDDTHHMMSSZ" to Unix seconds. TS_ERR_MALFORMED otherwise. */
TS_WARN_UNUSED ts_err gw_amz_date_parse(const char *s, int64_t *out_s);

/* Lower-case hex of len bytes into out (2*len+1 bytes). */
void gw_hex(const uint8_t *data, size_t len, char *out);

#endif
