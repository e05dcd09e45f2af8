/* `tessera-satellite status`: what the durability tables say (see service.h). */
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "identity/identity.h"
#include "satellite/audit/audit.h"
#include "satellite/db/sql.h"
#include "satellite/durability/service.h"
#include "satellite/repair/queue.h"

struct status {
    int64_t hist_healthy[TS_EC_SHARES_MAX + 1], hist_segments[TS_EC_SHARES_MAX + 1];
    size_t hist_count;
    int64_t pass;
    int64_t queue, lost, reverify;
};

static ts_err hist_fn(struct ts_db_conn *c, void *ctx)
{
    struct status *s = ctx;
    struct ts_db_stmt *st = NULL;
    s->hist_count = 0;
    ts_err err = sat_sql_prepare(c,
                                 "SELECT healthy, segments, pass FROM segment_health ORDER BY "
                                 "healthy DESC",
                                 &st, "");
    while (err == TS_OK && s->hist_count <= TS_EC_SHARES_MAX) {
        bool row = false;
        err = ts_db_stmt_step(st, &row);
        if (err != TS_OK || !row) {
            break;
        }
        s->hist_healthy[s->hist_count] = ts_db_stmt_column_int64(st, 0);
        s->hist_segments[s->hist_count++] = ts_db_stmt_column_int64(st, 1);
        s->pass = ts_db_stmt_column_int64(st, 2);
    }
    ts_db_stmt_free(st);
    if (err == TS_OK) {
        err = sat_sql_prepare(c, "SELECT COUNT(*) FROM lost_segments", &st, "");
        bool row = false;
        if (err == TS_OK) {
            err = ts_db_stmt_step(st, &row);
        }
        s->lost = err == TS_OK && row ? ts_db_stmt_column_int64(st, 0) : 0;
        ts_db_stmt_free(st);
    }
    return err;
}

static const char *const COUNTERS[] = {
    "repair.segments",       "repair.pieces_uploaded", "repair.bytes_downloaded",
    "repair.bytes_uploaded", "repair.failed",          "repair.lost",
    "audit.success",         "audit.failure",          "audit.offline",
    "audit.unknown",         "audit.contained",        "reverify.success",
    "reverify.failure",      "reverify.offline",       "reverify.contained",
};

static void print_summary(const struct status *s, const int64_t *counters, bool json, FILE *out)
{
    if (json) {
        fprintf(out, "{\"health\":{\"pass\":%lld,\"histogram\":[", (long long)s->pass);
        for (size_t i = 0; i < s->hist_count; i++) {
            fprintf(out, "%s{\"healthy\":%lld,\"segments\":%lld}", i ? "," : "",
                    (long long)s->hist_healthy[i], (long long)s->hist_segments[i]);
        }
        fprintf(out, "]},\"repair_queue\":%lld,\"lost_segments\":%lld,\"reverify_pending\":%lld",
                (long long)s->queue, (long long)s->lost, (long long)s->reverify);
        fprintf(out, ",\"counters\":{");
        for (size_t i = 0; i < TS_ARRAY_LEN(COUNTERS); i++) {
            fprintf(out, "%s\"%s\":%lld", i ? "," : "", COUNTERS[i], (long long)counters[i]);
        }
        fprintf(out, "}");
        return;
    }
    fprintf(out, "segment health (healthy pieces per segment, loop pass %lld):\n",
            (long long)s->pass);
    fprintf(out, "  %7s %10s\n", "healthy", "segments");
    for (size_t i = 0; i < s->hist_count; i++) {
        fprintf(out, "  %7lld %10lld\n", (long long)s->hist_healthy[i],
                (long long)s->hist_segments[i]);
    }
    fprintf(out, "repair queue: %lld\nlost segments: %lld\nreverifications pending: %lld\n",
            (long long)s->queue, (long long)s->lost, (long long)s->reverify);
    for (size_t i = 0; i < TS_ARRAY_LEN(COUNTERS); i++) {
        fprintf(out, "%s: %lld\n", COUNTERS[i], (long long)counters[i]);
    }
}

struct nodes_ctx {
    bool json;
    FILE *out;
    size_t printed;
};

static void print_node(struct nodes_ctx *n, struct ts_db_stmt *st)
{
    struct ts_node_id id;
    char text[TS_NODE_ID_TEXT_MAX];
    memset(&id, 0, sizeof id);
    if (sat_sql_col_fixed(st, 0, id.bytes, TS_NODE_ID_SIZE) != TS_OK ||
        ts_node_id_to_string(&id, text, sizeof text) != TS_OK) {
        return;
    }
    double a = ts_db_stmt_column_double(st, 2), b = ts_db_stmt_column_double(st, 3);
    double ua = ts_db_stmt_column_double(st, 4), ub = ts_db_stmt_column_double(st, 5);
    double score = a + b > 0 ? a / (a + b) : 1.0, unknown = ua + ub > 0 ? ua / (ua + ub) : 1.0;
    long long v[9];
    for (int i = 0; i < 9; i++) {
        v[i] = (long long)ts_db_stmt_column_int64(st, 7 + i);
    }
    const char *address = ts_db_stmt_column_text(st, 1);
    double online = ts_db_stmt_column_double(st, 6);
    if (n->json) {
        fprintf(n->out,
                "%s{\"id\":\"%s\",\"address\":\"%s\",\"audit_score\":%.6f,\"unknown_score\":%.6f,"
                "\"online_score\":%.4f,\"audits\":%lld,\"success\":%lld,\"failure\":%lld,"
                "\"offline\":%lld,\"unknown\":%lld,\"contained\":%lld,\"disqualified_at\":%lld,"
                "\"suspended_at\":%lld,\"vetted_at\":%lld}",
                n->printed ? "," : "", text, address ? address : "", score, unknown, online, v[0],
                v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8]);
    } else {
        const char *state = v[6] ? "disqualified" : v[7] ? "suspended" : v[8] ? "vetted" : "new";
        fprintf(n->out, "  %.12s %-21s %6.4f %6.4f %6.4f %5lld %5lld %5lld %5lld %5lld %s\n", text,
                address ? address : "", score, unknown, online, v[1], v[2], v[3], v[4], v[5],
                state);
    }
    n->printed++;
}

static ts_err nodes_fn(struct ts_db_conn *c, void *ctx)
{
    struct nodes_ctx *n = ctx;
    struct ts_db_stmt *st = NULL;
    ts_err err = sat_sql_prepare(
        c,
        "SELECT n.id, n.address, COALESCE(r.audit_alpha, n.audit_alpha), "
        "COALESCE(r.audit_beta, n.audit_beta), COALESCE(r.unknown_alpha, 1.0), "
        "COALESCE(r.unknown_beta, 0.0), COALESCE(r.online_score, 1.0), "
        "COALESCE(r.audits_total, 0), COALESCE(r.audits_success, 0), "
        "COALESCE(r.audits_failed, 0), COALESCE(r.audits_offline, 0), "
        "COALESCE(r.audits_unknown, 0), COALESCE(r.audits_contained, 0), n.disqualified_at, "
        "COALESCE(r.suspended_at, 0), n.vetted_at FROM nodes n LEFT JOIN reputation r ON "
        "r.node_id = n.id ORDER BY n.address, n.id LIMIT 100000",
        &st, "");
    while (err == TS_OK) {
        bool row = false;
        err = ts_db_stmt_step(st, &row);
        if (err != TS_OK || !row) {
            break;
        }
        print_node(n, st);
    }
    ts_db_stmt_free(st);
    return err;
}

ts_err sat_durability_status_print(struct ts_db *db, const struct sat_durability_config *c,
                                   bool json, FILE *out)
{
    struct status s;
    int64_t counters[TS_ARRAY_LEN(COUNTERS)];
    (void)c;
    memset(&s, 0, sizeof s);
    ts_err err = ts_db_tx_read(db, hist_fn, &s);
    if (err == TS_OK) {
        err = sat_repair_queue_length(db, &s.queue);
    }
    if (err == TS_OK) {
        err = sat_reverify_pending(db, &s.reverify);
    }
    for (size_t i = 0; err == TS_OK && i < TS_ARRAY_LEN(COUNTERS); i++) {
        err = sat_counter_get(db, COUNTERS[i], &counters[i]);
    }
    if (err != TS_OK) {
        return err;
    }
    print_summary(&s, counters, json, out);
    struct nodes_ctx n = {.json = json, .out = out};
    if (json) {
        fprintf(out, ",\"nodes\":[");
    } else {
        fprintf(out, "nodes:\n  %-12s %-21s %6s %6s %6s %5s %5s %5s %5s %5s %s\n", "id", "address",
                "audit", "unkn", "online", "ok", "fail", "offl", "unkn", "cont", "state");
    }
    err = ts_db_tx_read(db, nodes_fn, &n);
    if (json) {
        fprintf(out, "]}\n");
    }
    return err;
}
