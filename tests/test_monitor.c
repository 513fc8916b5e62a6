/* [monitor]: when a utilization alert fires on a pool and its lead time
 * before the first failure, exact in a case worked out by hand. */
#include <math.h>
#include <string.h>

#include "keys.h"
#include "network_internal.h"
#include "run.h"
#include "test_util.h"

/* 100 ports, 5 connections/s from 0 s, hold 0, TIME_WAIT 60 s exactly: the
 * n-th connection (at (n - 1) x 0.2 s) takes the n-th port, none comes back
 * before 60 s. 80% is reached by the 80th at 15.8 s, 50% by the 50th at
 * 9.8 s; the 101st, at 20 s, fails: lead times 4.2 s and 10.2 s. */
#define INI                                                                          \
    "[scenario]\nduration = 30s\n"                                                   \
    "[host c]\naddresses = 10.0.0.1\nephemeral_range = 40000-40099\n"                \
    "time_wait_granularity = 0s\n"                                                   \
    "[server s]\naddresses = 10.0.0.9\nports = 80\n"                                 \
    "[workload w]\nhost = c\ntarget = s\nrate = 5/s\n"                               \
    "[monitor high]\nhost = c\n"                                                     \
    "[monitor half]\nhost = c\nutilization = 0.5\n"

START_TEST(alert_and_lead_time)
{
    SimSchema *schema = ps_schema_new();
    GError *error = NULL;
    SimScenario *sc = sim_scenario_load_data(schema, INI, "t.ini", NULL, &error);
    ck_assert_msg(sc != NULL, "%s", error ? error->message : "?");
    PsRun *run = ps_run_new(sc, 0, &error);
    ck_assert_msg(run != NULL, "%s", error ? error->message : "?");
    ck_assert(ps_run_execute(run));
    JsonNode *sum = ps_run_summary(run);
    JsonArray *mons = json_object_get_array_member(json_node_get_object(sum), "monitors");
    ck_assert_uint_eq(json_array_get_length(mons), 2);
    const double alert[] = {15.8, 9.8}, lead[] = {4.2, 10.2};
    for (guint i = 0; i < 2; i++) {
        JsonObject *m = json_array_get_object_element(mons, i);
        ck_assert_double_eq_tol(json_object_get_double_member(m, "first_alert_s"), alert[i], 1e-9);
        ck_assert_double_eq_tol(json_object_get_double_member(m, "first_failure_s"), 20, 1e-9);
        ck_assert_double_eq_tol(json_object_get_double_member(m, "lead_time_s"), lead[i], 1e-9);
        JsonArray *alerts = json_object_get_array_member(m, "alerts");
        ck_assert_uint_eq(json_array_get_length(alerts), 1); /* once per pool */
    }
    json_node_unref(sum);
    /* The exhaustion plot marks the alerts. */
    GPtrArray *targets = ps_network_plot_targets(ps_run_network(run));
    const PsPlotTarget *t = targets->pdata[0];
    guint found = 0;
    for (guint i = 0; i < t->mark_times->len; i++)
        if (fabs(g_array_index(t->mark_times, double, i) - 15.8) < 1e-9 &&
            strstr(t->mark_labels->pdata[i], "alert high"))
            found++;
    ck_assert_uint_eq(found, 1);
    g_ptr_array_free(targets, TRUE);
    ps_run_free(run);
    sim_scenario_free(sc);

    /* A monitor that never fires, on a host that never fails: nulls. */
    const char *ov[] = {"workload.w.rate=1/s", NULL};
    sc = sim_scenario_load_data(schema, INI, "t.ini", ov, &error);
    run = ps_run_new(sc, 0, &error);
    ck_assert(ps_run_execute(run));
    sum = ps_run_summary(run);
    JsonObject *m = json_array_get_object_element(
        json_object_get_array_member(json_node_get_object(sum), "monitors"), 0);
    ck_assert(json_object_get_null_member(m, "first_alert_s"));
    ck_assert(json_object_get_null_member(m, "lead_time_s"));
    json_node_unref(sum);
    ps_run_free(run);
    sim_scenario_free(sc);
    sim_schema_free(schema);
}
END_TEST

static Suite *monitor_suite(void)
{
    Suite *s = suite_create("monitor");
    TCase *tc = tcase_create("alerts");
    tcase_add_test(tc, alert_and_lead_time);
    suite_add_tcase(s, tc);
    return s;
}

PS_TEST_MAIN(monitor_suite)
