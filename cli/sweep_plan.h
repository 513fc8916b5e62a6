/* A sweep's plan: the scenario as it will run, the varied keys, the grid of
 * points and the run list (one line per run: run id, point, replication,
 * seed, sweep folder). The plan is written to DIR/sweep-plan.json first, so
 * any machine that sees DIR can execute a line (`portsim run-one`) and any
 * can merge (`portsim merge`), whatever executed the runs. */
#ifndef PS_CLI_SWEEP_PLAN_H
#define PS_CLI_SWEEP_PLAN_H

#include <glib.h>
#include <json-glib/json-glib.h>
#include "scenario.h"

typedef struct {
    char *key;     /* "workload.surge.rate" */
    GPtrArray *values; /* char *, as --set would take them */
} SweepVary;

typedef struct {
    char *dir;           /* the sweep folder */
    char *origin;        /* the scenario file it came from */
    char *name;          /* scenario name */
    gint64 seed;
    char *scenario_ini;  /* effective ini of the base scenario (--set applied) */
    GPtrArray *vary;     /* SweepVary * */
    guint points;        /* product of the value counts */
    guint replications;  /* first round per point */
    guint max_replications; /* run ids are point x max_replications + replication */
    double precision;    /* target half-width of the failure ratio; 0: none */
    double knee;         /* failure-ratio threshold of the knee */
    char *plan_id;       /* SHA-256 of everything above but dir */
} SweepPlan;

typedef struct {
    guint run;
    guint point;
    guint replication;
} SweepRun;

void sweep_plan_free(SweepPlan *plan);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SweepPlan, sweep_plan_free)

/* "KEY=FROM:TO:STEP" or "KEY=v1,v2,..." (commas inside parentheses do not
 * split: "exp(1s),exp(2s)"). FROM, TO and STEP are numbers with the same
 * unit suffix ("100/s:1k/s:100/s" is refused: write 100/s:1000/s:100/s).
 * SIM_ERROR_INPUT naming the --vary argument. */
SweepVary *sweep_vary_parse(const char *arg, GError **error);
void sweep_vary_free(gpointer vary);

/* Builds a plan; checks that the scenario loads at every point (an error
 * names the point's --set values). */
SweepPlan *sweep_plan_new(const SimSchema *schema, const char *path,
                          const char *const *overrides, GPtrArray *vary, guint replications,
                          guint max_replications, double precision, double knee,
                          const char *dir, GError **error);

/* The --set arguments of a point, NULL-terminated; free with g_strfreev. */
char **sweep_plan_point_overrides(const SweepPlan *plan, guint point);
/* The value of vary key k at a point. */
const char *sweep_plan_point_value(const SweepPlan *plan, guint point, guint k);
/* The scenario of a point, loaded from the plan's ini. */
SimScenario *sweep_plan_load_point(const SweepPlan *plan, const SimSchema *schema, guint point,
                                   GError **error);

gboolean sweep_plan_write(const SweepPlan *plan, GError **error);
/* Reads DIR/sweep-plan.json. */
SweepPlan *sweep_plan_read(const char *dir, GError **error);

/* "000012 3 0 1 DIR": run id, point, replication, seed, folder. */
char *sweep_run_line(const SweepPlan *plan, const SweepRun *run);
/* Parses a line: sets *dir (caller frees) and the run. */
gboolean sweep_run_line_parse(const char *line, char **dir, SweepRun *run, GError **error);

/* DIR/runs/run-NNNNNN.json */
char *sweep_run_path(const SweepPlan *plan, guint run_id);

/* Runs the run and writes its result file atomically. The schema may be
 * shared between threads (it is read-only); nothing else is. */
gboolean sweep_execute_run(const SweepPlan *plan, const SimSchema *schema, const SweepRun *run,
                           GError **error);

/* The summary of a finished run from its file, checking that it belongs
 * to this plan (a different plan id, scenario or seed is an error that
 * says which). NULL with no error when the file does not exist. */
JsonNode *sweep_read_run(const SweepPlan *plan, guint run_id, GError **error);

#endif
