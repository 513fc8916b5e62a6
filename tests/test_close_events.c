/* Close events on compact lanes (tcp.c close_after()) and the packed
 * connection record (issue 7: at most 128 bytes per established
 * connection).
 *
 * A close event on a workload's compact lane must run exactly where the
 * general event would have: every run compares summary.json and the time
 * series with the lanes on and off (ps_close_set_compact()). The cases
 * cover what can break a lane's order: two workloads with different
 * constant holds on one host, random holds, server closes, requests with
 * idle timeouts, hold 0, and [timeline] changes of hold and closer that
 * send a close back in time. A second test proves the lanes really hold
 * the events: at 20,000 open connections, with a constant or a random
 * hold, the queue's slots stay few with the lanes, and number at least one
 * per connection without them. */
#include <json-glib/json-glib.h>
#include <string.h>

#include "keys.h"
#include "network_internal.h"
#include "run.h"
#include "test_util.h"
#include "tw_entries.h"

static SimSchema *schema;

static void setup(void) { schema = ps_schema_new(); }
static void teardown(void)
{
    ps_close_set_compact(TRUE);
    sim_schema_free(schema);
}

typedef struct {
    char *summary;
    char *series;
} Outputs;

static Outputs run_once(const char *text, const char *origin, gboolean compact)
{
    ps_close_set_compact(compact);
    GError *error = NULL;
    SimScenario *sc = sim_scenario_load_data(schema, text, origin, NULL, &error);
    ck_assert_msg(sc != NULL, "%s: %s", origin, error ? error->message : "?");
    PsRun *run = ps_run_new(sc, 0, &error);
    ck_assert_msg(run != NULL, "%s: %s", origin, error ? error->message : "?");
    ps_run_execute(run);
    Outputs o = {0};
    JsonNode *summary = ps_run_summary(run);
    o.summary = json_to_string(summary, TRUE);
    json_node_unref(summary);
    GString *csv = sim_series_to_csv(sim_engine_series(ps_run_engine(run)));
    o.series = g_string_free(csv, FALSE);
    ps_run_free(run);
    sim_scenario_free(sc);
    ps_close_set_compact(TRUE);
    return o;
}

static void check_same(const char *text, const char *origin)
{
    Outputs general = run_once(text, origin, FALSE);
    Outputs compact = run_once(text, origin, TRUE);
    ck_assert_msg(strcmp(compact.summary, general.summary) == 0, "%s: summary.json differs",
                  origin);
    ck_assert_msg(strcmp(compact.series, general.series) == 0, "%s: timeseries.csv differs",
                  origin);
    g_free(general.summary);
    g_free(general.series);
    g_free(compact.summary);
    g_free(compact.series);
}

#define HEAD                                                                               \
    "[scenario]\nduration = 120s\nsample = 1s\n"                                          \
    "[host c]\naddresses = 10.0.0.1\npreset = linux\nephemeral_range = 40000-40999\n"      \
    "[server s]\naddresses = 10.1.0.1\nports = 8080\n"

START_TEST(test_record_size)
{
    /* Also a static assertion in network_internal.h; here so the figure
     * shows in the test log. 96 + a 16-byte close event: 112 <= 128. */
    ck_assert_uint_le(sizeof(PsConn), 96);
}
END_TEST

START_TEST(test_same_order_constant_and_mixed_holds)
{
    /* Two constant holds on one host: each workload's closes are a
     * non-decreasing stream on its own lane. */
    check_same(HEAD "[workload a]\nhost = c\ntarget = server s\narrival = poisson\nrate = 5/s\n"
                    "hold = const(3s)\n"
                    "[workload b]\nhost = c\ntarget = server s\narrival = poisson\nrate = 4/s\n"
                    "hold = const(500ms)\n",
               "two-constant-holds");
    /* Random holds: most closes go back in time and take the heap lane,
     * interleaved with the FIFO lane's. */
    check_same(HEAD "[workload a]\nhost = c\ntarget = server s\narrival = poisson\nrate = 8/s\n"
                    "hold = exp(2s)\njitter = 3ms\n",
               "random-hold");
    /* Hold 0: closes at the current instant stay on the now lane, beside
     * the others' compact ones. */
    check_same(HEAD "[workload a]\nhost = c\ntarget = server s\narrival = poisson\nrate = 8/s\n"
                    "hold = 0s\n"
                    "[workload b]\nhost = c\ntarget = server s\narrival = poisson\nrate = 3/s\n"
                    "hold = exp(200ms)\n",
               "hold-zero");
}
END_TEST

START_TEST(test_same_order_server_closes_requests_timeline)
{
    check_same(HEAD "[workload a]\nhost = c\ntarget = server s\narrival = poisson\nrate = 6/s\n"
                    "hold = const(2s)\ncloser = server\n"
                    "[workload b]\nhost = c\ntarget = server s\narrival = poisson\nrate = 3/s\n"
                    "hold = const(1s)\n",
               "server-closes");
    check_same("[scenario]\nduration = 120s\nsample = 1s\n"
               "[host c]\naddresses = 10.0.0.1\npreset = linux\nephemeral_range = 40000-40999\n"
               "[server s]\naddresses = 10.1.0.1\nports = 8080\nidle_timeout = 2s\n"
               "[workload w]\nhost = c\ntarget = server s\narrival = poisson\nrate = 6/s\n"
               "requests = 3\nservice = exp(100ms)\nhold = exp(3s)\nidle_timeout = 2500ms\n",
               "requests-idle-timeouts");
    /* A shorter hold and a change of closer mid-run: closes scheduled
     * after the change come before ones already on the lane. */
    check_same(HEAD "[workload a]\nhost = c\ntarget = server s\narrival = poisson\nrate = 6/s\n"
                    "hold = const(10s)\n"
                    "[timeline]\n30s = workload.a.hold=const(1s)\n"
                    "60s = workload.a.closer=server\n90s = workload.a.hold=const(20s)\n",
               "timeline-hold-and-closer");
}
END_TEST

START_TEST(test_library_scenarios)
{
    g_autofree char *dir = g_build_filename(g_getenv("PORTSIM_SOURCE_ROOT"), "scenarios", NULL);
    GDir *d = g_dir_open(dir, 0, NULL);
    ck_assert(d != NULL);
    const char *name;
    guint compared = 0;
    while ((name = g_dir_read_name(d))) {
        if (!g_str_has_suffix(name, ".ini"))
            continue;
        g_autofree char *path = g_build_filename(dir, name, NULL);
        g_autofree char *text = NULL;
        ck_assert(g_file_get_contents(path, &text, NULL, NULL));
        check_same(text, path);
        compared++;
    }
    g_dir_close(d);
    ck_assert_uint_ge(compared, 20);
}
END_TEST

/* The queue's slot capacity at the moment n connections are open. */
static size_t capacity_at_peak(guint n, const char *hold, gboolean compact)
{
    ps_close_set_compact(compact);
    g_autofree char *ini = g_strdup_printf(
        "[scenario]\nduration = 10s\nsample = 1h\n"
        "[host c]\naddresses = 10.0.0.1\nephemeral_range = 1024-65535\n"
        "[server s]\naddresses = 10.1.0.1\nports = 80\n"
        "[workload w]\nhost = c\ntarget = server s\nrate = %u/s\nhold = %s\n",
        n, hold);
    GError *error = NULL;
    SimScenario *sc = sim_scenario_load_data(schema, ini, "peak", NULL, &error);
    ck_assert_msg(sc != NULL, "%s", error ? error->message : "?");
    PsRun *run = ps_run_new(sc, 0, &error);
    ck_assert_msg(run != NULL, "%s", error ? error->message : "?");
    ps_network_start(ps_run_network(run));
    /* One second of arrivals, plus time for the last handshakes. */
    sim_engine_run(ps_run_engine(run), 2 * SIM_S);
    PsTotals t;
    ps_network_totals(ps_run_network(run), &t);
    ck_assert_uint_eq(t.failures, 0);
    ck_assert_uint_ge(t.successes + 1, n);
    size_t capacity = sim_engine_capacity(ps_run_engine(run));
    ps_run_free(run);
    sim_scenario_free(sc);
    ps_close_set_compact(TRUE);
    return capacity;
}

START_TEST(test_open_connections_hold_no_slots)
{
    guint n = 20000;
    /* A constant hold (closes in time order: the FIFO lane) and a random
     * one (mostly out of order: the heap lane). */
    const char *holds[] = {"const(1h)", "exp(1h)"};
    for (guint i = 0; i < G_N_ELEMENTS(holds); i++) {
        size_t general = capacity_at_peak(n, holds[i], FALSE);
        size_t compact = capacity_at_peak(n, holds[i], TRUE);
        /* Without the lanes every open connection's close needs a slot. */
        ck_assert_uint_ge(general, n);
        /* With them only segments in flight and the arrivals do. */
        ck_assert_msg(compact < n / 8, "hold %s: capacity %zu", holds[i], compact);
    }
}
END_TEST

static Suite *close_events_suite(void)
{
    Suite *s = suite_create("close_events");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_record_size);
    tcase_add_test(tc, test_same_order_constant_and_mixed_holds);
    tcase_add_test(tc, test_same_order_server_closes_requests_timeline);
    tcase_add_test(tc, test_library_scenarios);
    tcase_add_test(tc, test_open_connections_hold_no_slots);
    suite_add_tcase(s, tc);
    return s;
}

PS_TEST_MAIN(close_events_suite)
