/* tessera rm: delete one object, or every object under a prefix with -r. */
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "cli/cli.h"
#include "cli/cli_args.h"
#include "cli/cli_exit.h"
#include "cli/cli_parse.h"
#include "cli/cli_session.h"
#include "cli/cli_transfer.h"

enum { R_RECURSIVE, R_ACCESS, R_CONFIG_DIR, R_COUNT };
static const struct cli_opt rm_opts[R_COUNT] = {
    [R_RECURSIVE] = {"recursive", 'r', CLI_FLAG, NULL, "delete every object under the prefix"},
    [R_ACCESS] = CLI_OPT_ACCESS,
    [R_CONFIG_DIR] = CLI_OPT_CONFIG_DIR,
};
static const struct cli_spec rm_spec = {
    .usage = "rm ts://bucket/key [-r]",
    .summary = "Delete an object (with -r: every object under ts://bucket/prefix).",
    .opts = rm_opts,
    .opt_count = R_COUNT,
    .positional_min = 1,
    .positional_max = 1,
    .notes = "Storage nodes reclaim the pieces later (garbage collection).\n",
};

static int remove_prefix(struct cli_session *s, const struct cli_loc *loc)
{
    char prefix[TS_OBJECT_KEY_MAX + 2];
    size_t n = strlen(loc->key);
    snprintf(prefix, sizeof prefix, "%s%s", loc->key, n > 0 && loc->key[n - 1] != '/' ? "/" : "");
    struct ul_list_options opts = {.prefix = prefix, .recursive = true};
    struct ul_object_iter *it = NULL;
    ul_err err = ul_object_list(s->project, loc->bucket, &opts, &it);
    const struct ul_object_info *o = NULL;
    size_t deleted = 0;
    int rc = CLI_EXIT_OK;
    while (err == UL_OK && (err = ul_object_iter_next(it, &o)) == UL_OK && o != NULL) {
        if (o->is_prefix) {
            continue;
        }
        ul_err del = ul_object_delete(s->project, loc->bucket, o->key);
        if (del == UL_OK) {
            printf("deleted ts://%s/%s\n", loc->bucket, o->key);
            deleted++;
        } else if (del != UL_ERR_NOT_FOUND) { /* gone meanwhile: nothing to do */
            rc = cli_object_fail(s, del, loc->bucket, o->key, "deleting");
            break;
        }
    }
    ul_object_iter_free(it);
    if (rc == CLI_EXIT_OK && err != UL_OK) {
        rc = cli_object_fail(s, err, loc->bucket, prefix, "listing");
    }
    if (rc == CLI_EXIT_OK && deleted == 0) {
        fprintf(stderr, "tessera: no objects under \"ts://%s/%s\"\n", loc->bucket, prefix);
        rc = CLI_EXIT_NOT_FOUND;
    }
    return rc;
}

int cmd_rm(int argc, char **argv)
{
    struct cli_args a;
    struct cli_loc loc;
    struct cli_session s;
    int rc;
    if (!cli_args_run(&rm_spec, argc, argv, 1, &a, &rc)) {
        return rc;
    }
    char why[160] = "";
    if (cli_loc_parse(a.positional[0], &loc, why, sizeof why) != TS_OK ||
        loc.kind != CLI_LOC_REMOTE) {
        fprintf(stderr, "tessera: \"%s\": %s\n", a.positional[0],
                why[0] ? why : "expected ts://bucket/key");
        return CLI_EXIT_USAGE;
    }
    bool rec = a.set[R_RECURSIVE];
    if (!rec && (loc.key[0] == 0 || loc.key[strlen(loc.key) - 1] == '/')) {
        fprintf(stderr,
                "tessera: \"%s\" names a bucket or prefix: use -r to delete everything "
                "under it, or rb to remove a bucket\n",
                a.positional[0]);
        return CLI_EXIT_USAGE;
    }
    rc = cli_session_open(&s, cli_args_get(&a, R_CONFIG_DIR), cli_args_get(&a, R_ACCESS), true);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    if (rec) {
        rc = remove_prefix(&s, &loc);
    } else {
        ul_err err = ul_object_delete(s.project, loc.bucket, loc.key);
        rc = err == UL_OK ? CLI_EXIT_OK : cli_object_fail(&s, err, loc.bucket, loc.key, "deleting");
        if (rc == CLI_EXIT_OK) {
            printf("deleted ts://%s/%s\n", loc.bucket, loc.key);
        }
    }
    cli_session_close(&s);
    return rc;
}
