/*
 * bench_repair: repair throughput and audit cost on a real local network (one tessera-satellite
 * with its background workers off, 14 tessera-node processes, 4/8/8/10 so that losing two pieces
 * triggers repair). It uploads SEGMENTS one-segment objects, then measures in this process, over
 * the satellite's database and real transfers:
 *   - stripe audits: wall time, satellite CPU time and bytes per audit; extrapolated to the audit
 *     cost per node per hour of a 10,000-segment satellite (3 reservoir slots per node, a loop
 *     pass every 2 h, the production shape 29/80 on 110+ nodes and the local one);
 *   - repair: 3 nodes are killed (and marked offline), every segment is repaired: segments per
 *     minute, and bytes transferred per byte repaired (ideal: k pieces in, the missing ones out).
 * Usage: bench_repair TESSERA_SATELLITE TESSERA_NODE [SEGMENTS] [SEGMENT_BYTES]
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/base.h"
#include "base/fs.h"
#include "crypto/hash.h"
#include "db/db.h"
#include "identity/identity.h"
#include "satellite/audit/audit.h"
#include "satellite/config.h"
#include "satellite/db/satdb.h"
#include "satellite/db/sql.h"
#include "satellite/repair/repairer.h"
#include "satellite/segmentloop/segmentloop.h"
#include "tessera/uplink.h"
#include "dur_harness.h"

#define CHECK_EQ(a, b) check((int64_t)(a) == (int64_t)(b), #a, __LINE__)
#define CHECK_NN(p) check((p) != NULL, #p, __LINE__)
#define CHECK_T(c) check((c), #c, __LINE__)
#define NODES 14
#define SEGMENTS_MAX 64

static void check(int ok, const char *what, int line)
{
    if (!ok) {
        fprintf(stderr, "bench_repair: check failed at line %d: %s\n", line, what);
        exit(1);
    }
}

/* A small positive integer argument (atoi is banned). */
static int atoi_bounded(const char *s)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    check(*end == 0 && v > 0 && v <= 64 * 1024 * 1024, "numeric argument", __LINE__);
    return (int)v;
}

static const char *sat_exe, *node_exe;
static char root[64];

static struct dur_proc sat_proc;
static struct dur_proc node_procs[NODES];
static struct ts_node_id node_ids[NODES];
static char sat_dir[128], sat_url[TS_NODE_URL_MAX + 1];
static struct ts_db *db;
static struct ts_identity *sat_identity;

static void start_satellite(void)
{
    char path[256];
    snprintf(sat_dir, sizeof sat_dir, "%s/sat", root);
    CHECK_EQ(dur_satellite_setup(sat_exe, sat_dir), TS_OK);
    snprintf(path, sizeof path, "%s/config", sat_dir);
    CHECK_EQ(dur_file_append(path, "node_cache_s = 1\nredundancy = 4/8/8/10-256B\n"), TS_OK);
    snprintf(path, sizeof path, "%s/durability", sat_dir);
    /* No background audits or repairs yet: phase 1 audits in-process (restart_satellite). */
    CHECK_EQ(
        dur_file_append(path, "audit_workers = 0\nrepair_workers = 0\nloop_interval_s = 3600\n"),
        TS_OK);
    CHECK_EQ(dur_file_append(
                 path, "loop_page_size = 50\naudit_pause_ms = 100\n"
                       "idle_poll_ms = 100\naudit_timeout_ms = 3000\nreverify_retry_s = 0\n"
                       "reputation_alpha0 = 50\nrepair_retry_s = 1\nrepair_timeout_ms = 10000\n"
                       "repair_workers = 1\nrepair_extra_fraction = 0.05\n"),
             TS_OK);
    snprintf(sat_proc.log, sizeof sat_proc.log, "%s/satellite.log", root);
    CHECK_EQ(dur_satellite_run(sat_exe, sat_dir, &sat_proc, sat_url, sizeof sat_url), TS_OK);
    CHECK_EQ(dur_satellite_open(sat_dir, &db, &sat_identity), TS_OK);
}

static void start_node(int i)
{
    CHECK_EQ(dur_node_start(node_exe, root, i, sat_url, &node_procs[i], &node_ids[i]), TS_OK);
}

static void wait_nodes_online(int want)
{
    int64_t count = 0;
    if (dur_nodes_wait_online(db, want, 60000, &count) != TS_OK) {
        dur_log_tail(sat_proc.log);
        fprintf(stderr, "only %lld of %d nodes checked in\n", (long long)count, want);
        exit(1);
    }
}

static struct ul_project *project;

static void open_project(void)
{
    CHECK_EQ(dur_project_open(sat_exe, sat_dir, sat_url, "bench", "bench", &project), TS_OK);
}

static void upload(int i, size_t size)
{
    uint8_t *data = malloc(size);
    char key[32];
    CHECK_NN(data);
    CHECK_EQ(ts_random_bytes(data, size), TS_OK);
    snprintf(key, sizeof key, "obj-%d", i);
    struct ul_upload *up = NULL;
    CHECK_EQ(ul_upload_begin(project, "bench", key, NULL, &up), UL_OK);
    CHECK_EQ(ul_upload_write(up, data, size), UL_OK);
    CHECK_EQ(ul_upload_commit(up, NULL), UL_OK);
    free(data);
}

struct seg_list {
    uint8_t ids[SEGMENTS_MAX][SAT_ID_SIZE];
    int count;
};

static ts_err list_fn(struct ts_db_conn *c, void *ctx)
{
    struct seg_list *l = ctx;
    struct ts_db_stmt *st = NULL;
    l->count = 0;
    ts_err err = sat_sql_prepare(c,
                                 "SELECT stream_id FROM segments WHERE remote_alias_pieces IS "
                                 "NOT NULL LIMIT 64",
                                 &st, "");
    while (err == TS_OK && l->count < SEGMENTS_MAX) {
        bool row = false;
        err = ts_db_stmt_step(st, &row);
        if (err != TS_OK || !row) {
            break;
        }
        err = sat_sql_col_fixed(st, 0, l->ids[l->count++], SAT_ID_SIZE);
    }
    ts_db_stmt_free(st);
    return err;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static ts_err offline_fn(struct ts_db_conn *c, void *ctx)
{
    const uint8_t *id = ctx;
    return sat_sql_exec(c, NULL, "UPDATE nodes SET last_contact_failure = $1 WHERE id = $2", "ib",
                        ts_time_now_s() + 5, id, (size_t)TS_NODE_ID_SIZE);
}

static void bench_audits(const struct seg_list *l, struct ts_rpc_pool *pool,
                         const struct sat_reputation_config *rep)
{
    struct sat_auditor a = {
        db,
        sat_identity,
        pool,
        rep,
        {.timeout_ms = 5000, .concurrency = 16, .reverify_max = 3, .order_expiration_s = 3600}};
    struct sat_audit_report *r = calloc(1, sizeof *r);
    const int audits = 60;
    int64_t bytes = 0, asked = 0;
    double cpu0 = cpu_s();
    int64_t t0 = ts_monotonic_ns();
    for (int i = 0; i < audits; i++) {
        struct sat_audit_pick pick;
        memcpy(pick.stream_id, l->ids[i % l->count], SAT_ID_SIZE);
        pick.position = 0;
        CHECK_EQ(sat_audit_segment(&a, &pick, r), TS_OK);
        bytes += r->bytes;
        asked += (int64_t)r->count;
    }
    double wall = (double)(ts_monotonic_ns() - t0) / 1e9, cpu = cpu_s() - cpu0;
    double per_share_cpu_ms = 1000.0 * cpu / (double)asked;
    printf("audits: %d in %.2f s: %.1f ms wall and %.2f ms satellite CPU per audit "
           "(%.1f holders, %lld share bytes); %.3f ms CPU per share read\n",
           audits, wall, 1000.0 * wall / audits, 1000.0 * cpu / audits, (double)asked / audits,
           (long long)(bytes / audits), per_share_cpu_ms);
    /* 10,000 segments, 3 slots per node, a pass every 2 h: at most 3 * N audited segments per
     * pass, each asking all n holders for one 256-byte share. */
    static const struct {
        const char *shape;
        int nodes, n;
    } NET[] = {{"29/80 on 110 nodes", 110, 80},
               {"29/80 on 1000 nodes", 1000, 80},
               {"4/8 on 14 nodes", 14, 8}};
    for (size_t i = 0; i < sizeof NET / sizeof NET[0]; i++) {
        double audited = 3.0 * NET[i].nodes < 10000 ? 3.0 * NET[i].nodes : 10000;
        double reads_per_node_h = audited * NET[i].n / NET[i].nodes / 2.0;
        printf("  10,000 segments, %s: %.0f share reads/node/h = %.1f KB/node/h; satellite "
               "%.2f CPU-s/h\n",
               NET[i].shape, reads_per_node_h, reads_per_node_h * 256 / 1000.0,
               audited * NET[i].n / 2.0 * per_share_cpu_ms / 1000.0);
    }
    free(r);
}

static void bench_repair(const struct seg_list *l, struct ts_rpc_pool *pool,
                         const struct sat_reputation_config *rep, const struct sat_config *cfg)
{
    for (int n = 0; n < 3; n++) { /* three holders gone: most segments drop to <= 8 */
        dur_proc_stop(&node_procs[n], SIGKILL);
        CHECK_EQ(ts_db_tx(db, offline_fn, node_ids[n].bytes), TS_OK);
    }
    struct sat_repairer rp = {
        db,   sat_identity,
        pool, cfg,
        rep,  {.concurrency = 16, .extra_fraction = 0.0, .retry_s = 0, .order_expiration_s = 3600}};
    int repaired = 0;
    int64_t down = 0, up = 0, ideal = 0;
    double cpu0 = cpu_s();
    int64_t t0 = ts_monotonic_ns();
    for (int i = 0; i < l->count; i++) {
        struct sat_repair_result res;
        ts_err err = sat_repair_segment(&rp, l->ids[i], 0, &res);
        if (err != TS_OK || res.skipped || res.lost) {
            continue;
        }
        repaired++;
        down += res.bytes_downloaded;
        up += res.bytes_uploaded;
        ideal += res.piece_size * 4 + res.bytes_uploaded; /* k = 4 pieces in */
    }
    double wall = (double)(ts_monotonic_ns() - t0) / 1e9, cpu = cpu_s() - cpu0;
    CHECK_T(repaired > 0);
    printf("repair: %d of %d segments in %.2f s = %.0f segments/min (%.2f s satellite CPU)\n",
           repaired, l->count, wall, 60.0 * repaired / wall, cpu);
    printf("  bytes in %lld, out %lld: %.2f bytes transferred per byte repaired (ideal %.2f: "
           "k pieces in, the missing ones out)\n",
           (long long)down, (long long)up, (double)(down + up) / (double)up,
           (double)ideal / (double)up);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_repair TESSERA_SATELLITE TESSERA_NODE [SEGMENTS] "
                        "[SEGMENT_BYTES]\n");
        return 2;
    }
    sat_exe = argv[1];
    node_exe = argv[2];
    int segments = argc > 3 ? atoi_bounded(argv[3]) : 16;
    segments = segments > SEGMENTS_MAX ? SEGMENTS_MAX : segments;
    size_t seg_bytes = argc > 4 ? (size_t)atoi_bounded(argv[4]) : 1024 * 1024;
    signal(SIGPIPE, SIG_IGN);
    snprintf(root, sizeof root, "/tmp/ts-bench-repair.XXXXXX");
    CHECK_NN(mkdtemp(root));
    start_satellite();
    for (int i = 0; i < NODES; i++) {
        start_node(i);
    }
    wait_nodes_online(NODES);
    open_project();
    for (int i = 0; i < segments; i++) {
        upload(i, seg_bytes);
    }
    struct seg_list *l = calloc(1, sizeof *l);
    CHECK_EQ(ts_db_tx_read(db, list_fn, l), TS_OK);
    struct sat_config *cfg = calloc(1, sizeof *cfg);
    CHECK_EQ(sat_config_load(cfg, sat_dir), TS_OK);
    struct sat_reputation_config rep;
    sat_reputation_config_defaults(&rep);
    struct ts_rpc_pool *pool = NULL;
    struct ts_rpc_pool_opts po = {.dial_timeout_ms = 5000, .io_timeout_ms = 30000};
    CHECK_EQ(ts_rpc_pool_new(sat_identity, &po, &pool), TS_OK);
    printf("network: 14 nodes, 4/8/8/10, %d segments of %zu bytes\n", l->count, seg_bytes);
    bench_audits(l, pool, &rep);
    bench_repair(l, pool, &rep, cfg);
    ts_rpc_pool_free(pool);
    for (int i = 0; i < NODES; i++) {
        dur_proc_stop(&node_procs[i], SIGTERM);
    }
    dur_proc_stop(&sat_proc, SIGTERM);
    ul_project_close(project);
    ts_identity_free(sat_identity);
    ts_db_close(db);
    free(cfg);
    free(l);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    return system(cmd) == 0 ? 0 : 1;
}
