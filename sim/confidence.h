/* Means and Student-t confidence intervals over independent replications. */
#ifndef SIM_CONFIDENCE_H
#define SIM_CONFIDENCE_H

#include <glib.h>

/* The 0.975 quantile of Student's t with `df` degrees of freedom (the
 * factor of a two-sided 95% interval); df >= 1. */
double sim_student_t975(guint df);

typedef struct {
    guint n;
    double mean;
    double half_width; /* of the 95% interval; NAN when n < 2 */
    double sd;         /* sample standard deviation; NAN when n < 2 */
} SimInterval;

/* Over n values (NaNs skipped). Summation in index order, so the result
 * depends only on the values and their order. */
SimInterval sim_interval_of(const double *values, guint n);

/* Welch's two-sample t test at 95%: TRUE when the means of a and b differ
 * significantly. Needs n >= 2 on both sides; FALSE otherwise (and when both
 * samples are constant and equal). With both samples constant and
 * different, TRUE. */
gboolean sim_means_differ(const SimInterval *a, const SimInterval *b);

#endif
