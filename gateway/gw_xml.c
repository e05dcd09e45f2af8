/* XML writer with escaping, and the bounded element scanner for request bodies. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "gw_xml.h"

void gw_xml_begin(struct gw_xml *x, struct ts_buf *out)
{
    memset(x, 0, sizeof *x);
    x->out = out;
    x->err = ts_buf_append_str(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
}

void gw_xml_open(struct gw_xml *x, const char *name, const char *xmlns)
{
    if (x->err != TS_OK) {
        return;
    }
    if (x->depth == GW_XML_DEPTH_MAX) {
        x->err = TS_ERR_INTERNAL;
        return;
    }
    x->stack[x->depth++] = name;
    x->err = xmlns ? ts_buf_printf(x->out, "<%s xmlns=\"%s\">", name, xmlns)
                   : ts_buf_printf(x->out, "<%s>", name);
}

void gw_xml_close(struct gw_xml *x)
{
    if (x->err != TS_OK) {
        return;
    }
    if (x->depth == 0) {
        x->err = TS_ERR_INTERNAL;
        return;
    }
    x->err = ts_buf_printf(x->out, "</%s>", x->stack[--x->depth]);
}

void gw_xml_text(struct gw_xml *x, const char *name, const char *text)
{
    if (x->err == TS_OK) {
        x->err = ts_buf_printf(x->out, "<%s>", name);
    }
    if (x->err == TS_OK) {
        x->err = gw_xml_escape(x->out, text ? text : "");
    }
    if (x->err == TS_OK) {
        x->err = ts_buf_printf(x->out, "</%s>", name);
    }
}

void gw_xml_u64(struct gw_xml *x, const char *name, uint64_t v)
{
    if (x->err == TS_OK) {
        x->err = ts_buf_printf(x->out, "<%s>%" PRIu64 "</%s>", name, v, name);
    }
}

void gw_xml_bool(struct gw_xml *x, const char *name, bool v)
{
    gw_xml_text(x, name, v ? "true" : "false");
}

ts_err gw_xml_end(struct gw_xml *x)
{
    if (x->err == TS_OK && x->depth != 0) {
        x->err = TS_ERR_INTERNAL;
    }
    return x->err;
}

ts_err gw_xml_escape(struct ts_buf *out, const char *s)
{
    ts_err err = TS_OK;
    for (const unsigned char *p = (const unsigned char *)s; *p && err == TS_OK; p++) {
        switch (*p) {
        case '&':
            err = ts_buf_append_str(out, "&amp;");
            break;
        case '<':
            err = ts_buf_append_str(out, "&lt;");
            break;
        case '>':
            err = ts_buf_append_str(out, "&gt;");
            break;
        case '"':
            err = ts_buf_append_str(out, "&quot;");
            break;
        case '\'':
            err = ts_buf_append_str(out, "&apos;");
            break;
        default:
            if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r') {
                err = ts_buf_printf(out, "&#x%X;", *p);
            } else if (*p == '\r' || *p == '\n' || *p == '\t') {
                /* kept as references so an XML reader does not normalise them away */
                err = ts_buf_printf(out, "&#x%X;", *p);
            } else {
                err = ts_buf_append_byte(out, *p);
            }
        }
    }
    return err;
}

ts_err gw_xml_find(const char *doc, size_t len, const char *name, size_t *pos, const char **inner,
                   size_t *inner_len)
{
    size_t nlen = strlen(name);
    for (size_t i = *pos; i + nlen + 2 <= len; i++) {
        if (doc[i] != '<' || memcmp(doc + i + 1, name, nlen) != 0) {
            continue;
        }
        size_t j = i + 1 + nlen;
        bool space = false;
        while (j < len && (doc[j] == ' ' || doc[j] == '\t' || doc[j] == '\r' || doc[j] == '\n')) {
            j++; /* attributes are not expected; whitespace is tolerated */
            space = true;
        }
        if (j + 1 < len && doc[j] == '/' && doc[j + 1] == '>') {
            *inner = doc + j + 2;
            *inner_len = 0;
            *pos = j + 2;
            return TS_OK;
        }
        if (j >= len || doc[j] != '>') {
            if (space) {
                return TS_ERR_MALFORMED; /* <Name attr=...> */
            }
            continue; /* a longer name sharing the prefix (<Keys> vs <Key>) */
        }
        size_t start = j + 1;
        for (size_t k = start; k + nlen + 3 <= len; k++) {
            if (doc[k] == '<' && doc[k + 1] == '/' && memcmp(doc + k + 2, name, nlen) == 0 &&
                doc[k + 2 + nlen] == '>') {
                *inner = doc + start;
                *inner_len = k - start;
                *pos = k + 3 + nlen;
                return TS_OK;
            }
        }
        return TS_ERR_MALFORMED;
    }
    return TS_ERR_NOT_FOUND;
}

static ts_err append_codepoint(struct ts_buf *out, uint32_t cp)
{
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return TS_ERR_MALFORMED;
    }
    return ts_buf_append_utf8(out, cp);
}

static ts_err unescape_entity(const char *e, size_t elen, struct ts_buf *out)
{
    static const struct {
        const char *name;
        char c;
    } named[] = {{"lt", '<'}, {"gt", '>'}, {"amp", '&'}, {"quot", '"'}, {"apos", '\''}};
    for (size_t i = 0; i < TS_ARRAY_LEN(named); i++) {
        if (elen == strlen(named[i].name) && memcmp(e, named[i].name, elen) == 0) {
            return ts_buf_append_byte(out, (uint8_t)named[i].c);
        }
    }
    if (elen < 2 || e[0] != '#' || elen > 10) {
        return TS_ERR_MALFORMED;
    }
    bool hex = e[1] == 'x' || e[1] == 'X';
    uint32_t cp = 0;
    size_t i = hex ? 2 : 1;
    if (i == elen) {
        return TS_ERR_MALFORMED;
    }
    for (; i < elen; i++) {
        char c = e[i];
        int v = (c >= '0' && c <= '9')          ? c - '0'
                : hex && (c >= 'a' && c <= 'f') ? c - 'a' + 10
                : hex && (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                                : -1;
        if (v < 0) {
            return TS_ERR_MALFORMED;
        }
        cp = cp * (hex ? 16u : 10u) + (uint32_t)v;
        if (cp > 0x10FFFF) {
            return TS_ERR_MALFORMED;
        }
    }
    return append_codepoint(out, cp);
}

ts_err gw_xml_unescape(const char *s, size_t len, struct ts_buf *out)
{
    ts_err err = ts_buf_reserve(out, 0);
    for (size_t i = 0; i < len && err == TS_OK; i++) {
        if (s[i] == '<' || s[i] == 0) {
            return TS_ERR_MALFORMED;
        }
        if (s[i] != '&') {
            err = ts_buf_append_byte(out, (uint8_t)s[i]);
            continue;
        }
        const char *semi = memchr(s + i, ';', len - i);
        if (semi == NULL) {
            return TS_ERR_MALFORMED;
        }
        err = unescape_entity(s + i + 1, (size_t)(semi - s - i - 1), out);
        i = (size_t)(semi - s);
    }
    return err;
}
