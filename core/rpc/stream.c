/* Framed connections and the stream operations both sides share: send, receive, errors. */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/log.h"
#include "rpc/rpc_internal.h"

/* Raw payloads up to this size are copied next to their header so they leave as one TLS record;
 * bigger ones are written in place (one extra small record per big message costs nothing). */
#define COPY_PAYLOAD_MAX (16u * 1024)
/* Bytes fields at least this long are encrypted from the caller's memory (see pack_append). */
#define PACK_DIRECT_MIN (16u * 1024)

ts_err rpc_conn_new(struct ts_tls_conn *tls, struct rpc_conn **out)
{
    *out = NULL;
    struct rpc_conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        ts_tls_conn_close(tls);
        return TS_ERR_NOMEM;
    }
    c->tls = tls;
    ts_buf_init(&c->payload, TS_RPC_FRAME_MAX);
    ts_buf_init(&c->out, TS_RPC_FRAME_HEADER_SIZE + TS_RPC_FRAME_MAX);
    ts_buf_init(&c->pending_payload, TS_RPC_FRAME_MAX);
    *out = c;
    return TS_OK;
}

void rpc_conn_free(struct rpc_conn *c)
{
    if (c == NULL) {
        return;
    }
    ts_tls_conn_close(c->tls);
    ts_buf_release(&c->payload);
    ts_buf_release(&c->out);
    ts_buf_release(&c->pending_payload);
    free(c);
}

int rpc_conn_reusable(const struct rpc_conn *c)
{
    return !c->broken && !c->has_pending && !ts_tls_conn_broken(c->tls);
}

static ts_err read_payload(struct rpc_conn *c, struct ts_buf *into, uint32_t len)
{
    ts_buf_clear(into);
    ts_err err = ts_buf_reserve(into, len == 0 ? 1 : len);
    if (err == TS_OK && len > 0) {
        err = ts_tls_conn_read_full(c->tls, into->data, len);
    }
    if (err == TS_OK) {
        into->len = len;
        into->data[len] = 0;
    }
    return err;
}

/* Reads one frame from the wire (not the read-ahead slot) into h and `into`. */
static ts_err read_wire_frame(struct rpc_conn *c, struct ts_rpc_frame_header *h,
                              struct ts_buf *into)
{
    uint8_t hdr[TS_RPC_FRAME_HEADER_SIZE];
    ts_err err = ts_tls_conn_read_full(c->tls, hdr, sizeof hdr);
    if (err != TS_OK) {
        return err;
    }
    err = ts_rpc_frame_header_decode(hdr, sizeof hdr, h);
    if (err != TS_OK) {
        c->broken = 1;
        return err == TS_ERR_TOO_LARGE ? TS_ERR_TOO_LARGE : TS_ERR_PROTOCOL;
    }
    return read_payload(c, into, h->length);
}

ts_err rpc_conn_read_frame(struct rpc_conn *c, struct ts_rpc_frame_header *h)
{
    if (c->has_pending) {
        struct ts_buf tmp = c->payload; /* swap buffers: no copy */
        c->payload = c->pending_payload;
        c->pending_payload = tmp;
        *h = c->pending;
        c->has_pending = 0;
        return TS_OK;
    }
    return read_wire_frame(c, h, &c->payload);
}

ts_err rpc_conn_write_frame(struct rpc_conn *c, enum ts_rpc_frame_kind kind, uint32_t stream_id,
                            const void *payload, size_t len)
{
    if (len > TS_RPC_FRAME_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    struct ts_rpc_frame_header h = {.kind = kind, .stream_id = stream_id, .length = (uint32_t)len};
    uint8_t hdr[TS_RPC_FRAME_HEADER_SIZE];
    ts_rpc_frame_header_encode(&h, hdr);
    if (len > COPY_PAYLOAD_MAX) {
        ts_err err = ts_tls_conn_write(c->tls, hdr, sizeof hdr);
        return err != TS_OK ? err : ts_tls_conn_write(c->tls, payload, len);
    }
    ts_buf_clear(&c->out);
    ts_err err = ts_buf_append(&c->out, hdr, sizeof hdr);
    if (err == TS_OK && len > 0) {
        err = ts_buf_append(&c->out, payload, len);
    }
    return err != TS_OK ? err : ts_tls_conn_write(c->tls, c->out.data, c->out.len);
}

ts_err rpc_conn_write_error(struct rpc_conn *c, uint32_t stream_id, ts_err code, const char *msg)
{
    uint8_t payload[4 + TS_RPC_ERROR_MESSAGE_MAX];
    if (msg == NULL) {
        msg = ts_strerror(code);
    }
    size_t n = strnlen(msg, TS_RPC_ERROR_MESSAGE_MAX);
    ts_be32_put(payload, (uint32_t)code);
    memcpy(payload + 4, msg, n);
    return rpc_conn_write_frame(c, TS_RPC_FRAME_ERROR, stream_id, payload, 4 + n);
}

/* ---- Receiving ---- */

/* Server view of a transport failure: the client left, which ends its request like a cancel. */
static ts_err server_map(struct ts_rpc_stream *s, ts_err err)
{
    if (err == TS_ERR_CLOSED || err == TS_ERR_TLS || err == TS_ERR_CANCELED || err == TS_ERR_IO) {
        s->canceled = 1;
        return TS_ERR_CANCELED;
    }
    s->canceled = 1; /* timeouts and framing errors end the stream too */
    return err;
}

/* Server: handles a frame; returns TS_OK with *msg = 1 for a message for the handler. */
static ts_err server_frame(struct ts_rpc_stream *s, const struct ts_rpc_frame_header *h, int *msg)
{
    *msg = 0;
    if (h->stream_id < s->id) {
        return TS_OK; /* left over from an earlier stream */
    }
    if (h->stream_id > s->id || h->kind == TS_RPC_FRAME_CANCEL) {
        s->canceled = 1;
        if (h->stream_id > s->id && h->kind == TS_RPC_FRAME_INVOKE) {
            /* the client moved on to its next stream: keep the frame for the serve loop */
            struct rpc_conn *c = s->conn;
            struct ts_buf tmp = c->pending_payload;
            c->pending_payload = c->payload;
            c->payload = tmp;
            c->pending = *h;
            c->has_pending = 1;
        }
        return TS_ERR_CANCELED;
    }
    switch (h->kind) {
    case TS_RPC_FRAME_MESSAGE:
        *msg = 1;
        return TS_OK;
    case TS_RPC_FRAME_CLOSE_SEND:
        s->remote_done = 1;
        return TS_ERR_END_OF_STREAM;
    default:
        s->conn->broken = 1;
        s->canceled = 1;
        return TS_ERR_PROTOCOL;
    }
}

/* Client: handles a frame; returns TS_OK with *msg = 1 for a message for the caller. */
static ts_err client_frame(struct ts_rpc_stream *s, const struct ts_rpc_frame_header *h, int *msg)
{
    *msg = 0;
    struct rpc_conn *c = s->conn;
    s->frames_seen++;
    if (h->stream_id != 0 && h->stream_id < s->id) {
        return TS_OK; /* the tail of a stream we canceled earlier */
    }
    if (h->stream_id > s->id || (h->stream_id == 0 && h->kind != TS_RPC_FRAME_ERROR)) {
        c->broken = 1;
        return TS_ERR_PROTOCOL;
    }
    if (h->kind == TS_RPC_FRAME_MESSAGE) {
        *msg = 1;
        return TS_OK;
    }
    if (h->kind == TS_RPC_FRAME_CLOSE) {
        s->terminated = 1;
        return TS_ERR_END_OF_STREAM;
    }
    if (h->kind != TS_RPC_FRAME_ERROR) {
        c->broken = 1;
        return TS_ERR_PROTOCOL;
    }
    ts_err code = TS_OK;
    if (ts_rpc_frame_error_decode(c->payload.data, c->payload.len, &code, s->error_message,
                                  sizeof s->error_message) != TS_OK) {
        c->broken = 1;
        return TS_ERR_PROTOCOL;
    }
    if (h->stream_id == 0) {
        c->broken = 1; /* connection-level error (busy): the server closes */
    }
    s->terminated = 1;
    s->remote_err = code;
    return code;
}

static ts_err recv_frame(struct ts_rpc_stream *s)
{
    for (;;) {
        if (s->server && (s->canceled || s->remote_done)) {
            return s->canceled ? TS_ERR_CANCELED : TS_ERR_END_OF_STREAM;
        }
        if (!s->server && s->terminated) {
            return s->remote_err != TS_OK ? s->remote_err : TS_ERR_END_OF_STREAM;
        }
        struct ts_rpc_frame_header h;
        ts_err err = rpc_conn_read_frame(s->conn, &h);
        if (err != TS_OK) {
            return s->server ? server_map(s, err) : err;
        }
        int msg = 0;
        err = s->server ? server_frame(s, &h, &msg) : client_frame(s, &h, &msg);
        if (err != TS_OK || msg) {
            return err;
        }
    }
}

ts_err ts_rpc_stream_recv_raw(struct ts_rpc_stream *s, const uint8_t **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    ts_err err = recv_frame(s);
    if (err == TS_OK) {
        *data = s->conn->payload.data;
        *len = s->conn->payload.len;
    }
    return err;
}

ts_err ts_rpc_stream_recv(struct ts_rpc_stream *s, const ProtobufCMessageDescriptor *desc,
                          ProtobufCMessage **out)
{
    *out = NULL;
    const uint8_t *data = NULL;
    size_t len = 0;
    ts_err err = ts_rpc_stream_recv_raw(s, &data, &len);
    if (err != TS_OK) {
        return err;
    }
    *out = protobuf_c_message_unpack(desc, NULL, len, data);
    return *out == NULL ? TS_ERR_MALFORMED : TS_OK;
}

/* ---- Sending ---- */

/* Before sending: if the peer has written something, read one frame ahead so a cancel (server)
 * or an error (client) is noticed while we only send. */
static ts_err peek(struct ts_rpc_stream *s)
{
    struct rpc_conn *c = s->conn;
    if (c->has_pending || !ts_tls_conn_readable(c->tls)) {
        return TS_OK;
    }
    struct ts_rpc_frame_header h;
    ts_err err = read_wire_frame(c, &h, &c->pending_payload);
    if (err != TS_OK) {
        return s->server ? server_map(s, err) : err;
    }
    if (h.stream_id != 0 && h.stream_id < s->id) {
        return TS_OK;
    }
    if (s->server && (h.kind == TS_RPC_FRAME_CANCEL || h.stream_id > s->id)) {
        s->canceled = 1;
        c->has_pending = h.kind == TS_RPC_FRAME_INVOKE; /* the serve loop wants it */
        c->pending = h;
        return TS_ERR_CANCELED;
    }
    c->pending = h;
    c->has_pending = 1;
    if (!s->server && h.kind == TS_RPC_FRAME_ERROR) {
        int msg = 0;
        ts_err moved = rpc_conn_read_frame(c, &h); /* from the slot into c->payload */
        return moved != TS_OK ? moved : client_frame(s, &h, &msg);
    }
    return TS_OK;
}

static ts_err send_check(struct ts_rpc_stream *s)
{
    if (s->server && (s->canceled || s->error_sent)) {
        return s->canceled ? TS_ERR_CANCELED : TS_ERR_INVALID_ARGUMENT;
    }
    if (!s->server && (s->canceled || s->close_sent)) {
        return s->canceled ? TS_ERR_CANCELED : TS_ERR_INVALID_ARGUMENT;
    }
    if (!s->server && s->terminated && s->remote_err != TS_OK) {
        return s->remote_err;
    }
    return peek(s);
}

static ts_err send_map(struct ts_rpc_stream *s, ts_err err)
{
    return s->server && err != TS_OK && err != TS_ERR_TOO_LARGE ? server_map(s, err) : err;
}

ts_err ts_rpc_stream_send_raw(struct ts_rpc_stream *s, const void *data, size_t len)
{
    if (len > TS_RPC_FRAME_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    ts_err err = send_check(s);
    if (err == TS_OK) {
        err = rpc_conn_write_frame(s->conn, TS_RPC_FRAME_MESSAGE, s->id, data, len);
    }
    return send_map(s, err);
}

/* protobuf-c output for a large message: small pieces (tags, lengths, scalars) are gathered in
 * c->out, a bytes field of at least PACK_DIRECT_MIN goes to TLS straight from the caller's memory
 * (the chunk of an upload or download is not copied once more before encryption). */
struct pack_out {
    ProtobufCBuffer base;
    struct rpc_conn *conn;
    size_t written; /* bytes handed to TLS */
    ts_err err;
};

static void pack_append(ProtobufCBuffer *buffer, size_t len, const uint8_t *data)
{
    struct pack_out *p = (struct pack_out *)buffer;
    struct rpc_conn *c = p->conn;
    if (p->err != TS_OK || len == 0) {
        return;
    }
    if (len < PACK_DIRECT_MIN) {
        p->err = ts_buf_append(&c->out, data, len);
        return;
    }
    if (c->out.len > 0) {
        p->err = ts_tls_conn_write(c->tls, c->out.data, c->out.len);
        p->written += c->out.len;
        ts_buf_clear(&c->out);
    }
    if (p->err == TS_OK) {
        p->err = ts_tls_conn_write(c->tls, data, len);
        p->written += len;
    }
}

/* Writes header + message; the packed bytes are size long. */
static ts_err send_packed(struct rpc_conn *c, const struct ts_rpc_frame_header *h,
                          const ProtobufCMessage *msg, size_t size)
{
    ts_buf_clear(&c->out);
    ts_err err = ts_buf_reserve(&c->out, TS_RPC_FRAME_HEADER_SIZE + size);
    if (err != TS_OK) {
        return err;
    }
    ts_rpc_frame_header_encode(h, c->out.data);
    size_t packed = protobuf_c_message_pack(msg, c->out.data + TS_RPC_FRAME_HEADER_SIZE);
    TS_ASSERT(packed == size);
    c->out.len = TS_RPC_FRAME_HEADER_SIZE + size;
    return ts_tls_conn_write(c->tls, c->out.data, c->out.len);
}

static ts_err send_direct(struct rpc_conn *c, const struct ts_rpc_frame_header *h,
                          const ProtobufCMessage *msg, size_t size)
{
    struct pack_out p = {.base = {.append = pack_append}, .conn = c, .err = TS_OK};
    ts_buf_clear(&c->out);
    ts_err err = ts_buf_reserve(&c->out, TS_RPC_FRAME_HEADER_SIZE + PACK_DIRECT_MIN);
    if (err != TS_OK) {
        return err;
    }
    ts_rpc_frame_header_encode(h, c->out.data);
    c->out.len = TS_RPC_FRAME_HEADER_SIZE;
    size_t packed = protobuf_c_message_pack_to_buffer(msg, &p.base);
    TS_ASSERT(p.err != TS_OK || packed == size);
    if (p.err == TS_OK && c->out.len > 0) {
        p.written += c->out.len;
        p.err = ts_tls_conn_write(c->tls, c->out.data, c->out.len);
    }
    ts_buf_clear(&c->out);
    if (p.err != TS_OK && p.written > 0) {
        c->broken = 1; /* part of a frame left: the connection cannot carry another */
    }
    TS_ASSERT(p.err != TS_OK || p.written == TS_RPC_FRAME_HEADER_SIZE + size);
    return p.err;
}

ts_err ts_rpc_stream_send(struct ts_rpc_stream *s, const ProtobufCMessage *msg)
{
    size_t size = protobuf_c_message_get_packed_size(msg);
    if (size > TS_RPC_FRAME_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    ts_err err = send_check(s);
    if (err != TS_OK) {
        return send_map(s, err);
    }
    struct ts_rpc_frame_header h = {
        .kind = TS_RPC_FRAME_MESSAGE, .stream_id = s->id, .length = (uint32_t)size};
    err = size >= PACK_DIRECT_MIN ? send_direct(s->conn, &h, msg, size)
                                  : send_packed(s->conn, &h, msg, size);
    return err == TS_ERR_NOMEM ? err : send_map(s, err);
}

ts_err ts_rpc_stream_flush(struct ts_rpc_stream *s)
{
    return send_map(s, ts_tls_conn_flush(s->conn->tls));
}

const struct ts_peer_identity *ts_rpc_stream_peer(const struct ts_rpc_stream *s)
{
    return ts_tls_conn_peer(s->conn->tls);
}

const char *ts_rpc_stream_method(const struct ts_rpc_stream *s)
{
    return s->method;
}

const char *ts_rpc_stream_error_message(const struct ts_rpc_stream *s)
{
    return s->error_message;
}

/* ---- Server endings ---- */

ts_err ts_rpc_stream_send_error(struct ts_rpc_stream *s, ts_err code, const char *msg)
{
    TS_ASSERT(s->server && code != TS_OK);
    if (s->canceled || s->error_sent) {
        return s->canceled ? TS_ERR_CANCELED : TS_ERR_INVALID_ARGUMENT;
    }
    s->error_sent = 1;
    ts_err err = rpc_conn_write_error(s->conn, s->id, code, msg);
    if (err == TS_OK) {
        err = ts_tls_conn_flush(s->conn->tls);
    }
    return send_map(s, err);
}

void rpc_stream_server_end(struct ts_rpc_stream *s, ts_err err)
{
    struct rpc_conn *c = s->conn;
    ts_err werr = TS_OK;
    if (s->error_sent) {
        werr = TS_OK;
    } else if (s->canceled) {
        /* Tell a canceling client where this stream's frames end, so it can reuse the
         * connection; a client that left will not read it (and the write may fail). */
        werr = rpc_conn_write_error(c, s->id, TS_ERR_CANCELED, NULL);
    } else if (err == TS_OK || err == TS_ERR_END_OF_STREAM) {
        werr = rpc_conn_write_frame(c, TS_RPC_FRAME_CLOSE, s->id, NULL, 0);
    } else {
        werr = rpc_conn_write_error(c, s->id, err, NULL);
    }
    if (werr == TS_OK) {
        werr = ts_tls_conn_flush(c->tls);
    }
    if (werr != TS_OK) {
        c->broken = 1;
    }
}
