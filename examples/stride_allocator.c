/* An example portsim allocator plugin: a fixed stride through the range.
 *
 * Each pick starts where the previous one ended plus `stride` (default 7,
 * from allocator_params "stride=N") and steps by the stride, wrapping, so a
 * stride coprime to the range size visits every port. Build (meson does):
 *
 *     cc -shared -fPIC -I include -o libstride_allocator.so \
 *        examples/stride_allocator.c
 *
 * and use it:
 *
 *     [host shop]
 *     allocator = plugin:./build/examples/libstride_allocator.so
 *     allocator_params = stride=11
 *
 * Only include/portsim/allocator.h is needed: no GLib. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portsim/allocator.h"

typedef struct {
    uint16_t lo;
    uint32_t size;
    uint32_t next;   /* offset of the next pick's first candidate */
    uint32_t stride;
} Stride;

static uint32_t gcd(uint32_t a, uint32_t b)
{
    while (b) {
        uint32_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static void *stride_create(uint16_t lo, uint16_t hi, uint64_t seed, const char *params,
                           char *err, size_t errlen)
{
    unsigned long stride = 7;
    if (params && *params) {
        char *end = NULL;
        const char *v = strstr(params, "stride=");
        if (!v || (stride = strtoul(v + 7, &end, 10)) == 0 || end == v + 7) {
            snprintf(err, errlen, "expected stride=N with N >= 1, got \"%s\"", params);
            return NULL;
        }
    }
    Stride *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    st->lo = lo;
    st->size = (uint32_t)hi - lo + 1;
    st->stride = (uint32_t)(stride % st->size);
    if (st->stride == 0 || gcd(st->stride, st->size) != 1) {
        snprintf(err, errlen, "stride %lu shares a factor with the range size %u: "
                 "it would not visit every port", stride, st->size);
        free(st);
        return NULL;
    }
    st->next = (uint32_t)(seed % st->size); /* a reproducible start */
    return st;
}

static void stride_destroy(void *state) { free(state); }

static int stride_pick(void *state, const PortsimAllocRequest *req, PortsimPortTest test,
                       void *test_ctx, uint32_t *probes)
{
    Stride *st = state;
    uint32_t pos = st->next;
    for (uint32_t n = 1; n <= st->size; n++) {
        uint16_t port = (uint16_t)(st->lo + pos);
        pos = (pos + st->stride) % st->size;
        if (test(test_ctx, port)) {
            st->next = pos;
            *probes = n;
            return port;
        }
    }
    *probes = st->size;
    return -1;
}

static uint32_t stride_exhausted(void *state, const PortsimAllocRequest *req)
{
    return ((const Stride *)state)->size;
}

static const PortsimAllocator table = {
    .abi_version = PORTSIM_ALLOCATOR_ABI_VERSION,
    .name = "stride",
    .help = "Example plugin: a fixed stride (allocator_params stride=N, default 7, coprime to "
            "the range size) from a seeded start, continuing where the last pick ended. State: "
            "one cursor. Cost: ~1 probe while the ports ahead are free, the range when none is. "
            "Source: examples/stride_allocator.c.",
    .create = stride_create,
    .destroy = stride_destroy,
    .pick = stride_pick,
    .exhausted_probes = stride_exhausted,
};

const PortsimAllocator *portsim_allocator(void) { return &table; }
