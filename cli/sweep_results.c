/* Sweep merge: means, intervals, knee, theory overlay, outputs. */
#include "json_read.h"
#include "sweep_results.h"

#include "report.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "confidence.h"
#include "expect.h"
#include "output.h"
#include "sim_error.h"
#include "sweep_plot.h"
#include "theory.h"

struct SweepResults {
    guint points;
    guint max_replications;
    GPtrArray **runs; /* per point: JsonNode * summary per replication, NULL when absent */
};

/* The metrics a sweep reports per point (from each run's summary.json). */
typedef enum {
    M_FAILURE_RATIO,
    M_FIRST_FAILURE,
    M_PEAK_UTILIZATION,
    M_CARRIED,
    M_OFFERED,
    M_PROBES,
    M_N,
} Metric;

static const char *const metric_names[M_N] = {
    "failure_ratio", "first_failure_s", "peak_utilization", "carried_per_s", "offered_per_s",
    "mean_probes_per_allocation",
};

static const char *const metric_titles[M_N] = {
    "failure ratio", "first failure (s)", "peak port utilization", "carried (connections/s)",
    "offered (connections/s)", "probes per allocation",
};

/* ---- collecting ---- */

void sweep_results_free(SweepResults *results)
{
    if (results == NULL)
        return;
    for (guint p = 0; p < results->points; p++)
        g_ptr_array_unref(results->runs[p]);
    g_free(results->runs);
    g_free(results);
}

static void node_unref0(gpointer node)
{
    if (node)
        json_node_unref(node);
}

static guint collect_threads = 1;

void sweep_results_set_threads(guint threads) { collect_threads = MAX(threads, 1); }

/* One folder's reading: the run ids still missing, read by several threads
 * at once into their own slots; errors are kept per run so the one
 * reported is that of the lowest run id, as when reading in order. */
typedef struct {
    const SweepPlan *view;
    guint *ids;
    JsonNode **nodes;
    GError **errors;
    guint n;
    gint next; /* atomic: the next index to read */
} CollectJob;

static gpointer collect_worker(gpointer data)
{
    CollectJob *job = data;
    for (;;) {
        guint i = (guint)g_atomic_int_add(&job->next, 1);
        if (i >= job->n)
            return NULL;
        job->nodes[i] = sweep_read_run(job->view, job->ids[i], &job->errors[i]);
    }
}

SweepResults *sweep_results_collect(const SweepPlan *plan, const char *const *dirs,
                                    GError **error)
{
    SweepResults *r = g_new0(SweepResults, 1);
    r->points = plan->points;
    r->max_replications = plan->max_replications;
    r->runs = g_new0(GPtrArray *, plan->points);
    const char *own[] = {plan->dir, NULL};
    if (dirs == NULL || dirs[0] == NULL)
        dirs = own;
    for (guint p = 0; p < plan->points; p++) {
        r->runs[p] = g_ptr_array_new_full(plan->max_replications, node_unref0);
        g_ptr_array_set_size(r->runs[p], (gint)plan->max_replications);
    }
    /* A plan with the same id read from each folder finds that folder's
     * files; the first copy of a run wins (they are identical). */
    guint total = plan->points * plan->max_replications;
    for (const char *const *d = dirs; *d; d++) {
        SweepPlan view = *plan;
        view.dir = (char *)*d;
        CollectJob job = {.view = &view, .ids = g_new(guint, total)};
        for (guint p = 0; p < plan->points; p++)
            for (guint rep = 0; rep < plan->max_replications; rep++)
                if (!r->runs[p]->pdata[rep])
                    job.ids[job.n++] = p * plan->max_replications + rep;
        job.nodes = g_new0(JsonNode *, MAX(job.n, 1));
        job.errors = g_new0(GError *, MAX(job.n, 1));
        guint extra = MIN(collect_threads, job.n) > 1 ? MIN(collect_threads, job.n) - 1 : 0;
        GThread **threads = g_new(GThread *, MAX(extra, 1));
        for (guint t = 0; t < extra; t++)
            threads[t] = g_thread_new("collect", collect_worker, &job);
        collect_worker(&job);
        for (guint t = 0; t < extra; t++)
            g_thread_join(threads[t]);
        g_free(threads);
        GError *first = NULL;
        for (guint i = 0; i < job.n; i++) {
            guint id = job.ids[i];
            if (job.errors[i] && !first)
                first = g_steal_pointer(&job.errors[i]);
            g_clear_error(&job.errors[i]);
            r->runs[id / plan->max_replications]->pdata[id % plan->max_replications] = job.nodes[i];
        }
        g_free(job.ids);
        g_free(job.nodes);
        g_free(job.errors);
        if (first) {
            g_propagate_error(error, first);
            sweep_results_free(r);
            return NULL;
        }
    }
    return r;
}

guint sweep_results_replications(const SweepResults *results, guint point)
{
    guint n = 0;
    while (n < results->max_replications && results->runs[point]->pdata[n])
        n++;
    return n;
}

GArray *sweep_results_missing(const SweepResults *results, const SweepPlan *plan)
{
    GArray *missing = g_array_new(FALSE, FALSE, sizeof(guint));
    for (guint p = 0; p < plan->points; p++)
        for (guint rep = 0; rep < plan->replications; rep++)
            if (results->runs[p]->pdata[rep] == NULL) {
                guint id = p * plan->max_replications + rep;
                g_array_append_val(missing, id);
            }
    return missing;
}

/* ---- metrics ---- */




static double number_member(JsonObject *o, const char *member)
{
    if (o == NULL || !json_object_has_member(o, member))
        return NAN;
    JsonNode *n = json_object_get_member(o, member);
    return JSON_NODE_HOLDS_VALUE(n) ? json_node_get_double(n) : NAN;
}

static double metric_of(JsonNode *summary, Metric m)
{
    JsonObject *root = JSON_NODE_HOLDS_OBJECT(summary) ? json_node_get_object(summary) : NULL;
    JsonObject *overall = ps_json_object(root, "overall");
    switch (m) {
    case M_FAILURE_RATIO:
        return number_member(overall, "failure_ratio");
    case M_FIRST_FAILURE:
        return number_member(overall, "first_failure_s"); /* NAN: never */
    case M_CARRIED:
        return number_member(overall, "carried_per_s");
    case M_OFFERED:
        return number_member(overall, "offered_per_s");
    case M_PROBES:
        return number_member(overall, "mean_probes_per_allocation");
    case M_PEAK_UTILIZATION: {
        double best = NAN;
        JsonArray *hosts = ps_json_array(root, "hosts");
        for (guint h = 0; hosts && h < json_array_get_length(hosts); h++) {
            JsonArray *pools = ps_json_array(ps_json_object_at(hosts, h), "pools");
            for (guint i = 0; pools && i < json_array_get_length(pools); i++) {
                double v = number_member(ps_json_object_at(pools, i), "peak_port_utilization");
                if (!isnan(v) && (isnan(best) || v > best))
                    best = v;
            }
        }
        return best;
    }
    case M_N:
        break;
    }
    return NAN;
}

static SimInterval point_interval(const SweepResults *r, guint point, Metric m)
{
    guint n = sweep_results_replications(r, point);
    double *v = g_new(double, MAX(n, 1));
    for (guint i = 0; i < n; i++)
        v[i] = metric_of(r->runs[point]->pdata[i], m);
    SimInterval iv = sim_interval_of(v, n);
    g_free(v);
    return iv;
}

gboolean sweep_results_needs_more(const SweepResults *results, const SweepPlan *plan,
                                  guint point)
{
    guint n = sweep_results_replications(results, point);
    if (plan->precision <= 0 || n >= plan->max_replications)
        return FALSE;
    SimInterval iv = point_interval(results, point, M_FAILURE_RATIO);
    /* Fewer than 2: no interval yet. */
    return isnan(iv.half_width) || iv.half_width > plan->precision;
}

/* The mean of every number across replications, member by member: the
 * summary [expect] is checked against at each point. Nulls (a first failure
 * that never came) count only when every replication has one. */
static JsonNode *mean_tree(JsonNode **nodes, guint n)
{
    JsonNode *first = nodes[0];
    if (JSON_NODE_HOLDS_OBJECT(first)) {
        JsonObject *out = json_object_new();
        JsonObject *o0 = json_node_get_object(first);
        g_autoptr(GList) members = json_object_get_members(o0);
        JsonNode **kids = g_new(JsonNode *, n);
        for (GList *l = members; l; l = l->next) {
            guint k = 0;
            for (guint i = 0; i < n; i++) {
                JsonObject *oi = JSON_NODE_HOLDS_OBJECT(nodes[i]) ? json_node_get_object(nodes[i])
                                                                   : NULL;
                if (oi && json_object_has_member(oi, l->data))
                    kids[k++] = json_object_get_member(oi, l->data);
            }
            json_object_set_member(out, l->data, mean_tree(kids, k));
        }
        g_free(kids);
        JsonNode *node = json_node_new(JSON_NODE_OBJECT);
        json_node_take_object(node, out);
        return node;
    }
    if (JSON_NODE_HOLDS_ARRAY(first)) {
        JsonArray *out = json_array_new();
        guint len = json_array_get_length(json_node_get_array(first));
        JsonNode **kids = g_new(JsonNode *, n);
        for (guint e = 0; e < len; e++) {
            guint k = 0;
            for (guint i = 0; i < n; i++) {
                JsonArray *ai = JSON_NODE_HOLDS_ARRAY(nodes[i]) ? json_node_get_array(nodes[i])
                                                                 : NULL;
                if (ai && e < json_array_get_length(ai))
                    kids[k++] = json_array_get_element(ai, e);
            }
            json_array_add_element(out, mean_tree(kids, k));
        }
        g_free(kids);
        JsonNode *node = json_node_new(JSON_NODE_ARRAY);
        json_node_take_array(node, out);
        return node;
    }
    double sum = 0;
    guint count = 0;
    gboolean numeric = FALSE;
    for (guint i = 0; i < n; i++) {
        if (JSON_NODE_HOLDS_VALUE(nodes[i]) &&
            json_node_get_value_type(nodes[i]) != G_TYPE_STRING &&
            json_node_get_value_type(nodes[i]) != G_TYPE_BOOLEAN) {
            sum += json_node_get_double(nodes[i]);
            count++;
            numeric = TRUE;
        }
    }
    if (numeric) {
        JsonNode *node = json_node_new(JSON_NODE_VALUE);
        json_node_set_double(node, sum / count);
        return node;
    }
    return json_node_copy(first);
}

/* ---- the knee ---- */

typedef struct {
    gboolean found;
    gboolean below_first; /* already above the threshold at the first point */
    double x, lo, hi;     /* lo/hi: NAN when that bound is outside the sweep */
} Knee;

/* Where y crosses `threshold` going up, by linear interpolation; NAN when
 * it never does; -INFINITY when it starts at or above it. */
static double crossing(const double *x, const double *y, guint n, double threshold)
{
    if (n == 0)
        return NAN;
    if (y[0] >= threshold)
        return -INFINITY;
    for (guint i = 1; i < n; i++)
        if (y[i] >= threshold) {
            double f = (threshold - y[i - 1]) / (y[i] - y[i - 1]);
            return x[i - 1] + f * (x[i] - x[i - 1]);
        }
    return NAN;
}

static Knee knee_of(const double *x, const SimInterval *iv, guint n, double threshold)
{
    Knee k = {0};
    double *mean = g_new(double, n), *upper = g_new(double, n), *lower = g_new(double, n);
    for (guint i = 0; i < n; i++) {
        double hw = isnan(iv[i].half_width) ? 0 : iv[i].half_width;
        mean[i] = iv[i].mean;
        upper[i] = iv[i].mean + hw; /* crosses first: the low end of the knee */
        lower[i] = iv[i].mean - hw;
    }
    double c = crossing(x, mean, n, threshold);
    k.found = !isnan(c) && isfinite(c);
    k.below_first = isinf(c);
    k.x = c;
    k.lo = crossing(x, upper, n, threshold);
    k.hi = crossing(x, lower, n, threshold);
    g_free(mean);
    g_free(upper);
    g_free(lower);
    return k;
}

/* ---- writing ---- */

static void csv_number(GString *out, double v)
{
    g_string_append_c(out, ',');
    if (isfinite(v)) {
        char buf[G_ASCII_DTOSTR_BUF_SIZE];
        g_string_append(out, g_ascii_formatd(buf, sizeof buf, "%.10g", v));
    }
}

static void csv_text(GString *out, const char *text)
{
    gboolean quote = strpbrk(text, ",\"\n") != NULL;
    if (!quote) {
        g_string_append(out, text);
        return;
    }
    g_string_append_c(out, '"');
    for (const char *p = text; *p; p++) {
        if (*p == '"')
            g_string_append_c(out, '"');
        g_string_append_c(out, *p);
    }
    g_string_append_c(out, '"');
}

static void add_number(JsonBuilder *b, const char *name, double v)
{
    json_builder_set_member_name(b, name);
    if (isfinite(v))
        json_builder_add_double_value(b, v);
    else
        json_builder_add_null_value(b);
}

/* The leading number of a value ("500/s" -> 500), NAN when none. */
static double value_number(const char *text)
{
    char *end = NULL;
    double v = g_ascii_strtod(text, &end);
    return end == text ? NAN : v;
}

typedef struct {
    SimInterval iv[M_N];
    guint n;
    guint failed; /* replications with a failure */
    double erlang_b;
    gboolean expect_ok;
    char *expect_report;
} PointStats;

/* Baseline values: a sweep.json (means, sd, n per point) or a
 * summary.json (one run: a single value, no spread). */
typedef struct {
    gboolean is_sweep;
    JsonNode *root;
} Baseline;

static gboolean baseline_interval(const Baseline *bl, guint point, Metric m, SimInterval *out)
{
    JsonObject *root = json_node_get_object(bl->root); /* checked when loaded */
    if (!bl->is_sweep) {
        *out = (SimInterval){.n = 1, .mean = metric_of(bl->root, m), .sd = NAN,
                             .half_width = NAN};
        return !isnan(out->mean);
    }
    JsonObject *mo = ps_json_object(ps_json_object_at(ps_json_array(root, "points"), point), metric_names[m]);
    if (mo == NULL)
        return FALSE;
    double n = number_member(mo, "n");
    out->n = isfinite(n) && n >= 0 && n < 1e9 ? (guint)n : 0;
    out->mean = number_member(mo, "mean");
    out->sd = number_member(mo, "sd");
    out->half_width = number_member(mo, "ci95");
    return !isnan(out->mean);
}

/* Welch's test against a sweep; against a single run, whether its value
 * lies outside this point's 95% interval (a one-sample t test). */
static gboolean significant(const SimInterval *now, const SimInterval *then)
{
    if (then->n >= 2)
        return sim_means_differ(now, then);
    if (now->n < 2 || isnan(now->half_width))
        return FALSE;
    if (now->half_width == 0)
        return now->mean != then->mean;
    return fabs(now->mean - then->mean) > now->half_width;
}

static gboolean load_baseline(const char *path, Baseline *bl, GError **error)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    GError *err = NULL;
    if (!json_parser_load_from_file(parser, path, &err)) {
        g_set_error(error, SIM_ERROR, SIM_ERROR_INPUT, "--baseline %s: %s", path, err->message);
        g_error_free(err);
        return FALSE;
    }
    JsonNode *root = json_parser_get_root(parser);
    JsonObject *o = root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
    if (o && json_object_has_member(o, "points"))
        bl->is_sweep = TRUE;
    else if (o && json_object_has_member(o, "overall"))
        bl->is_sweep = FALSE;
    else {
        g_set_error(error, SIM_ERROR, SIM_ERROR_INPUT,
                    "--baseline %s: neither a sweep.json nor a summary.json", path);
        return FALSE;
    }
    bl->root = json_node_copy(root);
    return TRUE;
}

gboolean sweep_results_write(const SweepResults *results, const SweepPlan *plan,
                             const SimSchema *schema, const SweepOutputOptions *opt,
                             gboolean *expect_ok, gboolean *baseline_changed, GError **error)
{
    *expect_ok = TRUE;
    *baseline_changed = FALSE;
    guint np = plan->points;
    PointStats *ps = g_new0(PointStats, np);
    gboolean single_pool = TRUE; /* at every point */
    Baseline bl = {0};
    if (opt->baseline && !load_baseline(opt->baseline, &bl, error)) {
        g_free(ps);
        return FALSE;
    }
    g_autoptr(GString) changes = g_string_new(NULL);
    for (guint p = 0; p < np; p++) {
        ps[p].n = sweep_results_replications(results, p);
        for (int m = 0; m < M_N; m++)
            ps[p].iv[m] = point_interval(results, p, (Metric)m);
        for (guint i = 0; i < ps[p].n; i++)
            ps[p].failed += !isnan(metric_of(results->runs[p]->pdata[i], M_FIRST_FAILURE));
        ps[p].erlang_b = NAN;
        ps[p].expect_ok = TRUE;
        SimScenario *s = sweep_plan_load_point(plan, schema, p, error);
        if (s == NULL) {
            g_free(ps);
            return FALSE;
        }
        if (ps_theory_single_pool(s)) {
            g_autoptr(GPtrArray) th = ps_theory_hosts(s);
            ps[p].erlang_b = ((PsHostTheory *)th->pdata[0])->blocking_peak;
        } else
            single_pool = FALSE;
        GError *err = NULL;
        PsExpect *ex = ps_expect_new(s, &err);
        if (err) {
            g_propagate_error(error, err);
            sim_scenario_free(s);
            g_free(ps);
            return FALSE;
        }
        if (ex && ps[p].n > 0) {
            JsonNode *mean = mean_tree((JsonNode **)results->runs[p]->pdata, ps[p].n);
            GString *report = g_string_new(NULL);
            ps[p].expect_ok = ps_expect_check(ex, mean, report);
            ps[p].expect_report = g_string_free(report, FALSE);
            json_node_unref(mean);
            *expect_ok = *expect_ok && ps[p].expect_ok;
        }
        ps_expect_free(ex);
        sim_scenario_free(s);
        if (bl.root) {
            for (int m = 0; m < M_N; m++) {
                SimInterval then;
                if (baseline_interval(&bl, p, (Metric)m, &then) &&
                    significant(&ps[p].iv[m], &then)) {
                    *baseline_changed = TRUE;
                    g_string_append_printf(changes, "  point %u: %s %.6g -> %.6g (95%%)\n", p,
                                           metric_names[m], then.mean, ps[p].iv[m].mean);
                }
            }
        }
    }

    /* Curves along the first varied key, one per combination of the others. */
    const SweepVary *v0 = plan->vary->pdata[0];
    guint nx = v0->values->len, curves = np / nx;
    gboolean numeric_x = TRUE;
    double *x = g_new(double, nx);
    for (guint i = 0; i < nx; i++) {
        x[i] = value_number(v0->values->pdata[i]);
        numeric_x = numeric_x && !isnan(x[i]);
    }
    if (!numeric_x)
        for (guint i = 0; i < nx; i++)
            x[i] = i;
    Knee *knees = g_new0(Knee, curves);
    SimInterval *curve_iv = g_new(SimInterval, nx);
    for (guint c = 0; c < curves; c++) {
        for (guint i = 0; i < nx; i++)
            curve_iv[i] = ps[i * curves + c].iv[M_FAILURE_RATIO];
        knees[c] = knee_of(x, curve_iv, nx, plan->knee);
    }
    g_free(curve_iv);

    /* sweep.csv */
    GString *csv = g_string_new("point");
    for (guint k = 0; k < plan->vary->len; k++) {
        g_string_append_c(csv, ',');
        csv_text(csv, ((SweepVary *)plan->vary->pdata[k])->key);
    }
    g_string_append(csv, ",replications");
    for (int m = 0; m < M_N; m++)
        g_string_append_printf(csv, ",%s,%s_ci95", metric_names[m], metric_names[m]);
    g_string_append(csv, ",failed_replications");
    if (single_pool)
        g_string_append(csv, ",erlang_b");
    g_string_append(csv, ",expect\n");
    for (guint p = 0; p < np; p++) {
        g_string_append_printf(csv, "%u", p);
        for (guint k = 0; k < plan->vary->len; k++) {
            g_string_append_c(csv, ',');
            csv_text(csv, sweep_plan_point_value(plan, p, k));
        }
        g_string_append_printf(csv, ",%u", ps[p].n);
        for (int m = 0; m < M_N; m++) {
            csv_number(csv, ps[p].iv[m].mean);
            csv_number(csv, ps[p].iv[m].half_width);
        }
        g_string_append_printf(csv, ",%u", ps[p].failed);
        if (single_pool)
            csv_number(csv, ps[p].erlang_b);
        g_string_append_printf(csv, ",%s\n", ps[p].expect_report == NULL ? ""
                                             : ps[p].expect_ok          ? "ok"
                                                                        : "BROKEN");
    }

    /* sweep.json */
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "scenario");
    json_builder_add_string_value(b, plan->name);
    json_builder_set_member_name(b, "seed");
    json_builder_add_int_value(b, plan->seed);
    json_builder_set_member_name(b, "plan_id");
    json_builder_add_string_value(b, plan->plan_id);
    json_builder_set_member_name(b, "confidence");
    json_builder_add_string_value(b, "95% two-sided Student t over replications");
    json_builder_set_member_name(b, "vary");
    json_builder_begin_array(b);
    for (guint k = 0; k < plan->vary->len; k++)
        json_builder_add_string_value(b, ((SweepVary *)plan->vary->pdata[k])->key);
    json_builder_end_array(b);
    json_builder_set_member_name(b, "single_pool_loss_system");
    json_builder_add_boolean_value(b, single_pool);
    json_builder_set_member_name(b, "points");
    json_builder_begin_array(b);
    for (guint p = 0; p < np; p++) {
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "values");
        json_builder_begin_object(b);
        for (guint k = 0; k < plan->vary->len; k++) {
            json_builder_set_member_name(b, ((SweepVary *)plan->vary->pdata[k])->key);
            json_builder_add_string_value(b, sweep_plan_point_value(plan, p, k));
        }
        json_builder_end_object(b);
        json_builder_set_member_name(b, "replications");
        json_builder_add_int_value(b, ps[p].n);
        for (int m = 0; m < M_N; m++) {
            json_builder_set_member_name(b, metric_names[m]);
            json_builder_begin_object(b);
            add_number(b, "mean", ps[p].iv[m].mean);
            add_number(b, "ci95", ps[p].iv[m].half_width);
            add_number(b, "sd", ps[p].iv[m].sd);
            json_builder_set_member_name(b, "n");
            json_builder_add_int_value(b, ps[p].iv[m].n);
            json_builder_end_object(b);
        }
        json_builder_set_member_name(b, "failed_replications");
        json_builder_add_int_value(b, ps[p].failed);
        if (single_pool)
            add_number(b, "erlang_b", ps[p].erlang_b);
        if (ps[p].expect_report) {
            json_builder_set_member_name(b, "expect_ok");
            json_builder_add_boolean_value(b, ps[p].expect_ok);
            json_builder_set_member_name(b, "expect_report");
            json_builder_add_string_value(b, ps[p].expect_report);
        }
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_set_member_name(b, "knee");
    json_builder_begin_object(b);
    add_number(b, "threshold", plan->knee);
    json_builder_set_member_name(b, "curves");
    json_builder_begin_array(b);
    for (guint c = 0; c < curves; c++) {
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "found");
        json_builder_add_boolean_value(b, knees[c].found);
        json_builder_set_member_name(b, "above_at_first_point");
        json_builder_add_boolean_value(b, knees[c].below_first);
        add_number(b, v0->key, numeric_x ? knees[c].x : NAN);
        add_number(b, "ci95_low", numeric_x ? knees[c].lo : NAN);
        add_number(b, "ci95_high", numeric_x ? knees[c].hi : NAN);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
    json_builder_end_object(b);
    JsonNode *root = json_builder_get_root(b);
    g_object_unref(b);
    JsonGenerator *gen = json_generator_new();
    json_generator_set_pretty(gen, TRUE);
    json_generator_set_indent(gen, 2);
    json_generator_set_root(gen, root);
    char *json_raw = json_generator_to_data(gen, NULL);
    g_object_unref(gen);
    json_node_unref(root);
    g_autofree char *json = g_strconcat(json_raw, "\n", NULL);
    g_free(json_raw);

    g_autofree char *p_csv = g_build_filename(plan->dir, "sweep.csv", NULL);
    g_autofree char *p_json = g_build_filename(plan->dir, "sweep.json", NULL);
    gboolean ok = sim_output_write(p_csv, csv->str, (gssize)csv->len, error) &&
                  sim_output_write(p_json, json, -1, error);
    g_string_free(csv, TRUE);

    if (ok && opt->plots) {
        g_autofree char *plot_dir = g_build_filename(plan->dir, "plots", NULL);
        ok = sim_output_mkdir(plot_dir, error);
        static const Metric plotted[] = {M_FAILURE_RATIO, M_FIRST_FAILURE, M_PEAK_UTILIZATION};
        for (guint i = 0; ok && i < G_N_ELEMENTS(plotted); i++) {
            Metric m = plotted[i];
            SweepPlotSpec spec = {
                .name = metric_names[m],
                .title = plan->name,
                .x_label = v0->key,
                .y_label = metric_titles[m],
                .n_x = nx,
                .n_curves = curves,
                .x = x,
                .x_labels = numeric_x ? NULL : (const char *const *)v0->values->pdata,
                .theory_label = "Erlang B",
                .nonnegative = TRUE,
            };
            double *mean = g_new(double, np), *hw = g_new(double, np), *th = g_new(double, np);
            char **titles = g_new0(char *, curves + 1);
            for (guint c = 0; c < curves; c++) {
                GString *t = g_string_new(NULL);
                for (guint k = 1; k < plan->vary->len; k++)
                    g_string_append_printf(t, "%s%s=%s", k > 1 ? ", " : "",
                                           ((SweepVary *)plan->vary->pdata[k])->key,
                                           sweep_plan_point_value(plan, c, k));
                titles[c] = g_string_free(t, FALSE);
                for (guint xi = 0; xi < nx; xi++) {
                    guint p = xi * curves + c;
                    mean[c * nx + xi] = ps[p].iv[m].mean;
                    hw[c * nx + xi] = ps[p].iv[m].half_width;
                    th[c * nx + xi] = ps[p].erlang_b;
                }
            }
            spec.mean = mean;
            spec.half_width = hw;
            spec.theory = single_pool && m == M_FAILURE_RATIO ? th : NULL;
            spec.curve_titles = (const char *const *)titles;
            spec.threshold = m == M_FAILURE_RATIO ? plan->knee : NAN;
            spec.knee_x = m == M_FAILURE_RATIO && curves == 1 && knees[0].found && numeric_x
                              ? knees[0].x
                              : NAN;
            GError *perr = NULL;
            if (!sweep_plot(plot_dir, &spec, &perr)) {
                /* Plots are a courtesy: their data and script are written
                 * even without gnuplot; the numbers are in sweep.csv. */
                fprintf(stderr, "portsim: warning: %s\n", perr->message);
                g_error_free(perr);
            }
            g_free(mean);
            g_free(hw);
            g_free(th);
            g_strfreev(titles);
        }
    }

    if (ok && !opt->no_report) {
        JsonParser *parser = json_parser_new();
        if (json_parser_load_from_data(parser, json, -1, NULL)) {
            g_autofree char *plot_dir = g_build_filename(plan->dir, "plots", NULL);
            g_autofree char *report = g_build_filename(plan->dir, "report.html", NULL);
            PsSweepReport rep = {
                .sweep = json_parser_get_root(parser),
                .plot_dir = opt->plots ? plot_dir : NULL,
                .command_line = opt->command_line ? opt->command_line : "portsim sweep ...",
            };
            GError *rerr = NULL;
            if (!ps_report_write_sweep(report, &rep, &rerr)) {
                fprintf(stderr, "portsim: warning: report.html: %s\n", rerr->message);
                g_error_free(rerr);
            }
        }
        g_object_unref(parser);
    }

    if (ok && !opt->quiet) {
        printf("%-6s", "point");
        for (guint k = 0; k < plan->vary->len; k++)
            printf(" %18s", ((SweepVary *)plan->vary->pdata[k])->key);
        printf(" %5s %24s %14s%s\n", "reps", "failure ratio (95% CI)", "peak util",
               single_pool ? "       Erlang B" : "");
        for (guint p = 0; p < np; p++) {
            printf("%-6u", p);
            for (guint k = 0; k < plan->vary->len; k++)
                printf(" %18s", sweep_plan_point_value(plan, p, k));
            g_autofree char *fr = g_strdup_printf("%.4g ± %.2g", ps[p].iv[M_FAILURE_RATIO].mean,
                                                  isnan(ps[p].iv[M_FAILURE_RATIO].half_width)
                                                      ? 0
                                                      : ps[p].iv[M_FAILURE_RATIO].half_width);
            printf(" %5u %24s %14.4g", ps[p].n, fr, ps[p].iv[M_PEAK_UTILIZATION].mean);
            if (single_pool)
                printf(" %14.4g", ps[p].erlang_b);
            printf("%s\n", ps[p].expect_ok ? "" : "  [expect] BROKEN");
        }
        for (guint c = 0; c < curves; c++) {
            if (curves > 1) {
                /* which curve: the values of the other varied keys */
                printf("[");
                for (guint k = 1; k < plan->vary->len; k++)
                    printf("%s%s=%s", k > 1 ? ", " : "", ((SweepVary *)plan->vary->pdata[k])->key,
                           sweep_plan_point_value(plan, c, k));
                printf("] ");
            }
            if (knees[c].found && numeric_x) {
                g_autofree char *lo = isnan(knees[c].lo) || isinf(knees[c].lo)
                                          ? g_strdup("below the sweep")
                                          : g_strdup_printf("%.6g", knees[c].lo);
                g_autofree char *hi = isnan(knees[c].hi) ? g_strdup("above the sweep")
                                                         : g_strdup_printf("%.6g", knees[c].hi);
                printf("Knee: the failure ratio crosses %g at %s = %.6g (95%%: %s to %s)\n",
                       plan->knee, v0->key, knees[c].x, lo, hi);
            } else if (knees[c].below_first)
                printf("Knee: the failure ratio is already above %g at the first point\n",
                       plan->knee);
            else
                printf("Knee: the failure ratio stays below %g over the sweep\n", plan->knee);
        }
        printf("Results: %s/ (sweep.csv, sweep.json%s)\n", plan->dir,
               opt->plots ? ", plots/" : "");
    }
    for (guint p = 0; p < np; p++) {
        if (!ps[p].expect_ok) {
            fprintf(stderr, "portsim: [expect] broken at point %u (", p);
            for (guint k = 0; k < plan->vary->len; k++)
                fprintf(stderr, "%s%s=%s", k ? ", " : "", ((SweepVary *)plan->vary->pdata[k])->key,
                        sweep_plan_point_value(plan, p, k));
            fprintf(stderr, "):\n%s", ps[p].expect_report);
        }
        g_free(ps[p].expect_report);
    }
    if (*baseline_changed)
        fprintf(stderr, "portsim: significant changes against the baseline %s:\n%s",
                opt->baseline, changes->str);
    else if (bl.root && !opt->quiet)
        printf("Baseline %s: no significant change (95%%)\n", opt->baseline);
    if (bl.root)
        json_node_unref(bl.root);
    g_free(knees);
    g_free(x);
    g_free(ps);
    return ok;
}
