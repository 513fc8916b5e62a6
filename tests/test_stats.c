/* Statistics: registry, gauges, histograms, sampled series and their CSV. */
#include <glib.h>
#include <math.h>
#include <stdlib.h>

#include "rng.h"
#include "stats.h"
#include "test_util.h"


/* ---- registry ---------------------------------------------------------- */

START_TEST(test_registry_returns_one_metric_per_name)
{
    SimStats *stats = sim_stats_new();
    SimCounter *c = sim_stats_counter(stats, "web.attempts");
    SimGauge *g = sim_stats_gauge(stats, "web.ports_in_use");
    SimHistogram *h = sim_stats_histogram(stats, "web.connect_ms");
    ck_assert_int_eq(c->value, 0);
    ck_assert_int_eq(g->value, 0);
    ck_assert_uint_eq(sim_histogram_count(h), 0);

    ck_assert_ptr_eq(sim_stats_counter(stats, "web.attempts"), c);
    ck_assert_ptr_eq(sim_stats_gauge(stats, "web.ports_in_use"), g);
    ck_assert_ptr_eq(sim_stats_histogram(stats, "web.connect_ms"), h);
    ck_assert_ptr_ne(sim_stats_counter(stats, "web.failures"), c);

    /* A name passed from a temporary buffer is copied, not kept. */
    char *name = g_strdup("nat.mappings");
    SimGauge *mappings = sim_stats_gauge(stats, name);
    g_free(name);
    ck_assert_ptr_eq(sim_stats_gauge(stats, "nat.mappings"), mappings);
    sim_stats_free(stats);
}
END_TEST

START_TEST(test_registry_pointers_stay_valid)
{
    SimStats *stats = sim_stats_new();
    SimCounter *first = sim_stats_counter(stats, "first");
    SimGauge *first_gauge = sim_stats_gauge(stats, "first");
    first->value = 41;
    sim_gauge_set(first_gauge, 0, 9);
    /* Enough insertions to make the tables resize several times. */
    for (int i = 0; i < 5000; i++) {
        char name[32];
        g_snprintf(name, sizeof name, "entity%d.metric", i);
        sim_stats_counter(stats, name)->value = i;
        sim_gauge_set(sim_stats_gauge(stats, name), 0, i);
        sim_histogram_add(sim_stats_histogram(stats, name), i);
    }
    first->value++;
    ck_assert_ptr_eq(sim_stats_counter(stats, "first"), first);
    ck_assert_int_eq(sim_stats_counter(stats, "first")->value, 42);
    ck_assert_ptr_eq(sim_stats_gauge(stats, "first"), first_gauge);
    ck_assert_int_eq(first_gauge->value, 9);
    ck_assert_int_eq(sim_stats_counter(stats, "entity4321.metric")->value, 4321);
    sim_stats_free(stats);
}
END_TEST

/* ---- gauges ------------------------------------------------------------ */

START_TEST(test_gauge_time_weighted_mean)
{
    SimGauge g = { 0 };
    /* 0 on [0, 2s), 10 on [2s, 5s), 4 on [5s, 10s):
     * (0 * 2 + 10 * 3 + 4 * 5) / 10 = 5. */
    sim_gauge_set(&g, 2 * SIM_S, 10);
    sim_gauge_set(&g, 5 * SIM_S, 4);
    ck_assert_double_eq_tol(sim_gauge_mean(&g, 10 * SIM_S), 5.0, 1e-12);
    /* The mean is read-only: asking twice, or later, does not disturb it. */
    ck_assert_double_eq_tol(sim_gauge_mean(&g, 10 * SIM_S), 5.0, 1e-12);
    /* 4 more held over [10s, 15s): (50 + 20) / 15. */
    ck_assert_double_eq_tol(sim_gauge_mean(&g, 15 * SIM_S), 70.0 / 15.0, 1e-12);
    ck_assert_int_eq(g.value, 4);
}
END_TEST

START_TEST(test_gauge_add_and_repeated_times)
{
    SimGauge g = { 0 };
    sim_gauge_add(&g, 1 * SIM_S, 3);
    sim_gauge_add(&g, 1 * SIM_S, 3); /* two changes at one instant */
    sim_gauge_add(&g, 3 * SIM_S, -4);
    ck_assert_int_eq(g.value, 2);
    /* 0 * 1 + 6 * 2 + 2 * 1 over 4 s. */
    ck_assert_double_eq_tol(sim_gauge_mean(&g, 4 * SIM_S), 14.0 / 4.0, 1e-12);
}
END_TEST

START_TEST(test_gauge_mean_at_start_is_current_value)
{
    SimGauge g = { 0 };
    sim_gauge_set(&g, 0, 7);
    ck_assert_double_eq(sim_gauge_mean(&g, 0), 7.0);

    /* A gauge whose averaging window starts later (after a warm-up). */
    SimGauge late = { .value = 3, .start = 5 * SIM_S, .since = 5 * SIM_S };
    ck_assert_double_eq(sim_gauge_mean(&late, 5 * SIM_S), 3.0);
    sim_gauge_set(&late, 6 * SIM_S, 1);
    /* 3 on [5s, 6s), 1 on [6s, 7s). */
    ck_assert_double_eq_tol(sim_gauge_mean(&late, 7 * SIM_S), 2.0, 1e-12);
}
END_TEST

START_TEST(test_gauge_max_and_when_first_reached)
{
    SimGauge g = { 0 };
    sim_gauge_set(&g, 2 * SIM_S, 10);
    sim_gauge_set(&g, 3 * SIM_S, 4);
    sim_gauge_set(&g, 7 * SIM_S, 10); /* equals the max: keeps the first time */
    ck_assert_int_eq(g.max, 10);
    ck_assert_int_eq(g.max_at, 2 * SIM_S);
    sim_gauge_add(&g, 8 * SIM_S, 2);
    ck_assert_int_eq(g.max, 12);
    ck_assert_int_eq(g.max_at, 8 * SIM_S);
    sim_gauge_set(&g, 9 * SIM_S, 0);
    ck_assert_int_eq(g.max, 12);
    ck_assert_int_eq(g.max_at, 8 * SIM_S);
}
END_TEST

START_TEST(test_gauge_going_back_in_time_is_reported)
{
    SimGauge g = { 0 };
    sim_gauge_set(&g, 5 * SIM_S, 2);
    capture_criticals();
    sim_gauge_set(&g, 4 * SIM_S, 6);
    release_criticals();
    ck_assert_int_eq(criticals_seen, 1);
    /* The new value is kept; the bad interval adds nothing. */
    ck_assert_int_eq(g.value, 6);
    ck_assert_double_eq_tol(sim_gauge_mean(&g, 10 * SIM_S), (2.0 * 0 + 6.0 * 5) / 10.0, 1e-12);
}
END_TEST

/* ---- histograms -------------------------------------------------------- */

START_TEST(test_histogram_empty)
{
    SimStats *stats = sim_stats_new();
    SimHistogram *h = sim_stats_histogram(stats, "empty");
    ck_assert_uint_eq(sim_histogram_count(h), 0);
    ck_assert(isnan(sim_histogram_mean(h)));
    ck_assert(isnan(sim_histogram_min(h)));
    ck_assert(isnan(sim_histogram_max(h)));
    ck_assert(isnan(sim_histogram_quantile(h, 0.5)));
    sim_stats_free(stats);
}
END_TEST

START_TEST(test_histogram_exact_moments)
{
    SimStats *stats = sim_stats_new();
    SimHistogram *h = sim_stats_histogram(stats, "h");
    for (int i = 1000; i >= 1; i--)
        sim_histogram_add(h, i);
    ck_assert_uint_eq(sim_histogram_count(h), 1000);
    ck_assert_double_eq(sim_histogram_mean(h), 500.5);
    ck_assert_double_eq(sim_histogram_min(h), 1.0);
    ck_assert_double_eq(sim_histogram_max(h), 1000.0);
    ck_assert_double_eq(sim_histogram_quantile(h, 0.0), 1.0);
    ck_assert_double_eq(sim_histogram_quantile(h, 1.0), 1000.0);
    /* The q-quantile of 1..1000 is 1000 q; buckets are under 0.8% wide and
     * report their middle, so the estimate is within 0.4% (allow 1%). */
    ck_assert_double_eq_tol(sim_histogram_quantile(h, 0.5), 500.0, 5.0);
    ck_assert_double_eq_tol(sim_histogram_quantile(h, 0.9), 900.0, 9.0);
    ck_assert_double_eq_tol(sim_histogram_quantile(h, 0.99), 990.0, 9.9);
    ck_assert_double_eq_tol(sim_histogram_quantile(h, 0.01), 10.0, 0.1);
    sim_stats_free(stats);
}
END_TEST

START_TEST(test_histogram_zeros)
{
    SimStats *stats = sim_stats_new();
    SimHistogram *h = sim_stats_histogram(stats, "h");
    for (int i = 0; i < 60; i++)
        sim_histogram_add(h, 0.0);
    for (int i = 0; i < 40; i++)
        sim_histogram_add(h, 7.0);
    ck_assert_double_eq(sim_histogram_min(h), 0.0);
    ck_assert_double_eq(sim_histogram_quantile(h, 0.5), 0.0);
    ck_assert_double_eq(sim_histogram_quantile(h, 0.6), 0.0);
    ck_assert_double_eq_tol(sim_histogram_quantile(h, 0.61), 7.0, 0.07);
    ck_assert_double_eq_tol(sim_histogram_mean(h), 2.8, 1e-12);
    sim_stats_free(stats);
}
END_TEST

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Values spread over 12 decades, checked against the exact quantiles of the
 * sorted sample. An estimate is the middle of the bucket holding the exact
 * value, and buckets are under 0.8% wide, so it is within 0.4%; allow 0.5%. */
START_TEST(test_histogram_quantiles_match_sorted_sample)
{
    SimStats *stats = sim_stats_new();
    SimHistogram *h = sim_stats_histogram(stats, "wide");
    SimRng rng;
    sim_rng_seed(&rng, 3, "histogram", 0);
    enum { N = 20000 };
    double *values = g_new(double, N);
    for (int i = 0; i < N; i++) {
        values[i] = exp(sim_rng_normal(&rng) * 4.0);
        sim_histogram_add(h, values[i]);
    }
    qsort(values, N, sizeof(double), compare_doubles);
    for (int k = 1; k < 1000; k++) {
        double q = k / 1000.0;
        /* The smallest value with at least q * N values at or below it. */
        double exact = values[(int)ceil(q * N) - 1];
        double estimate = sim_histogram_quantile(h, q);
        ck_assert_msg(fabs(estimate - exact) <= 0.005 * exact,
                      "q=%.3f: estimate %.6g, exact %.6g", q, estimate, exact);
    }
    ck_assert_double_eq(sim_histogram_min(h), values[0]);
    ck_assert_double_eq(sim_histogram_max(h), values[N - 1]);
    g_free(values);
    sim_stats_free(stats);
}
END_TEST

START_TEST(test_histogram_rejects_negative_and_nan)
{
    SimStats *stats = sim_stats_new();
    SimHistogram *h = sim_stats_histogram(stats, "h");
    sim_histogram_add(h, 2.0);
    capture_criticals();
    sim_histogram_add(h, -1.0);
    sim_histogram_add(h, NAN);
    sim_histogram_add(h, INFINITY);
    release_criticals();
    ck_assert_int_eq(criticals_seen, 3);
    ck_assert_uint_eq(sim_histogram_count(h), 1);
    ck_assert_double_eq(sim_histogram_min(h), 2.0);
    ck_assert_double_eq(sim_histogram_max(h), 2.0);
    sim_stats_free(stats);
}
END_TEST

/* ---- series ------------------------------------------------------------ */

/* The worked example behind the series tests:
 *
 *   time   in_use  attempts  failures   rate (attempts/s)    fail ratio
 *   0      0       0         0          0 (no interval yet)  none: no attempts
 *   1s     5       4         1          4 / 1   = 4          1 / 4 = 0.25
 *   2s     3       10        1          6 / 1   = 6          0 / 6 = 0
 *   2.5s   3       10        1          0 / 0.5 = 0          none: no attempts
 *   3s     3       13        2          3 / 0.5 = 6          1 / 3
 */
typedef struct {
    SimSeries *series;
    SimGauge in_use;
    SimCounter attempts;
    SimCounter failures;
} Example;

static void example_build(Example *ex)
{
    *ex = (Example){ .series = sim_series_new() };
    sim_series_add_gauge(ex->series, "pool.in_use", &ex->in_use);
    sim_series_add_counter(ex->series, "conn.attempts", &ex->attempts);
    sim_series_add_rate(ex->series, "conn.rate", &ex->attempts);
    sim_series_add_ratio(ex->series, "conn.fail_ratio", &ex->failures, &ex->attempts);
    sim_series_add_constant(ex->series, "capacity", 28232);

    sim_series_sample(ex->series, 0);
    sim_gauge_set(&ex->in_use, SIM_S / 2, 5);
    ex->attempts.value = 4;
    ex->failures.value = 1;
    sim_series_sample(ex->series, 1 * SIM_S);
    sim_gauge_set(&ex->in_use, 3 * SIM_S / 2, 3);
    ex->attempts.value = 10;
    sim_series_sample(ex->series, 2 * SIM_S);
    sim_series_sample(ex->series, 5 * SIM_S / 2);
    ex->attempts.value = 13;
    ex->failures.value = 2;
    sim_series_sample(ex->series, 3 * SIM_S);
}

START_TEST(test_series_values)
{
    Example ex;
    example_build(&ex);
    SimSeries *s = ex.series;
    ck_assert_uint_eq(sim_series_n_rows(s), 5);
    ck_assert_uint_eq(sim_series_n_columns(s), 5);
    ck_assert_str_eq(sim_series_column_name(s, 3), "conn.fail_ratio");
    ck_assert_int_eq(sim_series_find_column(s, "conn.rate"), 2);
    ck_assert_int_eq(sim_series_find_column(s, "capacity"), 4);
    ck_assert_int_eq(sim_series_find_column(s, "conn"), -1);
    ck_assert_int_eq(sim_series_row_time(s, 3), 5 * SIM_S / 2);

    const double in_use[] = { 0, 5, 3, 3, 3 };
    const double attempts[] = { 0, 4, 10, 10, 13 };
    const double rate[] = { 0, 4, 6, 0, 6 };
    for (guint r = 0; r < 5; r++) {
        ck_assert_double_eq(sim_series_value(s, r, 0), in_use[r]);
        ck_assert_double_eq(sim_series_value(s, r, 1), attempts[r]);
        ck_assert_double_eq_tol(sim_series_value(s, r, 2), rate[r], 1e-12);
        ck_assert_double_eq(sim_series_value(s, r, 4), 28232);
    }
    ck_assert(isnan(sim_series_value(s, 0, 3)));
    ck_assert_double_eq(sim_series_value(s, 1, 3), 0.25);
    ck_assert_double_eq(sim_series_value(s, 2, 3), 0.0);
    ck_assert(isnan(sim_series_value(s, 3, 3)));
    ck_assert_double_eq_tol(sim_series_value(s, 4, 3), 1.0 / 3.0, 1e-15);
    sim_series_free(s);
}
END_TEST

START_TEST(test_series_csv_text)
{
    Example ex;
    example_build(&ex);
    GString *csv = sim_series_to_csv(ex.series);
    ck_assert_str_eq(csv->str,
                     "time_s,pool.in_use,conn.attempts,conn.rate,conn.fail_ratio,capacity\n"
                     "0,0,0,0,,28232\n"
                     "1,5,4,4,0.25,28232\n"
                     "2,3,10,6,0,28232\n"
                     "2.5,3,10,0,,28232\n"
                     "3,3,13,6,0.3333333333,28232\n");
    g_string_free(csv, TRUE);
    sim_series_free(ex.series);
}
END_TEST

START_TEST(test_series_csv_formats_times_and_names)
{
    SimSeries *s = sim_series_new();
    SimCounter c = { 0 };
    sim_series_add_counter(s, "odd,name \"x\"", &c);
    sim_series_add_constant(s, "big", 123456789012.0); /* whole: printed exactly */
    sim_series_add_constant(s, "negative zero", -0.0);
    /* Times keep 10 significant digits; the first row is not at 0. */
    sim_series_sample(s, 1500 * SIM_MS + 1);
    c.value = -3;
    sim_series_sample(s, 3600 * SIM_S + 250 * SIM_MS);
    GString *csv = sim_series_to_csv(s);
    ck_assert_str_eq(csv->str, "time_s,\"odd,name \"\"x\"\"\",big,negative zero\n"
                               "1.500000001,0,123456789012,0\n"
                               "3600.25,-3,123456789012,0\n");
    g_string_free(csv, TRUE);
    sim_series_free(s);
}
END_TEST

START_TEST(test_series_first_rate_is_over_time_since_start)
{
    SimSeries *s = sim_series_new();
    SimCounter c = { .value = 30 };
    sim_series_add_rate(s, "rate", &c);
    /* No earlier row: the interval runs from the series start, time 0. */
    sim_series_sample(s, 2 * SIM_S);
    ck_assert_double_eq(sim_series_value(s, 0, 0), 15.0);
    c.value = 31;
    sim_series_sample(s, 2 * SIM_S + 250 * SIM_MS);
    ck_assert_double_eq(sim_series_value(s, 1, 0), 4.0);
    sim_series_free(s);
}
END_TEST

START_TEST(test_series_empty_csv_is_header_only)
{
    SimSeries *s = sim_series_new();
    SimGauge g = { 0 };
    sim_series_add_gauge(s, "g", &g);
    GString *csv = sim_series_to_csv(s);
    ck_assert_str_eq(csv->str, "time_s,g\n");
    g_string_free(csv, TRUE);
    sim_series_free(s);
}
END_TEST

START_TEST(test_series_rejects_column_after_rows)
{
    SimSeries *s = sim_series_new();
    sim_series_add_constant(s, "a", 1);
    sim_series_sample(s, 0);
    capture_criticals();
    sim_series_add_constant(s, "late", 2);
    release_criticals();
    ck_assert_int_eq(criticals_seen, 1);
    ck_assert_uint_eq(sim_series_n_columns(s), 1);
    ck_assert_int_eq(sim_series_find_column(s, "late"), -1);
    sim_series_free(s);
}
END_TEST

static Suite *stats_suite(void)
{
    Suite *s = suite_create("stats");
    TCase *registry = tcase_create("registry");
    tcase_add_test(registry, test_registry_returns_one_metric_per_name);
    tcase_add_test(registry, test_registry_pointers_stay_valid);
    suite_add_tcase(s, registry);

    TCase *gauges = tcase_create("gauges");
    tcase_add_test(gauges, test_gauge_time_weighted_mean);
    tcase_add_test(gauges, test_gauge_add_and_repeated_times);
    tcase_add_test(gauges, test_gauge_mean_at_start_is_current_value);
    tcase_add_test(gauges, test_gauge_max_and_when_first_reached);
    tcase_add_test(gauges, test_gauge_going_back_in_time_is_reported);
    suite_add_tcase(s, gauges);

    TCase *histograms = tcase_create("histograms");
    tcase_add_test(histograms, test_histogram_empty);
    tcase_add_test(histograms, test_histogram_exact_moments);
    tcase_add_test(histograms, test_histogram_zeros);
    tcase_add_test(histograms, test_histogram_quantiles_match_sorted_sample);
    tcase_add_test(histograms, test_histogram_rejects_negative_and_nan);
    suite_add_tcase(s, histograms);

    TCase *series = tcase_create("series");
    tcase_add_test(series, test_series_values);
    tcase_add_test(series, test_series_csv_text);
    tcase_add_test(series, test_series_csv_formats_times_and_names);
    tcase_add_test(series, test_series_first_rate_is_over_time_since_start);
    tcase_add_test(series, test_series_empty_csv_is_header_only);
    tcase_add_test(series, test_series_rejects_column_after_rows);
    suite_add_tcase(s, series);
    return s;
}

PS_TEST_MAIN(stats_suite)
