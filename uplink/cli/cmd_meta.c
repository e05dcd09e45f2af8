/* tessera meta get: an object's user metadata as a JSON object. */
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

int cmd_meta(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "get") != 0) {
        bool help = argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
        cli_spec_print(&meta_spec, help ? stdout : stderr);
        return help ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
    struct cli_args a;
    struct cli_loc loc;
    struct cli_session s;
    int rc;
    if (!cli_args_run(&meta_spec, argc, argv, 2, &a, &rc)) {
        return rc;
    }
    char why[160] = "";
    if (cli_loc_parse(a.positional[0], &loc, why, sizeof why) != TS_OK ||
        loc.kind != CLI_LOC_REMOTE || loc.key[0] == 0) {
        fprintf(stderr, "tessera: \"%s\": %s\n", a.positional[0],
                why[0] ? why : "expected ts://bucket/key");
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
