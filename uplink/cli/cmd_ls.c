/* tessera ls: buckets (no argument) or the objects of a bucket/prefix. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "cli/cli.h"
#include "cli/cli_args.h"
#include "cli/cli_exit.h"
#include "cli/cli_parse.h"
#include "cli/cli_session.h"

enum { L_RECURSIVE, L_PENDING, L_ACCESS, L_CONFIG_DIR, L_COUNT };
static const struct cli_opt ls_opts[L_COUNT] = {
    [L_RECURSIVE] = {"recursive", 'r', CLI_FLAG, NULL, "list every key under the prefix"},
    [L_PENDING] = {"pending", 0, CLI_FLAG, NULL,
                   "list the multipart uploads in progress under ts://bucket[/prefix]"},
    [L_ACCESS] = CLI_OPT_ACCESS,
    [L_CONFIG_DIR] = CLI_OPT_CONFIG_DIR,
};
static const struct cli_spec ls_spec = {
    .usage = "ls [ts://bucket[/prefix]] [-r|--recursive] [--pending]",
    .summary = "List buckets, or the objects and prefixes of a bucket.",
    .opts = ls_opts,
    .opt_count = L_COUNT,
    .positional_max = 1,
    .notes =
        "Output: buckets as \"CREATED NAME\"; objects as \"OBJ CREATED SIZE KEY\", prefixes as\n"
        "\"PRE KEY/\". Keys are listed in the order of their encrypted forms, not "
        "alphabetically.\n"
        "--pending lists multipart uploads in progress (every key under the prefix) as\n"
        "\"UPL CREATED KEY UPLOAD-ID\".\n",
};

static int list_buckets(struct cli_session *s)
{
    struct ul_bucket_iter *it = NULL;
    ul_err err = ul_bucket_list(s->project, NULL, &it);
    const struct ul_bucket_info *b = NULL;
    while (err == UL_OK && (err = ul_bucket_iter_next(it, &b)) == UL_OK && b != NULL) {
        char t[40];
        cli_time_format(b->created_s, t, sizeof t);
        printf("%s  %s\n", t, b->name);
    }
    ul_bucket_iter_free(it);
    return err == UL_OK ? CLI_EXIT_OK : cli_session_fail(s, err, "listing buckets");
}

/* "no such bucket" when an empty listing's bucket does not exist, else the listing's outcome. */
static int listing_end(struct cli_session *s, const struct cli_loc *loc, const char *prefix,
                       ul_err err, size_t items)
{
    struct ul_bucket_info info;
    /* An empty listing does not tell a missing bucket from an empty one: ask. */
    if (err == UL_OK && items == 0 &&
        ul_bucket_stat(s->project, loc->bucket, &info) == UL_ERR_NOT_FOUND) {
        err = UL_ERR_NOT_FOUND;
    }
    if (err == UL_ERR_NOT_FOUND) {
        fprintf(stderr, "tessera: no such bucket \"%s\"\n", loc->bucket);
        return CLI_EXIT_NOT_FOUND;
    }
    if (err != UL_OK) {
        char what[TS_OBJECT_KEY_MAX + 128];
        snprintf(what, sizeof what, "listing ts://%s/%s", loc->bucket, prefix);
        return cli_session_fail(s, err, what);
    }
    return CLI_EXIT_OK;
}

static int list_objects(struct cli_session *s, const struct cli_loc *loc, bool recursive)
{
    char prefix[TS_OBJECT_KEY_MAX + 2];
    size_t n = strlen(loc->key);
    /* Listing works on whole components: "ts://b/photos" lists "photos/". */
    snprintf(prefix, sizeof prefix, "%s%s", loc->key, n > 0 && loc->key[n - 1] != '/' ? "/" : "");
    struct ul_list_options opts = {.prefix = prefix, .recursive = recursive};
    struct ul_object_iter *it = NULL;
    ul_err err = ul_object_list(s->project, loc->bucket, &opts, &it);
    const struct ul_object_info *o = NULL;
    size_t items = 0;
    while (err == UL_OK && (err = ul_object_iter_next(it, &o)) == UL_OK && o != NULL) {
        items++;
        if (o->is_prefix) {
            printf("PRE  %s\n", o->key);
            continue;
        }
        char t[40];
        cli_time_format(o->created_s, t, sizeof t);
        printf("OBJ  %s  %12" PRIu64 "  %s\n", t, o->size, o->key);
    }
    ul_object_iter_free(it);
    return listing_end(s, loc, prefix, err, items);
}

/* Multipart uploads in progress under the prefix (always every key below it). */
static int list_pending(struct cli_session *s, const struct cli_loc *loc)
{
    char prefix[TS_OBJECT_KEY_MAX + 2];
    size_t n = strlen(loc->key);
    snprintf(prefix, sizeof prefix, "%s%s", loc->key, n > 0 && loc->key[n - 1] != '/' ? "/" : "");
    struct ul_multipart_list_options opts = {.prefix = prefix};
    struct ul_multipart_iter *it = NULL;
    ul_err err = ul_multipart_list(s->project, loc->bucket, &opts, &it);
    const struct ul_multipart_info *m = NULL;
    size_t items = 0;
    while (err == UL_OK && (err = ul_multipart_iter_next(it, &m)) == UL_OK && m != NULL) {
        items++;
        char t[40];
        cli_time_format(m->created_s, t, sizeof t);
        printf("UPL  %s  %s  %s\n", t, m->key, m->upload_id);
    }
    ul_multipart_iter_free(it);
    return listing_end(s, loc, prefix, err, items);
}

int cmd_ls(int argc, char **argv)
{
    struct cli_args a;
    struct cli_loc loc = {0};
    struct cli_session s;
    int rc;
    if (!cli_args_run(&ls_spec, argc, argv, 1, &a, &rc)) {
        return rc;
    }
    char why[160] = "";
    if (a.positional_count > 0 && (cli_loc_parse(a.positional[0], &loc, why, sizeof why) != TS_OK ||
                                   loc.kind != CLI_LOC_REMOTE)) {
        fprintf(stderr, "tessera: \"%s\": %s\n", a.positional[0],
                why[0] ? why : "expected ts://bucket[/prefix]");
        return CLI_EXIT_USAGE;
    }
    if (a.set[L_PENDING] && a.positional_count == 0) {
        fprintf(stderr, "tessera: --pending lists the uploads of one bucket: name ts://bucket\n");
        return CLI_EXIT_USAGE;
    }
    rc = cli_session_open(&s, cli_args_get(&a, L_CONFIG_DIR), cli_args_get(&a, L_ACCESS), true);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    if (a.positional_count == 0) {
        rc = list_buckets(&s);
    } else if (a.set[L_PENDING]) {
        rc = list_pending(&s, &loc);
    } else {
        rc = list_objects(&s, &loc, a.set[L_RECURSIVE]);
    }
    cli_session_close(&s);
    return rc;
}
