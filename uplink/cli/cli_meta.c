/* User metadata arguments: a JSON object of strings or k=v pairs, and the JSON string writer
 * (see cli_parse.h). The JSON reader accepts exactly one flat object of string values. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "cli/cli_parse.h"

static void say(char *why, size_t why_size, const char *text)
{
    if (why != NULL && why_size > 0) {
        snprintf(why, why_size, "%s", text);
    }
}

void cli_meta_init(struct cli_meta *m)
{
    memset(m, 0, sizeof(*m));
}

void cli_meta_release(struct cli_meta *m)
{
    for (size_t i = 0; i < m->count; i++) {
        free(m->key[i]);
        free(m->value[i]);
    }
    cli_meta_init(m);
}

/* Drops entries past count (undoing a partly applied JSON object). */
static void meta_truncate(struct cli_meta *m, size_t count, size_t text_len)
{
    while (m->count > count) {
        m->count--;
        free(m->key[m->count]);
        free(m->value[m->count]);
    }
    m->text_len = text_len;
}

/* Takes ownership of key and value (frees them on error). */
static ts_err meta_add(struct cli_meta *m, char *key, char *value, char *why, size_t why_size)
{
    ts_err err = TS_OK;
    size_t add = strlen(key) + strlen(value);
    if (key[0] == 0) {
        say(why, why_size, "metadata keys must not be empty");
        err = TS_ERR_INVALID_ARGUMENT;
    } else if (m->count >= CLI_META_ENTRIES_MAX || m->text_len + add > CLI_META_TEXT_MAX) {
        say(why, why_size, "too much metadata (at most 64 entries, 8 KiB)");
        err = TS_ERR_TOO_LARGE;
    }
    for (size_t i = 0; err == TS_OK && i < m->count; i++) {
        if (strcmp(m->key[i], key) == 0) {
            say(why, why_size, "a metadata key is given twice");
            err = TS_ERR_INVALID_ARGUMENT;
        }
    }
    if (err != TS_OK) {
        free(key);
        free(value);
        return err;
    }
    m->key[m->count] = key;
    m->value[m->count] = value;
    m->count++;
    m->text_len += add;
    return TS_OK;
}

ts_err cli_meta_add_pair(struct cli_meta *m, const char *pair, char *why, size_t why_size)
{
    const char *eq = strchr(pair, '=');
    if (eq == NULL) {
        say(why, why_size, "--meta takes key=value");
        return TS_ERR_INVALID_ARGUMENT;
    }
    if (strlen(pair) > CLI_META_TEXT_MAX) {
        say(why, why_size, "metadata entry too large");
        return TS_ERR_TOO_LARGE;
    }
    char *key = strndup(pair, (size_t)(eq - pair));
    char *value = strdup(eq + 1);
    if (key == NULL || value == NULL) {
        free(key);
        free(value);
        return TS_ERR_NOMEM;
    }
    return meta_add(m, key, value, why, why_size);
}

/* ---- JSON reading ---- */

static void skip_space(const char **p)
{
    while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r') {
        *p += 1;
    }
}

static int hex4(const char *p, uint32_t *v)
{
    uint32_t x = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) {
            return -1;
        }
        x = x * 16 + (uint32_t)d;
    }
    *v = x;
    return 0;
}


/* A \uXXXX escape at *p (after the backslash and 'u'), joining a surrogate pair. */
static ts_err read_unicode(const char **p, struct ts_buf *b)
{
    uint32_t cp, lo;
    if (hex4(*p, &cp) != 0) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    *p += 4;
    if (cp >= 0xDC00 && cp <= 0xDFFF) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if ((*p)[0] != '\\' || (*p)[1] != 'u' || hex4(*p + 2, &lo) != 0 || lo < 0xDC00 ||
            lo > 0xDFFF) {
            return TS_ERR_INVALID_ARGUMENT;
        }
        *p += 6;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    return cp == 0 ? TS_ERR_INVALID_ARGUMENT : ts_buf_append_utf8(b, cp);
}

/* A JSON string at *p (starting at its quote) into a new NUL-terminated string. */
static ts_err read_string(const char **p, char **out)
{
    static const char esc_in[] = "\"\\/bfnrt", esc_out[] = "\"\\/\b\f\n\r\t";
    if (**p != '"') {
        return TS_ERR_INVALID_ARGUMENT;
    }
    *p += 1;
    struct ts_buf b;
    ts_buf_init(&b, CLI_META_TEXT_MAX);
    ts_err err = ts_buf_append_str(&b, "");
    while (err == TS_OK && **p != '"') {
        unsigned char c = (unsigned char)**p;
        if (c == 0 || c < 0x20) {
            err = TS_ERR_INVALID_ARGUMENT; /* end of text or a raw control byte */
        } else if (c != '\\') {
            err = ts_buf_append_byte(&b, c);
            *p += 1;
        } else if ((*p)[1] == 'u') {
            *p += 2;
            err = read_unicode(p, &b);
        } else {
            const char *e = (*p)[1] != 0 ? strchr(esc_in, (*p)[1]) : NULL;
            err = e == NULL ? TS_ERR_INVALID_ARGUMENT
                            : ts_buf_append_byte(&b, (uint8_t)esc_out[e - esc_in]);
            *p += 2;
        }
    }
    if (err == TS_OK) {
        *p += 1;
        *out = (char *)ts_buf_detach(&b, NULL);
    }
    ts_buf_release(&b);
    return err;
}

/* One "key": "value" member at *p. */
static ts_err read_member(const char **p, struct cli_meta *m, char *why, size_t why_size)
{
    char *key = NULL, *value = NULL;
    ts_err err = read_string(p, &key);
    skip_space(p);
    if (err == TS_OK && **p != ':') {
        err = TS_ERR_INVALID_ARGUMENT;
    }
    if (err == TS_OK) {
        *p += 1;
        skip_space(p);
        err = read_string(p, &value);
    }
    if (err != TS_OK) {
        say(why, why_size,
            err == TS_ERR_TOO_LARGE ? "metadata value too large"
                                    : "metadata must be a JSON object of strings, like "
                                      "{\"key\":\"value\"}");
        free(key);
        free(value);
        return err;
    }
    return meta_add(m, key, value, why, why_size);
}

ts_err cli_meta_add_json(struct cli_meta *m, const char *json, char *why, size_t why_size)
{
    size_t count0 = m->count, text0 = m->text_len;
    const char *p = json;
    say(why, why_size, "");
    ts_err err = TS_OK;
    skip_space(&p);
    if (*p != '{') {
        err = TS_ERR_INVALID_ARGUMENT;
    } else {
        p++;
        skip_space(&p);
    }
    bool first = true;
    while (err == TS_OK && *p != '}') {
        if (!first) {
            if (*p != ',') {
                err = TS_ERR_INVALID_ARGUMENT;
                break;
            }
            p++;
            skip_space(&p);
        }
        first = false;
        err = read_member(&p, m, why, why_size);
        skip_space(&p);
    }
    if (err == TS_OK) {
        p++;
        skip_space(&p);
        err = *p == 0 ? TS_OK : TS_ERR_INVALID_ARGUMENT;
    }
    if (err != TS_OK) {
        if (err == TS_ERR_INVALID_ARGUMENT && why != NULL && why[0] == 0) {
            say(why, why_size,
                "metadata must be a JSON object of strings, like {\"key\":\"value\"}");
        }
        meta_truncate(m, count0, text0);
    }
    return err;
}

/* ---- JSON writing ---- */

ts_err cli_json_string(struct ts_buf *out, const char *s)
{
    ts_err err = ts_buf_append_byte(out, '"');
    for (const unsigned char *p = (const unsigned char *)s; err == TS_OK && *p != 0; p++) {
        if (*p == '"' || *p == '\\') {
            err = ts_buf_printf(out, "\\%c", *p);
        } else if (*p == '\n') {
            err = ts_buf_append_str(out, "\\n");
        } else if (*p == '\t') {
            err = ts_buf_append_str(out, "\\t");
        } else if (*p < 0x20 || *p == 0x7F) {
            err = ts_buf_printf(out, "\\u%04x", *p);
        } else {
            err = ts_buf_append_byte(out, *p);
        }
    }
    return err == TS_OK ? ts_buf_append_byte(out, '"') : err;
}
