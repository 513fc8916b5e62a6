/* The allocator registry and the wrapper that joins a strategy to a pool:
 * the strategy proposes, the pool decides, the wrapper takes and counts. */
#include "allocator.h"

#include <string.h>
#include "alloc_builtin.h"
#include "sim_error.h"

/* Fixed order: `portsim list allocators` and the schema choices follow it. */
static const PsAllocatorClass *const builtin[] = {
    &ps_alloc_sequential_class,
    &ps_alloc_random_class,
    &ps_alloc_random_pick_class,
    &ps_alloc_hash_class,
    &ps_alloc_double_hash_class,
    &ps_alloc_random_increments_class,
    &ps_alloc_linux_class,
};

/* ---- allocator_params ---- */

typedef struct {
    char *name;
    char *value;
    gboolean read;
} Param;

struct PsAllocParams {
    GArray *items; /* Param */
    char *text;
};

static void param_clear(gpointer p)
{
    Param *x = p;
    g_free(x->name);
    g_free(x->value);
}

PsAllocParams *ps_alloc_params_parse(const char *text, GError **error)
{
    PsAllocParams *params = g_new0(PsAllocParams, 1);
    params->items = g_array_new(FALSE, TRUE, sizeof(Param));
    g_array_set_clear_func(params->items, param_clear);
    params->text = g_strdup(text ? text : "");
    if (!text)
        return params;
    g_auto(GStrv) parts = g_strsplit(text, ",", -1);
    for (guint i = 0; parts[i]; i++) {
        char *item = g_strstrip(parts[i]);
        if (*item == '\0')
            continue; /* empty text, or a stray comma */
        char *eq = strchr(item, '=');
        if (!eq) {
            g_set_error(error, SIM_ERROR, SIM_ERROR_INPUT,
                        "'%s' is not name=value (e.g. \"table_size=10, key=0x1234\")", item);
            ps_alloc_params_free(params);
            return NULL;
        }
        *eq = '\0';
        Param p = {g_strdup(g_strstrip(item)), g_strdup(g_strstrip(eq + 1)), FALSE};
        if (!*p.name || !*p.value || ps_alloc_params_has(params, p.name)) {
            g_set_error(error, SIM_ERROR, SIM_ERROR_INPUT,
                        *p.name && *p.value ? "parameter '%s' given twice"
                                            : "'%s' needs a name and a value",
                        p.name);
            param_clear(&p);
            ps_alloc_params_free(params);
            return NULL;
        }
        g_array_append_val(params->items, p);
    }
    return params;
}

void ps_alloc_params_free(PsAllocParams *params)
{
    if (!params)
        return;
    g_array_free(params->items, TRUE);
    g_free(params->text);
    g_free(params);
}

const char *ps_alloc_params_claim_all(PsAllocParams *params)
{
    for (guint i = 0; i < params->items->len; i++)
        g_array_index(params->items, Param, i).read = TRUE;
    return params->text;
}

static Param *param_find(const PsAllocParams *params, const char *name)
{
    if (!params)
        return NULL;
    for (guint i = 0; i < params->items->len; i++) {
        Param *p = &g_array_index(params->items, Param, i);
        if (strcmp(p->name, name) == 0)
            return p;
    }
    return NULL;
}

gboolean ps_alloc_params_has(const PsAllocParams *params, const char *name)
{
    return param_find(params, name) != NULL;
}

gboolean ps_alloc_params_uint(PsAllocParams *params, const char *name, guint64 def, guint64 min,
                              guint64 max, guint64 *out, GError **error)
{
    Param *p = param_find(params, name);
    *out = def;
    if (!p)
        return TRUE;
    p->read = TRUE;
    const char *v = p->value;
    guint base = 10;
    if (g_ascii_strncasecmp(v, "0x", 2) == 0) {
        v += 2;
        base = 16;
    }
    guint64 x;
    if (!g_ascii_string_to_unsigned(v, base, 0, G_MAXUINT64, &x, NULL)) {
        g_set_error(error, SIM_ERROR, SIM_ERROR_INPUT,
                    "%s = '%s' is not an unsigned integer", name, p->value);
        return FALSE;
    }
    if (x < min || x > max) {
        g_set_error(error, SIM_ERROR, SIM_ERROR_INPUT,
                    "%s = %" G_GUINT64_FORMAT " is outside %" G_GUINT64_FORMAT
                    "..%" G_GUINT64_FORMAT,
                    name, x, min, max);
        return FALSE;
    }
    *out = x;
    return TRUE;
}

struct PsAllocator {
    const PsAllocatorClass *klass;
    void *state;
    uint16_t lo, hi;
    gboolean scan; /* offer the pool's word-at-a-time search to pick() */
    GError *fault; /* the strategy returned a port it may not use */
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

const PsAllocatorClass *ps_allocator_class_lookup(const char *name, const char *base_file,
                                                  GError **error)
{
    if (name && g_str_has_prefix(name, "plugin:")) {
        const char *path = name + strlen("plugin:");
        if (!*path) {
            g_set_error(error, SIM_ERROR, SIM_ERROR_INPUT,
                        "plugin: needs a path, e.g. plugin:./libmy_alloc.so");
            return NULL;
        }
        return ps_allocator_plugin_load(path, base_file, error);
    }
    const PsAllocatorClass *k = ps_allocator_class_find(name);
    if (!k)
        g_set_error(error, SIM_ERROR, SIM_ERROR_INPUT,
                    "no allocator named '%s' (one of %s, or plugin:PATH)", name ? name : "",
                    ps_allocator_choices());
    return k;
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
    GError *error = NULL;
    PsAllocator *alloc = ps_allocator_new_full(klass, lo, hi, rng, NULL, &error);
    if (!alloc && error) {
        g_critical("allocator: %s", error->message);
        g_error_free(error);
    }
    return alloc;
}

PsAllocator *ps_allocator_new_full(const PsAllocatorClass *klass, uint16_t lo, uint16_t hi,
                                   SimRng *rng, const char *params_text, GError **error)
{
    g_return_val_if_fail(klass != NULL &&
                             (klass->create || klass->create_params || klass->create_class) &&
                             klass->pick && klass->exhausted_probes,
                         NULL);
    g_return_val_if_fail(lo >= 1 && lo <= hi, NULL);
    /* Without a stream of its own, a fixed one keeps runs reproducible. */
    SimRng fallback;
    if (!rng) {
        sim_rng_seed(&fallback, 0, klass->name, 0);
        rng = &fallback;
    }
    PsAllocParams *params = ps_alloc_params_parse(params_text, error);
    if (!params)
        return NULL;
    void *state = NULL;
    GError *local = NULL;
    if (klass->create_class || klass->create_params) {
        state = klass->create_class
                    ? klass->create_class(klass, lo, hi, rng, params, &local)
                    : klass->create_params(lo, hi, rng, params, &local);
        if (!state && !local)
            g_set_error(&local, SIM_ERROR, SIM_ERROR_INPUT, "allocator '%s' could not start",
                        klass->name);
    } else if (params->items->len > 0) {
        g_set_error(&local, SIM_ERROR, SIM_ERROR_INPUT, "allocator '%s' takes no parameters",
                    klass->name);
    } else {
        state = klass->create(lo, hi, rng);
    }
    /* Every parameter given must have been read by the strategy. */
    for (guint i = 0; !local && i < params->items->len; i++) {
        const Param *p = &g_array_index(params->items, Param, i);
        if (!p->read)
            g_set_error(&local, SIM_ERROR, SIM_ERROR_INPUT,
                        "allocator '%s' has no parameter '%s'", klass->name, p->name);
    }
    ps_alloc_params_free(params);
    if (local) {
        if (state && klass->destroy)
            klass->destroy(state);
        g_propagate_error(error, local);
        return NULL;
    }
    PsAllocator *alloc = g_new0(PsAllocator, 1);
    alloc->klass = klass;
    alloc->lo = lo;
    alloc->hi = hi;
    alloc->scan = TRUE;
    alloc->state = state;
    return alloc;
}

void ps_allocator_free(PsAllocator *alloc)
{
    if (!alloc)
        return;
    if (alloc->klass->destroy)
        alloc->klass->destroy(alloc->state);
    g_clear_error(&alloc->fault);
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
    PsReuseTest reuse;
    void *reuse_ctx;
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

/* A strategy returned a port it may not use: a bug in a built-in, the
 * plugin's fault for a plugin; either way the run must not go on as if
 * nothing happened. */
static void refuse(PsAllocator *alloc, int port)
{
    if (!alloc->klass->external)
        g_critical("allocator '%s' returned unusable port %d", alloc->klass->name, port);
    if (alloc->fault)
        return;
    if (port < alloc->lo || port > alloc->hi)
        g_set_error(&alloc->fault, SIM_ERROR, SIM_ERROR_RUNTIME,
                    "allocator '%s' returned port %d, outside its range %u-%u",
                    alloc->klass->name, port, alloc->lo, alloc->hi);
    else
        g_set_error(&alloc->fault, SIM_ERROR, SIM_ERROR_RUNTIME,
                    "allocator '%s' returned port %d, which its test refused (in use, bound "
                    "or reserved)",
                    alloc->klass->name, port);
}

const GError *ps_allocator_fault(const PsAllocator *alloc) { return alloc->fault; }

static gboolean reuse_test(void *ctx, uint16_t port)
{
    const TestCtx *t = ctx;
    if (ps_pool_connect_ok(t->pool, t->dest, port))
        return TRUE;
    /* Only a 4-tuple in use through a connect()-chosen port can be in
     * TIME_WAIT; reserved, bound and out-of-range ports never are. */
    return ps_pool_tuple_in_use(t->pool, t->dest, port) && t->reuse(t->reuse_ctx, port);
}

int ps_allocator_take_reuse(PsAllocator *alloc, PsPortPool *pool, PsDestId dest,
                            const PsAllocRequest *req, PsReuseTest reuse, void *reuse_ctx,
                            gboolean *reused, uint32_t *probes)
{
    g_return_val_if_fail(probes != NULL && reused != NULL, -1);
    *probes = 0;
    *reused = FALSE;
    g_return_val_if_fail(alloc != NULL && pool != NULL && req != NULL && reuse != NULL, -1);
    g_return_val_if_fail(req->mode == PS_ALLOC_CONNECT && dest < ps_pool_n_dests(pool), -1);
    TestCtx ctx = {pool, dest, reuse, reuse_ctx};
    PsAllocRequest r = *req;
    r.scan = NULL;
    r.scan_ctx = NULL;
    int port = alloc->klass->pick(alloc->state, &r, reuse_test, &ctx, probes);
    if (port < 0)
        return -1;
    if (port > G_MAXUINT16 || !reuse_test(&ctx, (uint16_t)port)) {
        refuse(alloc, port);
        return -1;
    }
    if (ps_pool_connect_ok(pool, dest, (uint16_t)port))
        ps_pool_connect_take(pool, dest, (uint16_t)port);
    else
        *reused = TRUE;
    return port;
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

    TestCtx ctx = {pool, dest, NULL, NULL};
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
        refuse(alloc, port);
        return -1;
    }
    if (connect)
        ps_pool_connect_take(pool, dest, (uint16_t)port);
    else
        ps_pool_bind_take(pool, (uint16_t)port);
    return port;
}
