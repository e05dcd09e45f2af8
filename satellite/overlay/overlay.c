/* The upload-selection cache over the nodes table. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "satellite/db/satdb.h"
#include "satellite/overlay/overlay.h"

struct sat_overlay {
    struct ts_db *db;
    const struct sat_config *cfg;
    pthread_mutex_t mu;
    struct sat_node_candidate *cache; /* owned */
    size_t cache_len;
    int64_t refreshed_ms; /* monotonic; 0 = stale */
    uint64_t generation;  /* bumped by every invalidation */
    struct sat_rng rng;
};

ts_err sat_overlay_new(struct ts_db *db, const struct sat_config *cfg, struct sat_overlay **out)
{
    struct sat_overlay *ov = calloc(1, sizeof *ov);
    *out = NULL;
    if (ov == NULL) {
        return TS_ERR_NOMEM;
    }
    ts_err err = sat_rng_seed_random(&ov->rng);
    if (err != TS_OK) {
        free(ov);
        return err;
    }
    ov->db = db;
    ov->cfg = cfg;
    pthread_mutex_init(&ov->mu, NULL);
    *out = ov;
    return TS_OK;
}

void sat_overlay_free(struct sat_overlay *ov)
{
    if (ov == NULL) {
        return;
    }
    pthread_mutex_destroy(&ov->mu);
    free(ov->cache);
    free(ov);
}

void sat_overlay_invalidate(struct sat_overlay *ov)
{
    pthread_mutex_lock(&ov->mu);
    ov->refreshed_ms = 0;
    ov->generation++;
    pthread_mutex_unlock(&ov->mu);
}

struct load_ctx {
    int64_t online_since;
    int64_t free_min;
    struct sat_node_candidate *cands;
    size_t count;
};

static ts_err load_fn(struct ts_db_conn *c, void *ctx)
{
    struct load_ctx *l = ctx;
    free(l->cands);
    l->cands = NULL;
    return sat_db_nodes_selectable(c, l->online_since, l->free_min, SAT_OVERLAY_CACHE_MAX,
                                   &l->cands, &l->count);
}

static ts_err refresh(struct sat_overlay *ov)
{
    struct load_ctx l = {
        .online_since = ts_time_now_s() - ov->cfg->online_window_s,
        .free_min = ov->cfg->free_disk_min,
    };
    pthread_mutex_lock(&ov->mu);
    uint64_t generation = ov->generation;
    pthread_mutex_unlock(&ov->mu);
    ts_err err = ts_db_tx_read(ov->db, load_fn, &l);
    if (err != TS_OK) {
        free(l.cands);
        return err;
    }
    pthread_mutex_lock(&ov->mu);
    free(ov->cache);
    ov->cache = l.cands;
    ov->cache_len = l.count;
    /* An invalidation during the read may not be in what was read: leave the cache stale so the
     * next selection reads again. */
    ov->refreshed_ms = ov->generation == generation ? ts_monotonic_ms() : 0;
    pthread_mutex_unlock(&ov->mu);
    return TS_OK;
}

/* Picks from the cache under the lock. */
static ts_err pick(struct sat_overlay *ov, int count, struct sat_node_candidate *out, size_t *n)
{
    struct sat_select_config sel = {
        .count = count,
        .new_fraction = ov->cfg->new_node_fraction,
        .distinct_nets = ov->cfg->distinct_nets,
        .fill_unvetted = ov->cfg->fill_unvetted,
    };
    size_t chosen[TS_EC_SHARES_MAX];
    ts_err err = sat_select_nodes(&sel, ov->cache, ov->cache_len, NULL, 0, &ov->rng, chosen, n);
    for (size_t i = 0; err == TS_OK && i < *n; i++) {
        out[i] = ov->cache[chosen[i]];
    }
    return err;
}

ts_err sat_overlay_select(struct sat_overlay *ov, int count, struct sat_node_candidate *out,
                          size_t *n)
{
    *n = 0;
    if (count < 1 || count > TS_EC_SHARES_MAX) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    pthread_mutex_lock(&ov->mu);
    int64_t now = ts_monotonic_ms();
    int64_t age = now - ov->refreshed_ms;
    bool stale = ov->refreshed_ms == 0 || age >= ov->cfg->node_cache_s * 1000;
    ts_err err = TS_OK;
    if (!stale) {
        err = pick(ov, count, out, n);
        /* Too few nodes: maybe some just came online; refresh at most once a second. */
        stale = err == TS_OK && *n < (size_t)count && age >= 1000;
    }
    pthread_mutex_unlock(&ov->mu);
    if (err != TS_OK || !stale) {
        return err;
    }
    err = refresh(ov);
    if (err != TS_OK) {
        return err;
    }
    pthread_mutex_lock(&ov->mu);
    err = pick(ov, count, out, n);
    pthread_mutex_unlock(&ov->mu);
    return err;
}
