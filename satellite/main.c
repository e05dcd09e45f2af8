/*
 * tessera-satellite: the satellite program.
 *   setup --dir D [--db URL] [--listen HOST:PORT] [--difficulty N] [--production]
 *   run --dir D
 *   project create NAME --dir D            prints the project id (hex)
 *   apikey create --project P [--name N] --dir D   prints the API key once
 *   apikey list [--project P] --dir D
 *   apikey revoke KEY --dir D
 * --dir may also come from TESSERA_SATELLITE_DIR. Exit codes: 0 ok, 1 failure, 2 usage.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/log.h"
#include "crypto/hash.h"
#include "satellite/apikeys/apikeys.h"
#include "satellite/db/satdb.h"
#include "satellite/durability/service.h"
#include "satellite/peer.h"

struct args {
    const char *dir, *db, *listen, *project, *name;
    int difficulty;
    bool production;
    const char *pos[4]; /* positional words */
    int npos;
};

static int usage(void)
{
    fprintf(stderr,
            "usage:\n"
            "  tessera-satellite setup --dir D [--db URL] [--listen HOST:PORT] [--difficulty N]"
            " [--production]\n"
            "  tessera-satellite run --dir D\n"
            "  tessera-satellite project create NAME --dir D\n"
            "  tessera-satellite apikey create --project ID [--name N] --dir D\n"
            "  tessera-satellite apikey list [--project ID] --dir D\n"
            "  tessera-satellite apikey revoke KEY --dir D\n"
            "  tessera-satellite status [--json] --dir D\n"
            "  tessera-satellite durability [--rs k/m/o/n] [--churn R] [--interval-h T]\n");
    return 2;
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
        } else if (strcmp(argv[i], "--db") == 0) {
            slot = &a->db;
        } else if (strcmp(argv[i], "--listen") == 0) {
            slot = &a->listen;
        } else if (strcmp(argv[i], "--project") == 0) {
            slot = &a->project;
        } else if (strcmp(argv[i], "--name") == 0) {
            slot = &a->name;
        } else if (strcmp(argv[i], "--production") == 0) {
            a->production = true;
            continue;
        } else if (strcmp(argv[i], "--difficulty") == 0 && i + 1 < argc) {
            char *end = NULL;
            long v = strtol(argv[++i], &end, 10);
            if (*end != 0 || v < 0 || v > TS_ID_DIFFICULTY_MAX) {
                return -1;
            }
            a->difficulty = (int)v;
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

static int cmd_run(const struct args *a)
{
    struct sat_peer *p = NULL;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* every thread inherits the mask */
    signal(SIGPIPE, SIG_IGN);
    ts_err err = sat_peer_open(a->dir, &p);
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

static int cmd_admin(const struct args *a)
{
    struct sat_config *cfg = calloc(1, sizeof *cfg);
    struct ts_db *db = NULL;
    if (cfg == NULL) {
        return fail("start", TS_ERR_NOMEM);
    }
    ts_err err = sat_peer_open_db(a->dir, cfg, &db);
    int rc;
    if (err != TS_OK) {
        rc = fail("cannot open the satellite database", err);
    } else if (strcmp(a->pos[0], "project") == 0 && a->npos >= 2 &&
               strcmp(a->pos[1], "create") == 0) {
        rc = cmd_project_create(a, db);
    } else if (strcmp(a->pos[0], "apikey") == 0) {
        rc = cmd_apikey(a, db);
    } else {
        rc = usage();
    }
    ts_db_close(db);
    free(cfg);
    return rc;
}

int main(int argc, char **argv)
{
    struct args a;
    if (argc >= 2 && (strcmp(argv[1], "status") == 0 || strcmp(argv[1], "durability") == 0)) {
        return sat_durability_cli(argc, argv); /* satellite/durability/cli.c */
    }
    if (parse_args(argc, argv, &a) != 0) {
        return usage();
    }
    if (strcmp(a.pos[0], "setup") == 0 && a.npos == 1) {
        ts_err err = sat_peer_setup(a.dir, a.db, a.listen, a.difficulty, a.production);
        if (err != TS_OK) {
            return fail("setup", err);
        }
        printf("satellite set up in %s\n", a.dir);
        return 0;
    }
    if (strcmp(a.pos[0], "run") == 0 && a.npos == 1) {
        return cmd_run(&a);
    }
    return cmd_admin(&a);
}
