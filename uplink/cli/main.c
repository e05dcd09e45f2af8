/* tessera: the command-line tool. Dispatches `tessera <command> ...` through the table below. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "cli/cli.h"

struct command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
};

/* One row per command; keep alphabetical. */
static const struct command commands[] = {
    {"access", "create, import, list, use, inspect, remove or restrict accesses", cmd_access},
    {"cp", "copy files to objects, objects to files (- for stdin/stdout) or objects", cmd_cp},
    {"identity", "create or show a node identity (identity create|show --help)", cmd_identity},
    {"ls", "list buckets, or the objects of ts://bucket[/prefix]", cmd_ls},
    {"mb", "make a bucket: mb ts://bucket", cmd_mb},
    {"meta", "show or replace user metadata: meta get|set ts://bucket/key", cmd_meta},
    {"mv", "move a file or object (copy, then delete the source)", cmd_mv},
    {"rb", "remove a bucket: rb ts://bucket [--force]", cmd_rb},
    {"rm", "delete an object, or a prefix with -r", cmd_rm},
    {"share", "print a restricted (read-only by default) grant for some prefixes", cmd_share},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: tessera <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < TS_ARRAY_LEN(commands); i++) {
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
    }
    cli_exit_codes_print(out);
}

int cli_fail(const char *what, ts_err err)
{
    fprintf(stderr, "tessera: %s: %s\n", what, ts_strerror(err));
    return CLI_EXIT_ERROR;
}

int cli_option(int argc, char **argv, int *i, const char *name, const char **value)
{
    const char *arg = argv[*i];
    size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0) {
        return 0;
    }
    if (arg[n] == '=') {
        *value = arg + n + 1;
        return 1;
    }
    if (arg[n] != 0) {
        return 0;
    }
    if (*i + 1 >= argc) {
        fprintf(stderr, "tessera: option %s needs a value\n", name);
        return -1;
    }
    *i += 1;
    *value = argv[*i];
    return 1;
}

int cli_parse_int(const char *text, long min, long max, long *out)
{
    char *end = NULL;
    long v = strtol(text, &end, 10);
    if (end == text || *end != 0 || v < min || v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

ts_err cli_config_path(const char *leaf, char *out, size_t out_size)
{
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    int n;
    if (xdg != NULL && xdg[0] != 0) {
        n = snprintf(out, out_size, "%s/tessera/%s", xdg, leaf);
    } else if (home != NULL && home[0] != 0) {
        n = snprintf(out, out_size, "%s/.config/tessera/%s", home, leaf);
    } else {
        return TS_ERR_CONFIG;
    }
    return n < 0 || (size_t)n >= out_size ? TS_ERR_TOO_LARGE : TS_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    for (size_t i = 0; i < TS_ARRAY_LEN(commands); i++) {
        if (strcmp(argv[1], commands[i].name) == 0) {
            return commands[i].run(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "tessera: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return CLI_EXIT_USAGE;
}
