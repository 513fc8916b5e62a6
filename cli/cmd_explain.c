/* portsim explain: the closed-form limits of a scenario, each printed with
 * its formula and the numbers put into it, so a student sees where they
 * come from and a planner sees the headroom. Nothing is simulated. */
#include <math.h>
#include <stdio.h>

#include "commands.h"
#include "json_members.h"
#include "keys.h"
#include "nat_theory.h"
#include "run.h"
#include "terminal_summary.h"
#include "theory.h"

static char *fmt_time(double s)
{
    return isnan(s) ? g_strdup("never") : cli_format_seconds(s);
}

static void explain_host(GString *o, const PsHostTheory *h)
{
    g_autofree char *cap = cli_format_count((gint64)h->capacity);
    g_autofree char *ports = cli_format_count((gint64)h->ports);
    g_string_append_printf(o, "host %s: %u address%s x %u destination%s\n", h->host,
                           h->addresses, h->addresses == 1 ? "" : "es", h->destinations,
                           h->destinations == 1 ? "" : "s");
    g_string_append_printf(o, "  ports per address    C = range %llu - %llu reserved = %s\n",
                           (unsigned long long)h->range_ports, (unsigned long long)h->reserved,
                           ports);
    if (h->exclusive)
        g_string_append_printf(o, "  4-tuple capacity     K = C x addresses = %s x %u = %s "
                                  "(a port serves one connection: bind_before_connect, "
                                  "host-wide ports or UDP)\n",
                               ports, h->addresses, cap);
    else
        g_string_append_printf(o, "  4-tuple capacity     K = C x addresses x destinations = "
                                  "%s x %u x %u = %s\n",
                               ports, h->addresses, h->destinations, cap);
    g_autofree char *tw = h->tw_reuse ? g_strdup_printf("%g (tcp_tw_reuse takes TIME_WAIT over "
                                                        "after tw_reuse_delay)", h->time_wait_s)
                          : h->half_tick_s > 0
                              ? g_strdup_printf("(%g + %g tick/2)", h->time_wait_s - h->half_tick_s,
                                                2 * h->half_tick_s)
                              : g_strdup_printf("%g", h->time_wait_s);
    g_string_append_printf(o, "  port holding time    T = handshake + hold + close + TIME_WAIT "
                              "= %g + %g + %g + %s = %g s\n",
                           h->handshake_s, h->hold_s, h->close_s, tw, h->occupancy_s);
    g_string_append_printf(o, "  sustainable rate     K / T = %s / %g s = %.4g/s\n", cap,
                           h->occupancy_s, h->sustainable_per_s);
    if (h->base_per_s == h->peak_per_s)
        g_string_append_printf(o, "  offered rate         %.6g/s\n", h->peak_per_s);
    else
        g_string_append_printf(o, "  offered rate         %.6g/s at the start, %.6g/s at the "
                                  "peak\n", h->base_per_s, h->peak_per_s);
    double load = h->peak_per_s * h->occupancy_s / (double)h->capacity;
    double headroom = h->sustainable_per_s - h->peak_per_s;
    g_string_append_printf(o, "  peak load            rate x T / K = %.6g x %g / %s = %.4g "
                              "(%s)\n",
                           h->peak_per_s, h->occupancy_s, cap, load,
                           load < 1 ? "below capacity" : "the pool runs dry");
    if (headroom >= 0)
        g_string_append_printf(o, "  headroom             K / T - peak = %.4g/s\n", headroom);
    else
        g_string_append_printf(o, "  in overload          carried about K / T = %.4g/s, "
                                  "failing about %.4g/s (%.1f%% of the peak)\n",
                               h->sustainable_per_s, -headroom,
                               100.0 * -headroom / h->peak_per_s);
    g_autofree char *ff = fmt_time(h->first_failure_s);
    if (h->has_step) {
        g_autofree char *at = fmt_time(h->step_at_s);
        double n0 = h->step_from_per_s * MIN(h->occupancy_s, h->step_at_s);
        g_string_append_printf(o, "  first failure        t0 + (K - busy at t0) / (r1 - r0) = "
                                  "%s + (%s - %.6g) / (%.6g - %.6g) = %s\n",
                               at, cap, n0, h->step_to_per_s, h->step_from_per_s, ff);
    } else
        g_string_append_printf(o, "  first failure        first t where the connections of the "
                                  "last T reach K: %s\n", ff);
    g_string_append_printf(o, "  Erlang B             B(E = rate x T / %g pool(s), m = C) = %.4g "
                              "at the peak",
                           (double)h->addresses * (h->exclusive ? 1 : h->destinations),
                           h->blocking_peak);
    if (h->base_per_s != h->peak_per_s)
        g_string_append_printf(o, ", %.4g at the start", h->blocking_base);
    g_string_append_printf(o, "%s\n", h->poisson ? "" : " (exact for Poisson arrivals only)");
}

static void add_number(JsonBuilder *b, const char *name, double v)
{
    json_builder_set_member_name(b, name);
    if (isfinite(v))
        json_builder_add_double_value(b, v);
    else
        json_builder_add_null_value(b);
}


static char *explain_json(const GPtrArray *hosts)
{
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "hosts");
    json_builder_begin_array(b);
    for (guint i = 0; i < hosts->len; i++) {
        const PsHostTheory *h = hosts->pdata[i];
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "name");
        json_builder_add_string_value(b, h->host);
        ps_json_int(b, "addresses", h->addresses);
        ps_json_int(b, "destinations", h->destinations);
        ps_json_int(b, "ports", (gint64)h->ports);
        ps_json_int(b, "capacity_tuples", (gint64)h->capacity);
        add_number(b, "holding_time_s", h->occupancy_s);
        add_number(b, "sustainable_per_s", h->sustainable_per_s);
        add_number(b, "base_per_s", h->base_per_s);
        add_number(b, "peak_per_s", h->peak_per_s);
        add_number(b, "first_failure_s", h->first_failure_s);
        add_number(b, "erlang_b_peak", h->blocking_peak);
        add_number(b, "erlang_b_base", h->blocking_base);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
    JsonGenerator *gen = json_generator_new();
    json_generator_set_pretty(gen, TRUE);
    JsonNode *root = json_builder_get_root(b);
    json_generator_set_root(gen, root);
    char *text = json_generator_to_data(gen, NULL);
    json_node_unref(root);
    g_object_unref(gen);
    g_object_unref(b);
    return text;
}

char *cli_explain_text(const SimScenario *scenario)
{
    g_autoptr(GPtrArray) hosts = ps_theory_hosts(scenario);
    GString *o = g_string_new(NULL);
    for (guint i = 0; i < hosts->len; i++) {
        if (i)
            g_string_append_c(o, '\n');
        explain_host(o, hosts->pdata[i]);
    }
    if (hosts->len == 0)
        g_string_append(o, "No host has a workload: nothing to explain.\n");
    else if (ps_theory_single_pool(scenario))
        g_string_append(o, "\nA single-pool loss system (one address, one destination, "
                           "Poisson arrivals at one rate):\nErlang B is the expected "
                           "failure ratio once the run is in steady state.\n");
    g_autofree char *nats = ps_nat_explain(scenario);
    if (nats)
        g_string_append_printf(o, "\n%s", nats);
    return g_string_free(o, FALSE);
}

int cmd_explain(int argc, char **argv)
{
    char **overrides = NULL;
    gboolean as_json = FALSE;
    GOptionEntry entries[] = {
        {"set", 0, 0, G_OPTION_ARG_STRING_ARRAY, &overrides,
         "Override a key first: kind.name.key=value; repeatable", "KEY=VALUE"},
        {"json", 0, 0, G_OPTION_ARG_NONE, &as_json, "Print the numbers as JSON", NULL},
        {NULL},
    };
    GOptionContext *ctx = g_option_context_new("SCENARIO.ini - the closed-form limits");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_summary(
        ctx, "Prints, per client host, the closed-form limits of the scenario with\n"
             "the formula and the numbers put into it: ports per address C, 4-tuple\n"
             "capacity K, port holding time T (handshake + hold + close + TIME_WAIT),\n"
             "the sustainable rate K / T, the load and headroom at the peak rate, the\n"
             "time of the first failure (fluid model; for a step surge\n"
             "t0 + (K - busy at t0) / (r1 - r0)) and Erlang B blocking; a proxy's\n"
             "own host is listed with its backend connections. Per [nat]: external\n"
             "capacity, entry life and the sustainable rate through it. Nothing is\n"
             "simulated: compare with `portsim run`.");
    g_option_context_set_description(
        ctx, "Examples:\n"
             "  portsim explain scenarios/kernel-100-ports.ini\n"
             "  portsim explain scenarios/flash-sale.ini --set host.shop.time_wait=30s\n"
             "  portsim explain scenarios/flash-sale.ini --json\n\n"
             "Exit codes: 0 success, 2 bad usage or bad scenario.\n");
    int code = EXIT_OK;
    SimSchema *schema = ps_schema_new();
    SimScenario *scenario = NULL;
    PsRun *run = NULL;
    GError *error = NULL;
    if (!cli_parse_options(ctx, &argc, &argv))
        code = EXIT_USAGE;
    else if (argc != 2) {
        fprintf(stderr, "portsim explain: expected one scenario file, got %d (see --help)\n",
                argc - 1);
        code = EXIT_USAGE;
    } else if (!(scenario = sim_scenario_load_file(schema, argv[1],
                                                   (const char *const *)overrides, &error)) ||
               /* building the network runs the same semantic checks as `run` */
               !(run = ps_run_new(scenario, 0, &error))) {
        code = cli_report_error(error);
        g_clear_error(&error);
    } else {
        g_autoptr(GPtrArray) hosts = ps_theory_hosts(scenario);
        if (as_json) {
            g_autofree char *text = explain_json(hosts);
            printf("%s\n", text);
        } else {
            g_autofree char *text = cli_explain_text(scenario);
            fputs(text, stdout);
        }
    }
    ps_run_free(run);
    sim_scenario_free(scenario);
    sim_schema_free(schema);
    g_strfreev(overrides);
    g_option_context_free(ctx);
    return code;
}
