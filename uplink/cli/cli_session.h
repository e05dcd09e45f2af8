/*
 * What every network command of the tessera CLI starts with: the config directory, the access
 * named by --access (a saved name or grant text; default: the access in use) parsed through the
 * public uplink API, and an open project. Failures are reported on stderr with a cause and the
 * matching exit code (cli_exit.h).
 */
#ifndef TS_CLI_SESSION_H
#define TS_CLI_SESSION_H

#include <stdbool.h>

#include "base/error.h"
#include "cli/cli_config.h"
#include "tessera/uplink.h"

/* Option-table rows shared by the commands. */
#define CLI_OPT_ACCESS                                                                             \
    {                                                                                              \
        "access", 0, CLI_VALUE, "A", "access grant or saved access name (default: the one in use)" \
    }
#define CLI_OPT_CONFIG_DIR                                                                         \
    {                                                                                              \
        "config-dir", 0, CLI_VALUE, "D",                                                           \
            "config directory (default: $TESSERA_CONFIG_DIR or "                                   \
            "~/.config/tessera)"                                                                   \
    }

struct cli_session {
    struct cli_config config;
    struct ul_access *access;   /* NULL until loaded */
    struct ul_project *project; /* NULL unless opened */
};

/* Resolves the config dir, loads and parses the access and, when open_project, opens the project.
 * Returns 0, or prints the cause and returns an exit code (s is then closed). */
int cli_session_open(struct cli_session *s, const char *config_dir, const char *access_arg,
                     bool open_project);
/* Only the config directory (access commands that need no grant). Same return convention. */
int cli_session_config(struct cli_session *s, const char *config_dir);
void cli_session_close(struct cli_session *s);

/* Reports a failed library call about `what` (satellite URL named for network causes, the
 * library's detail appended) and returns the exit code. */
int cli_session_fail(const struct cli_session *s, ts_err err, const char *what);

#endif
