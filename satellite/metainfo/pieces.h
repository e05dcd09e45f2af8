/*
 * Compact piece lists: which node holds which piece of a remote segment, stored in one segments
 * column. Node IDs (32 bytes) are replaced by small integer node aliases (node_aliases table), and
 * the list is encoded as a format byte (1) then, per piece in increasing piece number order,
 * uvarint(piece_num - previous piece_num - 1) and uvarint(alias): about 2-3 bytes per piece, so a
 * 110-piece production segment costs ~300 bytes instead of ~3.7 KB.
 */
#ifndef SAT_METAINFO_PIECES_H
#define SAT_METAINFO_PIECES_H

#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "base/buf.h"

struct sat_alias_piece {
    uint32_t piece_num; /* share number, < TS_EC_SHARES_MAX */
    uint32_t alias;     /* node alias, >= 1 */
};

/* Upper bound of an encoded list of count pieces. */
#define SAT_ALIAS_PIECES_ENCODED_MAX(count) (1 + (size_t)(count)*8)

/* Appends the encoding to out. pieces must be sorted by strictly increasing piece_num, each
 * piece_num < TS_EC_SHARES_MAX and alias >= 1: TS_ERR_INVALID_ARGUMENT otherwise. */
TS_WARN_UNUSED ts_err sat_alias_pieces_encode(const struct sat_alias_piece *pieces, size_t count,
                                              struct ts_buf *out);

/* Decodes into out[0..out_max) and stores the count. TS_ERR_MALFORMED for a bad format byte,
 * a piece number out of range, a zero alias or a truncated varint; TS_ERR_TOO_LARGE when more
 * than out_max pieces are present. */
TS_WARN_UNUSED ts_err sat_alias_pieces_decode(const uint8_t *data, size_t len,
                                              struct sat_alias_piece *out, size_t out_max,
                                              size_t *count);

#endif
