/* Client TIME_WAIT entries (models/tw_entries.h) are a fast path: every
 * run must give the same summary and time series with them as with every
 * TIME_WAIT kept on its connection record (ps_tw_set_fast_path(FALSE)).
 * The scenarios cover what the entries must honour: tcp_tw_reuse takeovers
 * (1, and 2 on loopback), more hosts than the event queue has lanes, the
 * knobs [timeline] may change, the timer-wheel granularity, max_tw_buckets, linger0, server-side closes, a
 * lossy link, and the library's scenarios. Each run also checks that the
 * fast path really held entries, so a comparison of two full-path runs
 * cannot pass for one. */
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
    ps_tw_set_fast_path(TRUE);
    sim_schema_free(schema);
}

typedef struct {
    char *summary;
    char *series;
    guint64 entries;  /* TIME_WAIT entries the hosts' slabs ever held */
    guint64 recycled; /* tw_recycled over all hosts */
} Outputs;

static void outputs_clear(Outputs *o)
{
    g_free(o->summary);
    g_free(o->series);
}

static Outputs run_once(const char *text, const char *origin, gboolean fast)
{
    ps_tw_set_fast_path(fast);
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
    PsNetwork *net = ps_run_network(run);
    for (guint i = 0; i < net->hosts->len; i++) {
        PsHost *h = net->hosts->pdata[i];
        o.entries += h->tw_entries ? h->tw_entries->len : 0;
        o.recycled += h->tw_recycled->value;
    }
    ps_run_free(run);
    sim_scenario_free(sc);
    ps_tw_set_fast_path(TRUE);
    return o;
}

/* Runs text both ways and compares; returns the fast run's tw_recycled. */
static guint64 check_same(const char *text, const char *origin)
{
    Outputs full = run_once(text, origin, FALSE);
    Outputs fast = run_once(text, origin, TRUE);
    ck_assert_msg(full.entries == 0, "%s: the full path used entries", origin);
    ck_assert_msg(fast.entries > 0, "%s: the fast path was not taken", origin);
    ck_assert_msg(strcmp(fast.summary, full.summary) == 0, "%s: summary.json differs", origin);
    ck_assert_msg(strcmp(fast.series, full.series) == 0, "%s: timeseries.csv differs", origin);
    ck_assert_uint_eq(fast.recycled, full.recycled);
    guint64 recycled = fast.recycled;
    outputs_clear(&full);
    outputs_clear(&fast);
    return recycled;
}

#define BASE(range, host_extra, workload_extra)                                            \
    "[scenario]\nduration = 120s\nsample = 1s\n"                                          \
    "[host c]\naddresses = 10.0.0.1\npreset = linux\nephemeral_range = " range "\n"        \
    host_extra "[server s]\naddresses = 10.1.0.1\nports = 8080\n"                          \
    "[workload w]\nhost = c\ntarget = server s\narrival = poisson\nrate = 6/s\n"            \
    workload_extra

START_TEST(test_reuse_one_takes_over_entries)
{
    /* 100 ports, 6 connections/s, 60 s TIME_WAIT: most connections take
     * over an entry. */
    ck_assert_uint_gt(check_same(BASE("40000-40099", "tcp_tw_reuse = 1\n", "hold = 0s\n"), "reuse-1"), 100);
}
END_TEST

START_TEST(test_reuse_two_on_loopback)
{
    const char *text =
        "[scenario]\nduration = 120s\nsample = 1s\n"
        "[host c]\naddresses = 127.0.0.1\npreset = linux\nephemeral_range = 40000-40099\n"
        "[server s]\naddresses = 127.0.0.2\nports = 8080\n"
        "[workload w]\nhost = c\ntarget = server s\narrival = poisson\nrate = 6/s\nhold = 0s\n";
    ck_assert_uint_gt(check_same(text, "reuse-2-loopback"), 100);
}
END_TEST

START_TEST(test_many_hosts_and_knob_changes)
{
    /* Eighteen hosts: more TIME_WAIT streams than the event queue has
     * lanes, so some entries' ends go through the heap; the knobs that
     * [timeline] may change are changed mid-run. */
    GString *text = g_string_new("[scenario]\nduration = 90s\nsample = 1s\n"
                                 "[server s]\naddresses = 10.1.0.1\nports = 8080\n");
    for (int i = 0; i < 18; i++)
        g_string_append_printf(text,
                               "[host h%d]\naddresses = 10.0.0.%d\npreset = linux\n"
                               "ephemeral_range = 40000-40149\ntcp_tw_reuse = %d\n"
                               "[workload w%d]\nhost = h%d\ntarget = server s\n"
                               "arrival = poisson\nrate = %d/s\nhold = 0s\n",
                               i, i + 1, i % 3 == 0 ? 1 : 2, i, i, 2 + i % 4);
    g_string_append(text, "[timeline]\n20s = host.h0.tw_reuse_delay=5s\n"
                          "30s = host.h1.max_tw_buckets=50\n60s = host.h1.max_tw_buckets=1000\n");
    ck_assert_uint_gt(check_same(text->str, "many-hosts"), 0);
    g_string_free(text, TRUE);
}
END_TEST

START_TEST(test_granularity_buckets_linger_and_loss)
{
    check_same(BASE("40000-40099", "time_wait_granularity = 7s\nmax_tw_buckets = 40\n",
                    "hold = 0s\nloss = 0.2\n"),
               "granularity-buckets-loss");
    check_same(BASE("30000-40099", "",
                    "hold = 0s\n[timeline]\n20s = host.c.linger0=true\n50s = host.c.linger0=false\n"),
               "linger0-mid-run");
    /* The server's idle timeout closes some connections: its TIME_WAIT
     * and SYN recycling, the client's LAST_ACK path, and client TIME_WAIT
     * for the rest. */
    check_same("[scenario]\nduration = 120s\nsample = 1s\n"
               "[host c]\naddresses = 10.0.0.1\npreset = linux\nephemeral_range = 40000-40299\n"
               "[server s]\naddresses = 10.1.0.1\nports = 8080\nidle_timeout = 2s\n"
               "[workload w]\nhost = c\ntarget = server s\narrival = poisson\nrate = 6/s\n"
               "requests = 2\nservice = exp(100ms)\nhold = exp(2s)\n",
               "requests-idle");
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
        Outputs full = run_once(text, path, FALSE);
        Outputs fast = run_once(text, path, TRUE);
        ck_assert_msg(strcmp(fast.summary, full.summary) == 0, "%s: summary differs", name);
        ck_assert_msg(strcmp(fast.series, full.series) == 0, "%s: time series differs", name);
        compared += fast.entries > 0;
        outputs_clear(&full);
        outputs_clear(&fast);
    }
    g_dir_close(d);
    /* Most library scenarios have client TIME_WAIT. */
    ck_assert_uint_ge(compared, 8);
}
END_TEST

static Suite *tw_entries_suite(void)
{
    Suite *s = suite_create("tw_entries");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_reuse_one_takes_over_entries);
    tcase_add_test(tc, test_reuse_two_on_loopback);
    tcase_add_test(tc, test_many_hosts_and_knob_changes);
    tcase_add_test(tc, test_granularity_buckets_linger_and_loss);
    tcase_add_test(tc, test_library_scenarios);
    suite_add_tcase(s, tc);
    return s;
}

PS_TEST_MAIN(tw_entries_suite)
