#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "crypto/hash.h"
#include "satellite/overlay/select.h"

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void sat_rng_seed(struct sat_rng *rng, uint64_t seed)
{
    for (int i = 0; i < 4; i++) {
        rng->s[i] = splitmix(&seed);
    }
}

ts_err sat_rng_seed_random(struct sat_rng *rng)
{
    uint64_t seed = 0;
    ts_err err = ts_random_bytes(&seed, sizeof seed);
    if (err == TS_OK) {
        sat_rng_seed(rng, seed);
    }
    return err;
}

uint64_t sat_rng_next(struct sat_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t sat_rng_below(struct sat_rng *rng, uint64_t bound)
{
    TS_ASSERT(bound >= 1);
    uint64_t limit = UINT64_MAX - UINT64_MAX % bound; /* reject to avoid modulo bias */
    uint64_t v;
    do {
        v = sat_rng_next(rng);
    } while (v >= limit);
    return v % bound;
}

static void shuffle(size_t *idx, size_t n, struct sat_rng *rng)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)sat_rng_below(rng, i);
        size_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}

struct picker {
    const struct sat_select_config *cfg;
    const struct sat_node_candidate *cands;
    const char *const *excluded;
    size_t excluded_count;
    size_t *chosen;
    size_t chosen_count;
};

static int net_taken(const struct picker *p, const char *net)
{
    for (size_t i = 0; i < p->excluded_count; i++) {
        if (strcmp(p->excluded[i], net) == 0) {
            return 1;
        }
    }
    if (!p->cfg->distinct_nets) {
        return 0;
    }
    for (size_t i = 0; i < p->chosen_count; i++) {
        if (strcmp(p->cands[p->chosen[i]].last_net, net) == 0) {
            return 1;
        }
    }
    return 0;
}

static int already_chosen(const struct picker *p, size_t idx)
{
    for (size_t i = 0; i < p->chosen_count; i++) {
        if (p->chosen[i] == idx) {
            return 1;
        }
    }
    return 0;
}

/* Takes candidates from the shuffled pool in order until `until` nodes are chosen. */
static void take(struct picker *p, const size_t *pool, size_t pool_len, size_t until)
{
    for (size_t i = 0; i < pool_len && p->chosen_count < until; i++) {
        size_t c = pool[i];
        if (!already_chosen(p, c) && !net_taken(p, p->cands[c].last_net)) {
            p->chosen[p->chosen_count++] = c;
        }
    }
}

ts_err sat_select_nodes(const struct sat_select_config *cfg, const struct sat_node_candidate *cands,
                        size_t count, const char *const *excluded_nets, size_t excluded_count,
                        struct sat_rng *rng, size_t *chosen, size_t *chosen_count)
{
    *chosen_count = 0;
    if (cfg->count < 1 || cfg->count > TS_EC_SHARES_MAX || !(cfg->new_fraction >= 0.0) ||
        cfg->new_fraction > 1.0) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    size_t *vetted = malloc((count + 1) * sizeof *vetted);
    size_t *fresh = malloc((count + 1) * sizeof *fresh);
    if (vetted == NULL || fresh == NULL) {
        free(vetted);
        free(fresh);
        return TS_ERR_NOMEM;
    }
    size_t nv = 0, nf = 0;
    for (size_t i = 0; i < count; i++) {
        if (cands[i].vetted) {
            vetted[nv++] = i;
        } else {
            fresh[nf++] = i;
        }
    }
    shuffle(vetted, nv, rng);
    shuffle(fresh, nf, rng);

    /* n * fraction slots for new nodes; the fractional part is a probability of one more. */
    double want = (double)cfg->count * cfg->new_fraction;
    size_t new_slots = (size_t)want;
    double rest = want - (double)new_slots;
    if (rest > 0 && (double)sat_rng_below(rng, 1000000) < rest * 1000000.0) {
        new_slots++;
    }
    struct picker p = {cfg, cands, excluded_nets, excluded_count, chosen, 0};
    take(&p, fresh, nf, new_slots);
    take(&p, vetted, nv, (size_t)cfg->count);
    if (cfg->fill_unvetted) {
        take(&p, fresh, nf, (size_t)cfg->count);
    }
    shuffle(chosen, p.chosen_count, rng);
    *chosen_count = p.chosen_count;
    free(vetted);
    free(fresh);
    return TS_OK;
}

ts_err sat_last_net(const char *host, char *out, size_t out_size)
{
    struct in_addr v4;
    struct in6_addr v6;
    int n;
    if (inet_pton(AF_INET, host, &v4) == 1) {
        const uint8_t *b = (const uint8_t *)&v4.s_addr;
        n = snprintf(out, out_size, "%u.%u.%u", b[0], b[1], b[2]);
    } else if (inet_pton(AF_INET6, host, &v6) == 1) {
        const uint8_t *b = v6.s6_addr;
        n = snprintf(out, out_size, "%02x%02x:%02x%02x:%02x%02x:%02x%02x::/64", b[0], b[1], b[2],
                     b[3], b[4], b[5], b[6], b[7]);
    } else {
        n = snprintf(out, out_size, "%s", host);
    }
    if (n < 0 || (size_t)n >= out_size) {
        if (out_size > 0) {
            out[0] = 0;
        }
        return TS_ERR_TOO_LARGE;
    }
    return TS_OK;
}
