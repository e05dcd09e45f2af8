/*
 * `tessera access restrict` and `tessera share`: derive a restricted grant offline (a caveat on
 * the API key, only the keys of the shared prefixes) through ul_access_share and print it.
 * restrict starts from everything allowed and takes away; share starts read-only (download +
 * list) and needs at least one prefix.
 */
#ifndef TS_CLI_RESTRICT_H
#define TS_CLI_RESTRICT_H

#include <stdbool.h>

/* argv[first..] are the options and prefixes. Returns the exit code. */
int cli_restrict_main(int argc, char **argv, int first, bool share);

#endif
