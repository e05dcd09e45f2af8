/*
 * Garbage collection and graceful exit end to end (docs/gc.md), over a real network started by
 * planet (tessera-sim: one satellite, real tessera-node processes). Durations are shortened with
 * the environment the programs read (GC every 2 s, 5 s skew margin, exit duration 6 s).
 *   test_gc gc <ip_base>:
 *     objects kept and deleted (plus long-tail leftovers): after GC the deleted objects' pieces
 *     are in trash, every kept object still downloads byte for byte; RestoreTrash (called with
 *     the satellite's identity) brings every trashed piece back; a node started 8 days in the
 *     future empties its trash.
 *   test_gc gexit <ip_base>:
 *     `tessera-node exit-satellite` on a node holding pieces: exit-status says running, then
 *     succeeded after the duration (the node stayed online); the node receives no new pieces.
 * Every wait polls with a deadline; every process is stopped by planet.
 */
#include <dirent.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/fs.h"
#include "e2e.h"
#include "identity/identity.h"
#include "retain.pb-c.h"
#include "rpc/rpc.h"

#define NODES 10
#define KEEP 3
#define GONE 3
#define OBJECT_SIZE (300 * 1024)
#define WAIT_MS 90000

static const char *node_bin;
static int ip_base;

/* ---- Files ---- */

static int file_count;

static int count_fn(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)path, (void)st, (void)ftw;
    file_count += type == FTW_F;
    return 0;
}

static int count_files(const char *dir)
{
    file_count = 0;
    if (nftw(dir, count_fn, 16, FTW_PHYS) != 0) {
        return 0; /* absent: nothing */
    }
    return file_count;
}

static int node_files(int i, const char *area)
{
    char storage[PLANET_PATH_MAX], dir[PLANET_PATH_MAX + 16];
    planet_node_storage(&e2e_planet, i, storage);
    snprintf(dir, sizeof dir, "%s/%s", storage, area);
    return count_files(dir);
}

static int total(const char *area)
{
    int n = 0;
    for (int i = 1; i <= e2e_planet.nodes; i++) {
        n += node_files(i, area);
    }
    return n;
}

/* The satellite's node URL from satellite.url. */
static void satellite_url(struct ts_node_url *url, char *id_text, size_t id_size)
{
    char path[PLANET_PATH_MAX + 32];
    struct ts_buf b;
    ts_buf_init(&b, 1024);
    snprintf(path, sizeof path, "%s/satellite.url", e2e_planet.sat_dir);
    CHECK(ts_fs_read_all(path, 1024, &b) == TS_OK, "read %s", path);
    char *nl = strchr((char *)b.data, '\n');
    if (nl != NULL) {
        *nl = 0;
    }
    CHECK(ts_node_url_parse((char *)b.data, url) == TS_OK, "parse %s", (char *)b.data);
    const char *at = strchr((char *)b.data, '@');
    snprintf(id_text, id_size, "%.*s", (int)(at - (char *)b.data), (char *)b.data);
    ts_buf_release(&b);
}

/* Node i's URL: its identity's ID and the port from its ready file. */
static void node_url(int i, struct ts_node_url *url)
{
    char dir[PLANET_PATH_MAX + 64], path[PLANET_PATH_MAX + 96];
    struct ts_identity *id = NULL;
    snprintf(dir, sizeof dir, "%s/nodes/%d", e2e_planet.dir, i);
    snprintf(path, sizeof path, "%s/identity", dir);
    CHECK(ts_identity_load(path, &id) == TS_OK, "load %s", path);
    memset(url, 0, sizeof *url);
    url->id = *ts_identity_id(id);
    ts_identity_free(id);
    snprintf(path, sizeof path, "%s/ready", dir);
    FILE *f = fopen(path, "r");
    unsigned port = 0;
    CHECK(f != NULL && fscanf(f, "%u", &port) == 1, "read %s", path);
    fclose(f);
    snprintf(url->host, sizeof url->host, "127.%d.%d.1", ip_base, i);
    url->port = (uint16_t)port;
}

/* ---- GC ---- */

static int wait_trash_stable(int at_least)
{
    int last = -1, stable = 0;
    int64_t deadline = e2e_now_s() + WAIT_MS / 1000;
    while (e2e_now_s() < deadline) {
        int t = total("trash");
        stable = t == last && t >= at_least ? stable + 1 : 0;
        last = t;
        if (stable >= 4) { /* unchanged over ~4 GC intervals */
            return t;
        }
        e2e_sleep_ms(1000);
    }
    CHECK(false, "trash never settled at >= %d (last %d)", at_least, last);
    return -1;
}

static void restore_all(int64_t *restored)
{
    char path[PLANET_PATH_MAX + 32], id_text[TS_NODE_ID_TEXT_MAX];
    struct ts_identity *sat = NULL;
    struct ts_rpc_pool *pool = NULL;
    struct ts_node_url sat_url;
    satellite_url(&sat_url, id_text, sizeof id_text);
    snprintf(path, sizeof path, "%s/identity", e2e_planet.sat_dir);
    CHECK(ts_identity_load(path, &sat) == TS_OK, "load the satellite identity");
    CHECK(ts_rpc_pool_new(sat, NULL, &pool) == TS_OK, "pool");
    *restored = 0;
    for (int i = 1; i <= e2e_planet.nodes; i++) {
        struct ts_node_url url;
        node_url(i, &url);
        Tessera__Retain__RestoreTrashRequest req = TESSERA__RETAIN__RESTORE_TRASH_REQUEST__INIT;
        ProtobufCMessage *resp = NULL;
        char msg[256];
        ts_err err = ts_rpc_call(pool, &url, "/tessera.retain.Retain/RestoreTrash", &req.base,
                                 &tessera__retain__restore_trash_response__descriptor, &resp,
                                 msg, sizeof msg);
        CHECK(err == TS_OK, "RestoreTrash on node %d: %s %s", i, ts_errname(err), msg);
        *restored += ((Tessera__Retain__RestoreTrashResponse *)resp)->restored_pieces;
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    ts_rpc_pool_free(pool);
    ts_identity_free(sat);
}

/* RestoreTrash from an identity that is not the trusted satellite is refused. */
static void restore_untrusted(void)
{
    struct ts_identity *other = NULL;
    struct ts_rpc_pool *pool = NULL;
    CHECK(ts_identity_create_ephemeral(&other) == TS_OK, "identity");
    CHECK(ts_rpc_pool_new(other, NULL, &pool) == TS_OK, "pool");
    struct ts_node_url url;
    node_url(1, &url);
    Tessera__Retain__RestoreTrashRequest req = TESSERA__RETAIN__RESTORE_TRASH_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    char msg[256];
    ts_err err = ts_rpc_call(pool, &url, "/tessera.retain.Retain/RestoreTrash", &req.base,
                             &tessera__retain__restore_trash_response__descriptor, &resp, msg,
                             sizeof msg);
    CHECK(err == TS_ERR_UNTRUSTED, "RestoreTrash from a stranger: %s", ts_errname(err));
    ts_rpc_pool_free(pool);
    ts_identity_free(other);
}

static void get_all_kept(struct ul_project *pr)
{
    for (int i = 0; i < KEEP; i++) {
        char key[32];
        uint64_t got = 0;
        bool equal = false;
        snprintf(key, sizeof key, "keep%d", i);
        ul_err err = e2e_get_verify(pr, "gcb", key, 0, -1, 100 + (uint64_t)i, &got, &equal);
        CHECK(err == UL_OK && equal && got == OBJECT_SIZE, "download %s: %s", key,
              ul_errname(err));
    }
}

/* Starts node i (after it was killed) ourselves, with the clock 8 days ahead, waits until its
 * trash is empty, and kills it again. */
static void expire_trash_of(int i)
{
    char config[PLANET_PATH_MAX + 64];
    snprintf(config, sizeof config, "%s/nodes/%d/config", e2e_planet.dir, i);
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        setenv("TS_TEST_CLOCK_OFFSET_S", "700000", 1);
        execl(node_bin, node_bin, "--config", config, (char *)NULL);
        _exit(127);
    }
    int64_t deadline = e2e_now_s() + 60;
    while (e2e_now_s() < deadline && node_files(i, "trash") > 0) {
        e2e_sleep_ms(200);
    }
    int left = node_files(i, "trash");
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(left == 0, "node %d still has %d trashed pieces 8 days later", i, left);
}

static void scenario_gc(void)
{
    struct ul_project *pr = e2e_open(e2e_planet.grant);
    CHECK_OK(ul_bucket_create(pr, "gcb", NULL));
    for (int i = 0; i < KEEP + GONE; i++) {
        char key[32];
        snprintf(key, sizeof key, "%s%d", i < KEEP ? "keep" : "gone", i < KEEP ? i : i - KEEP);
        ul_err err = e2e_put(pr, "gcb", key, OBJECT_SIZE, 100 + (uint64_t)i, NULL, NULL);
        CHECK(err == UL_OK, "upload %s: %s (%s)", key, ul_errname(err), ul_error_detail());
    }
    int before = total("blobs");
    for (int i = 0; i < GONE; i++) {
        char key[32];
        snprintf(key, sizeof key, "gone%d", i);
        CHECK_OK(ul_object_delete(pr, "gcb", key));
    }
    /* Each deleted object had >= o = 8 pieces: at 10% FPR at least half are surely trashed. */
    int trashed = wait_trash_stable(GONE * 8 / 2);
    int after = total("blobs");
    printf("pieces before GC %d, after %d, trashed %d\n", before, after, trashed);
    CHECK(after + trashed == before, "pieces vanished: %d + %d != %d", after, trashed, before);
    CHECK(after >= KEEP * 8, "kept objects lost pieces: %d left", after);
    get_all_kept(pr);

    restore_untrusted();
    int64_t restored = 0;
    restore_all(&restored);
    printf("RestoreTrash brought back %lld pieces\n", (long long)restored);
    CHECK(restored >= trashed, "restored %lld of %d", (long long)restored, trashed);
    /* GC keeps running: the garbage goes back to trash; the kept objects stay whole. */
    trashed = wait_trash_stable(GONE * 8 / 2);
    get_all_kept(pr);

    /* Trash expiry: node 1 restarted 8 days in the future empties its trash. */
    int victim = 0;
    for (int i = 1; i <= e2e_planet.nodes && victim == 0; i++) {
        victim = node_files(i, "trash") > 0 ? i : 0;
    }
    CHECK(victim != 0, "no node has trash");
    CHECK(planet_kill_node(&e2e_planet, victim, SIGKILL) == 0, "kill node %d", victim);
    expire_trash_of(victim);
    CHECK(planet_revive(&e2e_planet) == 0, "revive");
    get_all_kept(pr);
    ul_project_close(pr);
}

/* ---- Graceful exit ---- */

static int node_cmd(int i, const char *cmd, const char *sat_id, char *out, size_t out_size)
{
    char line[4 * PLANET_PATH_MAX];
    snprintf(line, sizeof line, "'%s' %s --satellite %s --config '%s/nodes/%d/config' 2>&1",
             node_bin, cmd, sat_id, e2e_planet.dir, i);
    FILE *f = popen(line, "r");
    CHECK(f != NULL, "popen");
    size_t n = fread(out, 1, out_size - 1, f);
    out[n] = 0;
    int status = pclose(f);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void scenario_gexit(void)
{
    struct ul_project *pr = e2e_open(e2e_planet.grant);
    CHECK_OK(ul_bucket_create(pr, "gxb", NULL));
    ul_err err = e2e_put(pr, "gxb", "before", OBJECT_SIZE, 7, NULL, NULL);
    CHECK(err == UL_OK, "upload: %s", ul_errname(err));
    int exiting = 0;
    for (int i = 1; i <= e2e_planet.nodes && exiting == 0; i++) {
        exiting = node_files(i, "blobs") > 0 ? i : 0;
    }
    CHECK(exiting != 0, "no node holds a piece");
    char sat_id[TS_NODE_ID_TEXT_MAX], out[4096];
    struct ts_node_url sat_url;
    satellite_url(&sat_url, sat_id, sizeof sat_id);
    CHECK(node_cmd(exiting, "exit-satellite", sat_id, out, sizeof out) == 0, "exit: %s", out);
    CHECK(strstr(out, "exit running") != NULL, "exit-satellite said: %s", out);
    CHECK(node_cmd(exiting, "exit-status", sat_id, out, sizeof out) == 0, "status: %s", out);
    CHECK(strstr(out, "exit running") != NULL, "exit-status said: %s", out);
    /* No new pieces for the exiting node (the selection cache refreshes within seconds). */
    e2e_sleep_ms(6000);
    int held = node_files(exiting, "blobs");
    for (int i = 0; i < 3; i++) {
        char key[16];
        snprintf(key, sizeof key, "after%d", i);
        err = e2e_put(pr, "gxb", key, OBJECT_SIZE, 20 + (uint64_t)i, NULL, NULL);
        CHECK(err == UL_OK, "upload %s: %s", key, ul_errname(err));
    }
    CHECK(node_files(exiting, "blobs") == held, "the exiting node received new pieces");
    /* The node stays online: the exit succeeds once the duration is over. */
    int64_t deadline = e2e_now_s() + 60;
    while (e2e_now_s() < deadline && strstr(out, "exit succeeded") == NULL) {
        e2e_sleep_ms(500);
        CHECK(node_cmd(exiting, "exit-status", sat_id, out, sizeof out) == 0, "status: %s", out);
        CHECK(strstr(out, "exit failed") == NULL, "exit failed: %s", out);
    }
    CHECK(strstr(out, "exit succeeded") != NULL, "exit never completed: %s", out);
    printf("graceful exit of node %d: %s", exiting, out);
    /* A node that is not trusted by name is refused by the command. */
    CHECK(node_cmd(exiting, "exit-satellite", "1111111111111111111111111111111111111111111111111",
                   out, sizeof out) == 2,
          "exit to an unknown satellite: %s", out);
    uint64_t got = 0;
    bool equal = false;
    err = e2e_get_verify(pr, "gxb", "before", 0, -1, 7, &got, &equal);
    CHECK(err == UL_OK && equal, "download after exit: %s", ul_errname(err));
    ul_project_close(pr);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: test_gc gc|gexit ip_base\n");
        return 2;
    }
    node_bin = getenv("TS_NODE_BIN");
    if (node_bin == NULL) {
        fprintf(stderr, "TS_NODE_BIN is not set\n");
        return 2;
    }
    /* Short durations for every process the planet starts (they inherit the environment). */
    setenv("TESSERA_SAT_GC_INTERVAL_S", "2", 1);
    setenv("TESSERA_NODE_RETAIN_SKEW_S", "5", 1);
    setenv("TESSERA_NODE_TRASH_INTERVAL_S", "1", 1);
    setenv("TESSERA_SAT_GEXIT_DURATION_S", "6", 1);
    setenv("TESSERA_SAT_GEXIT_INTERVAL_S", "1", 1);
    setenv("TESSERA_SAT_GEXIT_NODE_AGE_MIN_S", "0", 1);
    ip_base = (int)strtol(argv[2], NULL, 10);
    char name[64];
    snprintf(name, sizeof name, "gc.%s", argv[1]);
    struct planet_opts o = {.test_name = name, .nodes = NODES, .ip_base = ip_base};
    CHECK(planet_start(&e2e_planet, &o) == 0, "the network did not start");
    if (strcmp(argv[1], "gc") == 0) {
        scenario_gc();
    } else if (strcmp(argv[1], "gexit") == 0) {
        scenario_gexit();
    } else {
        CHECK(false, "unknown scenario %s", argv[1]);
    }
    planet_stop(&e2e_planet);
    printf("PASS %s\n", name);
    return 0;
}
