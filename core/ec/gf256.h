/*
 * Naive GF(2^8) arithmetic (polynomial 0x11D, generator alpha = 2) with log/exp tables, for the
 * small matrix work of the erasure coder: building the encode matrix, decode matrices and
 * Berlekamp-Welch. Bulk data goes through ISA-L kernels instead. Internal to core/ec.
 */
#ifndef TS_EC_GF256_H
#define TS_EC_GF256_H

#include <stdint.h>

/* Builds the tables once per process; every other function requires it to have run. */
void ts_gf256_init(void);

uint8_t ts_gf256_mul(uint8_t a, uint8_t b);
uint8_t ts_gf256_inv(uint8_t a); /* a != 0 */
uint8_t ts_gf256_div(uint8_t a, uint8_t b); /* b != 0 */
uint8_t ts_gf256_alpha_pow(unsigned e);    /* alpha^e */

/* out (rows x cols) = a (rows x inner) * b (inner x cols), row-major; out must not alias. */
void ts_gf256_matrix_mul(const uint8_t *a, const uint8_t *b, uint8_t *out, int rows, int inner,
                         int cols);

#endif
