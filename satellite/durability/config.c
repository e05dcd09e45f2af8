/* The durability settings file (see service.h and docs/durability.md). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/fs.h"
#include "base/log.h"
#include "satellite/durability/service.h"

#define COMPONENT "satellite.durability"
#define FILE_MAX (64u * 1024)

void sat_durability_config_defaults(struct sat_durability_config *c)
{
    memset(c, 0, sizeof *c);
    c->enabled = true;
    c->loop_interval_s = 2 * 3600;
    c->loop_page_size = 500;
    c->audit_slots = 3;
    c->audit_workers = 1;
    c->audit_pause_ms = 1000;
    c->idle_poll_ms = 5000;
    c->audit = (struct sat_audit_config){.timeout_ms = 15000,
                                         .concurrency = 32,
                                         .reverify_max = 3,
                                         .reverify_retry_s = 600,
                                         .order_expiration_s = 3600};
    sat_reputation_config_defaults(&c->reputation);
    c->repair_workers = 2;
    c->repair_timeout_ms = 300000;
    c->repair = (struct sat_repair_config){
        .concurrency = 16, .extra_fraction = 0.05, .retry_s = 1800, .order_expiration_s = 3600};
}

enum kind { K_BOOL, K_INT, K_INT64, K_DOUBLE };

struct key {
    const char *name;
    enum kind kind;
    size_t offset;
    double min, max;
};

#define F(field) offsetof(struct sat_durability_config, field)
static const struct key KEYS[] = {
    {"enabled", K_BOOL, F(enabled), 0, 1},
    {"loop_interval_s", K_INT64, F(loop_interval_s), 1, 1e9},
    {"loop_page_size", K_INT64, F(loop_page_size), 1, SAT_LOOP_PAGE_MAX},
    {"audit_slots", K_INT, F(audit_slots), 1, SAT_RESERVOIR_SLOTS_MAX},
    {"audit_workers", K_INT, F(audit_workers), 0, SAT_DURABILITY_WORKERS_MAX},
    {"audit_pause_ms", K_INT64, F(audit_pause_ms), 0, 1e9},
    {"idle_poll_ms", K_INT64, F(idle_poll_ms), 10, 1e9},
    {"audit_timeout_ms", K_INT, F(audit.timeout_ms), 100, 1e7},
    {"audit_concurrency", K_INT, F(audit.concurrency), 1, TS_EC_SHARES_MAX},
    {"reverify_max", K_INT, F(audit.reverify_max), 1, 1000},
    {"reverify_retry_s", K_INT64, F(audit.reverify_retry_s), 0, 1e9},
    {"reputation_lambda", K_DOUBLE, F(reputation.lambda), 0, 1},
    {"reputation_weight", K_DOUBLE, F(reputation.weight), 0, 1e6},
    {"reputation_alpha0", K_DOUBLE, F(reputation.alpha0), 0, 1e9},
    {"reputation_beta0", K_DOUBLE, F(reputation.beta0), 0, 1e9},
    {"reputation_dq_threshold", K_DOUBLE, F(reputation.dq_threshold), 0, 1},
    {"reputation_unknown_lambda", K_DOUBLE, F(reputation.unknown_lambda), 0, 1},
    {"reputation_suspend_threshold", K_DOUBLE, F(reputation.suspend_threshold), 0, 1},
    {"vetting_audits", K_INT64, F(reputation.vetting_audits), 0, 1e9},
    {"vetting_age_s", K_INT64, F(reputation.vetting_age_s), 0, 1e10},
    {"online_window_s", K_INT64, F(reputation.online_window_s), 1, 1e9},
    {"online_tracking_s", K_INT64, F(reputation.online_tracking_s), 1, 1e10},
    {"online_threshold", K_DOUBLE, F(reputation.online_threshold), 0, 1},
    {"online_windows_min", K_INT64, F(reputation.online_windows_min), 0, 1e6},
    {"absence_dq_s", K_INT64, F(reputation.absence_dq_s), 0, 1e10},
    {"repair_workers", K_INT, F(repair_workers), 0, SAT_DURABILITY_WORKERS_MAX},
    {"repair_timeout_ms", K_INT, F(repair_timeout_ms), 100, 1e8},
    {"repair_concurrency", K_INT, F(repair.concurrency), 1, TS_EC_SHARES_MAX},
    {"repair_extra_fraction", K_DOUBLE, F(repair.extra_fraction), 0, 1},
    {"repair_retry_s", K_INT64, F(repair.retry_s), 0, 1e9},
};
#undef F

static ts_err set_value(struct sat_durability_config *c, const struct key *k, const char *v)
{
    char *end = NULL;
    errno = 0;
    double d = strtod(v, &end);
    if (end == v || *end != 0 || errno != 0 || d < k->min || d > k->max) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    void *field = (char *)c + k->offset;
    if (k->kind != K_DOUBLE && d != (double)(int64_t)d) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    switch (k->kind) {
    case K_BOOL:
        *(bool *)field = d != 0.0;
        break;
    case K_INT:
        *(int *)field = (int)d;
        break;
    case K_INT64:
        *(int64_t *)field = (int64_t)d;
        break;
    case K_DOUBLE:
        *(double *)field = d;
        break;
    }
    return TS_OK;
}

static char *trim(char *s, char *end)
{
    while (s < end && (*s == ' ' || *s == '\t')) {
        s++;
    }
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r')) {
        end--;
    }
    *end = 0;
    return s;
}

static ts_err parse_line(struct sat_durability_config *c, char *line, char *end, int lineno)
{
    char *s = trim(line, end);
    if (*s == 0 || *s == '#') {
        return TS_OK;
    }
    char *eq = strchr(s, '=');
    if (eq == NULL) {
        ts_log_error(COMPONENT, "durability line=%d missing '='", lineno);
        return TS_ERR_CONFIG;
    }
    char *key = trim(s, eq), *value = trim(eq + 1, eq + 1 + strlen(eq + 1));
    for (size_t i = 0; i < TS_ARRAY_LEN(KEYS); i++) {
        if (strcmp(KEYS[i].name, key) == 0) {
            if (set_value(c, &KEYS[i], value) != TS_OK) {
                ts_log_error(COMPONENT, "durability line=%d key=%s bad value '%s'", lineno, key,
                             value);
                return TS_ERR_CONFIG;
            }
            return TS_OK;
        }
    }
    ts_log_error(COMPONENT, "durability line=%d unknown key '%s'", lineno, key);
    return TS_ERR_CONFIG;
}

ts_err sat_durability_config_parse(struct sat_durability_config *c, const char *text, size_t len)
{
    char *copy = malloc(len + 1);
    if (copy == NULL) {
        return TS_ERR_NOMEM;
    }
    memcpy(copy, text, len);
    copy[len] = 0;
    ts_err err = TS_OK;
    int lineno = 1;
    for (char *line = copy; err == TS_OK && line < copy + len; lineno++) {
        char *nl = memchr(line, '\n', (size_t)(copy + len - line));
        char *end = nl != NULL ? nl : copy + len;
        err = parse_line(c, line, end, lineno);
        line = end + 1;
    }
    free(copy);
    return err;
}

ts_err sat_durability_config_load(struct sat_durability_config *c, const char *dir)
{
    char path[SAT_PATH_MAX + 32];
    struct ts_buf b;
    sat_durability_config_defaults(c);
    snprintf(path, sizeof path, "%s/%s", dir, SAT_DURABILITY_FILE);
    ts_buf_init(&b, FILE_MAX);
    ts_err err = ts_fs_read_all(path, FILE_MAX, &b);
    if (err == TS_ERR_NOT_FOUND) {
        ts_buf_release(&b);
        return TS_OK;
    }
    if (err == TS_OK) {
        err = sat_durability_config_parse(c, b.len > 0 ? (const char *)b.data : "", b.len);
    }
    ts_buf_release(&b);
    return err;
}
