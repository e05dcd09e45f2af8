#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/pad.h"
#include "satellite/metainfo/redundancy.h"

ts_err sat_redundancy_check(const struct sat_redundancy *r)
{
    if (r->required < 1 || r->required > r->repair || r->repair > r->success ||
        r->success > r->total || r->total > TS_EC_SHARES_MAX || r->required >= r->total) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    if (r->share_size < TS_PAD_COUNT_SIZE || r->share_size > TS_EC_SHARE_SIZE_MAX ||
        r->share_size % 4 != 0) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    return TS_OK;
}

/* Reads a decimal number in [1, max] from *p and advances *p. */
static ts_err parse_number(const char **p, long max, int *out)
{
    char *end = NULL;
    if (**p < '0' || **p > '9') {
        return TS_ERR_MALFORMED;
    }
    long v = strtol(*p, &end, 10);
    if (end == *p || end - *p > 6 || v < 1 || v > max) {
        return TS_ERR_MALFORMED;
    }
    *p = end;
    *out = (int)v;
    return TS_OK;
}

ts_err sat_redundancy_parse(const char *text, struct sat_redundancy *out)
{
    struct sat_redundancy r = {0};
    int *fields[4] = {&r.required, &r.repair, &r.success, &r.total};
    const char *p = text;
    memset(out, 0, sizeof *out);
    if (text == NULL || strlen(text) >= SAT_REDUNDANCY_TEXT_MAX) {
        return TS_ERR_MALFORMED;
    }
    for (int i = 0; i < 4; i++) {
        if (parse_number(&p, 1000, fields[i]) != TS_OK) {
            return TS_ERR_MALFORMED;
        }
        char want = i < 3 ? '/' : '-';
        if (*p != want) {
            return TS_ERR_MALFORMED;
        }
        p++;
    }
    if (parse_number(&p, 1000000, &r.share_size) != TS_OK) {
        return TS_ERR_MALFORMED;
    }
    if (*p == 'B') {
        p++;
    }
    if (*p != 0) {
        return TS_ERR_MALFORMED;
    }
    ts_err err = sat_redundancy_check(&r);
    if (err != TS_OK) {
        return err;
    }
    *out = r;
    return TS_OK;
}

void sat_redundancy_format(const struct sat_redundancy *r, char *out, size_t out_size)
{
    snprintf(out, out_size, "%d/%d/%d/%d-%dB", r->required, r->repair, r->success, r->total,
             r->share_size);
}

int64_t sat_redundancy_pack(const struct sat_redundancy *r)
{
    return ((int64_t)r->share_size << 32) | ((int64_t)r->required << 24) |
           ((int64_t)r->repair << 16) | ((int64_t)r->success << 8) | (int64_t)r->total;
}

ts_err sat_redundancy_unpack(int64_t packed, struct sat_redundancy *out)
{
    struct sat_redundancy r = {
        .share_size = (int)((packed >> 32) & 0xffffff),
        .required = (int)((packed >> 24) & 0xff),
        .repair = (int)((packed >> 16) & 0xff),
        .success = (int)((packed >> 8) & 0xff),
        .total = (int)(packed & 0xff),
    };
    memset(out, 0, sizeof *out);
    if (packed < 0 || (packed >> 56) != 0 || sat_redundancy_check(&r) != TS_OK) {
        return TS_ERR_MALFORMED;
    }
    *out = r;
    return TS_OK;
}

int64_t sat_redundancy_stripe_size(const struct sat_redundancy *r)
{
    return (int64_t)r->required * r->share_size;
}

int64_t sat_redundancy_piece_size(const struct sat_redundancy *r, int64_t encrypted_size)
{
    int64_t stripe = sat_redundancy_stripe_size(r);
    TS_ASSERT(stripe > 0 && encrypted_size >= 0);
    int64_t stripes = (encrypted_size + TS_PAD_COUNT_SIZE + stripe - 1) / stripe;
    return stripes * r->share_size;
}

int sat_redundancy_download_count(const struct sat_redundancy *r)
{
    int k = r->required;
    int t = k + (r->total - r->success) * k / r->success;
    if (t < k + 1) {
        t = k + 1;
    }
    if (t > r->total) {
        t = r->total;
    }
    return t;
}
