/*
 * tessera-sim: runs a local Tessera network (see sim.h and docs/sim.md).
 *   tessera-sim run  [--nodes N] [--rs k/m/o/n] [--dir D] [--postgres URL] [options]
 *   tessera-sim demo [same options]
 * Exit codes: 0 stopped cleanly, 1 failure, 2 usage.
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "base/fs.h"
#include "base/log.h"
#include "sim.h"

#define LOG "sim"
#define SIM_GRANT_MAX (256u * 1024)

static int usage(FILE *out)
{
    fprintf(out,
            "usage: tessera-sim run|demo [options]\n"
            "  run    start a satellite and N storage nodes on loopback, print their addresses\n"
            "         and the access grant, keep running until Ctrl-C / SIGTERM\n"
            "  demo   the same with the default network, plus a round trip with the tessera CLI\n"
            "options:\n"
            "  --nodes N        storage nodes (default 10, max %d); node X listens on "
            "127.B.X.1\n"
            "  --rs k/m/o/n     erasure code (default 4/6/8/10; production shape 29/52/80/110)\n"
            "  --dir D          network directory (default: a temp dir removed at exit); an\n"
            "                   existing one is reused: same identities, data and grant\n"
            "  --postgres URL   satellite database on PostgreSQL (default SQLite in D)\n"
            "  --ip-base B      use 127.B.0.0/16 (default 0), so networks can run side by side\n"
            "  --difficulty N   identity proof-of-work bits (default 8)\n"
            "  --set key=value  extra satellite config line (repeatable; docs/satellite.md)\n"
            "  --allocated SIZE space each node offers (default: the node's default)\n"
            "  --no-gateway     do not start the S3 gateway (tessera-gateway; its endpoint and\n"
            "                   credentials go to D/gateway.env for `set -a; . D/gateway.env`)\n"
            "  --keep           keep a temp dir at exit\n"
            "  --quiet          do not print the per-component lines\n"
            "programs: found beside tessera-sim in a build tree (../satellite, ../node,\n"
            "../uplink, ../gateway) or the same directory; override with\n"
            "TESSERA_SATELLITE_BIN, TESSERA_NODE_BIN, TESSERA_CLI_BIN, TESSERA_GATEWAY_BIN.\n",
            SIM_NODES_MAX);
    return 2;
}

static bool executable(const char *path)
{
    return access(path, X_OK) == 0;
}

/* env, else <exe dir>/../<sub>/<name> (build tree), else <exe dir>/<name> (install dir). */
static ts_err find_program(const char *env, const char *sub, const char *name, char *out,
                           size_t size)
{
    const char *v = getenv(env);
    if (v != NULL && v[0] != 0) {
        snprintf(out, size, "%s", v);
        return executable(out) ? TS_OK : TS_ERR_NOT_FOUND;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        return TS_ERR_IO;
    }
    self[n] = 0;
    char *slash = strrchr(self, '/');
    if (slash != NULL) {
        *slash = 0;
    }
    char real[PATH_MAX];
    int len = snprintf(out, size, "%s/../%s/%s", self, sub, name);
    if (len > 0 && (size_t)len < size && executable(out)) {
        if (realpath(out, real) != NULL && strlen(real) < size) {
            memcpy(out, real, strlen(real) + 1); /* shown to the user: no "sim/../" */
        }
        return TS_OK;
    }
    len = snprintf(out, size, "%s/%s", self, name);
    return len > 0 && (size_t)len < size && executable(out) ? TS_OK : TS_ERR_NOT_FOUND;
}

static int parse_int(const char *s, int min, int max, int *out)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (end == s || *end != 0 || v < min || v > max) {
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int copy_arg(char *dst, size_t size, const char *src)
{
    return snprintf(dst, size, "%s", src) >= (int)size ? -1 : 0;
}

static int parse_option(struct sim_opts *o, const char *name, const char *v)
{
    if (strcmp(name, "--nodes") == 0) {
        return parse_int(v, 1, SIM_NODES_MAX, &o->nodes);
    } else if (strcmp(name, "--rs") == 0) {
        return copy_arg(o->rs, sizeof o->rs, v);
    } else if (strcmp(name, "--dir") == 0) {
        return copy_arg(o->dir, sizeof o->dir, v);
    } else if (strcmp(name, "--postgres") == 0) {
        return copy_arg(o->postgres_url, sizeof o->postgres_url, v);
    } else if (strcmp(name, "--ip-base") == 0) {
        return parse_int(v, 0, 255, &o->ip_base);
    } else if (strcmp(name, "--difficulty") == 0) {
        return parse_int(v, 0, 32, &o->difficulty);
    } else if (strcmp(name, "--allocated") == 0) {
        return copy_arg(o->node_allocated, sizeof o->node_allocated, v);
    } else if (strcmp(name, "--set") == 0 && o->sat_settings_count < 16) {
        return copy_arg(o->sat_settings[o->sat_settings_count++], sizeof o->sat_settings[0], v);
    }
    return -1;
}

static int parse_args(int argc, char **argv, struct sim_opts *o)
{
    memset(o, 0, sizeof *o);
    o->nodes = 10;
    o->difficulty = 8;
    for (int i = 2; i < argc; i++) {
        char name[32];
        const char *v = NULL;
        const char *eq = strchr(argv[i], '=');
        if (strcmp(argv[i], "--keep") == 0) {
            o->keep = true;
            continue;
        }
        if (strcmp(argv[i], "--quiet") == 0) {
            o->quiet = true;
            continue;
        }
        if (strcmp(argv[i], "--no-gateway") == 0) {
            o->no_gateway = true;
            continue;
        }
        if (eq != NULL && (size_t)(eq - argv[i]) < sizeof name) {
            snprintf(name, sizeof name, "%.*s", (int)(eq - argv[i]), argv[i]);
            v = eq + 1;
        } else if (i + 1 < argc && strlen(argv[i]) < sizeof name) {
            snprintf(name, sizeof name, "%s", argv[i]);
            v = argv[++i];
        } else {
            fprintf(stderr, "tessera-sim: unknown or incomplete option %s\n", argv[i]);
            return -1;
        }
        if (parse_option(o, name, v) != 0) {
            fprintf(stderr, "tessera-sim: bad option %s %s\n", name, v);
            return -1;
        }
    }
    return 0;
}

static ts_err prepare_dir(struct sim_opts *o)
{
    if (o->dir[0] == 0) {
        const char *tmp = getenv("TMPDIR");
        snprintf(o->dir, sizeof o->dir, "%s/tessera-sim.XXXXXX",
                 tmp != NULL && tmp[0] != 0 ? tmp : "/tmp");
        if (mkdtemp(o->dir) == NULL) {
            ts_log_error(LOG, "cannot create a temp dir: %s", strerror(errno));
            return TS_ERR_IO;
        }
        o->dir_is_temp = true;
    }
    ts_err err = ts_fs_mkdir_p(o->dir, 0700);
    char real[PATH_MAX];
    if (err == TS_OK && realpath(o->dir, real) == NULL) {
        err = TS_ERR_IO;
    }
    if (err == TS_OK && strlen(real) + 64 >= sizeof o->dir) {
        err = TS_ERR_TOO_LARGE; /* room for "/nodes/254/identity/identity.cert" */
    }
    if (err == TS_OK) {
        memcpy(o->dir, real, strlen(real) + 1); /* fits: checked above */
    }
    return err;
}

/* 120 nodes hold many sockets and files; children inherit the raised soft limit. */
static void raise_file_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            ts_log_warn(LOG, "cannot raise the open-file limit: %s", strerror(errno));
        }
    }
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    return remove(path);
}

static void print_grant(const struct sim_net *net, const char *grant)
{
    printf("\naccess grant (also in %s/access):\n%s\n\n", net->opts.dir, grant);
    printf("network directory: %s  (logs in %s/logs, PIDs in %s/pids)\n", net->opts.dir,
           net->opts.dir, net->opts.dir);
    fflush(stdout);
}

static int run(struct sim_opts *o, bool demo)
{
    static struct sim_net net;
    static char grant[SIM_GRANT_MAX];
    ts_err err = prepare_dir(o);
    if (err == TS_OK) {
        err = sim_net_init(&net, o);
    }
    if (err == TS_OK) {
        printf("tessera-sim: %d nodes, RS %s, %s database, dir %s\n", o->nodes,
               o->rs[0] != 0 ? o->rs : "4/6/8/10 (default)",
               o->postgres_url[0] != 0 ? "PostgreSQL" : "SQLite", o->dir);
        fflush(stdout);
        err = sim_setup(&net);
    }
    if (err == TS_OK) {
        err = sim_net_start(&net);
    }
    if (err == TS_OK) {
        err = sim_setup_access(&net, grant, sizeof grant);
    }
    if (err == TS_OK && sim_gateway_enabled(&net)) {
        err = sim_gateway_start(&net);
        if (err == TS_OK) {
            err = sim_net_write_pids(&net);
        }
    }
    if (err == TS_OK) {
        err = sim_net_write_ready(&net, 0);
    }
    if (err == TS_OK) {
        if (!o->quiet) {
            sim_net_print(&net);
        }
        print_grant(&net, grant);
        sim_gateway_print(&net);
    }
    if (err == TS_OK && demo) {
        err = sim_demo_round_trip(&net, grant);
        if (err == TS_OK) {
            sim_demo_s3(&net);
            sim_demo_print_usage(&net, grant);
        }
    }
    if (err == TS_OK) {
        printf("network running; press Ctrl-C to stop it\n");
        fflush(stdout);
        sim_net_wait(&net);
    } else if (err != TS_ERR_CANCELED) {
        fprintf(stderr, "tessera-sim: cannot run the network: %s (logs in %s/logs)\n",
                ts_strerror(err), o->dir);
    }
    sim_net_stop(&net);
    sim_net_release(&net);
    ts_wipe(grant, sizeof grant);
    if (o->dir_is_temp && !o->keep && o->dir[0] != 0) {
        nftw(o->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    } else {
        printf("network stopped; its directory stays: %s\n", o->dir);
    }
    return err == TS_OK || err == TS_ERR_CANCELED ? 0 : 1;
}

int main(int argc, char **argv)
{
    static struct sim_opts o;
    if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0) {
        return usage(argc < 2 ? stderr : stdout);
    }
    bool demo = strcmp(argv[1], "demo") == 0;
    if ((!demo && strcmp(argv[1], "run") != 0) || parse_args(argc, argv, &o) != 0) {
        return usage(stderr);
    }
    ts_err err = find_program("TESSERA_SATELLITE_BIN", "satellite", "tessera-satellite",
                              o.satellite_bin, sizeof o.satellite_bin);
    if (err == TS_OK) {
        err =
            find_program("TESSERA_NODE_BIN", "node", "tessera-node", o.node_bin, sizeof o.node_bin);
    }
    if (err != TS_OK) {
        fprintf(stderr, "tessera-sim: cannot find tessera-satellite and tessera-node (build them,"
                        " or set TESSERA_SATELLITE_BIN / TESSERA_NODE_BIN)\n");
        return 1;
    }
    if (find_program("TESSERA_CLI_BIN", "uplink", "tessera", o.cli_bin, sizeof o.cli_bin) !=
        TS_OK) {
        o.cli_bin[0] = 0; /* only the demo needs it */
    }
    if (!o.no_gateway && find_program("TESSERA_GATEWAY_BIN", "gateway", "tessera-gateway",
                                      o.gateway_bin, sizeof o.gateway_bin) != TS_OK) {
        o.gateway_bin[0] = 0;
        fprintf(stderr, "tessera-sim: tessera-gateway not found (build it, or set "
                        "TESSERA_GATEWAY_BIN): running without the S3 gateway\n");
    }
    raise_file_limit();
    return run(&o, demo);
}
