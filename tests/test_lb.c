/* Load balancers and proxies: the balancing algorithms against their
 * definitions, and proxies against the port arithmetic of ports.md §6.1. */
#include <math.h>
#include <string.h>

#include "keys.h"
#include "lb_balance.h"
#include "run.h"
#include "sim_error.h"
#include "theory.h"
#include "test_util.h"
#include "run_util.h"

static SimSchema *schema;

static void setup(void) { schema = ps_schema_new(); }
static void teardown(void) { sim_schema_free(schema); }

/* --- algorithms ------------------------------------------------------------ */

static PsBalancer *balancer(PsBalanceKind kind, guint n, const guint *w)
{
    SimRng rng;
    sim_rng_seed(&rng, 7, "test balancer", 0);
    return ps_balancer_new(kind, n, w, &rng);
}

START_TEST(round_robin_exact)
{
    PsBalancer *b = balancer(PS_BAL_ROUND_ROBIN, 3, NULL);
    uint64_t load[3] = {0};
    for (guint i = 0; i < 300; i++)
        REQUIRE_U64_EQ(ps_balancer_pick(b, i, load), i % 3);
    /* A backend down is skipped, the others keep their turn. */
    ps_balancer_set_up(b, 1, FALSE);
    for (guint i = 0; i < 10; i++)
        REQUIRE_U64_EQ(ps_balancer_pick(b, i, load), (i % 2) * 2);
    ps_balancer_set_up(b, 0, FALSE);
    ps_balancer_set_up(b, 2, FALSE);
    ck_assert_int_eq(ps_balancer_pick(b, 0, load), -1);
    ps_balancer_free(b);
}
END_TEST

START_TEST(weighted_round_robin_proportions)
{
    /* Smooth WRR: exact proportions over every cycle of sum(w) picks, and
     * never two picks of the weight-2 backend in a row (it interleaves). */
    guint w[3] = {5, 3, 2};
    PsBalancer *b = balancer(PS_BAL_WEIGHTED_ROUND_ROBIN, 3, w);
    uint64_t load[3] = {0};
    for (guint cycle = 0; cycle < 100; cycle++) {
        guint count[3] = {0};
        gint prev = -1;
        for (guint i = 0; i < 10; i++) {
            gint k = ps_balancer_pick(b, i, load);
            count[k]++;
            REQUIRE(!(k == 2 && prev == 2));
            prev = k;
        }
        for (guint k = 0; k < 3; k++)
            REQUIRE_U64_EQ(count[k], w[k]);
    }
    ps_balancer_free(b);
}
END_TEST

START_TEST(random_within_tolerance)
{
    /* 40,000 uniform picks over 4: each count is Binomial(40000, 1/4),
     * sd = sqrt(40000 x 1/4 x 3/4) = 86.6; 5 sd (433) is missed by a
     * correct generator with probability ~6e-7 per backend. */
    PsBalancer *b = balancer(PS_BAL_RANDOM, 4, NULL);
    uint64_t load[4] = {0}, count[4] = {0};
    for (guint i = 0; i < 40000; i++)
        count[ps_balancer_pick(b, i, load)]++;
    for (guint k = 0; k < 4; k++)
        ck_assert_msg(fabs((double)count[k] - 10000) < 433, "backend %u: %" G_GUINT64_FORMAT, k,
                      count[k]);
    ps_balancer_free(b);
    /* Weights 3:1: the share of the first is 3/4 within 5 sd. */
    guint w[2] = {3, 1};
    b = balancer(PS_BAL_RANDOM, 2, w);
    uint64_t c2[2] = {0};
    for (guint i = 0; i < 40000; i++)
        c2[ps_balancer_pick(b, i, load)]++;
    ck_assert(fabs((double)c2[0] - 30000) < 433);
    ps_balancer_free(b);
}
END_TEST

/* Balls into bins: m balls over n bins, the load being the balls so far. */
static uint64_t max_load(PsBalanceKind kind, guint n, guint m)
{
    PsBalancer *b = balancer(kind, n, NULL);
    uint64_t *load = g_new0(uint64_t, n), max = 0;
    for (guint i = 0; i < m; i++) {
        gint k = ps_balancer_pick(b, i, load);
        load[k]++;
        max = MAX(max, load[k]);
    }
    g_free(load);
    ps_balancer_free(b);
    return max;
}

START_TEST(power_of_two_beats_random)
{
    /* 10,000 balls into 100 bins: one random choice gives a maximum of
     * m/n + Theta(sqrt(m/n log n)) (about 125 here), two choices m/n +
     * ln ln n / ln 2 + O(1) (about 102: Azar et al. 1994, Berenbrink et
     * al. 2000 for the heavily loaded case). */
    uint64_t r = max_load(PS_BAL_RANDOM, 100, 10000);
    uint64_t p = max_load(PS_BAL_POWER_OF_TWO, 100, 10000);
    ck_assert_msg(p < r, "power-of-two %" G_GUINT64_FORMAT " vs random %" G_GUINT64_FORMAT, p, r);
    ck_assert_uint_le(p, 100 + 5);
    ck_assert_uint_ge(r, 100 + 10);
}
END_TEST

START_TEST(least_connections_picks_lightest)
{
    PsBalancer *b = balancer(PS_BAL_LEAST_CONNECTIONS, 3, NULL);
    uint64_t load[3] = {5, 2, 7};
    ck_assert_int_eq(ps_balancer_pick(b, 0, load), 1);
    /* Ties go in turn. */
    uint64_t even[3] = {4, 4, 4};
    guint seen[3] = {0};
    for (guint i = 0; i < 6; i++)
        seen[ps_balancer_pick(b, i, even)]++;
    for (guint k = 0; k < 3; k++)
        ck_assert_uint_eq(seen[k], 2);
    /* Weighted: 6 connections on weight 3 is lighter than 3 on weight 1. */
    ps_balancer_free(b);
    guint w[2] = {3, 1};
    b = balancer(PS_BAL_LEAST_CONNECTIONS, 2, w);
    uint64_t wl[2] = {6, 3};
    ck_assert_int_eq(ps_balancer_pick(b, 0, wl), 0);
    ps_balancer_free(b);
}
END_TEST

/* The share of keys whose backend changes when backend `gone` leaves. */
static double moved(PsBalanceKind kind, guint n, guint gone, double *others_moved)
{
    enum { KEYS = 100000 };
    PsBalancer *b = balancer(kind, n, NULL);
    uint64_t load[16] = {0};
    gint *before = g_new(gint, KEYS);
    for (guint k = 0; k < KEYS; k++)
        before[k] = ps_balancer_pick(b, k * 2654435761u, load);
    ps_balancer_set_up(b, gone, FALSE);
    guint n_moved = 0, n_others = 0, n_others_moved = 0;
    for (guint k = 0; k < KEYS; k++) {
        gint after = ps_balancer_pick(b, k * 2654435761u, load);
        REQUIRE(after != (gint)gone);
        n_moved += after != before[k];
        if (before[k] != (gint)gone) {
            n_others++;
            n_others_moved += after != before[k];
        }
    }
    g_free(before);
    ps_balancer_free(b);
    *others_moved = (double)n_others_moved / n_others;
    return (double)n_moved / KEYS;
}

START_TEST(consistent_hash_moves_one_nth)
{
    /* Maglev: the keys of the backend that left move (1/N of them), and
     * few others: the paper measures a disruption of a few percent at
     * M = 65537 (Eisenbud et al. 2016, Fig. 11); we allow 3 %. */
    double others;
    double m = moved(PS_BAL_CONSISTENT_HASH, 10, 3, &others);
    ck_assert_msg(m > 0.09 && m < 0.10 + 0.03, "moved %.4f", m);
    ck_assert_msg(others < 0.03, "others moved %.4f", others);
    /* hash mod N moves about (N-1)/N of every key: the contrast. */
    double sh = moved(PS_BAL_SOURCE_HASH, 10, 3, &others);
    ck_assert_msg(sh > 0.8, "source-hash moved %.4f", sh);
}
END_TEST

START_TEST(source_hash_is_sticky)
{
    /* One key, one backend, whatever the loads: stickiness is what hash
     * mod N promises (a departure moves most keys: see the test above). */
    PsBalancer *b = balancer(PS_BAL_SOURCE_HASH, 5, NULL);
    uint64_t load[5] = {9, 0, 3, 1, 7};
    for (uint64_t k = 0; k < 1000; k++) {
        gint first = ps_balancer_pick(b, k, load);
        load[first]++;
        REQUIRE(ps_balancer_pick(b, k, load) == first);
    }
    ps_balancer_free(b);
}
END_TEST

/* --- proxies in scenarios ------------------------------------------------- */

typedef struct {
    SimScenario *scenario;
    PsRun *run;
} Ran;

static Ran run_text(const char *ini, const char *const *overrides)
{
    GError *error = NULL;
    SimScenario *sc = sim_scenario_load_data(schema, ini, "test.ini", overrides, &error);
    ck_assert_msg(sc != NULL, "load failed: %s", error ? error->message : "?");
    PsRun *run = ps_run_new(sc, 0, &error);
    ck_assert_msg(run != NULL, "build failed: %s", error ? error->message : "?");
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

static void assert_conserved(Ran *r) { ps_test_assert_drained(r->run); }

/* A proxy with 100 ports and an exact 60 s TIME_WAIT; clients with ports
 * to spare; tests append backends and a workload. */
#define PROXY_BASE                                                                             \
    "[scenario]\nduration = 180s\n"                                                            \
    "[host c]\naddresses = 10.0.0.1-10.0.0.4\ntcp_tw_reuse = 0\n"                             \
    "[host p]\naddresses = 10.2.0.1\nephemeral_range = 40000-40099\n"                          \
    "time_wait_granularity = 0s\ntcp_tw_reuse = 0\n"                                           \
    "[server a]\naddresses = 10.1.0.1\nports = 8080\n"                                         \
    "[server b]\naddresses = 10.1.0.2\nports = 8080\n"                                         \
    "[workload w]\nhost = c\ntarget = lb f\nrate = 20/s\nhold = 0s\n"

static gint64 backend_successes(const char *lb, const char *const *overrides)
{
    g_autofree char *ini = g_strconcat(PROXY_BASE, lb, NULL);
    Ran r = run_text(ini, overrides);
    assert_conserved(&r);
    gint64 s = counter(&r, "p.successes");
    ran_free(&r);
    return s;
}

START_TEST(proxy_capacity_per_destination)
{
    /* 20/s for 180 s toward 100 ports held 60 s in TIME_WAIT by the proxy:
     * each 4-tuple carries one connection per 60 s window, so one
     * destination carries 100 x 180 / 60 = 300; two backends (4-tuple
     * sharing) twice that, and so does a second source address. */
    gint64 one = backend_successes("[lb f]\nhost = p\naddresses = 10.9.0.1\nports = 443\n"
                                   "backends = a\n",
                                   NULL);
    ck_assert_int_eq(one, 300);
    gint64 two = backend_successes("[lb f]\nhost = p\naddresses = 10.9.0.1\nports = 443\n"
                                   "backends = a, b\n",
                                   NULL);
    ck_assert_int_eq(two, 2 * one);
    const char *addr2[] = {"host.p.addresses=10.2.0.1-10.2.0.2", NULL};
    gint64 src2 = backend_successes("[lb f]\nhost = p\naddresses = 10.9.0.1\nports = 443\n"
                                    "backends = a\n",
                                    addr2);
    ck_assert_int_eq(src2, 2 * one);
}
END_TEST

START_TEST(proxy_failure_refuses_client)
{
    /* Every backend connect() that finds no port refuses its client:
     * backend EADDRNOTAVAIL = client ECONNREFUSED, one for one. */
    Ran r = run_text(PROXY_BASE "[lb f]\nhost = p\naddresses = 10.9.0.1\nports = 443\n"
                                "backends = a\n",
                     NULL);
    gint64 failed = counter(&r, "p.eaddrnotavail");
    ck_assert_int_eq(failed, 3600 - 300);
    ck_assert_int_eq(counter(&r, "w.econnrefused"), failed);
    ck_assert_int_eq(counter(&r, "f.refused_backend_failed"), failed);
    ck_assert_int_eq(counter(&r, "w.successes"), 300);
    ck_assert_int_eq(gauge(&r, "f.backend[a].tuples")->max, 100);
    assert_conserved(&r);
    ran_free(&r);
}
END_TEST

START_TEST(keepalive_reduces_new_connections)
{
    /* 20/s, each client connection held 0.975 s: 20 in use at once, and
     * each frees its backend connection just before the next arrival
     * (with exactly 1 s both would fall on one instant). With a pool of 64
     * and 10 requests per backend connection, a backend connection is
     * opened per 10 client connections, plus one per concurrent slot when
     * the pool is first filled: 3600 / 10 + ~20. The proxy gets 10,000
     * ports so none of the ~380 TIME_WAITs it holds blocks it. */
    Ran r = run_text(PROXY_BASE "[lb f]\nhost = p\naddresses = 10.9.0.1\nports = 443\n"
                                "backends = a\nkeepalive = pool\nkeepalive_pool = 64\n"
                                "keepalive_max_requests = 10\n",
                     (const char *[]){"workload.w.hold=975ms",
                                       "host.p.ephemeral_range=40000-49999", NULL});
    gint64 opened = counter(&r, "f.backend_opened"), reused = counter(&r, "f.backend_reused");
    ck_assert_int_eq(opened + reused, 3600);
    ck_assert_msg(opened >= 360 && opened <= 360 + 22, "opened %" G_GINT64_FORMAT, opened);
    ck_assert_int_eq(counter(&r, "w.failures"), 0);
    assert_conserved(&r);
    ran_free(&r);
}
END_TEST

/* --- per-request backend connections (backend_per = request) ------------- */

#define PROXY_ONE_BACKEND "[lb f]\nhost = p\naddresses = 10.9.0.1\nports = 443\nbackends = a\n"

START_TEST(per_request_backend_connections)
{
    /* 20/s x 180 s = 3600 client connections of 4 requests each, one
     * backend connection per request without keepalive: 14,400 exactly,
     * all answered; the proxy gets 10,000 ports so none fails (at
     * 80/s x 60 s about 4,800 4-tuples sit in TIME_WAIT). */
    const char *const sets[] = {"workload.w.requests=4", "workload.w.service=10ms",
                                "workload.w.delay=1ms", "host.p.ephemeral_range=40000-49999",
                                NULL};
    Ran r = run_text(PROXY_BASE PROXY_ONE_BACKEND "backend_delay = 1ms\n", sets);
    ck_assert_int_eq(counter(&r, "f.frontend_connections"), 3600);
    ck_assert_int_eq(counter(&r, "f.backend_opened"), 3600 * 4);
    ck_assert_int_eq(counter(&r, "f.backend_reused"), 0);
    ck_assert_int_eq(counter(&r, "w.requests_served"), 3600 * 4);
    ck_assert_int_eq(counter(&r, "p.successes"), 3600 * 4);
    ck_assert_int_eq(counter(&r, "w.failures") + counter(&r, "f.http_502"), 0);
    /* The 4-tuples of the last 60 s: 80/s x 60 s, plus the few open. */
    ck_assert_int_ge(gauge(&r, "f.backend[a].tuples")->max, 4800);
    ck_assert_int_le(gauge(&r, "f.backend[a].tuples")->max, 4800 + 4);
    assert_conserved(&r);
    ran_free(&r);
    /* backend_per = connection keeps one per client connection. */
    const char *const conn[] = {"workload.w.requests=4", "workload.w.service=10ms",
                                "workload.w.delay=1ms", "host.p.ephemeral_range=40000-49999",
                                "lb.f.backend_per=connection", NULL};
    r = run_text(PROXY_BASE PROXY_ONE_BACKEND "backend_delay = 1ms\n", conn);
    ck_assert_int_eq(counter(&r, "f.backend_opened"), 3600);
    ck_assert_int_eq(counter(&r, "w.requests_served"), 3600 * 4);
    assert_conserved(&r);
    ran_free(&r);
}
END_TEST

/* Seconds x connections the frontend held client connections open. */
static double frontend_open_s(const char *backend_delay)
{
    g_autofree char *bd = g_strconcat("lb.f.backend_delay=", backend_delay, NULL);
    const char *const sets[] = {"workload.w.requests=4", "workload.w.service=20ms",
                                "workload.w.delay=1ms", "host.p.ephemeral_range=40000-49999",
                                bd, NULL};
    Ran r = run_text(PROXY_BASE PROXY_ONE_BACKEND, sets);
    ck_assert_int_eq(counter(&r, "w.requests_served"), 3600 * 4);
    double s = gauge(&r, "f.flows")->integral / 1e9;
    assert_conserved(&r);
    ran_free(&r);
    return s;
}

START_TEST(per_request_client_waits_for_the_backend)
{
    /* The client sees each answer after the backend's: raising the backend
     * one-way delay by 4 ms lengthens each client connection by 16 x 4 ms:
     * 2 x 4 for the connect before the SYN-ACK, 2 x 4 for the first
     * request's round trip, and 4 x 4 for each of the 3 later requests
     * (a new connect plus the round trip). Summed over 3600 connections:
     * 3600 x 0.064 = 230.4 s (only the held time changes; exact up to
     * nanosecond rounding). */
    double slow = frontend_open_s("5ms"), fast = frontend_open_s("1ms");
    ck_assert_msg(fabs((slow - fast) - 3600 * 0.064) < 1e-3, "difference %.6f s", slow - fast);
}
END_TEST

START_TEST(per_request_keepalive_factor)
{
    /* With a pool larger than the concurrency (at most 2 backend
     * connections in use here) no pooled connection is closed before
     * keepalive_max_requests M except the ones still pooled at the end,
     * at most one per concurrent slot. So
     *   ceil(R / M) <= opened <= R / M + peak in use,
     * R = 3600 x 4 requests: 1440 to 1442 with M = 10, against 14,400
     * without keepalive: the reduction factor is M. */
    const char *const sets[] = {"workload.w.requests=4", "workload.w.service=10ms",
                                "workload.w.delay=1ms", "host.p.ephemeral_range=40000-49999",
                                NULL};
    Ran r = run_text(PROXY_BASE PROXY_ONE_BACKEND "backend_delay = 1ms\nkeepalive = pool\n"
                                                  "keepalive_pool = 64\n"
                                                  "keepalive_max_requests = 10\n",
                     sets);
    gint64 opened = counter(&r, "f.backend_opened"), reused = counter(&r, "f.backend_reused");
    gint64 peak = gauge(&r, "f.backend[a].in_use")->max;
    ck_assert_int_eq(opened + reused, 3600 * 4);
    ck_assert_int_le(peak, 2);
    ck_assert_msg(opened >= 1440 && opened <= 1440 + peak, "opened %" G_GINT64_FORMAT, opened);
    ck_assert_int_eq(counter(&r, "w.requests_served"), 3600 * 4);
    assert_conserved(&r);
    ran_free(&r);
    /* The same bound under Poisson arrivals and service: a connection is
     * opened only when the pool is empty, so at most `peak in use` are
     * alive at once, and with a pool above that and an idle timeout longer
     * than the run none closes before M requests except those alive at
     * the end: R / M <= opened <= R / M + peak. */
    const char *const poisson[] = {"workload.w.requests=4", "workload.w.service=exp(20ms)",
                                   "workload.w.delay=1ms", "workload.w.arrival=poisson",
                                   "workload.w.rate=50/s", "host.p.ephemeral_range=40000-49999",
                                   NULL};
    r = run_text(PROXY_BASE PROXY_ONE_BACKEND "backend_delay = 1ms\nkeepalive = pool\n"
                                              "keepalive_pool = 64\nkeepalive_idle_timeout = 1h\n"
                                              "keepalive_max_requests = 50\n",
                 poisson);
    gint64 uses = counter(&r, "w.requests_served");
    opened = counter(&r, "f.backend_opened");
    peak = gauge(&r, "f.backend[a].in_use")->max;
    ck_assert_int_eq(opened + counter(&r, "f.backend_reused"), uses);
    ck_assert_int_lt(peak, 64);
    ck_assert_msg(opened * 50 >= uses && opened <= uses / 50 + peak,
                  "opened %" G_GINT64_FORMAT " for %" G_GINT64_FORMAT " requests, peak %" G_GINT64_FORMAT,
                  opened, uses, peak);
    ck_assert_int_eq(counter(&r, "w.failures"), 0);
    assert_conserved(&r);
    ran_free(&r);
}
END_TEST

static double first_failure_s(const char *requests)
{
    g_autofree char *rq = g_strconcat("workload.w.requests=", requests, NULL);
    const char *const sets[] = {rq, "workload.w.service=10ms", "workload.w.delay=1ms",
                                "host.p.ephemeral_range=40000-40499", NULL};
    Ran r = run_text(PROXY_BASE "[lb f]\nhost = p\naddresses = 10.9.0.1\nports = 443\n"
                                "backends = a, b\nbackend_delay = 1ms\n",
                     sets);
    PsTotals t;
    ps_network_totals(ps_run_network(r.run), &t);
    /* explain agrees: range x backends / (rate x requests). */
    g_autoptr(GPtrArray) th = ps_theory_hosts(r.scenario);
    for (guint i = 0; i < th->len; i++) {
        const PsHostTheory *h = th->pdata[i];
        if (strcmp(h->host, "p") == 0)
            ck_assert_msg(fabs(h->first_failure_s - 1000.0 / (20 * atof(requests))) < 1e-6,
                          "explain %.3f s", h->first_failure_s);
    }
    assert_conserved(&r);
    ran_free(&r);
    return sim_time_to_seconds(t.first_failure);
}

START_TEST(per_request_exhausts_faster)
{
    /* 500 ports toward each of 2 backends, nothing leaves TIME_WAIT before
     * 60 s: the proxy's K = 1000 4-tuples last K / (rate x requests), 50 s
     * with 1 request per client connection and 12.5 s with 4 (both below
     * 60 s). The run fails within one arrival gap (50 ms) of it: the first
     * 1000 uses alternate over the backends, and the 1001st is the first
     * request of a connection (SYN at 1 ms after its arrival). */
    double one = first_failure_s("1"), four = first_failure_s("4");
    ck_assert_msg(fabs(one - 50.0) < 0.05, "requests = 1: %.3f s", one);
    ck_assert_msg(fabs(four - 12.5) < 0.05, "requests = 4: %.3f s", four);
    ck_assert_msg(fabs(one / four - 4) < 0.02, "ratio %.4f", one / four);
}
END_TEST

START_TEST(per_request_errors)
{
    /* Backend a goes down at 30 s; 20/s constant, 4 requests of 1 s each.
     * Connection k (arriving at 0.05k s) picks backends for its requests 2,
     * 3, 4 at 1.009, 2.015 and 3.021 s after arrival (1 ms + 2 ms connect
     * + 2 ms to the request, 1 s + 2 ms round trip, 2 ms to the next, a
     * 2 ms connect each time after the first). Those admitted before 30 s
     * with a pick after 30 s get one 502 each and stop: arrivals from 27.0
     * to 29.95 s, 60 connections: 20 after 3 answers, 20 after 2 and 20
     * after 1; the 540 before are fully served. New ones from 30 s are
     * refused at SYN. */
    const char *const sets[] = {"workload.w.requests=4", "workload.w.service=1s",
                                "workload.w.delay=1ms", "host.p.ephemeral_range=40000-49999",
                                "scenario.duration=60s", NULL};
    Ran r = run_text(PROXY_BASE PROXY_ONE_BACKEND "backend_delay = 1ms\ndown_at = a@30s\n", sets);
    ck_assert_int_eq(counter(&r, "f.http_502"), 60);
    ck_assert_int_eq(counter(&r, "w.requests_served"), 540 * 4 + 20 * 3 + 20 * 2 + 20 * 1);
    ck_assert_int_eq(counter(&r, "w.successes"), 600);
    ck_assert_int_eq(counter(&r, "f.refused_no_backend"), counter(&r, "w.econnrefused"));
    assert_conserved(&r);
    ran_free(&r);
    /* Port exhaustion under Poisson arrivals: a backend EADDRNOTAVAIL is a
     * refused SYN (first request) or a 502 (a later one), one for one; a
     * connection with a 502 had 1 to 3 requests answered before it. */
    const char *const ex[] = {"workload.w.requests=4", "workload.w.service=exp(10ms)",
                              "workload.w.delay=1ms", "workload.w.arrival=poisson", NULL};
    r = run_text(PROXY_BASE PROXY_ONE_BACKEND "backend_delay = 1ms\n", ex);
    gint64 e502 = counter(&r, "f.http_502"), refused = counter(&r, "f.refused_backend_failed");
    gint64 ok = counter(&r, "w.successes"), served = counter(&r, "w.requests_served");
    ck_assert_int_gt(e502, 0);
    ck_assert_int_eq(counter(&r, "p.eaddrnotavail"), refused + e502);
    ck_assert_int_eq(counter(&r, "w.econnrefused"), refused);
    ck_assert_int_ge(served, 4 * (ok - e502) + e502);
    ck_assert_int_le(served, 4 * (ok - e502) + 3 * e502);
    assert_conserved(&r);
    ran_free(&r);
}
END_TEST

START_TEST(keepalive_idle_expiry_after_record_reuse)
{
    /* A pooled backend connection closed early (the pool of 4 overflows)
     * keeps its idle timer; with linger0 its record is recycled at once,
     * possibly for a client connection, and the timer must then find
     * nothing to close (it once aborted on it). RST: no TIME_WAIT. */
    Ran r = run_text(PROXY_BASE "[lb f]\nhost = p\naddresses = 10.9.0.1\nports = 443\n"
                                "backends = a, b\nkeepalive = pool\nkeepalive_pool = 4\n",
                     (const char *[]){"host.p.linger0=true", "workload.w.hold=exp(200ms)",
                                      "workload.w.arrival=poisson", "workload.w.rate=50/s",
                                      "workload.w.delay=5ms", "host.p.ephemeral_range=40000-49999",
                                      NULL});
    ck_assert_int_gt(counter(&r, "f.backend_reused"), 0);
    ck_assert_int_eq(gauge(&r, "p.time_wait")->max, 0);
    ck_assert_int_eq(counter(&r, "w.failures"), 0);
    assert_conserved(&r);
    ran_free(&r);
}
END_TEST

START_TEST(time_wait_on_the_closer_of_each_leg)
{
    const char *lb = PROXY_BASE "[lb f]\nhost = p\naddresses = 10.9.0.1\nports = 443\n"
                                "backends = a\n";
    /* Client closes the front leg, the proxy the backend leg. */
    Ran r = run_text(lb, (const char *[]){"workload.w.rate=1/s", NULL});
    ck_assert_int_gt(gauge(&r, "c.time_wait")->max, 0);
    ck_assert_int_gt(gauge(&r, "p.time_wait")->max, 0);
    ck_assert_int_eq(gauge(&r, "f.time_wait")->max, 0);
    ck_assert_int_eq(gauge(&r, "a.time_wait")->max, 0);
    assert_conserved(&r);
    ran_free(&r);
    /* The proxy closes the front leg, the backend its leg. */
    r = run_text(lb, (const char *[]){"workload.w.rate=1/s", "workload.w.closer=server",
                                      "lb.f.backend_closer=backend", NULL});
    ck_assert_int_eq(gauge(&r, "c.time_wait")->max, 0);
    ck_assert_int_eq(gauge(&r, "p.time_wait")->max, 0);
    ck_assert_int_gt(gauge(&r, "f.time_wait")->max, 0);
    ck_assert_int_gt(gauge(&r, "a.time_wait")->max, 0);
    assert_conserved(&r);
    ran_free(&r);
}
END_TEST

START_TEST(backend_down_up_moves_traffic)
{
    /* 10/s round robin over a and b for 30 s; a is down from 10 s to 20 s:
     * a gets half of the first and last 10 s (50 + 50), b the rest. */
    const char *ini = "[scenario]\nduration = 30s\n"
                      "[host c]\naddresses = 10.0.0.1\n"
                      "[server a]\naddresses = 10.1.0.1\nports = 80\n"
                      "[server b]\naddresses = 10.1.0.2\nports = 80\n"
                      "[lb f]\nmode = l4\naddresses = 10.9.0.1\nports = 80\nbackends = a, b\n"
                      "down_at = a@10s\nup_at = a@20s\n"
                      "[workload w]\nhost = c\ntarget = lb f\nrate = 10/s\nhold = 0s\n";
    Ran r = run_text(ini, NULL);
    gint64 a = counter(&r, "f.backend[a].chosen"), b = counter(&r, "f.backend[b].chosen");
    ck_assert_int_eq(a + b, 300);
    ck_assert_msg(llabs(a - 100) <= 1, "a chosen %" G_GINT64_FORMAT, a);
    ck_assert_int_eq(counter(&r, "w.failures"), 0);
    /* l4: no proxy ports; flows were counted against the backends. */
    ck_assert_int_eq(gauge(&r, "f.backend[a].in_use")->value, 0);
    ck_assert_int_gt(gauge(&r, "f.backend[b].in_use")->max, 0);
    assert_conserved(&r);
    ran_free(&r);
    /* Everything down: refused with RST, ECONNREFUSED at the client. */
    r = run_text(ini, (const char *[]){"lb.f.down_at=a@0s, b@0s", "lb.f.up_at=a@30s", NULL});
    ck_assert_int_eq(counter(&r, "w.econnrefused"), 300);
    ck_assert_int_eq(counter(&r, "f.refused_no_backend"), 300);
    assert_conserved(&r);
    ran_free(&r);
}
END_TEST

START_TEST(deterministic)
{
    /* Same scenario and seed: the same draws (random balancing, Poisson
     * arrivals, keepalive reuse), the same counts. */
    const char *lb = PROXY_BASE "[lb f]\nhost = p\naddresses = 10.9.0.1\nports = 443\n"
                                "backends = a, b\nalgorithm = power-of-two\nkeepalive = pool\n"
                                "keepalive_pool = 3\n";
    const char *ov[] = {"workload.w.arrival=poisson", "workload.w.hold=exp(300ms)", NULL};
    /* Forwarding each request: the balancer and service draws per request. */
    const char *req[] = {"workload.w.arrival=poisson", "workload.w.hold=exp(300ms)",
                         "workload.w.requests=3", "workload.w.service=exp(20ms)", NULL};
    const char *const *sets[] = {ov, req};
    for (int s = 0; s < 2; s++) {
        gint64 v[2][5];
        for (int k = 0; k < 2; k++) {
            Ran r = run_text(lb, sets[s]);
            v[k][0] = counter(&r, "f.backend[a].chosen");
            v[k][1] = counter(&r, "f.backend_opened");
            v[k][2] = counter(&r, "p.successes");
            v[k][3] = (gint64)sim_engine_events_run(ps_run_engine(r.run));
            v[k][4] = counter(&r, "w.requests_served");
            ran_free(&r);
        }
        for (int i = 0; i < 5; i++)
            ck_assert_int_eq(v[0][i], v[1][i]);
        ck_assert_int_gt(v[0][0], 0);
    }
}
END_TEST

START_TEST(backlog_drops_syns)
{
    /* 100/s toward a server 100 ms away keeps 100 x 0.2 s = 20 half-open
     * connections; a backlog of 2 admits at most 2 per 0.2 s = 10/s: the
     * rest are dropped and their SYNs retransmitted 1 s later. */
    const char *ini = "[scenario]\nduration = 10s\n"
                      "[host c]\naddresses = 10.0.0.1\n"
                      "[server s]\naddresses = 10.1.0.1\nports = 80\nbacklog = 2\n"
                      "[workload w]\nhost = c\ntarget = s\nrate = 100/s\nhold = 0s\n"
                      "delay = 100ms\nconnect_timeout = 3s\n";
    Ran r = run_text(ini, NULL);
    gint64 drops = counter(&r, "s.syn_drops");
    gint64 ok = counter(&r, "w.successes");
    ck_assert_int_gt(drops, 0);
    ck_assert_int_gt(counter(&r, "w.syn_retransmits"), 0);
    /* Every accepted SYN keeps a slot for 2 x 100 ms; over the 10 s plus
     * the 3 s the last attempts may still retry. */
    ck_assert_int_le(ok, 2 * (13 * 1000 / 200) + 2);
    ck_assert_int_gt(counter(&r, "w.etimedout"), 0);
    assert_conserved(&r);
    ran_free(&r);
}
END_TEST

static Ran run_file(const char *name)
{
    const char *root = g_getenv("PORTSIM_SOURCE_ROOT");
    ck_assert_msg(root != NULL, "PORTSIM_SOURCE_ROOT is not set (run through meson test)");
    g_autofree char *path = g_build_filename(root, "scenarios", name, NULL);
    GError *error = NULL;
    SimScenario *sc = sim_scenario_load_file(schema, path, NULL, &error);
    ck_assert_msg(sc != NULL, "load failed: %s", error ? error->message : "?");
    PsRun *run = ps_run_new(sc, 0, &error);
    ck_assert_msg(run != NULL, "build failed: %s", error ? error->message : "?");
    ck_assert(ps_run_execute(run));
    return (Ran){sc, run};
}

START_TEST(library_scenarios)
{
    /* proxy-single-backend: Poisson 600/s fills 28,232 proxy 4-tuples
     * after about 28,232 / 600 = 47 s (TIME_WAIT is 60 s, so none has
     * expired by then); the same load with keepalive never fails. */
    Ran r = run_file("proxy-single-backend.ini");
    PsTotals t;
    ps_network_totals(ps_run_network(r.run), &t);
    double first = sim_time_to_seconds(t.first_failure);
    ck_assert_msg(fabs(first - 28232.0 / 600) < 2, "first failure %.2f s", first);
    /* `portsim explain` sees the proxy leg: one destination, K / T with
     * T = 60 s + half a 2.048 s tick + the connection's ~0.1 s, and the
     * same first failure as the run within the Poisson noise. */
    g_autoptr(GPtrArray) th = ps_theory_hosts(r.scenario);
    const PsHostTheory *proxy = NULL;
    for (guint i = 0; i < th->len; i++)
        if (strcmp(((PsHostTheory *)th->pdata[i])->host, "proxy") == 0)
            proxy = th->pdata[i];
    ck_assert_ptr_nonnull(proxy);
    ck_assert_uint_eq(proxy->destinations, 1);
    ck_assert_msg(fabs(proxy->sustainable_per_s - 28232 / 61.13) < 1, "K/T %.2f",
                  proxy->sustainable_per_s);
    ck_assert_msg(fabs(proxy->first_failure_s - first) < 1, "theory %.2f s vs run %.2f s",
                  proxy->first_failure_s, first);
    ck_assert_int_eq(counter(&r, "shoppers.econnrefused"), counter(&r, "proxy.eaddrnotavail"));
    ck_assert_int_gt(counter(&r, "proxy.eaddrnotavail"), 0);
    assert_conserved(&r);
    ran_free(&r);
    /* proxy-per-request: 150/s x 4 requests = the same 600 backend
     * connections/s, the same first failure; explain sees 600/s. Later
     * requests finding no port are 502s, first ones refused SYNs. */
    r = run_file("proxy-per-request.ini");
    ps_network_totals(ps_run_network(r.run), &t);
    first = sim_time_to_seconds(t.first_failure);
    ck_assert_msg(fabs(first - 28232.0 / 600) < 2, "first failure %.2f s", first);
    g_autoptr(GPtrArray) th2 = ps_theory_hosts(r.scenario);
    proxy = NULL;
    for (guint i = 0; i < th2->len; i++)
        if (strcmp(((PsHostTheory *)th2->pdata[i])->host, "proxy") == 0)
            proxy = th2->pdata[i];
    ck_assert_ptr_nonnull(proxy);
    ck_assert_msg(fabs(proxy->first_failure_s - 28232.0 / 600) < 1e-6, "theory %.2f s",
                  proxy->first_failure_s);
    ck_assert_msg(fabs(proxy->first_failure_s - first) < 1, "theory %.2f s vs run %.2f s",
                  proxy->first_failure_s, first);
    ck_assert_int_gt(counter(&r, "front.http_502"), 0);
    ck_assert_int_eq(counter(&r, "proxy.eaddrnotavail"),
                     counter(&r, "front.refused_backend_failed") + counter(&r, "front.http_502"));
    assert_conserved(&r);
    ran_free(&r);
    r = run_file("proxy-keepalive-fix.ini");
    ps_network_totals(ps_run_network(r.run), &t);
    ck_assert_int_eq(t.failures, 0);
    ck_assert_int_gt(counter(&r, "front.backend_reused"), 50 * counter(&r, "front.backend_opened"));
    assert_conserved(&r);
    ran_free(&r);
    r = run_file("lb-backend-failure.ini");
    ps_network_totals(ps_run_network(r.run), &t);
    ck_assert_int_gt(t.first_failure, 60 * SIM_S);
    ck_assert_int_gt(counter(&r, "front.refused_backend_failed"), 0);
    /* The survivors' (source, endpoint) budgets filled; b's never did. */
    ck_assert_int_eq(gauge(&r, "front.backend[a].tuples")->max, 28232);
    ck_assert_int_eq(gauge(&r, "front.backend[c].tuples")->max, 28232);
    ck_assert_int_lt(gauge(&r, "front.backend[b].tuples")->max, 28232);
    assert_conserved(&r);
    ran_free(&r);
}
END_TEST

START_TEST(saturated_server_holds_longer)
{
    /* A server serving one connection at a time, 2 connections/s each
     * held 1 s (D/D/1 at load 2): connection k arrives at 0.5k and is
     * served from k to k + 1, so it waited 0.5k: 19 of the 20 waited, the
     * longest 9.5 s, 5 s on average; at 9.5 s, 20 have arrived and 9 have
     * closed, so the client holds 11 open 4-tuples where an unsaturated
     * server would leave it 2 or 3. */
    const char *ini = "[scenario]\nduration = 10s\n"
                      "[host c]\naddresses = 10.0.0.1\n"
                      "[server s]\naddresses = 10.1.0.1\nports = 80\nmax_connections = 1\n"
                      "[workload w]\nhost = c\ntarget = s\nrate = 2/s\nhold = 1s\n";
    Ran r = run_text(ini, NULL);
    SimHistogram *h = sim_stats_histogram(sim_engine_stats(ps_run_engine(r.run)), "s.accept_wait");
    ck_assert_uint_eq(sim_histogram_count(h), 19);
    ck_assert_double_eq_tol(sim_histogram_max(h), 9.5, 1e-9);
    ck_assert_double_eq_tol(sim_histogram_mean(h), 5.0, 1e-9);
    ck_assert_int_eq(gauge(&r, "c.active")->max, 11);
    ck_assert_int_eq(counter(&r, "w.failures"), 0);
    assert_conserved(&r);
    ran_free(&r);
    /* Unsaturated: 2 open, 3 at the instants where an arrival comes
     * before the close it coincides with. */
    r = run_text(ini, (const char *[]){"server.s.max_connections=1000", NULL});
    ck_assert_int_eq(gauge(&r, "c.active")->max, 3);
    ran_free(&r);
}
END_TEST

START_TEST(bad_lb_input)
{
    const char *base = "[scenario]\nduration = 10s\n[host c]\naddresses = 10.0.0.1\n"
                       "[server a]\naddresses = 10.1.0.1\nports = 80\n"
                       "[workload w]\nhost = c\ntarget = lb f\n";
    struct {
        const char *lb;
        const char *needle;
    } cases[] = {
        {"[lb f]\nmode = l4\naddresses = 10.9.0.1\nports = 80\nbackends = a, nope\n",
         "\"nope\": no such [server] section"},
        {"[lb f]\naddresses = 10.9.0.1\nports = 80\nbackends = a\n", "needs `host = NAME`"},
        {"[lb f]\nmode = l4\naddresses = 10.9.0.1\nports = 80\nbackends = a\nweights = 1, 2\n",
         "2 weights for 1 backends"},
        {"[lb f]\nmode = l4\naddresses = 10.9.0.1\nports = 80\nbackends = a\ndown_at = z@1s\n",
         "BACKEND@TIME"},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *ini = g_strconcat(base, cases[i].lb, NULL);
        GError *error = NULL;
        SimScenario *sc = sim_scenario_load_data(schema, ini, "t.ini", NULL, &error);
        ck_assert_msg(sc != NULL, "%s", error ? error->message : "");
        PsRun *run = ps_run_new(sc, 0, &error);
        ck_assert_msg(run == NULL, "case %u built", i);
        ck_assert(g_error_matches(error, SIM_ERROR, SIM_ERROR_INPUT));
        ck_assert_msg(strstr(error->message, cases[i].needle) && strstr(error->message, "t.ini:"),
                      "case %u: %s", i, error->message);
        g_error_free(error);
        sim_scenario_free(sc);
    }
}
END_TEST

static Suite *lb_suite(void)
{
    Suite *s = suite_create("lb");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, round_robin_exact);
    tcase_add_test(tc, weighted_round_robin_proportions);
    tcase_add_test(tc, random_within_tolerance);
    tcase_add_test(tc, power_of_two_beats_random);
    tcase_add_test(tc, least_connections_picks_lightest);
    tcase_add_test(tc, consistent_hash_moves_one_nth);
    tcase_add_test(tc, source_hash_is_sticky);
    tcase_add_test(tc, deterministic);
    tcase_add_test(tc, proxy_capacity_per_destination);
    tcase_add_test(tc, proxy_failure_refuses_client);
    tcase_add_test(tc, keepalive_reduces_new_connections);
    tcase_add_test(tc, keepalive_idle_expiry_after_record_reuse);
    tcase_add_test(tc, time_wait_on_the_closer_of_each_leg);
    tcase_add_test(tc, backend_down_up_moves_traffic);
    tcase_add_test(tc, backlog_drops_syns);
    tcase_add_test(tc, bad_lb_input);
    tcase_add_test(tc, saturated_server_holds_longer);
    tcase_add_test(tc, library_scenarios);
    tcase_add_test(tc, per_request_backend_connections);
    tcase_add_test(tc, per_request_client_waits_for_the_backend);
    tcase_add_test(tc, per_request_keepalive_factor);
    tcase_add_test(tc, per_request_exhausts_faster);
    tcase_add_test(tc, per_request_errors);
    suite_add_tcase(s, tc);
    return s;
}

PS_TEST_MAIN(lb_suite)
