/* The ranged segment loop and the node snapshot (see segmentloop.h). */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/log.h"
#include "satellite/db/sql.h"
#include "satellite/segmentloop/segmentloop.h"

#define COMPONENT "satellite.segmentloop"
#define ID_ARG(p) (p), (size_t)SAT_ID_SIZE
#define LOOP_NAME_MAX 64
#define SEG_COLS                                                                                   \
    "stream_id, position, root_piece_id, encrypted_size, redundancy, remote_alias_pieces, "        \
    "created_at, expires_at"

struct sat_segment_loop {
    struct ts_db *db;
    char name[LOOP_NAME_MAX];
    size_t page_size;
    struct sat_loop_observer observers[SAT_LOOP_OBSERVERS_MAX];
    size_t observer_count;
};

/* ---- Node snapshot ---- */

static ts_err node_row(struct ts_db_stmt *st, struct sat_loop_nodes *out, size_t *cap)
{
    int64_t alias = ts_db_stmt_column_int64(st, 0);
    if (alias <= 0 || alias >= SAT_LOOP_NODES_MAX) {
        return alias <= 0 ? TS_ERR_MALFORMED : TS_ERR_TOO_LARGE;
    }
    if ((size_t)alias >= *cap) {
        size_t grown_cap = (size_t)alias * 2 + 16;
        struct sat_loop_node *grown = realloc(out->nodes, grown_cap * sizeof *grown);
        if (grown == NULL) {
            return TS_ERR_NOMEM;
        }
        memset(grown + *cap, 0, (grown_cap - *cap) * sizeof *grown);
        out->nodes = grown;
        *cap = grown_cap;
    }
    struct sat_loop_node *n = &out->nodes[alias];
    n->alias = (uint32_t)alias;
    ts_err err = sat_sql_col_fixed(st, 1, n->id, TS_NODE_ID_SIZE);
    if (err == TS_OK) {
        err = sat_sql_col_text(st, 2, n->address, sizeof n->address);
    }
    if (err == TS_OK) {
        err = sat_sql_col_text(st, 3, n->last_net, sizeof n->last_net);
    }
    n->last_contact_success = ts_db_stmt_column_int64(st, 4);
    n->last_contact_failure = ts_db_stmt_column_int64(st, 5);
    n->disqualified_at = ts_db_stmt_column_int64(st, 6);
    n->exit_initiated_at = ts_db_stmt_column_int64(st, 7);
    n->suspended_at = ts_db_stmt_column_int64(st, 8);
    n->contained = ts_db_stmt_column_int64(st, 9) > 0;
    if ((size_t)alias + 1 > out->count) {
        out->count = (size_t)alias + 1;
    }
    return err;
}

static ts_err nodes_fn(struct ts_db_conn *c, void *ctx)
{
    struct sat_loop_nodes *out = ctx;
    struct ts_db_stmt *st = NULL;
    size_t cap = 0;
    free(out->nodes);
    out->nodes = NULL;
    out->count = 0;
    ts_err err =
        sat_sql_prepare(c,
                        "SELECT a.alias, n.id, n.address, n.last_net, n.last_contact_success, "
                        "n.last_contact_failure, n.disqualified_at, n.exit_initiated_at, "
                        "COALESCE(r.suspended_at, 0), "
                        "(SELECT COUNT(*) FROM reverify_queue q WHERE q.node_id = n.id) "
                        "FROM nodes n JOIN node_aliases a ON a.node_id = n.id "
                        "LEFT JOIN reputation r ON r.node_id = n.id LIMIT $1",
                        &st, "i", (int64_t)SAT_LOOP_NODES_MAX);
    while (err == TS_OK) {
        bool row = false;
        err = ts_db_stmt_step(st, &row);
        if (err != TS_OK || !row) {
            break;
        }
        err = node_row(st, out, &cap);
    }
    ts_db_stmt_free(st);
    return err;
}

ts_err sat_loop_nodes_load(struct ts_db *db, struct sat_loop_nodes *out)
{
    memset(out, 0, sizeof *out);
    ts_err err = ts_db_tx_read(db, nodes_fn, out);
    if (err != TS_OK) {
        sat_loop_nodes_release(out);
    }
    return err;
}

void sat_loop_nodes_release(struct sat_loop_nodes *n)
{
    free(n->nodes);
    n->nodes = NULL;
    n->count = 0;
}

const struct sat_loop_node *sat_loop_nodes_get(const struct sat_loop_nodes *n, uint32_t alias)
{
    if (alias == 0 || alias >= n->count || n->nodes[alias].alias != alias) {
        return NULL;
    }
    return &n->nodes[alias];
}

bool sat_loop_node_online(const struct sat_loop_node *n, int64_t now_s, int64_t online_window_s)
{
    return n->last_contact_success >= now_s - online_window_s &&
           n->last_contact_success >= n->last_contact_failure;
}

/* ---- Segment rows ---- */

static ts_err read_segment(struct ts_db_stmt *st, struct sat_loop_segment *s)
{
    memset(s, 0, sizeof *s);
    ts_err err = sat_sql_col_fixed(st, 0, s->stream_id, SAT_ID_SIZE);
    s->position = ts_db_stmt_column_int64(st, 1);
    if (err == TS_OK) {
        err = sat_sql_col_fixed(st, 2, s->root_piece_id, sizeof s->root_piece_id);
    }
    s->encrypted_size = ts_db_stmt_column_int64(st, 3);
    if (err == TS_OK) {
        err = sat_redundancy_unpack(ts_db_stmt_column_int64(st, 4), &s->redundancy);
    }
    if (err == TS_OK) {
        err = sat_sql_col_var(st, 5, s->pieces_raw, sizeof s->pieces_raw, &s->pieces_raw_len);
    }
    if (err == TS_OK) {
        err = sat_alias_pieces_decode(s->pieces_raw, s->pieces_raw_len, s->pieces, TS_EC_SHARES_MAX,
                                      &s->piece_count);
    }
    s->created_at = ts_db_stmt_column_int64(st, 6);
    s->expires_at = ts_db_stmt_column_int64(st, 7);
    return err;
}

struct get_ctx {
    const uint8_t *stream_id;
    int64_t position;
    struct sat_loop_segment *out;
};

static ts_err get_fn(struct ts_db_conn *c, void *ctx)
{
    struct get_ctx *g = ctx;
    struct ts_db_stmt *st = NULL;
    bool row = false;
    ts_err err = sat_sql_prepare(c,
                                 "SELECT " SEG_COLS " FROM segments WHERE stream_id = $1 AND "
                                 "position = $2 AND remote_alias_pieces IS NOT NULL",
                                 &st, "bi", ID_ARG(g->stream_id), g->position);
    if (err == TS_OK) {
        err = ts_db_stmt_step(st, &row);
    }
    if (err == TS_OK && !row) {
        err = TS_ERR_NOT_FOUND;
    }
    if (err == TS_OK) {
        err = read_segment(st, g->out);
    }
    ts_db_stmt_free(st);
    return err;
}

ts_err sat_loop_segment_get(struct ts_db *db, const uint8_t stream_id[SAT_ID_SIZE],
                            int64_t position, struct sat_loop_segment *out)
{
    struct get_ctx g = {stream_id, position, out};
    return ts_db_tx_read(db, get_fn, &g);
}

/* ---- The loop ---- */

ts_err sat_segment_loop_new(struct ts_db *db, const char *name, size_t page_size,
                            struct sat_segment_loop **out)
{
    *out = NULL;
    if (page_size < 1 || page_size > SAT_LOOP_PAGE_MAX || strlen(name) >= LOOP_NAME_MAX) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    struct sat_segment_loop *l = calloc(1, sizeof *l);
    if (l == NULL) {
        return TS_ERR_NOMEM;
    }
    l->db = db;
    l->page_size = page_size;
    memcpy(l->name, name, strlen(name) + 1);
    *out = l;
    return TS_OK;
}

void sat_segment_loop_free(struct sat_segment_loop *loop)
{
    free(loop);
}

ts_err sat_segment_loop_register(struct sat_segment_loop *loop, const struct sat_loop_observer *obs)
{
    if (loop->observer_count == SAT_LOOP_OBSERVERS_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    loop->observers[loop->observer_count++] = *obs;
    return TS_OK;
}

struct cursor {
    uint8_t stream_id[SAT_ID_SIZE];
    int64_t position;
    int64_t pass;
    bool fresh; /* at the start of a pass */
};

struct cursor_ctx {
    const char *name;
    struct cursor *cur;
};

static ts_err cursor_read_fn(struct ts_db_conn *c, void *ctx)
{
    struct cursor_ctx *cc = ctx;
    struct ts_db_stmt *st = NULL;
    bool row = false;
    memset(cc->cur, 0, sizeof *cc->cur);
    cc->cur->position = -1;
    cc->cur->fresh = true;
    ts_err err = sat_sql_prepare(c,
                                 "SELECT stream_id, position, pass FROM loop_cursors WHERE "
                                 "name = $1",
                                 &st, "t", cc->name);
    if (err == TS_OK) {
        err = ts_db_stmt_step(st, &row);
    }
    if (err == TS_OK && row) {
        size_t len = 0;
        err = sat_sql_col_var(st, 0, cc->cur->stream_id, SAT_ID_SIZE, &len);
        cc->cur->position = ts_db_stmt_column_int64(st, 1);
        cc->cur->pass = ts_db_stmt_column_int64(st, 2);
        cc->cur->fresh = len == 0;
        if (len == 0) {
            memset(cc->cur->stream_id, 0, SAT_ID_SIZE);
            cc->cur->position = -1;
        }
    }
    ts_db_stmt_free(st);
    return err;
}

/* Stores the cursor; an empty stream id (fresh) marks the start of the next pass. */
static ts_err cursor_write_fn(struct ts_db_conn *c, void *ctx)
{
    struct cursor_ctx *cc = ctx;
    int64_t now = ts_time_now_s();
    size_t len = cc->cur->fresh ? 0 : SAT_ID_SIZE;
    return sat_sql_exec(c, NULL,
                        "INSERT INTO loop_cursors (name, stream_id, position, pass, "
                        "pass_started_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT "
                        "(name) DO UPDATE SET stream_id = excluded.stream_id, position = "
                        "excluded.position, pass = excluded.pass, updated_at = excluded.updated_at",
                        "tbiii", cc->name, cc->cur->stream_id, len, cc->cur->position,
                        cc->cur->pass, now);
}

struct page_ctx {
    const struct cursor *cur;
    size_t limit;
    struct sat_loop_segment *segs;
    size_t count;
};

static ts_err page_fn(struct ts_db_conn *c, void *ctx)
{
    struct page_ctx *pc = ctx;
    struct ts_db_stmt *st = NULL;
    pc->count = 0;
    /* Keyset pagination on the primary key; the OR form works on both backends. */
    ts_err err = sat_sql_prepare(c,
                                 "SELECT " SEG_COLS " FROM segments WHERE remote_alias_pieces IS "
                                 "NOT NULL AND (stream_id > $1 OR (stream_id = $1 AND position > "
                                 "$2)) ORDER BY stream_id, position LIMIT $3",
                                 &st, "bii", ID_ARG(pc->cur->stream_id), pc->cur->position,
                                 (int64_t)pc->limit);
    while (err == TS_OK && pc->count < pc->limit) {
        bool row = false;
        err = ts_db_stmt_step(st, &row);
        if (err != TS_OK || !row) {
            break;
        }
        err = read_segment(st, &pc->segs[pc->count]);
        if (err == TS_ERR_MALFORMED) {
            ts_log_error(COMPONENT, "skipping a segment row that does not decode");
            err = TS_OK;
            continue;
        }
        pc->count++;
    }
    ts_db_stmt_free(st);
    return err;
}

static ts_err observers_begin(struct sat_segment_loop *loop, const struct sat_loop_nodes *nodes)
{
    ts_err err = TS_OK;
    int64_t now = ts_time_now_s();
    for (size_t i = 0; err == TS_OK && i < loop->observer_count; i++) {
        if (loop->observers[i].begin != NULL) {
            err = loop->observers[i].begin(loop->observers[i].ctx, nodes, now);
        }
    }
    return err;
}

static void observers_end(struct sat_segment_loop *loop, bool complete, int64_t pass)
{
    for (size_t i = 0; i < loop->observer_count; i++) {
        if (loop->observers[i].end != NULL) {
            loop->observers[i].end(loop->observers[i].ctx, complete, pass);
        }
    }
}

static ts_err feed_page(struct sat_segment_loop *loop, const struct page_ctx *pc,
                        const atomic_bool *stop)
{
    for (size_t s = 0; s < pc->count; s++) {
        if (stop != NULL && atomic_load(stop)) {
            return TS_ERR_CANCELED;
        }
        for (size_t i = 0; i < loop->observer_count; i++) {
            if (loop->observers[i].segment == NULL) {
                continue;
            }
            ts_err err = loop->observers[i].segment(loop->observers[i].ctx, &pc->segs[s]);
            if (err != TS_OK) {
                return err;
            }
        }
    }
    return TS_OK;
}

/* Walks the pages from cur to the end, persisting the cursor after each page. */
static ts_err walk(struct sat_segment_loop *loop, struct cursor *cur, const atomic_bool *stop,
                   int64_t *segments)
{
    struct page_ctx pc = {.cur = cur, .limit = loop->page_size};
    struct cursor_ctx cc = {loop->name, cur};
    pc.segs = malloc(loop->page_size * sizeof *pc.segs);
    ts_err err = pc.segs == NULL ? TS_ERR_NOMEM : TS_OK;
    while (err == TS_OK) {
        err = ts_db_tx_read(loop->db, page_fn, &pc);
        if (err != TS_OK || pc.count == 0) {
            break;
        }
        err = feed_page(loop, &pc, stop);
        if (err != TS_OK) {
            break; /* the cursor stays before this page: it is fed again on resume */
        }
        *segments += (int64_t)pc.count;
        memcpy(cur->stream_id, pc.segs[pc.count - 1].stream_id, SAT_ID_SIZE);
        cur->position = pc.segs[pc.count - 1].position;
        cur->fresh = false;
        err = ts_db_tx(loop->db, cursor_write_fn, &cc);
        if (pc.count < pc.limit) {
            break;
        }
    }
    free(pc.segs);
    return err;
}

ts_err sat_segment_loop_run_pass(struct sat_segment_loop *loop, const atomic_bool *stop,
                                 int64_t *segments)
{
    struct cursor cur;
    struct cursor_ctx cc = {loop->name, &cur};
    struct sat_loop_nodes nodes = {0};
    int64_t fed = 0;
    ts_err err = ts_db_tx_read(loop->db, cursor_read_fn, &cc);
    if (err == TS_OK) {
        err = sat_loop_nodes_load(loop->db, &nodes);
    }
    if (err == TS_OK) {
        err = observers_begin(loop, &nodes);
    }
    if (err == TS_OK) {
        err = walk(loop, &cur, stop, &fed);
    }
    if (err == TS_OK) {
        cur.pass++;
        cur.fresh = true;
        memset(cur.stream_id, 0, SAT_ID_SIZE);
        cur.position = -1;
        err = ts_db_tx(loop->db, cursor_write_fn, &cc);
    }
    observers_end(loop, err == TS_OK, cur.pass);
    sat_loop_nodes_release(&nodes);
    if (segments != NULL) {
        *segments = fed;
    }
    if (err != TS_OK && err != TS_ERR_CANCELED) {
        ts_log_warn(COMPONENT, "pass stopped loop=%s err=%s", loop->name, ts_strerror(err));
    }
    return err;
}

ts_err sat_segment_loop_passes(struct sat_segment_loop *loop, int64_t *passes)
{
    struct cursor cur;
    struct cursor_ctx cc = {loop->name, &cur};
    ts_err err = ts_db_tx_read(loop->db, cursor_read_fn, &cc);
    *passes = err == TS_OK ? cur.pass : 0;
    return err;
}
