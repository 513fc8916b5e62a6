/* The TIME_WAIT index (tw_index.h). */
#include "tw_index.h"

#define MIN_BITS 4

/* Fibonacci hashing: keys are small and dense (dest << 16 | port), the
 * multiply spreads them, the top bits index the table. */
static inline uint32_t home(const PsTwIndex *ix, uint64_t key)
{
    return (uint32_t)((key * UINT64_C(0x9E3779B97F4A7C15)) >> ix->shift);
}

PsTwIndex *ps_tw_index_new(void)
{
    return g_new0(PsTwIndex, 1);
}

void ps_tw_index_free(PsTwIndex *ix)
{
    if (!ix)
        return;
    g_free(ix->slots);
    g_free(ix);
}

static void place(PsTwIndex *ix, uint32_t v, uint64_t key)
{
    uint32_t i = home(ix, key);
    while (ix->slots[i])
        i = (i + 1) & ix->mask;
    ix->slots[i] = v;
}

static void resize(PsTwIndex *ix, uint32_t bits, PsTwKeyOf key_of, const void *ctx)
{
    uint32_t *old = ix->slots;
    uint32_t old_cap = old ? ix->mask + 1 : 0;
    /* g_new0: calloc, so untouched pages of a large table cost no RSS. */
    ix->slots = g_new0(uint32_t, (gsize)1 << bits);
    ix->mask = (uint32_t)(((uint64_t)1 << bits) - 1);
    ix->shift = 64 - bits;
    for (uint32_t i = 0; i < old_cap; i++)
        if (old[i])
            place(ix, old[i], key_of(ctx, old[i]));
    g_free(old);
}

/* The slot holding key, or the empty slot ending its probe sequence. */
static uint32_t find(const PsTwIndex *ix, uint64_t key, PsTwKeyOf key_of, const void *ctx)
{
    uint32_t i = home(ix, key);
    while (ix->slots[i] && key_of(ctx, ix->slots[i]) != key)
        i = (i + 1) & ix->mask;
    return i;
}

uint32_t ps_tw_index_lookup(const PsTwIndex *ix, uint64_t key, PsTwKeyOf key_of,
                            const void *ctx)
{
    if (!ix->size)
        return 0;
    return ix->slots[find(ix, key, key_of, ctx)];
}

void ps_tw_index_insert(PsTwIndex *ix, uint64_t key, uint32_t v, PsTwKeyOf key_of,
                        const void *ctx)
{
    g_assert(v != 0);
    if (!ix->slots)
        resize(ix, MIN_BITS, key_of, ctx);
    uint32_t i = find(ix, key, key_of, ctx);
    if (ix->slots[i]) {
        ix->slots[i] = v;
        return;
    }
    uint64_t cap = (uint64_t)ix->mask + 1;
    if (((uint64_t)ix->size + 1) * 4 > cap * 3) {
        if (cap >= (UINT64_C(1) << 31))
            g_error("TIME_WAIT index: more than 2^31 entries");
        resize(ix, 64 - ix->shift + 1, key_of, ctx);
        i = find(ix, key, key_of, ctx);
    }
    ix->slots[i] = v;
    ix->size++;
}

gboolean ps_tw_index_remove(PsTwIndex *ix, uint64_t key, PsTwKeyOf key_of, const void *ctx)
{
    if (!ix->size)
        return FALSE;
    uint32_t i = find(ix, key, key_of, ctx);
    if (!ix->slots[i])
        return FALSE;
    /* Backward shift: move later members of the cluster into the hole when
     * their home does not lie cyclically in (hole, their slot]. */
    uint32_t hole = i;
    for (uint32_t j = (i + 1) & ix->mask; ix->slots[j]; j = (j + 1) & ix->mask) {
        uint32_t h = home(ix, key_of(ctx, ix->slots[j]));
        if (((j - h) & ix->mask) >= ((j - hole) & ix->mask)) {
            ix->slots[hole] = ix->slots[j];
            hole = j;
        }
    }
    ix->slots[hole] = 0;
    ix->size--;
    return TRUE;
}
