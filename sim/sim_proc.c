/* Child processes of the sim: start with a log file and PDEATHSIG, run to completion, stop. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "base/log.h"
#include "sim.h"

#define LOG "sim"

extern char **environ;

/* In the child, between fork and exec: only async-signal-safe calls. envp NULL = inherit. */
static void child_exec(char *const argv[], char *const envp[], int out_fd, int err_fd, pid_t parent)
{
    /* A hard stop of the sim (SIGKILL, crash) must not leave orphans. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) {
        _exit(127); /* the parent died before prctl took effect */
    }
    setpgid(0, 0); /* terminal Ctrl-C reaches the sim only; it stops children in order */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    if (out_fd >= 0 && dup2(out_fd, STDOUT_FILENO) < 0) {
        _exit(127);
    }
    if (err_fd >= 0 && dup2(err_fd, STDERR_FILENO) < 0) {
        _exit(127);
    }
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) {
        dup2(devnull, STDIN_FILENO);
    }
    execve(argv[0], argv, envp != NULL ? envp : environ);
    static const char msg[] = "tessera-sim: exec failed\n";
    ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)ignored;
    _exit(127);
}

static int open_log(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        ts_log_error(LOG, "cannot open log %s: %s", path, strerror(errno));
    }
    return fd;
}

#define SIM_ENV_FILE_MAX 4096
#define SIM_ENV_EXTRA_MAX 16

/* environ plus the KEY=VALUE lines of path (in text, which must outlive the result). NULL when
 * there is no such file (inherit). */
static char **env_with_file(const char *path, char *text, size_t text_size)
{
    FILE *f = path[0] != 0 ? fopen(path, "r") : NULL;
    if (f == NULL) {
        return NULL;
    }
    size_t len = fread(text, 1, text_size - 1, f);
    fclose(f);
    text[len] = 0;
    size_t count = 0;
    while (environ[count] != NULL) {
        count++;
    }
    char **envp = calloc(count + SIM_ENV_EXTRA_MAX + 1, sizeof *envp);
    if (envp == NULL) {
        return NULL;
    }
    memcpy(envp, environ, count * sizeof *envp);
    size_t limit = count + SIM_ENV_EXTRA_MAX;
    for (char *line = text; *line != 0 && count < limit;) {
        char *nl = strchr(line, '\n');
        if (nl != NULL) {
            *nl = 0;
        }
        if (strchr(line, '=') != NULL && line[0] != '#') {
            envp[count++] = line;
        }
        if (nl == NULL) {
            break;
        }
        line = nl + 1;
    }
    return envp;
}

ts_err sim_proc_start(struct sim_proc *p, char *const argv[])
{
    static char env_text[SIM_ENV_FILE_MAX];
    int fd = open_log(p->log_path);
    if (fd < 0) {
        return TS_ERR_IO;
    }
    char **envp = env_with_file(p->env_path, env_text, sizeof env_text);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        child_exec(argv, envp, fd, fd, parent);
    }
    free(envp);
    close(fd);
    if (pid < 0) {
        ts_log_error(LOG, "fork failed for %s: %s", p->name, strerror(errno));
        return TS_ERR_IO;
    }
    p->pid = pid;
    p->exited = false;
    p->exit_status = 0;
    return TS_OK;
}

static ts_err read_output(int fd, char *out, size_t out_size)
{
    size_t used = 0;
    ts_err err = TS_OK;
    for (;;) {
        char tmp[4096];
        ssize_t n = read(fd, tmp, sizeof tmp);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        size_t take = (size_t)n;
        if (out != NULL && used + take >= out_size) {
            take = out_size - 1 - used;
            err = TS_ERR_TOO_LARGE;
        }
        if (out != NULL) {
            memcpy(out + used, tmp, take);
            used += take;
        }
    }
    if (out != NULL) {
        out[used] = 0;
        while (used > 0 && (out[used - 1] == '\n' || out[used - 1] == '\r')) {
            out[--used] = 0;
        }
    }
    return err;
}

ts_err sim_proc_run(char *const argv[], const char *log_path, char *out, size_t out_size)
{
    int pipefd[2];
    int log_fd = open_log(log_path);
    if (log_fd < 0) {
        return TS_ERR_IO;
    }
    if (pipe2(pipefd, O_CLOEXEC) != 0) {
        close(log_fd);
        return TS_ERR_IO;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        child_exec(argv, NULL, pipefd[1], log_fd, parent);
    }
    close(pipefd[1]);
    close(log_fd);
    if (pid < 0) {
        close(pipefd[0]);
        return TS_ERR_IO;
    }
    ts_err err = read_output(pipefd[0], out, out_size);
    close(pipefd[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        ts_log_error(LOG, "%s failed (exit %d); see %s", argv[0],
                     WIFEXITED(status) ? WEXITSTATUS(status) : -1, log_path);
        return TS_ERR_IO;
    }
    return err;
}

bool sim_proc_reap(struct sim_proc *p)
{
    if (p->pid <= 0) {
        return p->exited;
    }
    int status = 0;
    pid_t r = waitpid(p->pid, &status, WNOHANG);
    if (r == p->pid) {
        p->exit_status = status;
        p->exited = true;
        p->pid = 0;
    }
    return p->exited;
}

void sim_proc_signal(const struct sim_proc *p, int sig)
{
    if (p->pid > 0) {
        kill(p->pid, sig);
    }
}

static bool all_reaped(struct sim_proc *const procs[], int count)
{
    bool done = true;
    for (int i = 0; i < count; i++) {
        if (procs[i]->pid > 0 && !sim_proc_reap(procs[i])) {
            done = false;
        }
    }
    return done;
}

void sim_proc_stop_all(struct sim_proc *const procs[], int count, int grace_ms)
{
    for (int i = 0; i < count; i++) {
        sim_proc_signal(procs[i], SIGTERM);
    }
    int64_t deadline = ts_monotonic_ms() + grace_ms;
    while (!all_reaped(procs, count) && ts_monotonic_ms() < deadline) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    for (int i = 0; i < count; i++) {
        if (procs[i]->pid > 0) {
            ts_log_warn(LOG, "%s pid=%d did not stop within %d ms: killing it", procs[i]->name,
                        (int)procs[i]->pid, grace_ms);
            kill(procs[i]->pid, SIGKILL);
            int status = 0;
            while (waitpid(procs[i]->pid, &status, 0) < 0 && errno == EINTR) {
            }
            procs[i]->exit_status = status;
            procs[i]->exited = true;
            procs[i]->pid = 0;
        }
    }
}
