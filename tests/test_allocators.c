/* Allocators: the registry, the take wrapper, and each built-in strategy's
 * order, probe counts and failure behaviour. */
#include <glib.h>
#include <string.h>

#include "alloc_builtin.h"
#include "allocator.h"
#include "port_pool.h"
#include "test_util.h"

static SimAddress v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    SimAddress s;
    memset(&s, 0, sizeof s);
    s.family = 4;
    s.bytes[0] = a;
    s.bytes[1] = b;
    s.bytes[2] = c;
    s.bytes[3] = d;
    return s;
}

static const SimAddress local_addr = { 4, { 10, 0, 0, 1 } };

static PsAllocator *make(const char *name, uint16_t lo, uint16_t hi, uint64_t seed)
{
    const PsAllocatorClass *k = ps_allocator_class_find(name);
    ck_assert_ptr_nonnull(k);
    SimRng rng;
    sim_rng_seed(&rng, seed, "test-allocator", 0);
    PsAllocator *a = ps_allocator_new(k, lo, hi, &rng);
    ck_assert_ptr_nonnull(a);
    return a;
}

/* connect() toward remote:rport at time now. */
static int take_c(PsAllocator *a, PsPortPool *pool, const SimAddress *remote, uint16_t rport,
                  SimTime now, uint32_t *probes)
{
    PsAllocRequest req = {
        .mode = PS_ALLOC_CONNECT, .local = &local_addr, .remote = remote, .remote_port = rport,
        .now = now};
    PsDestId d = ps_pool_dest(pool, remote, rport);
    return ps_allocator_take(a, pool, d, &req, probes);
}

/* bind(addr, 0). */
static int take_b(PsAllocator *a, PsPortPool *pool, uint32_t *probes)
{
    PsAllocRequest req = {.mode = PS_ALLOC_BIND, .local = &local_addr};
    return ps_allocator_take(a, pool, 0, &req, probes);
}

static guint n_criticals;

static void count_critical(const gchar *domain, GLogLevelFlags level, const gchar *msg,
                           gpointer data)
{
    n_criticals++;
}

/* ---- registry ---- */

START_TEST(test_registry)
{
    static const char *names[] = { "sequential", "random", "random-pick", "hash",
                                   "double-hash", "random-increments", "linux" };
    ck_assert_uint_eq(ps_allocator_n_classes(), G_N_ELEMENTS(names));
    for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
        const PsAllocatorClass *k = ps_allocator_class_at(i);
        ck_assert_str_eq(k->name, names[i]);
        ck_assert_ptr_eq(ps_allocator_class_find(names[i]), k);
        ck_assert_ptr_nonnull(k->help);
        ck_assert_uint_gt(strlen(k->help), 100);
    }
    ck_assert_ptr_null(ps_allocator_class_find("Linux"));
    ck_assert_ptr_null(ps_allocator_class_find(""));
    ck_assert_ptr_null(ps_allocator_class_find(NULL));
    ck_assert_str_eq(ps_allocator_choices(),
                     "sequential|random|random-pick|hash|double-hash|random-increments|linux");
    /* Help texts name their sources. */
    ck_assert_ptr_nonnull(strstr(ps_allocator_class_at(0)->help, "ns-3"));
    ck_assert_ptr_nonnull(strstr(ps_allocator_class_at(1)->help, "RFC 6056"));
    ck_assert_ptr_nonnull(strstr(ps_allocator_class_find("linux")->help, "__inet_hash_connect"));
    for (guint i = 1; i <= 5; i++) {
        g_autofree char *alg = g_strdup_printf("Algorithm %u", i);
        ck_assert_msg(strstr(ps_allocator_class_at(i)->help, alg), "%s", alg);
    }

    PsAllocator *a = make("linux", 1000, 1999, 1);
    ck_assert_str_eq(ps_allocator_name(a), "linux");
    ps_allocator_free(a);
    ps_allocator_free(NULL);
}
END_TEST

/* ---- the wrapper, through a scripted strategy ---- */

typedef struct {
    uint16_t lo, hi;
    int picks;
    int force; /* >= 0: return this port untested; -2: give up; -1: scan */
} ScriptState;

static ScriptState script;

static void *script_create(uint16_t lo, uint16_t hi, SimRng *rng)
{
    script.lo = lo;
    script.hi = hi;
    script.picks = 0;
    script.force = -1;
    return &script;
}

static int script_pick(void *state, const PsAllocRequest *req, PsPortTest test, void *ctx,
                       uint32_t *probes)
{
    ScriptState *st = state;
    st->picks++;
    if (st->force == -2) {
        *probes = 5;
        return -1;
    }
    if (st->force >= 0) {
        *probes = 1;
        return st->force;
    }
    uint32_t n = 0;
    for (guint p = st->lo; p <= st->hi; p++) {
        n++;
        if (test(ctx, (uint16_t)p)) {
            *probes = n;
            return (int)p;
        }
    }
    *probes = n;
    return -1;
}

static uint32_t script_exhausted(void *state, const PsAllocRequest *req) { return 77; }

static const PsAllocatorClass script_class = {
    .name = "script",
    .help = "test",
    .create = script_create,
    .pick = script_pick,
    .exhausted_probes = script_exhausted,
};

START_TEST(test_wrapper)
{
    PsPortPool *pool = ps_pool_new(100, 104);
    PsAllocator *a = ps_allocator_new(&script_class, 100, 104, NULL);
    SimAddress r1 = v4(10, 9, 0, 1), r2 = v4(10, 9, 0, 2);
    uint32_t probes = 999;

    /* connect(): the test callback refuses a bound port. */
    ps_pool_bind_take(pool, 100);
    ck_assert_int_eq(take_c(a, pool, &r1, 80, 0, &probes), 101);
    ck_assert_uint_eq(probes, 2);
    PsDestId d1 = ps_pool_dest(pool, &r1, 80);
    ck_assert(ps_pool_tuple_in_use(pool, d1, 101));
    /* ... and the 4-tuple already in use, but not the same port elsewhere. */
    ck_assert_int_eq(take_c(a, pool, &r1, 80, 0, &probes), 102);
    ck_assert_uint_eq(probes, 3);
    ck_assert_int_eq(take_c(a, pool, &r2, 80, 0, &probes), 101);
    ck_assert_uint_eq(probes, 2);
    /* bind(): the callback refuses any port with a connection; takes it. */
    ck_assert_int_eq(take_b(a, pool, &probes), 103);
    ck_assert_uint_eq(probes, 4);
    ck_assert(ps_pool_is_bound(pool, 103));
    ck_assert_int_eq(script.picks, 4);

    /* A destination with nothing usable fails without asking the strategy. */
    ck_assert_int_eq(take_c(a, pool, &r1, 80, 0, &probes), 104);
    ck_assert_uint_eq(ps_pool_connect_free(pool, d1), 0);
    guint64 tuples = ps_pool_tuples_in_use(pool);
    ck_assert_int_eq(take_c(a, pool, &r1, 80, 0, &probes), -1);
    ck_assert_uint_eq(probes, 77);
    ck_assert_int_eq(script.picks, 5);
    ck_assert_uint_eq(ps_pool_tuples_in_use(pool), tuples);
    /* bind() likewise once every port has some use. */
    ck_assert_uint_eq(ps_pool_bind_free(pool), 0);
    probes = 0;
    ck_assert_int_eq(take_b(a, pool, &probes), -1);
    ck_assert_uint_eq(probes, 77);
    ck_assert_int_eq(script.picks, 5);

    /* A strategy that gives up: -1 with its probe count. */
    ps_pool_connect_release(pool, d1, 102);
    script.force = -2;
    ck_assert_int_eq(take_c(a, pool, &r1, 80, 0, &probes), -1);
    ck_assert_uint_eq(probes, 5);
    ck_assert_int_eq(script.picks, 6);
    ck_assert(!ps_pool_tuple_in_use(pool, d1, 102));

    /* A strategy that returns a refused port is caught, nothing taken. */
    guint handler = g_log_set_handler(NULL, G_LOG_LEVEL_CRITICAL, count_critical, NULL);
    n_criticals = 0;
    script.force = 101; /* in use toward d1 */
    tuples = ps_pool_tuples_in_use(pool);
    ck_assert_int_eq(take_c(a, pool, &r1, 80, 0, &probes), -1);
    ck_assert_uint_eq(n_criticals, 1);
    ck_assert_uint_eq(ps_pool_tuples_in_use(pool), tuples);
    g_log_remove_handler(NULL, handler);

    ps_allocator_free(a);
    ps_pool_free(pool);
}
END_TEST

/* ---- sequential ---- */

START_TEST(test_sequential_next_fit)
{
    PsPortPool *pool = ps_pool_new(1000, 1009);
    PsAllocator *a = make("sequential", 1000, 1009, 1);
    SimAddress r = v4(10, 9, 0, 1);
    PsDestId d = ps_pool_dest(pool, &r, 80);
    uint32_t probes;

    ck_assert_int_eq(take_c(a, pool, &r, 80, 0, &probes), 1000);
    ck_assert_uint_eq(probes, 1);
    ck_assert_int_eq(take_c(a, pool, &r, 80, 0, &probes), 1001);
    ck_assert_uint_eq(probes, 1);
    /* Busy ports ahead are probed one by one. */
    ps_pool_connect_take(pool, d, 1002);
    ps_pool_bind_take(pool, 1003);
    ck_assert_int_eq(take_c(a, pool, &r, 80, 0, &probes), 1004);
    ck_assert_uint_eq(probes, 3);
    /* A freed port behind the cursor is not revisited: next-fit, not first-fit. */
    ps_pool_connect_release(pool, d, 1000);
    ck_assert_int_eq(take_c(a, pool, &r, 80, 0, &probes), 1005);
    ck_assert_uint_eq(probes, 1);
    for (int p = 1006; p <= 1009; p++)
        ck_assert_int_eq(take_c(a, pool, &r, 80, 0, &probes), p);
    /* After the top, wrap to lo. */
    ck_assert_int_eq(take_c(a, pool, &r, 80, 0, &probes), 1000);
    ck_assert_uint_eq(probes, 1);
    /* Free 1002 only: the walk from 1001 crosses 1001 and reaches it. */
    ps_pool_connect_release(pool, d, 1002);
    ck_assert_int_eq(take_c(a, pool, &r, 80, 0, &probes), 1002);
    ck_assert_uint_eq(probes, 2);
    /* Free 1001 only: from 1003 the walk wraps round to it, 9 candidates. */
    ps_pool_connect_release(pool, d, 1001);
    ck_assert_int_eq(take_c(a, pool, &r, 80, 0, &probes), 1001);
    ck_assert_uint_eq(probes, 9);
    /* Full: -1 at once, charged the range size. */
    ck_assert_int_eq(take_c(a, pool, &r, 80, 0, &probes), -1);
    ck_assert_uint_eq(probes, 10);
    ps_allocator_free(a);
    ps_pool_free(pool);
}
END_TEST

START_TEST(test_sequential_shared_cursor_and_bind)
{
    PsPortPool *pool = ps_pool_new(2000, 2004);
    PsAllocator *a = make("sequential", 2000, 2004, 1);
    SimAddress r1 = v4(10, 9, 0, 1), r2 = v4(10, 9, 0, 2);
    uint32_t probes;
    /* One cursor for all destinations: r2 does not restart at 2000. */
    ck_assert_int_eq(take_c(a, pool, &r1, 80, 0, &probes), 2000);
    ck_assert_int_eq(take_c(a, pool, &r2, 80, 0, &probes), 2001);
    ck_assert_int_eq(take_c(a, pool, &r1, 80, 0, &probes), 2002);
    /* bind() moves the same cursor and takes the port exclusively. */
    ck_assert_int_eq(take_b(a, pool, &probes), 2003);
    ck_assert_uint_eq(probes, 1);
    ck_assert(ps_pool_is_bound(pool, 2003));
    /* bind() skips ports with connections: wraps past 2000..2003. */
    ck_assert_int_eq(take_b(a, pool, &probes), 2004);
    ck_assert_int_eq(take_b(a, pool, &probes), -1);
    ck_assert_uint_eq(probes, 5);
    /* r2 may still share 2000 and 2002, never the bound 2003/2004. */
    ck_assert_int_eq(take_c(a, pool, &r2, 80, 0, &probes), 2000);
    ck_assert_uint_eq(probes, 1);
    ck_assert_int_eq(take_c(a, pool, &r2, 80, 0, &probes), 2002);
    ck_assert_uint_eq(probes, 2);
    ck_assert_int_eq(take_c(a, pool, &r2, 80, 0, &probes), -1);
    ck_assert_uint_eq(probes, 5);
    ps_allocator_free(a);
    ps_pool_free(pool);
}
END_TEST

/* ---- random ---- */

START_TEST(test_random_fills_range)
{
    PsPortPool *pool = ps_pool_new(5000, 5099);
    PsAllocator *a = make("random", 5000, 5099, 7);
    SimAddress r = v4(10, 9, 0, 1);
    gboolean seen[100] = { FALSE };
    uint32_t probes, max_probes = 0;
    for (int n = 0; n < 100; n++) {
        int p = take_c(a, pool, &r, 80, 0, &probes);
        ck_assert_int_ge(p, 5000);
        ck_assert_int_le(p, 5099);
        ck_assert(!seen[p - 5000]);
        seen[p - 5000] = TRUE;
        ck_assert_uint_ge(probes, 1);
        max_probes = MAX(max_probes, probes);
    }
    /* The last takes had to walk over busy runs. */
    ck_assert_uint_gt(max_probes, 1);
    ck_assert_int_eq(take_c(a, pool, &r, 80, 0, &probes), -1);
    ck_assert_uint_eq(probes, 100);
    /* bind() gets nothing either, every port has a connection. */
    ck_assert_int_eq(take_b(a, pool, &probes), -1);
    ck_assert_uint_eq(probes, 100);
    ps_allocator_free(a);
    ps_pool_free(pool);
}
END_TEST

START_TEST(test_random_start_and_walk)
{
    PsPortPool *pool = ps_pool_new(5000, 5099);
    PsAllocator *a = make("random", 5000, 5099, 8);
    SimAddress r = v4(10, 9, 0, 1);
    PsDestId d = ps_pool_dest(pool, &r, 80);
    uint32_t probes;

    /* Empty pool: the start itself is taken; it is uniform. */
    guint count[100] = { 0 };
    for (int n = 0; n < 10000; n++) {
        int p = take_c(a, pool, &r, 80, 0, &probes);
        ck_assert_uint_eq(probes, 1);
        count[p - 5000]++;
        ps_pool_connect_release(pool, d, (uint16_t)p);
    }
    for (int i = 0; i < 100; i++) {
        ck_assert_uint_gt(count[i], 60); /* expected 100, sd 10 */
        ck_assert_uint_lt(count[i], 140);
    }

    /* Busy block 5000-5049: a start inside it walks +1 up to 5050. */
    for (uint16_t p = 5000; p < 5050; p++)
        ps_pool_connect_take(pool, d, p);
    int walked = 0, direct = 0;
    for (int n = 0; n < 400; n++) {
        int p = take_c(a, pool, &r, 80, 0, &probes);
        if (p == 5050 && probes > 1) {
            walked++;
        } else {
            ck_assert_uint_eq(probes, 1);
            direct++;
        }
        ck_assert_int_ge(p, 5050);
        ck_assert_uint_le(probes, 51);
        ps_pool_connect_release(pool, d, (uint16_t)p);
    }
    ck_assert_int_gt(walked, 100);
    ck_assert_int_gt(direct, 100);
    ps_allocator_free(a);
    ps_pool_free(pool);
}
END_TEST

START_TEST(test_random_deterministic)
{
    /* Same seed, same ports; the NULL-rng fallback is fixed too. */
    PsAllocator *a = make("random", 1, 65535, 3), *b = make("random", 1, 65535, 3);
    PsAllocator *c = make("random", 1, 65535, 4);
    const PsAllocatorClass *k = ps_allocator_class_find("random");
    PsAllocator *n1 = ps_allocator_new(k, 1, 65535, NULL), *n2 = ps_allocator_new(k, 1, 65535, NULL);
    PsPortPool *pa = ps_pool_new(1, 65535), *pb = ps_pool_new(1, 65535), *pc = ps_pool_new(1, 65535);
    PsPortPool *p1 = ps_pool_new(1, 65535), *p2 = ps_pool_new(1, 65535);
    SimAddress r = v4(10, 9, 0, 1);
    uint32_t probes;
    int differ = 0;
    for (int i = 0; i < 50; i++) {
        int x = take_c(a, pa, &r, 80, 0, &probes);
        ck_assert_int_eq(take_c(b, pb, &r, 80, 0, &probes), x);
        differ += take_c(c, pc, &r, 80, 0, &probes) != x;
        ck_assert_int_eq(take_c(n1, p1, &r, 80, 0, &probes), take_c(n2, p2, &r, 80, 0, &probes));
    }
    ck_assert_int_gt(differ, 40);
    ps_allocator_free(a);
    ps_allocator_free(b);
    ps_allocator_free(c);
    ps_allocator_free(n1);
    ps_allocator_free(n2);
    ps_pool_free(pa);
    ps_pool_free(pb);
    ps_pool_free(pc);
    ps_pool_free(p1);
    ps_pool_free(p2);
}
END_TEST

/* ---- linux ---- */

START_TEST(test_siphash_vectors)
{
    /* Aumasson and Bernstein's reference vectors: key 00..0f, message 00..n-1. */
    uint8_t key[16], msg[64];
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)i;
    for (int i = 0; i < 64; i++)
        msg[i] = (uint8_t)i;
    uint64_t k0 = 0, k1 = 0;
    for (int i = 7; i >= 0; i--) {
        k0 = (k0 << 8) | key[i];
        k1 = (k1 << 8) | key[8 + i];
    }
    ck_assert_uint_eq(ps_siphash24(k0, k1, msg, 0), 0x726fdb47dd0e0e31ULL);
    ck_assert_uint_eq(ps_siphash24(k0, k1, msg, 1), 0x74f839c593dc67fdULL);
    ck_assert_uint_eq(ps_siphash24(k0, k1, msg, 8), 0x93f5f5799a932462ULL);
    ck_assert_uint_eq(ps_siphash24(k0, k1, msg, 15), 0xa129ca6149be45e5ULL);
    ck_assert_uint_eq(ps_siphash24(k0, k1, msg, 63), 0x958a324ceb064572ULL);
}
END_TEST

/* Fills 40000-40099 toward one destination: 50 even ports, then 50 odd,
 * then EADDRNOTAVAIL. */
START_TEST(test_linux_parity_passes)
{
    /* Several secrets, so an offset that is even by luck cannot pass. */
    for (uint64_t seed = 11; seed < 16; seed++) {
        PsPortPool *pool = ps_pool_new(40000, 40099);
        PsAllocator *a = make("linux", 40000, 40099, seed);
        SimAddress r = v4(127, 0, 0, 1);
        gboolean seen[100] = { FALSE };
        uint32_t probes;
        for (int n = 0; n < 100; n++) {
            int p = take_c(a, pool, &r, 8080, 0, &probes);
            ck_assert_int_ge(p, 40000);
            ck_assert_int_le(p, 40099);
            ck_assert_msg(p % 2 == (n < 50 ? 0 : 1), "allocation %d got port %d", n, p);
            ck_assert(!seen[p - 40000]);
            seen[p - 40000] = TRUE;
            /* Once the even half is gone, every call walks all of it first. */
            if (n >= 50)
                ck_assert_uint_ge(probes, 51);
        }
        ck_assert_int_eq(take_c(a, pool, &r, 8080, 0, &probes), -1);
        ck_assert_uint_eq(probes, 100);
        ps_allocator_free(a);
        ps_pool_free(pool);
    }
}
END_TEST

START_TEST(test_linux_odd_low_first)
{
    /* With an odd lo the first pass is the odd ports. */
    PsPortPool *pool = ps_pool_new(40001, 40100);
    PsAllocator *a = make("linux", 40001, 40100, 12);
    SimAddress r = v4(127, 0, 0, 1);
    uint32_t probes;
    for (int n = 0; n < 100; n++) {
        int p = take_c(a, pool, &r, 8080, 0, &probes);
        ck_assert_int_eq(p % 2, n < 50 ? 1 : 0);
    }
    ck_assert_int_eq(take_c(a, pool, &r, 8080, 0, &probes), -1);
    ps_allocator_free(a);
    ps_pool_free(pool);
}
END_TEST

START_TEST(test_linux_odd_sized_range)
{
    /* 101 ports: remaining rounds down to 100, so 40100 is never offered
     * and the last call gives up although the pool has a free port. */
    PsPortPool *pool = ps_pool_new(40000, 40100);
    PsAllocator *a = make("linux", 40000, 40100, 13);
    SimAddress r = v4(127, 0, 0, 1);
    PsDestId d = ps_pool_dest(pool, &r, 8080);
    uint32_t probes;
    for (int n = 0; n < 100; n++) {
        int p = take_c(a, pool, &r, 8080, 0, &probes);
        ck_assert_int_ge(p, 40000);
        ck_assert_int_le(p, 40099);
    }
    ck_assert_uint_eq(ps_pool_connect_free(pool, d), 1);
    ck_assert_int_eq(take_c(a, pool, &r, 8080, 0, &probes), -1);
    ck_assert_uint_eq(probes, 100);
    ck_assert(ps_pool_connect_ok(pool, d, 40100));
    ps_allocator_free(a);
    ps_pool_free(pool);
}
END_TEST

START_TEST(test_linux_steps)
{
    /* Nothing released: each port is 2..16 past the previous one (even
     * steps, wrapping within the range), mean about 9. */
    PsPortPool *pool = ps_pool_new(32768, 60999);
    PsAllocator *a = make("linux", 32768, 60999, 14);
    SimAddress r = v4(10, 1, 0, 1);
    const int remaining = 60999 - 32768 + 1; /* 28232, even */
    uint32_t probes;
    int prev = take_c(a, pool, &r, 443, 0, &probes);
    ck_assert_int_eq(prev % 2, 0);
    int min_step = 1000, max_step = 0;
    long sum = 0;
    const int n = 1000;
    for (int i = 0; i < n; i++) {
        int p = take_c(a, pool, &r, 443, 0, &probes);
        ck_assert_uint_eq(probes, 1);
        int step = ((p - prev) % remaining + remaining) % remaining;
        ck_assert_int_eq(step % 2, 0);
        ck_assert_int_ge(step, 2);
        ck_assert_int_le(step, 16);
        min_step = MIN(min_step, step);
        max_step = MAX(max_step, step);
        sum += step;
        prev = p;
    }
    double mean = (double)sum / n;
    ck_assert_msg(mean > 8.5 && mean < 9.5, "mean step %.2f", mean);
    ck_assert_int_eq(min_step, 2);
    ck_assert_int_eq(max_step, 16);
    ps_allocator_free(a);
    ps_pool_free(pool);
}
END_TEST

START_TEST(test_linux_skips_busy_then_jumps)
{
    /* A busy run ahead of the cursor is crossed, and the cursor then jumps
     * past it: the next port is 2 further at least. */
    PsPortPool *pool = ps_pool_new(40000, 40099);
    PsAllocator *a = make("linux", 40000, 40099, 15);
    SimAddress r = v4(10, 1, 0, 1);
    PsDestId d = ps_pool_dest(pool, &r, 443);
    uint32_t probes;
    int p0 = take_c(a, pool, &r, 443, 0, &probes);
    ps_pool_connect_release(pool, d, (uint16_t)p0);
    /* Make the 20 even ports from p0+2 on busy (bound: another user). */
    for (int k = 1; k <= 20; k++)
        ps_pool_bind_take(pool, (uint16_t)(40000 + (p0 - 40000 + 2 * k) % 100));
    /* Where the cursor now points is 2..16 past p0; the walk crosses the
     * rest of the busy run and lands just after it. */
    int p1 = take_c(a, pool, &r, 443, 0, &probes);
    int expect = 40000 + (p0 - 40000 + 42) % 100;
    ck_assert_int_eq(p1, expect);
    ck_assert_uint_ge(probes, 14); /* started 2..16 past p0: 21 - 0..7 */
    ck_assert_uint_le(probes, 21);
    /* The walk (26..40 steps) outweighs the random jump (0..14), so the
     * cursor lands right after p1: the next port is p1 + 2 exactly. */
    int p2 = take_c(a, pool, &r, 443, 0, &probes);
    ck_assert_int_eq(p2, 40000 + (p1 - 40000 + 2) % 100);
    ck_assert_uint_eq(probes, 1);
    ps_allocator_free(a);
    ps_pool_free(pool);
}
END_TEST

START_TEST(test_linux_destinations)
{
    PsPortPool *pool = ps_pool_new(40000, 40099);
    PsAllocator *a = make("linux", 40000, 40099, 16);
    uint32_t probes;
    /* First ports differ between destinations (keyed hash of each). */
    GHashTable *firsts = g_hash_table_new(NULL, NULL);
    for (int i = 0; i < 20; i++) {
        SimAddress r = v4(10, 2, 0, (uint8_t)(i + 1));
        int p = take_c(a, pool, &r, 443, 0, &probes);
        ck_assert_int_eq(p % 2, 0);
        g_hash_table_add(firsts, GINT_TO_POINTER(p));
    }
    ck_assert_uint_ge(g_hash_table_size(firsts), 10);
    g_hash_table_destroy(firsts);
    /* The remote port is part of the key too. */
    int same = 0;
    SimAddress r0 = v4(10, 3, 0, 1);
    for (int i = 0; i < 20; i++) {
        PsPortPool *p1 = ps_pool_new(40000, 40099);
        PsAllocator *b = make("linux", 40000, 40099, 100 + i);
        int x = take_c(b, p1, &r0, 443, 0, &probes);
        ps_pool_free(p1);
        p1 = ps_pool_new(40000, 40099);
        ps_allocator_free(b);
        b = make("linux", 40000, 40099, 100 + i);
        same += take_c(b, p1, &r0, 444, 0, &probes) == x;
        ps_allocator_free(b);
        ps_pool_free(p1);
    }
    ck_assert_int_lt(same, 5); /* equal by chance 1 time in 50 */
    ps_allocator_free(a);
    ps_pool_free(pool);

    /* Two destinations each use the whole range, sharing every port. */
    pool = ps_pool_new(40000, 40099);
    a = make("linux", 40000, 40099, 17);
    SimAddress r1 = v4(10, 4, 0, 1), r2 = v4(10, 4, 0, 2);
    for (int n = 0; n < 100; n++) {
        ck_assert_int_ge(take_c(a, pool, &r1, 443, 0, &probes), 40000);
        ck_assert_int_ge(take_c(a, pool, &r2, 443, 0, &probes), 40000);
    }
    ck_assert_uint_eq(ps_pool_tuples_in_use(pool), 200);
    ck_assert_uint_eq(ps_pool_ports_in_use(pool), 100);
    ck_assert_int_eq(take_c(a, pool, &r1, 443, 0, &probes), -1);
    ck_assert_int_eq(take_c(a, pool, &r2, 443, 0, &probes), -1);
    ps_allocator_free(a);
    ps_pool_free(pool);
}
END_TEST

START_TEST(test_linux_bind_mode)
{
    PsPortPool *pool = ps_pool_new(40000, 40099);
    PsAllocator *a = make("linux", 40000, 40099, 18);
    uint32_t probes;
    /* bind(0): odd ports first, then even, then failure. */
    for (int n = 0; n < 100; n++) {
        int p = take_b(a, pool, &probes);
        ck_assert_msg(p % 2 == (n < 50 ? 1 : 0), "bind %d got port %d", n, p);
    }
    ck_assert_uint_eq(ps_pool_ports_in_use(pool), 100);
    ck_assert_int_eq(take_b(a, pool, &probes), -1);
    ck_assert_uint_eq(probes, 100);
    ps_allocator_free(a);
    ps_pool_free(pool);

    /* A fresh random start on every call: no 2..16 stepping pattern. */
    pool = ps_pool_new(40000, 40099);
    a = make("linux", 40000, 40099, 19);
    int prev = take_b(a, pool, &probes), near = 0;
    ps_pool_bind_release(pool, (uint16_t)prev);
    GHashTable *seen = g_hash_table_new(NULL, NULL);
    for (int n = 0; n < 200; n++) {
        int p = take_b(a, pool, &probes);
        ck_assert_int_eq(p % 2, 1);
        ck_assert_uint_eq(probes, 1);
        int step = ((p - prev) % 100 + 100) % 100;
        near += step >= 2 && step <= 16;
        g_hash_table_add(seen, GINT_TO_POINTER(p));
        ps_pool_bind_release(pool, (uint16_t)p);
        prev = p;
    }
    ck_assert_int_lt(near, 80); /* about 16 % expected; connect() gives 100 % */
    ck_assert_uint_ge(g_hash_table_size(seen), 40);
    g_hash_table_destroy(seen);
    ps_allocator_free(a);
    ps_pool_free(pool);
}
END_TEST

START_TEST(test_linux_reserved)
{
    PsPortPool *pool = ps_pool_new(40000, 40099);
    ps_pool_reserve(pool, 40010, 40019);
    ps_pool_reserve(pool, 40050, 40050);
    PsAllocator *a = make("linux", 40000, 40099, 20);
    SimAddress r = v4(10, 5, 0, 1);
    uint32_t probes;
    for (int n = 0; n < 89; n++) {
        int p = take_c(a, pool, &r, 443, 0, &probes);
        ck_assert_int_ge(p, 40000);
        ck_assert(!ps_pool_is_reserved(pool, (uint16_t)p));
    }
    ck_assert_int_eq(take_c(a, pool, &r, 443, 0, &probes), -1);
    ck_assert_uint_eq(probes, 100);
    /* bind(0) avoids them too. */
    SimAddress r2 = v4(10, 5, 0, 2);
    PsPortPool *pool2 = ps_pool_new(40000, 40099);
    ps_pool_reserve(pool2, 40010, 40019);
    ps_pool_reserve(pool2, 40050, 40050);
    for (int n = 0; n < 89; n++) {
        int p = take_b(a, pool2, &probes);
        ck_assert_int_ge(p, 40000);
        ck_assert(!ps_pool_is_reserved(pool2, (uint16_t)p));
    }
    ck_assert_int_eq(take_b(a, pool2, &probes), -1);
    ck_assert_int_eq(take_c(a, pool2, &r2, 443, 0, &probes), -1);
    ps_allocator_free(a);
    ps_pool_free(pool);
    ps_pool_free(pool2);
}
END_TEST

START_TEST(test_linux_same_seed)
{
    PsAllocator *a = make("linux", 32768, 60999, 21), *b = make("linux", 32768, 60999, 21);
    PsAllocator *c = make("linux", 32768, 60999, 22);
    PsPortPool *pa = ps_pool_new(32768, 60999), *pb = ps_pool_new(32768, 60999);
    PsPortPool *pc = ps_pool_new(32768, 60999);
    uint32_t qa, qb, qc;
    int differ = 0;
    for (int i = 0; i < 300; i++) {
        SimAddress r = v4(10, 6, 0, (uint8_t)(i % 3));
        SimTime now = i * 100 * SIM_MS; /* crosses several 10 s epochs */
        int x, y, z;
        if (i % 7 == 0) {
            x = take_b(a, pa, &qa);
            y = take_b(b, pb, &qb);
            z = take_b(c, pc, &qc);
        } else {
            x = take_c(a, pa, &r, 443, now, &qa);
            y = take_c(b, pb, &r, 443, now, &qb);
            z = take_c(c, pc, &r, 443, now, &qc);
        }
        ck_assert_int_eq(x, y);
        ck_assert_uint_eq(qa, qb);
        differ += x != z;
    }
    ck_assert_int_gt(differ, 250);
    ps_allocator_free(a);
    ps_allocator_free(b);
    ps_allocator_free(c);
    ps_pool_free(pa);
    ps_pool_free(pb);
    ps_pool_free(pc);
}
END_TEST

START_TEST(test_linux_epoch)
{
    /* Same secret (same seed): the first port toward a destination is the
     * same anywhere in one 10 s epoch and changes at the next. */
    int changed = 0;
    uint32_t probes;
    for (int i = 0; i < 20; i++) {
        SimAddress r = v4(10, 7, 0, (uint8_t)(i + 1));
        SimTime when[3] = { 0, 10 * SIM_S - 1, 10 * SIM_S };
        int first[3];
        for (int k = 0; k < 3; k++) {
            PsPortPool *pool = ps_pool_new(40000, 40099);
            PsAllocator *a = make("linux", 40000, 40099, 23);
            first[k] = take_c(a, pool, &r, 443, when[k], &probes);
            ps_allocator_free(a);
            ps_pool_free(pool);
        }
        ck_assert_int_eq(first[0], first[1]);
        changed += first[2] != first[0];
    }
    ck_assert_int_ge(changed, 15); /* equal by chance 1 time in 50 */
}
END_TEST

/* The word-at-a-time scan must be invisible: for every strategy, in both
 * modes, with reserved and bound ports and occupancy swept from empty to
 * full and back, the accelerated allocator hands out exactly the ports, with
 * exactly the probe counts, of one that tests candidates one by one. */
START_TEST(test_scan_matches_candidate_walk)
{
    const char *names[] = {"sequential", "random", "linux"};
    const uint16_t ranges[][2] = {{40000, 40099}, {40001, 40100}, {1000, 1200}, {5000, 5000}};
    for (guint n = 0; n < G_N_ELEMENTS(names); n++)
        for (guint r = 0; r < G_N_ELEMENTS(ranges); r++) {
            uint16_t lo = ranges[r][0], hi = ranges[r][1];
            PsAllocator *fast = make(names[n], lo, hi, 9), *slow = make(names[n], lo, hi, 9);
            ps_allocator_set_scan(slow, FALSE);
            PsPortPool *pf = ps_pool_new(lo, hi), *ps = ps_pool_new(lo, hi);
            if (hi - lo > 20) {
                ps_pool_reserve(pf, lo + 3, lo + 9);
                ps_pool_reserve(ps, lo + 3, lo + 9);
            }
            SimAddress dsts[3] = {v4(10, 1, 0, 1), v4(10, 1, 0, 2), v4(10, 1, 0, 3)};
            GArray *held = g_array_new(FALSE, FALSE, sizeof(uint32_t)); /* port | mode<<16 | d<<17 */
            SimRng rng;
            sim_rng_seed(&rng, 5, "scan-equivalence", r);
            for (int step = 0; step < 6000; step++) {
                /* Fill for the first half, drain in the second. */
                gboolean fill = (step / 1500) % 2 == 0;
                gboolean take = held->len == 0 || sim_rng_uniform(&rng) < (fill ? 0.8 : 0.2);
                if (take) {
                    gboolean bind = sim_rng_below(&rng, 10) == 0;
                    guint d = sim_rng_below(&rng, 3);
                    SimTime now = (SimTime)step * 10 * SIM_MS;
                    uint32_t prf = 0, prs = 0;
                    int a, b;
                    if (bind) {
                        a = take_b(fast, pf, &prf);
                        b = take_b(slow, ps, &prs);
                    } else {
                        a = take_c(fast, pf, &dsts[d], 443, now, &prf);
                        b = take_c(slow, ps, &dsts[d], 443, now, &prs);
                    }
                    if (a != b || prf != prs)
                        ck_abort_msg("%s %u-%u step %d: fast %d/%u probes, slow %d/%u", names[n],
                                     lo, hi, step, a, prf, b, prs);
                    if (a >= 0) {
                        uint32_t v = (uint32_t)a | (bind ? 1u << 16 : 0) | (d << 17);
                        g_array_append_val(held, v);
                    }
                } else {
                    guint i = sim_rng_below(&rng, held->len);
                    uint32_t v = g_array_index(held, uint32_t, i);
                    g_array_remove_index_fast(held, i);
                    uint16_t port = v & 0xffff;
                    if (v & (1u << 16)) {
                        ps_pool_bind_release(pf, port);
                        ps_pool_bind_release(ps, port);
                    } else {
                        guint d = v >> 17;
                        ps_pool_connect_release(pf, ps_pool_dest(pf, &dsts[d], 443), port);
                        ps_pool_connect_release(ps, ps_pool_dest(ps, &dsts[d], 443), port);
                    }
                }
            }
            g_array_free(held, TRUE);
            ps_pool_free(pf);
            ps_pool_free(ps);
            ps_allocator_free(fast);
            ps_allocator_free(slow);
        }
}
END_TEST

static Suite *allocators_suite(void)
{
    Suite *s = suite_create("allocators");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_registry);
    tcase_add_test(tc, test_wrapper);
    tcase_add_test(tc, test_sequential_next_fit);
    tcase_add_test(tc, test_sequential_shared_cursor_and_bind);
    tcase_add_test(tc, test_random_fills_range);
    tcase_add_test(tc, test_random_start_and_walk);
    tcase_add_test(tc, test_random_deterministic);
    tcase_add_test(tc, test_siphash_vectors);
    tcase_add_test(tc, test_linux_parity_passes);
    tcase_add_test(tc, test_linux_odd_low_first);
    tcase_add_test(tc, test_linux_odd_sized_range);
    tcase_add_test(tc, test_linux_steps);
    tcase_add_test(tc, test_linux_skips_busy_then_jumps);
    tcase_add_test(tc, test_linux_destinations);
    tcase_add_test(tc, test_linux_bind_mode);
    tcase_add_test(tc, test_linux_reserved);
    tcase_add_test(tc, test_linux_same_seed);
    tcase_add_test(tc, test_linux_epoch);
    tcase_add_test(tc, test_scan_matches_candidate_walk);
    suite_add_tcase(s, tc);
    return s;
}

PS_TEST_MAIN(allocators_suite)
