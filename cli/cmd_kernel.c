/* portsim kernel: replay a scenario on the real Linux kernel in a private
 * network namespace, run it in the simulator too, and compare. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "expect_report.h"
#include "kernel_driver.h"
#include "kernel_overlay.h"
#include "kernel_plan.h"
#include "keys.h"
#include "output.h"
#include "run.h"
#include "run_output.h"
#include "sim_error.h"

typedef struct {
    char *out_dir;
    char *seed;
    char *scale_text;
    char **overrides;
    gboolean no_plots;
} KernelOptions;

/* Per-second series of one side, row i covering (i, i+1] seconds. */
typedef struct {
    guint n;
    double *time_wait;
    double *successes;
    double first_failure_s; /* NAN when none */
} Side;

typedef struct {
    double first_failure_s, carried_per_s, peak_time_wait;
} Figures;

static void side_clear(Side *s)
{
    g_free(s->time_wait);
    g_free(s->successes);
}

static void side_init(Side *s, guint n)
{
    s->n = n;
    s->time_wait = g_new0(double, n);
    s->successes = g_new0(double, n);
    s->first_failure_s = NAN;
}

static double column_sum(const SimSeries *series, guint row, const GPtrArray *names,
                         const char *suffix)
{
    double sum = 0;
    for (guint i = 0; i < names->len; i++) {
        g_autofree char *col = g_strconcat(names->pdata[i], suffix, NULL);
        int c = sim_series_find_column(series, col);
        if (c >= 0) {
            double v = sim_series_value(series, row, (guint)c);
            sum += isfinite(v) ? v : 0;
        }
    }
    return sum;
}

/* The simulation's rows at whole seconds 1..n (the sampler runs every
 * second: the scenario's `sample` is overridden to 1s). */
static void side_from_series(Side *s, const SimSeries *series, const KrPlan *plan)
{
    for (guint r = 0; r < sim_series_n_rows(series); r++) {
        SimTime t = sim_series_row_time(series, r);
        if (t % SIM_S != 0 || t < SIM_S || t / SIM_S > (SimTime)s->n)
            continue;
        guint i = (guint)(t / SIM_S) - 1;
        s->time_wait[i] = column_sum(series, r, plan->host_names, ".time_wait") +
                          column_sum(series, r, plan->server_names, ".time_wait");
        s->successes[i] = column_sum(series, r, plan->workload_names, ".successes_per_s");
    }
}

static double json_double_or_nan(JsonObject *o, const char *member)
{
    JsonNode *n = o ? json_object_get_member(o, member) : NULL;
    return n && JSON_NODE_HOLDS_VALUE(n) ? json_node_get_double(n) : NAN;
}

static gboolean side_from_kernel(Side *s, const char *dir, GError **error)
{
    g_autofree char *p_csv = g_build_filename(dir, "kernel.csv", NULL);
    g_autofree char *p_json = g_build_filename(dir, "kernel.json", NULL);
    g_autofree char *text = NULL;
    if (!g_file_get_contents(p_csv, &text, NULL, error))
        return FALSE;
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    g_auto(GStrv) header = g_strsplit(lines[0], ",", -1);
    int c_tw = -1, c_ok = -1;
    for (int c = 0; header[c]; c++) {
        if (!strcmp(header[c], "time_wait"))
            c_tw = c;
        if (!strcmp(header[c], "successes"))
            c_ok = c;
    }
    for (guint l = 1; lines[l] && c_tw >= 0 && c_ok >= 0; l++) {
        g_auto(GStrv) f = g_strsplit(lines[l], ",", -1);
        if (g_strv_length(f) <= (guint)MAX(c_tw, c_ok))
            continue;
        guint64 t = g_ascii_strtoull(f[0], NULL, 10);
        if (t >= 1 && t <= s->n) {
            s->time_wait[t - 1] = g_ascii_strtod(f[c_tw], NULL);
            s->successes[t - 1] = g_ascii_strtod(f[c_ok], NULL);
        }
    }
    g_autoptr(JsonParser) parser = json_parser_new();
    if (!json_parser_load_from_file(parser, p_json, error))
        return FALSE;
    s->first_failure_s = json_double_or_nan(json_node_get_object(json_parser_get_root(parser)),
                                            "first_failure_s");
    return TRUE;
}

/* Successes per second over the whole TIME_WAIT periods that fit between
 * the first failure (rounded down to its second) and the end: the rate a
 * recycling pool carries, free of the partial period at the end. */
static Figures figures(const Side *s)
{
    Figures f = {s->first_failure_s, NAN, 0};
    for (guint i = 0; i < s->n; i++)
        f.peak_time_wait = fmax(f.peak_time_wait, s->time_wait[i]);
    if (!isfinite(s->first_failure_s))
        return f;
    guint start = (guint)floor(s->first_failure_s);
    guint tw = (guint)(KR_TIME_WAIT / SIM_S);
    guint periods = start < s->n ? (s->n - start) / tw : 0;
    if (periods == 0)
        return f;
    double sum = 0;
    for (guint i = start; i < start + periods * tw; i++)
        sum += s->successes[i];
    f.carried_per_s = sum / (periods * tw);
    return f;
}

static void add_metric(JsonBuilder *b, const char *name, double k, double sim)
{
    json_builder_set_member_name(b, name);
    json_builder_begin_object(b);
    const char *keys[] = {"kernel", "simulation", "difference", "relative_difference"};
    double vals[] = {k, sim, sim - k, (sim - k) / k};
    for (int i = 0; i < 4; i++) {
        json_builder_set_member_name(b, keys[i]);
        if (isfinite(vals[i]))
            json_builder_add_double_value(b, vals[i]);
        else
            json_builder_add_null_value(b);
    }
    json_builder_end_object(b);
}

static void print_row(const char *label, const char *fmt, double k, double sim)
{
    char ks[32] = "none", ss[32] = "none", ds[48] = "-";
    if (isfinite(k))
        g_snprintf(ks, sizeof ks, fmt, k);
    if (isfinite(sim))
        g_snprintf(ss, sizeof ss, fmt, sim);
    if (isfinite(k) && isfinite(sim)) {
        char d[32];
        g_snprintf(d, sizeof d, fmt, sim - k);
        if (k != 0)
            g_snprintf(ds, sizeof ds, "%s%s (%+.1f%%)", sim - k >= 0 ? "+" : "", d,
                       100 * (sim - k) / k);
        else
            g_snprintf(ds, sizeof ds, "%s%s", sim - k >= 0 ? "+" : "", d);
    }
    printf("  %-32s %12s %12s   %s\n", label, ks, ss, ds);
}

/* What [expect] can bound: absolute differences, the carried rate's
 * relative to the kernel's. */
static JsonNode *difference_summary(JsonNode *summary, const Figures *fk, const Figures *fs)
{
    JsonNode *copy = json_node_copy(summary);
    JsonObject *d = json_object_new();
    double ff = fabs(fs->first_failure_s - fk->first_failure_s);
    if (!isfinite(fk->first_failure_s) && !isfinite(fs->first_failure_s))
        ff = 0; /* neither failed: they agree */
    double carried = fabs(fs->carried_per_s - fk->carried_per_s) / fk->carried_per_s;
    if (isfinite(ff))
        json_object_set_double_member(d, "first_failure_s", ff);
    if (isfinite(carried))
        json_object_set_double_member(d, "steady_carried_ratio", carried);
    json_object_set_double_member(d, "peak_time_wait", fabs(fs->peak_time_wait - fk->peak_time_wait));
    json_object_set_object_member(json_node_get_object(copy), "kernel_difference", d);
    return copy;
}

static gboolean compare(const char *dir, const char *name, const KrPlan *plan, const Side *k,
                        const Side *sim, const char *scaled, gboolean kernel_complete,
                        gboolean plots, Figures *out_k, Figures *out_s, GError **error)
{
    Figures fk = figures(k), fs = figures(sim);
    *out_k = fk;
    *out_s = fs;
    printf("\nKernel vs simulation (difference = simulation - kernel)%s:\n",
           kernel_complete ? "" : " [kernel run interrupted: its figures cover less time]");
    printf("  %-32s %12s %12s   %s\n", "", "kernel", "simulation", "difference");
    print_row("first failure (s)", "%.2f", fk.first_failure_s, fs.first_failure_s);
    print_row("steady carried rate (/s)", "%.3f", fk.carried_per_s, fs.carried_per_s);
    print_row("peak TIME_WAIT (sockets)", "%.0f", fk.peak_time_wait, fs.peak_time_wait);
    if (!isfinite(fk.carried_per_s) || !isfinite(fs.carried_per_s))
        printf("  (steady carried rate needs a failure and one whole 60 s TIME_WAIT period "
               "after it)\n");

    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "scenario");
    json_builder_add_string_value(b, name);
    json_builder_set_member_name(b, "kernel_complete");
    json_builder_add_boolean_value(b, kernel_complete);
    json_builder_set_member_name(b, "scaled");
    json_builder_add_string_value(b, scaled);
    json_builder_set_member_name(b, "address_mapping");
    json_builder_begin_array(b);
    for (guint i = 0; i < plan->mapping->len; i++)
        json_builder_add_string_value(b, plan->mapping->pdata[i]);
    json_builder_end_array(b);
    json_builder_set_member_name(b, "carried_rate_definition");
    json_builder_add_string_value(b, "successes per second over the whole 60 s TIME_WAIT "
                                     "periods after the first failure's second");
    add_metric(b, "first_failure_s", fk.first_failure_s, fs.first_failure_s);
    add_metric(b, "steady_carried_per_s", fk.carried_per_s, fs.carried_per_s);
    add_metric(b, "peak_time_wait", fk.peak_time_wait, fs.peak_time_wait);
    json_builder_end_object(b);
    g_autoptr(JsonNode) root = json_builder_get_root(b);
    g_autofree char *p = g_build_filename(dir, "compare.json", NULL);
    if (!cli_write_json(p, root, error))
        return FALSE;

    if (!plots)
        return TRUE;
    double *t = g_new(double, k->n);
    for (guint i = 0; i < k->n; i++)
        t[i] = i + 1;
    g_autofree char *title = g_strdup_printf("%s: Linux kernel vs portsim", name);
    g_autofree char *sub = g_strdup_printf("ip_local_port_range %d-%d, tcp_tw_reuse %d%s%s",
                                           plan->range_lo, plan->range_hi, plan->tw_reuse,
                                           *scaled ? ", " : "", scaled);
    PlotKernelOverlaySpec spec = {title, sub, k->n, t, k->time_wait, sim->time_wait,
                                  k->successes, sim->successes};
    g_autofree char *plot_dir = g_build_filename(dir, "plots", NULL);
    GError *perr = NULL;
    if (!plot_kernel_overlay(plot_dir, "kernel-overlay", &spec, &perr)) {
        fprintf(stderr, "portsim: warning: %s\n", perr->message);
        g_error_free(perr);
    }
    g_free(t);
    return TRUE;
}

/* Loads the scenario with the user's overrides, a 1 s sample (the kernel is
 * sampled every second) and, when scaling, the scaled times and rates. */
static SimScenario *load(const SimSchema *schema, const char *path, const KernelOptions *opt,
                         char **extra, GError **error)
{
    g_autoptr(GPtrArray) o = g_ptr_array_new_with_free_func(g_free);
    for (char **p = opt->overrides; p && *p; p++)
        g_ptr_array_add(o, g_strdup(*p));
    if (opt->seed)
        g_ptr_array_add(o, g_strconcat("scenario.seed=", opt->seed, NULL));
    for (char **p = extra; p && *p; p++)
        g_ptr_array_add(o, g_strdup(*p));
    g_ptr_array_add(o, g_strdup("scenario.sample=1s"));
    g_ptr_array_add(o, NULL);
    return sim_scenario_load_file(schema, path, (const char *const *)o->pdata, error);
}

static const char *description =
    "Needs root or CAP_SYS_ADMIN (to create a network namespace). Inside a fresh\n"
    "namespace it brings lo up, sets net.ipv4.ip_local_port_range,\n"
    "ip_local_reserved_ports, tcp_tw_reuse, tcp_tw_reuse_delay and\n"
    "tcp_max_tw_buckets from the scenario's hosts, listens on every server\n"
    "(address, port), and opens real non-blocking sockets on each workload's\n"
    "arrival schedule (constant, poisson, schedule) with its hold times, closer,\n"
    "bind_before_connect, bind_address_no_port, local_port_range and linger0. Every\n"
    "scenario address stands for a distinct 127.x.y.z address (loopback addresses\n"
    "for themselves); the mapping is printed. The run stops by itself at the\n"
    "scenario's duration (in real time), and Ctrl-C stops it early; the namespace\n"
    "and every socket vanish with the child process that holds them.\n\n"
    "Then the same scenario runs in the simulator. The output folder gets\n"
    "  kernel.csv     per second: attempts, successes, failures by errno,\n"
    "                 established and TIME_WAIT sockets (from /proc/net/tcp)\n"
    "  ports.csv      every local port the kernel chose, in order\n"
    "  kernel.json    kernel totals, exact first failure time, sysctls\n"
    "  timeseries.csv, summary.json, scenario.effective.ini   as portsim run\n"
    "  compare.json   first failure, steady carried rate, peak TIME_WAIT:\n"
    "                 kernel, simulation and difference (also printed)\n"
    "  plots/kernel-overlay.{svg,png,gp,dat}\n\n"
    "Refused (exit 2): sections other than scenario, host, server, workload;\n"
    "IPv6 addresses; delay > 0; allocators other than linux; port_sharing other\n"
    "than per-destination; address_selection = hash; hosts with different\n"
    "ephemeral_range, reserved_ports or TIME_WAIT sysctls (they share one\n"
    "namespace); tcp_tw_reuse = 2 where only some connections are loopback; more\n"
    "than 2000 attempts/s; and a TIME_WAIT other than 60 s, which Linux fixes at\n"
    "compile time. --scale S multiplies every time of the scenario (duration,\n"
    "time_wait, hold, start, stop, schedule times) by S and divides every rate by\n"
    "S, so a scenario with time_wait = 30s runs with --scale 2; both the kernel\n"
    "and the simulation run the scaled scenario, and the output lists every\n"
    "scaled key. Without permission to create a namespace: exit 2.\n\n"
    "Examples:\n"
    "  sudo portsim kernel scenarios/kernel-100-ports.ini -o /tmp/k100\n"
    "  sudo portsim kernel my.ini --scale 2 --set scenario.duration=90s\n\n"
    "Exit codes: 0 success, 1 run-time failure or interrupted run, 2 bad usage,\n"
    "a scenario a kernel cannot replay, or no permission for a namespace.\n";

int cmd_kernel(int argc, char **argv)
{
    KernelOptions opt = {0};
    GOptionEntry entries[] = {
        {"output", 'o', 0, G_OPTION_ARG_FILENAME, &opt.out_dir,
         "Write results into DIR (default: results/<scenario name>-kernel)", "DIR"},
        {"scale", 0, 0, G_OPTION_ARG_STRING, &opt.scale_text,
         "Multiply times and divide rates by S (so TIME_WAIT becomes 60 s)", "S"},
        {"seed", 0, 0, G_OPTION_ARG_STRING, &opt.seed,
         "Master seed (same as --set scenario.seed=N)", "N"},
        {"set", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt.overrides,
         "Override a key: kind.name.key=value; repeatable", "KEY=VALUE"},
        {"no-plots", 0, 0, G_OPTION_ARG_NONE, &opt.no_plots, "Do not render the plot", NULL},
        {NULL},
    };
    GOptionContext *ctx =
        g_option_context_new("SCENARIO.ini - replay a scenario on the real Linux kernel");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_summary(
        ctx, "Replays the scenario's client hosts and servers with real sockets in a\n"
             "private network namespace, runs the same scenario in the simulator, and\n"
             "compares first failure, steady carried rate and peak TIME_WAIT.");
    g_option_context_set_description(ctx, description);

    int code = EXIT_OK;
    SimSchema *schema = NULL;
    SimScenario *scenario = NULL;
    KrPlan *plan = NULL;
    PsRun *run = NULL;
    JsonNode *summary = NULL;
    GError *error = NULL;
    char *name = NULL, *dir = NULL, *scaled_note = NULL;
    char **scale_overrides = NULL;
    GString *scaled = g_string_new(NULL);
    Side ks = {0}, ss = {0};
    double scale = 1.0;

    if (!cli_parse_options(ctx, &argc, &argv)) {
        code = EXIT_USAGE;
        goto out;
    }
    if (argc != 2) {
        fprintf(stderr, "portsim kernel: expected one scenario file, got %d (see --help)\n",
                argc - 1);
        code = EXIT_USAGE;
        goto out;
    }
    if (opt.scale_text) {
        char *end = NULL;
        scale = g_ascii_strtod(opt.scale_text, &end);
        if (!end || *end || !isfinite(scale) || scale <= 0 || scale > 1e6) {
            fprintf(stderr, "portsim kernel: --scale %s: expected a positive number such as "
                            "2 or 0.5\n", opt.scale_text);
            code = EXIT_USAGE;
            goto out;
        }
    }
    schema = ps_schema_new();
    scenario = load(schema, argv[1], &opt, NULL, &error);
    if (scenario && scale != 1.0) {
        scale_overrides = kr_scale_overrides(scenario, scale, scaled);
        sim_scenario_free(scenario);
        scenario = load(schema, argv[1], &opt, scale_overrides, &error);
    }
    if (!scenario || !(plan = kr_plan_new(scenario, &error)) ||
        !(run = ps_run_new(scenario, 0, &error))) {
        code = cli_report_error(error);
        goto out;
    }
    SimSection *sc = sim_scenario_find(scenario, "scenario", NULL);
    name = cli_scenario_name(argv[1],
                             sim_section_has(sc, "name") ? sim_section_text(sc, "name") : NULL);
    if (opt.out_dir) {
        dir = g_strdup(opt.out_dir);
    } else {
        g_autofree char *leaf = g_strconcat(name, "-kernel", NULL);
        dir = g_build_filename("results", leaf, NULL);
    }

    printf("portsim kernel: %s, %.0f s of real time\n", name,
           sim_time_to_seconds(plan->duration));
    if (scale != 1.0)
        printf("Scaled by %g (times x%g, rates /%g) so TIME_WAIT is Linux's 60 s; kernel "
               "and simulation both run:\n%s", scale, scale, scale, scaled->str);
    printf("Addresses (each scenario address is a loopback address in the namespace):\n");
    for (guint i = 0; i < plan->mapping->len; i++)
        printf("  %s\n", (char *)plan->mapping->pdata[i]);
    printf("Namespace sysctls: ip_local_port_range %d %d, ip_local_reserved_ports \"%s\", "
           "tcp_tw_reuse %d",
           plan->range_lo, plan->range_hi, plan->reserved_ports, plan->tw_reuse);
    if (plan->tw_reuse_delay_ms >= 0)
        printf(", tcp_tw_reuse_delay %d", plan->tw_reuse_delay_ms);
    if (plan->max_tw_buckets >= 0)
        printf(", tcp_max_tw_buckets %" G_GINT64_FORMAT, plan->max_tw_buckets);
    printf("\n%s", plan->notes->str);

    ps_run_execute(run);
    summary = ps_run_summary(run);
    if (!cli_write_run_files(run, scenario, summary, dir, &error)) {
        code = cli_report_error(error);
        goto out;
    }
    fflush(stdout);
    KrStatus st = kr_execute(plan, dir);
    if (st == KR_NO_PERMISSION) {
        fprintf(stderr, "portsim kernel: cannot create a network namespace "
                        "(unshare(CLONE_NEWNET): permission denied): run as root or with "
                        "CAP_SYS_ADMIN\n");
        code = EXIT_USAGE;
        goto out;
    }
    if (st == KR_FAILED) {
        fprintf(stderr, "portsim kernel: the kernel replay failed (see above)\n");
        code = EXIT_RUNTIME;
        goto out;
    }
    guint n = (guint)MAX(1, (plan->duration + SIM_S - 1) / SIM_S);
    side_init(&ks, n);
    side_init(&ss, n);
    if (!side_from_kernel(&ks, dir, &error)) {
        code = EXIT_RUNTIME;
        fprintf(stderr, "portsim kernel: %s\n", error->message);
        goto out;
    }
    side_from_series(&ss, sim_engine_series(ps_run_engine(run)), plan);
    JsonObject *overall = json_object_get_object_member(json_node_get_object(summary), "overall");
    ss.first_failure_s = json_double_or_nan(overall, "first_failure_s");
    scaled_note = scale != 1.0 ? g_strdup_printf("scaled x%g", scale) : g_strdup("");
    Figures fk, fs;
    if (!compare(dir, name, plan, &ks, &ss, scaled_note, st == KR_OK, !opt.no_plots, &fk, &fs,
                 &error)) {
        code = cli_report_error(error);
        goto out;
    }
    /* [expect] lines, kernel differences included, gate the replay. */
    PsExpect *expect = ps_expect_new(scenario, &error);
    if (!expect && error) {
        code = cli_report_error(error);
        goto out;
    }
    if (expect) {
        code = cli_check_expect(expect, difference_summary(summary, &fk, &fs), "kernel replay",
                                FALSE);
        ps_expect_free(expect);
    }
    printf("Results: %s/ (kernel.csv, ports.csv, kernel.json, compare.json, timeseries.csv, "
           "summary.json%s)\n", dir, opt.no_plots ? "" : ", plots/kernel-overlay.svg");
    if (st == KR_INTERRUPTED) {
        fprintf(stderr, "portsim kernel: interrupted: partial results in %s/\n", dir);
        code = EXIT_RUNTIME;
    }
out:
    side_clear(&ks);
    side_clear(&ss);
    if (summary)
        json_node_unref(summary);
    g_strfreev(scale_overrides);
    g_string_free(scaled, TRUE);
    g_free(name);
    g_free(dir);
    g_free(scaled_note);
    g_clear_error(&error);
    ps_run_free(run);
    kr_plan_free(plan);
    sim_scenario_free(scenario);
    if (schema)
        sim_schema_free(schema);
    g_option_context_free(ctx);
    g_free(opt.out_dir);
    g_free(opt.seed);
    g_free(opt.scale_text);
    g_strfreev(opt.overrides);
    return code;
}
