/* portsim run: one scenario, one seed, results in one folder. */
#include <stdio.h>

#include "commands.h"
#include "exhaustion_plot.h"
#include "keys.h"
#include "output.h"
#include "progress.h"
#include "run.h"
#include "sim_error.h"
#include "terminal_summary.h"

typedef struct {
    char *out_dir;
    char *seed;
    char **overrides;
    gboolean no_plots;
    gboolean quiet;
} RunOptions;

static gboolean write_json(const char *path, JsonNode *node, GError **error)
{
    JsonGenerator *gen = json_generator_new();
    json_generator_set_pretty(gen, TRUE);
    json_generator_set_indent(gen, 2);
    json_generator_set_root(gen, node);
    gsize len = 0;
    g_autofree char *text = json_generator_to_data(gen, &len);
    g_object_unref(gen);
    g_autofree char *with_newline = g_strconcat(text, "\n", NULL);
    return sim_output_write(path, with_newline, -1, error);
}

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
            .capacity = t->capacity,
            .capacity_label = t->capacity_label,
            .first_failure_s = t->first_failure_s,
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
    g_autoptr(GString) csv = sim_series_to_csv(sim_engine_series(engine));
    g_autoptr(GString) ini = sim_scenario_effective_ini(scenario);
    JsonNode *summary = ps_run_summary(run);
    g_autofree char *p_csv = g_build_filename(dir, "timeseries.csv", NULL);
    g_autofree char *p_json = g_build_filename(dir, "summary.json", NULL);
    g_autofree char *p_ini = g_build_filename(dir, "scenario.effective.ini", NULL);
    gboolean ok = sim_output_mkdir(dir, &error) &&
                  sim_output_write(p_csv, csv->str, (gssize)csv->len, &error) &&
                  sim_output_write(p_ini, ini->str, (gssize)ini->len, &error) &&
                  write_json(p_json, summary, &error);
    if (!ok) {
        json_node_unref(summary);
        return cli_report_error(error);
    }
    g_autoptr(GString) written = g_string_new("summary.json, timeseries.csv, "
                                              "scenario.effective.ini");
    if (!opt->no_plots)
        render_plots(ps_run_network(run), engine, dir, written);
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
    GOptionEntry entries[] = {
        {"output", 'o', 0, G_OPTION_ARG_FILENAME, &opt.out_dir,
         "Write results into DIR (default: results/<scenario name>)", "DIR"},
        {"seed", 0, 0, G_OPTION_ARG_STRING, &opt.seed,
         "Master seed (same as --set scenario.seed=N)", "N"},
        {"set", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt.overrides,
         "Override a key: kind.name.key=value, or scenario.key=value; repeatable", "KEY=VALUE"},
        {"no-plots", 0, 0, G_OPTION_ARG_NONE, &opt.no_plots, "Do not render plots", NULL},
        {"quiet", 'q', 0, G_OPTION_ARG_NONE, &opt.quiet, "Print nothing but errors", NULL},
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
             "Exit codes: 0 success, 1 run-time failure or interrupted run,\n"
             "2 bad usage or bad scenario. Ctrl-C stops the run and writes partial results.\n");
    int code = EXIT_OK;
    SimSchema *schema = NULL;
    SimScenario *scenario = NULL;
    PsRun *run = NULL;
    GPtrArray *overrides = g_ptr_array_new_with_free_func(g_free);
    GError *error = NULL;
    char *name = NULL, *dir = NULL;
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
    for (char **o = opt.overrides; o && *o; o++)
        g_ptr_array_add(overrides, g_strdup(*o));
    if (opt.seed)
        g_ptr_array_add(overrides, g_strconcat("scenario.seed=", opt.seed, NULL));
    g_ptr_array_add(overrides, NULL);

    schema = ps_schema_new();
    scenario = sim_scenario_load_file(schema, argv[1], (const char *const *)overrides->pdata,
                                      &error);
    if (!scenario || !(run = ps_run_new(scenario, 0, &error))) {
        code = cli_report_error(error);
        goto out;
    }
    SimSection *sc = sim_scenario_find(scenario, "scenario", NULL);
    name = cli_scenario_name(argv[1],
                             sim_section_has(sc, "name") ? sim_section_text(sc, "name") : NULL);
    dir = opt.out_dir ? g_strdup(opt.out_dir) : g_build_filename("results", name, NULL);
    if (!opt.quiet && sim_section_has(sc, "description"))
        printf("%s\n", sim_section_text(sc, "description"));

    cli_catch_interrupts();
    CliProgress *progress = cli_progress_new(name, ps_run_duration(run));
    ps_run_set_progress(run, cli_progress_update, progress, 200);
    gboolean complete = ps_run_execute(run);
    cli_progress_free(progress);
    code = write_results(run, scenario, dir, &opt);
    if (code == EXIT_OK && !complete) {
        fprintf(stderr, "portsim: interrupted: partial results written to %s/\n", dir);
        code = EXIT_RUNTIME;
    }
out:
    g_free(name);
    g_free(dir);
    g_clear_error(&error);
    ps_run_free(run);
    sim_scenario_free(scenario);
    if (schema)
        sim_schema_free(schema);
    g_ptr_array_free(overrides, TRUE);
    g_option_context_free(ctx);
    g_free(opt.out_dir);
    g_free(opt.seed);
    g_strfreev(opt.overrides);
    return code;
}
