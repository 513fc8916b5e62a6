/* [timeline]: changes take effect at their instant (arrivals, host and
 * workload keys), show on the plots and in summary.json, and bad changes
 * name their line. */
#include <math.h>
#include <string.h>

#include "keys.h"
#include "network_internal.h"
#include "run.h"
#include "test_util.h"

static SimSchema *schema;
static GArray *takes;
static PsRun *current;

static void setup(void) { schema = ps_schema_new(); }
static void teardown(void) { sim_schema_free(schema); }

static void observe(void *data, const PsPortEvent *ev)
{
    (void)data;
    if (!ev->take)
        return;
    SimTime t = sim_engine_now(ps_run_engine(current));
    g_array_append_val(takes, t);
}

/* 10/s paced, hold 0, delay 0: 50 connections in [0, 5 s). At 5 s the rate
 * doubles (the process restarts at 5 s: 100 more, 50 ms apart); at 7 s the
 * host closes with RST (linger0): connections from 7 s on skip TIME_WAIT,
 * so TIME_WAIT peaks at the 90 opened before 7 s, not 150. */
#define INI                                                                   \
    "[scenario]\nduration = 10s\n"                                            \
    "[host c]\naddresses = 10.0.0.1\n"                                        \
    "[server s]\naddresses = 10.0.0.9\nports = 80\n"                          \
    "[workload w]\nhost = c\ntarget = s\nrate = 10/s\n"                       \
    "[timeline]\n7s = host.c.linger0=true\n5s = workload.w.rate=20/s\n"

START_TEST(changes_at_their_instant)
{
    GError *error = NULL;
    SimScenario *sc = sim_scenario_load_data(schema, INI, "t.ini", NULL, &error);
    ck_assert_msg(sc != NULL, "%s", error ? error->message : "?");
    PsRun *run = ps_run_new(sc, 0, &error);
    ck_assert_msg(run != NULL, "%s", error ? error->message : "?");
    takes = g_array_new(FALSE, FALSE, sizeof(SimTime));
    current = run;
    ps_network_set_port_observer(ps_run_network(run), observe, NULL);
    ck_assert(ps_run_execute(run));
    ck_assert_uint_eq(takes->len, 150);
    ck_assert_int_eq(g_array_index(takes, SimTime, 49), 4900 * SIM_MS);
    ck_assert_int_eq(g_array_index(takes, SimTime, 50), 5000 * SIM_MS);
    ck_assert_int_eq(g_array_index(takes, SimTime, 51), 5050 * SIM_MS);
    SimStats *st = sim_engine_stats(ps_run_engine(run));
    ck_assert_int_eq(sim_stats_gauge(st, "c.time_wait")->max, 90);
    /* Summary (in time order) and plot marks. */
    JsonNode *sum = ps_run_summary(run);
    JsonArray *tl = json_object_get_array_member(json_node_get_object(sum), "timeline");
    ck_assert_uint_eq(json_array_get_length(tl), 2);
    JsonObject *first = json_array_get_object_element(tl, 0);
    ck_assert_double_eq(json_object_get_double_member(first, "at_s"), 5);
    ck_assert_str_eq(json_object_get_string_member(first, "change"), "workload.w.rate=20/s");
    json_node_unref(sum);
    GPtrArray *targets = ps_network_plot_targets(ps_run_network(run));
    const PsPlotTarget *t = targets->pdata[0];
    guint found = 0;
    for (guint i = 0; i < t->mark_times->len; i++)
        found += (g_array_index(t->mark_times, double, i) == 7.0 &&
                  strcmp(t->mark_labels->pdata[i], "host.c.linger0=true") == 0) ||
                 (g_array_index(t->mark_times, double, i) == 5.0 &&
                  strcmp(t->mark_labels->pdata[i], "workload.w.rate=20/s") == 0);
    ck_assert_uint_eq(found, 2);
    g_ptr_array_free(targets, TRUE);
    g_array_free(takes, TRUE);
    ps_run_free(run);
    sim_scenario_free(sc);
}
END_TEST

/* loss = 1 from 5 s (3 SYNs, tcp_syn_retries 1): exactly the 50 attempts
 * from 5 s on time out; changes accumulate (the rate change at 2 s stays). */
START_TEST(workload_link_change)
{
    const char *ini = "[scenario]\nduration = 10s\n"
                      "[host c]\naddresses = 10.0.0.1\ntcp_syn_retries = 1\n"
                      "[server s]\naddresses = 10.0.0.9\nports = 80\n"
                      "[workload w]\nhost = c\ntarget = s\nrate = 5/s\n"
                      "[timeline]\n2s = workload.w.rate=10/s\n5s = workload.w.loss=1\n";
    GError *error = NULL;
    SimScenario *sc = sim_scenario_load_data(schema, ini, "t.ini", NULL, &error);
    PsRun *run = ps_run_new(sc, 0, &error);
    ck_assert_msg(run != NULL, "%s", error ? error->message : "?");
    ck_assert(ps_run_execute(run));
    PsTotals tot;
    ps_network_totals(ps_run_network(run), &tot);
    ck_assert_uint_eq(tot.attempts, 10 + 80);
    ck_assert_uint_eq(tot.by_reason[PS_FAIL_ETIMEDOUT], 50);
    ps_run_free(run);
    sim_scenario_free(sc);
}
END_TEST

START_TEST(bad_changes_name_the_line)
{
    const struct {
        const char *line, *needle;
    } cases[] = {
        {"5s = host.c.addresses=10.0.0.2", "t.ini:7: [timeline] 5s: host.addresses cannot change"},
        {"5s = workload.w.rate=fast", "workload.w.rate=fast"},
        {"5s = workload.nobody.rate=1/s", "no [host nobody] or [workload nobody]"},
        {"5s = workload.w.retry=sometimes", "retry"},
        {"soon = workload.w.rate=1/s", "time of the change"},
        {"5s = rate=1/s", "KIND.NAME.KEY=VALUE"},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *ini = g_strdup_printf(
            "[host c]\naddresses = 10.0.0.1\n[server s]\naddresses = 10.0.0.9\nports = 80\n"
            "[timeline]\n%s\n[workload w]\nhost = c\ntarget = s\n",
            cases[i].line);
        GError *error = NULL;
        SimScenario *sc = sim_scenario_load_data(schema, ini, "t.ini", NULL, &error);
        PsRun *run = sc ? ps_run_new(sc, 0, &error) : NULL;
        ck_assert_ptr_null(run);
        ck_assert_msg(error && strstr(error->message, cases[i].needle), "case %u: %s", i,
                      error ? error->message : "no error");
        g_error_free(error);
        if (sc)
            sim_scenario_free(sc);
    }
}
END_TEST

static Suite *timeline_suite(void)
{
    Suite *s = suite_create("timeline");
    TCase *tc = tcase_create("changes");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, changes_at_their_instant);
    tcase_add_test(tc, workload_link_change);
    tcase_add_test(tc, bad_changes_name_the_line);
    suite_add_tcase(s, tc);
    return s;
}

PS_TEST_MAIN(timeline_suite)
