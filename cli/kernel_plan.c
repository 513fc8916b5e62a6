/* Scenario -> kernel replay plan, refusing what a namespace cannot do. */
#include "kernel_plan.h"

#include <arpa/inet.h>
#include <math.h>
#include <string.h>

#include "sim_error.h"

static void host_free(gpointer p)
{
    KrHost *h = p;
    g_free(h->name);
    g_array_free(h->sources, TRUE);
    g_free(h);
}

static void workload_free(gpointer p)
{
    KrWorkload *w = p;
    g_free(w->name);
    if (w->destinations)
        g_array_free(w->destinations, TRUE);
    if (w->points) /* absent when the plan was refused half-way */
        g_array_free(w->points, TRUE);
    g_free(w);
}

void kr_plan_free(KrPlan *plan)
{
    if (!plan)
        return;
    g_free(plan->reserved_ports);
    if (plan->notes)
        g_string_free(plan->notes, TRUE);
    g_ptr_array_free(plan->hosts, TRUE);
    g_ptr_array_free(plan->workloads, TRUE);
    g_array_free(plan->listeners, TRUE);
    g_ptr_array_free(plan->mapping, TRUE);
    g_ptr_array_free(plan->host_names, TRUE);
    g_ptr_array_free(plan->server_names, TRUE);
    g_ptr_array_free(plan->workload_names, TRUE);
    g_free(plan);
}

/* Keys added to the schema by later work are read only when declared:
 * sim_section_has() treats an undeclared key as a programming error. */
static gboolean has_key(const SimScenario *sc, const SimSection *sec, const char *key)
{
    const SimSectionDef *def =
        sim_schema_section(sim_scenario_schema(sc), sim_section_kind(sec));
    return def && sim_schema_key(def, key) && sim_section_has(sec, key);
}

static gboolean bool_key(const SimScenario *sc, const SimSection *sec, const char *key)
{
    return has_key(sc, sec, key) && sim_section_bool(sec, key);
}

/* Scenario address -> loopback address. 127.0.0.0/8 is local on lo in a
 * fresh namespace, so loopback addresses stand for themselves and others
 * get fresh ones from 127.1.0.0/16 upward. */
typedef struct {
    GHashTable *map; /* canonical text -> GUINT_TO_POINTER(s_addr) */
    GHashTable *taken;
    guint32 next; /* host order */
    GPtrArray *lines;
} AddrMap;

static gboolean map_address(AddrMap *m, const SimSection *sec, const char *key,
                            const SimAddress *a, struct in_addr *out, GError **error)
{
    char text[SIM_ADDRESS_STRLEN];
    sim_address_format(a, text);
    if (a->family != 4)
        return sim_section_error(sec, key, error,
                                 "%s is IPv6: portsim kernel replays IPv4 only (map the "
                                 "scenario to IPv4 addresses to compare it with the kernel)",
                                 text);
    gpointer found;
    if (g_hash_table_lookup_extended(m->map, text, NULL, &found)) {
        out->s_addr = GPOINTER_TO_UINT(found);
        return TRUE;
    }
    guint32 s_addr;
    if (sim_address_is_loopback(a)) {
        memcpy(&s_addr, a->bytes, 4);
    } else {
        do
            s_addr = htonl(m->next++);
        while (g_hash_table_contains(m->taken, GUINT_TO_POINTER(s_addr)));
    }
    g_hash_table_add(m->taken, GUINT_TO_POINTER(s_addr));
    g_hash_table_insert(m->map, g_strdup(text), GUINT_TO_POINTER(s_addr));
    out->s_addr = s_addr;
    char mapped[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, out, mapped, sizeof mapped);
    g_ptr_array_add(m->lines, g_strdup_printf("%s %s -> %s%s", sim_section_label(sec), text,
                                              mapped,
                                              sim_address_is_loopback(a) ? " (unchanged)" : ""));
    return TRUE;
}

/* Loopback addresses of the file are claimed first so a mapped address
 * never collides with one the scenario names itself. */
static void claim_loopbacks(const SimScenario *sc, AddrMap *m)
{
    for (guint i = 0; i < sim_scenario_n_sections(sc); i++) {
        SimSection *sec = sim_scenario_section_at(sc, i);
        const char *kind = sim_section_kind(sec);
        if (strcmp(kind, "host") && strcmp(kind, "server"))
            continue;
        const GArray *addrs = sim_section_addresses(sec, "addresses");
        for (guint j = 0; j < addrs->len; j++) {
            const SimAddress *a = &g_array_index(addrs, SimAddress, j);
            if (a->family == 4 && sim_address_is_loopback(a)) {
                guint32 s;
                memcpy(&s, a->bytes, 4);
                g_hash_table_add(m->taken, GUINT_TO_POINTER(s));
            }
        }
    }
}

static int parse_tw_reuse(const char *text)
{
    if (!g_ascii_strcasecmp(text, "2") || !g_ascii_strcasecmp(text, "loopback"))
        return 2;
    gboolean b = FALSE;
    if (sim_parse_bool(text, &b, NULL))
        return b ? 1 : 0;
    return 1;
}

static gboolean check_time_wait(const SimSection *sec, GError **error)
{
    SimTime tw = sim_section_duration(sec, "time_wait");
    if (tw == KR_TIME_WAIT)
        return TRUE;
    g_autofree char *text = sim_duration_format(tw);
    return sim_section_error(sec, "time_wait", error,
                             "TIME_WAIT is %s, but Linux fixes it at 60 s "
                             "(TCP_TIMEWAIT_LEN); use --scale %g to stretch the scenario's "
                             "times (and divide its rates) so TIME_WAIT becomes 60 s",
                             text, 60.0 / sim_time_to_seconds(tw));
}

static gboolean add_host(KrPlan *plan, const SimScenario *sc, SimSection *sec, AddrMap *m,
                         GError **error)
{
    if (!check_time_wait(sec, error))
        return FALSE;
    if (g_strcmp0(sim_section_text(sec, "allocator"), "linux") != 0)
        return sim_section_error(sec, "allocator", error,
                                 "the kernel chooses ports its own way: only allocator = "
                                 "linux can be compared with it");
    SimRange r = sim_section_range(sec, "ephemeral_range");
    const char *reserved = sim_section_text(sec, "reserved_ports");
    const char *reuse_key = has_key(sc, sec, "tcp_tw_reuse") ? "tcp_tw_reuse"
                            : has_key(sc, sec, "tw_reuse")   ? "tw_reuse"
                                                             : NULL;
    int tw_reuse = reuse_key ? parse_tw_reuse(sim_section_text(sec, reuse_key)) : 0;
    int delay_ms = has_key(sc, sec, "tw_reuse_delay")
                       ? (int)(sim_section_duration(sec, "tw_reuse_delay") / SIM_MS)
                       : -1;
    int64_t buckets = has_key(sc, sec, "max_tw_buckets") ? sim_section_int(sec, "max_tw_buckets")
                                                         : -1;
    if (has_key(sc, sec, "port_sharing") &&
        g_strcmp0(sim_section_text(sec, "port_sharing"), "per-destination") != 0)
        return sim_section_error(sec, "port_sharing", error,
                                 "Linux shares connect()-chosen ports per destination: only "
                                 "port_sharing = per-destination can be compared with it");
    if (g_strcmp0(sim_section_text(sec, "address_selection"), "hash") == 0)
        return sim_section_error(sec, "address_selection", error,
                                 "portsim kernel replays round-robin and first only");
    if (plan->hosts->len == 0) {
        plan->range_lo = (int)r.lo;
        plan->range_hi = (int)r.hi;
        plan->reserved_ports = g_strdup(reserved);
        plan->tw_reuse = tw_reuse;
        plan->tw_reuse_delay_ms = delay_ms;
        plan->max_tw_buckets = buckets;
    } else if (plan->range_lo != r.lo || plan->range_hi != r.hi)
        return sim_section_error(sec, "ephemeral_range", error,
                                 "every host shares the namespace's ip_local_port_range, "
                                 "so all hosts need the same range (the first has %d-%d)",
                                 plan->range_lo, plan->range_hi);
    else if (strcmp(plan->reserved_ports, reserved) != 0)
        return sim_section_error(sec, "reserved_ports", error,
                                 "every host shares the namespace's ip_local_reserved_ports, "
                                 "so all hosts need the same reserved ports");
    else if (plan->tw_reuse != tw_reuse)
        return sim_section_error(sec, reuse_key, error,
                                 "every host shares the namespace's tcp_tw_reuse");
    else if (plan->tw_reuse_delay_ms != delay_ms)
        return sim_section_error(sec, "tw_reuse_delay", error,
                                 "every host shares the namespace's tcp_tw_reuse_delay");
    else if (plan->max_tw_buckets != buckets)
        return sim_section_error(sec, "max_tw_buckets", error,
                                 "every host shares the namespace's tcp_max_tw_buckets");
    KrHost *h = g_new0(KrHost, 1);
    h->name = g_strdup(sim_section_name(sec));
    h->sources = g_array_new(FALSE, FALSE, sizeof(struct in_addr));
    h->round_robin = g_strcmp0(sim_section_text(sec, "address_selection"), "round-robin") == 0;
    h->bind_before_connect = bool_key(sc, sec, "bind_before_connect");
    h->linger0 = bool_key(sc, sec, "linger0");
    h->bind_address_no_port = bool_key(sc, sec, "bind_address_no_port");
    if (has_key(sc, sec, "local_port_range")) {
        SimRange lpr = sim_section_range(sec, "local_port_range");
        h->local_port_lo = (int)lpr.lo;
        h->local_port_hi = (int)lpr.hi;
    }
    g_ptr_array_add(plan->hosts, h);
    g_ptr_array_add(plan->host_names, g_strdup(h->name));
    const GArray *addrs = sim_section_addresses(sec, "addresses");
    for (guint j = 0; j < addrs->len; j++) {
        struct in_addr in;
        if (!map_address(m, sec, "addresses", &g_array_index(addrs, SimAddress, j), &in, error))
            return FALSE;
        g_array_append_val(h->sources, in);
    }
    return TRUE;
}

/* A server's destinations in the simulator's order: addresses, then ports. */
static gboolean server_destinations(const SimSection *sec, AddrMap *m, GArray *out,
                                    GError **error)
{
    const GArray *addrs = sim_section_addresses(sec, "addresses");
    const GArray *ports = sim_section_range_list(sec, "ports");
    for (guint a = 0; a < addrs->len; a++) {
        struct in_addr in;
        if (!map_address(m, sec, "addresses", &g_array_index(addrs, SimAddress, a), &in, error))
            return FALSE;
        for (guint p = 0; p < ports->len; p++) {
            SimRange r = g_array_index(ports, SimRange, p);
            for (int64_t port = r.lo; port <= r.hi; port++) {
                struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr = in,
                                          .sin_port = htons((uint16_t)port)};
                g_array_append_val(out, sin);
            }
        }
    }
    return TRUE;
}

static KrHost *find_host(KrPlan *plan, const char *name)
{
    for (guint i = 0; i < plan->hosts->len; i++) {
        KrHost *h = plan->hosts->pdata[i];
        if (!strcmp(h->name, name))
            return h;
    }
    return NULL;
}

static gboolean add_workload(KrPlan *plan, SimSection *sec, AddrMap *m, double *total_rate,
                             GError **error)
{
    if (sim_section_duration(sec, "delay") > 0)
        return sim_section_error(sec, "delay", error,
                                 "a link delay cannot be replayed on loopback; set delay = 0 "
                                 "to compare with the kernel");
    /* Workload features the replay driver does not implement: refused
     * rather than silently replayed as something else. */
    const char *arrival_kind = sim_section_text(sec, "arrival");
    if (strcmp(arrival_kind, "constant") && strcmp(arrival_kind, "poisson") &&
        strcmp(arrival_kind, "schedule"))
        return sim_section_error(sec, "arrival", error,
                                 "portsim kernel replays constant, poisson and schedule "
                                 "arrivals only");
    static const char *const unset_keys[] = {"users", "connect_timeout", "idle_timeout", NULL};
    for (guint i = 0; unset_keys[i]; i++)
        if (sim_section_has(sec, unset_keys[i]))
            return sim_section_error(sec, unset_keys[i], error,
                                     "portsim kernel cannot replay `%s`", unset_keys[i]);
    if (sim_section_float(sec, "loss") > 0 || sim_section_duration(sec, "jitter") > 0 ||
        sim_section_int(sec, "requests") > 0 || sim_section_float(sec, "rate_scale") != 1.0 ||
        strcmp(sim_section_text(sec, "retry"), "none") != 0)
        return sim_section_error(sec, NULL, error,
                                 "portsim kernel cannot replay loss, jitter, requests, "
                                 "rate_scale or retry; leave them at their defaults");
    SimSection *target = sim_section_reference(sec, "target");
    if (strcmp(sim_section_kind(target), "server") != 0)
        return sim_section_error(sec, "target", error,
                                 "portsim kernel replays workloads toward servers only");
    if (sim_section_has(target, "idle_timeout"))
        return sim_section_error(target, "idle_timeout", error,
                                 "portsim kernel cannot replay `idle_timeout`");
    KrWorkload *w = g_new0(KrWorkload, 1);
    g_ptr_array_add(plan->workloads, w);
    w->name = g_strdup(sim_section_name(sec));
    g_ptr_array_add(plan->workload_names, g_strdup(w->name));
    w->host = find_host(plan, sim_section_name(sim_section_reference(sec, "host")));
    w->destinations = g_array_new(FALSE, FALSE, sizeof(struct sockaddr_in));
    if (!server_destinations(target, m, w->destinations, error))
        return FALSE;
    w->hold = *sim_section_distribution(sec, "hold");
    w->server_closes = g_strcmp0(sim_section_text(sec, "closer"), "server") == 0;
    /* The server's TIME_WAIT matters only when it closes first. */
    if (w->server_closes && !check_time_wait(target, error))
        return FALSE;
    const char *arrival = sim_section_text(sec, "arrival");
    gboolean has_schedule = sim_section_has(sec, "schedule");
    if (!strcmp(arrival, "schedule") && !has_schedule)
        return sim_section_error(sec, "arrival", error,
                                 "arrival = schedule needs a `schedule` key");
    w->poisson = !strcmp(arrival, "poisson");
    if (has_schedule && strcmp(arrival, "constant") != 0) {
        w->points = g_array_copy((GArray *)sim_section_schedule(sec, "schedule"));
    } else {
        w->points = g_array_new(FALSE, FALSE, sizeof(SimSchedulePoint));
        SimSchedulePoint p = {0, sim_section_rate(sec, "rate")};
        g_array_append_val(w->points, p);
    }
    double peak = 0;
    for (guint i = 0; i < w->points->len; i++)
        peak = fmax(peak, g_array_index(w->points, SimSchedulePoint, i).rate);
    *total_rate += peak;
    if (*total_rate > KR_MAX_RATE)
        return sim_section_error(sec, has_schedule ? "schedule" : "rate", error,
                                 "the workloads reach %.0f attempts/s; portsim kernel replays "
                                 "at most %.0f/s (use --scale to slow the scenario down)",
                                 *total_rate, KR_MAX_RATE);
    w->start = sim_section_duration(sec, "start");
    w->stop = sim_section_has(sec, "stop") ? sim_section_duration(sec, "stop") : plan->duration;
    if (w->stop > plan->duration)
        w->stop = plan->duration;
    return TRUE;
}

static void add_listeners(KrPlan *plan, const GArray *dests)
{
    for (guint i = 0; i < dests->len; i++) {
        const struct sockaddr_in *d = &g_array_index(dests, struct sockaddr_in, i);
        gboolean seen = FALSE;
        for (guint j = 0; j < plan->listeners->len && !seen; j++) {
            const struct sockaddr_in *l = &g_array_index(plan->listeners, struct sockaddr_in, j);
            seen = l->sin_addr.s_addr == d->sin_addr.s_addr && l->sin_port == d->sin_port;
        }
        if (!seen)
            g_array_append_val(plan->listeners, *d);
    }
}

static gboolean all_loopback(const GArray *addrs, gboolean want)
{
    for (guint i = 0; i < addrs->len; i++)
        if (sim_address_is_loopback(&g_array_index(addrs, SimAddress, i)) != want)
            return FALSE;
    return TRUE;
}

/* tcp_tw_reuse = 2 reuses only where the source or destination is
 * loopback. In the namespace everything is loopback, so the scenario's own
 * addresses decide: all loopback keeps 2, none turns reuse off. */
static gboolean settle_loopback_reuse(KrPlan *plan, const SimScenario *sc, GError **error)
{
    if (plan->tw_reuse != 2)
        return TRUE;
    guint loop = 0, other = 0;
    SimSection *mixed = NULL;
    for (guint i = 0; i < sim_scenario_n_sections(sc); i++) {
        SimSection *sec = sim_scenario_section_at(sc, i);
        if (strcmp(sim_section_kind(sec), "workload"))
            continue;
        const GArray *src = sim_section_addresses(sim_section_reference(sec, "host"), "addresses");
        const GArray *dst =
            sim_section_addresses(sim_section_reference(sec, "target"), "addresses");
        if (all_loopback(src, TRUE) || all_loopback(dst, TRUE))
            loop++;
        else if (all_loopback(src, FALSE) && all_loopback(dst, FALSE))
            other++;
        else
            mixed = sec;
    }
    if (mixed || (loop && other))
        return sim_section_error(mixed ? mixed : sim_scenario_find(sc, "scenario", NULL), NULL,
                                 error,
                                 "tcp_tw_reuse = 2 (loopback only) applies to some "
                                 "connections and not others; on the kernel every address is "
                                 "loopback, so set tcp_tw_reuse to 0 or 1 to replay this");
    if (other) {
        plan->tw_reuse = 0;
        g_string_append(plan->notes,
                        "tcp_tw_reuse = 2 reuses TIME_WAIT on loopback only and the "
                        "scenario's addresses are not loopback: the namespace gets 0\n");
    }
    return TRUE;
}

KrPlan *kr_plan_new(const SimScenario *sc, GError **error)
{
    KrPlan *plan = g_new0(KrPlan, 1);
    plan->hosts = g_ptr_array_new_with_free_func(host_free);
    plan->workloads = g_ptr_array_new_with_free_func(workload_free);
    plan->listeners = g_array_new(FALSE, FALSE, sizeof(struct sockaddr_in));
    plan->mapping = g_ptr_array_new_with_free_func(g_free);
    plan->host_names = g_ptr_array_new_with_free_func(g_free);
    plan->server_names = g_ptr_array_new_with_free_func(g_free);
    plan->workload_names = g_ptr_array_new_with_free_func(g_free);
    plan->reserved_ports = NULL;
    plan->notes = g_string_new(NULL);
    SimSection *scen = sim_scenario_find(sc, "scenario", NULL);
    plan->duration = sim_section_duration(scen, "duration");
    plan->seed = (uint64_t)sim_section_int(scen, "seed");

    AddrMap m = {g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
                 g_hash_table_new(g_direct_hash, g_direct_equal), 0x7F010001u, plan->mapping};
    claim_loopbacks(sc, &m);
    gboolean ok = TRUE;
    double total_rate = 0;
    /* Hosts and servers before workloads, which refer to them. */
    for (int pass = 0; pass < 2 && ok; pass++)
        for (guint i = 0; i < sim_scenario_n_sections(sc) && ok; i++) {
            SimSection *sec = sim_scenario_section_at(sc, i);
            const char *kind = sim_section_kind(sec);
            if (pass == 0 && !strcmp(kind, "host")) {
                ok = add_host(plan, sc, sec, &m, error);
            } else if (pass == 0 && !strcmp(kind, "server")) {
                g_ptr_array_add(plan->server_names, g_strdup(sim_section_name(sec)));
                GArray *dests = g_array_new(FALSE, FALSE, sizeof(struct sockaddr_in));
                ok = server_destinations(sec, &m, dests, error);
                add_listeners(plan, dests);
                g_array_free(dests, TRUE);
            } else if (pass == 1 && !strcmp(kind, "workload")) {
                ok = add_workload(plan, sec, &m, &total_rate, error);
            } else if (pass == 0 && strcmp(kind, "scenario") && strcmp(kind, "expect") &&
                       strcmp(kind, "host") && strcmp(kind, "server") &&
                       strcmp(kind, "workload")) {
                ok = sim_section_error(sec, NULL, error,
                                       "portsim kernel cannot replay a [%s] section on a "
                                       "kernel (it replays client hosts, servers and "
                                       "workloads only)",
                                       kind);
            }
        }
    if (ok && plan->hosts->len > 0)
        ok = settle_loopback_reuse(plan, sc, error);
    if (ok && plan->hosts->len == 0) {
        g_set_error(error, SIM_ERROR, SIM_ERROR_INPUT,
                    "%s: no [host] section: nothing to replay", sim_scenario_origin(sc));
        ok = FALSE;
    }
    g_hash_table_destroy(m.map);
    g_hash_table_destroy(m.taken);
    if (!ok) {
        kr_plan_free(plan);
        return NULL;
    }
    return plan;
}

static char *scaled_duration(SimTime t, double scale)
{
    return sim_duration_format((SimTime)llround((double)t * scale));
}

static char *rate_text(double per_second)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    /* %g is exact and short, but would write 1e-05: the parser wants digits. */
    const char *fmt = per_second >= 1e-3 ? "%.10g" : "%.12f";
    return g_strconcat(g_ascii_formatd(buf, sizeof buf, fmt, per_second), "/s", NULL);
}

static void push(GPtrArray *out, GString *what, const SimSection *sec, const char *key,
                 const char *before, char *after)
{
    const char *name = sim_section_name(sec);
    g_ptr_array_add(out, name ? g_strdup_printf("%s.%s.%s=%s", sim_section_kind(sec), name,
                                                key, after)
                              : g_strdup_printf("%s.%s=%s", sim_section_kind(sec), key, after));
    g_string_append_printf(what, "  [%s] %s: %s -> %s\n", sim_section_label(sec), key, before,
                           after);
    g_free(after);
}

static void scale_duration_key(GPtrArray *out, GString *what, const SimSection *sec,
                               const char *key, double scale)
{
    if (!sim_section_has(sec, key) || sim_section_duration(sec, key) == 0)
        return;
    push(out, what, sec, key, sim_section_text(sec, key),
         scaled_duration(sim_section_duration(sec, key), scale));
}

char **kr_scale_overrides(const SimScenario *sc, double scale, GString *what)
{
    GPtrArray *out = g_ptr_array_new();
    for (guint i = 0; i < sim_scenario_n_sections(sc); i++) {
        SimSection *sec = sim_scenario_section_at(sc, i);
        const char *kind = sim_section_kind(sec);
        if (!strcmp(kind, "scenario")) {
            scale_duration_key(out, what, sec, "duration", scale);
        } else if (!strcmp(kind, "host") || !strcmp(kind, "server")) {
            scale_duration_key(out, what, sec, "time_wait", scale);
            /* time_wait_granularity is the kernel's timer wheel, not the
             * scenario's clock: it stays. */
            if (!strcmp(kind, "host") && has_key(sc, sec, "tw_reuse_delay"))
                scale_duration_key(out, what, sec, "tw_reuse_delay", scale);
        } else if (!strcmp(kind, "workload")) {
            push(out, what, sec, "rate", sim_section_text(sec, "rate"),
                 rate_text(sim_section_rate(sec, "rate") / scale));
            if (sim_section_has(sec, "schedule")) {
                const GArray *pts = sim_section_schedule(sec, "schedule");
                GString *s = g_string_new(NULL);
                for (guint j = 0; j < pts->len; j++) {
                    const SimSchedulePoint *p = &g_array_index(pts, SimSchedulePoint, j);
                    g_autofree char *at = scaled_duration(p->at, scale);
                    g_autofree char *rate = rate_text(p->rate / scale);
                    g_string_append_printf(s, "%s%s %s", j ? ", " : "", at, rate);
                }
                push(out, what, sec, "schedule", sim_section_text(sec, "schedule"),
                     g_string_free(s, FALSE));
            }
            SimDist d = *sim_section_distribution(sec, "hold");
            if (d.mean > 0) {
                d.mean = (SimTime)llround((double)d.mean * scale);
                d.spread = (SimTime)llround((double)d.spread * scale);
                push(out, what, sec, "hold", sim_section_text(sec, "hold"), sim_dist_format(&d));
            }
            scale_duration_key(out, what, sec, "delay", scale);
            scale_duration_key(out, what, sec, "start", scale);
            scale_duration_key(out, what, sec, "stop", scale);
        }
    }
    g_ptr_array_add(out, NULL);
    return (char **)g_ptr_array_free(out, FALSE);
}
