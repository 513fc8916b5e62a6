/* The future event set: events ordered by (time, insertion sequence).
 *
 * Equal times run in the order they were scheduled, which makes runs
 * deterministic. Scheduling allocates nothing in the steady state (slots are
 * recycled through a free list), and cancellation is O(log n) through the
 * handle returned by sim_queue_push(). The representation is private so a
 * faster structure can replace it without touching callers. */
#ifndef SIM_EVENT_QUEUE_H
#define SIM_EVENT_QUEUE_H

#include <glib.h>
#include <stdint.h>
#include "sim_time.h"

typedef void (*SimHandler)(void *ctx, uint64_t arg);

/* A handle naming one scheduled event: slot index and generation, so a stale
 * handle (event already run or cancelled) is recognised. 0 is never valid. */
typedef uint64_t SimEventId;
#define SIM_EVENT_NONE ((SimEventId)0)

typedef struct {
    SimTime time;
    SimHandler handler;
    void *ctx;
    uint64_t arg;
} SimEvent;

typedef struct SimQueue SimQueue;

SimQueue *sim_queue_new(void);
void sim_queue_free(SimQueue *q);

SimEventId sim_queue_push(SimQueue *q, SimTime time, SimHandler handler, void *ctx, uint64_t arg);

/* As sim_queue_push(), for time = (the caller's clock) + delay. Events
 * pushed with one delay by a clock that never goes back fire in push order,
 * so each distinct delay (up to a small number of them) gets a FIFO lane
 * with O(1) push and pop instead of heap operations. The run order is
 * exactly that of sim_queue_push(): (time, insertion order). */
SimEventId sim_queue_push_delayed(SimQueue *q, SimTime time, SimTime delay, SimHandler handler,
                                  void *ctx, uint64_t arg);

/* As sim_queue_push(), for events whose caller promises non-decreasing
 * times within `order_class` (a timer wheel's ticks, say): they share a
 * FIFO lane. A push that breaks the promise goes to the heap: the order is
 * still exact. */
SimEventId sim_queue_push_ordered(SimQueue *q, SimTime time, uint32_t order_class,
                                  SimHandler handler, void *ctx, uint64_t arg);

/* As sim_queue_push_ordered(), for a stream of events that all have one
 * handler and context and a 32-bit argument (TIME_WAIT ends, say): such a
 * stream's events cost 16 bytes each, no slot. Same run order; a push the
 * lane cannot take (another handler or context on the class, an argument
 * of UINT32_MAX, a time out of order) goes the general way. */
SimEventId sim_queue_push_compact(SimQueue *q, SimTime time, uint32_t order_class,
                                  SimHandler handler, void *ctx, uint32_t arg);

/* As sim_queue_push_compact(), for events in any time order that are never
 * cancelled (no handle): in order they join the class's FIFO lane, out of
 * order a heap of 16-byte entries of the class's own (a second lane), so
 * either way no slot. Same run order as sim_queue_push(). */
void sim_queue_push_compact_any(SimQueue *q, SimTime time, uint32_t order_class,
                                SimHandler handler, void *ctx, uint32_t arg);

/* TRUE if the event was pending and is now removed; FALSE for a stale handle. */
gboolean sim_queue_cancel(SimQueue *q, SimEventId id);

/* Removes the earliest event into *out; FALSE when the queue is empty. */
gboolean sim_queue_pop(SimQueue *q, SimEvent *out);
/* As sim_queue_pop(), only when the earliest event is at or before `limit`
 * (one look at the heap top and lane heads instead of a peek and a pop). */
gboolean sim_queue_pop_until(SimQueue *q, SimTime limit, SimEvent *out);

/* Time of the earliest event, SIM_TIME_NEVER when empty. */
SimTime sim_queue_peek_time(const SimQueue *q);

size_t sim_queue_length(const SimQueue *q);

/* Events the queue can hold before it next allocates. It grows only when
 * pending events plus not-yet-dropped cancelled ones (at most as many again)
 * exceed every earlier peak, never in a steady state; exposed for memory
 * reports and for the test that proves it. */
size_t sim_queue_capacity(const SimQueue *q);

/* Tests only: renumber insertion sequences once they reach `limit` instead
 * of 2^32 - 1, so the renumbering is exercised in a short run. */
void sim_queue_set_seq_limit(SimQueue *q, uint32_t limit);

#endif
