/*
 * tessera-sim: a whole local Tessera network on loopback. It creates (or reuses) a network
 * directory with one satellite and N storage nodes, each node on its own loopback address
 * 127.<B>.<X>.1 (X = 1..N) so the satellite's one-piece-per-/24 rule is real, starts them as child
 * processes, waits until every node has checked in, writes an access grant, and supervises the
 * processes until SIGINT/SIGTERM; then it stops everything it started, by PID.
 *
 * The directory layout and the files tests read (access, pids, ready) are described in
 * docs/sim.md. sim_proc.c spawns and stops processes, sim_setup.c creates the files, sim_net.c
 * starts and supervises the network, sim_gateway.c runs its S3 gateway, sim_demo.c drives the
 * `tessera` CLI (and one S3 command), sim_main.c parses flags.
 */
#ifndef SIM_SIM_H
#define SIM_SIM_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/base.h"
#include "identity/identity.h"

/* Nodes one network may hold: one /24 per node inside 127.<B>.0.0/16, X = 1..254. */
#define SIM_NODES_MAX 254
/* Deadline for the satellite to listen and for every node to check in, in seconds. Generous:
 * 120 nodes under ASan on 2 busy cores take tens of seconds. */
#define SIM_READY_TIMEOUT_S 240
/* Grace between SIGTERM and SIGKILL when stopping components. */
#define SIM_STOP_GRACE_MS 10000
#define SIM_PATH_MAX 1024
/* D/gateway.env: a handful of KEY=VALUE lines (endpoint, key ID, secret, region). */
#define SIM_GATEWAY_ENV_MAX 2048

/* A child process the sim started. pid 0 = not running. */
struct sim_proc {
    char name[32]; /* "satellite", "node-7" */
    char log_path[SIM_PATH_MAX];
    char env_path[SIM_PATH_MAX]; /* optional "KEY=VALUE" lines added to its environment at each
                                    start (tests: D/nodes/X/env, e.g. TS_TEST_CLOCK_OFFSET_S) */
    pid_t pid;
    int exit_status; /* wait status once it ended */
    bool exited;
};

struct sim_opts {
    char dir[SIM_PATH_MAX]; /* network directory (absolute) */
    bool dir_is_temp;       /* created by us: removed at exit unless keep */
    bool keep;
    int nodes;                        /* 1..SIM_NODES_MAX */
    char rs[64];                      /* "k/m/o/n", optional "-SB"; "" = 4/6/8/10 */
    char postgres_url[1024];          /* "" = SQLite in dir */
    int ip_base;                      /* B in 127.B.X.1, 0..255 */
    int difficulty;                   /* node and satellite identity difficulty */
    char satellite_bin[SIM_PATH_MAX]; /* paths of the programs (see sim_main.c: found beside */
    char node_bin[SIM_PATH_MAX];      /* tessera-sim in a build tree or install dir, or set */
    char cli_bin[SIM_PATH_MAX];       /* with TESSERA_{SATELLITE,NODE,CLI,GATEWAY}_BIN) */
    char gateway_bin[SIM_PATH_MAX];   /* "" = not built: no gateway */
    bool no_gateway;                  /* --no-gateway */
    char sat_settings[16][128];       /* extra satellite config lines "key=value" (--set) */
    int sat_settings_count;
    char node_allocated[32]; /* --allocated for every node, "" = node default */
    bool quiet;              /* no per-component lines (tests) */
};

struct sim_node {
    int index;              /* 1..N */
    char host[32];          /* 127.B.X.1 */
    char dir[SIM_PATH_MAX]; /* dir/nodes/<index> */
    struct ts_node_id id;
    uint16_t port; /* from the node's ready file */
    uint16_t dashboard_port;
    struct sim_proc proc;
};

struct sim_net {
    struct sim_opts opts;
    char sat_dir[SIM_PATH_MAX];
    char sat_host[32];
    uint16_t sat_port;
    char sat_url[TS_NODE_URL_MAX + 1];
    char project_id[80];
    struct sim_proc satellite;
    struct sim_node *nodes; /* opts.nodes entries */
    /* The S3 gateway (sim_gateway.c); gw_url is "" until it first answered /-/health. */
    struct sim_proc gateway;
    char gw_store[SIM_PATH_MAX];      /* D/gateway: its credential store */
    char gw_env_path[SIM_PATH_MAX];   /* D/gateway.env */
    char gw_ready_path[SIM_PATH_MAX]; /* D/gateway.ready */
    char gw_url[128];                 /* http://127.B.0.1:PORT */
    uint16_t gw_port;                 /* 0 until first bound; kept across restarts */
    char gw_key_id[160];              /* the sim grant's S3 credentials */
    char gw_secret[160];
};

/* ---- Processes (sim_proc.c) ---- */
/* Starts argv[0] (a path) with stdout and stderr appended to p->log_path (and the variables of
 * p->env_path when that file exists) in its own process
 * group, with PR_SET_PDEATHSIG = SIGKILL so it never outlives the sim. Call from the main thread
 * (PDEATHSIG follows the thread that forked). TS_ERR_IO when fork or the log file fails. */
TS_WARN_UNUSED ts_err sim_proc_start(struct sim_proc *p, char *const argv[]);
/* Runs argv to completion with stdout captured into out (out_size bytes, NUL-terminated, trailing
 * newline removed) and stderr appended to log_path. TS_ERR_IO when it cannot start or exits
 * non-zero (its stderr is in the log). */
TS_WARN_UNUSED ts_err sim_proc_run(char *const argv[], const char *log_path, char *out,
                                   size_t out_size);
/* Non-blocking reap: true when p has exited (status recorded). */
bool sim_proc_reap(struct sim_proc *p);
/* Sends sig to p if it runs. */
void sim_proc_signal(const struct sim_proc *p, int sig);
/* SIGTERM to each of procs[0..count), waits up to grace_ms for all, SIGKILLs and reaps the
 * rest. */
void sim_proc_stop_all(struct sim_proc *const procs[], int count, int grace_ms);

/* ---- Files (sim_setup.c) ---- */
/* Creates whatever is missing of the network dir: identities, satellite setup and config, node
 * configs, project, API key. Existing pieces are reused, so a dir can be run again. */
TS_WARN_UNUSED ts_err sim_setup(struct sim_net *net);
/* Requests the access grant from the running satellite and writes dir/access (once). */
TS_WARN_UNUSED ts_err sim_setup_access(struct sim_net *net, char *grant, size_t grant_size);
/* Joins dir and name into out; TS_ERR_TOO_LARGE if it does not fit. */
TS_WARN_UNUSED ts_err sim_path(char *out, size_t size, const char *dir, const char *name);
/* Reads a small text file (first line, newline removed) into out. */
TS_WARN_UNUSED ts_err sim_read_line(const char *path, char *out, size_t out_size);

/* ---- The network (sim_net.c) ---- */
TS_WARN_UNUSED ts_err sim_net_init(struct sim_net *net, const struct sim_opts *opts);
void sim_net_release(struct sim_net *net);
/* Starts the satellite and the nodes and waits (SIM_READY_TIMEOUT_S) until the satellite
 * listens and every node has checked in. Stops early with TS_ERR_CANCELED when a stop signal
 * arrives (see sim_net_stop_requested). */
TS_WARN_UNUSED ts_err sim_net_start(struct sim_net *net);
/* Writes dir/ready ("ready <generation>\n"): the network is up and dir/access exists. */
TS_WARN_UNUSED ts_err sim_net_write_ready(const struct sim_net *net, int generation);
/* Writes dir/pids: "satellite <pid>", "node-X <pid>" and "gateway <pid>" lines. */
TS_WARN_UNUSED ts_err sim_net_write_pids(const struct sim_net *net);
/* Prints one line per component: address, PID, log file. */
void sim_net_print(const struct sim_net *net);
/* Supervises until SIGINT/SIGTERM: logs components that exit. On SIGUSR1 it restarts every
 * component that is not running (tests kill and revive the satellite this way), waits for it to
 * be ready and rewrites dir/pids and dir/ready ("ready <n>" for the n-th restart, or
 * "failed <n>"). */
void sim_net_wait(struct sim_net *net);
/* Stops every component still running (nodes first, then the satellite). Idempotent. */
void sim_net_stop(struct sim_net *net);
/* True once SIGINT/SIGTERM/SIGHUP arrived (the handlers are installed by sim_net_init). */
bool sim_net_stop_requested(void);

/* ---- S3 gateway (sim_gateway.c) ---- */
/* Fills the gateway's paths (D/gateway, D/gateway.env, D/gateway.ready, D/logs/gateway.log). */
TS_WARN_UNUSED ts_err sim_gateway_init(struct sim_net *net);
/* True unless --no-gateway was given or tessera-gateway was not found. */
bool sim_gateway_enabled(const struct sim_net *net);
/* Once dir/access exists: registers the grant in the store D/gateway (once; an earlier run's
 * credentials in D/gateway.env are reused while the store holds them), starts `tessera-gateway
 * run` multi-tenant on 127.B.0.1 (a free port the first time, the same one on a restart), waits
 * (SIM_READY_TIMEOUT_S) for its ready file and a 200 "ok" from GET /-/health, and writes
 * D/gateway.env (0600): AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_REGION, AWS_DEFAULT_REGION, AWS_EC2_METADATA_DISABLED, TESSERA_GATEWAY_URL.
 * TS_ERR_UNAVAILABLE when it exits during startup, TS_ERR_TIMEOUT, TS_ERR_CANCELED on a stop
 * signal, TS_ERR_IO when register fails (its output is in D/logs/gateway-admin.log). */
TS_WARN_UNUSED ts_err sim_gateway_start(struct sim_net *net);
/* Prints the endpoint, the credentials and how to use D/gateway.env (nothing if not running). */
void sim_gateway_print(const struct sim_net *net);

/* ---- Demo (sim_demo.c) ---- */
/* Uses the `tessera` CLI against the running network: make a bucket, upload a generated file,
 * list, download, compare. Prints each step. TS_ERR_IO (or another code) when a step fails. */
TS_WARN_UNUSED ts_err sim_demo_round_trip(const struct sim_net *net, const char *grant);
/* With the gateway up: one S3 command through it (`aws s3 ls s3://demo/` when awscli is on PATH,
 * else curl --aws-sigv4), printed with its output. Its failure is reported, not fatal. */
void sim_demo_s3(const struct sim_net *net);
/* Prints how to use the network: the grant and example commands. */
void sim_demo_print_usage(const struct sim_net *net, const char *grant);

#endif
