/*
 * planet: starts a whole Tessera network (tessera-sim run) in a fresh temp dir for one
 * integration test, hands out its access grant and paths, lets the test kill, corrupt and
 * revive components, and tears everything down by PID on every path: planet_stop, exit(),
 * SIGTERM/SIGINT/SIGALRM, and PR_SET_PDEATHSIG for the case where the test itself dies hard.
 * A failed test (planet_fail) keeps the network's logs in $TS_BUILD_DIR/test-logs/<test>/.
 *
 * Programs come from the environment ctest sets: TS_SIM_BIN (tessera-sim), TS_CLI_BIN (tessera,
 * optional), TS_BUILD_DIR; PostgreSQL runs use TS_TEST_POSTGRES_URL with a fresh schema. The
 * sim's S3 gateway runs only when asked (planet_opts.gateway; tessera-gateway found beside the
 * sim or TESSERA_GATEWAY_BIN).
 * One planet per process (the exit handlers need a global).
 */
#ifndef TS_TEST_PLANET_H
#define TS_TEST_PLANET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define PLANET_NODES_MAX 254
#define PLANET_PATH_MAX 1024
#define PLANET_GRANT_MAX (64 * 1024)

struct planet_opts {
    const char *test_name;   /* names the temp dir, the PostgreSQL schema and the kept logs */
    int nodes;               /* 0 = 10 */
    const char *rs;          /* NULL = the sim default 4/6/8/10 */
    bool postgres;           /* satellite DB on the ctest PostgreSQL fixture */
    int ip_base;             /* 127.<ip_base>.X.1: give concurrent tests distinct values */
    const char *settings[8]; /* extra satellite config lines "key=value", NULL-terminated */
    bool gateway;            /* also start the sim's S3 gateway (see struct planet gateway_*) */
};

#define PLANET_GATEWAY_FIELD_MAX 160

struct planet {
    char name[128];
    char dir[PLANET_PATH_MAX];
    char grant[PLANET_GRANT_MAX];
    char sim_bin[PLANET_PATH_MAX];
    char cli_bin[PLANET_PATH_MAX]; /* "" when TS_CLI_BIN is not set */
    char sat_dir[PLANET_PATH_MAX];
    char sat_bin[PLANET_PATH_MAX]; /* beside the sim in the build tree */
    char project_id[80];
    pid_t sim_pid;
    pid_t sat_pid;
    int nodes;
    pid_t node_pids[PLANET_NODES_MAX + 1]; /* 1-based; 0 = not running */
    int generation;                        /* restarts so far */
    bool failed;
    /* With planet_opts.gateway: from D/gateway.env once ready ("" otherwise). The endpoint
     * stays the same across planet_revive. gateway_env is the file for `set -a; . FILE`. */
    char gateway_env[PLANET_PATH_MAX];
    char gateway_url[PLANET_GATEWAY_FIELD_MAX]; /* http://127.B.0.1:PORT */
    char gateway_key_id[PLANET_GATEWAY_FIELD_MAX];
    char gateway_secret[PLANET_GATEWAY_FIELD_MAX];
    pid_t gateway_pid; /* 0 = not running */
};

/* Starts the network and waits until it is ready (the sim's deadline, plus a margin). Returns 0,
 * or -1 with a message on stderr (the planet is then stopped, logs kept). */
int planet_start(struct planet *p, const struct planet_opts *o);
/* Stops the sim (SIGTERM, then SIGKILL) and everything it started, checks every component log
 * for sanitizer reports (AddressSanitizer, LeakSanitizer, UBSan "runtime error", TSan), copies
 * the logs when the test failed or a report was found, removes the temp dir. Returns 0, or -1
 * when a component log holds a sanitizer report (printed). Idempotent (later calls return 0). */
int planet_stop(struct planet *p);
/* Marks the test failed (logs are kept at stop). */
void planet_fail(struct planet *p);

/* Kills node index (1..nodes) with sig (SIGKILL for a crash) and reaps nothing: the sim does.
 * Returns 0 if the node ran. */
int planet_kill_node(struct planet *p, int index, int sig);
/* Kills the satellite with SIGKILL. */
int planet_kill_satellite(struct planet *p);
/* Kills the S3 gateway with SIGKILL (planet_revive restarts it on the same endpoint). Returns 0
 * if it ran. */
int planet_kill_gateway(struct planet *p);
/* Asks the sim to restart every dead component and waits until the network is ready again. */
int planet_revive(struct planet *p);

/* Path helpers (into out, PLANET_PATH_MAX bytes). */
void planet_node_storage(const struct planet *p, int index, char *out);
/* Counts piece files (*.sj1) under a node's blobs/ dir; -1 on error. */
int planet_node_piece_count(const struct planet *p, int index);
/* Writes the path of the first piece file of node index into out; 0 if found. */
int planet_node_first_piece(const struct planet *p, int index, char *out);
/* Lines of logs/<log> (e.g. "satellite.log") that contain needle; 0 when the log is missing. */
int planet_log_count(const struct planet *p, const char *log, const char *needle);

/* Runs a satellite admin command (`tessera-satellite <args> --dir <satellite dir>`), stdout into
 * out (NUL-terminated, trailing newline removed). Returns the exit status (0 = ok). */
int planet_satellite_admin(struct planet *p, const char *const args[], char *out, size_t out_size);
/* Runs the tessera CLI with TESSERA_CONFIG_DIR inside the planet; stdout+stderr into out. Returns
 * the exit status, or -1 if it could not run. */
int planet_cli(struct planet *p, const char *const args[], char *out, size_t out_size);
/* Runs an S3 tool (args[0]: a path, or a name looked up on PATH such as "curl" or "aws") with
 * every variable of D/gateway.env in its environment (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, ...);
 * stdout+stderr into out. Returns the exit status, 127 when it cannot be run, -1 without a
 * gateway. */
int planet_gateway_tool(struct planet *p, const char *const args[], char *out, size_t out_size);

#endif
