/* The declarations behind `portsim list keys`, the loader and the docs.
 * Every default that imitates a real system names its source. */
#include "keys.h"

#include "allocator.h"
#include "expect.h"
#include "nat.h"
#include "network_internal.h"

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
    {"preset", SIM_TYPE_ENUM, "linux", NULL, NULL, "linux|linux-4.x|windows|freebsd|macos", 0,
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
    /* Text, not a choice: "plugin:PATH" names a shared library. The network
     * builder checks the name (file, line and key in the message). */
    {"allocator", SIM_TYPE_STRING, "linux", NULL, NULL, NULL, 0,
     "Port selection strategy for connect() and bind(0): sequential, random, random-pick, "
     "hash, double-hash, random-increments or linux (see `portsim list allocators`; random, "
     "random-pick, hash, double-hash and random-increments are RFC 6056 Algorithms 1 to 5), "
     "or plugin:PATH, a shared library built against include/portsim/allocator.h (a relative "
     "PATH is looked up beside the scenario file first; example: "
     "examples/stride_allocator.c)."},
    {"allocator_params", SIM_TYPE_STRING, "", NULL, NULL, NULL, 0,
     "Parameters of the allocator, \"name=value, name=value\": table_size (double-hash, "
     "RFC 6056 TABLE_LENGTH, default 10), max_increment (random-increments, N, default 500), "
     "max_tries (random-pick, default the range size), key (hash, double-hash: pins the "
     "secret so a sequence can be replayed). An unknown name is an error."},
    {"bind_before_connect", SIM_TYPE_BOOL, "false", NULL, NULL, NULL, 0,
     "Call bind(address, 0) before connect(): the port is then reserved exclusively for "
     "every destination, and running out fails bind() with EADDRINUSE instead of connect() "
     "with EADDRNOTAVAIL (net/ipv4/inet_connection_sock.c inet_csk_get_port())."},
    {"linger0", SIM_TYPE_BOOL, "false", NULL, NULL, NULL, 0,
     "Close with SO_LINGER {on, 0}: the closer sends RST instead of FIN and no side enters "
     "TIME_WAIT (net/ipv4/tcp.c __tcp_close())."},
    {"address_selection", SIM_TYPE_ENUM, "round-robin", NULL, NULL, "round-robin|first|hash", 0,
     "How a host with several addresses picks the source address of a new connection: in "
     "turn (a fleet of clients), always the first, or by a hash of the destination address "
     "and port (one destination always leaves from the same address, as a consistent-hash "
     "proxy does). Hosts with more than 256 addresses (an IPv6 /112) create their pools on "
     "first use and share one allocator."},
    {"bind_address_no_port", SIM_TYPE_BOOL, "false", NULL, NULL, NULL, 0,
     "With bind_before_connect: set IP_BIND_ADDRESS_NO_PORT, so bind() records only the "
     "address and connect() chooses the port with the 4-tuple rules, restoring sharing "
     "across destinations (Linux 4.2, commit 90c337da1524; ports.md §3.6)."},
    {"tcp_tw_reuse", SIM_TYPE_ENUM, "2", NULL, NULL, "0|1|2", 0,
     "net.ipv4.tcp_tw_reuse: may connect() take over a client 4-tuple in TIME_WAIT older than "
     "tw_reuse_delay? 0 never, 1 always, 2 only for loopback (source or destination in "
     "127.0.0.0/8 or ::1). Linux default 2 (tcp_sk_init(), commit 79e9fed46038; ports.md "
     "§3.4). Timestamps are assumed on (the Linux default)."},
    {"tw_reuse_delay", SIM_TYPE_DURATION, "1s", "1ms", "60s", NULL, 0,
     "net.ipv4.tcp_tw_reuse_delay: how old a TIME_WAIT 4-tuple must be before tcp_tw_reuse "
     "may take it over. Linux 6.14+: 1000 ms, 1..60000 ms (ports.md §3.4)."},
    {"max_tw_buckets", SIM_TYPE_INT, "131072", "0", NULL, NULL, 0,
     "net.ipv4.tcp_max_tw_buckets: most client sockets of the host in TIME_WAIT at once; past "
     "it a closing socket skips TIME_WAIT (counted as tw_overflow, \"time wait bucket table "
     "overflow\"). 131072 in a fresh Linux 6.18 namespace (linux-kernel-measured.md; ehash/2, "
     "net/ipv4/tcp_ipv4.c tcp_set_hashinfo())."},
    {"local_port_range", SIM_TYPE_RANGE, NULL, "1", "65535", NULL, 0,
     "Per-socket IP_LOCAL_PORT_RANGE (Linux 6.3+): connect() and bind(0) choose only in this "
     "sub-range, clamped to ephemeral_range. Unset by default. With allocator = linux, "
     "connect() then scans step 1 from a random offset without the parity split, as Linux "
     "6.8+ does (ports.md §3.6)."},
    {"time_wait_granularity", SIM_TYPE_DURATION, "2.048s", "0s", "10s", NULL, 0,
     "TIME_WAIT ends at the first tick of this period at or after its nominal expiry (0: "
     "exactly). Linux's timer wheel releases 60 s timers in batches every 2.048 s at HZ=250: "
     "measured lifetimes 60.06-62.05 s (linux-kernel-measured.md)."},
    {"port_sharing", SIM_TYPE_ENUM, "per-destination", NULL, NULL, "per-destination|host-wide",
     0,
     "per-destination: a connect()-chosen port is shared by connections to different "
     "destinations (only the 4-tuple must be unique: Linux, FreeBSD 13+). host-wide: every "
     "connection holds its port exclusively, as Windows without SO_REUSE_UNICASTPORT "
     "(ports.md §1.2) and BSDs with per-(address, port) uniqueness; failures count as "
     "EADDRNOTAVAIL."},
    {"tcp_syn_retries", SIM_TYPE_INT, "6", "1", "127", NULL, 0,
     "net.ipv4.tcp_syn_retries: the time budget of an unanswered connect(), as the kernel "
     "computes it (tcp_model_timeout()): (2^(N+1) - 1) s for N <= 6, else 127 s + (N - 6) x "
     "120 s. Default 6: 127 s; with tcp_syn_linear_timeouts = 4 the SYN is retransmitted at 1, "
     "2, 3, 4, 5, 7, 11, 19, 35 and 67 s and connect() fails with ETIMEDOUT at 131 s, the "
     "first timer expiry past the budget (docs/syn-retransmission.md)."},
    {"tcp_syn_linear_timeouts", SIM_TYPE_INT, "4", "0", "127", NULL, 0,
     "net.ipv4.tcp_syn_linear_timeouts (Linux 6.x): the first N+1 SYN retransmission "
     "intervals stay at the initial RTO (1 s) before it doubles (capped at 120 s). With "
     "tcp_syn_retries = 1, SYNs leave at 0, 1 and 2 s and connect() fails at 3 s, as "
     "measured (linux-kernel-measured.md)."},
    {"connect_timeout", SIM_TYPE_DURATION, NULL, "1ms", "1h", NULL, 0,
     "An application's connect() timeout for every workload of the host (a workload's own "
     "connect_timeout wins): an attempt still without SYN-ACK then fails with ETIMEDOUT and "
     "releases its port. Unset: only the SYN retries end it."},
    {"via", SIM_TYPE_REFERENCE, NULL, NULL, NULL, "nat", 0,
     "A NAT box every workload of the host passes (\"nat gw\"): SYNs are translated to its "
     "external addresses or dropped when it has no port (see [nat]). A workload's own via "
     "wins."},
};

static const SimKeyDef listener_keys[] = {
    {"host", SIM_TYPE_REFERENCE, NULL, NULL, NULL, "host", SIM_KEY_REQUIRED,
     "The client host on which a service binds a fixed port: \"shop\" or \"host shop\"."},
    {"port", SIM_TYPE_INT, NULL, "1", "65535", NULL, SIM_KEY_REQUIRED,
     "The port it binds (on the host's first address). Inside the ephemeral range it may meet "
     "a port a connection holds: bind() then fails with EADDRINUSE, counted as "
     "listener_conflicts. A port in reserved_ports never does."},
    {"at", SIM_TYPE_DURATION, "0s", "0s", NULL, NULL, 0,
     "When the service starts and binds; it keeps the port until the scenario's duration."},
};

static const SimKeyDef monitor_keys[] = {
    {"host", SIM_TYPE_REFERENCE, NULL, NULL, NULL, "host", SIM_KEY_REQUIRED,
     "The client host whose port pools are watched: \"shop\" or \"host shop\"."},
    {"utilization", SIM_TYPE_FLOAT, "0.8", "0.01", "1", NULL, 0,
     "The alert level: ports in use / the pool's capacity (peak_port_utilization's "
     "measure). summary.json `monitors` gives when each pool first reached it and the lead "
     "time before that pool's first failure; plots mark the first alert."},
};

/* The capacity keys, shared with [lb] (its frontend is a server). */
#define PS_SERVER_CAPACITY_KEYS                                                                 \
    {"backlog", SIM_TYPE_INT, NULL, "1", "10M", NULL, 0,                                         \
     "Half-open (SYN_RECEIVED) connections the listener holds at most, and connections waiting " \
     "in the accept queue beyond max_connections: a SYN arriving when either is full is "       \
     "dropped without answer "                                                                   \
     "(Linux tcp_conn_request(): inet_csk_reqsk_queue_is_full / sk_acceptq_is_full, without "   \
     "syncookies), and the client retransmits it on its schedule or times out. Counted as "      \
     "syn_drops. Linux caps the listen() backlog at net.core.somaxconn, 4096 since 5.4. Unset: " \
     "unlimited."},                                                                              \
    {"max_connections", SIM_TYPE_INT, NULL, "1", "10M", NULL, 0,                                 \
     "Connections the application serves at once (HAProxy maxconn, nginx worker_connections): " \
     "a connection established beyond it waits in the accept queue (FIFO) until a served one "  \
     "ends, and its whole life (requests, idleness, close) starts that much later, so a "       \
     "saturated server holds connections, and its clients' ports, longer. The waits are the "   \
     "histogram NAME.accept_wait (summary.json servers[].accept_wait_*). Unset: unlimited."}

static const SimKeyDef server_keys[] = {
    {"addresses", SIM_TYPE_ADDRESSES, NULL, NULL, "65536", NULL, SIM_KEY_REQUIRED,
     "Addresses the server listens on; each (address, port) is one destination."},
    {"ports", SIM_TYPE_RANGE_LIST, NULL, "1", "65535", NULL, SIM_KEY_REQUIRED,
     "Listening ports, e.g. \"443\" or \"443, 8443\"."},
    {"time_wait", SIM_TYPE_DURATION, "60s", "0s", "1h", NULL, 0,
     "TIME_WAIT length when the server closes first. It holds the server's 4-tuple only: a "
     "new SYN for that 4-tuple is accepted at once (net/ipv4/tcp_minisocks.c)."},
    {"idle_timeout", SIM_TYPE_DURATION, NULL, "1ms", "30d", NULL, 0,
     "The server closes a connection idle this long (a keepalive timeout): when it is "
     "shorter than a connection's `hold` (its idle time after the last request), the server "
     "closes first and holds the TIME_WAIT. Unset: never."},
    PS_SERVER_CAPACITY_KEYS,
};

static const SimKeyDef workload_keys[] = {
    {"host", SIM_TYPE_REFERENCE, NULL, NULL, NULL, "host", SIM_KEY_REQUIRED,
     "The client host that opens the connections: \"shop\" or \"host shop\"."},
    {"target", SIM_TYPE_REFERENCE, NULL, NULL, NULL, "server|lb",
     SIM_KEY_REQUIRED | SIM_KEY_BARE_FIRST,
     "Where the connections go: \"server api\" (or just \"api\"), or a load balancer, "
     "\"lb front\". A target with several addresses or ports is used in turn, so 4-tuple "
     "sharing applies across them."},
    {"arrival", SIM_TYPE_ENUM, "constant", NULL, NULL,
     "constant|poisson|schedule|diurnal|onoff|trace", 0,
     "constant: evenly paced at `rate`; poisson: exponential gaps at `rate`, or following "
     "`schedule` when one is given; schedule: evenly paced along `schedule`; diurnal: Poisson "
     "with a rate swinging as a cosine between `rate_min` and `rate` over `period`, peaking "
     "at `peak_at`; onoff: Poisson at `on_rate` during exponential on periods (`on_time`) "
     "separated by silent ones (`off_time`); trace: one connection per row of `trace_file`."},
    {"rate", SIM_TYPE_RATE, "100/s", "0/s", "1G/s", NULL, 0,
     "New connections per second for constant and poisson arrivals."},
    {"schedule", SIM_TYPE_SCHEDULE, NULL, NULL, NULL, NULL, 0,
     "A rate that changes over time: \"TIME RATE\" points, linear in between, the last rate "
     "held to the end. Repeat a time for a step: \"0s 200/s, 10m 200/s, 10m 2000/s\"."},
    {"rate_scale", SIM_TYPE_FLOAT, "1", "0", "1000000", NULL, 0,
     "Multiplies the rate of any arrival process (for sweeps); a trace is replayed that many "
     "times faster (its times divided by it)."},
    {"rate_min", SIM_TYPE_RATE, "0/s", "0/s", "1G/s", NULL, 0,
     "diurnal: the trough rate; `rate` is the peak."},
    {"period", SIM_TYPE_DURATION, "1d", "1ms", "365d", NULL, 0,
     "diurnal: the length of one cycle."},
    {"peak_at", SIM_TYPE_DURATION, "12h", "0s", "365d", NULL, 0,
     "diurnal: when the rate peaks (and again every `period`); the trough is half a period "
     "away."},
    {"on_rate", SIM_TYPE_RATE, NULL, "0/s", "1G/s", NULL, 0,
     "onoff: the Poisson rate during on periods; defaults to `rate`. The mean rate is "
     "on_rate x on_time / (on_time + off_time)."},
    {"on_time", SIM_TYPE_DURATION, "1s", "1ms", "365d", NULL, 0,
     "onoff: mean length of an on period (exponential)."},
    {"off_time", SIM_TYPE_DURATION, "1s", "1ms", "365d", NULL, 0,
     "onoff: mean length of an off period (exponential)."},
    {"trace_file", SIM_TYPE_STRING, NULL, NULL, NULL, NULL, 0,
     "trace: a CSV, relative to the scenario file, one connection per line: "
     "\"time[,destination[,hold]]\". time and hold in seconds (\"12.000000001\", exact to the "
     "nanosecond) or with a unit (\"250ms\"); destination an index into the target's "
     "endpoints (addresses x ports, in order; empty: in turn); no hold: the `hold` "
     "distribution. '#' comments and a header line are allowed; times must not decrease."},
    {"users", SIM_TYPE_INT, NULL, "1", "10M", NULL, 0,
     "Closed loop instead of an arrival process: N users each open a connection, wait for it "
     "to end (the client closes it, or the request gives up), think (`think`), and repeat, "
     "from `start` (after one think time) to `stop`."},
    {"think", SIM_TYPE_DISTRIBUTION, "exp(1s)", "1ns", "30d", NULL, 0,
     "Closed loop: a user's pause between the end of a request and the next one."},
    {"max_connections_per_user", SIM_TYPE_INT, "1", "1", "1000", NULL, 0,
     "Closed loop: requests a user keeps going at once (each runs its own loop)."},
    {"retry", SIM_TYPE_STRING, "none", NULL, NULL, NULL, 0,
     "What the client does when an attempt fails (EADDRNOTAVAIL, EADDRINUSE, ETIMEDOUT): "
     "none, immediate, fixed(DURATION), or exponential(BASE, CAP, JITTER): BASE x 2^(k-1) "
     "after the k-th failure, at most CAP, of which a JITTER share (0 to 1) is drawn "
     "uniformly. Open and closed loop alike; counted as `retried`."},
    {"max_attempts", SIM_TYPE_INT, "3", "1", "1000", NULL, 0,
     "With a retry policy: attempts per request in all, the first included; a request still "
     "failing then gives up (`gave_up`)."},
    {"requests", SIM_TYPE_INT, "0", "0", "1M", NULL, 0,
     "Requests per connection (client keepalive): after the handshake the client sends one, "
     "waits for its answer (a round trip plus `service`) and sends the next; after the last, "
     "the connection idles for `hold` before the closer closes it. 0: no requests modelled, "
     "`hold` is the connection's whole life."},
    {"service", SIM_TYPE_DISTRIBUTION, "0s", "0s", "30d", NULL, 0,
     "The server's time to answer one request (with `requests`); through a proxy, the "
     "backend's."},
    {"idle_timeout", SIM_TYPE_DURATION, NULL, "1ms", "30d", NULL, 0,
     "The client closes a connection idle this long, when that is shorter than `hold` and "
     "than the server's idle_timeout. Unset: never."},
    {"hold", SIM_TYPE_DISTRIBUTION, "0s", "0s", "30d", NULL, 0,
     "How long a connection stays open once established before the closer closes it: "
     "const(1s), exp(200ms), lognormal(200ms, 1.0), uniform(1s, 500ms); the first parameter "
     "is the mean."},
    {"closer", SIM_TYPE_ENUM, "client", NULL, NULL, "client|server", 0,
     "Which side closes first, and so which side holds TIME_WAIT."},
    {"delay", SIM_TYPE_DURATION, "0s", "0s", "10s", NULL, 0,
     "One-way delay of the link between host and target; a handshake takes 1.5 round trips "
     "and a close 2."},
    {"jitter", SIM_TYPE_DURATION, "0s", "0s", "10s", NULL, 0,
     "Extra one-way delay, uniform in [0, jitter), drawn once per connection (every segment "
     "of a connection takes the same path, so none overtakes another)."},
    {"loss", SIM_TYPE_FLOAT, "0", "0", "1", NULL, 0,
     "Probability that a SYN or a SYN-ACK is lost (drawn from the workload's random stream). "
     "The client retransmits its SYN on the kernel's schedule (tcp_syn_retries, "
     "tcp_syn_linear_timeouts) and holds its port meanwhile; out of retries it fails with "
     "ETIMEDOUT. Later segments are taken as delivered (TCP recovers them without changing "
     "how long the port is held much)."},
    {"connect_timeout", SIM_TYPE_DURATION, NULL, "1ms", "1h", NULL, 0,
     "The application's connect() timeout: an attempt still without SYN-ACK after it fails "
     "with ETIMEDOUT and releases its port. Defaults to the host's connect_timeout, else "
     "none (the SYN retries end the attempt)."},
    {"start", SIM_TYPE_DURATION, "0s", "0s", NULL, NULL, 0,
     "When the workload starts opening connections."},
    {"stop", SIM_TYPE_DURATION, NULL, "0s", NULL, NULL, 0,
     "When it stops; defaults to the scenario's duration."},
    {"via", SIM_TYPE_REFERENCE, NULL, NULL, NULL, "nat", 0,
     "A NAT box these connections pass (\"nat gw\"), overriding the host's via."},
    {"protocol", SIM_TYPE_ENUM, "tcp", NULL, NULL, "tcp|udp", 0,
     "udp: a DNS-like exchange instead of a TCP connection: each attempt takes a new source "
     "port, sends one query, gets the answer one round trip plus `service` later and closes "
     "the socket (no TIME_WAIT); no answer within connect_timeout (default 5 s, "
     "resolv.conf(5) timeout) is ETIMEDOUT. `hold`, `closer` and `requests` do not apply. The "
     "host's UDP ports come from its ephemeral pool (Linux keeps a separate UDP table: exact "
     "for a host that only speaks UDP)."},
};

static const SimKeyDef lb_keys[] = {
    {"addresses", SIM_TYPE_ADDRESSES, NULL, NULL, "65536", NULL, SIM_KEY_REQUIRED,
     "The frontend (virtual) addresses clients connect to."},
    {"ports", SIM_TYPE_RANGE_LIST, NULL, "1", "65535", NULL, SIM_KEY_REQUIRED,
     "The frontend ports, e.g. \"443\"."},
    {"mode", SIM_TYPE_ENUM, "proxy", NULL, NULL, "proxy|l4", 0,
     "proxy: a full (L7) proxy that terminates the client connection and opens its own "
     "connection to the chosen backend from the ephemeral ports of its `host` (HAProxy, nginx, "
     "Envoy; ports.md §6.1), for each request or for the client connection's life (see "
     "backend_per); it answers the client's SYN once its first backend connection is up "
     "(or taken from the keepalive pool) and refuses it with RST when connect() fails. l4: "
     "pass-through; the client's 4-tuple reaches the backend chosen at SYN arrival; the "
     "balancer keeps flow counts but uses no ports (ports.md §6.1, first row)."},
    {"backends", SIM_TYPE_STRING, NULL, NULL, NULL, NULL, SIM_KEY_REQUIRED,
     "The servers behind it, a comma-separated list: \"server a, server b\" or \"a, b\". Each "
     "endpoint (address, port) of a backend is one destination of the proxy's 4-tuples; a "
     "backend with several endpoints is used in turn."},
    {"algorithm", SIM_TYPE_ENUM, "round-robin", NULL, NULL,
     "round-robin|weighted-round-robin|least-connections|random|power-of-two|source-hash|"
     "consistent-hash",
     0,
     "How a backend is chosen for a new client connection: in turn; smooth weighted round "
     "robin (nginx); the fewest connections in use per weight (ties in turn, HAProxy "
     "leastconn); weighted random; the lighter of two random backends; a hash of the client "
     "address modulo the backends up; Maglev consistent hashing of the client address and port "
     "(table of 65537, Envoy's default; about 1/N of flows move when a backend leaves)."},
    {"weights", SIM_TYPE_STRING, NULL, NULL, NULL, NULL, 0,
     "Integer weights in `backends` order, \"3, 1\" (default: all 1). Used by weighted round "
     "robin, least-connections, random, power-of-two and consistent-hash."},
    {"host", SIM_TYPE_REFERENCE, NULL, NULL, NULL, "host", 0,
     "mode = proxy (required there): the [host] describing the proxy's own stack: its "
     "`addresses` are the source addresses of backend connections (HAProxy `source`, nginx "
     "`proxy_bind`; one pool each), with its ephemeral_range, allocator, time_wait, "
     "tcp_tw_reuse, linger0 (HAProxy `option nolinger`) and SYN retries. Its summary and plots "
     "show the proxy's port use per source address and backend destination."},
    {"backend_closer", SIM_TYPE_ENUM, "proxy", NULL, NULL, "proxy|backend", 0,
     "Who closes a backend connection first when it is done, and so who holds its TIME_WAIT: "
     "the proxy (in the proxy host's pools: the classic proxy exhaustion) or the backend "
     "(haproxy/haproxy#1520: \"the server must close first\"; ports.md §3.8). The client "
     "leg's closer is the workload's `closer` (server there means the proxy)."},
    {"backend_per", SIM_TYPE_ENUM, "request", NULL, NULL, "request|connection", 0,
     "mode = proxy: what holds a backend connection. request (with the workload's `requests`): "
     "each request of a client connection takes a backend connection (pooled or new) for one "
     "backend round trip plus the service time, then releases it, so without keepalive the "
     "backend connection rate is the client rate x requests (nginx proxy_pass with HTTP/1.0 "
     "upstreams, HAProxy `http-reuse never` per request); the client sees each answer after "
     "the backend's. A later request whose backend connect() fails is answered 502 "
     "(`NAME.http_502`) and ends its client connection's requests. connection, or a workload "
     "without `requests`: one backend connection for the client connection's whole life."},
    {"keepalive", SIM_TYPE_ENUM, "off", NULL, NULL, "off|pool", 0,
     "off: a new backend connection per use (per request, or per client connection: see "
     "backend_per), closed after it (nginx before 1.29.7 without `keepalive`, HAProxy "
     "`http-reuse never`). pool: a backend connection freed by its request or client "
     "connection waits idle in a per-backend pool and serves the next one instead of a new "
     "connect() (nginx `keepalive N`, HAProxy pool-max-conn; ports.md §6.2, §6.3)."},
    {"keepalive_pool", SIM_TYPE_INT, "32", "1", "1M", NULL, 0,
     "Idle connections kept per backend; past it the least recently used is closed. 32 is "
     "nginx 1.29.7's default upstream keepalive (ports.md §6.3)."},
    {"keepalive_idle_timeout", SIM_TYPE_DURATION, "60s", "1ms", "1d", NULL, 0,
     "An idle pooled connection is closed after this long (nginx keepalive_timeout, default "
     "60 s; ports.md §6.3)."},
    {"keepalive_max_requests", SIM_TYPE_INT, "1000", "1", "1G", NULL, 0,
     "Requests one backend connection serves before it is closed instead of pooled (nginx "
     "keepalive_requests, default 1000 since 1.19.10; ports.md §6.3). With backend_per = "
     "connection a client connection counts as its workload's `requests` (at least 1)."},
    {"backend_delay", SIM_TYPE_DURATION, "0s", "0s", "10s", NULL, 0,
     "One-way delay between the proxy and its backends."},
    {"connect_timeout", SIM_TYPE_DURATION, NULL, "1ms", "1h", NULL, 0,
     "The proxy's backend connect() timeout (HAProxy `timeout connect`); defaults to its "
     "host's connect_timeout, else the SYN retries end the attempt."},
    {"down_at", SIM_TYPE_STRING, NULL, NULL, NULL, NULL, 0,
     "Backends failing during the run, \"NAME@TIME\" pairs: \"a@30s, b@2m\". From then the "
     "balancer no longer chooses them (health checks are assumed to notice at once) and their "
     "idle pooled connections are closed; connections in use finish."},
    {"up_at", SIM_TYPE_STRING, NULL, NULL, NULL, NULL, 0,
     "Backends coming back, \"NAME@TIME\" pairs: \"a@90s\"."},
    {"time_wait", SIM_TYPE_DURATION, "60s", "0s", "1h", NULL, 0,
     "TIME_WAIT of the frontend side when the proxy closes a client connection first "
     "(workload closer = server); Linux: 60 s (TCP_TIMEWAIT_LEN, include/net/tcp.h)."},
    {"idle_timeout", SIM_TYPE_DURATION, NULL, "1ms", "30d", NULL, 0,
     "The proxy closes a client connection idle this long (as a server's idle_timeout)."},
    PS_SERVER_CAPACITY_KEYS,
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
    {"listener", TRUE, "A service that binds a fixed port on a client host at a given time "
     "(a port conflict with the ephemeral range).",
     listener_keys, N_KEYS(listener_keys)},
    {"monitor", TRUE, "A utilization alert on a host's port pools: when it would have fired "
     "and how much warning it gives before the first failure.",
     monitor_keys, N_KEYS(monitor_keys)},
    {"lb", TRUE, "A load balancer or proxy in front of servers: workloads target it with "
     "`target = lb NAME`.",
     lb_keys, N_KEYS(lb_keys)},
};

static const char *const linux_pairs[] = {
    "ephemeral_range", "32768-60999",
    "time_wait", "60s",
    "time_wait_granularity", "2.048s",
    "allocator", "linux",
    "reserved_ports", "",
    "tcp_tw_reuse", "2",
    "tw_reuse_delay", "1s",
    "max_tw_buckets", "131072",
    "port_sharing", "per-destination",
    NULL,
};

static const char *const linux4_pairs[] = {
    "ephemeral_range", "32768-60999",
    "time_wait", "60s",
    "time_wait_granularity", "0s",
    "allocator", "hash",
    "reserved_ports", "",
    "tcp_tw_reuse", "0",
    "port_sharing", "per-destination",
    NULL,
};

static const char *const windows_pairs[] = {
    "ephemeral_range", "49152-65535",
    "time_wait", "120s",
    "time_wait_granularity", "0s",
    "allocator", "random",
    "reserved_ports", "",
    "tcp_tw_reuse", "0",
    "port_sharing", "host-wide",
    NULL,
};

static const char *const freebsd_pairs[] = {
    "ephemeral_range", "10000-65535",
    "time_wait", "60s",
    "time_wait_granularity", "0s",
    "allocator", "random",
    "reserved_ports", "",
    "tcp_tw_reuse", "0",
    "port_sharing", "per-destination",
    NULL,
};

static const char *const macos_pairs[] = {
    "ephemeral_range", "49152-65535",
    "time_wait", "30s",
    "time_wait_granularity", "0s",
    "allocator", "random",
    "reserved_ports", "",
    "tcp_tw_reuse", "0",
    "port_sharing", "host-wide",
    NULL,
};

static const SimPresetDef presets[] = {
    {"host", "linux",
     "Linux 4.2 and later as shipped: ip_local_port_range 32768-60999 (ip-sysctl.rst, commit "
     "07f4c90062f8), TIME_WAIT 60 s (TCP_TIMEWAIT_LEN, include/net/tcp.h) ended by the timer "
     "wheel in 2.048 s batches (measured 60.06-62.05 s at HZ=250, linux-kernel-measured.md), "
     "connect() port choice of __inet_hash_connect() (net/ipv4/inet_hashtables.c), no "
     "reserved ports, tcp_tw_reuse 2 with a 1 s delay and tcp_max_tw_buckets 131072 (fresh "
     "6.18 namespace, linux-kernel-measured.md), 4-tuple sharing.",
     linux_pairs},
    {"host", "linux-4.x",
     "Linux 4.2 to 4.18: range 32768-60999 (commit 07f4c90062f8), TIME_WAIT 60 s, connect() "
     "ports by RFC 6056 Algorithm 3 (`hash`: Linux used it from 2.6 until the 2022 switch, "
     "commit 190cc82), tcp_tw_reuse 0 (the loopback-only value 2 and its default came with "
     "commit 79e9fed46038, 2018). Timer-wheel rounding not modelled (not measured on 4.x). "
     "Sources: ports.md §1.1, §2, §3.4.",
     linux4_pairs},
    {"host", "windows",
     "Windows Vista / Server 2008 and later: dynamic ports 49152-65535 (Microsoft KB 929851), "
     "TIME_WAIT 120 s (TcpTimedWaitDelay per the Windows Server 2003 performance guide; older "
     "documentation says 240 s: set time_wait = 240s), ports unique host-wide unless the "
     "application sets SO_REUSE_UNICASTPORT (set port_sharing = per-destination then; ports.md "
     "§1.2). The Windows selection algorithm is not documented in the references: `random` "
     "(RFC 6056 Algorithm 1) is an assumption.",
     windows_pairs},
    {"host", "freebsd",
     "FreeBSD 13 and later: net.inet.ip.portrange.first/last 10000-65535 (sys/netinet/in.h "
     "IPPORT_EPHEMERALFIRST/LAST), TIME_WAIT 2 x MSL = 60 s (TCPTV_MSL 30 s, "
     "sys/netinet/tcp_timer.h), a random start then +1 (in_pcb_lport(), RFC 6056 Algorithm "
     "1: `random`), per-destination sharing (in_pcb_lport_dest(), FreeBSD 13). For FreeBSD "
     "12 and earlier set port_sharing = host-wide. Sources: ports.md §1.1, §1.2, §2.",
     freebsd_pairs},
    {"host", "macos",
     "macOS / XNU: net.inet.ip.portrange.first/last 49152-65535 (bsd/netinet/in_pcb.c "
     "ipport_firstauto = IPPORT_HIFIRSTAUTO), TIME_WAIT 2 x MSL = 30 s (MSL 15 s, "
     "bsd/netinet/tcp_timer.h), a random start then a walk (`random`). Host-wide port "
     "uniqueness is an assumption: XNU's in_pcb.c descends from the BSD code whose uniqueness "
     "is per (address, port), as FreeBSD up to 12. Sources: ports.md §1.1, §1.2, §2.",
     macos_pairs},
};

SimSchema *ps_schema_new(void)
{
    SimSchema *schema = sim_schema_new();
    for (guint i = 0; i < G_N_ELEMENTS(sections); i++)
        sim_schema_add_section(schema, &sections[i]);
    /* [expect]: keys are metric names, so the section has a grammar, not a list. */
    sim_schema_add_section(schema, ps_expect_section());
    sim_schema_set_free_keys(schema, "expect", ps_expect_free_keys());
    /* [timeline]: keys are times, values are changes. */
    sim_schema_add_section(schema, ps_timeline_section());
    sim_schema_set_free_keys(schema, "timeline", ps_timeline_free_keys());
    for (guint i = 0; i < G_N_ELEMENTS(presets); i++)
        sim_schema_add_preset(schema, &presets[i]);
    sim_schema_add_section(schema, ps_nat_section());
    ps_nat_add_presets(schema);
    return schema;
}
