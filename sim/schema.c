/* The schema registry, value checking and the generated key reference. */
#include "schema.h"

#include <string.h>

#include "sim_error.h"

struct SimSchema {
    GPtrArray *sections;     /* const SimSectionDef *, declaration order */
    GHashTable *section_map; /* kind -> const SimSectionDef * */
    GPtrArray *presets;      /* const SimPresetDef *, declaration order */
    GHashTable *preset_map;  /* "kind/name" (owned) -> const SimPresetDef * */
    GHashTable *free_map;    /* kind -> const SimFreeKeysDef * */
};

/* An address list with no `max` is still capped: a stray /8 must not eat the
 * memory of the machine. */
#define DEFAULT_MAX_ADDRESSES 1000000

SimSchema *sim_schema_new(void)
{
    SimSchema *schema = g_new0(SimSchema, 1);
    schema->sections = g_ptr_array_new();
    schema->section_map = g_hash_table_new(g_str_hash, g_str_equal);
    schema->presets = g_ptr_array_new();
    schema->preset_map = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    schema->free_map = g_hash_table_new(g_str_hash, g_str_equal);
    return schema;
}

void sim_schema_free(SimSchema *schema)
{
    if (schema == NULL)
        return;
    g_ptr_array_unref(schema->sections);
    g_hash_table_unref(schema->section_map);
    g_ptr_array_unref(schema->presets);
    g_hash_table_unref(schema->preset_map);
    g_hash_table_unref(schema->free_map);
    g_free(schema);
}

/* ---- types and descriptions ---- */

const char *sim_value_type_describe(SimValueType type)
{
    switch (type) {
    case SIM_TYPE_STRING:
        return "text";
    case SIM_TYPE_INT:
        return "integer (64, 10k)";
    case SIM_TYPE_FLOAT:
        return "number (0.5, 2)";
    case SIM_TYPE_BOOL:
        return "boolean (true, false)";
    case SIM_TYPE_ENUM:
        return "choice (one of the listed words)";
    case SIM_TYPE_DURATION:
        return "duration (60s, 250ms)";
    case SIM_TYPE_RATE:
        return "rate (500/s, 30k/s)";
    case SIM_TYPE_RANGE:
        return "range (32768-60999, 443)";
    case SIM_TYPE_RANGE_LIST:
        return "range list (443, 8000-8010)";
    case SIM_TYPE_ADDRESSES:
        return "address list (10.0.0.1, 10.0.0.1-10.0.0.8, 10.0.0.0/29)";
    case SIM_TYPE_DISTRIBUTION:
        return "distribution (exp(200ms), lognormal(200ms, 1.0), const(1s))";
    case SIM_TYPE_SCHEDULE:
        return "schedule (0s 200/s, 10m 200/s, 10m 2000/s)";
    case SIM_TYPE_REFERENCE:
        return "reference (server api)";
    }
    g_return_val_if_reached("unknown type");
}

/* "a, b or c" from "a|b|c", with each word wrapped in pre/post. */
static char *choices_join(const char *choices, const char *pre, const char *post,
                          const char *last_sep)
{
    char **words = g_strsplit(choices, "|", -1);
    guint n = g_strv_length(words);
    GString *out = g_string_new(NULL);
    for (guint i = 0; i < n; i++) {
        if (i > 0)
            g_string_append(out, i + 1 == n ? last_sep : ", ");
        g_string_append_printf(out, "%s%s%s", pre, words[i], post);
    }
    g_strfreev(words);
    return g_string_free(out, FALSE);
}

char *sim_schema_key_describe(const SimKeyDef *key)
{
    if (key->type == SIM_TYPE_ENUM) {
        char *list = choices_join(key->choices, "", "", " or ");
        char *text = g_strdup_printf("one of %s", list);
        g_free(list);
        return text;
    }
    if (key->type == SIM_TYPE_REFERENCE) {
        if (key->choices == NULL)
            return g_strdup("a reference to a section (KIND NAME)");
        char *list = choices_join(key->choices, "", "", " or ");
        char *text = g_strdup_printf("a reference to a %s", list);
        g_free(list);
        return text;
    }
    const char *what = sim_value_type_describe(key->type);
    if (key->type == SIM_TYPE_STRING)
        return g_strdup(what);
    return g_strdup_printf("%s %s", strchr("aeiou", what[0]) ? "an" : "a", what);
}

gboolean sim_schema_name_is_valid(const char *name)
{
    if (name == NULL || *name == '\0')
        return FALSE;
    for (const char *p = name; *p; p++)
        if (!g_ascii_isalnum(*p) && *p != '_' && *p != '.' && *p != '-')
            return FALSE;
    return TRUE;
}

/* ---- suggestions ---- */

static guint levenshtein(const char *a, const char *b)
{
    gsize la = strlen(a), lb = strlen(b);
    guint *prev = g_new(guint, lb + 1);
    guint *cur = g_new(guint, lb + 1);
    for (gsize j = 0; j <= lb; j++)
        prev[j] = (guint)j;
    for (gsize i = 1; i <= la; i++) {
        cur[0] = (guint)i;
        for (gsize j = 1; j <= lb; j++) {
            guint cost = a[i - 1] == b[j - 1] ? 0 : 1;
            guint best = prev[j - 1] + cost;
            best = MIN(best, prev[j] + 1);
            best = MIN(best, cur[j - 1] + 1);
            cur[j] = best;
        }
        guint *tmp = prev;
        prev = cur;
        cur = tmp;
    }
    guint d = prev[lb];
    g_free(prev);
    g_free(cur);
    return d;
}

const char *sim_schema_suggest(const char *word, const char *const *candidates, guint n)
{
    /* Short words get a fixed allowance of 2 edits; longer ones a third of
     * their length, so "ephemeral_rang" still finds its key. */
    guint limit = MAX(2u, (guint)(strlen(word) / 3));
    const char *best = NULL;
    guint best_d = G_MAXUINT;
    for (guint i = 0; i < n; i++) {
        guint d = levenshtein(word, candidates[i]);
        if (d <= limit && d < best_d) { /* strict: ties keep the earlier one */
            best = candidates[i];
            best_d = d;
        }
    }
    return best;
}

/* ---- value checking ---- */

/* A bound or value in the key's own unit: integers for INT, RANGE, ADDRESSES,
 * DURATION and a DISTRIBUTION's mean; doubles for FLOAT and RATE. */
typedef struct {
    gboolean is_int;
    int64_t i;
    double f;
} Scalar;

static gboolean scalar_parse(SimValueType type, const char *text, Scalar *out, GError **error)
{
    out->is_int = TRUE;
    switch (type) {
    case SIM_TYPE_INT:
    case SIM_TYPE_RANGE:
    case SIM_TYPE_RANGE_LIST:
    case SIM_TYPE_ADDRESSES:
        return sim_parse_int(text, &out->i, error);
    case SIM_TYPE_DURATION:
    case SIM_TYPE_DISTRIBUTION:
        return sim_parse_duration(text, &out->i, error);
    case SIM_TYPE_FLOAT:
        out->is_int = FALSE;
        return sim_parse_float(text, &out->f, error);
    case SIM_TYPE_RATE:
        out->is_int = FALSE;
        return sim_parse_rate(text, &out->f, error);
    default:
        g_set_error(error, SIM_ERROR, SIM_ERROR_INPUT, "this type takes no bounds");
        return FALSE;
    }
}

static int scalar_compare(const Scalar *a, const Scalar *b)
{
    if (a->is_int)
        return a->i < b->i ? -1 : a->i > b->i;
    return a->f < b->f ? -1 : a->f > b->f;
}

/* Bounds were checked when the section was added, so they parse. */
static Scalar bound_of(const SimKeyDef *key, const char *text)
{
    Scalar s;
    if (!scalar_parse(key->type, text, &s, NULL))
        g_error("schema: key '%s': bound '%s' does not parse", key->name, text);
    return s;
}

static int64_t int_bound(const SimKeyDef *key, const char *text, int64_t fallback)
{
    return text ? bound_of(key, text).i : fallback;
}

static gboolean check_bounds(const SimKeyDef *key, const Scalar *v, const char *text,
                             GError **error)
{
    const char *what = key->type == SIM_TYPE_DISTRIBUTION ? "the mean " : "";
    if (key->min) {
        Scalar lo = bound_of(key, key->min);
        if (scalar_compare(v, &lo) < 0) {
            g_set_error(error, SIM_ERROR, SIM_ERROR_INPUT, "%smust be at least %s, got %s",
                        what, key->min, text);
            return FALSE;
        }
    }
    if (key->max) {
        Scalar hi = bound_of(key, key->max);
        if (scalar_compare(v, &hi) > 0) {
            g_set_error(error, SIM_ERROR, SIM_ERROR_INPUT, "%smust be at most %s, got %s",
                        what, key->max, text);
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean parse_enum(const SimKeyDef *key, const char *text, GError **error)
{
    char **words = g_strsplit(key->choices, "|", -1);
    gboolean found = g_strv_contains((const char *const *)words, text);
    if (!found) {
        char *list = choices_join(key->choices, "", "", " or ");
        const char *hint =
            sim_schema_suggest(text, (const char *const *)words, g_strv_length(words));
        g_set_error(error, SIM_ERROR, SIM_ERROR_INPUT, "expected one of %s, got '%s'%s%s%s",
                    list, text, hint ? "; did you mean '" : "", hint ? hint : "",
                    hint ? "'?" : "");
        g_free(list);
    }
    g_strfreev(words);
    return found;
}

gboolean sim_schema_reference_allows(const SimKeyDef *key, const char *kind)
{
    if (key->choices == NULL)
        return TRUE;
    char **kinds = g_strsplit(key->choices, "|", -1);
    gboolean ok = g_strv_contains((const char *const *)kinds, kind);
    g_strfreev(kinds);
    return ok;
}

/* "KIND NAME", or "NAME" alone when only one kind may be named. */
static gboolean parse_reference(const SimKeyDef *key, const char *text, SimValue *out,
                                GError **error)
{
    char **words = g_regex_split_simple("\\s+", text, 0, 0);
    guint n = g_strv_length(words);
    gboolean single = key->choices != NULL &&
                      (strchr(key->choices, '|') == NULL || (key->flags & SIM_KEY_BARE_FIRST));
    g_autofree char *first =
        key->choices ? g_strndup(key->choices, strcspn(key->choices, "|")) : NULL;
    char *kind = NULL, *name = NULL;
    if (n == 2) {
        kind = words[0];
        name = words[1];
    } else if (n == 1 && single && *words[0] != '\0') {
        kind = first;
        name = words[0];
    }
    gboolean ok = kind != NULL && sim_schema_reference_allows(key, kind) &&
                  sim_schema_name_is_valid(name);
    if (ok) {
        out->u.ref.kind = g_strdup(kind);
        out->u.ref.name = g_strdup(name);
    } else {
        char *what = sim_schema_key_describe(key);
        const char *form = single ? "NAME or KIND NAME" : "KIND NAME";
        g_set_error(error, SIM_ERROR, SIM_ERROR_INPUT, "expected %s, written %s, got '%s'",
                    what, form, text);
        g_free(what);
    }
    g_strfreev(words);
    return ok;
}

gboolean sim_schema_parse_value(const SimKeyDef *key, const char *raw, SimValue *out,
                                GError **error)
{
    char *text = g_strstrip(g_strdup(raw));
    Scalar v = {.is_int = TRUE};
    gboolean ok = FALSE, bounded = FALSE;
    memset(out, 0, sizeof *out);
    out->type = key->type;

    if ((key->flags & SIM_KEY_REQUIRED) && *text == '\0') {
        /* An empty list would parse, but "required" means something to use. */
        char *what = sim_schema_key_describe(key);
        g_set_error(error, SIM_ERROR, SIM_ERROR_INPUT, "a value is required: expected %s", what);
        g_free(what);
        g_free(text);
        return FALSE;
    }
    switch (key->type) {
    case SIM_TYPE_STRING:
        ok = TRUE;
        break;
    case SIM_TYPE_ENUM:
        ok = parse_enum(key, text, error);
        break;
    case SIM_TYPE_BOOL:
        ok = sim_parse_bool(text, &out->u.b, error);
        break;
    case SIM_TYPE_INT:
        ok = bounded = sim_parse_int(text, &out->u.i, error);
        v.i = out->u.i;
        break;
    case SIM_TYPE_FLOAT:
        ok = bounded = sim_parse_float(text, &out->u.f, error);
        v = (Scalar){.is_int = FALSE, .f = out->u.f};
        break;
    case SIM_TYPE_RATE:
        ok = bounded = sim_parse_rate(text, &out->u.f, error);
        v = (Scalar){.is_int = FALSE, .f = out->u.f};
        break;
    case SIM_TYPE_DURATION:
        ok = bounded = sim_parse_duration(text, &out->u.t, error);
        v.i = out->u.t;
        break;
    case SIM_TYPE_DISTRIBUTION:
        ok = bounded = sim_parse_distribution(text, &out->u.dist, error);
        v.i = out->u.dist.mean;
        break;
    case SIM_TYPE_RANGE:
        ok = sim_parse_range(text, int_bound(key, key->min, G_MININT64),
                             int_bound(key, key->max, G_MAXINT64), &out->u.range.lo,
                             &out->u.range.hi, error);
        break;
    case SIM_TYPE_RANGE_LIST:
        out->u.array = g_array_new(FALSE, FALSE, sizeof(SimRange));
        ok = sim_parse_range_list(text, int_bound(key, key->min, G_MININT64),
                                  int_bound(key, key->max, G_MAXINT64), out->u.array, error);
        break;
    case SIM_TYPE_ADDRESSES:
        out->u.array = g_array_new(FALSE, FALSE, sizeof(SimAddress));
        ok = sim_parse_address_list(
            text, (guint64)int_bound(key, key->max, DEFAULT_MAX_ADDRESSES), out->u.array, error);
        break;
    case SIM_TYPE_SCHEDULE:
        out->u.array = g_array_new(FALSE, FALSE, sizeof(SimSchedulePoint));
        ok = sim_parse_schedule(text, out->u.array, error);
        break;
    case SIM_TYPE_REFERENCE:
        ok = parse_reference(key, text, out, error);
        break;
    }
    if (ok && bounded)
        ok = check_bounds(key, &v, text, error);
    if (!ok)
        sim_value_clear(out);
    g_free(text);
    return ok;
}

void sim_value_clear(SimValue *value)
{
    switch (value->type) {
    case SIM_TYPE_RANGE_LIST:
    case SIM_TYPE_ADDRESSES:
    case SIM_TYPE_SCHEDULE:
        if (value->u.array)
            g_array_unref(value->u.array);
        break;
    case SIM_TYPE_REFERENCE:
        g_free(value->u.ref.kind);
        g_free(value->u.ref.name);
        break;
    default:
        break;
    }
    memset(&value->u, 0, sizeof value->u);
}

gboolean sim_schema_check_value(const SimKeyDef *key, const char *text, GError **error)
{
    SimValue v;
    if (!sim_schema_parse_value(key, text, &v, error))
        return FALSE;
    sim_value_clear(&v);
    return TRUE;
}

/* ---- registry ---- */

static gboolean type_has_bounds(SimValueType type)
{
    switch (type) {
    case SIM_TYPE_INT:
    case SIM_TYPE_FLOAT:
    case SIM_TYPE_DURATION:
    case SIM_TYPE_RATE:
    case SIM_TYPE_RANGE:
    case SIM_TYPE_RANGE_LIST:
    case SIM_TYPE_ADDRESSES:
    case SIM_TYPE_DISTRIBUTION:
        return TRUE;
    default:
        return FALSE;
    }
}

/* A schema table is code: a mistake in it is a programming error, caught the
 * first time any program builds the schema rather than when a user happens to
 * rely on that default. */
static void validate_key(const SimSectionDef *section, const SimKeyDef *key)
{
    if (key->name == NULL || key->help == NULL)
        g_error("schema [%s]: key without name or help", section->kind);
    gboolean takes_choices = key->type == SIM_TYPE_ENUM || key->type == SIM_TYPE_REFERENCE;
    if ((key->type == SIM_TYPE_ENUM && key->choices == NULL) ||
        (!takes_choices && key->choices != NULL))
        g_error("schema [%s] %s: ENUM keys need choices, and only ENUM and REFERENCE keys "
                "take them", section->kind, key->name);
    const char *bounds[] = {key->min, key->max};
    for (guint i = 0; i < G_N_ELEMENTS(bounds); i++) {
        if (bounds[i] == NULL)
            continue;
        GError *err = NULL;
        Scalar s;
        if (!type_has_bounds(key->type) || !scalar_parse(key->type, bounds[i], &s, &err))
            g_error("schema [%s] %s: bad bound '%s': %s", section->kind, key->name, bounds[i],
                    err ? err->message : "this type takes no bounds");
    }
    if ((key->flags & SIM_KEY_REQUIRED) && key->default_value)
        g_error("schema [%s] %s: a required key has no default", section->kind, key->name);
    GError *err = NULL;
    if (key->default_value && !sim_schema_check_value(key, key->default_value, &err))
        g_error("schema [%s] %s: bad default '%s': %s", section->kind, key->name,
                key->default_value, err->message);
}

void sim_schema_add_section(SimSchema *schema, const SimSectionDef *section)
{
    if (g_hash_table_contains(schema->section_map, section->kind))
        g_error("schema: section kind '%s' declared twice", section->kind);
    for (guint i = 0; i < section->n_keys; i++) {
        validate_key(section, &section->keys[i]);
        for (guint j = 0; j < i; j++)
            if (strcmp(section->keys[i].name, section->keys[j].name) == 0)
                g_error("schema [%s]: key '%s' declared twice", section->kind,
                        section->keys[i].name);
    }
    g_ptr_array_add(schema->sections, (gpointer)section);
    g_hash_table_insert(schema->section_map, (gpointer)section->kind, (gpointer)section);
}

void sim_schema_add_preset(SimSchema *schema, const SimPresetDef *preset)
{
    const SimSectionDef *section = sim_schema_section(schema, preset->kind);
    if (section == NULL)
        g_error("schema: preset %s/%s for an undeclared section kind", preset->kind,
                preset->name);
    for (const char *const *p = preset->pairs; *p; p += 2) {
        const SimKeyDef *key = sim_schema_key(section, p[0]);
        GError *err = NULL;
        if (key == NULL || p[1] == NULL)
            g_error("schema: preset %s/%s: unknown key or missing value for '%s'", preset->kind,
                    preset->name, p[0]);
        if (!sim_schema_check_value(key, p[1], &err))
            g_error("schema: preset %s/%s: %s = '%s': %s", preset->kind, preset->name, p[0],
                    p[1], err->message);
    }
    char *id = g_strdup_printf("%s/%s", preset->kind, preset->name);
    if (g_hash_table_contains(schema->preset_map, id))
        g_error("schema: preset %s declared twice", id);
    g_hash_table_insert(schema->preset_map, id, (gpointer)preset);
    g_ptr_array_add(schema->presets, (gpointer)preset);
}

void sim_schema_set_free_keys(SimSchema *schema, const char *kind, const SimFreeKeysDef *free_keys)
{
    const SimSectionDef *section = sim_schema_section(schema, kind);
    if (section == NULL || section->n_keys > 0 || free_keys->check == NULL)
        g_error("schema: free keys for [%s] need an added section that declares no keys and "
                "a check function", kind);
    g_hash_table_replace(schema->free_map, (gpointer)section->kind, (gpointer)free_keys);
}

const SimFreeKeysDef *sim_schema_free_keys(const SimSchema *schema, const char *kind)
{
    return g_hash_table_lookup(schema->free_map, kind);
}

const SimSectionDef *sim_schema_section(const SimSchema *schema, const char *kind)
{
    return g_hash_table_lookup(schema->section_map, kind);
}

const SimKeyDef *sim_schema_key(const SimSectionDef *section, const char *key)
{
    /* A section has a dozen keys: a scan beats hashing. */
    for (guint i = 0; i < section->n_keys; i++)
        if (strcmp(section->keys[i].name, key) == 0)
            return &section->keys[i];
    return NULL;
}

const SimPresetDef *sim_schema_preset(const SimSchema *schema, const char *kind,
                                      const char *name)
{
    char *id = g_strdup_printf("%s/%s", kind, name);
    const SimPresetDef *preset = g_hash_table_lookup(schema->preset_map, id);
    g_free(id);
    return preset;
}

guint sim_schema_n_sections(const SimSchema *schema)
{
    return schema->sections->len;
}

const SimSectionDef *sim_schema_section_at(const SimSchema *schema, guint i)
{
    g_return_val_if_fail(i < schema->sections->len, NULL);
    return g_ptr_array_index(schema->sections, i);
}

guint sim_schema_n_presets(const SimSchema *schema)
{
    return schema->presets->len;
}

const SimPresetDef *sim_schema_preset_at(const SimSchema *schema, guint i)
{
    g_return_val_if_fail(i < schema->presets->len, NULL);
    return g_ptr_array_index(schema->presets, i);
}

/* ---- the key reference ---- */

/* What the key accepts beyond its type, or NULL when anything of the type. */
static char *allowed_text(const SimKeyDef *key, const char *quote)
{
    switch (key->type) {
    case SIM_TYPE_ENUM:
        return choices_join(key->choices, quote, quote, ", ");
    case SIM_TYPE_REFERENCE:
        return key->choices ? choices_join(key->choices, "[", " NAME]", ", ") : NULL;
    case SIM_TYPE_ADDRESSES:
        return key->max ? g_strdup_printf("at most %s addresses", key->max) : NULL;
    default:
        break;
    }
    const char *subject = key->type == SIM_TYPE_DISTRIBUTION ? "mean " : "";
    if (key->min && key->max)
        return g_strdup_printf("%s%s to %s", subject, key->min, key->max);
    if (key->min)
        return g_strdup_printf("%sat least %s", subject, key->min);
    if (key->max)
        return g_strdup_printf("%sat most %s", subject, key->max);
    return NULL;
}

static const char *section_header(const SimSectionDef *section, char *buf, gsize size)
{
    g_snprintf(buf, size, "[%s%s]", section->kind, section->named ? " NAME" : "");
    return buf;
}

GString *sim_schema_describe_text(const SimSchema *schema)
{
    GString *out = g_string_new(NULL);
    char header[128];
    for (guint s = 0; s < schema->sections->len; s++) {
        const SimSectionDef *section = g_ptr_array_index(schema->sections, s);
        g_string_append_printf(out, "%s%s\n  %s\n", s ? "\n" : "",
                               section_header(section, header, sizeof header), section->help);
        for (guint k = 0; k < section->n_keys; k++) {
            const SimKeyDef *key = &section->keys[k];
            char *allowed = allowed_text(key, "");
            g_string_append_printf(out, "\n  %s: %s\n", key->name,
                                   sim_value_type_describe(key->type));
            if (key->flags & SIM_KEY_REQUIRED)
                g_string_append(out, "      required\n");
            else if (key->default_value)
                g_string_append_printf(out, "      default: %s\n",
                                       *key->default_value ? key->default_value : "(empty)");
            else
                g_string_append(out, "      default: none (optional)\n");
            if (allowed)
                g_string_append_printf(out, "      allowed: %s\n", allowed);
            g_string_append_printf(out, "      %s\n", key->help);
            g_free(allowed);
        }
        const SimFreeKeysDef *free_keys = sim_schema_free_keys(schema, section->kind);
        if (free_keys) {
            g_string_append_printf(out, "\n  KEY = VALUE\n      key: %s\n      value: %s\n",
                                   free_keys->key_form, free_keys->value_form);
            for (guint i = 0; free_keys->names && free_keys->names[i]; i++)
                g_string_append_printf(out, "\n  %s\n      %s\n", free_keys->names[i],
                                       free_keys->helps[i]);
        }
    }
    if (schema->presets->len > 0)
        g_string_append(out, "\nPresets\n");
    for (guint p = 0; p < schema->presets->len; p++) {
        const SimPresetDef *preset = g_ptr_array_index(schema->presets, p);
        g_string_append_printf(out, "\n  [%s] preset = %s\n      %s\n", preset->kind,
                               preset->name, preset->help);
        for (const char *const *kv = preset->pairs; *kv; kv += 2)
            g_string_append_printf(out, "      %s = %s\n", kv[0], kv[1]);
    }
    return out;
}

/* Table cells may not contain '|' or line breaks. */
static void append_cell(GString *out, const char *text)
{
    for (const char *p = text; *p; p++) {
        if (*p == '|')
            g_string_append(out, "\\|");
        else if (*p == '\n')
            g_string_append_c(out, ' ');
        else
            g_string_append_c(out, *p);
    }
}

GString *sim_schema_describe_markdown(const SimSchema *schema)
{
    GString *out = g_string_new("# Scenario keys\n\n"
                                "Generated from the schema (`portsim list keys`); every "
                                "section kind, key and preset a scenario file may use.\n");
    char header[128];
    for (guint s = 0; s < schema->sections->len; s++) {
        const SimSectionDef *section = g_ptr_array_index(schema->sections, s);
        g_string_append_printf(out, "\n## %s\n\n%s\n\n",
                               section_header(section, header, sizeof header), section->help);
        const SimFreeKeysDef *free_keys = sim_schema_free_keys(schema, section->kind);
        if (free_keys) {
            g_string_append(out, "Key: ");
            append_cell(out, free_keys->key_form);
            g_string_append(out, "\n\nValue: ");
            append_cell(out, free_keys->value_form);
            g_string_append(out, "\n\n| Name | Description |\n|---|---|\n");
            for (guint i = 0; free_keys->names && free_keys->names[i]; i++) {
                g_string_append_printf(out, "| `%s` | ", free_keys->names[i]);
                append_cell(out, free_keys->helps[i]);
                g_string_append(out, " |\n");
            }
        }
        if (section->n_keys > 0)
            g_string_append(out, "| Key | Type | Default | Allowed | Description |\n"
                                 "|---|---|---|---|---|\n");
        for (guint k = 0; k < section->n_keys; k++) {
            const SimKeyDef *key = &section->keys[k];
            char *allowed = allowed_text(key, "`");
            g_string_append_printf(out, "| `%s` | ", key->name);
            append_cell(out, sim_value_type_describe(key->type));
            g_string_append(out, " | ");
            if (key->flags & SIM_KEY_REQUIRED)
                g_string_append(out, "*required*");
            else if (key->default_value && *key->default_value) {
                g_string_append_c(out, '`');
                append_cell(out, key->default_value);
                g_string_append_c(out, '`');
            } else
                g_string_append(out, key->default_value ? "*empty*" : "*none*");
            g_string_append(out, " | ");
            append_cell(out, allowed ? allowed : "");
            g_string_append(out, " | ");
            append_cell(out, key->help);
            g_string_append(out, " |\n");
            g_free(allowed);
        }
    }
    if (schema->presets->len > 0)
        g_string_append(out, "\n## Presets\n");
    for (guint p = 0; p < schema->presets->len; p++) {
        const SimPresetDef *preset = g_ptr_array_index(schema->presets, p);
        g_string_append_printf(out, "\n### [%s] preset = %s\n\n%s\n\n| Key | Value |\n|---|---|\n",
                               preset->kind, preset->name, preset->help);
        for (const char *const *kv = preset->pairs; *kv; kv += 2) {
            g_string_append_printf(out, "| `%s` | ", kv[0]);
            if (*kv[1]) {
                g_string_append_c(out, '`');
                append_cell(out, kv[1]);
                g_string_append_c(out, '`');
            } else
                g_string_append(out, "*empty*");
            g_string_append(out, " |\n");
        }
    }
    return out;
}
