#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/fs.h"
#include "node_config.h"

struct msg {
    char *text;
    size_t size;
};

static ts_err fail(struct msg *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static ts_err fail(struct msg *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->text, m->size, fmt, ap);
    va_end(ap);
    return TS_ERR_CONFIG;
}

ts_err node_config_parse_size(const char *text, int64_t *out)
{
    static const struct {
        const char *suffix;
        int64_t mult;
    } units[] = {{"", 1},
                 {"B", 1},
                 {"KB", 1000},
                 {"MB", 1000 * 1000},
                 {"GB", 1000 * 1000 * 1000},
                 {"TB", 1000LL * 1000 * 1000 * 1000},
                 {"KIB", 1024},
                 {"MIB", 1024 * 1024},
                 {"GIB", 1024 * 1024 * 1024},
                 {"TIB", 1024LL * 1024 * 1024 * 1024}};
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || errno != 0 || v < 0) {
        return TS_ERR_CONFIG;
    }
    while (*end == ' ') {
        end++;
    }
    for (size_t i = 0; i < TS_ARRAY_LEN(units); i++) {
        if (strcasecmp(end, units[i].suffix) == 0) {
            double bytes = v * (double)units[i].mult;
            if (bytes > 9.0e18) {
                return TS_ERR_CONFIG;
            }
            *out = (int64_t)bytes;
            return TS_OK;
        }
    }
    return TS_ERR_CONFIG;
}

static ts_err copy_str(char *dst, size_t dst_size, const char *v, const char *key, struct msg *m)
{
    int n = snprintf(dst, dst_size, "%s", v);
    if (n < 0 || (size_t)n >= dst_size) {
        return fail(m, "value of %s is too long (max %zu bytes)", key, dst_size - 1);
    }
    return TS_OK;
}

static ts_err parse_int(const char *v, long lo, long hi, long *out)
{
    char *end = NULL;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (end == v || *end != 0 || errno != 0 || x < lo || x > hi) {
        return TS_ERR_CONFIG;
    }
    *out = x;
    return TS_OK;
}

/* "host:port" (host may be "[v6]"). */
static ts_err parse_addr(const char *v, char *host, size_t host_size, uint16_t *port)
{
    const char *colon = strrchr(v, ':');
    long p = 0;
    if (colon == NULL || parse_int(colon + 1, 0, 65535, &p) != TS_OK) {
        return TS_ERR_CONFIG;
    }
    const char *h = v;
    size_t hlen = (size_t)(colon - v);
    if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    }
    if (hlen == 0 || hlen >= host_size) {
        return TS_ERR_CONFIG;
    }
    memcpy(host, h, hlen);
    host[hlen] = 0;
    *port = (uint16_t)p;
    return TS_OK;
}

static ts_err add_trusted(struct node_config *cfg, const char *v, struct msg *m)
{
    char one[TS_NODE_URL_MAX + 1];
    while (*v != 0) {
        const char *comma = strchr(v, ',');
        size_t len = comma ? (size_t)(comma - v) : strlen(v);
        while (len > 0 && isspace((unsigned char)*v)) {
            v++, len--;
        }
        while (len > 0 && isspace((unsigned char)v[len - 1])) {
            len--;
        }
        if (len > 0) {
            if (len >= sizeof one) {
                return fail(m, "trusted satellite URL is too long");
            }
            if (cfg->trusted_count >= TS_TRUSTED_SATELLITES_MAX) {
                return fail(m, "too many trusted satellites (max %d)", TS_TRUSTED_SATELLITES_MAX);
            }
            memcpy(one, v, len);
            one[len] = 0;
            ts_err err = ts_node_url_parse(one, &cfg->trusted[cfg->trusted_count]);
            if (err != TS_OK) {
                return fail(m, "trusted satellite '%s' is not a node URL id@host:port: %s", one,
                            ts_strerror(err));
            }
            cfg->trusted_count++;
        }
        v += comma ? (size_t)(comma - v) + 1 : strlen(v);
    }
    return TS_OK;
}

static ts_err set_key(struct node_config *cfg, const char *key, const char *v, struct msg *m)
{
    long x = 0;
    if (strcmp(key, "identity-dir") == 0) {
        return copy_str(cfg->identity_dir, sizeof cfg->identity_dir, v, key, m);
    }
    if (strcmp(key, "storage-dir") == 0) {
        return copy_str(cfg->storage_dir, sizeof cfg->storage_dir, v, key, m);
    }
    if (strcmp(key, "wallet") == 0) {
        return copy_str(cfg->wallet, sizeof cfg->wallet, v, key, m);
    }
    if (strcmp(key, "email") == 0) {
        return copy_str(cfg->email, sizeof cfg->email, v, key, m);
    }
    if (strcmp(key, "ready-file") == 0) {
        return copy_str(cfg->ready_file, sizeof cfg->ready_file, v, key, m);
    }
    if (strcmp(key, "trust") == 0) {
        return add_trusted(cfg, v, m);
    }
    if (strcmp(key, "listen") == 0) {
        return parse_addr(v, cfg->listen_host, sizeof cfg->listen_host, &cfg->listen_port) == TS_OK
                   ? TS_OK
                   : fail(m, "listen must be host:port, not '%s'", v);
    }
    if (strcmp(key, "dashboard") == 0) {
        if (*v == 0) {
            cfg->dashboard_host[0] = 0;
            return TS_OK;
        }
        return parse_addr(v, cfg->dashboard_host, sizeof cfg->dashboard_host,
                          &cfg->dashboard_port) == TS_OK
                   ? TS_OK
                   : fail(m, "dashboard must be host:port or empty, not '%s'", v);
    }
    if (strcmp(key, "allocated") == 0) {
        return node_config_parse_size(v, &cfg->allocated_bytes) == TS_OK
                   ? TS_OK
                   : fail(m, "allocated must be a size like 500GB or 2TiB, not '%s'", v);
    }
    if (strcmp(key, "max-concurrent") == 0) {
        if (parse_int(v, 1, 100000, &x) != TS_OK) {
            return fail(m, "max-concurrent must be 1..100000, not '%s'", v);
        }
        cfg->max_concurrent = (int)x;
        return TS_OK;
    }
    if (strcmp(key, "min-difficulty") == 0) {
        if (parse_int(v, 0, TS_ID_DIFFICULTY_MAX, &x) != TS_OK) {
            return fail(m, "min-difficulty must be 0..%d, not '%s'", TS_ID_DIFFICULTY_MAX, v);
        }
        cfg->difficulty_min = (int)x;
        return TS_OK;
    }
    if (strcmp(key, "external-address") == 0) {
        char host[TS_HOST_NAME_MAX + 1];
        uint16_t port = 0;
        if (parse_addr(v, host, sizeof host, &port) != TS_OK || port == 0) {
            return fail(m, "external-address must be host:port with a nonzero port, not '%s'", v);
        }
        return copy_str(cfg->external_address, sizeof cfg->external_address, v, key, m);
    }
    if (strcmp(key, "checkin-free-space-min") == 0) {
        return node_config_parse_size(v, &cfg->checkin_free_space_min_bytes) == TS_OK
                   ? TS_OK
                   : fail(m, "checkin-free-space-min must be a size like 5GB, not '%s'", v);
    }
    static const struct {
        const char *key;
        size_t offset;
    } seconds[] = {{"checkin-interval", offsetof(struct node_config, checkin_interval_s)},
                   {"settlement-interval", offsetof(struct node_config, settlement_interval_s)},
                   {"settlement-delay", offsetof(struct node_config, settlement_delay_s)},
                   {"ttl-interval", offsetof(struct node_config, ttl_interval_s)}};
    for (size_t i = 0; i < TS_ARRAY_LEN(seconds); i++) {
        if (strcmp(key, seconds[i].key) == 0) {
            long lo = strcmp(key, "settlement-delay") == 0 ? 0 : 1;
            if (parse_int(v, lo, 366L * 24 * 3600, &x) != TS_OK) {
                return fail(m, "%s must be %ld..31622400 seconds, not '%s'", key, lo, v);
            }
            *(int64_t *)(void *)((char *)cfg + seconds[i].offset) = x;
            return TS_OK;
        }
    }
    return fail(m, "unknown setting '%s'", key);
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) {
        s++;
    }
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) {
        s[--n] = 0;
    }
    return s;
}

static ts_err load_file(struct node_config *cfg, const char *path, struct msg *m)
{
    struct ts_buf b;
    ts_buf_init(&b, TS_CONFIG_FILE_MAX);
    ts_err err = ts_fs_read_all(path, TS_CONFIG_FILE_MAX, &b);
    if (err != TS_OK) {
        ts_buf_release(&b);
        return fail(m, "cannot read config file %s: %s", path, ts_strerror(err));
    }
    char *p = b.data ? (char *)b.data : "";
    for (int line_no = 1; err == TS_OK && *p != 0; line_no++) {
        char *nl = strchr(p, '\n');
        if (nl != NULL) {
            *nl = 0;
        }
        char *hash = strchr(p, '#');
        if (hash != NULL) {
            *hash = 0;
        }
        char *line = trim(p);
        if (*line != 0) {
            char *eq = strchr(line, '=');
            if (eq == NULL) {
                err = fail(m, "%s:%d: expected key = value", path, line_no);
            } else {
                *eq = 0;
                err = set_key(cfg, trim(line), trim(eq + 1), m);
            }
        }
        p = nl ? nl + 1 : p + strlen(p);
    }
    ts_buf_release(&b);
    return err;
}

static void set_defaults(struct node_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->listen_host, sizeof cfg->listen_host, "127.0.0.1");
    cfg->listen_port = 28967;
    snprintf(cfg->dashboard_host, sizeof cfg->dashboard_host, "127.0.0.1");
    cfg->dashboard_port = 14002;
    cfg->allocated_bytes = 1000LL * 1000 * 1000 * 1000;
    cfg->max_concurrent = 500;
    cfg->checkin_interval_s = 3600;
    cfg->checkin_free_space_min_bytes = 5LL * 1000 * 1000 * 1000;
    cfg->settlement_interval_s = 3600;
    cfg->settlement_delay_s = 2 * TS_ORDER_GRACE_S; /* grace for limits + time for transfers */
    cfg->ttl_interval_s = 3600;
}

/* Splits argv into (key, value) pairs: --key=value or --key value. */
static ts_err next_flag(int argc, char **argv, int *i, char *key, size_t key_size,
                        const char **value, struct msg *m)
{
    const char *a = argv[*i];
    if (strncmp(a, "--", 2) != 0) {
        return fail(m, "unexpected argument '%s' (settings are --key=value)", a);
    }
    a += 2;
    const char *eq = strchr(a, '=');
    size_t klen = eq ? (size_t)(eq - a) : strlen(a);
    if (klen == 0 || klen >= key_size) {
        return fail(m, "bad flag '%s'", argv[*i]);
    }
    memcpy(key, a, klen);
    key[klen] = 0;
    if (eq != NULL) {
        *value = eq + 1;
    } else if (*i + 1 < argc) {
        *value = argv[++*i];
    } else {
        return fail(m, "flag --%s needs a value", key);
    }
    return TS_OK;
}

ts_err node_config_load(struct node_config *cfg, int argc, char **argv, char *err_msg,
                        size_t err_msg_size)
{
    struct msg m = {err_msg, err_msg_size};
    char key[64];
    const char *v = NULL;
    set_defaults(cfg);
    /* The config file first, so flags override it. */
    for (int i = 1; i < argc; i++) {
        ts_err err = next_flag(argc, argv, &i, key, sizeof key, &v, &m);
        if (err != TS_OK) {
            return err;
        }
        if (strcmp(key, "config") == 0 && (err = load_file(cfg, v, &m)) != TS_OK) {
            return err;
        }
    }
    for (int i = 1; i < argc; i++) {
        ts_err err = next_flag(argc, argv, &i, key, sizeof key, &v, &m);
        if (err == TS_OK && strcmp(key, "config") != 0) {
            err = set_key(cfg, key, v, &m);
        }
        if (err != TS_OK) {
            return err;
        }
    }
    if (cfg->identity_dir[0] == 0 || cfg->storage_dir[0] == 0) {
        return fail(&m, "identity-dir and storage-dir are required");
    }
    if (cfg->trusted_count == 0) {
        return fail(&m, "no trusted satellite: add trust = <id>@<host>:<port>");
    }
    return TS_OK;
}
