/* Loading a scenario: INI text -> validated, typed sections.
 *
 * The file is read with GKeyFile after inline comments (" ; ..." and
 * " # ...") are blanked out, keeping line numbers. Sections are "[kind]" or
 * "[kind name]". Every key is checked against the schema; unknown sections
 * and keys are errors with a "did you mean" hint. Overrides
 * ("kind.name.key=value", or "kind.key=value" for unnamed sections) are
 * applied after the file and checked the same way. A free-keys section (see
 * SimFreeKeysDef, e.g. [expect]) is not added when missing; an override of
 * one ("expect.failure_ratio=<= 0.01") creates it.
 *
 * Error messages have the form
 *   FILE:LINE: [kind name] key: what was wrong; what was expected
 * or, for an override,
 *   --set kind.name.key=value: what was wrong; what was expected
 * and carry SIM_ERROR_INPUT. Loading stops at the first error. */
#ifndef SIM_SCENARIO_H
#define SIM_SCENARIO_H

#include <glib.h>
#include <stdint.h>
#include "schema.h"
#include "sim_time.h"
#include "values.h"

typedef struct SimScenario SimScenario;
typedef struct SimSection SimSection;

/* `path` may also be the bare name of a library scenario ("flash-sale"),
 * looked up when no such file exists; see sim_scenario_set_library(). */
SimScenario *sim_scenario_load_file(const SimSchema *schema, const char *path,
                                    const char *const *overrides, GError **error);
/* The folders of the scenario library, searched (after the colon-separated
 * $PORTSIM_SCENARIO_PATH) for bare names. Set once by the program. */
void sim_scenario_set_library(const char *const *dirs);
/* `origin` names the text in messages (normally its path). */
SimScenario *sim_scenario_load_data(const SimSchema *schema, const char *data, const char *origin,
                                    const char *const *overrides, GError **error);
void sim_scenario_free(SimScenario *scenario);

const SimSchema *sim_scenario_schema(const SimScenario *scenario);
const char *sim_scenario_origin(const SimScenario *scenario);

/* Sections in file order. Unnamed sections may be absent from the file:
 * the loader adds each missing one with all defaults, ahead of the file's
 * sections, in schema order (so [scenario] always exists). Overrides never
 * create sections. */
guint sim_scenario_n_sections(const SimScenario *scenario);
SimSection *sim_scenario_section_at(const SimScenario *scenario, guint i);
/* name is NULL for an unnamed kind. */
SimSection *sim_scenario_find(const SimScenario *scenario, const char *kind, const char *name);

const char *sim_section_kind(const SimSection *section);
const char *sim_section_name(const SimSection *section); /* NULL when unnamed */
/* "host shop" or "scenario": what stands between the brackets. */
const char *sim_section_label(const SimSection *section);

/* TRUE when the key has a value: given in the file or an override, by a
 * preset, or by a schema default. Keys are those the schema declares for the
 * section's kind; any other is a programming error (g_error) here and in
 * the getters below. */
gboolean sim_section_has(const SimSection *section, const char *key);
/* Where the value came from: "file", "override", "preset", "default";
 * NULL when the key has no value. */
const char *sim_section_source(const SimSection *section, const char *key);

/* Typed getters. Values were validated at load time, so these cannot fail;
 * asking for a key the schema does not declare with that type, or one with
 * no value, is a programming error (g_error). */
/* Works for every type: the value as written, trimmed (for STRING and ENUM
 * keys, the value itself). */
const char *sim_section_text(const SimSection *section, const char *key);
int64_t sim_section_int(const SimSection *section, const char *key);
double sim_section_float(const SimSection *section, const char *key);
gboolean sim_section_bool(const SimSection *section, const char *key);
SimTime sim_section_duration(const SimSection *section, const char *key);
double sim_section_rate(const SimSection *section, const char *key);
SimRange sim_section_range(const SimSection *section, const char *key);
/* Arrays are owned by the section. */
const GArray *sim_section_range_list(const SimSection *section, const char *key); /* SimRange */
const GArray *sim_section_addresses(const SimSection *section, const char *key);  /* SimAddress */
const SimDist *sim_section_distribution(const SimSection *section, const char *key);
const GArray *sim_section_schedule(const SimSection *section, const char *key); /* SimSchedulePoint */
/* For a REFERENCE, the section it names (which exists: the loader checks). */
SimSection *sim_section_reference(const SimSection *section, const char *key);

/* The keys of a free-keys section (see SimFreeKeysDef), in file order then
 * override order. Their values: sim_section_text; their lines for messages:
 * sim_section_error. Other sections have none. */
guint sim_section_n_free_keys(const SimSection *section);
const char *sim_section_free_key_at(const SimSection *section, guint i);

/* For semantic errors found after loading (say, a workload whose host is a
 * fleet too small): sets SIM_ERROR_INPUT with the same "FILE:LINE: [label]
 * key: ..." prefix as the loader, pointing at the key's line (or the
 * section header when the key came from a default, or the --set argument
 * when it came from an override). `key` may be NULL for an error about the
 * whole section. Returns FALSE. */
gboolean sim_section_error(const SimSection *section, const char *key, GError **error,
                           const char *format, ...) G_GNUC_PRINTF(4, 5);

/* The scenario as it will run: every section with every key's effective
 * value (file, override, preset or default), in schema order, with a comment
 * naming each value's source when it is not the file. Loading this text
 * gives the same scenario. */
GString *sim_scenario_effective_ini(const SimScenario *scenario);

#endif
