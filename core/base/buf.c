#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/buf.h"

void ts_buf_init(struct ts_buf *b, size_t cap_max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->cap_max = cap_max;
}

void ts_buf_release(struct ts_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void ts_buf_release_secret(struct ts_buf *b)
{
    if (b->data != NULL) {
        ts_wipe(b->data, b->cap);
    }
    ts_buf_release(b);
}

ts_err ts_buf_reserve(struct ts_buf *b, size_t extra)
{
    if (extra > b->cap_max || b->len > b->cap_max - extra) {
        return TS_ERR_TOO_LARGE;
    }
    size_t need = b->len + extra;
    if (need <= b->cap && b->data != NULL) {
        return TS_OK;
    }
    size_t cap = b->cap < 64 ? 64 : b->cap;
    while (cap < need) {
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    }
    if (cap > b->cap_max) {
        cap = b->cap_max;
    }
    uint8_t *p = realloc(b->data, cap + 1);
    if (p == NULL) {
        return TS_ERR_NOMEM;
    }
    if (b->data == NULL) {
        p[0] = 0;
    }
    b->data = p;
    b->cap = cap;
    return TS_OK;
}

ts_err ts_buf_append(struct ts_buf *b, const void *data, size_t len)
{
    ts_err err = ts_buf_reserve(b, len);
    if (err != TS_OK) {
        return err;
    }
    if (len > 0) {
        memcpy(b->data + b->len, data, len);
    }
    b->len += len;
    b->data[b->len] = 0;
    return TS_OK;
}

ts_err ts_buf_append_byte(struct ts_buf *b, uint8_t byte)
{
    return ts_buf_append(b, &byte, 1);
}

ts_err ts_buf_append_str(struct ts_buf *b, const char *s)
{
    return ts_buf_append(b, s, strlen(s));
}

ts_err ts_buf_append_utf8(struct ts_buf *b, uint32_t cp)
{
    uint8_t u[4];
    size_t n;
    if (cp > 0x10FFFF) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    if (cp < 0x80) {
        u[0] = (uint8_t)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (uint8_t)(0xC0 | (cp >> 6));
        u[1] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (uint8_t)(0xE0 | (cp >> 12));
        u[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (uint8_t)(0xF0 | (cp >> 18));
        u[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return ts_buf_append(b, u, n);
}

ts_err ts_buf_vprintf(struct ts_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    ts_err err = ts_buf_reserve(b, (size_t)n);
    if (err != TS_OK) {
        return err;
    }
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return TS_OK;
}

ts_err ts_buf_printf(struct ts_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ts_err err = ts_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return err;
}

void ts_buf_clear(struct ts_buf *b)
{
    ts_buf_truncate(b, 0);
}

void ts_buf_truncate(struct ts_buf *b, size_t len)
{
    TS_ASSERT(len <= b->len);
    b->len = len;
    if (b->data != NULL) {
        b->data[len] = 0;
    }
}

uint8_t *ts_buf_detach(struct ts_buf *b, size_t *len_out)
{
    uint8_t *p = b->data;
    if (len_out != NULL) {
        *len_out = b->len;
    }
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}
