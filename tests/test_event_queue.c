/* The future event set: order, ties, cancellation, handles, memory reuse. */
#include <glib.h>

#include "event_queue.h"
#include "rng.h"
#include "test_util.h"


/* Two distinct handlers, so a test can tell which one an event carries. */
static void handler_a(void *ctx, uint64_t arg)
{
    (void)ctx;
    (void)arg;
}

static void handler_b(void *ctx, uint64_t arg)
{
    (void)ctx;
    (void)arg;
}

START_TEST(test_empty_queue)
{
    SimQueue *q = sim_queue_new();
    SimEvent ev;
    ck_assert_int_eq(sim_queue_length(q), 0);
    ck_assert(sim_queue_peek_time(q) == SIM_TIME_NEVER);
    ck_assert(!sim_queue_pop(q, &ev));
    ck_assert(!sim_queue_cancel(q, SIM_EVENT_NONE));
    sim_queue_free(q);
}
END_TEST

START_TEST(test_pop_returns_what_was_pushed)
{
    SimQueue *q = sim_queue_new();
    int ctx_a = 0, ctx_b = 0;
    sim_queue_push(q, 20, handler_b, &ctx_b, 0xBBBBull << 40);
    sim_queue_push(q, 10, handler_a, &ctx_a, 7);
    ck_assert_int_eq(sim_queue_length(q), 2);
    ck_assert_int_eq(sim_queue_peek_time(q), 10);

    SimEvent ev;
    ck_assert(sim_queue_pop(q, &ev));
    ck_assert_int_eq(ev.time, 10);
    ck_assert(ev.handler == handler_a);
    ck_assert_ptr_eq(ev.ctx, &ctx_a);
    ck_assert_uint_eq(ev.arg, 7);
    ck_assert_int_eq(sim_queue_peek_time(q), 20);

    ck_assert(sim_queue_pop(q, &ev));
    ck_assert_int_eq(ev.time, 20);
    ck_assert(ev.handler == handler_b);
    ck_assert_ptr_eq(ev.ctx, &ctx_b);
    ck_assert_uint_eq(ev.arg, 0xBBBBull << 40);
    ck_assert_int_eq(sim_queue_length(q), 0);
    ck_assert(sim_queue_peek_time(q) == SIM_TIME_NEVER);
    sim_queue_free(q);
}
END_TEST

START_TEST(test_ties_run_in_insertion_order)
{
    SimQueue *q = sim_queue_new();
    /* Interleave two times so the heap has to reorder, with enough events at
     * each time to span several heap levels. */
    for (uint64_t i = 0; i < 300; i++)
        sim_queue_push(q, (i % 2) ? 5 : 9, handler_b, NULL, i);
    SimEvent ev;
    uint64_t expected_odd = 1, expected_even = 0;
    for (int i = 0; i < 150; i++) {
        ck_assert(sim_queue_pop(q, &ev));
        ck_assert_int_eq(ev.time, 5);
        ck_assert_uint_eq(ev.arg, expected_odd);
        expected_odd += 2;
    }
    for (int i = 0; i < 150; i++) {
        ck_assert(sim_queue_pop(q, &ev));
        ck_assert_int_eq(ev.time, 9);
        ck_assert_uint_eq(ev.arg, expected_even);
        expected_even += 2;
    }
    sim_queue_free(q);
}
END_TEST

START_TEST(test_tie_order_survives_cancellation)
{
    SimQueue *q = sim_queue_new();
    SimEventId ids[64];
    for (uint64_t i = 0; i < 64; i++)
        ids[i] = sim_queue_push(q, 100, handler_b, NULL, i);
    for (int i = 0; i < 64; i += 3)
        ck_assert(sim_queue_cancel(q, ids[i]));
    /* Re-pushing at the same time must queue behind every survivor. */
    sim_queue_push(q, 100, handler_b, NULL, 1000);
    SimEvent ev;
    for (uint64_t i = 0; i < 64; i++) {
        if (i % 3 == 0)
            continue;
        ck_assert(sim_queue_pop(q, &ev));
        ck_assert_uint_eq(ev.arg, i);
    }
    ck_assert(sim_queue_pop(q, &ev));
    ck_assert_uint_eq(ev.arg, 1000);
    ck_assert(!sim_queue_pop(q, &ev));
    sim_queue_free(q);
}
END_TEST

/* A pending event as the reference model sees it. */
typedef struct {
    SimTime time;
    uint64_t order; /* insertion order, also the event's arg */
    SimEventId id;
} RefEvent;

static guint ref_earliest(GArray *ref)
{
    guint best = 0;
    for (guint i = 1; i < ref->len; i++) {
        RefEvent *a = &g_array_index(ref, RefEvent, i);
        RefEvent *b = &g_array_index(ref, RefEvent, best);
        if (a->time < b->time || (a->time == b->time && a->order < b->order))
            best = i;
    }
    return best;
}

/* Random pushes, pops and cancels checked step by step against a plain array
 * searched linearly. Times come from a narrow range so ties are frequent.
 * With lanes, most pushes go through sim_queue_push_delayed() with a few
 * recurring delays (zero included), mixed with plain pushes, so the FIFO
 * lanes (a compact one included), their cancelled entries and the heap
 * must interleave exactly.
 * A nonzero seq_limit makes the queue renumber its 32-bit insertion
 * sequences when they reach it, with ties pending across it; the growth
 * phase is then short so that the pending events (~1000) stay well below
 * the limit and renumbering comes round often. */
static void check_random_operations(gboolean lanes, uint32_t seq_limit)
{
    static const SimTime delays[] = {0, 0, 3, 7, 49};
    SimRng rng;
    sim_rng_seed(&rng, 42, "event_queue test", 0);
    SimQueue *q = sim_queue_new();
    if (seq_limit)
        sim_queue_set_seq_limit(q, seq_limit);
    GArray *ref = g_array_new(FALSE, FALSE, sizeof(RefEvent));
    GArray *stale = g_array_new(FALSE, FALSE, sizeof(SimEventId));
    SimTime clock = 0;
    uint64_t next_order = 0;
    guint n_pops = 0, n_cancels = 0, n_stale = 0, n_any = 0;

    for (int step = 0; step < 60000; step++) {
        uint32_t op = sim_rng_below(&rng, 100);
        /* Grow for the first third, then hover, so the heap is deep and
         * shrinks and regrows through its levels. */
        uint32_t push_share = step < (seq_limit ? 1000 : 20000) ? 70 : 48;
        if (op < push_share || ref->len == 0) {
            RefEvent e = { .time = clock + (SimTime)sim_rng_below(&rng, 50),
                           .order = next_order++ };
            guint any_before = n_any;
            if (lanes && sim_rng_below(&rng, 6) == 0) {
                /* a compact lane: mostly in order, some pushes behind its
                 * tail or with another handler, which go the general way */
                e.time = clock + 20 - (sim_rng_below(&rng, 4) == 0 ? sim_rng_below(&rng, 15) : 0);
                SimHandler h = sim_rng_below(&rng, 10) == 0 ? handler_a : handler_b;
                e.id = sim_queue_push_compact(q, e.time, 5, h, NULL, (uint32_t)e.order);
            } else if (lanes && sim_rng_below(&rng, 7) == 0) {
                /* never-cancelled compact events in any order: the
                 * class's FIFO lane while in order, else its heap lane;
                 * another handler goes the general way. No handle. */
                e.time = clock + (SimTime)sim_rng_below(&rng, 40);
                SimHandler h = sim_rng_below(&rng, 12) == 0 ? handler_a : handler_b;
                sim_queue_push_compact_any(q, e.time, 9, h, NULL, (uint32_t)e.order);
                e.id = SIM_EVENT_NONE;
                n_any++;
            } else if (lanes && sim_rng_below(&rng, 8) == 0) {
                /* a timer wheel: now + 30 rounded up to a tick of 16 */
                e.time = (clock + 30 + 15) / 16 * 16;
                e.id = sim_queue_push_ordered(q, e.time, 7, handler_b, NULL, e.order);
            } else if (lanes && sim_rng_below(&rng, 4) != 0) {
                SimTime d = delays[sim_rng_below(&rng, G_N_ELEMENTS(delays))];
                e.time = clock + d;
                e.id = sim_queue_push_delayed(q, e.time, d, handler_b, NULL, e.order);
            } else {
                e.id = sim_queue_push(q, e.time, handler_b, NULL, e.order);
            }
            REQUIRE(e.id != SIM_EVENT_NONE || n_any > any_before);
            g_array_append_val(ref, e);
        } else if (op < 85) {
            guint i = ref_earliest(ref);
            RefEvent want = g_array_index(ref, RefEvent, i);
            REQUIRE_U64_EQ(sim_queue_peek_time(q), want.time);
            SimEvent got;
            REQUIRE(sim_queue_pop(q, &got));
            REQUIRE_U64_EQ(got.time, want.time);
            REQUIRE_U64_EQ(got.arg, want.order);
            clock = got.time; /* events are never scheduled in the past */
            g_array_append_val(stale, want.id);
            g_array_remove_index_fast(ref, i);
            n_pops++;
        } else if (op < 95) {
            guint i = sim_rng_below(&rng, ref->len);
            RefEvent victim = g_array_index(ref, RefEvent, i);
            if (victim.id == SIM_EVENT_NONE) /* pushed with no handle */
                continue;
            REQUIRE(sim_queue_cancel(q, victim.id));
            g_array_append_val(stale, victim.id);
            g_array_remove_index_fast(ref, i);
            n_cancels++;
        } else if (stale->len > 0) {
            SimEventId old = g_array_index(stale, SimEventId, sim_rng_below(&rng, stale->len));
            REQUIRE(!sim_queue_cancel(q, old));
            n_stale++;
        }
        REQUIRE_U64_EQ(sim_queue_length(q), ref->len);
    }
    /* Drain: the rest must come out in reference order too. */
    while (ref->len > 0) {
        guint i = ref_earliest(ref);
        SimEvent got;
        REQUIRE(sim_queue_pop(q, &got));
        REQUIRE_U64_EQ(got.arg, g_array_index(ref, RefEvent, i).order);
        g_array_remove_index_fast(ref, i);
    }
    SimEvent none;
    ck_assert(!sim_queue_pop(q, &none));
    /* The mix really exercised every operation. */
    ck_assert_uint_gt(n_pops, 10000);
    ck_assert_uint_gt(n_cancels, 3000);
    ck_assert_uint_gt(n_stale, 1000);
    if (lanes)
        ck_assert_uint_gt(n_any, 3000);

    g_array_free(ref, TRUE);
    g_array_free(stale, TRUE);
    sim_queue_free(q);
}

START_TEST(test_matches_reference_under_random_operations)
{
    check_random_operations(FALSE, 0);
}
END_TEST

START_TEST(test_lanes_match_reference_under_random_operations)
{
    check_random_operations(TRUE, 0);
}
END_TEST

/* The limit is about twice the entries held (pending and tombstones), so
 * renumbering happens a dozen times or more, each time with most sequences
 * far from their new values. */
START_TEST(test_order_survives_sequence_renumbering)
{
    check_random_operations(FALSE, 4000);
    check_random_operations(TRUE, 4000);
}
END_TEST

START_TEST(test_cancel_pending_stale_and_run_events)
{
    SimQueue *q = sim_queue_new();
    SimEventId early = sim_queue_push(q, 1, handler_a, NULL, 1);
    SimEventId middle = sim_queue_push(q, 2, handler_a, NULL, 2);
    SimEventId late = sim_queue_push(q, 3, handler_a, NULL, 3);

    ck_assert(sim_queue_cancel(q, middle));
    ck_assert_int_eq(sim_queue_length(q), 2);
    ck_assert(!sim_queue_cancel(q, middle)); /* twice: already gone */

    SimEvent ev;
    ck_assert(sim_queue_pop(q, &ev));
    ck_assert_uint_eq(ev.arg, 1);
    ck_assert(!sim_queue_cancel(q, early)); /* already run */

    ck_assert(sim_queue_pop(q, &ev));
    ck_assert_uint_eq(ev.arg, 3); /* the cancelled event never comes out */
    ck_assert(!sim_queue_pop(q, &ev));
    ck_assert(!sim_queue_cancel(q, late));

    /* Handles that were never issued. */
    ck_assert(!sim_queue_cancel(q, SIM_EVENT_NONE));
    ck_assert(!sim_queue_cancel(q, ((uint64_t)1 << 32) | 100000));
    ck_assert(!sim_queue_cancel(q, UINT64_MAX));
    sim_queue_free(q);
}
END_TEST

START_TEST(test_cancel_root_and_last)
{
    SimQueue *q = sim_queue_new();
    SimEventId ids[20];
    for (int i = 0; i < 20; i++)
        ids[i] = sim_queue_push(q, 100 + i, handler_b, NULL, (uint64_t)i);
    ck_assert(sim_queue_cancel(q, ids[0]));  /* the root */
    ck_assert(sim_queue_cancel(q, ids[19])); /* the last leaf */
    ck_assert(sim_queue_cancel(q, ids[7]));  /* an inner node */
    ck_assert_int_eq(sim_queue_peek_time(q), 101);
    SimEvent ev;
    for (int i = 1; i < 19; i++) {
        if (i == 7)
            continue;
        ck_assert(sim_queue_pop(q, &ev));
        ck_assert_uint_eq(ev.arg, (uint64_t)i);
    }
    ck_assert_int_eq(sim_queue_length(q), 0);
    sim_queue_free(q);
}
END_TEST

/* A slot is reused as soon as its event is gone, but the handle of the old
 * event must not name the new one. */
START_TEST(test_stale_handle_does_not_cancel_slot_successor)
{
    SimQueue *q = sim_queue_new();
    SimEventId first = sim_queue_push(q, 5, handler_b, NULL, 1);
    ck_assert(sim_queue_cancel(q, first));
    SimEventId second = sim_queue_push(q, 6, handler_b, NULL, 2);
    ck_assert(second != first);
    ck_assert(!sim_queue_cancel(q, first));
    ck_assert_int_eq(sim_queue_length(q), 1);
    SimEvent ev;
    ck_assert(sim_queue_pop(q, &ev));
    ck_assert_uint_eq(ev.arg, 2);
    sim_queue_free(q);
}
END_TEST

/* Only a handle the queue issued for a pending event cancels anything: no
 * other 64-bit value, whatever slot or generation bits it happens to carry,
 * may remove an event or touch a free slot. */
START_TEST(test_forged_handles_cancel_nothing)
{
    SimQueue *q = sim_queue_new();
    GHashTable *live = g_hash_table_new(g_int64_hash, g_int64_equal);
    SimEventId ids[16];
    for (int i = 0; i < 16; i++)
        ids[i] = sim_queue_push(q, i, handler_b, NULL, (uint64_t)i);
    /* Free half the slots (some twice over) so free and reused slots exist. */
    SimEvent ev;
    for (int i = 0; i < 8; i++)
        ck_assert(sim_queue_cancel(q, ids[i]));
    for (int i = 0; i < 4; i++)
        ids[i] = sim_queue_push(q, 100 + i, handler_b, NULL, 100 + (uint64_t)i);
    ck_assert(sim_queue_pop(q, &ev));
    ck_assert_uint_eq(ev.arg, 8);
    for (int i = 0; i < 4; i++)
        g_hash_table_add(live, &ids[i]);
    for (int i = 9; i < 16; i++)
        g_hash_table_add(live, &ids[i]);

    for (uint64_t generation = 0; generation < 8; generation++) {
        for (uint64_t low = 0; low < 20; low++) {
            SimEventId forged = (generation << 32) | low;
            if (g_hash_table_contains(live, &forged))
                continue;
            ck_assert_msg(!sim_queue_cancel(q, forged), "forged id %" G_GUINT64_FORMAT
                          " cancelled an event", forged);
        }
    }
    ck_assert_uint_eq(sim_queue_length(q), 11);
    uint64_t want[] = { 9, 10, 11, 12, 13, 14, 15, 100, 101, 102, 103 };
    for (guint i = 0; i < G_N_ELEMENTS(want); i++) {
        ck_assert(sim_queue_pop(q, &ev));
        ck_assert_uint_eq(ev.arg, want[i]);
    }
    g_hash_table_destroy(live);
    sim_queue_free(q);
}
END_TEST

static int compare_ids(const void *a, const void *b)
{
    SimEventId x = *(const SimEventId *)a, y = *(const SimEventId *)b;
    return (x > y) - (x < y);
}

START_TEST(test_ids_never_reused)
{
    SimQueue *q = sim_queue_new();
    GArray *ids = g_array_new(FALSE, FALSE, sizeof(SimEventId));
    SimEvent ev;
    /* A few pending events and a fast cycle: the same handful of slots is
     * reused tens of thousands of times. */
    for (int i = 0; i < 4; i++) {
        SimEventId id = sim_queue_push(q, i, handler_b, NULL, 0);
        g_array_append_val(ids, id);
    }
    for (int i = 0; i < 50000; i++) {
        REQUIRE(sim_queue_pop(q, &ev));
        SimEventId id = sim_queue_push(q, ev.time + 4, handler_b, NULL, 0);
        g_array_append_val(ids, id);
    }
    g_array_sort(ids, compare_ids);
    for (guint i = 1; i < ids->len; i++) {
        SimEventId id = g_array_index(ids, SimEventId, i);
        if (id == g_array_index(ids, SimEventId, i - 1))
            ck_abort_msg("id %" G_GUINT64_FORMAT " issued twice", id);
    }
    g_array_free(ids, TRUE);
    sim_queue_free(q);
}
END_TEST

/* A steady push/pop/cancel cycle stops allocating: once the queue has held
 * its live events plus the tombstones cancellation leaves (dropped when
 * they reach the top or outnumber live entries), it never grows again. */
START_TEST(test_steady_state_does_not_grow)
{
    SimQueue *q = sim_queue_new();
    SimRng rng;
    sim_rng_seed(&rng, 7, "steady", 0);
    for (int i = 0; i < 1000; i++)
        sim_queue_push(q, (SimTime)sim_rng_below(&rng, 1000), handler_b, NULL, 0);
    ck_assert_uint_ge(sim_queue_capacity(q), 1000);

    SimEvent ev;
    SimEventId victim = SIM_EVENT_NONE;
    size_t capacity = 0;
    for (int i = 0; i < 200000; i++) {
        REQUIRE(sim_queue_pop(q, &ev));
        sim_queue_push(q, ev.time + (SimTime)sim_rng_below(&rng, 1000), handler_b, NULL, 0);
        /* Cancel-and-replace, as a timer reset does, must reuse slots too. */
        if (victim != SIM_EVENT_NONE)
            REQUIRE(sim_queue_cancel(q, victim));
        victim = sim_queue_push(q, ev.time + 500, handler_b, NULL, 0);
        if (i == 20000)
            capacity = sim_queue_capacity(q);
    }
    ck_assert_uint_eq(sim_queue_capacity(q), capacity);
    /* live events plus at most as many tombstones, rounded to a power of 2 */
    ck_assert_uint_le(capacity, 4096);
    ck_assert_uint_eq(sim_queue_length(q), 1001);
    sim_queue_free(q);
}
END_TEST

START_TEST(test_extreme_times)
{
    SimQueue *q = sim_queue_new();
    sim_queue_push(q, SIM_TIME_NEVER, handler_b, NULL, 3);
    sim_queue_push(q, -SIM_TIME_NEVER, handler_b, NULL, 1);
    sim_queue_push(q, 0, handler_b, NULL, 2);
    SimEvent ev;
    for (uint64_t want = 1; want <= 3; want++) {
        REQUIRE(sim_queue_pop(q, &ev));
        ck_assert_uint_eq(ev.arg, want);
    }
    sim_queue_free(q);
}
END_TEST

static Suite *event_queue_suite(void)
{
    Suite *s = suite_create("event_queue");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_empty_queue);
    tcase_add_test(tc, test_pop_returns_what_was_pushed);
    tcase_add_test(tc, test_ties_run_in_insertion_order);
    tcase_add_test(tc, test_tie_order_survives_cancellation);
    tcase_add_test(tc, test_matches_reference_under_random_operations);
    tcase_add_test(tc, test_lanes_match_reference_under_random_operations);
    tcase_add_test(tc, test_order_survives_sequence_renumbering);
    tcase_add_test(tc, test_cancel_pending_stale_and_run_events);
    tcase_add_test(tc, test_cancel_root_and_last);
    tcase_add_test(tc, test_stale_handle_does_not_cancel_slot_successor);
    tcase_add_test(tc, test_forged_handles_cancel_nothing);
    tcase_add_test(tc, test_ids_never_reused);
    tcase_add_test(tc, test_steady_state_does_not_grow);
    tcase_add_test(tc, test_extreme_times);
    suite_add_tcase(s, tc);
    return s;
}

PS_TEST_MAIN(event_queue_suite)
