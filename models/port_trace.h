/* What an allocator's choices look like from outside, measured from the
 * port takes and releases of a run (the network's port observer):
 *
 * - reuse distance: time from the release of a 4-tuple to the next take of
 *   the same 4-tuple. A short one meets the peer's TIME_WAIT (RFC 6056
 *   §3.1's "instance collision");
 * - predictability: how often the next port toward a destination is the
 *   previous one plus the previous step (exact guess), or within 16 of the
 *   previous port (a 32-port brute-force window around it).
 *
 * Attach before ps_run_execute(); read after. */
#ifndef PS_PORT_TRACE_H
#define PS_PORT_TRACE_H

#include <glib.h>
#include "network.h"

typedef struct PsPortTrace PsPortTrace;

PsPortTrace *ps_port_trace_attach(PsNetwork *net, SimEngine *engine);
void ps_port_trace_free(PsPortTrace *trace);

typedef struct {
    guint64 takes;
    guint64 reuses;            /* takes of a 4-tuple used before */
    double reuse_median_s;     /* NAN without reuses */
    double reuse_p5_s;         /* the short tail */
    double reuse_under_60s;    /* fraction of reuses within 60 s (a Linux peer's TIME_WAIT) */
    guint64 guesses;           /* takes with two earlier takes toward the destination */
    double predict_exact;      /* fraction: port = previous + previous step */
    double predict_window;     /* fraction: |port - previous| <= 16 */
} PsPortTraceStats;

void ps_port_trace_stats(const PsPortTrace *trace, PsPortTraceStats *out);

#endif
