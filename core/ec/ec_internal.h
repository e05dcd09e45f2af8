/*
 * Internals shared by the files of core/ec: the code object and its cached ISA-L "plans"
 * (expanded multiply tables that turn k chosen source shares into a set of output shares).
 */
#ifndef TS_EC_EC_INTERNAL_H
#define TS_EC_EC_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "ec/ec.h"

/* Plans kept per code: a download or repair reuses one survivor set for many stripes. */
#define EC_PLAN_CACHE_SLOTS 8

/* A set of share numbers 0..255 as a bitmap. */
struct ec_set {
    uint64_t bits[4];
};

/* Tables computing the shares out_nums[] from the k shares src_nums[] (both ascending). */
struct ec_plan {
    struct ec_set src;
    struct ec_set out;
    int src_nums[TS_EC_SHARES_MAX]; /* k entries */
    int out_nums[TS_EC_SHARES_MAX]; /* out_count entries */
    int out_count;
    uint8_t *tables;   /* 32 * k * out_count bytes for ec_encode_data */
    unsigned refs;     /* holders; guarded by ts_ec.lock */
    int cached;        /* 1 while a cache slot points here */
    uint64_t used;     /* LRU stamp */
};

struct ts_ec {
    int k;
    int n;
    size_t share_size;
    uint8_t *matrix;        /* n x k encode matrix, rows 0..k-1 the identity */
    uint8_t *parity_tables; /* ec_init_tables of rows k..n-1: 32 * k * (n - k) bytes */
    pthread_mutex_t lock;   /* guards the plan cache */
    struct ec_plan *cache[EC_PLAN_CACHE_SLOTS];
    uint64_t stamp;
};

static inline void ec_set_add(struct ec_set *s, int v)
{
    s->bits[v >> 6] |= 1ull << (v & 63);
}
static inline int ec_set_has(const struct ec_set *s, int v)
{
    return (int)((s->bits[v >> 6] >> (v & 63)) & 1);
}

/* Returns the plan computing `out` from `src` (sets of share numbers; src has exactly k
 * members, out at least one), from the cache or freshly built. Release with ec_plan_release. */
TS_WARN_UNUSED ts_err ec_plan_acquire(const struct ts_ec *ec, const struct ec_set *src,
                                      const struct ec_set *out, struct ec_plan **plan);
void ec_plan_release(const struct ts_ec *ec, struct ec_plan *plan);

#endif
