/*
 * bench_node: the storage node's transfer cost against same-run baselines.
 *  1. One 64 MiB piece uploaded to and downloaded from a tessera-node process over loopback TLS
 *     (orders, hashing, fsync, header, protobuf framing included), against a raw TLS stream of
 *     the same bytes between two threads of this process. Ratio = node MB/s / raw MB/s.
 *  2. 500 concurrent 64 KiB uploads: completions per second, errors, the node's peak RSS.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "crypto/ed25519.h"
#include "node_client.h"
#include "tls/tls.h"

#define PIECE_SIZE (64u << 20)
#define CONCURRENT 500
#define SMALL_SIZE (64u * 1024)
#define RAW_CHUNK (256u * 1024)

static struct nc_sat sat;
static struct nc_node node;
static struct ts_rpc_pool *pool;
static struct ts_identity *uplink_id;
static struct nc_piece_key key;

static void die(const char *what, ts_err err)
{
    fprintf(stderr, "bench_node: %s: %s\n", what, ts_strerror(err));
    nc_node_dump_log(&node);
    nc_node_stop(&node, SIGKILL);
    exit(1);
}

/* ---- Raw TLS baseline: a server thread that sinks (upload) or sources (download) bytes ---- */

struct raw_server {
    int listen_fd;
    uint16_t port;
    struct ts_tls_ctx *ctx;
    int send_mode; /* 0: read PIECE_SIZE then reply 1 byte; 1: write PIECE_SIZE */
    uint8_t *buf;
    double cpu_s; /* CPU seconds the server thread spent after its handshake */
};

/* CPU seconds the calling thread has run. */
static double thread_cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *raw_serve(void *arg)
{
    struct raw_server *rs = arg;
    int fd = accept(rs->listen_fd, NULL, NULL);
    struct ts_tls_conn *c = NULL;
    if (fd < 0 || ts_tls_accept(rs->ctx, fd, 10000, &c) != TS_OK) {
        return NULL;
    }
    ts_tls_conn_set_timeout(c, 30000);
    double cpu0 = thread_cpu_seconds();
    ts_err err = TS_OK;
    if (rs->send_mode) {
        for (size_t off = 0; err == TS_OK && off < PIECE_SIZE; off += RAW_CHUNK) {
            err = ts_tls_conn_write(c, rs->buf + off, RAW_CHUNK);
        }
        if (err == TS_OK) {
            err = ts_tls_conn_flush(c);
        }
        uint8_t ack;
        if (err == TS_OK) {
            err = ts_tls_conn_read_full(c, &ack, 1);
        }
    } else {
        err = ts_tls_conn_read_full(c, rs->buf, PIECE_SIZE);
        if (err == TS_OK) {
            err = ts_tls_conn_write(c, "k", 1);
        }
        if (err == TS_OK) {
            err = ts_tls_conn_flush(c);
        }
    }
    rs->cpu_s = thread_cpu_seconds() - cpu0;
    ts_tls_conn_close(c);
    return NULL;
}

/* CPU seconds per GB moved, both ends together, best run: [download] raw pair, node path. */
static double raw_cpu_per_gb_min[2] = {1e9, 1e9};
static double path_cpu_per_gb_min[2] = {1e9, 1e9};
static double client_cpu_per_gb_min[2] = {1e9, 1e9};

static void cpu_note(double *best, double cpu_s)
{
    double per_gb = cpu_s / (PIECE_SIZE / 1e9);
    *best = per_gb < *best ? per_gb : *best;
}

/* Seconds to move PIECE_SIZE bytes over one raw TLS connection in the given direction. */
static double raw_tls_seconds(int download, const uint8_t *data, uint8_t *sink)
{
    struct raw_server rs = {.send_mode = download};
    rs.buf = download ? (uint8_t *)data : sink;
    struct ts_tls_config scfg = {.identity = sat.identity};
    struct ts_tls_config ccfg = {.identity = uplink_id};
    struct ts_tls_ctx *cctx = NULL;
    if (ts_tls_ctx_new(&scfg, &rs.ctx) != TS_OK || ts_tls_ctx_new(&ccfg, &cctx) != TS_OK) {
        die("tls ctx", TS_ERR_TLS);
    }
    rs.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    socklen_t alen = sizeof a;
    if (bind(rs.listen_fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(rs.listen_fd, 4) != 0 ||
        getsockname(rs.listen_fd, (struct sockaddr *)&a, &alen) != 0) {
        die("raw listen", TS_ERR_IO);
    }
    pthread_t t;
    pthread_create(&t, NULL, raw_serve, &rs);
    struct ts_node_url url = {.id = *ts_identity_id(sat.identity), .port = ntohs(a.sin_port)};
    snprintf(url.host, sizeof url.host, "127.0.0.1");
    struct ts_tls_conn *c = NULL;
    ts_err err = ts_tls_connect(cctx, &url, 10000, &c);
    double cpu0 = thread_cpu_seconds();
    double t0 = (double)ts_monotonic_ns();
    if (err == TS_OK) {
        ts_tls_conn_set_timeout(c, 30000);
        if (download) {
            err = ts_tls_conn_read_full(c, sink, PIECE_SIZE);
            if (err == TS_OK) {
                err = ts_tls_conn_write(c, "k", 1);
            }
        } else {
            for (size_t off = 0; err == TS_OK && off < PIECE_SIZE; off += RAW_CHUNK) {
                err = ts_tls_conn_write(c, data + off, RAW_CHUNK);
            }
            uint8_t ack;
            if (err == TS_OK) {
                err = ts_tls_conn_read_full(c, &ack, 1); /* flushes first */
            }
        }
        if (err == TS_OK) {
            err = ts_tls_conn_flush(c);
        }
    }
    double secs = ((double)ts_monotonic_ns() - t0) / 1e9;
    double client_cpu = thread_cpu_seconds() - cpu0;
    if (err != TS_OK) {
        die("raw tls transfer", err);
    }
    ts_tls_conn_close(c);
    pthread_join(t, NULL);
    cpu_note(&raw_cpu_per_gb_min[download], client_cpu + rs.cpu_s);
    close(rs.listen_fd);
    ts_tls_ctx_free(rs.ctx);
    ts_tls_ctx_free(cctx);
    return secs;
}

/* ---- Node transfers ---- */

/* CPU seconds the node's threads have run so far (sum of /proc/<pid>/task/<tid>/schedstat, ns
 * resolution): a measure that contention on the shared machine does not distort the way wall time
 * is. Threads that exit between two readings drop out; the connection thread of the pooled
 * connection lives across transfers. */
static double node_cpu_seconds(void)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)node.pid);
    DIR *d = opendir(path);
    double ns = 0;
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        char stat[400];
        if (e->d_name[0] == '.') {
            continue;
        }
        snprintf(stat, sizeof stat, "%s/%s/schedstat", path, e->d_name);
        FILE *f = fopen(stat, "r");
        unsigned long long run_ns = 0;
        if (f != NULL && fscanf(f, "%llu", &run_ns) == 1) {
            ns += (double)run_ns;
        }
        if (f != NULL) {
            fclose(f);
        }
    }
    if (d != NULL) {
        closedir(d);
    }
    return ns / 1e9;
}

static double node_cpu_per_gb_min[2] = {1e9, 1e9}; /* [download]: node CPU-s per GB, best run */

static double node_seconds(int download, uint32_t piece, const uint8_t *data, uint8_t *sink)
{
    uint8_t pid[32] = {0};
    ts_be32_put(pid, piece);
    enum ts_piece_action action = download ? TS_PIECE_ACTION_GET : TS_PIECE_ACTION_PUT;
    struct ts_order_limit l =
        nc_limit(sat.identity, &sat.url.id, &node.url.id, action, pid, PIECE_SIZE, &key);
    struct ts_piece_hash r;
    char msg[256] = "";
    double cpu0 = node_cpu_seconds();
    double client_cpu0 = thread_cpu_seconds();
    double t0 = (double)ts_monotonic_ns();
    ts_err err = download ? nc_download(pool, &node.url, &l, &key, 0, PIECE_SIZE, sink, NULL, NULL,
                                        msg)
                          : nc_upload(pool, &node.url, &l, &key, data, PIECE_SIZE, NULL, &r, msg);
    double secs = ((double)ts_monotonic_ns() - t0) / 1e9;
    double client_cpu = thread_cpu_seconds() - client_cpu0;
    double node_cpu = node_cpu_seconds() - cpu0;
    cpu_note(&node_cpu_per_gb_min[download], node_cpu);
    cpu_note(&client_cpu_per_gb_min[download], client_cpu);
    cpu_note(&path_cpu_per_gb_min[download], node_cpu + client_cpu);
    if (err != TS_OK) {
        fprintf(stderr, "%s\n", msg);
        die(download ? "node download" : "node upload", err);
    }
    if (download && memcmp(sink, data, PIECE_SIZE) != 0) {
        die("downloaded bytes differ", TS_ERR_CHECKSUM);
    }
    return secs;
}

struct small {
    pthread_t thread;
    pthread_barrier_t *start;
    uint32_t piece;
    const uint8_t *data;
    ts_err err;
};

static void *small_upload(void *arg)
{
    struct small *s = arg;
    uint8_t pid[32] = {1};
    ts_be32_put(pid + 4, s->piece);
    struct ts_order_limit l = nc_limit(sat.identity, &sat.url.id, &node.url.id, TS_PIECE_ACTION_PUT, pid,
                                       SMALL_SIZE, &key);
    struct ts_piece_hash r;
    char msg[256];
    pthread_barrier_wait(s->start);
    s->err = nc_upload(pool, &node.url, &l, &key, s->data, SMALL_SIZE, NULL, &r, msg);
    return NULL;
}

static long node_peak_rss_kib(void)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)node.pid);
    FILE *f = fopen(path, "r");
    long kib = -1;
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "VmHWM:", 6) == 0) {
            kib = strtol(line + 6, NULL, 10);
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    return kib;
}

static void concurrent_uploads(const uint8_t *data)
{
    static struct small s[CONCURRENT];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, CONCURRENT + 1);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    for (int i = 0; i < CONCURRENT; i++) {
        s[i] = (struct small){.start = &start, .piece = (uint32_t)i, .data = data};
        pthread_create(&s[i].thread, &attr, small_upload, &s[i]);
    }
    double t0 = (double)ts_monotonic_ns();
    pthread_barrier_wait(&start);
    int errors = 0;
    for (int i = 0; i < CONCURRENT; i++) {
        pthread_join(s[i].thread, NULL);
        errors += s[i].err != TS_OK;
    }
    double secs = ((double)ts_monotonic_ns() - t0) / 1e9;
    pthread_attr_destroy(&attr);
    pthread_barrier_destroy(&start);
    printf("concurrent uploads: %d x 64 KiB in %.2f s = %.0f completions/s, errors %d, "
           "node peak RSS %ld KiB\n",
           CONCURRENT, secs, CONCURRENT / secs, errors, node_peak_rss_kib());
}

/* Node transfers against raw TLS, alternating, best of 3; then the concurrent uploads. */
static void compare(const uint8_t *data, uint8_t *sink)
{
    /* Warm-up (handshake, page cache), then alternate baseline and node runs. */
    (void)raw_tls_seconds(0, data, sink);
    double raw_up = 1e9, raw_down = 1e9, node_up = 1e9, node_down = 1e9;
    for (uint32_t round = 0; round < 3; round++) {
        double t;
        t = raw_tls_seconds(0, data, sink);
        raw_up = t < raw_up ? t : raw_up;
        t = node_seconds(0, round + 1, data, sink);
        node_up = t < node_up ? t : node_up;
        t = raw_tls_seconds(1, data, sink);
        raw_down = t < raw_down ? t : raw_down;
        t = node_seconds(1, round + 1, data, sink);
        node_down = t < node_down ? t : node_down;
    }
    double mb = PIECE_SIZE / 1e6;
    printf("64 MiB piece upload:   node %.0f MB/s, raw TLS %.0f MB/s, ratio %.2f (target >= 0.8)\n",
           mb / node_up, mb / raw_up, raw_up / node_up);
    printf("64 MiB piece download: node %.0f MB/s, raw TLS %.0f MB/s, ratio %.2f (target >= 0.8)\n",
           mb / node_down, mb / raw_down, raw_down / node_down);
    printf("node CPU per GB (best run, all threads): upload %.2f s, download %.2f s\n",
           node_cpu_per_gb_min[0], node_cpu_per_gb_min[1]);
    /* Both ends' CPU (the client thread + the node process vs the two raw TLS threads): on this
     * shared 2-core machine wall time follows the total work, and CPU time is not disturbed by
     * other processes the way wall time is. */
    for (int d = 0; d < 2; d++) {
        printf("CPU per GB, both ends (best run), %s: raw TLS %.2f s, node path %.2f s (client "
               "%.2f s + node %.2f s), CPU ratio %.2f\n",
               d ? "download" : "upload  ", raw_cpu_per_gb_min[d], path_cpu_per_gb_min[d],
               client_cpu_per_gb_min[d], node_cpu_per_gb_min[d],
               raw_cpu_per_gb_min[d] / path_cpu_per_gb_min[d]);
    }
    concurrent_uploads(data);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    char root[64];
    snprintf(root, sizeof root, "/tmp/ts-bench-node-XXXXXX");
    if (mkdtemp(root) == NULL || nc_sat_start(&sat) != TS_OK ||
        ts_identity_create_ephemeral(&uplink_id) != TS_OK ||
        ts_ed25519_keypair(key.pub, key.priv) != TS_OK) {
        die("setup", TS_ERR_INTERNAL);
    }
    struct ts_rpc_pool_opts popts = {.idle_per_node_max = 8};
    if (ts_rpc_pool_new(uplink_id, &popts, &pool) != TS_OK) {
        die("pool", TS_ERR_INTERNAL);
    }
    const char *args[] = {"--allocated=8GiB", "--max-concurrent=700", NULL};
    /* TS_BENCH_NODE_EXE runs another build of the node (baseline comparisons, back to back). */
    const char *exe = getenv("TS_BENCH_NODE_EXE") != NULL ? getenv("TS_BENCH_NODE_EXE")
                                                          : TS_NODE_EXE;
    ts_err err = nc_node_start(&node, exe, root, &sat, args);
    if (err != TS_OK) {
        die("start node", err);
    }
    uint8_t *data = malloc(PIECE_SIZE), *sink = malloc(PIECE_SIZE);
    for (size_t i = 0; i < PIECE_SIZE; i++) {
        data[i] = (uint8_t)(i * 131 + (i >> 12));
    }
    memset(sink, 0, PIECE_SIZE); /* touch once, outside the timings */
    if (getenv("TS_BENCH_NODE_UPLOAD_ONLY") != NULL) {
        /* For profilers (perf record -- bench_node): node uploads only. */
        for (uint32_t i = 0; i < 8; i++) {
            double t = node_seconds(0, 100 + i, data, sink);
            printf("upload %u: %.0f MB/s\n", i, PIECE_SIZE / 1e6 / t);
        }
    } else {
        compare(data, sink);
    }
    nc_node_stop(&node, SIGTERM);
    if (getenv("TS_BENCH_NODE_LOG") != NULL) {
        nc_node_dump_log(&node);
    }
    ts_rpc_pool_free(pool);
    nc_sat_stop(&sat);
    ts_identity_free(uplink_id);
    free(data);
    free(sink);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    return system(cmd) == 0 ? 0 : 1;
}
