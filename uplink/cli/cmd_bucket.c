/* tessera mb / rb: create and remove buckets. */
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "cli/cli.h"
#include "cli/cli_args.h"
#include "cli/cli_exit.h"
#include "cli/cli_parse.h"
#include "cli/cli_session.h"

enum { B_FORCE, B_ACCESS, B_CONFIG_DIR, B_COUNT };
static const struct cli_opt bucket_opts[B_COUNT] = {
    [B_FORCE] = {"force", 'f', CLI_FLAG, NULL, "rb: delete the bucket's objects too"},
    [B_ACCESS] = CLI_OPT_ACCESS,
    [B_CONFIG_DIR] = CLI_OPT_CONFIG_DIR,
};
static const struct cli_spec mb_spec = {
    .usage = "mb ts://bucket",
    .summary = "Make a bucket (names: 3-63 of a-z 0-9 - ., starting and ending with a letter or "
               "digit).",
    .opts = bucket_opts + B_ACCESS,
    .opt_count = B_COUNT - B_ACCESS,
    .positional_min = 1,
    .positional_max = 1,
};
static const struct cli_spec rb_spec = {
    .usage = "rb ts://bucket [--force]",
    .summary = "Remove a bucket; it must be empty unless --force is given.",
    .opts = bucket_opts,
    .opt_count = B_COUNT,
    .positional_min = 1,
    .positional_max = 1,
};

/* Parses the single ts://bucket argument; -1 after a message when it is not one. */
static int bucket_arg(const char *arg, struct cli_loc *loc)
{
    char why[160] = "";
    if (cli_loc_parse(arg, loc, why, sizeof why) != TS_OK || loc->kind != CLI_LOC_REMOTE ||
        loc->key[0] != 0) {
        fprintf(stderr, "tessera: \"%s\": %s\n", arg, why[0] ? why : "expected ts://bucket");
        return -1;
    }
    return 0;
}

static int bucket_cmd(int argc, char **argv, bool make)
{
    const struct cli_spec *spec = make ? &mb_spec : &rb_spec;
    /* mb's table starts at B_ACCESS; shift indexes so both read the same enum. */
    size_t base = make ? B_ACCESS : 0;
    struct cli_args a;
    struct cli_loc loc;
    struct cli_session s;
    int rc;
    if (!cli_args_run(spec, argc, argv, 1, &a, &rc)) {
        return rc;
    }
    if (bucket_arg(a.positional[0], &loc) != 0) {
        return CLI_EXIT_USAGE;
    }
    rc = cli_session_open(&s, cli_args_get(&a, B_CONFIG_DIR - base),
                          cli_args_get(&a, B_ACCESS - base), true);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    char what[128];
    snprintf(what, sizeof what, "%s bucket \"%s\"", make ? "creating" : "removing", loc.bucket);
    ul_err err = make ? ul_bucket_create(s.project, loc.bucket, NULL)
                      : ul_bucket_delete(s.project, loc.bucket, !make && a.set[B_FORCE]);
    if (err == UL_ERR_EXISTS) {
        fprintf(stderr, "tessera: bucket \"%s\" already exists\n", loc.bucket);
        rc = CLI_EXIT_ERROR;
    } else if (err == UL_ERR_NOT_FOUND) {
        fprintf(stderr, "tessera: no such bucket \"%s\"\n", loc.bucket);
        rc = CLI_EXIT_NOT_FOUND;
    } else if (err == UL_ERR_NOT_EMPTY) {
        fprintf(stderr,
                "tessera: bucket \"%s\" is not empty (remove its objects, or use "
                "--force)\n",
                loc.bucket);
        rc = CLI_EXIT_ERROR;
    } else if (err != UL_OK) {
        rc = cli_session_fail(&s, err, what);
    } else {
        printf("%s bucket ts://%s\n", make ? "created" : "removed", loc.bucket);
    }
    cli_session_close(&s);
    return rc;
}

int cmd_mb(int argc, char **argv)
{
    return bucket_cmd(argc, argv, true);
}

int cmd_rb(int argc, char **argv)
{
    return bucket_cmd(argc, argv, false);
}
