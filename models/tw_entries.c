/* Client TIME_WAIT entries: a slab per host with a free list threaded
 * through the free entries (tw_entries.h). */
#include "tw_entries.h"

#define NO_ENTRY UINT32_MAX

static gboolean fast_path = TRUE;

void ps_tw_set_fast_path(gboolean on) { fast_path = on; }
gboolean ps_tw_fast_path(void) { return fast_path; }

static gboolean compact_close = TRUE;

void ps_close_set_compact(gboolean on) { compact_close = on; }
gboolean ps_close_compact(void) { return compact_close; }

uint32_t ps_tw_entry_new(PsHost *h)
{
    if (!h->tw_entries) {
        h->tw_entries = g_array_new(FALSE, FALSE, sizeof(PsTwEntry));
        h->tw_free = NO_ENTRY;
    }
    uint32_t index;
    if (h->tw_free != NO_ENTRY) {
        index = h->tw_free;
        h->tw_free = ps_tw_entry_at(h, index)->dest;
    } else {
        if (h->tw_entries->len == NO_ENTRY)
            g_error("host %s: more than %u TIME_WAIT entries", h->name, NO_ENTRY - 1);
        index = h->tw_entries->len;
        g_array_set_size(h->tw_entries, index + 1);
    }
    *ps_tw_entry_at(h, index) = (PsTwEntry){0};
    return index;
}

void ps_tw_entry_free(PsHost *h, uint32_t index)
{
    PsTwEntry *e = ps_tw_entry_at(h, index);
    e->ref = NO_ENTRY;
    e->dest = h->tw_free;
    h->tw_free = index;
}

typedef struct {
    PsWorkload *wl;
    PsPool *pool;
} PsTwRef;

struct PsTwRefs {
    GArray *refs;        /* PsTwRef */
    GHashTable *by_pair; /* PsTwRef* (an own copy) -> ref + 1 */
    uint32_t last;       /* the latest ref asked for: mostly the next one */
};

static guint ref_hash(gconstpointer p)
{
    const PsTwRef *r = p;
    return g_direct_hash(r->wl) * 31u + g_direct_hash(r->pool);
}

static gboolean ref_equal(gconstpointer a, gconstpointer b)
{
    const PsTwRef *x = a, *y = b;
    return x->wl == y->wl && x->pool == y->pool;
}

uint32_t ps_tw_ref(PsHost *h, PsWorkload *wl, PsPool *pool)
{
    struct PsTwRefs *t = h->tw_refs;
    if (!t) {
        t = h->tw_refs = g_new0(struct PsTwRefs, 1);
        t->refs = g_array_new(FALSE, FALSE, sizeof(PsTwRef));
        t->by_pair = g_hash_table_new_full(ref_hash, ref_equal, g_free, NULL);
    }
    if (t->refs->len > 0) {
        const PsTwRef *r = &g_array_index(t->refs, PsTwRef, t->last);
        if (r->wl == wl && r->pool == pool)
            return t->last;
    }
    PsTwRef key = {wl, pool};
    gpointer found = g_hash_table_lookup(t->by_pair, &key);
    if (found) {
        t->last = GPOINTER_TO_UINT(found) - 1;
        return t->last;
    }
    t->last = t->refs->len;
    g_array_append_val(t->refs, key);
    PsTwRef *own = g_new(PsTwRef, 1);
    *own = key;
    g_hash_table_insert(t->by_pair, own, GUINT_TO_POINTER(t->last + 1));
    return t->last;
}

void ps_tw_ref_get(const PsHost *h, uint32_t ref, PsWorkload **wl, PsPool **pool)
{
    const PsTwRef *r = &g_array_index(h->tw_refs->refs, PsTwRef, ref);
    *wl = r->wl;
    *pool = r->pool;
}

void ps_tw_refs_free(PsHost *h)
{
    if (!h->tw_refs)
        return;
    g_array_free(h->tw_refs->refs, TRUE);
    g_hash_table_destroy(h->tw_refs->by_pair);
    g_free(h->tw_refs);
    h->tw_refs = NULL;
}
