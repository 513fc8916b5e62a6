/* Merging a sweep: per-run summaries -> per-point means with 95% intervals
 * -> sweep.csv, sweep.json, plots, the knee, [expect] per point. The merged
 * bytes depend only on the run files, never on who ran them or in which
 * order, so -j 1, -j 8 and a cluster give identical outputs. */
#ifndef PS_CLI_SWEEP_RESULTS_H
#define PS_CLI_SWEEP_RESULTS_H

#include <glib.h>
#include <json-glib/json-glib.h>
#include "sweep_plan.h"

typedef struct SweepResults SweepResults;

/* Reads every run file of the plan found in the runs/ folder of any of
 * `dirs` (NULL-terminated; NULL means the plan's own folder). A file from
 * another plan, scenario or seed is SIM_ERROR_INPUT. Missing runs are not an
 * error here: see sweep_results_missing. */
SweepResults *sweep_results_collect(const SweepPlan *plan, const char *const *dirs,
                                    GError **error);
/* Threads sweep_results_collect() reads run files on (default 1): the
 * sweep's -j, so a parallel sweep does not merge on one core. */
void sweep_results_set_threads(guint threads);
void sweep_results_free(SweepResults *results);

/* Replications of a point usable for the merge: 0, 1, ... without a gap. */
guint sweep_results_replications(const SweepResults *results, guint point);

/* Whether the point needs more replications to reach the plan's precision
 * (the failure ratio's 95% half-width), and has not hit the maximum. */
gboolean sweep_results_needs_more(const SweepResults *results, const SweepPlan *plan,
                                  guint point);

/* Run ids the plan's first round needs that no file holds, ascending. */
GArray *sweep_results_missing(const SweepResults *results, const SweepPlan *plan);

typedef struct {
    gboolean plots;
    const char *baseline; /* an earlier sweep.json or summary.json, or NULL */
    gboolean quiet;
    gboolean no_report;        /* skip report.html */
    const char *command_line;  /* for the report's "reproduce" section */
} SweepOutputOptions;

/* Writes sweep.csv, sweep.json and plots/ into the plan's folder and prints
 * a table (unless quiet). *expect_ok is FALSE when an [expect] line broke at
 * some point, *baseline_changed TRUE when a metric differs significantly
 * from the baseline. */
gboolean sweep_results_write(const SweepResults *results, const SweepPlan *plan,
                             const SimSchema *schema, const SweepOutputOptions *opt,
                             gboolean *expect_ok, gboolean *baseline_changed, GError **error);

#endif
