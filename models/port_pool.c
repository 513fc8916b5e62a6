/* The port pool: bitmaps and counters answering "may this port be used?"
 * in O(1), with free counts kept current so exhaustion costs nothing to
 * detect (see port_pool.h for the semantics). */
#include "port_pool.h"

#include <string.h>

/* A remote endpoint, normalised so it can be hashed and compared bytewise. */
typedef struct {
    SimAddress addr;
    uint16_t port;
} DestKey;

typedef struct {
    DestKey key; /* first, so a Dest * is also a DestKey * for the hash table */
    PsDestId id;
    guint used;  /* ports whose 4-tuple toward this endpoint is in use */
    guint used_parity[2]; /* the same by the parity of the port's offset in the range */
    uint64_t bits[]; /* one bit per port of the range */
} Dest;

struct PsPortPool {
    uint16_t lo, hi;
    guint size;      /* hi - lo + 1 */
    guint n_words;   /* 64-bit words per bitmap */
    uint64_t *reserved;
    uint64_t *bound;
    /* Per port: 4-tuples in use through it, in chunks of 64 ports made on
     * first use, so a pool of a host with thousands of addresses (an IPv6
     * /112) that uses few ports costs ~15 KiB, not ~130 KiB. */
    uint32_t **use_chunks;
    uint64_t *used_any; /* bit set while a port's use count > 0 */
    guint n_reserved;
    guint n_bound;
    guint ports_in_use;
    guint64 tuples_in_use;
    /* Reserved or bound ports by the parity of their offset: with a
     * destination's used_parity, the ports of one parity still usable
     * toward it (the three sets are disjoint: takes refuse the others). */
    guint blocked_parity[2];
    GHashTable *dest_index; /* DestKey * -> Dest * */
    GPtrArray *dests;       /* PsDestId -> Dest * (owned) */
    const Dest *last_dest; /* the last one ps_pool_dest() returned */
};

static inline gboolean bit_get(const uint64_t *w, guint i)
{
    return (w[i >> 6] >> (i & 63)) & 1;
}

static inline void bit_set(uint64_t *w, guint i) { w[i >> 6] |= (uint64_t)1 << (i & 63); }

static inline void bit_clear(uint64_t *w, guint i) { w[i >> 6] &= ~((uint64_t)1 << (i & 63)); }

/* The use count of port offset i (its chunk made on first use). */
static inline uint32_t *use_slot(PsPortPool *pool, guint i)
{
    uint32_t **chunk = &pool->use_chunks[i >> 6];
    if (G_UNLIKELY(!*chunk))
        *chunk = g_new0(uint32_t, 64);
    return &(*chunk)[i & 63];
}

static inline gboolean in_range(const PsPortPool *pool, uint16_t port)
{
    return port >= pool->lo && port <= pool->hi;
}

static inline Dest *dest_at(const PsPortPool *pool, PsDestId id)
{
    return g_ptr_array_index(pool->dests, id);
}

static guint dest_key_hash(gconstpointer p)
{
    const DestKey *k = p;
    /* FNV-1a over the normalised bytes: stable, and good enough for a
     * table of a few thousand endpoints. */
    uint32_t h = 2166136261u;
    h = (h ^ k->addr.family) * 16777619u;
    for (guint i = 0; i < sizeof k->addr.bytes; i++)
        h = (h ^ k->addr.bytes[i]) * 16777619u;
    h = (h ^ (k->port & 0xff)) * 16777619u;
    h = (h ^ (k->port >> 8)) * 16777619u;
    return h;
}

static gboolean dest_key_equal(gconstpointer a, gconstpointer b)
{
    const DestKey *x = a, *y = b;
    return x->port == y->port && x->addr.family == y->addr.family &&
           memcmp(x->addr.bytes, y->addr.bytes, sizeof x->addr.bytes) == 0;
}

/* An IPv4 address uses only bytes[0..3]; zero the rest so stray bytes left
 * by a caller never split one endpoint into two ids. */
static void dest_key_init(DestKey *k, const SimAddress *remote, uint16_t remote_port)
{
    memset(k, 0, sizeof *k);
    k->addr.family = remote->family;
    memcpy(k->addr.bytes, remote->bytes, remote->family == 4 ? 4 : sizeof k->addr.bytes);
    k->port = remote_port;
}

PsPortPool *ps_pool_new(uint16_t lo, uint16_t hi)
{
    g_return_val_if_fail(lo >= 1 && lo <= hi, NULL);
    PsPortPool *pool = g_new0(PsPortPool, 1);
    pool->lo = lo;
    pool->hi = hi;
    pool->size = (guint)hi - lo + 1;
    pool->n_words = (pool->size + 63) / 64;
    pool->reserved = g_new0(uint64_t, pool->n_words);
    pool->bound = g_new0(uint64_t, pool->n_words);
    pool->use_chunks = g_new0(uint32_t *, pool->n_words);
    pool->used_any = g_new0(uint64_t, pool->n_words);
    pool->dest_index = g_hash_table_new(dest_key_hash, dest_key_equal);
    pool->dests = g_ptr_array_new_with_free_func(g_free);
    return pool;
}

void ps_pool_free(PsPortPool *pool)
{
    if (!pool)
        return;
    g_hash_table_destroy(pool->dest_index);
    g_ptr_array_free(pool->dests, TRUE);
    g_free(pool->reserved);
    g_free(pool->bound);
    for (guint w = 0; w < pool->n_words; w++)
        g_free(pool->use_chunks[w]);
    g_free(pool->use_chunks);
    g_free(pool->used_any);
    g_free(pool);
}

uint16_t ps_pool_lo(const PsPortPool *pool) { return pool->lo; }

uint16_t ps_pool_hi(const PsPortPool *pool) { return pool->hi; }

void ps_pool_reserve(PsPortPool *pool, uint16_t lo, uint16_t hi)
{
    g_return_if_fail(pool != NULL && lo <= hi);
    /* Free counts assume no reserved port is in use: reserve before use. */
    g_return_if_fail(ps_pool_is_empty(pool));
    guint from = MAX(lo, pool->lo), to = MIN(hi, pool->hi);
    if (from > to)
        return; /* entirely outside the range */
    for (guint p = from; p <= to; p++) {
        guint i = p - pool->lo;
        if (!bit_get(pool->reserved, i)) {
            bit_set(pool->reserved, i);
            pool->n_reserved++;
            pool->blocked_parity[i & 1]++;
        }
    }
}

gboolean ps_pool_is_reserved(const PsPortPool *pool, uint16_t port)
{
    return in_range(pool, port) && bit_get(pool->reserved, port - pool->lo);
}

guint ps_pool_capacity(const PsPortPool *pool) { return pool->size - pool->n_reserved; }

PsDestId ps_pool_dest(PsPortPool *pool, const SimAddress *remote, uint16_t remote_port)
{
    g_return_val_if_fail(pool != NULL && remote != NULL, 0);
    DestKey key;
    dest_key_init(&key, remote, remote_port);
    /* Connections mostly go where the previous one went. */
    if (pool->last_dest && dest_key_equal(&pool->last_dest->key, &key))
        return pool->last_dest->id;
    Dest *d = g_hash_table_lookup(pool->dest_index, &key);
    if (d) {
        pool->last_dest = d;
        return d->id;
    }
    /* One allocation per endpoint (its bitmap inline), none per port. */
    d = g_malloc0(sizeof(Dest) + pool->n_words * sizeof(uint64_t));
    d->key = key;
    d->id = pool->dests->len;
    g_ptr_array_add(pool->dests, d);
    g_hash_table_insert(pool->dest_index, &d->key, d);
    pool->last_dest = d;
    return d->id;
}

guint ps_pool_n_dests(const PsPortPool *pool) { return pool->dests->len; }

gboolean ps_pool_connect_ok(const PsPortPool *pool, PsDestId dest, uint16_t port)
{
    g_return_val_if_fail(dest < pool->dests->len, FALSE);
    if (!in_range(pool, port))
        return FALSE;
    guint i = port - pool->lo;
    /* Reserved and bound ports can be tested together: one OR per word. */
    if (((pool->reserved[i >> 6] | pool->bound[i >> 6]) >> (i & 63)) & 1)
        return FALSE;
    return !bit_get(dest_at(pool, dest)->bits, i);
}

guint ps_pool_connect_free(const PsPortPool *pool, PsDestId dest)
{
    g_return_val_if_fail(dest < pool->dests->len, 0);
    /* Bound ports carry no dest bit (bind_ok needs an unused port and
     * connect_ok an unbound one), so the two never overlap. */
    return ps_pool_capacity(pool) - pool->n_bound - dest_at(pool, dest)->used;
}

void ps_pool_connect_take(PsPortPool *pool, PsDestId dest, uint16_t port)
{
    g_return_if_fail(ps_pool_connect_ok(pool, dest, port));
    guint i = port - pool->lo;
    Dest *d = dest_at(pool, dest);
    bit_set(d->bits, i);
    d->used++;
    d->used_parity[i & 1]++;
    pool->tuples_in_use++;
    if ((*use_slot(pool, i))++ == 0) {
        pool->ports_in_use++;
        bit_set(pool->used_any, i);
    }
}

void ps_pool_connect_release(PsPortPool *pool, PsDestId dest, uint16_t port)
{
    g_return_if_fail(ps_pool_tuple_in_use(pool, dest, port));
    guint i = port - pool->lo;
    Dest *d = dest_at(pool, dest);
    bit_clear(d->bits, i);
    d->used--;
    d->used_parity[i & 1]--;
    pool->tuples_in_use--;
    if (--*use_slot(pool, i) == 0) {
        pool->ports_in_use--;
        bit_clear(pool->used_any, i);
    }
}

gboolean ps_pool_tuple_in_use(const PsPortPool *pool, PsDestId dest, uint16_t port)
{
    g_return_val_if_fail(dest < pool->dests->len, FALSE);
    return in_range(pool, port) && bit_get(dest_at(pool, dest)->bits, port - pool->lo);
}

/* The first offset o in [from, to), o = from (mod step), whose port is not
 * blocked, or -1. Bits past the range are never reached: to <= size. */
static int64_t first_clear(const PsPortPool *pool, const uint64_t *taken, uint32_t from,
                           uint32_t to, uint32_t step)
{
    uint64_t pattern = step == 1 ? ~(uint64_t)0
                       : (from & 1) ? 0xAAAAAAAAAAAAAAAAull
                                    : 0x5555555555555555ull;
    for (uint32_t w = from >> 6; (uint64_t)w << 6 < to; w++) {
        uint64_t usable = ~(pool->reserved[w] | pool->bound[w] | taken[w]) & pattern;
        if (w == from >> 6)
            usable &= ~(uint64_t)0 << (from & 63);
        uint32_t base = w << 6;
        if (to - base < 64)
            usable &= ((uint64_t)1 << (to - base)) - 1;
        if (usable)
            return base + (uint32_t)__builtin_ctzll(usable);
    }
    return -1;
}

int64_t ps_pool_first_usable(const PsPortPool *pool, PsDestId dest, gboolean bind,
                             uint32_t start, uint32_t step, uint32_t count, uint32_t span)
{
    g_return_val_if_fail(step == 1 || (step == 2 && span % 2 == 0), -1);
    g_return_val_if_fail(start < span && span <= pool->size, -1);
    g_return_val_if_fail(bind || dest < pool->dests->len, -1);
    const uint64_t *taken = bind ? pool->used_any : dest_at(pool, dest)->bits;
    if (!bind) {
        /* No usable port of the candidates' parity (or none at all) in
         * the whole range: the answer is known without the scan, which
         * would walk a half that connections to one destination have
         * exhausted (Linux's even half) word by word. */
        const Dest *d = dest_at(pool, dest);
        guint par = start & 1;
        guint usable_par = (pool->size + 1 - par) / 2 - pool->blocked_parity[par] - d->used_parity[par];
        guint usable = pool->size - pool->blocked_parity[0] - pool->blocked_parity[1] - d->used;
        if (step == 2 ? usable_par == 0 : usable == 0)
            return -1;
    }
    uint64_t k = 0;
    uint32_t o = start;
    while (k < count) {
        uint32_t before_wrap = (span - o + step - 1) / step;
        uint32_t n = (uint32_t)MIN((uint64_t)before_wrap, count - k);
        int64_t hit = first_clear(pool, taken, o, o + (n - 1) * step + 1, step);
        if (hit >= 0)
            return (int64_t)k + (hit - o) / step;
        k += n;
        o = o + n * step - span; /* only used when the loop goes on, after a wrap */
    }
    return -1;
}

gboolean ps_pool_bind_ok(const PsPortPool *pool, uint16_t port)
{
    if (!in_range(pool, port))
        return FALSE;
    guint i = port - pool->lo;
    return !bit_get(pool->reserved, i) && !bit_get(pool->bound, i) && !bit_get(pool->used_any, i);
}

guint ps_pool_bind_free(const PsPortPool *pool)
{
    /* Every port in use is a non-reserved one (take refuses reserved). */
    return ps_pool_capacity(pool) - pool->ports_in_use;
}

void ps_pool_bind_take(PsPortPool *pool, uint16_t port)
{
    g_return_if_fail(ps_pool_bind_ok(pool, port));
    bit_set(pool->bound, port - pool->lo);
    pool->n_bound++;
    pool->blocked_parity[(port - pool->lo) & 1]++;
    pool->ports_in_use++;
}

void ps_pool_bind_release(PsPortPool *pool, uint16_t port)
{
    g_return_if_fail(ps_pool_is_bound(pool, port));
    bit_clear(pool->bound, port - pool->lo);
    pool->n_bound--;
    pool->blocked_parity[(port - pool->lo) & 1]--;
    pool->ports_in_use--;
}

gboolean ps_pool_is_bound(const PsPortPool *pool, uint16_t port)
{
    return in_range(pool, port) && bit_get(pool->bound, port - pool->lo);
}

guint ps_pool_ports_in_use(const PsPortPool *pool) { return pool->ports_in_use; }

guint64 ps_pool_tuples_in_use(const PsPortPool *pool) { return pool->tuples_in_use; }

gboolean ps_pool_is_empty(const PsPortPool *pool) { return pool->ports_in_use == 0; }
