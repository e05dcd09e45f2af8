/* The request model: URI splitting, percent-coding, header and query lookups, responses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/base.h"
#include "base/log.h"
#include "gw_req.h"

void gw_req_init(struct gw_req *req, const char *method)
{
    memset(req, 0, sizeof *req);
    snprintf(req->method, sizeof req->method, "%s", method);
}

static void params_free(struct gw_param *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(p[i].key);
        free(p[i].value);
        p[i].key = NULL;
        p[i].value = NULL;
    }
}

void gw_req_release(struct gw_req *req)
{
    free(req->raw_path);
    free(req->path);
    req->raw_path = NULL;
    req->path = NULL;
    params_free(req->query, req->query_count);
    params_free(req->headers, req->header_count);
    req->query_count = 0;
    req->header_count = 0;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

ts_err gw_uri_decode(const char *in, size_t len, bool plus_is_space, struct ts_buf *out)
{
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == '%') {
            if (i + 2 >= len) {
                return TS_ERR_MALFORMED;
            }
            int hi = hex_value(in[i + 1]);
            int lo = hex_value(in[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                return TS_ERR_MALFORMED;
            }
            c = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        } else if (c == 0) {
            return TS_ERR_MALFORMED;
        }
        ts_err err = ts_buf_append_byte(out, (uint8_t)c);
        if (err != TS_OK) {
            return err;
        }
    }
    /* A buffer that stayed empty still reads as "". */
    return ts_buf_reserve(out, 0);
}

static bool unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

ts_err gw_uri_encode(const char *s, size_t len, bool keep_slash, struct ts_buf *out)
{
    static const char hex[] = "0123456789ABCDEF";
    ts_err err = ts_buf_reserve(out, len);
    for (size_t i = 0; i < len && err == TS_OK; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c) || (keep_slash && c == '/')) {
            err = ts_buf_append_byte(out, c);
        } else {
            char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
            err = ts_buf_append(out, esc, 3);
        }
    }
    return err;
}

static ts_err decode_dup(const char *in, size_t len, bool plus_is_space, char **out)
{
    struct ts_buf b;
    ts_buf_init(&b, GW_URI_MAX);
    ts_err err = gw_uri_decode(in, len, plus_is_space, &b);
    if (err != TS_OK) {
        ts_buf_release(&b);
        return err;
    }
    *out = (char *)ts_buf_detach(&b, NULL);
    return *out == NULL ? TS_ERR_NOMEM : TS_OK;
}

static ts_err parse_query(struct gw_req *req, const char *q, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && q[end] != '&') {
            end++;
        }
        if (end > i) {
            if (req->query_count == GW_QUERY_PARAMS_MAX) {
                return TS_ERR_TOO_LARGE;
            }
            const char *eq = memchr(q + i, '=', end - i);
            size_t klen = eq ? (size_t)(eq - (q + i)) : end - i;
            struct gw_param *p = &req->query[req->query_count];
            ts_err err = decode_dup(q + i, klen, true, &p->key);
            if (err == TS_OK) {
                err = eq ? decode_dup(eq + 1, (size_t)(q + end - eq - 1), true, &p->value)
                         : decode_dup("", 0, true, &p->value);
            }
            req->query_count++;
            if (err != TS_OK) {
                return err;
            }
        }
        i = end + 1;
    }
    return TS_OK;
}

ts_err gw_req_parse_uri(struct gw_req *req, const char *uri)
{
    size_t len = strnlen(uri, GW_URI_MAX + 1);
    if (len > GW_URI_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    if (len == 0 || uri[0] != '/') {
        return TS_ERR_MALFORMED;
    }
    const char *qm = memchr(uri, '?', len);
    size_t plen = qm ? (size_t)(qm - uri) : len;
    req->raw_path = strndup(uri, plen);
    if (req->raw_path == NULL) {
        return TS_ERR_NOMEM;
    }
    ts_err err = decode_dup(uri, plen, false, &req->path);
    if (err == TS_OK && qm != NULL) {
        err = parse_query(req, qm + 1, len - plen - 1);
    }
    return err;
}

ts_err gw_req_add_header(struct gw_req *req, const char *name, const char *value)
{
    if (req->header_count == GW_REQUEST_HEADERS_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    struct gw_param *p = &req->headers[req->header_count];
    p->key = strdup(name);
    p->value = strdup(value);
    if (p->key == NULL || p->value == NULL) {
        free(p->key);
        free(p->value);
        p->key = p->value = NULL;
        return TS_ERR_NOMEM;
    }
    for (char *c = p->key; *c; c++) {
        if (*c >= 'A' && *c <= 'Z') {
            *c = (char)(*c - 'A' + 'a');
        }
    }
    req->header_count++;
    return TS_OK;
}

const char *gw_req_header(const struct gw_req *req, const char *name)
{
    for (size_t i = 0; i < req->header_count; i++) {
        if (strcasecmp(req->headers[i].key, name) == 0) {
            return req->headers[i].value;
        }
    }
    return NULL;
}

const char *gw_req_query(const struct gw_req *req, const char *key)
{
    for (size_t i = 0; i < req->query_count; i++) {
        if (strcmp(req->query[i].key, key) == 0) {
            return req->query[i].value;
        }
    }
    return NULL;
}

bool gw_req_has_query(const struct gw_req *req, const char *key)
{
    return gw_req_query(req, key) != NULL;
}

/* ------------------------------------------------------------------------------------------ */

void gw_resp_init(struct gw_resp *resp)
{
    memset(resp, 0, sizeof *resp);
    ts_buf_init(&resp->body, GW_XML_BODY_MAX * 4);
}

void gw_resp_reset(struct gw_resp *resp)
{
    params_free(resp->headers, resp->header_count);
    resp->header_count = 0;
    ts_buf_clear(&resp->body);
    resp->status = 0;
    resp->error_code = NULL;
    resp->has_head_length = false;
    resp->head_length = 0;
}

void gw_resp_release(struct gw_resp *resp)
{
    gw_resp_reset(resp);
    ts_buf_release(&resp->body);
    if (resp->stream.free != NULL) {
        resp->stream.free(resp->stream.cls);
    }
    memset(&resp->stream, 0, sizeof resp->stream);
}

void gw_resp_header(struct gw_resp *resp, const char *name, const char *value)
{
    for (size_t i = 0; i < resp->header_count; i++) {
        if (strcasecmp(resp->headers[i].key, name) == 0) {
            char *v = strdup(value);
            if (v != NULL) {
                free(resp->headers[i].value);
                resp->headers[i].value = v;
            }
            return;
        }
    }
    if (resp->header_count == GW_RESP_HEADERS_MAX) {
        ts_log_warn("gw", "response header dropped name=%s", name);
        return;
    }
    struct gw_param *p = &resp->headers[resp->header_count];
    p->key = strdup(name);
    p->value = strdup(value);
    if (p->key == NULL || p->value == NULL) {
        free(p->key);
        free(p->value);
        p->key = p->value = NULL;
        return;
    }
    resp->header_count++;
}
