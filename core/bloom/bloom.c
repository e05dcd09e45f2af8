/* Bloom filters of piece IDs (see bloom.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/buf.h"
#include "bloom/bloom.h"

struct ts_bloom {
    uint8_t seed;
    int hash_count;    /* 1..TS_BLOOM_HASHES_MAX */
    size_t table_size; /* bytes, TS_BLOOM_TABLE_SIZE_MIN..TS_BLOOM_TABLE_SIZE_MAX */
    uint8_t table[];   /* table_size bytes */
};

/* Odd strides are coprime with 32, so the first 32 window starts are all distinct. */
static const uint8_t STRIDES[4] = {9, 13, 19, 23};

_Static_assert(TS_BLOOM_HASHES_MAX <= TS_BLOOM_ID_SIZE, "window starts must be distinct");

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

/* The byte and bit mask hash i of an ID (given doubled: ID followed by itself) selects. */
static void locate(const struct ts_bloom *f, const uint8_t doubled[2 * TS_BLOOM_ID_SIZE], int i,
                   size_t *byte, uint8_t *mask)
{
    unsigned start = f->seed % TS_BLOOM_ID_SIZE;
    unsigned stride = STRIDES[(f->seed / TS_BLOOM_ID_SIZE) % 4];
    unsigned pos = (start + (unsigned)i * stride) % TS_BLOOM_ID_SIZE;
    *byte = (size_t)(le64(doubled + pos) % f->table_size);
    *mask = (uint8_t)(1u << (doubled[pos + 8] & 7));
}

static void double_id(const uint8_t id[TS_BLOOM_ID_SIZE], uint8_t out[2 * TS_BLOOM_ID_SIZE])
{
    memcpy(out, id, TS_BLOOM_ID_SIZE);
    memcpy(out + TS_BLOOM_ID_SIZE, id, TS_BLOOM_ID_SIZE);
}

ts_err ts_bloom_optimal(uint64_t expected, double fpr, size_t table_size_max, size_t *table_size,
                        int *hash_count)
{
    if (!(fpr > 0.0 && fpr < 1.0) || table_size_max < TS_BLOOM_TABLE_SIZE_MIN ||
        table_size_max > TS_BLOOM_TABLE_SIZE_MAX) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    double bits_per_element = -log(fpr) / (M_LN2 * M_LN2);
    int k = (int)ceil(bits_per_element * M_LN2);
    k = k < 1 ? 1 : k > TS_BLOOM_HASHES_MAX ? TS_BLOOM_HASHES_MAX : k;
    double bytes = ceil((double)expected * bits_per_element / 8.0);
    size_t size = bytes > (double)table_size_max ? table_size_max : (size_t)bytes;
    *table_size = size < TS_BLOOM_TABLE_SIZE_MIN ? TS_BLOOM_TABLE_SIZE_MIN : size;
    *hash_count = k;
    return TS_OK;
}

double ts_bloom_fpr_estimate(size_t table_size, int hash_count, uint64_t elements)
{
    double m = (double)table_size * 8.0;
    double k = (double)hash_count;
    return pow(1.0 - exp(-k * (double)elements / m), k);
}

ts_err ts_bloom_new(size_t table_size, int hash_count, uint8_t seed, struct ts_bloom **out)
{
    *out = NULL;
    if (table_size < TS_BLOOM_TABLE_SIZE_MIN || table_size > TS_BLOOM_TABLE_SIZE_MAX ||
        hash_count < 1 || hash_count > TS_BLOOM_HASHES_MAX) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    struct ts_bloom *f = calloc(1, sizeof *f + table_size);
    if (f == NULL) {
        return TS_ERR_NOMEM;
    }
    f->seed = seed;
    f->hash_count = hash_count;
    f->table_size = table_size;
    *out = f;
    return TS_OK;
}

ts_err ts_bloom_new_optimal(uint64_t expected, double fpr, size_t table_size_max, uint8_t seed,
                            struct ts_bloom **out)
{
    size_t size = 0;
    int k = 0;
    *out = NULL;
    ts_err err = ts_bloom_optimal(expected, fpr, table_size_max, &size, &k);
    return err != TS_OK ? err : ts_bloom_new(size, k, seed, out);
}

void ts_bloom_free(struct ts_bloom *f)
{
    free(f);
}

void ts_bloom_add(struct ts_bloom *f, const uint8_t id[TS_BLOOM_ID_SIZE])
{
    uint8_t doubled[2 * TS_BLOOM_ID_SIZE];
    double_id(id, doubled);
    for (int i = 0; i < f->hash_count; i++) {
        size_t byte;
        uint8_t mask;
        locate(f, doubled, i, &byte, &mask);
        f->table[byte] |= mask;
    }
}

bool ts_bloom_contains(const struct ts_bloom *f, const uint8_t id[TS_BLOOM_ID_SIZE])
{
    uint8_t doubled[2 * TS_BLOOM_ID_SIZE];
    double_id(id, doubled);
    for (int i = 0; i < f->hash_count; i++) {
        size_t byte;
        uint8_t mask;
        locate(f, doubled, i, &byte, &mask);
        if ((f->table[byte] & mask) == 0) {
            return false;
        }
    }
    return true;
}

size_t ts_bloom_table_size(const struct ts_bloom *f)
{
    return f->table_size;
}

int ts_bloom_hash_count(const struct ts_bloom *f)
{
    return f->hash_count;
}

uint8_t ts_bloom_seed(const struct ts_bloom *f)
{
    return f->seed;
}

size_t ts_bloom_encoded_size(const struct ts_bloom *f)
{
    return TS_BLOOM_HEADER_SIZE + f->table_size;
}

ts_err ts_bloom_encode(const struct ts_bloom *f, struct ts_buf *out)
{
    uint8_t header[TS_BLOOM_HEADER_SIZE] = {TS_BLOOM_VERSION, f->seed, (uint8_t)f->hash_count};
    size_t len = out->len;
    ts_err err = ts_buf_reserve(out, ts_bloom_encoded_size(f));
    if (err == TS_OK) {
        err = ts_buf_append(out, header, sizeof header);
    }
    if (err == TS_OK) {
        err = ts_buf_append(out, f->table, f->table_size);
    }
    if (err != TS_OK) {
        ts_buf_truncate(out, len);
    }
    return err;
}

ts_err ts_bloom_decode(const uint8_t *data, size_t len, struct ts_bloom **out)
{
    *out = NULL;
    if (len < TS_BLOOM_HEADER_SIZE + TS_BLOOM_TABLE_SIZE_MIN) {
        return TS_ERR_TRUNCATED;
    }
    if (data[0] != TS_BLOOM_VERSION) {
        return TS_ERR_UNSUPPORTED_VERSION;
    }
    if (data[2] == 0 || data[2] > TS_BLOOM_HASHES_MAX) {
        return TS_ERR_MALFORMED;
    }
    size_t table_size = len - TS_BLOOM_HEADER_SIZE;
    if (table_size > TS_BLOOM_TABLE_SIZE_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    struct ts_bloom *f = NULL;
    ts_err err = ts_bloom_new(table_size, data[2], data[1], &f);
    if (err == TS_OK) {
        memcpy(f->table, data + TS_BLOOM_HEADER_SIZE, table_size);
        *out = f;
    }
    return err;
}
