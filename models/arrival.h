/* Arrival processes: when a workload opens its next connection.
 *
 * The rate is a piecewise-linear function of time (a constant is one
 * point). Evenly paced arrivals come whenever the integral of the rate grows
 * by one; Poisson arrivals whenever it grows by an Exp(1) draw, which makes
 * a non-homogeneous Poisson process that follows the schedule. */
#ifndef PS_ARRIVAL_H
#define PS_ARRIVAL_H

#include <glib.h>
#include "rng.h"
#include "sim_time.h"
#include "values.h"

typedef struct PsArrival PsArrival;

/* points: SimSchedulePoint (copied), at least one, first at time 0. The
 * first arrival of a paced process is at `start`. rng is copied. */
PsArrival *ps_arrival_new(gboolean poisson, const GArray *points, SimTime start, SimTime stop,
                          const SimRng *rng);
void ps_arrival_free(PsArrival *arrival);

/* The next arrival time (non-decreasing), or SIM_TIME_NEVER once past stop. */
SimTime ps_arrival_next(PsArrival *arrival);

/* Expected number of arrivals in [start, stop): the integral of the rate. */
double ps_arrival_expected(const PsArrival *arrival);

#endif
