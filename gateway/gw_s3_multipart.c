/*
 * Multipart uploads on top of an uplink without multipart support.
 *
 * State lives in the bucket under GW_MPU_PREFIX "<upload id>/" (hidden from listings):
 *   info           a 0-byte object whose metadata holds the final object's metadata and its key
 *   part-NNNNN     one object per part, streamed like a PutObject
 * CompleteMultipartUpload streams the listed parts in order into the final object (checking
 * each part's MD5 against the ETag the client lists), commits it, then deletes the state. The
 * data therefore crosses the gateway twice; a satellite-side "commit parts as segments of one
 * object" (Storj's part numbers in segment positions) would make completion free. See
 * docs/gateway.md.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/log.h"
#include "crypto/hash.h"
#include "gw_range.h"
#include "gw_s3.h"
#include "gw_xml.h"

#define MPU_KEY "tessera-gw:mpu-key"
#define ID_HEX 32

static bool valid_upload_id(const char *id)
{
    if (id == NULL || strlen(id) != ID_HEX) {
        return false;
    }
    for (int i = 0; i < ID_HEX; i++) {
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f'))) {
            return false;
        }
    }
    return true;
}

static void state_key(char *out, size_t cap, const char *id, const char *leaf)
{
    snprintf(out, cap, GW_MPU_PREFIX "%s/%s", id, leaf);
}

/* Stats the upload's info object and checks it belongs to ctx->key. false with the answer set. */
static bool load_upload(struct gw_ctx *ctx, const char *id, struct ul_object_info *info)
{
    char k[128];
    if (!valid_upload_id(id)) {
        gw_s3_error(ctx, GW_S3_NO_SUCH_UPLOAD, NULL);
        return false;
    }
    state_key(k, sizeof k, id, "info");
    ul_err err = ul_object_stat(ctx->cred->project, ctx->bucket, k, info);
    if (err == UL_ERR_NOT_FOUND) {
        struct ul_bucket_info bi;
        bool bucket = ul_bucket_stat(ctx->cred->project, ctx->bucket, &bi) == UL_OK;
        gw_s3_error(ctx, bucket ? GW_S3_NO_SUCH_UPLOAD : GW_S3_NO_SUCH_BUCKET, NULL);
        return false;
    }
    if (err != UL_OK) {
        gw_s3_error_ul(ctx, err);
        return false;
    }
    const char *key = gw_meta_get(info, MPU_KEY);
    if (key == NULL || strcmp(key, ctx->key) != 0) {
        ul_object_info_release(info);
        gw_s3_error(ctx, GW_S3_NO_SUCH_UPLOAD, NULL);
        return false;
    }
    return true;
}

/* Deletes every object of the upload's state (parts and info). */
static ul_err delete_state(struct gw_ctx *ctx, const char *id)
{
    char prefix[128];
    state_key(prefix, sizeof prefix, id, "");
    struct ul_list_options opts = {prefix, NULL, true, false};
    struct ul_object_iter *it = NULL;
    ul_err err = ul_object_list(ctx->cred->project, ctx->bucket, &opts, &it);
    ul_err first = UL_OK;
    while (err == UL_OK) {
        const struct ul_object_info *o = NULL;
        err = ul_object_iter_next(it, &o);
        if (err != UL_OK || o == NULL) {
            break;
        }
        ul_err d = ul_object_delete(ctx->cred->project, ctx->bucket, o->key);
        if (d != UL_OK && d != UL_ERR_NOT_FOUND && first == UL_OK) {
            first = d;
        }
    }
    ul_object_iter_free(it);
    return err != UL_OK ? err : first;
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
    struct ul_upload *up = NULL;
    uint8_t r[16];
    char id[ID_HEX + 1], k[128];
    gw_meta_init(&meta);
    ts_err terr = gw_meta_from_request(&meta, &ctx->req);
    if (terr == TS_OK) {
        terr = gw_meta_add(&meta, MPU_KEY, ctx->key);
    }
    if (terr == TS_OK) {
        terr = ts_random_bytes(r, sizeof r);
    }
    if (terr != TS_OK) {
        gw_s3_error(ctx, GW_S3_INVALID_ARGUMENT, NULL);
        goto done;
    }
    gw_hex(r, sizeof r, id);
    state_key(k, sizeof k, id, "info");
    struct ul_upload_options opts = {0};
    opts.metadata = meta.entries;
    opts.metadata_count = meta.count;
    ul_err err = ul_upload_begin(ctx->cred->project, ctx->bucket, k, &opts, &up);
    if (err == UL_OK) {
        err = ul_upload_commit(up, NULL);
        up = NULL;
    }
    if (err != UL_OK) {
        gw_s3_error_ul(ctx, err);
        goto done;
    }
    struct ts_buf xml;
    struct gw_xml x;
    ts_buf_init(&xml, 8192);
    gw_xml_begin(&x, &xml);
    gw_xml_open(&x, "InitiateMultipartUploadResult", GW_S3_XMLNS);
    gw_xml_text(&x, "Bucket", ctx->bucket);
    gw_xml_text(&x, "Key", ctx->key);
    gw_xml_text(&x, "UploadId", id);
    gw_xml_close(&x);
    answer_xml(ctx, &x, &xml);
    ts_buf_release(&xml);
done:
    ul_upload_abort(up);
    gw_meta_release(&meta);
}

/* ---- UploadPart ------------------------------------------------------------------------- */

struct part_state {
    struct ul_upload *upload;
};

static void part_begin(struct gw_ctx *ctx)
{
    const char *id = gw_req_query(&ctx->req, "uploadId");
    const char *pn = gw_req_query(&ctx->req, "partNumber");
    char *end = NULL;
    long n = pn ? strtol(pn, &end, 10) : 0;
    if (pn == NULL || *end != 0 || n < 1 || n > GW_PARTS_MAX) {
        gw_s3_error(ctx, GW_S3_INVALID_ARGUMENT,
                    "Part number must be an integer between 1 and "
                    "10000, inclusive");
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
    struct ul_object_info info = {0};
    if (!load_upload(ctx, id, &info)) {
        return;
    }
    ul_object_info_release(&info);
    struct part_state *st = calloc(1, sizeof *st);
    char leaf[32], k[128];
    if (st == NULL) {
        gw_s3_error(ctx, GW_S3_INTERNAL, NULL);
        return;
    }
    ctx->op_state = st;
    ctx->want_md5 = true;
    snprintf(leaf, sizeof leaf, "part-%05ld", n);
    state_key(k, sizeof k, id, leaf);
    ul_err err = ul_upload_begin(ctx->cred->project, ctx->bucket, k, NULL, &st->upload);
    if (err != UL_OK) {
        gw_s3_error_ul(ctx, err);
    }
}

static void part_data(struct gw_ctx *ctx, const uint8_t *data, size_t len)
{
    struct part_state *st = ctx->op_state;
    ul_err err = ul_upload_write(st->upload, data, len);
    if (err != UL_OK) {
        gw_s3_error_ul(ctx, err);
    }
}

static void part_finish(struct gw_ctx *ctx)
{
    struct part_state *st = ctx->op_state;
    ul_err err = ul_upload_commit(st->upload, NULL);
    st->upload = NULL;
    if (err != UL_OK) {
        gw_s3_error_ul(ctx, err);
        return;
    }
    char hex[33], etag[40];
    gw_hex(ctx->body_md5, 16, hex);
    snprintf(etag, sizeof etag, "\"%s\"", hex);
    gw_resp_header(&ctx->resp, "ETag", etag);
    ctx->resp.status = 200;
}

static void part_cleanup(struct gw_ctx *ctx)
{
    struct part_state *st = ctx->op_state;
    if (st != NULL) {
        ul_upload_abort(st->upload);
        free(st);
        ctx->op_state = NULL;
    }
}

/* ---- CompleteMultipartUpload ------------------------------------------------------------ */

struct part_ref {
    int number;
    uint8_t md5[16];
};

static bool parse_hex16(const char *s, size_t len, uint8_t out[16])
{
    if (len >= 2 && s[0] == '"' && s[len - 1] == '"') {
        s++;
        len -= 2;
    }
    if (len != 32) {
        return false;
    }
    for (size_t i = 0; i < 16; i++) {
        char h[3] = {s[2 * i], s[2 * i + 1], 0};
        char *end = NULL;
        long v = strtol(h, &end, 16);
        if (*end != 0 || h[0] == '-' || h[0] == '+' || h[0] == ' ') {
            return false;
        }
        out[i] = (uint8_t)v;
    }
    return true;
}

/* Parses <Part><PartNumber/><ETag/></Part>... into parts (ascending). */
static bool parse_parts(struct gw_ctx *ctx, struct part_ref *parts, size_t *count)
{
    const char *doc = (const char *)ctx->body.data, *in;
    size_t len = ctx->body.len, pos = 0, in_len;
    struct ts_buf tmp;
    ts_buf_init(&tmp, 256);
    *count = 0;
    ts_err err;
    while (doc && (err = gw_xml_find(doc, len, "Part", &pos, &in, &in_len)) == TS_OK) {
        const char *v;
        size_t vlen, p1 = 0, p2 = 0;
        if (*count == GW_PARTS_MAX || gw_xml_find(in, in_len, "PartNumber", &p1, &v, &vlen) ||
            vlen == 0 || vlen > 5) {
            goto malformed;
        }
        char num[8];
        memcpy(num, v, vlen);
        num[vlen] = 0;
        char *end = NULL;
        long n = strtol(num, &end, 10);
        ts_buf_clear(&tmp);
        if (*end != 0 || n < 1 || n > GW_PARTS_MAX ||
            gw_xml_find(in, in_len, "ETag", &p2, &v, &vlen) || gw_xml_unescape(v, vlen, &tmp)) {
            goto malformed;
        }
        if (*count > 0 && parts[*count - 1].number >= n) {
            ts_buf_release(&tmp);
            gw_s3_error(ctx, GW_S3_INVALID_PART_ORDER, NULL);
            return false;
        }
        parts[*count].number = (int)n;
        if (!parse_hex16((const char *)tmp.data, tmp.len, parts[*count].md5)) {
            ts_buf_release(&tmp);
            gw_s3_error(ctx, GW_S3_INVALID_PART, "A part's ETag is not valid.");
            return false;
        }
        (*count)++;
    }
    if (doc == NULL || err != TS_ERR_NOT_FOUND || *count == 0) {
        goto malformed;
    }
    ts_buf_release(&tmp);
    return true;
malformed:
    ts_buf_release(&tmp);
    gw_s3_error(ctx, GW_S3_MALFORMED_XML, NULL);
    return false;
}

/* Checks every listed part exists and all but the last reach GW_PART_SIZE_MIN. */
static bool check_parts(struct gw_ctx *ctx, const char *id, const struct part_ref *parts,
                        size_t count)
{
    for (size_t i = 0; i < count; i++) {
        char leaf[32], k[128];
        struct ul_object_info pi = {0};
        snprintf(leaf, sizeof leaf, "part-%05d", parts[i].number);
        state_key(k, sizeof k, id, leaf);
        ul_err err = ul_object_stat(ctx->cred->project, ctx->bucket, k, &pi);
        uint64_t size = pi.size;
        ul_object_info_release(&pi);
        if (err == UL_ERR_NOT_FOUND) {
            gw_s3_error(ctx, GW_S3_INVALID_PART,
                        "One or more of the specified parts could not "
                        "be found.");
            return false;
        }
        if (err != UL_OK) {
            gw_s3_error_ul(ctx, err);
            return false;
        }
        if (i + 1 < count && size < GW_PART_SIZE_MIN) {
            gw_s3_error(ctx, GW_S3_ENTITY_TOO_SMALL,
                        "Your proposed upload is smaller than the "
                        "minimum allowed object size.");
            return false;
        }
    }
    return true;
}

/* Streams the parts into the final object, verifying each part's MD5; commits. */
static bool assemble(struct gw_ctx *ctx, const char *id, const struct part_ref *parts, size_t count,
                     const struct gw_meta *meta, struct ul_object_info *out)
{
    struct ul_upload_options opts = {0};
    opts.metadata = meta->entries;
    opts.metadata_count = meta->count;
    struct ul_upload *up = NULL;
    ul_err err = ul_upload_begin(ctx->cred->project, ctx->bucket, ctx->key, &opts, &up);
    if (err != UL_OK) {
        gw_s3_error_ul(ctx, err);
        return false;
    }
    for (size_t i = 0; i < count; i++) {
        char leaf[32], k[128];
        uint8_t md5[16];
        struct gw_md5 m;
        gw_md5_init(&m);
        snprintf(leaf, sizeof leaf, "part-%05d", parts[i].number);
        state_key(k, sizeof k, id, leaf);
        if (!gw_copy_into(ctx, ctx->cred->project, ctx->bucket, k, up, &m)) {
            ul_upload_abort(up);
            return false;
        }
        gw_md5_final(&m, md5);
        if (memcmp(md5, parts[i].md5, 16) != 0) {
            ul_upload_abort(up);
            gw_s3_error(ctx, GW_S3_INVALID_PART, "A part's ETag does not match its data.");
            return false;
        }
    }
    err = ul_upload_commit(up, out);
    if (err != UL_OK) {
        gw_s3_error_ul(ctx, err);
        return false;
    }
    return true;
}

static void complete_answer(struct gw_ctx *ctx, const char *etag)
{
    struct ts_buf xml;
    struct gw_xml x;
    char loc[UL_OBJECT_KEY_MAX + 128], quoted[96];
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
    const char *id = gw_req_query(&ctx->req, "uploadId");
    struct ul_object_info info = {0}, out = {0};
    struct gw_meta meta;
    gw_meta_init(&meta);
    struct part_ref *parts = calloc(GW_PARTS_MAX, sizeof *parts);
    size_t count = 0;
    if (parts == NULL) {
        gw_s3_error(ctx, GW_S3_INTERNAL, NULL);
        goto done;
    }
    if (!load_upload(ctx, id, &info) || !parse_parts(ctx, parts, &count) ||
        !check_parts(ctx, id, parts, count)) {
        goto done;
    }
    /* S3's multipart ETag: MD5 of the concatenated part MD5s, then "-<parts>" */
    struct gw_md5 m;
    uint8_t d[16];
    char hex[33], etag[48];
    gw_md5_init(&m);
    for (size_t i = 0; i < count; i++) {
        gw_md5_update(&m, parts[i].md5, 16);
    }
    gw_md5_final(&m, d);
    gw_hex(d, 16, hex);
    snprintf(etag, sizeof etag, "%s-%zu", hex, count);
    for (size_t i = 0; i < info.metadata_count; i++) {
        const char *k = info.metadata[i].key;
        if (strcmp(k, MPU_KEY) != 0 && strcmp(k, GW_META_ETAG) != 0 &&
            gw_meta_add(&meta, k, info.metadata[i].value) != TS_OK) {
            gw_s3_error(ctx, GW_S3_INTERNAL, NULL);
            goto done;
        }
    }
    if (gw_meta_add(&meta, GW_META_ETAG, etag) != TS_OK) {
        gw_s3_error(ctx, GW_S3_INTERNAL, NULL);
        goto done;
    }
    if (!assemble(ctx, id, parts, count, &meta, &out)) {
        goto done;
    }
    ul_err err = delete_state(ctx, id);
    if (err != UL_OK) {
        ts_log_warn("gw.multipart", "parts left behind upload=%s err=%s", id, ul_errname(err));
    }
    complete_answer(ctx, etag);
done:
    free(parts);
    gw_meta_release(&meta);
    ul_object_info_release(&info);
    ul_object_info_release(&out);
}

static void nothing(struct gw_ctx *ctx)
{
    (void)ctx;
}

/* ---- AbortMultipartUpload --------------------------------------------------------------- */

static void abort_upload(struct gw_ctx *ctx)
{
    const char *id = gw_req_query(&ctx->req, "uploadId");
    struct ul_object_info info = {0};
    if (!load_upload(ctx, id, &info)) {
        return;
    }
    ul_object_info_release(&info);
    ul_err err = delete_state(ctx, id);
    if (err != UL_OK) {
        gw_s3_error_ul(ctx, err);
        return;
    }
    ctx->resp.status = 204;
}

/* ---- ListParts -------------------------------------------------------------------------- */

static int part_number_of(const char *key)
{
    const char *leaf = strrchr(key, '/');
    if (leaf == NULL || strncmp(leaf + 1, "part-", 5) != 0) {
        return 0;
    }
    char *end = NULL;
    long n = strtol(leaf + 6, &end, 10);
    return *end == 0 && n >= 1 && n <= GW_PARTS_MAX ? (int)n : 0;
}

struct listed_part {
    int number;
    uint64_t size;
    int64_t created_s;
    char etag[80];
};

static int listed_cmp(const void *a, const void *b)
{
    return ((const struct listed_part *)a)->number - ((const struct listed_part *)b)->number;
}

static void list_parts(struct gw_ctx *ctx)
{
    const char *id = gw_req_query(&ctx->req, "uploadId");
    const char *marker_s = gw_req_query(&ctx->req, "part-number-marker");
    const char *max_s = gw_req_query(&ctx->req, "max-parts");
    long marker = marker_s ? strtol(marker_s, NULL, 10) : 0;
    long max = max_s ? strtol(max_s, NULL, 10) : 1000;
    max = max < 0 ? 0 : max > 1000 ? 1000 : max;
    struct ul_object_info info = {0};
    if (!load_upload(ctx, id, &info)) {
        return;
    }
    ul_object_info_release(&info);
    struct listed_part *parts = calloc(GW_PARTS_MAX, sizeof *parts);
    size_t n = 0;
    char prefix[128];
    state_key(prefix, sizeof prefix, id, "");
    struct ul_list_options opts = {prefix, NULL, true, true};
    struct ul_object_iter *it = NULL;
    ul_err err = parts ? ul_object_list(ctx->cred->project, ctx->bucket, &opts, &it) : UL_ERR_NOMEM;
    while (err == UL_OK) {
        const struct ul_object_info *o = NULL;
        err = ul_object_iter_next(it, &o);
        if (err != UL_OK || o == NULL) {
            break;
        }
        int num = part_number_of(o->key);
        if (num > marker && n < GW_PARTS_MAX) {
            parts[n].number = num;
            parts[n].size = o->size;
            parts[n].created_s = o->created_s;
            gw_object_etag(o, parts[n].etag);
            n++;
        }
    }
    ul_object_iter_free(it);
    if (err != UL_OK) {
        gw_s3_error_ul(ctx, err);
        free(parts);
        return;
    }
    qsort(parts, n, sizeof *parts, listed_cmp);
    size_t shown = n < (size_t)max ? n : (size_t)max;
    struct ts_buf xml;
    struct gw_xml x;
    ts_buf_init(&xml, 4u * 1024 * 1024);
    gw_xml_begin(&x, &xml);
    gw_xml_open(&x, "ListPartsResult", GW_S3_XMLNS);
    gw_xml_text(&x, "Bucket", ctx->bucket);
    gw_xml_text(&x, "Key", ctx->key);
    gw_xml_text(&x, "UploadId", id);
    gw_xml_u64(&x, "PartNumberMarker", (uint64_t)marker);
    gw_xml_u64(&x, "NextPartNumberMarker", shown ? (uint64_t)parts[shown - 1].number : 0);
    gw_xml_u64(&x, "MaxParts", (uint64_t)max);
    gw_xml_bool(&x, "IsTruncated", shown < n);
    gw_xml_text(&x, "StorageClass", "STANDARD");
    for (size_t i = 0; i < shown; i++) {
        char date[48];
        gw_iso_date_format(parts[i].created_s, date);
        gw_xml_open(&x, "Part", NULL);
        gw_xml_u64(&x, "PartNumber", (uint64_t)parts[i].number);
        gw_xml_text(&x, "LastModified", date);
        gw_xml_text(&x, "ETag", parts[i].etag);
        gw_xml_u64(&x, "Size", parts[i].size);
        gw_xml_close(&x);
    }
    gw_xml_close(&x);
    answer_xml(ctx, &x, &xml);
    ts_buf_release(&xml);
    free(parts);
}

/* ---- ListMultipartUploads --------------------------------------------------------------- */

static void upload_entry(struct gw_ctx *ctx, struct gw_xml *x, const char *dir, const char *prefix)
{
    char k[128], id[ID_HEX + 1];
    size_t plen = strlen(GW_MPU_PREFIX);
    if (strlen(dir) != plen + ID_HEX + 1) {
        return;
    }
    memcpy(id, dir + plen, ID_HEX);
    id[ID_HEX] = 0;
    if (!valid_upload_id(id)) {
        return;
    }
    state_key(k, sizeof k, id, "info");
    struct ul_object_info info = {0};
    if (ul_object_stat(ctx->cred->project, ctx->bucket, k, &info) != UL_OK) {
        return;
    }
    const char *key = gw_meta_get(&info, MPU_KEY);
    if (key != NULL && strncmp(key, prefix, strlen(prefix)) == 0) {
        char date[48];
        gw_iso_date_format(info.created_s, date);
        gw_xml_open(x, "Upload", NULL);
        gw_xml_text(x, "Key", key);
        gw_xml_text(x, "UploadId", id);
        gw_xml_open(x, "Initiator", NULL);
        gw_xml_text(x, "ID", ctx->cred->access_key_id);
        gw_xml_text(x, "DisplayName", "tessera");
        gw_xml_close(x);
        gw_xml_open(x, "Owner", NULL);
        gw_xml_text(x, "ID", ctx->cred->access_key_id);
        gw_xml_text(x, "DisplayName", "tessera");
        gw_xml_close(x);
        gw_xml_text(x, "StorageClass", "STANDARD");
        gw_xml_text(x, "Initiated", date);
        gw_xml_close(x);
    }
    ul_object_info_release(&info);
}

static void list_uploads(struct gw_ctx *ctx)
{
    const char *prefix = gw_req_query(&ctx->req, "prefix");
    struct ul_bucket_info bi;
    ul_err err = ul_bucket_stat(ctx->cred->project, ctx->bucket, &bi);
    if (err != UL_OK) {
        gw_s3_error_ul(ctx, err);
        return;
    }
    struct ts_buf xml;
    struct gw_xml x;
    ts_buf_init(&xml, 8u * 1024 * 1024);
    gw_xml_begin(&x, &xml);
    gw_xml_open(&x, "ListMultipartUploadsResult", GW_S3_XMLNS);
    gw_xml_text(&x, "Bucket", ctx->bucket);
    gw_xml_text(&x, "KeyMarker", "");
    gw_xml_text(&x, "UploadIdMarker", "");
    gw_xml_u64(&x, "MaxUploads", GW_LIST_KEYS_MAX);
    gw_xml_bool(&x, "IsTruncated", false);
    struct ul_list_options opts = {GW_MPU_PREFIX, NULL, false, false};
    struct ul_object_iter *it = NULL;
    err = ul_object_list(ctx->cred->project, ctx->bucket, &opts, &it);
    for (size_t n = 0; err == UL_OK && n < GW_LIST_KEYS_MAX; n++) {
        const struct ul_object_info *o = NULL;
        err = ul_object_iter_next(it, &o);
        if (err != UL_OK || o == NULL) {
            break;
        }
        if (o->is_prefix) {
            upload_entry(ctx, &x, o->key, prefix ? prefix : "");
        }
    }
    ul_object_iter_free(it);
    gw_xml_close(&x);
    if (err != UL_OK) {
        gw_s3_error_ul(ctx, err);
    } else {
        answer_xml(ctx, &x, &xml);
    }
    ts_buf_release(&xml);
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
