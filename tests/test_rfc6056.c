/* RFC 6056 Algorithms 2-5 against their written definitions (the sequence
 * of ports for a fixed key and state, replayed here from the RFC's
 * pseudo-code), allocator_params, and the blocking of bounded random probes
 * against Erlang B. */
#include <math.h>
#include <string.h>

#include "alloc_builtin.h"
#include "allocator.h"
#include "keys.h"
#include "port_pool.h"
#include "run.h"
#include "sim_error.h"
#include "test_util.h"

static const SimAddress local_addr = {4, {10, 0, 0, 1}};
static const SimAddress remote_a = {4, {192, 0, 2, 1}};
static const SimAddress remote_b = {4, {192, 0, 2, 2}};

#define SEED 7

static void seed_rng(SimRng *rng) { sim_rng_seed(rng, SEED, "test-rfc6056", 0); }

static PsAllocator *make(const char *name, uint16_t lo, uint16_t hi, const char *params)
{
    SimRng rng;
    seed_rng(&rng);
    GError *error = NULL;
    PsAllocator *a =
        ps_allocator_new_full(ps_allocator_class_find(name), lo, hi, &rng, params, &error);
    ck_assert_msg(a != NULL, "%s(%s): %s", name, params, error ? error->message : "?");
    return a;
}

static int take_c(PsAllocator *a, PsPortPool *pool, const SimAddress *remote, uint16_t rport,
                  uint32_t *probes)
{
    PsAllocRequest req = {.mode = PS_ALLOC_CONNECT, .local = &local_addr, .remote = remote,
                          .remote_port = rport};
    return ps_allocator_take(a, pool, ps_pool_dest(pool, remote, rport), &req, probes);
}

/* ---- Algorithm 2 ---- */

START_TEST(test_random_pick_sequence)
{
    const uint16_t lo = 1000, hi = 1009; /* num_ephemeral = 10 */
    PsAllocator *a = make("random-pick", lo, hi, NULL);
    PsPortPool *pool = ps_pool_new(lo, hi);
    SimRng replay;
    seed_rng(&replay);
    /* Every try draws min + random() % num; a port already taken toward
     * this destination is refused and costs one more draw. */
    gboolean busy[10] = {FALSE};
    for (int i = 0; i < 8; i++) {
        uint32_t probes, want_probes = 0;
        int want;
        do {
            want = lo + (int)sim_rng_below(&replay, 10);
            want_probes++;
        } while (busy[want - lo]);
        busy[want - lo] = TRUE;
        int got = take_c(a, pool, &remote_a, 443, &probes);
        ck_assert_int_eq(got, want);
        ck_assert_uint_eq(probes, want_probes);
    }
    ps_allocator_free(a);
    ps_pool_free(pool);
}
END_TEST

START_TEST(test_random_pick_fails_with_free_ports)
{
    /* One free port of 10 and 3 tries: the draws miss it most of the time
     * ((9/10)^3 = 73%), although a port is free. */
    const uint16_t lo = 1000, hi = 1009;
    PsAllocator *a = make("random-pick", lo, hi, "max_tries=3");
    PsPortPool *pool = ps_pool_new(lo, hi);
    PsDestId d = ps_pool_dest(pool, &remote_a, 443);
    for (uint16_t p = lo; p < hi; p++)
        ps_pool_connect_take(pool, d, p);
    int failed = 0, ok = 0;
    for (int i = 0; i < 200; i++) {
        uint32_t probes;
        int port = take_c(a, pool, &remote_a, 443, &probes);
        if (port < 0) {
            failed++;
            if (probes != 3)
                ck_abort_msg("a failure costs max_tries = 3 probes, not %u", probes);
        } else {
            ok++;
            if (port != hi)
                ck_abort_msg("only %u is free, got %d", hi, port);
            ps_pool_connect_release(pool, d, hi);
        }
    }
    /* 200 Bernoulli(0.729) trials: mean 146, sd 6.3; 6 sd either side. */
    ck_assert_msg(failed > 108 && failed < 184, "%d failures", failed);
    ck_assert_int_gt(ok, 0);
    ps_allocator_free(a);
    ps_pool_free(pool);
}
END_TEST

/* ---- Algorithm 3 ---- */

START_TEST(test_hash_sequence)
{
    const uint16_t lo = 2000, hi = 2099; /* num = 100 */
    const uint64_t key = 0x1234abcd;
    PsAllocator *a = make("hash", lo, hi, "key=0x1234abcd");
    PsPortPool *pool = ps_pool_new(lo, hi);
    uint64_t off_a = ps_alloc_flow_hash(key, 0, &local_addr, &remote_a, 443) & 0xffffffffu;
    uint64_t off_b = ps_alloc_flow_hash(key, 0, &local_addr, &remote_b, 443) & 0xffffffffu;
    ck_assert_uint_ne(off_a % 100, off_b % 100); /* the check below needs them apart */
    uint64_t next = 0; /* next_ephemeral, global, +1 per try */
    uint32_t probes;
    for (int i = 0; i < 5; i++) {
        int want = lo + (int)((next + off_a) % 100);
        next++;
        ck_assert_int_eq(take_c(a, pool, &remote_a, 443, &probes), want);
        ck_assert_uint_eq(probes, 1);
    }
    /* Another destination continues the same counter from its own offset. */
    int want_b = lo + (int)((next + off_b) % 100);
    next++;
    ck_assert_int_eq(take_c(a, pool, &remote_b, 443, &probes), want_b);
    /* A busy candidate costs a try and still moves the counter: take the
     * port the next pick toward A would choose, and the one after it. */
    PsDestId da = ps_pool_dest(pool, &remote_a, 443);
    ps_pool_connect_take(pool, da, (uint16_t)(lo + (next + off_a) % 100));
    ps_pool_connect_take(pool, da, (uint16_t)(lo + (next + 1 + off_a) % 100));
    int want = lo + (int)((next + 2 + off_a) % 100);
    next += 3;
    ck_assert_int_eq(take_c(a, pool, &remote_a, 443, &probes), want);
    ck_assert_uint_eq(probes, 3);
    ck_assert_int_eq(take_c(a, pool, &remote_a, 443, &probes),
                     lo + (int)((next + off_a) % 100));
    ps_allocator_free(a);
    ps_pool_free(pool);
}
END_TEST

/* ---- Algorithm 4 ---- */

START_TEST(test_double_hash_sequence)
{
    const uint16_t lo = 3000, hi = 3999; /* num = 1000 */
    const uint64_t key = 99;
    const uint32_t len = 4;
    PsAllocator *a = make("double-hash", lo, hi, "table_size=4, key=99");
    PsPortPool *pool = ps_pool_new(lo, hi);
    /* Replay the state: the secrets are drawn first (then pinned by key),
     * then table[i] = random() % 65536. */
    SimRng replay;
    seed_rng(&replay);
    for (int i = 0; i < 4; i++)
        (void)sim_rng_next(&replay);
    uint64_t table[4];
    for (uint32_t i = 0; i < len; i++)
        table[i] = sim_rng_below(&replay, 65536);
    const SimAddress *remotes[2] = {&remote_a, &remote_b};
    uint64_t off[2], idx[2];
    for (int r = 0; r < 2; r++) {
        off[r] = ps_alloc_flow_hash(key, 0, &local_addr, remotes[r], 443) & 0xffffffffu;
        idx[r] = ps_alloc_flow_hash(key, 1, &local_addr, remotes[r], 443) % len;
    }
    /* Interleave the two destinations: each walks its own table slot
     * (or shares it, when G() puts them in one). */
    for (int i = 0; i < 12; i++) {
        int r = i % 2;
        uint32_t probes;
        int want = lo + (int)((off[r] + table[idx[r]]) % 1000);
        table[idx[r]]++;
        ck_assert_int_eq(take_c(a, pool, remotes[r], 443, &probes), want);
        ck_assert_uint_eq(probes, 1);
    }
    ps_allocator_free(a);
    ps_pool_free(pool);
}
END_TEST

START_TEST(test_double_hash_slots_isolate)
{
    /* Table of 1000 slots: two destinations in different slots each get
     * consecutive ports, whatever the other does. */
    const uint16_t lo = 3000, hi = 3999;
    PsAllocator *a = make("double-hash", lo, hi, "table_size=1000, key=5");
    PsPortPool *pool = ps_pool_new(lo, hi);
    ck_assert_uint_ne(ps_alloc_flow_hash(5, 1, &local_addr, &remote_a, 443) % 1000,
                      ps_alloc_flow_hash(5, 1, &local_addr, &remote_b, 443) % 1000);
    uint32_t probes;
    int prev = take_c(a, pool, &remote_a, 443, &probes);
    for (int i = 0; i < 20; i++) {
        take_c(a, pool, &remote_b, 443, &probes);
        int p = take_c(a, pool, &remote_a, 443, &probes);
        ck_assert_int_eq(p, prev == hi ? lo : prev + 1);
        prev = p;
    }
    ps_allocator_free(a);
    ps_pool_free(pool);
}
END_TEST

/* ---- Algorithm 5 ---- */

START_TEST(test_random_increments_sequence)
{
    const uint16_t lo = 5000, hi = 5999;
    PsAllocator *a = make("random-increments", lo, hi, "max_increment=50");
    PsPortPool *pool = ps_pool_new(lo, hi);
    SimRng replay;
    seed_rng(&replay);
    uint64_t next = sim_rng_below(&replay, 65536);
    int prev = -1;
    for (int i = 0; i < 30; i++) {
        uint32_t probes;
        next += sim_rng_below(&replay, 50) + 1;
        int want = lo + (int)(next % 1000);
        ck_assert_int_eq(take_c(a, pool, &remote_a, 443, &probes), want);
        ck_assert_uint_eq(probes, 1);
        /* Strides are 1..N. */
        if (prev >= 0) {
            int stride = (want - prev + 1000) % 1000;
            ck_assert_int_ge(stride, 1);
            ck_assert_int_le(stride, 50);
        }
        prev = want;
    }
    ps_allocator_free(a);
    ps_pool_free(pool);
}
END_TEST

/* The word scan and the candidate walk agree for Algorithms 3 and 4. */
START_TEST(test_scan_matches_walk)
{
    const char *names[] = {"hash", "double-hash"};
    for (guint n = 0; n < G_N_ELEMENTS(names); n++) {
        PsAllocator *fast = make(names[n], 7000, 7199, "key=3");
        PsAllocator *slow = make(names[n], 7000, 7199, "key=3");
        ps_allocator_set_scan(slow, FALSE);
        PsPortPool *pf = ps_pool_new(7000, 7199), *ps = ps_pool_new(7000, 7199);
        SimRng r;
        sim_rng_seed(&r, 11, "churn", 0);
        for (int i = 0; i < 3000; i++) {
            const SimAddress *remote = sim_rng_below(&r, 2) ? &remote_a : &remote_b;
            uint32_t p1, p2;
            int a = take_c(fast, pf, remote, 443, &p1);
            int b = take_c(slow, ps, remote, 443, &p2);
            if (a != b || p1 != p2)
                ck_abort_msg("%s step %d: scan %d/%u, walk %d/%u", names[n], i, a, p1, b, p2);
            /* Release a random port toward that destination now and then,
             * keeping the pool around 90% full. */
            if (sim_rng_below(&r, 10) < 9) {
                uint16_t port = (uint16_t)(7000 + sim_rng_below(&r, 200));
                PsDestId d = ps_pool_dest(pf, remote, 443);
                if (ps_pool_tuple_in_use(pf, d, port)) {
                    ps_pool_connect_release(pf, d, port);
                    ps_pool_connect_release(ps, ps_pool_dest(ps, remote, 443), port);
                }
            }
        }
        ps_allocator_free(fast);
        ps_allocator_free(slow);
        ps_pool_free(pf);
        ps_pool_free(ps);
    }
}
END_TEST

/* ---- allocator_params ---- */

static void expect_param_error(const char *name, const char *params, const char *needle)
{
    SimRng rng;
    seed_rng(&rng);
    GError *error = NULL;
    PsAllocator *a =
        ps_allocator_new_full(ps_allocator_class_find(name), 1000, 1999, &rng, params, &error);
    ck_assert_msg(a == NULL, "%s(%s) accepted", name, params);
    ck_assert_msg(error && g_error_matches(error, SIM_ERROR, SIM_ERROR_INPUT), "%s", params);
    ck_assert_msg(strstr(error->message, needle), "'%s' lacks '%s'", error->message, needle);
    g_error_free(error);
}

START_TEST(test_params)
{
    expect_param_error("double-hash", "table_sise=10", "no parameter 'table_sise'");
    expect_param_error("double-hash", "table_size=0", "outside 1..");
    expect_param_error("double-hash", "table_size=ten", "not an unsigned integer");
    expect_param_error("random-increments", "max_increment", "not name=value");
    expect_param_error("random-increments", "max_increment=5, max_increment=6", "twice");
    expect_param_error("sequential", "key=1", "takes no parameters");
    expect_param_error("linux", "table_size=10", "has no parameter 'table_size'");
    expect_param_error("linux", "socket_range=2", "outside 0..1");
    expect_param_error("hash", "key=0xZZ", "not an unsigned integer");
    /* Empty text and stray commas are no parameters at all. */
    ps_allocator_free(make("sequential", 1000, 1999, ""));
    ps_allocator_free(make("double-hash", 1000, 1999, " table_size = 16 , "));
}
END_TEST

/* ---- bounded random probes against Erlang B ---- */

static double erlang_b(double load, int servers)
{
    double b = 1.0;
    for (int k = 1; k <= servers; k++)
        b = load * b / (k + load * b);
    return b;
}

/* Mean blocking over `reps` replications of a Poisson workload into one
 * destination: 50 ports, 5/s, exp(10 s) holds, no TIME_WAIT (E = 50 Erl). */
static void blocking(const char *allocator, int reps, double *mean, double *se)
{
    SimSchema *schema = ps_schema_new();
    double sum = 0, sum2 = 0;
    for (int rep = 0; rep < reps; rep++) {
        g_autofree char *ini = g_strdup_printf(
            "[scenario]\nduration = 4000s\nseed = %d\nsample = 10s\n"
            "[host c]\naddresses = 10.0.0.1\nephemeral_range = 40000-40049\ntime_wait = 0s\n"
            "allocator = %s\n"
            "[server s]\naddresses = 10.1.0.1\nports = 443\n"
            "[workload w]\nhost = c\ntarget = server s\narrival = poisson\nrate = 5/s\n"
            "hold = exp(10s)\n",
            rep + 1, allocator);
        GError *error = NULL;
        SimScenario *sc = sim_scenario_load_data(schema, ini, "t.ini", NULL, &error);
        ck_assert_msg(sc != NULL, "%s", error ? error->message : "?");
        PsRun *run = ps_run_new(sc, 0, &error);
        ck_assert_msg(run != NULL, "%s", error ? error->message : "?");
        ck_assert(ps_run_execute(run));
        PsTotals t;
        ps_network_totals(ps_run_network(run), &t);
        double b = (double)t.failures / (double)t.attempts;
        sum += b;
        sum2 += b * b;
        ps_run_free(run);
        sim_scenario_free(sc);
    }
    sim_schema_free(schema);
    *mean = sum / reps;
    *se = sqrt((sum2 - reps * *mean * *mean) / (reps - 1)) / sqrt(reps);
}

/* Algorithm 2 with max_tries = c draws uniformly with repetition, so with k
 * of c ports busy a try fails with probability f(k) = (k/c)^c even when
 * k < c. With Poisson arrivals and exponential holds the pool is then a
 * birth-death chain with admission rate lambda (1 - f(k)): exact blocking
 * sum pi_k f(k), pi_{k+1} = pi_k lambda (1 - f(k)) / ((k+1) mu). */
static double random_pick_blocking(double lambda, double mu, int c)
{
    double pi[c + 1], sum = 0, blocked = 0;
    pi[0] = 1.0;
    for (int k = 0; k < c; k++)
        pi[k + 1] = pi[k] * lambda * (1 - pow((double)k / c, c)) / ((k + 1) * mu);
    for (int k = 0; k <= c; k++)
        sum += pi[k];
    for (int k = 0; k <= c; k++)
        blocked += pi[k] / sum * (k == c ? 1.0 : pow((double)k / c, c));
    return blocked;
}

START_TEST(test_random_pick_blocks_more_than_erlang_b)
{
    double erlang = erlang_b(50.0, 50);                      /* 0.1048 */
    double exact = random_pick_blocking(5.0, 0.1, 50);       /* 0.1130 */
    double full, full_se, pick, pick_se;
    /* A full-scan strategy fails only when no port is free: Erlang B
     * (tolerance as tests/test_network.c check_erlang: 4.5 standard errors,
     * above the 99.9% t quantile, plus 0.3% for the empty start). */
    blocking("double-hash", 12, &full, &full_se);
    ck_assert_msg(fabs(full - erlang) <= 4.5 * full_se + 0.003 * erlang,
                  "double-hash %.5f +- %.5f, Erlang B %.5f", full, full_se, erlang);
    /* Algorithm 2 follows the chain above, 8% above Erlang B; 24
     * replications make the gap ~8 standard errors, so the check can tell
     * the two apart (it fails if the allocator scanned the whole range). */
    blocking("random-pick", 24, &pick, &pick_se);
    ck_assert_msg(fabs(pick - exact) <= 4.5 * pick_se + 0.003 * exact,
                  "random-pick %.5f +- %.5f, model %.5f", pick, pick_se, exact);
    ck_assert_msg(pick > erlang + 4.5 * pick_se, "random-pick %.5f +- %.5f, Erlang B %.5f",
                  pick, pick_se, erlang);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("rfc6056");
    TCase *tc = tcase_create("algorithms");
    tcase_add_test(tc, test_random_pick_sequence);
    tcase_add_test(tc, test_random_pick_fails_with_free_ports);
    tcase_add_test(tc, test_hash_sequence);
    tcase_add_test(tc, test_double_hash_sequence);
    tcase_add_test(tc, test_double_hash_slots_isolate);
    tcase_add_test(tc, test_random_increments_sequence);
    tcase_add_test(tc, test_scan_matches_walk);
    tcase_add_test(tc, test_params);
    suite_add_tcase(s, tc);
    TCase *theory = tcase_create("theory");
    tcase_set_timeout(theory, 600);
    tcase_add_test(theory, test_random_pick_blocks_more_than_erlang_b);
    suite_add_tcase(s, theory);
    return s;
}

PS_TEST_MAIN(suite)
