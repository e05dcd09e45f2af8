/* Garbage collection on the satellite: bloom filter builder, Retain sender, service thread (see
 * gc.h). */
#include <errno.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/log.h"
#include "crypto/hash.h"
#include "identity/identity.h"
#include "orders/orders.h"
#include "retain.pb-c.h"
#include "rpc/rpc.h"
#include "satellite/gc/gc.h"

#define LOG "satellite.gc"

/* ---- Configuration ---- */

void sat_gc_config_defaults(struct sat_gc_config *c)
{
    c->enabled = true;
    c->interval_s = 24 * 3600;
    c->fpr = TS_BLOOM_FPR_DEFAULT;
    c->filter_size_max = TS_BLOOM_TABLE_SIZE_DEFAULT;
    c->pieces_max = 8ll * 1000 * 1000;
    c->page_size = 1000;
    c->online_window_s = 4 * 3600;
}

/* ---- Builder ---- */

/* What the builder keeps per node alias during a pass. */
struct node_pieces {
    bool present, eligible; /* a node has this alias; online and not disqualified */
    uint8_t id[TS_NODE_ID_SIZE];
    char address[SAT_ADDRESS_MAX];
    uint8_t (*ids)[TS_PIECE_ID_SIZE];
    size_t len, cap;
};

struct sat_gc_builder {
    const struct sat_gc_config *cfg;
    struct node_pieces *nodes; /* by alias */
    size_t node_count;
    int64_t created_s;  /* the pass's start */
    int64_t total;      /* piece IDs held */
    bool next_is_fresh; /* the previous pass completed, so the next begins at the first segment */
    bool collecting;    /* this pass began fresh and is still usable */
    bool ready;         /* a usable pass ended; filters not yet taken */
};

static void nodes_release(struct sat_gc_builder *b)
{
    for (size_t i = 0; i < b->node_count; i++) {
        free(b->nodes[i].ids);
    }
    free(b->nodes);
    b->nodes = NULL;
    b->node_count = 0;
    b->total = 0;
}

ts_err sat_gc_builder_new(const struct sat_gc_config *cfg, struct sat_gc_builder **out)
{
    *out = calloc(1, sizeof **out);
    if (*out == NULL) {
        return TS_ERR_NOMEM;
    }
    (*out)->cfg = cfg;
    return TS_OK;
}

void sat_gc_builder_free(struct sat_gc_builder *b)
{
    if (b != NULL) {
        nodes_release(b);
        free(b);
    }
}

static ts_err on_begin(void *ctx, const struct sat_loop_nodes *nodes, int64_t now_s)
{
    struct sat_gc_builder *b = ctx;
    nodes_release(b);
    b->ready = false;
    b->collecting = b->next_is_fresh;
    b->created_s = now_s;
    if (!b->collecting) {
        ts_log_info(LOG, "pass resumed mid-way: no filters from it, the next pass builds them");
        return TS_OK;
    }
    b->nodes = calloc(nodes->count + 1, sizeof *b->nodes);
    if (b->nodes == NULL) {
        b->collecting = false;
        return TS_ERR_NOMEM;
    }
    b->node_count = nodes->count;
    for (size_t i = 0; i < nodes->count; i++) {
        const struct sat_loop_node *n = &nodes->nodes[i];
        struct node_pieces *np = &b->nodes[i];
        if (n->alias == 0) {
            continue;
        }
        np->present = true;
        np->eligible = n->disqualified_at == 0 &&
                       sat_loop_node_online(n, now_s, b->cfg->online_window_s);
        memcpy(np->id, n->id, TS_NODE_ID_SIZE);
        snprintf(np->address, sizeof np->address, "%s", n->address);
    }
    return TS_OK;
}

static ts_err append_id(struct node_pieces *np, const uint8_t id[TS_PIECE_ID_SIZE])
{
    if (np->len == np->cap) {
        size_t cap = np->cap == 0 ? 64 : np->cap * 2;
        void *p = realloc(np->ids, cap * TS_PIECE_ID_SIZE);
        if (p == NULL) {
            return TS_ERR_NOMEM;
        }
        np->ids = p;
        np->cap = cap;
    }
    memcpy(np->ids[np->len++], id, TS_PIECE_ID_SIZE);
    return TS_OK;
}

static ts_err on_segment(void *ctx, const struct sat_loop_segment *s)
{
    struct sat_gc_builder *b = ctx;
    if (!b->collecting) {
        return TS_OK;
    }
    for (size_t i = 0; i < s->piece_count; i++) {
        uint32_t alias = s->pieces[i].alias;
        if (alias >= b->node_count || !b->nodes[alias].present) {
            continue; /* a node unknown to the snapshot cannot be sent a filter anyway */
        }
        struct node_pieces *np = &b->nodes[alias];
        struct ts_node_id nid;
        uint8_t id[TS_PIECE_ID_SIZE];
        memcpy(nid.bytes, np->id, TS_NODE_ID_SIZE);
        ts_err err = ts_piece_id_derive(s->root_piece_id, &nid, s->pieces[i].piece_num, id);
        if (err == TS_OK && b->total >= b->cfg->pieces_max) {
            ts_log_error(LOG, "pass holds more than %lld piece IDs: abandoned (raise "
                              "gc.pieces_max)", (long long)b->cfg->pieces_max);
            b->collecting = false;
            nodes_release(b);
            return TS_OK;
        }
        if (err == TS_OK) {
            err = append_id(np, id);
        }
        if (err != TS_OK) {
            b->collecting = false; /* never send an incomplete filter */
            nodes_release(b);
            return err;
        }
        b->total++;
    }
    return TS_OK;
}

static void on_end(void *ctx, bool complete, int64_t pass)
{
    struct sat_gc_builder *b = ctx;
    b->ready = complete && b->collecting;
    b->next_is_fresh = complete;
    b->collecting = false;
    if (!b->ready) {
        nodes_release(b);
    }
    ts_log_info(LOG, "pass %lld ended complete=%d usable=%d piece_ids=%lld", (long long)pass,
                (int)complete, (int)b->ready, (long long)b->total);
}

void sat_gc_builder_observer(struct sat_gc_builder *b, struct sat_loop_observer *obs)
{
    memset(obs, 0, sizeof *obs);
    obs->name = "gc";
    obs->begin = on_begin;
    obs->segment = on_segment;
    obs->end = on_end;
    obs->ctx = b;
}

void sat_gc_filters_free(struct sat_gc_filter *filters, size_t count)
{
    for (size_t i = 0; filters != NULL && i < count; i++) {
        ts_bloom_free(filters[i].filter);
    }
    free(filters);
}

ts_err sat_gc_builder_take(struct sat_gc_builder *b, struct sat_gc_filter **out, size_t *count,
                           int64_t *created_s)
{
    *out = NULL;
    *count = 0;
    if (!b->ready) {
        return TS_ERR_NOT_FOUND;
    }
    b->ready = false;
    struct sat_gc_filter *fs = calloc(b->node_count + 1, sizeof *fs);
    ts_err err = fs == NULL ? TS_ERR_NOMEM : TS_OK;
    size_t n = 0;
    uint8_t seed = 0;
    for (size_t i = 0; err == TS_OK && i < b->node_count; i++) {
        struct node_pieces *np = &b->nodes[i];
        if (!np->present || !np->eligible) {
            continue;
        }
        err = ts_random_bytes(&seed, 1);
        if (err == TS_OK) {
            err = ts_bloom_new_optimal(np->len, b->cfg->fpr, b->cfg->filter_size_max, seed,
                                       &fs[n].filter);
        }
        for (size_t j = 0; err == TS_OK && j < np->len; j++) {
            ts_bloom_add(fs[n].filter, np->ids[j]);
        }
        if (err == TS_OK) {
            memcpy(fs[n].node_id, np->id, TS_NODE_ID_SIZE);
            memcpy(fs[n].address, np->address, sizeof fs[n].address);
            fs[n].pieces = (int64_t)np->len;
            n++;
        }
    }
    if (err != TS_OK) {
        sat_gc_filters_free(fs, n + 1);
        nodes_release(b);
        return err;
    }
    *created_s = b->created_s;
    nodes_release(b);
    *out = fs;
    *count = n;
    return TS_OK;
}

/* ---- Sender ---- */

static ts_err send_one(struct ts_rpc_pool *pool, const struct sat_gc_filter *f, int64_t created_s,
                       char *msg, size_t msg_size)
{
    char id[TS_NODE_ID_TEXT_MAX], text[TS_NODE_URL_MAX + TS_NODE_ID_TEXT_MAX];
    struct ts_node_url url;
    struct ts_node_id nid;
    struct ts_buf b;
    memcpy(nid.bytes, f->node_id, TS_NODE_ID_SIZE);
    ts_buf_init(&b, TS_BLOOM_HEADER_SIZE + TS_BLOOM_TABLE_SIZE_MAX);
    ts_err err = ts_node_id_to_string(&nid, id, sizeof id);
    if (err == TS_OK) {
        snprintf(text, sizeof text, "%s@%s", id, f->address);
        err = ts_node_url_parse(text, &url);
    }
    if (err == TS_OK) {
        err = ts_bloom_encode(f->filter, &b);
    }
    ProtobufCMessage *resp = NULL;
    if (err == TS_OK) {
        Tessera__Retain__RetainRequest req = TESSERA__RETAIN__RETAIN_REQUEST__INIT;
        req.creation_time_s = created_s;
        req.filter.data = b.data;
        req.filter.len = b.len;
        req.piece_count = f->pieces;
        err = ts_rpc_call(pool, &url, SAT_GC_RETAIN_METHOD, &req.base,
                          &tessera__retain__retain_response__descriptor, &resp, msg, msg_size);
    }
    if (resp != NULL) {
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    ts_buf_release(&b);
    return err;
}

void sat_gc_send(struct ts_rpc_pool *pool, const struct sat_gc_filter *filters, size_t count,
                 int64_t created_s, int64_t *sent, int64_t *failed)
{
    *sent = *failed = 0;
    for (size_t i = 0; i < count; i++) {
        char msg[TS_RPC_ERROR_MESSAGE_MAX] = "";
        ts_err err = send_one(pool, &filters[i], created_s, msg, sizeof msg);
        if (err == TS_OK) {
            (*sent)++;
        } else {
            (*failed)++;
            ts_log_warn(LOG, "retain not delivered address=%s err=%s msg=\"%s\"",
                        filters[i].address, ts_errname(err), msg);
        }
    }
    ts_log_info(LOG, "retain filters sent=%lld failed=%lld created_s=%lld", (long long)*sent,
                (long long)*failed, (long long)created_s);
}

ts_err sat_gc_restore_trash(struct ts_rpc_pool *pool, const struct ts_node_url *node,
                           int64_t *restored, char *msg, size_t msg_size)
{
    Tessera__Retain__RestoreTrashRequest req = TESSERA__RETAIN__RESTORE_TRASH_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    *restored = 0;
    ts_err err = ts_rpc_call(pool, node, SAT_GC_RESTORE_TRASH_METHOD, &req.base,
                             &tessera__retain__restore_trash_response__descriptor, &resp, msg,
                             msg_size);
    if (err == TS_OK) {
        *restored = ((Tessera__Retain__RestoreTrashResponse *)(void *)resp)->restored_pieces;
    }
    if (resp != NULL) {
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    return err;
}

/* ---- Service ---- */

struct sat_gc {
    struct ts_db *db;
    struct ts_rpc_pool *pool;
    const struct sat_gc_config *cfg;
    struct sat_segment_loop *loop;
    struct sat_gc_builder *builder;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool wake;
    atomic_bool stop;
    int64_t passes, filters_sent;
};

static void gc_round(struct sat_gc *g)
{
    int64_t segments = 0, sent = 0, failed = 0, created_s = 0;
    ts_err err = sat_segment_loop_run_pass(g->loop, &g->stop, &segments);
    if (err != TS_OK) {
        ts_log_warn(LOG, "gc pass stopped err=%s segments=%lld", ts_errname(err),
                    (long long)segments);
        return;
    }
    struct sat_gc_filter *fs = NULL;
    size_t count = 0;
    err = sat_gc_builder_take(g->builder, &fs, &count, &created_s);
    if (err == TS_ERR_NOT_FOUND) {
        /* The pass resumed a cursor left by an earlier run: run a fresh one now. */
        err = sat_segment_loop_run_pass(g->loop, &g->stop, &segments);
        if (err == TS_OK) {
            err = sat_gc_builder_take(g->builder, &fs, &count, &created_s);
        }
    }
    if (err == TS_OK) {
        sat_gc_send(g->pool, fs, count, created_s, &sent, &failed);
    } else {
        ts_log_warn(LOG, "no filters this round err=%s", ts_errname(err));
    }
    sat_gc_filters_free(fs, count);
    pthread_mutex_lock(&g->mu);
    g->passes++;
    g->filters_sent += sent;
    pthread_mutex_unlock(&g->mu);
}

static void *gc_thread(void *arg)
{
    struct sat_gc *g = arg;
    while (!atomic_load(&g->stop)) {
        gc_round(g);
        pthread_mutex_lock(&g->mu);
        struct timespec deadline;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += g->cfg->interval_s;
        while (!g->wake && !atomic_load(&g->stop) &&
               pthread_cond_timedwait(&g->cv, &g->mu, &deadline) != ETIMEDOUT) {
        }
        g->wake = false;
        pthread_mutex_unlock(&g->mu);
    }
    return NULL;
}

ts_err sat_gc_start(struct ts_db *db, struct ts_rpc_pool *pool, const struct sat_gc_config *cfg,
                    struct sat_gc **out)
{
    *out = NULL;
    if (!cfg->enabled) {
        ts_log_info(LOG, "garbage collection disabled");
        return TS_OK;
    }
    struct sat_gc *g = calloc(1, sizeof *g);
    if (g == NULL) {
        return TS_ERR_NOMEM;
    }
    g->db = db;
    g->pool = pool;
    g->cfg = cfg;
    atomic_init(&g->stop, false);
    ts_err err = sat_segment_loop_new(db, "gc", cfg->page_size, &g->loop);
    if (err == TS_OK) {
        err = sat_gc_builder_new(cfg, &g->builder);
    }
    struct sat_loop_observer obs;
    if (err == TS_OK) {
        sat_gc_builder_observer(g->builder, &obs);
        err = sat_segment_loop_register(g->loop, &obs);
    }
    if (err != TS_OK) {
        sat_gc_builder_free(g->builder);
        sat_segment_loop_free(g->loop);
        free(g);
        return err;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&g->mu, NULL);
    if (pthread_create(&g->thread, NULL, gc_thread, g) != 0) {
        pthread_cond_destroy(&g->cv);
        pthread_mutex_destroy(&g->mu);
        sat_gc_builder_free(g->builder);
        sat_segment_loop_free(g->loop);
        free(g);
        return TS_ERR_NOMEM;
    }
    ts_log_info(LOG, "garbage collection every %llds fpr=%.3f filter_size_max=%zu",
                (long long)cfg->interval_s, cfg->fpr, cfg->filter_size_max);
    *out = g;
    return TS_OK;
}

void sat_gc_stop(struct sat_gc *g)
{
    if (g == NULL) {
        return;
    }
    pthread_mutex_lock(&g->mu);
    atomic_store(&g->stop, true);
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    pthread_join(g->thread, NULL);
    sat_gc_builder_free(g->builder);
    sat_segment_loop_free(g->loop);
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

void sat_gc_trigger(struct sat_gc *g)
{
    pthread_mutex_lock(&g->mu);
    g->wake = true;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

void sat_gc_counters(struct sat_gc *g, int64_t *passes, int64_t *filters_sent)
{
    pthread_mutex_lock(&g->mu);
    *passes = g->passes;
    *filters_sent = g->filters_sent;
    pthread_mutex_unlock(&g->mu);
}
