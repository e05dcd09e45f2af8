/* Fuzz target: ts_bloom_decode on hostile bytes; a decoded filter must answer queries, encode to
 * the same bytes, and keep every element added to it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/buf.h"
#include "bloom/bloom.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ts_bloom *f = NULL;
    if (ts_bloom_decode(data, size, &f) != TS_OK) {
        TS_ASSERT(f == NULL);
        return 0;
    }
    struct ts_buf b;
    ts_buf_init(&b, TS_BLOOM_HEADER_SIZE + TS_BLOOM_TABLE_SIZE_MAX);
    TS_ASSERT(ts_bloom_encode(f, &b) == TS_OK);
    TS_ASSERT(b.len == size && memcmp(b.data, data, size) == 0);
    ts_buf_release(&b);
    uint8_t id[TS_BLOOM_ID_SIZE];
    for (size_t i = 0; i < sizeof id; i++) {
        id[i] = data[(i * 7) % size];
    }
    (void)ts_bloom_contains(f, id);
    ts_bloom_add(f, id);
    TS_ASSERT(ts_bloom_contains(f, id));
    ts_bloom_free(f);
    return 0;
}
