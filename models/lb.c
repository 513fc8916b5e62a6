/* Load balancers and proxies ([lb NAME], issue 4).
 *
 * The frontend is a PsServer in net->servers, so `target = lb NAME`
 * resolves as a server and the client leg is the ordinary TCP life cycle.
 * tcp.c asks ps_lb_server_syn() what to do with each new SYN:
 * - l4: choose a backend, count the flow against it, accept; no ports.
 * - proxy: choose a backend; take an idle pooled backend connection and
 *   accept at once, or defer the SYN-ACK until a new backend connection
 *   (an ordinary connection of an internal workload on the proxy's [host],
 *   so its ports, TIME_WAIT and failures are the host's) is established;
 *   a failed backend connect() refuses the client with RST.
 * backend_per = connection (or a workload without `requests`): when the
 * client connection stops carrying requests (its server side leaves
 * ESTABLISHED), its backend connection goes back to the keepalive pool or
 * is closed by `backend_closer`.
 * backend_per = request (with `requests`): the backend connection taken at
 * SYN serves the first request only; each later request arriving at the
 * proxy chooses a backend and takes a pooled or new connection of its own.
 * A request holds its backend connection for one backend round trip plus
 * the service time, then releases it; the client sees each answer after
 * the backend's, and plans its close after the last (ps_tcp_plan_close).
 * A later request whose backend connect() fails is answered 502 and ends
 * the client connection's requests.
 *
 * Links: frontend c->peer = backend id + 1 (or PEER_PENDING | backend
 * index while the connect is scheduled); backend c->user = frontend id, or
 * PS_OPEN_LOOP when it serves no client (idle or orphaned); its c->attempt
 * counts the requests it carried. */
#include "lb.h"
#include "json_members.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "sim_error.h"

#define PEER_PENDING 0x80000000u

/* A frontend connection forwarding its requests (backend_per = request). */
typedef struct {
    guint64 serial; /* of the frontend connection: its record may be reused */
    guint done;     /* requests answered */
} PsLbRequests;

typedef struct {
    SimTime at;
    guint backend;
    gboolean up;
} PsLbChange;

static PsConn *conn_at(PsNetwork *net, uint32_t id)
{
    return &g_array_index(net->conns, PsConn, id);
}

static PsLbBackend *backend_at(PsLb *lb, guint i)
{
    return &g_array_index(lb->backends, PsLbBackend, i);
}

static guint backend_index(PsLb *lb, const PsServer *s)
{
    for (guint i = 0; i < lb->backends->len; i++)
        if (backend_at(lb, i)->server == s)
            return i;
    g_assert_not_reached();
}

static SimTime now(PsNetwork *net) { return sim_engine_now(net->engine); }

static void trace(PsNetwork *net, const PsConn *c, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static void trace(PsNetwork *net, const PsConn *c, const char *fmt, ...)
{
    if (!net->trace)
        return;
    const PsEndpoint *ep = &g_array_index(c->server->endpoints, PsEndpoint, c->endpoint);
    PsTraceSubject s = {c->pool->host->name, c->serial, &c->pool->address,
                        c->port,             &ep->address, ep->port};
    va_list args;
    va_start(args, fmt);
    g_autofree char *text = g_strdup_vprintf(fmt, args);
    va_end(args);
    ps_trace_log_event(net->trace, now(net), &s, "%s", text);
}

/* --- building ------------------------------------------------------------ */

static gpointer find_server(PsNetwork *net, const char *name)
{
    SimSection *sec = sim_scenario_find(net->scenario, "server", name);
    for (guint i = 0; sec && i < net->servers->len; i++)
        if (((PsServer *)net->servers->pdata[i])->section == sec)
            return net->servers->pdata[i];
    return NULL;
}

/* "server a, b" into backends. */
static gboolean parse_backends(PsNetwork *net, PsLb *lb, GError **error)
{
    SimStats *stats = sim_engine_stats(net->engine);
    g_auto(GStrv) items = g_strsplit(sim_section_text(lb->section, "backends"), ",", -1);
    for (guint i = 0; items[i]; i++) {
        g_auto(GStrv) words = g_regex_split_simple("\\s+", g_strstrip(items[i]), 0, 0);
        guint n = g_strv_length(words);
        const char *name = n == 1 ? words[0] : n == 2 ? words[1] : NULL;
        PsServer *s = name && *name && (n == 1 || strcmp(words[0], "server") == 0)
                          ? find_server(net, name)
                          : NULL;
        if (!s)
            return sim_section_error(lb->section, "backends", error,
                                     "\"%s\": no such [server] section; expected a "
                                     "comma-separated list of servers, e.g. \"server a, server b\"",
                                     *items[i] ? items[i] : "(empty)");
        for (guint j = 0; j < lb->backends->len; j++)
            if (backend_at(lb, j)->server == s)
                return sim_section_error(lb->section, "backends", error,
                                         "server %s is listed twice", s->name);
        PsLbBackend b = {.server = s, .weight = 1};
        b.idle = g_array_new(FALSE, FALSE, sizeof(PsLbIdle));
        g_autofree char *p = g_strdup_printf("%s.backend[%s]", lb->name, s->name);
        g_autofree char *c1 = g_strconcat(p, ".in_use", NULL);
        g_autofree char *c2 = g_strconcat(p, ".idle", NULL);
        g_autofree char *c3 = g_strconcat(p, ".chosen", NULL);
        g_autofree char *c4 = g_strconcat(p, ".opened", NULL);
        g_autofree char *c5 = g_strconcat(p, ".reused", NULL);
        b.in_use = sim_stats_gauge(stats, c1);
        b.idle_gauge = sim_stats_gauge(stats, c2);
        b.chosen = sim_stats_counter(stats, c3);
        b.opened = sim_stats_counter(stats, c4);
        b.reused = sim_stats_counter(stats, c5);
        g_autofree char *c6 = g_strconcat(p, ".tuples", NULL);
        b.tuples = sim_stats_gauge(stats, c6);
        g_array_append_val(lb->backends, b);
    }
    return TRUE;
}

static gboolean parse_weights(PsLb *lb, GError **error)
{
    if (!sim_section_has(lb->section, "weights"))
        return TRUE;
    g_auto(GStrv) items = g_strsplit(sim_section_text(lb->section, "weights"), ",", -1);
    guint n = g_strv_length(items);
    if (n != lb->backends->len)
        return sim_section_error(lb->section, "weights", error,
                                 "%u weight%s for %u backends; expected one positive integer "
                                 "per backend, e.g. \"3, 1\"",
                                 n, n == 1 ? "" : "s", lb->backends->len);
    for (guint i = 0; i < n; i++) {
        char *end;
        guint64 w = g_ascii_strtoull(g_strstrip(items[i]), &end, 10);
        if (!*items[i] || *end || w < 1 || w > 1000000)
            return sim_section_error(lb->section, "weights", error,
                                     "\"%s\": expected a positive integer (1 to 1000000)",
                                     items[i]);
        backend_at(lb, i)->weight = (guint)w;
    }
    return TRUE;
}

/* down_at / up_at: "NAME@TIME, ...". */
static gboolean parse_changes(PsNetwork *net, PsLb *lb, const char *key, gboolean up,
                              GError **error)
{
    if (!sim_section_has(lb->section, key))
        return TRUE;
    SimSection *sc = sim_scenario_find(net->scenario, "scenario", NULL);
    SimTime duration = sim_section_duration(sc, "duration");
    g_auto(GStrv) items = g_strsplit(sim_section_text(lb->section, key), ",", -1);
    for (guint i = 0; items[i]; i++) {
        char *item = g_strstrip(items[i]);
        char *at = strchr(item, '@');
        SimTime t = 0;
        gint found = -1;
        if (at) {
            *at = '\0';
            g_strstrip(item);
            for (guint j = 0; j < lb->backends->len; j++)
                if (strcmp(backend_at(lb, j)->server->name, item) == 0)
                    found = (gint)j;
        }
        if (!at || found < 0 || !sim_parse_duration(g_strstrip(at + 1), &t, NULL) || t < 0 ||
            t > duration)
            return sim_section_error(lb->section, key, error,
                                     "expected BACKEND@TIME pairs naming backends of this lb "
                                     "and times within the scenario's duration, e.g. "
                                     "\"a@30s, b@2m\"; got \"%s%s%s\"",
                                     item, at ? "@" : "", at ? at + 1 : "");
        PsLbChange ch = {t, (guint)found, up};
        g_array_append_val(lb->changes, ch);
    }
    return TRUE;
}

static PsWorkload *internal_workload(PsNetwork *net, PsLb *lb)
{
    SimStats *stats = sim_engine_stats(net->engine);
    PsWorkload *w = g_new0(PsWorkload, 1);
    w->net = net;
    w->section = lb->section;
    w->lb = lb;
    w->host = lb->host;
    w->server = backend_at(lb, 0)->server;
    w->name = g_strconcat(lb->name, ".backend", NULL);
    ps_metrics_init(&w->m, stats, w->name);
#define C(field, metric)                                                                       \
    do {                                                                                       \
        g_autofree char *n_ = g_strconcat(w->name, "." metric, NULL);                          \
        w->field = sim_stats_counter(stats, n_);                                               \
    } while (0)
    C(syn_retransmits, "syn_retransmits");
    C(offered, "offered");
    C(retried, "retried");
    C(gave_up, "gave_up");
    C(requests_served, "requests_served");
#undef C
    w->max_attempts = 1;
    w->delay = sim_section_duration(lb->section, "backend_delay");
    w->connect_timeout = sim_section_has(lb->section, "connect_timeout")
                             ? sim_section_duration(lb->section, "connect_timeout")
                             : lb->host->connect_timeout;
    sim_parse_distribution("const(0s)", &w->hold, NULL); /* unused: the proxy closes */
    g_autofree char *stream = g_strconcat("lb ", lb->name, " backend", NULL);
    sim_engine_stream(net->engine, stream, &w->rng);
    w->stop = w->run_end = SIM_TIME_NEVER;
    return w;
}

PsLb *ps_lb_new(PsNetwork *net, SimSection *sec, GError **error)
{
    SimStats *stats = sim_engine_stats(net->engine);
    PsLb *lb = g_new0(PsLb, 1);
    lb->section = sec;
    lb->name = sim_section_name(sec);
    lb->backends = g_array_new(FALSE, FALSE, sizeof(PsLbBackend));
    lb->changes = g_array_new(FALSE, FALSE, sizeof(PsLbChange));
    lb->proxy = g_strcmp0(sim_section_text(sec, "mode"), "proxy") == 0;
    lb->backend_closes = g_strcmp0(sim_section_text(sec, "backend_closer"), "backend") == 0;
    lb->keepalive = g_strcmp0(sim_section_text(sec, "keepalive"), "pool") == 0;
    lb->keepalive_pool = (guint)sim_section_int(sec, "keepalive_pool");
    lb->keepalive_idle = sim_section_duration(sec, "keepalive_idle_timeout");
    lb->keepalive_max_requests = (guint)sim_section_int(sec, "keepalive_max_requests");
    lb->per_request = g_strcmp0(sim_section_text(sec, "backend_per"), "request") == 0;
    lb->requesting = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
    ps_balance_parse(sim_section_text(sec, "algorithm"), &lb->algorithm);
    GError *local = NULL;
    lb->front = ps_server_new(net, sec, &local);
    g_ptr_array_add(net->servers, lb->front);
    lb->front->lb = lb;
    lb->front->may_drop_syn = TRUE;
    if (local) {
        g_propagate_error(error, local);
        return lb;
    }
    if (!parse_backends(net, lb, error) || !parse_weights(lb, error) ||
        !parse_changes(net, lb, "down_at", FALSE, error) ||
        !parse_changes(net, lb, "up_at", TRUE, error))
        return lb;
    if (lb->proxy) {
        if (!sim_section_has(sec, "host")) {
            sim_section_error(sec, "mode", error,
                              "mode = proxy needs `host = NAME`, a [host] section for the "
                              "proxy's own addresses and ephemeral ports (or use mode = l4)");
            return lb;
        }
        SimSection *hs = sim_section_reference(sec, "host");
        for (guint i = 0; i < net->hosts->len; i++)
            if (((PsHost *)net->hosts->pdata[i])->section == hs)
                lb->host = net->hosts->pdata[i];
        lb->wl = internal_workload(net, lb);
    }
    guint n = lb->backends->len;
    guint *w = g_new(guint, n);
    for (guint i = 0; i < n; i++)
        w[i] = backend_at(lb, i)->weight;
    SimRng rng;
    g_autofree char *stream = g_strconcat("lb ", lb->name, " balancer", NULL);
    sim_engine_stream(net->engine, stream, &rng);
    lb->balancer = ps_balancer_new(lb->algorithm, n, w, &rng);
    g_free(w);
    lb->load = g_new0(uint64_t, n);
#define C(field, metric)                                                                       \
    do {                                                                                       \
        g_autofree char *n_ = g_strconcat(lb->name, "." metric, NULL);                         \
        lb->field = sim_stats_counter(stats, n_);                                              \
    } while (0)
    C(frontend, "frontend_connections");
    C(drops[PS_LB_DROP_NO_BACKEND], "refused_no_backend");
    C(drops[PS_LB_DROP_BACKEND_FAILED], "refused_backend_failed");
    C(backend_requests, "backend_uses");
    C(backend_reused, "backend_reused");
    C(backend_opened, "backend_opened");
    C(http_502, "http_502");
#undef C
    for (int r = 0; r < PS_FAIL_N; r++) {
        g_autofree char *lower = g_ascii_strdown(ps_fail_reason_name((PsFailReason)r), -1);
        g_autofree char *nm = g_strconcat(lb->name, ".backend_", lower, NULL);
        lb->backend_failures_by_reason[r] = sim_stats_counter(stats, nm);
    }
    g_autofree char *flows = g_strconcat(lb->name, ".flows", NULL);
    lb->flows = sim_stats_gauge(stats, flows);
    return lb;
}

void ps_lb_free(PsLb *lb)
{
    for (guint i = 0; i < lb->backends->len; i++)
        g_array_free(backend_at(lb, i)->idle, TRUE);
    g_array_free(lb->backends, TRUE);
    g_array_free(lb->changes, TRUE);
    ps_balancer_free(lb->balancer);
    g_free(lb->load);
    if (lb->requesting)
        g_hash_table_unref(lb->requesting);
    if (lb->wl) {
        ps_metrics_clear(&lb->wl->m);
        g_free((char *)lb->wl->name);
        g_free(lb->wl);
    }
    g_free(lb);
}

void ps_lb_finish(PsNetwork *net)
{
    /* The proxy's 4-tuple capacity grows with the backend endpoints. */
    for (guint i = 0; i < net->lbs->len; i++) {
        PsLb *lb = net->lbs->pdata[i];
        if (!lb->proxy)
            continue;
        for (guint b = 0; b < lb->backends->len; b++)
            lb->host->n_dests += backend_at(lb, b)->server->endpoints->len;
    }
}

/* --- backend connections -------------------------------------------------- */

static void close_backend(PsNetwork *net, PsLb *lb, uint32_t bid)
{
    ps_tcp_close_later(net, bid, !lb->backend_closes);
}

static void idle_remove(PsNetwork *net, PsLbBackend *be, guint k)
{
    g_array_remove_index(be->idle, k);
    sim_gauge_add(be->idle_gauge, now(net), -1);
}

static void idle_expire(void *ctx, uint64_t arg)
{
    PsLb *lb = ctx;
    PsNetwork *net = lb->wl->net;
    PsConn *b = conn_at(net, (uint32_t)arg);
    if (!b->live || b->wl != lb->wl) /* closed since, and its record reused */
        return;
    PsLbBackend *be = backend_at(lb, backend_index(lb, b->server));
    for (guint k = 0; k < be->idle->len; k++) {
        PsLbIdle *e = &g_array_index(be->idle, PsLbIdle, k);
        if (e->id == (uint32_t)arg && e->serial == b->serial &&
            now(net) - e->since >= lb->keepalive_idle) {
            idle_remove(net, be, k);
            close_backend(net, lb, (uint32_t)arg);
            return;
        }
    }
}

/* A backend connection no client uses any more: pooled or closed. */
static void release_backend(PsNetwork *net, PsLb *lb, uint32_t bid)
{
    PsConn *b = conn_at(net, bid);
    guint i = backend_index(lb, b->server);
    PsLbBackend *be = backend_at(lb, i);
    if (!lb->keepalive || !ps_balancer_is_up(lb->balancer, i) || b->client != TCP_ESTABLISHED ||
        b->attempt >= lb->keepalive_max_requests) {
        close_backend(net, lb, bid);
        return;
    }
    if (be->idle->len >= lb->keepalive_pool) { /* the least recently used goes */
        uint32_t old = g_array_index(be->idle, PsLbIdle, 0).id;
        idle_remove(net, be, 0);
        close_backend(net, lb, old);
    }
    PsLbIdle e = {bid, b->serial, now(net)};
    g_array_append_val(be->idle, e);
    sim_gauge_add(be->idle_gauge, now(net), 1);
    sim_engine_after(net->engine, lb->keepalive_idle, idle_expire, lb, bid);
}

static void attach(PsNetwork *net, PsLb *lb, guint i, int64_t delta)
{
    lb->load[i] = (uint64_t)((int64_t)lb->load[i] + delta);
    sim_gauge_add(backend_at(lb, i)->in_use, now(net), delta);
}

/* The frontend connection fid's requests entry, while they run. */
static PsLbRequests *requesting(PsLb *lb, PsNetwork *net, uint32_t fid)
{
    PsLbRequests *r = g_hash_table_lookup(lb->requesting, GUINT_TO_POINTER(fid));
    PsConn *c = conn_at(net, fid);
    return r && c->live && c->serial == r->serial && c->server == lb->front ? r : NULL;
}

/* The frontend connection fid stops using its backend connection. */
static void detach(PsNetwork *net, PsLb *lb, uint32_t fid)
{
    PsConn *c = conn_at(net, fid);
    uint32_t peer = c->peer;
    /* Per request, a use is one request; else the connection's requests. */
    guint requests = requesting(lb, net, fid) ? 1u : MAX(c->wl->requests, 1u);
    g_hash_table_remove(lb->requesting, GUINT_TO_POINTER(fid));
    c->peer = 0;
    if (peer == 0 || (peer & PEER_PENDING)) /* no backend connection yet */
        return;
    uint32_t bid = peer - 1;
    PsConn *b = conn_at(net, bid);
    if (b->user != fid)
        return;
    b->user = PS_OPEN_LOOP;
    b->attempt += requests;
    attach(net, lb, backend_index(lb, b->server), -1);
    if (b->client == TCP_ESTABLISHED)
        release_backend(net, lb, bid);
    /* still connecting: released when it is established or fails */
}

/* Every backend's busiest endpoint as seen from one source address (the
 * pool a connect() just used): sampled at each connect(), when the counts
 * only grow, so peaks are exact; between connects they may only fall. */
static void update_tuples(PsNetwork *net, PsLb *lb, PsPool *pool)
{
    guint cap = ps_pool_capacity(pool->ports);
    for (guint i = 0; i < lb->backends->len; i++) {
        PsLbBackend *be = backend_at(lb, i);
        guint most = 0;
        for (guint e = 0; e < be->server->endpoints->len; e++) {
            const PsEndpoint *ep = &g_array_index(be->server->endpoints, PsEndpoint, e);
            PsDestId d = ps_pool_dest(pool->ports, &ep->address, ep->port);
            most = MAX(most, cap - ps_pool_connect_free(pool->ports, d));
        }
        be->tuple_capacity = cap;
        sim_gauge_set(be->tuples, now(net), most);
    }
}

static void request_to_backend(PsNetwork *net, PsLb *lb, uint32_t fid, uint32_t bid);
static void request_failed(PsNetwork *net, PsLb *lb, uint32_t fid, const char *why);

static void open_backend(void *ctx, uint64_t fid)
{
    PsLb *lb = ctx;
    PsNetwork *net = lb->wl->net;
    PsConn *c = conn_at(net, (uint32_t)fid);
    if (!c->live || c->server != lb->front || !(c->peer & PEER_PENDING) ||
        !(c->lb_wait || requesting(lb, net, (uint32_t)fid)))
        return;
    guint i = c->peer & ~PEER_PENDING;
    PsLbBackend *be = backend_at(lb, i);
    lb->wl->server = be->server;
    guint e = be->next_endpoint;
    be->next_endpoint = (e + 1) % be->server->endpoints->len;
    attach(net, lb, i, 1); /* before: a synchronous failure detaches it */
    be->opened->value++;
    lb->backend_opened->value++;
    lb->backend_requests->value++;
    ps_tcp_attempt(net, lb->wl, (gint32)e, -1, (uint32_t)fid, 1);
    uint32_t bid = net->last_conn;
    PsConn *b = conn_at(net, bid);
    c = conn_at(net, (uint32_t)fid);
    if (b->wl == lb->wl) /* the record stays readable after a failure */
        update_tuples(net, lb, b->pool);
    if (b->wl == lb->wl && b->user == (uint32_t)fid && b->client == TCP_SYN_SENT &&
        c->peer == (PEER_PENDING | i)) {
        c->peer = bid + 1;
        b->attempt = 0;
        trace(net, b, "proxy opened backend connection to server %s for client connection #%" G_GUINT64_FORMAT,
              be->server->name, c->serial);
    }
}

void ps_lb_backend_established(PsNetwork *net, uint32_t bid)
{
    PsConn *b = conn_at(net, bid);
    PsLb *lb = b->wl->lb;
    if (b->user != PS_OPEN_LOOP) {
        uint32_t fid = b->user;
        PsConn *c = conn_at(net, fid);
        if (c->live && c->lb_wait && c->peer == bid + 1) {
            ps_tcp_synack(net, fid);
            return;
        }
        if (c->peer == bid + 1 && requesting(lb, net, fid)) {
            request_to_backend(net, lb, fid, bid);
            return;
        }
        b->user = PS_OPEN_LOOP; /* its client is gone */
        attach(net, lb, backend_index(lb, b->server), -1);
    }
    release_backend(net, lb, bid);
}

void ps_lb_backend_failed(PsNetwork *net, uint32_t bid, PsFailReason reason)
{
    PsConn *b = conn_at(net, bid);
    PsLb *lb = b->wl->lb;
    lb->backend_failures_by_reason[reason]->value++;
    if (b->user == PS_OPEN_LOOP)
        return;
    uint32_t fid = b->user;
    guint i = backend_index(lb, b->server);
    b->user = PS_OPEN_LOOP;
    attach(net, lb, i, -1);
    PsConn *c = conn_at(net, fid);
    if (c->live && c->server == lb->front &&
        (c->peer == bid + 1 || c->peer == (PEER_PENDING | i))) {
        if (c->lb_wait) {
            c->peer = 0;
            lb->drops[PS_LB_DROP_BACKEND_FAILED]->value++;
            ps_tcp_refuse(net, fid);
        } else if (requesting(lb, net, fid)) {
            c->peer = 0;
            request_failed(net, lb, fid, ps_fail_reason_name(reason));
        }
    }
}

/* --- the frontend ------------------------------------------------------- */

static uint64_t flow_key(const PsConn *c, gboolean with_port)
{
    uint64_t h = 14695981039346656037ULL;
    guint n = c->pool->address.family == 4 ? 4 : 16;
    for (guint k = 0; k < n; k++)
        h = (h ^ c->pool->address.bytes[k]) * 1099511628211ULL;
    if (with_port)
        h = (h ^ c->port) * 1099511628211ULL;
    return h;
}

/* A pooled idle connection to backend i for frontend id, if any. */
static gboolean take_idle(PsNetwork *net, PsLb *lb, guint i, uint32_t id)
{
    PsLbBackend *be = backend_at(lb, i);
    PsConn *c = conn_at(net, id);
    while (be->idle->len > 0) { /* most recently used first, as nginx's cache */
        PsLbIdle e = g_array_index(be->idle, PsLbIdle, be->idle->len - 1);
        idle_remove(net, be, be->idle->len - 1);
        PsConn *b = conn_at(net, e.id);
        if (!b->live || b->serial != e.serial || b->client != TCP_ESTABLISHED)
            continue;
        b->user = id;
        c->peer = e.id + 1;
        attach(net, lb, i, 1);
        be->reused->value++;
        lb->backend_reused->value++;
        lb->backend_requests->value++;
        trace(net, b, "proxy reuses pooled backend connection (%u requests so far) for client "
                      "connection #%" G_GUINT64_FORMAT,
              b->attempt, c->serial);
        return TRUE;
    }
    return FALSE;
}

/* --- per-request backend use (backend_per = request) ---------------------- */

static void request_at_proxy(void *ctx, uint64_t fid);

/* The client has the answer (or a 502): its next request reaches the proxy
 * a client round trip later; after the last, its idle time and close. */
static void request_done(PsNetwork *net, PsLb *lb, uint32_t fid, PsLbRequests *r, gboolean ok)
{
    PsConn *c = conn_at(net, fid);
    if (ok && ++r->done < c->wl->requests) {
        sim_engine_after(net->engine, 2 * c->owd, request_at_proxy, lb, fid);
        return;
    }
    g_hash_table_remove(lb->requesting, GUINT_TO_POINTER(fid));
    ps_tcp_plan_close(net, fid, c->owd);
}

/* The backend answered: its connection goes back (pool or close). */
static void backend_answers(void *ctx, uint64_t fid)
{
    PsLb *lb = ctx;
    PsNetwork *net = lb->wl->net;
    PsLbRequests *r = requesting(lb, net, (uint32_t)fid);
    PsConn *c = conn_at(net, (uint32_t)fid);
    if (!r || c->peer == 0 || (c->peer & PEER_PENDING))
        return;
    uint32_t bid = c->peer - 1;
    c->peer = 0;
    PsConn *b = conn_at(net, bid);
    c->wl->requests_served->value++;
    if (b->user == (uint32_t)fid) {
        b->user = PS_OPEN_LOOP;
        b->attempt++;
        attach(net, lb, backend_index(lb, b->server), -1);
        if (b->client == TCP_ESTABLISHED)
            release_backend(net, lb, bid);
    }
    request_done(net, lb, (uint32_t)fid, r, TRUE);
}

/* The request goes out on an established backend connection: it holds it
 * for a backend round trip plus the service time. */
static void request_to_backend(PsNetwork *net, PsLb *lb, uint32_t fid, uint32_t bid)
{
    PsConn *c = conn_at(net, fid);
    SimTime service = sim_dist_sample(&c->wl->service, &c->wl->rng);
    sim_engine_after(net->engine, 2 * conn_at(net, bid)->owd + service, backend_answers, lb, fid);
}

/* A request the proxy cannot forward: 502 to the client, whose connection
 * carries no more requests and closes as after its last answer. */
static void request_failed(PsNetwork *net, PsLb *lb, uint32_t fid, const char *why)
{
    PsConn *c = conn_at(net, fid);
    lb->http_502->value++;
    trace(net, c, "request %u: backend %s: proxy answers 502", requesting(lb, net, fid)->done + 1,
          why);
    request_done(net, lb, fid, requesting(lb, net, fid), FALSE);
}


static void request_at_proxy(void *ctx, uint64_t arg)
{
    PsLb *lb = ctx;
    PsNetwork *net = lb->wl->net;
    uint32_t fid = (uint32_t)arg;
    if (!requesting(lb, net, fid))
        return;
    PsConn *c = conn_at(net, fid);
    trace(net, c, "request %u of %u reaches the proxy", requesting(lb, net, fid)->done + 1,
          c->wl->requests);
    if (c->peer && !(c->peer & PEER_PENDING)) { /* the first: the connection taken at SYN */
        request_to_backend(net, lb, fid, c->peer - 1);
        return;
    }
    gint i = ps_balancer_pick(lb->balancer, flow_key(c, lb->algorithm == PS_BAL_CONSISTENT_HASH),
                              lb->load);
    if (i < 0) {
        request_failed(net, lb, fid, "none up");
        return;
    }
    backend_at(lb, (guint)i)->chosen->value++;
    if (take_idle(net, lb, (guint)i, fid)) {
        request_to_backend(net, lb, fid, c->peer - 1);
        return;
    }
    c->peer = PEER_PENDING | (uint32_t)i;
    open_backend(lb, fid); /* established or failed: ps_lb_backend_* go on */
}

gboolean ps_lb_client_established(PsNetwork *net, uint32_t id)
{
    PsConn *c = conn_at(net, id);
    PsLb *lb = c->server->lb;
    if (!lb->proxy || !lb->per_request || c->wl->requests == 0)
        return FALSE;
    PsLbRequests *r = g_new0(PsLbRequests, 1);
    r->serial = c->serial;
    lb->forwarding++;
    g_hash_table_replace(lb->requesting, GUINT_TO_POINTER(id), r);
    sim_engine_after(net->engine, c->owd, request_at_proxy, lb, id);
    return TRUE;
}

PsSynVerdict ps_lb_server_syn(PsNetwork *net, uint32_t id)
{
    PsConn *c = conn_at(net, id);
    PsServer *s = c->server;
    /* Half-open connections fill the SYN queue; established ones beyond
     * max_connections wait in the accept queue; each holds `backlog`. */
    if (s->backlog > 0 && (s->syn_received >= s->backlog || s->queued >= s->backlog)) {
        s->syn_drops->value++;
        return PS_SYN_DROP;
    }
    PsLb *lb = s->lb;
    if (!lb)
        return PS_SYN_ACCEPT;
    gint i = ps_balancer_pick(lb->balancer, flow_key(c, lb->algorithm == PS_BAL_CONSISTENT_HASH),
                              lb->load);
    if (i < 0) {
        lb->drops[PS_LB_DROP_NO_BACKEND]->value++;
        trace(net, c, "no backend up: refused with RST");
        return PS_SYN_REFUSE;
    }
    PsLbBackend *be = backend_at(lb, (guint)i);
    be->chosen->value++;
    trace(net, c, "backend chosen: server %s (%" G_GUINT64_FORMAT " connections in use)",
          be->server->name, lb->load[i]);
    if (!lb->proxy) {
        c->peer = (uint32_t)i + 1; /* counted when accepted */
        return PS_SYN_ACCEPT;
    }
    if (take_idle(net, lb, (guint)i, id))
        return PS_SYN_ACCEPT;
    /* Connections are never created inside a TCP handler: an event now. */
    c->peer = PEER_PENDING | (uint32_t)i;
    sim_engine_after(net->engine, 0, open_backend, lb, id);
    return PS_SYN_DEFER;
}

static gboolean is_open(PsTcpState s) { return s != TCP_CLOSED && s != TCP_TIME_WAIT; }
static gboolean carries(PsTcpState s) { return s == TCP_SYN_RECEIVED || s == TCP_ESTABLISHED; }

void ps_lb_server_state(PsNetwork *net, uint32_t id, PsTcpState old, PsTcpState state)
{
    PsConn *c = conn_at(net, id);
    PsLb *lb = c->server->lb;
    SimTime t = now(net);
    if (!is_open(old) && is_open(state)) {
        lb->frontend->value++;
        sim_gauge_add(lb->flows, t, 1);
        if (!lb->proxy && c->peer)
            attach(net, lb, c->peer - 1, 1);
    }
    if (lb->proxy && carries(old) && !carries(state))
        detach(net, lb, id);
    if (is_open(old) && !is_open(state)) {
        sim_gauge_add(lb->flows, t, -1);
        if (!lb->proxy && c->peer) {
            attach(net, lb, c->peer - 1, -1);
            c->peer = 0;
        }
    }
}

/* --- backend failure and recovery ---------------------------------------- */

static void change_fire(void *ctx, uint64_t k)
{
    PsLb *lb = ctx;
    PsNetwork *net = lb->net;
    const PsLbChange *ch = &g_array_index(lb->changes, PsLbChange, k);
    ps_balancer_set_up(lb->balancer, ch->backend, ch->up);
    PsLbBackend *be = backend_at(lb, ch->backend);
    while (!ch->up && be->idle->len > 0) {
        uint32_t bid = g_array_index(be->idle, PsLbIdle, 0).id;
        idle_remove(net, be, 0);
        close_backend(net, lb, bid);
    }
}

void ps_lb_start(PsNetwork *net)
{
    for (guint i = 0; i < net->lbs->len; i++) {
        PsLb *lb = net->lbs->pdata[i];
        lb->net = net;
        for (guint k = 0; k < lb->changes->len; k++)
            sim_engine_at(net->engine, g_array_index(lb->changes, PsLbChange, k).at, change_fire,
                          lb, k);
    }
}

/* --- outputs -------------------------------------------------------------- */

void ps_lb_register_columns(PsNetwork *net, SimSeries *series)
{
    for (guint i = 0; i < net->lbs->len; i++) {
        PsLb *lb = net->lbs->pdata[i];
        g_autofree char *c1 = g_strconcat(lb->name, ".flows", NULL);
        g_autofree char *c2 = g_strconcat(lb->name, ".frontend_per_s", NULL);
        g_autofree char *c3 = g_strconcat(lb->name, ".refused_per_s", NULL);
        sim_series_add_gauge(series, c1, lb->flows);
        sim_series_add_rate(series, c2, lb->frontend);
        sim_series_add_rate(series, c3, lb->drops[PS_LB_DROP_BACKEND_FAILED]);
        if (lb->proxy) {
            g_autofree char *c4 = g_strconcat(lb->name, ".backend_opened_per_s", NULL);
            g_autofree char *c5 = g_strconcat(lb->name, ".backend_reused_per_s", NULL);
            sim_series_add_rate(series, c4, lb->backend_opened);
            sim_series_add_rate(series, c5, lb->backend_reused);
            if (lb->per_request) {
                g_autofree char *c6 = g_strconcat(lb->name, ".http_502_per_s", NULL);
                sim_series_add_rate(series, c6, lb->http_502);
            }
        }
        for (guint b = 0; b < lb->backends->len; b++) {
            PsLbBackend *be = backend_at(lb, b);
            g_autofree char *p = g_strdup_printf("%s.backend[%s]", lb->name, be->server->name);
            g_autofree char *d1 = g_strconcat(p, ".in_use", NULL);
            g_autofree char *d2 = g_strconcat(p, ".idle", NULL);
            g_autofree char *d3 = g_strconcat(p, ".chosen_per_s", NULL);
            sim_series_add_gauge(series, d1, be->in_use);
            if (lb->keepalive)
                sim_series_add_gauge(series, d2, be->idle_gauge);
            sim_series_add_rate(series, d3, be->chosen);
            if (lb->proxy) {
                g_autofree char *d4 = g_strconcat(p, ".tuples", NULL);
                sim_series_add_gauge(series, d4, be->tuples);
            }
        }
    }
}

void ps_lb_marks(const PsNetwork *net, const PsHost *h, GArray *times, GPtrArray *labels)
{
    for (guint i = 0; i < net->lbs->len; i++) {
        PsLb *lb = net->lbs->pdata[i];
        if (lb->host != h)
            continue;
        for (guint k = 0; k < lb->changes->len; k++) {
            const PsLbChange *ch = &g_array_index(lb->changes, PsLbChange, k);
            double at = sim_time_to_seconds(ch->at);
            g_array_append_val(times, at);
            g_ptr_array_add(labels, g_strdup_printf("backend %s %s",
                                                    backend_at(lb, ch->backend)->server->name,
                                                    ch->up ? "up" : "down"));
        }
    }
}




void ps_lb_summary(const PsNetwork *net, JsonBuilder *b, double duration_s)
{
    json_builder_set_member_name(b, "lbs");
    json_builder_begin_array(b);
    for (guint i = 0; i < net->lbs->len; i++) {
        PsLb *lb = net->lbs->pdata[i];
        json_builder_begin_object(b);
        ps_json_string(b, "name", lb->name);
        ps_json_string(b, "mode", lb->proxy ? "proxy" : "l4");
        ps_json_string(b, "algorithm", sim_section_text(lb->section, "algorithm"));
        ps_json_string(b, "proxy_host", lb->host ? lb->host->name : "");
        ps_json_int(b, "frontend_connections", lb->frontend->value);
        ps_json_double(b, "frontend_per_s", lb->frontend->value / duration_s);
        ps_json_int(b, "peak_flows", lb->flows->max);
        ps_json_int(b, "syn_drops", lb->front->syn_drops->value);
        json_builder_set_member_name(b, "refused");
        json_builder_begin_object(b);
        ps_json_int(b, "no_backend", lb->drops[PS_LB_DROP_NO_BACKEND]->value);
        ps_json_int(b, "backend_failed", lb->drops[PS_LB_DROP_BACKEND_FAILED]->value);
        json_builder_end_object(b);
        /* What happened: per request only for workloads with `requests`. */
        ps_json_string(b, "backend_per", lb->forwarding ? "request" : "connection");
        ps_json_int(b, "http_502", lb->http_502->value);
        gint64 opened = lb->backend_opened->value, reused = lb->backend_reused->value;
        ps_json_int(b, "backend_connections_opened", opened);
        ps_json_int(b, "backend_reused", reused);
        ps_json_double(b, "reuse_ratio", opened + reused ? (double)reused / (opened + reused) : 0.0);
        json_builder_set_member_name(b, "backend_failures_by_reason");
        json_builder_begin_object(b);
        for (int r = 0; r < PS_FAIL_N; r++)
            ps_json_int(b, ps_fail_reason_name((PsFailReason)r),
                    lb->backend_failures_by_reason[r]->value);
        json_builder_end_object(b);
        json_builder_set_member_name(b, "backends");
        json_builder_begin_array(b);
        for (guint k = 0; k < lb->backends->len; k++) {
            PsLbBackend *be = backend_at(lb, k);
            json_builder_begin_object(b);
            ps_json_string(b, "server", be->server->name);
            ps_json_int(b, "weight", be->weight);
            ps_json_int(b, "chosen", be->chosen->value);
            ps_json_int(b, "opened", be->opened->value);
            ps_json_int(b, "reused", be->reused->value);
            ps_json_int(b, "peak_in_use", be->in_use->max);
            ps_json_int(b, "peak_idle", be->idle_gauge->max);
            ps_json_int(b, "peak_tuples_per_source", be->tuples->max);
            ps_json_double(b, "peak_tuple_utilization",
                       be->tuple_capacity ? (double)be->tuples->max / be->tuple_capacity : 0.0);
            json_builder_set_member_name(b, "up_at_end");
            json_builder_add_boolean_value(b, ps_balancer_is_up(lb->balancer, k));
            json_builder_end_object(b);
        }
        json_builder_end_array(b);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
}
