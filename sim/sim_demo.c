/* The demo: a visible round trip through the real `tessera` CLI against the running network. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "base/fs.h"
#include "base/log.h"
#include "crypto/hash.h"
#include "sim.h"

#define LOG "sim"
/* The demo file: a few segments' worth would be slow to watch; 3 MiB + 17 bytes crosses many
 * stripes and does not align to anything. */
#define DEMO_FILE_SIZE (3u * 1024 * 1024 + 17)
#define DEMO_OUTPUT_MAX (64u * 1024)

/* Deterministic pseudo-random bytes (xorshift), so a rerun uploads the same file. */
static ts_err write_demo_file(const char *path)
{
    uint8_t *data = malloc(DEMO_FILE_SIZE);
    if (data == NULL) {
        return TS_ERR_NOMEM;
    }
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < DEMO_FILE_SIZE; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data[i] = (uint8_t)x;
    }
    ts_err err = ts_fs_write_atomic(path, data, DEMO_FILE_SIZE, 0644);
    free(data);
    return err;
}

static ts_err file_sha256(const char *path, uint8_t out[32], int64_t *size)
{
    struct ts_buf b;
    ts_buf_init(&b, 64u * 1024 * 1024);
    ts_err err = ts_fs_read_all(path, 64u * 1024 * 1024, &b);
    if (err == TS_OK) {
        err = ts_sha256(b.data, b.len, out);
        *size = (int64_t)b.len;
    }
    ts_buf_release(&b);
    return err;
}

/* Runs the CLI with the network's access grant in its environment-private config dir, echoing
 * the command line and its output. */
static ts_err cli(const struct sim_net *net, const char *log, char *const args[])
{
    char *argv[16];
    int n = 0;
    argv[n++] = (char *)net->opts.cli_bin;
    printf("$ tessera");
    for (int i = 0; args[i] != NULL && n < 15; i++) {
        argv[n++] = args[i];
        printf(" %s", strlen(args[i]) > 80 ? "<access grant>" : args[i]);
    }
    argv[n] = NULL;
    printf("\n");
    fflush(stdout);
    static char out[DEMO_OUTPUT_MAX];
    int64_t t0 = ts_monotonic_ms();
    ts_err err = sim_proc_run(argv, log, out, sizeof out);
    if (out[0] != 0) {
        printf("%s\n", out);
    }
    printf("  (%s, %lld ms)\n", err == TS_OK ? "ok" : "FAILED",
           (long long)(ts_monotonic_ms() - t0));
    fflush(stdout);
    return err;
}

static ts_err demo_paths(const struct sim_net *net, char *up, char *down, char *log, char *cfg)
{
    char dir[SIM_PATH_MAX];
    ts_err err = sim_path(dir, sizeof dir, net->opts.dir, "demo");
    if (err == TS_OK) {
        err = ts_fs_mkdir_p(dir, 0700);
    }
    if (err == TS_OK) {
        err = sim_path(up, SIM_PATH_MAX, dir, "upload.bin");
    }
    if (err == TS_OK) {
        err = sim_path(down, SIM_PATH_MAX, dir, "download.bin");
    }
    if (err == TS_OK) {
        err = sim_path(log, SIM_PATH_MAX, net->opts.dir, "logs/demo-cli.log");
    }
    if (err == TS_OK) {
        err = sim_path(cfg, SIM_PATH_MAX, net->opts.dir, "cli");
    }
    return err;
}

ts_err sim_demo_round_trip(const struct sim_net *net, const char *grant)
{
    char up[SIM_PATH_MAX], down[SIM_PATH_MAX], log[SIM_PATH_MAX], cfg[SIM_PATH_MAX];
    if (net->opts.cli_bin[0] == 0) {
        fprintf(stderr, "tessera-sim: the tessera CLI was not found (build it, or set "
                        "TESSERA_CLI_BIN)\n");
        return TS_ERR_NOT_FOUND;
    }
    ts_err err = demo_paths(net, up, down, log, cfg);
    if (err == TS_OK) {
        err = write_demo_file(up);
    }
    if (err != TS_OK) {
        return err;
    }
    /* The CLI keeps its named accesses in TESSERA_CONFIG_DIR: a private one inside the network
     * dir, so the demo never touches ~/.config/tessera. */
    setenv("TESSERA_CONFIG_DIR", cfg, 1);
    unlink(down);
    printf("\n=== demo: a round trip with the tessera CLI (log %s)\n", log);
    char grant_file[SIM_PATH_MAX];
    err = sim_path(grant_file, sizeof grant_file, net->opts.dir, "access");
    if (err != TS_OK) {
        return err;
    }
    (void)grant; /* passed as the file that holds it, which keeps the command line short */
    char *import[] = {"access", "import", "--force", "sim", grant_file, NULL};
    char *use[] = {"access", "use", "sim", NULL};
    char *mb[] = {"mb", "ts://demo", NULL};
    char *put[] = {"cp", "--no-progress", up, "ts://demo/hello.bin", NULL};
    char *ls[] = {"ls", "ts://demo", NULL};
    char *get[] = {"cp", "--no-progress", "ts://demo/hello.bin", down, NULL};
    err = cli(net, log, import);
    if (err == TS_OK) {
        err = cli(net, log, use);
    }
    if (err == TS_OK) {
        /* A rerun over the same dir finds the bucket already there: that is fine. */
        ts_err mb_err = cli(net, log, mb);
        (void)mb_err;
        err = cli(net, log, put);
    }
    if (err == TS_OK) {
        err = cli(net, log, ls);
    }
    if (err == TS_OK) {
        err = cli(net, log, get);
    }
    uint8_t h1[32], h2[32];
    int64_t s1 = 0, s2 = -1;
    if (err == TS_OK) {
        err = file_sha256(up, h1, &s1);
    }
    if (err == TS_OK) {
        err = file_sha256(down, h2, &s2);
    }
    if (err == TS_OK && (s1 != s2 || memcmp(h1, h2, 32) != 0)) {
        printf("MISMATCH: uploaded %lld bytes, downloaded %lld bytes, contents differ\n",
               (long long)s1, (long long)s2);
        err = TS_ERR_HASH_MISMATCH;
    } else if (err == TS_OK) {
        printf("round trip ok: %lld bytes up and down, SHA-256 ", (long long)s1);
        for (int i = 0; i < 8; i++) {
            printf("%02x", h1[i]);
        }
        printf("... identical\n");
    }
    fflush(stdout);
    return err;
}

/* The first executable `name` on PATH, into out. */
static bool find_on_path(const char *name, char *out, size_t size)
{
    const char *dir = getenv("PATH");
    while (dir != NULL && *dir != 0) {
        const char *colon = strchr(dir, ':');
        size_t len = colon != NULL ? (size_t)(colon - dir) : strlen(dir);
        int n = snprintf(out, size, "%.*s/%s", (int)len, dir, name);
        if (len > 0 && n > 0 && (size_t)n < size && access(out, X_OK) == 0) {
            return true;
        }
        dir = colon != NULL ? colon + 1 : NULL;
    }
    return false;
}

void sim_demo_s3(const struct sim_net *net)
{
    static char out[DEMO_OUTPUT_MAX];
    char tool[SIM_PATH_MAX], log[SIM_PATH_MAX], user[2 * sizeof net->gw_key_id], url[160];
    if (net->gw_url[0] == 0 ||
        sim_path(log, sizeof log, net->opts.dir, "logs/demo-s3.log") != TS_OK) {
        return;
    }
    printf("\n=== demo: the bucket through the S3 gateway %s (log %s)\n", net->gw_url, log);
    /* What `set -a; . D/gateway.env` gives any S3 tool. */
    setenv("AWS_ENDPOINT_URL", net->gw_url, 1);
    setenv("AWS_ACCESS_KEY_ID", net->gw_key_id, 1);
    setenv("AWS_SECRET_ACCESS_KEY", net->gw_secret, 1);
    setenv("AWS_REGION", "us-east-1", 1);
    setenv("AWS_DEFAULT_REGION", "us-east-1", 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    snprintf(user, sizeof user, "%s:%s", net->gw_key_id, net->gw_secret);
    snprintf(url, sizeof url, "%s/demo/", net->gw_url);
    /* Bounded, so a stuck tool cannot hold the demo (and a Ctrl-C) for minutes. */
    char *aws[] = {
        tool, "s3", "ls", "s3://demo/", "--cli-connect-timeout", "5", "--cli-read-timeout",
        "30", NULL};
    char *curl[] = {
        tool,     "-sS", "--fail", "--max-time", "30", "--aws-sigv4", "aws:amz:us-east-1:s3",
        "--user", user,  url,      NULL};
    char *const *argv = NULL;
    if (find_on_path("aws", tool, sizeof tool)) {
        printf("$ set -a; . %s; set +a; aws s3 ls s3://demo/\n", net->gw_env_path);
        argv = aws;
    } else if (find_on_path("curl", tool, sizeof tool)) {
        printf("$ set -a; . %s; set +a; curl -sS --fail --aws-sigv4 aws:amz:us-east-1:s3 "
               "--user \"$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY\" $AWS_ENDPOINT_URL/demo/\n",
               net->gw_env_path);
        argv = curl;
    } else {
        printf("(neither aws nor curl is installed: skipped)\n");
        fflush(stdout);
        return;
    }
    fflush(stdout);
    int64_t t0 = ts_monotonic_ms();
    ts_err err = sim_proc_run(argv, log, out, sizeof out);
    if (out[0] != 0) {
        printf("%s\n", out);
    }
    printf("  (%s, %lld ms)\n", err == TS_OK ? "ok" : "FAILED, see the log; the network still runs",
           (long long)(ts_monotonic_ms() - t0));
    ts_wipe(user, sizeof user);
    fflush(stdout);
}

void sim_demo_print_usage(const struct sim_net *net, const char *grant)
{
    (void)grant;
    printf("\n=== use the network\n"
           "The grant in %s/access opens project 'sim' (passphrase 'tessera-sim').\n"
           "  export TESSERA_CONFIG_DIR=%s/cli      # the demo imported it there as 'sim'\n"
           "  %s ls ts://demo\n"
           "  %s cp ./some-file ts://demo/some-file\n"
           "  %s cp ts://demo/hello.bin ./hello.bin\n"
           "or, in your own config: tessera access import mynet %s/access && tessera access use "
           "mynet\n"
           "Nodes: %s/nodes/<X> (storage, config; node X listens on 127.%d.X.1). "
           "Satellite: %s/satellite.\n",
           net->opts.dir, net->opts.dir, net->opts.cli_bin, net->opts.cli_bin, net->opts.cli_bin,
           net->opts.dir, net->opts.dir, net->opts.ip_base, net->opts.dir);
    if (net->gw_url[0] != 0) {
        printf("S3 (any S3 tool, same project): set -a; . %s; set +a\n"
               "  aws s3 ls s3://demo/    aws s3 cp ./some-file s3://demo/some-file\n",
               net->gw_env_path);
    }
    if (net->opts.dir_is_temp && !net->opts.keep) {
        printf("(%s is removed when the network stops; run with --dir D to keep it)\n",
               net->opts.dir);
    }
    printf("\n");
    fflush(stdout);
}
