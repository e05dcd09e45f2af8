/*
 * The `tessera` command-line tool: main.c dispatches `tessera <command> ...` through a table of
 * commands, one cmd_<name>.c file each. To add a command: write cmd_<name>.c with
 * `int cmd_<name>(int argc, char **argv)` (argv[0] is the command name), declare it below and add
 * one row to the table in main.c. Commands print results on stdout and errors on stderr, and
 * return an exit code from enum cli_exit.
 */
#ifndef TS_CLI_CLI_H
#define TS_CLI_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "base/error.h"

enum cli_exit {
    CLI_EXIT_OK = 0,
    CLI_EXIT_ERROR = 1,     /* the operation failed (message on stderr) */
    CLI_EXIT_USAGE = 2,     /* bad command line (usage on stderr) */
    CLI_EXIT_NOT_FOUND = 3, /* no such bucket, object or access */
    CLI_EXIT_DENIED = 4,    /* denied by the access's restrictions (or expired/revoked key) */
    CLI_EXIT_NETWORK = 5,   /* satellite or nodes unreachable, timed out */
    CLI_EXIT_NODES = 6,     /* not enough storage nodes to store or rebuild the data */
};

/* Prints "tessera: <what>: <ts_strerror(err)>" on stderr and returns CLI_EXIT_ERROR. */
int cli_fail(const char *what, ts_err err);

/* Option parsing helpers for "--name value" and "--name=value". If argv[*i] is option `name`,
 * stores its value in *value (advancing *i past a separate value) and returns 1; returns -1 when
 * the value is missing; 0 when argv[*i] is another argument. */
int cli_option(int argc, char **argv, int *i, const char *name, const char **value);
/* Parses a decimal integer in [min, max]; returns 0 on success, -1 otherwise. */
int cli_parse_int(const char *text, long min, long max, long *out);

/* The default directory of a config item: $XDG_CONFIG_HOME/tessera/<leaf> or
 * $HOME/.config/tessera/<leaf>. Returns TS_ERR_CONFIG when neither variable is set. */
TS_WARN_UNUSED ts_err cli_config_path(const char *leaf, char *out, size_t out_size);

/* Commands (argv[0] is the command name). */
int cmd_identity(int argc, char **argv);
/* Accesses, sharing, buckets and objects (see docs/cli.md). */
int cmd_access(int argc, char **argv);
int cmd_share(int argc, char **argv);
int cmd_mb(int argc, char **argv);
int cmd_rb(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_cp(int argc, char **argv);
int cmd_mv(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_meta(int argc, char **argv);
/* Prints the exit-code table (for `tessera help`). */
void cli_exit_codes_print(FILE *out);

#endif
