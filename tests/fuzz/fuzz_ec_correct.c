/*
 * Fuzz target for ts_ec_correct and ts_ec_decode. The input chooses a small code, which shares
 * are present (and in what order), and either raw share bytes (mode 0) or data to encode plus a
 * corruption pattern (mode 1). Nothing may crash or leak; in mode 1, when at most
 * floor((r-k)/2) shares were touched, correction must restore the original shares exactly.
 *
 * Layout: k, n, share_size, r, mode, then (mode 0) r * share_size share bytes or (mode 1)
 * k * share_size data bytes followed by (share index, xor byte) pairs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "ec/ec.h"

#define FUZZ_N_MAX 40
#define FUZZ_SHARE_MAX 64

struct input {
    const uint8_t *p;
    size_t left;
};

static uint8_t take(struct input *in)
{
    if (in->left == 0) {
        return 0;
    }
    in->left--;
    return *in->p++;
}

static void check_decode(const struct ts_ec *ec, uint8_t *const *shares, const int *nums, int r)
{
    uint8_t out[FUZZ_N_MAX * FUZZ_SHARE_MAX];
    ts_err err = ts_ec_decode(ec, (const uint8_t *const *)shares, nums, (size_t)r, 1, out);
    TS_ASSERT(err == TS_OK || err == TS_ERR_NOT_ENOUGH_SHARES);
}

static void run(struct input *in)
{
    int k = 1 + take(in) % 16;
    int n = k + take(in) % (FUZZ_N_MAX - k + 1);
    size_t s = 1 + take(in) % FUZZ_SHARE_MAX;
    int r = take(in) % (n + 1);
    int mode = take(in) % 2;
    struct ts_ec *ec = NULL;
    if (ts_ec_new(k, n, s, &ec) != TS_OK) {
        return;
    }
    /* Present shares: a permutation of 0..n-1 driven by the input, first r of it. */
    int nums[FUZZ_N_MAX];
    for (int i = 0; i < n; i++) {
        nums[i] = i;
    }
    for (int i = n - 1; i > 0; i--) {
        int j = take(in) % (i + 1);
        int t = nums[i];
        nums[i] = nums[j];
        nums[j] = t;
    }
    uint8_t all[FUZZ_N_MAX][FUZZ_SHARE_MAX];
    uint8_t orig[FUZZ_N_MAX][FUZZ_SHARE_MAX];
    uint8_t *shares[FUZZ_N_MAX];
    int touched[FUZZ_N_MAX] = {0};
    int touched_count = 0;
    if (mode == 0) {
        for (int j = 0; j < r; j++) {
            for (size_t b = 0; b < s; b++) {
                all[nums[j]][b] = take(in);
            }
        }
    } else {
        uint8_t data[16 * FUZZ_SHARE_MAX];
        uint8_t *ptr[FUZZ_N_MAX];
        for (size_t b = 0; b < (size_t)k * s; b++) {
            data[b] = take(in);
        }
        for (int i = 0; i < n; i++) {
            ptr[i] = all[i];
        }
        TS_ASSERT(ts_ec_encode(ec, data, 1, ptr, (size_t)n) == TS_OK);
        memcpy(orig, all, sizeof all);
        while (in->left >= 3 && r > 0) {
            int j = take(in) % r;
            size_t b = take(in) % s;
            uint8_t x = take(in);
            all[nums[j]][b] ^= x;
            if (x != 0 && !touched[j]) {
                touched[j] = 1;
                touched_count++;
            }
        }
    }
    for (int j = 0; j < r; j++) {
        shares[j] = all[nums[j]];
    }
    check_decode(ec, shares, nums, r);
    int bad[FUZZ_N_MAX];
    size_t bad_count = 0;
    ts_err err = ts_ec_correct(ec, shares, nums, (size_t)r, bad, &bad_count);
    TS_ASSERT(err == TS_OK || err == TS_ERR_TOO_MANY_ERRORS || err == TS_ERR_NOT_ENOUGH_SHARES);
    if (mode == 1 && r >= k && touched_count <= (r - k) / 2) {
        /* Within the bound: must be corrected exactly. */
        TS_ASSERT(err == TS_OK);
        for (int j = 0; j < r; j++) {
            TS_ASSERT(memcmp(shares[j], orig[nums[j]], s) == 0);
        }
    }
    ts_ec_free(ec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = {data, size};
    run(&in);
    return 0;
}
