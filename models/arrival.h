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

/* Expected number of arrivals in [start, stop): the integral of the rate
 * (for on/off, its long-run mean; for a trace, its rows in the window). */
double ps_arrival_expected(const PsArrival *arrival);

/* Diurnal load: a Poisson process whose rate swings as a cosine between
 * rate_min and rate_max over `period`, at its peak at peak_at (+ k periods);
 * drawn by thinning a rate_max process. */
PsArrival *ps_arrival_new_diurnal(double rate_min, double rate_max, SimTime period,
                                  SimTime peak_at, SimTime start, SimTime stop, const SimRng *rng);

/* On/off bursts (a Markov-modulated Poisson process): exponential on and
 * off periods of means on_time and off_time, Poisson arrivals at on_rate
 * while on, none while off. The first period is on with probability
 * on_time / (on_time + off_time), the stationary share. */
PsArrival *ps_arrival_new_onoff(double on_rate, SimTime on_time, SimTime off_time, SimTime start,
                                SimTime stop, const SimRng *rng);

/* Trace replay: one arrival per row at exactly its time; rows in
 * [start, stop) are used. endpoint < 0: the workload's turn; hold < 0: the
 * workload's hold distribution. */
typedef struct {
    SimTime at;
    gint32 endpoint;
    SimTime hold;
    guint line; /* in the CSV file, for messages */
} PsTraceRow;

/* rows: PsTraceRow sorted by time (copied). */
PsArrival *ps_arrival_new_trace(const GArray *rows, SimTime start, SimTime stop);
/* The row behind the time ps_arrival_next() returned last; NULL unless a
 * trace. */
const PsTraceRow *ps_arrival_row(const PsArrival *arrival);

/* Reads a trace CSV: one row per line, "time[,destination[,hold]]"; time
 * and hold in seconds ("12.000000001", exact to the nanosecond) or with a
 * unit ("250ms"), destination an index into the target's endpoints (empty:
 * the workload's turn). Blank lines, lines starting with '#', and a first
 * line that starts with a letter (a header) are skipped. Times must not
 * decrease. Errors (SIM_ERROR_INPUT) read "PATH:LINE: ...". */
GArray *ps_trace_csv_load(const char *path, GError **error);

#endif
