/* Weighted reservoirs, the audit queue and the segment-loop collector (see audit.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/log.h"
#include "satellite/audit/audit.h"

#define COMPONENT "satellite.audit"

void sat_reservoir_init(struct sat_reservoir *r, int slots)
{
    TS_ASSERT(slots >= 1 && slots <= SAT_RESERVOIR_SLOTS_MAX);
    memset(r, 0, sizeof *r);
    r->slots = slots;
}

/* A uniform double in (0, 1). */
static double uniform_open(struct sat_rng *rng)
{
    return ((double)(sat_rng_next(rng) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

void sat_reservoir_offer(struct sat_reservoir *r, struct sat_rng *rng, double weight,
                         const struct sat_audit_pick *pick)
{
    if (!(weight > 0.0)) {
        weight = 1.0;
    }
    /* A-Res key u^(1/w), kept as its logarithm log(u)/w (same order, no underflow). */
    double key = log(uniform_open(rng)) / weight;
    if (r->count < r->slots) {
        r->keys[r->count] = key;
        r->picks[r->count] = *pick;
        r->count++;
        return;
    }
    int worst = 0;
    for (int i = 1; i < r->count; i++) {
        if (r->keys[i] < r->keys[worst]) {
            worst = i;
        }
    }
    if (key > r->keys[worst]) {
        r->keys[worst] = key;
        r->picks[worst] = *pick;
    }
}

/* ---- Queue ---- */

void sat_audit_queue_init(struct sat_audit_queue *q)
{
    memset(q, 0, sizeof *q);
    pthread_mutex_init(&q->mu, NULL);
}

void sat_audit_queue_release(struct sat_audit_queue *q)
{
    free(q->picks);
    pthread_mutex_destroy(&q->mu);
}

void sat_audit_queue_replace(struct sat_audit_queue *q, struct sat_audit_pick *picks, size_t count)
{
    pthread_mutex_lock(&q->mu);
    free(q->picks);
    q->picks = picks;
    q->count = count;
    q->next = 0;
    pthread_mutex_unlock(&q->mu);
}

bool sat_audit_queue_pop(struct sat_audit_queue *q, struct sat_audit_pick *out)
{
    pthread_mutex_lock(&q->mu);
    bool ok = q->next < q->count;
    if (ok) {
        *out = q->picks[q->next++];
    }
    pthread_mutex_unlock(&q->mu);
    return ok;
}

size_t sat_audit_queue_length(struct sat_audit_queue *q)
{
    pthread_mutex_lock(&q->mu);
    size_t n = q->count - q->next;
    pthread_mutex_unlock(&q->mu);
    return n;
}

/* ---- Collector ---- */

ts_err sat_audit_collector_init(struct sat_audit_collector *c, int slots,
                                struct sat_audit_queue *queue)
{
    memset(c, 0, sizeof *c);
    if (slots < 1 || slots > SAT_RESERVOIR_SLOTS_MAX) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    c->slots = slots;
    c->queue = queue;
    return sat_rng_seed_random(&c->rng);
}

void sat_audit_collector_release(struct sat_audit_collector *c)
{
    free(c->by_alias);
    c->by_alias = NULL;
    c->alias_cap = 0;
}

static ts_err begin_cb(void *ctx, const struct sat_loop_nodes *nodes, int64_t now_s)
{
    struct sat_audit_collector *c = ctx;
    (void)now_s;
    size_t cap = nodes->count + 1;
    struct sat_reservoir *r = realloc(c->by_alias, cap * sizeof *r);
    if (r == NULL) {
        return TS_ERR_NOMEM;
    }
    c->by_alias = r;
    c->alias_cap = cap;
    for (size_t i = 0; i < cap; i++) {
        sat_reservoir_init(&c->by_alias[i], c->slots);
    }
    return TS_OK;
}

static ts_err segment_cb(void *ctx, const struct sat_loop_segment *s)
{
    struct sat_audit_collector *c = ctx;
    struct sat_audit_pick pick;
    memcpy(pick.stream_id, s->stream_id, SAT_ID_SIZE);
    pick.position = s->position;
    for (size_t i = 0; i < s->piece_count; i++) {
        uint32_t alias = s->pieces[i].alias;
        if (alias < c->alias_cap) { /* nodes that appeared mid-pass wait for the next pass */
            sat_reservoir_offer(&c->by_alias[alias], &c->rng, (double)s->encrypted_size, &pick);
        }
    }
    return TS_OK;
}

static int pick_cmp(const void *a, const void *b)
{
    const struct sat_audit_pick *x = a, *y = b;
    int c = memcmp(x->stream_id, y->stream_id, SAT_ID_SIZE);
    return c != 0 ? c : (x->position > y->position) - (x->position < y->position);
}

static void end_cb(void *ctx, bool complete, int64_t pass)
{
    struct sat_audit_collector *c = ctx;
    (void)pass;
    size_t total = 0;
    for (size_t i = 0; i < c->alias_cap; i++) {
        total += (size_t)c->by_alias[i].count;
    }
    struct sat_audit_pick *picks = total > 0 ? malloc(total * sizeof *picks) : NULL;
    size_t n = 0;
    for (size_t i = 0; picks != NULL && i < c->alias_cap; i++) {
        for (int j = 0; j < c->by_alias[i].count && n < SAT_AUDIT_QUEUE_MAX; j++) {
            picks[n++] = c->by_alias[i].picks[j];
        }
    }
    /* A segment is audited on all its nodes at once: keep each one once, in random order. */
    size_t unique = 0;
    if (picks != NULL) {
        qsort(picks, n, sizeof *picks, pick_cmp);
        for (size_t i = 0; i < n; i++) {
            if (unique == 0 || pick_cmp(&picks[unique - 1], &picks[i]) != 0) {
                picks[unique++] = picks[i];
            }
        }
        for (size_t i = unique; i > 1; i--) {
            size_t j = (size_t)sat_rng_below(&c->rng, i);
            struct sat_audit_pick t = picks[i - 1];
            picks[i - 1] = picks[j];
            picks[j] = t;
        }
    }
    sat_audit_queue_replace(c->queue, picks, unique);
    ts_log_info(COMPONENT, "audit queue built segments=%zu complete=%d", unique, complete);
}

void sat_audit_collector_observer(struct sat_audit_collector *c, struct sat_loop_observer *obs)
{
    *obs = (struct sat_loop_observer){
        .name = "audit-collector",
        .begin = begin_cb,
        .segment = segment_cb,
        .end = end_cb,
        .ctx = c,
    };
}
