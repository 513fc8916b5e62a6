/* Port pool: 4-tuple sharing, bind exclusivity, reserved ports, counts, and
 * a randomized comparison against a naive model. */
#include <glib.h>
#include <string.h>

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

/* Counts GLib criticals (g_return_if_fail) instead of printing them. */
static guint n_criticals;

static void count_critical(const gchar *domain, GLogLevelFlags level, const gchar *msg,
                           gpointer data)
{
    n_criticals++;
}

START_TEST(test_dest_interning)
{
    PsPortPool *pool = ps_pool_new(1000, 1009);
    SimAddress a = v4(10, 0, 0, 1), b = v4(10, 0, 0, 2);
    PsDestId a80 = ps_pool_dest(pool, &a, 80);
    PsDestId a443 = ps_pool_dest(pool, &a, 443);
    PsDestId b80 = ps_pool_dest(pool, &b, 80);
    ck_assert_uint_ne(a80, a443);
    ck_assert_uint_ne(a80, b80);
    ck_assert_uint_ne(a443, b80);
    ck_assert_uint_eq(ps_pool_dest(pool, &a, 80), a80);
    /* Bytes past the 4 of an IPv4 address do not make a new endpoint. */
    SimAddress junk = a;
    memset(junk.bytes + 4, 0xab, 12);
    ck_assert_uint_eq(ps_pool_dest(pool, &junk, 80), a80);
    /* ... but the same 16 bytes as IPv6 are another endpoint. */
    SimAddress a6 = a;
    a6.family = 6;
    ck_assert_uint_ne(ps_pool_dest(pool, &a6, 80), a80);
    ck_assert_uint_eq(ps_pool_n_dests(pool), 4);
    ps_pool_free(pool);
}
END_TEST

START_TEST(test_tuple_sharing)
{
    PsPortPool *pool = ps_pool_new(1000, 1009);
    SimAddress a = v4(10, 0, 0, 1), b = v4(10, 0, 0, 2);
    PsDestId da = ps_pool_dest(pool, &a, 80), db = ps_pool_dest(pool, &b, 80);

    ck_assert(ps_pool_connect_ok(pool, da, 1005));
    ps_pool_connect_take(pool, da, 1005);
    ck_assert(!ps_pool_connect_ok(pool, da, 1005));
    ck_assert(ps_pool_tuple_in_use(pool, da, 1005));
    /* The same port toward another destination is a different 4-tuple. */
    ck_assert(ps_pool_connect_ok(pool, db, 1005));
    ck_assert(!ps_pool_tuple_in_use(pool, db, 1005));
    ps_pool_connect_take(pool, db, 1005);
    ck_assert(ps_pool_tuple_in_use(pool, db, 1005));

    ck_assert_uint_eq(ps_pool_connect_free(pool, da), 9);
    ck_assert_uint_eq(ps_pool_connect_free(pool, db), 9);
    ck_assert_uint_eq(ps_pool_ports_in_use(pool), 1);
    ck_assert_uint_eq(ps_pool_tuples_in_use(pool), 2);

    /* Filling one destination leaves the other untouched. */
    for (uint16_t p = 1000; p <= 1009; p++)
        if (p != 1005)
            ps_pool_connect_take(pool, da, p);
    ck_assert_uint_eq(ps_pool_connect_free(pool, da), 0);
    ck_assert_uint_eq(ps_pool_connect_free(pool, db), 9);
    ck_assert(ps_pool_connect_ok(pool, db, 1000));
    ck_assert_uint_eq(ps_pool_ports_in_use(pool), 10);
    ck_assert_uint_eq(ps_pool_tuples_in_use(pool), 11);
    /* Every port carries a connection, so none can be bound. */
    ck_assert_uint_eq(ps_pool_bind_free(pool), 0);
    ck_assert(!ps_pool_bind_ok(pool, 1000));

    /* Releasing da's 1005 keeps the port in use through db. */
    ps_pool_connect_release(pool, da, 1005);
    ck_assert(ps_pool_connect_ok(pool, da, 1005));
    ck_assert(!ps_pool_bind_ok(pool, 1005));
    ck_assert_uint_eq(ps_pool_ports_in_use(pool), 10);
    ps_pool_connect_release(pool, db, 1005);
    ck_assert(ps_pool_bind_ok(pool, 1005));
    ck_assert_uint_eq(ps_pool_ports_in_use(pool), 9);
    ck_assert_uint_eq(ps_pool_bind_free(pool), 1);
    ps_pool_free(pool);
}
END_TEST

START_TEST(test_bind_exclusive)
{
    PsPortPool *pool = ps_pool_new(1000, 1009);
    SimAddress a = v4(10, 0, 0, 1), b = v4(10, 0, 0, 2);
    PsDestId da = ps_pool_dest(pool, &a, 80), db = ps_pool_dest(pool, &b, 443);

    ck_assert(ps_pool_bind_ok(pool, 1003));
    ps_pool_bind_take(pool, 1003);
    ck_assert(ps_pool_is_bound(pool, 1003));
    ck_assert(!ps_pool_bind_ok(pool, 1003));
    /* A bound port is out of connect() selection toward every destination. */
    ck_assert(!ps_pool_connect_ok(pool, da, 1003));
    ck_assert(!ps_pool_connect_ok(pool, db, 1003));
    ck_assert_uint_eq(ps_pool_connect_free(pool, da), 9);
    ck_assert_uint_eq(ps_pool_connect_free(pool, db), 9);
    ck_assert_uint_eq(ps_pool_bind_free(pool), 9);
    ck_assert_uint_eq(ps_pool_ports_in_use(pool), 1);
    /* A bound socket's connection is not a connect()-chosen 4-tuple. */
    ck_assert_uint_eq(ps_pool_tuples_in_use(pool), 0);
    ck_assert(!ps_pool_is_empty(pool));

    /* A port used by a connection cannot be bound. */
    ps_pool_connect_take(pool, da, 1004);
    ck_assert(!ps_pool_bind_ok(pool, 1004));
    ck_assert_uint_eq(ps_pool_bind_free(pool), 8);
    ck_assert_uint_eq(ps_pool_connect_free(pool, db), 9);
    ck_assert_uint_eq(ps_pool_connect_free(pool, da), 8);

    /* Release restores everything. */
    ps_pool_bind_release(pool, 1003);
    ck_assert(!ps_pool_is_bound(pool, 1003));
    ck_assert(ps_pool_connect_ok(pool, da, 1003));
    ck_assert(ps_pool_connect_ok(pool, db, 1003));
    ck_assert(ps_pool_bind_ok(pool, 1003));
    ck_assert_uint_eq(ps_pool_connect_free(pool, db), 10);
    ps_pool_connect_release(pool, da, 1004);
    ck_assert(ps_pool_bind_ok(pool, 1004));
    ck_assert_uint_eq(ps_pool_bind_free(pool), 10);
    ck_assert_uint_eq(ps_pool_connect_free(pool, da), 10);
    ck_assert_uint_eq(ps_pool_ports_in_use(pool), 0);
    ck_assert(ps_pool_is_empty(pool));
    ps_pool_free(pool);
}
END_TEST

START_TEST(test_reserved)
{
    PsPortPool *pool = ps_pool_new(1000, 1009);
    ck_assert_uint_eq(ps_pool_capacity(pool), 10);
    ps_pool_reserve(pool, 990, 1001); /* clipped to 1000-1001 */
    ps_pool_reserve(pool, 1005, 1005);
    ps_pool_reserve(pool, 1001, 1001); /* already reserved: not counted twice */
    ps_pool_reserve(pool, 2000, 2005); /* outside: nothing */
    ck_assert_uint_eq(ps_pool_capacity(pool), 7);
    ck_assert(ps_pool_is_reserved(pool, 1000));
    ck_assert(ps_pool_is_reserved(pool, 1001));
    ck_assert(!ps_pool_is_reserved(pool, 1002));
    ck_assert(ps_pool_is_reserved(pool, 1005));
    ck_assert(!ps_pool_is_reserved(pool, 990)); /* outside the range */

    SimAddress a = v4(10, 0, 0, 1);
    PsDestId da = ps_pool_dest(pool, &a, 80);
    ck_assert(!ps_pool_connect_ok(pool, da, 1000));
    ck_assert(!ps_pool_connect_ok(pool, da, 1005));
    ck_assert(!ps_pool_bind_ok(pool, 1005));
    ck_assert_uint_eq(ps_pool_connect_free(pool, da), 7);
    ck_assert_uint_eq(ps_pool_bind_free(pool), 7);

    /* Outside the range nothing is ok either. */
    ck_assert(!ps_pool_connect_ok(pool, da, 999));
    ck_assert(!ps_pool_connect_ok(pool, da, 1010));
    ck_assert(!ps_pool_bind_ok(pool, 1010));

    /* Filling every usable port exhausts both counts at 7. */
    guint taken = 0;
    for (uint16_t p = 1000; p <= 1009; p++)
        if (ps_pool_connect_ok(pool, da, p)) {
            ps_pool_connect_take(pool, da, p);
            taken++;
        }
    ck_assert_uint_eq(taken, 7);
    ck_assert_uint_eq(ps_pool_connect_free(pool, da), 0);
    ck_assert_uint_eq(ps_pool_bind_free(pool), 0);
    ck_assert_uint_eq(ps_pool_ports_in_use(pool), 7);
    ps_pool_free(pool);
}
END_TEST

START_TEST(test_full_range_edges)
{
    /* The widest range: port 65535 and lo = 1 work, no overflow. */
    PsPortPool *pool = ps_pool_new(1, 65535);
    ck_assert_uint_eq(ps_pool_capacity(pool), 65535);
    SimAddress a = v4(10, 0, 0, 1);
    PsDestId da = ps_pool_dest(pool, &a, 80);
    ps_pool_connect_take(pool, da, 65535);
    ps_pool_bind_take(pool, 1);
    ck_assert(ps_pool_tuple_in_use(pool, da, 65535));
    ck_assert(ps_pool_is_bound(pool, 1));
    ck_assert(!ps_pool_connect_ok(pool, da, 0));
    ck_assert_uint_eq(ps_pool_connect_free(pool, da), 65533);
    ps_pool_connect_release(pool, da, 65535);
    ps_pool_bind_release(pool, 1);
    ck_assert(ps_pool_is_empty(pool));
    ps_pool_reserve(pool, 65000, 65535);
    ck_assert_uint_eq(ps_pool_capacity(pool), 65535 - 536);
    ps_pool_free(pool);

    PsPortPool *one = ps_pool_new(5000, 5000);
    PsDestId d = ps_pool_dest(one, &a, 80);
    ck_assert_uint_eq(ps_pool_connect_free(one, d), 1);
    ps_pool_connect_take(one, d, 5000);
    ck_assert_uint_eq(ps_pool_connect_free(one, d), 0);
    ps_pool_free(one);
}
END_TEST

START_TEST(test_misuse_refused)
{
    guint handler = g_log_set_handler(NULL, G_LOG_LEVEL_CRITICAL, count_critical, NULL);
    n_criticals = 0;
    PsPortPool *pool = ps_pool_new(1000, 1009);
    SimAddress a = v4(10, 0, 0, 1);
    PsDestId da = ps_pool_dest(pool, &a, 80);
    ps_pool_reserve(pool, 1009, 1009);

    ps_pool_connect_take(pool, da, 1000);
    ps_pool_connect_take(pool, da, 1000); /* already in use */
    ps_pool_connect_take(pool, da, 1009); /* reserved */
    ps_pool_connect_take(pool, da, 2000); /* out of range */
    ps_pool_bind_take(pool, 1000);        /* used by a connection */
    ps_pool_connect_release(pool, da, 1001); /* not in use */
    ps_pool_bind_release(pool, 1001);        /* not bound */
    ck_assert_uint_eq(n_criticals, 6);
    ck_assert_uint_eq(ps_pool_ports_in_use(pool), 1);
    ck_assert_uint_eq(ps_pool_tuples_in_use(pool), 1);
    ck_assert_uint_eq(ps_pool_connect_free(pool, da), 8);
    ck_assert_uint_eq(ps_pool_bind_free(pool), 8);
    ck_assert(!ps_pool_is_bound(pool, 1000));

    /* Reserving once a port is in use would corrupt the counts: refused. */
    ps_pool_reserve(pool, 1001, 1001);
    ck_assert_uint_eq(n_criticals, 7);
    ck_assert(!ps_pool_is_reserved(pool, 1001));
    ck_assert_uint_eq(ps_pool_capacity(pool), 9);

    /* An id never handed out. */
    ck_assert(!ps_pool_connect_ok(pool, 99, 1001));
    ck_assert_uint_gt(n_criticals, 7);
    ps_pool_free(pool);
    g_log_remove_handler(NULL, handler);
}
END_TEST

/* ---- randomized comparison with a naive model ---- */

#define R_LO 2000
#define R_HI 2039
#define R_DESTS 4

typedef struct {
    GHashTable *tuples; /* (dest << 16 | port) present = in use */
    GHashTable *bound;  /* port present = bound */
    gboolean reserved[R_HI + 1];
} Model;

static gpointer tkey(PsDestId d, uint16_t p) { return GUINT_TO_POINTER((d << 16) | p); }

static guint model_uses(const Model *m, uint16_t port)
{
    guint n = 0;
    for (PsDestId d = 0; d < R_DESTS; d++)
        n += g_hash_table_contains(m->tuples, tkey(d, port));
    return n;
}

static gboolean model_connect_ok(const Model *m, PsDestId d, uint16_t p)
{
    return p >= R_LO && p <= R_HI && !m->reserved[p] &&
           !g_hash_table_contains(m->bound, GUINT_TO_POINTER(p)) &&
           !g_hash_table_contains(m->tuples, tkey(d, p));
}

static gboolean model_bind_ok(const Model *m, uint16_t p)
{
    return p >= R_LO && p <= R_HI && !m->reserved[p] &&
           !g_hash_table_contains(m->bound, GUINT_TO_POINTER(p)) && model_uses(m, p) == 0;
}

/* Every query of the pool against the model; returns a description of the
 * first disagreement, or NULL. */
static char *compare(const PsPortPool *pool, const Model *m)
{
    guint in_use = 0, bind_free = 0;
    for (uint16_t p = R_LO - 1; p <= R_HI + 1; p++) {
        gboolean b = g_hash_table_contains(m->bound, GUINT_TO_POINTER(p));
        if (ps_pool_is_bound(pool, p) != b)
            return g_strdup_printf("is_bound(%u)", p);
        if (ps_pool_bind_ok(pool, p) != model_bind_ok(m, p))
            return g_strdup_printf("bind_ok(%u)", p);
        bind_free += model_bind_ok(m, p);
        in_use += b || model_uses(m, p) > 0;
        for (PsDestId d = 0; d < R_DESTS; d++) {
            if (ps_pool_connect_ok(pool, d, p) != model_connect_ok(m, d, p))
                return g_strdup_printf("connect_ok(%u, %u)", d, p);
            if (ps_pool_tuple_in_use(pool, d, p) != g_hash_table_contains(m->tuples, tkey(d, p)))
                return g_strdup_printf("tuple_in_use(%u, %u)", d, p);
        }
    }
    for (PsDestId d = 0; d < R_DESTS; d++) {
        guint n_free = 0;
        for (uint16_t p = R_LO; p <= R_HI; p++)
            n_free += model_connect_ok(m, d, p);
        if (ps_pool_connect_free(pool, d) != n_free)
            return g_strdup_printf("connect_free(%u) = %u, model %u", d,
                                   ps_pool_connect_free(pool, d), n_free);
    }
    if (ps_pool_bind_free(pool) != bind_free)
        return g_strdup_printf("bind_free %u, model %u", ps_pool_bind_free(pool), bind_free);
    if (ps_pool_ports_in_use(pool) != in_use)
        return g_strdup_printf("ports_in_use %u, model %u", ps_pool_ports_in_use(pool), in_use);
    if (ps_pool_tuples_in_use(pool) != g_hash_table_size(m->tuples))
        return g_strdup("tuples_in_use");
    if (ps_pool_is_empty(pool) != (in_use == 0))
        return g_strdup("is_empty");
    return NULL;
}

/* ps_pool_first_usable() for connect() against the model, candidate by
 * candidate: full passes of each parity (where a parity the destination has
 * used up is answered without a scan) and of step 1, from a few starts. */
static void check_first_usable(PsPortPool *pool, const Model *m, PsDestId d, GRand *rand)
{
    uint32_t size = R_HI - R_LO + 1;
    uint32_t span = size & ~1u;
    for (int trial = 0; trial < 3; trial++) {
        uint32_t step = trial == 2 ? 1 : 2;
        uint32_t start = (uint32_t)g_rand_int_range(rand, 0, (gint32)span);
        if (step == 2)
            start = (start & ~1u) | (uint32_t)trial;
        uint32_t count = step == 2 ? span / 2 : span;
        int64_t want = -1;
        for (uint32_t k = 0, o = start; k < count; k++, o = (o + step) % span)
            if (model_connect_ok(m, d, (uint16_t)(R_LO + o))) {
                want = k;
                break;
            }
        int64_t got = ps_pool_first_usable(pool, d, FALSE, start, step, count, span);
        ck_assert_msg(got == want, "dest %u start %u step %u: %" G_GINT64_FORMAT
                      " instead of %" G_GINT64_FORMAT, d, start, step, got, want);
    }
}

START_TEST(test_randomized_against_model)
{
    PsPortPool *pool = ps_pool_new(R_LO, R_HI);
    Model m = { g_hash_table_new(NULL, NULL), g_hash_table_new(NULL, NULL), { 0 } };
    ps_pool_reserve(pool, 2010, 2012);
    ps_pool_reserve(pool, 2039, 2039);
    for (int p = 2010; p <= 2012; p++)
        m.reserved[p] = TRUE;
    m.reserved[2039] = TRUE;
    for (PsDestId d = 0; d < R_DESTS; d++) {
        SimAddress a = v4(192, 0, 2, (uint8_t)(d + 1));
        ck_assert_uint_eq(ps_pool_dest(pool, &a, 443), d);
    }

    GRand *rand = g_rand_new_with_seed(12345);
    guint ops = 0, takes = 0, peak = 0;
    for (int step = 0; step < 10000; step++) {
        /* Phases of filling and draining so the pool goes full and empty. */
        double p_take = (step / 750) % 2 == 0 ? 0.8 : 0.25;
        uint16_t port = (uint16_t)g_rand_int_range(rand, R_LO - 1, R_HI + 2);
        PsDestId d = (PsDestId)g_rand_int_range(rand, 0, R_DESTS);
        gboolean bind = g_rand_int_range(rand, 0, 8) == 0;
        if (g_rand_double(rand) < p_take) {
            if (bind && model_bind_ok(&m, port)) {
                ps_pool_bind_take(pool, port);
                g_hash_table_add(m.bound, GUINT_TO_POINTER(port));
                takes++;
            } else if (!bind && model_connect_ok(&m, d, port)) {
                ps_pool_connect_take(pool, d, port);
                g_hash_table_add(m.tuples, tkey(d, port));
                takes++;
            }
        } else if (bind) {
            if (g_hash_table_remove(m.bound, GUINT_TO_POINTER(port)))
                ps_pool_bind_release(pool, port);
        } else if (g_hash_table_remove(m.tuples, tkey(d, port))) {
            ps_pool_connect_release(pool, d, port);
        }
        ops++;
        peak = MAX(peak, ps_pool_ports_in_use(pool));
        char *diff = compare(pool, &m);
        if (diff)
            ck_abort_msg("step %d: %s disagrees with the model", step, diff);
        check_first_usable(pool, &m, d, rand);
    }
    /* The walk really reached a full pool and did real work. */
    ck_assert_uint_gt(takes, 1000);
    ck_assert_uint_eq(peak, ps_pool_capacity(pool));

    /* Drain: the pool ends empty. */
    GList *keys = g_hash_table_get_keys(m.tuples);
    for (GList *l = keys; l; l = l->next) {
        guint k = GPOINTER_TO_UINT(l->data);
        ps_pool_connect_release(pool, k >> 16, (uint16_t)(k & 0xffff));
    }
    g_list_free(keys);
    keys = g_hash_table_get_keys(m.bound);
    for (GList *l = keys; l; l = l->next)
        ps_pool_bind_release(pool, (uint16_t)GPOINTER_TO_UINT(l->data));
    g_list_free(keys);
    ck_assert(ps_pool_is_empty(pool));
    ck_assert_uint_eq(ps_pool_tuples_in_use(pool), 0);
    for (PsDestId d = 0; d < R_DESTS; d++)
        ck_assert_uint_eq(ps_pool_connect_free(pool, d), ps_pool_capacity(pool));

    g_rand_free(rand);
    g_hash_table_destroy(m.tuples);
    g_hash_table_destroy(m.bound);
    ps_pool_free(pool);
}
END_TEST

static Suite *port_pool_suite(void)
{
    Suite *s = suite_create("port_pool");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_dest_interning);
    tcase_add_test(tc, test_tuple_sharing);
    tcase_add_test(tc, test_bind_exclusive);
    tcase_add_test(tc, test_reserved);
    tcase_add_test(tc, test_full_range_edges);
    tcase_add_test(tc, test_misuse_refused);
    tcase_add_test(tc, test_randomized_against_model);
    suite_add_tcase(s, tc);
    return s;
}

PS_TEST_MAIN(port_pool_suite)
