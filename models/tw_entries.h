/* Client TIME_WAIT entries kept without their connection record.
 *
 * A client socket in TIME_WAIT only waits for its end: once the server side
 * is CLOSED nothing but the port, the metrics and tcp_tw_reuse needs it. So
 * where the result is provably the same (tcp.c client_gets_ackfin says
 * when), the connection's TIME_WAIT moves into one of these 32-byte entries
 * in a per-host slab, its end is a compact engine event (16 bytes, see
 * sim_engine_at_compact()), and the 96-byte PsConn is recycled as soon as
 * the server closes. ps_tw_set_fast_path(FALSE) keeps every TIME_WAIT on
 * the connection record, as before: tests compare the two. */
#ifndef PS_TW_ENTRIES_H
#define PS_TW_ENTRIES_H

#include "network_internal.h"

typedef struct {
    SimTime since;    /* when the client entered TIME_WAIT (tcp_tw_reuse) */
    SimEventId timer; /* its end, cancelled on reuse */
    uint32_t ref;     /* its workload and pool: ps_tw_ref() */
    PsDestId dest;    /* while free: the next free entry */
    uint16_t port;
    uint8_t bound;
    uint8_t indexed; /* in pool->tw_index (else counted in pool->tw_unindexed) */
} PsTwEntry;
/* Issue 7: <= 64 B per TIME_WAIT entry, its 16-byte end event and its
 * tw_index slots included. */
G_STATIC_ASSERT(sizeof(PsTwEntry) <= 32);

/* A (workload, pool) pair of host h as a 32-bit reference: entries hold
 * this instead of two pointers. Hosts see few distinct pairs. */
uint32_t ps_tw_ref(PsHost *h, PsWorkload *wl, PsPool *pool);
void ps_tw_ref_get(const PsHost *h, uint32_t ref, PsWorkload **wl, PsPool **pool);
/* Frees h's references (network.c host_free()). */
void ps_tw_refs_free(PsHost *h);

/* A new, zeroed entry of host h: its index. */
uint32_t ps_tw_entry_new(PsHost *h);
void ps_tw_entry_free(PsHost *h, uint32_t index);
static inline PsTwEntry *ps_tw_entry_at(PsHost *h, uint32_t index)
{
    return &g_array_index(h->tw_entries, PsTwEntry, index);
}

/* Tests only: FALSE keeps every TIME_WAIT on its connection record. */
void ps_tw_set_fast_path(gboolean on);
gboolean ps_tw_fast_path(void);

/* Tests only: FALSE schedules every close event the general way
 * (sim_engine_after(), a slot each) instead of on a workload's compact
 * lane (tcp.c close_after()). */
void ps_close_set_compact(gboolean on);
gboolean ps_close_compact(void);

#endif
