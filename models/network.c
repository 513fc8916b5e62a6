/* Building the network from a scenario and wiring its metrics. */
#include "network_internal.h"

#include <math.h>
#include <string.h>
#include "sim_error.h"

static const char *const fail_names[PS_FAIL_N] = {"EADDRNOTAVAIL", "EADDRINUSE"};

const char *ps_fail_reason_name(PsFailReason reason)
{
    return reason < PS_FAIL_N ? fail_names[reason] : "unknown";
}

static SimCounter *counter(SimStats *stats, const char *prefix, const char *metric)
{
    g_autofree char *name = g_strconcat(prefix, ".", metric, NULL);
    return sim_stats_counter(stats, name);
}

static SimGauge *gauge(SimStats *stats, const char *prefix, const char *metric)
{
    g_autofree char *name = g_strconcat(prefix, ".", metric, NULL);
    return sim_stats_gauge(stats, name);
}

void ps_metrics_init(PsMetrics *m, SimStats *stats, const char *prefix)
{
    m->prefix = g_strdup(prefix);
    m->attempts = counter(stats, prefix, "attempts");
    m->successes = counter(stats, prefix, "successes");
    m->failures = counter(stats, prefix, "failures");
    for (int r = 0; r < PS_FAIL_N; r++) {
        g_autofree char *lower = g_ascii_strdown(fail_names[r], -1);
        m->by_reason[r] = counter(stats, prefix, lower);
    }
    m->allocations = counter(stats, prefix, "allocations");
    m->probes = counter(stats, prefix, "probes");
    m->active = gauge(stats, prefix, "active");
    m->time_wait = gauge(stats, prefix, "time_wait");
    m->ports_in_use = gauge(stats, prefix, "ports_in_use");
    m->free_ports = gauge(stats, prefix, "free_ports");
    m->first_failure = SIM_TIME_NEVER;
}

void ps_metrics_clear(PsMetrics *m)
{
    g_clear_pointer(&m->prefix, g_free);
}

/* Time-series columns of one entity, "prefix.metric". */
static void add_columns(SimSeries *series, const PsMetrics *m, gboolean with_ports)
{
    const char *p = m->prefix;
#define COL(metric) g_autofree char *c_##metric = g_strconcat(p, "." #metric, NULL)
    COL(active);
    COL(time_wait);
    COL(ports_in_use);
    COL(free_ports);
    COL(attempts_per_s);
    COL(successes_per_s);
    COL(failures_per_s);
    COL(probes_per_allocation);
    COL(failures);
#undef COL
    if (with_ports) {
        sim_series_add_gauge(series, c_active, m->active);
        sim_series_add_gauge(series, c_time_wait, m->time_wait);
        sim_series_add_gauge(series, c_ports_in_use, m->ports_in_use);
        sim_series_add_gauge(series, c_free_ports, m->free_ports);
    }
    sim_series_add_rate(series, c_attempts_per_s, m->attempts);
    sim_series_add_rate(series, c_successes_per_s, m->successes);
    sim_series_add_rate(series, c_failures_per_s, m->failures);
    for (int r = 0; r < PS_FAIL_N; r++) {
        g_autofree char *lower = g_ascii_strdown(fail_names[r], -1);
        g_autofree char *col = g_strconcat(p, ".", lower, "_per_s", NULL);
        sim_series_add_rate(series, col, m->by_reason[r]);
    }
    sim_series_add_counter(series, c_failures, m->failures);
    if (with_ports)
        sim_series_add_ratio(series, c_probes_per_allocation, m->probes, m->allocations);
}

static PsHost *host_new(PsNetwork *net, SimSection *sec, GError **error)
{
    SimEngine *engine = net->engine;
    SimStats *stats = sim_engine_stats(engine);
    PsHost *h = g_new0(PsHost, 1);
    h->section = sec;
    h->name = sim_section_name(sec);
    h->time_wait = sim_section_duration(sec, "time_wait");
    h->bind_before_connect = sim_section_bool(sec, "bind_before_connect");
    h->linger0 = sim_section_bool(sec, "linger0");
    h->round_robin = g_strcmp0(sim_section_text(sec, "address_selection"), "round-robin") == 0;
    h->range = sim_section_range(sec, "ephemeral_range");
    h->allocator_name = sim_section_text(sec, "allocator");
    h->pools = g_ptr_array_new();
    ps_metrics_init(&h->m, stats, h->name);

    const PsAllocatorClass *klass = ps_allocator_class_find(h->allocator_name);
    if (!klass) {
        sim_section_error(sec, "allocator", error, "no allocator named '%s'", h->allocator_name);
        return h;
    }
    const GArray *addresses = sim_section_addresses(sec, "addresses");
    const GArray *reserved = sim_section_range_list(sec, "reserved_ports");
    if (addresses->len == 0) {
        sim_section_error(sec, "addresses", error, "a host needs at least one address");
        return h;
    }
    for (guint i = 0; i < addresses->len; i++) {
        PsPool *pool = g_new0(PsPool, 1);
        pool->host = h;
        pool->address = g_array_index(addresses, SimAddress, i);
        pool->ports = ps_pool_new((uint16_t)h->range.lo, (uint16_t)h->range.hi);
        for (guint r = 0; r < reserved->len; r++) {
            SimRange rr = g_array_index(reserved, SimRange, r);
            ps_pool_reserve(pool->ports, (uint16_t)rr.lo, (uint16_t)rr.hi);
        }
        char abuf[SIM_ADDRESS_STRLEN];
        g_autofree char *stream = g_strdup_printf("host %s allocator %s", h->name,
                                                  sim_address_format(&pool->address, abuf));
        SimRng rng;
        sim_engine_stream(engine, stream, &rng);
        pool->alloc = ps_allocator_new(klass, (uint16_t)h->range.lo, (uint16_t)h->range.hi, &rng);
        g_autofree char *prefix = g_strdup_printf("%s[%s]", h->name, abuf);
        ps_metrics_init(&pool->m, stats, prefix);
        guint capacity = ps_pool_capacity(pool->ports);
        sim_gauge_set(pool->m.free_ports, 0, capacity);
        sim_gauge_add(h->m.free_ports, 0, capacity);
        g_autofree char *hist = g_strconcat(prefix, ".probes_hist", NULL);
        pool->probe_hist = sim_stats_histogram(stats, hist);
        g_ptr_array_add(h->pools, pool);
    }
    h->reserved_count = (guint)(h->range.hi - h->range.lo + 1);
    if (h->pools->len > 0)
        h->reserved_count -= ps_pool_capacity(((PsPool *)h->pools->pdata[0])->ports);
    if (h->pools->len > 0 && ps_pool_capacity(((PsPool *)h->pools->pdata[0])->ports) == 0)
        sim_section_error(sec, "reserved_ports", error,
                          "every port of ephemeral_range %lld-%lld is reserved",
                          (long long)h->range.lo, (long long)h->range.hi);
    return h;
}

static void host_free(PsHost *h)
{
    for (guint i = 0; i < h->pools->len; i++) {
        PsPool *pool = h->pools->pdata[i];
        ps_allocator_free(pool->alloc);
        ps_pool_free(pool->ports);
        ps_metrics_clear(&pool->m);
        g_free(pool);
    }
    g_ptr_array_free(h->pools, TRUE);
    ps_metrics_clear(&h->m);
    g_free(h);
}

static PsServer *server_new(PsNetwork *net, SimSection *sec, GError **error)
{
    SimStats *stats = sim_engine_stats(net->engine);
    PsServer *s = g_new0(PsServer, 1);
    s->section = sec;
    s->name = sim_section_name(sec);
    s->time_wait = sim_section_duration(sec, "time_wait");
    s->endpoints = g_array_new(FALSE, FALSE, sizeof(PsEndpoint));
    const GArray *addresses = sim_section_addresses(sec, "addresses");
    const GArray *ports = sim_section_range_list(sec, "ports");
    for (guint a = 0; a < addresses->len; a++)
        for (guint p = 0; p < ports->len; p++) {
            SimRange r = g_array_index(ports, SimRange, p);
            for (int64_t port = r.lo; port <= r.hi; port++) {
                PsEndpoint e = {g_array_index(addresses, SimAddress, a), (uint16_t)port};
                g_array_append_val(s->endpoints, e);
            }
        }
    if (s->endpoints->len == 0)
        sim_section_error(sec, addresses->len == 0 ? "addresses" : "ports", error,
                          "a server needs at least one address and one port");
    s->established = gauge(stats, s->name, "established");
    s->time_wait_gauge = gauge(stats, s->name, "time_wait");
    return s;
}

static void server_free(PsServer *s)
{
    g_array_free(s->endpoints, TRUE);
    g_free(s);
}

static gpointer find_by_section(GPtrArray *items, const SimSection *sec)
{
    for (guint i = 0; i < items->len; i++)
        if (*(SimSection **)items->pdata[i] == sec)
            return items->pdata[i];
    return NULL;
}

static PsWorkload *workload_new(PsNetwork *net, SimSection *sec, SimTime duration,
                                GError **error)
{
    PsWorkload *w = g_new0(PsWorkload, 1);
    w->net = net;
    w->section = sec;
    w->name = sim_section_name(sec);
    w->host = find_by_section(net->hosts, sim_section_reference(sec, "host"));
    w->server = find_by_section(net->servers, sim_section_reference(sec, "target"));
    w->hold = *sim_section_distribution(sec, "hold");
    w->server_closes = g_strcmp0(sim_section_text(sec, "closer"), "server") == 0;
    w->delay = sim_section_duration(sec, "delay");
    ps_metrics_init(&w->m, sim_engine_stats(net->engine), w->name);
    g_autofree char *stream = g_strconcat("workload ", w->name, NULL);
    sim_engine_stream(net->engine, stream, &w->rng);

    const char *arrival = sim_section_text(sec, "arrival");
    gboolean has_schedule = sim_section_has(sec, "schedule");
    if (g_strcmp0(arrival, "schedule") == 0 && !has_schedule) {
        sim_section_error(sec, "arrival", error,
                          "arrival = schedule needs a `schedule` key, e.g. "
                          "schedule = 0s 200/s, 10m 2000/s");
        return w;
    }
    SimTime start = sim_section_duration(sec, "start");
    SimTime stop = sim_section_has(sec, "stop") ? sim_section_duration(sec, "stop") : duration;
    if (stop > duration)
        stop = duration;
    GArray *points;
    gboolean use_schedule = has_schedule && g_strcmp0(arrival, "constant") != 0;
    if (use_schedule) {
        points = g_array_copy((GArray *)sim_section_schedule(sec, "schedule"));
    } else {
        points = g_array_new(FALSE, FALSE, sizeof(SimSchedulePoint));
        SimSchedulePoint p = {0, sim_section_rate(sec, "rate")};
        g_array_append_val(points, p);
    }
    SimRng arrival_rng;
    g_autofree char *astream = g_strconcat("workload ", w->name, " arrivals", NULL);
    sim_engine_stream(net->engine, astream, &arrival_rng);
    w->arrival = ps_arrival_new(g_strcmp0(arrival, "poisson") == 0, points, start, stop,
                                &arrival_rng);
    g_array_free(points, TRUE);
    return w;
}

static void workload_free(PsWorkload *w)
{
    ps_arrival_free(w->arrival);
    ps_metrics_clear(&w->m);
    g_free(w);
}

static void register_columns(PsNetwork *net)
{
    SimSeries *series = sim_engine_series(net->engine);
    for (guint i = 0; i < net->hosts->len; i++) {
        PsHost *h = net->hosts->pdata[i];
        add_columns(series, &h->m, TRUE);
        /* Per-address columns only for small fleets: a /16 would make the
         * CSV unreadable. summary.json has every pool. */
        if (h->pools->len > 1 && h->pools->len <= 4)
            for (guint p = 0; p < h->pools->len; p++)
                add_columns(series, &((PsPool *)h->pools->pdata[p])->m, TRUE);
    }
    for (guint i = 0; i < net->servers->len; i++) {
        PsServer *s = net->servers->pdata[i];
        g_autofree char *c_est = g_strconcat(s->name, ".established", NULL);
        g_autofree char *c_tw = g_strconcat(s->name, ".time_wait", NULL);
        sim_series_add_gauge(series, c_est, s->established);
        sim_series_add_gauge(series, c_tw, s->time_wait_gauge);
    }
    for (guint i = 0; i < net->workloads->len; i++)
        add_columns(series, &((PsWorkload *)net->workloads->pdata[i])->m, FALSE);
}

PsNetwork *ps_network_build(SimEngine *engine, const SimScenario *scenario, GError **error)
{
    PsNetwork *net = g_new0(PsNetwork, 1);
    net->engine = engine;
    net->scenario = scenario;
    net->hosts = g_ptr_array_new();
    net->servers = g_ptr_array_new();
    net->workloads = g_ptr_array_new();
    net->conns = g_array_new(FALSE, TRUE, sizeof(PsConn));
    net->free_conns = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    ps_metrics_init(&net->total, sim_engine_stats(engine), "total");
    net->server_established = sim_stats_gauge(sim_engine_stats(engine), "servers.established");
    net->server_time_wait = sim_stats_gauge(sim_engine_stats(engine), "servers.time_wait");

    SimSection *sc = sim_scenario_find(scenario, "scenario", NULL);
    SimTime duration = sim_section_duration(sc, "duration");
    GError *local = NULL;
    for (guint i = 0; i < sim_scenario_n_sections(scenario) && !local; i++) {
        SimSection *sec = sim_scenario_section_at(scenario, i);
        if (g_strcmp0(sim_section_kind(sec), "host") == 0)
            g_ptr_array_add(net->hosts, host_new(net, sec, &local));
        else if (g_strcmp0(sim_section_kind(sec), "server") == 0)
            g_ptr_array_add(net->servers, server_new(net, sec, &local));
    }
    for (guint i = 0; i < sim_scenario_n_sections(scenario) && !local; i++) {
        SimSection *sec = sim_scenario_section_at(scenario, i);
        if (g_strcmp0(sim_section_kind(sec), "workload") == 0)
            g_ptr_array_add(net->workloads, workload_new(net, sec, duration, &local));
    }
    if (!local && net->workloads->len == 0)
        g_set_error(&local, SIM_ERROR, SIM_ERROR_INPUT,
                    "%s: no [workload NAME] section: nothing would open a connection",
                    sim_scenario_origin(scenario));
    if (local) {
        g_propagate_error(error, local);
        ps_network_free(net);
        return NULL;
    }
    /* The tuple capacity of a host grows with the distinct destinations its
     * workloads reach (4-tuple sharing). */
    for (guint i = 0; i < net->hosts->len; i++) {
        PsHost *h = net->hosts->pdata[i];
        GHashTable *seen = g_hash_table_new(g_direct_hash, g_direct_equal);
        for (guint w = 0; w < net->workloads->len; w++) {
            PsWorkload *wl = net->workloads->pdata[w];
            if (wl->host == h && !g_hash_table_contains(seen, wl->server)) {
                g_hash_table_add(seen, wl->server);
                h->n_dests += wl->server->endpoints->len;
            }
        }
        g_hash_table_destroy(seen);
    }
    for (guint i = 0; i < net->hosts->len; i++)
        sim_gauge_add(net->total.free_ports, 0,
                      ((PsHost *)net->hosts->pdata[i])->m.free_ports->value);
    register_columns(net);
    return net;
}

void ps_network_free(PsNetwork *net)
{
    if (!net)
        return;
    for (guint i = 0; i < net->workloads->len; i++)
        workload_free(net->workloads->pdata[i]);
    for (guint i = 0; i < net->servers->len; i++)
        server_free(net->servers->pdata[i]);
    for (guint i = 0; i < net->hosts->len; i++)
        host_free(net->hosts->pdata[i]);
    g_ptr_array_free(net->workloads, TRUE);
    g_ptr_array_free(net->servers, TRUE);
    g_ptr_array_free(net->hosts, TRUE);
    g_array_free(net->conns, TRUE);
    g_array_free(net->free_conns, TRUE);
    ps_metrics_clear(&net->total);
    g_free(net);
}

static void arrival_fire(void *ctx, uint64_t arg)
{
    PsWorkload *wl = ctx;
    ps_tcp_attempt(wl->net, wl);
    SimTime next = ps_arrival_next(wl->arrival);
    if (next != SIM_TIME_NEVER)
        sim_engine_at(wl->net->engine, next, arrival_fire, wl, arg);
}

void ps_network_start(PsNetwork *net)
{
    for (guint i = 0; i < net->workloads->len; i++) {
        PsWorkload *wl = net->workloads->pdata[i];
        SimTime first = ps_arrival_next(wl->arrival);
        if (first != SIM_TIME_NEVER)
            sim_engine_at(net->engine, first, arrival_fire, wl, 0);
    }
}

void ps_network_totals(const PsNetwork *net, PsTotals *out)
{
    const PsMetrics *m = &net->total;
    memset(out, 0, sizeof *out);
    out->attempts = (guint64)m->attempts->value;
    out->successes = (guint64)m->successes->value;
    out->failures = (guint64)m->failures->value;
    for (int r = 0; r < PS_FAIL_N; r++)
        out->by_reason[r] = (guint64)m->by_reason[r]->value;
    out->probes = (guint64)m->probes->value;
    out->allocations = (guint64)m->allocations->value;
    out->first_failure = m->first_failure;
}

guint64 ps_network_live_connections(const PsNetwork *net)
{
    return net->live_conns;
}

gboolean ps_network_pools_empty(const PsNetwork *net)
{
    for (guint i = 0; i < net->hosts->len; i++) {
        PsHost *h = net->hosts->pdata[i];
        for (guint p = 0; p < h->pools->len; p++)
            if (!ps_pool_is_empty(((PsPool *)h->pools->pdata[p])->ports))
                return FALSE;
    }
    return TRUE;
}

static void plot_target_free(gpointer data)
{
    PsPlotTarget *t = data;
    g_free(t->name);
    g_free(t->title);
    g_free(t->subtitle);
    g_free(t->col_active);
    g_free(t->col_time_wait);
    g_free(t->col_failures);
    g_free(t->capacity_label);
    g_free(t);
}

GPtrArray *ps_network_plot_targets(const PsNetwork *net)
{
    GPtrArray *targets = g_ptr_array_new_with_free_func(plot_target_free);
    for (guint i = 0; i < net->hosts->len; i++) {
        PsHost *h = net->hosts->pdata[i];
        if (h->pools->len == 0 || h->n_dests == 0)
            continue;
        guint ports = ps_pool_capacity(((PsPool *)h->pools->pdata[0])->ports);
        double capacity = (double)ports * h->pools->len * h->n_dests;
        PsPlotTarget *t = g_new0(PsPlotTarget, 1);
        t->name = g_strconcat("host-", h->name, NULL);
        t->title = g_strdup_printf("%s: ephemeral ports in use", h->name);
        g_autofree char *tw = sim_duration_format(h->time_wait);
        t->subtitle = g_strdup_printf("%s allocator, range %lld-%lld, TIME_WAIT %s, "
                                      "%u address%s x %u destination%s",
                                      h->allocator_name, (long long)h->range.lo,
                                      (long long)h->range.hi, tw, h->pools->len,
                                      h->pools->len == 1 ? "" : "es", h->n_dests,
                                      h->n_dests == 1 ? "" : "s");
        t->col_active = g_strconcat(h->name, ".active", NULL);
        t->col_time_wait = g_strconcat(h->name, ".time_wait", NULL);
        t->col_failures = g_strconcat(h->name, ".failures_per_s", NULL);
        t->capacity = capacity;
        t->capacity_label = g_strdup_printf("capacity %.0f = %u ports x %u address%s x %u "
                                            "destination%s",
                                            capacity, ports, h->pools->len,
                                            h->pools->len == 1 ? "" : "es", h->n_dests,
                                            h->n_dests == 1 ? "" : "s");
        t->first_failure_s = h->m.first_failure == SIM_TIME_NEVER
                                 ? NAN
                                 : sim_time_to_seconds(h->m.first_failure);
        g_ptr_array_add(targets, t);
    }
    return targets;
}
