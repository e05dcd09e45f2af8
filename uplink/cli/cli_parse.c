/* Argument parsers of the tessera CLI: locations, times, ranges (see cli_parse.h). Metadata and
 * JSON live in cli_meta.c. */
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "cli/cli_parse.h"

#define URL_SCHEME "ts://"
/* Larger numbers in a range or relative time are refused, so sums and products cannot overflow. */
#define NUMBER_MAX ((uint64_t)1 << 62)

static void say(char *why, size_t why_size, const char *text)
{
    if (why != NULL && why_size > 0) {
        snprintf(why, why_size, "%s", text);
    }
}

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool cli_bucket_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n < TS_BUCKET_NAME_MIN || n > TS_BUCKET_NAME_MAX || !is_lower_alnum(name[0]) ||
        !is_lower_alnum(name[n - 1])) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!is_lower_alnum(name[i]) && name[i] != '-' && name[i] != '.') {
            return false;
        }
    }
    return true;
}

ts_err cli_loc_parse(const char *arg, struct cli_loc *out, char *why, size_t why_size)
{
    memset(out, 0, sizeof(*out));
    if (arg[0] == 0) {
        say(why, why_size, "empty path");
        return TS_ERR_INVALID_ARGUMENT;
    }
    if (strcmp(arg, "-") == 0) {
        out->kind = CLI_LOC_STDIO;
        return TS_OK;
    }
    if (strncmp(arg, URL_SCHEME, strlen(URL_SCHEME)) != 0) {
        if (strstr(arg, "://") != NULL) {
            say(why, why_size, "only ts:// URLs name remote objects");
            return TS_ERR_INVALID_ARGUMENT;
        }
        out->kind = CLI_LOC_LOCAL;
        out->path = arg;
        return TS_OK;
    }
    out->kind = CLI_LOC_REMOTE;
    const char *b = arg + strlen(URL_SCHEME);
    const char *slash = strchr(b, '/');
    size_t blen = slash != NULL ? (size_t)(slash - b) : strlen(b);
    if (blen == 0) {
        say(why, why_size, "the URL names no bucket (ts://bucket/key)");
        return TS_ERR_INVALID_ARGUMENT;
    }
    if (blen > TS_BUCKET_NAME_MAX) {
        say(why, why_size, "bucket names are at most 63 characters");
        return TS_ERR_INVALID_ARGUMENT;
    }
    memcpy(out->bucket, b, blen);
    out->bucket[blen] = 0;
    if (!cli_bucket_name_valid(out->bucket)) {
        say(why, why_size,
            "bad bucket name: 3-63 characters of a-z, 0-9, '-' and '.', starting and ending with "
            "a letter or digit");
        return TS_ERR_INVALID_ARGUMENT;
    }
    const char *key = slash != NULL ? slash + 1 : "";
    size_t klen = strlen(key);
    if (klen > TS_OBJECT_KEY_MAX) {
        say(why, why_size, "object keys are at most 1024 bytes");
        return TS_ERR_TOO_LARGE;
    }
    memcpy(out->key, key, klen + 1);
    return TS_OK;
}

/* ---- Times ---- */

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (civil-from-days inverse:
 * eras of 400 years, March-based years so the leap day comes last). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int64_t y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* Reads exactly n digits at *p into *v and advances. */
static bool digits(const char **p, int n, int *v)
{
    int x = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9') {
            return false;
        }
        x = x * 10 + (c - '0');
    }
    *p += n;
    *v = x;
    return true;
}

static bool expect(const char **p, char c)
{
    if (**p != c) {
        return false;
    }
    *p += 1;
    return true;
}

/* "Z" or "+hh:mm" / "-hh:mm" at the end of text: the offset from UTC in seconds. */
static bool parse_zone(const char *p, int64_t *offset_s)
{
    if ((p[0] == 'Z' || p[0] == 'z') && p[1] == 0) {
        *offset_s = 0;
        return true;
    }
    if (p[0] != '+' && p[0] != '-') {
        return false;
    }
    const char *q = p + 1;
    int hh, mm;
    if (!digits(&q, 2, &hh) || !expect(&q, ':') || !digits(&q, 2, &mm) || *q != 0 || hh > 23 ||
        mm > 59) {
        return false;
    }
    *offset_s = (p[0] == '-' ? -1 : 1) * (int64_t)(hh * 3600 + mm * 60);
    return true;
}

static ts_err parse_rfc3339(const char *text, int64_t *out_s)
{
    const char *p = text;
    int y, mo, d, h = 0, mi = 0, s = 0;
    if (!digits(&p, 4, &y) || !expect(&p, '-') || !digits(&p, 2, &mo) || !expect(&p, '-') ||
        !digits(&p, 2, &d) || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo)) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    int64_t offset_s = 0;
    if (*p != 0) { /* a bare date means midnight UTC */
        if (*p != 'T' && *p != 't' && *p != ' ') {
            return TS_ERR_INVALID_ARGUMENT;
        }
        p++;
        if (!digits(&p, 2, &h) || !expect(&p, ':') || !digits(&p, 2, &mi) || !expect(&p, ':') ||
            !digits(&p, 2, &s) || h > 23 || mi > 59 || s > 60) {
            return TS_ERR_INVALID_ARGUMENT;
        }
        if (*p == '.') {
            const char *f = ++p;
            while (*p >= '0' && *p <= '9' && p - f < 9) {
                p++;
            }
            if (p == f) {
                return TS_ERR_INVALID_ARGUMENT;
            }
        }
        if (!parse_zone(p, &offset_s)) {
            return TS_ERR_INVALID_ARGUMENT;
        }
    }
    if (s == 60) {
        s = 59; /* a leap second: Unix time has none */
    }
    *out_s = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset_s;
    return TS_OK;
}

/* Reads a decimal number at *p (at least one digit, below NUMBER_MAX) and advances. */
static bool number(const char **p, uint64_t *v)
{
    const char *start = *p;
    uint64_t n = 0;
    while (**p >= '0' && **p <= '9') {
        if (n >= NUMBER_MAX / 10) {
            return false;
        }
        n = n * 10 + (uint64_t)(**p - '0');
        *p += 1;
    }
    *v = n;
    return *p != start;
}

static int64_t unit_seconds(char u)
{
    switch (u) {
    case 's':
        return 1;
    case 'm':
        return 60;
    case 'h':
        return 3600;
    case 'd':
        return 86400;
    case 'w':
        return 7 * 86400;
    default:
        return 0;
    }
}

/* "+1h30m" / "-2d": sum of number-unit terms, signed. */
static ts_err parse_relative(const char *text, int64_t now_s, int64_t *out_s)
{
    int64_t sign = text[0] == '-' ? -1 : 1;
    const char *p = text + 1;
    uint64_t total = 0;
    if (*p == 0) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    while (*p != 0) {
        uint64_t n = 0;
        if (!number(&p, &n)) {
            return TS_ERR_INVALID_ARGUMENT;
        }
        int64_t unit = unit_seconds(*p);
        if (unit == 0 || n >= NUMBER_MAX / (uint64_t)unit) {
            return TS_ERR_INVALID_ARGUMENT;
        }
        total += n * (uint64_t)unit;
        if (total >= NUMBER_MAX) {
            return TS_ERR_INVALID_ARGUMENT;
        }
        p++;
    }
    *out_s = now_s + sign * (int64_t)total;
    return TS_OK;
}

ts_err cli_time_parse(const char *text, int64_t now_s, int64_t *out_s)
{
    if (strcmp(text, "now") == 0) {
        *out_s = now_s;
        return TS_OK;
    }
    if (text[0] == '+' || text[0] == '-') {
        return parse_relative(text, now_s, out_s);
    }
    return parse_rfc3339(text, out_s);
}

void cli_time_format(int64_t t_s, char *out, size_t out_size)
{
    int64_t days = t_s >= 0 ? t_s / 86400 : -((-t_s + 86399) / 86400);
    int64_t secs = t_s - days * 86400;
    /* civil from days (inverse of days_from_civil) */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = yoe + era * 400 + (m <= 2);
    snprintf(out, out_size, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lldZ", (long long)y,
             (long long)m, (long long)d, (long long)(secs / 3600), (long long)(secs / 60 % 60),
             (long long)(secs % 60));
}

/* ---- Ranges ---- */

ts_err cli_range_parse(const char *text, struct cli_range *out)
{
    memset(out, 0, sizeof(*out));
    const char *p = text;
    if (strncmp(p, "bytes=", 6) == 0) {
        p += 6;
    }
    uint64_t a = 0, b = 0;
    if (*p == '-') { /* suffix: the last N bytes */
        p++;
        if (!number(&p, &b) || *p != 0 || b == 0) {
            return TS_ERR_INVALID_ARGUMENT;
        }
        out->suffix = true;
        out->length = (int64_t)b;
        return TS_OK;
    }
    if (!number(&p, &a) || !expect(&p, '-')) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    out->offset = a;
    out->length = -1;
    if (*p == 0) {
        return TS_OK;
    }
    if (!number(&p, &b) || *p != 0 || b < a) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    out->length = (int64_t)(b - a + 1);
    return TS_OK;
}
