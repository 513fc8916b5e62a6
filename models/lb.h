/* Load balancers and proxies ([lb NAME]): the frontend is a PsServer the
 * workloads target; l4 passes flows through to a chosen backend, proxy
 * opens its own backend connections from an internal workload on the
 * proxy's [host]. Private to models/. */
#ifndef PS_LB_H
#define PS_LB_H

#include "lb_balance.h"
#include "network_internal.h"

typedef struct {
    uint32_t id;
    guint64 serial;
    SimTime since;
} PsLbIdle;

typedef struct {
    PsServer *server;
    guint weight;
    GArray *idle;         /* PsLbIdle: the keepalive pool, most recent last */
    SimGauge *in_use;     /* flows or backend connections in use */
    SimGauge *idle_gauge; /* pooled idle connections */
    SimCounter *chosen;   /* times chosen */
    SimCounter *opened;   /* new backend connections (proxy) */
    SimCounter *reused;   /* frontend connections served by a pooled one */
    guint next_endpoint;
    /* 4-tuples in use (open or TIME_WAIT) from the proxy's source address
     * toward this backend's endpoint, as of its latest connect(): the
     * budget a proxy exhausts. Peaks are exact (they follow a take). */
    SimGauge *tuples;
    guint tuple_capacity; /* the proxy pool's ports: the most per (source, endpoint) */
} PsLbBackend;

typedef enum {
    PS_LB_DROP_NO_BACKEND,  /* every backend down: refused */
    PS_LB_DROP_BACKEND_FAILED, /* the backend connect() failed: refused */
    PS_LB_DROP_N,
} PsLbDrop;

struct PsLb {
    SimSection *section; /* first: find_by_section() relies on it */
    const char *name;
    gboolean proxy;
    PsServer *front;
    PsHost *host;     /* proxy: its own stack */
    PsWorkload *wl;   /* proxy: the owner of backend connections */
    GArray *backends; /* PsLbBackend */
    PsBalancer *balancer;
    PsBalanceKind algorithm;
    gboolean backend_closes;
    gboolean keepalive;
    guint keepalive_pool;
    SimTime keepalive_idle;
    guint keepalive_max_requests;
    gboolean per_request; /* backend_per = request: one backend use per request */
    GHashTable *requesting; /* frontend id -> PsLbRequests, while its requests run */
    SimCounter *http_502;   /* requests whose backend connect() failed (or no backend up) */
    guint64 forwarding;     /* client connections whose requests were forwarded one by one */
    GArray *changes; /* PsLbChange, for down_at / up_at */
    SimCounter *frontend;          /* frontend connections accepted */
    SimCounter *drops[PS_LB_DROP_N];
    SimCounter *backend_failures_by_reason[PS_FAIL_N];
    SimCounter *backend_requests;  /* frontend connections handed to a backend connection */
    SimCounter *backend_reused;
    SimCounter *backend_opened;
    SimGauge *flows;               /* frontend connections open */
    uint64_t *load;                /* per backend: PsLbBackend.load, for the balancer */
    PsNetwork *net;
};

/* network.c calls these. */
/* Builds [lb sec]: its frontend joins net->servers (so `target = lb NAME`
 * resolves like a server). */
PsLb *ps_lb_new(PsNetwork *net, SimSection *sec, GError **error);
void ps_lb_free(PsLb *lb);
/* After workloads are built: the proxy host's tuple capacity factor. */
void ps_lb_finish(PsNetwork *net);
void ps_lb_start(PsNetwork *net);
void ps_lb_register_columns(PsNetwork *net, SimSeries *series);
/* Plot marks on a proxy host's curve: its backends going down and up. */
void ps_lb_marks(const PsNetwork *net, const PsHost *h, GArray *times, GPtrArray *labels);
void ps_lb_summary(const PsNetwork *net, JsonBuilder *b, double duration_s);

/* tcp.c hooks. */
typedef enum {
    PS_SYN_ACCEPT, /* answer with SYN-ACK now */
    PS_SYN_DROP,   /* ignore: a full backlog; the client retransmits */
    PS_SYN_DEFER,  /* SYN_RECEIVED; the LB answers later (ps_tcp_synack / ps_tcp_refuse) */
    PS_SYN_REFUSE, /* RST now */
} PsSynVerdict;
PsSynVerdict ps_lb_server_syn(PsNetwork *net, uint32_t id);
/* After a server side changes state (c->server->lb set). */
void ps_lb_server_state(PsNetwork *net, uint32_t id, PsTcpState old, PsTcpState state);
/* A frontend connection is established at its client: TRUE when the proxy
 * forwards each of its requests (backend_per = request) and so times its
 * requests and plans its close itself. */
gboolean ps_lb_client_established(PsNetwork *net, uint32_t id);
/* A backend connection (c->wl->lb set) is established, or failed. */
void ps_lb_backend_established(PsNetwork *net, uint32_t id);
void ps_lb_backend_failed(PsNetwork *net, uint32_t id, PsFailReason reason);

#endif
