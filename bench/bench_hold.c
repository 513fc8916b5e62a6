/* hold: the future event set alone. N events pending; each step pops the
 * earliest and pushes one back at now + an increment, so N stays constant
 * (the classic hold model). portsim's SimQueue is measured against a bare
 * 4-ary heap of 16-byte (time, seq) entries written here, in the same
 * process, on the same increments, so the ratio is meaningful on a noisy
 * shared machine. Two increment kinds: exponential (mean 1 ms), where
 * every push is a heap insertion, and a constant delay (a TIME_WAIT-like
 * timer), where SimQueue's FIFO lanes apply. */
#include <glib.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_queue.h"
#include "rng.h"

typedef struct {
    SimTime time;
    uint64_t seq;
} Entry;

typedef struct {
    Entry *a;
    size_t n, cap;
} BareHeap;

static inline int before(Entry x, Entry y)
{
    return x.time < y.time || (x.time == y.time && x.seq < y.seq);
}

static void bare_push(BareHeap *h, Entry e)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 1024;
        h->a = g_renew(Entry, h->a, h->cap);
    }
    size_t i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 4;
        if (!before(e, h->a[p]))
            break;
        h->a[i] = h->a[p];
        i = p;
    }
    h->a[i] = e;
}

static Entry bare_pop(BareHeap *h)
{
    Entry top = h->a[0];
    Entry last = h->a[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 4 * i + 1;
        if (c >= h->n)
            break;
        size_t best = c;
        size_t end = MIN(c + 4, h->n);
        for (size_t k = c + 1; k < end; k++)
            if (before(h->a[k], h->a[best]))
                best = k;
        if (!before(h->a[best], last))
            break;
        h->a[i] = h->a[best];
        i = best;
    }
    if (h->n)
        h->a[i] = last;
    return top;
}

/* The pending events spread over one mean increment, the steady state of
 * the hold model, so a push lands anywhere in the queue. */
#define MEAN_INCREMENT (1 * SIM_MS)

static void nop(void *ctx, uint64_t arg) { (void)ctx; (void)arg; }

static double now_s(void) { return (double)g_get_monotonic_time() / 1e6; }

/* Increments are drawn up front so both structures see the same ones and
 * the RNG is not part of what is timed. */
static SimTime *increments(size_t n, gboolean constant)
{
    SimTime *inc = g_new(SimTime, n);
    SimRng rng;
    sim_rng_seed(&rng, 1, "bench hold", 0);
    for (size_t i = 0; i < n; i++)
        inc[i] = constant ? MEAN_INCREMENT
                          : (SimTime)(sim_rng_exponential(&rng, (double)MEAN_INCREMENT) + 1);
    return inc;
}

static double run_simqueue(size_t pending, size_t steps, const SimTime *fill, const SimTime *inc,
                           gboolean constant)
{
    SimQueue *q = sim_queue_new();
    /* In a steady state every pending timer was set with the one delay. */
    for (size_t i = 0; i < pending; i++)
        if (constant)
            sim_queue_push_delayed(q, fill[i], inc[0], nop, NULL, 0);
        else
            sim_queue_push(q, fill[i], nop, NULL, 0);
    SimEvent ev;
    double t0 = now_s();
    for (size_t i = 0; i < steps; i++) {
        sim_queue_pop(q, &ev);
        if (constant)
            sim_queue_push_delayed(q, ev.time + inc[i], inc[i], nop, NULL, 0);
        else
            sim_queue_push(q, ev.time + inc[i], nop, NULL, 0);
    }
    double dt = now_s() - t0;
    sim_queue_free(q);
    return (double)steps / dt;
}

static double run_bare(size_t pending, size_t steps, const SimTime *fill, const SimTime *inc)
{
    BareHeap h = {0};
    uint64_t seq = 0;
    for (size_t i = 0; i < pending; i++)
        bare_push(&h, (Entry){fill[i], seq++});
    double t0 = now_s();
    for (size_t i = 0; i < steps; i++) {
        Entry e = bare_pop(&h);
        bare_push(&h, (Entry){e.time + inc[i], seq++});
    }
    double dt = now_s() - t0;
    g_free(h.a);
    return (double)steps / dt;
}

int main(int argc, char **argv)
{
    /* --quick for `meson benchmark` smoke runs; the script runs the full set.
     * Pending sizes given as arguments replace the default ones (for
     * profiling one size). */
    gboolean quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    size_t sizes[8] = {1000, 100000, 1000000, 10000000};
    size_t n_sizes = quick ? 2 : 4;
    size_t steps = quick ? 200000 : 3000000;
    if (argc > 1 && !quick) {
        n_sizes = 0;
        for (int i = 1; i < argc && n_sizes < G_N_ELEMENTS(sizes); i++)
            sizes[n_sizes++] = strtoull(argv[i], NULL, 10);
    }
    printf("%-10s %10s %14s %14s %8s\n", "increment", "pending", "portsim ev/s", "bare heap ev/s",
           "ratio");
    for (int constant = 0; constant <= 1; constant++) {
        for (size_t s = 0; s < n_sizes; s++) {
            size_t pending = sizes[s];
            SimTime *inc = increments(steps, constant);
            SimTime *fill = g_new(SimTime, pending);
            SimRng rng;
            sim_rng_seed(&rng, 2, "bench fill", 0);
            for (size_t i = 0; i < pending; i++)
                fill[i] = constant ? (SimTime)i * MEAN_INCREMENT / (SimTime)pending
                                   : (SimTime)(sim_rng_uniform(&rng) * (double)MEAN_INCREMENT);
            /* Best of three each, interleaved, against noise. */
            double best_q = 0, best_b = 0;
            for (int rep = 0; rep < 3; rep++) {
                best_q = MAX(best_q, run_simqueue(pending, steps, fill, inc, constant));
                best_b = MAX(best_b, run_bare(pending, steps, fill, inc));
            }
            printf("%-10s %10zu %14.3g %14.3g %8.2f\n", constant ? "constant" : "exp", pending,
                   best_q, best_b, best_q / best_b);
            fflush(stdout);
            g_free(inc);
            g_free(fill);
        }
    }
    return 0;
}
