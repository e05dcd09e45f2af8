/*
 * The base every Tessera source includes (after its system headers): errors, assertions, limits,
 * a few primitives every module needs (wiping secrets, clocks, big-endian integers), and the
 * banned-function list, which comes last so it applies to the including file.
 */
#ifndef TS_BASE_BASE_H
#define TS_BASE_BASE_H

#include <stddef.h>
#include <stdint.h>

#include "base/assert.h"
#include "base/error.h"
#include "base/limits.h"

/* Overwrites len bytes at p with zeros in a way the compiler cannot elide. p may be NULL. */
void ts_wipe(void *p, size_t len);

/* Compares two byte strings in time that depends only on len. Returns 1 when equal, else 0. */
int ts_ct_equal(const void *a, const void *b, size_t len);

/* Clocks. Wall time may be overridden in tests through TS_TEST_CLOCK_OFFSET_S (seconds added),
 * so clock-skew and expiry paths can be exercised against real processes. */
int64_t ts_time_now_s(void);    /* Unix seconds, wall clock (+ test offset) */
int64_t ts_time_now_ms(void);   /* Unix milliseconds, wall clock (+ test offset) */
int64_t ts_monotonic_ms(void);  /* monotonic milliseconds since an arbitrary start */
int64_t ts_monotonic_ns(void);  /* monotonic nanoseconds since an arbitrary start */

/* Big-endian integer loads and stores. */
static inline void ts_be32_put(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline uint32_t ts_be32_get(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline void ts_be64_put(uint8_t *p, uint64_t v)
{
    ts_be32_put(p, (uint32_t)(v >> 32));
    ts_be32_put(p + 4, (uint32_t)v);
}
static inline uint64_t ts_be64_get(const uint8_t *p)
{
    return ((uint64_t)ts_be32_get(p) << 32) | ts_be32_get(p + 4);
}

#include "base/banned.h"

#endif
