/*
 * Upload node selection (reference §8.2), as a pure function over a candidate list the overlay
 * has already filtered (online within 4 h, not disqualified, not exiting, enough free space).
 * It picks n nodes in distinct subnets ("last_net": the /24 of an IPv4 address), uniformly at
 * random, with a configurable fraction of the slots given to unvetted (new) nodes so that they
 * can earn audits without holding much data. Unit-tested with a seeded generator.
 */
#ifndef SAT_OVERLAY_SELECT_H
#define SAT_OVERLAY_SELECT_H

#include <stddef.h>
#include <stdint.h>

#include "base/base.h"

/* "a.b.c" of an IPv4 address, or an IPv6 /64 prefix text. */
#define SAT_LAST_NET_MAX 48
#define SAT_ADDRESS_MAX 300

struct sat_node_candidate {
    uint8_t id[TS_NODE_ID_SIZE];
    char address[SAT_ADDRESS_MAX];   /* host:port, NUL-terminated */
    char last_net[SAT_LAST_NET_MAX]; /* NUL-terminated */
    int vetted;                      /* 1 once vetted_at is set */
    uint32_t alias;                  /* node alias (segments store aliases, not IDs) */
};

struct sat_select_config {
    int count;           /* nodes wanted (n), 1..TS_EC_SHARES_MAX */
    double new_fraction; /* share of slots for unvetted nodes, 0..1 */
    int distinct_nets;   /* 1: at most one node per last_net (production); 0: local networks */
    int fill_unvetted;   /* 1: use more unvetted nodes when vetted ones run out */
};

/* A small deterministic generator (xoshiro256**). Seed from ts_random_bytes in production and
 * from a constant in tests. */
struct sat_rng {
    uint64_t s[4];
};
void sat_rng_seed(struct sat_rng *rng, uint64_t seed);
TS_WARN_UNUSED ts_err sat_rng_seed_random(struct sat_rng *rng);
uint64_t sat_rng_next(struct sat_rng *rng);
/* Uniform in [0, bound), bound >= 1. */
uint64_t sat_rng_below(struct sat_rng *rng, uint64_t bound);

/* Picks up to cfg->count candidates and writes their indexes into chosen (cfg->count entries) and
 * the number picked into *chosen_count (fewer than asked when the candidates run out; the caller
 * decides whether that is enough). Candidates whose last_net appears in excluded_nets (may be
 * NULL) are skipped. The order of chosen is random. TS_ERR_INVALID_ARGUMENT for a bad config. */
TS_WARN_UNUSED ts_err sat_select_nodes(const struct sat_select_config *cfg,
                                       const struct sat_node_candidate *cands, size_t count,
                                       const char *const *excluded_nets, size_t excluded_count,
                                       struct sat_rng *rng, size_t *chosen, size_t *chosen_count);

/* Fills out with the last_net of a host (dotted IPv4 -> "a.b.c"; IPv6 -> first 4 groups;
 * anything else, e.g. a hostname, is used as is). TS_ERR_TOO_LARGE if it does not fit. */
TS_WARN_UNUSED ts_err sat_last_net(const char *host, char *out, size_t out_size);

#endif
