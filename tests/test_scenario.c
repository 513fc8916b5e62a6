/* Unit tests for sim/scenario.c: loading, typed values, presets, overrides,
 * every error message form and the effective scenario. */
#include <glib/gstdio.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "scenario.h"
#include "sim_error.h"
#include "test_util.h"

/* ---- a small schema in the shape of portsim's ---- */

static const SimKeyDef scenario_keys[] = {
    {"name", SIM_TYPE_STRING, NULL, NULL, NULL, NULL, 0, "Scenario name."},
    {"duration", SIM_TYPE_DURATION, "10m", "1s", "365d", NULL, 0, "Simulated time."},
    {"seed", SIM_TYPE_INT, "1", "0", NULL, NULL, 0, "Master seed."},
    {"ratio", SIM_TYPE_FLOAT, "0.5", "0", "1", NULL, 0, "A fraction."},
    {"verbose", SIM_TYPE_BOOL, "false", NULL, NULL, NULL, 0, "More output."},
};

static const SimKeyDef host_keys[] = {
    {"addresses", SIM_TYPE_ADDRESSES, NULL, NULL, "8", NULL, SIM_KEY_REQUIRED, "Source addresses."},
    {"preset", SIM_TYPE_ENUM, "linux", NULL, NULL, "linux|bsd", 0, "OS defaults."},
    {"ephemeral_range", SIM_TYPE_RANGE, "1024-65535", "1", "65535", NULL, 0, "Local ports."},
    {"time_wait", SIM_TYPE_DURATION, "2m", "0s", "1h", NULL, 0, "TIME_WAIT length."},
    {"allocator", SIM_TYPE_ENUM, "sequential", NULL, NULL, "sequential|random|linux", 0,
     "Port choice."},
    {"reserved_ports", SIM_TYPE_RANGE_LIST, "", "1", "65535", NULL, 0, "Never chosen."},
};

static const SimKeyDef server_keys[] = {
    {"addresses", SIM_TYPE_ADDRESSES, NULL, NULL, NULL, NULL, SIM_KEY_REQUIRED, "Listens."},
    {"ports", SIM_TYPE_RANGE_LIST, NULL, "1", "65535", NULL, SIM_KEY_REQUIRED, "Listen ports."},
};

static const SimKeyDef lb_keys[] = {
    {"addresses", SIM_TYPE_ADDRESSES, NULL, NULL, NULL, NULL, SIM_KEY_REQUIRED, "VIPs."},
};

static const SimKeyDef workload_keys[] = {
    {"host", SIM_TYPE_REFERENCE, NULL, NULL, NULL, "host", SIM_KEY_REQUIRED, "Client host."},
    {"target", SIM_TYPE_REFERENCE, NULL, NULL, NULL, "server|lb", SIM_KEY_REQUIRED,
     "Destination."},
    {"rate", SIM_TYPE_RATE, "100/s", "0/s", "1M/s", NULL, 0, "Connections per second."},
    {"hold", SIM_TYPE_DISTRIBUTION, "0s", "0s", "1h", NULL, 0, "Connection hold time."},
    {"schedule", SIM_TYPE_SCHEDULE, NULL, NULL, NULL, NULL, 0, "Rate over time."},
};

static const SimSectionDef sections[] = {
    {"scenario", FALSE, "Run-wide.", scenario_keys, G_N_ELEMENTS(scenario_keys)},
    {"host", TRUE, "A client host.", host_keys, G_N_ELEMENTS(host_keys)},
    {"server", TRUE, "A server.", server_keys, G_N_ELEMENTS(server_keys)},
    {"lb", TRUE, "A load balancer.", lb_keys, G_N_ELEMENTS(lb_keys)},
    {"workload", TRUE, "Traffic.", workload_keys, G_N_ELEMENTS(workload_keys)},
};

static const char *const linux_pairs[] = {"ephemeral_range", "32768-60999", "time_wait", "60s",
                                          "allocator", "linux", NULL};
static const char *const bsd_pairs[] = {"ephemeral_range", "49152-65535", "time_wait", "30s",
                                        "allocator", "random", NULL};

static const SimPresetDef presets[] = {
    {"host", "linux", "Linux.", linux_pairs},
    {"host", "bsd", "BSD.", bsd_pairs},
};

static SimSchema *schema;

static void setup(void)
{
    schema = sim_schema_new();
    for (guint i = 0; i < G_N_ELEMENTS(sections); i++)
        sim_schema_add_section(schema, &sections[i]);
    for (guint i = 0; i < G_N_ELEMENTS(presets); i++)
        sim_schema_add_preset(schema, &presets[i]);
}

static void teardown(void)
{
    sim_schema_free(schema);
    schema = NULL;
}

/* Line numbers below are those of this text: keep it in step with them. */
static const char GOOD[] =
    "; flash sale, small\n"                      /* 1 */
    "# a hash comment\n"                         /* 2 */
    "[scenario]\n"                               /* 3 */
    "name = flash;sale   ; inline comment\n"     /* 4 */
    "duration = 30m\n"                           /* 5 */
    "seed = 7\n"                                 /* 6 */
    "\n"                                         /* 7 */
    "[host shop]                    ; client\n"  /* 8 */
    "addresses = 10.0.0.1-10.0.0.4 # four\n"     /* 9 */
    "preset = linux\n"                           /* 10 */
    "time_wait = 30s\n"                          /* 11 */
    "\n"                                         /* 12 */
    "[server api]\n"                             /* 13 */
    "addresses = 10.1.0.1\n"                     /* 14 */
    "ports = 443, 8443\n"                        /* 15 */
    "\n"                                         /* 16 */
    "[lb front]\n"                               /* 17 */
    "addresses = 10.2.0.1\n"                     /* 18 */
    "\n"                                         /* 19 */
    "[workload surge]\n"                         /* 20 */
    "host = shop\n"                              /* 21 */
    "target = server api\n"                      /* 22 */
    "rate = 30k/s\n"                             /* 23 */
    "hold = exp(100ms)\n"                        /* 24 */
    "schedule = 0s 200/s, 10m 2000/s\n";         /* 25 */

static SimScenario *load_ok(const char *data, const char *const *overrides)
{
    GError *err = NULL;
    SimScenario *sc = sim_scenario_load_data(schema, data, "t.ini", overrides, &err);
    ck_assert_msg(sc != NULL, "load failed: %s", err ? err->message : "?");
    return sc;
}

/* Loading must fail with SIM_ERROR_INPUT and a message holding every string
 * of the NULL-terminated list. */
static void load_fails(const char *data, const char *const *overrides, ...)
    G_GNUC_NULL_TERMINATED;

static void load_fails(const char *data, const char *const *overrides, ...)
{
    GError *err = NULL;
    SimScenario *sc = sim_scenario_load_data(schema, data, "t.ini", overrides, &err);
    ck_assert_msg(sc == NULL, "loaded although it should not have");
    ck_assert(g_error_matches(err, SIM_ERROR, SIM_ERROR_INPUT));
    va_list args;
    va_start(args, overrides);
    for (const char *needle; (needle = va_arg(args, const char *));)
        ck_assert_msg(strstr(err->message, needle), "message \"%s\" lacks \"%s\"", err->message,
                      needle);
    va_end(args);
    g_error_free(err);
}

/* GOOD with `line` (1-based) replaced by `text`. */
static char *edit(guint line, const char *text)
{
    char **lines = g_strsplit(GOOD, "\n", -1);
    GString *out = g_string_new(NULL);
    for (guint i = 0; lines[i]; i++) {
        if (i + 1 == line) {
            g_string_append_printf(out, "%s\n", text);
            continue;
        }
        if (lines[i + 1] || *lines[i])
            g_string_append_printf(out, "%s\n", lines[i]);
    }
    g_strfreev(lines);
    return g_string_free(out, FALSE);
}

static void edited_fails(guint line, const char *text, ...) G_GNUC_NULL_TERMINATED;

/* load_fails on an edited GOOD; the needles must all be in the message. */
static void edited_fails(guint line, const char *text, ...)
{
    char *data = edit(line, text);
    GError *err = NULL;
    SimScenario *sc = sim_scenario_load_data(schema, data, "t.ini", NULL, &err);
    ck_assert_msg(sc == NULL, "loaded with line %u = '%s'", line, text);
    ck_assert(g_error_matches(err, SIM_ERROR, SIM_ERROR_INPUT));
    va_list args;
    va_start(args, text);
    for (const char *needle; (needle = va_arg(args, const char *));)
        ck_assert_msg(strstr(err->message, needle), "message \"%s\" lacks \"%s\"", err->message,
                      needle);
    va_end(args);
    g_error_free(err);
    g_free(data);
}

/* ---- good input ---- */

START_TEST(good_file_typed_values)
{
    SimScenario *sc = load_ok(GOOD, NULL);
    ck_assert_str_eq(sim_scenario_origin(sc), "t.ini");
    ck_assert_ptr_eq(sim_scenario_schema(sc), schema);
    ck_assert_uint_eq(sim_scenario_n_sections(sc), 5);
    const char *labels[] = {"scenario", "host shop", "server api", "lb front", "workload surge"};
    for (guint i = 0; i < 5; i++)
        ck_assert_str_eq(sim_section_label(sim_scenario_section_at(sc, i)), labels[i]);

    SimSection *scen = sim_scenario_find(sc, "scenario", NULL);
    ck_assert_ptr_eq(scen, sim_scenario_section_at(sc, 0));
    ck_assert_ptr_null(sim_section_name(scen));
    ck_assert_str_eq(sim_section_text(scen, "name"), "flash;sale");
    ck_assert_int_eq(sim_section_duration(scen, "duration"), 30 * 60 * SIM_S);
    ck_assert_int_eq(sim_section_int(scen, "seed"), 7);
    ck_assert_double_eq(sim_section_float(scen, "ratio"), 0.5);
    ck_assert(!sim_section_bool(scen, "verbose"));

    SimSection *shop = sim_scenario_find(sc, "host", "shop");
    ck_assert_str_eq(sim_section_kind(shop), "host");
    ck_assert_str_eq(sim_section_name(shop), "shop");
    const GArray *addrs = sim_section_addresses(shop, "addresses");
    ck_assert_uint_eq(addrs->len, 4);
    ck_assert_int_eq(g_array_index(addrs, SimAddress, 3).bytes[3], 4);
    ck_assert_int_eq(sim_section_duration(shop, "time_wait"), 30 * SIM_S);
    ck_assert_str_eq(sim_section_text(shop, "allocator"), "linux");
    ck_assert_uint_eq(sim_section_range_list(shop, "reserved_ports")->len, 0);

    SimSection *api = sim_scenario_find(sc, "server", "api");
    const GArray *ports = sim_section_range_list(api, "ports");
    ck_assert_uint_eq(ports->len, 2);
    ck_assert_int_eq(g_array_index(ports, SimRange, 1).lo, 8443);

    SimSection *surge = sim_scenario_find(sc, "workload", "surge");
    ck_assert_ptr_eq(sim_section_reference(surge, "host"), shop);
    ck_assert_ptr_eq(sim_section_reference(surge, "target"), api);
    ck_assert_double_eq(sim_section_rate(surge, "rate"), 30000.0);
    const SimDist *hold = sim_section_distribution(surge, "hold");
    ck_assert_int_eq(hold->kind, SIM_DIST_EXP);
    ck_assert_int_eq(hold->mean, 100 * SIM_MS);
    const GArray *sched = sim_section_schedule(surge, "schedule");
    ck_assert_uint_eq(sched->len, 2);
    ck_assert_int_eq(g_array_index(sched, SimSchedulePoint, 1).at, 10 * 60 * SIM_S);
    ck_assert_double_eq(g_array_index(sched, SimSchedulePoint, 1).rate, 2000.0);

    ck_assert_ptr_null(sim_scenario_find(sc, "host", "api"));
    ck_assert_ptr_null(sim_scenario_find(sc, "host", NULL));
    sim_scenario_free(sc);
}
END_TEST

START_TEST(whitespace_and_comments)
{
    SimScenario *sc = load_ok("  # indented comment\n"
                              "   ; indented semicolon comment\n"
                              "[ host   web ]\r\n"
                              "\taddresses = 10.0.0.9\t; after a tab\r\n"
                              "time_wait = 5s\t# after a tab\n"
                              "[scenario]  # after a header\n"
                              "name = a#b;c ;d\n",
                              NULL);
    SimSection *web = sim_scenario_section_at(sc, 0);
    ck_assert_str_eq(sim_section_label(web), "host web");
    ck_assert_str_eq(sim_section_name(web), "web");
    ck_assert_uint_eq(sim_section_addresses(web, "addresses")->len, 1);
    ck_assert_int_eq(sim_section_duration(web, "time_wait"), 5 * SIM_S);
    /* Only a ';' or '#' after white space starts a comment. */
    ck_assert_str_eq(sim_section_text(sim_scenario_find(sc, "scenario", NULL), "name"), "a#b;c");
    sim_scenario_free(sc);
}
END_TEST

START_TEST(unnamed_sections_added)
{
    SimScenario *sc = load_ok("[server api]\naddresses = 10.1.0.1\nports = 80\n", NULL);
    ck_assert_uint_eq(sim_scenario_n_sections(sc), 2);
    SimSection *scen = sim_scenario_section_at(sc, 0);
    ck_assert_str_eq(sim_section_label(scen), "scenario");
    ck_assert_int_eq(sim_section_duration(scen, "duration"), 10 * 60 * SIM_S);
    ck_assert_str_eq(sim_section_source(scen, "duration"), "default");
    ck_assert(!sim_section_has(scen, "name"));
    ck_assert_ptr_null(sim_section_source(scen, "name"));
    sim_scenario_free(sc);

    sc = load_ok("", NULL);
    ck_assert_uint_eq(sim_scenario_n_sections(sc), 1);
    sim_scenario_free(sc);

    /* A byte order mark before the first header is not part of it. */
    sc = load_ok("\xEF\xBB\xBF[scenario]\nseed = 3\n", NULL);
    ck_assert_int_eq(sim_section_int(sim_scenario_section_at(sc, 0), "seed"), 3);
    sim_scenario_free(sc);
}
END_TEST

START_TEST(load_file_and_read_errors)
{
    char *path = NULL;
    int fd = g_file_open_tmp("portsim-test-XXXXXX.ini", &path, NULL);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert(g_file_set_contents(path, GOOD, -1, NULL));
    GError *err = NULL;
    SimScenario *sc = sim_scenario_load_file(schema, path, NULL, &err);
    ck_assert_msg(sc, "%s", err ? err->message : "");
    ck_assert_str_eq(sim_scenario_origin(sc), path);
    ck_assert_int_eq(sim_section_int(sim_scenario_find(sc, "scenario", NULL), "seed"), 7);
    sim_scenario_free(sc);

    /* Messages name the path given. */
    ck_assert(g_file_set_contents(path, "[hots x]\n", -1, NULL));
    ck_assert_ptr_null(sim_scenario_load_file(schema, path, NULL, &err));
    char *where = g_strdup_printf("%s:1: [hots x]", path);
    ck_assert_msg(strstr(err->message, where), "%s", err->message);
    g_free(where);
    g_clear_error(&err);

    ck_assert(g_file_set_contents(path, "[scenario]\nname = a\0b\n", 20, NULL));
    ck_assert_ptr_null(sim_scenario_load_file(schema, path, NULL, &err));
    ck_assert(g_error_matches(err, SIM_ERROR, SIM_ERROR_INPUT));
    ck_assert(strstr(err->message, "NUL"));
    g_clear_error(&err);

    g_unlink(path);
    ck_assert_ptr_null(sim_scenario_load_file(schema, path, NULL, &err));
    ck_assert(g_error_matches(err, SIM_ERROR, SIM_ERROR_INPUT));
    char *expected = g_strdup_printf("cannot read %s: ", path);
    ck_assert_msg(g_str_has_prefix(err->message, expected), "%s", err->message);
    ck_assert(strstr(err->message, "No such file"));
    g_free(expected);
    g_clear_error(&err);
    g_free(path);
}
END_TEST

/* ---- error forms ---- */

START_TEST(unknown_keys)
{
    edited_fails(11, "ephemeral_rang = 1-2", "t.ini:11: [host shop] ephemeral_rang: "
                 "unknown key; did you mean 'ephemeral_range'?", NULL);
    edited_fails(23, "bandwidth = 1", "t.ini:23: [workload surge] bandwidth: unknown key; "
                 "[workload] takes: host, target, rate, hold, schedule", NULL);
}
END_TEST

START_TEST(bad_values)
{
    edited_fails(23, "rate = fast",
                 "t.ini:23: [workload surge] rate: expected a rate such as 500/s", "'fast'",
                 NULL);
    edited_fails(5, "duration = 0s",
                 "t.ini:5: [scenario] duration: must be at least 1s, got 0s", NULL);
    edited_fails(11, "time_wait = 2h",
                 "t.ini:11: [host shop] time_wait: must be at most 1h, got 2h", NULL);
    edited_fails(11, "allocator = linx",
                 "t.ini:11: [host shop] allocator: expected one of sequential, random or linux",
                 "did you mean 'linux'?", NULL);
    edited_fails(9, "addresses = 10.0.0.0/28", "t.ini:9: [host shop] addresses:", NULL);
    edited_fails(9, "addresses =", "t.ini:9: [host shop] addresses: a value is required",
                 NULL);
    edited_fails(6, "seed = -1", "t.ini:6: [scenario] seed: must be at least 0, got -1",
                 NULL);
}
END_TEST

START_TEST(bad_headers)
{
    edited_fails(13, "[servr api]",
                 "t.ini:13: [servr api]: unknown section kind 'servr'; did you mean 'server'?",
                 NULL);
    edited_fails(13, "[database api]", "t.ini:13: [database api]: unknown section kind",
                 NULL);
    edited_fails(8, "[host]", "t.ini:8: [host]: a host section needs a name",
                 "[host NAME]", NULL);
    edited_fails(3, "[scenario main]", "t.ini:3: [scenario main]: [scenario] takes no name",
                 NULL);
    edited_fails(8, "[host sh!op]", "t.ini:8: [host sh!op]: invalid name 'sh!op'", NULL);
    edited_fails(8, "[host my shop]", "t.ini:8:", "invalid name 'my shop'", NULL);
}
END_TEST

START_TEST(duplicates)
{
    edited_fails(16, "[host  shop]\naddresses = 10.0.0.5",
                 "t.ini:16: [host shop]: duplicate section, first on line 8", NULL);
    edited_fails(12, "time_wait = 10s",
                 "t.ini:12: [host shop] time_wait: duplicate key 'time_wait' in [host shop], "
                 "first set on line 11", NULL);
}
END_TEST

START_TEST(syntax_errors)
{
    /* GKeyFile's own text, placed on the right line. */
    edited_fails(12, "this line means nothing", "t.ini:12: ", "this line means nothing",
                 NULL);
    load_fails("name = x\n[scenario]\n", NULL, "t.ini:1: ", NULL);
    edited_fails(13, "[server api", "t.ini:13: ", NULL);
    load_fails("[scenario]\nname = caf\xc3\n", NULL, "t.ini:2: not valid UTF-8", NULL);
}
END_TEST

START_TEST(required_keys)
{
    /* Points at the section header, and says what the key takes. */
    edited_fails(21, "", "t.ini:20: [workload surge] host: required key is missing "
                 "(a reference to a host)", NULL);
    edited_fails(15, "", "t.ini:13: [server api] ports: required key is missing "
                 "(a range list", NULL);
}
END_TEST

START_TEST(references)
{
    edited_fails(22, "target = server apii",
                 "t.ini:22: [workload surge] target: no section [server apii]; did you mean "
                 "[server api]?", NULL);
    edited_fails(21, "host = shopp",
                 "t.ini:21: [workload surge] host: no section [host shopp]; did you mean "
                 "[host shop]?", NULL);
    edited_fails(22, "target = lb back", "t.ini:22: [workload surge] target: no section "
                 "[lb back]", NULL);
    edited_fails(22, "target = host shop",
                 "t.ini:22: [workload surge] target: expected a reference to a server or lb",
                 NULL);
    edited_fails(22, "target = api", "t.ini:22:", "KIND NAME", NULL);

    /* Both forms reach the same section, of either allowed kind. */
    char *data = edit(22, "target = lb front");
    char *data2 = edit(21, "host = host shop");
    SimScenario *sc = load_ok(data, NULL), *sc2 = load_ok(data2, NULL);
    ck_assert_ptr_eq(sim_section_reference(sim_scenario_find(sc, "workload", "surge"), "target"),
                     sim_scenario_find(sc, "lb", "front"));
    ck_assert_ptr_eq(sim_section_reference(sim_scenario_find(sc2, "workload", "surge"), "host"),
                     sim_scenario_find(sc2, "host", "shop"));
    sim_scenario_free(sc);
    sim_scenario_free(sc2);
    g_free(data);
    g_free(data2);
}
END_TEST

/* ---- presets ---- */

START_TEST(preset_precedence)
{
    SimScenario *sc = load_ok(GOOD, NULL);
    SimSection *shop = sim_scenario_find(sc, "host", "shop");
    /* file > preset > default */
    ck_assert_int_eq(sim_section_duration(shop, "time_wait"), 30 * SIM_S);
    ck_assert_str_eq(sim_section_source(shop, "time_wait"), "file");
    SimRange r = sim_section_range(shop, "ephemeral_range");
    ck_assert_int_eq(r.lo, 32768);
    ck_assert_int_eq(r.hi, 60999);
    ck_assert_str_eq(sim_section_source(shop, "ephemeral_range"), "preset");
    ck_assert_str_eq(sim_section_source(shop, "allocator"), "preset");
    ck_assert_str_eq(sim_section_source(shop, "reserved_ports"), "default");
    ck_assert_str_eq(sim_section_source(shop, "preset"), "file");
    sim_scenario_free(sc);

    /* A preset left out still applies through the key's default. */
    char *data = edit(10, "");
    sc = load_ok(data, NULL);
    shop = sim_scenario_find(sc, "host", "shop");
    ck_assert_str_eq(sim_section_source(shop, "preset"), "default");
    ck_assert_str_eq(sim_section_text(shop, "allocator"), "linux");
    ck_assert_str_eq(sim_section_source(shop, "allocator"), "preset");
    sim_scenario_free(sc);
    g_free(data);

    data = edit(10, "preset = bsd");
    sc = load_ok(data, NULL);
    shop = sim_scenario_find(sc, "host", "shop");
    ck_assert_int_eq(sim_section_range(shop, "ephemeral_range").lo, 49152);
    ck_assert_str_eq(sim_section_text(shop, "allocator"), "random");
    ck_assert_int_eq(sim_section_duration(shop, "time_wait"), 30 * SIM_S);
    sim_scenario_free(sc);
    g_free(data);
}
END_TEST

/* ---- overrides ---- */

START_TEST(overrides_apply)
{
    const char *const sets[] = {
        "workload.surge.rate=5/s",     "scenario.duration = 1h",
        " host.shop.preset=bsd",       "host.shop.time_wait=45s",
        "workload.surge.target=lb front", "scenario.seed=1",
        "scenario.seed=2", /* the last one wins */
        NULL,
    };
    SimScenario *sc = load_ok(GOOD, sets);
    SimSection *surge = sim_scenario_find(sc, "workload", "surge");
    ck_assert_double_eq(sim_section_rate(surge, "rate"), 5.0);
    ck_assert_str_eq(sim_section_source(surge, "rate"), "override");
    ck_assert_ptr_eq(sim_section_reference(surge, "target"), sim_scenario_find(sc, "lb", "front"));
    SimSection *scen = sim_scenario_find(sc, "scenario", NULL);
    ck_assert_int_eq(sim_section_duration(scen, "duration"), 3600 * SIM_S);
    ck_assert_int_eq(sim_section_int(scen, "seed"), 2);
    /* override > file, and the overridden preset fills what is left. */
    SimSection *shop = sim_scenario_find(sc, "host", "shop");
    ck_assert_int_eq(sim_section_duration(shop, "time_wait"), 45 * SIM_S);
    ck_assert_str_eq(sim_section_text(shop, "allocator"), "random");
    ck_assert_str_eq(sim_section_source(shop, "allocator"), "preset");
    ck_assert_str_eq(sim_section_source(shop, "preset"), "override");
    sim_scenario_free(sc);
}
END_TEST

static void override_fails(const char *set, ...) G_GNUC_NULL_TERMINATED;

static void override_fails(const char *set, ...)
{
    const char *const sets[] = {set, NULL};
    GError *err = NULL;
    ck_assert_msg(!sim_scenario_load_data(schema, GOOD, "t.ini", sets, &err), "accepted %s", set);
    ck_assert(g_error_matches(err, SIM_ERROR, SIM_ERROR_INPUT));
    char *prefix = g_strdup_printf("--set %s: ", set);
    ck_assert_msg(g_str_has_prefix(err->message, prefix), "%s", err->message);
    g_free(prefix);
    va_list args;
    va_start(args, set);
    for (const char *needle; (needle = va_arg(args, const char *));)
        ck_assert_msg(strstr(err->message, needle), "message \"%s\" lacks \"%s\"", err->message,
                      needle);
    va_end(args);
    g_error_free(err);
}

START_TEST(overrides_refused)
{
    override_fails("workload.surg.rate=5/s", "no section [workload surg]; did you mean "
                   "[workload surge]?", NULL);
    override_fails("workload.surge.rat=5/s", "unknown key 'rat' in [workload surge]; did you "
                   "mean 'rate'?", NULL);
    override_fails("workload.surge.rate=fast", "expected a rate such as 500/s", NULL);
    override_fails("scenario.duration=0s", "must be at least 1s, got 0s", NULL);
    override_fails("workload.surge.rate", "kind.name.key=value", NULL);
    override_fails("workload.surge.=5/s", "kind.name.key=value", NULL);
    override_fails("a.b.c.d=1", "kind.name.key=value", NULL);
    override_fails("=1", "kind.name.key=value", NULL);
    override_fails("workloda.surge.rate=5/s", "unknown section kind 'workloda'; did you mean "
                   "'workload'?", NULL);
    override_fails("host.time_wait=1s", "[host] sections have names", "host.NAME.time_wait",
                   NULL);
    override_fails("scenario.main.seed=3", "[scenario] has no name", "scenario.seed=value",
                   NULL);
    override_fails("scenario.name=a ; b", "comment", NULL);
    override_fails("workload.surge.target=server nope", "no section [server nope]", NULL);
    override_fails("host.shop.addresses=", "a value is required", NULL);

    /* A name with a '.' is valid in the file but out of reach of --set. */
    const char *const sets[] = {"host.eu.west.time_wait=1s", NULL};
    GError *err = NULL;
    char *data = g_strconcat(GOOD, "[host eu.west]\naddresses = 10.9.0.1\n", NULL);
    ck_assert_ptr_null(sim_scenario_load_data(schema, data, "t.ini", sets, &err));
    ck_assert_msg(strstr(err->message, "names containing '.' cannot be set"), "%s", err->message);
    g_clear_error(&err);
    SimScenario *sc = load_ok(data, NULL);
    ck_assert_ptr_nonnull(sim_scenario_find(sc, "host", "eu.west"));
    sim_scenario_free(sc);
    g_free(data);
    override_fails("host.eu.west.time_wait=1s", "kind.name.key=value", NULL);
}
END_TEST

/* ---- semantic errors after loading ---- */

START_TEST(section_error_prefixes)
{
    const char *const sets[] = {"workload.surge.rate=5/s", NULL};
    SimScenario *sc = load_ok(GOOD, sets);
    SimSection *shop = sim_scenario_find(sc, "host", "shop");
    SimSection *surge = sim_scenario_find(sc, "workload", "surge");
    struct {
        SimSection *section;
        const char *key, *expected;
    } cases[] = {
        {shop, "time_wait", "t.ini:11: [host shop] time_wait: too short by 3"},  /* file */
        {shop, "reserved_ports", "t.ini:8: [host shop] reserved_ports: too short by 3"},
        {shop, "allocator", "t.ini:10: [host shop] allocator: too short by 3"},  /* preset */
        {surge, "rate", "--set workload.surge.rate=5/s: too short by 3"},
        {shop, NULL, "t.ini:8: [host shop]: too short by 3"},
        {sim_scenario_find(sc, "scenario", NULL), "ratio", "t.ini:3: [scenario] ratio: too"},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        GError *err = NULL;
        ck_assert(!sim_section_error(cases[i].section, cases[i].key, &err, "too short by %d", 3));
        ck_assert(g_error_matches(err, SIM_ERROR, SIM_ERROR_INPUT));
        ck_assert_msg(g_str_has_prefix(err->message, cases[i].expected), "got \"%s\"",
                      err->message);
        g_error_free(err);
    }
    sim_scenario_free(sc);

    /* A section the file lacks has no line to point at. */
    sc = load_ok("", NULL);
    GError *err = NULL;
    sim_section_error(sim_scenario_section_at(sc, 0), "seed", &err, "bad");
    ck_assert_str_eq(err->message, "t.ini: [scenario] seed: bad");
    g_error_free(err);
    sim_scenario_free(sc);
}
END_TEST

/* ---- the effective scenario ---- */

/* Every section and key of a equals b's, by text and by presence. */
static void assert_same_values(SimScenario *a, SimScenario *b)
{
    ck_assert_uint_eq(sim_scenario_n_sections(a), sim_scenario_n_sections(b));
    for (guint i = 0; i < sim_scenario_n_sections(a); i++) {
        SimSection *sa = sim_scenario_section_at(a, i), *sb = sim_scenario_section_at(b, i);
        ck_assert_str_eq(sim_section_label(sa), sim_section_label(sb));
        const SimSectionDef *def = sim_schema_section(schema, sim_section_kind(sa));
        for (guint k = 0; k < def->n_keys; k++) {
            const char *key = def->keys[k].name;
            ck_assert_int_eq(sim_section_has(sa, key), sim_section_has(sb, key));
            if (sim_section_has(sa, key))
                ck_assert_str_eq(sim_section_text(sa, key), sim_section_text(sb, key));
        }
    }
}

START_TEST(effective_ini_round_trip)
{
    const char *const sets[] = {"workload.surge.rate=5/s", "host.shop.preset=bsd", NULL};
    SimScenario *sc = load_ok(GOOD, sets);
    GString *ini = sim_scenario_effective_ini(sc);
    ck_assert_msg(
        g_str_has_prefix(ini->str, "; portsim effective scenario, generated from t.ini\n"), "%s",
        ini->str);
    ck_assert(strstr(ini->str, "\n[scenario]\nname = flash;sale\nduration = 30m\nseed = 7\n"
                               "ratio = 0.5 ; default\nverbose = false ; default\n"));
    ck_assert(strstr(ini->str, "\nallocator = random ; from preset bsd\n"));
    ck_assert(strstr(ini->str, "\nreserved_ports =  ; default\n"));
    ck_assert(strstr(ini->str, "\npreset = bsd ; --set\n"));
    ck_assert(strstr(ini->str, "\nrate = 5/s ; --set\n"));
    ck_assert(strstr(ini->str, "\ntime_wait = 30s\n"));
    ck_assert(strstr(ini->str, "\n[workload surge]\nhost = shop\ntarget = server api\n"));

    SimScenario *again = load_ok(ini->str, NULL);
    assert_same_values(sc, again);
    /* Typed values agree too, and a second pass changes nothing. */
    SimSection *h1 = sim_scenario_find(sc, "host", "shop");
    SimSection *h2 = sim_scenario_find(again, "host", "shop");
    ck_assert_int_eq(sim_section_range(h1, "ephemeral_range").lo,
                     sim_section_range(h2, "ephemeral_range").lo);
    ck_assert_ptr_eq(sim_section_reference(sim_scenario_find(again, "workload", "surge"), "host"),
                     h2);
    GString *ini2 = sim_scenario_effective_ini(again);
    SimScenario *third = load_ok(ini2->str, NULL);
    assert_same_values(sc, third);
    sim_scenario_free(third);
    g_string_free(ini2, TRUE);
    sim_scenario_free(again);
    g_string_free(ini, TRUE);
    sim_scenario_free(sc);

    /* A scenario without [scenario] gets one, first, with every default. */
    sc = load_ok(strstr(GOOD, "[host shop]"), NULL);
    ini = sim_scenario_effective_ini(sc);
    again = load_ok(ini->str, NULL);
    assert_same_values(sc, again);
    sim_scenario_free(again);
    g_string_free(ini, TRUE);
    sim_scenario_free(sc);
}
END_TEST

/* ---- programming errors (g_error raises SIGTRAP) ---- */

static SimSection *good_host(void)
{
    /* Leaked on purpose: the test process dies. */
    return sim_scenario_find(load_ok(GOOD, NULL), "host", "shop");
}

START_TEST(getter_wrong_type)
{
    sim_section_int(good_host(), "time_wait");
}
END_TEST

START_TEST(getter_undeclared_key)
{
    sim_section_duration(good_host(), "time_wiat");
}
END_TEST

START_TEST(getter_no_value)
{
    SimScenario *sc = load_ok("", NULL);
    sim_section_text(sim_scenario_section_at(sc, 0), "name");
}
END_TEST

static Suite *scenario_suite(void)
{
    Suite *s = suite_create("scenario");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, good_file_typed_values);
    tcase_add_test(tc, whitespace_and_comments);
    tcase_add_test(tc, unnamed_sections_added);
    tcase_add_test(tc, load_file_and_read_errors);
    tcase_add_test(tc, unknown_keys);
    tcase_add_test(tc, bad_values);
    tcase_add_test(tc, bad_headers);
    tcase_add_test(tc, duplicates);
    tcase_add_test(tc, syntax_errors);
    tcase_add_test(tc, required_keys);
    tcase_add_test(tc, references);
    tcase_add_test(tc, preset_precedence);
    tcase_add_test(tc, overrides_apply);
    tcase_add_test(tc, overrides_refused);
    tcase_add_test(tc, section_error_prefixes);
    tcase_add_test(tc, effective_ini_round_trip);
    suite_add_tcase(s, tc);
    /* A signal cannot be caught without a fork (CK_FORK=no, as under
     * valgrind). */
    if (g_strcmp0(g_getenv("CK_FORK"), "no") != 0) {
        TCase *fatal = tcase_create("fatal");
        tcase_add_checked_fixture(fatal, setup, teardown);
        tcase_add_test_raise_signal(fatal, getter_wrong_type, SIGTRAP);
        tcase_add_test_raise_signal(fatal, getter_undeclared_key, SIGTRAP);
        tcase_add_test_raise_signal(fatal, getter_no_value, SIGTRAP);
        suite_add_tcase(s, fatal);
    }
    return s;
}

PS_TEST_MAIN(scenario_suite)
