/* Shared checks for tests that run a scenario in process (PsRun). */
#ifndef PS_RUN_UTIL_H
#define PS_RUN_UTIL_H

#include <check.h>

#include "network.h"
#include "run.h"

static inline gint64 ps_test_counter(PsRun *run, const char *name)
{
    return sim_stats_counter(sim_engine_stats(ps_run_engine(run)), name)->value;
}

static inline SimGauge *ps_test_gauge(PsRun *run, const char *name)
{
    return sim_stats_gauge(sim_engine_stats(ps_run_engine(run)), name);
}

/* The run's invariants (DESIGN.md): every attempt ended exactly once, as a
 * success or a failure with one reason; every connection closed, every
 * pool empty and no event left once the run drained. */
static inline void ps_test_assert_drained(PsRun *run)
{
    PsTotals t;
    ps_network_totals(ps_run_network(run), &t);
    ck_assert_uint_eq(t.attempts, t.successes + t.failures);
    guint64 by_reason = 0;
    for (int i = 0; i < PS_FAIL_N; i++)
        by_reason += t.by_reason[i];
    ck_assert_uint_eq(by_reason, t.failures);
    ck_assert_uint_eq(ps_network_live_connections(ps_run_network(run)), 0);
    ck_assert(ps_network_pools_empty(ps_run_network(run)));
    ck_assert_uint_eq(sim_engine_pending(ps_run_engine(run)), 0);
}

#endif
