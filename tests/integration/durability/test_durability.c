/*
 * Durability end to end: a real tessera-satellite and 14 real tessera-node processes on
 * 127.0.0.1 (temp dirs, port 0), short intervals and a small audit prior (alpha0 = 50, so three
 * failed audits disqualify). One 20 KiB object (one remote segment, 4/6/8/10, 5 stripes) is
 * uploaded with libtessera, then:
 *   1. one byte flipped in one node's piece: stripe audits run in this process over the
 *      satellite's database until one covers that stripe; Berlekamp-Welch names exactly that
 *      node (and every other audit finds nothing wrong);
 *   2. all pieces deleted on another node: the satellite's own audits fail it, its score falls
 *      and it is disqualified;
 *   3. piece holders killed until the segment is at or below the repair threshold: the checker
 *      queues it, the repairer restores healthy >= o on new nodes, and the object downloads
 *      byte for byte with every original holder of the repaired pieces dead (and more killed
 *      so that the repaired pieces are needed).
 * `tessera-satellite status --json` is checked along the way. Usage: test_durability SAT NODE.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "base/fs.h"
#include "db/db.h"
#include "identity/identity.h"
#include "satellite/audit/audit.h"
#include "satellite/db/satdb.h"
#include "satellite/db/sql.h"
#include "satellite/segmentloop/segmentloop.h"
#include "tessera/uplink.h"
#include "dur_harness.h"

#define NODES 14
#define OBJECT_SIZE (20 * 1024)
#define DEADLINE_MS 90000

static const char *sat_exe, *node_exe;
static char root[64];

static struct dur_proc sat_proc;
static struct dur_proc node_procs[NODES];
static struct ts_node_id node_ids[NODES];
static char sat_dir[128], sat_url[TS_NODE_URL_MAX + 1];
static struct ts_db *db;
static struct ts_identity *sat_identity;

static void write_file(const char *path, const char *text)
{
    assert_int_equal(dur_file_append(path, text), TS_OK);
}

static void dump_logs(void)
{
    dur_log_tail(sat_proc.log);
}

/* Starts `tessera-satellite run` and waits for satellite.url (a fresh one). */
static void run_satellite(void)
{
    snprintf(sat_proc.log, sizeof sat_proc.log, "%s/satellite.log", root);
    assert_int_equal(dur_satellite_run(sat_exe, sat_dir, &sat_proc, sat_url, sizeof sat_url),
                     TS_OK);
}

/* Restarts the satellite on the same port with background audits and repair switched on
 * (and so also exercises a restart: the loop resumes from its persisted cursor). */
static void restart_satellite(void)
{
    char path[256], line[128];
    const char *colon = strrchr(sat_url, ':');
    assert_non_null(colon);
    dur_proc_stop(&sat_proc, SIGTERM);
    snprintf(path, sizeof path, "%s/config", sat_dir);
    snprintf(line, sizeof line, "listen = 127.0.0.1%s\n", colon);
    write_file(path, line);
    snprintf(path, sizeof path, "%s/durability", sat_dir);
    write_file(path, "audit_workers = 1\nrepair_workers = 1\n");
    run_satellite();
}

static void start_satellite(void)
{
    char path[256];
    snprintf(sat_dir, sizeof sat_dir, "%s/sat", root);
    assert_int_equal(dur_satellite_setup(sat_exe, sat_dir), TS_OK);
    snprintf(path, sizeof path, "%s/config", sat_dir);
    write_file(path, "node_cache_s = 1\n");
    snprintf(path, sizeof path, "%s/durability", sat_dir);
    /* No background audits or repairs yet: phase 1 audits in-process (restart_satellite). */
    write_file(path, "audit_workers = 0\nrepair_workers = 0\n");
    write_file(path, "loop_interval_s = 1\nloop_page_size = 50\naudit_pause_ms = 100\n"
                     "idle_poll_ms = 100\naudit_timeout_ms = 3000\nreverify_retry_s = 0\n"
                     "reputation_alpha0 = 50\nrepair_retry_s = 1\nrepair_timeout_ms = 10000\n"
                     "repair_workers = 1\nrepair_extra_fraction = 0.05\n");
    run_satellite();
    assert_int_equal(dur_satellite_open(sat_dir, &db, &sat_identity), TS_OK);
}

static void start_node(int i)
{
    assert_int_equal(dur_node_start(node_exe, root, i, sat_url, &node_procs[i], &node_ids[i]),
                     TS_OK);
}

static void wait_nodes_online(int want)
{
    int64_t count = 0;
    if (dur_nodes_wait_online(db, want, 60000, &count) != TS_OK) {
        dump_logs();
        fail_msg("only %lld of %d nodes checked in", (long long)count, want);
    }
}

/* ---- The object ---- */

static struct ul_project *project;
static uint8_t object[OBJECT_SIZE];

static void open_project(void)
{
    assert_int_equal(
        dur_project_open(sat_exe, sat_dir, sat_url, "durability test", "bucket", &project), TS_OK);
}

static void upload(void)
{
    for (size_t i = 0; i < sizeof object; i++) {
        object[i] = (uint8_t)(i * 131 + 7);
    }
    struct ul_upload *up = NULL;
    assert_int_equal(ul_upload_begin(project, "bucket", "obj", NULL, &up), UL_OK);
    assert_int_equal(ul_upload_write(up, object, sizeof object), UL_OK);
    assert_int_equal(ul_upload_commit(up, NULL), UL_OK);
}

static void download_and_compare(void)
{
    struct ul_download *dl = NULL;
    uint8_t *got = malloc(sizeof object + 1);
    size_t total = 0, n = 0;
    ul_err err = ul_download_open(project, "bucket", "obj", NULL, &dl);
    while (err == UL_OK && total <= sizeof object) {
        err = ul_download_read(dl, got + total, sizeof object + 1 - total, &n);
        if (n == 0) {
            break;
        }
        total += n;
    }
    ul_download_close(dl);
    if (err != UL_OK) {
        dump_logs();
    }
    assert_int_equal(err, UL_OK);
    assert_int_equal(total, sizeof object);
    assert_memory_equal(got, object, sizeof object);
    free(got);
}

/* ---- The segment and its holders ---- */

static ts_err first_segment_fn(struct ts_db_conn *c, void *ctx)
{
    uint8_t *sid = ctx;
    struct ts_db_stmt *st = NULL;
    bool row = false;
    ts_err err = sat_sql_prepare(c,
                                 "SELECT stream_id FROM segments WHERE remote_alias_pieces IS "
                                 "NOT NULL LIMIT 1",
                                 &st, "");
    if (err == TS_OK) {
        err = ts_db_stmt_step(st, &row);
    }
    if (err == TS_OK && !row) {
        err = TS_ERR_NOT_FOUND;
    }
    if (err == TS_OK) {
        err = sat_sql_col_fixed(st, 0, sid, SAT_ID_SIZE);
    }
    ts_db_stmt_free(st);
    return err;
}

struct holders {
    struct sat_loop_segment seg;
    int node_of[TS_EC_SHARES_MAX]; /* node index of piece i, -1 if not ours */
    struct sat_node nodes[TS_EC_SHARES_MAX];
};

static ts_err by_alias_fn(struct ts_db_conn *c, void *ctx)
{
    struct holders *h = ctx;
    uint32_t aliases[TS_EC_SHARES_MAX];
    for (size_t i = 0; i < h->seg.piece_count; i++) {
        aliases[i] = h->seg.pieces[i].alias;
    }
    return sat_db_nodes_by_alias(c, aliases, h->seg.piece_count, h->nodes);
}

static uint8_t stream_id[SAT_ID_SIZE];

static void load_holders(struct holders *h)
{
    assert_int_equal(sat_loop_segment_get(db, stream_id, 0, &h->seg), TS_OK);
    assert_int_equal(ts_db_tx_read(db, by_alias_fn, h), TS_OK);
    for (size_t i = 0; i < h->seg.piece_count; i++) {
        h->node_of[i] = -1;
        for (int n = 0; n < NODES; n++) {
            if (memcmp(h->nodes[i].id, node_ids[n].bytes, TS_NODE_ID_SIZE) == 0) {
                h->node_of[i] = n;
            }
        }
        assert_true(h->node_of[i] >= 0);
    }
}

/* Collects the piece files (*.sj1) under dir. */
static void find_pieces(const char *dir, char paths[][512], int *count, int max)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        char path[512];
        if (e->d_name[0] == '.' || snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= 512) {
            continue;
        }
        struct stat st;
        if (stat(path, &st) != 0) {
            continue;
        }
        if (S_ISDIR(st.st_mode) && strcmp(e->d_name, "trash") != 0) {
            find_pieces(path, paths, count, max);
        } else if (strstr(e->d_name, ".sj1") != NULL && *count < max) {
            memcpy(paths[(*count)++], path, sizeof path);
        }
    }
    if (d != NULL) {
        closedir(d);
    }
}

static int node_pieces(int n, char paths[][512], int max)
{
    char dir[160];
    int count = 0;
    snprintf(dir, sizeof dir, "%s/node%d/storage/blobs", root, n);
    find_pieces(dir, paths, &count, max);
    return count;
}

struct node_ctx {
    const uint8_t *id;
    struct sat_node *row;
};

static ts_err node_fn(struct ts_db_conn *c, void *ctx)
{
    struct node_ctx *n = ctx;
    return sat_db_node_get(c, n->id, n->row);
}

static struct sat_node node_row(int n)
{
    struct sat_node row;
    struct node_ctx nc = {node_ids[n].bytes, &row};
    assert_int_equal(ts_db_tx_read(db, node_fn, &nc), TS_OK);
    return row;
}

/* ---- Phase 1: Berlekamp-Welch names the node with one flipped byte ---- */

static void phase_bw(int *corrupt_node)
{
    struct holders *h = calloc(1, sizeof *h);
    load_holders(h);
    int x = h->node_of[0];
    char paths[4][512];
    assert_int_equal(node_pieces(x, paths, 4), 1);
    /* Flip one byte of stripe 2's share (the file starts with a 512-byte header). */
    const int64_t target = 2;
    int fd = open(paths[0], O_RDWR);
    assert_true(fd >= 0);
    uint8_t b = 0;
    off_t off = 512 + (off_t)(target * h->seg.redundancy.share_size + 17);
    assert_int_equal(pread(fd, &b, 1, off), 1);
    b ^= 0x40;
    assert_int_equal(pwrite(fd, &b, 1, off), 1);
    close(fd);
    struct sat_reputation_config rep;
    sat_reputation_config_defaults(&rep);
    rep.alpha0 = 50;
    struct ts_rpc_pool *pool = NULL;
    struct ts_rpc_pool_opts po = {.dial_timeout_ms = 3000, .io_timeout_ms = 3000};
    assert_int_equal(ts_rpc_pool_new(sat_identity, &po, &pool), TS_OK);
    struct sat_auditor a = {
        db,
        sat_identity,
        pool,
        &rep,
        {.timeout_ms = 3000, .concurrency = 16, .reverify_max = 3, .order_expiration_s = 3600}};
    struct sat_audit_pick pick;
    memcpy(pick.stream_id, stream_id, SAT_ID_SIZE);
    pick.position = 0;
    struct sat_audit_report *rep_out = calloc(1, sizeof *rep_out);
    bool hit = false;
    for (int tries = 0; tries < 200 && !hit; tries++) {
        assert_int_equal(sat_audit_segment(&a, &pick, rep_out), TS_OK);
        assert_false(rep_out->skipped);
        assert_int_equal(rep_out->count, h->seg.piece_count);
        int failures = 0;
        for (size_t i = 0; i < rep_out->count; i++) {
            if (rep_out->outcomes[i] == SAT_AUDIT_FAILURE) {
                failures++;
                assert_memory_equal(rep_out->node_ids[i], node_ids[x].bytes, TS_NODE_ID_SIZE);
            } else {
                assert_int_equal(rep_out->outcomes[i], SAT_AUDIT_SUCCESS);
            }
        }
        hit = rep_out->stripe == target;
        assert_int_equal(failures, hit ? 1 : 0);
    }
    assert_true(hit);
    ts_rpc_pool_free(pool);
    free(rep_out);
    free(h);
    *corrupt_node = x;
}

/* ---- Phase 2: deleted pieces fail audits until the node is disqualified ---- */

static void phase_dq(int y)
{
    char paths[8][512];
    int count = node_pieces(y, paths, 8);
    assert_true(count >= 1);
    for (int i = 0; i < count; i++) {
        assert_int_equal(unlink(paths[i]), 0);
    }
    int64_t deadline = ts_monotonic_ms() + DEADLINE_MS;
    struct sat_node row = node_row(y);
    while (row.disqualified_at == 0 && ts_monotonic_ms() < deadline) {
        usleep(200000);
        row = node_row(y);
    }
    if (row.disqualified_at == 0) {
        dump_logs();
    }
    assert_int_not_equal(row.disqualified_at, 0);
    struct sat_reputation_config rep;
    struct sat_reputation r;
    bool found = false;
    sat_reputation_config_defaults(&rep);
    assert_int_equal(sat_reputation_get(db, &rep, node_ids[y].bytes, &r, &found), TS_OK);
    assert_true(found);
    assert_true(r.audits_failed >= 3);
    assert_true(sat_reputation_audit_score(&r) <= 0.96);
}

/* ---- Phase 3: repair after holders die ---- */

static bool killed[NODES];

/* The satellite no longer counts n's pieces as healthy: a failed contact since the last success,
 * or disqualified. (x, the node with the flipped byte, may be disqualified already: its stripe
 * fails whenever an audit picks it. A disqualified node is never dialed again, so waiting for it
 * to be seen offline would wait forever.) */
static bool offline_seen(int n)
{
    struct sat_node row = node_row(n);
    return row.last_contact_failure > row.last_contact_success || row.disqualified_at != 0;
}

/* Healthy pieces as the test sees them: holder alive and not disqualified. */
static int healthy_now(struct holders *h, int *new_pieces, const bool *original)
{
    load_holders(h);
    int healthy = 0;
    *new_pieces = 0;
    for (size_t i = 0; i < h->seg.piece_count; i++) {
        int n = h->node_of[i];
        if (!killed[n] && h->nodes[i].disqualified_at == 0) {
            healthy++;
            *new_pieces += original != NULL && !original[n];
        }
    }
    return healthy;
}

static void wait_offline(const int *nodes, int count)
{
    int64_t deadline = ts_monotonic_ms() + DEADLINE_MS;
    for (int i = 0; i < count; i++) {
        while (!offline_seen(nodes[i]) && ts_monotonic_ms() < deadline) {
            usleep(200000);
        }
        assert_true(offline_seen(nodes[i]));
    }
}

/* Polls until at least want pieces are healthy (as healthy_now counts them); returns the count. */
static int wait_healthy(struct holders *h, int want, int *fresh, const bool *original)
{
    int64_t deadline = ts_monotonic_ms() + DEADLINE_MS;
    int healthy = healthy_now(h, fresh, original);
    while (healthy < want && ts_monotonic_ms() < deadline) {
        usleep(200000);
        healthy = healthy_now(h, fresh, original);
    }
    if (healthy < want) {
        dump_logs();
    }
    return healthy;
}

static void phase_repair(int x, int y)
{
    struct holders *h = calloc(1, sizeof *h);
    bool original[NODES] = {false};
    int dead[NODES], dead_count = 0, fresh = 0;
    /* x may be disqualified by now as well as y (its bad stripe fails whenever an audit picks
     * it): then the segment already needs repair. Let that repair finish first, so the kills
     * below start from a piece list that does not change under them. */
    int healthy = healthy_now(h, &fresh, NULL);
    if (healthy <= h->seg.redundancy.repair) {
        healthy = wait_healthy(h, h->seg.redundancy.success, &fresh, NULL);
        assert_true(healthy >= h->seg.redundancy.success);
    }
    for (size_t i = 0; i < h->seg.piece_count; i++) {
        original[h->node_of[i]] = true;
    }
    /* Kill the corrupted node, then other holders until 5 healthy remain (m = 6). */
    dur_proc_stop(&node_procs[x], SIGKILL);
    killed[x] = true;
    dead[dead_count++] = x;
    for (size_t i = 0; i < h->seg.piece_count && healthy_now(h, &fresh, NULL) > 5; i++) {
        int n = h->node_of[i];
        if (!killed[n] && n != y) {
            dur_proc_stop(&node_procs[n], SIGKILL);
            killed[n] = true;
            dead[dead_count++] = n;
        }
    }
    assert_int_equal(healthy_now(h, &fresh, NULL), 5);
    wait_offline(dead, dead_count);
    /* The checker queues it; the repairer brings it back to >= o on new nodes (a node that
     * refuses a piece, e.g. holding a long-tail upload of that number, is replaced by another:
     * left between m and o the segment would never be queued again). */
    healthy = wait_healthy(h, h->seg.redundancy.success, &fresh, original);
    assert_true(healthy >= h->seg.redundancy.success);
    assert_true(fresh >= 3);
    /* Every original holder of a repaired piece is dead; now kill originals (and the
     * disqualified node) until the object can only be read with the repaired pieces. */
    dur_proc_stop(&node_procs[y], SIGKILL);
    killed[y] = true;
    int kill_now[NODES], kill_count = 0;
    int originals_alive = healthy - fresh;
    for (int n = 0; n < NODES && originals_alive > h->seg.redundancy.required - fresh; n++) {
        if (original[n] && !killed[n]) {
            dur_proc_stop(&node_procs[n], SIGKILL);
            killed[n] = true;
            kill_now[kill_count++] = n;
            originals_alive--;
        }
    }
    wait_offline(kill_now, kill_count);
    download_and_compare();
    free(h);
}

static void test_durability(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "/tmp/ts-test-dur.XXXXXX");
    assert_non_null(mkdtemp(root));
    start_satellite();
    for (int i = 0; i < NODES; i++) {
        start_node(i);
    }
    wait_nodes_online(NODES);
    open_project();
    upload();
    download_and_compare();
    assert_int_equal(ts_db_tx_read(db, first_segment_fn, stream_id), TS_OK);
    int x = -1;
    phase_bw(&x);
    struct holders *h = calloc(1, sizeof *h);
    load_holders(h);
    int y = h->node_of[1];
    assert_int_not_equal(x, y);
    free(h);
    restart_satellite();
    phase_dq(y);
    phase_repair(x, y);
    char out[4096];
    char *status[] = {(char *)sat_exe, "status", "--json", "--dir", sat_dir, NULL};
    assert_int_equal(dur_run_capture(status, out, sizeof out), 0);
    assert_non_null(strstr(out, "\"health\""));
    assert_null(strstr(out, "\"repair.segments\":0"));
    assert_null(strstr(out, "\"audit.failure\":0"));
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < NODES; i++) {
        dur_proc_stop(&node_procs[i], SIGTERM);
    }
    dur_proc_stop(&sat_proc, SIGTERM);
    ul_project_close(project);
    ts_identity_free(sat_identity);
    ts_db_close(db);
    if (getenv("TS_KEEP_TEST_DIR") == NULL && root[0] != 0) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf %s", root);
        if (system(cmd) != 0) {
            fprintf(stderr, "could not remove %s\n", root);
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test_durability TESSERA_SATELLITE TESSERA_NODE\n");
        return 2;
    }
    sat_exe = argv[1];
    node_exe = argv[2];
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_durability, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
