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
} SimRunStatus;

/* Runs every event with time <= until; the clock ends at `until` (or at the
 * last event when drained and until is SIM_TIME_NEVER). */
SimRunStatus sim_engine_run(SimEngine *engine, SimTime until);

uint64_t sim_engine_events_run(const SimEngine *engine);
size_t sim_engine_pending(const SimEngine *engine);

#endif
