/* Reuse distance and predictability of allocated ports (port_trace.h). */
#include "port_trace.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint16_t last_port;
    int32_t last_step;
    guint seen;
} DestSeq;

struct PsPortTrace {
    SimEngine *engine;
    /* 4-tuple hash -> release time + 1 (0 = never released) */
    GHashTable *released;
    /* (local, remote, remote port) hash -> DestSeq */
    GHashTable *seqs;
    GArray *distances; /* double seconds */
    guint64 takes, guesses, exact, window;
};

/* 64-bit FNV-1a: the tables key on hashes (collisions at 2^-64 per pair
 * would only perturb a statistic). */
static uint64_t fnv(uint64_t h, const void *data, size_t n)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

static uint64_t addr_hash(uint64_t h, const SimAddress *a)
{
    h = fnv(h, &a->family, 1);
    return fnv(h, a->bytes, a->family == 4 ? 4 : 16);
}

static uint64_t dest_key(const PsPortEvent *ev)
{
    uint64_t h = 14695981039346656037ULL;
    h = addr_hash(h, ev->local);
    h = addr_hash(h, ev->remote);
    return fnv(h, &ev->remote_port, sizeof ev->remote_port);
}

/* A zero hash is the table's "absent": move it. */
static gpointer as_key(uint64_t h) { return GSIZE_TO_POINTER(h ? h : 1); }

static void observe(void *data, const PsPortEvent *ev)
{
    PsPortTrace *t = data;
    uint64_t d = dest_key(ev);
    uint64_t tuple = fnv(d, &ev->port, sizeof ev->port);
    SimTime now = sim_engine_now(t->engine);
    if (!ev->take) {
        g_hash_table_insert(t->released, as_key(tuple), GSIZE_TO_POINTER((gsize)now + 1));
        return;
    }
    t->takes++;
    gpointer rel = g_hash_table_lookup(t->released, as_key(tuple));
    if (rel) {
        SimTime released_at = (SimTime)(GPOINTER_TO_SIZE(rel) - 1);
        double gap = sim_time_to_seconds(now - released_at);
        g_array_append_val(t->distances, gap);
    }
    DestSeq *s = g_hash_table_lookup(t->seqs, as_key(d));
    if (!s) {
        s = g_new0(DestSeq, 1);
        g_hash_table_insert(t->seqs, as_key(d), s);
    }
    int32_t step = (int32_t)ev->port - (int32_t)s->last_port;
    if (s->seen >= 2) {
        t->guesses++;
        if (ev->port == (uint16_t)(s->last_port + s->last_step))
            t->exact++;
        if (abs(step) <= 16)
            t->window++;
    }
    if (s->seen >= 1)
        s->last_step = step;
    s->last_port = ev->port;
    s->seen++;
}

PsPortTrace *ps_port_trace_attach(PsNetwork *net, SimEngine *engine)
{
    PsPortTrace *t = g_new0(PsPortTrace, 1);
    t->engine = engine;
    t->released = g_hash_table_new(g_direct_hash, g_direct_equal);
    t->seqs = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
    t->distances = g_array_new(FALSE, FALSE, sizeof(double));
    ps_network_set_port_observer(net, observe, t);
    return t;
}

void ps_port_trace_free(PsPortTrace *t)
{
    if (!t)
        return;
    g_hash_table_destroy(t->released);
    g_hash_table_destroy(t->seqs);
    g_array_free(t->distances, TRUE);
    g_free(t);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank quantile of a sorted array. */
static double quantile(const GArray *sorted, double q)
{
    if (sorted->len == 0)
        return NAN;
    guint i = (guint)ceil(q * sorted->len);
    return g_array_index(sorted, double, i ? i - 1 : 0);
}

void ps_port_trace_stats(const PsPortTrace *t, PsPortTraceStats *out)
{
    memset(out, 0, sizeof *out);
    out->takes = t->takes;
    out->reuses = t->distances->len;
    GArray *sorted = g_array_copy(t->distances);
    g_array_sort(sorted, cmp_double);
    out->reuse_median_s = quantile(sorted, 0.5);
    out->reuse_p5_s = quantile(sorted, 0.05);
    guint under = 0;
    while (under < sorted->len && g_array_index(sorted, double, under) < 60.0)
        under++;
    out->reuse_under_60s = sorted->len ? (double)under / sorted->len : NAN;
    g_array_free(sorted, TRUE);
    out->guesses = t->guesses;
    out->predict_exact = t->guesses ? (double)t->exact / t->guesses : NAN;
    out->predict_window = t->guesses ? (double)t->window / t->guesses : NAN;
}
