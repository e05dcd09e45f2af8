/*
 * Table-driven, bounded command-line parsing for the tessera CLI. Each command describes its
 * options in a static table (struct cli_opt) and its positional arguments by count; cli_args_parse
 * walks argv once, without getopt's reordering or global state:
 *   --name value | --name=value   an option with a value (the value is taken verbatim, even "-x")
 *   --flag | -f                    a flag (short forms are single letters; no bundling like -rf)
 *   -                              a positional argument (stdin or stdout for cp)
 *   --                             everything after it is positional
 * Limits: CLI_OPTS_MAX options per table, CLI_OPT_VALUES_MAX values of a repeated option and
 * CLI_POSITIONAL_MAX positional arguments; past them parsing fails with a usage message.
 */
#ifndef TS_CLI_ARGS_H
#define TS_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CLI_OPTS_MAX 24
#define CLI_OPT_VALUES_MAX 64 /* e.g. --prefix given many times; a caveat holds at most 64 */
#define CLI_POSITIONAL_MAX 64

enum cli_opt_kind {
    CLI_FLAG,   /* no value */
    CLI_VALUE,  /* one value; given twice is a usage error */
    CLI_REPEAT, /* a value, may be given up to CLI_OPT_VALUES_MAX times */
};

struct cli_opt {
    const char *name; /* long name without dashes ("recursive") */
    char short_name;  /* 'r' for -r, or 0 */
    enum cli_opt_kind kind;
    const char *value_name; /* shown in help ("N", "T"), NULL for flags */
    const char *help;       /* one line */
};

/* A command's grammar. usage is the synopsis after "tessera " ("cp SRC DST [options]"). */
struct cli_spec {
    const char *usage;
    const char *summary; /* one sentence */
    const struct cli_opt *opts;
    size_t opt_count; /* <= CLI_OPTS_MAX */
    size_t positional_min, positional_max;
    const char *notes; /* extra help text after the options, or NULL */
};

/* The parsed command line; pointers borrow argv. Index options by their position in the table. */
struct cli_args {
    bool help; /* --help or -h was given: print usage, ignore the rest */
    bool set[CLI_OPTS_MAX];
    const char *value[CLI_OPTS_MAX][CLI_OPT_VALUES_MAX]; /* value[i][0] for CLI_VALUE */
    size_t value_count[CLI_OPTS_MAX];
    const char *positional[CLI_POSITIONAL_MAX];
    size_t positional_count;
};

/* Parses argv[first..argc) against spec into *out. Returns 0, or -1 after writing a one-line
 * reason ("unknown option --foo", "--range needs a value", "too many arguments") to err. */
int cli_args_parse(const struct cli_spec *spec, int argc, char **argv, int first,
                   struct cli_args *out, char *err, size_t err_size);

/* The value of option i, or NULL when it was not given. */
const char *cli_args_get(const struct cli_args *a, size_t i);

/* Prints "usage: tessera <usage>", the summary, the option table and notes. */
void cli_spec_print(const struct cli_spec *spec, FILE *out);

/* Parses argv against spec and handles the two outcomes every command shares: --help prints usage
 * on stdout (*rc = 0), a bad command line prints the reason and usage on stderr (*rc = 2).
 * Returns true when the command should go on. */
bool cli_args_run(const struct cli_spec *spec, int argc, char **argv, int first,
                  struct cli_args *out, int *rc);

#endif
