/* Closed-form limits of a scenario: what `portsim explain` prints and what
 * sweeps overlay on their curves.
 *
 * Per client host (all its workloads together):
 *   C  ports per address  = ephemeral range - reserved ports inside it
 *   K  4-tuple capacity   = C x addresses x destinations (4-tuple sharing);
 *                           C x addresses with bind_before_connect (unless
 *                           bind_address_no_port) or port_sharing =
 *                           host-wide (a port is exclusive toward every
 *                           destination); addresses counts 1 when each
 *                           destination leaves from one address
 *                           (address_selection first or hash)
 *   T  port holding time  = how long one connection keeps its 4-tuple, from
 *                           the SYN to CLOSED on the client side (tcp.c):
 *        client closes:   2d (handshake to ESTABLISHED) + hold + 2d (FIN,
 *                         ACK+FIN) + TIME_WAIT (+ half a timer-wheel tick,
 *                         time_wait_granularity, on average; at most
 *                         tw_reuse_delay where tcp_tw_reuse applies); with
 *                         linger0 2d + hold
 *        server closes:   4d + hold (its FIN arrives) + 2d (LAST_ACK); with
 *                         linger0 4d + hold
 *                         (d: one-way delay). Several workloads: the
 *                         rate-weighted mean (Little's law).
 *   sustainable rate      = K / T
 *   first failure         the fluid model: ports busy N(t) = integral of the
 *                         offered rate over [t - T, t]; the first t where
 *                         N(t) reaches K. For a step from r0 to r1 at t0
 *                         (r1 T > K): t0 + (K - r0 T) / (r1 - r0).
 *   blocking              Erlang B(E, m) with E = offered rate x T / (the
 *                         addresses x destinations sharing it) and m = C:
 *                         exact for Poisson arrivals (M/G/m/m is insensitive
 *                         to the holding-time distribution).
 */
#ifndef PS_THEORY_H
#define PS_THEORY_H

#include <glib.h>
#include "scenario.h"

/* Erlang B blocking probability for `erlangs` offered to `servers` servers
 * (the stable recursion B(k) = E B(k-1) / (k + E B(k-1))). */
double ps_erlang_b(double erlangs, guint64 servers);

typedef struct {
    char *host;
    guint addresses;     /* used in turn (1 with address_selection = first) */
    guint destinations;  /* distinct (address, port) the workloads target */
    gboolean exclusive;  /* bind_before_connect */
    guint64 range_ports; /* hi - lo + 1 */
    guint64 reserved;    /* reserved ports inside the range */
    guint64 ports;       /* C */
    guint64 capacity;    /* K */
    /* T and its parts, rate-weighted over the workloads */
    double handshake_s, hold_s, close_s, time_wait_s, occupancy_s;
    double half_tick_s; /* the timer-wheel share of time_wait_s */
    gboolean tw_reuse;  /* time_wait_s is tcp_tw_reuse's delay */
    double sustainable_per_s; /* K / T; +inf when T is 0 */
    double base_per_s;        /* offered rate at the start of the run */
    double peak_per_s;        /* largest offered rate during the run */
    gboolean poisson;         /* every workload has Poisson arrivals */
    double first_failure_s;   /* fluid model; NAN when never within the run */
    /* the first step up in the schedule that exhausts the pool, if any */
    gboolean has_step;
    double step_at_s, step_from_per_s, step_to_per_s;
    double blocking_base, blocking_peak; /* Erlang B at base and peak rates */
} PsHostTheory;

/* One entry per host that has workloads, in file order; PsHostTheory *,
 * freed with the array. */
GPtrArray *ps_theory_hosts(const SimScenario *scenario);

/* Adds every "address:port" endpoint of a [server] section to a set of
 * strings (g_str_hash, owning its keys): the destinations it offers. */
void ps_theory_add_dests(GHashTable *dests, SimSection *server);

/* Whether the scenario is a single-pool loss system: one host with one
 * address, one destination, Poisson arrivals at a constant rate. Then
 * Erlang B is the exact failure ratio in steady state. */
gboolean ps_theory_single_pool(const SimScenario *scenario);

#endif
