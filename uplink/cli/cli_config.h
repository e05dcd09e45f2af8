/*
 * The tessera CLI's config directory and its named accesses. The directory is, first found:
 * --config-dir D, $TESSERA_CONFIG_DIR, $XDG_CONFIG_HOME/tessera, $HOME/.config/tessera. Inside:
 *   accesses/<name>   one serialized access grant per file, mode 0600, written atomically
 *   access-in-use     the name of the access commands use when --access is not given
 * The directories are created (0700) on the first save. Names are 1..CLI_ACCESS_NAME_MAX of
 * A-Z a-z 0-9 '-' '_' '.', not starting with '.', so a name is always one plain file name.
 */
#ifndef TS_CLI_CONFIG_H
#define TS_CLI_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/error.h"

#define CLI_ACCESS_NAME_MAX 64
#define CLI_ACCESSES_MAX 256 /* names listed at most; more files fail with TS_ERR_TOO_LARGE */

struct cli_config {
    char dir[PATH_MAX];
};

/* Sorted names of the saved accesses. */
struct cli_access_names {
    size_t count;
    char name[CLI_ACCESSES_MAX][CLI_ACCESS_NAME_MAX + 1];
};

/* Resolves the directory (override may be NULL); nothing is created. TS_ERR_CONFIG when no
 * variable names a home, TS_ERR_TOO_LARGE for a path past PATH_MAX. */
TS_WARN_UNUSED ts_err cli_config_open(struct cli_config *c, const char *override);

bool cli_access_name_valid(const char *name);

/* Saves grant text under name. TS_ERR_EXISTS when the name is taken and overwrite is false,
 * TS_ERR_INVALID_ARGUMENT for a bad name, TS_ERR_IO when the directory cannot be written. */
TS_WARN_UNUSED ts_err cli_access_save(const struct cli_config *c, const char *name,
                                      const char *grant, bool overwrite);
/* Appends the saved grant text (whitespace trimmed) to out. TS_ERR_NOT_FOUND when absent. */
TS_WARN_UNUSED ts_err cli_access_load(const struct cli_config *c, const char *name,
                                      struct ts_buf *out);
/* Deletes the access; when it was in use, nothing is in use afterwards. TS_ERR_NOT_FOUND. */
TS_WARN_UNUSED ts_err cli_access_remove(const struct cli_config *c, const char *name);
/* Marks name as the access in use. TS_ERR_NOT_FOUND when no such access is saved. */
TS_WARN_UNUSED ts_err cli_access_use(const struct cli_config *c, const char *name);
/* Writes the name in use to name (CLI_ACCESS_NAME_MAX + 1 bytes). TS_ERR_NOT_FOUND when none
 * is in use (or the one named was removed by hand). */
TS_WARN_UNUSED ts_err cli_access_in_use(const struct cli_config *c,
                                        char name[CLI_ACCESS_NAME_MAX + 1]);
TS_WARN_UNUSED ts_err cli_access_list(const struct cli_config *c, struct cli_access_names *out);

/* The grant text an --access argument stands for: NULL means the access in use; a valid name
 * that is saved means its file; any other text is taken as a grant itself (the caller parses it).
 * TS_ERR_NOT_FOUND, with a reason in why, when NULL and nothing is in use, or when arg is a short
 * valid name that is not saved. */
TS_WARN_UNUSED ts_err cli_access_resolve(const struct cli_config *c, const char *arg,
                                         struct ts_buf *grant_out, char *why, size_t why_size);

#endif
