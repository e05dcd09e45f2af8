/* planet: a tessera-sim network per test, torn down by PID on every path (see planet.h). */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "db/db.h"
#include "planet.h"

/* The sim's own readiness deadline is 240 s; allow for setup on top. */
#define PLANET_START_TIMEOUT_S 300
#define PLANET_STOP_TIMEOUT_MS 40000

static struct planet *current;

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int read_file(const char *path, char *out, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    size_t used = 0;
    ssize_t n;
    while (used + 1 < size && (n = read(fd, out + used, size - 1 - used)) > 0) {
        used += (size_t)n;
    }
    close(fd);
    out[used] = 0;
    while (used > 0 && (out[used - 1] == '\n' || out[used - 1] == '\r')) {
        out[--used] = 0;
    }
    return 0;
}

/* Async-signal-safe stop for signal handlers: SIGTERM the sim, wait, SIGKILL. The sim's
 * children die with it (their PDEATHSIG). */
static void stop_sim_now(pid_t pid)
{
    if (pid <= 0) {
        return;
    }
    kill(pid, SIGTERM);
    for (int i = 0; i < PLANET_STOP_TIMEOUT_MS / 20; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            return;
        }
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static void on_signal(int sig)
{
    static const char msg[] = "planet: stopping the network on a signal\n";
    ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)ignored;
    if (current != NULL) {
        stop_sim_now(current->sim_pid);
    }
    _exit(128 + sig);
}

static void on_exit_stop(void)
{
    if (current != NULL && planet_stop(current) != 0) {
        _exit(1); /* a component's sanitizer report fails the test */
    }
}

static void install_handlers(void)
{
    static bool done;
    if (done) {
        return;
    }
    done = true;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGALRM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    atexit(on_exit_stop);
}

static int find_programs(struct planet *p)
{
    const char *sim = getenv("TS_SIM_BIN");
    const char *cli = getenv("TS_CLI_BIN");
    const char *sat = getenv("TS_SATELLITE_BIN");
    if (sim == NULL || access(sim, X_OK) != 0) {
        fprintf(stderr, "planet: TS_SIM_BIN must name the tessera-sim program\n");
        return -1;
    }
    snprintf(p->sim_bin, sizeof p->sim_bin, "%s", sim);
    snprintf(p->cli_bin, sizeof p->cli_bin, "%s", cli != NULL ? cli : "");
    if (sat != NULL) {
        snprintf(p->sat_bin, sizeof p->sat_bin, "%s", sat);
    } else {
        char dir[PLANET_PATH_MAX];
        snprintf(dir, sizeof dir, "%s", sim);
        char *slash = strrchr(dir, '/');
        if (slash != NULL) {
            *slash = 0;
        }
        snprintf(p->sat_bin, sizeof p->sat_bin, "%.900s/../satellite/tessera-satellite", dir);
    }
    return 0;
}

static int postgres_url(const struct planet *p, char **url)
{
    const char *base = getenv("TS_TEST_POSTGRES_URL");
    if (base == NULL || base[0] == 0) {
        fprintf(stderr, "planet: TS_TEST_POSTGRES_URL is not set (register the test with "
                        "ts_test_use_postgres)\n");
        return -1;
    }
    char schema[96];
    size_t n = 0;
    n += (size_t)snprintf(schema, sizeof schema, "planet_");
    for (const char *s = p->name; *s != 0 && n + 1 < sizeof schema; s++) {
        char c = *s;
        schema[n++] = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ? c
                      : (c >= 'A' && c <= 'Z')                         ? (char)(c - 'A' + 'a')
                                                                       : '_';
    }
    schema[n] = 0;
    ts_err err = ts_db_pg_fresh_schema_url(base, schema, url);
    if (err != TS_OK) {
        fprintf(stderr, "planet: cannot create PostgreSQL schema %s: %s\n", schema,
                ts_strerror(err));
        return -1;
    }
    return 0;
}

static pid_t spawn(char *const argv[], const char *log_path, const char *config_dir)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0) {
        return pid;
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) {
        _exit(127);
    }
    int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        close(fd);
    }
    if (config_dir != NULL) {
        setenv("TESSERA_CONFIG_DIR", config_dir, 1);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    execv(argv[0], argv);
    _exit(127);
}

static int read_pids(struct planet *p)
{
    char path[PLANET_PATH_MAX + 16], text[16384];
    snprintf(path, sizeof path, "%s/pids", p->dir);
    if (read_file(path, text, sizeof text) != 0) {
        return -1;
    }
    memset(p->node_pids, 0, sizeof p->node_pids);
    p->gateway_pid = 0;
    for (char *line = text; line != NULL && *line != 0;) {
        char *nl = strchr(line, '\n');
        int idx = 0, pid = 0;
        if (sscanf(line, "satellite %d", &pid) == 1) {
            p->sat_pid = pid;
        } else if (sscanf(line, "node-%d %d", &idx, &pid) == 2 && idx >= 1 &&
                   idx <= PLANET_NODES_MAX) {
            p->node_pids[idx] = pid;
        } else if (sscanf(line, "gateway %d", &pid) == 1) {
            p->gateway_pid = pid;
        }
        line = nl != NULL ? nl + 1 : NULL;
    }
    return 0;
}

/* Waits for dir/ready to say "ready <generation>" while the sim lives. */
static int wait_ready(struct planet *p, int generation)
{
    char path[PLANET_PATH_MAX + 16], text[64];
    snprintf(path, sizeof path, "%s/ready", p->dir);
    long long deadline = now_ms() + PLANET_START_TIMEOUT_S * 1000LL;
    for (;;) {
        int gen = -1;
        if (read_file(path, text, sizeof text) == 0 && sscanf(text, "ready %d", &gen) == 1 &&
            gen == generation) {
            return 0;
        }
        if (sscanf(text, "failed %d", &gen) == 1 && gen == generation) {
            fprintf(stderr, "planet %s: the sim could not restart components; see %s/logs\n",
                    p->name, p->dir);
            return -1;
        }
        int status = 0;
        if (waitpid(p->sim_pid, &status, WNOHANG) == p->sim_pid) {
            fprintf(stderr,
                    "planet %s: tessera-sim exited (status %d) before the network was "
                    "ready; see %s/logs/sim.log\n",
                    p->name, WIFEXITED(status) ? WEXITSTATUS(status) : -1, p->dir);
            p->sim_pid = 0;
            return -1;
        }
        if (now_ms() > deadline) {
            fprintf(stderr, "planet %s: network not ready within %d s\n", p->name,
                    PLANET_START_TIMEOUT_S);
            return -1;
        }
        sleep_ms(50);
    }
}

static int make_temp_dir(struct planet *p)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(p->dir, sizeof p->dir, "%s/planet-%.64s-XXXXXX",
             tmp != NULL && tmp[0] != 0 ? tmp : "/tmp", p->name);
    for (char *c = p->dir + strlen(p->dir) - 7 - strlen(p->name); *c != 0; c++) {
        if (*c == '/') {
            *c = '_';
        }
    }
    if (mkdtemp(p->dir) == NULL) {
        fprintf(stderr, "planet: mkdtemp %s: %s\n", p->dir, strerror(errno));
        return -1;
    }
    char logs[PLANET_PATH_MAX + 16];
    snprintf(logs, sizeof logs, "%s/logs", p->dir);
    return mkdir(logs, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

static int launch(struct planet *p, const struct planet_opts *o, const char *pg_url)
{
    char nodes[16], base[16], log[PLANET_PATH_MAX + 32];
    char *argv[48];
    int n = 0;
    snprintf(nodes, sizeof nodes, "%d", p->nodes);
    snprintf(base, sizeof base, "%d", o->ip_base);
    snprintf(log, sizeof log, "%s/logs/sim.log", p->dir);
    argv[n++] = p->sim_bin;
    argv[n++] = "run";
    argv[n++] = "--dir";
    argv[n++] = p->dir;
    argv[n++] = "--nodes";
    argv[n++] = nodes;
    argv[n++] = "--ip-base";
    argv[n++] = base;
    argv[n++] = "--quiet";
    if (!o->gateway) {
        argv[n++] = "--no-gateway";
    }
    if (o->rs != NULL) {
        argv[n++] = "--rs";
        argv[n++] = (char *)o->rs;
    }
    if (pg_url != NULL) {
        argv[n++] = "--postgres";
        argv[n++] = (char *)pg_url;
    }
    for (int i = 0; i < 8 && o->settings[i] != NULL; i++) {
        argv[n++] = "--set";
        argv[n++] = (char *)o->settings[i];
    }
    argv[n] = NULL;
    p->sim_pid = spawn(argv, log, NULL);
    return p->sim_pid > 0 ? 0 : -1;
}

/* The value of "NAME=value" in text (lines) into out; -1 when absent or too long. */
static int env_value(const char *text, const char *name, char *out, size_t size)
{
    size_t name_len = strlen(name);
    for (const char *line = text; line != NULL && *line != 0;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl != NULL ? (size_t)(nl - line) : strlen(line);
        if (len > name_len + 1 && strncmp(line, name, name_len) == 0 && line[name_len] == '=' &&
            len - name_len - 1 < size) {
            memcpy(out, line + name_len + 1, len - name_len - 1);
            out[len - name_len - 1] = 0;
            return 0;
        }
        line = nl != NULL ? nl + 1 : NULL;
    }
    return -1;
}

static int read_gateway_env(struct planet *p)
{
    char text[4096];
    snprintf(p->gateway_env, sizeof p->gateway_env, "%.1000s/gateway.env", p->dir);
    if (read_file(p->gateway_env, text, sizeof text) != 0 ||
        env_value(text, "AWS_ENDPOINT_URL", p->gateway_url, sizeof p->gateway_url) != 0 ||
        env_value(text, "AWS_ACCESS_KEY_ID", p->gateway_key_id, sizeof p->gateway_key_id) != 0 ||
        env_value(text, "AWS_SECRET_ACCESS_KEY", p->gateway_secret, sizeof p->gateway_secret) !=
            0 ||
        p->gateway_pid <= 0) {
        fprintf(stderr, "planet %s: no gateway (is tessera-gateway built?); see %s/logs\n", p->name,
                p->dir);
        return -1;
    }
    return 0;
}

int planet_start(struct planet *p, const struct planet_opts *o)
{
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", o->test_name);
    p->nodes = o->nodes > 0 ? o->nodes : 10;
    install_handlers();
    current = p;
    char *pg = NULL;
    int rc = find_programs(p);
    if (rc == 0) {
        rc = make_temp_dir(p);
    }
    if (rc == 0 && o->postgres) {
        rc = postgres_url(p, &pg);
    }
    long long t0 = now_ms();
    if (rc == 0) {
        rc = launch(p, o, pg);
    }
    free(pg);
    if (rc == 0) {
        rc = wait_ready(p, 0);
    }
    char path[PLANET_PATH_MAX + 16];
    if (rc == 0) {
        snprintf(path, sizeof path, "%s/access", p->dir);
        rc = read_file(path, p->grant, sizeof p->grant);
    }
    if (rc == 0) {
        snprintf(path, sizeof path, "%s/project", p->dir);
        rc = read_file(path, p->project_id, sizeof p->project_id);
    }
    if (rc == 0) {
        snprintf(p->sat_dir, sizeof p->sat_dir, "%.1000s/satellite", p->dir);
        rc = read_pids(p);
    }
    if (rc == 0 && o->gateway) {
        rc = read_gateway_env(p);
    }
    if (rc != 0) {
        fprintf(stderr, "planet %s: start failed\n", p->name);
        p->failed = true;
        planet_stop(p);
        return -1;
    }
    printf("planet %s: %d nodes%s%s ready in %.1f s (dir %s)\n", p->name, p->nodes,
           o->rs != NULL ? " RS " : "", o->rs != NULL ? o->rs : "", (now_ms() - t0) / 1000.0,
           p->dir);
    fflush(stdout);
    return 0;
}

void planet_fail(struct planet *p)
{
    p->failed = true;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    return remove(path);
}

static void run_wait(char *const argv[])
{
    pid_t pid = spawn(argv, "/dev/null", NULL);
    if (pid > 0) {
        waitpid(pid, NULL, 0);
    }
}

static void keep_logs(const struct planet *p)
{
    const char *build = getenv("TS_BUILD_DIR");
    char dest[PLANET_PATH_MAX + 256], src[PLANET_PATH_MAX + 16];
    snprintf(dest, sizeof dest, "%s/test-logs/%s", build != NULL ? build : "/tmp", p->name);
    snprintf(src, sizeof src, "%s/logs/.", p->dir);
    char *mk[] = {"/bin/mkdir", "-p", dest, NULL};
    char *cp[] = {"/bin/cp", "-r", src, dest, NULL};
    run_wait(mk);
    run_wait(cp);
    fprintf(stderr, "planet %s: logs kept in %s\n", p->name, dest);
}

/* A component the sim started that is somehow still alive (the sim was SIGKILLed before its own
 * stop): kill it, recognised by the planet dir in its command line so a recycled PID is safe. */
static void kill_leftover(const struct planet *p, pid_t pid)
{
    char path[64], cmd[4096];
    if (pid <= 0) {
        return;
    }
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return;
    }
    ssize_t n = read(fd, cmd, sizeof cmd - 1);
    close(fd);
    for (ssize_t i = 0; i < n; i++) {
        cmd[i] = cmd[i] == 0 ? ' ' : cmd[i];
    }
    cmd[n > 0 ? n : 0] = 0;
    if (strstr(cmd, p->dir) != NULL) {
        kill(pid, SIGKILL);
    }
}

static const char *const sanitizer_markers[] = {
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "runtime error:",
    "WARNING: ThreadSanitizer",
};

/* Prints and counts component logs holding a sanitizer report. */
static int scan_logs(const struct planet *p)
{
    char dir[PLANET_PATH_MAX + 16], path[PLANET_PATH_MAX + 300], line[1024];
    snprintf(dir, sizeof dir, "%s/logs", p->dir);
    DIR *d = opendir(dir);
    int found = 0;
    for (struct dirent *e = d != NULL ? readdir(d) : NULL; e != NULL; e = readdir(d)) {
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = e->d_name[0] != '.' ? fopen(path, "r") : NULL;
        bool hit = false;
        while (f != NULL && !hit && fgets(line, sizeof line, f) != NULL) {
            for (size_t i = 0; i < sizeof sanitizer_markers / sizeof sanitizer_markers[0]; i++) {
                hit = hit || strstr(line, sanitizer_markers[i]) != NULL;
            }
        }
        if (hit) {
            fprintf(stderr, "planet %s: sanitizer report in %s: %s", p->name, e->d_name, line);
            found++;
        }
        if (f != NULL) {
            fclose(f);
        }
    }
    if (d != NULL) {
        closedir(d);
    }
    return found;
}

int planet_stop(struct planet *p)
{
    if (p->dir[0] == 0) {
        return 0;
    }
    if (p->sim_pid > 0) {
        stop_sim_now(p->sim_pid);
        p->sim_pid = 0;
    }
    if (read_pids(p) == 0) {
        kill_leftover(p, p->sat_pid);
        for (int i = 1; i <= p->nodes && i <= PLANET_NODES_MAX; i++) {
            kill_leftover(p, p->node_pids[i]);
        }
        kill_leftover(p, p->gateway_pid);
    }
    int reports = scan_logs(p);
    if (reports > 0) {
        p->failed = true;
    }
    if (p->failed) {
        keep_logs(p);
    }
    if (getenv("PLANET_KEEP") == NULL) {
        nftw(p->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
    p->dir[0] = 0;
    if (current == p) {
        current = NULL;
    }
    return reports > 0 ? -1 : 0;
}

/* Waits until the sim has reaped pid (it polls its children every 200 ms). A zombie is not
 * enough: when a multithreaded process is killed its leader shows 'Z' while its other threads
 * still exit, and until they have the sim's waitpid cannot reap it, so a revive asked for at
 * that moment would find the component still running and start nothing. */
static void wait_dead(pid_t pid)
{
    char path[64], stat[256];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    for (int i = 0; i < 500 && read_file(path, stat, sizeof stat) == 0; i++) {
        sleep_ms(20);
    }
}

int planet_kill_node(struct planet *p, int index, int sig)
{
    if (index < 1 || index > p->nodes || p->node_pids[index] <= 0) {
        return -1;
    }
    pid_t pid = p->node_pids[index];
    p->node_pids[index] = 0;
    if (kill(pid, sig) != 0) {
        return -1;
    }
    if (sig == SIGKILL) {
        wait_dead(pid);
    }
    return 0;
}

int planet_kill_satellite(struct planet *p)
{
    if (p->sat_pid <= 0 || kill(p->sat_pid, SIGKILL) != 0) {
        return -1;
    }
    wait_dead(p->sat_pid);
    p->sat_pid = 0;
    return 0;
}

int planet_kill_gateway(struct planet *p)
{
    if (p->gateway_pid <= 0 || kill(p->gateway_pid, SIGKILL) != 0) {
        return -1;
    }
    wait_dead(p->gateway_pid);
    p->gateway_pid = 0;
    return 0;
}

int planet_revive(struct planet *p)
{
    if (p->sim_pid <= 0 || kill(p->sim_pid, SIGUSR1) != 0) {
        return -1;
    }
    p->generation++;
    if (wait_ready(p, p->generation) != 0) {
        return -1;
    }
    return read_pids(p);
}

void planet_node_storage(const struct planet *p, int index, char *out)
{
    snprintf(out, PLANET_PATH_MAX, "%.900s/nodes/%d/storage", p->dir, index);
}

static int piece_count;
static char first_piece[PLANET_PATH_MAX];

static int count_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    size_t n = strlen(path);
    if (type == FTW_F && n > 4 && strcmp(path + n - 4, ".sj1") == 0) {
        if (piece_count++ == 0) {
            snprintf(first_piece, sizeof first_piece, "%s", path);
        }
    }
    return 0;
}

int planet_node_piece_count(const struct planet *p, int index)
{
    char dir[PLANET_PATH_MAX + 16], storage[PLANET_PATH_MAX];
    planet_node_storage(p, index, storage);
    snprintf(dir, sizeof dir, "%s/blobs", storage);
    piece_count = 0;
    first_piece[0] = 0;
    struct stat st;
    if (stat(dir, &st) != 0) {
        return 0; /* nothing stored yet */
    }
    return nftw(dir, count_entry, 16, FTW_PHYS) == 0 ? piece_count : -1;
}

int planet_node_first_piece(const struct planet *p, int index, char *out)
{
    if (planet_node_piece_count(p, index) <= 0) {
        return -1;
    }
    snprintf(out, PLANET_PATH_MAX, "%s", first_piece);
    return 0;
}

int planet_log_count(const struct planet *p, const char *log, const char *needle)
{
    char path[PLANET_PATH_MAX + 96], line[2048];
    snprintf(path, sizeof path, "%s/logs/%.64s", p->dir, log);
    FILE *f = fopen(path, "r");
    int n = 0;
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        n += strstr(line, needle) != NULL;
    }
    if (f != NULL) {
        fclose(f);
    }
    return n;
}

/* In a child: every NAME=value line of path into the environment. */
static void load_env_file(const char *path)
{
    static char text[4096];
    if (read_file(path, text, sizeof text) != 0) {
        return;
    }
    for (char *line = text; line != NULL && *line != 0;) {
        char *nl = strchr(line, '\n');
        if (nl != NULL) {
            *nl = 0;
        }
        char *eq = strchr(line, '=');
        if (eq != NULL && eq != line) {
            *eq = 0;
            setenv(line, eq + 1, 1);
        }
        line = nl != NULL ? nl + 1 : NULL;
    }
}

/* Runs argv (argv[0] without '/' is looked up on PATH), stdout (and stderr) into out.
 * config_dir sets TESSERA_CONFIG_DIR, env_file adds its variables; both may be NULL. */
static int run_capture(char *const argv[], const char *config_dir, const char *env_file,
                       bool with_stderr, char *out, size_t out_size)
{
    int fds[2];
    if (pipe(fds) != 0) {
        return -1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) {
            _exit(127);
        }
        dup2(fds[1], STDOUT_FILENO);
        if (with_stderr) {
            dup2(fds[1], STDERR_FILENO);
        }
        close(fds[0]);
        close(fds[1]);
        if (config_dir != NULL) {
            setenv("TESSERA_CONFIG_DIR", config_dir, 1);
        }
        if (env_file != NULL) {
            load_env_file(env_file);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    size_t used = 0;
    ssize_t n;
    char sink[4096];
    while ((n = read(fds[0], used + 1 < out_size ? out + used : sink,
                     used + 1 < out_size ? out_size - 1 - used : sizeof sink)) > 0) {
        if (used + 1 < out_size) {
            used += (size_t)n;
        }
    }
    close(fds[0]);
    out[used] = 0;
    while (used > 0 && out[used - 1] == '\n') {
        out[--used] = 0;
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) {
        return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int planet_satellite_admin(struct planet *p, const char *const args[], char *out, size_t out_size)
{
    char *argv[24];
    int n = 0;
    argv[n++] = p->sat_bin;
    for (int i = 0; args[i] != NULL && n < 20; i++) {
        argv[n++] = (char *)args[i];
    }
    argv[n++] = "--dir";
    argv[n++] = p->sat_dir;
    argv[n] = NULL;
    return run_capture(argv, NULL, NULL, false, out, out_size);
}

int planet_cli(struct planet *p, const char *const args[], char *out, size_t out_size)
{
    if (p->cli_bin[0] == 0) {
        return -1;
    }
    char cfg[PLANET_PATH_MAX + 16];
    char *argv[32];
    int n = 0;
    snprintf(cfg, sizeof cfg, "%s/cli-test", p->dir);
    argv[n++] = p->cli_bin;
    for (int i = 0; args[i] != NULL && n < 30; i++) {
        argv[n++] = (char *)args[i];
    }
    argv[n] = NULL;
    return run_capture(argv, cfg, NULL, true, out, out_size);
}

int planet_gateway_tool(struct planet *p, const char *const args[], char *out, size_t out_size)
{
    if (p->gateway_env[0] == 0) {
        return -1;
    }
    char *argv[32];
    int n = 0;
    for (int i = 0; args[i] != NULL && n < 31; i++) {
        argv[n++] = (char *)args[i];
    }
    argv[n] = NULL;
    return run_capture(argv, NULL, p->gateway_env, true, out, out_size);
}
