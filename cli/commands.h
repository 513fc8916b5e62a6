/* The subcommands of the portsim program. Each takes the arguments after
 * its own name (argv[0] is the subcommand) and returns the exit code:
 * 0 success, 1 run-time failure, 2 bad usage or bad scenario. */
#ifndef PS_CLI_COMMANDS_H
#define PS_CLI_COMMANDS_H

#include <glib.h>

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

int cmd_run(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_run_one(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_kernel(int argc, char **argv);
int cmd_compare(int argc, char **argv);

/* Parses options; on a bad flag prints one message and returns FALSE.
 * Remaining positional arguments are left in argc/argv. */
gboolean cli_parse_options(GOptionContext *context, int *argc, char ***argv);
/* Prints "portsim: MESSAGE" on stderr and returns the exit code matching the
 * error (2 for input errors, 1 otherwise). */
int cli_report_error(const GError *error);
/* What `portsim explain` prints for a scenario (also in report.html). */
typedef struct SimScenario SimScenario;
char *cli_explain_text(const SimScenario *scenario);

/* "portsim CMD ARGS...", shell-quoted as typed (before option parsing):
 * the reports' "reproduce" line. */
char *cli_command_line(const char *cmd, int argc, char **argv);
/* Scenario name: the `name` key, else the file name without ".ini". */
char *cli_scenario_name(const char *path, const char *name_key);

#endif
