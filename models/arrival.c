#include "arrival.h"

#include <math.h>

typedef enum { KIND_PIECEWISE, KIND_DIURNAL, KIND_ONOFF, KIND_TRACE } Kind;

struct PsArrival {
    Kind kind;
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
    /* Diurnal: cosine between rate_min and rate_max, in seconds. */
    double rate_min, rate_max, period_s, peak_s;
    /* On/off: the current period and when it ends. */
    double on_rate, on_mean_s, off_mean_s, phase_end_s;
    gboolean on;
    /* Trace: rows and the next one to replay. */
    GArray *rows;
    guint row;
    const PsTraceRow *last_row;
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
    if (a->points)
        g_array_free(a->points, TRUE);
    if (a->rows)
        g_array_free(a->rows, TRUE);
    g_free(a);
}

static PsArrival *arrival_base(Kind kind, SimTime start, SimTime stop, const SimRng *rng)
{
    PsArrival *a = g_new0(PsArrival, 1);
    a->kind = kind;
    a->start_s = sim_time_to_seconds(start);
    a->stop_s = sim_time_to_seconds(stop);
    a->now_s = a->start_s;
    if (rng)
        a->rng = *rng;
    a->done = start >= stop;
    return a;
}

static double diurnal_rate(const PsArrival *a, double t)
{
    double phase = 2 * G_PI * (t - a->peak_s) / a->period_s;
    return a->rate_min + (a->rate_max - a->rate_min) * 0.5 * (1 + cos(phase));
}

PsArrival *ps_arrival_new_diurnal(double rate_min, double rate_max, SimTime period,
                                  SimTime peak_at, SimTime start, SimTime stop, const SimRng *rng)
{
    PsArrival *a = arrival_base(KIND_DIURNAL, start, stop, rng);
    a->rate_min = rate_min;
    a->rate_max = MAX(rate_max, rate_min);
    a->period_s = sim_time_to_seconds(period);
    a->peak_s = sim_time_to_seconds(peak_at);
    if (a->rate_max <= 0 || a->period_s <= 0)
        a->done = TRUE;
    return a;
}

PsArrival *ps_arrival_new_onoff(double on_rate, SimTime on_time, SimTime off_time, SimTime start,
                                SimTime stop, const SimRng *rng)
{
    PsArrival *a = arrival_base(KIND_ONOFF, start, stop, rng);
    a->on_rate = on_rate;
    a->on_mean_s = sim_time_to_seconds(on_time);
    a->off_mean_s = sim_time_to_seconds(off_time);
    if (on_rate <= 0 || a->on_mean_s <= 0 || a->off_mean_s < 0) {
        a->done = TRUE;
        return a;
    }
    /* Start in the stationary mix; exponential periods are memoryless, so
     * the first period's remaining length is a full draw. */
    a->on = sim_rng_uniform(&a->rng) * (a->on_mean_s + a->off_mean_s) < a->on_mean_s;
    a->phase_end_s =
        a->start_s + sim_rng_exponential(&a->rng, a->on ? a->on_mean_s : a->off_mean_s);
    return a;
}

PsArrival *ps_arrival_new_trace(const GArray *rows, SimTime start, SimTime stop)
{
    PsArrival *a = arrival_base(KIND_TRACE, start, stop, NULL);
    a->rows = g_array_sized_new(FALSE, FALSE, sizeof(PsTraceRow), rows->len);
    g_array_append_vals(a->rows, rows->data, rows->len);
    while (a->row < a->rows->len && g_array_index(a->rows, PsTraceRow, a->row).at < start)
        a->row++;
    return a;
}

const PsTraceRow *ps_arrival_row(const PsArrival *a) { return a->last_row; }

static SimTime next_diurnal(PsArrival *a)
{
    for (;;) {
        a->now_s += sim_rng_exponential(&a->rng, 1.0 / a->rate_max);
        if (a->now_s >= a->stop_s)
            return SIM_TIME_NEVER;
        if (sim_rng_uniform(&a->rng) * a->rate_max < diurnal_rate(a, a->now_s))
            return sim_time_from_seconds(a->now_s);
    }
}

static SimTime next_onoff(PsArrival *a)
{
    while (a->now_s < a->stop_s) {
        if (!a->on) {
            a->now_s = a->phase_end_s;
            a->on = TRUE;
            a->phase_end_s = a->now_s + sim_rng_exponential(&a->rng, a->on_mean_s);
            continue;
        }
        double t = a->now_s + sim_rng_exponential(&a->rng, 1.0 / a->on_rate);
        if (t < a->phase_end_s) {
            a->now_s = t;
            return t < a->stop_s ? sim_time_from_seconds(t) : SIM_TIME_NEVER;
        }
        /* Memoryless: past the on period, redraw from the next on period. */
        a->now_s = a->phase_end_s;
        a->on = FALSE;
        a->phase_end_s = a->now_s + sim_rng_exponential(&a->rng, a->off_mean_s);
    }
    return SIM_TIME_NEVER;
}

static SimTime next_trace(PsArrival *a)
{
    if (a->row >= a->rows->len)
        return SIM_TIME_NEVER;
    const PsTraceRow *r = &g_array_index(a->rows, PsTraceRow, a->row);
    if (sim_time_to_seconds(r->at) >= a->stop_s)
        return SIM_TIME_NEVER;
    a->row++;
    a->last_row = r;
    return r->at;
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
    if (a->kind != KIND_PIECEWISE) {
        SimTime t = a->kind == KIND_DIURNAL ? next_diurnal(a)
                    : a->kind == KIND_ONOFF ? next_onoff(a)
                                            : next_trace(a);
        a->done = t == SIM_TIME_NEVER;
        return t;
    }
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
    double span = MAX(a->stop_s - a->start_s, 0);
    if (a->kind == KIND_DIURNAL) {
        if (a->period_s <= 0)
            return 0;
        /* The cosine's integral: its mean plus the unfinished part of a
         * period. */
        double w = 2 * G_PI / a->period_s;
        double osc = (sin(w * (a->stop_s - a->peak_s)) - sin(w * (a->start_s - a->peak_s))) / w;
        return a->rate_min * span + (a->rate_max - a->rate_min) * 0.5 * (span + osc);
    }
    if (a->kind == KIND_ONOFF)
        return a->on_mean_s > 0 ? a->on_rate * a->on_mean_s / (a->on_mean_s + a->off_mean_s) * span
                                : 0;
    if (a->kind == KIND_TRACE) {
        guint n = 0;
        for (guint i = 0; i < a->rows->len; i++) {
            double t = sim_time_to_seconds(g_array_index(a->rows, PsTraceRow, i).at);
            n += t >= a->start_s && t < a->stop_s;
        }
        return n;
    }
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
