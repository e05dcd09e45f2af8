/* tessera share: a restricted, read-only (by default) grant for some prefixes (cli_restrict.c).
 * With --url the grant is registered with a gateway as a public share (--gateway URL or
 * TESSERA_GATEWAY_URL; cli_gateway.c) and the links are printed instead of the grant. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_gateway.h"
#include "cli/cli_parse.h"
#include "cli/cli_restrict.h"

static int print_links(const char *grant, const struct cli_loc *locs, int count, void *cls)
{
    char base[2048];
    ts_err err = cli_gateway_register(cls, grant, base, sizeof base);
    if (err != TS_OK) {
        return err == TS_ERR_CONNECT || err == TS_ERR_TIMEOUT ? CLI_EXIT_NETWORK
               : err == TS_ERR_PERMISSION_DENIED              ? CLI_EXIT_DENIED
                                                              : CLI_EXIT_ERROR;
    }
    for (int i = 0; i < count; i++) {
        size_t n = strlen(locs[i].key);
        const char *slash = n > 0 && locs[i].key[n - 1] != '/' ? "/" : "";
        printf("%s%s/%s%s\n", base, locs[i].bucket, locs[i].key, slash);
    }
    return CLI_EXIT_OK;
}

int cmd_share(int argc, char **argv)
{
    /* --url and --gateway are taken out here; everything else goes to the restrict parser. */
    const char *gateway = getenv("TESSERA_GATEWAY_URL");
    bool url = false;
    char **rest = calloc((size_t)argc + 1, sizeof(*rest));
    int n = 0, rc = CLI_EXIT_USAGE;
    if (rest == NULL) {
        return cli_fail("share", TS_ERR_NOMEM);
    }
    for (int i = 0; i < argc; i++) {
        const char *v = NULL;
        int r = i > 0 ? cli_option(argc, argv, &i, "--gateway", &v) : 0;
        if (r < 0) {
            goto done;
        }
        if (r > 0) {
            gateway = v;
        } else if (i > 0 && strcmp(argv[i], "--url") == 0) {
            url = true;
        } else {
            rest[n++] = argv[i];
        }
    }
    if (!url) {
        rc = cli_restrict_main(n, rest, 1, true);
    } else if (gateway == NULL || gateway[0] == 0) {
        fprintf(stderr, "tessera: share --url needs --gateway http://HOST:PORT (or "
                        "TESSERA_GATEWAY_URL) of a gateway run with --allow-register\n");
    } else {
        rc = cli_restrict_run(n, rest, 1, true, print_links, (void *)gateway);
    }
done:
    free(rest);
    return rc;
}
