/* tessera share: a restricted, read-only (by default) grant for some prefixes (cli_restrict.c).
 * Registering the grant for public URLs comes with the gateway. */
#include "cli/cli.h"
#include "cli/cli_restrict.h"

int cmd_share(int argc, char **argv)
{
    return cli_restrict_main(argc, argv, 1, true);
}
