/*
 * bench_core: the per-byte work of the core library against same-run baselines.
 *
 *   rs encode / worst-case decode (29/80, 29/110, 4/10) vs ISA-L ec_encode_data in 16 KiB column
 *     chunks on the same buffers;
 *   AES-256-GCM segment encryption (ts_segment_encrypt, 7,424-byte blocks) vs one OpenSSL EVP
 *     call over the whole buffer;
 *   SHA-256 piece hashing (ts_sha256_ctx) vs OpenSSL EVP_Digest on the same pieces;
 *   the upload pipeline encrypt -> encode -> hash every piece, on one and two threads, vs the
 *     same pipeline written with raw OpenSSL and ISA-L calls.
 *
 * Usage: bench_core [--quick] [--reps N]. --quick uses a 4 MiB segment (smoke run). Figures are
 * MB/s (1e6 B/s) of segment bytes, best and median over the reps; ours and the baseline run
 * alternately so drift hits both. Read ratios, not absolute numbers (shared, noisy machine).
 */
#include <isa-l/erasure_code.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "crypto/hash.h"
#include "crypto/segment.h"
#include "ec/ec.h"

#define SHARE_SIZE 256
#define PIECES_MAX 110
#define REPS_MAX 32
#define RAW_CHUNK_BYTES 16384
/* Pipeline: blocks encrypted, encoded and hashed together (about 116 KiB of ciphertext). */
#define PIPE_GROUP_BLOCKS 16

static size_t seg_bytes = 64u << 20;
static int reps = 5;

/* ---- Buffers allocated and touched once ---- */
static uint8_t *plain;  /* seg_bytes + a stripe of slack */
static uint8_t *cipher; /* encrypted segment / decode output */
static uint8_t *piece_mem[2];
static size_t piece_cap; /* bytes per piece slot */

static void *alloc_touched(size_t len)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, len) != 0) {
        fprintf(stderr, "bench_core: out of memory (%zu bytes)\n", len);
        exit(1);
    }
    memset(p, 0, len);
    return p;
}

static void check(ts_err err, const char *what)
{
    if (err != TS_OK) {
        fprintf(stderr, "bench_core: %s failed: %s\n", what, ts_strerror(err));
        exit(1);
    }
}

static double now_s(void)
{
    return (double)ts_monotonic_ns() / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

struct stat2 {
    double best;
    double median;
};

static struct stat2 summarize(double *mbs, int count)
{
    qsort(mbs, (size_t)count, sizeof *mbs, cmp_double);
    return (struct stat2){mbs[count - 1], mbs[count / 2]};
}

static void report(const char *what, struct stat2 ours, struct stat2 raw, const char *raw_name)
{
    printf("%-38s tessera %7.0f / %7.0f   %-10s %7.0f / %7.0f   ratio %.2f / %.2f\n", what,
           ours.best, ours.median, raw_name, raw.best, raw.median, ours.best / raw.best,
           ours.median / raw.median);
    fflush(stdout);
}

/* Runs ours and raw alternately reps times; each returns seconds for `bytes` bytes. */
static void measure(const char *what, const char *raw_name, double bytes, double (*ours)(void *),
                    double (*raw)(void *), void *arg)
{
    double a[REPS_MAX];
    double b[REPS_MAX];
    ours(arg); /* warm-up */
    raw(arg);
    for (int r = 0; r < reps; r++) {
        a[r] = bytes / ours(arg) / 1e6;
        b[r] = bytes / raw(arg) / 1e6;
    }
    report(what, summarize(a, reps), summarize(b, reps), raw_name);
}

/* ---- Reed-Solomon ---- */

struct rs_case {
    struct ts_ec *ec;
    int k;
    int n;
    size_t stripes;
    size_t piece_len;
    uint8_t *pieces[PIECES_MAX];
    uint8_t *parity_tables;
    /* worst-case decode: parity survivors first */
    int nums[PIECES_MAX];
    const uint8_t *given[PIECES_MAX];
    int missing;
    uint8_t *decode_tables;
};

static void raw_run(int k, int rows, uint8_t *tables, uint8_t *const *src, uint8_t *const *dst,
                    size_t len)
{
    uint8_t *s[PIECES_MAX];
    uint8_t *d[PIECES_MAX];
    for (size_t off = 0; off < len; off += RAW_CHUNK_BYTES) {
        size_t chunk = len - off < RAW_CHUNK_BYTES ? len - off : RAW_CHUNK_BYTES;
        for (int i = 0; i < k; i++) {
            s[i] = src[i] + off;
        }
        for (int i = 0; i < rows; i++) {
            d[i] = dst[i] + off;
        }
        ec_encode_data((int)chunk, k, rows, tables, s, d);
    }
}

static double rs_encode_ours(void *p)
{
    struct rs_case *c = p;
    double t0 = now_s();
    check(ts_ec_encode(c->ec, plain, c->stripes, c->pieces, (size_t)c->n), "encode");
    return now_s() - t0;
}

static double rs_encode_raw(void *p)
{
    struct rs_case *c = p;
    double t0 = now_s();
    raw_run(c->k, c->n - c->k, c->parity_tables, c->pieces, c->pieces + c->k, c->piece_len);
    return now_s() - t0;
}

/* The raw kernel plus the gather of data shares into the data pieces, which ts_ec_encode also
 * does (the kernel alone reads data that is already laid out as pieces). */
static double rs_encode_raw_gather(void *p)
{
    struct rs_case *c = p;
    size_t stripe = (size_t)c->k * SHARE_SIZE;
    size_t per_chunk = RAW_CHUNK_BYTES / SHARE_SIZE;
    uint8_t *s[PIECES_MAX];
    double t0 = now_s();
    for (size_t first = 0; first < c->stripes; first += per_chunk) {
        size_t count = c->stripes - first < per_chunk ? c->stripes - first : per_chunk;
        for (size_t j = first; j < first + count; j++) {
            for (int i = 0; i < c->k; i++) {
                memcpy(c->pieces[i] + j * SHARE_SIZE, plain + j * stripe + (size_t)i * SHARE_SIZE,
                       SHARE_SIZE);
            }
        }
        for (int i = 0; i < c->n; i++) {
            s[i] = c->pieces[i] + first * SHARE_SIZE;
        }
        ec_encode_data((int)(count * SHARE_SIZE), c->k, c->n - c->k, c->parity_tables, s,
                       s + c->k);
    }
    return now_s() - t0;
}

static double rs_decode_ours(void *p)
{
    struct rs_case *c = p;
    double t0 = now_s();
    check(ts_ec_decode(c->ec, c->given, c->nums, (size_t)c->k, c->stripes, cipher), "decode");
    return now_s() - t0;
}

/* The raw decode writes the missing data pieces contiguously into the decode output buffer. */
static double rs_decode_raw(void *p)
{
    struct rs_case *c = p;
    uint8_t *dst[PIECES_MAX];
    for (int i = 0; i < c->missing; i++) {
        dst[i] = cipher + (size_t)i * c->piece_len;
    }
    double t0 = now_s();
    raw_run(c->k, c->missing, c->decode_tables, (uint8_t *const *)c->given, dst, c->piece_len);
    return now_s() - t0;
}

static void rs_tables(struct rs_case *c)
{
    int k = c->k;
    int p = c->n - k;
    uint8_t *m = malloc((size_t)c->n * (size_t)k);
    uint8_t *sub = malloc((size_t)k * (size_t)k);
    uint8_t *inv = malloc((size_t)k * (size_t)k);
    c->parity_tables = malloc(32 * (size_t)k * (size_t)p);
    c->decode_tables = malloc(32 * (size_t)k * (size_t)k);
    if (!m || !sub || !inv || !c->parity_tables || !c->decode_tables) {
        exit(1);
    }
    for (int r = 0; r < c->n; r++) {
        for (int i = 0; i < k; i++) {
            m[r * k + i] = ts_ec_matrix_at(c->ec, r, i);
        }
    }
    ec_init_tables(k, p, m + k * k, c->parity_tables);
    /* Worst case: min(k, p) parity pieces survive instead of the first data pieces. */
    c->missing = p < k ? p : k;
    int at = 0;
    for (int i = c->missing; i < k; i++) {
        c->nums[at++] = i;
    }
    for (int i = 0; i < c->missing; i++) {
        c->nums[at++] = k + i;
    }
    for (int i = 0; i < k; i++) {
        c->given[i] = c->pieces[c->nums[i]];
        memcpy(sub + i * k, m + c->nums[i] * k, (size_t)k);
    }
    if (gf_invert_matrix(sub, inv, k) != 0) {
        exit(1);
    }
    /* Row d of the inverse rebuilds data piece d; the missing ones are 0..missing-1. */
    ec_init_tables(k, c->missing, inv, c->decode_tables);
    free(m);
    free(sub);
    free(inv);
}

static void bench_rs(int k, int n)
{
    struct rs_case c = {.k = k, .n = n};
    check(ts_ec_new(k, n, SHARE_SIZE, &c.ec), "ts_ec_new");
    c.stripes = seg_bytes / ts_ec_stripe_size(c.ec);
    c.piece_len = c.stripes * SHARE_SIZE;
    for (int i = 0; i < n; i++) {
        c.pieces[i] = piece_mem[0] + (size_t)i * piece_cap;
    }
    rs_tables(&c);
    double bytes = (double)c.stripes * (double)ts_ec_stripe_size(c.ec);
    char what[96];
    snprintf(what, sizeof what, "rs encode %d/%d", k, n);
    measure(what, "isa-l raw", bytes, rs_encode_ours, rs_encode_raw, &c);
    snprintf(what, sizeof what, "rs encode %d/%d vs gather+kernel", k, n);
    measure(what, "raw+gather", bytes, rs_encode_ours, rs_encode_raw_gather, &c);
    snprintf(what, sizeof what, "rs decode %d/%d (rebuild %d data)", k, n, c.missing);
    measure(what, "isa-l raw", bytes, rs_decode_ours, rs_decode_raw, &c);
    check(ts_ec_decode(c.ec, c.given, c.nums, (size_t)k, c.stripes, cipher), "decode");
    if (memcmp(cipher, plain, (size_t)bytes) != 0) {
        fprintf(stderr, "bench_core: decode mismatch for %d/%d\n", k, n);
        exit(1);
    }
    free(c.parity_tables);
    free(c.decode_tables);
    ts_ec_free(c.ec);
}

/* ---- AES-256-GCM and SHA-256 ---- */

static const uint8_t bench_key[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9};

struct crypto_case {
    struct ts_segment_cipher *seg;
    EVP_CIPHER_CTX *evp;
    uint8_t nonce[24];
    struct ts_sha256_ctx *sha;
    int n;
    size_t piece_len;
};

static double aes_ours(void *p)
{
    struct crypto_case *c = p;
    double t0 = now_s();
    check(ts_segment_encrypt(c->seg, bench_key, c->nonce, plain, seg_bytes, cipher), "encrypt");
    return now_s() - t0;
}

static double aes_raw(void *p)
{
    struct crypto_case *c = p;
    uint8_t tag[16];
    int len = 0;
    double t0 = now_s();
    if (EVP_EncryptInit_ex(c->evp, EVP_aes_256_gcm(), NULL, bench_key, c->nonce) != 1 ||
        EVP_EncryptUpdate(c->evp, cipher, &len, plain, (int)seg_bytes) != 1 ||
        EVP_EncryptFinal_ex(c->evp, cipher + len, &len) != 1 ||
        EVP_CIPHER_CTX_ctrl(c->evp, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1) {
        exit(1);
    }
    return now_s() - t0;
}

static double sha_ours(void *p)
{
    struct crypto_case *c = p;
    uint8_t digest[TS_SHA256_SIZE];
    double t0 = now_s();
    for (int i = 0; i < c->n; i++) {
        check(ts_sha256_ctx_update(c->sha, piece_mem[0] + (size_t)i * piece_cap, c->piece_len),
              "sha256");
        check(ts_sha256_ctx_final(c->sha, digest), "sha256");
    }
    return now_s() - t0;
}

static double sha_raw(void *p)
{
    struct crypto_case *c = p;
    uint8_t digest[32];
    double t0 = now_s();
    for (int i = 0; i < c->n; i++) {
        if (EVP_Digest(piece_mem[0] + (size_t)i * piece_cap, c->piece_len, digest, NULL,
                       EVP_sha256(), NULL) != 1) {
            exit(1);
        }
    }
    return now_s() - t0;
}

static void bench_crypto(void)
{
    struct crypto_case c = {.n = 80};
    check(ts_segment_cipher_new(&c.seg), "cipher");
    check(ts_sha256_ctx_new(&c.sha), "sha256");
    c.evp = EVP_CIPHER_CTX_new();
    ts_segment_start_nonce(0, 0, c.nonce);
    measure("aes-256-gcm segment (7,424-B blocks)", "evp 1 call", (double)seg_bytes, aes_ours,
            aes_raw, &c);
    c.piece_len = (seg_bytes / 7424 + 1) * SHARE_SIZE;
    measure("sha-256 of 80 pieces", "evp", (double)c.n * (double)c.piece_len, sha_ours, sha_raw,
            &c);
    EVP_CIPHER_CTX_free(c.evp);
    ts_sha256_ctx_free(c.sha);
    ts_segment_cipher_free(c.seg);
}

/* ---- Pipeline: encrypt -> encode -> hash, per group of blocks ---- */

struct pipe_worker {
    const struct ts_ec *ec;
    int k;
    int n;
    size_t blocks;
    uint8_t *pieces[PIECES_MAX];
    uint8_t *scratch; /* PIPE_GROUP_BLOCKS ciphertext blocks */
    struct ts_segment_cipher *seg;
    struct ts_sha256_ctx *sha[PIECES_MAX];
    EVP_CIPHER_CTX *evp;
    EVP_MD_CTX *md[PIECES_MAX];
    uint8_t *parity_tables;
    int raw;
    double seconds;
};

static void pipe_ours(struct pipe_worker *w)
{
    uint8_t nonce[24];
    uint8_t digest[TS_SHA256_SIZE];
    uint8_t *at[PIECES_MAX];
    const size_t plain_block = TS_ENCRYPTION_PLAIN_BLOCK_SIZE;
    ts_segment_start_nonce(0, 0, nonce);
    for (size_t b = 0; b < w->blocks; b += PIPE_GROUP_BLOCKS) {
        size_t g = w->blocks - b < PIPE_GROUP_BLOCKS ? w->blocks - b : PIPE_GROUP_BLOCKS;
        for (size_t j = 0; j < g; j++) {
            check(ts_segment_cipher_encrypt_block(w->seg, bench_key, nonce, b + j,
                                                  plain + (b + j) * plain_block,
                                                  w->scratch + j * TS_ENCRYPTION_BLOCK_SIZE),
                  "encrypt block");
        }
        for (int i = 0; i < w->n; i++) {
            at[i] = w->pieces[i] + b * SHARE_SIZE;
        }
        check(ts_ec_encode(w->ec, w->scratch, g, at, (size_t)w->n), "encode");
        for (int i = 0; i < w->n; i++) {
            check(ts_sha256_ctx_update(w->sha[i], at[i], g * SHARE_SIZE), "sha256");
        }
    }
    for (int i = 0; i < w->n; i++) {
        check(ts_sha256_ctx_final(w->sha[i], digest), "sha256");
    }
}

static void pipe_raw_encrypt(struct pipe_worker *w, const uint8_t *iv, size_t block,
                             uint8_t *out)
{
    const size_t plain_block = TS_ENCRYPTION_PLAIN_BLOCK_SIZE;
    uint8_t nonce[12];
    memcpy(nonce, iv, 12);
    ts_be64_put(nonce + 4, ts_be64_get(nonce + 4) + block); /* any distinct IV will do here */
    int len = 0;
    if (EVP_EncryptInit_ex(w->evp, NULL, NULL, NULL, nonce) != 1 ||
        EVP_EncryptUpdate(w->evp, out, &len, plain + block * plain_block, (int)plain_block) != 1 ||
        EVP_EncryptFinal_ex(w->evp, out + len, &len) != 1 ||
        EVP_CIPHER_CTX_ctrl(w->evp, EVP_CTRL_GCM_GET_TAG, 16, out + plain_block) != 1) {
        exit(1);
    }
}

static void pipe_raw(struct pipe_worker *w)
{
    uint8_t iv[12] = {0};
    uint8_t digest[32];
    uint8_t *at[PIECES_MAX];
    if (EVP_EncryptInit_ex(w->evp, EVP_aes_256_gcm(), NULL, bench_key, iv) != 1) {
        exit(1);
    }
    for (int i = 0; i < w->n; i++) {
        EVP_DigestInit_ex(w->md[i], EVP_sha256(), NULL);
    }
    for (size_t b = 0; b < w->blocks; b += PIPE_GROUP_BLOCKS) {
        size_t g = w->blocks - b < PIPE_GROUP_BLOCKS ? w->blocks - b : PIPE_GROUP_BLOCKS;
        for (size_t j = 0; j < g; j++) {
            pipe_raw_encrypt(w, iv, b + j, w->scratch + j * TS_ENCRYPTION_BLOCK_SIZE);
        }
        for (int i = 0; i < w->n; i++) {
            at[i] = w->pieces[i] + b * SHARE_SIZE;
        }
        for (size_t j = 0; j < g; j++) {
            for (int i = 0; i < w->k; i++) {
                memcpy(at[i] + j * SHARE_SIZE,
                       w->scratch + j * TS_ENCRYPTION_BLOCK_SIZE + (size_t)i * SHARE_SIZE,
                       SHARE_SIZE);
            }
        }
        ec_encode_data((int)(g * SHARE_SIZE), w->k, w->n - w->k, w->parity_tables, at,
                       at + w->k);
        for (int i = 0; i < w->n; i++) {
            EVP_DigestUpdate(w->md[i], at[i], g * SHARE_SIZE);
        }
    }
    for (int i = 0; i < w->n; i++) {
        EVP_DigestFinal_ex(w->md[i], digest, NULL);
    }
}

static void *pipe_thread(void *p)
{
    struct pipe_worker *w = p;
    double t0 = now_s();
    if (w->raw) {
        pipe_raw(w);
    } else {
        pipe_ours(w);
    }
    w->seconds = now_s() - t0;
    return NULL;
}

struct pipe_case {
    struct pipe_worker w[2];
    int threads;
};

static double pipe_run(struct pipe_case *c, int raw)
{
    pthread_t t[2];
    double t0 = now_s();
    for (int i = 0; i < c->threads; i++) {
        c->w[i].raw = raw;
        if (pthread_create(&t[i], NULL, pipe_thread, &c->w[i]) != 0) {
            exit(1);
        }
    }
    for (int i = 0; i < c->threads; i++) {
        pthread_join(t[i], NULL);
    }
    return now_s() - t0;
}

static double pipe_ours_run(void *p)
{
    return pipe_run(p, 0);
}

static double pipe_raw_run(void *p)
{
    return pipe_run(p, 1);
}

static void pipe_worker_init(struct pipe_worker *w, const struct ts_ec *ec, int slot,
                             uint8_t *parity_tables)
{
    memset(w, 0, sizeof *w);
    w->ec = ec;
    w->k = ts_ec_k(ec);
    w->n = ts_ec_n(ec);
    w->blocks = ts_segment_block_count(seg_bytes) - 1; /* whole blocks of plaintext */
    w->parity_tables = parity_tables;
    w->scratch = alloc_touched(PIPE_GROUP_BLOCKS * TS_ENCRYPTION_BLOCK_SIZE);
    check(ts_segment_cipher_new(&w->seg), "cipher");
    w->evp = EVP_CIPHER_CTX_new();
    for (int i = 0; i < w->n; i++) {
        w->pieces[i] = piece_mem[slot] + (size_t)i * piece_cap;
        check(ts_sha256_ctx_new(&w->sha[i]), "sha256");
        w->md[i] = EVP_MD_CTX_new();
    }
}

static void pipe_worker_release(struct pipe_worker *w)
{
    for (int i = 0; i < w->n; i++) {
        ts_sha256_ctx_free(w->sha[i]);
        EVP_MD_CTX_free(w->md[i]);
    }
    EVP_CIPHER_CTX_free(w->evp);
    ts_segment_cipher_free(w->seg);
    free(w->scratch);
}

static void bench_pipeline(int k, int n)
{
    struct ts_ec *ec = NULL;
    check(ts_ec_new(k, n, SHARE_SIZE, &ec), "ts_ec_new");
    if (ts_ec_stripe_size(ec) != TS_ENCRYPTION_BLOCK_SIZE) {
        fprintf(stderr, "bench_core: pipeline needs stripe == encryption block\n");
        exit(1);
    }
    uint8_t *m = malloc((size_t)(n - k) * (size_t)k);
    uint8_t *tables = malloc(32 * (size_t)k * (size_t)(n - k));
    for (int r = k; r < n; r++) {
        for (int i = 0; i < k; i++) {
            m[(r - k) * k + i] = ts_ec_matrix_at(ec, r, i);
        }
    }
    ec_init_tables(k, n - k, m, tables);
    struct pipe_case c;
    for (int i = 0; i < 2; i++) {
        pipe_worker_init(&c.w[i], ec, i, tables);
    }
    double plain_bytes = (double)c.w[0].blocks * TS_ENCRYPTION_PLAIN_BLOCK_SIZE;
    char what[96];
    for (c.threads = 1; c.threads <= 2; c.threads++) {
        snprintf(what, sizeof what, "pipeline %d/%d, %d thread%s", k, n, c.threads,
                 c.threads > 1 ? "s" : "");
        measure(what, "raw", plain_bytes * c.threads, pipe_ours_run, pipe_raw_run, &c);
    }
    for (int i = 0; i < 2; i++) {
        pipe_worker_release(&c.w[i]);
    }
    free(m);
    free(tables);
    ts_ec_free(ec);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            seg_bytes = 4u << 20;
            reps = 3;
        } else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
            reps = (int)strtol(argv[++i], NULL, 10);
        } else {
            fprintf(stderr, "usage: bench_core [--quick] [--reps N]\n");
            return 2;
        }
    }
    if (reps < 1 || reps > REPS_MAX) {
        fprintf(stderr, "bench_core: --reps must be 1..%d\n", REPS_MAX);
        return 2;
    }
    size_t slack = 2 * TS_ENCRYPTION_BLOCK_SIZE;
    plain = alloc_touched(seg_bytes + slack);
    cipher = alloc_touched(ts_segment_encrypted_size(seg_bytes) + slack);
    piece_cap = (seg_bytes / 1024 + 2) * SHARE_SIZE; /* the largest piece: k = 4 */
    piece_mem[0] = alloc_touched(PIECES_MAX * piece_cap);
    piece_mem[1] = alloc_touched(80 * piece_cap);
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < seg_bytes + slack; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        plain[i] = (uint8_t)x;
    }
    printf("bench_core: segment %zu MiB, share %d B, %d reps; MB/s best / median\n",
           seg_bytes >> 20, SHARE_SIZE, reps);
    bench_rs(29, 80);
    bench_rs(29, 110);
    bench_rs(4, 10);
    bench_crypto();
    bench_pipeline(29, 80);
    free(plain);
    free(cipher);
    free(piece_mem[0]);
    free(piece_mem[1]);
    return 0;
}
