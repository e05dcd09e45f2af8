/*
 * Garbage collection and graceful exit end to end (docs/gc.md), over a real network started by
 * planet (tessera-sim: one satellite, real tessera-node processes). Durations are shortened with
 * config keys: satellite keys through planet's settings (sim --set), node keys appended to each
 * node's config file (the nodes are restarted once).
 *   test_gc gc <ip_base>:
 *     objects kept and deleted: the canceled long tail leaves exactly o pieces per segment on the
 *     nodes (the uplink commits at most o); after GC the deleted objects' pieces
 *     are in trash, every kept object still downloads byte for byte; RestoreTrash (one node
 *     through `tessera-satellite gc restore-trash`, the rest called with the satellite's
 *     identity) brings every trashed piece back; a node started 8 days in the future empties its
 *     trash.
 *   test_gc gexit <ip_base>:
 *     `tessera-node exit-satellite` on the node holding the most pieces: exit-status says
 *     running; the repair checker treats its pieces as exiting and repair re-creates every one of
 *     them on other nodes while it is online (no segment in the satellite DB names it any more);
 *     `tessera-satellite exit list` / `node list` show the exit; the exit succeeds after the
 *     duration; the node receives no new pieces; then the node is killed and every object still
 *     downloads byte for byte. `node disqualify` marks another node disqualified.
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
#include "db/db.h"
#include "identity/identity.h"
#include "retain.pb-c.h"
#include "rpc/rpc.h"
#include "satellite/config.h"
#include "satellite/metainfo/pieces.h"

#define NODES 10
#define OBJECTS 4 /* graceful exit scenario */
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

/* The pieces stored once every upload has settled on the nodes' side: an uplink returns when its
 * own streams end, while a node may still be dropping a canceled piece's temp file. Waits until
 * no node has a piece in temp/ and three counts ~0.3 s apart agree. */
static int settled_total(const char *area)
{
    int64_t deadline = e2e_now_s() + WAIT_MS / 1000;
    int last = -1, stable = 0;
    for (;;) {
        int now = total(area);
        stable = now == last && total("temp") == 0 ? stable + 1 : 0;
        if (stable >= 2 || e2e_now_s() > deadline) {
            return now;
        }
        last = now;
        e2e_sleep_ms(300);
    }
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

/* Appends config lines to every node's config file and restarts the nodes so they read them. */
static void node_settings(const char *lines)
{
    for (int i = 1; i <= e2e_planet.nodes; i++) {
        char path[PLANET_PATH_MAX + 64];
        snprintf(path, sizeof path, "%s/nodes/%d/config", e2e_planet.dir, i);
        FILE *f = fopen(path, "a");
        CHECK(f != NULL && fputs(lines, f) >= 0 && fclose(f) == 0, "append to %s", path);
        CHECK(planet_kill_node(&e2e_planet, i, SIGKILL) == 0, "kill node %d", i);
    }
    /* Let the sim reap the killed nodes first (a node it has not reaped yet counts as running
     * and then as "exited during startup"). */
    e2e_sleep_ms(1000);
    CHECK(planet_revive(&e2e_planet) == 0, "revive with the new node settings");
}

/* `tessera-satellite <args>`: exit status, stdout in out. */
static int sat_admin(const char *const *args, char *out, size_t out_size)
{
    return planet_satellite_admin(&e2e_planet, args, out, out_size);
}

static void node_id_text(int i, char *out, size_t size)
{
    struct ts_node_url url;
    node_url(i, &url);
    CHECK(ts_node_id_to_string(&url.id, out, size) == TS_OK, "node id");
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
    int before = settled_total("blobs");
    /* One segment per object, o = 8 of n = 10 pieces committed: the tail is canceled at the commit
     * gate, before any node keeps it. */
    CHECK(before == (KEEP + GONE) * 8, "%d pieces stored for %d one-segment objects at o = 8",
          before, KEEP + GONE);
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
    /* One node through the operator command, the others over RPC. */
    int first = 0;
    for (int i = 1; i <= e2e_planet.nodes && first == 0; i++) {
        first = node_files(i, "trash") > 0 ? i : 0;
    }
    CHECK(first != 0, "no node has trash");
    int first_trash = node_files(first, "trash");
    char id[TS_NODE_ID_TEXT_MAX], out[512];
    node_id_text(first, id, sizeof id);
    const char *restore_cmd[] = {"gc", "restore-trash", id, NULL};
    CHECK(sat_admin(restore_cmd, out, sizeof out) == 0, "gc restore-trash: %s", out);
    CHECK(strstr(out, "restored") != NULL && node_files(first, "trash") == 0,
          "gc restore-trash said '%s', %d trashed pieces left", out, node_files(first, "trash"));
    printf("%s (node %d had %d)\n", out, first, first_trash);
    int64_t restored = 0;
    restore_all(&restored);
    restored += first_trash;
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

struct seg_query {
    const uint8_t *node_id;
    int on;
};

static ts_err seg_fn(struct ts_db_conn *c, void *ctx)
{
    struct seg_query *q = ctx;
    struct ts_db_stmt *st = NULL;
    bool row = false;
    q->on = 0;
    ts_err err = ts_db_stmt_prepare(c, "SELECT alias FROM node_aliases WHERE node_id = $1", &st);
    if (err == TS_OK) {
        err = ts_db_stmt_bind_blob(st, 1, q->node_id, 32);
    }
    if (err == TS_OK) {
        err = ts_db_stmt_step(st, &row);
    }
    uint32_t alias = err == TS_OK && row ? (uint32_t)ts_db_stmt_column_int64(st, 0) : 0;
    ts_db_stmt_free(st);
    st = NULL;
    if (err == TS_OK && alias != 0) {
        err = ts_db_stmt_prepare(c, "SELECT remote_alias_pieces FROM segments", &st);
    }
    while (err == TS_OK && alias != 0 && (err = ts_db_stmt_step(st, &row)) == TS_OK && row) {
        size_t len = 0, count = 0;
        const uint8_t *raw = ts_db_stmt_column_blob(st, 0, &len);
        struct sat_alias_piece pieces[TS_EC_SHARES_MAX];
        if (raw == NULL || len == 0) {
            continue; /* inline */
        }
        err = sat_alias_pieces_decode(raw, len, pieces, TS_EC_SHARES_MAX, &count);
        for (size_t p = 0; err == TS_OK && p < count; p++) {
            q->on += pieces[p].alias == alias;
        }
    }
    ts_db_stmt_free(st);
    return err;
}

/* Segments whose piece list names node i (read from the satellite's database). */
static int segments_on(int i)
{
    struct sat_config *cfg = calloc(1, sizeof *cfg);
    struct ts_db *db = NULL;
    struct ts_node_url url;
    node_url(i, &url);
    CHECK(cfg != NULL && sat_config_load(cfg, e2e_planet.sat_dir) == TS_OK, "satellite config");
    CHECK(ts_db_open(cfg->db_url, &db) == TS_OK, "open %s", cfg->db_url);
    struct seg_query q = {url.id.bytes, 0};
    ts_err err = ts_db_tx_read(db, seg_fn, &q);
    CHECK(err == TS_OK, "segments of node %d: %s", i, ts_errname(err));
    ts_db_close(db);
    free(cfg);
    return q.on;
}

static void get_all_exit_objects(struct ul_project *pr)
{
    for (int i = 0; i < OBJECTS; i++) {
        char key[16];
        uint64_t got = 0;
        bool equal = false;
        snprintf(key, sizeof key, "obj%d", i);
        ul_err err = e2e_get_verify(pr, "gxb", key, 0, -1, 30 + (uint64_t)i, &got, &equal);
        CHECK(err == UL_OK && equal && got == OBJECT_SIZE, "download %s: %s (%s)", key,
              ul_errname(err), ul_error_detail());
    }
}

static void scenario_gexit(void)
{
    struct ul_project *pr = e2e_open(e2e_planet.grant);
    CHECK_OK(ul_bucket_create(pr, "gxb", NULL));
    for (int i = 0; i < OBJECTS; i++) {
        char key[16];
        snprintf(key, sizeof key, "obj%d", i);
        ul_err err = e2e_put(pr, "gxb", key, OBJECT_SIZE, 30 + (uint64_t)i, NULL, NULL);
        CHECK(err == UL_OK, "upload %s: %s", key, ul_errname(err));
    }
    int exiting = 0, most = 0;
    for (int i = 1; i <= e2e_planet.nodes; i++) {
        int on = segments_on(i);
        if (on > most) {
            exiting = i, most = on;
        }
    }
    CHECK(exiting != 0, "no node holds a piece");
    printf("node %d holds pieces of %d segments; it starts a graceful exit\n", exiting, most);
    char sat_id[TS_NODE_ID_TEXT_MAX], out[8192], node_id[TS_NODE_ID_TEXT_MAX];
    struct ts_node_url sat_url;
    satellite_url(&sat_url, sat_id, sizeof sat_id);
    node_id_text(exiting, node_id, sizeof node_id);
    CHECK(node_cmd(exiting, "exit-satellite", sat_id, out, sizeof out) == 0, "exit: %s", out);
    CHECK(strstr(out, "exit running") != NULL, "exit-satellite said: %s", out);
    CHECK(node_cmd(exiting, "exit-status", sat_id, out, sizeof out) == 0, "status: %s", out);
    CHECK(strstr(out, "exit running") != NULL, "exit-status said: %s", out);
    const char *exit_list[] = {"exit", "list", NULL}, *node_list[] = {"node", "list", NULL};
    CHECK(sat_admin(exit_list, out, sizeof out) == 0 && strstr(out, node_id) != NULL,
          "exit list: %s", out);
    CHECK(sat_admin(node_list, out, sizeof out) == 0, "node list: %s", out);
    const char *line = strstr(out, node_id);
    CHECK(line != NULL && strstr(line, "state=exiting") != NULL &&
              strstr(line, "exit=running") != NULL,
          "node list: %s", out);
    /* Repair moves every piece away while the node still serves them. */
    int64_t deadline = e2e_now_s() + WAIT_MS / 1000;
    int left = most;
    while (e2e_now_s() < deadline && (left = segments_on(exiting)) > 0) {
        e2e_sleep_ms(500);
    }
    CHECK(left == 0, "%d segments still name the exiting node", left);
    printf("every piece of node %d was repaired onto other nodes\n", exiting);
    /* No new pieces for the exiting node. */
    int held = node_files(exiting, "blobs");
    for (int i = 0; i < 2; i++) {
        char key[32];
        snprintf(key, sizeof key, "after%d", i);
        ul_err err = e2e_put(pr, "gxb", key, OBJECT_SIZE, 20 + (uint64_t)i, NULL, NULL);
        CHECK(err == UL_OK, "upload %s: %s", key, ul_errname(err));
    }
    CHECK(node_files(exiting, "blobs") == held, "the exiting node received new pieces");
    /* The node stayed online: the exit succeeds once the duration is over. */
    deadline = e2e_now_s() + 60;
    while (e2e_now_s() < deadline && strstr(out, "exit succeeded") == NULL) {
        e2e_sleep_ms(500);
        CHECK(node_cmd(exiting, "exit-status", sat_id, out, sizeof out) == 0, "status: %s", out);
        CHECK(strstr(out, "exit failed") == NULL, "exit failed: %s", out);
    }
    CHECK(strstr(out, "exit succeeded") != NULL, "exit never completed: %s", out);
    printf("graceful exit of node %d: %s", exiting, out);
    CHECK(sat_admin(exit_list, out, sizeof out) == 0 && strstr(out, "state=succeeded") != NULL,
          "exit list: %s", out);
    /* A node that is not trusted by name is refused by the command. */
    CHECK(node_cmd(exiting, "exit-satellite", "1111111111111111111111111111111111111111111111111",
                   out, sizeof out) == 2,
          "exit to an unknown satellite: %s", out);
    /* The node leaves for good: every object still downloads byte for byte. */
    CHECK(planet_kill_node(&e2e_planet, exiting, SIGKILL) == 0, "kill node %d", exiting);
    get_all_exit_objects(pr);
    /* Operator disqualification shows in the node list. */
    int other = exiting % e2e_planet.nodes + 1;
    char other_id[TS_NODE_ID_TEXT_MAX];
    node_id_text(other, other_id, sizeof other_id);
    const char *dq[] = {"node", "disqualify", other_id, NULL};
    CHECK(sat_admin(dq, out, sizeof out) == 0, "node disqualify: %s", out);
    CHECK(sat_admin(node_list, out, sizeof out) == 0, "node list: %s", out);
    line = strstr(out, other_id);
    CHECK(line != NULL && strncmp(strstr(line, "state="), "state=disqualified", 18) == 0,
          "node list after disqualify: %s", out);
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
    ip_base = (int)strtol(argv[2], NULL, 10);
    char name[64];
    snprintf(name, sizeof name, "gc.%s", argv[1]);
    /* Short durations: satellite config keys (sim --set); nodes get theirs in scenario_gc. The
     * GC scenario counts pieces exactly, so repair (which adds pieces) stays off there. */
    bool gc = strcmp(argv[1], "gc") == 0;
    struct planet_opts o = {.test_name = name, .nodes = NODES, .ip_base = ip_base};
    static const char *gc_settings[] = {"gc.interval_s=2s", "durability.enabled=false", NULL};
    static const char *gexit_settings[] = {
        "gexit.duration_s=8s",           "gexit.interval_s=1s",
        "gexit.node_age_min_s=0",        "node_cache_s=1s",
        "durability.loop_interval_s=1s", "durability.repair_retry_s=1s",
        "durability.idle_poll_ms=200ms", "durability.audit_workers=0"};
    const char *const *set = gc ? gc_settings : gexit_settings;
    for (int i = 0; i < 8 && set[i] != NULL; i++) { /* planet takes eight at most */
        o.settings[i] = set[i];
    }
    CHECK(planet_start(&e2e_planet, &o) == 0, "the network did not start");
    if (gc) {
        node_settings("retain-skew = 5s\ntrash-interval = 1s\n");
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
