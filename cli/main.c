/* portsim: the one place that wires models, engine and plots together. */
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "scenario.h"
#include "sim_error.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"run", cmd_run, "run a scenario and write its results (timeseries, summary, plots)"},
    {"check", cmd_check, "validate a scenario without running it"},
    {"list", cmd_list, "list keys, allocators, presets or scenarios"},
    {"explain", cmd_explain, "print the closed-form limits of a scenario, with the formulas"},
    {"sweep", cmd_sweep, "vary keys over a grid with replications: means, 95% intervals, plots"},
    {"run-one", cmd_run_one, "execute one line of a sweep's run list (for clusters)"},
    {"merge", cmd_merge, "merge a sweep's per-run results into its outputs"},
    {"kernel", cmd_kernel, "replay a scenario on the real Linux kernel and compare (root)"},
    {"compare", cmd_compare, "run a scenario under several allocators, side by side"},
};

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: portsim COMMAND [OPTIONS] ...\n\n"
            "Simulates how clients, servers, NAT boxes and load balancers run out of\n"
            "ephemeral ports, and reports exhaustion curves.\n\nCommands:\n");
    for (guint i = 0; i < G_N_ELEMENTS(commands); i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'portsim COMMAND --help' describes a command's options.\n"
                 "Example: portsim run scenarios/flash-sale.ini\n"
                 "Exit codes: 0 success, 1 run-time failure, 2 bad usage or bad scenario.\n");
}

gboolean cli_parse_options(GOptionContext *context, int *argc, char ***argv)
{
    GError *error = NULL;
    if (!g_option_context_parse(context, argc, argv, &error)) {
        fprintf(stderr, "portsim: %s (see --help)\n", error->message);
        g_error_free(error);
        return FALSE;
    }
    return TRUE;
}

int cli_report_error(const GError *error)
{
    fprintf(stderr, "portsim: %s\n", error->message);
    return error->domain == SIM_ERROR && error->code == SIM_ERROR_RUNTIME ? EXIT_RUNTIME
                                                                          : EXIT_USAGE;
}

char *cli_command_line(const char *cmd, int argc, char **argv)
{
    GString *s = g_string_new("portsim ");
    g_string_append(s, cmd);
    for (int i = 1; i < argc; i++) {
        g_autofree char *q = g_shell_quote(argv[i]);
        g_string_append_printf(s, " %s", q);
    }
    return g_string_free(s, FALSE);
}

char *cli_scenario_name(const char *path, const char *name_key)
{
    if (name_key && *name_key)
        return g_strdup(name_key);
    char *base = g_path_get_basename(path);
    if (g_str_has_suffix(base, ".ini"))
        base[strlen(base) - 4] = '\0';
    return base;
}

int main(int argc, char **argv)
{
    /* Messages may follow the user's locale; numbers never do. */
    setlocale(LC_ALL, "");
    setlocale(LC_NUMERIC, "C");
    /* `portsim run flash-sale`: the installed library, then the source tree. */
    const char *library[] = {PORTSIM_SCENARIO_DIR, PORTSIM_SOURCE_SCENARIO_DIR, NULL};
    sim_scenario_set_library(library);
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        if (argc > 2 && strcmp(cmd, "help") == 0) {
            char *help_argv[] = {argv[2], (char *)"--help", NULL};
            for (guint i = 0; i < G_N_ELEMENTS(commands); i++)
                if (!strcmp(commands[i].name, argv[2])) {
                    g_autofree char *full = g_strconcat("portsim ", argv[2], NULL);
                    g_set_prgname(full);
                    return commands[i].run(2, help_argv);
                }
        }
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(cmd, "--version")) {
        printf("portsim %s\n", PORTSIM_VERSION);
        return EXIT_OK;
    }
    for (guint i = 0; i < G_N_ELEMENTS(commands); i++)
        if (!strcmp(commands[i].name, cmd)) {
            /* "Usage: portsim run ..." in the subcommand's --help */
            g_autofree char *full = g_strconcat("portsim ", cmd, NULL);
            g_set_prgname(full);
            return commands[i].run(argc - 1, argv + 1);
        }
    fprintf(stderr, "portsim: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return EXIT_USAGE;
}
