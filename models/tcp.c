/* The TCP life cycle of one connection at segment granularity.
 *
 * Every segment is an event delivered one link delay after it was sent:
 * SYN, SYN-ACK, ACK open the connection; the closer's FIN, the peer's
 * ACK+FIN (its application closes at once) and the final ACK close it; the
 * active closer then holds the 4-tuple in TIME_WAIT. With linger0 the closer
 * sends RST and nobody enters TIME_WAIT. The client's port is held from the
 * moment the SYN is sent until its side is CLOSED. */
#include "network_internal.h"

#include <string.h>

static PsConn *conn_at(PsNetwork *net, uint64_t id)
{
    return &g_array_index(net->conns, PsConn, id);
}

static uint32_t conn_new(PsNetwork *net)
{
    uint32_t id;
    if (net->free_conns->len > 0) {
        id = g_array_index(net->free_conns, uint32_t, net->free_conns->len - 1);
        g_array_set_size(net->free_conns, net->free_conns->len - 1);
    } else {
        id = net->conns->len;
        g_array_set_size(net->conns, net->conns->len + 1);
    }
    PsConn *c = conn_at(net, id);
    memset(c, 0, sizeof *c);
    c->live = TRUE;
    net->live_conns++;
    return id;
}

/* A connection is recycled once both sides are CLOSED. */
static void conn_maybe_free(PsNetwork *net, uint32_t id)
{
    PsConn *c = conn_at(net, id);
    if (!c->live || c->client != TCP_CLOSED || c->server_side != TCP_CLOSED)
        return;
    c->live = FALSE;
    net->live_conns--;
    g_array_append_val(net->free_conns, id);
}

static SimTime now(const PsNetwork *net) { return sim_engine_now(net->engine); }

static void transmit(PsNetwork *net, PsConn *c, uint32_t id, SimHandler deliver)
{
    sim_engine_after(net->engine, c->wl->delay, deliver, net, id);
}

/* The metrics a connection touches: its pool, host, workload and the total. */
#define FOR_EACH_METRICS(c, m, body)                                            \
    do {                                                                        \
        PsMetrics *ms_[4] = {&(c)->pool->m, &(c)->pool->host->m, &(c)->wl->m,   \
                             &(c)->wl->net->total};                             \
        for (int k_ = 0; k_ < 4; k_++) {                                        \
            PsMetrics *m = ms_[k_];                                             \
            body;                                                               \
        }                                                                       \
    } while (0)

static void update_ports_in_use(PsNetwork *net, PsPool *pool, guint before)
{
    int64_t delta = (int64_t)ps_pool_ports_in_use(pool->ports) - before;
    if (delta == 0)
        return;
    SimTime t = now(net);
    sim_gauge_add(pool->m.ports_in_use, t, delta);
    sim_gauge_add(pool->host->m.ports_in_use, t, delta);
    sim_gauge_add(net->total.ports_in_use, t, delta);
    sim_gauge_add(pool->m.free_ports, t, -delta);
    sim_gauge_add(pool->host->m.free_ports, t, -delta);
    sim_gauge_add(net->total.free_ports, t, -delta);
}

static void record_failure(PsNetwork *net, PsConn *c, PsFailReason reason)
{
    SimTime t = now(net);
    FOR_EACH_METRICS(c, m, {
        m->failures->value++;
        m->by_reason[reason]->value++;
        if (m->first_failure == SIM_TIME_NEVER)
            m->first_failure = t;
    });
}

/* The client's side is CLOSED: give the port (or 4-tuple) back. */
static void client_release(PsNetwork *net, PsConn *c, gboolean from_time_wait)
{
    PsPool *pool = c->pool;
    guint before = ps_pool_ports_in_use(pool->ports);
    if (c->bound)
        ps_pool_bind_release(pool->ports, c->port);
    else
        ps_pool_connect_release(pool->ports, c->dest, c->port);
    update_ports_in_use(net, pool, before);
    SimTime t = now(net);
    FOR_EACH_METRICS(c, m, sim_gauge_add(from_time_wait ? m->time_wait : m->active, t, -1));
    c->client = TCP_CLOSED;
}

static void server_set(PsNetwork *net, PsConn *c, PsTcpState state)
{
    SimTime t = now(net);
    PsTcpState old = c->server_side;
    gboolean was_est = old != TCP_CLOSED && old != TCP_TIME_WAIT;
    gboolean is_est = state != TCP_CLOSED && state != TCP_TIME_WAIT;
    if (was_est != is_est) {
        sim_gauge_add(c->server->established, t, is_est ? 1 : -1);
        sim_gauge_add(net->server_established, t, is_est ? 1 : -1);
    }
    if ((old == TCP_TIME_WAIT) != (state == TCP_TIME_WAIT)) {
        int d = state == TCP_TIME_WAIT ? 1 : -1;
        sim_gauge_add(c->server->time_wait_gauge, t, d);
        sim_gauge_add(net->server_time_wait, t, d);
    }
    c->server_side = state;
}

/* --- segments arriving at the server ------------------------------------ */

static void server_gets_syn(void *ctx, uint64_t id);
static void client_gets_synack(void *ctx, uint64_t id);
static void server_gets_ack(void *ctx, uint64_t id);
static void client_closes(void *ctx, uint64_t id);
static void server_closes(void *ctx, uint64_t id);
static void server_gets_fin(void *ctx, uint64_t id);
static void client_gets_ackfin(void *ctx, uint64_t id);
static void server_gets_last_ack(void *ctx, uint64_t id);
static void client_time_wait_ends(void *ctx, uint64_t id);
static void client_gets_fin(void *ctx, uint64_t id);
static void server_gets_ackfin(void *ctx, uint64_t id);
static void client_gets_last_ack(void *ctx, uint64_t id);
static void server_time_wait_ends(void *ctx, uint64_t id);
static void server_gets_rst(void *ctx, uint64_t id);

void ps_tcp_attempt(PsNetwork *net, PsWorkload *wl)
{
    PsHost *host = wl->host;
    PsPool *pool = host->pools->pdata[host->next_pool];
    if (host->round_robin)
        host->next_pool = (host->next_pool + 1) % host->pools->len;
    guint e = wl->next_endpoint;
    wl->next_endpoint = (wl->next_endpoint + 1) % wl->server->endpoints->len;
    const PsEndpoint *ep = &g_array_index(wl->server->endpoints, PsEndpoint, e);

    uint32_t id = conn_new(net);
    PsConn *c = conn_at(net, id);
    c->wl = wl;
    c->pool = pool;
    c->server = wl->server;
    c->endpoint = e;
    c->dest = ps_pool_dest(pool->ports, &ep->address, ep->port);
    FOR_EACH_METRICS(c, m, m->attempts->value++);

    PsAllocRequest req = {
        .mode = host->bind_before_connect ? PS_ALLOC_BIND : PS_ALLOC_CONNECT,
        .local = &pool->address,
        .remote = host->bind_before_connect ? NULL : &ep->address,
        .remote_port = host->bind_before_connect ? 0 : ep->port,
        .now = now(net),
    };
    uint32_t probes = 0;
    guint before = ps_pool_ports_in_use(pool->ports);
    int port = ps_allocator_take(pool->alloc, pool->ports, c->dest, &req, &probes);
    FOR_EACH_METRICS(c, m, {
        m->allocations->value++;
        m->probes->value += probes;
    });
    sim_histogram_add(pool->probe_hist, probes);
    if (port < 0) {
        record_failure(net, c, host->bind_before_connect ? PS_FAIL_EADDRINUSE
                                                         : PS_FAIL_EADDRNOTAVAIL);
        c->client = TCP_CLOSED;
        c->server_side = TCP_CLOSED;
        conn_maybe_free(net, id);
        return;
    }
    /* A port bound exclusively is unique toward every destination, so its
     * connect() cannot collide: the 4-tuple check is implied. */
    c->port = (uint16_t)port;
    c->bound = host->bind_before_connect;
    update_ports_in_use(net, pool, before);
    SimTime t = now(net);
    FOR_EACH_METRICS(c, m, sim_gauge_add(m->active, t, 1));
    c->client = TCP_SYN_SENT;
    transmit(net, c, id, server_gets_syn);
}

static void server_gets_syn(void *ctx, uint64_t id)
{
    PsNetwork *net = ctx;
    PsConn *c = conn_at(net, id);
    server_set(net, c, TCP_SYN_RECEIVED);
    transmit(net, c, (uint32_t)id, client_gets_synack);
}

static void client_gets_synack(void *ctx, uint64_t id)
{
    PsNetwork *net = ctx;
    PsConn *c = conn_at(net, id);
    c->client = TCP_ESTABLISHED;
    FOR_EACH_METRICS(c, m, m->successes->value++);
    transmit(net, c, (uint32_t)id, server_gets_ack);
    if (!c->wl->server_closes)
        sim_engine_after(net->engine, sim_dist_sample(&c->wl->hold, &c->wl->rng), client_closes,
                         net, id);
}

static void server_gets_ack(void *ctx, uint64_t id)
{
    PsNetwork *net = ctx;
    PsConn *c = conn_at(net, id);
    /* The client may already be closing (hold 0): its FIN follows this ACK. */
    server_set(net, c, TCP_ESTABLISHED);
    if (c->wl->server_closes)
        sim_engine_after(net->engine, sim_dist_sample(&c->wl->hold, &c->wl->rng), server_closes,
                         net, id);
}

/* --- the client closes first -------------------------------------------- */

static void client_closes(void *ctx, uint64_t id)
{
    PsNetwork *net = ctx;
    PsConn *c = conn_at(net, id);
    if (c->pool->host->linger0) {
        client_release(net, c, FALSE);
        transmit(net, c, (uint32_t)id, server_gets_rst);
        return;
    }
    c->client = TCP_FIN_WAIT_1;
    transmit(net, c, (uint32_t)id, server_gets_fin);
}

static void server_gets_rst(void *ctx, uint64_t id)
{
    PsNetwork *net = ctx;
    PsConn *c = conn_at(net, id);
    server_set(net, c, TCP_CLOSED);
    conn_maybe_free(net, (uint32_t)id);
}

static void server_gets_fin(void *ctx, uint64_t id)
{
    PsNetwork *net = ctx;
    PsConn *c = conn_at(net, id);
    /* CLOSE_WAIT, and the server application closes at once: its ACK and
     * FIN leave together, so the state is LAST_ACK. */
    server_set(net, c, TCP_LAST_ACK);
    transmit(net, c, (uint32_t)id, client_gets_ackfin);
}

static void client_gets_ackfin(void *ctx, uint64_t id)
{
    PsNetwork *net = ctx;
    PsConn *c = conn_at(net, id);
    SimTime t = now(net);
    c->client = TCP_TIME_WAIT;
    FOR_EACH_METRICS(c, m, {
        sim_gauge_add(m->active, t, -1);
        sim_gauge_add(m->time_wait, t, 1);
    });
    transmit(net, c, (uint32_t)id, server_gets_last_ack);
    sim_engine_after(net->engine, c->pool->host->time_wait, client_time_wait_ends, net, id);
}

static void server_gets_last_ack(void *ctx, uint64_t id)
{
    PsNetwork *net = ctx;
    server_set(net, conn_at(net, id), TCP_CLOSED);
    conn_maybe_free(net, (uint32_t)id);
}

static void client_time_wait_ends(void *ctx, uint64_t id)
{
    PsNetwork *net = ctx;
    client_release(net, conn_at(net, id), TRUE);
    conn_maybe_free(net, (uint32_t)id);
}

/* --- the server closes first -------------------------------------------- */

static void server_closes(void *ctx, uint64_t id)
{
    PsNetwork *net = ctx;
    PsConn *c = conn_at(net, id);
    server_set(net, c, TCP_FIN_WAIT_1);
    transmit(net, c, (uint32_t)id, client_gets_fin);
}

static void client_gets_fin(void *ctx, uint64_t id)
{
    PsNetwork *net = ctx;
    PsConn *c = conn_at(net, id);
    if (c->pool->host->linger0) {
        /* The client application closes at once with SO_LINGER {on, 0}:
         * RST, and the server skips TIME_WAIT. */
        client_release(net, c, FALSE);
        transmit(net, c, (uint32_t)id, server_gets_rst);
        return;
    }
    c->client = TCP_LAST_ACK;
    transmit(net, c, (uint32_t)id, server_gets_ackfin);
}

static void server_gets_ackfin(void *ctx, uint64_t id)
{
    PsNetwork *net = ctx;
    PsConn *c = conn_at(net, id);
    server_set(net, c, TCP_TIME_WAIT);
    transmit(net, c, (uint32_t)id, client_gets_last_ack);
    sim_engine_after(net->engine, c->server->time_wait, server_time_wait_ends, net, id);
}

static void client_gets_last_ack(void *ctx, uint64_t id)
{
    PsNetwork *net = ctx;
    client_release(net, conn_at(net, id), FALSE);
    conn_maybe_free(net, (uint32_t)id);
}

static void server_time_wait_ends(void *ctx, uint64_t id)
{
    PsNetwork *net = ctx;
    server_set(net, conn_at(net, id), TCP_CLOSED);
    conn_maybe_free(net, (uint32_t)id);
}
