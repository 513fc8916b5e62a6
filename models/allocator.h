/* Port allocators: the strategy that proposes candidate ports; the pool
 * says yes or no. Each allocation reports how many candidates it probed, so
 * allocator cost is a first-class metric.
 *
 * An allocator is a small table of functions. The built-ins are
 * `sequential`, `random` and `linux`; more can be registered (later: loaded
 * as a GModule plugin). */
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

typedef struct {
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
} PsAllocatorClass;

/* The registry of strategies, in a fixed order. */
const PsAllocatorClass *ps_allocator_class_find(const char *name);
guint ps_allocator_n_classes(void);
const PsAllocatorClass *ps_allocator_class_at(guint i);
/* "sequential|random|linux": for schema ENUM choices. */
const char *ps_allocator_choices(void);

typedef struct PsAllocator PsAllocator;

PsAllocator *ps_allocator_new(const PsAllocatorClass *klass, uint16_t lo, uint16_t hi,
                              SimRng *rng);
void ps_allocator_free(PsAllocator *alloc);
const char *ps_allocator_name(const PsAllocator *alloc);

/* Chooses a port from pool for the request and takes it (connect: the
 * 4-tuple toward dest; bind: the port). Returns the port, or -1 when none
 * could be found; *probes is always set. When the pool has no usable port at
 * all the attempt fails at once, charging exhausted_probes. */
int ps_allocator_take(PsAllocator *alloc, PsPortPool *pool, PsDestId dest,
                      const PsAllocRequest *req, uint32_t *probes);

/* Whether take() offers the word-at-a-time scan (default TRUE). Turning it
 * off makes strategies test candidates one by one: slower, same results;
 * tests compare the two. */
void ps_allocator_set_scan(PsAllocator *alloc, gboolean enabled);

#endif
