/* The allocator registry and the wrapper that joins a strategy to a pool:
 * the strategy proposes, the pool decides, the wrapper takes and counts. */
#include "allocator.h"

#include <string.h>
#include "alloc_builtin.h"

/* Fixed order: `portsim list allocators` and the schema choices follow it. */
static const PsAllocatorClass *const builtin[] = {
    &ps_alloc_sequential_class,
    &ps_alloc_random_class,
    &ps_alloc_linux_class,
};

struct PsAllocator {
    const PsAllocatorClass *klass;
    void *state;
    uint16_t lo, hi;
    gboolean scan; /* offer the pool's word-at-a-time search to pick() */
};

const PsAllocatorClass *ps_allocator_class_find(const char *name)
{
    if (!name)
        return NULL;
    for (guint i = 0; i < G_N_ELEMENTS(builtin); i++)
        if (strcmp(builtin[i]->name, name) == 0)
            return builtin[i];
    return NULL;
}

guint ps_allocator_n_classes(void) { return G_N_ELEMENTS(builtin); }

const PsAllocatorClass *ps_allocator_class_at(guint i)
{
    g_return_val_if_fail(i < G_N_ELEMENTS(builtin), NULL);
    return builtin[i];
}

const char *ps_allocator_choices(void)
{
    /* Built once from the table, so the choices can never drift from it. */
    static gsize once = 0;
    static char *choices;
    if (g_once_init_enter(&once)) {
        GString *s = g_string_new(NULL);
        for (guint i = 0; i < G_N_ELEMENTS(builtin); i++)
            g_string_append_printf(s, "%s%s", i ? "|" : "", builtin[i]->name);
        choices = g_string_free(s, FALSE);
        g_once_init_leave(&once, 1);
    }
    return choices;
}

PsAllocator *ps_allocator_new(const PsAllocatorClass *klass, uint16_t lo, uint16_t hi,
                              SimRng *rng)
{
    g_return_val_if_fail(klass != NULL && klass->create && klass->pick &&
                             klass->exhausted_probes,
                         NULL);
    g_return_val_if_fail(lo >= 1 && lo <= hi, NULL);
    /* Without a stream of its own, a fixed one keeps runs reproducible. */
    SimRng fallback;
    if (!rng) {
        sim_rng_seed(&fallback, 0, klass->name, 0);
        rng = &fallback;
    }
    PsAllocator *alloc = g_new0(PsAllocator, 1);
    alloc->klass = klass;
    alloc->lo = lo;
    alloc->hi = hi;
    alloc->scan = TRUE;
    alloc->state = klass->create(lo, hi, rng);
    return alloc;
}

void ps_allocator_free(PsAllocator *alloc)
{
    if (!alloc)
        return;
    if (alloc->klass->destroy)
        alloc->klass->destroy(alloc->state);
    g_free(alloc);
}

const char *ps_allocator_name(const PsAllocator *alloc)
{
    g_return_val_if_fail(alloc != NULL, NULL);
    return alloc->klass->name;
}

typedef struct {
    PsPortPool *pool;
    PsDestId dest;
} TestCtx;

static gboolean connect_test(void *ctx, uint16_t port)
{
    const TestCtx *t = ctx;
    return ps_pool_connect_ok(t->pool, t->dest, port);
}

static gboolean bind_test(void *ctx, uint16_t port)
{
    const TestCtx *t = ctx;
    return ps_pool_bind_ok(t->pool, port);
}

static int64_t connect_scan(void *ctx, uint32_t start, uint32_t step, uint32_t count,
                            uint32_t span)
{
    const TestCtx *t = ctx;
    return ps_pool_first_usable(t->pool, t->dest, FALSE, start, step, count, span);
}

static int64_t bind_scan(void *ctx, uint32_t start, uint32_t step, uint32_t count,
                         uint32_t span)
{
    const TestCtx *t = ctx;
    return ps_pool_first_usable(t->pool, 0, TRUE, start, step, count, span);
}

void ps_allocator_set_scan(PsAllocator *alloc, gboolean enabled)
{
    g_return_if_fail(alloc != NULL);
    alloc->scan = enabled;
}

int ps_allocator_take(PsAllocator *alloc, PsPortPool *pool, PsDestId dest,
                      const PsAllocRequest *req, uint32_t *probes)
{
    g_return_val_if_fail(probes != NULL, -1);
    *probes = 0;
    g_return_val_if_fail(alloc != NULL && pool != NULL && req != NULL, -1);
    gboolean connect = req->mode == PS_ALLOC_CONNECT;
    g_return_val_if_fail(!connect || dest < ps_pool_n_dests(pool), -1);

    /* Nothing usable at all: charge what the walk would have cost, skip it. */
    guint n_free = connect ? ps_pool_connect_free(pool, dest) : ps_pool_bind_free(pool);
    if (n_free == 0) {
        *probes = alloc->klass->exhausted_probes(alloc->state, req);
        return -1;
    }

    TestCtx ctx = { pool, dest };
    PsPortTest test = connect ? connect_test : bind_test;
    PsAllocRequest r = *req;
    r.scan = NULL;
    r.scan_ctx = NULL;
    /* Offsets are relative to the allocator's range: only valid when it is
     * the pool's. */
    if (alloc->scan && alloc->lo == ps_pool_lo(pool) && alloc->hi == ps_pool_hi(pool)) {
        r.scan = connect ? connect_scan : bind_scan;
        r.scan_ctx = &ctx;
    }
    int port = alloc->klass->pick(alloc->state, &r, test, &ctx, probes);
    if (port < 0)
        return -1;
    /* A strategy (perhaps a plugin) must not return a port it was refused. */
    if (port > G_MAXUINT16 || !test(&ctx, (uint16_t)port)) {
        g_critical("allocator '%s' returned unusable port %d", alloc->klass->name, port);
        return -1;
    }
    if (connect)
        ps_pool_connect_take(pool, dest, (uint16_t)port);
    else
        ps_pool_bind_take(pool, (uint16_t)port);
    return port;
}
