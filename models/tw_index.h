/* A compact hash index of client TIME_WAIT 4-tuples for tcp_tw_reuse.
 *
 * It maps a key (dest << 16 | port) to a non-zero 32-bit value (tcp.c's
 * TW_CONN / TW_ENTRY tags) in 4 bytes per slot: keys are not stored but
 * recomputed from the record a value names (key_of), so a slot is a value
 * and nothing else. Open addressing, linear probing, load <= 0.75, grown by
 * doubling, backward-shift deletion (no tombstones). A GHashTable cost ~20 B
 * per entry at its load; this costs 5.3-10.7 B. Nothing iterates it, so its
 * order cannot reach any output. */
#ifndef PS_TW_INDEX_H
#define PS_TW_INDEX_H

#include <glib.h>
#include <stdint.h>

/* The key of the record value v names. */
typedef uint64_t (*PsTwKeyOf)(const void *ctx, uint32_t v);

typedef struct {
    uint32_t *slots; /* 0: empty; NULL until the first insert */
    uint32_t mask;   /* capacity - 1 */
    uint32_t shift;  /* 64 - log2(capacity) */
    uint32_t size;
} PsTwIndex;

PsTwIndex *ps_tw_index_new(void);
void ps_tw_index_free(PsTwIndex *ix);
static inline uint32_t ps_tw_index_size(const PsTwIndex *ix) { return ix->size; }

/* The value for key, 0 when absent. */
uint32_t ps_tw_index_lookup(const PsTwIndex *ix, uint64_t key, PsTwKeyOf key_of,
                            const void *ctx);
/* Adds v (non-zero) under key, replacing the value already there, if any
 * (as g_hash_table_insert() does). */
void ps_tw_index_insert(PsTwIndex *ix, uint64_t key, uint32_t v, PsTwKeyOf key_of,
                        const void *ctx);
/* Removes key; FALSE when it was absent. */
gboolean ps_tw_index_remove(PsTwIndex *ix, uint64_t key, PsTwKeyOf key_of, const void *ctx);

#endif
