/* Scenario-level tests: the simulated host against the real kernel's
 * measurements, against theory (range / TIME_WAIT, Erlang B), and the
 * conservation and determinism invariants of DESIGN.md. */
#include <math.h>
#include <string.h>

#include "keys.h"
#include "run.h"
#include "test_util.h"
#include "run_util.h"

static SimSchema *schema;

static void setup(void) { schema = ps_schema_new(); }
static void teardown(void) { sim_schema_free(schema); }

typedef struct {
    SimScenario *scenario;
    PsRun *run;
} Ran;

static Ran run_scenario(SimScenario *scenario)
{
    GError *error = NULL;
    ck_assert_msg(scenario != NULL, "scenario did not load");
    PsRun *run = ps_run_new(scenario, 0, &error);
    ck_assert_msg(run != NULL, "build failed: %s", error ? error->message : "?");
    ck_assert(ps_run_execute(run));
    return (Ran){scenario, run};
}

static Ran run_text(const char *ini, const char *const *overrides)
{
    GError *error = NULL;
    SimScenario *sc = sim_scenario_load_data(schema, ini, "test.ini", overrides, &error);
    ck_assert_msg(sc != NULL, "load failed: %s", error ? error->message : "?");
    return run_scenario(sc);
}

static Ran run_file(const char *name, const char *const *overrides)
{
    const char *root = g_getenv("PORTSIM_SOURCE_ROOT");
    ck_assert_msg(root != NULL, "PORTSIM_SOURCE_ROOT is not set (run through meson test)");
    g_autofree char *path = g_build_filename(root, "scenarios", name, NULL);
    GError *error = NULL;
    SimScenario *sc = sim_scenario_load_file(schema, path, overrides, &error);
    ck_assert_msg(sc != NULL, "load failed: %s", error ? error->message : "?");
    return run_scenario(sc);
}

static void ran_free(Ran *r)
{
    ps_run_free(r->run);
    sim_scenario_free(r->scenario);
}

static gint64 counter(Ran *r, const char *name) { return ps_test_counter(r->run, name); }

static SimGauge *gauge(Ran *r, const char *name) { return ps_test_gauge(r->run, name); }

/* Invariant 2: every attempt ends once, and everything drains. */
static void assert_conserved(Ran *r) { ps_test_assert_drained(r->run); }

/* A loopback-like host and server; tests append a [workload w]. */
/* tcp_tw_reuse = 0: the kernel measurements ran with it (a loopback host
 * would otherwise take over TIME_WAIT 4-tuples after 1 s). */
#define BASE                                                                   \
    "[scenario]\nduration = 180s\n"                                            \
    "[host c]\naddresses = 127.0.0.2\nephemeral_range = 40000-40099\n"         \
    "tcp_tw_reuse = 0\n"                                                       \
    "[server s]\naddresses = 127.0.0.1\nports = 8080\n"

/* shared/reference/linux-kernel-measured.md, the base case: 100 ports,
 * 5 connections/s evenly paced, hold 0, client closes, 180 s. */
START_TEST(kernel_base_case)
{
    Ran r = run_file("kernel-100-ports.ini", NULL);
    PsTotals t;
    ps_network_totals(ps_run_network(r.run), &t);
    /* The kernel: first EADDRNOTAVAIL at t = 20.0 s, the 101st attempt. */
    ck_assert_int_eq(t.first_failure, 20 * SIM_S);
    /* The kernel: 900 attempts, 300 successes, 600 failures. */
    ck_assert_uint_eq(t.attempts, 900);
    ck_assert_uint_eq(t.successes, 300);
    ck_assert_uint_eq(t.failures, 600);
    ck_assert_uint_eq(t.by_reason[PS_FAIL_EADDRNOTAVAIL], 600);
    /* At most 100 sockets in TIME_WAIT at once. */
    ck_assert_int_eq(gauge(&r, "client.time_wait")->max, 100);
    /* On/off bursts, as measured: about 40-42 s with no success, then about
     * 20 s at the offered 5/s as ports come back in the order they were
     * used. The linux preset ends TIME_WAIT on the timer wheel's 2.048 s
     * ticks, so the first ports (used at 0-1.4 s) return at 30 x 2.048 =
     * 61.44 s, and each tick returns ~10 ports: rows of 3-5 instead of a
     * flat 5 while the batches refill. A row at time t counts the events in
     * (t - 1 s, t]. */
    SimSeries *s = sim_engine_series(ps_run_engine(r.run));
    int col = sim_series_find_column(s, "client.successes_per_s");
    ck_assert_int_ge(col, 0);
    double burst = 0;
    for (guint row = 0; row < sim_series_n_rows(s); row++) {
        double t_s = sim_time_to_seconds(sim_series_row_time(s, row));
        double v = sim_series_value(s, row, (guint)col);
        if (t_s > 21 && t_s <= 61)
            ck_assert_msg(v == 0, "success at %.0f s", t_s);
        if (t_s >= 62 && t_s <= 82) {
            ck_assert_msg(v >= 3 && v <= 5, "rate %.2f at %.0f s", v, t_s);
            burst += v;
        }
        if (t_s >= 83 && t_s <= 121)
            ck_assert_msg(v == 0, "success at %.0f s", t_s);
    }
    /* The whole range comes back within the burst. */
    ck_assert_msg(burst == 100, "burst carried %.0f", burst);
    /* Over whole recycling periods the host carries 100 / 60 per second. */
    ck_assert_uint_eq(t.successes - 100, 200); /* [60 s, 180 s): 200 / 120 s = 1.667/s */
    assert_conserved(&r);
    ran_free(&r);
}
END_TEST

/* Theory: with hold 0 and evenly paced arrivals above capacity, every
 * 60 s TIME_WAIT period carries exactly the range: 28,232 ports per 60 s =
 * 470.5/s, the figure Linux users quote. */
START_TEST(carried_rate_is_range_over_time_wait)
{
    const char *ini = "[scenario]\nduration = 300s\n"
                      "[host c]\naddresses = 10.0.0.1\npreset = linux\n"
                      "[server s]\naddresses = 10.1.0.1\nports = 443\n"
                      "[workload w]\nhost = c\ntarget = server s\nrate = 600/s\n";
    Ran r = run_text(ini, NULL);
    PsTotals t;
    ps_network_totals(ps_run_network(r.run), &t);
    double carried = (double)t.successes / 300.0;
    double theory = 28232.0 / 60.0;
    /* Exact up to the attempts that straddle the last period boundary. */
    ck_assert_msg(fabs(carried - theory) <= 2.0 / 300.0, "carried %.3f/s, theory %.3f/s",
                  carried, theory);
    /* First failure = capacity / rate: the 28,233rd attempt at 600/s. */
    ck_assert_int_eq(t.first_failure, sim_time_from_seconds(28232.0 / 600.0));
    assert_conserved(&r);
    ran_free(&r);
}
END_TEST

static double erlang_b(double load, int servers)
{
    double b = 1.0;
    for (int k = 1; k <= servers; k++)
        b = load * b / (k + load * b);
    return b;
}

/* Poisson arrivals into one destination: the pool of c ports is an
 * M/G/c/c loss system, so the fraction of failed attempts is Erlang B,
 * whatever the holding-time distribution (insensitivity). Replications
 * with independent seeds give a mean and its standard error; the check
 * allows 4.5 standard errors (the 99.9% t quantile for 11 degrees of
 * freedom is 4.44), plus the bias of starting from an empty pool, which is
 * below 0.3% of the horizon (a few mean holding times out of 4000 s). */
static void check_erlang(const char *hold, const char *time_wait)
{
    const int reps = 12;
    const int ports = 50;
    const double rate = 5.0, mean_hold = 10.0; /* E = 50 Erlangs on 50 ports */
    double sum = 0, sum2 = 0;
    for (int rep = 0; rep < reps; rep++) {
        g_autofree char *ini = g_strdup_printf(
            "[scenario]\nduration = 4000s\nseed = %d\nsample = 10s\n"
            /* An ideal host: TIME_WAIT exactly as given, not rounded up to
             * the Linux timer wheel's 2.048 s ticks (which would lengthen
             * the mean holding time and so raise the load). */
            "[host c]\naddresses = 10.0.0.1\nephemeral_range = 40000-%d\ntime_wait = %s\n"
            "time_wait_granularity = 0s\n"
            "[server s]\naddresses = 10.1.0.1\nports = 443\n"
            "[workload w]\nhost = c\ntarget = server s\narrival = poisson\nrate = %.0f/s\n"
            "hold = %s\n",
            rep + 1, 40000 + ports - 1, time_wait, rate, hold);
        Ran r = run_text(ini, NULL);
        PsTotals t;
        ps_network_totals(ps_run_network(r.run), &t);
        double blocked = (double)t.failures / (double)t.attempts;
        sum += blocked;
        sum2 += blocked * blocked;
        assert_conserved(&r);
        ran_free(&r);
    }
    double mean = sum / reps;
    double sd = sqrt((sum2 - reps * mean * mean) / (reps - 1));
    double se = sd / sqrt(reps);
    double theory = erlang_b(rate * mean_hold, ports);
    ck_assert_msg(fabs(mean - theory) <= 4.5 * se + 0.003 * theory,
                  "blocking %.5f +- %.5f (se), Erlang B %.5f", mean, se, theory);
    /* The check must be able to fail: the estimate is sharp enough to tell
     * Erlang B from a 10% different answer. */
    ck_assert_msg(4.5 * se < 0.1 * theory, "too noisy: se %.5f", se);
}

START_TEST(erlang_b_exponential_hold)
{
    /* M/M/c/c: the port is held exactly while the connection is open. */
    check_erlang("exp(10s)", "0s");
}
END_TEST

START_TEST(erlang_b_deterministic_time_wait)
{
    /* M/D/c/c: hold 0, so the port is held by a constant 10 s TIME_WAIT. */
    check_erlang("0s", "10s");
}
END_TEST

/* 4-tuple sharing: two server ports double what 100 ports can hold. */
START_TEST(four_tuple_sharing_doubles_capacity)
{
    const char *ini = BASE "[workload w]\nhost = c\ntarget = server s\nrate = 10/s\n";
    const char *const two_ports[] = {"server.s.ports=8080, 8081", NULL};
    Ran r = run_text(ini, two_ports);
    PsTotals t;
    ps_network_totals(ps_run_network(r.run), &t);
    ck_assert_int_eq(t.first_failure, 20 * SIM_S); /* 200 4-tuples / 10 per s */
    ck_assert_int_eq(gauge(&r, "c.ports_in_use")->max, 100);
    ck_assert_int_eq(gauge(&r, "c.time_wait")->max, 200);
    assert_conserved(&r);
    ran_free(&r);
}
END_TEST

/* bind() before connect() reserves the port for every destination: the
 * sharing is lost and the failure is EADDRINUSE from bind(). */
START_TEST(bind_before_connect_is_exclusive)
{
    const char *ini = BASE "[workload w]\nhost = c\ntarget = server s\nrate = 10/s\n";
    const char *const opts[] = {"server.s.ports=8080, 8081", "host.c.bind_before_connect=true",
                                NULL};
    Ran r = run_text(ini, opts);
    PsTotals t;
    ps_network_totals(ps_run_network(r.run), &t);
    ck_assert_int_eq(t.first_failure, 10 * SIM_S); /* 100 ports / 10 per s */
    ck_assert_uint_eq(t.by_reason[PS_FAIL_EADDRINUSE], t.failures);
    ck_assert_uint_eq(t.by_reason[PS_FAIL_EADDRNOTAVAIL], 0);
    ck_assert_uint_gt(t.failures, 0);
    assert_conserved(&r);
    ran_free(&r);
}
END_TEST

/* SO_LINGER {on, 0}: RST, no TIME_WAIT, so 100 ports never run out. */
START_TEST(linger0_skips_time_wait)
{
    const char *ini = BASE "[workload w]\nhost = c\ntarget = server s\nrate = 5/s\n";
    const char *const opts[] = {"host.c.linger0=true", NULL};
    Ran r = run_text(ini, opts);
    PsTotals t;
    ps_network_totals(ps_run_network(r.run), &t);
    ck_assert_uint_eq(t.failures, 0);
    ck_assert_uint_eq(t.successes, 900);
    ck_assert_int_eq(gauge(&r, "c.time_wait")->max, 0);
    ck_assert_int_eq(gauge(&r, "s.time_wait")->max, 0);
    assert_conserved(&r);
    ran_free(&r);
}
END_TEST

/* The server closes first: TIME_WAIT lands on the server, the client's
 * ports come back after the close handshake. */
START_TEST(server_close_moves_time_wait)
{
    const char *ini = BASE "[workload w]\nhost = c\ntarget = server s\nrate = 5/s\n"
                           "closer = server\ndelay = 1ms\n";
    /* 1,000 ports handed out in turn: no 4-tuple comes back within 180 s,
     * so no server TIME_WAIT is recycled (see the next test for that). */
    const char *opts[] = {"host.c.ephemeral_range=40000-40999", "host.c.allocator=sequential",
                          NULL};
    Ran r = run_text(ini, opts);
    PsTotals t;
    ps_network_totals(ps_run_network(r.run), &t);
    ck_assert_uint_eq(t.failures, 0);
    ck_assert_int_eq(gauge(&r, "c.time_wait")->max, 0);
    ck_assert_int_eq(counter(&r, "s.tw_recycled"), 0);
    /* 5/s for 60 s: 300 server sockets in TIME_WAIT at the plateau. */
    ck_assert_int_ge(gauge(&r, "s.time_wait")->max, 299);
    ck_assert_int_le(gauge(&r, "s.time_wait")->max, 301);
    assert_conserved(&r);
    ran_free(&r);
}
END_TEST

/* A SYN for a 4-tuple the server holds in TIME_WAIT recycles it (Linux
 * accepts it and kills the TIME_WAIT socket): with 10 client ports only 10
 * server 4-tuples can ever be in TIME_WAIT, not rate x 60 s = 300. */
START_TEST(server_time_wait_is_recycled_by_a_new_syn)
{
    const char *ini = "[scenario]\nduration = 60s\n"
                      "[host c]\naddresses = 127.0.0.2\nephemeral_range = 40000-40009\n"
                      "[server s]\naddresses = 127.0.0.1\nports = 8080\n"
                      "[workload w]\nhost = c\ntarget = server s\nrate = 5/s\n"
                      "closer = server\nhold = const(100ms)\ndelay = 1ms\n";
    Ran r = run_text(ini, NULL);
    PsTotals t;
    ps_network_totals(ps_run_network(r.run), &t);
    ck_assert_uint_eq(t.failures, 0);
    ck_assert_int_le(gauge(&r, "s.time_wait")->max, 10);
    /* every connection after the first ten reuses a 4-tuple in TIME_WAIT */
    ck_assert_int_ge(counter(&r, "s.tw_recycled"), 280);
    assert_conserved(&r);
    ran_free(&r);
}
END_TEST

/* Segment-level timing: with a one-way delay d a handshake completes after
 * 2d on the client, and the client's TIME_WAIT starts 2d after its FIN. */
START_TEST(link_delay_shapes_the_life_cycle)
{
    const char *ini = BASE "[workload w]\nhost = c\ntarget = server s\nrate = 5/s\n"
                           "hold = const(1s)\ndelay = 100ms\nstop = 0.1s\n";
    Ran r = run_text(ini, NULL);
    SimGauge *active = gauge(&r, "c.active");
    SimGauge *tw = gauge(&r, "c.time_wait");
    /* One connection: SYN at 0, ESTABLISHED at 0.2 s, FIN at 1.2 s, ACK+FIN
     * back at 1.4 s: active for 1.4 s, then TIME_WAIT for 60 s. */
    ck_assert_int_eq(tw->max_at, sim_time_from_seconds(1.4));
    ck_assert_double_eq_tol(active->integral / 1e9, 1.4, 1e-9);
    ck_assert_uint_eq(counter(&r, "c.successes"), 1);
    assert_conserved(&r);
    ran_free(&r);
}
END_TEST

/* Several source addresses: each has its own pool; round-robin spreads. */
START_TEST(fleet_addresses_multiply_capacity)
{
    const char *ini = BASE "[workload w]\nhost = c\ntarget = server s\nrate = 20/s\n";
    const char *const opts[] = {"host.c.addresses=127.0.0.2-127.0.0.5", NULL};
    Ran r = run_text(ini, opts);
    PsTotals t;
    ps_network_totals(ps_run_network(r.run), &t);
    ck_assert_int_eq(t.first_failure, 20 * SIM_S); /* 4 x 100 ports / 20 per s */
    ck_assert_int_eq(gauge(&r, "c[127.0.0.3].ports_in_use")->max, 100);
    assert_conserved(&r);
    ran_free(&r);
}
END_TEST

/* Invariant 1, in-process: same scenario and seed, identical outputs. */
START_TEST(same_seed_same_output)
{
    const char *const opts[] = {"scenario.duration=12m", NULL};
    Ran a = run_file("flash-sale.ini", opts);
    Ran b = run_file("flash-sale.ini", opts);
    g_autoptr(GString) csv_a = sim_series_to_csv(sim_engine_series(ps_run_engine(a.run)));
    g_autoptr(GString) csv_b = sim_series_to_csv(sim_engine_series(ps_run_engine(b.run)));
    ck_assert(g_string_equal(csv_a, csv_b));
    JsonNode *ja = ps_run_summary(a.run), *jb = ps_run_summary(b.run);
    g_autofree char *sa = json_to_string(ja, TRUE);
    g_autofree char *sb = json_to_string(jb, TRUE);
    ck_assert_str_eq(sa, sb);
    json_node_unref(ja);
    json_node_unref(jb);
    ran_free(&a);
    ran_free(&b);
    /* and a different seed gives a different Poisson path */
    const char *const seed2[] = {"scenario.duration=12m", "scenario.seed=2", NULL};
    Ran c = run_file("flash-sale.ini", seed2);
    g_autoptr(GString) csv_c = sim_series_to_csv(sim_engine_series(ps_run_engine(c.run)));
    ck_assert(!g_string_equal(csv_a, csv_c));
    ran_free(&c);
}
END_TEST

/* The shipped flash sale must exhaust soon after the surge starts, as its
 * comment block promises; the steady scenario must never fail. */
START_TEST(flash_sale_exhausts_as_documented)
{
    Ran r = run_file("flash-sale.ini", NULL);
    PsTotals t;
    ps_network_totals(ps_run_network(r.run), &t);
    double first = sim_time_to_seconds(t.first_failure);
    ck_assert_msg(first > 600 && first < 620, "first failure at %.1f s", first);
    ck_assert_int_eq(gauge(&r, "shop.ports_in_use")->max, 28232);
    /* about 1,530/s fail for about 290 s */
    ck_assert_msg(t.failures > 400000 && t.failures < 520000, "failures %lu",
                  (unsigned long)t.failures);
    assert_conserved(&r);
    ran_free(&r);
}
END_TEST

START_TEST(steady_under_limit_never_fails)
{
    Ran r = run_file("steady-under-limit.ini", NULL);
    PsTotals t;
    ps_network_totals(ps_run_network(r.run), &t);
    ck_assert_uint_eq(t.failures, 0);
    ck_assert_uint_gt(t.successes, 100000);
    gint64 peak = gauge(&r, "client.ports_in_use")->max;
    ck_assert_msg(peak > 23000 && peak < 28232, "peak %ld", (long)peak);
    assert_conserved(&r);
    ran_free(&r);
}
END_TEST

static Suite *network_suite(void)
{
    Suite *s = suite_create("network");
    TCase *kernel = tcase_create("kernel");
    tcase_add_checked_fixture(kernel, setup, teardown);
    tcase_add_test(kernel, kernel_base_case);
    tcase_add_test(kernel, four_tuple_sharing_doubles_capacity);
    tcase_add_test(kernel, bind_before_connect_is_exclusive);
    tcase_add_test(kernel, linger0_skips_time_wait);
    tcase_add_test(kernel, server_close_moves_time_wait);
    tcase_add_test(kernel, server_time_wait_is_recycled_by_a_new_syn);
    tcase_add_test(kernel, link_delay_shapes_the_life_cycle);
    tcase_add_test(kernel, fleet_addresses_multiply_capacity);
    suite_add_tcase(s, kernel);
    TCase *theory = tcase_create("theory");
    tcase_add_checked_fixture(theory, setup, teardown);
    tcase_set_timeout(theory, 600);
    tcase_add_test(theory, carried_rate_is_range_over_time_wait);
    tcase_add_test(theory, erlang_b_exponential_hold);
    tcase_add_test(theory, erlang_b_deterministic_time_wait);
    suite_add_tcase(s, theory);
    TCase *files = tcase_create("scenario files");
    tcase_add_checked_fixture(files, setup, teardown);
    tcase_set_timeout(files, 600);
    tcase_add_test(files, same_seed_same_output);
    tcase_add_test(files, flash_sale_exhausts_as_documented);
    tcase_add_test(files, steady_under_limit_never_fails);
    suite_add_tcase(s, files);
    return s;
}

PS_TEST_MAIN(network_suite)
