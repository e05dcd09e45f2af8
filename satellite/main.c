/*
 * tessera-satellite: the satellite program.
 *   setup --dir D [--db URL] [--listen HOST:PORT] [--difficulty N] [--production]
 *   run --dir D
 *   project create NAME --dir D            prints the project id (hex)
 *   apikey create --project P [--name N] --dir D   prints the API key once
 *   apikey list [--project P] --dir D
 *   apikey revoke KEY --dir D
 *   node list --dir D | node disqualify ID --dir D | exit list --dir D
 *   gc restore-trash NODE_ID --dir D
 * Any config key may be given as --key=value or --key value (docs/satellite.md): `setup` writes
 * it into the config, the other commands use it for this run only. --dir may also come from
 * TESSERA_SATELLITE_DIR. Exit codes: 0 ok, 1 failure, 2 usage.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/log.h"
#include "crypto/hash.h"
#include "satellite/admin/admin.h"
#include "satellite/apikeys/apikeys.h"
#include "satellite/audit/piece_client.h"
#include "satellite/db/satdb.h"
#include "satellite/durability/service.h"
#include "satellite/peer.h"

/* Config keys given on the command line. */
#define FLAGS_MAX 64

struct args {
    const char *dir, *project, *name;
    int difficulty;
    bool production;
    const char *pos[4]; /* positional words */
    int npos;
    const char *keys[FLAGS_MAX], *values[FLAGS_MAX]; /* config overrides, in order */
    char key_buf[FLAGS_MAX][128];
    int nflags;
};

static int usage(void)
{
    fprintf(stderr,
            "usage:\n"
            "  tessera-satellite setup --dir D [--db URL] [--listen HOST:PORT] [--difficulty N]"
            " [--production | --local] [--KEY=VALUE ...]\n"
            "  tessera-satellite run --dir D [--KEY=VALUE ...]\n"
            "  tessera-satellite project create NAME --dir D\n"
            "  tessera-satellite apikey create --project ID [--name N] --dir D\n"
            "  tessera-satellite apikey list [--project ID] --dir D\n"
            "  tessera-satellite apikey revoke KEY --dir D\n"
            "  tessera-satellite node list --dir D\n"
            "  tessera-satellite node disqualify NODE_ID --dir D\n"
            "  tessera-satellite exit list --dir D\n"
            "  tessera-satellite gc restore-trash NODE_ID --dir D\n"
            "  tessera-satellite status [--json] --dir D\n"
            "  tessera-satellite durability [--rs k/m/o/n] [--churn R] [--interval-h T]\n"
            "KEY is any config key (docs/satellite.md), e.g. --gc.interval_s=5m\n");
    return 2;
}

/* "--key=value" or "--key value" for a config key: recorded in a->keys/values. */
static int add_flag(struct args *a, int argc, char **argv, int *i)
{
    const char *k = argv[*i] + 2, *eq = strchr(k, '=');
    size_t klen = eq != NULL ? (size_t)(eq - k) : strlen(k);
    if (a->nflags == FLAGS_MAX || klen == 0 || klen >= sizeof a->key_buf[0]) {
        return -1;
    }
    if (eq == NULL && *i + 1 >= argc) {
        fprintf(stderr, "tessera-satellite: --%s needs a value\n", k);
        return -1;
    }
    memcpy(a->key_buf[a->nflags], k, klen);
    a->key_buf[a->nflags][klen] = 0;
    a->keys[a->nflags] = a->key_buf[a->nflags];
    a->values[a->nflags++] = eq != NULL ? eq + 1 : argv[++*i];
    return 0;
}

static int parse_args(int argc, char **argv, struct args *a)
{
    memset(a, 0, sizeof *a);
    a->difficulty = 8;
    a->dir = getenv("TESSERA_SATELLITE_DIR");
    for (int i = 1; i < argc; i++) {
        const char **slot = NULL;
        if (strcmp(argv[i], "--dir") == 0) {
            slot = &a->dir;
        } else if (strcmp(argv[i], "--project") == 0) {
            slot = &a->project;
        } else if (strcmp(argv[i], "--name") == 0) {
            slot = &a->name;
        } else if (strcmp(argv[i], "--production") == 0 || strcmp(argv[i], "--local") == 0) {
            a->production = strcmp(argv[i], "--production") == 0;
            continue;
        } else if (strcmp(argv[i], "--difficulty") == 0 && i + 1 < argc) {
            char *end = NULL;
            long v = strtol(argv[++i], &end, 10);
            if (*end != 0 || v < 0 || v > TS_ID_DIFFICULTY_MAX) {
                return -1;
            }
            a->difficulty = (int)v;
            continue;
        } else if (strncmp(argv[i], "--", 2) == 0) {
            if (add_flag(a, argc, argv, &i) != 0) {
                return -1;
            }
            continue;
        } else if (argv[i][0] == '-' || a->npos == 4) {
            return -1;
        } else {
            a->pos[a->npos++] = argv[i];
            continue;
        }
        if (i + 1 >= argc) {
            return -1;
        }
        *slot = argv[++i];
    }
    return a->npos == 0 || a->dir == NULL ? -1 : 0;
}

/* Applies the command-line config keys over c (flags win over the file). */
static ts_err apply_flags(const struct args *a, struct sat_config *c)
{
    ts_err err = TS_OK;
    for (int i = 0; err == TS_OK && i < a->nflags; i++) {
        err = sat_config_set(c, a->keys[i], a->values[i]);
        if (err != TS_OK) {
            fprintf(stderr, "tessera-satellite: bad setting --%s=%s (see the log line above)\n",
                    a->keys[i], a->values[i]);
        }
    }
    return err == TS_OK ? sat_config_check(c) : err;
}

/* Loads dir/config plus the flags into a heap config. */
static ts_err load_config(const struct args *a, struct sat_config **out)
{
    struct sat_config *cfg = calloc(1, sizeof *cfg);
    ts_err err = cfg == NULL ? TS_ERR_NOMEM : sat_config_load(cfg, a->dir);
    if (err == TS_ERR_NOT_FOUND) {
        fprintf(stderr,
                "tessera-satellite: no config in %s: run `tessera-satellite setup --dir "
                "%s` first\n",
                a->dir, a->dir);
        err = TS_ERR_CONFIG;
    }
    if (err == TS_OK) {
        err = apply_flags(a, cfg);
    }
    if (err != TS_OK) {
        free(cfg);
        cfg = NULL;
    }
    *out = cfg;
    return err;
}

static int fail(const char *what, ts_err err)
{
    fprintf(stderr, "tessera-satellite: %s: %s\n", what, ts_strerror(err));
    return 1;
}

static int hex_decode(const char *s, uint8_t *out, size_t n)
{
    if (strlen(s) != 2 * n) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        if (sscanf(s + 2 * i, "%2x", &v) != 1) {
            return -1;
        }
        out[i] = (uint8_t)v;
    }
    return 0;
}

static void hex_print(FILE *f, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "%02x", p[i]);
    }
}

static int cmd_setup(const struct args *a)
{
    struct sat_config *cfg = calloc(1, sizeof *cfg);
    if (cfg == NULL) {
        return fail("setup", TS_ERR_NOMEM);
    }
    sat_config_defaults(cfg, a->dir);
    if (!a->production) {
        sat_config_local(cfg);
    }
    ts_err err = apply_flags(a, cfg);
    if (err == TS_OK) {
        err = sat_peer_setup_config(cfg, a->difficulty);
    }
    free(cfg);
    if (err != TS_OK) {
        return fail("setup", err);
    }
    printf("satellite set up in %s (%s profile)\n", a->dir, a->production ? "production" : "local");
    return 0;
}

static int cmd_run(const struct args *a)
{
    struct sat_peer *p = NULL;
    struct sat_config *cfg = NULL;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* every thread inherits the mask */
    signal(SIGPIPE, SIG_IGN);
    ts_err err = load_config(a, &cfg);
    if (err == TS_OK) {
        err = sat_peer_open_config(cfg, &p);
    }
    free(cfg);
    if (err == TS_OK) {
        err = sat_peer_start(p);
    }
    if (err != TS_OK) {
        sat_peer_close(p);
        return fail("cannot start", err);
    }
    int sig = 0;
    sigwait(&set, &sig);
    ts_log_info("satellite", "stopping signal=%d", sig);
    sat_peer_close(p);
    return 0;
}

static ts_err project_fn(struct ts_db_conn *c, void *ctx)
{
    return sat_db_project_insert(c, ctx);
}

static int cmd_project_create(const struct args *a, struct ts_db *db)
{
    struct sat_project p = {.created_at = ts_time_now_s()};
    if (a->npos != 3 || strlen(a->pos[2]) > SAT_NAME_MAX) {
        return usage();
    }
    snprintf(p.name, sizeof p.name, "%s", a->pos[2]);
    ts_err err = ts_random_bytes(p.id, sizeof p.id);
    if (err == TS_OK) {
        err = ts_random_bytes(p.salt, sizeof p.salt);
    }
    if (err == TS_OK) {
        err = ts_db_tx(db, project_fn, &p);
    }
    if (err != TS_OK) {
        return fail("project create", err);
    }
    hex_print(stdout, p.id, sizeof p.id);
    printf("\n");
    return 0;
}

static ts_err print_key(const struct sat_api_key *k, void *ctx)
{
    (void)ctx;
    hex_print(stdout, k->id, sizeof k->id);
    printf(" project=");
    hex_print(stdout, k->project_id, sizeof k->project_id);
    printf(" created=%lld name=%s\n", (long long)k->created_at, k->name);
    return TS_OK;
}

struct list_args {
    const uint8_t *project;
};

static ts_err list_fn(struct ts_db_conn *c, void *ctx)
{
    struct list_args *la = ctx;
    return sat_db_api_key_list(c, la->project, print_key, NULL);
}

static int cmd_apikey(const struct args *a, struct ts_db *db)
{
    uint8_t project[SAT_ID_SIZE];
    bool have_project = a->project != NULL && hex_decode(a->project, project, sizeof project) == 0;
    if (a->project != NULL && !have_project) {
        fprintf(stderr, "tessera-satellite: --project wants the 32-hex-digit project id\n");
        return 2;
    }
    if (a->npos == 2 && strcmp(a->pos[1], "create") == 0 && have_project) {
        struct ts_buf text;
        ts_buf_init(&text, TS_BASE58_TEXT_MAX);
        ts_err err = sat_apikey_create(db, project, a->name != NULL ? a->name : "default", &text);
        if (err == TS_OK) {
            printf("%s\n", (const char *)text.data);
        }
        ts_buf_release_secret(&text);
        return err == TS_OK ? 0 : fail("apikey create", err);
    }
    if (a->npos == 2 && strcmp(a->pos[1], "list") == 0) {
        struct list_args la = {have_project ? project : NULL};
        ts_err err = ts_db_tx_read(db, list_fn, &la);
        return err == TS_OK ? 0 : fail("apikey list", err);
    }
    if (a->npos == 3 && strcmp(a->pos[1], "revoke") == 0) {
        ts_err err = sat_apikey_revoke_text(db, a->pos[2]);
        if (err == TS_OK) {
            printf("revoked\n");
        }
        return err == TS_OK ? 0 : fail("apikey revoke", err);
    }
    return usage();
}

static int parse_node_id(const char *text, uint8_t id[32])
{
    struct ts_node_id nid;
    if (ts_node_id_from_string(text, &nid) == TS_OK) {
        memcpy(id, nid.bytes, 32);
        return 0;
    }
    if (hex_decode(text, id, 32) == 0) {
        return 0;
    }
    fprintf(stderr, "tessera-satellite: '%s' is not a node ID\n", text);
    return -1;
}

static int cmd_node(const struct args *a, const struct sat_config *cfg, struct ts_db *db)
{
    uint8_t id[32];
    if (a->npos == 2 && strcmp(a->pos[1], "list") == 0) {
        ts_err err = sat_admin_node_list(db, cfg, ts_time_now_s(), stdout);
        return err == TS_OK ? 0 : fail("node list", err);
    }
    if (a->npos == 3 && strcmp(a->pos[1], "disqualify") == 0) {
        if (parse_node_id(a->pos[2], id) != 0) {
            return 2;
        }
        ts_err err = sat_admin_node_disqualify(db, id, ts_time_now_s());
        if (err == TS_OK) {
            printf("disqualified %s\n", a->pos[2]);
        }
        return err == TS_OK ? 0 : fail("node disqualify", err);
    }
    return usage();
}

struct address_ctx {
    const uint8_t *id;
    struct sat_node node;
};

static ts_err address_fn(struct ts_db_conn *c, void *ctx)
{
    struct address_ctx *ac = ctx;
    return sat_db_node_get(c, ac->id, &ac->node);
}

/* gc restore-trash NODE_ID: dials the node with the satellite's identity. */
static int cmd_restore_trash(const struct args *a, const struct sat_config *cfg, struct ts_db *db)
{
    char path[SAT_PATH_MAX + 32], msg[TS_RPC_ERROR_MESSAGE_MAX] = "";
    struct address_ctx ac;
    struct ts_identity *id = NULL;
    struct ts_rpc_pool *pool = NULL;
    struct ts_node_url url;
    uint8_t node[32];
    int64_t restored = 0;
    if (a->npos != 3 || strcmp(a->pos[1], "restore-trash") != 0) {
        return usage();
    }
    if (parse_node_id(a->pos[2], node) != 0) {
        return 2;
    }
    ac.id = node;
    ts_err err = ts_db_tx_read(db, address_fn, &ac);
    snprintf(path, sizeof path, "%s/%s", cfg->dir, SAT_IDENTITY_DIR);
    if (err == TS_OK) {
        err = ts_identity_load(path, &id);
    }
    struct ts_rpc_pool_opts po = {.dial_timeout_ms = cfg->ping_timeout_ms,
                                  .io_timeout_ms = 10 * 60 * 1000}; /* the node moves files */
    if (err == TS_OK) {
        err = ts_rpc_pool_new(id, &po, &pool);
    }
    if (err == TS_OK) {
        err = sat_node_url_make(node, ac.node.address, &url);
    }
    if (err == TS_OK) {
        err = sat_gc_restore_trash(pool, &url, &restored, msg, sizeof msg);
    }
    ts_rpc_pool_free(pool);
    ts_identity_free(id);
    if (err != TS_OK) {
        fprintf(stderr, "tessera-satellite: gc restore-trash: %s%s%s\n", ts_strerror(err),
                msg[0] ? ": " : "", msg);
        return 1;
    }
    printf("restored %lld pieces on %s\n", (long long)restored, a->pos[2]);
    return 0;
}

static int cmd_admin(const struct args *a)
{
    struct sat_config *cfg = NULL;
    struct ts_db *db = NULL;
    ts_err err = load_config(a, &cfg);
    if (err == TS_OK) {
        err = sat_peer_db_open(cfg, &db);
    }
    int rc;
    if (err != TS_OK) {
        rc = fail("cannot open the satellite database", err);
    } else if (strcmp(a->pos[0], "project") == 0 && a->npos >= 2 &&
               strcmp(a->pos[1], "create") == 0) {
        rc = cmd_project_create(a, db);
    } else if (strcmp(a->pos[0], "apikey") == 0) {
        rc = cmd_apikey(a, db);
    } else if (strcmp(a->pos[0], "node") == 0) {
        rc = cmd_node(a, cfg, db);
    } else if (strcmp(a->pos[0], "exit") == 0 && a->npos == 2 && strcmp(a->pos[1], "list") == 0) {
        err = sat_admin_exit_list(db, stdout);
        rc = err == TS_OK ? 0 : fail("exit list", err);
    } else if (strcmp(a->pos[0], "gc") == 0) {
        rc = cmd_restore_trash(a, cfg, db);
    } else {
        rc = usage();
    }
    ts_db_close(db);
    free(cfg);
    return rc;
}

int main(int argc, char **argv)
{
    static struct args a; /* large (flag key buffers) */
    if (argc >= 2 && (strcmp(argv[1], "status") == 0 || strcmp(argv[1], "durability") == 0)) {
        return sat_durability_cli(argc, argv); /* satellite/durability/cli.c */
    }
    if (parse_args(argc, argv, &a) != 0) {
        return usage();
    }
    if (strcmp(a.pos[0], "setup") == 0 && a.npos == 1) {
        return cmd_setup(&a);
    }
    if (strcmp(a.pos[0], "run") == 0 && a.npos == 1) {
        return cmd_run(&a);
    }
    return cmd_admin(&a);
}
