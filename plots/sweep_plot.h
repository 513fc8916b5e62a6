/* Sweep curves rendered by gnuplot: a metric's mean against the varied key
 * with 95% error bars, one curve per combination of the other varied keys,
 * an optional theory curve (Erlang B) and the knee threshold. Writes
 * NAME.dat, NAME.gp (re-run with `gnuplot NAME.gp`), NAME.svg, NAME.png. */
#ifndef PLOT_SWEEP_H
#define PLOT_SWEEP_H

#include <glib.h>

typedef struct {
    const char *name;    /* file stem */
    const char *title;
    const char *x_label;
    const char *y_label;
    guint n_x, n_curves;
    const double *x;               /* n_x */
    const char *const *x_labels;   /* n_x tick labels for a non-numeric key, or NULL */
    const double *mean;            /* n_curves x n_x, curve by curve; NAN = no value */
    const double *half_width;      /* same shape; NAN = no interval */
    const double *theory;          /* same shape, or NULL */
    const char *theory_label;
    const char *const *curve_titles; /* n_curves; "" for a single curve */
    double threshold;              /* a horizontal line, or NAN */
    double knee_x;                 /* a vertical line, or NAN */
    gboolean nonnegative;          /* the y axis starts at 0 (ratios, times) */
} SweepPlotSpec;

/* Without gnuplot, the .dat and .gp are written and SIM_ERROR_RUNTIME says
 * gnuplot is missing. */
gboolean sweep_plot(const char *dir, const SweepPlotSpec *spec, GError **error);

#endif
