/* What a scenario would cost to run, estimated before anything is built, so
 * an absurd scenario (10^12 connections, a time series of 10^10 rows, pools
 * of millions of addresses) is refused up front with the estimate instead
 * of running for days or dying of memory. The figures are upper bounds of
 * the dominant costs, not exact accounts. */
#ifndef PS_BUDGET_H
#define PS_BUDGET_H

#include <glib.h>
#include "scenario.h"

/* Attempts above this are refused whatever the memory: at a few million
 * events per second of wall time, 1e10 attempts (8 events each) take days. */
#define PS_BUDGET_MAX_ATTEMPTS 1e10

typedef struct {
    double attempts;     /* connection attempts of every workload */
    double pools;        /* port pools: one per client address, at most one per attempt */
    double pool_bytes;   /* their bitmaps, counters and allocator state */
    double rows;         /* time-series rows */
    double series_bytes; /* the series in memory and as CSV text */
    double total_bytes;
} PsBudget;

void ps_budget_estimate(const SimScenario *scenario, PsBudget *out);

/* FALSE with SIM_ERROR_INPUT and the estimate in the message when the
 * scenario needs more than PS_BUDGET_MAX_ATTEMPTS attempts or more than
 * max_bytes of memory (0: the machine's physical memory). */
gboolean ps_budget_check(const SimScenario *scenario, guint64 max_bytes, GError **error);

/* "512M", "2G", "1.5GiB", "100000k", plain bytes; binary multiples.
 * FALSE with SIM_ERROR_INPUT on anything else. */
gboolean ps_budget_parse_size(const char *text, guint64 *out, GError **error);

/* "1.5 GiB": binary units, plain space. Caller frees. */
char *ps_budget_format_size(guint64 bytes);

/* Physical memory of the machine (or the cgroup's memory.max when lower),
 * or 0 when unknown. */
guint64 ps_budget_physical_memory(void);
/* Resident memory of this process, or 0 when unknown. */
guint64 ps_budget_resident_memory(void);

#endif
