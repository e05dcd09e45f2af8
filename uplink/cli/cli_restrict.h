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

/* share --url: receives the serialized grant and the shared locations instead of having the
 * grant printed (the summary is still printed on stderr). Returns the exit code. */
struct cli_loc;
typedef int (*cli_restrict_sink)(const char *grant, const struct cli_loc *locs, int count,
                                 void *cls);
/* cli_restrict_main with the grant handed to sink (NULL: printed). */
int cli_restrict_run(int argc, char **argv, int first, bool share, cli_restrict_sink sink,
                     void *cls);

#endif
