/*
 * Churn soak (ctest soak.churn, label soak): a real network (tessera-sim via planet) of 40
 * storage nodes at 4/8/10/12 with the satellite's audits and repair on short intervals. For a
 * bounded time (150 s; 60 s and 20 nodes under TS_SANITIZED=1; SOAK_SECONDS overrides) one node
 * at a time is SIGKILLed and replaced by a new node with a fresh identity, while an uploader and a
 * downloader thread run without pause (every download is compared byte for byte). Then the test
 * waits for the repair queue to drain, reads `tessera-satellite status --json`, requires zero
 * lost segments, downloads every object again (byte-identical) and prints the segment-health
 * histogram and counters.
 *
 * Why 4/8/10/12: the repair threshold sits k above k (as production's 29/52 sits ~0.8 k above
 * k), so repair starts after two or three lost pieces and a segment survives six more before
 * being lost; with 4/6/8/10 on loopback (where all n pieces land) a segment waits for four
 * losses before repair and has two to spare. Each kill takes a piece from ~30 % of segments.
 *
 * Replacement nodes are started here (fork + exec of tessera-node, config like the sim's, own
 * /24 127.B.X.1), killed by PID at the end and on exit, with PDEATHSIG against a hard crash; their
 * logs sit in the planet's logs/ dir, so the sanitizer scan and kept logs cover them.
 * Usage: test_soak <ip-base>
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/fs.h"
#include "e2e.h"
#include "identity/identity.h"

#define NODES_MAX 200      /* planet nodes + replacements over the whole run */
#define OBJECTS_MAX 4096   /* objects uploaded during a run */
#define KILL_EVERY_MS 5000 /* one node replaced this often */
#define STATUS_MAX (256 * 1024)
#define REPAIR_THRESHOLD 8 /* m of 4/8/10/12 */

struct object {
    char key[64];
    uint64_t size;
    uint64_t seed;
};

struct soak {
    int ip_base;
    int planet_nodes;
    int64_t start_ms, end_ms;
    /* Node slot i (1-based): a planet node (i <= planet_nodes) or a replacement started here. */
    pid_t pids[NODES_MAX + 1];
    bool alive[NODES_MAX + 1];
    int slots;
    char sat_url[512];
    char node_bin[PLANET_PATH_MAX];
    /* Objects, appended by the uploader. */
    pthread_mutex_t mu;
    struct object objects[OBJECTS_MAX];
    int object_count;
    atomic_bool stop;
    atomic_int uploads, downloads, upload_failures, download_failures;
    char first_error[512];
};

static struct soak soak;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- Replacement nodes ---- */

static void kill_replacements(void)
{
    for (int i = soak.planet_nodes + 1; i <= soak.slots; i++) {
        if (soak.pids[i] > 0) {
            kill(soak.pids[i], SIGKILL);
            waitpid(soak.pids[i], NULL, 0);
            soak.pids[i] = 0;
        }
    }
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL && fputs(text, f) >= 0 && fclose(f) == 0, "write %s", path);
}

/* Creates node slot i with a fresh identity and starts it (it checks in at once). */
static void replacement_start(int i)
{
    char dir[PLANET_PATH_MAX + 32], path[PLANET_PATH_MAX + 64], config[4096];
    snprintf(dir, sizeof dir, "%s/soak-nodes/%d", e2e_planet.dir, i);
    snprintf(path, sizeof path, "%s/storage", dir);
    CHECK(ts_fs_mkdir_p(path, 0700) == TS_OK, "mkdir %s", path);
    struct ts_identity *id = NULL;
    struct ts_identity_create_opts io = {.difficulty_min = 8, .threads = 1};
    snprintf(path, sizeof path, "%s/identity", dir);
    CHECK(ts_identity_create(&io, &id) == TS_OK && ts_identity_save(id, path) == TS_OK,
          "identity for node %d", i);
    ts_identity_free(id);
    char host[32];
    snprintf(host, sizeof host, "127.%d.%d.1", soak.ip_base, i);
    snprintf(config, sizeof config,
             "identity-dir = %s/identity\nstorage-dir = %s/storage\nlisten = %s:0\n"
             "dashboard = %s:0\ntrust = %s\nready-file = %s/ready\n",
             dir, dir, host, host, soak.sat_url, dir);
    snprintf(path, sizeof path, "%s/config", dir);
    write_file(path, config);
    char log[PLANET_PATH_MAX + 64];
    snprintf(log, sizeof log, "%s/logs/soak-node-%d.log", e2e_planet.dir, i);
    pid_t parent = getpid();
    fflush(NULL); /* or the child's freopen writes our buffered lines again */
    pid_t pid = fork();
    CHECK(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) {
            _exit(1);
        }
        FILE *out = freopen(log, "a", stdout);
        if (out == NULL || dup2(STDOUT_FILENO, STDERR_FILENO) < 0) {
            _exit(1);
        }
        execl(soak.node_bin, soak.node_bin, "--config", path, (char *)NULL);
        _exit(127);
    }
    soak.pids[i] = pid;
    soak.alive[i] = true;
}

static void node_kill(int i)
{
    if (i <= soak.planet_nodes) {
        CHECK(planet_kill_node(&e2e_planet, i, SIGKILL) == 0, "kill planet node %d", i);
    } else {
        kill(soak.pids[i], SIGKILL);
        waitpid(soak.pids[i], NULL, 0);
        soak.pids[i] = 0;
    }
    soak.alive[i] = false;
}

/* Kills a random live node and starts a new one in the next slot. */
static void churn_step(unsigned *rng)
{
    int live[NODES_MAX], count = 0;
    for (int i = 1; i <= soak.slots; i++) {
        if (soak.alive[i]) {
            live[count++] = i;
        }
    }
    CHECK(count > 0 && soak.slots < NODES_MAX, "no node to replace");
    int victim = live[rand_r(rng) % count];
    node_kill(victim);
    replacement_start(++soak.slots);
    printf("t+%llds: node %d killed, node %d joined\n",
           (long long)(now_ms() - soak.start_ms) / 1000, victim, soak.slots);
    fflush(stdout);
}

/* ---- Workload ---- */

static void note_error(const char *what, const char *key, ul_err err)
{
    pthread_mutex_lock(&soak.mu);
    if (soak.first_error[0] == 0) {
        snprintf(soak.first_error, sizeof soak.first_error, "%s %s: %s (%s)", what, key,
                 ul_errname(err), ul_error_detail());
    }
    pthread_mutex_unlock(&soak.mu);
    fprintf(stderr, "soak: %s %s: %s (%s)\n", what, key, ul_errname(err), ul_error_detail());
}

/* Sizes: inline, one small remote segment, a few MiB (several windows and stripes). */
static uint64_t object_size(unsigned *rng)
{
    static const uint64_t sizes[] = {1000, 300 * 1024 + 7, 1 * MiB + 13, 3 * MiB + 1};
    return sizes[rand_r(rng) % (sizeof sizes / sizeof sizes[0])] + (uint64_t)(rand_r(rng) % 4096);
}

static void *uploader(void *arg)
{
    (void)arg;
    struct ul_project *pr = e2e_open(e2e_planet.grant);
    unsigned rng = 7;
    while (!atomic_load(&soak.stop) && soak.object_count < OBJECTS_MAX) {
        struct object o;
        o.seed = 1000 + (uint64_t)soak.object_count;
        o.size = object_size(&rng);
        snprintf(o.key, sizeof o.key, "obj/%llu", (unsigned long long)o.seed);
        ul_err err = e2e_put(pr, "soak", o.key, o.size, o.seed, NULL, NULL);
        atomic_fetch_add(&soak.uploads, 1);
        if (err != UL_OK) {
            atomic_fetch_add(&soak.upload_failures, 1);
            note_error("upload", o.key, err);
            continue;
        }
        pthread_mutex_lock(&soak.mu);
        soak.objects[soak.object_count++] = o;
        pthread_mutex_unlock(&soak.mu);
    }
    ul_project_close(pr);
    return NULL;
}

static bool download_check(struct ul_project *pr, const struct object *o, const char *what)
{
    uint64_t got = 0;
    bool equal = false;
    ul_err err = e2e_get_verify(pr, "soak", o->key, 0, -1, o->seed, &got, &equal);
    atomic_fetch_add(&soak.downloads, 1);
    if (err == UL_OK && (!equal || got != o->size)) {
        err = UL_ERR_AUTH_FAILED; /* wrong bytes (cannot happen: GCM) */
        fprintf(stderr, "soak: %s %s: %llu bytes of %llu, equal %d\n", what, o->key,
                (unsigned long long)got, (unsigned long long)o->size, equal);
    }
    if (err != UL_OK) {
        atomic_fetch_add(&soak.download_failures, 1);
        note_error(what, o->key, err);
        return false;
    }
    return true;
}

static void *downloader(void *arg)
{
    (void)arg;
    struct ul_project *pr = e2e_open(e2e_planet.grant);
    unsigned rng = 11;
    while (!atomic_load(&soak.stop)) {
        pthread_mutex_lock(&soak.mu);
        int count = soak.object_count;
        struct object o;
        memset(&o, 0, sizeof o);
        if (count > 0) {
            o = soak.objects[rand_r(&rng) % count];
        }
        pthread_mutex_unlock(&soak.mu);
        if (count == 0) {
            e2e_sleep_ms(100);
            continue;
        }
        (void)download_check(pr, &o, "download");
    }
    ul_project_close(pr);
    return NULL;
}

/* ---- Satellite status ---- */

static char status_buf[STATUS_MAX];

static const char *status_json(void)
{
    const char *args[] = {"status", "--json", NULL};
    CHECK(planet_satellite_admin(&e2e_planet, args, status_buf, sizeof status_buf) == 0,
          "tessera-satellite status --json");
    return status_buf;
}

/* The integer after "key": in the status JSON; -1 when absent. */
static long long json_int(const char *json, const char *key)
{
    char pat[96];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *at = strstr(json, pat);
    return at != NULL ? strtoll(at + strlen(pat), NULL, 10) : -1;
}

/* The fewest healthy pieces of any segment in the status histogram; -1 when it is empty. */
static long long histogram_min(const char *json)
{
    const char *at = strstr(json, "\"histogram\":");
    long long min = -1;
    while (at != NULL && (at = strstr(at, "\"healthy\":")) != NULL) {
        at += strlen("\"healthy\":");
        long long h = strtoll(at, NULL, 10);
        min = min < 0 || h < min ? h : min;
    }
    return min;
}

/* Waits (bounded) until the satellite has no repair queued and a loop pass that began after the
 * churn stopped found every segment above the repair threshold. */
static void wait_repaired(int64_t timeout_ms)
{
    long long pass0 = json_int(status_json(), "pass");
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        const char *j = status_json();
        long long queue = json_int(j, "repair_queue");
        long long pass = json_int(j, "pass");
        long long min = histogram_min(j);
        if (queue == 0 && pass >= pass0 + 2 && min > REPAIR_THRESHOLD) {
            printf("repaired: queue empty, every segment has >= %lld healthy pieces (pass %lld)\n",
                   min, pass);
            return;
        }
        if (now_ms() > deadline) {
            printf("after %lld s: repair queue %lld, fewest healthy pieces %lld (pass %lld)\n",
                   (long long)timeout_ms / 1000, queue, min, pass);
            return;
        }
        e2e_sleep_ms(1000);
    }
}

/* Retry rounds the satellite served (DownloadObject with exclusions, satellite/metainfo/read.c). */
static int retry_rounds_logged(void)
{
    return planet_log_count(&e2e_planet, "satellite.log", "download retry");
}

static void print_status(void)
{
    const char *args[] = {"status", NULL};
    CHECK(planet_satellite_admin(&e2e_planet, args, status_buf, sizeof status_buf) == 0,
          "tessera-satellite status");
    char *nodes = strstr(status_buf, "\nnodes:");
    if (nodes != NULL) {
        *nodes = 0; /* the per-node table is long: counters and histogram only */
    }
    printf("---- tessera-satellite status ----\n%s\n----\n", status_buf);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_soak <ip-base>\n");
        return 2;
    }
    bool sanitized = e2e_sanitized();
    const char *secs = getenv("SOAK_SECONDS");
    int64_t run_s = secs != NULL ? strtol(secs, NULL, 10) : sanitized ? 60 : 150;
    soak.ip_base = (int)strtol(argv[1], NULL, 10);
    soak.planet_nodes = sanitized ? 20 : 40;
    soak.slots = soak.planet_nodes;
    pthread_mutex_init(&soak.mu, NULL);
    const char *node_bin = getenv("TS_NODE_BIN");
    CHECK(node_bin != NULL && access(node_bin, X_OK) == 0, "TS_NODE_BIN must name tessera-node");
    snprintf(soak.node_bin, sizeof soak.node_bin, "%s", node_bin);

    struct planet_opts o = {
        .test_name = "soak.churn",
        .nodes = soak.planet_nodes,
        .rs = "4/8/10/12",
        .ip_base = soak.ip_base,
        .settings = {"durability.loop_interval_s=2", "durability.audit_pause_ms=50",
                     "durability.audit_workers=2", "durability.audit_timeout_ms=3000",
                     "durability.idle_poll_ms=200", "durability.repair_retry_s=2", "node_cache_s=2",
                     NULL}};
    CHECK(planet_start(&e2e_planet, &o) == 0, "the network did not start");
    atexit(kill_replacements); /* runs before the planet's own exit handler */
    char path[PLANET_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/satellite.url", e2e_planet.dir);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL && fgets(soak.sat_url, sizeof soak.sat_url, f) != NULL, "read %s", path);
    fclose(f);
    soak.sat_url[strcspn(soak.sat_url, "\r\n")] = 0;
    for (int i = 1; i <= soak.planet_nodes; i++) {
        soak.alive[i] = true;
    }
    struct ul_project *pr = e2e_open(e2e_planet.grant);
    CHECK_OK(ul_bucket_create(pr, "soak", NULL));
    printf("soak: %d nodes at 4/8/10/12, %lld s of churn (one node replaced every %d ms)\n",
           soak.planet_nodes, (long long)run_s, KILL_EVERY_MS);

    pthread_t up, down;
    CHECK(pthread_create(&up, NULL, uploader, NULL) == 0, "uploader thread");
    CHECK(pthread_create(&down, NULL, downloader, NULL) == 0, "downloader thread");
    int64_t start = now_ms();
    soak.start_ms = start;
    soak.end_ms = start + run_s * 1000;
    unsigned rng = 3;
    int kills = 0;
    while (now_ms() < soak.end_ms) {
        e2e_sleep_ms(KILL_EVERY_MS);
        churn_step(&rng);
        kills++;
    }
    atomic_store(&soak.stop, true);
    pthread_join(up, NULL);
    pthread_join(down, NULL);
    printf("churn over after %lld s: %d nodes replaced; %d uploads (%d failed), %d downloads "
           "(%d failed)\n",
           (long long)(now_ms() - start) / 1000, kills, atomic_load(&soak.uploads),
           atomic_load(&soak.upload_failures), atomic_load(&soak.downloads),
           atomic_load(&soak.download_failures));

    wait_repaired(sanitized ? 120000 : 90000);
    const char *j = status_json();
    long long lost = json_int(j, "lost_segments"), repair_lost = json_int(j, "repair.lost");
    print_status();
    CHECK(lost == 0 && repair_lost <= 0, "lost segments: %lld (repair.lost %lld)", lost,
          repair_lost);
    int bad = 0;
    for (int i = 0; i < soak.object_count; i++) {
        bad += !download_check(pr, &soak.objects[i], "final download");
    }
    printf("final check: %d objects, %d not identical; download retry rounds served: %d\n",
           soak.object_count, bad, retry_rounds_logged());
    CHECK(bad == 0, "%d of %d objects did not come back identical", bad, soak.object_count);
    CHECK(atomic_load(&soak.download_failures) == 0, "%d downloads failed during churn; first: %s",
          atomic_load(&soak.download_failures), soak.first_error);
    CHECK(atomic_load(&soak.upload_failures) == 0, "%d uploads failed during churn; first: %s",
          atomic_load(&soak.upload_failures), soak.first_error);
    ul_project_close(pr);
    kill_replacements();
    return planet_stop(&e2e_planet) == 0 ? 0 : 1;
}
