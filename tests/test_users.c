/* Demand: retry policies (amplification against closed forms, the
 * exponential back-off's waits) and closed-loop users (request counts
 * exact for constant think and hold, the per-user concurrency bound). */
#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "keys.h"
#include "network_internal.h"
#include "run.h"
#include "test_util.h"
#include "trace_log.h"

static SimSchema *schema;

static void setup(void) { schema = ps_schema_new(); }
static void teardown(void) { sim_schema_free(schema); }

typedef struct {
    SimScenario *sc;
    PsRun *run;
} Ran;

static Ran run_text(const char *ini, const char *const *ov, PsTraceLog *trace)
{
    GError *error = NULL;
    Ran r;
    r.sc = sim_scenario_load_data(schema, ini, "t.ini", ov, &error);
    ck_assert_msg(r.sc != NULL, "%s", error ? error->message : "?");
    r.run = ps_run_new(r.sc, 0, &error);
    ck_assert_msg(r.run != NULL, "%s", error ? error->message : "?");
    if (trace)
        ps_network_set_trace(ps_run_network(r.run), trace);
    ck_assert(ps_run_execute(r.run));
    ck_assert_uint_eq(ps_network_live_connections(ps_run_network(r.run)), 0);
    return r;
}

static void ran_free(Ran *r)
{
    ps_run_free(r->run);
    sim_scenario_free(r->sc);
}

static gint64 count(Ran *r, const char *name)
{
    return sim_stats_counter(sim_engine_stats(ps_run_engine(r->run)), name)->value;
}

/* One port, taken at 0 s for an hour by `hog`: every attempt of `w` fails
 * with EADDRNOTAVAIL at once. */
#define SATURATED                                                                   \
    "[scenario]\nduration = 10s\n"                                                  \
    "[host c]\naddresses = 10.0.0.1\nephemeral_range = 40000-40000\n"               \
    "[server s]\naddresses = 10.0.0.9\nports = 80\n"                                \
    "[workload hog]\nhost = c\ntarget = s\nrate = 1/s\nstop = 1ms\nhold = const(1h)\n" \
    "[workload w]\nhost = c\ntarget = s\nrate = 10/s\nstart = 1s\n"

/* Saturated pool, immediate retries up to k attempts: every request fails
 * every attempt, so attempts = k x requests exactly (amplification k), and
 * every request gives up. 90 requests in [1 s, 10 s) at 10/s. */
START_TEST(saturated_immediate_amplification)
{
    for (int k = 1; k <= 5; k++) {
        g_autofree char *ma = g_strdup_printf("workload.w.max_attempts=%d", k);
        const char *ov[] = {"workload.w.retry=immediate", ma, NULL};
        Ran r = run_text(SATURATED, ov, NULL);
        ck_assert_int_eq(count(&r, "w.offered"), 90);
        ck_assert_int_eq(count(&r, "w.retried"), 90 * (k - 1));
        ck_assert_int_eq(count(&r, "w.attempts"), 90 * k);
        ck_assert_int_eq(count(&r, "w.gave_up"), 90);
        JsonNode *sum = ps_run_summary(r.run);
        JsonObject *w = json_array_get_object_element(
            json_object_get_array_member(json_node_get_object(sum), "workloads"), 1);
        ck_assert_double_eq_tol(json_object_get_double_member(w, "amplification"), k, 1e-12);
        ck_assert_int_eq(json_object_get_int_member(w, "unique_demand"), 90);
        json_node_unref(sum);
        ran_free(&r);
    }
    /* retry = none: max_attempts does not matter. */
    const char *none[] = {"workload.w.max_attempts=5", NULL};
    Ran r = run_text(SATURATED, none, NULL);
    ck_assert_int_eq(count(&r, "w.retried"), 0);
    ran_free(&r);
}
END_TEST

/* exponential(1s, 4s, 0): waits 1, 2, 4, 4 s after failures 1..4, so one
 * request at 1 s fails at 1, 2, 4, 8 and 12 s (read from the trace). */
START_TEST(exponential_backoff_waits)
{
    g_autofree char *dir = g_dir_make_tmp("portsim-users-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "trace.txt", NULL);
    PsTraceLog *log = ps_trace_log_open(path, NULL, NULL);
    ck_assert_ptr_nonnull(log);
    const char *ov[] = {"scenario.duration=60s", "workload.w.stop=1001ms",
                        "workload.w.retry=exponential(1s, 4s, 0)", "workload.w.max_attempts=5",
                        NULL};
    Ran r = run_text(SATURATED, ov, log);
    ck_assert(ps_trace_log_close(log, NULL));
    ck_assert_int_eq(count(&r, "w.attempts"), 5);
    gchar *text;
    ck_assert(g_file_get_contents(path, &text, NULL, NULL));
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    g_free(text);
    static const double expect[] = {1, 2, 4, 8, 12};
    guint n = 0;
    for (guint i = 0; lines[i]; i++) {
        if (!strstr(lines[i], "EADDRNOTAVAIL"))
            continue;
        ck_assert_uint_lt(n, G_N_ELEMENTS(expect));
        ck_assert_double_eq_tol(g_ascii_strtod(lines[i], NULL), expect[n], 1e-9);
        n++;
    }
    ck_assert_uint_eq(n, 5);
    ran_free(&r);
    g_unlink(path);
    g_rmdir(dir);
}
END_TEST

/* Loss makes each attempt fail independently with f = (1 - q)^3, q =
 * (1 - loss)^2 (3 SYNs with tcp_syn_retries = 1). Immediate retries up to
 * k attempts: attempts per request A = 1 + f + ... + f^(k-1), and a request
 * gives up with f^k. loss 0.5, k 3: f = 0.421875, E[A] = 1.6000. With
 * 6,000 requests the mean of A has sd sqrt(Var A / 6000), Var A computed
 * below: we allow 4 sd. */
START_TEST(lossy_retry_amplification)
{
    const char *ini = "[scenario]\nduration = 12s\n"
                      "[host c]\naddresses = 10.0.0.1\nlinger0 = true\ntcp_syn_retries = 1\n"
                      "[server s]\naddresses = 10.0.0.9\nports = 80\n"
                      "[workload w]\nhost = c\ntarget = s\nrate = 1000/s\ndelay = 1ms\n"
                      "loss = 0.5\nretry = immediate\nmax_attempts = 3\n";
    /* Retries end with the run: requests start in [0, 3 s), so every
     * retry (at most 2 x 3 s later) lands before 12 s. */
    const char *ov[] = {"workload.w.stop=3s", NULL};
    Ran r = run_text(ini, ov, NULL);
    double f = pow(1 - 0.25, 3), k = 3;
    double ea = 0, ea2 = 0;
    for (int j = 1; j <= k; j++) {
        /* P(A = j) = f^(j-1) (1 - f) for j < k, f^(k-1) for j = k. */
        double p = j < k ? pow(f, j - 1) * (1 - f) : pow(f, k - 1);
        ea += j * p, ea2 += j * j * p;
    }
    double n = (double)count(&r, "w.offered");
    ck_assert_double_eq(n, 3000);
    double sd = sqrt((ea2 - ea * ea) / n);
    double got = count(&r, "w.attempts") / n;
    ck_assert_msg(fabs(got - ea) < 4 * sd, "amplification %.4f, expected %.4f +- %.4f", got, ea,
                  4 * sd);
    double gave = count(&r, "w.gave_up") / n, pg = pow(f, k);
    ck_assert_msg(fabs(gave - pg) < 4 * sqrt(pg * (1 - pg) / n), "gave up %.4f vs %.4f", gave, pg);
    ran_free(&r);
}
END_TEST

/* Closed loop, think const(1s), hold const(1s), no delay: a loop requests
 * at 1, 3, 5, ... 99 s: 50 requests each in 100 s. 10 users x 3 loops keep
 * at most 30 connections open. */
START_TEST(closed_loop_exact)
{
    const char *ini = "[scenario]\nduration = 100s\n"
                      "[host c]\naddresses = 10.0.0.1\n"
                      "[server s]\naddresses = 10.0.0.9\nports = 80\n"
                      "[workload w]\nhost = c\ntarget = s\nusers = 10\nthink = const(1s)\n"
                      "hold = const(1s)\n";
    Ran r = run_text(ini, NULL, NULL);
    ck_assert_int_eq(count(&r, "w.offered"), 500);
    ck_assert_int_eq(count(&r, "w.successes"), 500);
    ran_free(&r);
    const char *three[] = {"workload.w.max_connections_per_user=3", NULL};
    r = run_text(ini, three, NULL);
    ck_assert_int_eq(count(&r, "w.offered"), 1500);
    ck_assert_int_eq(sim_stats_gauge(sim_engine_stats(ps_run_engine(r.run)), "w.active")->max,
                     30);
    ran_free(&r);
    /* Think 0 would spin without time passing: refused, naming the key. */
    const char *spin[] = {"workload.w.think=0s", NULL};
    GError *error = NULL;
    SimScenario *sc = sim_scenario_load_data(schema, ini, "t.ini", spin, &error);
    if (sc) {
        ck_assert_ptr_null(ps_run_new(sc, 0, &error));
        ck_assert_ptr_nonnull(strstr(error->message, "think"));
        sim_scenario_free(sc);
    }
    g_clear_error(&error);
}
END_TEST

/* Bad policies name the key. */
START_TEST(retry_policy_errors)
{
    const char *bad[] = {"sometimes", "fixed()", "fixed(2)", "exponential(1s, 2s)",
                         "exponential(3s, 2s, 0.1)", "exponential(1s, 2s, 1.5)", "fixed(1s"};
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *o = g_strdup_printf("workload.w.retry=%s", bad[i]);
        const char *ov[] = {o, NULL};
        GError *error = NULL;
        SimScenario *sc = sim_scenario_load_data(schema, SATURATED, "t.ini", ov, &error);
        ck_assert_ptr_nonnull(sc);
        ck_assert_ptr_null(ps_run_new(sc, 0, &error));
        ck_assert_msg(strstr(error->message, "workload.w.retry") && strstr(error->message, bad[i]),
                      "%s", error->message);
        g_error_free(error);
        sim_scenario_free(sc);
    }
}
END_TEST

/* scenarios/retry-storm.ini as its comment says: immediate retries rescue
 * nobody (the same requests give up as with retry = none), so the
 * amplification is exactly 1 + 4 x gave_up / offered, about 2.6. */
START_TEST(retry_storm_scenario)
{
    g_autofree char *path =
        g_build_filename(g_getenv("PORTSIM_SOURCE_ROOT"), "scenarios", "retry-storm.ini", NULL);
    gint64 gave[2], offered = 0, retried = 0;
    for (int k = 0; k < 2; k++) {
        const char *none[] = {"workload.api.retry=none", NULL};
        GError *error = NULL;
        SimScenario *sc = sim_scenario_load_file(schema, path, k ? none : NULL, &error);
        ck_assert_msg(sc != NULL, "%s", error ? error->message : "?");
        PsRun *run = ps_run_new(sc, 0, &error);
        ck_assert(ps_run_execute(run));
        Ran r = {sc, run};
        gave[k] = count(&r, "api.gave_up");
        if (k == 0)
            offered = count(&r, "api.offered"), retried = count(&r, "api.retried");
        ran_free(&r);
    }
    ck_assert_int_eq(gave[0], gave[1]);
    ck_assert_int_eq(retried, 4 * gave[0]);
    double amp = (double)(offered + retried) / offered;
    ck_assert_msg(amp > 2.3 && amp < 2.9, "amplification %.3f", amp);
}
END_TEST

static Suite *users_suite(void)
{
    Suite *s = suite_create("users");
    TCase *tc = tcase_create("demand");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, saturated_immediate_amplification);
    tcase_add_test(tc, exponential_backoff_waits);
    tcase_add_test(tc, lossy_retry_amplification);
    tcase_add_test(tc, closed_loop_exact);
    tcase_add_test(tc, retry_policy_errors);
    tcase_add_test(tc, retry_storm_scenario);
    suite_add_tcase(s, tc);
    return s;
}

PS_TEST_MAIN(users_suite)
