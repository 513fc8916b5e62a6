/* Sweep plans, run lines and per-run result files. */
#include "json_read.h"
#include "sweep_plan.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "progress.h"
#include "run.h"
#include "sim_error.h"

#define PLAN_FILE "sweep-plan.json"
#define PLAN_FORMAT 1



static double double_at(JsonObject *o, const char *member, double fallback)
{
    JsonNode *n = o && json_object_has_member(o, member) ? json_object_get_member(o, member)
                                                          : NULL;
    GType t = n && JSON_NODE_HOLDS_VALUE(n) ? json_node_get_value_type(n) : G_TYPE_INVALID;
    return t == G_TYPE_INT64 || t == G_TYPE_DOUBLE ? json_node_get_double(n) : fallback;
}

static gint64 int_at(JsonObject *o, const char *member, gint64 fallback)
{
    JsonNode *n = o && json_object_has_member(o, member) ? json_object_get_member(o, member)
                                                          : NULL;
    GType t = n && JSON_NODE_HOLDS_VALUE(n) ? json_node_get_value_type(n) : G_TYPE_INVALID;
    return t == G_TYPE_INT64 ? json_node_get_int(n) : fallback;
}

/* ---- --vary ---- */

void sweep_vary_free(gpointer data)
{
    SweepVary *v = data;
    if (v == NULL)
        return;
    g_free(v->key);
    g_ptr_array_unref(v->values);
    g_free(v);
}

/* Splits on commas outside parentheses. */
static GPtrArray *split_list(const char *text)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
    int depth = 0;
    const char *start = text;
    for (const char *p = text;; p++) {
        if (*p == '(')
            depth++;
        else if (*p == ')')
            depth--;
        if (*p == '\0' || (*p == ',' && depth == 0)) {
            g_ptr_array_add(out, g_strstrip(g_strndup(start, (gsize)(p - start))));
            if (*p == '\0')
                break;
            start = p + 1;
        }
    }
    return out;
}

/* "100/s" -> 100 and "/s". */
static gboolean number_with_unit(const char *text, double *value, const char **unit)
{
    char *end = NULL;
    errno = 0;
    *value = g_ascii_strtod(text, &end);
    if (end == text || errno != 0 || !isfinite(*value))
        return FALSE;
    *unit = end;
    return TRUE;
}

SweepVary *sweep_vary_parse(const char *arg, GError **error)
{
    const char *eq = strchr(arg, '=');
    g_autofree char *key = eq ? g_strstrip(g_strndup(arg, (gsize)(eq - arg))) : NULL;
    if (key == NULL || *key == '\0' || eq[1] == '\0') {
        sim_input_error(error, "--vary %s: expected KEY=FROM:TO:STEP or KEY=v1,v2,... as in "
                           "workload.surge.rate=100/s:1000/s:100/s", arg);
        return NULL;
    }
    SweepVary *v = g_new0(SweepVary, 1);
    v->key = g_steal_pointer(&key);
    const char *spec = eq + 1;
    gboolean is_range = strchr(spec, ':') != NULL && strchr(spec, ',') == NULL &&
                        strchr(spec, '(') == NULL;
    if (!is_range) {
        v->values = split_list(spec);
        for (guint i = 0; i < v->values->len; i++)
            if (*(char *)v->values->pdata[i] == '\0') {
                sim_input_error(error, "--vary %s: empty value in the list", arg);
                sweep_vary_free(v);
                return NULL;
            }
        return v;
    }
    v->values = g_ptr_array_new_with_free_func(g_free);
    g_auto(GStrv) parts = g_strsplit(spec, ":", -1);
    double from, to, step;
    const char *u_from, *u_to, *u_step;
    gboolean ok = g_strv_length(parts) == 3 && number_with_unit(parts[0], &from, &u_from) &&
                  number_with_unit(parts[1], &to, &u_to) &&
                  number_with_unit(parts[2], &step, &u_step);
    const char *why = "expected FROM:TO:STEP, three numbers with one unit, as in "
                      "100/s:1000/s:100/s or 10s:60s:10s";
    if (ok && (strcmp(u_from, u_to) != 0 || (*u_step && strcmp(u_step, u_from) != 0))) {
        ok = FALSE;
        why = "FROM, TO and STEP must have the same unit (write 100/s:1000/s:100/s, not "
              "100/s:1k/s:100/s)";
    } else if (ok && (step <= 0 || to < from)) {
        ok = FALSE;
        why = "STEP must be positive and TO at least FROM";
    } else if (ok && (to - from) / step > 10000) {
        ok = FALSE;
        why = "more than 10,000 values: use a larger STEP";
    }
    if (!ok) {
        sim_input_error(error, "--vary %s: %s", arg, why);
        sweep_vary_free(v);
        return NULL;
    }
    /* Values as from + i x step (not repeated addition, which drifts); the
     * last one may overshoot TO by rounding only. */
    guint n = (guint)floor((to - from) / step + 1e-9) + 1;
    for (guint i = 0; i < n; i++) {
        char num[G_ASCII_DTOSTR_BUF_SIZE];
        double x = from + i * step;
        /* 12 significant digits hide the binary noise of i x step */
        g_ascii_formatd(num, sizeof num, "%.12g", x);
        g_ptr_array_add(v->values, g_strconcat(num, u_from, NULL));
    }
    return v;
}

/* ---- the plan ---- */

void sweep_plan_free(SweepPlan *plan)
{
    if (plan == NULL)
        return;
    g_free(plan->dir);
    g_free(plan->origin);
    g_free(plan->name);
    g_free(plan->scenario_ini);
    if (plan->vary)
        g_ptr_array_unref(plan->vary);
    g_free(plan->plan_id);
    g_free(plan);
}

/* Point p's value index for key k: the last key varies fastest. */
static guint value_index(const SweepPlan *plan, guint point, guint k)
{
    guint stride = 1;
    for (guint j = plan->vary->len; j-- > k + 1;)
        stride *= ((SweepVary *)plan->vary->pdata[j])->values->len;
    const SweepVary *v = plan->vary->pdata[k];
    return (point / stride) % v->values->len;
}

const char *sweep_plan_point_value(const SweepPlan *plan, guint point, guint k)
{
    const SweepVary *v = plan->vary->pdata[k];
    return v->values->pdata[value_index(plan, point, k)];
}

char **sweep_plan_point_overrides(const SweepPlan *plan, guint point)
{
    char **out = g_new0(char *, plan->vary->len + 1);
    for (guint k = 0; k < plan->vary->len; k++) {
        const SweepVary *v = plan->vary->pdata[k];
        out[k] = g_strconcat(v->key, "=", sweep_plan_point_value(plan, point, k), NULL);
    }
    return out;
}

SimScenario *sweep_plan_load_point(const SweepPlan *plan, const SimSchema *schema, guint point,
                                   GError **error)
{
    g_auto(GStrv) overrides = sweep_plan_point_overrides(plan, point);
    return sim_scenario_load_data(schema, plan->scenario_ini, plan->origin,
                                  (const char *const *)overrides, error);
}

/* The plan as JSON; the id covers every member but itself and the folder,
 * so a moved folder still merges and any other change does not. */
static JsonNode *plan_json(const SweepPlan *plan, gboolean with_id)
{
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "portsim_sweep_plan");
    json_builder_add_int_value(b, PLAN_FORMAT);
    json_builder_set_member_name(b, "scenario");
    json_builder_add_string_value(b, plan->name);
    json_builder_set_member_name(b, "origin");
    json_builder_add_string_value(b, plan->origin);
    json_builder_set_member_name(b, "seed");
    json_builder_add_int_value(b, plan->seed);
    json_builder_set_member_name(b, "replications");
    json_builder_add_int_value(b, plan->replications);
    json_builder_set_member_name(b, "max_replications");
    json_builder_add_int_value(b, plan->max_replications);
    json_builder_set_member_name(b, "precision");
    json_builder_add_double_value(b, plan->precision);
    json_builder_set_member_name(b, "knee");
    json_builder_add_double_value(b, plan->knee);
    json_builder_set_member_name(b, "vary");
    json_builder_begin_array(b);
    for (guint k = 0; k < plan->vary->len; k++) {
        const SweepVary *v = plan->vary->pdata[k];
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "key");
        json_builder_add_string_value(b, v->key);
        json_builder_set_member_name(b, "values");
        json_builder_begin_array(b);
        for (guint i = 0; i < v->values->len; i++)
            json_builder_add_string_value(b, v->values->pdata[i]);
        json_builder_end_array(b);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_set_member_name(b, "points");
    json_builder_add_int_value(b, plan->points);
    json_builder_set_member_name(b, "scenario_ini");
    json_builder_add_string_value(b, plan->scenario_ini);
    if (with_id) {
        json_builder_set_member_name(b, "plan_id");
        json_builder_add_string_value(b, plan->plan_id);
    }
    json_builder_end_object(b);
    JsonNode *root = json_builder_get_root(b);
    g_object_unref(b);
    return root;
}

static char *json_text(JsonNode *node)
{
    JsonGenerator *gen = json_generator_new();
    json_generator_set_pretty(gen, TRUE);
    json_generator_set_indent(gen, 2);
    json_generator_set_root(gen, node);
    char *text = json_generator_to_data(gen, NULL);
    g_object_unref(gen);
    char *with_newline = g_strconcat(text, "\n", NULL);
    g_free(text);
    return with_newline;
}

static void plan_set_id(SweepPlan *plan)
{
    JsonNode *node = plan_json(plan, FALSE);
    g_autofree char *text = json_text(node);
    json_node_unref(node);
    g_free(plan->plan_id);
    plan->plan_id = g_compute_checksum_for_string(G_CHECKSUM_SHA256, text, -1);
}

SweepPlan *sweep_plan_new(const SimSchema *schema, const char *path,
                          const char *const *overrides, GPtrArray *vary, guint replications,
                          guint max_replications, double precision, double knee,
                          const char *dir, GError **error)
{
    SimScenario *base = sim_scenario_load_file(schema, path, overrides, error);
    if (base == NULL)
        return NULL;
    SweepPlan *plan = g_new0(SweepPlan, 1);
    plan->dir = g_strdup(dir);
    plan->origin = g_strdup(path);
    SimSection *sc = sim_scenario_find(base, "scenario", NULL);
    plan->seed = sim_section_int(sc, "seed");
    if (sim_section_has(sc, "name"))
        plan->name = g_strdup(sim_section_text(sc, "name"));
    else {
        plan->name = g_path_get_basename(path);
        if (g_str_has_suffix(plan->name, ".ini"))
            plan->name[strlen(plan->name) - 4] = '\0';
    }
    GString *ini = sim_scenario_effective_ini(base);
    plan->scenario_ini = g_string_free(ini, FALSE);
    sim_scenario_free(base);
    plan->vary = g_ptr_array_ref(vary);
    plan->points = 1;
    for (guint k = 0; k < vary->len; k++) {
        plan->points *= ((SweepVary *)vary->pdata[k])->values->len;
        if (plan->points > 100000) {
            sim_input_error(error, "--vary: more than 100,000 points in the grid");
            sweep_plan_free(plan);
            return NULL;
        }
    }
    plan->replications = replications;
    plan->max_replications = MAX(max_replications, replications);
    plan->precision = precision;
    plan->knee = knee;
    /* Every point must load: a bad value is a usage error now, not a
     * failed run later on some machine of a cluster. */
    for (guint p = 0; p < plan->points; p++) {
        GError *err = NULL;
        SimScenario *s = sweep_plan_load_point(plan, schema, p, &err);
        PsRun *run = s ? ps_run_new(s, 0, &err) : NULL;
        ps_run_free(run);
        sim_scenario_free(s);
        if (err) {
            /* The loader names the --set argument, which is the --vary value. */
            g_propagate_prefixed_error(error, err, "--vary: ");
            sweep_plan_free(plan);
            return NULL;
        }
    }
    plan_set_id(plan);
    return plan;
}

gboolean sweep_plan_write(const SweepPlan *plan, GError **error)
{
    g_autofree char *runs = g_build_filename(plan->dir, "runs", NULL);
    if (!sim_output_mkdir(runs, error))
        return FALSE;
    JsonNode *node = plan_json(plan, TRUE);
    g_autofree char *text = json_text(node);
    json_node_unref(node);
    g_autofree char *path = g_build_filename(plan->dir, PLAN_FILE, NULL);
    return sim_output_write(path, text, -1, error);
}

static gboolean bad_plan(GError **error, const char *path, const char *what)
{
    return sim_input_error(error, "%s: not a portsim sweep plan (%s)", path, what);
}

SweepPlan *sweep_plan_read(const char *dir, GError **error)
{
    g_autofree char *path = g_build_filename(dir, PLAN_FILE, NULL);
    g_autoptr(JsonParser) parser = json_parser_new();
    GError *err = NULL;
    if (!json_parser_load_from_file(parser, path, &err)) {
        sim_input_error(error, "%s: %s (is %s a sweep folder written by `portsim sweep`?)", path,
                    err->message, dir);
        g_error_free(err);
        return NULL;
    }
    JsonNode *root = json_parser_get_root(parser);
    JsonObject *o = root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
    if (o == NULL || int_at(o, "portsim_sweep_plan", 0) !=
                         PLAN_FORMAT) {
        bad_plan(error, path, "unknown format");
        return NULL;
    }
    SweepPlan *plan = g_new0(SweepPlan, 1);
    plan->dir = g_strdup(dir);
    plan->name = g_strdup(ps_json_string(o, "scenario", ""));
    plan->origin = g_strdup(ps_json_string(o, "origin", ""));
    plan->seed = int_at(o, "seed", 0);
    plan->replications = (guint)int_at(o, "replications", 0);
    plan->max_replications =
        (guint)int_at(o, "max_replications", 0);
    plan->precision = double_at(o, "precision", 0);
    plan->knee = double_at(o, "knee", 0.001);
    plan->scenario_ini = g_strdup(ps_json_string(o, "scenario_ini", ""));
    plan->points = (guint)int_at(o, "points", 0);
    plan->vary = g_ptr_array_new_with_free_func(sweep_vary_free);
    JsonArray *vary = ps_json_array(o, "vary");
    guint points = 1;
    for (guint k = 0; vary && k < json_array_get_length(vary); k++) {
        JsonObject *vo = ps_json_object_at(vary, k);
        JsonArray *values = ps_json_array(vo, "values");
        if (values == NULL || json_array_get_length(values) == 0)
            break;
        gboolean strings = TRUE;
        for (guint i = 0; i < json_array_get_length(values); i++) {
            JsonNode *n = json_array_get_element(values, i);
            strings = strings && JSON_NODE_HOLDS_VALUE(n) &&
                      json_node_get_value_type(n) == G_TYPE_STRING;
        }
        if (!strings)
            break;
        SweepVary *v = g_new0(SweepVary, 1);
        v->key = g_strdup(ps_json_string(vo, "key", ""));
        v->values = g_ptr_array_new_with_free_func(g_free);
        for (guint i = 0; i < json_array_get_length(values); i++)
            g_ptr_array_add(v->values, g_strdup(json_array_get_string_element(values, i)));
        g_ptr_array_add(plan->vary, v);
        points *= v->values->len;
    }
    plan_set_id(plan);
    const char *id = ps_json_string(o, "plan_id", "");
    if (vary == NULL || plan->vary->len != json_array_get_length(vary) ||
        points != plan->points || plan->replications == 0 ||
        plan->max_replications < plan->replications || *plan->scenario_ini == '\0' ||
        strcmp(id, plan->plan_id) != 0) {
        bad_plan(error, path, "it was changed or is incomplete: its plan_id does not match");
        sweep_plan_free(plan);
        return NULL;
    }
    return plan;
}

/* ---- run lines ---- */

char *sweep_run_line(const SweepPlan *plan, const SweepRun *run)
{
    /* An absolute folder: a cluster's job starts in some other directory. */
    g_autofree char *dir = g_canonicalize_filename(plan->dir, NULL);
    return g_strdup_printf("%06u %u %u %" G_GINT64_FORMAT " %s", run->run, run->point,
                           run->replication, plan->seed, dir);
}

gboolean sweep_run_line_parse(const char *line, char **dir, SweepRun *run, GError **error)
{
    /* The folder is the rest of the line, so it may hold spaces. */
    g_autofree char *text = g_strstrip(g_strdup(line));
    guint64 f[4];
    const char *p = text;
    for (int i = 0; i < 4; i++) {
        char *end = NULL;
        errno = 0;
        f[i] = g_ascii_strtoull(p, &end, 10);
        if (end == p || errno || (*end != ' ' && *end != '\t') || f[i] > G_MAXUINT) {
            return sim_input_error(error, "run line '%s': expected RUN POINT REPLICATION SEED DIR, "
                                      "as printed by `portsim sweep --emit-runs`", line);
        }
        p = end;
        while (*p == ' ' || *p == '\t')
            p++;
    }
    if (*p == '\0')
        return sim_input_error(error, "run line '%s': the sweep folder is missing", line);
    run->run = (guint)f[0];
    run->point = (guint)f[1];
    run->replication = (guint)f[2];
    *dir = g_strdup(p);
    return TRUE;
}

char *sweep_run_path(const SweepPlan *plan, guint run_id)
{
    g_autofree char *file = g_strdup_printf("run-%06u.json", run_id);
    return g_build_filename(plan->dir, "runs", file, NULL);
}

/* ---- executing and reading runs ---- */

/* A run stops early only when the user interrupts the sweep. */
static gboolean keep_going(void *user_data, SimTime now, uint64_t events)
{
    return !cli_was_interrupted();
}

gboolean sweep_execute_run(const SweepPlan *plan, const SimSchema *schema, const SweepRun *run,
                           GError **error)
{
    if (run->point >= plan->points || run->replication >= plan->max_replications ||
        run->run != run->point * plan->max_replications + run->replication)
        return sim_input_error(error, "run %u (point %u, replication %u) is not in the plan of %s",
                           run->run, run->point, run->replication, plan->dir);
    SimScenario *s = sweep_plan_load_point(plan, schema, run->point, error);
    if (s == NULL)
        return FALSE;
    PsRun *r = ps_run_new(s, run->replication, error);
    if (r == NULL) {
        sim_scenario_free(s);
        return FALSE;
    }
    ps_run_set_progress(r, keep_going, NULL, 200);
    if (!ps_run_execute(r)) {
        ps_run_free(r);
        sim_scenario_free(s);
        g_set_error(error, SIM_ERROR, SIM_ERROR_RUNTIME, "run %06u interrupted: no result "
                    "written", run->run);
        return FALSE;
    }
    JsonNode *summary = ps_run_summary(r);
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "plan_id");
    json_builder_add_string_value(b, plan->plan_id);
    json_builder_set_member_name(b, "scenario");
    json_builder_add_string_value(b, plan->name);
    json_builder_set_member_name(b, "seed");
    json_builder_add_int_value(b, plan->seed);
    json_builder_set_member_name(b, "run");
    json_builder_add_int_value(b, run->run);
    json_builder_set_member_name(b, "point");
    json_builder_add_int_value(b, run->point);
    json_builder_set_member_name(b, "replication");
    json_builder_add_int_value(b, run->replication);
    json_builder_set_member_name(b, "summary");
    json_builder_add_value(b, summary);
    json_builder_end_object(b);
    JsonNode *root = json_builder_get_root(b);
    g_object_unref(b);
    g_autofree char *text = json_text(root);
    json_node_unref(root);
    ps_run_free(r);
    sim_scenario_free(s);
    g_autofree char *path = sweep_run_path(plan, run->run);
    return sim_output_write(path, text, -1, error);
}

JsonNode *sweep_read_run(const SweepPlan *plan, guint run_id, GError **error)
{
    g_autofree char *path = sweep_run_path(plan, run_id);
    if (!g_file_test(path, G_FILE_TEST_EXISTS))
        return NULL;
    g_autoptr(JsonParser) parser = json_parser_new();
    GError *err = NULL;
    if (!json_parser_load_from_file(parser, path, &err)) {
        sim_input_error(error, "%s: %s", path, err->message);
        g_error_free(err);
        return NULL;
    }
    JsonNode *root = json_parser_get_root(parser);
    JsonObject *o = root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
    if (o == NULL || ps_json_object(ps_json_object(o, "summary"), "overall") == NULL) {
        sim_input_error(error, "%s: not a portsim run result", path);
        return NULL;
    }
    const char *name = ps_json_string(o, "scenario", "");
    gint64 seed = int_at(o, "seed", -1);
    const char *id = ps_json_string(o, "plan_id", "");
    if (strcmp(name, plan->name) != 0) {
        sim_input_error(error, "%s: from scenario '%s', not '%s': refusing to merge it", path, name,
                    plan->name);
        return NULL;
    }
    if (seed != plan->seed) {
        sim_input_error(error, "%s: from seed %" G_GINT64_FORMAT ", not %" G_GINT64_FORMAT
                           ": refusing to merge it", path, seed, plan->seed);
        return NULL;
    }
    if (strcmp(id, plan->plan_id) != 0 ||
        int_at(o, "run", -1) != run_id) {
        sim_input_error(error, "%s: from another sweep plan (plan_id %.12s, expected %.12s): "
                           "refusing to merge it", path, id, plan->plan_id);
        return NULL;
    }
    return json_node_copy(json_object_get_member(o, "summary"));
}
