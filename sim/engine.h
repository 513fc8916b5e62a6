/* The engine: a clock, the future event set, random streams, statistics and
 * the sampler. It runs events in (time, sequence) order until a stop time.
 * It knows nothing of ports: models schedule their own events. */
#ifndef SIM_ENGINE_H
#define SIM_ENGINE_H

#include <glib.h>
#include <stdint.h>
#include "event_queue.h"
#include "rng.h"
#include "sim_time.h"
#include "stats.h"

typedef struct SimEngine SimEngine;

SimEngine *sim_engine_new(uint64_t seed, uint32_t replication);
void sim_engine_free(SimEngine *engine);

SimTime sim_engine_now(const SimEngine *engine);
uint64_t sim_engine_seed(const SimEngine *engine);

SimEventId sim_engine_at(SimEngine *engine, SimTime at, SimHandler handler, void *ctx,
                         uint64_t arg);
SimEventId sim_engine_after(SimEngine *engine, SimTime delay, SimHandler handler, void *ctx,
                            uint64_t arg);
/* As sim_engine_at(), for a stream of events the caller schedules at
 * non-decreasing times (one `order_class` per stream): O(1) instead of a
 * heap insertion, same run order. */
SimEventId sim_engine_at_ordered(SimEngine *engine, SimTime at, uint32_t order_class,
                                 SimHandler handler, void *ctx, uint64_t arg);
/* As sim_engine_at_ordered(), for a stream whose events all have one
 * handler and context and a 32-bit argument: 16 bytes per pending event
 * (sim_queue_push_compact()). */
SimEventId sim_engine_at_compact(SimEngine *engine, SimTime at, uint32_t order_class,
                                 SimHandler handler, void *ctx, uint32_t arg);
/* As sim_engine_at_compact(), for events in any time order that are never
 * cancelled (sim_queue_push_compact_any()). */
void sim_engine_at_compact_any(SimEngine *engine, SimTime at, uint32_t order_class,
                               SimHandler handler, void *ctx, uint32_t arg);
gboolean sim_engine_cancel(SimEngine *engine, SimEventId id);

/* The stream for one entity ("host shop", "workload surge"). */
void sim_engine_stream(const SimEngine *engine, const char *entity, SimRng *out);

SimStats *sim_engine_stats(SimEngine *engine);
SimSeries *sim_engine_series(SimEngine *engine);

/* Samples the series at 0, interval, 2*interval, ... up to and including
 * `until` (plus a final row at `until` when it is not a multiple). The row
 * at time t is taken after every event at time t has run. */
void sim_engine_sample_every(SimEngine *engine, SimTime interval, SimTime until);

/* Called about every `wall_interval_ms` of wall-clock time while running;
 * returning FALSE stops the run early (interruption). */
typedef gboolean (*SimProgressFn)(void *user_data, SimTime now, uint64_t events);
void sim_engine_set_progress(SimEngine *engine, SimProgressFn fn, void *user_data,
                             guint wall_interval_ms);

typedef enum {
    SIM_RUN_REACHED_TIME, /* next event is later than `until` */
    SIM_RUN_DRAINED,      /* no events left */
    SIM_RUN_STOPPED,      /* the progress callback asked to stop */
    SIM_RUN_STUCK,        /* the watchdog saw the clock stand still: see below */
} SimRunStatus;

/* The watchdog: a model bug can make an event reschedule itself at the
 * same instant forever, so the clock never moves and the run never ends.
 * After `max_events` events in a row at one instant the run stops with
 * SIM_RUN_STUCK and sim_engine_stuck_error() describes it. 0 turns it off;
 * the default is SIM_ENGINE_STUCK_EVENTS, far above any legitimate burst
 * (even 10^7 arrivals per second are 100 ns apart). */
#define SIM_ENGINE_STUCK_EVENTS 20000000u
void sim_engine_set_watchdog(SimEngine *engine, uint64_t max_events);

/* Names the entity behind an event for the watchdog's message ("workload
 * surge"); returns a newly allocated string, or NULL when unknown. */
typedef char *(*SimEventNameFn)(void *user_data, SimHandler handler, void *ctx, uint64_t arg);
void sim_engine_set_event_namer(SimEngine *engine, SimEventNameFn fn, void *user_data);

/* After SIM_RUN_STUCK: a SIM_ERROR_RUNTIME error saying when, how many
 * events, and which entity's event ran last; NULL before. */
GError *sim_engine_stuck_error(const SimEngine *engine);

/* Runs every event with time <= until; the clock ends at `until` (or at the
 * last event when drained and until is SIM_TIME_NEVER). */
SimRunStatus sim_engine_run(SimEngine *engine, SimTime until);

uint64_t sim_engine_events_run(const SimEngine *engine);
size_t sim_engine_pending(const SimEngine *engine);
/* sim_queue_capacity() of its queue: events with a slot it can hold. */
size_t sim_engine_capacity(const SimEngine *engine);

#endif
