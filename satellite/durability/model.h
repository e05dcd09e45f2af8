/*
 * The churn / loss model behind the choice of the repair threshold (docs/durability.md).
 *
 * Nodes leave the network at an annual churn rate R (fraction of nodes gone after a year). A piece
 * on a departing node is gone for good. The satellite notices missing pieces at most one repair
 * interval T later (segment loop + queue wait + repair time), so per interval each piece fails
 * independently with probability p = 1 - (1 - R)^(T / 1 year).
 *
 * Model (a Markov chain over a segment's healthy piece count h, one step per interval): a segment
 * starts at o (success threshold) healthy pieces; during an interval X ~ Binomial(h, p) of them
 * fail. If h - X < k the segment is lost. A segment that started the interval at h <= m (repair
 * threshold) was queued, and its repair completes at the end of the interval: it is back at o.
 * So a segment is lost exactly when more than h - k of its h healthy pieces fail before repair.
 * Iterating the distribution for one year gives the annual loss probability per segment.
 *
 * Also here: the whitepaper's simpler Poisson model (no repair: lost when more than n - k of n
 * pieces fail in one period, failures ~ Poisson(n * churn)). Pure functions, no allocation.
 */
#ifndef SAT_DURABILITY_MODEL_H
#define SAT_DURABILITY_MODEL_H

#include "base/base.h"

#define SAT_DURABILITY_HOURS_PER_YEAR 8766.0 /* 365.25 days */
/* -log10 of a probability smaller than this prints as this many nines (doubles end there). */
#define SAT_DURABILITY_NINES_MAX 300.0

struct sat_durability_params {
    int k, m, o, n;      /* required / repair / success / total, 1 <= k <= m <= o <= n <= 255 */
    double annual_churn; /* R: fraction of nodes leaving per year, 0 <= R < 1 */
    double repair_interval_h; /* T: hours from a piece's loss until repair completes, > 0 */
};

/* p = 1 - (1 - R)^(T / year). */
double sat_durability_piece_failure(double annual_churn, double interval_h);

/* P(Binomial(healthy, p) > healthy - k): the segment drops below k within one interval. */
double sat_durability_interval_loss(int healthy, int k, double p);

/* The annual loss probability of one segment under the model above. TS_ERR_INVALID_ARGUMENT
 * for parameters out of range. */
TS_WARN_UNUSED ts_err sat_durability_annual_loss(const struct sat_durability_params *prm,
                                                 double *loss);

/* The whitepaper's model: P(Poisson(n * churn) > n - k), churn per period (e.g. 0.1 monthly). */
double sat_durability_poisson_loss(int k, int n, double churn);

/* -log10(loss), capped at SAT_DURABILITY_NINES_MAX (loss 0 gives the cap). */
double sat_durability_nines(double loss);

/* Expected repairs per segment per year (intervals that end with a repair), under the same chain;
 * the repair bandwidth driver. */
TS_WARN_UNUSED ts_err sat_durability_annual_repairs(const struct sat_durability_params *prm,
                                                    double *repairs);

#endif
