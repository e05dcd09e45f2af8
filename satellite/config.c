/* Configuration: the key table, value parsers, file reading and writing (see config.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/base.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/parse.h"
#include "satellite/config.h"

#define LOG "satellite.config"

void sat_config_defaults(struct sat_config *c, const char *dir)
{
    memset(c, 0, sizeof *c);
    snprintf(c->dir, sizeof c->dir, "%s", dir);
    snprintf(c->db_url, sizeof c->db_url, "sqlite://%s/satellite.db", dir);
    snprintf(c->listen, sizeof c->listen, "127.0.0.1:7777");
    ts_err err = sat_redundancy_parse(SAT_REDUNDANCY_PRODUCTION, &c->redundancy);
    TS_ASSERT(err == TS_OK);
    c->segment_size_max = TS_SEGMENT_SIZE_MAX;
    c->online_window_s = 4 * 3600;
    c->free_disk_min = 5000000000ll;
    c->new_node_fraction = 0.05;
    c->distinct_nets = 1;
    c->fill_unvetted = 0;
    c->zombie_deadline_s = 86400;
    c->commit_interval_s = 48 * 3600;
    c->order_expiration_s = 86400;
    c->cleanup_interval_s = 300;
    c->node_cache_s = 60;
    c->node_difficulty_min = TS_ID_DIFFICULTY_PRODUCTION;
    c->buckets_max = 100;
    c->list_limit_max = 1000;
    c->ping_timeout_ms = 10000;
    c->max_connections = 0;
    c->rate_limit_per_s = 100;
    c->part_size_min = 5 * 1024 * 1024;
    c->multipart_deadline_s = 7 * 86400;
    sat_gc_config_defaults(&c->gc);
    sat_gexit_config_defaults(&c->gexit);
    sat_durability_config_defaults(&c->durability);
}

void sat_config_local(struct sat_config *c)
{
    ts_err err = sat_redundancy_parse(SAT_REDUNDANCY_LOCAL, &c->redundancy);
    TS_ASSERT(err == TS_OK);
    c->free_disk_min = 0;
    c->distinct_nets = 0;
    c->fill_unvetted = 1;
    c->node_difficulty_min = 0;
    c->cleanup_interval_s = 30;
    c->node_cache_s = 5;
    c->gc.interval_s = 5 * 60;
    c->gexit.duration_s = 10 * 60;
    c->gexit.interval_s = 60;
    c->gexit.node_age_min_s = 0;
    sat_durability_config_local(&c->durability);
}

/* ---- Value parsers ---- */

ts_err sat_config_parse_duration(const char *text, int64_t unit_ms, int64_t *out)
{
    return ts_parse_duration(text, unit_ms, 0, out) == TS_OK ? TS_OK : TS_ERR_CONFIG;
}

ts_err sat_config_parse_size(const char *text, int64_t *out)
{
    return ts_parse_size(text, out) == TS_OK ? TS_OK : TS_ERR_CONFIG;
}

static ts_err parse_bool(const char *v, int64_t *out)
{
    static const char *yes[] = {"1", "true", "yes", "on"}, *no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < TS_ARRAY_LEN(yes); i++) {
        if (strcasecmp(v, yes[i]) == 0 || strcasecmp(v, no[i]) == 0) {
            *out = strcasecmp(v, yes[i]) == 0;
            return TS_OK;
        }
    }
    return TS_ERR_CONFIG;
}

/* ---- The key table ---- */

/* K_COUNT: a plain integer. K_SECONDS / K_MILLIS: durations kept in s / ms. K_BYTES: a size.
 * Integer fields may be bool, int or int64_t/size_t (told apart by their size). */
enum kind { K_STR, K_COUNT, K_SECONDS, K_MILLIS, K_BYTES, K_DOUBLE, K_BOOL, K_REDUNDANCY };

struct key {
    const char *name;
    enum kind kind;
    size_t offset, size;
    double min, max; /* numbers: allowed range, in the field's unit */
};

_Static_assert(sizeof(size_t) == sizeof(int64_t), "size_t fields are stored as int64_t");

#define F(field) offsetof(struct sat_config, field), sizeof(((struct sat_config *)0)->field)
#define NO_MAX 9.0e18
#define SLOTS_MAX SAT_RESERVOIR_SLOTS_MAX
#define WORKERS_MAX SAT_DURABILITY_WORKERS_MAX
static const struct key KEYS[] = {
    {"db", K_STR, F(db_url), 0, 0},
    {"listen", K_STR, F(listen), 0, 0},
    {"public_address", K_STR, F(public_address), 0, 0},
    {"redundancy", K_REDUNDANCY, F(redundancy), 0, 0},
    {"segment_size_max", K_BYTES, F(segment_size_max), 1, TS_SEGMENT_SIZE_MAX},
    {"online_window_s", K_SECONDS, F(online_window_s), 1, NO_MAX},
    {"free_disk_min", K_BYTES, F(free_disk_min), 0, NO_MAX},
    {"new_node_fraction", K_DOUBLE, F(new_node_fraction), 0, 1},
    {"distinct_nets", K_BOOL, F(distinct_nets), 0, 1},
    {"fill_unvetted", K_BOOL, F(fill_unvetted), 0, 1},
    {"zombie_deadline_s", K_SECONDS, F(zombie_deadline_s), 0, NO_MAX},
    {"commit_interval_s", K_SECONDS, F(commit_interval_s), 0, NO_MAX},
    {"order_expiration_s", K_SECONDS, F(order_expiration_s), 1, NO_MAX},
    {"cleanup_interval_s", K_SECONDS, F(cleanup_interval_s), 1, NO_MAX},
    {"node_cache_s", K_SECONDS, F(node_cache_s), 0, NO_MAX},
    {"node_difficulty_min", K_COUNT, F(node_difficulty_min), 0, TS_ID_DIFFICULTY_MAX},
    {"buckets_max", K_COUNT, F(buckets_max), 0, NO_MAX},
    {"list_limit_max", K_COUNT, F(list_limit_max), 0, NO_MAX},
    {"ping_timeout_ms", K_MILLIS, F(ping_timeout_ms), 0, 1e6},
    {"max_connections", K_COUNT, F(max_connections), 0, 1e6},
    {"rate_limit_per_s", K_COUNT, F(rate_limit_per_s), 0, NO_MAX},
    {"part_size_min", K_BYTES, F(part_size_min), 0, NO_MAX},
    {"multipart_deadline_s", K_SECONDS, F(multipart_deadline_s), 0, NO_MAX},
    /* Garbage collection (satellite/gc, docs/gc.md). */
    {"gc.enabled", K_BOOL, F(gc.enabled), 0, 1},
    {"gc.interval_s", K_SECONDS, F(gc.interval_s), 1, NO_MAX},
    {"gc.fpr", K_DOUBLE, F(gc.fpr), 1e-6, 0.999},
    {"gc.filter_size_max", K_BYTES, F(gc.filter_size_max), TS_BLOOM_TABLE_SIZE_MIN,
     TS_BLOOM_TABLE_SIZE_MAX},
    {"gc.pieces_max", K_COUNT, F(gc.pieces_max), 0, NO_MAX},
    {"gc.page_size", K_COUNT, F(gc.page_size), 1, SAT_LOOP_PAGE_MAX},
    /* Graceful exit (satellite/gexit, docs/gc.md). */
    {"gexit.duration_s", K_SECONDS, F(gexit.duration_s), 0, NO_MAX},
    {"gexit.node_age_min_s", K_SECONDS, F(gexit.node_age_min_s), 0, NO_MAX},
    {"gexit.interval_s", K_SECONDS, F(gexit.interval_s), 1, NO_MAX},
    {"gexit.online_min", K_DOUBLE, F(gexit.online_min), 0, 1},
    /* Durability: segment loop, audits, reputation, repair (docs/durability.md). */
    {"durability.enabled", K_BOOL, F(durability.enabled), 0, 1},
    {"durability.loop_interval_s", K_SECONDS, F(durability.loop_interval_s), 1, 1e9},
    {"durability.loop_page_size", K_COUNT, F(durability.loop_page_size), 1, SAT_LOOP_PAGE_MAX},
    {"durability.audit_slots", K_COUNT, F(durability.audit_slots), 1, SLOTS_MAX},
    {"durability.audit_workers", K_COUNT, F(durability.audit_workers), 0, WORKERS_MAX},
    {"durability.audit_pause_ms", K_MILLIS, F(durability.audit_pause_ms), 0, 1e9},
    {"durability.idle_poll_ms", K_MILLIS, F(durability.idle_poll_ms), 10, 1e9},
    {"durability.audit_timeout_ms", K_MILLIS, F(durability.audit.timeout_ms), 100, 1e7},
    {"durability.audit_concurrency", K_COUNT, F(durability.audit.concurrency), 1, TS_EC_SHARES_MAX},
    {"durability.reverify_max", K_COUNT, F(durability.audit.reverify_max), 1, 1000},
    {"durability.reverify_retry_s", K_SECONDS, F(durability.audit.reverify_retry_s), 0, 1e9},
    {"durability.reputation_lambda", K_DOUBLE, F(durability.reputation.lambda), 0, 1},
    {"durability.reputation_weight", K_DOUBLE, F(durability.reputation.weight), 0, 1e6},
    {"durability.reputation_alpha0", K_DOUBLE, F(durability.reputation.alpha0), 0, 1e9},
    {"durability.reputation_beta0", K_DOUBLE, F(durability.reputation.beta0), 0, 1e9},
    {"durability.reputation_dq_threshold", K_DOUBLE, F(durability.reputation.dq_threshold), 0, 1},
    {"durability.reputation_unknown_lambda", K_DOUBLE, F(durability.reputation.unknown_lambda), 0,
     1},
    {"durability.reputation_suspend_threshold", K_DOUBLE,
     F(durability.reputation.suspend_threshold), 0, 1},
    {"durability.vetting_audits", K_COUNT, F(durability.reputation.vetting_audits), 0, 1e9},
    {"durability.vetting_age_s", K_SECONDS, F(durability.reputation.vetting_age_s), 0, 1e10},
    {"durability.online_window_s", K_SECONDS, F(durability.reputation.online_window_s), 1, 1e9},
    {"durability.online_tracking_s", K_SECONDS, F(durability.reputation.online_tracking_s), 1,
     1e10},
    {"durability.online_threshold", K_DOUBLE, F(durability.reputation.online_threshold), 0, 1},
    {"durability.online_windows_min", K_COUNT, F(durability.reputation.online_windows_min), 0, 1e6},
    {"durability.absence_dq_s", K_SECONDS, F(durability.reputation.absence_dq_s), 0, 1e10},
    {"durability.repair_workers", K_COUNT, F(durability.repair_workers), 0, WORKERS_MAX},
    {"durability.repair_timeout_ms", K_MILLIS, F(durability.repair_timeout_ms), 100, 1e8},
    {"durability.repair_concurrency", K_COUNT, F(durability.repair.concurrency), 1,
     TS_EC_SHARES_MAX},
    {"durability.repair_extra_fraction", K_DOUBLE, F(durability.repair.extra_fraction), 0, 1},
    {"durability.repair_retry_s", K_SECONDS, F(durability.repair.retry_s), 0, 1e9},
};
#undef F

static const struct key *key_find(const char *name)
{
    for (size_t i = 0; i < TS_ARRAY_LEN(KEYS); i++) {
        if (strcmp(KEYS[i].name, name) == 0) {
            return &KEYS[i];
        }
    }
    return NULL;
}

static void store_int(void *field, size_t size, int64_t v)
{
    if (size == sizeof(bool)) {
        *(bool *)field = v != 0;
    } else if (size == sizeof(int)) {
        *(int *)field = (int)v;
    } else {
        TS_ASSERT(size == sizeof(int64_t));
        memcpy(field, &v, sizeof v);
    }
}

static int64_t load_int(const void *field, size_t size)
{
    int64_t v = 0;
    if (size == sizeof(bool)) {
        v = *(const bool *)field;
    } else if (size == sizeof(int)) {
        v = *(const int *)field;
    } else {
        memcpy(&v, field, sizeof v);
    }
    return v;
}

/* Parses v for k into c. *why gets a short reason on failure. */
static ts_err set_value(struct sat_config *c, const struct key *k, const char *v, const char **why)
{
    char *field = (char *)c + k->offset;
    int64_t x = 0;
    ts_err err = TS_OK;
    switch (k->kind) {
    case K_STR:
        if (strlen(v) >= k->size) {
            *why = "too long";
            return TS_ERR_CONFIG;
        }
        memcpy(field, v, strlen(v) + 1);
        return TS_OK;
    case K_REDUNDANCY:
        *why = "want k/m/o/n-<share size>B, e.g. 29/52/80/110-256B";
        return sat_redundancy_parse(v, (struct sat_redundancy *)(void *)field) == TS_OK
                   ? TS_OK
                   : TS_ERR_CONFIG;
    case K_DOUBLE: {
        char *end = NULL;
        errno = 0;
        double d = strtod(v, &end);
        if (end == v || *end != 0 || errno != 0 || !(d >= k->min && d <= k->max)) {
            *why = "want a number in the allowed range";
            return TS_ERR_CONFIG;
        }
        *(double *)(void *)field = d;
        return TS_OK;
    }
    case K_BOOL:
        *why = "want true/false (1/0, yes/no, on/off)";
        err = parse_bool(v, &x);
        break;
    case K_SECONDS:
        *why = "want a duration like 30s, 5m, 2h, 7d (a bare number is seconds)";
        err = sat_config_parse_duration(v, 1000, &x);
        break;
    case K_MILLIS:
        *why = "want a duration like 500ms, 15s, 5m (a bare number is milliseconds)";
        err = sat_config_parse_duration(v, 1, &x);
        break;
    case K_BYTES:
        *why = "want a size like 5GB, 1GiB, 2MiB (a bare number is bytes)";
        err = sat_config_parse_size(v, &x);
        break;
    case K_COUNT: {
        char *end = NULL;
        errno = 0;
        long long n = strtoll(v, &end, 10);
        *why = "want a whole number";
        err = end == v || *end != 0 || errno != 0 ? TS_ERR_CONFIG : TS_OK;
        x = n;
        break;
    }
    }
    if (err == TS_OK && ((double)x < k->min || (double)x > k->max)) {
        *why = "out of the allowed range";
        err = TS_ERR_CONFIG;
    }
    if (err == TS_OK) {
        store_int(field, k->size, x);
    }
    return err == TS_OK ? TS_OK : TS_ERR_CONFIG;
}

static ts_err set_logged(struct sat_config *c, const char *key, const char *value,
                         const char *where)
{
    const struct key *k = key_find(key);
    if (k == NULL) {
        ts_log_error(LOG, "%s unknown key '%s' (every key: docs/satellite.md)", where, key);
        return TS_ERR_CONFIG;
    }
    const char *why = "";
    if (set_value(c, k, value, &why) != TS_OK) {
        ts_log_error(LOG, "%s key=%s bad value '%s': %s (range %g..%g)", where, key, value, why,
                     k->min, k->max);
        return TS_ERR_CONFIG;
    }
    return TS_OK;
}

ts_err sat_config_set(struct sat_config *c, const char *key, const char *value)
{
    return set_logged(c, key, value, "flag");
}

/* ---- Files ---- */

static void trim(char **s, char **end)
{
    while (*s < *end && (**s == ' ' || **s == '\t')) {
        (*s)++;
    }
    while (*end > *s && ((*end)[-1] == ' ' || (*end)[-1] == '\t' || (*end)[-1] == '\r')) {
        (*end)--;
    }
}

/* One "key = value" line; prefix is put before the key (legacy files). */
static ts_err parse_line(struct sat_config *c, char *s, char *end, int lineno, const char *prefix,
                         const char *file)
{
    char where[96], key[128];
    trim(&s, &end);
    if (s == end || *s == '#') {
        return TS_OK;
    }
    snprintf(where, sizeof where, "%s line=%d", file, lineno);
    char *eq = memchr(s, '=', (size_t)(end - s));
    if (eq == NULL) {
        ts_log_error(LOG, "%s missing '='", where);
        return TS_ERR_CONFIG;
    }
    char *kend = eq, *v = eq + 1;
    trim(&s, &kend);
    trim(&v, &end);
    *kend = 0;
    *end = 0;
    int n = snprintf(key, sizeof key, "%s%s", prefix, s);
    if (n < 0 || (size_t)n >= sizeof key) {
        ts_log_error(LOG, "%s key too long", where);
        return TS_ERR_CONFIG;
    }
    return set_logged(c, key, v, where);
}

static ts_err parse_text(struct sat_config *c, const char *text, size_t len, const char *prefix,
                         const char *file)
{
    char *copy = malloc(len + 1);
    if (copy == NULL) {
        return TS_ERR_NOMEM;
    }
    memcpy(copy, text, len);
    copy[len] = 0;
    ts_err err = TS_OK;
    char *line = copy;
    int lineno = 1;
    while (err == TS_OK && line < copy + len) {
        char *nl = memchr(line, '\n', (size_t)(copy + len - line));
        char *end = nl != NULL ? nl : copy + len;
        err = parse_line(c, line, end, lineno++, prefix, file);
        line = end + 1;
    }
    free(copy);
    return err;
}

ts_err sat_config_check(const struct sat_config *c)
{
    if (c->redundancy.total == 0) {
        ts_log_error(LOG, "no redundancy set");
        return TS_ERR_CONFIG;
    }
    return TS_OK;
}

ts_err sat_config_parse(struct sat_config *c, const char *text, size_t len)
{
    ts_err err = parse_text(c, text, len, "", SAT_CONFIG_FILE);
    return err == TS_OK ? sat_config_check(c) : err;
}

/* Reads dir/name into a buffer; TS_ERR_NOT_FOUND when absent. */
static ts_err read_file(const char *dir, const char *name, struct ts_buf *b)
{
    char path[SAT_PATH_MAX + 32];
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof path) {
        return TS_ERR_TOO_LARGE;
    }
    return ts_fs_read_all(path, SAT_CONFIG_FILE_MAX, b);
}

ts_err sat_config_load(struct sat_config *c, const char *dir)
{
    struct ts_buf b;
    sat_config_defaults(c, dir);
    ts_buf_init(&b, SAT_CONFIG_FILE_MAX);
    ts_err err = read_file(dir, SAT_CONFIG_FILE, &b);
    if (err == TS_OK) {
        err = parse_text(c, b.len > 0 ? (const char *)b.data : "", b.len, "", SAT_CONFIG_FILE);
    }
    ts_buf_release(&b);
    /* The durability settings' old home; read after the config so its values win. */
    ts_buf_init(&b, SAT_CONFIG_FILE_MAX);
    ts_err legacy =
        err == TS_OK ? read_file(dir, SAT_DURABILITY_LEGACY_FILE, &b) : TS_ERR_NOT_FOUND;
    if (legacy == TS_OK) {
        ts_log_info(LOG, "reading %s/%s (deprecated: use durability.* keys in %s)", dir,
                    SAT_DURABILITY_LEGACY_FILE, SAT_CONFIG_FILE);
        err = parse_text(c, b.len > 0 ? (const char *)b.data : "", b.len, "durability.",
                         SAT_DURABILITY_LEGACY_FILE);
    } else if (legacy != TS_ERR_NOT_FOUND) {
        err = legacy;
    }
    ts_buf_release(&b);
    return err == TS_OK ? sat_config_check(c) : err;
}

static ts_err format_value(const struct sat_config *c, const struct key *k, struct ts_buf *b)
{
    const char *field = (const char *)c + k->offset;
    switch (k->kind) {
    case K_STR:
        return ts_buf_printf(b, "%s = %s\n", k->name, field);
    case K_REDUNDANCY: {
        char text[SAT_REDUNDANCY_TEXT_MAX];
        sat_redundancy_format((const struct sat_redundancy *)(const void *)field, text,
                              sizeof text);
        return ts_buf_printf(b, "%s = %s\n", k->name, text);
    }
    case K_DOUBLE:
        return ts_buf_printf(b, "%s = %.15g\n", k->name, *(const double *)(const void *)field);
    case K_BOOL:
    case K_COUNT:
    case K_SECONDS:
    case K_MILLIS:
    case K_BYTES:
        break;
    }
    return ts_buf_printf(b, "%s = %lld\n", k->name, (long long)load_int(field, k->size));
}

ts_err sat_config_save(const struct sat_config *c)
{
    char path[SAT_PATH_MAX + 16];
    struct ts_buf b;
    ts_buf_init(&b, SAT_CONFIG_FILE_MAX);
    ts_err err = ts_buf_append_str(&b, "# tessera-satellite configuration (docs/satellite.md)\n");
    for (size_t i = 0; err == TS_OK && i < TS_ARRAY_LEN(KEYS); i++) {
        err = format_value(c, &KEYS[i], &b);
    }
    snprintf(path, sizeof path, "%s/%s", c->dir, SAT_CONFIG_FILE);
    if (err == TS_OK) {
        err = ts_fs_write_atomic(path, b.data, b.len, 0600);
    }
    ts_buf_release(&b);
    return err;
}
