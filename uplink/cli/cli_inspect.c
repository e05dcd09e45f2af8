/* Access grants as JSON for `access inspect` (see cli_inspect.h). */
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "cli/cli_inspect.h"
#include "cli/cli_parse.h"
#include "macaroon/macaroon.h"

static ts_err hex(struct ts_buf *out, const uint8_t *p, size_t n)
{
    ts_err err = ts_buf_append_byte(out, '"');
    for (size_t i = 0; err == TS_OK && i < n; i++) {
        err = ts_buf_printf(out, "%02x", p[i]);
    }
    return err == TS_OK ? ts_buf_append_byte(out, '"') : err;
}

static ts_err time_field(struct ts_buf *out, const char *name, int64_t t_s)
{
    char text[40];
    if (t_s == 0) {
        return TS_OK;
    }
    cli_time_format(t_s, text, sizeof text);
    return ts_buf_printf(out, ", \"%s\": \"%s\"", name, text);
}

static ts_err caveat_paths(struct ts_buf *out, const struct ts_caveat *c)
{
    ts_err err = ts_buf_append_str(out, ", \"allowed_paths\": [");
    for (size_t i = 0; err == TS_OK && i < c->path_count; i++) {
        const struct ts_caveat_path *p = &c->paths[i];
        char bucket[TS_BUCKET_NAME_MAX + 1];
        memcpy(bucket, p->bucket, p->bucket_len);
        bucket[p->bucket_len] = 0;
        err = ts_buf_append_str(out, i ? ", {\"bucket\": " : "{\"bucket\": ");
        if (err == TS_OK) {
            err = cli_json_string(out, bucket);
        }
        if (err == TS_OK) {
            err = ts_buf_printf(
                out, ", \"encrypted_prefix_bytes\": %zu, \"encrypted_prefix\": ", p->prefix_len);
        }
        if (err == TS_OK) {
            err = hex(out, p->prefix, p->prefix_len);
        }
        if (err == TS_OK) {
            err = ts_buf_append_byte(out, '}');
        }
    }
    return err == TS_OK ? ts_buf_append_byte(out, ']') : err;
}

static ts_err caveat(struct ts_buf *out, const uint8_t *data, size_t len)
{
    struct ts_caveat c;
    if (ts_caveat_decode(data, len, &c) != TS_OK) {
        ts_caveat_release(&c);
        return ts_buf_append_str(out, "{\"undecodable\": true}");
    }
    ts_err err =
        ts_buf_printf(out,
                      "{\"disallow_reads\": %s, \"disallow_writes\": %s, "
                      "\"disallow_lists\": %s, \"disallow_deletes\": %s",
                      c.disallow_reads ? "true" : "false", c.disallow_writes ? "true" : "false",
                      c.disallow_lists ? "true" : "false", c.disallow_deletes ? "true" : "false");
    if (err == TS_OK && c.path_count > 0) {
        err = caveat_paths(out, &c);
    }
    if (err == TS_OK) {
        err = time_field(out, "not_before", c.not_before_s);
    }
    if (err == TS_OK) {
        err = time_field(out, "not_after", c.not_after_s);
    }
    if (err == TS_OK && c.max_object_ttl_s > 0) {
        err = ts_buf_printf(out, ", \"max_object_ttl_s\": %lld", (long long)c.max_object_ttl_s);
    }
    ts_caveat_release(&c);
    return err == TS_OK ? ts_buf_append_byte(out, '}') : err;
}

static const char *cipher_name(enum ts_path_cipher c)
{
    return c == TS_PATH_CIPHER_NULL ? "none" : c == TS_PATH_CIPHER_AESGCM ? "aes-gcm" : "unknown";
}

static ts_err api_key(struct ts_buf *out, const struct ts_macaroon *m)
{
    ts_err err = ts_buf_append_str(out, "  \"api_key\": {\n    \"head\": ");
    if (err == TS_OK) {
        err = hex(out, ts_macaroon_head(m), TS_MACAROON_HEAD_SIZE);
    }
    if (err == TS_OK) {
        err = ts_buf_append_str(out, ",\n    \"caveats\": [");
    }
    for (size_t i = 0; err == TS_OK && i < ts_macaroon_caveat_count(m); i++) {
        size_t len;
        const uint8_t *data = ts_macaroon_caveat(m, i, &len);
        err = ts_buf_append_str(out, i ? ",\n      " : "\n      ");
        if (err == TS_OK) {
            err = caveat(out, data, len);
        }
    }
    const char *end = ts_macaroon_caveat_count(m) > 0 ? "\n    ]\n  },\n" : "]\n  },\n";
    return err == TS_OK ? ts_buf_append_str(out, end) : err;
}

static ts_err store(struct ts_buf *out, const struct ts_access *a)
{
    ts_err err = ts_buf_printf(out,
                               "  \"encryption\": {\n    \"default_key\": %s,\n"
                               "    \"default_path_cipher\": \"%s\",\n    \"entries\": [",
                               ts_access_has_default_key(a) ? "true" : "false",
                               cipher_name(ts_access_default_cipher(a)));
    for (size_t i = 0; err == TS_OK && i < ts_access_entry_count(a); i++) {
        struct ts_access_entry e;
        ts_access_entry_get(a, i, &e);
        err = ts_buf_append_str(out, i ? ",\n      {\"bucket\": " : "\n      {\"bucket\": ");
        if (err == TS_OK) {
            err = cli_json_string(out, e.bucket);
        }
        if (err == TS_OK) {
            err = ts_buf_append_str(out, ", \"prefix\": ");
        }
        if (err == TS_OK) {
            err = cli_json_string(out, e.unencrypted_prefix);
        }
        if (err == TS_OK) {
            err = ts_buf_printf(out, ", \"path_cipher\": \"%s\"}", cipher_name(e.cipher));
        }
    }
    const char *end = ts_access_entry_count(a) > 0 ? "\n    ]\n  }\n" : "]\n  }\n";
    return err == TS_OK ? ts_buf_append_str(out, end) : err;
}

ts_err cli_inspect_json(const struct ts_access *a, struct ts_buf *out)
{
    ts_err err = ts_buf_append_str(out, "{\n  \"satellite\": ");
    if (err == TS_OK) {
        err = cli_json_string(out, ts_access_satellite_url(a));
    }
    if (err == TS_OK) {
        err = ts_buf_append_str(out, ",\n");
    }
    if (err == TS_OK) {
        err = api_key(out, ts_access_api_key(a));
    }
    if (err == TS_OK) {
        err = store(out, a);
    }
    return err == TS_OK ? ts_buf_append_str(out, "}\n") : err;
}
