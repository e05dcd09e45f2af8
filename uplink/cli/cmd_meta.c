/* tessera meta get: an object's user metadata as a JSON object; meta set: replace it. */
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "cli/cli.h"
#include "cli/cli_args.h"
#include "cli/cli_exit.h"
#include "cli/cli_parse.h"
#include "cli/cli_session.h"
#include "cli/cli_transfer.h"

enum { M_ACCESS, M_CONFIG_DIR, M_COUNT };
static const struct cli_opt meta_opts[M_COUNT] = {
    [M_ACCESS] = CLI_OPT_ACCESS,
    [M_CONFIG_DIR] = CLI_OPT_CONFIG_DIR,
};
static const struct cli_spec meta_spec = {
    .usage = "meta get ts://bucket/key",
    .summary = "Print an object's user metadata as JSON ({\"key\": \"value\", ...}).",
    .opts = meta_opts,
    .opt_count = M_COUNT,
    .positional_min = 1,
    .positional_max = 1,
};

enum { MS_METADATA, MS_META, MS_CLEAR, MS_ACCESS, MS_CONFIG_DIR, MS_COUNT };
static const struct cli_opt meta_set_opts[MS_COUNT] = {
    [MS_METADATA] = {"metadata", 0, CLI_VALUE, "JSON", "user metadata {\"key\":\"value\",...}"},
    [MS_META] = {"meta", 0, CLI_REPEAT, "K=V", "one user metadata entry"},
    [MS_CLEAR] = {"clear", 0, CLI_FLAG, NULL, "remove every entry (when none is given)"},
    [MS_ACCESS] = CLI_OPT_ACCESS,
    [MS_CONFIG_DIR] = CLI_OPT_CONFIG_DIR,
};
static const struct cli_spec meta_set_spec = {
    .usage = "meta set ts://bucket/key [--metadata JSON] [--meta K=V ...] [--clear]",
    .summary = "Replace an object's user metadata with the entries given (data untouched).",
    .opts = meta_set_opts,
    .opt_count = MS_COUNT,
    .positional_min = 1,
    .positional_max = 1,
    .notes = "The whole map is replaced: entries not given are dropped. Without entries, --clear\n"
             "is required (so a forgotten option does not erase the metadata).\n",
};

static ts_err to_json(const struct ul_object_info *info, struct ts_buf *out)
{
    ts_err err = ts_buf_append_byte(out, '{');
    for (size_t i = 0; err == TS_OK && i < info->metadata_count; i++) {
        err = ts_buf_append_str(out, i ? ", " : "");
        if (err == TS_OK) {
            err = cli_json_string(out, info->metadata[i].key);
        }
        if (err == TS_OK) {
            err = ts_buf_append_str(out, ": ");
        }
        if (err == TS_OK) {
            err = cli_json_string(out, info->metadata[i].value);
        }
    }
    return err == TS_OK ? ts_buf_append_str(out, "}\n") : err;
}

/* The object location of meta get/set; -1 after a usage message. */
static int object_loc(const char *arg, struct cli_loc *loc)
{
    char why[160] = "";
    if (cli_loc_parse(arg, loc, why, sizeof why) != TS_OK || loc->kind != CLI_LOC_REMOTE ||
        loc->key[0] == 0) {
        fprintf(stderr, "tessera: \"%s\": %s\n", arg, why[0] ? why : "expected ts://bucket/key");
        return -1;
    }
    return 0;
}

/* The entries of --metadata and --meta into m; -1 after a usage message. */
static int entries_parse(const struct cli_args *a, struct cli_meta *m)
{
    char why[160] = "";
    const char *v = cli_args_get(a, MS_METADATA);
    if (v != NULL && cli_meta_add_json(m, v, why, sizeof why) != TS_OK) {
        fprintf(stderr, "tessera: --metadata: %s\n", why);
        return -1;
    }
    for (size_t i = 0; i < a->value_count[MS_META]; i++) {
        if (cli_meta_add_pair(m, a->value[MS_META][i], why, sizeof why) != TS_OK) {
            fprintf(stderr, "tessera: --meta \"%s\": %s\n", a->value[MS_META][i], why);
            return -1;
        }
    }
    if (m->count == 0 && !a->set[MS_CLEAR]) {
        fprintf(stderr, "tessera: give --metadata or --meta entries, or --clear to remove them "
                        "all\n");
        return -1;
    }
    if (m->count > 0 && a->set[MS_CLEAR]) {
        fprintf(stderr, "tessera: --clear takes no entries\n");
        return -1;
    }
    return 0;
}

static int meta_set(int argc, char **argv)
{
    static struct cli_args a; /* large (argument table); one per process */
    struct cli_loc loc;
    struct cli_session s;
    struct cli_meta m;
    int rc;
    if (!cli_args_run(&meta_set_spec, argc, argv, 2, &a, &rc)) {
        return rc;
    }
    cli_meta_init(&m);
    if (object_loc(a.positional[0], &loc) != 0 || entries_parse(&a, &m) != 0) {
        cli_meta_release(&m);
        return CLI_EXIT_USAGE;
    }
    struct ul_metadata_entry entries[CLI_META_ENTRIES_MAX];
    for (size_t i = 0; i < m.count; i++) {
        entries[i] = (struct ul_metadata_entry){.key = m.key[i], .value = m.value[i]};
    }
    rc = cli_session_open(&s, cli_args_get(&a, MS_CONFIG_DIR), cli_args_get(&a, MS_ACCESS), true);
    if (rc == CLI_EXIT_OK) {
        ul_err err = ul_object_update_metadata(s.project, loc.bucket, loc.key, entries, m.count);
        rc = err == UL_OK
                 ? CLI_EXIT_OK
                 : cli_object_fail(&s, err, loc.bucket, loc.key, "updating the metadata of");
        cli_session_close(&s);
    }
    cli_meta_release(&m);
    return rc;
}

int cmd_meta(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "set") == 0) {
        return meta_set(argc, argv);
    }
    if (argc < 2 || strcmp(argv[1], "get") != 0) {
        bool help = argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
        cli_spec_print(&meta_spec, help ? stdout : stderr);
        cli_spec_print(&meta_set_spec, help ? stdout : stderr);
        return help ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
    struct cli_args a;
    struct cli_loc loc;
    struct cli_session s;
    int rc;
    if (!cli_args_run(&meta_spec, argc, argv, 2, &a, &rc)) {
        return rc;
    }
    if (object_loc(a.positional[0], &loc) != 0) {
        return CLI_EXIT_USAGE;
    }
    rc = cli_session_open(&s, cli_args_get(&a, M_CONFIG_DIR), cli_args_get(&a, M_ACCESS), true);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    struct ul_object_info info;
    struct ts_buf out;
    ts_buf_init(&out, 1u << 20);
    ul_err err = ul_object_stat(s.project, loc.bucket, loc.key, &info);
    if (err != UL_OK) {
        rc = cli_object_fail(&s, err, loc.bucket, loc.key, "reading the metadata of");
    } else {
        ts_err jerr = to_json(&info, &out);
        ul_object_info_release(&info);
        rc = jerr == TS_OK ? CLI_EXIT_OK : cli_report(jerr, "formatting the metadata", NULL, NULL);
        if (rc == CLI_EXIT_OK) {
            fwrite(out.data, 1, out.len, stdout);
        }
    }
    ts_buf_release(&out);
    cli_session_close(&s);
    return rc;
}
