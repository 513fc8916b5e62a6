/* Allocator plugins: "plugin:PATH" loaded with GModule and wrapped as a
 * PsAllocatorClass (include/portsim/allocator.h is the contract). */
#include <gmodule.h>
#include <string.h>

#include "alloc_builtin.h"
#include "portsim/allocator.h"
#include "sim_error.h"

typedef struct {
    const PortsimAllocator *p;
    void *inner;
} PluginState;

static void to_address(PortsimAddress *out, const SimAddress *a)
{
    memset(out, 0, sizeof *out);
    if (!a)
        return;
    out->family = a->family;
    memcpy(out->bytes, a->bytes, a->family == 4 ? 4 : 16);
}

static void to_request(PortsimAllocRequest *out, const PsAllocRequest *req)
{
    memset(out, 0, sizeof *out);
    out->mode = req->mode == PS_ALLOC_BIND ? PORTSIM_ALLOC_BIND : PORTSIM_ALLOC_CONNECT;
    to_address(&out->local, req->local);
    to_address(&out->remote, req->remote);
    out->remote_port = req->remote_port;
    out->now_ns = req->now;
}

static void *plugin_create(const PsAllocatorClass *klass, uint16_t lo, uint16_t hi, SimRng *rng,
                           PsAllocParams *params, GError **error)
{
    const PortsimAllocator *p = klass->data;
    char err[256] = "";
    SimRng copy = *rng;
    const char *text = ps_alloc_params_claim_all(params);
    void *inner = p->create(lo, hi, sim_rng_next(&copy), text, err, sizeof err);
    if (!inner) {
        err[sizeof err - 1] = '\0';
        g_set_error(error, SIM_ERROR, SIM_ERROR_INPUT, "plugin allocator '%s' refused "
                    "allocator_params \"%s\": %s", klass->name, text,
                    *err ? err : "(no reason given)");
        return NULL;
    }
    PluginState *st = g_new0(PluginState, 1);
    st->p = p;
    st->inner = inner;
    return st;
}

static void plugin_destroy(void *state)
{
    PluginState *st = state;
    if (st->p->destroy)
        st->p->destroy(st->inner);
    g_free(st);
}

typedef struct {
    PsPortTest test;
    void *ctx;
} TestBridge;

static int bridge_test(void *ctx, uint16_t port)
{
    const TestBridge *b = ctx;
    return b->test(b->ctx, port) ? 1 : 0;
}

static int plugin_pick(void *state, const PsAllocRequest *req, PsPortTest test, void *ctx,
                       uint32_t *probes)
{
    PluginState *st = state;
    PortsimAllocRequest r;
    to_request(&r, req);
    TestBridge b = {test, ctx};
    *probes = 0;
    int port = st->p->pick(st->inner, &r, bridge_test, &b, probes);
    /* Any negative value is "gave up"; the wrapper vets a port. */
    return port < 0 ? -1 : port;
}

static uint32_t plugin_exhausted(void *state, const PsAllocRequest *req)
{
    PluginState *st = state;
    PortsimAllocRequest r;
    to_request(&r, req);
    return st->p->exhausted_probes(st->inner, &r);
}

static GMutex lock;
static GHashTable *loaded; /* resolved path -> PsAllocatorClass* (never freed) */

static char *resolve(const char *path, const char *base_file)
{
    if (g_path_is_absolute(path) || !base_file)
        return g_strdup(path);
    g_autofree char *dir = g_path_get_dirname(base_file);
    char *beside = g_build_filename(dir, path, NULL);
    if (g_file_test(beside, G_FILE_TEST_EXISTS))
        return beside;
    g_free(beside);
    return g_strdup(path);
}

static const PsAllocatorClass *load(const char *path, GError **error)
{
    if (!g_module_supported()) {
        g_set_error(error, SIM_ERROR, SIM_ERROR_INPUT,
                    "allocator plugins are not supported on this platform");
        return NULL;
    }
    if (!g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
        g_set_error(error, SIM_ERROR, SIM_ERROR_INPUT, "plugin %s: no such file", path);
        return NULL;
    }
    GModule *module = g_module_open(path, G_MODULE_BIND_LOCAL);
    if (!module) {
        g_set_error(error, SIM_ERROR, SIM_ERROR_INPUT, "plugin %s: cannot load: %s", path,
                    g_module_error());
        return NULL;
    }
    gpointer sym = NULL;
    if (!g_module_symbol(module, PORTSIM_ALLOCATOR_SYMBOL, &sym) || !sym) {
        g_set_error(error, SIM_ERROR, SIM_ERROR_INPUT,
                    "plugin %s: no symbol %s(); a plugin exports `const PortsimAllocator "
                    "*%s(void)` (include/portsim/allocator.h)",
                    path, PORTSIM_ALLOCATOR_SYMBOL, PORTSIM_ALLOCATOR_SYMBOL);
        g_module_close(module);
        return NULL;
    }
    const PortsimAllocator *p = ((PortsimAllocatorEntry)sym)();
    const char *problem = NULL;
    if (!p)
        problem = "returned no table";
    else if (p->abi_version != PORTSIM_ALLOCATOR_ABI_VERSION)
        problem = NULL; /* reported with the numbers below */
    else if (!p->name || !*p->name)
        problem = "has no name";
    else if (!p->create || !p->pick || !p->exhausted_probes)
        problem = "lacks create(), pick() or exhausted_probes()";
    if (p && p->abi_version != PORTSIM_ALLOCATOR_ABI_VERSION) {
        g_set_error(error, SIM_ERROR, SIM_ERROR_INPUT,
                    "plugin %s: built for allocator ABI version %u, this portsim speaks "
                    "version %u; rebuild it against include/portsim/allocator.h",
                    path, p->abi_version, PORTSIM_ALLOCATOR_ABI_VERSION);
        g_module_close(module);
        return NULL;
    }
    if (problem) {
        g_set_error(error, SIM_ERROR, SIM_ERROR_INPUT, "plugin %s: %s() %s", path,
                    PORTSIM_ALLOCATOR_SYMBOL, problem);
        g_module_close(module);
        return NULL;
    }
    /* The class points into the module: it stays loaded for good. */
    g_module_make_resident(module);
    PsAllocatorClass *k = g_new0(PsAllocatorClass, 1);
    k->name = g_strdup(p->name);
    k->help = g_strdup(p->help ? p->help : "(plugin without help)");
    k->create_class = plugin_create;
    k->destroy = plugin_destroy;
    k->pick = plugin_pick;
    k->exhausted_probes = plugin_exhausted;
    k->external = TRUE;
    k->data = p;
    return k;
}

const PsAllocatorClass *ps_allocator_plugin_load(const char *path, const char *base_file,
                                                 GError **error)
{
    g_autofree char *resolved = resolve(path, base_file);
    g_mutex_lock(&lock);
    if (!loaded)
        loaded = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    const PsAllocatorClass *k = g_hash_table_lookup(loaded, resolved);
    if (!k) {
        k = load(resolved, error);
        if (k)
            g_hash_table_insert(loaded, g_strdup(resolved), (gpointer)k);
    }
    g_mutex_unlock(&lock);
    return k;
}
