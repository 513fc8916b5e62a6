/* Result files of a simulated run (see run_output.h). */
#include "run_output.h"

#include "output.h"

gboolean cli_write_json(const char *path, JsonNode *node, GError **error)
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

gboolean cli_write_run_files(PsRun *run, const SimScenario *scenario, JsonNode *summary,
                             const char *dir, GError **error)
{
    g_autoptr(GString) csv = sim_series_to_csv(sim_engine_series(ps_run_engine(run)));
    g_autoptr(GString) ini = sim_scenario_effective_ini(scenario);
    g_autofree char *p_csv = g_build_filename(dir, "timeseries.csv", NULL);
    g_autofree char *p_json = g_build_filename(dir, "summary.json", NULL);
    g_autofree char *p_ini = g_build_filename(dir, "scenario.effective.ini", NULL);
    return sim_output_mkdir(dir, error) &&
           sim_output_write(p_csv, csv->str, (gssize)csv->len, error) &&
           sim_output_write(p_ini, ini->str, (gssize)ini->len, error) &&
           cli_write_json(p_json, summary, error);
}
