/* Fuzz target: the 512-byte piece file header (uint16 BE length + PieceHeader protobuf) read from
 * disk. Whatever decodes must re-encode into the fixed area and decode to the same values. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/base.h"
#include "node_blobstore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t area[TS_PIECE_HEADER_SIZE];
    memset(area, 0, sizeof area);
    memcpy(area, data, size < sizeof area ? size : sizeof area);
    struct node_piece_header h, again;
    if (node_piece_header_decode(data, size, &h) == TS_OK) {
        TS_ASSERT(size >= TS_PIECE_HEADER_SIZE);
    }
    if (node_piece_header_decode(area, sizeof area, &h) != TS_OK) {
        return 0;
    }
    uint8_t out[TS_PIECE_HEADER_SIZE];
    TS_ASSERT(node_piece_header_encode(&h, out) == TS_OK);
    TS_ASSERT(node_piece_header_decode(out, sizeof out, &again) == TS_OK);
    TS_ASSERT(memcmp(h.hash, again.hash, sizeof h.hash) == 0);
    TS_ASSERT(h.limit.limit_bytes == again.limit.limit_bytes);
    return 0;
}
