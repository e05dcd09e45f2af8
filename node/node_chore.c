#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "base/base.h"
#include "base/log.h"
#include "node_chore.h"

struct node_chore {
    const char *name;
    node_chore_fn fn;
    void *ctx;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond; /* signalled on trigger and stop; uses CLOCK_MONOTONIC */
    int stopping, triggered;
    atomic_llong passes;
};

/* Waits until deadline (monotonic ms), a trigger or a stop. Called with mu held. */
static void wait_until(struct node_chore *c, int64_t deadline_ms)
{
    struct timespec ts = {.tv_sec = (time_t)(deadline_ms / 1000),
                          .tv_nsec = (long)(deadline_ms % 1000) * 1000000};
    while (!c->stopping && !c->triggered && ts_monotonic_ms() < deadline_ms) {
        if (pthread_cond_timedwait(&c->cond, &c->mu, &ts) == ETIMEDOUT) {
            break;
        }
    }
}

static void *chore_main(void *arg)
{
    struct node_chore *c = arg;
    pthread_mutex_lock(&c->mu);
    while (!c->stopping) {
        c->triggered = 0;
        pthread_mutex_unlock(&c->mu);
        int64_t delay_ms = c->fn(c->ctx);
        atomic_fetch_add(&c->passes, 1);
        pthread_mutex_lock(&c->mu);
        wait_until(c, ts_monotonic_ms() + (delay_ms > 0 ? delay_ms : 0));
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

ts_err node_chore_start(const char *name, node_chore_fn fn, void *ctx, struct node_chore **out)
{
    *out = NULL;
    struct node_chore *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return TS_ERR_NOMEM;
    }
    c->name = name;
    c->fn = fn;
    c->ctx = ctx;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&c->mu, NULL);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256u * 1024);
    int rc = pthread_create(&c->thread, &attr, chore_main, c);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        ts_log_error("node.chore", "cannot start thread chore=%s errno=%d", name, rc);
        pthread_cond_destroy(&c->cond);
        pthread_mutex_destroy(&c->mu);
        free(c);
        return TS_ERR_INTERNAL;
    }
    *out = c;
    return TS_OK;
}

void node_chore_trigger(struct node_chore *c)
{
    pthread_mutex_lock(&c->mu);
    c->triggered = 1;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->mu);
}

int64_t node_chore_passes(struct node_chore *c)
{
    return atomic_load(&c->passes);
}

void node_chore_stop(struct node_chore *c)
{
    if (c == NULL) {
        return;
    }
    pthread_mutex_lock(&c->mu);
    c->stopping = 1;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->mu);
    free(c);
}
