/* Node IDs: difficulty, base58check text form, and "nodeid@host:port" URLs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/buf.h"
#include "encoding/encoding.h"
#include "identity/identity.h"

int ts_node_id_difficulty(const struct ts_node_id *id)
{
    /* The last byte is the version: it always counts as 8 "free" zero bits (reference §6). */
    int bits = 8;
    for (int i = TS_NODE_ID_SIZE - 2; i >= 0; i--) {
        uint8_t b = id->bytes[i];
        if (b != 0) {
            return bits + __builtin_ctz(b);
        }
        bits += 8;
    }
    return bits;
}

int ts_node_id_equal(const struct ts_node_id *a, const struct ts_node_id *b)
{
    return memcmp(a->bytes, b->bytes, TS_NODE_ID_SIZE) == 0;
}

int ts_node_id_is_zero(const struct ts_node_id *id)
{
    static const struct ts_node_id zero;
    return ts_node_id_equal(id, &zero);
}

ts_err ts_node_id_to_string(const struct ts_node_id *id, char *out, size_t out_size)
{
    uint8_t payload[TS_NODE_ID_SIZE];
    memcpy(payload, id->bytes, sizeof payload);
    payload[TS_NODE_ID_SIZE - 1] = 0;
    struct ts_buf b;
    ts_buf_init(&b, TS_NODE_ID_TEXT_MAX);
    ts_err err = ts_base58check_encode(id->bytes[TS_NODE_ID_SIZE - 1], payload, sizeof payload, &b);
    if (err == TS_OK && b.len + 1 > out_size) {
        err = TS_ERR_TOO_LARGE;
    }
    if (err == TS_OK) {
        memcpy(out, b.data, b.len + 1);
    }
    ts_buf_release(&b);
    return err;
}

ts_err ts_node_id_from_string(const char *text, struct ts_node_id *out)
{
    memset(out, 0, sizeof *out);
    size_t len = strnlen(text, TS_NODE_ID_TEXT_MAX);
    if (len == 0 || len >= TS_NODE_ID_TEXT_MAX) {
        return TS_ERR_MALFORMED;
    }
    struct ts_buf b;
    ts_buf_init(&b, TS_NODE_ID_SIZE + 8);
    uint8_t version = 0;
    ts_err err = ts_base58check_decode(text, len, &version, &b);
    if (err == TS_ERR_TOO_LARGE || err == TS_ERR_TRUNCATED) {
        err = TS_ERR_MALFORMED;
    }
    if (err == TS_OK && (b.len != TS_NODE_ID_SIZE || b.data[TS_NODE_ID_SIZE - 1] != 0)) {
        err = TS_ERR_MALFORMED;
    }
    if (err == TS_OK && version != TS_NODE_ID_VERSION) {
        err = TS_ERR_UNSUPPORTED_VERSION;
    }
    if (err == TS_OK) {
        memcpy(out->bytes, b.data, TS_NODE_ID_SIZE);
        out->bytes[TS_NODE_ID_SIZE - 1] = version;
    }
    ts_buf_release(&b);
    return err;
}

/* Host names and address literals: letters, digits, '.', '-', '_' and ':' (IPv6 in brackets). */
static int host_valid(const char *host, size_t len, int bracketed)
{
    if (len == 0 || len > TS_HOST_NAME_MAX) {
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        char c = host[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '-' || c == '_' || (bracketed && (c == ':' || c == '%'));
        if (!ok) {
            return 0;
        }
    }
    return 1;
}

static ts_err port_parse(const char *s, uint16_t *out)
{
    size_t n = strlen(s);
    if (n == 0 || n > 5) {
        return TS_ERR_MALFORMED;
    }
    unsigned long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return TS_ERR_MALFORMED;
        }
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v == 0 || v > 65535) {
        return TS_ERR_MALFORMED;
    }
    *out = (uint16_t)v;
    return TS_OK;
}

/* Splits "host:port" or "[v6]:port" (in place) into out->host and out->port. */
static ts_err host_port_parse(char *s, struct ts_node_url *out)
{
    const char *host = s;
    char *colon;
    int bracketed = s[0] == '[';
    if (bracketed) {
        char *close = strchr(s, ']');
        if (close == NULL || close[1] != ':') {
            return TS_ERR_MALFORMED;
        }
        *close = 0;
        host = s + 1;
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL) {
            return TS_ERR_MALFORMED;
        }
        *colon = 0;
    }
    size_t host_len = strlen(host);
    if (!host_valid(host, host_len, bracketed) || (!bracketed && strchr(host, ':') != NULL)) {
        return TS_ERR_MALFORMED;
    }
    ts_err err = port_parse(colon + 1, &out->port);
    if (err != TS_OK) {
        return err;
    }
    memcpy(out->host, host, host_len + 1);
    return TS_OK;
}

ts_err ts_node_url_parse(const char *text, struct ts_node_url *out)
{
    memset(out, 0, sizeof *out);
    size_t len = strnlen(text, TS_NODE_URL_MAX + 1);
    if (len > TS_NODE_URL_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    char copy[TS_NODE_URL_MAX + 1];
    memcpy(copy, text, len + 1);
    char *at = strchr(copy, '@');
    if (at == NULL || at == copy) {
        return TS_ERR_MALFORMED;
    }
    *at = 0;
    ts_err err = ts_node_id_from_string(copy, &out->id);
    if (err == TS_OK) {
        err = host_port_parse(at + 1, out);
    }
    if (err != TS_OK) {
        memset(out, 0, sizeof *out);
    }
    return err;
}

ts_err ts_node_url_format(const struct ts_node_url *url, char *out, size_t out_size)
{
    char id[TS_NODE_ID_TEXT_MAX];
    ts_err err = ts_node_id_to_string(&url->id, id, sizeof id);
    if (err != TS_OK) {
        return err;
    }
    int bracket = strchr(url->host, ':') != NULL;
    int n = snprintf(out, out_size, "%s@%s%s%s:%u", id, bracket ? "[" : "", url->host,
                     bracket ? "]" : "", (unsigned)url->port);
    if (n < 0 || (size_t)n >= out_size) {
        if (out_size > 0) {
            out[0] = 0;
        }
        return TS_ERR_TOO_LARGE;
    }
    return TS_OK;
}
