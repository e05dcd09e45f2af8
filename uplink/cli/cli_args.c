/* Table-driven argument parsing (see cli_args.h). */
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "cli/cli.h"
#include "cli/cli_args.h"

/* Finds the long option named by name[0..len), or -1. */
static int find_long(const struct cli_spec *spec, const char *name, size_t len)
{
    for (size_t i = 0; i < spec->opt_count; i++) {
        if (strlen(spec->opts[i].name) == len && memcmp(spec->opts[i].name, name, len) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static int find_short(const struct cli_spec *spec, char c)
{
    for (size_t i = 0; i < spec->opt_count; i++) {
        if (spec->opts[i].short_name != 0 && spec->opts[i].short_name == c) {
            return (int)i;
        }
    }
    return -1;
}

/* Records option idx with value (NULL for flags). */
static int store(const struct cli_spec *spec, struct cli_args *out, int idx, const char *value,
                 char *err, size_t err_size)
{
    const struct cli_opt *o = &spec->opts[idx];
    if (o->kind == CLI_FLAG) {
        out->set[idx] = true;
        return 0;
    }
    size_t cap = o->kind == CLI_VALUE ? 1 : CLI_OPT_VALUES_MAX;
    if (out->value_count[idx] >= cap) {
        snprintf(err, err_size, "--%s given too many times", o->name);
        return -1;
    }
    out->set[idx] = true;
    out->value[idx][out->value_count[idx]++] = value;
    return 0;
}

/* One argument starting with "-" (not "-" or "--"): an option, maybe consuming argv[*i + 1]. */
static int parse_option(const struct cli_spec *spec, int argc, char **argv, int *i,
                        struct cli_args *out, char *err, size_t err_size)
{
    const char *arg = argv[*i];
    int idx;
    const char *inline_value = NULL;
    if (arg[1] == '-') {
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
        idx = find_long(spec, name, len);
        inline_value = eq != NULL ? eq + 1 : NULL;
    } else {
        idx = arg[2] == 0 ? find_short(spec, arg[1]) : -1;
    }
    if (idx < 0) {
        snprintf(err, err_size, "unknown option %s", arg);
        return -1;
    }
    const struct cli_opt *o = &spec->opts[idx];
    if (o->kind == CLI_FLAG) {
        if (inline_value != NULL) {
            snprintf(err, err_size, "--%s takes no value", o->name);
            return -1;
        }
        return store(spec, out, idx, NULL, err, err_size);
    }
    if (inline_value == NULL) {
        if (*i + 1 >= argc) {
            snprintf(err, err_size, "--%s needs a value", o->name);
            return -1;
        }
        *i += 1;
        inline_value = argv[*i];
    }
    return store(spec, out, idx, inline_value, err, err_size);
}

int cli_args_parse(const struct cli_spec *spec, int argc, char **argv, int first,
                   struct cli_args *out, char *err, size_t err_size)
{
    TS_ASSERT(spec->opt_count <= CLI_OPTS_MAX);
    memset(out, 0, sizeof(*out));
    bool options_done = false;
    for (int i = first; i < argc; i++) {
        const char *arg = argv[i];
        if (!options_done && (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)) {
            out->help = true;
            return 0;
        }
        if (!options_done && strcmp(arg, "--") == 0) {
            options_done = true;
            continue;
        }
        if (!options_done && arg[0] == '-' && arg[1] != 0) {
            if (parse_option(spec, argc, argv, &i, out, err, err_size) != 0) {
                return -1;
            }
            continue;
        }
        if (out->positional_count >= spec->positional_max ||
            out->positional_count >= CLI_POSITIONAL_MAX) {
            snprintf(err, err_size, "too many arguments (at most %zu)", spec->positional_max);
            return -1;
        }
        out->positional[out->positional_count++] = arg;
    }
    if (out->positional_count < spec->positional_min) {
        snprintf(err, err_size, "missing argument%s (need %zu)",
                 spec->positional_min > 1 ? "s" : "", spec->positional_min);
        return -1;
    }
    return 0;
}

const char *cli_args_get(const struct cli_args *a, size_t i)
{
    TS_ASSERT(i < CLI_OPTS_MAX);
    return a->value_count[i] > 0 ? a->value[i][0] : NULL;
}

void cli_spec_print(const struct cli_spec *spec, FILE *out)
{
    fprintf(out, "usage: tessera %s\n%s\n", spec->usage, spec->summary);
    if (spec->opt_count > 0) {
        fprintf(out, "\noptions:\n");
    }
    for (size_t i = 0; i < spec->opt_count; i++) {
        const struct cli_opt *o = &spec->opts[i];
        char left[64], short_form[8] = "    ";
        if (o->short_name != 0) {
            snprintf(short_form, sizeof short_form, "-%c, ", o->short_name);
        }
        snprintf(left, sizeof left, "%s--%s%s%s", short_form, o->name, o->value_name ? " " : "",
                 o->value_name ? o->value_name : "");
        fprintf(out, "  %-26s %s%s\n", left, o->help, o->kind == CLI_REPEAT ? " (repeatable)" : "");
    }
    if (spec->notes != NULL) {
        fprintf(out, "\n%s", spec->notes);
    }
}

bool cli_args_run(const struct cli_spec *spec, int argc, char **argv, int first,
                  struct cli_args *out, int *rc)
{
    char err[160];
    if (cli_args_parse(spec, argc, argv, first, out, err, sizeof err) != 0) {
        fprintf(stderr, "tessera: %s\n\n", err);
        cli_spec_print(spec, stderr);
        *rc = CLI_EXIT_USAGE;
        return false;
    }
    if (out->help) {
        cli_spec_print(spec, stdout);
        *rc = CLI_EXIT_OK;
        return false;
    }
    return true;
}
