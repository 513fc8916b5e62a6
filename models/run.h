/* One run of a scenario: engine + network, executed to the scenario's
 * duration and then drained until every connection has closed and every
 * timer has expired (so conservation can be checked). */
#ifndef PS_RUN_H
#define PS_RUN_H

#include <glib.h>
#include <json-glib/json-glib.h>
#include "engine.h"
#include "network.h"
#include "scenario.h"

typedef struct PsRun PsRun;

/* The seed is the scenario's `seed` key. A scenario that would need absurd
 * resources (see budget.h) is refused here with SIM_ERROR_INPUT. */
PsRun *ps_run_new(const SimScenario *scenario, uint32_t replication, GError **error);
void ps_run_free(PsRun *run);

void ps_run_set_progress(PsRun *run, SimProgressFn fn, void *user_data, guint wall_interval_ms);

/* FALSE when the progress callback stopped the run early, or the engine's
 * watchdog did (then ps_run_error() says why). */
gboolean ps_run_execute(PsRun *run);
/* A SIM_ERROR_RUNTIME error when the run stopped on its own (a stuck
 * simulation); NULL after a complete or interrupted run. */
const GError *ps_run_error(const PsRun *run);

SimEngine *ps_run_engine(PsRun *run);
PsNetwork *ps_run_network(PsRun *run);
SimTime ps_run_duration(const PsRun *run);
gboolean ps_run_complete(const PsRun *run);
/* Wall-clock seconds spent in ps_run_execute (not written to result files:
 * they must be identical for identical runs). */
double ps_run_wall_seconds(const PsRun *run);

JsonNode *ps_run_summary(PsRun *run);

#endif
