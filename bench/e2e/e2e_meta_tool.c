/*
 * e2e_meta_tool: the metadata half of bench_e2e. Starts a local network (tessera-sim through the
 * planet helper) on SQLite or PostgreSQL, commits COUNT small (inline, 100-byte) objects from
 * THREADS threads over one project, then lists them all, and prints
 *   meta <db> commits/s <x> list objects/s <y> (count <n>, threads <t>)
 * Usage: e2e_meta_tool sqlite|postgres [COUNT=10000] [THREADS=4] [IP_BASE=60]
 * Env: TS_SIM_BIN (set by bench_e2e), TS_TEST_POSTGRES_URL for postgres. The satellite's
 * per-project rate limit is switched off (rate_limit_per_s=0) for the measurement.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "planet.h"
#include "tessera/uplink.h"

#define OBJECT_SIZE 100

static struct planet net;
static struct ul_project *project;
static atomic_int next_index;
static atomic_int failures;
static int count;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *committer(void *arg)
{
    (void)arg;
    uint8_t data[OBJECT_SIZE];
    memset(data, 'm', sizeof data);
    for (int i = atomic_fetch_add(&next_index, 1); i < count;
         i = atomic_fetch_add(&next_index, 1)) {
        char key[64];
        snprintf(key, sizeof key, "d%02d/obj-%06d", i % 50, i);
        struct ul_upload *up = NULL;
        ul_err err = ul_upload_begin(project, "meta", key, NULL, &up);
        if (err == UL_OK) {
            err = ul_upload_write(up, data, sizeof data);
            if (err == UL_OK) {
                err = ul_upload_commit(up, NULL);
            } else {
                ul_upload_abort(up);
            }
        }
        if (err != UL_OK && atomic_fetch_add(&failures, 1) < 3) {
            fprintf(stderr, "commit %s: %s (%s)\n", key, ul_errname(err), ul_error_detail());
        }
    }
    return NULL;
}

static int list_all(long *listed)
{
    struct ul_list_options o = {.recursive = true};
    struct ul_object_iter *it = NULL;
    *listed = 0;
    if (ul_object_list(project, "meta", &o, &it) != UL_OK) {
        return -1;
    }
    for (;;) {
        const struct ul_object_info *item = NULL;
        if (ul_object_iter_next(it, &item) != UL_OK) {
            ul_object_iter_free(it);
            return -1;
        }
        if (item == NULL) {
            break;
        }
        (*listed)++;
    }
    ul_object_iter_free(it);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "sqlite") != 0 && strcmp(argv[1], "postgres") != 0)) {
        fprintf(stderr, "usage: e2e_meta_tool sqlite|postgres [COUNT] [THREADS] [IP_BASE]\n");
        return 2;
    }
    count = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 10000;
    int threads = argc > 3 ? (int)strtol(argv[3], NULL, 10) : 4;
    int ip_base = argc > 4 ? (int)strtol(argv[4], NULL, 10) : 60;
    if (count < 1 || threads < 1 || threads > 64) {
        return 2;
    }
    char name[64];
    snprintf(name, sizeof name, "bench_meta_%s", argv[1]);
    /* The satellite's per-project request limit (100/s by default) would measure itself. */
    struct planet_opts o = {.test_name = name, .nodes = 4, .postgres = argv[1][0] == 'p',
                            .ip_base = ip_base, .settings = {"rate_limit_per_s=0", NULL}};
    if (planet_start(&net, &o) != 0) {
        return 1;
    }
    struct ul_access *access = NULL;
    int rc = 1;
    if (ul_access_parse(net.grant, &access) != UL_OK ||
        ul_project_open(access, NULL, &project) != UL_OK ||
        ul_bucket_create(project, "meta", NULL) != UL_OK) {
        fprintf(stderr, "cannot open the project: %s\n", ul_error_detail());
        goto done;
    }
    pthread_t tids[64];
    double t0 = now_s();
    for (int i = 0; i < threads; i++) {
        pthread_create(&tids[i], NULL, committer, NULL);
    }
    for (int i = 0; i < threads; i++) {
        pthread_join(tids[i], NULL);
    }
    double t1 = now_s();
    long listed = 0;
    int lrc = list_all(&listed);
    double t2 = now_s();
    if (atomic_load(&failures) > 0 || lrc != 0 || listed != count) {
        fprintf(stderr, "failures %d, listed %ld of %d\n", atomic_load(&failures), listed, count);
        goto done;
    }
    printf("meta %-8s commits/s %8.1f   list objects/s %9.1f   (%d objects of %d B, %d threads;"
           " commit %.2f s, list %.2f s)\n",
           argv[1], count / (t1 - t0), listed / (t2 - t1), count, OBJECT_SIZE, threads, t1 - t0,
           t2 - t1);
    rc = 0;
done:
    ul_project_close(project);
    ul_access_free(access);
    if (rc != 0) {
        planet_fail(&net);
    }
    return planet_stop(&net) == 0 ? rc : 1;
}
