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
#include "base/parse.h"
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
    return ts_parse_size(text, out) == TS_OK ? TS_OK : TS_ERR_CONFIG;
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

ts_err node_config_parse_duration(const char *text, int64_t *out_s)
{
    /* Nodes count whole seconds: "1.5h" and "500ms" are refused. */
    return ts_parse_duration(text, 1000, TS_PARSE_WHOLE, out_s) == TS_OK ? TS_OK : TS_ERR_CONFIG;
}

/* How a key's value is parsed. */
enum kind {
    K_STR,       /* copied (size = buffer size) */
    K_SECONDS,   /* duration into an int64_t field, min..max seconds */
    K_BYTES,     /* size into an int64_t field */
    K_INT,       /* whole number into an int field, min..max */
    K_BOOL,      /* true/false into an int field */
    K_LISTEN,    /* host:port */
    K_DASHBOARD, /* host:port or "" */
    K_TRUST,     /* satellite node URLs, added */
    K_EXTERNAL,  /* host:port with a nonzero port */
};

struct key {
    const char *name;
    enum kind kind;
    size_t offset, size;
    int64_t min, max;
};

#define F(field) offsetof(struct node_config, field), sizeof(((struct node_config *)0)->field)
#define YEAR_S (366LL * 24 * 3600)
static const struct key KEYS[] = {
    {"identity-dir", K_STR, F(identity_dir), 0, 0},
    {"storage-dir", K_STR, F(storage_dir), 0, 0},
    {"wallet", K_STR, F(wallet), 0, 0},
    {"email", K_STR, F(email), 0, 0},
    {"ready-file", K_STR, F(ready_file), 0, 0},
    {"trust", K_TRUST, 0, 0, 0, 0},
    {"listen", K_LISTEN, 0, 0, 0, 0},
    {"dashboard", K_DASHBOARD, 0, 0, 0, 0},
    {"external-address", K_EXTERNAL, F(external_address), 0, 0},
    {"allocated", K_BYTES, F(allocated_bytes), 0, 0},
    {"checkin-free-space-min", K_BYTES, F(checkin_free_space_min_bytes), 0, 0},
    {"max-concurrent", K_INT, F(max_concurrent), 1, 100000},
    {"min-difficulty", K_INT, F(difficulty_min), 0, TS_ID_DIFFICULTY_MAX},
    {"checkin-interval", K_SECONDS, F(checkin_interval_s), 1, YEAR_S},
    {"settlement-interval", K_SECONDS, F(settlement_interval_s), 1, YEAR_S},
    {"settlement-delay", K_SECONDS, F(settlement_delay_s), 0, YEAR_S},
    {"ttl-interval", K_SECONDS, F(ttl_interval_s), 1, YEAR_S},
    {"ttl-grace", K_SECONDS, F(ttl_grace_s), 0, YEAR_S},
    {"retain-skew", K_SECONDS, F(retain_skew_s), 0, YEAR_S},
    {"trash-keep", K_SECONDS, F(trash_keep_s), 0, 10 * YEAR_S},
    {"trash-interval", K_SECONDS, F(trash_interval_s), 1, YEAR_S},
    {"local", K_BOOL, F(local), 0, 1},
};
#undef F

static ts_err set_special(struct node_config *cfg, const struct key *k, const char *v,
                          struct msg *m)
{
    char host[TS_HOST_NAME_MAX + 1];
    uint16_t port = 0;
    switch (k->kind) {
    case K_TRUST:
        return add_trusted(cfg, v, m);
    case K_LISTEN:
        return parse_addr(v, cfg->listen_host, sizeof cfg->listen_host, &cfg->listen_port) == TS_OK
                   ? TS_OK
                   : fail(m, "listen must be host:port, not '%s'", v);
    case K_DASHBOARD:
        if (*v == 0) {
            cfg->dashboard_host[0] = 0;
            return TS_OK;
        }
        return parse_addr(v, cfg->dashboard_host, sizeof cfg->dashboard_host,
                          &cfg->dashboard_port) == TS_OK
                   ? TS_OK
                   : fail(m, "dashboard must be host:port or empty, not '%s'", v);
    case K_EXTERNAL:
        if (parse_addr(v, host, sizeof host, &port) != TS_OK || port == 0) {
            return fail(m, "external-address must be host:port with a nonzero port, not '%s'", v);
        }
        return copy_str(cfg->external_address, sizeof cfg->external_address, v, k->name, m);
    default:
        return fail(m, "internal: key %s", k->name);
    }
}

static ts_err set_key(struct node_config *cfg, const char *key, const char *v, struct msg *m)
{
    const struct key *k = NULL;
    for (size_t i = 0; i < TS_ARRAY_LEN(KEYS) && k == NULL; i++) {
        k = strcmp(KEYS[i].name, key) == 0 ? &KEYS[i] : NULL;
    }
    if (k == NULL) {
        return fail(m, "unknown setting '%s' (every key: docs/node.md)", key);
    }
    void *field = (char *)cfg + k->offset;
    int64_t x = 0;
    long n = 0;
    switch (k->kind) {
    case K_STR:
        return copy_str(field, k->size, v, key, m);
    case K_BYTES:
        if (node_config_parse_size(v, &x) != TS_OK) {
            return fail(m, "%s must be a size like 5GB or 1GiB, not '%s'", key, v);
        }
        *(int64_t *)field = x;
        return TS_OK;
    case K_SECONDS:
        if (node_config_parse_duration(v, &x) != TS_OK || x < k->min || x > k->max) {
            return fail(m,
                        "%s must be a duration like 30s, 5m, 2h or 7d (bare number: seconds) "
                        "between %lld and %lld s, not '%s'",
                        key, (long long)k->min, (long long)k->max, v);
        }
        *(int64_t *)field = x;
        return TS_OK;
    case K_INT:
        if (parse_int(v, (long)k->min, (long)k->max, &n) != TS_OK) {
            return fail(m, "%s must be %lld..%lld, not '%s'", key, (long long)k->min,
                        (long long)k->max, v);
        }
        *(int *)field = (int)n;
        return TS_OK;
    case K_BOOL:
        if (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0) {
            *(int *)field = 1;
        } else if (strcmp(v, "0") == 0 || strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0) {
            *(int *)field = 0;
        } else {
            return fail(m, "%s must be true or false, not '%s'", key, v);
        }
        return TS_OK;
    default:
        return set_special(cfg, k, v, m);
    }
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
    cfg->ttl_grace_s = TS_NODE_TTL_GRACE_S;
    cfg->retain_skew_s = 72 * 3600;
    cfg->trash_keep_s = 7 * 24 * 3600;
    cfg->trash_interval_s = 3600;
}

/* The local-network profile (--local): minutes instead of hours and days, so a network on one
 * machine shows GC, trash expiry and TTL deletion while someone watches. Keys given explicitly
 * still win (the profile only changes the defaults). */
static void set_local_defaults(struct node_config *cfg)
{
    cfg->local = 1;
    cfg->checkin_interval_s = 5 * 60;
    cfg->settlement_interval_s = 5 * 60;
    cfg->ttl_interval_s = 60;
    cfg->ttl_grace_s = 60;
    cfg->retain_skew_s = 10 * 60;
    cfg->trash_keep_s = 3600;
    cfg->trash_interval_s = 60;
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
    } else if (strcmp(key, "local") == 0) {
        *value = "1"; /* --local alone switches the profile on */
    } else if (*i + 1 < argc) {
        *value = argv[++*i];
    } else {
        return fail(m, "flag --%s needs a value", key);
    }
    return TS_OK;
}

/* The config file (--config) first, then the flags, so flags override the file. */
static ts_err load_pass(struct node_config *cfg, int argc, char **argv, struct msg *m)
{
    char key[64];
    const char *v = NULL;
    for (int i = 1; i < argc; i++) {
        ts_err err = next_flag(argc, argv, &i, key, sizeof key, &v, m);
        if (err != TS_OK) {
            return err;
        }
        if (strcmp(key, "config") == 0 && (err = load_file(cfg, v, m)) != TS_OK) {
            return err;
        }
    }
    for (int i = 1; i < argc; i++) {
        ts_err err = next_flag(argc, argv, &i, key, sizeof key, &v, m);
        if (err == TS_OK && strcmp(key, "config") != 0) {
            err = set_key(cfg, key, v, m);
        }
        if (err != TS_OK) {
            return err;
        }
    }
    return TS_OK;
}

ts_err node_config_load(struct node_config *cfg, int argc, char **argv, char *err_msg,
                        size_t err_msg_size)
{
    struct msg m = {err_msg, err_msg_size};
    set_defaults(cfg);
    ts_err err = load_pass(cfg, argc, argv, &m);
    if (err == TS_OK && cfg->local) {
        /* The profile changes defaults only: start over from them, then apply every key again. */
        set_defaults(cfg);
        set_local_defaults(cfg);
        err = load_pass(cfg, argc, argv, &m);
    }
    if (err != TS_OK) {
        return err;
    }
    if (cfg->identity_dir[0] == 0 || cfg->storage_dir[0] == 0) {
        return fail(&m, "identity-dir and storage-dir are required");
    }
    if (cfg->trusted_count == 0) {
        return fail(&m, "no trusted satellite: add trust = <id>@<host>:<port>");
    }
    return TS_OK;
}
