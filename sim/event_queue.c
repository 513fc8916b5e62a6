/* The future event set as a 4-ary min-heap of 16-byte keys.
 *
 * Pop dominates the cost, and it is bound by memory traffic, so the layout
 * is chosen for it:
 * - the heap holds only {time, slot}; the four children of a node fill
 *   exactly one 64-byte cache line (the array is offset so they are aligned);
 * - the heap position of each pending event, which every move must update so
 *   cancel can find it, lives in its own compact uint32 array;
 * - handler, context, argument and insertion sequence sit in a slot that
 *   never moves while the event is pending. The sequence is read only to
 *   break ties in time, which are rare next to strict comparisons.
 * Freed slots go on a free list, so once the queue has held its peak number
 * of events it never allocates again. */
#include "event_queue.h"

#include <stdbool.h>
#include <string.h>

/* A 4-ary heap has half the levels of a binary one; with aligned children a
 * level costs one cache line, and pop does half the line fetches. */
#define HEAP_ARITY 4
#define CACHE_LINE 64
/* heap[0] is stored 3 entries past a line start so that heap[1..4],
 * heap[5..8], ... each start on a line. */
#define HEAP_SHIFT (HEAP_ARITY - 1)

#define NO_SLOT UINT32_MAX
/* Ids store slot + 1 in 32 bits and NO_SLOT is reserved, so slot indexes
 * run from 0 to UINT32_MAX - 1. */
#define MAX_SLOTS ((size_t)UINT32_MAX)
#define INITIAL_CAPACITY 64

typedef struct {
    SimTime time;
    uint32_t slot;
} HeapEntry;

G_STATIC_ASSERT(sizeof(HeapEntry) * HEAP_ARITY == CACHE_LINE);

typedef struct {
    SimHandler handler;
    void *ctx;
    uint64_t arg;
    uint64_t seq; /* insertion order: the tie-break that makes runs deterministic */
    /* Odd while the slot holds a pending event, even while free; bumped on
     * both transitions, so an id from an earlier use of the slot does not
     * match (it could again only after 2^31 reuses of this one slot). */
    uint32_t generation;
} EventSlot;

struct SimQueue {
    HeapEntry *heap;       /* heap_block + HEAP_SHIFT */
    HeapEntry *heap_block; /* the aligned allocation */
    size_t length;
    EventSlot *slots;
    /* Heap position of a pending slot; next free slot of a free one. */
    uint32_t *link;
    size_t n_slots;  /* slots ever handed out: pending + free list */
    size_t capacity; /* events the heap and the slot arrays can hold */
    uint32_t free_head;
    uint64_t next_seq;
};

static inline bool entry_before(const SimQueue *q, HeapEntry a, HeapEntry b)
{
    if (a.time != b.time)
        return a.time < b.time;
    return q->slots[a.slot].seq < q->slots[b.slot].seq;
}

static inline SimEventId make_id(uint32_t slot, uint32_t generation)
{
    return ((uint64_t)generation << 32) | ((uint64_t)slot + 1);
}

/* Writes an entry at a heap position and records where its slot now is. */
static inline void heap_place(SimQueue *q, size_t pos, HeapEntry entry)
{
    q->heap[pos] = entry;
    q->link[entry.slot] = (uint32_t)pos;
}

/* Moves `entry` up from the hole at `pos` to its place. */
static void sift_up(SimQueue *q, size_t pos, HeapEntry entry)
{
    while (pos > 0) {
        size_t parent = (pos - 1) / HEAP_ARITY;
        if (!entry_before(q, entry, q->heap[parent]))
            break;
        heap_place(q, pos, q->heap[parent]);
        pos = parent;
    }
    heap_place(q, pos, entry);
}

/* Index of the earliest child of `pos`; the caller checks one exists.
 * Which child is earliest is unpredictable, so the common case (distinct
 * times) is written to compile to conditional moves, not branches. */
static inline size_t earliest_child(const SimQueue *q, size_t pos)
{
    size_t first = pos * HEAP_ARITY + 1;
    size_t end = first + HEAP_ARITY;
    if (end > q->length)
        end = q->length;
    size_t best = first;
    SimTime best_time = q->heap[first].time;
    for (size_t c = first + 1; c < end; c++) {
        SimTime t = q->heap[c].time;
        if (G_UNLIKELY(t == best_time)) {
            if (q->slots[q->heap[c].slot].seq < q->slots[q->heap[best].slot].seq)
                best = c;
            continue;
        }
        bool earlier = t < best_time;
        best = earlier ? c : best;
        best_time = earlier ? t : best_time;
    }
    return best;
}

/* Moves `entry` down from the hole at `pos` to its place. */
static void sift_down(SimQueue *q, size_t pos, HeapEntry entry)
{
    while (pos * HEAP_ARITY + 1 < q->length) {
        size_t best = earliest_child(q, pos);
        if (!entry_before(q, q->heap[best], entry))
            break;
        heap_place(q, pos, q->heap[best]);
        pos = best;
    }
    heap_place(q, pos, entry);
}

/* Fills the hole at the root with `entry`. The entry that replaces a popped
 * root comes from the bottom and usually belongs near the bottom, so the hole
 * is first walked down to a leaf along the earliest children (no comparison
 * with `entry` on the way) and `entry` then rises the level or two it needs
 * (Floyd's bottom-up heap deletion). */
static void refill_root(SimQueue *q, HeapEntry entry)
{
    size_t pos = 0;
    while (pos * HEAP_ARITY + 1 < q->length) {
        size_t best = earliest_child(q, pos);
        heap_place(q, pos, q->heap[best]);
        pos = best;
    }
    sift_up(q, pos, entry);
}

/* Takes the entry at `pos` out of the heap, filling the hole with the last
 * entry and restoring the order around it. */
static void heap_remove_at(SimQueue *q, size_t pos)
{
    HeapEntry last = q->heap[--q->length];
    if (pos == q->length)
        return;
    if (pos > 0 && entry_before(q, last, q->heap[(pos - 1) / HEAP_ARITY]))
        sift_up(q, pos, last);
    else
        sift_down(q, pos, last);
}

static void slot_release(SimQueue *q, uint32_t slot)
{
    EventSlot *s = &q->slots[slot];
    s->generation++;
    s->handler = NULL;
    s->ctx = NULL;
    q->link[slot] = q->free_head;
    q->free_head = slot;
}

static void grow(SimQueue *q)
{
    size_t capacity = q->capacity ? q->capacity * 2 : INITIAL_CAPACITY;
    if (capacity > MAX_SLOTS)
        capacity = MAX_SLOTS;
    if (capacity <= q->capacity)
        g_error("event queue: more than %zu pending events", MAX_SLOTS);

    HeapEntry *block = g_aligned_alloc(capacity + HEAP_SHIFT, sizeof(HeapEntry), CACHE_LINE);
    if (q->length)
        memcpy(block + HEAP_SHIFT, q->heap, q->length * sizeof(HeapEntry));
    g_aligned_free(q->heap_block);
    q->heap_block = block;
    q->heap = block + HEAP_SHIFT;

    q->slots = g_renew(EventSlot, q->slots, capacity);
    q->link = g_renew(uint32_t, q->link, capacity);
    q->capacity = capacity;
}

static uint32_t slot_acquire(SimQueue *q)
{
    if (q->free_head != NO_SLOT) {
        uint32_t slot = q->free_head;
        q->free_head = q->link[slot];
        return slot;
    }
    /* No free slot means every slot is pending (n_slots == length), so one
     * check covers the heap as well. */
    if (q->n_slots == q->capacity)
        grow(q);
    uint32_t slot = (uint32_t)q->n_slots++;
    q->slots[slot].generation = 0;
    return slot;
}

SimQueue *sim_queue_new(void)
{
    SimQueue *q = g_new0(SimQueue, 1);
    q->free_head = NO_SLOT;
    return q;
}

void sim_queue_free(SimQueue *q)
{
    if (!q)
        return;
    g_aligned_free(q->heap_block);
    g_free(q->slots);
    g_free(q->link);
    g_free(q);
}

SimEventId sim_queue_push(SimQueue *q, SimTime time, SimHandler handler, void *ctx, uint64_t arg)
{
    g_return_val_if_fail(q != NULL, SIM_EVENT_NONE);
    g_return_val_if_fail(handler != NULL, SIM_EVENT_NONE);

    uint32_t slot = slot_acquire(q);
    EventSlot *s = &q->slots[slot];
    s->handler = handler;
    s->ctx = ctx;
    s->arg = arg;
    s->seq = q->next_seq++;
    s->generation++;

    HeapEntry entry = { .time = time, .slot = slot };
    sift_up(q, q->length++, entry);
    return make_id(slot, s->generation);
}

gboolean sim_queue_cancel(SimQueue *q, SimEventId id)
{
    g_return_val_if_fail(q != NULL, FALSE);

    uint32_t generation = (uint32_t)(id >> 32);
    uint64_t slot_plus_one = id & 0xffffffffu;
    if (slot_plus_one == 0 || slot_plus_one > q->n_slots)
        return FALSE;
    uint32_t slot = (uint32_t)(slot_plus_one - 1);
    /* An even generation is a free slot: no id ever carries one. */
    if ((generation & 1u) == 0 || q->slots[slot].generation != generation)
        return FALSE;

    heap_remove_at(q, q->link[slot]);
    slot_release(q, slot);
    return TRUE;
}

gboolean sim_queue_pop(SimQueue *q, SimEvent *out)
{
    g_return_val_if_fail(q != NULL, FALSE);
    g_return_val_if_fail(out != NULL, FALSE);
    if (q->length == 0)
        return FALSE;

    HeapEntry top = q->heap[0];
    const EventSlot *s = &q->slots[top.slot];
    out->time = top.time;
    out->handler = s->handler;
    out->ctx = s->ctx;
    out->arg = s->arg;

    HeapEntry last = q->heap[--q->length];
    if (q->length > 0)
        refill_root(q, last);
    slot_release(q, top.slot);
    return TRUE;
}

SimTime sim_queue_peek_time(const SimQueue *q)
{
    g_return_val_if_fail(q != NULL, SIM_TIME_NEVER);
    return q->length ? q->heap[0].time : SIM_TIME_NEVER;
}

size_t sim_queue_length(const SimQueue *q)
{
    g_return_val_if_fail(q != NULL, 0);
    return q->length;
}

size_t sim_queue_capacity(const SimQueue *q)
{
    g_return_val_if_fail(q != NULL, 0);
    return q->capacity;
}
