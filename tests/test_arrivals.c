/* Arrival processes beyond constant and Poisson: diurnal (mean and peak
 * time), on/off bursts (mean and burstiness), trace replay (exact to the
 * nanosecond, destinations, holds, CSV errors) and rate_scale. */
#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "arrival.h"
#include "keys.h"
#include "network_internal.h"
#include "run.h"
#include "sim_error.h"
#include "test_util.h"

static SimRng seeded(const char *name)
{
    SimRng r;
    sim_rng_seed(&r, 7, name, 0);
    return r;
}

/* rate 1000/s at the peak, 200/s at the trough, a 100 s period peaking at
 * 25 s, over 10 whole periods: 600,000 arrivals expected. A Poisson count
 * has sd sqrt(600000) = 775: 4 sd = 3,100. The peak: the arrivals' circular
 * mean phase points at it; its sd is about 1 / (rho sqrt(2N)) rad with
 * rho = 400 / 600 / 2 = 1/3, i.e. 0.003 rad = 0.04 s: 0.3 s is 7 sd. */
START_TEST(diurnal_mean_and_peak)
{
    SimRng rng = seeded("diurnal");
    PsArrival *a =
        ps_arrival_new_diurnal(200, 1000, 100 * SIM_S, 25 * SIM_S, 0, 1000 * SIM_S, &rng);
    ck_assert_double_eq_tol(ps_arrival_expected(a), 600000, 1e-6);
    double n = 0, c = 0, s = 0;
    SimTime prev = 0, t;
    while ((t = ps_arrival_next(a)) != SIM_TIME_NEVER) {
        if (t < prev || t >= 1000 * SIM_S)
            ck_abort_msg("arrival out of order or window");
        prev = t;
        double ph = 2 * G_PI * sim_time_to_seconds(t) / 100.0;
        c += cos(ph), s += sin(ph), n++;
    }
    ck_assert_msg(fabs(n - 600000) < 3100, "%.0f arrivals", n);
    double peak = fmod(atan2(s, c) / (2 * G_PI) * 100.0 + 100.0, 100.0);
    ck_assert_msg(fabs(peak - 25.0) < 0.3, "peak at %.3f s", peak);
    ps_arrival_free(a);

    /* A partial window: the closed form against a midpoint sum. */
    rng = seeded("diurnal2");
    a = ps_arrival_new_diurnal(200, 1000, 100 * SIM_S, 25 * SIM_S, 10 * SIM_S, 47 * SIM_S, &rng);
    double sum = 0;
    for (int i = 0; i < 37000; i++) {
        double x = 10 + (i + 0.5) / 1000.0;
        sum += (200 + 800 * 0.5 * (1 + cos(2 * G_PI * (x - 25) / 100))) / 1000.0;
    }
    ck_assert_double_eq_tol(ps_arrival_expected(a), sum, 1e-3);
    ps_arrival_free(a);
}
END_TEST

/* on_rate 1000/s, on 20 ms, off 60 ms: mean rate 250/s, 500,000 arrivals
 * in 2000 s. The count's sd is dominated by the on-time total: per cycle
 * Var(on - 1/4 cycle) = (3/4)^2 0.02^2 + (1/4)^2 0.06^2 = 4.5e-4 s^2, over
 * 25,000 cycles 11.25 s^2, sd 3.4 s, i.e. 3,400 arrivals (plus the Poisson
 * 700): 15,000 is over 4 sd. Burstiness: counts in 10 ms windows have a
 * variance far above their mean (a Poisson process has ratio 1). */
START_TEST(onoff_mean_and_bursts)
{
    SimRng rng = seeded("onoff");
    PsArrival *a = ps_arrival_new_onoff(1000, 20 * SIM_MS, 60 * SIM_MS, 0, 2000 * SIM_S, &rng);
    ck_assert_double_eq_tol(ps_arrival_expected(a), 500000, 1e-6);
    guint *bins = g_new0(guint, 200000);
    double n = 0;
    SimTime t, prev = 0;
    while ((t = ps_arrival_next(a)) != SIM_TIME_NEVER) {
        if (t < prev)
            ck_abort_msg("out of order");
        prev = t;
        bins[t / (10 * SIM_MS)]++;
        n++;
    }
    ck_assert_msg(fabs(n - 500000) < 15000, "%.0f arrivals", n);
    double mean = n / 200000, var = 0;
    for (int i = 0; i < 200000; i++)
        var += (bins[i] - mean) * (bins[i] - mean);
    var /= 200000;
    ck_assert_msg(var / mean > 3, "dispersion %.2f: not bursty", var / mean);
    g_free(bins);
    ps_arrival_free(a);
}
END_TEST

static SimSchema *schema;
static GArray *takes;
static GArray *take_ports;
static GArray *releases;
static PsRun *current;

static void observe(void *data, const PsPortEvent *ev)
{
    (void)data;
    SimTime t = sim_engine_now(ps_run_engine(current));
    if (ev->take) {
        g_array_append_val(takes, t);
        guint16 p = ev->remote_port;
        g_array_append_val(take_ports, p);
    } else {
        g_array_append_val(releases, t);
    }
}

/* Writes the scenario and the CSV into a fresh folder and loads it. */
static SimScenario *load_with_csv(const char *ini, const char *csv, char **dir_out,
                                  GError **error)
{
    char *dir = g_dir_make_tmp("portsim-trace-XXXXXX", NULL);
    g_autofree char *sc = g_build_filename(dir, "t.ini", NULL);
    g_autofree char *tr = g_build_filename(dir, "trace.csv", NULL);
    ck_assert(g_file_set_contents(sc, ini, -1, NULL));
    ck_assert(g_file_set_contents(tr, csv, -1, NULL));
    *dir_out = dir;
    return sim_scenario_load_file(schema, sc, NULL, error);
}

static void remove_dir(char *dir)
{
    g_autofree char *sc = g_build_filename(dir, "t.ini", NULL);
    g_autofree char *tr = g_build_filename(dir, "trace.csv", NULL);
    g_unlink(sc);
    g_unlink(tr);
    g_rmdir(dir);
    g_free(dir);
}

#define TRACE_INI                                                                   \
    "[scenario]\nduration = 10s\n"                                                  \
    "[host c]\naddresses = 10.0.0.1\ntime_wait = 0s\ntime_wait_granularity = 0s\n"  \
    "[server s]\naddresses = 10.0.0.9\nports = 80-81\n"                             \
    "[workload w]\nhost = c\ntarget = s\narrival = trace\ntrace_file = trace.csv\n" \
    "hold = const(1s)\n"

/* Every row opens its connection at exactly its time (observed when the port
 * is taken), toward its destination, held for its hold; rows at or past the
 * duration are not replayed. */
START_TEST(trace_replay_exact)
{
    const char *csv = "time,destination,hold\n"
                      "# a comment\n"
                      "0.000000001\n"
                      "1.5,1\n"
                      "2.123456789,0,250ms\n"
                      "2.123456789,,0.000000007\n"
                      "9.999999999,1\n"
                      "10\n";
    char *dir;
    GError *error = NULL;
    SimScenario *sc = load_with_csv(TRACE_INI, csv, &dir, &error);
    ck_assert_msg(sc != NULL, "%s", error ? error->message : "?");
    PsRun *run = ps_run_new(sc, 0, &error);
    ck_assert_msg(run != NULL, "%s", error ? error->message : "?");
    takes = g_array_new(FALSE, FALSE, sizeof(SimTime));
    take_ports = g_array_new(FALSE, FALSE, sizeof(guint16));
    releases = g_array_new(FALSE, FALSE, sizeof(SimTime));
    current = run;
    ps_network_set_port_observer(ps_run_network(run), observe, NULL);
    ck_assert(ps_run_execute(run));
    static const SimTime at[] = {1, 1500000000, 2123456789, 2123456789, 9999999999};
    static const guint16 port[] = {80, 81, 80, 81, 81}; /* empty: in turn */
    ck_assert_uint_eq(takes->len, G_N_ELEMENTS(at));
    for (guint i = 0; i < G_N_ELEMENTS(at); i++) {
        ck_assert_int_eq(g_array_index(takes, SimTime, i), at[i]);
        ck_assert_uint_eq(g_array_index(take_ports, guint16, i), port[i]);
    }
    /* Releases in time order (delay 0, time_wait 0: release = open + hold):
     * const(1s), 7 ns, 250 ms, const(1s). */
    ck_assert_int_eq(g_array_index(releases, SimTime, 0), 1 + SIM_S);
    ck_assert_int_eq(g_array_index(releases, SimTime, 1), 2123456789 + 7);
    ck_assert_int_eq(g_array_index(releases, SimTime, 2), 2123456789 + 250 * SIM_MS);
    ck_assert_int_eq(g_array_index(releases, SimTime, 3), 2500000000);
    JsonNode *sum = ps_run_summary(run);
    JsonObject *w = json_array_get_object_element(
        json_object_get_array_member(json_node_get_object(sum), "workloads"), 0);
    ck_assert_double_eq(json_object_get_double_member(w, "expected_attempts"), 5);
    json_node_unref(sum);
    g_array_free(takes, TRUE);
    g_array_free(take_ports, TRUE);
    g_array_free(releases, TRUE);
    ps_run_free(run);
    sim_scenario_free(sc);
    remove_dir(dir);
}
END_TEST

/* A bad row names the CSV and its line; so does a destination past the
 * target's endpoints. */
START_TEST(trace_errors_name_csv_line)
{
    const struct {
        const char *csv, *needle;
    } cases[] = {
        {"1\n2\nsoon\n", "trace.csv:3: time"},
        {"1\n0.5\n", "trace.csv:2: times must not decrease"},
        {"# c\n1,2\n", "trace.csv:2: destination 2, but the target has 2 endpoints"},
        {"1,x\n", "trace.csv:1: destination"},
        {"1,0,forever\n", "trace.csv:1: hold"},
        {"1.0000000001\n", "trace.csv:1: time"},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        char *dir;
        GError *error = NULL;
        SimScenario *sc = load_with_csv(TRACE_INI, cases[i].csv, &dir, &error);
        ck_assert_msg(sc != NULL, "%s", error ? error->message : "?");
        PsRun *run = ps_run_new(sc, 0, &error);
        ck_assert_ptr_null(run);
        ck_assert(g_error_matches(error, SIM_ERROR, SIM_ERROR_INPUT));
        ck_assert_msg(strstr(error->message, cases[i].needle) &&
                          strstr(error->message, "trace_file"),
                      "case %u: %s", i, error->message);
        g_error_free(error);
        sim_scenario_free(sc);
        remove_dir(dir);
    }
    /* A missing file. */
    char *dir;
    GError *error = NULL;
    const char *ini = "[scenario]\nduration = 1s\n[host c]\naddresses = 10.0.0.1\n"
                      "[server s]\naddresses = 10.0.0.9\nports = 80\n"
                      "[workload w]\nhost = c\ntarget = s\narrival = trace\n"
                      "trace_file = nowhere.csv\n";
    SimScenario *sc = load_with_csv(ini, "", &dir, &error);
    PsRun *run = ps_run_new(sc, 0, &error);
    ck_assert_ptr_null(run);
    ck_assert_ptr_nonnull(strstr(error->message, "nowhere.csv"));
    g_error_free(error);
    sim_scenario_free(sc);
    remove_dir(dir);
}
END_TEST

static gint64 attempts_of(const char *ini, const char *const *ov)
{
    GError *error = NULL;
    SimScenario *sc = sim_scenario_load_data(schema, ini, "t.ini", ov, &error);
    ck_assert_msg(sc != NULL, "%s", error ? error->message : "?");
    PsRun *run = ps_run_new(sc, 0, &error);
    ck_assert_msg(run != NULL, "%s", error ? error->message : "?");
    ck_assert(ps_run_execute(run));
    PsTotals t;
    ps_network_totals(ps_run_network(run), &t);
    ps_run_free(run);
    sim_scenario_free(sc);
    return (gint64)t.attempts;
}

/* rate_scale multiplies every process: paced 100/s becomes exactly 250 in
 * 1 s; a schedule's rates scale too; a diurnal process's expected count
 * scales (its draws are Poisson: within 4 sd). */
START_TEST(rate_scale_multiplies)
{
    const char *ini = "[scenario]\nduration = 1s\n[host c]\naddresses = 10.0.0.1\n"
                      "[server s]\naddresses = 10.0.0.9\nports = 80\n"
                      "[workload w]\nhost = c\ntarget = s\nrate = 100/s\n";
    const char *x25[] = {"workload.w.rate_scale=2.5", NULL};
    ck_assert_int_eq(attempts_of(ini, NULL), 100);
    ck_assert_int_eq(attempts_of(ini, x25), 250);
    const char *sched[] = {"workload.w.arrival=schedule", "workload.w.schedule=0s 100/s, 1s 300/s",
                           "workload.w.rate_scale=2", NULL};
    /* 2 x the mean 200/s; paced from 0 s, so the 400th unit may land
     * just inside the second. */
    gint64 ns = attempts_of(ini, sched);
    ck_assert_msg(ns == 400 || ns == 401, "%" G_GINT64_FORMAT, ns);
    const char *di[] = {"workload.w.arrival=diurnal", "workload.w.period=1s",
                        "workload.w.rate=2000/s", "workload.w.rate_min=0/s",
                        "workload.w.rate_scale=3", NULL};
    gint64 n = attempts_of(ini, di); /* mean 3 x 1000 over one period: sd 55 */
    ck_assert_msg(llabs(n - 3000) < 220, "%" G_GINT64_FORMAT " attempts", n);
    const char *bad[] = {"workload.w.arrival=diurnal", "workload.w.rate_min=5k/s", NULL};
    GError *error = NULL;
    SimScenario *sc = sim_scenario_load_data(schema, ini, "t.ini", bad, &error);
    ck_assert_ptr_null(ps_run_new(sc, 0, &error));
    ck_assert_ptr_nonnull(strstr(error->message, "rate_min"));
    g_error_free(error);
    sim_scenario_free(sc);
}
END_TEST

static void setup(void) { schema = ps_schema_new(); }
static void teardown(void) { sim_schema_free(schema); }

static Suite *arrivals_suite(void)
{
    Suite *s = suite_create("arrivals");
    TCase *tc = tcase_create("processes");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, diurnal_mean_and_peak);
    tcase_add_test(tc, onoff_mean_and_bursts);
    tcase_add_test(tc, trace_replay_exact);
    tcase_add_test(tc, trace_errors_name_csv_line);
    tcase_add_test(tc, rate_scale_multiplies);
    suite_add_tcase(s, tc);
    return s;
}

PS_TEST_MAIN(arrivals_suite)
