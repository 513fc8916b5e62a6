/* The port pool: which local ports of one (address, protocol) may be used
 * now, with the kernel's semantics.
 *
 * - A port chosen by connect() is shared by connections to *different*
 *   remote endpoints: only the 4-tuple must be unique. A remote endpoint
 *   (remote address, remote port) is interned as a PsDestId.
 * - A port taken by bind() is exclusive: no connect() selection may use it,
 *   toward any destination, until it is released (after TIME_WAIT, when the
 *   bound socket had one).
 * - Reserved ports are never handed out by automatic selection.
 * - A 4-tuple in TIME_WAIT is simply "in use" here until its owner releases
 *   it; the connection model decides when.
 *
 * Lookups are O(1): a bitmap per destination, a bitmap of bound ports and a
 * use count per port. Counts of free ports are kept up to date, so an
 * allocation toward a full destination fails without walking the range. */
#ifndef PS_PORT_POOL_H
#define PS_PORT_POOL_H

#include <glib.h>
#include <stdint.h>
#include "values.h"

typedef struct PsPortPool PsPortPool;
typedef uint32_t PsDestId;

/* The ephemeral range [lo, hi], 1 <= lo <= hi <= 65535. */
PsPortPool *ps_pool_new(uint16_t lo, uint16_t hi);
void ps_pool_free(PsPortPool *pool);

uint16_t ps_pool_lo(const PsPortPool *pool);
uint16_t ps_pool_hi(const PsPortPool *pool);

/* Marks [lo, hi] reserved (clipped to the range). Only before any use. */
void ps_pool_reserve(PsPortPool *pool, uint16_t lo, uint16_t hi);
gboolean ps_pool_is_reserved(const PsPortPool *pool, uint16_t port);

/* Ports automatic selection may ever hand out: range size minus reserved. */
guint ps_pool_capacity(const PsPortPool *pool);

/* Interns a remote endpoint; the same endpoint always gets the same id. */
PsDestId ps_pool_dest(PsPortPool *pool, const SimAddress *remote, uint16_t remote_port);
guint ps_pool_n_dests(const PsPortPool *pool);

/* connect() auto-selection: the port is in range, not reserved, not bound,
 * and its 4-tuple toward dest is unused. */
gboolean ps_pool_connect_ok(const PsPortPool *pool, PsDestId dest, uint16_t port);
/* How many ports connect() could still choose toward dest. */
guint ps_pool_connect_free(const PsPortPool *pool, PsDestId dest);
/* The 4-tuple (port, dest) is now in use (port must be connect_ok). */
void ps_pool_connect_take(PsPortPool *pool, PsDestId dest, uint16_t port);
void ps_pool_connect_release(PsPortPool *pool, PsDestId dest, uint16_t port);
/* TRUE when the 4-tuple (port, dest) is in use by a connect()-chosen port. */
gboolean ps_pool_tuple_in_use(const PsPortPool *pool, PsDestId dest, uint16_t port);

/* bind(): the port is in range, not reserved, and used by nobody. */
gboolean ps_pool_bind_ok(const PsPortPool *pool, uint16_t port);
guint ps_pool_bind_free(const PsPortPool *pool);
void ps_pool_bind_take(PsPortPool *pool, uint16_t port);
void ps_pool_bind_release(PsPortPool *pool, uint16_t port);
gboolean ps_pool_is_bound(const PsPortPool *pool, uint16_t port);

/* The search an allocator's scan loop would do, a 64-bit word at a time:
 * among the range offsets start, start+step, start+2*step, ... (count of
 * them; an offset reaching span wraps by subtracting span), the index k of
 * the first port that connect() toward dest (bind == FALSE) or bind()
 * (bind == TRUE) could use, or -1. Same answer as testing each candidate
 * with ps_pool_connect_ok()/ps_pool_bind_ok() in turn. step is 1 or 2 (with
 * 2, span must be even); start < span <= range size. */
int64_t ps_pool_first_usable(const PsPortPool *pool, PsDestId dest, gboolean bind,
                             uint32_t start, uint32_t step, uint32_t count, uint32_t span);

/* Distinct ports with any use (bound, or in at least one 4-tuple). */
guint ps_pool_ports_in_use(const PsPortPool *pool);
/* 4-tuples in use through connect()-chosen ports. */
guint64 ps_pool_tuples_in_use(const PsPortPool *pool);
/* No bound port and no 4-tuple in use. */
gboolean ps_pool_is_empty(const PsPortPool *pool);

#endif
