/* The engine: clock, future event set, streams, stats and the sampler. */
#include "engine.h"

#include <inttypes.h>

#include "sim_error.h"

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

    /* The watchdog: events run in a row at `same_time`. */
    uint64_t stuck_limit;
    uint64_t same_count;
    SimTime same_time;
    SimEvent stuck_event; /* the last one run when it fired */
    gboolean stuck;
    SimEventNameFn namer;
    void *namer_data;

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
    engine->stuck_limit = SIM_ENGINE_STUCK_EVENTS;
    engine->same_time = -1;
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

SimEventId sim_engine_at_ordered(SimEngine *engine, SimTime at, uint32_t order_class,
                                 SimHandler handler, void *ctx, uint64_t arg)
{
    g_return_val_if_fail(engine != NULL, SIM_EVENT_NONE);
    if (G_UNLIKELY(at < engine->now))
        return sim_engine_at(engine, at, handler, ctx, arg); /* reports the bug */
    return sim_queue_push_ordered(engine->queue, at, order_class, handler, ctx, arg);
}

SimEventId sim_engine_at_compact(SimEngine *engine, SimTime at, uint32_t order_class,
                                 SimHandler handler, void *ctx, uint32_t arg)
{
    g_return_val_if_fail(engine != NULL, SIM_EVENT_NONE);
    if (G_UNLIKELY(at < engine->now))
        return sim_engine_at(engine, at, handler, ctx, arg); /* reports the bug */
    return sim_queue_push_compact(engine->queue, at, order_class, handler, ctx, arg);
}

void sim_engine_at_compact_any(SimEngine *engine, SimTime at, uint32_t order_class,
                               SimHandler handler, void *ctx, uint32_t arg)
{
    g_return_if_fail(engine != NULL);
    if (G_UNLIKELY(at < engine->now)) {
        sim_engine_at(engine, at, handler, ctx, arg); /* reports the bug */
        return;
    }
    sim_queue_push_compact_any(engine->queue, at, order_class, handler, ctx, arg);
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

/* Runs one event: FALSE when the run must stop (*status says why). */
static inline gboolean run_event(SimEngine *engine, const SimEvent *ev, SimRunStatus *status)
{
    SimEvent event = *ev;
    engine->now = event.time;
    event.handler(event.ctx, event.arg);
    engine->events_run++;

    /* One compare per event: cheap enough for the hot path. */
    if (event.time != engine->same_time) {
        engine->same_time = event.time;
        engine->same_count = 1;
    } else if (++engine->same_count > engine->stuck_limit && engine->stuck_limit > 0) {
        engine->stuck = TRUE;
        engine->stuck_event = event;
        *status = SIM_RUN_STUCK;
        return FALSE;
    }

    if (engine->progress && engine->events_run % PROGRESS_CHECK_EVENTS == 0 &&
        progress_says_stop(engine)) {
        *status = SIM_RUN_STOPPED;
        return FALSE;
    }
    return TRUE;
}

static SimRunStatus run_loop(SimEngine *engine, SimTime until)
{
    SimRunStatus status;
    for (;;) {
        /* The common case first: an event due before the next sample row
         * and the end. Events at a row's time run before the row. */
        SimTime limit = engine->sampling && engine->next_sample <= until ? engine->next_sample
                                                                          : until;
        SimEvent next;
        if (sim_queue_pop_until(engine->queue, limit, &next)) {
            if (!run_event(engine, &next, &status))
                return status;
            continue;
        }

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
        if (!run_event(engine, &event, &status))
            return status;
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

void sim_engine_set_watchdog(SimEngine *engine, uint64_t max_events)
{
    g_return_if_fail(engine != NULL);
    engine->stuck_limit = max_events;
}

void sim_engine_set_event_namer(SimEngine *engine, SimEventNameFn fn, void *user_data)
{
    g_return_if_fail(engine != NULL);
    engine->namer = fn;
    engine->namer_data = user_data;
}

GError *sim_engine_stuck_error(const SimEngine *engine)
{
    g_return_val_if_fail(engine != NULL, NULL);
    if (!engine->stuck)
        return NULL;
    const SimEvent *ev = &engine->stuck_event;
    g_autofree char *name =
        engine->namer ? engine->namer(engine->namer_data, ev->handler, ev->ctx, ev->arg) : NULL;
    g_autofree char *who = name ? g_strdup_printf("the last one by %s", name)
                                : g_strdup_printf("the last one handler %p, context %p",
                                                  (void *)ev->handler, ev->ctx);
    return g_error_new(SIM_ERROR, SIM_ERROR_RUNTIME,
                       "the simulation is stuck: %" G_GUINT64_FORMAT
                       " events in a row at t = %.9g s without the clock moving (%s); a "
                       "model reschedules an event at the same instant forever",
                       engine->same_count, sim_time_to_seconds(ev->time), who);
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

size_t sim_engine_capacity(const SimEngine *engine)
{
    g_return_val_if_fail(engine != NULL, 0);
    return sim_queue_capacity(engine->queue);
}
