/* Parsing of the human-written quantities in configuration files and flags: durations such as
 * "30s", "1h30m" or "500ms", and sizes such as "5GB", "1 GiB" or "1048576". Both configurations
 * (satellite/config.c, node/node_config.c) use these, so a value means the same thing to every
 * role. Inputs are bounded (TS_PARSE_DURATION_MS_MAX, TS_PARSE_SIZE_MAX); nothing here logs. */
#ifndef TS_BASE_PARSE_H
#define TS_BASE_PARSE_H

#include <stdint.h>

#include "base/error.h"

/* Flags of ts_parse_duration. */
enum {
    TS_PARSE_WHOLE = 1, /* every number is a whole number: "1.5h" is refused */
};

/* A duration: one or more <number><unit> terms (units ms s m h d w, any case; "1h30m") or one
 * bare number counted in unit_ms milliseconds (> 0); spaces may surround it. *out is the total in
 * unit_ms. Errors: TS_ERR_INVALID_ARGUMENT when malformed (sign, unknown unit, "1h30", NaN) or
 * not a whole number of unit_ms ("1500ms" in seconds); TS_ERR_TOO_LARGE past
 * TS_PARSE_DURATION_MS_MAX. *out is untouched on error. */
TS_WARN_UNUSED ts_err ts_parse_duration(const char *text, int64_t unit_ms, unsigned flags,
                                        int64_t *out);

/* A size in bytes: a number with an optional unit (B KB MB GB TB decimal, KiB MiB GiB TiB binary,
 * any case, optionally after spaces). Errors: TS_ERR_INVALID_ARGUMENT when malformed, signed or
 * not a whole number of bytes ("1.5B"); TS_ERR_TOO_LARGE past TS_PARSE_SIZE_MAX. */
TS_WARN_UNUSED ts_err ts_parse_size(const char *text, int64_t *out);

#endif
