/* random: RFC 6056 Algorithm 1, a random start then a linear walk. */
#include "alloc_builtin.h"

typedef struct {
    uint16_t lo;
    uint32_t size;
    SimRng rng; /* a copy: the caller's stream is not kept */
} RandomState;

static void *random_create(uint16_t lo, uint16_t hi, SimRng *rng)
{
    RandomState *st = g_new0(RandomState, 1);
    st->lo = lo;
    st->size = (uint32_t)hi - lo + 1;
    st->rng = *rng;
    return st;
}

static void random_destroy(void *state) { g_free(state); }

static int random_pick(void *state, const PsAllocRequest *req, PsPortTest test, void *ctx,
                       uint32_t *probes)
{
    RandomState *st = state;
    uint32_t idx = sim_rng_below(&st->rng, st->size);
    if (req->scan) {
        int64_t k = req->scan(req->scan_ctx, idx, 1, st->size, st->size);
        *probes = k < 0 ? st->size : (uint32_t)k + 1;
        return k < 0 ? -1 : (int)(st->lo + (idx + k) % st->size);
    }
    for (uint32_t n = 1; n <= st->size; n++) {
        uint16_t port = (uint16_t)(st->lo + idx);
        if (test(ctx, port)) {
            *probes = n;
            return port;
        }
        if (++idx == st->size)
            idx = 0;
    }
    *probes = st->size;
    return -1;
}

static uint32_t random_exhausted_probes(void *state, const PsAllocRequest *req)
{
    return ((const RandomState *)state)->size;
}

const PsAllocatorClass ps_alloc_random_class = {
    .name = "random",
    .help = "Simple port randomization: a uniformly random start in the range, then +1 per "
            "candidate with wrap, giving up after the range size. State: none but the random "
            "stream. Cost: linear probing from a random start, the run of busy ports after it; "
            "about (1 + 1/(1-r)^2)/2 probes at occupancy r (r = 0.9: ~50, r = 0.99: ~5,000), the "
            "whole range when none is free. Source: RFC 6056 §3.3.1 (Algorithm 1); FreeBSD up to "
            "12, sys/netinet/in_pcb.c in_pcb_lport(), also used a random start and a +1 walk.",
    .create = random_create,
    .destroy = random_destroy,
    .pick = random_pick,
    .exhausted_probes = random_exhausted_probes,
};
