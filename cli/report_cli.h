/* report.html for `portsim run`. */
#ifndef PS_CLI_REPORT_H
#define PS_CLI_REPORT_H

#include <glib.h>
#include <json-glib/json-glib.h>
#include "run.h"
#include "scenario.h"

/* Writes DIR/report.html; a failure is a warning, never fatal. The plots
 * must already be in DIR/plots/. command_line reproduces the run. */
void cli_write_report(PsRun *run, const SimScenario *scenario, JsonNode *summary,
                      const char *dir, const char *command_line, const char *expect_text,
                      gboolean expect_broken);

#endif
