/* Host knobs with their kernel semantics: tcp_tw_reuse and its delay,
 * bind_address_no_port, max_tw_buckets, the TIME_WAIT timer-wheel
 * granularity, address selection, lazy pools for an IPv6 /112, presets,
 * and [listener] port conflicts with and without reserved ports. */
#include <math.h>
#include <string.h>

#include "keys.h"
#include "network_internal.h"
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

/* Port takes and releases seen by the network's observer hook. */
typedef struct {
    GArray *events; /* Seen */
} Watch;

typedef struct {
    SimTime t;
    gboolean take;
    uint16_t port;
    SimAddress local, remote;
    uint16_t remote_port;
} Seen;

static Watch watch;
static PsRun *watched;

static void observe(void *data, const PsPortEvent *ev)
{
    Seen s = {sim_engine_now(ps_run_engine(watched)), ev->take, ev->port, *ev->local,
              *ev->remote, ev->remote_port};
    g_array_append_val(watch.events, s);
}

static Ran run_text(const char *ini, const char *const *overrides, gboolean observed)
{
    GError *error = NULL;
    SimScenario *sc = sim_scenario_load_data(schema, ini, "t.ini", overrides, &error);
    ck_assert_msg(sc != NULL, "load failed: %s", error ? error->message : "?");
    PsRun *run = ps_run_new(sc, 0, &error);
    ck_assert_msg(run != NULL, "build failed: %s", error ? error->message : "?");
    if (observed) {
        if (watch.events)
            g_array_free(watch.events, TRUE);
        watch.events = g_array_new(FALSE, FALSE, sizeof(Seen));
        watched = run;
        ps_network_set_port_observer(ps_run_network(run), observe, NULL);
    }
    ck_assert(ps_run_execute(run));
    return (Ran){sc, run};
}

static void ran_free(Ran *r)
{
    ps_run_free(r->run);
    sim_scenario_free(r->scenario);
}

static gint64 counter(Ran *r, const char *name) { return ps_test_counter(r->run, name); }

static SimGauge *gauge(Ran *r, const char *name) { return ps_test_gauge(r->run, name); }

static PsTotals totals(Ran *r)
{
    PsTotals t;
    ps_network_totals(ps_run_network(r->run), &t);
    return t;
}

static void assert_drained(Ran *r) { ps_test_assert_drained(r->run); }

/* The kernel experiment's host (linux-kernel-measured.md): 100 ports,
 * 5 connections/s, hold 0, the client closes. */
#define LOOP                                                                   \
    "[scenario]\nduration = 180s\n"                                            \
    "[host c]\naddresses = 127.0.0.2\nephemeral_range = 40000-40099\n"         \
    "[server s]\naddresses = 127.0.0.1\nports = 8080\n"                        \
    "[workload w]\nhost = c\ntarget = server s\nrate = 5/s\n"

#define REMOTE                                                                 \
    "[scenario]\nduration = 180s\n"                                            \
    "[host c]\naddresses = 10.0.0.2\nephemeral_range = 40000-40099\n"          \
    "[server s]\naddresses = 10.0.0.1\nports = 8080\n"                         \
    "[workload w]\nhost = c\ntarget = server s\nrate = 5/s\n"

/* ---- tcp_tw_reuse ---- */

START_TEST(tw_reuse_loopback_default)
{
    /* Linux default tcp_tw_reuse = 2 on loopback: TIME_WAIT 4-tuples older
     * than 1 s are taken over, so 100 ports never run out. */
    Ran r = run_text(LOOP, NULL, TRUE);
    PsTotals t = totals(&r);
    ck_assert_uint_eq(t.failures, 0);
    ck_assert_uint_eq(t.successes, 900);
    /* The walk takes the first candidate that is free or reusable, so
     * takeovers start as soon as TIME_WAITs are 1 s old: most connections
     * recycle, and TIME_WAIT never fills the 100 ports. */
    gint64 recycled = counter(&r, "c.tw_recycled");
    ck_assert_int_ge(recycled, 700);
    ck_assert_int_lt(gauge(&r, "c.time_wait")->max, 100);
    assert_drained(&r);
    ran_free(&r);
}
END_TEST

START_TEST(tw_reuse_waits_for_the_delay)
{
    /* Delay 30 s: at 20 s the oldest TIME_WAIT is 20 s old, so attempts
     * fail (EADDRNOTAVAIL) until it is older than 30 s. */
    const char *const opts[] = {"host.c.tw_reuse_delay=30s", NULL};
    Ran r = run_text(LOOP, opts, TRUE);
    PsTotals t = totals(&r);
    ck_assert_int_eq(t.first_failure, 20 * SIM_S);
    /* Each port serves once per 30.2 s (the first attempt after its
     * TIME_WAIT is older than 30 s): 100 successes in each of the cycles
     * starting at 0, 30.2, 60.4, 90.6, 120.8 and 151 s, so 600 of 900. The
     * default 1 s delay gives no failure (tw_reuse_loopback_default). */
    ck_assert_uint_eq(t.successes, 600);
    ck_assert_uint_eq(t.failures, 300);
    /* Every takeover found a TIME_WAIT older than 30 s: with hold 0 and no
     * link delay, TIME_WAIT starts when the port is taken, so the gap
     * between two takes of a port is the TIME_WAIT's age. */
    GHashTable *last_take = g_hash_table_new(g_direct_hash, g_direct_equal);
    for (guint i = 0; i < watch.events->len; i++) {
        const Seen *s = &g_array_index(watch.events, Seen, i);
        if (!s->take)
            continue;
        gpointer prev = g_hash_table_lookup(last_take, GUINT_TO_POINTER(s->port));
        if (prev) {
            SimTime gap = s->t - (SimTime)(GPOINTER_TO_SIZE(prev) - 1);
            if (gap <= 30 * SIM_S)
                ck_abort_msg("port %u reused after %.3f s", s->port, gap / 1e9);
        }
        g_hash_table_insert(last_take, GUINT_TO_POINTER(s->port),
                            GSIZE_TO_POINTER((gsize)s->t + 1));
    }
    g_hash_table_destroy(last_take);
    assert_drained(&r);
    ran_free(&r);
}
END_TEST

START_TEST(tw_reuse_scope)
{
    /* 2 is loopback only: a 10/8 host keeps the kernel's base case (first
     * failure at 20 s); 1 reuses for all traffic; 0 never on loopback. */
    Ran r2 = run_text(REMOTE, NULL, FALSE);
    ck_assert_int_eq(totals(&r2).first_failure, 20 * SIM_S);
    ck_assert_int_eq(counter(&r2, "c.tw_recycled"), 0);
    ran_free(&r2);
    const char *const one[] = {"host.c.tcp_tw_reuse=1", NULL};
    Ran r1 = run_text(REMOTE, one, FALSE);
    ck_assert_uint_eq(totals(&r1).failures, 0);
    ck_assert_int_gt(counter(&r1, "c.tw_recycled"), 0);
    assert_drained(&r1);
    ran_free(&r1);
    const char *const zero[] = {"host.c.tcp_tw_reuse=0", NULL};
    Ran r0 = run_text(LOOP, zero, FALSE);
    ck_assert_uint_eq(totals(&r0).failures, 600);
    ran_free(&r0);
}
END_TEST

/* ---- bind_address_no_port ---- */

START_TEST(bind_address_no_port_restores_sharing)
{
    /* Two server ports at 10/s: bind() before connect() holds a port per
     * connection (100 ports / 10 per s = 10 s); IP_BIND_ADDRESS_NO_PORT
     * chooses at connect(), so both destinations share (200 / 10 = 20 s). */
    const char *const bound[] = {"server.s.ports=8080, 8081", "workload.w.rate=10/s",
                                 "host.c.bind_before_connect=true", "host.c.tcp_tw_reuse=0",
                                 NULL};
    Ran a = run_text(LOOP, bound, FALSE);
    ck_assert_int_eq(totals(&a).first_failure, 10 * SIM_S);
    ck_assert_uint_eq(totals(&a).by_reason[PS_FAIL_EADDRINUSE], totals(&a).failures);
    ran_free(&a);
    const char *const noport[] = {"server.s.ports=8080, 8081", "workload.w.rate=10/s",
                                  "host.c.bind_before_connect=true",
                                  "host.c.bind_address_no_port=true", "host.c.tcp_tw_reuse=0",
                                  NULL};
    Ran b = run_text(LOOP, noport, FALSE);
    ck_assert_int_eq(totals(&b).first_failure, 20 * SIM_S);
    ck_assert_uint_eq(totals(&b).by_reason[PS_FAIL_EADDRNOTAVAIL], totals(&b).failures);
    ck_assert_int_eq(gauge(&b, "c.time_wait")->max, 200);
    assert_drained(&b);
    ran_free(&b);
}
END_TEST

START_TEST(host_wide_port_sharing)
{
    /* Windows without SO_REUSE_UNICASTPORT: one port per connection even
     * toward two destinations, so 100 ports last 10 s at 10/s. */
    const char *const opts[] = {"server.s.ports=8080, 8081", "workload.w.rate=10/s",
                                "host.c.port_sharing=host-wide", "host.c.tcp_tw_reuse=0", NULL};
    Ran r = run_text(LOOP, opts, FALSE);
    ck_assert_int_eq(totals(&r).first_failure, 10 * SIM_S);
    ck_assert_int_eq(gauge(&r, "c.time_wait")->max, 100);
    assert_drained(&r);
    ran_free(&r);
}
END_TEST

/* ---- max_tw_buckets ---- */

START_TEST(max_tw_buckets_overflow)
{
    /* 50 buckets: past 50 sockets in TIME_WAIT a close skips it, so the
     * 100 ports never run out and TIME_WAIT never holds more than 50. */
    const char *const opts[] = {"host.c.max_tw_buckets=50", "host.c.tcp_tw_reuse=0", NULL};
    Ran r = run_text(LOOP, opts, FALSE);
    PsTotals t = totals(&r);
    ck_assert_uint_eq(t.failures, 0);
    ck_assert_int_eq(gauge(&r, "c.time_wait")->max, 50);
    /* Each TIME_WAIT slot turns over once per 60 s (+ rounding): at most
     * 50 x 4 entries in 180 s, every other close overflowed. */
    gint64 overflow = counter(&r, "c.tw_overflow");
    ck_assert_int_ge(overflow, 900 - 200);
    ck_assert_int_le(overflow, 900 - 150);
    assert_drained(&r);
    ran_free(&r);
    /* Without the cap: no overflow, and the base case's failures. */
    const char *const none[] = {"host.c.tcp_tw_reuse=0", NULL};
    Ran b = run_text(LOOP, none, FALSE);
    ck_assert_int_eq(counter(&b, "c.tw_overflow"), 0);
    ck_assert_uint_eq(totals(&b).failures, 600);
    ran_free(&b);
}
END_TEST

/* ---- TIME_WAIT on the timer wheel ---- */

START_TEST(time_wait_granularity_rounds_up)
{
    /* One connection at 0.5 s, hold 0, no link delay: TIME_WAIT from 0.5 s,
     * nominal end 60.5 s, the wheel's next 2.048 s tick is 30 x 2.048 =
     * 61.44 s. Exact (granularity 0): 60.5 s. */
    const char *ini = LOOP "start = 0.5s\nstop = 0.6s\n";
    const double want[2] = {61.44, 60.5};
    const char *const g0[] = {"host.c.time_wait_granularity=0s", NULL};
    for (int k = 0; k < 2; k++) {
        Ran r = run_text(ini, k ? g0 : NULL, TRUE);
        ck_assert_uint_eq(watch.events->len, 2);
        const Seen *rel = &g_array_index(watch.events, Seen, 1);
        ck_assert(!rel->take);
        ck_assert_int_eq(rel->t, sim_time_from_seconds(want[k]));
        ran_free(&r);
    }
}
END_TEST

/* ---- address selection and many addresses ---- */

START_TEST(address_selection_hash)
{
    /* 4 addresses, 8 destinations: a hash of the destination picks the
     * source, so each destination always leaves from one address. */
    const char *const opts[] = {"host.c.addresses=127.0.0.2-127.0.0.5",
                                "host.c.address_selection=hash", "server.s.ports=8080-8087",
                                "workload.w.rate=50/s", NULL};
    Ran r = run_text(LOOP, opts, TRUE);
    GHashTable *src = g_hash_table_new(g_direct_hash, g_direct_equal);
    GHashTable *used = g_hash_table_new(g_direct_hash, g_direct_equal);
    for (guint i = 0; i < watch.events->len; i++) {
        const Seen *s = &g_array_index(watch.events, Seen, i);
        gpointer key = GUINT_TO_POINTER(s->remote_port);
        gpointer val = GUINT_TO_POINTER(s->local.bytes[3]);
        gpointer prev = g_hash_table_lookup(src, key);
        if (prev && prev != val)
            ck_abort_msg("destination %u left from two addresses", s->remote_port);
        g_hash_table_insert(src, key, val);
        g_hash_table_add(used, val);
    }
    ck_assert_uint_eq(g_hash_table_size(src), 8);
    ck_assert_uint_gt(g_hash_table_size(used), 1); /* it does spread */
    g_hash_table_destroy(src);
    g_hash_table_destroy(used);
    ran_free(&r);
}
END_TEST

START_TEST(ipv6_112_lazy_pools)
{
    /* 65,536 source addresses: pools are created on first use only (an
     * eager build would take 65,536 x ~380 KiB), one allocator serves them
     * all. Round-robin at 100/s for 10 s touches 1,000 addresses. */
    /* A 1,000-port range and `random`: models/budget.c estimates every
     * address as if its pool were built (TODO for its owner: lazy pools),
     * and would refuse the default range. */
    const char *ini = "[scenario]\nduration = 10s\n"
                      "[host c]\naddresses = 2001:db8::/112\nephemeral_range = 40000-40999\n"
                      "allocator = random\n"
                      "[server s]\naddresses = 2001:db8:1::1\nports = 443\n"
                      "[workload w]\nhost = c\ntarget = server s\nrate = 100/s\n";
    Ran r = run_text(ini, NULL, FALSE);
    PsHost *h = ps_run_network(r.run)->hosts->pdata[0];
    ck_assert_uint_eq(h->n_addresses, 65536);
    ck_assert_uint_eq(h->pools->len, 1000);
    ck_assert_ptr_nonnull(h->shared_alloc);
    ck_assert_uint_eq(totals(&r).successes, 1000);
    assert_drained(&r);
    ran_free(&r);
}
END_TEST

/* ---- IP_LOCAL_PORT_RANGE ---- */

START_TEST(local_port_range_narrows)
{
    /* A 20-port sub-range of the 100: every port taken lies in it, and it
     * runs dry after 20 / 5 per s = 4 s. A range outside ephemeral_range is
     * refused (EINVAL in the kernel). */
    const char *const opts[] = {"host.c.local_port_range=40010-40029", "host.c.tcp_tw_reuse=0",
                                NULL};
    Ran r = run_text(LOOP, opts, TRUE);
    ck_assert_int_eq(totals(&r).first_failure, 4 * SIM_S);
    guint odd = 0, takes = 0;
    for (guint i = 0; i < watch.events->len; i++) {
        const Seen *s = &g_array_index(watch.events, Seen, i);
        if (s->port < 40010 || s->port > 40029)
            ck_abort_msg("port %u outside the socket's range", s->port);
        if (s->take && ++takes <= 10)
            odd += s->port & 1;
    }
    /* Linux >= 6.8 with a socket range: step 1 from a random offset, no
     * parity split, so the first 10 ports mix parities (the split would
     * give 10 even ones, the parity of 40010; all 10 even by chance with
     * no split: ~ (1/2)^10 per seed, and the seed is fixed). */
    ck_assert_uint_gt(odd, 0);
    assert_drained(&r);
    ran_free(&r);
    GError *error = NULL;
    const char *const bad[] = {"host.c.local_port_range=50000-50010", NULL};
    SimScenario *sc = sim_scenario_load_data(schema, LOOP, "t.ini", bad, &error);
    ck_assert_ptr_nonnull(sc);
    ck_assert_ptr_null(ps_run_new(sc, 0, &error));
    ck_assert_msg(strstr(error->message, "does not overlap"), "%s", error->message);
    g_error_free(error);
    sim_scenario_free(sc);
}
END_TEST

/* ---- presets ---- */

START_TEST(presets_set_os_defaults)
{
    static const struct {
        const char *preset, *range, *tw, *alloc, *sharing;
    } want[] = {
        {"linux", "32768-60999", "60s", "linux", "per-destination"},
        {"linux-4.x", "32768-60999", "60s", "hash", "per-destination"},
        {"windows", "49152-65535", "120s", "random", "host-wide"},
        {"freebsd", "10000-65535", "60s", "random", "per-destination"},
        {"macos", "49152-65535", "30s", "random", "host-wide"},
    };
    for (guint i = 0; i < G_N_ELEMENTS(want); i++) {
        g_autofree char *ini = g_strdup_printf(
            "[scenario]\nduration = 1s\n[host c]\naddresses = 10.0.0.2\npreset = %s\n"
            "[server s]\naddresses = 10.0.0.1\nports = 80\n"
            "[workload w]\nhost = c\ntarget = server s\n",
            want[i].preset);
        GError *error = NULL;
        SimScenario *sc = sim_scenario_load_data(schema, ini, "t.ini", NULL, &error);
        ck_assert_msg(sc != NULL, "%s: %s", want[i].preset, error ? error->message : "?");
        SimSection *h = sim_scenario_find(sc, "host", "c");
        SimRange range = sim_section_range(h, "ephemeral_range");
        g_autofree char *rs = g_strdup_printf("%lld-%lld", (long long)range.lo,
                                              (long long)range.hi);
        ck_assert_str_eq(rs, want[i].range);
        ck_assert_str_eq(sim_section_text(h, "allocator"), want[i].alloc);
        ck_assert_str_eq(sim_section_text(h, "port_sharing"), want[i].sharing);
        SimTime tw;
        ck_assert(sim_parse_duration(want[i].tw, &tw, NULL));
        ck_assert_int_eq(sim_section_duration(h, "time_wait"), tw);
        sim_scenario_free(sc);
    }
}
END_TEST

/* ---- [listener]: port conflicts ---- */

START_TEST(listener_conflict)
{
    /* At 30 s every one of the 100 ports is in TIME_WAIT (used 0-20 s):
     * binding 40050 fails with EADDRINUSE. */
    const char *ini = LOOP "[listener svc]\nhost = c\nport = 40050\nat = 30s\n";
    const char *const opts[] = {"host.c.tcp_tw_reuse=0", NULL};
    Ran r = run_text(ini, opts, FALSE);
    ck_assert_int_eq(counter(&r, "c.listener_conflicts"), 1);
    PsListener *l = ps_run_network(r.run)->listeners->pdata[0];
    ck_assert(l->refused);
    assert_drained(&r);
    ran_free(&r);
}
END_TEST

START_TEST(listener_reserved_port)
{
    /* Reserved, the port is never handed out: the bind succeeds, and the
     * range holds 99 ports, so the first failure comes one attempt early. */
    const char *ini = LOOP "[listener svc]\nhost = c\nport = 40050\nat = 30s\n";
    const char *const opts[] = {"host.c.tcp_tw_reuse=0", "host.c.reserved_ports=40050", NULL};
    Ran r = run_text(ini, opts, FALSE);
    ck_assert_int_eq(counter(&r, "c.listener_conflicts"), 0);
    PsListener *l = ps_run_network(r.run)->listeners->pdata[0];
    ck_assert(!l->refused);
    ck_assert(l->reserved);
    ck_assert_int_eq(totals(&r).first_failure, sim_time_from_seconds(19.8));
    assert_drained(&r);
    ran_free(&r);
}
END_TEST

START_TEST(listener_before_traffic_holds_port)
{
    /* Bound at 0 s, before any connection: no conflict, and automatic
     * selection then skips the port (99 left). */
    const char *ini = LOOP "[listener svc]\nhost = c\nport = 40050\n";
    const char *const opts[] = {"host.c.tcp_tw_reuse=0", NULL};
    Ran r = run_text(ini, opts, FALSE);
    ck_assert_int_eq(counter(&r, "c.listener_conflicts"), 0);
    ck_assert_int_eq(totals(&r).first_failure, sim_time_from_seconds(19.8));
    assert_drained(&r);
    ran_free(&r);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("host_knobs");
    TCase *tc = tcase_create("knobs");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, tw_reuse_loopback_default);
    tcase_add_test(tc, tw_reuse_waits_for_the_delay);
    tcase_add_test(tc, tw_reuse_scope);
    tcase_add_test(tc, bind_address_no_port_restores_sharing);
    tcase_add_test(tc, host_wide_port_sharing);
    tcase_add_test(tc, max_tw_buckets_overflow);
    tcase_add_test(tc, time_wait_granularity_rounds_up);
    tcase_add_test(tc, address_selection_hash);
    tcase_add_test(tc, ipv6_112_lazy_pools);
    tcase_add_test(tc, local_port_range_narrows);
    tcase_add_test(tc, presets_set_os_defaults);
    tcase_add_test(tc, listener_conflict);
    tcase_add_test(tc, listener_reserved_port);
    tcase_add_test(tc, listener_before_traffic_holds_port);
    suite_add_tcase(s, tc);
    return s;
}

PS_TEST_MAIN(suite)
