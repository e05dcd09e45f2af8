/* Starting, watching and stopping the network's processes (see sim.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "base/fs.h"
#include "base/log.h"
#include "db/db.h"
#include "satellite/config.h"
#include "satellite/db/satdb.h"
#include "sim.h"

#define LOG "sim"
/* Poll period while waiting for readiness or supervising, in milliseconds. */
#define POLL_MS 100

static volatile sig_atomic_t stop_signal;
static volatile sig_atomic_t restart_requested;

static void on_stop(int sig)
{
    stop_signal = sig;
}

static void on_restart(int sig)
{
    (void)sig;
    restart_requested = 1;
}

bool sim_net_stop_requested(void)
{
    return stop_signal != 0;
}

static void install_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop; /* no SA_RESTART: sleeps and waits return at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = on_restart;
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

ts_err sim_net_init(struct sim_net *net, const struct sim_opts *opts)
{
    memset(net, 0, sizeof *net);
    net->opts = *opts;
    install_handlers();
    net->nodes = calloc((size_t)opts->nodes, sizeof *net->nodes);
    if (net->nodes == NULL) {
        return TS_ERR_NOMEM;
    }
    ts_err err = sim_path(net->sat_dir, sizeof net->sat_dir, opts->dir, "satellite");
    snprintf(net->sat_host, sizeof net->sat_host, "127.%d.0.1", opts->ip_base);
    snprintf(net->satellite.name, sizeof net->satellite.name, "satellite");
    if (err == TS_OK) {
        err = sim_path(net->satellite.log_path, sizeof net->satellite.log_path, opts->dir,
                       "logs/satellite.log");
    }
    for (int i = 0; err == TS_OK && i < opts->nodes; i++) {
        struct sim_node *n = &net->nodes[i];
        char rel[64];
        n->index = i + 1;
        snprintf(n->host, sizeof n->host, "127.%d.%d.1", opts->ip_base, i + 1);
        snprintf(n->proc.name, sizeof n->proc.name, "node-%d", i + 1);
        snprintf(rel, sizeof rel, "nodes/%d", i + 1);
        err = sim_path(n->dir, sizeof n->dir, opts->dir, rel);
        if (err == TS_OK) {
            snprintf(rel, sizeof rel, "logs/node-%d.log", i + 1);
            err = sim_path(n->proc.log_path, sizeof n->proc.log_path, opts->dir, rel);
        }
        if (err == TS_OK) {
            err = sim_path(n->proc.env_path, sizeof n->proc.env_path, n->dir, "env");
        }
    }
    return err == TS_OK ? sim_gateway_init(net) : err;
}

void sim_net_release(struct sim_net *net)
{
    free(net->nodes);
    net->nodes = NULL;
}

static void remove_file(const char *dir, const char *name)
{
    char path[SIM_PATH_MAX];
    if (sim_path(path, sizeof path, dir, name) == TS_OK) {
        unlink(path);
    }
}

static bool file_exists_in(const char *dir, const char *name)
{
    char path[SIM_PATH_MAX];
    struct stat st;
    return sim_path(path, sizeof path, dir, name) == TS_OK && stat(path, &st) == 0;
}

static ts_err exited_early(const struct sim_proc *p)
{
    ts_log_error(LOG, "%s exited during startup (status %d); see %s", p->name,
                 WIFEXITED(p->exit_status) ? WEXITSTATUS(p->exit_status) : -1, p->log_path);
    return TS_ERR_UNAVAILABLE;
}

static ts_err start_satellite(struct sim_net *net)
{
    remove_file(net->sat_dir, "satellite.url");
    char *argv[] = {net->opts.satellite_bin, "run", "--dir", net->sat_dir, NULL};
    ts_err err = sim_proc_start(&net->satellite, argv);
    int64_t deadline = ts_monotonic_ms() + SIM_READY_TIMEOUT_S * 1000;
    while (err == TS_OK && !file_exists_in(net->sat_dir, "satellite.url")) {
        if (sim_proc_reap(&net->satellite)) {
            return exited_early(&net->satellite);
        }
        if (stop_signal != 0) {
            return TS_ERR_CANCELED;
        }
        if (ts_monotonic_ms() > deadline) {
            ts_log_error(LOG, "the satellite did not listen within %d s; see %s",
                         SIM_READY_TIMEOUT_S, net->satellite.log_path);
            return TS_ERR_TIMEOUT;
        }
        sleep_ms(20);
    }
    return err;
}

static ts_err start_node(struct sim_net *net, struct sim_node *n)
{
    char config[SIM_PATH_MAX];
    ts_err err = sim_path(config, sizeof config, n->dir, "config");
    if (err != TS_OK) {
        return err;
    }
    remove_file(n->dir, "ready");
    n->port = 0;
    n->dashboard_port = 0;
    char *argv[] = {net->opts.node_bin, "--config", config, NULL};
    return sim_proc_start(&n->proc, argv);
}

/* Reads "rpc_port dashboard_port" once the node wrote it. */
static bool node_ports(struct sim_node *n)
{
    char path[SIM_PATH_MAX], line[64];
    unsigned rpc = 0, dash = 0;
    if (sim_path(path, sizeof path, n->dir, "ready") != TS_OK ||
        sim_read_line(path, line, sizeof line) != TS_OK ||
        sscanf(line, "%u %u", &rpc, &dash) != 2 || rpc == 0 || rpc > 65535 || dash > 65535) {
        return false;
    }
    n->port = (uint16_t)rpc;
    n->dashboard_port = (uint16_t)dash;
    return true;
}

struct checkin_query {
    struct sim_net *net;
    int64_t since_s;
    int checked_in;
};

static ts_err count_checked_in(struct ts_db_conn *c, void *ctx)
{
    struct checkin_query *q = ctx;
    q->checked_in = 0;
    for (int i = 0; i < q->net->opts.nodes; i++) {
        struct sat_node node;
        ts_err err = sat_db_node_get(c, q->net->nodes[i].id.bytes, &node);
        if (err == TS_ERR_NOT_FOUND) {
            continue;
        }
        if (err != TS_OK) {
            return err;
        }
        if (node.last_contact_success >= q->since_s &&
            node.last_contact_success >= node.last_contact_failure) {
            q->checked_in++;
        }
    }
    return TS_OK;
}

static ts_err open_satellite_db(const struct sim_net *net, struct ts_db **db)
{
    struct sat_config *cfg = calloc(1, sizeof *cfg);
    if (cfg == NULL) {
        return TS_ERR_NOMEM;
    }
    ts_err err = sat_config_load(cfg, net->sat_dir);
    if (err == TS_OK) {
        err = ts_db_open(cfg->db_url, db);
    }
    free(cfg);
    return err;
}

/* Waits until every node wrote its ready file and the satellite recorded a successful check-in
 * (with ping-back) from each since since_s. */
static ts_err wait_nodes(struct sim_net *net, int64_t since_s)
{
    struct ts_db *db = NULL;
    ts_err err = open_satellite_db(net, &db);
    struct checkin_query q = {net, since_s, 0};
    int64_t deadline = ts_monotonic_ms() + SIM_READY_TIMEOUT_S * 1000;
    int listening = 0;
    while (err == TS_OK) {
        listening = 0;
        for (int i = 0; i < net->opts.nodes; i++) {
            struct sim_node *n = &net->nodes[i];
            if (sim_proc_reap(&n->proc)) {
                err = exited_early(&n->proc);
                break;
            }
            listening += n->port != 0 || node_ports(n);
        }
        if (err == TS_OK && listening == net->opts.nodes) {
            err = ts_db_tx_read(db, count_checked_in, &q);
            if (err == TS_OK && q.checked_in == net->opts.nodes) {
                break;
            }
        }
        if (err == TS_OK && stop_signal != 0) {
            err = TS_ERR_CANCELED;
        } else if (err == TS_OK && ts_monotonic_ms() > deadline) {
            ts_log_error(LOG,
                         "not ready within %d s: %d of %d nodes listening, %d checked in "
                         "(see %s/logs)",
                         SIM_READY_TIMEOUT_S, listening, net->opts.nodes, q.checked_in,
                         net->opts.dir);
            err = TS_ERR_TIMEOUT;
        }
        if (err == TS_OK) {
            sleep_ms(POLL_MS);
        }
    }
    ts_db_close(db);
    return err;
}

ts_err sim_net_write_pids(const struct sim_net *net)
{
    struct ts_buf b;
    char path[SIM_PATH_MAX];
    ts_buf_init(&b, 64u * 1024);
    ts_err err = ts_buf_printf(&b, "satellite %d\n", (int)net->satellite.pid);
    for (int i = 0; err == TS_OK && i < net->opts.nodes; i++) {
        err = ts_buf_printf(&b, "node-%d %d\n", i + 1, (int)net->nodes[i].proc.pid);
    }
    if (err == TS_OK && net->gateway.pid > 0) {
        err = ts_buf_printf(&b, "gateway %d\n", (int)net->gateway.pid);
    }
    if (err == TS_OK) {
        err = sim_path(path, sizeof path, net->opts.dir, "pids");
    }
    if (err == TS_OK) {
        err = ts_fs_write_atomic(path, b.data, b.len, 0644);
    }
    ts_buf_release(&b);
    return err;
}

ts_err sim_net_write_ready(const struct sim_net *net, int generation)
{
    char path[SIM_PATH_MAX], line[32];
    snprintf(line, sizeof line, "ready %d\n", generation);
    ts_err err = sim_path(path, sizeof path, net->opts.dir, "ready");
    return err == TS_OK ? ts_fs_write_atomic(path, line, strlen(line), 0644) : err;
}

ts_err sim_net_start(struct sim_net *net)
{
    remove_file(net->opts.dir, "ready");
    int64_t t0 = ts_monotonic_ms();
    /* Check-ins count from a second before start, so a stale row from an earlier run of this
     * dir does not make a node look ready. */
    int64_t since_s = ts_time_now_s() - 1;
    ts_err err = start_satellite(net);
    if (err == TS_OK) {
        ts_log_info(LOG, "satellite listening url=%s after_ms=%lld", net->sat_url,
                    (long long)(ts_monotonic_ms() - t0));
    }
    /* Nodes start all at once (each forks in microseconds) and come up in parallel. */
    for (int i = 0; err == TS_OK && i < net->opts.nodes; i++) {
        err = start_node(net, &net->nodes[i]);
    }
    if (err == TS_OK) {
        err = sim_net_write_pids(net);
    }
    if (err == TS_OK) {
        err = wait_nodes(net, since_s);
    }
    if (err == TS_OK) {
        ts_log_info(LOG, "network ready nodes=%d after_ms=%lld", net->opts.nodes,
                    (long long)(ts_monotonic_ms() - t0));
    }
    return err;
}

/* SIGUSR1: start whatever is not running again and wait until it is ready. */
static ts_err restart_dead(struct sim_net *net, int generation)
{
    ts_err err = TS_OK;
    /* The satellite's DB survives a restart, so nodes it knew stay known (they check in again
     * only hourly); a restarted node counts once its ready file is back. */
    int64_t since_s = 0;
    remove_file(net->opts.dir, "ready");
    /* Reap first: a component killed a moment ago may not have been noticed yet. */
    sim_proc_reap(&net->satellite);
    sim_proc_reap(&net->gateway);
    for (int i = 0; i < net->opts.nodes; i++) {
        sim_proc_reap(&net->nodes[i].proc);
    }
    if (net->satellite.pid == 0) {
        ts_log_info(LOG, "restarting the satellite");
        err = start_satellite(net);
    }
    for (int i = 0; err == TS_OK && i < net->opts.nodes; i++) {
        if (net->nodes[i].proc.pid == 0) {
            ts_log_info(LOG, "restarting node-%d", i + 1);
            err = start_node(net, &net->nodes[i]);
        }
    }
    if (err == TS_OK) {
        err = sim_net_write_pids(net);
    }
    if (err == TS_OK) {
        err = wait_nodes(net, since_s);
    }
    /* The gateway (if it ran before) comes back on the same endpoint once the network is up. */
    if (err == TS_OK && net->gw_url[0] != 0 && net->gateway.pid == 0) {
        ts_log_info(LOG, "restarting the gateway");
        err = sim_gateway_start(net);
        if (err == TS_OK) {
            err = sim_net_write_pids(net);
        }
    }
    if (err == TS_OK) {
        err = sim_net_write_ready(net, generation);
    }
    if (err != TS_OK) {
        char path[SIM_PATH_MAX], line[32];
        ts_log_error(LOG, "restart failed: %s", ts_strerror(err));
        snprintf(line, sizeof line, "failed %d\n", generation);
        if (sim_path(path, sizeof path, net->opts.dir, "ready") == TS_OK &&
            ts_fs_write_atomic(path, line, strlen(line), 0644) != TS_OK) {
            ts_log_error(LOG, "cannot write %s", path);
        }
    }
    return err;
}

void sim_net_print(const struct sim_net *net)
{
    printf("satellite  %s:%u  pid %d  log %s\n", net->sat_host, net->sat_port,
           (int)net->satellite.pid, net->satellite.log_path);
    for (int i = 0; i < net->opts.nodes; i++) {
        const struct sim_node *n = &net->nodes[i];
        printf("node %-4d  %s:%u  dashboard %s:%u  pid %d  log %s\n", n->index, n->host, n->port,
               n->host, n->dashboard_port, (int)n->proc.pid, n->proc.log_path);
    }
    fflush(stdout);
}

static void report_exit(const struct sim_proc *p)
{
    if (WIFSIGNALED(p->exit_status)) {
        ts_log_warn(LOG, "%s exited: killed by signal %d (log %s)", p->name,
                    WTERMSIG(p->exit_status), p->log_path);
    } else {
        ts_log_warn(LOG, "%s exited with status %d (log %s)", p->name, WEXITSTATUS(p->exit_status),
                    p->log_path);
    }
}

void sim_net_wait(struct sim_net *net)
{
    /* reported[0] satellite, [1..nodes] nodes, [nodes + 1] gateway */
    size_t slots = (size_t)net->opts.nodes + 2;
    bool *reported = calloc(slots, sizeof *reported);
    int generation = 0;
    while (stop_signal == 0) {
        if (restart_requested) {
            restart_requested = 0;
            if (restart_dead(net, ++generation) == TS_OK && reported != NULL) {
                memset(reported, 0, slots * sizeof *reported);
            }
        }
        for (int i = 0; i <= net->opts.nodes + 1; i++) {
            struct sim_proc *p = i == 0                     ? &net->satellite
                                 : i == net->opts.nodes + 1 ? &net->gateway
                                                            : &net->nodes[i - 1].proc;
            bool gone = sim_proc_reap(p);
            if (gone && reported != NULL && !reported[i]) {
                reported[i] = true;
                report_exit(p);
            }
        }
        sleep_ms(POLL_MS * 2);
    }
    ts_log_info(LOG, "stopping on signal %d", (int)stop_signal);
    free(reported);
}

void sim_net_stop(struct sim_net *net)
{
    remove_file(net->opts.dir, "ready");
    /* The gateway first: it is a client of the nodes and the satellite. */
    struct sim_proc *gw[] = {&net->gateway};
    sim_proc_stop_all(gw, 1, SIM_STOP_GRACE_MS);
    unlink(net->gw_ready_path);
    if (net->nodes != NULL) {
        struct sim_proc **procs = calloc((size_t)net->opts.nodes, sizeof *procs);
        if (procs != NULL) {
            for (int i = 0; i < net->opts.nodes; i++) {
                procs[i] = &net->nodes[i].proc;
            }
            sim_proc_stop_all(procs, net->opts.nodes, SIM_STOP_GRACE_MS);
            free(procs);
        } else {
            for (int i = 0; i < net->opts.nodes; i++) {
                struct sim_proc *one[] = {&net->nodes[i].proc};
                sim_proc_stop_all(one, 1, SIM_STOP_GRACE_MS);
            }
        }
    }
    struct sim_proc *sat[] = {&net->satellite};
    sim_proc_stop_all(sat, 1, SIM_STOP_GRACE_MS);
}
