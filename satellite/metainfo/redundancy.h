/*
 * Redundancy schemes: the erasure-code parameters k/m/o/n and share size a satellite hands out
 * (reference §2.1). Text form "k/m/o/n-<share size>B" as in the config file ("4/6/8/10-256B" for
 * local networks, "29/52/80/110-256B" for the production shape). In the DB a scheme is one packed
 * int64 so a segment row carries it in one column. Pure functions, no allocation.
 */
#ifndef SAT_METAINFO_REDUNDANCY_H
#define SAT_METAINFO_REDUNDANCY_H

#include <stddef.h>
#include <stdint.h>

#include "base/base.h"

struct sat_redundancy {
    int required;   /* k: shares needed to rebuild a stripe, >= 1 */
    int repair;     /* m: repair below this many healthy pieces, k <= m <= o */
    int success;    /* o: pieces an upload must store, m <= o <= n */
    int total;      /* n: pieces attempted on upload, <= TS_EC_SHARES_MAX */
    int share_size; /* bytes per erasure share, 1..TS_EC_SHARE_SIZE_MAX */
};

#define SAT_REDUNDANCY_LOCAL "4/6/8/10-256B"
#define SAT_REDUNDANCY_PRODUCTION "29/52/80/110-256B"
/* Enough for "255/255/255/255-65536B". */
#define SAT_REDUNDANCY_TEXT_MAX 32

/* Parses "k/m/o/n-SB" (the trailing 'B' optional). TS_ERR_MALFORMED for bad syntax,
 * TS_ERR_INVALID_ARGUMENT when the values break sat_redundancy_check. */
TS_WARN_UNUSED ts_err sat_redundancy_parse(const char *text, struct sat_redundancy *out);
/* Writes the text form into out (SAT_REDUNDANCY_TEXT_MAX bytes suffice). */
void sat_redundancy_format(const struct sat_redundancy *r, char *out, size_t out_size);
/* TS_OK when 1 <= k <= m <= o <= n <= TS_EC_SHARES_MAX, k < n, and the share size is in range
 * and a multiple of 4; else TS_ERR_INVALID_ARGUMENT. */
TS_WARN_UNUSED ts_err sat_redundancy_check(const struct sat_redundancy *r);

/* Packed int64: share_size << 32 | k << 24 | m << 16 | o << 8 | n. Unpack checks the values
 * (TS_ERR_MALFORMED for a corrupt column). */
int64_t sat_redundancy_pack(const struct sat_redundancy *r);
TS_WARN_UNUSED ts_err sat_redundancy_unpack(int64_t packed, struct sat_redundancy *out);

/* Stripe size k * share_size. */
int64_t sat_redundancy_stripe_size(const struct sat_redundancy *r);
/* Bytes of one piece for a segment whose ciphertext is encrypted_size bytes, with the padding
 * rule of base/pad.h: ceil((size + 4) / stripe) * share_size. */
int64_t sat_redundancy_piece_size(const struct sat_redundancy *r, int64_t encrypted_size);
/* Order limits handed out for a download (reference §2.1): t = k + floor((n - o) * k / o),
 * at least k + 1 and at most n. */
int sat_redundancy_download_count(const struct sat_redundancy *r);

#endif
