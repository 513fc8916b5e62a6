/* Scenario arguments: a file path, or the name of a library scenario
 * ("flash-sale") looked up in $PORTSIM_SCENARIO_PATH (colon-separated), the
 * installed library (share/portsim/scenarios) and the source tree's
 * scenarios/ folder, in that order. */
#ifndef PS_CLI_SCENARIO_PATH_H
#define PS_CLI_SCENARIO_PATH_H

/* The file to load: `arg` itself when it exists or names a path, else the
 * first library match, else `arg` (so the loader reports it missing). */
char *cli_find_scenario(const char *arg);

#endif
