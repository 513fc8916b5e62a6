/* The simulated network: hosts with port pools, servers and workloads built
 * from a scenario, driving TCP connections on an engine. */
#ifndef PS_NETWORK_H
#define PS_NETWORK_H

#include <glib.h>
#include <json-glib/json-glib.h>
#include "engine.h"
#include "scenario.h"

typedef enum {
    PS_FAIL_EADDRNOTAVAIL, /* connect() found no free 4-tuple */
    PS_FAIL_EADDRINUSE,    /* bind(addr, 0) found no free port */
    PS_FAIL_N,
} PsFailReason;

const char *ps_fail_reason_name(PsFailReason reason);

typedef struct PsNetwork PsNetwork;

/* Builds every entity of the scenario on the engine and registers its
 * metrics and time-series columns. Semantic errors (say, a workload whose
 * arrival is `schedule` without a schedule) name the file, line and key and
 * carry SIM_ERROR_INPUT. */
PsNetwork *ps_network_build(SimEngine *engine, const SimScenario *scenario, GError **error);
void ps_network_free(PsNetwork *net);

/* Schedules the first arrival of every workload. */
void ps_network_start(PsNetwork *net);

/* Totals over the whole network. */
typedef struct {
    guint64 attempts;
    guint64 successes;
    guint64 failures;
    guint64 by_reason[PS_FAIL_N];
    guint64 probes;
    guint64 allocations;
    SimTime first_failure; /* SIM_TIME_NEVER when none */
} PsTotals;

void ps_network_totals(const PsNetwork *net, PsTotals *out);

/* Connections not yet fully closed (both sides CLOSED). */
guint64 ps_network_live_connections(const PsNetwork *net);
/* TRUE when every port pool holds no port and no 4-tuple. */
gboolean ps_network_pools_empty(const PsNetwork *net);

/* One exhaustion plot per host: the names of its series columns and its
 * capacity in 4-tuples (ports x destinations it talks to). */
typedef struct {
    char *name;  /* file stem: "host-shop" */
    char *title;
    char *subtitle;
    char *col_active, *col_time_wait, *col_failures;
    double capacity;
    char *capacity_label;
    double first_failure_s; /* NAN when none */
} PsPlotTarget;

GPtrArray *ps_network_plot_targets(const PsNetwork *net); /* PsPlotTarget*, owns them */

/* summary.json content for a run of `duration` (see DESIGN.md "Outputs"). */
JsonNode *ps_network_summary(const PsNetwork *net, SimTime duration, gboolean complete);

#endif
