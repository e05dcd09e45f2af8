/* The in-process segment pipeline: encrypt + erasure-code while in cache, decode + authenticate. */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/pad.h"
#include "crypto/segment.h"
#include "ec/ec.h"
#include "segment.h"

/* Blocks encrypted before their stripes are encoded: 16 x 7,424 = 116 KiB of ciphertext plus
 * its parity stay in L2 between the two steps. */
#define GROUP_BLOCKS 16
/* Subsets of k pieces tried when a window fails authentication and single swaps did not help. */
#define SUBSET_ATTEMPTS_MAX 64

void ul_seg_layout_init(struct ul_seg_layout *l, const struct ts_ec *ec, size_t plain_len)
{
    memset(l, 0, sizeof(*l));
    l->plain_len = plain_len;
    l->blocks = ts_segment_block_count(plain_len);
    l->encrypted_size = l->blocks * UL_CIPHER_BLOCK;
    l->share_size = ts_ec_share_size(ec);
    l->stripe_size = ts_ec_stripe_size(ec);
    l->stripes = ts_pad_padded_size(l->encrypted_size, l->stripe_size) / l->stripe_size;
    l->piece_size = l->stripes * l->share_size;
}

void ul_seg_blocks_to_stripes(const struct ul_seg_layout *l, size_t first_block, size_t block_count,
                              size_t *first_stripe, size_t *stripe_count)
{
    size_t begin = first_block * UL_CIPHER_BLOCK;
    size_t end = (first_block + block_count) * UL_CIPHER_BLOCK;
    size_t s0 = begin / l->stripe_size;
    size_t s1 = (end + l->stripe_size - 1) / l->stripe_size;
    *first_stripe = s0;
    *stripe_count = s1 - s0;
}

/* ------------------------------------------------------------------------------------------ */
/* Encoder                                                                                     */

struct ul_seg_encoder {
    const struct ts_ec *ec;
    struct ts_segment_cipher *cipher;
    int n;
    uint8_t **pieces;    /* n borrowed piece buffers */
    uint8_t **at;        /* n scratch pointers: pieces[i] + stripes * share_size */
    size_t piece_cap;    /* bytes per piece buffer */
    size_t share_size;
    size_t stripe_size;
    uint8_t key[32];
    uint8_t nonce[24];
    uint8_t plain[UL_PLAIN_BLOCK]; /* a partial plaintext block */
    size_t plain_fill;
    uint8_t *staging;    /* ciphertext not yet erasure-coded (less than a group + a stripe) */
    size_t staging_len;
    size_t staging_cap;
    size_t plain_len;    /* plaintext bytes of this segment */
    uint64_t block_index;
    size_t stripes;      /* stripes written to every piece */
};

ts_err ul_seg_encoder_new(const struct ts_ec *ec, struct ul_seg_encoder **out)
{
    *out = NULL;
    struct ul_seg_encoder *e = calloc(1, sizeof(*e));
    if (e == NULL) {
        return TS_ERR_NOMEM;
    }
    e->ec = ec;
    e->n = ts_ec_n(ec);
    e->share_size = ts_ec_share_size(ec);
    e->stripe_size = ts_ec_stripe_size(ec);
    e->staging_cap = (GROUP_BLOCKS + 3) * UL_CIPHER_BLOCK + 2 * e->stripe_size;
    e->pieces = calloc((size_t)e->n, sizeof(*e->pieces));
    e->at = calloc((size_t)e->n, sizeof(*e->at));
    e->staging = malloc(e->staging_cap);
    ts_err err = TS_ERR_NOMEM;
    if (e->pieces == NULL || e->at == NULL || e->staging == NULL) {
        goto done;
    }
    err = ts_segment_cipher_new(&e->cipher);
done:
    if (err != TS_OK) {
        ul_seg_encoder_free(e);
        return err;
    }
    *out = e;
    return TS_OK;
}

void ul_seg_encoder_free(struct ul_seg_encoder *e)
{
    if (e == NULL) {
        return;
    }
    ts_segment_cipher_free(e->cipher);
    ts_wipe(e->key, sizeof(e->key));
    ts_wipe(e->plain, sizeof(e->plain));
    free(e->pieces);
    free(e->at);
    free(e->staging);
    free(e);
}

void ul_seg_encoder_begin(struct ul_seg_encoder *e, uint8_t *const *pieces, size_t piece_cap,
                          const uint8_t key[32], const uint8_t start_nonce[24])
{
    memcpy(e->pieces, pieces, (size_t)e->n * sizeof(*e->pieces));
    e->piece_cap = piece_cap;
    memcpy(e->key, key, sizeof(e->key));
    memcpy(e->nonce, start_nonce, sizeof(e->nonce));
    e->plain_fill = 0;
    e->staging_len = 0;
    e->plain_len = 0;
    e->block_index = 0;
    e->stripes = 0;
}

size_t ul_seg_encoder_stripes(const struct ul_seg_encoder *e)
{
    return e->stripes;
}

size_t ul_seg_encoder_plain_len(const struct ul_seg_encoder *e)
{
    return e->plain_len;
}

/* Erasure-codes every whole stripe in the staging area into the pieces. */
static ts_err encode_staged(struct ul_seg_encoder *e)
{
    size_t s = e->staging_len / e->stripe_size;
    if (s == 0) {
        return TS_OK;
    }
    if ((e->stripes + s) * e->share_size > e->piece_cap) {
        return TS_ERR_TOO_LARGE;
    }
    for (int i = 0; i < e->n; i++) {
        e->at[i] = e->pieces[i] + e->stripes * e->share_size;
    }
    ts_err err = ts_ec_encode(e->ec, e->staging, s, e->at, (size_t)e->n);
    if (err != TS_OK) {
        return err;
    }
    size_t used = s * e->stripe_size;
    memmove(e->staging, e->staging + used, e->staging_len - used);
    e->staging_len -= used;
    e->stripes += s;
    return TS_OK;
}

/* Encrypts one 7,408-byte plaintext block into the staging area. */
static ts_err encrypt_block(struct ul_seg_encoder *e, const uint8_t *plain)
{
    TS_ASSERT(e->staging_len + UL_CIPHER_BLOCK <= e->staging_cap);
    ts_err err = ts_segment_cipher_encrypt_block(e->cipher, e->key, e->nonce, e->block_index,
                                                 plain, e->staging + e->staging_len);
    if (err != TS_OK) {
        return err;
    }
    e->block_index++;
    e->staging_len += UL_CIPHER_BLOCK;
    if (e->staging_len >= GROUP_BLOCKS * UL_CIPHER_BLOCK) {
        return encode_staged(e);
    }
    return TS_OK;
}

ts_err ul_seg_encoder_write(struct ul_seg_encoder *e, const void *data, size_t len)
{
    if (len > TS_SEGMENT_SIZE_MAX - e->plain_len) {
        return TS_ERR_TOO_LARGE;
    }
    const uint8_t *p = data;
    ts_err err = TS_OK;
    while (len > 0 && err == TS_OK) {
        if (e->plain_fill == 0 && len >= UL_PLAIN_BLOCK) {
            err = encrypt_block(e, p); /* straight from the caller's memory */
            p += UL_PLAIN_BLOCK;
            len -= UL_PLAIN_BLOCK;
            e->plain_len += UL_PLAIN_BLOCK;
            continue;
        }
        size_t take = UL_PLAIN_BLOCK - e->plain_fill;
        take = take < len ? take : len;
        memcpy(e->plain + e->plain_fill, p, take);
        e->plain_fill += take;
        e->plain_len += take;
        p += take;
        len -= take;
        if (e->plain_fill == UL_PLAIN_BLOCK) {
            e->plain_fill = 0;
            err = encrypt_block(e, e->plain);
        }
    }
    return err;
}

ts_err ul_seg_encoder_finish(struct ul_seg_encoder *e, struct ul_seg_layout *out)
{
    /* Encryption padding: the tail plus at least 4 bytes, one or two blocks. */
    uint8_t tail[2 * UL_PLAIN_BLOCK];
    size_t padded = ts_pad_padded_size(e->plain_fill, UL_PLAIN_BLOCK);
    memcpy(tail, e->plain, e->plain_fill);
    ts_pad_write(tail + e->plain_fill, padded - e->plain_fill);
    ts_err err = TS_OK;
    for (size_t off = 0; off < padded && err == TS_OK; off += UL_PLAIN_BLOCK) {
        err = encrypt_block(e, tail + off);
    }
    ts_wipe(tail, sizeof(tail));
    e->plain_fill = 0;
    if (err != TS_OK) {
        return err;
    }
    /* Erasure padding over the whole ciphertext stream, then the last stripes. */
    ul_seg_layout_init(out, e->ec, e->plain_len);
    TS_ASSERT(out->blocks == e->block_index);
    size_t pad = out->stripes * e->stripe_size - out->encrypted_size;
    TS_ASSERT(e->staging_len + pad <= e->staging_cap);
    ts_pad_write(e->staging + e->staging_len, pad);
    e->staging_len += pad;
    err = encode_staged(e);
    if (err != TS_OK) {
        return err;
    }
    TS_ASSERT(e->staging_len == 0 && e->stripes == out->stripes);
    return TS_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Decoder                                                                                     */

struct ul_seg_decoder {
    const struct ts_ec *ec;
    struct ts_segment_cipher *cipher;
    int k;
    size_t share_size;
    size_t stripe_size;
    uint8_t *window; /* decoded ciphertext stripes of one window */
    size_t window_cap;
    /* Per call scratch, sized for n pieces. */
    int *cand;       /* candidate indexes into the caller's piece arrays */
    int *choice;     /* k candidate positions in use */
    const uint8_t **bufs;
    int *nums;
    uint64_t rng;
};

ts_err ul_seg_decoder_new(const struct ts_ec *ec, struct ul_seg_decoder **out)
{
    *out = NULL;
    struct ul_seg_decoder *d = calloc(1, sizeof(*d));
    if (d == NULL) {
        return TS_ERR_NOMEM;
    }
    int n = ts_ec_n(ec);
    d->ec = ec;
    d->k = ts_ec_k(ec);
    d->share_size = ts_ec_share_size(ec);
    d->stripe_size = ts_ec_stripe_size(ec);
    d->window_cap = UL_DECODE_WINDOW_BLOCKS * UL_CIPHER_BLOCK + 2 * d->stripe_size;
    d->window = malloc(d->window_cap);
    d->cand = calloc((size_t)n, sizeof(int));
    d->choice = calloc((size_t)n, sizeof(int));
    d->bufs = calloc((size_t)n, sizeof(*d->bufs));
    d->nums = calloc((size_t)n, sizeof(int));
    d->rng = 0x9e3779b97f4a7c15ull;
    ts_err err = TS_ERR_NOMEM;
    if (d->window && d->cand && d->choice && d->bufs && d->nums) {
        err = ts_segment_cipher_new(&d->cipher);
    }
    if (err != TS_OK) {
        ul_seg_decoder_free(d);
        return err;
    }
    *out = d;
    return TS_OK;
}

void ul_seg_decoder_free(struct ul_seg_decoder *d)
{
    if (d == NULL) {
        return;
    }
    ts_segment_cipher_free(d->cipher);
    free(d->window);
    free(d->cand);
    free(d->choice);
    free(d->bufs);
    free(d->nums);
    free(d);
}

struct window {
    const struct ul_seg_layout *l;
    const uint8_t *key;
    const uint8_t *nonce;
    size_t b0, bc; /* blocks */
    size_t s0, sc; /* stripes */
    uint8_t *out;
};

/* Decodes the window's stripes from the k candidates in d->choice and decrypts its blocks.
 * TS_ERR_AUTH_FAILED when a block does not authenticate. */
static ts_err try_subset(struct ul_seg_decoder *d, const struct ul_seg_pieces *p,
                         const struct window *w)
{
    size_t skip = (w->s0 - p->base_stripe) * d->share_size;
    for (int i = 0; i < d->k; i++) {
        int j = d->cand[d->choice[i]];
        d->bufs[i] = p->bufs[j] + skip;
        d->nums[i] = p->piece_nums[j];
    }
    ts_err err = ts_ec_decode(d->ec, d->bufs, d->nums, (size_t)d->k, w->sc, d->window);
    if (err != TS_OK) {
        return err;
    }
    size_t window_start = w->s0 * d->stripe_size;
    for (size_t b = 0; b < w->bc; b++) {
        size_t at = (w->b0 + b) * UL_CIPHER_BLOCK - window_start;
        err = ts_segment_cipher_decrypt_block(d->cipher, w->key, w->nonce, w->b0 + b,
                                              d->window + at, w->out + b * UL_PLAIN_BLOCK);
        if (err != TS_OK) {
            return err;
        }
    }
    return TS_OK;
}

static int cmp_piece_num(const void *a, const void *b, void *ctx)
{
    const int *nums = ctx;
    return nums[*(const int *)a] - nums[*(const int *)b];
}

/* Candidates: pieces not known bad that hold every stripe of the window, lowest numbers first
 * (data pieces decode by copying). Returns how many. */
static size_t gather_candidates(struct ul_seg_decoder *d, const struct ul_seg_pieces *p,
                                const struct window *w)
{
    size_t c = 0;
    for (size_t j = 0; j < p->count; j++) {
        if (p->bad[j] || p->base_stripe > w->s0 ||
            p->base_stripe + p->avail[j] < w->s0 + w->sc) {
            continue;
        }
        d->cand[c++] = (int)j;
    }
    qsort_r(d->cand, c, sizeof(int), cmp_piece_num, (void *)p->piece_nums);
    return c;
}

/* One bad piece among the chosen: swap each chosen piece for each spare until the window
 * authenticates; the piece swapped out is then proven corrupt. */
static ts_err try_single_swaps(struct ul_seg_decoder *d, struct ul_seg_pieces *p,
                               const struct window *w, size_t cand_count)
{
    for (size_t spare = (size_t)d->k; spare < cand_count; spare++) {
        for (int i = 0; i < d->k; i++) {
            int saved = d->choice[i];
            d->choice[i] = (int)spare;
            ts_err err = try_subset(d, p, w);
            if (err == TS_OK) {
                p->bad[d->cand[saved]] = true;
                return TS_OK;
            }
            d->choice[i] = saved;
            if (err != TS_ERR_AUTH_FAILED) {
                return err;
            }
        }
    }
    return TS_ERR_AUTH_FAILED;
}

/* Number of k-subsets of c candidates, or SIZE_MAX when above cap. */
static size_t subsets_upto(size_t c, size_t k, size_t cap)
{
    size_t v = 1;
    for (size_t i = 1; i <= k; i++) {
        v = v * (c - k + i) / i; /* exact: v is C(c - k + i, i) after this step */
        if (v > cap) {
            return SIZE_MAX;
        }
    }
    return v;
}

/* Advances d->choice to the next k-combination of cand_count in lexicographic order. */
static bool next_combination(int *choice, int k, int cand_count)
{
    int i = k - 1;
    while (i >= 0 && choice[i] == cand_count - k + i) {
        i--;
    }
    if (i < 0) {
        return false;
    }
    choice[i]++;
    for (int j = i + 1; j < k; j++) {
        choice[j] = choice[j - 1] + 1;
    }
    return true;
}

static void random_choice(struct ul_seg_decoder *d, size_t cand_count)
{
    int perm[TS_EC_SHARES_MAX];
    for (size_t i = 0; i < cand_count; i++) {
        perm[i] = (int)i;
    }
    for (int i = 0; i < d->k; i++) { /* partial Fisher-Yates with xorshift */
        d->rng ^= d->rng << 13;
        d->rng ^= d->rng >> 7;
        d->rng ^= d->rng << 17;
        size_t r = (size_t)i + (size_t)(d->rng % (cand_count - (size_t)i));
        int t = perm[i];
        perm[i] = perm[r];
        perm[r] = t;
        d->choice[i] = perm[i];
    }
}

/* Several bad pieces: every k-subset when there are few, else random ones, a bounded number of
 * times. The pieces left out of a subset that authenticates are not flagged: with several
 * spares we cannot tell which of them were bad. */
static ts_err try_many_subsets(struct ul_seg_decoder *d, struct ul_seg_pieces *p,
                               const struct window *w, size_t cand_count)
{
    bool enumerate = subsets_upto(cand_count, (size_t)d->k, SUBSET_ATTEMPTS_MAX) != SIZE_MAX;
    for (int i = 0; i < d->k; i++) {
        d->choice[i] = i;
    }
    for (int attempt = 0; attempt < SUBSET_ATTEMPTS_MAX; attempt++) {
        if (enumerate) {
            if (!next_combination(d->choice, d->k, (int)cand_count)) {
                break;
            }
        } else {
            random_choice(d, cand_count);
        }
        ts_err err = try_subset(d, p, w);
        if (err != TS_ERR_AUTH_FAILED) {
            return err;
        }
    }
    return TS_ERR_AUTH_FAILED;
}

ts_err ul_seg_decoder_blocks(struct ul_seg_decoder *d, const struct ul_seg_layout *l,
                             const uint8_t key[32], const uint8_t start_nonce[24],
                             struct ul_seg_pieces *p, size_t first_block, size_t block_count,
                             uint8_t *out)
{
    if (block_count == 0 || block_count > UL_DECODE_WINDOW_BLOCKS ||
        first_block + block_count > l->blocks || p->count > (size_t)ts_ec_n(d->ec)) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    struct window w = {.l = l, .key = key, .nonce = start_nonce, .b0 = first_block,
                       .bc = block_count, .out = out};
    ul_seg_blocks_to_stripes(l, first_block, block_count, &w.s0, &w.sc);
    size_t cand_count = gather_candidates(d, p, &w);
    if (cand_count < (size_t)d->k) {
        return TS_ERR_NOT_ENOUGH_SHARES;
    }
    for (int i = 0; i < d->k; i++) {
        d->choice[i] = i;
    }
    ts_err err = try_subset(d, p, &w);
    if (err == TS_ERR_AUTH_FAILED && cand_count > (size_t)d->k) {
        err = try_single_swaps(d, p, &w, cand_count);
        if (err == TS_ERR_AUTH_FAILED && cand_count > (size_t)d->k + 1) {
            err = try_many_subsets(d, p, &w, cand_count);
        }
    }
    if (err != TS_OK) {
        ts_wipe(out, block_count * UL_PLAIN_BLOCK);
    }
    return err;
}
