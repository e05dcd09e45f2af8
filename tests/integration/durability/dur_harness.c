/* The local process network shared by test_durability and bench_repair (see dur_harness.h). */
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/base.h"
#include "base/fs.h"
#include "satellite/db/sql.h"
#include "dur_harness.h"

pid_t dur_spawn(char *const argv[], const char *log)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

void dur_proc_stop(struct dur_proc *p, int sig)
{
    if (p->pid > 0) {
        kill(p->pid, sig);
        waitpid(p->pid, NULL, 0);
        p->pid = 0;
    }
}

int dur_run_capture(char *const argv[], char *out, size_t size)
{
    int fds[2];
    if (pipe(fds) != 0) {
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < size && (r = read(fds[0], out + n, size - 1 - n)) > 0) {
        n += (size_t)r;
    }
    close(fds[0]);
    out[n] = 0;
    char *nl = strchr(out, '\n');
    if (nl != NULL) {
        *nl = 0;
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

ts_err dur_file_append(const char *path, const char *text)
{
    FILE *f = fopen(path, "a");
    if (f == NULL) {
        return TS_ERR_IO;
    }
    fputs(text, f);
    fclose(f);
    return TS_OK;
}

void dur_log_tail(const char *log)
{
    char cmd[768];
    /* The verdicts first (a repair or a disqualification may be older than the tail), then the
     * tail itself. */
    snprintf(cmd, sizeof cmd,
             "{ echo '--- repair, reputation and reverification lines:'; grep -E "
             "'satellite\\.(repair|reputation|reverify)' %s | tail -n 100; "
             "echo '--- the last 400 lines:'; tail -n 400 %s; } >&2",
             log, log);
    if (system(cmd) != 0) {
        fprintf(stderr, "(no satellite log)\n");
    }
}

ts_err dur_satellite_setup(const char *sat_exe, const char *sat_dir)
{
    char *setup[] = {(char *)sat_exe, "setup", "--dir", (char *)sat_dir, "--listen", "127.0.0.1:0",
                     "--difficulty",  "0",     NULL};
    char out[512];
    return dur_run_capture(setup, out, sizeof out) == 0 ? TS_OK : TS_ERR_IO;
}

ts_err dur_satellite_run(const char *sat_exe, const char *sat_dir, struct dur_proc *p, char *url,
                         size_t url_size)
{
    char path[256];
    snprintf(path, sizeof path, "%s/satellite.url", sat_dir);
    unlink(path);
    char *run[] = {(char *)sat_exe, "run", "--dir", (char *)sat_dir, NULL};
    p->pid = dur_spawn(run, p->log);
    int64_t deadline = ts_monotonic_ms() + 30000;
    FILE *f = NULL;
    while ((f = fopen(path, "r")) == NULL && ts_monotonic_ms() < deadline) {
        usleep(50000);
    }
    if (f == NULL) {
        return TS_ERR_TIMEOUT;
    }
    bool ok = fgets(url, (int)url_size, f) != NULL;
    fclose(f);
    if (!ok) {
        return TS_ERR_IO;
    }
    url[strcspn(url, "\n")] = 0;
    return TS_OK;
}

ts_err dur_satellite_open(const char *sat_dir, struct ts_db **db, struct ts_identity **identity)
{
    char dburl[256], id_dir[256];
    snprintf(dburl, sizeof dburl, "sqlite://%s/satellite.db", sat_dir);
    ts_err err = ts_db_open(dburl, db);
    if (err != TS_OK) {
        return err;
    }
    snprintf(id_dir, sizeof id_dir, "%s/identity", sat_dir);
    return ts_identity_load(id_dir, identity);
}

ts_err dur_project_open(const char *sat_exe, const char *sat_dir, const char *sat_url,
                        const char *user_agent, const char *bucket, struct ul_project **out)
{
    char project_id[128], key[512];
    char *create[] = {(char *)sat_exe, "project", "create", "p", "--dir", (char *)sat_dir, NULL};
    if (dur_run_capture(create, project_id, sizeof project_id) != 0) {
        return TS_ERR_IO;
    }
    char *apikey[] = {(char *)sat_exe, "apikey", "create",        "--project",
                      project_id,      "--dir",  (char *)sat_dir, NULL};
    if (dur_run_capture(apikey, key, sizeof key) != 0) {
        return TS_ERR_IO;
    }
    struct ul_access *access = NULL;
    if (ul_access_request(sat_url, key, user_agent, &access) != UL_OK) {
        return TS_ERR_CONNECT;
    }
    ul_err uerr = ul_project_open(access, NULL, out);
    ul_access_free(access);
    if (uerr != UL_OK || ul_bucket_create(*out, bucket, NULL) != UL_OK) {
        return TS_ERR_UNAVAILABLE;
    }
    return TS_OK;
}

ts_err dur_node_start(const char *node_exe, const char *root, int i, const char *sat_url,
                      struct dur_proc *p, struct ts_node_id *id_out)
{
    char dir[128], id_dir[160], st[160], ready[160], trust[TS_NODE_URL_MAX + 16];
    snprintf(dir, sizeof dir, "%s/node%d", root, i);
    snprintf(id_dir, sizeof id_dir, "%s/identity", dir);
    snprintf(st, sizeof st, "%s/storage", dir);
    struct ts_identity *id = NULL;
    struct ts_identity_create_opts opts = {.difficulty_min = 0};
    ts_err err = ts_fs_mkdir_p(st, 0700);
    if (err == TS_OK) {
        err = ts_identity_create(&opts, &id);
    }
    if (err == TS_OK) {
        err = ts_identity_save(id, id_dir);
    }
    if (err != TS_OK) {
        ts_identity_free(id);
        return err;
    }
    *id_out = *ts_identity_id(id);
    ts_identity_free(id);
    char a_id[200], a_st[200], a_ready[200];
    snprintf(a_id, sizeof a_id, "--identity-dir=%s", id_dir);
    snprintf(a_st, sizeof a_st, "--storage-dir=%s", st);
    snprintf(ready, sizeof ready, "%s/ready", dir);
    snprintf(a_ready, sizeof a_ready, "--ready-file=%s", ready);
    snprintf(trust, sizeof trust, "--trust=%s", sat_url);
    char *argv[] = {(char *)node_exe,
                    a_id,
                    a_st,
                    a_ready,
                    trust,
                    "--listen=127.0.0.1:0",
                    "--dashboard=127.0.0.1:0",
                    "--allocated=64MiB",
                    "--checkin-interval=2",
                    NULL};
    snprintf(p->log, sizeof p->log, "%s/node.log", dir);
    p->pid = dur_spawn(argv, p->log);
    return TS_OK;
}

static ts_err count_fn(struct ts_db_conn *c, void *ctx)
{
    int64_t *count = ctx;
    struct ts_db_stmt *st = NULL;
    bool row = false;
    ts_err err = sat_sql_prepare(c,
                                 "SELECT COUNT(*) FROM nodes WHERE last_contact_success > 0 AND "
                                 "last_contact_success >= last_contact_failure",
                                 &st, "");
    if (err == TS_OK) {
        err = ts_db_stmt_step(st, &row);
    }
    *count = row ? ts_db_stmt_column_int64(st, 0) : 0;
    ts_db_stmt_free(st);
    return err;
}

ts_err dur_nodes_wait_online(struct ts_db *db, int want, int64_t timeout_ms, int64_t *count)
{
    int64_t deadline = ts_monotonic_ms() + timeout_ms;
    *count = 0;
    while (ts_monotonic_ms() < deadline) {
        if (ts_db_tx_read(db, count_fn, count) == TS_OK && *count >= want) {
            return TS_OK;
        }
        usleep(100000);
    }
    return TS_ERR_TIMEOUT;
}
