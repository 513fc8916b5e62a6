/* Statistics: counters, gauges, histograms, registered by name
 * ("entity.metric"), and a time series that samples chosen metrics. */
#ifndef SIM_STATS_H
#define SIM_STATS_H

#include <glib.h>
#include <stdint.h>
#include "sim_time.h"

/* Counters and gauges are plain structs so models update them inline. */
typedef struct {
    int64_t value;
} SimCounter;

typedef struct {
    int64_t value;
    int64_t max;
    SimTime max_at;       /* when max was first reached */
    SimTime since;        /* time of the last change */
    SimTime start;        /* time the integral starts */
    double integral;      /* value x nanoseconds, accumulated up to `since` */
} SimGauge;

typedef struct SimHistogram SimHistogram;
typedef struct SimStats SimStats;

SimStats *sim_stats_new(void);
void sim_stats_free(SimStats *stats);

/* Returns the metric of that name, creating it (zeroed) on first use.
 * Pointers stay valid for the life of the registry. */
SimCounter *sim_stats_counter(SimStats *stats, const char *name);
SimGauge *sim_stats_gauge(SimStats *stats, const char *name);
SimHistogram *sim_stats_histogram(SimStats *stats, const char *name);

/* Models change gauges on every event: the common case is inline, the
 * checks (a NULL gauge, time going back) are sim_gauge_set_checked(). */
void sim_gauge_set_checked(SimGauge *g, SimTime now, int64_t value);
static inline void sim_gauge_set(SimGauge *g, SimTime now, int64_t value)
{
    if (G_UNLIKELY(g == NULL || now < g->since)) {
        sim_gauge_set_checked(g, now, value);
        return;
    }
    g->integral += (double)g->value * (double)(now - g->since);
    g->since = now;
    g->value = value;
    if (value > g->max) {
        g->max = value;
        g->max_at = now;
    }
}
static inline void sim_gauge_add(SimGauge *g, SimTime now, int64_t delta)
{
    if (G_UNLIKELY(g == NULL)) {
        sim_gauge_set_checked(g, now, 0);
        return;
    }
    sim_gauge_set(g, now, g->value + delta);
}
/* Time-weighted mean over [g->start, now]. */
double sim_gauge_mean(const SimGauge *g, SimTime now);

/* Histogram of non-negative values with log-spaced buckets (about 1%
 * relative resolution) plus exact count, sum, min and max. */
void sim_histogram_add(SimHistogram *h, double value);
uint64_t sim_histogram_count(const SimHistogram *h);
double sim_histogram_mean(const SimHistogram *h);
double sim_histogram_min(const SimHistogram *h);
double sim_histogram_max(const SimHistogram *h);
/* q in [0, 1]; NAN when empty. */
double sim_histogram_quantile(const SimHistogram *h, double q);

/* A time series: one row per sample, one column per registered source. */
typedef struct SimSeries SimSeries;

SimSeries *sim_series_new(void);
void sim_series_free(SimSeries *s);

/* Columns, in the order added. A rate column is the counter's increase over
 * the last interval divided by its length in seconds; a ratio column is the
 * increase of num over the increase of den in the last interval (NAN when
 * den did not move, written as an empty CSV field). */
void sim_series_add_gauge(SimSeries *s, const char *column, const SimGauge *g);
void sim_series_add_counter(SimSeries *s, const char *column, const SimCounter *c);
void sim_series_add_rate(SimSeries *s, const char *column, const SimCounter *c);
void sim_series_add_ratio(SimSeries *s, const char *column, const SimCounter *num,
                          const SimCounter *den);
void sim_series_add_constant(SimSeries *s, const char *column, double value);

/* Appends one row taken at `now`. */
void sim_series_sample(SimSeries *s, SimTime now);

guint sim_series_n_rows(const SimSeries *s);
guint sim_series_n_columns(const SimSeries *s);
const char *sim_series_column_name(const SimSeries *s, guint col);
int sim_series_find_column(const SimSeries *s, const char *name); /* -1 if absent */
SimTime sim_series_row_time(const SimSeries *s, guint row);
double sim_series_value(const SimSeries *s, guint row, guint col);

/* CSV text: header "time_s,<columns...>", then one line per row. Numbers are
 * printed locale-independently (whole numbers exactly, others with %.10g)
 * so the text is identical for identical runs. */
GString *sim_series_to_csv(const SimSeries *s);

#endif
