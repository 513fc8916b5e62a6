/* Counters, gauges, histograms and the sampled time series. */
#include "stats.h"

#include <math.h>
#include <string.h>

/* ---- registry ---------------------------------------------------------- */

/* One table per kind: a name means one thing per kind, and each metric is
 * its own allocation so the pointers handed to models never move. */
struct SimStats {
    GHashTable *counters;
    GHashTable *gauges;
    GHashTable *histograms;
};

static void histogram_free(gpointer h);

SimStats *sim_stats_new(void)
{
    SimStats *stats = g_new0(SimStats, 1);
    stats->counters = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    stats->gauges = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    stats->histograms = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, histogram_free);
    return stats;
}

void sim_stats_free(SimStats *stats)
{
    if (!stats)
        return;
    g_hash_table_destroy(stats->counters);
    g_hash_table_destroy(stats->gauges);
    g_hash_table_destroy(stats->histograms);
    g_free(stats);
}

static SimHistogram *histogram_new(void);

SimCounter *sim_stats_counter(SimStats *stats, const char *name)
{
    g_return_val_if_fail(stats != NULL && name != NULL, NULL);
    SimCounter *c = g_hash_table_lookup(stats->counters, name);
    if (!c) {
        c = g_new0(SimCounter, 1);
        g_hash_table_insert(stats->counters, g_strdup(name), c);
    }
    return c;
}

SimGauge *sim_stats_gauge(SimStats *stats, const char *name)
{
    g_return_val_if_fail(stats != NULL && name != NULL, NULL);
    SimGauge *g = g_hash_table_lookup(stats->gauges, name);
    if (!g) {
        g = g_new0(SimGauge, 1);
        g_hash_table_insert(stats->gauges, g_strdup(name), g);
    }
    return g;
}

SimHistogram *sim_stats_histogram(SimStats *stats, const char *name)
{
    g_return_val_if_fail(stats != NULL && name != NULL, NULL);
    SimHistogram *h = g_hash_table_lookup(stats->histograms, name);
    if (!h) {
        h = histogram_new();
        g_hash_table_insert(stats->histograms, g_strdup(name), h);
    }
    return h;
}

/* ---- gauges ------------------------------------------------------------ */

/* Closes the interval during which the gauge held its current value. */
static void gauge_advance(SimGauge *g, SimTime now)
{
    if (G_UNLIKELY(now < g->since)) {
        /* Time never runs backwards in a run; keep the value change but
         * credit the old value with no time rather than negative time. */
        g_critical("gauge updated at %" G_GINT64_FORMAT " ns, before its last change at %"
                   G_GINT64_FORMAT " ns", now, g->since);
        return;
    }
    g->integral += (double)g->value * (double)(now - g->since);
    g->since = now;
}

void sim_gauge_set_checked(SimGauge *g, SimTime now, int64_t value)
{
    g_return_if_fail(g != NULL);
    gauge_advance(g, now);
    g->value = value;
    if (value > g->max) {
        g->max = value;
        g->max_at = now;
    }
}


double sim_gauge_mean(const SimGauge *g, SimTime now)
{
    g_return_val_if_fail(g != NULL, NAN);
    if (now <= g->start)
        return (double)g->value;
    double open = now > g->since ? (double)g->value * (double)(now - g->since) : 0.0;
    return (g->integral + open) / (double)(now - g->start);
}

/* ---- histograms -------------------------------------------------------- */

/* A positive value v = m * 2^e with m in [0.5, 1) falls in sub-bucket
 * floor((m - 0.5) * 2 * SUB_BUCKETS) of octave e. Each bucket spans 1/128 of
 * its octave's lower bound at most, under 0.8% relative width, and finding it
 * needs frexp, not a logarithm. Octaves are allocated as values reach them. */
#define SUB_BUCKETS 128

struct SimHistogram {
    uint64_t count;
    uint64_t zeros; /* exact zeros have no octave */
    double sum;
    double min;
    double max;
    int lowest_octave;  /* exponent of counts[0 .. SUB_BUCKETS - 1] */
    guint n_octaves;
    uint64_t *counts;   /* n_octaves * SUB_BUCKETS */
};

static SimHistogram *histogram_new(void)
{
    SimHistogram *h = g_new0(SimHistogram, 1);
    h->min = NAN;
    h->max = NAN;
    return h;
}

static void histogram_free(gpointer data)
{
    SimHistogram *h = data;
    g_free(h->counts);
    g_free(h);
}

/* Makes room for octave `exponent`, keeping existing counts in place. */
static void histogram_cover(SimHistogram *h, int exponent)
{
    if (h->n_octaves == 0) {
        h->counts = g_new0(uint64_t, SUB_BUCKETS);
        h->lowest_octave = exponent;
        h->n_octaves = 1;
        return;
    }
    int lowest = MIN(h->lowest_octave, exponent);
    int highest = MAX(h->lowest_octave + (int)h->n_octaves - 1, exponent);
    guint n = (guint)(highest - lowest + 1);
    if (lowest == h->lowest_octave && n == h->n_octaves)
        return;
    uint64_t *counts = g_new0(uint64_t, (gsize)n * SUB_BUCKETS);
    guint shift = (guint)(h->lowest_octave - lowest);
    memcpy(counts + (gsize)shift * SUB_BUCKETS, h->counts,
           (gsize)h->n_octaves * SUB_BUCKETS * sizeof(uint64_t));
    g_free(h->counts);
    h->counts = counts;
    h->lowest_octave = lowest;
    h->n_octaves = n;
}

void sim_histogram_add(SimHistogram *h, double value)
{
    g_return_if_fail(h != NULL);
    g_return_if_fail(isfinite(value) && value >= 0.0);

    h->count++;
    h->sum += value;
    if (h->count == 1 || value < h->min)
        h->min = value;
    if (h->count == 1 || value > h->max)
        h->max = value;
    if (value == 0.0) {
        h->zeros++;
        return;
    }
    int exponent;
    double mantissa = frexp(value, &exponent);
    histogram_cover(h, exponent);
    guint sub = (guint)((mantissa - 0.5) * 2.0 * SUB_BUCKETS);
    h->counts[(gsize)(exponent - h->lowest_octave) * SUB_BUCKETS + sub]++;
}

uint64_t sim_histogram_count(const SimHistogram *h)
{
    g_return_val_if_fail(h != NULL, 0);
    return h->count;
}

double sim_histogram_mean(const SimHistogram *h)
{
    g_return_val_if_fail(h != NULL, NAN);
    return h->count ? h->sum / (double)h->count : NAN;
}

double sim_histogram_min(const SimHistogram *h)
{
    g_return_val_if_fail(h != NULL, NAN);
    return h->min;
}

double sim_histogram_max(const SimHistogram *h)
{
    g_return_val_if_fail(h != NULL, NAN);
    return h->max;
}

double sim_histogram_quantile(const SimHistogram *h, double q)
{
    g_return_val_if_fail(h != NULL, NAN);
    g_return_val_if_fail(q >= 0.0 && q <= 1.0, NAN);
    if (h->count == 0)
        return NAN;
    if (q == 0.0)
        return h->min;
    if (q == 1.0)
        return h->max;

    /* The q-quantile is the smallest value with at least q * count
     * observations at or below it. */
    uint64_t rank = (uint64_t)ceil(q * (double)h->count);
    if (rank < 1)
        rank = 1;
    uint64_t seen = h->zeros;
    if (seen >= rank)
        return 0.0;
    gsize n_buckets = (gsize)h->n_octaves * SUB_BUCKETS;
    for (gsize i = 0; i < n_buckets; i++) {
        seen += h->counts[i];
        if (seen < rank)
            continue;
        int exponent = h->lowest_octave + (int)(i / SUB_BUCKETS);
        double sub = (double)(i % SUB_BUCKETS);
        /* Bucket [lo, hi): report its middle, within the observed range. */
        double lo = ldexp(0.5 + sub / (2.0 * SUB_BUCKETS), exponent);
        double hi = ldexp(0.5 + (sub + 1.0) / (2.0 * SUB_BUCKETS), exponent);
        return CLAMP((lo + hi) / 2.0, h->min, h->max);
    }
    return h->max; /* not reached: the buckets hold every observation */
}

/* ---- time series ------------------------------------------------------- */

typedef enum {
    COLUMN_GAUGE,
    COLUMN_COUNTER,
    COLUMN_RATE,
    COLUMN_RATIO,
    COLUMN_CONSTANT,
} ColumnKind;

typedef struct {
    char *name;
    ColumnKind kind;
    const SimGauge *gauge;
    const SimCounter *counter; /* the counter, or the numerator of a ratio */
    const SimCounter *den;
    double constant;
    /* Counter values at the previous row (0 before the first): rates and
     * ratios are differences over the last interval. */
    int64_t prev_counter;
    int64_t prev_den;
} SeriesColumn;

struct SimSeries {
    GArray *columns; /* SeriesColumn */
    GArray *times;   /* SimTime per row */
    GArray *values;  /* double, n_columns per row */
};

static void column_clear(gpointer data)
{
    SeriesColumn *col = data;
    g_free(col->name);
}

SimSeries *sim_series_new(void)
{
    SimSeries *s = g_new0(SimSeries, 1);
    s->columns = g_array_new(FALSE, TRUE, sizeof(SeriesColumn));
    g_array_set_clear_func(s->columns, column_clear);
    s->times = g_array_new(FALSE, FALSE, sizeof(SimTime));
    s->values = g_array_new(FALSE, FALSE, sizeof(double));
    return s;
}

void sim_series_free(SimSeries *s)
{
    if (!s)
        return;
    g_array_unref(s->columns);
    g_array_unref(s->times);
    g_array_unref(s->values);
    g_free(s);
}

static void series_add(SimSeries *s, SeriesColumn col)
{
    /* Rows are fixed-width; a column added later would have no past. */
    if (s->times->len > 0) {
        g_critical("series column '%s' added after %u rows were sampled", col.name,
                   s->times->len);
        g_free(col.name);
        return;
    }
    g_array_append_val(s->columns, col);
}

void sim_series_add_gauge(SimSeries *s, const char *column, const SimGauge *g)
{
    g_return_if_fail(s != NULL && column != NULL && g != NULL);
    series_add(s, (SeriesColumn){ .name = g_strdup(column), .kind = COLUMN_GAUGE, .gauge = g });
}

void sim_series_add_counter(SimSeries *s, const char *column, const SimCounter *c)
{
    g_return_if_fail(s != NULL && column != NULL && c != NULL);
    series_add(s,
               (SeriesColumn){ .name = g_strdup(column), .kind = COLUMN_COUNTER, .counter = c });
}

void sim_series_add_rate(SimSeries *s, const char *column, const SimCounter *c)
{
    g_return_if_fail(s != NULL && column != NULL && c != NULL);
    series_add(s, (SeriesColumn){ .name = g_strdup(column), .kind = COLUMN_RATE, .counter = c });
}

void sim_series_add_ratio(SimSeries *s, const char *column, const SimCounter *num,
                          const SimCounter *den)
{
    g_return_if_fail(s != NULL && column != NULL && num != NULL && den != NULL);
    series_add(s, (SeriesColumn){ .name = g_strdup(column),
                                  .kind = COLUMN_RATIO,
                                  .counter = num,
                                  .den = den });
}

void sim_series_add_constant(SimSeries *s, const char *column, double value)
{
    g_return_if_fail(s != NULL && column != NULL);
    series_add(s, (SeriesColumn){ .name = g_strdup(column),
                                  .kind = COLUMN_CONSTANT,
                                  .constant = value });
}

void sim_series_sample(SimSeries *s, SimTime now)
{
    g_return_if_fail(s != NULL);

    /* The first interval starts at the series start, time 0. */
    SimTime previous = s->times->len ? g_array_index(s->times, SimTime, s->times->len - 1) : 0;
    g_return_if_fail(now >= previous);
    double interval_s = sim_time_to_seconds(now - previous);

    for (guint i = 0; i < s->columns->len; i++) {
        SeriesColumn *col = &g_array_index(s->columns, SeriesColumn, i);
        double v = NAN;
        switch (col->kind) {
        case COLUMN_GAUGE:
            v = (double)col->gauge->value;
            break;
        case COLUMN_COUNTER:
            v = (double)col->counter->value;
            break;
        case COLUMN_RATE: {
            int64_t increase = col->counter->value - col->prev_counter;
            /* A zero-length interval (a row at time 0) has no rate to show;
             * 0 keeps the column numeric from its first row. */
            v = interval_s > 0.0 ? (double)increase / interval_s : 0.0;
            col->prev_counter = col->counter->value;
            break;
        }
        case COLUMN_RATIO: {
            int64_t num = col->counter->value - col->prev_counter;
            int64_t den = col->den->value - col->prev_den;
            v = den != 0 ? (double)num / (double)den : NAN;
            col->prev_counter = col->counter->value;
            col->prev_den = col->den->value;
            break;
        }
        case COLUMN_CONSTANT:
            v = col->constant;
            break;
        }
        g_array_append_val(s->values, v);
    }
    g_array_append_val(s->times, now);
}

guint sim_series_n_rows(const SimSeries *s)
{
    g_return_val_if_fail(s != NULL, 0);
    return s->times->len;
}

guint sim_series_n_columns(const SimSeries *s)
{
    g_return_val_if_fail(s != NULL, 0);
    return s->columns->len;
}

const char *sim_series_column_name(const SimSeries *s, guint col)
{
    g_return_val_if_fail(s != NULL && col < s->columns->len, NULL);
    return g_array_index(s->columns, SeriesColumn, col).name;
}

int sim_series_find_column(const SimSeries *s, const char *name)
{
    g_return_val_if_fail(s != NULL && name != NULL, -1);
    for (guint i = 0; i < s->columns->len; i++)
        if (g_str_equal(g_array_index(s->columns, SeriesColumn, i).name, name))
            return (int)i;
    return -1;
}

SimTime sim_series_row_time(const SimSeries *s, guint row)
{
    g_return_val_if_fail(s != NULL && row < s->times->len, SIM_TIME_NEVER);
    return g_array_index(s->times, SimTime, row);
}

double sim_series_value(const SimSeries *s, guint row, guint col)
{
    g_return_val_if_fail(s != NULL && row < s->times->len && col < s->columns->len, NAN);
    return g_array_index(s->values, double, (gsize)row * s->columns->len + col);
}

/* Appends a number the same way in every locale; NAN is an empty field. */
static void csv_append_number(GString *out, double v)
{
    if (isnan(v))
        return;
    if (v == 0.0)
        v = 0.0; /* print -0 as 0 */
    /* Whole numbers (counts, gauges) exactly; fractions to 10 digits. */
    if (fabs(v) < 1e15 && v == floor(v)) {
        g_string_append_printf(out, "%lld", (long long)v);
        return;
    }
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_string_append(out, g_ascii_formatd(buf, sizeof buf, "%.10g", v));
}

/* Quotes a header field only when it would otherwise break the CSV. */
static void csv_append_name(GString *out, const char *name)
{
    if (!strpbrk(name, ",\"\r\n")) {
        g_string_append(out, name);
        return;
    }
    g_string_append_c(out, '"');
    for (const char *p = name; *p; p++) {
        if (*p == '"')
            g_string_append_c(out, '"');
        g_string_append_c(out, *p);
    }
    g_string_append_c(out, '"');
}

GString *sim_series_to_csv(const SimSeries *s)
{
    g_return_val_if_fail(s != NULL, NULL);
    guint n_cols = s->columns->len;
    GString *out = g_string_sized_new(64 + (gsize)s->times->len * (n_cols + 1) * 12);

    g_string_append(out, "time_s");
    for (guint c = 0; c < n_cols; c++) {
        g_string_append_c(out, ',');
        csv_append_name(out, g_array_index(s->columns, SeriesColumn, c).name);
    }
    g_string_append_c(out, '\n');

    for (guint r = 0; r < s->times->len; r++) {
        csv_append_number(out, sim_time_to_seconds(g_array_index(s->times, SimTime, r)));
        const double *row = &g_array_index(s->values, double, (gsize)r * n_cols);
        for (guint c = 0; c < n_cols; c++) {
            g_string_append_c(out, ',');
            csv_append_number(out, row[c]);
        }
        g_string_append_c(out, '\n');
    }
    return out;
}
