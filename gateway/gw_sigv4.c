/* AWS Signature Version 4: parsing, canonicalization, signing and verification. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/base.h"
#include "crypto/hash.h"
#include "gw_sigv4.h"

#define ALGORITHM "AWS4-HMAC-SHA256"
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

void gw_hex(const uint8_t *data, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 15];
    }
    out[2 * len] = 0;
}

/* Copies [s, s+len) into dst (size cap) or fails when it does not fit. */
static ts_err copy_field(char *dst, size_t cap, const char *s, size_t len)
{
    if (len >= cap) {
        return TS_ERR_MALFORMED;
    }
    memcpy(dst, s, len);
    dst[len] = 0;
    return TS_OK;
}

ts_err gw_amz_date_parse(const char *s, int64_t *out_s)
{
    if (strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z') {
        return TS_ERR_MALFORMED;
    }
    for (int i = 0; i < 15; i++) {
        if (i != 8 && (s[i] < '0' || s[i] > '9')) {
            return TS_ERR_MALFORMED;
        }
    }
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int v[6];
    const int pos[6] = {0, 4, 6, 9, 11, 13}, width[6] = {4, 2, 2, 2, 2, 2};
    for (int i = 0; i < 6; i++) {
        v[i] = 0;
        for (int j = 0; j < width[i]; j++) {
            v[i] = v[i] * 10 + (s[pos[i] + j] - '0');
        }
    }
    if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 || v[4] > 59 || v[5] > 60) {
        return TS_ERR_MALFORMED;
    }
    tm.tm_year = v[0] - 1900;
    tm.tm_mon = v[1] - 1;
    tm.tm_mday = v[2];
    tm.tm_hour = v[3];
    tm.tm_min = v[4];
    tm.tm_sec = v[5];
    *out_s = (int64_t)timegm(&tm);
    return TS_OK;
}

/* "AKID/20130524/us-east-1/s3/aws4_request" into the auth fields. */
static ts_err parse_credential(const char *cred, size_t len, struct gw_sigv4_auth *a)
{
    const char *parts[5];
    size_t lens[5];
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || cred[i] == '/') {
            if (n == 5) {
                return TS_ERR_MALFORMED;
            }
            parts[n] = cred + start;
            lens[n++] = i - start;
            start = i + 1;
        }
    }
    if (n != 5 || lens[0] == 0 || lens[1] != 8 || lens[2] == 0 || lens[3] == 0 || lens[4] != 12 ||
        memcmp(parts[4], "aws4_request", 12) != 0) {
        return TS_ERR_MALFORMED;
    }
    ts_err err = copy_field(a->access_key_id, sizeof a->access_key_id, parts[0], lens[0]);
    if (err == TS_OK) {
        err = copy_field(a->date, sizeof a->date, parts[1], lens[1]);
    }
    if (err == TS_OK) {
        err = copy_field(a->region, sizeof a->region, parts[2], lens[2]);
    }
    if (err == TS_OK) {
        err = copy_field(a->service, sizeof a->service, parts[3], lens[3]);
    }
    if (err == TS_OK) {
        size_t slen = len - lens[0] - 1;
        err = copy_field(a->scope, sizeof a->scope, parts[1], slen);
    }
    return err;
}

static ts_err parse_signature_hex(const char *s, size_t len, struct gw_sigv4_auth *a)
{
    if (len != 64) {
        return TS_ERR_MALFORMED;
    }
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return TS_ERR_MALFORMED;
        }
        a->signature[i] = (c >= 'A' && c <= 'F') ? (char)(c - 'A' + 'a') : c;
    }
    a->signature[64] = 0;
    return TS_OK;
}

/* "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..." */
static ts_err parse_header(const char *h, struct gw_sigv4_auth *a)
{
    size_t alen = strlen(ALGORITHM);
    if (strncmp(h, ALGORITHM, alen) != 0 || (h[alen] != ' ' && h[alen] != '\t')) {
        return TS_ERR_UNSUPPORTED_VERSION;
    }
    const char *p = h + alen;
    bool have_cred = false, have_sh = false, have_sig = false;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',') {
            p++;
        }
        if (*p == 0) {
            break;
        }
        const char *eq = strchr(p, '=');
        if (eq == NULL) {
            return TS_ERR_MALFORMED;
        }
        const char *v = eq + 1;
        size_t vlen = strcspn(v, ", \t");
        ts_err err = TS_OK;
        if ((size_t)(eq - p) == 10 && strncmp(p, "Credential", 10) == 0) {
            err = parse_credential(v, vlen, a);
            have_cred = true;
        } else if ((size_t)(eq - p) == 13 && strncmp(p, "SignedHeaders", 13) == 0) {
            err = copy_field(a->signed_headers, sizeof a->signed_headers, v, vlen);
            have_sh = true;
        } else if ((size_t)(eq - p) == 9 && strncmp(p, "Signature", 9) == 0) {
            err = parse_signature_hex(v, vlen, a);
            have_sig = true;
        }
        if (err != TS_OK) {
            return err;
        }
        p = v + vlen;
    }
    return have_cred && have_sh && have_sig ? TS_OK : TS_ERR_MALFORMED;
}

static ts_err parse_presigned(const struct gw_req *req, struct gw_sigv4_auth *a)
{
    const char *alg = gw_req_query(req, "X-Amz-Algorithm");
    const char *cred = gw_req_query(req, "X-Amz-Credential");
    const char *date = gw_req_query(req, "X-Amz-Date");
    const char *exp = gw_req_query(req, "X-Amz-Expires");
    const char *sh = gw_req_query(req, "X-Amz-SignedHeaders");
    const char *sig = gw_req_query(req, "X-Amz-Signature");
    if (strcmp(alg, ALGORITHM) != 0) {
        return TS_ERR_UNSUPPORTED_VERSION;
    }
    if (!cred || !date || !exp || !sh || !sig) {
        return TS_ERR_MALFORMED;
    }
    a->presigned = true;
    char *end = NULL;
    long long e = strtoll(exp, &end, 10);
    if (end == exp || *end != 0 || e < 1 || e > GW_PRESIGN_EXPIRES_MAX_S) {
        return TS_ERR_MALFORMED;
    }
    a->expires_s = e;
    ts_err err = parse_credential(cred, strlen(cred), a);
    if (err == TS_OK) {
        err = copy_field(a->amz_date, sizeof a->amz_date, date, strlen(date));
    }
    if (err == TS_OK) {
        err = copy_field(a->signed_headers, sizeof a->signed_headers, sh, strlen(sh));
    }
    if (err == TS_OK) {
        err = parse_signature_hex(sig, strlen(sig), a);
    }
    const char *ph = gw_req_header(req, "x-amz-content-sha256");
    snprintf(a->payload_hash, sizeof a->payload_hash, "%s", ph ? ph : "UNSIGNED-PAYLOAD");
    return err;
}

static enum gw_payload_kind payload_kind(const char *h)
{
    if (strcmp(h, "UNSIGNED-PAYLOAD") == 0) {
        return GW_PAYLOAD_UNSIGNED;
    }
    if (strcmp(h, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD") == 0) {
        return GW_PAYLOAD_STREAMING;
    }
    if (strlen(h) != 64) {
        return GW_PAYLOAD_UNSUPPORTED;
    }
    for (int i = 0; i < 64; i++) {
        char c = h[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return GW_PAYLOAD_UNSUPPORTED;
        }
    }
    return GW_PAYLOAD_SIGNED;
}

ts_err gw_sigv4_parse(const struct gw_req *req, struct gw_sigv4_auth *out)
{
    memset(out, 0, sizeof *out);
    const char *h = gw_req_header(req, "authorization");
    ts_err err;
    if (h != NULL) {
        err = parse_header(h, out);
        if (err != TS_OK) {
            return err;
        }
        const char *d = gw_req_header(req, "x-amz-date");
        if (d == NULL) {
            return TS_ERR_MALFORMED; /* the Date header form is not supported: clients send this */
        }
        err = copy_field(out->amz_date, sizeof out->amz_date, d, strlen(d));
        const char *ph = gw_req_header(req, "x-amz-content-sha256");
        if (err == TS_OK && ph == NULL) {
            return TS_ERR_MALFORMED; /* S3 requires it with SigV4 */
        }
        if (err == TS_OK) {
            err = copy_field(out->payload_hash, sizeof out->payload_hash, ph, strlen(ph));
        }
    } else if (gw_req_has_query(req, "X-Amz-Algorithm")) {
        err = parse_presigned(req, out);
    } else if (gw_req_has_query(req, "AWSAccessKeyId") || gw_req_has_query(req, "Signature")) {
        return TS_ERR_UNSUPPORTED_VERSION; /* SigV2 presigned */
    } else {
        return TS_ERR_NOT_FOUND;
    }
    if (err != TS_OK) {
        return err;
    }
    int64_t t;
    if (gw_amz_date_parse(out->amz_date, &t) != TS_OK || strncmp(out->amz_date, out->date, 8)) {
        return TS_ERR_MALFORMED;
    }
    out->payload = payload_kind(out->payload_hash);
    return TS_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Canonical request                                                                          */

struct qpair {
    char *k, *v; /* canonically encoded */
};

static int qpair_cmp(const void *a, const void *b)
{
    const struct qpair *x = a, *y = b;
    int c = strcmp(x->k, y->k);
    return c != 0 ? c : strcmp(x->v, y->v);
}

static char *encode_dup(const char *s)
{
    struct ts_buf b;
    ts_buf_init(&b, GW_URI_MAX * 3);
    if (gw_uri_encode(s, strlen(s), false, &b) != TS_OK || ts_buf_reserve(&b, 0) != TS_OK) {
        ts_buf_release(&b);
        return NULL;
    }
    return (char *)ts_buf_detach(&b, NULL);
}

static ts_err append_canonical_query(const struct gw_req *req, bool presigned, struct ts_buf *out)
{
    struct qpair pairs[GW_QUERY_PARAMS_MAX];
    size_t n = 0;
    ts_err err = TS_OK;
    for (size_t i = 0; i < req->query_count; i++) {
        if (presigned && strcmp(req->query[i].key, "X-Amz-Signature") == 0) {
            continue;
        }
        pairs[n].k = encode_dup(req->query[i].key);
        pairs[n].v = encode_dup(req->query[i].value);
        n++;
        if (pairs[n - 1].k == NULL || pairs[n - 1].v == NULL) {
            err = TS_ERR_NOMEM;
            goto done;
        }
    }
    qsort(pairs, n, sizeof pairs[0], qpair_cmp);
    for (size_t i = 0; i < n && err == TS_OK; i++) {
        err = ts_buf_printf(out, "%s%s=%s", i ? "&" : "", pairs[i].k, pairs[i].v);
    }
done:
    for (size_t i = 0; i < n; i++) {
        free(pairs[i].k);
        free(pairs[i].v);
    }
    return err;
}

/* Appends one header's canonical value: every occurrence joined by ',', each trimmed and with
 * runs of spaces collapsed to one. */
static ts_err append_header_value(const struct gw_req *req, const char *name, size_t nlen,
                                  struct ts_buf *out)
{
    bool found = false;
    ts_err err = TS_OK;
    for (size_t i = 0; i < req->header_count && err == TS_OK; i++) {
        const char *k = req->headers[i].key;
        if (strlen(k) != nlen || memcmp(k, name, nlen) != 0) {
            continue;
        }
        if (found) {
            err = ts_buf_append_byte(out, ',');
        }
        found = true;
        const char *v = req->headers[i].value;
        while (*v == ' ' || *v == '\t') {
            v++;
        }
        size_t len = strlen(v);
        while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t')) {
            len--;
        }
        for (size_t j = 0; j < len && err == TS_OK; j++) {
            bool space = v[j] == ' ' || v[j] == '\t';
            if (space && j > 0 && (v[j - 1] == ' ' || v[j - 1] == '\t')) {
                continue;
            }
            err = ts_buf_append_byte(out, space ? ' ' : (uint8_t)v[j]);
        }
    }
    return found || err != TS_OK ? err : TS_ERR_MALFORMED; /* a signed header must be present */
}

static ts_err append_canonical_headers(const struct gw_req *req, const char *signed_headers,
                                       struct ts_buf *out)
{
    const char *p = signed_headers;
    size_t count = 0;
    bool has_host = false;
    while (*p) {
        size_t len = strcspn(p, ";");
        if (len == 0 || ++count > GW_SIGNED_HEADERS_MAX) {
            return TS_ERR_MALFORMED;
        }
        has_host = has_host || (len == 4 && memcmp(p, "host", 4) == 0);
        ts_err err = ts_buf_append(out, p, len);
        if (err == TS_OK) {
            err = ts_buf_append_byte(out, ':');
        }
        if (err == TS_OK) {
            err = append_header_value(req, p, len, out);
        }
        if (err == TS_OK) {
            err = ts_buf_append_byte(out, '\n');
        }
        if (err != TS_OK) {
            return err;
        }
        p += len;
        if (*p == ';') {
            p++;
        }
    }
    return has_host ? TS_OK : TS_ERR_MALFORMED;
}

ts_err gw_sigv4_canonical_request(const struct gw_req *req, const struct gw_sigv4_auth *auth,
                                  struct ts_buf *out)
{
    ts_err err = ts_buf_printf(out, "%s\n", req->method);
    if (err == TS_OK) {
        err = gw_uri_encode(req->path, strlen(req->path), true, out);
    }
    if (err == TS_OK) {
        err = ts_buf_append_byte(out, '\n');
    }
    if (err == TS_OK) {
        err = append_canonical_query(req, auth->presigned, out);
    }
    if (err == TS_OK) {
        err = ts_buf_append_byte(out, '\n');
    }
    if (err == TS_OK) {
        err = append_canonical_headers(req, auth->signed_headers, out);
    }
    if (err == TS_OK) {
        err = ts_buf_printf(out, "\n%s\n%s", auth->signed_headers, auth->payload_hash);
    }
    return err;
}

ts_err gw_sigv4_string_to_sign(const struct gw_sigv4_auth *auth, const char *canonical,
                               struct ts_buf *out)
{
    uint8_t h[32];
    char hex[65];
    ts_err err = ts_sha256(canonical, strlen(canonical), h);
    if (err != TS_OK) {
        return err;
    }
    gw_hex(h, 32, hex);
    return ts_buf_printf(out, ALGORITHM "\n%s\n%s\n%s", auth->amz_date, auth->scope, hex);
}

ts_err gw_sigv4_signing_key(const char *secret, const char *date, const char *region,
                            const char *service, uint8_t key[32])
{
    char k0[4 + GW_SECRET_KEY_MAX + 1];
    int n = snprintf(k0, sizeof k0, "AWS4%s", secret);
    if (n < 0 || (size_t)n >= sizeof k0) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    uint8_t k[32];
    ts_err err = ts_hmac_sha256((const uint8_t *)k0, (size_t)n, date, strlen(date), k);
    if (err == TS_OK) {
        err = ts_hmac_sha256(k, 32, region, strlen(region), k);
    }
    if (err == TS_OK) {
        err = ts_hmac_sha256(k, 32, service, strlen(service), k);
    }
    if (err == TS_OK) {
        err = ts_hmac_sha256(k, 32, "aws4_request", 12, key);
    }
    ts_wipe(k0, sizeof k0);
    ts_wipe(k, sizeof k);
    return err;
}

ts_err gw_sigv4_sign(const struct gw_req *req, const struct gw_sigv4_auth *auth, const char *secret,
                     char sig_out[GW_SIG_HEX_SIZE])
{
    struct ts_buf canon, sts;
    ts_buf_init(&canon, GW_URI_MAX * 8);
    ts_buf_init(&sts, 1024);
    uint8_t key[32], sig[32];
    ts_err err = gw_sigv4_canonical_request(req, auth, &canon);
    if (err == TS_OK) {
        err = ts_buf_reserve(&canon, 0);
    }
    if (err == TS_OK) {
        err = gw_sigv4_string_to_sign(auth, (const char *)canon.data, &sts);
    }
    if (err == TS_OK) {
        err = gw_sigv4_signing_key(secret, auth->date, auth->region, auth->service, key);
    }
    if (err == TS_OK) {
        err = ts_hmac_sha256(key, 32, sts.data, sts.len, sig);
    }
    if (err == TS_OK) {
        gw_hex(sig, 32, sig_out);
    }
    ts_wipe(key, sizeof key);
    ts_buf_release(&canon);
    ts_buf_release(&sts);
    return err;
}

ts_err gw_sigv4_verify(const struct gw_req *req, const struct gw_sigv4_auth *auth,
                       const char *secret, int64_t now_s)
{
    int64_t t;
    if (gw_amz_date_parse(auth->amz_date, &t) != TS_OK) {
        return TS_ERR_MALFORMED;
    }
    if (auth->presigned) {
        if (now_s + GW_CLOCK_SKEW_S < t) {
            return TS_ERR_NOT_YET_VALID;
        }
        if (now_s > t + auth->expires_s) {
            return TS_ERR_EXPIRED;
        }
    } else if (t > now_s + GW_CLOCK_SKEW_S) {
        return TS_ERR_NOT_YET_VALID;
    } else if (t < now_s - GW_CLOCK_SKEW_S) {
        return TS_ERR_EXPIRED;
    }
    char sig[GW_SIG_HEX_SIZE];
    ts_err err = gw_sigv4_sign(req, auth, secret, sig);
    if (err != TS_OK) {
        return err;
    }
    return ts_ct_equal(sig, auth->signature, 64) ? TS_OK : TS_ERR_AUTH_FAILED;
}

ts_err gw_sigv4_chunk_signature(const uint8_t key[32], const char *amz_date, const char *scope,
                                const char *prev_sig, const uint8_t chunk_sha256[32],
                                char sig_out[GW_SIG_HEX_SIZE])
{
    char hex[65];
    gw_hex(chunk_sha256, 32, hex);
    char sts[512];
    int n = snprintf(sts, sizeof sts, ALGORITHM "-PAYLOAD\n%s\n%s\n%s\n" EMPTY_SHA256 "\n%s",
                     amz_date, scope, prev_sig, hex);
    if (n < 0 || (size_t)n >= sizeof sts) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    uint8_t sig[32];
    ts_err err = ts_hmac_sha256(key, 32, sts, (size_t)n, sig);
    if (err == TS_OK) {
        gw_hex(sig, 32, sig_out);
    }
    return err;
}
