/* Printing the [expect] report after a run and turning it into an exit code. */
#ifndef PS_CLI_EXPECT_REPORT_H
#define PS_CLI_EXPECT_REPORT_H

#include <json-glib/json-glib.h>
#include "expect.h"

/* Checks `summary` (consumed) against every line; prints the report on
 * stdout unless quiet, and the broken lines on stderr always. Returns
 * EXIT_OK when all hold, EXIT_RUNTIME otherwise. `what` names what was
 * checked in the messages ("run", "point 3"), or NULL. */
int cli_check_expect(const PsExpect *expect, JsonNode *summary, const char *what,
                     gboolean quiet);

#endif
