#include "arrival.h"

#include <math.h>

struct PsArrival {
    gboolean poisson;
    GArray *points; /* SimSchedulePoint, times in seconds via helpers below */
    double start_s, stop_s;
    SimRng rng;
    /* Cursor: segment index and position on the time axis. */
    guint seg;
    double now_s;
    gboolean first;
    gboolean done;
    /* Evenly paced constant rate: exact integer arithmetic, no drift. */
    gboolean exact_constant;
    double period_ns;
    guint64 count;
};

static double point_time(const PsArrival *a, guint i)
{
    return sim_time_to_seconds(g_array_index(a->points, SimSchedulePoint, i).at);
}

static double point_rate(const PsArrival *a, guint i)
{
    return g_array_index(a->points, SimSchedulePoint, i).rate;
}

/* Rate at time t inside segment i (the last segment extends forever). */
static double rate_at(const PsArrival *a, guint i, double t)
{
    if (i + 1 >= a->points->len)
        return point_rate(a, i);
    double t0 = point_time(a, i), t1 = point_time(a, i + 1);
    if (t1 <= t0)
        return point_rate(a, i + 1);
    double r0 = point_rate(a, i), r1 = point_rate(a, i + 1);
    return r0 + (r1 - r0) * (t - t0) / (t1 - t0);
}

static guint segment_of(const PsArrival *a, double t)
{
    guint i = 0;
    while (i + 1 < a->points->len && point_time(a, i + 1) <= t)
        i++;
    return i;
}

PsArrival *ps_arrival_new(gboolean poisson, const GArray *points, SimTime start, SimTime stop,
                          const SimRng *rng)
{
    g_return_val_if_fail(points && points->len > 0, NULL);
    PsArrival *a = g_new0(PsArrival, 1);
    a->poisson = poisson;
    a->points = g_array_sized_new(FALSE, FALSE, sizeof(SimSchedulePoint), points->len);
    g_array_append_vals(a->points, points->data, points->len);
    a->start_s = sim_time_to_seconds(start);
    a->stop_s = sim_time_to_seconds(stop);
    a->rng = *rng;
    a->seg = segment_of(a, a->start_s);
    a->now_s = a->start_s;
    a->first = TRUE;
    double r = point_rate(a, 0);
    if (!poisson && points->len == 1 && r > 0) {
        a->exact_constant = TRUE;
        a->period_ns = 1e9 / r;
    }
    a->done = start >= stop;
    return a;
}

void ps_arrival_free(PsArrival *a)
{
    if (!a)
        return;
    g_array_free(a->points, TRUE);
    g_free(a);
}

/* Moves the cursor forward until the rate integral has grown by `mass`.
 * Returns FALSE when that never happens (the rate stays 0). */
static gboolean advance(PsArrival *a, double mass)
{
    while (mass > 0) {
        gboolean last = a->seg + 1 >= a->points->len;
        double t_end = last ? INFINITY : point_time(a, a->seg + 1);
        double r0 = rate_at(a, a->seg, a->now_s);
        if (last) {
            if (r0 <= 0)
                return FALSE;
            a->now_s += mass / r0;
            return TRUE;
        }
        double r1 = rate_at(a, a->seg, t_end);
        double len = t_end - a->now_s;
        double seg_mass = 0.5 * (r0 + r1) * len;
        if (len <= 0 || seg_mass < mass) {
            mass -= len > 0 ? seg_mass : 0;
            a->now_s = t_end;
            a->seg++;
            continue;
        }
        /* Solve r0*s + slope*s^2/2 = mass in the form that stays accurate
         * when the slope is tiny or negative. */
        double slope = (r1 - r0) / len;
        double disc = r0 * r0 + 2.0 * slope * mass;
        double s = 2.0 * mass / (r0 + sqrt(disc > 0 ? disc : 0));
        a->now_s += s > len ? len : s;
        return TRUE;
    }
    return TRUE;
}

SimTime ps_arrival_next(PsArrival *a)
{
    if (a->done)
        return SIM_TIME_NEVER;
    if (a->exact_constant) {
        double offset_ns = (double)a->count++ * a->period_ns;
        SimTime t = sim_time_from_seconds(a->start_s) + (SimTime)llround(offset_ns);
        if (sim_time_to_seconds(t) >= a->stop_s) {
            a->done = TRUE;
            return SIM_TIME_NEVER;
        }
        return t;
    }
    double mass = a->poisson ? sim_rng_exponential(&a->rng, 1.0) : (a->first ? 0.0 : 1.0);
    if (a->first && !a->poisson && rate_at(a, a->seg, a->now_s) <= 0)
        mass = 1.0; /* do not open a connection while the rate is still 0 */
    a->first = FALSE;
    if (!advance(a, mass) || a->now_s >= a->stop_s) {
        a->done = TRUE;
        return SIM_TIME_NEVER;
    }
    return sim_time_from_seconds(a->now_s);
}

double ps_arrival_expected(const PsArrival *a)
{
    double total = 0;
    for (guint i = 0; i < a->points->len; i++) {
        double t0 = MAX(point_time(a, i), a->start_s);
        double t1 = i + 1 < a->points->len ? point_time(a, i + 1) : a->stop_s;
        t1 = MIN(t1, a->stop_s);
        if (t1 <= t0)
            continue;
        total += 0.5 * (rate_at(a, i, t0) + rate_at(a, i, t1)) * (t1 - t0);
    }
    return total;
}
