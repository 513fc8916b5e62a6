/* portsim run: one scenario, one seed, results in one folder. */
#include <stdio.h>

#include "commands.h"
#include "exhaustion_plot.h"
#include "expect_report.h"
#include "report_cli.h"
#include "run_teaching.h"
#include "budget.h"
#include "keys.h"
#include "output.h"
#include "output_dir.h"
#include "progress.h"
#include "run.h"
#include "run_output.h"
#include "sim_error.h"
#include "terminal_summary.h"

typedef struct {
    char *out_dir;
    char *seed;
    char **overrides;
    gboolean no_plots;
    gboolean quiet;
    char *max_memory;
    gboolean no_report;
    char *command_line; /* as typed, shell-quoted: for the report */
    char *trace, *trace_filter, *pcap, *pcap_at;
} RunOptions;

static void render_plots(PsNetwork *net, SimEngine *engine, const char *dir, GString *written)
{
    g_autofree char *plot_dir = g_build_filename(dir, "plots", NULL);
    GError *error = NULL;
    if (!sim_output_mkdir(plot_dir, &error)) {
        fprintf(stderr, "portsim: warning: %s\n", error->message);
        g_error_free(error);
        return;
    }
    GPtrArray *targets = ps_network_plot_targets(net);
    for (guint i = 0; i < targets->len; i++) {
        const PsPlotTarget *t = targets->pdata[i];
        PlotExhaustionSpec spec = {
            .title = t->title,
            .subtitle = t->subtitle,
            .series = sim_engine_series(engine),
            .col_active = t->col_active,
            .col_time_wait = t->col_time_wait,
            .col_failures = t->col_failures,
            .failures_label = t->failures_label,
            .capacity = t->capacity,
            .capacity_label = t->capacity_label,
            .first_failure_s = t->first_failure_s,
            .mark_times = (const double *)t->mark_times->data,
            .mark_labels = (const char *const *)t->mark_labels->pdata,
            .n_marks = t->mark_times->len,
        };
        if (!plot_exhaustion(plot_dir, t->name, &spec, &error)) {
            fprintf(stderr, "portsim: warning: plot %s: %s\n", t->name, error->message);
            g_clear_error(&error);
            continue;
        }
        g_string_append_printf(written, ", plots/%s.svg", t->name);
    }
    g_ptr_array_free(targets, TRUE);
}

static int write_results(PsRun *run, const SimScenario *scenario, const char *dir,
                         const RunOptions *opt)
{
    GError *error = NULL;
    SimEngine *engine = ps_run_engine(run);
    JsonNode *summary = ps_run_summary(run);
    if (!cli_write_run_files(run, scenario, summary, dir, &error)) {
        json_node_unref(summary);
        return cli_report_error(error);
    }
    g_autoptr(GString) written = g_string_new("summary.json, timeseries.csv, "
                                              "scenario.effective.ini");
    if (!opt->no_plots)
        render_plots(ps_run_network(run), engine, dir, written);
    if (!opt->no_report) {
        cli_write_report(run, scenario, summary, dir, opt->command_line, NULL, FALSE);
        g_string_append(written, ", report.html");
    }
    if (!opt->quiet) {
        g_autoptr(GString) text = cli_terminal_summary(summary);
        fputs(text->str, stdout);
        printf("Results: %s/ (%s); %.2f s wall time\n", dir, written->str,
               ps_run_wall_seconds(run));
    }
    json_node_unref(summary);
    return EXIT_OK;
}

int cmd_run(int argc, char **argv)
{
    RunOptions opt = {0};
    opt.command_line = cli_command_line("run", argc, argv);
    GOptionEntry entries[] = {
        {"output", 'o', 0, G_OPTION_ARG_FILENAME, &opt.out_dir,
         "Write results into DIR (default: results/<scenario name>)", "DIR"},
        {"seed", 0, 0, G_OPTION_ARG_STRING, &opt.seed,
         "Master seed (same as --set scenario.seed=N)", "N"},
        {"set", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt.overrides,
         "Override a key: kind.name.key=value, or scenario.key=value; repeatable", "KEY=VALUE"},
        {"no-plots", 0, 0, G_OPTION_ARG_NONE, &opt.no_plots, "Do not render plots", NULL},
        {"trace", 0, 0, G_OPTION_ARG_FILENAME, &opt.trace,
         "Write a readable log of every connection's life (port chosen, SYN, ESTABLISHED, "
         "FIN, TIME_WAIT, EADDRNOTAVAIL, ...) to FILE",
         "FILE"},
        {"trace-filter", 0, 0, G_OPTION_ARG_STRING, &opt.trace_filter,
         "Keep only matching lines: entity=NAME, port=N, address=A, conn=N, joined by commas",
         "EXPR"},
        {"pcap", 0, 0, G_OPTION_ARG_FILENAME, &opt.pcap,
         "Write the simulated segments to FILE (pcap: open it in Wireshark or tshark)", "FILE"},
        {"pcap-at", 0, 0, G_OPTION_ARG_STRING, &opt.pcap_at,
         "Where the capture is taken: client (the default: the client hosts' connections), "
         "backend (the connections proxies open to their backends), or nat-outside "
         "(connections through a [nat], with its external address and port; SYNs it dropped "
         "do not appear)",
         "POINT"},
        {"no-report", 0, 0, G_OPTION_ARG_NONE, &opt.no_report,
         "Do not write report.html (the self-contained page with verdict, tables and plots)",
         NULL},
        {"quiet", 'q', 0, G_OPTION_ARG_NONE, &opt.quiet, "Print nothing but errors", NULL},
        {"max-memory", 0, 0, G_OPTION_ARG_STRING, &opt.max_memory,
         "Refuse a scenario estimated to need more than SIZE, and stop a run whose resident "
         "memory passes it (partial results, exit 1)", "SIZE"},
        {NULL},
    };
    GOptionContext *ctx = g_option_context_new("SCENARIO.ini - run a scenario");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_summary(
        ctx, "Runs the scenario and writes timeseries.csv, summary.json,\n"
             "scenario.effective.ini and plots/ (SVG, PNG, gnuplot script and data)\n"
             "into the output folder, then prints a summary table.");
    g_option_context_set_description(
        ctx, "Examples:\n"
             "  portsim run scenarios/flash-sale.ini\n"
             "  portsim run scenarios/flash-sale.ini --set workload.surge.hold=exp(2s) -o /tmp/fs\n"
             "  portsim run scenarios/flash-sale.ini --set host.shop.time_wait=30s --seed 7\n\n"
             "With an [expect] section, each line is checked after the results are\n"
             "written and a report is printed; a broken line gives exit code 1.\n\n"
             "Exit codes: 0 success, 1 run-time failure, interrupted run or broken\n"
             "[expect] line,\n"
             "2 bad usage or bad scenario. Ctrl-C stops the run and writes partial results.\n\n"
             "Output folder: a missing or empty folder is used as is; one holding a previous\n"
             "run (scenario.effective.ini) first loses that run's files (top-level\n"
             ".csv, .json, .html, .pcap, scenario.effective.ini, plots/); any other\n"
             "non-empty folder is refused (exit 2). Nothing is written outside it.\n\n"
             "Resources: a scenario estimated to need absurd resources (over 1e10\n"
             "connections, or more memory than the machine has or than --max-memory SIZE,\n"
             "e.g. 512M, 2G) is refused up front with the estimate (exit 2).\n");
    int code = EXIT_OK;
    SimSchema *schema = NULL;
    SimScenario *scenario = NULL;
    PsRun *run = NULL;
    PsExpect *expect = NULL;
    CliTeaching *teaching = NULL;
    GPtrArray *overrides = g_ptr_array_new_with_free_func(g_free);
    GError *error = NULL;
    char *name = NULL, *dir = NULL, *why = NULL;
    guint64 max_memory = 0;
    if (!cli_parse_options(ctx, &argc, &argv)) {
        code = EXIT_USAGE;
        goto out;
    }
    if (argc != 2) {
        fprintf(stderr, "portsim run: expected one scenario file, got %d (see --help)\n",
                argc - 1);
        code = EXIT_USAGE;
        goto out;
    }
    if (opt.max_memory && !ps_budget_parse_size(opt.max_memory, &max_memory, &error)) {
        code = cli_report_error(error);
        goto out;
    }
    for (char **o = opt.overrides; o && *o; o++)
        g_ptr_array_add(overrides, g_strdup(*o));
    if (opt.seed)
        g_ptr_array_add(overrides, g_strconcat("scenario.seed=", opt.seed, NULL));
    g_ptr_array_add(overrides, NULL);

    schema = ps_schema_new();
    scenario = sim_scenario_load_file(schema, argv[1], (const char *const *)overrides->pdata,
                                      &error);
    if (!scenario || (max_memory && !ps_budget_check(scenario, max_memory, &error)) ||
        !(run = ps_run_new(scenario, 0, &error)) ||
        (!(expect = ps_expect_new(scenario, &error)) && error)) {
        code = cli_report_error(error);
        goto out;
    }
    SimSection *sc = sim_scenario_find(scenario, "scenario", NULL);
    name = cli_scenario_name(argv[1],
                             sim_section_has(sc, "name") ? sim_section_text(sc, "name") : NULL);
    dir = opt.out_dir ? g_strdup(opt.out_dir) : g_build_filename("results", name, NULL);
    if (!cli_prepare_output_dir(dir, &error)) {
        code = cli_report_error(error);
        goto out;
    }
    if (!opt.quiet && sim_section_has(sc, "description"))
        printf("%s\n", sim_section_text(sc, "description"));

    teaching = cli_teaching_open(run, opt.trace, opt.trace_filter, opt.pcap, opt.pcap_at, &error);
    if (!teaching && error) {
        code = cli_report_error(error);
        goto out;
    }
    cli_catch_interrupts();
    CliProgress *progress = cli_progress_new(name, ps_run_duration(run));
    cli_progress_set_memory_limit(progress, max_memory);
    ps_run_set_progress(run, cli_progress_update, progress, 200);
    gboolean complete = ps_run_execute(run);
    why = ps_run_error(run) ? g_strdup(ps_run_error(run)->message)
              : g_strdup(cli_progress_stop_reason(progress));
    cli_progress_free(progress);
    gboolean taught = cli_teaching_close(teaching, &error);
    teaching = NULL;
    if (!taught) {
        code = cli_report_error(error);
        goto out;
    }
    code = write_results(run, scenario, dir, &opt);
    if (code == EXIT_OK && !complete) {
        fprintf(stderr, "portsim: %s: partial results written to %s/\n",
                why ? why : "interrupted", dir);
        code = EXIT_RUNTIME;
    }
    if (code == EXIT_OK && expect)
        code = cli_check_expect(expect, ps_run_summary(run), NULL, opt.quiet);
out:
    cli_teaching_close(teaching, NULL);
    ps_expect_free(expect);
    g_free(name);
    g_free(dir);
    g_free(why);
    g_clear_error(&error);
    ps_run_free(run);
    sim_scenario_free(scenario);
    if (schema)
        sim_schema_free(schema);
    g_ptr_array_free(overrides, TRUE);
    g_option_context_free(ctx);
    g_free(opt.out_dir);
    g_free(opt.seed);
    g_free(opt.command_line);
    g_free(opt.max_memory);
    g_free(opt.trace);
    g_free(opt.trace_filter);
    g_free(opt.pcap);
    g_free(opt.pcap_at);
    g_strfreev(opt.overrides);
    return code;
}
