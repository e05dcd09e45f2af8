/* The repair checker observer (see checker.h). */
#include <string.h>

#include "base/base.h"
#include "base/log.h"
#include "satellite/repair/checker.h"
#include "satellite/repair/queue.h"

#define COMPONENT "satellite.checker"

void sat_checker_classify(const struct sat_checker_config *cfg, const struct sat_loop_segment *s,
                          const struct sat_loop_node *const *holders, int64_t now_s,
                          struct sat_piece_class *out)
{
    memset(out, 0, sizeof *out);
    const char *nets[TS_EC_SHARES_MAX];
    size_t net_count = 0;
    for (size_t i = 0; i < s->piece_count; i++) {
        const struct sat_loop_node *n = holders[i];
        enum sat_piece_health h = SAT_PIECE_HEALTHY;
        if (n == NULL || !sat_loop_node_online(n, now_s, cfg->online_window_s)) {
            h = SAT_PIECE_MISSING;
        } else if (n->disqualified_at != 0) {
            h = SAT_PIECE_DISQUALIFIED;
        } else if (n->exit_initiated_at != 0) {
            h = SAT_PIECE_EXITING;
        } else if (cfg->distinct_nets) {
            for (size_t j = 0; j < net_count && h == SAT_PIECE_HEALTHY; j++) {
                if (strcmp(nets[j], n->last_net) == 0) {
                    h = SAT_PIECE_CLUMPED;
                }
            }
            if (h == SAT_PIECE_HEALTHY) {
                nets[net_count++] = n->last_net;
            }
        }
        /* A disqualified node's pieces are lost even if it still answers. */
        if (n != NULL && n->disqualified_at != 0) {
            h = SAT_PIECE_DISQUALIFIED;
        }
        out->health[i] = h;
        out->healthy += h == SAT_PIECE_HEALTHY;
        out->missing += h == SAT_PIECE_MISSING;
        out->disqualified += h == SAT_PIECE_DISQUALIFIED;
        out->exiting += h == SAT_PIECE_EXITING;
        out->clumped += h == SAT_PIECE_CLUMPED;
        out->retrievable += h != SAT_PIECE_MISSING && h != SAT_PIECE_DISQUALIFIED;
    }
}

bool sat_checker_is_lost(const struct sat_redundancy *r, const struct sat_piece_class *c)
{
    return c->retrievable < r->required;
}

bool sat_checker_needs_repair(const struct sat_redundancy *r, const struct sat_piece_class *c)
{
    return !sat_checker_is_lost(r, c) && c->healthy <= r->repair && c->healthy < r->success;
}

bool sat_checker_needs_exit_repair(const struct sat_redundancy *r, const struct sat_piece_class *c)
{
    return !sat_checker_is_lost(r, c) && c->exiting > 0;
}

void sat_checker_init(struct sat_checker *ch, struct ts_db *db,
                      const struct sat_checker_config *cfg)
{
    memset(ch, 0, sizeof *ch);
    ch->db = db;
    ch->cfg = *cfg;
}

static ts_err begin_cb(void *ctx, const struct sat_loop_nodes *nodes, int64_t now_s)
{
    struct sat_checker *ch = ctx;
    ch->nodes = nodes;
    ch->now_s = now_s;
    ch->pass_started_s = now_s;
    memset(ch->histogram, 0, sizeof ch->histogram);
    ch->queued = ch->lost = ch->segments = 0;
    return TS_OK;
}

struct verdict_ctx {
    const struct sat_loop_segment *s;
    const struct sat_piece_class *pc;
    bool lost;
    int64_t now;
    bool newly_lost;
};

static ts_err verdict_fn(struct ts_db_conn *c, void *ctx)
{
    struct verdict_ctx *v = ctx;
    if (!v->lost) {
        return sat_repair_queue_put(c, v->s->stream_id, v->s->position, v->pc->healthy, v->now);
    }
    return sat_lost_segment_put(c, v->s->stream_id, v->s->position, v->pc->retrievable,
                                v->s->redundancy.required, v->now);
}

static ts_err segment_cb(void *ctx, const struct sat_loop_segment *s)
{
    struct sat_checker *ch = ctx;
    struct sat_piece_class pc;
    const struct sat_loop_node *holders[TS_EC_SHARES_MAX];
    for (size_t i = 0; i < s->piece_count; i++) {
        holders[i] = sat_loop_nodes_get(ch->nodes, s->pieces[i].alias);
    }
    sat_checker_classify(&ch->cfg, s, holders, ch->now_s, &pc);
    ch->segments++;
    ch->histogram[pc.healthy]++;
    struct verdict_ctx v = {.s = s, .pc = &pc, .now = ch->now_s};
    if (sat_checker_is_lost(&s->redundancy, &pc)) {
        v.lost = true;
        ch->lost++;
        ts_log_error(COMPONENT, "segment lost retrievable=%d required=%d position=%lld",
                     pc.retrievable, s->redundancy.required, (long long)s->position);
    } else if (sat_checker_needs_repair(&s->redundancy, &pc) ||
               sat_checker_needs_exit_repair(&s->redundancy, &pc)) {
        ch->queued++;
    } else {
        return TS_OK;
    }
    ts_err err = ts_db_tx(ch->db, verdict_fn, &v);
    if (err != TS_OK) {
        ts_log_warn(COMPONENT, "cannot record a segment verdict: %s", ts_strerror(err));
    }
    return TS_OK; /* one bad write must not stop the pass */
}

static void end_cb(void *ctx, bool complete, int64_t pass)
{
    struct sat_checker *ch = ctx;
    ch->nodes = NULL;
    if (!complete) {
        return;
    }
    int64_t removed = 0;
    ts_err err =
        sat_health_histogram_store(ch->db, ch->histogram, TS_ARRAY_LEN(ch->histogram), pass);
    if (err == TS_OK) {
        err = sat_repair_queue_clean(ch->db, ch->pass_started_s, &removed);
    }
    if (err != TS_OK) {
        ts_log_warn(COMPONENT, "cannot store the pass results: %s", ts_strerror(err));
    }
    ts_log_info(COMPONENT, "pass done segments=%lld queued=%lld lost=%lld stale_removed=%lld",
                (long long)ch->segments, (long long)ch->queued, (long long)ch->lost,
                (long long)removed);
}

void sat_checker_observer(struct sat_checker *ch, struct sat_loop_observer *obs)
{
    *obs = (struct sat_loop_observer){
        .name = "repair-checker",
        .begin = begin_cb,
        .segment = segment_cb,
        .end = end_cb,
        .ctx = ch,
    };
}
