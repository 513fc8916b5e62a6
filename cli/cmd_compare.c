/* portsim compare: one scenario and seed under several allocators, side by
 * side. Every host's `allocator` is overridden per run; runs go in parallel
 * (-j), results are reported in the order the allocators were given, so the
 * outputs do not depend on -j. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "allocator.h"
#include "commands.h"
#include "expect.h"
#include "report.h"
#include "expect_report.h"
#include "keys.h"
#include "output.h"
#include "output_dir.h"
#include "port_trace.h"
#include "run.h"
#include "run_output.h"
#include "sim_error.h"
#include "sweep_plot.h"

#define UTIL_BINS 20 /* probes against utilization: 5% bins */

typedef struct {
    /* in */
    const char *allocator; /* the spec as given: "double-hash(table_size=64)" */
    char *klass;           /* "double-hash" */
    char *params;          /* "table_size=64", or "" */
    const char *path;
    GPtrArray *overrides; /* char*, NULL-terminated */
    char *dir;            /* DIR/runs/ALLOCATOR */
    /* out */
    GError *error;
    JsonNode *summary;
    PsPortTraceStats trace;
    double failure_ratio, carried, first_failure_s, mean_probes, p99_probes;
    GArray *fail_t, *fail_rate;        /* failures per second over time */
    double util_probes[UTIL_BINS];     /* mean probes/allocation per utilization bin */
    guint util_n[UTIL_BINS];
    gboolean expect_ok;
    GString *expect_report;
    double wall_s;
} Job;

static double member_double(JsonObject *o, const char *name)
{
    JsonNode *n = o ? json_object_get_member(o, name) : NULL;
    return n && JSON_NODE_HOLDS_VALUE(n) ? json_node_get_double(n) : NAN;
}

/* Failures per second summed over hosts, and probes per allocation binned
 * by the hosts' port utilization, from the run's time series. */
static void read_series(Job *job, PsRun *run, const SimScenario *sc)
{
    SimSeries *s = sim_engine_series(ps_run_engine(run));
    GArray *fail_cols = g_array_new(FALSE, FALSE, sizeof(int));
    GArray *host_cols = g_array_new(FALSE, FALSE, sizeof(int) * 3);
    for (guint i = 0; i < sim_scenario_n_sections(sc); i++) {
        SimSection *sec = sim_scenario_section_at(sc, i);
        if (g_strcmp0(sim_section_kind(sec), "host") != 0)
            continue;
        const char *h = sim_section_name(sec);
        g_autofree char *f = g_strconcat(h, ".failures_per_s", NULL);
        g_autofree char *u = g_strconcat(h, ".ports_in_use", NULL);
        g_autofree char *fr = g_strconcat(h, ".free_ports", NULL);
        g_autofree char *p = g_strconcat(h, ".probes_per_allocation", NULL);
        int fc = sim_series_find_column(s, f);
        if (fc >= 0)
            g_array_append_val(fail_cols, fc);
        int cols[3] = {sim_series_find_column(s, u), sim_series_find_column(s, fr),
                       sim_series_find_column(s, p)};
        if (cols[0] >= 0 && cols[1] >= 0 && cols[2] >= 0)
            g_array_append_vals(host_cols, cols, 1);
    }
    for (guint row = 0; row < sim_series_n_rows(s); row++) {
        double t = sim_time_to_seconds(sim_series_row_time(s, row));
        double f = 0;
        for (guint c = 0; c < fail_cols->len; c++)
            f += sim_series_value(s, row, (guint)g_array_index(fail_cols, int, c));
        g_array_append_val(job->fail_t, t);
        g_array_append_val(job->fail_rate, f);
        for (guint c = 0; c < host_cols->len; c++) {
            const int *cols = (const int *)host_cols->data + 3 * c;
            double used = sim_series_value(s, row, (guint)cols[0]);
            double free_ = sim_series_value(s, row, (guint)cols[1]);
            double probes = sim_series_value(s, row, (guint)cols[2]);
            if (!isfinite(probes) || used + free_ <= 0)
                continue; /* no allocation in that interval */
            int bin = (int)(used / (used + free_) * UTIL_BINS);
            bin = CLAMP(bin, 0, UTIL_BINS - 1);
            job->util_probes[bin] += probes;
            job->util_n[bin]++;
        }
    }
    g_array_free(fail_cols, TRUE);
    g_array_free(host_cols, TRUE);
}

static void run_job(gpointer data, gpointer user_data)
{
    Job *job = data;
    gboolean no_files = GPOINTER_TO_INT(user_data);
    SimSchema *schema = ps_schema_new();
    SimScenario *sc = sim_scenario_load_file(
        schema, job->path, (const char *const *)job->overrides->pdata, &job->error);
    PsRun *run = sc ? ps_run_new(sc, 0, &job->error) : NULL;
    PsExpect *expect = NULL;
    if (run)
        expect = ps_expect_new(sc, &job->error);
    if (!run || job->error)
        goto out;
    PsPortTrace *trace = ps_port_trace_attach(ps_run_network(run), ps_run_engine(run));
    if (!ps_run_execute(run)) {
        g_set_error(&job->error, SIM_ERROR, SIM_ERROR_RUNTIME, "allocator %s: run stopped early",
                    job->allocator);
        ps_port_trace_free(trace);
        goto out;
    }
    job->wall_s = ps_run_wall_seconds(run);
    ps_port_trace_stats(trace, &job->trace);
    ps_port_trace_free(trace);
    job->summary = ps_run_summary(run);
    JsonObject *root = json_node_get_object(job->summary);
    JsonObject *overall = json_object_get_object_member(root, "overall");
    job->failure_ratio = member_double(overall, "failure_ratio");
    job->carried = member_double(overall, "carried_per_s");
    job->first_failure_s = member_double(overall, "first_failure_s");
    job->mean_probes = member_double(overall, "mean_probes_per_allocation");
    /* p99 probes: the largest over pools (the worst address). */
    job->p99_probes = NAN;
    JsonArray *hosts = json_object_get_array_member(root, "hosts");
    for (guint h = 0; hosts && h < json_array_get_length(hosts); h++) {
        JsonArray *pools =
            json_object_get_array_member(json_array_get_object_element(hosts, h), "pools");
        for (guint p = 0; pools && p < json_array_get_length(pools); p++) {
            double v = member_double(json_array_get_object_element(pools, p),
                                     "p99_probes_per_allocation");
            if (isfinite(v) && !(v <= job->p99_probes))
                job->p99_probes = v;
        }
    }
    read_series(job, run, sc);
    if (!no_files &&
        !cli_write_run_files(run, sc, job->summary, job->dir, &job->error))
        goto out;
    job->expect_ok = TRUE;
    if (expect) {
        job->expect_report = g_string_new(NULL);
        job->expect_ok = ps_expect_check(expect, job->summary, job->expect_report);
    }
out:
    ps_expect_free(expect);
    ps_run_free(run);
    sim_scenario_free(sc);
    sim_schema_free(schema);
}

static void json_num(JsonBuilder *b, const char *name, double v)
{
    json_builder_set_member_name(b, name);
    if (isfinite(v))
        json_builder_add_double_value(b, v);
    else
        json_builder_add_null_value(b);
}

static char *fmt(double v, const char *spec)
{
    return isfinite(v) ? g_strdup_printf(spec, v) : g_strdup("-");
}

static void write_table(Job *jobs, guint n, GString *csv, JsonBuilder *b, gboolean quiet)
{
    g_string_append(csv, "allocator,first_failure_s,failure_ratio,carried_per_s,"
                         "mean_probes,p99_probes,reuse_median_s,reuse_p5_s,reuse_under_60s,"
                         "predict_exact,predict_window32,expect\n");
    int w = 18;
    for (guint i = 0; i < n; i++)
        w = MAX(w, (int)strlen(jobs[i].allocator));
    if (!quiet)
        printf("%-*s %10s %9s %10s %8s %8s %10s %9s %8s %8s\n", w, "allocator", "1st fail",
               "fail %", "carried/s", "probes", "p99", "reuse med", "reuse<60s", "guess=",
               "guess±16");
    json_builder_set_member_name(b, "allocators");
    json_builder_begin_array(b);
    for (guint i = 0; i < n; i++) {
        Job *j = &jobs[i];
        const PsPortTraceStats *t = &j->trace;
        /* RFC 4180 quoting: a spec with parameters has commas. */
        g_autoptr(GString) name = g_string_new(j->allocator);
        if (strpbrk(j->allocator, ",\"")) {
            g_autofree char *esc = NULL;
            g_auto(GStrv) parts = g_strsplit(j->allocator, "\"", -1);
            esc = g_strjoinv("\"\"", parts);
            g_string_printf(name, "\"%s\"", esc);
        }
        g_string_append_printf(csv, "%s,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%s\n",
                               name->str, j->first_failure_s, j->failure_ratio, j->carried,
                               j->mean_probes, j->p99_probes, t->reuse_median_s,
                               t->reuse_p5_s, t->reuse_under_60s, t->predict_exact,
                               t->predict_window, j->expect_ok ? "ok" : "BROKEN");
        if (!quiet) {
            g_autofree char *ff = fmt(j->first_failure_s, "%.1fs");
            g_autofree char *rm = fmt(t->reuse_median_s, "%.1fs");
            g_autofree char *ru = fmt(100 * t->reuse_under_60s, "%.1f%%");
            g_autofree char *pe = fmt(100 * t->predict_exact, "%.1f%%");
            g_autofree char *pw = fmt(100 * t->predict_window, "%.1f%%");
            g_autofree char *p99 = fmt(j->p99_probes, "%.0f");
            printf("%-*s %10s %8.3f%% %10.2f %8.2f %8s %10s %9s %8s %8s%s\n", w, j->allocator, ff,
                   100 * j->failure_ratio, j->carried, j->mean_probes, p99, rm, ru, pe, pw,
                   j->expect_ok ? "" : "  [expect BROKEN]");
        }
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "allocator");
        json_builder_add_string_value(b, j->allocator);
        json_num(b, "first_failure_s", j->first_failure_s);
        json_num(b, "failure_ratio", j->failure_ratio);
        json_num(b, "carried_per_s", j->carried);
        json_num(b, "mean_probes_per_allocation", j->mean_probes);
        json_num(b, "p99_probes_per_allocation", j->p99_probes);
        json_num(b, "reuse_median_s", t->reuse_median_s);
        json_num(b, "reuse_p5_s", t->reuse_p5_s);
        json_num(b, "reuse_under_60s", t->reuse_under_60s);
        json_num(b, "predict_exact", t->predict_exact);
        json_num(b, "predict_window32", t->predict_window);
        json_builder_set_member_name(b, "expect");
        json_builder_add_string_value(b, j->expect_ok ? "ok" : "BROKEN");
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
}

static void render_plots(Job *jobs, guint n, const char *dir)
{
    g_autofree char *plot_dir = g_build_filename(dir, "plots", NULL);
    GError *error = NULL;
    if (!sim_output_mkdir(plot_dir, &error)) {
        fprintf(stderr, "portsim: warning: %s\n", error->message);
        g_error_free(error);
        return;
    }
    const char **titles = g_new0(const char *, n);
    for (guint i = 0; i < n; i++)
        titles[i] = jobs[i].allocator;
    /* Same scenario, so the same sample times for every allocator. */
    guint nx = jobs[0].fail_t->len;
    for (guint i = 1; i < n; i++)
        nx = MIN(nx, jobs[i].fail_t->len);
    double *mean = g_new(double, (gsize)n * MAX(nx, UTIL_BINS));
    double *hw = g_new(double, (gsize)n * MAX(nx, UTIL_BINS));
    for (guint i = 0; i < n; i++)
        for (guint x = 0; x < nx; x++) {
            mean[i * nx + x] = g_array_index(jobs[i].fail_rate, double, x);
            hw[i * nx + x] = NAN;
        }
    SweepPlotSpec fail = {
        .name = "failures-over-time",
        .title = "Failures",
        .x_label = "time (s)",
        .y_label = "failures per second",
        .n_x = nx,
        .n_curves = n,
        .x = (const double *)jobs[0].fail_t->data,
        .mean = mean,
        .half_width = hw,
        .curve_titles = titles,
        .threshold = NAN,
        .knee_x = NAN,
        .nonnegative = TRUE,
    };
    if (nx > 0 && !sweep_plot(plot_dir, &fail, &error)) {
        fprintf(stderr, "portsim: warning: plot: %s\n", error->message);
        g_clear_error(&error);
    }
    double ux[UTIL_BINS];
    for (guint b = 0; b < UTIL_BINS; b++)
        ux[b] = (b + 0.5) * 100.0 / UTIL_BINS;
    for (guint i = 0; i < n; i++)
        for (guint b = 0; b < UTIL_BINS; b++) {
            mean[i * UTIL_BINS + b] =
                jobs[i].util_n[b] ? jobs[i].util_probes[b] / jobs[i].util_n[b] : NAN;
            hw[i * UTIL_BINS + b] = NAN;
        }
    SweepPlotSpec probes = {
        .name = "probes-vs-utilization",
        .title = "Allocator cost",
        .x_label = "ports in use, % of the range (sample rows, 5% bins)",
        .y_label = "mean probes per allocation",
        .n_x = UTIL_BINS,
        .n_curves = n,
        .x = ux,
        .mean = mean,
        .half_width = hw,
        .curve_titles = titles,
        .threshold = NAN,
        .knee_x = NAN,
        .nonnegative = TRUE,
    };
    if (!sweep_plot(plot_dir, &probes, &error)) {
        fprintf(stderr, "portsim: warning: plot: %s\n", error->message);
        g_clear_error(&error);
    }
    g_free(mean);
    g_free(hw);
    g_free(titles);
}

/* --allocators: commas outside parentheses separate the entries, so an
 * entry may carry parameters, "double-hash(table_size=64, key=1)". */
static GStrv split_specs(const char *text)
{
    GPtrArray *out = g_ptr_array_new();
    GString *cur = g_string_new(NULL);
    int depth = 0;
    for (const char *p = text;; p++) {
        if (*p == '\0' || (*p == ',' && depth == 0)) {
            g_ptr_array_add(out, g_strstrip(g_string_free(cur, FALSE)));
            if (*p == '\0')
                break;
            cur = g_string_new(NULL);
            continue;
        }
        depth += *p == '(' ? 1 : *p == ')' ? -1 : 0;
        g_string_append_c(cur, *p);
    }
    g_ptr_array_add(out, NULL);
    return (GStrv)g_ptr_array_free(out, FALSE);
}

/* "name(params)" or "name": FALSE when the parentheses are malformed. */
static gboolean parse_spec(const char *spec, char **klass, char **params)
{
    const char *open = strchr(spec, '(');
    if (!open) {
        *klass = g_strdup(spec);
        *params = g_strdup("");
        return !strchr(spec, ')');
    }
    size_t len = strlen(spec);
    if (spec[len - 1] != ')' || open == spec)
        return FALSE;
    *klass = g_strstrip(g_strndup(spec, (gsize)(open - spec)));
    *params = g_strstrip(g_strndup(open + 1, len - (gsize)(open - spec) - 2));
    return TRUE;
}

/* Host section names of the scenario, to override each one's allocator. */
static GPtrArray *host_names(const char *path, char **overrides, GError **error)
{
    SimSchema *schema = ps_schema_new();
    SimScenario *sc = sim_scenario_load_file(schema, path, (const char *const *)overrides, error);
    GPtrArray *names = NULL;
    if (sc) {
        names = g_ptr_array_new_with_free_func(g_free);
        for (guint i = 0; i < sim_scenario_n_sections(sc); i++) {
            SimSection *sec = sim_scenario_section_at(sc, i);
            if (g_strcmp0(sim_section_kind(sec), "host") == 0)
                g_ptr_array_add(names, g_strdup(sim_section_name(sec)));
        }
        sim_scenario_free(sc);
    }
    sim_schema_free(schema);
    return names;
}

int cmd_compare(int argc, char **argv)
{
    char *allocators = NULL, *out_dir = NULL, *seed = NULL;
    char **overrides = NULL;
    gint jobs_n = 0;
    gboolean quiet = FALSE, no_plots = FALSE, keep_runs = FALSE, no_report = FALSE;
    JsonNode *compare_root = NULL;
    char *typed = cli_command_line("compare", argc, argv); /* for the report */
    GOptionEntry entries[] = {
        {"allocators", 'a', 0, G_OPTION_ARG_STRING, &allocators,
         "Comma-separated allocators to compare (see `portsim list allocators`)", "A,B,C"},
        {"jobs", 'j', 0, G_OPTION_ARG_INT, &jobs_n,
         "Runs in parallel (default: the number of processors)", "N"},
        {"output", 'o', 0, G_OPTION_ARG_FILENAME, &out_dir,
         "Write results into DIR (default: results/<scenario name>-compare)", "DIR"},
        {"seed", 0, 0, G_OPTION_ARG_STRING, &seed, "Master seed for every run", "N"},
        {"set", 0, 0, G_OPTION_ARG_STRING_ARRAY, &overrides,
         "Override a key for every run: kind.name.key=value; repeatable", "KEY=VALUE"},
        {"runs", 0, 0, G_OPTION_ARG_NONE, &keep_runs,
         "Also write each run's results into DIR/runs/ALLOCATOR/", NULL},
        {"no-plots", 0, 0, G_OPTION_ARG_NONE, &no_plots, "Do not render plots", NULL},
        {"no-report", 0, 0, G_OPTION_ARG_NONE, &no_report, "Do not write report.html", NULL},
        {"quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print nothing but errors", NULL},
        {NULL},
    };
    GOptionContext *ctx = g_option_context_new("SCENARIO.ini - compare allocators");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_summary(
        ctx, "Runs the scenario with the same seed once per allocator (every host's\n"
             "`allocator` overridden) and prints: first failure, failure ratio, carried\n"
             "rate, mean and p99 probes per allocation, 4-tuple reuse distance (median,\n"
             "share under 60 s: short ones meet the peer's TIME_WAIT) and predictability\n"
             "(share of ports equal to previous + previous step toward the destination,\n"
             "and within 16 of the previous port). Writes compare.csv, compare.json,\n"
             "plots/ (failures over time; probes per allocation against utilization)\n"
             "and, with --runs, runs/ALLOCATOR/ (each run's results).");
    g_option_context_set_description(
        ctx, "Example:\n"
             "  portsim compare scenarios/flash-sale.ini --allocators "
             "linux,sequential,random,random-pick,hash,double-hash,random-increments\n"
             "  portsim compare S.ini --allocators 'double-hash(table_size=64),"
             "random-increments(max_increment=50),plugin:./libmine.so'\n\n"
             "Each entry is NAME or NAME(allocator_params); the scenario's own\n"
             "allocator_params are replaced.\n"
             "An [expect] section is checked for every allocator: any broken line gives\n"
             "exit code 1, so a CI can gate an allocator change.\n"
             "Exit codes: 0 success, 1 run-time failure or broken [expect], 2 bad usage\n"
             "or bad scenario.\n");
    int code = EXIT_OK;
    Job *jobs = NULL;
    guint n = 0;
    GError *error = NULL;
    g_auto(GStrv) names = NULL;
    GPtrArray *hosts = NULL;
    char *dir = NULL;
    GPtrArray *base = g_ptr_array_new_with_free_func(g_free);
    if (!cli_parse_options(ctx, &argc, &argv)) {
        code = EXIT_USAGE;
        goto out;
    }
    if (argc != 2 || !allocators) {
        fprintf(stderr, "portsim compare: expected one scenario file and --allocators A,B,... "
                        "(see --help)\n");
        code = EXIT_USAGE;
        goto out;
    }
    names = split_specs(allocators);
    for (char **a = names; *a; a++) {
        g_autofree char *klass = NULL, *params = NULL;
        if (!parse_spec(*a, &klass, &params)) {
            fprintf(stderr, "portsim compare: --allocators: '%s' is not NAME or "
                            "NAME(PARAMS), e.g. double-hash(table_size=64)\n", *a);
            code = EXIT_USAGE;
            goto out;
        }
        if (!ps_allocator_class_lookup(klass, argv[1], &error)) {
            fprintf(stderr, "portsim compare: --allocators: %s\n", error->message);
            code = EXIT_USAGE;
            goto out;
        }
        for (char **b = names; b < a; b++)
            if (strcmp(*a, *b) == 0) {
                fprintf(stderr, "portsim compare: --allocators: '%s' given twice\n", *a);
                code = EXIT_USAGE;
                goto out;
            }
        n++;
    }
    if (n == 0) {
        fprintf(stderr, "portsim compare: --allocators is empty\n");
        code = EXIT_USAGE;
        goto out;
    }
    if (jobs_n < 0) {
        fprintf(stderr, "portsim compare: --jobs must be at least 1\n");
        code = EXIT_USAGE;
        goto out;
    }
    for (char **o = overrides; o && *o; o++)
        g_ptr_array_add(base, g_strdup(*o));
    if (seed)
        g_ptr_array_add(base, g_strconcat("scenario.seed=", seed, NULL));
    g_ptr_array_add(base, NULL);
    hosts = host_names(argv[1], (char **)base->pdata, &error);
    if (!hosts) {
        code = cli_report_error(error);
        goto out;
    }
    {
        /* The scenario name names the default folder. */
        SimSchema *schema = ps_schema_new();
        SimScenario *sc =
            sim_scenario_load_file(schema, argv[1], (const char *const *)base->pdata, NULL);
        SimSection *scs = sc ? sim_scenario_find(sc, "scenario", NULL) : NULL;
        g_autofree char *name = cli_scenario_name(
            argv[1], scs && sim_section_has(scs, "name") ? sim_section_text(scs, "name") : NULL);
        g_autofree char *stem = g_strconcat(name, "-compare", NULL);
        dir = out_dir ? g_strdup(out_dir) : g_build_filename("results", stem, NULL);
        /* Marks the folder as portsim's, so a later compare may clear it. */
        if (sc) {
            g_autoptr(GString) ini = sim_scenario_effective_ini(sc);
            g_autofree char *p_ini = g_build_filename(dir, "scenario.effective.ini", NULL);
            if (!cli_prepare_output_dir(dir, &error) || !sim_output_mkdir(dir, &error) ||
                !sim_output_write(p_ini, ini->str, (gssize)ini->len, &error)) {
                sim_scenario_free(sc);
                sim_schema_free(schema);
                code = cli_report_error(error);
                goto out;
            }
        }
        sim_scenario_free(sc);
        sim_schema_free(schema);
    }
    jobs = g_new0(Job, n);
    for (guint i = 0; i < n; i++) {
        Job *j = &jobs[i];
        j->allocator = names[i];
        parse_spec(names[i], &j->klass, &j->params);
        j->path = argv[1];
        j->overrides = g_ptr_array_new_with_free_func(g_free);
        for (guint k = 0; k + 1 < base->len; k++)
            g_ptr_array_add(j->overrides, g_strdup(base->pdata[k]));
        /* The allocator and its parameters replace the scenario's: another
         * strategy's parameters would be refused. */
        for (guint h = 0; h < hosts->len; h++) {
            g_ptr_array_add(j->overrides, g_strdup_printf("host.%s.allocator=%s",
                                                          (char *)hosts->pdata[h], j->klass));
            g_ptr_array_add(j->overrides,
                            g_strdup_printf("host.%s.allocator_params=%s",
                                            (char *)hosts->pdata[h], j->params));
        }
        g_ptr_array_add(j->overrides, NULL);
        g_autofree char *stem = g_strdelimit(g_strdup(names[i]), "/:\\(), =", '_');
        j->dir = g_build_filename(dir, "runs", stem, NULL);
        j->fail_t = g_array_new(FALSE, FALSE, sizeof(double));
        j->fail_rate = g_array_new(FALSE, FALSE, sizeof(double));
    }
    {
        gint threads = jobs_n > 0 ? jobs_n : (gint)g_get_num_processors();
        GThreadPool *pool = g_thread_pool_new(run_job, GINT_TO_POINTER(!keep_runs),
                                              MAX(1, MIN(threads, (gint)n)), TRUE, NULL);
        for (guint i = 0; i < n; i++) {
            /* Each run's folder is cleared before the threads start. */
            if (keep_runs && !cli_prepare_output_dir(jobs[i].dir, &error)) {
                code = cli_report_error(error);
                g_thread_pool_free(pool, TRUE, TRUE);
                goto out;
            }
            g_thread_pool_push(pool, &jobs[i], NULL);
        }
        g_thread_pool_free(pool, FALSE, TRUE); /* waits for every run */
    }
    for (guint i = 0; i < n; i++)
        if (jobs[i].error) {
            g_prefix_error(&jobs[i].error, "allocator %s: ", jobs[i].allocator);
            code = cli_report_error(jobs[i].error);
            goto out;
        }
    {
        g_autoptr(GString) csv = g_string_new(NULL);
        JsonBuilder *b = json_builder_new();
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "scenario");
        json_builder_add_string_value(b, argv[1]);
        write_table(jobs, n, csv, b, quiet);
        json_builder_end_object(b);
        compare_root = json_builder_get_root(b);
        g_object_unref(b);
        g_autofree char *csv_path = g_build_filename(dir, "compare.csv", NULL);
        g_autofree char *json_path = g_build_filename(dir, "compare.json", NULL);
        gboolean ok = sim_output_write(csv_path, csv->str, (gssize)csv->len, &error) &&
                      cli_write_json(json_path, compare_root, &error);
        if (!ok) {
            code = cli_report_error(error);
            goto out;
        }
    }
    if (!no_plots)
        render_plots(jobs, n, dir);
    if (!no_report) {
        GString *expect_text = NULL;
        gboolean broken = FALSE;
        for (guint i = 0; i < n; i++) {
            if (!jobs[i].expect_report)
                continue;
            if (!expect_text)
                expect_text = g_string_new(NULL);
            g_string_append_printf(expect_text, "%s:\n%s", jobs[i].allocator,
                                   jobs[i].expect_report->str);
            broken = broken || !jobs[i].expect_ok;
        }
        g_autofree char *plot_dir = g_build_filename(dir, "plots", NULL);
        g_autofree char *report = g_build_filename(dir, "report.html", NULL);
        PsCompareReport rep = {
            .compare = compare_root,
            .plot_dir = no_plots ? NULL : plot_dir,
            .command_line = typed,
            .expect_text = expect_text ? expect_text->str : NULL,
            .expect_broken = broken,
        };
        GError *rerr = NULL;
        if (!ps_report_write_compare(report, &rep, &rerr)) {
            fprintf(stderr, "portsim: warning: report.html: %s\n", rerr->message);
            g_error_free(rerr);
        }
        if (expect_text)
            g_string_free(expect_text, TRUE);
    }
    for (guint i = 0; i < n; i++) {
        if (jobs[i].expect_report && !quiet)
            printf("[expect] %s:\n%s", jobs[i].allocator, jobs[i].expect_report->str);
        if (!jobs[i].expect_ok) {
            fprintf(stderr, "portsim compare: [expect] broken for allocator %s\n",
                    jobs[i].allocator);
            code = EXIT_RUNTIME;
        }
    }
    if (!quiet)
        printf("Results: %s/ (compare.csv, compare.json%s%s)\n", dir,
               no_plots ? "" : ", plots/", keep_runs ? ", runs/" : "");
out:
    if (compare_root)
        json_node_unref(compare_root);
    g_free(typed);
    for (guint i = 0; jobs && i < n; i++) {
        Job *j = &jobs[i];
        g_ptr_array_free(j->overrides, TRUE);
        g_free(j->dir);
        g_free(j->klass);
        g_free(j->params);
        g_clear_error(&j->error);
        if (j->summary)
            json_node_unref(j->summary);
        if (j->expect_report)
            g_string_free(j->expect_report, TRUE);
        g_array_free(j->fail_t, TRUE);
        g_array_free(j->fail_rate, TRUE);
    }
    g_free(jobs);
    if (hosts)
        g_ptr_array_free(hosts, TRUE);
    g_ptr_array_free(base, TRUE);
    g_free(dir);
    g_clear_error(&error);
    g_option_context_free(ctx);
    g_free(allocators);
    g_free(out_dir);
    g_free(seed);
    g_strfreev(overrides);
    return code;
}
