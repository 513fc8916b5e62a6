/* The result files of one simulated run, shared by `portsim run` and
 * `portsim kernel`: timeseries.csv, summary.json, scenario.effective.ini. */
#ifndef PS_CLI_RUN_OUTPUT_H
#define PS_CLI_RUN_OUTPUT_H

#include <glib.h>
#include <json-glib/json-glib.h>

#include "run.h"
#include "scenario.h"

/* Pretty-printed JSON with a final newline, written atomically. */
gboolean cli_write_json(const char *path, JsonNode *node, GError **error);

/* Creates dir and writes the three files; summary is ps_run_summary(run). */
gboolean cli_write_run_files(PsRun *run, const SimScenario *scenario, JsonNode *summary,
                             const char *dir, GError **error);

#endif
