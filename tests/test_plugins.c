/* Allocator plugins: the example plugin (examples/stride_allocator.c) runs
 * and follows its stride; broken plugins (tests/plugins/bad_allocator.c)
 * are refused at load time or stop the run with an error, never a crash or
 * a silently wrong result. Paths come from meson (PORTSIM_PLUGIN_*). */
#include <string.h>

#include "keys.h"
#include "run.h"
#include "sim_error.h"
#include "test_util.h"

static SimSchema *schema;

static void setup(void) { schema = ps_schema_new(); }
static void teardown(void) { sim_schema_free(schema); }

static const char *plugin(const char *var)
{
    const char *p = g_getenv(var);
    ck_assert_msg(p != NULL, "%s is not set (run through meson test)", var);
    return p;
}

/* The kernel experiment's host with the given allocator and params. */
static char *scenario(const char *allocator, const char *params)
{
    return g_strdup_printf("[scenario]\nduration = 40s\n"
                           "[host c]\naddresses = 10.0.0.2\nephemeral_range = 40000-40099\n"
                           "allocator = plugin:%s\nallocator_params = %s\n"
                           "[server s]\naddresses = 10.0.0.1\nports = 8080\n"
                           "[workload w]\nhost = c\ntarget = server s\nrate = 5/s\n",
                           allocator, params);
}

static SimScenario *load(const char *ini)
{
    GError *error = NULL;
    SimScenario *sc = sim_scenario_load_data(schema, ini, "t.ini", NULL, &error);
    ck_assert_msg(sc != NULL, "%s", error ? error->message : "?");
    return sc;
}

typedef struct {
    GArray *ports;
} Takes;

static void on_port(void *data, const PsPortEvent *ev)
{
    Takes *t = data;
    if (ev->take)
        g_array_append_val(t->ports, ev->port);
}

START_TEST(stride_plugin_runs)
{
    g_autofree char *ini = scenario(plugin("PORTSIM_PLUGIN_STRIDE"), "stride=7");
    SimScenario *sc = load(ini);
    GError *error = NULL;
    PsRun *run = ps_run_new(sc, 0, &error);
    ck_assert_msg(run != NULL, "%s", error ? error->message : "?");
    Takes t = {g_array_new(FALSE, FALSE, sizeof(uint16_t))};
    ps_network_set_port_observer(ps_run_network(run), on_port, &t);
    ck_assert(ps_run_execute(run));
    ck_assert_ptr_null(ps_run_error(run));
    PsTotals tot;
    ps_network_totals(ps_run_network(run), &tot);
    /* A full cycle of 100 ports: the 101st attempt, at 20 s, fails. */
    ck_assert_int_eq(tot.first_failure, 20 * SIM_S);
    ck_assert_uint_eq(t.ports->len, 100);
    /* While ports are free each pick is the previous + 7 (mod 100). */
    for (guint i = 1; i < t.ports->len; i++) {
        int prev = g_array_index(t.ports, uint16_t, i - 1) - 40000;
        int cur = g_array_index(t.ports, uint16_t, i) - 40000;
        ck_assert_int_eq(cur, (prev + 7) % 100);
    }
    g_array_free(t.ports, TRUE);
    ps_run_free(run);
    sim_scenario_free(sc);
}
END_TEST

/* Building fails with SIM_ERROR_INPUT whose message contains `needle`. */
static void expect_refused(const char *ini, const char *needle)
{
    SimScenario *sc = load(ini);
    GError *error = NULL;
    PsRun *run = ps_run_new(sc, 0, &error);
    ck_assert_msg(run == NULL, "accepted: %s", needle);
    ck_assert(g_error_matches(error, SIM_ERROR, SIM_ERROR_INPUT));
    ck_assert_msg(strstr(error->message, needle), "'%s' lacks '%s'", error->message, needle);
    /* The message names the file, line and key. */
    ck_assert_msg(strstr(error->message, "t.ini:") && strstr(error->message, "[host c]"), "%s",
                  error->message);
    g_error_free(error);
    sim_scenario_free(sc);
}

START_TEST(broken_plugins_refused_at_load)
{
    g_autofree char *abi = scenario(plugin("PORTSIM_PLUGIN_BAD_ABI"), "");
    expect_refused(abi, "ABI version 999");
    g_autofree char *sym = scenario(plugin("PORTSIM_PLUGIN_BAD_NO_SYMBOL"), "");
    expect_refused(sym, "no symbol portsim_allocator()");
    g_autofree char *missing = scenario("/nonexistent/libnothing.so", "");
    expect_refused(missing, "no such file");
    g_autofree char *params = scenario(plugin("PORTSIM_PLUGIN_STRIDE"), "stride=10");
    expect_refused(params, "shares a factor");
    g_autofree char *empty = g_strdup_printf("[scenario]\nduration = 1s\n"
                                             "[host c]\naddresses = 10.0.0.2\n"
                                             "allocator = plugin:\n"
                                             "[server s]\naddresses = 10.0.0.1\nports = 80\n"
                                             "[workload w]\nhost = c\ntarget = server s\n");
    expect_refused(empty, "needs a path");
    g_autofree char *typo = g_strdup_printf("[scenario]\nduration = 1s\n"
                                            "[host c]\naddresses = 10.0.0.2\n"
                                            "allocator = linuks\n"
                                            "[server s]\naddresses = 10.0.0.1\nports = 80\n"
                                            "[workload w]\nhost = c\ntarget = server s\n");
    expect_refused(typo, "no allocator named 'linuks'");
}
END_TEST

/* The run starts, then the plugin misbehaves: the run ends early with an
 * error naming it, and everything drains. */
static void expect_run_fault(const char *var, const char *needle)
{
    g_autofree char *ini = scenario(plugin(var), "");
    SimScenario *sc = load(ini);
    GError *error = NULL;
    PsRun *run = ps_run_new(sc, 0, &error);
    ck_assert_msg(run != NULL, "%s", error ? error->message : "?");
    ck_assert(!ps_run_execute(run));
    const GError *e = ps_run_error(run);
    ck_assert_ptr_nonnull(e);
    ck_assert(g_error_matches(e, SIM_ERROR, SIM_ERROR_RUNTIME));
    ck_assert_msg(strstr(e->message, needle), "'%s' lacks '%s'", e->message, needle);
    PsTotals t;
    ps_network_totals(ps_run_network(run), &t);
    ck_assert_uint_eq(t.attempts, t.successes + t.failures);
    ck_assert_uint_lt(t.attempts, 200); /* stopped, not 40 s x 5/s */
    ck_assert(ps_network_pools_empty(ps_run_network(run)));
    ps_run_free(run);
    sim_scenario_free(sc);
}

START_TEST(broken_plugins_stop_the_run)
{
    /* Port 39999 on the 10th pick: outside 40000-40099. */
    expect_run_fault("PORTSIM_PLUGIN_BAD_OUT_OF_RANGE", "returned port 39999, outside its range");
    /* Always 40000, also once it is in TIME_WAIT. */
    expect_run_fault("PORTSIM_PLUGIN_BAD_REFUSED", "which its test refused");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("plugins");
    TCase *tc = tcase_create("plugins");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, stride_plugin_runs);
    tcase_add_test(tc, broken_plugins_refused_at_load);
    tcase_add_test(tc, broken_plugins_stop_the_run);
    suite_add_tcase(s, tc);
    return s;
}

PS_TEST_MAIN(suite)
