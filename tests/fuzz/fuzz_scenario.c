/* libFuzzer target: arbitrary bytes as a scenario file, loaded with the
 * models' real schema; a scenario that loads must give an effective INI
 * that loads again (the reproducibility promise), and is then built into
 * a run (not executed: a run's length is the scenario's business, and
 * budget.h already refuses absurd ones). Any crash, sanitizer report or
 * trap is a finding. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "keys.h"
#include "run.h"

/* Keep a single input cheap: builds needing more than this are skipped
 * (the refusal path itself is exercised by ps_budget_check). */
#define FUZZ_MAX_BYTES (64u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static SimSchema *schema;
    if (!schema)
        schema = ps_schema_new();
    char *text = g_strndup((const char *)data, size);
    GError *error = NULL;
    SimScenario *sc = sim_scenario_load_data(schema, text, "fuzz.ini", NULL, &error);
    if (!sc) {
        /* Refusals must say something. */
        if (!error || !error->message || !error->message[0])
            abort();
        g_error_free(error);
        g_free(text);
        return 0;
    }
    GString *effective = sim_scenario_effective_ini(sc);
    SimScenario *again = sim_scenario_load_data(schema, effective->str, "effective.ini", NULL,
                                                &error);
    if (!again) {
        fprintf(stderr, "effective INI does not reload: %s\n%s\n", error->message,
                effective->str);
        abort();
    }
    sim_scenario_free(again);
    g_string_free(effective, TRUE);
    if (ps_budget_check(sc, FUZZ_MAX_BYTES, &error)) {
        PsRun *run = ps_run_new(sc, 0, &error);
        ps_run_free(run);
    }
    g_clear_error(&error);
    sim_scenario_free(sc);
    g_free(text);
    return 0;
}
