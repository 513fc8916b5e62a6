/* [expect]: regression gates on summary metrics. The grammar lives here
 * (one table of metrics); the loader calls expect_check_entry() through the
 * schema so a typo is an input error at load time, with its line. */
#include "json_read.h"
#include "expect.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "sim_error.h"

typedef enum {
    UNIT_RATIO,    /* a number; "0.1%" allowed */
    UNIT_COUNT,    /* a number of events */
    UNIT_DURATION, /* seconds in the summary; "10m" in bounds; "never" = +inf */
    UNIT_RATE,     /* per second; "500/s" or a bare number */
    UNIT_NUMBER,
} Unit;

typedef enum {
    FROM_OUTCOMES, /* a member of "overall" or of the scoped entity */
    FROM_POOLS,    /* the largest value of a member over port pools */
    FROM_KERNEL,   /* a member of "kernel_difference": only `portsim kernel` has it */
    FROM_NATS,     /* a member of the scoped [nat], else over every NAT (sum; times: min) */
} Source;

typedef struct {
    const char *name;
    Unit unit;
    Source source;
    const char *member; /* in summary.json */
} MetricDef;

/* Three parallel tables: the metrics, their names (for hints and docs) and
 * their help; a test checks they line up. */
static const MetricDef metrics[] = {
    {"failure_ratio", UNIT_RATIO, FROM_OUTCOMES, "failure_ratio"},
    {"first_failure", UNIT_DURATION, FROM_OUTCOMES, "first_failure_s"},
    {"attempts", UNIT_COUNT, FROM_OUTCOMES, "attempts"},
    {"successes", UNIT_COUNT, FROM_OUTCOMES, "successes"},
    {"failures", UNIT_COUNT, FROM_OUTCOMES, "failures"},
    {"carried_per_s", UNIT_RATE, FROM_OUTCOMES, "carried_per_s"},
    {"offered_per_s", UNIT_RATE, FROM_OUTCOMES, "offered_per_s"},
    {"mean_probes_per_allocation", UNIT_NUMBER, FROM_OUTCOMES, "mean_probes_per_allocation"},
    {"p99_probes", UNIT_NUMBER, FROM_POOLS, "p99_probes_per_allocation"},
    {"peak_utilization", UNIT_RATIO, FROM_POOLS, "peak_port_utilization"},
    {"kernel_first_failure_difference", UNIT_DURATION, FROM_KERNEL, "first_failure_s"},
    {"kernel_carried_difference", UNIT_RATIO, FROM_KERNEL, "steady_carried_ratio"},
    {"kernel_peak_time_wait_difference", UNIT_COUNT, FROM_KERNEL, "peak_time_wait"},
    {"nat_drops", UNIT_COUNT, FROM_NATS, "drops"},
    {"nat_first_drop", UNIT_DURATION, FROM_NATS, "first_drop_s"},
    {"nat_reclaimed", UNIT_COUNT, FROM_NATS, "reclaimed"},
    {"nat_late_successes", UNIT_COUNT, FROM_NATS, "client_late_successes"},
};

static const char *const metric_names[] = {
    "failure_ratio", "first_failure", "attempts", "successes", "failures", "carried_per_s",
    "offered_per_s", "mean_probes_per_allocation", "p99_probes", "peak_utilization",
    "kernel_first_failure_difference", "kernel_carried_difference",
    "kernel_peak_time_wait_difference", "nat_drops", "nat_first_drop", "nat_reclaimed",
    "nat_late_successes", NULL,
};

static const char *const metric_helps[] = {
    "Failed attempts / attempts (0 with no attempt): 0.001 or 0.1%.",
    "Simulated time of the first failed attempt (10m, 90s, or seconds); \"never\" when none, "
    "which compares as +infinity.",
    "Connection attempts.",
    "Attempts that got a port and connected.",
    "Attempts that failed, for any reason.",
    "Successful attempts per second of the run's duration (450/s or 450).",
    "Attempts per second of the run's duration.",
    "Ports the allocator tried per allocation, on average: the allocator's cost.",
    "99th percentile of probes per allocation, the largest over port pools.",
    "Peak ports in use / ports in the range, the largest over port pools (1 = full).",
    "portsim kernel only: |simulated - kernel| time of the first failure.",
    "portsim kernel only: |simulated - kernel| steady carried rate, relative to the kernel's "
    "(0.1 or 10%).",
    "portsim kernel only: |simulated - kernel| peak sockets in TIME_WAIT.",
    "SYNs a NAT dropped (no port, a limit, a full table): nat_drops(nat.gw) for one box, "
    "else the sum over every [nat].",
    "Simulated time of a NAT's first dropped SYN; \"never\" when none (the earliest over "
    "every [nat] when not scoped).",
    "TIME_WAIT/CLOSE entries a NAT evicted to reuse their port (reclaim = time-wait).",
    "Connections through a NAT established after a retransmitted SYN (a drop the client "
    "only saw as delay).",
    NULL,
};

G_STATIC_ASSERT(G_N_ELEMENTS(metric_names) == G_N_ELEMENTS(metrics) + 1);
G_STATIC_ASSERT(G_N_ELEMENTS(metric_helps) == G_N_ELEMENTS(metrics) + 1);

typedef enum { OP_LE, OP_LT, OP_GE, OP_GT, OP_EQ } Op;

static const struct {
    const char *text;
    Op op;
} ops[] = {
    /* two-character operators first, so "<=" is not read as "<" */
    {"<=", OP_LE}, {">=", OP_GE}, {"==", OP_EQ}, {"<", OP_LT}, {">", OP_GT},
};

typedef struct {
    const MetricDef *metric;
    char *key;        /* as written */
    char *kind;       /* scope, NULL for the whole network */
    char *name;
    Op op;
    double bound;     /* in the summary's unit (seconds, per second, ratio) */
    char *bound_text; /* as written */
    SimSection *section;
} Expectation;

struct PsExpect {
    GPtrArray *lines; /* Expectation * */
};


static const MetricDef *metric_find(const char *name)
{
    for (guint i = 0; i < G_N_ELEMENTS(metrics); i++)
        if (strcmp(metrics[i].name, name) == 0)
            return &metrics[i];
    return NULL;
}

/* "metric" or "metric(kind.name)"; the scope's name may hold dots. */
static gboolean parse_key(const char *key, const MetricDef **metric, char **kind, char **name,
                          GError **error)
{
    const char *open = strchr(key, '(');
    g_autofree char *base = g_strstrip(open ? g_strndup(key, (gsize)(open - key)) : g_strdup(key));
    *metric = metric_find(base);
    *kind = *name = NULL;
    if (*metric == NULL) {
        const char *hint = sim_schema_suggest(base, metric_names, G_N_ELEMENTS(metrics));
        g_autofree char *list = g_strjoinv(", ", (char **)metric_names);
        if (hint)
            return sim_input_error(error, "unknown metric '%s'; did you mean '%s'?", base, hint);
        return sim_input_error(error, "unknown metric '%s'; known metrics: %s", base, list);
    }
    if (open == NULL)
        return TRUE;
    gsize len = strlen(open);
    const char *dot = strchr(open, '.');
    if (open[len - 1] != ')' || dot == NULL || dot == open + 1 || dot + 1 >= open + len - 1)
        return sim_input_error(error, "expected METRIC or METRIC(KIND.NAME), as in "
                                  "peak_utilization(host.shop)");
    *kind = g_strndup(open + 1, (gsize)(dot - open - 1));
    *name = g_strndup(dot + 1, (gsize)(open + len - 1 - dot - 1));
    g_strstrip(*kind);
    g_strstrip(*name);
    if (!sim_schema_name_is_valid(*kind) || !sim_schema_name_is_valid(*name)) {
        g_clear_pointer(kind, g_free);
        g_clear_pointer(name, g_free);
        return sim_input_error(error, "expected METRIC or METRIC(KIND.NAME), as in "
                                  "peak_utilization(host.shop)");
    }
    return TRUE;
}

static gboolean parse_bound(const MetricDef *metric, const char *text, double *out,
                            GError **error)
{
    GError *err = NULL;
    gboolean ok = FALSE;
    switch (metric->unit) {
    case UNIT_DURATION: {
        if (g_ascii_strcasecmp(text, "never") == 0) {
            *out = INFINITY;
            return TRUE;
        }
        SimTime t;
        double seconds;
        /* A bare number is seconds, as in summary.json. */
        if (sim_parse_float(text, &seconds, NULL)) {
            *out = seconds;
            ok = TRUE;
        } else if ((ok = sim_parse_duration(text, &t, &err)))
            *out = sim_time_to_seconds(t);
        break;
    }
    case UNIT_RATE:
        ok = sim_parse_float(text, out, NULL) || sim_parse_rate(text, out, &err);
        break;
    case UNIT_RATIO:
        if (g_str_has_suffix(text, "%")) {
            g_autofree char *number = g_strndup(text, strlen(text) - 1);
            ok = sim_parse_float(number, out, &err);
            *out /= 100.0;
        } else
            ok = sim_parse_float(text, out, &err);
        break;
    case UNIT_COUNT:
    case UNIT_NUMBER:
        ok = sim_parse_float(text, out, &err);
        break;
    }
    if (!ok) {
        static const char *const forms[] = {
            [UNIT_RATIO] = "a ratio (0.001 or 0.1%)",
            [UNIT_COUNT] = "a count (1000)",
            [UNIT_DURATION] = "a duration (10m, 90s) or never",
            [UNIT_RATE] = "a rate (450/s or 450)",
            [UNIT_NUMBER] = "a number (1.5)",
        };
        sim_input_error(error, "bound '%s' of %s: expected %s%s%s", text, metric->name,
                    forms[metric->unit], err ? ": " : "", err ? err->message : "");
        g_clear_error(&err);
    }
    return ok;
}

static gboolean parse_value(const MetricDef *metric, const char *value, Op *op, double *bound,
                            char **bound_text, GError **error)
{
    g_autofree char *text = g_strstrip(g_strdup(value));
    for (guint i = 0; i < G_N_ELEMENTS(ops); i++) {
        if (!g_str_has_prefix(text, ops[i].text))
            continue;
        g_autofree char *rest = g_strstrip(g_strdup(text + strlen(ops[i].text)));
        if (*rest == '\0')
            break;
        if (!parse_bound(metric, rest, bound, error))
            return FALSE;
        *op = ops[i].op;
        if (bound_text)
            *bound_text = g_steal_pointer(&rest);
        return TRUE;
    }
    return sim_input_error(error, "expected a comparison and a bound: <= 0.001, < 5, >= 10m, > 0, "
                              "== 0; got '%s'", text);
}

/* The schema's check of one [expect] line. */
static gboolean check_entry(const char *key, const char *value, GError **error)
{
    const MetricDef *metric;
    char *kind = NULL, *name = NULL;
    if (!parse_key(key, &metric, &kind, &name, error))
        return FALSE;
    g_free(kind);
    g_free(name);
    Op op;
    double bound;
    return parse_value(metric, value, &op, &bound, NULL, error);
}

const SimFreeKeysDef *ps_expect_free_keys(void)
{
    static const SimFreeKeysDef def = {
        .key_form = "a metric of summary.json, for the whole network or scoped to one entity: "
                    "failure_ratio, peak_utilization(host.shop), failure_ratio(workload.surge)",
        .value_form = "a comparison (<=, <, >=, >, ==) and a bound in the metric's unit: "
                      "<= 0.001, >= 10m, == never",
        .names = metric_names,
        .helps = metric_helps,
        .check = check_entry,
    };
    return &def;
}

const SimSectionDef *ps_expect_section(void)
{
    static const SimSectionDef section = {
        "expect", FALSE,
        "Regression gates checked after `portsim run`, and at every point of `portsim sweep` "
        "against the means of its replications: one line per metric, e.g. "
        "`failure_ratio = <= 0.001`, `first_failure = >= 10m`, "
        "`peak_utilization(host.shop) = <= 0.8`. A broken line makes portsim exit with code 1 "
        "after writing its results; add one from the command line with "
        "`--set 'expect.failure_ratio=<= 0.001'`.",
        NULL, 0,
    };
    return &section;
}

/* ---- building and checking ---- */

static void expectation_free(gpointer data)
{
    Expectation *e = data;
    g_free(e->key);
    g_free(e->kind);
    g_free(e->name);
    g_free(e->bound_text);
    g_free(e);
}

PsExpect *ps_expect_new(const SimScenario *scenario, GError **error)
{
    SimSection *s = sim_scenario_find(scenario, "expect", NULL);
    if (s == NULL || sim_section_n_free_keys(s) == 0)
        return NULL;
    PsExpect *expect = g_new0(PsExpect, 1);
    expect->lines = g_ptr_array_new_with_free_func(expectation_free);
    for (guint i = 0; i < sim_section_n_free_keys(s); i++) {
        const char *key = sim_section_free_key_at(s, i);
        Expectation *e = g_new0(Expectation, 1);
        e->key = g_strdup(key);
        e->section = s;
        g_ptr_array_add(expect->lines, e);
        GError *err = NULL;
        gboolean ok = parse_key(key, &e->metric, &e->kind, &e->name, &err) &&
                      parse_value(e->metric, sim_section_text(s, key), &e->op, &e->bound,
                                  &e->bound_text, &err);
        if (ok && e->kind && !sim_scenario_find(scenario, e->kind, e->name)) {
            ok = FALSE;
            g_set_error(&err, SIM_ERROR, SIM_ERROR_INPUT, "no section [%s %s] to scope %s to",
                        e->kind, e->name, e->metric->name);
        }
        if (!ok) {
            sim_section_error(s, key, error, "%s", err->message);
            g_error_free(err);
            ps_expect_free(expect);
            return NULL;
        }
    }
    return expect;
}

void ps_expect_free(PsExpect *expect)
{
    if (expect == NULL)
        return;
    g_ptr_array_unref(expect->lines);
    g_free(expect);
}


/* A number of the summary: null means "never" for times, else no value. */
static gboolean member_value(JsonObject *obj, const MetricDef *metric, double *out)
{
    if (obj == NULL || !json_object_has_member(obj, metric->member))
        return FALSE;
    JsonNode *node = json_object_get_member(obj, metric->member);
    if (JSON_NODE_HOLDS_NULL(node)) {
        if (metric->unit != UNIT_DURATION)
            return FALSE;
        *out = INFINITY;
        return TRUE;
    }
    if (!JSON_NODE_HOLDS_VALUE(node))
        return FALSE;
    *out = json_node_get_double(node);
    return TRUE;
}

/* The entity object of a scope: "host.shop" is the member of "hosts" named
 * shop (and so on for any kind summary.json lists as KINDs). */
static JsonObject *entity_of(JsonObject *root, const char *kind, const char *name)
{
    g_autofree char *member = g_strconcat(kind, "s", NULL);
    JsonArray *array = ps_json_array(root, member);
    for (guint i = 0; array && i < json_array_get_length(array); i++) {
        JsonObject *o = ps_json_object_at(array, i);
        if (o && g_strcmp0(ps_json_string(o, "name", ""), name) == 0)
            return o;
    }
    return NULL;
}

/* The largest value over the pools of one entity, or of every host. */
static gboolean pools_max(JsonObject *entity, const MetricDef *metric, double *out, guint *n)
{
    JsonArray *pools = ps_json_array(entity, "pools");
    if (pools == NULL)
        return FALSE;
    for (guint i = 0; i < json_array_get_length(pools); i++) {
        double v;
        if (member_value(ps_json_object_at(pools, i), metric, &v) && !isnan(v)) {
            *out = *n ? MAX(*out, v) : v;
            (*n)++;
        }
    }
    return *n > 0;
}

static gboolean lookup(JsonObject *root, const Expectation *e, double *out)
{
    JsonObject *scope = e->kind ? entity_of(root, e->kind, e->name) : NULL;
    if (e->kind && scope == NULL)
        return FALSE;
    if (e->metric->source == FROM_OUTCOMES) {
        if (scope == NULL)
            scope = ps_json_object(root, "overall");
        return member_value(scope, e->metric, out);
    }
    if (e->metric->source == FROM_KERNEL)
        return member_value(ps_json_object(root, "kernel_difference"), e->metric, out);
    if (e->metric->source == FROM_NATS) {
        if (scope)
            return member_value(scope, e->metric, out);
        JsonArray *nats = ps_json_array(root, "nats");
        guint n = 0;
        for (guint i = 0; nats && i < json_array_get_length(nats); i++) {
            double v;
            if (!member_value(ps_json_object_at(nats, i), e->metric, &v))
                continue;
            *out = n == 0 ? v : e->metric->unit == UNIT_DURATION ? MIN(*out, v) : *out + v;
            n++;
        }
        return n > 0;
    }
    guint n = 0;
    if (scope)
        return pools_max(scope, e->metric, out, &n);
    JsonArray *hosts = ps_json_array(root, "hosts");
    for (guint i = 0; hosts && i < json_array_get_length(hosts); i++)
        pools_max(ps_json_object_at(hosts, i), e->metric, out, &n);
    return n > 0;
}

static gboolean holds(Op op, double v, double bound)
{
    switch (op) {
    case OP_LE:
        return v <= bound;
    case OP_LT:
        return v < bound;
    case OP_GE:
        return v >= bound;
    case OP_GT:
        return v > bound;
    case OP_EQ:
        return v == bound;
    }
    return FALSE;
}

static const char *op_text(Op op)
{
    for (guint i = 0; i < G_N_ELEMENTS(ops); i++)
        if (ops[i].op == op)
            return ops[i].text;
    return "?";
}

static void format_value(GString *out, const MetricDef *metric, double v)
{
    if (isinf(v) && metric->unit == UNIT_DURATION)
        g_string_append(out, "never");
    else if (metric->unit == UNIT_DURATION)
        g_string_append_printf(out, "%gs", v);
    else if (metric->unit == UNIT_RATE)
        g_string_append_printf(out, "%g/s", v);
    else
        g_string_append_printf(out, "%g", v);
}

gboolean ps_expect_check(const PsExpect *expect, JsonNode *summary, GString *report)
{
    JsonObject *root = summary && JSON_NODE_HOLDS_OBJECT(summary) ? json_node_get_object(summary)
                                                                   : NULL;
    gboolean all = TRUE;
    for (guint i = 0; i < expect->lines->len; i++) {
        const Expectation *e = expect->lines->pdata[i];
        double v = NAN;
        /* Kernel differences exist only where a kernel ran: a plain run
         * passes over them, saying so. */
        if (e->metric->source == FROM_KERNEL && !(root && ps_json_object(root, "kernel_difference"))) {
            if (report)
                g_string_append_printf(report, "  %-6s  %s %s %s: checked by portsim kernel\n",
                                       "skip", e->key, op_text(e->op), e->bound_text);
            continue;
        }
        /* A metric the summary lacks cannot prove the gate: broken. */
        gboolean found = root && lookup(root, e, &v) && !isnan(v);
        gboolean ok = found && holds(e->op, v, e->bound);
        all = all && ok;
        if (report == NULL)
            continue;
        g_string_append_printf(report, "  %-6s  %s %s %s: ", ok ? "ok" : "BROKEN", e->key,
                               op_text(e->op), e->bound_text);
        if (found)
            format_value(report, e->metric, v);
        else
            g_string_append(report, "no value in the summary");
        g_string_append_c(report, '\n');
    }
    return all;
}
