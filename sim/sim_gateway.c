/* The network's S3 gateway: tessera-gateway with a credential store in D/gateway, the sim's grant
 * registered there once, readiness by ready file + GET /-/health, and D/gateway.env for S3 tools.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "base/fs.h"
#include "base/log.h"
#include "crypto/hash.h"
#include "sim.h"

#define LOG "sim"
/* The health answer read back: a status line, a few headers and "ok". */
#define HEALTH_ANSWER_MAX 2048
/* Each health probe's connect/send/receive budget, in milliseconds. */
#define HEALTH_IO_TIMEOUT_MS 2000
/* Register's output: two key=value lines of a few dozen characters. */
#define REGISTER_OUTPUT_MAX 4096

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Copies the value of "name=value" in text (one line) into out; false when absent or too long. */
static bool find_value(const char *text, const char *name, char *out, size_t out_size)
{
    size_t name_len = strlen(name);
    for (const char *line = text; line != NULL && *line != 0;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl != NULL ? (size_t)(nl - line) : strlen(line);
        if (len > name_len && strncmp(line, name, name_len) == 0 && line[name_len] == '=') {
            size_t vlen = len - name_len - 1;
            if (vlen == 0 || vlen >= out_size) {
                return false;
            }
            memcpy(out, line + name_len + 1, vlen);
            out[vlen] = 0;
            return true;
        }
        line = nl != NULL ? nl + 1 : NULL;
    }
    return false;
}

/* The credential file the gateway keeps for key_id: <store>/<hex SHA-256(key id)>.cred
 * (docs/gateway.md, "Credential store"). */
static bool credential_stored(const struct sim_net *net, const char *key_id)
{
    uint8_t h[TS_SHA256_SIZE];
    char name[2 * TS_SHA256_SIZE + 8], path[SIM_PATH_MAX];
    if (ts_sha256(key_id, strlen(key_id), h) != TS_OK) {
        return false;
    }
    for (size_t i = 0; i < sizeof h; i++) {
        snprintf(name + 2 * i, 3, "%02x", h[i]);
    }
    snprintf(name + 2 * sizeof h, 6, ".cred");
    struct stat st;
    return sim_path(path, sizeof path, net->gw_store, name) == TS_OK && stat(path, &st) == 0;
}

/* Credentials from an earlier run of this dir (D/gateway.env), if the store still holds them. */
static bool reuse_credentials(struct sim_net *net)
{
    struct ts_buf b;
    ts_buf_init(&b, SIM_GATEWAY_ENV_MAX);
    bool ok = ts_fs_read_all(net->gw_env_path, SIM_GATEWAY_ENV_MAX, &b) == TS_OK &&
              ts_buf_reserve(&b, 1) == TS_OK;
    if (ok) {
        b.data[b.len] = 0;
        ok = find_value((const char *)b.data, "AWS_ACCESS_KEY_ID", net->gw_key_id,
                        sizeof net->gw_key_id) &&
             find_value((const char *)b.data, "AWS_SECRET_ACCESS_KEY", net->gw_secret,
                        sizeof net->gw_secret) &&
             credential_stored(net, net->gw_key_id);
    }
    ts_buf_release_secret(&b);
    return ok;
}

/* `tessera-gateway register --store D/gateway --access-file D/access`: a fresh key pair. */
static ts_err register_credentials(struct sim_net *net)
{
    char access[SIM_PATH_MAX], log[SIM_PATH_MAX];
    static char out[REGISTER_OUTPUT_MAX];
    ts_err err = sim_path(access, sizeof access, net->opts.dir, "access");
    if (err == TS_OK) {
        err = sim_path(log, sizeof log, net->opts.dir, "logs/gateway-admin.log");
    }
    if (err != TS_OK) {
        return err;
    }
    char *argv[] = {net->opts.gateway_bin, "register", "--store", net->gw_store,
                    "--access-file",       access,     NULL};
    err = sim_proc_run(argv, log, out, sizeof out);
    if (err == TS_OK && (!find_value(out, "access_key_id", net->gw_key_id, sizeof net->gw_key_id) ||
                         !find_value(out, "secret_key", net->gw_secret, sizeof net->gw_secret))) {
        ts_log_error(LOG, "tessera-gateway register printed no credentials; see %s", log);
        err = TS_ERR_MALFORMED;
    }
    ts_wipe(out, sizeof out);
    return err;
}

/* One GET /-/health: true when it answers 200 with body "ok". */
static bool healthy(const char *host, uint16_t port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        return false;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return false;
    }
    struct timeval tv = {HEALTH_IO_TIMEOUT_MS / 1000, (HEALTH_IO_TIMEOUT_MS % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    char req[160], answer[HEALTH_ANSWER_MAX];
    int req_len =
        snprintf(req, sizeof req,
                 "GET /-/health HTTP/1.1\r\nHost: %s:%u\r\nConnection: close\r\n\r\n", host, port);
    size_t used = 0;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        send(fd, req, (size_t)req_len, MSG_NOSIGNAL) == req_len) {
        ssize_t n;
        while (used + 1 < sizeof answer &&
               (n = recv(fd, answer + used, sizeof answer - 1 - used, 0)) > 0) {
            used += (size_t)n;
        }
    }
    close(fd);
    answer[used] = 0;
    const char *body = strstr(answer, "\r\n\r\n");
    return strncmp(answer, "HTTP/1.", 7) == 0 && strncmp(answer + 8, " 200", 4) == 0 &&
           body != NULL && strncmp(body + 4, "ok", 2) == 0;
}

/* "http://HOST:PORT" from the ready file into net->gw_url and net->gw_port. */
static bool read_ready_file(struct sim_net *net)
{
    char line[128];
    unsigned port = 0;
    const char *colon = NULL;
    if (sim_read_line(net->gw_ready_path, line, sizeof line) != TS_OK ||
        strncmp(line, "http://", 7) != 0 || (colon = strrchr(line, ':')) == NULL ||
        sscanf(colon + 1, "%u", &port) != 1 || port == 0 || port > 65535) {
        return false;
    }
    snprintf(net->gw_url, sizeof net->gw_url, "%s", line);
    net->gw_port = (uint16_t)port;
    return true;
}

static ts_err wait_healthy(struct sim_net *net)
{
    int64_t deadline = ts_monotonic_ms() + SIM_READY_TIMEOUT_S * 1000;
    for (;;) {
        if (read_ready_file(net) && healthy(net->sat_host, net->gw_port)) {
            return TS_OK;
        }
        if (sim_proc_reap(&net->gateway)) {
            ts_log_error(LOG, "the gateway exited during startup (status %d); see %s",
                         WIFEXITED(net->gateway.exit_status) ? WEXITSTATUS(net->gateway.exit_status)
                                                             : -1,
                         net->gateway.log_path);
            return TS_ERR_UNAVAILABLE;
        }
        if (sim_net_stop_requested()) {
            return TS_ERR_CANCELED;
        }
        if (ts_monotonic_ms() > deadline) {
            ts_log_error(LOG, "the gateway did not answer /-/health within %d s; see %s",
                         SIM_READY_TIMEOUT_S, net->gateway.log_path);
            return TS_ERR_TIMEOUT;
        }
        sleep_ms(20);
    }
}

static ts_err write_env(const struct sim_net *net)
{
    char text[SIM_GATEWAY_ENV_MAX];
    int n = snprintf(text, sizeof text,
                     "AWS_ENDPOINT_URL=%s\n"
                     "AWS_ACCESS_KEY_ID=%s\n"
                     "AWS_SECRET_ACCESS_KEY=%s\n"
                     "AWS_REGION=us-east-1\n"
                     "AWS_DEFAULT_REGION=us-east-1\n"
                     "AWS_EC2_METADATA_DISABLED=true\n"
                     "TESSERA_GATEWAY_URL=%s\n",
                     net->gw_url, net->gw_key_id, net->gw_secret, net->gw_url);
    ts_err err = n > 0 && (size_t)n < sizeof text
                     ? ts_fs_write_atomic(net->gw_env_path, text, (size_t)n, 0600)
                     : TS_ERR_TOO_LARGE;
    ts_wipe(text, sizeof text);
    return err;
}

ts_err sim_gateway_init(struct sim_net *net)
{
    snprintf(net->gateway.name, sizeof net->gateway.name, "gateway");
    ts_err err = sim_path(net->gateway.log_path, sizeof net->gateway.log_path, net->opts.dir,
                          "logs/gateway.log");
    if (err == TS_OK) {
        err = sim_path(net->gw_store, sizeof net->gw_store, net->opts.dir, "gateway");
    }
    if (err == TS_OK) {
        err = sim_path(net->gw_env_path, sizeof net->gw_env_path, net->opts.dir, "gateway.env");
    }
    if (err == TS_OK) {
        err =
            sim_path(net->gw_ready_path, sizeof net->gw_ready_path, net->opts.dir, "gateway.ready");
    }
    return err;
}

bool sim_gateway_enabled(const struct sim_net *net)
{
    return !net->opts.no_gateway && net->opts.gateway_bin[0] != 0;
}

ts_err sim_gateway_start(struct sim_net *net)
{
    ts_err err = TS_OK;
    if (net->gw_key_id[0] == 0 && !reuse_credentials(net)) {
        err = register_credentials(net);
    }
    if (err != TS_OK) {
        return err;
    }
    /* Port 0 the first time; a restart (SIGUSR1) keeps the endpoint clients already use. */
    char listen[64];
    snprintf(listen, sizeof listen, "%s:%u", net->sat_host, net->gw_port);
    unlink(net->gw_ready_path);
    char *argv[] = {net->opts.gateway_bin,
                    "run",
                    "--listen",
                    listen,
                    "--store",
                    net->gw_store,
                    "--ready-file",
                    net->gw_ready_path,
                    "--allow-register",
                    NULL};
    int64_t t0 = ts_monotonic_ms();
    err = sim_proc_start(&net->gateway, argv);
    if (err == TS_OK) {
        err = wait_healthy(net);
    }
    if (err == TS_OK) {
        err = write_env(net);
    }
    if (err == TS_OK) {
        ts_log_info(LOG, "gateway ready url=%s after_ms=%lld", net->gw_url,
                    (long long)(ts_monotonic_ms() - t0));
    }
    return err;
}

void sim_gateway_print(const struct sim_net *net)
{
    if (net->gw_url[0] == 0) {
        return;
    }
    printf("S3 gateway: %s  (pid %d, log %s)\n"
           "  access key id      %s\n"
           "  secret access key  %s\n"
           "  for any S3 tool:   set -a; . %s; set +a   (then e.g. aws s3 ls)\n\n",
           net->gw_url, (int)net->gateway.pid, net->gateway.log_path, net->gw_key_id,
           net->gw_secret, net->gw_env_path);
    fflush(stdout);
}
