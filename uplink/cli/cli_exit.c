/* Exit codes and failure messages of the tessera CLI (see cli_exit.h). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "cli/cli.h"
#include "cli/cli_exit.h"

int cli_exit_code(ts_err err)
{
    switch (err) {
    case TS_OK:
        return CLI_EXIT_OK;
    case TS_ERR_INVALID_ARGUMENT:
        return CLI_EXIT_USAGE;
    case TS_ERR_NOT_FOUND:
        return CLI_EXIT_NOT_FOUND;
    case TS_ERR_PERMISSION_DENIED:
    case TS_ERR_AUTH_FAILED:
    case TS_ERR_EXPIRED:
    case TS_ERR_NOT_YET_VALID:
    case TS_ERR_REVOKED:
    case TS_ERR_UNTRUSTED:
        return CLI_EXIT_DENIED;
    case TS_ERR_CONNECT:
    case TS_ERR_TIMEOUT:
    case TS_ERR_TLS:
    case TS_ERR_CLOSED:
    case TS_ERR_UNAVAILABLE:
    case TS_ERR_BUSY:
        return CLI_EXIT_NETWORK;
    case TS_ERR_NOT_ENOUGH_SHARES:
    case TS_ERR_NO_SPACE:
        return CLI_EXIT_NODES;
    default:
        return CLI_EXIT_ERROR;
    }
}

const char *cli_cause(ts_err err)
{
    switch (err) {
    case TS_ERR_PERMISSION_DENIED:
        return "denied by the access's restrictions";
    case TS_ERR_AUTH_FAILED:
        return "denied: the satellite does not accept this API key, or data failed "
               "authentication";
    case TS_ERR_EXPIRED:
        return "denied by the access's restrictions: it has expired";
    case TS_ERR_NOT_YET_VALID:
        return "denied by the access's restrictions: it is not valid yet";
    case TS_ERR_REVOKED:
        return "denied: the API key was revoked";
    case TS_ERR_NOT_ENOUGH_SHARES:
        return "not enough storage nodes";
    case TS_ERR_NO_SPACE:
        return "not enough storage nodes with free space";
    case TS_ERR_TIMEOUT:
        return "unreachable (timed out)";
    case TS_ERR_CONNECT:
        return "unreachable (connection refused or no route)";
    case TS_ERR_TLS:
        return "unreachable (TLS handshake failed: wrong node ID in the URL?)";
    case TS_ERR_CLOSED:
        return "unreachable (the connection was closed)";
    case TS_ERR_UNAVAILABLE:
    case TS_ERR_BUSY:
        return "unavailable (busy), retry later";
    default:
        return ts_strerror(err);
    }
}

int cli_report(ts_err err, const char *what, const char *satellite, const char *detail)
{
    int code = cli_exit_code(err);
    const char *cause = cli_cause(err);
    bool has_detail = detail != NULL && detail[0] != 0 && strstr(detail, cause) == NULL;
    if (code == CLI_EXIT_NETWORK && satellite != NULL) {
        bool busy = err == TS_ERR_BUSY || err == TS_ERR_UNAVAILABLE;
        fprintf(stderr, "tessera: %s: satellite %s at %s (%s)\n", what,
                busy ? "unavailable" : "unreachable", satellite,
                detail != NULL && detail[0] != 0 ? detail : ts_strerror(err));
        return code;
    } else {
        fprintf(stderr, "tessera: %s: %s", what, cause);
    }
    if (has_detail) {
        fprintf(stderr, " (%s)", detail);
    }
    fprintf(stderr, "\n");
    return code;
}

void cli_exit_codes_print(FILE *out)
{
    fprintf(out, "\nexit codes:\n"
                 "  0  success\n"
                 "  1  the operation failed (other causes)\n"
                 "  2  bad command line or argument\n"
                 "  3  not found (bucket, object or access)\n"
                 "  4  permission denied (the access's restrictions, expired or revoked key)\n"
                 "  5  network: satellite or nodes unreachable, timed out\n"
                 "  6  not enough storage nodes\n"
                 "\nevery command takes --help; see docs/cli.md\n");
}
