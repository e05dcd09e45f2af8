#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/log.h"
#include "encoding/encoding.h"
#include "node_piecestore.h"
#include "node_ttl.h"

#define LOG "node.piecestore"

struct node_upload {
    struct node *n;
    struct ts_order_limit limit;
    struct ts_order order; /* highest accepted; amount 0 until the first */
    int64_t reserved_bytes;
    struct node_blob_writer *writer;
    int finished;
};

struct node_download {
    struct node *n;
    struct ts_order_limit limit;
    struct ts_order order;
    struct node_blob_reader *reader;
    int64_t offset, size; /* the requested range */
    int64_t sent;         /* bytes of the range read so far */
};

static ts_err refuse(char *msg, ts_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static ts_err refuse(char *msg, ts_err err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, NODE_MSG_SIZE, fmt, ap);
    va_end(ap);
    return err;
}

static void id_text(const struct ts_node_id *id, char out[TS_NODE_ID_TEXT_MAX])
{
    if (ts_node_id_to_string(id, out, TS_NODE_ID_TEXT_MAX) != TS_OK) {
        snprintf(out, TS_NODE_ID_TEXT_MAX, "?");
    }
}

static ts_err verify_signature(struct node *n, const struct ts_order_limit *limit, char *msg)
{
    struct ts_peer_identity sat;
    char sid[TS_NODE_ID_TEXT_MAX];
    id_text(&limit->satellite_id, sid);
    for (int refresh = 0; refresh < 2; refresh++) {
        ts_err err = node_trust_key(n->trust, &limit->satellite_id, refresh, &sat);
        if (err != TS_OK) {
            return refuse(msg, TS_ERR_UNAVAILABLE,
                          "cannot get the public key of satellite %s to check the order limit: %s",
                          sid, ts_strerror(err));
        }
        if (ts_order_limit_verify(limit, &sat) == TS_OK) {
            return TS_OK;
        }
    }
    return refuse(msg, TS_ERR_AUTH_FAILED,
                  "order limit signature does not verify with satellite %s's key", sid);
}

ts_err node_limit_verify(struct node *n, const struct ts_order_limit *limit,
                         unsigned actions_allowed, char *msg)
{
    char sid[TS_NODE_ID_TEXT_MAX];
    int64_t now_s = ts_time_now_s();
    ts_err err = TS_OK;
    if ((actions_allowed & (1u << limit->action)) == 0) {
        err = refuse(msg, TS_ERR_PERMISSION_DENIED, "order limit action %s is not allowed here",
                     ts_piece_action_name(limit->action));
    } else if (!ts_node_id_equal(&limit->storage_node_id, ts_identity_id(n->identity))) {
        id_text(&limit->storage_node_id, sid);
        err = refuse(msg, TS_ERR_WRONG_NODE, "order limit is addressed to node %s, not this one",
                     sid);
    } else if (!node_trust_is_trusted(n->trust, &limit->satellite_id)) {
        id_text(&limit->satellite_id, sid);
        err = refuse(msg, TS_ERR_UNTRUSTED, "satellite %s is not trusted by this node", sid);
    } else if ((err = ts_order_limit_check_time(limit, now_s, TS_ORDER_GRACE_S)) != TS_OK) {
        err = refuse(msg, err,
                     "order limit time check failed (%s): created %lld, expires %lld, now %lld",
                     ts_errname(err), (long long)limit->order_creation_s,
                     (long long)limit->order_expiration_s, (long long)now_s);
    } else if ((err = verify_signature(n, limit, msg)) != TS_OK) {
        /* msg set */
    } else if ((err = node_serials_add(n->serials, limit->serial, limit->order_expiration_s,
                                       now_s)) != TS_OK) {
        err = err == TS_ERR_REPLAYED
                  ? refuse(msg, err, "order limit serial was already used (replay)")
                  : refuse(msg, err, "cannot record the serial: %s", ts_strerror(err));
    }
    if (err != TS_OK) {
        atomic_fetch_add(&n->metrics.refused_limits, 1);
        ts_log_info(LOG, "order limit refused action=%s err=%s why=\"%s\"",
                    ts_piece_action_name(limit->action), ts_errname(err), msg);
    }
    return err;
}

/* ---- Upload ---- */

#define UPLOAD_ACTIONS ((1u << TS_PIECE_ACTION_PUT) | (1u << TS_PIECE_ACTION_PUT_REPAIR))
#define DOWNLOAD_ACTIONS                                                                           \
    ((1u << TS_PIECE_ACTION_GET) | (1u << TS_PIECE_ACTION_GET_AUDIT) | (1u << TS_PIECE_ACTION_GET_REPAIR))

static ts_err upload_prepare(struct node_upload *u, char *msg)
{
    struct node *n = u->n;
    const struct ts_order_limit *l = &u->limit;
    if (node_blob_exists(n->blobs, l->satellite_id.bytes, l->piece_id) == TS_OK) {
        return refuse(msg, TS_ERR_EXISTS, "this node already stores that piece ID");
    }
    int64_t piece_max = l->limit_bytes < TS_PIECE_SIZE_MAX ? l->limit_bytes : TS_PIECE_SIZE_MAX;
    int64_t want = piece_max + TS_PIECE_HEADER_SIZE;
    if (node_space_reserve(&n->space, want) != TS_OK) {
        struct node_space_stats st;
        node_space_stats(&n->space, &st);
        return refuse(msg, TS_ERR_NO_SPACE,
                      "not enough allocated space for a piece of up to %lld bytes (free %lld of "
                      "%lld)",
                      (long long)piece_max, (long long)st.free_bytes,
                      (long long)st.allocated_bytes);
    }
    u->reserved_bytes = want;
    ts_err err = node_blob_writer_new(n->blobs, l->satellite_id.bytes, l->piece_id, &u->writer);
    if (err != TS_OK) {
        return refuse(msg, err, "cannot create the piece file: %s", ts_strerror(err));
    }
    return TS_OK;
}

ts_err node_upload_begin(struct node *n, const struct ts_order_limit *limit,
                         struct node_upload **out, char *msg)
{
    *out = NULL;
    ts_err err = node_limit_verify(n, limit, UPLOAD_ACTIONS, msg);
    if (err != TS_OK) {
        return err;
    }
    struct node_upload *u = calloc(1, sizeof *u);
    if (u == NULL) {
        return refuse(msg, TS_ERR_NOMEM, "out of memory");
    }
    u->n = n;
    u->limit = *limit;
    memcpy(u->order.serial, limit->serial, TS_SERIAL_SIZE);
    atomic_fetch_add(&n->metrics.transfers_active, 1);
    err = upload_prepare(u, msg);
    if (err != TS_OK) {
        node_upload_free(u);
        return err;
    }
    *out = u;
    return TS_OK;
}

static ts_err apply_order(const struct ts_order_limit *l, struct ts_order *current,
                          const struct ts_order *o, char *msg)
{
    ts_err err = ts_order_check(l, o, current->amount);
    switch (err) {
    case TS_OK:
        *current = *o;
        return TS_OK;
    case TS_ERR_MALFORMED:
        return refuse(msg, TS_ERR_PROTOCOL, "order serial does not match its order limit");
    case TS_ERR_PROTOCOL:
        return refuse(msg, err, "order amount %lld is below the previous %lld",
                      (long long)o->amount, (long long)current->amount);
    case TS_ERR_LIMIT_EXCEEDED:
        return refuse(msg, err, "order amount %lld exceeds the order limit of %lld bytes",
                      (long long)o->amount, (long long)l->limit_bytes);
    default:
        return refuse(msg, TS_ERR_AUTH_FAILED,
                      "order signature does not verify with the limit's piece public key");
    }
}

ts_err node_upload_order(struct node_upload *u, const struct ts_order *order, char *msg)
{
    return apply_order(&u->limit, &u->order, order, msg);
}

ts_err node_upload_chunk(struct node_upload *u, int64_t offset, const void *data, size_t len,
                         char *msg)
{
    int64_t written = node_blob_writer_size(u->writer);
    if (offset != written) {
        return refuse(msg, TS_ERR_PROTOCOL, "chunk offset %lld is not the next byte %lld",
                      (long long)offset, (long long)written);
    }
    if ((int64_t)len > u->order.amount - written) {
        return refuse(msg, TS_ERR_LIMIT_EXCEEDED,
                      "chunk would take the piece to %lld bytes but only %lld are ordered",
                      (long long)(written + (int64_t)len), (long long)u->order.amount);
    }
    if ((int64_t)len > TS_PIECE_SIZE_MAX - written) {
        return refuse(msg, TS_ERR_TOO_LARGE, "piece exceeds the maximum piece size");
    }
    ts_err err = node_blob_writer_write(u->writer, data, len);
    if (err != TS_OK) {
        return refuse(msg, err, "cannot write the piece: %s", ts_strerror(err));
    }
    atomic_fetch_add(&u->n->metrics.bytes_received, (long long)len);
    return TS_OK;
}

static ts_err check_uplink_hash(struct node_upload *u, const struct ts_piece_hash *h,
                                const uint8_t computed[TS_PIECE_HASH_SIZE], char *msg)
{
    int64_t size = node_blob_writer_size(u->writer);
    if (ts_piece_hash_verify_uplink(h, u->limit.uplink_public_key) != TS_OK) {
        return refuse(msg, TS_ERR_AUTH_FAILED,
                      "piece hash signature does not verify with the limit's piece public key");
    }
    if (memcmp(h->piece_id, u->limit.piece_id, TS_PIECE_ID_SIZE) != 0) {
        return refuse(msg, TS_ERR_PROTOCOL, "piece hash is for another piece ID");
    }
    if (h->piece_size != size) {
        return refuse(msg, TS_ERR_HASH_MISMATCH,
                      "piece hash says %lld bytes but %lld were received",
                      (long long)h->piece_size, (long long)size);
    }
    if (!ts_ct_equal(h->hash, computed, TS_PIECE_HASH_SIZE)) {
        return refuse(msg, TS_ERR_HASH_MISMATCH,
                      "piece hash does not match the SHA-256 of the received bytes");
    }
    return TS_OK;
}

ts_err node_upload_finish(struct node_upload *u, const struct ts_piece_hash *uplink_hash,
                          struct ts_piece_hash *receipt, char *msg)
{
    struct node *n = u->n;
    uint8_t computed[TS_PIECE_HASH_SIZE];
    ts_err err = node_blob_writer_hash(u->writer, computed);
    if (err != TS_OK) {
        return refuse(msg, err, "cannot hash the piece");
    }
    err = check_uplink_hash(u, uplink_hash, computed, msg);
    if (err != TS_OK) {
        return err;
    }
    struct node_piece_header h = {.format_version = NODE_PIECE_FORMAT_VERSION,
                                  .hash_algorithm = TS_HASH_SHA256,
                                  .creation_time_s = ts_time_now_s(),
                                  .uplink_signature_len = uplink_hash->signature_len,
                                  .limit = u->limit};
    memcpy(h.hash, computed, TS_PIECE_HASH_SIZE);
    memcpy(h.uplink_signature, uplink_hash->signature, uplink_hash->signature_len);
    int64_t commit_start_ms = ts_monotonic_ms();
    err = node_blob_writer_commit(u->writer, &h);
    ts_log_debug(LOG, "piece committed ms=%lld", (long long)(ts_monotonic_ms() - commit_start_ms));
    if (err != TS_OK) {
        return refuse(msg, err, "cannot store the piece: %s", ts_strerror(err));
    }
    int64_t size = node_blob_writer_size(u->writer);
    node_space_commit(&n->space, u->reserved_bytes, size + TS_PIECE_HEADER_SIZE);
    u->reserved_bytes = 0;
    u->finished = 1;
    if (n->ttl != NULL && u->limit.piece_expiration_s > 0 &&
        node_ttl_add(n->ttl, u->limit.satellite_id.bytes, u->limit.piece_id,
                     u->limit.piece_expiration_s) != TS_OK) {
        ts_log_warn(LOG, "piece not in the TTL index: GC will remove it after it expires");
    }
    if (u->order.amount > 0 && node_orders_store_add(n->orders, &u->limit, &u->order) != TS_OK) {
        ts_log_warn(LOG, "could not record an upload order for settlement");
    }
    *receipt = (struct ts_piece_hash){.piece_size = size,
                                      .timestamp_s = ts_time_now_s(),
                                      .hash_algorithm = TS_HASH_SHA256};
    memcpy(receipt->piece_id, u->limit.piece_id, TS_PIECE_ID_SIZE);
    memcpy(receipt->hash, computed, TS_PIECE_HASH_SIZE);
    err = ts_piece_hash_sign_node(receipt, n->identity);
    if (err != TS_OK) {
        return refuse(msg, err, "cannot sign the receipt");
    }
    return TS_OK;
}

void node_upload_free(struct node_upload *u)
{
    if (u == NULL) {
        return;
    }
    struct node *n = u->n;
    if (u->reserved_bytes > 0) {
        node_space_unreserve(&n->space, u->reserved_bytes);
    }
    node_blob_writer_free(u->writer); /* removes the temp file unless committed */
    atomic_fetch_add(u->finished ? &n->metrics.uploads_ok : &n->metrics.uploads_failed, 1);
    atomic_fetch_sub(&n->metrics.transfers_active, 1);
    free(u);
}

/* ---- Download ---- */

ts_err node_download_begin(struct node *n, const struct ts_order_limit *limit, int64_t offset,
                           int64_t size, struct node_download **out, char *msg)
{
    *out = NULL;
    ts_err err = node_limit_verify(n, limit, DOWNLOAD_ACTIONS, msg);
    if (err != TS_OK) {
        return err;
    }
    struct node_download *d = calloc(1, sizeof *d);
    if (d == NULL) {
        return refuse(msg, TS_ERR_NOMEM, "out of memory");
    }
    d->n = n;
    d->limit = *limit;
    memcpy(d->order.serial, limit->serial, TS_SERIAL_SIZE);
    d->offset = offset;
    d->size = size;
    atomic_fetch_add(&n->metrics.transfers_active, 1);
    err = node_blob_reader_open(n->blobs, limit->satellite_id.bytes, limit->piece_id, &d->reader);
    if (err != TS_OK) {
        err = refuse(msg, err, err == TS_ERR_NOT_FOUND ? "this node does not store that piece"
                                                       : "the piece file is damaged");
    } else if (offset < 0 || size < 0 || offset > node_blob_reader_size(d->reader) ||
               size > node_blob_reader_size(d->reader) - offset) {
        err = refuse(msg, TS_ERR_INVALID_ARGUMENT,
                     "range offset %lld size %lld is outside the piece of %lld bytes",
                     (long long)offset, (long long)size,
                     (long long)node_blob_reader_size(d->reader));
    } else if (size > limit->limit_bytes) {
        err = refuse(msg, TS_ERR_LIMIT_EXCEEDED, "range of %lld bytes exceeds the limit of %lld",
                     (long long)size, (long long)limit->limit_bytes);
    }
    if (err != TS_OK) {
        node_download_free(d);
        return err;
    }
    *out = d;
    return TS_OK;
}

ts_err node_download_order(struct node_download *d, const struct ts_order *order, char *msg)
{
    return apply_order(&d->limit, &d->order, order, msg);
}

int64_t node_download_remaining(const struct node_download *d)
{
    return d->size - d->sent;
}

int64_t node_download_allowed(const struct node_download *d)
{
    int64_t allowed = d->order.amount - d->sent;
    int64_t remaining = d->size - d->sent;
    if (allowed < 0) {
        allowed = 0;
    }
    return allowed < remaining ? allowed : remaining;
}

ts_err node_download_read(struct node_download *d, void *buf, size_t len, int64_t *offset_out)
{
    TS_ASSERT((int64_t)len <= node_download_allowed(d));
    *offset_out = d->offset + d->sent;
    ts_err err = node_blob_reader_read(d->reader, d->offset + d->sent, buf, len);
    if (err == TS_OK) {
        d->sent += (int64_t)len;
        atomic_fetch_add(&d->n->metrics.bytes_sent, (long long)len);
    }
    return err;
}

int node_download_whole_piece(const struct node_download *d, struct ts_piece_hash *hash_out,
                              struct ts_order_limit *limit_out)
{
    if (d->offset != 0 || d->size != node_blob_reader_size(d->reader)) {
        return 0;
    }
    const struct node_piece_header *h = node_blob_reader_header(d->reader);
    *hash_out = (struct ts_piece_hash){.piece_size = d->size,
                                       .timestamp_s = h->limit.order_creation_s,
                                       .hash_algorithm = h->hash_algorithm,
                                       .signature_len = h->uplink_signature_len};
    memcpy(hash_out->piece_id, h->limit.piece_id, TS_PIECE_ID_SIZE);
    memcpy(hash_out->hash, h->hash, TS_PIECE_HASH_SIZE);
    memcpy(hash_out->signature, h->uplink_signature, h->uplink_signature_len);
    *limit_out = h->limit;
    return 1;
}

void node_download_free(struct node_download *d)
{
    if (d == NULL) {
        return;
    }
    struct node *n = d->n;
    if (d->order.amount > 0 && node_orders_store_add(n->orders, &d->limit, &d->order) != TS_OK) {
        ts_log_warn(LOG, "could not record a download order for settlement");
    }
    int complete = d->reader != NULL && d->sent == d->size;
    atomic_fetch_add(complete ? &n->metrics.downloads_ok : &n->metrics.downloads_failed, 1);
    atomic_fetch_sub(&n->metrics.transfers_active, 1);
    node_blob_reader_free(d->reader);
    free(d);
}

/* ---- Delete and Exists ---- */

ts_err node_piece_delete(struct node *n, const struct ts_order_limit *limit, char *msg)
{
    ts_err err = node_limit_verify(n, limit, 1u << TS_PIECE_ACTION_DELETE, msg);
    if (err != TS_OK) {
        return err;
    }
    int64_t size = 0;
    err = node_blob_trash(n->blobs, limit->satellite_id.bytes, limit->piece_id, ts_time_now_s(),
                          &size);
    if (err == TS_ERR_NOT_FOUND) {
        return refuse(msg, err, "this node does not store that piece");
    }
    if (err != TS_OK) {
        return refuse(msg, err, "cannot move the piece to trash: %s", ts_strerror(err));
    }
    node_space_trash(&n->space, size);
    atomic_fetch_add(&n->metrics.deletes, 1);
    return TS_OK;
}

ts_err node_pieces_exist(struct node *n, const struct ts_node_id *sat,
                         const uint8_t (*piece_ids)[TS_PIECE_ID_SIZE], size_t count,
                         uint32_t *missing, size_t *missing_count, char *msg)
{
    *missing_count = 0;
    if (!node_trust_is_trusted(n->trust, sat)) {
        return refuse(msg, TS_ERR_UNTRUSTED, "only a trusted satellite may ask which pieces exist");
    }
    if (count > TS_EXISTS_PIECES_MAX) {
        return refuse(msg, TS_ERR_TOO_LARGE, "at most %d piece IDs per request",
                      TS_EXISTS_PIECES_MAX);
    }
    atomic_fetch_add(&n->metrics.exists_calls, 1);
    for (size_t i = 0; i < count; i++) {
        ts_err err = node_blob_exists(n->blobs, sat->bytes, piece_ids[i]);
        if (err == TS_ERR_NOT_FOUND) {
            missing[(*missing_count)++] = (uint32_t)i;
        } else if (err != TS_OK) {
            return refuse(msg, err, "cannot check the piece store: %s", ts_strerror(err));
        }
    }
    return TS_OK;
}

/* ---- Upload messages without copies ---- */

/* Reads a tag and, for length-delimited fields, the bounds of the value. */
static int next_field(const uint8_t **p, const uint8_t *end, uint64_t *field, int *wire,
                      uint64_t *varint, const uint8_t **value, size_t *value_len)
{
    uint64_t tag = 0;
    size_t used = 0;
    if (ts_uvarint_get(*p, (size_t)(end - *p), &tag, &used) != TS_OK) {
        return 0;
    }
    *p += used;
    *field = tag >> 3;
    *wire = (int)(tag & 7);
    if (*wire != 0 && *wire != 2) {
        return 0;
    }
    if (ts_uvarint_get(*p, (size_t)(end - *p), varint, &used) != TS_OK) {
        return 0;
    }
    *p += used;
    if (*wire == 2) {
        if (*varint > (uint64_t)(end - *p)) {
            return 0;
        }
        *value = *p;
        *value_len = (size_t)*varint;
        *p += *varint;
    }
    return 1;
}

/* Chunk{offset = 1 (int64), data = 2 (bytes)}, each at most once. */
static int parse_chunk(const uint8_t *p, size_t len, struct node_upload_msg *out)
{
    const uint8_t *end = p + len;
    int seen_offset = 0, seen_data = 0;
    while (p < end) {
        uint64_t field = 0, v = 0;
        int wire = 0;
        const uint8_t *value = NULL;
        size_t value_len = 0;
        if (!next_field(&p, end, &field, &wire, &v, &value, &value_len)) {
            return 0;
        }
        if (field == 1 && wire == 0 && !seen_offset) {
            seen_offset = 1;
            out->offset = (int64_t)v;
        } else if (field == 2 && wire == 2 && !seen_data) {
            seen_data = 1;
            out->data = value;
            out->data_len = value_len;
        } else {
            return 0;
        }
    }
    out->has_chunk = 1;
    return 1;
}

int node_upload_message_parse(const uint8_t *msg, size_t len, struct node_upload_msg *out)
{
    memset(out, 0, sizeof *out);
    const uint8_t *p = msg, *end = msg + len;
    int seen_order = 0, seen_chunk = 0;
    while (p < end) {
        uint64_t field = 0, v = 0;
        int wire = 0;
        const uint8_t *value = NULL;
        size_t value_len = 0;
        if (!next_field(&p, end, &field, &wire, &v, &value, &value_len) || wire != 2) {
            return 0;
        }
        if (field == 2 && !seen_order) {
            seen_order = 1;
            out->order = value;
            out->order_len = value_len;
        } else if (field == 3 && !seen_chunk) {
            seen_chunk = 1;
            if (!parse_chunk(value, value_len, out)) {
                return 0;
            }
        } else {
            return 0;
        }
    }
    return 1;
}
