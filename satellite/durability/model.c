/* The churn / loss model (see model.h and docs/durability.md). */
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "base/base.h"
#include "satellite/durability/model.h"

double sat_durability_piece_failure(double annual_churn, double interval_h)
{
    return -expm1(log1p(-annual_churn) * interval_h / SAT_DURABILITY_HOURS_PER_YEAR);
}

/* log of the binomial pmf P(X = x), X ~ Binomial(n, p), 0 < p < 1. */
static double log_binomial_pmf(int n, int x, double p)
{
    return lgamma(n + 1.0) - lgamma(x + 1.0) - lgamma(n - x + 1.0) + x * log(p) +
           (n - x) * log1p(-p);
}

static double binomial_pmf(int n, int x, double p)
{
    if (p <= 0.0) {
        return x == 0 ? 1.0 : 0.0;
    }
    if (p >= 1.0) {
        return x == n ? 1.0 : 0.0;
    }
    return exp(log_binomial_pmf(n, x, p));
}

double sat_durability_interval_loss(int healthy, int k, double p)
{
    /* Sum the upper tail directly (never 1 - P(lower)): the values of interest are ~1e-20. */
    double sum = 0.0;
    for (int x = healthy - k + 1; x <= healthy; x++) {
        if (x >= 0) {
            sum += binomial_pmf(healthy, x, p);
        }
    }
    return sum;
}

static bool params_ok(const struct sat_durability_params *p)
{
    return p->k >= 1 && p->k <= p->m && p->m <= p->o && p->o <= p->n && p->n <= TS_EC_SHARES_MAX &&
           p->annual_churn >= 0.0 && p->annual_churn < 1.0 && p->repair_interval_h > 0.0 &&
           p->repair_interval_h <= SAT_DURABILITY_HOURS_PER_YEAR;
}

/* Runs the chain for one year; *loss is the mass absorbed in "lost", *repairs the expected number
 * of completed repairs. */
static ts_err run_chain(const struct sat_durability_params *prm, double *loss, double *repairs)
{
    if (!params_ok(prm)) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    double p = sat_durability_piece_failure(prm->annual_churn, prm->repair_interval_h);
    double cur[TS_EC_SHARES_MAX + 1], next[TS_EC_SHARES_MAX + 1];
    memset(cur, 0, sizeof cur);
    cur[prm->o] = 1.0;
    int steps = (int)lround(SAT_DURABILITY_HOURS_PER_YEAR / prm->repair_interval_h);
    *loss = 0.0;
    *repairs = 0.0;
    for (int s = 0; s < steps; s++) {
        memset(next, 0, sizeof next);
        for (int h = prm->k; h <= prm->o; h++) {
            if (cur[h] == 0.0) {
                continue;
            }
            for (int x = 0; x <= h; x++) {
                double mass = cur[h] * binomial_pmf(h, x, p);
                int left = h - x;
                if (left < prm->k) {
                    *loss += mass;
                } else if (h <= prm->m) {
                    next[prm->o] += mass; /* queued at the start: repaired by the end */
                    *repairs += mass;
                } else {
                    next[left] += mass;
                }
            }
        }
        memcpy(cur, next, sizeof cur);
    }
    return TS_OK;
}

ts_err sat_durability_annual_loss(const struct sat_durability_params *prm, double *loss)
{
    double repairs = 0.0;
    return run_chain(prm, loss, &repairs);
}

ts_err sat_durability_annual_repairs(const struct sat_durability_params *prm, double *repairs)
{
    double loss = 0.0;
    return run_chain(prm, &loss, repairs);
}

double sat_durability_poisson_loss(int k, int n, double churn)
{
    double lambda = n * churn;
    double sum = 0.0;
    if (lambda <= 0.0) {
        return 0.0;
    }
    /* Upper tail from n - k + 1 until the terms vanish (the tail of a Poisson decays fast). */
    for (int x = n - k + 1; x < n - k + 1 + 2000; x++) {
        double term = exp(x * log(lambda) - lambda - lgamma(x + 1.0));
        sum += term;
        if (term < sum * 1e-17) {
            break;
        }
    }
    return sum;
}

double sat_durability_nines(double loss)
{
    if (!(loss > 0.0)) {
        return SAT_DURABILITY_NINES_MAX;
    }
    double nines = -log10(loss);
    return nines > SAT_DURABILITY_NINES_MAX ? SAT_DURABILITY_NINES_MAX : nines;
}
