/* tessera identity create|show: node identities on disk (see docs/identity.md). */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "cli/cli.h"
#include "identity/identity.h"

static void identity_usage(FILE *out)
{
    fprintf(out,
            "usage: tessera identity create [--difficulty N] [--threads T] [--dir D]\n"
            "       tessera identity show [--dir D]\n"
            "  --difficulty N  minimum proof-of-work bits of the node ID (default %d; local\n"
            "                  networks use ~8-12; each extra bit doubles the expected time)\n"
            "  --threads T     key-search threads (default: one per CPU)\n"
            "  --dir D         identity directory (default ~/.config/tessera/identity)\n",
            TS_ID_DIFFICULTY_PRODUCTION);
}

static void on_progress(uint64_t tries, int best, void *ctx)
{
    const int *target = ctx;
    fprintf(stderr, "\rsearching: %llu keys tried, best difficulty %d, target %d",
            (unsigned long long)tries, best, *target);
    fflush(stderr);
}

static int print_identity(const struct ts_identity *id, const char *dir)
{
    char text[TS_NODE_ID_TEXT_MAX];
    ts_err err = ts_node_id_to_string(ts_identity_id(id), text, sizeof text);
    if (err != TS_OK) {
        return cli_fail("formatting the node ID", err);
    }
    printf("node id:    %s\ndifficulty: %d\ndirectory:  %s\n", text, ts_identity_difficulty(id),
           dir);
    return CLI_EXIT_OK;
}

static int identity_create(const char *dir, long difficulty, long threads)
{
    int target = (int)difficulty;
    struct ts_identity_create_opts opts = {.difficulty_min = target,
                                           .threads = (int)threads,
                                           .progress = on_progress,
                                           .progress_ctx = &target};
    struct ts_identity *id = NULL;
    ts_err err = ts_identity_create(&opts, &id);
    fprintf(stderr, "\n");
    if (err != TS_OK) {
        return cli_fail("creating the identity", err);
    }
    err = ts_identity_save(id, dir);
    if (err == TS_ERR_EXISTS) {
        fprintf(stderr, "tessera: %s already holds an identity; choose another --dir\n", dir);
        ts_identity_free(id);
        return CLI_EXIT_ERROR;
    }
    int rc = err != TS_OK ? cli_fail("saving the identity", err) : print_identity(id, dir);
    ts_identity_free(id);
    return rc;
}

static int identity_show(const char *dir)
{
    struct ts_identity *id = NULL;
    ts_err err = ts_identity_load(dir, &id);
    if (err == TS_ERR_NOT_FOUND) {
        fprintf(stderr, "tessera: no identity in %s (create one: tessera identity create)\n", dir);
        return CLI_EXIT_ERROR;
    }
    if (err != TS_OK) {
        return cli_fail("loading the identity", err);
    }
    int rc = print_identity(id, dir);
    ts_identity_free(id);
    return rc;
}

int cmd_identity(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "create") != 0 && strcmp(argv[1], "show") != 0)) {
        identity_usage(argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
        return argc >= 2 && strcmp(argv[1], "--help") == 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
    int create = strcmp(argv[1], "create") == 0;
    const char *dir = NULL, *value = NULL;
    long difficulty = TS_ID_DIFFICULTY_PRODUCTION, threads = 0;
    for (int i = 2; i < argc; i++) {
        int r;
        if ((r = cli_option(argc, argv, &i, "--dir", &value)) != 0) {
            dir = value;
        } else if (create && (r = cli_option(argc, argv, &i, "--difficulty", &value)) != 0) {
            r = r < 0 || cli_parse_int(value, 0, TS_ID_DIFFICULTY_MAX, &difficulty) ? -1 : 1;
        } else if (create && (r = cli_option(argc, argv, &i, "--threads", &value)) != 0) {
            r = r < 0 || cli_parse_int(value, 1, 256, &threads) ? -1 : 1;
        } else {
            r = -1;
        }
        if (r < 0) {
            identity_usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    char path[PATH_MAX];
    if (dir == NULL) {
        ts_err err = cli_config_path("identity", path, sizeof path);
        if (err != TS_OK) {
            return cli_fail("finding the default identity directory (set --dir)", err);
        }
        dir = path;
    }
    return create ? identity_create(dir, difficulty, threads) : identity_show(dir);
}
