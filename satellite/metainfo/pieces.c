#include <string.h>

#include "base/base.h"
#include "encoding/encoding.h"
#include "satellite/metainfo/pieces.h"

#define PIECES_FORMAT_V1 1

ts_err sat_alias_pieces_encode(const struct sat_alias_piece *pieces, size_t count,
                               struct ts_buf *out)
{
    size_t start = out->len;
    ts_err err = ts_buf_append_byte(out, PIECES_FORMAT_V1);
    int64_t prev = -1;
    for (size_t i = 0; err == TS_OK && i < count; i++) {
        if ((int64_t)pieces[i].piece_num <= prev || pieces[i].piece_num >= TS_EC_SHARES_MAX ||
            pieces[i].alias == 0) {
            err = TS_ERR_INVALID_ARGUMENT;
            break;
        }
        err = ts_uvarint_append(out, (uint64_t)((int64_t)pieces[i].piece_num - prev - 1));
        if (err == TS_OK) {
            err = ts_uvarint_append(out, pieces[i].alias);
        }
        prev = pieces[i].piece_num;
    }
    if (err != TS_OK) {
        ts_buf_truncate(out, start);
    }
    return err;
}

ts_err sat_alias_pieces_decode(const uint8_t *data, size_t len, struct sat_alias_piece *out,
                               size_t out_max, size_t *count)
{
    size_t pos = 1;
    size_t n = 0;
    int64_t prev = -1;
    *count = 0;
    if (len < 1 || data[0] != PIECES_FORMAT_V1) {
        return TS_ERR_MALFORMED;
    }
    while (pos < len) {
        uint64_t gap = 0, alias = 0;
        size_t used = 0;
        if (ts_uvarint_get(data + pos, len - pos, &gap, &used) != TS_OK) {
            return TS_ERR_MALFORMED;
        }
        pos += used;
        if (ts_uvarint_get(data + pos, len - pos, &alias, &used) != TS_OK) {
            return TS_ERR_MALFORMED;
        }
        pos += used;
        if (gap >= TS_EC_SHARES_MAX || prev + 1 + (int64_t)gap >= TS_EC_SHARES_MAX || alias == 0 ||
            alias > UINT32_MAX) {
            return TS_ERR_MALFORMED;
        }
        if (n == out_max) {
            return TS_ERR_TOO_LARGE;
        }
        prev = prev + 1 + (int64_t)gap;
        out[n].piece_num = (uint32_t)prev;
        out[n].alias = (uint32_t)alias;
        n++;
    }
    *count = n;
    return TS_OK;
}
