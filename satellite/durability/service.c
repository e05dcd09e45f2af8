/* The durability service threads (see service.h). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "base/log.h"
#include "satellite/durability/service.h"
#include "satellite/repair/checker.h"
#include "satellite/segmentloop/segmentloop.h"

#define COMPONENT "satellite.durability"
#define WORKER_STACK_SIZE (512u * 1024)

struct sat_durability {
    struct sat_durability_config cfg;
    struct ts_db *db;
    const struct sat_config *sat;
    struct ts_rpc_pool *audit_pool, *repair_pool;
    struct sat_segment_loop *loop;
    struct sat_audit_queue queue;
    struct sat_audit_collector collector;
    struct sat_checker checker;
    struct sat_auditor auditor;
    struct sat_repairer repairer;
    atomic_bool stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t threads[1 + 2 * SAT_DURABILITY_WORKERS_MAX];
    int thread_count;
};

/* Sleeps up to ms or until stop; true when stopping. */
static bool nap(struct sat_durability *d, int64_t ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&d->mu);
    while (!atomic_load(&d->stop) && pthread_cond_timedwait(&d->cv, &d->mu, &until) != ETIMEDOUT) {
    }
    pthread_mutex_unlock(&d->mu);
    return atomic_load(&d->stop);
}

static void *loop_thread(void *arg)
{
    struct sat_durability *d = arg;
    do {
        int64_t segments = 0, dq = 0;
        ts_err err = sat_segment_loop_run_pass(d->loop, &d->stop, &segments);
        if (err == TS_OK) {
            err = sat_reputation_absence_sweep(d->db, &d->cfg.reputation, ts_time_now_s(), &dq);
        }
        if (err != TS_OK && err != TS_ERR_CANCELED) {
            ts_log_warn(COMPONENT, "segment loop pass failed: %s", ts_strerror(err));
        }
    } while (!nap(d, d->cfg.loop_interval_s * 1000));
    return NULL;
}

static void *audit_thread(void *arg)
{
    struct sat_durability *d = arg;
    while (!atomic_load(&d->stop)) {
        struct sat_audit_pick pick;
        bool worked = false;
        ts_err err = TS_OK;
        if (sat_audit_queue_pop(&d->queue, &pick)) {
            err = sat_audit_segment(&d->auditor, &pick, NULL);
            worked = true;
        } else {
            err = sat_reverify_next(&d->auditor, &worked, NULL);
        }
        if (err != TS_OK) {
            ts_log_warn(COMPONENT, "audit failed: %s", ts_strerror(err));
        }
        if (nap(d, worked ? d->cfg.audit_pause_ms : d->cfg.idle_poll_ms)) {
            break;
        }
    }
    return NULL;
}

static void *repair_thread(void *arg)
{
    struct sat_durability *d = arg;
    while (!atomic_load(&d->stop)) {
        struct sat_repair_result res;
        bool did = false;
        ts_err err = sat_repair_next(&d->repairer, &did, &res);
        if (err != TS_OK) {
            ts_log_warn(COMPONENT, "repair step failed: %s", ts_strerror(err));
        }
        if (!did && nap(d, d->cfg.idle_poll_ms)) {
            break;
        }
    }
    return NULL;
}

static ts_err spawn(struct sat_durability *d, void *(*fn)(void *))
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, WORKER_STACK_SIZE);
    int rc = pthread_create(&d->threads[d->thread_count], &attr, fn, d);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        return TS_ERR_NOMEM;
    }
    d->thread_count++;
    return TS_OK;
}

static ts_err pools(struct sat_durability *d, const struct ts_identity *identity)
{
    struct ts_rpc_pool_opts ao = {.dial_timeout_ms = d->cfg.audit.timeout_ms,
                                  .io_timeout_ms = d->cfg.audit.timeout_ms};
    struct ts_rpc_pool_opts ro = {.dial_timeout_ms = d->cfg.audit.timeout_ms,
                                  .io_timeout_ms = d->cfg.repair_timeout_ms};
    ts_err err = ts_rpc_pool_new(identity, &ao, &d->audit_pool);
    if (err == TS_OK) {
        err = ts_rpc_pool_new(identity, &ro, &d->repair_pool);
    }
    return err;
}

static ts_err wire(struct sat_durability *d, const struct ts_identity *identity)
{
    struct sat_loop_observer obs;
    ts_err err = sat_segment_loop_new(d->db, "main", (size_t)d->cfg.loop_page_size, &d->loop);
    if (err == TS_OK) {
        err = sat_audit_collector_init(&d->collector, d->cfg.audit_slots, &d->queue);
    }
    if (err == TS_OK) {
        sat_audit_collector_observer(&d->collector, &obs);
        err = sat_segment_loop_register(d->loop, &obs);
    }
    if (err == TS_OK) {
        struct sat_checker_config cc = {.online_window_s = d->sat->online_window_s,
                                        .distinct_nets = d->sat->distinct_nets != 0};
        sat_checker_init(&d->checker, d->db, &cc);
        sat_checker_observer(&d->checker, &obs);
        err = sat_segment_loop_register(d->loop, &obs);
    }
    if (err == TS_OK) {
        err = pools(d, identity);
    }
    d->auditor =
        (struct sat_auditor){d->db, identity, d->audit_pool, &d->cfg.reputation, d->cfg.audit};
    d->repairer = (struct sat_repairer){d->db,  identity,           d->repair_pool,
                                        d->sat, &d->cfg.reputation, d->cfg.repair};
    return err;
}

ts_err sat_durability_start(struct ts_db *db, const struct ts_identity *identity,
                            const struct sat_config *sat, struct sat_durability **out)
{
    struct sat_durability *d = calloc(1, sizeof *d);
    *out = NULL;
    if (d == NULL) {
        return TS_ERR_NOMEM;
    }
    d->db = db;
    d->sat = sat;
    atomic_init(&d->stop, false);
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    sat_audit_queue_init(&d->queue);
    d->cfg = sat->durability;
    ts_err err = TS_OK;
    if (d->cfg.enabled) {
        err = wire(d, identity);
        if (err == TS_OK) {
            err = spawn(d, loop_thread);
        }
        for (int i = 0; err == TS_OK && i < d->cfg.audit_workers; i++) {
            err = spawn(d, audit_thread);
        }
        for (int i = 0; err == TS_OK && i < d->cfg.repair_workers; i++) {
            err = spawn(d, repair_thread);
        }
    }
    if (err != TS_OK) {
        sat_durability_stop(d);
        return err;
    }
    ts_log_info(COMPONENT,
                "started enabled=%d loop_interval_s=%lld audit_workers=%d "
                "repair_workers=%d",
                d->cfg.enabled, (long long)d->cfg.loop_interval_s, d->cfg.audit_workers,
                d->cfg.repair_workers);
    *out = d;
    return TS_OK;
}

void sat_durability_stop(struct sat_durability *d)
{
    if (d == NULL) {
        return;
    }
    pthread_mutex_lock(&d->mu);
    atomic_store(&d->stop, true);
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
    for (int i = 0; i < d->thread_count; i++) {
        pthread_join(d->threads[i], NULL);
    }
    ts_rpc_pool_free(d->audit_pool);
    ts_rpc_pool_free(d->repair_pool);
    sat_audit_collector_release(&d->collector);
    sat_audit_queue_release(&d->queue);
    sat_segment_loop_free(d->loop);
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->mu);
    free(d);
}
