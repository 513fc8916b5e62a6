/* The declarative schema of scenario files.
 *
 * Every section kind and key is declared once here (name, type, default,
 * bounds, help). The loader, `portsim check`, `portsim list keys`, the
 * generated docs and the error messages all read it. sim/ owns the
 * machinery; the declarations themselves come from models/. */
#ifndef SIM_SCHEMA_H
#define SIM_SCHEMA_H

#include <glib.h>
#include <stdint.h>
#include "values.h"

typedef enum {
    SIM_TYPE_STRING,
    SIM_TYPE_INT,          /* min/max: integers */
    SIM_TYPE_FLOAT,        /* min/max: numbers */
    SIM_TYPE_BOOL,
    SIM_TYPE_ENUM,         /* choices: "a|b|c" */
    SIM_TYPE_DURATION,     /* min/max: durations */
    SIM_TYPE_RATE,         /* min/max: rates */
    SIM_TYPE_RANGE,        /* "lo-hi"; min/max: integers bounding both ends */
    SIM_TYPE_RANGE_LIST,   /* "443, 8000-8010"; min/max as RANGE */
    SIM_TYPE_ADDRESSES,    /* address list; max: most addresses allowed */
    SIM_TYPE_DISTRIBUTION, /* min/max: bounds on the mean, as durations */
    SIM_TYPE_SCHEDULE,
    SIM_TYPE_REFERENCE,    /* "KIND NAME"; choices: kinds allowed, "server|lb" */
} SimValueType;

typedef enum {
    SIM_KEY_OPTIONAL = 0, /* may be absent when default is NULL */
    SIM_KEY_REQUIRED = 1 << 0,
    /* REFERENCE with several kinds: a bare NAME names the first kind
     * ("api" for "server|lb"); without it only "KIND NAME" is accepted. */
    SIM_KEY_BARE_FIRST = 1 << 1,
} SimKeyFlags;

typedef struct {
    const char *name;
    SimValueType type;
    const char *default_value; /* in file syntax; NULL: no default */
    const char *min;           /* in file syntax; NULL: unbounded */
    const char *max;
    const char *choices;       /* ENUM and REFERENCE */
    SimKeyFlags flags;
    const char *help;          /* one or two sentences; cite sources of numbers */
} SimKeyDef;

typedef struct {
    const char *kind;  /* "scenario", "host", "server", "workload", ... */
    gboolean named;    /* [host NAME] when TRUE, [scenario] when FALSE */
    const char *help;
    const SimKeyDef *keys;
    guint n_keys;
} SimSectionDef;

/* A preset: named defaults for one section kind, e.g. host "linux". Values
 * given in the file override the preset; the preset overrides the schema
 * default. `pairs` is NULL-terminated: key, value, key, value, ..., NULL. */
typedef struct {
    const char *kind;
    const char *name;
    const char *help; /* what it models and where each number comes from */
    const char *const *pairs;
} SimPresetDef;

/* A section whose keys are not a fixed list but follow a grammar, such as
 * [expect], whose keys are metric names with an optional scope
 * ("peak_utilization(host.shop)"). Registered beside the section (so that
 * the positional SimSectionDef tables stay as they are). Its values are
 * kept as text; `check` validates a key and its value together, setting
 * SIM_ERROR_INPUT with the bare reason (the loader adds file, line and key)
 * and a "did you mean" of its own. `names` and `helps` (parallel,
 * NULL-terminated) document the known key names; `key_form` and
 * `value_form` describe the syntax, for `portsim list keys`. */
typedef struct {
    const char *key_form;
    const char *value_form;
    const char *const *names;
    const char *const *helps;
    gboolean (*check)(const char *key, const char *value, GError **error);
} SimFreeKeysDef;

typedef struct SimSchema SimSchema;

SimSchema *sim_schema_new(void);
void sim_schema_free(SimSchema *schema);

/* The definitions are not copied: they must outlive the schema (use static
 * tables). Defaults, bounds and preset values are checked when added, and a
 * bad one is a programming error (g_error); add a preset after its section. */
void sim_schema_add_section(SimSchema *schema, const SimSectionDef *section);
void sim_schema_add_preset(SimSchema *schema, const SimPresetDef *preset);

/* Makes an already added section take free keys (see SimFreeKeysDef); its
 * SimSectionDef should declare no keys. Not copied: must outlive the schema. */
void sim_schema_set_free_keys(SimSchema *schema, const char *kind, const SimFreeKeysDef *free_keys);
/* NULL for a section with a fixed list of keys. */
const SimFreeKeysDef *sim_schema_free_keys(const SimSchema *schema, const char *kind);

const SimSectionDef *sim_schema_section(const SimSchema *schema, const char *kind);
const SimKeyDef *sim_schema_key(const SimSectionDef *section, const char *key);
const SimPresetDef *sim_schema_preset(const SimSchema *schema, const char *kind,
                                      const char *name);

/* In declaration order. */
guint sim_schema_n_sections(const SimSchema *schema);
const SimSectionDef *sim_schema_section_at(const SimSchema *schema, guint i);
guint sim_schema_n_presets(const SimSchema *schema);
const SimPresetDef *sim_schema_preset_at(const SimSchema *schema, guint i);

/* A readable name of a type with an example, e.g. "duration (60s, 250ms)". */
const char *sim_value_type_describe(SimValueType type);

/* Checks `text` against the key's type, bounds and choices. On failure sets
 * SIM_ERROR_INPUT with a message that says what was expected (without file
 * or key: the caller prefixes them). References are checked for syntax and
 * allowed kind only; whether the target exists is the loader's job. */
gboolean sim_schema_check_value(const SimKeyDef *key, const char *text, GError **error);

/* The closest candidate by edit distance, or NULL when none is close enough
 * to be a plausible typo. */
const char *sim_schema_suggest(const char *word, const char *const *candidates, guint n);

/* What a key expects, for messages: "a duration (60s, 250ms)", "one of
 * client or server", "a reference to a host". Caller frees. */
char *sim_schema_key_describe(const SimKeyDef *key);

/* Whether a REFERENCE key may name a section of this kind. */
gboolean sim_schema_reference_allows(const SimKeyDef *key, const char *kind);

/* Section names: [A-Za-z0-9_.-]+, so they fit in --set paths and metric
 * names. */
gboolean sim_schema_name_is_valid(const char *name);

/* A value parsed according to its key. STRING and ENUM carry nothing here:
 * their text is the value. */
typedef struct {
    SimValueType type;
    union {
        int64_t i;      /* INT */
        double f;       /* FLOAT; RATE, per second */
        gboolean b;     /* BOOL */
        SimTime t;      /* DURATION */
        SimRange range; /* RANGE */
        GArray *array;  /* RANGE_LIST: SimRange; ADDRESSES: SimAddress;
                           SCHEDULE: SimSchedulePoint */
        SimDist dist;   /* DISTRIBUTION */
        struct {
            char *kind;
            char *name;
        } ref; /* REFERENCE, "NAME" alone already expanded to its kind */
    } u;
} SimValue;

/* sim_schema_check_value, keeping the result. On success `out` must be
 * released with sim_value_clear; on failure it holds nothing. */
gboolean sim_schema_parse_value(const SimKeyDef *key, const char *text, SimValue *out,
                                GError **error);
void sim_value_clear(SimValue *value);

/* `portsim list keys` as plain text, and as Markdown (docs/scenario-keys.md). */
GString *sim_schema_describe_text(const SimSchema *schema);
GString *sim_schema_describe_markdown(const SimSchema *schema);

#endif
