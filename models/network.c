/* Building the network from a scenario and wiring its metrics. */
#include "network_internal.h"
#include "lb.h"
#include "nat.h"
#include "theory.h"
#include "tw_entries.h"

#include <math.h>
#include <string.h>
#include "sim_error.h"

static const char *const fail_names[PS_FAIL_N] = {"EADDRNOTAVAIL", "EADDRINUSE",
                                                    "ETIMEDOUT", "ECONNREFUSED"};

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

/* Hosts with more addresses than this create their pools lazily and share
 * one allocator (a pool with its allocator is ~120-380 KiB). */
#define EAGER_POOLS_MAX 256

static PsPool *pool_new(PsNetwork *net, PsHost *h, guint i, GError **error)
{
    SimEngine *engine = net->engine;
    SimStats *stats = sim_engine_stats(engine);
    PsPool *pool = g_new0(PsPool, 1);
    pool->id = net->n_pools++;
    pool->host = h;
    pool->address = g_array_index(h->addresses, SimAddress, i);
    pool->ports = ps_pool_new((uint16_t)h->range.lo, (uint16_t)h->range.hi);
    const GArray *reserved = sim_section_range_list(h->section, "reserved_ports");
    for (guint r = 0; r < reserved->len; r++) {
        SimRange rr = g_array_index(reserved, SimRange, r);
        ps_pool_reserve(pool->ports, (uint16_t)rr.lo, (uint16_t)rr.hi);
    }
    char abuf[SIM_ADDRESS_STRLEN];
    sim_address_format(&pool->address, abuf);
    if (h->shared_alloc) {
        pool->alloc = h->shared_alloc;
    } else {
        g_autofree char *stream = g_strdup_printf("host %s allocator %s", h->name, abuf);
        SimRng rng;
        sim_engine_stream(engine, stream, &rng);
        /* A per-socket range narrows what the strategy walks. */
        SimRange ar = h->has_port_range ? h->port_range : h->range;
        GError *local = NULL;
        pool->alloc = ps_allocator_new_full(h->klass, (uint16_t)ar.lo, (uint16_t)ar.hi, &rng,
                                            h->allocator_params, &local);
        if (!pool->alloc) {
            sim_section_error(h->section, "allocator_params", error, "%s", local->message);
            g_error_free(local);
        }
    }
    g_autofree char *prefix = g_strdup_printf("%s[%s]", h->name, abuf);
    ps_metrics_init(&pool->m, stats, prefix);
    guint capacity = ps_pool_capacity(pool->ports);
    SimTime t = sim_engine_now(engine);
    sim_gauge_set(pool->m.free_ports, t, capacity);
    g_autofree char *hist = g_strconcat(prefix, ".probes_hist", NULL);
    pool->probe_hist = sim_stats_histogram(stats, hist);
    if (h->tw_reuse != 0)
        pool->tw_index = ps_tw_index_new();
    h->pool_of[i] = pool;
    g_ptr_array_add(h->pools, pool);
    return pool;
}

PsPool *ps_host_pool(PsNetwork *net, PsHost *h, guint i)
{
    if (G_LIKELY(h->pool_of[i] != NULL))
        return h->pool_of[i];
    PsPool *pool = pool_new(net, h, i, NULL);
    /* Free ports of a pool created now join the host and total gauges. */
    guint capacity = ps_pool_capacity(pool->ports);
    SimTime t = sim_engine_now(net->engine);
    sim_gauge_add(h->m.free_ports, t, capacity);
    sim_gauge_add(net->total.free_ports, t, capacity);
    return pool;
}

/* The host keys a [timeline] may change during a run. */
void ps_host_read_runtime(PsHost *h, SimSection *sec)
{
    h->time_wait = sim_section_duration(sec, "time_wait");
    h->time_wait_granularity = sim_section_duration(sec, "time_wait_granularity");
    h->linger0 = sim_section_bool(sec, "linger0");
    h->tw_reuse = (guint)g_ascii_strtoull(sim_section_text(sec, "tcp_tw_reuse"), NULL, 10);
    h->tw_reuse_delay = sim_section_duration(sec, "tw_reuse_delay");
    h->max_tw_buckets = sim_section_int(sec, "max_tw_buckets");
    h->syn_retries = (guint)sim_section_int(sec, "tcp_syn_retries");
    h->syn_linear = (guint)sim_section_int(sec, "tcp_syn_linear_timeouts");
}

static PsHost *host_new(PsNetwork *net, SimSection *sec, GError **error)
{
    SimEngine *engine = net->engine;
    SimStats *stats = sim_engine_stats(engine);
    PsHost *h = g_new0(PsHost, 1);
    h->order_class = net->hosts->len;
    h->section = sec;
    h->name = sim_section_name(sec);
    ps_host_read_runtime(h, sec);
    h->bind_before_connect = sim_section_bool(sec, "bind_before_connect");
    h->bind_address_no_port = sim_section_bool(sec, "bind_address_no_port");
    h->host_wide_ports = g_strcmp0(sim_section_text(sec, "port_sharing"), "host-wide") == 0;
    const char *sel = sim_section_text(sec, "address_selection");
    h->selection = g_strcmp0(sel, "first") == 0  ? PS_ADDR_FIRST
                   : g_strcmp0(sel, "hash") == 0 ? PS_ADDR_HASH
                                                 : PS_ADDR_ROUND_ROBIN;
    h->connect_timeout =
        sim_section_has(sec, "connect_timeout") ? sim_section_duration(sec, "connect_timeout") : 0;
    h->range = sim_section_range(sec, "ephemeral_range");
    h->allocator_name = sim_section_text(sec, "allocator");
    h->allocator_params = g_strdup(sim_section_text(sec, "allocator_params"));
    h->pools = g_ptr_array_new();
    ps_metrics_init(&h->m, stats, h->name);
    h->tw_recycled = counter(stats, h->name, "tw_recycled");
    h->tw_overflow = counter(stats, h->name, "tw_overflow");
    h->listener_conflicts = counter(stats, h->name, "listener_conflicts");
    h->addresses = sim_section_addresses(sec, "addresses");
    h->n_addresses = h->addresses->len;
    h->pool_of = g_new0(PsPool *, MAX(h->n_addresses, 1));

    GError *lookup = NULL;
    h->klass = ps_allocator_class_lookup(h->allocator_name, sim_scenario_origin(net->scenario),
                                         &lookup);
    if (!h->klass) {
        sim_section_error(sec, "allocator", error, "%s", lookup->message);
        g_error_free(lookup);
        return h;
    }
    if (h->n_addresses == 0) {
        sim_section_error(sec, "addresses", error, "a host needs at least one address");
        return h;
    }
    if (sim_section_has(sec, "local_port_range")) {
        /* IP_LOCAL_PORT_RANGE is clamped to the host's range; an empty
         * intersection is EINVAL. */
        SimRange r = sim_section_range(sec, "local_port_range");
        h->port_range.lo = MAX(r.lo, h->range.lo);
        h->port_range.hi = MIN(r.hi, h->range.hi);
        h->has_port_range = TRUE;
        /* Linux >= 6.8 walks a socket's own range differently. */
        if (h->klass == ps_allocator_class_find("linux") &&
            !strstr(h->allocator_params, "socket_range")) {
            char *p = g_strconcat(h->allocator_params, *h->allocator_params ? ", " : "",
                                  "socket_range=1", NULL);
            g_free(h->allocator_params);
            h->allocator_params = p;
        }
        if (h->port_range.lo > h->port_range.hi) {
            sim_section_error(sec, "local_port_range", error,
                              "%lld-%lld does not overlap ephemeral_range %lld-%lld",
                              (long long)r.lo, (long long)r.hi, (long long)h->range.lo,
                              (long long)h->range.hi);
            return h;
        }
    }
    if (h->n_addresses > EAGER_POOLS_MAX) {
        SimRng rng;
        g_autofree char *stream = g_strdup_printf("host %s allocator", h->name);
        sim_engine_stream(engine, stream, &rng);
        SimRange ar = h->has_port_range ? h->port_range : h->range;
        GError *local = NULL;
        h->shared_alloc = ps_allocator_new_full(h->klass, (uint16_t)ar.lo, (uint16_t)ar.hi, &rng,
                                                h->allocator_params, &local);
        if (!h->shared_alloc) {
            sim_section_error(sec, "allocator_params", error, "%s", local->message);
            g_error_free(local);
            return h;
        }
    }
    /* Pool 0 always exists: it answers capacity questions for the host. */
    guint eager = h->shared_alloc ? 1 : h->n_addresses;
    for (guint i = 0; i < eager; i++) {
        PsPool *pool = pool_new(net, h, i, error);
        sim_gauge_add(h->m.free_ports, 0, ps_pool_capacity(pool->ports));
        if (error && *error)
            return h;
    }
    PsPortPool *first = h->pool_of[0]->ports;
    h->reserved_count = (guint)(h->range.hi - h->range.lo + 1) - ps_pool_capacity(first);
    if (ps_pool_capacity(first) == 0)
        sim_section_error(sec, "reserved_ports", error,
                          "every port of ephemeral_range %lld-%lld is reserved",
                          (long long)h->range.lo, (long long)h->range.hi);
    return h;
}

static void host_free(PsHost *h)
{
    for (guint i = 0; i < h->pools->len; i++) {
        PsPool *pool = h->pools->pdata[i];
        if (pool->alloc != h->shared_alloc)
            ps_allocator_free(pool->alloc);
        ps_pool_free(pool->ports);
        ps_tw_index_free(pool->tw_index);
        ps_metrics_clear(&pool->m);
        g_free(pool);
    }
    ps_allocator_free(h->shared_alloc);
    g_free(h->pool_of);
    g_free(h->allocator_params);
    g_ptr_array_free(h->pools, TRUE);
    if (h->tw_entries)
        g_array_free(h->tw_entries, TRUE);
    ps_tw_refs_free(h);
    if (h->monitors)
        g_ptr_array_free(h->monitors, TRUE); /* the network owns the monitors */
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
    s->idle_timeout =
        sim_section_has(sec, "idle_timeout") ? sim_section_duration(sec, "idle_timeout") : 0;
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
    s->tw_index = g_hash_table_new(ps_tw_key_hash, g_direct_equal);
    s->tw_recycled = counter(stats, s->name, "tw_recycled");
    s->backlog = sim_section_has(sec, "backlog") ? sim_section_int(sec, "backlog") : 0;
    s->max_connections =
        sim_section_has(sec, "max_connections") ? sim_section_int(sec, "max_connections") : 0;
    s->may_drop_syn = s->backlog > 0 || s->max_connections > 0;
    s->syn_drops = counter(stats, s->name, "syn_drops");
    if (s->max_connections > 0) {
        s->accept_queue = g_queue_new();
        s->waiting = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
        g_autofree char *hist = g_strconcat(s->name, ".accept_wait", NULL);
        s->accept_wait = sim_stats_histogram(stats, hist);
    }
    return s;
}

PsServer *ps_server_new(PsNetwork *net, SimSection *sec, GError **error)
{
    return server_new(net, sec, error);
}

void ps_network_set_trace(PsNetwork *net, PsTraceLog *log) { net->trace = log; }

void ps_network_set_pcap(PsNetwork *net, PsPcap *pcap) { net->pcap = pcap; }

void ps_network_set_pcap_backend(PsNetwork *net, gboolean backend) { net->pcap_backend = backend; }
void ps_network_set_pcap_nat_outside(PsNetwork *net, gboolean outside)
{
    net->pcap_nat_outside = outside;
}

guint ps_tw_key_hash(gconstpointer key)
{
    guint64 x = (guint64)(gsize)key;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (guint)x;
}

static void server_free(PsServer *s)
{
    g_array_free(s->endpoints, TRUE);
    g_hash_table_destroy(s->tw_index);
    if (s->accept_queue) {
        g_queue_free(s->accept_queue);
        g_hash_table_destroy(s->waiting);
    }
    g_free(s);
}

static gpointer find_by_section(GPtrArray *items, const SimSection *sec)
{
    for (guint i = 0; i < items->len; i++)
        if (*(SimSection **)items->pdata[i] == sec)
            return items->pdata[i];
    return NULL;
}

/* arrival = trace: the CSV beside the scenario file; rate_scale > 1
 * replays it faster (times divided by it). */
static PsWorkload *workload_trace(PsWorkload *w, SimSection *sec, double scale, SimTime start,
                                  SimTime stop, GError **error)
{
    if (!sim_section_has(sec, "trace_file")) {
        sim_section_error(sec, "arrival", error,
                          "arrival = trace needs a `trace_file` key (a CSV of times)");
        return w;
    }
    const char *file = sim_section_text(sec, "trace_file");
    g_autofree char *dir = g_path_get_dirname(sim_scenario_origin(w->net->scenario));
    g_autofree char *path =
        g_path_is_absolute(file) ? g_strdup(file) : g_build_filename(dir, file, NULL);
    GError *csv = NULL;
    GArray *rows = ps_trace_csv_load(path, &csv);
    if (!rows) {
        sim_section_error(sec, "trace_file", error, "%s", csv->message);
        g_error_free(csv);
        return w;
    }
    guint n_ep = w->server ? w->server->endpoints->len : 0;
    for (guint i = 0; i < rows->len; i++) {
        PsTraceRow *r = &g_array_index(rows, PsTraceRow, i);
        if (r->endpoint >= (gint32)n_ep) {
            sim_section_error(sec, "trace_file", error,
                              "%s:%u: destination %d, but the target has %u endpoint%s "
                              "(0 to %u)",
                              path, r->line, r->endpoint, n_ep, n_ep == 1 ? "" : "s", n_ep - 1);
            g_array_free(rows, TRUE);
            return w;
        }
        if (scale != 1.0)
            r->at = (SimTime)llround((double)r->at / scale);
    }
    w->arrival = ps_arrival_new_trace(rows, start, stop);
    g_array_free(rows, TRUE);
    return w;
}

/* The workload keys a [timeline] may change during a run, read from sec
 * (the scenario as first loaded, or as it stands after a change). */
gboolean ps_workload_read_runtime(PsWorkload *w, SimSection *sec, GError **error)
{
    w->hold = *sim_section_distribution(sec, "hold");
    w->server_closes = g_strcmp0(sim_section_text(sec, "closer"), "server") == 0;
    w->delay = sim_section_duration(sec, "delay");
    w->jitter = sim_section_duration(sec, "jitter");
    w->loss = sim_section_float(sec, "loss");
    w->connect_timeout = sim_section_has(sec, "connect_timeout")
                             ? sim_section_duration(sec, "connect_timeout")
                             : (w->host ? w->host->connect_timeout : 0);
    w->max_attempts = (uint32_t)sim_section_int(sec, "max_attempts");
    w->think = *sim_section_distribution(sec, "think");
    w->requests = (guint)sim_section_int(sec, "requests");
    w->service = *sim_section_distribution(sec, "service");
    w->idle_timeout =
        sim_section_has(sec, "idle_timeout") ? sim_section_duration(sec, "idle_timeout") : 0;
    w->plan_life = w->requests > 0 || w->idle_timeout > 0 ||
                   (w->server && w->server->idle_timeout > 0);
    GError *retry_error = NULL;
    if (!ps_retry_parse(sim_section_text(sec, "retry"), &w->retry, &retry_error)) {
        sim_section_error(sec, "retry", error, "%s", retry_error->message);
        g_error_free(retry_error);
        return FALSE;
    }
    return TRUE;
}

/* The arrival process of an open-loop workload over [start, w->stop);
 * `stream` names its random stream. */
gboolean ps_workload_build_arrival(PsWorkload *w, SimSection *sec, SimTime start,
                                   const char *stream, GError **error)
{
    SimTime stop = w->stop;
    const char *arrival = sim_section_text(sec, "arrival");
    gboolean has_schedule = sim_section_has(sec, "schedule");
    if (g_strcmp0(arrival, "schedule") == 0 && !has_schedule)
        return sim_section_error(sec, "arrival", error,
                                 "arrival = schedule needs a `schedule` key, e.g. "
                                 "schedule = 0s 200/s, 10m 2000/s");
    SimRng arrival_rng;
    sim_engine_stream(w->net->engine, stream, &arrival_rng);
    double scale = sim_section_float(sec, "rate_scale");
    if (g_strcmp0(arrival, "diurnal") == 0) {
        double peak = sim_section_rate(sec, "rate"), low = sim_section_rate(sec, "rate_min");
        if (low > peak)
            return sim_section_error(sec, "rate_min", error, "rate_min is above rate (the peak)");
        w->arrival = ps_arrival_new_diurnal(low * scale, peak * scale,
                                            sim_section_duration(sec, "period"),
                                            sim_section_duration(sec, "peak_at"), start, stop,
                                            &arrival_rng);
        return TRUE;
    }
    if (g_strcmp0(arrival, "onoff") == 0) {
        double on_rate = sim_section_has(sec, "on_rate") ? sim_section_rate(sec, "on_rate")
                                                         : sim_section_rate(sec, "rate");
        w->arrival = ps_arrival_new_onoff(on_rate * scale, sim_section_duration(sec, "on_time"),
                                          sim_section_duration(sec, "off_time"), start, stop,
                                          &arrival_rng);
        return TRUE;
    }
    if (g_strcmp0(arrival, "trace") == 0) {
        GError *local = NULL;
        workload_trace(w, sec, scale, start, stop, &local);
        if (local) {
            g_propagate_error(error, local);
            return FALSE;
        }
        return TRUE;
    }
    GArray *points;
    gboolean use_schedule = has_schedule && g_strcmp0(arrival, "constant") != 0;
    if (use_schedule) {
        points = g_array_copy((GArray *)sim_section_schedule(sec, "schedule"));
    } else {
        points = g_array_new(FALSE, FALSE, sizeof(SimSchedulePoint));
        SimSchedulePoint p = {0, sim_section_rate(sec, "rate")};
        g_array_append_val(points, p);
    }
    for (guint i = 0; i < points->len; i++)
        g_array_index(points, SimSchedulePoint, i).rate *= scale;
    w->arrival = ps_arrival_new(g_strcmp0(arrival, "poisson") == 0, points, start, stop,
                                &arrival_rng);
    g_array_free(points, TRUE);
    return TRUE;
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
    w->nat = ps_nat_for_workload(net, sec, w->host ? w->host->section : NULL);
    w->udp = g_strcmp0(sim_section_text(sec, "protocol"), "udp") == 0;
    w->close_class = PS_CLOSE_CLASS_BASE + net->workloads->len;
    ps_metrics_init(&w->m, sim_engine_stats(net->engine), w->name);
    w->syn_retransmits = counter(sim_engine_stats(net->engine), w->name, "syn_retransmits");
    w->offered = counter(sim_engine_stats(net->engine), w->name, "offered");
    w->retried = counter(sim_engine_stats(net->engine), w->name, "retried");
    w->gave_up = counter(sim_engine_stats(net->engine), w->name, "gave_up");
    w->requests_served = counter(sim_engine_stats(net->engine), w->name, "requests_served");
    if (!ps_workload_read_runtime(w, sec, error))
        return w;
    g_autofree char *stream = g_strconcat("workload ", w->name, NULL);
    sim_engine_stream(net->engine, stream, &w->rng);

    SimTime start = sim_section_duration(sec, "start");
    SimTime stop = sim_section_has(sec, "stop") ? sim_section_duration(sec, "stop") : duration;
    if (stop > duration)
        stop = duration;
    w->start = start;
    w->stop = stop;
    w->run_end = duration;
    if (sim_section_has(sec, "users")) {
        /* Closed loop: no arrival process; a loop with no time passing
         * between requests would never let the clock move. */
        if (w->think.mean <= 0) {
            sim_section_error(sec, "think", error,
                              "closed-loop users need a think time with a mean above 0, "
                              "e.g. think = exp(1s)");
            return w;
        }
        w->loops = (uint32_t)(sim_section_int(sec, "users") *
                              sim_section_int(sec, "max_connections_per_user"));
        return w;
    }
    g_autofree char *astream = g_strconcat("workload ", w->name, " arrivals", NULL);
    ps_workload_build_arrival(w, sec, start, astream, error);
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
        if (s->may_drop_syn) {
            g_autofree char *c_drops = g_strconcat(s->name, ".syn_drops_per_s", NULL);
            sim_series_add_rate(series, c_drops, s->syn_drops);
        }
    }
    ps_lb_register_columns(net, series);
    for (guint i = 0; i < net->workloads->len; i++) {
        PsWorkload *wl = net->workloads->pdata[i];
        add_columns(series, &wl->m, FALSE);
        g_autofree char *offered = g_strconcat(wl->name, ".offered_per_s", NULL);
        g_autofree char *retried = g_strconcat(wl->name, ".retried_per_s", NULL);
        sim_series_add_rate(series, offered, wl->offered);
        sim_series_add_rate(series, retried, wl->retried);
    }
    ps_nat_register_columns(net, series);
}

PsNetwork *ps_network_build(SimEngine *engine, const SimScenario *scenario, GError **error)
{
    PsNetwork *net = g_new0(PsNetwork, 1);
    net->engine = engine;
    net->scenario = scenario;
    net->hosts = g_ptr_array_new();
    net->servers = g_ptr_array_new();
    net->workloads = g_ptr_array_new();
    net->listeners = g_ptr_array_new_with_free_func(g_free);
    net->monitors = g_ptr_array_new_with_free_func((GDestroyNotify)ps_monitor_free);
    net->lbs = g_ptr_array_new_with_free_func((GDestroyNotify)ps_lb_free);
    net->nats = g_ptr_array_new_with_free_func((GDestroyNotify)ps_nat_free);
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
        else if (g_strcmp0(sim_section_kind(sec), "nat") == 0)
            g_ptr_array_add(net->nats, ps_nat_new(net, sec, &local));
    }
    if (!local)
        ps_nat_link(net, &local);
    for (guint i = 0; i < sim_scenario_n_sections(scenario) && !local; i++) {
        SimSection *sec = sim_scenario_section_at(scenario, i);
        if (g_strcmp0(sim_section_kind(sec), "lb") == 0)
            g_ptr_array_add(net->lbs, ps_lb_new(net, sec, &local));
    }
    for (guint i = 0; i < sim_scenario_n_sections(scenario) && !local; i++) {
        SimSection *sec = sim_scenario_section_at(scenario, i);
        if (g_strcmp0(sim_section_kind(sec), "workload") == 0)
            g_ptr_array_add(net->workloads, workload_new(net, sec, duration, &local));
    }
    for (guint i = 0; i < sim_scenario_n_sections(scenario) && !local; i++) {
        SimSection *sec = sim_scenario_section_at(scenario, i);
        if (g_strcmp0(sim_section_kind(sec), "listener") != 0)
            continue;
        PsListener *l = g_new0(PsListener, 1);
        l->section = sec;
        l->name = sim_section_name(sec);
        l->host = find_by_section(net->hosts, sim_section_reference(sec, "host"));
        l->port = (uint16_t)sim_section_int(sec, "port");
        l->at = sim_section_duration(sec, "at");
        l->until = duration;
        g_ptr_array_add(net->listeners, l);
    }
    for (guint i = 0; i < sim_scenario_n_sections(scenario) && !local; i++) {
        SimSection *sec = sim_scenario_section_at(scenario, i);
        if (g_strcmp0(sim_section_kind(sec), "monitor") == 0)
            g_ptr_array_add(net->monitors,
                            ps_monitor_new(net, sec,
                                           find_by_section(net->hosts,
                                                           sim_section_reference(sec, "host"))));
    }
    if (!local)
        ps_timeline_build(net, &local);
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
    ps_lb_finish(net);
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
    g_ptr_array_free(net->listeners, TRUE);
    g_ptr_array_free(net->monitors, TRUE);
    g_ptr_array_free(net->lbs, TRUE);
    g_ptr_array_free(net->nats, TRUE);
    ps_timeline_free(net);
    g_ptr_array_free(net->servers, TRUE);
    g_ptr_array_free(net->hosts, TRUE);
    g_array_free(net->conns, TRUE);
    g_array_free(net->free_conns, TRUE);
    ps_metrics_clear(&net->total);
    g_clear_error(&net->fault);
    g_free(net);
}

static void arrival_fire(void *ctx, uint64_t arg);

void ps_network_arrival_resume(PsWorkload *wl)
{
    SimTime next = ps_arrival_next(wl->arrival);
    wl->arrival_event = next != SIM_TIME_NEVER
                            ? sim_engine_at(wl->net->engine, next, arrival_fire, wl, 0)
                            : SIM_EVENT_NONE;
}

static void arrival_fire(void *ctx, uint64_t arg)
{
    PsWorkload *wl = ctx;
    wl->arrival_event = SIM_EVENT_NONE;
    const PsTraceRow *row = ps_arrival_row(wl->arrival);
    ps_tcp_attempt(wl->net, wl, row ? row->endpoint : -1, row ? row->hold : -1, PS_OPEN_LOOP, 1);
    if (wl->net->fault)
        return; /* a broken allocator: stop opening connections, drain */
    (void)arg;
    ps_network_arrival_resume(wl);
}

static void listener_fire(void *ctx, uint64_t arg)
{
    PsNetwork *net = ctx;
    ps_tcp_listener_bind(net, net->listeners->pdata[arg]);
}

void ps_network_start(PsNetwork *net)
{
    for (guint i = 0; i < net->listeners->len; i++) {
        PsListener *l = net->listeners->pdata[i];
        sim_engine_at(net->engine, l->at, listener_fire, net, i);
    }
    for (guint i = 0; i < net->workloads->len; i++) {
        PsWorkload *wl = net->workloads->pdata[i];
        if (!wl->arrival) {
            ps_users_start(wl);
            continue;
        }
        ps_network_arrival_resume(wl);
    }
    ps_timeline_start(net);
    ps_lb_start(net);
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

void ps_network_set_port_observer(PsNetwork *net, PsPortObserver fn, void *user_data)
{
    net->port_observer = fn;
    net->port_observer_data = user_data;
}

char *ps_network_event_owner(const PsNetwork *net, SimHandler handler, void *ctx, uint64_t arg)
{
    /* TCP segments and timers carry the network and a connection id;
     * arrivals carry their workload. */
    if (ctx == net && arg < net->conns->len) {
        const PsConn *c = &g_array_index(net->conns, PsConn, arg);
        if (c->wl)
            return g_strdup_printf("workload %s (a connection of host %s)", c->wl->name,
                                   c->wl->host->name);
    }
    for (guint i = 0; i < net->workloads->len; i++) {
        const PsWorkload *wl = net->workloads->pdata[i];
        if (ctx == wl)
            return g_strdup_printf("workload %s (its arrivals)", wl->name);
    }
    return ps_nat_event_owner(net, ctx);
}

const GError *ps_network_fault(const PsNetwork *net) { return net->fault; }

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
    return ps_nat_pools_empty(net);
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
    g_array_free(t->mark_times, TRUE);
    g_ptr_array_free(t->mark_labels, TRUE);
    g_free(t);
}

static char *rate_text(double per_s)
{
    return per_s >= 1000 && fmod(per_s, 100) == 0 ? g_strdup_printf("%gk/s", per_s / 1000)
                                                   : g_strdup_printf("%g/s", per_s);
}

/* Where a host's load changes abruptly: the steps of its workloads'
 * schedules (two points at one time), and where a ramp begins. */
static void schedule_marks(const PsNetwork *net, const PsHost *h, PsPlotTarget *t)
{
    for (guint w = 0; w < net->workloads->len; w++) {
        const PsWorkload *wl = net->workloads->pdata[w];
        const char *arrival = sim_section_text(wl->section, "arrival");
        if (wl->host != h || !sim_section_has(wl->section, "schedule") ||
            (g_strcmp0(arrival, "poisson") != 0 && g_strcmp0(arrival, "schedule") != 0))
            continue;
        const GArray *pts = sim_section_schedule(wl->section, "schedule");
        for (guint i = 1; i < pts->len; i++) {
            const SimSchedulePoint *a = &g_array_index(pts, SimSchedulePoint, i - 1);
            const SimSchedulePoint *b = &g_array_index(pts, SimSchedulePoint, i);
            if (a->rate == b->rate)
                continue;
            g_autofree char *from = rate_text(a->rate), *to = rate_text(b->rate);
            double at = sim_time_to_seconds(a->at);
            char *label = a->at == b->at
                              ? g_strdup_printf("%s: %s to %s", wl->name, from, to)
                              : g_strdup_printf("%s: ramp %s to %s", wl->name, from, to);
            g_array_append_val(t->mark_times, at);
            g_ptr_array_add(t->mark_labels, label);
        }
    }
}

GPtrArray *ps_network_plot_targets(const PsNetwork *net)
{
    GPtrArray *theory = ps_theory_hosts(net->scenario);
    GPtrArray *targets = g_ptr_array_new_with_free_func(plot_target_free);
    for (guint i = 0; i < net->hosts->len; i++) {
        PsHost *h = net->hosts->pdata[i];
        if (h->n_addresses == 0 || h->n_dests == 0)
            continue;
        guint ports = ps_pool_capacity(((PsPool *)h->pools->pdata[0])->ports);
        double capacity = (double)ports * h->n_addresses * h->n_dests;
        PsPlotTarget *t = g_new0(PsPlotTarget, 1);
        t->name = g_strconcat("host-", h->name, NULL);
        t->title = g_strdup_printf("%s: ephemeral ports in use", h->name);
        g_autofree char *tw = sim_duration_format(h->time_wait);
        t->subtitle = g_strdup_printf("%s allocator, range %lld-%lld, TIME_WAIT %s, "
                                      "%u address%s x %u destination%s",
                                      h->allocator_name, (long long)h->range.lo,
                                      (long long)h->range.hi, tw, h->n_addresses,
                                      h->n_addresses == 1 ? "" : "es", h->n_dests,
                                      h->n_dests == 1 ? "" : "s");
        t->col_active = g_strconcat(h->name, ".active", NULL);
        t->col_time_wait = g_strconcat(h->name, ".time_wait", NULL);
        t->col_failures = g_strconcat(h->name, ".failures_per_s", NULL);
        t->capacity = capacity;
        t->capacity_label = g_strdup_printf("capacity %.0f = %u ports x %u address%s x %u "
                                            "destination%s",
                                            capacity, ports, h->n_addresses,
                                            h->n_addresses == 1 ? "" : "es", h->n_dests,
                                            h->n_dests == 1 ? "" : "s");
        t->first_failure_s = h->m.first_failure == SIM_TIME_NEVER
                                 ? NAN
                                 : sim_time_to_seconds(h->m.first_failure);
        t->mark_times = g_array_new(FALSE, FALSE, sizeof(double));
        t->mark_labels = g_ptr_array_new_with_free_func(g_free);
        schedule_marks(net, h, t);
        for (guint m = 0; m < net->monitors->len; m++) {
            const PsMonitor *mon = net->monitors->pdata[m];
            if (mon->host != h || mon->first_alert == SIM_TIME_NEVER)
                continue;
            double at = sim_time_to_seconds(mon->first_alert);
            g_array_append_val(t->mark_times, at);
            g_ptr_array_add(t->mark_labels, g_strdup_printf("alert %s: %g%% of ports", mon->name,
                                                            mon->utilization * 100));
        }
        ps_timeline_marks(net, h, t->mark_times, t->mark_labels);
        ps_lb_marks(net, h, t->mark_times, t->mark_labels);
        /* The ceiling the capacity stands for, as a rate: K / T. */
        for (guint k = 0; theory && k < theory->len; k++) {
            const PsHostTheory *ht = theory->pdata[k];
            if (g_strcmp0(ht->host, h->name) == 0 && isfinite(ht->sustainable_per_s)) {
                char *sub = g_strdup_printf("%s; ceiling K/T = %.4g new connections/s",
                                            t->subtitle, ht->sustainable_per_s);
                g_free(t->subtitle);
                t->subtitle = sub;
            }
        }
        g_ptr_array_add(targets, t);
    }
    if (theory)
        g_ptr_array_unref(theory);
    ps_nat_plot_targets(net, targets);
    return targets;
}
