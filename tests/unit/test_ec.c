/*
 * Unit tests for core/ec: the ISA-L coder against an independent naive encoder (Lagrange
 * interpolation with bitwise GF(2^8) arithmetic) and against zfec (Debian python3-zfec, through
 * tests/unit/zfec_oracle.py); decoding from every k-subset of small codes and random subsets of
 * production codes; repair of selected pieces; Berlekamp-Welch within and beyond its bound;
 * invalid arguments.
 */
#include <pthread.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "ec/ec.h"

extern char **environ;

/* ---- Test helpers: a deterministic generator and naive GF(2^8) ---- */

static uint64_t rng_state = 0x243F6A8885A308D3ull;

static uint32_t rng_next(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

static uint32_t rng_below(uint32_t bound)
{
    return rng_next() % bound;
}

static void rng_fill(uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        p[i] = (uint8_t)rng_next();
    }
}

static void rng_shuffle(int *v, int count)
{
    for (int i = count - 1; i > 0; i--) {
        int j = (int)rng_below((uint32_t)i + 1);
        int t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}

/* Shift-and-add multiplication modulo x^8+x^4+x^3+x^2+1: no tables, independent of core/ec. */
static uint8_t ref_mul(uint8_t a, uint8_t b)
{
    unsigned acc = 0;
    unsigned x = a;
    for (int bit = 0; bit < 8; bit++) {
        if (b & (1u << bit)) {
            acc ^= x;
        }
        x <<= 1;
        if (x & 0x100) {
            x ^= 0x11D;
        }
    }
    return (uint8_t)acc;
}

static uint8_t ref_inv(uint8_t a)
{
    for (unsigned b = 1; b < 256; b++) {
        if (ref_mul(a, (uint8_t)b) == 1) {
            return (uint8_t)b;
        }
    }
    fail_msg("no inverse for %u", a);
    return 0;
}

/* Evaluation point of share i: 0, 1, alpha, alpha^2, ... (zfec). */
static uint8_t ref_point(int i)
{
    uint8_t x = 1;
    if (i == 0) {
        return 0;
    }
    for (int j = 1; j < i; j++) {
        x = ref_mul(x, 2);
    }
    return x;
}

/* Lagrange basis: share j = sum_i data_i * L_i(x_j) with L_i(x_m) = [i == m] for m < k. */
static uint8_t ref_coef(int k, int j, int i)
{
    uint8_t num = 1;
    uint8_t den = 1;
    for (int m = 0; m < k; m++) {
        if (m != i) {
            num = ref_mul(num, ref_point(j) ^ ref_point(m));
            den = ref_mul(den, ref_point(i) ^ ref_point(m));
        }
    }
    return ref_mul(num, ref_inv(den));
}

/* Naive encoder: pieces (n x stripes*s, contiguous) from data in stripe layout. */
static void ref_encode(int k, int n, size_t s, const uint8_t *data, size_t stripes, uint8_t *out)
{
    uint8_t *coef = malloc((size_t)n * (size_t)k);
    assert_non_null(coef);
    for (int j = 0; j < n; j++) {
        for (int i = 0; i < k; i++) {
            coef[j * k + i] = ref_coef(k, j, i);
        }
    }
    size_t piece_len = stripes * s;
    for (int j = 0; j < n; j++) {
        for (size_t st = 0; st < stripes; st++) {
            for (size_t b = 0; b < s; b++) {
                uint8_t acc = 0;
                for (int i = 0; i < k; i++) {
                    acc ^= ref_mul(coef[j * k + i], data[st * (size_t)k * s + (size_t)i * s + b]);
                }
                out[(size_t)j * piece_len + st * s + b] = acc;
            }
        }
    }
    free(coef);
}

/* ---- A fixture: one code, random data, encoded pieces ---- */

struct fx {
    struct ts_ec *ec;
    int k;
    int n;
    size_t s;
    size_t stripes;
    size_t piece_len;
    uint8_t *data;
    uint8_t *pieces; /* n * piece_len, piece i at i * piece_len */
    uint8_t *ptr[TS_EC_SHARES_MAX];
};

static void fx_init(struct fx *f, int k, int n, size_t s, size_t stripes)
{
    memset(f, 0, sizeof *f);
    assert_int_equal(ts_ec_new(k, n, s, &f->ec), TS_OK);
    f->k = k;
    f->n = n;
    f->s = s;
    f->stripes = stripes;
    f->piece_len = stripes * s;
    f->data = malloc(stripes * (size_t)k * s + 1);
    f->pieces = malloc((size_t)n * f->piece_len + 1);
    assert_non_null(f->data);
    assert_non_null(f->pieces);
    rng_fill(f->data, stripes * (size_t)k * s);
    for (int i = 0; i < n; i++) {
        f->ptr[i] = f->pieces + (size_t)i * f->piece_len;
    }
    assert_int_equal(ts_ec_encode(f->ec, f->data, stripes, f->ptr, (size_t)n), TS_OK);
}

static void fx_release(struct fx *f)
{
    ts_ec_free(f->ec);
    free(f->data);
    free(f->pieces);
}

/* Decodes from the pieces nums[0..count) (in that order) and checks data and repair. */
static void fx_check_decode(struct fx *f, const int *nums, int count)
{
    const uint8_t *given[TS_EC_SHARES_MAX];
    for (int j = 0; j < count; j++) {
        given[j] = f->ptr[nums[j]];
    }
    size_t data_len = f->stripes * (size_t)f->k * f->s;
    uint8_t *out = malloc(data_len + 1);
    assert_non_null(out);
    memset(out, 0xA5, data_len);
    assert_int_equal(ts_ec_decode(f->ec, given, nums, (size_t)count, f->stripes, out), TS_OK);
    assert_memory_equal(out, f->data, data_len);
    free(out);

    /* Repair: rebuild every piece not given, plus one given piece (copied). */
    int want[TS_EC_SHARES_MAX];
    int want_count = 0;
    int present[TS_EC_SHARES_MAX] = {0};
    for (int j = 0; j < count; j++) {
        present[nums[j]] = 1;
    }
    for (int i = 0; i < f->n; i++) {
        if (!present[i]) {
            want[want_count++] = i;
        }
    }
    want[want_count++] = nums[0];
    rng_shuffle(want, want_count);
    uint8_t *rebuilt = malloc((size_t)want_count * f->piece_len + 1);
    uint8_t *outs[TS_EC_SHARES_MAX];
    assert_non_null(rebuilt);
    for (int w = 0; w < want_count; w++) {
        outs[w] = rebuilt + (size_t)w * f->piece_len;
    }
    assert_int_equal(ts_ec_rebuild(f->ec, given, nums, (size_t)count, f->stripes, want,
                                   (size_t)want_count, outs),
                     TS_OK);
    for (int w = 0; w < want_count; w++) {
        assert_memory_equal(outs[w], f->ptr[want[w]], f->piece_len);
    }
    free(rebuilt);
}

/* ---- Encoding ---- */

static void test_encode_matches_naive_reference(void **state)
{
    (void)state;
    static const int codes[][2] = {{1, 1}, {1, 3}, {2, 4}, {3, 6}, {4, 10}, {10, 10},
                                   {29, 80}, {29, 110}, {5, 255}};
    static const size_t sizes[] = {1, 7, 64, 256, 300};
    for (size_t c = 0; c < TS_ARRAY_LEN(codes); c++) {
        int k = codes[c][0];
        int n = codes[c][1];
        for (size_t z = 0; z < TS_ARRAY_LEN(sizes); z++) {
            size_t s = sizes[z];
            if (n > 100 && s > 64) {
                continue; /* the naive encoder is slow; larger sizes are covered by zfec */
            }
            struct fx f;
            fx_init(&f, k, n, s, 3);
            uint8_t *want = malloc((size_t)n * f.piece_len);
            assert_non_null(want);
            ref_encode(k, n, s, f.data, f.stripes, want);
            assert_memory_equal(f.pieces, want, (size_t)n * f.piece_len);
            uint8_t *one = malloc(f.piece_len);
            assert_non_null(one);
            for (int i = 0; i < n; i++) {
                assert_int_equal(ts_ec_encode_piece(f.ec, i, f.data, f.stripes, one), TS_OK);
                assert_memory_equal(one, f.ptr[i], f.piece_len);
            }
            free(one);
            free(want);
            fx_release(&f);
        }
    }
}

static void test_matrix_is_systematic_vandermonde(void **state)
{
    (void)state;
    struct ts_ec *ec = NULL;
    assert_int_equal(ts_ec_new(29, 110, 256, &ec), TS_OK);
    assert_int_equal(ts_ec_k(ec), 29);
    assert_int_equal(ts_ec_n(ec), 110);
    assert_int_equal(ts_ec_share_size(ec), 256);
    assert_int_equal(ts_ec_stripe_size(ec), 7424);
    for (int row = 0; row < 110; row += 7) {
        for (int col = 0; col < 29; col++) {
            assert_int_equal(ts_ec_matrix_at(ec, row, col), ref_coef(29, row, col));
        }
    }
    ts_ec_free(ec);
    ts_ec_free(NULL);
}

/* zfec.Encoder(2, 4).encode([b"ab", b"cd"]) == [b"ab", b"cd", b"en", b"iz"]. */
static void test_known_answer_from_zfec(void **state)
{
    (void)state;
    struct ts_ec *ec = NULL;
    assert_int_equal(ts_ec_new(2, 4, 2, &ec), TS_OK);
    uint8_t p[4][2];
    uint8_t *ptr[4] = {p[0], p[1], p[2], p[3]};
    assert_int_equal(ts_ec_encode(ec, (const uint8_t *)"abcd", 1, ptr, 4), TS_OK);
    assert_memory_equal(p, "abcdeniz", 8);
    ts_ec_free(ec);
}

static void run_zfec(int k, int n, size_t s, const char *in, const char *out)
{
    const char *src = getenv("TS_SOURCE_DIR");
    const char *python = getenv("TS_PYTHON") ? getenv("TS_PYTHON") : "/usr/bin/python3";
    assert_non_null(src);
    char script[4096];
    char ks[16];
    char ns[16];
    char ss[32];
    snprintf(script, sizeof script, "%s/tests/unit/zfec_oracle.py", src);
    snprintf(ks, sizeof ks, "%d", k);
    snprintf(ns, sizeof ns, "%d", n);
    snprintf(ss, sizeof ss, "%zu", s);
    char *argv[] = {(char *)python, script, ks, ns, ss, (char *)in, (char *)out, NULL};
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, python, NULL, NULL, argv, environ), 0);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_pieces_equal_zfec(void **state)
{
    (void)state;
    static const struct {
        int k, n;
        size_t s, stripes;
    } cases[] = {{2, 4, 2, 1}, {3, 5, 64, 4}, {4, 10, 256, 3}, {13, 40, 100, 3},
                 {29, 80, 256, 2}, {29, 110, 256, 2}, {1, 2, 5, 2}};
    char dir[] = "/tmp/test_ec_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char in[64];
    char out[64];
    snprintf(in, sizeof in, "%s/in", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    for (size_t c = 0; c < TS_ARRAY_LEN(cases); c++) {
        struct fx f;
        fx_init(&f, cases[c].k, cases[c].n, cases[c].s, cases[c].stripes);
        size_t data_len = f.stripes * (size_t)f.k * f.s;
        FILE *fp = fopen(in, "wb");
        assert_non_null(fp);
        assert_int_equal(fwrite(f.data, 1, data_len, fp), data_len);
        fclose(fp);
        run_zfec(f.k, f.n, f.s, in, out);
        size_t total = (size_t)f.n * f.piece_len;
        uint8_t *z = malloc(total + 1);
        assert_non_null(z);
        fp = fopen(out, "rb");
        assert_non_null(fp);
        assert_int_equal(fread(z, 1, total + 1, fp), total);
        fclose(fp);
        assert_memory_equal(z, f.pieces, total);
        free(z);
        fx_release(&f);
    }
    unlink(in);
    unlink(out);
    rmdir(dir);
}

/* ---- Decoding and repair ---- */

static void test_every_subset_decodes(void **state)
{
    (void)state;
    static const int codes[][2] = {{2, 4}, {3, 6}, {4, 10}, {1, 3}, {3, 3}};
    for (size_t c = 0; c < TS_ARRAY_LEN(codes); c++) {
        struct fx f;
        fx_init(&f, codes[c][0], codes[c][1], 48, 3);
        int subsets = 0;
        for (unsigned mask = 0; mask < (1u << f.n); mask++) {
            if (__builtin_popcount(mask) != f.k) {
                continue;
            }
            int nums[TS_EC_SHARES_MAX];
            int count = 0;
            for (int i = 0; i < f.n; i++) {
                if (mask & (1u << i)) {
                    nums[count++] = i;
                }
            }
            rng_shuffle(nums, count);
            fx_check_decode(&f, nums, count);
            subsets++;
        }
        assert_true(subsets > 0);
        fx_release(&f);
    }
}

static void test_random_subsets_of_production_codes(void **state)
{
    (void)state;
    static const int codes[][2] = {{29, 80}, {29, 110}};
    for (size_t c = 0; c < TS_ARRAY_LEN(codes); c++) {
        struct fx f;
        fx_init(&f, codes[c][0], codes[c][1], 256, 5);
        for (int trial = 0; trial < 12; trial++) {
            int nums[TS_EC_SHARES_MAX];
            for (int i = 0; i < f.n; i++) {
                nums[i] = i;
            }
            rng_shuffle(nums, f.n);
            int count = f.k + (int)rng_below(4);
            if (trial == 0) {
                for (int i = 0; i < f.k; i++) {
                    nums[i] = f.n - f.k + i; /* worst case: parity only */
                }
                count = f.k;
            }
            fx_check_decode(&f, nums, count);
        }
        fx_release(&f);
    }
}

struct thread_arg {
    struct fx *f;
    int seed;
    int ok;
};

static void *decode_thread(void *p)
{
    struct thread_arg *a = p;
    struct fx *f = a->f;
    size_t data_len = f->stripes * (size_t)f->k * f->s;
    uint8_t *out = malloc(data_len);
    a->ok = out != NULL;
    for (int round = 0; round < 40 && a->ok; round++) {
        int nums[4];
        const uint8_t *given[4];
        for (int j = 0; j < 4; j++) {
            nums[j] = (a->seed + round + 3 * j) % f->n; /* 4 distinct: step 3 mod 10 */
            given[j] = f->ptr[nums[j]];
        }
        a->ok = ts_ec_decode(f->ec, given, nums, 4, f->stripes, out) == TS_OK &&
                memcmp(out, f->data, data_len) == 0;
    }
    free(out);
    return NULL;
}

/* Two threads decode with many survivor sets: the shared plan cache keeps evicting. */
static void test_concurrent_decodes_share_the_plan_cache(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 4, 10, 64, 4);
    pthread_t t[2];
    struct thread_arg args[2] = {{&f, 0, 0}, {&f, 5, 0}};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, decode_thread, &args[i]), 0);
    }
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_true(args[i].ok);
    }
    fx_release(&f);
}

/* ---- Berlekamp-Welch ---- */

/* One stripe's shares, selected and shuffled, with a pristine copy. */
struct stripe_set {
    int r;
    int nums[TS_EC_SHARES_MAX];
    uint8_t *shares[TS_EC_SHARES_MAX];
    uint8_t *orig[TS_EC_SHARES_MAX];
    uint8_t *buf;
};

static void stripe_set_init(struct stripe_set *ss, struct fx *f, int r)
{
    int all[TS_EC_SHARES_MAX];
    for (int i = 0; i < f->n; i++) {
        all[i] = i;
    }
    rng_shuffle(all, f->n);
    ss->r = r;
    ss->buf = malloc(2 * (size_t)r * f->s);
    assert_non_null(ss->buf);
    for (int j = 0; j < r; j++) {
        ss->nums[j] = all[j];
        ss->shares[j] = ss->buf + (size_t)j * f->s;
        ss->orig[j] = ss->buf + (size_t)(r + j) * f->s;
        memcpy(ss->shares[j], f->ptr[all[j]], f->s); /* stripe 0 */
        memcpy(ss->orig[j], f->ptr[all[j]], f->s);
    }
}

/* Corrupts every byte of `count` random shares; returns their numbers as a sorted bitmap. */
static void corrupt_shares(struct stripe_set *ss, size_t s, int count, int *is_bad)
{
    int pos[TS_EC_SHARES_MAX];
    for (int j = 0; j < ss->r; j++) {
        pos[j] = j;
    }
    rng_shuffle(pos, ss->r);
    memset(is_bad, 0, sizeof(int) * TS_EC_SHARES_MAX);
    for (int c = 0; c < count; c++) {
        for (size_t b = 0; b < s; b++) {
            ss->shares[pos[c]][b] ^= (uint8_t)(1 + rng_below(255));
        }
        is_bad[ss->nums[pos[c]]] = 1;
    }
}

static void check_corrected(struct stripe_set *ss, struct fx *f, int expect_bad_count,
                            const int *is_bad)
{
    int bad[TS_EC_SHARES_MAX];
    size_t bad_count = 999;
    assert_int_equal(ts_ec_correct(f->ec, ss->shares, ss->nums, (size_t)ss->r, bad, &bad_count),
                     TS_OK);
    assert_int_equal(bad_count, expect_bad_count);
    for (size_t i = 0; i < bad_count; i++) {
        assert_true(is_bad[bad[i]]);
        assert_true(i == 0 || bad[i] > bad[i - 1]);
    }
    for (int j = 0; j < ss->r; j++) {
        assert_memory_equal(ss->shares[j], ss->orig[j], f->s);
    }
}

static void test_correct_names_exactly_the_bad_shares(void **state)
{
    (void)state;
    static const struct {
        int k, n, r;
        size_t s;
    } cases[] = {{29, 80, 80, 256}, {29, 110, 59, 256}, {4, 10, 10, 64}, {4, 10, 9, 64},
                 {4, 10, 5, 64},    {1, 5, 5, 16},      {10, 30, 30, 33}};
    for (size_t c = 0; c < TS_ARRAY_LEN(cases); c++) {
        struct fx f;
        fx_init(&f, cases[c].k, cases[c].n, cases[c].s, 1);
        int e = (cases[c].r - cases[c].k) / 2;
        for (int t = 0; t <= e; t++) {
            struct stripe_set ss;
            int is_bad[TS_EC_SHARES_MAX];
            stripe_set_init(&ss, &f, cases[c].r);
            corrupt_shares(&ss, f.s, t, is_bad);
            check_corrected(&ss, &f, t, is_bad);
            free(ss.buf);
        }
        fx_release(&f);
    }
}

/* Each byte column has up to e errors, at different shares per column. */
static void test_correct_handles_errors_that_move_between_columns(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 29, 80, 24, 1);
    struct stripe_set ss;
    stripe_set_init(&ss, &f, 75);
    int e = (75 - 29) / 2;
    int is_bad[TS_EC_SHARES_MAX] = {0};
    int expect = 0;
    for (size_t b = 0; b < f.s; b++) {
        int pos[TS_EC_SHARES_MAX];
        for (int j = 0; j < ss.r; j++) {
            pos[j] = j;
        }
        rng_shuffle(pos, ss.r);
        int t = (int)rng_below((uint32_t)e + 1);
        for (int c = 0; c < t; c++) {
            ss.shares[pos[c]][b] ^= (uint8_t)(1 + rng_below(255));
            if (!is_bad[ss.nums[pos[c]]]) {
                is_bad[ss.nums[pos[c]]] = 1;
                expect++;
            }
        }
    }
    check_corrected(&ss, &f, expect, is_bad);
    free(ss.buf);
    fx_release(&f);
}

/*
 * One error past the bound e = floor((r-k)/2), in every column. The code restricted to the r
 * given shares has minimum distance r-k+1, so another codeword is at least r-k+1-(e+1) = r-k-e
 * from the received word. When r-k is odd that is e+1 > e: no codeword lies within e, and
 * correction must fail. When r-k is even a wrong codeword may lie at distance e: then either
 * failure, or a valid codeword that differs from the received word in at most e places per
 * column and is not the original (which is e+1 away).
 */
static void test_correct_beyond_the_bound(void **state)
{
    (void)state;
    static const struct {
        int k, n, r;
        size_t s;
    } cases[] = {{29, 80, 80, 64}, {29, 80, 79, 64}, {4, 10, 10, 64}, {4, 10, 9, 64},
                 {4, 10, 5, 64},   {3, 4, 4, 64},    {10, 30, 29, 33}};
    for (size_t c = 0; c < TS_ARRAY_LEN(cases); c++) {
        struct fx f;
        fx_init(&f, cases[c].k, cases[c].n, cases[c].s, 1);
        int e = (cases[c].r - cases[c].k) / 2;
        int odd = (cases[c].r - cases[c].k) % 2 == 1;
        for (int trial = 0; trial < 4; trial++) {
            struct stripe_set ss;
            int is_bad[TS_EC_SHARES_MAX];
            stripe_set_init(&ss, &f, cases[c].r);
            corrupt_shares(&ss, f.s, e + 1, is_bad);
            uint8_t *received = malloc((size_t)ss.r * f.s);
            assert_non_null(received);
            for (int j = 0; j < ss.r; j++) {
                memcpy(received + (size_t)j * f.s, ss.shares[j], f.s);
            }
            int bad[TS_EC_SHARES_MAX];
            size_t bad_count = 0;
            ts_err err = ts_ec_correct(f.ec, ss.shares, ss.nums, (size_t)ss.r, bad, &bad_count);
            if (odd) {
                assert_int_equal(err, TS_ERR_TOO_MANY_ERRORS);
            } else if (err == TS_OK) {
                int differs_from_original = 0;
                for (size_t b = 0; b < f.s; b++) {
                    int changed = 0;
                    for (int j = 0; j < ss.r; j++) {
                        changed += ss.shares[j][b] != received[(size_t)j * f.s + b];
                        differs_from_original |= ss.shares[j][b] != ss.orig[j][b];
                    }
                    assert_true(changed <= e);
                }
                assert_true(differs_from_original);
                size_t again = 1;
                assert_int_equal(ts_ec_correct(f.ec, ss.shares, ss.nums, (size_t)ss.r, bad, &again),
                                 TS_OK);
                assert_int_equal(again, 0);
            } else {
                assert_int_equal(err, TS_ERR_TOO_MANY_ERRORS);
            }
            free(received);
            free(ss.buf);
        }
        fx_release(&f);
    }
}

/* ---- Invalid arguments ---- */

static void test_invalid_arguments(void **state)
{
    (void)state;
    struct ts_ec *ec = (struct ts_ec *)1;
    assert_int_equal(ts_ec_new(0, 4, 256, &ec), TS_ERR_INVALID_ARGUMENT);
    assert_null(ec);
    assert_int_equal(ts_ec_new(5, 4, 256, &ec), TS_ERR_INVALID_ARGUMENT);
    assert_int_equal(ts_ec_new(4, 256, 256, &ec), TS_ERR_INVALID_ARGUMENT);
    assert_int_equal(ts_ec_new(4, 10, 0, &ec), TS_ERR_INVALID_ARGUMENT);
    assert_int_equal(ts_ec_new(4, 10, TS_EC_SHARE_SIZE_MAX + 1, &ec), TS_ERR_INVALID_ARGUMENT);
    assert_int_equal(ts_ec_new(1, 255, TS_EC_SHARE_SIZE_MAX, &ec), TS_OK);
    ts_ec_free(ec);

    struct fx f;
    fx_init(&f, 4, 10, 16, 2);
    uint8_t out[4 * 16 * 2];
    const uint8_t *given[11];
    int nums[11];
    for (int i = 0; i < 10; i++) {
        given[i] = f.ptr[i];
        nums[i] = i;
    }
    given[10] = f.ptr[0];
    nums[10] = 0;
    assert_int_equal(ts_ec_encode(f.ec, f.data, 2, f.ptr, 9), TS_ERR_INVALID_ARGUMENT);
    assert_int_equal(ts_ec_encode(f.ec, f.data, 2, f.ptr, 11), TS_ERR_INVALID_ARGUMENT);
    assert_int_equal(ts_ec_encode_piece(f.ec, 10, f.data, 2, out), TS_ERR_INVALID_ARGUMENT);
    assert_int_equal(ts_ec_encode_piece(f.ec, -1, f.data, 2, out), TS_ERR_INVALID_ARGUMENT);
    assert_int_equal(ts_ec_decode(f.ec, given, nums, 3, 2, out), TS_ERR_NOT_ENOUGH_SHARES);
    assert_int_equal(ts_ec_decode(f.ec, given, nums, 0, 2, out), TS_ERR_NOT_ENOUGH_SHARES);
    assert_int_equal(ts_ec_decode(f.ec, given, nums, 11, 2, out), TS_ERR_INVALID_ARGUMENT);
    int dup[4] = {1, 2, 2, 3};
    assert_int_equal(ts_ec_decode(f.ec, given, dup, 4, 2, out), TS_ERR_INVALID_ARGUMENT);
    int range[4] = {1, 2, 10, 3};
    assert_int_equal(ts_ec_decode(f.ec, given, range, 4, 2, out), TS_ERR_INVALID_ARGUMENT);
    const uint8_t *with_null[4] = {f.ptr[0], NULL, f.ptr[2], f.ptr[3]};
    assert_int_equal(ts_ec_decode(f.ec, with_null, nums, 4, 2, out), TS_ERR_INVALID_ARGUMENT);
    uint8_t rebuilt[32];
    uint8_t *outs[2] = {rebuilt, rebuilt + 16};
    int want_dup[2] = {5, 5};
    assert_int_equal(ts_ec_rebuild(f.ec, given, nums, 4, 1, want_dup, 2, outs),
                     TS_ERR_INVALID_ARGUMENT);
    int want_range[2] = {5, 11};
    assert_int_equal(ts_ec_rebuild(f.ec, given, nums, 4, 1, want_range, 2, outs),
                     TS_ERR_INVALID_ARGUMENT);
    assert_int_equal(ts_ec_rebuild(f.ec, given, nums, 2, 1, want_dup, 1, outs),
                     TS_ERR_NOT_ENOUGH_SHARES);

    uint8_t *shares[10];
    for (int i = 0; i < 10; i++) {
        shares[i] = f.ptr[i];
    }
    int bad[10];
    size_t bad_count = 0;
    assert_int_equal(ts_ec_correct(f.ec, shares, nums, 3, bad, &bad_count),
                     TS_ERR_NOT_ENOUGH_SHARES);
    assert_int_equal(ts_ec_correct(f.ec, shares, dup, 4, bad, &bad_count),
                     TS_ERR_INVALID_ARGUMENT);
    assert_int_equal(ts_ec_correct(f.ec, shares, nums, 10, NULL, &bad_count),
                     TS_ERR_INVALID_ARGUMENT);
    assert_int_equal(ts_ec_correct(f.ec, shares, nums, 4, bad, &bad_count), TS_OK);
    assert_int_equal(bad_count, 0); /* k shares: nothing to check against */
    fx_release(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_matches_naive_reference),
        cmocka_unit_test(test_matrix_is_systematic_vandermonde),
        cmocka_unit_test(test_known_answer_from_zfec),
        cmocka_unit_test(test_pieces_equal_zfec),
        cmocka_unit_test(test_every_subset_decodes),
        cmocka_unit_test(test_random_subsets_of_production_codes),
        cmocka_unit_test(test_concurrent_decodes_share_the_plan_cache),
        cmocka_unit_test(test_correct_names_exactly_the_bad_shares),
        cmocka_unit_test(test_correct_handles_errors_that_move_between_columns),
        cmocka_unit_test(test_correct_beyond_the_bound),
        cmocka_unit_test(test_invalid_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
