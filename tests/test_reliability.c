/* Reliability: absurd scenarios refused up front with an estimate, the
 * engine's watchdog against zero-delay loops, --max-memory, interrupted
 * runs (SIGINT/SIGTERM) that keep valid partial results, and output folders
 * that are never silently mixed. */
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "budget.h"
#include "keys.h"
#include "run.h"
#include "sim_error.h"
#include "test_util.h"

static SimSchema *schema;

static void setup(void) { schema = ps_schema_new(); }
static void teardown(void) { sim_schema_free(schema); }

static SimScenario *load(const char *ini)
{
    GError *error = NULL;
    SimScenario *sc = sim_scenario_load_data(schema, ini, "t.ini", NULL, &error);
    ck_assert_msg(sc != NULL, "load: %s", error ? error->message : "?");
    return sc;
}

#define SERVER "[server s]\naddresses = 10.9.0.1\nports = 443\n"
#define WORKLOAD "[workload w]\nhost = c\ntarget = server s\n"

/* ---- the budget -------------------------------------------------------- */

START_TEST(budget_counts_attempts)
{
    /* constant 100/s from 10 s to 40 s: 3,000 */
    SimScenario *sc = load("[scenario]\nduration = 1m\n[host c]\naddresses = 10.0.0.1\n" SERVER
                           WORKLOAD "rate = 100/s\nstart = 10s\nstop = 40s\n");
    PsBudget b;
    ps_budget_estimate(sc, &b);
    ck_assert_double_eq_tol(b.attempts, 3000, 1e-6);
    ck_assert_double_eq(b.pools, 1);
    ck_assert_double_eq(b.rows, 62);
    sim_scenario_free(sc);
    /* A schedule: 0->100/s linearly over 10 s (500), then 100/s held for
     * 50 s (5,000): 5,500. */
    sc = load("[scenario]\nduration = 1m\n[host c]\naddresses = 10.0.0.1\n" SERVER WORKLOAD
              "arrival = schedule\nschedule = 0s 0/s, 10s 100/s\n");
    ps_budget_estimate(sc, &b);
    ck_assert_double_eq_tol(b.attempts, 5500, 1e-6);
    sim_scenario_free(sc);
}
END_TEST

START_TEST(budget_refuses_absurd_scenarios)
{
    /* 10^12 connections: 1G/s for 1000 s. */
    SimScenario *sc = load("[scenario]\nduration = 1000s\n[host c]\naddresses = 10.0.0.1\n" SERVER
                           WORKLOAD "rate = 1G/s\n");
    GError *error = NULL;
    ck_assert(!ps_run_new(sc, 0, &error));
    ck_assert(g_error_matches(error, SIM_ERROR, SIM_ERROR_INPUT));
    ck_assert_msg(strstr(error->message, "about 1e+12 connections"), "%s", error->message);
    g_clear_error(&error);
    sim_scenario_free(sc);

    /* A year sampled every millisecond: 3e10 rows. */
    sc = load("[scenario]\nduration = 365d\nsample = 1ms\n[host c]\naddresses = 10.0.0.1\n" SERVER
              WORKLOAD "rate = 1/s\n");
    ck_assert(!ps_run_new(sc, 0, &error));
    ck_assert(g_error_matches(error, SIM_ERROR, SIM_ERROR_INPUT));
    ck_assert_msg(strstr(error->message, "a time series of 3.15e+10 rows"), "%s",
                  error->message);
    g_clear_error(&error);
    sim_scenario_free(sc);

    /* Pools are created on first use: 10 attempts, 10 pools at most. */
    sc = load("[scenario]\nduration = 10s\n[host c]\naddresses = 10.0.0.0/16\nallocator = linux\n"
              SERVER WORKLOAD "rate = 1/s\n");
    PsBudget b;
    ps_budget_estimate(sc, &b);
    ck_assert_double_eq(b.pools, 10);
    sim_scenario_free(sc);

    /* 65,536 Linux pools are fine for a machine but not for 100 MiB. */
    sc = load("[scenario]\nduration = 10s\n[host c]\naddresses = 10.0.0.0/16\nallocator = linux\n"
              SERVER WORKLOAD "rate = 100k/s\n");
    ps_budget_estimate(sc, &b);
    ck_assert_double_eq(b.pools, 65536);
    /* Each pool: 256 KiB of perturbation table and 28,232 x 4.5 B. */
    ck_assert_double_ge(b.pool_bytes, 65536.0 * (262144 + 28232 * 4.5));
    ck_assert(!ps_budget_check(sc, 100u << 20, &error));
    ck_assert_msg(strstr(error->message, "65536 port pools") &&
                      strstr(error->message, "--max-memory limit (100.0 MiB)"),
                  "%s", error->message);
    g_clear_error(&error);
    ck_assert(ps_budget_check(sc, 64ull << 30, &error));
    sim_scenario_free(sc);
}
END_TEST

START_TEST(budget_accepts_every_shipped_scenario)
{
    const char *root = g_getenv("PORTSIM_SOURCE_ROOT");
    ck_assert_ptr_nonnull(root);
    g_autofree char *dir = g_build_filename(root, "scenarios", NULL);
    GDir *d = g_dir_open(dir, 0, NULL);
    ck_assert_ptr_nonnull(d);
    const char *name;
    int n = 0;
    while ((name = g_dir_read_name(d))) {
        if (!g_str_has_suffix(name, ".ini"))
            continue;
        g_autofree char *path = g_build_filename(dir, name, NULL);
        GError *error = NULL;
        SimScenario *sc = sim_scenario_load_file(schema, path, NULL, &error);
        ck_assert_msg(sc != NULL, "%s: %s", name, error ? error->message : "?");
        /* 1 GiB is far more than any shipped scenario should need. */
        ck_assert_msg(ps_budget_check(sc, 1ull << 30, &error), "%s: %s", name, error->message);
        sim_scenario_free(sc);
        n++;
    }
    g_dir_close(d);
    ck_assert_int_gt(n, 0);
}
END_TEST

START_TEST(size_parser)
{
    guint64 v = 0;
    ck_assert(ps_budget_parse_size("512M", &v, NULL));
    ck_assert_uint_eq(v, 512ull << 20);
    ck_assert(ps_budget_parse_size("1.5GiB", &v, NULL));
    ck_assert_uint_eq(v, 3ull << 29);
    ck_assert(ps_budget_parse_size("2g", &v, NULL));
    ck_assert_uint_eq(v, 2ull << 30);
    ck_assert(ps_budget_parse_size("4096", &v, NULL));
    ck_assert_uint_eq(v, 4096);
    const char *bad[] = {"", "M", "-1G", "12X", "1GG", "0", "nan", "1e30", NULL};
    for (const char **b = bad; *b; b++) {
        GError *error = NULL;
        ck_assert_msg(!ps_budget_parse_size(*b, &v, &error), "accepted '%s'", *b);
        ck_assert(g_error_matches(error, SIM_ERROR, SIM_ERROR_INPUT));
        g_error_free(error);
    }
    ck_assert_uint_gt(ps_budget_physical_memory(), 0);
    ck_assert_uint_gt(ps_budget_resident_memory(), 0);
}
END_TEST

/* ---- the watchdog ------------------------------------------------------ */

typedef struct {
    SimEngine *engine;
    uint64_t runs;
    uint64_t stop_after; /* reschedule at the same instant this many times */
} Looper;

static void loop_handler(void *ctx, uint64_t arg)
{
    Looper *l = ctx;
    if (++l->runs < l->stop_after)
        sim_engine_after(l->engine, 0, loop_handler, l, arg);
}

static char *name_looper(void *data, SimHandler handler, void *ctx, uint64_t arg)
{
    return handler == loop_handler ? g_strdup_printf("looper #%" G_GUINT64_FORMAT, arg) : NULL;
}

START_TEST(watchdog_catches_zero_delay_loop)
{
    SimEngine *e = sim_engine_new(1, 0);
    Looper l = {e, 0, G_MAXUINT64};
    sim_engine_set_watchdog(e, 100000);
    sim_engine_set_event_namer(e, name_looper, NULL);
    sim_engine_at(e, 5 * SIM_S, loop_handler, &l, 7);
    ck_assert_ptr_null(sim_engine_stuck_error(e));
    ck_assert_int_eq(sim_engine_run(e, SIM_TIME_NEVER), SIM_RUN_STUCK);
    ck_assert_uint_eq(l.runs, 100001);
    GError *err = sim_engine_stuck_error(e);
    ck_assert(g_error_matches(err, SIM_ERROR, SIM_ERROR_RUNTIME));
    ck_assert_msg(strstr(err->message, "100001 events in a row at t = 5 s") &&
                      strstr(err->message, "looper #7"),
                  "%s", err->message);
    g_error_free(err);
    sim_engine_free(e);
}
END_TEST

START_TEST(watchdog_lets_bursts_pass)
{
    /* Exactly the limit at one instant is a burst, not a loop; so is any
     * number of events when the clock moves. */
    SimEngine *e = sim_engine_new(1, 0);
    Looper l = {e, 0, 1000};
    sim_engine_set_watchdog(e, 1000);
    sim_engine_at(e, 0, loop_handler, &l, 0);
    ck_assert_int_eq(sim_engine_run(e, SIM_TIME_NEVER), SIM_RUN_DRAINED);
    ck_assert_uint_eq(l.runs, 1000);
    static Looper once[5000];
    for (int i = 0; i < 5000; i++) {
        once[i] = (Looper){e, 0, 1};
        sim_engine_at(e, SIM_S + i, loop_handler, &once[i], 0);
    }
    ck_assert_int_eq(sim_engine_run(e, SIM_TIME_NEVER), SIM_RUN_DRAINED);
    /* Off: 0 disables it. */
    Looper off = {e, 0, 50000};
    sim_engine_set_watchdog(e, 0);
    sim_engine_after(e, 0, loop_handler, &off, 0);
    ck_assert_int_eq(sim_engine_run(e, SIM_TIME_NEVER), SIM_RUN_DRAINED);
    ck_assert_uint_eq(off.runs, 50000);
    sim_engine_free(e);
}
END_TEST

START_TEST(stuck_run_is_a_runtime_error)
{
    /* A PsRun whose engine gets a zero-delay loop (standing in for a model
     * bug) stops incomplete with a runtime error, not a hang. */
    SimScenario *sc = load("[scenario]\nduration = 10s\n[host c]\naddresses = 10.0.0.1\n" SERVER
                           WORKLOAD "rate = 10/s\n");
    GError *error = NULL;
    PsRun *run = ps_run_new(sc, 0, &error);
    ck_assert_ptr_nonnull(run);
    Looper l = {ps_run_engine(run), 0, G_MAXUINT64};
    sim_engine_set_watchdog(ps_run_engine(run), 10000);
    sim_engine_at(ps_run_engine(run), 3 * SIM_S, loop_handler, &l, 0);
    ck_assert(!ps_run_execute(run));
    ck_assert(!ps_run_complete(run));
    const GError *err = ps_run_error(run);
    ck_assert_ptr_nonnull(err);
    ck_assert_int_eq(err->code, SIM_ERROR_RUNTIME);
    ck_assert_msg(strstr(err->message, "at t = 3 s"), "%s", err->message);
    /* The network names its own events. */
    PsNetwork *net = ps_run_network(run);
    g_autofree char *who = ps_network_event_owner(net, NULL, net, 0);
    ck_assert_msg(who && strstr(who, "workload w"), "%s", who ? who : "(null)");
    ck_assert_ptr_null(ps_network_event_owner(net, NULL, &l, 0));
    ps_run_free(run);
    sim_scenario_free(sc);
}
END_TEST

/* ---- the program: interruption, output folders, --max-memory ----------- */

typedef struct {
    int status;
    char *out, *err;
} Result;

static Result portsim(const char *const *args)
{
    const char *bin = g_getenv("PORTSIM_BINARY");
    ck_assert_msg(bin != NULL, "PORTSIM_BINARY is not set (run through meson test)");
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_ptr_array_add(argv, (gpointer)bin);
    for (const char *const *a = args; *a; a++)
        g_ptr_array_add(argv, (gpointer)*a);
    g_ptr_array_add(argv, NULL);
    Result r = {0};
    int ws = 0;
    ck_assert(g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &r.out,
                           &r.err, &ws, NULL));
    r.status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128;
    return r;
}

static void result_free(Result *r)
{
    g_free(r->out);
    g_free(r->err);
}

static char *slurp(const char *dir, const char *name)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    char *text = NULL;
    ck_assert_msg(g_file_get_contents(path, &text, NULL, NULL), "missing %s", path);
    return text;
}

static void rm_rf(const char *dir)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* Every row has the header's number of fields and the file ends with a
 * newline: not truncated. */
static void assert_csv_whole(const char *csv)
{
    ck_assert(g_str_has_suffix(csv, "\n"));
    g_auto(GStrv) lines = g_strsplit(csv, "\n", -1);
    guint n = g_strv_length(lines);
    ck_assert_uint_ge(n, 3); /* header, a row, the empty string after the last \n */
    int commas = 0;
    for (const char *p = lines[0]; *p; p++)
        commas += *p == ',';
    for (guint i = 1; i + 1 < n; i++) {
        int c = 0;
        for (const char *p = lines[i]; *p; p++)
            c += *p == ',';
        if (c != commas)
            ck_abort_msg("row %u has %d fields, the header %d", i, c + 1, commas + 1);
    }
}

/* Long enough to be interrupted: 1 h at 200k/s is ~10 s of wall time. */
static const char LONG_RUN[] = "[scenario]\nname = long\nduration = 1h\n"
                               "[host c]\naddresses = 10.0.0.1-10.0.0.4\n" SERVER WORKLOAD
                               "rate = 200k/s\nhold = exp(10ms)\n";

static void interrupt_with(int sig)
{
    g_autofree char *tmp = g_dir_make_tmp("portsim-rel-XXXXXX", NULL);
    g_autofree char *ini = g_build_filename(tmp, "long.ini", NULL);
    g_autofree char *out = g_build_filename(tmp, "out", NULL);
    ck_assert(g_file_set_contents(ini, LONG_RUN, -1, NULL));
    const char *argv[] = {g_getenv("PORTSIM_BINARY"), "run", ini, "-o", out, "-q", NULL};
    ck_assert_ptr_nonnull(argv[0]);
    GPid pid;
    int err_fd;
    ck_assert(g_spawn_async_with_pipes(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                                       NULL, &pid, NULL, NULL, &err_fd, NULL));
    /* The run has started once it has loaded and built (a few ms); give it
     * time to be deep inside the event loop. */
    g_usleep(800 * 1000);
    ck_assert_int_eq(kill(pid, sig), 0);
    int ws = 0;
    ck_assert_int_eq(waitpid(pid, &ws, 0), pid);
    g_spawn_close_pid(pid);
    char err[4096] = {0};
    ssize_t n = read(err_fd, err, sizeof err - 1);
    close(err_fd);
    ck_assert_msg(WIFEXITED(ws), "killed by signal %d", WTERMSIG(ws));
    ck_assert_msg(WEXITSTATUS(ws) == 1, "exit %d: %s", WEXITSTATUS(ws), n > 0 ? err : "");
    ck_assert_msg(strstr(err, "interrupted by a signal: partial results written to"), "%s", err);
    g_autofree char *json = slurp(out, "summary.json");
    ck_assert_msg(strstr(json, "\"complete\" : false"), "%s", json);
    g_autofree char *csv = slurp(out, "timeseries.csv");
    assert_csv_whole(csv);
    /* No temporary file left behind by an interrupted write. */
    GDir *d = g_dir_open(out, 0, NULL);
    const char *name;
    while ((name = g_dir_read_name(d)))
        ck_assert_msg(name[0] != '.', "left over: %s", name);
    g_dir_close(d);
    rm_rf(tmp);
}

START_TEST(sigint_keeps_partial_results) { interrupt_with(SIGINT); }
END_TEST

START_TEST(sigterm_keeps_partial_results) { interrupt_with(SIGTERM); }
END_TEST

static const char SHORT_RUN[] = "[scenario]\nname = short\nduration = 5s\n"
                                "[host c]\naddresses = 10.0.0.1\n" SERVER WORKLOAD "rate = 10/s\n";

START_TEST(output_folder_is_never_mixed)
{
    g_autofree char *tmp = g_dir_make_tmp("portsim-rel-XXXXXX", NULL);
    g_autofree char *ini = g_build_filename(tmp, "short.ini", NULL);
    ck_assert(g_file_set_contents(ini, SHORT_RUN, -1, NULL));

    /* A folder of someone's files: refused, untouched. */
    g_autofree char *mine = g_build_filename(tmp, "mine", NULL);
    g_autofree char *thesis = g_build_filename(mine, "thesis.json", NULL);
    ck_assert_int_eq(g_mkdir(mine, 0755), 0);
    ck_assert(g_file_set_contents(thesis, "{}", -1, NULL));
    const char *a1[] = {"run", ini, "-o", mine, "-q", NULL};
    Result r = portsim(a1);
    ck_assert_int_eq(r.status, 2);
    ck_assert_msg(strstr(r.err, "not empty and holds no previous portsim results"), "%s", r.err);
    ck_assert(g_file_test(thesis, G_FILE_TEST_EXISTS));
    g_autofree char *summary_mine = g_build_filename(mine, "summary.json", NULL);
    ck_assert(!g_file_test(summary_mine, G_FILE_TEST_EXISTS));
    result_free(&r);

    /* A file where the folder should be: refused. */
    const char *a2[] = {"run", ini, "-o", thesis, "-q", NULL};
    r = portsim(a2);
    ck_assert_int_eq(r.status, 2);
    ck_assert_msg(strstr(r.err, "is not a folder"), "%s", r.err);
    result_free(&r);

    /* A previous run's folder: its files go, a stranger's file stays. */
    g_autofree char *out = g_build_filename(tmp, "out", NULL);
    const char *a3[] = {"run", ini, "-o", out, "-q", NULL};
    r = portsim(a3);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    result_free(&r);
    g_autofree char *old_plot = g_build_filename(out, "plots", "host-gone.svg", NULL);
    g_autofree char *old_csv = g_build_filename(out, "events-gone.csv", NULL);
    g_autofree char *notes = g_build_filename(out, "notes.txt", NULL);
    ck_assert(g_file_set_contents(old_plot, "<svg/>", -1, NULL));
    ck_assert(g_file_set_contents(old_csv, "t\n", -1, NULL));
    ck_assert(g_file_set_contents(notes, "mine", -1, NULL));
    const char *a4[] = {"run", ini, "-o", out, "-q", "--no-plots", NULL};
    r = portsim(a4);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    ck_assert_msg(strstr(r.err, "kept: notes.txt"), "%s", r.err);
    result_free(&r);
    ck_assert(!g_file_test(old_plot, G_FILE_TEST_EXISTS));
    ck_assert(!g_file_test(old_csv, G_FILE_TEST_EXISTS));
    g_autofree char *new_plot = g_build_filename(out, "plots", "host-c.svg", NULL);
    ck_assert(!g_file_test(new_plot, G_FILE_TEST_EXISTS)); /* --no-plots: none old, none new */
    ck_assert(g_file_test(notes, G_FILE_TEST_EXISTS));
    g_autofree char *json = slurp(out, "summary.json");
    ck_assert_ptr_nonnull(strstr(json, "\"complete\" : true"));
    /* Nothing was written beside the output folders. */
    GDir *d = g_dir_open(tmp, 0, NULL);
    const char *name;
    int entries = 0;
    while ((name = g_dir_read_name(d))) {
        entries++;
        ck_assert_msg(g_str_equal(name, "short.ini") || g_str_equal(name, "mine") ||
                          g_str_equal(name, "out"),
                      "written outside the output folder: %s", name);
    }
    g_dir_close(d);
    ck_assert_int_eq(entries, 3);
    rm_rf(tmp);
}
END_TEST

START_TEST(max_memory)
{
    g_autofree char *tmp = g_dir_make_tmp("portsim-rel-XXXXXX", NULL);
    g_autofree char *ini = g_build_filename(tmp, "long.ini", NULL);
    g_autofree char *out = g_build_filename(tmp, "out", NULL);
    ck_assert(g_file_set_contents(ini, LONG_RUN, -1, NULL));

    const char *bad[] = {"run", ini, "-o", out, "--max-memory", "lots", NULL};
    Result r = portsim(bad);
    ck_assert_int_eq(r.status, 2);
    ck_assert_msg(strstr(r.err, "--max-memory lots: expected a size"), "%s", r.err);
    result_free(&r);

    /* Below the estimate (4 Linux pools alone take 1 MiB): refused. */
    const char *tiny[] = {"run", ini, "-o", out, "--max-memory", "64k", NULL};
    r = portsim(tiny);
    ck_assert_int_eq(r.status, 2);
    ck_assert_msg(strstr(r.err, "more than the --max-memory limit (64.0 KiB)"), "%s", r.err);
    ck_assert(!g_file_test(out, G_FILE_TEST_EXISTS));
    result_free(&r);

    /* Above the estimate (one pool, 360 rows: under 1 MiB) but below what
     * the process really holds (GLib and the program alone are a few MiB):
     * stops at the first check, with partial results. */
    const char *rss[] = {"run", ini, "-o", out, "--max-memory", "1M", "-q",
                         "--set", "host.c.addresses=10.0.0.1", "--set", "scenario.sample=10s",
                         NULL};
    r = portsim(rss);
    ck_assert_msg(r.status == 1, "exit %d: %s", r.status, r.err);
    ck_assert_msg(strstr(r.err, "resident memory") && strstr(r.err, "passed --max-memory 1.0 MiB"),
                  "%s", r.err);
    g_autofree char *json = slurp(out, "summary.json");
    ck_assert_ptr_nonnull(strstr(json, "\"complete\" : false"));
    result_free(&r);
    rm_rf(tmp);
}
END_TEST

static Suite *reliability_suite(void)
{
    Suite *s = suite_create("reliability");
    TCase *tc = tcase_create("limits");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, budget_counts_attempts);
    tcase_add_test(tc, budget_refuses_absurd_scenarios);
    tcase_add_test(tc, budget_accepts_every_shipped_scenario);
    tcase_add_test(tc, size_parser);
    tcase_add_test(tc, watchdog_catches_zero_delay_loop);
    tcase_add_test(tc, watchdog_lets_bursts_pass);
    tcase_add_test(tc, stuck_run_is_a_runtime_error);
    suite_add_tcase(s, tc);
    TCase *cli = tcase_create("program");
    tcase_set_timeout(cli, 60);
    tcase_add_test(cli, sigint_keeps_partial_results);
    tcase_add_test(cli, sigterm_keeps_partial_results);
    tcase_add_test(cli, output_folder_is_never_mixed);
    tcase_add_test(cli, max_memory);
    suite_add_tcase(s, cli);
    return s;
}

PS_TEST_MAIN(reliability_suite)
