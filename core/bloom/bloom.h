/*
 * Bloom filters of piece IDs for garbage collection (reference §8.8). The satellite builds one
 * filter per storage node holding every piece ID the node should keep and sends it with Retain;
 * the node trashes pieces older than the filter that it does not contain. A filter has false
 * positives (garbage kept a little longer, FPR target 0.1) and never false negatives (a piece the
 * satellite added is always found), which is the property that keeps data safe.
 *
 * Piece IDs are already uniform (HMAC outputs), so the k "hashes" are 8-byte little-endian windows
 * of the ID read cyclically: window i starts at (seed + i * stride) mod 32 with an odd stride
 * (9, 13, 19 or 23, picked by the seed), bucket = window mod table_size, bit = the byte after the
 * window mod 8. Wire format: [version=1][seed][hash_count][table bytes...].
 */
#ifndef TS_BLOOM_BLOOM_H
#define TS_BLOOM_BLOOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "base/buf.h"

#define TS_BLOOM_VERSION 1
#define TS_BLOOM_ID_SIZE 32
#define TS_BLOOM_HEADER_SIZE 3
#define TS_BLOOM_FPR_DEFAULT 0.1

struct ts_bloom;

/* ---- Sizing ----
 * The table size (bytes) and hash count that reach false-positive rate fpr (0 < fpr < 1) for
 * expected elements: bits = -expected * log2(fpr) / ln 2, hashes = ceil(bits/elem * ln 2).
 * The table is at least TS_BLOOM_TABLE_SIZE_MIN and at most table_size_max bytes (capped filters
 * have a higher FPR; see ts_bloom_fpr_estimate). TS_ERR_INVALID_ARGUMENT for a bad fpr or a
 * table_size_max outside [TS_BLOOM_TABLE_SIZE_MIN, TS_BLOOM_TABLE_SIZE_MAX]. */
TS_WARN_UNUSED ts_err ts_bloom_optimal(uint64_t expected, double fpr, size_t table_size_max,
                                       size_t *table_size, int *hash_count);
/* The expected false-positive rate of a table of table_size bytes with hash_count hashes after
 * elements insertions: (1 - e^(-k n / m))^k. */
double ts_bloom_fpr_estimate(size_t table_size, int hash_count, uint64_t elements);

/* ---- Lifecycle ----
 * _new: an empty filter; table_size in [TS_BLOOM_TABLE_SIZE_MIN, TS_BLOOM_TABLE_SIZE_MAX],
 * hash_count in [1, TS_BLOOM_HASHES_MAX], else TS_ERR_INVALID_ARGUMENT; TS_ERR_NOMEM.
 * _new_optimal: sized by ts_bloom_optimal. _free(NULL) is a no-op. */
TS_WARN_UNUSED ts_err ts_bloom_new(size_t table_size, int hash_count, uint8_t seed,
                                   struct ts_bloom **out);
TS_WARN_UNUSED ts_err ts_bloom_new_optimal(uint64_t expected, double fpr, size_t table_size_max,
                                           uint8_t seed, struct ts_bloom **out);
void ts_bloom_free(struct ts_bloom *f);

/* ---- Use ---- */
void ts_bloom_add(struct ts_bloom *f, const uint8_t id[TS_BLOOM_ID_SIZE]);
bool ts_bloom_contains(const struct ts_bloom *f, const uint8_t id[TS_BLOOM_ID_SIZE]);
size_t ts_bloom_table_size(const struct ts_bloom *f);
int ts_bloom_hash_count(const struct ts_bloom *f);
uint8_t ts_bloom_seed(const struct ts_bloom *f);

/* ---- Wire format ----
 * _encoded_size: TS_BLOOM_HEADER_SIZE + table size. _encode appends to out (TS_ERR_TOO_LARGE
 * past out's maximum). _decode copies data into a new filter. Hostile input is refused:
 * TS_ERR_TRUNCATED (shorter than the header + TS_BLOOM_TABLE_SIZE_MIN), TS_ERR_UNSUPPORTED_VERSION,
 * TS_ERR_MALFORMED (hash count 0 or > TS_BLOOM_HASHES_MAX), TS_ERR_TOO_LARGE (table larger than
 * TS_BLOOM_TABLE_SIZE_MAX); nothing is allocated before the checks pass. */
size_t ts_bloom_encoded_size(const struct ts_bloom *f);
TS_WARN_UNUSED ts_err ts_bloom_encode(const struct ts_bloom *f, struct ts_buf *out);
TS_WARN_UNUSED ts_err ts_bloom_decode(const uint8_t *data, size_t len, struct ts_bloom **out);

#endif
