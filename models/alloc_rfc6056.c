/* RFC 6056 Algorithms 2 to 5 (Algorithm 1 is `random`, alloc_random.c),
 * each written as the RFC's pseudo-code reads: the same candidates, in the
 * same order, with the same state moving per try.
 *
 * F() and G() are SipHash-2-4 under a per-allocator secret (the RFC
 * suggests MD5; any keyed hash serves, Linux uses SipHash). Parameters come
 * from the host's `allocator_params`. */
#include "alloc_builtin.h"

#include <string.h>

typedef struct {
    uint16_t lo;
    uint32_t num;       /* num_ephemeral */
    SimRng rng;         /* a copy: the caller's stream is not kept */
    uint64_t k0, k1;    /* secret_key of F() */
    uint64_t k2, k3;    /* secret_key2 of G() (Alg 4) */
    uint64_t next;      /* next_ephemeral (Alg 3, Alg 5) */
    uint64_t *table;    /* Alg 4 */
    uint32_t table_len;
    uint32_t n;         /* Alg 2: tries; Alg 5: N, the increment bound */
} RfcState;

uint64_t ps_alloc_flow_hash(uint64_t k0, uint64_t k1, const SimAddress *local,
                            const SimAddress *remote, uint16_t remote_port)
{
    uint8_t buf[2 * 17 + 2];
    size_t n = ps_alloc_put_address(buf, local);
    n += ps_alloc_put_address(buf + n, remote);
    buf[n++] = (uint8_t)(remote_port >> 8);
    buf[n++] = (uint8_t)remote_port;
    return ps_siphash24(k0, k1, buf, n);
}

static uint64_t req_hash(uint64_t k0, uint64_t k1, const PsAllocRequest *req)
{
    return ps_alloc_flow_hash(k0, k1, req->local, req->remote, req->remote_port);
}

/* Common start: the range, the stream, and the secrets, drawn from the
 * stream unless `key` pins them (then F() uses (key, 0), G() (key, 1)) so a
 * test or a user can replay the sequence. */
static RfcState *rfc_new(uint16_t lo, uint16_t hi, SimRng *rng, PsAllocParams *params,
                         gboolean keyed, GError **error)
{
    RfcState *st = g_new0(RfcState, 1);
    st->lo = lo;
    st->num = (uint32_t)hi - lo + 1;
    st->rng = *rng;
    if (!keyed)
        return st;
    st->k0 = sim_rng_next(&st->rng);
    st->k1 = sim_rng_next(&st->rng);
    st->k2 = sim_rng_next(&st->rng);
    st->k3 = sim_rng_next(&st->rng);
    if (ps_alloc_params_has(params, "key")) {
        guint64 key;
        if (!ps_alloc_params_uint(params, "key", 0, 0, G_MAXUINT64, &key, error)) {
            g_free(st);
            return NULL;
        }
        st->k0 = st->k2 = key;
        st->k1 = 0;
        st->k3 = 1;
    }
    return st;
}

static void rfc_destroy(void *state)
{
    RfcState *st = state;
    g_free(st->table);
    g_free(st);
}

/* Algorithms 3 and 4 walk num consecutive ports from (offset + *counter),
 * adding 1 to the counter per try: the pool's word scan finds the same
 * port, and the counter then moves by the tries made. */
static int walk_counter(RfcState *st, const PsAllocRequest *req, uint64_t offset,
                        uint64_t *counter, PsPortTest test, void *ctx, uint32_t *probes)
{
    if (req->scan) {
        uint32_t start = (uint32_t)((offset + *counter) % st->num);
        int64_t k = req->scan(req->scan_ctx, start, 1, st->num, st->num);
        uint32_t tries = k < 0 ? st->num : (uint32_t)k + 1;
        *counter += tries;
        *probes = tries;
        return k < 0 ? -1 : (int)(st->lo + (start + (uint32_t)k) % st->num);
    }
    for (uint32_t count = 1; count <= st->num; count++) {
        uint16_t port = (uint16_t)(st->lo + (offset + *counter) % st->num);
        ++*counter;
        if (test(ctx, port)) {
            *probes = count;
            return port;
        }
    }
    *probes = st->num;
    return -1;
}

/* ---- Algorithm 2: a fresh random port per try ---- */

static void *pick2_create(uint16_t lo, uint16_t hi, SimRng *rng, PsAllocParams *params,
                          GError **error)
{
    RfcState *st = rfc_new(lo, hi, rng, params, FALSE, error);
    guint64 tries;
    if (!ps_alloc_params_uint(params, "max_tries", st->num, 1, G_MAXUINT32, &tries, error)) {
        rfc_destroy(st);
        return NULL;
    }
    st->n = (uint32_t)tries;
    return st;
}

static int pick2_pick(void *state, const PsAllocRequest *req, PsPortTest test, void *ctx,
                      uint32_t *probes)
{
    RfcState *st = state;
    for (uint32_t count = 1; count <= st->n; count++) {
        uint16_t port = (uint16_t)(st->lo + sim_rng_below(&st->rng, st->num));
        if (test(ctx, port)) {
            *probes = count;
            return port;
        }
    }
    *probes = st->n;
    return -1;
}

/* No port free at all: charged the full walk without drawing its numbers
 * (the draws are independent of the state, so skipping them changes which
 * numbers later picks see, not their distribution; drawing them would cost
 * range-size draws per failed attempt in an exhausted pool). */
static uint32_t pick2_exhausted(void *state, const PsAllocRequest *req)
{
    return ((RfcState *)state)->n;
}

const PsAllocatorClass ps_alloc_random_pick_class = {
    .name = "random-pick",
    .help = "RFC 6056 Algorithm 2 (another simple port randomization): every try draws a fresh "
            "uniformly random port of the range, giving up after max_tries tries. Parameters: "
            "max_tries (default: the range size, as the RFC). State: none but the random stream. "
            "Cost: geometric, about 1/(1-r) probes at occupancy r (r = 0.9: 10, r = 0.99: 100); "
            "candidates repeat, so it can fail while ports are still free (probability about "
            "r^max_tries) and blocks more than Erlang B on a small pool. Source: RFC 6056 §3.3.2; "
            "NetBSD sys/netinet/portalgo.c `random_pick`.",
    .create_params = pick2_create,
    .destroy = rfc_destroy,
    .pick = pick2_pick,
    .exhausted_probes = pick2_exhausted,
};

/* ---- Algorithm 3: hash offset + one global counter ---- */

static void *hash_create(uint16_t lo, uint16_t hi, SimRng *rng, PsAllocParams *params,
                         GError **error)
{
    RfcState *st = rfc_new(lo, hi, rng, params, TRUE, error);
    /* next_ephemeral starts at 0, as the RFC's boot-time initialisation. */
    return st;
}

static int hash_pick(void *state, const PsAllocRequest *req, PsPortTest test, void *ctx,
                     uint32_t *probes)
{
    RfcState *st = state;
    uint64_t offset = req_hash(st->k0, st->k1, req) & 0xffffffffu;
    return walk_counter(st, req, offset, &st->next, test, ctx, probes);
}

static uint32_t hash_exhausted(void *state, const PsAllocRequest *req)
{
    RfcState *st = state;
    st->next += st->num; /* what the full walk adds */
    return st->num;
}

const PsAllocatorClass ps_alloc_hash_class = {
    .name = "hash",
    .help = "RFC 6056 Algorithm 3 (simple hash-based): offset = F(local address, remote "
            "address, remote port, secret); candidates lo + (next_ephemeral + offset) % range, "
            "with one global next_ephemeral (starting at 0) incremented per try. F is SipHash-2-4. "
            "Parameters: key (pins the secret, to replay a sequence). State: the secret and one "
            "counter shared by all destinations, so ports toward one destination reveal traffic "
            "to others. Cost: sequential per destination, ~1 probe while the ports ahead are free, "
            "the busy run ahead once it wraps into used ports, the range when none is free. "
            "Source: RFC 6056 §3.3.3; Linux used it from 2.6.x until 2022 (secure_ipv4_port_ephemeral "
            "+ a global hint; replaced by commit 190cc82); NetBSD portalgo.c `hash`.",
    .create_params = hash_create,
    .destroy = rfc_destroy,
    .pick = hash_pick,
    .exhausted_probes = hash_exhausted,
};

/* ---- Algorithm 4: hash offset + a table of counters chosen by G() ---- */

static void *dhash_create(uint16_t lo, uint16_t hi, SimRng *rng, PsAllocParams *params,
                          GError **error)
{
    RfcState *st = rfc_new(lo, hi, rng, params, TRUE, error);
    guint64 len;
    if (!st)
        return NULL;
    if (!ps_alloc_params_uint(params, "table_size", 10, 1, 1u << 20, &len, error)) {
        rfc_destroy(st);
        return NULL;
    }
    st->table_len = (uint32_t)len;
    st->table = g_new(uint64_t, st->table_len);
    /* table[i] = random() % 65536, as the RFC initialises it */
    for (uint32_t i = 0; i < st->table_len; i++)
        st->table[i] = sim_rng_below(&st->rng, 65536);
    return st;
}

static uint64_t *dhash_slot(RfcState *st, const PsAllocRequest *req)
{
    return &st->table[req_hash(st->k2, st->k3, req) % st->table_len];
}

static int dhash_pick(void *state, const PsAllocRequest *req, PsPortTest test, void *ctx,
                      uint32_t *probes)
{
    RfcState *st = state;
    uint64_t offset = req_hash(st->k0, st->k1, req) & 0xffffffffu;
    return walk_counter(st, req, offset, dhash_slot(st, req), test, ctx, probes);
}

static uint32_t dhash_exhausted(void *state, const PsAllocRequest *req)
{
    RfcState *st = state;
    *dhash_slot(st, req) += st->num;
    return st->num;
}

const PsAllocatorClass ps_alloc_double_hash_class = {
    .name = "double-hash",
    .help = "RFC 6056 Algorithm 4 (double-hash): offset = F(local address, remote address, "
            "remote port, secret1); index = G(same, secret2) % table_size; candidates lo + "
            "(offset + table[index]) % range, table[index] incremented per try; the table starts "
            "with random() % 65536 in each slot. F and G are SipHash-2-4. Parameters: table_size "
            "(default 10, the RFC's suggestion; 1..1048576), key (pins both secrets). State: the "
            "secrets and table_size counters; destinations in different slots do not move each "
            "other's sequence. Cost: as `hash` per destination: ~1 probe while the ports ahead are "
            "free, the range when none is free. Source: RFC 6056 §3.3.4; Linux since 2022 (commit 190cc82) uses a "
            "variant (see `linux`); NetBSD portalgo.c `doublehash`.",
    .create_params = dhash_create,
    .destroy = rfc_destroy,
    .pick = dhash_pick,
    .exhausted_probes = dhash_exhausted,
};

/* ---- Algorithm 5: random increments ---- */

static void *rinc_create(uint16_t lo, uint16_t hi, SimRng *rng, PsAllocParams *params,
                         GError **error)
{
    RfcState *st = rfc_new(lo, hi, rng, params, FALSE, error);
    guint64 n;
    if (!ps_alloc_params_uint(params, "max_increment", 500, 1, 65535, &n, error)) {
        rfc_destroy(st);
        return NULL;
    }
    st->n = (uint32_t)n;
    st->next = sim_rng_below(&st->rng, 65536); /* the RFC's random start */
    return st;
}

static int rinc_pick(void *state, const PsAllocRequest *req, PsPortTest test, void *ctx,
                     uint32_t *probes)
{
    RfcState *st = state;
    for (uint32_t count = 1; count <= st->num; count++) {
        st->next += sim_rng_below(&st->rng, st->n) + 1;
        uint16_t port = (uint16_t)(st->lo + st->next % st->num);
        if (test(ctx, port)) {
            *probes = count;
            return port;
        }
    }
    *probes = st->num;
    return -1;
}

/* As pick2_exhausted: charged, next_ephemeral left where it is (it would
 * have moved by a random amount). */
static uint32_t rinc_exhausted(void *state, const PsAllocRequest *req)
{
    return ((RfcState *)state)->num;
}

const PsAllocatorClass ps_alloc_random_increments_class = {
    .name = "random-increments",
    .help = "RFC 6056 Algorithm 5 (random-increments): one global next_ephemeral (random "
            "start) advanced by 1 + random() % N per try; candidate lo + next_ephemeral % range; "
            "gives up after the range size. Parameters: max_increment (N, default 500 as the "
            "RFC discusses; 1..65535). State: one counter and the stream. Cost: a run of L busy "
            "ports is crossed in about L/((N+1)/2) probes; near a full range candidates repeat "
            "(random strides), so tries can run out while a port is free. Source: RFC 6056 "
            "§3.3.5; NetBSD portalgo.c `randinc`; Linux's ip_local_port_step_width (2026) is a "
            "relative.",
    .create_params = rinc_create,
    .destroy = rfc_destroy,
    .pick = rinc_pick,
    .exhausted_probes = rinc_exhausted,
};
