/* The lab sheets' answer keys (docs/labs/lab*.md) hold `check:` lines; each
 * names a scenario and the figures the key states. This test runs every one
 * and compares, so a key cannot drift from what portsim does. */
#include <math.h>
#include <string.h>

#include "keys.h"
#include "run.h"
#include "test_util.h"

typedef struct {
    PsRun *run;
    SimScenario *scenario;
} Ran;

static Ran run_scenario(SimSchema *schema, const char *name, const char *const *overrides)
{
    g_autofree char *path =
        g_build_filename(g_getenv("PORTSIM_SOURCE_ROOT"), "scenarios", name, NULL);
    GError *error = NULL;
    Ran r = {0};
    r.scenario = sim_scenario_load_file(schema, path, overrides, &error);
    ck_assert_msg(r.scenario, "%s: %s", name, error ? error->message : "");
    r.run = ps_run_new(r.scenario, 0, &error);
    ck_assert_msg(r.run, "%s: %s", name, error ? error->message : "");
    ck_assert(ps_run_execute(r.run));
    return r;
}

/* The figure a check key names, from the run's summary. */
static double figure(JsonObject *root, const char *key, gboolean *known)
{
    JsonObject *overall = json_object_get_object_member(root, "overall");
    JsonObject *host = json_array_get_object_element(json_object_get_array_member(root, "hosts"), 0);
    JsonArray *servers = json_object_get_array_member(root, "servers");
    *known = TRUE;
    if (!strcmp(key, "attempts") || !strcmp(key, "successes") || !strcmp(key, "failures"))
        return (double)json_object_get_int_member(overall, key);
    if (!strcmp(key, "first_failure_s") || !strcmp(key, "first_failure_min_s") ||
        !strcmp(key, "first_failure_max_s"))
        return json_object_get_null_member(overall, "first_failure_s")
                   ? NAN
                   : json_object_get_double_member(overall, "first_failure_s");
    if (!strcmp(key, "failures_min") || !strcmp(key, "failures_max"))
        return (double)json_object_get_int_member(overall, "failures");
    JsonObject *reasons = json_object_get_object_member(overall, "failures_by_reason");
    if (!strcmp(key, "eaddrinuse"))
        return (double)json_object_get_int_member(reasons, "EADDRINUSE");
    if (!strcmp(key, "eaddrnotavail"))
        return (double)json_object_get_int_member(reasons, "EADDRNOTAVAIL");
    if (!strcmp(key, "econnrefused"))
        return (double)json_object_get_int_member(reasons, "ECONNREFUSED");
    /* The first [nat] of the scenario. */
    JsonArray *nats = json_object_has_member(root, "nats")
                          ? json_object_get_array_member(root, "nats")
                          : NULL;
    JsonObject *nat = nats && json_array_get_length(nats) > 0
                          ? json_array_get_object_element(nats, 0)
                          : NULL;
    if (nat && !strcmp(key, "nat_drops"))
        return (double)json_object_get_int_member(nat, "drops");
    if (nat && (!strcmp(key, "nat_first_drop_min_s") || !strcmp(key, "nat_first_drop_max_s")))
        return json_object_get_null_member(nat, "first_drop_s")
                   ? NAN
                   : json_object_get_double_member(nat, "first_drop_s");
    if (!strcmp(key, "peak_time_wait"))
        return (double)json_object_get_int_member(host, "peak_time_wait_tuples");
    if (!strcmp(key, "server_peak_time_wait"))
        return (double)json_object_get_int_member(json_array_get_object_element(servers, 0),
                                                  "peak_time_wait");
    *known = FALSE;
    return NAN;
}

static guint check_line(SimSchema *schema, const char *lab, const char *line)
{
    g_auto(GStrv) items = g_strsplit_set(line, " \t", -1);
    const char *scenario = NULL;
    /* set=KIND.NAME.KEY=VALUE: the run the key describes has this override. */
    GPtrArray *overrides = g_ptr_array_new();
    for (char **i = items; *i; i++) {
        if (g_str_has_prefix(*i, "scenario="))
            scenario = *i + strlen("scenario=");
        else if (g_str_has_prefix(*i, "set="))
            g_ptr_array_add(overrides, *i + strlen("set="));
    }
    g_ptr_array_add(overrides, NULL);
    ck_assert_msg(scenario, "%s: a check line without scenario=", lab);
    Ran r = run_scenario(schema, scenario, (const char *const *)overrides->pdata);
    g_ptr_array_free(overrides, TRUE);
    JsonNode *summary = ps_run_summary(r.run);
    JsonObject *root = json_node_get_object(summary);
    guint checked = 0;
    for (char **i = items; *i; i++) {
        char *eq = strchr(*i, '=');
        if (!eq || g_str_has_prefix(*i, "scenario=") || g_str_has_prefix(*i, "set="))
            continue;
        g_autofree char *key = g_strndup(*i, eq - *i);
        double want = g_ascii_strtod(eq + 1, NULL);
        gboolean known;
        double got = figure(root, key, &known);
        ck_assert_msg(known, "%s: unknown check key '%s'", lab, key);
        if (g_str_has_suffix(key, "_min") || g_str_has_suffix(key, "_min_s"))
            ck_assert_msg(got >= want, "%s (%s): %s: got %g", lab, scenario, key, got);
        else if (g_str_has_suffix(key, "_max") || g_str_has_suffix(key, "_max_s"))
            ck_assert_msg(got <= want, "%s (%s): %s: got %g", lab, scenario, key, got);
        else
            ck_assert_msg(fabs(got - want) < 1e-6, "%s (%s): %s: key says %g, run gives %g", lab,
                          scenario, key, want, got);
        checked++;
    }
    json_node_unref(summary);
    ps_run_free(r.run);
    sim_scenario_free(r.scenario);
    return checked;
}

START_TEST(every_lab_answer_key_holds)
{
    SimSchema *schema = ps_schema_new();
    g_autofree char *dir = g_build_filename(g_getenv("PORTSIM_SOURCE_ROOT"), "docs", "labs", NULL);
    GDir *d = g_dir_open(dir, 0, NULL);
    ck_assert_ptr_nonnull(d);
    const char *name;
    guint labs = 0, checks = 0;
    while ((name = g_dir_read_name(d))) {
        if (!g_str_has_prefix(name, "lab") || !g_str_has_suffix(name, ".md"))
            continue;
        g_autofree char *path = g_build_filename(dir, name, NULL);
        g_autofree char *text = NULL;
        ck_assert(g_file_get_contents(path, &text, NULL, NULL));
        guint here = 0;
        for (char *p = strstr(text, "<!-- check:"); p; p = strstr(p + 1, "<!-- check:")) {
            char *end = strstr(p, "-->");
            ck_assert_ptr_nonnull(end);
            g_autofree char *line = g_strndup(p + strlen("<!-- check:"),
                                              end - p - strlen("<!-- check:"));
            here += check_line(schema, name, g_strstrip(line));
        }
        ck_assert_msg(here > 0, "%s states no checked figure", name);
        labs++;
        checks += here;
    }
    g_dir_close(d);
    ck_assert_uint_ge(labs, 6);
    ck_assert_uint_ge(checks, 20);
    sim_schema_free(schema);
}
END_TEST

static Suite *labs_suite(void)
{
    Suite *s = suite_create("labs");
    TCase *tc = tcase_create("labs");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, every_lab_answer_key_holds);
    suite_add_tcase(s, tc);
    return s;
}

PS_TEST_MAIN(labs_suite)
