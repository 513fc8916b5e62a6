/* A server with max_connections: its accept queue, which delays a
 * saturated server's connections and so holds their clients' ports longer.
 * Called by tcp.c for servers with max_connections > 0 only. */
#ifndef PS_SERVER_QUEUE_H
#define PS_SERVER_QUEUE_H

#include "network_internal.h"

/* After the server side of connection id changed from old to state. */
void ps_server_queue_state(PsNetwork *net, uint32_t id, PsTcpState old, PsTcpState state);
/* A connection closes from one side (client_side or not): TRUE when the
 * close is put off because the connection waits, or waited, in the accept
 * queue. */
gboolean ps_server_defer_close(PsNetwork *net, uint32_t id, gboolean client_side);

#endif
