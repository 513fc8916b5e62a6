/* The closed-form side of portsim: capacities, holding times, the fluid
 * model of exhaustion and Erlang B, from the scenario alone (no run). */
#include "theory.h"

#include <math.h>
#include <string.h>

double ps_erlang_b(double erlangs, guint64 servers)
{
    if (erlangs <= 0)
        return 0.0;
    double b = 1.0;
    for (guint64 k = 1; k <= servers; k++)
        b = erlangs * b / ((double)k + erlangs * b);
    return b;
}

/* ---- the offered rate of one workload over time ---- */

typedef struct {
    GArray *points; /* SimSchedulePoint, first at 0 */
    double start, stop; /* seconds */
    double occupancy;   /* T of this workload */
    gboolean poisson;
    double handshake, hold, close, time_wait;
    double half_tick; /* included in time_wait */
    gboolean tw_reused; /* time_wait is tw_reuse_delay */
    gboolean udp;       /* protocol = udp: an exclusive port per query */
} Flow;

static double point_t(const GArray *p, guint i)
{
    return sim_time_to_seconds(g_array_index(p, SimSchedulePoint, i).at);
}

static double point_r(const GArray *p, guint i)
{
    return g_array_index(p, SimSchedulePoint, i).rate;
}

/* The schedule's rate at t; at a step (two points at one time) the later
 * one when `after`, else the earlier one. */
static double schedule_rate(const GArray *p, double t, gboolean after)
{
    guint n = p->len;
    if (t < point_t(p, 0))
        return point_r(p, 0);
    for (guint i = 0; i + 1 < n; i++) {
        double t0 = point_t(p, i), t1 = point_t(p, i + 1);
        if (t1 == t0) {
            if (t == t0 && !after)
                return point_r(p, i);
            continue;
        }
        if (t >= t0 && (t < t1 || (t == t1 && !after)))
            return point_r(p, i) + (point_r(p, i + 1) - point_r(p, i)) * (t - t0) / (t1 - t0);
    }
    return point_r(p, n - 1);
}

static double flow_rate(const Flow *f, double t, gboolean after)
{
    if (t < f->start || t > f->stop || (t == f->stop && after) || (t == f->start && !after))
        return 0.0;
    return schedule_rate(f->points, t, after);
}

/* Integral of the schedule's rate over [a, b], exact for piecewise-linear
 * rates: trapezoids between the points, the last rate held. */
static double schedule_integral(const GArray *p, double a, double b)
{
    if (b <= a)
        return 0.0;
    double sum = 0.0;
    guint n = p->len;
    for (guint i = 0; i + 1 < n; i++) {
        double t0 = point_t(p, i), t1 = point_t(p, i + 1);
        double lo = MAX(a, t0), hi = MIN(b, t1);
        if (hi <= lo)
            continue;
        double slope = (point_r(p, i + 1) - point_r(p, i)) / (t1 - t0);
        double r_lo = point_r(p, i) + slope * (lo - t0), r_hi = point_r(p, i) + slope * (hi - t0);
        sum += (r_lo + r_hi) / 2 * (hi - lo);
    }
    double last = point_t(p, n - 1);
    if (b > last)
        sum += point_r(p, n - 1) * (b - MAX(a, last));
    return sum;
}

/* Arrivals in [0, t]. */
static double flow_cumulative(const Flow *f, double t)
{
    return schedule_integral(f->points, f->start, MIN(t, f->stop));
}

/* Connections holding a 4-tuple at t in the fluid model: arrivals during
 * the last T. */
static double busy(const GPtrArray *flows, double t)
{
    double n = 0.0;
    for (guint i = 0; i < flows->len; i++) {
        const Flow *f = flows->pdata[i];
        n += flow_cumulative(f, t) - flow_cumulative(f, MAX(0.0, t - f->occupancy));
    }
    return n;
}

static double total_rate(const GPtrArray *flows, double t, gboolean after)
{
    double r = 0.0;
    for (guint i = 0; i < flows->len; i++)
        r += flow_rate(flows->pdata[i], t, after);
    return r;
}

static int compare_double(gconstpointer a, gconstpointer b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Times where the fluid model's pieces change: schedule points, starts and
 * stops, and each of them one holding time later. Between two of them N(t)
 * is a quadratic, so sub-steps and a bisection find its crossing. */
static GArray *breakpoints(const GPtrArray *flows, double duration)
{
    GArray *bp = g_array_new(FALSE, FALSE, sizeof(double));
    double zero = 0.0;
    g_array_append_val(bp, zero);
    g_array_append_val(bp, duration);
    for (guint i = 0; i < flows->len; i++) {
        const Flow *f = flows->pdata[i];
        double ts[] = {f->start, f->stop};
        for (guint k = 0; k < f->points->len + 2; k++) {
            double t = k < 2 ? ts[k] : point_t(f->points, k - 2);
            double later = t + f->occupancy;
            if (t >= 0 && t <= duration)
                g_array_append_val(bp, t);
            if (later <= duration)
                g_array_append_val(bp, later);
        }
    }
    g_array_sort(bp, compare_double);
    return bp;
}

static double first_crossing(const GPtrArray *flows, double capacity, double duration)
{
    /* A fluid count within a billionth of K counts as K: the integrals are
     * sums of floating-point products, and 5/s x 20 s must reach 100. */
    const double eps = 1e-9 * MAX(1.0, capacity);
    g_autoptr(GArray) bp = breakpoints(flows, duration);
    double prev = 0.0;
    if (busy(flows, 0.0) >= capacity - eps)
        return 0.0;
    for (guint i = 1; i < bp->len; i++) {
        double a = g_array_index(bp, double, i - 1), b = g_array_index(bp, double, i);
        if (b <= a)
            continue;
        enum { SUB = 64 };
        for (int s = 1; s <= SUB; s++) {
            double t = a + (b - a) * s / SUB;
            if (busy(flows, t) >= capacity - eps) {
                double lo = prev, hi = t;
                for (int it = 0; it < 100 && hi - lo > 1e-9; it++) {
                    double mid = (lo + hi) / 2;
                    if (busy(flows, mid) >= capacity - eps)
                        hi = mid;
                    else
                        lo = mid;
                }
                return hi;
            }
            prev = t;
        }
    }
    return NAN;
}

/* ---- per host ---- */

static guint64 reserved_in_range(const GArray *reserved, SimRange range)
{
    /* Reserved ranges may overlap one another: count each port once. */
    guint64 n = 0;
    for (int64_t p = range.lo; p <= range.hi; p++)
        for (guint i = 0; i < reserved->len; i++) {
            SimRange r = g_array_index(reserved, SimRange, i);
            if (p >= r.lo && p <= r.hi) {
                n++;
                break;
            }
        }
    return n;
}

static void flow_free(gpointer data)
{
    Flow *f = data;
    g_array_unref(f->points);
    g_free(f);
}

/* Keys other models may add to [host]: used when the schema has them. */
static gboolean host_has(const SimScenario *sc, SimSection *host, const char *key)
{
    const SimSectionDef *def = sim_schema_section(sim_scenario_schema(sc), "host");
    return sim_schema_key(def, key) != NULL && sim_section_has(host, key);
}

static gboolean any_loopback(const GArray *addresses)
{
    static const uint8_t v6_one[16] = {[15] = 1};
    for (guint i = 0; i < addresses->len; i++) {
        const SimAddress *a = &g_array_index(addresses, SimAddress, i);
        if ((a->family == 4 && a->bytes[0] == 127) ||
            (a->family != 4 && memcmp(a->bytes, v6_one, 16) == 0))
            return TRUE;
    }
    return FALSE;
}

/* tcp_tw_reuse lets connect() take over a TIME_WAIT 4-tuple older than
 * tw_reuse_delay: under pressure a 4-tuple is then held that long at most. */
static gboolean tw_reuse_applies(const SimScenario *sc, SimSection *host, SimSection *server)
{
    if (!host_has(sc, host, "tcp_tw_reuse") || !host_has(sc, host, "tw_reuse_delay"))
        return FALSE;
    const char *mode = sim_section_text(host, "tcp_tw_reuse");
    return strcmp(mode, "1") == 0 ||
           (strcmp(mode, "2") == 0 && (any_loopback(sim_section_addresses(host, "addresses")) ||
                                       any_loopback(sim_section_addresses(server, "addresses"))));
}

/* lb: the backend leg of a workload through a proxy [lb] whose host is
 * `host` (NULL: the workload's own connections). */
static Flow *flow_new(const SimScenario *sc, SimSection *wl, SimSection *host, double duration,
                      SimSection *lb)
{
    Flow *f = g_new0(Flow, 1);
    const char *arrival = sim_section_text(wl, "arrival");
    gboolean schedule = sim_section_has(wl, "schedule") && strcmp(arrival, "constant") != 0;
    if (schedule)
        f->points = g_array_copy((GArray *)sim_section_schedule(wl, "schedule"));
    else {
        f->points = g_array_new(FALSE, FALSE, sizeof(SimSchedulePoint));
        SimSchedulePoint p = {0, sim_section_rate(wl, "rate")};
        g_array_append_val(f->points, p);
    }
    /* The fluid model follows `rate` or `schedule`: diurnal, onoff and trace
     * arrivals are not modelled (their `rate` is the peak, or unused). */
    double scale = sim_section_float(wl, "rate_scale");
    for (guint i = 0; i < f->points->len; i++)
        g_array_index(f->points, SimSchedulePoint, i).rate *= scale;
    f->poisson = strcmp(arrival, "poisson") == 0;
    f->start = sim_time_to_seconds(sim_section_duration(wl, "start"));
    f->stop = sim_section_has(wl, "stop") ? sim_time_to_seconds(sim_section_duration(wl, "stop"))
                                          : duration;
    f->stop = MIN(f->stop, duration);
    double d = sim_time_to_seconds(sim_section_duration(wl, "delay"));
    gboolean server_closes = strcmp(sim_section_text(wl, "closer"), "server") == 0;
    gboolean linger0 = sim_section_bool(host, "linger0");
    f->hold = sim_time_to_seconds(sim_section_distribution(wl, "hold")->mean);
    guint64 requests = (guint64)sim_section_int(wl, "requests");
    if (lb && requests > 0 && strcmp(sim_section_text(lb, "backend_per"), "request") == 0) {
        /* One backend connection per request (lb.c): rate x requests, each
         * held a backend round trip plus the service time; the first also
         * waits for the client's SYN-ACK and request (two client delays). */
        for (guint i = 0; i < f->points->len; i++)
            g_array_index(f->points, SimSchedulePoint, i).rate *= (double)requests;
        double db = sim_time_to_seconds(sim_section_duration(lb, "backend_delay"));
        f->hold = sim_time_to_seconds(sim_section_distribution(wl, "service")->mean) + 2 * db +
                  2 * d / (double)requests;
        d = db;
        server_closes = strcmp(sim_section_text(lb, "backend_closer"), "backend") == 0;
    } else if (lb) {
        /* A backend connection lives through the client's SYN-ACK and ACK
         * and until the client's FIN reaches the proxy: its hold is the
         * client connection's plus three client-side one-way delays. */
        f->hold += 3 * d;
        d = sim_time_to_seconds(sim_section_duration(lb, "backend_delay"));
        server_closes = strcmp(sim_section_text(lb, "backend_closer"), "backend") == 0;
    }
    /* See theory.h: when the client's side of the 4-tuple is CLOSED. */
    if (server_closes) {
        f->handshake = 4 * d; /* to ESTABLISHED, then the server's FIN's way back */
        f->close = linger0 ? 0 : 2 * d;
    } else {
        f->handshake = 2 * d;
        f->close = linger0 ? 0 : 2 * d;
        f->time_wait = linger0 ? 0 : sim_time_to_seconds(sim_section_duration(host, "time_wait"));
        /* A timer wheel ends TIME_WAIT at its next tick: half a tick later
         * on average, for closes spread evenly over the ticks. */
        if (f->time_wait > 0 && host_has(sc, host, "time_wait_granularity"))
            f->half_tick =
                sim_time_to_seconds(sim_section_duration(host, "time_wait_granularity")) / 2;
        double reuse = tw_reuse_applies(sc, host, sim_section_reference(wl, "target"))
                           ? sim_time_to_seconds(sim_section_duration(host, "tw_reuse_delay"))
                           : INFINITY;
        if (reuse < f->time_wait + f->half_tick) {
            f->time_wait = reuse;
            f->half_tick = 0;
            f->tw_reused = TRUE;
        }
        f->time_wait += f->half_tick;
    }
    if (strcmp(sim_section_text(wl, "protocol"), "udp") == 0) {
        /* A UDP query holds its port for the round trip and the service
         * time only (tcp.c udp_query()). */
        f->handshake = 2 * d;
        f->hold = sim_time_to_seconds(sim_section_distribution(wl, "service")->mean);
        f->close = f->time_wait = f->half_tick = 0;
        f->tw_reused = FALSE;
        f->udp = TRUE;
    }
    f->occupancy = f->handshake + f->hold + f->close + f->time_wait;
    return f;
}

static void theory_free(gpointer data)
{
    PsHostTheory *h = data;
    g_free(h->host);
    g_free(h);
}

/* The step up (two schedule points at one time, or a workload's start)
 * that the first failure follows within one holding time. */
static void find_step(PsHostTheory *h, const GPtrArray *flows)
{
    if (flows->len != 1 || isnan(h->first_failure_s))
        return;
    const Flow *f = flows->pdata[0];
    double best = -1;
    if (f->start <= h->first_failure_s)
        best = f->start;
    for (guint i = 0; i + 1 < f->points->len; i++) {
        double t = point_t(f->points, i);
        if (t == point_t(f->points, i + 1) && point_r(f->points, i + 1) > point_r(f->points, i) &&
            t >= f->start && t <= h->first_failure_s && t > best)
            best = t;
    }
    if (best < 0 || h->first_failure_s - best > f->occupancy)
        return;
    h->has_step = TRUE;
    h->step_at_s = best;
    h->step_from_per_s = flow_rate(f, best, FALSE);
    h->step_to_per_s = flow_rate(f, best, TRUE);
}

void ps_theory_add_dests(GHashTable *dests, SimSection *server)
{
    const GArray *addrs = sim_section_addresses(server, "addresses");
    const GArray *ports = sim_section_range_list(server, "ports");
    for (guint a = 0; a < addrs->len; a++)
        for (guint p = 0; p < ports->len; p++) {
            SimRange r = g_array_index(ports, SimRange, p);
            char abuf[SIM_ADDRESS_STRLEN];
            sim_address_format(&g_array_index(addrs, SimAddress, a), abuf);
            for (int64_t port = r.lo; port <= r.hi; port++)
                g_hash_table_add(dests, g_strdup_printf("%s:%lld", abuf, (long long)port));
        }
}

/* A proxy [lb] without keepalive opens one backend connection per client
 * connection, or per request (backend_per = request with `requests`), from
 * `host`: the clients' workloads are the host's flows,
 * and the backends' endpoints its destinations (docs/load-balancers.md).
 * With a keepalive pool the backend rate depends on reuse: not modelled. */
static void proxy_flows(const SimScenario *sc, SimSection *host, double duration,
                        GPtrArray *flows, GHashTable *dests)
{
    for (guint i = 0; i < sim_scenario_n_sections(sc); i++) {
        SimSection *lb = sim_scenario_section_at(sc, i);
        if (strcmp(sim_section_kind(lb), "lb") != 0 ||
            strcmp(sim_section_text(lb, "mode"), "proxy") != 0 || !sim_section_has(lb, "host") ||
            sim_section_reference(lb, "host") != host ||
            strcmp(sim_section_text(lb, "keepalive"), "off") != 0)
            continue;
        gboolean used = FALSE;
        for (guint j = 0; j < sim_scenario_n_sections(sc); j++) {
            SimSection *wl = sim_scenario_section_at(sc, j);
            if (strcmp(sim_section_kind(wl), "workload") != 0 ||
                sim_section_reference(wl, "target") != lb)
                continue;
            g_ptr_array_add(flows, flow_new(sc, wl, host, duration, lb));
            used = TRUE;
        }
        if (!used)
            continue;
        g_auto(GStrv) items = g_strsplit(sim_section_text(lb, "backends"), ",", -1);
        for (guint k = 0; items[k]; k++) {
            g_auto(GStrv) words = g_regex_split_simple("\\s+", g_strstrip(items[k]), 0, 0);
            guint n = g_strv_length(words);
            SimSection *server =
                n >= 1 ? sim_scenario_find(sc, "server", words[n - 1]) : NULL;
            if (server)
                ps_theory_add_dests(dests, server);
        }
    }
}

GPtrArray *ps_theory_hosts(const SimScenario *scenario)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(theory_free);
    SimSection *sc = sim_scenario_find(scenario, "scenario", NULL);
    double duration = sim_time_to_seconds(sim_section_duration(sc, "duration"));
    for (guint i = 0; i < sim_scenario_n_sections(scenario); i++) {
        SimSection *host = sim_scenario_section_at(scenario, i);
        if (strcmp(sim_section_kind(host), "host") != 0)
            continue;
        GPtrArray *flows = g_ptr_array_new_with_free_func(flow_free);
        GHashTable *dests = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        for (guint j = 0; j < sim_scenario_n_sections(scenario); j++) {
            SimSection *wl = sim_scenario_section_at(scenario, j);
            if (strcmp(sim_section_kind(wl), "workload") != 0 ||
                sim_section_reference(wl, "host") != host)
                continue;
            g_ptr_array_add(flows, flow_new(scenario, wl, host, duration, NULL));
            SimSection *server = sim_section_reference(wl, "target");
            const GArray *addrs = sim_section_addresses(server, "addresses");
            const GArray *ports = sim_section_range_list(server, "ports");
            for (guint a = 0; a < addrs->len; a++)
                for (guint p = 0; p < ports->len; p++) {
                    SimRange r = g_array_index(ports, SimRange, p);
                    char abuf[SIM_ADDRESS_STRLEN];
                    sim_address_format(&g_array_index(addrs, SimAddress, a), abuf);
                    for (int64_t port = r.lo; port <= r.hi; port++)
                        g_hash_table_add(dests, g_strdup_printf("%s:%lld", abuf,
                                                                (long long)port));
                }
        }
        proxy_flows(scenario, host, duration, flows, dests);
        if (flows->len == 0) {
            g_ptr_array_unref(flows);
            g_hash_table_unref(dests);
            continue;
        }
        PsHostTheory *h = g_new0(PsHostTheory, 1);
        h->host = g_strdup(sim_section_name(host));
        /* "first", and "hash" (one address per destination), put each
         * destination's connections on one address. */
        const char *selection = sim_section_text(host, "address_selection");
        gboolean first_only = strcmp(selection, "first") == 0 || strcmp(selection, "hash") == 0;
        h->addresses = first_only ? 1 : sim_section_addresses(host, "addresses")->len;
        h->destinations = g_hash_table_size(dests);
        /* A port bound first, or every port under host-wide sharing, serves
         * one connection whatever its destination. */
        h->exclusive = (sim_section_bool(host, "bind_before_connect") &&
                        !(host_has(scenario, host, "bind_address_no_port") &&
                          sim_section_bool(host, "bind_address_no_port"))) ||
                       (host_has(scenario, host, "port_sharing") &&
                        strcmp(sim_section_text(host, "port_sharing"), "host-wide") == 0);
        SimRange range = sim_section_range(host, "ephemeral_range");
        h->range_ports = (guint64)(range.hi - range.lo + 1);
        h->reserved = reserved_in_range(sim_section_range_list(host, "reserved_ports"), range);
        h->ports = h->range_ports - h->reserved;
        /* UDP sockets hold their port toward everyone. */
        gboolean all_udp = TRUE;
        for (guint k = 0; k < flows->len; k++)
            all_udp = all_udp && ((const Flow *)flows->pdata[k])->udp;
        h->exclusive = h->exclusive || all_udp;
        h->capacity = h->ports * h->addresses * (h->exclusive ? 1 : h->destinations);
        /* Rate weights: each workload's mean offered rate over its active span. */
        double wsum = 0.0;
        h->poisson = TRUE;
        for (guint k = 0; k < flows->len; k++) {
            const Flow *f = flows->pdata[k];
            double span = MAX(f->stop - f->start, 1e-9);
            double w = schedule_integral(f->points, f->start, f->stop) / span;
            if (flows->len == 1)
                w = 1.0;
            wsum += w;
            h->handshake_s += w * f->handshake;
            h->hold_s += w * f->hold;
            h->close_s += w * f->close;
            h->time_wait_s += w * f->time_wait;
            h->half_tick_s += w * f->half_tick;
            h->poisson = h->poisson && f->poisson;
            h->tw_reuse = h->tw_reuse || f->tw_reused;
        }
        if (wsum > 0) {
            h->handshake_s /= wsum;
            h->hold_s /= wsum;
            h->close_s /= wsum;
            h->time_wait_s /= wsum;
            h->half_tick_s /= wsum;
        }
        h->occupancy_s = h->handshake_s + h->hold_s + h->close_s + h->time_wait_s;
        h->sustainable_per_s = h->occupancy_s > 0 ? h->capacity / h->occupancy_s : INFINITY;
        g_autoptr(GArray) bp = breakpoints(flows, duration);
        h->base_per_s = total_rate(flows, 0.0, TRUE);
        for (guint k = 0; k < flows->len; k++) {
            const Flow *f = flows->pdata[k];
            if (h->base_per_s == 0.0)
                h->base_per_s = total_rate(flows, f->start, TRUE);
        }
        for (guint k = 0; k < bp->len; k++) {
            double t = g_array_index(bp, double, k);
            h->peak_per_s = MAX(h->peak_per_s, MAX(total_rate(flows, t, TRUE),
                                                   total_rate(flows, t, FALSE)));
        }
        h->first_failure_s = first_crossing(flows, (double)h->capacity, duration);
        find_step(h, flows);
        /* Erlang B per (address, destination) pool: the load splits evenly
         * over the pools used in turn. */
        double pools = (double)h->addresses * (h->exclusive ? 1 : h->destinations);
        h->blocking_base = ps_erlang_b(h->base_per_s * h->occupancy_s / pools, h->ports);
        h->blocking_peak = ps_erlang_b(h->peak_per_s * h->occupancy_s / pools, h->ports);
        g_ptr_array_add(out, h);
        g_ptr_array_unref(flows);
        g_hash_table_unref(dests);
    }
    return out;
}

gboolean ps_theory_single_pool(const SimScenario *scenario)
{
    g_autoptr(GPtrArray) hosts = ps_theory_hosts(scenario);
    if (hosts->len != 1)
        return FALSE;
    const PsHostTheory *h = hosts->pdata[0];
    return h->addresses == 1 && (h->destinations == 1 || h->exclusive) && h->poisson &&
           h->base_per_s == h->peak_per_s;
}
