/* Backend selection: the algorithms HAProxy, nginx, Envoy and L4 balancers
 * use (ports.md §6). Weighted round robin is nginx's smooth variant
 * (ngx_http_upstream_round_robin.c ngx_http_upstream_get_peer()); consistent
 * hashing is Maglev (Eisenbud et al., NSDI 2016, section 3.4): each backend
 * fills a prime-sized table along its own permutation, so removing one
 * moves about 1/N of the keys. */
#include "lb_balance.h"

#include <string.h>

/* Envoy's default Maglev table size (a prime): 65537. */
#define MAGLEV_M 65537u

struct PsBalancer {
    PsBalanceKind kind;
    guint n;
    guint *weight;
    gboolean *up;
    gint64 *current; /* smooth weighted round robin */
    guint next;      /* round robin cursor */
    SimRng rng;
    gint32 *table;   /* Maglev lookup table, MAGLEV_M entries */
};

static const char *const names[] = {"round-robin",  "weighted-round-robin", "least-connections",
                                    "random",       "power-of-two",         "source-hash",
                                    "consistent-hash"};

gboolean ps_balance_parse(const char *name, PsBalanceKind *out)
{
    for (guint i = 0; i < G_N_ELEMENTS(names); i++)
        if (g_strcmp0(name, names[i]) == 0) {
            *out = (PsBalanceKind)i;
            return TRUE;
        }
    return FALSE;
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static void maglev_build(PsBalancer *b)
{
    guint m = MAGLEV_M;
    for (guint j = 0; j < m; j++)
        b->table[j] = -1;
    guint n_up = 0;
    for (guint i = 0; i < b->n; i++)
        n_up += b->up[i];
    if (n_up == 0)
        return;
    /* A backend's permutation depends on its index only, so the others
     * keep their preferences when one leaves. */
    guint *offset = g_new(guint, b->n), *skip = g_new(guint, b->n), *nxt = g_new0(guint, b->n);
    for (guint i = 0; i < b->n; i++) {
        offset[i] = (guint)(mix(0x9e3779b97f4a7c15ULL ^ i) % m);
        skip[i] = (guint)(mix(0x7f4a7c159e3779b9ULL + i) % (m - 1)) + 1;
    }
    guint filled = 0;
    while (filled < m) {
        for (guint i = 0; i < b->n && filled < m; i++) {
            if (!b->up[i])
                continue;
            /* Weights: a backend of weight w takes w turns per round. */
            for (guint w = 0; w < b->weight[i] && filled < m; w++) {
                guint c;
                do {
                    c = (guint)((offset[i] + (uint64_t)nxt[i] * skip[i]) % m);
                    nxt[i]++;
                } while (b->table[c] >= 0);
                b->table[c] = (gint32)i;
                filled++;
            }
        }
    }
    g_free(offset);
    g_free(skip);
    g_free(nxt);
}

PsBalancer *ps_balancer_new(PsBalanceKind kind, guint n, const guint *weights, const SimRng *rng)
{
    PsBalancer *b = g_new0(PsBalancer, 1);
    b->kind = kind;
    b->n = n;
    b->weight = g_new(guint, n);
    b->up = g_new(gboolean, n);
    b->current = g_new0(gint64, n);
    for (guint i = 0; i < n; i++) {
        b->weight[i] = weights ? MAX(weights[i], 1u) : 1;
        b->up[i] = TRUE;
    }
    if (rng)
        b->rng = *rng;
    else
        sim_rng_seed(&b->rng, 1, "balancer", 0);
    if (kind == PS_BAL_CONSISTENT_HASH) {
        b->table = g_new(gint32, MAGLEV_M);
        maglev_build(b);
    }
    return b;
}

void ps_balancer_free(PsBalancer *b)
{
    if (!b)
        return;
    g_free(b->weight);
    g_free(b->up);
    g_free(b->current);
    g_free(b->table);
    g_free(b);
}

void ps_balancer_set_up(PsBalancer *b, guint i, gboolean up)
{
    if (i >= b->n || b->up[i] == up)
        return;
    b->up[i] = up;
    b->current[i] = 0;
    if (b->table)
        maglev_build(b);
}

gboolean ps_balancer_is_up(const PsBalancer *b, guint i) { return i < b->n && b->up[i]; }

guint ps_balancer_table_size(const PsBalancer *b)
{
    return b->table ? MAGLEV_M : 0;
}

/* A weighted draw among the backends that are up. */
static gint random_up(PsBalancer *b, guint total)
{
    uint32_t r = sim_rng_below(&b->rng, total);
    for (guint i = 0; i < b->n; i++) {
        if (!b->up[i])
            continue;
        if (r < b->weight[i])
            return (gint)i;
        r -= b->weight[i];
    }
    return -1;
}

/* load / weight, compared without division. */
static gboolean lighter(const PsBalancer *b, const uint64_t *load, guint i, guint j)
{
    return load[i] * b->weight[j] < load[j] * b->weight[i];
}

gint ps_balancer_pick(PsBalancer *b, uint64_t key, const uint64_t *load)
{
    guint n_up = 0, total = 0;
    for (guint i = 0; i < b->n; i++)
        if (b->up[i]) {
            n_up++;
            total += b->weight[i];
        }
    if (n_up == 0)
        return -1;
    switch (b->kind) {
    case PS_BAL_ROUND_ROBIN:
        for (guint k = 0; k < b->n; k++) {
            guint i = (b->next + k) % b->n;
            if (b->up[i]) {
                b->next = (i + 1) % b->n;
                return (gint)i;
            }
        }
        return -1;
    case PS_BAL_WEIGHTED_ROUND_ROBIN: {
        /* Smooth WRR: every up backend gains its weight, the largest wins
         * and pays the total back; proportions are exact over each cycle of
         * `total` picks and the picks interleave. */
        gint best = -1;
        for (guint i = 0; i < b->n; i++) {
            if (!b->up[i])
                continue;
            b->current[i] += b->weight[i];
            if (best < 0 || b->current[i] > b->current[best])
                best = (gint)i;
        }
        b->current[best] -= total;
        return best;
    }
    case PS_BAL_LEAST_CONNECTIONS: {
        /* Ties go round robin, as HAProxy's leastconn does. */
        gint best = -1;
        for (guint k = 0; k < b->n; k++) {
            guint i = (b->next + k) % b->n;
            if (b->up[i] && (best < 0 || lighter(b, load, i, (guint)best)))
                best = (gint)i;
        }
        b->next = ((guint)best + 1) % b->n;
        return best;
    }
    case PS_BAL_RANDOM:
        return random_up(b, total);
    case PS_BAL_POWER_OF_TWO: {
        gint a = random_up(b, total);
        if (n_up == 1)
            return a;
        gint c;
        do
            c = random_up(b, total);
        while (c == a);
        return lighter(b, load, (guint)c, (guint)a) ? c : a;
    }
    case PS_BAL_SOURCE_HASH: {
        /* hash mod the number of up backends: the classic map that
         * reshuffles most keys when the set changes. */
        guint k = (guint)(mix(key) % n_up);
        for (guint i = 0; i < b->n; i++)
            if (b->up[i] && k-- == 0)
                return (gint)i;
        return -1;
    }
    case PS_BAL_CONSISTENT_HASH:
    default:
        return b->table[mix(key) % MAGLEV_M];
    }
}
