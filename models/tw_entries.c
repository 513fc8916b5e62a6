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
    e->wl = NULL;
    e->pool = NULL;
    e->dest = h->tw_free;
    h->tw_free = index;
}
