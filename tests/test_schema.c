/* Unit tests for sim/schema.c: the registry, value checking with its
 * messages, suggestions and the generated key reference. */
#include <signal.h>
#include <stdarg.h>
#include <string.h>

#include "schema.h"
#include "sim_error.h"
#include "test_util.h"

/* A schema covering every type, with bounds where a type takes them. */
static const SimKeyDef run_keys[] = {
    {"label", SIM_TYPE_STRING, NULL, NULL, NULL, NULL, 0, "Free text."},
    {"count", SIM_TYPE_INT, "10", "1", "65535", NULL, 0, "An integer | with a pipe."},
    {"ratio", SIM_TYPE_FLOAT, "0.5", "0", "1", NULL, 0, "A fraction."},
    {"verbose", SIM_TYPE_BOOL, "false", NULL, NULL, NULL, 0, "A switch."},
    {"mode", SIM_TYPE_ENUM, "fast", NULL, NULL, "fast|slow|careful", 0, "How to run."},
    {"duration", SIM_TYPE_DURATION, "10m", "1s", "1d", NULL, 0, "How long."},
    {"rate", SIM_TYPE_RATE, "100/s", "1/s", "1M/s", NULL, 0, "How often."},
    {"range", SIM_TYPE_RANGE, "32768-60999", "1", "65535", NULL, 0, "Ports."},
    {"ports", SIM_TYPE_RANGE_LIST, "", "1", "65535", NULL, 0, "More ports."},
    {"addresses", SIM_TYPE_ADDRESSES, NULL, NULL, "4", NULL, SIM_KEY_REQUIRED, "Where."},
    {"fleet", SIM_TYPE_ADDRESSES, NULL, NULL, NULL, NULL, 0, "Uncapped but for the default."},
    {"hold", SIM_TYPE_DISTRIBUTION, "exp(100ms)", "1ms", "1h", NULL, 0, "Hold time."},
    {"schedule", SIM_TYPE_SCHEDULE, NULL, NULL, NULL, NULL, 0, "Rate over time."},
    {"host", SIM_TYPE_REFERENCE, NULL, NULL, NULL, "host", 0, "One kind."},
    {"target", SIM_TYPE_REFERENCE, NULL, NULL, NULL, "server|lb", 0, "Two kinds."},
};

static const SimKeyDef node_keys[] = {
    {"preset", SIM_TYPE_ENUM, "alpha", NULL, NULL, "alpha|beta", 0, "Defaults."},
    {"ephemeral_range", SIM_TYPE_RANGE, "1000-2000", "1", "65535", NULL, 0, "Local ports."},
    {"time_wait", SIM_TYPE_DURATION, "60s", "0s", NULL, NULL, 0, "TIME_WAIT length."},
};

static const SimSectionDef sections[] = {
    {"run", FALSE, "Run-wide settings.", run_keys, G_N_ELEMENTS(run_keys)},
    {"node", TRUE, "A node.", node_keys, G_N_ELEMENTS(node_keys)},
};

static const char *const alpha_pairs[] = {"time_wait", "30s", "ephemeral_range", "5000-6000",
                                          NULL};
static const char *const beta_pairs[] = {"time_wait", "2m", NULL};

static const SimPresetDef presets[] = {
    {"node", "alpha", "Alpha systems (numbers from the alpha manual).", alpha_pairs},
    {"node", "beta", "Beta systems.", beta_pairs},
};

static SimSchema *test_schema(void)
{
    SimSchema *schema = sim_schema_new();
    for (guint i = 0; i < G_N_ELEMENTS(sections); i++)
        sim_schema_add_section(schema, &sections[i]);
    for (guint i = 0; i < G_N_ELEMENTS(presets); i++)
        sim_schema_add_preset(schema, &presets[i]);
    return schema;
}

static const SimKeyDef *run_key(const char *name)
{
    const SimKeyDef *key = sim_schema_key(&sections[0], name);
    ck_assert_ptr_nonnull(key);
    return key;
}

static void accepts(const char *key, const char *text)
{
    GError *err = NULL;
    ck_assert_msg(sim_schema_check_value(run_key(key), text, &err), "%s = '%s' refused: %s", key,
                  text, err ? err->message : "");
}

/* The value must be refused with a SIM_ERROR_INPUT whose message holds every
 * string of the NULL-terminated list. */
static void refuses(const char *key, const char *text, ...) G_GNUC_NULL_TERMINATED;

static void refuses(const char *key, const char *text, ...)
{
    GError *err = NULL;
    ck_assert_msg(!sim_schema_check_value(run_key(key), text, &err), "%s = '%s' accepted", key,
                  text);
    ck_assert(g_error_matches(err, SIM_ERROR, SIM_ERROR_INPUT));
    va_list args;
    va_start(args, text);
    for (const char *needle; (needle = va_arg(args, const char *));)
        ck_assert_msg(strstr(err->message, needle), "%s = '%s': message \"%s\" lacks \"%s\"",
                      key, text, err->message, needle);
    va_end(args);
    g_error_free(err);
}

/* ---- registry ---- */

START_TEST(registry_lookups)
{
    SimSchema *schema = test_schema();
    ck_assert_uint_eq(sim_schema_n_sections(schema), 2);
    ck_assert_ptr_eq(sim_schema_section_at(schema, 0), &sections[0]);
    ck_assert_ptr_eq(sim_schema_section_at(schema, 1), &sections[1]);
    ck_assert_ptr_eq(sim_schema_section(schema, "node"), &sections[1]);
    ck_assert_ptr_null(sim_schema_section(schema, "nod"));
    ck_assert_ptr_eq(sim_schema_key(&sections[1], "time_wait"), &node_keys[2]);
    ck_assert_ptr_null(sim_schema_key(&sections[1], "time-wait"));

    ck_assert_uint_eq(sim_schema_n_presets(schema), 2);
    ck_assert_ptr_eq(sim_schema_preset_at(schema, 1), &presets[1]);
    ck_assert_ptr_eq(sim_schema_preset(schema, "node", "beta"), &presets[1]);
    ck_assert_ptr_null(sim_schema_preset(schema, "node", "gamma"));
    ck_assert_ptr_null(sim_schema_preset(schema, "run", "alpha"));
    sim_schema_free(schema);
}
END_TEST

/* ---- suggestions ---- */

START_TEST(suggest_typos)
{
    const char *keys[] = {"ephemeral_range", "time_wait", "allocator"};
    ck_assert_str_eq(sim_schema_suggest("ephemeral_rang", keys, 3), "ephemeral_range");
    ck_assert_str_eq(sim_schema_suggest("time_wiat", keys, 3), "time_wait");
    ck_assert_str_eq(sim_schema_suggest("alocator", keys, 3), "allocator");
    ck_assert_ptr_null(sim_schema_suggest("bandwidth", keys, 3));
    ck_assert_ptr_null(sim_schema_suggest("x", keys, 0));
}
END_TEST

START_TEST(suggest_limits_and_ties)
{
    /* Short words: up to 2 edits. */
    const char *two[] = {"cd"};
    ck_assert_str_eq(sim_schema_suggest("ab", two, 1), "cd");
    const char *three[] = {"xyz"};
    ck_assert_ptr_null(sim_schema_suggest("abc", three, 1));
    /* Twelve letters allow 4 edits, not 5. */
    const char *four[] = {"wxyzefghijkl"};
    ck_assert_str_eq(sim_schema_suggest("abcdefghijkl", four, 1), "wxyzefghijkl");
    const char *five[] = {"vwxyzfghijkl"};
    ck_assert_ptr_null(sim_schema_suggest("abcdefghijkl", five, 1));
    /* The nearest wins, then the first declared. */
    const char *near[] = {"rates", "rate"};
    ck_assert_str_eq(sim_schema_suggest("rat", near, 2), "rate");
    const char *tie[] = {"ax", "ay"};
    ck_assert_str_eq(sim_schema_suggest("az", tie, 2), "ax");
    const char *tie_reversed[] = {"ay", "ax"};
    ck_assert_str_eq(sim_schema_suggest("az", tie_reversed, 2), "ay");
}
END_TEST

/* ---- value checking ---- */

START_TEST(check_scalars)
{
    accepts("label", "anything at all");
    accepts("count", " 10k ");
    refuses("count", "ten", "expected an integer", "'ten'", NULL);
    refuses("count", "0", "must be at least 1, got 0", NULL);
    refuses("count", "70k", "must be at most 65535, got 70k", NULL);
    accepts("ratio", "1");
    refuses("ratio", "1.5", "must be at most 1, got 1.5", NULL);
    accepts("verbose", "yes");
    refuses("verbose", "maybe", "maybe", NULL);
}
END_TEST

START_TEST(check_units_and_bounds)
{
    accepts("duration", "1s");
    accepts("duration", "24h");
    refuses("duration", "0s", "must be at least 1s, got 0s", NULL);
    refuses("duration", "25h", "must be at most 1d, got 25h", NULL);
    refuses("duration", "60", "no unit", NULL);
    accepts("rate", "30k/s");
    refuses("rate", "fast", "expected a rate such as 500/s", "'fast'", NULL);
    refuses("rate", "30/m", "must be at least 1/s, got 30/m", NULL);
    refuses("rate", "2M/s", "must be at most 1M/s", NULL);
    accepts("hold", "lognormal(200ms, 1.0)");
    refuses("hold", "exp(2h)", "the mean must be at most 1h, got exp(2h)", NULL);
    refuses("hold", "const(0s)", "the mean must be at least 1ms", NULL);
    refuses("hold", "gauss(1s)", "unknown distribution", NULL);
}
END_TEST

START_TEST(check_ranges_and_lists)
{
    accepts("range", "443");
    accepts("range", "32768-60999");
    refuses("range", "0-100", "minimum of 1", NULL);
    refuses("range", "1-70000", "maximum of 65535", NULL);
    accepts("ports", "");
    accepts("ports", "443, 8000-8010");
    refuses("ports", "443,,80", "empty item", NULL);
    accepts("schedule", "0s 200/s, 10m 2000/s");
    refuses("schedule", "5m 200/s", "must start at 0s", NULL);
}
END_TEST

START_TEST(check_address_caps)
{
    accepts("addresses", "10.0.0.1-10.0.0.4");
    /* `max` caps the list: a /29 is 8 addresses. */
    refuses("addresses", "10.0.0.0/29", NULL);
    /* Without `max`, a million; a /12 is a million and more. */
    accepts("fleet", "10.0.0.0/13");
    refuses("fleet", "10.0.0.0/12", NULL);
    /* A required key may not be blank, although an empty list parses. */
    refuses("addresses", "  ", "a value is required", "address list", NULL);
    accepts("fleet", "");
}
END_TEST

START_TEST(check_enum)
{
    accepts("mode", "careful");
    accepts("mode", " slow ");
    refuses("mode", "carefull", "expected one of fast, slow or careful", "got 'carefull'",
            "did you mean 'careful'?", NULL);
    /* Far from every choice: no hint. */
    GError *err = NULL;
    ck_assert(!sim_schema_check_value(run_key("mode"), "turbo-mode", &err));
    ck_assert_ptr_null(strstr(err->message, "did you mean"));
    g_error_free(err);
    /* Choices are whole words, case included. */
    refuses("mode", "Fast", "did you mean 'fast'?", NULL);
    refuses("mode", "fast|slow", NULL);
}
END_TEST

START_TEST(check_references)
{
    SimValue v;
    GError *err = NULL;
    ck_assert(sim_schema_parse_value(run_key("target"), " server  api ", &v, &err));
    ck_assert_str_eq(v.u.ref.kind, "server");
    ck_assert_str_eq(v.u.ref.name, "api");
    sim_value_clear(&v);
    /* A single allowed kind lets the kind be left out. */
    ck_assert(sim_schema_parse_value(run_key("host"), "shop", &v, &err));
    ck_assert_str_eq(v.u.ref.kind, "host");
    ck_assert_str_eq(v.u.ref.name, "shop");
    sim_value_clear(&v);
    accepts("host", "host shop");
    accepts("target", "lb front");

    refuses("target", "api", "a reference to a server or lb", "KIND NAME", "got 'api'", NULL);
    refuses("target", "host shop", "a reference to a server or lb", NULL);
    refuses("host", "server api", "a reference to a host", NULL);
    refuses("host", "shop!", NULL);
    refuses("host", "host shop extra", NULL);
    refuses("host", "", NULL);
    ck_assert(sim_schema_reference_allows(run_key("target"), "lb"));
    ck_assert(!sim_schema_reference_allows(run_key("target"), "l"));
}
END_TEST

START_TEST(parse_typed_values)
{
    SimValue v;
    GError *err = NULL;
    ck_assert(sim_schema_parse_value(run_key("count"), "2k", &v, &err));
    ck_assert_int_eq(v.u.i, 2000);
    ck_assert(sim_schema_parse_value(run_key("duration"), "2m", &v, &err));
    ck_assert_int_eq(v.u.t, 120 * SIM_S);
    ck_assert(sim_schema_parse_value(run_key("rate"), "30k/s", &v, &err));
    ck_assert_double_eq(v.u.f, 30000.0);
    ck_assert(sim_schema_parse_value(run_key("verbose"), "on", &v, &err));
    ck_assert(v.u.b);
    ck_assert(sim_schema_parse_value(run_key("range"), "100-200", &v, &err));
    ck_assert_int_eq(v.u.range.lo, 100);
    ck_assert_int_eq(v.u.range.hi, 200);
    ck_assert(sim_schema_parse_value(run_key("hold"), "exp(250ms)", &v, &err));
    ck_assert_int_eq(v.u.dist.kind, SIM_DIST_EXP);
    ck_assert_int_eq(v.u.dist.mean, 250 * SIM_MS);

    ck_assert(sim_schema_parse_value(run_key("ports"), "443, 8000-8010", &v, &err));
    ck_assert_uint_eq(v.u.array->len, 2);
    ck_assert_int_eq(g_array_index(v.u.array, SimRange, 1).hi, 8010);
    sim_value_clear(&v);
    ck_assert_ptr_null(v.u.array);
    ck_assert(sim_schema_parse_value(run_key("addresses"), "10.0.0.1-10.0.0.3", &v, &err));
    ck_assert_uint_eq(v.u.array->len, 3);
    ck_assert_int_eq(g_array_index(v.u.array, SimAddress, 2).bytes[3], 3);
    sim_value_clear(&v);
    ck_assert(sim_schema_parse_value(run_key("schedule"), "0s 1/s, 1m 5/s", &v, &err));
    ck_assert_uint_eq(v.u.array->len, 2);
    ck_assert_double_eq(g_array_index(v.u.array, SimSchedulePoint, 1).rate, 5.0);
    sim_value_clear(&v);
    ck_assert_ptr_null(err);
}
END_TEST

/* ---- descriptions ---- */

START_TEST(describe_types_and_keys)
{
    /* Every type has its own description with an example. */
    GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
    for (int t = SIM_TYPE_STRING; t <= SIM_TYPE_REFERENCE; t++) {
        const char *d = sim_value_type_describe((SimValueType)t);
        ck_assert_msg(d && *d && !g_hash_table_contains(seen, d), "type %d: '%s'", t, d);
        g_hash_table_add(seen, (gpointer)d);
    }
    g_hash_table_unref(seen);
    ck_assert_ptr_nonnull(strstr(sim_value_type_describe(SIM_TYPE_DURATION), "60s"));

    struct {
        const char *key, *expected;
    } cases[] = {
        {"mode", "one of fast, slow or careful"},
        {"target", "a reference to a server or lb"},
        {"host", "a reference to a host"},
        {"count", "an integer (64, 10k)"},
        {"duration", "a duration (60s, 250ms)"},
        {"addresses", "an address list"},
        {"label", "text"},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        char *d = sim_schema_key_describe(run_key(cases[i].key));
        ck_assert_msg(g_str_has_prefix(d, cases[i].expected), "%s: '%s'", cases[i].key, d);
        g_free(d);
    }
}
END_TEST

START_TEST(names)
{
    ck_assert(sim_schema_name_is_valid("web-1.eu_west"));
    ck_assert(!sim_schema_name_is_valid(""));
    ck_assert(!sim_schema_name_is_valid("a b"));
    ck_assert(!sim_schema_name_is_valid("a=b"));
    ck_assert(!sim_schema_name_is_valid("caf\xc3\xa9"));
}
END_TEST

START_TEST(describe_text_lists_everything)
{
    SimSchema *schema = test_schema();
    GString *text = sim_schema_describe_text(schema);
    ck_assert_ptr_nonnull(strstr(text->str, "[run]\n  Run-wide settings."));
    ck_assert_ptr_nonnull(strstr(text->str, "[node NAME]\n  A node."));
    for (guint s = 0; s < G_N_ELEMENTS(sections); s++)
        for (guint k = 0; k < sections[s].n_keys; k++) {
            char *line = g_strdup_printf("\n  %s: ", sections[s].keys[k].name);
            ck_assert_msg(strstr(text->str, line), "no key %s", sections[s].keys[k].name);
            g_free(line);
            ck_assert(strstr(text->str, sections[s].keys[k].help));
        }
    ck_assert(strstr(text->str, "default: 10m"));
    ck_assert(strstr(text->str, "allowed: 1s to 1d"));
    ck_assert(strstr(text->str, "allowed: fast, slow, careful"));
    ck_assert(strstr(text->str, "allowed: at most 4 addresses"));
    ck_assert(strstr(text->str, "allowed: mean 1ms to 1h"));
    ck_assert(strstr(text->str, "required"));
    ck_assert(strstr(text->str, "[node] preset = beta"));
    ck_assert(strstr(text->str, "Alpha systems (numbers from the alpha manual)."));
    ck_assert(strstr(text->str, "ephemeral_range = 5000-6000"));
    g_string_free(text, TRUE);
    sim_schema_free(schema);
}
END_TEST

START_TEST(describe_markdown_tables)
{
    SimSchema *schema = test_schema();
    GString *md = sim_schema_describe_markdown(schema);
    ck_assert(strstr(md->str, "\n## [run]\n"));
    ck_assert(strstr(md->str, "\n## [node NAME]\n"));
    ck_assert(strstr(md->str, "| Key | Type | Default | Allowed | Description |"));
    for (guint s = 0; s < G_N_ELEMENTS(sections); s++)
        for (guint k = 0; k < sections[s].n_keys; k++) {
            char *cell = g_strdup_printf("\n| `%s` | ", sections[s].keys[k].name);
            ck_assert_msg(strstr(md->str, cell), "no row for %s", sections[s].keys[k].name);
            g_free(cell);
        }
    /* A '|' inside a cell would split it: choices are listed, help escaped. */
    ck_assert(strstr(md->str, "| `mode` | choice (one of the listed words) | `fast` | "
                              "`fast`, `slow`, `careful` | How to run. |"));
    ck_assert(strstr(md->str, "An integer \\| with a pipe."));
    ck_assert(strstr(md->str, "| `addresses` | address list (10.0.0.1, 10.0.0.1-10.0.0.8, "
                              "10.0.0.0/29) | *required* | at most 4 addresses | Where. |"));
    ck_assert(strstr(md->str, "| `ports` | range list (443, 8000-8010) | *empty* |"));
    ck_assert(strstr(md->str, "| `target` | reference (server api) | *none* | "
                              "[server NAME], [lb NAME] |"));
    ck_assert(strstr(md->str, "\n### [node] preset = alpha\n"));
    ck_assert(strstr(md->str, "| `time_wait` | `2m` |"));
    /* Every table row has the header's five cells. */
    char **lines = g_strsplit(md->str, "\n", -1);
    for (char **l = lines; *l; l++) {
        if (!g_str_has_prefix(*l, "| `") || strstr(*l, "| Value |"))
            continue;
        guint bars = 0;
        for (const char *p = *l; *p; p++)
            bars += *p == '|' && (p == *l || p[-1] != '\\');
        ck_assert_msg(bars == 6 || bars == 3, "bad row: %s", *l);
    }
    g_strfreev(lines);
    g_string_free(md, TRUE);
    sim_schema_free(schema);
}
END_TEST

/* ---- programming errors ---- */

static const SimKeyDef bad_default_keys[] = {
    {"count", SIM_TYPE_INT, "0", "1", NULL, NULL, 0, "Default below its minimum."},
};
static const SimSectionDef bad_default_section = {"bad", FALSE, "Broken.", bad_default_keys, 1};

/* g_error raises SIGTRAP; these run only when Check forks (see below). */
START_TEST(bad_default_is_fatal)
{
    SimSchema *schema = sim_schema_new();
    sim_schema_add_section(schema, &bad_default_section);
}
END_TEST

static const char *const bad_pairs[] = {"time_wait", "soon", NULL};
static const SimPresetDef bad_preset = {"node", "bad", "Broken.", bad_pairs};

START_TEST(bad_preset_is_fatal)
{
    SimSchema *schema = test_schema();
    sim_schema_add_preset(schema, &bad_preset);
}
END_TEST

static const SimKeyDef misplaced_bound_keys[] = {
    {"mode", SIM_TYPE_ENUM, "a", "1", NULL, "a|b", 0, "An enum has no bounds."},
};
static const SimSectionDef misplaced_bound_section = {"bad", FALSE, "Broken.",
                                                       misplaced_bound_keys, 1};

START_TEST(misplaced_bound_is_fatal)
{
    SimSchema *schema = sim_schema_new();
    sim_schema_add_section(schema, &misplaced_bound_section);
}
END_TEST

static Suite *schema_suite(void)
{
    Suite *s = suite_create("schema");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, registry_lookups);
    tcase_add_test(tc, suggest_typos);
    tcase_add_test(tc, suggest_limits_and_ties);
    tcase_add_test(tc, check_scalars);
    tcase_add_test(tc, check_units_and_bounds);
    tcase_add_test(tc, check_ranges_and_lists);
    tcase_add_test(tc, check_address_caps);
    tcase_add_test(tc, check_enum);
    tcase_add_test(tc, check_references);
    tcase_add_test(tc, parse_typed_values);
    tcase_add_test(tc, describe_types_and_keys);
    tcase_add_test(tc, names);
    tcase_add_test(tc, describe_text_lists_everything);
    tcase_add_test(tc, describe_markdown_tables);
    suite_add_tcase(s, tc);
    /* A signal cannot be caught without a fork (CK_FORK=no, as under
     * valgrind). */
    if (g_strcmp0(g_getenv("CK_FORK"), "no") != 0) {
        TCase *fatal = tcase_create("fatal");
        tcase_add_test_raise_signal(fatal, bad_default_is_fatal, SIGTRAP);
        tcase_add_test_raise_signal(fatal, bad_preset_is_fatal, SIGTRAP);
        tcase_add_test_raise_signal(fatal, misplaced_bound_is_fatal, SIGTRAP);
        suite_add_tcase(s, fatal);
    }
    return s;
}

PS_TEST_MAIN(schema_suite)
