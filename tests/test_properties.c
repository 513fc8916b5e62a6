/* Property-based tests: random scenarios within bounds, generated from a
 * seeded RNG, loaded through the real schema and run to the end; each is
 * checked against DESIGN.md's invariants:
 *   - conservation: attempts = successes + failures, by-reason sums, the
 *     workloads' attempts add up to the total;
 *   - drain: no live connection, no pending event, every pool empty;
 *   - no port outside its range or reserved, no 4-tuple used twice at once,
 *     no port bound while anyone else uses it (a port observer sees every
 *     take and release);
 *   - determinism: the same scenario twice gives identical CSV and JSON.
 * Then the extremes the issue names: a 1-port range, TIME_WAIT 0, 1e7/s, a
 * simulated year, 1e5 client addresses. */
#include <string.h>

#include "keys.h"
#include "run.h"
#include "test_util.h"

static SimSchema *schema;

static void setup(void) { schema = ps_schema_new(); }
static void teardown(void) { sim_schema_free(schema); }

/* ---- the checker behind the port observer ------------------------------ */

typedef struct {
    GHashTable *tuples;    /* "local|port|remote|rport" -> 1 */
    GHashTable *port_uses; /* "local|port" -> uses (connect and bind) */
    GHashTable *bound;     /* "local|port" -> 1 while bound */
    GHashTable *reserved;  /* "local|port" -> 1, filled by the generator */
    guint64 takes, releases;
    GString *problem;      /* first violation seen, or empty */
} Checker;

static void checker_init(Checker *c)
{
    c->tuples = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    c->port_uses = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    c->bound = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    c->reserved = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    c->takes = c->releases = 0;
    c->problem = g_string_new(NULL);
}

static void checker_clear(Checker *c)
{
    g_hash_table_destroy(c->tuples);
    g_hash_table_destroy(c->port_uses);
    g_hash_table_destroy(c->bound);
    g_hash_table_destroy(c->reserved);
    g_string_free(c->problem, TRUE);
}

static void problem(Checker *c, const char *what, const char *key)
{
    if (c->problem->len == 0)
        g_string_printf(c->problem, "%s: %s", what, key);
}

static void observe(void *data, const PsPortEvent *ev)
{
    Checker *c = data;
    char l[SIM_ADDRESS_STRLEN], r[SIM_ADDRESS_STRLEN];
    sim_address_format(ev->local, l);
    sim_address_format(ev->remote, r);
    char *port_key = g_strdup_printf("%s|%u", l, ev->port);
    char *tuple_key = g_strdup_printf("%s|%u|%s|%u", l, ev->port, r, ev->remote_port);
    guint uses = GPOINTER_TO_UINT(g_hash_table_lookup(c->port_uses, port_key));
    if (ev->take) {
        c->takes++;
        if (ev->port < ev->lo || ev->port > ev->hi)
            problem(c, "port outside its range", port_key);
        if (g_hash_table_contains(c->reserved, port_key))
            problem(c, "reserved port handed out", port_key);
        if (g_hash_table_contains(c->tuples, tuple_key))
            problem(c, "4-tuple used twice at once", tuple_key);
        if (g_hash_table_contains(c->bound, port_key))
            problem(c, "port used while bound by another socket", port_key);
        if (ev->bound && uses > 0)
            problem(c, "bind() took a port already in use", port_key);
        g_hash_table_insert(c->tuples, g_strdup(tuple_key), GUINT_TO_POINTER(1));
        if (ev->bound)
            g_hash_table_insert(c->bound, g_strdup(port_key), GUINT_TO_POINTER(1));
        g_hash_table_insert(c->port_uses, g_strdup(port_key), GUINT_TO_POINTER(uses + 1));
    } else {
        c->releases++;
        if (!g_hash_table_remove(c->tuples, tuple_key))
            problem(c, "release of a 4-tuple not in use", tuple_key);
        if (ev->bound && !g_hash_table_remove(c->bound, port_key))
            problem(c, "release of a port not bound", port_key);
        if (uses == 0)
            problem(c, "release of an unused port", port_key);
        else if (uses == 1)
            g_hash_table_remove(c->port_uses, port_key);
        else
            g_hash_table_insert(c->port_uses, g_strdup(port_key), GUINT_TO_POINTER(uses - 1));
    }
    g_free(port_key);
    g_free(tuple_key);
}

/* ---- the generator ----------------------------------------------------- */

/* One random scenario. Hosts get disjoint address blocks (10.H.0.x), so a
 * local address names one pool. Bounds keep each run to a few thousand
 * attempts: dozens of scenarios fit in a second. */
static char *random_scenario(GRand *g, Checker *c)
{
    GString *s = g_string_new(NULL);
    static const char *allocators[] = {"sequential", "random", "linux"};
    static const char *holds[] = {"const", "exp", "lognormal", "uniform"};
    int n_hosts = g_rand_int_range(g, 1, 4);
    int n_servers = g_rand_int_range(g, 1, 3);
    int n_workloads = g_rand_int_range(g, 1, 4);
    g_string_append_printf(s, "[scenario]\nduration = %dms\nseed = %u\nsample = %dms\n",
                           g_rand_int_range(g, 1, 8000), g_rand_int(g),
                           g_rand_boolean(g) ? 1000 : 250);
    for (int h = 0; h < n_hosts; h++) {
        int n_addr = g_rand_int_range(g, 1, 5);
        /* A 1-port range one time in five, else up to 300 ports. */
        int size = g_rand_int_range(g, 0, 5) == 0 ? 1 : g_rand_int_range(g, 2, 300);
        int lo = g_rand_int_range(g, 1024, 65535 - size + 1);
        int hi = lo + size - 1;
        int tw_choice = g_rand_int_range(g, 0, 3);
        int tw_ms = tw_choice == 0 ? 0 : g_rand_int_range(g, 1, tw_choice == 1 ? 50 : 5000);
        g_string_append_printf(s,
                               "[host h%d]\naddresses = 10.%d.0.1-10.%d.0.%d\n"
                               "ephemeral_range = %d-%d\ntime_wait = %dms\n"
                               "allocator = %s\nbind_before_connect = %s\nlinger0 = %s\n"
                               "address_selection = %s\n",
                               h, h, h, n_addr, lo, hi, tw_ms,
                               allocators[g_rand_int_range(g, 0, 3)],
                               g_rand_int_range(g, 0, 4) == 0 ? "true" : "false",
                               g_rand_int_range(g, 0, 4) == 0 ? "true" : "false",
                               g_rand_boolean(g) ? "round-robin" : "first");
        /* Reserve a few ports sometimes, never the whole range. */
        if (size > 4 && g_rand_boolean(g)) {
            int rlo = g_rand_int_range(g, lo, hi - 2);
            int rhi = rlo + g_rand_int_range(g, 0, 2);
            g_string_append_printf(s, "reserved_ports = %d-%d\n", rlo, rhi);
            for (int a = 1; a <= n_addr; a++)
                for (int p = rlo; p <= rhi; p++)
                    g_hash_table_insert(c->reserved, g_strdup_printf("10.%d.0.%d|%d", h, a, p),
                                        GUINT_TO_POINTER(1));
        }
    }
    for (int v = 0; v < n_servers; v++) {
        int n_addr = g_rand_int_range(g, 1, 3);
        int port = g_rand_int_range(g, 1, 65000);
        g_string_append_printf(s, "[server s%d]\naddresses = 10.200.%d.1-10.200.%d.%d\n"
                                  "ports = %d",
                               v, v, v, n_addr, port);
        int n_ports = g_rand_int_range(g, 1, 4);
        for (int p = 1; p < n_ports; p++)
            g_string_append_printf(s, ", %d", port + p);
        g_string_append_printf(s, "\ntime_wait = %dms\n", g_rand_int_range(g, 0, 3000));
    }
    for (int w = 0; w < n_workloads; w++) {
        /* Every host gets a workload when there are enough; the rest pick. */
        int host = w < n_hosts ? w : g_rand_int_range(g, 0, n_hosts);
        double mean_ms = g_rand_int_range(g, 0, 4) == 0 ? 0 : g_rand_double_range(g, 0.1, 500);
        const char *hold = holds[g_rand_int_range(g, 0, 4)];
        char hold_text[64];
        if (g_str_equal(hold, "lognormal"))
            g_snprintf(hold_text, sizeof hold_text, "lognormal(%.3fms, %.2f)", mean_ms + 0.001,
                       g_rand_double_range(g, 0.1, 2));
        else if (g_str_equal(hold, "uniform"))
            g_snprintf(hold_text, sizeof hold_text, "uniform(%.3fms, %.3fms)", mean_ms,
                       mean_ms / 2);
        else
            g_snprintf(hold_text, sizeof hold_text, "%s(%.3fms)", hold, mean_ms);
        g_string_append_printf(s,
                               "[workload w%d]\nhost = h%d\ntarget = server s%d\n"
                               "arrival = %s\nrate = %.3f/s\nhold = %s\ncloser = %s\n"
                               "delay = %dus\n",
                               w, host, g_rand_int_range(g, 0, n_servers),
                               g_rand_boolean(g) ? "poisson" : "constant",
                               g_rand_double_range(g, 1, 1500), hold_text,
                               g_rand_boolean(g) ? "client" : "server",
                               g_rand_int_range(g, 0, 5000));
    }
    return g_string_free(s, FALSE);
}

/* ---- running and checking ---------------------------------------------- */

typedef struct {
    char *csv;
    char *json;
} Outputs;

static void check_drained(PsRun *run, const SimScenario *sc, const char *ini)
{
    PsNetwork *net = ps_run_network(run);
    PsTotals t;
    ps_network_totals(net, &t);
    guint64 by_reason = 0;
    for (int i = 0; i < PS_FAIL_N; i++)
        by_reason += t.by_reason[i];
    gint64 wl_attempts = 0;
    SimStats *stats = sim_engine_stats(ps_run_engine(run));
    for (guint i = 0; i < sim_scenario_n_sections(sc); i++) {
        SimSection *sec = sim_scenario_section_at(sc, i);
        if (g_str_equal(sim_section_kind(sec), "workload")) {
            g_autofree char *name = g_strconcat(sim_section_name(sec), ".attempts", NULL);
            wl_attempts += sim_stats_counter(stats, name)->value;
        }
    }
    if (t.attempts != t.successes + t.failures || by_reason != t.failures ||
        (guint64)wl_attempts != t.attempts)
        ck_abort_msg("conservation broken: attempts %" G_GUINT64_FORMAT " successes %"
                     G_GUINT64_FORMAT " failures %" G_GUINT64_FORMAT " by reason %"
                     G_GUINT64_FORMAT " workloads %" G_GINT64_FORMAT "\n%s",
                     t.attempts, t.successes, t.failures, by_reason, wl_attempts, ini);
    if (ps_network_live_connections(net) != 0 || !ps_network_pools_empty(net) ||
        sim_engine_pending(ps_run_engine(run)) != 0)
        ck_abort_msg("not drained: %" G_GUINT64_FORMAT " live, pools %s, %zu pending\n%s",
                     ps_network_live_connections(net),
                     ps_network_pools_empty(net) ? "empty" : "NOT empty",
                     sim_engine_pending(ps_run_engine(run)), ini);
}

/* Loads and runs `ini` with the checker attached; returns its outputs. */
static Outputs run_checked(const char *ini, Checker *c)
{
    GError *error = NULL;
    SimScenario *sc = sim_scenario_load_data(schema, ini, "random.ini", NULL, &error);
    if (!sc)
        ck_abort_msg("generated scenario did not load: %s\n%s", error->message, ini);
    PsRun *run = ps_run_new(sc, 0, &error);
    if (!run)
        ck_abort_msg("generated scenario did not build: %s\n%s", error->message, ini);
    ps_network_set_port_observer(ps_run_network(run), observe, c);
    ck_assert(ps_run_execute(run));
    if (c->problem->len > 0)
        ck_abort_msg("%s\n%s", c->problem->str, ini);
    if (c->takes != c->releases || g_hash_table_size(c->tuples) != 0)
        ck_abort_msg("%" G_GUINT64_FORMAT " takes, %" G_GUINT64_FORMAT " releases\n%s",
                     c->takes, c->releases, ini);
    check_drained(run, sc, ini);
    JsonNode *summary = ps_run_summary(run);
    GString *csv = sim_series_to_csv(sim_engine_series(ps_run_engine(run)));
    Outputs out = {g_string_free(csv, FALSE), json_to_string(summary, TRUE)};
    json_node_unref(summary);
    ps_run_free(run);
    sim_scenario_free(sc);
    return out;
}

static void outputs_clear(Outputs *o)
{
    g_free(o->csv);
    g_free(o->json);
}

/* Scenarios per test case: each runs twice (determinism), and the checker's
 * hash tables make a run a few times slower than without. */
#define N_RANDOM 12

static void random_scenarios(guint32 seed)
{
    GRand *g = g_rand_new_with_seed(seed);
    for (int i = 0; i < N_RANDOM; i++) {
        Checker c1, c2;
        checker_init(&c1);
        checker_init(&c2);
        char *ini = random_scenario(g, &c1);
        /* The second run needs the same reserved ports. */
        GHashTableIter it;
        gpointer k;
        g_hash_table_iter_init(&it, c1.reserved);
        while (g_hash_table_iter_next(&it, &k, NULL))
            g_hash_table_add(c2.reserved, g_strdup(k));
        Outputs a = run_checked(ini, &c1);
        Outputs b = run_checked(ini, &c2);
        if (strcmp(a.csv, b.csv) != 0 || strcmp(a.json, b.json) != 0)
            ck_abort_msg("same scenario, different outputs\n%s", ini);
        outputs_clear(&a);
        outputs_clear(&b);
        checker_clear(&c1);
        checker_clear(&c2);
        g_free(ini);
    }
    g_rand_free(g);
}

START_TEST(random_scenarios_keep_invariants)
{
    random_scenarios(0x9e3779b9u + (guint32)_i);
}
END_TEST

/* The checker must catch a broken pool: feed it a double take directly. */
START_TEST(checker_catches_violations)
{
    Checker c;
    checker_init(&c);
    SimAddress l, r;
    sim_parse_address("10.0.0.1", &l, NULL);
    sim_parse_address("10.9.0.1", &r, NULL);
    PsPortEvent ev = {TRUE, FALSE, &l, 5000, 5000, 5001, &r, 443};
    observe(&c, &ev);
    ck_assert_uint_eq(c.problem->len, 0);
    observe(&c, &ev);
    ck_assert_ptr_nonnull(strstr(c.problem->str, "4-tuple used twice"));
    g_string_truncate(c.problem, 0);
    ev.port = 5002;
    observe(&c, &ev);
    ck_assert_ptr_nonnull(strstr(c.problem->str, "outside its range"));
    g_string_truncate(c.problem, 0);
    ev.port = 5001;
    ev.bound = TRUE;
    ev.remote_port = 80;
    observe(&c, &ev); /* fine: 5001 unused */
    ck_assert_uint_eq(c.problem->len, 0);
    ev.port = 5000;
    observe(&c, &ev);
    ck_assert_ptr_nonnull(strstr(c.problem->str, "bind() took a port already in use"));
    checker_clear(&c);
}
END_TEST

/* ---- extremes ---------------------------------------------------------- */

typedef struct {
    SimScenario *sc;
    PsRun *run;
    PsTotals t;
    gint64 peak_ports;
} Extreme;

static Extreme run_extreme(const char *ini)
{
    GError *error = NULL;
    Extreme e = {0};
    e.sc = sim_scenario_load_data(schema, ini, "extreme.ini", NULL, &error);
    ck_assert_msg(e.sc != NULL, "load: %s", error ? error->message : "?");
    e.run = ps_run_new(e.sc, 0, &error);
    ck_assert_msg(e.run != NULL, "build: %s", error ? error->message : "?");
    ck_assert(ps_run_execute(e.run));
    check_drained(e.run, e.sc, ini);
    ps_network_totals(ps_run_network(e.run), &e.t);
    e.peak_ports = sim_stats_gauge(sim_engine_stats(ps_run_engine(e.run)), "c.ports_in_use")->max;
    return e;
}

static void extreme_free(Extreme *e)
{
    ps_run_free(e->run);
    sim_scenario_free(e->sc);
}

#define SERVER "[server s]\naddresses = 10.9.0.1\nports = 443\n"

START_TEST(one_port_range)
{
    /* One port, held 1 s (TIME_WAIT) per connection, offered every 100 ms:
     * exactly one attempt in ten finds it free. 10 s -> 100 attempts at
     * t = 0, 0.1, ..., 9.9 s; successes at t = 0, 1.0, ..., 9.0 (the port
     * comes back exactly 1 s after its taking at delay 0). */
    Extreme e = run_extreme("[scenario]\nduration = 10s\n"
                            "[host c]\naddresses = 10.0.0.1\nephemeral_range = 40000-40000\n"
                            "time_wait = 1s\ntime_wait_granularity = 0s\n"
                            "allocator = sequential\n" SERVER
                            "[workload w]\nhost = c\ntarget = server s\nrate = 10/s\n");
    ck_assert_uint_eq(e.t.attempts, 100);
    ck_assert_uint_eq(e.t.successes, 10);
    ck_assert_uint_eq(e.t.by_reason[PS_FAIL_EADDRNOTAVAIL], 90);
    ck_assert_int_eq(e.peak_ports, 1);
    extreme_free(&e);
}
END_TEST

START_TEST(time_wait_zero)
{
    /* TIME_WAIT 0 and hold 0 on one port: every connection gives the port
     * back at the instant it closes, before the next arrives 1 ms later. */
    Extreme e = run_extreme("[scenario]\nduration = 2s\n"
                            "[host c]\naddresses = 10.0.0.1\nephemeral_range = 40000-40000\n"
                            "time_wait = 0s\n" SERVER
                            "[workload w]\nhost = c\ntarget = server s\nrate = 1000/s\n"
                            "delay = 100us\n");
    ck_assert_uint_eq(e.t.attempts, 2000);
    ck_assert_uint_eq(e.t.failures, 0);
    ck_assert_int_eq(e.peak_ports, 1);
    extreme_free(&e);
}
END_TEST

START_TEST(rate_1e7_per_second)
{
    /* 1e7/s for 10 ms: 100,000 attempts toward one endpoint; the default
     * range holds 28,232 of them (TIME_WAIT 60 s), the rest fail at no
     * cost to walk the range. */
    Extreme e = run_extreme("[scenario]\nduration = 10ms\nsample = 1ms\n"
                            "[host c]\naddresses = 10.0.0.1\n" SERVER
                            "[workload w]\nhost = c\ntarget = server s\nrate = 10M/s\n");
    ck_assert_uint_eq(e.t.attempts, 100000);
    ck_assert_uint_eq(e.t.successes, 28232);
    ck_assert_int_eq(e.peak_ports, 28232);
    extreme_free(&e);
}
END_TEST

START_TEST(simulated_year)
{
    /* A year at one connection every 10 minutes, sampled daily: arrivals
     * at 0, 10 min, ..., up to but not at 365 d (52,560), no failure, and
     * 366 rows. */
    Extreme e = run_extreme("[scenario]\nduration = 365d\nsample = 1d\n"
                            "[host c]\naddresses = 10.0.0.1\n" SERVER
                            "[workload w]\nhost = c\ntarget = server s\nrate = 6/h\n"
                            "hold = exp(10m)\n");
    ck_assert_uint_eq(e.t.attempts, 52560);
    ck_assert_uint_eq(e.t.failures, 0);
    ck_assert_uint_eq(sim_series_n_rows(sim_engine_series(ps_run_engine(e.run))), 366);
    extreme_free(&e);
}
END_TEST

START_TEST(hundred_thousand_addresses)
{
    /* 1e5 client addresses (the schema allows 65,536 per section, so two
     * fleets) with 100-port ranges; round-robin spreads 1e5 connections
     * over every pool, one each, so none fails. Bounded: the pools cost a
     * few KiB each. */
    Extreme e = run_extreme("[scenario]\nduration = 1s\nsample = 1s\n"
                            "[host c]\naddresses = 10.0.0.0/16\nephemeral_range = 40000-40099\n"
                            "allocator = sequential\n"
                            "[host d]\naddresses = 10.1.0.0-10.1.134.159\n"
                            "ephemeral_range = 40000-40099\nallocator = random\n" SERVER
                            "[workload w]\nhost = c\ntarget = server s\nrate = 65536/s\n"
                            "[workload v]\nhost = d\ntarget = server s\nrate = 34464/s\n");
    ck_assert_uint_eq(e.t.attempts, 100000);
    ck_assert_uint_eq(e.t.failures, 0);
    extreme_free(&e);
}
END_TEST

static Suite *properties_suite(void)
{
    Suite *s = suite_create("properties");
    TCase *tc = tcase_create("random");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, random_scenarios_keep_invariants, 0, 4);
    tcase_add_test(tc, checker_catches_violations);
    suite_add_tcase(s, tc);
    TCase *ex = tcase_create("extremes");
    tcase_add_checked_fixture(ex, setup, teardown);
    tcase_set_timeout(ex, 120);
    tcase_add_test(ex, one_port_range);
    tcase_add_test(ex, time_wait_zero);
    tcase_add_test(ex, rate_1e7_per_second);
    tcase_add_test(ex, simulated_year);
    tcase_add_test(ex, hundred_thousand_addresses);
    suite_add_tcase(s, ex);
    return s;
}

PS_TEST_MAIN(properties_suite)
