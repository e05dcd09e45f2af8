/*
 * How the tessera CLI turns a failure into an exit code and a message that names the cause.
 * Exit codes (enum cli_exit in cli/cli.h): 0 ok, 1 other failure, 2 usage, 3 not found,
 * 4 permission denied, 5 network/unreachable, 6 not enough storage nodes. Messages read
 * "tessera: <what>: <cause>" with the library's detail of the failure appended when it has one.
 */
#ifndef TS_CLI_EXIT_H
#define TS_CLI_EXIT_H

#include <stdio.h>

#include "base/error.h"

/* The exit code for an error category. */
int cli_exit_code(ts_err err);

/* The cause as the user should read it ("denied by the access's restrictions", "not enough
 * storage nodes", "unreachable (timed out)"); never NULL. */
const char *cli_cause(ts_err err);

/* Prints "tessera: <what>: <cause>[ (<detail>)]" on stderr and returns cli_exit_code(err).
 * satellite (may be NULL) is named for network errors: "satellite unreachable at <url>". detail
 * (may be NULL or "") is the library's specifics. */
int cli_report(ts_err err, const char *what, const char *satellite, const char *detail);

#endif
