/* Durations and sizes written by people (see parse.h). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/base.h"
#include "base/limits.h"
#include "base/parse.h"

/* The unit of the term at end (len letters), in milliseconds; 0 when unknown. */
static double duration_unit_ms(const char *end, size_t len)
{
    static const struct {
        const char *name;
        double ms;
    } units[] = {{"ms", 1},     {"s", 1e3},     {"m", 60e3},
                 {"h", 3600e3}, {"d", 86400e3}, {"w", 7 * 86400e3}};
    for (size_t u = 0; u < TS_ARRAY_LEN(units); u++) {
        if (strlen(units[u].name) == len && strncasecmp(units[u].name, end, len) == 0) {
            return units[u].ms;
        }
    }
    return 0;
}

/* Sums the terms of text into *total_ms. */
static ts_err duration_sum_ms(const char *p, int64_t unit_ms, unsigned flags, double *total_ms)
{
    const char *first = p;
    while (*p != 0) {
        char *end = NULL;
        if (!isdigit((unsigned char)*p) && ((flags & TS_PARSE_WHOLE) || *p != '.')) {
            return TS_ERR_INVALID_ARGUMENT; /* no sign, no space, no "nan"/"inf" inside */
        }
        errno = 0;
        double v = (flags & TS_PARSE_WHOLE) ? (double)strtoll(p, &end, 10) : strtod(p, &end);
        if (end == p || errno != 0 || !(v >= 0)) {
            return errno == ERANGE ? TS_ERR_TOO_LARGE : TS_ERR_INVALID_ARGUMENT;
        }
        size_t len = 0;
        while (isalpha((unsigned char)end[len])) {
            len++;
        }
        if (len == 0) { /* a bare number: the caller's unit, standing alone */
            if (p != first) {
                return TS_ERR_INVALID_ARGUMENT; /* "1h30" */
            }
            *total_ms += v * (double)unit_ms;
            p = end;
            break;
        }
        double ms = duration_unit_ms(end, len);
        if (ms == 0) {
            return TS_ERR_INVALID_ARGUMENT;
        }
        *total_ms += v * ms;
        p = end + len;
    }
    while (*p == ' ') { /* only after a bare number: "30s " is refused, "30 " is not */
        p++;
    }
    return *p == 0 ? TS_OK : TS_ERR_INVALID_ARGUMENT;
}

ts_err ts_parse_duration(const char *text, int64_t unit_ms, unsigned flags, int64_t *out)
{
    TS_ASSERT(unit_ms > 0);
    const char *p = text;
    while (*p == ' ') {
        p++;
    }
    if (*p == 0) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    double total_ms = 0;
    ts_err err = duration_sum_ms(p, unit_ms, flags, &total_ms);
    if (err != TS_OK) {
        return err;
    }
    if (total_ms > (double)TS_PARSE_DURATION_MS_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    double in_unit = total_ms / (double)unit_ms;
    if (in_unit != (double)(int64_t)in_unit) {
        return TS_ERR_INVALID_ARGUMENT; /* e.g. 1500ms for a key in seconds */
    }
    *out = (int64_t)in_unit;
    return TS_OK;
}

ts_err ts_parse_size(const char *text, int64_t *out)
{
    static const struct {
        const char *suffix;
        double mult;
    } units[] = {{"", 1},
                 {"B", 1},
                 {"KB", 1e3},
                 {"MB", 1e6},
                 {"GB", 1e9},
                 {"TB", 1e12},
                 {"KiB", 1024.0},
                 {"MiB", 1048576.0},
                 {"GiB", 1073741824.0},
                 {"TiB", 1099511627776.0}};
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || errno != 0 || !(v >= 0) || *text == '-' || *text == '+') {
        return TS_ERR_INVALID_ARGUMENT;
    }
    while (*end == ' ') {
        end++;
    }
    for (size_t i = 0; i < TS_ARRAY_LEN(units); i++) {
        if (strcasecmp(end, units[i].suffix) == 0) {
            double bytes = v * units[i].mult;
            if (bytes > (double)TS_PARSE_SIZE_MAX) {
                return TS_ERR_TOO_LARGE;
            }
            if (bytes != (double)(int64_t)bytes) {
                return TS_ERR_INVALID_ARGUMENT; /* a fraction of a byte */
            }
            *out = (int64_t)bytes;
            return TS_OK;
        }
    }
    return TS_ERR_INVALID_ARGUMENT;
}
