/* [expect]: the grammar (through the loader, with file:line errors), the
 * verdicts against a summary, and the exit codes of `portsim run`. */
#include <math.h>
#include <string.h>

#include "cli_util.h"
#include "expect.h"
#include "keys.h"
#include "scenario.h"
#include "sim_error.h"
#include "test_util.h"

static const char base[] = "[scenario]\n"
                           "duration = 60s\n"
                           "[host client]\n"
                           "addresses = 10.0.0.2\n"
                           "ephemeral_range = 40000-40099\n"
                           "[server echo]\n"
                           "addresses = 10.1.0.1\n"
                           "ports = 8080\n"
                           "[workload paced]\n"
                           "host = client\n"
                           "target = server echo\n"
                           "rate = 5/s\n"; /* 12 lines: [expect] starts on line 13 */

/* A summary shaped like summary.json, with numbers chosen by hand. */
static const char summary_json[] =
    "{\"overall\": {\"attempts\": 300, \"successes\": 100, \"failures\": 200,"
    "  \"failure_ratio\": 0.6666666666666666, \"first_failure_s\": 20,"
    "  \"offered_per_s\": 5, \"carried_per_s\": 1.6666666666666667,"
    "  \"mean_probes_per_allocation\": 1.5},"
    " \"hosts\": [{\"name\": \"client\", \"failure_ratio\": 0.5, \"first_failure_s\": 20,"
    "   \"pools\": [{\"peak_port_utilization\": 0.25, \"p99_probes_per_allocation\": 3},"
    "               {\"peak_port_utilization\": 0.75, \"p99_probes_per_allocation\": 7}]},"
    "  {\"name\": \"idle\", \"failure_ratio\": 0, \"first_failure_s\": null,"
    "   \"pools\": [{\"peak_port_utilization\": 0.5, \"p99_probes_per_allocation\": 9}]}],"
    " \"workloads\": [{\"name\": \"paced\", \"failure_ratio\": 0.125, \"first_failure_s\": null}]}";

static SimScenario *load(SimSchema *schema, const char *expect_lines, GError **error)
{
    g_autofree char *text = g_strconcat(base, "[host idle]\naddresses = 10.0.0.3\n[expect]\n",
                                        expect_lines, NULL);
    return sim_scenario_load_data(schema, text, "t.ini", NULL, error);
}

static JsonNode *summary(void)
{
    JsonNode *node = json_from_string(summary_json, NULL);
    ck_assert_ptr_nonnull(node);
    return node;
}

/* TRUE when the single expectation holds against summary_json. */
static gboolean verdict(const char *line, GString *report)
{
    SimSchema *schema = ps_schema_new();
    GError *error = NULL;
    SimScenario *sc = load(schema, line, &error);
    ck_assert_msg(sc != NULL, "%s: %s", line, error ? error->message : "?");
    PsExpect *e = ps_expect_new(sc, &error);
    ck_assert_msg(e != NULL, "%s: %s", line, error ? error->message : "no expectation");
    JsonNode *s = summary();
    gboolean ok = ps_expect_check(e, s, report);
    json_node_unref(s);
    ps_expect_free(e);
    sim_scenario_free(sc);
    sim_schema_free(schema);
    return ok;
}

START_TEST(comparisons_and_units)
{
    static const struct {
        const char *line;
        gboolean holds;
    } cases[] = {
        {"failure_ratio = <= 0.7\n", TRUE},
        {"failure_ratio = < 0.6\n", FALSE},
        {"failure_ratio = >= 66%\n", TRUE},   /* percent: 0.66 */
        {"failure_ratio = >= 67%\n", FALSE},
        {"attempts = == 300\n", TRUE},
        {"attempts = == 299\n", FALSE},
        {"successes = > 99\n", TRUE},
        {"failures = < 200\n", FALSE},
        {"first_failure = >= 20s\n", TRUE},
        {"first_failure = > 20s\n", FALSE},
        {"first_failure = >= 10m\n", FALSE},
        {"first_failure = <= 0.5m\n", TRUE},  /* 30 s */
        {"first_failure = == 20\n", TRUE},    /* bare number: seconds */
        {"carried_per_s = >= 1.6/s\n", TRUE},
        {"carried_per_s = >= 1.7\n", FALSE},
        {"offered_per_s = == 5/s\n", TRUE},
        {"mean_probes_per_allocation = <= 1.5\n", TRUE},
        {"mean_probes_per_allocation = < 1.5\n", FALSE},
        /* pool metrics: the largest over every host's pools */
        {"peak_utilization = <= 0.75\n", TRUE},
        {"peak_utilization = < 0.75\n", FALSE},
        {"p99_probes = == 9\n", TRUE},
        /* scoped */
        {"peak_utilization(host.idle) = == 0.5\n", TRUE},
        {"p99_probes(host.client) = <= 7\n", TRUE},
        {"failure_ratio(host.client) = == 0.5\n", TRUE},
        {"failure_ratio(workload.paced) = <= 0.1\n", FALSE},
        /* null first failure is +infinity */
        {"first_failure(host.idle) = >= 1000d\n", TRUE},
        {"first_failure(host.idle) = == never\n", TRUE},
        {"first_failure(workload.paced) = < 1h\n", FALSE},
        {"first_failure = == never\n", FALSE},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        gboolean got = verdict(cases[i].line, NULL);
        if (got != cases[i].holds)
            ck_abort_msg("%s: expected %s", cases[i].line, cases[i].holds ? "ok" : "BROKEN");
    }
}
END_TEST

START_TEST(report_names_line_bound_and_value)
{
    g_autoptr(GString) report = g_string_new(NULL);
    ck_assert(!verdict("failure_ratio = <= 0.001\nfirst_failure = >= 10s\n", report));
    ck_assert_msg(strstr(report->str, "BROKEN  failure_ratio <= 0.001: 0.666667\n"), "%s",
                  report->str);
    ck_assert_msg(strstr(report->str, "ok      first_failure >= 10s: 20s\n"), "%s", report->str);
}
END_TEST

/* A metric the summary does not have cannot prove the gate. */
START_TEST(missing_value_is_broken)
{
    g_autoptr(GString) report = g_string_new(NULL);
    ck_assert(!verdict("peak_utilization(workload.paced) = <= 1\n", report));
    ck_assert_ptr_nonnull(strstr(report->str, "no value in the summary"));
}
END_TEST

static char *load_error(const char *lines)
{
    SimSchema *schema = ps_schema_new();
    GError *error = NULL;
    SimScenario *sc = load(schema, lines, &error);
    PsExpect *e = NULL;
    if (sc)
        e = ps_expect_new(sc, &error);
    ck_assert_msg(e == NULL && error != NULL, "'%s' was accepted", lines);
    ck_assert_int_eq(error->code, SIM_ERROR_INPUT);
    char *message = g_strdup(error->message);
    g_error_free(error);
    sim_scenario_free(sc);
    sim_schema_free(schema);
    return message;
}

START_TEST(bad_lines_name_file_line_and_key)
{
    static const struct {
        const char *lines;
        const char *message;
    } cases[] = {
        {"failur_ratio = <= 0.1\n",
         "t.ini:16: [expect] failur_ratio: unknown metric 'failur_ratio'; did you mean "
         "'failure_ratio'?"},
        {"failure_ratio = <= 0.1\nwibble = < 3\n", "t.ini:17: [expect] wibble: unknown metric "
                                                   "'wibble'; known metrics: failure_ratio, "},
        {"failure_ratio = 0.1\n", "t.ini:16: [expect] failure_ratio: expected a comparison"},
        {"failure_ratio = <=\n", "t.ini:16: [expect] failure_ratio: expected a comparison"},
        {"first_failure = >= soon\n",
         "t.ini:16: [expect] first_failure: bound 'soon' of first_failure: expected a duration"},
        {"peak_utilization(host) = <= 1\n", "expected METRIC or METRIC(KIND.NAME)"},
        {"peak_utilization(host.shop = <= 1\n", "expected METRIC or METRIC(KIND.NAME)"},
        {"peak_utilization(host.shop) = <= 1\n",
         "t.ini:16: [expect] peak_utilization(host.shop): no section [host shop]"},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *m = load_error(cases[i].lines);
        if (strstr(m, cases[i].message) == NULL)
            ck_abort_msg("'%s': got '%s', want '%s'", cases[i].lines, m, cases[i].message);
    }
}
END_TEST

START_TEST(no_section_no_expectations)
{
    SimSchema *schema = ps_schema_new();
    GError *error = NULL;
    SimScenario *sc = sim_scenario_load_data(schema, base, "t.ini", NULL, &error);
    ck_assert_ptr_nonnull(sc);
    /* An absent [expect] is not added: the effective ini stays as it was. */
    ck_assert_ptr_null(sim_scenario_find(sc, "expect", NULL));
    ck_assert_ptr_null(ps_expect_new(sc, &error));
    ck_assert_ptr_null(error);
    sim_scenario_free(sc);
    /* An override creates it, dots of the scope included in the key. */
    const char *over[] = {"expect.peak_utilization(host.client)=<= 0.5", NULL};
    sc = sim_scenario_load_data(schema, base, "t.ini", over, &error);
    ck_assert_msg(sc != NULL, "%s", error ? error->message : "");
    SimSection *s = sim_scenario_find(sc, "expect", NULL);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(sim_section_n_free_keys(s), 1);
    ck_assert_str_eq(sim_section_free_key_at(s, 0), "peak_utilization(host.client)");
    ck_assert_str_eq(sim_section_text(s, "peak_utilization(host.client)"), "<= 0.5");
    g_autoptr(GString) ini = sim_scenario_effective_ini(sc);
    ck_assert_ptr_nonnull(strstr(ini->str, "\n[expect]\npeak_utilization(host.client) = <= 0.5 "
                                           "; --set\n"));
    /* The effective ini loads back to the same expectations. */
    SimScenario *again = sim_scenario_load_data(schema, ini->str, "eff.ini", NULL, &error);
    ck_assert_msg(again != NULL, "%s", error ? error->message : "");
    g_autoptr(GString) ini2 = sim_scenario_effective_ini(again);
    ck_assert_ptr_nonnull(strstr(ini2->str, "peak_utilization(host.client) = <= 0.5\n"));
    sim_scenario_free(again);
    sim_scenario_free(sc);
    const char *bad[] = {"expect.failure_rate=<= 0.5", NULL};
    ck_assert_ptr_null(sim_scenario_load_data(schema, base, "t.ini", bad, &error));
    ck_assert_msg(strstr(error->message, "--set expect.failure_rate=<= 0.5: unknown metric") &&
                      strstr(error->message, "did you mean 'failure_ratio'"),
                  "%s", error->message);
    g_clear_error(&error);
    sim_schema_free(schema);
}
END_TEST

START_TEST(key_reference_lists_metrics)
{
    SimSchema *schema = ps_schema_new();
    g_autoptr(GString) md = sim_schema_describe_markdown(schema);
    ck_assert_ptr_nonnull(strstr(md->str, "## [expect]"));
    ck_assert_ptr_nonnull(strstr(md->str, "| `first_failure` | Simulated time of the first"));
    ck_assert_ptr_nonnull(strstr(md->str, "| `peak_utilization` |"));
    g_autoptr(GString) text = sim_schema_describe_text(schema);
    ck_assert_ptr_nonnull(strstr(text->str, "\n  p99_probes\n"));
    const SimFreeKeysDef *f = ps_expect_free_keys();
    guint n = 0;
    while (f->names[n])
        n++;
    for (guint i = 0; i < n; i++)
        ck_assert_ptr_nonnull(f->helps[i]);
    ck_assert_ptr_null(f->helps[n]);
    sim_schema_free(schema);
}
END_TEST

/* ---- through the binary ---- */

static CliResult run_with(const char *dir, const char *expect_lines)
{
    g_autofree char *text = g_strconcat(base, "[expect]\n", expect_lines, NULL);
    g_autofree char *path = cli_write(dir, "s.ini", text);
    g_autofree char *out = g_build_filename(dir, "out", NULL);
    const char *args[] = {"run", path, "-o", out, "--no-plots", NULL};
    return cli_run(args);
}

START_TEST(exit_codes_through_portsim_run)
{
    g_autofree char *dir = g_dir_make_tmp("portsim-expect-XXXXXX", NULL);
    /* kernel-100-ports for 60 s: first failure at exactly 20 s, 200 of 300 fail */
    CliResult ok = run_with(dir, "first_failure = == 20s\nfailures = == 200\n"
                                 "peak_utilization(host.client) = == 1\n");
    ck_assert_msg(ok.status == 0, "exit %d: %s%s", ok.status, ok.out, ok.err);
    ck_assert_ptr_nonnull(strstr(ok.out, "Expectations:\n  ok      first_failure == 20s: 20s\n"));
    cli_result_free(&ok);

    CliResult broken = run_with(dir, "first_failure = >= 10m\nfailures = == 200\n");
    ck_assert_msg(broken.status == 1, "exit %d: %s", broken.status, broken.err);
    ck_assert_ptr_nonnull(strstr(broken.out, "BROKEN  first_failure >= 10m: 20s"));
    ck_assert_msg(strstr(broken.err, "portsim: [expect] broken: first_failure >= 10m: 20s\n"),
                  "%s", broken.err);
    ck_assert_ptr_null(strstr(broken.err, "failures =="));
    /* The results were written before the verdict. */
    g_autofree char *out = g_build_filename(dir, "out", NULL);
    g_autofree char *json = cli_slurp(out, "summary.json");
    ck_assert_ptr_nonnull(strstr(json, "\"first_failure_s\" : 20"));
    cli_result_free(&broken);

    CliResult bad = run_with(dir, "first_failur = >= 10m\n");
    ck_assert_int_eq(bad.status, 2);
    ck_assert_msg(strstr(bad.err, "s.ini:14: [expect] first_failur: unknown metric "
                                  "'first_failur'; did you mean 'first_failure'?"),
                  "%s", bad.err);
    cli_result_free(&bad);

    /* --set adds a gate from the command line (what a CI job would do). */
    g_autofree char *text = g_strconcat(base, "[expect]\nfailures = == 200\n", NULL);
    g_autofree char *path = cli_write(dir, "s.ini", text);
    const char *args[] = {"run", path, "-o", out, "--no-plots", "-q",
                          "--set", "expect.carried_per_s(workload.paced)=>= 2/s", NULL};
    CliResult set = cli_run(args);
    ck_assert_int_eq(set.status, 1);
    ck_assert_str_eq(set.out, "");
    ck_assert_ptr_nonnull(strstr(set.err, "carried_per_s(workload.paced) >= 2/s: 1.66667/s"));
    cli_result_free(&set);
    cli_rm_rf(dir);
}
END_TEST

static Suite *expect_suite(void)
{
    Suite *s = suite_create("expect");
    TCase *tc = tcase_create("expect");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, comparisons_and_units);
    tcase_add_test(tc, report_names_line_bound_and_value);
    tcase_add_test(tc, missing_value_is_broken);
    tcase_add_test(tc, bad_lines_name_file_line_and_key);
    tcase_add_test(tc, no_section_no_expectations);
    tcase_add_test(tc, key_reference_lists_metrics);
    tcase_add_test(tc, exit_codes_through_portsim_run);
    suite_add_tcase(s, tc);
    return s;
}

PS_TEST_MAIN(expect_suite)
