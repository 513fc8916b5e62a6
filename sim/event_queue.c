/* The future event set as a 4-ary min-heap of 16-byte keys.
 *
 * Pop dominates the cost, and it is bound by memory traffic, so the layout
 * is chosen for it:
 * - the heap holds only {time, sequence, slot}: every comparison, ties
 *   included, reads nothing else (ties are common: a million timers spread
 *   over a millisecond share nanoseconds). The four children of a node fill
 *   exactly one 64-byte cache line (the array is offset so they are aligned);
 * - entries do not record their heap position, so moves are plain copies:
 *   a cancelled event stays behind as a tombstone (see heap_place);
 * - handler, context and argument sit in a 32-byte slot, one per cache-line
 *   half, that never moves while the event is pending; pop reads it once,
 *   prefetched as soon as the new top is known.
 * The sequence is 32 bits: when it runs out, the pending events are
 *   renumbered 0, 1, ... in their sequence order (renumber_sequences), which
 *   keeps every comparison's outcome, so the order stays exactly (time,
 *   insertion order) however long the run.
 * Freed slots go on a free list threaded through the slots themselves, so
 * once the queue has held its peak number of events (tombstones included,
 * at most as many again as live events) it never allocates again.
 *
 * Beside the heap sit FIFO lanes for events whose order is known in advance:
 * events pushed for the current instant (zero delay: most segment
 * deliveries), and events pushed with one fixed delay (every TIME_WAIT of a
 * host, every delivery over one link) fire in the order they were pushed.
 * A lane push or pop is O(1). Pop takes the earliest of the heap top and
 * the lane heads by (time, seq), so the order is exactly the heap's. */
#include "event_queue.h"

#include <stdbool.h>
#include <string.h>
#ifdef __linux__
#include <sys/mman.h>
#endif

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
/* Lane 0 serves zero delays (and pushes for the current instant); the
 * others serve one fixed delay each. */
#define MAX_LANES 16
#define NOW_LANE 0

typedef struct {
    SimTime time;
    uint32_t seq; /* insertion order: the tie-break that makes runs deterministic */
    uint32_t slot;
} HeapEntry;

G_STATIC_ASSERT(sizeof(HeapEntry) * HEAP_ARITY == CACHE_LINE);

typedef struct {
    SimHandler handler;
    void *ctx;
    uint64_t arg;
    /* Odd while the slot holds a pending event, even while free; bumped on
     * both transitions, so an id from an earlier use of the slot does not
     * match (it could again only after 2^31 reuses of this one slot). */
    uint32_t generation;
    /* 0 while in the heap (or free); lane + 1 while in a lane. A cancelled
     * lane event stays in its lane, with an even generation, until the lane
     * reaches it: only then does its slot return to the free list. */
    uint32_t lane_plus_one;
} EventSlot;

G_STATIC_ASSERT(sizeof(EventSlot) * 2 == CACHE_LINE);

/* Generations stay below 2^31 so that a slot's id never has its top bit
 * set: that bit marks the ids of compact lane entries. */
static inline uint32_t next_generation(uint32_t g) { return (g + 1) & 0x7fffffffu; }

/* A compact lane's entries are {time, seq, argument}: its events all share
 * one handler and context, so they need no slot. A cancelled one keeps its
 * place with this argument until the lane reaches it. */
#define COMPACT_DEAD UINT32_MAX
#define COMPACT_ID_TAG ((uint64_t)1 << 63)
#define COMPACT_LANE_SHIFT 56
#define COMPACT_POS_MASK (((uint64_t)1 << COMPACT_LANE_SHIFT) - 1)

/* A ring of {time, slot} in push order; times never decrease. */
typedef struct {
    SimTime delay; /* the lane's key: a delay, or an order class (see push_keyed) */
    HeapEntry *ring;
    size_t mask; /* capacity - 1, capacity a power of two (or 0) */
    size_t head;
    size_t count; /* entries in the ring, cancelled ones included */
    SimTime tail_time;
    uint64_t head_pos; /* entries ever removed from the front: the head's position */
    bool compact;
    /* A compact lane whose entries are a binary min-heap by (time, seq)
     * in ring[0 .. count), head 0: events pushed in any time order that
     * are never cancelled (sim_queue_push_compact_any()). */
    bool heap;
    SimHandler handler; /* a compact lane's */
    void *ctx;
} Lane;

struct SimQueue {
    HeapEntry *heap;       /* heap_block + HEAP_SHIFT */
    HeapEntry *heap_block; /* the aligned allocation */
    size_t length;
    EventSlot *slots; /* cache-line aligned; a free slot's `arg` holds the next free slot */
    size_t n_slots;  /* slots ever handed out: pending + free list */
    size_t capacity; /* events the heap and the slot arrays can hold */
    uint32_t free_head;
    uint32_t next_seq;
    uint32_t seq_limit; /* renumber when next_seq reaches it */
    Lane lanes[MAX_LANES];
    int n_lanes;
    size_t lane_live;  /* pending (not cancelled) events in lanes */
    size_t heap_dead;  /* cancelled entries still in the heap */
    SimTime now;       /* time of the last pop: pushes for it use the now lane */
};

static inline bool entry_before(const SimQueue *q, HeapEntry a, HeapEntry b)
{
    (void)q;
    if (a.time != b.time)
        return a.time < b.time;
    return a.seq < b.seq;
}

static inline SimEventId make_id(uint32_t slot, uint32_t generation)
{
    return ((uint64_t)generation << 32) | ((uint64_t)slot + 1);
}

/* Entries never record their heap position: a cancelled event stays in the
 * heap as a tombstone (its slot's generation even) and is dropped when it
 * reaches the top, or when tombstones outnumber live entries. Moves are
 * then plain 16-byte copies, which is what pop's memory traffic allows. */
static inline void heap_place(SimQueue *q, size_t pos, HeapEntry entry) { q->heap[pos] = entry; }

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
            if (q->heap[c].seq < q->heap[best].seq)
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
    if (q->length > 1) {
        /* The earliest child of the root is the next top (unless `entry`
         * rises all the way, which is rare): fetch its slot, which the next
         * pop reads, while the walk down waits on the heap's lines. */
        size_t best = earliest_child(q, 0);
        __builtin_prefetch(&q->slots[q->heap[best].slot]);
        heap_place(q, 0, q->heap[best]);
        pos = best;
    }
    while (pos * HEAP_ARITY + 1 < q->length) {
        /* The grandchildren of `pos` are the next four lines, contiguous:
         * fetching them now overlaps the next level's miss with this one. */
        size_t grand = (pos * HEAP_ARITY + 1) * HEAP_ARITY + 1;
        if (grand < q->length) {
            const char *line = (const char *)&q->heap[grand];
            __builtin_prefetch(line);
            __builtin_prefetch(line + CACHE_LINE);
            __builtin_prefetch(line + 2 * CACHE_LINE);
            __builtin_prefetch(line + 3 * CACHE_LINE);
        }
        size_t best = earliest_child(q, pos);
        heap_place(q, pos, q->heap[best]);
        pos = best;
    }
    sift_up(q, pos, entry);
}

static void free_list_push(SimQueue *q, uint32_t slot)
{
    q->slots[slot].arg = q->free_head;
    q->free_head = slot;
}

static inline bool slot_live(const SimQueue *q, uint32_t slot)
{
    return q->slots[slot].generation & 1u;
}

static void heap_drop_root(SimQueue *q)
{
    HeapEntry last = q->heap[--q->length];
    if (q->length > 0)
        refill_root(q, last);
}

/* Keeps the invariant that the heap's top is a live event. */
static void heap_clean_top(SimQueue *q)
{
    /* Without tombstones the top is live: skip the slot read (a cache miss
     * in a large heap). */
    while (q->heap_dead && q->length && !slot_live(q, q->heap[0].slot)) {
        uint32_t slot = q->heap[0].slot;
        heap_drop_root(q);
        free_list_push(q, slot); /* its generation is already even */
        q->heap_dead--;
    }
}

/* Drops every tombstone and rebuilds the heap bottom-up (Floyd): run when
 * they outnumber live entries, so the heap stays within twice its live size. */
static void heap_compact(SimQueue *q)
{
    size_t kept = 0;
    for (size_t i = 0; i < q->length; i++) {
        HeapEntry e = q->heap[i];
        if (slot_live(q, e.slot))
            q->heap[kept++] = e;
        else
            free_list_push(q, e.slot);
    }
    q->length = kept;
    q->heap_dead = 0;
    if (kept < 2)
        return;
    for (size_t i = (kept - 2) / HEAP_ARITY + 1; i-- > 0;)
        sift_down(q, i, q->heap[i]);
}

static void slot_release(SimQueue *q, uint32_t slot)
{
    EventSlot *s = &q->slots[slot];
    s->lane_plus_one = 0;
    s->generation = next_generation(s->generation);
    s->handler = NULL;
    s->ctx = NULL;
    s->arg = q->free_head;
    q->free_head = slot;
}

/* Large arrays (4 MiB and more) are mapped directly: growing one is then
 * mremap(), which moves no data, so a queue that doubles holds one copy of
 * its arrays at its peak, not two. They also ask for transparent huge
 * pages: pop's walk down a large heap and its slot read are random
 * accesses, and with 4 KiB pages each also misses the TLB. That request is
 * advice (Linux honours it when THP is in "madvise" or "always" mode);
 * nothing depends on it. Smaller arrays are cache-line aligned blocks. */
#define BIG_ARRAY ((size_t)4 << 20)

static void array_free(void *p, size_t bytes)
{
#ifdef __linux__
    if (bytes >= BIG_ARRAY) {
        munmap(p, bytes);
        return;
    }
#endif
    (void)bytes;
    g_aligned_free(p);
}

/* Returns an array of new_bytes holding the old one's first old_bytes. */
static void *array_resize(void *old, size_t old_bytes, size_t new_bytes)
{
    void *p;
#ifdef __linux__
    if (new_bytes >= BIG_ARRAY) {
        if (old_bytes >= BIG_ARRAY) {
            p = mremap(old, old_bytes, new_bytes, MREMAP_MAYMOVE);
            old = NULL;
        } else {
            p = mmap(NULL, new_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        }
        if (p == MAP_FAILED)
            g_error("event queue: cannot map %zu bytes", new_bytes);
#ifdef MADV_HUGEPAGE
        madvise(p, new_bytes, MADV_HUGEPAGE);
#endif
    } else
#endif
    {
        p = g_aligned_alloc(1, new_bytes, CACHE_LINE);
    }
    if (old) {
        if (old_bytes)
            memcpy(p, old, old_bytes);
        array_free(old, old_bytes);
    }
    return p;
}

static void grow(SimQueue *q)
{
    size_t capacity = q->capacity ? q->capacity * 2 : INITIAL_CAPACITY;
    if (capacity > MAX_SLOTS)
        capacity = MAX_SLOTS;
    if (capacity <= q->capacity)
        g_error("event queue: more than %zu pending events", MAX_SLOTS);

    size_t block_entries = q->capacity ? q->capacity + HEAP_SHIFT : 0;
    q->heap_block = array_resize(q->heap_block, block_entries * sizeof(HeapEntry),
                                 (capacity + HEAP_SHIFT) * sizeof(HeapEntry));
    q->heap = q->heap_block + HEAP_SHIFT;
    q->slots = array_resize(q->slots, q->capacity * sizeof(EventSlot), capacity * sizeof(EventSlot));
    q->capacity = capacity;
}

static uint32_t slot_acquire(SimQueue *q)
{
    if (q->free_head != NO_SLOT) {
        uint32_t slot = q->free_head;
        q->free_head = (uint32_t)q->slots[slot].arg;
        return slot;
    }
    /* No free slot means every slot is pending (n_slots == length), so one
     * check covers the heap as well. */
    if (q->n_slots == q->capacity)
        grow(q);
    uint32_t slot = (uint32_t)q->n_slots++;
    q->slots[slot].generation = 0;
    q->slots[slot].lane_plus_one = 0;
    return slot;
}

SimQueue *sim_queue_new(void)
{
    SimQueue *q = g_new0(SimQueue, 1);
    q->free_head = NO_SLOT;
    q->n_lanes = 1; /* the now lane */
    q->seq_limit = UINT32_MAX;
    return q;
}

static int compare_seq_refs(const void *a, const void *b)
{
    uint32_t x = **(uint32_t *const *)a, y = **(uint32_t *const *)b;
    return (x > y) - (x < y);
}

/* Gives every entry (heap, lanes, tombstones included) its rank in
 * sequence order as its new sequence. Sequences are distinct, so every
 * comparison between two entries comes out as before: the heap and the
 * lanes stay valid as they are. Runs once per ~2^32 pushes. */
static void renumber_sequences(SimQueue *q)
{
    size_t n = q->length;
    for (int i = 0; i < q->n_lanes; i++)
        n += q->lanes[i].count;
    uint32_t **refs = g_new(uint32_t *, n ? n : 1);
    size_t k = 0;
    for (size_t i = 0; i < q->length; i++)
        refs[k++] = &q->heap[i].seq;
    for (int i = 0; i < q->n_lanes; i++) {
        Lane *lane = &q->lanes[i];
        for (size_t j = 0; j < lane->count; j++)
            refs[k++] = &lane->ring[(lane->head + j) & lane->mask].seq;
    }
    qsort(refs, n, sizeof *refs, compare_seq_refs);
    for (size_t i = 0; i < n; i++)
        *refs[i] = (uint32_t)i;
    g_free(refs);
    if (n >= q->seq_limit)
        g_error("event queue: %zu entries do not fit 32-bit sequences", n);
    q->next_seq = (uint32_t)n;
}

static inline uint32_t take_seq(SimQueue *q)
{
    if (G_UNLIKELY(q->next_seq >= q->seq_limit))
        renumber_sequences(q);
    return q->next_seq++;
}

void sim_queue_set_seq_limit(SimQueue *q, uint32_t limit)
{
    g_return_if_fail(q != NULL && limit >= 2);
    q->seq_limit = limit;
}

/* ---- lanes ---------------------------------------------------------- */

/* Doubles a full ring in place (see array_resize): the entries that
 * wrapped round to its start move up behind the others. */
static void lane_grow(Lane *lane)
{
    size_t old_cap = lane->ring ? lane->mask + 1 : 0;
    size_t cap = old_cap ? old_cap * 2 : 64;
    g_assert(lane->count == old_cap);
    HeapEntry *ring = array_resize(lane->ring, old_cap * sizeof(HeapEntry), cap * sizeof(HeapEntry));
    if (lane->head > 0)
        memcpy(ring + old_cap, ring, lane->head * sizeof(HeapEntry));
    lane->ring = ring;
    lane->mask = cap - 1;
}

static SimEventId lane_push(SimQueue *q, int index, SimTime time, SimHandler handler, void *ctx,
                            uint64_t arg)
{
    Lane *lane = &q->lanes[index];
    uint32_t slot = slot_acquire(q);
    EventSlot *s = &q->slots[slot];
    s->handler = handler;
    s->ctx = ctx;
    s->arg = arg;
    s->generation = next_generation(s->generation);
    s->lane_plus_one = (uint32_t)index + 1;
    if (!lane->ring || lane->count == lane->mask + 1)
        lane_grow(lane);
    /* After the grow: renumbering walks the lanes. */
    uint32_t seq = take_seq(q);
    lane->ring[(lane->head + lane->count) & lane->mask] =
        (HeapEntry){.time = time, .seq = seq, .slot = slot};
    lane->count++;
    lane->tail_time = time;
    q->lane_live++;
    return make_id(slot, s->generation);
}

/* Drops cancelled events from the head of a lane; returns its live head. */
static const HeapEntry *lane_front(SimQueue *q, Lane *lane)
{
    while (lane->count) {
        HeapEntry *e = &lane->ring[lane->head];
        if (lane->heap)
            return e; /* never cancelled */
        if (lane->compact) {
            if (e->slot != COMPACT_DEAD)
                return e;
        } else {
            if (q->slots[e->slot].generation & 1u)
                return e;
            q->slots[e->slot].lane_plus_one = 0;
            free_list_push(q, e->slot); /* its generation is already even */
        }
        lane->head = (lane->head + 1) & lane->mask;
        lane->head_pos++;
        lane->count--;
    }
    return NULL;
}

/* The source of the next event: -1 for the heap, else a lane index, or -2
 * when everything is empty. */
static int next_source(SimQueue *q, HeapEntry *out)
{
    int best = -2;
    HeapEntry best_entry = {0};
    if (q->length) {
        best = -1;
        best_entry = q->heap[0];
    }
    if (q->lane_live) {
        for (int i = 0; i < q->n_lanes; i++) {
            const HeapEntry *e = lane_front(q, &q->lanes[i]);
            if (e && (best == -2 || entry_before(q, *e, best_entry))) {
                best = i;
                best_entry = *e;
            }
        }
    }
    *out = best_entry;
    return best;
}

static int lane_for_delay(SimQueue *q, SimTime delay)
{
    for (int i = 1; i < q->n_lanes; i++)
        if (q->lanes[i].delay == delay)
            return i;
    if (q->n_lanes == MAX_LANES)
        return -1;
    q->lanes[q->n_lanes].delay = delay;
    return q->n_lanes++;
}

/* Lane keys: a delay (>= 0), or -1 - class for sim_queue_push_ordered(). */
static SimEventId push_keyed(SimQueue *q, SimTime time, SimTime key, SimHandler handler,
                             void *ctx, uint64_t arg)
{
    int lane = key == 0 ? NOW_LANE : lane_for_delay(q, key);
    /* A lane must stay sorted: the caller's clock never goes back, so this
     * holds unless someone schedules behind an earlier push of this key. */
    if (lane < 0 || time < q->now || (q->lanes[lane].count && time < q->lanes[lane].tail_time))
        return sim_queue_push(q, time, handler, ctx, arg);
    return lane_push(q, lane, time, handler, ctx, arg);
}

SimEventId sim_queue_push_delayed(SimQueue *q, SimTime time, SimTime delay, SimHandler handler,
                                  void *ctx, uint64_t arg)
{
    g_return_val_if_fail(q != NULL, SIM_EVENT_NONE);
    g_return_val_if_fail(handler != NULL && delay >= 0, SIM_EVENT_NONE);
    return push_keyed(q, time, delay, handler, ctx, arg);
}

SimEventId sim_queue_push_ordered(SimQueue *q, SimTime time, uint32_t order_class,
                                  SimHandler handler, void *ctx, uint64_t arg)
{
    g_return_val_if_fail(q != NULL && handler != NULL, SIM_EVENT_NONE);
    return push_keyed(q, time, -1 - (SimTime)order_class, handler, ctx, arg);
}

SimEventId sim_queue_push_compact(SimQueue *q, SimTime time, uint32_t order_class,
                                  SimHandler handler, void *ctx, uint32_t arg)
{
    g_return_val_if_fail(q != NULL && handler != NULL, SIM_EVENT_NONE);
    /* Keys below every push_ordered() key: INT64_MIN + class. */
    int index = lane_for_delay(q, INT64_MIN + (SimTime)order_class);
    Lane *lane = index < 0 ? NULL : &q->lanes[index];
    if (lane && !lane->compact && lane->count == 0 && !lane->ring) {
        lane->compact = true;
        lane->handler = handler;
        lane->ctx = ctx;
    }
    /* Anything the lane cannot take exactly goes the general way, which
     * keeps the same order. */
    if (!lane || !lane->compact || lane->handler != handler || lane->ctx != ctx ||
        arg == COMPACT_DEAD || time < q->now || (lane->count && time < lane->tail_time))
        return sim_queue_push(q, time, handler, ctx, arg);
    if (!lane->ring || lane->count == lane->mask + 1)
        lane_grow(lane);
    size_t pos = lane->count;
    lane->ring[(lane->head + pos) & lane->mask] =
        (HeapEntry){.time = time, .seq = take_seq(q), .slot = arg};
    lane->count++;
    lane->tail_time = time;
    q->lane_live++;
    return COMPACT_ID_TAG | ((uint64_t)index << COMPACT_LANE_SHIFT) |
           ((lane->head_pos + pos) & COMPACT_POS_MASK);
}

/* A heap lane's root is gone: the last entry fills the hole. */
static void lane_heap_pop(SimQueue *q, Lane *lane)
{
    HeapEntry *h = lane->ring;
    size_t n = --lane->count;
    q->lane_live--;
    if (n == 0)
        return;
    HeapEntry last = h[n];
    size_t pos = 0;
    for (;;) {
        size_t child = 2 * pos + 1;
        if (child >= n)
            break;
        if (child + 1 < n && entry_before(q, h[child + 1], h[child]))
            child++;
        if (!entry_before(q, h[child], last))
            break;
        h[pos] = h[child];
        pos = child;
    }
    h[pos] = last;
}

void sim_queue_push_compact_any(SimQueue *q, SimTime time, uint32_t order_class,
                                SimHandler handler, void *ctx, uint32_t arg)
{
    g_return_if_fail(q != NULL && handler != NULL);
    /* In order: the class's FIFO lane, O(1) (same key as push_compact). */
    int index = lane_for_delay(q, INT64_MIN + (SimTime)order_class);
    if (index >= 0) {
        Lane *lane = &q->lanes[index];
        if (!lane->compact && lane->count == 0 && !lane->ring) {
            lane->compact = true;
            lane->handler = handler;
            lane->ctx = ctx;
        }
        if (lane->compact && lane->handler == handler && lane->ctx == ctx &&
            arg != COMPACT_DEAD && time >= q->now && (!lane->count || time >= lane->tail_time)) {
            sim_queue_push_compact(q, time, order_class, handler, ctx, arg);
            return;
        }
    }
    /* Out of order: the class's heap lane. Its keys sit between the
     * compact lanes' (INT64_MIN + class) and push_ordered()'s (>= -2^32). */
    index = lane_for_delay(q, INT64_MIN + ((SimTime)1 << 32) + (SimTime)order_class);
    Lane *lane = index < 0 ? NULL : &q->lanes[index];
    if (lane && !lane->compact && lane->count == 0 && !lane->ring) {
        lane->compact = true;
        lane->heap = true;
        lane->handler = handler;
        lane->ctx = ctx;
    }
    if (!lane || !lane->heap || lane->handler != handler || lane->ctx != ctx ||
        arg == COMPACT_DEAD || time < q->now) {
        sim_queue_push(q, time, handler, ctx, arg);
        return;
    }
    if (!lane->ring || lane->count == lane->mask + 1)
        lane_grow(lane);
    HeapEntry e = {.time = time, .seq = take_seq(q), .slot = arg};
    HeapEntry *h = lane->ring;
    size_t pos = lane->count++;
    while (pos > 0) {
        size_t parent = (pos - 1) / 2;
        if (!entry_before(q, e, h[parent]))
            break;
        h[pos] = h[parent];
        pos = parent;
    }
    h[pos] = e;
    q->lane_live++;
}

/* Cancels a compact lane's entry by its position. */
static gboolean compact_cancel(SimQueue *q, SimEventId id)
{
    uint64_t index = (id & ~COMPACT_ID_TAG) >> COMPACT_LANE_SHIFT;
    if (index >= (uint64_t)q->n_lanes || !q->lanes[index].compact || q->lanes[index].heap)
        return FALSE;
    Lane *lane = &q->lanes[index];
    uint64_t offset = ((id & COMPACT_POS_MASK) - lane->head_pos) & COMPACT_POS_MASK;
    if (offset >= lane->count)
        return FALSE;
    HeapEntry *e = &lane->ring[(lane->head + offset) & lane->mask];
    if (e->slot == COMPACT_DEAD)
        return FALSE;
    e->slot = COMPACT_DEAD;
    q->lane_live--;
    return TRUE;
}

/* ---- the heap ------------------------------------------------------- */

void sim_queue_free(SimQueue *q)
{
    if (!q)
        return;
    if (q->capacity) {
        array_free(q->heap_block, (q->capacity + HEAP_SHIFT) * sizeof(HeapEntry));
        array_free(q->slots, q->capacity * sizeof(EventSlot));
    }
    for (int i = 0; i < MAX_LANES; i++)
        if (q->lanes[i].ring)
            array_free(q->lanes[i].ring, (q->lanes[i].mask + 1) * sizeof(HeapEntry));
    g_free(q);
}

SimEventId sim_queue_push(SimQueue *q, SimTime time, SimHandler handler, void *ctx, uint64_t arg)
{
    g_return_val_if_fail(q != NULL, SIM_EVENT_NONE);
    g_return_val_if_fail(handler != NULL, SIM_EVENT_NONE);
    /* An event for the instant of the last pop is the latest of that
     * instant so far: it can join the zero-delay lane when that is sorted. */
    Lane *now_lane = &q->lanes[NOW_LANE];
    if (time == q->now && (now_lane->count == 0 || now_lane->tail_time <= time))
        return lane_push(q, NOW_LANE, time, handler, ctx, arg);

    uint32_t slot = slot_acquire(q);
    EventSlot *s = &q->slots[slot];
    s->handler = handler;
    s->ctx = ctx;
    s->arg = arg;
    s->generation = next_generation(s->generation);

    HeapEntry entry = { .time = time, .seq = take_seq(q), .slot = slot };
    sift_up(q, q->length++, entry);
    return make_id(slot, s->generation);
}

gboolean sim_queue_cancel(SimQueue *q, SimEventId id)
{
    g_return_val_if_fail(q != NULL, FALSE);
    if (id & COMPACT_ID_TAG)
        return compact_cancel(q, id);

    uint32_t generation = (uint32_t)(id >> 32);
    uint64_t slot_plus_one = id & 0xffffffffu;
    if (slot_plus_one == 0 || slot_plus_one > q->n_slots)
        return FALSE;
    uint32_t slot = (uint32_t)(slot_plus_one - 1);
    /* An even generation is a free slot: no id ever carries one. */
    if ((generation & 1u) == 0 || q->slots[slot].generation != generation)
        return FALSE;

    EventSlot *s = &q->slots[slot];
    if (s->lane_plus_one) {
        /* Left in its lane as a tombstone: lanes cannot remove from the
         * middle, and the slot must not be reused while referenced. */
        s->generation = next_generation(s->generation);
        s->handler = NULL;
        s->ctx = NULL;
        q->lane_live--;
        return TRUE;
    }
    s->generation = next_generation(s->generation);
    s->handler = NULL;
    s->ctx = NULL;
    q->heap_dead++;
    heap_clean_top(q);
    if (q->heap_dead > 64 && q->heap_dead > q->length - q->heap_dead)
        heap_compact(q);
    return TRUE;
}

gboolean sim_queue_pop(SimQueue *q, SimEvent *out)
{
    return sim_queue_pop_until(q, SIM_TIME_NEVER, out);
}

gboolean sim_queue_pop_until(SimQueue *q, SimTime limit, SimEvent *out)
{
    g_return_val_if_fail(q != NULL, FALSE);
    g_return_val_if_fail(out != NULL, FALSE);
    HeapEntry top;
    int source = next_source(q, &top);
    if (source == -2 || top.time > limit)
        return FALSE;

    out->time = top.time;
    q->now = top.time;
    if (source >= 0) {
        Lane *lane = &q->lanes[source];
        if (lane->heap) {
            out->handler = lane->handler;
            out->ctx = lane->ctx;
            out->arg = top.slot;
            lane_heap_pop(q, lane);
            return TRUE;
        }
        if (lane->compact) {
            out->handler = lane->handler;
            out->ctx = lane->ctx;
            out->arg = top.slot;
        } else {
            const EventSlot *s = &q->slots[top.slot];
            out->handler = s->handler;
            out->ctx = s->ctx;
            out->arg = s->arg;
            slot_release(q, top.slot);
        }
        lane->head = (lane->head + 1) & lane->mask;
        lane->head_pos++;
        lane->count--;
        q->lane_live--;
    } else {
        const EventSlot *s = &q->slots[top.slot];
        out->handler = s->handler;
        out->ctx = s->ctx;
        out->arg = s->arg;
        heap_drop_root(q);
        slot_release(q, top.slot);
        heap_clean_top(q);
        /* The next pop reads the new top's slot: start fetching it while
         * the caller runs this event's handler. */
        if (q->length)
            __builtin_prefetch(&q->slots[q->heap[0].slot]);
    }
    return TRUE;
}

SimTime sim_queue_peek_time(const SimQueue *q)
{
    g_return_val_if_fail(q != NULL, SIM_TIME_NEVER);
    SimTime best = q->length ? q->heap[0].time : SIM_TIME_NEVER;
    if (q->lane_live == 0)
        return best;
    for (int i = 0; i < q->n_lanes; i++) {
        const Lane *lane = &q->lanes[i];
        /* Skip cancelled heads without touching the lane (const). */
        for (size_t k = 0; k < lane->count; k++) {
            const HeapEntry *e = &lane->ring[(lane->head + k) & lane->mask];
            if (lane->compact ? e->slot != COMPACT_DEAD : (q->slots[e->slot].generation & 1u)) {
                best = MIN(best, e->time);
                break;
            }
        }
    }
    return best;
}

size_t sim_queue_length(const SimQueue *q)
{
    g_return_val_if_fail(q != NULL, 0);
    return q->length - q->heap_dead + q->lane_live;
}

size_t sim_queue_capacity(const SimQueue *q)
{
    g_return_val_if_fail(q != NULL, 0);
    return q->capacity;
}
