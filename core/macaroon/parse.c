/*
 * Parser of the binary macaroon form (reference §5.1), strict and bounded:
 *   0x02  [loc] id EOS  { [loc] id EOS }  EOS  sig
 * where a field is uvarint(type) uvarint(len) bytes, EOS is the single byte 0x00, loc is type 1
 * (dropped), id type 2, sig type 6 with exactly 32 bytes. Fields inside a section must appear in
 * increasing type order. Third-party caveats (a verification id, type 4) are refused.
 */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "encoding/encoding.h"
#include "macaroon/macaroon.h"
#include "macaroon/macaroon_internal.h"

enum { FIELD_EOS = 0, FIELD_LOCATION = 1, FIELD_IDENTIFIER = 2, FIELD_SIGNATURE = 6 };

struct reader {
    const uint8_t *data;
    size_t len, pos;
};

static ts_err read_uvarint(struct reader *r, uint64_t *v)
{
    size_t used = 0;
    ts_err err = ts_uvarint_get(r->data + r->pos, r->len - r->pos, v, &used);
    if (err == TS_OK) {
        r->pos += used;
    }
    return err;
}

/* Reads the length and body of a packet whose type was already read. */
static ts_err read_body(struct reader *r, const uint8_t **body, size_t *body_len)
{
    uint64_t n = 0;
    ts_err err = read_uvarint(r, &n);
    if (err != TS_OK) {
        return err;
    }
    if (n > r->len - r->pos) {
        return TS_ERR_TRUNCATED;
    }
    *body = r->data + r->pos;
    *body_len = (size_t)n;
    r->pos += (size_t)n;
    return TS_OK;
}

/* One section: optional location, required identifier, EOS. */
static ts_err read_section(struct reader *r, const uint8_t **id, size_t *id_len)
{
    uint64_t last = FIELD_EOS;
    *id = NULL;
    for (;;) {
        uint64_t field = 0;
        ts_err err = read_uvarint(r, &field);
        if (err != TS_OK) {
            return err;
        }
        if (field == FIELD_EOS) {
            break;
        }
        if (field <= last || (field != FIELD_LOCATION && field != FIELD_IDENTIFIER)) {
            return TS_ERR_MALFORMED;
        }
        last = field;
        const uint8_t *body = NULL;
        size_t body_len = 0;
        err = read_body(r, &body, &body_len);
        if (err != TS_OK) {
            return err;
        }
        if (field == FIELD_IDENTIFIER) {
            *id = body;
            *id_len = body_len;
        }
    }
    return last == FIELD_IDENTIFIER ? TS_OK : TS_ERR_MALFORMED;
}

/* Caveat sections until the EOS that ends the list. */
static ts_err read_caveats(struct reader *r, struct ts_macaroon *m)
{
    for (;;) {
        if (r->pos == r->len) {
            return TS_ERR_TRUNCATED;
        }
        if (r->data[r->pos] == FIELD_EOS) {
            r->pos++;
            return TS_OK;
        }
        const uint8_t *id = NULL;
        size_t id_len = 0;
        ts_err err = read_section(r, &id, &id_len);
        if (err == TS_OK) {
            err = ts_macaroon_add_caveat_untrusted(m, id, id_len);
        }
        if (err != TS_OK) {
            return err;
        }
    }
}

static ts_err read_signature(struct reader *r, struct ts_macaroon *m)
{
    uint64_t field = 0;
    ts_err err = read_uvarint(r, &field);
    if (err != TS_OK) {
        return err;
    }
    if (field != FIELD_SIGNATURE) {
        return TS_ERR_MALFORMED;
    }
    const uint8_t *sig = NULL;
    size_t sig_len = 0;
    err = read_body(r, &sig, &sig_len);
    if (err != TS_OK) {
        return err;
    }
    if (sig_len != TS_MACAROON_TAIL_SIZE || r->pos != r->len) {
        return TS_ERR_MALFORMED;
    }
    ts_macaroon_set_tail_untrusted(m, sig);
    return TS_OK;
}

ts_err ts_macaroon_parse(const uint8_t *data, size_t len, struct ts_macaroon **out)
{
    TS_ASSERT(out != NULL && (data != NULL || len == 0));
    *out = NULL;
    if (len > TS_MACAROON_SIZE_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    if (len == 0) {
        return TS_ERR_TRUNCATED;
    }
    if (data[0] != 2) {
        return TS_ERR_UNSUPPORTED_VERSION;
    }
    struct reader r = {.data = data, .len = len, .pos = 1};
    const uint8_t *head = NULL;
    size_t head_len = 0;
    ts_err err = read_section(&r, &head, &head_len);
    if (err != TS_OK) {
        return err;
    }
    if (head_len != TS_MACAROON_HEAD_SIZE) {
        return TS_ERR_MALFORMED;
    }
    struct ts_macaroon *m = NULL;
    err = ts_macaroon_new_untrusted(head, &m);
    if (err == TS_OK) {
        err = read_caveats(&r, m);
    }
    if (err == TS_OK) {
        err = read_signature(&r, m);
    }
    if (err != TS_OK) {
        ts_macaroon_free(m);
        return err;
    }
    *out = m;
    return TS_OK;
}
