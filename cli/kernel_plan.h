/* What `portsim kernel` replays on the real kernel: the client hosts,
 * servers and workloads of a scenario, checked for what a Linux network
 * namespace can reproduce and mapped onto loopback addresses. */
#ifndef PS_CLI_KERNEL_PLAN_H
#define PS_CLI_KERNEL_PLAN_H

#include <glib.h>
#include <netinet/in.h>

#include "scenario.h"
#include "values.h"

/* Linux's TIME_WAIT: TCP_TIMEWAIT_LEN, fixed at compile time. */
#define KR_TIME_WAIT (60 * SIM_S)
/* Above this the driver (one thread, /proc/net/tcp sampling) would no
 * longer keep the arrival schedule. */
#define KR_MAX_RATE 2000.0

typedef struct {
    char *name;
    GArray *sources; /* struct in_addr, network order */
    guint next_source;
    gboolean round_robin;
    gboolean bind_before_connect;
    gboolean linger0;
    gboolean bind_address_no_port;
    int local_port_lo, local_port_hi; /* IP_LOCAL_PORT_RANGE; 0 when unset */
} KrHost;

typedef struct {
    char *name;
    KrHost *host;
    GArray *destinations; /* struct sockaddr_in */
    guint next_destination;
    gboolean poisson;
    GArray *points; /* SimSchedulePoint */
    SimTime start, stop;
    SimDist hold;
    gboolean server_closes;
} KrWorkload;

typedef struct {
    SimTime duration;
    uint64_t seed;
    int range_lo, range_hi;
    char *reserved_ports; /* ip_local_reserved_ports syntax; "" for none */
    int tw_reuse;         /* net.ipv4.tcp_tw_reuse: 0, 1 or 2 */
    int tw_reuse_delay_ms; /* net.ipv4.tcp_tw_reuse_delay; -1: leave the default */
    int64_t max_tw_buckets; /* net.ipv4.tcp_max_tw_buckets; -1: leave the default */
    GString *notes;       /* how scenario settings were carried over, for the output */
    GPtrArray *hosts;     /* KrHost* */
    GPtrArray *workloads; /* KrWorkload* */
    GArray *listeners;    /* struct sockaddr_in: every destination */
    GPtrArray *mapping;   /* "10.0.0.1 -> 127.1.0.1" lines, char* */
    GPtrArray *host_names, *server_names, *workload_names; /* char*, file order */
} KrPlan;

/* Builds the plan, or refuses (SIM_ERROR_INPUT, naming file, line and key)
 * what a kernel cannot replay: sections other than scenario, host, server
 * and workload; IPv6; a link delay; a TIME_WAIT other than 60 s; an
 * allocator other than linux; hosts that disagree on the namespace-wide
 * sysctls, host-wide port sharing or hash address selection; more than
 * KR_MAX_RATE attempts per second. */
KrPlan *kr_plan_new(const SimScenario *scenario, GError **error);
void kr_plan_free(KrPlan *plan);

/* Overrides ("kind.name.key=value") that multiply every time of the
 * scenario by `scale` and divide every rate by it; NULL-terminated, caller
 * frees with g_strfreev. `what` receives one line per changed key. */
char **kr_scale_overrides(const SimScenario *scenario, double scale, GString *what);

#endif
