/* Exhaustion-curve plots rendered by gnuplot.
 *
 * For each plot NAME the folder gets NAME.dat (the data, whitespace
 * separated with a header comment), NAME.gp (a gnuplot script a user can
 * edit and re-run with `gnuplot NAME.gp`), NAME.svg and NAME.png. */
#ifndef PLOT_EXHAUSTION_H
#define PLOT_EXHAUSTION_H

#include <glib.h>
#include "stats.h"

typedef struct {
    const char *title;    /* e.g. "shop 10.0.0.1 -> api: ephemeral ports" */
    const char *subtitle; /* e.g. "linux allocator, range 32768-60999, TIME_WAIT 60s"; may be NULL */
    const SimSeries *series;
    /* Column names in the series (all required): */
    const char *col_active;    /* 4-tuples held by connecting/established connections */
    const char *col_time_wait; /* 4-tuples in TIME_WAIT */
    const char *col_failures;  /* failed attempts per second (a rate column) */
    const char *failures_label;/* its name on the right axis; NULL: "failed attempts / s" */
    double capacity;           /* the line the stack runs into */
    const char *capacity_label;/* e.g. "capacity 28,232 ports" */
    double first_failure_s;    /* a vertical mark; NAN for none */
    /* Optional vertical marks (a surge starts, a timeline change), each
     * drawn as a dotted line with its label at the top. */
    const double *mark_times;
    const char *const *mark_labels;
    guint n_marks;
} PlotExhaustionSpec;

/* TRUE when a gnuplot executable is on PATH. */
gboolean plot_gnuplot_available(void);

/* Writes NAME.dat and NAME.gp into dir, then runs gnuplot to render
 * NAME.svg and NAME.png (each written atomically). Without gnuplot, the
 * .dat and .gp files are still written and SIM_ERROR_RUNTIME explains that
 * gnuplot is missing. */
gboolean plot_exhaustion(const char *dir, const char *name, const PlotExhaustionSpec *spec,
                         GError **error);

/* Runs `gnuplot NAME.gp` in dir with svgout/pngout pointing at temporary
 * names, then renames NAME.svg and NAME.png into place (shared by every
 * plot that follows the script's svgout/pngout convention). */
gboolean plot_run_gnuplot(const char *gnuplot, const char *dir, const char *name,
                          GError **error);

#endif
