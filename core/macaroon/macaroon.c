/* Macaroon chain, binary form and API key text (reference §5.1). */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "crypto/hash.h"
#include "encoding/encoding.h"
#include "macaroon/macaroon.h"
#include "macaroon/macaroon_internal.h"

/* libmacaroons v2 field types (the parser in parse.c lists the rest). */
enum { FIELD_EOS = 0, FIELD_IDENTIFIER = 2, FIELD_SIGNATURE = 6 };
#define FORMAT_VERSION 2

struct caveat_bytes {
    uint8_t *data; /* NULL when len is 0 */
    size_t len;
};

struct ts_macaroon {
    uint8_t head[TS_MACAROON_HEAD_SIZE];
    uint8_t tail[TS_MACAROON_TAIL_SIZE];
    struct caveat_bytes *caveats; /* count entries, capacity cap */
    size_t count, cap;
    size_t wire_size; /* bytes of the binary form, kept <= TS_MACAROON_SIZE_MAX */
};

static size_t uvarint_size(uint64_t v)
{
    uint8_t tmp[TS_UVARINT_SIZE_MAX];
    return ts_uvarint_put(tmp, v);
}

static size_t packet_size(size_t len)
{
    return 1 + uvarint_size(len) + len;
}

/* Version byte, head packet + EOS, caveat-list EOS, tail packet. */
static size_t base_wire_size(void)
{
    return 1 + packet_size(TS_MACAROON_HEAD_SIZE) + 1 + 1 + packet_size(TS_MACAROON_TAIL_SIZE);
}

static ts_err macaroon_alloc(struct ts_macaroon **out)
{
    struct ts_macaroon *m = calloc(1, sizeof *m);
    if (m == NULL) {
        return TS_ERR_NOMEM;
    }
    m->wire_size = base_wire_size();
    *out = m;
    return TS_OK;
}

ts_err ts_macaroon_new_from(const uint8_t head[TS_MACAROON_HEAD_SIZE],
                            const uint8_t secret[TS_MACAROON_SECRET_SIZE], struct ts_macaroon **out)
{
    *out = NULL;
    struct ts_macaroon *m;
    ts_err err = macaroon_alloc(&m);
    if (err != TS_OK) {
        return err;
    }
    memcpy(m->head, head, TS_MACAROON_HEAD_SIZE);
    err = ts_hmac_sha256(secret, TS_MACAROON_SECRET_SIZE, m->head, sizeof m->head, m->tail);
    if (err != TS_OK) {
        ts_macaroon_free(m);
        return err;
    }
    *out = m;
    return TS_OK;
}

ts_err ts_macaroon_new(uint8_t secret_out[TS_MACAROON_SECRET_SIZE], struct ts_macaroon **out)
{
    *out = NULL;
    uint8_t head[TS_MACAROON_HEAD_SIZE];
    ts_err err = ts_random_bytes(head, sizeof head);
    if (err == TS_OK) {
        err = ts_random_bytes(secret_out, TS_MACAROON_SECRET_SIZE);
    }
    if (err == TS_OK) {
        err = ts_macaroon_new_from(head, secret_out, out);
    }
    if (err != TS_OK) {
        ts_wipe(secret_out, TS_MACAROON_SECRET_SIZE);
    }
    return err;
}

ts_err ts_macaroon_new_untrusted(const uint8_t head[TS_MACAROON_HEAD_SIZE],
                                 struct ts_macaroon **out)
{
    ts_err err = macaroon_alloc(out);
    if (err == TS_OK) {
        memcpy((*out)->head, head, TS_MACAROON_HEAD_SIZE);
    }
    return err;
}

void ts_macaroon_set_tail_untrusted(struct ts_macaroon *m,
                                    const uint8_t tail[TS_MACAROON_TAIL_SIZE])
{
    memcpy(m->tail, tail, TS_MACAROON_TAIL_SIZE);
}

void ts_macaroon_free(struct ts_macaroon *m)
{
    if (m == NULL) {
        return;
    }
    for (size_t i = 0; i < m->count; i++) {
        ts_wipe(m->caveats[i].data, m->caveats[i].len);
        free(m->caveats[i].data);
    }
    free(m->caveats);
    ts_wipe(m, sizeof *m);
    free(m);
}

const uint8_t *ts_macaroon_head(const struct ts_macaroon *m)
{
    return m->head;
}

const uint8_t *ts_macaroon_tail(const struct ts_macaroon *m)
{
    return m->tail;
}

size_t ts_macaroon_caveat_count(const struct ts_macaroon *m)
{
    return m->count;
}

const uint8_t *ts_macaroon_caveat(const struct ts_macaroon *m, size_t i, size_t *len)
{
    TS_ASSERT(i < m->count);
    *len = m->caveats[i].len;
    return m->caveats[i].data;
}

/* Stores a copy of the caveat without touching the tail (parse and add share it). */
ts_err ts_macaroon_add_caveat_untrusted(struct ts_macaroon *m, const uint8_t *caveat, size_t len)
{
    if (len > TS_CAVEAT_SIZE_MAX || m->count >= TS_MACAROON_CAVEATS_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    size_t grow = packet_size(len) + 1;
    if (m->wire_size + grow > TS_MACAROON_SIZE_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    if (m->count == m->cap) {
        size_t cap = m->cap == 0 ? 4 : m->cap * 2;
        struct caveat_bytes *p = realloc(m->caveats, cap * sizeof *p);
        if (p == NULL) {
            return TS_ERR_NOMEM;
        }
        m->caveats = p;
        m->cap = cap;
    }
    uint8_t *copy = NULL;
    if (len > 0) {
        copy = malloc(len);
        if (copy == NULL) {
            return TS_ERR_NOMEM;
        }
        memcpy(copy, caveat, len);
    }
    m->caveats[m->count].data = copy;
    m->caveats[m->count].len = len;
    m->count++;
    m->wire_size += grow;
    return TS_OK;
}

ts_err ts_macaroon_add_caveat(struct ts_macaroon *m, const uint8_t *caveat, size_t len)
{
    TS_ASSERT(m != NULL && (caveat != NULL || len == 0));
    uint8_t tail[TS_MACAROON_TAIL_SIZE];
    ts_err err = ts_hmac_sha256(m->tail, sizeof m->tail, caveat, len, tail);
    if (err == TS_OK) {
        err = ts_macaroon_add_caveat_untrusted(m, caveat, len);
    }
    if (err == TS_OK) {
        memcpy(m->tail, tail, sizeof tail);
    }
    ts_wipe(tail, sizeof tail);
    return err;
}

ts_err ts_macaroon_clone(const struct ts_macaroon *m, struct ts_macaroon **out)
{
    *out = NULL;
    struct ts_macaroon *c;
    ts_err err = macaroon_alloc(&c);
    if (err != TS_OK) {
        return err;
    }
    memcpy(c->head, m->head, sizeof c->head);
    memcpy(c->tail, m->tail, sizeof c->tail);
    for (size_t i = 0; i < m->count && err == TS_OK; i++) {
        err = ts_macaroon_add_caveat_untrusted(c, m->caveats[i].data, m->caveats[i].len);
    }
    if (err != TS_OK) {
        ts_macaroon_free(c);
        return err;
    }
    *out = c;
    return TS_OK;
}

static ts_err put_packet(struct ts_buf *b, uint64_t field, const uint8_t *data, size_t len)
{
    ts_err err = ts_uvarint_append(b, field);
    if (err == TS_OK) {
        err = ts_uvarint_append(b, len);
    }
    if (err == TS_OK) {
        err = ts_buf_append(b, data, len);
    }
    return err;
}

ts_err ts_macaroon_serialize(const struct ts_macaroon *m, struct ts_buf *out)
{
    size_t start = out->len;
    ts_err err = ts_buf_reserve(out, m->wire_size);
    if (err == TS_OK) {
        err = ts_buf_append_byte(out, FORMAT_VERSION);
    }
    if (err == TS_OK) {
        err = put_packet(out, FIELD_IDENTIFIER, m->head, sizeof m->head);
    }
    if (err == TS_OK) {
        err = ts_buf_append_byte(out, FIELD_EOS);
    }
    for (size_t i = 0; i < m->count && err == TS_OK; i++) {
        err = put_packet(out, FIELD_IDENTIFIER, m->caveats[i].data, m->caveats[i].len);
        if (err == TS_OK) {
            err = ts_buf_append_byte(out, FIELD_EOS);
        }
    }
    if (err == TS_OK) {
        err = ts_buf_append_byte(out, FIELD_EOS);
    }
    if (err == TS_OK) {
        err = put_packet(out, FIELD_SIGNATURE, m->tail, sizeof m->tail);
    }
    if (err != TS_OK) {
        ts_buf_truncate(out, start);
    } else {
        TS_ASSERT(out->len - start == m->wire_size);
    }
    return err;
}

ts_err ts_macaroon_tails(const struct ts_macaroon *m, const uint8_t secret[TS_MACAROON_SECRET_SIZE],
                         uint8_t (*tails)[TS_MACAROON_TAIL_SIZE], size_t tails_max)
{
    if (tails_max <= m->count) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    ts_err err = ts_hmac_sha256(secret, TS_MACAROON_SECRET_SIZE, m->head, sizeof m->head, tails[0]);
    for (size_t i = 0; i < m->count && err == TS_OK; i++) {
        err = ts_hmac_sha256(tails[i], TS_MACAROON_TAIL_SIZE, m->caveats[i].data, m->caveats[i].len,
                             tails[i + 1]);
    }
    return err;
}

ts_err ts_macaroon_verify(const struct ts_macaroon *m,
                          const uint8_t secret[TS_MACAROON_SECRET_SIZE])
{
    uint8_t tail[TS_MACAROON_TAIL_SIZE], next[TS_MACAROON_TAIL_SIZE];
    ts_err err = ts_hmac_sha256(secret, TS_MACAROON_SECRET_SIZE, m->head, sizeof m->head, tail);
    for (size_t i = 0; i < m->count && err == TS_OK; i++) {
        err = ts_hmac_sha256(tail, sizeof tail, m->caveats[i].data, m->caveats[i].len, next);
        memcpy(tail, next, sizeof tail);
    }
    if (err == TS_OK && !ts_ct_equal(tail, m->tail, sizeof tail)) {
        err = TS_ERR_AUTH_FAILED;
    }
    ts_wipe(tail, sizeof tail);
    ts_wipe(next, sizeof next);
    return err;
}

ts_err ts_macaroon_api_key(const struct ts_macaroon *m, struct ts_buf *out)
{
    struct ts_buf bin;
    ts_buf_init(&bin, TS_MACAROON_SIZE_MAX);
    ts_err err = ts_macaroon_serialize(m, &bin);
    if (err == TS_OK) {
        err = ts_base58check_encode(TS_MACAROON_API_KEY_VERSION, bin.data, bin.len, out);
    }
    ts_buf_release_secret(&bin);
    return err;
}

ts_err ts_macaroon_api_key_parse(const char *text, size_t text_len, struct ts_macaroon **out)
{
    *out = NULL;
    /* base58 text is at most 1.37x its bytes; refuse longer text before the quadratic decode. */
    if (text_len > TS_MACAROON_SIZE_MAX / 100 * 138 + 16) {
        return TS_ERR_TOO_LARGE;
    }
    struct ts_buf bin;
    ts_buf_init(&bin, TS_MACAROON_SIZE_MAX);
    uint8_t version = 0;
    ts_err err = ts_base58check_decode(text, text_len, &version, &bin);
    if (err == TS_OK && version != TS_MACAROON_API_KEY_VERSION) {
        err = TS_ERR_UNSUPPORTED_VERSION;
    }
    if (err == TS_OK) {
        err = ts_macaroon_parse(bin.data, bin.len, out);
    }
    ts_buf_release_secret(&bin);
    return err;
}
