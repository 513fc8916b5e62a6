/* A readable event log of a run (`portsim run --trace FILE`): one line per
 * event of a connection's life: port chosen after k probes, SYN sent,
 * ESTABLISHED, FIN, TIME_WAIT entered and expired, EADDRNOTAVAIL, ...
 *
 *   time_s        entity   conn   local -> remote           event
 *   20.000000000  client   #101   127.0.0.2:40000 -> 127.0.0.1:8080  ...
 *
 * A filter keeps the lines a student wants: comma-separated conditions that
 * must all hold, each entity=NAME, port=N (either end), address=A (either
 * end) or conn=N. */
#ifndef PS_TRACE_LOG_H
#define PS_TRACE_LOG_H

#include <glib.h>
#include <stdint.h>
#include "sim_time.h"
#include "values.h"

typedef struct PsTraceLog PsTraceLog;

/* filter may be NULL. A malformed filter is SIM_ERROR_INPUT naming the
 * condition and the expected forms; an unwritable file SIM_ERROR_RUNTIME. */
PsTraceLog *ps_trace_log_open(const char *path, const char *filter, GError **error);

/* The connection a line is about: local may have port 0 (none chosen yet). */
typedef struct {
    const char *entity;
    guint64 conn;
    const SimAddress *local;
    uint16_t local_port;
    const SimAddress *remote;
    uint16_t remote_port;
} PsTraceSubject;

/* TRUE when the filter keeps lines about this subject: check before
 * formatting an expensive message. */
gboolean ps_trace_log_wants(const PsTraceLog *log, const PsTraceSubject *subject);
void ps_trace_log_event(PsTraceLog *log, SimTime at, const PsTraceSubject *subject,
                        const char *format, ...) G_GNUC_PRINTF(4, 5);
guint64 ps_trace_log_lines(const PsTraceLog *log);
/* Flushes, renames into place and frees the log in every case. */
gboolean ps_trace_log_close(PsTraceLog *log, GError **error);

#endif
