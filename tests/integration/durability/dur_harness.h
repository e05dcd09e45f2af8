/* A small local network of real processes for the durability test and the repair benchmark:
 * spawn and stop tessera-satellite / tessera-node children with their output in a log file,
 * wait for the satellite's URL and for nodes to check in (deadlines, no fixed sleeps), open the
 * satellite's database and identity in this process, and create a project, key and bucket
 * through the satellite's CLI and libtessera. Every function returns an error rather than
 * failing the caller's test, so cmocka tests and plain benchmarks can both use it. Paths are
 * bounded by the callers' buffers; all children listen on 127.0.0.1 port 0. */
#ifndef DUR_HARNESS_H
#define DUR_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/base.h"
#include "db/db.h"
#include "identity/identity.h"
#include "tessera/uplink.h"

/* A child process and the file its stdout and stderr go to. pid 0: not running. */
struct dur_proc {
    pid_t pid;
    char log[256];
};

/* ---- Processes ---- */

/* Forks and execs argv[0] with stdout and stderr appended to log; the child's pid. */
pid_t dur_spawn(char *const argv[], const char *log);
/* Sends sig to p (if running) and reaps it. */
void dur_proc_stop(struct dur_proc *p, int sig);
/* Runs argv and captures the first line of its stdout into out (NUL-terminated, newline
 * dropped); the exit status, or -1 if it could not run or did not exit. */
int dur_run_capture(char *const argv[], char *out, size_t size);
/* Appends text to the file at path. TS_ERR_IO if it cannot be opened. */
TS_WARN_UNUSED ts_err dur_file_append(const char *path, const char *text);
/* Prints log's repair, reputation and reverification lines, then its last 400 lines, to stderr
 * (for a failure's context). */
void dur_log_tail(const char *log);

/* ---- Satellite ---- */

/* `tessera-satellite setup` in sat_dir, listening on 127.0.0.1:0, identity difficulty 0. */
TS_WARN_UNUSED ts_err dur_satellite_setup(const char *sat_exe, const char *sat_dir);
/* Starts `tessera-satellite run` on sat_dir as p (log in p->log, set by the caller) and waits up
 * to 30 s for a fresh satellite.url, read into url. TS_ERR_TIMEOUT if none appears. */
TS_WARN_UNUSED ts_err dur_satellite_run(const char *sat_exe, const char *sat_dir,
                                        struct dur_proc *p, char *url, size_t url_size);
/* Opens the satellite's SQLite database and loads its identity (caller frees both). */
TS_WARN_UNUSED ts_err dur_satellite_open(const char *sat_dir, struct ts_db **db,
                                         struct ts_identity **identity);
/* Creates a project and an API key with the satellite's CLI, requests an access (user_agent),
 * opens the project into *out and creates bucket in it. */
TS_WARN_UNUSED ts_err dur_project_open(const char *sat_exe, const char *sat_dir,
                                       const char *sat_url, const char *user_agent,
                                       const char *bucket, struct ul_project **out);

/* ---- Nodes ---- */

/* Creates node i under root/node<i> (new identity, written to *id) and starts it as p, trusting
 * sat_url, with 64 MiB allocated and a 2 s check-in interval. */
TS_WARN_UNUSED ts_err dur_node_start(const char *node_exe, const char *root, int i,
                                     const char *sat_url, struct dur_proc *p,
                                     struct ts_node_id *id);
/* Polls the satellite's database until at least want nodes are online (last contact a success)
 * or timeout_ms passes: TS_ERR_TIMEOUT; *count is the last count seen. */
TS_WARN_UNUSED ts_err dur_nodes_wait_online(struct ts_db *db, int want, int64_t timeout_ms,
                                            int64_t *count);

#endif
