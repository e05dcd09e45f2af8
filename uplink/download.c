/*
 * Streaming, ranged download. DownloadObject returns the object and its segments with GET order
 * limits for k + tail nodes. For each remote segment the range maps to encryption blocks, then
 * stripes, then one byte range per piece; a thread per limit (capped) fetches its range into a
 * slot buffer. The reader decodes windows of UL_DECODE_WINDOW_BLOCKS blocks as soon as any k
 * pieces hold them, and returns plaintext only after AES-GCM authenticated it. When k pieces are
 * complete the rest are canceled, unless a window failed authentication (then every piece is
 * kept, so the decoder can swap the corrupt one out). Fetch threads are a joinable crew: a
 * finished segment's fetch is "retired" while its canceled tail winds down (keeping connections),
 * joined once it ended, and aborted and joined past UL_FETCH_RETIRED_MAX or at close. See
 * docs/uplink.md.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/log.h"
#include "crypto/aead.h"
#include "crypto/segment.h"
#include "ec/ec.h"
#include "internal.h"
#include "piecestore.h"
#include "segment.h"

#define LOG "uplink.download"
/* Retry rounds per segment when the pieces in hand cannot be decoded: each asks the satellite
 * for limits on other holders than those that failed. The satellite offers at least as many
 * new holders as have failed so far, so the pool shrinks fast: 4/6/8/10 with n - k dead holders
 * needs at most 3 rounds, 29/80/110 with 81 dead at most 6. */
#define UL_REFETCH_MAX 8
/* Finished segments per download whose tail fetches may still be ending. */
#define UL_FETCH_RETIRED_MAX 2

/* One remote segment's piece fetches. The slot is referenced by the reader (until it leaves the
 * segment) and by each running thread; the fetch itself is freed by the reader after the join. */
struct fetch {
    struct ul_project *p;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct ul_crew crew;
    int slot_refs;     /* guarded by mu */
    bool reader_holds; /* the reader's slot reference (reader thread only) */
    struct ul_slot *slot;
    struct ul_limit *limits;
    int count;
    int carried; /* limits[0, carried): whole pieces kept from the previous round, no thread */
    int k;
    uint8_t piece_key[64];
    uint8_t root_piece_id[32]; /* tells whether a retry round fetches the same pieces */
    size_t piece_offset;       /* byte range of every piece */
    size_t piece_bytes;
    /* Guarded by mu. */
    size_t *received;
    bool *done;
    bool *failed;     /* the node did not deliver (an error other than our cancel) */
    ts_err last_err;  /* the last such error */
    int next;         /* next limit to start */
    int active;       /* threads inside a piece download */
    int complete;     /* pieces fully received */
    bool suspect;     /* a window failed authentication: keep every piece */
    uint64_t version; /* bumped on every event the reader may wait for */
    atomic_bool cancel;
};

struct piece_sink_ctx {
    struct fetch *f;
    int i;
};

struct ul_download {
    struct ul_project *p;
    char bucket[TS_BUCKET_NAME_MAX + 1];
    struct ts_buf enc_key;
    uint8_t kek[32];
    struct ul_object_info info;
    uint64_t pos; /* next plaintext byte to return (object coordinates) */
    uint64_t end; /* range end (exclusive) */
    Tessera__Metainfo__DownloadObjectResponse *page;
    size_t seg_at; /* next segment of page to look at */
    /* Current segment. */
    const Tessera__Metainfo__SegmentDownload *seg;
    uint8_t seg_key[32];
    uint8_t seg_nonce[24];
    struct ul_seg_layout layout;
    struct ts_ec *ec;
    struct ul_seg_decoder *dec;
    struct fetch *f;
    struct fetch *retired[UL_FETCH_RETIRED_MAX]; /* left behind, tail threads maybe running */
    int retired_count;
    size_t base_stripe;
    bool *bad;
    bool *bad_logged;
    int *nums;
    size_t *avail;
    const uint8_t **bufs;
    int refetches; /* fresh-limit retries of the current segment */
    bool keep_all; /* the next fetch keeps every piece (no tail cancellation) */
    /* Retries of the current segment: holders that failed so far (never asked again) and the
     * pieces of the previous round (carry) worth keeping, by index into its limits. */
    struct ts_node_id failed_nodes[TS_EC_SHARES_MAX];
    int failed_count;
    int held_idx[TS_EC_SHARES_MAX];
    int held_count;
    ts_err last_piece_err;
    struct fetch *carry;
    /* Decoded plaintext window, segment coordinates [win_from, win_from + win_len). */
    uint8_t *win;
    uint64_t win_from;
    size_t win_len;
};

/* ------------------------------------------------------------------------------------------ */
/* Fetches                                                                                     */

static void fetch_slot_put(struct fetch *f)
{
    pthread_mutex_lock(&f->mu);
    int left = --f->slot_refs;
    pthread_mutex_unlock(&f->mu);
    if (left == 0) {
        ul_slot_release(f->p, f->slot);
    }
}

/* Joins the fetch threads and frees the fetch (no lock held). */
static void fetch_end(struct fetch *f)
{
    ul_crew_join(&f->crew);
    ul_crew_release(&f->crew);
    if (f->reader_holds) {
        f->reader_holds = false;
        fetch_slot_put(f);
    }
    free(f->limits);
    free(f->received);
    free(f->done);
    free(f->failed);
    ts_wipe(f->piece_key, sizeof(f->piece_key));
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cond);
    free(f);
}

/* Stops the fetch: with abort, streams blocked in I/O are interrupted at once; without, the
 * threads stop between messages (finishing their streams cleanly keeps the connections). */
static void fetch_cancel(struct fetch *f, bool abort)
{
    pthread_mutex_lock(&f->mu);
    atomic_store(&f->cancel, true);
    if (abort) {
        ul_crew_abort_locked(&f->crew);
    }
    f->version++;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->mu);
}

/* The reader leaves a fetch: fetches whose threads all ended are joined now; past
 * UL_FETCH_RETIRED_MAX the oldest still running is aborted and joined. */
static void fetch_retire(struct ul_download *d, struct fetch *f)
{
    fetch_cancel(f, false);
    if (f->reader_holds) {
        f->reader_holds = false;
        fetch_slot_put(f);
    }
    if (d->retired_count == UL_FETCH_RETIRED_MAX) {
        struct fetch *oldest = d->retired[0];
        memmove(&d->retired[0], &d->retired[1], (size_t)(d->retired_count - 1) * sizeof(f));
        d->retired_count--;
        fetch_cancel(oldest, true);
        fetch_end(oldest);
    }
    d->retired[d->retired_count++] = f;
    int kept = 0;
    for (int i = 0; i < d->retired_count; i++) {
        struct fetch *x = d->retired[i];
        pthread_mutex_lock(&x->mu);
        bool idle = ul_crew_idle_locked(&x->crew);
        pthread_mutex_unlock(&x->mu);
        if (idle) {
            fetch_end(x);
        } else {
            d->retired[kept++] = x;
        }
    }
    d->retired_count = kept;
}

static void sink_progress(void *ctx, size_t received)
{
    struct piece_sink_ctx *c = ctx;
    pthread_mutex_lock(&c->f->mu);
    c->f->received[c->i] = received;
    c->f->version++;
    pthread_cond_broadcast(&c->f->cond);
    pthread_mutex_unlock(&c->f->mu);
}

static int fetch_next(struct fetch *f)
{
    pthread_mutex_lock(&f->mu);
    int i = -1;
    if (!atomic_load(&f->cancel) && f->next < f->count) {
        i = f->next++;
        f->active++;
    }
    pthread_mutex_unlock(&f->mu);
    return i;
}

static void fetch_piece_done(struct fetch *f, int i, ts_err err)
{
    pthread_mutex_lock(&f->mu);
    f->active--;
    if (err == TS_OK) {
        f->done[i] = true;
        if (++f->complete >= f->k && !f->suspect) {
            atomic_store(&f->cancel, true); /* long tail: k whole ranges are in hand */
        }
    } else if (err != TS_ERR_CANCELED) {
        f->failed[i] = true;
        f->last_err = err;
    }
    f->version++;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->mu);
}

static void fetch_thread(struct ul_worker *w)
{
    struct fetch *f = w->job;
    struct ul_project *p = f->p;
    for (int i = fetch_next(f); i >= 0; i = fetch_next(f)) {
        struct piece_sink_ctx ctx = {.f = f, .i = i};
        struct ul_piece_sink sink = {
            .buf = f->slot->pieces[i], .progress = sink_progress, .ctx = &ctx};
        ts_err err = ul_piece_download(p->pool, &f->limits[i], f->piece_key, f->piece_offset,
                                       f->piece_bytes, &sink, &f->cancel, w);
        if (err != TS_OK && err != TS_ERR_CANCELED) {
            ts_log_debug(LOG, "piece fetch failed piece=%u err=%s", f->limits[i].piece_num,
                         ts_errname(err));
        }
        fetch_piece_done(f, i, err);
    }
    fetch_slot_put(f);
}

static bool node_failed(const struct ul_download *d, const struct ts_node_id *id)
{
    for (int i = 0; i < d->failed_count; i++) {
        if (memcmp(d->failed_nodes[i].bytes, id->bytes, TS_NODE_ID_SIZE) == 0) {
            return true;
        }
    }
    return false;
}

/* Takes the previous round's whole, unsuspected pieces (d->carry, d->held_idx) as the first
 * limits of f when they are pieces of the same segment covering f's range. */
static void fetch_carry_limits(struct ul_download *d, struct fetch *f)
{
    const struct fetch *c = d->carry;
    if (c == NULL || memcmp(c->root_piece_id, f->root_piece_id, sizeof(f->root_piece_id)) != 0 ||
        c->piece_offset > f->piece_offset ||
        c->piece_offset + c->piece_bytes < f->piece_offset + f->piece_bytes) {
        return;
    }
    for (int h = 0; h < d->held_count; h++) {
        f->limits[f->count++] = c->limits[d->held_idx[h]];
    }
    f->carried = f->count;
}

static bool piece_carried(const struct fetch *f, uint32_t piece_num)
{
    for (int i = 0; i < f->carried; i++) {
        if (f->limits[i].piece_num == piece_num) {
            return true;
        }
    }
    return false;
}

/* Appends the segment's limits (nil and malformed entries, pieces carried over and holders that
 * failed before are skipped: a satellite ignoring the exclusion lists still works). */
static void fetch_add_limits(struct ul_download *d, struct fetch *f,
                             const Tessera__Metainfo__SegmentDownload *s)
{
    for (size_t i = 0; i < s->n_limits; i++) {
        const Tessera__Metainfo__AddressedOrderLimit *a = s->limits[i];
        if (a == NULL || a->limit.len == 0) {
            continue;
        }
        struct ul_limit *l = &f->limits[f->count];
        ts_err err = ul_limit_parse(a->limit.data, a->limit.len, a->node_id.data, a->node_id.len,
                                    a->address, a->piece_num, l);
        if (err == TS_OK && a->piece_num < (uint32_t)ts_ec_n(d->ec) &&
            !piece_carried(f, a->piece_num) && !node_failed(d, &l->url.id)) {
            f->count++;
        }
    }
}

/* Parses the segment's limits into a new fetch; on a retry round the pieces carried over come
 * first, already complete (copied out of the previous round's slot). */
static ts_err fetch_new(struct ul_download *d, const Tessera__Metainfo__SegmentDownload *s,
                        size_t piece_offset, size_t piece_bytes, struct fetch **out)
{
    struct fetch *f = calloc(1, sizeof(*f));
    if (f == NULL) {
        return TS_ERR_NOMEM;
    }
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cond, NULL);
    f->p = d->p;
    f->slot_refs = 1;
    f->k = ts_ec_k(d->ec);
    f->piece_offset = piece_offset;
    f->piece_bytes = piece_bytes;
    f->suspect = d->keep_all;
    atomic_init(&f->cancel, false);
    if (s->root_piece_id.len == sizeof(f->root_piece_id)) {
        memcpy(f->root_piece_id, s->root_piece_id.data, sizeof(f->root_piece_id));
    }
    size_t cap = s->n_limits + (size_t)d->held_count + 1;
    f->limits = calloc(cap, sizeof(*f->limits));
    f->received = calloc(cap, sizeof(*f->received));
    f->done = calloc(cap, sizeof(*f->done));
    f->failed = calloc(cap, sizeof(*f->failed));
    ts_err err = f->limits && f->received && f->done && f->failed ? TS_OK : TS_ERR_NOMEM;
    if (err == TS_OK) {
        fetch_carry_limits(d, f);
        fetch_add_limits(d, f, s);
    }
    if (err == TS_OK && s->piece_private_key.len == 64) {
        memcpy(f->piece_key, s->piece_private_key.data, 64);
    } else if (err == TS_OK) {
        err = ul_fail(TS_ERR_PROTOCOL, "segment without a piece key");
    }
    if (err == TS_OK && (f->count < f->k || (d->carry != NULL && f->count == f->carried))) {
        err = ul_fail(TS_ERR_NOT_ENOUGH_SHARES,
                      "the satellite offered %d usable nodes besides %d pieces in hand, %d needed",
                      f->count - f->carried, f->carried, f->k);
    }
    if (err == TS_OK) {
        err = ul_slot_acquire(d->p, f->count, piece_bytes, &f->slot);
        f->reader_holds = err == TS_OK;
    }
    if (err != TS_OK) {
        fetch_end(f);
        return err;
    }
    const struct fetch *c = d->carry;
    for (int i = 0; i < f->carried; i++) { /* no thread writes the old slot any more */
        memcpy(f->slot->pieces[i],
               c->slot->pieces[d->held_idx[i]] + (piece_offset - c->piece_offset), piece_bytes);
        f->received[i] = piece_bytes;
        f->done[i] = true;
    }
    f->complete = f->carried;
    f->next = f->carried;
    *out = f;
    return TS_OK;
}

static ts_err fetch_start(struct fetch *f, int streams_max)
{
    int fresh = f->count - f->carried;
    int threads = fresh < streams_max ? fresh : streams_max;
    ts_err err = ul_crew_init(&f->crew, f->p, &f->mu, threads);
    if (err != TS_OK) {
        return err;
    }
    pthread_mutex_lock(&f->mu);
    f->slot_refs += threads;
    pthread_mutex_unlock(&f->mu);
    err = ul_crew_start(&f->crew, threads, fetch_thread, f);
    pthread_mutex_lock(&f->mu);
    f->slot_refs -= threads - f->crew.started;
    pthread_mutex_unlock(&f->mu);
    return err; /* fewer streams than asked still work, just slower */
}

/* ------------------------------------------------------------------------------------------ */
/* Segments                                                                                    */

static void segment_release(struct ul_download *d)
{
    if (d->f != NULL) {
        fetch_retire(d, d->f);
        d->f = NULL;
    }
    d->seg = NULL;
    d->win_len = 0;
    ts_wipe(d->seg_key, sizeof(d->seg_key));
}

/* Builds (or reuses) the code and decoder scratch for a segment's redundancy. */
static ts_err code_for(struct ul_download *d, const Tessera__Metainfo__RedundancyScheme *rs)
{
    if (rs == NULL || rs->required < 1 || rs->required > rs->total ||
        rs->total > TS_EC_SHARES_MAX || rs->share_size == 0 ||
        rs->share_size > TS_EC_SHARE_SIZE_MAX) {
        return ul_fail(TS_ERR_PROTOCOL, "the satellite sent an invalid redundancy scheme");
    }
    if (d->ec != NULL && ts_ec_k(d->ec) == (int)rs->required && ts_ec_n(d->ec) == (int)rs->total &&
        ts_ec_share_size(d->ec) == rs->share_size) {
        return TS_OK;
    }
    ul_seg_decoder_free(d->dec);
    ts_ec_free(d->ec);
    d->dec = NULL;
    d->ec = NULL;
    ts_err err = ts_ec_new((int)rs->required, (int)rs->total, rs->share_size, &d->ec);
    if (err == TS_OK) {
        err = ul_seg_decoder_new(d->ec, &d->dec);
    }
    return err;
}

/* Starts fetching the part of remote segment s that the range needs. */
static ts_err segment_remote(struct ul_download *d, const Tessera__Metainfo__SegmentDownload *s,
                             uint64_t from, uint64_t to)
{
    ts_err err = code_for(d, s->redundancy);
    if (err != TS_OK) {
        return err;
    }
    ul_seg_layout_init(&d->layout, d->ec, (size_t)s->plain_size);
    if ((int64_t)d->layout.encrypted_size != s->encrypted_size) {
        return ul_fail(TS_ERR_PROTOCOL, "segment sizes do not match (%lld encrypted bytes)",
                       (long long)s->encrypted_size);
    }
    size_t b0 = (size_t)(from / UL_PLAIN_BLOCK);
    size_t b1 = (size_t)((to - 1) / UL_PLAIN_BLOCK);
    size_t s0, sc;
    ul_seg_blocks_to_stripes(&d->layout, b0, b1 - b0 + 1, &s0, &sc);
    size_t share = d->layout.share_size;
    err = fetch_new(d, s, s0 * share, sc * share, &d->f);
    if (err != TS_OK) {
        return err;
    }
    d->base_stripe = s0;
    free(d->bad);
    free(d->bad_logged);
    free(d->nums);
    free(d->avail);
    free(d->bufs);
    size_t c = (size_t)d->f->count;
    d->bad = calloc(c, sizeof(*d->bad));
    d->bad_logged = calloc(c, sizeof(*d->bad_logged));
    d->nums = calloc(c, sizeof(*d->nums));
    d->avail = calloc(c, sizeof(*d->avail));
    d->bufs = calloc(c, sizeof(*d->bufs));
    if (!d->bad || !d->bad_logged || !d->nums || !d->avail || !d->bufs) {
        return TS_ERR_NOMEM;
    }
    for (size_t j = 0; j < c; j++) {
        d->nums[j] = (int)d->f->limits[j].piece_num;
        d->bufs[j] = d->f->slot->pieces[j];
    }
    return fetch_start(d->f, d->p->piece_streams_max);
}

static ts_err segment_keys(struct ul_download *d, const Tessera__Metainfo__SegmentDownload *s)
{
    if (s->encrypted_key.len != TS_WRAPPED_KEY_SIZE || s->encrypted_key_nonce.len != 24 ||
        s->position == NULL) {
        return ul_fail(TS_ERR_PROTOCOL, "segment key fields are malformed");
    }
    ts_err err =
        ts_key_unwrap(d->kek, s->encrypted_key_nonce.data, s->encrypted_key.data, d->seg_key);
    if (err != TS_OK) {
        return ul_fail(err, "the segment key does not decrypt with this access");
    }
    ts_segment_start_nonce((int32_t)s->position->part, (int32_t)s->position->index, d->seg_nonce);
    return TS_OK;
}

static ts_err fetch_page(struct ul_download *d, uint64_t cursor, uint64_t plain_offset, bool retry);

/* Moves to the segment holding d->pos, fetching more segment pages when needed. */
static ts_err segment_next(struct ul_download *d)
{
    segment_release(d);
    for (;;) {
        while (d->page != NULL && d->seg_at < d->page->n_segments) {
            const Tessera__Metainfo__SegmentDownload *s = d->page->segments[d->seg_at++];
            uint64_t start = (uint64_t)s->plain_offset, size = (uint64_t)s->plain_size;
            if (start + size <= d->pos) {
                continue;
            }
            if (start > d->pos) {
                return ul_fail(TS_ERR_PROTOCOL, "the object's segments leave a gap");
            }
            d->seg = s;
            return TS_OK;
        }
        if (d->page == NULL || !d->page->more || d->page->n_segments == 0) {
            return ul_fail(TS_ERR_PROTOCOL, "the object ends before its size");
        }
        const Tessera__Metainfo__SegmentDownload *last = d->page->segments[d->page->n_segments - 1];
        uint64_t cursor = last->position
                              ? (((uint64_t)last->position->part << 32) | last->position->index) + 1
                              : 0;
        ts_err err = fetch_page(d, cursor, 0, false);
        if (err != TS_OK) {
            return err;
        }
    }
}

/* Prepares the current segment: keys, then inline plaintext or remote fetches. */
static ts_err segment_open(struct ul_download *d)
{
    const Tessera__Metainfo__SegmentDownload *s = d->seg;
    ts_err err = segment_keys(d, s);
    if (err != TS_OK) {
        return err;
    }
    uint64_t from = d->pos - (uint64_t)s->plain_offset;
    uint64_t to = (uint64_t)s->plain_size;
    if (d->end - (uint64_t)s->plain_offset < to) {
        to = d->end - (uint64_t)s->plain_offset;
    }
    if (s->n_limits == 0) { /* inline: the whole plaintext is one window */
        if (s->inline_data.len < TS_GCM_TAG_SIZE ||
            s->inline_data.len - TS_GCM_TAG_SIZE != (size_t)s->plain_size ||
            s->inline_data.len > TS_INLINE_SIZE_MAX + TS_GCM_TAG_SIZE) {
            return ul_fail(TS_ERR_PROTOCOL, "inline segment has a wrong size");
        }
        err = ts_inline_decrypt(d->seg_key, d->seg_nonce, s->inline_data.data, s->inline_data.len,
                                d->win);
        d->win_from = 0;
        d->win_len = err == TS_OK ? (size_t)s->plain_size : 0;
        return err == TS_OK ? TS_OK : ul_fail(err, "inline segment does not authenticate");
    }
    return segment_remote(d, s, from, to);
}

/* Logs pieces newly proven corrupt (each once: the flag is then never cleared). */
static void log_bad_pieces(struct ul_download *d)
{
    for (int j = 0; j < d->f->count; j++) {
        if (d->bad[j] && !d->bad_logged[j]) {
            char id[TS_NODE_URL_MAX + 1] = "?";
            if (ts_node_id_to_string(&d->f->limits[j].url.id, id, sizeof(id)) != TS_OK) {
                id[0] = '\0';
            }
            ts_log_warn(LOG, "piece failed authentication, excluded piece=%d node=%s", d->nums[j],
                        id);
            d->bad_logged[j] = true;
        }
    }
}

/* Blocks until the window [b0, b0 + bc) decodes and authenticates, or nothing more can come. */
static ts_err window_decode(struct ul_download *d, size_t b0, size_t bc)
{
    struct fetch *f = d->f;
    struct ul_seg_pieces p = {.bufs = d->bufs,
                              .piece_nums = d->nums,
                              .avail = d->avail,
                              .bad = d->bad,
                              .count = (size_t)f->count,
                              .base_stripe = d->base_stripe};
    for (;;) {
        pthread_mutex_lock(&f->mu);
        uint64_t seen = f->version;
        for (int j = 0; j < f->count; j++) {
            d->avail[j] = f->received[j] / d->layout.share_size;
        }
        pthread_mutex_unlock(&f->mu);
        ts_err err =
            ul_seg_decoder_blocks(d->dec, &d->layout, d->seg_key, d->seg_nonce, &p, b0, bc, d->win);
        if (err == TS_OK) {
            log_bad_pieces(d);
            return TS_OK;
        }
        if (err != TS_ERR_NOT_ENOUGH_SHARES && err != TS_ERR_AUTH_FAILED) {
            return err;
        }
        pthread_mutex_lock(&f->mu);
        if (err == TS_ERR_AUTH_FAILED) {
            f->suspect = true; /* keep the tail: a spare piece will be needed */
        }
        bool more = f->active > 0 || (f->next < f->count && !atomic_load(&f->cancel));
        while (more && f->version == seen) {
            pthread_cond_wait(&f->cond, &f->mu);
        }
        pthread_mutex_unlock(&f->mu);
        if (!more) {
            return ul_fail(
                err == TS_ERR_AUTH_FAILED ? TS_ERR_AUTH_FAILED : TS_ERR_NOT_ENOUGH_SHARES,
                "segment %u, blocks %zu..%zu: %s", d->seg->position->index, b0, b0 + bc - 1,
                err == TS_ERR_AUTH_FAILED ? "no set of pieces authenticates (corrupted pieces)"
                                          : "too few storage nodes delivered their pieces");
        }
    }
}

/* Notes which holders of the current round failed (added to the segment's failed nodes, with
 * the nodes of pieces proven corrupt) and which whole pieces are worth keeping. */
static void retry_collect(struct ul_download *d)
{
    struct fetch *f = d->f;
    if (f == NULL) {
        return; /* a failed round: the counts of the last one stand */
    }
    d->held_count = 0;
    pthread_mutex_lock(&f->mu);
    for (int j = 0; j < f->count; j++) {
        bool bad = d->bad != NULL && d->bad[j];
        if ((f->failed[j] || bad) && !node_failed(d, &f->limits[j].url.id) &&
            d->failed_count < TS_EC_SHARES_MAX) {
            d->failed_nodes[d->failed_count++] = f->limits[j].url.id;
        }
        if (f->done[j] && !bad) {
            d->held_idx[d->held_count++] = j;
        }
    }
    if (f->last_err != TS_OK) {
        d->last_piece_err = f->last_err;
    }
    d->keep_all = f->suspect;
    pthread_mutex_unlock(&f->mu);
}

/* The pieces in hand cannot produce a window (holders failed, pieces are corrupt, or the tail
 * is gone): asks the satellite for limits on other holders of this segment, excluding those
 * that failed and the pieces in hand, which are kept. A round after an authentication failure
 * keeps every piece (no tail cancellation), so a spare is there for the swap. */
static ts_err segment_refetch(struct ul_download *d)
{
    const Tessera__Metainfo__SegmentPosition *pos = d->seg->position;
    uint64_t cursor = ((uint64_t)pos->part << 32) | pos->index;
    uint32_t index = pos->index;
    int refetches = d->refetches + 1;
    retry_collect(d);
    ts_log_info(LOG, "refetching segment=%u attempt=%d failed_nodes=%d held=%d", index, refetches,
                d->failed_count, d->held_count);
    struct fetch *old = d->f;
    d->f = NULL; /* its pieces are copied into the next round */
    d->carry = old;
    ts_err err = fetch_page(d, cursor, 0, true); /* releases the current segment */
    if (err == TS_OK) {
        err = segment_next(d);
    }
    if (err == TS_OK) {
        err = segment_open(d);
    }
    d->carry = NULL;
    d->keep_all = false;
    if (old != NULL) {
        fetch_retire(d, old);
    }
    d->refetches = refetches;
    return err;
}

/* The segment cannot be read: says how many holders failed and what is in hand. */
static ts_err segment_unreadable(struct ul_download *d, uint32_t index, ts_err err)
{
    retry_collect(d);
    if (err != TS_ERR_NOT_ENOUGH_SHARES) {
        return err;
    }
    int k = d->ec != NULL ? ts_ec_k(d->ec) : 0;
    return ul_fail(err,
                   "segment %u: not enough pieces: %d piece holders failed (last error: %s), %d "
                   "pieces in hand, %d needed, after %d retries",
                   index, d->failed_count,
                   d->last_piece_err != TS_OK ? ts_strerror(d->last_piece_err) : "none",
                   d->held_count, k, d->refetches);
}

/* Makes the window holding d->pos current. */
static ts_err window_fill(struct ul_download *d)
{
    if (d->seg == NULL || d->pos >= (uint64_t)(d->seg->plain_offset + d->seg->plain_size)) {
        d->refetches = 0;
        d->failed_count = 0;
        d->held_count = 0;
        d->last_piece_err = TS_OK;
        ts_err err = segment_next(d);
        if (err == TS_OK) {
            err = segment_open(d);
        }
        if (err != TS_OK) {
            return err;
        }
        if (d->f == NULL) {
            return TS_OK; /* inline: filled by segment_open */
        }
    }
    uint64_t in_seg = d->pos - (uint64_t)d->seg->plain_offset;
    uint64_t seg_end = (uint64_t)d->seg->plain_size;
    if (d->end - (uint64_t)d->seg->plain_offset < seg_end) {
        seg_end = d->end - (uint64_t)d->seg->plain_offset;
    }
    size_t b0 = (size_t)(in_seg / UL_PLAIN_BLOCK);
    size_t b_last = (size_t)((seg_end - 1) / UL_PLAIN_BLOCK);
    size_t bc = b_last - b0 + 1;
    bc = bc < UL_DECODE_WINDOW_BLOCKS ? bc : UL_DECODE_WINDOW_BLOCKS;
    d->win_len = 0;
    uint32_t index = d->seg->position->index;
    ts_err err = window_decode(d, b0, bc);
    while ((err == TS_ERR_AUTH_FAILED || err == TS_ERR_NOT_ENOUGH_SHARES) &&
           d->refetches < UL_REFETCH_MAX) {
        err = segment_refetch(d);
        if (err == TS_OK) {
            err = window_decode(d, b0, bc);
        } else if (err != TS_ERR_NOT_ENOUGH_SHARES) {
            return err;
        } else {
            break; /* the satellite has no other holder to offer */
        }
    }
    if (err != TS_OK) {
        return segment_unreadable(d, index, err);
    }
    if (err == TS_OK) {
        d->win_from = (uint64_t)b0 * UL_PLAIN_BLOCK;
        d->win_len = bc * UL_PLAIN_BLOCK;
        /* The segment's last block is short: never let the window reach past the segment,
         * or a read crossing into the next segment copies the tail padding (found by the
         * e2e test: 64 MiB + 1 byte objects came back shifted after the first segment). */
        if (d->win_from + d->win_len > (uint64_t)d->seg->plain_size) {
            d->win_len = (size_t)((uint64_t)d->seg->plain_size - d->win_from);
        }
    }
    return err;
}

/* ------------------------------------------------------------------------------------------ */
/* Public API                                                                                  */

/* plain_offset > 0: start at the segment holding that byte (multipart objects have segments of
 * any size); cursor is then only the answer of satellites without that field. retry: only the
 * segment at cursor, without the holders that failed and the pieces in hand. */
static ts_err fetch_page(struct ul_download *d, uint64_t cursor, uint64_t plain_offset, bool retry)
{
    ProtobufCBinaryData ids[TS_EC_SHARES_MAX];
    uint32_t nums[TS_EC_SHARES_MAX];
    Tessera__Metainfo__RequestHeader h;
    ul_meta_header(d->p, &h);
    Tessera__Metainfo__DownloadObjectRequest req = TESSERA__METAINFO__DOWNLOAD_OBJECT_REQUEST__INIT;
    req.header = &h;
    req.bucket.data = (uint8_t *)d->bucket;
    req.bucket.len = strlen(d->bucket);
    req.encrypted_key.data = d->enc_key.data;
    req.encrypted_key.len = d->enc_key.len;
    req.segment_cursor = cursor;
    req.plain_offset = plain_offset <= INT64_MAX ? (int64_t)plain_offset : 0;
    req.segment_limit = 4; /* order limits are made per segment: ask for a few at a time */
    if (retry) {
        req.segment_limit = 1;
        for (int i = 0; i < d->failed_count; i++) {
            ids[i].data = d->failed_nodes[i].bytes;
            ids[i].len = TS_NODE_ID_SIZE;
        }
        req.exclude_node_ids = ids;
        req.n_exclude_node_ids = (size_t)d->failed_count;
        for (int i = 0; i < d->held_count && d->carry != NULL; i++) {
            nums[i] = d->carry->limits[d->held_idx[i]].piece_num;
        }
        req.exclude_piece_nums = nums;
        req.n_exclude_piece_nums = d->carry != NULL ? (size_t)d->held_count : 0;
    }
    if (d->page != NULL) {
        segment_release(d); /* the current segment points into the old page */
        protobuf_c_message_free_unpacked(&d->page->base, NULL);
        d->page = NULL;
    }
    d->seg_at = 0;
    return ul_meta_call(d->p, "DownloadObject", &req.base,
                        &tessera__metainfo__download_object_response__descriptor,
                        (ProtobufCMessage **)&d->page);
}

static ts_err download_prepare(struct ul_download *d, const char *key,
                               const struct ul_download_options *opts)
{
    ts_err err = ul_key_encrypt(d->p, d->bucket, key, strlen(key), &d->enc_key, d->kek);
    uint64_t offset = opts ? opts->offset : 0;
    if (err == TS_OK) { /* full segments are TS_SEGMENT_SIZE_MAX: start at the right one */
        err = fetch_page(d, offset / TS_SEGMENT_SIZE_MAX, offset, false);
    }
    if (err == TS_ERR_NOT_FOUND) {
        return ul_fail(err, "object %s/%s does not exist", d->bucket, key);
    }
    if (err == TS_OK && d->page->object == NULL) {
        err = ul_fail(TS_ERR_PROTOCOL, "DownloadObject returned no object");
    }
    const Tessera__Metainfo__Object *o = err == TS_OK ? d->page->object : NULL;
    if (o != NULL) {
        err = ul_info_fill(&d->info, key, strlen(key), d->kek, o->encrypted_metadata.data,
                           o->encrypted_metadata.len, o->encrypted_metadata_key.data,
                           o->encrypted_metadata_key.len, o->encrypted_metadata_nonce.data,
                           o->encrypted_metadata_nonce.len);
        d->info.size = o->total_plain_size > 0 ? (uint64_t)o->total_plain_size : 0;
        d->info.created_s = o->created_at;
        d->info.expires_s = o->expires_at;
    }
    if (err == TS_OK) {
        d->pos = offset < d->info.size ? offset : d->info.size;
        d->end = d->info.size;
        if (opts != NULL && opts->length >= 0 && (uint64_t)opts->length < d->end - d->pos) {
            d->end = d->pos + (uint64_t)opts->length;
        }
        d->win = malloc(UL_DECODE_WINDOW_BLOCKS * UL_PLAIN_BLOCK);
        err = d->win ? TS_OK : TS_ERR_NOMEM;
    }
    return err;
}

ul_err ul_download_open(struct ul_project *p, const char *bucket, const char *key,
                        const struct ul_download_options *opts, struct ul_download **out)
{
    ul_detail_clear();
    if (p == NULL || bucket == NULL || key == NULL || out == NULL || strlen(key) == 0 ||
        strlen(key) > TS_OBJECT_KEY_MAX || strlen(bucket) > TS_BUCKET_NAME_MAX) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    *out = NULL;
    struct ul_download *d = calloc(1, sizeof(*d));
    if (d == NULL) {
        return TS_ERR_NOMEM;
    }
    d->p = p;
    snprintf(d->bucket, sizeof(d->bucket), "%s", bucket);
    ts_buf_init(&d->enc_key, TS_ENCRYPTED_KEY_MAX);
    ts_err err = download_prepare(d, key, opts);
    if (err != TS_OK) {
        ul_download_close(d);
        return err;
    }
    *out = d;
    return TS_OK;
}

ul_err ul_download_read(struct ul_download *d, void *buf, size_t cap, size_t *got)
{
    ul_detail_clear();
    if (d == NULL || got == NULL || (buf == NULL && cap > 0)) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    *got = 0;
    uint8_t *out = buf;
    while (*got < cap && d->pos < d->end) {
        uint64_t in_seg = d->seg ? d->pos - (uint64_t)d->seg->plain_offset : 0;
        if (d->seg == NULL || in_seg < d->win_from || in_seg >= d->win_from + d->win_len) {
            if (*got > 0) {
                break; /* return what we have before blocking on the network */
            }
            ts_err err = window_fill(d);
            if (err != TS_OK) {
                return err;
            }
            in_seg = d->pos - (uint64_t)d->seg->plain_offset;
        }
        size_t off = (size_t)(in_seg - d->win_from);
        uint64_t n = d->win_len - off;
        n = n < cap - *got ? n : cap - *got;
        n = n < d->end - d->pos ? n : d->end - d->pos;
        memcpy(out + *got, d->win + off, (size_t)n);
        *got += (size_t)n;
        d->pos += n;
    }
    return TS_OK;
}

const struct ul_object_info *ul_download_info(const struct ul_download *d)
{
    return &d->info;
}

void ul_download_close(struct ul_download *d)
{
    if (d == NULL) {
        return;
    }
    /* Abort every fetch first (their threads unwind in parallel), then join them. */
    struct fetch *all[UL_FETCH_RETIRED_MAX + 1];
    int count = 0;
    for (int i = 0; i < d->retired_count; i++) {
        all[count++] = d->retired[i];
    }
    if (d->f != NULL) {
        all[count++] = d->f;
        d->f = NULL;
    }
    segment_release(d);
    for (int i = 0; i < count; i++) {
        fetch_cancel(all[i], true);
    }
    for (int i = 0; i < count; i++) {
        fetch_end(all[i]);
    }
    if (d->page != NULL) {
        protobuf_c_message_free_unpacked(&d->page->base, NULL);
    }
    ul_seg_decoder_free(d->dec);
    ts_ec_free(d->ec);
    ul_object_info_release(&d->info);
    ts_buf_release(&d->enc_key);
    ts_wipe(d->kek, sizeof(d->kek));
    if (d->win != NULL) {
        ts_wipe(d->win, UL_DECODE_WINDOW_BLOCKS * UL_PLAIN_BLOCK);
        free(d->win);
    }
    free(d->bad);
    free(d->bad_logged);
    free(d->nums);
    free(d->avail);
    free(d->bufs);
    free(d);
}
