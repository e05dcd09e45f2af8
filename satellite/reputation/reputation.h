/*
 * Node reputation (reference §8.4): what audits say about a storage node, per satellite.
 *
 * Audit score: a beta model. Success: alpha = lambda*alpha + w, beta = lambda*beta; failure:
 * alpha = lambda*alpha, beta = lambda*beta + w; score = alpha / (alpha + beta); a node is
 * disqualified (for good) when the score drops to dq_threshold or below. A second beta model
 * counts "unknown" outcomes (errors that are neither a wrong answer nor offline) with its own
 * lambda; at suspend_threshold or below the node is suspended (no new pieces; its pieces stay
 * healthy) until the score recovers. The online score is the mean over fixed windows of
 * online/total audit outcomes within the tracking period; below online_threshold the node is
 * suspended too. Vetting: enough successful audits and a minimum age. A node nobody could
 * contact for absence_dq_s is disqualified. Every knob is configurable so tests run in seconds.
 *
 * The math (sat_reputation_apply) is pure; sat_reputation_record applies one outcome in one DB
 * transaction and mirrors the verdicts into the nodes table (disqualified_at, vetted_at,
 * audit_alpha/beta) that node selection and downloads already honour.
 */
#ifndef SAT_REPUTATION_REPUTATION_H
#define SAT_REPUTATION_REPUTATION_H

#include <stdbool.h>
#include <stdint.h>

#include "base/base.h"
#include "db/db.h"

enum sat_audit_outcome {
    SAT_AUDIT_SUCCESS,   /* the share or piece was correct */
    SAT_AUDIT_FAILURE,   /* wrong data, piece not found, or reverification exhausted */
    SAT_AUDIT_OFFLINE,   /* could not dial the node */
    SAT_AUDIT_UNKNOWN,   /* any other error */
    SAT_AUDIT_CONTAINED, /* dialed but timed out: a whole-piece reverification is pending */
    SAT_AUDIT_OUTCOMES
};

struct sat_reputation_config {
    double lambda;              /* audit score forgetting factor (0.999) */
    double weight;              /* w (1) */
    double alpha0, beta0;       /* a new node's audit alpha/beta (1000, 0) */
    double dq_threshold;        /* disqualify at score <= this (0.96) */
    double unknown_lambda;      /* unknown-error score forgetting factor (0.95) */
    double suspend_threshold;   /* suspend at unknown score <= this (0.6) */
    int64_t vetting_audits;     /* successful audits needed for vetting (100) */
    int64_t vetting_age_s;      /* and a minimum age (21 days) */
    int64_t online_window_s;    /* online score window (12 h) */
    int64_t online_tracking_s;  /* windows considered (30 days) */
    double online_threshold;    /* suspend when the online score is below this (0.6) */
    int64_t online_windows_min; /* windows needed before the online score counts (2) */
    int64_t absence_dq_s;       /* disqualify nodes not contacted for this long; 0 = never */
};

/* One node's reputation row. */
struct sat_reputation {
    double audit_alpha, audit_beta;
    double unknown_alpha, unknown_beta;
    int64_t audits_total, audits_success, audits_failed, audits_offline, audits_unknown,
        audits_contained;
    double online_score;     /* last computed; 1 with no windows */
    int64_t suspended_at;    /* 0 = not suspended */
    int64_t disqualified_at; /* mirrors nodes.disqualified_at */
    int64_t vetted_at;       /* mirrors nodes.vetted_at */
    int64_t last_audit_at;
};

/* Production values (reference §8.4). */
void sat_reputation_config_defaults(struct sat_reputation_config *c);
/* A fresh node: alpha0/beta0, the unknown score at its steady state for a perfect record. */
void sat_reputation_init(struct sat_reputation *r, const struct sat_reputation_config *c);

double sat_reputation_audit_score(const struct sat_reputation *r);
double sat_reputation_unknown_score(const struct sat_reputation *r);

/* Applies one outcome at now_s for a node created at created_s: updates scores and counters and
 * sets disqualified_at / suspended_at / vetted_at when a threshold is crossed (a disqualified
 * node stays disqualified; suspension lifts when both scores recover). Pure. */
void sat_reputation_apply(struct sat_reputation *r, const struct sat_reputation_config *c,
                          enum sat_audit_outcome outcome, int64_t now_s, int64_t created_s);

/* ---- Database ---- */

/* Records one outcome for node_id in one transaction (reputation row, online window, nodes
 * verdict columns; a successful or failed audit also counts as contact: last_contact_success,
 * an offline one as last_contact_failure). TS_ERR_NOT_FOUND for an unknown node. *out (may be
 * NULL) receives the new row. */
TS_WARN_UNUSED ts_err sat_reputation_record(struct ts_db *db, const struct sat_reputation_config *c,
                                            const uint8_t node_id[TS_NODE_ID_SIZE],
                                            enum sat_audit_outcome outcome, int64_t now_s,
                                            struct sat_reputation *out);

/* Reads a node's row; *found false (and r initialised from c) when it was never audited. */
TS_WARN_UNUSED ts_err sat_reputation_get(struct ts_db *db, const struct sat_reputation_config *c,
                                         const uint8_t node_id[TS_NODE_ID_SIZE],
                                         struct sat_reputation *r, bool *found);

/* Disqualifies nodes whose last successful contact (or creation, if never) is older than
 * c->absence_dq_s; *count gets how many. No-op when absence_dq_s is 0. */
TS_WARN_UNUSED ts_err sat_reputation_absence_sweep(struct ts_db *db,
                                                   const struct sat_reputation_config *c,
                                                   int64_t now_s, int64_t *count);

/* Outcome names for logs and status ("success", ...). */
const char *sat_audit_outcome_name(enum sat_audit_outcome outcome);

#endif
