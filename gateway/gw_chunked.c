/* aws-chunked decoder: framing, streaming delivery, chained chunk signatures. */
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "crypto/hash.h"
#include "gw_chunked.h"

enum { ST_LINE, ST_DATA, ST_DATA_CR, ST_DATA_LF, ST_FINAL_LINE, ST_DONE, ST_FAILED };

ts_err gw_chunked_init(struct gw_chunked *c, const uint8_t key[32], const char *amz_date,
                       const char *scope, const char *seed_sig, gw_chunk_sink sink, void *sink_cls)
{
    memset(c, 0, sizeof *c);
    memcpy(c->key, key, 32);
    snprintf(c->amz_date, sizeof c->amz_date, "%s", amz_date);
    snprintf(c->scope, sizeof c->scope, "%s", scope);
    snprintf(c->prev_sig, sizeof c->prev_sig, "%s", seed_sig);
    c->sink = sink;
    c->sink_cls = sink_cls;
    c->state = ST_LINE;
    return ts_sha256_ctx_new(&c->sha);
}

void gw_chunked_release(struct gw_chunked *c)
{
    ts_sha256_ctx_free(c->sha);
    c->sha = NULL;
    ts_wipe(c->key, sizeof c->key);
}

/* "<hex>;chunk-signature=<64 hex>" */
static ts_err parse_line(struct gw_chunked *c)
{
    const char *p = c->line;
    uint64_t size = 0;
    size_t digits = 0;
    for (; *p != ';' && *p != 0; p++, digits++) {
        int v = (*p >= '0' && *p <= '9')   ? *p - '0'
                : (*p >= 'a' && *p <= 'f') ? *p - 'a' + 10
                : (*p >= 'A' && *p <= 'F') ? *p - 'A' + 10
                                           : -1;
        if (v < 0 || digits >= 8) {
            return TS_ERR_MALFORMED;
        }
        size = size * 16 + (uint64_t)v;
    }
    static const char tag[] = ";chunk-signature=";
    if (digits == 0 || strncmp(p, tag, sizeof tag - 1) != 0) {
        return TS_ERR_MALFORMED;
    }
    p += sizeof tag - 1;
    if (strlen(p) != 64) {
        return TS_ERR_MALFORMED;
    }
    for (int i = 0; i < 64; i++) {
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f'))) {
            return TS_ERR_MALFORMED;
        }
    }
    if (size > GW_CHUNK_SIZE_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    memcpy(c->chunk_sig, p, GW_SIG_HEX_SIZE);
    c->remaining = size;
    return TS_OK;
}

/* The current chunk's data is complete: check its signature and chain it. */
static ts_err end_chunk(struct gw_chunked *c)
{
    uint8_t h[32];
    char want[GW_SIG_HEX_SIZE];
    ts_err err = ts_sha256_ctx_final(c->sha, h);
    if (err == TS_OK) {
        err = gw_sigv4_chunk_signature(c->key, c->amz_date, c->scope, c->prev_sig, h, want);
    }
    if (err != TS_OK) {
        return err;
    }
    if (!ts_ct_equal(want, c->chunk_sig, 64)) {
        return TS_ERR_AUTH_FAILED;
    }
    memcpy(c->prev_sig, c->chunk_sig, GW_SIG_HEX_SIZE);
    return TS_OK;
}

/* Takes header-line bytes until "\r\n"; returns bytes used, sets *complete. */
static ts_err take_line(struct gw_chunked *c, const uint8_t *d, size_t len, size_t *used,
                        bool *complete)
{
    *complete = false;
    size_t i = 0;
    for (; i < len; i++) {
        if (d[i] == '\n') {
            if (c->line_len == 0 || c->line[c->line_len - 1] != '\r') {
                return TS_ERR_MALFORMED;
            }
            c->line[--c->line_len] = 0;
            *complete = true;
            i++;
            break;
        }
        if (c->line_len == GW_CHUNK_LINE_MAX) {
            return TS_ERR_MALFORMED;
        }
        c->line[c->line_len++] = (char)d[i];
    }
    *used = i;
    return TS_OK;
}

static ts_err on_line(struct gw_chunked *c)
{
    ts_err err = parse_line(c);
    c->line_len = 0;
    if (err != TS_OK) {
        return err;
    }
    if (c->remaining == 0) {
        /* the final chunk signs the empty string */
        err = end_chunk(c);
        c->state = ST_FINAL_LINE;
        return err;
    }
    c->state = ST_DATA;
    return TS_OK;
}

static ts_err step(struct gw_chunked *c, const uint8_t *d, size_t len, size_t *used)
{
    bool complete;
    ts_err err = TS_OK;
    size_t n;
    switch (c->state) {
    case ST_LINE:
        err = take_line(c, d, len, used, &complete);
        return err == TS_OK && complete ? on_line(c) : err;
    case ST_DATA:
        n = len < c->remaining ? len : (size_t)c->remaining;
        err = ts_sha256_ctx_update(c->sha, d, n);
        if (err == TS_OK) {
            err = c->sink(c->sink_cls, d, n);
        }
        c->remaining -= n;
        c->decoded_size += n;
        *used = n;
        if (err == TS_OK && c->remaining == 0) {
            err = end_chunk(c);
            c->state = ST_DATA_CR;
        }
        return err;
    case ST_DATA_CR:
    case ST_DATA_LF:
        *used = 1;
        if (d[0] != (c->state == ST_DATA_CR ? '\r' : '\n')) {
            return TS_ERR_MALFORMED;
        }
        c->state = c->state == ST_DATA_CR ? ST_DATA_LF : ST_LINE;
        return TS_OK;
    case ST_FINAL_LINE:
        /* an empty line after the final chunk (no trailers in this variant) */
        err = take_line(c, d, len, used, &complete);
        if (err == TS_OK && complete) {
            err = c->line_len == 0 && c->line[0] == 0 ? TS_OK : TS_ERR_MALFORMED;
            c->state = ST_DONE;
        }
        return err;
    default:
        return TS_ERR_MALFORMED; /* bytes after the end, or after a failure */
    }
}

ts_err gw_chunked_feed(struct gw_chunked *c, const uint8_t *data, size_t len)
{
    while (len > 0) {
        size_t used = 0;
        ts_err err = step(c, data, len, &used);
        if (err != TS_OK) {
            c->state = ST_FAILED;
            return err;
        }
        data += used;
        len -= used;
    }
    return TS_OK;
}

ts_err gw_chunked_finish(const struct gw_chunked *c)
{
    /* Some clients end right after the final chunk's "\r\n" line; accept both. */
    if (c->state == ST_DONE || (c->state == ST_FINAL_LINE && c->line_len == 0)) {
        return TS_OK;
    }
    return c->state == ST_FAILED ? TS_ERR_MALFORMED : TS_ERR_TRUNCATED;
}
