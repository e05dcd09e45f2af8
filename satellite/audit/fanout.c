/* Bounded fan-out over a shared index (see fanout.h). */
#include <pthread.h>
#include <stdatomic.h>

#include "base/base.h"
#include "satellite/audit/fanout.h"

#define FANOUT_THREADS_MAX 128

struct fanout {
    size_t count;
    atomic_size_t next;
    void (*fn)(void *ctx, size_t i);
    void *ctx;
};

static void *worker(void *arg)
{
    struct fanout *f = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&f->next, 1);
        if (i >= f->count) {
            return NULL;
        }
        f->fn(f->ctx, i);
    }
}

void sat_fanout_run(size_t count, int threads, void (*fn)(void *ctx, size_t i), void *ctx)
{
    struct fanout f = {.count = count, .fn = fn, .ctx = ctx};
    atomic_init(&f.next, 0);
    pthread_t tids[FANOUT_THREADS_MAX];
    size_t want = threads < 1 ? 1 : (size_t)threads;
    want = want > FANOUT_THREADS_MAX ? FANOUT_THREADS_MAX : want;
    want = want > count ? count : want;
    size_t started = 0;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, SAT_FANOUT_STACK_SIZE);
    /* The caller's thread works too, so one fewer thread is created. */
    for (size_t t = 1; t < want; t++) {
        if (pthread_create(&tids[started], &attr, worker, &f) != 0) {
            break;
        }
        started++;
    }
    pthread_attr_destroy(&attr);
    worker(&f);
    for (size_t t = 0; t < started; t++) {
        pthread_join(tids[t], NULL);
    }
}
