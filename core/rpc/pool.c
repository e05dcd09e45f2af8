/*
 * RPC client: a pool of idle connections keyed by node ID, client streams, unary calls.
 * The pool's lock guards only the idle list; dialing and I/O happen outside it.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/log.h"
#include "rpc/rpc_internal.h"

struct ts_rpc_pool {
    struct ts_rpc_pool_opts opts;
    struct ts_tls_ctx *tls;
    pthread_mutex_t mu;
    struct rpc_conn *idle; /* most recently used first */
    int idle_count;
};

ts_err ts_rpc_pool_new(const struct ts_identity *identity, const struct ts_rpc_pool_opts *opts,
                       struct ts_rpc_pool **out)
{
    *out = NULL;
    struct ts_rpc_pool *p = calloc(1, sizeof *p);
    if (p == NULL) {
        return TS_ERR_NOMEM;
    }
    if (opts != NULL) {
        p->opts = *opts;
    }
    struct ts_rpc_pool_opts *o = &p->opts;
    o->dial_timeout_ms = o->dial_timeout_ms > 0 ? o->dial_timeout_ms : TS_RPC_DIAL_TIMEOUT_MS;
    o->io_timeout_ms = o->io_timeout_ms > 0 ? o->io_timeout_ms : TS_RPC_IO_TIMEOUT_MS;
    o->idle_max = o->idle_max > 0 ? o->idle_max : TS_RPC_POOL_IDLE_MAX;
    o->idle_per_node_max =
        o->idle_per_node_max > 0 ? o->idle_per_node_max : TS_RPC_POOL_IDLE_PER_NODE;
    o->idle_timeout_ms = o->idle_timeout_ms > 0 ? o->idle_timeout_ms : TS_RPC_POOL_IDLE_TIMEOUT_MS;
    struct ts_tls_config tc = {.identity = identity, .difficulty_min = o->difficulty_min};
    ts_err err = ts_tls_ctx_new(&tc, &p->tls);
    if (err != TS_OK) {
        free(p);
        return err;
    }
    pthread_mutex_init(&p->mu, NULL);
    *out = p;
    return TS_OK;
}

static void close_list(struct rpc_conn *c)
{
    while (c != NULL) {
        struct rpc_conn *next = c->next;
        rpc_conn_free(c);
        c = next;
    }
}

void ts_rpc_pool_free(struct ts_rpc_pool *pool)
{
    if (pool == NULL) {
        return;
    }
    close_list(pool->idle);
    ts_tls_ctx_free(pool->tls);
    pthread_mutex_destroy(&pool->mu);
    free(pool);
}

uint64_t ts_rpc_pool_handshakes(const struct ts_rpc_pool *pool)
{
    return ts_tls_ctx_handshakes(pool->tls);
}

int ts_rpc_pool_idle(struct ts_rpc_pool *pool)
{
    pthread_mutex_lock(&pool->mu);
    int n = pool->idle_count;
    pthread_mutex_unlock(&pool->mu);
    return n;
}

/* Under pool->mu: unlinks expired connections and those past idle_max onto *closing. */
static void prune_locked(struct ts_rpc_pool *pool, struct rpc_conn **closing)
{
    int64_t now = ts_monotonic_ms();
    int kept = 0;
    struct rpc_conn **p = &pool->idle;
    while (*p != NULL) {
        struct rpc_conn *c = *p;
        if (now - c->idle_since_ms > pool->opts.idle_timeout_ms || kept >= pool->opts.idle_max) {
            *p = c->next;
            c->next = *closing;
            *closing = c;
            pool->idle_count--;
        } else {
            kept++;
            p = &c->next;
        }
    }
}

static struct rpc_conn *take_idle(struct ts_rpc_pool *pool, const struct ts_node_id *node)
{
    struct rpc_conn *closing = NULL, *found = NULL;
    pthread_mutex_lock(&pool->mu);
    prune_locked(pool, &closing);
    for (struct rpc_conn **p = &pool->idle; *p != NULL; p = &(*p)->next) {
        if (ts_node_id_equal(&(*p)->node, node)) {
            found = *p;
            *p = found->next;
            found->next = NULL;
            pool->idle_count--;
            break;
        }
    }
    pthread_mutex_unlock(&pool->mu);
    close_list(closing);
    return found;
}

static void put_idle(struct ts_rpc_pool *pool, struct rpc_conn *c)
{
    struct rpc_conn *closing = NULL;
    c->idle_since_ms = ts_monotonic_ms();
    pthread_mutex_lock(&pool->mu);
    int same_node = 0;
    for (struct rpc_conn *q = pool->idle; q != NULL; q = q->next) {
        same_node += ts_node_id_equal(&q->node, &c->node);
    }
    if (same_node >= pool->opts.idle_per_node_max) {
        c->next = closing; /* enough idle connections to that node already */
        closing = c;
    } else {
        c->next = pool->idle;
        pool->idle = c;
        pool->idle_count++;
    }
    prune_locked(pool, &closing);
    pthread_mutex_unlock(&pool->mu);
    close_list(closing);
}

/* An idle connection with readable bytes has been closed by the server (or is out of sync). */
static struct rpc_conn *take_live(struct ts_rpc_pool *pool, const struct ts_node_id *node)
{
    struct rpc_conn *c;
    while ((c = take_idle(pool, node)) != NULL) {
        if (!ts_tls_conn_readable(c->tls)) {
            return c;
        }
        rpc_conn_free(c);
    }
    return NULL;
}

static ts_err dial(struct ts_rpc_pool *pool, const struct ts_node_url *url, struct rpc_conn **out)
{
    *out = NULL;
    struct ts_tls_conn *tls = NULL;
    ts_err err = ts_tls_connect(pool->tls, url, pool->opts.dial_timeout_ms, &tls);
    if (err != TS_OK) {
        return err;
    }
    ts_tls_conn_set_timeout(tls, pool->opts.io_timeout_ms);
    err = rpc_conn_new(tls, out);
    if (err == TS_OK) {
        (*out)->node = url->id;
        err = ts_tls_conn_write(tls, TS_RPC_PREFACE, TS_RPC_PREFACE_SIZE);
        if (err != TS_OK) {
            rpc_conn_free(*out);
            *out = NULL;
        }
    }
    return err;
}

ts_err ts_rpc_pool_open_stream(struct ts_rpc_pool *pool, const struct ts_node_url *url,
                               const char *method, struct ts_rpc_stream **out)
{
    *out = NULL;
    size_t mlen = strlen(method);
    if (ts_rpc_method_check((const uint8_t *)method, mlen) != TS_OK) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    struct ts_rpc_stream *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return TS_ERR_NOMEM;
    }
    s->conn = take_live(pool, &url->id);
    s->reused = s->conn != NULL;
    ts_err err = s->conn != NULL ? TS_OK : dial(pool, url, &s->conn);
    if (err == TS_OK) {
        s->pool = pool;
        s->id = ++s->conn->last_stream_id;
        memcpy(s->method, method, mlen + 1);
        err = rpc_conn_write_frame(s->conn, TS_RPC_FRAME_INVOKE, s->id, method, mlen);
    }
    if (err != TS_OK) {
        rpc_conn_free(s->conn);
        free(s);
        return err;
    }
    *out = s;
    return TS_OK;
}

ts_err ts_rpc_stream_close_send(struct ts_rpc_stream *s)
{
    TS_ASSERT(!s->server);
    if (s->close_sent || s->canceled) {
        return s->canceled ? TS_ERR_CANCELED : TS_OK;
    }
    s->close_sent = 1;
    ts_err err = rpc_conn_write_frame(s->conn, TS_RPC_FRAME_CLOSE_SEND, s->id, NULL, 0);
    return err != TS_OK ? err : ts_tls_conn_flush(s->conn->tls);
}

void ts_rpc_stream_cancel(struct ts_rpc_stream *s)
{
    TS_ASSERT(!s->server);
    if (s->canceled || s->terminated) {
        return;
    }
    s->canceled = 1;
    if (rpc_conn_write_frame(s->conn, TS_RPC_FRAME_CANCEL, s->id, NULL, 0) != TS_OK ||
        ts_tls_conn_flush(s->conn->tls) != TS_OK) {
        s->conn->broken = 1;
    }
}

void ts_rpc_stream_abort(struct ts_rpc_stream *s)
{
    TS_ASSERT(!s->server);
    ts_tls_conn_abort(s->conn->tls); /* touches only the atomic flag and the socket */
}

/* After a cancel: reads until the server's final frame for s, within the drain budget. */
static void drain(struct ts_rpc_stream *s)
{
    struct rpc_conn *c = s->conn;
    int64_t deadline = ts_monotonic_ms() + TS_RPC_CANCEL_DRAIN_MS;
    size_t bytes = 0;
    while (!s->terminated && !c->broken && !ts_tls_conn_broken(c->tls)) {
        int64_t left = deadline - ts_monotonic_ms();
        if (left <= 0 || bytes > TS_RPC_CANCEL_DRAIN_BYTES_MAX) {
            c->broken = 1;
            return;
        }
        ts_tls_conn_set_timeout(c->tls, (int)left);
        struct ts_rpc_frame_header h;
        if (rpc_conn_read_frame(c, &h) != TS_OK) {
            c->broken = 1;
            return;
        }
        bytes += TS_RPC_FRAME_HEADER_SIZE + h.length;
        if (h.stream_id == s->id &&
            (h.kind == TS_RPC_FRAME_CLOSE || h.kind == TS_RPC_FRAME_ERROR)) {
            s->terminated = 1;
        } else if (h.stream_id == 0 || h.stream_id > s->id) {
            c->broken = 1;
        }
    }
    ts_tls_conn_set_timeout(c->tls, s->pool->opts.io_timeout_ms);
}

void ts_rpc_stream_finish(struct ts_rpc_stream *s)
{
    if (s == NULL) {
        return;
    }
    TS_ASSERT(!s->server);
    struct rpc_conn *c = s->conn;
    if (!s->terminated) {
        ts_rpc_stream_cancel(s);
        if (!c->broken) {
            drain(s);
        }
    }
    if (s->terminated && rpc_conn_reusable(c)) {
        put_idle(s->pool, c);
    } else {
        rpc_conn_free(c);
    }
    free(s);
}

/* One attempt of a unary call; *retry is set when a pooled connection turned out to be closed
 * by the server before it answered anything (the request cannot have been processed). */
static ts_err call_once(struct ts_rpc_pool *pool, const struct ts_node_url *url, const char *method,
                        const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
                        ProtobufCMessage **resp, char *err_msg, size_t err_msg_size, int *retry)
{
    *retry = 0;
    struct ts_rpc_stream *s = NULL;
    ts_err err = ts_rpc_pool_open_stream(pool, url, method, &s);
    if (err != TS_OK) {
        return err;
    }
    err = ts_rpc_stream_send(s, req);
    if (err == TS_OK) {
        err = ts_rpc_stream_close_send(s);
    }
    if (err == TS_OK) {
        err = ts_rpc_stream_recv(s, resp_desc, resp);
    }
    if (err == TS_OK) {
        ProtobufCMessage *extra = NULL;
        ts_err end = ts_rpc_stream_recv(s, resp_desc, &extra);
        if (end != TS_ERR_END_OF_STREAM) {
            protobuf_c_message_free_unpacked(extra, NULL);
            err = end == TS_OK ? TS_ERR_PROTOCOL : end;
        }
    }
    if (err != TS_OK) {
        protobuf_c_message_free_unpacked(*resp, NULL);
        *resp = NULL;
        *retry = s->reused && s->frames_seen == 0 && err == TS_ERR_CLOSED;
        if (err_msg != NULL && err_msg_size > 0) {
            snprintf(err_msg, err_msg_size, "%s",
                     s->error_message[0] != 0 ? s->error_message : ts_strerror(err));
        }
    }
    ts_rpc_stream_finish(s);
    return err;
}

ts_err ts_rpc_call(struct ts_rpc_pool *pool, const struct ts_node_url *url, const char *method,
                   const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
                   ProtobufCMessage **resp, char *err_msg, size_t err_msg_size)
{
    *resp = NULL;
    if (err_msg != NULL && err_msg_size > 0) {
        err_msg[0] = 0;
    }
    int retry = 0;
    ts_err err = call_once(pool, url, method, req, resp_desc, resp, err_msg, err_msg_size, &retry);
    if (retry) {
        err = call_once(pool, url, method, req, resp_desc, resp, err_msg, err_msg_size, &retry);
    }
    return err;
}
