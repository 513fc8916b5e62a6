/* A saturated server's accept queue.
 *
 * With max_connections M, a server serves M connections at once; a
 * connection completing its handshake beyond that waits in the accept queue
 * until a served one ends (FIFO), and its whole life (requests, idleness)
 * shifts by that wait: its close, planned when it was established, is put
 * off by as much. So a saturated backend holds connections, and their
 * clients' ports, longer. The SYN queue and accept queue bounds are in
 * ps_lb_server_syn() (lb.c). */

#include "server_queue.h"

static PsConn *conn_at(PsNetwork *net, uint32_t id)
{
    return &g_array_index(net->conns, PsConn, id);
}

static SimTime now(PsNetwork *net) { return sim_engine_now(net->engine); }

typedef struct {
    guint64 serial;
    SimTime queued_at;
    SimTime wait;        /* once served: how long it waited */
    gboolean queued;
    gboolean deferred;   /* a close came while it was queued */
    gboolean client_side;
    SimTime deferred_at;
} PsAcceptWait;

static void accept_next(PsNetwork *net, PsServer *s)
{
    while (!g_queue_is_empty(s->accept_queue)) {
        uint32_t id = GPOINTER_TO_UINT(g_queue_pop_head(s->accept_queue));
        PsAcceptWait *w = g_hash_table_lookup(s->waiting, GUINT_TO_POINTER(id));
        PsConn *c = conn_at(net, id);
        if (!w || !w->queued || !c->live || c->serial != w->serial)
            continue;
        s->serving++;
        s->queued--;
        w->queued = FALSE;
        w->wait = now(net) - w->queued_at;
        sim_histogram_add(s->accept_wait, sim_time_to_seconds(w->wait));
        if (w->deferred) {
            SimTime at = w->deferred_at + w->wait;
            gboolean side = w->client_side;
            g_hash_table_remove(s->waiting, GUINT_TO_POINTER(id));
            ps_tcp_close_at(net, id, side, at);
        }
        return;
    }
}

void ps_server_queue_state(PsNetwork *net, uint32_t id, PsTcpState old, PsTcpState state)
{
    PsConn *c = conn_at(net, id);
    PsServer *s = c->server;
    if (state == TCP_ESTABLISHED && old == TCP_SYN_RECEIVED) {
        if (s->serving < s->max_connections) {
            s->serving++;
            return;
        }
        PsAcceptWait *w = g_new0(PsAcceptWait, 1);
        w->serial = c->serial;
        w->queued_at = now(net);
        w->queued = TRUE;
        s->queued++;
        g_hash_table_replace(s->waiting, GUINT_TO_POINTER(id), w);
        g_queue_push_tail(s->accept_queue, GUINT_TO_POINTER(id));
        return;
    }
    if (old != TCP_ESTABLISHED)
        return;
    /* Leaving ESTABLISHED: a served connection frees its slot; a queued
     * one (the client reset it) just leaves the queue. */
    PsAcceptWait *w = g_hash_table_lookup(s->waiting, GUINT_TO_POINTER(id));
    gboolean was_queued = w && w->queued && w->serial == c->serial;
    if (w)
        g_hash_table_remove(s->waiting, GUINT_TO_POINTER(id));
    if (was_queued)
        s->queued--;
    else {
        s->serving--;
        accept_next(net, s);
    }
}

gboolean ps_server_defer_close(PsNetwork *net, uint32_t id, gboolean client_side)
{
    PsConn *c = conn_at(net, id);
    PsServer *s = c->server;
    PsAcceptWait *w = g_hash_table_lookup(s->waiting, GUINT_TO_POINTER(id));
    if (!w || w->serial != c->serial)
        return FALSE;
    if (w->queued) {
        w->deferred = TRUE;
        w->client_side = client_side;
        w->deferred_at = now(net);
        return TRUE;
    }
    /* Served after waiting: this close was planned as if it had not. */
    SimTime at = now(net) + w->wait;
    g_hash_table_remove(s->waiting, GUINT_TO_POINTER(id));
    if (at == now(net))
        return FALSE;
    ps_tcp_close_at(net, id, client_side, at);
    return TRUE;
}

