/* summary.json: what a planner reads first and what a CI gates on. */
#include "network_internal.h"
#include "json_members.h"
#include "lb.h"
#include "nat.h"

#include <math.h>





/* Attempts, outcomes and load of one entity. */
static void add_outcomes(JsonBuilder *b, const PsMetrics *m, double duration_s)
{
    gint64 attempts = m->attempts->value;
    ps_json_int(b, "attempts", attempts);
    ps_json_int(b, "successes", m->successes->value);
    ps_json_int(b, "failures", m->failures->value);
    ps_json_double(b, "failure_ratio", attempts ? (double)m->failures->value / attempts : 0.0);
    json_builder_set_member_name(b, "failures_by_reason");
    json_builder_begin_object(b);
    for (int r = 0; r < PS_FAIL_N; r++)
        ps_json_int(b, ps_fail_reason_name((PsFailReason)r), m->by_reason[r]->value);
    json_builder_end_object(b);
    ps_json_time(b, "first_failure_s", m->first_failure);
    ps_json_double(b, "offered_per_s", attempts / duration_s);
    ps_json_double(b, "carried_per_s", m->successes->value / duration_s);
    gint64 allocs = m->allocations->value;
    ps_json_double(b, "mean_probes_per_allocation",
               allocs ? (double)m->probes->value / allocs : NAN);
}

static void add_pool(JsonBuilder *b, const PsPool *pool, guint n_dests, SimTime end,
                     double duration_s)
{
    char abuf[SIM_ADDRESS_STRLEN];
    guint capacity = ps_pool_capacity(pool->ports);
    json_builder_begin_object(b);
    ps_json_string(b, "address", sim_address_format(&pool->address, abuf));
    ps_json_int(b, "capacity_ports", capacity);
    ps_json_int(b, "destinations", n_dests);
    ps_json_int(b, "capacity_tuples", (gint64)capacity * n_dests);
    ps_json_int(b, "peak_ports_in_use", pool->m.ports_in_use->max);
    ps_json_time(b, "peak_ports_in_use_at_s",
                     pool->m.ports_in_use->max > 0 ? pool->m.ports_in_use->max_at
                                                   : SIM_TIME_NEVER);
    ps_json_double(b, "peak_port_utilization", capacity ? (double)pool->m.ports_in_use->max / capacity
                                                    : NAN);
    ps_json_int(b, "peak_active_tuples", pool->m.active->max);
    ps_json_int(b, "peak_time_wait_tuples", pool->m.time_wait->max);
    ps_json_double(b, "mean_ports_in_use", sim_gauge_mean(pool->m.ports_in_use, end));
    add_outcomes(b, &pool->m, duration_s);
    ps_json_double(b, "p99_probes_per_allocation", sim_histogram_quantile(pool->probe_hist, 0.99));
    ps_json_double(b, "max_probes_per_allocation", sim_histogram_count(pool->probe_hist)
                                                   ? sim_histogram_max(pool->probe_hist)
                                                   : NAN);
    json_builder_end_object(b);
}

/* Lead time: from an alert to the first failure it warned of (null when
 * either never happened; negative when the failure came first). */
static void add_lead(JsonBuilder *b, SimTime alert, SimTime failure)
{
    json_builder_set_member_name(b, "lead_time_s");
    if (alert == SIM_TIME_NEVER || failure == SIM_TIME_NEVER)
        json_builder_add_null_value(b);
    else
        json_builder_add_double_value(b, sim_time_to_seconds(failure - alert));
}

static void add_monitor(JsonBuilder *b, const PsMonitor *m)
{
    char abuf[SIM_ADDRESS_STRLEN];
    json_builder_begin_object(b);
    ps_json_string(b, "name", m->name);
    ps_json_string(b, "host", m->host->name);
    ps_json_double(b, "utilization", m->utilization);
    ps_json_time(b, "first_alert_s", m->first_alert);
    ps_json_time(b, "first_failure_s", m->host->m.first_failure);
    add_lead(b, m->first_alert, m->host->m.first_failure);
    json_builder_set_member_name(b, "alerts");
    json_builder_begin_array(b);
    for (guint i = 0; i < m->alerts->len; i++) {
        const PsMonitorAlert *a = &g_array_index(m->alerts, PsMonitorAlert, i);
        json_builder_begin_object(b);
        ps_json_string(b, "address", sim_address_format(&a->pool->address, abuf));
        ps_json_time(b, "alert_s", a->at);
        ps_json_time(b, "first_failure_s", a->pool->m.first_failure);
        add_lead(b, a->at, a->pool->m.first_failure);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
}

JsonNode *ps_network_summary(const PsNetwork *net, SimTime duration, gboolean complete)
{
    double duration_s = sim_time_to_seconds(duration);
    SimSection *sc = sim_scenario_find(net->scenario, "scenario", NULL);
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    ps_json_string(b, "portsim_version", PORTSIM_VERSION);
    ps_json_string(b, "scenario", sim_section_has(sc, "name") ? sim_section_text(sc, "name") : "");
    ps_json_int(b, "seed", sim_section_int(sc, "seed"));
    ps_json_double(b, "duration_s", duration_s);
    json_builder_set_member_name(b, "complete");
    json_builder_add_boolean_value(b, complete);
    ps_json_int(b, "events", (gint64)sim_engine_events_run(net->engine));

    json_builder_set_member_name(b, "overall");
    json_builder_begin_object(b);
    add_outcomes(b, &net->total, duration_s);
    json_builder_end_object(b);

    json_builder_set_member_name(b, "hosts");
    json_builder_begin_array(b);
    for (guint i = 0; i < net->hosts->len; i++) {
        const PsHost *h = net->hosts->pdata[i];
        json_builder_begin_object(b);
        ps_json_string(b, "name", h->name);
        ps_json_string(b, "allocator", h->allocator_name);
        g_autofree char *range = g_strdup_printf("%lld-%lld", (long long)h->range.lo,
                                                 (long long)h->range.hi);
        ps_json_string(b, "ephemeral_range", range);
        ps_json_double(b, "time_wait_s", sim_time_to_seconds(h->time_wait));
        ps_json_int(b, "addresses", h->n_addresses);
        /* Pools are listed once used: hosts with many addresses build them
         * lazily. */
        ps_json_int(b, "pools_created", h->pools->len);
        ps_json_int(b, "tw_recycled", h->tw_recycled->value);
        ps_json_int(b, "tw_overflow", h->tw_overflow->value);
        ps_json_int(b, "listener_conflicts", h->listener_conflicts->value);
        ps_json_int(b, "peak_ports_in_use", h->m.ports_in_use->max);
        ps_json_int(b, "peak_active_tuples", h->m.active->max);
        ps_json_int(b, "peak_time_wait_tuples", h->m.time_wait->max);
        add_outcomes(b, &h->m, duration_s);
        json_builder_set_member_name(b, "pools");
        json_builder_begin_array(b);
        for (guint p = 0; p < h->pools->len; p++)
            add_pool(b, h->pools->pdata[p], h->n_dests, duration, duration_s);
        json_builder_end_array(b);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);

    json_builder_set_member_name(b, "servers");
    json_builder_begin_array(b);
    for (guint i = 0; i < net->servers->len; i++) {
        const PsServer *s = net->servers->pdata[i];
        json_builder_begin_object(b);
        ps_json_string(b, "name", s->name);
        ps_json_int(b, "endpoints", s->endpoints->len);
        ps_json_int(b, "peak_connections", s->established->max);
        ps_json_int(b, "peak_time_wait", s->time_wait_gauge->max);
        ps_json_int(b, "tw_recycled", s->tw_recycled->value);
        ps_json_int(b, "syn_drops", s->syn_drops->value); /* backlog full */
        if (s->accept_wait) { /* max_connections: waits in the accept queue */
            guint64 n = sim_histogram_count(s->accept_wait);
            ps_json_int(b, "accept_waits", (gint64)n);
            ps_json_double(b, "accept_wait_mean_s", n ? sim_histogram_mean(s->accept_wait) : 0.0);
            ps_json_double(b, "accept_wait_max_s", n ? sim_histogram_max(s->accept_wait) : 0.0);
        }
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    ps_nat_summary(net, b);

    json_builder_set_member_name(b, "listeners");
    json_builder_begin_array(b);
    for (guint i = 0; i < net->listeners->len; i++) {
        const PsListener *l = net->listeners->pdata[i];
        json_builder_begin_object(b);
        ps_json_string(b, "name", l->name);
        ps_json_string(b, "host", l->host->name);
        ps_json_int(b, "port", l->port);
        ps_json_double(b, "at_s", sim_time_to_seconds(l->at));
        ps_json_string(b, "result", l->refused ? "EADDRINUSE" : "bound");
        json_builder_set_member_name(b, "reserved");
        json_builder_add_boolean_value(b, l->reserved);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);

    ps_timeline_summary(net, b);

    json_builder_set_member_name(b, "monitors");
    json_builder_begin_array(b);
    for (guint i = 0; i < net->monitors->len; i++)
        add_monitor(b, net->monitors->pdata[i]);
    json_builder_end_array(b);

    json_builder_set_member_name(b, "workloads");
    json_builder_begin_array(b);
    for (guint i = 0; i < net->workloads->len; i++) {
        const PsWorkload *w = net->workloads->pdata[i];
        json_builder_begin_object(b);
        ps_json_string(b, "name", w->name);
        ps_json_string(b, "host", w->host->name);
        ps_json_string(b, "target", w->server->name);
        if (w->arrival)
            ps_json_double(b, "expected_attempts", ps_arrival_expected(w->arrival));
        else
            ps_json_int(b, "users_loops", w->loops);
        add_outcomes(b, &w->m, duration_s);
        ps_json_int(b, "syn_retransmits", w->syn_retransmits->value);
        /* Demand: requests (first attempts) against what the network saw. */
        ps_json_int(b, "offered", w->offered->value);
        ps_json_int(b, "retried", w->retried->value);
        ps_json_int(b, "unique_demand", w->offered->value);
        ps_json_int(b, "gave_up", w->gave_up->value);
        ps_json_int(b, "requests_served", w->requests_served->value);
        ps_json_double(b, "amplification",
                   w->offered->value ? (double)(w->offered->value + w->retried->value) /
                                           (double)w->offered->value
                                     : 0.0);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);

    ps_lb_summary(net, b, duration_s);

    /* Invariant 2 of DESIGN.md, checked on every run. */
    PsTotals t;
    ps_network_totals(net, &t);
    json_builder_set_member_name(b, "conservation");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "drained");
    json_builder_add_boolean_value(b, ps_network_live_connections(net) == 0);
    json_builder_set_member_name(b, "pools_empty");
    json_builder_add_boolean_value(b, ps_network_pools_empty(net));
    json_builder_set_member_name(b, "attempts_accounted");
    json_builder_add_boolean_value(b, t.attempts == t.successes + t.failures);
    json_builder_end_object(b);

    json_builder_end_object(b);
    JsonNode *root = json_builder_get_root(b);
    g_object_unref(b);
    return root;
}
