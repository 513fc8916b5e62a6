/* The declarations behind `portsim list keys`, the loader and the docs.
 * Every default that imitates a real system names its source. */
#include "keys.h"

#include "allocator.h"

static const SimKeyDef scenario_keys[] = {
    {"name", SIM_TYPE_STRING, NULL, NULL, NULL, NULL, 0,
     "Name of the scenario; names the results folder (results/NAME/). Defaults to the file "
     "name without .ini."},
    {"description", SIM_TYPE_STRING, NULL, NULL, NULL, NULL, 0,
     "One line saying what the scenario shows; printed above the summary."},
    {"duration", SIM_TYPE_DURATION, "10m", "1ms", "365d", NULL, 0,
     "Simulated time during which workloads start connections. Afterwards the run drains: "
     "open connections close and timers expire, so every pool ends empty."},
    {"seed", SIM_TYPE_INT, "1", "0", NULL, NULL, 0,
     "Master seed. Every entity draws from its own stream derived from (seed, entity name), "
     "so the same scenario and seed give byte-identical results."},
    {"sample", SIM_TYPE_DURATION, "1s", "1ms", NULL, NULL, 0,
     "Interval between rows of timeseries.csv (and points of the plots)."},
};

static const SimKeyDef host_keys[] = {
    {"addresses", SIM_TYPE_ADDRESSES, NULL, NULL, "65536", NULL, SIM_KEY_REQUIRED,
     "Source addresses of the host (or of a fleet sharing one configuration): a list of "
     "IPv4/IPv6 addresses, ranges (10.0.0.1-10.0.0.8) or CIDR blocks (10.0.0.0/29). Each "
     "address has its own port pool."},
    {"preset", SIM_TYPE_ENUM, "linux", NULL, NULL, "linux", 0,
     "Operating-system defaults for the keys below; any key given explicitly overrides the "
     "preset. See `portsim list presets`."},
    {"ephemeral_range", SIM_TYPE_RANGE, "32768-60999", "1", "65535", NULL, 0,
     "Ports automatic selection may use, inclusive (net.ipv4.ip_local_port_range). Linux "
     "since 4.2 ships 32768-60999: 28,232 ports (Documentation/networking/ip-sysctl.rst)."},
    {"reserved_ports", SIM_TYPE_RANGE_LIST, "", "1", "65535", NULL, 0,
     "Ports never chosen automatically (net.ipv4.ip_local_reserved_ports syntax: "
     "\"8080, 9000-9100\"). Empty by default on Linux."},
    {"time_wait", SIM_TYPE_DURATION, "60s", "0s", "1h", NULL, 0,
     "How long the active closer keeps the 4-tuple in TIME_WAIT. Linux: 60 s, fixed at "
     "compile time (TCP_TIMEWAIT_LEN in include/net/tcp.h); RFC 793 asks for 2 MSL = 4 min."},
    {"allocator", SIM_TYPE_ENUM, "linux", NULL, NULL, "sequential|random|linux", 0,
     "Port selection strategy for connect() and bind(0); see `portsim list allocators`."},
    {"bind_before_connect", SIM_TYPE_BOOL, "false", NULL, NULL, NULL, 0,
     "Call bind(address, 0) before connect(): the port is then reserved exclusively for "
     "every destination, and running out fails bind() with EADDRINUSE instead of connect() "
     "with EADDRNOTAVAIL (net/ipv4/inet_connection_sock.c inet_csk_get_port())."},
    {"linger0", SIM_TYPE_BOOL, "false", NULL, NULL, NULL, 0,
     "Close with SO_LINGER {on, 0}: the closer sends RST instead of FIN and no side enters "
     "TIME_WAIT (net/ipv4/tcp.c __tcp_close())."},
    {"address_selection", SIM_TYPE_ENUM, "round-robin", NULL, NULL, "round-robin|first", 0,
     "How a host with several addresses picks the source address of a new connection: in "
     "turn (a fleet of clients), or always the first."},
};

static const SimKeyDef server_keys[] = {
    {"addresses", SIM_TYPE_ADDRESSES, NULL, NULL, "65536", NULL, SIM_KEY_REQUIRED,
     "Addresses the server listens on; each (address, port) is one destination."},
    {"ports", SIM_TYPE_RANGE_LIST, NULL, "1", "65535", NULL, SIM_KEY_REQUIRED,
     "Listening ports, e.g. \"443\" or \"443, 8443\"."},
    {"time_wait", SIM_TYPE_DURATION, "60s", "0s", "1h", NULL, 0,
     "TIME_WAIT length when the server closes first. It holds the server's 4-tuple only: a "
     "new SYN for that 4-tuple is accepted at once (net/ipv4/tcp_minisocks.c)."},
};

static const SimKeyDef workload_keys[] = {
    {"host", SIM_TYPE_REFERENCE, NULL, NULL, NULL, "host", SIM_KEY_REQUIRED,
     "The client host that opens the connections: \"shop\" or \"host shop\"."},
    {"target", SIM_TYPE_REFERENCE, NULL, NULL, NULL, "server", SIM_KEY_REQUIRED,
     "Where the connections go: \"server api\". A server with several addresses or ports "
     "is used in turn, so 4-tuple sharing applies across them."},
    {"arrival", SIM_TYPE_ENUM, "constant", NULL, NULL, "constant|poisson|schedule", 0,
     "constant: evenly paced at `rate`; poisson: exponential gaps at `rate`, or following "
     "`schedule` when one is given; schedule: evenly paced along `schedule`."},
    {"rate", SIM_TYPE_RATE, "100/s", "0/s", "1G/s", NULL, 0,
     "New connections per second for constant and poisson arrivals."},
    {"schedule", SIM_TYPE_SCHEDULE, NULL, NULL, NULL, NULL, 0,
     "A rate that changes over time: \"TIME RATE\" points, linear in between, the last rate "
     "held to the end. Repeat a time for a step: \"0s 200/s, 10m 200/s, 10m 2000/s\"."},
    {"hold", SIM_TYPE_DISTRIBUTION, "0s", "0s", "30d", NULL, 0,
     "How long a connection stays open once established before the closer closes it: "
     "const(1s), exp(200ms), lognormal(200ms, 1.0), uniform(1s, 500ms); the first parameter "
     "is the mean."},
    {"closer", SIM_TYPE_ENUM, "client", NULL, NULL, "client|server", 0,
     "Which side closes first, and so which side holds TIME_WAIT."},
    {"delay", SIM_TYPE_DURATION, "0s", "0s", "10s", NULL, 0,
     "One-way delay of the link between host and target; a handshake takes 1.5 round trips "
     "and a close 2."},
    {"start", SIM_TYPE_DURATION, "0s", "0s", NULL, NULL, 0,
     "When the workload starts opening connections."},
    {"stop", SIM_TYPE_DURATION, NULL, "0s", NULL, NULL, 0,
     "When it stops; defaults to the scenario's duration."},
};

#define N_KEYS(a) (G_N_ELEMENTS(a))

static const SimSectionDef sections[] = {
    {"scenario", FALSE, "Run-wide settings.", scenario_keys, N_KEYS(scenario_keys)},
    {"host", TRUE, "A client host, or a fleet of identical ones, with its port pools.",
     host_keys, N_KEYS(host_keys)},
    {"server", TRUE, "A server that accepts every connection on its addresses and ports.",
     server_keys, N_KEYS(server_keys)},
    {"workload", TRUE, "Connections a host opens toward a target, and how they close.",
     workload_keys, N_KEYS(workload_keys)},
};

static const char *const linux_pairs[] = {
    "ephemeral_range", "32768-60999",
    "time_wait", "60s",
    "allocator", "linux",
    "reserved_ports", "",
    NULL,
};

static const SimPresetDef presets[] = {
    {"host", "linux",
     "Linux 4.2 and later as shipped: ip_local_port_range 32768-60999 (ip-sysctl.rst, commit "
     "07f4c90062f8), TIME_WAIT 60 s (TCP_TIMEWAIT_LEN, include/net/tcp.h), connect() port "
     "choice of __inet_hash_connect() (net/ipv4/inet_hashtables.c), no reserved ports.",
     linux_pairs},
};

SimSchema *ps_schema_new(void)
{
    SimSchema *schema = sim_schema_new();
    for (guint i = 0; i < G_N_ELEMENTS(sections); i++)
        sim_schema_add_section(schema, &sections[i]);
    for (guint i = 0; i < G_N_ELEMENTS(presets); i++)
        sim_schema_add_preset(schema, &presets[i]);
    return schema;
}
