/* Configuration file reading and writing (see config.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/fs.h"
#include "base/log.h"
#include "satellite/config.h"

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
}

/* K_INT is an int64_t field, K_INT32 and K_BOOL int fields. */
enum kind { K_STR, K_INT, K_INT32, K_DOUBLE, K_BOOL, K_REDUNDANCY };

struct key {
    const char *name;
    enum kind kind;
    size_t offset;
    size_t size; /* strings: buffer size */
};

#define F(field) offsetof(struct sat_config, field)
static const struct key KEYS[] = {
    {"db", K_STR, F(db_url), sizeof(((struct sat_config *)0)->db_url)},
    {"listen", K_STR, F(listen), SAT_ADDRESS_MAX},
    {"public_address", K_STR, F(public_address), SAT_ADDRESS_MAX},
    {"redundancy", K_REDUNDANCY, F(redundancy), 0},
    {"segment_size_max", K_INT, F(segment_size_max), 0},
    {"online_window_s", K_INT, F(online_window_s), 0},
    {"free_disk_min", K_INT, F(free_disk_min), 0},
    {"new_node_fraction", K_DOUBLE, F(new_node_fraction), 0},
    {"distinct_nets", K_BOOL, F(distinct_nets), 0},
    {"fill_unvetted", K_BOOL, F(fill_unvetted), 0},
    {"zombie_deadline_s", K_INT, F(zombie_deadline_s), 0},
    {"commit_interval_s", K_INT, F(commit_interval_s), 0},
    {"order_expiration_s", K_INT, F(order_expiration_s), 0},
    {"cleanup_interval_s", K_INT, F(cleanup_interval_s), 0},
    {"node_cache_s", K_INT, F(node_cache_s), 0},
    {"node_difficulty_min", K_INT32, F(node_difficulty_min), 0},
    {"buckets_max", K_INT, F(buckets_max), 0},
    {"list_limit_max", K_INT, F(list_limit_max), 0},
    {"ping_timeout_ms", K_INT32, F(ping_timeout_ms), 0},
    {"max_connections", K_INT32, F(max_connections), 0},
    {"rate_limit_per_s", K_INT, F(rate_limit_per_s), 0},
    {"part_size_min", K_INT, F(part_size_min), 0},
    {"multipart_deadline_s", K_INT, F(multipart_deadline_s), 0},
};
#undef F

static void trim(char **s, char **end)
{
    while (*s < *end && (**s == ' ' || **s == '\t')) {
        (*s)++;
    }
    while (*end > *s && ((*end)[-1] == ' ' || (*end)[-1] == '\t' || (*end)[-1] == '\r')) {
        (*end)--;
    }
}

static ts_err set_value(struct sat_config *c, const struct key *k, const char *v)
{
    char *field = (char *)c + k->offset;
    char *end = NULL;
    errno = 0;
    if (k->kind == K_STR) {
        size_t n = strlen(v);
        if (n >= k->size) {
            return TS_ERR_TOO_LARGE;
        }
        memcpy(field, v, n + 1);
        return TS_OK;
    }
    if (k->kind == K_REDUNDANCY) {
        return sat_redundancy_parse(v, (struct sat_redundancy *)(void *)field);
    }
    if (k->kind == K_DOUBLE) {
        double d = strtod(v, &end);
        if (end == v || *end != 0 || errno != 0 || !(d >= 0.0 && d <= 1.0)) {
            return TS_ERR_INVALID_ARGUMENT;
        }
        *(double *)(void *)field = d;
        return TS_OK;
    }
    long long x = strtoll(v, &end, 10);
    if (end == v || *end != 0 || errno != 0 || x < 0) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    if (k->kind == K_BOOL && x > 1) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    if (k->kind == K_INT) {
        *(int64_t *)(void *)field = x;
    } else {
        if (x > 1000000) {
            return TS_ERR_INVALID_ARGUMENT;
        }
        *(int *)(void *)field = (int)x;
    }
    return TS_OK;
}

static ts_err parse_line(struct sat_config *c, char *s, char *end, int lineno)
{
    trim(&s, &end);
    if (s == end || *s == '#') {
        return TS_OK;
    }
    char *eq = memchr(s, '=', (size_t)(end - s));
    if (eq == NULL) {
        ts_log_error("satellite.config", "line=%d missing '='", lineno);
        return TS_ERR_CONFIG;
    }
    char *kend = eq, *v = eq + 1;
    trim(&s, &kend);
    trim(&v, &end);
    *kend = 0;
    *end = 0;
    for (size_t i = 0; i < TS_ARRAY_LEN(KEYS); i++) {
        if (strcmp(KEYS[i].name, s) == 0) {
            ts_err err = set_value(c, &KEYS[i], v);
            if (err != TS_OK) {
                ts_log_error("satellite.config", "line=%d key=%s bad value '%s': %s", lineno, s, v,
                             ts_strerror(err));
                return TS_ERR_CONFIG;
            }
            return TS_OK;
        }
    }
    ts_log_error("satellite.config", "line=%d unknown key '%s'", lineno, s);
    return TS_ERR_CONFIG;
}

ts_err sat_config_parse(struct sat_config *c, const char *text, size_t len)
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
        err = parse_line(c, line, end, lineno++);
        line = end + 1;
    }
    free(copy);
    if (err == TS_OK && c->redundancy.total == 0) {
        err = TS_ERR_CONFIG;
    }
    return err;
}

ts_err sat_config_load(struct sat_config *c, const char *dir)
{
    char path[SAT_PATH_MAX + 16];
    struct ts_buf b;
    sat_config_defaults(c, dir);
    snprintf(path, sizeof path, "%s/%s", dir, SAT_CONFIG_FILE);
    ts_buf_init(&b, SAT_CONFIG_FILE_MAX);
    ts_err err = ts_fs_read_all(path, SAT_CONFIG_FILE_MAX, &b);
    if (err == TS_OK) {
        err = sat_config_parse(c, b.len > 0 ? (const char *)b.data : "", b.len);
    }
    ts_buf_release(&b);
    return err;
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
        return ts_buf_printf(b, "%s = %g\n", k->name, *(const double *)(const void *)field);
    case K_INT:
        return ts_buf_printf(b, "%s = %lld\n", k->name,
                             (long long)*(const int64_t *)(const void *)field);
    case K_INT32:
    case K_BOOL:
        break;
    }
    return ts_buf_printf(b, "%s = %d\n", k->name, *(const int *)(const void *)field);
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
