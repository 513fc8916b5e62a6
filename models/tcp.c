/* The TCP life cycle of one connection at segment granularity.
 *
 * Every segment is an event delivered one link delay after it was sent:
 * SYN, SYN-ACK, ACK open the connection; the closer's FIN, the peer's
 * ACK+FIN (its application closes at once) and the final ACK close it; the
 * active closer then holds the 4-tuple in TIME_WAIT. With linger0 the closer
 * sends RST and nobody enters TIME_WAIT. The client's port is held from the
 * moment the SYN is sent until its side is CLOSED. */
#include "network_internal.h"
#include "lb.h"
#include "nat.h"
#include "server_queue.h"
#include "tw_entries.h"

#include <string.h>

static PsConn *conn_at(PsNetwork *net, uint64_t id)
{
    return &g_array_index(net->conns, PsConn, id);
}

/* The id of a record of the slab. */
static uint32_t conn_id(PsNetwork *net, const PsConn *c) { return (uint32_t)(c - conn_at(net, 0)); }

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
    c->serial = net->n_attempts++;
    net->live_conns++;
    net->last_conn = id;
    return id;
}

/* A connection is recycled once both sides are CLOSED. */
static void conn_maybe_free(PsNetwork *net, uint32_t id)
{
    PsConn *c = conn_at(net, id);
    if (!c->live || c->client != TCP_CLOSED || c->server_side != TCP_CLOSED ||
        c->server_tw_pending || c->inflight > 0)
        return;
    c->live = FALSE;
    if (c->nat_entry)
        ps_nat_conn_done(net, c);
    net->live_conns--;
    g_array_append_val(net->free_conns, id);
}

static SimTime now(const PsNetwork *net) { return sim_engine_now(net->engine); }

/* --- teaching outputs ------------------------------------------------- */

static const PsEndpoint *endpoint_of(const PsConn *c)
{
    return &g_array_index(c->server->endpoints, PsEndpoint, c->endpoint);
}

/* Writes one line of the readable trace about connection id. */
#define TRACE(net, c, id, ...) /* id: unused, kept for the call sites' symmetry */                                                   \
    do {                                                                         \
        if ((net)->trace) {                                                      \
            const PsEndpoint *ep_ = endpoint_of(c);                              \
            PsTraceSubject s_ = {(c)->pool->host->name, (c)->serial, &(c)->pool->address, \
                                 (c)->port, &ep_->address, ep_->port};           \
            ps_trace_log_event((net)->trace, now(net), &s_, __VA_ARGS__);         \
        }                                                                        \
    } while (0)

/* Initial sequence numbers, fixed per connection so a capture is the same
 * on every run. */
static uint32_t isn_client(uint32_t id, uint16_t port) { return id * 2654435761u + port; }
static uint32_t isn_server(uint32_t id, uint16_t port) { return isn_client(id, port) ^ 0x5bd1e995u; }

static void server_gets_syn(void *ctx, uint64_t id);
static void client_gets_synack(void *ctx, uint64_t id);
static void server_gets_ack(void *ctx, uint64_t id);
static void server_gets_fin(void *ctx, uint64_t id);
static void client_gets_ackfin(void *ctx, uint64_t id);
static void server_gets_last_ack(void *ctx, uint64_t id);
static void client_gets_fin(void *ctx, uint64_t id);
static void server_gets_ackfin(void *ctx, uint64_t id);
static void client_gets_last_ack(void *ctx, uint64_t id);
static void server_gets_rst(void *ctx, uint64_t id);
static void client_gets_rst(void *ctx, uint64_t id);
static void udp_server_gets_query(void *ctx, uint64_t id);
static void udp_client_gets_reply(void *ctx, uint64_t id);

/* The segment an event delivers, as the client's side of the link sees
 * it: what the client sends, when it sends it; what it receives, when it
 * arrives. Sequence numbers advance by one for SYN and FIN. */
static void capture(PsNetwork *net, const PsConn *c, uint32_t id, SimHandler deliver)
{
    if ((c->wl->lb != NULL) != net->pcap_backend) /* the other observation point's */
        return;
    const PsEndpoint *ep = endpoint_of(c);
    uint32_t ic = isn_client(id, c->port), is = isn_server(id, c->port);
    struct {
        SimHandler h;
        gboolean to_server;
        uint8_t flags;
        uint32_t seq, ack;
        uint8_t kind;
    } table[] = {
        {server_gets_syn, TRUE, PS_TCP_SYN, ic, 0, PS_SEG_TCP},
        {client_gets_synack, FALSE, PS_TCP_SYN | PS_TCP_ACK, is, ic + 1, PS_SEG_TCP},
        {server_gets_ack, TRUE, PS_TCP_ACK, ic + 1, is + 1, PS_SEG_TCP},
        {server_gets_fin, TRUE, PS_TCP_FIN | PS_TCP_ACK, ic + 1, is + 1, PS_SEG_TCP},
        {client_gets_ackfin, FALSE, PS_TCP_FIN | PS_TCP_ACK, is + 1, ic + 2, PS_SEG_TCP},
        {server_gets_last_ack, TRUE, PS_TCP_ACK, ic + 2, is + 2, PS_SEG_TCP},
        {client_gets_fin, FALSE, PS_TCP_FIN | PS_TCP_ACK, is + 1, ic + 1, PS_SEG_TCP},
        {server_gets_ackfin, TRUE, PS_TCP_FIN | PS_TCP_ACK, ic + 1, is + 2, PS_SEG_TCP},
        {client_gets_last_ack, FALSE, PS_TCP_ACK, is + 2, ic + 2, PS_SEG_TCP},
        {server_gets_rst, TRUE, PS_TCP_RST, ic + 1, 0, PS_SEG_TCP},
        {client_gets_rst, FALSE, PS_TCP_RST | PS_TCP_ACK, 0, ic + 1, PS_SEG_TCP},
        /* UDP: a DNS query and its answer, the id from the connection */
        {udp_server_gets_query, TRUE, 0, id, 0, PS_SEG_DNS_QUERY},
        {udp_client_gets_reply, FALSE, 0, id, 0, PS_SEG_DNS_ANSWER},
    };
    for (guint i = 0; i < G_N_ELEMENTS(table); i++) {
        if (table[i].h != deliver)
            continue;
        PsSegment seg = {.flags = table[i].flags, .seq = table[i].seq, .ack = table[i].ack,
                         .kind = table[i].kind};
        SimAddress local = c->pool->address;
        uint16_t lport = c->port;
        /* Outside a NAT: its external address and port, translated only. */
        if (net->pcap_nat_outside && !ps_nat_outside_endpoint(net, c, &local, &lport))
            return;
        if (table[i].to_server) {
            seg.src = local, seg.sport = lport;
            seg.dst = ep->address, seg.dport = ep->port;
        } else {
            seg.src = ep->address, seg.sport = ep->port;
            seg.dst = local, seg.dport = lport;
        }
        SimTime at = now(net) + (table[i].to_server ? 0 : c->owd);
        ps_pcap_write(net->pcap, at, &seg);
        return;
    }
}

/* A segment of a translated connection passes its NAT box, whose entry
 * follows the close as conntrack does (FIN, FIN back, last ACK; RST). */
static void nat_observe(PsNetwork *net, PsConn *c, SimHandler deliver)
{
    PsNatState state;
    if (deliver == server_gets_fin || deliver == client_gets_fin)
        state = PS_NAT_FIN_WAIT;
    else if (deliver == client_gets_ackfin || deliver == server_gets_ackfin)
        state = PS_NAT_LAST_ACK;
    else if (deliver == server_gets_last_ack || deliver == client_gets_last_ack)
        state = PS_NAT_TIME_WAIT;
    else if (deliver == server_gets_rst || deliver == client_gets_rst)
        state = PS_NAT_CLOSE;
    else if (deliver == server_gets_ack || deliver == client_gets_synack)
        state = PS_NAT_ESTABLISHED;
    else
        return;
    ps_nat_segment(net, c, state);
}

static void transmit(PsNetwork *net, PsConn *c, uint32_t id, SimHandler deliver)
{
    if (net->pcap)
        capture(net, c, id, deliver);
    if (c->nat_entry)
        nat_observe(net, c, deliver);
    sim_engine_after(net->engine, c->owd, deliver, net, id);
}

/* A SYN or SYN-ACK, which the link may lose. The client's capture shows
 * every SYN it sends and only the SYN-ACKs that reach it. Until delivered
 * the segment pins the connection record (inflight), so a late one never
 * lands on a recycled record. */
static void transmit_handshake(PsNetwork *net, PsConn *c, uint32_t id, SimHandler deliver)
{
    gboolean to_server = deliver == server_gets_syn;
    gboolean lost = c->wl->loss > 0 && sim_rng_uniform(&c->wl->rng) < c->wl->loss;
    if (net->pcap && !net->pcap_nat_outside && (to_server || !lost))
        capture(net, c, id, deliver);
    /* A NAT with no port for the SYN drops it silently: to the client it
     * is a lost SYN (linux-nat-measured.md). */
    if (to_server && !lost && c->wl->nat && !ps_nat_syn(net, c, id))
        lost = TRUE;
    else if (!to_server && !lost && c->nat_entry)
        nat_observe(net, c, deliver);
    if (net->pcap && net->pcap_nat_outside && !lost)
        capture(net, c, id, deliver);
    if (lost)
        return;
    c->inflight++;
    sim_engine_after(net->engine, c->owd, deliver, net, id);
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
    if (delta > 0 && pool->host->monitors)
        ps_monitor_check(pool->host, pool, t);
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
    if (c->wl->lb) /* a proxy's backend connect() failed */
        ps_lb_backend_failed(net, conn_id(net, c), reason);
}

static void observe_port(PsNetwork *net, const PsConn *c, gboolean take)
{
    if (G_LIKELY(!net->port_observer))
        return;
    const PsEndpoint *ep = &g_array_index(c->server->endpoints, PsEndpoint, c->endpoint);
    PsPortEvent ev = {
        .take = take,
        .bound = c->bound,
        .local = &c->pool->address,
        .port = c->port,
        .lo = ps_pool_lo(c->pool->ports),
        .hi = ps_pool_hi(c->pool->ports),
        .remote = &ep->address,
        .remote_port = ep->port,
    };
    net->port_observer(net->port_observer_data, &ev);
}

/* The client's side is CLOSED: give the port (or 4-tuple) back. */
static void client_release(PsNetwork *net, PsConn *c, gboolean from_time_wait)
{
    PsPool *pool = c->pool;
    observe_port(net, c, FALSE);
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
    if ((old == TCP_SYN_RECEIVED) != (state == TCP_SYN_RECEIVED))
        c->server->syn_received += state == TCP_SYN_RECEIVED ? 1 : -1;
    c->server_side = state;
    if (old != state && c->server->max_connections > 0)
        ps_server_queue_state(net, conn_id(net, c), old, state);
    if (old != state && c->server->lb)
        ps_lb_server_state(net, conn_id(net, c), old, state);
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

static gboolean is_loopback(const SimAddress *a)
{
    if (a->family == 4)
        return a->bytes[0] == 127;
    static const uint8_t one[16] = {[15] = 1};
    return memcmp(a->bytes, one, 16) == 0;
}

static inline uint64_t tw_key(PsDestId dest, uint16_t port)
{
    return ((uint64_t)dest << 16) | port;
}

typedef struct {
    PsNetwork *net;
    PsPool *pool;
    PsDestId dest;
} ReuseCtx;

/* tw_index values: a connection record in TIME_WAIT, (id + 1) << 1, or a
 * TIME_WAIT entry of the pool's host (tw_entries.h), index << 1 | 1. */
#define TW_CONN(id) (((gsize)(id) + 1) << 1)
#define TW_ENTRY(index) (((gsize)(index) << 1) | 1)

/* pool->tw_index (tw_index.h) keeps no keys: they are recomputed from the
 * record or entry a value names. */
typedef struct {
    PsNetwork *net;
    PsHost *host;
} TwKeyCtx;

static uint64_t tw_key_of(const void *ctx, uint32_t v)
{
    const TwKeyCtx *k = ctx;
    if (v & 1) {
        const PsTwEntry *e = ps_tw_entry_at(k->host, v >> 1);
        return tw_key(e->dest, e->port);
    }
    const PsConn *c = conn_at(k->net, (v >> 1) - 1);
    return tw_key(c->dest, c->port);
}

static gsize tw_index_lookup(PsNetwork *net, PsPool *pool, PsDestId dest, uint16_t port)
{
    TwKeyCtx k = {net, pool->host};
    return ps_tw_index_lookup(pool->tw_index, tw_key(dest, port), tw_key_of, &k);
}

static void tw_index_insert(PsNetwork *net, PsPool *pool, PsDestId dest, uint16_t port,
                            gsize v)
{
    /* Values are 32-bit slots: conn ids and entry indexes below 2^31. */
    if (v > UINT32_MAX)
        g_error("TIME_WAIT index: record %" G_GSIZE_FORMAT " beyond 2^31", v >> 1);
    TwKeyCtx k = {net, pool->host};
    ps_tw_index_insert(pool->tw_index, tw_key(dest, port), (uint32_t)v, tw_key_of, &k);
}

static void tw_index_remove(PsNetwork *net, PsPool *pool, PsDestId dest, uint16_t port)
{
    TwKeyCtx k = {net, pool->host};
    ps_tw_index_remove(pool->tw_index, tw_key(dest, port), tw_key_of, &k);
}

/* tcp_twsk_unique(): a TIME_WAIT 4-tuple older than tw_reuse_delay may be
 * taken over (timestamps assumed on, as Linux defaults). Returns its
 * tw_index value, 0 when there is none to take over. */
static gsize reusable_tw(PsNetwork *net, PsPool *pool, PsDestId dest, uint16_t port)
{
    gsize v = tw_index_lookup(net, pool, dest, port);
    if (!v)
        return 0;
    SimTime since = v & 1 ? ps_tw_entry_at(pool->host, (uint32_t)(v >> 1))->since
                          : conn_at(net, (v >> 1) - 1)->tw_since;
    return now(net) - since > pool->host->tw_reuse_delay ? v : 0;
}

static gboolean reuse_ok(void *ctx, uint16_t port)
{
    const ReuseCtx *r = ctx;
    return reusable_tw(r->net, r->pool, r->dest, port) != 0;
}

static void tw_entry_ends(void *ctx, uint64_t index);

static void client_time_wait_ends(void *ctx, uint64_t id);

/* The source address of a new connection toward ep. */
static guint pick_address(PsHost *host, const PsEndpoint *ep)
{
    switch (host->selection) {
    case PS_ADDR_FIRST:
        return 0;
    case PS_ADDR_HASH: {
        /* FNV-1a of the destination: one destination, one source address. */
        uint32_t hsh = 2166136261u;
        guint n = ep->address.family == 4 ? 4 : 16;
        for (guint i = 0; i < n; i++)
            hsh = (hsh ^ ep->address.bytes[i]) * 16777619u;
        hsh = (hsh ^ (ep->port & 0xff)) * 16777619u;
        hsh = (hsh ^ (ep->port >> 8)) * 16777619u;
        return hsh % host->n_addresses;
    }
    case PS_ADDR_ROUND_ROBIN:
    default: {
        guint i = host->next_pool;
        host->next_pool = (host->next_pool + 1) % host->n_addresses;
        return i;
    }
    }
}

/* The request behind a connection learns its outcome once. */
static void request_end(PsConn *c, gboolean ok)
{
    if (c->ended)
        return;
    c->ended = TRUE;
    if (c->wl->lb) /* a proxy's backend connection: lb.c follows it */
        return;
    ps_request_ended(c->wl, c->user, c->attempt, ok);
}

/* --- SYN retransmission (docs/syn-retransmission.md) ---------------------- */

#define SYN_RTO_INITIAL SIM_S   /* TCP_TIMEOUT_INIT */
#define SYN_RTO_MAX (120 * SIM_S) /* TCP_RTO_MAX */

/* How long an unanswered connect() may last: tcp_model_timeout() with the
 * initial RTO as base, whose linear threshold ilog2(TCP_RTO_MAX / 1 s) is
 * 6. The linear timeouts shorten the intervals but not this budget: with
 * tcp_syn_retries = 1 the budget is 3 s, so SYNs leave at 0, 1 and 2 s, as
 * measured (linux-kernel-measured.md). */
static SimTime syn_budget(guint retries)
{
    if (retries <= 6)
        return (SimTime)((2u << retries) - 1) * SYN_RTO_INITIAL;
    return 127 * SIM_S + (SimTime)(retries - 6) * SYN_RTO_MAX;
}

static void client_syn_timer(void *ctx, uint64_t id);

/* The current RTO: doubled per step from the initial, MIN(2 * rto, max)
 * repeated, kept as a count of doublings (1 s << 7 is past the max). */
static SimTime syn_rto(const PsConn *c)
{
    return MIN(SYN_RTO_INITIAL << c->rto_doublings, SYN_RTO_MAX);
}

/* Next expiry: one RTO on, or the application's connect_timeout if sooner. */
static void syn_timer_arm(PsNetwork *net, PsConn *c, uint32_t id)
{
    SimTime at = now(net) + syn_rto(c);
    if (c->wl->connect_timeout > 0) /* MAX: a [timeline] may have shortened it */
        at = MIN(at, MAX(c->syn_start + c->wl->connect_timeout, now(net)));
    c->syn_timer = sim_engine_at(net->engine, at, client_syn_timer, net, id);
}

static void client_syn_timer(void *ctx, uint64_t id)
{
    PsNetwork *net = ctx;
    PsConn *c = conn_at(net, id);
    c->syn_timer = SIM_EVENT_NONE;
    PsHost *host = c->pool->host;
    SimTime elapsed = now(net) - c->syn_start;
    gboolean app_timeout = c->wl->connect_timeout > 0 && elapsed >= c->wl->connect_timeout;
    if (app_timeout || elapsed >= syn_budget(host->syn_retries)) {
        /* tcp_write_timeout(): the attempt fails; the port is released and
         * a half-open request on the server is dropped with it. */
        record_failure(net, c, PS_FAIL_ETIMEDOUT);
        TRACE(net, c, id, "ETIMEDOUT from connect(): no SYN-ACK after %u SYN%s (%s); port "
                          "released",
              c->syn_retx + 1u, c->syn_retx ? "s" : "",
              app_timeout ? "connect_timeout" : "tcp_syn_retries");
        client_release(net, c, FALSE);
        if (c->server_side == TCP_SYN_RECEIVED)
            server_set(net, c, TCP_CLOSED);
        request_end(c, FALSE);
        conn_maybe_free(net, (uint32_t)id);
        return;
    }
    c->syn_retx++;
    c->wl->syn_retransmits->value++;
    /* tcp_retransmit_timer(): the interval stays at the initial RTO for
     * the first tcp_syn_linear_timeouts retransmissions and one more
     * interval, then doubles. */
    if (c->syn_retx > host->syn_linear && c->rto_doublings < 7)
        c->rto_doublings++;
    TRACE(net, c, id, "no SYN-ACK: SYN retransmitted (#%u)", (unsigned)c->syn_retx);
    syn_timer_arm(net, c, (uint32_t)id);
    transmit_handshake(net, c, (uint32_t)id, server_gets_syn);
}

static void udp_query(PsNetwork *net, PsConn *c, uint32_t id, uint32_t probes);

void ps_tcp_attempt(PsNetwork *net, PsWorkload *wl, gint32 endpoint, SimTime hold, uint32_t user,
                    uint32_t attempt)
{
    PsHost *host = wl->host;
    guint e;
    if (endpoint >= 0) {
        e = (guint)endpoint;
    } else {
        e = wl->next_endpoint;
        wl->next_endpoint = (wl->next_endpoint + 1) % wl->server->endpoints->len;
    }
    const PsEndpoint *ep = &g_array_index(wl->server->endpoints, PsEndpoint, e);
    PsPool *pool = ps_host_pool(net, host, pick_address(host, ep));

    uint32_t id = conn_new(net);
    PsConn *c = conn_at(net, id);
    c->wl = wl;
    c->pool = pool;
    c->server = wl->server;
    c->endpoint = e;
    c->hold = hold;
    c->user = user;
    c->attempt = attempt;
    (attempt <= 1 ? wl->offered : wl->retried)->value++;
    c->dest = ps_pool_dest(pool->ports, &ep->address, ep->port);
    FOR_EACH_METRICS(c, m, m->attempts->value++);

    /* bind(addr, 0) reserves the port for everyone, unless
     * IP_BIND_ADDRESS_NO_PORT defers the choice to connect(); a host-wide
     * port uniqueness (Windows without SO_REUSE_UNICASTPORT) is the same
     * exclusivity at connect(). */
    gboolean bind_call = host->bind_before_connect && !host->bind_address_no_port;
    /* A UDP socket's port is its own toward everyone (udp_lib_get_port()). */
    gboolean exclusive = bind_call || host->host_wide_ports || wl->udp;
    PsAllocRequest req = {
        .mode = exclusive ? PS_ALLOC_BIND : PS_ALLOC_CONNECT,
        .local = &pool->address,
        .remote = exclusive ? NULL : &ep->address,
        .remote_port = exclusive ? 0 : ep->port,
        .now = now(net),
    };
    uint32_t probes = 0;
    guint before = ps_pool_ports_in_use(pool->ports);
    gboolean reused = FALSE;
    int port;
    gboolean may_reuse = !exclusive && pool->tw_index &&
                         ps_tw_index_size(pool->tw_index) + pool->tw_unindexed > 0 &&
                         (host->tw_reuse == 1 ||
                          (host->tw_reuse == 2 &&
                           (is_loopback(&pool->address) || is_loopback(&ep->address))));
    if (may_reuse) {
        ReuseCtx rc = {net, pool, c->dest};
        port = ps_allocator_take_reuse(pool->alloc, pool->ports, c->dest, &req, reuse_ok, &rc,
                                       &reused, &probes);
    } else {
        port = ps_allocator_take(pool->alloc, pool->ports, c->dest, &req, &probes);
    }
    FOR_EACH_METRICS(c, m, {
        m->allocations->value++;
        m->probes->value += probes;
    });
    sim_histogram_add(pool->probe_hist, probes);
    if (port < 0) {
        const GError *fault = ps_allocator_fault(pool->alloc);
        if (fault && !net->fault)
            net->fault = g_error_copy(fault);
        record_failure(net, c, bind_call ? PS_FAIL_EADDRINUSE : PS_FAIL_EADDRNOTAVAIL);
        TRACE(net, c, id, "%s: no free port after %u probes",
              bind_call ? "EADDRINUSE from bind()" : "EADDRNOTAVAIL from connect()", probes);
        c->client = TCP_CLOSED;
        c->server_side = TCP_CLOSED;
        request_end(c, FALSE);
        conn_maybe_free(net, id);
        return;
    }
    if (reused) {
        /* The old connection's TIME_WAIT ends now; the 4-tuple passes on. */
        gsize old = reusable_tw(net, pool, c->dest, (uint16_t)port);
        if (old & 1) {
            uint32_t index = (uint32_t)(old >> 1);
            sim_engine_cancel(net->engine, ps_tw_entry_at(host, index)->timer);
            tw_entry_ends(host, index);
        } else {
            uint32_t old_id = (uint32_t)((old >> 1) - 1);
            sim_engine_cancel(net->engine, conn_at(net, old_id)->tw_timer);
            client_time_wait_ends(net, old_id);
        }
        host->tw_recycled->value++;
        c = conn_at(net, id);
        before = ps_pool_ports_in_use(pool->ports);
        ps_pool_connect_take(pool->ports, c->dest, (uint16_t)port);
    }
    /* A port bound exclusively is unique toward every destination, so its
     * connect() cannot collide: the 4-tuple check is implied. */
    c->port = (uint16_t)port;
    c->bound = exclusive;
    observe_port(net, c, TRUE);
    update_ports_in_use(net, pool, before);
    SimTime t = now(net);
    FOR_EACH_METRICS(c, m, sim_gauge_add(m->active, t, 1));
    if (wl->udp) {
        udp_query(net, c, id, probes);
        return;
    }
    c->client = TCP_SYN_SENT;
    TRACE(net, c, id, "port chosen after %u probe%s%s; SYN sent", probes, probes == 1 ? "" : "s",
          reused ? " (took over a TIME_WAIT 4-tuple: tcp_tw_reuse)" : "");
    c->owd = wl->delay;
    if (wl->jitter > 0)
        c->owd += (SimTime)(sim_rng_uniform(&wl->rng) * (double)wl->jitter);
    c->syn_start = t;
    /* The retransmission timer costs an event per connection: armed only
     * when a SYN may go unanswered for the initial RTO. */
    if (wl->loss > 0 || wl->connect_timeout > 0 || 2 * c->owd >= SYN_RTO_INITIAL ||
        c->server->may_drop_syn || wl->nat) {
        c->rto_doublings = 0;
        syn_timer_arm(net, c, id);
    }
    transmit_handshake(net, c, id, server_gets_syn);
}

/* The 4-tuple as the server sees it: behind a NAT, the external address
 * (the NAT pool's id) and port, so clients sharing a NAT address collide in
 * the server's TIME_WAIT table as they do in reality. */
static gpointer server_tw_key(const PsNetwork *net, const PsConn *c)
{
    uint32_t pool_id;
    uint16_t port;
    if (c->nat_entry && ps_nat_outside(net, c, &pool_id, &port))
        return ps_server_tw_key(pool_id, c->endpoint, port);
    return ps_server_tw_key(c->pool->id, c->endpoint, c->port);
}

/* A SYN for a 4-tuple the server holds in TIME_WAIT is accepted and ends
 * that TIME_WAIT (net/ipv4/tcp_minisocks.c tcp_timewait_state_process(),
 * TCP_TW_SYN): the old connection's server side closes now; its timer still
 * runs, and only then may the old record be reused. */
static void recycle_server_time_wait(PsNetwork *net, PsConn *c)
{
    gpointer key = server_tw_key(net, c);
    if (!key)
        return;
    gpointer old = g_hash_table_lookup(c->server->tw_index, key);
    if (!old)
        return;
    g_hash_table_remove(c->server->tw_index, key);
    PsConn *o = conn_at(net, GPOINTER_TO_SIZE(old) - 1);
    server_set(net, o, TCP_CLOSED);
    o->server_tw_pending = TRUE;
    c->server->tw_recycled->value++;
    TRACE(net, o, 0,
          "server TIME_WAIT ended early: a new SYN for the same 4-tuple (conn #%" G_GUINT64_FORMAT
          ")", c->serial);
}

static void server_gets_syn(void *ctx, uint64_t id)
{
    PsNetwork *net = ctx;
    PsConn *c = conn_at(net, id);
    c->inflight--;
    /* A retransmitted SYN: answered again while half-open, ignored once
     * the handshake is over or the client gave up. */
    if (c->client == TCP_CLOSED || c->lb_wait ||
        (c->server_side != TCP_CLOSED && c->server_side != TCP_SYN_RECEIVED)) {
        conn_maybe_free(net, (uint32_t)id);
        return;
    }
    if (c->server_side == TCP_CLOSED) {
        /* A full backlog, or a load balancer choosing a backend (lb.c). */
        PsSynVerdict v = c->server->may_drop_syn ? ps_lb_server_syn(net, (uint32_t)id)
                                                 : PS_SYN_ACCEPT;
        c = conn_at(net, id);
        if (v == PS_SYN_DROP) {
            TRACE(net, c, id, "SYN dropped by the server: backlog full");
            conn_maybe_free(net, (uint32_t)id);
            return;
        }
        if (v == PS_SYN_REFUSE) {
            ps_tcp_refuse(net, (uint32_t)id);
            return;
        }
        recycle_server_time_wait(net, c);
        c = conn_at(net, id);
        server_set(net, c, TCP_SYN_RECEIVED);
        if (v == PS_SYN_DEFER) {
            c->lb_wait = 1;
            return;
        }
    }
    transmit_handshake(net, c, (uint32_t)id, client_gets_synack);
}

/* Closes the connection's client (or server) side `after` from now, as a
 * compact event (16 bytes instead of a 48-byte slot and key) at the place
 * in the run order that sim_engine_after() would give it (same time, same
 * push): close events are never cancelled, so a workload's closes can go
 * to its own lanes, FIFO while in time order (a constant hold), a heap of
 * their own otherwise (sim_engine_at_compact_any()). A close at the current
 * instant (hold 0) stays on the engine's now lane: it is gone at once, and
 * lanes are few (16), so it should not take one from a host's TIME_WAIT. */
static void close_after(PsNetwork *net, const PsConn *c, uint32_t id, SimTime after,
                        gboolean client_side)
{
    SimHandler h = client_side ? client_closes : server_closes;
    SimTime t = now(net);
    uint32_t cls = c->wl->close_class;
    if (cls && after > 0 && after <= SIM_TIME_NEVER - t && ps_close_compact())
        sim_engine_at_compact_any(net->engine, t + after, client_side ? cls : cls ^ (1u << 30),
                                  h, net, id);
    else
        sim_engine_after(net->engine, after, h, net, id);
}

static SimTime hold_of(PsConn *c)
{
    return c->hold >= 0 ? c->hold : sim_dist_sample(&c->wl->hold, &c->wl->rng);
}

/* Requests on an open connection, then idleness (docs/workloads.md): each
 * request costs a round trip plus its service time; after the last answer
 * the connection idles for `hold`, unless an idle timeout ends it first:
 * the end whose timer expires first closes. A server's FIN leaves one
 * way-delay before the client would see it, so the client sees the close
 * exactly `idle` after its last answer either way. */
static void plan_life(PsNetwork *net, PsConn *c, uint32_t id)
{
    PsWorkload *wl = c->wl;
    SimTime busy = 0;
    for (guint i = 0; i < wl->requests; i++)
        busy += 2 * c->owd + sim_dist_sample(&wl->service, &wl->rng);
    wl->requests_served->value += wl->requests;
    ps_tcp_plan_close(net, id, busy);
}

void ps_tcp_plan_close(PsNetwork *net, uint32_t id, SimTime busy)
{
    PsConn *c = conn_at(net, id);
    PsWorkload *wl = c->wl;
    SimTime idle = hold_of(c);
    gboolean server_first = wl->server_closes;
    SimTime cli = wl->idle_timeout, srv = c->server->idle_timeout;
    if (srv > 0 && srv < idle && (cli == 0 || srv <= cli)) {
        idle = srv;
        server_first = TRUE;
    } else if (cli > 0 && cli < idle) {
        idle = cli;
        server_first = FALSE;
    }
    if (server_first) {
        TRACE(net, c, id, "%u request%s, then the server closes after %s idle", wl->requests,
              wl->requests == 1 ? "" : "s", idle == srv ? "its idle timeout" : "hold");
        close_after(net, c, id, MAX(busy + idle - c->owd, c->owd), FALSE);
    } else {
        close_after(net, c, id, busy + idle, TRUE);
    }
}

/* An answer to the client's SYN (SYN-ACK, RST) or UDP query lands: the
 * record it pins is released, and unless the client still waits for it
 * (a duplicate, or the client gave up) nothing more happens. When it
 * waits, its retransmission or query timer stops: the waiting record. */
static PsConn *answer_lands(PsNetwork *net, uint64_t id)
{
    PsConn *c = conn_at(net, id);
    c->inflight--;
    if (c->client != TCP_SYN_SENT) {
        conn_maybe_free(net, (uint32_t)id);
        return NULL;
    }
    if (c->syn_timer != SIM_EVENT_NONE) {
        sim_engine_cancel(net->engine, c->syn_timer);
        c->syn_timer = SIM_EVENT_NONE;
    }
    return c;
}

static void client_gets_synack(void *ctx, uint64_t id)
{
    PsNetwork *net = ctx;
    PsConn *c = answer_lands(net, id);
    if (!c)
        return;
    c->client = TCP_ESTABLISHED;
    FOR_EACH_METRICS(c, m, m->successes->value++);
    TRACE(net, c, id, "SYN-ACK received: ESTABLISHED");
    transmit(net, c, (uint32_t)id, server_gets_ack);
    if (c->wl->lb) { /* a proxy's backend connection: its proxy decides its life */
        ps_lb_backend_established(net, (uint32_t)id);
        return;
    }
    if (c->server->lb && ps_lb_client_established(net, (uint32_t)id))
        return; /* a proxy forwarding each request to a backend times them */
    if (c->wl->plan_life) {
        plan_life(net, c, (uint32_t)id);
        return;
    }
    if (!c->wl->server_closes)
        close_after(net, c, (uint32_t)id, hold_of(c), TRUE);
}

static void server_gets_ack(void *ctx, uint64_t id)
{
    PsNetwork *net = ctx;
    PsConn *c = conn_at(net, id);
    /* The client may already be closing (hold 0): its FIN follows this ACK. */
    server_set(net, c, TCP_ESTABLISHED);
    if (c->wl->server_closes && !c->wl->plan_life)
        close_after(net, c, (uint32_t)id, hold_of(c), FALSE);
}

/* --- the client closes first -------------------------------------------- */

static void client_closes(void *ctx, uint64_t id)
{
    PsNetwork *net = ctx;
    PsConn *c = conn_at(net, id);
    /* Waiting in a saturated server's accept queue: its life starts later. */
    if (c->server->max_connections > 0 && ps_server_defer_close(net, (uint32_t)id, TRUE))
        return;
    request_end(c, TRUE);
    if (c->pool->host->linger0) {
        TRACE(net, c, id, "close with SO_LINGER 0: RST sent, no TIME_WAIT; port released");
        client_release(net, c, FALSE);
        transmit(net, c, (uint32_t)id, server_gets_rst);
        return;
    }
    c->client = TCP_FIN_WAIT_1;
    TRACE(net, c, id, "client closes first: FIN sent (FIN_WAIT_1)");
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
    PsHost *host = c->pool->host;
    transmit(net, c, (uint32_t)id, server_gets_last_ack);
    if (host->tw_count >= host->max_tw_buckets) {
        /* tcp_time_wait(): past tcp_max_tw_buckets the socket is destroyed
         * at once ("time wait bucket table overflow"). */
        host->tw_overflow->value++;
        TRACE(net, c, id, "FIN received, but tcp_max_tw_buckets is reached: no TIME_WAIT; "
                          "port released");
        client_release(net, c, FALSE);
        conn_maybe_free(net, (uint32_t)id);
        return;
    }
    c->client = TCP_TIME_WAIT;
    FOR_EACH_METRICS(c, m, {
        sim_gauge_add(m->active, t, -1);
        sim_gauge_add(m->time_wait, t, 1);
    });
    host->tw_count++;
    c->tw_since = t;
    /* The timer wheel ends TIME_WAIT at the next tick of its granularity
     * at or after the nominal expiry; time_wait = 0 means no timer at all. */
    SimTime end = t + host->time_wait;
    SimTime g = host->time_wait_granularity;
    if (g > 0 && host->time_wait > 0 && end % g != 0)
        end += g - end % g;
    /* The fast path leaves out only what nothing reads: no trace, capture
     * (its sequence numbers derive from record ids, which recycling early
     * changes) or port observer, and no handshake segment still in flight
     * toward this record. Its end event takes the same place in the run
     * order as the record's would (same push, same time). */
    if (ps_tw_fast_path() && !net->trace && !net->pcap && !net->port_observer &&
        c->inflight == 0) {
        uint32_t index = ps_tw_entry_new(host);
        PsTwEntry *e = ps_tw_entry_at(host, index);
        *e = (PsTwEntry){.since = t, .ref = ps_tw_ref(host, c->wl, c->pool), .dest = c->dest,
                         .port = c->port, .bound = (uint8_t)c->bound};
        if (c->pool->tw_index && !c->bound) {
            /* Under tcp_tw_reuse 2 only loopback 4-tuples are ever looked
             * up, and the mode is fixed for the run ([timeline] cannot
             * change it): others need no index entry, only counting. */
            if (host->tw_reuse == 2 && !is_loopback(&c->pool->address) &&
                !is_loopback(&endpoint_of(c)->address)) {
                c->pool->tw_unindexed++;
            } else {
                tw_index_insert(net, c->pool, c->dest, c->port, TW_ENTRY(index));
                e->indexed = TRUE;
            }
        }
        e->timer = sim_engine_at_compact(net->engine, end, host->order_class, tw_entry_ends,
                                         host, index);
        /* The record no longer holds the client side: it is recycled once
         * the server closes; the entry counts as live until it ends. */
        c->client = TCP_CLOSED;
        net->live_conns++;
        return;
    }
    if (c->pool->tw_index && !c->bound)
        tw_index_insert(net, c->pool, c->dest, c->port, TW_CONN(id));
    /* One host's TIME_WAIT ends never go back in time (fixed length, ticks
     * rounded up): a FIFO lane per host instead of the heap. */
    c->tw_timer = sim_engine_at_ordered(net->engine, end, host->order_class,
                                        client_time_wait_ends, net, id);
    if (net->trace) {
        g_autofree char *until = sim_duration_format(end - t);
        TRACE(net, c, id, "FIN received: TIME_WAIT for %s", until);
    }
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
    PsConn *c = conn_at(net, id);
    PsHost *host = c->pool->host;
    host->tw_count--;
    c->tw_timer = SIM_EVENT_NONE;
    if (c->pool->tw_index && !c->bound)
        tw_index_remove(net, c->pool, c->dest, c->port);
    TRACE(net, c, id, "TIME_WAIT over: port released");
    client_release(net, c, TRUE);
    conn_maybe_free(net, (uint32_t)id);
}

/* client_time_wait_ends() for a TIME_WAIT entry (tw_entries.h). */
static void tw_entry_ends(void *ctx, uint64_t index)
{
    PsHost *host = ctx;
    PsTwEntry *e = ps_tw_entry_at(host, (uint32_t)index);
    PsWorkload *wl;
    PsPool *pool;
    ps_tw_ref_get(host, e->ref, &wl, &pool);
    PsNetwork *net = wl->net;
    host->tw_count--;
    if (e->indexed) {
        tw_index_remove(net, pool, e->dest, e->port);
    } else if (pool->tw_index && !e->bound) {
        pool->tw_unindexed--;
    }
    /* What client_release() reads of a record. */
    PsConn c = {.wl = wl, .pool = pool, .server = wl->server, .dest = e->dest,
                .port = e->port, .bound = e->bound, .client = TCP_TIME_WAIT};
    client_release(net, &c, TRUE);
    ps_tw_entry_free(host, (uint32_t)index);
    net->live_conns--;
}

/* --- the server closes first -------------------------------------------- */

static void server_closes(void *ctx, uint64_t id)
{
    PsNetwork *net = ctx;
    PsConn *c = conn_at(net, id);
    if (c->server->max_connections > 0 && ps_server_defer_close(net, (uint32_t)id, FALSE))
        return;
    server_set(net, c, TCP_FIN_WAIT_1);
    transmit(net, c, (uint32_t)id, client_gets_fin);
}

static void client_gets_fin(void *ctx, uint64_t id)
{
    PsNetwork *net = ctx;
    PsConn *c = conn_at(net, id);
    request_end(c, TRUE);
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
    gpointer key = server_tw_key(net, c);
    if (key)
        g_hash_table_insert(c->server->tw_index, key, GSIZE_TO_POINTER((gsize)id + 1));
    transmit(net, c, (uint32_t)id, client_gets_last_ack);
    sim_engine_after(net->engine, c->server->time_wait, server_time_wait_ends, net, id);
}

static void client_gets_last_ack(void *ctx, uint64_t id)
{
    PsNetwork *net = ctx;
    TRACE(net, conn_at(net, id), id, "last ACK received: CLOSED, port released (TIME_WAIT is "
                                      "on the server)");
    client_release(net, conn_at(net, id), FALSE);
    conn_maybe_free(net, (uint32_t)id);
}

static void server_time_wait_ends(void *ctx, uint64_t id)
{
    PsNetwork *net = ctx;
    PsConn *c = conn_at(net, id);
    if (c->server_tw_pending) {
        c->server_tw_pending = FALSE; /* recycled by a SYN earlier */
    } else {
        gpointer key = server_tw_key(net, c);
        if (key)
            g_hash_table_remove(c->server->tw_index, key);
        server_set(net, c, TCP_CLOSED);
    }
    conn_maybe_free(net, (uint32_t)id);
}

/* --- load balancers (lb.c) ------------------------------------------------ */

void ps_tcp_synack(PsNetwork *net, uint32_t id)
{
    PsConn *c = conn_at(net, id);
    c->lb_wait = 0;
    if (c->client == TCP_SYN_SENT && c->server_side == TCP_SYN_RECEIVED)
        transmit_handshake(net, c, id, client_gets_synack);
}

void ps_tcp_refuse(PsNetwork *net, uint32_t id)
{
    PsConn *c = conn_at(net, id);
    c->lb_wait = 0;
    if (c->server_side != TCP_CLOSED)
        server_set(net, c, TCP_CLOSED);
    c = conn_at(net, id);
    if (net->pcap)
        capture(net, c, id, client_gets_rst);
    if (c->nat_entry) /* the RST passes the client's NAT: its entry closes */
        nat_observe(net, c, client_gets_rst);
    c->inflight++; /* pins the record until the RST lands */
    sim_engine_after(net->engine, c->owd, client_gets_rst, net, id);
}

/* RST in answer to a SYN: connect() fails with ECONNREFUSED. */
static void client_gets_rst(void *ctx, uint64_t id)
{
    PsNetwork *net = ctx;
    PsConn *c = answer_lands(net, id);
    if (!c)
        return;
    record_failure(net, c, PS_FAIL_ECONNREFUSED);
    c = conn_at(net, id);
    TRACE(net, c, id, "RST received: ECONNREFUSED from connect(); port released");
    client_release(net, c, FALSE);
    request_end(c, FALSE);
    conn_maybe_free(net, (uint32_t)id);
}

void ps_tcp_close_at(PsNetwork *net, uint32_t id, gboolean client_side, SimTime at)
{
    sim_engine_at(net->engine, at, client_side ? client_closes : server_closes, net, id);
}

void ps_tcp_close_later(PsNetwork *net, uint32_t id, gboolean client_side)
{
    /* The server learns one way-delay later that the client is done, and
     * so never closes before the handshake's last ACK reached it. */
    SimTime after = client_side ? 0 : conn_at(net, id)->owd;
    sim_engine_after(net->engine, after, client_side ? client_closes : server_closes, net, id);
}

/* --- a service binding a fixed port on the client host ------------------ */

static void listener_release(void *ctx, uint64_t arg)
{
    PsNetwork *net = ctx;
    PsListener *l = net->listeners->pdata[arg];
    PsPool *pool = l->host->pool_of[0];
    guint before = ps_pool_ports_in_use(pool->ports);
    ps_pool_bind_release(pool->ports, l->port);
    update_ports_in_use(net, pool, before);
}

void ps_tcp_listener_bind(PsNetwork *net, PsListener *l)
{
    /* bind(first address, port): EADDRINUSE when any socket uses the port
     * (a connection toward any destination, or a bind). A reserved port is
     * never handed out automatically, so it is always free for the service;
     * a port outside the range never meets automatic selection either. */
    PsPool *pool = l->host->pool_of[0];
    PsPortPool *ports = pool->ports;
    l->reserved = ps_pool_is_reserved(ports, l->port);
    if (l->reserved || l->port < ps_pool_lo(ports) || l->port > ps_pool_hi(ports))
        return;
    if (!ps_pool_bind_ok(ports, l->port)) {
        l->refused = TRUE;
        l->host->listener_conflicts->value++;
        return;
    }
    guint before = ps_pool_ports_in_use(ports);
    ps_pool_bind_take(ports, l->port);
    update_ports_in_use(net, pool, before);
    /* Held until the end of the run's busy period, so the pools drain. */
    guint idx = 0;
    while (net->listeners->pdata[idx] != l)
        idx++;
    sim_engine_at(net->engine, MAX(l->until, now(net)), listener_release, net, idx);
}

/* --- UDP: one query per new source port (protocol = udp) ----------------
 *
 * A DNS-like exchange: the client takes a port (exclusive, as UDP's
 * autobind does), sends one query, and closes the socket when the answer
 * arrives, or fails with ETIMEDOUT when none came within the workload's
 * connect_timeout (default 5 s, the resolver's RES_TIMEOUT). No TIME_WAIT
 * anywhere; a NAT on the way keeps its own UDP entry (nat.c). The client's
 * state reuses SYN_SENT for "query outstanding". Limitation: the host's
 * UDP ports come from the same pool as its TCP ports (Linux keeps separate
 * tables), exact for hosts that only speak UDP. */

#define UDP_TIMEOUT_DEFAULT (5 * SIM_S) /* resolv.conf(5) timeout:5 */

static void udp_server_replies(void *ctx, uint64_t id);

static void udp_timeout(void *ctx, uint64_t id)
{
    PsNetwork *net = ctx;
    PsConn *c = conn_at(net, id);
    c->syn_timer = SIM_EVENT_NONE;
    record_failure(net, c, PS_FAIL_ETIMEDOUT);
    TRACE(net, c, id, "no UDP answer: ETIMEDOUT; socket closed, port released");
    client_release(net, c, FALSE);
    request_end(c, FALSE);
    conn_maybe_free(net, (uint32_t)id);
}

static void udp_query(PsNetwork *net, PsConn *c, uint32_t id, uint32_t probes)
{
    PsWorkload *wl = c->wl;
    c->client = TCP_SYN_SENT;
    c->owd = wl->delay;
    if (wl->jitter > 0)
        c->owd += (SimTime)(sim_rng_uniform(&wl->rng) * (double)wl->jitter);
    c->syn_start = now(net);
    SimTime timeout = wl->connect_timeout > 0 ? wl->connect_timeout : UDP_TIMEOUT_DEFAULT;
    c->syn_timer = sim_engine_after(net->engine, timeout, udp_timeout, net, id);
    TRACE(net, c, id, "port chosen after %u probe%s; UDP query sent", probes,
          probes == 1 ? "" : "s");
    gboolean lost = wl->loss > 0 && sim_rng_uniform(&wl->rng) < wl->loss;
    if (net->pcap && !net->pcap_nat_outside)
        capture(net, c, id, udp_server_gets_query);
    if (!lost && wl->nat && !ps_nat_syn(net, c, id))
        lost = TRUE;
    if (lost)
        return;
    if (net->pcap && net->pcap_nat_outside)
        capture(net, c, id, udp_server_gets_query);
    c->inflight++;
    sim_engine_after(net->engine, c->owd, udp_server_gets_query, net, id);
}

static void udp_server_gets_query(void *ctx, uint64_t id)
{
    PsNetwork *net = ctx;
    PsConn *c = conn_at(net, id);
    c->inflight--;
    if (c->client == TCP_CLOSED) { /* the client gave up: nobody listens */
        conn_maybe_free(net, (uint32_t)id);
        return;
    }
    c->inflight++;
    sim_engine_after(net->engine, sim_dist_sample(&c->wl->service, &c->wl->rng),
                     udp_server_replies, net, id);
}

static void udp_server_replies(void *ctx, uint64_t id)
{
    PsNetwork *net = ctx;
    PsConn *c = conn_at(net, id);
    c->inflight--;
    gboolean lost = c->wl->loss > 0 && sim_rng_uniform(&c->wl->rng) < c->wl->loss;
    if (c->client == TCP_CLOSED || lost) {
        conn_maybe_free(net, (uint32_t)id);
        return;
    }
    if (c->nat_entry)
        ps_nat_udp_reply(net, c);
    if (net->pcap)
        capture(net, c, (uint32_t)id, udp_client_gets_reply);
    c->inflight++;
    sim_engine_after(net->engine, c->owd, udp_client_gets_reply, net, id);
}

static void udp_client_gets_reply(void *ctx, uint64_t id)
{
    PsNetwork *net = ctx;
    PsConn *c = answer_lands(net, id);
    if (!c)
        return;
    FOR_EACH_METRICS(c, m, m->successes->value++);
    TRACE(net, c, id, "UDP answer received: socket closed, port released");
    request_end(c, TRUE);
    client_release(net, c, FALSE);
    conn_maybe_free(net, (uint32_t)id);
}
