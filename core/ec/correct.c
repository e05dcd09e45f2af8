/*
 * Berlekamp-Welch error correction of one stripe (reference §2.2), used by audits.
 *
 * Fast path, vectorised with ISA-L: interpolate from k chosen shares and re-encode the other
 * r-k; a byte column whose re-encoded values differ from the received ones in at most
 * e = floor((r-k)/2) places is thereby decoded (the codeword found is the unique one within
 * distance e). Only the remaining columns run Berlekamp-Welch, one byte column at a time with
 * naive GF(2^8) arithmetic. The shares BW names as wrong are then avoided when choosing the k
 * interpolation shares, so usually a single column needs BW even when a share is bad throughout.
 */
#include <isa-l/erasure_code.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "ec/ec.h"
#include "ec/ec_internal.h"
#include "ec/gf256.h"

/* State of one ts_ec_correct call. */
struct bw_job {
    const struct ts_ec *ec;
    uint8_t *const *shares;
    const int *nums;
    int r;              /* shares given */
    int e;              /* errors correctable per column */
    size_t len;         /* share size */
    int index_of[TS_EC_SHARES_MAX];
    struct ec_set bad;  /* share numbers found wrong in some column */
    uint8_t *resolved;  /* per column: 1 once it is a codeword */
    uint8_t *pred;      /* (r - k) x len re-encoded values */
    uint8_t *system;    /* r x (k + 2e + 1) BW linear system */
};

/* Evaluation point of share `num`: 0 for share 0, alpha^(num-1) after (zfec's points). */
static uint8_t bw_point(int num)
{
    return num == 0 ? 0 : ts_gf256_alpha_pow((unsigned)(num - 1));
}

static uint8_t bw_poly_eval(const uint8_t *poly, int len, uint8_t x)
{
    uint8_t acc = 0;
    for (int i = len - 1; i >= 0; i--) {
        acc = (uint8_t)(ts_gf256_mul(acc, x) ^ poly[i]);
    }
    return acc;
}

/* Gauss-Jordan elimination of rows x (cols + 1) augmented matrix a in place; solution into x
 * (free variables 0). Returns 0, or -1 when the system is inconsistent. */
static int bw_solve(uint8_t *a, int rows, int cols, uint8_t *x)
{
    int width = cols + 1;
    int rank = 0;
    int pivot_col[TS_EC_SHARES_MAX];
    for (int c = 0; c < cols && rank < rows; c++) {
        int p = rank;
        while (p < rows && a[p * width + c] == 0) {
            p++;
        }
        if (p == rows) {
            continue;
        }
        for (int j = 0; j < width && p != rank; j++) {
            uint8_t t = a[p * width + j];
            a[p * width + j] = a[rank * width + j];
            a[rank * width + j] = t;
        }
        uint8_t inv = ts_gf256_inv(a[rank * width + c]);
        for (int j = c; j < width; j++) {
            a[rank * width + j] = ts_gf256_mul(a[rank * width + j], inv);
        }
        for (int i = 0; i < rows; i++) {
            uint8_t f = a[i * width + c];
            if (i == rank || f == 0) {
                continue;
            }
            for (int j = c; j < width; j++) {
                a[i * width + j] ^= ts_gf256_mul(f, a[rank * width + j]);
            }
        }
        pivot_col[rank++] = c;
    }
    for (int i = rank; i < rows; i++) {
        if (a[i * width + cols] != 0) {
            return -1;
        }
    }
    memset(x, 0, (size_t)cols);
    for (int i = 0; i < rank; i++) {
        x[pivot_col[i]] = a[i * width + cols];
    }
    return 0;
}

/* Berlekamp-Welch on byte column `col`: finds Q (degree < k+e) and monic E (degree e) with
 * Q(x_i) = y_i E(x_i) for every share, P = Q / E, and rewrites the shares that disagree with P.
 * Returns 0, or -1 when no codeword lies within distance e. */
static int bw_column(struct bw_job *job, size_t col)
{
    int k = job->ec->k;
    int e = job->e;
    int unknowns = k + 2 * e;
    int width = unknowns + 1;
    uint8_t sol[2 * TS_EC_SHARES_MAX];
    uint8_t err_poly[TS_EC_SHARES_MAX + 1];
    uint8_t quot[TS_EC_SHARES_MAX];
    for (int i = 0; i < job->r; i++) {
        uint8_t x = bw_point(job->nums[i]);
        uint8_t y = job->shares[i][col];
        uint8_t *row = job->system + (size_t)i * (size_t)width;
        uint8_t xp = 1;
        for (int j = 0; j < k + e; j++) {
            row[j] = xp;
            if (j < e) {
                row[k + e + j] = ts_gf256_mul(y, xp);
            }
            if (j == e) {
                row[unknowns] = ts_gf256_mul(y, xp);
            }
            xp = ts_gf256_mul(xp, x);
        }
    }
    if (bw_solve(job->system, job->r, unknowns, sol) != 0) {
        return -1;
    }
    uint8_t *q = sol; /* k + e coefficients, ascending */
    memcpy(err_poly, sol + k + e, (size_t)e);
    err_poly[e] = 1;
    for (int d = k + e - 1; d >= e; d--) {
        uint8_t c = q[d];
        quot[d - e] = c;
        for (int i = 0; i <= e; i++) {
            q[d - e + i] ^= ts_gf256_mul(c, err_poly[i]);
        }
    }
    for (int i = 0; i < e; i++) {
        if (q[i] != 0) {
            return -1;
        }
    }
    int wrong = 0;
    for (int i = 0; i < job->r; i++) {
        wrong += bw_poly_eval(quot, k, bw_point(job->nums[i])) != job->shares[i][col];
    }
    if (wrong > e) {
        return -1;
    }
    for (int i = 0; i < job->r; i++) {
        uint8_t v = bw_poly_eval(quot, k, bw_point(job->nums[i]));
        if (v != job->shares[i][col]) {
            job->shares[i][col] = v;
            ec_set_add(&job->bad, job->nums[i]);
        }
    }
    job->resolved[col] = 1;
    return 0;
}

/* Fast path: interpolates from k shares avoiding the known-bad ones, re-encodes the rest with
 * ISA-L, and resolves every column that is within distance e of the codeword found. */
static ts_err bw_fast_pass(struct bw_job *job)
{
    const struct ts_ec *ec = job->ec;
    int k = ec->k;
    struct ec_set src = {{0}};
    struct ec_set out = {{0}};
    int picked = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < job->r && picked < k; i++) {
            int num = job->nums[i];
            if (ec_set_has(&job->bad, num) == pass && !ec_set_has(&src, num)) {
                ec_set_add(&src, num);
                picked++;
            }
        }
    }
    for (int i = 0; i < job->r; i++) {
        if (!ec_set_has(&src, job->nums[i])) {
            ec_set_add(&out, job->nums[i]);
        }
    }
    struct ec_plan *plan = NULL;
    ts_err err = ec_plan_acquire(ec, &src, &out, &plan);
    if (err != TS_OK) {
        return err;
    }
    uint8_t *in[TS_EC_SHARES_MAX];
    uint8_t *dst[TS_EC_SHARES_MAX];
    uint8_t *recv[TS_EC_SHARES_MAX];
    for (int i = 0; i < k; i++) {
        in[i] = job->shares[job->index_of[plan->src_nums[i]]];
    }
    for (int m = 0; m < plan->out_count; m++) {
        dst[m] = job->pred + (size_t)m * job->len;
        recv[m] = job->shares[job->index_of[plan->out_nums[m]]];
    }
    ec_encode_data((int)job->len, k, plan->out_count, plan->tables, in, dst);
    for (size_t c = 0; c < job->len; c++) {
        if (job->resolved[c]) {
            continue;
        }
        int wrong = 0;
        for (int m = 0; m < plan->out_count; m++) {
            wrong += dst[m][c] != recv[m][c];
        }
        if (wrong > job->e) {
            continue;
        }
        for (int m = 0; m < plan->out_count; m++) {
            if (dst[m][c] != recv[m][c]) {
                recv[m][c] = dst[m][c];
                ec_set_add(&job->bad, plan->out_nums[m]);
            }
        }
        job->resolved[c] = 1;
    }
    ec_plan_release(ec, plan);
    return TS_OK;
}

/* Alternates fast passes and single-column BW until every column is a codeword. A fast pass
 * follows each BW run that named a new bad share; the loop ends because each round resolves a
 * column. */
static ts_err bw_run(struct bw_job *job)
{
    int need_pass = 1;
    for (size_t c = 0; c < job->len; c++) {
        if (need_pass) {
            ts_err err = bw_fast_pass(job);
            if (err != TS_OK) {
                return err;
            }
            need_pass = 0;
        }
        if (job->resolved[c]) {
            continue;
        }
        struct ec_set before = job->bad;
        if (bw_column(job, c) != 0) {
            return TS_ERR_TOO_MANY_ERRORS;
        }
        need_pass = memcmp(&before, &job->bad, sizeof before) != 0;
    }
    return TS_OK;
}

static ts_err bw_check_args(const struct ts_ec *ec, uint8_t *const *shares, const int *nums,
                            size_t count, const int *bad_nums, const size_t *bad_count,
                            int *index_of)
{
    if (count > (size_t)ec->n || bad_nums == NULL || bad_count == NULL ||
        (count > 0 && (shares == NULL || nums == NULL))) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    struct ec_set seen = {{0}};
    for (size_t i = 0; i < count; i++) {
        if (nums[i] < 0 || nums[i] >= ec->n || shares[i] == NULL || ec_set_has(&seen, nums[i])) {
            return TS_ERR_INVALID_ARGUMENT;
        }
        ec_set_add(&seen, nums[i]);
        index_of[nums[i]] = (int)i;
    }
    return count < (size_t)ec->k ? TS_ERR_NOT_ENOUGH_SHARES : TS_OK;
}

ts_err ts_ec_correct(const struct ts_ec *ec, uint8_t *const *shares, const int *share_nums,
                     size_t count, int *bad_nums, size_t *bad_count)
{
    struct bw_job job = {.ec = ec, .shares = shares, .nums = share_nums, .len = ec->share_size};
    ts_err err = bw_check_args(ec, shares, share_nums, count, bad_nums, bad_count, job.index_of);
    if (err != TS_OK) {
        return err;
    }
    *bad_count = 0;
    if (count == (size_t)ec->k) {
        return TS_OK; /* no redundancy: nothing to check */
    }
    job.r = (int)count;
    job.e = (job.r - ec->k) / 2;
    size_t width = (size_t)(ec->k + 2 * job.e + 1);
    job.resolved = calloc(job.len, 1);
    job.pred = malloc((count - (size_t)ec->k) * job.len);
    job.system = malloc(count * width);
    if (job.resolved == NULL || job.pred == NULL || job.system == NULL) {
        err = TS_ERR_NOMEM;
        goto done;
    }
    err = bw_run(&job);
    if (err == TS_OK) {
        for (int num = 0; num < ec->n; num++) {
            if (ec_set_has(&job.bad, num)) {
                bad_nums[(*bad_count)++] = num;
            }
        }
    }
done:
    free(job.resolved);
    free(job.pred);
    free(job.system);
    return err;
}
