/* Scenario loading: GKeyFile for the syntax, the schema for the meaning. */
#include "scenario.h"

#include <stdarg.h>
#include <string.h>

#include "sim_error.h"

typedef struct {
    const SimKeyDef *def;
    char *text;                 /* as written, trimmed */
    const char *source;         /* "file", "override", "preset", "default" */
    guint line;                 /* in the file; 0 when the value is not from it */
    char *set_arg;              /* the whole --set argument, for "override" */
    const SimPresetDef *preset; /* for "preset" */
    SimValue value;
    SimSection *target; /* REFERENCE, once resolved */
} Entry;

struct SimSection {
    SimScenario *scenario;
    const SimSectionDef *def;
    char *name; /* NULL when unnamed */
    char *label;
    guint line;          /* of the header; 0 when the file lacks the section */
    GHashTable *entries; /* key name (the schema's string) -> Entry * */
    GPtrArray *free_defs; /* SimKeyDef * (owned, with its name) of a free-keys
                             section's keys, in file order */
};

struct SimScenario {
    const SimSchema *schema;
    char *origin;
    GPtrArray *sections;  /* SimSection *, owned */
    GHashTable *by_label; /* label -> SimSection * */
};

static const char SOURCE_FILE[] = "file";
static const char SOURCE_OVERRIDE[] = "override";
static const char SOURCE_PRESET[] = "preset";
static const char SOURCE_DEFAULT[] = "default";

/* ---- errors ---- */


/* "FILE:LINE: [label] key: ", leaving out what is unknown. */
static char *location(const SimScenario *sc, guint line, const char *label, const char *key)
{
    GString *out = g_string_new(sc->origin);
    if (line > 0)
        g_string_append_printf(out, ":%u", line);
    g_string_append(out, ": ");
    if (label)
        g_string_append_printf(out, "[%s]%s", label, key ? " " : ": ");
    if (key)
        g_string_append_printf(out, "%s: ", key);
    return g_string_free(out, FALSE);
}

static gboolean fail_at(const SimScenario *sc, guint line, const char *label, const char *key,
                        GError **error, const char *detail)
{
    char *where = location(sc, line, label, key);
    sim_input_error(error, "%s%s", where, detail);
    g_free(where);
    return FALSE;
}

static Entry *entry_of(const SimSection *section, const char *key)
{
    return g_hash_table_lookup(section->entries, key);
}

/* Where a key's problem should point: its own line, the line that chose its
 * preset, or the section header. */
static char *key_location(const SimSection *section, const char *key)
{
    const Entry *e = key ? entry_of(section, key) : NULL;
    if (e && e->source == SOURCE_OVERRIDE)
        return g_strdup_printf("--set %s: ", e->set_arg);
    guint line = section->line;
    if (e && e->line > 0)
        line = e->line;
    else if (e && e->source == SOURCE_PRESET) {
        const Entry *p = entry_of(section, "preset");
        if (p && p->line > 0)
            line = p->line;
    }
    return location(section->scenario, line, section->label, key);
}

gboolean sim_section_error(const SimSection *section, const char *key, GError **error,
                           const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    char *detail = g_strdup_vprintf(format, ap);
    va_end(ap);
    char *where = key_location(section, key);
    sim_input_error(error, "%s%s", where, detail);
    g_free(where);
    g_free(detail);
    return FALSE;
}

/* "; did you mean 'x'?" or "". Caller frees. */
static char *hint(const char *word, GPtrArray *candidates, const char *open, const char *close)
{
    const char *best = sim_schema_suggest(word, (const char *const *)candidates->pdata,
                                          candidates->len);
    return best ? g_strdup_printf("; did you mean %s%s%s?", open, best, close) : g_strdup("");
}

/* ---- sections and entries ---- */

static void entry_free(gpointer data)
{
    Entry *e = data;
    g_free(e->text);
    g_free(e->set_arg);
    sim_value_clear(&e->value);
    g_free(e);
}

static void section_free(gpointer data)
{
    SimSection *s = data;
    g_hash_table_unref(s->entries); /* before free_defs: entries point into them */
    g_ptr_array_unref(s->free_defs);
    g_free(s->name);
    g_free(s->label);
    g_free(s);
}

static void free_def_free(gpointer data)
{
    SimKeyDef *def = data;
    g_free((char *)def->name);
    g_free(def);
}

static char *make_label(const char *kind, const char *name)
{
    return name ? g_strdup_printf("%s %s", kind, name) : g_strdup(kind);
}

static SimSection *section_new(SimScenario *sc, const SimSectionDef *def, const char *name,
                               guint line)
{
    SimSection *s = g_new0(SimSection, 1);
    s->scenario = sc;
    s->def = def;
    s->name = g_strdup(name);
    s->label = make_label(def->kind, name);
    s->line = line;
    s->entries = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, entry_free);
    s->free_defs = g_ptr_array_new_with_free_func(free_def_free);
    g_hash_table_insert(sc->by_label, s->label, s);
    return s;
}

/* Parses `text` for `def` and stores it, replacing any earlier value. On a bad
 * value nothing changes and the error carries the bare reason. */
static Entry *entry_set(SimSection *s, const SimKeyDef *def, const char *text,
                        const char *source, GError **error)
{
    SimValue value;
    if (!sim_schema_parse_value(def, text, &value, error))
        return NULL;
    Entry *e = g_new0(Entry, 1);
    e->def = def;
    e->text = g_strstrip(g_strdup(text));
    e->source = source;
    e->value = value;
    g_hash_table_replace(s->entries, (gpointer)def->name, e);
    return e;
}

/* A key of a free-keys section: checked by the section's own function, kept
 * as text under a definition made for it. */
static Entry *free_entry_set(SimSection *s, const char *key, const char *text,
                             const char *source, GError **error)
{
    const SimFreeKeysDef *free_keys = sim_schema_free_keys(s->scenario->schema, s->def->kind);
    g_autofree char *value = g_strstrip(g_strdup(text));
    if (!free_keys->check(key, value, error))
        return NULL;
    Entry *old = entry_of(s, key);
    const SimKeyDef *def = old ? old->def : NULL;
    if (def == NULL) {
        SimKeyDef *made = g_new0(SimKeyDef, 1);
        made->name = g_strdup(key);
        made->type = SIM_TYPE_STRING;
        made->help = "";
        g_ptr_array_add(s->free_defs, made);
        def = made;
    }
    return entry_set(s, def, value, source, error);
}

/* ---- reading the file ---- */

/* Line numbers of what GKeyFile parsed, which it does not keep. */
typedef struct {
    GHashTable *headers; /* raw group name -> line */
    GHashTable *keys;    /* "group\nkey" -> line */
    guint bad_line;      /* first line GKeyFile will likely refuse, or 0 */
    char *duplicate;     /* the first duplicate section or key, as a message */
} LineIndex;

/* Splits "kind  name " into kind and name (NULL when none). */
static void split_label(const char *raw, char **kind, char **name)
{
    char *text = g_strstrip(g_strdup(raw));
    gsize n = strcspn(text, " \t");
    *kind = g_strndup(text, n);
    char *rest = g_strstrip(g_strdup(text + n));
    *name = *rest ? rest : NULL;
    if (*name == NULL)
        g_free(rest);
    g_free(text);
}

static char *normal_label(const char *raw)
{
    char *kind, *name;
    split_label(raw, &kind, &name);
    char *label = make_label(kind, name);
    g_free(kind);
    g_free(name);
    return label;
}

/* GKeyFile knows only whole-line '#' comments; scenario files also use ';'
 * and inline comments. A ';' or '#' at the start or after white space starts
 * one, so "a;b" and "10.0.0.0/8#x" stay intact. */
static void cut_comment(char *line)
{
    for (char *p = line; *p; p++) {
        if ((*p == ';' || *p == '#') && (p == line || p[-1] == ' ' || p[-1] == '\t')) {
            *p = '\0';
            return;
        }
    }
}

static void index_line(const SimScenario *sc, LineIndex *idx, char **group, GHashTable *labels,
                       char *line, guint lineno)
{
    char *s = g_strstrip(line);
    gsize len = strlen(s);
    if (len == 0)
        return;
    if (s[0] == '[') {
        char *raw = g_strndup(s + 1, len >= 2 && s[len - 1] == ']' ? len - 2 : 0);
        if (s[len - 1] != ']' || strpbrk(raw, "[]") || *raw == '\0') {
            if (idx->bad_line == 0)
                idx->bad_line = lineno;
            g_free(raw);
            return;
        }
        char *label = normal_label(raw);
        gpointer first = g_hash_table_lookup(labels, label);
        if (first && idx->duplicate == NULL) {
            char *where = location(sc, lineno, label, NULL);
            idx->duplicate = g_strdup_printf("%sduplicate section, first on line %u", where,
                                             GPOINTER_TO_UINT(first));
            g_free(where);
        }
        if (!first)
            g_hash_table_insert(labels, label, GUINT_TO_POINTER(lineno));
        else
            g_free(label);
        if (!g_hash_table_contains(idx->headers, raw))
            g_hash_table_insert(idx->headers, g_strdup(raw), GUINT_TO_POINTER(lineno));
        g_free(*group);
        *group = raw;
        return;
    }
    char *eq = strchr(s, '=');
    if (eq == NULL || *group == NULL || eq == s) {
        if (idx->bad_line == 0)
            idx->bad_line = lineno;
        return;
    }
    char *key = g_strstrip(g_strndup(s, (gsize)(eq - s)));
    char *id = g_strdup_printf("%s\n%s", *group, key);
    gpointer first = g_hash_table_lookup(idx->keys, id);
    if (first && idx->duplicate == NULL) {
        char *label = normal_label(*group);
        char *where = location(sc, lineno, label, key);
        idx->duplicate = g_strdup_printf("%sduplicate key '%s' in [%s], first set on line %u",
                                         where, key, label, GPOINTER_TO_UINT(first));
        g_free(where);
        g_free(label);
    }
    if (!first)
        g_hash_table_insert(idx->keys, id, GUINT_TO_POINTER(lineno));
    else
        g_free(id);
    g_free(key);
}

/* Blanks comments (keeping every line, so numbers stay right) and indexes
 * where each header and key is. */
static GString *preprocess(const SimScenario *sc, const char *data, LineIndex *idx)
{
    GString *clean = g_string_sized_new(strlen(data) + 1);
    GHashTable *labels = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    char *group = NULL;
    guint lineno = 0;
    for (const char *p = data; *p;) {
        const char *nl = strchr(p, '\n');
        gsize len = nl ? (gsize)(nl - p) : strlen(p);
        char *line = g_strndup(p, len);
        cut_comment(line);
        g_string_append(clean, line);
        g_string_append_c(clean, '\n');
        index_line(sc, idx, &group, labels, line, ++lineno);
        g_free(line);
        p += len + (nl ? 1 : 0);
    }
    g_free(group);
    g_hash_table_unref(labels);
    return clean;
}

static guint line_of(GHashTable *table, const char *id)
{
    return GPOINTER_TO_UINT(g_hash_table_lookup(table, id));
}

static char *kinds_hint(const SimSchema *schema, const char *kind)
{
    GPtrArray *kinds = g_ptr_array_new();
    for (guint i = 0; i < sim_schema_n_sections(schema); i++)
        g_ptr_array_add(kinds, (gpointer)sim_schema_section_at(schema, i)->kind);
    char *h = hint(kind, kinds, "'", "'");
    g_ptr_array_unref(kinds);
    return h;
}

static char *keys_hint(const SimSectionDef *def, const char *key)
{
    GPtrArray *names = g_ptr_array_new();
    for (guint i = 0; i < def->n_keys; i++)
        g_ptr_array_add(names, (gpointer)def->keys[i].name);
    char *h = hint(key, names, "'", "'");
    if (*h == '\0') {
        /* No near miss: list what the section does take. */
        g_ptr_array_add(names, NULL);
        char *list = g_strjoinv(", ", (char **)names->pdata);
        g_free(h);
        h = g_strdup_printf("; [%s] takes: %s", def->kind, list);
        g_free(list);
    }
    g_ptr_array_unref(names);
    return h;
}

/* Checks a header's kind and name; creates the section. */
static SimSection *section_from_header(SimScenario *sc, const char *raw, guint line,
                                       GError **error)
{
    char *kind, *name;
    split_label(raw, &kind, &name);
    char *label = make_label(kind, name);
    const SimSectionDef *def = sim_schema_section(sc->schema, kind);
    char *detail = NULL;
    if (def == NULL) {
        char *h = kinds_hint(sc->schema, kind);
        detail = g_strdup_printf("unknown section kind '%s'%s", kind, h);
        g_free(h);
    } else if (def->named && name == NULL)
        detail = g_strdup_printf("a %s section needs a name, as in [%s NAME]", kind, kind);
    else if (!def->named && name != NULL)
        detail = g_strdup_printf("[%s] takes no name", kind);
    else if (name && !sim_schema_name_is_valid(name))
        detail = g_strdup_printf("invalid name '%s': use letters, digits, '_', '.' and '-'",
                                 name);
    SimSection *s = NULL;
    if (detail)
        fail_at(sc, line, label, NULL, error, detail);
    else
        s = section_new(sc, def, name, line);
    g_free(detail);
    g_free(label);
    g_free(kind);
    g_free(name);
    return s;
}

static gboolean load_group(SimScenario *sc, GKeyFile *kf, const char *group, LineIndex *idx,
                           GError **error)
{
    SimSection *s = section_from_header(sc, group, line_of(idx->headers, group), error);
    if (s == NULL)
        return FALSE;
    g_ptr_array_add(sc->sections, s);
    gsize n = 0;
    char **keys = g_key_file_get_keys(kf, group, &n, NULL);
    gboolean ok = TRUE;
    for (gsize i = 0; ok && i < n; i++) {
        char *id = g_strdup_printf("%s\n%s", group, keys[i]);
        guint line = line_of(idx->keys, id);
        g_free(id);
        const SimKeyDef *def = sim_schema_key(s->def, keys[i]);
        if (def == NULL && sim_schema_free_keys(sc->schema, s->def->kind)) {
            char *text = g_key_file_get_value(kf, group, keys[i], NULL);
            GError *err = NULL;
            Entry *e = free_entry_set(s, keys[i], text, SOURCE_FILE, &err);
            if (e)
                e->line = line;
            else {
                ok = fail_at(sc, line, s->label, keys[i], error, err->message);
                g_error_free(err);
            }
            g_free(text);
            continue;
        }
        if (def == NULL) {
            char *h = keys_hint(s->def, keys[i]);
            char *detail = g_strdup_printf("unknown key%s", h);
            ok = fail_at(sc, line, s->label, keys[i], error, detail);
            g_free(detail);
            g_free(h);
            break;
        }
        char *text = g_key_file_get_value(kf, group, keys[i], NULL);
        GError *err = NULL;
        Entry *e = entry_set(s, def, text, SOURCE_FILE, &err);
        if (e)
            e->line = line;
        else {
            ok = fail_at(sc, line, s->label, def->name, error, err->message);
            g_error_free(err);
        }
        g_free(text);
    }
    g_strfreev(keys);
    return ok;
}

static gboolean load_text(SimScenario *sc, const char *data, GError **error)
{
    const char *bad_utf8;
    if (!g_utf8_validate(data, -1, &bad_utf8)) {
        guint line = 1;
        for (const char *p = data; p < bad_utf8; p++)
            line += *p == '\n';
        return fail_at(sc, line, NULL, NULL, error, "not valid UTF-8 text");
    }
    LineIndex idx = {
        .headers = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
        .keys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
    };
    GString *clean = preprocess(sc, data, &idx);
    GKeyFile *kf = g_key_file_new();
    GError *err = NULL;
    gboolean ok = g_key_file_load_from_data(kf, clean->str, clean->len, G_KEY_FILE_NONE, &err);
    if (!ok) {
        ok = fail_at(sc, idx.bad_line, NULL, NULL, error, err->message);
        g_error_free(err);
    } else if (idx.duplicate) {
        ok = sim_input_error(error, "%s", idx.duplicate);
    } else {
        char **groups = g_key_file_get_groups(kf, NULL);
        for (guint i = 0; ok && groups[i]; i++)
            ok = load_group(sc, kf, groups[i], &idx, error);
        g_strfreev(groups);
    }
    g_key_file_free(kf);
    g_string_free(clean, TRUE);
    g_hash_table_unref(idx.headers);
    g_hash_table_unref(idx.keys);
    g_free(idx.duplicate);
    return ok;
}

/* Unnamed sections exist whether or not the file has them, so [scenario] can
 * be left out; the added ones come first, in schema order. */
static void add_missing_unnamed(SimScenario *sc)
{
    guint added = 0;
    for (guint i = 0; i < sim_schema_n_sections(sc->schema); i++) {
        const SimSectionDef *def = sim_schema_section_at(sc->schema, i);
        /* A free-keys section (say [expect]) means something only when written. */
        if (def->named || g_hash_table_contains(sc->by_label, def->kind) ||
            sim_schema_free_keys(sc->schema, def->kind))
            continue;
        g_ptr_array_insert(sc->sections, (gint)added++, section_new(sc, def, NULL, 0));
    }
}

/* ---- overrides ---- */

static gboolean bad_override(const char *arg, GError **error, const char *detail)
{
    return sim_input_error(error, "--set %s: %s", arg, detail);
}

static char *section_hint(const SimScenario *sc, const char *kind, const char *label)
{
    GPtrArray *labels = g_ptr_array_new();
    for (guint i = 0; i < sc->sections->len; i++) {
        SimSection *s = g_ptr_array_index(sc->sections, i);
        if (strcmp(s->def->kind, kind) == 0)
            g_ptr_array_add(labels, s->label);
    }
    char *h = hint(label, labels, "[", "]");
    g_ptr_array_unref(labels);
    return h;
}

/* A value the effective scenario could not write back: a comment start or a
 * line break would change its meaning on re-reading. */
static gboolean writable_value(const char *value)
{
    if (strpbrk(value, "\r\n"))
        return FALSE;
    char *copy = g_strdup(value);
    gsize len = strlen(copy);
    cut_comment(copy);
    gboolean ok = strlen(copy) == len;
    g_free(copy);
    return ok;
}

/* Whether "kind.a.b.key" names a section [kind a.b], which an override
 * cannot reach because the path splits on every '.'. */
static gboolean dotted_name_exists(const SimScenario *sc, char **parts, guint n)
{
    char *last = parts[n - 1];
    parts[n - 1] = NULL;
    char *name = g_strjoinv(".", parts + 1);
    parts[n - 1] = last;
    gboolean found = sim_scenario_find(sc, parts[0], name) != NULL;
    g_free(name);
    return found;
}

/* "expect.peak_utilization(host.shop)=<= 0.8": for an unnamed free-keys
 * section the whole rest of the path is the key, dots included. Creates the
 * section when the file lacks it. -1 when `arg` is not such an override,
 * else 1 on success and 0 on failure. */
static int apply_free_override(SimScenario *sc, const char *arg, const char *eq,
                               GError **error)
{
    const char *dot = memchr(arg, '.', (gsize)(eq - arg));
    if (dot == NULL)
        return -1;
    g_autofree char *kind = g_strndup(arg, (gsize)(dot - arg));
    const SimSectionDef *def = sim_schema_section(sc->schema, kind);
    if (def == NULL || def->named || !sim_schema_free_keys(sc->schema, kind))
        return -1;
    g_autofree char *key = g_strstrip(g_strndup(dot + 1, (gsize)(eq - dot - 1)));
    if (*key == '\0' || !writable_value(eq + 1) || strpbrk(key, "=[]\r\n")) {
        bad_override(arg, error, "expected a key and a value on one line, without '[', ']' "
                                 "or comments");
        return 0;
    }
    SimSection *s = g_hash_table_lookup(sc->by_label, kind);
    if (s == NULL) {
        s = section_new(sc, def, NULL, 0);
        g_ptr_array_add(sc->sections, s);
    }
    GError *err = NULL;
    Entry *e = free_entry_set(s, key, eq + 1, SOURCE_OVERRIDE, &err);
    if (e == NULL) {
        bad_override(arg, error, err->message);
        g_error_free(err);
        return 0;
    }
    e->set_arg = g_strdup(arg);
    return 1;
}

static gboolean apply_override(SimScenario *sc, const char *arg, GError **error)
{
    static const char form[] = "expected kind.name.key=value, or kind.key=value for an "
                               "unnamed section such as scenario.duration=1h";
    const char *eq = strchr(arg, '=');
    if (eq == NULL)
        return bad_override(arg, error, form);
    int free_result = apply_free_override(sc, arg, eq, error);
    if (free_result >= 0)
        return free_result == 1;
    char *path = g_strndup(arg, (gsize)(eq - arg));
    char **parts = g_strsplit(path, ".", -1);
    guint n = g_strv_length(parts);
    gboolean ok = n == 2 || n == 3;
    for (guint i = 0; ok && i < n; i++)
        ok = *g_strstrip(parts[i]) != '\0' && strpbrk(parts[i], " \t") == NULL;
    const SimSectionDef *def = ok ? sim_schema_section(sc->schema, parts[0]) : NULL;
    char *detail = NULL;
    if (!ok && n > 3 && dotted_name_exists(sc, parts, n))
        detail = g_strdup_printf("%s (section names containing '.' cannot be set from the "
                                 "command line)", form);
    else if (!ok)
        detail = g_strdup(form);
    else if (def == NULL) {
        char *h = kinds_hint(sc->schema, parts[0]);
        detail = g_strdup_printf("unknown section kind '%s'%s", parts[0], h);
        g_free(h);
    } else if (def->named && n == 2)
        detail = g_strdup_printf("[%s] sections have names: write %s.NAME.%s=value", def->kind,
                                 def->kind, parts[1]);
    else if (!def->named && n == 3)
        detail = g_strdup_printf("[%s] has no name: write %s.%s=value", def->kind, def->kind,
                                 parts[2]);
    SimSection *s = NULL;
    const SimKeyDef *key = NULL;
    if (detail == NULL) {
        const char *key_name = parts[n - 1];
        char *label = make_label(def->kind, n == 3 ? parts[1] : NULL);
        s = g_hash_table_lookup(sc->by_label, label);
        if (s == NULL) {
            char *h = section_hint(sc, def->kind, label);
            detail = g_strdup_printf("no section [%s]%s", label, h);
            g_free(h);
        } else if ((key = sim_schema_key(def, key_name)) == NULL) {
            char *h = keys_hint(def, key_name);
            detail = g_strdup_printf("unknown key '%s' in [%s]%s", key_name, label, h);
            g_free(h);
        } else if (!writable_value(eq + 1))
            detail = g_strdup("a value may not hold a line break, nor a ';' or '#' after a "
                              "space (they start comments in scenario files)");
        g_free(label);
    }
    if (detail == NULL) {
        GError *err = NULL;
        Entry *e = entry_set(s, key, eq + 1, SOURCE_OVERRIDE, &err);
        if (e)
            e->set_arg = g_strdup(arg);
        else {
            detail = g_strdup(err->message);
            g_error_free(err);
        }
    }
    if (detail)
        bad_override(arg, error, detail);
    g_free(detail);
    g_strfreev(parts);
    g_free(path);
    return detail == NULL;
}

/* ---- presets, defaults, requirements, references ---- */

static void fill_from(SimSection *s, const SimKeyDef *def, const char *text,
                      const char *source, const SimPresetDef *preset)
{
    GError *err = NULL;
    Entry *e = entry_set(s, def, text, source, &err);
    /* Defaults and presets were checked when the schema was built. */
    if (e == NULL)
        g_error("[%s] %s: %s value '%s': %s", s->label, def->name, source, text, err->message);
    e->preset = preset;
}

static gboolean apply_preset(SimSection *s, GError **error)
{
    const SimKeyDef *key = sim_schema_key(s->def, "preset");
    if (key == NULL)
        return TRUE;
    const Entry *chosen = entry_of(s, "preset");
    const char *name = chosen ? chosen->text : key->default_value;
    if (name == NULL || *name == '\0')
        return TRUE;
    const SimPresetDef *preset = sim_schema_preset(s->scenario->schema, s->def->kind, name);
    if (preset == NULL) {
        if (chosen)
            return sim_section_error(s, "preset", error, "no preset '%s' for [%s]", name,
                                     s->def->kind);
        g_error("schema [%s]: default preset '%s' is not registered", s->def->kind, name);
    }
    for (const char *const *kv = preset->pairs; *kv; kv += 2) {
        const SimKeyDef *def = sim_schema_key(s->def, kv[0]);
        if (entry_of(s, def->name) == NULL)
            fill_from(s, def, kv[1], SOURCE_PRESET, preset);
    }
    return TRUE;
}

static gboolean complete_section(SimSection *s, GError **error)
{
    if (!apply_preset(s, error))
        return FALSE;
    for (guint i = 0; i < s->def->n_keys; i++) {
        const SimKeyDef *def = &s->def->keys[i];
        if (entry_of(s, def->name) || def->default_value == NULL)
            continue;
        fill_from(s, def, def->default_value, SOURCE_DEFAULT, NULL);
    }
    for (guint i = 0; i < s->def->n_keys; i++) {
        const SimKeyDef *def = &s->def->keys[i];
        if ((def->flags & SIM_KEY_REQUIRED) && entry_of(s, def->name) == NULL) {
            char *what = sim_schema_key_describe(def);
            sim_section_error(s, def->name, error, "required key is missing (%s)", what);
            g_free(what);
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean resolve_references(SimSection *s, GError **error)
{
    for (guint i = 0; i < s->def->n_keys; i++) {
        const SimKeyDef *def = &s->def->keys[i];
        Entry *e = entry_of(s, def->name);
        if (e == NULL || def->type != SIM_TYPE_REFERENCE)
            continue;
        char *label = make_label(e->value.u.ref.kind, e->value.u.ref.name);
        e->target = g_hash_table_lookup(s->scenario->by_label, label);
        if (e->target == NULL) {
            /* Near misses among every kind the key allows. */
            GPtrArray *labels = g_ptr_array_new();
            for (guint j = 0; j < s->scenario->sections->len; j++) {
                SimSection *t = g_ptr_array_index(s->scenario->sections, j);
                if (t->name && sim_schema_reference_allows(def, t->def->kind))
                    g_ptr_array_add(labels, t->label);
            }
            char *h = hint(label, labels, "[", "]");
            sim_section_error(s, def->name, error, "no section [%s]%s", label, h);
            g_free(h);
            g_ptr_array_unref(labels);
        }
        g_free(label);
        if (e->target == NULL)
            return FALSE;
    }
    return TRUE;
}

/* ---- loading ---- */

static SimScenario *load(const SimSchema *schema, const char *data, const char *origin,
                         const char *const *overrides, GError **error)
{
    SimScenario *sc = g_new0(SimScenario, 1);
    sc->schema = schema;
    sc->origin = g_strdup(origin ? origin : "<scenario>");
    sc->sections = g_ptr_array_new_with_free_func(section_free);
    sc->by_label = g_hash_table_new(g_str_hash, g_str_equal);

    /* Editors on Windows may start UTF-8 files with a byte order mark, which
     * GKeyFile would take for part of the first line. */
    if (g_str_has_prefix(data, "\xEF\xBB\xBF"))
        data += 3;
    gboolean ok = load_text(sc, data, error);
    if (ok)
        add_missing_unnamed(sc);
    for (guint i = 0; ok && overrides && overrides[i]; i++)
        ok = apply_override(sc, overrides[i], error);
    for (guint i = 0; ok && i < sc->sections->len; i++)
        ok = complete_section(g_ptr_array_index(sc->sections, i), error);
    for (guint i = 0; ok && i < sc->sections->len; i++)
        ok = resolve_references(g_ptr_array_index(sc->sections, i), error);
    if (!ok) {
        sim_scenario_free(sc);
        return NULL;
    }
    return sc;
}

SimScenario *sim_scenario_load_data(const SimSchema *schema, const char *data, const char *origin,
                                    const char *const *overrides, GError **error)
{
    g_return_val_if_fail(schema != NULL && data != NULL, NULL);
    return load(schema, data, origin, overrides, error);
}

static GPtrArray *library_dirs;

void sim_scenario_set_library(const char *const *dirs)
{
    g_clear_pointer(&library_dirs, g_ptr_array_unref);
    library_dirs = g_ptr_array_new_with_free_func(g_free);
    for (const char *const *d = dirs; d && *d; d++)
        if (**d)
            g_ptr_array_add(library_dirs, g_strdup(*d));
}

/* A bare name that is not a file is looked up in $PORTSIM_SCENARIO_PATH and
 * the library folders, with or without its .ini. */
static char *find_scenario(const char *path)
{
    if (g_file_test(path, G_FILE_TEST_EXISTS) || strchr(path, '/'))
        return g_strdup(path);
    g_autofree char *file = g_str_has_suffix(path, ".ini") ? g_strdup(path)
                                                            : g_strconcat(path, ".ini", NULL);
    g_autoptr(GPtrArray) dirs = g_ptr_array_new_with_free_func(g_free);
    const char *env = g_getenv("PORTSIM_SCENARIO_PATH");
    g_auto(GStrv) env_dirs = env ? g_strsplit(env, ":", -1) : NULL;
    for (char **d = env_dirs; d && *d; d++)
        g_ptr_array_add(dirs, g_strdup(*d));
    for (guint i = 0; library_dirs && i < library_dirs->len; i++)
        g_ptr_array_add(dirs, g_strdup(library_dirs->pdata[i]));
    for (guint i = 0; i < dirs->len; i++) {
        char *candidate = g_build_filename(dirs->pdata[i], file, NULL);
        if (g_file_test(candidate, G_FILE_TEST_IS_REGULAR))
            return candidate;
        g_free(candidate);
    }
    return g_strdup(path);
}

SimScenario *sim_scenario_load_file(const SimSchema *schema, const char *name,
                                    const char *const *overrides, GError **error)
{
    g_autofree char *path = find_scenario(name);
    char *data = NULL;
    gsize len = 0;
    GError *err = NULL;
    if (!g_file_get_contents(path, &data, &len, &err)) {
        /* GLib's message repeats the path; keep only the reason after it. */
        const char *reason = g_strrstr(err->message, ": ");
        sim_input_error(error, "cannot read %s: %s", path, reason ? reason + 2 : err->message);
        g_error_free(err);
        return NULL;
    }
    SimScenario *sc = NULL;
    if (memchr(data, '\0', len))
        sim_input_error(error, "%s: not a text file (it contains a NUL byte)", path);
    else
        sc = load(schema, data, path, overrides, error);
    g_free(data);
    return sc;
}

void sim_scenario_free(SimScenario *scenario)
{
    if (scenario == NULL)
        return;
    g_hash_table_unref(scenario->by_label);
    g_ptr_array_unref(scenario->sections);
    g_free(scenario->origin);
    g_free(scenario);
}

/* ---- queries ---- */

const SimSchema *sim_scenario_schema(const SimScenario *scenario)
{
    return scenario->schema;
}

const char *sim_scenario_origin(const SimScenario *scenario)
{
    return scenario->origin;
}

guint sim_scenario_n_sections(const SimScenario *scenario)
{
    return scenario->sections->len;
}

SimSection *sim_scenario_section_at(const SimScenario *scenario, guint i)
{
    g_return_val_if_fail(i < scenario->sections->len, NULL);
    return g_ptr_array_index(scenario->sections, i);
}

SimSection *sim_scenario_find(const SimScenario *scenario, const char *kind, const char *name)
{
    char *label = make_label(kind, name);
    SimSection *s = g_hash_table_lookup(scenario->by_label, label);
    g_free(label);
    return s;
}

const char *sim_section_kind(const SimSection *section)
{
    return section->def->kind;
}

const char *sim_section_name(const SimSection *section)
{
    return section->name;
}

const char *sim_section_label(const SimSection *section)
{
    return section->label;
}

/* Asking for a key the schema lacks is a bug in the caller, not bad input. */
static const SimKeyDef *declared(const SimSection *section, const char *key, const char *caller)
{
    const SimKeyDef *def = sim_schema_key(section->def, key);
    if (def == NULL && sim_schema_free_keys(section->scenario->schema, section->def->kind))
        return entry_of(section, key) ? entry_of(section, key)->def : NULL;
    if (def == NULL)
        g_error("%s: [%s] declares no key '%s'", caller, section->def->kind, key);
    return def;
}

gboolean sim_section_has(const SimSection *section, const char *key)
{
    declared(section, key, G_STRFUNC);
    return entry_of(section, key) != NULL;
}

const char *sim_section_source(const SimSection *section, const char *key)
{
    declared(section, key, G_STRFUNC);
    const Entry *e = entry_of(section, key);
    return e ? e->source : NULL;
}

static const Entry *typed(const SimSection *section, const char *key, SimValueType type,
                          const char *caller)
{
    const Entry *e = entry_of(section, key);
    if (e && e->def->type == type)
        return e;
    const SimKeyDef *def = declared(section, key, caller);
    if (def == NULL) /* a free key that was not given */
        g_error("%s: [%s] %s has no value", caller, section->label, key);
    if (def->type != type)
        g_error("%s: [%s] %s is a %s", caller, section->def->kind, key,
                sim_value_type_describe(def->type));
    g_error("%s: [%s] %s has no value", caller, section->label, key);
}

const char *sim_section_text(const SimSection *section, const char *key)
{
    const Entry *e = entry_of(section, key);
    if (e == NULL) {
        declared(section, key, G_STRFUNC);
        g_error("%s: [%s] %s has no value", G_STRFUNC, section->label, key);
    }
    return e->text;
}

int64_t sim_section_int(const SimSection *section, const char *key)
{
    return typed(section, key, SIM_TYPE_INT, G_STRFUNC)->value.u.i;
}

double sim_section_float(const SimSection *section, const char *key)
{
    return typed(section, key, SIM_TYPE_FLOAT, G_STRFUNC)->value.u.f;
}

gboolean sim_section_bool(const SimSection *section, const char *key)
{
    return typed(section, key, SIM_TYPE_BOOL, G_STRFUNC)->value.u.b;
}

SimTime sim_section_duration(const SimSection *section, const char *key)
{
    return typed(section, key, SIM_TYPE_DURATION, G_STRFUNC)->value.u.t;
}

double sim_section_rate(const SimSection *section, const char *key)
{
    return typed(section, key, SIM_TYPE_RATE, G_STRFUNC)->value.u.f;
}

SimRange sim_section_range(const SimSection *section, const char *key)
{
    return typed(section, key, SIM_TYPE_RANGE, G_STRFUNC)->value.u.range;
}

const GArray *sim_section_range_list(const SimSection *section, const char *key)
{
    return typed(section, key, SIM_TYPE_RANGE_LIST, G_STRFUNC)->value.u.array;
}

const GArray *sim_section_addresses(const SimSection *section, const char *key)
{
    return typed(section, key, SIM_TYPE_ADDRESSES, G_STRFUNC)->value.u.array;
}

const SimDist *sim_section_distribution(const SimSection *section, const char *key)
{
    return &typed(section, key, SIM_TYPE_DISTRIBUTION, G_STRFUNC)->value.u.dist;
}

const GArray *sim_section_schedule(const SimSection *section, const char *key)
{
    return typed(section, key, SIM_TYPE_SCHEDULE, G_STRFUNC)->value.u.array;
}

SimSection *sim_section_reference(const SimSection *section, const char *key)
{
    return typed(section, key, SIM_TYPE_REFERENCE, G_STRFUNC)->target;
}

guint sim_section_n_free_keys(const SimSection *section)
{
    return section->free_defs->len;
}

const char *sim_section_free_key_at(const SimSection *section, guint i)
{
    g_return_val_if_fail(i < section->free_defs->len, NULL);
    return ((const SimKeyDef *)g_ptr_array_index(section->free_defs, i))->name;
}

/* ---- the effective scenario ---- */

GString *sim_scenario_effective_ini(const SimScenario *scenario)
{
    /* A line break in the origin would end the comment early. */
    char *origin = g_strdelimit(g_strdup(scenario->origin), "\r\n", ' ');
    GString *out = g_string_new(NULL);
    g_string_append_printf(out, "; portsim effective scenario, generated from %s\n", origin);
    g_free(origin);
    for (guint i = 0; i < scenario->sections->len; i++) {
        const SimSection *s = g_ptr_array_index(scenario->sections, i);
        g_string_append_printf(out, "\n[%s]\n", s->label);
        for (guint k = 0; k < s->def->n_keys; k++) {
            const Entry *e = entry_of(s, s->def->keys[k].name);
            if (e == NULL)
                continue;
            g_string_append_printf(out, "%s = %s", e->def->name, e->text);
            if (e->source == SOURCE_PRESET)
                g_string_append_printf(out, " ; from preset %s", e->preset->name);
            else if (e->source == SOURCE_DEFAULT)
                g_string_append(out, " ; default");
            else if (e->source == SOURCE_OVERRIDE)
                g_string_append(out, " ; --set");
            g_string_append_c(out, '\n');
        }
        for (guint k = 0; k < s->free_defs->len; k++) {
            const SimKeyDef *def = g_ptr_array_index(s->free_defs, k);
            const Entry *e = entry_of(s, def->name);
            g_string_append_printf(out, "%s = %s%s\n", def->name, e->text,
                                   e->source == SOURCE_OVERRIDE ? " ; --set" : "");
        }
    }
    return out;
}
