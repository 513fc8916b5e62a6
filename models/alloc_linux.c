/* linux: the connect() and bind(0) port selection of current Linux,
 * modelled from its documented behaviour (ports.md §3.2, §3.5):
 * a keyed hash of the destination picks a perturbation-table slot, the slot
 * plus the hash gives an even offset, and ports of the range's low parity
 * are scanned first, the other parity only when those are used up. */
#include "alloc_builtin.h"

#include <string.h>

#define PERTURB_SLOTS 65536u /* 2^16 slots, as CONFIG_INET_TABLE_PERTURB_ORDER=16 */
#define EPOCH (10 * SIM_S)   /* the hash is re-salted every 10 s */

typedef struct {
    uint16_t lo;
    uint32_t remaining; /* range size, rounded down to even when > 1 */
    uint64_t k0, k1;    /* the secret, drawn once (the kernel's boot-time key) */
    SimRng rng;
    uint32_t *perturb;
    /* IP_LOCAL_PORT_RANGE on Linux >= 6.8: step 1 over the whole
     * (sub-)range from a random offset, no parity split, no table. */
    gboolean socket_range;
    uint32_t size; /* the whole range, odd sizes included */
    /* The last port_offset() input and result: a run connects to the same
     * destination within one 10 s epoch again and again. */
    uint8_t last_in[2 * 17 + 2 + 8];
    size_t last_len;
    uint64_t last_hash;
} LinuxState;

/* ---- SipHash-2-4 ---- */

static inline uint64_t rotl64(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

#define SIP_ROUND(v0, v1, v2, v3)                                                        \
    do {                                                                                 \
        v0 += v1; v1 = rotl64(v1, 13); v1 ^= v0; v0 = rotl64(v0, 32);                    \
        v2 += v3; v3 = rotl64(v3, 16); v3 ^= v2;                                         \
        v0 += v3; v3 = rotl64(v3, 21); v3 ^= v0;                                         \
        v2 += v1; v1 = rotl64(v1, 17); v1 ^= v2; v2 = rotl64(v2, 32);                    \
    } while (0)

static inline uint64_t load_le64(const uint8_t *p)
{
    uint64_t x = 0;
    for (int i = 7; i >= 0; i--)
        x = (x << 8) | p[i];
    return x;
}

uint64_t ps_siphash24(uint64_t k0, uint64_t k1, const void *data, size_t len)
{
    const uint8_t *in = data;
    uint64_t v0 = k0 ^ 0x736f6d6570736575ULL;
    uint64_t v1 = k1 ^ 0x646f72616e646f6dULL;
    uint64_t v2 = k0 ^ 0x6c7967656e657261ULL;
    uint64_t v3 = k1 ^ 0x7465646279746573ULL;
    size_t whole = len & ~(size_t)7;
    for (size_t off = 0; off < whole; off += 8) {
        uint64_t m = load_le64(in + off);
        v3 ^= m;
        SIP_ROUND(v0, v1, v2, v3);
        SIP_ROUND(v0, v1, v2, v3);
        v0 ^= m;
    }
    /* Last block: the leftover bytes, and the length in the top byte. */
    uint64_t m = (uint64_t)(len & 0xff) << 56;
    for (size_t i = 0; i < (len & 7); i++)
        m |= (uint64_t)in[whole + i] << (8 * i);
    v3 ^= m;
    SIP_ROUND(v0, v1, v2, v3);
    SIP_ROUND(v0, v1, v2, v3);
    v0 ^= m;
    v2 ^= 0xff;
    for (int r = 0; r < 4; r++)
        SIP_ROUND(v0, v1, v2, v3);
    return v0 ^ v1 ^ v2 ^ v3;
}

/* ---- the allocator ---- */

size_t ps_alloc_put_address(uint8_t *buf, const SimAddress *a)
{
    if (!a) {
        buf[0] = 0; /* no address: one marker byte, distinct from any family */
        return 1;
    }
    size_t n = a->family == 4 ? 4 : 16;
    buf[0] = a->family;
    memcpy(buf + 1, a->bytes, n);
    return n + 1;
}

/* The kernel's per-destination port_offset: a keyed hash of source address,
 * destination address and port, and the current 10 s epoch. */
static uint64_t port_offset(LinuxState *st, const PsAllocRequest *req)
{
    uint8_t buf[sizeof st->last_in];
    size_t n = ps_alloc_put_address(buf, req->local);
    n += ps_alloc_put_address(buf + n, req->remote);
    buf[n++] = (uint8_t)(req->remote_port >> 8);
    buf[n++] = (uint8_t)req->remote_port;
    /* floor(now / 10 s), also for negative times */
    int64_t epoch = req->now >= 0 ? req->now / EPOCH : -((-req->now + EPOCH - 1) / EPOCH);
    for (int i = 0; i < 8; i++)
        buf[n++] = (uint8_t)((uint64_t)epoch >> (8 * i));
    if (n == st->last_len && memcmp(buf, st->last_in, n) == 0)
        return st->last_hash;
    memcpy(st->last_in, buf, n);
    st->last_len = n;
    st->last_hash = ps_siphash24(st->k0, st->k1, buf, n);
    return st->last_hash;
}

static void *linux_create(uint16_t lo, uint16_t hi, SimRng *rng)
{
    LinuxState *st = g_new0(LinuxState, 1);
    st->lo = lo;
    st->remaining = (uint32_t)hi - lo + 1;
    /* Even, so stepping by 2 with wrap keeps one parity per pass (an odd
     * range thus never offers its top port). */
    if (st->remaining > 1)
        st->remaining &= ~1u;
    st->rng = *rng;
    st->k0 = sim_rng_next(&st->rng);
    st->k1 = sim_rng_next(&st->rng);
    st->perturb = g_new0(uint32_t, PERTURB_SLOTS);
    return st;
}

static void *linux_create_params(uint16_t lo, uint16_t hi, SimRng *rng, PsAllocParams *params,
                                 GError **error)
{
    guint64 socket_range;
    if (!ps_alloc_params_uint(params, "socket_range", 0, 0, 1, &socket_range, error))
        return NULL;
    LinuxState *st = linux_create(lo, hi, rng);
    st->socket_range = socket_range != 0;
    st->size = (uint32_t)hi - lo + 1;
    return st;
}

static void linux_destroy(void *state)
{
    LinuxState *st = state;
    g_free(st->perturb);
    g_free(st);
}

/* One parity pass: remaining/2 candidates lo + (offset + i) % remaining,
 * i = 0, 2, 4, ... Returns the step index i of the port accepted, or -1. */
static int scan_pass(const LinuxState *st, const PsAllocRequest *req, uint32_t offset,
                     PsPortTest test, void *ctx, uint32_t *probes, uint16_t *port)
{
    uint32_t pos = offset % st->remaining;
    if (req->scan) {
        /* remaining/2 candidates of one parity, found a word at a time. */
        uint32_t count = (st->remaining + 1) / 2;
        uint32_t step = st->remaining > 1 ? 2 : 1; /* a 1-port range */
        int64_t k = req->scan(req->scan_ctx, pos, step, count, st->remaining);
        if (k < 0) {
            *probes += count;
            return -1;
        }
        *probes += (uint32_t)k + 1;
        *port = (uint16_t)(st->lo + (pos + 2 * (uint32_t)k) % st->remaining);
        return (int)(2 * k);
    }
    for (uint32_t i = 0; i < st->remaining; i += 2) {
        ++*probes;
        if (test(ctx, (uint16_t)(st->lo + pos))) {
            *port = (uint16_t)(st->lo + pos);
            return (int)i;
        }
        pos += 2;
        if (pos >= st->remaining)
            pos -= st->remaining; /* remaining is even: parity kept */
    }
    return -1;
}

static int linux_pick(void *state, const PsAllocRequest *req, PsPortTest test, void *ctx,
                      uint32_t *probes)
{
    LinuxState *st = state;
    uint16_t port = 0;
    *probes = 0;

    if (req->mode == PS_ALLOC_BIND) {
        /* bind(0): a fresh random odd offset each call (the parity opposite
         * to connect()), then the other parity; no shared state moves. */
        uint32_t offset = sim_rng_below(&st->rng, st->remaining) | 1;
        if (scan_pass(st, req, offset, test, ctx, probes, &port) >= 0)
            return port;
        if (st->remaining > 1 && scan_pass(st, req, offset - 1, test, ctx, probes, &port) >= 0)
            return port;
        return -1;
    }

    if (st->socket_range) {
        /* inet_sk_get_local_port_range() narrowed the range: one pass,
         * step 1, from a random offset. */
        uint32_t start = sim_rng_below(&st->rng, st->size);
        if (req->scan) {
            int64_t k = req->scan(req->scan_ctx, start, 1, st->size, st->size);
            *probes = k < 0 ? st->size : (uint32_t)k + 1;
            return k < 0 ? -1 : (int)(st->lo + (start + (uint32_t)k) % st->size);
        }
        for (uint32_t n = 1; n <= st->size; n++) {
            uint16_t cand = (uint16_t)(st->lo + (start + n - 1) % st->size);
            if (test(ctx, cand)) {
                *probes = n;
                return cand;
            }
        }
        *probes = st->size;
        return -1;
    }
    uint64_t h = port_offset(st, req);
    uint32_t *slot = &st->perturb[h & (PERTURB_SLOTS - 1)];
    /* u32 arithmetic, wrapping, as the table slots are 32-bit counters */
    uint32_t offset = ((uint32_t)(*slot + (uint32_t)(h >> 32))) % st->remaining;
    offset &= ~1u; /* first pass: the parity of lo */
    int i = scan_pass(st, req, offset, test, ctx, probes, &port);
    if (i < 0 && st->remaining > 1)
        i = scan_pass(st, req, offset + 1, test, ctx, probes, &port);
    if (i < 0)
        return -1;
    /* Move this destination's cursor past the port, by a small random
     * amount at least, so the next port is 2 to 16 further on. */
    uint32_t jump = sim_rng_below(&st->rng, 8) * 2;
    *slot += MAX((uint32_t)i, jump) + 2;
    return port;
}

static uint32_t linux_exhausted_probes(void *state, const PsAllocRequest *req)
{
    /* Both parity passes, remaining/2 candidates each; or the one pass. */
    const LinuxState *st = state;
    return st->socket_range ? st->size : st->remaining;
}

const PsAllocatorClass ps_alloc_linux_class = {
    .name = "linux",
    .help = "Linux connect() and bind(0) selection. connect(): a SipHash of (local address, "
            "remote address, remote port, 10 s epoch) under a per-allocator secret picks one of "
            "65,536 perturbation-table slots; slot + hash gives an even offset; ports of the "
            "range's low parity are scanned upward with wrap (step 2), the other parity only "
            "when those are used up toward that destination; on success the slot advances by "
            "max(steps, 2*rand(0..7)) + 2, so consecutive ports toward one destination are 2 to "
            "16 apart. bind(0): a random odd offset on every call, odd parity first, no table. "
            "State: the secret and a 256 KiB table of 65,536 u32 counters. Cost: ~1 probe while "
            "the ports ahead are free; once a destination's first-parity half is used up, every "
            "connect() walks that whole half (range/2 probes) before the other; the whole range "
            "when none is free. An odd-sized range never offers its top port. Source: Linux "
            "net/ipv4/inet_hashtables.c __inet_hash_connect() (commits 190cc82, 4dfa9b438ee3, "
            "4c2c8f03a5ab, ca7af0402550), net/core/secure_seq.c secure_ipv4_port_ephemeral(), "
            "net/ipv4/inet_connection_sock.c inet_csk_find_open_port(); RFC 6056 §3.3.4. Parameter "
            "socket_range=1 (set for hosts with local_port_range): Linux >= 6.8 with "
            "IP_LOCAL_PORT_RANGE scans step 1 from a random offset, no parity split "
            "(ports.md §3.6).",
    .create = linux_create,
    .create_params = linux_create_params,
    .destroy = linux_destroy,
    .pick = linux_pick,
    .exhausted_probes = linux_exhausted_probes,
};
