/* Side worker: one joinable thread, one job at a time, handed over under a mutex. */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "base/base.h"
#include "base/log.h"
#include "gw_side.h"

#define LOG "gw.side"
/* The thread only hashes: a small stack is plenty. */
#define SIDE_STACK_SIZE (128u * 1024)

struct gw_side {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    /* Guarded by mu. */
    gw_side_fn fn;
    void *arg;
    const uint8_t *data;
    size_t len;
    bool busy; /* a job is posted and not finished */
    bool stop;
};

static void *side_main(void *cls)
{
    struct gw_side *s = cls;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->busy && !s->stop) {
            pthread_cond_wait(&s->cond, &s->mu);
        }
        if (!s->busy) {
            break; /* stop, nothing left to run */
        }
        gw_side_fn fn = s->fn;
        void *arg = s->arg;
        const uint8_t *data = s->data;
        size_t len = s->len;
        pthread_mutex_unlock(&s->mu);
        fn(arg, data, len);
        pthread_mutex_lock(&s->mu);
        s->busy = false;
        pthread_cond_broadcast(&s->cond);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

ts_err gw_side_new(struct gw_side **out)
{
    *out = NULL;
    struct gw_side *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return TS_ERR_NOMEM;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cond, NULL);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, SIDE_STACK_SIZE);
    int rc = pthread_create(&s->thread, &attr, side_main, s);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        ts_log_warn(LOG, "cannot start a side thread rc=%d", rc);
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cond);
        free(s);
        return TS_ERR_INTERNAL;
    }
    *out = s;
    return TS_OK;
}

void gw_side_post(struct gw_side *s, gw_side_fn fn, void *arg, const uint8_t *data, size_t len)
{
    pthread_mutex_lock(&s->mu);
    TS_ASSERT(!s->busy);
    s->fn = fn;
    s->arg = arg;
    s->data = data;
    s->len = len;
    s->busy = true;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
}

void gw_side_wait(struct gw_side *s)
{
    pthread_mutex_lock(&s->mu);
    while (s->busy) {
        pthread_cond_wait(&s->cond, &s->mu);
    }
    pthread_mutex_unlock(&s->mu);
}

void gw_side_free(struct gw_side *s)
{
    if (s == NULL) {
        return;
    }
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cond);
    free(s);
}
