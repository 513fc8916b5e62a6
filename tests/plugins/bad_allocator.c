/* Deliberately broken allocator plugins, one per build flag, for the
 * loader's error paths:
 *   BAD_NO_SYMBOL   exports no portsim_allocator()
 *   BAD_ABI         declares ABI version 999
 *   BAD_OUT_OF_RANGE returns a port below the range on the 10th pick
 *   BAD_REFUSED     returns the first candidate even when test() refused it */
#include <stdlib.h>

#include "portsim/allocator.h"

typedef struct {
    uint16_t lo, hi;
    uint32_t picks;
} Bad;

static void *bad_create(uint16_t lo, uint16_t hi, uint64_t seed, const char *params, char *err,
                        size_t errlen)
{
    Bad *b = calloc(1, sizeof *b);
    b->lo = lo;
    b->hi = hi;
    return b;
}

static void bad_destroy(void *state) { free(state); }

static int bad_pick(void *state, const PortsimAllocRequest *req, PortsimPortTest test,
                    void *test_ctx, uint32_t *probes)
{
    Bad *b = state;
    b->picks++;
    *probes = 1;
#ifdef BAD_OUT_OF_RANGE
    if (b->picks == 10)
        return b->lo - 1;
#endif
#ifdef BAD_REFUSED
    return b->lo;
#endif
    for (uint32_t p = b->lo; p <= b->hi; p++)
        if (test(test_ctx, (uint16_t)p))
            return (int)p;
    return -1;
}

static uint32_t bad_exhausted(void *state, const PortsimAllocRequest *req)
{
    const Bad *b = state;
    return (uint32_t)b->hi - b->lo + 1;
}

static const PortsimAllocator table = {
#ifdef BAD_ABI
    .abi_version = 999,
#else
    .abi_version = PORTSIM_ALLOCATOR_ABI_VERSION,
#endif
    .name = "bad",
    .help = "test",
    .create = bad_create,
    .destroy = bad_destroy,
    .pick = bad_pick,
    .exhausted_probes = bad_exhausted,
};

#ifdef BAD_NO_SYMBOL
PORTSIM_EXPORT const PortsimAllocator *not_the_entry_point(void);
const PortsimAllocator *not_the_entry_point(void) { return &table; }
#else
const PortsimAllocator *portsim_allocator(void) { return &table; }
#endif
