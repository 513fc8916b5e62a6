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
    PS_FAIL_ETIMEDOUT,     /* no SYN-ACK within the SYN retries or connect_timeout */
    PS_FAIL_ECONNREFUSED,  /* RST to the SYN: a proxy with no backend connection */
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

/* Teaching outputs, set before the run starts (not owned): a readable log
 * of every connection's life, and the segments as the client hosts see
 * them, as a pcap file. */
typedef struct PsTraceLog PsTraceLog;
typedef struct PsPcap PsPcap;
void ps_network_set_trace(PsNetwork *net, PsTraceLog *log);
void ps_network_set_pcap(PsNetwork *net, PsPcap *pcap);
/* TRUE: the pcap shows proxies' backend connections instead of the
 * client hosts' (--pcap-at backend). */
void ps_network_set_pcap_backend(PsNetwork *net, gboolean backend);
/* TRUE: the capture is taken outside the NAT boxes (nat.c): only translated
 * connections, with their external address and port. */
void ps_network_set_pcap_nat_outside(PsNetwork *net, gboolean outside);

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

/* Set when an allocator returned a port it may not use (a broken plugin):
 * workloads stop opening connections and the run is reported as failed
 * with this error. NULL normally. */
const GError *ps_network_fault(const PsNetwork *net);

/* Connections not yet fully closed (both sides CLOSED). */
guint64 ps_network_live_connections(const PsNetwork *net);
/* TRUE when every port pool holds no port and no 4-tuple. */
gboolean ps_network_pools_empty(const PsNetwork *net);

/* Inspection hook (tests, debugging): called on every client port take and
 * release with the pool's range, so a checker can verify that every port is
 * in range and no 4-tuple is used twice at once. NULL turns it off; the
 * cost when off is one pointer test per take/release. */
typedef struct {
    gboolean take;            /* FALSE: release */
    gboolean bound;           /* taken by bind(): exclusive toward everyone */
    const SimAddress *local;
    uint16_t port;
    uint16_t lo, hi;          /* the pool's ephemeral range */
    const SimAddress *remote; /* the destination endpoint */
    uint16_t remote_port;
} PsPortEvent;
typedef void (*PsPortObserver)(void *user_data, const PsPortEvent *event);
void ps_network_set_port_observer(PsNetwork *net, PsPortObserver fn, void *user_data);

/* The entity behind an event of this network ("workload surge"), for the
 * engine's watchdog message; NULL when the event is not the network's. */
char *ps_network_event_owner(const PsNetwork *net, SimHandler handler, void *ctx, uint64_t arg);

/* One exhaustion plot per host: the names of its series columns and its
 * capacity in 4-tuples (ports x destinations it talks to). */
typedef struct {
    char *name;  /* file stem: "host-shop" */
    char *title;
    char *subtitle;
    char *col_active, *col_time_wait, *col_failures;
    const char *failures_label; /* static text for the right axis; NULL: failed attempts */
    double capacity;
    char *capacity_label;
    double first_failure_s; /* NAN when none */
    /* Marks worth a vertical line: steps of the host's workload schedules. */
    GArray *mark_times;     /* double, seconds */
    GPtrArray *mark_labels; /* char * */
} PsPlotTarget;

GPtrArray *ps_network_plot_targets(const PsNetwork *net); /* PsPlotTarget*, owns them */

/* summary.json content for a run of `duration` (see DESIGN.md "Outputs"). */
JsonNode *ps_network_summary(const PsNetwork *net, SimTime duration, gboolean complete);

#endif
