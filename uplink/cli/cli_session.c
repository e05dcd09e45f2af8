/* Config dir + access + project for the CLI's network commands (see cli_session.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/log.h"
#include "cli/cli.h"
#include "cli/cli_exit.h"
#include "cli/cli_session.h"

#define USER_AGENT "tessera-cli/0.1"

int cli_session_config(struct cli_session *s, const char *config_dir)
{
    memset(s, 0, sizeof(*s));
    /* The library logs node-level trouble it recovers from; the user reads our one-line verdict
     * instead unless TS_LOG_LEVEL asks for more. */
    if (getenv("TS_LOG_LEVEL") == NULL) {
        ts_log_set_level(TS_LOG_ERROR);
    }
    ts_err err = cli_config_open(&s->config, config_dir);
    if (err != TS_OK) {
        fprintf(stderr,
                "tessera: no config directory: set --config-dir, TESSERA_CONFIG_DIR or "
                "HOME (%s)\n",
                ts_strerror(err));
        return CLI_EXIT_ERROR;
    }
    return CLI_EXIT_OK;
}

int cli_session_open(struct cli_session *s, const char *config_dir, const char *access_arg,
                     bool open_project)
{
    int rc = cli_session_config(s, config_dir);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    struct ts_buf grant;
    ts_buf_init(&grant, TS_ACCESS_GRANT_TEXT_MAX + 2);
    char why[PATH_MAX + 160] = "";
    ts_err err = cli_access_resolve(&s->config, access_arg, &grant, why, sizeof why);
    if (err != TS_OK) {
        ts_buf_release_secret(&grant);
        if (why[0] != 0) {
            fprintf(stderr, "tessera: %s\n", why);
            return cli_exit_code(err);
        }
        return cli_report(err, "reading the access", NULL, NULL);
    }
    err = ul_access_parse((const char *)grant.data, &s->access);
    ts_buf_release_secret(&grant);
    if (err != TS_OK) {
        fprintf(stderr, "tessera: the access grant does not parse: %s\n", ul_strerror(err));
        return CLI_EXIT_USAGE;
    }
    if (open_project) {
        struct ul_config cfg = {.user_agent = USER_AGENT};
        err = ul_project_open(s->access, &cfg, &s->project);
        if (err != TS_OK) {
            rc = cli_session_fail(s, err, "opening the project");
            cli_session_close(s);
            return rc;
        }
    }
    return CLI_EXIT_OK;
}

/* TESSERA_STATS=1: one line of the project's counters on stderr (benchmarks read it). */
static void print_stats(struct ul_project *project)
{
    const char *want = getenv("TESSERA_STATS");
    if (project == NULL || want == NULL || want[0] == 0 || strcmp(want, "0") == 0) {
        return;
    }
    struct ul_stats st;
    ul_project_stats(project, &st);
    fprintf(stderr, "tessera: stats tls_handshakes=%llu connections_idle=%llu buffer_slots=%llu\n",
            (unsigned long long)st.tls_handshakes, (unsigned long long)st.connections_idle,
            (unsigned long long)st.buffer_slots);
}

void cli_session_close(struct cli_session *s)
{
    print_stats(s->project);
    ul_project_close(s->project);
    ul_access_free(s->access);
    s->project = NULL;
    s->access = NULL;
}

int cli_session_fail(const struct cli_session *s, ts_err err, const char *what)
{
    const char *sat = s->access != NULL ? ul_access_satellite_url(s->access) : NULL;
    return cli_report(err, what, sat, ul_error_detail());
}
