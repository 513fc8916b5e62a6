/* portsim sweep, run-one and merge: a sweep is a plan (DIR/sweep-plan.json)
 * and a run list; `sweep` executes the list on local threads, while
 * `--emit-runs`, `run-one` and `merge` hand the same list to a cluster's own
 * scheduler (GNU parallel, Slurm). Either way each run writes one file
 * atomically and the merged outputs are computed from those files alone. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "keys.h"
#include "progress.h"
#include "sim_error.h"
#include "sweep_plan.h"
#include "sweep_results.h"
#include "terminal_summary.h"

/* ---- local execution ---- */

typedef struct {
    const SweepPlan *plan;
    const SimSchema *schema; /* read-only after creation: safe to share */
    GMutex lock;
    GCond changed;
    guint done;
    guint failed;
    GError *first_error; /* of the lowest failed run id, so the message is stable */
    guint first_error_run;
} Pool;

static void execute_one(gpointer data, gpointer user_data)
{
    SweepRun *run = data;
    Pool *pool = user_data;
    GError *error = NULL;
    gboolean ok = !cli_was_interrupted() &&
                  sweep_execute_run(pool->plan, pool->schema, run, &error);
    if (!ok && error == NULL)
        g_set_error(&error, SIM_ERROR, SIM_ERROR_RUNTIME, "interrupted");
    g_mutex_lock(&pool->lock);
    pool->done++;
    if (!ok) {
        pool->failed++;
        if (pool->first_error == NULL || run->run < pool->first_error_run) {
            g_clear_error(&pool->first_error);
            pool->first_error = g_steal_pointer(&error);
            pool->first_error_run = run->run;
        }
    }
    g_cond_signal(&pool->changed);
    g_mutex_unlock(&pool->lock);
    g_clear_error(&error);
    g_free(run);
}

/* A bar with an ETA on stderr, redrawn in place, only on a terminal. */
static void draw_progress(guint done, guint total, gint64 started_us, gboolean final)
{
    double elapsed = (double)(g_get_monotonic_time() - started_us) / 1e6;
    int width = 30, filled = total ? (int)((double)done / total * width) : width;
    g_autofree char *eta = done ? cli_format_seconds(elapsed / done * (total - done))
                                : g_strdup("?");
    fprintf(stderr, "\r[%.*s%*s] %u/%u runs, ETA %s   ", filled,
            "==============================", width - filled, "", done, total, eta);
    if (final)
        fprintf(stderr, "\r%*s\r", width + 40, "");
    fflush(stderr);
}

/* Runs `runs` (SweepRun, consumed) on `jobs` threads. */
static gboolean execute(const SweepPlan *plan, const SimSchema *schema, GArray *runs, guint jobs,
                        gboolean show_progress, GError **error)
{
    Pool pool = {.plan = plan, .schema = schema};
    g_mutex_init(&pool.lock);
    g_cond_init(&pool.changed);
    GThreadPool *tp = g_thread_pool_new(execute_one, &pool, (gint)MAX(jobs, 1), FALSE, NULL);
    for (guint i = 0; i < runs->len; i++) {
        SweepRun *r = g_new(SweepRun, 1);
        *r = g_array_index(runs, SweepRun, i);
        g_thread_pool_push(tp, r, NULL);
    }
    gint64 started = g_get_monotonic_time();
    g_mutex_lock(&pool.lock);
    while (pool.done < runs->len) {
        g_cond_wait_until(&pool.changed, &pool.lock, g_get_monotonic_time() + 200000);
        if (show_progress && g_get_monotonic_time() - started > 500000)
            draw_progress(pool.done, runs->len, started, FALSE);
    }
    g_mutex_unlock(&pool.lock);
    g_thread_pool_free(tp, FALSE, TRUE);
    if (show_progress && g_get_monotonic_time() - started > 500000)
        draw_progress(pool.done, runs->len, started, TRUE);
    gboolean ok = pool.failed == 0;
    if (!ok) {
        g_propagate_prefixed_error(error, pool.first_error, "run %06u (and %u more failed): ",
                                   pool.first_error_run, pool.failed - 1);
        pool.first_error = NULL;
    }
    g_mutex_clear(&pool.lock);
    g_cond_clear(&pool.changed);
    return ok;
}

/* The runs a round still needs: replications [from, to) of the points
 * marked in `points` (all when NULL) that have no result file yet. */
static GArray *round_runs(const SweepPlan *plan, const SweepResults *have, const GArray *points,
                          guint from, guint to)
{
    GArray *runs = g_array_new(FALSE, FALSE, sizeof(SweepRun));
    guint n = points ? points->len : plan->points;
    for (guint i = 0; i < n; i++) {
        guint p = points ? g_array_index(points, guint, i) : i;
        for (guint rep = from; rep < MIN(to, plan->max_replications); rep++) {
            SweepRun r = {p * plan->max_replications + rep, p, rep};
            if (rep >= sweep_results_replications(have, p))
                g_array_append_val(runs, r);
        }
    }
    return runs;
}

static int merge_and_report(const SweepPlan *plan, const SimSchema *schema,
                            const char *const *dirs, const SweepOutputOptions *opt)
{
    GError *error = NULL;
    SweepResults *res = sweep_results_collect(plan, dirs, &error);
    if (res == NULL)
        return cli_report_error(error);
    g_autoptr(GArray) missing = sweep_results_missing(res, plan);
    if (missing->len > 0) {
        GString *ids = g_string_new(NULL);
        for (guint i = 0; i < MIN(missing->len, 10u); i++)
            g_string_append_printf(ids, "%s%06u", i ? ", " : "", g_array_index(missing, guint, i));
        fprintf(stderr, "portsim: %u of %u runs have no result in %s/runs/ (%s%s): run them "
                        "with `portsim run-one` (or parallel --resume-failed) and merge again\n",
                missing->len, plan->points * plan->replications, plan->dir, ids->str,
                missing->len > 10 ? ", ..." : "");
        g_string_free(ids, TRUE);
        sweep_results_free(res);
        return EXIT_RUNTIME;
    }
    gboolean expect_ok = TRUE, changed = FALSE;
    gboolean ok = sweep_results_write(res, plan, schema, opt, &expect_ok, &changed, &error);
    sweep_results_free(res);
    if (!ok)
        return cli_report_error(error);
    return expect_ok && !changed ? EXIT_OK : EXIT_RUNTIME;
}

static const char exit_codes[] =
    "Exit codes: 0 success, 1 a run failed or was interrupted, runs are missing,\n"
    "an [expect] line broke at some point, or --baseline found a significant\n"
    "change; 2 bad usage, bad scenario or a file from another sweep.\n";

int cmd_sweep(int argc, char **argv)
{
    char *typed = cli_command_line("sweep", argc, argv); /* for the report */
    char **vary_args = NULL, **sets = NULL;
    char *out_dir = NULL, *seed = NULL, *baseline = NULL;
    gint replications = 5, jobs = 0, max_reps = 0;
    gdouble precision = 0, knee = 0.001;
    gboolean emit = FALSE, no_plots = FALSE, quiet = FALSE, no_report = FALSE;
    GOptionEntry entries[] = {
        {"vary", 0, 0, G_OPTION_ARG_STRING_ARRAY, &vary_args,
         "A key and its values: KEY=FROM:TO:STEP or KEY=v1,v2,...; several make a grid",
         "KEY=VALUES"},
        {"replications", 'r', 0, G_OPTION_ARG_INT, &replications,
         "Independent replications per point (default 5)", "R"},
        {"jobs", 'j', 0, G_OPTION_ARG_INT, &jobs, "Runs at once (default: every core)", "N"},
        {"precision", 0, 0, G_OPTION_ARG_DOUBLE, &precision,
         "Replicate a point until the failure ratio's 95% half-width is at most P", "P"},
        {"max-replications", 0, 0, G_OPTION_ARG_INT, &max_reps,
         "With --precision: at most M replications per point (default 10 x R)", "M"},
        {"knee", 0, 0, G_OPTION_ARG_DOUBLE, &knee,
         "Failure ratio that defines the knee (default 0.001)", "RATIO"},
        {"output", 'o', 0, G_OPTION_ARG_FILENAME, &out_dir,
         "Sweep folder (default results/<scenario name>-sweep)", "DIR"},
        {"set", 0, 0, G_OPTION_ARG_STRING_ARRAY, &sets,
         "Override a key at every point: kind.name.key=value; repeatable", "KEY=VALUE"},
        {"seed", 0, 0, G_OPTION_ARG_STRING, &seed, "Master seed (as --set scenario.seed=N)",
         "N"},
        {"emit-runs", 0, 0, G_OPTION_ARG_NONE, &emit,
         "Write the plan, print the run list (one line per run) and run nothing", NULL},
        {"baseline", 0, 0, G_OPTION_ARG_FILENAME, &baseline,
         "Flag significant changes against an earlier sweep.json or summary.json", "FILE"},
        {"no-plots", 0, 0, G_OPTION_ARG_NONE, &no_plots, "Do not render plots", NULL},
        {"no-report", 0, 0, G_OPTION_ARG_NONE, &no_report, "Do not write report.html", NULL},
        {"quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print nothing but errors", NULL},
        {NULL},
    };
    GOptionContext *ctx = g_option_context_new("SCENARIO.ini - sweep keys with replications");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_summary(
        ctx, "Runs the scenario at every point of a grid of key values, R independent\n"
             "replications per point (random streams derived from the seed and the\n"
             "replication index), on every core. Writes DIR/sweep-plan.json, one\n"
             "result per run in DIR/runs/, then sweep.csv and sweep.json (means with\n"
             "95% Student t intervals, the knee where the failure ratio crosses 0.1%,\n"
             "Erlang B for a single-pool loss system) and plots/ with error bars.\n"
             "Outputs are byte-identical for every -j. Re-running the same sweep into\n"
             "the same folder only runs what is missing.");
    g_autofree char *description = g_strconcat(
        "Examples:\n"
        "  portsim sweep scenarios/steady-under-limit.ini \\\n"
        "      --vary workload.steady.rate=300/s:600/s:50/s -r 10\n"
        "  portsim sweep flash-sale.ini --vary host.shop.time_wait=15s,30s,60s \\\n"
        "      --vary workload.surge.hold=exp(100ms),exp(1s) -j 4 -o /tmp/grid\n"
        "  portsim sweep x.ini --vary workload.w.rate=400/s:500/s:10/s --precision 0.005\n"
        "  portsim sweep x.ini --vary ... -o /shared/s --emit-runs > runs.txt\n"
        "  parallel --joblog jobs.log portsim run-one {} :::: runs.txt\n"
        "  portsim merge /shared/s                 (docs/clusters.md)\n\n",
        exit_codes, NULL);
    g_option_context_set_description(ctx, description);
    int code = EXIT_OK;
    SimSchema *schema = ps_schema_new();
    GPtrArray *vary = g_ptr_array_new_with_free_func(sweep_vary_free);
    GPtrArray *overrides = g_ptr_array_new_with_free_func(g_free);
    SweepPlan *plan = NULL;
    GError *error = NULL;
    char *plan_path = NULL;
    GArray *points = NULL;
    if (!cli_parse_options(ctx, &argc, &argv)) {
        code = EXIT_USAGE;
        goto out;
    }
    const char *usage_error = NULL;
    if (argc != 2)
        usage_error = "expected one scenario file";
    else if (vary_args == NULL)
        usage_error = "expected at least one --vary KEY=VALUES";
    else if (replications < 1 || replications > 100000)
        usage_error = "--replications must be 1 to 100000";
    else if (jobs < 0 || jobs > 4096)
        usage_error = "--jobs must be 1 to 4096";
    else if (precision < 0 || !isfinite(precision))
        usage_error = "--precision must be a positive number";
    else if (max_reps != 0 && (max_reps < replications || max_reps > 100000))
        usage_error = "--max-replications must be at least --replications (and at most 100000)";
    else if (max_reps != 0 && precision == 0)
        usage_error = "--max-replications goes with --precision";
    else if (knee <= 0 || knee >= 1)
        usage_error = "--knee must be between 0 and 1";
    else if (emit && precision > 0)
        usage_error = "--precision decides replications as results come in, so it cannot "
                      "emit a run list in advance: use -r with --emit-runs";
    if (usage_error) {
        fprintf(stderr, "portsim sweep: %s (see --help)\n", usage_error);
        code = EXIT_USAGE;
        goto out;
    }
    for (char **v = vary_args; *v; v++) {
        SweepVary *sv = sweep_vary_parse(*v, &error);
        if (sv == NULL) {
            code = cli_report_error(error);
            goto out;
        }
        for (guint k = 0; k < vary->len; k++)
            if (strcmp(((SweepVary *)vary->pdata[k])->key, sv->key) == 0) {
                fprintf(stderr, "portsim sweep: --vary %s: %s is varied twice; give all its "
                                "values in one --vary\n", *v, sv->key);
                sweep_vary_free(sv);
                code = EXIT_USAGE;
                goto out;
            }
        g_ptr_array_add(vary, sv);
    }
    for (char **s = sets; s && *s; s++)
        g_ptr_array_add(overrides, g_strdup(*s));
    if (seed)
        g_ptr_array_add(overrides, g_strconcat("scenario.seed=", seed, NULL));
    g_ptr_array_add(overrides, NULL);
    guint max = precision > 0 ? (guint)(max_reps ? max_reps : MIN(10 * replications, 100000))
                              : (guint)replications;
    /* The folder name comes from the scenario, known once it loads. */
    plan = sweep_plan_new(schema, argv[1], (const char *const *)overrides->pdata, vary,
                          (guint)replications, max, precision, knee, out_dir ? out_dir : "",
                          &error);
    if (plan == NULL) {
        code = cli_report_error(error);
        goto out;
    }
    if (out_dir == NULL) {
        g_autofree char *leaf = g_strconcat(plan->name, "-sweep", NULL);
        g_free(plan->dir);
        plan->dir = g_build_filename("results", leaf, NULL);
    }
    SweepPlan *existing = NULL;
    plan_path = g_build_filename(plan->dir, "sweep-plan.json", NULL);
    if (g_file_test(plan_path, G_FILE_TEST_EXISTS)) {
        existing = sweep_plan_read(plan->dir, &error);
        gboolean same = existing && strcmp(existing->plan_id, plan->plan_id) == 0;
        sweep_plan_free(existing);
        g_clear_error(&error);
        if (!same) {
            fprintf(stderr, "portsim sweep: %s holds another sweep (its sweep-plan.json "
                            "differs): choose another -o DIR or delete that folder\n",
                    plan->dir);
            code = EXIT_USAGE;
            goto out;
        }
    }
    if (!sweep_plan_write(plan, &error)) {
        code = cli_report_error(error);
        goto out;
    }
    if (emit) {
        for (guint p = 0; p < plan->points; p++)
            for (guint rep = 0; rep < plan->replications; rep++) {
                SweepRun r = {p * plan->max_replications + rep, p, rep};
                g_autofree char *line = sweep_run_line(plan, &r);
                printf("%s\n", line);
            }
        goto out;
    }
    cli_catch_interrupts();
    guint threads = jobs > 0 ? (guint)jobs : g_get_num_processors();
    sweep_results_set_threads(threads);
    gboolean show = !quiet && isatty(STDERR_FILENO);
    /* Round 1: R replications everywhere; then, with --precision, R more
     * at each point still too wide, until precise or at the maximum. The
     * decisions depend on the results only, so they are the same for any
     * -j. */
    guint from = 0, to = plan->replications;
    for (;;) {
        SweepResults *have = sweep_results_collect(plan, NULL, &error);
        if (have == NULL) {
            code = cli_report_error(error);
            goto out;
        }
        GArray *runs = round_runs(plan, have, points, from, to);
        sweep_results_free(have);
        if (points)
            g_array_free(points, TRUE);
        points = NULL;
        gboolean ran = runs->len == 0 || execute(plan, schema, runs, threads, show, &error);
        g_array_free(runs, TRUE);
        if (!ran) {
            code = cli_report_error(error);
            if (cli_was_interrupted())
                fprintf(stderr, "portsim: interrupted: finished runs are kept in %s/runs/; run "
                                "the same command again to finish the sweep\n", plan->dir);
            goto out;
        }
        if (plan->precision <= 0)
            break;
        have = sweep_results_collect(plan, NULL, &error);
        if (have == NULL) {
            code = cli_report_error(error);
            goto out;
        }
        points = g_array_new(FALSE, FALSE, sizeof(guint));
        for (guint p = 0; p < plan->points; p++)
            if (sweep_results_needs_more(have, plan, p))
                g_array_append_val(points, p);
        sweep_results_free(have);
        if (points->len == 0)
            break;
        from = to;
        to += plan->replications;
    }
    SweepOutputOptions opt = {.plots = !no_plots, .baseline = baseline, .quiet = quiet,
                              .no_report = no_report, .command_line = typed};
    code = merge_and_report(plan, schema, NULL, &opt);
out:
    if (points)
        g_array_free(points, TRUE);
    g_free(plan_path);
    g_clear_error(&error);
    sweep_plan_free(plan);
    g_ptr_array_unref(vary);
    g_ptr_array_free(overrides, TRUE);
    sim_schema_free(schema);
    g_strfreev(vary_args);
    g_strfreev(sets);
    g_free(out_dir);
    g_free(seed);
    g_free(baseline);
    g_option_context_free(ctx);
    g_free(typed);
    return code;
}

int cmd_run_one(int argc, char **argv)
{
    GOptionContext *ctx = g_option_context_new("LINE - execute one line of a sweep's run list");
    g_option_context_set_summary(
        ctx, "Executes one run of a sweep, given its line from `portsim sweep\n"
             "--emit-runs` (RUN POINT REPLICATION SEED DIR, as one argument or as\n"
             "separate words), and writes DIR/runs/run-RUN.json atomically. DIR\n"
             "must hold the sweep-plan.json that `--emit-runs` wrote.");
    g_option_context_set_description(
        ctx, "Examples:\n"
             "  portsim run-one '000003 1 0 1 /shared/sweep'\n"
             "  parallel --joblog jobs.log portsim run-one {} :::: runs.txt\n\n"
             "Exit codes: 0 success, 1 the run failed or was interrupted, 2 a bad line\n"
             "or a folder without a plan.\n");
    int code = EXIT_OK;
    SimSchema *schema = NULL;
    SweepPlan *plan = NULL;
    GError *error = NULL;
    char *dir = NULL, *line = NULL;
    if (!cli_parse_options(ctx, &argc, &argv)) {
        code = EXIT_USAGE;
        goto out;
    }
    if (argc < 2) {
        fprintf(stderr, "portsim run-one: expected a run line (see --help)\n");
        code = EXIT_USAGE;
        goto out;
    }
    GPtrArray *words = g_ptr_array_new();
    for (int i = 1; i < argc; i++)
        g_ptr_array_add(words, argv[i]);
    g_ptr_array_add(words, NULL);
    line = g_strjoinv(" ", (char **)words->pdata);
    g_ptr_array_free(words, TRUE);
    SweepRun run;
    if (!sweep_run_line_parse(line, &dir, &run, &error) ||
        !(plan = sweep_plan_read(dir, &error))) {
        code = cli_report_error(error);
        goto out;
    }
    schema = ps_schema_new();
    cli_catch_interrupts();
    if (!sweep_execute_run(plan, schema, &run, &error))
        code = cli_report_error(error);
out:
    g_clear_error(&error);
    g_free(dir);
    g_free(line);
    sweep_plan_free(plan);
    if (schema)
        sim_schema_free(schema);
    g_option_context_free(ctx);
    return code;
}

int cmd_merge(int argc, char **argv)
{
    char *typed = cli_command_line("merge", argc, argv); /* for the report */
    gboolean no_plots = FALSE, quiet = FALSE, no_report = FALSE;
    char *baseline = NULL;
    GOptionEntry entries[] = {
        {"baseline", 0, 0, G_OPTION_ARG_FILENAME, &baseline,
         "Flag significant changes against an earlier sweep.json or summary.json", "FILE"},
        {"no-plots", 0, 0, G_OPTION_ARG_NONE, &no_plots, "Do not render plots", NULL},
        {"no-report", 0, 0, G_OPTION_ARG_NONE, &no_report, "Do not write report.html", NULL},
        {"quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print nothing but errors", NULL},
        {NULL},
    };
    GOptionContext *ctx = g_option_context_new("DIR [MORE_DIRS...] - merge a sweep's runs");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_summary(
        ctx, "Gathers the per-run results of a sweep (DIR/runs/, and the runs/ of\n"
             "any further folder holding copies from other machines) and writes\n"
             "sweep.csv, sweep.json and plots/ into DIR, exactly as `portsim sweep`\n"
             "would have. Refuses run files from another sweep plan, scenario or seed.");
    g_autofree char *description = g_strconcat(
        "Examples:\n"
        "  portsim merge /shared/sweep\n"
        "  portsim merge sweep node1/sweep node2/sweep   (copies gathered by hand)\n\n",
        exit_codes, NULL);
    g_option_context_set_description(ctx, description);
    int code = EXIT_OK;
    SimSchema *schema = NULL;
    SweepPlan *plan = NULL;
    GError *error = NULL;
    if (!cli_parse_options(ctx, &argc, &argv)) {
        code = EXIT_USAGE;
        goto out;
    }
    if (argc < 2) {
        fprintf(stderr, "portsim merge: expected a sweep folder (see --help)\n");
        code = EXIT_USAGE;
        goto out;
    }
    if (!(plan = sweep_plan_read(argv[1], &error))) {
        code = cli_report_error(error);
        goto out;
    }
    for (int i = 2; i < argc; i++) {
        g_autofree char *other_plan = g_build_filename(argv[i], "sweep-plan.json", NULL);
        if (!g_file_test(other_plan, G_FILE_TEST_EXISTS))
            continue; /* a bare copy of runs/: its files are checked one by one */
        SweepPlan *other = sweep_plan_read(argv[i], &error);
        gboolean same = other && strcmp(other->plan_id, plan->plan_id) == 0;
        sweep_plan_free(other);
        if (!same) {
            if (error == NULL)
                g_set_error(&error, SIM_ERROR, SIM_ERROR_INPUT,
                            "%s holds another sweep than %s (their sweep-plan.json differ): "
                            "refusing to merge them", argv[i], argv[1]);
            code = cli_report_error(error);
            goto out;
        }
    }
    schema = ps_schema_new();
    SweepOutputOptions opt = {.plots = !no_plots, .baseline = baseline, .quiet = quiet,
                              .no_report = no_report, .command_line = typed};
    GPtrArray *dirs = g_ptr_array_new();
    for (int i = 1; i < argc; i++)
        g_ptr_array_add(dirs, argv[i]);
    g_ptr_array_add(dirs, NULL);
    code = merge_and_report(plan, schema, (const char *const *)dirs->pdata, &opt);
    g_ptr_array_free(dirs, TRUE);
out:
    g_clear_error(&error);
    sweep_plan_free(plan);
    if (schema)
        sim_schema_free(schema);
    g_free(baseline);
    g_option_context_free(ctx);
    g_free(typed);
    return code;
}
