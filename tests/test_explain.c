/* `portsim explain` and models/theory.c against numbers computed by hand. */
#include <math.h>
#include <string.h>

#include "cli_util.h"
#include "keys.h"
#include "scenario.h"
#include "test_util.h"
#include "theory.h"

/* Closed forms are computed, not estimated: only rounding separates them
 * from the hand values. */
#define CLOSE(a, b) (fabs((double)(a) - (double)(b)) <= 1e-9 * MAX(1.0, fabs((double)(b))))

START_TEST(erlang_b_table_values)
{
    /* B(1,1) = 1/2 and B(2,2) = 2/5 by hand; B(10,10) = 0.21458 and
     * B(5,10) = 0.018385 from published Erlang B tables (5 digits). */
    ck_assert(CLOSE(ps_erlang_b(1, 1), 0.5));
    ck_assert(CLOSE(ps_erlang_b(2, 2), 0.4));
    ck_assert(fabs(ps_erlang_b(10, 10) - 0.21458) < 5e-6);
    ck_assert(fabs(ps_erlang_b(5, 10) - 0.018385) < 5e-7);
    ck_assert(ps_erlang_b(0, 10) == 0.0);
    /* Large pools stay finite and ordered: more load, more blocking. */
    double b1 = ps_erlang_b(25000, 28232), b2 = ps_erlang_b(30000, 28232);
    ck_assert(isfinite(b1) && isfinite(b2) && b1 < b2 && b2 < 1);
    /* Far above capacity B -> 1 - m/E. */
    ck_assert(fabs(ps_erlang_b(120208, 28232) - (1 - 28232.0 / 120208)) < 1e-3);
}
END_TEST

static GPtrArray *theory(const char *file, const char *const *overrides)
{
    g_autofree char *path = cli_scenario(file);
    SimSchema *schema = ps_schema_new();
    GError *error = NULL;
    SimScenario *sc = sim_scenario_load_file(schema, path, overrides, &error);
    ck_assert_msg(sc != NULL, "%s", error ? error->message : "");
    GPtrArray *hosts = ps_theory_hosts(sc);
    sim_scenario_free(sc);
    sim_schema_free(schema);
    return hosts;
}

/* The host's TIME_WAIT timer tick in seconds, 0 when the model has none. */
static double tick_of(const char *file, const char *host)
{
    g_autofree char *path = cli_scenario(file);
    SimSchema *schema = ps_schema_new();
    SimScenario *sc = sim_scenario_load_file(schema, path, NULL, NULL);
    ck_assert_ptr_nonnull(sc);
    SimSection *h = sim_scenario_find(sc, "host", host);
    double tick = 0;
    if (sim_schema_key(sim_schema_section(schema, "host"), "time_wait_granularity"))
        tick = sim_time_to_seconds(sim_section_duration(h, "time_wait_granularity"));
    sim_scenario_free(sc);
    sim_schema_free(schema);
    return tick;
}

static gboolean host_key(const char *key)
{
    SimSchema *schema = ps_schema_new();
    gboolean has = sim_schema_key(sim_schema_section(schema, "host"), key) != NULL;
    sim_schema_free(schema);
    return has;
}

START_TEST(kernel_100_ports)
{
    g_autoptr(GPtrArray) hosts = theory("kernel-100-ports.ini", NULL);
    ck_assert_uint_eq(hosts->len, 1);
    const PsHostTheory *h = hosts->pdata[0];
    ck_assert_uint_eq(h->ports, 100);
    ck_assert_uint_eq(h->capacity, 100);
    /* delay 0, hold 0: TIME_WAIT alone, 60 s, plus half a timer tick on
     * average where the model rounds TIME_WAIT up to ticks */
    double t = 60.0 + tick_of("kernel-100-ports.ini", "client") / 2;
    ck_assert_msg(CLOSE(h->occupancy_s, t), "%f", h->occupancy_s);
    ck_assert(CLOSE(h->sustainable_per_s, 100.0 / t));
    /* 100 ports / 5 per s, as the kernel did; the crossing is found by
     * bisection, to far better than a microsecond */
    ck_assert_msg(fabs(h->first_failure_s - 20.0) < 1e-6, "%.12f", h->first_failure_s);
    ck_assert(h->has_step && h->step_at_s == 0 && h->step_to_per_s == 5);
}
END_TEST

START_TEST(flash_sale_step)
{
    g_autoptr(GPtrArray) hosts = theory("flash-sale.ini", NULL);
    const PsHostTheory *h = hosts->pdata[0];
    /* T = 2d + hold + 2d + TIME_WAIT = 2 ms + 100 ms + 2 ms + 60 s (+ tick/2) */
    double t = 60.104 + tick_of("flash-sale.ini", "shop") / 2;
    ck_assert(CLOSE(h->occupancy_s, t));
    ck_assert_uint_eq(h->capacity, 28232);
    ck_assert(CLOSE(h->sustainable_per_s, 28232 / t));
    ck_assert(CLOSE(h->base_per_s, 200) && CLOSE(h->peak_per_s, 2000));
    /* 600 s + (28232 - 200 x T) / (2000 - 200) */
    ck_assert_msg(fabs(h->first_failure_s - (600 + (28232 - 200 * t) / 1800)) < 1e-6,
                  "%.9f", h->first_failure_s);
    ck_assert(h->has_step && h->step_at_s == 600 && h->step_from_per_s == 200);
}
END_TEST

START_TEST(capacity_rules)
{
    /* Four source addresses: four pools. */
    const char *four[] = {"host.shop.addresses=10.0.0.1-10.0.0.4", NULL};
    g_autoptr(GPtrArray) a = theory("flash-sale.ini", four);
    const PsHostTheory *h = a->pdata[0];
    ck_assert_uint_eq(h->capacity, 4 * 28232);
    ck_assert(isnan(h->first_failure_s) == FALSE);
    /* 2000/s x 60.104 s = 120,208 > 112,928: still runs dry, later */
    ck_assert_msg(h->first_failure_s > 609.1, "%f", h->first_failure_s);

    /* Two destinations double the 4-tuples, unless ports are bound first. */
    const char *two[] = {"server.api.ports=443, 8443", NULL};
    g_autoptr(GPtrArray) b = theory("flash-sale.ini", two);
    ck_assert_uint_eq(((PsHostTheory *)b->pdata[0])->capacity, 2 * 28232);
    const char *bound[] = {"server.api.ports=443, 8443", "host.shop.bind_before_connect=true",
                           NULL};
    g_autoptr(GPtrArray) c = theory("flash-sale.ini", bound);
    ck_assert_uint_eq(((PsHostTheory *)c->pdata[0])->capacity, 28232);

    /* Reserved ports inside the range (overlapping entries count once). */
    const char *res[] = {"host.client.reserved_ports=40000-40009, 40005-40019, 50000", NULL};
    g_autoptr(GPtrArray) d = theory("kernel-100-ports.ini", res);
    ck_assert_uint_eq(((PsHostTheory *)d->pdata[0])->ports, 80);

    /* The server closes: no TIME_WAIT on the client, 6 one-way delays + hold. */
    const char *server[] = {"workload.surge.closer=server", NULL};
    g_autoptr(GPtrArray) e = theory("flash-sale.ini", server);
    ck_assert(CLOSE(((PsHostTheory *)e->pdata[0])->occupancy_s, 0.006 + 0.1));
    ck_assert(isnan(((PsHostTheory *)e->pdata[0])->first_failure_s));

    /* Keys other models add, where the schema has them. */
    if (host_key("tcp_tw_reuse")) {
        /* loopback with tcp_tw_reuse = 2: a TIME_WAIT 4-tuple is taken over
         * after tw_reuse_delay (1 s by default) */
        const char *reuse[] = {"host.client.tcp_tw_reuse=2", NULL};
        g_autoptr(GPtrArray) g = theory("kernel-100-ports.ini", reuse);
        ck_assert(CLOSE(((PsHostTheory *)g->pdata[0])->occupancy_s, 1.0));
        const char *off[] = {"host.client.tcp_tw_reuse=0", NULL};
        g_autoptr(GPtrArray) g0 = theory("kernel-100-ports.ini", off);
        ck_assert(((PsHostTheory *)g0->pdata[0])->occupancy_s >= 60);
    }
    if (host_key("bind_address_no_port")) {
        const char *no_port[] = {"server.api.ports=443, 8443", "host.shop.bind_before_connect=true",
                                 "host.shop.bind_address_no_port=true", NULL};
        g_autoptr(GPtrArray) g = theory("flash-sale.ini", no_port);
        ck_assert_uint_eq(((PsHostTheory *)g->pdata[0])->capacity, 2 * 28232);
    }

    /* No tick without TIME_WAIT. linger0: RST, 2 one-way delays + hold */
    const char *rst[] = {"host.shop.linger0=true", NULL};
    g_autoptr(GPtrArray) f = theory("flash-sale.ini", rst);
    ck_assert(CLOSE(((PsHostTheory *)f->pdata[0])->occupancy_s, 0.002 + 0.1));
}
END_TEST

/* The fluid model's first failure matches what the simulator measures. */
START_TEST(text_output_and_agreement_with_run)
{
    g_autofree char *path = cli_scenario("kernel-100-ports.ini");
    const char *args[] = {"explain", path, NULL};
    CliResult r = cli_run(args);
    ck_assert_msg(r.status == 0, "%s", r.err);
    ck_assert_ptr_nonnull(strstr(r.out, "K = C x addresses x destinations = 100 x 1 x 1 = 100"));
    /* 100 / 60 s = 1.667/s without a timer tick, 100 / 61.024 s = 1.639/s with
     * Linux's 2.048 s one */
    ck_assert_msg(strstr(r.out, "K / T = 100 / 60 s = 1.667/s") ||
                      strstr(r.out, "K / T = 100 / 61.024 s = 1.639/s"),
                  "%s", r.out);
    ck_assert_ptr_nonnull(strstr(r.out, "= 0.0s + (100 - 0) / (5 - 0) = 20.0s"));
    cli_result_free(&r);

    g_autofree char *fs = cli_scenario("flash-sale.ini");
    const char *json_args[] = {"explain", fs, "--json", NULL};
    CliResult j = cli_run(json_args);
    ck_assert_int_eq(j.status, 0);
    ck_assert_ptr_nonnull(strstr(j.out, "\"capacity_tuples\" : 28232,"));
    ck_assert_ptr_nonnull(strstr(j.out, "\"first_failure_s\" : 60")); /* 10m08.9s or 10m09.0s */
    cli_result_free(&j);

    const char *bad[] = {"explain", fs, "--set", "host.shop.time_wiat=1s", NULL};
    CliResult e = cli_run(bad);
    ck_assert_int_eq(e.status, 2);
    ck_assert_ptr_nonnull(strstr(e.err, "did you mean 'time_wait'"));
    cli_result_free(&e);
    const char *none[] = {"explain", NULL};
    CliResult n = cli_run(none);
    ck_assert_int_eq(n.status, 2);
    cli_result_free(&n);
}
END_TEST

static Suite *explain_suite(void)
{
    Suite *s = suite_create("explain");
    TCase *tc = tcase_create("explain");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, erlang_b_table_values);
    tcase_add_test(tc, kernel_100_ports);
    tcase_add_test(tc, flash_sale_step);
    tcase_add_test(tc, capacity_rules);
    tcase_add_test(tc, text_output_and_agreement_with_run);
    suite_add_tcase(s, tc);
    return s;
}

PS_TEST_MAIN(explain_suite)
