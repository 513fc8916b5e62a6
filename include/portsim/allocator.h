/* portsim allocator plugins: the public ABI.
 *
 * A plugin is a shared library exporting one function,
 *
 *     const PortsimAllocator *portsim_allocator(void);
 *
 * that returns a static table. A host selects it with
 *
 *     allocator = plugin:path/to/libmy_alloc.so
 *     allocator_params = stride=7          ; passed to create() as text
 *
 * portsim asks the strategy for candidate ports and decides itself whether
 * each may be used (the callback `test`): the plugin only chooses the order.
 * It must return a port that `test` accepted, or -1 to give up. A port
 * outside [lo, hi] or one that `test` refused stops the run with an error
 * naming the plugin (exit code 1); a missing symbol, a NULL table, a
 * missing function or another ABI version is refused when the scenario is
 * loaded (exit code 2).
 *
 * Determinism: draw randomness only from `seed` (given per port pool and
 * run), never from the clock or rand(), so the same scenario and seed give
 * the same results.
 *
 * This header depends on nothing but <stdint.h> and <stddef.h>; see
 * examples/stride_allocator.c. */
#ifndef PORTSIM_ALLOCATOR_PLUGIN_H
#define PORTSIM_ALLOCATOR_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

/* Bumped on any incompatible change of the structures below. */
#define PORTSIM_ALLOCATOR_ABI_VERSION 1

typedef enum {
    PORTSIM_ALLOC_CONNECT = 0, /* connect(): only the 4-tuple must be unique */
    PORTSIM_ALLOC_BIND = 1,    /* bind(addr, 0): the port is exclusive */
} PortsimAllocMode;

typedef struct {
    uint8_t family;    /* 4 or 6; 0 when absent (no remote for BIND) */
    uint8_t bytes[16]; /* IPv4 in bytes[0..3] */
} PortsimAddress;

typedef struct {
    PortsimAllocMode mode;
    PortsimAddress local;
    PortsimAddress remote; /* family 0 for BIND */
    uint16_t remote_port;  /* 0 for BIND */
    int64_t now_ns;        /* simulated time */
} PortsimAllocRequest;

/* Nonzero when `port` may be used for the request. */
typedef int (*PortsimPortTest)(void *test_ctx, uint16_t port);

typedef struct {
    uint32_t abi_version; /* PORTSIM_ALLOCATOR_ABI_VERSION */
    const char *name;     /* shown in summaries and messages */
    const char *help;     /* state kept, cost as the range fills, source */
    /* State for the range [lo, hi]. params: the host's allocator_params text
     * ("" when none). On bad parameters return NULL and write a message
     * (NUL-terminated, at most errlen bytes) into err. */
    void *(*create)(uint16_t lo, uint16_t hi, uint64_t seed, const char *params, char *err,
                    size_t errlen);
    void (*destroy)(void *state);
    /* Tries candidates with test() until one passes (return it) or it gives
     * up (-1); *probes = candidates tried. */
    int (*pick)(void *state, const PortsimAllocRequest *req, PortsimPortTest test,
                void *test_ctx, uint32_t *probes);
    /* Probes a pick would make when no port at all is usable (portsim then
     * skips the walk). */
    uint32_t (*exhausted_probes)(void *state, const PortsimAllocRequest *req);
} PortsimAllocator;

typedef const PortsimAllocator *(*PortsimAllocatorEntry)(void);
#define PORTSIM_ALLOCATOR_SYMBOL "portsim_allocator"

#if defined(__GNUC__)
#define PORTSIM_EXPORT __attribute__((visibility("default")))
#else
#define PORTSIM_EXPORT
#endif

/* The one symbol a plugin defines. */
PORTSIM_EXPORT const PortsimAllocator *portsim_allocator(void);

#endif
