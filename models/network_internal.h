/* Private to models/: the structures shared by the network builder, the TCP
 * life cycle and the summary writer. */
#ifndef PS_NETWORK_INTERNAL_H
#define PS_NETWORK_INTERNAL_H

#include "allocator.h"
#include "arrival.h"
#include "engine.h"
#include "network.h"
#include "port_pool.h"
#include "scenario.h"

/* The metrics one entity (pool, host, workload) keeps. */
typedef struct {
    SimCounter *attempts;
    SimCounter *successes;
    SimCounter *failures;
    SimCounter *by_reason[PS_FAIL_N];
    SimCounter *allocations; /* allocation attempts that probed ports */
    SimCounter *probes;
    SimGauge *active;        /* 4-tuples of connections not in TIME_WAIT */
    SimGauge *time_wait;     /* 4-tuples in TIME_WAIT */
    SimGauge *ports_in_use;  /* distinct local ports with any use */
    SimGauge *free_ports;    /* ports automatic selection could still hand out */
    SimTime first_failure;
    char *prefix;            /* "shop", "shop[10.0.0.2]", "surge" */
} PsMetrics;

typedef struct PsHost PsHost;

typedef struct {
    PsHost *host;
    SimAddress address;
    PsPortPool *ports;
    PsAllocator *alloc;
    PsMetrics m;
    SimHistogram *probe_hist;
} PsPool;

struct PsHost {
    SimSection *section;
    const char *name;
    GPtrArray *pools; /* PsPool* */
    SimTime time_wait;
    gboolean bind_before_connect;
    gboolean linger0;
    gboolean round_robin;
    guint next_pool;
    guint n_dests; /* destinations workloads send to: the tuple capacity factor */
    SimRange range;
    guint reserved_count;
    const char *allocator_name;
    PsMetrics m;
};

typedef struct {
    SimAddress address;
    uint16_t port;
} PsEndpoint;

typedef struct {
    SimSection *section;
    const char *name;
    GArray *endpoints; /* PsEndpoint */
    SimTime time_wait;
    SimGauge *established;
    SimGauge *time_wait_gauge;
} PsServer;

typedef struct {
    SimSection *section;
    const char *name;
    PsHost *host;
    PsServer *server;
    PsArrival *arrival;
    SimDist hold;
    gboolean server_closes;
    SimTime delay;
    SimRng rng;
    guint next_endpoint;
    PsMetrics m;
    PsNetwork *net;
} PsWorkload;

/* TCP states of one side of a connection (RFC 793 names). */
typedef enum {
    TCP_CLOSED,
    TCP_SYN_SENT,
    TCP_SYN_RECEIVED,
    TCP_ESTABLISHED,
    TCP_FIN_WAIT_1,
    TCP_FIN_WAIT_2,
    TCP_CLOSE_WAIT,
    TCP_LAST_ACK,
    TCP_TIME_WAIT,
} PsTcpState;

typedef struct {
    PsWorkload *wl;
    PsPool *pool;
    PsServer *server;
    PsDestId dest;
    uint32_t endpoint;
    uint16_t port;
    uint8_t client; /* PsTcpState */
    uint8_t server_side;
    gboolean bound;
    gboolean live;
} PsConn;

struct PsNetwork {
    SimEngine *engine;
    const SimScenario *scenario;
    GPtrArray *hosts;     /* PsHost* */
    GPtrArray *servers;   /* PsServer* */
    GPtrArray *workloads; /* PsWorkload* */
    GArray *conns;        /* PsConn slab */
    GArray *free_conns;   /* uint32 indices */
    guint64 live_conns;
    PsMetrics total;
    SimGauge *server_established;
    SimGauge *server_time_wait;
};

void ps_metrics_init(PsMetrics *m, SimStats *stats, const char *prefix);
void ps_metrics_clear(PsMetrics *m);

/* tcp.c: one connection attempt of a workload, now. */
void ps_tcp_attempt(PsNetwork *net, PsWorkload *wl);

#endif
