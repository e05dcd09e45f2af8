/* Garbage collection on the node: Retain filters, the resumable walk, trash expiry (see
 * node_retain.h). */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/fs.h"
#include "base/log.h"
#include "encoding/encoding.h"
#include "node_retain.h"
#include "node_trash.h"
#include "retain.pb-c.h"
#include "rpc/rpc.h"

#define LOG "node.gc"
#define B32_ID_LEN 52
#define PREFIX_LEN 2
#define PIECE_SUFFIX ".sj1"
/* retain/<sat>.filter: magic, version, created_s (8 bytes BE), then the bloom filter bytes. */
#define FILTER_MAGIC "TSRF"
#define FILTER_FILE_HEADER 13
#define FILTER_FILE_MAX (FILTER_FILE_HEADER + TS_BLOOM_HEADER_SIZE + TS_BLOOM_TABLE_SIZE_MAX)
/* Prefix directories per satellite: two base32 characters. */
#define PREFIXES_MAX 1024

struct node_retain {
    struct node *n;
    const struct node_retain_config *cfg;
    char dir[PATH_MAX]; /* storage_dir/retain */
    pthread_t thread;
    pthread_mutex_t mu; /* guards wake, passes, totals */
    pthread_cond_t cv;
    bool wake;
    atomic_bool stop;
    int64_t passes;
    struct node_retain_stats totals;
    pthread_mutex_t walk_mu;  /* one walk or restore at a time (held for a whole walk) */
    pthread_mutex_t files_mu; /* filter and progress files: replaced, read, removed */
    int64_t next_expire_s;
};

/* ---- Configuration ---- */

void node_retain_config_from(struct node_retain_config *out, const struct node_config *cfg)
{
    out->skew_margin_s = cfg->retain_skew_s;
    out->trash_keep_s = cfg->trash_keep_s;
    out->trash_interval_s = cfg->trash_interval_s > 0 ? cfg->trash_interval_s : 1;
}

/* ---- The walk ---- */

static int cmp_prefix(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* The sorted prefix directory names of dir (at most PREFIXES_MAX, each PREFIX_LEN chars). */
static ts_err list_prefixes(const char *dir, char (*names)[PREFIX_LEN + 1], size_t *count)
{
    *count = 0;
    DIR *d = opendir(dir);
    if (d == NULL) {
        return errno == ENOENT ? TS_OK : TS_ERR_IO;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strlen(e->d_name) != PREFIX_LEN) {
            continue;
        }
        if (*count == PREFIXES_MAX) {
            closedir(d);
            return TS_ERR_TOO_LARGE;
        }
        memcpy(names[(*count)++], e->d_name, PREFIX_LEN + 1);
    }
    closedir(d);
    qsort(names, *count, sizeof names[0], cmp_prefix);
    return TS_OK;
}

/* Piece ID from "<prefix>" + "<50 chars>.sj1"; TS_ERR_MALFORMED for a foreign file name. */
static ts_err piece_id_from_name(const char *prefix, const char *name, uint8_t id[32])
{
    size_t len = strlen(name), suffix = strlen(PIECE_SUFFIX);
    if (len != B32_ID_LEN - PREFIX_LEN + suffix || strcmp(name + len - suffix, PIECE_SUFFIX)) {
        return TS_ERR_MALFORMED;
    }
    char text[B32_ID_LEN];
    memcpy(text, prefix, PREFIX_LEN);
    memcpy(text + PREFIX_LEN, name, B32_ID_LEN - PREFIX_LEN);
    struct ts_buf b;
    ts_buf_init(&b, 40);
    ts_err err = ts_base32_decode(TS_BASE32_LOWER, text, B32_ID_LEN, &b);
    if (err == TS_OK && b.len != 32) {
        err = TS_ERR_MALFORMED;
    }
    if (err == TS_OK) {
        memcpy(id, b.data, 32);
    }
    ts_buf_release(&b);
    return err;
}

/* Decides one piece file. */
static void walk_piece(struct node *n, const uint8_t sat_id[32], const struct ts_bloom *f,
                       int64_t cutoff_s, const uint8_t id[32], struct node_retain_stats *st)
{
    struct node_blob_reader *r = NULL;
    st->checked++;
    if (node_blob_reader_open(n->blobs, sat_id, id, &r) != TS_OK) {
        st->damaged++; /* gone meanwhile, or a damaged header: never trash what we cannot date */
        return;
    }
    int64_t created_s = node_blob_reader_header(r)->creation_time_s;
    node_blob_reader_free(r);
    if (created_s >= cutoff_s) {
        st->kept_recent++;
        return;
    }
    if (ts_bloom_contains(f, id)) {
        st->kept_in_filter++;
        return;
    }
    int64_t size = 0;
    ts_err err = node_blob_trash(n->blobs, sat_id, id, ts_time_now_s(), &size);
    if (err == TS_OK) {
        node_space_trash(&n->space, size);
        st->trashed++;
        st->trashed_bytes += size;
    } else if (err != TS_ERR_NOT_FOUND) {
        ts_log_warn(LOG, "could not trash a piece err=%s", ts_errname(err));
    }
}

static ts_err walk_prefix(struct node *n, const uint8_t sat_id[32], const struct ts_bloom *f,
                          int64_t cutoff_s, const char *dir, const char *prefix,
                          struct node_retain_stats *st)
{
    char path[PATH_MAX];
    int len = snprintf(path, sizeof path, "%s/%s", dir, prefix);
    DIR *d = len < 0 || (size_t)len >= sizeof path ? NULL : opendir(path);
    if (d == NULL) {
        return errno == ENOENT ? TS_OK : TS_ERR_IO;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        uint8_t id[32];
        if (e->d_name[0] == '.') {
            continue;
        }
        if (piece_id_from_name(prefix, e->d_name, id) != TS_OK) {
            st->damaged++;
            continue;
        }
        walk_piece(n, sat_id, f, cutoff_s, id, st);
    }
    closedir(d);
    return TS_OK;
}

ts_err node_retain_walk(struct node *n, const uint8_t sat_id[32], const struct ts_bloom *f,
                        int64_t cutoff_s, const char *resume_after,
                        node_retain_prefix_fn prefix_done, void *ctx, const atomic_bool *stop,
                        struct node_retain_stats *out)
{
    char sat[B32_ID_LEN + 1], dir[PATH_MAX];
    char(*names)[PREFIX_LEN + 1] = malloc(PREFIXES_MAX * sizeof *names);
    size_t count = 0;
    memset(out, 0, sizeof *out);
    ts_err err = names == NULL ? TS_ERR_NOMEM
                               : ts_base32_encode_to(TS_BASE32_LOWER, sat_id, 32, sat, sizeof sat);
    int len = snprintf(dir, sizeof dir, "%s/blobs/%s", node_blobstore_dir(n->blobs), sat);
    if (err == TS_OK && (len < 0 || (size_t)len >= sizeof dir)) {
        err = TS_ERR_TOO_LARGE;
    }
    if (err == TS_OK) {
        err = list_prefixes(dir, names, &count);
    }
    for (size_t i = 0; err == TS_OK && i < count; i++) {
        if (strcmp(names[i], resume_after) <= 0) {
            continue;
        }
        if (stop != NULL && atomic_load(stop)) {
            err = TS_ERR_CANCELED;
            break;
        }
        err = walk_prefix(n, sat_id, f, cutoff_s, dir, names[i], out);
        if (err == TS_OK && prefix_done != NULL) {
            err = prefix_done(ctx, names[i]);
        }
    }
    free(names);
    return err;
}

/* ---- Filter and progress files ---- */

static ts_err retain_path(const struct node_retain *r, const uint8_t sat_id[32], const char *ext,
                          char *out)
{
    char sat[B32_ID_LEN + 1];
    ts_err err = ts_base32_encode_to(TS_BASE32_LOWER, sat_id, 32, sat, sizeof sat);
    int len = snprintf(out, PATH_MAX, "%s/%s.%s", r->dir, sat, ext);
    return err != TS_OK ? err : len < 0 || len >= PATH_MAX ? TS_ERR_TOO_LARGE : TS_OK;
}

/* Reads retain/<sat>.filter: *created_s and (when f is not NULL) the decoded filter. */
static ts_err filter_load(const struct node_retain *r, const uint8_t sat_id[32],
                          int64_t *created_s, struct ts_bloom **f)
{
    char path[PATH_MAX];
    struct ts_buf b;
    ts_buf_init(&b, FILTER_FILE_MAX);
    ts_err err = retain_path(r, sat_id, "filter", path);
    if (err == TS_OK) {
        err = ts_fs_read_all(path, FILTER_FILE_MAX, &b);
    }
    if (err == TS_OK && (b.len < FILTER_FILE_HEADER || memcmp(b.data, FILTER_MAGIC, 4) != 0 ||
                         b.data[4] != 1)) {
        err = TS_ERR_MALFORMED;
    }
    if (err == TS_OK) {
        *created_s = (int64_t)ts_be64_get(b.data + 5);
    }
    if (err == TS_OK && f != NULL) {
        err = ts_bloom_decode(b.data + FILTER_FILE_HEADER, b.len - FILTER_FILE_HEADER, f);
    }
    ts_buf_release(&b);
    return err;
}

static ts_err filter_store(const struct node_retain *r, const uint8_t sat_id[32],
                           int64_t created_s, const uint8_t *filter, size_t len)
{
    char path[PATH_MAX];
    uint8_t *data = malloc(FILTER_FILE_HEADER + len);
    if (data == NULL) {
        return TS_ERR_NOMEM;
    }
    memcpy(data, FILTER_MAGIC, 4);
    data[4] = 1;
    ts_be64_put(data + 5, (uint64_t)created_s);
    memcpy(data + FILTER_FILE_HEADER, filter, len);
    ts_err err = retain_path(r, sat_id, "filter", path);
    if (err == TS_OK) {
        err = ts_fs_write_atomic(path, data, FILTER_FILE_HEADER + len, 0600);
    }
    free(data);
    return err;
}

/* The progress file holds "<created_s> <last finished prefix>"; it only counts for the filter
 * with that creation time. "" when there is none. */
static void progress_load(const struct node_retain *r, const uint8_t sat_id[32], int64_t created_s,
                          char prefix[PREFIX_LEN + 1])
{
    char path[PATH_MAX];
    struct ts_buf b;
    long long at = 0;
    char name[PREFIX_LEN + 2] = "";
    prefix[0] = 0;
    ts_buf_init(&b, 64);
    if (retain_path(r, sat_id, "progress", path) == TS_OK &&
        ts_fs_read_all(path, 64, &b) == TS_OK && b.data != NULL &&
        sscanf((const char *)b.data, "%lld %3s", &at, name) == 2 && at == created_s &&
        strlen(name) == PREFIX_LEN) {
        memcpy(prefix, name, PREFIX_LEN + 1);
    }
    ts_buf_release(&b);
}

struct progress_ctx {
    struct node_retain *r;
    const uint8_t *sat_id;
    int64_t created_s;
};

static ts_err progress_store(void *ctx, const char *prefix)
{
    struct progress_ctx *pc = ctx;
    char path[PATH_MAX], line[64];
    int len = snprintf(line, sizeof line, "%lld %s\n", (long long)pc->created_s, prefix);
    ts_err err = retain_path(pc->r, pc->sat_id, "progress", path);
    return err != TS_OK ? err : ts_fs_write_atomic(path, line, (size_t)len, 0600);
}

static void files_remove(const struct node_retain *r, const uint8_t sat_id[32])
{
    char path[PATH_MAX];
    if (retain_path(r, sat_id, "filter", path) == TS_OK) {
        (void)unlink(path);
    }
    if (retain_path(r, sat_id, "progress", path) == TS_OK) {
        (void)unlink(path);
    }
}

/* ---- The thread ---- */

static void totals_add(struct node_retain *r, const struct node_retain_stats *st)
{
    pthread_mutex_lock(&r->mu);
    r->totals.checked += st->checked;
    r->totals.kept_recent += st->kept_recent;
    r->totals.kept_in_filter += st->kept_in_filter;
    r->totals.trashed += st->trashed;
    r->totals.trashed_bytes += st->trashed_bytes;
    r->totals.damaged += st->damaged;
    pthread_mutex_unlock(&r->mu);
}

/* Runs (or resumes) the pending filter of one satellite. */
static void run_filter(struct node_retain *r, const uint8_t sat_id[32])
{
    struct ts_bloom *f = NULL;
    int64_t created_s = 0, again_s = 0;
    char resume[PREFIX_LEN + 1] = "";
    struct node_retain_stats st;
    memset(&st, 0, sizeof st);
    pthread_mutex_lock(&r->files_mu);
    ts_err err = filter_load(r, sat_id, &created_s, &f);
    if (err == TS_OK) {
        progress_load(r, sat_id, created_s, resume);
    } else if (err != TS_ERR_NOT_FOUND) {
        ts_log_error(LOG, "stored filter unreadable, dropped err=%s", ts_errname(err));
        files_remove(r, sat_id);
    }
    pthread_mutex_unlock(&r->files_mu);
    if (err != TS_OK) {
        return; /* NOT_FOUND: dropped by a restore meanwhile */
    }
    struct progress_ctx pc = {r, sat_id, created_s};
    int64_t cutoff_s = created_s - r->cfg->skew_margin_s;
    pthread_mutex_lock(&r->walk_mu);
    err = node_retain_walk(r->n, sat_id, f, cutoff_s, resume, progress_store, &pc, &r->stop, &st);
    pthread_mutex_unlock(&r->walk_mu);
    pthread_mutex_lock(&r->files_mu);
    if (err == TS_OK && filter_load(r, sat_id, &again_s, NULL) == TS_OK && again_s == created_s) {
        files_remove(r, sat_id); /* done; a newer filter that arrived meanwhile stays */
    }
    pthread_mutex_unlock(&r->files_mu);
    ts_bloom_free(f);
    totals_add(r, &st);
    ts_log_info(LOG, "retain walk %s created_s=%lld cutoff_s=%lld resumed_after=%s checked=%lld "
                     "trashed=%lld bytes=%lld kept_in_filter=%lld kept_recent=%lld damaged=%lld",
                err == TS_OK ? "done" : ts_errname(err), (long long)created_s,
                (long long)cutoff_s, resume[0] ? resume : "-", (long long)st.checked,
                (long long)st.trashed, (long long)st.trashed_bytes, (long long)st.kept_in_filter,
                (long long)st.kept_recent, (long long)st.damaged);
}

/* Satellite ID from "<52 base32 chars>.filter". */
static bool filter_file_sat(const char *name, uint8_t sat_id[32])
{
    struct ts_buf b;
    ts_buf_init(&b, 40);
    bool ok = strlen(name) == B32_ID_LEN + 7 && strcmp(name + B32_ID_LEN, ".filter") == 0 &&
              ts_base32_decode(TS_BASE32_LOWER, name, B32_ID_LEN, &b) == TS_OK && b.len == 32;
    if (ok) {
        memcpy(sat_id, b.data, 32);
    }
    ts_buf_release(&b);
    return ok;
}

/* Satellites with a pending filter (at most max). */
static size_t pending_sats(struct node_retain *r, uint8_t (*sats)[32], size_t max)
{
    size_t count = 0;
    DIR *d = opendir(r->dir);
    if (d == NULL) {
        return 0;
    }
    struct dirent *e;
    while (count < max && (e = readdir(d)) != NULL) {
        if (filter_file_sat(e->d_name, sats[count])) {
            count++;
        }
    }
    closedir(d);
    return count;
}

static void pass(struct node_retain *r)
{
    uint8_t sats[TS_TRUSTED_SATELLITES_MAX][32];
    size_t count = pending_sats(r, sats, TS_TRUSTED_SATELLITES_MAX);
    for (size_t i = 0; i < count && !atomic_load(&r->stop); i++) {
        run_filter(r, sats[i]);
    }
    int64_t now_s = ts_time_now_s();
    if (!atomic_load(&r->stop) && now_s >= r->next_expire_s) {
        struct node_trash_stats st;
        if (node_trash_expire(r->n, now_s, r->cfg->trash_keep_s, &st) != TS_OK) {
            ts_log_warn(LOG, "trash expiry failed");
        }
        r->next_expire_s = now_s + r->cfg->trash_interval_s;
    }
}

static void *thread_main(void *arg)
{
    struct node_retain *r = arg;
    while (!atomic_load(&r->stop)) {
        pass(r);
        pthread_mutex_lock(&r->mu);
        r->passes++;
        struct timespec deadline;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += r->cfg->trash_interval_s;
        while (!r->wake && !atomic_load(&r->stop) &&
               pthread_cond_timedwait(&r->cv, &r->mu, &deadline) != ETIMEDOUT) {
        }
        r->wake = false;
        pthread_mutex_unlock(&r->mu);
    }
    return NULL;
}

ts_err node_retain_start(struct node *n, const struct node_retain_config *cfg,
                         struct node_retain **out)
{
    *out = NULL;
    struct node_retain *r = calloc(1, sizeof *r);
    if (r == NULL) {
        return TS_ERR_NOMEM;
    }
    r->n = n;
    r->cfg = cfg;
    int len = snprintf(r->dir, sizeof r->dir, "%s/retain", node_blobstore_dir(n->blobs));
    ts_err err = len < 0 || (size_t)len >= sizeof r->dir ? TS_ERR_TOO_LARGE
                                                          : ts_fs_mkdir_p(r->dir, 0700);
    if (err != TS_OK) {
        free(r);
        return err;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&r->mu, NULL);
    pthread_mutex_init(&r->walk_mu, NULL);
    pthread_mutex_init(&r->files_mu, NULL);
    atomic_init(&r->stop, false);
    if (pthread_create(&r->thread, NULL, thread_main, r) != 0) {
        pthread_cond_destroy(&r->cv);
        pthread_mutex_destroy(&r->mu);
        pthread_mutex_destroy(&r->walk_mu);
        pthread_mutex_destroy(&r->files_mu);
        free(r);
        return TS_ERR_NOMEM;
    }
    *out = r;
    return TS_OK;
}

void node_retain_stop(struct node_retain *r)
{
    if (r == NULL) {
        return;
    }
    pthread_mutex_lock(&r->mu);
    atomic_store(&r->stop, true);
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    pthread_mutex_destroy(&r->walk_mu);
    pthread_mutex_destroy(&r->files_mu);
    free(r);
}

void node_retain_trigger(struct node_retain *r)
{
    pthread_mutex_lock(&r->mu);
    r->wake = true;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

int64_t node_retain_passes(struct node_retain *r)
{
    pthread_mutex_lock(&r->mu);
    int64_t p = r->passes;
    pthread_mutex_unlock(&r->mu);
    return p;
}

int64_t node_retain_pending(struct node_retain *r)
{
    uint8_t sats[TS_TRUSTED_SATELLITES_MAX][32];
    return (int64_t)pending_sats(r, sats, TS_TRUSTED_SATELLITES_MAX);
}

void node_retain_totals(struct node_retain *r, struct node_retain_stats *out)
{
    pthread_mutex_lock(&r->mu);
    *out = r->totals;
    pthread_mutex_unlock(&r->mu);
}

/* ---- Queue and restore ---- */

ts_err node_retain_queue(struct node_retain *r, const uint8_t sat_id[32], int64_t created_s,
                         const uint8_t *filter, size_t len, char *msg)
{
    struct ts_bloom *f = NULL;
    int64_t pending_s = 0;
    msg[0] = 0;
    if (created_s > ts_time_now_s() + TS_ORDER_GRACE_S) {
        snprintf(msg, NODE_RETAIN_MSG_SIZE, "filter created in the future (clock skew > %d s)",
                 TS_ORDER_GRACE_S);
        return TS_ERR_NOT_YET_VALID;
    }
    ts_err err = ts_bloom_decode(filter, len, &f);
    ts_bloom_free(f);
    if (err != TS_OK) {
        snprintf(msg, NODE_RETAIN_MSG_SIZE, "bloom filter refused: %s", ts_strerror(err));
        return err;
    }
    pthread_mutex_lock(&r->files_mu);
    if (filter_load(r, sat_id, &pending_s, NULL) == TS_OK && pending_s >= created_s) {
        pthread_mutex_unlock(&r->files_mu);
        ts_log_info(LOG, "retain ignored: not newer than the pending filter created_s=%lld",
                    (long long)created_s);
        return TS_OK;
    }
    err = filter_store(r, sat_id, created_s, filter, len);
    pthread_mutex_unlock(&r->files_mu);
    if (err == TS_OK) {
        node_retain_trigger(r);
    }
    return err;
}

ts_err node_retain_restore_trash(struct node_retain *r, const uint8_t sat_id[32],
                                 int64_t *restored)
{
    struct node_trash_stats st;
    pthread_mutex_lock(&r->files_mu);
    files_remove(r, sat_id);
    pthread_mutex_unlock(&r->files_mu);
    pthread_mutex_lock(&r->walk_mu); /* a walk in progress finishes first, then is undone */
    ts_err err = node_trash_restore(r->n, sat_id, &st);
    pthread_mutex_unlock(&r->walk_mu);
    *restored = st.pieces;
    return err;
}

/* ---- RPC ---- */

static ts_err check_caller(struct node_retain *r, struct ts_rpc_stream *s)
{
    if (node_trust_is_trusted(r->n->trust, &ts_rpc_stream_peer(s)->id)) {
        return TS_OK;
    }
    if (ts_rpc_stream_send_error(s, TS_ERR_UNTRUSTED, "caller is not a trusted satellite") !=
        TS_OK) {
        ts_log_debug(LOG, "could not send the refusal (caller gone)");
    }
    return TS_ERR_UNTRUSTED;
}

static ts_err h_retain(struct ts_rpc_stream *s, void *ctx)
{
    struct node_retain *r = ctx;
    Tessera__Retain__RetainRequest *req = NULL;
    char msg[NODE_RETAIN_MSG_SIZE] = "";
    ts_err err = ts_rpc_stream_recv(s, &tessera__retain__retain_request__descriptor,
                                    (ProtobufCMessage **)&req);
    if (err != TS_OK) {
        return err == TS_ERR_END_OF_STREAM ? TS_ERR_PROTOCOL : err;
    }
    err = check_caller(r, s);
    if (err == TS_OK) {
        err = node_retain_queue(r, ts_rpc_stream_peer(s)->id.bytes, req->creation_time_s,
                                req->filter.data, req->filter.len, msg);
        ts_log_info(LOG, "retain received created_s=%lld bytes=%zu pieces=%lld err=%s",
                    (long long)req->creation_time_s, req->filter.len,
                    (long long)req->piece_count, ts_errname(err));
        if (err != TS_OK && msg[0] != 0 && ts_rpc_stream_send_error(s, err, msg) != TS_OK) {
            ts_log_debug(LOG, "could not send the refusal (satellite gone)");
        }
    }
    protobuf_c_message_free_unpacked(&req->base, NULL);
    if (err == TS_OK) {
        Tessera__Retain__RetainResponse resp = TESSERA__RETAIN__RETAIN_RESPONSE__INIT;
        err = ts_rpc_stream_send(s, &resp.base);
    }
    return err;
}

static ts_err h_restore(struct ts_rpc_stream *s, void *ctx)
{
    struct node_retain *r = ctx;
    ProtobufCMessage *req = NULL;
    ts_err err = ts_rpc_stream_recv(s, &tessera__retain__restore_trash_request__descriptor, &req);
    if (err != TS_OK) {
        return err == TS_ERR_END_OF_STREAM ? TS_ERR_PROTOCOL : err;
    }
    protobuf_c_message_free_unpacked(req, NULL);
    int64_t restored = 0;
    err = check_caller(r, s);
    if (err == TS_OK) {
        err = node_retain_restore_trash(r, ts_rpc_stream_peer(s)->id.bytes, &restored);
    }
    if (err == TS_OK) {
        Tessera__Retain__RestoreTrashResponse resp = TESSERA__RETAIN__RESTORE_TRASH_RESPONSE__INIT;
        resp.restored_pieces = restored;
        err = ts_rpc_stream_send(s, &resp.base);
    }
    return err;
}

ts_err node_retain_register(struct node_retain *r, struct ts_rpc_server *srv)
{
    ts_err err = ts_rpc_server_register(srv, NODE_RETAIN_METHOD, h_retain, r);
    if (err == TS_OK) {
        err = ts_rpc_server_register(srv, NODE_RESTORE_TRASH_METHOD, h_restore, r);
    }
    return err;
}
