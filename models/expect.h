/* [expect]: regression gates checked after a run (and per point of a sweep,
 * per allocator of a compare). Each key names a summary metric, optionally
 * of one entity, and each value a comparison:
 *
 *   [expect]
 *   failure_ratio = <= 0.001
 *   first_failure = >= 10m
 *   peak_utilization(host.shop) = <= 0.8
 *
 * A broken expectation makes portsim exit with code 1 after writing its
 * results, with a report naming each broken line, its bound and the value. */
#ifndef PS_EXPECT_H
#define PS_EXPECT_H

#include <glib.h>
#include <json-glib/json-glib.h>
#include "scenario.h"

typedef struct PsExpect PsExpect;

/* NULL with no error when the scenario has no [expect] section. A metric
 * or comparison that cannot be understood is SIM_ERROR_INPUT naming the
 * file, line and key. */
PsExpect *ps_expect_new(const SimScenario *scenario, GError **error);
void ps_expect_free(PsExpect *expect);

/* Checks every line against a summary (the JSON of summary.json). Appends
 * one line per expectation ("ok"/"BROKEN", key, bound, value) to report
 * when it is not NULL. TRUE when all hold. */
gboolean ps_expect_check(const PsExpect *expect, JsonNode *summary, GString *report);

/* The [expect] section and the grammar of its keys, for the schema
 * (models/keys.c registers them). */
const SimSectionDef *ps_expect_section(void);
const SimFreeKeysDef *ps_expect_free_keys(void);

#endif
