/*
 * Public share links and the gateway's own endpoints.
 *
 *   GET|HEAD /s/<access key id>/<bucket>/<key>     the object (content type, Range, conditionals)
 *   GET      /s/<access key id>/<bucket>/<prefix/> an HTML listing of that prefix
 *   GET      /-/health                             "ok" once the gateway serves (readiness)
 *   GET      /-/metrics                            request and byte counters (text)
 *   POST     /-/register  {"access_grant": "...", "public": true}   (with --allow-register)
 *
 * A link works only for credentials registered as public (`tessera-gateway register --public`);
 * it needs no signature: the access key ID in the URL is the capability, which is why key IDs
 * carry 160 random bits. Links only ever read and list, whatever the grant allows.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/log.h"
#include "gw_s3.h"
#include "gw_xml.h"

static void plain(struct gw_ctx *ctx, int status, const char *type, const char *text)
{
    gw_resp_reset(&ctx->resp);
    ctx->resp.status = status;
    gw_resp_header(&ctx->resp, "Content-Type", type);
    if (ts_buf_append_str(&ctx->resp.body, text) != TS_OK) {
        ctx->resp.status = 500;
    }
}

/* ---- HTML listing ----------------------------------------------------------------------- */

struct name {
    char *text;
    bool dir;
    uint64_t size;
};

static int name_cmp(const void *a, const void *b)
{
    return strcmp(((const struct name *)a)->text, ((const struct name *)b)->text);
}

static ts_err html_item(struct ts_buf *out, const char *leaf, const char *suffix)
{
    struct ts_buf href;
    ts_buf_init(&href, GW_URI_MAX);
    ts_err err = gw_uri_encode(leaf, strlen(leaf), true, &href);
    if (err == TS_OK) {
        err = ts_buf_reserve(&href, 0);
    }
    if (err == TS_OK) {
        err = ts_buf_append_str(out, "<li><a href=\"");
    }
    if (err == TS_OK) {
        err = gw_xml_escape(out, (const char *)href.data);
    }
    if (err == TS_OK) {
        err = ts_buf_append_str(out, "\">");
    }
    if (err == TS_OK) {
        err = gw_xml_escape(out, leaf);
    }
    if (err == TS_OK) {
        err = ts_buf_printf(out, "</a>%s</li>\n", suffix);
    }
    ts_buf_release(&href);
    return err;
}

static ul_err collect(struct ul_project *p, const char *bucket, const char *prefix,
                      struct name **out, size_t *count)
{
    struct ul_list_options opts = {prefix, NULL, false, false};
    struct ul_object_iter *it = NULL;
    size_t cap = 0;
    *out = NULL;
    *count = 0;
    ul_err err = ul_object_list(p, bucket, &opts, &it);
    while (err == UL_OK && *count < GW_LIST_SCAN_MAX) {
        const struct ul_object_info *o = NULL;
        err = ul_object_iter_next(it, &o);
        if (err != UL_OK || o == NULL) {
            break;
        }
        if (*count == cap) {
            cap = cap ? cap * 2 : 64;
            struct name *n = realloc(*out, cap * sizeof *n);
            if (n == NULL) {
                err = UL_ERR_NOMEM;
                break;
            }
            *out = n;
        }
        struct name *n = &(*out)[*count];
        n->text = strdup(o->key + strlen(prefix));
        n->dir = o->is_prefix;
        n->size = o->size;
        if (n->text == NULL) {
            err = UL_ERR_NOMEM;
            break;
        }
        (*count)++;
    }
    ul_object_iter_free(it);
    if (err == UL_OK && *count > 1) {
        qsort(*out, *count, sizeof **out, name_cmp);
    }
    return err;
}

static void html_listing(struct gw_ctx *ctx, struct ul_project *p, const char *bucket,
                         const char *prefix)
{
    struct name *names = NULL;
    size_t count = 0;
    ul_err uerr = collect(p, bucket, prefix, &names, &count);
    if (uerr != UL_OK) {
        gw_s3_error_ul(ctx, uerr);
        goto done;
    }
    if (count == 0 && prefix[0] != 0) {
        plain(ctx, 404, "text/plain; charset=utf-8", "Not found\n");
        goto done;
    }
    struct ts_buf *out = &ctx->resp.body;
    ts_err err = ts_buf_append_str(out, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
                                        "<title>");
    if (err == TS_OK) {
        err = gw_xml_escape(out, bucket);
    }
    if (err == TS_OK) {
        err = ts_buf_append_str(out, "/");
    }
    if (err == TS_OK) {
        err = gw_xml_escape(out, prefix);
    }
    if (err == TS_OK) {
        err = ts_buf_append_str(out, "</title></head><body><ul>\n");
    }
    if (err == TS_OK && prefix[0] != 0) {
        err = ts_buf_append_str(out, "<li><a href=\"../\">../</a></li>\n");
    }
    for (size_t i = 0; i < count && err == TS_OK; i++) {
        char size[48] = "";
        if (!names[i].dir) {
            snprintf(size, sizeof size, " (%llu bytes)", (unsigned long long)names[i].size);
        }
        err = html_item(out, names[i].text, size);
    }
    if (err == TS_OK) {
        err = ts_buf_append_str(out, "</ul></body></html>\n");
    }
    if (err != TS_OK) {
        plain(ctx, 500, "text/plain", "listing too large\n");
    } else {
        ctx->resp.status = 200;
        gw_resp_header(&ctx->resp, "Content-Type", "text/html; charset=utf-8");
    }
done:
    for (size_t i = 0; i < count; i++) {
        free(names[i].text);
    }
    free(names);
}

/* ---- /s/<key id>/<bucket>/<key> --------------------------------------------------------- */

static void linkshare(struct gw_ctx *ctx)
{
    bool head = strcmp(ctx->req.method, "HEAD") == 0;
    if (!head && strcmp(ctx->req.method, "GET") != 0) {
        plain(ctx, 405, "text/plain", "Method not allowed\n");
        return;
    }
    const char *p = ctx->req.path + 3;
    const char *s1 = strchr(p, '/');
    const char *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
    char akid[GW_ACCESS_KEY_ID_MAX + 1];
    if (s1 == NULL || s2 == NULL || s1 == p || s2 == s1 + 1 ||
        (size_t)(s1 - p) > GW_ACCESS_KEY_ID_MAX) {
        plain(ctx, 404, "text/plain", "Not found\n");
        return;
    }
    memcpy(akid, p, (size_t)(s1 - p));
    akid[s1 - p] = 0;
    const struct gw_cred *cred = NULL;
    ts_err err = gw_creds_get(ctx->srv->creds, akid, &cred);
    if (err != TS_OK || !cred->public_link) {
        /* unknown and private keys look the same from outside */
        plain(ctx, 404, "text/plain", "Not found\n");
        return;
    }
    ctx->cred = cred;
    ctx->bucket = strndup(s1 + 1, (size_t)(s2 - s1 - 1));
    const char *key = s2 + 1;
    if (ctx->bucket == NULL) {
        plain(ctx, 500, "text/plain", "out of memory\n");
        return;
    }
    if (*key == 0 || key[strlen(key) - 1] == '/') {
        html_listing(ctx, cred->project, ctx->bucket, key);
        return;
    }
    ctx->key = strdup(key);
    if (ctx->key == NULL) {
        plain(ctx, 500, "text/plain", "out of memory\n");
        return;
    }
    gw_object_serve(ctx, cred->project, ctx->bucket, key, head);
}

/* ---- /-/health and /-/register ---------------------------------------------------------- */

static void health(struct gw_ctx *ctx)
{
    plain(ctx, 200, "text/plain", "ok\n");
}

/* Prometheus text format: totals only, nothing that names a tenant, bucket or key. */
static void metrics(struct gw_ctx *ctx)
{
    const struct {
        const char *name;
        _Atomic uint64_t *v;
    } rows[] = {{"tessera_gateway_requests_total", &gw_metrics.requests},
                {"tessera_gateway_http_in_bytes_total", &gw_metrics.http_in_bytes},
                {"tessera_gateway_http_out_bytes_total", &gw_metrics.http_out_bytes},
                {"tessera_gateway_uplink_up_bytes_total", &gw_metrics.uplink_up_bytes},
                {"tessera_gateway_uplink_down_bytes_total", &gw_metrics.uplink_down_bytes}};
    char text[1024];
    size_t n = 0;
    for (size_t i = 0; i < TS_ARRAY_LEN(rows) && n < sizeof text; i++) {
        int w = snprintf(text + n, sizeof text - n, "%s %" PRIu64 "\n", rows[i].name,
                         (uint64_t)atomic_load_explicit(rows[i].v, memory_order_relaxed));
        n += w > 0 ? (size_t)w : 0;
    }
    plain(ctx, 200, "text/plain; version=0.0.4", text);
}

/* Finds "name" : "value" or "name": true in a flat JSON object; value copied into out. */
static bool json_string(const char *doc, const char *name, struct ts_buf *out)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\"", name);
    const char *p = strstr(doc, pat);
    if (p == NULL) {
        return false;
    }
    p += strlen(pat);
    while (*p == ' ' || *p == ':' || *p == '\t' || *p == '\n' || *p == '\r') {
        p++;
    }
    if (*p != '"') {
        return false;
    }
    const char *end = strchr(p + 1, '"');
    return end != NULL && ts_buf_append(out, p + 1, (size_t)(end - p - 1)) == TS_OK &&
           ts_buf_reserve(out, 0) == TS_OK;
}

static bool json_true(const char *doc, const char *name)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\"", name);
    const char *p = strstr(doc, pat);
    if (p == NULL) {
        return false;
    }
    p += strlen(pat);
    while (*p == ' ' || *p == ':' || *p == '\t') {
        p++;
    }
    return strncmp(p, "true", 4) == 0;
}

/* The base of this gateway's share links: --public-url, else http:// and the Host the client
 * used (the client reached us through it). "" when neither is usable. */
static void share_base(const struct gw_ctx *ctx, char *out, size_t cap)
{
    const char *host = gw_req_header(&ctx->req, "host");
    out[0] = 0;
    if (ctx->srv->public_url != NULL) {
        snprintf(out, cap, "%s", ctx->srv->public_url);
    } else if (host != NULL && strcspn(host, "\"\\<> ") == strlen(host)) {
        snprintf(out, cap, "http://%s", host);
    }
    size_t n = strlen(out);
    if (n > 0 && out[n - 1] == '/') {
        out[n - 1] = 0;
    }
}

static void register_finish(struct gw_ctx *ctx)
{
    if (!ctx->srv->allow_register) {
        plain(ctx, 403, "text/plain", "registration is disabled (start with --allow-register)\n");
        return;
    }
    struct ts_buf grant;
    ts_buf_init(&grant, TS_ACCESS_GRANT_TEXT_MAX + 1);
    const char *doc = ctx->body.data ? (const char *)ctx->body.data : "";
    char akid[GW_ACCESS_KEY_ID_MAX + 1], secret[GW_SECRET_KEY_MAX + 1], json[1024], base[512];
    if (!json_string(doc, "access_grant", &grant)) {
        plain(ctx, 400, "text/plain", "expected {\"access_grant\": \"...\", \"public\": bool}\n");
    } else {
        bool pub = json_true(doc, "public");
        ts_err err = gw_creds_register(ctx->srv->creds, (const char *)grant.data, pub, NULL, NULL,
                                       akid, secret);
        if (err != TS_OK) {
            plain(ctx, err == TS_ERR_MALFORMED ? 400 : 500, "text/plain",
                  err == TS_ERR_MALFORMED ? "not an access grant\n" : "registration failed\n");
        } else {
            share_base(ctx, base, sizeof base);
            int n = snprintf(json, sizeof json,
                             "{\"access_key_id\":\"%s\",\"secret_key\":\"%s\",\"public\":%s", akid,
                             secret, pub ? "true" : "false");
            if (pub && base[0] != 0 && n > 0 && (size_t)n < sizeof json) {
                n += snprintf(json + n, sizeof json - (size_t)n, ",\"share_url\":\"%s/s/%s/\"",
                              base, akid);
            }
            if (n > 0 && (size_t)n < sizeof json) {
                snprintf(json + n, sizeof json - (size_t)n, "}\n");
            }
            plain(ctx, 200, "application/json", json);
            ts_log_info("gw.register", "registered key_id=%s public=%d", akid, pub);
        }
        ts_wipe(secret, sizeof secret);
        ts_wipe(json, sizeof json);
    }
    ts_buf_release_secret(&grant);
}

static void register_begin(struct gw_ctx *ctx)
{
    if (strcmp(ctx->req.method, "POST") != 0) {
        plain(ctx, 405, "text/plain", "use POST\n");
    }
}

const struct gw_op gw_op_linkshare = {"LinkShare", GW_BODY_NONE, linkshare, NULL, NULL, NULL};
const struct gw_op gw_op_metrics = {"Metrics", GW_BODY_NONE, metrics, NULL, NULL, NULL};
const struct gw_op gw_op_health = {"Health", GW_BODY_NONE, health, NULL, NULL, NULL};
const struct gw_op gw_op_register = {"Register", GW_BODY_BUFFER,  register_begin,
                                     NULL,       register_finish, NULL};
