/* NAT boxes ([nat NAME]): client hosts whose workloads go `via = nat NAME`
 * have their SYNs translated to an external address and port, or dropped
 * when the box has none to give. Every later segment of the connection
 * moves the box's conntrack-like entry through its states; each state has
 * its own timeout, and an entry holds its external port until its timer
 * ends or the box reclaims it (netfilter evicts TIME_WAIT/CLOSE entries
 * during a port search). docs/nat.md describes the model. */
#ifndef PS_NAT_H
#define PS_NAT_H

#include <json-glib/json-glib.h>
#include "network_internal.h"
#include "schema.h"

/* Entry states, as netfilter names them (nf_conntrack_proto_tcp.c). */
typedef enum {
    PS_NAT_SYN_SENT,
    PS_NAT_ESTABLISHED,
    PS_NAT_FIN_WAIT,
    PS_NAT_CLOSE_WAIT,
    PS_NAT_LAST_ACK,
    PS_NAT_TIME_WAIT,
    PS_NAT_CLOSE, /* after an RST */
    PS_NAT_UDP,        /* UDP, not (yet) a stream */
    PS_NAT_UDP_STREAM, /* UDP, both ways and older than 2 s */
    PS_NAT_N_STATES,
} PsNatState;

/* Why a SYN found no mapping. */
typedef enum {
    PS_NAT_DROP_NO_PORT,
    PS_NAT_DROP_PER_DESTINATION,
    PS_NAT_DROP_PER_SUBSCRIBER,
    PS_NAT_DROP_TABLE_FULL,
    PS_NAT_DROP_N,
} PsNatDrop;

const SimSectionDef *ps_nat_section(void);
void ps_nat_add_presets(SimSchema *schema);

/* Builds a [nat] section's box (errors name file, line and key). */
PsNat *ps_nat_new(PsNetwork *net, SimSection *sec, GError **error);
void ps_nat_free(PsNat *nat);
/* After every box is built: resolves `via` between boxes (chains) and
 * refuses loops. */
gboolean ps_nat_link(PsNetwork *net, GError **error);
/* The box a workload's connections pass: its own `via`, else its host's;
 * NULL for none. */
PsNat *ps_nat_for_workload(PsNetwork *net, SimSection *workload, SimSection *host);

/* The client sends a SYN (first or retransmitted), or a UDP query, through
 * c->wl->nat: FALSE when the box drops it. */
gboolean ps_nat_syn(PsNetwork *net, PsConn *c, uint32_t id);
/* A later segment passed the box and moved its entry to `state`. */
void ps_nat_segment(PsNetwork *net, PsConn *c, PsNatState state);
/* A UDP answer passed the box toward the client. */
void ps_nat_udp_reply(PsNetwork *net, PsConn *c);
/* The connection record is being recycled: it no longer names its entry. */
void ps_nat_conn_done(PsNetwork *net, PsConn *c);
/* What the server sees of a NATed connection: the external pool's id and
 * port (server TIME_WAIT keys). FALSE when c is not translated. */
gboolean ps_nat_outside(const PsNetwork *net, const PsConn *c, uint32_t *pool_id,
                        uint16_t *port);

void ps_nat_register_columns(PsNetwork *net, SimSeries *series);
void ps_nat_summary(const PsNetwork *net, JsonBuilder *b);
gboolean ps_nat_pools_empty(const PsNetwork *net);
/* The watchdog's name for an event of a NAT box; NULL when not one. */
char *ps_nat_event_owner(const PsNetwork *net, void *ctx);
void ps_nat_plot_targets(const PsNetwork *net, GPtrArray *targets);

/* The external address and port of a translated connection (--pcap-at
 * nat-outside); FALSE when c is not translated. */
gboolean ps_nat_outside_endpoint(const PsNetwork *net, const PsConn *c, SimAddress *addr,
                                 uint16_t *port);

/* For tests: an entry's external port and address index, by connection. */
gboolean ps_nat_conn_mapping(const PsNetwork *net, const PsConn *c, guint *addr, uint16_t *port);

#endif
