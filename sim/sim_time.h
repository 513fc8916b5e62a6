/* Simulated time: a signed 64-bit count of nanoseconds.
 * Integer time keeps runs exactly reproducible; never use a float clock. */
#ifndef SIM_TIME_H
#define SIM_TIME_H

#include <stdint.h>

typedef int64_t SimTime;

#define SIM_NS ((SimTime)1)
#define SIM_US ((SimTime)1000)
#define SIM_MS ((SimTime)1000000)
#define SIM_S  ((SimTime)1000000000)
#define SIM_TIME_NEVER INT64_MAX

static inline double sim_time_to_seconds(SimTime t) { return (double)t / 1e9; }

/* Rounds to the nearest nanosecond; saturates instead of overflowing. */
static inline SimTime sim_time_from_seconds(double s)
{
    double ns = s * 1e9;
    if (ns >= 9.2e18)
        return SIM_TIME_NEVER;
    if (ns <= -9.2e18)
        return -SIM_TIME_NEVER;
    return (SimTime)(ns < 0 ? ns - 0.5 : ns + 0.5);
}

#endif
