#include "run.h"

#include "budget.h"
#include "sim_error.h"

struct PsRun {
    const SimScenario *scenario;
    SimEngine *engine;
    PsNetwork *net;
    SimTime duration;
    gboolean complete;
    double wall_seconds;
    GError *error; /* why the run stopped early, when it was not asked to */
};

static char *name_event(void *net, SimHandler handler, void *ctx, uint64_t arg)
{
    return ps_network_event_owner(net, handler, ctx, arg);
}

PsRun *ps_run_new(const SimScenario *scenario, uint32_t replication, GError **error)
{
    SimSection *sc = sim_scenario_find(scenario, "scenario", NULL);
    if (!ps_budget_check(scenario, 0, error))
        return NULL;
    PsRun *run = g_new0(PsRun, 1);
    run->scenario = scenario;
    run->duration = sim_section_duration(sc, "duration");
    run->engine = sim_engine_new((uint64_t)sim_section_int(sc, "seed"), replication);
    run->net = ps_network_build(run->engine, scenario, error);
    if (!run->net) {
        ps_run_free(run);
        return NULL;
    }
    sim_engine_sample_every(run->engine, sim_section_duration(sc, "sample"), run->duration);
    sim_engine_set_event_namer(run->engine, name_event, run->net);
    return run;
}

void ps_run_free(PsRun *run)
{
    if (!run)
        return;
    ps_network_free(run->net);
    sim_engine_free(run->engine);
    g_clear_error(&run->error);
    g_free(run);
}

void ps_run_set_progress(PsRun *run, SimProgressFn fn, void *user_data, guint wall_interval_ms)
{
    sim_engine_set_progress(run->engine, fn, user_data, wall_interval_ms);
}

gboolean ps_run_execute(PsRun *run)
{
    gint64 t0 = g_get_monotonic_time();
    ps_network_start(run->net);
    SimRunStatus status = sim_engine_run(run->engine, run->duration);
    if (status != SIM_RUN_STOPPED && status != SIM_RUN_STUCK)
        status = sim_engine_run(run->engine, SIM_TIME_NEVER);
    run->complete = status != SIM_RUN_STOPPED && status != SIM_RUN_STUCK;
    if (status == SIM_RUN_STUCK)
        run->error = sim_engine_stuck_error(run->engine);
    /* A broken allocator plugin: the results cannot be trusted. */
    if (!run->error && ps_network_fault(run->net)) {
        run->error = g_error_copy(ps_network_fault(run->net));
        run->complete = FALSE;
    }
    run->wall_seconds = (double)(g_get_monotonic_time() - t0) / 1e6;
    return run->complete;
}

SimEngine *ps_run_engine(PsRun *run) { return run->engine; }
PsNetwork *ps_run_network(PsRun *run) { return run->net; }
SimTime ps_run_duration(const PsRun *run) { return run->duration; }
gboolean ps_run_complete(const PsRun *run) { return run->complete; }
double ps_run_wall_seconds(const PsRun *run) { return run->wall_seconds; }
const GError *ps_run_error(const PsRun *run) { return run->error; }

JsonNode *ps_run_summary(PsRun *run)
{
    return ps_network_summary(run->net, run->duration, run->complete);
}
