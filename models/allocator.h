/* Port allocators: the strategy that proposes candidate ports; the pool
 * says yes or no. Each allocation reports how many candidates it probed, so
 * allocator cost is a first-class metric.
 *
 * An allocator is a small table of functions. The built-ins are
 * `sequential`, `linux` and the five algorithms of RFC 6056 (`random` is
 * Algorithm 1); more can be registered (later: loaded as a GModule plugin).
 *
 * exhausted_probes() moves counters as the full walk would have (hash,
 * double-hash: +range, which leaves every later candidate unchanged), but
 * does not draw the walk's random numbers: range-size draws per failed
 * attempt would dominate an exhausted run, and skipping them changes which
 * numbers later picks see, not their distribution. */
#ifndef PS_ALLOCATOR_H
#define PS_ALLOCATOR_H

#include <glib.h>
#include <stdint.h>
#include "port_pool.h"
#include "rng.h"
#include "sim_time.h"
#include "values.h"

typedef enum {
    PS_ALLOC_CONNECT, /* connect() on an unbound socket: 4-tuple sharing */
    PS_ALLOC_BIND,    /* bind(addr, 0): an exclusive port */
} PsAllocMode;

/* A fast equivalent of calling test() on candidates in turn, which the
 * wrapper offers to strategies that walk an arithmetic sequence: among the
 * offsets start, start+step, ... (count of them, wrapping at span) from the
 * range's low end, the index of the first port test() would accept, or -1.
 * step is 1 or 2 (with 2, span even). */
typedef int64_t (*PsScanFn)(void *scan_ctx, uint32_t start, uint32_t step, uint32_t count,
                            uint32_t span);

typedef struct {
    PsAllocMode mode;
    const SimAddress *local;
    const SimAddress *remote; /* NULL for BIND */
    uint16_t remote_port;     /* 0 for BIND */
    SimTime now;
    /* Set by ps_allocator_take() (NULL otherwise): strategies may use it
     * instead of a candidate loop; the answer and probe count must match. */
    PsScanFn scan;
    void *scan_ctx;
} PsAllocRequest;

/* Asked of each candidate: may this port be used? */
typedef gboolean (*PsPortTest)(void *ctx, uint16_t port);

/* A host's `allocator_params`: "name=value, name=value". A strategy reads
 * the ones it knows; any left unread is an error naming it, so a typo
 * never goes unnoticed. */
typedef struct PsAllocParams PsAllocParams;

/* NULL text or "" gives an empty set. Syntax errors: SIM_ERROR_INPUT. */
PsAllocParams *ps_alloc_params_parse(const char *text, GError **error);
void ps_alloc_params_free(PsAllocParams *params);
/* The unsigned integer `name` (decimal or 0x hex) in [min, max], or def when
 * absent (params may be NULL). FALSE with SIM_ERROR_INPUT when malformed or
 * out of bounds. Marks the name as read. */
gboolean ps_alloc_params_uint(PsAllocParams *params, const char *name, guint64 def, guint64 min,
                              guint64 max, guint64 *out, GError **error);
/* TRUE when `name` was given. */
gboolean ps_alloc_params_has(const PsAllocParams *params, const char *name);
/* The whole text as given (never NULL), every parameter marked as read:
 * for strategies that parse their own (plugins). */
const char *ps_alloc_params_claim_all(PsAllocParams *params);

typedef struct PsAllocatorClass {
    const char *name;
    /* For `portsim list allocators`: the state kept, the cost in probes as the
     * range fills, and the source of the algorithm. */
    const char *help;
    /* State for the range [lo, hi]; rng is this allocator's own stream (copy
     * it if needed, it is not kept). */
    void *(*create)(uint16_t lo, uint16_t hi, SimRng *rng);
    void (*destroy)(void *state);
    /* Proposes candidates in the strategy's order, calling test() on each,
     * until one passes (returns it, >= 0) or the strategy gives up (-1).
     * *probes is the number of candidates tested. */
    int (*pick)(void *state, const PsAllocRequest *req, PsPortTest test, void *ctx,
                uint32_t *probes);
    /* Candidates a pick would test before giving up when no port at all is
     * usable: charged without walking the range. */
    uint32_t (*exhausted_probes)(void *state, const PsAllocRequest *req);
    /* Optional, used instead of create() when set: create() with the
     * host's allocator_params; NULL and an error when they are invalid.
     * A class without it accepts no parameters. */
    void *(*create_params)(uint16_t lo, uint16_t hi, SimRng *rng, PsAllocParams *params,
                           GError **error);
    /* Optional, used before the two above when set: create_params() that
     * also gets its class (plugins keep their table there). */
    void *(*create_class)(const struct PsAllocatorClass *klass, uint16_t lo, uint16_t hi,
                          SimRng *rng, PsAllocParams *params, GError **error);
    /* Loaded from a plugin: a misbehaving pick is the plugin's fault, not a
     * portsim bug, so it is reported as the run's error (no g_critical). */
    gboolean external;
    const void *data; /* for create_class: the plugin's table */
} PsAllocatorClass;

/* The registry of strategies, in a fixed order. */
const PsAllocatorClass *ps_allocator_class_find(const char *name);
/* A built-in by name, or "plugin:PATH" loaded with GModule (a relative PATH
 * is looked up beside `base_file` first, when given, then as is). Loaded
 * plugins stay loaded and are shared (thread-safe). NULL with
 * SIM_ERROR_INPUT naming what is wrong. */
const PsAllocatorClass *ps_allocator_class_lookup(const char *name, const char *base_file,
                                                  GError **error);
guint ps_allocator_n_classes(void);
const PsAllocatorClass *ps_allocator_class_at(guint i);
/* "sequential|random|...": for schema ENUM choices. */
const char *ps_allocator_choices(void);

typedef struct PsAllocator PsAllocator;

PsAllocator *ps_allocator_new(const PsAllocatorClass *klass, uint16_t lo, uint16_t hi,
                              SimRng *rng);
/* As ps_allocator_new(), with the `allocator_params` text (NULL or "" for
 * none): NULL and SIM_ERROR_INPUT when a parameter is malformed, out of
 * bounds or unknown to the strategy. */
PsAllocator *ps_allocator_new_full(const PsAllocatorClass *klass, uint16_t lo, uint16_t hi,
                                   SimRng *rng, const char *params, GError **error);
void ps_allocator_free(PsAllocator *alloc);
const char *ps_allocator_name(const PsAllocator *alloc);

/* Chooses a port from pool for the request and takes it (connect: the
 * 4-tuple toward dest; bind: the port). Returns the port, or -1 when none
 * could be found; *probes is always set. When the pool has no usable port at
 * all the attempt fails at once, charging exhausted_probes. */
int ps_allocator_take(PsAllocator *alloc, PsPortPool *pool, PsDestId dest,
                      const PsAllocRequest *req, uint32_t *probes);

/* tcp_tw_reuse: may connect() take over the 4-tuple (dest, port), now in
 * TIME_WAIT? Asked only of candidates the pool refuses. */
typedef gboolean (*PsReuseTest)(void *ctx, uint16_t port);

/* ps_allocator_take() for connect() that also accepts candidates reuse()
 * allows. Such a port is returned with *reused = TRUE and NOT taken: the
 * caller ends the TIME_WAIT owner, then takes the 4-tuple. The word scan
 * and the exhausted shortcut are off (TIME_WAIT tuples look busy to them). */
int ps_allocator_take_reuse(PsAllocator *alloc, PsPortPool *pool, PsDestId dest,
                            const PsAllocRequest *req, PsReuseTest reuse, void *reuse_ctx,
                            gboolean *reused, uint32_t *probes);

/* Set once the strategy returned a port it may not use (outside its range,
 * or refused by the pool): the run's results are then wrong, so the caller
 * stops and reports it. NULL while it behaves. */
const GError *ps_allocator_fault(const PsAllocator *alloc);

/* Whether take() offers the word-at-a-time scan (default TRUE). Turning it
 * off makes strategies test candidates one by one: slower, same results;
 * tests compare the two. */
void ps_allocator_set_scan(PsAllocator *alloc, gboolean enabled);

#endif
