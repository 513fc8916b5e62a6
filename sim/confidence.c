/* Student t quantiles from a table instead of a dependency: a sweep needs
 * the 95% two-sided factor only. Values t(0.975, df) from the standard
 * tables (e.g. NIST/SEMATECH e-Handbook, table 1.3.6.7.2), to 3 decimals;
 * between tabulated df the smaller df's value is used, which errs on the
 * side of a wider interval (at most 0.02 wider, at df 31..39). */
#include "confidence.h"

#include <math.h>

static const double t975[] = {
    0, /* df 0 unused */
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
};

static const struct {
    guint df;
    double t;
} t975_tail[] = {
    {40, 2.021}, {50, 2.009}, {60, 2.000}, {80, 1.990}, {100, 1.984}, {120, 1.980},
    {1000, 1.962},
};

double sim_student_t975(guint df)
{
    g_return_val_if_fail(df >= 1, NAN);
    if (df < G_N_ELEMENTS(t975))
        return t975[df];
    double t = t975[G_N_ELEMENTS(t975) - 1];
    for (guint i = 0; i < G_N_ELEMENTS(t975_tail); i++)
        if (df >= t975_tail[i].df)
            t = t975_tail[i].t;
    return df >= 100000 ? 1.960 : t;
}

SimInterval sim_interval_of(const double *values, guint n)
{
    SimInterval r = {.mean = NAN, .half_width = NAN, .sd = NAN};
    double sum = 0;
    for (guint i = 0; i < n; i++)
        if (!isnan(values[i])) {
            sum += values[i];
            r.n++;
        }
    if (r.n == 0)
        return r;
    r.mean = sum / r.n;
    if (r.n < 2)
        return r;
    double ss = 0;
    for (guint i = 0; i < n; i++)
        if (!isnan(values[i]))
            ss += (values[i] - r.mean) * (values[i] - r.mean);
    r.sd = sqrt(ss / (r.n - 1));
    r.half_width = sim_student_t975(r.n - 1) * r.sd / sqrt((double)r.n);
    return r;
}

gboolean sim_means_differ(const SimInterval *a, const SimInterval *b)
{
    if (a->n < 2 || b->n < 2)
        return FALSE;
    double va = a->sd * a->sd / a->n, vb = b->sd * b->sd / b->n;
    double diff = fabs(a->mean - b->mean);
    if (va + vb == 0)
        return diff > 0;
    /* Welch-Satterthwaite degrees of freedom, rounded down (wider). */
    double df = (va + vb) * (va + vb) /
                (va * va / (a->n - 1) + vb * vb / (b->n - 1));
    guint idf = df < 1 ? 1 : (guint)floor(df);
    return diff / sqrt(va + vb) > sim_student_t975(idf);
}
