/* The TIME_WAIT takeover index (models/tw_index.h) against a GHashTable
 * reference: random inserts, replacements, removals and lookups, with the
 * whole content checked after each batch, so a lost or misplaced slot
 * (e.g. a wrong backward shift, which breaks the probe chains of the keys
 * after it) shows up as a lookup that disagrees with the reference. */
#include "test_util.h"
#include "tw_index.h"

/* Values name records; a record's key is keys[v]. */
typedef struct {
    uint64_t *keys;
} Records;

static uint64_t key_of(const void *ctx, uint32_t v)
{
    return ((const Records *)ctx)->keys[v];
}

static void check_all(const PsTwIndex *ix, GHashTable *ref, const Records *r, uint64_t universe)
{
    REQUIRE(ps_tw_index_size(ix) == g_hash_table_size(ref));
    /* Every key of the universe: present ones with their value, absent ones
     * not found. */
    for (uint64_t k = 0; k < universe; k++) {
        uint64_t key = (k % 7) << 16 | (k * 40503u & 0xffff); /* dest << 16 | port */
        uint32_t want = GPOINTER_TO_UINT(g_hash_table_lookup(ref, &key));
        REQUIRE(ps_tw_index_lookup(ix, key, key_of, r) == want);
    }
    /* The load bound holds and the capacity is a power of two. */
    if (ix->slots) {
        uint64_t cap = (uint64_t)ix->mask + 1;
        REQUIRE((cap & (cap - 1)) == 0);
        REQUIRE((uint64_t)ix->size * 4 <= cap * 3);
    }
}

static void run_random(uint64_t universe, guint ops, guint32 seed)
{
    GRand *rng = g_rand_new_with_seed(seed);
    Records r = {g_new0(uint64_t, ops + 2)};
    GHashTable *ref = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    PsTwIndex *ix = ps_tw_index_new();
    uint32_t next_v = 1;
    guint inserts = 0, replaces = 0, removes = 0, misses = 0;
    for (guint i = 0; i < ops; i++) {
        uint64_t k = (uint64_t)g_rand_int_range(rng, 0, (gint32)universe);
        uint64_t key = (k % 7) << 16 | (k * 40503u & 0xffff);
        gboolean present = g_hash_table_contains(ref, &key);
        /* Slightly more inserts than removals: the table grows through
         * several doublings while clusters keep being cut. */
        if (g_rand_int_range(rng, 0, 100) < 55) {
            uint32_t v = next_v++;
            r.keys[v] = key;
            ps_tw_index_insert(ix, key, v, key_of, &r);
            uint64_t *kp = g_new(uint64_t, 1);
            *kp = key;
            g_hash_table_insert(ref, kp, GUINT_TO_POINTER(v));
            present ? replaces++ : inserts++;
        } else {
            gboolean removed = ps_tw_index_remove(ix, key, key_of, &r);
            REQUIRE(removed == present);
            g_hash_table_remove(ref, &key);
            present ? removes++ : misses++;
        }
        if (i % 997 == 0)
            check_all(ix, ref, &r, universe);
    }
    check_all(ix, ref, &r, universe);
    /* Every kind of operation happened. */
    ck_assert_uint_gt(inserts, 100);
    ck_assert_uint_gt(replaces, 10);
    ck_assert_uint_gt(removes, 100);
    ck_assert_uint_gt(misses, 10);
    /* Drain in random order: every removal leaves the rest reachable. */
    GList *keys = g_hash_table_get_keys(ref);
    GPtrArray *order = g_ptr_array_new();
    for (GList *l = keys; l; l = l->next)
        g_ptr_array_add(order, l->data);
    g_list_free(keys);
    for (guint i = order->len; i > 1; i--) {
        guint j = (guint)g_rand_int_range(rng, 0, (gint32)i);
        gpointer t = order->pdata[i - 1];
        order->pdata[i - 1] = order->pdata[j];
        order->pdata[j] = t;
    }
    for (guint i = 0; i < order->len; i++) {
        uint64_t key = *(uint64_t *)order->pdata[i];
        REQUIRE(ps_tw_index_remove(ix, key, key_of, &r));
        g_hash_table_remove(ref, &key);
        if (i % 211 == 0)
            check_all(ix, ref, &r, universe);
    }
    g_ptr_array_free(order, TRUE);
    ck_assert_uint_eq(ps_tw_index_size(ix), 0);
    check_all(ix, ref, &r, universe);
    ps_tw_index_free(ix);
    g_hash_table_destroy(ref);
    g_free(r.keys);
    g_rand_free(rng);
}

/* A small universe: the table stays small and dense, so probe chains wrap
 * around its end and deletions cut long clusters. */
START_TEST(random_small)
{
    run_random(40, 20000, 7);
    run_random(200, 50000, 8);
}
END_TEST

/* A large one: growth through many doublings. */
START_TEST(random_large)
{
    run_random(60000, 200000, 9);
}
END_TEST

/* Growth keeps the load <= 3/4 and doubles: 3/4 of the capacity fits, one
 * more doubles it. */
START_TEST(growth)
{
    Records r = {g_new0(uint64_t, 5000)};
    PsTwIndex *ix = ps_tw_index_new();
    ck_assert_uint_eq(ps_tw_index_lookup(ix, 5, key_of, &r), 0);
    ck_assert(!ps_tw_index_remove(ix, 5, key_of, &r));
    for (uint32_t v = 1; v <= 3072; v++) {
        r.keys[v] = (uint64_t)v * 3;
        ps_tw_index_insert(ix, r.keys[v], v, key_of, &r);
    }
    ck_assert_uint_eq(ix->mask + 1, 4096);
    r.keys[3073] = 3073 * 3;
    ps_tw_index_insert(ix, r.keys[3073], 3073, key_of, &r);
    ck_assert_uint_eq(ix->mask + 1, 8192);
    for (uint32_t v = 1; v <= 3073; v++)
        REQUIRE(ps_tw_index_lookup(ix, (uint64_t)v * 3, key_of, &r) == v);
    ck_assert_uint_eq(ps_tw_index_lookup(ix, 1, key_of, &r), 0);
    ps_tw_index_free(ix);
    g_free(r.keys);
}
END_TEST

static Suite *tw_index_suite(void)
{
    Suite *s = suite_create("tw_index");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, random_small);
    tcase_add_test(tc, random_large);
    tcase_add_test(tc, growth);
    suite_add_tcase(s, tc);
    return s;
}

PS_TEST_MAIN(tw_index_suite)
