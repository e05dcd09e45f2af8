/* Per-project request rate: a token bucket per project in a fixed set-associative table (see
 * metainfo.h). Tokens are kept in thousandths so refills need no floating point. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/log.h"
#include "satellite/metainfo/metainfo.h"

#define SETS 1024
#define WAYS 4
#define MILLI 1000

struct bucket {
    uint8_t project[SAT_ID_SIZE];
    bool used;
    int64_t milli_tokens; /* tokens x 1000, at most rate x 1000 */
    int64_t last_ms;      /* last refill */
    uint64_t clock;       /* LRU stamp */
};

struct sat_mi_limiter {
    pthread_mutex_t mu;
    int64_t rate_per_s;
    uint64_t clock;
    struct bucket table[SETS][WAYS];
};

static _Thread_local bool tl_limited;

ts_err sat_mi_limiter_new(int64_t rate_per_s, struct sat_mi_limiter **out)
{
    *out = NULL;
    if (rate_per_s <= 0) {
        return TS_OK; /* no limit */
    }
    struct sat_mi_limiter *l = calloc(1, sizeof *l);
    if (l == NULL) {
        return TS_ERR_NOMEM;
    }
    pthread_mutex_init(&l->mu, NULL);
    l->rate_per_s = rate_per_s;
    *out = l;
    return TS_OK;
}

void sat_mi_limiter_free(struct sat_mi_limiter *l)
{
    if (l == NULL) {
        return;
    }
    pthread_mutex_destroy(&l->mu);
    free(l);
}

/* The project's bucket, or a recycled one (least recently used of its set) filled up. */
static struct bucket *find(struct sat_mi_limiter *l, const uint8_t project[SAT_ID_SIZE],
                           int64_t now_ms)
{
    uint32_t h = ((uint32_t)project[0] << 8 | project[1]) ^ ((uint32_t)project[2] << 16);
    struct bucket *set = l->table[h % SETS];
    struct bucket *victim = &set[0];
    for (int i = 0; i < WAYS; i++) {
        if (set[i].used && memcmp(set[i].project, project, SAT_ID_SIZE) == 0) {
            return &set[i];
        }
        if (!set[i].used || (victim->used && set[i].clock < victim->clock)) {
            victim = &set[i];
        }
    }
    memcpy(victim->project, project, SAT_ID_SIZE);
    victim->used = true;
    victim->milli_tokens = l->rate_per_s * MILLI;
    victim->last_ms = now_ms;
    return victim;
}

ts_err sat_mi_limiter_take(struct sat_mi_limiter *l, const uint8_t project[SAT_ID_SIZE],
                           int64_t now_ms)
{
    if (l == NULL) {
        return TS_OK;
    }
    pthread_mutex_lock(&l->mu);
    struct bucket *b = find(l, project, now_ms);
    b->clock = ++l->clock;
    int64_t cap = l->rate_per_s * MILLI;
    if (now_ms > b->last_ms) {
        /* rate tokens per 1000 ms = rate milli-tokens per ms. */
        int64_t add = (now_ms - b->last_ms) * l->rate_per_s;
        b->milli_tokens = add >= cap - b->milli_tokens ? cap : b->milli_tokens + add;
        b->last_ms = now_ms;
    }
    bool ok = b->milli_tokens >= MILLI;
    if (ok) {
        b->milli_tokens -= MILLI;
    }
    pthread_mutex_unlock(&l->mu);
    if (!ok) {
        tl_limited = true;
        ts_log_debug("satellite.metainfo", "rate limited rate=%lld/s", (long long)l->rate_per_s);
        return TS_ERR_BUSY;
    }
    return TS_OK;
}

bool sat_mi_rate_limited_take(void)
{
    bool was = tl_limited;
    tl_limited = false;
    return was;
}
