/* [timeline]: "TIME = kind.name.key=value" changes a key of a host or a
 * workload at TIME during the run.
 *
 * Each change is validated by loading the scenario again (its effective
 * text) with this change and every earlier one as overrides: the loader's
 * own checks and typed values, no second parser. At TIME the entity re-reads
 * the keys it may change from that scenario. Only keys whose new value
 * makes sense mid-run are accepted (listed in the error message). */
#include "network_internal.h"

#include <string.h>

#include "sim_error.h"

static const char *const host_runtime[] = {
    "linger0", "tw_reuse_delay", "max_tw_buckets", "tcp_syn_retries", "tcp_syn_linear_timeouts",
    NULL,
};

/* Keys of the arrival process: changing one restarts the process at TIME. */
static const char *const arrival_keys[] = {
    "arrival", "rate", "schedule", "rate_scale", "rate_min", "period",
    "peak_at", "on_rate", "on_time", "off_time", "trace_file", NULL,
};

static const char *const workload_runtime[] = {
    "hold", "closer", "delay", "jitter", "loss", "connect_timeout", "retry", "max_attempts",
    "think", NULL,
};

static gboolean in_list(const char *const *list, const char *key)
{
    for (guint i = 0; list[i]; i++)
        if (strcmp(list[i], key) == 0)
            return TRUE;
    return FALSE;
}

/* Splits "kind.name.key=value"; FALSE when it has another shape. */
static gboolean split_change(const char *text, char **kind, char **name, char **key)
{
    const char *eq = strchr(text, '=');
    if (!eq)
        return FALSE;
    g_autofree char *path = g_strstrip(g_strndup(text, (gsize)(eq - text)));
    g_auto(GStrv) parts = g_strsplit(path, ".", 3);
    if (g_strv_length(parts) != 3 || !*parts[0] || !*parts[1] || !*parts[2])
        return FALSE;
    *kind = g_strdup(parts[0]);
    *name = g_strdup(parts[1]);
    *key = g_strdup(parts[2]);
    return TRUE;
}

/* The free-keys check: shapes only (the entities are checked at build). */
static gboolean timeline_check(const char *key, const char *value, GError **error)
{
    SimTime at;
    if (!sim_parse_duration(key, &at, NULL)) {
        g_set_error(error, SIM_ERROR, SIM_ERROR_INPUT,
                    "a timeline key is the time of the change, e.g. 10m");
        return FALSE;
    }
    char *k = NULL, *n = NULL, *x = NULL;
    gboolean ok = split_change(value, &k, &n, &x);
    g_free(k), g_free(n), g_free(x);
    if (!ok)
        g_set_error(error, SIM_ERROR, SIM_ERROR_INPUT,
                    "expected KIND.NAME.KEY=VALUE, e.g. workload.surge.rate=2000/s");
    return ok;
}

static const char *const no_names[] = {NULL};

static const SimFreeKeysDef timeline_free_keys = {
    "TIME (a duration: 10m)",
    "KIND.NAME.KEY=VALUE (workload.surge.rate=2000/s)",
    no_names,
    no_names,
    timeline_check,
};

static const SimSectionDef timeline_section = {
    "timeline", FALSE,
    "Changes during the run: `TIME = KIND.NAME.KEY=VALUE` sets a key of a host or workload at "
    "TIME (one change per line; write the same time differently, 600s and 10m, for two). "
    "Workload keys: hold, closer, delay, jitter, loss, connect_timeout, retry, max_attempts, "
    "think, and the arrival keys (arrival, rate, schedule, rate_scale, ...: the arrival "
    "process restarts at TIME, open-loop workloads only). Host keys: linger0, tw_reuse_delay, "
    "max_tw_buckets, tcp_syn_retries, tcp_syn_linear_timeouts. Connections already open keep "
    "what they started with. Plots mark each change.",
    NULL, 0,
};

const SimSectionDef *ps_timeline_section(void) { return &timeline_section; }
const SimFreeKeysDef *ps_timeline_free_keys(void) { return &timeline_free_keys; }

typedef struct {
    SimTime at;
    char *text; /* "workload.w.rate=20/s" */
    char *key;
    SimScenario *after; /* the scenario with this and every earlier change */
    PsHost *host;       /* one of these two */
    PsWorkload *workload;
    guint index;
} Change;

static void change_free(gpointer p)
{
    Change *c = p;
    g_free(c->text);
    g_free(c->key);
    if (c->after)
        sim_scenario_free(c->after);
    g_free(c);
}

static gint by_time(gconstpointer a, gconstpointer b)
{
    const Change *x = *(Change *const *)a, *y = *(Change *const *)b;
    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static gpointer find_entity(GPtrArray *items, const SimSection *sec)
{
    for (guint i = 0; i < items->len; i++)
        if (*(SimSection **)items->pdata[i] == sec)
            return items->pdata[i];
    return NULL;
}

gboolean ps_timeline_build(PsNetwork *net, GError **error)
{
    net->changes = g_ptr_array_new_with_free_func(change_free);
    SimSection *tl = sim_scenario_find(net->scenario, "timeline", NULL);
    if (!tl || sim_section_n_free_keys(tl) == 0)
        return TRUE;
    for (guint i = 0; i < sim_section_n_free_keys(tl); i++) {
        const char *tkey = sim_section_free_key_at(tl, i);
        const char *value = sim_section_text(tl, tkey);
        Change *c = g_new0(Change, 1);
        c->index = i;
        g_ptr_array_add(net->changes, c);
        g_autofree char *kind = NULL, *name = NULL;
        if (!sim_parse_duration(tkey, &c->at, NULL) ||
            !split_change(value, &kind, &name, &c->key))
            return sim_section_error(tl, tkey, error, "expected TIME = KIND.NAME.KEY=VALUE");
        c->text = g_strdup(value);
        g_strstrip(c->text);
        SimSection *sec = sim_scenario_find(net->scenario, kind, name);
        if (sec && strcmp(kind, "host") == 0)
            c->host = find_entity(net->hosts, sec);
        else if (sec && strcmp(kind, "workload") == 0)
            c->workload = find_entity(net->workloads, sec);
        if (!c->host && !c->workload)
            return sim_section_error(tl, tkey, error, "no [host %s] or [workload %s]: %s", name,
                                     name, value);
        gboolean ok = c->host ? in_list(host_runtime, c->key)
                              : in_list(workload_runtime, c->key) ||
                                    (in_list(arrival_keys, c->key) && c->workload->arrival);
        if (!ok)
            return sim_section_error(tl, tkey, error,
                                     "%s.%s cannot change during a run (see `portsim list keys`, "
                                     "[timeline], for the keys that can)",
                                     kind, c->key);
    }
    g_ptr_array_sort(net->changes, by_time);
    /* Cumulative overrides, in time order. */
    GString *text = sim_scenario_effective_ini(net->scenario);
    GPtrArray *overrides = g_ptr_array_new();
    for (guint i = 0; i < net->changes->len; i++) {
        Change *c = net->changes->pdata[i];
        g_ptr_array_add(overrides, c->text);
        g_ptr_array_add(overrides, NULL);
        GError *local = NULL;
        c->after = sim_scenario_load_data(sim_scenario_schema(net->scenario), text->str,
                                          sim_scenario_origin(net->scenario),
                                          (const char *const *)overrides->pdata, &local);
        g_ptr_array_remove_index(overrides, overrides->len - 1);
        if (!c->after) {
            g_autofree char *when = sim_duration_format(c->at);
            sim_section_error(tl, NULL, error, "at %s, %s: %s", when, c->text, local->message);
            g_error_free(local);
            g_ptr_array_free(overrides, TRUE);
            g_string_free(text, TRUE);
            return FALSE;
        }
        /* The changed values must also build: a workload's retry policy,
         * its arrival process (checked by building and dropping one). */
        if (c->workload) {
            SimSection *sec = sim_scenario_find(c->after, "workload", c->workload->name);
            PsWorkload probe = *c->workload;
            probe.arrival = NULL;
            GError *bad = NULL;
            if (!ps_workload_read_runtime(&probe, sec, &bad) ||
                (c->workload->arrival &&
                 !ps_workload_build_arrival(&probe, sec, c->at, "timeline probe", &bad))) {
                g_propagate_error(error, bad);
                ps_arrival_free(probe.arrival);
                g_ptr_array_free(overrides, TRUE);
                g_string_free(text, TRUE);
                return FALSE;
            }
            ps_arrival_free(probe.arrival);
        }
    }
    g_ptr_array_free(overrides, TRUE);
    g_string_free(text, TRUE);
    return TRUE;
}

void ps_timeline_free(PsNetwork *net)
{
    if (net->changes)
        g_ptr_array_free(net->changes, TRUE);
}

static void workload_arrival_fire_restart(PsWorkload *wl, SimSection *sec, guint index)
{
    PsNetwork *net = wl->net;
    if (wl->arrival_event != SIM_EVENT_NONE)
        sim_engine_cancel(net->engine, wl->arrival_event);
    wl->arrival_event = SIM_EVENT_NONE;
    ps_arrival_free(wl->arrival);
    wl->arrival = NULL;
    g_autofree char *stream = g_strdup_printf("workload %s arrivals, change %u", wl->name, index);
    SimTime t = sim_engine_now(net->engine);
    /* Validated at build: cannot fail here. */
    ps_workload_build_arrival(wl, sec, MAX(t, wl->start), stream, NULL);
    ps_network_arrival_resume(wl);
}

static void change_fire(void *ctx, uint64_t i)
{
    PsNetwork *net = ctx;
    Change *c = net->changes->pdata[i];
    if (c->host) {
        ps_host_read_runtime(c->host, sim_scenario_find(c->after, "host", c->host->name));
        return;
    }
    SimSection *sec = sim_scenario_find(c->after, "workload", c->workload->name);
    ps_workload_read_runtime(c->workload, sec, NULL);
    if (in_list(arrival_keys, c->key))
        workload_arrival_fire_restart(c->workload, sec, (guint)i);
}

void ps_timeline_start(PsNetwork *net)
{
    for (guint i = 0; i < net->changes->len; i++) {
        Change *c = net->changes->pdata[i];
        sim_engine_at(net->engine, c->at, change_fire, net, i);
    }
}

void ps_timeline_marks(const PsNetwork *net, const PsHost *h, GArray *times, GPtrArray *labels)
{
    for (guint i = 0; net->changes && i < net->changes->len; i++) {
        const Change *c = net->changes->pdata[i];
        if (c->host != h && !(c->workload && c->workload->host == h))
            continue;
        double at = sim_time_to_seconds(c->at);
        g_array_append_val(times, at);
        g_ptr_array_add(labels, g_strdup(c->text));
    }
}

void ps_timeline_summary(const PsNetwork *net, JsonBuilder *b)
{
    json_builder_set_member_name(b, "timeline");
    json_builder_begin_array(b);
    for (guint i = 0; net->changes && i < net->changes->len; i++) {
        const Change *c = net->changes->pdata[i];
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "at_s");
        json_builder_add_double_value(b, sim_time_to_seconds(c->at));
        json_builder_set_member_name(b, "change");
        json_builder_add_string_value(b, c->text);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
}
