/* Gathers what report.html shows from a finished run and writes it. */
#include <stdio.h>

#include "report.h"
#include "commands.h"
#include "report_cli.h"

void cli_write_report(PsRun *run, const SimScenario *scenario, JsonNode *summary,
                      const char *dir, const char *command_line, const char *expect_text,
                      gboolean expect_broken)
{
    GPtrArray *targets = ps_network_plot_targets(ps_run_network(run));
    GArray *plots = g_array_new(FALSE, TRUE, sizeof(PsReportPlot));
    GPtrArray *owned = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < targets->len; i++) {
        const PsPlotTarget *t = targets->pdata[i];
        g_autofree char *file = g_strconcat(t->name, ".svg", NULL);
        char *path = g_build_filename(dir, "plots", file, NULL);
        char *alt = g_strdup_printf("%s. %s. Stacked areas: 4-tuples of open connections and "
                                    "in TIME_WAIT against the %s; line: %s.",
                                    t->title, t->subtitle, t->capacity_label,
                                    t->failures_label ? t->failures_label
                                                      : "failed attempts / s");
        g_ptr_array_add(owned, path);
        g_ptr_array_add(owned, alt);
        PsReportPlot p = {path, alt};
        g_array_append_val(plots, p);
    }
    g_autoptr(GString) ini = sim_scenario_effective_ini(scenario);
    g_autofree char *limits = cli_explain_text(scenario);
    SimSection *sc = sim_scenario_find(scenario, "scenario", NULL);
    g_autofree char *effective = g_build_filename(dir, "scenario.effective.ini", NULL);
    g_autofree char *command = g_strdup_printf("%s\n\n# or, from the results folder alone:\n"
                                               "portsim run %s",
                                               command_line, effective);
    PsRunReport report = {
        .summary = summary,
        .description = sim_section_has(sc, "description") ? sim_section_text(sc, "description")
                                                          : NULL,
        .effective_ini = ini->str,
        .command_line = command,
        .plots = (const PsReportPlot *)plots->data,
        .n_plots = plots->len,
        .limits_text = limits,
        .expect_text = expect_text,
        .expect_broken = expect_broken,
    };
    g_autofree char *path = g_build_filename(dir, "report.html", NULL);
    GError *error = NULL;
    if (!ps_report_write_run(path, &report, &error)) {
        fprintf(stderr, "portsim: warning: report.html: %s\n", error->message);
        g_error_free(error);
    }
    g_array_free(plots, TRUE);
    g_ptr_array_free(owned, TRUE);
    g_ptr_array_free(targets, TRUE);
}
