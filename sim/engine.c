/* The engine: clock, future event set, streams, stats and the sampler. */
#include "engine.h"

#include <inttypes.h>

/* Reading the wall clock costs more than a small event, so the progress
 * callback is considered only once per this many events (a power of two). */
#define PROGRESS_CHECK_EVENTS 4096

struct SimEngine {
    SimQueue *queue;
    SimStats *stats;
    SimSeries *series;
    SimTime now;
    uint64_t seed;
    uint32_t replication;
    uint64_t events_run;
    gboolean running;

    SimProgressFn progress;
    void *progress_data;
    gint64 progress_interval_us;
    gint64 progress_last_us;

    /* Sampling is done by the run loop, not by an event, so a row at t
     * always shows the state after every event at or before t, whatever
     * order those events were scheduled in. */
    gboolean sampling;
    SimTime sample_interval;
    SimTime sample_until;
    SimTime next_sample;
};

SimEngine *sim_engine_new(uint64_t seed, uint32_t replication)
{
    SimEngine *engine = g_new0(SimEngine, 1);
    engine->queue = sim_queue_new();
    engine->stats = sim_stats_new();
    engine->series = sim_series_new();
    engine->seed = seed;
    engine->replication = replication;
    return engine;
}

void sim_engine_free(SimEngine *engine)
{
    if (!engine)
        return;
    sim_queue_free(engine->queue);
    sim_stats_free(engine->stats);
    sim_series_free(engine->series);
    g_free(engine);
}

SimTime sim_engine_now(const SimEngine *engine)
{
    g_return_val_if_fail(engine != NULL, 0);
    return engine->now;
}

uint64_t sim_engine_seed(const SimEngine *engine)
{
    g_return_val_if_fail(engine != NULL, 0);
    return engine->seed;
}

SimEventId sim_engine_at(SimEngine *engine, SimTime at, SimHandler handler, void *ctx,
                         uint64_t arg)
{
    g_return_val_if_fail(engine != NULL, SIM_EVENT_NONE);
    if (G_UNLIKELY(at < engine->now)) {
        /* A model bug: the past cannot change. Say so loudly, then run the
         * event as soon as possible so the run can go on. */
        g_critical("event scheduled at %" PRId64 " ns, before the current time %" PRId64
                   " ns; it will run now",
                   at, engine->now);
        at = engine->now;
    }
    return sim_queue_push(engine->queue, at, handler, ctx, arg);
}

SimEventId sim_engine_after(SimEngine *engine, SimTime delay, SimHandler handler, void *ctx,
                            uint64_t arg)
{
    g_return_val_if_fail(engine != NULL, SIM_EVENT_NONE);
    if (G_UNLIKELY(delay < 0)) {
        g_critical("event scheduled with a negative delay of %" PRId64 " ns; it will run now",
                   delay);
        delay = 0;
    }
    /* Saturate: "never" plus a little is still never. */
    SimTime at = delay > SIM_TIME_NEVER - engine->now ? SIM_TIME_NEVER : engine->now + delay;
    return sim_queue_push_delayed(engine->queue, at, delay, handler, ctx, arg);
}

gboolean sim_engine_cancel(SimEngine *engine, SimEventId id)
{
    g_return_val_if_fail(engine != NULL, FALSE);
    return sim_queue_cancel(engine->queue, id);
}

void sim_engine_stream(const SimEngine *engine, const char *entity, SimRng *out)
{
    g_return_if_fail(engine != NULL && entity != NULL && out != NULL);
    sim_rng_seed(out, engine->seed, entity, engine->replication);
}

SimStats *sim_engine_stats(SimEngine *engine)
{
    g_return_val_if_fail(engine != NULL, NULL);
    return engine->stats;
}

SimSeries *sim_engine_series(SimEngine *engine)
{
    g_return_val_if_fail(engine != NULL, NULL);
    return engine->series;
}

void sim_engine_sample_every(SimEngine *engine, SimTime interval, SimTime until)
{
    g_return_if_fail(engine != NULL);
    g_return_if_fail(interval > 0);

    engine->sample_interval = interval;
    engine->sample_until = until;
    /* The first row is at the first multiple of the interval not before now. */
    SimTime periods = engine->now / interval + (engine->now % interval != 0);
    SimTime first = periods > SIM_TIME_NEVER / interval ? SIM_TIME_NEVER : periods * interval;
    engine->next_sample = MIN(first, until);
    engine->sampling = engine->next_sample >= engine->now;
}

/* Takes the row due at engine->now and works out the next one: the next
 * multiple of the interval, or `until` itself when it falls between two. */
static void take_sample(SimEngine *engine)
{
    sim_series_sample(engine->series, engine->now);
    if (engine->now >= engine->sample_until) {
        engine->sampling = FALSE;
        return;
    }
    SimTime interval = engine->sample_interval;
    SimTime periods = engine->now / interval + 1;
    SimTime next = periods > SIM_TIME_NEVER / interval ? SIM_TIME_NEVER : periods * interval;
    engine->next_sample = MIN(next, engine->sample_until);
}

void sim_engine_set_progress(SimEngine *engine, SimProgressFn fn, void *user_data,
                             guint wall_interval_ms)
{
    g_return_if_fail(engine != NULL);
    engine->progress = fn;
    engine->progress_data = user_data;
    engine->progress_interval_us = (gint64)wall_interval_ms * 1000;
    engine->progress_last_us = g_get_monotonic_time();
}

/* TRUE when the progress callback asks to stop. */
static gboolean progress_says_stop(SimEngine *engine)
{
    gint64 wall = g_get_monotonic_time();
    if (wall - engine->progress_last_us < engine->progress_interval_us)
        return FALSE;
    engine->progress_last_us = wall;
    return !engine->progress(engine->progress_data, engine->now, engine->events_run);
}

static SimRunStatus run_loop(SimEngine *engine, SimTime until)
{
    for (;;) {
        gboolean have_event = sim_queue_length(engine->queue) > 0;
        SimTime next_event = sim_queue_peek_time(engine->queue);

        /* A row is due once no event at or before its time is left. With no
         * events and no end at all, the state can never change again: stop
         * rather than sample forever. */
        if (engine->sampling && engine->next_sample <= until &&
            (have_event ? next_event > engine->next_sample
                        : until != SIM_TIME_NEVER || engine->sample_until != SIM_TIME_NEVER)) {
            engine->now = engine->next_sample;
            take_sample(engine);
            continue;
        }

        if (!have_event) {
            if (until != SIM_TIME_NEVER)
                engine->now = until;
            return SIM_RUN_DRAINED;
        }
        if (next_event > until) {
            engine->now = until;
            return SIM_RUN_REACHED_TIME;
        }

        SimEvent event;
        sim_queue_pop(engine->queue, &event);
        engine->now = event.time;
        event.handler(event.ctx, event.arg);
        engine->events_run++;

        if (engine->progress && engine->events_run % PROGRESS_CHECK_EVENTS == 0 &&
            progress_says_stop(engine))
            return SIM_RUN_STOPPED;
    }
}

SimRunStatus sim_engine_run(SimEngine *engine, SimTime until)
{
    g_return_val_if_fail(engine != NULL, SIM_RUN_STOPPED);
    /* A handler that runs the engine would run events out of order. */
    g_return_val_if_fail(!engine->running, SIM_RUN_STOPPED);
    if (until < engine->now) {
        g_critical("run until %" PRId64 " ns, before the current time %" PRId64 " ns", until,
                   engine->now);
        return SIM_RUN_REACHED_TIME;
    }

    engine->running = TRUE;
    engine->progress_last_us = g_get_monotonic_time();
    SimRunStatus status = run_loop(engine, until);
    engine->running = FALSE;
    return status;
}

uint64_t sim_engine_events_run(const SimEngine *engine)
{
    g_return_val_if_fail(engine != NULL, 0);
    return engine->events_run;
}

size_t sim_engine_pending(const SimEngine *engine)
{
    g_return_val_if_fail(engine != NULL, 0);
    return sim_queue_length(engine->queue);
}
