/*
 * The code object, its encode matrix, the plan cache, and the bulk paths: encode, per-piece
 * encode, decode and repair. Byte work goes through ISA-L (ec_init_tables + ec_encode_data);
 * the small matrix algebra uses gf256.c and ISA-L's gf_invert_matrix.
 */
#include <isa-l/erasure_code.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "ec/ec.h"
#include "ec/ec_internal.h"
#include "ec/gf256.h"

/* Parity is computed over groups of stripes of about this many bytes per share column, right
 * after their data shares are copied into the data pieces (so the sources are contiguous and
 * still in cache). Measured on Zen 5 (bench_core): 4-16 KiB all reach the raw kernel's speed;
 * a whole 64 MiB segment in one call is 2-3x slower (ISA-L makes one pass per 6 parity rows). */
#ifndef EC_GROUP_BYTES
#define EC_GROUP_BYTES 8192
#endif
/* Column chunk for repair, whose sources and outputs are contiguous pieces. */
#define EC_CHUNK_BYTES 8192

/* ---- Lifecycle and the encode matrix ---- */

/* V is the n x k Vandermonde matrix on the points 0, 1, alpha, ..., alpha^(n-2) (zfec's; the
 * infectious points alpha^1.. are these times alpha and give the same systematic matrix).
 * E = V * inverse(top k rows of V): the identity on top, and every k x k submatrix of E is
 * invertible because every k x k submatrix of V is a Vandermonde matrix on distinct points. */
static ts_err ec_matrix_build(struct ts_ec *ec)
{
    int k = ec->k;
    int n = ec->n;
    ts_err err = TS_ERR_NOMEM;
    uint8_t *v = calloc((size_t)n * (size_t)k, 1);
    uint8_t *top = malloc((size_t)k * (size_t)k);
    uint8_t *top_inv = malloc((size_t)k * (size_t)k);
    ec->matrix = malloc((size_t)n * (size_t)k);
    if (v == NULL || top == NULL || top_inv == NULL || ec->matrix == NULL) {
        goto done;
    }
    v[0] = 1;
    for (int row = 1; row < n; row++) {
        for (int col = 0; col < k; col++) {
            v[row * k + col] = ts_gf256_alpha_pow((unsigned)((row - 1) * col));
        }
    }
    memcpy(top, v, (size_t)k * (size_t)k);
    if (gf_invert_matrix(top, top_inv, k) != 0) {
        err = TS_ERR_INTERNAL; /* impossible: distinct points */
        goto done;
    }
    ts_gf256_matrix_mul(v, top_inv, ec->matrix, n, k, k);
    for (int row = 0; row < k; row++) {
        for (int col = 0; col < k; col++) {
            TS_ASSERT(ec->matrix[row * k + col] == (row == col));
        }
    }
    err = TS_OK;
done:
    free(v);
    free(top);
    free(top_inv);
    return err;
}

ts_err ts_ec_new(int k, int n, size_t share_size, struct ts_ec **out)
{
    *out = NULL;
    if (k < 1 || n < k || n > TS_EC_SHARES_MAX || share_size < 1 ||
        share_size > TS_EC_SHARE_SIZE_MAX) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    ts_gf256_init();
    struct ts_ec *ec = calloc(1, sizeof *ec);
    if (ec == NULL) {
        return TS_ERR_NOMEM;
    }
    ec->k = k;
    ec->n = n;
    ec->share_size = share_size;
    TS_ASSERT(pthread_mutex_init(&ec->lock, NULL) == 0);
    ts_err err = ec_matrix_build(ec);
    if (err == TS_OK && n > k) {
        ec->parity_tables = malloc(32 * (size_t)k * (size_t)(n - k));
        if (ec->parity_tables == NULL) {
            err = TS_ERR_NOMEM;
        } else {
            ec_init_tables(k, n - k, ec->matrix + (size_t)k * (size_t)k, ec->parity_tables);
        }
    }
    if (err != TS_OK) {
        ts_ec_free(ec);
        return err;
    }
    *out = ec;
    return TS_OK;
}

static void ec_plan_free(struct ec_plan *plan)
{
    if (plan != NULL) {
        free(plan->tables);
        free(plan);
    }
}

void ts_ec_free(struct ts_ec *ec)
{
    if (ec == NULL) {
        return;
    }
    for (int i = 0; i < EC_PLAN_CACHE_SLOTS; i++) {
        TS_ASSERT(ec->cache[i] == NULL || ec->cache[i]->refs == 0);
        ec_plan_free(ec->cache[i]);
    }
    pthread_mutex_destroy(&ec->lock);
    free(ec->matrix);
    free(ec->parity_tables);
    free(ec);
}

int ts_ec_k(const struct ts_ec *ec)
{
    return ec->k;
}

int ts_ec_n(const struct ts_ec *ec)
{
    return ec->n;
}

size_t ts_ec_share_size(const struct ts_ec *ec)
{
    return ec->share_size;
}

size_t ts_ec_stripe_size(const struct ts_ec *ec)
{
    return (size_t)ec->k * ec->share_size;
}

uint8_t ts_ec_matrix_at(const struct ts_ec *ec, int row, int col)
{
    TS_ASSERT(row >= 0 && row < ec->n && col >= 0 && col < ec->k);
    return ec->matrix[row * ec->k + col];
}

/* ---- Plans (decode tables) and their cache ---- */

static int ec_set_equal(const struct ec_set *a, const struct ec_set *b)
{
    return memcmp(a->bits, b->bits, sizeof a->bits) == 0;
}

static int ec_set_list(const struct ec_set *s, int limit, int *nums)
{
    int count = 0;
    for (int v = 0; v < limit; v++) {
        if (ec_set_has(s, v)) {
            nums[count++] = v;
        }
    }
    return count;
}

/* Output row r = E[r] * inverse(E[src]): the coefficients that apply to the k source shares. */
static ts_err ec_plan_build(const struct ts_ec *ec, const struct ec_set *src,
                            const struct ec_set *out, struct ec_plan **result)
{
    int k = ec->k;
    ts_err err = TS_ERR_NOMEM;
    struct ec_plan *plan = calloc(1, sizeof *plan);
    uint8_t *sub = malloc((size_t)k * (size_t)k);
    uint8_t *inv = malloc((size_t)k * (size_t)k);
    uint8_t *rows = NULL;
    uint8_t *coef = NULL;
    if (plan == NULL || sub == NULL || inv == NULL) {
        goto done;
    }
    plan->src = *src;
    plan->out = *out;
    TS_ASSERT(ec_set_list(src, ec->n, plan->src_nums) == k);
    plan->out_count = ec_set_list(out, ec->n, plan->out_nums);
    TS_ASSERT(plan->out_count > 0);
    size_t m = (size_t)plan->out_count;
    rows = malloc(m * (size_t)k);
    coef = malloc(m * (size_t)k);
    plan->tables = malloc(32 * m * (size_t)k);
    if (rows == NULL || coef == NULL || plan->tables == NULL) {
        goto done;
    }
    for (int i = 0; i < k; i++) {
        memcpy(sub + i * k, ec->matrix + plan->src_nums[i] * k, (size_t)k);
    }
    if (gf_invert_matrix(sub, inv, k) != 0) {
        err = TS_ERR_INTERNAL; /* impossible: the code is MDS */
        goto done;
    }
    for (size_t i = 0; i < m; i++) {
        memcpy(rows + i * (size_t)k, ec->matrix + plan->out_nums[i] * k, (size_t)k);
    }
    ts_gf256_matrix_mul(rows, inv, coef, (int)m, k, k);
    ec_init_tables(k, (int)m, coef, plan->tables);
    plan->refs = 1;
    *result = plan;
    plan = NULL;
    err = TS_OK;
done:
    ec_plan_free(plan);
    free(sub);
    free(inv);
    free(rows);
    free(coef);
    return err;
}

/* The cache is logically const: it changes speed, never results. */
ts_err ec_plan_acquire(const struct ts_ec *cec, const struct ec_set *src, const struct ec_set *out,
                       struct ec_plan **plan)
{
    struct ts_ec *ec = (struct ts_ec *)cec;
    pthread_mutex_lock(&ec->lock);
    ec->stamp++;
    for (int i = 0; i < EC_PLAN_CACHE_SLOTS; i++) {
        struct ec_plan *p = ec->cache[i];
        if (p != NULL && ec_set_equal(&p->src, src) && ec_set_equal(&p->out, out)) {
            p->refs++;
            p->used = ec->stamp;
            pthread_mutex_unlock(&ec->lock);
            *plan = p;
            return TS_OK;
        }
    }
    pthread_mutex_unlock(&ec->lock);

    struct ec_plan *fresh = NULL;
    ts_err err = ec_plan_build(ec, src, out, &fresh);
    if (err != TS_OK) {
        return err;
    }
    pthread_mutex_lock(&ec->lock);
    int slot = -1;
    for (int i = 0; i < EC_PLAN_CACHE_SLOTS; i++) {
        struct ec_plan *p = ec->cache[i];
        if (p == NULL) {
            slot = i;
            break;
        }
        if (p->refs == 0 && (slot < 0 || p->used < ec->cache[slot]->used)) {
            slot = i;
        }
    }
    if (slot >= 0) {
        ec_plan_free(ec->cache[slot]);
        ec->cache[slot] = fresh;
        fresh->cached = 1;
        fresh->used = ec->stamp;
    }
    pthread_mutex_unlock(&ec->lock);
    *plan = fresh;
    return TS_OK;
}

void ec_plan_release(const struct ts_ec *cec, struct ec_plan *plan)
{
    struct ts_ec *ec = (struct ts_ec *)cec;
    pthread_mutex_lock(&ec->lock);
    TS_ASSERT(plan->refs > 0);
    plan->refs--;
    int drop = plan->refs == 0 && !plan->cached;
    pthread_mutex_unlock(&ec->lock);
    if (drop) {
        ec_plan_free(plan);
    }
}

/* ---- Encoding ---- */

static int ec_stripes_ok(const struct ts_ec *ec, size_t stripes)
{
    return stripes <= SIZE_MAX / ts_ec_stripe_size(ec);
}

ts_err ts_ec_encode(const struct ts_ec *ec, const uint8_t *data, size_t stripes,
                    uint8_t *const *pieces, size_t piece_count)
{
    if (piece_count != (size_t)ec->n || (data == NULL && stripes > 0) || pieces == NULL ||
        !ec_stripes_ok(ec, stripes)) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    for (int i = 0; i < ec->n; i++) {
        if (pieces[i] == NULL) {
            return TS_ERR_INVALID_ARGUMENT;
        }
    }
    int k = ec->k;
    size_t s = ec->share_size;
    size_t stripe = ts_ec_stripe_size(ec);
    size_t group = EC_GROUP_BYTES / s > 0 ? EC_GROUP_BYTES / s : 1;
    uint8_t *src[TS_EC_SHARES_MAX];
    uint8_t *dst[TS_EC_SHARES_MAX];
    for (size_t first = 0; first < stripes; first += group) {
        size_t count = stripes - first < group ? stripes - first : group;
        for (size_t j = first; j < first + count; j++) {
            const uint8_t *in = data + j * stripe;
            for (int i = 0; i < k; i++) {
                memcpy(pieces[i] + j * s, in + (size_t)i * s, s);
            }
        }
        if (ec->n == k) {
            continue;
        }
        for (int i = 0; i < k; i++) {
            src[i] = pieces[i] + first * s;
        }
        for (int i = k; i < ec->n; i++) {
            dst[i - k] = pieces[i] + first * s;
        }
        ec_encode_data((int)(count * s), k, ec->n - k, ec->parity_tables, src, dst);
    }
    return TS_OK;
}

ts_err ts_ec_encode_piece(const struct ts_ec *ec, int piece_num, const uint8_t *data,
                          size_t stripes, uint8_t *out)
{
    if (piece_num < 0 || piece_num >= ec->n || (stripes > 0 && (data == NULL || out == NULL)) ||
        !ec_stripes_ok(ec, stripes)) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    int k = ec->k;
    size_t s = ec->share_size;
    size_t stripe = ts_ec_stripe_size(ec);
    if (piece_num < k) {
        for (size_t j = 0; j < stripes; j++) {
            memcpy(out + j * s, data + j * stripe + (size_t)piece_num * s, s);
        }
        return TS_OK;
    }
    uint8_t *tables = ec->parity_tables + 32 * (size_t)k * (size_t)(piece_num - k);
    uint8_t *src[TS_EC_SHARES_MAX];
    for (size_t j = 0; j < stripes; j++) {
        for (int i = 0; i < k; i++) {
            src[i] = (uint8_t *)(data + j * stripe + (size_t)i * s);
        }
        uint8_t *dst = out + j * s;
        ec_encode_data((int)s, k, 1, tables, src, &dst);
    }
    return TS_OK;
}

/* ---- Decoding and repair ---- */

/* Validates the given pieces and picks the k lowest-numbered as sources. index_of[num] is the
 * position of piece num in the caller's arrays. */
static ts_err ec_sources_pick(const struct ts_ec *ec, const void *const *bufs, const int *nums,
                              size_t count, int *index_of, struct ec_set *given,
                              struct ec_set *src)
{
    if (count > (size_t)ec->n || (count > 0 && (bufs == NULL || nums == NULL))) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    *given = (struct ec_set){{0}};
    for (size_t j = 0; j < count; j++) {
        int num = nums[j];
        if (num < 0 || num >= ec->n || bufs[j] == NULL || ec_set_has(given, num)) {
            return TS_ERR_INVALID_ARGUMENT;
        }
        ec_set_add(given, num);
        index_of[num] = (int)j;
    }
    if (count < (size_t)ec->k) {
        return TS_ERR_NOT_ENOUGH_SHARES;
    }
    *src = (struct ec_set){{0}};
    int picked = 0;
    for (int num = 0; num < ec->n && picked < ec->k; num++) {
        if (ec_set_has(given, num)) {
            ec_set_add(src, num);
            picked++;
        }
    }
    return TS_OK;
}

ts_err ts_ec_decode(const struct ts_ec *ec, const uint8_t *const *pieces, const int *piece_nums,
                    size_t count, size_t stripes, uint8_t *out)
{
    int index_of[TS_EC_SHARES_MAX];
    struct ec_set given;
    struct ec_set src;
    ts_err err = ec_sources_pick(ec, (const void *const *)pieces, piece_nums, count, index_of,
                                 &given, &src);
    if (err != TS_OK) {
        return err;
    }
    if ((stripes > 0 && out == NULL) || !ec_stripes_ok(ec, stripes)) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    int k = ec->k;
    size_t s = ec->share_size;
    size_t stripe = ts_ec_stripe_size(ec);
    struct ec_set missing = {{0}};
    int present[TS_EC_SHARES_MAX];
    int present_count = 0;
    for (int i = 0; i < k; i++) {
        if (ec_set_has(&src, i)) {
            present[present_count++] = i;
        } else {
            ec_set_add(&missing, i);
        }
    }
    for (int p = 0; p < present_count; p++) {
        const uint8_t *piece = pieces[index_of[present[p]]];
        int i = present[p];
        for (size_t j = 0; j < stripes; j++) {
            memcpy(out + j * stripe + (size_t)i * s, piece + j * s, s);
        }
    }
    if (present_count == k || stripes == 0) {
        return TS_OK;
    }
    struct ec_plan *plan = NULL;
    err = ec_plan_acquire(ec, &src, &missing, &plan);
    if (err != TS_OK) {
        return err;
    }
    const uint8_t *base[TS_EC_SHARES_MAX];
    uint8_t *in[TS_EC_SHARES_MAX];
    uint8_t *dst[TS_EC_SHARES_MAX];
    for (int i = 0; i < k; i++) {
        base[i] = pieces[index_of[plan->src_nums[i]]];
    }
    for (size_t j = 0; j < stripes; j++) {
        for (int i = 0; i < k; i++) {
            in[i] = (uint8_t *)(base[i] + j * s);
        }
        for (int m = 0; m < plan->out_count; m++) {
            dst[m] = out + j * stripe + (size_t)plan->out_nums[m] * s;
        }
        ec_encode_data((int)s, k, plan->out_count, plan->tables, in, dst);
    }
    ec_plan_release(ec, plan);
    return TS_OK;
}

static void ec_rebuild_run(const struct ts_ec *ec, const struct ec_plan *plan,
                           const uint8_t *const *pieces, const int *index_of, size_t len,
                           uint8_t *const *outs)
{
    uint8_t *in[TS_EC_SHARES_MAX];
    uint8_t *dst[TS_EC_SHARES_MAX];
    for (size_t off = 0; off < len; off += EC_CHUNK_BYTES) {
        size_t chunk = len - off < EC_CHUNK_BYTES ? len - off : EC_CHUNK_BYTES;
        for (int i = 0; i < ec->k; i++) {
            in[i] = (uint8_t *)(pieces[index_of[plan->src_nums[i]]] + off);
        }
        for (int m = 0; m < plan->out_count; m++) {
            dst[m] = outs[m] + off;
        }
        ec_encode_data((int)chunk, ec->k, plan->out_count, plan->tables, in, dst);
    }
}

ts_err ts_ec_rebuild(const struct ts_ec *ec, const uint8_t *const *pieces, const int *piece_nums,
                     size_t count, size_t stripes, const int *want_nums, size_t want_count,
                     uint8_t *const *out_pieces)
{
    int index_of[TS_EC_SHARES_MAX];
    struct ec_set given;
    struct ec_set src;
    ts_err err = ec_sources_pick(ec, (const void *const *)pieces, piece_nums, count, index_of,
                                 &given, &src);
    if (err != TS_OK) {
        return err;
    }
    if (want_nums == NULL || out_pieces == NULL || want_count > (size_t)ec->n ||
        !ec_stripes_ok(ec, stripes)) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    size_t len = stripes * ec->share_size;
    struct ec_set want = {{0}};
    struct ec_set compute = {{0}};
    int out_index[TS_EC_SHARES_MAX];
    for (size_t w = 0; w < want_count; w++) {
        int num = want_nums[w];
        if (num < 0 || num >= ec->n || out_pieces[w] == NULL || ec_set_has(&want, num)) {
            return TS_ERR_INVALID_ARGUMENT;
        }
        ec_set_add(&want, num);
        out_index[num] = (int)w;
        if (!ec_set_has(&given, num)) {
            ec_set_add(&compute, num);
        }
    }
    for (size_t w = 0; w < want_count; w++) {
        if (ec_set_has(&given, want_nums[w])) {
            memcpy(out_pieces[w], pieces[index_of[want_nums[w]]], len);
        }
    }
    struct ec_set none = {{0}};
    if (ec_set_equal(&compute, &none) || len == 0) {
        return TS_OK;
    }
    struct ec_plan *plan = NULL;
    err = ec_plan_acquire(ec, &src, &compute, &plan);
    if (err != TS_OK) {
        return err;
    }
    uint8_t *outs[TS_EC_SHARES_MAX];
    for (int m = 0; m < plan->out_count; m++) {
        outs[m] = out_pieces[out_index[plan->out_nums[m]]];
    }
    ec_rebuild_run(ec, plan, pieces, index_of, len, outs);
    ec_plan_release(ec, plan);
    return TS_OK;
}
