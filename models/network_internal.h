/* Private to models/: the structures shared by the network builder, the TCP
 * life cycle and the summary writer. */
#ifndef PS_NETWORK_INTERNAL_H
#define PS_NETWORK_INTERNAL_H

#include "allocator.h"
#include "arrival.h"
#include "engine.h"
#include "network.h"
#include "port_pool.h"
#include "pcap_writer.h"
#include "scenario.h"
#include "trace_log.h"
#include "tw_index.h"

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
typedef struct PsLb PsLb; /* lb.h */
typedef struct PsNat PsNat; /* nat.h */

typedef struct {
    PsHost *host;
    SimAddress address;
    PsPortPool *ports;
    PsAllocator *alloc;
    PsMetrics m;
    SimHistogram *probe_hist;
    /* Client 4-tuples in TIME_WAIT, (dest << 16 | port) -> a record (tcp.c
     * TW_CONN, TW_ENTRY), for tcp_tw_reuse lookups in O(1); NULL when the
     * host never reuses. */
    PsTwIndex *tw_index;
    /* Client 4-tuples in TIME_WAIT left out of tw_index because no lookup
     * can reach them (tcp.c client_gets_ackfin); tw_index's size plus this
     * is the pool's number of unbound TIME_WAIT 4-tuples. */
    guint64 tw_unindexed;
    uint32_t id; /* unique in the network: part of server TIME_WAIT keys */
} PsPool;

typedef enum {
    PS_ADDR_ROUND_ROBIN,
    PS_ADDR_FIRST,
    PS_ADDR_HASH, /* a hash of the destination endpoint */
} PsAddrSelection;

struct PsHost {
    SimSection *section; /* first: find_by_section() relies on it */
    uint32_t order_class; /* its TIME_WAIT timers' FIFO lane in the engine */
    const char *name;
    GPtrArray *pools; /* PsPool*, the pools created so far, in creation order */
    /* Per address: its pool, NULL until first used. Hosts with many
     * addresses (an IPv6 /112) create pools lazily: a pool costs ~120 KiB
     * for the default range. */
    const GArray *addresses; /* SimAddress */
    PsPool **pool_of;
    guint n_addresses;
    /* With lazy pools one allocator serves every address (Linux keeps one
     * perturbation table per network namespace); NULL otherwise. */
    PsAllocator *shared_alloc;
    const PsAllocatorClass *klass;
    char *allocator_params;
    SimTime time_wait;
    SimTime time_wait_granularity; /* 0: exact; else expiry rounds up to it */
    gboolean bind_before_connect;
    gboolean bind_address_no_port;
    gboolean host_wide_ports; /* port_sharing = host-wide */
    gboolean linger0;
    PsAddrSelection selection;
    guint tw_reuse;           /* tcp_tw_reuse 0|1|2 */
    SimTime tw_reuse_delay;
    gint64 max_tw_buckets;
    gint64 tw_count;          /* client sockets of this host in TIME_WAIT */
    GArray *tw_entries;       /* PsTwEntry slab (tw_entries.h); NULL until used */
    uint32_t tw_free;         /* its free list */
    struct PsTwRefs *tw_refs; /* its entries' (workload, pool) pairs (tw_entries.c) */
    gboolean has_port_range;  /* local_port_range (IP_LOCAL_PORT_RANGE) */
    SimRange port_range;
    guint syn_retries;        /* net.ipv4.tcp_syn_retries */
    guint syn_linear;         /* net.ipv4.tcp_syn_linear_timeouts */
    SimTime connect_timeout;  /* 0: none (the SYN retries end the attempt) */
    SimCounter *tw_recycled;  /* TIME_WAIT 4-tuples taken over by connect() */
    SimCounter *tw_overflow;  /* closes that skipped TIME_WAIT: max_tw_buckets */
    SimCounter *listener_conflicts; /* [listener] binds refused with EADDRINUSE */
    GPtrArray *monitors;      /* PsMonitor* watching this host; NULL when none */
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
    /* Server 4-tuples in TIME_WAIT, ps_server_tw_key() -> conn id + 1: a new
     * SYN for one of them recycles it, as Linux does. */
    GHashTable *tw_index;
    SimCounter *tw_recycled;
    SimTime idle_timeout; /* closes a connection idle this long; 0: never */
    /* Capacity and load balancing (lb.c): SYNs pass ps_lb_server_syn()
     * when may_drop_syn. */
    PsLb *lb;               /* an [lb]'s frontend; NULL for a [server] */
    gboolean may_drop_syn;
    gint64 backlog;         /* half-open connections at most; 0: unlimited */
    gint64 max_connections; /* accepted connections at most, plus backlog queued */
    gint64 syn_received;    /* half-open connections now */
    SimCounter *syn_drops;
    /* max_connections: connections served; the accept queue (conn ids,
     * FIFO) and its entries by id (lb.c PsAcceptWait). */
    gint64 serving, queued;
    GQueue *accept_queue;
    GHashTable *waiting;
    SimHistogram *accept_wait; /* seconds a connection waited to be served */
} PsServer;

/* What a client does when an attempt fails (users.c). */
typedef enum {
    PS_RETRY_NONE,
    PS_RETRY_IMMEDIATE,
    PS_RETRY_FIXED,
    PS_RETRY_EXPONENTIAL,
} PsRetryKind;

typedef struct {
    PsRetryKind kind;
    SimTime base, cap; /* fixed: base; exponential: base x 2^(k-1), capped */
    double jitter;     /* exponential: the share of the wait drawn uniformly */
} PsRetry;

/* The "user" of requests from open-loop arrivals. */
#define PS_OPEN_LOOP UINT32_MAX

typedef struct {
    SimSection *section;
    const char *name;
    PsHost *host;
    PsServer *server;
    PsArrival *arrival; /* NULL for closed-loop users */
    SimEventId arrival_event; /* its next arrival, cancelled by a [timeline] change */
    uint32_t loops;     /* users x max_connections_per_user; 0: open loop */
    SimDist think;
    PsRetry retry;
    uint32_t max_attempts;
    SimTime start, stop;
    SimTime run_end; /* the scenario's duration: retries stop there */
    SimCounter *offered;  /* first attempts: requests */
    SimCounter *retried;  /* attempts after a failure */
    SimCounter *gave_up;  /* requests that failed for good */
    SimDist hold;
    gboolean server_closes;
    SimTime delay;
    SimTime jitter;          /* uniform extra one-way delay, drawn per connection */
    double loss;             /* probability a SYN or SYN-ACK is lost */
    SimTime connect_timeout; /* 0: none; the host's when the workload has none */
    SimCounter *syn_retransmits;
    /* Requests per connection and idle timeouts (tcp.c plan_life()); when
     * none is set, `hold` is the connection's whole life (plan_life FALSE). */
    gboolean plan_life;
    guint requests;
    SimDist service;
    SimTime idle_timeout; /* the client's; 0: none */
    SimCounter *requests_served;
    SimRng rng;
    guint next_endpoint;
    PsMetrics m;
    PsNetwork *net;
    PsLb *lb; /* the internal workload of a proxy's backend connections */
    PsNat *nat; /* `via = nat NAME` (its own or its host's); NULL: none */
    gboolean udp; /* protocol = udp: one query per new source port (tcp.c) */
    uint32_t close_class; /* engine order class of its close events (tcp.c); 0: none */
} PsWorkload;

/* Workloads' close_class values start here, above every host's order_class. */
#define PS_CLOSE_CLASS_BASE (1u << 31)

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

/* One connection, both sides. 10^7 of them may be open at once, so the
 * record is packed (issue 7: at most 128 bytes per established connection,
 * close event included): no padding, states and flags in bytes and bits,
 * and the SYN retransmission state shares its bytes with the TIME_WAIT
 * state, since the client is never in SYN_SENT and TIME_WAIT at once. */
typedef struct {
    PsWorkload *wl;
    PsPool *pool;
    PsServer *server;
    guint64 serial;        /* the attempt's number in the run: traces name it */
    SimTime owd;           /* one-way delay of this connection's path (delay + jitter) */
    SimTime hold;          /* < 0: drawn from the workload's hold when established */
    union {
        struct { /* client SYN_SENT (UDP: query outstanding) */
            SimTime syn_start;    /* when the first SYN left */
            SimEventId syn_timer; /* armed while SYN_SENT when a SYN may go unanswered */
        };
        struct { /* client TIME_WAIT kept on the record */
            SimTime tw_since;     /* when the client entered TIME_WAIT */
            SimEventId tw_timer;  /* its expiry, cancelled on reuse */
        };
    };
    PsDestId dest;
    uint32_t endpoint;
    uint32_t user;         /* the closed-loop slot, or PS_OPEN_LOOP */
    uint32_t attempt;      /* 1 for a request's first attempt */
    uint32_t peer;         /* lb frontend: backend conn id + 1 (proxy), backend + 1 (l4) */
    uint32_t nat_entry;    /* its NAT entry + 1 (nat.c); 0: not translated */
    uint16_t port;
    uint16_t syn_retx;     /* SYNs retransmitted so far */
    uint8_t client;        /* PsTcpState */
    uint8_t server_side;
    uint8_t inflight;      /* handshake segments not yet delivered: no reuse before */
    uint8_t rto_doublings : 3; /* the SYN RTO: initial << this, at most TCP_RTO_MAX (tcp.c) */
    uint8_t bound : 1;
    uint8_t live : 1;
    uint8_t server_tw_pending : 1; /* recycled server TIME_WAIT, timer not yet run */
    uint8_t ended : 1;     /* the request's end was reported (users.c) */
    uint8_t lb_wait : 1;   /* lb frontend: SYN_RECEIVED until the backend answers */
} PsConn;

/* The record is most of the memory of a run with many open connections:
 * raise this only with a bench_memory measurement (96 + the 16-byte close
 * event measured 112-113 bytes per established connection; issue 7: 128). */
G_STATIC_ASSERT(sizeof(PsConn) <= 96);

struct PsNetwork {
    SimEngine *engine;
    const SimScenario *scenario;
    GPtrArray *hosts;     /* PsHost* */
    GPtrArray *servers;   /* PsServer* */
    GPtrArray *workloads; /* PsWorkload* */
    GPtrArray *listeners; /* PsListener* */
    GPtrArray *monitors;  /* PsMonitor* */
    GPtrArray *lbs;       /* PsLb* */
    uint32_t last_conn;   /* the most recent connection record taken */
    GPtrArray *nats;      /* PsNat* (nat.c) */
    GPtrArray *changes;   /* [timeline] changes, in time order (timeline.c) */
    GArray *conns;        /* PsConn slab */
    GArray *free_conns;   /* uint32 indices */
    guint64 live_conns;
    PsMetrics total;
    SimGauge *server_established;
    SimGauge *server_time_wait;
    GError *fault; /* an allocator plugin misbehaved: the run stops */
    uint32_t n_pools; /* pools created so far: the next pool's id */
    guint64 n_attempts; /* the next connection's serial number */
    PsTraceLog *trace; /* --trace, or NULL */
    PsPcap *pcap;      /* --pcap (client side), or NULL */
    gboolean pcap_backend; /* --pcap-at backend: proxies' backend connections only */
    gboolean pcap_nat_outside; /* --pcap-at nat-outside */
    PsPortObserver port_observer; /* NULL unless inspected */
    void *port_observer_data;
};

/* A service binding a fixed port on a client host at a given time. */
typedef struct {
    SimSection *section;
    const char *name;
    PsHost *host;
    uint16_t port;
    SimTime at;
    SimTime until;    /* released then (the scenario's duration) */
    gboolean refused; /* EADDRINUSE at `at` */
    gboolean reserved; /* the port is in reserved_ports */
} PsListener;

/* A utilization alert on every pool of a host (monitor.c). */
typedef struct {
    PsPool *pool;
    SimTime at;
} PsMonitorAlert;

typedef struct {
    SimSection *section;
    const char *name;
    PsHost *host;
    double utilization;  /* ports in use / capacity that fires the alert */
    GHashTable *alerted; /* PsPool* set */
    GArray *alerts;      /* PsMonitorAlert, in firing order */
    SimTime first_alert; /* SIM_TIME_NEVER when none */
} PsMonitor;

PsMonitor *ps_monitor_new(PsNetwork *net, SimSection *sec, PsHost *host);
void ps_monitor_free(PsMonitor *m);
/* After a change of the pool's ports in use (host->monitors non-NULL). */
void ps_monitor_check(PsHost *host, PsPool *pool, SimTime now);

/* network.c: what a [timeline] change may alter, re-read from a section. */
void ps_host_read_runtime(PsHost *h, SimSection *sec);
gboolean ps_workload_read_runtime(PsWorkload *w, SimSection *sec, GError **error);
gboolean ps_workload_build_arrival(PsWorkload *w, SimSection *sec, SimTime start,
                                   const char *stream, GError **error);

/* timeline.c: [timeline] changes. build: validates and prepares them
 * (SIM_ERROR_INPUT naming the line); start: schedules them. */
const SimSectionDef *ps_timeline_section(void);
const SimFreeKeysDef *ps_timeline_free_keys(void);
gboolean ps_timeline_build(PsNetwork *net, GError **error);
void ps_timeline_start(PsNetwork *net);
void ps_timeline_free(PsNetwork *net);
void ps_timeline_marks(const PsNetwork *net, const PsHost *h, GArray *times, GPtrArray *labels);
void ps_timeline_summary(const PsNetwork *net, JsonBuilder *b);
/* network.c: schedules an open-loop workload's next arrival from now. */
void ps_network_arrival_resume(PsWorkload *wl);

void ps_metrics_init(PsMetrics *m, SimStats *stats, const char *prefix);
/* The pool of address i of host h, created on first use. */
PsPool *ps_host_pool(PsNetwork *net, PsHost *h, guint i);
/* tcp.c: a [listener] binds its port now. */
void ps_tcp_listener_bind(PsNetwork *net, PsListener *l);
void ps_metrics_clear(PsMetrics *m);

/* A key naming a server-side 4-tuple: the client's pool (its address), the
 * server endpoint and the client port, packed into a pointer-sized word.
 * Returns NULL when the ids do not fit (over 2^20 pools or 2^28
 * endpoints): such 4-tuples are simply not recycled. */
static inline gpointer ps_server_tw_key(uint32_t pool_id, uint32_t endpoint, uint16_t port)
{
    if (pool_id >= (1u << 20) || endpoint >= (1u << 28) || sizeof(gpointer) < 8)
        return NULL;
    return (gpointer)(((guint64)pool_id << 44) | ((guint64)endpoint << 16) | port);
}

/* A hash for such packed keys and the client TIME_WAIT keys: mixes every
 * bit, where g_direct_hash would drop the upper half. */
guint ps_tw_key_hash(gconstpointer key);

/* tcp.c: one connection attempt of a workload, now, toward endpoint
 * (< 0: the workload's next in turn), held for `hold` once established
 * (< 0: drawn from the workload's distribution). */
void ps_tcp_attempt(PsNetwork *net, PsWorkload *wl, gint32 endpoint, SimTime hold, uint32_t user,
                    uint32_t attempt);

/* tcp.c, for lb.c: answer a deferred SYN; refuse it with RST (the client
 * fails with ECONNREFUSED); close an established connection from one side
 * (an event: now for the client, one way-delay on for the server). */
void ps_tcp_synack(PsNetwork *net, uint32_t id);
void ps_tcp_refuse(PsNetwork *net, uint32_t id);
void ps_tcp_close_later(PsNetwork *net, uint32_t id, gboolean client_side);
void ps_tcp_close_at(PsNetwork *net, uint32_t id, gboolean client_side, SimTime at);
/* After `busy` from now (the last answer reaching the client), the
 * connection idles for its hold or an idle timeout, then its closer closes. */
void ps_tcp_plan_close(PsNetwork *net, uint32_t id, SimTime busy);
/* network.c: a [server]-like entity from sec (the frontend of an [lb]). */
PsServer *ps_server_new(PsNetwork *net, SimSection *sec, GError **error);

/* users.c: retry policies and closed-loop users. */
gboolean ps_retry_parse(const char *text, PsRetry *out, GError **error);
/* Schedules every closed-loop user's first request. */
void ps_users_start(PsWorkload *wl);
/* An attempt's outcome for its request: ok when its connection was used
 * and closed by the client application, FALSE when it failed (then a retry
 * may follow). */
void ps_request_ended(PsWorkload *wl, uint32_t user, uint32_t attempt, gboolean ok);

#endif
