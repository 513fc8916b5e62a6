/* The engine (clock, run loop, sampler, progress, streams) and the atomic
 * result writer it hands its output to. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "engine.h"
#include "output.h"
#include "sim_error.h"
#include "test_util.h"


/* What a handler saw: the clock and the event's argument. */
typedef struct {
    SimTime now;
    uint64_t arg;
} Seen;

typedef struct {
    SimEngine *engine;
    GArray *seen; /* Seen */
} Recorder;

static void recorder_init(Recorder *rec, SimEngine *engine)
{
    rec->engine = engine;
    rec->seen = g_array_new(FALSE, FALSE, sizeof(Seen));
}

static void record(void *ctx, uint64_t arg)
{
    Recorder *rec = ctx;
    Seen s = { sim_engine_now(rec->engine), arg };
    g_array_append_val(rec->seen, s);
}

static void assert_seen(const Recorder *rec, guint i, SimTime now, uint64_t arg)
{
    ck_assert_uint_lt(i, rec->seen->len);
    const Seen *s = &g_array_index(rec->seen, Seen, i);
    ck_assert_int_eq(s->now, now);
    ck_assert_uint_eq(s->arg, arg);
}

/* ---- run loop ---------------------------------------------------------- */

START_TEST(test_events_run_in_time_order_and_clock_follows)
{
    SimEngine *engine = sim_engine_new(1, 0);
    Recorder rec;
    recorder_init(&rec, engine);
    sim_engine_at(engine, 3 * SIM_S, record, &rec, 3);
    sim_engine_at(engine, 1 * SIM_S, record, &rec, 1);
    sim_engine_at(engine, 2 * SIM_S, record, &rec, 2);
    sim_engine_at(engine, 2 * SIM_S, record, &rec, 22); /* same time: after 2 */
    sim_engine_at(engine, 0, record, &rec, 0);
    ck_assert_uint_eq(sim_engine_pending(engine), 5);

    ck_assert_int_eq(sim_engine_run(engine, SIM_TIME_NEVER), SIM_RUN_DRAINED);
    ck_assert_uint_eq(rec.seen->len, 5);
    assert_seen(&rec, 0, 0, 0);
    assert_seen(&rec, 1, 1 * SIM_S, 1);
    assert_seen(&rec, 2, 2 * SIM_S, 2);
    assert_seen(&rec, 3, 2 * SIM_S, 22);
    assert_seen(&rec, 4, 3 * SIM_S, 3);
    /* Drained with no end time: the clock stays at the last event. */
    ck_assert_int_eq(sim_engine_now(engine), 3 * SIM_S);
    ck_assert_uint_eq(sim_engine_events_run(engine), 5);
    ck_assert_uint_eq(sim_engine_pending(engine), 0);
    g_array_free(rec.seen, TRUE);
    sim_engine_free(engine);
}
END_TEST

/* Each call schedules the next one 500 ms later, three times, plus an
 * immediate follow-up that must run at the same instant. */
static void chain(void *ctx, uint64_t arg)
{
    Recorder *rec = ctx;
    record(rec, arg);
    if (arg >= 100)
        return;
    sim_engine_after(rec->engine, 0, record, rec, arg + 100);
    if (arg < 3)
        sim_engine_after(rec->engine, 500 * SIM_MS, chain, rec, arg + 1);
}

START_TEST(test_after_is_relative_to_now)
{
    SimEngine *engine = sim_engine_new(1, 0);
    Recorder rec;
    recorder_init(&rec, engine);
    sim_engine_at(engine, 1 * SIM_S, chain, &rec, 0);
    sim_engine_run(engine, SIM_TIME_NEVER);
    ck_assert_uint_eq(rec.seen->len, 8);
    for (guint k = 0; k < 4; k++) {
        SimTime t = 1 * SIM_S + (SimTime)k * 500 * SIM_MS;
        assert_seen(&rec, 2 * k, t, k);
        assert_seen(&rec, 2 * k + 1, t, k + 100);
    }
    g_array_free(rec.seen, TRUE);
    sim_engine_free(engine);
}
END_TEST

START_TEST(test_run_until_stops_and_resumes)
{
    SimEngine *engine = sim_engine_new(1, 0);
    Recorder rec;
    recorder_init(&rec, engine);
    for (uint64_t s = 1; s <= 4; s++)
        sim_engine_at(engine, (SimTime)s * SIM_S, record, &rec, s);

    ck_assert_int_eq(sim_engine_run(engine, 2500 * SIM_MS), SIM_RUN_REACHED_TIME);
    ck_assert_int_eq(sim_engine_now(engine), 2500 * SIM_MS);
    ck_assert_uint_eq(sim_engine_events_run(engine), 2);
    ck_assert_uint_eq(sim_engine_pending(engine), 2);

    /* Running to the same time again does nothing. */
    ck_assert_int_eq(sim_engine_run(engine, 2500 * SIM_MS), SIM_RUN_REACHED_TIME);
    ck_assert_uint_eq(sim_engine_events_run(engine), 2);

    /* An event exactly at `until` runs. */
    ck_assert_int_eq(sim_engine_run(engine, 3 * SIM_S), SIM_RUN_REACHED_TIME);
    ck_assert_uint_eq(rec.seen->len, 3);
    assert_seen(&rec, 2, 3 * SIM_S, 3);

    /* Drained before a finite end: the clock still ends at `until`. */
    ck_assert_int_eq(sim_engine_run(engine, 10 * SIM_S), SIM_RUN_DRAINED);
    ck_assert_int_eq(sim_engine_now(engine), 10 * SIM_S);
    assert_seen(&rec, 3, 4 * SIM_S, 4);
    ck_assert_uint_eq(sim_engine_events_run(engine), 4);
    g_array_free(rec.seen, TRUE);
    sim_engine_free(engine);
}
END_TEST

START_TEST(test_run_until_earlier_than_now_is_refused)
{
    SimEngine *engine = sim_engine_new(1, 0);
    sim_engine_run(engine, 5 * SIM_S);
    capture_criticals();
    SimRunStatus status = sim_engine_run(engine, 2 * SIM_S);
    release_criticals();
    ck_assert_int_eq(criticals_seen, 1);
    ck_assert_int_eq(status, SIM_RUN_REACHED_TIME);
    ck_assert_int_eq(sim_engine_now(engine), 5 * SIM_S); /* never backwards */
    sim_engine_free(engine);
}
END_TEST

START_TEST(test_cancelled_event_does_not_run)
{
    SimEngine *engine = sim_engine_new(1, 0);
    Recorder rec;
    recorder_init(&rec, engine);
    sim_engine_at(engine, 1 * SIM_S, record, &rec, 1);
    SimEventId doomed = sim_engine_at(engine, 2 * SIM_S, record, &rec, 2);
    sim_engine_at(engine, 3 * SIM_S, record, &rec, 3);
    ck_assert(sim_engine_cancel(engine, doomed));
    ck_assert(!sim_engine_cancel(engine, doomed));
    sim_engine_run(engine, SIM_TIME_NEVER);
    ck_assert_uint_eq(rec.seen->len, 2);
    assert_seen(&rec, 0, 1 * SIM_S, 1);
    assert_seen(&rec, 1, 3 * SIM_S, 3);
    g_array_free(rec.seen, TRUE);
    sim_engine_free(engine);
}
END_TEST

/* A buggy model schedules into the past at 2 s. */
static void schedule_in_past(void *ctx, uint64_t arg)
{
    Recorder *rec = ctx;
    (void)arg;
    sim_engine_at(rec->engine, 1 * SIM_S, record, rec, 1);
    sim_engine_after(rec->engine, -5 * SIM_S, record, rec, 2);
}

START_TEST(test_scheduling_in_the_past_is_reported_and_runs_now)
{
    SimEngine *engine = sim_engine_new(1, 0);
    Recorder rec;
    recorder_init(&rec, engine);
    sim_engine_at(engine, 2 * SIM_S, schedule_in_past, &rec, 0);
    capture_criticals();
    sim_engine_run(engine, SIM_TIME_NEVER);
    release_criticals();
    ck_assert_int_eq(criticals_seen, 2);
    ck_assert_uint_eq(rec.seen->len, 2);
    assert_seen(&rec, 0, 2 * SIM_S, 1);
    assert_seen(&rec, 1, 2 * SIM_S, 2);
    g_array_free(rec.seen, TRUE);
    sim_engine_free(engine);
}
END_TEST

static void run_from_handler(void *ctx, uint64_t arg)
{
    SimEngine *engine = ctx;
    (void)arg;
    ck_assert_int_eq(sim_engine_run(engine, SIM_TIME_NEVER), SIM_RUN_STOPPED);
}

START_TEST(test_run_from_a_handler_is_refused)
{
    SimEngine *engine = sim_engine_new(1, 0);
    Recorder rec;
    recorder_init(&rec, engine);
    sim_engine_at(engine, 1 * SIM_S, run_from_handler, engine, 0);
    sim_engine_at(engine, 2 * SIM_S, record, &rec, 2);
    capture_criticals();
    ck_assert_int_eq(sim_engine_run(engine, SIM_TIME_NEVER), SIM_RUN_DRAINED);
    release_criticals();
    ck_assert_int_eq(criticals_seen, 1);
    /* The outer run went on normally. */
    ck_assert_uint_eq(rec.seen->len, 1);
    assert_seen(&rec, 0, 2 * SIM_S, 2);
    g_array_free(rec.seen, TRUE);
    sim_engine_free(engine);
}
END_TEST

/* ---- sampling ---------------------------------------------------------- */

typedef struct {
    SimEngine *engine;
    SimGauge *gauge;
} GaugeSetter;

static void set_gauge(void *ctx, uint64_t value)
{
    GaugeSetter *gs = ctx;
    sim_gauge_set(gs->gauge, sim_engine_now(gs->engine), (int64_t)value);
}

/* Sets the gauge through a follow-up event at the same instant: scheduled
 * after the sampler's row for this instant was due, yet still part of it. */
static void set_gauge_later_same_instant(void *ctx, uint64_t value)
{
    GaugeSetter *gs = ctx;
    sim_engine_after(gs->engine, 0, set_gauge, gs, value);
}

static void assert_rows(SimSeries *series, const SimTime *times, const double *values, guint n)
{
    ck_assert_uint_eq(sim_series_n_rows(series), n);
    for (guint r = 0; r < n; r++) {
        ck_assert_int_eq(sim_series_row_time(series, r), times[r]);
        ck_assert_double_eq(sim_series_value(series, r, 0), values[r]);
    }
}

START_TEST(test_sampling_rows_at_exact_times)
{
    SimEngine *engine = sim_engine_new(1, 0);
    SimGauge *gauge = sim_stats_gauge(sim_engine_stats(engine), "pool.in_use");
    SimSeries *series = sim_engine_series(engine);
    sim_series_add_gauge(series, "pool.in_use", gauge);
    GaugeSetter gs = { engine, gauge };

    sim_engine_sample_every(engine, 1 * SIM_S, 3500 * SIM_MS);
    sim_engine_at(engine, 500 * SIM_MS, set_gauge, &gs, 1);
    /* Changes at a sampling instant belong to that instant's row. */
    sim_engine_at(engine, 1 * SIM_S, set_gauge_later_same_instant, &gs, 2);
    sim_engine_at(engine, 2200 * SIM_MS, set_gauge, &gs, 3);
    sim_engine_at(engine, 3500 * SIM_MS, set_gauge, &gs, 4);
    sim_engine_at(engine, 5 * SIM_S, set_gauge, &gs, 5); /* after the last row */

    ck_assert_int_eq(sim_engine_run(engine, 10 * SIM_S), SIM_RUN_DRAINED);
    const SimTime times[] = { 0, 1 * SIM_S, 2 * SIM_S, 3 * SIM_S, 3500 * SIM_MS };
    const double values[] = { 0, 2, 2, 3, 4 };
    assert_rows(series, times, values, G_N_ELEMENTS(times));
    /* Sampling adds rows, not events: only the model's events count. */
    ck_assert_uint_eq(sim_engine_events_run(engine), 6);
    sim_engine_free(engine);
}
END_TEST

START_TEST(test_sampling_until_a_multiple_has_no_duplicate_row)
{
    SimEngine *engine = sim_engine_new(1, 0);
    SimSeries *series = sim_engine_series(engine);
    sim_series_add_constant(series, "c", 1);
    sim_engine_sample_every(engine, 1 * SIM_S, 3 * SIM_S);
    /* No events at all: the rows still cover the run. */
    ck_assert_int_eq(sim_engine_run(engine, 60 * SIM_S), SIM_RUN_DRAINED);
    const SimTime times[] = { 0, 1 * SIM_S, 2 * SIM_S, 3 * SIM_S };
    const double values[] = { 1, 1, 1, 1 };
    assert_rows(series, times, values, G_N_ELEMENTS(times));
    ck_assert_int_eq(sim_engine_now(engine), 60 * SIM_S);
    sim_engine_free(engine);
}
END_TEST

START_TEST(test_sampling_across_interrupted_runs)
{
    SimEngine *engine = sim_engine_new(1, 0);
    SimGauge *gauge = sim_stats_gauge(sim_engine_stats(engine), "g");
    SimSeries *series = sim_engine_series(engine);
    sim_series_add_gauge(series, "g", gauge);
    GaugeSetter gs = { engine, gauge };
    sim_engine_sample_every(engine, 1 * SIM_S, 2500 * SIM_MS);
    sim_engine_at(engine, 1200 * SIM_MS, set_gauge, &gs, 7);
    sim_engine_at(engine, 2 * SIM_S, set_gauge, &gs, 8);

    ck_assert_int_eq(sim_engine_run(engine, 1500 * SIM_MS), SIM_RUN_REACHED_TIME);
    ck_assert_uint_eq(sim_series_n_rows(series), 2);
    /* The last event runs at 2 s: the queue is then empty. */
    ck_assert_int_eq(sim_engine_run(engine, 2 * SIM_S), SIM_RUN_DRAINED);
    ck_assert_uint_eq(sim_series_n_rows(series), 3);
    /* No end time: sampling still ends at its own `until`. */
    ck_assert_int_eq(sim_engine_run(engine, SIM_TIME_NEVER), SIM_RUN_DRAINED);
    const SimTime times[] = { 0, 1 * SIM_S, 2 * SIM_S, 2500 * SIM_MS };
    const double values[] = { 0, 0, 8, 8 };
    assert_rows(series, times, values, G_N_ELEMENTS(times));
    ck_assert_int_eq(sim_engine_now(engine), 2500 * SIM_MS);
    sim_engine_free(engine);
}
END_TEST

START_TEST(test_endless_sampling_stops_when_nothing_can_change)
{
    SimEngine *engine = sim_engine_new(1, 0);
    SimSeries *series = sim_engine_series(engine);
    sim_series_add_constant(series, "c", 1);
    Recorder rec;
    recorder_init(&rec, engine);
    sim_engine_at(engine, 2500 * SIM_MS, record, &rec, 0);
    sim_engine_sample_every(engine, 1 * SIM_S, SIM_TIME_NEVER);
    ck_assert_int_eq(sim_engine_run(engine, SIM_TIME_NEVER), SIM_RUN_DRAINED);
    ck_assert_uint_eq(sim_series_n_rows(series), 3); /* 0, 1 s, 2 s */
    ck_assert_int_eq(sim_engine_now(engine), 2500 * SIM_MS);
    g_array_free(rec.seen, TRUE);
    sim_engine_free(engine);
}
END_TEST

START_TEST(test_sampling_started_late_aligns_to_the_grid)
{
    SimEngine *engine = sim_engine_new(1, 0);
    SimSeries *series = sim_engine_series(engine);
    sim_series_add_constant(series, "c", 1);
    sim_engine_run(engine, 1300 * SIM_MS);
    sim_engine_sample_every(engine, 1 * SIM_S, 3 * SIM_S);
    sim_engine_run(engine, 5 * SIM_S);
    ck_assert_uint_eq(sim_series_n_rows(series), 2);
    ck_assert_int_eq(sim_series_row_time(series, 0), 2 * SIM_S);
    ck_assert_int_eq(sim_series_row_time(series, 1), 3 * SIM_S);
    sim_engine_free(engine);
}
END_TEST

/* ---- progress ---------------------------------------------------------- */

/* An endless stream of events, one per millisecond. */
static void tick(void *ctx, uint64_t arg)
{
    SimEngine *engine = ctx;
    sim_engine_after(engine, 1 * SIM_MS, tick, engine, arg + 1);
}

typedef struct {
    int calls;
    int stop_on_call; /* 0: never stop */
    SimTime last_now;
    uint64_t last_events;
} ProgressLog;

static gboolean on_progress(void *user_data, SimTime now, uint64_t events)
{
    ProgressLog *log = user_data;
    log->calls++;
    log->last_now = now;
    log->last_events = events;
    return log->calls != log->stop_on_call;
}

START_TEST(test_progress_callback_stops_the_run)
{
    SimEngine *engine = sim_engine_new(1, 0);
    ProgressLog log = { .stop_on_call = 1 };
    sim_engine_set_progress(engine, on_progress, &log, 0);
    sim_engine_at(engine, 0, tick, engine, 0);

    ck_assert_int_eq(sim_engine_run(engine, SIM_TIME_NEVER), SIM_RUN_STOPPED);
    ck_assert_int_eq(log.calls, 1);
    /* Checked every 4096 events: it stopped right after the 4096th. */
    ck_assert_uint_eq(log.last_events, 4096);
    ck_assert_uint_eq(sim_engine_events_run(engine), 4096);
    ck_assert_int_eq(log.last_now, 4095 * SIM_MS);
    ck_assert_int_eq(sim_engine_now(engine), 4095 * SIM_MS);
    ck_assert_uint_eq(sim_engine_pending(engine), 1);

    /* The run can go on from there. */
    log.stop_on_call = 0;
    ck_assert_int_eq(sim_engine_run(engine, 10 * SIM_S), SIM_RUN_REACHED_TIME);
    ck_assert_uint_eq(sim_engine_events_run(engine), 10001); /* 0 ms .. 10000 ms */
    ck_assert_int_eq(log.calls, 2);                          /* again at 8192 */
    sim_engine_free(engine);
}
END_TEST

START_TEST(test_progress_respects_wall_interval)
{
    SimEngine *engine = sim_engine_new(1, 0);
    ProgressLog log = { .stop_on_call = 1 };
    /* An hour of wall time never passes during this short run. */
    sim_engine_set_progress(engine, on_progress, &log, 3600 * 1000);
    sim_engine_at(engine, 0, tick, engine, 0);
    ck_assert_int_eq(sim_engine_run(engine, 20 * SIM_S), SIM_RUN_REACHED_TIME);
    ck_assert_int_eq(log.calls, 0);
    ck_assert_uint_eq(sim_engine_events_run(engine), 20001);
    sim_engine_free(engine);
}
END_TEST

/* ---- streams ----------------------------------------------------------- */

START_TEST(test_streams_are_derived_from_seed_entity_replication)
{
    SimEngine *engine = sim_engine_new(99, 4);
    ck_assert_uint_eq(sim_engine_seed(engine), 99);
    SimRng from_engine, direct;
    sim_engine_stream(engine, "host shop", &from_engine);
    sim_rng_seed(&direct, 99, "host shop", 4);
    for (int i = 0; i < 100; i++)
        ck_assert_uint_eq(sim_rng_next(&from_engine), sim_rng_next(&direct));
    sim_engine_free(engine);
}
END_TEST

START_TEST(test_streams_independent_of_other_streams)
{
    /* Engine A: one entity. Engine B: another entity is created first and
     * drawn from heavily; the first entity's draws must not change. */
    SimEngine *a = sim_engine_new(7, 0);
    SimEngine *b = sim_engine_new(7, 0);
    SimRng shop_a, shop_b, other;
    sim_engine_stream(a, "host shop", &shop_a);
    sim_engine_stream(b, "workload surge", &other);
    for (int i = 0; i < 1000; i++)
        sim_rng_next(&other);
    sim_engine_stream(b, "host shop", &shop_b);
    for (int i = 0; i < 1000; i++) {
        uint64_t x = sim_rng_next(&shop_a);
        ck_assert_uint_eq(x, sim_rng_next(&shop_b));
        ck_assert_uint_ne(x, sim_rng_next(&other));
    }

    /* Another replication of the same entity is a different stream. */
    SimEngine *c = sim_engine_new(7, 1);
    SimRng shop_c;
    sim_engine_stream(c, "host shop", &shop_c);
    sim_engine_stream(a, "host shop", &shop_a);
    for (int i = 0; i < 1000; i++)
        ck_assert_uint_ne(sim_rng_next(&shop_a), sim_rng_next(&shop_c));
    sim_engine_free(a);
    sim_engine_free(b);
    sim_engine_free(c);
}
END_TEST

/* ---- output ------------------------------------------------------------ */

static char *make_scratch_dir(void)
{
    GError *error = NULL;
    char *dir = g_dir_make_tmp("portsim-test-XXXXXX", &error);
    ck_assert_msg(dir != NULL, "%s", error ? error->message : "");
    return dir;
}

/* Removes a scratch tree this test created (two levels at most). */
static void remove_tree(const char *path)
{
    if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
        GDir *dir = g_dir_open(path, 0, NULL);
        const char *name;
        while (dir && (name = g_dir_read_name(dir))) {
            char *child = g_build_filename(path, name, NULL);
            remove_tree(child);
            g_free(child);
        }
        if (dir)
            g_dir_close(dir);
    }
    g_remove(path);
}

START_TEST(test_output_writes_atomically_into_new_folders)
{
    char *root = make_scratch_dir();
    char *dir = g_build_filename(root, "results", "flash-sale", NULL);
    char *file = g_build_filename(dir, "timeseries.csv", NULL);
    GError *error = NULL;

    ck_assert(sim_output_mkdir(dir, &error));
    ck_assert(sim_output_mkdir(dir, &error)); /* already there: fine */
    ck_assert(sim_output_write(file, "time_s,a\n0,1\n", -1, &error));
    ck_assert(sim_output_write(file, "time_s,b\n", -1, &error)); /* replaces */
    ck_assert(error == NULL);

    char *contents = NULL;
    gsize length = 0;
    ck_assert(g_file_get_contents(file, &contents, &length, NULL));
    ck_assert_str_eq(contents, "time_s,b\n");
    g_free(contents);

    /* An explicit length writes exactly that many bytes, NULs included. */
    ck_assert(sim_output_write(file, "ab\0cd", 5, &error));
    ck_assert(g_file_get_contents(file, &contents, &length, NULL));
    ck_assert_uint_eq(length, 5);
    ck_assert_int_eq(memcmp(contents, "ab\0cd", 5), 0);
    g_free(contents);

    /* No temporary file is left beside the result. */
    GDir *listing = g_dir_open(dir, 0, NULL);
    ck_assert_str_eq(g_dir_read_name(listing), "timeseries.csv");
    ck_assert_ptr_null(g_dir_read_name(listing));
    g_dir_close(listing);

    remove_tree(root);
    g_free(file);
    g_free(dir);
    g_free(root);
}
END_TEST

START_TEST(test_output_errors_name_the_path)
{
    char *root = make_scratch_dir();
    char *missing = g_build_filename(root, "no-such-folder", "summary.json", NULL);
    GError *error = NULL;

    ck_assert(!sim_output_write(missing, "{}", -1, &error));
    ck_assert(g_error_matches(error, SIM_ERROR, SIM_ERROR_RUNTIME));
    ck_assert_msg(strstr(error->message, missing) != NULL, "message: %s", error->message);
    g_clear_error(&error);

    /* A folder cannot be made where a file already is. */
    char *blocker = g_build_filename(root, "plots", NULL);
    ck_assert(g_file_set_contents(blocker, "", 0, NULL));
    char *under = g_build_filename(blocker, "svg", NULL);
    ck_assert(!sim_output_mkdir(under, &error));
    ck_assert(g_error_matches(error, SIM_ERROR, SIM_ERROR_RUNTIME));
    ck_assert_msg(strstr(error->message, under) != NULL, "message: %s", error->message);
    g_clear_error(&error);

    remove_tree(root);
    g_free(under);
    g_free(blocker);
    g_free(missing);
    g_free(root);
}
END_TEST

static Suite *engine_suite(void)
{
    Suite *s = suite_create("engine");
    TCase *run = tcase_create("run");
    tcase_add_test(run, test_events_run_in_time_order_and_clock_follows);
    tcase_add_test(run, test_after_is_relative_to_now);
    tcase_add_test(run, test_run_until_stops_and_resumes);
    tcase_add_test(run, test_run_until_earlier_than_now_is_refused);
    tcase_add_test(run, test_cancelled_event_does_not_run);
    tcase_add_test(run, test_scheduling_in_the_past_is_reported_and_runs_now);
    tcase_add_test(run, test_run_from_a_handler_is_refused);
    suite_add_tcase(s, run);

    TCase *sampling = tcase_create("sampling");
    tcase_add_test(sampling, test_sampling_rows_at_exact_times);
    tcase_add_test(sampling, test_sampling_until_a_multiple_has_no_duplicate_row);
    tcase_add_test(sampling, test_sampling_across_interrupted_runs);
    tcase_add_test(sampling, test_endless_sampling_stops_when_nothing_can_change);
    tcase_add_test(sampling, test_sampling_started_late_aligns_to_the_grid);
    suite_add_tcase(s, sampling);

    TCase *progress = tcase_create("progress");
    tcase_add_test(progress, test_progress_callback_stops_the_run);
    tcase_add_test(progress, test_progress_respects_wall_interval);
    suite_add_tcase(s, progress);

    TCase *streams = tcase_create("streams");
    tcase_add_test(streams, test_streams_are_derived_from_seed_entity_replication);
    tcase_add_test(streams, test_streams_independent_of_other_streams);
    suite_add_tcase(s, streams);

    TCase *output = tcase_create("output");
    tcase_add_test(output, test_output_writes_atomically_into_new_folders);
    tcase_add_test(output, test_output_errors_name_the_path);
    suite_add_tcase(s, output);
    return s;
}

PS_TEST_MAIN(engine_suite)
