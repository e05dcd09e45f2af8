/*
 * Pure parsers for the tessera CLI's arguments, kept apart from the network so unit tests drive
 * them directly: ts:// locations, times (RFC 3339, relative, "now"), byte ranges and user metadata
 * (a JSON object of strings or k=v pairs), plus the JSON string writer used by `meta get` and
 * `access inspect`. Each returns TS_OK or TS_ERR_INVALID_ARGUMENT / TS_ERR_TOO_LARGE and, where
 * useful, a short reason for the user in a caller's buffer.
 */
#ifndef TS_CLI_PARSE_H
#define TS_CLI_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/limits.h"

/* ---- Locations ---- */

enum cli_loc_kind {
    CLI_LOC_LOCAL,  /* a file or directory path */
    CLI_LOC_STDIO,  /* "-": stdin as a source, stdout as a destination */
    CLI_LOC_REMOTE, /* ts://bucket[/key] */
};

struct cli_loc {
    enum cli_loc_kind kind;
    const char *path;                    /* CLI_LOC_LOCAL: borrowed from the argument */
    char bucket[TS_BUCKET_NAME_MAX + 1]; /* CLI_LOC_REMOTE */
    char key[TS_OBJECT_KEY_MAX + 1];     /* CLI_LOC_REMOTE: "" for the bucket itself */
};

/* Parses an argument. "ts://bucket", "ts://bucket/", "ts://bucket/a/b" are remote (the key is
 * everything after the first '/' after the bucket, taken literally); "-" is stdio; anything else
 * is a local path. TS_ERR_INVALID_ARGUMENT for a bad bucket name (3..63 of a-z 0-9 - ., starting
 * and ending with a letter or digit) or an empty path, TS_ERR_TOO_LARGE for a key past
 * TS_OBJECT_KEY_MAX bytes. why (may be NULL) receives the reason. */
TS_WARN_UNUSED ts_err cli_loc_parse(const char *arg, struct cli_loc *out, char *why,
                                    size_t why_size);
/* Whether name is a valid bucket name. */
bool cli_bucket_name_valid(const char *name);

/* ---- Times ---- */

/* Parses "now", a relative time "+1h", "-30m", "+7d", "+1h30m" (units s m h d w, summed), or an
 * RFC 3339 time "2026-12-01T00:00:00Z" / "2026-12-01T01:00:00.5+01:00" (a space may replace
 * the T; fractions are dropped). Relative times count from now_s. *out_s is Unix seconds.
 * TS_ERR_INVALID_ARGUMENT for anything else (bad field ranges such as Feb 30 included). */
TS_WARN_UNUSED ts_err cli_time_parse(const char *text, int64_t now_s, int64_t *out_s);
/* Formats Unix seconds as RFC 3339 UTC ("2026-12-01T00:00:00Z"); out needs 21+ bytes. */
void cli_time_format(int64_t t_s, char *out, size_t out_size);

/* ---- Byte ranges ---- */

/* A download range. suffix: the last `length` bytes (needs the object size). */
struct cli_range {
    uint64_t offset;
    int64_t length; /* < 0 = to the end */
    bool suffix;
};

/* Parses "START-END" (inclusive), "START-" (to the end), "-N" (the last N bytes), optionally
 * prefixed by "bytes=" as in HTTP. TS_ERR_INVALID_ARGUMENT for END < START, N == 0, signs, spaces,
 * or numbers past 2^62. */
TS_WARN_UNUSED ts_err cli_range_parse(const char *text, struct cli_range *out);

/* ---- User metadata ---- */

#define CLI_META_ENTRIES_MAX 64
#define CLI_META_TEXT_MAX 8192 /* bytes of all keys and values; the library's limit is smaller */

/* Owned key/value strings. */
struct cli_meta {
    size_t count;
    char *key[CLI_META_ENTRIES_MAX];
    char *value[CLI_META_ENTRIES_MAX];
    size_t text_len; /* sum of key and value lengths */
};

void cli_meta_init(struct cli_meta *m);
void cli_meta_release(struct cli_meta *m);
/* Adds the pairs of a JSON object of strings ('{"k":"v","n":"x"}'; \uXXXX escapes and surrogate
 * pairs become UTF-8). TS_ERR_INVALID_ARGUMENT for other JSON (numbers, nesting, trailing bytes),
 * empty or duplicate keys, keys/values holding NUL; TS_ERR_TOO_LARGE past the limits above. On
 * error m keeps the entries it had before the call. */
TS_WARN_UNUSED ts_err cli_meta_add_json(struct cli_meta *m, const char *json, char *why,
                                        size_t why_size);
/* Adds one "key=value" pair (the first '=' splits; the value may be empty). */
TS_WARN_UNUSED ts_err cli_meta_add_pair(struct cli_meta *m, const char *pair, char *why,
                                        size_t why_size);

/* Appends s as a JSON string literal (quotes, escapes for '"', '\\' and control bytes). */
TS_WARN_UNUSED ts_err cli_json_string(struct ts_buf *out, const char *s);

#endif
