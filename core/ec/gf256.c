#include <pthread.h>
#include <stdint.h>

#include "base/base.h"
#include "ec/gf256.h"

#define GF_POLY 0x11D

/* exp has 2 * 255 entries so exp[log a + log b] needs no reduction. */
static uint8_t gf_exp[510];
static uint8_t gf_log[256];
static pthread_once_t gf_once = PTHREAD_ONCE_INIT;

static void gf_tables_build(void)
{
    unsigned x = 1;
    for (int i = 0; i < 255; i++) {
        gf_exp[i] = (uint8_t)x;
        gf_exp[i + 255] = (uint8_t)x;
        gf_log[x] = (uint8_t)i;
        x <<= 1;
        if (x & 0x100) {
            x ^= GF_POLY;
        }
    }
}

void ts_gf256_init(void)
{
    TS_ASSERT(pthread_once(&gf_once, gf_tables_build) == 0);
}

uint8_t ts_gf256_mul(uint8_t a, uint8_t b)
{
    if (a == 0 || b == 0) {
        return 0;
    }
    return gf_exp[gf_log[a] + gf_log[b]];
}

uint8_t ts_gf256_inv(uint8_t a)
{
    TS_ASSERT(a != 0);
    return gf_exp[255 - gf_log[a]];
}

uint8_t ts_gf256_div(uint8_t a, uint8_t b)
{
    TS_ASSERT(b != 0);
    if (a == 0) {
        return 0;
    }
    return gf_exp[gf_log[a] + 255 - gf_log[b]];
}

uint8_t ts_gf256_alpha_pow(unsigned e)
{
    return gf_exp[e % 255];
}

void ts_gf256_matrix_mul(const uint8_t *a, const uint8_t *b, uint8_t *out, int rows, int inner,
                         int cols)
{
    for (int r = 0; r < rows; r++) {
        for (int c = 0; c < cols; c++) {
            uint8_t acc = 0;
            for (int i = 0; i < inner; i++) {
                acc ^= ts_gf256_mul(a[r * inner + i], b[i * cols + c]);
            }
            out[r * cols + c] = acc;
        }
    }
}
