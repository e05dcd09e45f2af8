/* AWS Signature Version 2 for S3: header and presigned forms (see gw_sigv2.h). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "base/base.h"
#include "base/limits.h"
#include "gw_range.h"
#include "gw_sigv2.h"

#define AUTH_PREFIX "AWS "

/* Query parameters that name a subresource and so are part of the signed resource. */
static const char *const signed_subresources[] = {
    "acl",          "cors",         "delete",          "lifecycle",   "location",
    "logging",      "notification", "partNumber",      "policy",      "requestPayment",
    "restore",      "tagging",      "torrent",         "uploadId",    "uploads",
    "versionId",    "versioning",   "versions",        "website",     "response-cache-control",
    "response-content-disposition", "response-content-encoding",      "response-content-language",
    "response-content-type",        "response-expires"};

static ts_err copy_text(char *dst, size_t cap, const char *src, size_t len)
{
    if (len == 0 || len >= cap) {
        return TS_ERR_MALFORMED;
    }
    memcpy(dst, src, len);
    dst[len] = 0;
    return TS_OK;
}

static ts_err parse_header_form(const struct gw_req *req, const char *h, struct gw_sigv2_auth *a)
{
    const char *id = h + strlen(AUTH_PREFIX);
    const char *colon = strchr(id, ':');
    if (colon == NULL) {
        return TS_ERR_MALFORMED;
    }
    ts_err err = copy_text(a->access_key_id, sizeof a->access_key_id, id, (size_t)(colon - id));
    if (err == TS_OK) {
        err = copy_text(a->signature, sizeof a->signature, colon + 1, strlen(colon + 1));
    }
    const char *date = gw_req_header(req, "x-amz-date");
    if (date == NULL) {
        date = gw_req_header(req, "date");
    }
    if (err == TS_OK && (date == NULL || gw_http_date_parse(date, &a->time_s) != TS_OK)) {
        err = TS_ERR_MALFORMED; /* a SigV2 request must say when it was signed */
    }
    return err;
}

static ts_err parse_query_form(const struct gw_req *req, struct gw_sigv2_auth *a)
{
    const char *id = gw_req_query(req, "AWSAccessKeyId");
    const char *sig = gw_req_query(req, "Signature");
    const char *expires = gw_req_query(req, "Expires");
    if (id == NULL || sig == NULL || expires == NULL) {
        return TS_ERR_MALFORMED;
    }
    a->presigned = true;
    ts_err err = copy_text(a->access_key_id, sizeof a->access_key_id, id, strlen(id));
    if (err == TS_OK) {
        err = copy_text(a->signature, sizeof a->signature, sig, strlen(sig));
    }
    char *end = NULL;
    long long t = strtoll(expires, &end, 10);
    if (err == TS_OK && (end == expires || *end != 0 || t <= 0 || strlen(expires) > 19)) {
        err = TS_ERR_MALFORMED;
    }
    a->time_s = (int64_t)t;
    return err;
}

ts_err gw_sigv2_parse(const struct gw_req *req, struct gw_sigv2_auth *out)
{
    memset(out, 0, sizeof *out);
    const char *h = gw_req_header(req, "authorization");
    if (h != NULL) {
        return strncmp(h, AUTH_PREFIX, strlen(AUTH_PREFIX)) == 0 ? parse_header_form(req, h, out)
                                                                  : TS_ERR_NOT_FOUND;
    }
    if (gw_req_has_query(req, "AWSAccessKeyId") || gw_req_has_query(req, "Signature")) {
        return parse_query_form(req, out);
    }
    return TS_ERR_NOT_FOUND;
}

/* ---- string to sign ------------------------------------------------------------------------ */

static int param_cmp(const void *a, const void *b)
{
    const struct gw_param *x = *(const struct gw_param *const *)a;
    const struct gw_param *y = *(const struct gw_param *const *)b;
    return strcmp(x->key, y->key);
}

static bool is_signed_subresource(const char *key)
{
    for (size_t i = 0; i < TS_ARRAY_LEN(signed_subresources); i++) {
        if (strcmp(key, signed_subresources[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* One standard header's value, trimmed ("" when absent). */
static ts_err append_trimmed(struct ts_buf *out, const char *v)
{
    if (v == NULL) {
        return TS_OK;
    }
    while (*v == ' ' || *v == '\t') {
        v++;
    }
    size_t len = strlen(v);
    while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t')) {
        len--;
    }
    return ts_buf_append(out, v, len);
}

/* "x-amz-name:value\n" for every x-amz-* header, sorted by name, repeated names joined by ','. */
static ts_err append_amz_headers(const struct gw_req *req, struct ts_buf *out)
{
    const struct gw_param *amz[GW_REQUEST_HEADERS_MAX];
    size_t n = 0;
    for (size_t i = 0; i < req->header_count; i++) {
        if (strncmp(req->headers[i].key, "x-amz-", 6) == 0) {
            amz[n++] = &req->headers[i];
        }
    }
    qsort(amz, n, sizeof amz[0], param_cmp); /* names are lower-cased by gw_req_add_header */
    ts_err err = TS_OK;
    for (size_t i = 0; i < n && err == TS_OK; i++) {
        bool same = i > 0 && strcmp(amz[i]->key, amz[i - 1]->key) == 0;
        err = same ? ts_buf_append_byte(out, ',') : ts_buf_printf(out, "%s%s:", i ? "\n" : "",
                                                                  amz[i]->key);
        if (err == TS_OK) {
            err = append_trimmed(out, amz[i]->value);
        }
    }
    return err == TS_OK && n > 0 ? ts_buf_append_byte(out, '\n') : err;
}

/* A path-style request naming only a bucket ("/bucket"): clients sign it as "/bucket/". */
static bool bucket_only_path(const struct gw_req *req, const char *vhost_bucket)
{
    const char *p = req->raw_path;
    return vhost_bucket == NULL && p[0] == '/' && p[1] != 0 && strchr(p + 1, '/') == NULL;
}

/* "/bucket" (virtual host) + the path as sent (+ "/" when slash) + "?sub1&sub2=value" (sorted,
 * values decoded). */
static ts_err append_resource(const struct gw_req *req, const char *vhost_bucket, bool slash,
                              struct ts_buf *out)
{
    ts_err err = vhost_bucket != NULL ? ts_buf_printf(out, "/%s", vhost_bucket) : TS_OK;
    if (err == TS_OK) {
        err = ts_buf_append(out, req->raw_path, strlen(req->raw_path));
    }
    if (err == TS_OK && slash) {
        err = ts_buf_append_byte(out, '/');
    }
    const struct gw_param *subs[GW_QUERY_PARAMS_MAX];
    size_t n = 0;
    for (size_t i = 0; i < req->query_count; i++) {
        if (is_signed_subresource(req->query[i].key)) {
            subs[n++] = &req->query[i];
        }
    }
    qsort(subs, n, sizeof subs[0], param_cmp);
    for (size_t i = 0; i < n && err == TS_OK; i++) {
        err = ts_buf_printf(out, "%c%s%s%s", i ? '&' : '?', subs[i]->key,
                            subs[i]->value[0] ? "=" : "", subs[i]->value);
    }
    return err;
}

static ts_err string_to_sign(const struct gw_req *req, const struct gw_sigv2_auth *auth,
                             const char *vhost_bucket, bool slash, struct ts_buf *out)
{
    ts_err err = ts_buf_printf(out, "%s\n", req->method);
    if (err == TS_OK) {
        err = append_trimmed(out, gw_req_header(req, "content-md5"));
    }
    if (err == TS_OK) {
        err = ts_buf_append_byte(out, '\n');
    }
    if (err == TS_OK) {
        err = append_trimmed(out, gw_req_header(req, "content-type"));
    }
    if (err == TS_OK) {
        err = ts_buf_append_byte(out, '\n');
    }
    if (err == TS_OK && auth->presigned) {
        err = ts_buf_printf(out, "%" PRId64, auth->time_s);
    } else if (err == TS_OK && gw_req_header(req, "x-amz-date") == NULL) {
        err = append_trimmed(out, gw_req_header(req, "date"));
    }
    if (err == TS_OK) {
        err = ts_buf_append_byte(out, '\n');
    }
    if (err == TS_OK) {
        err = append_amz_headers(req, out);
    }
    return err == TS_OK ? append_resource(req, vhost_bucket, slash, out) : err;
}

ts_err gw_sigv2_string_to_sign(const struct gw_req *req, const struct gw_sigv2_auth *auth,
                               const char *vhost_bucket, struct ts_buf *out)
{
    return string_to_sign(req, auth, vhost_bucket, bucket_only_path(req, vhost_bucket), out);
}

ts_err gw_sigv2_sign(const struct gw_req *req, const struct gw_sigv2_auth *auth,
                     const char *vhost_bucket, const char *secret,
                     char sig_out[GW_SIGV2_SIG_MAX + 1])
{
    struct ts_buf sts;
    ts_buf_init(&sts, GW_URI_MAX * 4);
    ts_err err = gw_sigv2_string_to_sign(req, auth, vhost_bucket, &sts);
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (err == TS_OK && HMAC(EVP_sha1(), secret, (int)strlen(secret), sts.data, sts.len, mac,
                             &mac_len) == NULL) {
        err = TS_ERR_CRYPTO;
    }
    if (err == TS_OK) {
        /* 20 bytes -> 28 base64 characters + NUL, well inside sig_out */
        EVP_EncodeBlock((unsigned char *)sig_out, mac, (int)mac_len);
    }
    ts_buf_release(&sts);
    return err;
}

ts_err gw_sigv2_verify(const struct gw_req *req, const struct gw_sigv2_auth *auth,
                       const char *vhost_bucket, const char *secret, int64_t now_s)
{
    if (auth->presigned && now_s > auth->time_s) {
        return TS_ERR_EXPIRED;
    }
    if (!auth->presigned && auth->time_s > now_s + GW_CLOCK_SKEW_S) {
        return TS_ERR_NOT_YET_VALID;
    }
    if (!auth->presigned && auth->time_s < now_s - GW_CLOCK_SKEW_S) {
        return TS_ERR_EXPIRED;
    }
    char sig[GW_SIGV2_SIG_MAX + 1];
    ts_err err = gw_sigv2_sign(req, auth, vhost_bucket, secret, sig);
    if (err != TS_OK) {
        return err;
    }
    size_t len = strlen(sig);
    return strlen(auth->signature) == len && ts_ct_equal(sig, auth->signature, len)
               ? TS_OK
               : TS_ERR_AUTH_FAILED;
}
