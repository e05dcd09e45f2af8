/* The network directory: identities, satellite setup and config, node configs, project, API key
 * and access grant. Each step is skipped when its file exists, so a directory can be run again. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "base/fs.h"
#include "base/log.h"
#include "satellite/config.h"
#include "sim.h"
#include "tessera/uplink.h"

#define LOG "sim"
/* The passphrase of the sim's access grant: a local test network, so a fixed, documented one. */
#define SIM_PASSPHRASE "tessera-sim"
#define SIM_FILE_MAX (64u * 1024)

ts_err sim_path(char *out, size_t size, const char *dir, const char *name)
{
    int n = snprintf(out, size, "%s/%s", dir, name);
    return n < 0 || (size_t)n >= size ? TS_ERR_TOO_LARGE : TS_OK;
}

ts_err sim_read_line(const char *path, char *out, size_t out_size)
{
    struct ts_buf b;
    ts_buf_init(&b, SIM_FILE_MAX);
    ts_err err = ts_fs_read_all(path, SIM_FILE_MAX, &b);
    size_t len = 0;
    while (err == TS_OK && len < b.len && b.data[len] != '\n' && b.data[len] != '\r') {
        len++;
    }
    if (err == TS_OK && len >= out_size) {
        err = TS_ERR_TOO_LARGE;
    }
    if (err == TS_OK) {
        memcpy(out, b.data, len);
        out[len] = 0;
    }
    ts_buf_release_secret(&b);
    return err;
}

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static ts_err write_text(const char *path, const char *text, mode_t mode)
{
    return ts_fs_write_atomic(path, text, strlen(text), mode);
}

/* A port that is free on host right now (bind to port 0, read it, close). The satellite needs a
 * fixed port because nodes trust it by URL and tests restart it. */
static ts_err free_port(const char *host, uint16_t *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return TS_ERR_IO;
    }
    socklen_t len = sizeof sa;
    ts_err err = TS_OK;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        ts_log_error(LOG, "cannot bind %s: %s", host, strerror(errno));
        err = TS_ERR_IO;
    }
    close(fd);
    *port = ntohs(sa.sin_port);
    return err;
}

static ts_err satellite_admin(const struct sim_net *net, char **words, char *out, size_t size)
{
    char log[SIM_PATH_MAX];
    char *argv[12];
    int n = 0;
    ts_err err = sim_path(log, sizeof log, net->opts.dir, "logs/satellite-admin.log");
    if (err != TS_OK) {
        return err;
    }
    argv[n++] = (char *)net->opts.satellite_bin;
    while (*words != NULL && n < 9) {
        argv[n++] = *words++;
    }
    argv[n++] = "--dir";
    argv[n++] = (char *)net->sat_dir;
    argv[n] = NULL;
    return sim_proc_run(argv, log, out, size);
}

static ts_err satellite_create(struct sim_net *net)
{
    char listen[64], db[1200], diff[16], out[512];
    ts_err err = free_port(net->sat_host, &net->sat_port);
    if (err != TS_OK) {
        return err;
    }
    snprintf(listen, sizeof listen, "%s:%u", net->sat_host, net->sat_port);
    snprintf(diff, sizeof diff, "%d", net->opts.difficulty);
    if (net->opts.postgres_url[0] != 0) {
        snprintf(db, sizeof db, "%s", net->opts.postgres_url);
    } else {
        /* NORMAL: a sim needs no power-loss durability, and FULL fsyncs every commit. */
        snprintf(db, sizeof db, "sqlite://%s/satellite.db?synchronous=normal", net->sat_dir);
    }
    char *words[] = {"setup", "--listen", listen, "--difficulty", diff, "--db", db, NULL};
    return satellite_admin(net, words, out, sizeof out);
}

static ts_err apply_setting(struct sat_config *cfg, const char *kv)
{
    char line[160];
    snprintf(line, sizeof line, "%s\n", kv);
    char *eq = strchr(line, '=');
    if (eq == NULL) {
        ts_log_error(LOG, "--set wants key=value, not '%s'", kv);
        return TS_ERR_CONFIG;
    }
    *eq = ' ';
    /* "key value" -> "key = value" for the satellite's parser */
    char fixed[200];
    snprintf(fixed, sizeof fixed, "%.*s = %s", (int)(eq - line), line, eq + 1);
    return sat_config_parse(cfg, fixed, strlen(fixed));
}

/* The sim's satellite profile: the local one from `setup`, plus the real subnet rule (every node
 * has its own /24), the requested RS and any --set lines. */
static ts_err satellite_configure(struct sim_net *net, bool fresh)
{
    struct sat_config *cfg = calloc(1, sizeof *cfg);
    if (cfg == NULL) {
        return TS_ERR_NOMEM;
    }
    ts_err err = sat_config_load(cfg, net->sat_dir);
    if (err == TS_OK && fresh) {
        cfg->distinct_nets = 1;
    }
    if (err == TS_OK && (fresh || net->opts.rs[0] != 0)) {
        char rs[80];
        const char *text = net->opts.rs[0] != 0 ? net->opts.rs : "4/6/8/10";
        snprintf(rs, sizeof rs, "%s%s", text, strchr(text, '-') != NULL ? "" : "-256B");
        err = sat_redundancy_parse(rs, &cfg->redundancy);
        if (err != TS_OK) {
            ts_log_error(LOG, "bad --rs '%s' (want k/m/o/n, e.g. 29/52/80/110)", text);
        }
    }
    for (int i = 0; err == TS_OK && i < net->opts.sat_settings_count; i++) {
        err = apply_setting(cfg, net->opts.sat_settings[i]);
    }
    if (err == TS_OK && cfg->redundancy.total > net->opts.nodes) {
        ts_log_warn(LOG, "RS total %d > %d nodes: uploads cannot reach every piece",
                    cfg->redundancy.total, net->opts.nodes);
    }
    if (err == TS_OK) {
        err = sat_config_save(cfg);
    }
    if (err == TS_OK) {
        char *colon = strrchr(cfg->listen, ':');
        net->sat_port = colon != NULL ? (uint16_t)strtol(colon + 1, NULL, 10) : 0;
        if (colon != NULL && (size_t)(colon - cfg->listen) < sizeof net->sat_host) {
            snprintf(net->sat_host, sizeof net->sat_host, "%.*s", (int)(colon - cfg->listen),
                     cfg->listen);
        }
    }
    free(cfg);
    return err;
}

static ts_err satellite_url(struct sim_net *net)
{
    char path[SIM_PATH_MAX], id_text[TS_NODE_ID_TEXT_MAX];
    struct ts_identity *id = NULL;
    ts_err err = sim_path(path, sizeof path, net->sat_dir, "identity");
    if (err == TS_OK) {
        err = ts_identity_load(path, &id);
    }
    if (err == TS_OK) {
        err = ts_node_id_to_string(ts_identity_id(id), id_text, sizeof id_text);
    }
    if (err == TS_OK) {
        snprintf(net->sat_url, sizeof net->sat_url, "%s@%s:%u", id_text, net->sat_host,
                 net->sat_port);
        err = sim_path(path, sizeof path, net->opts.dir, "satellite.url");
    }
    if (err == TS_OK) {
        char line[TS_NODE_URL_MAX + 2];
        snprintf(line, sizeof line, "%s\n", net->sat_url);
        err = write_text(path, line, 0644);
    }
    ts_identity_free(id);
    return err;
}

static ts_err project_and_key(struct sim_net *net)
{
    char path[SIM_PATH_MAX], out[1024];
    ts_err err = sim_path(path, sizeof path, net->opts.dir, "project");
    if (err == TS_OK && !file_exists(path)) {
        char *words[] = {"project", "create", "sim", NULL};
        err = satellite_admin(net, words, out, sizeof out);
        if (err == TS_OK) {
            size_t len = strlen(out);
            out[len] = '\n';
            out[len + 1] = 0;
            err = write_text(path, out, 0644);
        }
    }
    if (err == TS_OK) {
        err = sim_read_line(path, net->project_id, sizeof net->project_id);
    }
    if (err == TS_OK) {
        err = sim_path(path, sizeof path, net->opts.dir, "apikey");
    }
    if (err == TS_OK && !file_exists(path)) {
        char *words[] = {"apikey", "create", "--project", net->project_id, "--name", "sim", NULL};
        err = satellite_admin(net, words, out, sizeof out);
        if (err == TS_OK) {
            size_t len = strlen(out);
            out[len] = '\n';
            out[len + 1] = 0;
            err = write_text(path, out, 0600);
        }
    }
    return err;
}

static ts_err node_identity(struct sim_net *net, struct sim_node *n)
{
    char path[SIM_PATH_MAX];
    struct ts_identity *id = NULL;
    ts_err err = sim_path(path, sizeof path, n->dir, "identity");
    if (err != TS_OK) {
        return err;
    }
    err = ts_identity_load(path, &id);
    if (err == TS_ERR_NOT_FOUND) {
        struct ts_identity_create_opts o = {.difficulty_min = net->opts.difficulty, .threads = 1};
        err = ts_identity_create(&o, &id);
        if (err == TS_OK) {
            err = ts_identity_save(id, path);
        }
    }
    if (err == TS_OK) {
        n->id = *ts_identity_id(id);
    }
    ts_identity_free(id);
    return err;
}

static ts_err node_config(struct sim_net *net, struct sim_node *n)
{
    char path[SIM_PATH_MAX], text[4 * SIM_PATH_MAX];
    int len = snprintf(text, sizeof text,
                       "# tessera-node config written by tessera-sim (docs/sim.md)\n"
                       "identity-dir = %s/identity\n"
                       "storage-dir = %s/storage\n"
                       "listen = %s:0\n"
                       "dashboard = %s:0\n"
                       "trust = %s\n"
                       "ready-file = %s/ready\n"
                       "%s%s%s",
                       n->dir, n->dir, n->host, n->host, net->sat_url, n->dir,
                       net->opts.node_allocated[0] != 0 ? "allocated = " : "",
                       net->opts.node_allocated, net->opts.node_allocated[0] != 0 ? "\n" : "");
    if (len < 0 || (size_t)len >= sizeof text) {
        return TS_ERR_TOO_LARGE;
    }
    ts_err err = sim_path(path, sizeof path, n->dir, "storage");
    if (err == TS_OK) {
        err = ts_fs_mkdir_p(path, 0700);
    }
    if (err == TS_OK) {
        err = sim_path(path, sizeof path, n->dir, "config");
    }
    if (err == TS_OK) {
        err = write_text(path, text, 0644);
    }
    return err;
}

ts_err sim_setup(struct sim_net *net)
{
    char path[SIM_PATH_MAX];
    ts_err err = sim_path(path, sizeof path, net->opts.dir, "logs");
    if (err == TS_OK) {
        err = ts_fs_mkdir_p(path, 0755);
    }
    if (err == TS_OK) {
        err = sim_path(path, sizeof path, net->sat_dir, SAT_CONFIG_FILE);
    }
    bool fresh = err == TS_OK && !file_exists(path);
    if (err == TS_OK && fresh) {
        err = satellite_create(net);
    }
    if (err == TS_OK) {
        err = satellite_configure(net, fresh);
    }
    if (err == TS_OK) {
        err = satellite_url(net);
    }
    if (err == TS_OK) {
        err = project_and_key(net);
    }
    for (int i = 0; err == TS_OK && i < net->opts.nodes; i++) {
        err = ts_fs_mkdir_p(net->nodes[i].dir, 0700);
        if (err == TS_OK) {
            err = node_identity(net, &net->nodes[i]);
        }
        if (err == TS_OK) {
            err = node_config(net, &net->nodes[i]);
        }
    }
    return err;
}

ts_err sim_setup_access(struct sim_net *net, char *grant, size_t grant_size)
{
    char path[SIM_PATH_MAX], apikey_path[SIM_PATH_MAX], apikey[1024];
    ts_err err = sim_path(path, sizeof path, net->opts.dir, "access");
    if (err == TS_OK && file_exists(path)) {
        return sim_read_line(path, grant, grant_size);
    }
    if (err == TS_OK) {
        err = sim_path(apikey_path, sizeof apikey_path, net->opts.dir, "apikey");
    }
    if (err == TS_OK) {
        err = sim_read_line(apikey_path, apikey, sizeof apikey);
    }
    struct ul_access *access = NULL;
    char *text = NULL;
    if (err == TS_OK) {
        ul_err uerr = ul_access_request(net->sat_url, apikey, SIM_PASSPHRASE, &access);
        if (uerr == UL_OK) {
            uerr = ul_access_serialize(access, &text);
        }
        if (uerr != UL_OK) {
            ts_log_error(LOG, "cannot create the access grant: %s (%s)", ul_strerror(uerr),
                         ul_error_detail());
            err = (ts_err)uerr;
        }
    }
    if (err == TS_OK && strlen(text) + 2 > grant_size) {
        err = TS_ERR_TOO_LARGE;
    }
    if (err == TS_OK) {
        snprintf(grant, grant_size, "%s\n", text);
        err = write_text(path, grant, 0600);
        grant[strlen(grant) - 1] = 0;
    }
    ts_wipe(apikey, sizeof apikey);
    ul_free(text);
    ul_access_free(access);
    return err;
}
