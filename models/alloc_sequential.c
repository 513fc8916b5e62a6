/* sequential: next-fit with one cursor for the whole range. */
#include "alloc_builtin.h"

typedef struct {
    uint16_t lo;
    uint32_t size;
    uint32_t next; /* index of the first candidate of the next pick */
} SeqState;

static void *seq_create(uint16_t lo, uint16_t hi, SimRng *rng)
{
    SeqState *st = g_new0(SeqState, 1);
    st->lo = lo;
    st->size = (uint32_t)hi - lo + 1;
    st->next = 0; /* the very first pick starts at lo */
    return st;
}

static void seq_destroy(void *state) { g_free(state); }

static int seq_pick(void *state, const PsAllocRequest *req, PsPortTest test, void *ctx,
                    uint32_t *probes)
{
    SeqState *st = state;
    uint32_t idx = st->next;
    if (req->scan) {
        int64_t k = req->scan(req->scan_ctx, idx, 1, st->size, st->size);
        if (k < 0) {
            *probes = st->size;
            return -1;
        }
        uint32_t at = (uint32_t)((idx + k) % st->size);
        st->next = at + 1 == st->size ? 0 : at + 1;
        *probes = (uint32_t)k + 1;
        return st->lo + at;
    }
    for (uint32_t n = 1; n <= st->size; n++) {
        uint16_t port = (uint16_t)(st->lo + idx);
        if (++idx == st->size)
            idx = 0;
        if (test(ctx, port)) {
            st->next = idx; /* just after the port handed out */
            *probes = n;
            return port;
        }
    }
    *probes = st->size;
    return -1;
}

static uint32_t seq_exhausted_probes(void *state, const PsAllocRequest *req)
{
    return ((const SeqState *)state)->size;
}

const PsAllocatorClass ps_alloc_sequential_class = {
    .name = "sequential",
    .help = "Next-fit: each pick starts just after the last port handed out (the first at the "
            "range's low end) and steps +1 with wrap, giving up after the range size. State: one "
            "cursor shared by every destination, so ports handed out toward one destination "
            "advance the cursor for all. Cost: about 1 probe while the ports ahead are free "
            "(steady load reuses the least recently freed port); the length of the busy run ahead "
            "of the cursor once it wraps into busy ports; the whole range when none is free. "
            "Source: ns-3 Ipv4EndPointDemux::AllocateEphemeralPort (one m_ephemeral cursor, +1 "
            "with wrap), which comments that it mimics the BSD in_pcb.c counting-up logic; INET "
            "Tcp::getEphemeralPort() does the same.",
    .create = seq_create,
    .destroy = seq_destroy,
    .pick = seq_pick,
    .exhausted_probes = seq_exhausted_probes,
};
