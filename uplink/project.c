/* Projects: the ephemeral identity, the connection pool, buffer slots, worker threads, and
 * unary calls to the satellite's Metainfo service. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "base/log.h"
#include "internal.h"
#include "rpc/rpc.h"

#define LOG "uplink"

/* Implemented in access.c: what a project needs from its grant. */
ts_err ul_access_clone(const struct ul_access *a, struct ul_access **out);
ts_err ul_access_api_key_raw(const struct ul_access *a, struct ts_buf *out);

ul_err ul_project_open(const struct ul_access *access, const struct ul_config *config,
                       struct ul_project **out)
{
    ul_detail_clear();
    if (access == NULL || out == NULL) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    *out = NULL;
    struct ul_project *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        return TS_ERR_NOMEM;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cond, NULL);
    struct ul_config cfg = {0};
    if (config != NULL) {
        cfg = *config;
    }
    snprintf(p->user_agent, sizeof(p->user_agent), "%s",
             cfg.user_agent ? cfg.user_agent : "tessera-uplink");
    p->piece_streams_max =
        cfg.piece_streams_max > 0 ? cfg.piece_streams_max : UL_PIECE_STREAMS_DEFAULT;
    if (p->piece_streams_max > UL_PIECE_STREAMS_MAX) {
        p->piece_streams_max = UL_PIECE_STREAMS_MAX;
    }
    p->request_timeout_ms = cfg.request_timeout_ms > 0 ? cfg.request_timeout_ms : 60000;
    struct ts_buf key;
    ts_buf_init(&key, TS_MACAROON_SIZE_MAX);
    ts_err err = ul_access_clone(access, &p->access);
    if (err == TS_OK) {
        err = ts_node_url_parse(ul_access_satellite_url(access), &p->satellite);
        err = err == TS_OK ? TS_OK
                           : ul_fail(TS_ERR_MALFORMED, "satellite URL \"%s\" is invalid",
                                     ul_access_satellite_url(access));
    }
    if (err == TS_OK) {
        err = ul_access_api_key_raw(access, &key);
    }
    if (err == TS_OK) {
        p->api_key_len = key.len;
        p->api_key = ts_buf_detach(&key, NULL);
        err = ts_identity_create_ephemeral(&p->identity);
    }
    if (err == TS_OK) {
        struct ts_rpc_pool_opts opts = {.difficulty_min = 0,
                                        .dial_timeout_ms = cfg.dial_timeout_ms,
                                        .io_timeout_ms = p->request_timeout_ms};
        err = ts_rpc_pool_new(p->identity, &opts, &p->pool);
    }
    ts_buf_release(&key);
    if (err != TS_OK) {
        ul_project_close(p);
        return err;
    }
    *out = p;
    return TS_OK;
}

void ul_project_stats(struct ul_project *p, struct ul_stats *out)
{
    memset(out, 0, sizeof *out);
    out->tls_handshakes = ts_rpc_pool_handshakes(p->pool);
    out->connections_idle = (uint64_t)ts_rpc_pool_idle(p->pool);
    pthread_mutex_lock(&p->mu);
    out->buffer_slots = (uint64_t)p->slots_out;
    for (const struct ul_slot *s = p->free_slots; s != NULL; s = s->next) {
        out->buffer_slots++;
    }
    pthread_mutex_unlock(&p->mu);
}

static void slot_free(struct ul_slot *s)
{
    if (s == NULL) {
        return;
    }
    for (int i = 0; i < s->count; i++) {
        free(s->pieces[i]);
    }
    free(s->pieces);
    free(s);
}

static void slots_free_list(struct ul_slot *s)
{
    while (s != NULL) {
        struct ul_slot *next = s->next;
        slot_free(s);
        s = next;
    }
}

void ul_project_close(struct ul_project *p)
{
    if (p == NULL) {
        return;
    }
    /* Uploads and downloads join their workers when they end; a project closed with one still
     * open (a caller's bug, see the header) waits here for it to be closed. */
    pthread_mutex_lock(&p->mu);
    while (p->threads_live > 0) {
        pthread_cond_wait(&p->cond, &p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    slots_free_list(p->free_slots);
    p->free_slots = NULL;
    ts_rpc_pool_free(p->pool);
    ts_identity_free(p->identity);
    if (p->api_key != NULL) {
        ts_wipe(p->api_key, p->api_key_len);
        free(p->api_key);
    }
    ul_access_free(p->access);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cond);
    free(p);
}

/* ------------------------------------------------------------------------------------------ */
/* Slots                                                                                       */

static ts_err slot_new(int count, size_t piece_cap, struct ul_slot **out)
{
    struct ul_slot *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return TS_ERR_NOMEM;
    }
    s->pieces = calloc((size_t)count, sizeof(*s->pieces));
    s->piece_cap = piece_cap;
    ts_err err = s->pieces ? TS_OK : TS_ERR_NOMEM;
    for (int i = 0; i < count && err == TS_OK; i++) {
        /* Large enough to come from mmap: pages are only touched (and paid for) when used. */
        s->pieces[i] = malloc(piece_cap);
        err = s->pieces[i] ? TS_OK : TS_ERR_NOMEM;
        s->count = i + 1;
    }
    if (err != TS_OK) {
        slot_free(s);
        return err;
    }
    *out = s;
    return TS_OK;
}

ts_err ul_slot_acquire(struct ul_project *p, int count, size_t piece_cap, struct ul_slot **out)
{
    *out = NULL;
    pthread_mutex_lock(&p->mu);
    while (p->slots_out >= UL_SLOTS_MAX) {
        pthread_cond_wait(&p->cond, &p->mu);
    }
    struct ul_slot *s = p->free_slots;
    if (s != NULL) {
        p->free_slots = s->next;
        s->next = NULL;
    }
    p->slots_out++;
    pthread_mutex_unlock(&p->mu);
    if (s != NULL && (s->count < count || s->piece_cap < piece_cap)) {
        slot_free(s); /* too small for this code: replaced (rare: codes rarely change) */
        s = NULL;
    }
    ts_err err = TS_OK;
    if (s == NULL) {
        err = slot_new(count, piece_cap, &s);
    }
    if (err != TS_OK) {
        pthread_mutex_lock(&p->mu);
        p->slots_out--;
        pthread_cond_broadcast(&p->cond);
        pthread_mutex_unlock(&p->mu);
        return err;
    }
    *out = s;
    return TS_OK;
}

/* Unlinks the free slots past the first UL_SLOTS_KEPT that have been idle idle_ms or longer
 * (mu held); the caller frees them without the lock. */
static struct ul_slot *slots_take_idle_locked(struct ul_project *p, int64_t idle_ms)
{
    int64_t now = ts_monotonic_ms();
    struct ul_slot *drop = NULL, **link = &p->free_slots;
    for (int kept = 0; *link != NULL;) {
        struct ul_slot *s = *link;
        if (kept < UL_SLOTS_KEPT || now - s->idle_since_ms < idle_ms) {
            kept++;
            link = &s->next;
        } else {
            *link = s->next;
            s->next = drop;
            drop = s;
        }
    }
    return drop;
}

void ul_slot_release(struct ul_project *p, struct ul_slot *slot)
{
    if (slot == NULL) {
        return;
    }
    pthread_mutex_lock(&p->mu);
    slot->idle_since_ms = ts_monotonic_ms();
    slot->next = p->free_slots;
    p->free_slots = slot;
    p->slots_out--;
    struct ul_slot *idle = slots_take_idle_locked(p, UL_SLOT_IDLE_MS);
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mu);
    slots_free_list(idle);
}

void ul_project_trim(struct ul_project *p, int idle_ms)
{
    if (p == NULL) {
        return;
    }
    pthread_mutex_lock(&p->mu);
    struct ul_slot *idle = slots_take_idle_locked(p, idle_ms < 0 ? 0 : idle_ms);
    pthread_mutex_unlock(&p->mu);
    slots_free_list(idle);
}

/* ------------------------------------------------------------------------------------------ */
/* Worker threads                                                                              */

ts_err ul_crew_init(struct ul_crew *c, struct ul_project *p, pthread_mutex_t *mu, int capacity)
{
    memset(c, 0, sizeof(*c));
    c->p = p;
    c->mu = mu;
    c->capacity = capacity;
    c->workers = calloc((size_t)capacity, sizeof(*c->workers));
    c->threads = calloc((size_t)capacity, sizeof(*c->threads));
    c->streams = calloc((size_t)capacity, sizeof(*c->streams));
    if (c->workers == NULL || c->threads == NULL || c->streams == NULL) {
        ul_crew_release(c);
        return TS_ERR_NOMEM;
    }
    return TS_OK;
}

static void *crew_main(void *arg)
{
    struct ul_worker *w = arg;
    struct ul_crew *c = w->crew;
    c->fn(w);
    pthread_mutex_lock(c->mu);
    c->running--;
    pthread_mutex_unlock(c->mu);
    return NULL;
}

ts_err ul_crew_start(struct ul_crew *c, int count, void (*fn)(struct ul_worker *), void *job)
{
    TS_ASSERT(c->started == 0 && count <= c->capacity);
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0) {
        return TS_ERR_NOMEM;
    }
    pthread_attr_setstacksize(&attr, UL_THREAD_STACK_SIZE);
    c->fn = fn;
    int rc = 0;
    for (int i = 0; i < count; i++) {
        c->workers[i] = (struct ul_worker){.crew = c, .index = i, .job = job};
        pthread_mutex_lock(c->mu);
        c->running++;
        pthread_mutex_unlock(c->mu);
        rc = pthread_create(&c->threads[i], &attr, crew_main, &c->workers[i]);
        if (rc != 0) {
            pthread_mutex_lock(c->mu);
            c->running--;
            pthread_mutex_unlock(c->mu);
            break;
        }
        c->started++;
    }
    pthread_attr_destroy(&attr);
    pthread_mutex_lock(&c->p->mu);
    c->p->threads_live += c->started;
    pthread_mutex_unlock(&c->p->mu);
    if (rc != 0) {
        ts_log_warn(LOG, "cannot start a worker thread rc=%d started=%d", rc, c->started);
    }
    return c->started > 0 || count == 0 ? TS_OK : TS_ERR_NOMEM;
}

void ul_crew_abort_locked(struct ul_crew *c)
{
    c->aborted = true;
    for (int i = 0; i < c->started; i++) {
        if (c->streams[i] != NULL) {
            ts_rpc_stream_abort(c->streams[i]);
        }
    }
}

bool ul_crew_idle_locked(const struct ul_crew *c)
{
    return c->running == 0;
}

void ul_crew_join(struct ul_crew *c)
{
    for (int i = 0; i < c->started; i++) {
        pthread_join(c->threads[i], NULL);
    }
    if (c->started > 0) {
        pthread_mutex_lock(&c->p->mu);
        c->p->threads_live -= c->started;
        pthread_cond_broadcast(&c->p->cond);
        pthread_mutex_unlock(&c->p->mu);
    }
    c->started = 0;
}

void ul_crew_release(struct ul_crew *c)
{
    TS_ASSERT(c->started == 0);
    free(c->workers);
    free(c->threads);
    free(c->streams);
    c->workers = NULL;
    c->threads = NULL;
    c->streams = NULL;
}

void ul_worker_stream_set(struct ul_worker *w, struct ts_rpc_stream *s)
{
    if (w == NULL) {
        return;
    }
    struct ul_crew *c = w->crew;
    pthread_mutex_lock(c->mu);
    c->streams[w->index] = s;
    if (c->aborted) {
        ts_rpc_stream_abort(s);
    }
    pthread_mutex_unlock(c->mu);
}

void ul_worker_stream_clear(struct ul_worker *w, struct ts_rpc_stream *s)
{
    if (w == NULL) {
        return;
    }
    struct ul_crew *c = w->crew;
    pthread_mutex_lock(c->mu);
    c->streams[w->index] = NULL;
    if (c->aborted) {
        ts_rpc_stream_abort(s); /* so finishing it does not wait for a cancel drain */
    }
    pthread_mutex_unlock(c->mu);
}

/* ------------------------------------------------------------------------------------------ */
/* Metainfo                                                                                    */

void ul_meta_header(struct ul_project *p, Tessera__Metainfo__RequestHeader *h)
{
    tessera__metainfo__request_header__init(h);
    h->api_key.data = p->api_key;
    h->api_key.len = p->api_key_len;
    h->user_agent = p->user_agent;
}

ts_err ul_meta_call(struct ul_project *p, const char *method, const ProtobufCMessage *req,
                    const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp)
{
    char path[TS_RPC_METHOD_MAX + 1];
    int w = snprintf(path, sizeof(path), "/tessera.metainfo.Metainfo/%s", method);
    TS_ASSERT(w > 0 && (size_t)w < sizeof(path));
    char msg[TS_RPC_ERROR_MESSAGE_MAX + 1] = "";
    ts_err err = ts_rpc_call(p->pool, &p->satellite, path, req, resp_desc, resp, msg, sizeof(msg));
    /* BUSY comes before any work on the satellite (its per-project rate limit, or a full
     * connection table): waiting a little and asking again is safe and usually enough. */
    for (int i = 0; err == TS_ERR_BUSY && i < UL_BUSY_RETRIES; i++) {
        struct timespec ts = {0, (long)(UL_BUSY_BACKOFF_MS << i) * 1000000L};
        nanosleep(&ts, NULL);
        msg[0] = '\0';
        err = ts_rpc_call(p->pool, &p->satellite, path, req, resp_desc, resp, msg, sizeof(msg));
    }
    if (err != TS_OK) {
        if (msg[0] != '\0') {
            return ul_fail(err, "satellite %s: %s", method, msg);
        }
        return ul_fail(err, "satellite %s: %s", method, ts_strerror(err));
    }
    return TS_OK;
}
