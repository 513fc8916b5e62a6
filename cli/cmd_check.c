/* portsim check: load and build a scenario, run nothing. */
#include <stdio.h>

#include "commands.h"
#include "expect.h"
#include "keys.h"
#include "run.h"

int cmd_check(int argc, char **argv)
{
    char **overrides = NULL;
    GOptionEntry entries[] = {
        {"set", 0, 0, G_OPTION_ARG_STRING_ARRAY, &overrides,
         "Check with an override applied: kind.name.key=value; repeatable", "KEY=VALUE"},
        {NULL},
    };
    GOptionContext *ctx = g_option_context_new("SCENARIO.ini... - validate scenarios");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_summary(
        ctx, "Checks every section, key and value against the schema and builds the\n"
             "network without running it. Prints one line per file; the first error\n"
             "names file, line, section and key.");
    g_option_context_set_description(ctx, "Exit codes: 0 all valid, 2 an error was found.\n");
    int code = EXIT_OK;
    if (!cli_parse_options(ctx, &argc, &argv)) {
        code = EXIT_USAGE;
    } else if (argc < 2) {
        fprintf(stderr, "portsim check: expected at least one scenario file (see --help)\n");
        code = EXIT_USAGE;
    }
    SimSchema *schema = ps_schema_new();
    for (int i = 1; code == EXIT_OK && i < argc; i++) {
        GError *error = NULL;
        SimScenario *scenario = sim_scenario_load_file(schema, argv[i],
                                                       (const char *const *)overrides, &error);
        PsRun *run = scenario ? ps_run_new(scenario, 0, &error) : NULL;
        /* [expect] scopes name sections: checked once the scenario is whole */
        PsExpect *expect = run ? ps_expect_new(scenario, &error) : NULL;
        ps_expect_free(expect);
        if (run && error) {
            ps_run_free(run);
            run = NULL;
        }
        if (!run) {
            code = cli_report_error(error);
            g_error_free(error);
        } else {
            guint n = sim_scenario_n_sections(scenario);
            printf("%s: OK (%u section%s)\n", argv[i], n, n == 1 ? "" : "s");
        }
        ps_run_free(run);
        sim_scenario_free(scenario);
    }
    sim_schema_free(schema);
    g_strfreev(overrides);
    g_option_context_free(ctx);
    return code;
}
